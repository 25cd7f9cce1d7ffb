/*
 * api — one file per resource of spec/protocol.md. A handler decodes the request (bounded
 * cf_json getters), calls the core, and encodes the JSON answer; it never touches CivetWeb, the
 * store's transactions or the CA's keys. This header also holds the encoders shared by
 * several resources and the route table.
 */
#ifndef API_H
#define API_H

#include "core.h"
#include "http.h"

/* The route table of certflowd, terminated by a {NULL} row. */
extern const struct http_route api_routes[];
/* What each route answers besides the problems of every route and of its auth (route_problems.c,
 * the "Resources" table of spec/errors.md). */
extern const struct http_route_problems api_route_problems[];

/* ---- handlers --------------------------------------------------------------------------- */
int api_directory(const struct http_req *req, struct http_resp *resp);
int api_new_nonce(const struct http_req *req, struct http_resp *resp);
int api_activate(const struct http_req *req, struct http_resp *resp);
int api_renew(const struct http_req *req, struct http_resp *resp);
int api_account(const struct http_req *req, struct http_resp *resp);
/* A POST to the request's own account (account.c; §6 and RFC 8555 §7.3.6 alike): a payload
 * without "status" leaves the account as it is, "status": "deactivated" deactivates it. *out: the
 * account as it is now (a copy). CF_EMALFORMED (detail set) for another status, else
 * core_account_deactivate's codes. */
int api_account_update(const struct http_req *req, struct http_resp *resp,
		       struct store_account *out);
int api_key_change(const struct http_req *req, struct http_resp *resp);
int api_credential(const struct http_req *req, struct http_resp *resp);
int api_renewal_info(const struct http_req *req, struct http_resp *resp);
int api_ca_chain(const struct http_req *req, struct http_resp *resp);
int api_crl(const struct http_req *req, struct http_resp *resp);

int api_admin_enrolment_create(const struct http_req *req, struct http_resp *resp);
int api_admin_enrolment_list(const struct http_req *req, struct http_resp *resp);
int api_admin_enrolment_cancel(const struct http_req *req, struct http_resp *resp);
int api_admin_credential_list(const struct http_req *req, struct http_resp *resp);
int api_admin_credential_show(const struct http_req *req, struct http_resp *resp);
int api_admin_certificate_show(const struct http_req *req, struct http_resp *resp);
int api_admin_revoke(const struct http_req *req, struct http_resp *resp);
int api_admin_suspend(const struct http_req *req, struct http_resp *resp);
int api_admin_reinstate(const struct http_req *req, struct http_resp *resp);

/* issue 3, applications (apply.c, application.c, emergency.c, audit.c) */
int api_apply(const struct http_req *req, struct http_resp *resp);
int api_reference_renew(const struct http_req *req, struct http_resp *resp);
int api_emergency_suspend(const struct http_req *req, struct http_resp *resp);
int api_admin_application_list(const struct http_req *req, struct http_resp *resp);
int api_admin_application_show(const struct http_req *req, struct http_resp *resp);
int api_admin_application_approve(const struct http_req *req, struct http_resp *resp);
int api_admin_application_reject(const struct http_req *req, struct http_resp *resp);
int api_admin_audit_list(const struct http_req *req, struct http_resp *resp);
int api_admin_unlock(const struct http_req *req, struct http_resp *resp);
int api_admin_totp_reset(const struct http_req *req, struct http_resp *resp);
int api_admin_subject_update(const struct http_req *req, struct http_resp *resp);

/* issue 3, recovery and one-time passwords (recovery.c, totp.c) */
int api_recovery(const struct http_req *req, struct http_resp *resp);
int api_recovery_start(const struct http_req *req, struct http_resp *resp);
int api_recovery_otp(const struct http_req *req, struct http_resp *resp);
int api_recovery_complete(const struct http_req *req, struct http_resp *resp);
int api_totp_setup(const struct http_req *req, struct http_resp *resp);
int api_totp_confirm(const struct http_req *req, struct http_resp *resp);

/* Give the problem of a failed handler an "attemptsLeft" member (resp->extra; nothing when
 * attempts_left < 0). CF_ENOMEM. (encode.c; for every counted proof: badOTP, badAnswers,
 * badEmergencyCode.) */
int api_problem_attempts(struct http_resp *resp, int attempts_left);

/* The actor of a request for the audit trail (encode.c): "admin:<id>" for an admin account,
 * "account:<id>" for another account, "anonymous" for a jwk request; the remote address. buf
 * holds the actor's text and must outlive who. */
#define API_WHO_LEN 96
void api_who(const struct http_req *req, struct core_who *who, char buf[API_WHO_LEN]);

/* issue 4, holder login and portal (portal.c, totp.c) */
int api_login(const struct http_req *req, struct http_resp *resp);
int api_portal_password(const struct http_req *req, struct http_resp *resp);
int api_portal_logout(const struct http_req *req, struct http_resp *resp);
int api_portal_status(const struct http_req *req, struct http_resp *resp);
int api_portal_otp(const struct http_req *req, struct http_resp *resp);
int api_portal_totp_setup(const struct http_req *req, struct http_resp *resp);
int api_portal_totp_confirm(const struct http_req *req, struct http_resp *resp);
int api_password_forgot(const struct http_req *req, struct http_resp *resp);
int api_password_reset_otp(const struct http_req *req, struct http_resp *resp);
int api_password_reset(const struct http_req *req, struct http_resp *resp);
int api_admin_login_unlock(const struct http_req *req, struct http_resp *resp);

/* issue 4, remote credentials: activation, unblocking, PIN change (portal_remote.c) */
int api_portal_activate(const struct http_req *req, struct http_resp *resp);
int api_portal_pin(const struct http_req *req, struct http_resp *resp);

/* issue 4, the CSC API v2 subset under /csc/v2/ (csc.c, §25) */
int api_csc_info(const struct http_req *req, struct http_resp *resp);
int api_csc_credentials_list(const struct http_req *req, struct http_resp *resp);
int api_csc_credentials_info(const struct http_req *req, struct http_resp *resp);
int api_csc_send_otp(const struct http_req *req, struct http_resp *resp);
int api_csc_authorize(const struct http_req *req, struct http_resp *resp);
int api_csc_sign_hash(const struct http_req *req, struct http_resp *resp);

/* The answer of a login (portal.c): {token, expiresAt, mustChangePassword, userId, notices}
 * with status (login 201; the QR login's poll 200). CF_ENOMEM. */
int api_login_answer(struct http_resp *resp, int status, const struct core_login_result *r);
/* Push the portal's object of credential pc of st (§23.6: id, profile, status, PIN/PUK counters,
 * certificate, renewal, update notice) onto arr (portal.c; status and the remote journeys answer
 * it). CF_ENOMEM. */
int api_portal_cred_json(const struct core_portal_status *st, const struct core_portal_cred *pc,
			 cf_json *arr);

/* The actor of a portal request (portal.c): "login:<user id>" of the session; the remote
 * address. buf must outlive who. */
void api_who_session(const struct http_req *req, const struct core_session *s, struct core_who *who,
		     char buf[API_WHO_LEN]);

/* The payload's "email" (recovery.c): one '@' with text on both sides, at most API_EMAIL_MAX
 * octets, no white space or control characters; copied in lower case into out. CF_EMALFORMED
 * with a detail. */
#define API_EMAIL_MAX 254
int api_email(const struct http_req *req, struct http_resp *resp, char out[API_EMAIL_MAX + 1]);
/* The payload's "token" (a link token, at most 64 characters): CF_EMALFORMED with a detail. */
int api_link_token(const struct http_req *req, struct http_resp *resp, const char **token);

/* Count the request in the rate limits of kind_addr (who's address) and kind_target (target, may be
 * NULL) with core_rate_take (encode.c, issue 15): CF_ERATELIMIT with a detail and retry_at in
 * resp; store errors. Call it after decoding and before the core does costly work. */
int api_rate(struct http_resp *resp, struct core *c, const struct core_who *who, int kind_addr,
	     int kind_target, const char *target);

/* The portal session of a bearer request (encode.c): core_session_check on req->bearer into
 * *out; CF_ESESSION (absent, unknown, expired, logged out) or CF_EPWCHANGE (restricted session
 * and allow_restricted 0) with a detail in resp. Every HTTP_AUTH_BEARER handler starts with it. */
int api_session(const struct http_req *req, struct http_resp *resp, int allow_restricted,
		struct core_session *out);

/* issue 3, notifications (outbox.c) */
int api_admin_outbox_list(const struct http_req *req, struct http_resp *resp);

/* issue 4, renewal, coupons and updates of remote credentials (portal_renew.c,
 * admin_remote.c, §26) */
int api_portal_renew(const struct http_req *req, struct http_resp *resp);
int api_portal_update(const struct http_req *req, struct http_resp *resp);
int api_portal_update_otp(const struct http_req *req, struct http_resp *resp);
int api_portal_update_complete(const struct http_req *req, struct http_resp *resp);
int api_admin_coupon_issue(const struct http_req *req, struct http_resp *resp);
int api_admin_coupon_list(const struct http_req *req, struct http_resp *resp);
int api_admin_coupon_cancel(const struct http_req *req, struct http_resp *resp);
int api_admin_update_mark(const struct http_req *req, struct http_resp *resp);

/* issue 10, the named operators (operator.c, §12 "Operators") */
int api_admin_operator_add(const struct http_req *req, struct http_resp *resp);
int api_admin_operator_list(const struct http_req *req, struct http_resp *resp);
int api_admin_operator_remove(const struct http_req *req, struct http_resp *resp);

/* issue 4, login by QR code (qrlogin.c, §27) */
int api_qr_login_start(const struct http_req *req, struct http_resp *resp);
int api_qr_login_approve(const struct http_req *req, struct http_resp *resp);
int api_qr_login_poll(const struct http_req *req, struct http_resp *resp);

/* issue 12, the RFC 8555 profile under /acme/ (acme.c, spec/acme.md) */
int api_acme_directory(const struct http_req *req, struct http_resp *resp);
int api_acme_new_account(const struct http_req *req, struct http_resp *resp);
int api_acme_account(const struct http_req *req, struct http_resp *resp);
int api_acme_new_order(const struct http_req *req, struct http_resp *resp);
int api_acme_order(const struct http_req *req, struct http_resp *resp);
int api_acme_orders(const struct http_req *req, struct http_resp *resp);
int api_acme_authz(const struct http_req *req, struct http_resp *resp);
int api_acme_challenge(const struct http_req *req, struct http_resp *resp);
int api_acme_finalize(const struct http_req *req, struct http_resp *resp);
int api_acme_cert(const struct http_req *req, struct http_resp *resp);
int api_acme_revoke(const struct http_req *req, struct http_resp *resp);
/* The ACME account object (status, createdAt, contact: contacts are not kept). CF_ENOMEM. */
int api_acme_account_json(const struct http_req *req, const struct store_account *a, cf_json **out);

/* ---- encoders (encode.c); each returns a new object or NULL on allocation failure -------- */

/* obj[key] = t as RFC 3339 ("2026-11-21T10:00:00Z"). CF_ENOMEM. */
int api_add_time(cf_json *obj, const char *key, int64_t t);
/* "<base>/v1/<kind>/<id>" into out. */
void api_url(const struct http_req *req, const char *kind, const char *id, char *out, size_t cap);

/* Certificate object of §9 (serial, notBefore, notAfter, status, pem, renewalInfo; reason and
 * revokedAt once revoked or suspended). */
cf_json *api_cert_json(const struct http_req *req, const struct store_cert *cert);
/* Credential object of §9; full_certs → "certificates" holds certificate objects (§12
 * credential-show) instead of serials. */
int api_credential_json(const struct http_req *req, const struct store_credential *cr,
			int full_certs, cf_json **out);
cf_json *api_enrolment_json(const struct store_enrolment *e);
int api_account_json(const struct http_req *req, const struct store_account *a, cf_json **out);
/* Respond to activate (201) and renew (200): account URL, credential, certificate, chain, and
 * the credential URL in Location. */
int api_issue_respond(const struct http_req *req, const struct core_issue_result *res, int status,
		      struct http_resp *resp);

/* Application object of §14 (id, status, profile, createdAt); with subj (admin), also the
 * subject summary, needsReview, the decision and the current reference and credential. */
cf_json *api_application_json(const struct store_application *a, const struct store_subject *subj);

/* The consent names an applicant must accept (directory meta.consents), NULL-terminated. */
extern const char *const api_consents[];
struct api_consent_text {
	const char *name, *title, *text;
};
/* The title and text of each consent of api_consents, in its order, ended by {NULL}. */
extern const struct api_consent_text api_consent_texts[];
/* The payload's "consents": every name of api_consents once, no other → "terms,privacy" in out
 * (cap ≥ STORE_CONSENTS_LEN); CF_EMALFORMED with a detail (apply.c). */
int api_consents_decode(const cf_json *p, char *out, size_t cap, struct http_resp *resp);

/* Admin operations take a JSON payload ({} at least): CF_EMALFORMED with a detail if absent. */
int api_need_payload(const struct http_req *req, struct http_resp *resp);
/* ---- paging of the admin lists (page.c, spec/protocol.md §12 "Lists") ---- */
#define API_PAGE_DEFAULT 100
#define API_PAGE_MAX 1000
#define API_PAGE_SCAN 10000 /* records a filtered page looks at, at most */
#define API_PAGE_STOP 1	    /* api_page_visit: stop the walk (a positive code ends a store walk) */
#define API_PAGE_SKIP 2	    /* api_page_visit: not on this page, go on */
struct api_page {
	int64_t limit;
	const char *after; /* the request's cursor, NULL for the first page */
	cf_json *arr;	   /* the page's items */
	size_t n, scanned;
	int more;
	char last[STORE_LIST_AFTER_MAX + 1]; /* key of the last record visited */
};
/* Parse limit (1..API_PAGE_MAX, default API_PAGE_DEFAULT) and after (base64url characters) of
 * the payload: CF_EMALFORMED with a detail. */
int api_page_start(const struct http_req *req, struct http_resp *resp, struct api_page *pg);
/* A record of key visited by the walk, matched or not by the filters: 0 (push it on pg->arr),
 * API_PAGE_SKIP (return 0 from the callback: go on) or API_PAGE_STOP (return it: the walk ends). */
int api_page_visit(struct api_page *pg, const char *key, int matched);
/* Answer {"<member>": items, "next": cursor while more remain} after a walk that returned ret. */
int api_page_answer(struct http_resp *resp, const char *member, struct api_page *pg, int ret);

/* An e-mail address (≤ 254 octets, one '@' with text on both sides, no white space or control
 * character) / a mobile number (E.164: '+' and 8..15 digits). apply.c. */
int api_email_ok(const char *s);
int api_mobile_ok(const char *s);
/* 1 if s is 1..max octets of UTF-8 without control characters (C0, DEL, C1): free text that
 * reaches certificates or e-mails (names, questions, reasons). apply.c. */
int api_text_ok(const char *s, size_t max);
/* Reference numbers are sent as 12 digits, without the dashes people see: CF_EMALFORMED. */
int api_reference_decode(const char *in, char out[STORE_REF_LEN]);

/* Decode a required base64url member of at most max_len characters into a malloc'd buffer. */
int api_get_b64u(const cf_json *obj, const char *key, size_t max_len, uint8_t **out,
		 size_t *out_len);

#endif
