/* test_ca_crl — ca_crl checked by openssl crl / openssl verify -crl_check and by mbedTLS. */
#include <time.h>

#include <mbedtls/x509_crl.h>
#include <mbedtls/x509_crt.h>

#include "test_ca_util.h"

static ca *the_ca;

static int write_crl(const char *name, const uint8_t *der, size_t len)
{
	return write_all_file(tpath("%s", name), der, len);
}

static int issue_one(const cf_key *key, struct ca_issued *out)
{
	struct ca_issue_req req = {.subject_key = key,
				   .subject_cn = "crl-test",
				   .kind = CA_PROFILE_DEVICE,
				   .now = (int64_t)time(NULL) - 3600,
				   .validity_secs = 86400};
	return ca_issue(the_ca, &req, out);
}

static void upper(const char *in, char *out)
{
	for (; *in; in++)
		*out++ = (char)(*in >= 'a' && *in <= 'f' ? *in - 'a' + 'A' : *in);
	*out = '\0';
}

static void test_ca_crl_verifies_with_openssl(void)
{
	cf_key *key = csr_key("leaf", KEY_P256);
	struct ca_issued held = {0}, comp = {0}, good = {0};
	int64_t now = (int64_t)time(NULL);
	uint8_t *der = NULL;
	size_t len = 0;
	char line[128], up[64], *out;

	CHECK(key && issue_one(key, &held) == 0 && issue_one(key, &comp) == 0 &&
	      issue_one(key, &good) == 0);
	if (!good.der)
		goto out;
	struct ca_crl_entry e[] = {
	    {held.serial, now - 120, 6},      /* certificateHold */
	    {comp.serial, now - 60, 1},	      /* keyCompromise */
	    {"0a1b2c3d4e5f60718293", now, 4}, /* superseded, 10 octets */
	    {"ff", now - 30, 0},	      /* unspecified: no reasonCode */
	    {"1", now - 10, 5},		      /* cessationOfOperation */
	};
	CHECK_EQ_INT(ca_crl(the_ca, e, 5, 7, now, 7 * 86400, &der, &len), 0);
	if (!der)
		goto out;
	CHECK(write_crl("crl.der", der, len) == 0);
	CHECK(write_all_file(tpath("chain.pem"), ca_chain_pem(the_ca),
			     strlen(ca_chain_pem(the_ca))) == 0);
	out = capture("openssl crl -inform DER -in '%s' -CAfile '%s' -noout -verify",
		      tpath("crl.der"), tpath("chain.pem"));
	CHECK(contains(out, "verify OK"));
	free(out);

	out = capture("openssl crl -inform DER -in '%s' -noout -text", tpath("crl.der"));
	CHECK(contains(out, "Version 2 (0x1)"));
	CHECK(contains(out, "Signature Algorithm: ecdsa-with-SHA256"));
	CHECK(contains(out, "Issuer: CN = certflow Issuing CA, O = certflow"));
	CHECK(contains(out, "X509v3 Authority Key Identifier"));
	CHECK(contains(out, "X509v3 CRL Number: \n                7\n"));
	upper(held.serial, up);
	snprintf(line, sizeof(line), "Serial Number: %s\n", up);
	CHECK(contains(out, line));
	CHECK(contains(out, "Certificate Hold"));
	upper(comp.serial, up);
	snprintf(line, sizeof(line), "Serial Number: %s\n", up);
	CHECK(contains(out, line));
	CHECK(contains(out, "Key Compromise"));
	CHECK(contains(out, "Serial Number: 0A1B2C3D4E5F60718293\n"));
	CHECK(contains(out, "Superseded"));
	CHECK(contains(out, "Serial Number: FF\n        Revocation Date"));
	CHECK(contains(out, "Serial Number: 01\n"));
	CHECK(contains(out, "Cessation Of Operation"));
	/* The caller's order is kept. */
	CHECK(strstr(out, "Certificate Hold") < strstr(out, "Key Compromise"));
	free(out);

	/* openssl's chain check with the CRL: the held certificate is revoked, another is not. */
	CHECK(run("openssl crl -inform DER -in '%s' -out '%s'", tpath("crl.der"),
		  tpath("crl.pem")) == 0);
	CHECK(write_pem_cert(tpath("held.pem"), held.der, held.der_len) == 0);
	CHECK(write_pem_cert(tpath("good.pem"), good.der, good.der_len) == 0);
	out = capture("openssl verify -crl_check -CAfile '%s' -CRLfile '%s' '%s'",
		      tpath("chain.pem"), tpath("crl.pem"), tpath("held.pem"));
	CHECK(contains(out, "certificate revoked"));
	free(out);
	out = capture("openssl verify -crl_check -CAfile '%s' -CRLfile '%s' '%s'",
		      tpath("chain.pem"), tpath("crl.pem"), tpath("good.pem"));
	CHECK(contains(out, ": OK"));
	free(out);
out:
	free(der);
	free(held.der);
	free(comp.der);
	free(good.der);
	cf_key_free(key);
}

static void test_ca_crl_parses_with_mbedtls(void)
{
	cf_key *key = csr_key("mbed", KEY_P256);
	struct ca_issued crt = {0};
	mbedtls_x509_crl crl;
	mbedtls_x509_crt leaf;
	uint8_t *der = NULL;
	size_t len = 0;
	int64_t now = (int64_t)time(NULL);

	mbedtls_x509_crl_init(&crl);
	mbedtls_x509_crt_init(&leaf);
	CHECK(key && issue_one(key, &crt) == 0);
	if (!crt.der)
		goto out;
	struct ca_crl_entry e[] = {{crt.serial, now, 3}};
	CHECK_EQ_INT(ca_crl(the_ca, e, 1, 1, now, 86400, &der, &len), 0);
	CHECK(der && mbedtls_x509_crl_parse_der(&crl, der, len) == 0);
	CHECK(mbedtls_x509_crt_parse_der(&leaf, crt.der, crt.der_len) == 0);
	CHECK(mbedtls_x509_crt_is_revoked(&leaf, &crl) == 1);
out:
	mbedtls_x509_crl_free(&crl);
	mbedtls_x509_crt_free(&leaf);
	free(der);
	free(crt.der);
	cf_key_free(key);
}

static void test_ca_crl_empty_omits_revoked_certificates(void)
{
	uint8_t *der = NULL;
	size_t len = 0;
	char *out;

	CHECK_EQ_INT(ca_crl(the_ca, NULL, 0, 1, (int64_t)time(NULL), 7 * 86400, &der, &len), 0);
	if (!der)
		return;
	CHECK(write_crl("empty.der", der, len) == 0);
	out = capture("openssl crl -inform DER -in '%s' -CAfile '%s' -noout -verify -text",
		      tpath("empty.der"), tpath("chain.pem"));
	CHECK(contains(out, "verify OK"));
	CHECK(contains(out, "No Revoked Certificates."));
	free(out);
	out = capture("openssl asn1parse -inform DER -in '%s'", tpath("empty.der"));
	/* nextUpdate is followed directly by crlExtensions [0]: no revokedCertificates. */
	{
		char *t1 = strstr(out, "UTCTIME"), *t2 = t1 ? strstr(t1 + 1, "UTCTIME") : NULL;
		char *nl = t2 ? strchr(t2, '\n') : NULL, *next = nl ? strchr(nl + 1, '\n') : NULL;
		CHECK(next && memmem(nl, (size_t)(next - nl), "cont [ 0 ]", 10) != NULL);
	}
	free(out);
	free(der);
}

static void test_ca_crl_times_after_2049_are_generalized(void)
{
	uint8_t *der = NULL;
	size_t len = 0;
	int64_t now = 2524608000 - 86400; /* 2049-12-31T00:00:00Z */
	struct ca_crl_entry e[] = {{"abcdef", now, 2}};
	char *out;

	CHECK_EQ_INT(ca_crl(the_ca, e, 1, UINT64_MAX, now, 7 * 86400, &der, &len), 0);
	if (!der)
		return;
	CHECK(write_crl("y2050.der", der, len) == 0);
	out = capture("openssl asn1parse -inform DER -in '%s'", tpath("y2050.der"));
	CHECK(contains(out, "UTCTIME           :491231000000Z"));
	CHECK(contains(out, "GENERALIZEDTIME   :20500107000000Z"));
	free(out);
	out = capture("openssl crl -inform DER -in '%s' -CAfile '%s' -noout -verify -text",
		      tpath("y2050.der"), tpath("chain.pem"));
	CHECK(contains(out, "verify OK"));
	CHECK(contains(out, "CA Compromise"));
	CHECK(contains(out, "CRL Number: \n                18446744073709551615\n"));
	free(out);
	free(der);
}

static void test_ca_crl_bad_entries_refused(void)
{
	int64_t now = (int64_t)time(NULL);
	struct ca_crl_entry reason7[] = {{"01", now, 7}};
	struct ca_crl_entry reason11[] = {{"01", now, 11}};
	struct ca_crl_entry neg[] = {{"01", now, -1}};
	struct ca_crl_entry hex[] = {{"xyz", now, 1}};
	struct ca_crl_entry zero[] = {{"000", now, 1}};
	struct ca_crl_entry empty[] = {{"", now, 1}};
	struct ca_crl_entry none[] = {{NULL, now, 1}};
	struct ca_crl_entry longs[] = {{"0123456789abcdef0123456789abcdef012345678", now, 1}};
	uint8_t *der = NULL;
	size_t len = 0;

	CHECK_EQ_INT(ca_crl(the_ca, reason7, 1, 1, now, 60, &der, &len), CF_EBADREASON);
	CHECK_EQ_INT(ca_crl(the_ca, reason11, 1, 1, now, 60, &der, &len), CF_EBADREASON);
	CHECK_EQ_INT(ca_crl(the_ca, neg, 1, 1, now, 60, &der, &len), CF_EBADREASON);
	CHECK_EQ_INT(ca_crl(the_ca, hex, 1, 1, now, 60, &der, &len), CF_EMALFORMED);
	CHECK_EQ_INT(ca_crl(the_ca, zero, 1, 1, now, 60, &der, &len), CF_EMALFORMED);
	CHECK_EQ_INT(ca_crl(the_ca, empty, 1, 1, now, 60, &der, &len), CF_EMALFORMED);
	CHECK_EQ_INT(ca_crl(the_ca, none, 1, 1, now, 60, &der, &len), CF_EMALFORMED);
	CHECK_EQ_INT(ca_crl(the_ca, longs, 1, 1, now, 60, &der, &len), CF_EMALFORMED);
	CHECK_EQ_INT(ca_crl(the_ca, NULL, 0, 1, now, 0, &der, &len), CF_EMALFORMED);
	CHECK(der == NULL);
}

static void test_ca_crl_many_entries(void)
{
	enum { N = 5000 };
	static struct ca_crl_entry e[N];
	static char serials[N][48];
	uint8_t *der = NULL;
	size_t len = 0;
	int64_t now = (int64_t)time(NULL);
	char *out;

	for (int i = 0; i < N; i++) {
		snprintf(serials[i], sizeof(serials[i]), "%08x%024x", 0x7f000000 + i, i * 7919);
		e[i] = (struct ca_crl_entry){serials[i], now - i, i % 11 == 7 ? 1 : i % 11};
	}
	CHECK_EQ_INT(ca_crl(the_ca, e, N, 99, now, 86400, &der, &len), 0);
	if (!der)
		return;
	CHECK(write_crl("many.der", der, len) == 0);
	out = capture("openssl crl -inform DER -in '%s' -CAfile '%s' -noout -verify -text | "
		      "grep -c 'Serial Number'",
		      tpath("many.der"), tpath("chain.pem"));
	CHECK(contains(out, "verify OK\n5000\n"));
	free(out);
	free(der);
}

int main(void)
{
	tdir_make();
	if (ca_open(tpath("ca"), NULL, &the_ca) != 0) {
		fprintf(stderr, "ca_open failed\n");
		return 1;
	}
	RUN(test_ca_crl_verifies_with_openssl);
	RUN(test_ca_crl_parses_with_mbedtls);
	RUN(test_ca_crl_empty_omits_revoked_certificates);
	RUN(test_ca_crl_times_after_2049_are_generalized);
	RUN(test_ca_crl_bad_entries_refused);
	RUN(test_ca_crl_many_entries);
	ca_free(the_ca);
	if (check_failures == 0)
		tdir_remove();
	else
		fprintf(stderr, "files kept in %s\n", tdir);
	return check_done();
}
