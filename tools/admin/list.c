/*
 * list — the admin lists page by page (spec/protocol.md §12 "Lists"): each page is asked with
 * the filters, `limit` and the previous page's `next`, printed as it arrives and dropped, so a
 * list of a million records costs one page of memory. --json prints one JSON document
 * {"<member>": [every item]} streamed item by item.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "cf_err.h"

#define PAGE 1000 /* items asked per page (the server's maximum) */

/* filters + limit + after, as one payload. */
static cf_json *page_payload(const cf_json *filters, long limit, const char *after)
{
	cf_json *p = filters ? cf_json_dup(filters) : cf_json_new_object();

	if (p && (cf_json_add_int(p, "limit", limit) != 0 ||
		  (after && cf_json_add_str(p, "after", after) != 0))) {
		cf_json_free(p);
		return NULL;
	}
	return p;
}

static int print_items(const cf_json *arr, size_t take, int *first)
{
	for (size_t i = 0; i < take; i++) {
		char *text = cf_json_print(cf_json_array_item(arr, i));
		if (!text)
			return CF_ENOMEM;
		printf("%s%s", *first ? "" : ",", text);
		*first = 0;
		free(text);
	}
	return 0;
}

int admin_list_options(int argc, char **argv, const char *cmd, const char *const *filters,
		       cf_json **payload, long *max)
{
	static const struct option lo[] = {{"limit", required_argument, NULL, 'l'},
					   {"subject", required_argument, NULL, 'u'},
					   {"status", required_argument, NULL, 's'},
					   {"state", required_argument, NULL, 't'},
					   {"profile", required_argument, NULL, 'p'},
					   {"expiring-before", required_argument, NULL, 'e'},
					   {NULL, 0, NULL, 0}};
	static const char *const member[] = {['u'] = "subject",
					     ['s'] = "status",
					     ['t'] = "state",
					     ['p'] = "profile",
					     ['e'] = "expiringBefore"};
	char *end;
	int c;

	*max = 0;
	if (!(*payload = cf_json_new_object()))
		return admin_fail(CF_ENOMEM, "out of memory");
	optind = 0;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		int known = c == 'l';
		for (const char *const *f = filters; !known && c > 0 && c < 'v' && *f; f++)
			known = member[c] && strcmp(*f, member[c]) == 0;
		if (!known) {
			cf_json_free(*payload);
			return admin_usage("bad option '%s' (see 'certflow-admin %s --help')",
					   argv[optind - 1], cmd);
		}
		if (c == 'l') {
			*max = strtol(optarg, &end, 10);
			if (!*optarg || *end || *max < 1) {
				cf_json_free(*payload);
				return admin_usage("--limit must be a number of at least 1");
			}
		} else if (!optarg[0] || strlen(optarg) > 64 ||
			   cf_json_add_str(*payload, member[c], optarg) != 0) {
			cf_json_free(*payload);
			for (size_t i = 0; lo[i].name; i++)
				if (lo[i].val == c)
					return admin_usage("--%s must be 1 to 64 characters",
							   lo[i].name);
			return CF_EUSAGE;
		}
	}
	if (optind != argc) {
		cf_json_free(*payload);
		return admin_usage("%s takes no arguments ('%s' is extra)", cmd, argv[optind]);
	}
	return 0;
}

int admin_list(struct admin *ad, const char *op, cf_json *filters, const char *member,
	       const struct field *cols, size_t ncols, long max,
	       cf_json *(*shown)(const cf_json *item))
{
	cf_json *payload = NULL, *resp = NULL, *page = NULL;
	char after[128] = "";
	const char *next = NULL;
	long count = 0;
	int ret = 0, first = 1, header = 1;

	if (ad->json)
		printf("{\"%s\":[", member);
	for (;;) {
		long want = max > 0 && max - count < PAGE ? max - count : PAGE;
		const cf_json *arr;
		size_t take;

		if (!(payload = page_payload(filters, want, after[0] ? after : NULL))) {
			ret = admin_fail(CF_ENOMEM, "out of memory");
			break;
		}
		ret = admin_call(ad, op, payload, &resp, NULL);
		cf_json_free(payload);
		payload = NULL;
		if (ret)
			break;
		arr = cf_json_get(resp, member);
		take = cf_json_array_size(arr);
		if (max > 0 && (long)take > max - count)
			take = (size_t)(max - count);
		if (ad->json) {
			ret = print_items(arr, take, &first);
		} else {
			page = cf_json_new_array();
			for (size_t i = 0; page && i < take; i++) {
				const cf_json *it = cf_json_array_item(arr, i);
				cf_json *row = shown ? shown(it) : cf_json_dup(it);
				if (!row || cf_json_push(page, row) != 0) {
					cf_json_free(row);
					ret = CF_ENOMEM;
					break;
				}
			}
			if (!page)
				ret = CF_ENOMEM;
			if (ret == 0 && (take || header))
				out_table_rows(page, cols, ncols, header);
			header = 0;
			cf_json_free(page);
			page = NULL;
		}
		if (ret) {
			admin_fail(ret, "out of memory");
			break;
		}
		count += (long)take;
		next = NULL;
		if (cf_json_get_str_opt(resp, "next", sizeof(after) - 1, &next) != 0)
			next = NULL;
		if (next)
			snprintf(after, sizeof(after), "%s", next);
		cf_json_free(resp);
		resp = NULL;
		if (!next || (max > 0 && count >= max))
			break;
	}
	if (ad->json && ret == 0)
		printf("]}\n");
	cf_json_free(resp);
	cf_json_free(filters);
	if (ret == 0 && fflush(stdout) != 0)
		ret = admin_fail(CF_EIO, "cannot write the list");
	return ret;
}
