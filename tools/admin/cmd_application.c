/*
 * cmd_application — applications, subjects and the audit trail: `application list|show|approve|
 * reject`, `unlock SUBJECT`, `totp-reset SUBJECT` and `audit` (spec/protocol.md §14, §21). Each
 * is one admin operation shown as lines or rows; the server never sends answers, keys or codes,
 * so nothing secret can be printed here.
 */
#include "admin.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_err.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define ID_MAX 64
#define REASON_MAX 200

static const struct field app_cols[] = {
    {"id", "id", F_TEXT},
    {"status", "status", F_TEXT},
    {"profile", "profile", F_TEXT},
    {"name", "name", F_TEXT},
    {"email", "email", F_TEXT},
    {"review", "review", F_TEXT},
    {"created", "createdAt", F_TEXT},
};

static const struct field app_fields[] = {
    {"id", "id", F_TEXT},
    {"status", "status", F_TEXT},
    {"profile", "profile", F_TEXT},
    {"name", "name", F_TEXT},
    {"unique id", "uniqueId", F_TEXT},
    {"email", "email", F_TEXT},
    {"subject", "subjectId", F_TEXT},
    {"needs review", "review", F_TEXT},
    {"consents", "consents", F_TEXT},
    {"created", "createdAt", F_TEXT},
    {"decided", "decidedAt", F_TEXT},
    {"decided by", "decidedBy", F_TEXT},
    {"reason", "reason", F_TEXT},
    {"reference", "reference", F_REF},
    {"envelopes", "envelopes", F_TEXT},
    {"emergency failures", "emergencyFailures", F_TEXT},
    {"credential", "credential", F_TEXT},
};

static const struct field subject_fields[] = {
    {"subject", "id", F_TEXT},
    {"given name", "givenName", F_TEXT},
    {"surname", "surname", F_TEXT},
    {"unique id", "uniqueId", F_TEXT},
    {"email", "email", F_TEXT},
    {"question attempts", "questionAttempts", F_TEXT},
    {"OTP failures", "otpFailures", F_TEXT},
    {"TOTP", "totp", F_TEXT},
};

static const struct field audit_cols[] = {
    {"seq", "seq", F_TEXT},	  {"at", "at", F_TEXT},		{"actor", "actor", F_TEXT},
    {"operator", "actorName", F_TEXT},
    {"action", "action", F_TEXT}, {"object", "object", F_TEXT}, {"result", "result", F_TEXT},
    {"remote", "remote", F_TEXT}, {"detail", "detail", F_TEXT},
};

/* An application with its subject's members brought up to the top level for the columns:
 * name ("Ada Lovelace"), email, uniqueId, subjectId, review ("yes"/"no"). NULL: no memory. */
static cf_json *app_flat(const cf_json *app)
{
	const cf_json *subj = cf_json_get(app, "subject");
	const char *given = "", *surname = "", *s;
	cf_json *o = cf_json_dup(app);
	char name[300];
	int review = 0, ret = o ? 0 : CF_ENOMEM;

	cf_json_get_str(subj, "givenName", 256, &given);
	cf_json_get_str(subj, "surname", 256, &surname);
	snprintf(name, sizeof(name), "%s%s%s", given, given[0] && surname[0] ? " " : "", surname);
	ret |= cf_json_add_str(o, "name", name);
	if (cf_json_get_str(subj, "email", 512, &s) == 0)
		ret |= cf_json_add_str(o, "email", s);
	if (cf_json_get_str(subj, "uniqueId", 256, &s) == 0)
		ret |= cf_json_add_str(o, "uniqueId", s);
	if (cf_json_get_str(subj, "id", 256, &s) == 0)
		ret |= cf_json_add_str(o, "subjectId", s);
	if (cf_json_get_bool(app, "needsReview", &review) == 0)
		ret |= cf_json_add_str(o, "review", review ? "yes" : "no");
	if (ret == 0)
		return o;
	cf_json_free(o);
	return NULL;
}

/* POST op with payload and show the answer: fields of one object (flattened as an application
 * when app is set) or a table of the array member list. payload is consumed. */
static int call_show(struct admin *ad, const char *op, cf_json *payload, const char *list,
		     const struct field *f, size_t n, int app)
{
	struct http_response raw = {0};
	cf_json *resp = NULL, *shown = NULL, *item;
	const cf_json *arr;
	int ret;

	if (!payload) {
		ret = admin_fail(CF_ENOMEM, "out of memory");
		goto out;
	}
	ret = admin_call(ad, op, payload, &resp, &raw);
	if (ret)
		goto out;
	if (ad->json) {
		out_raw(&raw);
	} else if (list) {
		arr = cf_json_get(resp, list);
		shown = cf_json_new_array();
		for (size_t i = 0; shown && app && i < cf_json_array_size(arr); i++) {
			item = app_flat(cf_json_array_item(arr, i));
			if (!item || cf_json_push(shown, item) != 0) {
				ret = admin_fail(CF_ENOMEM, "out of memory");
				goto out;
			}
		}
		out_table(app ? shown : arr, f, n);
	} else {
		shown = app ? app_flat(resp) : NULL;
		out_object(app ? shown : resp, f, n);
	}
out:
	http_response_clear(&raw);
	cf_json_free(shown);
	cf_json_free(resp);
	cf_json_free(payload);
	return ret;
}

/* {"<member>": value} or NULL. */
static cf_json *payload_str(const char *member, const char *value)
{
	cf_json *p = cf_json_new_object();

	if (p && cf_json_add_str(p, member, value) != 0) {
		cf_json_free(p);
		return NULL;
	}
	return p;
}

static const char *id_arg(int argc, char **argv, const char *what)
{
	const char *id = arg_single(argc, argv, what);

	if (id && strlen(id) > ID_MAX) {
		admin_usage("%s too long", what);
		return NULL;
	}
	return id;
}

int cmd_application_list(struct admin *ad, int argc, char **argv)
{
	static const struct option lo[] = {{"status", required_argument, NULL, 's'},
					   {"limit", required_argument, NULL, 'l'},
					   {NULL, 0, NULL, 0}};
	static const char *const states[] = {"pending", "approved", "rejected", "activated"};
	const char *status = NULL;
	cf_json *payload;
	char *end;
	long max = 0;
	int c, known = 0;

	optind = 0;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (c == 'l') {
			max = strtol(optarg, &end, 10);
			if (!*optarg || *end || max < 1)
				return admin_usage("--limit must be a number of at least 1");
			continue;
		}
		if (c != 's')
			return admin_usage("bad option '%s' (see 'certflow-admin application list "
					   "--help')",
					   argv[optind - 1]);
		status = optarg;
	}
	if (optind != argc)
		return admin_usage("application list takes no arguments ('%s' is extra)",
				   argv[optind]);
	for (size_t i = 0; status && i < N(states); i++)
		known |= strcmp(status, states[i]) == 0;
	if (status && !known)
		return admin_usage("--status must be pending, approved, rejected or activated");
	payload = status ? payload_str("status", status) : cf_json_new_object();
	if (!payload)
		return admin_fail(CF_ENOMEM, "out of memory");
	return admin_list(ad, "application-list", payload, "applications", app_cols, N(app_cols),
			  max, app_flat);
}

static int application_op(struct admin *ad, int argc, char **argv, const char *op)
{
	const char *id = id_arg(argc, argv, "ID");

	if (!id)
		return CF_EUSAGE;
	return call_show(ad, op, payload_str("id", id), NULL, app_fields, N(app_fields), 1);
}

int cmd_application_show(struct admin *ad, int argc, char **argv)
{
	return application_op(ad, argc, argv, "application-show");
}

int cmd_application_approve(struct admin *ad, int argc, char **argv)
{
	return application_op(ad, argc, argv, "application-approve");
}

int cmd_application_reject(struct admin *ad, int argc, char **argv)
{
	static const struct option lo[] = {{"reason", required_argument, NULL, 'r'},
					   {NULL, 0, NULL, 0}};
	const char *reason = NULL, *id;
	cf_json *payload;
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (c != 'r')
			return admin_usage(
			    "bad option '%s' (see 'certflow-admin application reject "
			    "--help')",
			    argv[optind - 1]);
		reason = optarg;
	}
	if (optind + 1 != argc)
		return admin_usage("application reject needs one ID");
	id = argv[optind];
	if (strlen(id) > ID_MAX)
		return admin_usage("ID too long");
	if (!reason || !reason[0] || strlen(reason) > REASON_MAX)
		return admin_usage("application reject needs --reason TEXT (1 to %d octets)",
				   REASON_MAX);
	payload = payload_str("id", id);
	if (payload && cf_json_add_str(payload, "reason", reason) != 0) {
		cf_json_free(payload);
		payload = NULL;
	}
	return call_show(ad, "application-reject", payload, NULL, app_fields, N(app_fields), 1);
}

/* An operation on one subject ({"subject": SUBJECT}) that answers with the subject. */
static int subject_op(struct admin *ad, int argc, char **argv, const char *op)
{
	const char *id = id_arg(argc, argv, "SUBJECT");

	if (!id)
		return CF_EUSAGE;
	return call_show(ad, op, payload_str("subject", id), NULL, subject_fields,
			 N(subject_fields), 0);
}

int cmd_unlock(struct admin *ad, int argc, char **argv)
{
	return subject_op(ad, argc, argv, "unlock");
}

int cmd_totp_reset(struct admin *ad, int argc, char **argv)
{
	return subject_op(ad, argc, argv, "totp-reset");
}

/* A decimal number in 0..max for option name. */
static int number_arg(const char *name, const char *text, long long min, long long max,
		      long long *out)
{
	char *end;
	long long n = strtoll(text, &end, 10);

	if (!text[0] || *end || n < min || n > max)
		return admin_usage("--%s must be a number from %lld to %lld", name, min, max);
	*out = n;
	return 0;
}

int cmd_audit(struct admin *ad, int argc, char **argv)
{
	static const struct option lo[] = {{"after", required_argument, NULL, 'a'},
					   {"limit", required_argument, NULL, 'l'},
					   {"object", required_argument, NULL, 'o'},
					   {NULL, 0, NULL, 0}};
	struct http_response raw = {0};
	long long after = -1, limit = -1;
	const char *object = NULL;
	cf_json *payload = NULL, *resp = NULL;
	int64_t next = 0;
	int c, ret = 0;

	optind = 0;
	while (ret == 0 && (c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (c == 'a')
			ret = number_arg("after", optarg, 0, INT64_MAX, &after);
		else if (c == 'l')
			ret = number_arg("limit", optarg, 1, 500, &limit);
		else if (c == 'o')
			object = optarg;
		else
			return admin_usage("bad option '%s' (see 'certflow-admin audit --help')",
					   argv[optind - 1]);
	}
	if (ret)
		return ret;
	if (optind != argc)
		return admin_usage("audit takes no arguments ('%s' is extra)", argv[optind]);
	if (object && strlen(object) > 95)
		return admin_usage("--object is at most 95 characters");
	payload = cf_json_new_object();
	ret = payload ? 0 : CF_ENOMEM;
	if (!ret && after >= 0)
		ret = cf_json_add_int(payload, "after", after);
	if (!ret && limit >= 0)
		ret = cf_json_add_int(payload, "limit", limit);
	if (!ret && object)
		ret = cf_json_add_str(payload, "object", object);
	if (ret) {
		ret = admin_fail(CF_ENOMEM, "out of memory");
		goto out;
	}
	ret = admin_call(ad, "audit-list", payload, &resp, &raw);
	if (ret)
		goto out;
	if (ad->json) {
		out_raw(&raw);
		goto out;
	}
	out_table(cf_json_get(resp, "events"), audit_cols, N(audit_cols));
	if (cf_json_get_int(resp, "next", 1, INT64_MAX, &next) == 0)
		printf("\nmore events: certflow-admin audit --after %lld\n", (long long)next);
out:
	http_response_clear(&raw);
	cf_json_free(resp);
	cf_json_free(payload);
	return ret;
}

int cmd_subject_update(struct admin *ad, int argc, char **argv)
{
	static const struct option lo[] = {{"email", required_argument, NULL, 'e'},
					   {"alt-email", required_argument, NULL, 'a'},
					   {"mobile", required_argument, NULL, 'm'},
					   {"identity-checked", required_argument, NULL, 'i'},
					   {NULL, 0, NULL, 0}};
	const char *email = NULL, *alt = NULL, *mobile = NULL, *check = NULL, *id;
	cf_json *payload;
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (c == 'e')
			email = optarg;
		else if (c == 'a')
			alt = optarg;
		else if (c == 'm')
			mobile = optarg;
		else if (c == 'i')
			check = optarg;
		else
			return admin_usage("bad option '%s' (see 'certflow-admin subject update "
					   "--help')",
					   argv[optind - 1]);
	}
	if (optind + 1 != argc)
		return admin_usage("subject update needs one SUBJECT");
	id = argv[optind];
	if (strlen(id) > ID_MAX)
		return admin_usage("SUBJECT too long");
	if (!email && !alt && !mobile)
		return admin_usage("subject update needs --email, --alt-email or --mobile");
	if (!check || !check[0] || strlen(check) > 100)
		return admin_usage("subject update needs --identity-checked TEXT (1 to 100 "
				   "characters: how you checked who the person is)");
	payload = payload_str("subject", id);
	if (payload && ((email && cf_json_add_str(payload, "email", email) != 0) ||
			(alt && cf_json_add_str(payload, "altEmail", alt) != 0) ||
			(mobile && cf_json_add_str(payload, "mobile", mobile) != 0) ||
			cf_json_add_str(payload, "identityCheck", check) != 0)) {
		cf_json_free(payload);
		payload = NULL;
	}
	return call_show(ad, "subject-update", payload, NULL, subject_fields, N(subject_fields), 0);
}
