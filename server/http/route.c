/*
 * route — the CivetWeb-free half of the front end: route table lookup, framing rules, and the
 * wire form of a response (built whole, so it leaves in one write: see DESIGN.md on Nagle).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cf_clock.h"
#include "cf_crypto.h"
#include "cf_err.h"
#include "http.h"

/* Does path match pattern? A trailing "/ *" (without the space) matches one non-empty segment. */
static int pattern_match(const char *pattern, const char *path, const char **param, size_t *plen)
{
	size_t n = strlen(pattern);

	if (n >= 2 && strcmp(pattern + n - 2, "/*") == 0) {
		if (strncmp(pattern, path, n - 1) != 0)
			return 0;
		path += n - 1;
		if (!*path || strchr(path, '/'))
			return 0;
		*param = path;
		*plen = strlen(path);
		return 1;
	}
	if (strcmp(pattern, path) != 0)
		return 0;
	*param = "";
	*plen = 0;
	return 1;
}

int http_route_find(const struct http_route *routes, const char *method, const char *path,
		    const struct http_route **out, const char **param, size_t *param_len)
{
	const struct http_route *r;
	const char *p = NULL;
	size_t pl = 0;
	int path_known = 0;

	for (r = routes; r->pattern; r++) {
		if (!pattern_match(r->pattern, path, &p, &pl))
			continue;
		path_known = 1;
		if (strcmp(r->method, method) != 0)
			continue;
		*out = r;
		*param = p;
		*param_len = pl;
		return 0;
	}
	return path_known ? CF_EMETHOD : CF_ENOTFOUND;
}

/* Is name one of the words of list (separated by single spaces)? */
static int word_in(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = list; p && *p;) {
		const char *end = strchr(p, ' ');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len == n && memcmp(p, name, n) == 0)
			return 1;
		p = end ? end + 1 : NULL;
	}
	return 0;
}

/* spec/errors.md "Resources": the problems of every route, and those of each kind of auth. */
static const char *const every_route =
    "serverInternal serviceUnavailable rateLimited malformed payloadTooLarge methodNotAllowed";

static const char *auth_problems(enum http_auth auth)
{
	switch (auth) {
	case HTTP_AUTH_JWK:
		return "unsupportedMediaType storageFull badNonce badSignatureAlgorithm "
		       "badSignature "
		       "badPublicKey unauthorized";
	case HTTP_AUTH_KID:
	case HTTP_AUTH_ADMIN:
		return "unsupportedMediaType storageFull badNonce badSignatureAlgorithm "
		       "badSignature "
		       "accountDoesNotExist unauthorized";
	case HTTP_AUTH_BEARER:
		return "unsupportedMediaType storageFull badSession";
	default:
		return "";
	}
}

int http_route_declares(const struct http_route_problems *table, const struct http_route *r,
			int code)
{
	const char *name;

	for (; table && r && table->pattern; table++)
		if (strcmp(table->method, r->method) == 0 &&
		    strcmp(table->pattern, r->pattern) == 0)
			break;
	if (!table || !r || !table->pattern)
		return 1;
	if (cf_err_status(code) <= 0)
		code = CF_EINTERNAL; /* as problem_fill answers it */
	name = cf_err_problem(code);
	return word_in(every_route, name) || word_in(auth_problems(r->auth), name) ||
	       word_in(table->problems, name);
}

void http_route_allow(const struct http_route *routes, const char *path, char *out, size_t cap)
{
	const struct http_route *r;
	const char *p;
	size_t pl, n = 0;

	out[0] = '\0';
	for (r = routes; r->pattern; r++)
		if (pattern_match(r->pattern, path, &p, &pl) && n + strlen(r->method) + 3 < cap)
			n += (size_t)snprintf(out + n, cap - n, "%s%s", n ? ", " : "", r->method);
}

int http_check_framing(const char *method, long long content_length, const char *transfer_encoding,
		       int *status)
{
	*status = 400;
	/* Both framings at once is how requests are smuggled past proxies: never guess. */
	if (transfer_encoding && content_length >= 0)
		return CF_EMALFORMED;
	if (transfer_encoding && strcasecmp(transfer_encoding, "chunked") != 0)
		return CF_EMALFORMED;
	/* RFC 9112 §6.3: a POST with neither framing has an empty body. */
	if (!transfer_encoding && strcmp(method, "POST") == 0 && content_length < 0)
		return CF_EMALFORMED;
	if (content_length > HTTP_MAX_BODY) {
		*status = 413;
		return CF_ETOOLARGE;
	}
	*status = 0;
	return 0;
}

static int media_type_is(const char *ct, const char *want)
{
	size_t n = strlen(want);

	if (!ct)
		return 0;
	while (*ct == ' ')
		ct++;
	if (strncasecmp(ct, want, n) != 0)
		return 0;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

int http_is_jose_json(const char *ct)
{
	return media_type_is(ct, "application/jose+json");
}

int http_is_json(const char *ct)
{
	return media_type_is(ct, "application/json");
}

int http_resp_json(struct http_resp *resp, int status, cf_json *doc)
{
	char *text = cf_json_print(doc);

	cf_json_free(doc);
	if (!text)
		return CF_ENOMEM;
	cf_zeroize(resp->body, resp->body_len);
	free(resp->body);
	resp->body = text;
	resp->body_len = strlen(text);
	resp->status = status;
	resp->content_type = "application/json";
	return 0;
}

static const char *reason_phrase(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 204:
		return "No Content";
	case 202:
		return "Accepted";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 402:
		return "Payment Required";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 409:
		return "Conflict";
	case 411:
		return "Length Required";
	case 413:
		return "Payload Too Large";
	case 415:
		return "Unsupported Media Type";
	case 429:
		return "Too Many Requests";
	case 500:
		return "Internal Server Error";
	case 503:
		return "Service Unavailable";
	default:
		return "Status";
	}
}

int http_build_response(const struct http_resp *resp, const char *nonce, char **out,
			size_t *out_len)
{
	static const char *const wday[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	int status = resp->status ? resp->status : 200;
	size_t cap = 1024 + resp->body_len + strlen(resp->location) +
		     (resp->headers ? strlen(resp->headers) : 0),
	       n;
	time_t now = (time_t)cf_now();
	struct tm tm;
	char *buf;
	int k;

	buf = malloc(cap);
	if (!buf)
		return CF_ENOMEM;
	gmtime_r(&now, &tm);
	k = snprintf(buf, cap,
		     "HTTP/1.1 %d %s\r\nDate: %s, %02d %s %04d %02d:%02d:%02d GMT\r\n"
		     "Cache-Control: %s\r\n",
		     status, reason_phrase(status), wday[tm.tm_wday], tm.tm_mday, mon[tm.tm_mon],
		     tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec,
		     resp->cache_control ? resp->cache_control : "no-store");
	n = (size_t)k;
	if (nonce)
		n += (size_t)snprintf(buf + n, cap - n, "Replay-Nonce: %s\r\n", nonce);
	if (resp->location[0])
		n += (size_t)snprintf(buf + n, cap - n, "Location: %s\r\n", resp->location);
	if (resp->allow[0])
		n += (size_t)snprintf(buf + n, cap - n, "Allow: %s\r\n", resp->allow);
	if (status == 401)
		n += (size_t)snprintf(buf + n, cap - n, "WWW-Authenticate: Bearer\r\n");
	if (resp->retry_after > 0)
		n += (size_t)snprintf(buf + n, cap - n, "Retry-After: %lld\r\n",
				      (long long)resp->retry_after);
	if (resp->body_len || resp->content_type)
		n += (size_t)snprintf(buf + n, cap - n, "Content-Type: %s\r\n",
				      resp->content_type ? resp->content_type : "application/json");
	if (status != 204)
		n += (size_t)snprintf(buf + n, cap - n, "Content-Length: %zu\r\n", resp->body_len);
	if (resp->close)
		n += (size_t)snprintf(buf + n, cap - n, "Connection: close\r\n");
	if (resp->headers)
		n += (size_t)snprintf(buf + n, cap - n, "%s", resp->headers);
	n += (size_t)snprintf(buf + n, cap - n, "\r\n");
	if (n + resp->body_len >= cap) {
		free(buf);
		return CF_EINTERNAL;
	}
	if (resp->body_len && !resp->head_only)
		memcpy(buf + n, resp->body, resp->body_len);
	*out = buf;
	*out_len = n + (resp->head_only ? 0 : resp->body_len);
	return 0;
}
