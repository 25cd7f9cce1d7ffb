/*
 * account — POST /v1/account/<id> (§6): read (POST-as-GET), deactivate; and POST /v1/key-change
 * (RFC 8555 §7.3.5): outer JWS by the old key (checked by the envelope), inner JWS by the new key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "cf_err.h"
#include "cf_jws.h"

static int answer_account(const struct http_req *req, const struct store_account *a,
			  struct http_resp *resp)
{
	cf_json *doc = NULL;
	int ret = resp->acme ? api_acme_account_json(req, a, &doc) : api_account_json(req, a, &doc);

	if (ret != 0)
		return ret;
	snprintf(resp->location, sizeof(resp->location), "%s", req->account_url);
	return http_resp_json(resp, 200, doc);
}

int api_account_update(const struct http_req *req, struct http_resp *resp,
		       struct store_account *out)
{
	struct core_who who;
	char actor[API_WHO_LEN];
	const char *status = NULL;

	if (req->payload && cf_json_get_str_opt(req->payload, "status", 32, &status) != 0)
		return CF_EMALFORMED;
	if (!status) {
		*out = *req->account;
		return 0;
	}
	if (strcmp(status, "deactivated") != 0) {
		snprintf(resp->detail, sizeof(resp->detail), "status can only be \"deactivated\"");
		return CF_EMALFORMED;
	}
	api_who(req, &who, actor);
	return core_account_deactivate(req->core, &who, req->account->id, out);
}

int api_account(const struct http_req *req, struct http_resp *resp)
{
	struct store_account a;
	int ret;

	if (strcmp(req->param, req->account->id) != 0) {
		ret = core_account_get(req->core, req->param, &a);
		snprintf(resp->detail, sizeof(resp->detail), "%s",
			 ret == CF_ENOTFOUND ? "no such account"
					     : "an account can only read itself");
		return ret == CF_ENOTFOUND ? CF_ENOTFOUND : CF_EUNAUTHORIZED;
	}
	ret = api_account_update(req, resp, &a);
	return ret ? ret : answer_account(req, &a, resp);
}

/* The inner JWS: signed by its own jwk, same url as the outer one, payload naming the account and
 * its old key. */
static int check_inner(const struct http_req *req, struct cf_jws *inner, cf_key **old_key,
		       char *detail, size_t cap)
{
	const cf_json *old;
	const char *acct;
	cf_json *p = NULL;
	int ret = CF_EMALFORMED;

	if (!inner->jwk || inner->kid[0] || inner->nonce[0]) {
		snprintf(detail, cap,
			 "the inner JWS must carry the new key as jwk, no kid, no nonce");
		return CF_EMALFORMED;
	}
	if (strcmp(inner->url, req->jws->url) != 0) {
		snprintf(detail, cap, "inner and outer url differ");
		return CF_EMALFORMED;
	}
	ret = cf_jws_verify(inner, NULL);
	if (ret != 0) {
		snprintf(detail, cap, "the inner signature does not verify");
		return ret;
	}
	ret = cf_json_parse((const char *)inner->payload, inner->payload_len, &p);
	if (ret != 0 || cf_json_get_str(p, "account", HTTP_MAX_URL + 80, &acct) != 0 ||
	    !(old = cf_json_get(p, "oldKey"))) {
		snprintf(detail, cap, "inner payload must hold account and oldKey");
		ret = CF_EMALFORMED;
		goto out;
	}
	if (strcmp(acct, req->account_url) != 0) {
		snprintf(detail, cap, "inner account is not the signer's account");
		ret = CF_EMALFORMED;
		goto out;
	}
	if (cf_key_from_jwk(old, old_key) != 0) {
		snprintf(detail, cap, "oldKey is not a valid public JWK");
		ret = CF_EMALFORMED;
	}
out:
	cf_json_free(p);
	return ret;
}

int api_key_change(const struct http_req *req, struct http_resp *resp)
{
	struct cf_jws inner;
	struct store_account a;
	cf_key *old_key = NULL;
	cf_json *jwk = NULL;
	char *jwk_text = NULL, holder[sizeof(a.id)] = "", actor[API_WHO_LEN];
	struct core_who who;
	int ret, parsed = 0;

	if (!req->payload) {
		snprintf(resp->detail, sizeof(resp->detail), "the payload must be the inner JWS");
		return CF_EMALFORMED;
	}
	memset(&inner, 0, sizeof(inner));
	ret = cf_jws_parse((const char *)req->jws->payload, req->jws->payload_len, 0, &inner);
	if (ret != 0) {
		snprintf(resp->detail, sizeof(resp->detail), "the inner JWS is not valid");
		if (ret != CF_EBADKEY && ret != CF_EBADALG)
			ret = CF_EMALFORMED;
		goto out;
	}
	parsed = 1;
	ret = check_inner(req, &inner, &old_key, resp->detail, sizeof(resp->detail));
	if (ret != 0)
		goto out;
	ret = cf_key_to_jwk(inner.jwk, &jwk);
	if (ret == 0)
		jwk_text = cf_json_print(jwk);
	if (ret != 0 || !jwk_text) {
		ret = ret ? ret : CF_ENOMEM;
		goto out;
	}
	api_who(req, &who, actor);
	ret = core_account_key_change(req->core, &who, req->account->id, old_key, inner.jwk,
				      jwk_text, &a, holder);
	if (ret == CF_ECONFLICT) {
		snprintf(resp->detail, sizeof(resp->detail), "the new key belongs to an account");
		if (resp->acme) /* RFC 8555 §7.3.5: 409 with the other account's URL */
			snprintf(resp->location, sizeof(resp->location), "%s/acme/acct/%s",
				 req->base_url, holder);
		else
			api_url(req, "account", holder, resp->location, sizeof(resp->location));
	} else if (ret == CF_EUNAUTHORIZED) {
		snprintf(resp->detail, sizeof(resp->detail), "oldKey is not the account's key");
		ret = CF_EMALFORMED;
	}
	if (ret == 0)
		ret = answer_account(req, &a, resp);
out:
	if (parsed)
		cf_jws_clear(&inner);
	cf_key_free(old_key);
	cf_json_free(jwk);
	free(jwk_text);
	return ret;
}
