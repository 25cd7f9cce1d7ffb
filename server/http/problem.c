/* problem — RFC 7807 documents built from the one error table (common/cf_err.h). */
#include "problem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_clock.h"
#include "cf_err.h"

#define PROBLEM_RETRY_503_SECS 60

int problem_fill(struct http_resp *resp, int code, int status, const char *detail, int64_t retry_at)
{
	char type[96], when[21];
	cf_json *doc;
	int ret = 0;

	if (cf_err_status(code) <= 0)
		code = CF_EINTERNAL; /* client-side codes never leave a server */
	if (!status)
		status = cf_err_status(code);
	/* The handler's extra members come first; type, title, detail and status are added. */
	doc = resp->extra ? resp->extra : cf_json_new_object();
	resp->extra = NULL;
	if (!doc)
		return CF_ENOMEM;
	snprintf(type, sizeof(type), "%s%s", CF_PROBLEM_PREFIX, cf_err_problem(code));
	ret |= cf_json_add_str(doc, "type", type);
	ret |= cf_json_add_str(doc, "title", cf_strerror(code));
	ret |= cf_json_add_str(doc, "detail", detail && detail[0] ? detail : cf_strerror(code));
	ret |= cf_json_add_int(doc, "status", status);
	if (retry_at > 0) {
		cf_time_format(retry_at, when);
		ret |= cf_json_add_str(doc, "retryAfter", when);
		resp->retry_after = retry_at > cf_now() ? retry_at - cf_now() : 1;
	}
	/* storageFull and serviceUnavailable pass: tell clients when to come back (errors.md) */
	if (status == 503 && resp->retry_after <= 0)
		resp->retry_after = PROBLEM_RETRY_503_SECS;
	if (ret != 0) {
		cf_json_free(doc);
		return CF_ENOMEM;
	}
	ret = http_resp_json(resp, status, doc);
	resp->content_type = "application/problem+json";
	return ret;
}
