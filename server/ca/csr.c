/*
 * csr — the checks on a PKCS#10 request before anything is issued for it: bounded size, a DER
 * that parses, a key of an accepted type and size, and a self-signature that verifies with that
 * key under SHA-2. Only the public key is kept; the CSR's names are never used, but a subject
 * that is the empty sequence is refused as CF_EBADCSR (spec §9; mbedTLS's CSR parser refuses it,
 * and the conformance row csr_with_an_empty_subject holds it). The signature is checked through
 * cf_crypto (cf_verify_digest), whose ECDSA runs on a long-lived group: mbedTLS's own pk_verify
 * would copy the key's group and rebuild the base-point table for every CSR.
 */
#include "ca_internal.h"

#include <mbedtls/md.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_csr.h>

#include "cf_err.h"

#define CSR_MAX 8192

/* The CSR's signature over its CertificationRequestInfo, with its own key. SHA-1 and MD5
 * signatures are refused as bad CSRs: every current client signs with SHA-2. */
static int check_signature(const mbedtls_x509_csr *csr, const cf_key *key)
{
	const mbedtls_md_info_t *md;
	uint8_t hash[MBEDTLS_MD_MAX_SIZE];
	int is_ec = cf_key_type(key) != CF_KEY_RSA;

	if (csr->sig_md != MBEDTLS_MD_SHA256 && csr->sig_md != MBEDTLS_MD_SHA384 &&
	    csr->sig_md != MBEDTLS_MD_SHA512)
		return CF_EBADCSR;
	if (!(md = mbedtls_md_info_from_type(csr->sig_md)) ||
	    mbedtls_md(md, csr->cri.p, csr->cri.len, hash) != 0)
		return CF_EBADCSR;
	/* RSASSA-PSS carries parameters only mbedTLS reads; it has no base-point table to keep */
	if (csr->sig_pk == MBEDTLS_PK_RSASSA_PSS)
		return mbedtls_pk_verify_ext(csr->sig_pk, csr->sig_opts,
					     (mbedtls_pk_context *)&key->pk, csr->sig_md, hash,
					     mbedtls_md_get_size(md), csr->sig.p, csr->sig.len) == 0
			   ? 0
			   : CF_EBADCSR;
	/* the signature algorithm must be the key's: ECDSA for EC, PKCS#1 v1.5 for RSA */
	if ((csr->sig_pk == MBEDTLS_PK_ECDSA) != is_ec ||
	    (csr->sig_pk != MBEDTLS_PK_ECDSA && csr->sig_pk != MBEDTLS_PK_RSA))
		return CF_EBADCSR;
	return cf_verify_digest(key, hash, mbedtls_md_get_size(md), csr->sig.p, csr->sig.len) == 0
		   ? 0
		   : CF_EBADCSR;
}

int ca_csr_check(const uint8_t *der, size_t len, cf_key **key)
{
	mbedtls_x509_csr csr;
	cf_key *k = NULL;
	int ret = CF_EBADCSR;

	if (!der || len == 0 || len > CSR_MAX || !key)
		return CF_EBADCSR;
	mbedtls_x509_csr_init(&csr);
	if (mbedtls_x509_csr_parse_der(&csr, der, len) != 0)
		goto out;
	/* The key's policy first (P-256, P-384, RSA 2048..4096: CF_EBADKEY otherwise), since
	 * verifying with a 16384-bit RSA key would cost before we refuse. This moves the parsed key
	 * out of csr; csr.pk is left empty for mbedtls_x509_csr_free. */
	if ((ret = cf_key_from_pk(&csr.pk, &k)) != 0 || (ret = check_signature(&csr, k)) != 0)
		goto out;
	*key = k;
	k = NULL;
out:
	cf_key_free(k);
	mbedtls_x509_csr_free(&csr);
	return ret;
}
