/* test_cf_json — strict parsing (depth, duplicates, trailing bytes, sizes, NUL), readers, building.
 */
#include "check.h"

#include <pthread.h>
#include <stdlib.h>

#include "cf_err.h"
#include "cf_json.h"

static int parse(const char *s, cf_json **doc)
{
	return cf_json_parse(s, strlen(s), doc);
}

/* Nesting of depth arrays around a 1. */
static char *nested_arrays(int depth)
{
	char *s = malloc((size_t)depth * 2 + 2);
	int o = 0;

	for (int i = 0; i < depth; i++)
		s[o++] = '[';
	s[o++] = '1';
	for (int i = 0; i < depth; i++)
		s[o++] = ']';
	s[o] = '\0';
	return s;
}

static void test_json_parses_document_and_reads_members(void)
{
	const char *text = " {\"s\":\"abc\",\"n\":42,\"neg\":-7,\"b\":true,\"a\":[\"x\",\"y\"],"
			   "\"o\":{\"k\":null}}\r\n\t ";
	cf_json *doc = NULL;
	const char *s = NULL;
	int64_t n = 0;
	int b = 0;

	CHECK_EQ_INT(parse(text, &doc), 0);
	CHECK(cf_json_is_object(doc));
	CHECK_EQ_INT(cf_json_get_str(doc, "s", 3, &s), 0);
	CHECK_EQ_STR(s, "abc");
	CHECK_EQ_INT(cf_json_get_str(doc, "s", 2, &s), CF_EMALFORMED);
	CHECK_EQ_INT(cf_json_get_int(doc, "n", 0, 100, &n), 0);
	CHECK_EQ_INT(n, 42);
	CHECK_EQ_INT(cf_json_get_int(doc, "n", 0, 41, &n), CF_EMALFORMED);
	CHECK_EQ_INT(cf_json_get_int(doc, "neg", -10, 0, &n), 0);
	CHECK_EQ_INT(n, -7);
	CHECK_EQ_INT(cf_json_get_bool(doc, "b", &b), 0);
	CHECK_EQ_INT(b, 1);
	CHECK_EQ_INT(cf_json_array_size(cf_json_get(doc, "a")), 2);
	CHECK_EQ_INT(cf_json_str(cf_json_array_item(cf_json_get(doc, "a"), 1), 8, &s), 0);
	CHECK_EQ_STR(s, "y");
	CHECK(cf_json_array_item(cf_json_get(doc, "a"), 2) == NULL);
	CHECK(cf_json_is_object(cf_json_get(doc, "o")));
	cf_json_free(doc);
}

static void test_json_readers_reject_missing_and_wrong_types(void)
{
	cf_json *doc = NULL;
	const char *s = "unchanged";
	int64_t n = 5;
	int b = 3;

	CHECK_EQ_INT(parse("{\"s\":\"\",\"n\":1.5,\"t\":\"1\",\"big\":1e300,\"x\":null}", &doc), 0);
	CHECK_EQ_INT(cf_json_get_str(doc, "s", 10, &s), CF_EMALFORMED); /* empty */
	CHECK_EQ_INT(cf_json_get_str(doc, "n", 10, &s), CF_EMALFORMED);
	CHECK_EQ_INT(cf_json_get_str(doc, "missing", 10, &s), CF_EMALFORMED);
	CHECK_EQ_STR(s, "unchanged");
	CHECK_EQ_INT(cf_json_get_int(doc, "n", 0, 10, &n), CF_EMALFORMED); /* not integral */
	CHECK_EQ_INT(cf_json_get_int(doc, "t", 0, 10, &n), CF_EMALFORMED);
	CHECK_EQ_INT(cf_json_get_int(doc, "big", INT64_MIN, INT64_MAX, &n), CF_EMALFORMED);
	CHECK_EQ_INT(n, 5);
	CHECK_EQ_INT(cf_json_get_bool(doc, "x", &b), CF_EMALFORMED);
	CHECK_EQ_INT(b, 3);
	CHECK_EQ_INT(cf_json_get_str_opt(doc, "missing", 10, &s), 0);
	CHECK(s == NULL);
	CHECK_EQ_INT(cf_json_get_str_opt(doc, "n", 10, &s), CF_EMALFORMED);
	cf_json_free(doc);
}

static void test_json_member_lookup_is_case_sensitive(void)
{
	cf_json *doc = NULL;

	CHECK_EQ_INT(parse("{\"Alg\":\"x\"}", &doc), 0);
	CHECK(cf_json_get(doc, "alg") == NULL);
	CHECK(cf_json_get(doc, "Alg") != NULL);
	cf_json_free(doc);
	/* names that differ only in case are not duplicates */
	CHECK_EQ_INT(parse("{\"a\":1,\"A\":2}", &doc), 0);
	cf_json_free(doc);
}

static void test_json_accepts_depth_16_rejects_depth_17(void)
{
	char *ok = nested_arrays(16), *bad = nested_arrays(17);
	cf_json *doc = NULL;

	CHECK_EQ_INT(parse(ok, &doc), 0);
	cf_json_free(doc);
	doc = NULL;
	CHECK_EQ_INT(parse(bad, &doc), CF_EMALFORMED);
	CHECK(doc == NULL);
	/* objects count the same way */
	CHECK_EQ_INT(
	    parse("{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":"
		  "{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{}}}}}}}}}}}}}}}}}",
		  &doc),
	    CF_EMALFORMED);
	free(ok);
	free(bad);
}

static void test_json_rejects_duplicate_keys_at_any_level(void)
{
	cf_json *doc = NULL;
	char big[4096];
	int o;

	CHECK_EQ_INT(parse("{\"a\":1,\"a\":1}", &doc), CF_EMALFORMED);
	CHECK_EQ_INT(parse("{\"x\":{\"b\":1,\"c\":2,\"b\":3}}", &doc), CF_EMALFORMED);
	CHECK_EQ_INT(parse("[1,{\"y\":[{\"k\":1,\"k\":2}]}]", &doc), CF_EMALFORMED);
	/* a large object takes the sorted path */
	o = sprintf(big, "{");
	for (int i = 0; i < 100; i++)
		o += sprintf(big + o, "\"k%d\":%d,", i, i);
	sprintf(big + o, "\"k57\":0}");
	CHECK_EQ_INT(parse(big, &doc), CF_EMALFORMED);
	sprintf(big + o, "\"k100\":0}");
	CHECK_EQ_INT(parse(big, &doc), 0);
	cf_json_free(doc);
}

static void test_json_rejects_trailing_garbage(void)
{
	cf_json *doc = NULL;

	CHECK_EQ_INT(parse("{} x", &doc), CF_EMALFORMED);
	CHECK_EQ_INT(parse("{}{}", &doc), CF_EMALFORMED);
	CHECK_EQ_INT(parse("[1],", &doc), CF_EMALFORMED);
	CHECK_EQ_INT(parse("", &doc), CF_EMALFORMED);
	CHECK_EQ_INT(parse("   ", &doc), CF_EMALFORMED);
	/* the length is explicit: bytes after len are not looked at */
	CHECK_EQ_INT(cf_json_parse("{\"a\":1}garbage", 7, &doc), 0);
	cf_json_free(doc);
	CHECK_EQ_INT(cf_json_parse("{\"a\":1}", 6, &doc), CF_EMALFORMED);
}

static void test_json_rejects_over_long_strings(void)
{
	size_t n = CF_JSON_MAX_STRING;
	char *s = malloc(n + 16);
	cf_json *doc = NULL;

	s[0] = '"';
	memset(s + 1, 'a', n);
	strcpy(s + 1 + n, "\"");
	CHECK_EQ_INT(parse(s, &doc), 0);
	cf_json_free(doc);
	memset(s + 1, 'a', n + 1);
	strcpy(s + 2 + n, "\"");
	CHECK_EQ_INT(parse(s, &doc), CF_EMALFORMED);
	/* member names too */
	s[0] = '{';
	s[1] = '"';
	memset(s + 2, 'k', n + 1);
	strcpy(s + 3 + n, "\":1}");
	CHECK_EQ_INT(parse(s, &doc), CF_EMALFORMED);
	free(s);
}

static void test_json_rejects_nul_bytes_and_nul_escapes(void)
{
	static const char with_nul[] = "{\"a\":\"x\0y\"}";
	cf_json *doc = NULL;

	CHECK_EQ_INT(cf_json_parse(with_nul, sizeof(with_nul) - 1, &doc), CF_EMALFORMED);
	CHECK_EQ_INT(cf_json_parse("{}\0", 3, &doc), CF_EMALFORMED);
	/* cJSON would cut the string at an escaped NUL: refuse it */
	CHECK_EQ_INT(parse("{\"url\":\"https://a\\u0000evil\"}", &doc), CF_EMALFORMED);
	/* an escaped backslash before "u0000" is just text */
	CHECK_EQ_INT(parse("{\"a\":\"\\\\u0000\"}", &doc), 0);
	cf_json_free(doc);
}

static void test_json_rejects_invalid_utf8(void)
{
	cf_json *doc = NULL;

	CHECK_EQ_INT(parse("{\"a\":\"\xff\"}", &doc), CF_EMALFORMED);
	CHECK_EQ_INT(parse("{\"a\":\"\xc0\xaf\"}", &doc), CF_EMALFORMED);     /* overlong */
	CHECK_EQ_INT(parse("{\"a\":\"\xed\xa0\x80\"}", &doc), CF_EMALFORMED); /* surrogate */
	CHECK_EQ_INT(parse("{\"a\":\"\xe2\x96\"}", &doc), CF_EMALFORMED);     /* truncated */
	CHECK_EQ_INT(parse("{\"a\":\"caf\xc3\xa9 \xe2\x96\x88 \xf0\x9f\x94\x92\"}", &doc), 0);
	cf_json_free(doc);
}

static void test_json_builds_and_prints_compact_text(void)
{
	cf_json *obj = cf_json_new_object(), *arr = cf_json_new_array(), *back = NULL, *dup;
	char *text;

	CHECK_EQ_INT(cf_json_add_str(obj, "s", "a\"b"), 0);
	CHECK_EQ_INT(cf_json_add_int(obj, "n", 1700000000), 0);
	CHECK_EQ_INT(cf_json_add_bool(obj, "b", 0), 0);
	CHECK_EQ_INT(cf_json_push_str(arr, "x"), 0);
	CHECK_EQ_INT(cf_json_push(arr, cf_json_new_object()), 0);
	CHECK_EQ_INT(cf_json_add(obj, "a", arr), 0);
	/* a duplicate name or a wrong target is refused, and the child is still consumed */
	CHECK_EQ_INT(cf_json_add_str(obj, "s", "again"), CF_EMALFORMED);
	CHECK_EQ_INT(cf_json_push_str(obj, "x"), CF_EMALFORMED);
	CHECK_EQ_INT(cf_json_add(obj, "o", NULL), CF_ENOMEM);
	text = cf_json_print(obj);
	CHECK_EQ_STR(text, "{\"s\":\"a\\\"b\",\"n\":1700000000,\"b\":false,\"a\":[\"x\",{}]}");
	CHECK_EQ_INT(parse(text, &back), 0);
	dup = cf_json_dup(back);
	CHECK(dup != NULL);
	free(text);
	text = cf_json_print(dup);
	CHECK_EQ_STR(text, "{\"s\":\"a\\\"b\",\"n\":1700000000,\"b\":false,\"a\":[\"x\",{}]}");
	free(text);
	cf_json_free(dup);
	cf_json_free(back);
	cf_json_free(obj);
	cf_json_free(NULL);
}

/* CivetWeb's worker threads run on 100 KiB stacks (Debian's libcivetweb is built with
 * CIVETWEB_THREAD_STACK_SIZE 102400, seen in /proc/PID/maps), and CivetWeb's own frames take part
 * of it before a handler runs. cJSON recurses a frame per level up to 1,000 levels; parsing must
 * fit in 32 KiB whatever the input, so the scan refuses depth before any tree is built. */
#define WORKER_STACK (32 * 1024)

struct deep_job {
	const char *text;
	size_t len;
	int ret;
};

static void *parse_on_thread(void *arg)
{
	struct deep_job *job = arg;
	cf_json *doc = NULL;

	job->ret = cf_json_parse(job->text, job->len, &doc);
	cf_json_free(doc);
	return NULL;
}

static int parse_on_worker_stack(const char *text, size_t len)
{
	struct deep_job job = {text, len, 1};
	pthread_attr_t attr;
	pthread_t t;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, WORKER_STACK);
	if (pthread_create(&t, &attr, parse_on_thread, &job) != 0)
		return 1;
	pthread_join(t, NULL);
	pthread_attr_destroy(&attr);
	return job.ret;
}

static void test_json_refuses_1000_deep_nesting_on_a_worker_stack(void)
{
	static const char *const shapes[] = {"[", "{\"a\":", "[{\"a\":"};
	size_t cap = 200000 * 8;
	char *s = malloc(cap);

	for (size_t k = 0; k < sizeof(shapes) / sizeof(shapes[0]); k++) {
		size_t n = 0, open = strlen(shapes[k]);
		/* opening brackets only (a truncated document) and a complete one */
		while (n + open < 100000) {
			memcpy(s + n, shapes[k], open);
			n += open;
		}
		CHECK_EQ_INT(parse_on_worker_stack(s, n), CF_EMALFORMED);
	}
	memcpy(s, "{\"protected\":", 13);
	size_t n = 13;
	for (int i = 0; i < 1000; i++)
		s[n++] = '[';
	for (int i = 0; i < 1000; i++)
		s[n++] = ']';
	s[n++] = '}';
	CHECK_EQ_INT(parse_on_worker_stack(s, n), CF_EMALFORMED);
	/* the deepest document allowed parses on that stack too */
	char *ok = nested_arrays(CF_JSON_MAX_DEPTH);
	CHECK_EQ_INT(parse_on_worker_stack(ok, strlen(ok)), 0);
	free(ok);
	free(s);
}

static void test_json_refuses_what_rfc_8259_does_not_allow(void)
{
	static const char *const bad[] = {
	    "1.",	 ".5",	     "01",	"-01",	       "+1",	    "-",	"1e",
	    "1e+",	 "1.e3",     "0x5",	"NaN",	       "Infinity",  "\"a\tb\"", "\"a\nb\"",
	    "\"a\rb\"",	 "\"\x1f\"", "\"\\x\"", "\"\\u12G4\"", "\"\\u12\"", "\"\\\"",	"'a'",
	    "[1,]",	 "[,1]",     "[1 2]",	"{\"a\":1,}",  "{\"a\" 1}", "{1:2}",	"{\"a\"}",
	    "{,}",	 "tru",	     "nul",	"True",	       "[1]]",	    "[[1]",	"{\"a\":1]",
	    "[\"a\":1]", "\"abc",
	};
	cf_json *doc = NULL;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int ret = parse(bad[i], &doc);
		if (ret != CF_EMALFORMED)
			fprintf(stderr, "accepted: %s\n", bad[i]);
		CHECK_EQ_INT(ret, CF_EMALFORMED);
		CHECK(doc == NULL);
	}
}

static void test_json_accepts_every_form_rfc_8259_allows(void)
{
	static const char *const good[] = {
	    "0",
	    "-0",
	    "1.5e-3",
	    "1E+2",
	    "12e7",
	    "-3.25",
	    "[]",
	    "{}",
	    " [ { } , [ ] ] ",
	    "\"\\u00e9\\n\\/\\\\\\\"\\b\\f\\r\\t\"",
	    "true",
	    "false",
	    "null",
	    "{\"a\":[1,{\"b\":null}],\"c\":\"\"}",
	    "\"\\ud83d\\udd12\"",
	};
	cf_json *doc = NULL;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		int ret = parse(good[i], &doc);
		if (ret != 0)
			fprintf(stderr, "refused: %s\n", good[i]);
		CHECK_EQ_INT(ret, 0);
		cf_json_free(doc);
		doc = NULL;
	}
}

int main(void)
{
	RUN(test_json_parses_document_and_reads_members);
	RUN(test_json_readers_reject_missing_and_wrong_types);
	RUN(test_json_member_lookup_is_case_sensitive);
	RUN(test_json_accepts_depth_16_rejects_depth_17);
	RUN(test_json_rejects_duplicate_keys_at_any_level);
	RUN(test_json_rejects_trailing_garbage);
	RUN(test_json_rejects_over_long_strings);
	RUN(test_json_rejects_nul_bytes_and_nul_escapes);
	RUN(test_json_rejects_invalid_utf8);
	RUN(test_json_builds_and_prints_compact_text);
	RUN(test_json_refuses_1000_deep_nesting_on_a_worker_stack);
	RUN(test_json_refuses_what_rfc_8259_does_not_allow);
	RUN(test_json_accepts_every_form_rfc_8259_allows);
	return check_done();
}
