/*
 * qrlogin — login by QR code (spec/protocol.md §27, the "MyInfoCert app" journey): the waiting
 * side (a login page, `certflow-agent login --qr`) starts a challenge and shows its text as a QR
 * code; an agent that holds an active credential of a subject with a portal login approves it
 * with its account key; the waiting side, polling with its secret poll token, gets a portal
 * session of that login once.
 *
 * Two SESS_QR records per challenge, both living qr_login_seconds: the poll record, named by the
 * HMAC id of the poll token (the database never holds the token), and the challenge record,
 * named "qr:" + the public challenge id. Each names the other in parent. States: LIVE →
 * APPROVED (approve) → USED (the session was granted). The poll token never reaches a log, an
 * audit event or an error detail.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_b64.h"
#include "cf_clock.h"
#include "cf_crypto.h"
#include "cf_err.h"
#include "cf_log.h"
#include "core_internal.h"

#define QR_RECORD_PREFIX "qr:"
#define QR_ID_OCTETS 16 /* 128 bits: CORE_QR_ID_LEN base64url characters */

/* The challenge record's id of challenge id: "qr:<id>". */
static void challenge_record_id(const char *id, char out[STORE_TOKEN_ID_LEN])
{
	snprintf(out, STORE_TOKEN_ID_LEN, "%s%s", QR_RECORD_PREFIX, id);
}

/* "qrlogin:<challenge id>" of a challenge record (or of its poll record's parent). */
static void challenge_object(const char *record_id, char *out, size_t cap)
{
	size_t n = strlen(QR_RECORD_PREFIX);
	const char *id = strncmp(record_id, QR_RECORD_PREFIX, n) == 0 ? record_id + n : "unknown";

	snprintf(out, cap, "qrlogin:%.*s", CORE_QR_ID_LEN, id);
}

static void login_object(const char *user_id, char *out, size_t cap)
{
	snprintf(out, cap, "login:%s", user_id);
}

/* The challenge id of text "certflow-login:<id>": CF_EMALFORMED if text is not one. */
static int challenge_id_of(const char *text, char id[CORE_QR_ID_LEN + 1])
{
	size_t n = strlen(CORE_QR_PREFIX);

	if (!text || strncmp(text, CORE_QR_PREFIX, n) != 0)
		return CF_EMALFORMED;
	text += n;
	if (strlen(text) != CORE_QR_ID_LEN ||
	    strspn(text, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") !=
		CORE_QR_ID_LEN)
		return CF_EMALFORMED;
	memcpy(id, text, CORE_QR_ID_LEN + 1);
	return 0;
}

/* ---- POST /v1/qr-login ------------------------------------------------------------------ */

struct start_ctx {
	struct core *c;
	const struct core_who *who;
	const char *user_id;
	char challenge_id[CORE_QR_ID_LEN + 1];
	char poll_id[STORE_TOKEN_ID_LEN];
	int64_t now, expires_at;
};

static int start_txn(store_txn *txn, void *ctx)
{
	struct start_ctx *t = ctx;
	struct store_session poll, ch;
	char object[STORE_TOKEN_ID_LEN + 16], detail[64] = "";
	int ret;

	memset(&poll, 0, sizeof(poll));
	memset(&ch, 0, sizeof(ch));
	challenge_record_id(t->challenge_id, ch.id);
	/* 128 random bits do not collide; a record in the way would be a broken generator */
	if (store_session_get(txn, ch.id, &poll) != CF_ENOTFOUND ||
	    store_session_get(txn, t->poll_id, &poll) != CF_ENOTFOUND)
		return CF_EINTERNAL;
	memset(&poll, 0, sizeof(poll));
	snprintf(poll.id, sizeof(poll.id), "%s", t->poll_id);
	poll.kind = ch.kind = SESS_QR;
	poll.state = ch.state = SESS_LIVE;
	snprintf(poll.parent, sizeof(poll.parent), "%s", ch.id);
	snprintf(ch.parent, sizeof(ch.parent), "%s", poll.id);
	snprintf(poll.detail, sizeof(poll.detail), "%s", t->user_id);
	poll.created_at = ch.created_at = t->now;
	poll.expires_at = ch.expires_at = t->expires_at;
	ret = store_session_put(txn, &poll);
	if (ret == 0)
		ret = store_session_put(txn, &ch);
	challenge_object(ch.id, object, sizeof(object));
	if (t->user_id[0])
		snprintf(detail, sizeof(detail), "for login:%s", t->user_id);
	if (ret == 0)
		ret = core_audit(txn, t->who, "qrlogin.start", object, "ok", detail);
	return ret;
}

int core_qr_start(struct core *c, const struct core_who *who, const char *user_id,
		  struct core_qr_start *out)
{
	struct start_ctx t;
	struct core_qr_start res;
	uint8_t raw[QR_ID_OCTETS];
	size_t len = 0;
	int ret;

	memset(&t, 0, sizeof(t));
	memset(&res, 0, sizeof(res));
	t.c = c;
	t.who = who;
	t.user_id = user_id ? user_id : "";
	if (strlen(t.user_id) >= STORE_USER_ID_LEN)
		return CF_EMALFORMED;
	t.now = cf_now();
	t.expires_at = t.now + c->cfg.qr_login_seconds;
	ret = cf_random(raw, sizeof(raw)) == 0 ? 0 : CF_ECRYPTO;
	if (ret == 0)
		ret = cf_b64url_encode(raw, sizeof(raw), t.challenge_id, sizeof(t.challenge_id),
				       &len);
	if (ret == 0)
		ret = core_token_new(c, res.poll_token, t.poll_id);
	if (ret == 0)
		ret = store_write(c->st, start_txn, &t);
	if (ret == 0) {
		snprintf(res.challenge, sizeof(res.challenge), "%s%s", CORE_QR_PREFIX,
			 t.challenge_id);
		res.expires_at = t.expires_at;
		*out = res;
		cf_info("QR login %s started", t.challenge_id);
	}
	cf_zeroize(&res, sizeof(res));
	return ret;
}

/* ---- POST /v1/qr-login/approve ----------------------------------------------------------- */

struct approve_ctx {
	struct core *c;
	const struct core_who *who;
	const char *account_id, *credential;
	char challenge_id[CORE_QR_ID_LEN + 1];
	char named[STORE_USER_ID_LEN]; /* the user id the waiting side named, or "" */
	int64_t now;
	store_txn *txn;
	/* found by the walk over the account's credentials */
	int walk_ret;
	char subject_id[STORE_ID_LEN], credential_id[STORE_ID_LEN];
	struct store_login login;
	int other_login; /* a credential of a login other than the named one was met */
	int result;
};

/* 1 if cr is active and its current certificate valid and unexpired at now. */
static int credential_usable(store_txn *txn, const struct store_credential *cr, int64_t now)
{
	struct store_cert cert;

	if (cr->status != CRED_ACTIVE || !cr->subject_id[0] || !cr->current_serial[0])
		return 0;
	if (store_cert_get(txn, cr->current_serial, &cert) != 0)
		return 0;
	return cert.status == CERT_VALID && now >= cert.not_before && now < cert.not_after;
}

/* The first usable credential of the account (in creation order) whose subject has a login (the
 * named one, if any). */
static int approver_cb(const struct store_credential *cr, void *ctx)
{
	struct approve_ctx *t = ctx;
	struct store_login login;
	int ret;

	if (t->credential && t->credential[0] && strcmp(cr->id, t->credential) != 0)
		return 0;
	if (!credential_usable(t->txn, cr, t->now))
		return 0;
	ret = store_login_by_subject(t->txn, cr->subject_id, &login);
	if (ret == CF_ENOTFOUND)
		return 0;
	if (ret != 0) {
		t->walk_ret = ret;
		return 1;
	}
	if (t->named[0] && strcmp(login.user_id, t->named) != 0) {
		t->other_login = 1;
		return 0;
	}
	t->login = login;
	snprintf(t->subject_id, sizeof(t->subject_id), "%s", cr->subject_id);
	snprintf(t->credential_id, sizeof(t->credential_id), "%s", cr->id);
	return 1;
}

/* The live, unexpired challenge record of t->challenge_id and its poll record. */
static int challenge_find(struct approve_ctx *t, store_txn *txn, struct store_session *ch,
			  struct store_session *poll)
{
	char id[STORE_TOKEN_ID_LEN];
	int ret;

	challenge_record_id(t->challenge_id, id);
	ret = store_session_get(txn, id, ch);
	if (ret == 0 && (ch->kind != SESS_QR || t->now >= ch->expires_at))
		ret = CF_EBADTOKEN;
	if (ret == 0)
		ret = store_session_get(txn, ch->parent, poll);
	if (ret == 0 && poll->kind != SESS_QR)
		ret = CF_EBADTOKEN;
	return ret == CF_ENOTFOUND ? CF_EBADTOKEN : ret;
}

static int approve_txn(store_txn *txn, void *ctx)
{
	struct approve_ctx *t = ctx;
	struct store_session ch, poll;
	char object[STORE_TOKEN_ID_LEN + 16], detail[STORE_ID_LEN + 16] = "";
	int ret;

	t->result = challenge_find(t, txn, &ch, &poll);
	if (t->result == CF_EBADTOKEN)
		return 0; /* nothing to audit it on */
	if (t->result != 0)
		return t->result;
	challenge_object(ch.id, object, sizeof(object));
	snprintf(t->named, sizeof(t->named), "%.*s", STORE_USER_ID_LEN - 1, poll.detail);
	t->txn = txn;
	t->walk_ret = 0;
	t->other_login = 0;
	t->subject_id[0] = t->credential_id[0] = '\0';
	if (ch.state != SESS_LIVE || poll.state != SESS_LIVE)
		t->result = CF_ECONFLICT;
	if (t->result == 0) {
		ret = store_credential_list_by_account(txn, t->account_id, approver_cb, t);
		if (t->walk_ret != 0)
			return t->walk_ret;
		if (ret < 0)
			return ret;
		if (!t->subject_id[0])
			t->result = CF_EUNAUTHORIZED;
	}
	if (t->result == 0) {
		login_object(t->login.user_id, object, sizeof(object));
		snprintf(detail, sizeof(detail), "credential %s", t->credential_id);
		poll.state = ch.state = SESS_APPROVED;
		snprintf(poll.subject_id, sizeof(poll.subject_id), "%s", t->subject_id);
		snprintf(poll.user_id, sizeof(poll.user_id), "%s", t->login.user_id);
		snprintf(poll.credential_id, sizeof(poll.credential_id), "%s", t->credential_id);
		ret = store_session_put(txn, &poll);
		if (ret == 0)
			ret = store_session_put(txn, &ch);
		if (ret != 0)
			return ret;
	} else if (t->result == CF_EUNAUTHORIZED && t->other_login) {
		snprintf(detail, sizeof(detail), "not the named login");
	}
	return core_audit_result(txn, t->who, "qrlogin.approve", object, t->result, detail);
}

int core_qr_approve(struct core *c, const struct core_who *who, const char *account_id,
		    const char *challenge, const char *credential, char user_id[STORE_USER_ID_LEN])
{
	struct approve_ctx *t = calloc(1, sizeof(*t));
	int ret;

	if (!t)
		return CF_ENOMEM;
	t->c = c;
	t->who = who;
	t->account_id = account_id;
	t->credential = credential;
	t->now = cf_now();
	ret = challenge_id_of(challenge, t->challenge_id);
	if (ret == 0)
		ret = store_write(c->st, approve_txn, t);
	if (ret == 0)
		ret = t->result;
	if (ret == 0) {
		snprintf(user_id, STORE_USER_ID_LEN, "%s", t->login.user_id);
		cf_info("QR login %s approved for login %s by credential %s", t->challenge_id,
			t->login.user_id, t->credential_id);
	}
	cf_zeroize(t, sizeof(*t));
	free(t);
	return ret;
}

/* ---- POST /v1/qr-login/poll -------------------------------------------------------------- */

struct poll_ctx {
	struct core *c;
	const struct core_who *who;
	char poll_id[STORE_TOKEN_ID_LEN];
	int64_t now;
	int state; /* of the poll record, read first */
	int result;
	struct core_login_result res;
};

/* The poll record of t->poll_id, unexpired and not used: CF_EBADTOKEN otherwise. */
static int poll_find(const struct poll_ctx *t, store_txn *txn, struct store_session *poll)
{
	int ret = store_session_get(txn, t->poll_id, poll);

	if (ret == 0 &&
	    (poll->kind != SESS_QR || t->now >= poll->expires_at || poll->state == SESS_USED ||
	     strncmp(poll->id, QR_RECORD_PREFIX, strlen(QR_RECORD_PREFIX)) == 0))
		ret = CF_EBADTOKEN;
	return ret == CF_ENOTFOUND ? CF_EBADTOKEN : ret;
}

static int poll_read(store_txn *txn, void *ctx)
{
	struct poll_ctx *t = ctx;
	struct store_session poll;
	int ret = poll_find(t, txn, &poll);

	if (ret == 0)
		t->state = poll.state;
	return ret;
}

/* The approving credential is still usable and the login still the subject's. */
static int grant_check(const struct poll_ctx *t, store_txn *txn, const struct store_session *poll,
		       struct store_login *login)
{
	struct store_credential cr;
	int ret = store_credential_get(txn, poll->credential_id, &cr);

	if (ret == 0 &&
	    (!credential_usable(txn, &cr, t->now) || strcmp(cr.subject_id, poll->subject_id) != 0))
		ret = CF_EUNAUTHORIZED;
	if (ret == 0)
		ret = store_login_by_subject(txn, poll->subject_id, login);
	if (ret == 0 && strcmp(login->user_id, poll->user_id) != 0)
		ret = CF_EUNAUTHORIZED;
	return ret == CF_ENOTFOUND ? CF_EUNAUTHORIZED : ret;
}

static int grant_txn(store_txn *txn, void *ctx)
{
	struct poll_ctx *t = ctx;
	struct store_session poll, ch;
	struct store_login login;
	char object[STORE_TOKEN_ID_LEN + 16], detail[STORE_TOKEN_ID_LEN + 16];
	int ret;

	t->result = poll_find(t, txn, &poll);
	if (t->result == 0 && poll.state != SESS_APPROVED)
		t->result = CF_EBADTOKEN; /* cannot happen: read as approved, never goes back */
	if (t->result != 0)
		return t->result == CF_EBADTOKEN ? 0 : t->result;
	challenge_object(poll.parent, detail, sizeof(detail));
	login_object(poll.user_id, object, sizeof(object));
	t->result = grant_check(t, txn, &poll, &login);
	if (t->result != 0 && t->result != CF_EUNAUTHORIZED)
		return t->result;
	if (t->result == 0) {
		memset(&t->res, 0, sizeof(t->res));
		t->res.must_change = login.must_change ? 1 : 0;
		ret = core_session_open_txn(t->c, txn, login.subject_id, login.user_id,
					    t->res.must_change, t->now, t->res.token,
					    &t->res.session);
		if (ret == 0)
			ret = core_login_notices_txn(txn, login.subject_id, &t->res);
		login.last_login_at = t->now;
		if (ret == 0)
			ret = store_login_put(txn, &login);
		if (ret != 0)
			return ret;
	}
	/* granted or refused, the challenge is used up */
	poll.state = SESS_USED;
	ret = store_session_put(txn, &poll);
	if (ret == 0 && store_session_get(txn, poll.parent, &ch) == 0) {
		ch.state = SESS_USED;
		ret = store_session_put(txn, &ch);
	}
	if (ret == 0)
		ret = core_audit_result(txn, t->who, "qrlogin.grant", object, t->result, detail);
	return ret;
}

int core_qr_poll(struct core *c, const struct core_who *who, const char *poll_token, int *pending,
		 struct core_login_result *out)
{
	struct poll_ctx *t = calloc(1, sizeof(*t));
	int ret;

	if (!t)
		return CF_ENOMEM;
	t->c = c;
	t->who = who;
	t->now = cf_now();
	ret = core_token_id(c, poll_token, t->poll_id);
	if (ret == 0)
		ret = store_read(c->st, poll_read, t);
	if (ret == 0 && t->state == SESS_LIVE) {
		*pending = 1;
		goto out;
	}
	if (ret == 0)
		ret = store_write(c->st, grant_txn, t);
	if (ret == 0)
		ret = t->result;
	if (ret == 0) {
		*pending = 0;
		*out = t->res;
		cf_info("QR login granted a session to login %s", t->res.session.user_id);
	}
out:
	cf_zeroize(t, sizeof(*t));
	free(t);
	return ret;
}
