/* problem — RFC 7807 documents built from the one error table (common/cf_err.h). */
#include "problem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_clock.h"
#include "cf_err.h"

#define PROBLEM_RETRY_503_SECS 60

/* The ACME profile's name of code (spec/acme.md "Problems"): RFC 8555 §6.7 has no name for
 * certflow's finer codes, which map to the nearest one. */
static const char *acme_name(int code)
{
	switch (code) {
	case CF_EBADNONCE:
		return "badNonce";
	case CF_EBADALG:
		return "badSignatureAlgorithm";
	case CF_ENOACCOUNT:
		return "accountDoesNotExist";
	case CF_EBADCSR:
		return "badCSR";
	case CF_EBADKEY:
		return "badPublicKey";
	case CF_EALREADY:
		return "alreadyRevoked";
	case CF_EBADREASON:
		return "badRevocationReason";
	case CF_ERATELIMIT:
		return "rateLimited";
	case CF_EREJECTEDID:
	case CF_EORDERNOTREADY:
	case CF_EEABREQUIRED:
	case CF_EUNSUPPORTEDID:
		return cf_err_problem(code);
	case CF_EUNAUTHORIZED:
	case CF_EDEACTIVATED:
	case CF_EBADCODE:
	case CF_ELOCKED:
	case CF_EEXPIRED:
	case CF_EUSED:
	case CF_ECANCELLED:
	case CF_EREVOKED:
	case CF_ESUSPENDED:
		return "unauthorized";
	case CF_EMALFORMED:
	case CF_EBADSIG:
	case CF_EMEDIATYPE:
	case CF_ETOOLARGE:
	case CF_EMETHOD:
	case CF_ENOTFOUND:
	case CF_ECONFLICT:
		return "malformed";
	default:
		return "serverInternal";
	}
}

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
	if (resp->acme)
		snprintf(type, sizeof(type), "urn:ietf:params:acme:error:%s", acme_name(code));
	else
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
