/*
 * portal — serving the embedded files of the holder portal (portal.h). The table is generated at
 * build time (tools/embed-portal.cmake); lookups are by exact path, so nothing outside it is ever
 * reachable, whatever the request says.
 */
#include "portal.h"

#include <stdlib.h>
#include <string.h>

#include "cf_err.h"

/* No inline script or style, no other origin, no framing, no <base>, forms post here only. */
const char portal_headers[] =
    "Content-Security-Policy: default-src 'self'; script-src 'self'; style-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'\r\n"
    "X-Content-Type-Options: nosniff\r\n"
    "Referrer-Policy: no-referrer\r\n";

/* tools/embed-portal.cmake embeds the same extensions */
static const struct {
	const char *ext;
	const char *type;
} types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".json", "application/json"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".txt", "text/plain; charset=utf-8"},
    {".woff2", "font/woff2"},
};

const char *portal_content_type(const char *path)
{
	const char *dot = strrchr(path, '.');

	if (!dot || strchr(dot, '/'))
		return NULL;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(dot, types[i].ext) == 0)
			return types[i].type;
	return NULL;
}

int portal_find(const char *path, const struct portal_file **out)
{
	const struct portal_file *f;

	if (!path || path[0] != '/')
		return CF_ENOTFOUND;
	if (strcmp(path, "/") == 0)
		path = "/index.html";
	/* the table has no such names; refused anyway so that no lookup ever sees one */
	if (strstr(path, "..") || strstr(path, "//") || strpbrk(path, "?#%\\"))
		return CF_ENOTFOUND;
	for (f = portal_files; f->path; f++) {
		if (strcmp(f->path, path) == 0) {
			*out = f;
			return 0;
		}
	}
	return CF_ENOTFOUND;
}

/* Paths of the protocol and the operator keep the protocol's problem document (JSON 404). */
static int protocol_path(const char *path)
{
	static const char *const roots[] = {"/v1", "/csc", "/metrics"};

	for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
		size_t n = strlen(roots[i]);
		if (strncmp(path, roots[i], n) == 0 && (path[n] == '\0' || path[n] == '/'))
			return 1;
	}
	return 0;
}

static const char not_found[] =
    "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
    "<title>Page not found</title></head>\n<body><h1>Page not found</h1>\n"
    "<p>There is no page at this address. <a href=\"/\">Go to the certflow portal</a>.</p>"
    "</body></html>\n";

int portal_serve(const struct http_req *req, struct http_resp *resp)
{
	const struct portal_file *f = NULL;
	const unsigned char *data;
	size_t len;

	if (protocol_path(req->path))
		return CF_ENOTFOUND;
	resp->headers = portal_headers;
	resp->no_nonce = 1;
	if (portal_find(req->path, &f) == 0 && portal_content_type(f->path)) {
		data = f->data;
		len = f->len;
		resp->content_type = portal_content_type(f->path);
		resp->status = 200;
	} else {
		data = (const unsigned char *)not_found;
		len = sizeof(not_found) - 1;
		resp->content_type = "text/html; charset=utf-8";
		resp->status = 404;
	}
	/* http frees (and wipes) the body: a copy, made once per request; the files are small */
	resp->body = malloc(len ? len : 1);
	if (!resp->body)
		return CF_ENOMEM;
	memcpy(resp->body, data, len);
	resp->body_len = len;
	return 0;
}
