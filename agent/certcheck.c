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
#include "cf_crypto_mbedtls.h"
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

/* The validity check of certcheck_verify, at a time of our choosing (mbedTLS 2.28 verifies
 * against the local clock only): called for every certificate of the verified chain, the trust
 * anchor included. */
struct at_check {
	int64_t at;		/* 0: times not checked */
	int64_t bad_nb, bad_na; /* the validity of a certificate not valid at at (bad_na != 0) */
};

static int at_cb(void *ctx, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
	struct at_check *c = ctx;
	int64_t nb = cf_x509_time_unix(&crt->valid_from), na = cf_x509_time_unix(&crt->valid_to);

	(void)depth;
	*flags &= ~(uint32_t)(MBEDTLS_X509_BADCERT_EXPIRED | MBEDTLS_X509_BADCERT_FUTURE);
	if (c->at && !c->bad_na && (c->at < nb || c->at > na)) {
		c->bad_nb = nb;
		c->bad_na = na ? na : 1;
	}
	return 0;
}

int certcheck_verify(const char *cert_pem, const char *chain_pem, const cf_key *key,
		     const char *ca_file, int64_t at, char *why, size_t why_len)
{
	mbedtls_x509_crt crt, ca;
	struct at_check times = {.at = at};
	cf_key *ck = NULL;
	uint32_t flags = 0;
	char info[256], t[21], nb[21], na[21];
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
	/* Times by at (the server's time, when the device clock is off), not by the local clock:
	 * the callback drops mbedTLS's two time flags and checks every certificate against at. */
	mret = mbedtls_x509_crt_verify(&crt, &ca, NULL, NULL, &flags, at_cb, &times);
	if (mret != 0 && (mret != MBEDTLS_ERR_X509_CERT_VERIFY_FAILED || flags != 0)) {
		if (mbedtls_x509_crt_verify_info(info, sizeof(info), "", flags) < 0)
			info[0] = '\0';
		info[strcspn(info, "\n")] = '\0';
		ret = CF_EVERIFY;
		snprintf(why, why_len, "the certificate does not verify to %s: %s", ca_file, info);
		goto out;
	}
	if (times.bad_na) {
		cf_time_format(at, t);
		cf_time_format(times.bad_nb, nb);
		cf_time_format(times.bad_na, na);
		ret = CF_EVERIFY;
		snprintf(why, why_len,
			 "a certificate of the new set is not valid at %s (valid %s to %s)", t, nb,
			 na);
		goto out;
	}
	ret = 0;
out:
	cf_key_free(ck);
	mbedtls_x509_crt_free(&crt);
	mbedtls_x509_crt_free(&ca);
	return ret;
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
	info.not_before = cf_x509_time_unix(&crt.valid_from);
	info.not_after = cf_x509_time_unix(&crt.valid_to);
	if (info.not_before == 0 || info.not_after == 0)
		goto out;
	*out = info;
	ret = 0;
out:
	mbedtls_x509_crt_free(&crt);
	free(pem);
	return ret;
}
