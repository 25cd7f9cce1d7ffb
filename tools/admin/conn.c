/*
 * conn — the admin session: connection, directory, admin key and kid, signed admin calls, and the
 * one-line error reports. The admin key is loaded here and only ever used to sign.
 */
#include "admin.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_err.h"

static int reported;

static void vreport(const char *fmt, va_list ap)
{
	char line[1024];

	vsnprintf(line, sizeof(line), fmt, ap);
	/* One line, whatever a server detail contains. */
	for (char *p = line; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	fprintf(stderr, "%s: %s\n", ADMIN_PROG, line);
	reported = 1;
}

int admin_usage(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(fmt, ap);
	va_end(ap);
	return CF_EUSAGE;
}

int admin_fail(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(fmt, ap);
	va_end(ap);
	return code < 0 ? code : CF_EINTERNAL;
}

int admin_reported(void)
{
	return reported;
}

static const char *problem_text(int code, const struct client_problem *prob)
{
	return prob->detail[0] ? prob->detail : cf_strerror(code);
}

/* kid = the account URL beside the admin URL ("…/v1/admin" → "…/v1/account/<thumbprint>"). */
static int derive_kid(struct admin *ad)
{
	char tp[44];
	size_t n = strlen(ad->admin_url);
	int ret = cf_key_thumbprint(ad->key, tp);

	if (ret)
		return admin_fail(ret, "cannot compute the admin key thumbprint: %s",
				  cf_strerror(ret));
	if (n > 6 && strcmp(ad->admin_url + n - 6, "/admin") == 0)
		ret = snprintf(ad->kid, sizeof(ad->kid), "%.*s/account/%s", (int)(n - 6),
			       ad->admin_url, tp);
	else
		ret = snprintf(ad->kid, sizeof(ad->kid), "%s/v1/account/%s", ad->server, tp);
	if (ret < 0 || (size_t)ret >= sizeof(ad->kid))
		return admin_fail(CF_EINTERNAL, "account URL too long");
	return 0;
}

static int load_key(struct admin *ad)
{
	int ret;

	errno = 0;
	ret = cf_key_load(ad->key_file, &ad->key);
	if (ret == CF_EIO && errno)
		return admin_fail(ret, "cannot read admin key %s: %s", ad->key_file,
				  strerror(errno));
	if (ret)
		return admin_fail(ret, "cannot use admin key %s: %s", ad->key_file,
				  cf_strerror(ret));
	return derive_kid(ad);
}

int admin_connect(struct admin *ad, int need_key)
{
	struct client_problem prob;
	const char *url;
	int ret;

	if (!ad->cl) {
		ret = client_new(ad->server, ad->ca_file, &ad->cl);
		if (ret)
			return admin_fail(ret, "cannot use server %s: %s", ad->server,
					  cf_strerror(ret));
		memset(&prob, 0, sizeof(prob));
		ret = client_directory(ad->cl, &prob);
		if (ret)
			return admin_fail(ret, "cannot read the directory of %s: %s", ad->server,
					  problem_text(ret, &prob));
		url = client_dir_url(ad->cl, "admin");
		if (!url)
			return admin_fail(CF_EPROTO, "the directory of %s has no admin URL",
					  ad->server);
		if (strlen(url) >= sizeof(ad->admin_url))
			return admin_fail(CF_EPROTO, "the server's admin URL is too long");
		strcpy(ad->admin_url, url);
	}
	if (need_key && !ad->key)
		return load_key(ad);
	return 0;
}

void admin_close(struct admin *ad)
{
	client_free(ad->cl);
	ad->cl = NULL;
	cf_key_free(ad->key);
	ad->key = NULL;
}

int admin_call(struct admin *ad, const char *op, const cf_json *payload, cf_json **resp,
	       struct http_response *raw)
{
	struct client_problem prob;
	char url[600];
	char *text = NULL;
	cf_json *doc = NULL;
	int ret = CF_EINTERNAL;

	memset(&prob, 0, sizeof(prob));
	ret = admin_connect(ad, 1);
	if (ret)
		return ret;
	snprintf(url, sizeof(url), "%s/%s", ad->admin_url, op);
	text = payload ? cf_json_print(payload) : strdup("{}");
	if (!text)
		return admin_fail(CF_ENOMEM, "out of memory");
	ret = client_post(ad->cl, url, ad->key, ad->kid, text, &doc, raw, &prob);
	if (ret) {
		admin_fail(ret, "%s", problem_text(ret, &prob));
		goto out;
	}
	if (!doc || !cf_json_is_object(doc)) {
		ret = admin_fail(CF_EPROTO, "%s answered %s with no JSON object", ad->server, op);
		goto out;
	}
	*resp = doc;
	doc = NULL;
	ret = 0;
out:
	if (ret && raw)
		http_response_clear(raw);
	cf_json_free(doc);
	free(text);
	return ret;
}
