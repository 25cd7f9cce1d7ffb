/*
 * store — every certflow record, in domain terms. store_rec.c writes the records over an ordered
 * key-value layer (store_kv.h) with two backends: LMDB (store_lmdb.c, the only file that includes
 * lmdb.h; the default) and PostgreSQL (store_pg.c, the only file that includes libpq-fe.h).
 *
 * Every state change is one write transaction: store_write runs fn inside a transaction and
 * commits it durably (fsync) before returning 0, or aborts it and returns fn's error. fn may be
 * run more than once (after the map is grown on MDB_MAP_FULL), so it must not have side effects
 * outside the transaction other than filling its ctx, and must set every ctx field it fills on
 * each run. If the map cannot grow, store_write returns CF_ESTOREFULL and nothing was written.
 * On PostgreSQL fn runs in a SERIALIZABLE transaction and is run again (a bounded number of
 * times) when the database reports a serialisation failure or a deadlock; CF_EUNAVAILABLE if
 * it still fails, or if the database cannot be reached.
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
	/* PostgreSQL instead of LMDB: a libpq connection string (the store's tables are made in
	 * the first schema of its search_path); NULL or "": LMDB in dir. map_size, map_size_max
	 * and group_commit are LMDB's only. */
	const char *conninfo;
	int pool_size; /* PostgreSQL connections, at most this many transactions at once (8 if 0) */
};

#define STORE_ID_LEN 32	    /* ids: 26 Crockford base32 characters + NUL fit */
#define STORE_REF_LEN 16    /* reference numbers: 12 digits */
#define STORE_SERIAL_LEN 48 /* lower-case hex, ≤ 20 octets */
#define STORE_NAME_LEN 128
#define STORE_JWK_LEN 1536
#define STORE_DER_MAX 8192
#define STORE_WRAPPED_MAX_ENROL 128 /* = STORE_WRAPPED_MAX (below): a sealed 32-octet key */

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
	char email[STORE_NAME_LEN];	   /* optional, "" if none */
	char dns_names[4][STORE_NAME_LEN]; /* optional SAN dNSNames, "" terminates */
	int state;
	int failures;
	int64_t created_at, expires_at;
	char credential_id[STORE_ID_LEN];  /* set when used */
	char application_id[STORE_ID_LEN]; /* "" for operator-made codes (enrolment-create) */
	char replaces[STORE_ID_LEN]; /* recovery: credential superseded on activation, or "" */
	uint32_t envelope_number;    /* number of the envelope that carried the code, 0 if none */
	/* issue 12, ACME external account binding (spec/acme.md): the HMAC key, sealed under the
	 * server's wrap key (aad "eab:<reference>"); length 0 = not an ACME enrolment */
	uint8_t eab_key[STORE_WRAPPED_MAX_ENROL];
	size_t eab_key_len;
	int acme_validate; /* ACME orders must also prove each name: 1 http-01, 2 dns-01, 3 either
			    */
};

enum store_account_status { ACCOUNT_VALID = 1, ACCOUNT_DEACTIVATED };
enum store_account_role { ROLE_HOLDER = 1, ROLE_ADMIN };

#define STORE_OPERATOR_NAME_LEN 65

struct store_account {
	char id[64];	     /* RFC 7638 thumbprint of the account's first key */
	char thumbprint[64]; /* thumbprint of the current key (indexed, unique) */
	char contact[1024];  /* ACME: its contact URLs, one a line ("" none; spec/acme.md §2) */
	char jwk[STORE_JWK_LEN]; /* current public key, JWK JSON text */
	int status;
	int role;
	int64_t created_at;
	/* issue 10: an admin account's operator name (1–64 printable characters, unique among admin
	 * accounts, indexed); "" for other accounts and for an admin made before names */
	char name[STORE_OPERATOR_NAME_LEN];
};

enum store_credential_status {
	CRED_ACTIVE = 1,
	CRED_SUSPENDED,
	CRED_REVOKED,
	CRED_PENDING, /* remote custody: key made at approval, not activated yet (no certificate) */
};

struct store_credential {
	char id[STORE_ID_LEN];
	char account_id[64];
	char subject[STORE_NAME_LEN];
	char profile[32];
	char reference[STORE_REF_LEN]; /* the enrolment it came from */
	int status;
	char current_serial[STORE_SERIAL_LEN];
	int64_t created_at;
	char application_id[STORE_ID_LEN]; /* "" for operator-made enrolments */
	char subject_id[STORE_ID_LEN];	   /* "" when there is no subject record */
	/* issue 4: remote credentials and updates on the operator's demand */
	int remote;	   /* 1: the key is held by the server (custody record of the same id) */
	int64_t update_by; /* operator's deadline for an update (§26.4), 0 = none */
	char update_note[160]; /* operator's text shown with the notice, "" = none */
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
 * (or were written by a newer schema). With opts->conninfo: connect to PostgreSQL (dir is not
 * used), create the tables if missing (CF_EIO if the database cannot be reached or holds a newer
 * schema). */
int store_open(const char *dir, const struct store_opts *opts, store **out);
void store_close(store *st);
/* Octets of the database in use (pages up to the last one written; PostgreSQL: the size of the
 * store's table with its index), for GET /metrics. */
int store_size(store *st, uint64_t *bytes);

/* Run fn in a read-only / read-write transaction (see the top of this file). */
int store_read(store *st, int (*fn)(store_txn *txn, void *ctx), void *ctx);
int store_write(store *st, int (*fn)(store_txn *txn, void *ctx), void *ctx);

/* Hot backup with compaction (mdb_env_copy2 + MDB_CP_COMPACT) into the new directory path
 * (created 0700; must not exist or be empty, else CF_ECONFLICT); the copy is fsynced and opens
 * with store_open. Runs while readers and writers go on; a map resize waits for it.
 * PostgreSQL: CF_EUSAGE, with a log line that says to use pg_dump. */
int store_backup(store *st, const char *path);

/* What store_copy found: per table, the entries and a digest of the source (side 0, of the
 * snapshot it copied) and of the target (side 1, read after the commit). The digest is a SHA-256
 * chain over the table's entries in key order: d = SHA-256(d || len(k) || k || len(v) || v),
 * lengths as 4 octets big-endian, d first the SHA-256 of the table's name. */
#define STORE_TABLES_MAX 48
struct store_copy_report {
	size_t tables;
	uint64_t copied; /* entries written */
	struct {
		const char *name; /* static */
		uint64_t records[2];
		uint8_t digest[2][32];
	} t[STORE_TABLES_MAX];
};

/* Copy every record of from into to (each store of either backend; certflowd migrate): every
 * table's entries (records, indexes, audit, counters; the schema version is each store's own,
 * the same once both are open) read in one transaction of from (one snapshot: from may be in
 * use meanwhile) and written in one write transaction of to (all or nothing), then counted and
 * digested on both sides into rep. 0 when copied (compare with store_copy_mismatches);
 * CF_ECONFLICT if to holds any record (nothing written); a store error otherwise. Must not be
 * called inside a transaction of either store. */
int store_copy(store *from, store *to, struct store_copy_report *rep);
/* The number of tables whose count or digest differs between the two sides of rep. */
int store_copy_mismatches(const struct store_copy_report *rep);
/* Shared stores: record the replay nonce named by id (len octets, 1..64) as used, until `until`
 * (seconds, cf_now): 0 the first time, CF_ECONFLICT if any process recorded it before; outside
 * any transaction, durable on return. Records whose `until` is past (by the earlier of cf_now and
 * the wall clock) are purged on the way.
 * CF_EUSAGE on a store that is not shared; CF_EUNAVAILABLE if the database cannot be reached. */
int store_nonce_use(store *st, const uint8_t *id, size_t len, int64_t until);

/* Records. put = insert or replace (indexes updated). List callbacks stop the walk when they
 * return non-zero, which the list function then returns. A callback must not put records of the
 * kind being walked (a changed index entry may be met again): collect the keys, then put. */
int store_enrolment_get(store_txn *txn, const char *reference, struct store_enrolment *out);
int store_enrolment_put(store_txn *txn, const struct store_enrolment *e);
int store_enrolment_list(store_txn *txn, int (*cb)(const struct store_enrolment *e, void *ctx),
			 void *ctx);
/* The *_list_after walks start strictly after the record key `after` (all when NULL or ""): a
 * page of a list resumes where the previous one stopped, whatever was added or removed since.
 * A key longer than STORE_LIST_AFTER_MAX is CF_EMALFORMED. */
#define STORE_LIST_AFTER_MAX 64
int store_enrolment_list_after(store_txn *txn, const char *after,
			       int (*cb)(const struct store_enrolment *e, void *ctx), void *ctx);

int store_account_get(store_txn *txn, const char *id, struct store_account *out);
int store_account_by_thumbprint(store_txn *txn, const char *thumbprint, struct store_account *out);
/* CF_ECONFLICT if a different account already holds the thumbprint. */
int store_account_put(store_txn *txn, const struct store_account *a);
/* issue 10: the admin account named name (CF_ENOTFOUND if none), and the admin accounts in name
 * order whose names come strictly after `after` (all when NULL or ""). A name stays taken after
 * its account is deactivated. */
int store_admin_by_name(store_txn *txn, const char *name, struct store_account *out);
int store_admin_list_after(store_txn *txn, const char *after,
			   int (*cb)(const struct store_account *a, void *ctx), void *ctx);

int store_credential_get(store_txn *txn, const char *id, struct store_credential *out);
int store_credential_put(store_txn *txn, const struct store_credential *c);
int store_credential_list(store_txn *txn, int (*cb)(const struct store_credential *c, void *ctx),
			  void *ctx);
int store_credential_list_after(store_txn *txn, const char *after,
				int (*cb)(const struct store_credential *c, void *ctx), void *ctx);
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
/* Its current value (0 if never counted). */
int store_counter_get(store_txn *txn, const char *name, uint64_t *out);
/* The counter "revocations": store_cert_put counts every put that adds, changes or removes a
 * certificate of store_cert_list_revoked, so one read tells whether a CRL made from an earlier
 * snapshot is still current, whichever process made the change. */
#define STORE_COUNTER_REVOCATIONS "revocations"

/* ---- subjects, applications, challenges, outbox, audit (issue 3) ------------------------ */

#define STORE_EMAIL_LEN 256
#define STORE_MOBILE_LEN 24
#define STORE_QUESTION_LEN 256
#define STORE_QUESTIONS 3
#define STORE_WRAPPED_MAX 128	/* AEAD-wrapped small secrets: nonce + ciphertext + tag */
#define STORE_MESSAGE_MAX 16384 /* sealed message body */
#define STORE_CONSENTS_LEN 256

/* Security questions in force: the text, and a verifier per answer (PBKDF2-HMAC-SHA-256 of the
 * peppered normalised answer, see proof.h). */
struct store_questions {
	char text[STORE_QUESTIONS][STORE_QUESTION_LEN];
	uint8_t verifier[STORE_QUESTIONS][32];
	uint8_t salt[16];
	uint32_t iterations;
};

/* Lockouts are derived from the failure counters below (question_attempts, otp_failures), never
 * stored as a state. */
enum store_subject_state { SUBJECT_ACTIVE = 1 };

struct store_subject {
	char id[STORE_ID_LEN];
	char given_name[STORE_NAME_LEN];
	char surname[STORE_NAME_LEN];
	char unique_id[65];		 /* published in certificates: 1..64 characters */
	char email[STORE_EMAIL_LEN];	 /* professional, lower-case; indexed, unique */
	char alt_email[STORE_EMAIL_LEN]; /* lower-case */
	char mobile[STORE_MOBILE_LEN];	 /* E.164: '+' and 8..15 digits */
	int state;
	struct store_questions questions;
	int question_attempts; /* failed attempts (reference-renew and recovery share them) */
	/* TOTP: seed sealed under the server's wrap key; confirmed once a first code matched. */
	uint8_t totp_seed[STORE_WRAPPED_MAX];
	size_t totp_seed_len; /* 0 = no TOTP */
	int totp_confirmed;
	int64_t totp_last_step; /* last accepted time step (each code once) */
	int otp_failures;	/* TOTP and SMS failures together */
	int64_t created_at;
};

enum store_app_state {
	APP_PENDING = 1,
	APP_APPROVED,
	APP_REJECTED,
	APP_ACTIVATED, /* its credential exists */
};

struct store_application {
	char id[STORE_ID_LEN];
	char subject_id[STORE_ID_LEN];
	char profile[32];
	int state;
	char consents[STORE_CONSENTS_LEN]; /* accepted consent names, comma-separated */
	struct store_questions questions;  /* as submitted; copied to the subject on approval */
	int needs_review;		   /* identity differs from the subject of its e-mail */
	/* Envelope key: the AES-256 key derived from the applicant's passphrase (salt, iterations),
	 * itself sealed under the server's wrap key. */
	uint8_t envelope_key[STORE_WRAPPED_MAX];
	size_t envelope_key_len;
	uint8_t envelope_salt[16];
	uint32_t envelope_iterations;
	uint32_t envelope_count;   /* envelopes sent so far (the last envelope number) */
	uint8_t emergency_mac[32]; /* HMAC of the normalised emergency code; zero = none yet */
	int emergency_failures;
	char reference[STORE_REF_LEN];		  /* current enrolment code, "" before approval */
	char credential_id[STORE_ID_LEN];	  /* current credential, "" before activation */
	char decided_by[STORE_OPERATOR_NAME_LEN]; /* operator name (older: id) or "policy" */
	char reason[256];			  /* rejection reason */
	int64_t created_at, decided_at;
};

enum store_challenge_kind { CHAL_LINK = 1, CHAL_SMS_OTP };
/* An SMS code past otp_max_failures is refused by the subject's counter, not by a state. */
enum store_challenge_state { CHAL_PENDING = 1, CHAL_USED };

/* A pending second factor. Its id is derived from the secret (link token: HMAC of the token),
 * so the database never holds the token itself. */
struct store_challenge {
	char id[STORE_ID_LEN * 2]; /* up to 63 characters */
	int kind;
	int state;
	char subject_id[STORE_ID_LEN];
	char purpose[32];	       /* "recovery" */
	char parent[STORE_ID_LEN * 2]; /* SMS OTP: id of the link challenge it belongs to, or "" */
	uint8_t mac[32];	       /* SMS OTP: HMAC of the code */
	int failures;
	int64_t created_at, expires_at;
};

enum store_message_state { MSG_QUEUED = 1, MSG_SENT, MSG_FAILED };
enum store_message_channel { MSG_EMAIL = 1, MSG_SMS };

/* An outbound message. The rendered body is sealed under the outbox key and erased once sent. */
struct store_message {
	uint64_t id; /* from store_counter_next("message") */
	int channel;
	int state;
	char to[STORE_EMAIL_LEN];
	char template_name[32];
	uint8_t body[STORE_MESSAGE_MAX];
	size_t body_len;
	int attempts;
	int64_t created_at, next_attempt_at, sent_at;
	char last_error[128]; /* never a secret */
	/* On a shared store (store_shared): the server delivering it now, "" if none. Its claim
	 * lasts until next_attempt_at, then any server may take the message over. */
	char claimed_by[24];
};

/* One audit event; never a secret in any field. */
struct store_audit {
	uint64_t seq; /* assigned by store_audit_append, increasing */
	int64_t at;
	char actor[96]; /* "account:<id>", "admin:<id>", "anonymous", "system", "policy" */
	char actor_name[STORE_OPERATOR_NAME_LEN]; /* operator's name for "admin:<id>", else "" */
	char action[48];			  /* "application.create", ... (spec/protocol.md) */
	char object[96]; /* "application:<id>", "credential:<id>", "certificate:<serial>", ... */
	char remote[64]; /* client address, "" for the server itself */
	char result[48]; /* "ok" or a problem name */
	char detail[160];
};

int store_subject_get(store_txn *txn, const char *id, struct store_subject *out);
/* email is matched lower-case. */
int store_subject_by_email(store_txn *txn, const char *email, struct store_subject *out);
/* CF_ECONFLICT if another subject holds the e-mail. */
int store_subject_put(store_txn *txn, const struct store_subject *s);

int store_application_get(store_txn *txn, const char *id, struct store_application *out);
int store_application_put(store_txn *txn, const struct store_application *a);
/* All applications in creation order (by id: ids are ULIDs, see core_random_id). */
int store_application_list(store_txn *txn, int (*cb)(const struct store_application *a, void *ctx),
			   void *ctx);
int store_application_list_after(store_txn *txn, const char *after,
				 int (*cb)(const struct store_application *a, void *ctx),
				 void *ctx);
/* Applications of one subject, in creation order. */
int store_application_list_by_subject(store_txn *txn, const char *subject_id,
				      int (*cb)(const struct store_application *a, void *ctx),
				      void *ctx);
/* Credentials of one subject, in creation order. */
int store_credential_list_by_subject(store_txn *txn, const char *subject_id,
				     int (*cb)(const struct store_credential *c, void *ctx),
				     void *ctx);

int store_challenge_get(store_txn *txn, const char *id, struct store_challenge *out);
int store_challenge_put(store_txn *txn, const struct store_challenge *c);
/* Challenges of one subject, oldest first (rate limits). */
int store_challenge_list_by_subject(store_txn *txn, const char *subject_id,
				    int (*cb)(const struct store_challenge *c, void *ctx),
				    void *ctx);
/* Remove challenges that expired before `before` (housekeeping). */
int store_challenge_purge(store_txn *txn, int64_t before);

/* put with id 0 assigns the next id (written back into *m). */
int store_message_put(store_txn *txn, struct store_message *m);
int store_message_get(store_txn *txn, uint64_t id, struct store_message *out);
/* Queued messages, by next_attempt_at then id. */
int store_message_list_queued(store_txn *txn, int (*cb)(const struct store_message *m, void *ctx),
			      void *ctx);
/* Every message, by id (operator listing). */
int store_message_list(store_txn *txn, int (*cb)(const struct store_message *m, void *ctx),
		       void *ctx);
/* Messages with id > after, by id. */
int store_message_list_after(store_txn *txn, uint64_t after,
			     int (*cb)(const struct store_message *m, void *ctx), void *ctx);

/* Append ev (ev->seq is assigned). */
int store_audit_append(store_txn *txn, struct store_audit *ev);
/* Events with seq > after, in order. */
int store_audit_list(store_txn *txn, uint64_t after,
		     int (*cb)(const struct store_audit *ev, void *ctx), void *ctx);

/* ---- remote-key custody (issue 4, spec/protocol.md §22) --------------------------------- */

#define STORE_CUSTODY_KEY_MAX 2560 /* sealed PKCS#8 key: nonce + DER (RSA-3072: ~1.8 KB) + tag */
#define STORE_CUSTODY_WRAP_LEN 60  /* a wrapped data key: nonce (12) + key (32) + tag (16) */

enum store_custody_state { CUSTODY_ACTIVE = 1, CUSTODY_BLOCKED, CUSTODY_REVOKED };

/* A server-held private key: sealed under a data key that is wrapped under a PIN-derived and
 * a PUK-derived key (§22.2). No field is a clear secret; the wraps and the sealed key are erased
 * (length 0, zero octets) when the state becomes CUSTODY_REVOKED. */
struct store_custody {
	char credential_id[STORE_ID_LEN]; /* the key */
	int key_type;			  /* 1 P-256, 2 P-384, 3 RSA (the values of cf_key_type) */
	uint32_t key_bits;
	uint8_t sealed_key[STORE_CUSTODY_KEY_MAX];
	size_t sealed_key_len;
	uint8_t pin_wrap[STORE_CUSTODY_WRAP_LEN];
	uint8_t pin_salt[16];
	uint32_t pin_iterations;
	uint8_t puk_wrap[STORE_CUSTODY_WRAP_LEN];
	uint8_t puk_salt[16];
	uint32_t puk_iterations;
	int pin_tries_left;
	int puk_tries_left;
	int state; /* enum store_custody_state */
	int64_t created_at, updated_at;
};

int store_custody_get(store_txn *txn, const char *credential_id, struct store_custody *out);
int store_custody_put(store_txn *txn, const struct store_custody *c);
/* Remove the record; CF_ENOTFOUND if there is none. */
int store_custody_delete(store_txn *txn, const char *credential_id);
/* Number of custody records (the master key rule of §22.3). */
int store_custody_count(store_txn *txn, uint64_t *out);

/* ---- holder logins, sessions, coupons (issue 4, spec/protocol.md §23-§26) ----------------- */

#define STORE_USER_ID_LEN 16  /* user ids: 10 digits */
#define STORE_TOKEN_ID_LEN 64 /* ids of token-named records: base64url HMAC-SHA-256 (43) */

/* The portal login of a subject (one per subject): user id + password verifier
 * (PBKDF2-HMAC-SHA-256 of the password, salt, iterations). */
struct store_login {
	char user_id[STORE_USER_ID_LEN]; /* the key: 10 digits, not secret */
	char subject_id[STORE_ID_LEN];	 /* indexed, unique */
	uint8_t verifier[32];
	uint8_t salt[16];
	uint32_t iterations;
	int must_change; /* 1: the first (or a reset) password: only a password change is allowed */
	int failures;	 /* consecutive failed logins; locked at login_max_failures */
	int64_t created_at, changed_at, last_login_at;
};
int store_login_get(store_txn *txn, const char *user_id, struct store_login *out);
int store_login_by_subject(store_txn *txn, const char *subject_id, struct store_login *out);
/* CF_ECONFLICT if another login holds the subject. */
int store_login_put(store_txn *txn, const struct store_login *l);

enum store_session_kind {
	SESS_PORTAL = 1, /* a holder session (bearer token) */
	SESS_QR,	 /* a QR login challenge waiting for an agent's approval (§23.5) */
	SESS_SAD,	 /* CSC signature activation data (§25.3) */
	SESS_UPDATE,	 /* an update in progress between its two steps (§26.5) */
	SESS_RESET,	 /* a forgot-password link token (§23.4) */
	SESS_ACME_ORDER, /* an ACME order (spec/acme.md): id public, parent = the account id,
			    credential_id, count = the set of the enrolment's names ordered (bit
			    i: dns_names[i], bit 4: the subject); restricted = the set of its
			    authorizations (by index) proved by http-01; state LIVE = pending or
			    ready, USED = valid, INVALID = a validation failed; detail = the
			    serial ARI's "replaces" named while ready, the issued serial once
			    valid */
};
enum store_session_state { SESS_LIVE = 1, SESS_APPROVED, SESS_USED, SESS_INVALID };
/* A short-lived record named by a bearer secret: its id is HMAC(server secret, token) in
 * base64url, so the database never holds the token. blob holds what the token unlocks (SAD,
 * update: the credential's data key wrapped under HMAC(master key, token); never clear). */
struct store_session {
	char id[STORE_TOKEN_ID_LEN];
	int kind;			  /* enum store_session_kind */
	int state;			  /* enum store_session_state */
	char subject_id[STORE_ID_LEN];	  /* "" for a QR challenge not approved yet */
	char user_id[STORE_USER_ID_LEN];  /* portal sessions, "" otherwise */
	char credential_id[STORE_ID_LEN]; /* SAD, update: the credential */
	char parent[STORE_TOKEN_ID_LEN];  /* SAD, update: the portal session that made it */
	int restricted;			  /* portal: 1 = password change only */
	uint8_t digest[32];		  /* SAD: SHA-256 over the authorised hashes */
	uint32_t count;			  /* SAD: signatures left */
	uint8_t blob[STORE_WRAPPED_MAX];
	size_t blob_len;
	char detail[96]; /* QR: the user id the waiting side named, or ""; update: new PIN "keep" */
	int64_t created_at, expires_at;
};
int store_session_get(store_txn *txn, const char *id, struct store_session *out);
int store_session_put(store_txn *txn, const struct store_session *s);
int store_session_delete(store_txn *txn, const char *id);
/* Sessions of one subject (logout everywhere after a password reset), creation order. */
int store_session_list_by_subject(store_txn *txn, const char *subject_id,
				  int (*cb)(const struct store_session *s, void *ctx), void *ctx);
/* Remove every session record that expired before `before` (housekeeping). */
int store_session_purge(store_txn *txn, int64_t before);

enum store_coupon_state { COUPON_ISSUED = 1, COUPON_USED, COUPON_CANCELLED };
/* A renewal entitlement issued by the operator. The code is given once and stored only as its
 * HMAC (code_mac, indexed, unique); id is public, for tracking. */
struct store_coupon {
	char id[STORE_ID_LEN];
	uint8_t code_mac[32];
	char profile[32]; /* "" = any profile */
	int state;
	char note[128];				 /* operator's text (order number ...) */
	char used_by[STORE_ID_LEN];		 /* credential renewed with it */
	int64_t created_at, expires_at, used_at; /* expires_at 0 = never */
};
int store_coupon_get(store_txn *txn, const char *id, struct store_coupon *out);
int store_coupon_by_mac(store_txn *txn, const uint8_t mac[32], struct store_coupon *out);
int store_coupon_put(store_txn *txn, const struct store_coupon *c);
/* Every coupon, by id. */
int store_coupon_list(store_txn *txn, int (*cb)(const struct store_coupon *c, void *ctx),
		      void *ctx);
int store_coupon_list_after(store_txn *txn, const char *after,
			    int (*cb)(const struct store_coupon *c, void *ctx), void *ctx);

/* ---- rate limits and failures against unknown names (issue 15, spec/protocol.md §28) ----- */

#define STORE_RATE_KEY_MAX 64
/* A fixed-window counter named by an opaque key (the caller's HMAC under the server key: never
 * a clear address, e-mail or id). Removed by store_rate_purge once its window ended. */
struct store_rate {
	int64_t window_end; /* Unix time the window closes */
	uint32_t count;
};
int store_rate_get(store_txn *txn, const uint8_t *key, size_t key_len, struct store_rate *out);
int store_rate_put(store_txn *txn, const uint8_t *key, size_t key_len, const struct store_rate *r);
/* Remove every counter whose window ended before `before` (housekeeping; one pass). */
int store_rate_purge(store_txn *txn, int64_t before);
/* Remove up to 512 sent or failed messages created before `before` (housekeeping: their bodies
 * are of no use once delivered); queued ones stay. *purged (may be NULL): how many. */
int store_message_purge(store_txn *txn, int64_t before, size_t *purged);

/* ---- background work of several servers on one store (issue 14) ---- */

/* 1 if several certflowd processes may use st at once (PostgreSQL), 0 if it is one server's own
 * (LMDB in its data directory). On a shared store, work that must be done once and not once per
 * server (delivering a message, housekeeping) is claimed in the store before it is done. */
int store_shared(const store *st);
/* Whose turn a periodic job is, among the servers of one store: *turn = 1 and now recorded as
 * its last run if the job never ran, last ran period seconds or more before now, or more than
 * period seconds after now (a clock set back); else *turn = 0 and nothing is written. Call it
 * in the write transaction that does the job: of two servers that race, one does it and the
 * other's transaction is run again (store_write on PostgreSQL) and finds it done.
 * job: 1..32 characters. CF_EINTERNAL on bad arguments. */
int store_job_turn(store_txn *txn, const char *job, int64_t now, int64_t period, int *turn);

#endif
