/*
 * cmd_enrol — enrolment codes: create (prints the activation code once), list, cancel, and the
 * enrolment QR code. The QR code carries public data only (server URL, root fingerprint,
 * reference number), never the activation code; see spec/cli.md "Enrolment URI".
 */
#include "admin.h"

#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_err.h"
#include "cf_qr.h"

#define MAX_DNS 16
#define QR_SVG_PX 8

static const struct field enrol_cols[] = {
    {"reference", "reference", F_REF}, {"subject", "subject", F_TEXT},
    {"profile", "profile", F_TEXT},    {"status", "status", F_TEXT},
    {"created", "created", F_TEXT},    {"expires", "expires", F_TEXT},
    {"failures", "failures", F_TEXT},
};
#define N_ENROL_COLS (sizeof(enrol_cols) / sizeof(enrol_cols[0]))

/* One enrolment: the columns and what is too wide for a row. */
static const struct field enrol_fields[] = {
    {"reference", "reference", F_REF}, {"subject", "subject", F_TEXT},
    {"profile", "profile", F_TEXT},    {"status", "status", F_TEXT},
    {"created", "created", F_TEXT},    {"expires", "expires", F_TEXT},
    {"failures", "failures", F_TEXT},  {"email", "email", F_TEXT},
    {"dns names", "dnsNames", F_TEXT},
};

/* "1234-5678-9012" or "123456789012" → 12 digits in out[13]; CF_EUSAGE (reported) otherwise. */
static int reference_norm(const char *in, char out[13])
{
	size_t n = 0;

	for (const char *p = in; *p; p++) {
		if (*p == '-' || *p == ' ')
			continue;
		if (!isdigit((unsigned char)*p) || n == 12)
			return admin_usage("'%s' is not a reference number (12 digits)", in);
		out[n++] = *p;
	}
	if (n != 12)
		return admin_usage("'%s' is not a reference number (12 digits)", in);
	out[n] = '\0';
	return 0;
}

/* Percent-encode everything but RFC 3986 unreserved characters. */
static void pct_encode(const char *in, char *out, size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (const unsigned char *p = (const unsigned char *)in; *p && o + 4 < cap; p++) {
		if (isalnum(*p) || strchr("-._~", *p)) {
			out[o++] = (char)*p;
		} else {
			out[o++] = '%';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		}
	}
	out[o] = '\0';
}

/* certflow://enrol?server=<pct URL>&fp=sha256:<hex>&ref=<12 digits> into out. */
static int enrol_uri(struct admin *ad, const char *reference, char *out, size_t cap)
{
	const char *fp = NULL;
	char ref[13], server[1024];
	int ret = admin_connect(ad, 0);

	if (ret)
		return ret;
	ret = reference_norm(reference, ref);
	if (ret)
		return admin_fail(CF_EPROTO, "the server returned a malformed reference number");
	if (cf_json_get_str(client_dir_meta(ad->cl), "caFingerprint", 80, &fp) ||
	    strncmp(fp, "sha256:", 7) != 0 || strlen(fp) != 7 + 64 ||
	    strspn(fp + 7, "0123456789abcdef") != 64)
		return admin_fail(CF_EPROTO, "the directory of %s has no valid caFingerprint",
				  ad->server);
	pct_encode(ad->server, server, sizeof(server));
	ret = snprintf(out, cap, "certflow://enrol?server=%s&fp=%s&ref=%s", server, fp, ref);
	if (ret < 0 || (size_t)ret >= cap)
		return admin_fail(CF_EINTERNAL, "enrolment URI too long");
	return 0;
}

static int write_svg(const char *uri, const char *path)
{
	char *svg = NULL;
	FILE *f = NULL;
	int ret = cf_qr_svg(uri, QR_SVG_PX, &svg);

	if (ret)
		return admin_fail(ret, "cannot make the QR code: %s", cf_strerror(ret));
	f = fopen(path, "w");
	if (!f || fputs(svg, f) < 0 || fflush(f) != 0)
		ret = admin_fail(CF_EIO, "cannot write %s", path);
	if (f && fclose(f) != 0 && ret == 0)
		ret = admin_fail(CF_EIO, "cannot write %s", path);
	free(svg);
	return ret;
}

/* Terminal QR code and the URI on stream, and/or the SVG file. */
static int show_qr(struct admin *ad, const char *reference, FILE *stream, int term, const char *svg,
		   int width)
{
	char uri[1400];
	char *text = NULL;
	int ret = enrol_uri(ad, reference, uri, sizeof(uri));

	if (ret)
		return ret;
	if (term) {
		ret = cf_qr_utf8(uri, &text);
		if (ret)
			return admin_fail(ret, "cannot make the QR code: %s", cf_strerror(ret));
		fprintf(stream, "\n%s\n", text);
		free(text);
	}
	if (svg && (ret = write_svg(uri, svg)) != 0)
		return ret;
	fprintf(stream, "%*s: %s\n", term ? 0 : width, "enrolment link", uri);
	return 0;
}

/* "abcdefgh…" or "ABCD-EFGH-…" → "ABCD-EFGH-…" (groups of four). */
static void code_text(const char *in, char *out, size_t cap)
{
	size_t o = 0, n = 0;

	for (const char *p = in; *p && o + 3 < cap; p++) {
		if (*p == '-' || *p == ' ')
			continue;
		if (n && n % 4 == 0)
			out[o++] = '-';
		out[o++] = (char)toupper((unsigned char)*p);
		n++;
	}
	out[o] = '\0';
}

static void print_created(const cf_json *resp, const char *code, const char *eab_key)
{
	static const struct field rows[] = {
	    {"reference", "reference", F_REF}, {"activation code", "activationCode", F_TEXT},
	    {"subject", "subject", F_TEXT},    {"profile", "profile", F_TEXT},
	    {"expires", "expires", F_TEXT},
	};
	char buf[512];

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		if (i == 1)
			code_text(code, buf, sizeof(buf));
		else
			field_text(resp, &rows[i], buf, sizeof(buf));
		out_line(15, rows[i].label, buf);
		cf_zeroize(buf, sizeof(buf));
	}
	if (eab_key) { /* the names of certbot's options; the key id as sent, without dashes */
		const char *kid = "";

		cf_json_get_str(resp, "eabKid", 32, &kid);
		out_line(15, "eab-kid", kid);
		out_line(15, "eab-hmac-key", eab_key);
	}
}

struct create_opts {
	const char *subject, *profile, *email, *svg;
	const char *dns[MAX_DNS];
	int n_dns, qr, acme;
	const char *acme_validate; /* the ways every order proves its names, or NULL */
};

static int create_parse(int argc, char **argv, struct create_opts *o)
{
	static const struct option lo[] = {
	    {"subject", required_argument, NULL, 's'},
	    {"profile", required_argument, NULL, 'p'},
	    {"dns", required_argument, NULL, 'd'},
	    {"email", required_argument, NULL, 'e'},
	    {"qr", no_argument, NULL, 'q'},
	    {"qr-svg", required_argument, NULL, 'S'},
	    {"acme", no_argument, NULL, 'a'},
	    {"acme-validate", required_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (c == 's')
			o->subject = optarg;
		else if (c == 'p')
			o->profile = optarg;
		else if (c == 'e')
			o->email = optarg;
		else if (c == 'q')
			o->qr = 1;
		else if (c == 'a')
			o->acme = 1;
		else if (c == 'V' &&
			 (strcmp(optarg, "http-01") == 0 || strcmp(optarg, "dns-01") == 0 ||
			  strcmp(optarg, "http-01,dns-01") == 0 ||
			  strcmp(optarg, "dns-01,http-01") == 0))
			o->acme = 1, o->acme_validate = optarg;
		else if (c == 'V')
			return admin_usage(
			    "--acme-validate takes http-01, dns-01 or http-01,dns-01, "
			    "not '%s'",
			    optarg);
		else if (c == 'S')
			o->svg = optarg;
		else if (c == 'd' && o->n_dns < MAX_DNS)
			o->dns[o->n_dns++] = optarg;
		else if (c == 'd')
			return admin_usage("at most %d --dns names", MAX_DNS);
		else
			return admin_usage(
			    "bad option '%s' (see 'certflow-admin enrol create --help')",
			    argv[optind - 1]);
	}
	if (optind < argc)
		return admin_usage("unexpected argument '%s'", argv[optind]);
	if (!o->subject || !o->subject[0])
		return admin_usage("enrol create needs --subject NAME");
	if (strcmp(o->profile, "device") != 0 && strcmp(o->profile, "signing") != 0)
		return admin_usage("unknown profile '%s' (device or signing)", o->profile);
	return 0;
}

static cf_json *create_payload(const struct create_opts *o)
{
	cf_json *p = cf_json_new_object();
	cf_json *dns = NULL;
	int ret = p ? 0 : CF_ENOMEM;

	ret = ret ? ret : cf_json_add_str(p, "subject", o->subject);
	ret = ret ? ret : cf_json_add_str(p, "profile", o->profile);
	if (!ret && o->email)
		ret = cf_json_add_str(p, "email", o->email);
	if (!ret && o->acme)
		ret = cf_json_add_bool(p, "acme", 1);
	if (!ret && o->acme_validate)
		ret = cf_json_add_str(p, "acmeValidation", o->acme_validate);
	if (!ret && o->n_dns) {
		dns = cf_json_new_array();
		for (int i = 0; dns && !ret && i < o->n_dns; i++)
			ret = cf_json_push_str(dns, o->dns[i]);
		ret = ret ? ret : cf_json_add(p, "dnsNames", dns);
		dns = NULL;
	}
	if (ret) {
		cf_json_free(dns);
		cf_json_free(p);
		return NULL;
	}
	return p;
}

int cmd_enrol_create(struct admin *ad, int argc, char **argv)
{
	struct create_opts o = {.profile = "device"};
	struct http_response raw = {0};
	cf_json *payload = NULL, *resp = NULL;
	const char *code = NULL, *ref = NULL, *eab = NULL;
	int ret = create_parse(argc, argv, &o);

	if (ret)
		return ret;
	payload = create_payload(&o);
	if (!payload)
		return admin_fail(CF_ENOMEM, "out of memory");
	ret = admin_call(ad, "enrolment-create", payload, &resp, &raw);
	if (ret)
		goto out;
	if (cf_json_get_str(resp, "reference", 64, &ref) ||
	    cf_json_get_str(resp, "activationCode", 128, &code)) {
		ret = admin_fail(CF_EPROTO,
				 "the server's answer has no reference or activation code");
		goto out;
	}
	if (o.acme && cf_json_get_str(resp, "eabHmacKey", 128, &eab)) {
		ret = admin_fail(CF_EPROTO, "the server's answer has no ACME HMAC key (is it older "
					    "than the ACME profile?)");
		goto out;
	}
	if (ad->json)
		out_raw(&raw);
	else
		print_created(resp, code, eab);
	if (o.qr || o.svg)
		ret = show_qr(ad, ref, ad->json ? stderr : stdout, o.qr, o.svg, 15);
out:
	/* The activation code was shown once; leave no copy behind. */
	if (code)
		cf_zeroize((char *)code, strlen(code));
	if (eab)
		cf_zeroize((char *)eab, strlen(eab));
	if (raw.body)
		cf_zeroize(raw.body, raw.body_len);
	http_response_clear(&raw);
	cf_json_free(resp);
	cf_json_free(payload);
	return ret;
}

int cmd_enrol_list(struct admin *ad, int argc, char **argv)
{
	static const char *const filters[] = {"subject", "status", NULL};
	cf_json *payload = NULL;
	long max;
	int ret = admin_list_options(argc, argv, "enrol list", filters, &payload, &max);

	return ret ? ret
		   : admin_list(ad, "enrolment-list", payload, "enrolments", enrol_cols,
				N_ENROL_COLS, max, NULL);
}

int cmd_enrol_cancel(struct admin *ad, int argc, char **argv)
{
	const char *arg = arg_single(argc, argv, "REFERENCE");
	struct http_response raw = {0};
	cf_json *payload = NULL, *resp = NULL;
	char ref[13];
	int ret = CF_EINTERNAL;

	if (!arg)
		return CF_EUSAGE;
	ret = reference_norm(arg, ref);
	if (ret)
		return ret;
	payload = cf_json_new_object();
	if (!payload || cf_json_add_str(payload, "reference", ref)) {
		ret = admin_fail(CF_ENOMEM, "out of memory");
		goto out;
	}
	ret = admin_call(ad, "enrolment-cancel", payload, &resp, &raw);
	if (ret)
		goto out;
	if (ad->json)
		out_raw(&raw);
	else
		out_object(resp, enrol_fields, sizeof(enrol_fields) / sizeof(enrol_fields[0]));
out:
	http_response_clear(&raw);
	cf_json_free(resp);
	cf_json_free(payload);
	return ret;
}

int cmd_enrol_qr(struct admin *ad, int argc, char **argv)
{
	static const struct option lo[] = {{"svg", required_argument, NULL, 'S'},
					   {NULL, 0, NULL, 0}};
	const char *svg = NULL;
	char ref[13], uri[1400];
	int c, ret;

	optind = 0;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (c != 'S')
			return admin_usage("bad option '%s' (see 'certflow-admin enrol qr --help')",
					   argv[optind - 1]);
		svg = optarg;
	}
	if (optind + 1 != argc)
		return admin_usage("enrol qr needs one REFERENCE");
	ret = reference_norm(argv[optind], ref);
	if (ret)
		return ret;
	if (!ad->json)
		return show_qr(ad, ref, stdout, !svg, svg, 0);
	ret = enrol_uri(ad, ref, uri, sizeof(uri));
	if (!ret && svg)
		ret = write_svg(uri, svg);
	if (!ret)
		printf("{\"reference\":\"%s\",\"uri\":\"%s\"}\n", ref, uri);
	return ret;
}
