/*
 * coupon — renewal entitlements issued by the operator (spec/protocol.md §26.3): issue, list,
 * cancel, and the check (and use) inside a renewal's transaction.
 *
 * A code is 16 Crockford base32 characters (80 bits from the CSPRNG), shown once to the operator
 * in four groups of four. The database keeps only its HMAC-SHA-256 under a coupon key derived
 * from the server key, so coupon MACs can never stand for another code's (emergency codes use
 * the server key itself). Codes are never logged or audited.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_clock.h"
#include "cf_crypto.h"
#include "cf_err.h"
#include "cf_log.h"
#include "core_internal.h"
#include "proof.h"

#define DAY 86400
#define COUPON_DAYS_MAX 3650

const char *core_coupon_status(const struct store_coupon *cp, int64_t now)
{
	if (cp->state == COUPON_USED)
		return "used";
	if (cp->state == COUPON_CANCELLED)
		return "cancelled";
	return cp->expires_at && now >= cp->expires_at ? "expired" : "issued";
}

/* The coupon key: HMAC-SHA-256(server key, "certflow-coupon-v1"). */
static int coupon_key(const struct core *c, uint8_t key[32])
{
	static const char label[] = "certflow-coupon-v1";

	return cf_hmac_sha256(c->secret, sizeof(c->secret), label, sizeof(label) - 1, key) == 0
		   ? 0
		   : CF_ECRYPTO;
}

int core_coupon_mac(const struct core *c, const char *code, uint8_t mac[32])
{
	uint8_t key[32], out[PROOF_VERIFIER_MAX];
	size_t len = 0;
	int ret = coupon_key(c, key);

	/* Same shape and normalisation as an emergency code (dashes, case, O/I/L ignored). */
	if (ret == 0)
		ret = proof_emergency_code.derive(key, sizeof(key), code, out, &len);
	if (ret == CF_EBADCODE)
		ret = CF_EBADCOUPON;
	if (ret == 0 && len != 32)
		ret = CF_EINTERNAL;
	if (ret == 0)
		memcpy(mac, out, 32);
	cf_zeroize(key, sizeof(key));
	cf_zeroize(out, sizeof(out));
	return ret;
}

int core_coupon_use_txn(store_txn *txn, const uint8_t mac[32], const char *profile,
			const char *credential_id, int64_t now, int consume)
{
	struct store_coupon cp;
	int ret = store_coupon_by_mac(txn, mac, &cp);

	if (ret == CF_ENOTFOUND)
		return CF_EBADCOUPON;
	if (ret != 0)
		return ret;
	if (cp.state != COUPON_ISSUED || (cp.expires_at && now >= cp.expires_at) ||
	    (cp.profile[0] && strcmp(cp.profile, profile) != 0))
		return CF_EBADCOUPON;
	if (!consume)
		return 0;
	cp.state = COUPON_USED;
	cp.used_at = now;
	snprintf(cp.used_by, sizeof(cp.used_by), "%s", credential_id);
	ret = store_coupon_put(txn, &cp);
	if (ret == 0) {
		char object[STORE_ID_LEN + 8];
		snprintf(object, sizeof(object), "coupon:%s", cp.id);
		ret = core_audit(txn, NULL, "coupon.use", object, "ok", credential_id);
	}
	return ret;
}

/* ---- issue -------------------------------------------------------------------------------- */

struct issue_ctx {
	const struct core_who *who;
	size_t n;
	struct store_coupon *cps;
};

static int issue_txn(store_txn *txn, void *ctx)
{
	struct issue_ctx *ic = ctx;
	struct store_coupon old;
	char detail[64];
	int ret = 0;

	for (size_t i = 0; i < ic->n && ret == 0; i++) {
		/* 80 random bits: a collision is a broken generator, not bad luck. */
		ret = store_coupon_by_mac(txn, ic->cps[i].code_mac, &old);
		if (ret == 0)
			return CF_EINTERNAL;
		ret = ret == CF_ENOTFOUND ? store_coupon_put(txn, &ic->cps[i]) : ret;
	}
	if (ret != 0)
		return ret;
	snprintf(detail, sizeof(detail), "%zu coupon(s) %s%s", ic->n,
		 ic->cps[0].profile[0] ? "for " : "any profile", ic->cps[0].profile);
	return core_audit(txn, ic->who, "coupon.issue", "coupon:*", "ok", detail);
}

static int coupon_fill(const struct core_coupon_req *req, int64_t now, struct store_coupon *cp)
{
	memset(cp, 0, sizeof(*cp));
	if (req->profile && req->profile[0] && !core_profile_known(req->profile))
		return CF_EMALFORMED;
	if (req->days < 0 || req->days > COUPON_DAYS_MAX)
		return CF_EMALFORMED;
	if ((req->profile && strlen(req->profile) >= sizeof(cp->profile)) ||
	    (req->note && strlen(req->note) >= sizeof(cp->note)))
		return CF_EMALFORMED;
	snprintf(cp->profile, sizeof(cp->profile), "%s", req->profile ? req->profile : "");
	snprintf(cp->note, sizeof(cp->note), "%s", req->note ? req->note : "");
	cp->state = COUPON_ISSUED;
	cp->created_at = now;
	cp->expires_at = req->days ? now + (int64_t)req->days * DAY : 0;
	return core_random_id(cp->id);
}

int core_coupon_issue(struct core *c, const struct core_who *who, const struct core_coupon_req *req,
		      size_t n, struct store_coupon *out, char (*codes)[CORE_COUPON_DISPLAY + 1])
{
	struct issue_ctx ic = {.who = who, .n = n};
	uint8_t key[32];
	int64_t now = cf_now();
	int ret;

	if (n < 1 || n > CORE_COUPON_ISSUE_MAX)
		return CF_EMALFORMED;
	ic.cps = calloc(n, sizeof(*ic.cps));
	if (!ic.cps)
		return CF_ENOMEM;
	ret = coupon_key(c, key);
	for (size_t i = 0; i < n && ret == 0; i++) {
		ret = coupon_fill(req, now, &ic.cps[i]);
		if (ret == 0)
			ret = proof_emergency_generate(key, sizeof(key), codes[i],
						       ic.cps[i].code_mac);
	}
	cf_zeroize(key, sizeof(key));
	if (ret == 0)
		ret = store_write(c->st, issue_txn, &ic);
	if (ret == 0) {
		memcpy(out, ic.cps, n * sizeof(*out));
		cf_info("%zu coupon(s) issued", n);
	} else {
		cf_zeroize(codes, n * sizeof(*codes));
	}
	free(ic.cps);
	return ret;
}

/* ---- list and cancel ---------------------------------------------------------------------- */

struct list_ctx {
	const char *after;
	int (*cb)(const struct store_coupon *cp, void *ctx);
	void *ctx;
};

static int list_txn(store_txn *txn, void *ctx)
{
	struct list_ctx *l = ctx;

	return store_coupon_list_after(txn, l->after, l->cb, l->ctx);
}

int core_coupon_list(struct core *c, const char *after,
		     int (*cb)(const struct store_coupon *cp, void *ctx), void *ctx)
{
	struct list_ctx l = {.after = after, .cb = cb, .ctx = ctx};

	return store_read(c->st, list_txn, &l);
}

struct cancel_ctx {
	const struct core_who *who;
	const char *id;
	int64_t now;
	struct store_coupon cp;
};

static int cancel_txn(store_txn *txn, void *ctx)
{
	struct cancel_ctx *cc = ctx;
	char object[STORE_ID_LEN + 8];
	int ret = store_coupon_get(txn, cc->id, &cc->cp);

	if (ret != 0)
		return ret;
	/* An expired coupon may still be cancelled: the list then says why it is gone. */
	if (cc->cp.state != COUPON_ISSUED)
		return CF_ECONFLICT;
	cc->cp.state = COUPON_CANCELLED;
	ret = store_coupon_put(txn, &cc->cp);
	snprintf(object, sizeof(object), "coupon:%s", cc->cp.id);
	return ret ? ret : core_audit(txn, cc->who, "coupon.cancel", object, "ok", NULL);
}

int core_coupon_cancel(struct core *c, const struct core_who *who, const char *id,
		       struct store_coupon *out)
{
	struct cancel_ctx cc = {.who = who, .id = id, .now = cf_now()};
	int ret;

	if (!id || !id[0] || strlen(id) >= STORE_ID_LEN)
		return CF_ENOTFOUND;
	ret = store_write(c->st, cancel_txn, &cc);
	if (ret == 0)
		*out = cc.cp;
	return ret;
}
