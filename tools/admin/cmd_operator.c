/*
 * cmd_operator — the operators of the server (spec/protocol.md §12 "Operators"):
 * `operator add NAME --public-key FILE`, `operator list`, `operator remove NAME`. The new
 * operator makes her key herself; only its public half, read from FILE, is sent.
 */
#include "admin.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cf_err.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define NAME_MAX_OCTETS 64

static const struct field operator_cols[] = {
    {"name", "name", F_TEXT},
    {"status", "status", F_TEXT},
    {"account", "account", F_TEXT},
    {"created", "createdAt", F_TEXT},
};

/* POST op with payload (consumed) and print the operator of the answer. */
static int call(struct admin *ad, const char *op, cf_json *payload)
{
	struct http_response raw = {0};
	cf_json *resp = NULL;
	int ret;

	if (!payload)
		return admin_fail(CF_ENOMEM, "out of memory");
	ret = admin_call(ad, op, payload, &resp, &raw);
	if (ret == 0 && ad->json)
		out_raw(&raw);
	else if (ret == 0)
		out_object(resp, operator_cols, N(operator_cols));
	http_response_clear(&raw);
	cf_json_free(resp);
	cf_json_free(payload);
	return ret;
}

static int name_ok(const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < n; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return 0;
	return n >= 1 && n <= NAME_MAX_OCTETS;
}

/* {"name": name} plus, when jwk is not NULL, {"jwk": jwk} (consumed). */
static cf_json *name_payload(const char *name, cf_json *jwk)
{
	cf_json *p = cf_json_new_object();

	if (!p || cf_json_add_str(p, "name", name) != 0 ||
	    (jwk && cf_json_add(p, "jwk", jwk) != 0)) {
		cf_json_free(p);
		cf_json_free(jwk);
		return NULL;
	}
	return p;
}

int cmd_operator_add(struct admin *ad, int argc, char **argv)
{
	static const struct option lo[] = {{"public-key", required_argument, NULL, 'k'},
					   {NULL, 0, NULL, 0}};
	const char *file = NULL, *name;
	cf_key *key = NULL;
	cf_json *jwk = NULL;
	int c, ret;

	optind = 0;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (c != 'k')
			return admin_usage(
			    "bad option '%s' (see 'certflow-admin operator add --help')",
			    argv[optind - 1]);
		file = optarg;
	}
	if (optind + 1 != argc || !file)
		return admin_usage("usage: certflow-admin operator add NAME --public-key FILE");
	name = argv[optind];
	if (!name_ok(name))
		return admin_usage("NAME must be 1 to 64 characters without control characters");
	ret = cf_key_load(file, &key);
	if (ret != 0)
		return admin_fail(
		    ret, "cannot read a public key from %s (PEM: openssl pkey -pubout)", file);
	ret = cf_key_to_jwk(key, &jwk);
	cf_key_free(key);
	if (ret != 0)
		return admin_fail(ret, "cannot use the key of %s", file);
	return call(ad, "operator-add", name_payload(name, jwk));
}

int cmd_operator_list(struct admin *ad, int argc, char **argv)
{
	static const char *const filters[] = {NULL};
	cf_json *payload = NULL;
	long max;
	int ret = admin_list_options(argc, argv, "operator list", filters, &payload, &max);

	return ret ? ret
		   : admin_list(ad, "operator-list", payload, "operators", operator_cols,
				N(operator_cols), max, NULL);
}

int cmd_operator_remove(struct admin *ad, int argc, char **argv)
{
	const char *name = arg_single(argc, argv, "NAME");

	if (!name)
		return CF_EUSAGE;
	if (!name_ok(name))
		return admin_usage("NAME must be 1 to 64 characters without control characters");
	return call(ad, "operator-remove", name_payload(name, NULL));
}
