/*
 * apply — POST /v1/apply (spec/protocol.md §14): a person asks for a credential. The slow parts
 * (the three answer verifiers and the envelope key, PBKDF2 each) run before the one write
 * transaction that finds or creates the subject, files the application, audits it and, when the
 * policy allows, approves it at once. The answers and the passphrase are wiped by the caller;
 * only their verifiers and the sealed key reach the store.
 *
 * The subject is found by its professional e-mail address. An application whose identity differs
 * from that subject's joins it for review and is never approved by policy; the answer is the same
 * in every case, so that an applicant learns nothing of other people's records.
 */
#include <ctype.h>
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

struct apply_ctx {
	struct core *c;
	const struct core_who *who;
	const struct core_apply_req *req;
	char email[STORE_EMAIL_LEN], alt_email[STORE_EMAIL_LEN];
	char subject_id[STORE_ID_LEN]; /* for a new subject */
	int auto_approve;
	int64_t now;
	struct store_subject subj;
	struct store_application base; /* filled but for subject_id, needs_review, state */
	struct store_application app;  /* what one run of the transaction made of it */
	int approved;
};

static int copy_lower(char *dst, size_t cap, const char *src)
{
	size_t i, n = src ? strlen(src) : 0;

	if (n == 0 || n >= cap)
		return CF_EMALFORMED;
	for (i = 0; i < n; i++)
		dst[i] = (char)tolower((unsigned char)src[i]);
	dst[n] = '\0';
	return 0;
}

static int copy_text(char *dst, size_t cap, const char *src)
{
	if (!src || strlen(src) >= cap)
		return CF_EMALFORMED;
	strcpy(dst, src);
	return 0;
}

/* 1 if profile is a word of the comma-separated list. */
static int in_list(const char *list, const char *profile)
{
	size_t n = strlen(profile);

	for (const char *p = list; p && *p;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		while (len && *p == ' ')
			p++, len--;
		while (len && p[len - 1] == ' ')
			len--;
		if (len == n && strncmp(p, profile, n) == 0)
			return 1;
		p = end ? end + 1 : NULL;
	}
	return 0;
}

static int new_subject(struct apply_ctx *a)
{
	const struct core_apply_req *r = a->req;
	struct store_subject *s = &a->subj;

	memset(s, 0, sizeof(*s));
	snprintf(s->id, sizeof(s->id), "%s", a->subject_id);
	if (copy_text(s->given_name, sizeof(s->given_name), r->given_name) != 0 ||
	    copy_text(s->surname, sizeof(s->surname), r->surname) != 0 ||
	    copy_text(s->unique_id, sizeof(s->unique_id), r->unique_id) != 0 ||
	    copy_text(s->mobile, sizeof(s->mobile), r->mobile) != 0)
		return CF_EMALFORMED;
	memcpy(s->email, a->email, sizeof(s->email));
	memcpy(s->alt_email, a->alt_email, sizeof(s->alt_email));
	s->state = SUBJECT_ACTIVE;
	s->created_at = a->now;
	return 0;
}

static int same_identity(const struct store_subject *s, const struct core_apply_req *r)
{
	return strcmp(s->given_name, r->given_name) == 0 && strcmp(s->surname, r->surname) == 0 &&
	       strcmp(s->unique_id, r->unique_id) == 0;
}

static int apply_txn(store_txn *txn, void *ctx)
{
	struct apply_ctx *a = ctx;
	struct store_application *app = &a->app;
	char object[64];
	int ret;

	/* store_write may run this again: start from the same application each time */
	*app = a->base;
	a->approved = 0;
	ret = store_subject_by_email(txn, a->email, &a->subj);
	if (ret == CF_ENOTFOUND) {
		ret = new_subject(a);
		if (ret == 0)
			ret = store_subject_put(txn, &a->subj);
		app->needs_review = 0;
	} else if (ret == 0) {
		/* An existing subject keeps its contact details: an application must not be able
		 * to redirect someone else's recovery messages. */
		app->needs_review = !same_identity(&a->subj, a->req);
	}
	if (ret != 0)
		return ret;
	snprintf(app->subject_id, sizeof(app->subject_id), "%s", a->subj.id);
	app->state = APP_PENDING;
	ret = store_application_put(txn, app);
	snprintf(object, sizeof(object), "application:%s", app->id);
	if (ret == 0)
		ret = core_audit(txn, a->who, "application.create", object, "ok",
				 app->needs_review ? "needs review" : NULL);
	if (ret != 0 || !a->auto_approve || app->needs_review)
		return ret;
	a->approved = 1;
	return core_application_approve_txn(a->c, txn, &(struct core_who){"policy", "", NULL}, app,
					    "policy");
}

/* The verifiers of the three answers under a new salt (slow). */
static int questions_make(struct core *c, const struct core_apply_req *r, struct store_questions *q)
{
	int ret = 0, i;

	if (cf_random(q->salt, sizeof(q->salt)) != 0)
		return CF_ECRYPTO;
	q->iterations = c->cfg.kdf_iterations;
	for (i = 0; i < STORE_QUESTIONS && ret == 0; i++) {
		ret = copy_text(q->text[i], sizeof(q->text[i]), r->questions[i]);
		if (ret == 0)
			ret = proof_answer_verifier(c->secret, sizeof(c->secret), r->answers[i],
						    q->salt, q->iterations, q->verifier[i]);
	}
	return ret;
}

int core_apply(struct core *c, const struct core_who *who, const struct core_apply_req *req,
	       struct store_application *out)
{
	struct apply_ctx *a = calloc(1, sizeof(*a));
	struct store_application *app;
	int ret = CF_EINTERNAL;

	if (!a)
		return CF_ENOMEM;
	app = &a->base;
	a->c = c;
	a->who = who;
	a->req = req;
	a->now = cf_now();
	a->auto_approve = in_list(c->cfg.auto_approve, req->profile);
	if (!core_profile_known(req->profile) ||
	    copy_lower(a->email, sizeof(a->email), req->email) ||
	    copy_lower(a->alt_email, sizeof(a->alt_email), req->alt_email) ||
	    strcmp(a->email, a->alt_email) == 0 ||
	    copy_text(app->consents, sizeof(app->consents), req->consents) != 0) {
		ret = CF_EMALFORMED;
		goto out;
	}
	snprintf(app->profile, sizeof(app->profile), "%s", req->profile);
	app->created_at = a->now;
	ret = core_random_id(app->id);
	if (ret == 0)
		ret = core_random_id(a->subject_id);
	if (ret == 0)
		ret = core_envelope_key_set(c, app->id, req->passphrase, app);
	if (ret == 0)
		ret = questions_make(c, req, &app->questions);
	if (ret == 0 && a->auto_approve && !c->nt)
		ret = CF_EINTERNAL;
	if (ret == 0)
		ret = store_write(c->st, apply_txn, a);
	if (ret != 0)
		goto out;
	if (a->approved)
		notify_kick(c->nt);
	cf_info("application %s filed (%s)%s", app->id, app->profile,
		a->approved ? ", approved by policy" : "");
	*out = a->app;
out:
	cf_zeroize(a, sizeof(*a));
	free(a);
	return ret;
}
