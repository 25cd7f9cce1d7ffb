/*
 * cf_jws — JSON Web Signature (RFC 7515) in flattened JSON serialization, as the protocol uses
 * it (spec/protocol.md §4): protected header {alg, nonce, url, jwk | kid}.
 *
 * Parsing and verification are separate so the server can check nonce and url, and look up the
 * kid, between them. Parsing never trusts a length it has not bounded.
 */
#ifndef CF_JWS_H
#define CF_JWS_H

#include <stddef.h>
#include <stdint.h>

#include "cf_crypto.h"
#include "cf_json.h"

#define CF_JWS_MAX_URL 512
#define CF_JWS_MAX_NONCE 64

struct cf_jws {
	enum cf_alg alg;
	char nonce[CF_JWS_MAX_NONCE + 1]; /* "" if absent */
	char url[CF_JWS_MAX_URL + 1];
	char kid[CF_JWS_MAX_URL + 1]; /* "" when jwk is used */
	cf_key *jwk;                 /* owned; NULL when kid is used */
	cf_json *jwk_json;           /* the jwk member as sent (owned), for storing */
	uint8_t *payload;            /* decoded payload (owned, NUL-terminated); len 0 = POST-as-GET */
	size_t payload_len;
	char *signing_input;         /* "<protected>.<payload>" as sent (owned) */
	size_t signing_input_len;
	uint8_t sig[512];
	size_t sig_len;
};

/* Parse a flattened JWS body. Checks: JSON object with string members protected, payload,
 * signature (base64url); protected header is a JSON object with alg (a supported one, else
 * CF_EBADALG), url, exactly one of jwk/kid (CF_EMALFORMED otherwise), nonce if require_nonce.
 * On success *out is filled and must be released with cf_jws_clear. */
int cf_jws_parse(const char *body, size_t len, int require_nonce, struct cf_jws *out);

/* Verify the signature with key (or with out->jwk when key is NULL). CF_EBADSIG, CF_EBADALG. */
int cf_jws_verify(const struct cf_jws *jws, const cf_key *key);

void cf_jws_clear(struct cf_jws *jws);

/* Sign payload (len may be 0: POST-as-GET) into a flattened JWS JSON text (malloc'd).
 * kid NULL → the key's jwk goes in the header. nonce NULL → no nonce member (inner JWS of a key
 * change). */
int cf_jws_sign(const cf_key *key, const char *nonce, const char *url, const char *kid,
		const void *payload, size_t len, char **out);

#endif
