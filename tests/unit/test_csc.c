/* test_csc — the algorithm rules and wire forms of the CSC API subset (spec/protocol.md §25.2):
 * hash OIDs, which signAlgo fits which key, the digest a SAD is bound to (order and algorithm
 * matter), and strict standard base64. */
#include "check.h"
#include "cf_crypto.h"
#include "cf_b64.h"
#include "cf_err.h"
#include "core.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ECDSA_SHA256 "1.2.840.10045.4.3.2"
#define ECDSA_SHA384 "1.2.840.10045.4.3.3"
#define RSA_SHA256 "1.2.840.113549.1.1.11"
#define RSA_SHA512 "1.2.840.113549.1.1.13"
#define RSA_ENCRYPTION "1.2.840.113549.1.1.1"
#define EC_PUBLIC_KEY "1.2.840.10045.2.1"

static void test_hash_oids_give_digest_lengths(void)
{
	CHECK_EQ_INT(core_csc_hash_len(CORE_OID_SHA256), 32);
	CHECK_EQ_INT(core_csc_hash_len(CORE_OID_SHA384), 48);
	CHECK_EQ_INT(core_csc_hash_len(CORE_OID_SHA512), 64);
	CHECK_EQ_INT(core_csc_hash_len("1.3.14.3.2.26"), 0); /* SHA-1 is not offered */
	CHECK_EQ_INT(core_csc_hash_len("2.16.840.1.101.3.4.2.1.0"), 0);
	CHECK_EQ_INT(core_csc_hash_len(NULL), 0);
}

static void test_sign_algo_names_its_hash(void)
{
	CHECK_EQ_STR(core_csc_sign_algo_hash(ECDSA_SHA256), CORE_OID_SHA256);
	CHECK_EQ_STR(core_csc_sign_algo_hash(ECDSA_SHA384), CORE_OID_SHA384);
	CHECK_EQ_STR(core_csc_sign_algo_hash(RSA_SHA512), CORE_OID_SHA512);
	CHECK(core_csc_sign_algo_hash(RSA_ENCRYPTION) == NULL);
	CHECK(core_csc_sign_algo_hash(EC_PUBLIC_KEY) == NULL);
	CHECK(core_csc_sign_algo_hash("1.2.3") == NULL);
}

static void test_sign_algo_must_fit_key_and_hash(void)
{
	CHECK_EQ_INT(core_csc_sign_algo_check(CF_KEY_P256, ECDSA_SHA256, CORE_OID_SHA256), 0);
	CHECK_EQ_INT(core_csc_sign_algo_check(CF_KEY_P384, ECDSA_SHA384, CORE_OID_SHA384), 0);
	CHECK_EQ_INT(core_csc_sign_algo_check(CF_KEY_P256, EC_PUBLIC_KEY, CORE_OID_SHA512), 0);
	CHECK_EQ_INT(core_csc_sign_algo_check(CF_KEY_RSA, RSA_SHA256, CORE_OID_SHA256), 0);
	CHECK_EQ_INT(core_csc_sign_algo_check(CF_KEY_RSA, RSA_ENCRYPTION, CORE_OID_SHA384), 0);
	/* hash of the algorithm and of the request disagree */
	CHECK_EQ_INT(core_csc_sign_algo_check(CF_KEY_P256, ECDSA_SHA384, CORE_OID_SHA256),
		     CF_EBADALG);
	/* the other key family */
	CHECK_EQ_INT(core_csc_sign_algo_check(CF_KEY_P256, RSA_SHA256, CORE_OID_SHA256),
		     CF_EBADALG);
	CHECK_EQ_INT(core_csc_sign_algo_check(CF_KEY_RSA, ECDSA_SHA256, CORE_OID_SHA256),
		     CF_EBADALG);
	CHECK_EQ_INT(core_csc_sign_algo_check(CF_KEY_RSA, EC_PUBLIC_KEY, CORE_OID_SHA256),
		     CF_EBADALG);
	CHECK_EQ_INT(core_csc_sign_algo_check(CF_KEY_P256, RSA_ENCRYPTION, CORE_OID_SHA256),
		     CF_EBADALG);
	/* unknown OIDs */
	CHECK_EQ_INT(core_csc_sign_algo_check(CF_KEY_P256, "1.2.840.10045.4.3.1", CORE_OID_SHA256),
		     CF_EBADALG);
	CHECK_EQ_INT(core_csc_sign_algo_check(CF_KEY_P256, ECDSA_SHA256, "1.3.14.3.2.26"),
		     CF_EBADALG);
}

static void test_key_algos_and_curves(void)
{
	const char *const *ec = core_csc_key_algos(CF_KEY_P256);
	const char *const *rsa = core_csc_key_algos(CF_KEY_RSA);

	CHECK_EQ_STR(ec[0], EC_PUBLIC_KEY);
	CHECK_EQ_STR(ec[1], ECDSA_SHA256);
	CHECK_EQ_STR(rsa[0], RSA_ENCRYPTION);
	CHECK_EQ_STR(rsa[1], RSA_SHA256);
	CHECK(ec[4] == NULL && rsa[4] == NULL);
	CHECK_EQ_STR(core_csc_key_curve(CF_KEY_P256), "1.2.840.10045.3.1.7");
	CHECK_EQ_STR(core_csc_key_curve(CF_KEY_P384), "1.3.132.0.34");
	CHECK(core_csc_key_curve(CF_KEY_RSA) == NULL);
}

static void test_sad_digest_binds_algorithm_hashes_and_order(void)
{
	uint8_t h[3][32], swapped[3][32], d[32], d2[32], buf[sizeof(CORE_OID_SHA256) + 96];
	size_t olen = strlen(CORE_OID_SHA256);
	int i;

	for (i = 0; i < 3; i++)
		memset(h[i], 'a' + i, 32);
	CHECK_EQ_INT(core_csc_digest(CORE_OID_SHA256, &h[0][0], 32, 3, d), 0);
	/* SHA-256(OID ‖ 0x00 ‖ h1 ‖ h2 ‖ h3), as the spec writes it */
	memcpy(buf, CORE_OID_SHA256, olen);
	buf[olen] = 0;
	memcpy(buf + olen + 1, h, 96);
	CHECK_EQ_INT(cf_sha256(buf, olen + 1 + 96, d2), 0);
	CHECK(memcmp(d, d2, 32) == 0);
	/* another order */
	memcpy(swapped[0], h[1], 32);
	memcpy(swapped[1], h[0], 32);
	memcpy(swapped[2], h[2], 32);
	CHECK_EQ_INT(core_csc_digest(CORE_OID_SHA256, &swapped[0][0], 32, 3, d2), 0);
	CHECK(memcmp(d, d2, 32) != 0);
	/* the same 96 octets as two hashes of another algorithm */
	CHECK_EQ_INT(core_csc_digest(CORE_OID_SHA384, &h[0][0], 48, 2, d2), 0);
	CHECK(memcmp(d, d2, 32) != 0);
	/* a subset */
	CHECK_EQ_INT(core_csc_digest(CORE_OID_SHA256, &h[0][0], 32, 2, d2), 0);
	CHECK(memcmp(d, d2, 32) != 0);
}

static void test_base64_round_trip_with_padding(void)
{
	const uint8_t data[] = {0xfb, 0xff, 0xbf, 0x00, 0x01};
	uint8_t out[16];
	size_t len = 0, n;
	char *s;

	for (n = 1; n <= sizeof(data); n++) {
		s = cf_b64_encode_alloc(data, n);
		CHECK(s != NULL);
		if (!s)
			continue;
		CHECK_EQ_INT(strlen(s) % 4, 0);
		CHECK_EQ_INT(core_csc_b64_decode(s, out, sizeof(out), &len), 0);
		CHECK_EQ_INT(len, n);
		CHECK(memcmp(out, data, n) == 0);
		free(s);
	}
	s = cf_b64_encode_alloc(data, 3);
	CHECK_EQ_STR(s, "+/+/");
	free(s);
	CHECK_EQ_INT(core_csc_b64_decode("+/8=", out, sizeof(out), &len), 0);
	CHECK_EQ_INT(len, 2);
	CHECK_EQ_INT(core_csc_b64_decode("AA==", out, sizeof(out), &len), 0);
	CHECK_EQ_INT(len, 1);
}

static void test_base64_decode_is_strict(void)
{
	static const char *const bad[] = {
	    "",	      "A",     "AA",	"AAA",	/* not a multiple of 4 (no padding) */
	    "AA=",    "A===",  "====",	"AA=A", /* padding in the wrong place or too much */
	    "-_8=",   "+_8=",  "AB==",		/* base64url characters; non-zero trailing bits */
	    "AA==\n", " AA==", "AA ==", "AAA*", /* white space, outside the alphabet */
	};
	uint8_t out[64];
	size_t len, i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int ret = core_csc_b64_decode(bad[i], out, sizeof(out), &len);
		if (ret != CF_EMALFORMED)
			fprintf(stderr, "accepted \"%s\"\n", bad[i]);
		CHECK_EQ_INT(ret, CF_EMALFORMED);
	}
	/* too long for the buffer */
	CHECK_EQ_INT(core_csc_b64_decode("AAAAAAAA", out, 4, &len), CF_EMALFORMED);
}

int main(void)
{
	RUN(test_hash_oids_give_digest_lengths);
	RUN(test_sign_algo_names_its_hash);
	RUN(test_sign_algo_must_fit_key_and_hash);
	RUN(test_key_algos_and_curves);
	RUN(test_sad_digest_binds_algorithm_hashes_and_order);
	RUN(test_base64_round_trip_with_padding);
	RUN(test_base64_decode_is_strict);
	return check_done();
}
