/*
 * cf_b64 — base64url (RFC 4648 §5, no padding) for JWS and the protocol, and standard base64
 * (with padding, 64-column lines) for PEM. Decoders are strict: they never accept padding in
 * base64url, white space, characters outside the alphabet, or non-zero trailing bits.
 */
#ifndef CF_B64_H
#define CF_B64_H

#include <stddef.h>
#include <stdint.h>

/* Characters (without NUL) that base64url of n octets needs. */
size_t cf_b64url_enc_len(size_t n);
/* Upper bound of octets that n base64url characters decode to. */
size_t cf_b64url_dec_len(size_t n);

/* Encode in[0..in_len) into out (NUL-terminated); out_cap must be ≥ cf_b64url_enc_len + 1.
 * Returns 0 and *out_len (without NUL), or CF_EMALFORMED if out_cap is too small. */
int cf_b64url_encode(const uint8_t *in, size_t in_len, char *out, size_t out_cap, size_t *out_len);

/* Encode into a new malloc'd NUL-terminated string; caller frees. NULL on allocation failure. */
char *cf_b64url_encode_alloc(const uint8_t *in, size_t in_len);

/* Standard base64 (RFC 4648 §4: '+', '/', '=' padding), the form of the CSC API, into a new
 * malloc'd NUL-terminated string; caller frees. NULL on allocation failure. */
char *cf_b64_encode_alloc(const uint8_t *in, size_t in_len);

/* Decode strictly. Returns 0 and *out_len, or CF_EMALFORMED (bad input or out_cap too small). */
int cf_b64url_decode(const char *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len);

/* Decode into a new malloc'd buffer (*out, caller frees). CF_EMALFORMED or CF_ENOMEM. */
int cf_b64url_decode_alloc(const char *in, size_t in_len, uint8_t **out, size_t *out_len);

/* PEM: wrap DER with "-----BEGIN <label>-----" lines, base64 in 64-column lines, trailing "\n".
 * Returns a malloc'd NUL-terminated string (caller frees) or NULL. */
char *cf_pem_encode(const char *label, const uint8_t *der, size_t der_len);

#endif
