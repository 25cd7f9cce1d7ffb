/*
 * page — cursor paging of the admin lists (spec/protocol.md §12 "Lists"): `limit` and `after` in
 * the payload, `next` in the answer while more remain. The cursor is the key of the last record
 * visited (opaque to clients); a walk resumes strictly after it, so a page costs O(limit) memory
 * and, without filters, O(limit) time whatever the size of the table. A filtered walk visits at
 * most API_PAGE_SCAN records per page and then answers what it found with `next`.
 */
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "cf_err.h"

int api_page_start(const struct http_req *req, struct http_resp *resp, struct api_page *pg)
{
	const cf_json *p = req->payload;
	size_t n;

	memset(pg, 0, sizeof(*pg));
	pg->limit = API_PAGE_DEFAULT;
	if (cf_json_get(p, "limit") && cf_json_get_int(p, "limit", 1, API_PAGE_MAX, &pg->limit)) {
		snprintf(resp->detail, sizeof(resp->detail),
			 "limit must be an integer from 1 to %d", API_PAGE_MAX);
		return CF_EMALFORMED;
	}
	if (cf_json_get_str_opt(p, "after", STORE_LIST_AFTER_MAX, &pg->after) != 0 ||
	    (pg->after && ((n = strlen(pg->after)) == 0 ||
			   strspn(pg->after, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					     "0123456789-_") != n))) {
		snprintf(resp->detail, sizeof(resp->detail),
			 "after must be the next value of the previous page");
		return CF_EMALFORMED;
	}
	pg->arr = cf_json_new_array();
	return pg->arr ? 0 : CF_ENOMEM;
}

int api_page_visit(struct api_page *pg, const char *key, int matched)
{
	if (matched && pg->n == (size_t)pg->limit) {
		pg->more = 1; /* one more exists: the page ends before it */
		return API_PAGE_STOP;
	}
	if (pg->scanned == API_PAGE_SCAN) {
		pg->more = 1; /* enough looked at for one page: the next one goes on from here */
		return API_PAGE_STOP;
	}
	pg->scanned++;
	snprintf(pg->last, sizeof(pg->last), "%s", key);
	if (!matched)
		return API_PAGE_SKIP;
	pg->n++;
	return 0;
}

int api_page_answer(struct http_resp *resp, const char *member, struct api_page *pg, int ret)
{
	cf_json *doc = NULL, *arr = pg->arr;

	pg->arr = NULL;
	if (ret == API_PAGE_STOP || ret == API_PAGE_SKIP)
		ret = 0;
	if (ret == 0 && (!(doc = cf_json_new_object()) || cf_json_add(doc, member, arr) != 0))
		ret = CF_ENOMEM;
	else if (ret == 0)
		arr = NULL; /* doc owns it */
	if (ret == 0 && pg->more && cf_json_add_str(doc, "next", pg->last) != 0)
		ret = CF_ENOMEM;
	cf_json_free(arr);
	if (ret != 0) {
		cf_json_free(doc);
		return ret;
	}
	return http_resp_json(resp, 200, doc);
}
