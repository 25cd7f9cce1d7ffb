/*
 * application — the application object (§14) and the operator's operations on applications and
 * subjects (§21): admin/application-list, -show, -approve, -reject, admin/unlock and
 * admin/totp-reset. Answers' verifiers, envelope keys, TOTP seeds and emergency-code HMACs
 * never leave the core.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "cf_clock.h"
#include "cf_crypto.h"
#include "cf_err.h"

#define REASON_MAX 200

/* Free a copy of an application or a subject: they hold answer verifiers and sealed keys. */
static void drop(void *p, size_t len)
{
	if (p)
		cf_zeroize(p, len);
	free(p);
}

static int add_time(cf_json *o, const char *key, int64_t t)
{
	char s[21];

	cf_time_format(t, s);
	return cf_json_add_str(o, key, s);
}

static cf_json *subject_json(const struct store_subject *s)
{
	cf_json *o = cf_json_new_object();
	int ret = o ? 0 : CF_ENOMEM;

	ret |= cf_json_add_str(o, "id", s->id);
	ret |= cf_json_add_str(o, "givenName", s->given_name);
	ret |= cf_json_add_str(o, "surname", s->surname);
	ret |= cf_json_add_str(o, "uniqueId", s->unique_id);
	ret |= cf_json_add_str(o, "email", s->email);
	if (s->alt_email[0])
		ret |= cf_json_add_str(o, "altEmail", s->alt_email);
	if (s->mobile[0])
		ret |= cf_json_add_str(o, "mobile", s->mobile);
	ret |= cf_json_add_int(o, "questionAttempts", s->question_attempts);
	ret |= cf_json_add_int(o, "otpFailures", s->otp_failures);
	ret |= cf_json_add_bool(o, "totp", s->totp_seed_len > 0 && s->totp_confirmed);
	if (ret == 0)
		return o;
	cf_json_free(o);
	return NULL;
}

/* "terms,privacy" → ["terms", "privacy"] */
static cf_json *consents_json(const char *list)
{
	cf_json *arr = cf_json_new_array();
	char name[STORE_CONSENTS_LEN];
	const char *p = list, *end;
	int ret = arr ? 0 : CF_ENOMEM;

	while (ret == 0 && p && *p) {
		end = strchr(p, ',');
		snprintf(name, sizeof(name), "%.*s", (int)(end ? end - p : (long)strlen(p)), p);
		ret = cf_json_push_str(arr, name);
		p = end ? end + 1 : NULL;
	}
	if (ret == 0)
		return arr;
	cf_json_free(arr);
	return NULL;
}

/* The operator's view: subject, review flag, decision, codes and credential. */
static int add_admin_members(cf_json *o, const struct store_application *a,
			     const struct store_subject *subj)
{
	cf_json *s = subject_json(subj), *c = consents_json(a->consents);
	int ret = 0;

	ret |= s ? cf_json_add(o, "subject", s) : CF_ENOMEM;
	ret |= c ? cf_json_add(o, "consents", c) : CF_ENOMEM;
	ret |= cf_json_add_bool(o, "needsReview", a->needs_review);
	ret |= cf_json_add_int(o, "envelopes", a->envelope_count);
	ret |= cf_json_add_int(o, "emergencyFailures", a->emergency_failures);
	if (a->decided_at) {
		ret |= add_time(o, "decidedAt", a->decided_at);
		ret |= cf_json_add_str(o, "decidedBy", a->decided_by);
	}
	if (a->reason[0])
		ret |= cf_json_add_str(o, "reason", a->reason);
	if (a->reference[0])
		ret |= cf_json_add_str(o, "reference", a->reference);
	if (a->credential_id[0])
		ret |= cf_json_add_str(o, "credential", a->credential_id);
	return ret ? CF_ENOMEM : 0;
}

cf_json *api_application_json(const struct store_application *a, const struct store_subject *subj)
{
	cf_json *o = cf_json_new_object();
	int ret = o ? 0 : CF_ENOMEM;

	ret |= cf_json_add_str(o, "id", a->id);
	ret |= cf_json_add_str(o, "status", core_application_status(a));
	ret |= cf_json_add_str(o, "profile", a->profile);
	ret |= add_time(o, "createdAt", a->created_at);
	if (ret == 0 && subj)
		ret = add_admin_members(o, a, subj);
	if (ret == 0)
		return o;
	cf_json_free(o);
	return NULL;
}

static int state_of(const char *name)
{
	static const char *const names[] = {"pending", "approved", "rejected", "activated"};
	static const int states[] = {APP_PENDING, APP_APPROVED, APP_REJECTED, APP_ACTIVATED};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(names[i], name) == 0)
			return states[i];
	return -1;
}

static int push_application(const struct store_application *a, const struct store_subject *s,
			    void *ctx)
{
	cf_json *o = api_application_json(a, s);
	return o ? cf_json_push(ctx, o) : CF_ENOMEM;
}

/* The status filter is the store walk's (core_application_list): every record seen matches. */
static int page_application(const struct store_application *a, const struct store_subject *s,
			    void *ctx)
{
	struct api_page *pg = ctx;
	int r = api_page_visit(pg, a->id, 1);

	return r ? r : push_application(a, s, pg->arr);
}

int api_admin_application_list(const struct http_req *req, struct http_resp *resp)
{
	const char *status = NULL;
	struct api_page pg;
	int state = 0, ret = api_need_payload(req, resp);

	if (ret != 0)
		return ret;
	if (cf_json_get_str_opt(req->payload, "status", 16, &status) != 0 ||
	    (status && (state = state_of(status)) < 0)) {
		snprintf(resp->detail, sizeof(resp->detail),
			 "status must be pending, approved, rejected or activated");
		return CF_EMALFORMED;
	}
	if ((ret = api_page_start(req, resp, &pg)) != 0)
		return ret;
	ret = core_application_list(req->core, state, pg.after, page_application, &pg);
	return api_page_answer(resp, "applications", &pg, ret);
}

static int get_id(const struct http_req *req, struct http_resp *resp, const char *member,
		  const char **id)
{
	if (!req->payload || cf_json_get_str(req->payload, member, STORE_ID_LEN - 1, id) != 0) {
		snprintf(resp->detail, sizeof(resp->detail), "%s is required", member);
		return CF_EMALFORMED;
	}
	return 0;
}

/* Answer with the application id as it is now (after an operation that returned ret). */
static int answer_application(const struct http_req *req, struct http_resp *resp, const char *id,
			      int ret)
{
	struct store_application *app = NULL;
	struct store_subject *subj = NULL;
	cf_json *doc = NULL;

	if (ret == 0) {
		app = malloc(sizeof(*app));
		subj = malloc(sizeof(*subj));
		ret = app && subj ? core_application_get(req->core, id, app, subj) : CF_ENOMEM;
	}
	if (ret == CF_ENOTFOUND)
		snprintf(resp->detail, sizeof(resp->detail), "no such application");
	else if (ret == CF_ECONFLICT)
		snprintf(resp->detail, sizeof(resp->detail), "the application is not pending");
	if (ret == 0) {
		doc = api_application_json(app, subj);
		ret = doc ? http_resp_json(resp, 200, doc) : CF_ENOMEM;
	}
	drop(app, sizeof(*app));
	drop(subj, sizeof(*subj));
	return ret;
}

int api_admin_application_show(const struct http_req *req, struct http_resp *resp)
{
	const char *id;
	int ret = get_id(req, resp, "id", &id);

	return ret ? ret : answer_application(req, resp, id, 0);
}

int api_admin_application_approve(const struct http_req *req, struct http_resp *resp)
{
	struct store_application *app;
	struct core_who who;
	char actor[API_WHO_LEN];
	const char *id;
	int ret = get_id(req, resp, "id", &id);

	if (ret != 0)
		return ret;
	app = malloc(sizeof(*app));
	if (!app)
		return CF_ENOMEM;
	api_who(req, &who, actor);
	ret = core_application_approve(req->core, &who, id, app);
	drop(app, sizeof(*app));
	return answer_application(req, resp, id, ret);
}

int api_admin_application_reject(const struct http_req *req, struct http_resp *resp)
{
	struct store_application *app;
	struct core_who who;
	char actor[API_WHO_LEN];
	const char *id, *reason;
	int ret = get_id(req, resp, "id", &id);

	if (ret != 0)
		return ret;
	if (cf_json_get_str(req->payload, "reason", 4 * REASON_MAX, &reason) != 0 ||
	    !api_text_ok(reason, REASON_MAX)) {
		snprintf(resp->detail, sizeof(resp->detail),
			 "reason must be 1 to %d octets without control characters", REASON_MAX);
		return CF_EMALFORMED;
	}
	app = malloc(sizeof(*app));
	if (!app)
		return CF_ENOMEM;
	api_who(req, &who, actor);
	ret = core_application_reject(req->core, &who, id, reason, app);
	drop(app, sizeof(*app));
	return answer_application(req, resp, id, ret);
}

typedef int (*subject_fn)(struct core *c, const struct core_who *who, const char *subject_id,
			  struct store_subject *out);

/* An operation on the subject of {"subject": id}, answered with the subject as it is after. */
static int subject_op(const struct http_req *req, struct http_resp *resp, subject_fn fn)
{
	struct store_subject *subj;
	struct core_who who;
	char actor[API_WHO_LEN];
	const char *id;
	cf_json *doc = NULL;
	int ret = get_id(req, resp, "subject", &id);

	if (ret != 0)
		return ret;
	subj = malloc(sizeof(*subj));
	if (!subj)
		return CF_ENOMEM;
	api_who(req, &who, actor);
	ret = fn(req->core, &who, id, subj);
	if (ret == CF_ENOTFOUND)
		snprintf(resp->detail, sizeof(resp->detail), "no such subject");
	if (ret == 0) {
		doc = subject_json(subj);
		ret = doc ? http_resp_json(resp, 200, doc) : CF_ENOMEM;
	}
	drop(subj, sizeof(*subj));
	return ret;
}

int api_admin_unlock(const struct http_req *req, struct http_resp *resp)
{
	return subject_op(req, resp, core_unlock);
}

int api_admin_totp_reset(const struct http_req *req, struct http_resp *resp)
{
	return subject_op(req, resp, core_totp_reset);
}

int api_admin_subject_update(const struct http_req *req, struct http_resp *resp)
{
	const char *email = NULL, *alt = NULL, *mobile = NULL, *check = NULL, *id;
	struct store_subject *subj;
	struct core_who who;
	char actor[API_WHO_LEN];
	cf_json *doc = NULL;
	int ret = get_id(req, resp, "subject", &id);

	if (ret != 0)
		return ret;
	if (cf_json_get_str_opt(req->payload, "email", 127, &email) != 0 ||
	    (email && !api_email_ok(email)) ||
	    cf_json_get_str_opt(req->payload, "altEmail", 254, &alt) != 0 ||
	    (alt && !api_email_ok(alt)) ||
	    cf_json_get_str_opt(req->payload, "mobile", 16, &mobile) != 0 ||
	    (mobile && !api_mobile_ok(mobile))) {
		snprintf(resp->detail, sizeof(resp->detail),
			 "email (at most 127 octets) and altEmail must be e-mail addresses, mobile "
			 "E.164 ('+' and 8 to 15 digits)");
		return CF_EMALFORMED;
	}
	if (!email && !alt && !mobile) {
		snprintf(resp->detail, sizeof(resp->detail),
			 "give at least one of email, altEmail and mobile");
		return CF_EMALFORMED;
	}
	if (cf_json_get_str(req->payload, "identityCheck", 100, &check) != 0 ||
	    !api_text_ok(check, 100)) {
		snprintf(
		    resp->detail, sizeof(resp->detail),
		    "identityCheck must say, in 1 to 100 characters, how the person's identity "
		    "was checked");
		return CF_EMALFORMED;
	}
	subj = malloc(sizeof(*subj));
	if (!subj)
		return CF_ENOMEM;
	api_who(req, &who, actor);
	ret = core_subject_update(req->core, &who, id, email, alt, mobile, check, subj);
	if (ret == CF_ENOTFOUND)
		snprintf(resp->detail, sizeof(resp->detail), "no such subject");
	else if (ret == CF_ECONFLICT)
		snprintf(resp->detail, sizeof(resp->detail),
			 "another subject already has that e-mail address");
	else if (ret == CF_EMALFORMED)
		snprintf(resp->detail, sizeof(resp->detail),
			 "the alternate e-mail address must differ from the professional one");
	if (ret == 0) {
		doc = subject_json(subj);
		ret = doc ? http_resp_json(resp, 200, doc) : CF_ENOMEM;
	}
	drop(subj, sizeof(*subj));
	return ret;
}
