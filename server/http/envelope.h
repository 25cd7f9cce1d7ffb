/*
 * envelope — the JWS check of every POST, in the order of spec/protocol.md §4: JWS members and
 * protected header (cf_jws_parse) → alg → url (the server's base URL + the request path) → nonce
 * (consumed) → key (jwk on every HTTP_AUTH_JWK route, kid refused there; else the kid's account:
 * unknown accountDoesNotExist, deactivated unauthorized, admin routes need the admin role) →
 * signature → payload JSON.
 */
#ifndef ENVELOPE_H
#define ENVELOPE_H

#include <stddef.h>

#include "cf_jws.h"
#include "http.h"
#include "nonce.h"
#include "store.h"

struct envelope {
	struct cf_jws jws;
	int parsed;
	cf_json *payload;	      /* NULL for POST-as-GET */
	struct store_account account; /* KID/ADMIN */
	char account_url[CF_JWS_MAX_URL + 1];
};

/* Check body for a route of kind auth on path. On failure detail (cap bytes) says why, without
 * any secret. env is cleared by envelope_clear in every case. */
int envelope_check(const char *body, size_t len, enum http_auth auth, const char *base_url,
		   const char *path, nonce_store *nonces, struct core *core, struct envelope *env,
		   char *detail, size_t cap);
void envelope_clear(struct envelope *env);

/* Account id of an account URL on this server, or NULL. */
const char *envelope_account_id(const char *base_url, const char *url);
/* Account id of an ACME account URL (<base>/acme/acct/<id>) on this server, or NULL. */
const char *envelope_acme_account_id(const char *base_url, const char *url);

#endif
