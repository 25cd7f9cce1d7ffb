/*
 * test_agent_journey — what the journeys' commands send (agent/journey.c): secrets read from
 * files as lines, and the apply and recovery payloads as the server will parse them.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "cf_crypto.h"
#include "cf_err.h"
#include "check.h"

static char tmpdir[PATH_MAX];

/* A file of tmpdir with text; its path in a static buffer. */
static const char *file_with(const char *name, const char *text)
{
	static char path[PATH_MAX + 64];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
	return path;
}

static int read_lines(const char *text, int nlines, int trim, struct agent_secret *s)
{
	return agent_secret_read(file_with("secret", text), "test", nlines, trim, s);
}

static void test_answers_file_gives_three_trimmed_lines(void)
{
	struct agent_secret s;

	CHECK_EQ_INT(read_lines("  Rex \r\nMontreal\n\tBlue\n\n\n", 3, 1, &s), 0);
	CHECK_EQ_INT(s.n, 3);
	CHECK_EQ_STR(s.line[0], "Rex");
	CHECK_EQ_STR(s.line[1], "Montreal");
	CHECK_EQ_STR(s.line[2], "Blue");
	CHECK_EQ_INT(read_lines("a\nb\nc", 3, 1, &s), 0); /* no newline at the end */
	CHECK_EQ_STR(s.line[2], "c");
}

static void test_answers_file_with_missing_empty_or_extra_line_is_refused(void)
{
	struct agent_secret s;

	CHECK_EQ_INT(read_lines("a\nb\n", 3, 1, &s), CF_EMALFORMED);
	CHECK_EQ_INT(read_lines("a\n \nc\n", 3, 1, &s), CF_EMALFORMED);
	CHECK_EQ_INT(read_lines("a\nb\nc\nd\n", 3, 1, &s), CF_EMALFORMED);
	CHECK_EQ_INT(read_lines("", 1, 1, &s), CF_EMALFORMED);
	/* a failed read leaves nothing behind */
	CHECK_EQ_INT(s.buf[0], 0);
	CHECK(s.line[0] == NULL);
}

static void test_passphrase_keeps_its_blanks_but_not_the_line_end(void)
{
	struct agent_secret s;

	CHECK_EQ_INT(read_lines(" Pass word1! \r\n", 1, 0, &s), 0);
	CHECK_EQ_STR(s.line[0], " Pass word1! ");
}

static void test_secret_file_missing_or_too_long_is_refused(void)
{
	struct agent_secret s;
	char path[PATH_MAX + 16], *big = malloc(sizeof(s.buf) + 10);

	snprintf(path, sizeof(path), "%s/none", tmpdir);
	CHECK_EQ_INT(agent_secret_read(path, "test", 1, 1, &s), CF_ENOTFOUND);
	memset(big, 'x', sizeof(s.buf) + 9);
	big[sizeof(s.buf) + 9] = '\0';
	CHECK_EQ_INT(read_lines(big, 1, 1, &s), CF_ETOOLARGE);
	free(big);
}

static const char form_text[] =
    "{\"profile\":\"signing\",\"givenName\":\"Ana \\\"Q\\\"\",\"surname\":\"Rivi\\u00e8re\","
    "\"uniqueId\":\"ar-1\",\"email\":\"ana@example.org\",\"altEmail\":\"ana@home.example\","
    "\"mobile\":\"+15145550100\",\"questions\":[{\"question\":\"Pet?\",\"answer\":\"Rex\"},"
    "{\"question\":\"City?\",\"answer\":\"back\\\\slash\"},{\"question\":\"Colour?\","
    "\"answer\":\"tab\\there\"}],\"consents\":[\"terms\",\"privacy\"],\"comment\":\"ignored\"}";

static void test_apply_payload_carries_the_form_and_the_passphrase_as_json(void)
{
	cf_json *form = NULL, *p = NULL;
	const cf_json *q;
	const char *v = NULL, *bad = NULL;
	char *out = NULL;

	CHECK_EQ_INT(cf_json_parse(form_text, strlen(form_text), &form), 0);
	CHECK_EQ_INT(agent_apply_payload(form, "Pa\"ss\\word1!", &out, &bad), 0);
	CHECK(out && cf_json_parse(out, strlen(out), &p) == 0);
	CHECK(cf_json_get_str(p, "givenName", 100, &v) == 0 && strcmp(v, "Ana \"Q\"") == 0);
	CHECK(cf_json_get_str(p, "surname", 100, &v) == 0 && strcmp(v, "Rivi\xc3\xa8re") == 0);
	CHECK(cf_json_get_str(p, "mobile", 100, &v) == 0 && strcmp(v, "+15145550100") == 0);
	CHECK(cf_json_get_str(p, "envelopePassphrase", 100, &v) == 0 &&
	      strcmp(v, "Pa\"ss\\word1!") == 0);
	CHECK_EQ_INT(cf_json_array_size(cf_json_get(p, "questions")), 3);
	q = cf_json_array_item(cf_json_get(p, "questions"), 2);
	CHECK(cf_json_get_str(q, "answer", 100, &v) == 0 && strcmp(v, "tab\there") == 0);
	q = cf_json_array_item(cf_json_get(p, "questions"), 1);
	CHECK(cf_json_get_str(q, "answer", 100, &v) == 0 && strcmp(v, "back\\slash") == 0);
	CHECK_EQ_INT(cf_json_array_size(cf_json_get(p, "consents")), 2);
	CHECK(cf_json_get(p, "comment") == NULL); /* only the members of the protocol */
	cf_json_free(p);
	cf_json_free(form);
	cf_free_secret(out);
}

static void test_apply_payload_names_the_missing_member(void)
{
	static const char text[] = "{\"profile\":\"signing\",\"givenName\":\"Ana\"}";
	cf_json *form = NULL;
	const char *bad = NULL;
	char *out = NULL;

	CHECK_EQ_INT(cf_json_parse(text, strlen(text), &form), 0);
	CHECK_EQ_INT(agent_apply_payload(form, "Passw0rd!", &out, &bad), CF_EMALFORMED);
	CHECK(out == NULL);
	CHECK(bad && strstr(bad, "\"surname\""));
	cf_json_free(form);
}

static void test_recover_and_small_payloads_hold_exactly_what_is_given(void)
{
	struct agent_secret ans;
	cf_json *p = NULL;
	const char *v = NULL;
	char *out;

	CHECK_EQ_INT(read_lines("one\ntwo\nthree\n", 3, 1, &ans), 0);
	out = agent_recover_payload("tok_EN-1", &ans, "123456", NULL, "Passw0rd!");
	CHECK(out && cf_json_parse(out, strlen(out), &p) == 0);
	CHECK(cf_json_get_str(p, "token", 100, &v) == 0 && strcmp(v, "tok_EN-1") == 0);
	CHECK(cf_json_get_str(p, "otp", 100, &v) == 0 && strcmp(v, "123456") == 0);
	CHECK(cf_json_get(p, "credential") == NULL);
	CHECK_EQ_INT(cf_json_array_size(cf_json_get(p, "answers")), 3);
	CHECK(cf_json_str(cf_json_array_item(cf_json_get(p, "answers"), 2), 10, &v) == 0 &&
	      strcmp(v, "three") == 0);
	cf_json_free(p);
	cf_free_secret(out);
	out = agent_recover_payload("t", NULL, NULL, "cred-1", NULL);
	CHECK_EQ_STR(out, "{\"token\":\"t\",\"credential\":\"cred-1\"}");
	cf_free_secret(out);
	out = agent_renew_payload("123456789012", &ans);
	CHECK_EQ_STR(out, "{\"reference\":\"123456789012\",\"answers\":[\"one\",\"two\","
			  "\"three\"]}");
	cf_free_secret(out);
	out = agent_pair_payload("code", "12\"3\n", NULL, NULL);
	CHECK_EQ_STR(out, "{\"code\":\"12\\\"3\\u000a\"}");
	cf_free_secret(out);
	cf_zeroize(&ans, sizeof(ans));
}

static void test_reference_digits_accepts_dashes_only(void)
{
	char ref[13];

	CHECK_EQ_INT(agent_reference_digits("1234-5678-9012", ref), 0);
	CHECK_EQ_STR(ref, "123456789012");
	CHECK_EQ_INT(agent_reference_digits("1234-5678-901", ref), CF_EUSAGE);
	CHECK_EQ_INT(agent_reference_digits("1234-5678-901x", ref), CF_EUSAGE);
}

int main(void)
{
	const char *base = getenv("CERTFLOW_TEST_TMP");
	char cmd[PATH_MAX + 16];

	if (!base || (mkdir(base, 0700) != 0 && access(base, W_OK) != 0))
		base = "/tmp";
	snprintf(tmpdir, sizeof(tmpdir), "%s/agent-journey-XXXXXX", base);
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(test_answers_file_gives_three_trimmed_lines);
	RUN(test_answers_file_with_missing_empty_or_extra_line_is_refused);
	RUN(test_passphrase_keeps_its_blanks_but_not_the_line_end);
	RUN(test_secret_file_missing_or_too_long_is_refused);
	RUN(test_apply_payload_carries_the_form_and_the_passphrase_as_json);
	RUN(test_apply_payload_names_the_missing_member);
	RUN(test_recover_and_small_payloads_hold_exactly_what_is_given);
	RUN(test_reference_digits_accepts_dashes_only);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
	return check_done();
}
