/*
 * cf_aead_openssl — cf_aead.c's twin in certflow-common-ossl (certflowd's build of common/):
 * PBKDF2-HMAC-SHA-256 (PKCS5_PBKDF2_HMAC) and AES-256-GCM (EVP) on OpenSSL 3 libcrypto, for
 * envelopes, sealed server secrets and custody keys. The same contracts and test vectors as the
 * mbedTLS file (tests/unit/test_cf_aead.c runs against both builds).
 *
 * Every context is freed (OpenSSL wipes cipher contexts on free) and a failed open never leaves
 * plaintext behind in the caller's buffer.
 */
#include "cf_crypto.h"
#include "cf_err.h"

#include <limits.h>
#include <stdint.h>

#include <openssl/evp.h>

#define PBKDF2_ITER_MIN 1000

int cf_pbkdf2_sha256(const void *password, size_t pw_len, const uint8_t *salt, size_t salt_len,
		     uint32_t iterations, uint8_t *out, size_t out_len)
{
	static const char none[1];

	if (iterations < PBKDF2_ITER_MIN || (pw_len > 0 && !password) || (salt_len > 0 && !salt) ||
	    !out || out_len == 0 || out_len > UINT32_MAX)
		return CF_EUSAGE;
	if (pw_len > INT_MAX || salt_len > INT_MAX || iterations > INT_MAX || out_len > INT_MAX)
		return CF_EUSAGE;
	/* OpenSSL wipes its HMAC contexts (keyed by the password) when it frees them */
	if (PKCS5_PBKDF2_HMAC(password ? password : none, (int)pw_len,
			      salt ? salt : (const uint8_t *)none, (int)salt_len, (int)iterations,
			      EVP_sha256(), (int)out_len, out) != 1) {
		cf_zeroize(out, out_len);
		return CF_ECRYPTO;
	}
	return 0;
}

/* Check the arguments of a seal or open and start an AES-256-GCM context with key and nonce:
 * 0 (*out set), or CF_EUSAGE / CF_ECRYPTO / CF_ENOMEM. */
static int gcm_start(int enc, const uint8_t *key, const uint8_t *nonce, const uint8_t *tag,
		     const void *aad, size_t aad_len, const uint8_t *in, size_t len,
		     const uint8_t *out, EVP_CIPHER_CTX **ctx_out)
{
	EVP_CIPHER_CTX *ctx;
	int n;

	if (!key || !nonce || !tag || (aad_len > 0 && !aad) || (len > 0 && (!in || !out)) ||
	    aad_len > INT_MAX || len > INT_MAX)
		return CF_EUSAGE;
	if (!(ctx = EVP_CIPHER_CTX_new()))
		return CF_ENOMEM;
	/* the default IV length of GCM is 12 octets, the nonce's */
	if (EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce, enc) != 1 ||
	    (aad_len > 0 && EVP_CipherUpdate(ctx, NULL, &n, aad, (int)aad_len) != 1)) {
		EVP_CIPHER_CTX_free(ctx);
		return CF_ECRYPTO;
	}
	*ctx_out = ctx;
	return 0;
}

int cf_aead_seal(const uint8_t key[32], const uint8_t nonce[12], const void *aad, size_t aad_len,
		 const uint8_t *in, size_t len, uint8_t *out, uint8_t tag[16])
{
	EVP_CIPHER_CTX *ctx = NULL;
	uint8_t last[16];
	int n = 0, ret = gcm_start(1, key, nonce, tag, aad, aad_len, in, len, out, &ctx);

	if (ret != 0)
		return ret;
	ret = CF_ECRYPTO;
	if ((len == 0 || (EVP_EncryptUpdate(ctx, out, &n, in, (int)len) == 1 && n == (int)len)) &&
	    EVP_EncryptFinal_ex(ctx, last, &n) == 1 && n == 0 &&
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag) == 1)
		ret = 0;
	EVP_CIPHER_CTX_free(ctx);
	return ret;
}

int cf_aead_open(const uint8_t key[32], const uint8_t nonce[12], const void *aad, size_t aad_len,
		 const uint8_t *in, size_t len, const uint8_t tag[16], uint8_t *out)
{
	EVP_CIPHER_CTX *ctx = NULL;
	uint8_t last[16];
	int n = 0, ret = gcm_start(0, key, nonce, tag, aad, aad_len, in, len, out, &ctx);

	if (ret != 0)
		return ret;
	/* OpenSSL compares the tag in constant time; any failure (wrong key, flipped bit in the
	 * nonce, aad, ciphertext or tag) is one error, and the output never survives it */
	ret = CF_EBADPASSPHRASE;
	if ((len == 0 || (EVP_DecryptUpdate(ctx, out, &n, in, (int)len) == 1 && n == (int)len)) &&
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, (void *)tag) == 1 &&
	    EVP_DecryptFinal_ex(ctx, last, &n) == 1 && n == 0)
		ret = 0;
	EVP_CIPHER_CTX_free(ctx);
	if (ret != 0 && len > 0)
		cf_zeroize(out, len);
	return ret;
}
