/*
 * portal — holder login and the portal's own resources (spec/protocol.md §23): POST /v1/login,
 * /v1/password/forgot, /v1/password/reset/otp and /v1/password/reset (JWS with a throwaway jwk),
 * /v1/portal/password, /logout, /status, /otp, /totp/setup, /totp/confirm (bearer session) and
 * admin/login-unlock. Passwords, tokens and codes travel in payloads only, stay in the
 * request's JSON tree (wiped by http) and never appear in a detail or a log.
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
#include "proof.h"

#define MAX_USER_ID 64
#define MAX_PASSWORD 1024 /* octets; the policy counts at most 128 characters */

void api_who_session(const struct http_req *req, const struct core_session *s, struct core_who *who,
		     char buf[API_WHO_LEN])
{
	snprintf(buf, API_WHO_LEN, "login:%s", s->user_id);
	who->actor = buf;
	who->remote = req->remote_addr ? req->remote_addr : "";
	who->name = NULL;
}

static int add_time(cf_json *o, const char *key, int64_t t)
{
	char s[21];

	cf_time_format(t, s);
	return cf_json_add_str(o, key, s);
}

static int reply_status(struct http_resp *resp, int status, const char *value)
{
	cf_json *o = cf_json_new_object();

	if (!o || cf_json_add_str(o, "status", value) != 0) {
		cf_json_free(o);
		return CF_ENOMEM;
	}
	return http_resp_json(resp, status, o);
}

/* A required string member that the policy will judge: CF_EMALFORMED with a detail. */
static int get_secret(const struct http_req *req, struct http_resp *resp, const char *key,
		      size_t max, const char **out)
{
	if (req->payload && cf_json_get_str(req->payload, key, max, out) == 0)
		return 0;
	snprintf(resp->detail, sizeof(resp->detail), "%s must be a string of at most %zu octets",
		 key, max);
	return CF_EMALFORMED;
}

/* The policy on a new password: CF_EWEAKPASSWORD naming the rule, never the password. */
static int policy(const char *password, struct http_resp *resp)
{
	const char *why = NULL;

	if (cf_password_check(password, &why) == 0)
		return 0;
	snprintf(resp->detail, sizeof(resp->detail), "newPassword: %s", why ? why : "too weak");
	return CF_EWEAKPASSWORD;
}

static void login_detail(int ret, struct http_resp *resp)
{
	const char *d = NULL;

	if (ret == CF_EBADLOGIN)
		d = "wrong user id or password";
	else if (ret == CF_EPROOFLOCKED)
		d = "too many failed logins: set a new password (forgot password) or ask an "
		    "operator";
	else if (ret == CF_EBADTOKEN)
		d = "the link token is unknown, expired or used: ask for a new one";
	else if (ret == CF_ECONFLICT)
		d = "this login uses an authenticator app (TOTP): no SMS code is sent";
	if (d && !resp->detail[0])
		snprintf(resp->detail, sizeof(resp->detail), "%s", d);
}

/* ---- POST /v1/login -------------------------------------------------------------------- */

static int login_json(const struct core_login_result *res, cf_json **out)
{
	cf_json *o = cf_json_new_object(), *arr = cf_json_new_array(), *n;
	int ret = o && arr ? 0 : CF_ENOMEM;

	for (size_t i = 0; i < res->nnotices && ret == 0; i++) {
		n = cf_json_new_object();
		if (!n) {
			ret = CF_ENOMEM;
			break;
		}
		ret = cf_json_add_str(n, "credentialId", res->notices[i].credential_id);
		ret |= add_time(n, "updateBy", res->notices[i].update_by);
		if (res->notices[i].note[0])
			ret |= cf_json_add_str(n, "note", res->notices[i].note);
		ret |= cf_json_push(arr, n);
	}
	if (ret == 0) {
		ret = cf_json_add_str(o, "token", res->token);
		ret |= add_time(o, "expiresAt", res->session.expires_at);
		ret |= cf_json_add_bool(o, "mustChangePassword", res->must_change);
		ret |= cf_json_add_str(o, "userId", res->session.user_id);
		ret |= cf_json_add(o, "notices", arr);
		arr = NULL;
	}
	if (ret != 0) {
		cf_json_free(arr);
		cf_json_free(o);
		return CF_ENOMEM;
	}
	*out = o;
	return 0;
}

int api_login(const struct http_req *req, struct http_resp *resp)
{
	struct core_login_result *res;
	struct core_who who;
	char actor[API_WHO_LEN];
	const char *user_id, *password;
	int ret = get_secret(req, resp, "userId", MAX_USER_ID, &user_id);

	if (ret == 0)
		ret = get_secret(req, resp, "password", MAX_PASSWORD, &password);
	if (ret != 0)
		return ret;
	res = calloc(1, sizeof(*res));
	if (!res)
		return CF_ENOMEM;
	api_who(req, &who, actor);
	ret = api_rate(resp, req->core, &who, RATE_LOGIN_ADDR, RATE_LOGIN_USER, user_id);
	if (ret == 0)
		ret = core_login(req->core, &who, user_id, password, res);
	if (ret == 0)
		ret = api_login_answer(resp, 201, res); /* holds the token: http wipes the body */
	cf_zeroize(res, sizeof(*res));
	free(res);
	if (ret != 0)
		login_detail(ret, resp);
	return ret;
}

int api_login_answer(struct http_resp *resp, int status, const struct core_login_result *r)
{
	cf_json *doc = NULL;
	int ret = login_json(r, &doc);

	return ret ? ret : http_resp_json(resp, status, doc);
}

/* ---- POST /v1/portal/password, /logout -------------------------------------------------- */

int api_portal_password(const struct http_req *req, struct http_resp *resp)
{
	struct core_session s;
	struct core_who who;
	char actor[API_WHO_LEN];
	const char *password, *new_password;
	int ret = api_session(req, resp, 1, &s);

	if (ret == 0)
		ret = get_secret(req, resp, "password", MAX_PASSWORD, &password);
	if (ret == 0)
		ret = get_secret(req, resp, "newPassword", MAX_PASSWORD, &new_password);
	if (ret == 0)
		ret = policy(new_password, resp);
	if (ret == 0 && strcmp(password, new_password) == 0) {
		snprintf(resp->detail, sizeof(resp->detail),
			 "newPassword must differ from the current password");
		ret = CF_EWEAKPASSWORD;
	}
	if (ret != 0)
		return ret;
	api_who_session(req, &s, &who, actor);
	ret = core_login_password(req->core, &who, &s, password, new_password);
	if (ret == CF_EBADLOGIN)
		snprintf(resp->detail, sizeof(resp->detail), "the current password is wrong");
	if (ret != 0) {
		login_detail(ret, resp);
		return ret;
	}
	return reply_status(resp, 200, "changed");
}

int api_portal_logout(const struct http_req *req, struct http_resp *resp)
{
	struct core_session s;
	struct core_who who;
	char actor[API_WHO_LEN];
	int ret = api_session(req, resp, 1, &s);

	if (ret != 0)
		return ret;
	api_who_session(req, &s, &who, actor);
	ret = core_logout(req->core, &who, &s);
	if (ret != 0)
		return ret;
	resp->status = 204;
	return 0;
}

/* ---- POST /v1/portal/status --------------------------------------------------------------- */

static int64_t days_until(int64_t now, int64_t t)
{
	return t > now ? (t - now) / 86400 : 0;
}

int api_portal_cred_json(const struct core_portal_status *st, const struct core_portal_cred *pc,
			 cf_json *arr)
{
	cf_json *o = cf_json_new_object(), *rn = NULL;
	char *pem = NULL;
	int ret = o ? 0 : CF_ENOMEM;

	if (ret == 0) {
		ret |= cf_json_add_str(o, "id", pc->cr.id);
		ret |= cf_json_add_str(o, "profile", pc->cr.profile);
		ret |= cf_json_add_str(o, "status", pc->status);
	}
	if (ret == 0 && pc->has_custody) {
		ret |= cf_json_add_str(o, "pinStatus", pc->pin_blocked ? "blocked" : "active");
		ret |= cf_json_add_int(o, "pinTriesLeft", pc->pin_tries_left);
		ret |= cf_json_add_int(o, "pukTriesLeft", pc->puk_tries_left);
		if (pc->key_algorithm[0])
			ret |= cf_json_add_str(o, "keyAlgorithm", pc->key_algorithm);
	}
	if (ret == 0 && pc->has_cert) {
		pem = cf_pem_encode("CERTIFICATE", pc->cert.der, pc->cert.der_len);
		ret |= pem ? cf_json_add_str(o, "certificate", pem) : CF_ENOMEM;
		ret |= cf_json_add_str(o, "serial", pc->cert.serial);
		ret |= add_time(o, "notBefore", pc->cert.not_before);
		ret |= add_time(o, "notAfter", pc->cert.not_after);
		ret |= cf_json_add_int(o, "daysLeft", days_until(st->now, pc->cert.not_after));
		free(pem);
	}
	if (ret == 0 && pc->renewal) {
		rn = cf_json_new_object();
		ret = rn ? 0 : CF_ENOMEM;
		if (ret == 0) {
			ret |= cf_json_add_bool(rn, "offered", pc->renewal_offered);
			ret |= add_time(rn, "opensAt", pc->renewal_opens);
			ret |=
			    cf_json_add_int(rn, "daysLeft", days_until(st->now, pc->renewal_opens));
			ret |= cf_json_add(o, "renewal", rn);
		}
	}
	if (ret == 0 && pc->cr.update_by) {
		ret |= add_time(o, "updateBy", pc->cr.update_by);
		if (pc->cr.update_note[0])
			ret |= cf_json_add_str(o, "updateNote", pc->cr.update_note);
	}
	if (ret == 0)
		return cf_json_push(arr, o) ? CF_ENOMEM : 0;
	cf_json_free(o);
	return CF_ENOMEM;
}

static int status_json(const struct core_portal_status *st, cf_json **out)
{
	cf_json *o = cf_json_new_object(), *subj = cf_json_new_object(), *arr = cf_json_new_array();
	int ret = o && subj && arr ? 0 : CF_ENOMEM;

	for (size_t i = 0; i < st->ncreds && ret == 0; i++)
		ret = api_portal_cred_json(st, &st->creds[i], arr);
	if (ret == 0) {
		ret |= cf_json_add_str(subj, "givenName", st->given_name);
		ret |= cf_json_add_str(subj, "surname", st->surname);
		ret |= cf_json_add_str(subj, "uniqueId", st->unique_id);
		ret |= cf_json_add_str(subj, "email", st->email);
		ret |= cf_json_add_str(o, "userId", st->user_id);
		ret |= cf_json_add(o, "subject", subj);
		subj = NULL;
		ret |= cf_json_add_str(o, "otp", core_otp_kind_name(st->otp));
		ret |= cf_json_add(o, "credentials", arr);
		arr = NULL;
	}
	cf_json_free(subj);
	cf_json_free(arr);
	if (ret != 0) {
		cf_json_free(o);
		return CF_ENOMEM;
	}
	*out = o;
	return 0;
}

int api_portal_status(const struct http_req *req, struct http_resp *resp)
{
	struct core_portal_status st;
	struct core_session s;
	cf_json *doc = NULL;
	int ret = api_session(req, resp, 0, &s);

	if (ret != 0)
		return ret;
	ret = core_portal_status(req->core, &s, &st);
	if (ret != 0)
		return ret;
	ret = status_json(&st, &doc);
	core_portal_status_free(&st);
	return ret ? ret : http_resp_json(resp, 200, doc);
}

/* ---- SMS codes: POST /v1/portal/otp, /v1/password/reset/otp ------------------------------ */

/* 202 {status, sentAt, retryAfter (when the next code may be sent)}, or the problem of ret. */
static int otp_answer(const struct http_req *req, int ret, int64_t retry_at, struct http_resp *resp)
{
	char when[21];
	cf_json *o;
	int64_t now = cf_now();

	if (ret == CF_ERATELIMIT) {
		cf_time_format(retry_at, when);
		snprintf(resp->detail, sizeof(resp->detail),
			 "a code was sent a short time ago: the next one can be sent at %s", when);
		resp->retry_at = retry_at;
	}
	if (ret != 0) {
		login_detail(ret, resp);
		return ret;
	}
	o = cf_json_new_object();
	if (!o || cf_json_add_str(o, "status", "sent") != 0 || add_time(o, "sentAt", now) != 0 ||
	    add_time(o, "retryAfter", now + req->core->cfg.otp_resend_secs) != 0) {
		cf_json_free(o);
		return CF_ENOMEM;
	}
	return http_resp_json(resp, 202, o);
}

int api_portal_otp(const struct http_req *req, struct http_resp *resp)
{
	struct core_session s;
	struct core_who who;
	char actor[API_WHO_LEN];
	int64_t retry_at = 0;
	int ret = api_session(req, resp, 0, &s);

	if (ret != 0)
		return ret;
	api_who_session(req, &s, &who, actor);
	ret = api_rate(resp, req->core, &who, RATE_SMS_ADDR, -1, NULL);
	if (ret != 0)
		return ret;
	ret = core_portal_otp(req->core, &who, &s, &retry_at);
	return otp_answer(req, ret, retry_at, resp);
}

int api_password_reset_otp(const struct http_req *req, struct http_resp *resp)
{
	struct core_who who;
	char actor[API_WHO_LEN];
	const char *token;
	int64_t retry_at = 0;
	int ret = api_link_token(req, resp, &token);

	if (ret != 0)
		return ret;
	api_who(req, &who, actor);
	ret = api_rate(resp, req->core, &who, RATE_SMS_ADDR, -1, NULL);
	if (ret != 0)
		return ret;
	ret = core_password_reset_otp(req->core, &who, token, &retry_at);
	return otp_answer(req, ret, retry_at, resp);
}

/* ---- POST /v1/password/forgot, /v1/password/reset ---------------------------------------- */

int api_password_forgot(const struct http_req *req, struct http_resp *resp)
{
	struct core_who who;
	char actor[API_WHO_LEN], email[API_EMAIL_MAX + 1];
	int ret = api_email(req, resp, email);

	if (ret != 0)
		return ret;
	api_who(req, &who, actor);
	ret = api_rate(resp, req->core, &who, RATE_RECOVERY_ADDR, RATE_RECOVERY_EMAIL, email);
	if (ret == 0)
		ret = core_password_forgot(req->core, &who, email,
					   core_public_url(&req->core->cfg, req->base_url));
	return ret ? ret : reply_status(resp, 202, "sent");
}

int api_password_reset(const struct http_req *req, struct http_resp *resp)
{
	struct core_who who;
	char actor[API_WHO_LEN];
	const char *token, *otp, *new_password;
	int ret = api_link_token(req, resp, &token), left = -1;

	if (ret != 0)
		return ret;
	if (cf_json_get_str(req->payload, "otp", 16, &otp) != 0 || !proof_otp_shape_ok(otp, 6, 8)) {
		snprintf(resp->detail, sizeof(resp->detail), "otp must be 6 to 8 digits");
		return CF_EMALFORMED;
	}
	ret = get_secret(req, resp, "newPassword", MAX_PASSWORD, &new_password);
	if (ret == 0)
		ret = policy(new_password, resp);
	if (ret != 0)
		return ret;
	api_who(req, &who, actor);
	ret = core_password_reset(req->core, &who, token, otp, new_password, &left);
	if (ret == CF_EBADOTP) {
		snprintf(resp->detail, sizeof(resp->detail),
			 "wrong, used or expired one-time password");
		if (api_problem_attempts(resp, left) != 0)
			return CF_ENOMEM;
	}
	if (ret != 0) {
		login_detail(ret, resp);
		return ret;
	}
	return reply_status(resp, 200, "changed");
}

/* ---- POST /v1/admin/login-unlock --------------------------------------------------------- */

int api_admin_login_unlock(const struct http_req *req, struct http_resp *resp)
{
	struct store_login l;
	struct core_who who;
	char actor[API_WHO_LEN];
	const char *user_id;
	cf_json *o;
	int ret = api_need_payload(req, resp);

	if (ret != 0)
		return ret;
	if (cf_json_get_str(req->payload, "userId", MAX_USER_ID, &user_id) != 0) {
		snprintf(resp->detail, sizeof(resp->detail), "userId must be a user id");
		return CF_EMALFORMED;
	}
	api_who(req, &who, actor);
	ret = core_login_unlock(req->core, &who, user_id, &l);
	if (ret == CF_ENOTFOUND)
		snprintf(resp->detail, sizeof(resp->detail), "no login has this user id");
	if (ret != 0)
		return ret;
	o = cf_json_new_object();
	ret = o ? 0 : CF_ENOMEM;
	if (ret == 0) {
		ret |= cf_json_add_str(o, "userId", l.user_id);
		ret |= cf_json_add_str(o, "subject", l.subject_id);
		ret |= cf_json_add_int(o, "failures", l.failures);
		ret |= cf_json_add_bool(o, "mustChangePassword", l.must_change);
	}
	cf_zeroize(&l, sizeof(l));
	if (ret != 0) {
		cf_json_free(o);
		return CF_ENOMEM;
	}
	return http_resp_json(resp, 200, o);
}
