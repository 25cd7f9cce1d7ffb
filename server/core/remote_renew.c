/*
 * remote_renew — a new key pair and certificate for a remote credential (spec/protocol.md §26):
 * the holder's renewal inside the window (with an entitlement), the operator's "update by" mark
 * and the holder's two-step update that replaces the certificate at once.
 *
 * Both journeys end in rekey_commit_txn: the custody record gets a new key sealed under the same
 * data key (custody_rekey_txn), a new PUK and the PIN kept or changed; the CA issues the new
 * certificate; the application gets a new envelope key, a new emergency code and the next
 * envelope (PUK, emergency code, number) in the outbox. The slow parts — PBKDF2 of the envelope
 * passphrase, of the new PUK and PIN, and the key generation — run outside any transaction; the
 * DK exists in clear only in this file's context, wiped before every return.
 *
 * Never: a PIN, PUK, OTP, coupon, ticket, passphrase or key in a log, an audit event or an error.
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

#define DAY 86400
#define REASON_SUPERSEDED 4
#define TOKEN_CHARS 43 /* a bearer token or ticket: base64url of 256 bits */

struct rekey_ctx {
	struct core *c;
	const struct core_who *who;
	const struct core_session *s;
	const struct core_rekey_req *req;
	struct core_rekey_req named; /* update/complete: req with the ticket's credential */
	struct core_rekey_result *out;
	const char *action; /* "remote.renew" or "remote.update" */
	int update;	    /* 1: the old certificate is revoked (superseded) */
	int64_t now;
	/* read before anything is unlocked */
	struct store_credential cr;
	char serial[STORE_SERIAL_LEN]; /* the current certificate when the journey started */
	uint8_t coupon_mac[32];
	int coupon; /* 1: coupon_mac is checked and consumed */
	char ticket_id[STORE_TOKEN_ID_LEN];
	/* outside transactions (secret) */
	struct store_application env; /* the new envelope key (envelope_* members only) */
	char puk[CUSTODY_PUK_MAX + 1];
	struct custody_kek puk_kek, pin_kek;
	struct custody_unlocked u;
	struct custody_rekey rk;
	cf_key *pub;
	/* write transaction */
	struct store_subject subj;
	struct store_application app;
	struct store_cert old;
	int result; /* a counted failure committed with its audit event */
};

static void rekey_free(struct rekey_ctx *r)
{
	custody_kek_wipe(&r->puk_kek);
	custody_kek_wipe(&r->pin_kek);
	custody_unlocked_wipe(&r->u);
	custody_rekey_wipe(&r->rk);
	cf_key_free(r->pub);
	cf_zeroize(r, sizeof(*r));
	free(r);
}

static void object_of(const char *credential_id, char *out, size_t cap)
{
	snprintf(out, cap, "credential:%s", credential_id);
}

/* ---- checks shared by the phases ----------------------------------------------------------- */

/* The session's remote credential in a state that may be re-keyed, its current certificate in
 * *cert. renewal: inside the window (CF_ENOTWINDOW, *retry_at) and not expired. */
static int usable_txn(struct rekey_ctx *r, store_txn *txn, struct store_credential *cr,
		      struct store_cert *cert)
{
	int64_t opens, closes;
	int ret = store_credential_get(txn, r->req->credential_id, cr);

	if (ret == 0 && (!cr->remote || strcmp(cr->subject_id, r->s->subject_id) != 0))
		ret = CF_ENOTFOUND;
	if (ret != 0)
		return ret;
	if (cr->status == CRED_PENDING)
		return CF_EINACTIVE;
	if (cr->status == CRED_REVOKED)
		return CF_EREVOKED;
	if (cr->status == CRED_SUSPENDED)
		return CF_ESUSPENDED;
	ret = store_cert_get(txn, cr->current_serial, cert);
	if (ret != 0)
		return ret == CF_ENOTFOUND ? CF_EINTERNAL : ret;
	if (cert->status != CERT_VALID)
		return cert->status == CERT_REVOKED ? CF_EREVOKED : CF_ESUSPENDED;
	if (r->serial[0] && strcmp(r->serial, cr->current_serial) != 0)
		return CF_ECONFLICT; /* re-keyed meanwhile */
	if (r->update)
		return cr->update_by ? 0 : CF_ECONFLICT;
	/* An expired remote certificate is not renewed: its holder applies again (§26.2). */
	if (r->now >= cert->not_after)
		return CF_ECONFLICT;
	ret = core_renewal_window(&r->c->cfg, "signing", cert->not_before, cert->not_after, &opens,
				  &closes);
	if (ret == 0 && r->now < opens) {
		r->out->retry_at = opens;
		return CF_ENOTWINDOW;
	}
	if (ret == 0 && r->coupon)
		ret = core_coupon_use_txn(txn, r->coupon_mac, cr->profile, cr->id, r->now, 0);
	return ret;
}

/* usable_txn when the certificate itself is not needed (it is 8 KiB: kept off the stack). */
static int usable_now(struct rekey_ctx *r, store_txn *txn, struct store_credential *cr)
{
	struct store_cert *cert = malloc(sizeof(*cert));
	int ret = cert ? usable_txn(r, txn, cr, cert) : CF_ENOMEM;

	free(cert);
	return ret;
}

/* PIN + OTP of the session's credential (core_remote_unlock) into r->u; in_txn as there. The
 * attempts left of a wrong PIN or OTP go to r->out. */
static int unlock_pin(struct rekey_ctx *r,
		      int (*in_txn)(struct core *c, store_txn *txn, struct core_remote_unlock *u,
				    const struct custody_unlocked *dk, void *ctx),
		      void *ctx)
{
	struct core_remote_unlock *info = calloc(1, sizeof(*info));
	int ret;

	if (!info)
		return CF_ENOMEM;
	ret = core_remote_unlock(r->c, r->who, r->s, r->req->credential_id, CUSTODY_PIN,
				 r->req->pin, r->req->otp, r->action, in_txn, ctx, &r->u, info);
	if (ret == CF_EBADPIN)
		r->out->attempts_left = info->res.attempts_left;
	else if (ret == CF_EBADOTP)
		r->out->attempts_left = info->otp_attempts_left;
	cf_zeroize(info, sizeof(*info));
	free(info);
	return ret;
}

struct precheck {
	struct rekey_ctx *r;
	struct store_cert cert;
	char user_id[STORE_USER_ID_LEN];
	struct store_custody cust; /* update: the sealed key the parked DK opens */
	struct store_session ticket;
};

/* The ticket of an update: live, unexpired, of this session's subject. */
static int ticket_txn(struct rekey_ctx *r, store_txn *txn, struct store_session *t)
{
	int ret = store_session_get(txn, r->ticket_id, t);

	if (ret == CF_ENOTFOUND)
		return CF_EBADTOKEN;
	if (ret != 0)
		return ret;
	if (t->kind != SESS_UPDATE || t->state != SESS_LIVE || r->now >= t->expires_at ||
	    strcmp(t->subject_id, r->s->subject_id) != 0)
		return CF_EBADTOKEN;
	return 0;
}

static int precheck_txn(store_txn *txn, void *ctx)
{
	struct precheck *p = ctx;
	struct rekey_ctx *r = p->r;
	struct store_login login;
	int ret = 0;

	if (r->ticket_id[0]) {
		/* The ticket names the credential, and its custody record the sealed key. */
		ret = ticket_txn(r, txn, &p->ticket);
		if (ret == 0)
			ret = store_custody_get(txn, p->ticket.credential_id, &p->cust);
		if (ret != 0)
			return ret == CF_ENOTFOUND ? CF_EBADTOKEN : ret;
		r->named.credential_id = p->ticket.credential_id;
	}
	ret = usable_txn(r, txn, &r->cr, &p->cert);
	if (ret == 0 && store_login_by_subject(txn, r->cr.subject_id, &login) == 0)
		snprintf(p->user_id, sizeof(p->user_id), "%s", login.user_id);
	cf_zeroize(&login, sizeof(login));
	return ret;
}

/* ---- the slow parts ------------------------------------------------------------------------- */

/* Envelope key from the passphrase, a new PUK and its KEK, the new PIN's KEK. */
static int derive_secrets(struct rekey_ctx *r)
{
	struct core *c = r->c;
	int ret;

	ret = core_envelope_key_set(c, r->cr.application_id, r->req->passphrase, &r->env);
	if (ret == 0)
		ret = custody_secret_generate(CUSTODY_PUK, r->puk, sizeof(r->puk));
	if (ret == 0)
		ret = custody_derive_new(c->master, CUSTODY_PUK, r->puk, c->cfg.kdf_iterations,
					 &r->puk_kek);
	if (ret == 0 && r->req->new_pin)
		ret = custody_derive_new(c->master, CUSTODY_PIN, r->req->new_pin,
					 c->cfg.kdf_iterations, &r->pin_kek);
	return ret;
}

static int prepare_key(struct rekey_ctx *r)
{
	const struct core_config *cfg = &r->c->cfg;

	return custody_rekey_prepare(&r->u, (enum cf_key_type)cfg->remote_key_type,
				     cfg->remote_key_bits, &r->rk, &r->pub);
}

/* ---- the commit ----------------------------------------------------------------------------- */

static int mail_envelope(struct rekey_ctx *r, store_txn *txn, const char *armoured, uint32_t n)
{
	char number[16];
	const struct notify_var vars[] = {{"givenName", r->subj.given_name},
					  {"credential", r->cr.id},
					  {"envelope", armoured},
					  {"envelopeNumber", number}};

	snprintf(number, sizeof(number), "%u", n);
	return notify_queue(r->c->nt, txn, NOTIFY_EMAIL, r->subj.email, "renewal-envelope", vars,
			    4);
}

/* The new envelope: PUK, emergency code (its MAC replaces the application's), number + 1. */
static int envelope_txn(struct rekey_ctx *r, store_txn *txn)
{
	char emergency[PROOF_EMERGENCY_DISPLAY + 1] = "", plain[256];
	char *armoured = NULL;
	uint8_t mac[32];
	uint32_t n;
	int ret = store_application_get(txn, r->cr.application_id, &r->app);

	if (ret != 0)
		return ret == CF_ENOTFOUND ? CF_EINTERNAL : ret;
	memcpy(r->app.envelope_key, r->env.envelope_key, sizeof(r->app.envelope_key));
	r->app.envelope_key_len = r->env.envelope_key_len;
	memcpy(r->app.envelope_salt, r->env.envelope_salt, sizeof(r->app.envelope_salt));
	r->app.envelope_iterations = r->env.envelope_iterations;
	n = r->app.envelope_count + 1;
	ret = proof_emergency_generate(r->c->secret, sizeof(r->c->secret), emergency, mac);
	if (ret == 0) {
		/* Digits and Crockford base32: nothing to escape; a stack buffer that is wiped. */
		snprintf(plain, sizeof(plain),
			 "{\"reference\":\"%s\",\"credential\":\"%s\",\"puk\":\"%s\","
			 "\"emergencyCode\":\"%s\",\"envelopeNumber\":%u}",
			 r->app.reference, r->cr.id, r->puk, emergency, n);
		ret = core_envelope_seal(r->c, &r->app, n, plain, &armoured);
		cf_zeroize(plain, sizeof(plain));
	}
	if (ret == 0)
		ret = mail_envelope(r, txn, armoured, n);
	if (ret == 0) {
		memcpy(r->app.emergency_mac, mac, sizeof(mac));
		r->app.emergency_failures = 0;
		r->app.envelope_count = n;
		ret = store_application_put(txn, &r->app);
		r->out->envelope_number = n;
	}
	cf_zeroize(emergency, sizeof(emergency));
	cf_zeroize(mac, sizeof(mac));
	cf_free_secret(armoured);
	return ret;
}

/* Custody re-key, the new certificate, (update) the old one superseded, the envelope. */
static int rekey_commit_txn(struct rekey_ctx *r, store_txn *txn)
{
	struct core *c = r->c;
	struct custody_limits lim;
	char object[STORE_ID_LEN + 16], detail[96];
	int ret;

	core_custody_limits(c, &lim);
	ret = custody_rekey_txn(txn, &r->u, &r->rk, &r->puk_kek,
				r->req->new_pin ? &r->pin_kek : NULL, &lim, r->now);
	if (ret == 0)
		ret = store_subject_get(txn, r->cr.subject_id, &r->subj);
	if (ret == 0)
		ret = core_remote_issue_txn(c, txn, r->who, &r->cr, &r->subj, r->pub, r->now,
					    &r->out->cert);
	if (ret == 0 && r->update) {
		ret = core_cert_status_txn(txn, r->who, r->serial, REASON_SUPERSEDED, r->now, NULL);
		if (ret == 0)
			ret = store_credential_get(txn, r->cr.id, &r->cr);
		r->cr.update_by = 0;
		r->cr.update_note[0] = '\0';
		if (ret == 0)
			ret = store_credential_put(txn, &r->cr);
	}
	if (ret == 0)
		ret = envelope_txn(r, txn);
	if (ret != 0)
		return ret;
	r->out->cr = r->cr;
	object_of(r->cr.id, object, sizeof(object));
	snprintf(detail, sizeof(detail), "serial %s, PIN %s, consents %s", r->out->cert.serial,
		 r->req->new_pin ? "changed" : "kept", r->req->consents ? r->req->consents : "");
	return core_audit(txn, r->who, r->action, object, "ok", detail);
}

/* ---- renewal -------------------------------------------------------------------------------- */

static int renew_commit_txn(store_txn *txn, void *ctx)
{
	struct rekey_ctx *r = ctx;
	int ret = usable_now(r, txn, &r->cr);

	if (ret == 0 && r->coupon)
		ret = core_coupon_use_txn(txn, r->coupon_mac, r->cr.profile, r->cr.id, r->now, 1);
	return ret ? ret : rekey_commit_txn(r, txn);
}

/* core_remote_unlock's in_txn: nothing is consumed (OTP) unless the renewal may go on. */
static int renew_unlock_txn(struct core *c, store_txn *txn, struct core_remote_unlock *u,
			    const struct custody_unlocked *dk, void *ctx)
{
	struct store_credential cr;

	(void)c, (void)u, (void)dk;
	return usable_now(ctx, txn, &cr);
}

/* The entitlement of the configuration: the coupon's shape, or the program's verdict. */
static int entitlement(struct rekey_ctx *r, const char *user_id)
{
	const char *kind = r->c->cfg.entitlement;

	if (strcmp(kind, "none") == 0)
		return 0;
	if (strcmp(kind, "program") == 0)
		return core_entitlement_check(r->c, r->cr.id, r->cr.subject_id, r->cr.profile,
					      user_id);
	if (!r->req->coupon || !r->req->coupon[0])
		return CF_EENTITLEMENT;
	r->coupon = 1;
	return core_coupon_mac(r->c, r->req->coupon, r->coupon_mac);
}

static int precheck(struct rekey_ctx *r, struct precheck *p)
{
	int ret;

	p->r = r;
	ret = store_read(r->c->st, precheck_txn, p);
	if (ret == 0)
		snprintf(r->serial, sizeof(r->serial), "%s", r->cr.current_serial);
	return ret;
}

int core_remote_renew(struct core *c, const struct core_who *who, const struct core_session *s,
		      const struct core_rekey_req *req, struct core_rekey_result *out)
{
	struct rekey_ctx *r = calloc(1, sizeof(*r));
	struct precheck *p = calloc(1, sizeof(*p));
	int ret = r && p ? 0 : CF_ENOMEM;

	out->retry_at = 0;
	out->attempts_left = -1;
	if (ret == 0 && !c->master_loaded)
		ret = CF_EUNAVAILABLE;
	if (ret != 0)
		goto out;
	*r = (struct rekey_ctx){.c = c,
				.who = who,
				.s = s,
				.req = req,
				.out = out,
				.action = "remote.renew",
				.now = cf_now()};
	/* Everything that can be refused without a proof is refused before the PIN is tried. */
	ret = precheck(r, p);
	if (ret == 0)
		ret = entitlement(r, p->user_id);
	if (ret == 0 && r->coupon)
		ret = precheck(r, p); /* now with the coupon */
	if (ret == 0)
		ret = derive_secrets(r);
	if (ret == 0)
		ret = unlock_pin(r, renew_unlock_txn, r);
	if (ret == 0)
		ret = prepare_key(r);
	/* A failure from here on leaves everything as it was but the OTP, which was used. */
	if (ret == 0) {
		r->now = cf_now();
		ret = store_write(c->st, renew_commit_txn, r);
	}
	if (ret == 0) {
		notify_kick(c->nt);
		__atomic_add_fetch(&c->renewed, 1, __ATOMIC_RELAXED);
		cf_info("remote credential %s renewed: certificate %s", r->cr.id, out->cert.serial);
	}
out:
	if (r)
		rekey_free(r);
	free(p);
	return ret;
}

/* ---- update on the operator's demand: the mark ---------------------------------------------- */

struct mark_ctx {
	struct core *c;
	const struct core_who *who;
	const struct core_update_mark_req *req;
	store_txn *txn;
	char (*ids)[STORE_ID_LEN];
	size_t n, cap;
	int64_t now;
	size_t marked;
};

static int markable(const struct store_credential *cr)
{
	return cr->remote && cr->status == CRED_ACTIVE;
}

/* Whether cr's current certificate was issued by the CA named issuer (its subject DN as
 * ca_cert_names prints it). A credential whose certificate cannot be read is not of it. */
static int of_issuer(store_txn *txn, const struct store_credential *cr, const char *issuer)
{
	struct store_cert *cert = malloc(sizeof(*cert));
	char subject[256], name[256];
	int yes = 0;

	if (!cert)
		return CF_ENOMEM;
	if (store_cert_get(txn, cr->current_serial, cert) == 0 &&
	    ca_cert_names(cert->der, cert->der_len, subject, sizeof(subject), name, sizeof(name)) ==
		0)
		yes = strcmp(name, issuer) == 0;
	free(cert);
	return yes;
}

static int collect(const struct store_credential *cr, void *ctx)
{
	struct mark_ctx *m = ctx;
	void *grown;
	int ret;

	if (!markable(cr) || (m->req->profile && strcmp(cr->profile, m->req->profile) != 0))
		return 0;
	if (m->req->issuer) {
		ret = of_issuer(m->txn, cr, m->req->issuer);
		if (ret != 1)
			return ret;
	}
	if (m->n == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 64;
		grown = realloc(m->ids, m->cap * sizeof(*m->ids));
		if (!grown)
			return CF_ENOMEM;
		m->ids = grown;
	}
	snprintf(m->ids[m->n++], STORE_ID_LEN, "%s", cr->id);
	return 0;
}

static int mark_one(struct mark_ctx *m, store_txn *txn, const char *id)
{
	struct store_credential cr;
	struct store_subject subj;
	char by[21], object[STORE_ID_LEN + 16];
	const char *note = m->req->note ? m->req->note : "";
	const struct notify_var vars[] = {{"givenName", subj.given_name},
					  {"credential", cr.id},
					  {"updateBy", by},
					  {"note", note[0] ? note : "-"}};
	int ret = store_credential_get(txn, id, &cr);

	if (ret != 0)
		return ret;
	cr.update_by = m->req->by;
	snprintf(cr.update_note, sizeof(cr.update_note), "%s", note);
	ret = store_credential_put(txn, &cr);
	if (ret == 0)
		ret = store_subject_get(txn, cr.subject_id, &subj);
	if (ret == 0) {
		cf_time_format(m->req->by, by);
		ret =
		    notify_queue(m->c->nt, txn, NOTIFY_EMAIL, subj.email, "update-notice", vars, 4);
		cf_zeroize(&subj.questions, sizeof(subj.questions));
	}
	object_of(id, object, sizeof(object));
	return ret ? ret : core_audit(txn, m->who, "update.mark", object, "ok", by);
}

static int mark_txn(store_txn *txn, void *ctx)
{
	struct mark_ctx *m = ctx;
	struct store_credential cr;
	int ret;

	m->n = 0;
	m->marked = 0;
	m->txn = txn;
	if (m->req->credential_id) {
		ret = store_credential_get(txn, m->req->credential_id, &cr);
		if (ret != 0)
			return ret;
		if (!markable(&cr))
			return CF_ECONFLICT;
		ret = collect(&cr, m);
	} else {
		ret = store_credential_list(txn, collect, m);
	}
	for (size_t i = 0; i < m->n && ret == 0; i++)
		ret = mark_one(m, txn, m->ids[i]);
	if (ret == 0)
		m->marked = m->n;
	return ret;
}

int core_update_mark(struct core *c, const struct core_who *who,
		     const struct core_update_mark_req *req, size_t *marked)
{
	struct mark_ctx m = {.c = c, .who = who, .req = req, .now = cf_now()};
	int ret;

	if (!!req->credential_id + !!req->profile + !!req->issuer + !!req->all != 1)
		return CF_EMALFORMED;
	if (!c->nt)
		return CF_EINTERNAL;
	ret = store_write(c->st, mark_txn, &m);
	free(m.ids);
	if (ret == 0) {
		notify_kick(c->nt);
		cf_info("%zu remote credential(s) marked for update", m.marked);
		*marked = m.marked;
	}
	return ret;
}

/* ---- update: step 1, PIN + OTP → ticket ---------------------------------------------------- */

struct start_ctx {
	struct rekey_ctx *r;
	const char *ticket;
	char ticket_id[STORE_TOKEN_ID_LEN];
	int64_t expires_at;
};

static int start_unlock_txn(struct core *c, store_txn *txn, struct core_remote_unlock *u,
			    const struct custody_unlocked *dk, void *ctx)
{
	struct start_ctx *st = ctx;
	struct store_credential cr;
	struct store_session t;
	char object[STORE_ID_LEN + 16];
	int ret = usable_now(st->r, txn, &cr);

	if (ret != 0)
		return ret;
	memset(&t, 0, sizeof(t));
	snprintf(t.id, sizeof(t.id), "%s", st->ticket_id);
	t.kind = SESS_UPDATE;
	t.state = SESS_LIVE;
	snprintf(t.subject_id, sizeof(t.subject_id), "%s", cr.subject_id);
	snprintf(t.credential_id, sizeof(t.credential_id), "%s", cr.id);
	snprintf(t.parent, sizeof(t.parent), "%s", st->r->s->id);
	t.created_at = u->now;
	t.expires_at = st->expires_at = u->now + (int64_t)c->cfg.update_minutes * 60;
	ret = core_park_dk(c, st->ticket, dk, t.blob, sizeof(t.blob), &t.blob_len);
	if (ret == 0)
		ret = store_session_put(txn, &t);
	cf_zeroize(&t, sizeof(t));
	object_of(cr.id, object, sizeof(object));
	return ret ? ret : core_audit(txn, st->r->who, "remote.update.start", object, "ok", NULL);
}

int core_update_start(struct core *c, const struct core_who *who, const struct core_session *s,
		      const struct core_rekey_req *req, char ticket[CORE_TOKEN_LEN],
		      int64_t *expires_at, struct core_rekey_result *out)
{
	struct rekey_ctx *r = calloc(1, sizeof(*r));
	struct start_ctx st;
	char token[CORE_TOKEN_LEN];
	int ret = r ? 0 : CF_ENOMEM;

	out->retry_at = 0;
	out->attempts_left = -1;
	memset(&st, 0, sizeof(st));
	if (ret == 0 && !c->master_loaded)
		ret = CF_EUNAVAILABLE;
	if (ret != 0)
		goto out;
	*r = (struct rekey_ctx){.c = c,
				.who = who,
				.s = s,
				.req = req,
				.out = out,
				.action = "remote.update.start",
				.update = 1,
				.now = cf_now()};
	st.r = r;
	st.ticket = token;
	ret = core_token_new(c, token, st.ticket_id);
	if (ret == 0)
		ret = unlock_pin(r, start_unlock_txn, &st);
	if (ret == 0) {
		memcpy(ticket, token, CORE_TOKEN_LEN);
		*expires_at = st.expires_at;
	}
out:
	cf_zeroize(token, sizeof(token));
	if (r)
		rekey_free(r);
	return ret;
}

/* ---- update: a new SMS code for the ticket ----------------------------------------------------
 */

struct otp_ctx {
	struct rekey_ctx *r;
	struct core_sms sms;
	struct store_subject subj;
};

static int otp_txn(store_txn *txn, void *ctx)
{
	struct otp_ctx *o = ctx;
	struct store_session t;
	int ret = ticket_txn(o->r, txn, &t);

	if (ret == 0)
		ret = store_subject_get(txn, t.subject_id, &o->subj);
	if (ret == 0 && o->subj.totp_confirmed)
		ret = CF_ECONFLICT; /* the holder's authenticator app gives the codes */
	if (ret == 0)
		ret = core_sms_send(o->r->c, txn, &o->subj, t.id, &o->sms, o->r->now,
				    &o->r->out->retry_at);
	cf_zeroize(&t, sizeof(t));
	return ret;
}

static int ticket_id(const struct core *c, const char *ticket, char id[STORE_TOKEN_ID_LEN])
{
	if (!ticket || strlen(ticket) != TOKEN_CHARS)
		return CF_EBADTOKEN;
	return core_token_id(c, ticket, id) == 0 ? 0 : CF_EBADTOKEN;
}

int core_update_send_otp(struct core *c, const struct core_who *who, const struct core_session *s,
			 const char *ticket, struct core_rekey_result *out)
{
	struct rekey_ctx *r = calloc(1, sizeof(*r));
	struct otp_ctx *o = calloc(1, sizeof(*o));
	int ret = r && o ? 0 : CF_ENOMEM;

	out->retry_at = 0;
	out->attempts_left = -1;
	if (ret != 0)
		goto out;
	*r = (struct rekey_ctx){.c = c, .who = who, .s = s, .out = out, .now = cf_now()};
	o->r = r;
	ret = ticket_id(c, ticket, r->ticket_id);
	if (ret == 0)
		ret = core_sms_new(c, &o->sms);
	if (ret == 0)
		ret = store_write(c->st, otp_txn, o);
	if (ret == 0)
		notify_kick(c->nt);
out:
	if (o)
		cf_zeroize(o, sizeof(*o));
	free(o);
	if (r)
		rekey_free(r);
	return ret;
}

/* ---- update: step 2, ticket + OTP → the new certificate ---------------------------------------
 */

/* The OTP of the final step: TOTP, or the newest SMS code sent for the ticket. A wrong code is
 * counted on the subject and committed (r->result). */
static int complete_otp_txn(struct rekey_ctx *r, store_txn *txn)
{
	struct core_otp_use use;
	int kind, ret = store_subject_get(txn, r->cr.subject_id, &r->subj);

	if (ret != 0)
		return ret;
	kind = r->subj.totp_confirmed ? CORE_OTP_TOTP : CORE_OTP_SMS;
	ret = core_otp_verify(r->c, txn, &r->subj, kind, r->ticket_id, r->req->otp, r->now, &use);
	if (ret == CF_EBADOTP || ret == CF_EPROOFLOCKED) {
		r->result = ret;
		r->out->attempts_left = core_otp_left(r->c, &r->subj);
		return 0;
	}
	if (ret == 0)
		ret = core_otp_consume(txn, &r->subj, &use);
	return ret ? ret : store_subject_put(txn, &r->subj);
}

static int complete_txn(store_txn *txn, void *ctx)
{
	struct rekey_ctx *r = ctx;
	struct store_session t;
	char object[STORE_ID_LEN + 16];
	int ret = ticket_txn(r, txn, &t);

	r->result = 0;
	if (ret == 0)
		ret = usable_now(r, txn, &r->cr);
	if (ret == 0)
		ret = complete_otp_txn(r, txn);
	if (ret == 0 && r->result != 0) {
		ret = store_subject_put(txn, &r->subj);
		object_of(r->cr.id, object, sizeof(object));
		return ret ? ret
			   : core_audit_result(txn, r->who, r->action, object, r->result, NULL);
	}
	if (ret == 0) {
		t.state = SESS_USED; /* single use */
		t.blob_len = 0;
		cf_zeroize(t.blob, sizeof(t.blob));
		ret = store_session_put(txn, &t);
	}
	cf_zeroize(&t, sizeof(t));
	return ret ? ret : rekey_commit_txn(r, txn);
}

/* The parked data key of the ticket, with the sealed key it opens (for the conflict check). */
static int unpark(struct rekey_ctx *r, const struct precheck *p)
{
	int ret = core_unpark_dk(r->c, r->req->ticket, p->ticket.blob, p->ticket.blob_len,
				 p->ticket.credential_id, &r->u);

	if (ret != 0)
		return ret == CF_ECRYPTO ? CF_EBADTOKEN : ret;
	return custody_unlocked_attach(&r->u, &p->cust);
}

int core_update_complete(struct core *c, const struct core_who *who, const struct core_session *s,
			 const struct core_rekey_req *req, struct core_rekey_result *out)
{
	struct rekey_ctx *r = calloc(1, sizeof(*r));
	struct precheck *p = calloc(1, sizeof(*p));
	int ret = r && p ? 0 : CF_ENOMEM;

	out->retry_at = 0;
	out->attempts_left = -1;
	if (ret == 0 && !c->master_loaded)
		ret = CF_EUNAVAILABLE;
	if (ret != 0)
		goto out;
	*r = (struct rekey_ctx){.c = c,
				.who = who,
				.s = s,
				.out = out,
				.action = "remote.update",
				.update = 1,
				.now = cf_now()};
	r->named = *req;
	r->req = &r->named;
	ret = ticket_id(c, req->ticket, r->ticket_id);
	if (ret == 0)
		ret = precheck(r, p);
	if (ret == 0)
		ret = unpark(r, p);
	if (ret == 0)
		ret = derive_secrets(r);
	if (ret == 0)
		ret = prepare_key(r);
	if (ret == 0) {
		r->now = cf_now();
		ret = store_write(c->st, complete_txn, r);
	}
	if (ret == 0 && r->result != 0)
		ret = r->result;
	if (ret == 0) {
		core_crl_invalidate(c);
		notify_kick(c->nt);
		cf_info("remote credential %s updated: certificate %s", r->cr.id, out->cert.serial);
	}
out:
	if (r)
		rekey_free(r);
	if (p)
		cf_zeroize(p, sizeof(*p));
	free(p);
	return ret;
}
