/*
 * recovery — POST /v1/recovery, /v1/recovery/start, /v1/recovery/otp and /v1/recovery/complete
 * (spec/protocol.md §17), all signed with a throwaway jwk. The link token, the answers, the OTP
 * and the passphrase travel in payloads only, stay in the request's JSON tree (wiped by http) and
 * never appear in a detail. POST /v1/recovery answers the same for known and unknown addresses.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "cf_clock.h"
#include "cf_crypto.h"
#include "cf_err.h"
#include "cf_policy.h"
#include "proof.h"

#define MAX_TOKEN 64
#define MAX_PASSPHRASE 1024
#define MAX_ANSWER 512 /* as typed; normalised it must fit PROOF_ANSWER_MAX */

static int reply_sent(struct http_resp *resp, int status, const char *credential)
{
	cf_json *o = cf_json_new_object();
	int ret = o ? cf_json_add_str(o, "status", "sent") : CF_ENOMEM;

	if (ret == 0 && credential)
		ret = cf_json_add_str(o, "credential", credential);
	if (ret != 0) {
		cf_json_free(o);
		return CF_ENOMEM;
	}
	return http_resp_json(resp, status, o);
}

/* One '@' with text on both sides, at most API_EMAIL_MAX octets, no white space or control
 * characters; copied in lower case. */
static int email_lower(const char *in, char out[API_EMAIL_MAX + 1])
{
	size_t n = 0, at = 0, ats = 0;

	for (; *in; in++, n++) {
		unsigned char ch = (unsigned char)*in;
		if (n == API_EMAIL_MAX || ch <= ' ' || ch == 0x7f)
			return CF_EMALFORMED;
		if (ch == '@') {
			ats++;
			at = n;
		}
		out[n] = (char)tolower(ch);
	}
	out[n] = '\0';
	return ats == 1 && at > 0 && at + 1 < n ? 0 : CF_EMALFORMED;
}

int api_email(const struct http_req *req, struct http_resp *resp, char out[API_EMAIL_MAX + 1])
{
	const char *s;

	if (req->payload && cf_json_get_str(req->payload, "email", API_EMAIL_MAX, &s) == 0 &&
	    email_lower(s, out) == 0)
		return 0;
	snprintf(resp->detail, sizeof(resp->detail),
		 "email must be an address of at most %d characters", API_EMAIL_MAX);
	return CF_EMALFORMED;
}

int api_link_token(const struct http_req *req, struct http_resp *resp, const char **token)
{
	if (req->payload && cf_json_get_str(req->payload, "token", MAX_TOKEN, token) == 0)
		return 0;
	snprintf(resp->detail, sizeof(resp->detail), "token must be the link token of the e-mail");
	return CF_EMALFORMED;
}

static void step_detail(int ret, struct http_resp *resp)
{
	const char *d = NULL;

	switch (ret) {
	case CF_EBADTOKEN:
		d = "the link token is unknown, expired or used: ask for a new one";
		break;
	case CF_EPROOFLOCKED:
		d = "too many failed attempts: ask an operator (one-time passwords) or file a new "
		    "application (security questions)";
		break;
	case CF_EBADANSWERS:
		d = "security answers not accepted";
		break;
	}
	if (d && !resp->detail[0])
		snprintf(resp->detail, sizeof(resp->detail), "%s", d);
}

int api_recovery(const struct http_req *req, struct http_resp *resp)
{
	struct core_who who;
	char actor[API_WHO_LEN], email[API_EMAIL_MAX + 1];
	int ret = api_email(req, resp, email);

	if (ret != 0)
		return ret;
	api_who(req, &who, actor);
	ret = api_rate(resp, req->core, &who, RATE_RECOVERY_ADDR, RATE_RECOVERY_EMAIL, email);
	if (ret == 0)
		ret = core_recovery_request(req->core, &who, email,
					    core_public_url(&req->core->cfg, req->base_url));
	return ret ? ret : reply_sent(resp, 202, NULL);
}

static cf_json *choices_json(const struct core_recovery_choice *c, size_t n);

int api_recovery_start(const struct http_req *req, struct http_resp *resp)
{
	struct core_recovery_info info;
	struct core_who who;
	char actor[API_WHO_LEN];
	const char *token;
	cf_json *o = NULL, *qs = NULL;
	int ret = api_link_token(req, resp, &token);

	if (ret != 0)
		return ret;
	api_who(req, &who, actor);
	ret = core_recovery_start(req->core, &who, token, &info);
	if (ret != 0) {
		step_detail(ret, resp);
		return ret;
	}
	o = cf_json_new_object();
	qs = cf_json_new_array();
	ret = o && qs ? 0 : CF_ENOMEM;
	for (int i = 0; i < STORE_QUESTIONS && ret == 0; i++)
		ret = cf_json_push_str(qs, info.questions[i]);
	if (ret == 0) {
		ret = cf_json_add(o, "questions", qs);
		qs = NULL;
	}
	if (ret == 0)
		ret = cf_json_add_str(o, "otp", core_otp_kind_name(info.otp));
	/* the credentials to choose from before answering (seed 000) */
	if (ret == 0) {
		cf_json *creds = choices_json(info.credentials, info.ncredentials);
		ret = creds ? cf_json_add(o, "credentials", creds) : CF_ENOMEM;
	}
	if (ret != 0) {
		cf_json_free(qs);
		cf_json_free(o);
		return CF_ENOMEM;
	}
	return http_resp_json(resp, 200, o);
}

int api_recovery_otp(const struct http_req *req, struct http_resp *resp)
{
	struct core_who who;
	char actor[API_WHO_LEN], when[21];
	const char *token;
	int64_t retry_at = 0;
	int ret = api_link_token(req, resp, &token);

	if (ret != 0)
		return ret;
	api_who(req, &who, actor);
	ret = api_rate(resp, req->core, &who, RATE_SMS_ADDR, -1, NULL);
	if (ret != 0)
		return ret;
	ret = core_recovery_send_otp(req->core, &who, token, &retry_at);
	if (ret == CF_ERATELIMIT) {
		cf_time_format(retry_at, when);
		snprintf(resp->detail, sizeof(resp->detail),
			 "a code was sent a short time ago: the next one can be sent at %s", when);
		resp->retry_at = retry_at;
	} else if (ret == CF_ECONFLICT) {
		snprintf(resp->detail, sizeof(resp->detail),
			 "this recovery needs no SMS code (see the otp member of recovery/start)");
	}
	if (ret != 0) {
		step_detail(ret, resp);
		return ret;
	}
	return reply_sent(resp, 202, NULL);
}

/* The payload of recovery/complete into r; CF_EMALFORMED or CF_EWEAKPASSWORD with a detail. */
static int complete_decode(const cf_json *p, struct core_recovery_req *r, char *detail, size_t cap)
{
	const cf_json *answers = cf_json_get(p, "answers");
	char norm[PROOF_ANSWER_MAX + 1];
	const char *why = NULL;
	int ok;

	if (cf_json_get_str(p, "token", MAX_TOKEN, &r->token) != 0) {
		snprintf(detail, cap, "token must be the link token of the e-mail");
		return CF_EMALFORMED;
	}
	if (!cf_json_is_array(answers) || cf_json_array_size(answers) != STORE_QUESTIONS) {
		snprintf(detail, cap, "answers must be an array of %d strings", STORE_QUESTIONS);
		return CF_EMALFORMED;
	}
	for (int i = 0; i < STORE_QUESTIONS; i++) {
		ok = cf_json_str(cf_json_array_item(answers, (size_t)i), MAX_ANSWER,
				 &r->answers[i]) == 0 &&
		     proof_answer_normalise(r->answers[i], norm) == 0;
		cf_zeroize(norm, sizeof(norm));
		if (!ok) {
			snprintf(detail, cap,
				 "answer %d must have 1 to %d octets of UTF-8 once white space is "
				 "trimmed",
				 i + 1, PROOF_ANSWER_MAX);
			return CF_EMALFORMED;
		}
	}
	if (cf_json_get_str_opt(p, "otp", 16, &r->otp) != 0 ||
	    (r->otp && !proof_otp_shape_ok(r->otp, 6, 8))) {
		snprintf(detail, cap, "otp must be 6 to 8 digits");
		return CF_EMALFORMED;
	}
	if (cf_json_get_str_opt(p, "credential", STORE_ID_LEN - 1, &r->credential) != 0) {
		snprintf(detail, cap, "credential must be a credential id");
		return CF_EMALFORMED;
	}
	if (cf_json_get_str(p, "envelopePassphrase", MAX_PASSPHRASE, &r->passphrase) != 0) {
		snprintf(detail, cap, "envelopePassphrase must be a string of at most %d octets",
			 MAX_PASSPHRASE);
		return CF_EMALFORMED;
	}
	if (cf_password_check(r->passphrase, &why) != 0) {
		snprintf(detail, cap, "envelopePassphrase: %s", why ? why : "too weak");
		return CF_EWEAKPASSWORD;
	}
	return 0;
}

/* [{id, profile, subject, notAfter}] of n choices, or NULL. */
static cf_json *choices_json(const struct core_recovery_choice *c, size_t n)
{
	cf_json *list = cf_json_new_array(), *o;
	char when[21];
	int ret = list ? 0 : CF_ENOMEM;

	for (size_t i = 0; i < n && ret == 0; i++) {
		o = cf_json_new_object();
		if (!o) {
			ret = CF_ENOMEM;
			break;
		}
		cf_time_format(c[i].not_after, when);
		ret = cf_json_add_str(o, "id", c[i].id);
		ret |= cf_json_add_str(o, "profile", c[i].profile);
		ret |= cf_json_add_str(o, "subject", c[i].subject);
		ret |= cf_json_add_str(o, "notAfter", when);
		ret |= cf_json_push(list, o);
	}
	if (ret == 0)
		return list;
	cf_json_free(list);
	return NULL;
}

/* The credentials to choose from, as the credentialChoiceRequired problem lists them. */
static int choice_extra(const struct core_recovery_result *res, struct http_resp *resp)
{
	cf_json *list = choices_json(res->choices, res->nchoices);
	int ret = list ? 0 : CF_ENOMEM;

	cf_json_free(resp->extra);
	resp->extra = ret == 0 ? cf_json_new_object() : NULL;
	if (!resp->extra) {
		cf_json_free(list);
		return CF_ENOMEM;
	}
	return cf_json_add(resp->extra, "credentials", list) ? CF_ENOMEM : 0;
}

static int complete_problem(int ret, const struct core_recovery_req *r,
			    const struct core_recovery_result *res, struct http_resp *resp)
{
	const char *d = NULL;

	if (ret == CF_EBADOTP)
		d = r->otp ? "wrong, used or expired one-time password"
			   : "this recovery needs a one-time password (otp): see recovery/start";
	else if (ret == CF_ECHOICE)
		d = "several credentials can be recovered: name one in credential";
	else if (ret == CF_ECONFLICT)
		d = "no credential of this subject can be recovered now";
	if (d)
		snprintf(resp->detail, sizeof(resp->detail), "%s", d);
	step_detail(ret, resp);
	if ((ret == CF_EBADOTP || ret == CF_EBADANSWERS) &&
	    api_problem_attempts(resp, res->attempts_left) != 0)
		return CF_ENOMEM;
	if (ret == CF_ECHOICE && choice_extra(res, resp) != 0)
		return CF_ENOMEM;
	return ret;
}

int api_recovery_complete(const struct http_req *req, struct http_resp *resp)
{
	struct core_recovery_req r;
	struct core_recovery_result *res;
	struct core_who who;
	char actor[API_WHO_LEN];
	int ret;

	memset(&r, 0, sizeof(r));
	if (!req->payload) {
		snprintf(resp->detail, sizeof(resp->detail), "payload must be a JSON object");
		return CF_EMALFORMED;
	}
	ret = complete_decode(req->payload, &r, resp->detail, sizeof(resp->detail));
	if (ret != 0)
		return ret;
	res = calloc(1, sizeof(*res));
	if (!res)
		return CF_ENOMEM;
	api_who(req, &who, actor);
	ret = core_recovery_complete(req->core, &who, &r, res);
	if (ret == 0)
		ret = reply_sent(resp, 200, res->credential_id);
	else
		ret = complete_problem(ret, &r, res, resp);
	free(res);
	return ret;
}
