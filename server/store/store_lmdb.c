/*
 * store_lmdb — store.h on LMDB; the only file of certflow that includes lmdb.h.
 *
 * One environment per process, opened with MDB_NOTLS so that any CivetWeb worker thread may run
 * a transaction. Every write is durable (no MDB_NOSYNC) before store_write returns. The map grows
 * on MDB_MAP_FULL; LMDB allows a resize only while no transaction of this process is open, so
 * every transaction holds map_lock shared and a resize holds it exclusive.
 *
 * Records are encoded by store_codec; each secondary index is a DBI whose entries are written in
 * the same transaction as the record. Never log a secret: keys are references, ids and serials.
 */
#include "store.h"
#include "store_codec.h"
#include "store_group.h"

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
/* 2: subjects, applications, challenges, outbox, audit and the credential-by-subject index. A
 * schema 1 database is upgraded on open: its new tables start empty and its records decode with
 * the new fields "" (no index entry needed). 3: the custody table (remote keys); a schema 2
 * database is upgraded alike, and a build that reads only 1..2 refuses a schema 3 one, so no
 * older server runs on remote keys it does not know. 4: holder logins, sessions and coupons
 * (new tables, upgraded alike) and the credential fields remote, update_by, update_note (older
 * values decode with them 0 / ""). Still 4 with operator names (issue 10: the accounts' name
 * field and the admin_name table): older records decode with the name "", an unnamed admin takes
 * its name at the next start, and an older build on a newer database stays correct (it skips the
 * field and never reads the table; it only shows no names). */
#define SCHEMA_VERSION 4
#define WRITE_ATTEMPTS 64 /* re-runs of one store_write after map growth */

enum {
	DBI_ENROLMENTS,
	DBI_ACCOUNTS,
	DBI_ACCOUNT_THUMB, /* thumbprint → account id (unique) */
	DBI_CREDENTIALS,
	DBI_CRED_BY_ACCOUNT, /* account_id NUL created serial-order id → "" */
	DBI_CERTS,
	DBI_CERTS_BY_CRED, /* credential_id NUL not_before serial → "" */
	DBI_CERTS_REVOKED, /* serial → "" while revoked or suspended */
	DBI_META,	   /* "schema", "counter/<name>" */
	DBI_SUBJECTS,
	DBI_SUBJECT_EMAIL,   /* lower-case e-mail → subject id (unique) */
	DBI_APPLICATIONS,    /* by id: ULIDs (core_random_id), so key order is creation order */
	DBI_APP_BY_SUBJECT,  /* subject_id NUL created id → "" */
	DBI_CRED_BY_SUBJECT, /* subject_id NUL created id → "" (credentials with a subject) */
	DBI_CHALLENGES,
	DBI_CHAL_BY_SUBJECT, /* subject_id NUL created id → "" */
	DBI_CHAL_BY_EXPIRY,  /* expires id → "" (purge) */
	DBI_MESSAGES,	     /* id (8 octets big-endian) → message */
	DBI_MSG_QUEUE,	     /* next_attempt id → "" while queued */
	DBI_AUDIT,	     /* seq (8 octets big-endian) → event */
	DBI_CUSTODY,	     /* credential id → custody record (remote keys) */
	DBI_LOGINS,	     /* user id → login */
	DBI_LOGIN_SUBJECT,   /* subject id → user id (unique) */
	DBI_SESSIONS,	     /* id (HMAC of the token) → session */
	DBI_SESS_BY_SUBJECT, /* subject_id NUL created id → "" */
	DBI_SESS_BY_EXPIRY,  /* expires id → "" (purge) */
	DBI_COUPONS,	     /* by id (ULIDs: creation order) */
	DBI_COUPON_MAC,	     /* hex of code_mac → coupon id (unique) */
	DBI_RATES,	     /* opaque key (HMAC) → window_end (8 BE) count (4 BE) */
	DBI_ADMIN_NAME,	     /* operator name → admin account id (unique) */
	DBI_COUNT
};

static const char *const dbi_names[DBI_COUNT] = {
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

struct store {
	MDB_env *env;
	MDB_dbi dbi[DBI_COUNT];
	pthread_rwlock_t map_lock; /* shared: an open txn of this process; exclusive: resize */
	size_t map_size;	   /* written only under map_lock exclusive */
	size_t map_size_max;
	size_t page_size;
	struct store_group *group; /* NULL: every store_write commits alone */
};

struct store_txn {
	store *st;
	MDB_txn *txn;
	/* an LMDB call hit MDB_MAP_FULL: the txn is dead and store_write re-runs fn */
	int map_full;
};

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

static int disk_nearly_full(store *st)
{
	struct statvfs vfs;
	mdb_filehandle_t fd;

	return mdb_env_get_fd(st->env, &fd) == 0 && fstatvfs(fd, &vfs) == 0 &&
	       (uint64_t)vfs.f_bavail * vfs.f_frsize < NEARLY_FULL;
}

static int map_err(store_txn *t, int rc, const char *what);

/* A commit's error. LMDB answers a short write, which is what a file system that fills up in the
 * middle of a page gives, with EIO: on a file system with (almost) no space left that is a full
 * disk (503 storageFull, retried later), not an I/O error. */
static int commit_err(store *st, int rc, const char *what)
{
	if (rc == EIO && disk_nearly_full(st)) {
		full_log(what, "short write on a full file system");
		return CF_ESTOREFULL;
	}
	return map_err(NULL, rc, what);
}

static int map_err(store_txn *t, int rc, const char *what)
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
static int map_grow(store *st, size_t seen, int adopt)
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
static int txn_begin(store *st, unsigned flags, store_txn *t, size_t *seen)
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
static int open_dbis(store *st)
{
	int ret = CF_EINTERNAL, rc;
	MDB_txn *txn = NULL;
	MDB_val k = {6, "schema"}, v;
	uint8_t ver = SCHEMA_VERSION;

	if ((rc = mdb_txn_begin(st->env, NULL, 0, &txn)) != 0)
		return map_err(NULL, rc, "begin");
	for (int i = 0; i < DBI_COUNT; i++) {
		if ((rc = mdb_dbi_open(txn, dbi_names[i], MDB_CREATE, &st->dbi[i])) != 0) {
			ret = map_err(NULL, rc, dbi_names[i]);
			goto out;
		}
	}
	rc = mdb_get(txn, st->dbi[DBI_META], &k, &v);
	if (rc == 0 && (v.mv_size != 1 || *(uint8_t *)v.mv_data == 0 ||
			*(uint8_t *)v.mv_data > SCHEMA_VERSION)) {
		cf_error("store: unknown schema version (this build reads 1 to %d)",
			 SCHEMA_VERSION);
		ret = CF_EIO;
		goto out;
	}
	/* new, or an older schema to upgrade (see SCHEMA_VERSION) */
	if (rc == MDB_NOTFOUND || (rc == 0 && *(uint8_t *)v.mv_data != SCHEMA_VERSION)) {
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

static int env_open(store *st, const char *dir, const struct store_opts *opts)
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

int store_open(const char *dir, const struct store_opts *opts, store **out)
{
	int ret = CF_EINTERNAL;
	pthread_rwlockattr_t attr;
	store *st = NULL;
	long pg = sysconf(_SC_PAGESIZE);

	if (!dir || !out)
		return CF_EINTERNAL;
	if ((ret = make_dir(dir)) != 0)
		return ret;
	if (!(st = calloc(1, sizeof(*st))))
		return CF_ENOMEM;
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
		store_close(st);
		return ret;
	}
	*out = st;
	return 0;
}

void store_close(store *st)
{
	if (!st)
		return;
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

int store_size(store *st, uint64_t *bytes)
{
	MDB_envinfo info;
	MDB_stat stat;
	int rc;

	if (!st)
		return CF_EINTERNAL;
	if ((rc = mdb_env_info(st->env, &info)) != 0 || (rc = mdb_env_stat(st->env, &stat)) != 0)
		return map_err(NULL, rc, "info");
	*bytes = (uint64_t)(info.me_last_pgno + 1) * stat.ms_psize;
	return 0;
}

int store_backup(store *st, const char *path)
{
	int ret = CF_EINTERNAL, rc, fd = -1, dfd = -1, made = 0;
	char file[4096];

	if (!st || !path)
		return CF_EINTERNAL;
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

int store_read(store *st, int (*fn)(store_txn *txn, void *ctx), void *ctx)
{
	store_txn t = {.st = st};
	size_t seen;
	int ret;

	if (!st || !fn)
		return CF_EINTERNAL;
	if ((ret = txn_begin(st, MDB_RDONLY, &t, &seen)) != 0)
		return ret;
	ret = fn(&t, ctx);
	mdb_txn_abort(t.txn);
	pthread_rwlock_unlock(&st->map_lock);
	return ret;
}

/* Run fn once in a write txn; *full tells whether the map was full (so fn is worth re-running
 * after growth). */
static int write_once(store *st, int (*fn)(store_txn *, void *), void *ctx, size_t *seen, int *full)
{
	store_txn t = {.st = st};
	int ret, rc;

	if ((ret = txn_begin(st, 0, &t, seen)) != 0)
		return ret;
	ret = fn(&t, ctx);
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

int store_lmdb_write_one(store *st, int (*fn)(store_txn *txn, void *ctx), void *ctx)
{
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
static int run_nested(store *st, MDB_txn *parent, struct store_req *r, int *full)
{
	store_txn t = {.st = st};
	int ret, rc;

	if ((rc = mdb_txn_begin(st->env, parent, 0, &t.txn)) != 0) {
		ret = map_err(&t, rc, "begin nested");
		*full = t.map_full;
		return ret;
	}
	ret = r->fn(&t, r->ctx);
	if (t.map_full || ret) {
		mdb_txn_abort(t.txn); /* only this fn's changes go */
		*full = t.map_full;
		return ret;
	}
	rc = mdb_txn_commit(t.txn); /* into the parent */
	*full = rc == MDB_MAP_FULL;
	return map_err(NULL, rc, "commit nested");
}

int store_lmdb_batch(store *st, struct store_req *const *reqs, size_t n)
{
	store_txn top = {.st = st};
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

int store_write(store *st, int (*fn)(store_txn *txn, void *ctx), void *ctx)
{
	if (!st || !fn)
		return CF_EINTERNAL;
	if (st->group)
		return store_group_write(st->group, st, fn, ctx);
	return store_lmdb_write_one(st, fn, ctx);
}

/* ---- keys and values ---- */

static int key_ok(const char *s, size_t cap)
{
	return s && s[0] && strnlen(s, cap) < cap;
}

static MDB_val str_val(const char *s)
{
	MDB_val v = {strlen(s), (void *)s};
	return v;
}

static int db_put(store_txn *t, int dbi, MDB_val *k, MDB_val *v, unsigned flags)
{
	return map_err(t, mdb_put(t->txn, t->st->dbi[dbi], k, v, flags), dbi_names[dbi]);
}

/* Delete; absent is fine. */
static int db_del(store_txn *t, int dbi, MDB_val *k)
{
	int rc = mdb_del(t->txn, t->st->dbi[dbi], k, NULL);
	return rc == MDB_NOTFOUND ? 0 : map_err(t, rc, dbi_names[dbi]);
}

static const MDB_val empty_val = {0, ""};

static int idx_put(store_txn *t, int dbi, const struct codec_ikey *ik)
{
	MDB_val k = {ik->len, (void *)ik->b}, v = empty_val;
	return db_put(t, dbi, &k, &v, 0);
}

static int idx_del(store_txn *t, int dbi, const struct codec_ikey *ik)
{
	MDB_val k = {ik->len, (void *)ik->b};
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
	MDB_val k = str_val(key), v, idv = str_val(id);
	int ret;

	if (key[0]) {
		ret = map_err(t, mdb_get(t->txn, t->st->dbi[dbi], &k, &v), "get");
		if (ret == 0 &&
		    (v.mv_size != idv.mv_size || memcmp(v.mv_data, idv.mv_data, idv.mv_size) != 0))
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
static const char *key_text(const MDB_val *k, char out[64])
{
	const uint8_t *b = k->mv_data;
	size_t n = k->mv_size < 63 ? k->mv_size : 63, i;

	for (i = 0; i < n && b[i] >= 0x20 && b[i] < 0x7f; i++)
		out[i] = (char)b[i];
	out[i] = '\0';
	if (i < n)
		for (i = 0; i < n && i < 31; i++)
			snprintf(out + 2 * i, 3, "%02x", b[i]);
	return out;
}

/* Decode value v of the record stored under key k into rec (overwritten also on failure). */
static int rec_decode(const struct codec_desc *d, int dbi, const MDB_val *k, const MDB_val *v,
		      void *rec)
{
	uint8_t kb[8];
	size_t klen;
	const void *key;
	char text[64];

	if (codec_decode(d, v->mv_data, v->mv_size, rec) == 0) {
		key = codec_key(d, rec, kb, &klen);
		if (klen == k->mv_size && memcmp(key, k->mv_data, klen) == 0)
			return 0;
	}
	cf_error("store: corrupt record in %s (key %s)", dbi_names[dbi], key_text(k, text));
	return CF_EINTERNAL;
}

/* Get by raw key into rec (overwritten also on failure). */
static int rec_load(store_txn *t, int dbi, const struct codec_desc *d, const MDB_val *k, void *rec)
{
	MDB_val v, kk = *k;
	int ret;

	if ((ret = map_err(t, mdb_get(t->txn, t->st->dbi[dbi], &kk, &v), "get")) != 0)
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
static int rec_get_raw(store_txn *t, int dbi, const struct codec_desc *d, const MDB_val *k,
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
	MDB_val k;

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
	MDB_val k = {8, b};

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
	MDB_val k, v;
	int ret;

	if (!t || !out)
		return CF_EINTERNAL;
	if (!key_ok(key, cap))
		return CF_ENOTFOUND;
	k = str_val(key);
	if ((ret = map_err(t, mdb_get(t->txn, t->st->dbi[idx], &k, &v), "get")) != 0)
		return ret;
	ret = rec_get_raw(t, dbi, d, &v, out);
	return ret == CF_ENOTFOUND ? CF_EINTERNAL : ret; /* a dangling index entry */
}

/* Encode rec straight into the map (MDB_RESERVE). rec has passed codec_size. */
static int rec_put(store_txn *t, int dbi, const struct codec_desc *d, const void *rec, size_t size,
		   unsigned flags)
{
	uint8_t kb[8];
	MDB_val k, v = {size, NULL};
	int ret;

	k.mv_data = (void *)codec_key(d, rec, kb, &k.mv_size);
	if ((ret = db_put(t, dbi, &k, &v, flags | MDB_RESERVE)) != 0)
		return ret;
	return codec_encode(d, rec, v.mv_data, size);
}

/* The next number of counter that no record of dbi holds yet (a record may have been put with an
 * explicit number, e.g. when a store_write fn was re-run). */
static int next_free(store_txn *t, const char *counter, int dbi, uint64_t *out)
{
	uint8_t b[8];
	MDB_val k = {8, b}, v;
	uint64_t id;
	int ret;

	for (;;) {
		if ((ret = store_counter_next(t, counter, &id)) != 0)
			return ret;
		codec_u64_be(id, b);
		ret = map_err(t, mdb_get(t->txn, t->st->dbi[dbi], &k, &v), "get");
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
static int walk(store_txn *t, int dbi, const void *start, size_t slen, size_t plen, size_t skip,
		const struct visit *vi)
{
	int ret = CF_EINTERNAL, rc;
	MDB_cursor *cur = NULL;
	MDB_val k = {slen, (void *)start}, v, rk;
	MDB_cursor_op op = slen ? MDB_SET_RANGE : MDB_FIRST;
	void *tmp;

	if (!t)
		return CF_EINTERNAL;
	if (!(tmp = rec_tmp(vi->d)))
		return CF_ENOMEM;
	if ((rc = mdb_cursor_open(t->txn, t->st->dbi[dbi], &cur)) != 0) {
		rec_tmp_free(vi->d, tmp);
		return map_err(t, rc, "cursor");
	}
	for (; (rc = mdb_cursor_get(cur, &k, &v, op)) == 0; op = MDB_NEXT) {
		if (plen && (k.mv_size < plen || memcmp(k.mv_data, start, plen) != 0))
			break;
		if (dbi == vi->dbi) {
			ret = rec_decode(vi->d, dbi, &k, &v, tmp);
		} else if (k.mv_size <= skip) {
			cf_error("store: corrupt key in %s", dbi_names[dbi]);
			ret = CF_EINTERNAL;
		} else {
			rk.mv_size = k.mv_size - skip;
			rk.mv_data = (uint8_t *)k.mv_data + skip;
			ret = rec_load(t, vi->dbi, vi->d, &rk, tmp);
			if (ret == CF_ENOTFOUND) {
				cf_error("store: %s names a missing record", dbi_names[dbi]);
				ret = CF_EINTERNAL;
			}
		}
		if (ret || (ret = visit_call(vi, tmp)) != 0)
			goto out;
	}
	ret = rc == MDB_NOTFOUND || rc == 0 ? 0 : map_err(t, rc, "cursor");
out:
	mdb_cursor_close(cur);
	rec_tmp_free(vi->d, tmp);
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

int store_admin_list_after(store_txn *txn, const char *after,
			   int (*cb)(const struct store_account *a, void *ctx), void *ctx)
{
	char start[STORE_OPERATOR_NAME_LEN + 1];
	struct store_account *a;
	MDB_cursor *cur = NULL;
	MDB_val k = {0, start}, v;
	MDB_cursor_op op = MDB_FIRST;
	int ret = 0, rc;

	if (!txn || !cb)
		return CF_EINTERNAL;
	if (after && after[0]) {
		/* the first key above "after" is "after" NUL */
		if ((k.mv_size = strlen(after) + 1) > sizeof(start))
			return CF_EMALFORMED;
		memcpy(start, after, k.mv_size);
		op = MDB_SET_RANGE;
	}
	if (!(a = malloc(sizeof(*a))))
		return CF_ENOMEM;
	if ((rc = mdb_cursor_open(txn->txn, txn->st->dbi[DBI_ADMIN_NAME], &cur)) != 0) {
		free(a);
		return map_err(txn, rc, "cursor");
	}
	for (; ret == 0 && (rc = mdb_cursor_get(cur, &k, &v, op)) == 0; op = MDB_NEXT) {
		ret = rec_get_raw(txn, DBI_ACCOUNTS, &codec_account, &v, a);
		if (ret == CF_ENOTFOUND) {
			cf_error("store: %s names a missing record", dbi_names[DBI_ADMIN_NAME]);
			ret = CF_EINTERNAL;
		}
		if (ret == 0)
			ret = cb(a, ctx);
	}
	if (ret == 0 && rc != MDB_NOTFOUND && rc != 0)
		ret = map_err(txn, rc, "cursor");
	mdb_cursor_close(cur);
	free(a);
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
	MDB_val k;
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
		MDB_val v = empty_val;
		ret = db_put(txn, DBI_CERTS_REVOKED, &k, &v, 0);
	} else if (had && cert_is_revoked(old)) {
		ret = db_del(txn, DBI_CERTS_REVOKED, &k);
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

int store_counter_next(store_txn *txn, const char *name, uint64_t *out)
{
	char key[80];
	uint8_t b[8];
	uint64_t cur = 0;
	MDB_val k, v;
	int ret, n;

	if (!txn || !out || !key_ok(name, 64))
		return CF_EINTERNAL;
	n = snprintf(key, sizeof(key), "counter/%s", name);
	k.mv_size = (size_t)n;
	k.mv_data = key;
	ret = map_err(txn, mdb_get(txn->txn, txn->st->dbi[DBI_META], &k, &v), "get");
	if (ret == 0) {
		if (v.mv_size != 8)
			return CF_EINTERNAL;
		cur = codec_be_u64(v.mv_data);
	} else if (ret != CF_ENOTFOUND) {
		return ret;
	}
	if (cur == UINT64_MAX)
		return CF_EINTERNAL;
	cur++;
	codec_u64_be(cur, b);
	v.mv_size = 8;
	v.mv_data = b;
	if ((ret = db_put(txn, DBI_META, &k, &v, 0)) != 0)
		return ret;
	*out = cur;
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
	MDB_val k = {ek->len - 8, (void *)(ek->b + 8)};
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

/* Remove, oldest first, every record whose entry in the expiry index dbi ("expires id") is
 * before `before`, with remove(entry); each removal costs one index seek. */
static int purge_expired(store_txn *t, int dbi, int64_t before,
			 int (*remove)(store_txn *t, const struct codec_ikey *ek))
{
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	struct codec_ikey ek;
	int ret = 0, rc;

	if (!t)
		return CF_EINTERNAL;
	if ((rc = mdb_cursor_open(t->txn, t->st->dbi[dbi], &cur)) != 0)
		return map_err(t, rc, "cursor");
	/* the oldest expiry first; each removal makes the next one the first */
	while (ret == 0 && (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST)) == 0) {
		if (k.mv_size <= 8 || k.mv_size > sizeof(ek.b)) {
			cf_error("store: corrupt key in %s", dbi_names[dbi]);
			ret = CF_EINTERNAL;
			break;
		}
		if (codec_ikey_order(k.mv_data) >= before)
			break;
		memcpy(ek.b, k.mv_data, k.mv_size); /* the page may move under the deletes */
		ek.len = k.mv_size;
		ret = remove(t, &ek);
	}
	if (ret == 0 && rc != 0 && rc != MDB_NOTFOUND)
		ret = map_err(t, rc, "cursor");
	mdb_cursor_close(cur);
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
		ret = rec_put(txn, DBI_AUDIT, &codec_audit, ev, n, MDB_NOOVERWRITE);
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
	MDB_val k;

	if (!txn)
		return CF_EINTERNAL;
	if (!key_ok(credential_id, STORE_ID_LEN))
		return CF_ENOTFOUND;
	k = str_val(credential_id);
	return map_err(txn, mdb_del(txn->txn, txn->st->dbi[DBI_CUSTODY], &k, NULL), "custody");
}

int store_custody_count(store_txn *txn, uint64_t *out)
{
	MDB_stat ms;
	int ret;

	if (!txn || !out)
		return CF_EINTERNAL;
	if ((ret = map_err(txn, mdb_stat(txn->txn, txn->st->dbi[DBI_CUSTODY], &ms), "stat")) != 0)
		return ret;
	*out = ms.ms_entries;
	return 0;
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
static int session_remove_key(store_txn *t, const MDB_val *k)
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
		ret = db_del(t, DBI_SESSIONS, (MDB_val *)k);
out:
	rec_tmp_free(&codec_session, s);
	return ret;
}

int store_session_delete(store_txn *txn, const char *id)
{
	MDB_val k;

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
	MDB_val k = {ek->len - 8, (void *)(ek->b + 8)};
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
	MDB_val k, v;
	int ret;

	if (!txn || !key || !out || key_len == 0 || key_len > STORE_RATE_KEY_MAX)
		return CF_EINTERNAL;
	k.mv_size = key_len;
	k.mv_data = (void *)key;
	ret = map_err(txn, mdb_get(txn->txn, txn->st->dbi[DBI_RATES], &k, &v), "get");
	if (ret != 0)
		return ret;
	if (v.mv_size != 12)
		return CF_EINTERNAL;
	out->window_end = (int64_t)codec_be_u64(v.mv_data);
	out->count = (uint32_t)(codec_be_u64((const uint8_t *)v.mv_data + 4) & 0xffffffffu);
	return 0;
}

int store_rate_put(store_txn *txn, const uint8_t *key, size_t key_len, const struct store_rate *r)
{
	uint8_t b[16];
	MDB_val k, v;

	if (!txn || !key || !r || key_len == 0 || key_len > STORE_RATE_KEY_MAX)
		return CF_EINTERNAL;
	/* window_end then count, each big-endian: the count's 8-octet write is cut to 4 */
	codec_u64_be((uint64_t)r->count, b + 4);
	codec_u64_be((uint64_t)r->window_end, b);
	k.mv_size = key_len;
	k.mv_data = (void *)key;
	v.mv_size = 12;
	v.mv_data = b;
	return db_put(txn, DBI_RATES, &k, &v, 0);
}

int store_rate_purge(store_txn *txn, int64_t before)
{
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	int ret = 0, rc;

	if (!txn)
		return CF_EINTERNAL;
	if ((rc = mdb_cursor_open(txn->txn, txn->st->dbi[DBI_RATES], &cur)) != 0)
		return map_err(txn, rc, "cursor");
	/* one pass over every counter: there are as many as names asked about in a window */
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (v.mv_size == 12 && (int64_t)codec_be_u64(v.mv_data) >= before)
			continue;
		if ((rc = mdb_cursor_del(cur, 0)) != 0)
			break;
	}
	if (rc != 0 && rc != MDB_NOTFOUND)
		ret = map_err(txn, rc, "purge");
	mdb_cursor_close(cur);
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
	MDB_val k = {8, b};
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
