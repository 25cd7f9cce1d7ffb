/*
 * emergency — POST /v1/emergency-suspend (§20): reference number and emergency code from the
 * envelope, signed with any jwk; the application's current certificate goes on hold. The code is
 * wiped by the HTTP layer with the request and never appears in a detail.
 */
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "cf_crypto.h"
#include "cf_err.h"
#include "proof.h"

#define MAX_CODE 64

/* 16 Crockford base32 characters once dashes and spaces are dropped; another shape is malformed
 * and counts no failure. */
static int code_shape_ok(const char *code)
{
	char norm[PROOF_EMERGENCY_CHARS + 1];
	int ok = proof_emergency_normalise(code, norm) == 0;

	cf_zeroize(norm, sizeof(norm));
	return ok;
}

static void emergency_detail(int ret, struct http_resp *resp)
{
	const char *d = NULL;

	switch (ret) {
	case CF_EBADEMERGENCY:
		d = "wrong reference number or emergency code";
		break;
	case CF_EPROOFLOCKED:
		d = "too many wrong emergency codes: ask the operator to unlock";
		break;
	case CF_ECONFLICT:
		d = "the application has no credential yet";
		break;
	case CF_EALREADY:
		d = "the credential is already suspended or revoked";
		break;
	}
	if (d)
		snprintf(resp->detail, sizeof(resp->detail), "%s", d);
}

int api_emergency_suspend(const struct http_req *req, struct http_resp *resp)
{
	char reference[STORE_REF_LEN], credential[STORE_ID_LEN], actor[API_WHO_LEN];
	const char *s, *code;
	struct core_who who;
	cf_json *doc;
	int ret, left = -1;

	if (!req->payload || cf_json_get_str(req->payload, "reference", 32, &s) != 0 ||
	    api_reference_decode(s, reference) != 0) {
		snprintf(resp->detail, sizeof(resp->detail), "reference must be 12 digits");
		return CF_EMALFORMED;
	}
	if (cf_json_get_str(req->payload, "emergencyCode", MAX_CODE, &code) != 0 ||
	    !code_shape_ok(code)) {
		snprintf(
		    resp->detail, sizeof(resp->detail),
		    "emergencyCode must be 16 Crockford base32 characters (dashes, spaces and case "
		    "ignored; O, I, L read as 0, 1, 1)");
		return CF_EMALFORMED;
	}
	api_who(req, &who, actor);
	ret = api_rate(resp, req->core, &who, RATE_EMERGENCY_ADDR, -1, NULL);
	if (ret == 0)
		ret = core_emergency_suspend(req->core, &who, reference, code, credential, &left);
	if (ret != 0) {
		emergency_detail(ret, resp);
		if (ret == CF_EBADEMERGENCY && api_problem_attempts(resp, left) != 0)
			return CF_ENOMEM;
		return ret;
	}
	doc = cf_json_new_object();
	if (!doc || cf_json_add_str(doc, "status", "suspended") != 0 ||
	    cf_json_add_str(doc, "credential", credential) != 0) {
		cf_json_free(doc);
		return CF_ENOMEM;
	}
	return http_resp_json(resp, 200, doc);
}
