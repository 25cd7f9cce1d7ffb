/*
 * renew — POST /v1/renew (§10): a new certificate for the account's credential inside its renewal
 * window; notInRenewalWindow carries retryAfter and Retry-After.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "cf_clock.h"
#include "cf_err.h"

#define MAX_CSR_B64 (16 * 1024)

int api_renew(const struct http_req *req, struct http_resp *resp)
{
	struct core_issue_result *res = NULL;
	const char *id;
	uint8_t *csr = NULL;
	size_t csr_len = 0;
	struct core_who who;
	char actor[API_WHO_LEN];
	int ret = CF_EMALFORMED;

	api_who(req, &who, actor);
	if (!req->payload ||
	    cf_json_get_str(req->payload, "credential", STORE_ID_LEN - 1, &id) != 0 ||
	    api_get_b64u(req->payload, "csr", MAX_CSR_B64, &csr, &csr_len) != 0) {
		snprintf(resp->detail, sizeof(resp->detail), "credential and csr are required");
		goto out;
	}
	res = calloc(1, sizeof(*res));
	if (!res) {
		ret = CF_ENOMEM;
		goto out;
	}
	ret = core_renew(req->core, &who, req->account->id, id, csr, csr_len, res);
	if (ret == CF_ENOTWINDOW) {
		char when[21];
		cf_time_format(res->retry_at, when);
		snprintf(resp->detail, sizeof(resp->detail), "the renewal window opens at %s",
			 when);
		resp->retry_at = res->retry_at;
	} else if (ret == CF_EBADCSR && !resp->detail[0]) {
		snprintf(resp->detail, sizeof(resp->detail),
			 "the CSR must be valid and for a new key, not the current certificate's");
	} else if (ret == CF_ENOTFOUND) {
		snprintf(resp->detail, sizeof(resp->detail), "no such credential");
	} else if (ret == CF_EUNAUTHORIZED) {
		snprintf(resp->detail, sizeof(resp->detail), "the credential is another account's");
	}
	if (ret != 0)
		goto out;
	ret = api_issue_respond(req, res, 200, resp);
out:
	free(csr);
	free(res);
	return ret;
}
