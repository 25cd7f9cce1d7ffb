/*
 * recovery — a lost credential recovered by e-mail (spec/protocol.md §17): a link token mailed to
 * both addresses of the subject, then the security questions (and an OTP when the subject has
 * one or the server asks for SMS codes), a choice among several credentials, and a new enrolment
 * code that replaces the old credential on activation.
 *
 * Nothing here may tell whether an address is known: core_recovery_request does the same work
 * either way. The token exists in clear only in the e-mails and in the caller's memory; the
 * database holds its HMAC as the challenge id. Every step commits one audit event, failures
 * included: a counted failure commits the count and the event, then returns the error
 * (activate.c does the same). The slow derivations (answer verifiers, the envelope key) run
 * outside transactions, after a read transaction gave their salts.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cf_clock.h"
#include "cf_crypto.h"
#include "cf_err.h"
#include "cf_log.h"
#include "cf_policy.h"
#include "core_internal.h"
#include "notify.h"
#include "proof.h"

#define DUMMY_MESSAGE 1024 /* about the size of a rendered recovery-link e-mail */
/* POST /v1/recovery takes at least this long, known address or not: the known one writes more
 * pages (challenge, two messages) before the same one fsync, which a clock could tell apart. */
#define REQUEST_FLOOR_NS (50 * 1000000LL)

/* Errors that are answers to commit (with their audit event), not failures to abort on. */
static int is_answer(int ret)
{
	switch (ret) {
	case CF_EBADTOKEN:
	case CF_EPROOFLOCKED:
	case CF_EBADOTP:
	case CF_EBADANSWERS:
	case CF_ERATELIMIT:
	case CF_ECONFLICT:
	case CF_ECHOICE:
		return 1;
	default:
		return 0;
	}
}

/* The pending, unexpired link challenge of link_id and its subject; CF_EBADTOKEN otherwise. */
static int token_subject(store_txn *txn, const char *link_id, int64_t now,
			 struct store_challenge *ch, struct store_subject *subj)
{
	int ret = store_challenge_get(txn, link_id, ch);

	if (ret == 0 && (ch->kind != CHAL_LINK || ch->state != CHAL_PENDING ||
			 now >= ch->expires_at || strcmp(ch->purpose, "recovery") != 0))
		ret = CF_EBADTOKEN;
	if (ret == 0)
		ret = store_subject_get(txn, ch->subject_id, subj);
	return ret == CF_ENOTFOUND ? CF_EBADTOKEN : ret;
}

/* CF_EPROOFLOCKED when the questions, or the OTP the recovery needs, are locked. */
static int locks(const struct core *c, const struct store_subject *subj)
{
	if (subj->question_attempts >= c->cfg.question_attempts)
		return CF_EPROOFLOCKED;
	if (core_otp_kind(c, subj) != CORE_OTP_NONE &&
	    subj->otp_failures >= c->cfg.otp_max_failures)
		return CF_EPROOFLOCKED;
	return subj->questions.iterations ? 0 : CF_ECONFLICT; /* no questions to ask */
}

static void object_of(const struct store_subject *subj, char *out, size_t cap)
{
	snprintf(out, cap, "subject:%s", subj->id[0] ? subj->id : "unknown");
}

/* ---- POST /v1/recovery ------------------------------------------------------------------ */

struct request_ctx {
	struct core *c;
	const struct core_who *who;
	const char *email, *server;
	char token[PROOF_TOKEN_CHARS + 1];
	char link_id[PROOF_TOKEN_ID_CHARS + 1];
	int64_t now;
	int known;
};

static int link_mail(struct request_ctx *r, store_txn *txn, const struct store_subject *subj)
{
	struct notify_var vars[3] = {
	    {"givenName", subj->given_name}, {"token", r->token}, {"server", r->server}};
	int ret = notify_queue(r->c->nt, txn, NOTIFY_EMAIL, subj->email, "recovery-link", vars, 3);

	if (ret == 0 && subj->alt_email[0])
		ret = notify_queue(r->c->nt, txn, NOTIFY_EMAIL, subj->alt_email, "recovery-link",
				   vars, 3);
	return ret;
}

int core_dummy_mail(const struct core *c, const char *token)
{
	uint8_t plain[DUMMY_MESSAGE], sealed[DUMMY_MESSAGE + 28];
	size_t len = 0, tlen = strlen(token);
	int ret = 0;

	memset(plain, 'x', sizeof(plain));
	memcpy(plain, token, tlen < sizeof(plain) ? tlen : sizeof(plain));
	for (int i = 0; i < 2 && ret == 0; i++)
		ret = core_seal(c, "message:0", plain, sizeof(plain), sealed, sizeof(sealed), &len);
	cf_zeroize(plain, sizeof(plain));
	cf_zeroize(sealed, sizeof(sealed));
	return ret;
}

static int request_txn(store_txn *txn, void *ctx)
{
	struct request_ctx *r = ctx;
	struct store_subject subj;
	struct store_challenge ch;
	char object[STORE_ID_LEN + 16];
	int ret;

	memset(&subj, 0, sizeof(subj));
	ret = store_subject_by_email(txn, r->email, &subj);
	if (ret != 0 && ret != CF_ENOTFOUND)
		return ret;
	r->known = ret == 0;
	object_of(&subj, object, sizeof(object));
	if (!r->known) {
		ret = core_dummy_mail(r->c, r->token);
	} else {
		memset(&ch, 0, sizeof(ch));
		snprintf(ch.id, sizeof(ch.id), "%s", r->link_id);
		ch.kind = CHAL_LINK;
		ch.state = CHAL_PENDING;
		snprintf(ch.subject_id, sizeof(ch.subject_id), "%s", subj.id);
		snprintf(ch.purpose, sizeof(ch.purpose), "recovery");
		ch.created_at = r->now;
		ch.expires_at = r->now + (int64_t)r->c->cfg.link_token_minutes * 60;
		ret = store_challenge_put(txn, &ch);
		if (ret == 0)
			ret = link_mail(r, txn, &subj);
	}
	cf_zeroize(&subj, sizeof(subj));
	if (ret == 0)
		ret = core_audit_result(txn, r->who, "recovery.request", object, 0, NULL);
	return ret;
}

int core_blind_write(struct core *c, int (*fn)(store_txn *txn, void *ctx), void *ctx)
{
	struct timespec until;
	int64_t ns;
	int ret;

	clock_gettime(CLOCK_MONOTONIC, &until);
	ret = store_write(c->st, fn, ctx);
	notify_kick(c->nt);
	ns = until.tv_nsec + REQUEST_FLOOR_NS;
	until.tv_sec += (time_t)(ns / 1000000000);
	until.tv_nsec = (long)(ns % 1000000000);
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) == EINTR)
		;
	return ret;
}

int core_recovery_request(struct core *c, const struct core_who *who, const char *email,
			  const char *server)
{
	struct request_ctx r;
	int ret;

	if (!c->nt)
		return CF_EINTERNAL;
	memset(&r, 0, sizeof(r));
	r.c = c;
	r.who = who;
	r.email = email;
	r.server = server;
	r.now = cf_now();
	/* drawn for known and unknown addresses alike */
	ret = proof_token_generate(c->secret, sizeof(c->secret), r.token, r.link_id);
	if (ret == 0)
		ret = core_blind_write(c, request_txn, &r);
	cf_zeroize(&r, sizeof(r));
	return ret;
}

/* ---- housekeeping ----------------------------------------------------------------------- */

int64_t core_challenge_cutoff(const struct core_config *cfg, int64_t now)
{
	int64_t link = (int64_t)cfg->link_token_minutes * 60;
	int64_t sms = 3600 + (int64_t)cfg->sms_otp_minutes * 60;

	return now - (link > sms ? link : sms);
}

static int purge_txn(store_txn *txn, void *ctx)
{
	const int64_t *t = ctx; /* challenge cutoff, now, outbox cutoff */
	int ret = store_challenge_purge(txn, t[0]);

	if (ret == 0)
		ret = store_rate_purge(txn, t[1]); /* rate windows that ended (§28) */
	if (ret == 0)
		ret = store_message_purge(txn, t[2], NULL); /* delivered mail (§28.4) */
	return ret ? ret : store_session_purge(txn, t[1]);  /* expired sessions are of no use */
}

static void purge_times(const struct core *c, int64_t t[3])
{
	t[1] = cf_now();
	t[2] = t[1] - (int64_t)c->cfg.outbox_keep_days * 86400;
	t[0] = core_challenge_cutoff(&c->cfg, t[1]);
}

int core_housekeeping(struct core *c)
{
	int64_t t[3];

	purge_times(c, t);
	return store_write(c->st, purge_txn, t);
}

struct turn_ctx {
	int64_t t[3], period;
	int ran;
};

static int purge_turn_txn(store_txn *txn, void *ctx)
{
	struct turn_ctx *p = ctx;
	int ret = store_job_turn(txn, "housekeeping", p->t[1], p->period, &p->ran);

	return ret || !p->ran ? ret : purge_txn(txn, p->t);
}

int core_housekeeping_turn(struct core *c, int64_t period, int *ran)
{
	struct turn_ctx p = {.period = period};
	int ret;

	if (!store_shared(c->st)) {
		ret = core_housekeeping(c);
		*ran = ret == 0;
		return ret;
	}
	purge_times(c, p.t);
	ret = store_write(c->st, purge_turn_txn, &p);
	if (ret == 0)
		*ran = p.ran;
	return ret;
}

/* ---- POST /v1/recovery/start and /v1/recovery/otp --------------------------------------- */

struct step_ctx;
/* What a step does once the token and the locks are checked; 0 or an answer to commit. */
typedef int (*step_fn)(struct step_ctx *s, store_txn *txn, const struct store_challenge *link,
		       const struct store_subject *subj);

struct step_ctx {
	struct core *c;
	const struct core_who *who;
	const char *action; /* of the audit event */
	step_fn fn;
	char link_id[PROOF_TOKEN_ID_CHARS + 1];
	int64_t now;
	struct core_sms sms; /* recovery/otp */
	int64_t retry_at;
	struct core_recovery_info *info; /* recovery/start */
	int result;
};

static int choose(store_txn *txn, const char *subject_id, const char *wanted,
		  struct core_recovery_result *out, struct store_credential *cred);

static int start_step(struct step_ctx *s, store_txn *txn, const struct store_challenge *link,
		      const struct store_subject *subj)
{
	struct core_recovery_result *list = calloc(1, sizeof(*list));
	struct store_credential cred;
	int ret;

	(void)link;
	if (!list)
		return CF_ENOMEM;
	for (int i = 0; i < STORE_QUESTIONS; i++)
		snprintf(s->info->questions[i], sizeof(s->info->questions[i]), "%s",
			 subj->questions.text[i]);
	s->info->otp = core_otp_kind(s->c, subj);
	/* the candidates, shown before the questions are answered (none: complete says so) */
	ret = choose(txn, subj->id, NULL, list, &cred);
	if (ret == 0 || ret == CF_ECHOICE || ret == CF_ECONFLICT) {
		s->info->ncredentials = list->nchoices;
		memcpy(s->info->credentials, list->choices, sizeof(list->choices));
		ret = 0;
	}
	free(list);
	return ret;
}

static int otp_step(struct step_ctx *s, store_txn *txn, const struct store_challenge *link,
		    const struct store_subject *subj)
{
	if (core_otp_kind(s->c, subj) != CORE_OTP_SMS)
		return CF_ECONFLICT;
	return core_sms_send(s->c, txn, subj, link->id, &s->sms, s->now, &s->retry_at);
}

static int step_txn(store_txn *txn, void *ctx)
{
	struct step_ctx *s = ctx;
	struct store_challenge link;
	struct store_subject subj;
	char object[STORE_ID_LEN + 16];

	memset(&subj, 0, sizeof(subj));
	s->result = token_subject(txn, s->link_id, s->now, &link, &subj);
	if (s->result == 0)
		s->result = locks(s->c, &subj);
	if (s->result == 0)
		s->result = s->fn(s, txn, &link, &subj);
	object_of(&subj, object, sizeof(object));
	cf_zeroize(&subj, sizeof(subj));
	if (s->result != 0 && !is_answer(s->result))
		return s->result;
	return core_audit_result(txn, s->who, s->action, object, s->result, NULL);
}

/* Run a step on the token: malformed tokens are unknown tokens, and are not audited. */
static int step_run(struct core *c, const struct core_who *who, const char *token,
		    const char *action, step_fn fn, struct step_ctx *s)
{
	int ret;

	s->c = c;
	s->who = who;
	s->action = action;
	s->fn = fn;
	s->now = cf_now();
	ret = proof_token_id(c->secret, sizeof(c->secret), token, s->link_id);
	if (ret == 0)
		ret = store_write(c->st, step_txn, s);
	return ret == 0 ? s->result : ret;
}

int core_recovery_start(struct core *c, const struct core_who *who, const char *token,
			struct core_recovery_info *out)
{
	struct core_recovery_info info;
	struct step_ctx s;
	int ret;

	memset(&s, 0, sizeof(s));
	memset(&info, 0, sizeof(info));
	s.info = &info;
	ret = step_run(c, who, token, "recovery.start", start_step, &s);
	if (ret == 0)
		*out = info;
	return ret;
}

int core_recovery_send_otp(struct core *c, const struct core_who *who, const char *token,
			   int64_t *retry_at)
{
	struct step_ctx s;
	int ret;

	if (!c->nt)
		return CF_EINTERNAL;
	memset(&s, 0, sizeof(s));
	ret = core_sms_new(c, &s.sms);
	if (ret == 0)
		ret = step_run(c, who, token, "recovery.otp", otp_step, &s);
	if (ret == CF_ERATELIMIT)
		*retry_at = s.retry_at;
	if (ret == 0)
		notify_kick(c->nt);
	cf_zeroize(&s, sizeof(s));
	return ret;
}

/* ---- POST /v1/recovery/complete --------------------------------------------------------- */

struct complete_ctx {
	struct core *c;
	const struct core_who *who;
	const struct core_recovery_req *req;
	struct core_recovery_result *out;
	char link_id[PROOF_TOKEN_ID_CHARS + 1];
	int64_t now;
	/* read transaction: what the slow derivations need */
	struct store_questions q;  /* the subject's questions as read (salt, iterations, texts) */
	char app_id[STORE_ID_LEN]; /* application of the credential to recover, "" if not known */
	/* outside transactions */
	uint8_t derived[STORE_QUESTIONS][32];
	int derived_ok;
	struct store_application env; /* the new envelope key (envelope_* members only) */
	/* write transaction */
	struct store_challenge link;
	struct store_subject subj;
	struct store_credential cred;
	struct store_application app;
	int result;
};

struct choose_ctx {
	store_txn *txn;
	const char *wanted; /* NULL if none */
	struct core_recovery_result *out;
	struct store_credential found;
	size_t n;
	int hit;
};

static int choose_cb(const struct store_credential *cr, void *ctx)
{
	struct choose_ctx *ch = ctx;
	struct store_cert cert;
	size_t i = ch->out->nchoices;

	if (cr->status != CRED_ACTIVE && cr->status != CRED_SUSPENDED)
		return 0;
	if (ch->n++ == 0 || (ch->wanted && strcmp(cr->id, ch->wanted) == 0)) {
		ch->found = *cr;
		ch->hit = ch->wanted && strcmp(cr->id, ch->wanted) == 0;
	}
	if (i == CORE_RECOVERY_CHOICES)
		return 0;
	snprintf(ch->out->choices[i].id, sizeof(ch->out->choices[i].id), "%s", cr->id);
	snprintf(ch->out->choices[i].profile, sizeof(ch->out->choices[i].profile), "%s",
		 cr->profile);
	snprintf(ch->out->choices[i].subject, sizeof(ch->out->choices[i].subject), "%s",
		 cr->subject);
	ch->out->choices[i].not_after =
	    store_cert_get(ch->txn, cr->current_serial, &cert) == 0 ? cert.not_after : 0;
	ch->out->nchoices++;
	return 0;
}

/* The credential to recover: the one named (it must be the subject's), or the only one.
 * CF_ECHOICE with out->choices, CF_ECONFLICT when there is none. */
static int choose(store_txn *txn, const char *subject_id, const char *wanted,
		  struct core_recovery_result *out, struct store_credential *cred)
{
	struct choose_ctx ch = {.txn = txn, .wanted = wanted, .out = out};
	int ret;

	out->nchoices = 0;
	ret = store_credential_list_by_subject(txn, subject_id, choose_cb, &ch);
	if (ret != 0)
		return ret;
	if (ch.n == 0)
		return CF_ECONFLICT;
	if (!ch.hit && (ch.n > 1 || wanted))
		return CF_ECHOICE;
	*cred = ch.found;
	return 0;
}

static int precheck_txn(store_txn *txn, void *ctx)
{
	struct complete_ctx *p = ctx;
	struct store_credential cred;
	int ret;

	p->app_id[0] = '\0';
	ret = token_subject(txn, p->link_id, p->now, &p->link, &p->subj);
	if (ret == 0)
		ret = locks(p->c, &p->subj);
	if (ret != 0)
		return is_answer(ret) ? 0 : ret; /* the write transaction commits the answer */
	p->q = p->subj.questions;
	if (choose(txn, p->subj.id, p->req->credential, p->out, &cred) == 0)
		snprintf(p->app_id, sizeof(p->app_id), "%s", cred.application_id);
	return 0;
}

/* Commit the answer res of this step: its audit event (and whatever the caller put). */
static int complete_end(struct complete_ctx *p, store_txn *txn, const char *action, int res)
{
	char object[STORE_ID_LEN + 16];

	p->result = res;
	if (res == 0)
		snprintf(object, sizeof(object), "credential:%s", p->cred.id);
	else
		object_of(&p->subj, object, sizeof(object));
	return core_audit_result(txn, p->who, action, object, res, NULL);
}

/* The OTP step: 0 to go on; otherwise the answer is committed (*done set). */
static int complete_otp(struct complete_ctx *p, store_txn *txn, struct core_otp_use *use, int *done)
{
	int kind = core_otp_kind(p->c, &p->subj), res, ret;

	memset(use, 0, sizeof(*use));
	*done = 0;
	if (kind == CORE_OTP_NONE)
		return 0;
	*done = 1;
	p->out->attempts_left = core_otp_left(p->c, &p->subj);
	if (!p->req->otp) /* nothing typed: nothing to count */
		return complete_end(p, txn, "recovery.complete", CF_EBADOTP);
	res = core_otp_verify(p->c, txn, &p->subj, kind, p->link.id, p->req->otp, p->now, use);
	if (res == 0) {
		*done = 0;
		return 0;
	}
	if (res != CF_EBADOTP && res != CF_EPROOFLOCKED)
		return res;
	p->out->attempts_left = core_otp_left(p->c, &p->subj);
	ret = store_subject_put(txn, &p->subj);
	return ret ? ret : complete_end(p, txn, "otp.fail", res);
}

/* 1 if the subject's questions are the ones whose salt the verifiers were derived with. */
static int questions_same(const struct store_questions *a, const struct store_questions *b)
{
	return a->iterations == b->iterations && memcmp(a->salt, b->salt, sizeof(a->salt)) == 0 &&
	       memcmp(a->text, b->text, sizeof(a->text)) == 0;
}

/* The answers step: 0 to go on; otherwise the answer is committed (*done set). A wrong attempt
 * does not use up an SMS code (a new one costs the person a wait and an SMS: §17); a TOTP code's
 * time step is used, as every accepted TOTP step is used once (§19). */
static int complete_answers(struct complete_ctx *p, store_txn *txn, const struct core_otp_use *use,
			    int *done)
{
	int right, res, ret;

	*done = 0;
	if (!p->derived_ok || !questions_same(&p->q, &p->subj.questions))
		return CF_ECONFLICT; /* changed under us: nothing committed, the client retries */
	right = proof_answers_right(p->derived, &p->subj.questions);
	if (right >= p->c->cfg.questions_required)
		return 0;
	*done = 1;
	res = proof_count_locked(&p->subj.question_attempts, p->c->cfg.question_attempts,
				 CF_EBADANSWERS);
	p->out->attempts_left = p->c->cfg.question_attempts - p->subj.question_attempts;
	if (p->out->attempts_left < 0)
		p->out->attempts_left = 0;
	ret = core_otp_kind(p->c, &p->subj) == CORE_OTP_TOTP ? core_otp_consume(txn, &p->subj, use)
							     : 0;
	if (ret == 0)
		ret = store_subject_put(txn, &p->subj);
	return ret ? ret : complete_end(p, txn, "recovery.complete", res);
}

/* Every other pending link of the subject dies with the one that completed (§17): a batch of
 * them is gathered by the walk and marked used after it, since a put moves index entries. */
#define RETIRE_BATCH 16

struct retire_ctx {
	struct store_challenge found[RETIRE_BATCH];
	size_t n;
	int more;
};

static int retire_cb(const struct store_challenge *ch, void *ctx)
{
	struct retire_ctx *r = ctx;

	if (ch->kind != CHAL_LINK || ch->state != CHAL_PENDING ||
	    strcmp(ch->purpose, "recovery") != 0)
		return 0;
	if (r->n == RETIRE_BATCH)
		r->more = 1;
	else
		r->found[r->n++] = *ch;
	return 0;
}

static int retire_links(store_txn *txn, const char *subject_id)
{
	struct retire_ctx *r = calloc(1, sizeof(*r));
	int ret;

	if (!r)
		return CF_ENOMEM;
	do { /* each pass uses up to RETIRE_BATCH of them, so the passes end */
		r->n = 0;
		r->more = 0;
		ret = store_challenge_list_by_subject(txn, subject_id, retire_cb, r);
		for (size_t i = 0; ret == 0 && i < r->n; i++) {
			r->found[i].state = CHAL_USED;
			ret = store_challenge_put(txn, &r->found[i]);
		}
	} while (ret == 0 && r->more);
	cf_zeroize(r, sizeof(*r));
	free(r);
	return ret;
}

static int complete_txn(store_txn *txn, void *ctx)
{
	struct complete_ctx *p = ctx;
	struct core_otp_use use;
	int ret, done = 0;

	p->result = 0;
	memset(&p->subj, 0, sizeof(p->subj));
	ret = token_subject(txn, p->link_id, p->now, &p->link, &p->subj);
	if (ret == 0)
		ret = locks(p->c, &p->subj);
	if (ret != 0)
		return is_answer(ret) ? complete_end(p, txn, "recovery.complete", ret) : ret;
	ret = complete_otp(p, txn, &use, &done);
	if (ret != 0 || done)
		return ret;
	ret = complete_answers(p, txn, &use, &done);
	if (ret != 0 || done)
		return ret;
	/* the credential: a choice to make consumes and counts nothing */
	ret = choose(txn, p->subj.id, p->req->credential, p->out, &p->cred);
	if (ret == CF_ECHOICE || ret == CF_ECONFLICT)
		return complete_end(p, txn, "recovery.complete", ret);
	if (ret != 0)
		return ret;
	ret = store_application_get(txn, p->cred.application_id, &p->app);
	if (ret == CF_ENOTFOUND || (ret == 0 && (!p->app_id[0] || strcmp(p->app.id, p->app_id))))
		return CF_ECONFLICT; /* changed since the read, or not from an application */
	if (ret != 0)
		return ret;
	memcpy(p->app.envelope_key, p->env.envelope_key, sizeof(p->app.envelope_key));
	p->app.envelope_key_len = p->env.envelope_key_len;
	memcpy(p->app.envelope_salt, p->env.envelope_salt, sizeof(p->app.envelope_salt));
	p->app.envelope_iterations = p->env.envelope_iterations;
	ret = core_application_new_code(p->c, txn, &p->app, &p->subj, p->cred.id);
	p->link.state = CHAL_USED;
	if (ret == 0)
		ret = store_challenge_put(txn, &p->link);
	if (ret == 0)
		ret = retire_links(txn, p->subj.id);
	if (ret == 0)
		ret = core_otp_consume(txn, &p->subj, &use);
	p->subj.question_attempts = 0; /* a successful attempt resets the count (§15) */
	if (ret == 0)
		ret = store_subject_put(txn, &p->subj);
	return ret ? ret : complete_end(p, txn, "recovery.complete", 0);
}

/* The slow part, outside transactions: the verifiers of the answers under the salt read, and
 * the new envelope key when the credential (so its application) is known already. */
static int complete_derive(struct complete_ctx *p)
{
	int ret = 0;

	if (!p->q.iterations)
		return 0; /* the token or a lock answers first */
	for (int i = 0; i < STORE_QUESTIONS && ret == 0; i++)
		ret = proof_answer_verifier(p->c->secret, sizeof(p->c->secret), p->req->answers[i],
					    p->q.salt, p->q.iterations, p->derived[i]);
	p->derived_ok = ret == 0;
	if (ret == 0 && p->app_id[0])
		ret = core_envelope_key_set(p->c, p->app_id, p->req->passphrase, &p->env);
	return ret;
}

int core_recovery_complete(struct core *c, const struct core_who *who,
			   const struct core_recovery_req *req, struct core_recovery_result *out)
{
	struct complete_ctx *p;
	const char *why = NULL;
	int ret;

	if (!c->nt)
		return CF_EINTERNAL;
	if (!req->passphrase || cf_password_check(req->passphrase, &why) != 0)
		return CF_EWEAKPASSWORD;
	p = calloc(1, sizeof(*p));
	if (!p)
		return CF_ENOMEM;
	p->c = c;
	p->who = who;
	p->req = req;
	p->out = out;
	p->now = cf_now();
	out->attempts_left = -1;
	out->nchoices = 0;
	out->credential_id[0] = '\0';
	ret = proof_token_id(c->secret, sizeof(c->secret), req->token, p->link_id);
	if (ret == 0)
		ret = store_read(c->st, precheck_txn, p);
	if (ret == 0)
		ret = complete_derive(p);
	if (ret == 0)
		ret = store_write(c->st, complete_txn, p);
	if (ret == 0)
		ret = p->result;
	if (ret == 0) {
		snprintf(out->credential_id, sizeof(out->credential_id), "%s", p->cred.id);
		notify_kick(c->nt);
		cf_info("recovery of credential %s: new enrolment code %s mailed", p->cred.id,
			p->app.reference);
	} else if (ret == CF_EBADOTP || ret == CF_EBADANSWERS || ret == CF_EPROOFLOCKED) {
		cf_info("recovery for subject %s: %s", p->subj.id, cf_err_problem(ret));
	}
	cf_zeroize(p, sizeof(*p));
	free(p);
	return ret;
}
