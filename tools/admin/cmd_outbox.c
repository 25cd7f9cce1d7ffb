/*
 * cmd_outbox — `outbox list [--state queued|sent|failed]`: the server's outbox (admin/outbox-list,
 * spec/protocol.md §18), one row per message. Message bodies never leave the server.
 */
#include "admin.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cf_err.h"

static const struct field outbox_cols[] = {
    {"id", "id", F_TEXT},
    {"channel", "channel", F_TEXT},
    {"to", "to", F_TEXT},
    {"template", "template", F_TEXT},
    {"state", "state", F_TEXT},
    {"attempts", "attempts", F_TEXT},
    {"created", "createdAt", F_TEXT},
    {"sent", "sentAt", F_TEXT},
    {"next attempt", "nextAttemptAt", F_TEXT},
    {"last error", "lastError", F_TEXT},
};

int cmd_outbox_list(struct admin *ad, int argc, char **argv)
{
	static const struct option lo[] = {{"state", required_argument, NULL, 's'},
					   {NULL, 0, NULL, 0}};
	struct http_response raw = {0};
	cf_json *payload = NULL, *resp = NULL;
	const char *state = NULL;
	int c, ret;

	optind = 0;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (c != 's')
			return admin_usage(
			    "bad option '%s' (see 'certflow-admin outbox list --help')",
			    argv[optind - 1]);
		state = optarg;
	}
	if (optind != argc)
		return admin_usage("outbox list takes no arguments ('%s' is extra)", argv[optind]);
	if (state && strcmp(state, "queued") != 0 && strcmp(state, "sent") != 0 &&
	    strcmp(state, "failed") != 0)
		return admin_usage("--state must be queued, sent or failed");
	payload = cf_json_new_object();
	if (!payload || (state && cf_json_add_str(payload, "state", state) != 0)) {
		ret = admin_fail(CF_ENOMEM, "out of memory");
		goto out;
	}
	ret = admin_call(ad, "outbox-list", payload, &resp, &raw);
	if (ret)
		goto out;
	if (ad->json)
		out_raw(&raw);
	else
		out_table(cf_json_get(resp, "messages"), outbox_cols,
			  sizeof(outbox_cols) / sizeof(outbox_cols[0]));
out:
	http_response_clear(&raw);
	cf_json_free(resp);
	cf_json_free(payload);
	return ret;
}
