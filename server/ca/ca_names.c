/*
 * ca_names — the subject and issuer names of a certificate as text, for the CSC API's
 * credentials/info (issuerDN, subjectDN). Reads only; never trusts or checks the certificate.
 */
#include "ca_internal.h"

#include <stdio.h>

#include <mbedtls/x509_crt.h>

#include "cf_err.h"

int ca_cert_names(const uint8_t *der, size_t len, char *subject, size_t subject_cap, char *issuer,
		  size_t issuer_cap)
{
	mbedtls_x509_crt crt;
	int ret = CF_EMALFORMED;

	mbedtls_x509_crt_init(&crt);
	if (mbedtls_x509_crt_parse_der(&crt, der, len) != 0)
		goto out;
	if (mbedtls_x509_dn_gets(subject, subject_cap, &crt.subject) < 0 ||
	    mbedtls_x509_dn_gets(issuer, issuer_cap, &crt.issuer) < 0)
		goto out;
	ret = 0;
out:
	mbedtls_x509_crt_free(&crt);
	return ret;
}

int ca_cert_serial(const uint8_t *der, size_t len, char serial[48])
{
	mbedtls_x509_crt crt;
	size_t i = 0, k = 0;
	int ret = CF_EMALFORMED;

	mbedtls_x509_crt_init(&crt);
	if (mbedtls_x509_crt_parse_der(&crt, der, len) != 0 || crt.serial.len == 0)
		goto out;
	while (i < crt.serial.len - 1 && crt.serial.p[i] == 0)
		i++;
	if ((crt.serial.len - i) * 2 >= 48)
		goto out;
	for (; i < crt.serial.len; i++)
		k += (size_t)snprintf(serial + k, 48 - k, "%02x", crt.serial.p[i]);
	ret = 0;
out:
	mbedtls_x509_crt_free(&crt);
	return ret;
}
