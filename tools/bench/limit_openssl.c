/*
 * limit_openssl — the OpenSSL 3 libcrypto side of the crypto-bound limit: P-256 sign and verify
 * timed the way certflowd's OpenSSL build of cf_crypto does them (common/cf_crypto_openssl.c:
 * SHA-256 of the message, a new EVP_PKEY_CTX per operation on a key held once, DER signatures),
 * in CPU time of the calling thread. The bench itself links the mbedTLS build of common/, so
 * this file calls libcrypto directly.
 */
#include "bench.h"

#include <string.h>

#include <openssl/ec.h>
#include <openssl/evp.h>

#include "cf_err.h"

#define CRYPTO_MIN_MS 400.0
#define CRYPTO_MAX_OPS 20000

static int one_op(EVP_PKEY *key, int verify, const uint8_t *msg, size_t len, uint8_t *sig,
		  size_t *sig_len)
{
	uint8_t hash[32];
	EVP_PKEY_CTX *ctx;
	int ok;

	if (EVP_Digest(msg, len, hash, NULL, EVP_sha256(), NULL) != 1 ||
	    !(ctx = EVP_PKEY_CTX_new(key, NULL)))
		return CF_ECRYPTO;
	if (verify)
		ok = EVP_PKEY_verify_init(ctx) == 1 &&
		     EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) == 1 &&
		     EVP_PKEY_verify(ctx, sig, *sig_len, hash, sizeof(hash)) == 1;
	else {
		*sig_len = 128;
		ok = EVP_PKEY_sign_init(ctx) == 1 &&
		     EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) == 1 &&
		     EVP_PKEY_sign(ctx, sig, sig_len, hash, sizeof(hash)) == 1;
	}
	EVP_PKEY_CTX_free(ctx);
	return ok ? 0 : CF_ECRYPTO;
}

static int time_op(EVP_PKEY *key, int verify, double *ms)
{
	uint8_t msg[512], sig[128];
	size_t sig_len = 0;
	double t0, el = 0;
	int n = 0, ret;

	memset(msg, 0x5a, sizeof(msg));
	ret = one_op(key, 0, msg, sizeof(msg), sig, &sig_len);
	t0 = bench_cpu_ms();
	while (!ret && n < CRYPTO_MAX_OPS && el < CRYPTO_MIN_MS) {
		ret = one_op(key, verify, msg, sizeof(msg), sig, &sig_len);
		n++;
		el = bench_cpu_ms() - t0;
	}
	if (ret)
		return ret;
	*ms = el / n;
	return 0;
}

int bench_openssl_times(double *sign_ms, double *verify_ms)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	int ret = key ? 0 : CF_ECRYPTO;

	if (!ret)
		ret = time_op(key, 0, sign_ms);
	if (!ret)
		ret = time_op(key, 1, verify_ms);
	EVP_PKEY_free(key);
	return ret;
}
