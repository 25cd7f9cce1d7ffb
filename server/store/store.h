/*
 * store — every certflow record, in domain terms. store_lmdb.c is the only file that includes
 * lmdb.h; a PostgreSQL backend would be a second file behind this header.
 *
 * Every state change is one write transaction: store_write runs fn inside a transaction and
 * commits it durably (fsync) before returning 0, or aborts it and returns fn's error. fn may be
 * run more than once (after the map is grown on MDB_MAP_FULL), so it must not have side effects
 * outside the transaction other than filling its ctx, and must set every ctx field it fills on
 * each run. If the map cannot grow, store_write returns CF_ESTOREFULL and nothing was written.
 * fn (and a store_read fn) must be short, must not block, and must not call store_read,
 * store_write or store_backup (that deadlocks). With group_commit, fn may run on another
 * caller's thread, in a nested transaction that shares one commit with other callers' fns.
 * A txn handle is valid only inside its fn; records passed to list callbacks only inside the
 * callback.
 *
 * Records are self-describing, versioned values; secondary indexes are kept in the same
 * transaction as their record. Getters copy into the caller's struct (out written on success
 * only); CF_ENOTFOUND if absent.
 */
#ifndef STORE_H
#define STORE_H

#include <stddef.h>
#include <stdint.h>

typedef struct store store;
typedef struct store_txn store_txn;

struct store_opts {
	size_t map_size;     /* initial map size in bytes (default 64 MiB when 0) */
	size_t map_size_max; /* growth limit (default 16 GiB when 0) */
	int group_commit;    /* 1: concurrent store_write calls share one commit (see above) */
};

#define STORE_ID_LEN 32     /* ids: 26 Crockford base32 characters + NUL fit */
#define STORE_REF_LEN 16    /* reference numbers: 12 digits */
#define STORE_SERIAL_LEN 48 /* lower-case hex, ≤ 20 octets */
#define STORE_NAME_LEN 128
#define STORE_JWK_LEN 1536
#define STORE_DER_MAX 8192

enum store_enrolment_state {
	ENROL_LIVE = 1,
	ENROL_USED,
	ENROL_LOCKED,
	ENROL_CANCELLED,
	/* "expired" is derived from expires_at and never stored */
};

struct store_enrolment {
	char reference[STORE_REF_LEN];
	uint8_t code_mac[32]; /* HMAC-SHA-256 of the normalised activation code */
	char subject[STORE_NAME_LEN];
	char profile[32];
	char email[STORE_NAME_LEN];        /* optional, "" if none */
	char dns_names[4][STORE_NAME_LEN]; /* optional SAN dNSNames, "" terminates */
	int state;
	int failures;
	int64_t created_at, expires_at;
	char credential_id[STORE_ID_LEN]; /* set when used */
};

enum store_account_status { ACCOUNT_VALID = 1, ACCOUNT_DEACTIVATED };
enum store_account_role { ROLE_HOLDER = 1, ROLE_ADMIN };

struct store_account {
	char id[64];          /* RFC 7638 thumbprint of the account's first key */
	char thumbprint[64];  /* thumbprint of the current key (indexed, unique) */
	char jwk[STORE_JWK_LEN]; /* current public key, JWK JSON text */
	int status;
	int role;
	int64_t created_at;
};

enum store_credential_status { CRED_ACTIVE = 1, CRED_SUSPENDED, CRED_REVOKED };

struct store_credential {
	char id[STORE_ID_LEN];
	char account_id[64];
	char subject[STORE_NAME_LEN];
	char profile[32];
	char reference[STORE_REF_LEN]; /* the enrolment it came from */
	int status;
	char current_serial[STORE_SERIAL_LEN];
	int64_t created_at;
};

enum store_cert_status { CERT_VALID = 1, CERT_REVOKED, CERT_SUSPENDED };

struct store_cert {
	char serial[STORE_SERIAL_LEN];
	char credential_id[STORE_ID_LEN];
	int status;
	int reason; /* RFC 5280 CRLReason when revoked (6 when suspended), else -1 */
	int64_t not_before, not_after, revoked_at;
	uint8_t der[STORE_DER_MAX];
	size_t der_len;
};

/* Open (creating dir 0700 and its files 0600 if needed) and clear stale readers. One store per
 * directory per process; do not use it in a forked child. CF_EIO if the files cannot be opened
 * (or were written by a newer schema). */
int store_open(const char *dir, const struct store_opts *opts, store **out);
void store_close(store *st);

/* Run fn in a read-only / read-write transaction (see the top of this file). */
int store_read(store *st, int (*fn)(store_txn *txn, void *ctx), void *ctx);
int store_write(store *st, int (*fn)(store_txn *txn, void *ctx), void *ctx);

/* Hot backup with compaction (mdb_env_copy2 + MDB_CP_COMPACT) into the new directory path
 * (created 0700; must not exist or be empty, else CF_ECONFLICT); the copy is fsynced and opens
 * with store_open. Runs while readers and writers go on; a map resize waits for it. */
int store_backup(store *st, const char *path);

/* Records. put = insert or replace (indexes updated). List callbacks stop the walk when they
 * return non-zero, which the list function then returns. */
int store_enrolment_get(store_txn *txn, const char *reference, struct store_enrolment *out);
int store_enrolment_put(store_txn *txn, const struct store_enrolment *e);
int store_enrolment_list(store_txn *txn, int (*cb)(const struct store_enrolment *e, void *ctx),
			 void *ctx);

int store_account_get(store_txn *txn, const char *id, struct store_account *out);
int store_account_by_thumbprint(store_txn *txn, const char *thumbprint, struct store_account *out);
/* CF_ECONFLICT if a different account already holds the thumbprint. */
int store_account_put(store_txn *txn, const struct store_account *a);

int store_credential_get(store_txn *txn, const char *id, struct store_credential *out);
int store_credential_put(store_txn *txn, const struct store_credential *c);
int store_credential_list(store_txn *txn, int (*cb)(const struct store_credential *c, void *ctx),
			  void *ctx);
/* Credentials of one account, in creation order. */
int store_credential_list_by_account(store_txn *txn, const char *account_id,
				     int (*cb)(const struct store_credential *c, void *ctx),
				     void *ctx);

int store_cert_get(store_txn *txn, const char *serial, struct store_cert *out);
/* CF_ECONFLICT if insert_only and the serial exists. */
int store_cert_put(store_txn *txn, const struct store_cert *c, int insert_only);
/* Certificates of one credential, oldest first. */
int store_cert_list_by_credential(store_txn *txn, const char *credential_id,
				  int (*cb)(const struct store_cert *c, void *ctx), void *ctx);
/* Every certificate whose status is CERT_REVOKED or CERT_SUSPENDED (for the CRL). */
int store_cert_list_revoked(store_txn *txn, int (*cb)(const struct store_cert *c, void *ctx),
			    void *ctx);

/* A 64-bit counter in the meta table (e.g. "crl_number"): *out = old + 1, stored. */
int store_counter_next(store_txn *txn, const char *name, uint64_t *out);

#endif
