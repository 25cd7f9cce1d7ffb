/*
 * login — the holder portal's logins and sessions (spec/protocol.md §23): user id + password
 * into a short-lived bearer session, failed logins counted and locked, the forced change of a
 * first password, logout, the portal's SMS codes, and "forgot password" (an e-mailed link token,
 * then an OTP and a new password).
 *
 * Nothing here may tell whether a user id or an address is known: an unknown user id costs the
 * same PBKDF2 as a known one and gets the same answer; a forgotten password for an unknown
 * address gets the same work and timing as core_recovery_request gives. Passwords are stored only
 * as verifiers, tokens only as their HMAC ids (core_token_id); neither reaches a log or the audit
 * trail, whose object is "login:<user id>" ("login:unknown" for a user id that names nobody:
 * people type passwords into the wrong field). Counted failures commit with their audit event.
 */
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

#define TOKEN_CHARS 43 /* base64url of 32 octets */

/* ---- verifiers ------------------------------------------------------------------------- */

/* PBKDF2-HMAC-SHA-256 of HMAC-SHA-256(server key, "login:" password): a copy of the database
 * alone does not let anyone test guesses offline. */
static int verifier(const struct core *c, const char *password, const uint8_t salt[16],
		    uint32_t iterations, uint8_t out[32])
{
	size_t len = strlen(password);
	char *msg = malloc(len + 7);
	uint8_t pep[32];
	int ret;

	if (!msg)
		return CF_ENOMEM;
	memcpy(msg, "login:", 6);
	memcpy(msg + 6, password, len + 1);
	ret = cf_hmac_sha256(c->secret, sizeof(c->secret), msg, len + 6, pep);
	if (ret == 0)
		ret = cf_pbkdf2_sha256(pep, sizeof(pep), salt, 16, iterations, out, 32);
	cf_zeroize(pep, sizeof(pep));
	cf_zeroize(msg, len + 6);
	free(msg);
	return ret == CF_EUSAGE ? CF_EINTERNAL : ret;
}

int core_login_password_set(const struct core *c, const char *password, struct store_login *l)
{
	uint8_t salt[16], v[32];
	int ret = cf_random(salt, sizeof(salt)) == 0 ? 0 : CF_ECRYPTO;

	if (ret == 0)
		ret = verifier(c, password, salt, c->cfg.kdf_iterations, v);
	if (ret == 0) {
		memcpy(l->salt, salt, sizeof(salt));
		memcpy(l->verifier, v, sizeof(v));
		l->iterations = c->cfg.kdf_iterations;
	}
	cf_zeroize(v, sizeof(v));
	return ret;
}

/* What a read transaction found of a login, for a derivation outside it. */
struct login_salt {
	const char *user_id;
	int known;
	uint8_t salt[16];
	uint32_t iterations;
};

static int salt_txn(store_txn *txn, void *ctx)
{
	struct login_salt *ls = ctx;
	struct store_login l;
	int ret = store_login_get(txn, ls->user_id, &l);

	ls->known = ret == 0;
	if (ret != 0)
		return ret == CF_ENOTFOUND ? 0 : ret;
	memcpy(ls->salt, l.salt, sizeof(ls->salt));
	ls->iterations = l.iterations;
	cf_zeroize(&l, sizeof(l));
	return 0;
}

/* The verifier of password for user_id's login as stored now (salt and iterations into ls);
 * for an unknown user id the same work with a salt of its own. */
static int derive_for(struct core *c, struct login_salt *ls, const char *password, uint8_t v[32])
{
	int ret = store_read(c->st, salt_txn, ls);

	if (ret != 0)
		return ret;
	if (!ls->known) {
		ls->iterations = c->cfg.kdf_iterations;
		ret = cf_hmac_sha256(c->secret, sizeof(c->secret), ls->user_id, strlen(ls->user_id),
				     v);
		memcpy(ls->salt, v, sizeof(ls->salt));
		if (ret != 0)
			return ret;
	}
	return verifier(c, password, ls->salt, ls->iterations, v);
}

static int same_salt(const struct login_salt *ls, const struct store_login *l)
{
	return ls->iterations == l->iterations && memcmp(ls->salt, l->salt, sizeof(l->salt)) == 0;
}

static void login_object(const char *user_id, char *out, size_t cap)
{
	snprintf(out, cap, "login:%s", user_id && user_id[0] ? user_id : "unknown");
}

static int locked(const struct core *c, const struct store_login *l)
{
	return l->failures >= c->cfg.login_max_failures;
}

/* ---- sessions -------------------------------------------------------------------------- */

static int token_shape_ok(const char *t)
{
	size_t n = 0;

	for (; t[n]; n++)
		if (!((t[n] >= 'A' && t[n] <= 'Z') || (t[n] >= 'a' && t[n] <= 'z') ||
		      (t[n] >= '0' && t[n] <= '9') || t[n] == '-' || t[n] == '_'))
			return 0;
	return n == TOKEN_CHARS;
}

/* The record of a presented token of kind: CF_EBADTOKEN unless it is live and unexpired. */
static int token_record(struct core *c, store_txn *txn, const char *id, int kind, int64_t now,
			struct store_session *out)
{
	int ret = store_session_get(txn, id, out);

	if (ret == 0 && (out->kind != kind || out->state != SESS_LIVE || now >= out->expires_at))
		ret = CF_EBADTOKEN;
	(void)c;
	return ret == CF_ENOTFOUND ? CF_EBADTOKEN : ret;
}

struct check_ctx {
	struct core *c;
	char id[STORE_TOKEN_ID_LEN];
	int64_t now;
	struct store_session s;
};

static int check_txn(store_txn *txn, void *ctx)
{
	struct check_ctx *k = ctx;

	return token_record(k->c, txn, k->id, SESS_PORTAL, k->now, &k->s);
}

int core_session_check(struct core *c, const char *token, int allow_restricted,
		       struct core_session *out)
{
	struct check_ctx k;
	int ret;

	if (!token || !token_shape_ok(token))
		return CF_ESESSION;
	memset(&k, 0, sizeof(k));
	k.c = c;
	k.now = cf_now();
	ret = core_token_id(c, token, k.id);
	if (ret == 0)
		ret = store_read(c->st, check_txn, &k);
	if (ret == CF_EBADTOKEN)
		return CF_ESESSION;
	if (ret != 0)
		return ret;
	if (k.s.restricted && !allow_restricted)
		return CF_EPWCHANGE;
	memset(out, 0, sizeof(*out));
	snprintf(out->id, sizeof(out->id), "%s", k.s.id);
	snprintf(out->subject_id, sizeof(out->subject_id), "%s", k.s.subject_id);
	snprintf(out->user_id, sizeof(out->user_id), "%s", k.s.user_id);
	out->restricted = k.s.restricted;
	out->expires_at = k.s.expires_at;
	return 0;
}

int core_session_open_txn(struct core *c, store_txn *txn, const char *subject_id,
			  const char *user_id, int restricted, int64_t now,
			  char token[CORE_TOKEN_LEN], struct core_session *out)
{
	struct store_session s;
	int ret;

	memset(&s, 0, sizeof(s));
	ret = core_token_new(c, token, s.id);
	if (ret != 0)
		return ret;
	s.kind = SESS_PORTAL;
	s.state = SESS_LIVE;
	snprintf(s.subject_id, sizeof(s.subject_id), "%s", subject_id);
	snprintf(s.user_id, sizeof(s.user_id), "%s", user_id);
	s.restricted = restricted ? 1 : 0;
	s.created_at = now;
	s.expires_at = now + (int64_t)c->cfg.session_minutes * 60;
	ret = store_session_put(txn, &s);
	if (ret != 0)
		return ret;
	memset(out, 0, sizeof(*out));
	snprintf(out->id, sizeof(out->id), "%s", s.id);
	snprintf(out->subject_id, sizeof(out->subject_id), "%s", subject_id);
	snprintf(out->user_id, sizeof(out->user_id), "%s", user_id);
	out->restricted = s.restricted;
	out->expires_at = s.expires_at;
	return 0;
}

/* End the portal sessions of subject_id, except keep (may be NULL). */
struct end_ctx {
	const char *keep;
	size_t n, cap;
	char (*ids)[STORE_TOKEN_ID_LEN];
};

static int end_cb(const struct store_session *s, void *ctx)
{
	struct end_ctx *e = ctx;
	void *p;

	if (s->kind != SESS_PORTAL || (e->keep && strcmp(s->id, e->keep) == 0))
		return 0;
	if (e->n == e->cap) {
		p = realloc(e->ids, (e->cap ? e->cap * 2 : 8) * sizeof(*e->ids));
		if (!p)
			return CF_ENOMEM;
		e->ids = p;
		e->cap = e->cap ? e->cap * 2 : 8;
	}
	snprintf(e->ids[e->n++], STORE_TOKEN_ID_LEN, "%s", s->id);
	return 0;
}

static int end_sessions(store_txn *txn, const char *subject_id, const char *keep)
{
	struct end_ctx e = {.keep = keep};
	int ret = store_session_list_by_subject(txn, subject_id, end_cb, &e);

	for (size_t i = 0; i < e.n && ret == 0; i++)
		ret = store_session_delete(txn, e.ids[i]);
	free(e.ids);
	return ret;
}

/* ---- POST /v1/login -------------------------------------------------------------------- */

struct login_ctx {
	struct core *c;
	const struct core_who *who;
	struct login_salt ls;
	uint8_t v[32];
	int64_t now;
	struct core_login_result *out;
	struct store_login l;
	int result;
};

static int notice_cb(const struct store_credential *cr, void *ctx)
{
	struct core_login_result *out = ctx;

	if (!cr->update_by || cr->status == CRED_REVOKED || out->nnotices == CORE_LOGIN_NOTICES)
		return 0;
	snprintf(out->notices[out->nnotices].credential_id, STORE_ID_LEN, "%s", cr->id);
	out->notices[out->nnotices].update_by = cr->update_by;
	snprintf(out->notices[out->nnotices].note, sizeof(out->notices[0].note), "%s",
		 cr->update_note);
	out->nnotices++;
	return 0;
}

int core_login_notices_txn(store_txn *txn, const char *subject_id, struct core_login_result *r)
{
	r->nnotices = 0;
	return store_credential_list_by_subject(txn, subject_id, notice_cb, r);
}

/* A user id that names nobody counts its failures and locks like a login (§28): same answer,
 * same members, same commit. */
static int unknown_login(struct login_ctx *g, store_txn *txn)
{
	int max = g->c->cfg.login_max_failures, failures = 0;
	int ret =
	    core_ghost_failures_txn(g->c, txn, "login", g->ls.user_id, 0, max, g->now, &failures);

	if (ret != 0)
		return ret;
	if (failures >= max) {
		g->result = CF_EPROOFLOCKED; /* nothing counted */
		return 0;
	}
	g->result = proof_count_locked(&failures, max, CF_EBADLOGIN);
	return core_ghost_failures_txn(g->c, txn, "login", g->ls.user_id, 1, max, g->now,
				       &failures);
}

static int login_txn(store_txn *txn, void *ctx)
{
	struct login_ctx *g = ctx;
	char object[STORE_USER_ID_LEN + 16];
	int ret = store_login_get(txn, g->ls.user_id, &g->l), found = ret == 0, was_locked = 0;

	g->out->nnotices = 0;
	if (ret != 0 && ret != CF_ENOTFOUND)
		return ret;
	login_object(found ? g->l.user_id : NULL, object, sizeof(object));
	if (!found && g->ls.known)
		return CF_ECONFLICT; /* removed since the read */
	if (!found)
		ret = unknown_login(g, txn);
	else if (!same_salt(&g->ls, &g->l))
		return CF_ECONFLICT; /* the password changed since the read: derive again */
	else if ((was_locked = locked(g->c, &g->l)))
		g->result = CF_EPROOFLOCKED; /* nothing counted */
	else if (!cf_ct_equal(g->v, g->l.verifier, sizeof(g->v)))
		g->result =
		    proof_count_locked(&g->l.failures, g->c->cfg.login_max_failures, CF_EBADLOGIN);
	else
		g->result = 0;
	if (ret != 0)
		return ret;
	if (g->result == 0) {
		g->l.failures = 0;
		g->l.last_login_at = g->now;
		ret = core_session_open_txn(g->c, txn, g->l.subject_id, g->l.user_id,
					    g->l.must_change, g->now, g->out->token,
					    &g->out->session);
		if (ret == 0)
			ret = core_login_notices_txn(txn, g->l.subject_id, g->out);
		if (ret != 0)
			return ret;
		g->out->must_change = g->l.must_change;
	}
	if (found && !was_locked) {
		ret = store_login_put(txn, &g->l);
		if (ret != 0)
			return ret;
	}
	return core_audit_result(txn, g->who, "login", object, g->result, NULL);
}

int core_login(struct core *c, const struct core_who *who, const char *user_id,
	       const char *password, struct core_login_result *out)
{
	struct login_ctx *g = calloc(1, sizeof(*g));
	struct core_login_result *res = calloc(1, sizeof(*res));
	int ret = g && res ? 0 : CF_ENOMEM;

	for (int tries = 0; ret == 0 && tries < 2; tries++) {
		g->c = c;
		g->who = who;
		g->out = res;
		g->ls.user_id = user_id;
		ret = derive_for(c, &g->ls, password, g->v);
		g->now = cf_now();
		if (ret == 0)
			ret = store_write(c->st, login_txn, g);
		if (ret != CF_ECONFLICT)
			break;
		ret = 0;
	}
	if (ret == 0)
		ret = g->result;
	if (ret == 0) {
		*out = *res;
		cf_info("login %s: session opened%s", g->l.user_id,
			res->must_change ? " (password change required)" : "");
	} else if (ret == CF_EBADLOGIN || ret == CF_EPROOFLOCKED) {
		cf_info("login refused: %s", cf_err_problem(ret));
	}
	if (g)
		cf_zeroize(g, sizeof(*g));
	if (res)
		cf_zeroize(res, sizeof(*res));
	free(g);
	free(res);
	return ret;
}

/* ---- POST /v1/portal/password ---------------------------------------------------------- */

struct password_ctx {
	struct core *c;
	const struct core_who *who;
	const struct core_session *s;
	struct login_salt ls;
	uint8_t v[32];		 /* of the current password */
	struct store_login next; /* the new verifier, salt, iterations */
	int64_t now;
	int result;
};

static int password_txn(store_txn *txn, void *ctx)
{
	struct password_ctx *p = ctx;
	struct store_login l;
	struct store_session sess;
	char object[STORE_USER_ID_LEN + 16];
	int ret = store_login_get(txn, p->s->user_id, &l), was_locked;

	if (ret != 0)
		return ret == CF_ENOTFOUND ? CF_ESESSION : ret;
	login_object(l.user_id, object, sizeof(object));
	ret = CF_ECONFLICT; /* the password changed since the derivation: derive again */
	if (!same_salt(&p->ls, &l))
		goto out;
	if ((was_locked = locked(p->c, &l)))
		p->result = CF_EPROOFLOCKED; /* nothing counted */
	else if (!cf_ct_equal(p->v, l.verifier, sizeof(p->v)))
		p->result =
		    proof_count_locked(&l.failures, p->c->cfg.login_max_failures, CF_EBADLOGIN);
	else
		p->result = 0;
	if (p->result == 0) {
		memcpy(l.verifier, p->next.verifier, sizeof(l.verifier));
		memcpy(l.salt, p->next.salt, sizeof(l.salt));
		l.iterations = p->next.iterations;
		l.must_change = 0;
		l.failures = 0;
		l.changed_at = p->now;
		/* this session goes on without its restriction; every other one ends */
		ret = store_session_get(txn, p->s->id, &sess);
		if (ret == 0) {
			sess.restricted = 0;
			ret = store_session_put(txn, &sess);
		}
		if (ret == 0)
			ret = end_sessions(txn, l.subject_id, p->s->id);
		if (ret != 0) {
			ret = ret == CF_ENOTFOUND ? CF_ESESSION : ret;
			goto out;
		}
	}
	ret = was_locked ? 0 : store_login_put(txn, &l);
	if (ret == 0)
		ret = core_audit_result(txn, p->who, "login.password", object, p->result, NULL);
out:
	cf_zeroize(&l, sizeof(l)); /* the verifiers, old and new */
	return ret;
}

int core_login_password(struct core *c, const struct core_who *who, const struct core_session *s,
			const char *password, const char *new_password)
{
	struct password_ctx *p;
	const char *why = NULL;
	int ret;

	if (cf_password_check(new_password, &why) != 0 || strcmp(password, new_password) == 0)
		return CF_EWEAKPASSWORD;
	p = calloc(1, sizeof(*p));
	if (!p)
		return CF_ENOMEM;
	p->c = c;
	p->who = who;
	p->s = s;
	p->ls.user_id = s->user_id;
	ret = core_login_password_set(c, new_password, &p->next);
	for (int tries = 0; ret == 0 && tries < 2; tries++) {
		ret = derive_for(c, &p->ls, password, p->v);
		if (ret == 0 && !p->ls.known)
			ret = CF_ESESSION;
		p->now = cf_now();
		if (ret == 0)
			ret = store_write(c->st, password_txn, p);
		if (ret != CF_ECONFLICT)
			break;
		ret = 0;
	}
	if (ret == 0)
		ret = p->result;
	if (ret == 0)
		cf_info("login %s: password changed", s->user_id);
	cf_zeroize(p, sizeof(*p));
	free(p);
	return ret;
}

/* ---- logout, unlock ---------------------------------------------------------------------- */

struct simple_ctx {
	const struct core_who *who;
	const struct core_session *s;
	const char *user_id;
	struct store_login l;
};

static int logout_txn(store_txn *txn, void *ctx)
{
	struct simple_ctx *x = ctx;
	char object[STORE_USER_ID_LEN + 16];
	int ret = store_session_delete(txn, x->s->id);

	if (ret != 0)
		return ret == CF_ENOTFOUND ? CF_ESESSION : ret;
	login_object(x->s->user_id, object, sizeof(object));
	return core_audit(txn, x->who, "session.logout", object, "ok", NULL);
}

int core_logout(struct core *c, const struct core_who *who, const struct core_session *s)
{
	struct simple_ctx x = {.who = who, .s = s};

	return store_write(c->st, logout_txn, &x);
}

static int unlock_txn(store_txn *txn, void *ctx)
{
	struct simple_ctx *x = ctx;
	char object[STORE_USER_ID_LEN + 16];
	int ret = store_login_get(txn, x->user_id, &x->l);

	if (ret != 0)
		return ret;
	x->l.failures = 0;
	ret = store_login_put(txn, &x->l);
	login_object(x->l.user_id, object, sizeof(object));
	return ret ? ret : core_audit(txn, x->who, "login.unlock", object, "ok", NULL);
}

int core_login_unlock(struct core *c, const struct core_who *who, const char *user_id,
		      struct store_login *out)
{
	struct simple_ctx x = {.who = who, .user_id = user_id};
	int ret = store_write(c->st, unlock_txn, &x);

	if (ret == 0) {
		cf_info("login %s unlocked", user_id);
		*out = x.l;
	}
	cf_zeroize(&x.l, sizeof(x.l));
	return ret;
}

/* ---- SMS codes of a session or a reset --------------------------------------------------- */

/* The OTP a login's subject uses (§23.5): TOTP once confirmed, else SMS (always: the portal
 * never goes without a second factor). */
static int portal_otp_kind(const struct store_subject *subj)
{
	return subj->totp_seed_len > 0 && subj->totp_confirmed ? CORE_OTP_TOTP : CORE_OTP_SMS;
}

struct sms_ctx {
	struct core *c;
	const struct core_who *who;
	const char *action;
	const char *parent;  /* the session or reset record the code belongs to */
	const char *user_id; /* for the audit object */
	const char *subject_id;
	char reset_id[STORE_TOKEN_ID_LEN]; /* reset: the token's id, resolved in the txn */
	struct core_sms sms;
	int64_t now, retry_at;
	int result;
};

static int sms_txn(store_txn *txn, void *ctx)
{
	struct sms_ctx *m = ctx;
	struct store_session rs;
	struct store_subject subj;
	char object[STORE_USER_ID_LEN + 16];
	const char *subject_id = m->subject_id, *user_id = m->user_id;
	int ret;

	m->result = 0;
	if (!subject_id) { /* a reset: the token names the subject */
		m->result = token_record(m->c, txn, m->reset_id, SESS_RESET, m->now, &rs);
		if (m->result != 0 && m->result != CF_EBADTOKEN)
			return m->result;
		subject_id = rs.subject_id;
		user_id = rs.user_id;
	}
	if (m->result == 0) {
		ret = store_subject_get(txn, subject_id, &subj);
		if (ret != 0)
			return ret == CF_ENOTFOUND ? CF_EBADTOKEN : ret;
		if (portal_otp_kind(&subj) != CORE_OTP_SMS)
			m->result = CF_ECONFLICT;
		else if (subj.otp_failures >= m->c->cfg.otp_max_failures)
			m->result = CF_EPROOFLOCKED;
		else
			m->result =
			    core_sms_send(m->c, txn, &subj, m->parent ? m->parent : m->reset_id,
					  &m->sms, m->now, &m->retry_at);
		cf_zeroize(&subj, sizeof(subj));
	}
	if (m->result != 0 && m->result != CF_EBADTOKEN && m->result != CF_ECONFLICT &&
	    m->result != CF_EPROOFLOCKED && m->result != CF_ERATELIMIT)
		return m->result;
	login_object(m->result == CF_EBADTOKEN ? NULL : user_id, object, sizeof(object));
	return core_audit_result(txn, m->who, m->action, object, m->result, NULL);
}

static int sms_run(struct core *c, struct sms_ctx *m, int64_t *retry_at)
{
	int ret;

	if (!c->nt)
		return CF_EINTERNAL;
	m->c = c;
	m->now = cf_now();
	ret = core_sms_new(c, &m->sms);
	if (ret == 0)
		ret = store_write(c->st, sms_txn, m);
	if (ret == 0)
		ret = m->result;
	if (ret == CF_ERATELIMIT)
		*retry_at = m->retry_at;
	if (ret == 0)
		notify_kick(c->nt);
	cf_zeroize(&m->sms, sizeof(m->sms));
	return ret;
}

int core_portal_otp(struct core *c, const struct core_who *who, const struct core_session *s,
		    int64_t *retry_at)
{
	struct sms_ctx m;

	memset(&m, 0, sizeof(m));
	m.who = who;
	m.action = "portal.otp";
	m.parent = s->id;
	m.user_id = s->user_id;
	m.subject_id = s->subject_id;
	return sms_run(c, &m, retry_at);
}

/* The id of a presented link token, CF_EBADTOKEN for one of the wrong shape. */
static int reset_id(const struct core *c, const char *token, char id[STORE_TOKEN_ID_LEN])
{
	if (!token || !token_shape_ok(token))
		return CF_EBADTOKEN;
	return core_token_id(c, token, id);
}

int core_password_reset_otp(struct core *c, const struct core_who *who, const char *token,
			    int64_t *retry_at)
{
	struct sms_ctx m;
	int ret;

	memset(&m, 0, sizeof(m));
	m.who = who;
	m.action = "login.reset.otp";
	ret = reset_id(c, token, m.reset_id);
	return ret ? ret : sms_run(c, &m, retry_at);
}

/* ---- POST /v1/password/forgot ------------------------------------------------------------ */

struct forgot_ctx {
	struct core *c;
	const struct core_who *who;
	const char *email, *server;
	char token[CORE_TOKEN_LEN];
	char id[STORE_TOKEN_ID_LEN];
	int64_t now;
};

static int forgot_mail(struct forgot_ctx *f, store_txn *txn, const struct store_subject *subj,
		       const struct store_login *l)
{
	struct notify_var vars[4] = {{"givenName", subj->given_name},
				     {"userId", l->user_id},
				     {"token", f->token},
				     {"server", f->server}};
	int ret = notify_queue(f->c->nt, txn, NOTIFY_EMAIL, subj->email, "password-link", vars, 4);

	if (ret == 0 && subj->alt_email[0])
		ret = notify_queue(f->c->nt, txn, NOTIFY_EMAIL, subj->alt_email, "password-link",
				   vars, 4);
	return ret;
}

static int forgot_txn(store_txn *txn, void *ctx)
{
	struct forgot_ctx *f = ctx;
	struct store_subject subj;
	struct store_login l;
	struct store_session s;
	char object[STORE_USER_ID_LEN + 16];
	int ret;

	memset(&subj, 0, sizeof(subj));
	memset(&l, 0, sizeof(l));
	ret = store_subject_by_email(txn, f->email, &subj);
	if (ret == 0)
		ret = store_login_by_subject(txn, subj.id, &l);
	if (ret != 0 && ret != CF_ENOTFOUND)
		return ret;
	login_object(ret == 0 ? l.user_id : NULL, object, sizeof(object));
	if (ret == CF_ENOTFOUND) {
		ret = core_dummy_mail(f->c, f->token);
	} else {
		memset(&s, 0, sizeof(s));
		snprintf(s.id, sizeof(s.id), "%s", f->id);
		s.kind = SESS_RESET;
		s.state = SESS_LIVE;
		snprintf(s.subject_id, sizeof(s.subject_id), "%s", subj.id);
		snprintf(s.user_id, sizeof(s.user_id), "%s", l.user_id);
		s.created_at = f->now;
		s.expires_at = f->now + (int64_t)f->c->cfg.link_token_minutes * 60;
		ret = store_session_put(txn, &s);
		if (ret == 0)
			ret = forgot_mail(f, txn, &subj, &l);
	}
	cf_zeroize(&subj, sizeof(subj));
	cf_zeroize(&l, sizeof(l));
	return ret ? ret : core_audit(txn, f->who, "login.reset.request", object, "ok", NULL);
}

int core_password_forgot(struct core *c, const struct core_who *who, const char *email,
			 const char *server)
{
	struct forgot_ctx f;
	int ret;

	if (!c->nt)
		return CF_EINTERNAL;
	memset(&f, 0, sizeof(f));
	f.c = c;
	f.who = who;
	f.email = email;
	f.server = server;
	f.now = cf_now();
	/* drawn for known and unknown addresses alike */
	ret = core_token_new(c, f.token, f.id);
	if (ret == 0)
		ret = core_blind_write(c, forgot_txn, &f);
	cf_zeroize(&f, sizeof(f));
	return ret;
}

/* ---- POST /v1/password/reset ------------------------------------------------------------- */

struct reset_ctx {
	struct core *c;
	const struct core_who *who;
	const char *otp;
	char id[STORE_TOKEN_ID_LEN];
	struct store_login next; /* the new verifier */
	int64_t now;
	int result, attempts_left;
	char user_id[STORE_USER_ID_LEN];
};

/* A right OTP: the new password, failures reset, the token used, every portal session ended. */
static int reset_apply(struct reset_ctx *r, store_txn *txn, struct store_session *rs,
		       struct store_subject *subj, const struct core_otp_use *use)
{
	struct store_login l;
	int ret = store_login_by_subject(txn, subj->id, &l);

	if (ret != 0)
		return ret == CF_ENOTFOUND ? CF_EBADTOKEN : ret;
	memcpy(l.verifier, r->next.verifier, sizeof(l.verifier));
	memcpy(l.salt, r->next.salt, sizeof(l.salt));
	l.iterations = r->next.iterations;
	l.must_change = 0;
	l.failures = 0;
	l.changed_at = r->now;
	ret = store_login_put(txn, &l);
	cf_zeroize(&l, sizeof(l));
	if (ret == 0)
		ret = store_session_delete(txn, rs->id);
	if (ret == 0)
		ret = end_sessions(txn, subj->id, NULL);
	if (ret == 0)
		ret = core_otp_consume(txn, subj, use);
	return ret;
}

static int reset_txn(store_txn *txn, void *ctx)
{
	struct reset_ctx *r = ctx;
	struct store_session rs;
	struct store_subject subj;
	struct core_otp_use use;
	char object[STORE_USER_ID_LEN + 16];
	const char *action = "login.reset";
	int ret, before = 0;

	r->attempts_left = -1;
	r->user_id[0] = '\0';
	memset(&subj, 0, sizeof(subj));
	r->result = token_record(r->c, txn, r->id, SESS_RESET, r->now, &rs);
	if (r->result == 0) {
		snprintf(r->user_id, sizeof(r->user_id), "%s", rs.user_id);
		ret = store_subject_get(txn, rs.subject_id, &subj);
		if (ret != 0)
			return ret == CF_ENOTFOUND ? CF_EBADTOKEN : ret;
		before = subj.otp_failures;
		r->result = core_otp_verify(r->c, txn, &subj, portal_otp_kind(&subj), rs.id, r->otp,
					    r->now, &use);
	}
	if (r->result == CF_EBADOTP || r->result == CF_EPROOFLOCKED) {
		r->attempts_left = core_otp_left(r->c, &subj);
		if (subj.otp_failures != before) /* counted */
			action = "otp.fail";
		ret = store_subject_put(txn, &subj);
	} else if (r->result == 0) {
		ret = reset_apply(r, txn, &rs, &subj, &use);
		if (ret == 0)
			ret = store_subject_put(txn, &subj);
	} else if (r->result == CF_EBADTOKEN) {
		ret = 0;
	} else {
		ret = r->result;
	}
	cf_zeroize(&subj, sizeof(subj));
	if (ret != 0)
		return ret;
	login_object(r->user_id, object, sizeof(object));
	return core_audit_result(txn, r->who, action, object, r->result, NULL);
}

int core_password_reset(struct core *c, const struct core_who *who, const char *token,
			const char *otp, const char *new_password, int *attempts_left)
{
	struct reset_ctx *r;
	const char *why = NULL;
	int ret;

	if (cf_password_check(new_password, &why) != 0)
		return CF_EWEAKPASSWORD;
	r = calloc(1, sizeof(*r));
	if (!r)
		return CF_ENOMEM;
	r->c = c;
	r->who = who;
	r->otp = otp;
	ret = reset_id(c, token, r->id);
	if (ret == 0)
		ret = core_login_password_set(c, new_password, &r->next);
	r->now = cf_now();
	if (ret == 0)
		ret = store_write(c->st, reset_txn, r);
	if (ret == 0)
		ret = r->result;
	if (ret == CF_EBADOTP || ret == CF_EPROOFLOCKED)
		*attempts_left = r->attempts_left;
	if (ret == 0)
		cf_info("login %s: password reset, sessions ended", r->user_id);
	cf_zeroize(r, sizeof(*r));
	free(r);
	return ret;
}
