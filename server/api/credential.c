/* credential — POST-as-GET /v1/credential/<id> (§11) by the owning account (or an admin). */
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "cf_err.h"

int api_credential(const struct http_req *req, struct http_resp *resp)
{
	struct store_credential cr;
	cf_json *doc = NULL;
	int ret;

	ret = core_credential_get(req->core, req->param, &cr);
	if (ret == CF_ENOTFOUND)
		snprintf(resp->detail, sizeof(resp->detail), "no such credential");
	if (ret != 0)
		return ret;
	if (strcmp(cr.account_id, req->account->id) != 0 && req->account->role != ROLE_ADMIN) {
		snprintf(resp->detail, sizeof(resp->detail), "the credential is another account's");
		return CF_EUNAUTHORIZED;
	}
	ret = api_credential_json(req, &cr, 0, &doc);
	if (ret != 0)
		return ret;
	api_url(req, "credential", cr.id, resp->location, sizeof(resp->location));
	return http_resp_json(resp, 200, doc);
}
