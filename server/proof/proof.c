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

int proof_code_normalise(const char *in, char out[PROOF_CODE_CHARS + 1])
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
		if (n == PROOF_CODE_CHARS || crockford_value(c) < 0)
			goto bad;
		out[n++] = c;
	}
	if (n != PROOF_CODE_CHARS)
		goto bad;
	out[n] = '\0';
	return 0;
bad:
	cf_zeroize(out, PROOF_CODE_CHARS + 1);
	return CF_EBADCODE;
}

static int code_derive(const uint8_t *key, size_t key_len, const char *presented,
		       uint8_t out[PROOF_VERIFIER_MAX], size_t *out_len)
{
	char norm[PROOF_CODE_CHARS + 1];
	int ret;

	ret = proof_code_normalise(presented, norm);
	if (ret != 0)
		return ret;
	ret = cf_hmac_sha256(key, key_len, norm, PROOF_CODE_CHARS, out);
	cf_zeroize(norm, sizeof(norm));
	if (ret != 0)
		return CF_ECRYPTO;
	*out_len = 32;
	return 0;
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

static const struct proof_method *const methods[] = {
    &proof_activation_code,
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

int proof_code_generate(const uint8_t *key, size_t key_len, char display[PROOF_CODE_DISPLAY + 1],
			uint8_t mac[32])
{
	uint8_t rnd[13]; /* 104 bits; the first 100 are used */
	char norm[PROOF_CODE_CHARS + 1];
	unsigned bit = 0, v;
	size_t i, d = 0;
	int ret = CF_EINTERNAL;

	if (cf_random(rnd, sizeof(rnd)) != 0) {
		ret = CF_ECRYPTO;
		goto out;
	}
	for (i = 0; i < PROOF_CODE_CHARS; i++, bit += 5) {
		/* 5 bits starting at bit, big-endian across the octets */
		v = ((unsigned)rnd[bit / 8] << 8 |
		     (bit / 8 + 1 < sizeof(rnd) ? rnd[bit / 8 + 1] : 0));
		v = (v >> (11 - bit % 8)) & 31;
		norm[i] = crockford[v];
		if (i && i % 4 == 0)
			display[d++] = '-';
		display[d++] = crockford[v];
	}
	norm[PROOF_CODE_CHARS] = '\0';
	display[d] = '\0';
	if (cf_hmac_sha256(key, key_len, norm, PROOF_CODE_CHARS, mac) != 0) {
		cf_zeroize(display, PROOF_CODE_DISPLAY + 1);
		ret = CF_ECRYPTO;
		goto out;
	}
	ret = 0;
out:
	cf_zeroize(rnd, sizeof(rnd));
	cf_zeroize(norm, sizeof(norm));
	return ret;
}
