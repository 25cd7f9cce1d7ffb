/*
 * otp — one-time passwords of a subject (spec/protocol.md §19): TOTP enrolment (setup and
 * confirm), the check of a TOTP or SMS code inside a journey's write transaction with failure
 * counting on the subject (otp_failures, otp_max_failures → proofLocked), each code accepted once
 * (TOTP: totp_last_step; SMS: the challenge's state), and SMS codes with their rate limits.
 * The TOTP seed is only ever stored sealed (aad "totp:<subject id>") and is wiped after each use;
 * no code ever reaches a log or an audit detail.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_clock.h"
#include "cf_crypto.h"
#include "cf_err.h"
#include "cf_log.h"
#include "cf_otp.h"
#include "core_internal.h"
#include "notify.h"
#include "proof.h"

#define HOUR 3600
#define TOTP_ISSUER "certflow"

const char *core_otp_kind_name(int kind)
{
	return kind == CORE_OTP_TOTP ? "totp" : kind == CORE_OTP_SMS ? "sms" : "none";
}

int core_otp_kind(const struct core *c, const struct store_subject *subj)
{
	if (subj->totp_seed_len > 0 && subj->totp_confirmed)
		return CORE_OTP_TOTP;
	return c->cfg.recovery_otp ? CORE_OTP_SMS : CORE_OTP_NONE;
}

int core_otp_left(const struct core *c, const struct store_subject *subj)
{
	int left = c->cfg.otp_max_failures - subj->otp_failures;
	return left > 0 ? left : 0;
}

static void totp_aad(const struct store_subject *subj, char *aad, size_t cap)
{
	snprintf(aad, cap, "totp:%s", subj->id);
}

/* The subject's TOTP code check: 0 and the matching step, or CF_EBADOTP. */
static int totp_check(struct core *c, const struct store_subject *subj, const char *code,
		      int64_t now, int64_t *step)
{
	uint8_t seed[STORE_WRAPPED_MAX];
	char aad[STORE_ID_LEN + 8];
	size_t seed_len = 0;
	int ret;

	totp_aad(subj, aad, sizeof(aad));
	ret =
	    core_open(c, aad, subj->totp_seed, subj->totp_seed_len, seed, sizeof(seed), &seed_len);
	if (ret == 0) {
		*step = subj->totp_last_step;
		ret = cf_totp_check(seed, seed_len, code, now, c->cfg.otp_step_secs,
				    c->cfg.otp_digits, c->cfg.otp_window_steps, step);
	}
	cf_zeroize(seed, sizeof(seed));
	return ret;
}

struct sms_find {
	const char *parent;
	struct store_challenge newest;
	int found;
};

static int sms_newest(const struct store_challenge *ch, void *ctx)
{
	struct sms_find *f = ctx;

	if (ch->kind == CHAL_SMS_OTP && strcmp(ch->parent, f->parent) == 0 &&
	    (!f->found || ch->created_at >= f->newest.created_at)) {
		f->newest = *ch;
		f->found = 1;
	}
	return 0;
}

/* The SMS code check: the newest code of parent, pending and unexpired. 0 and its id, or
 * CF_EBADOTP. */
static int sms_check(struct core *c, store_txn *txn, const struct store_subject *subj,
		     const char *parent, const char *code, int64_t now, struct core_otp_use *use)
{
	struct sms_find f = {.parent = parent};
	uint8_t derived[PROOF_VERIFIER_MAX];
	size_t len = 0;
	int ret;

	ret = store_challenge_list_by_subject(txn, subj->id, sms_newest, &f);
	if (ret != 0)
		return ret;
	ret = proof_sms_otp.derive(c->secret, sizeof(c->secret), code, derived, &len);
	if (ret == 0)
		ret = proof_sms_otp.check(derived, len, f.newest.mac, sizeof(f.newest.mac));
	cf_zeroize(derived, sizeof(derived));
	if (ret == CF_EBADCODE || (ret == 0 && (!f.found || f.newest.state != CHAL_PENDING ||
						now >= f.newest.expires_at)))
		ret = CF_EBADOTP;
	if (ret == 0)
		snprintf(use->sms_id, sizeof(use->sms_id), "%s", f.newest.id);
	return ret;
}

int core_otp_verify(struct core *c, store_txn *txn, struct store_subject *subj, int kind,
		    const char *parent, const char *code, int64_t now, struct core_otp_use *use)
{
	int ret;

	memset(use, 0, sizeof(*use));
	use->kind = kind;
	if (subj->otp_failures >= c->cfg.otp_max_failures)
		return CF_EPROOFLOCKED;
	if (!code)
		ret = CF_EBADOTP;
	else if (kind == CORE_OTP_TOTP)
		ret = totp_check(c, subj, code, now, &use->step);
	else if (kind == CORE_OTP_SMS)
		ret = sms_check(c, txn, subj, parent, code, now, use);
	else
		ret = CF_EINTERNAL;
	if (ret == CF_EBADOTP)
		ret = proof_count_locked(&subj->otp_failures, c->cfg.otp_max_failures, CF_EBADOTP);
	return ret;
}

int core_otp_consume(store_txn *txn, struct store_subject *subj, const struct core_otp_use *use)
{
	struct store_challenge ch;
	int ret = 0;

	subj->otp_failures = 0;
	if (use->kind == CORE_OTP_TOTP)
		subj->totp_last_step = use->step;
	if (use->kind != CORE_OTP_SMS || !use->sms_id[0])
		return 0;
	ret = store_challenge_get(txn, use->sms_id, &ch);
	if (ret != 0)
		return ret;
	ch.state = CHAL_USED;
	return store_challenge_put(txn, &ch);
}

/* ---- SMS codes ------------------------------------------------------------------------- */

int core_sms_new(const struct core *c, struct core_sms *sms)
{
	char rnd[STORE_ID_LEN];
	int ret;

	memset(sms, 0, sizeof(*sms));
	ret = core_random_id(rnd);
	if (ret != 0)
		return ret;
	snprintf(sms->id, sizeof(sms->id), "sms-%s", rnd);
	return proof_sms_generate(c->secret, sizeof(c->secret), sms->code, sms->mac);
}

struct sms_rate {
	int64_t since; /* start of the hour looked at */
	int64_t newest, oldest;
	int count;
};

static int sms_rate_walk(const struct store_challenge *ch, void *ctx)
{
	struct sms_rate *r = ctx;

	if (ch->kind != CHAL_SMS_OTP)
		return 0;
	if (ch->created_at > r->newest)
		r->newest = ch->created_at;
	if (ch->created_at > r->since) {
		if (!r->count || ch->created_at < r->oldest)
			r->oldest = ch->created_at;
		r->count++;
	}
	return 0;
}

/* CF_ERATELIMIT and *retry_at when subj may not get another code now. */
static int sms_rate_check(const struct core *c, store_txn *txn, const struct store_subject *subj,
			  int64_t now, int64_t *retry_at)
{
	struct sms_rate r = {.since = now - HOUR};
	int64_t at = 0;
	int ret = store_challenge_list_by_subject(txn, subj->id, sms_rate_walk, &r);

	if (ret != 0)
		return ret;
	if (r.newest && now < r.newest + c->cfg.otp_resend_secs)
		at = r.newest + c->cfg.otp_resend_secs;
	if (r.count >= c->cfg.otp_resend_per_hour && r.oldest + HOUR > at)
		at = r.oldest + HOUR;
	if (!at)
		return 0;
	*retry_at = at;
	return CF_ERATELIMIT;
}

int core_sms_send(struct core *c, store_txn *txn, const struct store_subject *subj,
		  const char *parent, const struct core_sms *sms, int64_t now, int64_t *retry_at)
{
	struct store_challenge ch;
	char minutes[16];
	struct notify_var vars[2] = {{"code", sms->code}, {"minutes", minutes}};
	int ret;

	if (!c->nt)
		return CF_EINTERNAL;
	ret = sms_rate_check(c, txn, subj, now, retry_at);
	if (ret != 0)
		return ret;
	memset(&ch, 0, sizeof(ch));
	snprintf(ch.id, sizeof(ch.id), "%s", sms->id);
	ch.kind = CHAL_SMS_OTP;
	ch.state = CHAL_PENDING;
	snprintf(ch.subject_id, sizeof(ch.subject_id), "%s", subj->id);
	snprintf(ch.purpose, sizeof(ch.purpose), "recovery");
	snprintf(ch.parent, sizeof(ch.parent), "%s", parent);
	memcpy(ch.mac, sms->mac, sizeof(ch.mac));
	ch.created_at = now;
	ch.expires_at = now + (int64_t)c->cfg.sms_otp_minutes * 60;
	ret = store_challenge_put(txn, &ch);
	snprintf(minutes, sizeof(minutes), "%d", c->cfg.sms_otp_minutes);
	if (ret == 0)
		ret = notify_queue(c->nt, txn, NOTIFY_SMS, subj->mobile, "otp", vars, 2);
	return ret;
}

/* ---- TOTP enrolment -------------------------------------------------------------------- */

struct totp_ctx {
	struct core *c;
	const struct core_who *who;
	const char *account_id;	       /* the holder's account, or NULL: */
	const char *subject_id;	       /* the portal session's subject (§23) */
	const char *code;	       /* confirm */
	uint8_t seed[CF_OTP_SEED_LEN]; /* setup */
	int64_t now;
	struct store_subject subj;
	int result; /* the answer of a committed step */
	int attempts_left;
};

static int holder_subject_cb(const struct store_credential *cr, void *ctx)
{
	char *subject_id = ctx;

	if (cr->subject_id[0] && cr->status != CRED_REVOKED && !subject_id[0])
		snprintf(subject_id, STORE_ID_LEN, "%s", cr->subject_id);
	return 0;
}

/* The subject of the account's first credential that has one and is not revoked. */
static int holder_subject(store_txn *txn, const char *account_id, struct store_subject *out)
{
	char subject_id[STORE_ID_LEN] = "";
	int ret = store_credential_list_by_account(txn, account_id, holder_subject_cb, subject_id);

	if (ret != 0)
		return ret;
	if (!subject_id[0])
		return CF_ECONFLICT;
	ret = store_subject_get(txn, subject_id, out);
	return ret == CF_ENOTFOUND ? CF_ECONFLICT : ret;
}

/* The subject whose TOTP a request sets up: the session's, or the account holder's. */
static int totp_subject(store_txn *txn, const struct totp_ctx *t, struct store_subject *out)
{
	int ret;

	if (!t->subject_id)
		return holder_subject(txn, t->account_id, out);
	ret = store_subject_get(txn, t->subject_id, out);
	return ret == CF_ENOTFOUND ? CF_ECONFLICT : ret;
}

static void subject_object(const struct store_subject *subj, char *out, size_t cap)
{
	snprintf(out, cap, "subject:%s", subj->id[0] ? subj->id : "none");
}

static int setup_txn(store_txn *txn, void *ctx)
{
	struct totp_ctx *t = ctx;
	char aad[STORE_ID_LEN + 8], object[STORE_ID_LEN + 16];
	int ret;

	memset(&t->subj, 0, sizeof(t->subj));
	t->result = totp_subject(txn, t, &t->subj);
	if (t->result == 0 && t->subj.totp_seed_len > 0 && t->subj.totp_confirmed)
		t->result = CF_ECONFLICT;
	subject_object(&t->subj, object, sizeof(object));
	if (t->result == CF_ECONFLICT)
		return core_audit_result(txn, t->who, "totp.setup", object, t->result, NULL);
	if (t->result != 0)
		return t->result;
	totp_aad(&t->subj, aad, sizeof(aad));
	ret = core_seal(t->c, aad, t->seed, sizeof(t->seed), t->subj.totp_seed,
			sizeof(t->subj.totp_seed), &t->subj.totp_seed_len);
	if (ret != 0)
		return ret;
	t->subj.totp_confirmed = 0;
	t->subj.totp_last_step = 0;
	ret = store_subject_put(txn, &t->subj);
	if (ret == 0)
		ret = core_audit_result(txn, t->who, "totp.setup", object, 0, NULL);
	return ret;
}

static int totp_setup(struct core *c, const struct core_who *who, const char *account_id,
		      const char *subject_id, struct core_totp_setup *out)
{
	struct totp_ctx *t = calloc(1, sizeof(*t));
	struct core_totp_setup res;
	int ret;

	if (!t)
		return CF_ENOMEM;
	memset(&res, 0, sizeof(res));
	t->c = c;
	t->who = who;
	t->account_id = account_id;
	t->subject_id = subject_id;
	ret = cf_random(t->seed, sizeof(t->seed)) == 0 ? 0 : CF_ECRYPTO;
	if (ret == 0)
		ret = store_write(c->st, setup_txn, t);
	if (ret == 0)
		ret = t->result;
	if (ret == 0)
		ret = cf_base32_encode(t->seed, sizeof(t->seed), res.secret, sizeof(res.secret));
	if (ret == 0)
		ret = cf_otpauth_uri(TOTP_ISSUER, t->subj.email, t->seed, sizeof(t->seed),
				     c->cfg.otp_digits, c->cfg.otp_step_secs, res.uri,
				     sizeof(res.uri));
	if (ret == 0) {
		res.digits = c->cfg.otp_digits;
		res.period = c->cfg.otp_step_secs;
		*out = res;
		cf_info("TOTP seed set up for subject %s (not confirmed yet)", t->subj.id);
	} else if (ret == CF_EUSAGE) {
		ret = CF_EINTERNAL;
	}
	cf_zeroize(&res, sizeof(res));
	cf_zeroize(t, sizeof(*t));
	free(t);
	return ret;
}

static int confirm_txn(store_txn *txn, void *ctx)
{
	struct totp_ctx *t = ctx;
	struct core_otp_use use;
	char object[STORE_ID_LEN + 16];
	const char *action = "totp.confirm";
	int ret;

	memset(&t->subj, 0, sizeof(t->subj));
	t->attempts_left = -1;
	t->result = totp_subject(txn, t, &t->subj);
	if (t->result == 0 && (t->subj.totp_seed_len == 0 || t->subj.totp_confirmed))
		t->result = CF_ECONFLICT;
	subject_object(&t->subj, object, sizeof(object));
	if (t->result == CF_ECONFLICT)
		return core_audit_result(txn, t->who, action, object, t->result, NULL);
	if (t->result != 0)
		return t->result;
	t->result = core_otp_verify(t->c, txn, &t->subj, CORE_OTP_TOTP, "", t->code, t->now, &use);
	if (t->result == CF_EBADOTP || t->result == CF_EPROOFLOCKED) {
		t->attempts_left = core_otp_left(t->c, &t->subj);
		action = "otp.fail";
	} else if (t->result == 0) {
		t->subj.totp_confirmed = 1;
		ret = core_otp_consume(txn, &t->subj, &use);
		if (ret != 0)
			return ret;
	} else {
		return t->result;
	}
	ret = store_subject_put(txn, &t->subj);
	if (ret == 0)
		ret = core_audit_result(txn, t->who, action, object, t->result,
					t->result ? "totp confirm" : NULL);
	return ret;
}

int core_totp_setup(struct core *c, const struct core_who *who, const char *account_id,
		    struct core_totp_setup *out)
{
	return totp_setup(c, who, account_id, NULL, out);
}

int core_totp_setup_subject(struct core *c, const struct core_who *who, const char *subject_id,
			    struct core_totp_setup *out)
{
	return totp_setup(c, who, NULL, subject_id, out);
}

static int totp_confirm(struct core *c, const struct core_who *who, const char *account_id,
			const char *subject_id, const char *code, int *attempts_left)
{
	struct totp_ctx *t = calloc(1, sizeof(*t));
	int ret;

	if (!t)
		return CF_ENOMEM;
	t->c = c;
	t->who = who;
	t->account_id = account_id;
	t->subject_id = subject_id;
	t->code = code;
	t->now = cf_now();
	ret = store_write(c->st, confirm_txn, t);
	if (ret == 0)
		ret = t->result;
	if (ret == CF_EBADOTP || ret == CF_EPROOFLOCKED)
		*attempts_left = t->attempts_left;
	if (ret == 0)
		cf_info("TOTP confirmed for subject %s", t->subj.id);
	else if (ret == CF_EBADOTP || ret == CF_EPROOFLOCKED)
		cf_info("TOTP confirm for subject %s: wrong code (%d failures)", t->subj.id,
			t->subj.otp_failures);
	cf_zeroize(t, sizeof(*t));
	free(t);
	return ret;
}

int core_totp_confirm(struct core *c, const struct core_who *who, const char *account_id,
		      const char *code, int *attempts_left)
{
	return totp_confirm(c, who, account_id, NULL, code, attempts_left);
}

int core_totp_confirm_subject(struct core *c, const struct core_who *who, const char *subject_id,
			      const char *code, int *attempts_left)
{
	return totp_confirm(c, who, NULL, subject_id, code, attempts_left);
}

/* ---- admin/totp-reset ------------------------------------------------------------------ */

struct reset_ctx {
	const struct core_who *who;
	const char *subject_id;
	struct store_subject subj;
};

static int reset_txn(store_txn *txn, void *ctx)
{
	struct reset_ctx *r = ctx;
	char object[STORE_ID_LEN + 16];
	int had, ret = store_subject_get(txn, r->subject_id, &r->subj);

	if (ret != 0)
		return ret;
	had = r->subj.totp_seed_len > 0;
	cf_zeroize(r->subj.totp_seed, sizeof(r->subj.totp_seed));
	r->subj.totp_seed_len = 0;
	r->subj.totp_confirmed = 0;
	r->subj.totp_last_step = 0;
	ret = store_subject_put(txn, &r->subj);
	subject_object(&r->subj, object, sizeof(object));
	return ret ? ret
		   : core_audit(txn, r->who, "totp.reset", object, "ok", had ? NULL : "no seed");
}

int core_totp_reset(struct core *c, const struct core_who *who, const char *subject_id,
		    struct store_subject *out)
{
	struct reset_ctx *r = calloc(1, sizeof(*r));
	int ret;

	if (!r)
		return CF_ENOMEM;
	r->who = who;
	r->subject_id = subject_id;
	ret = store_write(c->st, reset_txn, r);
	if (ret == 0) {
		cf_info("TOTP of subject %s reset", subject_id);
		*out = r->subj;
	}
	cf_zeroize(r, sizeof(*r));
	free(r);
	return ret;
}
