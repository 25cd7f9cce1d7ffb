/*
 * store_lmdb — the key-value layer of store_kv.h on LMDB; the only file of certflow that includes
 * lmdb.h. One named DBI per table.
 *
 * One environment per process, opened with MDB_NOTLS so that any CivetWeb worker thread may run
 * a transaction. Every write is durable (no MDB_NOSYNC) before store_write returns. The map grows
 * on MDB_MAP_FULL; LMDB allows a resize only while no transaction of this process is open, so
 * every transaction holds map_lock shared and a resize holds it exclusive.
 *
 * Never log a secret: keys are references, ids and serials (values are never logged).
 */
#include "store.h"
#include "store_codec.h"
#include "store_group.h"
#include "store_kv.h"

#include "cf_crypto.h"
#include "cf_err.h"
#include "cf_log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_MAP_SIZE ((size_t)64 << 20)
#define DEFAULT_MAP_SIZE_MAX ((size_t)16 << 30)
#define MAX_READERS 256
#define WRITE_ATTEMPTS 64 /* re-runs of one store_write after map growth */

/* The store of this backend: a struct store (store_kv.h) and LMDB's state. */
struct lmdb_store {
	struct store base;
	MDB_env *env;
	MDB_dbi dbi[DBI_COUNT];
	pthread_rwlock_t map_lock; /* shared: an open txn of this process; exclusive: resize */
	size_t map_size;	   /* written only under map_lock exclusive */
	size_t map_size_max;
	size_t page_size;
	struct store_group *group; /* NULL: every store_write commits alone */
};

typedef struct lmdb_store lstore;

struct lmdb_txn {
	struct store_txn base; /* base.st is the lmdb_store */
	MDB_txn *txn;
	/* an LMDB call hit MDB_MAP_FULL: the txn is dead and store_write re-runs fn */
	int map_full;
};
typedef struct lmdb_txn ltxn;

static const struct store_backend lmdb_backend;

static ltxn *T(store_txn *t)
{
	return (ltxn *)t;
}

static lstore *S(store *st)
{
	return (lstore *)st;
}

/* ---- errors ---- */

/* A full disk or map fails every write until someone makes room: say so once per
 * FULL_LOG_SECS with the number of writes refused meanwhile, not once per request. */
#define FULL_LOG_SECS 60

static int64_t full_logged_at;
static unsigned long full_refused;

static void full_log(const char *what, const char *why)
{
	int64_t now = (int64_t)time(NULL),
		last = __atomic_load_n(&full_logged_at, __ATOMIC_RELAXED);
	unsigned long n = __atomic_add_fetch(&full_refused, 1, __ATOMIC_RELAXED);

	if (last && now - last < FULL_LOG_SECS)
		return;
	if (!__atomic_compare_exchange_n(&full_logged_at, &last, now, 0, __ATOMIC_RELAXED,
					 __ATOMIC_RELAXED))
		return; /* another thread logs this interval */
	__atomic_sub_fetch(&full_refused, n, __ATOMIC_RELAXED);
	cf_error("store: %s: %s; %lu write(s) refused as storage full (said at most once a minute)",
		 what, why, n);
}

/* Free space under this many octets is a full file system (see commit_err). */
#define NEARLY_FULL (1024 * 1024)

static int disk_nearly_full(lstore *st)
{
	struct statvfs vfs;
	mdb_filehandle_t fd;

	return mdb_env_get_fd(st->env, &fd) == 0 && fstatvfs(fd, &vfs) == 0 &&
	       (uint64_t)vfs.f_bavail * vfs.f_frsize < NEARLY_FULL;
}

static int map_err(ltxn *t, int rc, const char *what);

/* A commit's error. LMDB answers a short write, which is what a file system that fills up in the
 * middle of a page gives, with EIO: on a file system with (almost) no space left that is a full
 * disk (503 storageFull, retried later), not an I/O error. */
static int commit_err(lstore *st, int rc, const char *what)
{
	if (rc == EIO && disk_nearly_full(st)) {
		full_log(what, "short write on a full file system");
		return CF_ESTOREFULL;
	}
	return map_err(NULL, rc, what);
}

static int map_err(ltxn *t, int rc, const char *what)
{
	switch (rc) {
	case 0:
		return 0;
	case MDB_NOTFOUND:
		return CF_ENOTFOUND;
	case MDB_KEYEXIST:
		return CF_ECONFLICT;
	case MDB_MAP_FULL:
		if (t)
			t->map_full = 1;
		return CF_ESTOREFULL;
	case ENOMEM:
		return CF_ENOMEM;
	case ENOSPC: /* the file system, not the map, is full */
	case EDQUOT:
		full_log(what, mdb_strerror(rc));
		return CF_ESTOREFULL;
	case MDB_READERS_FULL: /* more concurrent readers than MAX_READERS: try later */
		cf_warn("store: %s: %s", what, mdb_strerror(rc));
		return CF_EUNAVAILABLE;
	case EACCES: /* a put in a read-only txn */
		cf_error("store: %s: write in a read-only transaction", what);
		return CF_EINTERNAL;
	default:
		cf_error("store: %s: %s", what, mdb_strerror(rc));
		return CF_EIO;
	}
}

/* ---- map size ---- */

/* Grow the map after a txn that ran with map size seen hit MDB_MAP_FULL (adopt = 0), or take
 * the size another process set (adopt = 1, after MDB_MAP_RESIZED). The caller holds no txn. */
static int map_grow(lstore *st, size_t seen, int adopt)
{
	int ret = CF_EINTERNAL, rc, dead = 0;
	size_t want = 0;
	MDB_envinfo info;

	pthread_rwlock_wrlock(&st->map_lock);
	if (st->map_size != seen) { /* another thread has resized meanwhile */
		ret = 0;
		goto out;
	}
	if (!adopt) {
		/* a reader that a crashed process left pins old pages: free them first */
		if (mdb_reader_check(st->env, &dead) == 0 && dead > 0) {
			cf_warn("store: cleared %d stale reader(s)", dead);
			ret = 0; /* retry in the same map */
			goto out;
		}
		want = seen > st->map_size_max / 2 ? st->map_size_max : seen * 2;
		want -= want % st->page_size;
		if (want <= seen) {
			char why[96];

			snprintf(why, sizeof(why), "map full at its limit of %zu bytes (db_max_mb)",
				 seen);
			full_log("write", why);
			ret = CF_ESTOREFULL;
			goto out;
		}
	}
	if ((rc = mdb_env_set_mapsize(st->env, want)) != 0) {
		ret = map_err(NULL, rc, "resize");
		goto out;
	}
	mdb_env_info(st->env, &info);
	st->map_size = info.me_mapsize;
	cf_info("store: map resized from %zu to %zu bytes", seen, st->map_size);
	ret = 0;
out:
	pthread_rwlock_unlock(&st->map_lock);
	return ret;
}

/* Begin a top-level txn; on success map_lock is held shared and *seen is the map size. */
static int txn_begin(lstore *st, unsigned flags, ltxn *t, size_t *seen)
{
	int ret, rc;

	for (int i = 0; i < WRITE_ATTEMPTS; i++) {
		pthread_rwlock_rdlock(&st->map_lock);
		*seen = st->map_size;
		rc = mdb_txn_begin(st->env, NULL, flags, &t->txn);
		if (rc == 0)
			return 0;
		pthread_rwlock_unlock(&st->map_lock);
		if (rc != MDB_MAP_RESIZED)
			return map_err(NULL, rc, "begin");
		if ((ret = map_grow(st, *seen, 1)) != 0)
			return ret;
	}
	return CF_EIO;
}

/* ---- open, close, backup ---- */

static int make_dir(const char *dir)
{
	struct stat sb;

	if (mkdir(dir, 0700) == 0)
		return 0;
	if (errno == EEXIST && stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode))
		return 0;
	cf_error("store: cannot create %s: %s", dir, strerror(errno));
	return CF_EIO;
}

/* Open every DBI and check (or write) the schema version, in one write txn. */
static int open_dbis(lstore *st)
{
	int ret = CF_EINTERNAL, rc;
	MDB_txn *txn = NULL;
	MDB_val k = {6, "schema"}, v;
	uint8_t ver = STORE_SCHEMA_VERSION;

	if ((rc = mdb_txn_begin(st->env, NULL, 0, &txn)) != 0)
		return map_err(NULL, rc, "begin");
	for (int i = 0; i < DBI_COUNT; i++) {
		if ((rc = mdb_dbi_open(txn, store_dbi_names[i], MDB_CREATE, &st->dbi[i])) != 0) {
			ret = map_err(NULL, rc, store_dbi_names[i]);
			goto out;
		}
	}
	rc = mdb_get(txn, st->dbi[DBI_META], &k, &v);
	if (rc == 0 && (v.mv_size != 1 || *(uint8_t *)v.mv_data == 0 ||
			*(uint8_t *)v.mv_data > STORE_SCHEMA_VERSION)) {
		cf_error("store: unknown schema version (this build reads 1 to %d)",
			 STORE_SCHEMA_VERSION);
		ret = CF_EIO;
		goto out;
	}
	/* new, or an older schema to upgrade (see STORE_SCHEMA_VERSION) */
	if (rc == MDB_NOTFOUND || (rc == 0 && *(uint8_t *)v.mv_data != STORE_SCHEMA_VERSION)) {
		v.mv_size = 1;
		v.mv_data = &ver;
		rc = mdb_put(txn, st->dbi[DBI_META], &k, &v, 0);
	}
	if (rc) {
		ret = map_err(NULL, rc, "schema");
		goto out;
	}
	rc = mdb_txn_commit(txn);
	txn = NULL;
	ret = map_err(NULL, rc, "commit");
out:
	if (txn)
		mdb_txn_abort(txn);
	return ret;
}

static int env_open(lstore *st, const char *dir, const struct store_opts *opts)
{
	int ret = CF_EINTERNAL, rc, dead = 0;
	size_t size = opts && opts->map_size ? opts->map_size : DEFAULT_MAP_SIZE;
	MDB_envinfo info;

	size += st->page_size - 1;
	size -= size % st->page_size;
	if ((rc = mdb_env_create(&st->env)) != 0)
		return map_err(NULL, rc, "create");
	if ((rc = mdb_env_set_maxdbs(st->env, DBI_COUNT + 4)) != 0 ||
	    (rc = mdb_env_set_maxreaders(st->env, MAX_READERS)) != 0 ||
	    (rc = mdb_env_set_mapsize(st->env, size)) != 0 ||
	    (rc = mdb_env_open(st->env, dir, MDB_NOTLS, 0600)) != 0) {
		ret = map_err(NULL, rc, dir);
		goto out;
	}
	/* readers left by crashed processes pin old pages until cleared */
	if ((rc = mdb_reader_check(st->env, &dead)) != 0) {
		ret = map_err(NULL, rc, "reader check");
		goto out;
	}
	if (dead > 0)
		cf_warn("store: cleared %d stale reader(s) in %s", dead, dir);
	mdb_env_info(st->env, &info);
	st->map_size = info.me_mapsize;
	ret = open_dbis(st);
out:
	return ret;
}

static void lmdb_close(store *s);

int store_lmdb_open(const char *dir, const struct store_opts *opts, store **out)
{
	int ret = CF_EINTERNAL;
	pthread_rwlockattr_t attr;
	lstore *st = NULL;
	long pg = sysconf(_SC_PAGESIZE);

	if (!dir || !out)
		return CF_EINTERNAL;
	if ((ret = make_dir(dir)) != 0)
		return ret;
	if (!(st = calloc(1, sizeof(*st))))
		return CF_ENOMEM;
	st->base.be = &lmdb_backend;
	st->page_size = pg > 0 ? (size_t)pg : 4096;
	st->map_size_max = opts && opts->map_size_max ? opts->map_size_max : DEFAULT_MAP_SIZE_MAX;
	/* prefer the resizer, so that a stream of readers cannot starve it */
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	ret = pthread_rwlock_init(&st->map_lock, &attr) ? CF_ENOMEM : 0;
	pthread_rwlockattr_destroy(&attr);
	if (ret) {
		free(st);
		return ret;
	}
	if ((opts && opts->group_commit && (ret = store_group_new(&st->group)) != 0) ||
	    (ret = env_open(st, dir, opts)) != 0) {
		lmdb_close(&st->base);
		return ret;
	}
	*out = &st->base;
	return 0;
}

static void lmdb_close(store *s)
{
	lstore *st = S(s);

	if (st->env)
		mdb_env_close(st->env);
	store_group_free(st->group);
	pthread_rwlock_destroy(&st->map_lock);
	free(st);
}

static int dir_is_empty(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int empty = 1;

	if (!d)
		return 0;
	while (empty && (e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			empty = 0;
	closedir(d);
	return empty;
}

static int lmdb_size(store *s, uint64_t *bytes)
{
	lstore *st = S(s);
	MDB_envinfo info;
	MDB_stat stat;
	int rc;

	if ((rc = mdb_env_info(st->env, &info)) != 0 || (rc = mdb_env_stat(st->env, &stat)) != 0)
		return map_err(NULL, rc, "info");
	*bytes = (uint64_t)(info.me_last_pgno + 1) * stat.ms_psize;
	return 0;
}

static int lmdb_backup(store *s, const char *path)
{
	lstore *st = S(s);
	int ret = CF_EINTERNAL, rc, fd = -1, dfd = -1, made = 0;
	char file[4096];

	if (mkdir(path, 0700) == 0)
		made = 1;
	else if (errno != EEXIST || !dir_is_empty(path))
		return errno == EEXIST ? CF_ECONFLICT : CF_EIO;
	if ((size_t)snprintf(file, sizeof(file), "%s/data.mdb", path) >= sizeof(file))
		goto out;
	/* our own open: the copy is 0600 like the original */
	if ((fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
		ret = CF_EIO;
		goto out;
	}
	/* the copy runs in a read txn, which a resize must wait for */
	pthread_rwlock_rdlock(&st->map_lock);
	rc = mdb_env_copyfd2(st->env, fd, MDB_CP_COMPACT);
	pthread_rwlock_unlock(&st->map_lock);
	if ((ret = map_err(NULL, rc, "backup")) != 0)
		goto out;
	ret = CF_EIO;
	if (fsync(fd) != 0 || (dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    fsync(dfd) != 0)
		goto out;
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	if (ret && fd >= 0)
		unlink(file);
	if (ret && made)
		rmdir(path);
	if (ret)
		cf_error("store: backup to %s failed: %s", path, cf_strerror(ret));
	return ret;
}

/* ---- transactions ---- */

static int lmdb_read(store *s, int (*fn)(store_txn *txn, void *ctx), void *ctx)
{
	lstore *st = S(s);
	ltxn t = {.base.st = s};
	size_t seen;
	int ret;

	if ((ret = txn_begin(st, MDB_RDONLY, &t, &seen)) != 0)
		return ret;
	ret = fn(&t.base, ctx);
	mdb_txn_abort(t.txn);
	pthread_rwlock_unlock(&st->map_lock);
	return ret;
}

/* Run fn once in a write txn; *full tells whether the map was full (so fn is worth re-running
 * after growth). */
static int write_once(lstore *st, int (*fn)(store_txn *, void *), void *ctx, size_t *seen,
		      int *full)
{
	ltxn t = {.base.st = &st->base};
	int ret, rc;

	if ((ret = txn_begin(st, 0, &t, seen)) != 0)
		return ret;
	ret = fn(&t.base, ctx);
	if (t.map_full || ret) {
		mdb_txn_abort(t.txn);
		if (t.map_full)
			ret = CF_ESTOREFULL;
	} else {
		rc = mdb_txn_commit(t.txn);
		if (rc == MDB_MAP_FULL)
			t.map_full = 1;
		ret = commit_err(st, rc, "commit");
	}
	pthread_rwlock_unlock(&st->map_lock);
	*full = t.map_full;
	return ret;
}

int store_lmdb_write_one(store *s, int (*fn)(store_txn *txn, void *ctx), void *ctx)
{
	lstore *st = S(s);
	int ret = CF_EINTERNAL, full;
	size_t seen;

	for (int i = 0; i < WRITE_ATTEMPTS; i++) {
		full = 0;
		ret = write_once(st, fn, ctx, &seen, &full);
		if (!full)
			return ret;
		if ((ret = map_grow(st, seen, 0)) != 0)
			return ret;
	}
	return CF_ESTOREFULL;
}

/* One fn in a nested txn of parent; *full as in write_once. */
static int run_nested(lstore *st, MDB_txn *parent, struct store_req *r, int *full)
{
	ltxn t = {.base.st = &st->base};
	int ret, rc;

	if ((rc = mdb_txn_begin(st->env, parent, 0, &t.txn)) != 0) {
		ret = map_err(&t, rc, "begin nested");
		*full = t.map_full;
		return ret;
	}
	ret = store_req_run(r, &t.base);
	if (t.map_full || ret) {
		mdb_txn_abort(t.txn); /* only this fn's changes go */
		*full = t.map_full;
		return ret;
	}
	rc = mdb_txn_commit(t.txn); /* into the parent */
	*full = rc == MDB_MAP_FULL;
	return map_err(NULL, rc, "commit nested");
}

int store_lmdb_batch(store *s, struct store_req *const *reqs, size_t n)
{
	lstore *st = S(s);
	ltxn top = {.base.st = s};
	size_t seen;
	int ret, rc, full = 0;

	if ((ret = txn_begin(st, 0, &top, &seen)) != 0) {
		for (size_t i = 0; i < n; i++)
			reqs[i]->ret = ret;
		return 0;
	}
	for (size_t i = 0; i < n && !full; i++)
		reqs[i]->ret = run_nested(st, top.txn, reqs[i], &full);
	if (full) {
		mdb_txn_abort(top.txn);
		pthread_rwlock_unlock(&st->map_lock);
		return CF_ESTOREFULL;
	}
	rc = mdb_txn_commit(top.txn);
	pthread_rwlock_unlock(&st->map_lock);
	if (rc == MDB_MAP_FULL)
		return CF_ESTOREFULL;
	if ((ret = commit_err(st, rc, "commit")) != 0)
		for (size_t i = 0; i < n; i++)
			if (reqs[i]->ret == 0)
				reqs[i]->ret = ret;
	return 0;
}

static int lmdb_write(store *s, int (*fn)(store_txn *txn, void *ctx), void *ctx)
{
	lstore *st = S(s);

	if (st->group)
		return store_group_write(st->group, s, fn, ctx);
	return store_lmdb_write_one(s, fn, ctx);
}

/* ---- keys and values ---- */

static MDB_val mval(const struct kv *k)
{
	MDB_val v = {k->len, (void *)k->data};
	return v;
}

static int lmdb_get(store_txn *tx, int dbi, const struct kv *k, struct kv *v)
{
	ltxn *t = T(tx);
	MDB_val mk = mval(k), mv;
	int ret = map_err(t, mdb_get(t->txn, S(tx->st)->dbi[dbi], &mk, &mv), "get");

	if (ret == 0) {
		v->len = mv.mv_size;
		v->data = mv.mv_data;
	}
	return ret;
}

static int lmdb_put(store_txn *tx, int dbi, const struct kv *k, size_t vlen, unsigned flags,
		    kv_fill_fn fill, void *fill_ctx)
{
	ltxn *t = T(tx);
	MDB_val mk = mval(k), mv = {vlen, NULL};
	unsigned f = MDB_RESERVE | (flags & KV_NOOVERWRITE ? MDB_NOOVERWRITE : 0);
	int ret =
	    map_err(t, mdb_put(t->txn, S(tx->st)->dbi[dbi], &mk, &mv, f), store_dbi_names[dbi]);

	/* the value is written straight into the map */
	return ret ? ret : fill(mv.mv_data, vlen, fill_ctx);
}

static int lmdb_del(store_txn *tx, int dbi, const struct kv *k)
{
	ltxn *t = T(tx);
	MDB_val mk = mval(k);

	return map_err(t, mdb_del(t->txn, S(tx->st)->dbi[dbi], &mk, NULL), store_dbi_names[dbi]);
}

static int lmdb_walk(store_txn *tx, int dbi, const struct kv *start, size_t plen, kv_walk_fn cb,
		     void *ctx)
{
	ltxn *t = T(tx);
	MDB_cursor *cur = NULL;
	MDB_val k = mval(start), v;
	MDB_cursor_op op = start->len ? MDB_SET_RANGE : MDB_FIRST;
	struct kv kk, vv;
	int ret = 0, rc;

	if ((rc = mdb_cursor_open(t->txn, S(tx->st)->dbi[dbi], &cur)) != 0)
		return map_err(t, rc, "cursor");
	for (; (rc = mdb_cursor_get(cur, &k, &v, op)) == 0; op = MDB_NEXT) {
		if (plen && (k.mv_size < plen || memcmp(k.mv_data, start->data, plen) != 0))
			break;
		kk.len = k.mv_size;
		kk.data = k.mv_data;
		vv.len = v.mv_size;
		vv.data = v.mv_data;
		if ((ret = cb(tx, &kk, &vv, ctx)) != 0)
			break;
	}
	if (ret == 0 && rc != 0 && rc != MDB_NOTFOUND)
		ret = map_err(t, rc, "cursor");
	mdb_cursor_close(cur);
	return ret;
}

static int lmdb_count(store_txn *tx, int dbi, uint64_t *out)
{
	ltxn *t = T(tx);
	MDB_stat ms;
	int ret = map_err(t, mdb_stat(t->txn, S(tx->st)->dbi[dbi], &ms), "stat");

	if (ret == 0)
		*out = ms.ms_entries;
	return ret;
}

static const struct store_backend lmdb_backend = {
    .close = lmdb_close,
    .size = lmdb_size,
    .backup = lmdb_backup,
    .read = lmdb_read,
    .write = lmdb_write,
    .get = lmdb_get,
    .put = lmdb_put,
    .del = lmdb_del,
    .walk = lmdb_walk,
    .count = lmdb_count,
};
