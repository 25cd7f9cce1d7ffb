/*
 * proof — identity proofs behind one table. A method derives a verifier from what the holder
 * presents (outside any transaction: it may be slow), then compares it with the stored verifier in
 * constant time inside the transaction that also counts failures. For now there is one method,
 * the activation code; PIN, PUK, OTP and security questions join the table later.
 *
 * Presented secrets are never logged and are wiped by the caller after use.
 */
#ifndef PROOF_H
#define PROOF_H

#include <stddef.h>
#include <stdint.h>

#define PROOF_VERIFIER_MAX 64

struct proof_method {
	const char *name;
	/* Verifier of the presented secret under the server key. CF_EBADCODE if it cannot be right
	 * (wrong length or alphabet), which counts as a failure like a wrong value. */
	int (*derive)(const uint8_t *key, size_t key_len, const char *presented,
		      uint8_t out[PROOF_VERIFIER_MAX], size_t *out_len);
	/* 0 if derived equals stored (constant time), CF_EBADCODE if not. */
	int (*check)(const uint8_t *derived, size_t derived_len, const uint8_t *stored,
		     size_t stored_len);
	int max_failures; /* default limit; configuration may override */
};

/* The method called name ("activation-code"), or NULL. */
const struct proof_method *proof_find(const char *name);

/* Count one failure: ++*failures; CF_ELOCKED when it reaches max, CF_EBADCODE before. */
int proof_count_failure(int *failures, int max);

/* ---- activation code ------------------------------------------------------------------- */

#define PROOF_CODE_CHARS 20   /* Crockford base32, 100 bits */
#define PROOF_CODE_DISPLAY 24 /* 5 groups of 4 joined by '-' */

extern const struct proof_method proof_activation_code;

/* Normalise a typed code for comparison: drop '-' and spaces, upper-case, O→0, I and L→1.
 * 0 and out (20 characters + NUL) if the result is 20 Crockford base32 characters, else
 * CF_EBADCODE. out is wiped on failure. */
int proof_code_normalise(const char *in, char out[PROOF_CODE_CHARS + 1]);

/* New random code in display form (24 characters + NUL) and its verifier mac under key.
 * The caller wipes display. */
int proof_code_generate(const uint8_t *key, size_t key_len, char display[PROOF_CODE_DISPLAY + 1],
			uint8_t mac[32]);

/* ---- security questions (proof/questions.c) -------------------------------------------- */

#define PROOF_ANSWER_MAX 128

/* Normalise an answer: trim, collapse runs of white space to one space, ASCII letters to lower
 * case (other UTF-8 kept). CF_EMALFORMED if empty, over PROOF_ANSWER_MAX octets or not UTF-8. */
int proof_answer_normalise(const char *in, char out[PROOF_ANSWER_MAX + 1]);
/* Verifier of one answer: PBKDF2-HMAC-SHA-256(HMAC-SHA-256(pepper, normalised answer), salt,
 * iterations), 32 octets. Slow: call outside transactions. CF_EMALFORMED as above. */
int proof_answer_verifier(const uint8_t *pepper, size_t pepper_len, const char *answer,
			  const uint8_t salt[16], uint32_t iterations, uint8_t out[32]);
/* How many of the three derived verifiers equal the stored ones (constant time, all three
 * always compared). The struct is store.h's. */
struct store_questions;
int proof_answers_right(const uint8_t derived[3][32], const struct store_questions *q);

#endif
