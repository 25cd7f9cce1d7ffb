/* test_cf_aead — PBKDF2-HMAC-SHA-256 (RFC 7914 §11) and AES-256-GCM (McGrew-Viega test case 16)
 * known answers, and the failure behaviour of cf_aead_open. */
#include "check.h"

#include <stdint.h>

#include "cf_crypto.h"
#include "cf_err.h"

/* Hex text → octets; returns the number of octets. */
static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = strlen(hex) / 2;

	for (size_t i = 0; i < n && i < cap; i++) {
		unsigned v;
		sscanf(hex + 2 * i, "%2x", &v);
		out[i] = (uint8_t)v;
	}
	return n < cap ? n : cap;
}

static int is_zero(const uint8_t *p, size_t len)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < len; i++)
		acc |= p[i];
	return acc == 0;
}

static void test_pbkdf2_matches_rfc7914_vector(void)
{
	/* RFC 7914 §11: P = "Password", S = "NaCl", c = 80000, dkLen = 64 */
	static const char want_hex[] =
	    "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56"
	    "a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d";
	uint8_t want[64], out[64];

	unhex(want_hex, want, sizeof(want));
	CHECK_EQ_INT(cf_pbkdf2_sha256("Password", 8, (const uint8_t *)"NaCl", 4, 80000, out, 64),
		     0);
	CHECK(memcmp(out, want, 64) == 0);
}

static void test_pbkdf2_output_length_is_a_prefix(void)
{
	/* PBKDF2 blocks are independent: 32 octets are the first 32 of the 64 above */
	static const char want_hex[] =
	    "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56";
	uint8_t want[32], out[32];

	unhex(want_hex, want, sizeof(want));
	CHECK_EQ_INT(cf_pbkdf2_sha256("Password", 8, (const uint8_t *)"NaCl", 4, 80000, out, 32),
		     0);
	CHECK(memcmp(out, want, 32) == 0);
}

static void test_pbkdf2_refuses_fewer_than_1000_iterations(void)
{
	/* RFC 7914 §11's c = 1 vector is below our floor: the call is a usage error */
	uint8_t out[64];

	CHECK_EQ_INT(cf_pbkdf2_sha256("passwd", 6, (const uint8_t *)"salt", 4, 1, out, 64),
		     CF_EUSAGE);
	CHECK_EQ_INT(cf_pbkdf2_sha256("passwd", 6, (const uint8_t *)"salt", 4, 999, out, 64),
		     CF_EUSAGE);
	CHECK_EQ_INT(cf_pbkdf2_sha256("passwd", 6, (const uint8_t *)"salt", 4, 1000, out, 0),
		     CF_EUSAGE);
}

/* McGrew & Viega, "The Galois/Counter Mode of Operation", test case 16 (AES-256, 96-bit IV) */
static const char tc16_key[] = "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308";
static const char tc16_iv[] = "cafebabefacedbaddecaf888";
static const char tc16_aad[] = "feedfacedeadbeeffeedfacedeadbeefabaddad2";
static const char tc16_pt[] = "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
			      "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39";
static const char tc16_ct[] = "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
			      "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662";
static const char tc16_tag[] = "76fc6ece0f4e1768cddf8853bb2d551b";

struct tc16 {
	uint8_t key[32], iv[12], aad[20], pt[60], ct[60], tag[16];
};

static void tc16_load(struct tc16 *v)
{
	unhex(tc16_key, v->key, 32);
	unhex(tc16_iv, v->iv, 12);
	unhex(tc16_aad, v->aad, 20);
	unhex(tc16_pt, v->pt, 60);
	unhex(tc16_ct, v->ct, 60);
	unhex(tc16_tag, v->tag, 16);
}

static void test_gcm_seal_matches_mcgrew_viega_case_16(void)
{
	struct tc16 v;
	uint8_t ct[60], tag[16];

	tc16_load(&v);
	CHECK_EQ_INT(cf_aead_seal(v.key, v.iv, v.aad, 20, v.pt, 60, ct, tag), 0);
	CHECK(memcmp(ct, v.ct, 60) == 0);
	CHECK(memcmp(tag, v.tag, 16) == 0);
}

static void test_gcm_open_matches_mcgrew_viega_case_16(void)
{
	struct tc16 v;
	uint8_t pt[60];

	tc16_load(&v);
	CHECK_EQ_INT(cf_aead_open(v.key, v.iv, v.aad, 20, v.ct, 60, v.tag, pt), 0);
	CHECK(memcmp(pt, v.pt, 60) == 0);
}

static void test_gcm_open_fails_and_wipes_on_any_change(void)
{
	struct tc16 v;
	uint8_t pt[60];

	tc16_load(&v);
	/* a changed key, nonce, aad, ciphertext or tag: badPassphrase, output all zero */
	for (int what = 0; what < 5; what++) {
		struct tc16 w = v;
		uint8_t *p[5] = {w.key, w.iv, w.aad, w.ct, w.tag};
		p[what][3] ^= 0x01;
		memset(pt, 0xaa, sizeof(pt));
		CHECK_EQ_INT(cf_aead_open(w.key, w.iv, w.aad, 20, w.ct, 60, w.tag, pt),
			     CF_EBADPASSPHRASE);
		CHECK(is_zero(pt, sizeof(pt)));
	}
	/* a shorter aad is a different aad */
	CHECK_EQ_INT(cf_aead_open(v.key, v.iv, v.aad, 19, v.ct, 60, v.tag, pt), CF_EBADPASSPHRASE);
}

static void test_gcm_round_trip_in_place_and_empty(void)
{
	uint8_t key[32], nonce[12], buf[100], orig[100], tag[16];

	CHECK_EQ_INT(cf_random(key, sizeof(key)), 0);
	CHECK_EQ_INT(cf_random(nonce, sizeof(nonce)), 0);
	CHECK_EQ_INT(cf_random(orig, sizeof(orig)), 0);
	memcpy(buf, orig, sizeof(buf));
	CHECK_EQ_INT(cf_aead_seal(key, nonce, "aad", 3, buf, sizeof(buf), buf, tag), 0);
	CHECK(memcmp(buf, orig, sizeof(buf)) != 0);
	CHECK_EQ_INT(cf_aead_open(key, nonce, "aad", 3, buf, sizeof(buf), tag, buf), 0);
	CHECK(memcmp(buf, orig, sizeof(buf)) == 0);
	/* no plaintext, no aad: the tag alone authenticates */
	CHECK_EQ_INT(cf_aead_seal(key, nonce, NULL, 0, NULL, 0, NULL, tag), 0);
	CHECK_EQ_INT(cf_aead_open(key, nonce, NULL, 0, NULL, 0, tag, NULL), 0);
	tag[0] ^= 0x80;
	CHECK_EQ_INT(cf_aead_open(key, nonce, NULL, 0, NULL, 0, tag, NULL), CF_EBADPASSPHRASE);
}

int main(void)
{
	RUN(test_pbkdf2_matches_rfc7914_vector);
	RUN(test_pbkdf2_output_length_is_a_prefix);
	RUN(test_pbkdf2_refuses_fewer_than_1000_iterations);
	RUN(test_gcm_seal_matches_mcgrew_viega_case_16);
	RUN(test_gcm_open_matches_mcgrew_viega_case_16);
	RUN(test_gcm_open_fails_and_wipes_on_any_change);
	RUN(test_gcm_round_trip_in_place_and_empty);
	return check_done();
}
