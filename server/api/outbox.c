/*
 * outbox — POST /v1/admin/outbox-list (§18): the operator's view of the outbox. Shows where
 * each message went and how delivery fares; never a body (the sealed text is not even opened).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "cf_clock.h"
#include "cf_err.h"
#include "notify.h"

static const char *const states[] = {
    [MSG_QUEUED] = "queued", [MSG_SENT] = "sent", [MSG_FAILED] = "failed"};

static const char *state_name(int state)
{
	return state >= MSG_QUEUED && state <= MSG_FAILED ? states[state] : "unknown";
}

static int add_time(cf_json *o, const char *key, int64_t t)
{
	char s[21];

	cf_time_format(t, s);
	return cf_json_add_str(o, key, s);
}

static int push_message(const struct store_message *m, void *ctx)
{
	cf_json *o = cf_json_new_object();
	char id[24];
	int ret;

	if (!o)
		return CF_ENOMEM;
	snprintf(id, sizeof(id), "%llu", (unsigned long long)m->id);
	ret = cf_json_add_str(o, "id", id);
	ret |= cf_json_add_str(o, "channel", m->channel == MSG_SMS ? "sms" : "email");
	ret |= cf_json_add_str(o, "to", m->to);
	ret |= cf_json_add_str(o, "template", m->template_name);
	ret |= cf_json_add_str(o, "state", state_name(m->state));
	/* attempts made: the failed ones (the record's count) and, once sent, the one that worked */
	ret |= cf_json_add_int(o, "attempts", m->attempts + (m->state == MSG_SENT));
	ret |= add_time(o, "createdAt", m->created_at);
	if (m->state == MSG_QUEUED)
		ret |= add_time(o, "nextAttemptAt", m->next_attempt_at);
	if (m->state == MSG_SENT)
		ret |= add_time(o, "sentAt", m->sent_at);
	if (m->last_error[0])
		ret |= cf_json_add_str(o, "lastError", m->last_error);
	if (ret != 0) {
		cf_json_free(o);
		return CF_ENOMEM;
	}
	return cf_json_push(ctx, o);
}

/* The state filter is notify_list's: every message seen matches. */
static int page_message(const struct store_message *m, void *ctx)
{
	struct api_page *pg = ctx;
	char id[24];
	int r;

	snprintf(id, sizeof(id), "%llu", (unsigned long long)m->id);
	r = api_page_visit(pg, id, 1);
	return r ? r : push_message(m, pg->arr);
}

int api_admin_outbox_list(const struct http_req *req, struct http_resp *resp)
{
	const char *name = NULL;
	struct api_page pg;
	int state = 0, ret = api_need_payload(req, resp);

	if (ret != 0)
		return ret;
	if (cf_json_get_str_opt(req->payload, "state", 16, &name) != 0)
		name = "";
	for (int s = MSG_QUEUED; name && s <= MSG_FAILED; s++)
		if (strcmp(name, states[s]) == 0)
			state = s;
	if (name && !state) {
		snprintf(resp->detail, sizeof(resp->detail),
			 "state must be \"queued\", \"sent\" or \"failed\"");
		return CF_EMALFORMED;
	}
	if ((ret = api_page_start(req, resp, &pg)) != 0)
		return ret;
	/* the cursor of the outbox is a message id */
	if (pg.after &&
	    (strspn(pg.after, "0123456789") != strlen(pg.after) || strlen(pg.after) > 19)) {
		cf_json_free(pg.arr);
		snprintf(resp->detail, sizeof(resp->detail),
			 "after must be the next value of the previous page");
		return CF_EMALFORMED;
	}
	ret = notify_list(req->core->nt, state, pg.after ? strtoull(pg.after, NULL, 10) : 0,
			  page_message, &pg);
	return api_page_answer(resp, "messages", &pg, ret);
}
