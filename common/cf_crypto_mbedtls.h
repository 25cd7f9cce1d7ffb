/*
 * cf_crypto_mbedtls — the mbedTLS view of cf_key, for the modules that are allowed to use
 * mbedTLS directly: the crypto files of common/ (cf_crypto.c, cf_jwk.c, cf_aead.c, cf_pkcs8.c,
 * cf_otp.c, cf_envelope.c), server/ca/ and the agent's TLS transport and certificate checks
 * (agent/transport.c, agent/certcheck.c). Nobody else includes this header or mbedTLS.
 */
#ifndef CF_CRYPTO_MBEDTLS_H
#define CF_CRYPTO_MBEDTLS_H

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

#include "cf_clock.h"
#include "cf_crypto.h"

/* Make keys with cf_key_from_pk (or the cf_key_* constructors) only: the lock must be set up.
 * cf_sign/cf_verify never use pk's own EC group but one long-lived group per curve whose
 * base-point table is computed once per process (see cf_crypto.c). signer: see cf_key_signer. */
struct cf_key {
	mbedtls_pk_context pk;
	pthread_mutex_t lock;		    /* guards the creation of signer */
	mbedtls_pk_context *_Atomic signer; /* NULL until cf_key_signer's first call */
	void *_Atomic evp; /* OpenSSL build of common/: the key's EVP_PKEY, made on first use */
	void *_Atomic ec;  /* OpenSSL build, EC keys: the public EC_KEY that verifies, likewise */
};

/* Wrap an initialised and filled pk context (moved into the new key; *pk is reset). The key
 * must be P-256, P-384 or RSA 2048..4096 (odd 32-bit exponent): CF_EBADKEY otherwise, and
 * *pk is left untouched on any failure. */
int cf_key_from_pk(mbedtls_pk_context *pk, cf_key **out);

/* The pk context that mbedTLS writers (mbedtls_x509write_crt_set_issuer_key, ...) should sign
 * with, for a key pair. mbedTLS 2.28's signer for an ECKEY context copies the key into a new
 * ECDSA context, whose group recomputes the table for the base point on every signature (more
 * than the signature itself costs); for an EC key this is instead a long-lived ECDSA context made
 * on the first call, with that table already computed. For RSA it is &key->pk. Valid while key
 * lives; mbedtls_pk_sign on it is safe from many threads at once (it only reads the context).
 * Never pass it where a public key is written (pk_write_* do not take ECDSA contexts).
 * In the OpenSSL build of common/ it is, for EC and RSA alike, a context whose only operation,
 * sign, is OpenSSL's on the key's EVP_PKEY (cf_crypto_openssl.c), made once.
 * CF_EBADKEY for a public key, CF_ENOMEM or CF_ECRYPTO. */
int cf_key_signer(const cf_key *key, mbedtls_pk_context **signer);

/* 1 if key holds a private key (not only a public one), else 0. */
int cf_key_has_private(const cf_key *key);

/* The calling thread's CTR-DRBG, as f_rng/p_rng pair for mbedTLS calls. cf_rng_mbedtls always
 * draws from the generator of the thread that calls it and ignores p_rng, so a pair registered
 * once (mbedtls_ssl_conf_rng) is safe on every thread; p_rng may be NULL. */
int cf_rng_mbedtls(void *p_rng, unsigned char *out, size_t len);
void *cf_rng_ctx(void);

/* An X.509 time as mbedTLS parsed it (UTC) as Unix seconds; 0 if it is no valid time. */
static inline int64_t cf_x509_time_unix(const mbedtls_x509_time *t)
{
	char s[32];
	int64_t v;

	if (t->year < 0 || t->year > 9999)
		return 0;
	snprintf(s, sizeof(s), "%04d-%02d-%02dT%02d:%02d:%02dZ", t->year, t->mon, t->day, t->hour,
		 t->min, t->sec);
	return cf_time_parse(s, &v) == 0 ? v : 0;
}

#endif
