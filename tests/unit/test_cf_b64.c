/* test_cf_b64 — RFC 4648 §10 vectors as base64url, strict decoding, PEM layout. */
#include "check.h"

#include <stdlib.h>

#include "cf_b64.h"
#include "cf_err.h"

/* RFC 4648 §10, with the padding removed as base64url (§5) without padding requires. */
static const char *const vectors[][2] = {
    {"", ""},		{"f", "Zg"},	      {"fo", "Zm8"},	      {"foo", "Zm9v"},
    {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"},
};
#define NVEC (sizeof(vectors) / sizeof(vectors[0]))

static int decode_str(const char *s, uint8_t *out, size_t cap, size_t *len)
{
	return cf_b64url_decode(s, strlen(s), out, cap, len);
}

static void test_b64url_encodes_rfc4648_vectors(void)
{
	char out[16];
	size_t len = 99;

	for (size_t i = 0; i < NVEC; i++) {
		const char *in = vectors[i][0];
		CHECK_EQ_INT(
		    cf_b64url_encode((const uint8_t *)in, strlen(in), out, sizeof(out), &len), 0);
		CHECK_EQ_STR(out, vectors[i][1]);
		CHECK_EQ_INT(len, strlen(vectors[i][1]));
		CHECK_EQ_INT(cf_b64url_enc_len(strlen(in)), strlen(vectors[i][1]));
	}
}

static void test_b64url_decodes_rfc4648_vectors(void)
{
	uint8_t out[16];
	size_t len;

	for (size_t i = 0; i < NVEC; i++) {
		len = 99;
		CHECK_EQ_INT(decode_str(vectors[i][1], out, sizeof(out), &len), 0);
		CHECK_EQ_INT(len, strlen(vectors[i][0]));
		CHECK(memcmp(out, vectors[i][0], len) == 0);
		CHECK_EQ_INT(cf_b64url_dec_len(strlen(vectors[i][1])), strlen(vectors[i][0]));
	}
}

static void test_b64url_uses_url_safe_alphabet(void)
{
	static const uint8_t in[] = {0xfb, 0xff, 0xbf};
	uint8_t back[3];
	char out[8];
	size_t len;

	CHECK_EQ_INT(cf_b64url_encode(in, sizeof(in), out, sizeof(out), NULL), 0);
	CHECK_EQ_STR(out, "-_-_");
	CHECK_EQ_INT(decode_str("-_-_", back, sizeof(back), &len), 0);
	CHECK_EQ_INT(len, 3);
	CHECK(memcmp(back, in, 3) == 0);
}

static void test_b64url_rejects_padding(void)
{
	uint8_t out[16];
	size_t len;

	CHECK_EQ_INT(decode_str("Zg==", out, sizeof(out), &len), CF_EMALFORMED);
	CHECK_EQ_INT(decode_str("Zm8=", out, sizeof(out), &len), CF_EMALFORMED);
	CHECK_EQ_INT(decode_str("Zg=", out, sizeof(out), &len), CF_EMALFORMED);
	CHECK_EQ_INT(decode_str("Zm9vYg==", out, sizeof(out), &len), CF_EMALFORMED);
}

static void test_b64url_rejects_plus_and_slash(void)
{
	uint8_t out[16];
	size_t len;

	CHECK_EQ_INT(decode_str("+_-_", out, sizeof(out), &len), CF_EMALFORMED);
	CHECK_EQ_INT(decode_str("-/-_", out, sizeof(out), &len), CF_EMALFORMED);
	CHECK_EQ_INT(decode_str("Zm9vYmF+", out, sizeof(out), &len), CF_EMALFORMED);
}

static void test_b64url_rejects_whitespace_and_foreign_bytes(void)
{
	static const char *const bad[] = {"Zm9v Ym", "Zm9v\nYmFy", " Zm9v",	 "Zm9v\t",
					  "Zm9\r",   "Zm9v.mFy",   "Zm9\xc3\xa9"};
	uint8_t out[16];
	size_t len;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_EQ_INT(decode_str(bad[i], out, sizeof(out), &len), CF_EMALFORMED);
	/* an embedded NUL inside in_len is a foreign byte too */
	CHECK_EQ_INT(cf_b64url_decode("Zm\0v", 4, out, sizeof(out), &len), CF_EMALFORMED);
}

static void test_b64url_rejects_nonzero_trailing_bits(void)
{
	uint8_t out[16];
	size_t len;

	/* "Zg" is canonical for "f"; "Zh".."Zv" decode to "f" only by ignoring set bits */
	CHECK_EQ_INT(decode_str("Zh", out, sizeof(out), &len), CF_EMALFORMED);
	CHECK_EQ_INT(decode_str("Zv", out, sizeof(out), &len), CF_EMALFORMED);
	CHECK_EQ_INT(decode_str("Zm9", out, sizeof(out), &len), CF_EMALFORMED);
	CHECK_EQ_INT(decode_str("Zm8", out, sizeof(out), &len), 0);
	CHECK_EQ_INT(decode_str("Zm9vYmF", out, sizeof(out), &len), CF_EMALFORMED);
}

static void test_b64url_rejects_length_1_mod_4(void)
{
	uint8_t out[16];
	size_t len;

	CHECK_EQ_INT(decode_str("Z", out, sizeof(out), &len), CF_EMALFORMED);
	CHECK_EQ_INT(decode_str("Zm9vY", out, sizeof(out), &len), CF_EMALFORMED);
}

static void test_b64url_rejects_small_buffers(void)
{
	uint8_t out[16];
	char enc[8];
	size_t len = 77;

	CHECK_EQ_INT(decode_str("Zm9vYmFy", out, 5, &len), CF_EMALFORMED);
	CHECK_EQ_INT(len, 77);
	CHECK_EQ_INT(cf_b64url_encode((const uint8_t *)"foobar", 6, enc, 8, &len), CF_EMALFORMED);
	CHECK_EQ_INT(len, 77);
}

static void test_b64url_alloc_roundtrips_every_length(void)
{
	uint8_t in[200];

	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 37 + 11);
	for (size_t n = 0; n <= sizeof(in); n++) {
		char *s = cf_b64url_encode_alloc(in, n);
		uint8_t *back = NULL;
		size_t len = 0;
		CHECK(s != NULL);
		if (!s)
			continue;
		CHECK_EQ_INT(strlen(s), cf_b64url_enc_len(n));
		CHECK_EQ_INT(cf_b64url_decode_alloc(s, strlen(s), &back, &len), 0);
		CHECK_EQ_INT(len, n);
		CHECK(back && memcmp(back, in, n) == 0);
		free(back);
		free(s);
	}
}

static void test_pem_wraps_base64_at_64_columns(void)
{
	uint8_t der[49];
	char *pem;

	memset(der, 0xff, sizeof(der));
	pem = cf_pem_encode("CERTIFICATE", der, sizeof(der));
	CHECK(pem != NULL);
	if (!pem)
		return;
	CHECK_EQ_STR(pem, "-----BEGIN CERTIFICATE-----\n"
			  "////////////////////////////////////////////////////////////////\n"
			  "/w==\n"
			  "-----END CERTIFICATE-----\n");
	free(pem);
	pem = cf_pem_encode("X", (const uint8_t *)"foob", 4);
	CHECK_EQ_STR(pem, "-----BEGIN X-----\nZm9vYg==\n-----END X-----\n");
	free(pem);
}

int main(void)
{
	RUN(test_b64url_encodes_rfc4648_vectors);
	RUN(test_b64url_decodes_rfc4648_vectors);
	RUN(test_b64url_uses_url_safe_alphabet);
	RUN(test_b64url_rejects_padding);
	RUN(test_b64url_rejects_plus_and_slash);
	RUN(test_b64url_rejects_whitespace_and_foreign_bytes);
	RUN(test_b64url_rejects_nonzero_trailing_bits);
	RUN(test_b64url_rejects_length_1_mod_4);
	RUN(test_b64url_rejects_small_buffers);
	RUN(test_b64url_alloc_roundtrips_every_length);
	RUN(test_pem_wraps_base64_at_64_columns);
	return check_done();
}
