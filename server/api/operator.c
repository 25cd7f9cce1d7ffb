/*
 * operator — the operators' own admin operations (spec/protocol.md §12 "Operators", issue 10):
 * admin/operator-add, operator-list, operator-remove. An operator is an admin account with a
 * name; the new operator's key is made by her, and only its public JWK reaches the server.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "cf_crypto.h"
#include "cf_err.h"

/* Operator object: name, account (id), status, createdAt. */
static cf_json *operator_json(const struct store_account *a)
{
	cf_json *o = cf_json_new_object();
	int ret = o ? 0 : CF_ENOMEM;

	if (ret == 0) {
		ret |= cf_json_add_str(o, "name", core_operator_name(a));
		ret |= cf_json_add_str(o, "account", a->id);
		ret |= cf_json_add_str(o, "status",
				       a->status == ACCOUNT_VALID ? "active" : "deactivated");
		ret |= api_add_time(o, "createdAt", a->created_at);
	}
	if (ret == 0)
		return o;
	cf_json_free(o);
	return NULL;
}

static int bad(struct http_resp *resp, const char *detail)
{
	snprintf(resp->detail, sizeof(resp->detail), "%s", detail);
	return CF_EMALFORMED;
}

/* The payload's name: 1..64 octets without control characters. */
static int decode_name(const struct http_req *req, struct http_resp *resp, const char **name)
{
	if (!req->payload ||
	    cf_json_get_str(req->payload, "name", CORE_OPERATOR_NAME_MAX, name) != 0 ||
	    !core_operator_name_ok(*name))
		return bad(resp, "name must be 1 to 64 characters without control characters");
	return 0;
}

int api_admin_operator_add(const struct http_req *req, struct http_resp *resp)
{
	struct store_account a;
	struct core_who who;
	char actor[API_WHO_LEN];
	const cf_json *jwk;
	cf_json *pub = NULL, *doc;
	cf_key *key = NULL;
	char *text = NULL;
	const char *name;
	int ret = decode_name(req, resp, &name);

	if (ret != 0)
		return ret;
	jwk = cf_json_get(req->payload, "jwk");
	if (!jwk || cf_key_from_jwk(jwk, &key) != 0)
		return bad(resp, "jwk must be the public key of the new operator (EC P-256 or "
				 "P-384, or RSA 2048 to 4096 bits)");
	/* store the key as the server writes JWKs: only the public members */
	ret = cf_key_to_jwk(key, &pub);
	if (ret == 0 && !(text = cf_json_print(pub)))
		ret = CF_ENOMEM;
	if (ret == 0) {
		api_who(req, &who, actor);
		ret = core_operator_add(req->core, &who, name, key, text, &a);
	}
	if (ret == CF_ECONFLICT)
		snprintf(resp->detail, sizeof(resp->detail),
			 "an operator of this name, or an account with this key, exists already");
	free(text);
	cf_json_free(pub);
	cf_key_free(key);
	if (ret != 0)
		return ret;
	doc = operator_json(&a);
	return doc ? http_resp_json(resp, 201, doc) : CF_ENOMEM;
}

static int page_operator(const struct store_account *a, void *ctx)
{
	struct api_page *pg = ctx;
	int r = api_page_visit(pg, a->id, 1);
	cf_json *o;

	if (r)
		return r;
	o = operator_json(a);
	return o ? cf_json_push(pg->arr, o) : CF_ENOMEM;
}

int api_admin_operator_list(const struct http_req *req, struct http_resp *resp)
{
	struct api_page pg;
	int ret = api_need_payload(req, resp);

	if (ret == 0)
		ret = api_page_start(req, resp, &pg);
	if (ret != 0)
		return ret;
	ret = core_operator_list(req->core, pg.after, page_operator, &pg);
	if (ret == CF_EMALFORMED)
		snprintf(resp->detail, sizeof(resp->detail),
			 "after must be the next value of the previous page");
	return api_page_answer(resp, "operators", &pg, ret);
}

int api_admin_operator_remove(const struct http_req *req, struct http_resp *resp)
{
	struct store_account a;
	struct core_who who;
	char actor[API_WHO_LEN];
	const char *name;
	cf_json *doc;
	int ret = decode_name(req, resp, &name);

	if (ret != 0)
		return ret;
	api_who(req, &who, actor);
	ret = core_operator_remove(req->core, &who, req->account ? req->account->id : "", name, &a);
	if (ret == CF_ENOTFOUND)
		snprintf(resp->detail, sizeof(resp->detail), "no operator of this name");
	else if (ret == CF_ECONFLICT)
		snprintf(resp->detail, sizeof(resp->detail),
			 "this operator cannot be removed: it is you, it is removed already, or it "
			 "is the last active operator");
	if (ret != 0)
		return ret;
	doc = operator_json(&a);
	return doc ? http_resp_json(resp, 200, doc) : CF_ENOMEM;
}
