/*
 * store_pg — the key-value layer of store_kv.h on PostgreSQL; the only file of certflow that
 * includes libpq-fe.h.
 *
 * Every table of store_kv.h is a range of one table kv(dbi smallint, k bytea, v bytea, primary key
 * (dbi, k)); bytea compares octet by octet like LMDB's keys, so walks keep their order. A table
 * schema_version holds the record schema (STORE_SCHEMA_VERSION); both are made on open, under an
 * advisory lock, so that servers starting together do not race.
 *
 * A pool of connections, one per transaction at a time. store_write runs fn in a SERIALIZABLE
 * transaction, one write of this process at a time, whose first statement locks the table kv
 * against the other processes' writes (EXCLUSIVE: reads go on): nearly every write appends an
 * audit event (one counter row), so concurrent writers of several processes would mostly fail
 * each other and pay a pause and a rerun; queued, they run one after the other. The lock comes
 * before any read, so the transaction's snapshot is taken after the writer before it committed.
 * fn still runs again, after a short random pause, when PostgreSQL reports a serialisation
 * failure or a deadlock (or a unique key taken meanwhile): fn is re-runnable by store.h's
 * contract. store_read is a READ ONLY REPEATABLE READ transaction: one snapshot.
 *
 * Replay nonces of all processes (store_nonce_use) are rows of nonce_used(id, until): one
 * INSERT ... ON CONFLICT DO NOTHING outside any transaction of kv, so it never waits for a
 * writer; every NONCE_PURGE_EVERY-th use deletes the rows past their time. Statements are prepared
 * once per connection and take every key and value as a binary parameter: no SQL is ever built from
 * data. Never log a value; error lines carry PostgreSQL's primary message and SQLSTATE only.
 */
#include "store_kv.h"

#include "cf_clock.h"
#include "cf_crypto.h"
#include "cf_err.h"
#include "cf_log.h"

#include <arpa/inet.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_POOL 8
#define MAX_POOL 256
#define WRITE_ATTEMPTS 32    /* runs of one store_write fn before CF_EUNAVAILABLE */
#define BACKOFF_MAX_US 20000 /* the longest pause between two runs */
#define WALK_FIRST 16	     /* rows of a walk's first batch; each next one doubles */
#define WALK_MAX 256
#define MIGRATE_LOCK "7308070133530117733" /* pg_advisory_xact_lock key of the migration */
#define NONCE_PURGE_EVERY 256		   /* nonce uses of this process between two purges */

#define OID_INT2 21
#define OID_INT4 23
#define OID_INT8 20
#define OID_BYTEA 17

struct pg_store {
	struct store base;
	char *conninfo;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* Held by a write transaction: the writes of one process run one at a time, as on LMDB.
	 * Nearly every write appends an audit event (one counter row), so concurrent writes would
	 * mostly fail each other and run again after a pause; waiting here is shorter. Writes of
	 * other processes on the same database still conflict, and run again. */
	pthread_mutex_t write_mu;
	PGconn **idle; /* connections not in a transaction */
	int n_idle, n;
	int bad_logged; /* a lost database was reported (until a connection works again) */
	unsigned nonce_uses;
};

struct pg_txn {
	struct store_txn base;
	PGconn *c;
	PGresult *got[2]; /* the last two gets' results (store_kv.h: a value outlives one get) */
	int slot;
	int retry;  /* a serialisation failure or a deadlock: run fn again */
	int failed; /* a statement failed: the transaction is aborted */
	int lost;   /* the connection broke */
};

static const struct store_backend pg_backend;

static struct pg_store *S(store *st)
{
	return (struct pg_store *)st;
}

static struct pg_txn *T(store_txn *t)
{
	return (struct pg_txn *)t;
}

/* ---- statements ---- */

struct stmt {
	const char *name, *sql;
	int n;
	Oid types[4];
};

static const struct stmt stmts[] = {
    {"get", "SELECT v FROM kv WHERE dbi = $1 AND k = $2", 2, {OID_INT2, OID_BYTEA}},
    {"put",
     "INSERT INTO kv (dbi, k, v) VALUES ($1, $2, $3) ON CONFLICT (dbi, k) DO UPDATE SET v = "
     "excluded.v",
     3,
     {OID_INT2, OID_BYTEA, OID_BYTEA}},
    {"ins",
     "INSERT INTO kv (dbi, k, v) VALUES ($1, $2, $3) ON CONFLICT (dbi, k) DO NOTHING",
     3,
     {OID_INT2, OID_BYTEA, OID_BYTEA}},
    {"del", "DELETE FROM kv WHERE dbi = $1 AND k = $2", 2, {OID_INT2, OID_BYTEA}},
    {"walk",
     "SELECT k, v FROM kv WHERE dbi = $1 AND k >= $2 ORDER BY k LIMIT $3",
     3,
     {OID_INT2, OID_BYTEA, OID_INT4}},
    /* a prefix walk names its end too: the range PostgreSQL reads (and locks) stays small */
    {"walkp",
     "SELECT k, v FROM kv WHERE dbi = $1 AND k >= $2 AND k < $3 ORDER BY k LIMIT $4",
     4,
     {OID_INT2, OID_BYTEA, OID_BYTEA, OID_INT4}},
    {"count", "SELECT count(*) FROM kv WHERE dbi = $1", 1, {OID_INT2}},
    {"size", "SELECT pg_total_relation_size('kv')", 0, {0}},
    {"nonce",
     "INSERT INTO nonce_used (id, until) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
     2,
     {OID_BYTEA, OID_INT8}},
    {"nonce_purge", "DELETE FROM nonce_used WHERE until < $1", 1, {OID_INT8}},
};

static const char migrate_sql[] =
    "BEGIN;"
    "SELECT pg_advisory_xact_lock(" MIGRATE_LOCK ");"
    "CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL);"
    "CREATE TABLE IF NOT EXISTS kv (dbi smallint NOT NULL, k bytea NOT NULL, v bytea NOT NULL,"
    " PRIMARY KEY (dbi, k));"
    "CREATE TABLE IF NOT EXISTS nonce_used (id bytea PRIMARY KEY, until bigint NOT NULL);"
    "CREATE INDEX IF NOT EXISTS nonce_used_until ON nonce_used (until);"
    "INSERT INTO schema_version (version) SELECT 0 WHERE NOT EXISTS "
    "(SELECT 1 FROM schema_version);";

/* Is the failed result r worth running the transaction again? */
static int retryable(const char *state)
{
	/* serialization_failure, deadlock_detected, unique_violation (an insert that a concurrent
	 * transaction made first, which SERIALIZABLE may report instead of 40001) */
	return state && (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
			 strcmp(state, "23505") == 0);
}

/* The error of a failed statement: note it on t, log what is not a retry, map it. */
static int pg_err(struct pg_txn *t, PGconn *c, const PGresult *r, const char *what)
{
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;

	if (t)
		t->failed = 1;
	if (retryable(state)) {
		if (t)
			t->retry = 1;
		return CF_EUNAVAILABLE;
	}
	if (PQstatus(c) == CONNECTION_BAD) {
		if (t)
			t->lost = 1;
		cf_error("store: %s: lost the connection to PostgreSQL", what);
		return CF_EUNAVAILABLE;
	}
	cf_error("store: %s: PostgreSQL: %s (%s)", what, msg ? msg : "no answer",
		 state ? state : "-");
	if (state && strncmp(state, "53", 2) == 0) /* insufficient resources: disk full, ... */
		return CF_ESTOREFULL;
	if (state && strcmp(state, "25006") == 0) /* a write in a read-only transaction */
		return CF_EINTERNAL;
	return CF_EIO;
}

/* Run a prepared statement with binary parameters and results. */
static PGresult *run(PGconn *c, const char *name, int n, const char *const *vals, const int *lens)
{
	static const int fmt[4] = {1, 1, 1, 1};

	return PQexecPrepared(c, name, n, vals, lens, fmt, 1);
}

/* Run a statement of t; NULL (the error mapped into *ret) unless it gave want. */
static PGresult *txn_run(struct pg_txn *t, const char *name, int n, const char *const *vals,
			 const int *lens, ExecStatusType want, int *ret)
{
	PGresult *r;

	if (t->failed) { /* PostgreSQL refuses every statement of an aborted transaction */
		*ret = t->retry ? CF_EUNAVAILABLE : CF_EIO;
		return NULL;
	}
	r = run(t->c, name, n, vals, lens);
	if (PQresultStatus(r) == want)
		return r;
	*ret = pg_err(t, t->c, r, name);
	PQclear(r);
	return NULL;
}

/* ---- connections and the pool ---- */

static int simple(PGconn *c, const char *sql, const char *what)
{
	PGresult *r = PQexec(c, sql);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
	int ret = ok ? 0 : pg_err(NULL, c, r, what);

	PQclear(r);
	return ret;
}

static int prepare_all(PGconn *c)
{
	PGresult *r;
	int ret = 0;

	for (size_t i = 0; ret == 0 && i < sizeof(stmts) / sizeof(stmts[0]); i++) {
		r = PQprepare(c, stmts[i].name, stmts[i].sql, stmts[i].n, stmts[i].types);
		if (PQresultStatus(r) != PGRES_COMMAND_OK)
			ret = pg_err(NULL, c, r, "prepare");
		PQclear(r);
	}
	return ret;
}

/* PostgreSQL's notices ("relation kv already exists, skipping" at each open) are not errors: not
 * printed (libpq's default prints them on stderr, under a command's one-line answer). */
static void quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

static int connect_one(const char *conninfo, PGconn **out)
{
	PGconn *c = PQconnectdb(conninfo);

	if (!c)
		return CF_ENOMEM;
	if (PQstatus(c) != CONNECTION_OK) {
		/* libpq's message names the host and the reason, never the password */
		const char *m = PQerrorMessage(c);
		size_t n = strcspn(m, "\n");

		cf_error("store: cannot connect to PostgreSQL: %.*s", (int)n, m);
		PQfinish(c);
		return CF_EUNAVAILABLE;
	}
	PQsetNoticeProcessor(c, quiet, NULL);
	*out = c;
	return 0;
}

/* The record schema on c: made if missing; CF_EIO if the database holds a newer one. */
static int migrate(PGconn *c)
{
	PGresult *r;
	int ret, ver;
	char sql[160];

	if ((ret = simple(c, migrate_sql, "migrate")) != 0)
		goto fail;
	r = PQexec(c, "SELECT max(version) FROM schema_version");
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		ret = pg_err(NULL, c, r, "schema");
		PQclear(r);
		goto fail;
	}
	ver = atoi(PQgetvalue(r, 0, 0));
	PQclear(r);
	if (ver > STORE_SCHEMA_VERSION) {
		cf_error(
		    "store: unknown schema version %d in PostgreSQL (this build reads up to %d)",
		    ver, STORE_SCHEMA_VERSION);
		ret = CF_EIO;
		goto fail;
	}
	/* new, or an older schema to upgrade (see STORE_SCHEMA_VERSION); ver is a number */
	snprintf(sql, sizeof(sql), "UPDATE schema_version SET version = %d; COMMIT",
		 STORE_SCHEMA_VERSION);
	if ((ret = simple(c, sql, "schema")) == 0)
		return 0;
fail:
	simple(c, "ROLLBACK", "rollback");
	return ret;
}

static PGconn *pool_take(struct pg_store *st)
{
	PGconn *c;

	pthread_mutex_lock(&st->mu);
	while (st->n_idle == 0)
		pthread_cond_wait(&st->cv, &st->mu);
	c = st->idle[--st->n_idle];
	pthread_mutex_unlock(&st->mu);
	return c;
}

static void pool_give(struct pg_store *st, PGconn *c)
{
	pthread_mutex_lock(&st->mu);
	st->idle[st->n_idle++] = c;
	pthread_cond_signal(&st->cv);
	pthread_mutex_unlock(&st->mu);
}

/* A connection that broke: connect again (its prepared statements went with the session). */
static int revive(struct pg_store *st, PGconn *c)
{
	PQreset(c);
	if (PQstatus(c) != CONNECTION_OK) {
		if (!__atomic_exchange_n(&st->bad_logged, 1, __ATOMIC_RELAXED))
			cf_error("store: PostgreSQL cannot be reached (said once until it can)");
		return CF_EUNAVAILABLE;
	}
	if (__atomic_exchange_n(&st->bad_logged, 0, __ATOMIC_RELAXED))
		cf_info("store: PostgreSQL reached again");
	return prepare_all(c);
}

static void pg_close(store *s)
{
	struct pg_store *st = S(s);

	if (!st)
		return;
	for (int i = 0; i < st->n_idle; i++)
		PQfinish(st->idle[i]);
	free(st->idle);
	free(st->conninfo);
	pthread_mutex_destroy(&st->mu);
	pthread_mutex_destroy(&st->write_mu);
	pthread_cond_destroy(&st->cv);
	free(st);
}

int store_pg_open(const char *conninfo, const struct store_opts *opts, store **out)
{
	struct pg_store *st;
	int n = opts && opts->pool_size > 0 ? opts->pool_size : DEFAULT_POOL, ret;

	if (!conninfo || !out)
		return CF_EINTERNAL;
	if (n > MAX_POOL)
		n = MAX_POOL;
	if (!(st = calloc(1, sizeof(*st))))
		return CF_ENOMEM;
	st->base.be = &pg_backend;
	if (pthread_mutex_init(&st->mu, NULL) != 0) {
		free(st);
		return CF_ENOMEM;
	}
	pthread_cond_init(&st->cv, NULL);
	pthread_mutex_init(&st->write_mu, NULL);
	st->n = n;
	if (!(st->conninfo = strdup(conninfo)) ||
	    !(st->idle = calloc((size_t)n, sizeof(PGconn *)))) {
		ret = CF_ENOMEM;
		goto fail;
	}
	for (int i = 0; i < n; i++) {
		if ((ret = connect_one(conninfo, &st->idle[i])) != 0)
			goto fail;
		st->n_idle++;
	}
	/* the statements name the tables: they are made first */
	if ((ret = migrate(st->idle[0])) != 0)
		goto fail;
	for (int i = 0; i < n; i++)
		if ((ret = prepare_all(st->idle[i])) != 0)
			goto fail;
	*out = &st->base;
	return 0;
fail:
	pg_close(&st->base);
	return ret == CF_EUNAVAILABLE ? CF_EIO : ret;
}

static int pg_size(store *s, uint64_t *bytes)
{
	struct pg_store *st = S(s);
	PGconn *c = pool_take(st);
	PGresult *r = run(c, "size", 0, NULL, NULL);
	int ret = 0;

	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
	    PQgetlength(r, 0, 0) == 8) {
		uint32_t hi, lo;

		memcpy(&hi, PQgetvalue(r, 0, 0), 4);
		memcpy(&lo, PQgetvalue(r, 0, 0) + 4, 4);
		*bytes = (uint64_t)ntohl(hi) << 32 | ntohl(lo);
	} else {
		ret = pg_err(NULL, c, r, "size");
	}
	PQclear(r);
	pool_give(st, c);
	return ret;
}

static int pg_backup(store *s, const char *path)
{
	(void)s;
	(void)path;
	cf_error(
	    "store: a PostgreSQL store is backed up with PostgreSQL's own tools (pg_dump), not "
	    "by certflowd");
	return CF_EUSAGE;
}

/* ---- transactions ---- */

static void txn_clear(struct pg_txn *t)
{
	PQclear(t->got[0]);
	PQclear(t->got[1]);
	t->got[0] = t->got[1] = NULL;
}

/* A pause before attempt i + 1: random, up to 1 ms × 2^i, at most BACKOFF_MAX_US. */
static void backoff(int i)
{
	long cap = 1000L << (i < 6 ? i : 6);
	struct timespec ts;
	unsigned seed = (unsigned)(uintptr_t)&ts ^ (unsigned)time(NULL) ^ (unsigned)i * 2654435761u;

	if (cap > BACKOFF_MAX_US)
		cap = BACKOFF_MAX_US;
	cap = 100 + (long)(rand_r(&seed) % (unsigned)cap);
	ts.tv_sec = 0;
	ts.tv_nsec = cap * 1000;
	nanosleep(&ts, NULL);
}

/* Run fn once in a transaction that begin starts on t->c; *again: worth running once more. */
static int txn_once(struct pg_txn *t, const char *begin, int (*fn)(store_txn *, void *), void *ctx,
		    int *again)
{
	PGresult *r;
	int ret;

	t->retry = t->failed = t->lost = 0;
	t->slot = 0;
	*again = 0;
	if ((ret = simple(t->c, begin, "begin")) != 0) {
		t->lost = PQstatus(t->c) == CONNECTION_BAD;
		*again = t->lost;
		return ret;
	}
	ret = fn(&t->base, ctx);
	txn_clear(t);
	if (ret || t->failed) {
		simple(t->c, "ROLLBACK", "rollback");
		*again = t->retry;
		if (t->failed && ret == 0)
			ret = t->retry ? CF_EUNAVAILABLE : CF_EIO;
		if (t->retry)
			ret = CF_EUNAVAILABLE;
		return ret;
	}
	r = PQexec(t->c, "COMMIT");
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		ret = pg_err(t, t->c, r, "commit");
		*again = t->retry;
	}
	PQclear(r);
	return ret;
}

static int txn_run_fn(store *s, const char *begin, int (*fn)(store_txn *txn, void *ctx), void *ctx)
{
	struct pg_store *st = S(s);
	struct pg_txn t = {.base.st = s};
	int ret = CF_EUNAVAILABLE, again = 0;

	t.c = pool_take(st);
	for (int i = 0; i < WRITE_ATTEMPTS; i++) {
		if (PQstatus(t.c) == CONNECTION_BAD && (ret = revive(st, t.c)) != 0)
			break;
		ret = txn_once(&t, begin, fn, ctx, &again);
		if (!again)
			break;
		if (!t.lost)
			backoff(i);
		ret = CF_EUNAVAILABLE;
	}
	if (again && !t.lost)
		cf_warn("store: a transaction still met concurrent ones after %d attempts",
			WRITE_ATTEMPTS);
	pool_give(st, t.c);
	return ret;
}

static int pg_read(store *s, int (*fn)(store_txn *txn, void *ctx), void *ctx)
{
	return txn_run_fn(s, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", fn, ctx);
}

static int pg_write(store *s, int (*fn)(store_txn *txn, void *ctx), void *ctx)
{
	struct pg_store *st = S(s);
	int ret;

	/* the writer's turn first, then a connection: waiting writers hold no connection */
	pthread_mutex_lock(&st->write_mu);
	ret = txn_run_fn(s, "BEGIN ISOLATION LEVEL SERIALIZABLE; LOCK TABLE kv IN EXCLUSIVE MODE",
			 fn, ctx);
	pthread_mutex_unlock(&st->write_mu);
	return ret;
}

/* ---- keys and values ---- */

static void dbi_param(int dbi, uint16_t *be)
{
	*be = htons((uint16_t)dbi);
}

static int pg_get(store_txn *tx, int dbi, const struct kv *k, struct kv *v)
{
	struct pg_txn *t = T(tx);
	uint16_t d;
	const char *vals[2] = {(const char *)&d, k->data};
	int lens[2] = {2, (int)k->len}, ret = 0;
	PGresult *r;

	dbi_param(dbi, &d);
	/* k may point into the result of the get before: that one stays, the one before it goes */
	if (!(r = txn_run(t, "get", 2, vals, lens, PGRES_TUPLES_OK, &ret)))
		return ret;
	t->slot ^= 1;
	PQclear(t->got[t->slot]);
	t->got[t->slot] = r;
	if (PQntuples(r) == 0)
		return CF_ENOTFOUND;
	v->len = (size_t)PQgetlength(r, 0, 0);
	v->data = PQgetvalue(r, 0, 0);
	return 0;
}

static int pg_put(store_txn *tx, int dbi, const struct kv *k, size_t vlen, unsigned flags,
		  kv_fill_fn fill, void *fill_ctx)
{
	struct pg_txn *t = T(tx);
	uint16_t d;
	char *buf = malloc(vlen ? vlen : 1);
	const char *vals[3] = {(const char *)&d, k->data, buf};
	int lens[3] = {2, (int)k->len, (int)vlen}, ret;
	PGresult *r;

	if (!buf)
		return CF_ENOMEM;
	dbi_param(dbi, &d);
	if ((ret = fill(buf, vlen, fill_ctx)) != 0)
		goto out;
	r = txn_run(t, flags & KV_NOOVERWRITE ? "ins" : "put", 3, vals, lens, PGRES_COMMAND_OK,
		    &ret);
	if (r && strcmp(PQcmdTuples(r), "0") == 0)
		ret = CF_ECONFLICT; /* ins: the key exists */
	PQclear(r);
out:
	cf_zeroize(buf, vlen); /* values may hold MACs and verifiers */
	free(buf);
	return ret;
}

static int pg_del(store_txn *tx, int dbi, const struct kv *k)
{
	struct pg_txn *t = T(tx);
	uint16_t d;
	const char *vals[2] = {(const char *)&d, k->data};
	int lens[2] = {2, (int)k->len}, ret = 0;
	PGresult *r;

	dbi_param(dbi, &d);
	if (!(r = txn_run(t, "del", 2, vals, lens, PGRES_COMMAND_OK, &ret)))
		return ret;
	if (strcmp(PQcmdTuples(r), "0") == 0)
		ret = CF_ENOTFOUND;
	PQclear(r);
	return ret;
}

/* The least key above every key that begins with p (n octets): p with its last octet below 0xff
 * raised by one, after dropping trailing 0xff octets; 0 if there is none (p is all 0xff). */
static size_t prefix_end(const uint8_t *p, size_t n, uint8_t *out)
{
	while (n > 0 && p[n - 1] == 0xff)
		n--;
	if (n == 0)
		return 0;
	memcpy(out, p, n);
	out[n - 1]++;
	return n;
}

static int pg_walk(store_txn *tx, int dbi, const struct kv *start, size_t plen, kv_walk_fn cb,
		   void *ctx)
{
	struct pg_txn *t = T(tx);
	uint16_t d;
	uint32_t lim;
	int limit = WALK_FIRST, ret = 0, rows, i;
	size_t from_len = start->len, end_len = 0, cap = start->len + 1;
	uint8_t *from = malloc(cap), *end = malloc(plen ? plen : 1);
	const char *vals[4];
	int lens[4];
	PGresult *r;
	struct kv k = {0, NULL}, v;

	if (!from || !end) {
		ret = CF_ENOMEM;
		goto out;
	}
	if (start->len) /* an empty start may have no data */
		memcpy(from, start->data, start->len);
	if (plen)
		end_len = prefix_end(start->data, plen, end);
	dbi_param(dbi, &d);
	for (;;) {
		int n = end_len ? 4 : 3;

		lim = htonl((uint32_t)limit);
		vals[0] = (const char *)&d;
		lens[0] = 2;
		vals[1] = (const char *)from;
		lens[1] = (int)from_len;
		vals[2] = end_len ? (const char *)end : (const char *)&lim;
		lens[2] = end_len ? (int)end_len : 4;
		vals[3] = (const char *)&lim;
		lens[3] = 4;
		if (!(r = txn_run(t, end_len ? "walkp" : "walk", n, vals, lens, PGRES_TUPLES_OK,
				  &ret)))
			break;
		rows = PQntuples(r);
		for (i = 0; ret == 0 && i < rows; i++) {
			k.len = (size_t)PQgetlength(r, i, 0);
			k.data = PQgetvalue(r, i, 0);
			v.len = (size_t)PQgetlength(r, i, 1);
			v.data = PQgetvalue(r, i, 1);
			if (plen && (k.len < plen || memcmp(k.data, start->data, plen) != 0)) {
				rows = 0; /* past the prefix: the walk ends */
				break;
			}
			ret = cb(tx, &k, &v, ctx);
		}
		if (ret == 0 && rows == limit) {
			/* the next batch starts just above the last key: that key, NUL */
			if (k.len + 1 > cap) {
				uint8_t *m = realloc(from, k.len + 1);

				if (!m) {
					ret = CF_ENOMEM;
					PQclear(r);
					break;
				}
				from = m;
				cap = k.len + 1;
			}
			memcpy(from, k.data, k.len);
			from[k.len] = 0;
			from_len = k.len + 1;
		}
		PQclear(r);
		if (ret || rows < limit)
			break;
		if (limit < WALK_MAX)
			limit *= 2;
	}
out:
	free(from);
	free(end);
	return ret;
}

static int pg_count(store_txn *tx, int dbi, uint64_t *out)
{
	struct pg_txn *t = T(tx);
	uint16_t d;
	const char *vals[1] = {(const char *)&d};
	int lens[1] = {2}, ret = 0;
	uint32_t hi, lo;
	PGresult *r;

	dbi_param(dbi, &d);
	if (!(r = txn_run(t, "count", 1, vals, lens, PGRES_TUPLES_OK, &ret)))
		return ret;
	if (PQntuples(r) == 1 && PQgetlength(r, 0, 0) == 8) {
		memcpy(&hi, PQgetvalue(r, 0, 0), 4);
		memcpy(&lo, PQgetvalue(r, 0, 0) + 4, 4);
		*out = (uint64_t)ntohl(hi) << 32 | ntohl(lo);
	} else {
		ret = CF_EINTERNAL;
	}
	PQclear(r);
	return ret;
}

/* ---- replay nonces ---- */

static void i64_param(int64_t v, uint32_t be[2])
{
	be[0] = htonl((uint32_t)((uint64_t)v >> 32));
	be[1] = htonl((uint32_t)v);
}

static int pg_nonce_use(store *s, const uint8_t *id, size_t len, int64_t until)
{
	struct pg_store *st = S(s);
	uint32_t u[2];
	const char *vals[2] = {(const char *)id, (const char *)u};
	int lens[2] = {(int)len, 8}, ret = CF_EUNAVAILABLE;
	PGconn *c = pool_take(st);
	PGresult *r = NULL;

	i64_param(until, u);
	/* once more on a connection that broke (a restarted database) */
	for (int i = 0; i < 2; i++) {
		if (PQstatus(c) == CONNECTION_BAD && (ret = revive(st, c)) != 0)
			break;
		r = run(c, "nonce", 2, vals, lens);
		if (PQresultStatus(r) == PGRES_COMMAND_OK) {
			ret = strcmp(PQcmdTuples(r), "1") == 0 ? 0 : CF_ECONFLICT;
			break;
		}
		ret = pg_err(NULL, c, r, "nonce");
		PQclear(r);
		r = NULL;
		if (PQstatus(c) != CONNECTION_BAD)
			break;
	}
	PQclear(r);
	if (ret == 0 &&
	    __atomic_add_fetch(&st->nonce_uses, 1, __ATOMIC_RELAXED) % NONCE_PURGE_EVERY == 0) {
		/* A nonce past its until is refused by its time before its record is asked. The
		 * earlier of the two clocks: a test clock may go back to where a purged nonce is
		 * young again. */
		const char *pv[1] = {(const char *)u};
		int pl[1] = {8};
		int64_t now = cf_now(), wall = (int64_t)time(NULL);

		i64_param(now < wall ? now : wall, u);
		r = run(c, "nonce_purge", 1, pv, pl);
		if (PQresultStatus(r) != PGRES_COMMAND_OK)
			pg_err(NULL, c, r, "nonce purge"); /* logged; the next purge tries again */
		PQclear(r);
	}
	pool_give(st, c);
	return ret;
}

static const struct store_backend pg_backend = {
    .close = pg_close,
    .size = pg_size,
    .backup = pg_backup,
    .read = pg_read,
    .write = pg_write,
    .get = pg_get,
    .put = pg_put,
    .del = pg_del,
    .walk = pg_walk,
    .count = pg_count,
    .shared = 1,
    .nonce_use = pg_nonce_use,
};
