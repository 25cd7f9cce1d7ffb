/*
 * crl — X.509 v2 CRLs (RFC 5280 §5) signed by the issuing CA. mbedTLS 2.28 parses CRLs but cannot
 * write them, so the DER is built here with its asn1write primitives, backwards from the end of
 * a buffer as asn1write works: tbsCertList first, then the signed CertificateList around it.
 */
#include "ca_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/asn1write.h>
#include <mbedtls/oid.h>

#include "cf_err.h"

#define OID_CRL_REASON "\x55\x1d\x15" /* id-ce-cRLReasons */
#define ENTRY_MAX 96		      /* DER octets of one revokedCertificates entry, at most */
#define CRL_ENTRIES_MAX 10000000
#define SEQ (MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE)

/* Time ::= UTCTime for 1950..2049, GeneralizedTime otherwise (RFC 5280 §5.1.2.4). */
static int put_time(unsigned char **p, unsigned char *start, int64_t t, size_t *total)
{
	char s[16];
	int utc;

	if (ca_time_x509(t, s) != 0) /* "YYYYMMDDhhmmss", years 1950..9999 */
		return CF_EMALFORMED;
	s[14] = 'Z';
	s[15] = '\0';
	utc = s[0] == '1' || (s[0] == '2' && s[1] == '0' && s[2] < '5');
	/* UTCTime is the same text without the century. */
	return ca_put_tlv(p, start, utc ? MBEDTLS_ASN1_UTC_TIME : MBEDTLS_ASN1_GENERALIZED_TIME,
			  s + (utc ? 2 : 0), utc ? 13 : 15, total);
}

/* A non-negative INTEGER from big-endian magnitude octets (minimal, 0x00 before a top bit). */
static int put_uint(unsigned char **p, unsigned char *start, const uint8_t *v, size_t len,
		    size_t *total)
{
	uint8_t buf[24];

	while (len > 1 && v[0] == 0)
		v++, len--;
	if (len + 1 > sizeof(buf))
		return CF_EINTERNAL;
	buf[0] = 0;
	memcpy(buf + 1, v, len);
	if (v[0] & 0x80)
		return ca_put_tlv(p, start, MBEDTLS_ASN1_INTEGER, buf, len + 1, total);
	return ca_put_tlv(p, start, MBEDTLS_ASN1_INTEGER, buf + 1, len, total);
}

/* Hex serial (as ca_issued.serial) → magnitude octets; 1..20 octets, non-zero. */
static int parse_serial(const char *hex, uint8_t out[20], size_t *len)
{
	size_t n = hex ? strnlen(hex, 41) : 0, k = 0;
	int nonzero = 0;

	if (n == 0 || n > 40)
		return CF_EMALFORMED;
	memset(out, 0, 20);
	for (size_t i = 0; i < n; i++) {
		char c = hex[n - 1 - i];
		int d = c >= '0' && c <= '9'   ? c - '0'
			: c >= 'a' && c <= 'f' ? c - 'a' + 10
			: c >= 'A' && c <= 'F' ? c - 'A' + 10
					       : -1;
		if (d < 0)
			return CF_EMALFORMED;
		nonzero |= d;
		k = (n + 1) / 2 - 1 - i / 2;
		out[k] |= (uint8_t)(i % 2 ? d << 4 : d);
	}
	*len = (n + 1) / 2;
	return nonzero ? 0 : CF_EMALFORMED;
}

/* Extension ::= SEQUENCE { extnID, extnValue OCTET STRING } (never critical here), around the
 * value octets (vlen) that the caller has just written. */
static int put_ext_hdr(unsigned char **p, unsigned char *start, const char *oid, size_t oid_len,
		       size_t vlen, size_t *total)
{
	size_t n = vlen;

	if (ca_put_hdr(p, start, MBEDTLS_ASN1_OCTET_STRING, n, &n) != 0 ||
	    ca_put_tlv(p, start, MBEDTLS_ASN1_OID, oid, oid_len, &n) != 0 ||
	    ca_put_hdr(p, start, SEQ, n, &n) != 0)
		return CF_EINTERNAL;
	*total += n - vlen;
	return 0;
}

/* SEQUENCE { userCertificate, revocationDate, crlEntryExtensions { reasonCode } }; the reason
 * is left out for unspecified (0), as RFC 5280 §5.3.1 asks. */
static int put_entry(unsigned char **p, unsigned char *start, const struct ca_crl_entry *e,
		     size_t *total)
{
	uint8_t serial[20];
	size_t slen = 0, n = 0, v = 0;
	int r;

	if (e->reason < 0 || e->reason > 10 || e->reason == 7)
		return CF_EBADREASON;
	if ((r = parse_serial(e->serial, serial, &slen)) != 0)
		return r;
	if (e->reason != 0) {
		if ((r = mbedtls_asn1_write_enum(p, start, e->reason)) < 0)
			return CF_EINTERNAL;
		v = (size_t)r;
		n = v;
		if (put_ext_hdr(p, start, OID_CRL_REASON, 3, v, &n) != 0 ||
		    ca_put_hdr(p, start, SEQ, n, &n) != 0)
			return CF_EINTERNAL;
	}
	if ((r = put_time(p, start, e->revoked_at, &n)) != 0 ||
	    (r = put_uint(p, start, serial, slen, &n)) != 0 ||
	    (r = ca_put_hdr(p, start, SEQ, n, &n)) != 0)
		return r;
	*total += n;
	return 0;
}

/* crlExtensions [0] EXPLICIT Extensions { authorityKeyIdentifier, cRLNumber }. */
static int put_crl_exts(unsigned char **p, unsigned char *start, const ca *c, uint64_t number,
			size_t *total)
{
	uint8_t num[8], aki_buf[CA_SKI_MAX + 8];
	const uint8_t *aki;
	size_t n = 0, v = 0, aki_len = 0;
	int r;

	for (int i = 0; i < 8; i++)
		num[i] = (uint8_t)(number >> (56 - 8 * i));
	if (put_uint(p, start, num, sizeof(num), &v) != 0 ||
	    put_ext_hdr(p, start, MBEDTLS_OID_CRL_NUMBER, MBEDTLS_OID_SIZE(MBEDTLS_OID_CRL_NUMBER),
			v, &v) != 0)
		return CF_EINTERNAL;
	n += v;
	if (ca_ext_aki(c->ski, c->ski_len, aki_buf, sizeof(aki_buf), &aki, &aki_len) != 0 ||
	    (r = mbedtls_asn1_write_raw_buffer(p, start, aki, aki_len)) < 0)
		return CF_EINTERNAL;
	v = (size_t)r;
	if (put_ext_hdr(p, start, MBEDTLS_OID_AUTHORITY_KEY_IDENTIFIER,
			MBEDTLS_OID_SIZE(MBEDTLS_OID_AUTHORITY_KEY_IDENTIFIER), v, &v) != 0)
		return CF_EINTERNAL;
	n += v;
	if (ca_put_hdr(p, start, SEQ, n, &n) != 0 ||
	    ca_put_hdr(p, start, MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_ASN1_CONSTRUCTED | 0, n,
		       &n) != 0)
		return CF_EINTERNAL;
	*total += n;
	return 0;
}

/* AlgorithmIdentifier ecdsa-with-SHA256, parameters absent (RFC 5758 §3.2). */
static int put_sig_alg(unsigned char **p, unsigned char *start, size_t *total)
{
	size_t n = 0;

	if (ca_put_tlv(p, start, MBEDTLS_ASN1_OID, MBEDTLS_OID_ECDSA_SHA256,
		       MBEDTLS_OID_SIZE(MBEDTLS_OID_ECDSA_SHA256), &n) != 0 ||
	    ca_put_hdr(p, start, SEQ, n, &n) != 0)
		return CF_EINTERNAL;
	*total += n;
	return 0;
}

struct crl_in {
	const struct ca_crl_entry *entries;
	size_t n;
	uint64_t number;
	int64_t this_update, next_update;
};

/* TBSCertList: version v2, signature, issuer, thisUpdate, nextUpdate, revokedCertificates
 * (absent when empty), crlExtensions. */
static int put_tbs(unsigned char **p, unsigned char *start, const ca *c, const struct crl_in *in,
		   size_t *len)
{
	const mbedtls_x509_buf *issuer = &c->issuing_crt.subject_raw;
	size_t t = 0, rl = 0;
	int ret, r;

	if ((ret = put_crl_exts(p, start, c, in->number, &t)) != 0)
		return ret;
	if (in->n > 0) {
		for (size_t i = in->n;
		     i-- > 0;) /* backwards, so the DER keeps the caller's order */
			if ((ret = put_entry(p, start, &in->entries[i], &rl)) != 0)
				return ret;
		if (ca_put_hdr(p, start, SEQ, rl, &rl) != 0)
			return CF_EINTERNAL;
		t += rl;
	}
	if ((ret = put_time(p, start, in->next_update, &t)) != 0 ||
	    (ret = put_time(p, start, in->this_update, &t)) != 0)
		return ret;
	if ((r = mbedtls_asn1_write_raw_buffer(p, start, issuer->p, issuer->len)) < 0)
		return CF_EINTERNAL;
	t += (size_t)r;
	if (put_sig_alg(p, start, &t) != 0 || (r = mbedtls_asn1_write_int(p, start, 1)) < 0)
		return CF_EINTERNAL;
	t += (size_t)r;
	if (ca_put_hdr(p, start, SEQ, t, &t) != 0)
		return CF_EINTERNAL;
	*len = t;
	return 0;
}

/* CertificateList ::= SEQUENCE { tbsCertList, signatureAlgorithm, signatureValue BIT STRING } */
static int put_signed(const uint8_t *tbs, size_t tbs_len, const uint8_t *sig, size_t sig_len,
		      uint8_t **der, size_t *der_len)
{
	size_t cap = tbs_len + sig_len + 64, t = 0;
	unsigned char *buf, *p;
	uint8_t *copy;
	int r, ret = CF_EINTERNAL;

	if (!(buf = malloc(cap)))
		return CF_ENOMEM;
	p = buf + cap;
	if ((r = mbedtls_asn1_write_bitstring(&p, buf, sig, sig_len * 8)) < 0)
		goto out;
	t += (size_t)r;
	if (put_sig_alg(&p, buf, &t) != 0 ||
	    (r = mbedtls_asn1_write_raw_buffer(&p, buf, tbs, tbs_len)) < 0)
		goto out;
	t += (size_t)r;
	if (ca_put_hdr(&p, buf, SEQ, t, &t) != 0)
		goto out;
	ret = CF_ENOMEM;
	if (!(copy = malloc(t)))
		goto out;
	memcpy(copy, p, t);
	*der = copy;
	*der_len = t;
	ret = 0;
out:
	free(buf);
	return ret;
}

int ca_crl(ca *c, const struct ca_crl_entry *entries, size_t n, uint64_t crl_number, int64_t now,
	   int64_t next_update_secs, uint8_t **der, size_t *der_len)
{
	struct crl_in in = {entries, n, crl_number, now, now + next_update_secs};
	unsigned char *buf = NULL, *p;
	uint8_t sig[128];
	size_t cap, tbs_len = 0, sig_len = 0;
	int ret;

	if (!c || !der || !der_len || (n > 0 && !entries))
		return CF_EINTERNAL;
	if (n > CRL_ENTRIES_MAX || next_update_secs <= 0)
		return CF_EMALFORMED;
	cap = 1024 + c->issuing_crt.subject_raw.len + c->ski_len + n * ENTRY_MAX;
	if (!(buf = malloc(cap)))
		return CF_ENOMEM;
	p = buf + cap;
	if ((ret = put_tbs(&p, buf, c, &in, &tbs_len)) != 0 ||
	    (ret = ca_ecdsa_sign_der(c->issuing_key, p, tbs_len, sig, sizeof(sig), &sig_len)) != 0)
		goto out;
	ret = put_signed(p, tbs_len, sig, sig_len, der, der_len);
out:
	free(buf);
	return ret;
}
