/*
 * cf_aead — password-based key derivation (PBKDF2-HMAC-SHA-256) and authenticated encryption
 * (AES-256-GCM) on mbedTLS, for envelopes, sealed server secrets and encrypted key files.
 *
 * Every context and intermediate buffer is wiped before return; a failed open never leaves any
 * plaintext behind in the caller's buffer.
 */
#include "cf_crypto_compat.h"

#include "cf_crypto.h"
#include "cf_err.h"

#include <mbedtls/gcm.h>
#include <mbedtls/md.h>
#include <mbedtls/pkcs5.h>
#include <mbedtls/platform_util.h>

#define PBKDF2_ITER_MIN 1000

int cf_pbkdf2_sha256(const void *password, size_t pw_len, const uint8_t *salt, size_t salt_len,
		     uint32_t iterations, uint8_t *out, size_t out_len)
{
	mbedtls_md_context_t md;
	int ret = CF_ECRYPTO;

	if (iterations < PBKDF2_ITER_MIN || (pw_len > 0 && !password) || (salt_len > 0 && !salt) ||
	    !out || out_len == 0 || out_len > UINT32_MAX)
		return CF_EUSAGE;
	mbedtls_md_init(&md);
	if (mbedtls_md_setup(&md, mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), 1) == 0 &&
	    mbedtls_pkcs5_pbkdf2_hmac(&md, (const unsigned char *)password, pw_len, salt, salt_len,
				      iterations, (uint32_t)out_len, out) == 0)
		ret = 0;
	mbedtls_md_free(&md); /* wipes the HMAC pads derived from the password */
	if (ret != 0)
		mbedtls_platform_zeroize(out, out_len);
	return ret;
}

/* Check the arguments of a seal or open and key a GCM context with key (AES-256): 0, or
 * CF_EUSAGE / CF_ECRYPTO (the context is freed then). */
static int gcm_start(mbedtls_gcm_context *gcm, const uint8_t *key, const uint8_t *nonce,
		     const uint8_t *tag, const void *aad, size_t aad_len, const uint8_t *in,
		     size_t len, const uint8_t *out)
{
	if (!key || !nonce || !tag || (aad_len > 0 && !aad) || (len > 0 && (!in || !out)))
		return CF_EUSAGE;
	mbedtls_gcm_init(gcm);
	if (mbedtls_gcm_setkey(gcm, MBEDTLS_CIPHER_ID_AES, key, 256) != 0) {
		mbedtls_gcm_free(gcm);
		return CF_ECRYPTO;
	}
	return 0;
}

int cf_aead_seal(const uint8_t key[32], const uint8_t nonce[12], const void *aad, size_t aad_len,
		 const uint8_t *in, size_t len, uint8_t *out, uint8_t tag[16])
{
	mbedtls_gcm_context gcm;
	int ret = gcm_start(&gcm, key, nonce, tag, aad, aad_len, in, len, out);

	if (ret != 0)
		return ret;
	if (mbedtls_gcm_crypt_and_tag(&gcm, MBEDTLS_GCM_ENCRYPT, len, nonce, 12, aad, aad_len, in,
				      out, 16, tag) != 0)
		ret = CF_ECRYPTO;
	mbedtls_gcm_free(&gcm); /* wipes the key schedule */
	return ret;
}

int cf_aead_open(const uint8_t key[32], const uint8_t nonce[12], const void *aad, size_t aad_len,
		 const uint8_t *in, size_t len, const uint8_t tag[16], uint8_t *out)
{
	mbedtls_gcm_context gcm;
	int ret = gcm_start(&gcm, key, nonce, tag, aad, aad_len, in, len, out);

	if (ret != 0)
		return ret;
	/* mbedTLS compares the tag in constant time; any failure (wrong key, flipped bit in the
	 * nonce, aad, ciphertext or tag) is one error, and the output never survives it */
	if (mbedtls_gcm_auth_decrypt(&gcm, len, nonce, 12, aad, aad_len, tag, 16, in, out) != 0) {
		if (len > 0)
			mbedtls_platform_zeroize(out, len);
		ret = CF_EBADPASSPHRASE;
	}
	mbedtls_gcm_free(&gcm);
	return ret;
}
