/*
 * client — the certflow protocol from the client side (client.h, spec/protocol.md §2–§5): the
 * directory, replay nonces, JWS-signed POSTs (up to 3 tries on badNonce), problem documents. A
 * request that never left (refused or cut connection) is tried up to 3 times, a second apart.
 *
 * Never: log or keep a payload (it may hold an activation code: the signed request is wiped
 * after sending), construct a resource URL that the directory did not give, or reuse a nonce.
 */
#include "client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cf_err.h"
#include "cf_jws.h"

#define CLIENT_TIMEOUT_MS 30000
#define MAX_URL 512
#define MAX_ORIGINS 4
#define TRIES 3 /* of a request cut before it was sent, and of a request answered badNonce */
#define CLIENT_B64URL "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

struct client {
	transport *t; /* the origin of server_url */
	/* Other origins the directory names (e.g. https://127.0.0.1:PORT when the user typed
	 * localhost): each one its own verified connection, never a rewritten URL. */
	transport *other[MAX_ORIGINS];
	char *ca_file;
	char server[MAX_URL]; /* base URL without a trailing slash */
	cf_json *dir;	      /* the directory, NULL until fetched */
	char nonce[80];	      /* the next nonce to use, "" if none */
	int64_t date;
	int ignore_time; /* client_ignore_cert_time, for every connection */
	cf_json *problem; /* the problem document of the last response, NULL if none */
};

int client_new(const char *server_url, const char *ca_file, client **out)
{
	client *c;
	size_t n;
	int ret;

	if (!server_url || (n = strlen(server_url)) == 0 || n >= MAX_URL)
		return CF_EUSAGE;
	if (!(c = calloc(1, sizeof(*c))))
		return CF_ENOMEM;
	memcpy(c->server, server_url, n + 1);
	while (n > 0 && c->server[n - 1] == '/')
		c->server[--n] = '\0';
	ret = transport_new(c->server, ca_file, CLIENT_TIMEOUT_MS, &c->t);
	if (ret == 0 && ca_file && !(c->ca_file = strdup(ca_file)))
		ret = CF_ENOMEM;
	if (ret != 0) {
		client_free(c);
		return ret;
	}
	*out = c;
	return 0;
}

void client_free(client *c)
{
	if (!c)
		return;
	transport_free(c->t);
	for (int i = 0; i < MAX_ORIGINS; i++)
		transport_free(c->other[i]);
	free(c->ca_file);
	cf_json_free(c->dir);
	cf_json_free(c->problem);
	free(c);
}

void client_ignore_cert_time(client *c, int on)
{
	if (!c)
		return;
	c->ignore_time = !!on;
	transport_ignore_cert_time(c->t, on);
	for (int i = 0; i < MAX_ORIGINS; i++)
		transport_ignore_cert_time(c->other[i], on);
}

const char *client_server(const client *c)
{
	return c->server;
}

int64_t client_server_date(client *c)
{
	return c ? c->date : 0;
}

const cf_json *client_last_problem(client *c)
{
	return c ? c->problem : NULL;
}

static void set_detail(struct client_problem *p, int code, const char *detail)
{
	memset(p, 0, sizeof(*p));
	p->code = code;
	snprintf(p->detail, sizeof(p->detail), "%s", detail ? detail : cf_strerror(code));
}

static void copy_str(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src ? src : "");
}

/* Fill p from a non-2xx response; returns p->code (always negative). The parsed problem
 * document, if any, goes to *keep. */
static int problem_from(const struct http_response *r, struct client_problem *p, cf_json **keep)
{
	const char *type = NULL, *detail = NULL, *retry = NULL;
	cf_json *doc = NULL;
	size_t plen = strlen(CF_PROBLEM_PREFIX);

	memset(p, 0, sizeof(*p));
	p->status = r->status;
	p->code = CF_EPROTO;
	copy_str(p->retry_after, sizeof(p->retry_after), r->retry_after);
	if (strncasecmp(r->content_type, "application/problem+json", 24) == 0 && r->body &&
	    cf_json_parse(r->body, r->body_len, &doc) == 0 && cf_json_is_object(doc)) {
		(void)cf_json_get_str_opt(doc, "type", 200, &type);
		(void)cf_json_get_str_opt(doc, "detail", 1000, &detail);
		(void)cf_json_get_str_opt(doc, "retryAfter", 63, &retry);
	}
	if (type) {
		copy_str(p->type, sizeof(p->type), type);
		if (strncmp(type, CF_PROBLEM_PREFIX, plen) == 0)
			p->code = cf_err_from_problem(type + plen);
	}
	if (retry)
		copy_str(p->retry_after, sizeof(p->retry_after), retry);
	if (detail)
		copy_str(p->detail, sizeof(p->detail), detail);
	else if (type)
		snprintf(p->detail, sizeof(p->detail), "%s (HTTP %d)", cf_strerror(p->code),
			 r->status);
	else
		snprintf(p->detail, sizeof(p->detail), "unexpected HTTP status %d from server",
			 r->status);
	if (cf_json_is_object(doc))
		*keep = doc;
	else
		cf_json_free(doc);
	if (p->code >= 0)
		p->code = CF_EPROTO;
	return p->code;
}

/* The connection for url's origin, opened on first use (same trust anchor, own host check). */
static int transport_for(client *c, const char *url, transport **out)
{
	int i, ret;

	if (transport_same_origin(c->t, url)) {
		*out = c->t;
		return 0;
	}
	for (i = 0; i < MAX_ORIGINS && c->other[i]; i++)
		if (transport_same_origin(c->other[i], url)) {
			*out = c->other[i];
			return 0;
		}
	if (i == MAX_ORIGINS)
		return CF_EPROTO;
	if ((ret = transport_new(url, c->ca_file, CLIENT_TIMEOUT_MS, &c->other[i])) != 0)
		return ret;
	transport_ignore_cert_time(c->other[i], c->ignore_time);
	*out = c->other[i];
	return 0;
}

/* One exchange (auth: an Authorization value or NULL): takes the Replay-Nonce and the Date of
 * every response. 0 and *r for 2xx, else a negative code with prob filled and nothing left in
 * *r. */
static int exchange(client *c, const char *method, const char *url, const char *auth,
		    const char *ctype, const char *body, size_t len, struct http_response *r,
		    struct client_problem *prob)
{
	transport *t = NULL;
	int ret = transport_for(c, url, &t);

	cf_json_free(c->problem);
	c->problem = NULL;
	if (ret != 0) {
		set_detail(prob, ret, "cannot open a connection for a URL of the directory");
		return ret;
	}
	/* A request that never left (connection refused or cut during the handshake, as while a
	 * server restarts its listener) is tried again, a second apart. */
	for (int i = 1;
	     (ret = transport_request_auth(t, method, url, auth, ctype, body, len, r)) != 0; i++) {
		if (i == TRIES || !transport_last_transient(t)) {
			set_detail(prob, ret, transport_last_error(t));
			return ret;
		}
		sleep(1);
	}
	if (r->replay_nonce[0])
		memcpy(c->nonce, r->replay_nonce, sizeof(c->nonce));
	if (r->date)
		c->date = r->date;
	if (r->status >= 200 && r->status < 300)
		return 0;
	ret = problem_from(r, prob, &c->problem);
	http_response_clear(r);
	return ret;
}

int client_directory(client *c, struct client_problem *prob)
{
	struct client_problem lp;
	struct http_response r = {0};
	char url[MAX_URL + 16];
	cf_json *doc = NULL;
	int ret;

	if (!prob)
		prob = &lp;
	if (c->dir)
		return 0;
	snprintf(url, sizeof(url), "%s/v1/directory", c->server);
	if ((ret = exchange(c, "GET", url, NULL, NULL, NULL, 0, &r, prob)) != 0)
		return ret;
	ret = cf_json_parse(r.body, r.body_len, &doc);
	if (ret != 0 || !cf_json_is_object(doc)) {
		cf_json_free(doc);
		ret = CF_EPROTO;
		set_detail(prob, ret, "the server's directory is not a JSON object");
	} else {
		c->dir = doc;
	}
	http_response_clear(&r);
	return ret;
}

const char *client_dir_url(client *c, const char *name)
{
	const char *url = NULL;

	if (client_directory(c, NULL) != 0 || cf_json_get_str(c->dir, name, MAX_URL, &url) != 0)
		return NULL;
	return url;
}

const cf_json *client_dir_meta(client *c)
{
	const cf_json *meta;

	if (client_directory(c, NULL) != 0)
		return NULL;
	meta = cf_json_get(c->dir, "meta");
	return cf_json_is_object(meta) ? meta : NULL;
}

static int fetch_nonce(client *c, struct client_problem *prob)
{
	struct http_response r = {0};
	const char *url;
	int ret;

	if ((ret = client_directory(c, prob)) != 0)
		return ret;
	if (!(url = client_dir_url(c, "newNonce"))) {
		set_detail(prob, CF_EPROTO, "the server's directory has no newNonce");
		return CF_EPROTO;
	}
	ret = exchange(c, "HEAD", url, NULL, NULL, NULL, 0, &r, prob);
	http_response_clear(&r);
	if (ret == 0 && !c->nonce[0]) {
		set_detail(prob, CF_EPROTO, "the server sent no Replay-Nonce");
		ret = CF_EPROTO;
	}
	return ret;
}

/* Sign and send once; the signed text is wiped (the payload may hold a secret). */
static int post_once(client *c, const char *url, const cf_key *key, const char *kid,
		     const char *payload, struct http_response *r, struct client_problem *prob)
{
	char *jws = NULL;
	size_t len;
	int ret;

	if (!c->nonce[0] && (ret = fetch_nonce(c, prob)) != 0)
		return ret;
	ret = cf_jws_sign(key, c->nonce, url, kid, payload, strlen(payload), &jws);
	c->nonce[0] = '\0'; /* a nonce is good for one request only */
	if (ret != 0) {
		set_detail(prob, ret, "cannot sign the request");
		return ret;
	}
	len = strlen(jws);
	ret = exchange(c, "POST", url, NULL, "application/jose+json", jws, len, r, prob);
	cf_zeroize(jws, len);
	free(jws);
	return ret;
}

int client_post(client *c, const char *url, const cf_key *key, const char *kid, const char *payload,
		cf_json **resp, struct http_response *raw, struct client_problem *prob)
{
	struct client_problem lp;
	struct http_response r = {0};
	cf_json *doc = NULL;
	int ret;

	if (!prob)
		prob = &lp;
	if (!c || !url || !key) {
		set_detail(prob, CF_EUSAGE, NULL);
		return CF_EUSAGE;
	}
	/* badNonce: again with the nonce of that very response, a bounded number of times */
	ret = post_once(c, url, key, kid, payload ? payload : "", &r, prob);
	for (int i = 1; ret == CF_EBADNONCE && i < TRIES; i++)
		ret = post_once(c, url, key, kid, payload ? payload : "", &r, prob);
	if (ret != 0)
		return ret;
	if (resp) {
		if (r.body_len == 0 || cf_json_parse(r.body, r.body_len, &doc) != 0)
			doc = NULL;
		*resp = doc;
	}
	if (raw)
		*raw = r;
	else
		http_response_clear(&r);
	return 0;
}

int client_get(client *c, const char *url, struct http_response *raw, struct client_problem *prob)
{
	struct client_problem lp;
	struct http_response r = {0};
	int ret;

	if (!prob)
		prob = &lp;
	if ((ret = exchange(c, "GET", url, NULL, NULL, NULL, 0, &r, prob)) != 0)
		return ret;
	if (raw)
		*raw = r;
	else
		http_response_clear(&r);
	return 0;
}

int client_bearer_post(client *c, const char *path, const char *token, const char *payload,
		       cf_json **resp, struct client_problem *prob)
{
	struct client_problem lp;
	struct http_response r = {0};
	char url[MAX_URL + 128], auth[128];
	const char *body = payload ? payload : "";
	int ret;

	if (!prob)
		prob = &lp;
	if (resp)
		*resp = NULL;
	if (!c || !path || path[0] != '/' || !token ||
	    strspn(token, CLIENT_B64URL) != strlen(token) ||
	    (size_t)snprintf(url, sizeof(url), "%s%s", c->server, path) >= sizeof(url) ||
	    (size_t)snprintf(auth, sizeof(auth), "Bearer %s", token) >= sizeof(auth)) {
		set_detail(prob, CF_EUSAGE, NULL);
		return CF_EUSAGE;
	}
	ret = exchange(c, "POST", url, auth, "application/json", body, strlen(body), &r, prob);
	cf_zeroize(auth, sizeof(auth));
	if (ret != 0)
		return ret;
	if (resp && r.body_len > 0 && cf_json_parse(r.body, r.body_len, resp) != 0)
		*resp = NULL;
	http_response_clear(&r);
	return 0;
}
