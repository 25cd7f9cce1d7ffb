/*
 * http — certflowd's HTTP(S) front end: CivetWeb inside (http.c is the only file that includes
 * civetweb.h), one catch-all handler that applies the framing rules, routes through a table
 * {method, path pattern, auth, handler}, checks the JWS envelope, and sends each whole response
 * with one write. Handlers know nothing of CivetWeb: they get a struct http_req and fill a
 * struct http_resp.
 */
#ifndef HTTP_H
#define HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "cf_json.h"
#include "cf_jws.h"
#include "store.h"

struct core;
typedef struct nonce_store nonce_store;

#define HTTP_MAX_BODY (64 * 1024)
#define HTTP_MAX_URL 256

enum http_auth {
	HTTP_AUTH_NONE = 0, /* no JWS (GET, HEAD) */
	HTTP_AUTH_JWK,	    /* JWS with jwk: the public routes (activate, apply, recovery, ...) */
	HTTP_AUTH_KID,	    /* JWS with kid of a valid account */
	HTTP_AUTH_ADMIN,    /* JWS with kid of a valid account whose role is admin */
	HTTP_AUTH_BEARER,   /* plain JSON (application/json), session token in
			       "Authorization: Bearer": the holder portal and the CSC API (§23.1);
			       the handler checks the token (core_session_check) */
	HTTP_AUTH_ACME_JWK, /* the ACME profile (spec/acme.md): JWS with jwk (newAccount) */
	HTTP_AUTH_ACME_KID, /* JWS with kid of a valid account, as <base>/acme/acct/<id> */
	HTTP_AUTH_ACME_ANY, /* either (revokeCert: the account's or the certificate's key) */
};

struct http_req {
	const char *method;
	const char *path;  /* path of the request, without query */
	const char *param; /* the segment matched by '*' in the pattern, "" if none */
	struct core *core;
	const char *base_url;	 /* "https://host:port", no trailing slash */
	const char *remote_addr; /* client IP address text (for audit), never NULL */
	/* JWS requests only (auth != NONE): */
	const struct cf_jws *jws;
	const cf_json *payload;		     /* NULL for POST-as-GET */
	const struct store_account *account; /* the kid's account (KID/ADMIN), else NULL */
	const char *account_url;	     /* its URL */
	/* HTTP_AUTH_BEARER only: */
	const char *bearer; /* the token after "Authorization: Bearer ", "" when absent; secret */
};

struct http_resp {
	int status;		  /* 200 when left 0 */
	const char *content_type; /* default application/json */
	char *body;		  /* malloc'd, freed by http; may be NULL */
	size_t body_len;
	char location[HTTP_MAX_URL + 128]; /* "" = no Location header */
	char allow[64];			   /* "" = no Allow header (set for methodNotAllowed) */
	int64_t retry_after;		   /* seconds for a Retry-After header, 0 = none */
	const char *cache_control;	   /* NULL = "no-store" */
	int head_only;			   /* HEAD: headers (with the body's length) but no body */
	int close;			   /* send Connection: close (request body left unread) */
	const char *headers; /* further header lines, each ending in CRLF (static), or NULL */
	int no_nonce;	     /* no Replay-Nonce (the portal's files: not the protocol's) */
	int acme;	     /* a request under /acme/: problems are RFC 8555's (spec/acme.md) */
	char link_up[HTTP_MAX_URL + 64]; /* ACME: a Link rel="up" to this URL ("" none) */
	/* When the handler fails: */
	char detail[256]; /* problem detail ("" = the code's title); never a secret */
	int64_t retry_at; /* problem "retryAfter" time (Unix), 0 = none */
	cf_json *extra;	  /* further problem members (e.g. attemptsLeft, credentials): an object
			     that becomes the problem document; owned and freed by http */
};

typedef int (*http_handler)(const struct http_req *req, struct http_resp *resp);

struct http_route {
	const char *method;  /* "GET", "HEAD", "POST" */
	const char *pattern; /* exact path, or ending in "/ *" (no space): one segment */
	enum http_auth auth;
	http_handler fn;
};

/* What a route may answer besides the problems of every route and of its auth: problem names of
 * spec/errors.md separated by single spaces ("" none). A table ends with {0}. */
struct http_route_problems {
	const char *method;
	const char *pattern;
	const char *problems;
};

/* Route lookup (exposed for tests). Returns the route for method+path and sets *param to the
 * matched segment (points into path; *param_len its length); CF_ENOTFOUND if no pattern matches
 * the path, CF_EMETHOD if one does but not for this method. */
int http_route_find(const struct http_route *routes, const char *method, const char *path,
		    const struct http_route **out, const char **param, size_t *param_len);
/* 1 if route r may answer the problem of code: one of every route's (serverInternal,
 * serviceUnavailable, rateLimited, malformed, payloadTooLarge, methodNotAllowed), of its auth,
 * or of its row of table
 * (spec/errors.md "Resources"); also 1 when table has no row for r (tests/spec checks that every
 * route has one). The server logs a problem a route does not declare ("undeclared problem"),
 * which the test harness treats as a failure. */
int http_route_declares(const struct http_route_problems *table, const struct http_route *r,
			int code);
/* The methods routed for path, as an Allow header value ("GET, HEAD"), into out. */
void http_route_allow(const struct http_route *routes, const char *path, char *out, size_t cap);

/* Framing rules of spec/protocol.md §1.1 on the request headers (exposed for tests):
 * content_length -1 if absent, transfer_encoding NULL if absent. Returns 0 (a chunked body is
 * fine: its decoded size is checked while reading), CF_EMALFORMED (both Content-Length and
 * Transfer-Encoding; a Transfer-Encoding other than chunked; a POST with neither, whose body is
 * empty), or CF_ETOOLARGE (Content-Length over HTTP_MAX_BODY). *status is the HTTP status. */
int http_check_framing(const char *method, long long content_length, const char *transfer_encoding,
		       int *status);

/* 1 if the Content-Type value is application/jose+json (parameters ignored, case-insensitive). */
int http_is_jose_json(const char *content_type);
/* 1 if content_type is application/json (parameters allowed). */
int http_is_json(const char *content_type);

/* Fill resp with a JSON body (takes ownership of doc, frees it). CF_ENOMEM. */
int http_resp_json(struct http_resp *resp, int status, cf_json *doc);

/* Build the wire form of a whole response (status line, headers, body) into a malloc'd buffer.
 * nonce may be NULL. A failed handler's problem is built by problem.c first. */
int http_build_response(const struct http_resp *resp, const char *nonce, char **out,
			size_t *out_len);

/* GET http://host:port/path (fetch.c; the ACME http-01 validation): one connection to address
 * (or to host when address is NULL or ""), no redirects, everything within timeout_ms, the first
 * 4 KiB of the answer read. 0 with *status and the body (NUL-terminated, cut to cap - 1) even for a
 * non-2xx status; CF_ETIMEOUT, CF_ETLS (no connection: name or address unreachable), CF_EPROTO (not
 * an HTTP answer), CF_EMALFORMED (path or host too long). */
int http_fetch(const char *host, const char *address, int port, const char *path, int timeout_ms,
	       char *body, size_t cap, int *status);

#define HTTP_TXT_LEN 256
/* The TXT records of name (dns.c; the ACME dns-01 validation), asked of resolver ("ADDR" or
 * "ADDR:PORT", IPv4) or, when NULL or "", of /etc/resolv.conf's servers; one try per server within
 * timeout_ms (whole seconds). Up to max values (each record's strings joined; longer records than
 * HTTP_TXT_LEN - 1 skipped) to vals, their number to *n. 0 (possibly *n == 0: only other types),
 * CF_ENOTFOUND (no such name or no TXT record), CF_ETIMEOUT (no answer, or the server failed),
 * CF_EIO, CF_EPROTO (an answer that does not parse), CF_EMALFORMED (name or resolver). */
int http_dns_txt(const char *name, const char *resolver, int timeout_ms, char (*vals)[HTTP_TXT_LEN],
		 int max, int *n);
/* The TXT records of a DNS answer message (ans, len octets) as http_dns_txt gives them: 0,
 * CF_EPROTO (not a message, or a record's strings overrun it). */
int http_dns_parse_txt(const unsigned char *ans, int len, char (*vals)[HTTP_TXT_LEN], int max,
		       int *n);
/* 1 if resolver is "" or a form http_dns_txt accepts. */
int http_dns_resolver_ok(const char *resolver);

#define HTTP_DEFAULT_THREADS 256
#define HTTP_DEFAULT_PER_ADDRESS 16
#define HTTP_DEFAULT_HEAD_TIMEOUT_MS 10000
#define HTTP_DEFAULT_BODY_TIMEOUT_MS 10000

/* 0 in a number means its default. One worker thread serves one connection at a time; one of
 * them is kept to refuse, at once, connections over a cap (503 busy, 429 per address). */
struct http_opts {
	const char *listen;   /* "ADDR:PORT" */
	const char *cert_pem; /* NULL → plain HTTP */
	int threads;	      /* worker threads (at least 2) */
	int per_address;      /* connections served at once per client address */
	int head_timeout_ms;  /* TLS handshake and request head, each from its start */
	int body_timeout_ms;  /* request body, from the end of its head */
	const struct http_route *routes;
	const struct http_route_problems *problems; /* may be NULL: nothing checked */
	struct core *core;
	nonce_store *nonces;
	int metrics; /* GET /metrics: 0 off, 1 from loopback addresses only, 2 from anywhere */
};

typedef struct http_server http_server;

/* Start listening (CivetWeb threads run from here on) and report the bound port. Requests get
 * 503 serviceUnavailable until http_set_ready. CF_EIO with a line on stderr on failure. */
int http_start(const struct http_opts *opts, http_server **out, int *port);
/* Base URL for url checks and links; requests are served from now on. base_url is copied. */
void http_set_ready(http_server *srv, const char *base_url, struct core *core);
void http_stop(http_server *srv);

#endif
