/* envelope — JWS request checks; see envelope.h for the order, which is normative. */
#include "envelope.h"

#include <stdio.h>
#include <string.h>

#include "cf_err.h"
#include "core.h"

#define ACCOUNT_PATH "/v1/account/"
#define ACME_ACCOUNT_PATH "/acme/acct/"

static int is_acme(enum http_auth auth)
{
	return auth == HTTP_AUTH_ACME_JWK || auth == HTTP_AUTH_ACME_KID ||
	       auth == HTTP_AUTH_ACME_ANY;
}

static const char *account_id_at(const char *base_url, const char *path, const char *url)
{
	size_t bl = strlen(base_url), pl = strlen(path);
	const char *id;

	if (strncmp(url, base_url, bl) != 0 || strncmp(url + bl, path, pl) != 0)
		return NULL;
	id = url + bl + pl;
	if (!id[0] || strlen(id) >= sizeof(((struct store_account *)0)->id) || strchr(id, '/'))
		return NULL;
	return id;
}

const char *envelope_account_id(const char *base_url, const char *url)
{
	return account_id_at(base_url, ACCOUNT_PATH, url);
}

const char *envelope_acme_account_id(const char *base_url, const char *url)
{
	return account_id_at(base_url, ACME_ACCOUNT_PATH, url);
}

/* The kid's account, valid, and its key. */
static int kid_key(struct envelope *env, enum http_auth auth, const char *base_url,
		   struct core *core, cf_key **key, char *detail, size_t cap)
{
	const char *id = is_acme(auth) ? envelope_acme_account_id(base_url, env->jws.kid)
				       : envelope_account_id(base_url, env->jws.kid);
	cf_json *jwk = NULL;
	int ret;

	if (!id) {
		snprintf(detail, cap, "kid is not an account URL of this server");
		return CF_ENOACCOUNT;
	}
	ret = core_account_get(core, id, &env->account);
	if (ret == CF_ENOTFOUND) {
		snprintf(detail, cap, "no account %s", id);
		return CF_ENOACCOUNT;
	}
	if (ret != 0)
		return ret;
	if (env->account.status != ACCOUNT_VALID) {
		snprintf(detail, cap, "account %s is deactivated", id);
		return CF_EDEACTIVATED;
	}
	if (auth == HTTP_AUTH_ADMIN && env->account.role != ROLE_ADMIN) {
		snprintf(detail, cap, "account %s is not an administrator", id);
		return CF_EUNAUTHORIZED;
	}
	snprintf(env->account_url, sizeof(env->account_url), "%s", env->jws.kid);
	ret = cf_json_parse(env->account.jwk, strlen(env->account.jwk), &jwk);
	if (ret == 0)
		ret = cf_key_from_jwk(jwk, key);
	cf_json_free(jwk);
	return ret == 0 ? 0 : CF_EINTERNAL;
}

static int header_checks(struct envelope *env, enum http_auth auth, const char *base_url,
			 const char *path, nonce_store *nonces, char *detail, size_t cap)
{
	size_t bl = strlen(base_url);
	const char *what = NULL;

	int want_jwk = auth == HTTP_AUTH_JWK || auth == HTTP_AUTH_ACME_JWK;

	if (want_jwk && !env->jws.jwk)
		what = "this resource needs a jwk in the protected header";
	else if (!want_jwk && auth != HTTP_AUTH_ACME_ANY && !env->jws.kid[0])
		what = "this resource needs a kid in the protected header";
	if (what) {
		snprintf(detail, cap, "%s", what);
		return CF_EMALFORMED;
	}
	if (strncmp(env->jws.url, base_url, bl) != 0 || strcmp(env->jws.url + bl, path) != 0) {
		snprintf(detail, cap, "url in the protected header is not the request URL");
		return CF_EUNAUTHORIZED;
	}
	if (nonce_consume(nonces, env->jws.nonce) != 0) {
		snprintf(detail, cap, "unknown, used or expired nonce");
		return CF_EBADNONCE;
	}
	return 0;
}

int envelope_check(const char *body, size_t len, enum http_auth auth, const char *base_url,
		   const char *path, nonce_store *nonces, struct core *core, struct envelope *env,
		   char *detail, size_t cap)
{
	cf_key *key = NULL;
	int ret = CF_EINTERNAL;

	memset(env, 0, sizeof(*env));
	ret = cf_jws_parse(body, len, 0, &env->jws); /* a missing nonce is badNonce, below */
	if (ret != 0) {
		snprintf(detail, cap, "%s",
			 ret == CF_EBADALG ? "unsupported signature algorithm"
					   : "not a valid flattened JWS");
		goto out;
	}
	env->parsed = 1;
	ret = header_checks(env, auth, base_url, path, nonces, detail, cap);
	if (ret != 0)
		goto out;
	if (env->jws.kid[0]) {
		ret = kid_key(env, auth, base_url, core, &key, detail, cap);
		if (ret != 0)
			goto out;
	}
	ret = cf_jws_verify(&env->jws, key);
	if (ret != 0) {
		snprintf(detail, cap, "%s",
			 ret == CF_EBADALG ? "alg does not fit the key"
					   : "signature does not verify");
		goto out;
	}
	if (env->jws.payload_len > 0) {
		ret = cf_json_parse((const char *)env->jws.payload, env->jws.payload_len,
				    &env->payload);
		if (ret == 0 && !cf_json_is_object(env->payload))
			ret = CF_EMALFORMED;
		if (ret != 0) {
			snprintf(detail, cap, "payload is not a JSON object");
			goto out;
		}
	}
	ret = 0;
out:
	cf_key_free(key);
	return ret;
}

void envelope_clear(struct envelope *env)
{
	if (env->parsed)
		cf_jws_clear(&env->jws);
	cf_json_free(env->payload);
	memset(env, 0, sizeof(*env));
}
