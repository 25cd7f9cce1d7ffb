/*
 * rate — rate limits of the requests that cost the server a mail, an SMS, a KDF or a signature,
 * and the failure counts of names that name nothing (issue 15, spec/protocol.md §28).
 *
 * Counters live in the store (so front ends can share them) as fixed windows named by
 * HMAC(server key, purpose, kind, name): the store never holds a clear address, e-mail, user id or
 * reference in a counter's key. They never hold a secret either. The hourly housekeeping removes
 * the counters whose window ended.
 */
#include <stdio.h>
#include <string.h>

#include "cf_clock.h"
#include "cf_crypto.h"
#include "cf_err.h"
#include "core_internal.h"

static const char *const rate_names[RATE_KINDS] = {
    [RATE_RECOVERY_ADDR] = "recovery_addr",
    [RATE_RECOVERY_EMAIL] = "recovery_email",
    [RATE_LOGIN_ADDR] = "login_addr",
    [RATE_LOGIN_USER] = "login_user",
    [RATE_QR_ADDR] = "qr_addr",
    [RATE_ACTIVATE_ADDR] = "activate_addr",
    [RATE_ACTIVATE_REF] = "activate_reference",
    [RATE_APPLY_ADDR] = "apply_addr",
    [RATE_EMERGENCY_ADDR] = "emergency_addr",
    [RATE_SMS_ADDR] = "sms_addr",
    [RATE_QUESTIONS_ADDR] = "questions_addr",
};

const char *core_rate_name(int kind)
{
	return kind >= 0 && kind < RATE_KINDS ? rate_names[kind] : "?";
}

/* The key of a counter: HMAC(secret, purpose NUL kind NUL name). */
static int counter_key(const struct core *c, const char *purpose, const char *kind,
		       const char *name, uint8_t key[32])
{
	char msg[512];
	int n = snprintf(msg, sizeof(msg), "%s%c%s%c%s", purpose, 0, kind, 0, name);

	if (n < 0 || (size_t)n >= sizeof(msg))
		return CF_EINTERNAL;
	return cf_hmac_sha256(c->secret, sizeof(c->secret), msg, (size_t)n, key);
}

/* Inside txn: the counter of key, a new window when there is none or it ended; count add more. */
static int counter_add(store_txn *txn, const uint8_t key[32], int64_t now, int secs, int add,
		       struct store_rate *r)
{
	int ret = store_rate_get(txn, key, 32, r);

	if (ret == CF_ENOTFOUND || (ret == 0 && r->window_end <= now)) {
		r->window_end = now + secs;
		r->count = 0;
		ret = 0;
	}
	if (ret != 0 || add == 0)
		return ret;
	if (r->count < UINT32_MAX)
		r->count++;
	return store_rate_put(txn, key, 32, r);
}

struct take_ctx {
	struct core *c;
	const struct core_who *who;
	int kinds[2];
	const char *names[2];
	int64_t now;
	int64_t retry_at; /* 0: allowed */
};

static int take_txn(store_txn *txn, void *ctx)
{
	struct take_ctx *t = ctx;
	struct store_rate r;
	uint8_t key[32];
	int ret = 0;

	t->retry_at = 0;
	for (int i = 0; i < 2 && ret == 0; i++) {
		const struct core_rate_limit *lim;
		const char *kind;

		if (t->kinds[i] < 0 || t->kinds[i] >= RATE_KINDS || !t->names[i])
			continue;
		lim = &t->c->cfg.rate[t->kinds[i]];
		if (lim->max <= 0)
			continue;
		kind = rate_names[t->kinds[i]];
		ret = counter_key(t->c, "rate", kind, t->names[i], key);
		if (ret == 0)
			ret = counter_add(txn, key, t->now, lim->secs, 1, &r);
		if (ret != 0 || r.count <= (uint32_t)lim->max)
			continue;
		if (r.window_end > t->retry_at)
			t->retry_at = r.window_end;
		/* one event per window: refusals must not fill the trail */
		if (r.count == (uint32_t)lim->max + 1)
			ret =
			    core_audit_result(txn, t->who, "rate.limit", kind, CF_ERATELIMIT, NULL);
	}
	return ret;
}

int core_rate_take(struct core *c, const struct core_who *who, int kind_addr, int kind_target,
		   const char *target, int64_t *retry_at)
{
	struct take_ctx t = {.c = c,
			     .who = who,
			     .kinds = {kind_addr, kind_target},
			     .names = {who && who->remote ? who->remote : "", target},
			     .now = cf_now()};
	int ret = store_write(c->st, take_txn, &t);

	if (ret == 0 && t.retry_at > 0) {
		*retry_at = t.retry_at;
		ret = CF_ERATELIMIT;
	}
	return ret;
}

int core_ghost_failures_txn(const struct core *c, store_txn *txn, const char *kind,
			    const char *name, int add, int max, int64_t now, int *failures)
{
	struct store_rate r;
	uint8_t key[32];
	int64_t secs = (int64_t)c->cfg.enrolment_code_days * 86400;
	int ret = counter_key(c, "ghost", kind, name, key);

	if (ret == 0)
		ret = counter_add(txn, key, now, (int)secs, add && max > 0, &r);
	if (ret == 0 && add && r.count > (uint32_t)max) {
		r.count = (uint32_t)max; /* at the limit, as a locked record stays */
		ret = store_rate_put(txn, key, 32, &r);
	}
	if (ret == 0)
		*failures = (int)r.count;
	return ret;
}
