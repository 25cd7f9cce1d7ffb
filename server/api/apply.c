/*
 * apply — POST /v1/apply (§14) and POST /v1/reference-renew (§15), public resources signed with
 * any jwk. Every member is checked against the limits of the spec before the core is called, so
 * a bad request changes nothing. Answers and the passphrase stay in the request's JSON tree
 * (wiped by the HTTP layer) and never appear in a detail.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "cf_crypto.h"
#include "cf_err.h"
#include "cf_policy.h"
#include "cf_utf8.h"
#include "proof.h"

#define NAME_MAX_LEN 64	    /* givenName, surname; together with a space ≤ 64 (the CN) */
#define UNIQUE_ID_MAX 64    /* [A-Za-z0-9._-] */
#define EMAIL_MAX 254	    /* RFC 5321 path limit */
#define CERT_EMAIL_MAX 127  /* the professional address also goes into the certificate */
#define QUESTION_MAX 200    /* octets of a question text */
#define ANSWER_RAW_MAX 512  /* octets of an answer as typed (normalised: PROOF_ANSWER_MAX) */
#define PASSPHRASE_MAX 1024 /* octets; the policy's own limit is 128 characters */

/* The consents an applicant must give, as listed in the directory's meta. */
const char *const api_consents[] = {"terms", "privacy", NULL};

/* Their titles and texts, in api_consents' order (meta.consentTexts, §2): what a person reads
 * before accepting (the portal shows its own translations of the same texts). */
const struct api_consent_text api_consent_texts[] = {
    {"terms", "Terms of use",
     "You apply for a certificate in your own name. The information you give is true and "
     "complete, and you tell us at once when it changes. You keep your key, your password, "
     "your PIN and your emergency code secret: nobody, not even our staff, will ever ask you "
     "for them. You suspend your certificate at once (with your emergency code, on this "
     "portal) if you think someone else may use it. A signature made with your certificate "
     "is your signature. The certificate may be suspended or revoked if these terms are not "
     "kept or if the information in it is no longer true."},
    {"privacy", "Privacy notice",
     "We keep your name, your unique identifier, your e-mail addresses and your mobile "
     "number to issue your certificate, to reach you about it and to help you recover it. "
     "Your name, your unique identifier and your professional e-mail address appear in the "
     "certificate, which others see when you sign. Your answers to the security questions "
     "and your passphrase are never stored in readable form. We keep a record of what is "
     "done with your certificate (never your secrets) for as long as the law requires. You "
     "may ask to see or correct your data."},
    {NULL, NULL, NULL},
};

static int bad(struct http_resp *resp, const char *detail)
{
	snprintf(resp->detail, sizeof(resp->detail), "%s", detail);
	return CF_EMALFORMED;
}

/* 1..max octets of UTF-8 without control characters (C0, DEL or C1) — they would reach
 * certificates and e-mails. */
int api_text_ok(const char *s, size_t max)
{
	const char *p = s;
	size_t n = strlen(s);
	int32_t cp;

	if (n == 0 || n > max)
		return 0;
	while (*p) {
		cp = cf_utf8_next(&p);
		if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0))
			return 0;
	}
	return 1;
}

/* Text without the characters a distinguished name escapes, nor a space at either end (the name
 * becomes part of a certificate's CN). */
static int name_ok(const char *s, size_t max)
{
	size_t n = strlen(s);

	return api_text_ok(s, max) && s[0] != ' ' && s[n - 1] != ' ' &&
	       !s[strcspn(s, ",=+\\\"<>;#")];
}

static int unique_id_ok(const char *s)
{
	size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-");

	return n > 0 && n <= UNIQUE_ID_MAX && s[n] == '\0';
}

/* ≤ 254 octets, exactly one '@' with text on both sides, no white space or control
 * characters. */
int api_email_ok(const char *s)
{
	const char *at = strchr(s, '@');

	if (!at || at == s || !at[1] || strchr(at + 1, '@') || strlen(s) > EMAIL_MAX)
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

/* E.164: '+' then 8..15 digits. */
int api_mobile_ok(const char *s)
{
	size_t n = s[0] == '+' ? strspn(s + 1, "0123456789") : 0;

	return n >= 8 && n <= 15 && s[n + 1] == '\0';
}

static int text_member(const cf_json *p, const char *key, size_t max, const char **out)
{
	return cf_json_get_str(p, key, max, out);
}

static int decode_identity(const cf_json *p, struct core_apply_req *r, struct http_resp *resp)
{
	if (text_member(p, "profile", 32, &r->profile) != 0 || !core_profile_known(r->profile))
		return bad(resp, "profile must be \"device\" or \"signing\"");
	if (text_member(p, "givenName", 4 * NAME_MAX_LEN, &r->given_name) != 0 ||
	    !name_ok(r->given_name, NAME_MAX_LEN))
		return bad(resp, "givenName must be 1 to 64 octets without control characters, "
				 "any of ,=+\\\"<>;# or spaces at either end");
	if (text_member(p, "surname", 4 * NAME_MAX_LEN, &r->surname) != 0 ||
	    !name_ok(r->surname, NAME_MAX_LEN))
		return bad(resp, "surname must be 1 to 64 octets without control characters, "
				 "any of ,=+\\\"<>;# or spaces at either end");
	if (strlen(r->given_name) + 1 + strlen(r->surname) > NAME_MAX_LEN)
		return bad(resp, "givenName and surname together must be at most 63 octets");
	if (text_member(p, "uniqueId", 4 * UNIQUE_ID_MAX, &r->unique_id) != 0 ||
	    !unique_id_ok(r->unique_id))
		return bad(resp, "uniqueId must be 1 to 64 characters of A-Z a-z 0-9 . _ -");
	if (text_member(p, "email", 4 * EMAIL_MAX, &r->email) != 0 || !api_email_ok(r->email) ||
	    strlen(r->email) > CERT_EMAIL_MAX)
		return bad(resp, "email must be an address of at most 127 octets");
	if (text_member(p, "altEmail", 4 * EMAIL_MAX, &r->alt_email) != 0 ||
	    !api_email_ok(r->alt_email))
		return bad(resp, "altEmail must be an address of at most 254 octets");
	if (strcasecmp(r->email, r->alt_email) == 0)
		return bad(resp, "altEmail must differ from email");
	if (text_member(p, "mobile", 32, &r->mobile) != 0 || !api_mobile_ok(r->mobile))
		return bad(resp, "mobile must be E.164: '+' and 8 to 15 digits");
	return 0;
}

/* 1 if the answer normalises to 1..128 octets. */
static int answer_ok(const char *s)
{
	char norm[PROOF_ANSWER_MAX + 1];
	int ok = proof_answer_normalise(s, norm) == 0;

	cf_zeroize(norm, sizeof(norm));
	return ok;
}

static int decode_questions(const cf_json *p, struct core_apply_req *r, struct http_resp *resp)
{
	const cf_json *qs = cf_json_get(p, "questions"), *q;
	size_t i, j;

	if (!cf_json_is_array(qs) || cf_json_array_size(qs) != STORE_QUESTIONS)
		return bad(resp, "questions must be an array of 3 {question, answer} objects");
	for (i = 0; i < STORE_QUESTIONS; i++) {
		q = cf_json_array_item(qs, i);
		if (!cf_json_is_object(q) ||
		    text_member(q, "question", 4 * QUESTION_MAX, &r->questions[i]) != 0 ||
		    !api_text_ok(r->questions[i], QUESTION_MAX)) {
			snprintf(resp->detail, sizeof(resp->detail),
				 "questions[%zu].question must be 1 to %d octets without control "
				 "characters",
				 i, QUESTION_MAX);
			return CF_EMALFORMED;
		}
		if (text_member(q, "answer", ANSWER_RAW_MAX, &r->answers[i]) != 0 ||
		    !answer_ok(r->answers[i])) {
			snprintf(resp->detail, sizeof(resp->detail),
				 "questions[%zu].answer must be 1 to %d octets once white space is "
				 "trimmed",
				 i, PROOF_ANSWER_MAX);
			return CF_EMALFORMED;
		}
		for (j = 0; j < i; j++)
			if (strcmp(r->questions[i], r->questions[j]) == 0)
				return bad(resp, "the 3 questions must differ");
	}
	return 0;
}

static int consent_index(const char *name)
{
	for (int i = 0; api_consents[i]; i++)
		if (strcmp(api_consents[i], name) == 0)
			return i;
	return -1;
}

int api_consents_decode(const cf_json *p, char *out, size_t cap, struct http_resp *resp)
{
	const cf_json *arr = cf_json_get(p, "consents");
	unsigned seen = 0, all = 0;
	const char *name;
	size_t i, n = cf_json_array_size(arr), len = 0;
	int k;

	if (!cf_json_is_array(arr))
		return bad(resp, "consents must be an array of consent names");
	out[0] = '\0';
	for (i = 0; i < n; i++) {
		if (cf_json_str(cf_json_array_item(arr, i), 32, &name) != 0 ||
		    (k = consent_index(name)) < 0 || (seen & 1u << k))
			return bad(resp, "consents holds an unknown or repeated name");
		seen |= 1u << k;
		len += (size_t)snprintf(out + len, cap - len, "%s%s", len ? "," : "", name);
	}
	for (k = 0; api_consents[k]; k++)
		all |= 1u << k;
	if (seen != all) {
		/* in words, with the names a client shows beside their texts */
		size_t o = (size_t)snprintf(resp->detail, sizeof(resp->detail),
					    "every consent must be accepted, each once:");
		for (k = 0; api_consents[k] && o < sizeof(resp->detail); k++)
			o += (size_t)snprintf(resp->detail + o, sizeof(resp->detail) - o, "%s %s",
					      k ? "," : "", api_consents[k]);
		return CF_EMALFORMED;
	}
	return 0;
}

static int decode_apply(const cf_json *p, struct core_apply_req *r, char *consents, size_t cap,
			struct http_resp *resp)
{
	const char *why = NULL;
	int ret;

	if (!p)
		return bad(resp, "the application must be a JSON object");
	ret = decode_identity(p, r, resp);
	if (ret == 0)
		ret = decode_questions(p, r, resp);
	if (ret == 0)
		ret = api_consents_decode(p, consents, cap, resp);
	if (ret != 0)
		return ret;
	r->consents = consents;
	if (text_member(p, "envelopePassphrase", PASSPHRASE_MAX, &r->passphrase) != 0)
		return bad(resp, "envelopePassphrase is required");
	if (cf_password_check(r->passphrase, &why) != 0) {
		snprintf(resp->detail, sizeof(resp->detail), "envelopePassphrase %s",
			 why ? why : "does not meet the policy");
		return CF_EWEAKPASSWORD;
	}
	return 0;
}

int api_apply(const struct http_req *req, struct http_resp *resp)
{
	struct core_apply_req r;
	struct store_application *app = NULL;
	struct core_who who;
	char actor[API_WHO_LEN], consents[STORE_CONSENTS_LEN];
	cf_json *doc;
	int ret;

	memset(&r, 0, sizeof(r));
	ret = decode_apply(req->payload, &r, consents, sizeof(consents), resp);
	if (ret != 0)
		return ret;
	app = calloc(1, sizeof(*app));
	if (!app)
		return CF_ENOMEM;
	api_who(req, &who, actor);
	ret = api_rate(resp, req->core, &who, RATE_APPLY_ADDR, -1, NULL);
	if (ret == 0)
		ret = core_apply(req->core, &who, &r, app);
	if (ret == 0) {
		doc = api_application_json(app, NULL);
		ret = doc ? http_resp_json(resp, 201, doc) : CF_ENOMEM;
	}
	cf_zeroize(app, sizeof(*app)); /* the answers' verifiers */
	free(app);
	return ret;
}

int api_reference_renew(const struct http_req *req, struct http_resp *resp)
{
	const char *answers[STORE_QUESTIONS], *s;
	const cf_json *arr;
	char reference[STORE_REF_LEN], actor[API_WHO_LEN];
	struct core_who who;
	cf_json *doc;
	int ret, left = -1;
	size_t i;

	if (!req->payload || cf_json_get_str(req->payload, "reference", 32, &s) != 0 ||
	    api_reference_decode(s, reference) != 0)
		return bad(resp, "reference must be 12 digits");
	arr = cf_json_get(req->payload, "answers");
	if (!cf_json_is_array(arr) || cf_json_array_size(arr) != STORE_QUESTIONS)
		return bad(resp, "answers must be an array of 3 strings");
	for (i = 0; i < STORE_QUESTIONS; i++)
		if (cf_json_str(cf_json_array_item(arr, i), ANSWER_RAW_MAX, &answers[i]) != 0 ||
		    !answer_ok(answers[i]))
			return bad(resp, "each answer must be 1 to 128 octets once white space is "
					 "trimmed");
	api_who(req, &who, actor);
	ret = api_rate(resp, req->core, &who, RATE_QUESTIONS_ADDR, -1, NULL);
	if (ret == 0)
		ret = core_reference_renew(req->core, &who, reference, answers, &left);
	if (ret == CF_EBADANSWERS) {
		snprintf(resp->detail, sizeof(resp->detail),
			 "reference number or answers not accepted");
		if (api_problem_attempts(resp, left) != 0)
			return CF_ENOMEM;
	} else if (ret == CF_EPROOFLOCKED) {
		snprintf(resp->detail, sizeof(resp->detail),
			 "too many wrong answers: only a new application can unlock the questions");
	}
	if (ret != 0)
		return ret;
	doc = cf_json_new_object();
	if (!doc || cf_json_add_str(doc, "status", "sent") != 0) {
		cf_json_free(doc);
		return CF_ENOMEM;
	}
	return http_resp_json(resp, 200, doc);
}
