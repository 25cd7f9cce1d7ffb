/*
 * audit — the audit trail: one event per step of a journey, appended in the write transaction
 * of the step itself (so an event exists exactly when its state change, or its counted failure,
 * was committed), and the operator's listing. No field ever holds a secret: callers pass ids,
 * problem names and short public details only.
 */
#include <stdio.h>
#include <string.h>

#include "cf_clock.h"
#include "cf_err.h"
#include "core.h"

int core_audit(store_txn *txn, const struct core_who *who, const char *action, const char *object,
	       const char *result, const char *detail)
{
	struct store_audit ev;

	memset(&ev, 0, sizeof(ev));
	ev.at = cf_now();
	snprintf(ev.actor, sizeof(ev.actor), "%s", who && who->actor ? who->actor : "system");
	snprintf(ev.remote, sizeof(ev.remote), "%s", who && who->remote ? who->remote : "");
	snprintf(ev.actor_name, sizeof(ev.actor_name), "%s", who && who->name ? who->name : "");
	snprintf(ev.action, sizeof(ev.action), "%s", action ? action : "");
	snprintf(ev.object, sizeof(ev.object), "%s", object ? object : "");
	snprintf(ev.result, sizeof(ev.result), "%s", result ? result : "ok");
	snprintf(ev.detail, sizeof(ev.detail), "%s", detail ? detail : "");
	return store_audit_append(txn, &ev);
}

int core_audit_result(store_txn *txn, const struct core_who *who, const char *action,
		      const char *object, int code, const char *detail)
{
	return core_audit(txn, who, action, object, code == 0 ? "ok" : cf_err_problem(code),
			  detail);
}

struct audit_list_ctx {
	uint64_t after;
	size_t limit, n;
	const char *object;
	int (*cb)(const struct store_audit *ev, void *ctx);
	void *ctx;
	uint64_t last;
	int more;
};

#define AUDIT_STOP 1 /* a callback's "enough", not an error */

static int audit_collect(const struct store_audit *ev, void *ctx)
{
	struct audit_list_ctx *al = ctx;
	int ret;

	if (al->object && al->object[0] && strcmp(ev->object, al->object) != 0)
		return 0;
	if (al->n == al->limit) {
		al->more = 1;
		return AUDIT_STOP;
	}
	ret = al->cb(ev, al->ctx);
	if (ret != 0)
		return ret;
	al->n++;
	al->last = ev->seq;
	return 0;
}

static int audit_list_txn(store_txn *txn, void *ctx)
{
	struct audit_list_ctx *al = ctx;
	int ret;

	al->n = 0;
	al->more = 0;
	al->last = al->after;
	ret = store_audit_list(txn, al->after, audit_collect, al);
	return ret == AUDIT_STOP ? 0 : ret;
}

int core_audit_list(struct core *c, uint64_t after, size_t limit, const char *object,
		    int (*cb)(const struct store_audit *ev, void *ctx), void *ctx, uint64_t *next)
{
	struct audit_list_ctx al = {
	    .after = after, .limit = limit, .object = object, .cb = cb, .ctx = ctx};
	int ret;

	if (limit == 0)
		return CF_EMALFORMED;
	ret = store_read(c->st, audit_list_txn, &al);
	if (ret == 0)
		*next = al.more ? al.last : 0;
	return ret;
}
