/*
 * park — bearer tokens and data keys parked under them (spec/protocol.md §22.9).
 *
 * A token is 32 CSPRNG octets in base64url (43 characters); the store knows it only by its id,
 * base64url(HMAC-SHA-256(secret.key, "token:" ‖ token)). A data key unlocked in one request (CSC
 * authorize, update start) and used in a later one is parked in the record the token names:
 * AES-256-GCM under KEK = HMAC-SHA-256(master key, "certflow-park-v1:" ‖ token), aad
 * "certflow-park-v1:<credential id>", as nonce (12) ‖ DK (32) ‖ tag (16). Neither the database
 * nor the token alone opens it. No store access here; the token, KEK and DK are wiped after use
 * and never logged.
 */
#include <string.h>

#include "cf_b64.h"
#include "cf_crypto.h"
#include "cf_err.h"
#include "core_internal.h"

#define PARK_LABEL "certflow-park-v1:"
#define TOKEN_LABEL "token:"
#define TOKEN_OCTETS 32
#define NONCE_LEN 12
#define TAG_LEN 16
#define DK_LEN 32
#define PARK_LEN (NONCE_LEN + DK_LEN + TAG_LEN) /* 60 */
#define AAD_CAP (sizeof(PARK_LABEL) + STORE_ID_LEN)

/* A token of a usable length (its shape is the callers' check: they answer with their own
 * problem). */
static int token_ok(const char *token)
{
	size_t n = token ? strnlen(token, CORE_TOKEN_LEN) : 0;
	return n > 0 && n < CORE_TOKEN_LEN;
}

/* HMAC-SHA-256(key, label ‖ token) into out. */
static int hmac_labelled(const uint8_t key[32], const char *label, const char *token,
			 uint8_t out[32])
{
	char msg[sizeof(PARK_LABEL) + CORE_TOKEN_LEN];
	size_t n = strlen(label), t = strlen(token);
	int ret;

	memcpy(msg, label, n);
	memcpy(msg + n, token, t);
	ret = cf_hmac_sha256(key, 32, msg, n + t, out) == 0 ? 0 : CF_ECRYPTO;
	cf_zeroize(msg, sizeof(msg));
	return ret;
}

int core_token_id(const struct core *c, const char *token, char out[STORE_TOKEN_ID_LEN])
{
	uint8_t mac[32];
	size_t n;
	int ret;

	if (!c || !out)
		return CF_EINTERNAL;
	if (!token_ok(token))
		return CF_EMALFORMED;
	ret = hmac_labelled(c->secret, TOKEN_LABEL, token, mac);
	if (ret == 0 && cf_b64url_encode(mac, sizeof(mac), out, STORE_TOKEN_ID_LEN, &n) != 0)
		ret = CF_EINTERNAL;
	cf_zeroize(mac, sizeof(mac));
	return ret;
}

int core_token_new(const struct core *c, char token[CORE_TOKEN_LEN], char id[STORE_TOKEN_ID_LEN])
{
	uint8_t raw[TOKEN_OCTETS];
	size_t n;
	int ret = CF_ECRYPTO;

	if (!c || !token || !id)
		return CF_EINTERNAL;
	if (cf_random(raw, sizeof(raw)) == 0)
		ret = cf_b64url_encode(raw, sizeof(raw), token, CORE_TOKEN_LEN, &n) == 0
			  ? 0
			  : CF_EINTERNAL;
	if (ret == 0)
		ret = core_token_id(c, token, id);
	cf_zeroize(raw, sizeof(raw));
	if (ret != 0)
		cf_zeroize(token, CORE_TOKEN_LEN);
	return ret;
}

/* KEK of token and the aad of credential_id; CF_EUNAVAILABLE without a master key. */
static int park_keys(const struct core *c, const char *token, const char *credential_id,
		     uint8_t kek[32], char aad[AAD_CAP], size_t *aad_len)
{
	size_t n = credential_id ? strnlen(credential_id, STORE_ID_LEN) : 0;

	if (!c->master_loaded)
		return CF_EUNAVAILABLE;
	if (!token_ok(token) || n == 0 || n == STORE_ID_LEN)
		return CF_EINTERNAL;
	memcpy(aad, PARK_LABEL, sizeof(PARK_LABEL) - 1);
	memcpy(aad + sizeof(PARK_LABEL) - 1, credential_id, n);
	*aad_len = sizeof(PARK_LABEL) - 1 + n;
	return hmac_labelled(c->master, PARK_LABEL, token, kek);
}

int core_park_dk(const struct core *c, const char *token, const struct custody_unlocked *dk,
		 uint8_t *blob, size_t cap, size_t *blob_len)
{
	uint8_t kek[32];
	char aad[AAD_CAP];
	size_t alen = 0;
	int ret;

	if (!c || !dk || !blob || !blob_len || cap < PARK_LEN)
		return CF_EINTERNAL;
	if (dk->proof != CUSTODY_PIN)
		return CF_EUNAUTHORIZED; /* only a PIN unlock signs or re-keys (§22.5) */
	if ((ret = park_keys(c, token, dk->credential_id, kek, aad, &alen)) != 0)
		goto out;
	ret = CF_ECRYPTO;
	if (cf_random(blob, NONCE_LEN) != 0 ||
	    cf_aead_seal(kek, blob, aad, alen, dk->dk, DK_LEN, blob + NONCE_LEN,
			 blob + NONCE_LEN + DK_LEN) != 0)
		goto out;
	*blob_len = PARK_LEN;
	ret = 0;
out:
	if (ret != 0)
		cf_zeroize(blob, cap);
	cf_zeroize(kek, sizeof(kek));
	return ret;
}

int core_unpark_dk(const struct core *c, const char *token, const uint8_t *blob, size_t blob_len,
		   const char *credential_id, struct custody_unlocked *out)
{
	uint8_t kek[32], dk[DK_LEN];
	char aad[AAD_CAP];
	size_t alen = 0;
	int ret;

	if (!c || !blob || !out)
		return CF_EINTERNAL;
	if ((ret = park_keys(c, token, credential_id, kek, aad, &alen)) != 0)
		goto out;
	ret = CF_ECRYPTO; /* a wrong token, another credential, or a damaged blob */
	if (blob_len != PARK_LEN || cf_aead_open(kek, blob, aad, alen, blob + NONCE_LEN, DK_LEN,
						 blob + NONCE_LEN + DK_LEN, dk) != 0)
		goto out;
	memset(out, 0, sizeof(*out));
	memcpy(out->credential_id, credential_id, strlen(credential_id) + 1);
	out->proof = CUSTODY_PIN;
	memcpy(out->dk, dk, DK_LEN);
	/* sealed_key_len stays 0: the caller attaches the record (custody_unlocked_attach) */
	ret = 0;
out:
	cf_zeroize(dk, sizeof(dk));
	cf_zeroize(kek, sizeof(kek));
	return ret;
}
