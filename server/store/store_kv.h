/*
 * store_kv — the ordered key-value layer under the store's records (internal to server/store/).
 *
 * store_rec.c writes every record of store.h as values (store_codec) and index entries under keys
 * of a few numbered tables ("DBIs"); a backend gives it transactions and get / put / del /
 * ordered walks over one table. store_lmdb.c (LMDB, one DBI per table) and store_pg.c
 * (PostgreSQL, one table kv(dbi, k, v)) are the two backends, each the only file that includes
 * its library. Keys compare as octet strings (memcmp, the shorter first on a common prefix) in
 * both. A backend error is a CF_E* code, already logged by the backend; never log a value.
 */
#ifndef STORE_KV_H
#define STORE_KV_H

#include "store.h"

#include <stddef.h>
#include <stdint.h>

/* The record schema: 2 subjects, applications, challenges, outbox, audit and the
 * credential-by-subject index. A schema 1 database is upgraded on open: its new tables start
 * empty and its records decode with the new fields "" (no index entry needed). 3: the custody
 * table (remote keys); a schema 2 database is upgraded alike, and a build that reads only 1..2
 * refuses a schema 3 one, so no older server runs on remote keys it does not know. 4: holder
 * logins, sessions and coupons (new tables, upgraded alike) and the credential fields remote,
 * update_by, update_note (older values decode with them 0 / ""). Still 4 with operator names
 * (issue 10: the accounts' name field and the admin_name table): older records decode with the
 * name "", an unnamed admin takes its name at the next start, and an older build on a newer
 * database stays correct (it skips the field and never reads the table; it only shows no names).
 * A PostgreSQL database starts at 4. */
#define STORE_SCHEMA_VERSION 4

enum {
	DBI_ENROLMENTS,
	DBI_ACCOUNTS,
	DBI_ACCOUNT_THUMB, /* thumbprint → account id (unique) */
	DBI_CREDENTIALS,
	DBI_CRED_BY_ACCOUNT, /* account_id NUL created serial-order id → "" */
	DBI_CERTS,
	DBI_CERTS_BY_CRED, /* credential_id NUL not_before serial → "" */
	DBI_CERTS_REVOKED, /* serial → "" while revoked or suspended */
	DBI_META,	   /* "schema" (LMDB only), "counter/<name>", "job/<name>" */
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

/* The tables' names (LMDB's named DBIs, log lines). The numbers above are stored by the
 * PostgreSQL backend: never renumber, only append. */
extern const char *const store_dbi_names[DBI_COUNT];

/* An octet string: a key or a value. */
struct kv {
	size_t len;
	const void *data;
};

#define KV_NOOVERWRITE 1 /* put: CF_ECONFLICT (nothing written) if the key exists */

/* Writes the len octets of a value into buf (a put's fill). */
typedef int (*kv_fill_fn)(void *buf, size_t len, void *ctx);
/* One entry of a walk; valid only during the call. 0 goes on, anything else stops the walk and
 * is what the walk returns. */
typedef int (*kv_walk_fn)(store_txn *t, const struct kv *k, const struct kv *v, void *ctx);

struct store_backend {
	void (*close)(store *st);
	int (*size)(store *st, uint64_t *bytes);
	int (*backup)(store *st, const char *path);
	int (*read)(store *st, int (*fn)(store_txn *txn, void *ctx), void *ctx);
	int (*write)(store *st, int (*fn)(store_txn *txn, void *ctx), void *ctx);
	/* The value under k (CF_ENOTFOUND if none). v->data stays valid until the second next get
	 * on t (k may point into the value of the get before) or a put or del on t. */
	int (*get)(store_txn *t, int dbi, const struct kv *k, struct kv *v);
	/* Insert or replace k with a value of vlen octets written by fill (flags: KV_NOOVERWRITE).
	 */
	int (*put)(store_txn *t, int dbi, const struct kv *k, size_t vlen, unsigned flags,
		   kv_fill_fn fill, void *fill_ctx);
	/* Remove k; CF_ENOTFOUND if absent. */
	int (*del)(store_txn *t, int dbi, const struct kv *k);
	/* Visit, in key order, the entries from the first key ≥ start (every entry when start->len
	 * is 0) while a key begins with the first plen octets of start. cb may get, put and delete,
	 * but entries of dbi that it puts or deletes may or may not be visited. */
	int (*walk)(store_txn *t, int dbi, const struct kv *start, size_t plen, kv_walk_fn cb,
		    void *ctx);
	/* Number of entries of dbi. */
	int (*count)(store_txn *t, int dbi, uint64_t *out);
	/* 1: several processes may use the database at once (store_shared) */
	int shared;
	/* store_nonce_use; NULL on a backend that only one process serves (store_shared 0). */
	int (*nonce_use)(store *st, const uint8_t *id, size_t len, int64_t until);
};

/* The first member of each backend's store and txn. */
struct store {
	const struct store_backend *be;
};
struct store_txn {
	store *st;
};

/* The backends' store_open. */
int store_lmdb_open(const char *dir, const struct store_opts *opts, store **out);
int store_pg_open(const char *conninfo, const struct store_opts *opts, store **out);

#endif
