/* test_cf_envelope — the envelope of spec/protocol.md §16: the test vector byte for byte,
 * opening from inside an e-mail, wrong passphrases, tampering and malformed envelopes. */
#include "check.h"

#include <stdint.h>

#include "cf_b64.h"
#include "cf_crypto.h"
#include "cf_envelope.h"
#include "cf_err.h"

static const char *data_dir = ".";

/* The inputs of the spec's test vector (§16.2) */
static const char vec_passphrase[] = "Correct-Horse-9-Battery";
static const char vec_plaintext[] =
    "{\"reference\":\"123456789012\",\"activationCode\":\"7K3M-Q9TX-2HBD-W4NP-C8RZ\","
    "\"emergencyCode\":\"M5VA-J6KE-R2QW-8TYF\",\"envelopeNumber\":1}";
#define VEC_ITER 10000
#define VEC_NUMBER 1
/* its header JSON, as the armour holds it */
static const char vec_header[] =
    "{\"v\":1,\"kdf\":\"PBKDF2-HMAC-SHA256\",\"iter\":10000,\"salt\":\"AAECAwQFBgcICQoLDA0ODw\","
    "\"enc\":\"A256GCM\",\"number\":1,\"nonce\":\"oKGio6Slpqeoqaqr\",\"ct\":\"8sUDeDoBQG4bmGhXw_"
    "lLhRCbBdDxaoh5nyUPAd0WLuvylOrOmBCxxZUTI7XUkCH7oabWAWTxrnrqtgK4JPB4_MVuSlvmph3qWhUaqSQZy_t-"
    "uld-dseQQ7S04IEy6Oa9vDA-xaC1YLS2bjhgOZJ79bQ_LkTbuvHC_3qibxioFMav\",\"tag\":"
    "\"iabg01761GL5XDwoBHcWRg\"}";

static void vec_salt_nonce(uint8_t salt[16], uint8_t nonce[12])
{
	for (int i = 0; i < 16; i++)
		salt[i] = (uint8_t)i;
	for (int i = 0; i < 12; i++)
		nonce[i] = (uint8_t)(0xa0 + i);
}

/* The armour of a header JSON text (malloc'd). */
static char *armour(const char *header)
{
	return cf_pem_encode("CERTFLOW ENVELOPE", (const uint8_t *)header, strlen(header));
}

/* vec_header with the first occurrence of from replaced by to (malloc'd). */
static char *header_with(const char *from, const char *to)
{
	const char *at = strstr(vec_header, from);
	char *s = calloc(1, sizeof(vec_header) + strlen(to) + 1);

	CHECK(at != NULL);
	if (!at || !s)
		return s;
	memcpy(s, vec_header, (size_t)(at - vec_header));
	strcat(s, to);
	strcat(s, at + strlen(from));
	return s;
}

/* Result of opening text with passphrase; checks that nothing is returned on failure. */
static int open_text(const char *text, const char *passphrase)
{
	char *pt = NULL;
	uint32_t number = 77;
	int ret = cf_envelope_open(text, strlen(text), passphrase, &pt, &number);

	if (ret != 0)
		CHECK(pt == NULL && number == 77);
	cf_free_secret(pt);
	return ret;
}

/* Open the vector's header after change from → to. */
static int open_changed(const char *from, const char *to)
{
	char *h = header_with(from, to), *a = h ? armour(h) : NULL;
	int ret = a ? open_text(a, vec_passphrase) : CF_ENOMEM;

	free(a);
	free(h);
	return ret;
}

static void test_seal_reproduces_the_spec_vector(void)
{
	char *want = check_data(data_dir, "envelope_v1_vector.txt"), *got = NULL, *arm;
	uint8_t salt[16], nonce[12], key[32];

	vec_salt_nonce(salt, nonce);
	CHECK_EQ_INT(cf_envelope_key(vec_passphrase, salt, VEC_ITER, key), 0);
	CHECK_EQ_INT(
	    cf_envelope_seal_nonce(key, salt, VEC_ITER, VEC_NUMBER, nonce, vec_plaintext, &got), 0);
	if (got)
		got[strlen(got) - 1] = '\0'; /* the data file has no final newline */
	CHECK_EQ_STR(got, want);
	/* and the header inside is the one this test tampers with */
	arm = armour(vec_header);
	if (arm)
		arm[strlen(arm) - 1] = '\0';
	CHECK_EQ_STR(arm, want);
	free(arm);
	free(got);
	free(want);
}

static void test_open_finds_the_envelope_inside_an_email(void)
{
	char *vec = check_data(data_dir, "envelope_v1_vector.txt"), *mail, *pt = NULL;
	uint32_t number = 0;
	size_t n = 0;

	/* headers and text before and after, CRLF line ends, a trailing space on a line */
	mail = calloc(1, 2 * strlen(vec) + 512);
	n += (size_t)sprintf(mail, "Subject: certflow: your envelope\r\n\r\nDear Alice,\r\n\r\n");
	for (const char *p = vec; *p; p++) {
		if (*p == '\n')
			mail[n++] = ' ', mail[n++] = '\r';
		mail[n++] = *p;
	}
	n += (size_t)sprintf(mail + n, "\r\n\r\nKeep it safe. -----BEGIN nothing\r\n");
	CHECK_EQ_INT(cf_envelope_open(mail, n, vec_passphrase, &pt, &number), 0);
	CHECK_EQ_STR(pt, vec_plaintext);
	CHECK_EQ_INT(number, VEC_NUMBER);
	cf_free_secret(pt);
	free(mail);
	free(vec);
}

static void test_wrong_passphrase_is_bad_passphrase(void)
{
	char *vec = check_data(data_dir, "envelope_v1_vector.txt");

	CHECK_EQ_INT(open_text(vec, "Correct-Horse-9-Batterz"), CF_EBADPASSPHRASE);
	CHECK_EQ_INT(open_text(vec, ""), CF_EBADPASSPHRASE);
	CHECK_EQ_INT(open_text(vec, vec_passphrase), 0);
	free(vec);
}

static void test_tampered_envelope_is_bad_passphrase(void)
{
	/* the number is authenticated (aad), and so are ciphertext, nonce and tag */
	CHECK_EQ_INT(open_changed("\"number\":1", "\"number\":2"), CF_EBADPASSPHRASE);
	CHECK_EQ_INT(open_changed("8sUDeDoB", "8sUDeDoC"), CF_EBADPASSPHRASE);
	CHECK_EQ_INT(open_changed("oKGio6Sl", "oKGio6Sm"), CF_EBADPASSPHRASE);
	CHECK_EQ_INT(open_changed("iabg0176", "iabg0177"), CF_EBADPASSPHRASE);
	/* another salt or iteration count derives another key */
	CHECK_EQ_INT(open_changed("AAECAwQF", "AAECAwQG"), CF_EBADPASSPHRASE);
	CHECK_EQ_INT(open_changed("\"iter\":10000", "\"iter\":10001"), CF_EBADPASSPHRASE);
	/* a shortened ciphertext */
	CHECK_EQ_INT(open_changed("FMav\"", "\""), CF_EBADPASSPHRASE);
	/* unknown members are ignored */
	CHECK_EQ_INT(open_changed("\"v\":1,", "\"v\":1,\"note\":\"x\","), 0);
}

static void test_malformed_envelopes_are_malformed(void)
{
	char *vec = check_data(data_dir, "envelope_v1_vector.txt"), *cut;

	CHECK_EQ_INT(open_text("Dear Alice, no envelope here.", vec_passphrase), CF_EMALFORMED);
	cut = strdup(vec);
	cut[strlen(cut) - 5] = '\0'; /* no END line */
	CHECK_EQ_INT(open_text(cut, vec_passphrase), CF_EMALFORMED);
	strcpy(cut, vec);
	cut[40] = '*'; /* not base64 */
	CHECK_EQ_INT(open_text(cut, vec_passphrase), CF_EMALFORMED);
	free(cut);
	CHECK_EQ_INT(open_changed("\"v\":1", "\"v\":2"), CF_EMALFORMED);
	CHECK_EQ_INT(open_changed("PBKDF2-HMAC-SHA256", "PBKDF2-HMAC-SHA1"), CF_EMALFORMED);
	CHECK_EQ_INT(open_changed("A256GCM", "A128GCM"), CF_EMALFORMED);
	CHECK_EQ_INT(open_changed("\"iter\":10000", "\"iter\":999"), CF_EMALFORMED);
	CHECK_EQ_INT(open_changed("\"iter\":10000", "\"iter\":10000001"), CF_EMALFORMED);
	CHECK_EQ_INT(open_changed("\"iter\":10000", "\"iter\":\"10000\""), CF_EMALFORMED);
	CHECK_EQ_INT(open_changed("\"number\":1", "\"number\":-1"), CF_EMALFORMED);
	CHECK_EQ_INT(open_changed("\"number\":1", "\"number\":4294967296"), CF_EMALFORMED);
	CHECK_EQ_INT(open_changed("AAECAwQFBgcICQoLDA0ODw", "AAECAwQFBgcICQoLDA0O"), CF_EMALFORMED);
	CHECK_EQ_INT(open_changed("oKGio6Slpqeoqaqr", "oKGio6Slpqeoqaqrqg"), CF_EMALFORMED);
	CHECK_EQ_INT(open_changed("iabg01761GL5XDwoBHcWRg", "iabg01761GL5XDwoBHcW"), CF_EMALFORMED);
	CHECK_EQ_INT(open_changed("\"ct\":", "\"cx\":"), CF_EMALFORMED);
	CHECK_EQ_INT(open_changed("{", "["), CF_EMALFORMED);
	free(vec);
}

static void test_oversized_envelopes_are_refused_before_any_work(void)
{
	char *big = malloc(64 * 1024), *arm = NULL;
	uint8_t key[32] = {0}, salt[16] = {0};
	size_t n;

	/* armour far longer than the largest envelope */
	n = (size_t)sprintf(big, "-----BEGIN CERTFLOW ENVELOPE-----\n");
	memset(big + n, 'A', 40000);
	n += 40000;
	n += (size_t)sprintf(big + n, "\n-----END CERTFLOW ENVELOPE-----\n");
	CHECK_EQ_INT(open_text(big, vec_passphrase), CF_EMALFORMED);
	/* a plaintext over CF_ENVELOPE_PLAIN_MAX is not sealed */
	memset(big, 'x', CF_ENVELOPE_PLAIN_MAX + 1);
	big[CF_ENVELOPE_PLAIN_MAX + 1] = '\0';
	CHECK_EQ_INT(cf_envelope_seal(key, salt, VEC_ITER, 1, big, &arm), CF_EUSAGE);
	big[CF_ENVELOPE_PLAIN_MAX] = '\0';
	CHECK_EQ_INT(cf_envelope_seal(key, salt, VEC_ITER, 1, big, &arm), 0);
	free(arm);
	/* iteration bounds on the sealing side too */
	CHECK_EQ_INT(cf_envelope_seal(key, salt, 999, 1, "{}", &arm), CF_EUSAGE);
	CHECK_EQ_INT(cf_envelope_key("x", salt, CF_ENVELOPE_ITER_MAX + 1, key), CF_EUSAGE);
	free(big);
}

static void test_seal_open_round_trip_uses_a_fresh_nonce(void)
{
	uint8_t key[32], salt[16];
	char *a = NULL, *b = NULL, *pt = NULL;
	uint32_t number = 0;

	CHECK_EQ_INT(cf_random(salt, sizeof(salt)), 0);
	CHECK_EQ_INT(cf_envelope_key("Another-Pass-1", salt, 1000, key), 0);
	CHECK_EQ_INT(cf_envelope_seal(key, salt, 1000, 4294967295u, "{\"pin\":\"1234\"}", &a), 0);
	CHECK_EQ_INT(cf_envelope_seal(key, salt, 1000, 4294967295u, "{\"pin\":\"1234\"}", &b), 0);
	CHECK(a && b && strcmp(a, b) != 0);
	if (a)
		CHECK_EQ_INT(cf_envelope_open(a, strlen(a), "Another-Pass-1", &pt, &number), 0);
	CHECK_EQ_STR(pt, "{\"pin\":\"1234\"}");
	CHECK_EQ_INT(number, 4294967295u);
	cf_free_secret(pt);
	free(a);
	free(b);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		data_dir = argv[1];
	RUN(test_seal_reproduces_the_spec_vector);
	RUN(test_open_finds_the_envelope_inside_an_email);
	RUN(test_wrong_passphrase_is_bad_passphrase);
	RUN(test_tampered_envelope_is_bad_passphrase);
	RUN(test_malformed_envelopes_are_malformed);
	RUN(test_oversized_envelopes_are_refused_before_any_work);
	RUN(test_seal_open_round_trip_uses_a_fresh_nonce);
	return check_done();
}
