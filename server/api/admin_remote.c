/*
 * admin_remote — the operator's operations on remote credentials' renewal and update
 * (spec/protocol.md §26): admin/coupon-issue, coupon-list, coupon-cancel and update-mark. The
 * coupon codes leave the server once, in coupon-issue's answer, and are wiped after it is built;
 * the list shows ids and states only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "cf_clock.h"
#include "cf_crypto.h"
#include "cf_err.h"

#define NOTE_MAX 127	    /* coupon note */
#define UPDATE_NOTE_MAX 159 /* update note */
#define COUPON_DAYS_MAX 3650

static int bad(struct http_resp *resp, const char *detail)
{
	snprintf(resp->detail, sizeof(resp->detail), "%s", detail);
	return CF_EMALFORMED;
}

/* Coupon object: id, status, profile (when limited), note, createdAt, expiresAt, usedAt,
 * usedBy — never a code. */
static cf_json *coupon_json(const struct store_coupon *cp)
{
	cf_json *o = cf_json_new_object();
	int ret = o ? 0 : CF_ENOMEM;

	if (ret == 0) {
		ret |= cf_json_add_str(o, "id", cp->id);
		ret |= cf_json_add_str(o, "status", core_coupon_status(cp, cf_now()));
		if (cp->profile[0])
			ret |= cf_json_add_str(o, "profile", cp->profile);
		if (cp->note[0])
			ret |= cf_json_add_str(o, "note", cp->note);
		ret |= api_add_time(o, "createdAt", cp->created_at);
		if (cp->expires_at)
			ret |= api_add_time(o, "expiresAt", cp->expires_at);
		if (cp->state == COUPON_USED) {
			ret |= api_add_time(o, "usedAt", cp->used_at);
			ret |= cf_json_add_str(o, "usedBy", cp->used_by);
		}
	}
	if (ret == 0)
		return o;
	cf_json_free(o);
	return NULL;
}

static int decode_issue(const cf_json *p, struct core_coupon_req *r, int64_t *count,
			struct http_resp *resp)
{
	int64_t days = 0;

	*count = 1;
	if (cf_json_get(p, "count") &&
	    cf_json_get_int(p, "count", 1, CORE_COUPON_ISSUE_MAX, count) != 0)
		return bad(resp, "count must be 1 to 100");
	if (cf_json_get(p, "days") && cf_json_get_int(p, "days", 1, COUPON_DAYS_MAX, &days) != 0)
		return bad(resp, "days must be 1 to 3650");
	r->days = (int)days;
	if (cf_json_get_str_opt(p, "profile", 31, &r->profile) != 0 ||
	    (r->profile && !core_profile_known(r->profile)))
		return bad(resp, "profile must be a profile of the directory");
	if (cf_json_get_str_opt(p, "note", NOTE_MAX, &r->note) != 0 ||
	    (r->note && !api_text_ok(r->note, NOTE_MAX)))
		return bad(resp, "note must be 1 to 127 octets without control characters");
	return 0;
}

int api_admin_coupon_issue(const struct http_req *req, struct http_resp *resp)
{
	struct core_coupon_req r = {0};
	struct store_coupon *cps = NULL;
	char(*codes)[CORE_COUPON_DISPLAY + 1] = NULL;
	struct core_who who;
	char actor[API_WHO_LEN];
	cf_json *doc = NULL, *arr = NULL, *o;
	int64_t n = 0;
	int ret = api_need_payload(req, resp);

	if (ret == 0)
		ret = decode_issue(req->payload, &r, &n, resp);
	if (ret != 0)
		return ret;
	cps = calloc((size_t)n, sizeof(*cps));
	codes = calloc((size_t)n, sizeof(*codes));
	if (!cps || !codes) {
		ret = CF_ENOMEM;
		goto out;
	}
	api_who(req, &who, actor);
	ret = core_coupon_issue(req->core, &who, &r, (size_t)n, cps, codes);
	if (ret != 0)
		goto out;
	doc = cf_json_new_object();
	arr = cf_json_new_array();
	ret = doc && arr ? 0 : CF_ENOMEM;
	for (int64_t i = 0; i < n && ret == 0; i++) {
		o = coupon_json(&cps[i]);
		ret = o ? cf_json_add_str(o, "code", codes[i]) : CF_ENOMEM;
		ret = ret ? ret : cf_json_push(arr, o);
		if (ret != 0)
			cf_json_free(o);
	}
	if (ret == 0 && cf_json_add(doc, "coupons", arr) == 0) {
		arr = NULL;
		ret = http_resp_json(resp, 201, doc);
		doc = NULL;
	} else {
		ret = CF_ENOMEM;
	}
out:
	cf_json_free(arr);
	cf_json_free(doc);
	if (codes)
		cf_zeroize(codes, (size_t)n * sizeof(*codes));
	free(codes);
	free(cps);
	return ret;
}

static int push_coupon(const struct store_coupon *cp, void *ctx)
{
	cf_json *o = coupon_json(cp);

	return o ? cf_json_push(ctx, o) : CF_ENOMEM;
}

static int page_coupon(const struct store_coupon *cp, void *ctx)
{
	struct api_page *pg = ctx;
	int r = api_page_visit(pg, cp->id, 1);

	return r ? r : push_coupon(cp, pg->arr);
}

int api_admin_coupon_list(const struct http_req *req, struct http_resp *resp)
{
	struct api_page pg;
	int ret = api_need_payload(req, resp);

	if (ret == 0)
		ret = api_page_start(req, resp, &pg);
	if (ret != 0)
		return ret;
	ret = core_coupon_list(req->core, pg.after, page_coupon, &pg);
	return api_page_answer(resp, "coupons", &pg, ret);
}

int api_admin_coupon_cancel(const struct http_req *req, struct http_resp *resp)
{
	struct store_coupon cp;
	struct core_who who;
	char actor[API_WHO_LEN];
	const char *id;
	cf_json *doc;
	int ret;

	if (!req->payload || cf_json_get_str(req->payload, "id", STORE_ID_LEN - 1, &id) != 0)
		return bad(resp, "id is required");
	api_who(req, &who, actor);
	ret = core_coupon_cancel(req->core, &who, id, &cp);
	if (ret == CF_ENOTFOUND)
		snprintf(resp->detail, sizeof(resp->detail), "no such coupon");
	else if (ret == CF_ECONFLICT)
		snprintf(resp->detail, sizeof(resp->detail),
			 "only an issued coupon can be cancelled (it is used or cancelled)");
	if (ret != 0)
		return ret;
	doc = coupon_json(&cp);
	return doc ? http_resp_json(resp, 200, doc) : CF_ENOMEM;
}

static int decode_mark(const cf_json *p, struct core_update_mark_req *r, struct http_resp *resp)
{
	const char *by;
	int all = 0;

	if (cf_json_get_str_opt(p, "credential", STORE_ID_LEN - 1, &r->credential_id) != 0 ||
	    cf_json_get_str_opt(p, "profile", 31, &r->profile) != 0 ||
	    cf_json_get_str_opt(p, "issuer", 255, &r->issuer) != 0 ||
	    (cf_json_get(p, "all") && cf_json_get_bool(p, "all", &all) != 0))
		return bad(resp, "credential, profile and issuer must be strings, all a boolean");
	r->all = all;
	if (!!r->credential_id + !!r->profile + !!r->issuer + r->all != 1)
		return bad(resp, "name exactly one of credential, profile, issuer or all: true");
	if (r->issuer && !api_text_ok(r->issuer, 255))
		return bad(resp, "issuer must be a CA's subject DN (1 to 255 octets, no control "
				 "characters)");
	if (r->profile && !core_profile_known(r->profile))
		return bad(resp, "profile must be a profile of the directory");
	if (cf_json_get_str(p, "by", 32, &by) != 0 || cf_time_parse(by, &r->by) != 0)
		return bad(resp, "by must be an RFC 3339 time (2026-12-31T00:00:00Z)");
	if (r->by <= cf_now())
		return bad(resp, "by must be in the future");
	if (cf_json_get_str_opt(p, "note", UPDATE_NOTE_MAX, &r->note) != 0 ||
	    (r->note && !api_text_ok(r->note, UPDATE_NOTE_MAX)))
		return bad(resp, "note must be 1 to 159 octets without control characters");
	return 0;
}

int api_admin_update_mark(const struct http_req *req, struct http_resp *resp)
{
	struct core_update_mark_req r = {0};
	struct core_who who;
	char actor[API_WHO_LEN];
	size_t marked = 0;
	cf_json *doc;
	int ret = api_need_payload(req, resp);

	if (ret == 0)
		ret = decode_mark(req->payload, &r, resp);
	if (ret != 0)
		return ret;
	api_who(req, &who, actor);
	ret = core_update_mark(req->core, &who, &r, &marked);
	if (ret == CF_ENOTFOUND)
		snprintf(resp->detail, sizeof(resp->detail), "no such credential");
	else if (ret == CF_ECONFLICT)
		snprintf(resp->detail, sizeof(resp->detail),
			 "only an active remote credential can be marked for update");
	if (ret != 0)
		return ret;
	doc = cf_json_new_object();
	if (!doc || cf_json_add_int(doc, "marked", (int64_t)marked) != 0) {
		cf_json_free(doc);
		return CF_ENOMEM;
	}
	return http_resp_json(resp, 200, doc);
}
