/*
 * renew — `certflow-agent renew` (spec/cli.md, spec/protocol.md §10) and the pieces of a renewal
 * that the cycle (cycle.c) puts together: the server's window, the time to decide by, and the
 * request for a new key and certificate, signed with the account key.
 *
 * Without --force nothing is signed or generated before the window opens; the server has the
 * last word either way (notInRenewalWindow → exit 3 with the time the window opens). Never
 * reuses a certificate key.
 */
#include "cycle.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_clock.h"
#include "cf_err.h"
#include "keyfile.h"

#define CLOCK_SKEW_MAX (24 * 3600)

int64_t renew_now(client *c, int64_t local, int wrong)
{
	int64_t server = client_server_date(c);

	if (server > 0 &&
	    (wrong || local - server > CLOCK_SKEW_MAX || server - local > CLOCK_SKEW_MAX))
		return server;
	return local;
}

int renew_window(client *c, const char *url, int64_t *start, int64_t *end, int64_t *poll)
{
	struct http_response raw = {0};
	const cf_json *win;
	cf_json *doc = NULL;
	const char *s = NULL, *e = NULL;
	int64_t ts, te;
	int ret;

	if ((ret = client_get(c, url, &raw, NULL)) != 0)
		return ret;
	ret = CF_EPROTO;
	if (cf_json_parse(raw.body, raw.body_len, &doc) == 0 &&
	    (win = cf_json_get(doc, "suggestedWindow")) != NULL &&
	    cf_json_get_str(win, "start", 32, &s) == 0 &&
	    cf_json_get_str(win, "end", 32, &e) == 0 && cf_time_parse(s, &ts) == 0 &&
	    cf_time_parse(e, &te) == 0 && te >= ts) {
		*start = ts;
		*end = te;
		*poll = raw.retry_after[0] &&
				strspn(raw.retry_after, "0123456789") == strlen(raw.retry_after)
			    ? strtoll(raw.retry_after, NULL, 10)
			    : 0;
		ret = 0;
	}
	cf_json_free(doc);
	http_response_clear(&raw);
	return ret;
}

/* A new key: the configured type, else the type and size of the current key (P-256 if none). */
static int new_key(const struct agent_cred *cred, cf_key **out)
{
	char path[PATH_MAX + 16];
	cf_key *cur = NULL;
	enum cf_key_type type = CF_KEY_P256;
	unsigned bits = 0;

	if (cred->key_type)
		return cf_key_generate(cred->key_type, cred->key_bits, out);
	snprintf(path, sizeof(path), "%s/key.pem", cred->dir);
	if (keyfile_load(path, &cur) == 0) {
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

int renew_request(client *c, const struct agent_cred *cred, struct account *a, const cf_key *akey,
		  struct agent_issued *out, char retry_after[64])
{
	struct client_problem prob;
	char *csr = NULL, *payload = NULL;
	cf_json *resp = NULL;
	cf_key *key = NULL;
	const char *url;
	int ret;

	retry_after[0] = '\0';
	if ((ret = client_directory(c, &prob)) != 0) {
		agent_err("cannot reach %s: %s", a->server, prob.detail);
		snprintf(retry_after, 64, "%s", prob.retry_after);
		return AGENT_FAIL;
	}
	if (!(url = client_dir_url(c, "renew"))) {
		agent_err("the directory of %s has no renew URL", a->server);
		return AGENT_FAIL;
	}
	if ((ret = new_key(cred, &key)) != 0 || (ret = agent_csr_b64(key, &csr)) != 0 ||
	    !(payload = renew_payload(a->credential, csr))) {
		agent_err("cannot make a new key and CSR: %s", cf_strerror(ret ? ret : CF_ENOMEM));
		ret = AGENT_FAIL;
		goto out;
	}
	ret = client_post(c, url, akey, a->kid, payload, &resp, NULL, &prob);
	if (ret != 0) {
		snprintf(retry_after, 64, "%s", prob.retry_after);
		if (ret == CF_ENOTWINDOW) {
			ret = AGENT_NOT_DUE;
			goto out;
		}
		agent_err("renewal failed: %s", prob.detail);
		ret = AGENT_FAIL;
	} else if (!resp) {
		agent_err("the server's response is not JSON");
		ret = AGENT_FAIL;
	} else {
		ret = agent_install(cred->dir, a, key, resp, out);
	}
out:
	cf_json_free(resp);
	free(payload);
	free(csr);
	cf_key_free(key);
	return ret;
}
