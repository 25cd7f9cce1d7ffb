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

#include <string.h>

#include <mbedtls/asn1.h>
#include <mbedtls/md.h>
#include <mbedtls/oid.h>
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

/* A CSR whose subject is the empty sequence, which mbedTLS's parser refuses but RFC 8555 clients
 * send (the names are in subjectAltName): parsed here into csr (raw left empty), as
 * mbedtls_x509_csr_parse_der would have. -1 if it is not such a CSR. */
static int parse_empty_subject(const uint8_t *der, size_t len, mbedtls_x509_csr *csr)
{
	unsigned char *p = (unsigned char *)der, *end = p + len, *cri_end;
	mbedtls_x509_buf params;
	size_t n;
	int version;

	if (mbedtls_asn1_get_tag(&p, end, &n, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE) ||
	    p + n != end)
		return -1;
	csr->cri.p = p;
	if (mbedtls_asn1_get_tag(&p, end, &n, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
		return -1;
	cri_end = p + n;
	csr->cri.len = (size_t)(cri_end - csr->cri.p);
	if (mbedtls_asn1_get_int(&p, cri_end, &version) || version != 0 ||
	    mbedtls_asn1_get_tag(&p, cri_end, &n,
				 MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE) ||
	    n != 0 || mbedtls_pk_parse_subpubkey(&p, cri_end, &csr->pk) != 0)
		return -1;
	p = cri_end;
	if (mbedtls_x509_get_alg(&p, end, &csr->sig_oid, &params) ||
	    mbedtls_x509_get_sig_alg(&csr->sig_oid, &params, &csr->sig_md, &csr->sig_pk,
				     &csr->sig_opts) ||
	    mbedtls_x509_get_sig(&p, end, &csr->sig) || p != end)
		return -1;
	csr->version = 1;
	return 0;
}

/* Parse der into csr; a CSR with an empty subject only when empty_ok. */
static int csr_parse(const uint8_t *der, size_t len, int empty_ok, mbedtls_x509_csr *csr)
{
	if (!der || len == 0 || len > CSR_MAX)
		return -1;
	if (mbedtls_x509_csr_parse_der(csr, der, len) == 0)
		return 0;
	if (!empty_ok)
		return -1;
	mbedtls_x509_csr_free(csr);
	mbedtls_x509_csr_init(csr);
	return parse_empty_subject(der, len, csr);
}

static int csr_check(const uint8_t *der, size_t len, int empty_ok, cf_key **key)
{
	mbedtls_x509_csr csr;
	cf_key *k = NULL;
	int ret = CF_EBADCSR;

	if (!key)
		return CF_EBADCSR;
	mbedtls_x509_csr_init(&csr);
	if (csr_parse(der, len, empty_ok, &csr) != 0)
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

int ca_csr_check(const uint8_t *der, size_t len, cf_key **key)
{
	return csr_check(der, len, 0, key);
}

int ca_csr_check_acme(const uint8_t *der, size_t len, cf_key **key)
{
	return csr_check(der, len, 1, key);
}

/* The names of csr's subjectAltName extension (extensionRequest attribute of its
 * CertificationRequestInfo): dNSNames into names; any other kind of name is CF_EBADCSR. */
static int san_names(const unsigned char *p, const unsigned char *end, char names[][CA_NAME_MAX],
		     size_t max, size_t *n)
{
	size_t len;

	if (mbedtls_asn1_get_tag((unsigned char **)&p, end, &len,
				 MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE) != 0 ||
	    p + len != end)
		return CF_EBADCSR;
	while (p < end) {
		unsigned char tag = *p++;

		if (mbedtls_asn1_get_len((unsigned char **)&p, end, &len) != 0)
			return CF_EBADCSR;
		if (tag != (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 2) || len == 0 || len >= CA_NAME_MAX ||
		    *n >= max)
			return CF_EBADCSR; /* not a dNSName, or too many */
		memcpy(names[*n], p, len);
		names[*n][len] = '\0';
		if (strlen(names[*n]) != len)
			return CF_EBADCSR;
		(*n)++;
		p += len;
	}
	return 0;
}

/* Walk the attributes [0] of the CertificationRequestInfo at p..end for extensionRequest. */
static int request_names(const unsigned char *p, const unsigned char *end,
			 char names[][CA_NAME_MAX], size_t max, size_t *n)
{
	static const char ext_req[] = MBEDTLS_OID_PKCS9_CSR_EXT_REQ;
	static const char san[] = MBEDTLS_OID_SUBJECT_ALT_NAME;
	unsigned char *q = (unsigned char *)p;
	size_t len;

	/* CertificationRequestInfo ::= SEQUENCE { version, subject, subjectPKInfo, [0] attrs } */
	if (mbedtls_asn1_get_tag(&q, end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
		return CF_EBADCSR;
	end = q + len;
	if (mbedtls_asn1_get_tag(&q, end, &len, MBEDTLS_ASN1_INTEGER))
		return CF_EBADCSR;
	q += len;
	for (int i = 0; i < 2; i++) {
		if (mbedtls_asn1_get_tag(&q, end, &len,
					 MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
			return CF_EBADCSR;
		q += len;
	}
	if (q == end)
		return 0; /* no attributes */
	if (mbedtls_asn1_get_tag(&q, end, &len,
				 MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_ASN1_CONSTRUCTED | 0))
		return CF_EBADCSR;
	end = q + len;
	while (q < end) {
		unsigned char *attr_end, *ext_end;
		mbedtls_asn1_buf oid;

		if (mbedtls_asn1_get_tag(&q, end, &len,
					 MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
			return CF_EBADCSR;
		attr_end = q + len;
		if (mbedtls_asn1_get_tag(&q, attr_end, &oid.len, MBEDTLS_ASN1_OID))
			return CF_EBADCSR;
		oid.p = q;
		q += oid.len;
		if (oid.len != sizeof(ext_req) - 1 || memcmp(oid.p, ext_req, oid.len) != 0) {
			q = attr_end;
			continue;
		}
		/* SET { Extensions ::= SEQUENCE OF Extension } */
		if (mbedtls_asn1_get_tag(&q, attr_end, &len,
					 MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SET) ||
		    mbedtls_asn1_get_tag(&q, attr_end, &len,
					 MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
			return CF_EBADCSR;
		ext_end = q + len;
		while (q < ext_end) {
			unsigned char *one_end;
			int critical = 0;

			if (mbedtls_asn1_get_tag(&q, ext_end, &len,
						 MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
				return CF_EBADCSR;
			one_end = q + len;
			if (mbedtls_asn1_get_tag(&q, one_end, &oid.len, MBEDTLS_ASN1_OID))
				return CF_EBADCSR;
			oid.p = q;
			q += oid.len;
			if (q < one_end && *q == MBEDTLS_ASN1_BOOLEAN &&
			    mbedtls_asn1_get_bool(&q, one_end, &critical))
				return CF_EBADCSR;
			if (mbedtls_asn1_get_tag(&q, one_end, &len, MBEDTLS_ASN1_OCTET_STRING) ||
			    q + len != one_end)
				return CF_EBADCSR;
			if (oid.len == sizeof(san) - 1 && memcmp(oid.p, san, oid.len) == 0 &&
			    san_names(q, one_end, names, max, n) != 0)
				return CF_EBADCSR;
			q = one_end;
		}
		q = attr_end;
	}
	return 0;
}

int ca_csr_names(const uint8_t *der, size_t len, char names[][CA_NAME_MAX], size_t max, size_t *n)
{
	mbedtls_x509_csr csr;
	const mbedtls_x509_name *dn;
	int ret = CF_EBADCSR;

	*n = 0;
	mbedtls_x509_csr_init(&csr);
	if (csr_parse(der, len, 1, &csr) != 0)
		goto out;
	for (dn = &csr.subject; dn; dn = dn->next) {
		if (!dn->oid.p || MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &dn->oid) != 0)
			continue;
		if (dn->val.len == 0 || dn->val.len >= CA_NAME_MAX || *n >= max)
			goto out;
		memcpy(names[*n], dn->val.p, dn->val.len);
		names[*n][dn->val.len] = '\0';
		if (strlen(names[*n]) != dn->val.len)
			goto out;
		(*n)++;
	}
	ret = request_names(csr.cri.p, csr.cri.p + csr.cri.len, names, max, n);
out:
	mbedtls_x509_csr_free(&csr);
	return ret;
}
