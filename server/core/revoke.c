/*
 * revoke — revocation, suspension (certificateHold) and reinstatement of certificates, the CRL
 * they feed (cached, regenerated after a change or when nextUpdate nears), and the renewal
 * information of RFC 9773 that tells agents to renew at once after a revocation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_b64.h"
#include "cf_clock.h"
#include "cf_err.h"
#include "cf_log.h"
#include "core_internal.h"

#define DAY 86400
#define REASON_SUPERSEDED 4
#define REASON_HOLD 6

enum status_op { OP_REVOKE, OP_SUSPEND, OP_REINSTATE };

struct status_ctx {
	const struct core_who *who;
	const char *serial;
	enum status_op op;
	int reason;
	int64_t now;
	struct store_cert cert;
};

static int apply_op(struct status_ctx *s)
{
	struct store_cert *cert = &s->cert;

	switch (s->op) {
	case OP_REVOKE:
		if (cert->status == CERT_REVOKED)
			return CF_EALREADY;
		cert->status = CERT_REVOKED;
		cert->reason = s->reason;
		cert->revoked_at = s->now;
		return 0;
	case OP_SUSPEND:
		if (cert->status != CERT_VALID)
			return CF_EALREADY;
		cert->status = CERT_SUSPENDED;
		cert->reason = REASON_HOLD;
		cert->revoked_at = s->now;
		return 0;
	case OP_REINSTATE:
		if (cert->status != CERT_SUSPENDED)
			return CF_ECONFLICT;
		cert->status = CERT_VALID;
		cert->reason = -1;
		cert->revoked_at = 0;
		return 0;
	}
	return CF_EINTERNAL;
}

static int status_audit(store_txn *txn, const struct status_ctx *s)
{
	static const char *const actions[] = {"revoke", "suspend", "reinstate"};
	char object[96], detail[32] = "";

	snprintf(object, sizeof(object), "certificate:%s", s->serial);
	if (s->op == OP_REVOKE)
		snprintf(detail, sizeof(detail), "reason %d", s->reason);
	return core_audit(txn, s->who, actions[s->op], object, "ok", detail);
}

static int status_txn(store_txn *txn, void *ctx)
{
	struct status_ctx *s = ctx;
	struct store_credential cr;
	int ret;

	ret = store_cert_get(txn, s->serial, &s->cert);
	if (ret != 0)
		return ret;
	ret = apply_op(s);
	if (ret == 0)
		ret = store_cert_put(txn, &s->cert, 0);
	if (ret == 0)
		ret = status_audit(txn, s);
	if (ret != 0)
		return ret;
	/* The credential follows the state of its current certificate. */
	ret = store_credential_get(txn, s->cert.credential_id, &cr);
	if (ret == CF_ENOTFOUND)
		return 0;
	if (ret != 0)
		return ret;
	if (strcmp(cr.current_serial, s->serial) != 0 || cr.status == CRED_REVOKED)
		return 0;
	/* superseded: the certificate was replaced, the credential lives on */
	if (s->op == OP_REVOKE && s->reason == REASON_SUPERSEDED)
		return 0;
	cr.status = s->op == OP_REVOKE	  ? CRED_REVOKED
		    : s->op == OP_SUSPEND ? CRED_SUSPENDED
					  : CRED_ACTIVE;
	ret = store_credential_put(txn, &cr);
	/* a revoked remote credential's key is destroyed with it (§22.8) */
	if (ret == 0 && cr.remote && cr.status == CRED_REVOKED) {
		ret = custody_revoke_txn(txn, cr.id, s->now);
		if (ret == CF_ENOTFOUND)
			ret = 0;
	}
	return ret;
}

int core_cert_status_txn(store_txn *txn, const struct core_who *who, const char *serial, int reason,
			 int64_t now, struct store_cert *out)
{
	struct status_ctx *s = calloc(1, sizeof(*s));
	int ret;

	if (!s)
		return CF_ENOMEM;
	s->who = who;
	s->serial = serial;
	s->op = reason == REASON_HOLD ? OP_SUSPEND : OP_REVOKE;
	s->reason = reason;
	s->now = now;
	ret = status_txn(txn, s);
	if (ret == 0 && out)
		*out = s->cert;
	free(s);
	return ret;
}

static int change_status(struct core *c, const struct core_who *who, const char *serial,
			 enum status_op op, int reason, struct store_cert *out)
{
	struct status_ctx *s;
	int ret;

	s = calloc(1, sizeof(*s));
	if (!s)
		return CF_ENOMEM;
	s->who = who;
	s->serial = serial;
	s->op = op;
	s->reason = reason;
	s->now = cf_now();
	ret = store_write(c->st, status_txn, s);
	if (ret == 0) {
		core_crl_invalidate(c);
		cf_info("certificate %s %s", serial,
			op == OP_REVOKE	   ? "revoked"
			: op == OP_SUSPEND ? "suspended"
					   : "reinstated");
		*out = s->cert;
	}
	free(s);
	return ret;
}

int core_revoke(struct core *c, const struct core_who *who, const char *serial, int reason,
		struct store_cert *out)
{
	/* RFC 5280 CRLReason: 7 is unassigned, 6 (certificateHold) is suspend and 8 (removeFromCRL)
	 * is reinstate. */
	if (reason < 0 || reason > 10 || reason == 7 || reason == REASON_HOLD || reason == 8)
		return CF_EBADREASON;
	return change_status(c, who, serial, OP_REVOKE, reason, out);
}

int core_suspend(struct core *c, const struct core_who *who, const char *serial,
		 struct store_cert *out)
{
	return change_status(c, who, serial, OP_SUSPEND, REASON_HOLD, out);
}

int core_reinstate(struct core *c, const struct core_who *who, const char *serial,
		   struct store_cert *out)
{
	return change_status(c, who, serial, OP_REINSTATE, -1, out);
}

/* ---- CRL -------------------------------------------------------------------------------- */

struct crl_row {
	char serial[STORE_SERIAL_LEN];
	int64_t revoked_at;
	int reason;
};

struct crl_ctx {
	struct crl_row *rows;
	size_t n, cap;
	uint64_t number;
	uint64_t gen; /* the store's revocations counter in the snapshot the rows come from */
};

static int crl_collect(const struct store_cert *cert, void *ctx)
{
	struct crl_ctx *cc = ctx;
	struct crl_row *r;

	if (cc->n == cc->cap) {
		size_t cap = cc->cap ? cc->cap * 2 : 64;
		r = realloc(cc->rows, cap * sizeof(*r));
		if (!r)
			return CF_ENOMEM;
		cc->rows = r;
		cc->cap = cap;
	}
	r = &cc->rows[cc->n++];
	snprintf(r->serial, sizeof(r->serial), "%s", cert->serial);
	r->revoked_at = cert->revoked_at;
	r->reason = cert->status == CERT_SUSPENDED ? REASON_HOLD : cert->reason;
	return 0;
}

static int crl_txn(store_txn *txn, void *ctx)
{
	struct crl_ctx *cc = ctx;

	cc->n = 0; /* the transaction may run again */
	int ret = store_cert_list_revoked(txn, crl_collect, cc);
	if (ret == 0)
		ret = store_counter_get(txn, STORE_COUNTER_REVOCATIONS, &cc->gen);
	if (ret != 0)
		return ret;
	return store_counter_next(txn, "crl_number", &cc->number);
}

static int crl_generate(struct core *c, int64_t now)
{
	struct crl_ctx cc = {0};
	struct ca_crl_entry *entries = NULL;
	uint8_t *der = NULL;
	size_t der_len = 0, i;
	int ret;

	ret = store_write(c->st, crl_txn, &cc);
	if (ret != 0)
		goto out;
	entries = calloc(cc.n ? cc.n : 1, sizeof(*entries));
	if (!entries) {
		ret = CF_ENOMEM;
		goto out;
	}
	for (i = 0; i < cc.n; i++) {
		entries[i].serial = cc.rows[i].serial;
		entries[i].revoked_at = cc.rows[i].revoked_at;
		entries[i].reason = cc.rows[i].reason;
	}
	ret =
	    ca_crl(c->ca, entries, cc.n, cc.number, now, CORE_CRL_NEXT_UPDATE_SECS, &der, &der_len);
	if (ret != 0)
		goto out;
	free(c->crl_der);
	c->crl_der = der;
	c->crl_len = der_len;
	c->crl_this_update = now;
	c->crl_gen = cc.gen;
	c->crl_dirty = 0;
	cf_info("CRL %llu generated with %zu entries", (unsigned long long)cc.number, cc.n);
out:
	free(entries);
	free(cc.rows);
	return ret;
}

void core_crl_invalidate(struct core *c)
{
	pthread_mutex_lock(&c->crl_lock);
	c->crl_dirty = 1;
	pthread_mutex_unlock(&c->crl_lock);
}

static int gen_txn(store_txn *txn, void *ctx)
{
	return store_counter_get(txn, STORE_COUNTER_REVOCATIONS, ctx);
}

int core_crl(struct core *c, uint8_t **der, size_t *len)
{
	int64_t now = cf_now();
	uint8_t *copy = NULL;
	uint64_t gen = 0;
	int ret;

	/* A change made by another process (several front ends on one database) is seen by the
	 * store's revocations counter: one read. */
	if ((ret = store_read(c->st, gen_txn, &gen)) != 0)
		return ret;
	pthread_mutex_lock(&c->crl_lock);
	/* Regenerate after a change, a day before nextUpdate, or if the clock went backwards. */
	if (c->crl_dirty || !c->crl_der || gen != c->crl_gen || now < c->crl_this_update ||
	    now >= c->crl_this_update + CORE_CRL_NEXT_UPDATE_SECS - DAY)
		ret = crl_generate(c, now);
	if (ret == 0) {
		copy = malloc(c->crl_len);
		if (copy) {
			memcpy(copy, c->crl_der, c->crl_len);
			*der = copy;
			*len = c->crl_len;
		} else {
			ret = CF_ENOMEM;
		}
	}
	pthread_mutex_unlock(&c->crl_lock);
	return ret;
}

/* ---- renewal information ---------------------------------------------------------------- */

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

int core_certid(struct core *c, const char *serial, char *out, size_t out_cap)
{
	uint8_t oct[STORE_SERIAL_LEN / 2 + 2];
	size_t n = 0, len = strlen(serial), i = 0, aki_len = 0, l1 = 0, l2 = 0;
	const uint8_t *aki = ca_issuer_key_id(c->ca, &aki_len);
	int hi, lo;

	if (len == 0 || len > STORE_SERIAL_LEN - 2 || !aki)
		return CF_EMALFORMED;
	oct[n++] = 0; /* room for the sign octet of the DER INTEGER */
	if (len % 2) {
		if ((lo = hexval(serial[0])) < 0)
			return CF_EMALFORMED;
		oct[n++] = (uint8_t)lo;
		i = 1;
	}
	for (; i < len; i += 2) {
		hi = hexval(serial[i]);
		lo = hexval(serial[i + 1]);
		if (hi < 0 || lo < 0)
			return CF_EMALFORMED;
		oct[n++] = (uint8_t)(hi << 4 | lo);
	}
	/* Value octets of the DER INTEGER: a leading 0x00 only when the top bit is set. */
	i = (oct[1] & 0x80) ? 0 : 1;
	if (cf_b64url_encode(aki, aki_len, out, out_cap, &l1) != 0 || l1 + 2 >= out_cap)
		return CF_EMALFORMED;
	out[l1] = '.';
	return cf_b64url_encode(oct + i, n - i, out + l1 + 1, out_cap - l1 - 1, &l2);
}

/* certid → serial hex; CF_ENOTFOUND when the AKI is not our issuing CA's. */
int core_certid_serial(struct core *c, const char *certid, char serial[STORE_SERIAL_LEN])
{
	const char *dot = strchr(certid, '.');
	uint8_t aki[64], oct[32];
	size_t aki_len = 0, n = 0, i = 0, ours_len = 0, k = 0;
	const uint8_t *ours = ca_issuer_key_id(c->ca, &ours_len);

	if (!dot || strchr(dot + 1, '.') ||
	    cf_b64url_decode(certid, (size_t)(dot - certid), aki, sizeof(aki), &aki_len) != 0 ||
	    cf_b64url_decode(dot + 1, strlen(dot + 1), oct, sizeof(oct), &n) != 0 || n == 0)
		return CF_EMALFORMED;
	if (!ours || aki_len != ours_len || memcmp(aki, ours, aki_len) != 0)
		return CF_ENOTFOUND;
	while (i < n - 1 && oct[i] == 0)
		i++;
	if ((n - i) * 2 >= STORE_SERIAL_LEN)
		return CF_ENOTFOUND;
	for (; i < n; i++)
		k += (size_t)snprintf(serial + k, STORE_SERIAL_LEN - k, "%02x", oct[i]);
	return 0;
}

struct info_ctx {
	const char *serial;
	struct store_cert cert;
	struct store_credential cr;
};

static int info_txn(store_txn *txn, void *ctx)
{
	struct info_ctx *ic = ctx;
	int ret = store_cert_get(txn, ic->serial, &ic->cert);

	if (ret == 0)
		ret = store_credential_get(txn, ic->cert.credential_id, &ic->cr);
	return ret;
}

int core_renewal_info(struct core *c, const char *certid, int64_t *start, int64_t *end)
{
	char serial[STORE_SERIAL_LEN];
	struct info_ctx *ic;
	int ret;

	ret = core_certid_serial(c, certid, serial);
	if (ret != 0)
		return ret;
	ic = calloc(1, sizeof(*ic));
	if (!ic)
		return CF_ENOMEM;
	ic->serial = serial;
	ret = store_read(c->st, info_txn, ic);
	if (ret == 0 && ic->cert.status != CERT_VALID) {
		/* Revoked or on hold: a window in the past, so the agent renews at once. */
		*start = *end = ic->cert.revoked_at;
	} else if (ret == 0) {
		ret = core_renewal_window(&c->cfg, ic->cr.profile, ic->cert.not_before,
					  ic->cert.not_after, start, end);
	}
	free(ic);
	return ret;
}
