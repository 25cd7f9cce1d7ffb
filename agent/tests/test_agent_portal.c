/*
 * test_agent_portal — the holder's side of remote credentials (agent/portal.c): the session file
 * (0600, round trip, expiry), the session of a login answer, the CSC base64 and the signature
 * algorithm and file names of `sign`.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "cf_clock.h"
#include "cf_err.h"
#include "check.h"
#include "cf_b64.h"
#include "portal.h"

#define TOKEN "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ-_01234"

static char tmpdir[PATH_MAX];

static const char *path_of(const char *name)
{
	static char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	return path;
}

static const char *file_with(const char *name, const char *text)
{
	const char *path = path_of(name);
	FILE *f = fopen(path, "w");

	if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
	return path;
}

static cf_json *parse(const char *text)
{
	cf_json *doc = NULL;

	if (cf_json_parse(text, strlen(text), &doc) != 0) {
		fprintf(stderr, "bad test JSON: %s\n", text);
		exit(1);
	}
	return doc;
}

static void test_session_file_round_trip_is_private(void)
{
	struct portal_session s = {0}, back;
	struct stat st;
	const char *path = path_of("session.json");

	snprintf(s.server, sizeof(s.server), "https://127.0.0.1:8443");
	snprintf(s.ca, sizeof(s.ca), "/etc/certflow/ca.pem");
	snprintf(s.token, sizeof(s.token), "%s", TOKEN);
	snprintf(s.user_id, sizeof(s.user_id), "0123456789");
	s.expires_at = cf_now() + 1800;
	CHECK_EQ_INT(portal_session_save(path, &s), 0);
	CHECK_EQ_INT(stat(path, &st), 0);
	CHECK_EQ_INT(st.st_mode & 0777, 0600);
	CHECK_EQ_INT(portal_session_load(path, &back), 0);
	CHECK_EQ_STR(back.server, s.server);
	CHECK_EQ_STR(back.ca, s.ca);
	CHECK_EQ_STR(back.token, TOKEN);
	CHECK_EQ_STR(back.user_id, "0123456789");
	CHECK_EQ_INT(back.expires_at, s.expires_at);
}

static void test_session_without_ca_loads_with_empty_ca(void)
{
	struct portal_session s;
	char text[256];

	snprintf(
	    text, sizeof(text),
	    "{\"server\":\"https://h:1\",\"token\":\"%s\",\"expiresAt\":\"2099-01-01T00:00:00Z\","
	    "\"userId\":\"42\"}",
	    TOKEN);
	CHECK_EQ_INT(portal_session_load(file_with("noca.json", text), &s), 0);
	CHECK_EQ_STR(s.ca, "");
	CHECK_EQ_STR(s.server, "https://h:1");
}

static void test_expired_missing_or_damaged_session_is_refused(void)
{
	struct portal_session s;
	char text[256];

	snprintf(
	    text, sizeof(text),
	    "{\"server\":\"https://h:1\",\"token\":\"%s\",\"expiresAt\":\"2001-01-01T00:00:00Z\","
	    "\"userId\":\"42\"}",
	    TOKEN);
	CHECK_EQ_INT(portal_session_load(file_with("old.json", text), &s), CF_ESESSION);
	CHECK_EQ_INT(s.token[0], 0); /* nothing left behind */
	CHECK_EQ_INT(portal_session_load(path_of("none.json"), &s), CF_ENOTFOUND);
	CHECK_EQ_INT(portal_session_load(file_with("bad.json", "{\"server\":1}"), &s),
		     CF_EMALFORMED);
	CHECK_EQ_INT(portal_session_load(file_with("text.json", "token=x\n"), &s), CF_EMALFORMED);
	/* a token with a character that could end the Authorization header */
	CHECK_EQ_INT(
	    portal_session_load(file_with("crlf.json",
					  "{\"server\":\"https://h:1\",\"token\":\"a\\r\\nX: y\","
					  "\"expiresAt\":\"2099-01-01T00:00:00Z\"}"),
				&s),
	    CF_EMALFORMED);
}

static void test_login_answer_gives_session_with_given_user_id(void)
{
	struct portal_session s;
	char text[256];
	cf_json *resp;

	snprintf(text, sizeof(text),
		 "{\"token\":\"%s\",\"expiresAt\":\"2099-01-01T00:30:00Z\",\"mustChangePassword\":"
		 "true,\"notices\":[]}",
		 TOKEN);
	resp = parse(text);
	CHECK_EQ_INT(portal_session_from(resp, "https://h:1", "/ca.pem", "7777", &s), 0);
	CHECK_EQ_STR(s.token, TOKEN);
	CHECK_EQ_STR(s.user_id, "7777");
	CHECK_EQ_STR(s.ca, "/ca.pem");
	cf_json_free(resp);
	resp = parse("{\"expiresAt\":\"2099-01-01T00:30:00Z\"}");
	CHECK_EQ_INT(portal_session_from(resp, "https://h:1", NULL, NULL, &s), CF_EPROTO);
	cf_json_free(resp);
}

static void test_csc_base64_is_standard_and_padded(void)
{
	const uint8_t in[] = {0xfb, 0xff, 0xbf, 0x00, 0x01};
	uint8_t out[16];
	size_t len = 0;
	char *b = cf_b64_encode_alloc(in, sizeof(in));

	CHECK_EQ_STR(b, "+/+/AAE=");
	CHECK_EQ_INT(portal_b64_decode(b, out, sizeof(out), &len), 0);
	CHECK_EQ_INT(len, sizeof(in));
	CHECK(memcmp(out, in, sizeof(in)) == 0);
	free(b);
	b = cf_b64_encode_alloc(in, 3);
	CHECK_EQ_STR(b, "+/+/");
	free(b);
	CHECK_EQ_INT(portal_b64_decode("-_-_AAE", out, sizeof(out), &len), 0); /* url-safe too */
	CHECK_EQ_INT(len, 5);
	CHECK_EQ_INT(portal_b64_decode("AA=A", out, sizeof(out), &len), CF_EMALFORMED);
	CHECK_EQ_INT(portal_b64_decode("AAE==", out, sizeof(out), &len), CF_EMALFORMED);
	CHECK(portal_b64_decode("AAAAAAAA", out, 2, &len) != 0); /* too long for out */
}

static void test_sign_algorithm_follows_key_and_hash(void)
{
	const char *h = NULL, *s = NULL;
	cf_json *ec = parse("{\"key\":{\"algo\":[\"1.2.840.10045.2.1\"],\"curve\":\"x\"}}");
	cf_json *rsa = parse("{\"key\":{\"algo\":[\"1.2.840.113549.1.1.11\"]}}");
	cf_json *none = parse("{\"key\":{\"algo\":[\"1.3.101.112\"]}}");

	CHECK_EQ_INT(portal_sign_oids(ec, 32, &h, &s), 0);
	CHECK_EQ_STR(h, "2.16.840.1.101.3.4.2.1");
	CHECK_EQ_STR(s, "1.2.840.10045.4.3.2");
	CHECK_EQ_INT(portal_sign_oids(ec, 64, &h, &s), 0);
	CHECK_EQ_STR(h, "2.16.840.1.101.3.4.2.3");
	CHECK_EQ_STR(s, "1.2.840.10045.4.3.4");
	CHECK_EQ_INT(portal_sign_oids(rsa, 48, &h, &s), 0);
	CHECK_EQ_STR(h, "2.16.840.1.101.3.4.2.2");
	CHECK_EQ_STR(s, "1.2.840.113549.1.1.12");
	CHECK_EQ_INT(portal_sign_oids(none, 32, &h, &s), CF_EPROTO);
	CHECK_EQ_INT(portal_sign_oids(ec, 20, &h, &s), CF_EUSAGE);
	cf_json_free(ec);
	cf_json_free(rsa);
	cf_json_free(none);
}

static void test_signature_file_is_named_after_the_input(void)
{
	char out[64];

	CHECK_EQ_INT(portal_sig_path("out", "/a/b/contract.pdf", out, sizeof(out)), 0);
	CHECK_EQ_STR(out, "out/contract.pdf.sig");
	CHECK_EQ_INT(portal_sig_path("out", "x", out, sizeof(out)), 0);
	CHECK_EQ_STR(out, "out/x.sig");
	CHECK_EQ_INT(portal_sig_path("out", "/a/b/", out, sizeof(out)), CF_EUSAGE);
	CHECK_EQ_INT(portal_sig_path("out", "..", out, sizeof(out)), CF_EUSAGE);
	CHECK_EQ_INT(portal_sig_path("out", "a-name-far-too-long-for-the-buffer-of-the-caller-here",
				     out, 20),
		     CF_EUSAGE);
}

static void test_digest_of_file_matches_known_values(void)
{
	uint8_t d[64];
	const char *path = file_with("abc.txt", "abc");
	static const uint8_t sha256_abc[4] = {0xba, 0x78, 0x16, 0xbf};
	static const uint8_t sha384_abc[4] = {0xcb, 0x00, 0x75, 0x3f};
	static const uint8_t sha512_abc[4] = {0xdd, 0xaf, 0x35, 0xa1};

	CHECK_EQ_INT(cf_digest_file(path, 32, d), 0);
	CHECK(memcmp(d, sha256_abc, 4) == 0);
	CHECK_EQ_INT(cf_digest_file(path, 48, d), 0);
	CHECK(memcmp(d, sha384_abc, 4) == 0);
	CHECK_EQ_INT(cf_digest_file(path, 64, d), 0);
	CHECK(memcmp(d, sha512_abc, 4) == 0);
	CHECK_EQ_INT(cf_digest_file(path, 20, d), CF_EUSAGE);
	CHECK_EQ_INT(cf_digest_file(path_of("missing"), 32, d), CF_ENOTFOUND);
}

int main(void)
{
	const char *base = getenv("CERTFLOW_TEST_TMP");

	snprintf(tmpdir, sizeof(tmpdir), "%s/agent-portal-XXXXXX", base ? base : "/tmp");
	if (base)
		(void)mkdir(base, 0700);
	if (!mkdtemp(tmpdir)) {
		perror(tmpdir);
		return 2;
	}
	RUN(test_session_file_round_trip_is_private);
	RUN(test_session_without_ca_loads_with_empty_ca);
	RUN(test_expired_missing_or_damaged_session_is_refused);
	RUN(test_login_answer_gives_session_with_given_user_id);
	RUN(test_csc_base64_is_standard_and_padded);
	RUN(test_sign_algorithm_follows_key_and_hash);
	RUN(test_signature_file_is_named_after_the_input);
	RUN(test_digest_of_file_matches_known_values);
	return check_done();
}
