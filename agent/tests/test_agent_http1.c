/*
 * test_agent_http1 — URL and response head parsing of the client's transport (agent/http1.c).
 */
#include <string.h>

#include "cf_err.h"
#include "check.h"
#include "http1.h"

static int parse_url(const char *url, struct http_url *u)
{
	return http_url_parse(url, u);
}

static void test_url_takes_scheme_default_ports(void)
{
	struct http_url u;

	CHECK_EQ_INT(parse_url("https://ca.example", &u), 0);
	CHECK_EQ_INT(u.tls, 1);
	CHECK_EQ_STR(u.host, "ca.example");
	CHECK_EQ_STR(u.port, "443");
	CHECK_EQ_STR(u.path, "");
	CHECK_EQ_INT(parse_url("http://127.0.0.1/v1/directory", &u), 0);
	CHECK_EQ_INT(u.tls, 0);
	CHECK_EQ_STR(u.port, "80");
	CHECK_EQ_STR(u.path, "/v1/directory");
}

static void test_url_reads_ipv6_literal_and_port(void)
{
	struct http_url u;

	CHECK_EQ_INT(parse_url("https://[::1]:8443/v1/renew", &u), 0);
	CHECK_EQ_STR(u.host, "::1");
	CHECK_EQ_STR(u.port, "8443");
	CHECK_EQ_STR(u.path, "/v1/renew");
}

static void test_url_refuses_what_could_inject_or_mislead(void)
{
	static const char *const bad[] = {
	    "ftp://ca.example/",
	    "https://user@ca.example/",
	    "https://ca.example:0/",
	    "https://ca.example:99999/",
	    "https://ca.example:/",
	    "https://ca.example/a b",
	    "https://ca.example/a\r\nX:",
	    "https://ca.example/#frag",
	    "https://ca.example?x",
	    "https://",
	    "https://[::1/",
	    "ca.example",
	};
	struct http_url u;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_EQ_INT(parse_url(bad[i], &u), CF_EUSAGE);
}

static void test_same_origin_ignores_host_case_only(void)
{
	struct http_url a, b, c, d;

	CHECK(parse_url("https://CA.example:443/x", &a) == 0);
	CHECK(parse_url("https://ca.example/y", &b) == 0);
	CHECK(parse_url("http://ca.example:443/", &c) == 0);
	CHECK(parse_url("https://ca.example:8443/", &d) == 0);
	CHECK(http_url_same_origin(&a, &b));
	CHECK(!http_url_same_origin(&a, &c));
	CHECK(!http_url_same_origin(&a, &d));
}

static int head(const char *text, struct http_head *h, struct http_response *r)
{
	char buf[2048];

	strcpy(buf, text);
	return http_parse_head(buf, h, r);
}

static void test_head_reads_status_and_protocol_headers(void)
{
	struct http_head h;
	struct http_response r;

	CHECK_EQ_INT(head("HTTP/1.1 201 Created\r\ncontent-length: 12\r\n"
			  "Replay-Nonce:  abcDEF_-123 \r\nLocation: https://ca/v1/credential/x\r\n"
			  "Content-Type: application/json\r\nRetry-After: 120\r\n"
			  "Date: Sun, 06 Nov 1994 08:49:37 GMT",
			  &h, &r),
		     0);
	CHECK_EQ_INT(r.status, 201);
	CHECK_EQ_INT(h.clen, 12);
	CHECK_EQ_INT(h.close, 0);
	CHECK_EQ_STR(r.replay_nonce, "abcDEF_-123");
	CHECK_EQ_STR(r.location, "https://ca/v1/credential/x");
	CHECK_EQ_STR(r.content_type, "application/json");
	CHECK_EQ_STR(r.retry_after, "120");
	CHECK_EQ_INT(r.date, 784111777);
}

static void test_head_knows_when_the_connection_ends(void)
{
	struct http_head h;
	struct http_response r;

	CHECK_EQ_INT(head("HTTP/1.0 200 OK", &h, &r), 0);
	CHECK_EQ_INT(h.close, 1);
	CHECK_EQ_INT(head("HTTP/1.0 200 OK\r\nConnection: keep-alive", &h, &r), 0);
	CHECK_EQ_INT(h.close, 0);
	CHECK_EQ_INT(head("HTTP/1.1 200 OK\r\nConnection: close", &h, &r), 0);
	CHECK_EQ_INT(h.close, 1);
	CHECK_EQ_INT(head("HTTP/1.1 204", &h, &r), 0);
	CHECK_EQ_INT(h.clen, -1);
}

static void test_head_refuses_ambiguous_framing_and_junk(void)
{
	struct http_head h;
	struct http_response r;

	CHECK_EQ_INT(
	    head("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked", &h, &r),
	    CF_EPROTO);
	CHECK_EQ_INT(head("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4", &h, &r),
		     CF_EPROTO);
	CHECK_EQ_INT(head("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3", &h, &r), 0);
	CHECK_EQ_INT(head("HTTP/1.1 200 OK\r\nContent-Length: -1", &h, &r), CF_EPROTO);
	CHECK_EQ_INT(head("HTTP/1.1 200 OK\r\nContent-Length: 1x", &h, &r), CF_EPROTO);
	CHECK_EQ_INT(head("HTTP/1.1 20 OK", &h, &r), CF_EPROTO);
	CHECK_EQ_INT(head("HTTP/2 200 OK", &h, &r), CF_EPROTO);
	CHECK_EQ_INT(head("HTTP/1.1 099 Odd", &h, &r), CF_EPROTO);
	CHECK_EQ_INT(head("HTTP/1.1 200 OK\r\nno colon here", &h, &r), CF_EPROTO);
}

static void test_head_drops_a_nonce_too_long_to_keep(void)
{
	struct http_head h;
	struct http_response r;
	char text[512] = "HTTP/1.1 200 OK\r\nReplay-Nonce: ";

	memset(text + strlen(text), 'a', 100);
	CHECK_EQ_INT(head(text, &h, &r), 0);
	CHECK_EQ_STR(r.replay_nonce, "");
}

static void test_date_is_imf_fixdate_only(void)
{
	CHECK_EQ_INT(http_parse_date("Thu, 01 Jan 1970 00:00:00 GMT"), 0);
	CHECK_EQ_INT(http_parse_date("Sat, 21 Nov 2026 10:00:00 GMT"), 1795255200);
	CHECK_EQ_INT(http_parse_date("Sat, 21 Xyz 2026 10:00:00 GMT"), 0);
	CHECK_EQ_INT(http_parse_date("2026-11-21T10:00:00Z"), 0);
}

int main(void)
{
	RUN(test_url_takes_scheme_default_ports);
	RUN(test_url_reads_ipv6_literal_and_port);
	RUN(test_url_refuses_what_could_inject_or_mislead);
	RUN(test_same_origin_ignores_host_case_only);
	RUN(test_head_reads_status_and_protocol_headers);
	RUN(test_head_knows_when_the_connection_ends);
	RUN(test_head_refuses_ambiguous_framing_and_junk);
	RUN(test_head_drops_a_nonce_too_long_to_keep);
	RUN(test_date_is_imf_fixdate_only);
	return check_done();
}
