/*
 * totp — POST /v1/totp/setup and /v1/totp/confirm (spec/protocol.md §19), signed by the holder's
 * account (kid). The setup answer carries the seed (base32 and in the otpauth URI) once; the body
 * is wiped by http after sending, and the local copy here before returning.
 */
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "cf_crypto.h"
#include "cf_err.h"
#include "proof.h"

int api_totp_setup(const struct http_req *req, struct http_resp *resp)
{
	struct core_totp_setup ts;
	struct core_who who;
	char actor[API_WHO_LEN];
	cf_json *o = NULL;
	int ret;

	api_who(req, &who, actor);
	ret = core_totp_setup(req->core, &who, req->account->id, &ts);
	if (ret == CF_ECONFLICT)
		snprintf(resp->detail, sizeof(resp->detail),
			 "the account holds no credential of a subject, or the subject's TOTP is "
			 "confirmed already");
	if (ret != 0)
		return ret;
	o = cf_json_new_object();
	ret = o ? 0 : CF_ENOMEM;
	if (ret == 0)
		ret = cf_json_add_str(o, "otpauthUri", ts.uri);
	if (ret == 0)
		ret = cf_json_add_str(o, "secret", ts.secret);
	if (ret == 0)
		ret = cf_json_add_int(o, "digits", ts.digits);
	if (ret == 0)
		ret = cf_json_add_int(o, "period", ts.period);
	if (ret == 0)
		ret = cf_json_add_str(o, "algorithm", "SHA1");
	cf_zeroize(&ts, sizeof(ts));
	if (ret != 0) {
		cf_json_free(o); /* holds the seed: cf_json_free wipes strings */
		return CF_ENOMEM;
	}
	return http_resp_json(resp, 200, o);
}

int api_totp_confirm(const struct http_req *req, struct http_resp *resp)
{
	struct core_who who;
	char actor[API_WHO_LEN];
	const char *code;
	cf_json *o;
	int ret, left = -1;

	if (!req->payload || cf_json_get_str(req->payload, "code", 16, &code) != 0 ||
	    !proof_otp_shape_ok(code, 6, 8)) {
		snprintf(resp->detail, sizeof(resp->detail), "code must be 6 to 8 digits");
		return CF_EMALFORMED;
	}
	api_who(req, &who, actor);
	ret = core_totp_confirm(req->core, &who, req->account->id, code, &left);
	if (ret == CF_ECONFLICT)
		snprintf(resp->detail, sizeof(resp->detail),
			 "no TOTP seed waits for confirmation (set one up first)");
	else if (ret == CF_EBADOTP)
		snprintf(resp->detail, sizeof(resp->detail), "wrong or used code");
	if (ret == CF_EBADOTP && api_problem_attempts(resp, left) != 0)
		return CF_ENOMEM;
	if (ret != 0)
		return ret;
	o = cf_json_new_object();
	if (!o || cf_json_add_str(o, "status", "confirmed") != 0) {
		cf_json_free(o);
		return CF_ENOMEM;
	}
	return http_resp_json(resp, 200, o);
}
