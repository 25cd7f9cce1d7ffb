/*
 * seal — small secrets at rest (TOTP seeds, envelope keys) sealed under the server's wrap key:
 * AES-256-GCM with key = HMAC-SHA-256(secret.key, "certflow-wrap-v1") and a random nonce; the
 * aad names the record the secret belongs to, so a sealed value cannot be moved to another one.
 * Output: nonce (12) ‖ ciphertext ‖ tag (16). The wrap key lives on the stack only while used.
 */
#include <string.h>

#include "cf_crypto.h"
#include "cf_err.h"
#include "core.h"

#define WRAP_LABEL "certflow-wrap-v1"
#define NONCE_LEN 12
#define TAG_LEN 16

static int wrap_key(const struct core *c, uint8_t key[32])
{
	if (cf_hmac_sha256(c->secret, sizeof(c->secret), WRAP_LABEL, strlen(WRAP_LABEL), key) != 0)
		return CF_ECRYPTO;
	return 0;
}

int core_seal(const struct core *c, const char *aad, const uint8_t *in, size_t len, uint8_t *out,
	      size_t out_cap, size_t *out_len)
{
	uint8_t key[32];
	int ret = CF_EINTERNAL;

	if (!aad || out_cap < len + NONCE_LEN + TAG_LEN)
		return CF_EINTERNAL;
	ret = wrap_key(c, key);
	if (ret == 0 && cf_random(out, NONCE_LEN) != 0)
		ret = CF_ECRYPTO;
	if (ret == 0 && cf_aead_seal(key, out, aad, strlen(aad), in, len, out + NONCE_LEN,
				     out + NONCE_LEN + len) != 0)
		ret = CF_ECRYPTO;
	cf_zeroize(key, sizeof(key));
	if (ret != 0) {
		cf_zeroize(out, out_cap);
		return ret;
	}
	*out_len = len + NONCE_LEN + TAG_LEN;
	return 0;
}

int core_open(const struct core *c, const char *aad, const uint8_t *in, size_t len, uint8_t *out,
	      size_t out_cap, size_t *out_len)
{
	uint8_t key[32];
	size_t n;
	int ret;

	if (!aad || len < NONCE_LEN + TAG_LEN)
		return CF_ECRYPTO;
	n = len - NONCE_LEN - TAG_LEN;
	if (out_cap < n)
		return CF_EINTERNAL;
	ret = wrap_key(c, key);
	/* A sealed value that does not open is damaged or misplaced: an internal error. */
	if (ret == 0 && cf_aead_open(key, in, aad, strlen(aad), in + NONCE_LEN, n,
				     in + NONCE_LEN + n, out) != 0)
		ret = CF_ECRYPTO;
	cf_zeroize(key, sizeof(key));
	if (ret == 0)
		*out_len = n;
	return ret;
}
