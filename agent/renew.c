/*
 * renew — `certflow-agent renew` (spec/cli.md, spec/protocol.md §10): a new key and certificate
 * for the enrolled credential, signed with the account key.
 *
 * Without --force the server's renewal-info is asked first (a plain GET) and nothing is signed
 * or generated before the window opens; the server has the last word either way
 * (notInRenewalWindow → exit 3 with the time the window opens). Never reuses a certificate key.
 */
#include "agent.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cf_clock.h"
#include "cf_err.h"
#include "client.h"

#define CLOCK_SKEW_MAX (24 * 3600)

/* Now, from the device clock, or from the server's Date when the two are more than a day apart
 * (a device without a working clock). */
static int64_t agent_now(client *c)
{
	int64_t now = (int64_t)time(NULL), server = client_server_date(c);

	if (server > 0 && (now - server > CLOCK_SKEW_MAX || server - now > CLOCK_SKEW_MAX))
		return server;
	return now;
}

/* Print when the window opens; when is RFC 3339, or Retry-After seconds from now. */
static int not_due(client *c, const char *when)
{
	char buf[21];

	if (when[0] && strspn(when, "0123456789") == strlen(when)) {
		cf_time_format(agent_now(c) + strtoll(when, NULL, 10), buf);
		when = buf;
	}
	agent_err("renewal not due: the renewal window opens at %s", when[0] ? when : "(unknown)");
	return AGENT_NOT_DUE;
}

/* AGENT_NOT_DUE if renewal-info says the window is still ahead; AGENT_OK to go on (also when the
 * server cannot say: then the renew request itself decides). */
static int check_window(client *c, const struct account *a)
{
	struct http_response raw = {0};
	cf_json *doc = NULL;
	const char *start = NULL;
	int64_t t;
	int ret = AGENT_OK;

	if (client_get(c, a->renewal_info, &raw, NULL) != 0)
		return AGENT_OK;
	if (cf_json_parse(raw.body, raw.body_len, &doc) == 0 &&
	    cf_json_get_str(cf_json_get(doc, "suggestedWindow"), "start", 32, &start) == 0 &&
	    cf_time_parse(start, &t) == 0 && agent_now(c) < t)
		ret = not_due(c, start);
	cf_json_free(doc);
	http_response_clear(&raw);
	return ret;
}

/* A new key of the same type and size as the current one (P-256 if there is none). */
static int new_key(const char *dir, cf_key **out)
{
	char path[PATH_MAX];
	cf_key *cur = NULL;
	enum cf_key_type type = CF_KEY_P256;
	unsigned bits = 0;

	snprintf(path, sizeof(path), "%s/key.pem", dir);
	if (cf_key_load(path, &cur) == 0) {
		type = cf_key_type(cur);
		bits = cf_key_bits(cur);
		cf_key_free(cur);
	}
	return cf_key_generate(type, bits, out);
}

static char *renew_payload(const char *credential, const char *csr)
{
	cf_json *doc = cf_json_new_object();
	char *text = NULL;

	if (doc && cf_json_add_str(doc, "credential", credential) == 0 &&
	    cf_json_add_str(doc, "csr", csr) == 0)
		text = cf_json_print(doc);
	cf_json_free(doc);
	return text;
}

static int request(client *c, const struct account *a, const cf_key *akey, const cf_key *key,
		   cf_json **resp)
{
	struct client_problem prob;
	char *csr = NULL, *payload = NULL;
	const char *url;
	int ret;

	if ((ret = client_directory(c, &prob)) != 0) {
		agent_err("cannot reach %s: %s", a->server, prob.detail);
		return AGENT_FAIL;
	}
	if (!(url = client_dir_url(c, "renew"))) {
		agent_err("the directory of %s has no renew URL", a->server);
		return AGENT_FAIL;
	}
	if ((ret = agent_csr_b64(key, &csr)) != 0 ||
	    !(payload = renew_payload(a->credential, csr))) {
		free(csr);
		agent_err("cannot make the CSR: %s", cf_strerror(ret ? ret : CF_ENOMEM));
		return AGENT_FAIL;
	}
	ret = client_post(c, url, akey, a->kid, payload, resp, NULL, &prob);
	free(payload);
	free(csr);
	if (ret == CF_ENOTWINDOW)
		return not_due(c, prob.retry_after);
	if (ret != 0) {
		agent_err("renewal failed: %s", prob.detail);
		return AGENT_FAIL;
	}
	if (!*resp) {
		agent_err("the server's response is not JSON");
		return AGENT_FAIL;
	}
	return AGENT_OK;
}

int agent_renew(const struct agent_opts *o)
{
	struct account a;
	cf_key *akey = NULL, *key = NULL;
	client *c = NULL;
	cf_json *resp = NULL;
	int ret;

	if ((ret = account_load(o->dir, &a)) != 0) {
		agent_err("no enrolment in %s (account.json: %s)", o->dir, cf_strerror(ret));
		return AGENT_FAIL;
	}
	if ((ret = agent_account_key(o->dir, 0, &akey)) != 0) {
		agent_err("account key %s/account.key: %s", o->dir, cf_strerror(ret));
		return AGENT_FAIL;
	}
	if ((ret = client_new(a.server, a.ca, &c)) != 0) {
		agent_err("cannot use server %s: %s", a.server, cf_strerror(ret));
		ret = AGENT_FAIL;
		goto out;
	}
	if (!o->force && a.renewal_info[0] && (ret = check_window(c, &a)) != AGENT_OK)
		goto out;
	if ((ret = new_key(o->dir, &key)) != 0) {
		agent_err("cannot make a new key: %s", cf_strerror(ret));
		ret = AGENT_FAIL;
		goto out;
	}
	if ((ret = request(c, &a, akey, key, &resp)) == AGENT_OK)
		ret = agent_finish(o->dir, &a, key, resp, "renewed");
out:
	cf_json_free(resp);
	client_free(c);
	cf_key_free(key);
	cf_key_free(akey);
	return ret;
}
