/*
 * proof — the table of identity proofs and the activation code (HMAC-SHA-256 of the normalised
 * code under secret.key). Never logs or returns a presented secret; wipes every copy it makes.
 */
#include "proof.h"

#include <string.h>

#include "cf_crypto.h"
#include "cf_err.h"

static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

static int crockford_value(char c)
{
	const char *p = c ? strchr(crockford, c) : NULL;

	return p ? (int)(p - crockford) : -1;
}

/* Crockford base32 codes of `chars` characters (activation: 20, emergency: 16): normalise a
 * typed code into out (chars + 1), or CF_EBADCODE with out wiped. */
static int code_normalise(const char *in, size_t chars, char *out)
{
	size_t n = 0;
	char c;

	for (; in && *in; in++) {
		c = *in;
		if (c == '-' || c == ' ')
			continue;
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (c == 'O')
			c = '0';
		else if (c == 'I' || c == 'L')
			c = '1';
		if (n == chars || crockford_value(c) < 0)
			goto bad;
		out[n++] = c;
	}
	if (n != chars)
		goto bad;
	out[n] = '\0';
	return 0;
bad:
	cf_zeroize(out, chars + 1);
	return CF_EBADCODE;
}

int proof_code_normalise(const char *in, char out[PROOF_CODE_CHARS + 1])
{
	return code_normalise(in, PROOF_CODE_CHARS, out);
}

int proof_emergency_normalise(const char *in, char out[PROOF_EMERGENCY_CHARS + 1])
{
	return code_normalise(in, PROOF_EMERGENCY_CHARS, out);
}

/* The verifier of a code is the HMAC of its normalised form; the two kinds differ in length, so
 * one can never stand for the other. */
static int code_derive_n(const uint8_t *key, size_t key_len, const char *presented, size_t chars,
			 uint8_t out[PROOF_VERIFIER_MAX], size_t *out_len)
{
	char norm[PROOF_CODE_CHARS + 1];
	int ret;

	ret = code_normalise(presented, chars, norm);
	if (ret != 0)
		return ret;
	ret = cf_hmac_sha256(key, key_len, norm, chars, out);
	cf_zeroize(norm, sizeof(norm));
	if (ret != 0)
		return CF_ECRYPTO;
	*out_len = 32;
	return 0;
}

static int code_derive(const uint8_t *key, size_t key_len, const char *presented,
		       uint8_t out[PROOF_VERIFIER_MAX], size_t *out_len)
{
	return code_derive_n(key, key_len, presented, PROOF_CODE_CHARS, out, out_len);
}

static int emergency_derive(const uint8_t *key, size_t key_len, const char *presented,
			    uint8_t out[PROOF_VERIFIER_MAX], size_t *out_len)
{
	return code_derive_n(key, key_len, presented, PROOF_EMERGENCY_CHARS, out, out_len);
}

static int mac_check(const uint8_t *derived, size_t derived_len, const uint8_t *stored,
		     size_t stored_len)
{
	if (derived_len != stored_len || derived_len == 0)
		return CF_EBADCODE;
	return cf_ct_equal(derived, stored, derived_len) ? 0 : CF_EBADCODE;
}

const struct proof_method proof_activation_code = {
    .name = "activation-code",
    .derive = code_derive,
    .check = mac_check,
    .max_failures = 5,
};

const struct proof_method proof_emergency_code = {
    .name = "emergency-code",
    .derive = emergency_derive,
    .check = mac_check,
    .max_failures = 5,
};

static const struct proof_method *const methods[] = {
    &proof_activation_code,
    &proof_emergency_code,
    &proof_sms_otp,
};

const struct proof_method *proof_find(const char *name)
{
	for (size_t i = 0; name && i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strcmp(methods[i]->name, name) == 0)
			return methods[i];
	return NULL;
}

int proof_count_failure(int *failures, int max)
{
	(*failures)++;
	return *failures >= max ? CF_ELOCKED : CF_EBADCODE;
}

/* A random code of chars characters (a multiple of 4, at most PROOF_CODE_CHARS) in display form
 * (groups of 4 joined by '-', display holds chars + chars / 4 octets) and its verifier. */
static int code_generate(const uint8_t *key, size_t key_len, size_t chars, char *display,
			 uint8_t mac[32])
{
	uint8_t rnd[13]; /* 104 bits; the first 5 * chars are used */
	char norm[PROOF_CODE_CHARS + 1];
	unsigned bit = 0, v;
	size_t i, d = 0;
	int ret = CF_EINTERNAL;

	if (cf_random(rnd, sizeof(rnd)) != 0) {
		ret = CF_ECRYPTO;
		goto out;
	}
	for (i = 0; i < chars; i++, bit += 5) {
		/* 5 bits starting at bit, big-endian across the octets */
		v = ((unsigned)rnd[bit / 8] << 8 |
		     (bit / 8 + 1 < sizeof(rnd) ? rnd[bit / 8 + 1] : 0));
		v = (v >> (11 - bit % 8)) & 31;
		norm[i] = crockford[v];
		if (i && i % 4 == 0)
			display[d++] = '-';
		display[d++] = crockford[v];
	}
	norm[chars] = '\0';
	display[d] = '\0';
	if (cf_hmac_sha256(key, key_len, norm, chars, mac) != 0) {
		cf_zeroize(display, d + 1);
		ret = CF_ECRYPTO;
		goto out;
	}
	ret = 0;
out:
	cf_zeroize(rnd, sizeof(rnd));
	cf_zeroize(norm, sizeof(norm));
	return ret;
}

int proof_code_generate(const uint8_t *key, size_t key_len, char display[PROOF_CODE_DISPLAY + 1],
			uint8_t mac[32])
{
	return code_generate(key, key_len, PROOF_CODE_CHARS, display, mac);
}

int proof_emergency_generate(const uint8_t *key, size_t key_len,
			     char display[PROOF_EMERGENCY_DISPLAY + 1], uint8_t mac[32])
{
	return code_generate(key, key_len, PROOF_EMERGENCY_CHARS, display, mac);
}
