/*
 * cf_crypto_openssl — private to common/cf_crypto.c and common/cf_crypto_openssl.c in the
 * OpenSSL build of common/ (CF_CRYPTO_OPENSSL): the hooks cf_crypto.c calls into the OpenSSL
 * backend for the key's cached EVP_PKEY, the RNG and the CA's signing context.
 */
#ifndef CF_CRYPTO_OPENSSL_H
#define CF_CRYPTO_OPENSSL_H

#include <openssl/evp.h>

#include "cf_crypto_mbedtls.h"

/* key's EVP_PKEY, made on the first call and kept in the key (valid while key lives). */
int cf_key_evp(const cf_key *key, EVP_PKEY **out);
/* Free key's EVP_PKEY, if any (cf_key_free). */
void cf_key_evp_release(cf_key *key);
/* RAND_bytes in pieces: 0 or CF_ECRYPTO. */
int cf_ossl_random(void *buf, size_t len);
/* PKCS#1 v1.5 signature of the digest hash by the RSA key pair key (cf_sign_digest's RSA part). */
int cf_ossl_sign_digest(const cf_key *key, const uint8_t *hash, size_t hlen, uint8_t *sig,
			size_t sig_cap, size_t *sig_len);
/* A new mbedTLS pk context that signs with key's EVP_PKEY (see cf_key_signer). */
int cf_ossl_signer_new(const cf_key *key, mbedtls_pk_context **out);

#endif
