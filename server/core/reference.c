/*
 * reference — POST /v1/reference-renew (spec/protocol.md §15): an applicant whose enrolment code
 * expired unused proves themself with the security questions and gets a new code by e-mail.
 *
 * The three answer verifiers are derived (slowly) before the write transaction, with the same
 * work for an unknown reference, and the transaction always commits an audit event: the answer,
 * its time and its cost are alike whether the reference exists or not. Failures are counted on
 * the subject (question_attempts, shared with recovery) and lock the questions at the limit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_clock.h"
#include "cf_crypto.h"
#include "cf_err.h"
#include "cf_log.h"
#include "core_internal.h"
#include "notify.h"
#include "proof.h"

struct rr_ctx {
	struct core *c;
	const struct core_who *who;
	const char *reference;
	int64_t now;
	uint8_t salt[16]; /* of the subject's questions, seen by the precheck */
	uint32_t iterations;
	uint8_t derived[STORE_QUESTIONS][32];
	/* filled by the transactions */
	int known;
	struct store_enrolment e;
	struct store_application app;
	struct store_subject subj;
	int result;
	int attempts_left;
};

/* The reference names the current, expired, unused code of an application. */
static int renewable(struct rr_ctx *r, store_txn *txn)
{
	int ret = store_enrolment_get(txn, r->reference, &r->e);

	if (ret != 0)
		return ret;
	if (!r->e.application_id[0] || r->e.state != ENROL_LIVE || r->now < r->e.expires_at)
		return CF_ENOTFOUND;
	ret = store_application_get(txn, r->e.application_id, &r->app);
	if (ret == 0 && strcmp(r->app.reference, r->reference) != 0)
		return CF_ENOTFOUND; /* an older code of the application */
	if (ret == 0)
		ret = store_subject_get(txn, r->app.subject_id, &r->subj);
	if (ret == 0 && r->subj.questions.iterations == 0)
		return CF_ENOTFOUND;
	return ret;
}

static int precheck_txn(store_txn *txn, void *ctx)
{
	struct rr_ctx *r = ctx;
	int ret = renewable(r, txn);

	r->known = ret == 0;
	if (ret == 0) {
		memcpy(r->salt, r->subj.questions.salt, sizeof(r->salt));
		r->iterations = r->subj.questions.iterations;
	}
	return ret == CF_ENOTFOUND ? 0 : ret;
}

static int answer_txn(store_txn *txn, void *ctx)
{
	struct rr_ctx *r = ctx;
	const struct core_config *cfg = &r->c->cfg;
	char object[64];
	int ret, max = cfg->question_attempts;

	r->attempts_left = -1;
	snprintf(object, sizeof(object), "enrolment:%s", r->reference);
	ret = renewable(r, txn);
	if (ret == 0 && (!r->known || memcmp(r->salt, r->subj.questions.salt, 16) != 0))
		ret = CF_ENOTFOUND; /* the questions changed since the precheck */
	if (ret == CF_ENOTFOUND) {
		r->result = CF_EBADANSWERS; /* not counted: there is nothing to count on */
		return core_audit_result(txn, r->who, "enrolment.renew", object, r->result,
					 "reference not renewable");
	}
	if (ret != 0)
		return ret;
	if (r->subj.question_attempts >= max) {
		r->result = CF_EPROOFLOCKED;
	} else if (proof_answers_right(r->derived, &r->subj.questions) >= cfg->questions_required) {
		r->subj.question_attempts = 0;
		r->result = 0;
	} else {
		r->result = proof_count_locked(&r->subj.question_attempts, max, CF_EBADANSWERS);
		r->attempts_left = max - r->subj.question_attempts;
	}
	ret = store_subject_put(txn, &r->subj);
	if (ret == 0 && r->result == 0)
		ret = core_application_new_code(r->c, txn, &r->app, &r->subj,
						r->e.replaces[0] ? r->e.replaces : NULL);
	if (ret == 0)
		ret = core_audit_result(txn, r->who, "enrolment.renew", object, r->result,
					r->result == 0 ? r->app.reference : NULL);
	return ret;
}

int core_reference_renew(struct core *c, const struct core_who *who, const char *reference,
			 const char *const answers[STORE_QUESTIONS], int *attempts_left)
{
	struct rr_ctx *r = calloc(1, sizeof(*r));
	int ret = CF_EINTERNAL, i;

	if (!r)
		return CF_ENOMEM;
	r->c = c;
	r->who = who;
	r->reference = reference;
	r->now = cf_now();
	r->attempts_left = -1;
	ret = store_read(c->st, precheck_txn, r);
	if (ret != 0)
		goto out;
	if (!r->known) /* the same work as for a known reference */
		r->iterations = c->cfg.kdf_iterations;
	for (i = 0; i < STORE_QUESTIONS && ret == 0; i++)
		ret = proof_answer_verifier(c->secret, sizeof(c->secret), answers[i], r->salt,
					    r->iterations, r->derived[i]);
	if (ret == 0 && !c->nt)
		ret = CF_EINTERNAL;
	if (ret == 0)
		ret = store_write(c->st, answer_txn, r);
	if (ret == 0)
		ret = r->result;
	if (ret == 0) {
		notify_kick(c->nt);
		cf_info("enrolment %s renewed as %s", reference, r->app.reference);
	}
	*attempts_left = r->attempts_left;
out:
	cf_zeroize(r, sizeof(*r));
	free(r);
	return ret;
}
