/*
 * ca_ext — DER values of the certificate extensions that mbedTLS 2.28's x509write has no helper
 * for (subjectAltName, extKeyUsage, cRLDistributionPoints), and the checks on every name that
 * enters a certificate. Names are refused, never repaired: a request that would need escaping is
 * a malformed request.
 */
#include "ca_internal.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mbedtls/asn1.h>
#include <mbedtls/asn1write.h>
#include <mbedtls/oid.h>

#include "cf_err.h"
#include "cf_utf8.h"

/*
 * A CN or O value. mbedtls_x509write_crt_set_subject_name parses "CN=a, O=b" as a string, so a
 * comma, backslash or equals sign (and in mbedTLS 3.x also + # " < > ;) inside a value could add
 * or alter RDNs. We refuse those characters here rather than escape them: certflow's names are
 * device ids and person names, and a refused request is easier to reason about than an escaped
 * one. Also refused: control characters, invalid UTF-8, leading/trailing spaces, > 64 octets.
 */
int ca_check_rdn_value(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len, n;

	if (!s || (len = strnlen(s, CA_CN_MAX + 1)) == 0 || len > CA_CN_MAX)
		return CF_EMALFORMED;
	if (s[0] == ' ' || s[len - 1] == ' ')
		return CF_EMALFORMED;
	while (*p) {
		if (*p < 0x20 || *p == 0x7f || strchr(",=+\\\"<>;#", *p))
			return CF_EMALFORMED;
		if (!(n = cf_utf8_len(p, 4))) /* stops at the NUL */
			return CF_EMALFORMED;
		p += n;
	}
	return 0;
}

/* LDH host name: labels of 1..63 letters, digits and hyphens (not at either end), ≤ 253. */
int ca_check_dns_name(const char *s)
{
	size_t len, label = 0;

	if (!s || (len = strnlen(s, CA_DNS_MAX + 1)) == 0 || len > CA_DNS_MAX)
		return CF_EMALFORMED;
	for (size_t i = 0; i <= len; i++) {
		char c = s[i];
		if (c == '.' || c == '\0') {
			if (label == 0 || s[i - 1] == '-')
				return CF_EMALFORMED;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      (c == '-' && label > 0)))
			return CF_EMALFORMED;
		if (++label > 63)
			return CF_EMALFORMED;
	}
	return 0;
}

/* local@domain: printable ASCII without spaces, one '@', an LDH domain, ≤ 254 octets. */
int ca_check_email(const char *s)
{
	const char *at;
	size_t len;

	if (!s || (len = strnlen(s, 255)) > 254 || !(at = strchr(s, '@')) || at == s ||
	    strchr(at + 1, '@'))
		return CF_EMALFORMED;
	for (size_t i = 0; i < len; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f)
			return CF_EMALFORMED;
	return ca_check_dns_name(at + 1);
}

int ca_check_url(const char *s)
{
	size_t len;

	if (!s || (len = strnlen(s, CA_URL_MAX + 1)) > CA_URL_MAX)
		return CF_EMALFORMED;
	if (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0)
		return CF_EMALFORMED;
	for (size_t i = 0; i < len; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f)
			return CF_EMALFORMED;
	return 0;
}

int ca_put_tlv(unsigned char **p, unsigned char *start, unsigned char tag, const void *data,
	       size_t len, size_t *total)
{
	int r1, r2, r3;

	if ((r1 = mbedtls_asn1_write_raw_buffer(p, start, data, len)) < 0 ||
	    (r2 = mbedtls_asn1_write_len(p, start, len)) < 0 ||
	    (r3 = mbedtls_asn1_write_tag(p, start, tag)) < 0)
		return CF_EINTERNAL;
	*total += (size_t)r1 + (size_t)r2 + (size_t)r3;
	return 0;
}

int ca_put_hdr(unsigned char **p, unsigned char *start, unsigned char tag, size_t len,
	       size_t *total)
{
	int r1, r2;

	if ((r1 = mbedtls_asn1_write_len(p, start, len)) < 0 ||
	    (r2 = mbedtls_asn1_write_tag(p, start, tag)) < 0)
		return CF_EINTERNAL;
	*total += (size_t)r1 + (size_t)r2;
	return 0;
}

/* Copy the DER that ends at buf + cap and starts at p into a new allocation. */
static int take(const unsigned char *p, size_t len, uint8_t **der, size_t *der_len)
{
	uint8_t *copy = malloc(len);

	if (!copy)
		return CF_ENOMEM;
	memcpy(copy, p, len);
	*der = copy;
	*der_len = len;
	return 0;
}

static size_t count_names(const char *const *v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

/* iPAddress (and, for mbedTLS 2.28 clients, the same address as a dNSName). */
static int put_ip(unsigned char **p, unsigned char *start, const char *ip, int ip_as_dns,
		  size_t *total)
{
	uint8_t addr[16];
	size_t alen = 4;

	if (inet_pton(AF_INET, ip, addr) != 1) {
		if (inet_pton(AF_INET6, ip, addr) != 1)
			return CF_EMALFORMED;
		alen = 16;
	}
	/* mbedTLS 2.28 (the agent's TLS stack) matches the host name only against dNSName SANs
	 * (and CN), never iPAddress: an agent that connects to https://192.0.2.1/ would reject a
	 * certificate with the IP as iPAddress alone. OpenSSL and browsers use the iPAddress.
	 * IPv6 text is no dNSName (and agents do not connect to it by that text): iPAddress only.
	 */
	if (ip_as_dns && alen == 4 &&
	    ca_put_tlv(p, start, MBEDTLS_ASN1_CONTEXT_SPECIFIC | 2, ip, strlen(ip), total))
		return CF_EINTERNAL;
	return ca_put_tlv(p, start, MBEDTLS_ASN1_CONTEXT_SPECIFIC | 7, addr, alen, total);
}

int ca_ext_san(const char *email, const char *const *dns, const char *const *ips, int ip_as_dns,
	       uint8_t **der, size_t *len)
{
	size_t nd = count_names(dns), ni = count_names(ips), cap = 64, total = 0;
	unsigned char *buf = NULL, *p;
	int ret = CF_EMALFORMED;

	if (nd > CA_NAMES_MAX || ni > CA_NAMES_MAX)
		return CF_EMALFORMED;
	if (!email && nd == 0 && ni == 0) {
		*der = NULL;
		*len = 0;
		return 0;
	}
	if (email && ca_check_email(email) != 0)
		return CF_EMALFORMED;
	for (size_t i = 0; i < nd; i++)
		if (ca_check_dns_name(dns[i]) != 0)
			return CF_EMALFORMED;
	cap += (email ? strlen(email) + 8 : 0) + nd * (CA_DNS_MAX + 8) + ni * 2 * (64 + 8);
	if (!(buf = malloc(cap)))
		return CF_ENOMEM;
	p = buf + cap;
	/* Backwards, so that the DER lists the DNS names, then the IPs, then the e-mail. */
	if (email && (ret = ca_put_tlv(&p, buf, MBEDTLS_ASN1_CONTEXT_SPECIFIC | 1, email,
				       strlen(email), &total)) != 0)
		goto out;
	for (size_t i = ni; i-- > 0;)
		if ((ret = put_ip(&p, buf, ips[i], ip_as_dns, &total)) != 0)
			goto out;
	for (size_t i = nd; i-- > 0;)
		if ((ret = ca_put_tlv(&p, buf, MBEDTLS_ASN1_CONTEXT_SPECIFIC | 2, dns[i],
				      strlen(dns[i]), &total)) != 0)
			goto out;
	if ((ret = ca_put_hdr(&p, buf, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE, total,
			      &total)) != 0)
		goto out;
	ret = take(p, total, der, len);
out:
	free(buf);
	return ret;
}

/* CRLDistributionPoints ::= SEQUENCE OF DistributionPoint { distributionPoint [0] { fullName [0]
 * GeneralNames { uniformResourceIdentifier [6] url } } } */
int ca_ext_crldp(const char *url, uint8_t **der, size_t *len)
{
	const unsigned char cons = MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE;
	const unsigned char ctx0 = MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_ASN1_CONSTRUCTED | 0;
	size_t cap = CA_URL_MAX + 32, total = 0;
	unsigned char *buf, *p;
	int ret;

	if (ca_check_url(url) != 0)
		return CF_EMALFORMED;
	if (!(buf = malloc(cap)))
		return CF_ENOMEM;
	p = buf + cap;
	if ((ret = ca_put_tlv(&p, buf, MBEDTLS_ASN1_CONTEXT_SPECIFIC | 6, url, strlen(url),
			      &total)) ||
	    (ret = ca_put_hdr(&p, buf, ctx0, total, &total)) ||
	    (ret = ca_put_hdr(&p, buf, ctx0, total, &total)) ||
	    (ret = ca_put_hdr(&p, buf, cons, total, &total)) ||
	    (ret = ca_put_hdr(&p, buf, cons, total, &total)))
		goto out;
	ret = take(p, total, der, len);
out:
	free(buf);
	return ret;
}

/* authorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] IMPLICIT OCTET STRING } */
int ca_ext_aki(const uint8_t *id, size_t id_len, uint8_t *buf, size_t cap, const uint8_t **der,
	       size_t *len)
{
	unsigned char *p = buf + cap;
	size_t total = 0;

	if (ca_put_tlv(&p, buf, MBEDTLS_ASN1_CONTEXT_SPECIFIC | 0, id, id_len, &total) != 0 ||
	    ca_put_hdr(&p, buf, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE, total, &total) !=
		0)
		return CF_EINTERNAL;
	*der = p;
	*len = total;
	return 0;
}

int ca_ext_eku(enum ca_profile_kind kind, uint8_t *buf, size_t cap, const uint8_t **der,
	       size_t *len)
{
	unsigned char *p = buf + cap;
	size_t total = 0;
	const char *oid;
	size_t oid_len;

	switch (kind) {
	case CA_PROFILE_DEVICE:
		oid = MBEDTLS_OID_CLIENT_AUTH, oid_len = MBEDTLS_OID_SIZE(MBEDTLS_OID_CLIENT_AUTH);
		break;
	case CA_PROFILE_SIGNING:
		oid = MBEDTLS_OID_EMAIL_PROTECTION,
		oid_len = MBEDTLS_OID_SIZE(MBEDTLS_OID_EMAIL_PROTECTION);
		break;
	case CA_PROFILE_TLS_SERVER:
		oid = MBEDTLS_OID_SERVER_AUTH, oid_len = MBEDTLS_OID_SIZE(MBEDTLS_OID_SERVER_AUTH);
		break;
	default:
		return CF_EMALFORMED;
	}
	if (ca_put_tlv(&p, buf, MBEDTLS_ASN1_OID, oid, oid_len, &total) != 0 ||
	    ca_put_hdr(&p, buf, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE, total, &total) !=
		0)
		return CF_EINTERNAL;
	*der = p;
	*len = total;
	return 0;
}

/* Walk Extensions ::= SEQUENCE OF Extension looking for subjectKeyIdentifier. */
int ca_crt_find_ski(const mbedtls_x509_crt *crt, uint8_t out[CA_SKI_MAX], size_t *len)
{
	unsigned char *p = crt->v3_ext.p, *end = p + crt->v3_ext.len, *ext_end;
	size_t n;
	int crit;

	if (!p ||
	    mbedtls_asn1_get_tag(&p, end, &n, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
		return CF_ENOTFOUND;
	end = p + n;
	while (p < end) {
		if (mbedtls_asn1_get_tag(&p, end, &n,
					 MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE) != 0)
			return CF_ENOTFOUND;
		ext_end = p + n;
		if (mbedtls_asn1_get_tag(&p, ext_end, &n, MBEDTLS_ASN1_OID) != 0)
			return CF_ENOTFOUND;
		if (n != MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_KEY_IDENTIFIER) ||
		    memcmp(p, MBEDTLS_OID_SUBJECT_KEY_IDENTIFIER, n) != 0) {
			p = ext_end;
			continue;
		}
		p += n;
		(void)mbedtls_asn1_get_bool(&p, ext_end, &crit); /* optional */
		if (mbedtls_asn1_get_tag(&p, ext_end, &n, MBEDTLS_ASN1_OCTET_STRING) != 0 ||
		    mbedtls_asn1_get_tag(&p, p + n, &n, MBEDTLS_ASN1_OCTET_STRING) != 0 || n == 0 ||
		    n > CA_SKI_MAX)
			return CF_ENOTFOUND;
		memcpy(out, p, n);
		*len = n;
		return 0;
	}
	return CF_ENOTFOUND;
}

int ca_time_x509(int64_t t, char out[15])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if ((int64_t)tt != t || !gmtime_r(&tt, &tm) || tm.tm_year < 50 || tm.tm_year > 8099)
		return CF_EMALFORMED;
	if (strftime(out, 15, "%Y%m%d%H%M%S", &tm) != 14)
		return CF_EMALFORMED;
	return 0;
}
