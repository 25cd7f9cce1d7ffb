/*
 * portal_renew — the holder's renewal and update of a remote credential (spec/protocol.md §26):
 * POST /v1/portal/renew, /v1/portal/update, /v1/portal/update/otp, /v1/portal/update/complete,
 * bearer requests of a portal session. Every member is checked before the core is called, so a
 * malformed request counts and changes nothing. PINs, OTPs, coupons, tickets and passphrases stay
 * in the request's JSON tree (wiped by the HTTP layer) and never reach a detail.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "cf_b64.h"
#include "cf_clock.h"
#include "cf_crypto.h"
#include "cf_err.h"
#include "cf_policy.h"
#include "custody.h"
#include "proof.h"

#define PASSPHRASE_MAX 1024 /* octets; the policy's own limit is 128 characters */
#define SECRET_MAX 64	    /* PIN, OTP, coupon, ticket as sent */

static int bad(struct http_resp *resp, const char *detail)
{
	snprintf(resp->detail, sizeof(resp->detail), "%s", detail);
	return CF_EMALFORMED;
}

/* An optional string member: absent → NULL; present but not a string of ≤ max → malformed. */
static int opt_str(const cf_json *p, const char *key, size_t max, const char **out)
{
	*out = NULL;
	return cf_json_get_str_opt(p, key, max, out);
}

static int decode_pin(const cf_json *p, const char *key, int optional, const char **out,
		      struct http_resp *resp)
{
	int ret =
	    optional ? opt_str(p, key, SECRET_MAX, out) : cf_json_get_str(p, key, SECRET_MAX, out);

	if (ret != 0 || (*out && !custody_secret_shape_ok(CUSTODY_PIN, *out))) {
		snprintf(resp->detail, sizeof(resp->detail), "%s must be %d digits", key,
			 CUSTODY_PIN_DIGITS);
		return CF_EMALFORMED;
	}
	return 0;
}

static int decode_otp(const cf_json *p, const char **out, struct http_resp *resp)
{
	if (cf_json_get_str(p, "otp", SECRET_MAX, out) != 0 || !proof_otp_shape_ok(*out, 6, 8))
		return bad(resp, "otp must be 6 to 8 digits");
	return 0;
}

static int decode_passphrase(const cf_json *p, const char **out, struct http_resp *resp)
{
	const char *why = NULL;

	if (cf_json_get_str(p, "envelopePassphrase", PASSPHRASE_MAX, out) != 0)
		return bad(resp, "envelopePassphrase is required");
	if (cf_password_check(*out, &why) != 0) {
		snprintf(resp->detail, sizeof(resp->detail), "envelopePassphrase %s",
			 why ? why : "does not meet the policy");
		return CF_EWEAKPASSWORD;
	}
	return 0;
}

static int decode_credential(const cf_json *p, const char **out, struct http_resp *resp)
{
	if (!p || cf_json_get_str(p, "credentialId", STORE_ID_LEN - 1, out) != 0 || !(*out)[0])
		return bad(resp, "credentialId is required");
	return 0;
}

/* The members of renew and update that confirm: identity (renewal only), consents. */
static int decode_confirm(const cf_json *p, int identity, char *consents, struct core_rekey_req *r,
			  struct http_resp *resp)
{
	int same = 0;
	int ret;

	if (identity && (cf_json_get_bool(p, "identityUnchanged", &same) != 0 || !same)) {
		snprintf(resp->detail, sizeof(resp->detail),
			 "confirm that given name, surname and unique id are unchanged "
			 "(identityUnchanged: true); a changed identity needs a new application");
		return CF_EIDENTITY;
	}
	ret = api_consents_decode(p, consents, STORE_CONSENTS_LEN, resp);
	r->consents = consents;
	return ret;
}

/* The details of the problems of a re-key journey (attemptsLeft, opensAt, Retry-After). */
static int problem(int ret, const struct core_rekey_result *res, struct http_resp *resp)
{
	char opens[21];

	switch (ret) {
	case CF_ENOTWINDOW:
		cf_time_format(res->retry_at, opens);
		snprintf(resp->detail, sizeof(resp->detail), "renewal opens at %s", opens);
		resp->retry_at = res->retry_at; /* retryAfter and Retry-After */
		cf_json_free(resp->extra);
		resp->extra = cf_json_new_object();
		if (!resp->extra || cf_json_add_str(resp->extra, "opensAt", opens) != 0)
			return CF_ENOMEM;
		break;
	case CF_ERATELIMIT:
		resp->retry_at = res->retry_at;
		break;
	case CF_EBADPIN:
	case CF_EBADOTP:
		if (api_problem_attempts(resp, res->attempts_left) != 0)
			return CF_ENOMEM;
		break;
	case CF_ECONFLICT:
		snprintf(
		    resp->detail, sizeof(resp->detail),
		    "the credential cannot be re-keyed now: an expired certificate needs a new "
		    "application, an update needs the operator's mark, or it changed meanwhile");
		break;
	case CF_EBADCOUPON:
		snprintf(resp->detail, sizeof(resp->detail),
			 "the coupon is unknown, used, cancelled, expired or for another profile");
		break;
	case CF_EENTITLEMENT:
		snprintf(resp->detail, sizeof(resp->detail),
			 "the renewal needs an entitlement: a coupon, or the operator's approval");
		break;
	case CF_EBADTOKEN:
		snprintf(resp->detail, sizeof(resp->detail),
			 "the update ticket is unknown, expired or used: start the update again");
		break;
	case CF_ENOTFOUND:
		snprintf(resp->detail, sizeof(resp->detail), "no such remote credential");
		break;
	default:
		break;
	}
	return ret;
}

/* 200: the credential with its new certificate (the members of POST /v1/portal/status) and
 * the number of the envelope e-mailed. */
static int rekey_answer(const struct core_rekey_result *res, struct http_resp *resp)
{
	cf_json *o = cf_json_new_object();
	char *pem = cf_pem_encode("CERTIFICATE", res->cert.der, res->cert.der_len);
	int ret = o && pem ? 0 : CF_ENOMEM;

	if (ret == 0) {
		ret |= cf_json_add_str(o, "id", res->cr.id);
		ret |= cf_json_add_str(o, "profile", res->cr.profile);
		ret |= cf_json_add_str(o, "status", "active");
		ret |= cf_json_add_str(o, "certificate", pem);
		ret |= cf_json_add_str(o, "serial", res->cert.serial);
		ret |= api_add_time(o, "notBefore", res->cert.not_before);
		ret |= api_add_time(o, "notAfter", res->cert.not_after);
		ret |= cf_json_add_int(o, "envelopeNumber", res->envelope_number);
	}
	free(pem);
	if (ret != 0) {
		cf_json_free(o);
		return CF_ENOMEM;
	}
	return http_resp_json(resp, 200, o);
}

typedef int (*rekey_fn)(struct core *c, const struct core_who *who, const struct core_session *s,
			const struct core_rekey_req *req, struct core_rekey_result *out);

/* Run a re-key journey of session s and answer it. */
static int rekey_run(const struct http_req *req, struct http_resp *resp,
		     const struct core_session *s, const struct core_rekey_req *r, rekey_fn fn)
{
	struct core_rekey_result *res = calloc(1, sizeof(*res));
	struct core_who who;
	char actor[API_WHO_LEN];
	int ret;

	if (!res)
		return CF_ENOMEM;
	api_who_session(req, s, &who, actor);
	ret = fn(req->core, &who, s, r, res);
	ret = ret ? problem(ret, res, resp) : rekey_answer(res, resp);
	free(res);
	return ret;
}

int api_portal_renew(const struct http_req *req, struct http_resp *resp)
{
	struct core_rekey_req r = {0};
	struct core_session s;
	char consents[STORE_CONSENTS_LEN];
	const cf_json *p = req->payload;
	int ret = api_session(req, resp, 0, &s);

	if (ret == 0)
		ret = decode_credential(p, &r.credential_id, resp);
	if (ret == 0)
		ret = decode_confirm(p, 1, consents, &r, resp);
	if (ret == 0)
		ret = decode_pin(p, "pin", 0, &r.pin, resp);
	if (ret == 0)
		ret = decode_pin(p, "newPin", 1, &r.new_pin, resp);
	if (ret == 0)
		ret = decode_otp(p, &r.otp, resp);
	if (ret == 0)
		ret = decode_passphrase(p, &r.passphrase, resp);
	if (ret == 0 && opt_str(p, "coupon", SECRET_MAX, &r.coupon) != 0)
		ret = bad(resp, "coupon must be a string");
	return ret ? ret : rekey_run(req, resp, &s, &r, core_remote_renew);
}

int api_portal_update(const struct http_req *req, struct http_resp *resp)
{
	struct core_rekey_req r = {0};
	struct core_rekey_result res;
	struct core_session s;
	struct core_who who;
	char consents[STORE_CONSENTS_LEN], actor[API_WHO_LEN], ticket[CORE_TOKEN_LEN];
	const cf_json *p = req->payload;
	cf_json *doc;
	int64_t expires = 0;
	int ret = api_session(req, resp, 0, &s);

	if (ret == 0)
		ret = decode_credential(p, &r.credential_id, resp);
	if (ret == 0)
		ret = decode_confirm(p, 0, consents, &r, resp);
	if (ret == 0)
		ret = decode_pin(p, "pin", 0, &r.pin, resp);
	if (ret == 0)
		ret = decode_otp(p, &r.otp, resp);
	if (ret != 0)
		return ret;
	api_who_session(req, &s, &who, actor);
	ret = core_update_start(req->core, &who, &s, &r, ticket, &expires, &res);
	if (ret != 0)
		return problem(ret, &res, resp);
	doc = cf_json_new_object();
	if (!doc || cf_json_add_str(doc, "ticket", ticket) != 0 ||
	    api_add_time(doc, "expiresAt", expires) != 0) {
		cf_zeroize(ticket, sizeof(ticket));
		cf_json_free(doc);
		return CF_ENOMEM;
	}
	cf_zeroize(ticket, sizeof(ticket));
	return http_resp_json(resp, 201, doc);
}

static int decode_ticket(const cf_json *p, const char **out, struct http_resp *resp)
{
	if (!p || cf_json_get_str(p, "ticket", SECRET_MAX, out) != 0 || !(*out)[0])
		return bad(resp, "ticket is required");
	return 0;
}

int api_portal_update_otp(const struct http_req *req, struct http_resp *resp)
{
	struct core_rekey_result res;
	struct core_session s;
	struct core_who who;
	char actor[API_WHO_LEN];
	const char *ticket = NULL;
	cf_json *doc;
	int ret = api_session(req, resp, 0, &s);

	if (ret == 0)
		ret = decode_ticket(req->payload, &ticket, resp);
	if (ret != 0)
		return ret;
	api_who_session(req, &s, &who, actor);
	ret = core_update_send_otp(req->core, &who, &s, ticket, &res);
	if (ret == CF_ECONFLICT) {
		snprintf(resp->detail, sizeof(resp->detail),
			 "your codes come from your authenticator app (TOTP), not by SMS");
		return ret;
	}
	if (ret != 0)
		return problem(ret, &res, resp);
	doc = cf_json_new_object();
	if (!doc || api_add_time(doc, "sentAt", cf_now()) != 0) {
		cf_json_free(doc);
		return CF_ENOMEM;
	}
	return http_resp_json(resp, 202, doc);
}

int api_portal_update_complete(const struct http_req *req, struct http_resp *resp)
{
	struct core_rekey_req r = {0};
	struct core_session s;
	const cf_json *p = req->payload;
	int ret = api_session(req, resp, 0, &s);

	if (ret == 0)
		ret = decode_ticket(p, &r.ticket, resp);
	if (ret == 0)
		ret = decode_pin(p, "newPin", 1, &r.new_pin, resp);
	if (ret == 0)
		ret = decode_otp(p, &r.otp, resp);
	if (ret == 0)
		ret = decode_passphrase(p, &r.passphrase, resp);
	return ret ? ret : rekey_run(req, resp, &s, &r, core_update_complete);
}
