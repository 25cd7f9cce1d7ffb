/*
 * cf_envelope — the passphrase-protected envelope (spec/protocol.md §16): a small JSON document
 * of secrets (activation code, emergency code, envelope number, reference number; later PIN and
 * PUK) encrypted with AES-256-GCM under a key derived from a passphrase by PBKDF2-HMAC-SHA-256.
 *
 * Wire form (armoured, as mailed):
 *   -----BEGIN CERTFLOW ENVELOPE-----
 *   <base64 of the JSON object below, lines of 64 characters>
 *   -----END CERTFLOW ENVELOPE-----
 * JSON object: {"v":1,"kdf":"PBKDF2-HMAC-SHA256","iter":N,"salt":b64u(16),"enc":"A256GCM",
 *               "number":K,"nonce":b64u(12),"ct":b64u,"tag":b64u(16)}
 * with aad = the ASCII text "certflow-envelope-v1:" followed by the decimal number K.
 * The server derives the key once (at application time, from the applicant's passphrase) and
 * keeps it sealed; it can therefore send later envelopes without knowing the passphrase.
 */
#ifndef CF_ENVELOPE_H
#define CF_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#define CF_ENVELOPE_ITER_MIN 1000
#define CF_ENVELOPE_ITER_MAX 10000000
#define CF_ENVELOPE_PLAIN_MAX 4096

/* Key of passphrase (PBKDF2-HMAC-SHA-256, 32 octets). */
int cf_envelope_key(const char *passphrase, const uint8_t salt[16], uint32_t iterations,
		    uint8_t key[32]);
/* Armoured envelope number `number` of plaintext (a JSON text) under key, into a malloc'd
 * NUL-terminated string. */
int cf_envelope_seal(const uint8_t key[32], const uint8_t salt[16], uint32_t iterations,
		     uint32_t number, const char *plaintext, char **armoured);
/* cf_envelope_seal with the caller's nonce instead of a random one: for the test vector of the
 * spec only (a nonce must never be used twice under one key). */
int cf_envelope_seal_nonce(const uint8_t key[32], const uint8_t salt[16], uint32_t iterations,
			   uint32_t number, const uint8_t nonce[12], const char *plaintext,
			   char **armoured);
/* Open an armoured envelope (surrounding text such as an e-mail body is skipped) with the
 * passphrase: *plaintext (malloc'd, NUL-terminated; the caller wipes and frees it) and *number.
 * CF_EMALFORMED (no envelope, bad fields, iterations outside the bounds), CF_EBADPASSPHRASE. */
int cf_envelope_open(const char *text, size_t len, const char *passphrase, char **plaintext,
		     uint32_t *number);

#endif
