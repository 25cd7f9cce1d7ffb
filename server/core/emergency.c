/*
 * emergency — POST /v1/emergency-suspend (spec/protocol.md §20): the holder of an envelope puts
 * the application's current certificate on hold with the reference number and the emergency
 * code, without their account key (it may be lost with the device); a remote application's
 * reference number (§24) is found the same way, through the enrolment record in state used that
 * names it. And admin/unlock (§21), which lifts the OTP and emergency-code locks of a subject.
 *
 * The code is checked in the write transaction that counts a failure on the application; an
 * unknown reference commits an audit event too, so both cost the same. Only the HMAC of the code
 * is stored; the presented code is wiped by the caller.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cf_clock.h"
#include "cf_crypto.h"
#include "cf_err.h"
#include "cf_log.h"
#include "core_internal.h"
#include "notify.h"
#include "proof.h"

#define REASON_HOLD 6

struct em_ctx {
	struct core *c;
	const struct core_who *who;
	const char *reference;
	int64_t now;
	uint8_t mac[PROOF_VERIFIER_MAX];
	size_t mac_len;
	/* filled by the transaction */
	struct store_enrolment e;
	struct store_application app;
	struct store_credential cr;
	int result;
	int attempts_left;
};

/* The credential's certificate goes on hold; the subject is told by e-mail. */
static int suspend_current(struct em_ctx *m, store_txn *txn)
{
	struct store_subject subj;
	const struct notify_var vars[] = {{"givenName", subj.given_name},
					  {"credential", m->app.credential_id}};
	int ret;

	if (!m->app.credential_id[0])
		return CF_ECONFLICT; /* not activated yet: nothing to suspend */
	ret = store_credential_get(txn, m->app.credential_id, &m->cr);
	if (ret == 0)
		ret = store_subject_get(txn, m->app.subject_id, &subj);
	/* only its name and address are used */
	cf_zeroize(&subj.questions, sizeof(subj.questions));
	if (ret != 0)
		return ret == CF_ENOTFOUND ? CF_EINTERNAL : ret;
	if (m->cr.status == CRED_PENDING)
		return CF_ECONFLICT; /* a remote credential not activated yet: no certificate */
	if (m->cr.status != CRED_ACTIVE)
		return CF_EALREADY;
	ret = core_cert_status_txn(txn, m->who, m->cr.current_serial, REASON_HOLD, m->now, NULL);
	if (ret == 0)
		ret = notify_queue(m->c->nt, txn, NOTIFY_EMAIL, subj.email, "suspended", vars, 2);
	return ret;
}

/* A reference without an emergency code counts its failures, shows attemptsLeft and locks like one
 * that has one (§28): an outsider cannot tell them apart. */
static int unknown_reference(struct em_ctx *m, store_txn *txn)
{
	int max = m->c->cfg.emergency_max_failures, failures = 0;
	int ret = core_ghost_failures_txn(m->c, txn, "emergency", m->reference, 0, max, m->now,
					  &failures);

	if (ret != 0)
		return ret;
	if (failures >= max) {
		m->result = CF_EPROOFLOCKED;
		return 0;
	}
	m->result = proof_count_locked(&failures, max, CF_EBADEMERGENCY);
	m->attempts_left = max - failures;
	return core_ghost_failures_txn(m->c, txn, "emergency", m->reference, 1, max, m->now,
				       &failures);
}

static int emergency_txn(store_txn *txn, void *ctx)
{
	struct em_ctx *m = ctx;
	const struct proof_method *p = &proof_emergency_code;
	int ret, max = m->c->cfg.emergency_max_failures;
	char object[64];

	m->attempts_left = -1;
	snprintf(object, sizeof(object), "enrolment:%s", m->reference);
	ret = store_enrolment_get(txn, m->reference, &m->e);
	if (ret == 0 && !m->e.application_id[0])
		ret = CF_ENOTFOUND; /* an operator-made code has no emergency code */
	if (ret == 0)
		ret = store_application_get(txn, m->e.application_id, &m->app);
	if (ret == CF_ENOTFOUND) {
		ret = unknown_reference(m, txn);
		return ret ? ret
			   : core_audit_result(txn, m->who, "emergency.suspend", object, m->result,
					       "unknown reference");
	}
	if (ret != 0)
		return ret;
	snprintf(object, sizeof(object), "application:%s", m->app.id);
	if (m->app.emergency_failures >= max) {
		m->result = CF_EPROOFLOCKED;
	} else if (p->check(m->mac, m->mac_len, m->app.emergency_mac, 32) != 0) {
		m->result = proof_count_locked(&m->app.emergency_failures, max, CF_EBADEMERGENCY);
		m->attempts_left = max - m->app.emergency_failures;
	} else {
		m->result = suspend_current(m, txn);
		if (m->result == CF_ECONFLICT || m->result == CF_EALREADY) /* nothing changes but */
			return core_audit_result(txn, m->who, "emergency.suspend", object,
						 m->result, NULL); /* the trail */
		if (m->result != 0)
			return m->result;
		m->app.emergency_failures = 0;
	}
	ret = store_application_put(txn, &m->app);
	return ret ? ret
		   : core_audit_result(txn, m->who, "emergency.suspend", object, m->result,
				       m->result == 0 ? m->cr.id : NULL);
}

int core_emergency_suspend(struct core *c, const struct core_who *who, const char *reference,
			   const char *code, char credential_id[STORE_ID_LEN], int *attempts_left)
{
	struct em_ctx *m = calloc(1, sizeof(*m));
	int ret;

	if (!m)
		return CF_ENOMEM;
	m->c = c;
	m->who = who;
	m->reference = reference;
	m->now = cf_now();
	ret = proof_emergency_code.derive(c->secret, sizeof(c->secret), code, m->mac, &m->mac_len);
	if (ret == CF_EBADCODE)
		ret = CF_EMALFORMED; /* the API checks the shape first */
	if (ret == 0 && !c->nt)
		ret = CF_EINTERNAL;
	if (ret == 0)
		ret = store_write(c->st, emergency_txn, m);
	if (ret == 0)
		ret = m->result;
	if (ret == 0) {
		core_crl_invalidate(c);
		notify_kick(c->nt);
		memcpy(credential_id, m->cr.id, STORE_ID_LEN);
		cf_info("credential %s suspended with the emergency code of application %s",
			m->cr.id, m->app.id);
	}
	*attempts_left = m->attempts_left;
	cf_zeroize(m, sizeof(*m));
	free(m);
	return ret;
}

/* ---- admin/unlock ----------------------------------------------------------------------- */

struct unlock_ctx {
	const struct core_who *who;
	const char *subject_id;
	char (*ids)[STORE_ID_LEN]; /* applications with emergency failures */
	size_t n, cap;
	struct store_subject subj;
};

/* Collected first, put after the walk: no writes under a live cursor. */
static int unlock_collect(const struct store_application *a, void *ctx)
{
	struct unlock_ctx *u = ctx;

	if (a->emergency_failures == 0)
		return 0;
	if (u->n == u->cap) {
		size_t cap = u->cap ? u->cap * 2 : 8;
		void *p = realloc(u->ids, cap * sizeof(*u->ids));

		if (!p)
			return CF_ENOMEM;
		u->ids = p;
		u->cap = cap;
	}
	memcpy(u->ids[u->n++], a->id, STORE_ID_LEN);
	return 0;
}

static int unlock_txn(store_txn *txn, void *ctx)
{
	struct unlock_ctx *u = ctx;
	struct store_application app;
	char object[64];
	size_t i;
	int ret = store_subject_get(txn, u->subject_id, &u->subj);

	if (ret != 0)
		return ret;
	u->n = 0;
	u->subj.otp_failures = 0;
	ret = store_subject_put(txn, &u->subj);
	if (ret == 0)
		ret = store_application_list_by_subject(txn, u->subject_id, unlock_collect, u);
	for (i = 0; ret == 0 && i < u->n; i++) {
		ret = store_application_get(txn, u->ids[i], &app);
		app.emergency_failures = 0;
		if (ret == 0)
			ret = store_application_put(txn, &app);
	}
	snprintf(object, sizeof(object), "subject:%s", u->subject_id);
	return ret ? ret : core_audit(txn, u->who, "unlock", object, "ok", NULL);
}

int core_unlock(struct core *c, const struct core_who *who, const char *subject_id,
		struct store_subject *out)
{
	struct unlock_ctx *u = calloc(1, sizeof(*u));
	int ret;

	if (!u)
		return CF_ENOMEM;
	u->who = who;
	u->subject_id = subject_id;
	ret = store_write(c->st, unlock_txn, u);
	if (ret == 0) {
		cf_info("subject %s unlocked", subject_id);
		*out = u->subj;
	}
	free(u->ids);
	cf_zeroize(u, sizeof(*u)); /* the subject's verifiers */
	free(u);
	return ret;
}

struct subject_update {
	const struct core_who *who;
	const char *id, *email, *alt_email, *mobile, *check;
	struct store_subject subj;
};

static int subject_update_txn(store_txn *txn, void *ctx)
{
	struct subject_update *u = ctx;
	char object[64], detail[160];
	int ret = store_subject_get(txn, u->id, &u->subj);

	if (ret != 0)
		return ret;
	snprintf(detail, sizeof(detail), "%s%s%s; identity checked: %s", u->email ? "email " : "",
		 u->alt_email ? "altEmail " : "", u->mobile ? "mobile" : "", u->check);
	if (u->email)
		snprintf(u->subj.email, sizeof(u->subj.email), "%s", u->email);
	if (u->alt_email)
		snprintf(u->subj.alt_email, sizeof(u->subj.alt_email), "%s", u->alt_email);
	if (u->mobile)
		snprintf(u->subj.mobile, sizeof(u->subj.mobile), "%s", u->mobile);
	if (strcasecmp(u->subj.email, u->subj.alt_email) == 0)
		return CF_EMALFORMED;
	if ((ret = store_subject_put(txn, &u->subj)) != 0)
		return ret;
	snprintf(object, sizeof(object), "subject:%s", u->id);
	return core_audit(txn, u->who, "subject.update", object, "ok", detail);
}

int core_subject_update(struct core *c, const struct core_who *who, const char *subject_id,
			const char *email, const char *alt_email, const char *mobile,
			const char *check, struct store_subject *out)
{
	struct subject_update *u = calloc(1, sizeof(*u));
	int ret;

	if (!u)
		return CF_ENOMEM;
	u->who = who;
	u->id = subject_id;
	u->email = email;
	u->alt_email = alt_email;
	u->mobile = mobile;
	u->check = check;
	ret = store_write(c->st, subject_update_txn, u);
	if (ret == 0) {
		cf_info("subject %s: contact details updated", subject_id);
		*out = u->subj;
	}
	cf_zeroize(u, sizeof(*u)); /* the subject's verifiers */
	free(u);
	return ret;
}
