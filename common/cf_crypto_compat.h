/*
 * cf_crypto_compat — private to common/cf_crypto.c and common/cf_jwk.c: the few mbedTLS calls
 * whose signatures differ between 2.28 (Debian 12) and 3.6, as macros, so that the code itself
 * has no #if. Include it before any other header of those files.
 */
#ifndef CF_CRYPTO_COMPAT_H
#define CF_CRYPTO_COMPAT_H

/* 3.x hides struct members behind MBEDTLS_PRIVATE(); we read the EC group and point */
#define MBEDTLS_ALLOW_PRIVATE_ACCESS

#include <mbedtls/version.h>

#include "cf_crypto_mbedtls.h"

#ifndef MBEDTLS_PRIVATE
#define MBEDTLS_PRIVATE(m) m
#endif

#if MBEDTLS_VERSION_NUMBER >= 0x03000000
#define CF_PK_PARSE_KEY(pk, buf, len)                                                              \
	mbedtls_pk_parse_key((pk), (buf), (len), NULL, 0, cf_rng_mbedtls, NULL)
#define CF_PK_SIGN(pk, md, hash, hlen, sig, cap, len)                                              \
	mbedtls_pk_sign((pk), (md), (hash), (hlen), (sig), (cap), (len), cf_rng_mbedtls, NULL)
#else
#define CF_PK_PARSE_KEY(pk, buf, len) mbedtls_pk_parse_key((pk), (buf), (len), NULL, 0)
#define CF_PK_SIGN(pk, md, hash, hlen, sig, cap, len)                                              \
	mbedtls_pk_sign((pk), (md), (hash), (hlen), (sig), (len), cf_rng_mbedtls, NULL)
#endif

#endif
