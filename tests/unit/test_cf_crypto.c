/* test_cf_crypto — RFC 7638 thumbprint, digests, signatures, JWK import/export, key files, CSR. */
#include "check.h"

#include <pthread.h>
#include <sys/wait.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mbedtls/md.h>
#include <mbedtls/x509_csr.h>

#include "cf_b64.h"
#include "cf_crypto.h"
#include "cf_crypto_mbedtls.h"
#include "cf_err.h"
#include "cf_json.h"

static const char *data_dir = ".";
static cf_key *p256, *p384, *rsa;

static cf_json *parse_json(const char *text)
{
	cf_json *doc = NULL;

	CHECK_EQ_INT(cf_json_parse(text, strlen(text), &doc), 0);
	return doc;
}

static void test_thumbprint_matches_rfc7638_example(void)
{
	char *jwk_text = check_data(data_dir, "rfc7638_rsa_jwk.json"),
	     *want = check_data(data_dir, "rfc7638_thumbprint.txt");
	cf_json *jwk = parse_json(jwk_text);
	cf_key *key = NULL;
	char tp[44];

	CHECK_EQ_INT(cf_key_from_jwk(jwk, &key), 0);
	if (key) {
		CHECK_EQ_INT(cf_key_thumbprint(key, tp), 0);
		CHECK_EQ_STR(tp, want);
		CHECK_EQ_STR(tp, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
		CHECK_EQ_INT(cf_key_type(key), CF_KEY_RSA);
		CHECK_EQ_INT(cf_key_bits(key), 2048);
		CHECK_EQ_INT(cf_key_alg(key), CF_ALG_RS256);
	}
	cf_key_free(key);
	cf_json_free(jwk);
	free(jwk_text);
	free(want);
}

static void test_sha256_and_hmac_match_known_answers(void)
{
	/* FIPS 180-2 "abc"; RFC 4231 test case 2 */
	static const char abc[] =
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
	static const char hmac[] =
	    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
	uint8_t out[32];
	char hex[65];

	CHECK_EQ_INT(cf_sha256("abc", 3, out), 0);
	for (int i = 0; i < 32; i++)
		sprintf(hex + 2 * i, "%02x", out[i]);
	CHECK_EQ_STR(hex, abc);
	CHECK_EQ_INT(
	    cf_hmac_sha256((const uint8_t *)"Jefe", 4, "what do ya want for nothing?", 28, out), 0);
	for (int i = 0; i < 32; i++)
		sprintf(hex + 2 * i, "%02x", out[i]);
	CHECK_EQ_STR(hex, hmac);
}

static void test_ct_equal_and_zeroize(void)
{
	char a[] = "secret-one", b[] = "secret-one", c[] = "secret-two";
	char *s = strdup("wipe me");

	CHECK_EQ_INT(cf_ct_equal(a, b, sizeof(a)), 1);
	CHECK_EQ_INT(cf_ct_equal(a, c, sizeof(a)), 0);
	CHECK_EQ_INT(cf_ct_equal(a, c, 0), 1);
	cf_zeroize(a, sizeof(a));
	CHECK(a[0] == 0 && a[sizeof(a) - 2] == 0);
	cf_zeroize(NULL, 10);
	cf_free_secret(s);
	cf_free_secret(NULL);
}

static void *random_in_thread(void *arg)
{
	cf_random(arg, 32);
	return NULL;
}

static void test_random_differs_between_calls_and_threads(void)
{
	uint8_t a[32] = {0}, b[32] = {0}, t1[32] = {0}, t2[32] = {0}, big[5000];
	pthread_t th1, th2;

	CHECK_EQ_INT(cf_random(a, sizeof(a)), 0);
	CHECK_EQ_INT(cf_random(b, sizeof(b)), 0);
	CHECK(memcmp(a, b, sizeof(a)) != 0);
	/* requests beyond one DRBG call (1024 octets) */
	CHECK_EQ_INT(cf_random(big, sizeof(big)), 0);
	CHECK(memcmp(big + 4000, a, 32) != 0);
	pthread_create(&th1, NULL, random_in_thread, t1);
	pthread_create(&th2, NULL, random_in_thread, t2);
	pthread_join(th1, NULL);
	pthread_join(th2, NULL);
	CHECK(memcmp(t1, t2, 32) != 0 && memcmp(t1, a, 32) != 0);
}

/* Draws of 8 octets in a child of fork() and in its parent after it: 1 if one value is in both. */
static int fork_draws_meet(void)
{
	enum { D = 16 };
	uint8_t parent[D][8], child[D][8];
	int fds[2], status = 0, meet = 0;
	pid_t pid;

	CHECK(pipe(fds) == 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		for (int i = 0; i < D; i++)
			cf_random(child[i], 8);
		_exit(write(fds[1], child, sizeof(child)) == (ssize_t)sizeof(child) ? 0 : 1);
	}
	for (int i = 0; i < D; i++)
		CHECK_EQ_INT(cf_random(parent[i], 8), 0);
	CHECK(read(fds[0], child, sizeof(child)) == (ssize_t)sizeof(child));
	waitpid(pid, &status, 0);
	close(fds[0]);
	close(fds[1]);
	for (int i = 0; i < D; i++)
		for (int j = 0; j < D; j++)
			meet |= memcmp(parent[i], child[j], 8) == 0;
	return meet;
}

/* Many small draws (as nonces, ids and serials take them) never repeat a value, and a child of
 * fork() never draws what its parent draws next, wherever the fork falls among the draws. */
static void test_small_random_draws_never_repeat_even_across_fork(void)
{
	enum { N = 2000 };
	static uint8_t draws[N][8];
	uint8_t skip[8];
	int repeats = 0, met = 0;

	for (int i = 0; i < N; i++)
		CHECK_EQ_INT(cf_random(draws[i], i % 2 ? 8 : 6), 0);
	for (int i = 0; i < N; i++)
		for (int j = i + 1; j < N; j++)
			repeats += (i % 2) == (j % 2) && memcmp(draws[i], draws[j], 6) == 0;
	CHECK_EQ_INT(repeats, 0);
	for (int k = 1; k <= 8; k++) {
		CHECK_EQ_INT(cf_random(skip, (size_t)k), 0);
		met += fork_draws_meet();
	}
	CHECK_EQ_INT(met, 0);
}

static void roundtrip(cf_key *key, enum cf_alg alg, size_t want_len)
{
	static const char msg[] = "eyJhbGciOiJFUzI1NiJ9.eyJ0ZXN0Ijp0cnVlfQ";
	uint8_t sig[512];
	size_t len = 0;

	CHECK_EQ_INT(cf_sign(key, alg, msg, strlen(msg), sig, sizeof(sig), &len), 0);
	CHECK_EQ_INT(len, want_len);
	CHECK_EQ_INT(cf_verify(key, alg, msg, strlen(msg), sig, len), 0);
	/* a flipped bit anywhere in the signature or the message must fail */
	sig[len / 2] ^= 0x01;
	CHECK_EQ_INT(cf_verify(key, alg, msg, strlen(msg), sig, len), CF_EBADSIG);
	sig[len / 2] ^= 0x01;
	sig[len - 1] ^= 0x80;
	CHECK_EQ_INT(cf_verify(key, alg, msg, strlen(msg), sig, len), CF_EBADSIG);
	sig[len - 1] ^= 0x80;
	CHECK_EQ_INT(cf_verify(key, alg, msg, strlen(msg) - 1, sig, len), CF_EBADSIG);
	/* wrong lengths */
	CHECK_EQ_INT(cf_verify(key, alg, msg, strlen(msg), sig, len - 1), CF_EBADSIG);
	CHECK_EQ_INT(cf_verify(key, alg, msg, strlen(msg), sig, 0), CF_EBADSIG);
	/* empty message (e.g. nothing to sign but still well defined) */
	CHECK_EQ_INT(cf_sign(key, alg, "", 0, sig, sizeof(sig), &len), 0);
	CHECK_EQ_INT(cf_verify(key, alg, "", 0, sig, len), 0);
}

static void test_es256_sign_verify_roundtrip_and_tamper(void)
{
	CHECK_EQ_INT(cf_key_type(p256), CF_KEY_P256);
	CHECK_EQ_INT(cf_key_alg(p256), CF_ALG_ES256);
	roundtrip(p256, CF_ALG_ES256, 64);
}

static void test_es384_sign_verify_roundtrip_and_tamper(void)
{
	CHECK_EQ_INT(cf_key_type(p384), CF_KEY_P384);
	CHECK_EQ_INT(cf_key_alg(p384), CF_ALG_ES384);
	roundtrip(p384, CF_ALG_ES384, 96);
}

static void test_rs256_sign_verify_roundtrip_and_tamper(void)
{
	CHECK_EQ_INT(cf_key_bits(rsa), 2048);
	roundtrip(rsa, CF_ALG_RS256, 256);
}

static void test_es256_signatures_with_leading_zero_octets_verify(void)
{
	uint8_t sig[64];
	size_t len;
	int found = 0;

	/* r or s below 2^248 happens once in 128 signatures: sign until we meet one */
	for (int i = 0; i < 3000 && !found; i++) {
		char msg[32];
		int n = snprintf(msg, sizeof(msg), "message %d", i);
		CHECK_EQ_INT(cf_sign(p256, CF_ALG_ES256, msg, (size_t)n, sig, sizeof(sig), &len),
			     0);
		if (sig[0] == 0 || sig[32] == 0) {
			found = 1;
			CHECK_EQ_INT(cf_verify(p256, CF_ALG_ES256, msg, (size_t)n, sig, len), 0);
		}
	}
	CHECK(found);
	/* r = 0 is never a signature */
	memset(sig, 0, 32);
	CHECK_EQ_INT(cf_verify(p256, CF_ALG_ES256, "x", 1, sig, 64), CF_EBADSIG);
}

struct shared_use {
	cf_key *key;
	int failures;
};

static void *sign_verify_loop(void *arg)
{
	struct shared_use *u = arg;
	uint8_t sig[512];
	size_t len;

	for (int i = 0; i < 20; i++) {
		enum cf_alg alg = cf_key_alg(u->key);
		if (cf_sign(u->key, alg, "shared", 6, sig, sizeof(sig), &len) != 0 ||
		    cf_verify(u->key, alg, "shared", 6, sig, len) != 0)
			u->failures++;
	}
	return NULL;
}

static void test_one_key_signs_and_verifies_on_many_threads_at_once(void)
{
	cf_key *key = NULL;
	pthread_t th[4];
	struct shared_use u[4];

	/* a fresh key: its first use (which fills mbedTLS's cache) happens concurrently */
	CHECK_EQ_INT(cf_key_generate(CF_KEY_P256, 0, &key), 0);
	for (int i = 0; i < 4; i++) {
		u[i] = (struct shared_use){key, 0};
		pthread_create(&th[i], NULL, sign_verify_loop, &u[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		CHECK_EQ_INT(u[i].failures, 0);
	}
	cf_key_free(key);
}

static void test_sign_and_verify_refuse_alg_that_does_not_fit_the_key(void)
{
	uint8_t sig[512];
	size_t len;

	CHECK_EQ_INT(cf_sign(p256, CF_ALG_RS256, "m", 1, sig, sizeof(sig), &len), CF_EBADALG);
	CHECK_EQ_INT(cf_sign(rsa, CF_ALG_ES256, "m", 1, sig, sizeof(sig), &len), CF_EBADALG);
	CHECK_EQ_INT(cf_sign(p384, CF_ALG_ES256, "m", 1, sig, sizeof(sig), &len), CF_EBADALG);
	CHECK_EQ_INT(cf_sign(p256, CF_ALG_ES256, "m", 1, sig, sizeof(sig), &len), 0);
	CHECK_EQ_INT(cf_verify(p256, CF_ALG_ES384, "m", 1, sig, len), CF_EBADALG);
	CHECK_EQ_INT(cf_verify(rsa, CF_ALG_ES256, "m", 1, sig, len), CF_EBADALG);
	CHECK_EQ_INT(cf_verify(p256, (enum cf_alg)0, "m", 1, sig, len), CF_EBADALG);
	/* a valid signature under another key of the same type */
	CHECK_EQ_INT(cf_sign(p384, CF_ALG_ES384, "m", 1, sig, sizeof(sig), &len), 0);
	CHECK_EQ_INT(cf_verify(p384, CF_ALG_ES384, "m", 1, sig, len), 0);
}

static void test_alg_names_map_both_ways(void)
{
	CHECK_EQ_INT(cf_alg_from_name("ES256"), CF_ALG_ES256);
	CHECK_EQ_INT(cf_alg_from_name("RS256"), CF_ALG_RS256);
	CHECK_EQ_INT(cf_alg_from_name("ES384"), CF_ALG_ES384);
	CHECK_EQ_INT(cf_alg_from_name("none"), 0);
	CHECK_EQ_INT(cf_alg_from_name("HS256"), 0);
	CHECK_EQ_INT(cf_alg_from_name("es256"), 0);
	CHECK_EQ_INT(cf_alg_from_name(NULL), 0);
	CHECK_EQ_STR(cf_alg_name(CF_ALG_ES384), "ES384");
}

static void jwk_roundtrip(cf_key *key, const char *first_member)
{
	cf_json *jwk = NULL;
	cf_key *back = NULL;
	char *text;
	char tp1[44], tp2[44];

	CHECK_EQ_INT(cf_key_to_jwk(key, &jwk), 0);
	text = cf_json_print(jwk);
	CHECK(text && strncmp(text, first_member, strlen(first_member)) == 0);
	CHECK_EQ_INT(cf_key_from_jwk(jwk, &back), 0);
	CHECK(back && cf_key_public_equal(key, back));
	if (back) {
		/* the public key alone verifies what the pair signs, JWS and X.509 forms */
		uint8_t sig[512], hash[32];
		size_t sig_len = 0;

		CHECK_EQ_INT(cf_sign(key, cf_key_alg(key), "m", 1, sig, sizeof(sig), &sig_len), 0);
		CHECK_EQ_INT(cf_verify(back, cf_key_alg(key), "m", 1, sig, sig_len), 0);
		CHECK_EQ_INT(cf_verify(back, cf_key_alg(key), "n", 1, sig, sig_len), CF_EBADSIG);
		CHECK_EQ_INT(cf_sha256("m", 1, hash), 0);
		CHECK_EQ_INT(cf_sign_digest(key, hash, 32, sig, sizeof(sig), &sig_len), 0);
		CHECK_EQ_INT(cf_verify_digest(back, hash, 32, sig, sig_len), 0);
		hash[0] ^= 1;
		CHECK_EQ_INT(cf_verify_digest(back, hash, 32, sig, sig_len), CF_EBADSIG);
	}
	CHECK_EQ_INT(cf_key_thumbprint(key, tp1), 0);
	if (back)
		CHECK_EQ_INT(cf_key_thumbprint(back, tp2), 0);
	CHECK_EQ_STR(tp1, tp2);
	CHECK_EQ_INT(strlen(tp1), 43);
	free(text);
	cf_key_free(back);
	cf_json_free(jwk);
}

static void test_jwk_export_import_roundtrip(void)
{
	jwk_roundtrip(p256, "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"");
	jwk_roundtrip(p384, "{\"crv\":\"P-384\",\"kty\":\"EC\",\"x\":\"");
	jwk_roundtrip(rsa, "{\"e\":\"AQAB\",\"kty\":\"RSA\",\"n\":\"");
	CHECK(!cf_key_public_equal(p256, p384));
}

/* cf_key_from_jwk of text. */
static int jwk_text(const char *text)
{
	cf_json *jwk = parse_json(text);
	cf_key *key = NULL;
	int ret = cf_key_from_jwk(jwk, &key);

	cf_key_free(key);
	cf_json_free(jwk);
	return ret;
}

static void test_jwk_import_rejects_bad_keys(void)
{
	static const char x[] = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
	static const char y[] = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";
	static const char y_off[] = "y_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";
	char buf[512];

	snprintf(buf, sizeof(buf), "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"}",
		 x, y);
	CHECK_EQ_INT(jwk_text(buf), 0);
	/* point not on the curve */
	snprintf(buf, sizeof(buf), "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"}",
		 x, y_off);
	CHECK_EQ_INT(jwk_text(buf), CF_EBADKEY);
	/* private member */
	snprintf(buf, sizeof(buf),
		 "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\",\"d\":\"AA\"}", x, y);
	CHECK_EQ_INT(jwk_text(buf), CF_EMALFORMED);
	/* unsupported curve, coordinate of the wrong size, bad base64url, missing member */
	snprintf(buf, sizeof(buf), "{\"kty\":\"EC\",\"crv\":\"P-521\",\"x\":\"%s\",\"y\":\"%s\"}",
		 x, y);
	CHECK_EQ_INT(jwk_text(buf), CF_EBADKEY);
	snprintf(buf, sizeof(buf), "{\"kty\":\"EC\",\"crv\":\"P-384\",\"x\":\"%s\",\"y\":\"%s\"}",
		 x, y);
	CHECK_EQ_INT(jwk_text(buf), CF_EBADKEY);
	snprintf(buf, sizeof(buf),
		 "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%.42s+\",\"y\":\"%s\"}", x, y);
	CHECK_EQ_INT(jwk_text(buf), CF_EMALFORMED);
	snprintf(buf, sizeof(buf), "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\"}", x);
	CHECK_EQ_INT(jwk_text(buf), CF_EMALFORMED);
	CHECK_EQ_INT(jwk_text("{\"kty\":\"oct\",\"k\":\"AAAA\"}"), CF_EMALFORMED);
	CHECK_EQ_INT(jwk_text("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"AAAA\"}"), CF_EBADKEY);
	CHECK_EQ_INT(jwk_text("{\"crv\":\"P-256\"}"), CF_EMALFORMED);
	/* RSA below 2048 bits, and an even exponent */
	CHECK_EQ_INT(
	    jwk_text("{\"kty\":\"RSA\",\"e\":\"AQAB\",\"n\":\"wdjBG0bJ8O4ZeFdC0ysYrKStWW0wj"
		     "iKdY_eEGHz5iDy6dDlYaqJ1dGlz4u0mwtcrXGw1wnIfthHmJaxj3QaOdw\"}"),
	    CF_EBADKEY);
	CHECK_EQ_INT(jwk_text("[1]"), CF_EMALFORMED);
}

static void test_rsa_jwk_with_even_exponent_is_refused(void)
{
	char *text = check_data(data_dir, "rfc7638_rsa_jwk.json");
	char *e = strstr(text, "\"AQAB\"");

	/* AQAC = 65538 */
	memcpy(e, "\"AQAC\"", 6);
	CHECK_EQ_INT(jwk_text(text), CF_EBADKEY);
	free(text);
}

static void test_key_save_and_load_roundtrip_with_mode_0600(void)
{
	const char *base = getenv("CERTFLOW_TEST_TMP");
	char dir[512], path[600];
	cf_key *back = NULL;
	struct stat st;
	uint8_t sig[64];
	size_t len;

	if (!base)
		base = "/tmp";
	mkdir(base, 0700);
	snprintf(dir, sizeof(dir), "%s/cf_crypto.XXXXXX", base);
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/agent.key", dir);
	CHECK_EQ_INT(cf_key_save(p256, path), 0);
	CHECK_EQ_INT(stat(path, &st), 0);
	CHECK_EQ_INT(st.st_mode & 0777, 0600);
	CHECK_EQ_INT(cf_key_load(path, &back), 0);
	CHECK(back && cf_key_public_equal(p256, back));
	/* the loaded key signs for the saved one */
	if (back) {
		CHECK_EQ_INT(cf_sign(back, CF_ALG_ES256, "m", 1, sig, sizeof(sig), &len), 0);
		CHECK_EQ_INT(cf_verify(p256, CF_ALG_ES256, "m", 1, sig, len), 0);
	}
	cf_key_free(back);
	/* overwrite atomically with another key */
	CHECK_EQ_INT(cf_key_save(rsa, path), 0);
	back = NULL;
	CHECK_EQ_INT(cf_key_load(path, &back), 0);
	CHECK(back && cf_key_public_equal(rsa, back));
	cf_key_free(back);
	CHECK_EQ_INT(cf_key_load("/nonexistent/key.pem", &back), CF_EIO);
	snprintf(path, sizeof(path), "%s/missing-dir/agent.key", dir);
	CHECK_EQ_INT(cf_key_save(p256, path), CF_EIO);
	snprintf(path, sizeof(path), "%s/agent.key", dir);
	unlink(path);
	CHECK_EQ_INT(rmdir(dir), 0); /* no temporary file left behind */
}

static void test_public_key_parses_from_der_and_cannot_be_saved(void)
{
	uint8_t *der = NULL;
	size_t len = 0;
	cf_key *pub = NULL;
	char *pem;
	uint8_t sig[64];
	size_t sig_len;

	CHECK_EQ_INT(cf_key_spki_der(p256, &der, &len), 0);
	CHECK_EQ_INT(cf_key_parse(der, len, &pub), 0);
	CHECK(pub && cf_key_public_equal(pub, p256));
	if (pub) {
		CHECK_EQ_INT(cf_key_save(pub, "/tmp/never-written.key"), CF_EBADKEY);
		CHECK(cf_sign(pub, CF_ALG_ES256, "m", 1, sig, sizeof(sig), &sig_len) != 0);
	}
	cf_key_free(pub);
	pub = NULL;
	/* PEM of the same SPKI, passed without its NUL */
	pem = cf_pem_encode("PUBLIC KEY", der, len);
	CHECK_EQ_INT(cf_key_parse((const uint8_t *)pem, strlen(pem), &pub), 0);
	CHECK(pub && cf_key_public_equal(pub, p256));
	cf_key_free(pub);
	CHECK_EQ_INT(cf_key_parse((const uint8_t *)"garbage", 7, &pub), CF_EBADKEY);
	free(pem);
	free(der);
}

static void test_csr_is_self_signed_with_sha256(void)
{
	cf_key *keys[] = {p256, p384, rsa};

	for (int i = 0; i < 3; i++) {
		mbedtls_x509_csr csr;
		uint8_t *der = NULL, hash[32];
		size_t len = 0;
		char subject[128] = "";

		CHECK_EQ_INT(cf_csr_create(keys[i], "device-0042", &der, &len), 0);
		mbedtls_x509_csr_init(&csr);
		CHECK_EQ_INT(mbedtls_x509_csr_parse_der(&csr, der, len), 0);
		CHECK_EQ_INT(csr.sig_md, MBEDTLS_MD_SHA256);
		mbedtls_x509_dn_gets(subject, sizeof(subject), &csr.subject);
		CHECK_EQ_STR(subject, "CN=device-0042");
		mbedtls_md(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), csr.cri.p, csr.cri.len,
			   hash);
		CHECK_EQ_INT(
		    mbedtls_pk_verify(&csr.pk, MBEDTLS_MD_SHA256, hash, 32, csr.sig.p, csr.sig.len),
		    0);
		CHECK_EQ_INT(cf_verify_digest(keys[i], hash, 32, csr.sig.p, csr.sig.len), 0);
		mbedtls_x509_csr_free(&csr);
		free(der);
	}
}

/* cf_verify_digest takes what X.509 carries: DER Ecdsa-Sig-Value, or PKCS#1 v1.5 for RSA. */
static void test_verify_digest_refuses_tampering_and_bad_der(void)
{
	cf_key *keys[] = {p256, p384, rsa};

	for (int i = 0; i < 3; i++) {
		mbedtls_x509_csr csr;
		uint8_t *der = NULL, hash[32], sig[600];
		size_t len = 0, sig_len;

		CHECK_EQ_INT(cf_csr_create(keys[i], "tamper", &der, &len), 0);
		mbedtls_x509_csr_init(&csr);
		CHECK_EQ_INT(mbedtls_x509_csr_parse_der(&csr, der, len), 0);
		CHECK(csr.sig.len + 1 <= sizeof(sig));
		sig_len = csr.sig.len;
		memcpy(sig, csr.sig.p, sig_len);
		CHECK_EQ_INT(cf_sha256(csr.cri.p, csr.cri.len, hash), 0);
		CHECK_EQ_INT(cf_verify_digest(keys[i], hash, 32, sig, sig_len), 0);
		/* another digest, another key, a digest length that is no SHA-2 */
		hash[5] ^= 1;
		CHECK_EQ_INT(cf_verify_digest(keys[i], hash, 32, sig, sig_len), CF_EBADSIG);
		hash[5] ^= 1;
		CHECK_EQ_INT(cf_verify_digest(keys[(i + 1) % 3], hash, 32, sig, sig_len),
			     CF_EBADSIG);
		CHECK_EQ_INT(cf_verify_digest(keys[i], hash, 20, sig, sig_len), CF_EINTERNAL);
		/* an octet after the signature, a cut one, none at all */
		sig[sig_len] = 0;
		CHECK_EQ_INT(cf_verify_digest(keys[i], hash, 32, sig, sig_len + 1), CF_EBADSIG);
		CHECK_EQ_INT(cf_verify_digest(keys[i], hash, 32, sig, sig_len - 1), CF_EBADSIG);
		CHECK_EQ_INT(cf_verify_digest(keys[i], hash, 32, sig, 0), CF_EBADSIG);
		mbedtls_x509_csr_free(&csr);
		free(der);
	}
}

/* cf_sign_digest is deterministic ECDSA in both builds: RFC 6979 A.2.5, P-256, SHA-256,
 * message "sample" (the key is the RFC's x, as SEC1 DER without the public key). */
static void test_sign_digest_is_rfc6979_deterministic_ecdsa(void)
{
	static const uint8_t sec1[] = {
	    0x30, 0x31, 0x02, 0x01, 0x01, 0x04, 0x20, 0xC9, 0xAF, 0xA9, 0xD8, 0x45, 0xBA,
	    0x75, 0x16, 0x6B, 0x5C, 0x21, 0x57, 0x67, 0xB1, 0xD6, 0x93, 0x4E, 0x50, 0xC3,
	    0xDB, 0x36, 0xE8, 0x9B, 0x12, 0x7B, 0x8A, 0x62, 0x2B, 0x12, 0x0F, 0x67, 0x21,
	    0xa0, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
	static const uint8_t want[] = {
	    0x30, 0x46, 0x02, 0x21, 0x00, 0xEF, 0xD4, 0x8B, 0x2A, 0xAC, 0xB6, 0xA8,
	    0xFD, 0x11, 0x40, 0xDD, 0x9C, 0xD4, 0x5E, 0x81, 0xD6, 0x9D, 0x2C, 0x87,
	    0x7B, 0x56, 0xAA, 0xF9, 0x91, 0xC3, 0x4D, 0x0E, 0xA8, 0x4E, 0xAF, 0x37,
	    0x16, 0x02, 0x21, 0x00, 0xF7, 0xCB, 0x1C, 0x94, 0x2D, 0x65, 0x7C, 0x41,
	    0xD4, 0x36, 0xC7, 0xA1, 0xB6, 0xE2, 0x9F, 0x65, 0xF3, 0xE9, 0x00, 0xDB,
	    0xB9, 0xAF, 0xF4, 0x06, 0x4D, 0xC4, 0xAB, 0x2F, 0x84, 0x3A, 0xCD, 0xA8};
	uint8_t hash[32], sig[512];
	size_t sig_len = 0;
	cf_key *key = NULL;

	CHECK_EQ_INT(cf_key_parse(sec1, sizeof(sec1), &key), 0);
	CHECK_EQ_INT(cf_sha256("sample", 6, hash), 0);
	CHECK_EQ_INT(cf_sign_digest(key, hash, 32, sig, sizeof(sig), &sig_len), 0);
	CHECK_EQ_INT((int)sig_len, (int)sizeof(want));
	CHECK(memcmp(sig, want, sizeof(want)) == 0);
	CHECK_EQ_INT(cf_verify_digest(key, hash, 32, sig, sig_len), 0);
	cf_key_free(key);
}

/* The signing context for mbedTLS writers: made once per key pair, refused for a public key. */
static void test_signer_is_long_lived_and_needs_a_private_key(void)
{
	mbedtls_pk_context *a = NULL, *b = NULL;
	cf_key *pub = NULL;
	uint8_t *der = NULL;
	size_t len = 0;

	CHECK_EQ_INT(cf_key_signer(p256, &a), 0);
	CHECK_EQ_INT(cf_key_signer(p256, &b), 0);
	CHECK(a != NULL && a == b);
	CHECK(mbedtls_pk_can_do(a, MBEDTLS_PK_ECDSA));
	CHECK_EQ_INT(cf_key_signer(rsa, &a), 0);
#ifdef CF_CRYPTO_OPENSSL
	/* the OpenSSL build signs through libcrypto for RSA as well: a context of its own */
	CHECK_EQ_INT(cf_key_signer(rsa, &b), 0);
	CHECK(a != NULL && a == b && a != &rsa->pk);
	CHECK(mbedtls_pk_can_do(a, MBEDTLS_PK_RSA));
#else
	CHECK(a == &rsa->pk);
#endif
	CHECK_EQ_INT(cf_key_spki_der(p384, &der, &len), 0);
	CHECK_EQ_INT(cf_key_parse(der, len, &pub), 0);
	a = NULL;
	CHECK_EQ_INT(cf_key_signer(pub, &a), CF_EBADKEY);
	CHECK(a == NULL);
	cf_key_free(pub);
	free(der);
}

static void test_csr_without_cn_and_bad_cn(void)
{
	mbedtls_x509_csr csr;
	char subject[64] = "";
	uint8_t *der = NULL;
	size_t len = 0;

	/* no CN asked for: "CN=certflow", since mbedTLS cannot parse an empty subject */
	CHECK_EQ_INT(cf_csr_create(p256, NULL, &der, &len), 0);
	CHECK(der && len > 64);
	mbedtls_x509_csr_init(&csr);
	CHECK_EQ_INT(mbedtls_x509_csr_parse_der(&csr, der, len), 0);
	mbedtls_x509_dn_gets(subject, sizeof(subject), &csr.subject);
	CHECK_EQ_STR(subject, "CN=certflow");
	mbedtls_x509_csr_free(&csr);
	free(der);
	der = NULL;
	CHECK_EQ_INT(cf_csr_create(p256, "a,O=evil", &der, &len), CF_EMALFORMED);
	CHECK_EQ_INT(cf_csr_create(p256, "", &der, &len), CF_EMALFORMED);
	CHECK(der == NULL);
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
	CHECK_EQ_INT(cf_key_generate(CF_KEY_RSA, 1024, &(cf_key *){NULL}), CF_EBADKEY);
	RUN(test_thumbprint_matches_rfc7638_example);
	RUN(test_sha256_and_hmac_match_known_answers);
	RUN(test_ct_equal_and_zeroize);
	RUN(test_random_differs_between_calls_and_threads);
	RUN(test_small_random_draws_never_repeat_even_across_fork);
	RUN(test_es256_sign_verify_roundtrip_and_tamper);
	RUN(test_es384_sign_verify_roundtrip_and_tamper);
	RUN(test_rs256_sign_verify_roundtrip_and_tamper);
	RUN(test_es256_signatures_with_leading_zero_octets_verify);
	RUN(test_one_key_signs_and_verifies_on_many_threads_at_once);
	RUN(test_sign_and_verify_refuse_alg_that_does_not_fit_the_key);
	RUN(test_alg_names_map_both_ways);
	RUN(test_jwk_export_import_roundtrip);
	RUN(test_jwk_import_rejects_bad_keys);
	RUN(test_rsa_jwk_with_even_exponent_is_refused);
	RUN(test_key_save_and_load_roundtrip_with_mode_0600);
	RUN(test_public_key_parses_from_der_and_cannot_be_saved);
	RUN(test_csr_is_self_signed_with_sha256);
	RUN(test_csr_without_cn_and_bad_cn);
	RUN(test_verify_digest_refuses_tampering_and_bad_der);
	RUN(test_signer_is_long_lived_and_needs_a_private_key);
	RUN(test_sign_digest_is_rfc6979_deterministic_ecdsa);
	cf_key_free(p256);
	cf_key_free(p384);
	cf_key_free(rsa);
	cf_key_free(NULL);
	return check_done();
}
