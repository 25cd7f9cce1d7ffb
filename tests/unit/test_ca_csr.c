/* test_ca_csr — ca_csr_check on CSRs made by the real openssl req. */
#include "test_ca_util.h"

static int check_file_csr(const char *name, const char *newkey, const char *extra)
{
	cf_key *key = NULL;
	uint8_t *der;
	size_t len = 0;
	int ret;

	if (run("openssl req -new -newkey %s -nodes -keyout '%s' -subj /CN=x %s -outform DER "
		"-out '%s'",
		newkey, tpath("%s.key", name), extra, tpath("%s.csr", name)) != 0)
		return 1000; /* openssl could not make it: not our result */
	der = read_all(tpath("%s.csr", name), &len);
	ret = der ? ca_csr_check(der, len, &key) : 1001;
	if (ret == 0)
		CHECK(key != NULL);
	else
		CHECK(key == NULL);
	cf_key_free(key);
	free(der);
	return ret;
}

static void test_ca_csr_accepts_p256_p384_rsa(void)
{
	CHECK_EQ_INT(check_file_csr("p256", KEY_P256, ""), 0);
	CHECK_EQ_INT(check_file_csr("p384", KEY_P384, ""), 0);
	CHECK_EQ_INT(check_file_csr("rsa2048", "rsa:2048", ""), 0);
	CHECK_EQ_INT(check_file_csr("rsa3072", "rsa:3072", "-sha384"), 0);
	CHECK_EQ_INT(check_file_csr("rsa4096", "rsa:4096", "-sha512"), 0);
}

static void test_ca_csr_key_of_csr_is_returned(void)
{
	cf_key *key = NULL;
	uint8_t *der;
	size_t len = 0;
	char *spki_ours = NULL, *spki_csr;
	uint8_t *spki = NULL;
	size_t spki_len = 0;

	der = make_csr("ret", KEY_P384, "x", &len);
	CHECK(der && ca_csr_check(der, len, &key) == 0);
	if (key) {
		CHECK_EQ_INT(cf_key_type(key), CF_KEY_P384);
		CHECK(cf_key_spki_der(key, &spki, &spki_len) == 0);
		CHECK(write_all_file(tpath("ret.spki"), spki, spki_len) == 0);
		spki_ours = capture("openssl pkey -pubin -inform DER -in '%s' -outform PEM",
				    tpath("ret.spki"));
		spki_csr =
		    capture("openssl req -inform DER -in '%s' -pubkey -noout", tpath("ret.csr"));
		CHECK_EQ_STR(spki_ours, spki_csr);
		free(spki_csr);
	}
	free(spki_ours);
	free(spki);
	cf_key_free(key);
	free(der);
}

static void test_ca_csr_bad_signature_rejected(void)
{
	cf_key *key = NULL;
	uint8_t *der;
	size_t len = 0;

	/* The last octet is inside the signature's s (ECDSA) or the RSA signature: the DER still
	 * parses and only the signature check can notice. */
	der = make_csr("badsig", KEY_P256, "x", &len);
	CHECK(der != NULL);
	if (!der)
		return;
	der[len - 1] ^= 0x01;
	CHECK_EQ_INT(ca_csr_check(der, len, &key), CF_EBADCSR);
	der[len - 1] ^= 0x01;
	CHECK_EQ_INT(ca_csr_check(der, len, &key), 0);
	cf_key_free(key);
	key = NULL;
	free(der);

	/* A changed subject under the original signature. */
	der = make_csr("badsig2", "rsa:2048", "abcdef", &len);
	if (der) {
		uint8_t *p = memmem(der, len, "abcdef", 6);
		CHECK(p != NULL);
		if (p)
			p[0] = 'X';
		CHECK_EQ_INT(ca_csr_check(der, len, &key), CF_EBADCSR);
	}
	CHECK(key == NULL);
	free(der);
}

static void test_ca_csr_rsa_1024_rejected(void)
{
	CHECK_EQ_INT(check_file_csr("rsa1024", "rsa:1024", ""), CF_EBADKEY);
}

static void test_ca_csr_other_curves_rejected(void)
{
	int r;

	CHECK_EQ_INT(check_file_csr("p521", "ec -pkeyopt ec_paramgen_curve:P-521", ""), CF_EBADKEY);
	CHECK_EQ_INT(check_file_csr("k256", "ec -pkeyopt ec_paramgen_curve:secp256k1", ""),
		     CF_EBADKEY);
	/* mbedTLS 2.28 cannot parse an Ed25519 key at all: a bad CSR rather than a bad key. */
	r = check_file_csr("ed25519", "ed25519", "");
	CHECK(r == CF_EBADCSR || r == CF_EBADKEY);
}

static void test_ca_csr_sha1_signature_rejected(void)
{
	int r = check_file_csr("sha1", KEY_P256, "-sha1");

	if (r != 1000) /* this openssl may refuse to sign with SHA-1 at all */
		CHECK_EQ_INT(r, CF_EBADCSR);
}

static void test_ca_csr_malformed_rejected(void)
{
	cf_key *key = NULL;
	uint8_t *der, *big;
	size_t len = 0;

	der = make_csr("mal", KEY_P256, "x", &len);
	CHECK(der != NULL);
	if (!der)
		return;
	CHECK_EQ_INT(ca_csr_check(der, len - 1, &key), CF_EBADCSR); /* truncated */
	CHECK_EQ_INT(ca_csr_check(der, 0, &key), CF_EBADCSR);
	CHECK_EQ_INT(ca_csr_check(NULL, len, &key), CF_EBADCSR);
	CHECK_EQ_INT(ca_csr_check((const uint8_t *)"garbage", 7, &key), CF_EBADCSR);
	big = calloc(1, 8193);
	if (big) {
		memcpy(big, der, len); /* trailing octets after a good CSR, and > 8 KiB */
		CHECK_EQ_INT(ca_csr_check(big, len + 1, &key), CF_EBADCSR);
		CHECK_EQ_INT(ca_csr_check(big, 8193, &key), CF_EBADCSR);
	}
	CHECK(key == NULL);
	free(big);
	free(der);
}

/* A CSR of openssl req with subject subj ("/" = the empty sequence) and extra options. */
static uint8_t *acme_csr(const char *name, const char *subj, const char *extra, size_t *len)
{
	if (run("openssl req -new -newkey %s -nodes -keyout '%s' -subj '%s' %s -outform DER "
		"-out '%s'",
		KEY_P256, tpath("%s.key", name), subj, extra, tpath("%s.csr", name)) != 0)
		return NULL;
	return read_all(tpath("%s.csr", name), len);
}

static void test_ca_csr_acme_accepts_an_empty_subject_the_native_check_refuses(void)
{
	size_t len = 0, n = 0;
	uint8_t *der =
	    acme_csr("empty", "/", "-addext subjectAltName=DNS:a.example,DNS:b.example", &len);
	char names[4][CA_NAME_MAX];
	cf_key *key = NULL;

	CHECK(der != NULL);
	CHECK_EQ_INT(ca_csr_check(der, len, &key), CF_EBADCSR);
	CHECK_EQ_INT(ca_csr_check_acme(der, len, &key), 0);
	CHECK(key != NULL);
	CHECK_EQ_INT(ca_csr_names(der, len, names, 4, &n), 0);
	CHECK_EQ_INT((int)n, 2);
	CHECK_EQ_STR(names[0], "a.example");
	CHECK_EQ_STR(names[1], "b.example");
	cf_key_free(key);
	key = NULL;
	der[len - 1] ^= 1; /* the signature no longer verifies */
	CHECK_EQ_INT(ca_csr_check_acme(der, len, &key), CF_EBADCSR);
	CHECK(key == NULL);
	free(der);
}

static void test_ca_csr_names_are_the_common_name_then_the_dns_names(void)
{
	size_t len = 0, n = 0;
	uint8_t *der =
	    acme_csr("cn", "/CN=c.example", "-addext subjectAltName=DNS:d.example", &len);
	char names[4][CA_NAME_MAX];

	CHECK(der != NULL);
	CHECK_EQ_INT(ca_csr_names(der, len, names, 4, &n), 0);
	CHECK_EQ_INT((int)n, 2);
	CHECK_EQ_STR(names[0], "c.example");
	CHECK_EQ_STR(names[1], "d.example");
	CHECK_EQ_INT(ca_csr_names(der, len, names, 1, &n), CF_EBADCSR); /* more than max */
	free(der);
}

static void test_ca_csr_names_refuse_an_ip_address_in_subject_alt_name(void)
{
	size_t len = 0, n = 0;
	uint8_t *der = acme_csr("ip", "/CN=e.example", "-addext subjectAltName=IP:127.0.0.1", &len);
	char names[4][CA_NAME_MAX];

	CHECK(der != NULL);
	CHECK_EQ_INT(ca_csr_names(der, len, names, 4, &n), CF_EBADCSR);
	CHECK_EQ_INT(ca_csr_names((const uint8_t *)"garbage", 7, names, 4, &n), CF_EBADCSR);
	free(der);
}

int main(void)
{
	tdir_make();
	RUN(test_ca_csr_accepts_p256_p384_rsa);
	RUN(test_ca_csr_key_of_csr_is_returned);
	RUN(test_ca_csr_bad_signature_rejected);
	RUN(test_ca_csr_rsa_1024_rejected);
	RUN(test_ca_csr_other_curves_rejected);
	RUN(test_ca_csr_sha1_signature_rejected);
	RUN(test_ca_csr_malformed_rejected);
	RUN(test_ca_csr_acme_accepts_an_empty_subject_the_native_check_refuses);
	RUN(test_ca_csr_names_are_the_common_name_then_the_dns_names);
	RUN(test_ca_csr_names_refuse_an_ip_address_in_subject_alt_name);
	if (check_failures == 0)
		tdir_remove();
	else
		fprintf(stderr, "files kept in %s\n", tdir);
	return check_done();
}
