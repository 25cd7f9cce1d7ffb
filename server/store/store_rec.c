/*
 * store_rec — the records of store.h over the key-value layer of store_kv.h, the same for every
 * backend: values encoded by store_codec, each secondary index an entry in its own table written
 * in the same transaction as its record. Knows no database library. Never log a secret: keys are
 * references, ids and serials.
 */
#include "store.h"
#include "store_codec.h"
#include "store_kv.h"

#include "cf_crypto.h"
#include "cf_err.h"
#include "cf_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const store_dbi_names[DBI_COUNT] = {
    [DBI_ENROLMENTS] = "enrolments",
    [DBI_ACCOUNTS] = "accounts",
    [DBI_ACCOUNT_THUMB] = "account_thumb",
    [DBI_CREDENTIALS] = "credentials",
    [DBI_CRED_BY_ACCOUNT] = "cred_by_account",
    [DBI_CERTS] = "certs",
    [DBI_CERTS_BY_CRED] = "certs_by_cred",
    [DBI_CERTS_REVOKED] = "certs_revoked",
    [DBI_META] = "meta",
    [DBI_SUBJECTS] = "subjects",
    [DBI_SUBJECT_EMAIL] = "subject_email",
    [DBI_APPLICATIONS] = "applications",
    [DBI_APP_BY_SUBJECT] = "app_by_subject",
    [DBI_CRED_BY_SUBJECT] = "cred_by_subject",
    [DBI_CHALLENGES] = "challenges",
    [DBI_CHAL_BY_SUBJECT] = "chal_by_subject",
    [DBI_CHAL_BY_EXPIRY] = "chal_by_expiry",
    [DBI_MESSAGES] = "messages",
    [DBI_MSG_QUEUE] = "msg_queue",
    [DBI_AUDIT] = "audit",
    [DBI_CUSTODY] = "custody",
    [DBI_LOGINS] = "logins",
    [DBI_LOGIN_SUBJECT] = "login_subject",
    [DBI_SESSIONS] = "sessions",
    [DBI_SESS_BY_SUBJECT] = "sess_by_subject",
    [DBI_SESS_BY_EXPIRY] = "sess_by_expiry",
    [DBI_COUPONS] = "coupons",
    [DBI_COUPON_MAC] = "coupon_mac",
    [DBI_RATES] = "rates",
    [DBI_ADMIN_NAME] = "admin_name",
};

/* ---- the store: one backend's ---- */

int store_open(const char *dir, const struct store_opts *opts, store **out)
{
	if (!out)
		return CF_EINTERNAL;
	if (opts && opts->conninfo && opts->conninfo[0])
		return store_pg_open(opts->conninfo, opts, out);
	return store_lmdb_open(dir, opts, out);
}

void store_close(store *st)
{
	if (st)
		st->be->close(st);
}

int store_size(store *st, uint64_t *bytes)
{
	return st && bytes ? st->be->size(st, bytes) : CF_EINTERNAL;
}

int store_backup(store *st, const char *path)
{
	return st && path ? st->be->backup(st, path) : CF_EINTERNAL;
}

int store_read(store *st, int (*fn)(store_txn *txn, void *ctx), void *ctx)
{
	return st && fn ? st->be->read(st, fn, ctx) : CF_EINTERNAL;
}

int store_write(store *st, int (*fn)(store_txn *txn, void *ctx), void *ctx)
{
	return st && fn ? st->be->write(st, fn, ctx) : CF_EINTERNAL;
}

int store_nonce_use(store *st, const uint8_t *id, size_t len, int64_t until)
{
	if (!st || !id || len == 0 || len > 64)
		return CF_EINTERNAL;
	return st->be->nonce_use ? st->be->nonce_use(st, id, len, until) : CF_EUSAGE;
}

/* ---- keys and values ---- */

static int key_ok(const char *s, size_t cap)
{
	return s && s[0] && strnlen(s, cap) < cap;
}

static struct kv str_val(const char *s)
{
	struct kv v = {strlen(s), s};
	return v;
}

static int kv_get(store_txn *t, int dbi, const struct kv *k, struct kv *v)
{
	return t->st->be->get(t, dbi, k, v);
}

static int fill_copy(void *buf, size_t len, void *ctx)
{
	memcpy(buf, ctx, len);
	return 0;
}

static int db_put(store_txn *t, int dbi, const struct kv *k, const struct kv *v, unsigned flags)
{
	return t->st->be->put(t, dbi, k, v->len, flags, fill_copy, (void *)v->data);
}

/* Delete; absent is fine. */
static int db_del(store_txn *t, int dbi, const struct kv *k)
{
	int ret = t->st->be->del(t, dbi, k);
	return ret == CF_ENOTFOUND ? 0 : ret;
}

static const struct kv empty_val = {0, ""};

static int idx_put(store_txn *t, int dbi, const struct codec_ikey *ik)
{
	struct kv k = {ik->len, ik->b};
	return db_put(t, dbi, &k, &empty_val, 0);
}

static int idx_del(store_txn *t, int dbi, const struct codec_ikey *ik)
{
	struct kv k = {ik->len, ik->b};
	return db_del(t, dbi, &k);
}

/* Keep the index entry "owner NUL order key" of one record current: drop the stored version's
 * entry (had: there is one) if its owner or order changed, and write the new one. An empty owner
 * has no entry; a NULL owner (an index over all records) always has one. */
static int idx_move(store_txn *t, int dbi, int had, const char *old_owner, int64_t old_order,
		    const char *owner, int64_t order, const char *key)
{
	struct codec_ikey ik;
	int ret;

	if (had && ((owner && strcmp(old_owner, owner) != 0) || old_order != order)) {
		codec_ikey(&ik, old_owner, old_order, key, strlen(key));
		if ((ret = idx_del(t, dbi, &ik)) != 0)
			return ret;
	}
	if (owner && !owner[0])
		return 0;
	codec_ikey(&ik, owner, order, key, strlen(key));
	return idx_put(t, dbi, &ik);
}

/* Point the unique index dbi's entry key → id, and drop old_key (the stored version's, "" if none)
 * if it differs. "" has no entry. CF_ECONFLICT (nothing changed) if another record holds key. */
static int unique_move(store_txn *t, int dbi, const char *old_key, const char *key, const char *id)
{
	struct kv k = str_val(key), v, idv = str_val(id);
	int ret;

	if (key[0]) {
		ret = kv_get(t, dbi, &k, &v);
		if (ret == 0 && (v.len != idv.len || memcmp(v.data, idv.data, idv.len) != 0))
			return CF_ECONFLICT;
		if (ret && ret != CF_ENOTFOUND)
			return ret;
	}
	if (old_key[0] && strcmp(old_key, key) != 0) {
		k = str_val(old_key);
		if ((ret = db_del(t, dbi, &k)) != 0)
			return ret;
	}
	if (!key[0])
		return 0;
	k = str_val(key);
	return db_put(t, dbi, &k, &idv, 0);
}

/* A key for the log: its text if printable, else its first octets in hex. */
static const char *key_text(const struct kv *k, char out[64])
{
	const uint8_t *b = k->data;
	size_t n = k->len < 63 ? k->len : 63, i;

	for (i = 0; i < n && b[i] >= 0x20 && b[i] < 0x7f; i++)
		out[i] = (char)b[i];
	out[i] = '\0';
	if (i < n)
		for (i = 0; i < n && i < 31; i++)
			snprintf(out + 2 * i, 3, "%02x", b[i]);
	return out;
}

/* Decode value v of the record stored under key k into rec (overwritten also on failure). */
static int rec_decode(const struct codec_desc *d, int dbi, const struct kv *k, const struct kv *v,
		      void *rec)
{
	uint8_t kb[8];
	size_t klen;
	const void *key;
	char text[64];

	if (codec_decode(d, v->data, v->len, rec) == 0) {
		key = codec_key(d, rec, kb, &klen);
		if (klen == k->len && memcmp(key, k->data, klen) == 0)
			return 0;
	}
	cf_error("store: corrupt record in %s (key %s)", store_dbi_names[dbi], key_text(k, text));
	return CF_EINTERNAL;
}

/* Get by raw key into rec (overwritten also on failure). */
static int rec_load(store_txn *t, int dbi, const struct codec_desc *d, const struct kv *k,
		    void *rec)
{
	struct kv v;
	int ret;

	if ((ret = kv_get(t, dbi, k, &v)) != 0)
		return ret;
	return rec_decode(d, dbi, k, &v, rec);
}

/* Scratch space for one record of type d; records may hold MACs and verifiers, so it is wiped
 * when freed. */
static void *rec_tmp(const struct codec_desc *d)
{
	return malloc(codec_rec_size(d));
}

static void rec_tmp_free(const struct codec_desc *d, void *rec)
{
	if (rec) {
		cf_zeroize(rec, codec_rec_size(d));
		free(rec);
	}
}

/* Get by raw key into rec (written on success only). */
static int rec_get_raw(store_txn *t, int dbi, const struct codec_desc *d, const struct kv *k,
		       void *rec)
{
	void *tmp = rec_tmp(d);
	int ret;

	if (!tmp)
		return CF_ENOMEM;
	if ((ret = rec_load(t, dbi, d, k, tmp)) == 0)
		memcpy(rec, tmp, codec_rec_size(d));
	rec_tmp_free(d, tmp);
	return ret;
}

static int rec_get(store_txn *t, int dbi, const struct codec_desc *d, const char *key, size_t cap,
		   void *out)
{
	struct kv k;

	if (!t || !out)
		return CF_EINTERNAL;
	if (!key_ok(key, cap))
		return CF_ENOTFOUND;
	k = str_val(key);
	return rec_get_raw(t, dbi, d, &k, out);
}

/* Get a record numbered by a counter (message, audit event). */
static int rec_get_u64(store_txn *t, int dbi, const struct codec_desc *d, uint64_t id, void *out)
{
	uint8_t b[8];
	struct kv k = {8, b};

	if (!t || !out)
		return CF_EINTERNAL;
	if (id == 0)
		return CF_ENOTFOUND;
	codec_u64_be(id, b);
	return rec_get_raw(t, dbi, d, &k, out);
}

/* Get through a unique index (idx: key → record key) into out (written on success only). */
static int unique_get(store_txn *t, int idx, const char *key, size_t cap, int dbi,
		      const struct codec_desc *d, void *out)
{
	struct kv k, v;
	int ret;

	if (!t || !out)
		return CF_EINTERNAL;
	if (!key_ok(key, cap))
		return CF_ENOTFOUND;
	k = str_val(key);
	if ((ret = kv_get(t, idx, &k, &v)) != 0)
		return ret;
	ret = rec_get_raw(t, dbi, d, &v, out);
	return ret == CF_ENOTFOUND ? CF_EINTERNAL : ret; /* a dangling index entry */
}

struct rec_fill {
	const struct codec_desc *d;
	const void *rec;
};

static int rec_fill(void *buf, size_t len, void *ctx)
{
	const struct rec_fill *f = ctx;
	return codec_encode(f->d, f->rec, buf, len);
}

/* Encode rec straight into the backend's buffer (LMDB: the map). rec has passed codec_size. */
static int rec_put(store_txn *t, int dbi, const struct codec_desc *d, const void *rec, size_t size,
		   unsigned flags)
{
	uint8_t kb[8];
	struct kv k;
	struct rec_fill f = {d, rec};

	k.data = codec_key(d, rec, kb, &k.len);
	return t->st->be->put(t, dbi, &k, size, flags, rec_fill, &f);
}

/* The next number of counter that no record of dbi holds yet (a record may have been put with an
 * explicit number, e.g. when a store_write fn was re-run). */
static int next_free(store_txn *t, const char *counter, int dbi, uint64_t *out)
{
	uint8_t b[8];
	struct kv k = {8, b}, v;
	uint64_t id;
	int ret;

	for (;;) {
		if ((ret = store_counter_next(t, counter, &id)) != 0)
			return ret;
		codec_u64_be(id, b);
		ret = kv_get(t, dbi, &k, &v);
		if (ret == CF_ENOTFOUND) {
			*out = id;
			return 0;
		}
		if (ret)
			return ret;
	}
}

/* ---- walks ---- */

struct visit {
	const struct codec_desc *d;
	int dbi; /* where the records are */
	union {
		int (*enrolment)(const struct store_enrolment *e, void *ctx);
		int (*credential)(const struct store_credential *c, void *ctx);
		int (*cert)(const struct store_cert *c, void *ctx);
		int (*application)(const struct store_application *a, void *ctx);
		int (*challenge)(const struct store_challenge *c, void *ctx);
		int (*message)(const struct store_message *m, void *ctx);
		int (*audit)(const struct store_audit *ev, void *ctx);
		int (*session)(const struct store_session *s, void *ctx);
		int (*coupon)(const struct store_coupon *c, void *ctx);
	} cb;
	void *ctx;
};

static int visit_call(const struct visit *vi, const void *r)
{
	if (vi->d == &codec_enrolment)
		return vi->cb.enrolment(r, vi->ctx);
	if (vi->d == &codec_credential)
		return vi->cb.credential(r, vi->ctx);
	if (vi->d == &codec_application)
		return vi->cb.application(r, vi->ctx);
	if (vi->d == &codec_challenge)
		return vi->cb.challenge(r, vi->ctx);
	if (vi->d == &codec_message)
		return vi->cb.message(r, vi->ctx);
	if (vi->d == &codec_audit)
		return vi->cb.audit(r, vi->ctx);
	if (vi->d == &codec_session)
		return vi->cb.session(r, vi->ctx);
	if (vi->d == &codec_coupon)
		return vi->cb.coupon(r, vi->ctx);
	return vi->cb.cert(r, vi->ctx);
}

/* Walk dbi from its first key ≥ start (all keys if slen is 0) while a key begins with the first
 * plen octets of start. Index walks (dbi != vi->dbi) take the record key from the index key after
 * skip octets. */
struct walk_ctx {
	const struct visit *vi;
	int dbi;
	size_t skip;
	void *tmp;
};

static int walk_one(store_txn *t, const struct kv *k, const struct kv *v, void *ctx)
{
	struct walk_ctx *w = ctx;
	struct kv rk;
	int ret;

	if (w->dbi == w->vi->dbi) {
		ret = rec_decode(w->vi->d, w->dbi, k, v, w->tmp);
	} else if (k->len <= w->skip) {
		cf_error("store: corrupt key in %s", store_dbi_names[w->dbi]);
		ret = CF_EINTERNAL;
	} else {
		rk.len = k->len - w->skip;
		rk.data = (const uint8_t *)k->data + w->skip;
		ret = rec_load(t, w->vi->dbi, w->vi->d, &rk, w->tmp);
		if (ret == CF_ENOTFOUND) {
			cf_error("store: %s names a missing record", store_dbi_names[w->dbi]);
			ret = CF_EINTERNAL;
		}
	}
	return ret ? ret : visit_call(w->vi, w->tmp);
}

static int walk(store_txn *t, int dbi, const void *start, size_t slen, size_t plen, size_t skip,
		const struct visit *vi)
{
	struct walk_ctx w = {vi, dbi, skip, NULL};
	struct kv k = {slen, start};
	int ret;

	if (!t)
		return CF_EINTERNAL;
	if (!(w.tmp = rec_tmp(vi->d)))
		return CF_ENOMEM;
	ret = t->st->be->walk(t, dbi, &k, plen, walk_one, &w);
	rec_tmp_free(vi->d, w.tmp);
	return ret;
}

/* Walk every record of a table, in key order. */
static int walk_all(store_txn *t, const struct visit *vi)
{
	return walk(t, vi->dbi, NULL, 0, 0, 0, vi);
}

/* Walk the records of a string-keyed table whose keys come strictly after `after` (all when NULL
 * or ""): the first key above "after" is "after" NUL, so the walk starts there. */
static int walk_after(store_txn *t, const struct visit *vi, const char *after)
{
	char start[STORE_LIST_AFTER_MAX + 1];
	size_t n;

	if (!after || !after[0])
		return walk_all(t, vi);
	n = strlen(after);
	if (n > STORE_LIST_AFTER_MAX)
		return CF_EMALFORMED;
	memcpy(start, after, n);
	start[n] = '\0';
	return walk(t, vi->dbi, start, n + 1, 0, 0, vi);
}

/* Walk the index entries "owner NUL order key" of one owner. */
static int walk_owner(store_txn *t, int dbi, const char *owner, size_t cap, const struct visit *vi)
{
	size_t n;

	if (!key_ok(owner, cap))
		return owner ? 0 : CF_EINTERNAL;
	n = strlen(owner) + 1; /* the NUL ends the prefix: "a" does not match "ab" */
	return walk(t, dbi, owner, n, n, n + 8, vi);
}

/* ---- enrolments ---- */

int store_enrolment_get(store_txn *txn, const char *reference, struct store_enrolment *out)
{
	return rec_get(txn, DBI_ENROLMENTS, &codec_enrolment, reference, STORE_REF_LEN, out);
}

int store_enrolment_put(store_txn *txn, const struct store_enrolment *e)
{
	size_t n;
	int ret;

	if (!txn || !e)
		return CF_EINTERNAL;
	if ((ret = codec_size(&codec_enrolment, e, &n)) != 0)
		return ret;
	return rec_put(txn, DBI_ENROLMENTS, &codec_enrolment, e, n, 0);
}

int store_enrolment_list(store_txn *txn, int (*cb)(const struct store_enrolment *e, void *ctx),
			 void *ctx)
{
	return store_enrolment_list_after(txn, NULL, cb, ctx);
}

int store_enrolment_list_after(store_txn *txn, const char *after,
			       int (*cb)(const struct store_enrolment *e, void *ctx), void *ctx)
{
	struct visit vi = {&codec_enrolment, DBI_ENROLMENTS, {.enrolment = cb}, ctx};
	if (!cb)
		return CF_EINTERNAL;
	return walk_after(txn, &vi, after);
}

/* ---- accounts ---- */

int store_account_get(store_txn *txn, const char *id, struct store_account *out)
{
	return rec_get(txn, DBI_ACCOUNTS, &codec_account, id, sizeof(out->id), out);
}

int store_account_by_thumbprint(store_txn *txn, const char *thumbprint, struct store_account *out)
{
	return unique_get(txn, DBI_ACCOUNT_THUMB, thumbprint, sizeof(out->thumbprint), DBI_ACCOUNTS,
			  &codec_account, out);
}

int store_account_put(store_txn *txn, const struct store_account *a)
{
	struct store_account old;
	size_t n;
	int ret;

	if (!txn || !a)
		return CF_EINTERNAL;
	if ((ret = codec_size(&codec_account, a, &n)) != 0)
		return ret;
	if (!a->thumbprint[0])
		return CF_EMALFORMED;
	/* a key change frees the old thumbprint */
	ret = store_account_get(txn, a->id, &old);
	if (ret && ret != CF_ENOTFOUND)
		return ret;
	if (ret == CF_ENOTFOUND)
		old.thumbprint[0] = old.name[0] = '\0';
	else if (old.role != ROLE_ADMIN)
		old.name[0] = '\0';
	ret = unique_move(txn, DBI_ACCOUNT_THUMB, old.thumbprint, a->thumbprint, a->id);
	if (ret == 0)
		ret = unique_move(txn, DBI_ADMIN_NAME, old.name,
				  a->role == ROLE_ADMIN ? a->name : "", a->id);
	if (ret)
		return ret;
	return rec_put(txn, DBI_ACCOUNTS, &codec_account, a, n, 0);
}

int store_admin_by_name(store_txn *txn, const char *name, struct store_account *out)
{
	return unique_get(txn, DBI_ADMIN_NAME, name, STORE_OPERATOR_NAME_LEN, DBI_ACCOUNTS,
			  &codec_account, out);
}

struct admin_walk {
	struct store_account a;
	int (*cb)(const struct store_account *a, void *ctx);
	void *ctx;
};

static int admin_one(store_txn *t, const struct kv *k, const struct kv *v, void *ctx)
{
	struct admin_walk *w = ctx;
	int ret;

	(void)k;
	ret = rec_get_raw(t, DBI_ACCOUNTS, &codec_account, v, &w->a);
	if (ret == CF_ENOTFOUND) {
		cf_error("store: %s names a missing record", store_dbi_names[DBI_ADMIN_NAME]);
		ret = CF_EINTERNAL;
	}
	return ret ? ret : w->cb(&w->a, w->ctx);
}

int store_admin_list_after(store_txn *txn, const char *after,
			   int (*cb)(const struct store_account *a, void *ctx), void *ctx)
{
	char start[STORE_OPERATOR_NAME_LEN + 1];
	struct admin_walk *w;
	struct kv k = {0, start};
	int ret;

	if (!txn || !cb)
		return CF_EINTERNAL;
	if (after && after[0]) {
		/* the first key above "after" is "after" NUL */
		if ((k.len = strlen(after) + 1) > sizeof(start))
			return CF_EMALFORMED;
		memcpy(start, after, k.len);
	}
	if (!(w = malloc(sizeof(*w))))
		return CF_ENOMEM;
	w->cb = cb;
	w->ctx = ctx;
	ret = txn->st->be->walk(txn, DBI_ADMIN_NAME, &k, 0, admin_one, w);
	free(w);
	return ret;
}

/* ---- credentials ---- */

#define ACCOUNT_ID_CAP sizeof(((struct store_credential *)0)->account_id)

int store_credential_get(store_txn *txn, const char *id, struct store_credential *out)
{
	return rec_get(txn, DBI_CREDENTIALS, &codec_credential, id, STORE_ID_LEN, out);
}

int store_credential_put(store_txn *txn, const struct store_credential *c)
{
	struct store_credential old;
	size_t n;
	int ret, had;

	if (!txn || !c)
		return CF_EINTERNAL;
	if ((ret = codec_size(&codec_credential, c, &n)) != 0)
		return ret;
	ret = store_credential_get(txn, c->id, &old);
	if (ret && ret != CF_ENOTFOUND)
		return ret;
	had = ret == 0;
	if ((ret = idx_move(txn, DBI_CRED_BY_ACCOUNT, had, old.account_id, old.created_at,
			    c->account_id, c->created_at, c->id)) != 0 ||
	    (ret = idx_move(txn, DBI_CRED_BY_SUBJECT, had, old.subject_id, old.created_at,
			    c->subject_id, c->created_at, c->id)) != 0)
		return ret;
	return rec_put(txn, DBI_CREDENTIALS, &codec_credential, c, n, 0);
}

int store_credential_list(store_txn *txn, int (*cb)(const struct store_credential *c, void *ctx),
			  void *ctx)
{
	return store_credential_list_after(txn, NULL, cb, ctx);
}

int store_credential_list_after(store_txn *txn, const char *after,
				int (*cb)(const struct store_credential *c, void *ctx), void *ctx)
{
	struct visit vi = {&codec_credential, DBI_CREDENTIALS, {.credential = cb}, ctx};
	if (!cb)
		return CF_EINTERNAL;
	return walk_after(txn, &vi, after);
}

int store_credential_list_by_account(store_txn *txn, const char *account_id,
				     int (*cb)(const struct store_credential *c, void *ctx),
				     void *ctx)
{
	struct visit vi = {&codec_credential, DBI_CREDENTIALS, {.credential = cb}, ctx};
	if (!cb)
		return CF_EINTERNAL;
	return walk_owner(txn, DBI_CRED_BY_ACCOUNT, account_id, ACCOUNT_ID_CAP, &vi);
}

int store_credential_list_by_subject(store_txn *txn, const char *subject_id,
				     int (*cb)(const struct store_credential *c, void *ctx),
				     void *ctx)
{
	struct visit vi = {&codec_credential, DBI_CREDENTIALS, {.credential = cb}, ctx};
	if (!cb)
		return CF_EINTERNAL;
	return walk_owner(txn, DBI_CRED_BY_SUBJECT, subject_id, STORE_ID_LEN, &vi);
}

/* ---- certificates ---- */

static int cert_is_revoked(const struct store_cert *c)
{
	return c->status == CERT_REVOKED || c->status == CERT_SUSPENDED;
}

int store_cert_get(store_txn *txn, const char *serial, struct store_cert *out)
{
	return rec_get(txn, DBI_CERTS, &codec_cert, serial, STORE_SERIAL_LEN, out);
}

int store_cert_put(store_txn *txn, const struct store_cert *c, int insert_only)
{
	struct store_cert *old = NULL;
	struct kv k;
	size_t n;
	int ret, had;

	if (!txn || !c)
		return CF_EINTERNAL;
	if ((ret = codec_size(&codec_cert, c, &n)) != 0)
		return ret;
	if (!(old = rec_tmp(&codec_cert)))
		return CF_ENOMEM;
	ret = store_cert_get(txn, c->serial, old);
	if (ret && ret != CF_ENOTFOUND)
		goto out;
	had = ret == 0;
	if (had && insert_only) {
		ret = CF_ECONFLICT;
		goto out;
	}
	if ((ret = idx_move(txn, DBI_CERTS_BY_CRED, had, old->credential_id, old->not_before,
			    c->credential_id, c->not_before, c->serial)) != 0)
		goto out;
	k = str_val(c->serial);
	if (cert_is_revoked(c)) {
		struct kv v = empty_val;
		ret = db_put(txn, DBI_CERTS_REVOKED, &k, &v, 0);
	} else if (had && cert_is_revoked(old)) {
		ret = db_del(txn, DBI_CERTS_REVOKED, &k);
	}
	/* the CRL of every process learns of it by this counter (a reason or date may change too)
	 */
	if (ret == 0 && (cert_is_revoked(c) || (had && cert_is_revoked(old)))) {
		uint64_t gen;
		ret = store_counter_next(txn, STORE_COUNTER_REVOCATIONS, &gen);
	}
	if (ret)
		goto out;
	ret = rec_put(txn, DBI_CERTS, &codec_cert, c, n, 0);
out:
	rec_tmp_free(&codec_cert, old);
	return ret;
}

int store_cert_list_by_credential(store_txn *txn, const char *credential_id,
				  int (*cb)(const struct store_cert *c, void *ctx), void *ctx)
{
	struct visit vi = {&codec_cert, DBI_CERTS, {.cert = cb}, ctx};
	if (!cb)
		return CF_EINTERNAL;
	return walk_owner(txn, DBI_CERTS_BY_CRED, credential_id, STORE_ID_LEN, &vi);
}

int store_cert_list_revoked(store_txn *txn, int (*cb)(const struct store_cert *c, void *ctx),
			    void *ctx)
{
	struct visit vi = {&codec_cert, DBI_CERTS, {.cert = cb}, ctx};
	if (!cb)
		return CF_EINTERNAL;
	return walk(txn, DBI_CERTS_REVOKED, NULL, 0, 0, 0, &vi);
}

/* ---- counters ---- */

static struct kv counter_key(const char *name, char key[80])
{
	int n = snprintf(key, 80, "counter/%s", name);

	return (struct kv){(size_t)n, key};
}

int store_counter_get(store_txn *txn, const char *name, uint64_t *out)
{
	char key[80];
	struct kv k, v;
	int ret;

	if (!txn || !out || !key_ok(name, 64))
		return CF_EINTERNAL;
	k = counter_key(name, key);
	ret = kv_get(txn, DBI_META, &k, &v);
	if (ret == CF_ENOTFOUND) {
		*out = 0;
		return 0;
	}
	if (ret != 0)
		return ret;
	if (v.len != 8)
		return CF_EINTERNAL;
	*out = codec_be_u64(v.data);
	return 0;
}

int store_counter_next(store_txn *txn, const char *name, uint64_t *out)
{
	char key[80];
	uint8_t b[8];
	uint64_t cur;
	struct kv k, v;
	int ret;

	if ((ret = store_counter_get(txn, name, &cur)) != 0)
		return ret;
	if (cur == UINT64_MAX)
		return CF_EINTERNAL;
	cur++;
	codec_u64_be(cur, b);
	k = counter_key(name, key);
	v.len = 8;
	v.data = b;
	if ((ret = db_put(txn, DBI_META, &k, &v, 0)) != 0)
		return ret;
	*out = cur;
	return 0;
}

/* ---- periodic jobs of a shared store ---- */

int store_shared(const store *st)
{
	return st && st->be->shared;
}

int store_job_turn(store_txn *txn, const char *job, int64_t now, int64_t period, int *turn)
{
	char key[48];
	uint8_t b[8];
	int64_t last;
	struct kv k, v;
	int ret, n;

	if (!txn || !turn || !key_ok(job, 33) || period < 0)
		return CF_EINTERNAL;
	n = snprintf(key, sizeof(key), "job/%s", job);
	k.len = (size_t)n;
	k.data = key;
	ret = kv_get(txn, DBI_META, &k, &v);
	if (ret == 0) {
		if (v.len != 8)
			return CF_EINTERNAL;
		last = (int64_t)codec_be_u64(v.data);
		/* not yet due; a last run far in the future is a clock that was set back */
		if (now - last < period && last - now <= period) {
			*turn = 0;
			return 0;
		}
	} else if (ret != CF_ENOTFOUND) {
		return ret;
	}
	codec_u64_be((uint64_t)now, b);
	v.len = 8;
	v.data = b;
	if ((ret = db_put(txn, DBI_META, &k, &v, 0)) != 0)
		return ret;
	*turn = 1;
	return 0;
}

/* ---- subjects ---- */

/* E-mail addresses are matched without case: the store keeps and looks them up in lower case
 * (ASCII; the domain part is what varies in practice). */
static void ascii_lower(char *dst, const char *src, size_t cap)
{
	size_t i;

	for (i = 0; i + 1 < cap && src[i]; i++)
		dst[i] = src[i] >= 'A' && src[i] <= 'Z' ? (char)(src[i] + ('a' - 'A')) : src[i];
	dst[i] = '\0';
}

int store_subject_get(store_txn *txn, const char *id, struct store_subject *out)
{
	return rec_get(txn, DBI_SUBJECTS, &codec_subject, id, STORE_ID_LEN, out);
}

int store_subject_by_email(store_txn *txn, const char *email, struct store_subject *out)
{
	char key[STORE_EMAIL_LEN];

	if (!key_ok(email, sizeof(key)))
		return txn && out ? CF_ENOTFOUND : CF_EINTERNAL;
	ascii_lower(key, email, sizeof(key));
	return unique_get(txn, DBI_SUBJECT_EMAIL, key, sizeof(key), DBI_SUBJECTS, &codec_subject,
			  out);
}

int store_subject_put(store_txn *txn, const struct store_subject *s)
{
	struct store_subject *cp = NULL, *old = NULL;
	size_t n;
	int ret;

	if (!txn || !s)
		return CF_EINTERNAL;
	if ((ret = codec_size(&codec_subject, s, &n)) != 0)
		return ret;
	if (!(cp = rec_tmp(&codec_subject)) || !(old = rec_tmp(&codec_subject))) {
		ret = CF_ENOMEM;
		goto out;
	}
	*cp = *s;
	ascii_lower(cp->email, s->email, sizeof(cp->email));
	ascii_lower(cp->alt_email, s->alt_email, sizeof(cp->alt_email));
	ret = store_subject_get(txn, cp->id, old);
	if (ret && ret != CF_ENOTFOUND)
		goto out;
	/* a changed e-mail moves its index entry */
	ret = unique_move(txn, DBI_SUBJECT_EMAIL, ret ? "" : old->email, cp->email, cp->id);
	if (ret == 0)
		ret = rec_put(txn, DBI_SUBJECTS, &codec_subject, cp, n, 0);
out:
	rec_tmp_free(&codec_subject, cp);
	rec_tmp_free(&codec_subject, old);
	return ret;
}

/* ---- applications ---- */

int store_application_get(store_txn *txn, const char *id, struct store_application *out)
{
	return rec_get(txn, DBI_APPLICATIONS, &codec_application, id, STORE_ID_LEN, out);
}

int store_application_put(store_txn *txn, const struct store_application *a)
{
	struct store_application *old;
	size_t n;
	int ret;

	if (!txn || !a)
		return CF_EINTERNAL;
	if ((ret = codec_size(&codec_application, a, &n)) != 0)
		return ret;
	if (!(old = rec_tmp(&codec_application)))
		return CF_ENOMEM;
	ret = store_application_get(txn, a->id, old);
	if (ret == 0 || ret == CF_ENOTFOUND)
		ret = idx_move(txn, DBI_APP_BY_SUBJECT, ret == 0, old->subject_id, old->created_at,
			       a->subject_id, a->created_at, a->id);
	if (ret == 0)
		ret = rec_put(txn, DBI_APPLICATIONS, &codec_application, a, n, 0);
	rec_tmp_free(&codec_application, old);
	return ret;
}

int store_application_list(store_txn *txn, int (*cb)(const struct store_application *a, void *ctx),
			   void *ctx)
{
	return store_application_list_after(txn, NULL, cb, ctx);
}

int store_application_list_after(store_txn *txn, const char *after,
				 int (*cb)(const struct store_application *a, void *ctx), void *ctx)
{
	struct visit vi = {&codec_application, DBI_APPLICATIONS, {.application = cb}, ctx};
	if (!cb)
		return CF_EINTERNAL;
	return walk_after(txn, &vi, after);
}

int store_application_list_by_subject(store_txn *txn, const char *subject_id,
				      int (*cb)(const struct store_application *a, void *ctx),
				      void *ctx)
{
	struct visit vi = {&codec_application, DBI_APPLICATIONS, {.application = cb}, ctx};
	if (!cb)
		return CF_EINTERNAL;
	return walk_owner(txn, DBI_APP_BY_SUBJECT, subject_id, STORE_ID_LEN, &vi);
}

/* ---- challenges ---- */

#define CHALLENGE_ID_CAP sizeof(((struct store_challenge *)0)->id)

int store_challenge_get(store_txn *txn, const char *id, struct store_challenge *out)
{
	return rec_get(txn, DBI_CHALLENGES, &codec_challenge, id, CHALLENGE_ID_CAP, out);
}

int store_challenge_put(store_txn *txn, const struct store_challenge *c)
{
	struct store_challenge old;
	size_t n;
	int ret, had;

	if (!txn || !c)
		return CF_EINTERNAL;
	if ((ret = codec_size(&codec_challenge, c, &n)) != 0)
		return ret;
	ret = store_challenge_get(txn, c->id, &old);
	if (ret && ret != CF_ENOTFOUND)
		return ret;
	had = ret == 0;
	if ((ret = idx_move(txn, DBI_CHAL_BY_SUBJECT, had, old.subject_id, old.created_at,
			    c->subject_id, c->created_at, c->id)) != 0 ||
	    (ret = idx_move(txn, DBI_CHAL_BY_EXPIRY, had, NULL, old.expires_at, NULL, c->expires_at,
			    c->id)) != 0)
		return ret;
	ret = rec_put(txn, DBI_CHALLENGES, &codec_challenge, c, n, 0);
	cf_zeroize(&old, sizeof(old));
	return ret;
}

int store_challenge_list_by_subject(store_txn *txn, const char *subject_id,
				    int (*cb)(const struct store_challenge *c, void *ctx),
				    void *ctx)
{
	struct visit vi = {&codec_challenge, DBI_CHALLENGES, {.challenge = cb}, ctx};
	if (!cb)
		return CF_EINTERNAL;
	return walk_owner(txn, DBI_CHAL_BY_SUBJECT, subject_id, STORE_ID_LEN, &vi);
}

/* Remove the challenge named by the expiry index entry ek, if any, with its index entries. */
static int challenge_remove(store_txn *t, const struct codec_ikey *ek)
{
	struct store_challenge c;
	struct codec_ikey ik;
	struct kv k = {ek->len - 8, (void *)(ek->b + 8)};
	int ret;

	ret = rec_get_raw(t, DBI_CHALLENGES, &codec_challenge, &k, &c);
	if (ret == 0 && c.subject_id[0]) {
		codec_ikey(&ik, c.subject_id, c.created_at, c.id, strlen(c.id));
		ret = idx_del(t, DBI_CHAL_BY_SUBJECT, &ik);
	}
	if (ret == 0)
		ret = db_del(t, DBI_CHALLENGES, &k);
	if (ret == 0 || ret == CF_ENOTFOUND)
		ret = idx_del(t, DBI_CHAL_BY_EXPIRY, ek);
	cf_zeroize(&c, sizeof(c));
	return ret;
}

#define PURGE_BATCH 64

/* Up to PURGE_BATCH expiry index entries before `before`, oldest first. */
struct purge_batch {
	int dbi;
	int64_t before;
	struct codec_ikey ek[PURGE_BATCH];
	size_t n;
};

static int purge_collect(store_txn *t, const struct kv *k, const struct kv *v, void *ctx)
{
	struct purge_batch *p = ctx;

	(void)t;
	(void)v;
	if (k->len <= 8 || k->len > sizeof(p->ek[0].b)) {
		cf_error("store: corrupt key in %s", store_dbi_names[p->dbi]);
		return CF_EINTERNAL;
	}
	if (codec_ikey_order(k->data) >= p->before)
		return 1;
	memcpy(p->ek[p->n].b, k->data, k->len);
	p->ek[p->n++].len = k->len;
	return p->n == PURGE_BATCH;
}

/* Remove, oldest first, every record whose entry in the expiry index dbi ("expires id") is
 * before `before`, with remove(entry): a batch of the oldest entries, then the next. */
static int purge_expired(store_txn *t, int dbi, int64_t before,
			 int (*remove)(store_txn *t, const struct codec_ikey *ek))
{
	struct purge_batch *p;
	struct kv start = {0, ""};
	int ret = 0;

	if (!t)
		return CF_EINTERNAL;
	if (!(p = malloc(sizeof(*p))))
		return CF_ENOMEM;
	p->dbi = dbi;
	p->before = before;
	do {
		p->n = 0;
		ret = t->st->be->walk(t, dbi, &start, 0, purge_collect, p);
		if (ret == 1)
			ret = 0;
		for (size_t i = 0; ret == 0 && i < p->n; i++)
			ret = remove(t, &p->ek[i]);
	} while (ret == 0 && p->n == PURGE_BATCH);
	free(p);
	return ret;
}

int store_challenge_purge(store_txn *txn, int64_t before)
{
	return purge_expired(txn, DBI_CHAL_BY_EXPIRY, before, challenge_remove);
}

/* ---- outbox ---- */

/* The queue entry of a queued message: next_attempt_at, then the id. */
static void queue_key(struct codec_ikey *k, const struct store_message *m)
{
	uint8_t id[8];

	codec_u64_be(m->id, id);
	codec_ikey(k, NULL, m->next_attempt_at, id, sizeof(id));
}

/* Put m (id set): keep its queue entry exact, whatever changed. */
static int message_write(store_txn *t, const struct store_message *m)
{
	struct store_message *old;
	struct codec_ikey ik;
	size_t n;
	int ret, had;

	if ((ret = codec_size(&codec_message, m, &n)) != 0)
		return ret;
	if (!(old = rec_tmp(&codec_message)))
		return CF_ENOMEM;
	ret = store_message_get(t, m->id, old);
	if (ret && ret != CF_ENOTFOUND)
		goto out;
	had = ret == 0;
	ret = 0;
	if (had && old->state == MSG_QUEUED &&
	    (m->state != MSG_QUEUED || old->next_attempt_at != m->next_attempt_at)) {
		queue_key(&ik, old);
		ret = idx_del(t, DBI_MSG_QUEUE, &ik);
	}
	if (ret == 0 && m->state == MSG_QUEUED) {
		queue_key(&ik, m);
		ret = idx_put(t, DBI_MSG_QUEUE, &ik);
	}
	if (ret == 0)
		ret = rec_put(t, DBI_MESSAGES, &codec_message, m, n, 0);
out:
	rec_tmp_free(&codec_message, old);
	return ret;
}

int store_message_put(store_txn *txn, struct store_message *m)
{
	uint64_t given;
	int ret;

	if (!txn || !m)
		return CF_EINTERNAL;
	given = m->id;
	if (given == 0 && (ret = next_free(txn, "message", DBI_MESSAGES, &m->id)) != 0)
		return ret;
	if ((ret = message_write(txn, m)) != 0)
		m->id = given;
	return ret;
}

int store_message_get(store_txn *txn, uint64_t id, struct store_message *out)
{
	return rec_get_u64(txn, DBI_MESSAGES, &codec_message, id, out);
}

int store_message_list_queued(store_txn *txn, int (*cb)(const struct store_message *m, void *ctx),
			      void *ctx)
{
	struct visit vi = {&codec_message, DBI_MESSAGES, {.message = cb}, ctx};
	if (!cb)
		return CF_EINTERNAL;
	return walk(txn, DBI_MSG_QUEUE, NULL, 0, 0, 8, &vi);
}

int store_message_list(store_txn *txn, int (*cb)(const struct store_message *m, void *ctx),
		       void *ctx)
{
	return store_message_list_after(txn, 0, cb, ctx);
}

int store_message_list_after(store_txn *txn, uint64_t after,
			     int (*cb)(const struct store_message *m, void *ctx), void *ctx)
{
	struct visit vi = {&codec_message, DBI_MESSAGES, {.message = cb}, ctx};
	uint8_t start[8];

	if (!cb)
		return CF_EINTERNAL;
	if (after == UINT64_MAX)
		return 0;
	codec_u64_be(after + 1, start);
	return walk(txn, DBI_MESSAGES, start, sizeof(start), 0, 0, &vi);
}

/* ---- audit ---- */

int store_audit_append(store_txn *txn, struct store_audit *ev)
{
	uint64_t given;
	size_t n;
	int ret;

	if (!txn || !ev)
		return CF_EINTERNAL;
	given = ev->seq;
	if ((ret = next_free(txn, "audit", DBI_AUDIT, &ev->seq)) != 0)
		return ret;
	if ((ret = codec_size(&codec_audit, ev, &n)) == 0)
		ret = rec_put(txn, DBI_AUDIT, &codec_audit, ev, n, KV_NOOVERWRITE);
	if (ret)
		ev->seq = given;
	return ret;
}

int store_audit_list(store_txn *txn, uint64_t after,
		     int (*cb)(const struct store_audit *ev, void *ctx), void *ctx)
{
	struct visit vi = {&codec_audit, DBI_AUDIT, {.audit = cb}, ctx};
	uint8_t start[8];

	if (!cb)
		return CF_EINTERNAL;
	if (after == UINT64_MAX)
		return 0;
	codec_u64_be(after + 1, start);
	return walk(txn, DBI_AUDIT, start, sizeof(start), 0, 0, &vi);
}

/* ---- custody (remote keys) ---- */

int store_custody_get(store_txn *txn, const char *credential_id, struct store_custody *out)
{
	return rec_get(txn, DBI_CUSTODY, &codec_custody, credential_id, STORE_ID_LEN, out);
}

int store_custody_put(store_txn *txn, const struct store_custody *c)
{
	size_t n;
	int ret;

	if (!txn || !c)
		return CF_EINTERNAL;
	if ((ret = codec_size(&codec_custody, c, &n)) != 0)
		return ret;
	return rec_put(txn, DBI_CUSTODY, &codec_custody, c, n, 0);
}

int store_custody_delete(store_txn *txn, const char *credential_id)
{
	struct kv k;

	if (!txn)
		return CF_EINTERNAL;
	if (!key_ok(credential_id, STORE_ID_LEN))
		return CF_ENOTFOUND;
	k = str_val(credential_id);
	return txn->st->be->del(txn, DBI_CUSTODY, &k);
}

int store_custody_count(store_txn *txn, uint64_t *out)
{
	if (!txn || !out)
		return CF_EINTERNAL;
	return txn->st->be->count(txn, DBI_CUSTODY, out);
}

/* ---- logins ---- */

int store_login_get(store_txn *txn, const char *user_id, struct store_login *out)
{
	return rec_get(txn, DBI_LOGINS, &codec_login, user_id, STORE_USER_ID_LEN, out);
}

int store_login_by_subject(store_txn *txn, const char *subject_id, struct store_login *out)
{
	return unique_get(txn, DBI_LOGIN_SUBJECT, subject_id, STORE_ID_LEN, DBI_LOGINS,
			  &codec_login, out);
}

int store_login_put(store_txn *txn, const struct store_login *l)
{
	struct store_login *old;
	size_t n;
	int ret;

	if (!txn || !l)
		return CF_EINTERNAL;
	if ((ret = codec_size(&codec_login, l, &n)) != 0)
		return ret;
	if (!(old = rec_tmp(&codec_login)))
		return CF_ENOMEM;
	ret = store_login_get(txn, l->user_id, old);
	if (ret == 0 || ret == CF_ENOTFOUND)
		ret = unique_move(txn, DBI_LOGIN_SUBJECT, ret ? "" : old->subject_id, l->subject_id,
				  l->user_id);
	if (ret == 0)
		ret = rec_put(txn, DBI_LOGINS, &codec_login, l, n, 0);
	rec_tmp_free(&codec_login, old);
	return ret;
}

/* ---- sessions ---- */

int store_session_get(store_txn *txn, const char *id, struct store_session *out)
{
	return rec_get(txn, DBI_SESSIONS, &codec_session, id, STORE_TOKEN_ID_LEN, out);
}

int store_session_put(store_txn *txn, const struct store_session *s)
{
	struct store_session *old;
	size_t n;
	int ret, had;

	if (!txn || !s)
		return CF_EINTERNAL;
	if ((ret = codec_size(&codec_session, s, &n)) != 0)
		return ret;
	if (!(old = rec_tmp(&codec_session)))
		return CF_ENOMEM;
	ret = store_session_get(txn, s->id, old);
	if (ret && ret != CF_ENOTFOUND)
		goto out;
	had = ret == 0;
	if ((ret = idx_move(txn, DBI_SESS_BY_SUBJECT, had, old->subject_id, old->created_at,
			    s->subject_id, s->created_at, s->id)) != 0 ||
	    (ret = idx_move(txn, DBI_SESS_BY_EXPIRY, had, NULL, old->expires_at, NULL,
			    s->expires_at, s->id)) != 0)
		goto out;
	ret = rec_put(txn, DBI_SESSIONS, &codec_session, s, n, 0);
out:
	rec_tmp_free(&codec_session, old);
	return ret;
}

/* Remove the session under key k with its index entries; CF_ENOTFOUND if there is none. */
static int session_remove_key(store_txn *t, const struct kv *k)
{
	struct store_session *s;
	struct codec_ikey ik;
	int ret;

	if (!(s = rec_tmp(&codec_session)))
		return CF_ENOMEM;
	if ((ret = rec_get_raw(t, DBI_SESSIONS, &codec_session, k, s)) != 0)
		goto out;
	if (s->subject_id[0]) {
		codec_ikey(&ik, s->subject_id, s->created_at, s->id, strlen(s->id));
		if ((ret = idx_del(t, DBI_SESS_BY_SUBJECT, &ik)) != 0)
			goto out;
	}
	codec_ikey(&ik, NULL, s->expires_at, s->id, strlen(s->id));
	if ((ret = idx_del(t, DBI_SESS_BY_EXPIRY, &ik)) == 0)
		ret = db_del(t, DBI_SESSIONS, (struct kv *)k);
out:
	rec_tmp_free(&codec_session, s);
	return ret;
}

int store_session_delete(store_txn *txn, const char *id)
{
	struct kv k;

	if (!txn)
		return CF_EINTERNAL;
	if (!key_ok(id, STORE_TOKEN_ID_LEN))
		return CF_ENOTFOUND;
	k = str_val(id);
	return session_remove_key(txn, &k);
}

int store_session_list_by_subject(store_txn *txn, const char *subject_id,
				  int (*cb)(const struct store_session *s, void *ctx), void *ctx)
{
	struct visit vi = {&codec_session, DBI_SESSIONS, {.session = cb}, ctx};
	if (!cb)
		return CF_EINTERNAL;
	return walk_owner(txn, DBI_SESS_BY_SUBJECT, subject_id, STORE_ID_LEN, &vi);
}

/* The session named by the expiry index entry ek, or a dangling entry: remove both. */
static int session_remove(store_txn *t, const struct codec_ikey *ek)
{
	struct kv k = {ek->len - 8, (void *)(ek->b + 8)};
	int ret = session_remove_key(t, &k);

	return ret == CF_ENOTFOUND ? idx_del(t, DBI_SESS_BY_EXPIRY, ek) : ret;
}

int store_session_purge(store_txn *txn, int64_t before)
{
	return purge_expired(txn, DBI_SESS_BY_EXPIRY, before, session_remove);
}

/* ---- coupons ---- */

static void mac_hex(const uint8_t mac[32], char out[65])
{
	static const char hex[] = "0123456789abcdef";

	for (int i = 0; i < 32; i++) {
		out[2 * i] = hex[mac[i] >> 4];
		out[2 * i + 1] = hex[mac[i] & 15];
	}
	out[64] = '\0';
}

int store_coupon_get(store_txn *txn, const char *id, struct store_coupon *out)
{
	return rec_get(txn, DBI_COUPONS, &codec_coupon, id, STORE_ID_LEN, out);
}

int store_coupon_by_mac(store_txn *txn, const uint8_t mac[32], struct store_coupon *out)
{
	char key[65];

	if (!mac)
		return CF_EINTERNAL;
	mac_hex(mac, key);
	return unique_get(txn, DBI_COUPON_MAC, key, sizeof(key), DBI_COUPONS, &codec_coupon, out);
}

int store_coupon_put(store_txn *txn, const struct store_coupon *c)
{
	struct store_coupon old;
	char key[65], old_key[65] = "";
	size_t n;
	int ret;

	if (!txn || !c)
		return CF_EINTERNAL;
	if ((ret = codec_size(&codec_coupon, c, &n)) != 0)
		return ret;
	ret = store_coupon_get(txn, c->id, &old);
	if (ret && ret != CF_ENOTFOUND)
		return ret;
	if (ret == 0)
		mac_hex(old.code_mac, old_key);
	mac_hex(c->code_mac, key);
	if ((ret = unique_move(txn, DBI_COUPON_MAC, old_key, key, c->id)) == 0)
		ret = rec_put(txn, DBI_COUPONS, &codec_coupon, c, n, 0);
	cf_zeroize(&old, sizeof(old));
	return ret;
}

int store_coupon_list(store_txn *txn, int (*cb)(const struct store_coupon *c, void *ctx), void *ctx)
{
	return store_coupon_list_after(txn, NULL, cb, ctx);
}

int store_coupon_list_after(store_txn *txn, const char *after,
			    int (*cb)(const struct store_coupon *c, void *ctx), void *ctx)
{
	struct visit vi = {&codec_coupon, DBI_COUPONS, {.coupon = cb}, ctx};
	if (!cb)
		return CF_EINTERNAL;
	return walk_after(txn, &vi, after);
}

/* ---- rate counters ---- */

int store_rate_get(store_txn *txn, const uint8_t *key, size_t key_len, struct store_rate *out)
{
	struct kv k, v;
	int ret;

	if (!txn || !key || !out || key_len == 0 || key_len > STORE_RATE_KEY_MAX)
		return CF_EINTERNAL;
	k.len = key_len;
	k.data = (void *)key;
	ret = kv_get(txn, DBI_RATES, &k, &v);
	if (ret != 0)
		return ret;
	if (v.len != 12)
		return CF_EINTERNAL;
	out->window_end = (int64_t)codec_be_u64(v.data);
	out->count = (uint32_t)(codec_be_u64((const uint8_t *)v.data + 4) & 0xffffffffu);
	return 0;
}

int store_rate_put(store_txn *txn, const uint8_t *key, size_t key_len, const struct store_rate *r)
{
	uint8_t b[16];
	struct kv k, v;

	if (!txn || !key || !r || key_len == 0 || key_len > STORE_RATE_KEY_MAX)
		return CF_EINTERNAL;
	/* window_end then count, each big-endian: the count's 8-octet write is cut to 4 */
	codec_u64_be((uint64_t)r->count, b + 4);
	codec_u64_be((uint64_t)r->window_end, b);
	k.len = key_len;
	k.data = (void *)key;
	v.len = 12;
	v.data = b;
	return db_put(txn, DBI_RATES, &k, &v, 0);
}

#define RATE_PURGE_BATCH 64

/* The next up to RATE_PURGE_BATCH counters whose window ended before `before`. */
struct rate_purge {
	int64_t before;
	uint8_t key[RATE_PURGE_BATCH][STORE_RATE_KEY_MAX + 1];
	size_t len[RATE_PURGE_BATCH];
	size_t n;
};

static int rate_collect(store_txn *t, const struct kv *k, const struct kv *v, void *ctx)
{
	struct rate_purge *p = ctx;

	(void)t;
	if (v->len == 12 && (int64_t)codec_be_u64(v->data) >= p->before)
		return 0;
	if (k->len > STORE_RATE_KEY_MAX)
		return CF_EINTERNAL;
	memcpy(p->key[p->n], k->data, k->len);
	p->len[p->n++] = k->len;
	return p->n == RATE_PURGE_BATCH;
}

int store_rate_purge(store_txn *txn, int64_t before)
{
	struct rate_purge *p;
	uint8_t from[STORE_RATE_KEY_MAX + 1];
	struct kv start = {0, from}, k;
	int ret = 0;

	if (!txn)
		return CF_EINTERNAL;
	if (!(p = malloc(sizeof(*p))))
		return CF_ENOMEM;
	p->before = before;
	/* one pass over every counter (there are as many as names asked about in a window), in
	 * batches; a batch resumes just after the last key of the one before (that key, NUL) */
	do {
		p->n = 0;
		ret = txn->st->be->walk(txn, DBI_RATES, &start, 0, rate_collect, p);
		if (ret == 1)
			ret = 0;
		for (size_t i = 0; ret == 0 && i < p->n; i++) {
			k.len = p->len[i];
			k.data = p->key[i];
			ret = db_del(txn, DBI_RATES, &k);
		}
		if (p->n) {
			memcpy(from, p->key[p->n - 1], p->len[p->n - 1]);
			from[p->len[p->n - 1]] = 0;
			start.len = p->len[p->n - 1] + 1;
		}
	} while (ret == 0 && p->n == RATE_PURGE_BATCH);
	free(p);
	return ret;
}

/* ---- outbox purge ---- */

#define MSG_PURGE_BATCH 512

struct msg_purge {
	int64_t before;
	uint64_t ids[MSG_PURGE_BATCH];
	size_t n;
};

static int msg_purge_cb(const struct store_message *m, void *ctx)
{
	struct msg_purge *p = ctx;

	if (m->created_at >= p->before)
		return 1; /* ids follow creation: the rest is younger */
	if (m->state != MSG_QUEUED)
		p->ids[p->n++] = m->id;
	return p->n == MSG_PURGE_BATCH;
}

int store_message_purge(store_txn *txn, int64_t before, size_t *purged)
{
	struct msg_purge *p = calloc(1, sizeof(*p));
	uint8_t b[8];
	struct kv k = {8, b};
	int ret;

	if (!p)
		return CF_ENOMEM;
	p->before = before;
	ret = store_message_list(txn, msg_purge_cb, p);
	if (ret == 1)
		ret = 0;
	for (size_t i = 0; ret == 0 && i < p->n; i++) {
		codec_u64_be(p->ids[i], b);
		ret = db_del(txn, DBI_MESSAGES, &k);
	}
	if (ret == 0 && purged)
		*purged = p->n;
	free(p);
	return ret;
}
