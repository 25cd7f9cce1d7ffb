/* renewal_info — GET /v1/renewal-info/<certid> (§10, RFC 9773): the suggested window, no JWS. */
#include <stdio.h>

#include "api.h"
#include "cf_clock.h"
#include "cf_err.h"

#define RENEWAL_INFO_RETRY_SECS 21600

int api_renewal_info(const struct http_req *req, struct http_resp *resp)
{
	int64_t start, end;
	char s[21], e[21];
	cf_json *doc, *win;
	int ret;

	ret = core_renewal_info(req->core, req->param, &start, &end);
	if (ret == CF_EMALFORMED)
		snprintf(resp->detail, sizeof(resp->detail),
			 "certid must be b64u(AKI).b64u(serial)");
	else if (ret == CF_ENOTFOUND)
		snprintf(resp->detail, sizeof(resp->detail), "no such certificate");
	if (ret != 0)
		return ret;
	cf_time_format(start, s);
	cf_time_format(end, e);
	doc = cf_json_new_object();
	win = cf_json_new_object();
	if (!doc || !win || cf_json_add_str(win, "start", s) || cf_json_add_str(win, "end", e)) {
		cf_json_free(win);
		cf_json_free(doc);
		return CF_ENOMEM;
	}
	if (cf_json_add(doc, "suggestedWindow", win) != 0) { /* took win */
		cf_json_free(doc);
		return CF_ENOMEM;
	}
	resp->retry_after = RENEWAL_INFO_RETRY_SECS;
	return http_resp_json(resp, 200, doc);
}
