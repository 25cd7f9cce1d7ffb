/*
 * csc — remote signing through the CSC API v2 subset (spec/protocol.md §25): authorise a batch
 * of hashes with PIN + OTP, which parks the credential's data key under a new SAD bound to those
 * hashes, and sign them with that SAD exactly once.
 *
 * The SAD is a bearer secret: the store holds only its HMAC id and the data key wrapped under a
 * key derived from it and the master key (core_park_dk), so neither the database nor the SAD
 * alone opens the key. The SAD record is read, checked and used up in one write transaction;
 * the clear key exists only inside custody_sign_hash. Nothing secret is logged or audited.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_clock.h"
#include "cf_crypto.h"
#include "cf_err.h"
#include "core_internal.h"

/* A remote credential signs only while it is active with a valid, unexpired certificate. */
static int usable_txn(store_txn *txn, const struct store_credential *cr, int64_t now)
{
	struct store_cert cert;
	int ret;

	if (cr->status == CRED_SUSPENDED)
		return CF_ESUSPENDED;
	if (cr->status == CRED_REVOKED)
		return CF_EREVOKED;
	if (cr->status != CRED_ACTIVE || !cr->current_serial[0])
		return CF_EINACTIVE;
	ret = store_cert_get(txn, cr->current_serial, &cert);
	if (ret != 0)
		return ret == CF_ENOTFOUND ? CF_EINTERNAL : ret;
	if (cert.status == CERT_SUSPENDED)
		return CF_ESUSPENDED;
	if (cert.status == CERT_REVOKED)
		return CF_EREVOKED;
	return now >= cert.not_after ? CF_ECONFLICT : 0; /* expired */
}

struct usable_ctx {
	const struct store_credential *cr;
	int64_t now;
};

static int usable_read(store_txn *txn, void *ctx)
{
	struct usable_ctx *u = ctx;

	return usable_txn(txn, u->cr, u->now);
}

static void audit_object(const char *credential_id, char object[STORE_ID_LEN + 16])
{
	snprintf(object, STORE_ID_LEN + 16, "credential:%s", credential_id);
}

static int check_hashes(const struct core_csc_hashes *h)
{
	if (!h || !h->hashes || h->n < 1 || h->n > CUSTODY_SIGN_BATCH_MAX ||
	    h->hlen != core_csc_hash_len(h->hash_oid))
		return CF_EMALFORMED;
	return 0;
}

int core_csc_send_otp(struct core *c, const struct core_who *who, const struct core_session *s,
		      const char *credential_id, int64_t *retry_at)
{
	struct store_credential cr;
	int ret = core_remote_credential_get(c, s, credential_id, &cr);

	return ret != 0 ? ret : core_portal_otp(c, who, s, retry_at);
}

/* ---- credentials/authorize ------------------------------------------------------------- */

struct auth_ctx {
	const struct core_session *s;
	const char *sad;
	char sad_id[STORE_TOKEN_ID_LEN];
	uint8_t digest[32];
	size_t n;
	int64_t expires_at;
};

/* In the unlock's transaction, once PIN and OTP are right: the credential is still usable and
 * the data key is parked under the new SAD. */
static int authorize_in_txn(struct core *c, store_txn *txn, struct core_remote_unlock *u,
			    const struct custody_unlocked *dk, void *ctx)
{
	struct auth_ctx *a = ctx;
	struct store_session rec;
	int ret = usable_txn(txn, &u->cr, u->now);

	if (ret != 0)
		return ret;
	memset(&rec, 0, sizeof(rec));
	snprintf(rec.id, sizeof(rec.id), "%s", a->sad_id);
	rec.kind = SESS_SAD;
	rec.state = SESS_LIVE;
	snprintf(rec.subject_id, sizeof(rec.subject_id), "%s", a->s->subject_id);
	snprintf(rec.credential_id, sizeof(rec.credential_id), "%s", u->cr.id);
	snprintf(rec.parent, sizeof(rec.parent), "%s", a->s->id);
	memcpy(rec.digest, a->digest, sizeof(rec.digest));
	rec.count = (uint32_t)a->n;
	rec.created_at = u->now;
	rec.expires_at = a->expires_at = u->now + c->cfg.sad_seconds;
	ret = core_park_dk(c, a->sad, dk, rec.blob, sizeof(rec.blob), &rec.blob_len);
	if (ret == 0)
		ret = store_session_put(txn, &rec);
	cf_zeroize(rec.blob, sizeof(rec.blob));
	return ret; /* core_remote_unlock audits "csc.authorize" */
}

int core_csc_authorize(struct core *c, const struct core_who *who, const struct core_session *s,
		       const char *credential_id, const struct core_csc_hashes *h, const char *pin,
		       const char *otp, char sad[CORE_TOKEN_LEN], int64_t *expires_at,
		       int *attempts_left)
{
	struct auth_ctx a = {.s = s, .n = h ? h->n : 0};
	struct core_remote_unlock info;
	struct custody_unlocked dk;
	struct store_credential cr;
	struct usable_ctx uc = {.cr = &cr, .now = cf_now()};
	char token[CORE_TOKEN_LEN];
	int ret;

	*attempts_left = -1;
	if (check_hashes(h) != 0)
		return CF_EMALFORMED;
	/* a credential that cannot sign costs no PIN or OTP attempt */
	ret = core_remote_credential_get(c, s, credential_id, &cr);
	if (ret == 0)
		ret = store_read(c->st, usable_read, &uc);
	if (ret == 0)
		ret = core_csc_digest(h->hash_oid, h->hashes, h->hlen, h->n, a.digest);
	if (ret == 0)
		ret = core_token_new(c, token, a.sad_id);
	if (ret != 0)
		return ret;
	a.sad = token;
	memset(&info, 0, sizeof(info));
	info.otp_attempts_left = -1;
	info.res.attempts_left = -1;
	ret = core_remote_unlock(c, who, s, credential_id, CUSTODY_PIN, pin, otp, "csc.authorize",
				 authorize_in_txn, &a, &dk, &info);
	if (ret == 0) {
		custody_unlocked_wipe(&dk);
		memcpy(sad, token, CORE_TOKEN_LEN);
		*expires_at = a.expires_at;
	} else if (ret == CF_EBADPIN) {
		*attempts_left = info.res.attempts_left;
	} else if (ret == CF_EBADOTP) {
		*attempts_left = info.otp_attempts_left;
	}
	cf_zeroize(token, sizeof(token));
	cf_zeroize(&info, sizeof(info));
	return ret;
}

/* ---- signatures/signHash --------------------------------------------------------------- */

struct sign_ctx {
	struct core *c;
	const struct core_who *who;
	const struct core_session *s;
	const char *credential_id;
	const char *sign_algo;
	const char *hash_oid;
	const char *sad;
	char sad_id[STORE_TOKEN_ID_LEN];
	uint8_t digest[32];
	size_t n;
	int64_t now;
	/* filled by the transaction */
	int result;
	struct store_session rec;
	struct store_custody key;
	struct custody_unlocked u; /* the parked data key and the sealed key: secret */
};

/* The SAD: live, unexpired, this session's, this credential's, for exactly these hashes. */
static int sad_ok(const struct sign_ctx *g, const struct store_session *r)
{
	return r->kind == SESS_SAD && r->state == SESS_LIVE && g->now < r->expires_at &&
	       strcmp(r->credential_id, g->credential_id) == 0 &&
	       strcmp(r->subject_id, g->s->subject_id) == 0 && strcmp(r->parent, g->s->id) == 0 &&
	       r->count == g->n && cf_ct_equal(r->digest, g->digest, sizeof(r->digest));
}

static int sign_check(struct sign_ctx *g, store_txn *txn)
{
	struct store_credential cr;
	int ret = store_session_get(txn, g->sad_id, &g->rec);

	if (ret == CF_ENOTFOUND || (ret == 0 && !sad_ok(g, &g->rec)))
		return CF_EBADSAD;
	if (ret == 0)
		ret = store_credential_get(txn, g->credential_id, &cr);
	if (ret != 0)
		return ret == CF_ENOTFOUND ? CF_EBADSAD : ret;
	ret = usable_txn(txn, &cr, g->now);
	if (ret != 0)
		return ret;
	ret = store_custody_get(txn, g->credential_id, &g->key);
	if (ret != 0)
		return ret == CF_ENOTFOUND ? CF_EINTERNAL : ret;
	if (g->key.state == CUSTODY_REVOKED || g->key.sealed_key_len == 0)
		return CF_EREVOKED;
	if (g->key.state == CUSTODY_BLOCKED)
		return CF_EPINBLOCKED;
	return core_csc_sign_algo_check(g->key.key_type, g->sign_algo, g->hash_oid);
}

/* Every answer is audited and committed; only a success uses the SAD up, taking the parked
 * data key and the sealed key it opens out of the transaction. */
static int sign_txn(store_txn *txn, void *ctx)
{
	struct sign_ctx *g = ctx;
	char object[STORE_ID_LEN + 16], detail[32];
	int ret;

	custody_unlocked_wipe(&g->u); /* fn may run again */
	g->result = sign_check(g, txn);
	if (g->result == 0) {
		ret = core_unpark_dk(g->c, g->sad, g->rec.blob, g->rec.blob_len, g->credential_id,
				     &g->u);
		if (ret == 0)
			ret = custody_unlocked_attach(&g->u, &g->key);
		/* a used SAD keeps no parked key: the record stays only to answer badSAD */
		g->rec.state = SESS_USED;
		cf_zeroize(g->rec.blob, sizeof(g->rec.blob));
		g->rec.blob_len = 0;
		if (ret == 0)
			ret = store_session_put(txn, &g->rec);
		if (ret != 0)
			return ret;
	} else if (cf_err_status(g->result) >= 500) {
		return g->result; /* a store error, not a verdict */
	}
	audit_object(g->credential_id, object);
	snprintf(detail, sizeof(detail), "hashes=%zu", g->n);
	return core_audit_result(txn, g->who, "csc.sign", object, g->result, detail);
}

int core_csc_sign(struct core *c, const struct core_who *who, const struct core_session *s,
		  const char *credential_id, const char *sad, const struct core_csc_hashes *h,
		  const char *sign_algo, struct custody_sig *sigs)
{
	struct sign_ctx *g;
	int ret;

	if (check_hashes(h) != 0)
		return CF_EMALFORMED;
	g = calloc(1, sizeof(*g)); /* the custody record is large */
	if (!g)
		return CF_ENOMEM;
	g->c = c;
	g->who = who;
	g->s = s;
	g->sad = sad;
	g->credential_id = credential_id;
	g->sign_algo = sign_algo;
	g->hash_oid = h->hash_oid;
	g->n = h->n;
	g->now = cf_now();
	/* a SAD of the wrong shape names no record */
	ret = core_token_id(c, sad, g->sad_id);
	if (ret == CF_EMALFORMED)
		ret = CF_EBADSAD;
	if (ret == 0)
		ret = core_csc_digest(h->hash_oid, h->hashes, h->hlen, h->n, g->digest);
	if (ret == 0)
		ret = store_write(c->st, sign_txn, g);
	if (ret == 0)
		ret = g->result;
	if (ret == 0)
		ret = custody_sign_hash(&g->u, h->hashes, h->hlen, h->n, sigs);
	custody_unlocked_wipe(&g->u);
	cf_zeroize(g, sizeof(*g));
	free(g);
	return ret;
}
