/*
 * ca_crt — writes one X.509 v3 certificate (CA or leaf) with mbedTLS's x509write, plus the small
 * DER/PEM helpers the rest of the CA shares. Nothing here keeps state: every call has its own
 * writer context, and the per-thread DRBG (cf_rng_mbedtls) feeds serials and signatures, so many
 * threads may call it at once with the same read-only issuer key.
 */
#include "ca_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/asn1write.h>
#include <mbedtls/md.h>
#include <mbedtls/oid.h>
#include <mbedtls/pem.h>
#include <mbedtls/x509_crt.h>

#include "cf_err.h"

/* A fresh serial: 16 CSPRNG octets, top bit cleared (positive INTEGER) and first octet non-zero
 * (no leading zero octet, so the DER value and the hex are exactly 16 octets). */
static int serial_new(mbedtls_mpi *serial, char hex[48])
{
	static const char digits[] = "0123456789abcdef";
	uint8_t b[CA_SERIAL_OCTETS];
	int ret = CF_ECRYPTO;

	do {
		if (cf_random(b, sizeof(b)) != 0)
			goto out;
		b[0] &= 0x7f;
	} while (b[0] == 0);
	if (mbedtls_mpi_read_binary(serial, b, sizeof(b)) != 0)
		goto out;
	for (size_t i = 0; i < sizeof(b); i++) {
		hex[2 * i] = digits[b[i] >> 4];
		hex[2 * i + 1] = digits[b[i] & 15];
	}
	hex[2 * sizeof(b)] = '\0';
	ret = 0;
out:
	cf_zeroize(b, sizeof(b));
	return ret;
}

static int set_aki(mbedtls_x509write_cert *w, const uint8_t *id, size_t id_len)
{
	uint8_t buf[CA_SKI_MAX + 8];
	const uint8_t *der;
	size_t len;

	if (id_len > CA_SKI_MAX || ca_ext_aki(id, id_len, buf, sizeof(buf), &der, &len) != 0)
		return CF_EINTERNAL;
	if (mbedtls_x509write_crt_set_extension(
		w, MBEDTLS_OID_AUTHORITY_KEY_IDENTIFIER,
		MBEDTLS_OID_SIZE(MBEDTLS_OID_AUTHORITY_KEY_IDENTIFIER), 0, der, len) != 0)
		return CF_ENOMEM;
	return 0;
}

/* The extensions mbedTLS has a setter for, then the ones we built as DER. */
static int set_extensions(mbedtls_x509write_cert *w, const struct ca_crt_spec *spec)
{
	if (mbedtls_x509write_crt_set_basic_constraints(w, spec->is_ca, spec->max_pathlen) != 0 ||
	    mbedtls_x509write_crt_set_subject_key_identifier(w) != 0)
		return CF_ECRYPTO;
	if (spec->aki && set_aki(w, spec->aki, spec->aki_len) != 0)
		return CF_ECRYPTO;
	if (spec->key_usage && mbedtls_x509write_crt_set_key_usage(w, spec->key_usage) != 0)
		return CF_ECRYPTO;
	if (spec->eku &&
	    mbedtls_x509write_crt_set_extension(w, MBEDTLS_OID_EXTENDED_KEY_USAGE,
						MBEDTLS_OID_SIZE(MBEDTLS_OID_EXTENDED_KEY_USAGE), 0,
						spec->eku, spec->eku_len) != 0)
		return CF_ECRYPTO;
	/* RFC 5280 §4.2.1.6: SAN is critical only when the subject is empty; ours never is. */
	if (spec->san &&
	    mbedtls_x509write_crt_set_extension(w, MBEDTLS_OID_SUBJECT_ALT_NAME,
						MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_ALT_NAME), 0,
						spec->san, spec->san_len) != 0)
		return CF_ECRYPTO;
	if (spec->crldp && mbedtls_x509write_crt_set_extension(
			       w, MBEDTLS_OID_CRL_DISTRIBUTION_POINTS,
			       MBEDTLS_OID_SIZE(MBEDTLS_OID_CRL_DISTRIBUTION_POINTS), 0,
			       spec->crldp, spec->crldp_len) != 0)
		return CF_ECRYPTO;
	return 0;
}

static int set_fields(mbedtls_x509write_cert *w, const struct ca_crt_spec *spec,
		      const mbedtls_mpi *serial)
{
	mbedtls_pk_context *signer;
	char nb[15], na[15];
	int ret;

	if (ca_time_x509(spec->not_before, nb) != 0 || ca_time_x509(spec->not_after, na) != 0 ||
	    spec->not_after <= spec->not_before)
		return CF_EMALFORMED;
	/* Not the issuer's own pk: mbedTLS would sign with a fresh copy of it each time and
	 * recompute the base-point table for every certificate. */
	if ((ret = cf_key_signer(spec->issuer_key, &signer)) != 0)
		return ret;
	mbedtls_x509write_crt_set_version(w, MBEDTLS_X509_CRT_VERSION_3);
	mbedtls_x509write_crt_set_md_alg(w, MBEDTLS_MD_SHA256);
	/* x509write only reads the keys; its setters are not const-qualified. */
	mbedtls_x509write_crt_set_subject_key(w, (mbedtls_pk_context *)spec->subject_pk);
	mbedtls_x509write_crt_set_issuer_key(w, signer);
	if (mbedtls_x509write_crt_set_serial(w, serial) != 0 ||
	    mbedtls_x509write_crt_set_validity(w, nb, na) != 0 ||
	    mbedtls_x509write_crt_set_subject_name(w, spec->subject) != 0 ||
	    mbedtls_x509write_crt_set_issuer_name(w, spec->issuer ? spec->issuer : spec->subject) !=
		0)
		return CF_ECRYPTO;
	return set_extensions(w, spec);
}

int ca_crt_write(const struct ca_crt_spec *spec, char serial_hex[48], uint8_t **der,
		 size_t *der_len)
{
	int ret = CF_EINTERNAL, n;
	mbedtls_x509write_cert w;
	mbedtls_mpi serial;
	char hex[48];
	size_t cap = 4096 + spec->san_len + spec->crldp_len + spec->eku_len;
	unsigned char *buf = NULL;
	uint8_t *copy;

	mbedtls_x509write_crt_init(&w);
	mbedtls_mpi_init(&serial);
	if ((ret = serial_new(&serial, hex)) != 0 || (ret = set_fields(&w, spec, &serial)) != 0)
		goto out;
	ret = CF_ENOMEM;
	if (!(buf = malloc(cap)))
		goto out;
	n = mbedtls_x509write_crt_der(&w, buf, cap, cf_rng_mbedtls, cf_rng_ctx());
	if (n <= 0) {
		ret = CF_ECRYPTO;
		goto out;
	}
	if (!(copy = malloc((size_t)n)))
		goto out;
	memcpy(copy, buf + cap - (size_t)n, (size_t)n);
	memcpy(serial_hex, hex, sizeof(hex));
	*der = copy;
	*der_len = (size_t)n;
	ret = 0;
out:
	free(buf);
	mbedtls_mpi_free(&serial);
	mbedtls_x509write_crt_free(&w);
	return ret;
}

int ca_pem_encode(const char *label, const uint8_t *der, size_t len, char **pem)
{
	char head[64], foot[64];
	size_t cap = len / 3 * 4 + len / 48 + 200, olen = 0;
	unsigned char *buf;

	snprintf(head, sizeof(head), "-----BEGIN %s-----\n", label);
	snprintf(foot, sizeof(foot), "-----END %s-----\n", label);
	if (!(buf = malloc(cap)))
		return CF_ENOMEM;
	if (mbedtls_pem_write_buffer(head, foot, der, len, buf, cap, &olen) != 0) {
		free(buf);
		return CF_EINTERNAL;
	}
	*pem = (char *)buf;
	return 0;
}

int ca_key_id(const mbedtls_pk_context *pk, uint8_t out[20])
{
	unsigned char buf[1100]; /* RSA 4096 public key or an EC point */
	unsigned char *p = buf + sizeof(buf);
	int n = mbedtls_pk_write_pubkey(&p, buf, pk);

	if (n <= 0)
		return CF_ECRYPTO;
	if (mbedtls_md(mbedtls_md_info_from_type(MBEDTLS_MD_SHA1), p, (size_t)n, out) != 0)
		return CF_ECRYPTO;
	return 0;
}

/* cf_sign gives JWS-style r||s; X.509 and CRLs want Ecdsa-Sig-Value ::= SEQUENCE { r, s }.
 * Signing through cf_crypto keeps the mbedTLS 2.28/3.6 pk_sign difference out of this module. */
int ca_ecdsa_sign_der(const cf_key *key, const uint8_t *data, size_t len, uint8_t *sig,
		      size_t sig_cap, size_t *sig_len)
{
	int ret = CF_ECRYPTO, r;
	uint8_t raw[512];
	size_t raw_len = 0, n = 0;
	unsigned char buf[128], *p = buf + sizeof(buf);
	mbedtls_mpi mr, ms;

	mbedtls_mpi_init(&mr);
	mbedtls_mpi_init(&ms);
	if ((ret = cf_sign(key, CF_ALG_ES256, data, len, raw, sizeof(raw), &raw_len)) != 0)
		goto out;
	ret = CF_ECRYPTO;
	if (raw_len != 64 || mbedtls_mpi_read_binary(&mr, raw, 32) != 0 ||
	    mbedtls_mpi_read_binary(&ms, raw + 32, 32) != 0)
		goto out;
	if ((r = mbedtls_asn1_write_mpi(&p, buf, &ms)) < 0)
		goto out;
	n += (size_t)r;
	if ((r = mbedtls_asn1_write_mpi(&p, buf, &mr)) < 0)
		goto out;
	n += (size_t)r;
	if ((r = mbedtls_asn1_write_len(&p, buf, n)) < 0)
		goto out;
	n += (size_t)r;
	if ((r = mbedtls_asn1_write_tag(&p, buf,
					MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE)) < 0)
		goto out;
	n += (size_t)r;
	if (n > sig_cap)
		goto out;
	memcpy(sig, p, n);
	*sig_len = n;
	ret = 0;
out:
	mbedtls_mpi_free(&mr);
	mbedtls_mpi_free(&ms);
	return ret;
}
