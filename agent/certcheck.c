/*
 * certcheck — the checks made before a new credential is installed (install.h): the certificate
 * holds our key, and certificate + chain lead to the trust anchor. The agent's only mbedTLS code
 * outside the transport.
 *
 * Never: install on a partial check; every failure is an error with a reason.
 */
#include "install.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/error.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

#include "cf_clock.h"
#include "cf_err.h"
#include "cf_file.h"

#define CERT_PEM_MAX (256 * 1024)

/* The certificate's public key as a cf_key (SubjectPublicKeyInfo round trip). */
static int cert_key(const mbedtls_x509_crt *crt, cf_key **out)
{
	unsigned char der[2048];
	int n = mbedtls_pk_write_pubkey_der((mbedtls_pk_context *)&crt->pk, der, sizeof(der));

	if (n <= 0)
		return CF_EMALFORMED;
	/* written at the end of the buffer */
	return cf_key_parse(der + sizeof(der) - (size_t)n, (size_t)n, out);
}

static int parse_pem(mbedtls_x509_crt *crt, const char *pem)
{
	return mbedtls_x509_crt_parse(crt, (const unsigned char *)pem, strlen(pem) + 1);
}

int certcheck_verify(const char *cert_pem, const char *chain_pem, const cf_key *key,
		     const char *ca_file, char *why, size_t why_len)
{
	mbedtls_x509_crt crt, ca;
	cf_key *ck = NULL;
	uint32_t flags = 0;
	char info[256];
	int ret = CF_EMALFORMED, mret;

	mbedtls_x509_crt_init(&crt);
	mbedtls_x509_crt_init(&ca);
	/* exactly one certificate in cert_pem, then the chain appended behind it */
	if (parse_pem(&crt, cert_pem) != 0 || crt.next != NULL) {
		snprintf(why, why_len, "the certificate is not one PEM certificate");
		goto out;
	}
	if (parse_pem(&crt, chain_pem) != 0) {
		snprintf(why, why_len, "the chain is not a list of PEM certificates");
		goto out;
	}
	if (cert_key(&crt, &ck) != 0 || !cf_key_public_equal(ck, key)) {
		ret = CF_EBADKEY;
		snprintf(why, why_len, "the certificate is not for the key made for it");
		goto out;
	}
	if ((mret = mbedtls_x509_crt_parse_file(&ca, ca_file)) != 0) {
		mbedtls_strerror(mret, info, sizeof(info));
		ret = CF_EIO;
		snprintf(why, why_len, "trust anchor %s: %s", ca_file, info);
		goto out;
	}
	mret = mbedtls_x509_crt_verify(&crt, &ca, NULL, NULL, &flags, NULL, NULL);
	/* Times are the server's business here: a device without a clock must still install. */
	flags &= ~(uint32_t)(MBEDTLS_X509_BADCERT_EXPIRED | MBEDTLS_X509_BADCERT_FUTURE);
	if (mret != 0 && (mret != MBEDTLS_ERR_X509_CERT_VERIFY_FAILED || flags != 0)) {
		if (mbedtls_x509_crt_verify_info(info, sizeof(info), "", flags) < 0)
			info[0] = '\0';
		info[strcspn(info, "\n")] = '\0';
		ret = CF_EVERIFY;
		snprintf(why, why_len, "the certificate does not verify to %s: %s", ca_file, info);
		goto out;
	}
	ret = 0;
out:
	cf_key_free(ck);
	mbedtls_x509_crt_free(&crt);
	mbedtls_x509_crt_free(&ca);
	return ret;
}

static int64_t x509_time(const mbedtls_x509_time *t)
{
	char s[32];
	int64_t v;

	snprintf(s, sizeof(s), "%04d-%02d-%02dT%02d:%02d:%02dZ", t->year, t->mon, t->day, t->hour,
		 t->min, t->sec);
	return cf_time_parse(s, &v) == 0 ? v : 0;
}

int certcheck_info(const char *path, struct cert_info *out)
{
	mbedtls_x509_crt crt;
	struct cert_info info;
	char *pem = NULL;
	size_t len, i = 0, o = 0;
	int ret;

	if ((ret = cf_file_read(path, CERT_PEM_MAX, &pem, &len)) != 0)
		return ret;
	mbedtls_x509_crt_init(&crt);
	ret = CF_EMALFORMED;
	if (parse_pem(&crt, pem) != 0 || crt.serial.len == 0 || crt.serial.len > 32)
		goto out;
	memset(&info, 0, sizeof(info));
	while (i + 1 < crt.serial.len && crt.serial.p[i] == 0)
		i++;
	for (; i < crt.serial.len; i++, o += 2)
		snprintf(info.serial + o, 3, "%02x", crt.serial.p[i]);
	info.not_before = x509_time(&crt.valid_from);
	info.not_after = x509_time(&crt.valid_to);
	if (info.not_before == 0 || info.not_after == 0)
		goto out;
	*out = info;
	ret = 0;
out:
	mbedtls_x509_crt_free(&crt);
	free(pem);
	return ret;
}
