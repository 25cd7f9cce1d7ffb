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

/* ---- emergency code: like the activation code, 16 characters (80 bits), 4 groups of 4 ---- */

#define PROOF_EMERGENCY_CHARS 16
#define PROOF_EMERGENCY_DISPLAY 19

extern const struct proof_method proof_emergency_code;

/* As proof_code_normalise, for 16 characters. */
int proof_emergency_normalise(const char *in, char out[PROOF_EMERGENCY_CHARS + 1]);
/* New random emergency code in display form (19 characters + NUL) and its verifier mac. */
int proof_emergency_generate(const uint8_t *key, size_t key_len,
			     char display[PROOF_EMERGENCY_DISPLAY + 1], uint8_t mac[32]);

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

/* ---- one-time passwords and link tokens (proof/otp.c) ---------------------------------- */

#define PROOF_SMS_DIGITS 6
#define PROOF_TOKEN_CHARS 43 /* link token: base64url of 32 random octets */
#define PROOF_TOKEN_ID_CHARS 32 /* its id: hex of the first 16 octets of its HMAC */

/* SMS codes: derive = HMAC-SHA-256 under the server key of "sms:" and the 6 digits (CF_EBADCODE
 * when the presented code is not 6 digits), check = constant-time comparison. */
extern const struct proof_method proof_sms_otp;

/* A new SMS code (6 digits, uniform, from the CSPRNG) and its verifier mac (as derive). The caller
 * wipes code. */
int proof_sms_generate(const uint8_t *key, size_t key_len, char code[PROOF_SMS_DIGITS + 1],
		       uint8_t mac[32]);

/* 1 if code is digits only, min..max of them. (TOTP codes are checked by cf_totp_check of
 * cf_otp.h: ±window steps, each step accepted once.) */
int proof_otp_shape_ok(const char *code, int min, int max);

/* Count one failure of a proof limited to max attempts: ++*failures; CF_EPROOFLOCKED when it
 * reaches max, else bad (CF_EBADOTP, CF_EBADANSWERS, ...). */
int proof_count_locked(int *failures, int max, int bad);

/* A new link token (43 base64url characters of 32 random octets) and its id: the hex of the first
 * 16 octets of HMAC-SHA-256(key, "link:" token). The caller wipes token. */
int proof_token_generate(const uint8_t *key, size_t key_len, char token[PROOF_TOKEN_CHARS + 1],
			 char id[PROOF_TOKEN_ID_CHARS + 1]);
/* The id of a presented token; CF_EBADTOKEN if it is not 43 base64url characters. */
int proof_token_id(const uint8_t *key, size_t key_len, const char *token,
		   char id[PROOF_TOKEN_ID_CHARS + 1]);

#endif
