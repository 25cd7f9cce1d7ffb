/*
 * store_copy — every record of one store into another, whatever their backends (certflowd
 * migrate: LMDB to PostgreSQL and back), checked by a count and a digest per table.
 *
 * The copy reads the source in one read transaction (one snapshot: LMDB's read txn, PostgreSQL's
 * REPEATABLE READ) and writes the target in one write transaction, so the target holds all of
 * it or nothing. It copies the key-value layer (store_kv.h) table by table, entry by entry: the
 * records, every index, the audit trail, the counters. The one entry it leaves is LMDB's
 * meta/"schema": each backend keeps the schema version its own way, and both stores are at
 * STORE_SCHEMA_VERSION once open (store_open upgrades an older one and refuses a newer one).
 * It never logs a key or a value: values hold MACs, verifiers and sealed keys.
 */
#include "store.h"
#include "store_kv.h"

#include "cf_crypto.h"
#include "cf_err.h"
#include "cf_log.h"

#include <stdlib.h>
#include <string.h>

_Static_assert(DBI_COUNT <= STORE_TABLES_MAX, "STORE_TABLES_MAX is too small");

/* LMDB's schema version entry: not a record (see the top of this file). */
static int skipped(int dbi, const struct kv *k)
{
	return dbi == DBI_META && k->len == 6 && memcmp(k->data, "schema", 6) == 0;
}

/* ---- digests: a SHA-256 chain over the entries in key order ---- */

struct digest {
	int dbi;
	uint64_t n;
	uint8_t d[32];
	uint8_t *buf;
	size_t cap;
};

static void be32(uint8_t *p, size_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* d = SHA-256(d || len(k) || k || len(v) || v), lengths as 4 octets big-endian. */
static int digest_entry(store_txn *t, const struct kv *k, const struct kv *v, void *ctx)
{
	struct digest *g = ctx;
	size_t need = 32 + 4 + k->len + 4 + v->len;

	(void)t;
	if (skipped(g->dbi, k))
		return 0;
	if (need > g->cap) {
		uint8_t *m = realloc(g->buf, need);

		if (!m)
			return CF_ENOMEM;
		g->buf = m;
		g->cap = need;
	}
	memcpy(g->buf, g->d, 32);
	be32(g->buf + 32, k->len);
	memcpy(g->buf + 36, k->data, k->len);
	be32(g->buf + 36 + k->len, v->len);
	memcpy(g->buf + 40 + k->len, v->data, v->len);
	g->n++;
	return cf_sha256(g->buf, need, g->d) ? CF_ECRYPTO : 0;
}

/* Count and digest every table of t into side (0 source, 1 target) of rep. */
static int digest_all(store_txn *t, struct store_copy_report *rep, int side)
{
	struct digest g = {0};
	struct kv all = {0, ""};
	int ret = 0;

	for (int i = 0; ret == 0 && i < DBI_COUNT; i++) {
		const char *name = store_dbi_names[i];

		g.dbi = i;
		g.n = 0;
		/* the chain starts from the table's name: equal tables of two names differ */
		if (cf_sha256(name, strlen(name), g.d) != 0) {
			ret = CF_ECRYPTO;
			break;
		}
		ret = t->st->be->walk(t, i, &all, 0, digest_entry, &g);
		rep->t[i].name = name;
		rep->t[i].records[side] = g.n;
		memcpy(rep->t[i].digest[side], g.d, 32);
	}
	rep->tables = DBI_COUNT;
	if (g.buf)
		cf_zeroize(g.buf, g.cap);
	free(g.buf);
	return ret;
}

static int digest_target(store_txn *t, void *ctx)
{
	return digest_all(t, ctx, 1);
}

/* ---- the copy ---- */

struct copy {
	store *to;
	store_txn *src; /* the source's read transaction */
	store_txn *dst; /* the target's write transaction, during a table's walk */
	int dbi;
	uint64_t copied;
	struct store_copy_report *rep;
};

static int any_entry(store_txn *t, const struct kv *k, const struct kv *v, void *ctx)
{
	int *dbi = ctx;

	(void)t;
	(void)v;
	return skipped(*dbi, k) ? 0 : CF_ECONFLICT;
}

static int fill_from(void *buf, size_t len, void *ctx)
{
	memcpy(buf, ctx, len);
	return 0;
}

static int copy_entry(store_txn *t, const struct kv *k, const struct kv *v, void *ctx)
{
	struct copy *c = ctx;

	(void)t;
	if (skipped(c->dbi, k))
		return 0;
	c->copied++;
	return c->dst->st->be->put(c->dst, c->dbi, k, v->len, KV_NOOVERWRITE, fill_from,
				   (void *)v->data);
}

/* In the target's write transaction (run again from the start after a retry): refuse a target
 * that holds any entry, then put every entry of the source's snapshot. */
static int copy_into(store_txn *dst, void *ctx)
{
	struct copy *c = ctx;
	struct kv all = {0, ""};
	int ret = 0;

	c->dst = dst;
	c->copied = 0;
	for (int i = 0; ret == 0 && i < DBI_COUNT; i++) {
		c->dbi = i;
		ret = dst->st->be->walk(dst, i, &all, 0, any_entry, &c->dbi);
	}
	if (ret == CF_ECONFLICT)
		cf_error("store: the target of the copy already holds records; nothing written");
	for (int i = 0; ret == 0 && i < DBI_COUNT; i++) {
		c->dbi = i;
		ret = c->src->st->be->walk(c->src, i, &all, 0, copy_entry, c);
	}
	return ret;
}

/* In the source's read transaction: the copy, then the source's digests of the same snapshot
 * (a server still writing the source does not make them differ from what was copied). */
static int copy_from(store_txn *src, void *ctx)
{
	struct copy *c = ctx;
	int ret;

	c->src = src;
	if ((ret = store_write(c->to, copy_into, c)) != 0)
		return ret;
	return digest_all(src, c->rep, 0);
}

int store_copy(store *from, store *to, struct store_copy_report *rep)
{
	struct copy c = {.to = to, .rep = rep};
	int ret;

	if (!from || !to || !rep || from == to)
		return CF_EINTERNAL;
	memset(rep, 0, sizeof(*rep));
	if ((ret = store_read(from, copy_from, &c)) != 0)
		return ret;
	rep->copied = c.copied;
	/* the target's digests from a transaction of their own, after the commit */
	return store_read(to, digest_target, rep);
}

int store_copy_mismatches(const struct store_copy_report *rep)
{
	int n = 0;

	for (size_t i = 0; i < rep->tables; i++)
		if (rep->t[i].records[0] != rep->t[i].records[1] ||
		    memcmp(rep->t[i].digest[0], rep->t[i].digest[1], 32) != 0)
			n++;
	return n;
}
