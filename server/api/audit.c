/*
 * audit — who did it (the actor of every audited journey) and POST /v1/admin/audit-list (§21):
 * the operator's page through the audit trail. Events never hold secrets (core/audit.c).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "cf_clock.h"
#include "cf_err.h"

#define AUDIT_LIMIT_DEFAULT 100
#define AUDIT_LIMIT_MAX 500

static int push_event(const struct store_audit *ev, void *ctx)
{
	cf_json *o = cf_json_new_object();
	char at[21];
	int ret = o ? 0 : CF_ENOMEM;

	cf_time_format(ev->at, at);
	ret |= cf_json_add_int(o, "seq", (int64_t)ev->seq);
	ret |= cf_json_add_str(o, "at", at);
	ret |= cf_json_add_str(o, "actor", ev->actor);
	if (ev->actor_name[0])
		ret |= cf_json_add_str(o, "actorName", ev->actor_name);
	ret |= cf_json_add_str(o, "action", ev->action);
	ret |= cf_json_add_str(o, "object", ev->object);
	ret |= cf_json_add_str(o, "result", ev->result);
	ret |= cf_json_add_str(o, "remote", ev->remote);
	if (ev->detail[0])
		ret |= cf_json_add_str(o, "detail", ev->detail);
	if (ret == 0)
		return cf_json_push(ctx, o);
	cf_json_free(o);
	return CF_ENOMEM;
}

int api_admin_audit_list(const struct http_req *req, struct http_resp *resp)
{
	int64_t after = 0, limit = AUDIT_LIMIT_DEFAULT;
	const char *object = NULL;
	uint64_t next = 0;
	cf_json *arr, *doc;
	int ret = api_need_payload(req, resp);

	if (ret != 0)
		return ret;
	if ((cf_json_get(req->payload, "after") &&
	     cf_json_get_int(req->payload, "after", 0, INT64_MAX, &after) != 0) ||
	    (cf_json_get(req->payload, "limit") &&
	     cf_json_get_int(req->payload, "limit", 1, AUDIT_LIMIT_MAX, &limit) != 0) ||
	    cf_json_get_str_opt(req->payload, "object", 95, &object) != 0) {
		snprintf(resp->detail, sizeof(resp->detail),
			 "after must be an integer ≥ 0, limit 1 to %d, object a string",
			 AUDIT_LIMIT_MAX);
		return CF_EMALFORMED;
	}
	arr = cf_json_new_array();
	ret = arr ? core_audit_list(req->core, (uint64_t)after, (size_t)limit, object, push_event,
				    arr, &next)
		  : CF_ENOMEM;
	if (ret != 0) {
		cf_json_free(arr);
		return ret;
	}
	doc = cf_json_new_object();
	ret = doc ? cf_json_add(doc, "events", arr) : (cf_json_free(arr), CF_ENOMEM);
	if (ret == 0 && next)
		ret = cf_json_add_int(doc, "next", (int64_t)next);
	if (ret != 0) {
		cf_json_free(doc);
		return CF_ENOMEM;
	}
	return http_resp_json(resp, 200, doc);
}
