/*
 * cmd_remote — renewal coupons and updates of remote credentials (spec/protocol.md §26):
 * `coupon issue|list|cancel` and `update mark`. The coupon codes are printed once, by
 * `coupon issue`, and wiped from memory with the answer; the server keeps only their HMACs.
 */
#include "admin.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_crypto.h"
#include "cf_err.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const struct field coupon_cols[] = {
    {"id", "id", F_TEXT},
    {"status", "status", F_TEXT},
    {"profile", "profile", F_TEXT},
    {"created", "createdAt", F_TEXT},
    {"expires", "expiresAt", F_TEXT},
    {"used", "usedAt", F_TEXT},
    {"used by", "usedBy", F_TEXT},
    {"note", "note", F_TEXT},
};

static const struct field issued_cols[] = {
    {"code", "code", F_TEXT},
    {"id", "id", F_TEXT},
    {"profile", "profile", F_TEXT},
    {"expires", "expiresAt", F_TEXT},
};

static int oom(void)
{
	return admin_fail(CF_ENOMEM, "out of memory");
}

/* A decimal number in min..max for option name. */
static int number(const char *name, const char *text, long min, long max, long *out)
{
	char *end;
	long n = strtol(text, &end, 10);

	if (!text[0] || *end || n < min || n > max)
		return admin_usage("--%s must be a number from %ld to %ld", name, min, max);
	*out = n;
	return 0;
}

/* POST op with payload (consumed); print the raw JSON, a table of member list, or one object. */
static int call(struct admin *ad, const char *op, cf_json *payload, const char *list,
		const struct field *f, size_t n)
{
	struct http_response raw = {0};
	cf_json *resp = NULL;
	int ret;

	if (!payload)
		return oom();
	ret = admin_call(ad, op, payload, &resp, &raw);
	if (ret == 0 && ad->json)
		out_raw(&raw);
	else if (ret == 0 && list)
		out_table(cf_json_get(resp, list), f, n);
	else if (ret == 0)
		out_object(resp, f, n);
	/* coupon-issue's answer holds the codes */
	if (raw.body)
		cf_zeroize(raw.body, raw.body_len);
	http_response_clear(&raw);
	cf_json_free(resp);
	cf_json_free(payload);
	return ret;
}

int cmd_coupon_issue(struct admin *ad, int argc, char **argv)
{
	static const struct option lo[] = {{"count", required_argument, NULL, 'c'},
					   {"profile", required_argument, NULL, 'p'},
					   {"days", required_argument, NULL, 'd'},
					   {"note", required_argument, NULL, 'n'},
					   {NULL, 0, NULL, 0}};
	const char *profile = NULL, *note = NULL;
	long count = 1, days = 0;
	cf_json *p;
	int c, ret = 0;

	optind = 0;
	while (ret == 0 && (c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (c == 'c')
			ret = number("count", optarg, 1, 100, &count);
		else if (c == 'd')
			ret = number("days", optarg, 1, 3650, &days);
		else if (c == 'p')
			profile = optarg;
		else if (c == 'n')
			note = optarg;
		else
			return admin_usage("bad option '%s' (see 'certflow-admin coupon issue "
					   "--help')",
					   argv[optind - 1]);
	}
	if (ret)
		return ret;
	if (optind != argc)
		return admin_usage("coupon issue takes no arguments ('%s' is extra)", argv[optind]);
	if (note && (!note[0] || strlen(note) > 127))
		return admin_usage("--note must be 1 to 127 characters");
	p = cf_json_new_object();
	if (!p || cf_json_add_int(p, "count", count) != 0 ||
	    (days && cf_json_add_int(p, "days", days) != 0) ||
	    (profile && cf_json_add_str(p, "profile", profile) != 0) ||
	    (note && cf_json_add_str(p, "note", note) != 0)) {
		cf_json_free(p);
		return oom();
	}
	return call(ad, "coupon-issue", p, "coupons", issued_cols, N(issued_cols));
}

int cmd_coupon_list(struct admin *ad, int argc, char **argv)
{
	static const char *const filters[] = {NULL};
	cf_json *payload = NULL;
	long max;
	int ret = admin_list_options(argc, argv, "coupon list", filters, &payload, &max);

	return ret ? ret
		   : admin_list(ad, "coupon-list", payload, "coupons", coupon_cols, N(coupon_cols),
				max, NULL);
}

int cmd_coupon_cancel(struct admin *ad, int argc, char **argv)
{
	const char *id = arg_single(argc, argv, "ID");
	cf_json *p;

	if (!id)
		return CF_EUSAGE;
	if (strlen(id) > 64)
		return admin_usage("ID too long");
	p = cf_json_new_object();
	if (p && cf_json_add_str(p, "id", id) != 0) {
		cf_json_free(p);
		p = NULL;
	}
	return call(ad, "coupon-cancel", p, NULL, coupon_cols, N(coupon_cols));
}

/* --by DATE: "YYYY-MM-DD" (midnight UTC) or an RFC 3339 time, as the server takes it. */
static int by_arg(const char *in, char out[32])
{
	size_t n = strlen(in);

	if (n == 10 && in[4] == '-' && in[7] == '-')
		snprintf(out, 32, "%sT00:00:00Z", in);
	else if (n == 20 && in[10] == 'T' && in[19] == 'Z')
		snprintf(out, 32, "%s", in);
	else
		return admin_usage("--by must be a date YYYY-MM-DD or a time YYYY-MM-DDTHH:MM:SSZ");
	return 0;
}

int cmd_update_mark(struct admin *ad, int argc, char **argv)
{
	static const struct option lo[] = {{"credential", required_argument, NULL, 'c'},
					   {"profile", required_argument, NULL, 'p'},
					   {"issuer", required_argument, NULL, 'i'},
					   {"all", no_argument, NULL, 'a'},
					   {"by", required_argument, NULL, 'b'},
					   {"note", required_argument, NULL, 'n'},
					   {NULL, 0, NULL, 0}};
	static const struct field marked[] = {{"marked", "marked", F_TEXT}};
	const char *cred = NULL, *profile = NULL, *issuer = NULL, *by = NULL, *note = NULL;
	char when[32];
	int c, all = 0, ret;
	cf_json *p;

	optind = 0;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (c == 'c')
			cred = optarg;
		else if (c == 'p')
			profile = optarg;
		else if (c == 'i')
			issuer = optarg;
		else if (c == 'a')
			all = 1;
		else if (c == 'b')
			by = optarg;
		else if (c == 'n')
			note = optarg;
		else
			return admin_usage(
			    "bad option '%s' (see 'certflow-admin update mark --help')",
			    argv[optind - 1]);
	}
	if (optind != argc)
		return admin_usage("update mark takes no arguments ('%s' is extra)", argv[optind]);
	if (!!cred + !!profile + !!issuer + all != 1)
		return admin_usage("update mark needs exactly one of --credential ID, --profile P, "
				   "--issuer DN, --all");
	if (!by)
		return admin_usage("update mark needs --by DATE");
	if ((ret = by_arg(by, when)) != 0)
		return ret;
	if (note && (!note[0] || strlen(note) > 159))
		return admin_usage("--note must be 1 to 159 characters");
	p = cf_json_new_object();
	if (!p || cf_json_add_str(p, "by", when) != 0 ||
	    (cred && cf_json_add_str(p, "credential", cred) != 0) ||
	    (profile && cf_json_add_str(p, "profile", profile) != 0) ||
	    (issuer && cf_json_add_str(p, "issuer", issuer) != 0) ||
	    (all && cf_json_add_bool(p, "all", 1) != 0) ||
	    (note && cf_json_add_str(p, "note", note) != 0)) {
		cf_json_free(p);
		return oom();
	}
	return call(ad, "update-mark", p, NULL, marked, N(marked));
}
