/*
 * portal — the holder portal's static files (pages, scripts, styles, texts of portal/ at the top
 * of the tree), built into certflowd by tools/embed-portal.cmake and served under "/" for GET and
 * HEAD. The pages are clients of the protocol like the agent: they call /v1 and /csc from
 * JavaScript and get no back door here. This module never reads a file at run time, never
 * serves anything outside the embedded table, and never sets a cookie.
 */
#ifndef PORTAL_H
#define PORTAL_H

#include <stddef.h>

#include "http.h"

/* One embedded file: path as served ("/index.html"), its bytes, its length. */
struct portal_file {
	const char *path;
	const unsigned char *data;
	size_t len;
};

/* The embedded files, sorted by path, ended by a {NULL} row (generated: portal_files.c). */
extern const struct portal_file portal_files[];

/* The file served at path: "/" is "/index.html". 0 with *out set (points into the static
 * table), or CF_ENOTFOUND (unknown path, or one with "..", "//", a query or a fragment). */
int portal_find(const char *path, const struct portal_file **out);

/* The Content-Type of a file by its extension ("text/html; charset=utf-8", ...), or NULL when the
 * portal serves no file of that kind. */
const char *portal_content_type(const char *path);

/* The headers every portal response carries, as lines ending in CRLF: the Content-Security-
 * Policy (no inline script or style, nothing from another origin, no framing),
 * X-Content-Type-Options, Referrer-Policy. */
extern const char portal_headers[];

/* Route handler for GET and HEAD of "/" and the portal's paths: the file with its Content-Type,
 * portal_headers and Cache-Control: no-store; an unknown path gets a small HTML page "not found"
 * (status 404) with the same headers. Never fails otherwise (CF_ENOMEM aside). */
int portal_serve(const struct http_req *req, struct http_resp *resp);

#endif
