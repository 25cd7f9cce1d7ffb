/*
 * application — the operator's side of applications (spec/protocol.md §14, §20): listing,
 * approval and rejection, and what approval, reference renewal and recovery share: a new
 * enrolment code with its emergency code, mailed as a reference e-mail and, separately, as a
 * passphrase-protected envelope.
 *
 * The activation and emergency codes exist in clear only inside the transaction that queues the
 * envelope (sealed by the outbox) and are wiped before it returns; the database keeps their
 * HMACs. The envelope key is opened from its sealed form only for the time of one seal.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_clock.h"
#include "cf_crypto.h"
#include "cf_envelope.h"
#include "cf_err.h"
#include "cf_log.h"
#include "cf_policy.h"
#include "core_internal.h"
#include "notify.h"
#include "proof.h"

#define DAY 86400

const char *core_application_status(const struct store_application *a)
{
	switch (a->state) {
	case APP_APPROVED:
		return "approved";
	case APP_REJECTED:
		return "rejected";
	case APP_ACTIVATED:
		return "activated";
	default:
		return "pending";
	}
}

static void envelope_aad(const char *app_id, char *out, size_t cap)
{
	snprintf(out, cap, "envelope:%s", app_id);
}

int core_envelope_key_set(struct core *c, const char *app_id, const char *passphrase,
			  struct store_application *app)
{
	uint8_t key[32], salt[16], sealed[STORE_WRAPPED_MAX];
	char aad[STORE_ID_LEN + 16];
	const char *why = NULL;
	size_t sealed_len = 0;
	int ret;

	if (!passphrase || cf_password_check(passphrase, &why) != 0)
		return CF_EWEAKPASSWORD;
	if (cf_random(salt, sizeof(salt)) != 0)
		return CF_ECRYPTO;
	ret = cf_envelope_key(passphrase, salt, c->cfg.kdf_iterations, key);
	if (ret == 0) {
		envelope_aad(app_id, aad, sizeof(aad));
		ret = core_seal(c, aad, key, sizeof(key), sealed, sizeof(sealed), &sealed_len);
	}
	cf_zeroize(key, sizeof(key));
	if (ret != 0)
		return ret;
	memcpy(app->envelope_key, sealed, sealed_len);
	app->envelope_key_len = sealed_len;
	memcpy(app->envelope_salt, salt, sizeof(salt));
	app->envelope_iterations = c->cfg.kdf_iterations;
	return 0;
}

/* "123456789012" → "1234-5678-9012", as people read it. */
static void reference_display(const char *ref, char out[16])
{
	snprintf(out, 16, "%.4s-%.4s-%.4s", ref, ref + 4, ref + 8);
}

int core_envelope_seal(struct core *c, const struct store_application *app, uint32_t number,
		       const char *plain, char **armoured)
{
	uint8_t key[32];
	char aad[STORE_ID_LEN + 16];
	size_t key_len = 0;
	int ret;

	envelope_aad(app->id, aad, sizeof(aad));
	ret =
	    core_open(c, aad, app->envelope_key, app->envelope_key_len, key, sizeof(key), &key_len);
	if (ret == 0 && key_len != sizeof(key))
		ret = CF_EINTERNAL;
	if (ret == 0)
		ret = cf_envelope_seal(key, app->envelope_salt, app->envelope_iterations, number,
				       plain, armoured);
	cf_zeroize(key, sizeof(key));
	return ret;
}

/* The armoured envelope number `number` of app holding the codes. *armoured: malloc'd. */
static int envelope_make(struct core *c, const struct store_application *app, uint32_t number,
			 const char *reference, const char *code, const char *emergency,
			 char **armoured)
{
	char plain[256];
	int ret;

	/* Digits and Crockford base32 with dashes: nothing to escape, and a stack buffer that is
	 * wiped (a JSON tree would leave copies of the codes in freed memory). */
	snprintf(plain, sizeof(plain),
		 "{\"reference\":\"%s\",\"activationCode\":\"%s\",\"emergencyCode\":\"%s\","
		 "\"envelopeNumber\":%u}",
		 reference, code, emergency, number);
	ret = core_envelope_seal(c, app, number, plain, armoured);
	cf_zeroize(plain, sizeof(plain));
	return ret;
}

/* Cancel app's current enrolment code if it is still live. */
static int cancel_current(store_txn *txn, const struct store_application *app, int64_t now)
{
	struct store_enrolment old;
	int ret;

	if (!app->reference[0])
		return 0;
	ret = store_enrolment_get(txn, app->reference, &old);
	if (ret == CF_ENOTFOUND)
		return 0;
	if (ret != 0 || old.state != ENROL_LIVE || now >= old.expires_at)
		return ret;
	old.state = ENROL_CANCELLED;
	return store_enrolment_put(txn, &old);
}

/* The two e-mails of a new code: the reference alone, then the envelope. */
static int mail_code(struct core *c, store_txn *txn, const struct store_subject *subj,
		     const struct store_enrolment *e, const char *armoured)
{
	char shown[16], expires[21], number[16];
	const struct notify_var ref_vars[] = {
	    {"givenName", subj->given_name}, {"reference", shown}, {"expiresAt", expires}};
	const struct notify_var env_vars[] = {
	    {"givenName", subj->given_name}, {"envelope", armoured}, {"envelopeNumber", number}};
	int ret;

	reference_display(e->reference, shown);
	cf_time_format(e->expires_at, expires);
	snprintf(number, sizeof(number), "%u", e->envelope_number);
	ret = notify_queue(c->nt, txn, NOTIFY_EMAIL, subj->email, "reference", ref_vars, 3);
	if (ret == 0)
		ret = notify_queue(c->nt, txn, NOTIFY_EMAIL, subj->email, "envelope", env_vars, 3);
	return ret;
}

/* The certificate names of a subject: CN "<given name> <surname>" and its professional address
 * (the API keeps both within the enrolment's fields). */
static int enrolment_names(struct store_enrolment *e, const struct store_subject *subj)
{
	size_t g = strlen(subj->given_name), s = strlen(subj->surname), m = strlen(subj->email);

	if (g + 1 + s >= sizeof(e->subject) || m >= sizeof(e->email))
		return CF_EINTERNAL;
	memcpy(e->subject, subj->given_name, g);
	e->subject[g] = ' ';
	memcpy(e->subject + g + 1, subj->surname, s + 1);
	memcpy(e->email, subj->email, m + 1);
	return 0;
}

int core_application_new_code(struct core *c, store_txn *txn, struct store_application *app,
			      const struct store_subject *subj, const char *replaces)
{
	struct store_enrolment e;
	char code[PROOF_CODE_DISPLAY + 1] = "", emergency[PROOF_EMERGENCY_DISPLAY + 1] = "";
	char *armoured = NULL;
	uint8_t emergency_mac[32];
	int64_t now = cf_now();
	int ret;

	if (!c->nt)
		return CF_EINTERNAL;
	ret = cancel_current(txn, app, now);
	if (ret != 0)
		return ret;
	memset(&e, 0, sizeof(e));
	ret = enrolment_names(&e, subj);
	if (ret == 0)
		ret = core_reference_new(txn, e.reference);
	if (ret != 0)
		return ret;
	snprintf(e.profile, sizeof(e.profile), "%s", app->profile);
	snprintf(e.application_id, sizeof(e.application_id), "%s", app->id);
	snprintf(e.replaces, sizeof(e.replaces), "%s", replaces ? replaces : "");
	e.state = ENROL_LIVE;
	e.created_at = now;
	e.expires_at = now + (int64_t)c->cfg.enrolment_code_days * DAY;
	e.envelope_number = app->envelope_count + 1;
	ret = proof_code_generate(c->secret, sizeof(c->secret), code, e.code_mac);
	if (ret == 0)
		ret = proof_emergency_generate(c->secret, sizeof(c->secret), emergency,
					       emergency_mac);
	if (ret == 0)
		ret = envelope_make(c, app, e.envelope_number, e.reference, code, emergency,
				    &armoured);
	if (ret == 0)
		ret = store_enrolment_put(txn, &e);
	if (ret == 0)
		ret = mail_code(c, txn, subj, &e, armoured);
	if (ret == 0) {
		snprintf(app->reference, sizeof(app->reference), "%s", e.reference);
		memcpy(app->emergency_mac, emergency_mac, sizeof(emergency_mac));
		app->envelope_count = e.envelope_number;
		ret = store_application_put(txn, app);
	}
	cf_zeroize(code, sizeof(code));
	cf_zeroize(emergency, sizeof(emergency));
	cf_zeroize(emergency_mac, sizeof(emergency_mac));
	cf_free_secret(armoured);
	return ret;
}

/* Approval; remote: the material core_remote_prepare made outside the transaction (a remote
 * application cannot be approved without it). */
static int approve_txn(struct core *c, store_txn *txn, const struct core_who *who,
		       struct store_application *app, const char *decided_by,
		       const struct core_remote_prep *remote)
{
	struct store_subject subj;
	char object[64];
	int ret;

	if (core_profile_remote(app->profile) && !remote)
		return CF_EINTERNAL;
	ret = store_subject_get(txn, app->subject_id, &subj);
	if (ret != 0)
		return ret == CF_ENOTFOUND ? CF_EINTERNAL : ret;
	/* The questions of the newest approved application are the subject's from now on. */
	subj.questions = app->questions;
	subj.question_attempts = 0;
	ret = store_subject_put(txn, &subj);
	if (ret != 0) {
		cf_zeroize(&subj.questions, sizeof(subj.questions));
		return ret;
	}
	app->state = APP_APPROVED;
	app->decided_at = cf_now();
	snprintf(app->decided_by, sizeof(app->decided_by), "%s", decided_by);
	if (remote)
		ret = core_remote_approve_txn(c, txn, who, app, &subj, remote);
	else
		ret = core_application_new_code(c, txn, app, &subj, NULL);
	cf_zeroize(&subj.questions, sizeof(subj.questions));
	if (ret != 0)
		return ret;
	snprintf(object, sizeof(object), "application:%s", app->id);
	return core_audit(txn, who, "application.approve", object, "ok", app->reference);
}

int core_application_approve_txn(struct core *c, store_txn *txn, const struct core_who *who,
				 struct store_application *app, const char *decided_by)
{
	return approve_txn(c, txn, who, app, decided_by, NULL);
}

/* ---- admin operations ------------------------------------------------------------------- */

struct decide_ctx {
	struct core *c;
	const struct core_who *who;
	const char *id;
	const char *reason;		       /* NULL: approve */
	const struct core_remote_prep *remote; /* approval of a remote application */
	char decided_by[STORE_OPERATOR_NAME_LEN];
	struct store_application app;
};

static int reject_txn(struct decide_ctx *d, store_txn *txn)
{
	struct store_subject subj;
	char object[64];
	const struct notify_var vars[] = {{"givenName", subj.given_name}, {"reason", d->reason}};
	int ret;

	if (!d->c->nt)
		return CF_EINTERNAL;
	ret = store_subject_get(txn, d->app.subject_id, &subj);
	if (ret != 0)
		return ret == CF_ENOTFOUND ? CF_EINTERNAL : ret;
	d->app.state = APP_REJECTED;
	d->app.decided_at = cf_now();
	snprintf(d->app.decided_by, sizeof(d->app.decided_by), "%s", d->decided_by);
	snprintf(d->app.reason, sizeof(d->app.reason), "%s", d->reason);
	cf_zeroize(&subj.questions, sizeof(subj.questions));
	ret = store_application_put(txn, &d->app);
	if (ret == 0)
		ret = notify_queue(d->c->nt, txn, NOTIFY_EMAIL, subj.email, "rejected", vars, 2);
	snprintf(object, sizeof(object), "application:%s", d->app.id);
	return ret ? ret : core_audit(txn, d->who, "application.reject", object, "ok", NULL);
}

static int decide_txn(store_txn *txn, void *ctx)
{
	struct decide_ctx *d = ctx;
	int ret = store_application_get(txn, d->id, &d->app);

	if (ret != 0)
		return ret;
	if (d->app.state != APP_PENDING)
		return CF_ECONFLICT;
	if (d->reason)
		return reject_txn(d, txn);
	return approve_txn(d->c, txn, d->who, &d->app, d->decided_by, d->remote);
}

/* The operator's name for an admin actor (issue 10), else the id out of an actor "<kind>:<id>",
 * else the actor itself ("policy", "system"). */
static void decider(const struct core_who *who, char out[STORE_OPERATOR_NAME_LEN])
{
	const char *a = who && who->actor ? who->actor : "system";
	const char *colon = strchr(a, ':');

	if (who && who->name && who->name[0])
		snprintf(out, STORE_OPERATOR_NAME_LEN, "%s", who->name);
	else
		snprintf(out, STORE_OPERATOR_NAME_LEN, "%s", colon ? colon + 1 : a);
}

static int profile_txn(store_txn *txn, void *ctx)
{
	struct decide_ctx *d = ctx;

	return store_application_get(txn, d->id, &d->app);
}

static int decide(struct core *c, const struct core_who *who, const char *id, const char *reason,
		  struct store_application *out)
{
	struct decide_ctx *d = calloc(1, sizeof(*d));
	struct core_remote_prep *remote = NULL;
	int ret;

	if (!d)
		return CF_ENOMEM;
	d->c = c;
	d->who = who;
	d->id = id;
	d->reason = reason;
	decider(who, d->decided_by);
	/* A remote application's key pair, PIN, PUK and first password are made (slow) before the
	 * transaction; a pending application's profile never changes. */
	ret = reason ? 0 : store_read(c->st, profile_txn, d);
	if (ret == 0 && !reason && core_profile_remote(d->app.profile) &&
	    d->app.state == APP_PENDING)
		ret = core_remote_prepare(c, &remote);
	d->remote = remote;
	if (ret == 0)
		ret = store_write(c->st, decide_txn, d);
	core_remote_prep_free(remote);
	if (ret == 0) {
		notify_kick(c->nt);
		cf_info("application %s %s", id, reason ? "rejected" : "approved");
		*out = d->app;
	}
	cf_zeroize(d, sizeof(*d));
	free(d);
	return ret;
}

int core_application_approve(struct core *c, const struct core_who *who, const char *id,
			     struct store_application *out)
{
	return decide(c, who, id, NULL, out);
}

int core_application_reject(struct core *c, const struct core_who *who, const char *id,
			    const char *reason, struct store_application *out)
{
	if (!reason || !reason[0])
		return CF_EMALFORMED;
	return decide(c, who, id, reason, out);
}

/* ---- reads ------------------------------------------------------------------------------ */

struct app_list_ctx {
	store_txn *txn;
	int state;
	const char *after;
	int (*cb)(const struct store_application *a, const struct store_subject *s, void *ctx);
	void *ctx;
	struct store_subject subj;
};

static int app_list_one(const struct store_application *a, void *ctx)
{
	struct app_list_ctx *l = ctx;
	int ret;

	if (l->state && a->state != l->state)
		return 0;
	ret = store_subject_get(l->txn, a->subject_id, &l->subj);
	if (ret != 0)
		return ret == CF_ENOTFOUND ? CF_EINTERNAL : ret;
	return l->cb(a, &l->subj, l->ctx);
}

static int app_list_txn(store_txn *txn, void *ctx)
{
	struct app_list_ctx *l = ctx;

	l->txn = txn;
	return store_application_list_after(txn, l->after, app_list_one, l);
}

int core_application_list(struct core *c, int state, const char *after,
			  int (*cb)(const struct store_application *a,
				    const struct store_subject *s, void *ctx),
			  void *ctx)
{
	struct app_list_ctx *l = calloc(1, sizeof(*l));
	int ret;

	if (!l)
		return CF_ENOMEM;
	l->state = state;
	l->after = after;
	l->cb = cb;
	l->ctx = ctx;
	ret = store_read(c->st, app_list_txn, l);
	cf_zeroize(l, sizeof(*l)); /* the last subject's verifiers */
	free(l);
	return ret;
}

struct app_get_ctx {
	const char *id;
	struct store_application app;
	struct store_subject subj;
};

static int app_get_txn(store_txn *txn, void *ctx)
{
	struct app_get_ctx *g = ctx;
	int ret = store_application_get(txn, g->id, &g->app);

	if (ret != 0)
		return ret;
	ret = store_subject_get(txn, g->app.subject_id, &g->subj);
	return ret == CF_ENOTFOUND ? CF_EINTERNAL : ret;
}

int core_application_get(struct core *c, const char *id, struct store_application *app,
			 struct store_subject *subj)
{
	struct app_get_ctx *g = calloc(1, sizeof(*g));
	int ret;

	if (!g)
		return CF_ENOMEM;
	g->id = id;
	ret = store_read(c->st, app_get_txn, g);
	if (ret == 0) {
		*app = g->app;
		*subj = g->subj;
	}
	cf_zeroize(g, sizeof(*g));
	free(g);
	return ret;
}
