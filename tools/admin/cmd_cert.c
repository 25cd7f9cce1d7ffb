/*
 * cmd_cert — credentials and certificates: list and show, revoke, suspend, reinstate. Each is one
 * admin operation (spec/protocol.md §12) whose answer is shown as lines or rows.
 */
#include "admin.h"

#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cf_err.h"

#define SERIAL_MAX 64

static const struct field cred_fields[] = {
    {"id", "id", F_TEXT},
    {"subject", "subject", F_TEXT},
    {"profile", "profile", F_TEXT},
    {"status", "status", F_TEXT},
    {"certificates", "certificates", F_TEXT},
    {"url", "url", F_TEXT},
};

static const struct field cred_cols[] = {
    {"id", "id", F_TEXT},
    {"subject", "subject", F_TEXT},
    {"profile", "profile", F_TEXT},
    {"status", "status", F_TEXT},
    {"certs", "certificates", F_COUNT},
    {"latest serial", "certificates", F_LAST},
};

static const struct field cert_fields[] = {
    {"serial", "serial", F_TEXT},
    {"status", "status", F_TEXT},
    {"subject", "subject", F_TEXT},
    {"credential", "credential", F_TEXT},
    {"not before", "notBefore", F_TEXT},
    {"not after", "notAfter", F_TEXT},
    {"revoked", "revokedAt", F_TEXT},
    {"reason", "reason", F_REASON},
    {"reason", "revocationReason", F_REASON},
    {"renewal info", "renewalInfo", F_TEXT},
};

static const struct field cert_cols[] = {
    {"serial", "serial", F_TEXT},	 {"status", "status", F_TEXT},
    {"not before", "notBefore", F_TEXT}, {"not after", "notAfter", F_TEXT},
    {"reason", "reason", F_REASON},
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Serial as the protocol writes it: lower-case hex, no separators ("5F:1C" → "5f1c"). */
static int serial_norm(const char *in, char out[SERIAL_MAX + 1])
{
	size_t n = 0;

	for (const char *p = in; *p; p++) {
		if (*p == ':')
			continue;
		if (!isxdigit((unsigned char)*p) || n == SERIAL_MAX)
			return admin_usage("'%s' is not a serial number (hexadecimal)", in);
		out[n++] = (char)tolower((unsigned char)*p);
	}
	if (n == 0)
		return admin_usage("empty serial number");
	out[n] = '\0';
	return 0;
}

int admin_simple_op(struct admin *ad, const char *op, const char *member, const char *value,
		    int reason, const struct field *fields, size_t n)
{
	struct http_response raw = {0};
	cf_json *payload = cf_json_new_object();
	cf_json *resp = NULL;
	int ret = payload ? cf_json_add_str(payload, member, value) : CF_ENOMEM;

	if (!ret && reason >= 0)
		ret = cf_json_add_int(payload, "reason", reason);
	if (ret) {
		ret = admin_fail(ret, "out of memory");
		goto out;
	}
	ret = admin_call(ad, op, payload, &resp, &raw);
	if (ret)
		goto out;
	if (ad->json)
		out_raw(&raw);
	else
		out_object(resp, fields, n);
out:
	http_response_clear(&raw);
	cf_json_free(resp);
	cf_json_free(payload);
	return ret;
}

static int serial_cmd(struct admin *ad, int argc, char **argv, const char *op)
{
	const char *arg = arg_single(argc, argv, "SERIAL");
	char serial[SERIAL_MAX + 1];
	int ret;

	if (!arg)
		return CF_EUSAGE;
	ret = serial_norm(arg, serial);
	if (ret)
		return ret;
	return admin_simple_op(ad, op, "serial", serial, -1, cert_fields, N(cert_fields));
}

int cmd_cert_show(struct admin *ad, int argc, char **argv)
{
	return serial_cmd(ad, argc, argv, "certificate-show");
}

int cmd_suspend(struct admin *ad, int argc, char **argv)
{
	return serial_cmd(ad, argc, argv, "suspend");
}

int cmd_reinstate(struct admin *ad, int argc, char **argv)
{
	return serial_cmd(ad, argc, argv, "reinstate");
}

int cmd_revoke(struct admin *ad, int argc, char **argv)
{
	static const struct option lo[] = {{"reason", required_argument, NULL, 'r'},
					   {NULL, 0, NULL, 0}};
	char serial[SERIAL_MAX + 1];
	int c, reason = 0, ret;

	optind = 0;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (c != 'r')
			return admin_usage("bad option '%s' (see 'certflow-admin revoke --help')",
					   argv[optind - 1]);
		ret = reason_parse(optarg, &reason);
		if (ret)
			return ret;
	}
	if (optind + 1 != argc)
		return admin_usage("revoke needs one SERIAL");
	ret = serial_norm(argv[optind], serial);
	if (ret)
		return ret;
	return admin_simple_op(ad, "revoke", "serial", serial, reason, cert_fields, N(cert_fields));
}

int cmd_credential_list(struct admin *ad, int argc, char **argv)
{
	static const char *const filters[] = {"subject", "status", "profile", "expiringBefore",
					      NULL};
	cf_json *payload = NULL;
	long max;
	int ret = admin_list_options(argc, argv, "credential list", filters, &payload, &max);

	return ret ? ret
		   : admin_list(ad, "credential-list", payload, "credentials", cred_cols,
				N(cred_cols), max, NULL);
}

static void print_credential(const cf_json *resp)
{
	const cf_json *cred = cf_json_get(resp, "credential");
	const cf_json *certs = cf_json_get(resp, "certificates");

	/* The credential's members, either flat or under "credential"; then its certificates. */
	if (!cf_json_is_object(cred))
		cred = resp;
	out_object(cred, cred_fields, N(cred_fields));
	if (cf_json_array_size(certs) && cf_json_is_object(cf_json_array_item(certs, 0))) {
		putchar('\n');
		out_table(certs, cert_cols, N(cert_cols));
	}
}

int cmd_credential_show(struct admin *ad, int argc, char **argv)
{
	const char *id = arg_single(argc, argv, "ID");
	struct http_response raw = {0};
	cf_json *payload = NULL, *resp = NULL;
	int ret = CF_EINTERNAL;

	if (!id)
		return CF_EUSAGE;
	if (strlen(id) > 256)
		return admin_usage("credential id too long");
	payload = cf_json_new_object();
	if (!payload || cf_json_add_str(payload, "id", id)) {
		ret = admin_fail(CF_ENOMEM, "out of memory");
		goto out;
	}
	ret = admin_call(ad, "credential-show", payload, &resp, &raw);
	if (ret)
		goto out;
	if (ad->json)
		out_raw(&raw);
	else
		print_credential(resp);
out:
	http_response_clear(&raw);
	cf_json_free(resp);
	cf_json_free(payload);
	return ret;
}
