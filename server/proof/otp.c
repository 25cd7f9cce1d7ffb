/*
 * otp — server-sent one-time passwords (SMS codes) and e-mail link tokens. The database only ever
 * holds an HMAC of a code or token under the server key; codes and tokens are drawn from the
 * CSPRNG, compared in constant time and wiped after use. TOTP codes are checked by cf_otp.
 */
#include "proof.h"

#include <stdio.h>
#include <string.h>

#include "cf_b64.h"
#include "cf_crypto.h"
#include "cf_err.h"

#define SMS_PREFIX "sms:"
#define LINK_PREFIX "link:"

int proof_otp_shape_ok(const char *code, int min, int max)
{
	int n = 0;

	for (; code && *code; code++, n++)
		if (*code < '0' || *code > '9' || n == max)
			return 0;
	return code && n >= min;
}

/* HMAC-SHA-256(key, prefix || text) into mac. */
static int prefixed_mac(const uint8_t *key, size_t key_len, const char *prefix, const char *text,
			uint8_t mac[32])
{
	char buf[64];
	int n = snprintf(buf, sizeof(buf), "%s%s", prefix, text);
	int ret = CF_ECRYPTO;

	if (n > 0 && (size_t)n < sizeof(buf) &&
	    cf_hmac_sha256(key, key_len, buf, (size_t)n, mac) == 0)
		ret = 0;
	cf_zeroize(buf, sizeof(buf));
	return ret;
}

static int sms_derive(const uint8_t *key, size_t key_len, const char *presented,
		      uint8_t out[PROOF_VERIFIER_MAX], size_t *out_len)
{
	int ret;

	if (!proof_otp_shape_ok(presented, PROOF_SMS_DIGITS, PROOF_SMS_DIGITS))
		return CF_EBADCODE;
	ret = prefixed_mac(key, key_len, SMS_PREFIX, presented, out);
	if (ret == 0)
		*out_len = 32;
	return ret;
}

/* Both are HMACs under the server key: the activation code's constant-time comparison. */
static int sms_check(const uint8_t *derived, size_t derived_len, const uint8_t *stored,
		     size_t stored_len)
{
	return proof_activation_code.check(derived, derived_len, stored, stored_len);
}

const struct proof_method proof_sms_otp = {
    .name = "sms-otp",
    .derive = sms_derive,
    .check = sms_check,
    .max_failures = 5,
};

int proof_sms_generate(const uint8_t *key, size_t key_len, char code[PROOF_SMS_DIGITS + 1],
		       uint8_t mac[32])
{
	/* Rejection sampling: draws below the largest multiple of 10^6 are uniform mod 10^6. */
	const uint32_t range = 1000000, limit = UINT32_MAX - UINT32_MAX % range;
	uint32_t r;
	int ret;

	do {
		if (cf_random(&r, sizeof(r)) != 0)
			return CF_ECRYPTO;
	} while (r >= limit);
	snprintf(code, PROOF_SMS_DIGITS + 1, "%06u", (unsigned)(r % range));
	r = 0;
	ret = prefixed_mac(key, key_len, SMS_PREFIX, code, mac);
	if (ret != 0)
		cf_zeroize(code, PROOF_SMS_DIGITS + 1);
	return ret;
}

int proof_count_locked(int *failures, int max, int bad)
{
	(*failures)++;
	return *failures >= max ? CF_EPROOFLOCKED : bad;
}

static void hex16(const uint8_t mac[32], char id[PROOF_TOKEN_ID_CHARS + 1])
{
	static const char hex[] = "0123456789abcdef";

	for (int i = 0; i < 16; i++) {
		id[2 * i] = hex[mac[i] >> 4];
		id[2 * i + 1] = hex[mac[i] & 15];
	}
	id[PROOF_TOKEN_ID_CHARS] = '\0';
}

int proof_token_id(const uint8_t *key, size_t key_len, const char *token,
		   char id[PROOF_TOKEN_ID_CHARS + 1])
{
	uint8_t raw[32], mac[32];
	size_t n = 0;
	int ret;

	/* strict base64url of exactly 32 octets (canonical: no padding, zero trailing bits) */
	if (!token || strlen(token) != PROOF_TOKEN_CHARS ||
	    cf_b64url_decode(token, PROOF_TOKEN_CHARS, raw, sizeof(raw), &n) != 0 || n != 32)
		ret = CF_EBADTOKEN;
	else
		ret = prefixed_mac(key, key_len, LINK_PREFIX, token, mac);
	if (ret == 0)
		hex16(mac, id);
	cf_zeroize(raw, sizeof(raw));
	cf_zeroize(mac, sizeof(mac));
	return ret;
}

int proof_token_generate(const uint8_t *key, size_t key_len, char token[PROOF_TOKEN_CHARS + 1],
			 char id[PROOF_TOKEN_ID_CHARS + 1])
{
	uint8_t raw[32];
	size_t n = 0;
	int ret = CF_ECRYPTO;

	if (cf_random(raw, sizeof(raw)) == 0 &&
	    cf_b64url_encode(raw, sizeof(raw), token, PROOF_TOKEN_CHARS + 1, &n) == 0 &&
	    n == PROOF_TOKEN_CHARS)
		ret = proof_token_id(key, key_len, token, id);
	if (ret != 0)
		cf_zeroize(token, PROOF_TOKEN_CHARS + 1);
	cf_zeroize(raw, sizeof(raw));
	return ret;
}
