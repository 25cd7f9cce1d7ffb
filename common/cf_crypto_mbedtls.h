/*
 * cf_crypto_mbedtls — the mbedTLS view of cf_key, for the modules that are allowed to use
 * mbedTLS directly: common/cf_crypto.c, server/ca/ and the agent's TLS transport. Nobody else
 * includes this header.
 */
#ifndef CF_CRYPTO_MBEDTLS_H
#define CF_CRYPTO_MBEDTLS_H

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/pk.h>
#include <pthread.h>
#include <stdatomic.h>

#include "cf_crypto.h"

/* Make keys with cf_key_from_pk (or the cf_key_* constructors) only: the lock must be set up.
 * first_use/ready: the first ECDSA operation through cf_sign/cf_verify caches mbedTLS's table
 * for the base point in pk's group; it runs under first_use, later ones read the table freely. */
struct cf_key {
	mbedtls_pk_context pk;
	pthread_mutex_t first_use;
	atomic_int ready;
};

/* Wrap an initialised and filled pk context (moved into the new key; *pk is reset). The key
 * must be P-256, P-384 or RSA 2048..4096 (odd 32-bit exponent): CF_EBADKEY otherwise, and
 * *pk is left untouched on any failure. */
int cf_key_from_pk(mbedtls_pk_context *pk, cf_key **out);

/* The calling thread's CTR-DRBG, as f_rng/p_rng pair for mbedTLS calls. cf_rng_mbedtls always
 * draws from the generator of the thread that calls it and ignores p_rng, so a pair registered
 * once (mbedtls_ssl_conf_rng) is safe on every thread; p_rng may be NULL. */
int cf_rng_mbedtls(void *p_rng, unsigned char *out, size_t len);
void *cf_rng_ctx(void);

#endif
