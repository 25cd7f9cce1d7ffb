/* test_portal — the holder portal's embedded files: lookup, Content-Types, security headers,
 * routes (GET and HEAD only; /v1 and /csc keep the protocol's problem documents). */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "cf_err.h"
#include "check.h"
#include "portal.h"

static void test_root_is_the_index_page_and_every_embedded_file_has_a_type(void)
{
	const struct portal_file *f = NULL, *g = NULL;
	int n = 0;

	CHECK_EQ_INT(portal_find("/", &f), 0);
	CHECK_EQ_INT(portal_find("/index.html", &g), 0);
	CHECK(f != NULL && f == g);
	CHECK(f && f->len > 0 && memmem(f->data, f->len, "<!doctype html>", 15) != NULL);
	for (f = portal_files; f->path; f++, n++) {
		CHECK(f->path[0] == '/');
		CHECK(portal_content_type(f->path) != NULL);
		/* sorted by path: the generator is deterministic */
		CHECK(f == portal_files || strcmp(f[-1].path, f->path) < 0);
	}
	CHECK(n >= 2);
}

static void test_unknown_and_crafted_paths_are_not_found(void)
{
	static const char *const bad[] = {"",
					  "index.html",
					  "/nothing.html",
					  "/../index.html",
					  "//index.html",
					  "/js/../index.html",
					  "/index.html?x",
					  "/index.html%00",
					  "/INDEX.HTML",
					  "/js/",
					  "/index.html/"};
	const struct portal_file *f = NULL;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_EQ_INT(portal_find(bad[i], &f), CF_ENOTFOUND);
	CHECK(f == NULL);
	CHECK_EQ_INT(portal_find(NULL, &f), CF_ENOTFOUND);
}

static void test_content_types_by_extension(void)
{
	CHECK_EQ_STR(portal_content_type("/index.html"), "text/html; charset=utf-8");
	CHECK_EQ_STR(portal_content_type("/js/main.js"), "text/javascript; charset=utf-8");
	CHECK_EQ_STR(portal_content_type("/css/portal.css"), "text/css; charset=utf-8");
	CHECK_EQ_STR(portal_content_type("/i18n/en.json"), "application/json");
	CHECK_EQ_STR(portal_content_type("/logo.svg"), "image/svg+xml");
	CHECK(portal_content_type("/README.md") == NULL);
	CHECK(portal_content_type("/js.d/x") == NULL);
	CHECK(portal_content_type("/noext") == NULL);
}

static int serve(const char *method, const char *path, struct http_resp *resp)
{
	const struct http_route *r = NULL;
	const char *param;
	size_t plen;
	struct http_req req;
	int ret;

	memset(resp, 0, sizeof(*resp));
	ret = http_route_find(api_routes, method, path, &r, &param, &plen);
	if (ret != 0)
		return ret;
	memset(&req, 0, sizeof(req));
	req.method = method;
	req.path = path;
	req.param = "";
	return r->fn(&req, resp);
}

static void test_pages_carry_the_strict_headers_and_no_nonce(void)
{
	struct http_resp resp;
	char *wire = NULL;
	size_t len = 0;

	CHECK_EQ_INT(serve("GET", "/", &resp), 0);
	CHECK_EQ_INT(resp.status, 200);
	CHECK_EQ_STR(resp.content_type, "text/html; charset=utf-8");
	CHECK(resp.no_nonce);
	CHECK_EQ_INT(http_build_response(&resp, NULL, &wire, &len), 0);
	CHECK(memmem(wire, len,
		     "\r\nContent-Security-Policy: default-src 'self'; script-src 'self'; "
		     "style-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
		     "form-action 'self'\r\n",
		     133) != NULL);
	CHECK(memmem(wire, len, "\r\nX-Content-Type-Options: nosniff\r\n", 35) != NULL);
	CHECK(memmem(wire, len, "\r\nReferrer-Policy: no-referrer\r\n", 32) != NULL);
	CHECK(memmem(wire, len, "\r\nCache-Control: no-store\r\n", 27) != NULL);
	CHECK(memmem(wire, len, "Set-Cookie", 10) == NULL);
	free(wire);
	free(resp.body);
	/* an unknown page: a page that says so, with the same headers */
	CHECK_EQ_INT(serve("GET", "/no-such-page", &resp), 0);
	CHECK_EQ_INT(resp.status, 404);
	CHECK(resp.headers == portal_headers);
	CHECK(memmem(resp.body, resp.body_len, "Page not found", 14) != NULL);
	free(resp.body);
}

static void test_protocol_paths_keep_their_problems_and_other_methods_are_refused(void)
{
	struct http_resp resp;

	CHECK_EQ_INT(serve("GET", "/v1", &resp), CF_ENOTFOUND);
	CHECK(resp.headers == NULL);
	CHECK_EQ_INT(serve("GET", "/csc", &resp), CF_ENOTFOUND);
	CHECK_EQ_INT(serve("GET", "/metrics", &resp), CF_ENOTFOUND);
	CHECK_EQ_INT(serve("GET", "/v1/no-such-thing", &resp), CF_ENOTFOUND);
	CHECK_EQ_INT(serve("HEAD", "/", &resp), 0);
	free(resp.body);
	CHECK_EQ_INT(serve("POST", "/", &resp), CF_EMETHOD);
	CHECK_EQ_INT(serve("PUT", "/index.html", &resp), CF_EMETHOD);
	CHECK_EQ_INT(serve("DELETE", "/js/main.js", &resp), CF_EMETHOD);
}

int main(void)
{
	RUN(test_root_is_the_index_page_and_every_embedded_file_has_a_type);
	RUN(test_unknown_and_crafted_paths_are_not_found);
	RUN(test_content_types_by_extension);
	RUN(test_pages_carry_the_strict_headers_and_no_nonce);
	RUN(test_protocol_paths_keep_their_problems_and_other_methods_are_refused);
	return check_done();
}
