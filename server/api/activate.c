/*
 * activate — POST /v1/activate (§9): decode reference, activation code and CSR, let the core
 * activate, answer 201 with the credential's URL in Location. The activation code is wiped as soon
 * as the core is done with it and never appears in a detail or a log line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "cf_clock.h"
#include "cf_crypto.h"
#include "cf_err.h"
#include "proof.h"

#define MAX_CSR_B64 (16 * 1024)
#define MAX_CODE 64

int api_reference_decode(const char *in, char out[STORE_REF_LEN])
{
	size_t n = 0;

	for (; *in; in++) {
		if (*in < '0' || *in > '9' || n == 12)
			return CF_EMALFORMED;
		out[n++] = *in;
	}
	out[n] = '\0';
	return n == 12 ? 0 : CF_EMALFORMED;
}

/* 20 Crockford base32 characters once dashes are dropped; a malformed code is not a wrong code
 * and counts no failure. */
static int code_shape_ok(const char *code)
{
	char norm[PROOF_CODE_CHARS + 1];
	int ok = proof_code_normalise(code, norm) == 0;

	cf_zeroize(norm, sizeof(norm));
	return ok;
}

static int account_jwk_text(const cf_key *key, char **out)
{
	cf_json *jwk = NULL;
	int ret = cf_key_to_jwk(key, &jwk);

	if (ret != 0)
		return ret;
	*out = cf_json_print(jwk);
	cf_json_free(jwk);
	return *out ? 0 : CF_ENOMEM;
}

static void issue_detail(int ret, struct http_resp *resp)
{
	const char *d = NULL;

	switch (ret) {
	case CF_EBADCODE:
		d = "wrong reference number or activation code";
		break;
	case CF_ELOCKED:
		d = "too many wrong activation codes: the enrolment code is locked";
		break;
	case CF_EBADCSR:
		d = "the CSR must parse, verify, and hold a P-256, P-384 or RSA 2048-4096 key";
		break;
	}
	if (d && !resp->detail[0])
		snprintf(resp->detail, sizeof(resp->detail), "%s", d);
}

int api_activate(const struct http_req *req, struct http_resp *resp)
{
	struct core_activate_req ar;
	struct core_issue_result *res = NULL;
	char reference[STORE_REF_LEN], *jwk = NULL, *code = NULL;
	const char *s;
	uint8_t *csr = NULL;
	size_t csr_len = 0;
	struct core_who who;
	char actor[API_WHO_LEN];
	int ret = CF_EMALFORMED;

	api_who(req, &who, actor);
	memset(&ar, 0, sizeof(ar));
	if (!req->payload || cf_json_get_str(req->payload, "reference", 32, &s) != 0 ||
	    api_reference_decode(s, reference) != 0) {
		snprintf(resp->detail, sizeof(resp->detail), "reference must be 12 digits");
		goto out;
	}
	if (cf_json_get_str(req->payload, "activationCode", MAX_CODE, &s) != 0 ||
	    !code_shape_ok(s)) {
		snprintf(resp->detail, sizeof(resp->detail),
			 "activationCode must be 20 Crockford base32 characters (dashes, spaces "
			 "and case ignored; O, I, L read as 0, 1, 1)");
		goto out;
	}
	code = strdup(s);
	if (api_get_b64u(req->payload, "csr", MAX_CSR_B64, &csr, &csr_len) != 0) {
		snprintf(resp->detail, sizeof(resp->detail), "csr must be base64url DER");
		goto out;
	}
	res = calloc(1, sizeof(*res));
	ret = code && res ? account_jwk_text(req->jws->jwk, &jwk) : CF_ENOMEM;
	if (ret != 0)
		goto out;
	ar.account_key = req->jws->jwk;
	ar.account_jwk = jwk;
	ar.reference = reference;
	ar.code = code;
	ar.csr = csr;
	ar.csr_len = csr_len;
	ret = api_rate(resp, req->core, &who, RATE_ACTIVATE_ADDR, RATE_ACTIVATE_REF, reference);
	if (ret == 0)
		ret = core_activate(req->core, &who, &ar, res);
	cf_free_secret(code);
	code = NULL;
	if (ret != 0) {
		issue_detail(ret, resp);
		goto out;
	}
	/* a repeated activation made nothing: 200, as a repeated renewal */
	ret = api_issue_respond(req, res, res->repeated ? 200 : 201, resp);
out:
	cf_free_secret(code);
	free(jwk);
	free(csr);
	free(res);
	return ret;
}
