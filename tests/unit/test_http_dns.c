/* test_http_dns — the reading of DNS answers for the ACME dns-01 validation (http_dns_parse_txt):
 * answer messages built here octet by octet, as a resolver returns them. */
#include <string.h>

#include "cf_err.h"
#include "check.h"
#include "http.h"

struct msg {
	unsigned char b[2048];
	int len;
};

static void put(struct msg *m, const void *p, int n)
{
	memcpy(m->b + m->len, p, (size_t)n);
	m->len += n;
}

static void put16(struct msg *m, int v)
{
	unsigned char b[2] = {(unsigned char)(v >> 8), (unsigned char)v};

	put(m, b, 2);
}

/* header with one question "_acme-challenge.a.test" TXT IN and an answers in the answer section */
static void head(struct msg *m, int answers)
{
	static const unsigned char q[] = "\x0f_acme-challenge\x01"
					 "a\x04test";

	m->len = 0;
	put16(m, 0x1234);
	put16(m, 0x8180); /* a response, no error */
	put16(m, 1);
	put16(m, answers);
	put16(m, 0);
	put16(m, 0);
	put(m, q, (int)sizeof(q)); /* with its final zero octet */
	put16(m, 16);
	put16(m, 1);
}

/* an answer record owned by the question's name (pointer to offset 12) */
static void rr(struct msg *m, int type, const unsigned char *rdata, int rdlen)
{
	put16(m, 0xC00C);
	put16(m, type);
	put16(m, 1);
	put16(m, 0);
	put16(m, 60); /* TTL */
	put16(m, rdlen);
	put(m, rdata, rdlen);
}

static void test_each_txt_record_with_its_strings_joined(void)
{
	char vals[4][HTTP_TXT_LEN];
	struct msg m;
	int n = -1;

	head(&m, 3);
	rr(&m, 16,
	   (const unsigned char *)"\x03"
				  "abc\x02"
				  "de",
	   7);
	rr(&m, 5,
	   (const unsigned char *)"\x01"
				  "b\x04test\x00",
	   8); /* a CNAME: not a value */
	rr(&m, 16,
	   (const unsigned char *)"\x05"
				  "value",
	   6);
	CHECK_EQ_INT(http_dns_parse_txt(m.b, m.len, vals, 4, &n), 0);
	CHECK_EQ_INT(n, 2);
	CHECK_EQ_STR(vals[0], "abcde");
	CHECK_EQ_STR(vals[1], "value");
}

static void test_a_record_longer_than_a_value_is_skipped_not_cut(void)
{
	unsigned char big[2 * 256];
	char vals[2][HTTP_TXT_LEN];
	struct msg m;
	int n = -1;

	big[0] = 255;
	memset(big + 1, 'x', 255);
	big[256] = 255;
	memset(big + 257, 'y', 255);
	head(&m, 2);
	rr(&m, 16, big, (int)sizeof(big));
	rr(&m, 16,
	   (const unsigned char *)"\x02"
				  "ok",
	   3);
	CHECK_EQ_INT(http_dns_parse_txt(m.b, m.len, vals, 2, &n), 0);
	CHECK_EQ_INT(n, 1);
	CHECK_EQ_STR(vals[0], "ok");
}

static void test_strings_that_overrun_their_record_are_refused(void)
{
	char vals[2][HTTP_TXT_LEN];
	struct msg m;
	int n = -1;

	head(&m, 1);
	rr(&m, 16,
	   (const unsigned char *)"\x09"
				  "abc",
	   4); /* says 9 octets, has 3 */
	CHECK_EQ_INT(http_dns_parse_txt(m.b, m.len, vals, 2, &n), CF_EPROTO);
	CHECK_EQ_INT(n, 0);
}

static void test_truncated_or_empty_messages_are_refused(void)
{
	char vals[2][HTTP_TXT_LEN];
	struct msg m;
	int n = -1;

	head(&m, 1);
	rr(&m, 16,
	   (const unsigned char *)"\x05"
				  "value",
	   6);
	CHECK_EQ_INT(http_dns_parse_txt(m.b, m.len - 3, vals, 2, &n), CF_EPROTO);
	CHECK_EQ_INT(http_dns_parse_txt(m.b, 5, vals, 2, &n), CF_EPROTO);
	CHECK_EQ_INT(http_dns_parse_txt(m.b, -1, vals, 2, &n), CF_EPROTO);
	CHECK_EQ_INT(n, 0);
}

static void test_no_more_values_than_room(void)
{
	char vals[1][HTTP_TXT_LEN];
	struct msg m;
	int n = -1;

	head(&m, 2);
	rr(&m, 16,
	   (const unsigned char *)"\x01"
				  "a",
	   2);
	rr(&m, 16,
	   (const unsigned char *)"\x01"
				  "b",
	   2);
	CHECK_EQ_INT(http_dns_parse_txt(m.b, m.len, vals, 1, &n), 0);
	CHECK_EQ_INT(n, 1);
	CHECK_EQ_STR(vals[0], "a");
}

static void test_resolver_forms(void)
{
	CHECK(http_dns_resolver_ok(""));
	CHECK(http_dns_resolver_ok("192.0.2.53"));
	CHECK(http_dns_resolver_ok("127.0.0.1:5353"));
	CHECK(!http_dns_resolver_ok("127.0.0.1:0"));
	CHECK(!http_dns_resolver_ok("127.0.0.1:65536"));
	CHECK(!http_dns_resolver_ok("ns.example.org"));
	CHECK(!http_dns_resolver_ok("::1"));
	CHECK(!http_dns_resolver_ok("127.0.0.1:"));
}

int main(void)
{
	RUN(test_each_txt_record_with_its_strings_joined);
	RUN(test_a_record_longer_than_a_value_is_skipped_not_cut);
	RUN(test_strings_that_overrun_their_record_are_refused);
	RUN(test_truncated_or_empty_messages_are_refused);
	RUN(test_no_more_values_than_room);
	RUN(test_resolver_forms);
	return check_done();
}
