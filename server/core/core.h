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

struct core_config {
	int enrolment_code_days;     /* lifetime of an enrolment code (15) */
	int max_activation_attempts; /* wrong codes before the enrolment locks (5) */
	int device_validity_days;    /* 365 */
	int signing_validity_days;   /* 1095 */
	int signing_renewal_days;    /* renewal window of signing certificates (90) */
	/* issue 3: the human journeys (spec/protocol.md §14-§19) */
	char auto_approve[128];	  /* profiles approved by policy, comma-separated ("" = none) */
	int questions_required;	  /* right answers needed of 3 (2) */
	int question_attempts;	  /* attempts before the questions lock (5) */
	int link_token_minutes;	  /* life of a recovery link token (60) */
	int recovery_otp;	  /* 1: recovery/complete also needs an OTP (default 1) */
	int otp_digits;		  /* 6 */
	int otp_step_secs;	  /* TOTP time step (30) */
	int otp_window_steps;	  /* accepted steps either side of now (1) */
	int otp_max_failures;	  /* 5 */
	int sms_otp_minutes;	  /* life of an SMS code (5) */
	int otp_resend_secs;	  /* minimum gap between two SMS codes of one subject (60) */
	int otp_resend_per_hour;  /* SMS codes per subject per hour (5) */
	int emergency_max_failures; /* 5 */
	uint32_t kdf_iterations;  /* PBKDF2-HMAC-SHA-256 iterations for answers and envelopes
				     (600000; tests may lower it, never below 1000) */
};

/* Defaults of spec/protocol.md. */
void core_config_defaults(struct core_config *cfg);

struct notify;

struct core {
	store *st;
	struct notify *nt; /* outbox (notify.h); set by the server after core_init, may be NULL
			      in unit tests (then journeys that send messages fail CF_EINTERNAL) */
	ca *ca;
	struct core_config cfg;
	uint8_t secret[32]; /* HMAC key for stored codes (secret.key) */
	/* CRL cache */
	pthread_mutex_t crl_lock;
	uint8_t *crl_der;
	size_t crl_len;
	int64_t crl_this_update;
	int crl_dirty;
};

#define CORE_CRL_NEXT_UPDATE_SECS (7 * 86400)

/* Initialise c around an open store and CA (both stay owned by the caller). */
int core_init(struct core *c, store *st, ca *authority, const struct core_config *cfg,
	      const uint8_t secret[32]);
/* Wipe the secret and free the CRL cache. Safe on a zeroed struct. */
void core_fini(struct core *c);

/* ---- profiles and renewal windows ------------------------------------------------------- */

/* 1 if profile is "device" or "signing". */
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
};

/* Create an enrolment code: unique 12-digit reference, 100-bit activation code. *code receives
 * the display form (24 characters + NUL: 5 groups of 4 joined by '-'); the caller wipes it. */
int core_enrolment_create(struct core *c, const struct core_enrol_req *req,
			  struct store_enrolment *out, char code[25]);
int core_enrolment_list(struct core *c, int (*cb)(const struct store_enrolment *e, void *ctx),
			void *ctx);
/* Cancel a live enrolment: CF_ENOTFOUND, CF_ECONFLICT (not live). */
int core_enrolment_cancel(struct core *c, const char *reference, struct store_enrolment *out);
/* "live", "used", "expired", "locked" or "cancelled" at time now. */
const char *core_enrolment_status(const struct store_enrolment *e, int64_t now);

/* ---- activation and renewal ------------------------------------------------------------- */

struct core_issue_result {
	struct store_account account;
	struct store_credential credential;
	struct store_cert cert;
	int account_created; /* activation made a new account */
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
 * CF_EBADCODE (unknown reference or wrong code), CF_ELOCKED, CF_EEXPIRED, CF_EUSED,
 * CF_ECANCELLED, CF_EDEACTIVATED (the key's account is deactivated), store errors. */
int core_activate(struct core *c, const struct core_activate_req *req,
		  struct core_issue_result *out);

/* Renew credential_id of account_id with a new CSR (§10). Errors: CF_ENOTFOUND,
 * CF_EUNAUTHORIZED (not the account's), CF_EREVOKED, CF_ESUSPENDED, CF_ENOTWINDOW (out->retry_at
 * set), CF_EBADCSR (same key as the current certificate), CF_ECONFLICT (renewed concurrently). */
int core_renew(struct core *c, const char *account_id, const char *credential_id,
	       const uint8_t *csr, size_t csr_len, struct core_issue_result *out);

/* ---- reads ------------------------------------------------------------------------------ */

int core_account_get(struct core *c, const char *id, struct store_account *out);
/* Credentials of an account (ids in creation order). */
int core_account_credentials(struct core *c, const char *account_id,
			     int (*cb)(const struct store_credential *cr, void *ctx), void *ctx);
int core_credential_get(struct core *c, const char *id, struct store_credential *out);
int core_credential_list(struct core *c, int (*cb)(const struct store_credential *cr, void *ctx),
			 void *ctx);
/* Certificates of a credential, oldest first. */
int core_credential_certs(struct core *c, const char *id,
			  int (*cb)(const struct store_cert *cert, void *ctx), void *ctx);
int core_cert_get(struct core *c, const char *serial, struct store_cert *out);
/* "valid", "suspended", "revoked" or "expired" (valid but past not_after). */
const char *core_cert_status(const struct store_cert *cert, int64_t now);
/* "active", "suspended", "revoked" or "expired" (current certificate past not_after). */
const char *core_credential_status(const struct store_credential *cr, int64_t cur_not_after,
				   int64_t now);

/* ---- operator and account actions ------------------------------------------------------- */

/* Revoke with an RFC 5280 reason (0..10 except 6, 7, 8: CF_EBADREASON). CF_ENOTFOUND,
 * CF_EALREADY. A revoked current certificate revokes its credential, unless the reason is 4
 * (superseded). */
int core_revoke(struct core *c, const char *serial, int reason, struct store_cert *out);
/* certificateHold: CF_EALREADY if revoked or already suspended. */
int core_suspend(struct core *c, const char *serial, struct store_cert *out);
/* Lift a hold: CF_ECONFLICT if the certificate is not suspended. */
int core_reinstate(struct core *c, const char *serial, struct store_cert *out);

int core_account_deactivate(struct core *c, const char *id, struct store_account *out);
/* Replace the account's key (RFC 8555 §7.3.5): old_key must be its current key
 * (CF_EUNAUTHORIZED otherwise); CF_ECONFLICT if new_key belongs to an account already, whose id
 * is then copied to holder (64 bytes). */
int core_account_key_change(struct core *c, const char *id, const cf_key *old_key,
			    const cf_key *new_key, const char *new_jwk, struct store_account *out,
			    char holder[64]);

/* Create the admin account for key on first start (role admin, id = thumbprint); nothing when it
 * exists. */
int core_admin_ensure(struct core *c, const cf_key *key);

/* ---- who: the actor of a request, for the audit trail ------------------------------------ */

struct core_who {
	const char *actor;  /* "account:<id>", "admin:<id>", "anonymous", "system" */
	const char *remote; /* client address or "" */
};

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

/* ---- renewal information and CRL -------------------------------------------------------- */

/* certid "b64u(AKI).b64u(serial octets)" of a certificate serial (hex). out_cap ≥ 128. */
int core_certid(struct core *c, const char *serial, char *out, size_t out_cap);
/* Suggested window of the certificate named by certid: CF_ENOTFOUND, CF_EMALFORMED. */
int core_renewal_info(struct core *c, const char *certid, int64_t *start, int64_t *end);

/* The current CRL (DER), regenerated when a revocation changed or nextUpdate is near. *der is a
 * malloc'd copy the caller frees. */
int core_crl(struct core *c, uint8_t **der, size_t *len);

#endif
