/*
 * http1 — URL and HTTP/1.1 response head parsing (http1.h). No I/O, no TLS.
 *
 * Never: accept a URL that could inject into a request line (white space, control characters),
 * or a response head with ambiguous framing (both Content-Length and Transfer-Encoding).
 */
#include "http1.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cf_err.h"

int http_url_parse(const char *url, struct http_url *u)
{
	const char *p, *h, *he, *port;
	size_t hl, pl = 0;

	memset(u, 0, sizeof(*u));
	if (strncasecmp(url, "https://", 8) == 0) {
		u->tls = 1;
		p = url + 8;
	} else if (strncasecmp(url, "http://", 7) == 0) {
		p = url + 7;
	} else {
		return CF_EUSAGE;
	}
	if (*p == '[') { /* IPv6 literal */
		h = ++p;
		if (!(he = strchr(p, ']')))
			return CF_EUSAGE;
		p = he + 1;
	} else {
		h = p;
		p += strcspn(p, ":/?#@");
		he = p;
	}
	hl = (size_t)(he - h);
	port = p;
	if (*p == ':') {
		port = ++p;
		pl = strspn(p, "0123456789");
		p += pl;
		if (pl == 0 || pl > 5 || atoi(port) < 1 || atoi(port) > 65535)
			return CF_EUSAGE;
	}
	if (hl == 0 || hl >= sizeof(u->host) || (*p != '\0' && *p != '/'))
		return CF_EUSAGE; /* also refuses user info ("user@host") */
	memcpy(u->host, h, hl);
	if (pl)
		memcpy(u->port, port, pl);
	else
		strcpy(u->port, u->tls ? "443" : "80");
	u->path = p;
	/* No white space or control characters: the path goes verbatim into the request line. */
	for (; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f || *p == '#')
			return CF_EUSAGE;
	return 0;
}

int http_url_same_origin(const struct http_url *a, const struct http_url *b)
{
	return a->tls == b->tls && strcasecmp(a->host, b->host) == 0 &&
	       strcmp(a->port, b->port) == 0;
}

/* Copy a header value when it fits, else leave "" (a truncated nonce or URL is worse than none). */
static void copy_hdr(char *dst, size_t cap, const char *val)
{
	size_t n = strlen(val);
	if (n < cap)
		memcpy(dst, val, n + 1);
	else
		dst[0] = '\0';
}

/* "Sun, 06 Nov 1994 08:49:37 GMT" (RFC 9110 IMF-fixdate) → Unix time, 0 if not that form. */
int64_t http_parse_date(const char *s)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	char wd[4], mon[4];
	struct tm tm = {0};
	const char *m;

	if (sscanf(s, "%3[A-Za-z], %d %3s %d %d:%d:%d GMT", wd, &tm.tm_mday, mon, &tm.tm_year,
		   &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 7 ||
	    !(m = strstr(months, mon)) || (m - months) % 3 != 0 || strlen(mon) != 3)
		return 0;
	tm.tm_mon = (int)(m - months) / 3;
	tm.tm_year -= 1900;
	return (int64_t)timegm(&tm);
}

static int parse_clen(const char *v, long long *out)
{
	char *end;
	long long n;

	if (*v < '0' || *v > '9')
		return CF_EPROTO;
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno || *end || (*out >= 0 && *out != n))
		return CF_EPROTO;
	*out = n;
	return 0;
}

static int parse_header(char *line, struct http_head *h, struct http_response *r)
{
	char *v = strchr(line, ':'), *e;

	if (!v || v == line)
		return CF_EPROTO;
	*v++ = '\0';
	v += strspn(v, " \t");
	for (e = v + strlen(v); e > v && (e[-1] == ' ' || e[-1] == '\t'); e--)
		e[-1] = '\0';
	if (strcasecmp(line, "Content-Length") == 0)
		return parse_clen(v, &h->clen);
	if (strcasecmp(line, "Transfer-Encoding") == 0)
		h->chunked = strcasestr(v, "chunked") != NULL;
	else if (strcasecmp(line, "Connection") == 0)
		h->close = strcasestr(v, "close") ? 1 : strcasestr(v, "keep-alive") ? 0 : h->close;
	else if (strcasecmp(line, "Content-Type") == 0)
		copy_hdr(r->content_type, sizeof(r->content_type), v);
	else if (strcasecmp(line, "Replay-Nonce") == 0)
		copy_hdr(r->replay_nonce, sizeof(r->replay_nonce), v);
	else if (strcasecmp(line, "Location") == 0)
		copy_hdr(r->location, sizeof(r->location), v);
	else if (strcasecmp(line, "Retry-After") == 0)
		copy_hdr(r->retry_after, sizeof(r->retry_after), v);
	else if (strcasecmp(line, "Date") == 0)
		r->date = http_parse_date(v);
	return 0;
}

int http_parse_head(char *text, struct http_head *h, struct http_response *r)
{
	char *line, *save = NULL;
	int code;

	memset(r, 0, sizeof(*r));
	memset(h, 0, sizeof(*h));
	h->clen = -1;
	line = strtok_r(text, "\r\n", &save);
	/* "HTTP/1.x SSS[ reason]" */
	if (!line || strncmp(line, "HTTP/1.", 7) != 0 || !isdigit((unsigned char)line[7]) ||
	    line[8] != ' ' || strspn(line + 9, "0123456789") != 3 ||
	    (line[12] != '\0' && line[12] != ' '))
		return CF_EPROTO;
	h->minor = line[7] - '0';
	code = atoi(line + 9);
	if (code < 100)
		return CF_EPROTO;
	r->status = code;
	h->close = h->minor == 0; /* HTTP/1.0 closes unless it says keep-alive */
	while ((line = strtok_r(NULL, "\r\n", &save)) != NULL)
		if (parse_header(line, h, r) != 0)
			return CF_EPROTO;
	if (h->chunked && h->clen >= 0)
		return CF_EPROTO; /* both framings: refuse (request smuggling territory) */
	return 0;
}
