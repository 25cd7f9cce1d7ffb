/*
 * http1 — the text side of the transport: absolute URLs and HTTP/1.1 response heads, parsed
 * strictly and without I/O, so that they can be tested alone. Private to the client library.
 */
#ifndef HTTP1_H
#define HTTP1_H

#include <stddef.h>
#include <stdint.h>

#include "transport.h"

struct http_url {
	int tls;	  /* 1 for https, 0 for http */
	char host[256];	  /* without the brackets of an IPv6 literal */
	char port[8];	  /* decimal; the scheme's default when absent */
	const char *path; /* points into the parsed URL; "" means "/" */
};

/* Parse "http(s)://host[:port][/path]" (no user info, no fragment, no white space or control
 * characters anywhere). 0 or CF_EUSAGE. */
int http_url_parse(const char *url, struct http_url *u);
/* 1 if a and b have the same scheme, host (ignoring case) and port. */
int http_url_same_origin(const struct http_url *a, const struct http_url *b);

struct http_head {
	int minor;	/* HTTP/1.<minor> */
	int close;	/* the connection ends after this response */
	int chunked;	/* Transfer-Encoding: chunked */
	long long clen; /* Content-Length, -1 if absent */
};

/* Parse a NUL-terminated response head (status line and header lines, CRLF-separated, without
 * the empty line) into h and r (status and the headers of struct http_response; r->body is left
 * NULL). text is modified. 0 or CF_EPROTO (bad status line or header, or both Content-Length and
 * Transfer-Encoding, or two different Content-Length values). */
int http_parse_head(char *text, struct http_head *h, struct http_response *r);

/* An IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT", RFC 9110) as Unix time; 0 if not one. */
int64_t http_parse_date(const char *s);

#endif
