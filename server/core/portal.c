/*
 * portal — what the holder portal shows of a session's subject (spec/protocol.md §23.6): the
 * subject's names, its OTP kind, and each credential with its certificate, its PIN and PUK
 * counters (remote credentials: from the custody record, never a secret), its renewal window
 * and the operator's "update by" notice. A read: one read transaction, nothing audited.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_clock.h"
#include "cf_err.h"
#include "core_internal.h"

struct status_ctx {
	struct core *c;
	const struct core_session *s;
	struct core_portal_status *out;
	size_t cap;
};

static void key_algorithm(const struct store_custody *cu, char *out, size_t cap)
{
	if (cu->key_type == CF_KEY_P256)
		snprintf(out, cap, "p256");
	else if (cu->key_type == CF_KEY_P384)
		snprintf(out, cap, "p384");
	else if (cu->key_type == CF_KEY_RSA)
		snprintf(out, cap, "rsa%u", (unsigned)cu->key_bits);
	else
		out[0] = '\0';
}

/* The credential's custody counters, certificate, status and renewal window into pc. */
static int describe(struct status_ctx *k, store_txn *txn, struct core_portal_cred *pc)
{
	const struct store_credential *cr = &pc->cr;
	struct store_custody *cu;
	int64_t end = 0;
	int ret = 0;

	if (cr->current_serial[0]) {
		ret = store_cert_get(txn, cr->current_serial, &pc->cert);
		if (ret != 0 && ret != CF_ENOTFOUND)
			return ret;
		pc->has_cert = ret == 0;
	}
	pc->status =
	    cr->status == CRED_PENDING
		? "pending"
		: core_credential_status(cr, pc->has_cert ? pc->cert.not_after : 0, k->out->now);
	if (!cr->remote)
		return 0;
	cu = calloc(1, sizeof(*cu));
	if (!cu)
		return CF_ENOMEM;
	ret = store_custody_get(txn, cr->id, cu);
	if (ret == 0) {
		pc->has_custody = 1;
		pc->pin_blocked = cu->state != CUSTODY_ACTIVE || cu->pin_tries_left <= 0;
		pc->pin_tries_left = cu->pin_tries_left;
		pc->puk_tries_left = cu->puk_tries_left;
		key_algorithm(cu, pc->key_algorithm, sizeof(pc->key_algorithm));
	}
	free(cu);
	if (ret != 0 && ret != CF_ENOTFOUND)
		return ret;
	if (pc->has_cert &&
	    core_renewal_window(&k->c->cfg, cr->profile, pc->cert.not_before, pc->cert.not_after,
				&pc->renewal_opens, &end) == 0) {
		pc->renewal = 1;
		pc->renewal_offered = strcmp(pc->status, "active") == 0 &&
				      k->out->now >= pc->renewal_opens && k->out->now < end;
	}
	return 0;
}

static int cred_cb(const struct store_credential *cr, void *ctx)
{
	struct status_ctx *k = ctx;
	void *p;

	if (k->out->ncreds == k->cap) {
		p = realloc(k->out->creds, (k->cap ? k->cap * 2 : 4) * sizeof(*k->out->creds));
		if (!p)
			return CF_ENOMEM;
		k->out->creds = p;
		k->cap = k->cap ? k->cap * 2 : 4;
	}
	memset(&k->out->creds[k->out->ncreds], 0, sizeof(k->out->creds[0]));
	k->out->creds[k->out->ncreds++].cr = *cr;
	return 0;
}

static int status_txn(store_txn *txn, void *ctx)
{
	struct status_ctx *k = ctx;
	struct core_portal_status *out = k->out;
	struct store_subject *subj = calloc(1, sizeof(*subj));
	int ret = subj ? store_subject_get(txn, k->s->subject_id, subj) : CF_ENOMEM;

	out->ncreds = 0;
	if (ret == 0) {
		snprintf(out->user_id, sizeof(out->user_id), "%s", k->s->user_id);
		snprintf(out->given_name, sizeof(out->given_name), "%s", subj->given_name);
		snprintf(out->surname, sizeof(out->surname), "%s", subj->surname);
		snprintf(out->unique_id, sizeof(out->unique_id), "%s", subj->unique_id);
		snprintf(out->email, sizeof(out->email), "%s", subj->email);
		out->otp =
		    subj->totp_seed_len > 0 && subj->totp_confirmed ? CORE_OTP_TOTP : CORE_OTP_SMS;
		/* the list is walked first: a callback must not read records of its own walk */
		ret = store_credential_list_by_subject(txn, subj->id, cred_cb, k);
	}
	for (size_t i = 0; i < out->ncreds && ret == 0; i++)
		ret = describe(k, txn, &out->creds[i]);
	if (subj)
		cf_zeroize(subj, sizeof(*subj));
	free(subj);
	return ret == CF_ENOTFOUND ? CF_ESESSION : ret;
}

int core_portal_status(struct core *c, const struct core_session *s, struct core_portal_status *out)
{
	struct core_portal_status st;
	struct status_ctx k = {.c = c, .s = s, .out = &st};
	int ret;

	memset(&st, 0, sizeof(st));
	st.now = cf_now();
	ret = store_read(c->st, status_txn, &k);
	if (ret != 0) {
		core_portal_status_free(&st);
		return ret;
	}
	*out = st;
	return 0;
}

void core_portal_status_free(struct core_portal_status *st)
{
	if (!st)
		return;
	free(st->creds);
	st->creds = NULL;
	st->ncreds = 0;
}
