/*
 * totp — POST /v1/totp/setup and /v1/totp/confirm (spec/protocol.md §19), signed by the holder's
 * account (kid), and the same for a portal session's subject: /v1/portal/totp/setup and
 * /v1/portal/totp/confirm (bearer, §23). The setup answer carries the seed (base32 and in the
 * otpauth URI) once; the body is wiped by http after sending, and the local copy here before
 * returning.
 */
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "cf_crypto.h"
#include "cf_err.h"
#include "proof.h"

/* The answer of a setup that returned ret with ts. */
static int setup_answer(int ret, struct core_totp_setup *ts, struct http_resp *resp)
{
	cf_json *o = NULL;

	if (ret == CF_ECONFLICT)
		snprintf(resp->detail, sizeof(resp->detail),
			 "the account holds no credential of a subject, or the subject's TOTP is "
			 "confirmed already");
	if (ret != 0)
		return ret;
	o = cf_json_new_object();
	ret = o ? 0 : CF_ENOMEM;
	if (ret == 0)
		ret = cf_json_add_str(o, "otpauthUri", ts->uri);
	if (ret == 0)
		ret = cf_json_add_str(o, "secret", ts->secret);
	if (ret == 0)
		ret = cf_json_add_int(o, "digits", ts->digits);
	if (ret == 0)
		ret = cf_json_add_int(o, "period", ts->period);
	if (ret == 0)
		ret = cf_json_add_str(o, "algorithm", "SHA1");
	cf_zeroize(ts, sizeof(*ts));
	if (ret != 0) {
		cf_json_free(o); /* holds the seed: cf_json_free wipes strings */
		return CF_ENOMEM;
	}
	return http_resp_json(resp, 200, o);
}

int api_totp_setup(const struct http_req *req, struct http_resp *resp)
{
	struct core_totp_setup ts;
	struct core_who who;
	char actor[API_WHO_LEN];

	api_who(req, &who, actor);
	return setup_answer(core_totp_setup(req->core, &who, req->account->id, &ts), &ts, resp);
}

int api_portal_totp_setup(const struct http_req *req, struct http_resp *resp)
{
	struct core_totp_setup ts;
	struct core_session s;
	struct core_who who;
	char actor[API_WHO_LEN];
	int ret = api_session(req, resp, 0, &s);

	if (ret != 0)
		return ret;
	api_who_session(req, &s, &who, actor);
	ret = core_totp_setup_subject(req->core, &who, s.subject_id, &ts);
	return setup_answer(ret, &ts, resp);
}

/* The code of a confirm request: CF_EMALFORMED with a detail. */
static int confirm_code(const struct http_req *req, struct http_resp *resp, const char **code)
{
	if (req->payload && cf_json_get_str(req->payload, "code", 16, code) == 0 &&
	    proof_otp_shape_ok(*code, 6, 8))
		return 0;
	snprintf(resp->detail, sizeof(resp->detail), "code must be 6 to 8 digits");
	return CF_EMALFORMED;
}

/* The answer of a confirm that returned ret. */
static int confirm_answer(int ret, int left, struct http_resp *resp)
{
	cf_json *o;

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

int api_totp_confirm(const struct http_req *req, struct http_resp *resp)
{
	struct core_who who;
	char actor[API_WHO_LEN];
	const char *code;
	int ret = confirm_code(req, resp, &code), left = -1;

	if (ret != 0)
		return ret;
	api_who(req, &who, actor);
	ret = core_totp_confirm(req->core, &who, req->account->id, code, &left);
	return confirm_answer(ret, left, resp);
}

int api_portal_totp_confirm(const struct http_req *req, struct http_resp *resp)
{
	struct core_session s;
	struct core_who who;
	char actor[API_WHO_LEN];
	const char *code;
	int ret = api_session(req, resp, 0, &s), left = -1;

	if (ret == 0)
		ret = confirm_code(req, resp, &code);
	if (ret != 0)
		return ret;
	api_who_session(req, &s, &who, actor);
	ret = core_totp_confirm_subject(req->core, &who, s.subject_id, code, &left);
	return confirm_answer(ret, left, resp);
}
