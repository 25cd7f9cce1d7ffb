/*
 * core — the journeys of certflow as functions on the store and the CA: enrolment codes,
 * activation, renewal, revocation and suspension, accounts, renewal information, the CRL.
 * It knows nothing of HTTP or URLs: the API layer decodes requests, calls these functions and
 * encodes what they return. Every time comes from cf_now(). No secret is ever logged.
 *
 * Every function returns 0 or a negative CF_E* code; out-parameters are written on success only
 * unless said otherwise.
 */
#ifndef CORE_H
#define CORE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "ca.h"
#include "cf_crypto.h"
#include "store.h"

/* Rate limits (issue 15, spec/protocol.md §28): a fixed window of secs seconds per client address
 * ("_ADDR") or per named target (an e-mail, a user id, a reference); max 0 = no limit. */
enum core_rate_kind {
	RATE_RECOVERY_ADDR,  /* recovery link requests and forgotten passwords (e-mails) */
	RATE_RECOVERY_EMAIL, /* the same, per e-mail address asked about */
	RATE_LOGIN_ADDR,     /* logins (a password KDF each) */
	RATE_LOGIN_USER,     /* the same, per user id */
	RATE_QR_ADDR,	     /* QR login start and poll */
	RATE_ACTIVATE_ADDR,  /* activations (a signature each) */
	RATE_ACTIVATE_REF,   /* the same, per reference number */
	RATE_APPLY_ADDR,     /* anonymous applications (KDFs, records, an e-mail) */
	RATE_EMERGENCY_ADDR, /* emergency suspensions by code */
	RATE_SMS_ADDR,	     /* SMS codes sent on request */
	RATE_QUESTIONS_ADDR, /* reference renewals (a KDF per security answer) */
	RATE_KINDS
};
struct core_rate_limit {
	int max;  /* requests per window, 0 = unlimited */
	int secs; /* length of the window */
};

struct core_config {
	int enrolment_code_days;	  /* lifetime of an enrolment code (15) */
	int max_activation_attempts;	  /* wrong codes before the enrolment locks (5) */
	int acme_http01_port;		  /* the port an ACME http-01 validation connects to (80) */
	char acme_validation_address[64]; /* connect there instead of the name's address ("") */
	char acme_dns_resolver[64]; /* dns-01: ask this IPv4 ADDR[:PORT] ("": /etc/resolv.conf) */
	int device_validity_days;   /* 365 */
	int signing_validity_days;  /* 1095 */
	int signing_renewal_days;   /* renewal window of signing certificates (90) */
	/* issue 3: the human journeys (spec/protocol.md §14-§19) */
	char auto_approve[128];	    /* profiles approved by policy, comma-separated ("" = none) */
	int questions_required;	    /* right answers needed of 3 (2) */
	int question_attempts;	    /* attempts before the questions lock (5) */
	int link_token_minutes;	    /* life of a recovery link token (60) */
	int recovery_otp;	    /* 1: recovery/complete also needs an OTP (default 1) */
	int otp_digits;		    /* 6 */
	int otp_step_secs;	    /* TOTP time step (30) */
	int otp_window_steps;	    /* accepted steps either side of now (1) */
	int otp_max_failures;	    /* 5 */
	int sms_otp_minutes;	    /* life of an SMS code (5) */
	int otp_resend_secs;	    /* minimum gap between two SMS codes of one subject (60) */
	int otp_resend_per_hour;    /* SMS codes per subject per hour (5) */
	int emergency_max_failures; /* 5 */
	uint32_t kdf_iterations;    /* PBKDF2-HMAC-SHA-256 iterations for answers and envelopes
				       (600000; tests may lower it, never below 1000) */
	/* issue 4: remote credentials (spec/protocol.md §22-§27) */
	int remote_key_type;	  /* enum cf_key_type of new remote keys (CF_KEY_P256) */
	unsigned remote_key_bits; /* RSA: 2048 or 3072; else 0 */
	int pin_max_tries;	  /* 5 */
	int puk_max_tries;	  /* 10 */
	int login_max_failures;	  /* failed logins before the login locks (5) */
	int session_minutes;	  /* life of a portal session (30) */
	int sad_seconds;	  /* life of a CSC signature authorisation (300) */
	int qr_login_seconds;	  /* life of a QR login challenge (120) */
	int update_minutes;	  /* time between the two steps of an update (15) */
	char entitlement[16];	  /* renewal entitlement: "coupon" (default), "program", "none" */
	char entitlement_command[1024]; /* program for "program": exit 0 = entitled (§26.3) */
	struct core_rate_limit rate[RATE_KINDS]; /* issue 15 (§28); defaults in core.c */
	int outbox_keep_days; /* sent and failed messages are purged after (30) */
	/* issue 11: the base URL people are sent to in e-mails (the portal, and the server the
	   agent is pointed at): "" = the server's own URL; no trailing slash */
	char public_url[256];
};

/* The base URL for e-mails: cfg->public_url, or own_url (the server's own) when it is unset. */
const char *core_public_url(const struct core_config *cfg, const char *own_url);

/* Defaults of spec/protocol.md. */
void core_config_defaults(struct core_config *cfg);

struct notify;
struct core_who; /* the actor of a request, for the audit trail (below) */

struct core {
	store *st;
	struct notify *nt; /* outbox (notify.h); set by the server after core_init, may be NULL
			      in unit tests (then journeys that send messages fail CF_EINTERNAL) */
	ca *ca;
	struct core_config cfg;
	uint8_t secret[32]; /* HMAC key for stored codes (secret.key) */
	uint8_t master[32]; /* custody master key (§22.3; master.key), loaded by main */
	int master_loaded;  /* 0: remote credentials are refused (CF_EUNAVAILABLE) */
	/* CRL cache */
	pthread_mutex_t crl_lock;
	uint8_t *crl_der;
	size_t crl_len;
	int64_t crl_this_update;
	uint64_t crl_gen; /* the store's revocations counter that the cached CRL reflects */
	int crl_dirty;
	/* GET /metrics (__atomic): certificates issued by activation, by renewal */
	uint64_t issued, renewed;
};

/* What GET /metrics shows of the core: counters, outbox queue length, database size. */
struct core_metrics {
	uint64_t issued, renewed, outbox_queued, store_bytes;
};
void core_metrics(struct core *c, struct core_metrics *out);

#define CORE_CRL_NEXT_UPDATE_SECS (7 * 86400)

/* Initialise c around an open store and CA (both stay owned by the caller). */
int core_init(struct core *c, store *st, ca *authority, const struct core_config *cfg,
	      const uint8_t secret[32]);
/* Wipe the secret and free the CRL cache. Safe on a zeroed struct. */
void core_fini(struct core *c);

/* ---- profiles and renewal windows ------------------------------------------------------- */

/* 1 if profile is "device", "signing" or "remote". */
int core_profile_known(const char *profile);
/* Validity of a new certificate of profile in seconds. CF_EMALFORMED for unknown profiles. */
int core_profile_validity(const struct core_config *cfg, const char *profile, int64_t *secs);
/* Renewal window of a certificate: device = last third of its lifetime, signing = the last
 * signing_renewal_days before not_after. */
int core_renewal_window(const struct core_config *cfg, const char *profile, int64_t not_before,
			int64_t not_after, int64_t *start, int64_t *end);

/* ---- enrolment codes -------------------------------------------------------------------- */

struct core_enrol_req {
	const char *subject;
	const char *profile;	  /* "device" (default when NULL) or "signing" */
	const char *email;	  /* optional */
	const char *dns_names[5]; /* optional, NULL-terminated, at most 4 */
	/* ACME (spec/acme.md): when not NULL, the enrolment also gets an external account binding
	 * key, whose CORE_EAB_KEY_LEN octets are written here (the caller wipes them) */
	uint8_t *eab_key_out;
	int acme_validate; /* ACME orders must also prove each name: CORE_ACME_* bits, 0: no */
};

/* Create an enrolment code: unique 12-digit reference, 100-bit activation code. *code receives
 * the display form (24 characters + NUL: 5 groups of 4 joined by '-'); the caller wipes it. */
int core_enrolment_create(struct core *c, const struct core_who *who,
			  const struct core_enrol_req *req, struct store_enrolment *out,
			  char code[25]);
/* Enrolments by reference, strictly after `after` (NULL: from the first). */
int core_enrolment_list(struct core *c, const char *after,
			int (*cb)(const struct store_enrolment *e, void *ctx), void *ctx);
/* Cancel a live enrolment: CF_ENOTFOUND, CF_ECONFLICT (not live). */
int core_enrolment_cancel(struct core *c, const struct core_who *who, const char *reference,
			  struct store_enrolment *out);
/* "live", "used", "expired", "locked" or "cancelled" at time now. */
const char *core_enrolment_status(const struct store_enrolment *e, int64_t now);

/* ---- the ACME profile (spec/acme.md; core/acme.c) ---------------------------------------- */

#define CORE_EAB_KEY_LEN 32
/* Seal an EAB HMAC key of enrolment reference under the wrap key (aad "eab:<reference>"). */
int core_eab_seal(const struct core *c, const char *reference, const uint8_t key[CORE_EAB_KEY_LEN],
		  uint8_t *out, size_t cap, size_t *out_len);

/* newAccount with an external account binding (RFC 8555 §7.3.4): the binding's kid is the
 * reference of an ACME enrolment code, mac its HMAC-SHA-256 over signing_input. A wrong MAC counts
 * a failure of the code like a wrong activation code (CF_EBADCODE, CF_ELOCKED at the last try);
 * CF_EUSED, CF_EEXPIRED, CF_ECANCELLED, CF_ELOCKED as activation; CF_EUNAUTHORIZED for an
 * enrolment without a binding key. On success one write makes the account of account_key (or
 * uses its existing account: CF_ECONFLICT if that one has a credential of its own already), a
 * credential "pending" bound to the enrolment (its names, subject, profile), and marks the
 * enrolment used. */
int core_acme_bind(struct core *c, const struct core_who *who, const cf_key *account_key,
		   const char *account_jwk, const char *kid, const char *signing_input,
		   size_t signing_input_len, const uint8_t *mac, size_t mac_len,
		   const char *contact, struct store_account *out, int *created);

#define CORE_ACME_NAMES 5 /* the enrolment's 4 DNS names and its subject */
/* An ACME order as the API shows it. */
struct core_acme_order {
	char id[STORE_ID_LEN];
	char account_id[64];
	char credential_id[STORE_ID_LEN];
	const char *names[CORE_ACME_NAMES + 1]; /* the ordered names (into e), NULL-terminated */
	int valid;				/* finalized: serial is the certificate */
	int invalid;				/* a validation failed: the order is dead */
	uint32_t proved;			/* authorizations valid, by index */
	char serial[STORE_SERIAL_LEN];		/* valid: the certificate; else "replaces" or "" */
	int64_t expires_at;
	struct store_enrolment e;
};
/* newOrder for names (lower case, dns, n ≤ 100) of account_id, whose first credential is the bound
 * one (CF_EUNAUTHORIZED: none, or a remote one): each must be a name of its enrolment
 * (CF_EREJECTEDID with the refused name in bad, 254 octets; also beyond 4 names), the credential
 * not revoked or suspended (CF_EREVOKED, CF_ESUSPENDED), replaces "" or the credential's current
 * certificate serial (CF_ECONFLICT). The order is ready at once (pre-authorised). */
int core_acme_order_new(struct core *c, const char *account_id, const char *const *names, size_t n,
			const char *replaces, struct core_acme_order *out, char bad[254]);
/* The number of names of order o. */
int core_acme_order_count(const struct core_acme_order *o);
/* The ways an ACME code asks for its names to be proved (spec/acme.md §4), a bit set. */
#define CORE_ACME_HTTP01 1
#define CORE_ACME_DNS01 2
/* "http-01", "dns-01", or both joined by ',' (either order) → their bits; 0 if anything else. */
int core_acme_validation_parse(const char *text);
/* The bits → "http-01", "dns-01" or "http-01,dns-01" ("" for none). */
const char *core_acme_validation_name(int bits);
/* The token of challenge type (CORE_ACME_HTTP01 or CORE_ACME_DNS01) of authorization index of
 * order_id (43 base64url characters + NUL): derived from the server's secret, never stored. */
int core_acme_token(const struct core *c, const char *order_id, int index, int type, char out[44]);
/* The type by which authorization index of o was proved (CORE_ACME_*), 0 if not proved by one. */
int core_acme_proved_by(const struct core_acme_order *o, int index);
/* The outcome of the validation by type (CORE_ACME_*) of authorization index of account_id's
 * order id: ok marks it valid; otherwise the order becomes invalid (RFC 8555 §7.1.6). Audited
 * "acme.validate" with detail (never a secret). CF_ENOTFOUND, CF_EORDERNOTREADY (not pending). */
int core_acme_validated(struct core *c, const struct core_who *who, const char *account_id,
			const char *id, int index, int type, int ok, const char *detail,
			struct core_acme_order *out);
/* The order id of account_id: CF_ENOTFOUND (also for another account's order). */
int core_acme_order_get(struct core *c, const char *account_id, const char *id,
			struct core_acme_order *out);
#define CORE_ACME_ORDERS_MAX 100
/* The ids of account_id's orders that are neither invalid nor expired, oldest first, at most
 * CORE_ACME_ORDERS_MAX (ids: that many rows of STORE_ID_LEN), their number to *n. */
int core_acme_order_list(struct core *c, const char *account_id, char (*ids)[STORE_ID_LEN],
			 size_t *n);
/* finalize: the CSR must ask for exactly the order's names (CF_EBADCSR); the order must be ready
 * (CF_EORDERNOTREADY). Issues the first certificate of the pending credential, or renews it (a
 * "replaces" certificate is then revoked as superseded). */
int core_acme_finalize(struct core *c, const struct core_who *who, const char *account_id,
		       const char *id, const uint8_t *csr, size_t csr_len,
		       struct core_acme_order *out);

/* ---- activation and renewal ------------------------------------------------------------- */

struct core_issue_result {
	struct store_account account;
	struct store_credential credential;
	struct store_cert cert;
	int account_created; /* activation made a new account */
	int repeated;	     /* the answer of an earlier request, sent again: nothing was made */
	int64_t retry_at;    /* CF_ENOTWINDOW: when the window opens (also set on that error) */
};

struct core_activate_req {
	const cf_key *account_key; /* the jwk of the request */
	const char *account_jwk;   /* its JSON text, stored with a new account */
	const char *reference;	   /* 12 digits */
	const char *code;	   /* activation code as typed (dashes, case ignored) */
	const uint8_t *csr;
	size_t csr_len;
};

/* Activate an enrolment code (spec/protocol.md §9). Errors: CF_EBADCSR/CF_EBADKEY (CSR),
 * CF_EBADCODE (unknown reference or wrong code, both counted alike: §28.3), CF_ELOCKED,
 * CF_EEXPIRED, CF_EUSED, CF_ECANCELLED, CF_EDEACTIVATED (the key's account is deactivated),
 * store errors. Asked again (right code, the account that used the enrolment, a CSR for its
 * credential's current key): what that activation made, with out->repeated set. */
int core_activate(struct core *c, const struct core_who *who, const struct core_activate_req *req,
		  struct core_issue_result *out);

/* Renew credential_id of account_id with a new CSR (§10). Errors: CF_ENOTFOUND,
 * CF_EUNAUTHORIZED (not the account's), CF_EREVOKED, CF_ESUSPENDED, CF_ENOTWINDOW (out->retry_at
 * set), CF_EBADCSR. A CSR for the current certificate's key (a renewal asked again, also while
 * its twin runs) answers that certificate with out->repeated set. */
int core_renew(struct core *c, const struct core_who *who, const char *account_id,
	       const char *credential_id, const uint8_t *csr, size_t csr_len,
	       struct core_issue_result *out);

/* ---- reads ------------------------------------------------------------------------------ */

int core_account_get(struct core *c, const char *id, struct store_account *out);
/* The account whose current key has thumbprint (RFC 7638): CF_ENOTFOUND. */
int core_account_by_thumbprint(struct core *c, const char *thumbprint, struct store_account *out);
/* Credentials of an account (ids in creation order). */
int core_account_credentials(struct core *c, const char *account_id,
			     int (*cb)(const struct store_credential *cr, void *ctx), void *ctx);
int core_credential_get(struct core *c, const char *id, struct store_credential *out);
/* Credentials by id, strictly after `after` (NULL: from the first). */
int core_credential_list(struct core *c, const char *after,
			 int (*cb)(const struct store_credential *cr, void *ctx), void *ctx);
/* Certificates of a credential, oldest first. */
int core_credential_certs(struct core *c, const char *id,
			  int (*cb)(const struct store_cert *cert, void *ctx), void *ctx);
int core_cert_get(struct core *c, const char *serial, struct store_cert *out);
/* "valid", "suspended", "revoked" or "expired" (valid but past not_after). */
const char *core_cert_status(const struct store_cert *cert, int64_t now);
/* "active", "suspended", "revoked", "pending" (remote, not activated yet) or "expired" (current
 * certificate past not_after). */
const char *core_credential_status(const struct store_credential *cr, int64_t cur_not_after,
				   int64_t now);

/* ---- operator and account actions ------------------------------------------------------- */

/* Revoke with an RFC 5280 reason (0..10 except 6, 7, 8: CF_EBADREASON). CF_ENOTFOUND,
 * CF_EALREADY. A revoked current certificate revokes its credential, unless the reason is 4
 * (superseded). */
int core_revoke(struct core *c, const struct core_who *who, const char *serial, int reason,
		struct store_cert *out);
/* certificateHold: CF_EALREADY if revoked or already suspended. */
int core_suspend(struct core *c, const struct core_who *who, const char *serial,
		 struct store_cert *out);
/* Lift a hold: CF_ECONFLICT if the certificate is not suspended. */
int core_reinstate(struct core *c, const struct core_who *who, const char *serial,
		   struct store_cert *out);

int core_account_deactivate(struct core *c, const struct core_who *who, const char *id,
			    struct store_account *out);
/* Replace an ACME account's contact URLs (one a line; audited account.contact):
 * CF_EDEACTIVATED, CF_EMALFORMED (too long). */
int core_account_contact_set(struct core *c, const struct core_who *who, const char *id,
			     const char *contact, struct store_account *out);
/* Replace the account's key (RFC 8555 §7.3.5): old_key must be its current key
 * (CF_EUNAUTHORIZED otherwise); CF_ECONFLICT if new_key belongs to an account already, whose id
 * is then copied to holder (64 bytes). */
int core_account_key_change(struct core *c, const struct core_who *who, const char *id,
			    const cf_key *old_key, const cf_key *new_key, const char *new_jwk,
			    struct store_account *out, char holder[64]);

/* Create the admin account for key on first start (role admin, id = thumbprint, operator name
 * `name`); when it exists without a name (made before issue 10) it is given `name`, otherwise
 * nothing changes. CF_EMALFORMED if name is not a valid operator name, CF_ECONFLICT if another
 * admin account holds it. */
int core_admin_ensure(struct core *c, const cf_key *key, const char *name);

/* ---- operators: the named admin accounts (spec/protocol.md §12 "Operators"; operator.c) ---- */

#define CORE_OPERATOR_NAME_MAX 64
#define CORE_OPERATOR_DEFAULT "admin" /* shown for an admin account made before names */
/* 1 if name is 1..64 octets of UTF-8 without control characters (C0, DEL, C1). */
int core_operator_name_ok(const char *name);
/* The operator name of admin account a: its name, CORE_OPERATOR_DEFAULT when it has none. The
 * pointer lives as long as a. */
const char *core_operator_name(const struct store_account *a);
/* Add an operator: a new admin account named name for public key (jwk its JWK JSON text), audited
 * "operator.add". CF_EMALFORMED (bad name), CF_ECONFLICT (the name or the key is taken). */
int core_operator_add(struct core *c, const struct core_who *who, const char *name,
		      const cf_key *key, const char *jwk, struct store_account *out);
/* Visit the admin accounts in name order, after the account whose id is after_id (all when NULL);
 * CF_EMALFORMED if after_id is no admin account. */
int core_operator_list(struct core *c, const char *after_id,
		       int (*cb)(const struct store_account *a, void *ctx), void *ctx);
/* Deactivate the operator named name, audited "operator.remove": CF_ENOTFOUND, CF_ECONFLICT
 * (it is self_id, already deactivated, or the last active operator). */
int core_operator_remove(struct core *c, const struct core_who *who, const char *self_id,
			 const char *name, struct store_account *out);

/* ---- who: the actor of a request, for the audit trail ------------------------------------ */

struct core_who {
	const char *actor;  /* "account:<id>", "admin:<id>", "anonymous", "system" */
	const char *remote; /* client address or "" */
	const char *name;   /* the operator's name for "admin:<id>", NULL otherwise */
};
/* Every journey that changes state takes who and appends its audit event(s) in its own write
 * transaction; who NULL is recorded as "system". */

/* Append an audit event inside txn (core/audit.c). object/result/detail may be NULL (""). result
 * is "ok" or a problem name (cf_err_problem). Never pass a secret. */
int core_audit(store_txn *txn, const struct core_who *who, const char *action, const char *object,
	       const char *result, const char *detail);

/* Seal / open a small secret under the server's wrap key (derived from secret.key; AES-256-GCM;
 * aad binds it to its record, e.g. "totp:<subject id>"). out_cap ≥ len + 28. core/seal.c. */
int core_seal(const struct core *c, const char *aad, const uint8_t *in, size_t len, uint8_t *out,
	      size_t out_cap, size_t *out_len);
int core_open(const struct core *c, const char *aad, const uint8_t *in, size_t len, uint8_t *out,
	      size_t out_cap, size_t *out_len);

/* ---- applications: shared by approval, reference renewal and recovery (core/application.c) */

/* Inside txn: cancel app's live enrolment code if any, make a new one (reference + activation
 * code, enrolment_code_days) and a new emergency code for app, and queue two e-mails to the
 * subject's professional address: "reference" and, separately, "envelope" (number
 * app->envelope_count + 1, sealed under the application's envelope key). replaces: credential id
 * the new code supersedes on activation (recovery), or NULL. Updates *app (reference,
 * emergency_mac, envelope_count) and puts it. May run more than once per txn (store_write). */
int core_application_new_code(struct core *c, store_txn *txn, struct store_application *app,
			      const struct store_subject *subj, const char *replaces);

/* Derive (slow, outside transactions) the envelope key of passphrase with a new random salt and
 * seal it for application app_id into app (envelope_key, envelope_salt, envelope_iterations).
 * CF_EWEAKPASSWORD if the passphrase fails cf_password_check. */
int core_envelope_key_set(struct core *c, const char *app_id, const char *passphrase,
			  struct store_application *app);

/* ---- applications, reference renewal, emergency suspension, audit listing (§14, §15, §20,
 * §21; core/application.c, emergency.c, audit.c) ----------------------------------------- */

/* core_audit with result "ok" for code 0, else the code's problem name. */
int core_audit_result(store_txn *txn, const struct core_who *who, const char *action,
		      const char *object, int code, const char *detail);
/* Audit events with seq > after, oldest first, at most limit (≥ 1), only those whose object is
 * object when it is not NULL/"". *next = seq of the last event given when more remain, else 0. */
int core_audit_list(struct core *c, uint64_t after, size_t limit, const char *object,
		    int (*cb)(const struct store_audit *ev, void *ctx), void *ctx, uint64_t *next);

/* An application as submitted; the API checked the shapes and limits of §14. */
struct core_apply_req {
	const char *profile, *given_name, *surname, *unique_id;
	const char *email, *alt_email, *mobile; /* e-mails are stored lower-case */
	const char *questions[STORE_QUESTIONS];
	const char *answers[STORE_QUESTIONS]; /* as typed; normalised here */
	const char *consents;		      /* accepted names, comma-separated */
	const char *passphrase;		      /* envelope passphrase */
};

/* File an application (slow: derives the answer verifiers and the envelope key first). The
 * subject is found by e-mail or created; approval by policy when the profile is in auto_approve
 * and the identity matches. CF_EMALFORMED, CF_EWEAKPASSWORD, store errors. */
int core_apply(struct core *c, const struct core_who *who, const struct core_apply_req *req,
	       struct store_application *out);
/* "pending", "approved", "rejected" or "activated". */
const char *core_application_status(const struct store_application *a);
/* Applications by id, strictly after `after` (NULL: from the first), with their subject; state 0
 * = all, else only that state. */
int core_application_list(struct core *c, int state, const char *after,
			  int (*cb)(const struct store_application *a,
				    const struct store_subject *s, void *ctx),
			  void *ctx);
/* One application and its subject: CF_ENOTFOUND. Verifiers and keys are the caller's to drop. */
int core_application_get(struct core *c, const char *id, struct store_application *app,
			 struct store_subject *subj);
/* Approve a pending application (CF_ECONFLICT otherwise, CF_ENOTFOUND): questions installed on
 * the subject, enrolment and emergency codes made and mailed. */
int core_application_approve(struct core *c, const struct core_who *who, const char *id,
			     struct store_application *out);
/* Reject a pending application with reason (mailed to the applicant). */
int core_application_reject(struct core *c, const struct core_who *who, const char *id,
			    const char *reason, struct store_application *out);

/* POST /v1/reference-renew: a new code for the expired enrolment code reference of an
 * application when questions_required of the three answers are right. CF_EBADANSWERS (wrong
 * answers: *attempts_left ≥ 0 and counted; unknown or unexpired reference: *attempts_left = -1,
 * nothing counted), CF_EPROOFLOCKED, CF_EMALFORMED (an answer that cannot be normalised). */
int core_reference_renew(struct core *c, const struct core_who *who, const char *reference,
			 const char *const answers[STORE_QUESTIONS], int *attempts_left);

/* POST /v1/emergency-suspend: put the current certificate of the application of reference on
 * hold. CF_EBADEMERGENCY (*attempts_left ≥ 0, for an unknown reference too: §28.3),
 * CF_EPROOFLOCKED, CF_ECONFLICT (no credential yet), CF_EALREADY (suspended or revoked). Each
 * of these answers commits its audit event. */
int core_emergency_suspend(struct core *c, const struct core_who *who, const char *reference,
			   const char *code, char credential_id[STORE_ID_LEN], int *attempts_left);

/* admin/subject-update: a subject's contact details after an identity check outside the
 * protocol (§21). email, alt_email, mobile: NULL = unchanged; check: how the operator checked the
 * person's identity (in the audit detail). CF_ENOTFOUND, CF_ECONFLICT (email held by another
 * subject), CF_EMALFORMED (email and alt_email would be the same). */
int core_subject_update(struct core *c, const struct core_who *who, const char *subject_id,
			const char *email, const char *alt_email, const char *mobile,
			const char *check, struct store_subject *out);

/* admin/unlock: reset the OTP failures of subject_id and the emergency failures of its
 * applications (not the security questions). CF_ENOTFOUND. */
int core_unlock(struct core *c, const struct core_who *who, const char *subject_id,
		struct store_subject *out);

/* ---- recovery and one-time passwords (§17, §19; core/recovery.c, core/otp.c) ------------ */

/* The second factor a recovery of a subject needs: TOTP when the subject confirmed one, else an
 * SMS code when recovery_otp is set, else none. */
enum core_otp_kind { CORE_OTP_NONE = 0, CORE_OTP_TOTP, CORE_OTP_SMS };
/* "none", "totp" or "sms". */
const char *core_otp_kind_name(int kind);

/* POST /v1/recovery: for the subject whose professional address is email (lower case), a link
 * token (link_token_minutes) e-mailed ("recovery-link", with server = the base URL) to the
 * professional and the alternate address. Unknown addresses get the same work (messages rendered
 * and sealed, not stored), one write transaction and one audit event, and both return no earlier
 * than 50 ms after the call (a known address writes more pages): 0 either way. */
int core_recovery_request(struct core *c, const struct core_who *who, const char *email,
			  const char *server);

#define CORE_RECOVERY_CHOICES 16

/* A credential a recovery may replace: the subject's active and suspended ones. */
struct core_recovery_choice {
	char id[STORE_ID_LEN];
	char profile[32];
	char subject[STORE_NAME_LEN];
	int64_t not_after; /* of the current certificate */
};

struct core_recovery_info {
	char questions[STORE_QUESTIONS][STORE_QUESTION_LEN];
	int otp; /* enum core_otp_kind */
	/* the credentials to choose from before answering (seed 000), at most CHOICES */
	size_t ncredentials;
	struct core_recovery_choice credentials[CORE_RECOVERY_CHOICES];
};

/* POST /v1/recovery/start: the questions and the OTP kind of token's recovery. CF_EBADTOKEN
 * (unknown, expired or used), CF_EPROOFLOCKED (questions or OTP locked). */
int core_recovery_start(struct core *c, const struct core_who *who, const char *token,
			struct core_recovery_info *out);

/* POST /v1/recovery/otp: an SMS code (sms_otp_minutes) to the subject's mobile; it replaces the
 * recovery's earlier codes. CF_EBADTOKEN, CF_ECONFLICT (the recovery needs no SMS code),
 * CF_EPROOFLOCKED, CF_ERATELIMIT (one per otp_resend_secs, otp_resend_per_hour per subject;
 * *retry_at = when the next one may be sent, also set on that error). */
int core_recovery_send_otp(struct core *c, const struct core_who *who, const char *token,
			   int64_t *retry_at);

struct core_recovery_req {
	const char *token;
	const char *answers[STORE_QUESTIONS]; /* as typed */
	const char *otp;		      /* NULL when absent */
	const char *credential;		      /* chosen credential id, NULL when absent */
	const char *passphrase;		      /* the new envelope passphrase */
};

struct core_recovery_result {
	char credential_id[STORE_ID_LEN]; /* the credential the new enrolment code replaces */
	/* Set on the errors named, whatever the contract of out-parameters says: */
	int attempts_left; /* CF_EBADOTP, CF_EBADANSWERS */
	size_t nchoices;   /* CF_ECHOICE: the subject's active and suspended credentials */
	struct core_recovery_choice choices[CORE_RECOVERY_CHOICES];
};

/* POST /v1/recovery/complete, in this order: token (CF_EBADTOKEN) → OTP when needed (CF_EBADOTP
 * counted on the subject, CF_EPROOFLOCKED) → answers, questions_required of 3 (CF_EBADANSWERS
 * counted, CF_EPROOFLOCKED) → the credential (CF_ECHOICE when the subject has several and none
 * of them is named: nothing consumed or counted; CF_ECONFLICT when it has none) → a new
 * enrolment code replacing it, a new envelope key from passphrase (CF_EWEAKPASSWORD, checked
 * before anything), the token used. CF_EMALFORMED for an answer that cannot be normalised. */
int core_recovery_complete(struct core *c, const struct core_who *who,
			   const struct core_recovery_req *req, struct core_recovery_result *out);

/* ---- rate limits (issue 15, core/rate.c, spec/protocol.md §28) --------------------------- */

/* Count one request of kind_addr from who->remote and, when target is not NULL, one of kind_target
 * about target, in one write transaction of their own taken before the request does any costly
 * work (KDF, signature, message). Counters are named by an HMAC under the server key, never by
 * the clear address or target. CF_ERATELIMIT with *retry_at (when the fuller window ends) when a
 * counter is over its limit (the first refusal of a window is audited); store errors. */
int core_rate_take(struct core *c, const struct core_who *who, int kind_addr, int kind_target,
		   const char *target, int64_t *retry_at);

/* The name of a rate kind as in the config file and the audit trail ("login_addr"). */
const char *core_rate_name(int kind);

/* Housekeeping (hourly, core/recovery.c): remove the link tokens and SMS codes that expired before
 * core_challenge_cutoff(c, now) (below) and the session records (§23) expired before now; store
 * errors. */
int core_housekeeping(struct core *c);
/* The hourly housekeeping of a server: on a store shared by several servers (store_shared), done
 * only if no server did it in the last period seconds (the turn is taken in the purge's own
 * transaction, so two servers never both do it); on LMDB, core_housekeeping every time.
 * *ran: 1 if this call purged, 0 if another server's run was recent. Store errors. */
int core_housekeeping_turn(struct core *c, int64_t period, int *ran);
/* The expiry before which a challenge may go: max(link token life, 1 hour + SMS code life) before
 * now, so that a purge never forgets an SMS code of the last hour (the hourly rate limit counts
 * them) nor a token that could still be answered. */
int64_t core_challenge_cutoff(const struct core_config *cfg, int64_t now);

struct core_totp_setup {
	char uri[512];	 /* otpauth://totp/certflow:<e-mail>?... */
	char secret[40]; /* base32 of the seed (32 characters) */
	int digits, period;
};

/* POST /v1/totp/setup: a new TOTP seed (20 random octets, sealed with aad "totp:<subject id>")
 * for the subject of account_id's credential; it replaces an unconfirmed one. CF_ECONFLICT (no
 * credential with a subject, or a TOTP confirmed already). The caller wipes out. */
int core_totp_setup(struct core *c, const struct core_who *who, const char *account_id,
		    struct core_totp_setup *out);

/* POST /v1/totp/confirm: the first code of the seed confirms it. CF_ECONFLICT (no seed, or
 * confirmed already), CF_EBADOTP (counted; *attempts_left set), CF_EPROOFLOCKED. */
int core_totp_confirm(struct core *c, const struct core_who *who, const char *account_id,
		      const char *code, int *attempts_left);

/* admin/totp-reset: remove the TOTP seed of subject_id, confirmed or not (a lost phone): recovery
 * asks for SMS codes again (or none) and the holder may set up a new seed. The OTP failures are
 * left to admin/unlock. CF_ENOTFOUND. out holds no seed. */
int core_totp_reset(struct core *c, const struct core_who *who, const char *subject_id,
		    struct store_subject *out);

/* ==== issue 4: remote credentials (spec/protocol.md §22-§27) ============================== */

/* 1 if profile is "remote": a signing certificate whose key the server makes and holds (§24). */
int core_profile_remote(const char *profile);

/* ---- portal logins and sessions (§23; core/login.c) ---------------------------------------- */

#define CORE_TOKEN_LEN 48 /* a bearer token: 43 base64url characters of 256 random bits + NUL */

/* A checked portal session. */
struct core_session {
	char id[STORE_TOKEN_ID_LEN]; /* HMAC id of the token (never the token) */
	char subject_id[STORE_ID_LEN];
	char user_id[STORE_USER_ID_LEN];
	int restricted; /* 1: only the password change is allowed */
	int64_t expires_at;
};

/* Resolve the bearer token of a request: CF_ESESSION (absent, unknown, expired, logged out),
 * CF_EPWCHANGE when the session is restricted and allow_restricted is 0. */
int core_session_check(struct core *c, const char *token, int allow_restricted,
		       struct core_session *out);

/* Open a session for subj_id with a new token (the caller wipes token) inside txn; restricted as
 * given; session_minutes. Used by login and by the QR login (§27). */
int core_session_open_txn(struct core *c, store_txn *txn, const char *subject_id,
			  const char *user_id, int restricted, int64_t now,
			  char token[CORE_TOKEN_LEN], struct core_session *out);

/* The password verifier of a login (§23.2) into l (verifier, salt, iterations): a new random
 * salt, kdf_iterations, PBKDF2-HMAC-SHA-256 of HMAC-SHA-256(server key, "login:" password).
 * Slow: call outside transactions. Checks nothing of the policy (cf_password_check is the
 * caller's). Used for first passwords (approval, §24) and every change. */
int core_login_password_set(const struct core *c, const char *password, struct store_login *l);

#define CORE_LOGIN_NOTICES 16

/* What a successful login answers. */
struct core_login_result {
	char token[CORE_TOKEN_LEN]; /* the bearer token: the caller wipes it */
	struct core_session session;
	int must_change;
	size_t nnotices; /* credentials of the subject marked "update by" (§26.4) */
	struct {
		char credential_id[STORE_ID_LEN];
		int64_t update_by;
		char note[160];
	} notices[CORE_LOGIN_NOTICES];
};

/* POST /v1/login: user id + password → a portal session (restricted while the password must
 * change). CF_EBADLOGIN for an unknown user id or a wrong password (the same work and answer;
 * a wrong password is counted on the login, an unknown user id's on a counter of its own: §28.3),
 * CF_EPROOFLOCKED at login_max_failures (also with
 * the right password, until core_login_unlock or a password reset). Audit "login". */
int core_login(struct core *c, const struct core_who *who, const char *user_id,
	       const char *password, struct core_login_result *out);

/* POST /v1/portal/password: change the password of s's login. CF_EWEAKPASSWORD (policy, or the
 * same as the current one; nothing changed), CF_EBADLOGIN (wrong current password, counted as a
 * failed login), CF_EPROOFLOCKED. On success the login's must_change is cleared, s's session
 * loses its restriction and every other portal session of the subject ends. */
int core_login_password(struct core *c, const struct core_who *who, const struct core_session *s,
			const char *password, const char *new_password);

/* POST /v1/portal/logout: end s's session. */
int core_logout(struct core *c, const struct core_who *who, const struct core_session *s);

/* admin/login-unlock: reset the failed logins of user_id. CF_ENOTFOUND. */
int core_login_unlock(struct core *c, const struct core_who *who, const char *user_id,
		      struct store_login *out);

/* POST /v1/portal/otp: an SMS code for the session (core_sms_send with parent = s->id).
 * CF_ECONFLICT (the subject uses TOTP), CF_EPROOFLOCKED, CF_ERATELIMIT (*retry_at). */
int core_portal_otp(struct core *c, const struct core_who *who, const struct core_session *s,
		    int64_t *retry_at);

/* POST /v1/portal/totp/setup and /confirm: core_totp_setup / core_totp_confirm for the subject
 * subject_id instead of an account's (core/otp.c). */
int core_totp_setup_subject(struct core *c, const struct core_who *who, const char *subject_id,
			    struct core_totp_setup *out);
int core_totp_confirm_subject(struct core *c, const struct core_who *who, const char *subject_id,
			      const char *code, int *attempts_left);

/* POST /v1/password/forgot: for the subject whose professional address is email and who has a
 * login, a link token (SESS_RESET, link_token_minutes) e-mailed ("password-link", with the user
 * id) to the professional and the alternate address. Unknown addresses get the same work and
 * answer, as core_recovery_request (50 ms floor): 0 either way. Audit "login.reset.request". */
int core_password_forgot(struct core *c, const struct core_who *who, const char *email,
			 const char *server);
/* POST /v1/password/reset/otp: an SMS code for the reset of token. CF_EBADTOKEN, CF_ECONFLICT
 * (the subject uses TOTP), CF_EPROOFLOCKED, CF_ERATELIMIT (*retry_at). */
int core_password_reset_otp(struct core *c, const struct core_who *who, const char *token,
			    int64_t *retry_at);
/* POST /v1/password/reset: with the OTP (TOTP or the newest SMS code of the reset), set
 * new_password (must_change 0), reset the failed logins, end every portal session of the
 * subject; the token is used. CF_EWEAKPASSWORD (checked first), CF_EBADTOKEN, CF_EBADOTP
 * (counted; *attempts_left), CF_EPROOFLOCKED. */
int core_password_reset(struct core *c, const struct core_who *who, const char *token,
			const char *otp, const char *new_password, int *attempts_left);

/* ---- portal status (§23.6; core/portal.c) -------------------------------------------------- */

/* One credential of the subject as the portal shows it. */
struct core_portal_cred {
	struct store_credential cr;
	const char *status; /* "pending", "active", "suspended", "revoked", "expired" */
	int has_cert;	    /* cert is the current certificate */
	struct store_cert cert;
	int has_custody; /* remote: the custody record's counters */
	int pin_blocked, pin_tries_left, puk_tries_left;
	char key_algorithm[16]; /* "p256", "p384", "rsa2048", "rsa3072" ("" when unknown) */
	int renewal;		/* 1: a renewal window applies (remote, certificate issued) */
	int renewal_offered;	/* now inside the window and the credential active */
	int64_t renewal_opens;	/* start of the window */
};

struct core_portal_status {
	char user_id[STORE_USER_ID_LEN];
	char given_name[STORE_NAME_LEN], surname[STORE_NAME_LEN], unique_id[65];
	char email[STORE_EMAIL_LEN];
	int otp; /* enum core_otp_kind: CORE_OTP_TOTP or CORE_OTP_SMS */
	int64_t now;
	size_t ncreds;
	struct core_portal_cred *creds; /* malloc'd */
};

/* The portal's view of s's subject and credentials, in creation order. *out is freed with
 * core_portal_status_free. */
int core_portal_status(struct core *c, const struct core_session *s,
		       struct core_portal_status *out);
void core_portal_status_free(struct core_portal_status *st);

/* ---- remote credentials: approval, delivery, activation, PIN and PUK (§24; core/remote.c) -- */

/* The remote credential credential_id of the session's subject: CF_ENOTFOUND when it is not
 * one (another subject's, not remote, unknown: the same answer). */
int core_remote_credential_get(struct core *c, const struct core_session *s,
			       const char *credential_id, struct store_credential *out);

/* The result of a PIN/PUK journey; written whatever the result. */
struct core_remote_outcome {
	int attempts_left; /* CF_EBADPIN, CF_EBADPUK: of that proof; CF_EBADOTP: OTP tries; else -1
			    */
	int activated;	   /* 1: the credential was pending and got its first certificate */
};

/* POST /v1/portal/activate (§24.4): with the PUK and an OTP, set new_pin (8 digits); a pending
 * credential gets its certificate and becomes active (application activated, audit
 * "remote.activate"), an active, suspended or blocked one is unblocked (audit "remote.unblock").
 * CF_EMALFORMED (shapes; nothing counted), CF_ENOTFOUND, CF_EREVOKED, CF_EBADOTP,
 * CF_EPROOFLOCKED, CF_EBADPUK (counted; the last one revokes the credential), CF_EUNAVAILABLE
 * (no master key). */
int core_remote_activate(struct core *c, const struct core_who *who, const struct core_session *s,
			 const char *credential_id, const char *puk, const char *new_pin,
			 const char *otp, struct core_remote_outcome *out);

/* POST /v1/portal/pin (§24.5): change the PIN with the current one and an OTP. CF_EINACTIVE
 * (pending: activate it first), CF_EPINBLOCKED, CF_EBADPIN (counted) and the errors above. */
int core_remote_pin_change(struct core *c, const struct core_who *who, const struct core_session *s,
			   const char *credential_id, const char *pin, const char *new_pin,
			   const char *otp, struct core_remote_outcome *out);

/* ---- CSC API v2 subset (§25; core/csc.c) -------------------------------------------------- */

/* The algorithms of the CSC API (§25.2) by OID; core/csc_algo.c. */
#define CORE_OID_SHA256 "2.16.840.1.101.3.4.2.1"
#define CORE_OID_SHA384 "2.16.840.1.101.3.4.2.2"
#define CORE_OID_SHA512 "2.16.840.1.101.3.4.2.3"
/* Digest length of the hash algorithm hash_oid (32, 48, 64), 0 for another OID. */
size_t core_csc_hash_len(const char *hash_oid);
/* The hash OID that sign_algo names (ecdsa-with-SHA256 → SHA-256, sha384WithRSAEncryption →
 * SHA-384, ...), NULL for an algorithm that names none (rsaEncryption, ecPublicKey) or an
 * unknown OID. */
const char *core_csc_sign_algo_hash(const char *sign_algo);
/* 0 if a key of key_type (enum cf_key_type) signs hash_oid under sign_algo: ecdsa-with-SHA* for
 * an EC key and sha*WithRSAEncryption for an RSA key with the hash it names, or the key's own
 * algorithm (ecPublicKey, rsaEncryption) with any of the three hashes; CF_EBADALG otherwise. */
int core_csc_sign_algo_check(int key_type, const char *sign_algo, const char *hash_oid);
/* key.algo of credentials/info: the OIDs a key of key_type signs with, NULL-terminated. */
const char *const *core_csc_key_algos(int key_type);
/* The named-curve OID of an EC key type, NULL for RSA. */
const char *core_csc_key_curve(int key_type);
/* What a SAD is bound to: SHA-256 over the ASCII hash_oid, one 0x00 octet, and the n hashes
 * of hlen octets in their order. */
int core_csc_digest(const char *hash_oid, const uint8_t *hashes, size_t hlen, size_t n,
		    uint8_t out[32]);
/* Standard base64 with padding (RFC 4648 §4), the CSC API's binary form. decode is strict: the
 * canonical encoding only (padding to a multiple of 4, no white space, zero trailing bits);
 * CF_EMALFORMED, also when out_cap is too small. (Encoding: cf_b64_encode_alloc.) */
int core_csc_b64_decode(const char *in, uint8_t *out, size_t out_cap, size_t *out_len);

/* credentials/list and credentials/info show the remote credentials of core_portal_status. */

/* credentials/sendOTP: an SMS code for session s (as POST /v1/portal/otp) after checking that
 * credential_id is s's. CF_ENOTFOUND, CF_ECONFLICT (the subject uses TOTP), CF_ERATELIMIT
 * (*retry_at set, also on that error). */
int core_csc_send_otp(struct core *c, const struct core_who *who, const struct core_session *s,
		      const char *credential_id, int64_t *retry_at);

/* Hashes of one CSC request: n (1..CUSTODY_SIGN_BATCH_MAX) digests of hlen octets back to back,
 * hlen = core_csc_hash_len(hash_oid). */
struct core_csc_hashes {
	const char *hash_oid;
	const uint8_t *hashes;
	size_t hlen, n;
};

/* credentials/authorize (§25.4): PIN + OTP (core_remote_unlock, counted) for the credential,
 * which must be active with a valid current certificate (CF_EINACTIVE before activation,
 * CF_ESUSPENDED, CF_EREVOKED, CF_ECONFLICT when expired: checked before anything is counted and
 * again in the unlock's transaction), then a new SAD bound to the hashes (sad, sad_seconds;
 * *expires_at). Errors of core_remote_unlock: CF_EBADPIN/CF_EBADOTP with *attempts_left (else
 * -1), CF_EPINBLOCKED, CF_EPROOFLOCKED, CF_EMALFORMED (PIN shape). The caller wipes sad. */
int core_csc_authorize(struct core *c, const struct core_who *who, const struct core_session *s,
		       const char *credential_id, const struct core_csc_hashes *h, const char *pin,
		       const char *otp, char sad[CORE_TOKEN_LEN], int64_t *expires_at,
		       int *attempts_left);

struct custody_sig;
/* signatures/signHash (§25.5): in one write transaction the SAD must be live, unexpired, made
 * by session s for credential_id and for exactly these hashes (CF_EBADSAD otherwise), the
 * credential usable (as for authorize), the custody key active (CF_EPINBLOCKED) and sign_algo
 * fit for it (CF_EBADALG); the SAD is then used up. Outside it, the parked data key opens the
 * key and signs: sigs[0..h->n). Every answer commits a csc.sign audit event. */
int core_csc_sign(struct core *c, const struct core_who *who, const struct core_session *s,
		  const char *credential_id, const char *sad, const struct core_csc_hashes *h,
		  const char *sign_algo, struct custody_sig *sigs);

/* ---- renewal, coupons, updates on the operator's demand (§26; core/remote_renew.c) --------- */

/* Coupons (§26.3; core/coupon.c): 16 Crockford base32 characters (80 bits) shown as 4 groups
 * of 4, stored only as HMAC-SHA-256 under a key derived from the server key. */
#define CORE_COUPON_DISPLAY 19	  /* "XXXX-XXXX-XXXX-XXXX" */
#define CORE_COUPON_ISSUE_MAX 100 /* coupons per coupon-issue */

struct core_coupon_req {
	const char *profile; /* NULL or "" = any profile, else a known profile */
	int days;	     /* validity in days (1..3650), 0 = no expiry */
	const char *note;    /* NULL or text for the operator (≤ 127 octets) */
};

/* Issue n (1..CORE_COUPON_ISSUE_MAX) coupons in one transaction (audit "coupon.issue", no
 * codes). out[i] the records, codes[i] their display form, which exists nowhere else: the
 * caller shows them once and wipes them. CF_EMALFORMED. */
int core_coupon_issue(struct core *c, const struct core_who *who, const struct core_coupon_req *req,
		      size_t n, struct store_coupon *out, char (*codes)[CORE_COUPON_DISPLAY + 1]);
/* Every coupon, by id (no code: only ids and states are kept). */
int core_coupon_list(struct core *c, const char *after,
		     int (*cb)(const struct store_coupon *cp, void *ctx), void *ctx);
/* Cancel an issued coupon: CF_ENOTFOUND, CF_ECONFLICT (used or cancelled already). */
int core_coupon_cancel(struct core *c, const struct core_who *who, const char *id,
		       struct store_coupon *out);
/* "issued", "used", "cancelled" or "expired" at time now. */
const char *core_coupon_status(const struct store_coupon *cp, int64_t now);

/* What a renewal or an update takes (the API checked the shapes: PIN 8 digits, passphrase of the
 * policy, consents, OTP digits). */
struct core_rekey_req {
	const char *credential_id;
	const char *consents; /* accepted names, comma-separated (audit) */
	const char *pin;      /* current PIN (renewal; update start) */
	const char *otp;
	const char *new_pin;	/* NULL: keep the PIN */
	const char *passphrase; /* envelope passphrase of the new envelope */
	const char *coupon;	/* renewal with entitlement "coupon"; NULL if absent */
	const char *ticket;	/* update/complete */
};

struct core_rekey_result {
	struct store_credential cr; /* after the change */
	struct store_cert cert;	    /* the new certificate */
	uint32_t envelope_number;   /* of the new envelope */
	/* set on the errors named, whatever the contract of out-parameters says: */
	int64_t retry_at;  /* CF_ENOTWINDOW: when the window opens; CF_ERATELIMIT */
	int attempts_left; /* CF_EBADPIN, CF_EBADOTP: attempts left (-1 unknown) */
};

/* POST /v1/portal/renew (§26.2): the session's remote credential, active, inside its window
 * (CF_ENOTWINDOW + retry_at; an expired certificate: CF_ECONFLICT, a new application is
 * needed), an entitlement (CF_EENTITLEMENT, CF_EBADCOUPON), PIN + OTP (core_remote_unlock:
 * CF_EBADPIN, CF_EBADOTP, CF_EPINBLOCKED, CF_EPROOFLOCKED), then a new key pair under the same
 * data key, a new PUK, PIN kept or new, a new certificate (the old one stays valid), a new
 * emergency code and envelope e-mailed. CF_EWEAKPASSWORD, CF_EINACTIVE, CF_EREVOKED,
 * CF_ESUSPENDED, CF_ENOTFOUND, CF_EUNAVAILABLE (no master key). */
int core_remote_renew(struct core *c, const struct core_who *who, const struct core_session *s,
		      const struct core_rekey_req *req, struct core_rekey_result *out);

/* admin/update-mark (§26.4): mark credential_id, or every active remote credential of profile,
 * or of issuer (its current certificate's issuer DN as ca_cert_names prints it), or (all) every
 * active remote credential "update by" by with note, and e-mail each holder ("update-notice").
 * *marked = how many. CF_ENOTFOUND (credential), CF_EMALFORMED. */
struct core_update_mark_req {
	const char *credential_id; /* exactly one of credential_id, profile, issuer, all */
	const char *profile;
	const char *issuer;
	int all;
	int64_t by;
	const char *note; /* NULL or "" = none */
};
int core_update_mark(struct core *c, const struct core_who *who,
		     const struct core_update_mark_req *req, size_t *marked);

/* POST /v1/portal/update (§26.5): PIN + OTP of a credential marked for update → a ticket
 * (token, caller wipes) valid update_minutes holding the parked data key. Errors as renewal;
 * CF_ECONFLICT when the credential is not marked. */
int core_update_start(struct core *c, const struct core_who *who, const struct core_session *s,
		      const struct core_rekey_req *req, char ticket[CORE_TOKEN_LEN],
		      int64_t *expires_at, struct core_rekey_result *out);
/* POST /v1/portal/update/otp: an SMS code for the ticket. CF_EBADTOKEN, CF_ECONFLICT (TOTP),
 * CF_ERATELIMIT (out->retry_at). */
int core_update_send_otp(struct core *c, const struct core_who *who, const struct core_session *s,
			 const char *ticket, struct core_rekey_result *out);
/* POST /v1/portal/update/complete: ticket (single use; CF_EBADTOKEN) + OTP → new key pair,
 * new certificate, the old one revoked (superseded), update_by cleared, new envelope. */
int core_update_complete(struct core *c, const struct core_who *who, const struct core_session *s,
			 const struct core_rekey_req *req, struct core_rekey_result *out);

/* The entitlement program (§26.3; core/entitlement.c): run entitlement_command with the
 * credential's public facts in its environment, stdin /dev/null, at most 30 s. 0 = entitled,
 * CF_EENTITLEMENT (refused, failed, killed after the timeout or not runnable). */
int core_entitlement_check(const struct core *c, const char *credential_id, const char *subject_id,
			   const char *profile, const char *user_id);

/* ---- QR login (§27; core/qrlogin.c) ------------------------------------------------------- */

/* The challenge text the waiting side shows as a QR code: CORE_QR_PREFIX and the challenge id
 * (22 base64url characters of 128 random bits; public). */
#define CORE_QR_PREFIX "certflow-login:"
#define CORE_QR_ID_LEN 22
#define CORE_QR_TEXT_LEN 48 /* prefix + id + NUL fit */

struct core_qr_start {
	char challenge[CORE_QR_TEXT_LEN]; /* "certflow-login:<challenge id>" */
	char poll_token[CORE_TOKEN_LEN];  /* secret: the caller wipes it */
	int64_t expires_at;
};

/* POST /v1/qr-login: a new challenge (qr_login_seconds) and its poll token; user_id (10 digits,
 * or NULL/"" for anyone) is the only login that may approve it. Audit "qrlogin.start". */
int core_qr_start(struct core *c, const struct core_who *who, const char *user_id,
		  struct core_qr_start *out);

/* POST /v1/qr-login/approve by account_id with challenge (the text of the QR code); credential
 * (NULL/"": any of the account's) narrows the credentials considered. The account must hold an
 * active credential, with a valid, unexpired current certificate, of a subject that has a portal
 * login — that login's user id when the waiting side named one. CF_EMALFORMED (not a challenge
 * text), CF_EBADTOKEN (unknown or expired), CF_ECONFLICT (approved or used already),
 * CF_EUNAUTHORIZED (no such credential). The refusals after the challenge was found are audited
 * ("qrlogin.approve") and committed. user_id receives the approved login's user id. */
int core_qr_approve(struct core *c, const struct core_who *who, const char *account_id,
		    const char *challenge, const char *credential, char user_id[STORE_USER_ID_LEN]);

/* POST /v1/qr-login/poll: *pending = 1 while the challenge waits (out untouched); once approved,
 * *pending = 0 and a portal session for the approved login in *out as core_login gives it
 * (restricted while the password must change; the notices), exactly once, audited
 * "qrlogin.grant". CF_EBADTOKEN (unknown, expired or used poll token), CF_EUNAUTHORIZED (the
 * approving credential or the login went away in between; the challenge is used up). */
int core_qr_poll(struct core *c, const struct core_who *who, const char *poll_token, int *pending,
		 struct core_login_result *out);

/* ---- renewal information and CRL -------------------------------------------------------- */

/* certid "b64u(AKI).b64u(serial octets)" of a certificate serial (hex). out_cap ≥ 128. */
int core_certid(struct core *c, const char *serial, char *out, size_t out_cap);
/* Suggested window of the certificate named by certid: CF_ENOTFOUND, CF_EMALFORMED. */
int core_renewal_info(struct core *c, const char *certid, int64_t *start, int64_t *end);
/* An ARI certID (b64u(AKI).b64u(serial)) → the serial's lower-case hex: CF_EMALFORMED, or
 * CF_ENOTFOUND when the AKI is not this CA's. */
int core_certid_serial(struct core *c, const char *certid, char serial[STORE_SERIAL_LEN]);

/* The current CRL (DER), regenerated when a revocation changed or nextUpdate is near. *der is a
 * malloc'd copy the caller frees. */
int core_crl(struct core *c, uint8_t **der, size_t *len);

#endif
