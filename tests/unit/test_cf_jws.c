/* test_cf_jws — RFC 7515 A.3 verbatim, sign → parse → verify, and the checks of protocol §4. */
#include "check.h"

#include <stdlib.h>

#include "cf_b64.h"
#include "cf_crypto.h"
#include "cf_err.h"
#include "cf_json.h"
#include "cf_jws.h"

#define URL "https://ca.example/v1/activate"
#define NONCE "3q2-7wAAAAA1c2VkLW9uY2U"
#define KID "https://ca.example/v1/account/abc"

static const char *data_dir = ".";
static cf_key *p256, *p384, *rsa;

/* The public part of the RFC's JWK (it prints the private "d" too, which we must refuse). */
static cf_key *rfc7515_a3_public_key(void)
{
	char *text = check_data(data_dir, "rfc7515_a3_jwk.json");
	cf_json *jwk = NULL, *pub = cf_json_new_object();
	cf_key *key = NULL;
	const char *v;

	CHECK_EQ_INT(cf_json_parse(text, strlen(text), &jwk), 0);
	CHECK_EQ_INT(cf_key_from_jwk(jwk, &key), CF_EMALFORMED);
	for (const char *const *m = (const char *const[]){"kty", "crv", "x", "y", NULL}; *m; m++) {
		CHECK_EQ_INT(cf_json_get_str(jwk, *m, 100, &v), 0);
		CHECK_EQ_INT(cf_json_add_str(pub, *m, v), 0);
	}
	CHECK_EQ_INT(cf_key_from_jwk(pub, &key), 0);
	cf_json_free(pub);
	cf_json_free(jwk);
	free(text);
	return key;
}

static void test_rfc7515_a3_es256_signature_verifies(void)
{
	char *input = check_data(data_dir, "rfc7515_a3_signing_input.txt");
	char *sig_b64 = check_data(data_dir, "rfc7515_a3_signature.txt");
	cf_key *key = rfc7515_a3_public_key();
	uint8_t sig[64];
	size_t sig_len = 0;

	CHECK_EQ_INT(cf_b64url_decode(sig_b64, strlen(sig_b64), sig, sizeof(sig), &sig_len), 0);
	CHECK_EQ_INT(sig_len, 64);
	CHECK(key != NULL);
	if (key) {
		CHECK_EQ_INT(cf_verify(key, CF_ALG_ES256, input, strlen(input), sig, sig_len), 0);
		/* the same bytes under the wrong algorithm, or a changed input, do not verify */
		CHECK_EQ_INT(cf_verify(key, CF_ALG_RS256, input, strlen(input), sig, sig_len),
			     CF_EBADALG);
		input[strlen(input) - 1] ^= 1;
		CHECK_EQ_INT(cf_verify(key, CF_ALG_ES256, input, strlen(input), sig, sig_len),
			     CF_EBADSIG);
	}
	cf_key_free(key);
	free(input);
	free(sig_b64);
}

static void test_rfc7515_a3_protected_header_is_es256(void)
{
	char *input = check_data(data_dir, "rfc7515_a3_signing_input.txt");
	uint8_t hdr[64];
	size_t len = 0;

	CHECK_EQ_INT(
	    cf_b64url_decode(input, (size_t)(strchr(input, '.') - input), hdr, sizeof(hdr), &len),
	    0);
	CHECK_EQ_INT(len, 15);
	CHECK(memcmp(hdr, "{\"alg\":\"ES256\"}", 15) == 0);
	free(input);
}

/* Sign with key (kid or jwk), parse, check every field, verify, then tamper. */
static void sign_parse_verify(cf_key *key, const char *kid, const char *payload)
{
	struct cf_jws j;
	char *body = NULL;

	memset(&j, 0, sizeof(j));
	CHECK_EQ_INT(cf_jws_sign(key, NONCE, URL, kid, payload, strlen(payload), &body), 0);
	CHECK(body != NULL);
	if (!body)
		return;
	CHECK_EQ_INT(cf_jws_parse(body, strlen(body), 1, &j), 0);
	CHECK_EQ_INT(j.alg, cf_key_alg(key));
	CHECK_EQ_STR(j.url, URL);
	CHECK_EQ_STR(j.nonce, NONCE);
	CHECK_EQ_INT(j.payload_len, strlen(payload));
	CHECK(j.payload && memcmp(j.payload, payload, j.payload_len) == 0 &&
	      j.payload[j.payload_len] == '\0');
	if (kid) {
		CHECK_EQ_STR(j.kid, kid);
		CHECK(j.jwk == NULL && j.jwk_json == NULL);
		CHECK_EQ_INT(cf_jws_verify(&j, key), 0);
		CHECK_EQ_INT(cf_jws_verify(&j, NULL), CF_EINTERNAL);
	} else {
		CHECK_EQ_STR(j.kid, "");
		CHECK(j.jwk && cf_key_public_equal(j.jwk, key));
		CHECK(cf_json_is_object(j.jwk_json));
		CHECK_EQ_INT(cf_jws_verify(&j, NULL), 0);
	}
	/* a key of the other kind is an algorithm mismatch, the same kind a bad signature */
	CHECK_EQ_INT(cf_jws_verify(&j, key == rsa ? p256 : rsa), CF_EBADALG);
	j.sig[0] ^= 0x40;
	CHECK_EQ_INT(cf_jws_verify(&j, key), CF_EBADSIG);
	cf_jws_clear(&j);
	cf_jws_clear(&j);
	free(body);
}

static void test_jws_sign_parse_verify_roundtrip_with_jwk_es256(void)
{
	sign_parse_verify(p256, NULL, "{\"reference\":\"123456789012\"}");
}

static void test_jws_sign_parse_verify_roundtrip_with_kid_es384_and_rs256(void)
{
	sign_parse_verify(p384, KID, "{\"credential\":\"c1\"}");
	sign_parse_verify(rsa, KID, "{\"credential\":\"c1\"}");
	sign_parse_verify(rsa, NULL, "{}");
}

static void test_jws_post_as_get_has_empty_payload(void)
{
	struct cf_jws j;
	char *body = NULL;

	CHECK_EQ_INT(cf_jws_sign(p256, NONCE, URL, KID, NULL, 0, &body), 0);
	CHECK(body && strstr(body, "\"payload\":\"\""));
	CHECK_EQ_INT(cf_jws_parse(body, strlen(body), 1, &j), 0);
	CHECK_EQ_INT(j.payload_len, 0);
	CHECK(j.payload && j.payload[0] == '\0');
	CHECK_EQ_INT(cf_jws_verify(&j, p256), 0);
	cf_jws_clear(&j);
	free(body);
}

static void test_jws_without_nonce_parses_only_when_not_required(void)
{
	struct cf_jws j;
	char *body = NULL;

	/* the inner JWS of a key change has no nonce */
	CHECK_EQ_INT(cf_jws_sign(p256, NULL, URL, NULL, "{}", 2, &body), 0);
	CHECK_EQ_INT(cf_jws_parse(body, strlen(body), 1, &j), CF_EBADNONCE);
	CHECK_EQ_INT(cf_jws_parse(body, strlen(body), 0, &j), 0);
	CHECK_EQ_STR(j.nonce, "");
	CHECK_EQ_INT(cf_jws_verify(&j, NULL), 0);
	cf_jws_clear(&j);
	free(body);
}

/* A flattened JWS of header text and payload text, signed by key under alg. */
static char *craft(const char *header, const char *payload, cf_key *key, enum cf_alg alg)
{
	char *h = cf_b64url_encode_alloc((const uint8_t *)header, strlen(header));
	char *p = cf_b64url_encode_alloc((const uint8_t *)payload, strlen(payload));
	char input[8192], *s, *body = malloc(16384);
	uint8_t sig[512];
	size_t len = 0;

	snprintf(input, sizeof(input), "%s.%s", h, p);
	if (cf_sign(key, alg, input, strlen(input), sig, sizeof(sig), &len) != 0)
		len = 0;
	s = cf_b64url_encode_alloc(sig, len);
	snprintf(body, 16384, "{\"protected\":\"%s\",\"payload\":\"%s\",\"signature\":\"%s\"}", h,
		 p, s);
	free(h);
	free(p);
	free(s);
	return body;
}

/* cf_jws_parse of a crafted JWS; the parsed JWS is released. */
static int parse_crafted(const char *header, int require_nonce)
{
	char *body = craft(header, "{}", p256, CF_ALG_ES256);
	struct cf_jws j;
	int ret = cf_jws_parse(body, strlen(body), require_nonce, &j);

	if (ret == 0)
		cf_jws_clear(&j);
	free(body);
	return ret;
}

static char *p256_jwk_text(void)
{
	cf_json *jwk = NULL;
	char *text;

	cf_key_to_jwk(p256, &jwk);
	text = cf_json_print(jwk);
	cf_json_free(jwk);
	return text;
}

static void test_jws_rejects_none_and_hmac_algorithms(void)
{
	char hdr[1024], *jwk = p256_jwk_text();
	static const char *const algs[] = {"none", "HS256", "ES512", "PS256", "es256", ""};

	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		snprintf(hdr, sizeof(hdr),
			 "{\"alg\":\"%s\",\"nonce\":\"n\",\"url\":\"" URL "\",\"jwk\":%s}", algs[i],
			 jwk);
		CHECK_EQ_INT(parse_crafted(hdr, 1), CF_EBADALG);
	}
	/* a missing or non-string alg is malformed */
	snprintf(hdr, sizeof(hdr), "{\"nonce\":\"n\",\"url\":\"" URL "\",\"jwk\":%s}", jwk);
	CHECK_EQ_INT(parse_crafted(hdr, 1), CF_EMALFORMED);
	snprintf(hdr, sizeof(hdr), "{\"alg\":1,\"nonce\":\"n\",\"url\":\"" URL "\",\"jwk\":%s}",
		 jwk);
	CHECK_EQ_INT(parse_crafted(hdr, 1), CF_EMALFORMED);
	free(jwk);
}

static void test_jws_requires_exactly_one_of_jwk_and_kid(void)
{
	char hdr[1024], *jwk = p256_jwk_text();

	snprintf(hdr, sizeof(hdr),
		 "{\"alg\":\"ES256\",\"nonce\":\"n\",\"url\":\"" URL "\",\"jwk\":%s,\"kid\":\"" KID
		 "\"}",
		 jwk);
	CHECK_EQ_INT(parse_crafted(hdr, 1), CF_EMALFORMED);
	CHECK_EQ_INT(parse_crafted("{\"alg\":\"ES256\",\"nonce\":\"n\",\"url\":\"" URL "\"}", 1),
		     CF_EMALFORMED);
	CHECK_EQ_INT(parse_crafted("{\"alg\":\"ES256\",\"nonce\":\"n\",\"url\":\"" URL
				   "\",\"kid\":\"" KID "\"}",
				   1),
		     0);
	free(jwk);
}

static void test_jws_rejects_jwk_with_private_member(void)
{
	char hdr[1024], *jwk = p256_jwk_text();

	/* "...}" → "...,\"d\":\"AAAA\"}" */
	jwk[strlen(jwk) - 1] = '\0';
	snprintf(hdr, sizeof(hdr),
		 "{\"alg\":\"ES256\",\"nonce\":\"n\",\"url\":\"" URL
		 "\",\"jwk\":%s,\"d\":\"AAAA\"}}",
		 jwk);
	CHECK_EQ_INT(parse_crafted(hdr, 1), CF_EMALFORMED);
	free(jwk);
}

static void test_jws_requires_url_and_nonce(void)
{
	CHECK_EQ_INT(parse_crafted("{\"alg\":\"ES256\",\"nonce\":\"n\",\"kid\":\"" KID "\"}", 1),
		     CF_EMALFORMED);
	CHECK_EQ_INT(parse_crafted(
			 "{\"alg\":\"ES256\",\"url\":\"\",\"nonce\":\"n\",\"kid\":\"" KID "\"}", 1),
		     CF_EMALFORMED);
	CHECK_EQ_INT(
	    parse_crafted("{\"alg\":\"ES256\",\"url\":\"" URL "\",\"kid\":\"" KID "\"}", 1),
	    CF_EBADNONCE);
	CHECK_EQ_INT(parse_crafted("{\"alg\":\"ES256\",\"url\":\"" URL
				   "\",\"nonce\":\"\",\"kid\":\"" KID "\"}",
				   1),
		     CF_EBADNONCE);
	CHECK_EQ_INT(parse_crafted("{\"alg\":\"ES256\",\"url\":\"" URL
				   "\",\"nonce\":7,\"kid\":\"" KID "\"}",
				   1),
		     CF_EMALFORMED);
	/* order of the spec: alg before url */
	CHECK_EQ_INT(parse_crafted("{\"alg\":\"none\",\"kid\":\"" KID "\"}", 1), CF_EBADALG);
}

static void test_jws_rejects_crit_and_unprotected_header(void)
{
	struct cf_jws j;
	char *body =
	    craft("{\"alg\":\"ES256\",\"nonce\":\"n\",\"url\":\"" URL "\",\"kid\":\"" KID "\"}",
		  "{}", p256, CF_ALG_ES256);
	char *with_header = malloc(strlen(body) + 64);

	CHECK_EQ_INT(parse_crafted("{\"alg\":\"ES256\",\"nonce\":\"n\",\"url\":\"" URL
				   "\",\"kid\":\"" KID "\",\"crit\":[\"b64\"],\"b64\":false}",
				   1),
		     CF_EMALFORMED);
	sprintf(with_header, "{\"header\":{\"kid\":\"x\"},%s", body + 1);
	CHECK_EQ_INT(cf_jws_parse(with_header, strlen(with_header), 1, &j), CF_EMALFORMED);
	CHECK_EQ_INT(cf_jws_parse(body, strlen(body), 1, &j), 0);
	cf_jws_clear(&j);
	free(with_header);
	free(body);
}

static void test_jws_rejects_malformed_envelopes(void)
{
	static const char *const bad[] = {
	    "",
	    "[]",
	    "{\"protected\":\"eyJ9\",\"payload\":\"\"}",
	    "{\"protected\":\"e30\",\"payload\":\"\",\"signature\":\"AA==\"}",
	    "{\"protected\":\"e30\",\"payload\":1,\"signature\":\"AAAA\"}",
	    "{\"protected\":\"e30=\",\"payload\":\"\",\"signature\":\"AAAA\"}",
	    "{\"protected\":\"e30\",\"payload\":\"\",\"signature\":\"AAAA\"}",
	    "{\"protected\":\"W10\",\"payload\":\"\",\"signature\":\"AAAA\"}",
	    "{\"protected\":\"e30\",\"payload\":\"\",\"signature\":\"AAAA\",\"payload\":\"\"}",
	};
	struct cf_jws j;

	memset(&j, 0x5a, sizeof(j));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_EQ_INT(cf_jws_parse(bad[i], strlen(bad[i]), 1, &j), CF_EMALFORMED);
	/* out untouched on failure */
	CHECK(j.payload == (void *)0x5a5a5a5a5a5a5a5aULL);
}

static void test_jws_verify_detects_alg_that_does_not_fit_the_key(void)
{
	char hdr[1024], *jwk = p256_jwk_text(), *body;
	struct cf_jws j;

	/* an RS256 header with an EC key: parses, never verifies */
	snprintf(hdr, sizeof(hdr),
		 "{\"alg\":\"RS256\",\"nonce\":\"n\",\"url\":\"" URL "\",\"jwk\":%s}", jwk);
	body = craft(hdr, "{}", rsa, CF_ALG_RS256);
	CHECK_EQ_INT(cf_jws_parse(body, strlen(body), 1, &j), 0);
	CHECK_EQ_INT(cf_jws_verify(&j, NULL), CF_EBADALG);
	cf_jws_clear(&j);
	free(body);
	free(jwk);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		data_dir = argv[1];
	if (cf_key_generate(CF_KEY_P256, 0, &p256) || cf_key_generate(CF_KEY_P384, 0, &p384) ||
	    cf_key_generate(CF_KEY_RSA, 2048, &rsa)) {
		fprintf(stderr, "key generation failed\n");
		return 2;
	}
	RUN(test_rfc7515_a3_es256_signature_verifies);
	RUN(test_rfc7515_a3_protected_header_is_es256);
	RUN(test_jws_sign_parse_verify_roundtrip_with_jwk_es256);
	RUN(test_jws_sign_parse_verify_roundtrip_with_kid_es384_and_rs256);
	RUN(test_jws_post_as_get_has_empty_payload);
	RUN(test_jws_without_nonce_parses_only_when_not_required);
	RUN(test_jws_rejects_none_and_hmac_algorithms);
	RUN(test_jws_requires_exactly_one_of_jwk_and_kid);
	RUN(test_jws_rejects_jwk_with_private_member);
	RUN(test_jws_requires_url_and_nonce);
	RUN(test_jws_rejects_crit_and_unprotected_header);
	RUN(test_jws_rejects_malformed_envelopes);
	RUN(test_jws_verify_detects_alg_that_does_not_fit_the_key);
	cf_key_free(p256);
	cf_key_free(p384);
	cf_key_free(rsa);
	return check_done();
}
