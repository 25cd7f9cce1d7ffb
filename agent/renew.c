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
#include "install.h"
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

/* The key to certify: the one of an earlier request whose answer never arrived (the server may
 * have certified it: asking again with it can never strand a certificate), else a new one kept in
 * DIR/pending first. *reused says which. */
static int request_key(const struct agent_cred *cred, cf_key **key, int *reused)
{
	int ret = agent_pending_orphan(cred->dir, key);

	*reused = ret == 0;
	if (ret == 0)
		return 0;
	if (ret != CF_ENOTFOUND) {
		agent_err("%s/pending/key.pem: %s", cred->dir, cf_strerror(ret));
		return ret;
	}
	if ((ret = new_key(cred, key)) != 0) {
		agent_err("cannot make a new key: %s", cf_strerror(ret));
		return ret;
	}
	if ((ret = agent_pending_key(cred->dir, *key)) != 0)
		agent_err("cannot keep the new key in %s/pending: %s", cred->dir, cf_strerror(ret));
	return ret;
}

/* When a notInRenewalWindow answer says the window opens (its retryAfter: RFC 3339 or seconds
 * from the server's now), 0 if it does not say. */
static int64_t window_opens(const char *retry_after, int64_t server_now)
{
	int64_t t = 0;

	if (retry_after[0] && strspn(retry_after, "0123456789") == strlen(retry_after))
		return server_now + strtoll(retry_after, NULL, 10);
	return cf_time_parse(retry_after, &t) == 0 ? t : 0;
}

/* 1 if the server's answer says its current certificate is not the one in DIR: a renewal it made
 * whose answer never arrived. The window of a certificate ends at its notAfter, so a window that
 * opens after ours expires is another certificate's; the key of a lost answer is refused as the
 * current certificate's own (badCSR) once that window is open. */
static int lost_renewal(const struct agent_cred *cred, int ret, int reused,
			const struct client_problem *prob, int64_t server_now)
{
	char path[PATH_MAX + 16];
	struct cert_info live;
	int64_t opens;

	if (ret == CF_EBADCSR)
		return reused;
	if (ret != CF_ENOTWINDOW || !(opens = window_opens(prob->retry_after, server_now)))
		return 0;
	snprintf(path, sizeof(path), "%s/cert.pem", cred->dir);
	return certcheck_info(path, &live) == 0 && opens > live.not_after;
}

int renew_request(client *c, const struct agent_cred *cred, struct account *a, const cf_key *akey,
		  struct agent_issued *out, char retry_after[64])
{
	struct client_problem prob;
	char *csr = NULL, *payload = NULL;
	cf_json *resp = NULL;
	cf_key *key = NULL;
	const char *url;
	int ret, reused = 0;

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
	if (request_key(cred, &key, &reused) != 0) {
		ret = AGENT_FAIL;
		goto out;
	}
	if ((ret = agent_csr_b64(key, &csr)) != 0 ||
	    !(payload = renew_payload(a->credential, csr))) {
		agent_err("cannot make a CSR: %s", cf_strerror(ret ? ret : CF_ENOMEM));
		ret = AGENT_FAIL;
		goto out;
	}
	ret = client_post(c, url, akey, a->kid, payload, &resp, NULL, &prob);
	if (ret == 0 && resp) {
		ret = agent_install(cred->dir, a, key, resp, client_server_date(c), out);
	} else if (ret == 0) {
		agent_err("the server's response is not JSON");
		ret = AGENT_FAIL;
	} else if (lost_renewal(cred, ret, reused, &prob, client_server_date(c))) {
		/* Not "not due": the credential needs the certificate the server made. Once its
		 * window is open (badCSR), a new key gets a new one: the pending key goes. */
		if (ret == CF_EBADCSR)
			(void)agent_pending_discard(cred->dir);
		agent_err(
		    "the server's current certificate is not the one in %s: an earlier renewal "
		    "was interrupted before its answer arrived (%s)",
		    cred->dir, prob.detail);
		snprintf(retry_after, 64, "%s", ret == CF_EBADCSR ? "" : prob.retry_after);
		ret = AGENT_FAIL;
	} else if (ret == CF_ENOTWINDOW) {
		snprintf(retry_after, 64, "%s", prob.retry_after);
		ret = AGENT_NOT_DUE;
	} else {
		agent_err("renewal failed: %s", prob.detail);
		snprintf(retry_after, 64, "%s", prob.retry_after);
		ret = AGENT_FAIL;
	}
out:
	cf_json_free(resp);
	free(payload);
	free(csr);
	cf_key_free(key);
	return ret;
}
