/* test_http_routes — route table lookup, framing rules, media type, and the wire form of a
 * response (headers and body in one buffer), all without sockets. */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "cf_err.h"
#include "check.h"
#include "http.h"
#include "problem.h"

static void test_exact_and_one_segment_routes(void)
{
	const struct http_route *r = NULL;
	const char *p = NULL;
	size_t pl = 0;

	CHECK_EQ_INT(http_route_find(api_routes, "GET", "/v1/directory", &r, &p, &pl), 0);
	CHECK(r && r->fn == api_directory && r->auth == HTTP_AUTH_NONE);
	CHECK_EQ_INT(pl, 0);
	CHECK_EQ_INT(http_route_find(api_routes, "POST", "/v1/account/abc_DEF-1", &r, &p, &pl), 0);
	CHECK(r && r->fn == api_account && r->auth == HTTP_AUTH_KID);
	CHECK_EQ_INT(pl, 9);
	CHECK(strncmp(p, "abc_DEF-1", pl) == 0);
	CHECK_EQ_INT(http_route_find(api_routes, "POST", "/v1/activate", &r, &p, &pl), 0);
	CHECK(r && r->auth == HTTP_AUTH_JWK);
	CHECK_EQ_INT(http_route_find(api_routes, "POST", "/v1/admin/revoke", &r, &p, &pl), 0);
	CHECK(r && r->auth == HTTP_AUTH_ADMIN);
	CHECK_EQ_INT(http_route_find(api_routes, "HEAD", "/v1/new-nonce", &r, &p, &pl), 0);
	CHECK_EQ_INT(http_route_find(api_routes, "GET", "/v1/new-nonce", &r, &p, &pl), 0);
}

static void test_unknown_path_is_not_found_and_wrong_method_not_allowed(void)
{
	const struct http_route *r = NULL;
	const char *p = NULL;
	size_t pl = 0;
	char allow[64];

	CHECK_EQ_INT(http_route_find(api_routes, "GET", "/v1/nothing", &r, &p, &pl), CF_ENOTFOUND);
	CHECK_EQ_INT(http_route_find(api_routes, "POST", "/v1/account/", &r, &p, &pl),
		     CF_ENOTFOUND);
	CHECK_EQ_INT(http_route_find(api_routes, "POST", "/v1/account/a/b", &r, &p, &pl),
		     CF_ENOTFOUND);
	CHECK_EQ_INT(http_route_find(api_routes, "POST", "/v1/admin/no-such-op", &r, &p, &pl),
		     CF_ENOTFOUND);
	CHECK_EQ_INT(http_route_find(api_routes, "GET", "/v1/directory/", &r, &p, &pl),
		     CF_ENOTFOUND);
	CHECK_EQ_INT(http_route_find(api_routes, "GET", "/v1/activate", &r, &p, &pl), CF_EMETHOD);
	CHECK_EQ_INT(http_route_find(api_routes, "POST", "/v1/crl", &r, &p, &pl), CF_EMETHOD);
	http_route_allow(api_routes, "/v1/new-nonce", allow, sizeof(allow));
	CHECK_EQ_STR(allow, "HEAD, GET");
	http_route_allow(api_routes, "/v1/activate", allow, sizeof(allow));
	CHECK_EQ_STR(allow, "POST");
}

static void test_framing_rules(void)
{
	int st = 0;

	CHECK_EQ_INT(http_check_framing("POST", 100, NULL, &st), 0);
	CHECK_EQ_INT(http_check_framing("POST", 100, "chunked", &st), CF_EMALFORMED);
	CHECK_EQ_INT(st, 400);
	CHECK_EQ_INT(http_check_framing("POST", -1, "chunked", &st), 0);
	CHECK_EQ_INT(http_check_framing("POST", -1, "Chunked", &st), 0);
	CHECK_EQ_INT(http_check_framing("POST", -1, "gzip", &st), CF_EMALFORMED);
	CHECK_EQ_INT(http_check_framing("POST", -1, NULL, &st), CF_EMALFORMED);
	CHECK_EQ_INT(st, 400);
	CHECK_EQ_INT(http_check_framing("GET", -1, NULL, &st), 0);
	CHECK_EQ_INT(http_check_framing("POST", HTTP_MAX_BODY, NULL, &st), 0);
	CHECK_EQ_INT(http_check_framing("POST", HTTP_MAX_BODY + 1, NULL, &st), CF_ETOOLARGE);
	CHECK_EQ_INT(st, 413);
}

static void test_media_type_is_jose_json_with_any_parameters(void)
{
	CHECK(http_is_jose_json("application/jose+json"));
	CHECK(http_is_jose_json("Application/JOSE+JSON"));
	CHECK(http_is_jose_json("application/jose+json; charset=utf-8"));
	CHECK(!http_is_jose_json("application/json"));
	CHECK(!http_is_jose_json("application/jose+jsonx"));
	CHECK(!http_is_jose_json(""));
	CHECK(!http_is_jose_json(NULL));
}

static void test_response_is_one_buffer_with_nonce_and_no_store(void)
{
	struct http_resp resp;
	char *wire = NULL;
	size_t len = 0;

	memset(&resp, 0, sizeof(resp));
	resp.body = strdup("{\"a\":1}");
	resp.body_len = 7;
	resp.status = 201;
	snprintf(resp.location, sizeof(resp.location), "https://x/v1/credential/1");
	CHECK_EQ_INT(http_build_response(&resp, "NONCE", &wire, &len), 0);
	CHECK(wire != NULL);
	CHECK(strncmp(wire, "HTTP/1.1 201 Created\r\n", 22) == 0);
	CHECK(memmem(wire, len, "\r\nReplay-Nonce: NONCE\r\n", 23) != NULL);
	CHECK(memmem(wire, len, "\r\nCache-Control: no-store\r\n", 27) != NULL);
	CHECK(memmem(wire, len, "\r\nLocation: https://x/v1/credential/1\r\n", 39) != NULL);
	CHECK(memmem(wire, len, "\r\nContent-Length: 7\r\n", 21) != NULL);
	CHECK(len > 7 && memcmp(wire + len - 11, "\r\n\r\n{\"a\":1}", 11) == 0);
	free(wire);
	resp.head_only = 1;
	CHECK_EQ_INT(http_build_response(&resp, NULL, &wire, &len), 0);
	CHECK(memcmp(wire + len - 4, "\r\n\r\n", 4) == 0);
	CHECK(memmem(wire, len, "Replay-Nonce", 12) == NULL);
	free(wire);
	free(resp.body);
}

static void test_problem_document_carries_type_status_and_retry_after(void)
{
	struct http_resp resp;
	char *wire = NULL;
	size_t len = 0;

	memset(&resp, 0, sizeof(resp));
	CHECK_EQ_INT(problem_fill(&resp, CF_ENOTWINDOW, 0, "opens later", 4102444800LL), 0);
	CHECK_EQ_INT(resp.status, 403);
	CHECK_EQ_STR(resp.content_type, "application/problem+json");
	CHECK(strstr(resp.body, "\"type\":\"urn:certflow:error:notInRenewalWindow\"") != NULL);
	CHECK(strstr(resp.body, "\"status\":403") != NULL);
	CHECK(strstr(resp.body, "\"retryAfter\":\"2100-01-01T00:00:00Z\"") != NULL);
	CHECK(resp.retry_after > 0);
	CHECK_EQ_INT(http_build_response(&resp, "N", &wire, &len), 0);
	CHECK(memmem(wire, len, "\r\nRetry-After: ", 15) != NULL);
	free(wire);
	CHECK_EQ_INT(problem_fill(&resp, CF_ETOOLARGE, 0, "", 0), 0);
	CHECK_EQ_INT(resp.status, 413);
	CHECK(strstr(resp.body, "payloadTooLarge") != NULL);
	CHECK_EQ_INT(problem_fill(&resp, CF_ETLS, 0, "", 0), 0); /* client-side code */
	CHECK_EQ_INT(resp.status, 500);
	free(resp.body);
}

static void test_each_route_declares_its_problems_and_those_of_its_auth(void)
{
	const struct http_route *r = NULL;
	const char *p = NULL;
	size_t pl = 0;

	CHECK_EQ_INT(http_route_find(api_routes, "GET", "/v1/renewal-info/x.y", &r, &p, &pl), 0);
	CHECK(http_route_declares(api_route_problems, r, CF_ENOTFOUND));
	CHECK(http_route_declares(api_route_problems, r, CF_EMALFORMED)); /* every route */
	CHECK(http_route_declares(api_route_problems, r, CF_EIO));	  /* serverInternal */
	CHECK(!http_route_declares(api_route_problems, r, CF_EBADNONCE)); /* no JWS here */
	CHECK(!http_route_declares(api_route_problems, r, CF_ECONFLICT));
	CHECK_EQ_INT(http_route_find(api_routes, "POST", "/v1/activate", &r, &p, &pl), 0);
	CHECK(http_route_declares(api_route_problems, r, CF_EBADNONCE)); /* a JWS route */
	CHECK(http_route_declares(api_route_problems, r, CF_ELOCKED));
	CHECK(!http_route_declares(api_route_problems, r, CF_EPROOFLOCKED));
	CHECK(!http_route_declares(api_route_problems, r, CF_ESESSION));
	CHECK_EQ_INT(http_route_find(api_routes, "POST", "/v1/portal/pin", &r, &p, &pl), 0);
	CHECK(http_route_declares(api_route_problems, r, CF_ESESSION)); /* a bearer route */
	CHECK(http_route_declares(api_route_problems, r, CF_EPINBLOCKED));
	CHECK(!http_route_declares(api_route_problems, r, CF_EBADPUK));
	/* a route without a row is not checked (tests/spec reports the missing row) */
	{
		static const struct http_route_problems none[] = {{"GET", "/v1/crl", ""}, {0}};
		CHECK(http_route_declares(none, r, CF_EBADPUK));
		CHECK(http_route_declares(NULL, r, CF_EBADPUK));
	}
}

int main(void)
{
	RUN(test_exact_and_one_segment_routes);
	RUN(test_unknown_path_is_not_found_and_wrong_method_not_allowed);
	RUN(test_framing_rules);
	RUN(test_media_type_is_jose_json_with_any_parameters);
	RUN(test_response_is_one_buffer_with_nonce_and_no_store);
	RUN(test_problem_document_carries_type_status_and_retry_after);
	RUN(test_each_route_declares_its_problems_and_those_of_its_auth);
	return check_done();
}
