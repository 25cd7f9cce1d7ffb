/*
 * ca — the certification authority: its keys, CSR checks, issuance and CRLs. Uses mbedTLS
 * (through cf_crypto_mbedtls.h) and nothing of HTTP or the store: the core decides *whether* to
 * issue, the CA only *how*.
 *
 * Files in the CA directory (created on first start): root.key, root.pem (self-signed, P-256,
 * 20 years), issuing.key, issuing.pem (P-256, 10 years, pathlen 0). Keys are mode 0600 and never
 * enter the database. A ca is safe to use from many threads once opened.
 */
#ifndef CA_H
#define CA_H

#include <stddef.h>
#include <stdint.h>

#include "cf_crypto.h"

typedef struct ca ca;

struct ca_opts {
	const char *name;      /* organisation in the CA names, default "certflow" */
	const char *crl_url;   /* CRL distribution point written into issued certificates */
};

/* Open the CA in dir, creating keys and certificates when absent (never overwriting). */
int ca_open(const char *dir, const struct ca_opts *opts, ca **out);
void ca_free(ca *ca);

/* PEM of issuing CA then root (valid while ca lives). */
const char *ca_chain_pem(const ca *ca);
/* "sha256:" + 64 lower-case hex of the root certificate's DER. */
const char *ca_root_fingerprint(const ca *ca);
/* The issuing CA's subject key identifier (20 octets) — the AKI of issued certificates. */
const uint8_t *ca_issuer_key_id(const ca *ca, size_t *len);

/* Check a DER PKCS#10: parses, self-signature verifies, key is P-256, P-384 or RSA 2048..4096.
 * On success *key is the CSR's public key (caller frees). CF_EBADCSR or CF_EBADKEY. */
int ca_csr_check(const uint8_t *der, size_t len, cf_key **key);
/* ca_csr_check for the ACME profile: a subject that is the empty sequence is accepted. */
int ca_csr_check_acme(const uint8_t *der, size_t len, cf_key **key);
/* The names a PKCS#10 asks for (the ACME profile's finalize): the subject's commonNames, then
 * the dNSNames of its subjectAltName extension, as sent (duplicates kept), into names[0..*n).
 * CF_EBADCSR if it does not parse, names anything else than DNS names in subjectAltName, or asks
 * for more than max names. */
#define CA_NAME_MAX 254
int ca_csr_names(const uint8_t *der, size_t len, char names[][CA_NAME_MAX], size_t max,
		 size_t *n);

enum ca_profile_kind { CA_PROFILE_DEVICE = 1, CA_PROFILE_SIGNING, CA_PROFILE_TLS_SERVER };

struct ca_issue_req {
	const cf_key *subject_key; /* from ca_csr_check */
	const char *subject_cn;    /* from the enrolment, never from the CSR */
	const char *email;         /* optional rfc822Name SAN */
	const char *const *dns_names; /* optional, NULL-terminated */
	const char *const *ip_addrs;  /* optional IPv4 dotted quads, NULL-terminated */
	enum ca_profile_kind kind;
	int64_t now;             /* notBefore = now − 60 s */
	int64_t validity_secs;   /* notAfter = now + validity_secs */
};

struct ca_issued {
	char serial[48]; /* lower-case hex, ≥ 64 random bits, positive, no leading zero octet */
	uint8_t *der;    /* malloc'd, caller frees */
	size_t der_len;
	int64_t not_before, not_after;
};

/* Issue a certificate signed by the issuing CA with a fresh random serial; KU, EKU (device:
 * clientAuth; signing: emailProtection + digitalSignature/nonRepudiation; tls-server:
 * serverAuth), SKI, AKI, SAN, CRL DP, basicConstraints CA:false. */
int ca_issue(ca *ca, const struct ca_issue_req *req, struct ca_issued *out);

struct ca_crl_entry {
	const char *serial; /* hex */
	int64_t revoked_at;
	int reason; /* RFC 5280 CRLReason */
};

/* A DER CRL v2 signed by the issuing CA: thisUpdate now, nextUpdate now + next_update_secs,
 * entries with reasonCode, AKI and cRLNumber extensions. *der malloc'd. */
int ca_crl(ca *ca, const struct ca_crl_entry *entries, size_t n, uint64_t crl_number, int64_t now,
	   int64_t next_update_secs, uint8_t **der, size_t *der_len);

/* The subject and issuer names of the DER certificate der as text ("CN=..., O=...", the form
 * mbedTLS prints) into subject and issuer (NUL-terminated; cap 256 holds every name the CA
 * writes). CF_EMALFORMED if der is not a certificate or a name does not fit. ca_names.c. */
int ca_cert_names(const uint8_t *der, size_t len, char *subject, size_t subject_cap, char *issuer,
		  size_t issuer_cap);

/* The serial number of the DER certificate der as lower-case hex without leading zero octets (the
 * store's form), into serial: CF_EMALFORMED if it does not parse. */
int ca_cert_serial(const uint8_t *der, size_t len, char serial[48]);
/* Write a TLS server certificate for hostnames/IPs (issued by the issuing CA, chain appended)
 * and its key into one PEM file at path (mode 0600), as CivetWeb's ssl_certificate wants. */
int ca_write_server_pem(ca *ca, const char *const *dns_names, const char *const *ip_addrs,
			int64_t now, const char *path);

#endif
