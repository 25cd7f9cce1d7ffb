/* core_internal — helpers shared by the files of server/core/; nobody else includes this. */
#ifndef CORE_INTERNAL_H
#define CORE_INTERNAL_H

#include "core.h"

/* 26 Crockford base32 characters of 128 random bits. */
int core_random_id(char out[STORE_ID_LEN]);

/* Issue a certificate for key under the names of enrolment e (never the CSR's names). */
int core_issue_for(struct core *c, const struct store_enrolment *e, const cf_key *key, int64_t now,
		   struct ca_issued *out);

/* The certificate holds the key whose SubjectPublicKeyInfo is spki (a certificate's DER holds
 * its SubjectPublicKeyInfo verbatim). */
int core_cert_has_key(const struct store_cert *cert, const uint8_t *spki, size_t len);

/* Fill a certificate record from what the CA issued. */
int core_cert_record(const struct ca_issued *is, const char *credential_id, struct store_cert *out);

/* Inside txn: a new random 12-digit reference that names no enrolment yet (core/enrol.c). */
int core_reference_new(store_txn *txn, char out[STORE_REF_LEN]);

/* Inside txn: approve app (pending) — its questions become the subject's, a new enrolment and
 * emergency code are made and mailed — and audit it; decided_by is the operator's account id or
 * "policy" (core/application.c). */
int core_application_approve_txn(struct core *c, store_txn *txn, const struct core_who *who,
				 struct store_application *app, const char *decided_by);

/* Inside txn: revoke certificate serial with reason, or suspend it when reason is 6
 * (certificateHold), as core_revoke / core_suspend do, audit event included; out may be NULL.
 * The caller invalidates the CRL after the commit. */
int core_cert_status_txn(store_txn *txn, const struct core_who *who, const char *serial, int reason,
			 int64_t now, struct store_cert *out);

/* Inside txn: the failures counted against name of kind ("activate", "login", "emergency") when
 * name is unknown (core/rate.c), so that an unknown name answers like a known one: add is 0 (read)
 * or 1 (count one more, at most max); the count lasts enrolment_code_days. */
int core_ghost_failures_txn(const struct core *c, store_txn *txn, const char *kind,
			    const char *name, int add, int max, int64_t now, int *failures);

/* A revocation state changed: the next CRL request regenerates it. */
void core_crl_invalidate(struct core *c);

/* ---- one-time passwords inside a journey's write transaction (core/otp.c) ---------------- */

/* Which OTP kind a journey of subj needs (enum core_otp_kind). */
int core_otp_kind(const struct core *c, const struct store_subject *subj);
/* OTP attempts left before the subject's OTP locks (≥ 0). */
int core_otp_left(const struct core *c, const struct store_subject *subj);

/* What a right code consumes once the journey succeeds. */
struct core_otp_use {
	int kind;
	int64_t step;			 /* TOTP: the step it matched */
	char sms_id[STORE_ID_LEN * 2]; /* SMS: the challenge it matched */
};

/* Check code against subj inside txn: TOTP with its sealed seed (±otp_window_steps, steps after
 * totp_last_step only), SMS with the newest pending, unexpired code of link challenge parent.
 * CF_EPROOFLOCKED when the OTP is locked already (nothing counted). A wrong code counts a failure
 * on *subj: CF_EBADOTP, CF_EPROOFLOCKED from otp_max_failures; the caller puts subj and commits.
 * 0: *use tells core_otp_consume what to mark used. */
int core_otp_verify(struct core *c, store_txn *txn, struct store_subject *subj, int kind,
		    const char *parent, const char *code, int64_t now, struct core_otp_use *use);
/* Mark use's code used (SMS challenge; TOTP last step on *subj) and reset the subject's OTP
 * failures; the caller puts subj. */
int core_otp_consume(store_txn *txn, struct store_subject *subj, const struct core_otp_use *use);

/* An SMS code drawn outside the transaction. */
struct core_sms {
	char id[STORE_ID_LEN * 2];
	char code[8]; /* 6 digits (PROOF_SMS_DIGITS) */
	uint8_t mac[32];
};
/* Draw an SMS code and its challenge id (the caller wipes sms). */
int core_sms_new(const struct core *c, struct core_sms *sms);
/* Inside txn: the rate limits of subj (CF_ERATELIMIT, *retry_at), then sms as the newest code of
 * link challenge parent (only the newest one is ever accepted) and the text queued to the
 * mobile. */
int core_sms_send(struct core *c, store_txn *txn, const struct store_subject *subj,
		  const char *parent, const struct core_sms *sms, int64_t now, int64_t *retry_at);

/* Requests that must not tell whether an address is known (recovery, forgot password; core/
 * recovery.c): the work of the two e-mails of a known address (two messages of the same size
 * holding token sealed like the outbox seals them, thrown away), and the write: store_write of
 * fn, notify_kick, and no return before 50 ms after the call (CLOCK_MONOTONIC), since a known
 * address writes more pages before the same fsync. Returns store_write's result. */
int core_dummy_mail(const struct core *c, const char *token);
int core_blind_write(struct core *c, int (*fn)(store_txn *txn, void *ctx), void *ctx);

/* ==== issue 4 (remote credentials) ========================================================== */

#include "custody.h"

/* The custody limits of the configuration (pin_max_tries, puk_max_tries). */
void core_custody_limits(const struct core *c, struct custody_limits *out);

/* What core_remote_unlock found, for its in_txn callback and its caller. */
struct core_remote_unlock {
	struct store_credential cr;	/* the credential (read in the transaction) */
	struct store_subject subj;	/* its subject (put back by core_remote_unlock) */
	struct custody_result res;	/* the PIN/PUK verdict */
	int otp_attempts_left;		/* CF_EBADOTP */
	int64_t now;
};

/* The building block of every remote journey that needs PIN (or PUK) + OTP (§24.4): with the
 * session s, in one write transaction: the credential is s's remote credential (CF_ENOTFOUND),
 * not revoked (CF_EREVOKED); the OTP (TOTP if the subject confirmed one, else the newest SMS code
 * sent for session s: core_otp_verify with parent = s->id; CF_EBADOTP counted, CF_EPROOFLOCKED);
 * then custody_unlock_txn with secret as proof (CF_EBADPIN/CF_EBADPUK counted, CF_EPINBLOCKED;
 * a PUK exhaustion revokes the credential and its certificate in the same transaction); then,
 * on success, in_txn (may be NULL) runs in the same transaction. Failures that were counted are
 * committed with their audit event (action) before the error is returned. The OTP is consumed
 * once the PIN/PUK was tried. On 0, *out holds the data key (wipe it with
 * custody_unlocked_wipe). info (may be NULL) is filled whatever the result. CF_EMALFORMED for a
 * PIN/PUK of the wrong shape (nothing counted). */
int core_remote_unlock(struct core *c, const struct core_who *who, const struct core_session *s,
		       const char *credential_id, int proof, const char *secret, const char *otp,
		       const char *action,
		       int (*in_txn)(struct core *c, store_txn *txn, struct core_remote_unlock *u,
				     const struct custody_unlocked *dk, void *ctx),
		       void *ctx, struct custody_unlocked *out, struct core_remote_unlock *info);

/* A data key parked between two requests under a token (SAD §25.3, update §26.5; core/park.c,
 * §22.9): wrap dk's DK (a PIN unlock, else CF_EUNAUTHORIZED) under HMAC(master key,
 * "certflow-park-v1:" token) into blob (60 octets), and open it again. CF_ECRYPTO when the token
 * does not open it (or it was parked for another credential), CF_EUNAVAILABLE without a master
 * key. core_unpark_dk fills credential_id, proof = CUSTODY_PIN and dk but leaves sealed_key_len
 * 0: inside the transaction that reads the custody record, call custody_unlocked_attach(out,
 * &rec) before signing or re-keying with it. */
int core_park_dk(const struct core *c, const char *token, const struct custody_unlocked *dk,
		 uint8_t *blob, size_t cap, size_t *blob_len);
int core_unpark_dk(const struct core *c, const char *token, const uint8_t *blob, size_t blob_len,
		   const char *credential_id, struct custody_unlocked *out);

/* Inside txn: r->notices = the credentials of subject_id marked "update by" (§26.4), as a login
 * answers them (core/login.c; the QR login's poll answers the same). */
int core_login_notices_txn(store_txn *txn, const char *subject_id, struct core_login_result *r);

/* HMAC id (base64url, 43 characters) of a bearer token, for store_session ids (core/park.c):
 * base64url(HMAC-SHA-256(secret.key, "token:" ‖ token)). CF_EMALFORMED for "" or an overlong
 * token. */
int core_token_id(const struct core *c, const char *token, char out[STORE_TOKEN_ID_LEN]);
/* A new random bearer token (256 bits, base64url) and its id. */
int core_token_new(const struct core *c, char token[CORE_TOKEN_LEN],
		   char id[STORE_TOKEN_ID_LEN]);

/* Inside txn: issue the certificate of a remote credential for pub (the custody key) under the
 * names of its subject, store it as cr's current certificate (cr put), audit "certificate.issue"
 * (core/remote.c). */
int core_remote_issue_txn(struct core *c, store_txn *txn, const struct core_who *who,
			  struct store_credential *cr, const struct store_subject *subj,
			  const cf_key *pub, int64_t now, struct store_cert *out);

/* ---- renewal and update (§26; core/coupon.c) ------------------------------------------------ */

/* The MAC of a typed coupon code (normalised as an emergency code): CF_EBADCOUPON when it has
 * not the shape of a code. */
int core_coupon_mac(const struct core *c, const char *code, uint8_t mac[32]);
/* Inside txn: the coupon of mac must be issued, unexpired and for profile (or any):
 * CF_EBADCOUPON otherwise; consume: mark it used by credential_id (audit "coupon.use"). */
int core_coupon_use_txn(store_txn *txn, const uint8_t mac[32], const char *profile,
			const char *credential_id, int64_t now, int consume);

/* ---- approval of remote applications (core/remote.c, core/application.c) ------------------- */

/* Seal the UTF-8 JSON text plain as envelope number `number` (§16) under app's envelope key.
 * *armoured: malloc'd, free it with cf_free_secret. core/application.c. */
int core_envelope_seal(struct core *c, const struct store_application *app, uint32_t number,
		       const char *plain, char **armoured);

/* What the approval of a remote application makes outside the transaction (slow: the key pair,
 * PBKDF2 for PIN, PUK and the first password): the custody record, the clear PIN, PUK and first
 * password (only until the sealed e-mails are queued). Opaque; core_remote_prep_free wipes it. */
struct core_remote_prep;
/* CF_EUNAVAILABLE without a master key; crypto errors. */
int core_remote_prepare(struct core *c, struct core_remote_prep **out);
void core_remote_prep_free(struct core_remote_prep *p);

/* Inside the approval's txn, app already APP_APPROVED (the caller puts and audits
 * "application.approve"): the pending remote credential with its custody record, a login for
 * subj if it has none, a reference number (an enrolment record in state used names it, so that
 * §20 finds the application), a new emergency code, the "remote-credentials" and
 * "remote-envelope" e-mails, app put; audit "remote.approve". */
int core_remote_approve_txn(struct core *c, store_txn *txn, const struct core_who *who,
			    struct store_application *app, const struct store_subject *subj,
			    const struct core_remote_prep *p);

#endif
