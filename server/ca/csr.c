/*
 * csr — the checks on a PKCS#10 request before anything is issued for it: bounded size, a DER
 * that parses, a self-signature that verifies with the request's own key under SHA-2, and a key
 * of an accepted type and size. Only the public key is kept; the CSR's names are never used.
 */
#include "ca_internal.h"

#include <mbedtls/ecp.h>
#include <mbedtls/md.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_csr.h>

#include "cf_err.h"

#define CSR_MAX 8192

/* P-256, P-384, or RSA of 2048..4096 bits. */
static int check_key(const mbedtls_pk_context *pk)
{
	mbedtls_ecp_group_id id;
	size_t bits;

	switch (mbedtls_pk_get_type(pk)) {
	case MBEDTLS_PK_ECKEY:
		id = mbedtls_pk_ec(*pk)->grp.id;
		return id == MBEDTLS_ECP_DP_SECP256R1 || id == MBEDTLS_ECP_DP_SECP384R1
			   ? 0
			   : CF_EBADKEY;
	case MBEDTLS_PK_RSA:
		bits = mbedtls_pk_get_bitlen(pk);
		return bits >= 2048 && bits <= 4096 ? 0 : CF_EBADKEY;
	default:
		return CF_EBADKEY;
	}
}

/* The CSR's signature over its CertificationRequestInfo, with its own key. SHA-1 and MD5
 * signatures are refused as bad CSRs: every current client signs with SHA-2. */
static int check_signature(mbedtls_x509_csr *csr)
{
	const mbedtls_md_info_t *md;
	uint8_t hash[MBEDTLS_MD_MAX_SIZE];

	if (csr->sig_md != MBEDTLS_MD_SHA256 && csr->sig_md != MBEDTLS_MD_SHA384 &&
	    csr->sig_md != MBEDTLS_MD_SHA512)
		return CF_EBADCSR;
	if (!(md = mbedtls_md_info_from_type(csr->sig_md)) ||
	    mbedtls_md(md, csr->cri.p, csr->cri.len, hash) != 0)
		return CF_EBADCSR;
	if (mbedtls_pk_verify_ext(csr->sig_pk, csr->sig_opts, &csr->pk, csr->sig_md, hash,
				  mbedtls_md_get_size(md), csr->sig.p, csr->sig.len) != 0)
		return CF_EBADCSR;
	return 0;
}

int ca_csr_check(const uint8_t *der, size_t len, cf_key **key)
{
	mbedtls_x509_csr csr;
	int ret = CF_EBADCSR;

	if (!der || len == 0 || len > CSR_MAX || !key)
		return CF_EBADCSR;
	mbedtls_x509_csr_init(&csr);
	if (mbedtls_x509_csr_parse_der(&csr, der, len) != 0)
		goto out;
	/* The key type first: verifying with a 16384-bit RSA key would cost before we refuse. */
	if ((ret = check_key(&csr.pk)) != 0 || (ret = check_signature(&csr)) != 0)
		goto out;
	/* Moves the parsed key out of csr; csr.pk is left empty for mbedtls_x509_csr_free. */
	ret = cf_key_from_pk(&csr.pk, key);
out:
	mbedtls_x509_csr_free(&csr);
	return ret;
}
