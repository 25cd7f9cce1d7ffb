/*
 * ca_internal — what the files of the CA module share: the struct behind ca.h, DER builders for
 * the extensions mbedTLS 2.28 cannot write, name checks and file helpers. Only the CA's .c files
 * include it.
 */
#ifndef CA_INTERNAL_H
#define CA_INTERNAL_H

#include <sys/types.h>

#include <mbedtls/bignum.h>
#include <mbedtls/x509_crt.h>

#include "ca.h"
#include "cf_crypto_mbedtls.h"

#define CA_SKI_MAX 64	    /* an SKI read from a certificate may be longer than SHA-1 */
#define CA_SERIAL_OCTETS 16 /* 127 random bits: top bit cleared, first octet non-zero */
#define CA_CN_MAX 64	    /* ub-common-name */
#define CA_DNS_MAX 253
#define CA_NAMES_MAX 100 /* per kind (DNS names, IPs) in one certificate */
#define CA_URL_MAX 1024
#define CA_CRT_MAX (64 * 1024)
/* notBefore = now - backdate. Holder certificates: one minute (a signing certificate must not
 * look valid long before it was issued). CA and TLS server certificates: two days, so that a
 * device whose clock is up to a day or two behind can still verify a freshly made server and
 * CA (spec/cli.md, clocks). */
#define CA_BACKDATE_HOLDER 60
#define CA_BACKDATE_INFRA (2 * 86400)

struct ca {
	cf_key *issuing_key;	      /* one for all threads; its signer is made in ca_open */
	mbedtls_x509_crt issuing_crt; /* subject_raw is the CRL issuer */
	char issuer_name[512];	      /* issuing subject as an mbedTLS name string */
	uint8_t ski[CA_SKI_MAX];      /* issuing CA's SKI = AKI of everything it signs */
	size_t ski_len;
	char *org;	/* O= of issued certificates */
	uint8_t *crldp; /* cRLDistributionPoints value, NULL if no CRL URL */
	size_t crldp_len;
	char *chain_pem;	/* issuing PEM then root PEM */
	size_t issuing_pem_len; /* the issuing PEM's length at the start of chain_pem */
	char fingerprint[72];	/* "sha256:" + 64 hex of the root DER */
};

/* What one certificate needs beyond the subject key (ca.c builds CA and leaf certificates). */
struct ca_crt_spec {
	const mbedtls_pk_context *subject_pk;
	const char *subject;	  /* mbedTLS name string, validated */
	const char *issuer;	  /* NULL: self-signed (issuer = subject) */
	const cf_key *issuer_key; /* signs through its long-lived cf_key_signer context */
	const uint8_t *aki;	  /* NULL: no AKI (self-signed root) */
	size_t aki_len;
	int is_ca, max_pathlen;
	unsigned key_usage;		  /* MBEDTLS_X509_KU_* */
	const uint8_t *eku, *san, *crldp; /* extension values (DER) or NULL */
	size_t eku_len, san_len, crldp_len;
	int64_t not_before, not_after;
};

/* ca_crt.c — certificate writing */
int ca_crt_write(const struct ca_crt_spec *spec, char serial_hex[48], uint8_t **der,
		 size_t *der_len);
/* DER → malloc'd NUL-terminated PEM with the given label ("CERTIFICATE"). */
int ca_pem_encode(const char *label, const uint8_t *der, size_t len, char **pem);
/* SHA-1 of the subjectPublicKey bits (RFC 5280 §4.2.1.2 method 1), as mbedTLS writes SKIs. */
int ca_key_id(const mbedtls_pk_context *pk, uint8_t out[20]);
/* ECDSA signature of data by key (P-256, SHA-256) as DER Ecdsa-Sig-Value into sig (≥ 80). */
int ca_ecdsa_sign_der(const cf_key *key, const uint8_t *data, size_t len, uint8_t *sig,
		      size_t sig_cap, size_t *sig_len);

/* ca_ext.c — extension values and name checks */
/* Prepend tag || length || data, or tag || length of the len octets just written; asn1write
 * writes backwards from the end of the buffer. *total grows by what was written. */
int ca_put_tlv(unsigned char **p, unsigned char *start, unsigned char tag, const void *data,
	       size_t len, size_t *total);
int ca_put_hdr(unsigned char **p, unsigned char *start, unsigned char tag, size_t len,
	       size_t *total);
int ca_check_rdn_value(const char *s);
int ca_check_dns_name(const char *s);
int ca_check_email(const char *s);
int ca_check_url(const char *s);
/* SAN: rfc822Name email, dNSName per dns, iPAddress per ip (and dNSName too if ip_as_dns). */
int ca_ext_san(const char *email, const char *const *dns, const char *const *ips, int ip_as_dns,
	       uint8_t **der, size_t *len);
int ca_ext_crldp(const char *url, uint8_t **der, size_t *len);
/* EKU value for a profile into buf (≥ 32 octets); the value is at *der. */
int ca_ext_eku(enum ca_profile_kind kind, uint8_t *buf, size_t cap, const uint8_t **der,
	       size_t *len);
/* AKI value with keyIdentifier id into buf (≥ id_len + 8); the value is at *der. */
int ca_ext_aki(const uint8_t *id, size_t id_len, uint8_t *buf, size_t cap, const uint8_t **der,
	       size_t *len);
/* The SubjectKeyIdentifier extension of crt, if it has one. */
int ca_crt_find_ski(const mbedtls_x509_crt *crt, uint8_t out[CA_SKI_MAX], size_t *len);
/* "YYYYMMDDhhmmss" for mbedtls_x509write_crt_set_validity; CF_EMALFORMED out of 1950..9999. */
int ca_time_x509(int64_t t, char out[15]);

/* ca_file.c — files of the CA directory */
int ca_file_exists(const char *path);
int ca_file_lock(const char *dir, int *fd);
void ca_file_unlock(int fd);

#endif
