/*
 * remote — remote credentials (spec/protocol.md §24): approval of a "remote" application (key
 * pair, PIN, PUK, portal login, the two e-mails), the unlock building block that every remote
 * journey uses (OTP, then PIN or PUK, in one write transaction), activation, unblocking and PIN
 * change, and the certificate of a server-held key.
 *
 * The slow parts — key generation and every PBKDF2 — run before the write transaction. PIN, PUK,
 * the first password and the data key exist in clear only in heap structs that are wiped before
 * they are freed, and in the sealed bodies of the outbox; never in a log, an audit event or a
 * problem.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_clock.h"
#include "cf_crypto.h"
#include "cf_err.h"
#include "cf_log.h"
#include "cf_policy.h"
#include "core_internal.h"
#include "notify.h"
#include "proof.h"

#define USER_ID_DIGITS 10
#define USER_ID_TRIES 16
#define FIRST_PASSWORD_LEN 16
#define REASON_UNSPECIFIED 0
#define DERIVE_TRIES 3 /* a PIN change racing an unlock: derive again */

void core_custody_limits(const struct core *c, struct custody_limits *out)
{
	out->pin_max_tries = c->cfg.pin_max_tries;
	out->puk_max_tries = c->cfg.puk_max_tries;
}

static void credential_object(const char *id, char out[64])
{
	snprintf(out, 64, "credential:%s", id);
}

/* n uniform decimal digits (rejection sampling of octets below 250). */
static int random_digits(char *out, size_t n)
{
	uint8_t b[32];
	size_t i = 0, j = sizeof(b);

	while (i < n) {
		if (j == sizeof(b)) {
			if (cf_random(b, sizeof(b)) != 0)
				return CF_ECRYPTO;
			j = 0;
		}
		if (b[j] < 250)
			out[i++] = (char)('0' + b[j] % 10);
		j++;
	}
	out[n] = '\0';
	cf_zeroize(b, sizeof(b));
	return 0;
}

/* ---- reads --------------------------------------------------------------------------------- */

/* The credential id of s's subject that is remote, else CF_ENOTFOUND (one answer for all). */
static int own_credential(store_txn *txn, const struct core_session *s, const char *id,
			  struct store_credential *out)
{
	struct store_credential cr;
	int ret = store_credential_get(txn, id, &cr);

	if (ret != 0)
		return ret;
	if (!cr.remote || !cr.subject_id[0] || strcmp(cr.subject_id, s->subject_id) != 0)
		return CF_ENOTFOUND;
	*out = cr;
	return 0;
}

struct get_ctx {
	const struct core_session *s;
	const char *id;
	struct store_credential cr;
};

static int credential_txn(store_txn *txn, void *ctx)
{
	struct get_ctx *g = ctx;

	return own_credential(txn, g->s, g->id, &g->cr);
}

int core_remote_credential_get(struct core *c, const struct core_session *s,
			       const char *credential_id, struct store_credential *out)
{
	struct get_ctx *g = calloc(1, sizeof(*g));
	int ret;

	if (!g)
		return CF_ENOMEM;
	g->s = s;
	g->id = credential_id;
	ret = store_read(c->st, credential_txn, g);
	if (ret == 0)
		*out = g->cr;
	free(g);
	return ret;
}

/* ---- approval -------------------------------------------------------------------------------- */

struct core_remote_prep {
	char credential_id[STORE_ID_LEN];
	char pin[CUSTODY_PIN_DIGITS + 1];
	char puk[CUSTODY_PUK_MAX + 1];
	char password[FIRST_PASSWORD_LEN + 1];
	struct store_login login; /* verifier, salt, iterations of the first password */
	struct store_custody rec;
};

void core_remote_prep_free(struct core_remote_prep *p)
{
	if (!p)
		return;
	cf_zeroize(p, sizeof(*p));
	free(p);
}

/* A first password of FIRST_PASSWORD_LEN characters that meets the policy (§16.3): letters and
 * digits that cannot be mistaken for one another, and a few specials. */
static int first_password(char out[FIRST_PASSWORD_LEN + 1])
{
	static const char alphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
				       "23456789!#%+-=?@";
	uint8_t b[FIRST_PASSWORD_LEN];
	const char *why = NULL;
	int tries;

	for (tries = 0; tries < 64; tries++) {
		if (cf_random(b, sizeof(b)) != 0)
			return CF_ECRYPTO;
		for (size_t i = 0; i < sizeof(b); i++)
			out[i] = alphabet[b[i] % (sizeof(alphabet) - 1)]; /* 64 symbols: uniform */
		out[FIRST_PASSWORD_LEN] = '\0';
		if (cf_password_check(out, &why) == 0)
			break;
	}
	cf_zeroize(b, sizeof(b));
	return tries < 64 ? 0 : CF_EINTERNAL;
}

int core_remote_prepare(struct core *c, struct core_remote_prep **out)
{
	struct core_remote_prep *p = calloc(1, sizeof(*p));
	struct custody_kek pin, puk;
	struct custody_limits lim;
	cf_key *pub = NULL;
	int ret = CF_EINTERNAL;

	memset(&pin, 0, sizeof(pin));
	memset(&puk, 0, sizeof(puk));
	if (!p)
		return CF_ENOMEM;
	if (!c->master_loaded) {
		ret = CF_EUNAVAILABLE;
		goto out;
	}
	core_custody_limits(c, &lim);
	if ((ret = core_random_id(p->credential_id)) != 0 ||
	    (ret = custody_secret_generate(CUSTODY_PIN, p->pin, sizeof(p->pin))) != 0 ||
	    (ret = custody_secret_generate(CUSTODY_PUK, p->puk, sizeof(p->puk))) != 0 ||
	    (ret = custody_derive_new(c->master, CUSTODY_PIN, p->pin, c->cfg.kdf_iterations,
				      &pin)) != 0 ||
	    (ret = custody_derive_new(c->master, CUSTODY_PUK, p->puk, c->cfg.kdf_iterations,
				      &puk)) != 0 ||
	    (ret = custody_create(p->credential_id, (enum cf_key_type)c->cfg.remote_key_type,
				  c->cfg.remote_key_bits, &pin, &puk, &lim, cf_now(), &p->rec,
				  &pub)) != 0)
		goto out;
	/* the portal login's first password and its verifier (§23), used when the subject has no
	 * login yet */
	if ((ret = first_password(p->password)) == 0)
		ret = core_login_password_set(c, p->password, &p->login);
out:
	cf_key_free(pub); /* the certificate is made at activation, from the sealed key */
	custody_kek_wipe(&pin);
	custody_kek_wipe(&puk);
	if (ret != 0) {
		core_remote_prep_free(p);
		return ret;
	}
	*out = p;
	return 0;
}

/* The portal login of subj (§23): the existing one, or a new one with a new 10-digit user id
 * and p's first password (must_change). *created says which. */
static int login_ensure_txn(store_txn *txn, const struct store_subject *subj,
			    const struct core_remote_prep *p, int64_t now,
			    char user_id[STORE_USER_ID_LEN], int *created)
{
	struct store_login l;
	int ret, i;

	*created = 0;
	ret = store_login_by_subject(txn, subj->id, &l);
	if (ret == 0) {
		snprintf(user_id, STORE_USER_ID_LEN, "%s", l.user_id);
		cf_zeroize(&l, sizeof(l));
		return 0;
	}
	if (ret != CF_ENOTFOUND)
		return ret;
	memset(&l, 0, sizeof(l));
	for (i = 0; i < USER_ID_TRIES; i++) {
		/* a first digit 1-9, so that no one drops a leading zero */
		if ((ret = random_digits(l.user_id, USER_ID_DIGITS)) != 0)
			return ret;
		l.user_id[0] = (char)('1' + (l.user_id[0] - '0') % 9);
		ret = store_login_get(txn, l.user_id, &(struct store_login){0});
		if (ret == CF_ENOTFOUND)
			break;
		if (ret != 0)
			return ret;
	}
	if (i == USER_ID_TRIES)
		return CF_EINTERNAL;
	snprintf(l.subject_id, sizeof(l.subject_id), "%s", subj->id);
	memcpy(l.verifier, p->login.verifier, sizeof(l.verifier));
	memcpy(l.salt, p->login.salt, sizeof(l.salt));
	l.iterations = p->login.iterations;
	l.must_change = 1;
	l.created_at = l.changed_at = now;
	ret = store_login_put(txn, &l);
	if (ret == 0) {
		snprintf(user_id, STORE_USER_ID_LEN, "%s", l.user_id);
		*created = 1;
	}
	cf_zeroize(&l, sizeof(l));
	return ret;
}

/* An enrolment record in state used names the reference number of a remote application, so that
 * the reference is unique among all and emergency suspension (§20) finds the application. */
static int reference_record_txn(store_txn *txn, const struct store_application *app,
				const struct store_subject *subj, const char *credential_id,
				int64_t now, struct store_enrolment *e)
{
	int ret;

	memset(e, 0, sizeof(*e));
	ret = core_reference_new(txn, e->reference);
	if (ret != 0)
		return ret;
	snprintf(e->subject, sizeof(e->subject), "%.63s %.63s", subj->given_name, subj->surname);
	snprintf(e->profile, sizeof(e->profile), "%s", app->profile);
	snprintf(e->email, sizeof(e->email), "%.127s", subj->email);
	e->state = ENROL_USED;
	e->created_at = e->expires_at = now;
	snprintf(e->credential_id, sizeof(e->credential_id), "%s", credential_id);
	snprintf(e->application_id, sizeof(e->application_id), "%s", app->id);
	e->envelope_number = app->envelope_count + 1;
	return store_enrolment_put(txn, e);
}

/* The two e-mails of §24.2: user id, first password and reference number; then the envelope
 * with PIN, PUK, emergency code and envelope number. */
static int remote_mail_txn(struct core *c, store_txn *txn, const struct store_subject *subj,
			   const char *user_id, const char *password, const char *reference,
			   const char *armoured, uint32_t number)
{
	char shown[16], num[16];
	const struct notify_var cred_vars[] = {{"givenName", subj->given_name},
					       {"userId", user_id},
					       {"password", password},
					       {"reference", shown}};
	const struct notify_var env_vars[] = {
	    {"givenName", subj->given_name}, {"envelope", armoured}, {"envelopeNumber", num}};
	int ret;

	snprintf(shown, sizeof(shown), "%.4s-%.4s-%.4s", reference, reference + 4, reference + 8);
	snprintf(num, sizeof(num), "%u", number);
	ret =
	    notify_queue(c->nt, txn, NOTIFY_EMAIL, subj->email, "remote-credentials", cred_vars, 4);
	if (ret == 0)
		ret = notify_queue(c->nt, txn, NOTIFY_EMAIL, subj->email, "remote-envelope",
				   env_vars, 3);
	return ret;
}

struct approve_tmp {
	struct store_credential cr;
	struct store_enrolment e;
	char user_id[STORE_USER_ID_LEN];
	char emergency[PROOF_EMERGENCY_DISPLAY + 1];
	uint8_t emergency_mac[32];
	char plain[256];
	char *armoured;
};

static int approve_tmp_txn(struct core *c, store_txn *txn, const struct core_who *who,
			   struct store_application *app, const struct store_subject *subj,
			   const struct core_remote_prep *p, struct approve_tmp *t)
{
	int64_t now = cf_now();
	char object[64];
	int created = 0, ret;

	memset(&t->cr, 0, sizeof(t->cr));
	snprintf(t->cr.id, sizeof(t->cr.id), "%s", p->credential_id);
	snprintf(t->cr.subject, sizeof(t->cr.subject), "%.63s %.63s", subj->given_name,
		 subj->surname);
	snprintf(t->cr.profile, sizeof(t->cr.profile), "%s", app->profile);
	snprintf(t->cr.application_id, sizeof(t->cr.application_id), "%s", app->id);
	snprintf(t->cr.subject_id, sizeof(t->cr.subject_id), "%s", subj->id);
	t->cr.status = CRED_PENDING;
	t->cr.remote = 1;
	t->cr.created_at = now;
	if ((ret = login_ensure_txn(txn, subj, p, now, t->user_id, &created)) != 0 ||
	    (ret = reference_record_txn(txn, app, subj, t->cr.id, now, &t->e)) != 0)
		return ret;
	snprintf(t->cr.reference, sizeof(t->cr.reference), "%s", t->e.reference);
	ret =
	    proof_emergency_generate(c->secret, sizeof(c->secret), t->emergency, t->emergency_mac);
	if (ret != 0)
		return ret;
	/* digits and Crockford base32: nothing to escape; a wiped stack buffer, no JSON tree */
	snprintf(t->plain, sizeof(t->plain),
		 "{\"reference\":\"%s\",\"pin\":\"%s\",\"puk\":\"%s\",\"emergencyCode\":\"%s\","
		 "\"envelopeNumber\":%u}",
		 t->e.reference, p->pin, p->puk, t->emergency, t->e.envelope_number);
	if ((ret = core_envelope_seal(c, app, t->e.envelope_number, t->plain, &t->armoured)) != 0)
		return ret;
	if ((ret = store_custody_put(txn, &p->rec)) != 0 ||
	    (ret = store_credential_put(txn, &t->cr)) != 0)
		return ret;
	snprintf(app->reference, sizeof(app->reference), "%s", t->e.reference);
	snprintf(app->credential_id, sizeof(app->credential_id), "%s", t->cr.id);
	memcpy(app->emergency_mac, t->emergency_mac, sizeof(app->emergency_mac));
	app->envelope_count = t->e.envelope_number;
	if ((ret = store_application_put(txn, app)) != 0)
		return ret;
	ret = remote_mail_txn(c, txn, subj, t->user_id,
			      created ? p->password : "(unchanged: your current portal password)",
			      t->e.reference, t->armoured, t->e.envelope_number);
	if (ret != 0)
		return ret;
	credential_object(t->cr.id, object);
	return core_audit(txn, who, "remote.approve", object, "ok", app->id);
}

int core_remote_approve_txn(struct core *c, store_txn *txn, const struct core_who *who,
			    struct store_application *app, const struct store_subject *subj,
			    const struct core_remote_prep *p)
{
	struct approve_tmp *t;
	int ret;

	if (!c->nt)
		return CF_EINTERNAL;
	if (!(t = calloc(1, sizeof(*t))))
		return CF_ENOMEM;
	ret = approve_tmp_txn(c, txn, who, app, subj, p, t);
	cf_free_secret(t->armoured);
	cf_zeroize(t, sizeof(*t));
	free(t);
	return ret;
}

/* ---- the certificate of a remote key ------------------------------------------------------- */

int core_remote_issue_txn(struct core *c, store_txn *txn, const struct core_who *who,
			  struct store_credential *cr, const struct store_subject *subj,
			  const cf_key *pub, int64_t now, struct store_cert *out)
{
	struct ca_issue_req req;
	struct ca_issued is;
	char cn[STORE_NAME_LEN], object[STORE_SERIAL_LEN + 16];
	int64_t validity;
	int ret, attempt;

	if ((ret = core_profile_validity(&c->cfg, cr->profile, &validity)) != 0)
		return CF_EINTERNAL;
	snprintf(cn, sizeof(cn), "%.63s %.63s", subj->given_name, subj->surname);
	memset(&req, 0, sizeof(req));
	req.subject_key = pub;
	req.subject_cn = cn;
	req.email = subj->email;
	req.kind = CA_PROFILE_SIGNING;
	req.now = now;
	req.validity_secs = validity;
	/* two random 64-bit serials colliding: issue once more */
	for (attempt = 0; attempt < 2; attempt++) {
		memset(&is, 0, sizeof(is));
		if ((ret = ca_issue(c->ca, &req, &is)) != 0)
			return ret;
		ret = core_cert_record(&is, cr->id, out);
		free(is.der);
		if (ret == 0)
			ret = store_cert_put(txn, out, 1);
		if (ret != CF_ECONFLICT)
			break;
	}
	if (ret != 0)
		return ret;
	snprintf(cr->current_serial, sizeof(cr->current_serial), "%s", out->serial);
	if ((ret = store_credential_put(txn, cr)) != 0)
		return ret;
	snprintf(object, sizeof(object), "certificate:%s", out->serial);
	return core_audit(txn, who, "certificate.issue", object, "ok", cr->id);
}

/* ---- unlocking: OTP, then PIN or PUK, in one write transaction ----------------------------- */

struct unlock_ctx {
	struct core *c;
	const struct core_who *who;
	const struct core_session *s;
	const char *id, *otp, *action;
	int proof;
	struct custody_kek kek;
	struct custody_limits lim;
	int (*in_txn)(struct core *c, store_txn *txn, struct core_remote_unlock *u,
		      const struct custody_unlocked *dk, void *ctx);
	void *ctx;
	/* filled by the transactions */
	struct store_custody rec;
	struct core_remote_unlock u;
	struct custody_unlocked dk;
	int result;
	int crl_changed;
};

static int prefetch_txn(store_txn *txn, void *ctx)
{
	struct unlock_ctx *x = ctx;
	int ret = own_credential(txn, x->s, x->id, &x->u.cr);

	if (ret != 0)
		return ret;
	if (x->u.cr.status == CRED_REVOKED)
		return CF_EREVOKED;
	if (x->u.cr.status == CRED_PENDING && x->proof == CUSTODY_PIN)
		return CF_EINACTIVE; /* its PIN is the envelope's until the PUK activates it */
	ret = store_custody_get(txn, x->id, &x->rec);
	return ret == CF_ENOTFOUND ? CF_EINTERNAL : ret;
}

/* The PUK's last try destroyed the key (custody_unlock_txn): the credential and its current
 * certificate are revoked in the same transaction (§22.5). */
static int revoke_exhausted(struct unlock_ctx *x, store_txn *txn)
{
	int ret;

	if (x->u.cr.current_serial[0]) {
		ret = core_cert_status_txn(txn, x->who, x->u.cr.current_serial, REASON_UNSPECIFIED,
					   x->u.now, NULL);
		if (ret != 0 && ret != CF_EALREADY)
			return ret;
		if ((ret = store_credential_get(txn, x->id, &x->u.cr)) != 0)
			return ret;
		x->crl_changed = 1;
	}
	x->u.cr.status = CRED_REVOKED;
	return store_credential_put(txn, &x->u.cr);
}

/* An OTP of a remote journey: TOTP once confirmed, else an SMS code sent for this session. */
static int remote_otp_kind(const struct store_subject *subj)
{
	return subj->totp_seed_len > 0 && subj->totp_confirmed ? CORE_OTP_TOTP : CORE_OTP_SMS;
}

static int unlock_txn(store_txn *txn, void *ctx)
{
	struct unlock_ctx *x = ctx;
	struct core_remote_unlock *u = &x->u;
	struct core_otp_use use;
	char object[64];
	int ret;

	x->result = 0;
	x->crl_changed = 0;
	u->otp_attempts_left = -1;
	memset(&u->res, 0, sizeof(u->res));
	u->res.attempts_left = -1;
	custody_unlocked_wipe(&x->dk);
	credential_object(x->id, object);
	if ((ret = own_credential(txn, x->s, x->id, &u->cr)) != 0)
		return ret;
	/* refused before anything is tried or counted */
	if (u->cr.status == CRED_REVOKED)
		return CF_EREVOKED;
	if (u->cr.status == CRED_PENDING && x->proof == CUSTODY_PIN)
		return CF_EINACTIVE;
	if ((ret = store_subject_get(txn, u->cr.subject_id, &u->subj)) != 0)
		return ret == CF_ENOTFOUND ? CF_EINTERNAL : ret;
	ret = core_otp_verify(x->c, txn, &u->subj, remote_otp_kind(&u->subj), x->s->id, x->otp,
			      u->now, &use);
	if (ret == CF_EBADOTP || ret == CF_EPROOFLOCKED) {
		/* counted on the subject, committed with its event before the answer */
		x->result = ret;
		u->otp_attempts_left = core_otp_left(x->c, &u->subj);
		ret = store_subject_put(txn, &u->subj);
		return ret ? ret
			   : core_audit_result(txn, x->who, x->action, object, x->result, NULL);
	}
	if (ret != 0)
		return ret;
	ret = custody_unlock_txn(txn, x->id, &x->kek, &x->lim, u->now, &u->res, &x->dk);
	if (ret != 0)
		return ret == CF_ENOTFOUND ? CF_EINTERNAL : ret;
	if (u->res.result == CF_ECONFLICT)
		return CF_ECONFLICT; /* the wrap changed meanwhile: nothing written, derive again */
	x->result = u->res.result;
	if (x->result == 0 || u->res.counted)
		ret = core_otp_consume(txn, &u->subj, &use); /* the PIN or PUK was tried */
	if (ret == 0 && u->res.revoked)
		ret = revoke_exhausted(x, txn);
	if (ret == 0)
		ret = store_subject_put(txn, &u->subj);
	if (ret == 0 && x->result == 0 && x->in_txn)
		ret = x->in_txn(x->c, txn, u, &x->dk, x->ctx);
	if (ret != 0)
		return ret;
	return core_audit_result(txn, x->who, x->action, object, x->result, NULL);
}

int core_remote_unlock(struct core *c, const struct core_who *who, const struct core_session *s,
		       const char *credential_id, int proof, const char *secret, const char *otp,
		       const char *action,
		       int (*in_txn)(struct core *c, store_txn *txn, struct core_remote_unlock *u,
				     const struct custody_unlocked *dk, void *ctx),
		       void *ctx, struct custody_unlocked *out, struct core_remote_unlock *info)
{
	struct unlock_ctx *x;
	int ret = CF_EINTERNAL, tries;

	if (!custody_secret_shape_ok(proof, secret) || !otp)
		return CF_EMALFORMED;
	if (!c->master_loaded)
		return CF_EUNAVAILABLE;
	if (!(x = calloc(1, sizeof(*x))))
		return CF_ENOMEM;
	x->c = c;
	x->who = who;
	x->s = s;
	x->id = credential_id;
	x->otp = otp;
	x->action = action;
	x->proof = proof;
	x->in_txn = in_txn;
	x->ctx = ctx;
	x->u.now = cf_now();
	x->u.res.attempts_left = -1;
	x->u.otp_attempts_left = -1;
	core_custody_limits(c, &x->lim);
	for (tries = 0; tries < DERIVE_TRIES; tries++) {
		/* PBKDF2 against the record as it is now, outside any transaction */
		ret = store_read(c->st, prefetch_txn, x);
		if (ret == 0)
			ret = custody_derive(c->master, &x->rec, proof, secret, &x->kek);
		if (ret == 0)
			ret = store_write(c->st, unlock_txn, x);
		custody_kek_wipe(&x->kek);
		if (ret != CF_ECONFLICT)
			break;
	}
	if (ret == 0)
		ret = x->result;
	if (x->crl_changed)
		core_crl_invalidate(c);
	if (x->u.res.revoked && ret == CF_EREVOKED)
		cf_warn("credential %s revoked: PUK tries exhausted, key destroyed", credential_id);
	if (ret == 0)
		*out = x->dk;
	if (info)
		*info = x->u;
	cf_zeroize(x, sizeof(*x));
	free(x);
	return ret;
}

/* ---- activation, unblocking, PIN change ---------------------------------------------------- */

struct pin_ctx {
	const struct core_who *who;
	struct custody_kek new_pin;
	struct custody_limits lim;
	int activated;
	struct store_cert cert;
};

/* The public key of the custody key dk opens (the clear key pair lives only for this call). */
static int custody_pub(const struct custody_unlocked *dk, cf_key **pub)
{
	cf_key *pair = NULL;
	uint8_t *der = NULL;
	size_t len = 0;
	int ret = custody_key_open(dk, &pair);

	if (ret == 0)
		ret = cf_key_spki_der(pair, &der, &len);
	cf_key_free(pair);
	if (ret == 0)
		ret = cf_key_parse(der, len, pub);
	free(der);
	return ret;
}

static int application_activated(store_txn *txn, const struct store_credential *cr)
{
	struct store_application app;
	int ret;

	if (!cr->application_id[0])
		return 0;
	ret = store_application_get(txn, cr->application_id, &app);
	if (ret != 0)
		return ret == CF_ENOTFOUND ? 0 : ret;
	app.state = APP_ACTIVATED;
	snprintf(app.credential_id, sizeof(app.credential_id), "%s", cr->id);
	ret = store_application_put(txn, &app);
	cf_zeroize(&app.questions, sizeof(app.questions));
	return ret;
}

/* In the unlock's transaction: the new PIN; a pending credential's first certificate. */
static int new_pin_in_txn(struct core *c, store_txn *txn, struct core_remote_unlock *u,
			  const struct custody_unlocked *dk, void *ctx)
{
	struct pin_ctx *p = ctx;
	cf_key *pub = NULL;
	int ret;

	p->activated = 0;
	ret = custody_change_pin_txn(txn, dk, &p->new_pin, &p->lim, u->now);
	if (ret != 0 || u->cr.status != CRED_PENDING)
		return ret;
	if ((ret = custody_pub(dk, &pub)) != 0)
		return ret;
	u->cr.status = CRED_ACTIVE;
	ret = core_remote_issue_txn(c, txn, p->who, &u->cr, &u->subj, pub, u->now, &p->cert);
	cf_key_free(pub);
	if (ret == 0)
		ret = application_activated(txn, &u->cr);
	p->activated = ret == 0;
	return ret;
}

static int pin_journey(struct core *c, const struct core_who *who, const struct core_session *s,
		       const char *credential_id, int proof, const char *secret,
		       const char *new_pin, const char *otp, struct core_remote_outcome *out)
{
	struct pin_ctx *p = NULL;
	struct core_remote_unlock *info = NULL;
	struct custody_unlocked dk;
	struct store_credential cr;
	const char *action;
	int ret;

	out->attempts_left = -1;
	out->activated = 0;
	memset(&dk, 0, sizeof(dk));
	if (!custody_secret_shape_ok(proof, secret) ||
	    !custody_secret_shape_ok(CUSTODY_PIN, new_pin) || !otp)
		return CF_EMALFORMED;
	if (!c->master_loaded)
		return CF_EUNAVAILABLE;
	/* refusals that need no secret come first: nothing is derived, tried or counted */
	if ((ret = core_remote_credential_get(c, s, credential_id, &cr)) != 0)
		return ret;
	if (cr.status == CRED_REVOKED)
		return CF_EREVOKED;
	if (proof == CUSTODY_PIN && cr.status == CRED_PENDING)
		return CF_EINACTIVE;
	action = proof == CUSTODY_PIN	     ? "remote.pin"
		 : cr.status == CRED_PENDING ? "remote.activate"
					     : "remote.unblock";
	p = calloc(1, sizeof(*p));
	info = calloc(1, sizeof(*info));
	if (!p || !info) {
		ret = CF_ENOMEM;
		goto out;
	}
	p->who = who;
	core_custody_limits(c, &p->lim);
	ret =
	    custody_derive_new(c->master, CUSTODY_PIN, new_pin, c->cfg.kdf_iterations, &p->new_pin);
	if (ret == 0)
		ret = core_remote_unlock(c, who, s, credential_id, proof, secret, otp, action,
					 new_pin_in_txn, p, &dk, info);
	/* 0 with pinBlocked or credentialRevoked: this wrong secret used the last try */
	out->attempts_left = ret == CF_EBADOTP			      ? info->otp_attempts_left
			     : ret == CF_EBADPIN || ret == CF_EBADPUK ? info->res.attempts_left
			     : info->res.counted		      ? 0
								      : -1;
	if (ret == 0) {
		out->activated = p->activated;
		cf_info("credential %s: %s", credential_id, action);
	}
out:
	custody_unlocked_wipe(&dk);
	if (p) {
		custody_kek_wipe(&p->new_pin);
		free(p);
	}
	if (info) {
		cf_zeroize(info, sizeof(*info));
		free(info);
	}
	return ret;
}

int core_remote_activate(struct core *c, const struct core_who *who, const struct core_session *s,
			 const char *credential_id, const char *puk, const char *new_pin,
			 const char *otp, struct core_remote_outcome *out)
{
	return pin_journey(c, who, s, credential_id, CUSTODY_PUK, puk, new_pin, otp, out);
}

int core_remote_pin_change(struct core *c, const struct core_who *who, const struct core_session *s,
			   const char *credential_id, const char *pin, const char *new_pin,
			   const char *otp, struct core_remote_outcome *out)
{
	return pin_journey(c, who, s, credential_id, CUSTODY_PIN, pin, new_pin, otp, out);
}
