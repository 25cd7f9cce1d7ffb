/*
 * questions — security questions as an identity proof: answers are normalised (so that "  Paris"
 * and "paris" match), peppered with the server key, stretched with PBKDF2 and compared in
 * constant time. The database holds only the verifiers; answers are wiped after use and never
 * logged.
 */
#include "proof.h"

#include <string.h>

#include "cf_crypto.h"
#include "cf_err.h"
#include "cf_utf8.h"
#include "store.h"

static int is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

int proof_answer_normalise(const char *in, char out[PROOF_ANSWER_MAX + 1])
{
	const char *p = in, *c;
	size_t n = 0, len;
	int pending_space = 0;

	while (p && *p) {
		c = p;
		if (cf_utf8_next(&p) < 0)
			goto bad;
		len = (size_t)(p - c);
		if (is_space((unsigned char)*c)) {
			pending_space = n > 0; /* leading white space is dropped */
			continue;
		}
		if (n + pending_space + len > PROOF_ANSWER_MAX)
			goto bad;
		if (pending_space)
			out[n++] = ' ';
		pending_space = 0;
		for (; c < p; c++)
			out[n++] = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
	}
	if (n == 0)
		goto bad;
	out[n] = '\0';
	return 0;
bad:
	cf_zeroize(out, PROOF_ANSWER_MAX + 1);
	return CF_EMALFORMED;
}

int proof_answer_verifier(const uint8_t *pepper, size_t pepper_len, const char *answer,
			  const uint8_t salt[16], uint32_t iterations, uint8_t out[32])
{
	char norm[PROOF_ANSWER_MAX + 1];
	uint8_t peppered[32];
	int ret;

	ret = proof_answer_normalise(answer, norm);
	if (ret != 0)
		return ret;
	ret =
	    cf_hmac_sha256(pepper, pepper_len, norm, strlen(norm), peppered) == 0 ? 0 : CF_ECRYPTO;
	if (ret == 0 &&
	    cf_pbkdf2_sha256(peppered, sizeof(peppered), salt, 16, iterations, out, 32) != 0)
		ret = CF_ECRYPTO;
	cf_zeroize(norm, sizeof(norm));
	cf_zeroize(peppered, sizeof(peppered));
	return ret;
}

int proof_answers_right(const uint8_t derived[3][32], const struct store_questions *q)
{
	int right = 0;

	/* All three are compared whatever the first results, so the time says nothing. */
	for (int i = 0; i < STORE_QUESTIONS; i++)
		right += cf_ct_equal(derived[i], q->verifier[i], 32);
	return right;
}
