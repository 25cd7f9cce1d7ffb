/*
 * portal_remote — the holder's PIN and PUK journeys on a remote credential (spec/protocol.md
 * §24): POST /v1/portal/activate (PUK + new PIN + OTP: the first certificate of a pending
 * credential, or unblocking) and POST /v1/portal/pin (PIN + new PIN + OTP). Bearer session.
 * PINs, PUKs and codes stay in the request's JSON tree (wiped by http) and never reach a detail.
 */
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "cf_err.h"
#include "custody.h"
#include "proof.h"

/* The members of a PIN/PUK request, their shapes checked (malformed: nothing counted). */
struct pin_req {
	const char *id, *secret, *new_pin, *otp;
};

static int decode(const struct http_req *req, struct http_resp *resp, int proof,
		  struct pin_req *out)
{
	const cf_json *p = req->payload;
	const char *name = proof == CUSTODY_PIN ? "pin" : "puk";

	if (!p || cf_json_get_str(p, "credentialId", STORE_ID_LEN - 1, &out->id) != 0) {
		snprintf(resp->detail, sizeof(resp->detail),
			 "credentialId must be a credential id");
		return CF_EMALFORMED;
	}
	if (cf_json_get_str(p, name, CUSTODY_PUK_MAX, &out->secret) != 0 ||
	    !custody_secret_shape_ok(proof, out->secret)) {
		snprintf(resp->detail, sizeof(resp->detail), "%s",
			 proof == CUSTODY_PIN ? "pin must be 8 digits"
					      : "puk must be 8 to 16 digits");
		return CF_EMALFORMED;
	}
	if (cf_json_get_str(p, "newPin", CUSTODY_PIN_DIGITS, &out->new_pin) != 0 ||
	    !custody_secret_shape_ok(CUSTODY_PIN, out->new_pin)) {
		snprintf(resp->detail, sizeof(resp->detail), "newPin must be 8 digits");
		return CF_EMALFORMED;
	}
	if (cf_json_get_str(p, "otp", 16, &out->otp) != 0 || !proof_otp_shape_ok(out->otp, 6, 8)) {
		snprintf(resp->detail, sizeof(resp->detail), "otp must be 6 to 8 digits");
		return CF_EMALFORMED;
	}
	return 0;
}

static void pin_detail(int ret, int attempts_left, struct http_resp *resp)
{
	const char *d = NULL;

	switch (ret) {
	case CF_EBADPIN:
		d = "wrong PIN";
		break;
	case CF_EBADPUK:
		d = "wrong PUK";
		break;
	case CF_EPINBLOCKED:
		d = attempts_left == 0
			? "wrong PIN: that was the last try, the PIN is blocked now; unblock it "
			  "with the PUK of your envelope, a new PIN and a one-time code"
			: "the PIN is blocked: unblock it with the PUK of your envelope, a new PIN "
			  "and a one-time code";
		break;
	case CF_EINACTIVE:
		d = "the credential is not activated yet: activate it with the PUK of your "
		    "envelope, "
		    "a new PIN and a one-time code";
		break;
	case CF_EREVOKED:
		d = attempts_left == 0
			? "wrong PUK: that was the last try, the key is destroyed and "
			  "the credential revoked"
			: "the credential is revoked";
		break;
	case CF_EBADOTP:
		d = "wrong, used or expired one-time password";
		break;
	case CF_EPROOFLOCKED:
		d = "too many wrong one-time passwords: ask the operator to unlock";
		break;
	case CF_ENOTFOUND:
		d = "no remote credential of this login has that id";
		break;
	case CF_EUNAVAILABLE:
		d = "remote keys are not available on this server";
		break;
	}
	if (d)
		snprintf(resp->detail, sizeof(resp->detail), "%s", d);
}

/* 200 with the credential as the portal's status shows it (§23.6). */
static int answer_credential(const struct http_req *req, struct http_resp *resp,
			     const struct core_session *s, const char *id)
{
	struct core_portal_status st;
	cf_json *arr = NULL, *o = NULL;
	size_t i;
	int ret = core_portal_status(req->core, s, &st);

	if (ret != 0)
		return ret;
	for (i = 0; i < st.ncreds && strcmp(st.creds[i].cr.id, id) != 0; i++)
		;
	if (i == st.ncreds)
		ret = CF_EINTERNAL;
	if (ret == 0 && !(arr = cf_json_new_array()))
		ret = CF_ENOMEM;
	if (ret == 0)
		ret = api_portal_cred_json(&st, &st.creds[i], arr);
	if (ret == 0 && !(o = cf_json_dup(cf_json_array_item(arr, 0))))
		ret = CF_ENOMEM;
	cf_json_free(arr);
	core_portal_status_free(&st);
	if (ret != 0) {
		cf_json_free(o);
		return ret;
	}
	return http_resp_json(resp, 200, o);
}

static int pin_route(const struct http_req *req, struct http_resp *resp, int proof)
{
	struct core_remote_outcome out = {.attempts_left = -1};
	struct core_session s;
	struct core_who who;
	struct pin_req r;
	char actor[API_WHO_LEN];
	int ret = api_session(req, resp, 0, &s);

	if (ret != 0)
		return ret;
	if ((ret = decode(req, resp, proof, &r)) != 0)
		return ret;
	api_who_session(req, &s, &who, actor);
	if (proof == CUSTODY_PUK)
		ret = core_remote_activate(req->core, &who, &s, r.id, r.secret, r.new_pin, r.otp,
					   &out);
	else
		ret = core_remote_pin_change(req->core, &who, &s, r.id, r.secret, r.new_pin, r.otp,
					     &out);
	if (ret != 0) {
		pin_detail(ret, out.attempts_left, resp);
		if ((ret == CF_EBADPIN || ret == CF_EBADPUK || ret == CF_EBADOTP) &&
		    api_problem_attempts(resp, out.attempts_left) != 0)
			return CF_ENOMEM;
		return ret;
	}
	return answer_credential(req, resp, &s, r.id);
}

int api_portal_activate(const struct http_req *req, struct http_resp *resp)
{
	return pin_route(req, resp, CUSTODY_PUK);
}

int api_portal_pin(const struct http_req *req, struct http_resp *resp)
{
	return pin_route(req, resp, CUSTODY_PIN);
}
