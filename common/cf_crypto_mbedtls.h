/*
 * cf_crypto_mbedtls — the mbedTLS view of cf_key, for the modules that are allowed to use
 * mbedTLS directly: common/cf_crypto.c, server/ca/ and the agent's TLS transport. Nobody else
 * includes this header.
 */
#ifndef CF_CRYPTO_MBEDTLS_H
#define CF_CRYPTO_MBEDTLS_H

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/pk.h>

#include "cf_crypto.h"

struct cf_key {
	mbedtls_pk_context pk;
};

/* Wrap an initialised and filled pk context (moved into the new key; *pk is reset). */
int cf_key_from_pk(mbedtls_pk_context *pk, cf_key **out);

/* The calling thread's CTR-DRBG, as f_rng/p_rng pair for mbedTLS calls. */
int cf_rng_mbedtls(void *p_rng, unsigned char *out, size_t len);
void *cf_rng_ctx(void);

#endif
