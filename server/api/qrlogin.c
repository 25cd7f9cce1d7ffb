/*
 * qrlogin — POST /v1/qr-login, /v1/qr-login/poll (throwaway jwk) and /v1/qr-login/approve (kid of
 * the approving agent's account), spec/protocol.md §27. The poll token and the session token
 * travel in bodies only: the token is wiped here after encoding (the response body is wiped by
 * http after sending) and never appears in a detail.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "cf_clock.h"
#include "cf_crypto.h"
#include "cf_err.h"

#define TOKEN_CHARS 43 /* a bearer or poll token: base64url of 256 bits */
#define B64U_ALPHABET "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

/* A user id is 10 digits (§23). */
static int user_id_ok(const char *s)
{
	return strlen(s) == 10 && strspn(s, "0123456789") == 10;
}

int api_qr_login_start(const struct http_req *req, struct http_resp *resp)
{
	struct core_qr_start qs;
	struct core_who who;
	char actor[API_WHO_LEN], when[21];
	const char *user_id = NULL;
	cf_json *o;
	int ret;

	if ((ret = api_need_payload(req, resp)) != 0)
		return ret;
	if (cf_json_get_str_opt(req->payload, "userId", 16, &user_id) != 0 ||
	    (user_id && !user_id_ok(user_id))) {
		snprintf(resp->detail, sizeof(resp->detail),
			 "userId must be a user id of 10 digits");
		return CF_EMALFORMED;
	}
	api_who(req, &who, actor);
	ret = api_rate(resp, req->core, &who, RATE_QR_ADDR, -1, NULL);
	if (ret == 0)
		ret = core_qr_start(req->core, &who, user_id, &qs);
	if (ret != 0)
		return ret;
	cf_time_format(qs.expires_at, when);
	o = cf_json_new_object();
	ret = o ? 0 : CF_ENOMEM;
	if (ret == 0)
		ret = cf_json_add_str(o, "challenge", qs.challenge);
	if (ret == 0)
		ret = cf_json_add_str(o, "pollToken", qs.poll_token);
	if (ret == 0)
		ret = cf_json_add_str(o, "expiresAt", when);
	cf_zeroize(&qs, sizeof(qs));
	if (ret != 0) {
		cf_json_free(o); /* wipes the token */
		return CF_ENOMEM;
	}
	return http_resp_json(resp, 201, o);
}

int api_qr_login_approve(const struct http_req *req, struct http_resp *resp)
{
	struct core_who who;
	char actor[API_WHO_LEN], user_id[STORE_USER_ID_LEN];
	const char *challenge = NULL, *credential = NULL;
	cf_json *o;
	int ret;

	if ((ret = api_need_payload(req, resp)) != 0)
		return ret;
	if (cf_json_get_str(req->payload, "challenge", CORE_QR_TEXT_LEN, &challenge) != 0) {
		snprintf(resp->detail, sizeof(resp->detail),
			 "challenge must be the text of the QR code (%s...)", CORE_QR_PREFIX);
		return CF_EMALFORMED;
	}
	if (cf_json_get_str_opt(req->payload, "credential", STORE_ID_LEN - 1, &credential) != 0) {
		snprintf(resp->detail, sizeof(resp->detail), "credential must be a credential id");
		return CF_EMALFORMED;
	}
	api_who(req, &who, actor);
	ret = core_qr_approve(req->core, &who, req->account->id, challenge, credential, user_id);
	switch (ret) {
	case 0:
		break;
	case CF_EMALFORMED:
		snprintf(resp->detail, sizeof(resp->detail),
			 "challenge must be %s followed by %d base64url characters", CORE_QR_PREFIX,
			 CORE_QR_ID_LEN);
		return ret;
	case CF_EBADTOKEN:
		snprintf(resp->detail, sizeof(resp->detail),
			 "the QR login challenge is unknown or expired: start a new one");
		return ret;
	case CF_ECONFLICT:
		snprintf(resp->detail, sizeof(resp->detail),
			 "the QR login challenge was approved already");
		return ret;
	case CF_EUNAUTHORIZED:
		snprintf(
		    resp->detail, sizeof(resp->detail),
		    "this account holds no active credential of a subject with a portal login%s",
		    " (or not of the login the waiting side named)");
		return ret;
	default:
		return ret;
	}
	o = cf_json_new_object();
	if (!o || cf_json_add_bool(o, "approved", 1) != 0 ||
	    cf_json_add_str(o, "userId", user_id) != 0) {
		cf_json_free(o);
		return CF_ENOMEM;
	}
	return http_resp_json(resp, 200, o);
}

int api_qr_login_poll(const struct http_req *req, struct http_resp *resp)
{
	struct core_login_result *r;
	struct core_who who;
	char actor[API_WHO_LEN];
	const char *token = NULL;
	cf_json *o;
	int ret, pending = 0;

	if ((ret = api_need_payload(req, resp)) != 0)
		return ret;
	if (cf_json_get_str(req->payload, "pollToken", TOKEN_CHARS, &token) != 0 ||
	    strlen(token) != TOKEN_CHARS || strspn(token, B64U_ALPHABET) != TOKEN_CHARS) {
		snprintf(resp->detail, sizeof(resp->detail),
			 "pollToken must be the poll token of qr-login (%d base64url characters)",
			 TOKEN_CHARS);
		return CF_EMALFORMED;
	}
	if (!(r = calloc(1, sizeof(*r))))
		return CF_ENOMEM;
	api_who(req, &who, actor);
	ret = api_rate(resp, req->core, &who, RATE_QR_ADDR, -1, NULL);
	if (ret == 0)
		ret = core_qr_poll(req->core, &who, token, &pending, r);
	if (ret == CF_EBADTOKEN)
		snprintf(resp->detail, sizeof(resp->detail),
			 "the poll token is unknown, expired or used: start a new QR login");
	else if (ret == CF_EUNAUTHORIZED)
		snprintf(resp->detail, sizeof(resp->detail),
			 "the approving credential or the login is no longer valid: start a new QR "
			 "login");
	if (ret == 0 && pending) {
		o = cf_json_new_object();
		if (!o || cf_json_add_str(o, "status", "pending") != 0) {
			cf_json_free(o);
			ret = CF_ENOMEM;
		} else {
			ret = http_resp_json(resp, 202, o);
		}
	} else if (ret == 0) {
		ret = api_login_answer(resp, 200, r); /* holds the token: http wipes the body */
	}
	cf_zeroize(r, sizeof(*r));
	free(r);
	return ret;
}
