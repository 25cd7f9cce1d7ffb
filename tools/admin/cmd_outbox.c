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
	static const char *const filters[] = {"state", NULL};
	cf_json *payload = NULL;
	const char *state = NULL;
	long max;
	int ret = admin_list_options(argc, argv, "outbox list", filters, &payload, &max);

	if (ret)
		return ret;
	if (cf_json_get_str_opt(payload, "state", 16, &state) == 0 && state &&
	    strcmp(state, "queued") != 0 && strcmp(state, "sent") != 0 &&
	    strcmp(state, "failed") != 0) {
		cf_json_free(payload);
		return admin_usage("--state must be queued, sent or failed");
	}
	return admin_list(ad, "outbox-list", payload, "messages", outbox_cols,
			  sizeof(outbox_cols) / sizeof(outbox_cols[0]), max, NULL);
}
