/*
 * core — set-up, profiles and renewal windows, status names, and plain reads. The journeys that
 * change state are in the other files of this directory.
 */
#include "core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_clock.h"
#include "cf_crypto.h"
#include "cf_err.h"
#include "notify.h"

#define DAY 86400

const char *core_public_url(const struct core_config *cfg, const char *own_url)
{
	return cfg->public_url[0] ? cfg->public_url : own_url;
}

void core_config_defaults(struct core_config *cfg)
{
	cfg->enrolment_code_days = 15;
	cfg->max_activation_attempts = 5;
	cfg->acme_http01_port = 80;
	cfg->device_validity_days = 365;
	cfg->signing_validity_days = 1095;
	cfg->signing_renewal_days = 90;
	cfg->auto_approve[0] = '\0';
	cfg->questions_required = 2;
	cfg->question_attempts = 5;
	cfg->link_token_minutes = 60;
	cfg->recovery_otp = 1;
	cfg->otp_digits = 6;
	cfg->otp_step_secs = 30;
	cfg->otp_window_steps = 1;
	cfg->otp_max_failures = 5;
	cfg->sms_otp_minutes = 5;
	cfg->otp_resend_secs = 60;
	cfg->otp_resend_per_hour = 5;
	cfg->emergency_max_failures = 5;
	cfg->kdf_iterations = 600000;
	cfg->remote_key_type = CF_KEY_P256;
	cfg->remote_key_bits = 0;
	cfg->pin_max_tries = 5;
	cfg->puk_max_tries = 10;
	cfg->login_max_failures = 5;
	cfg->session_minutes = 30;
	cfg->sad_seconds = 300;
	cfg->qr_login_seconds = 120;
	cfg->update_minutes = 15;
	snprintf(cfg->entitlement, sizeof(cfg->entitlement), "coupon");
	cfg->entitlement_command[0] = '\0';
	/* per address generous (many users behind one NAT), per target strict (§28) */
	static const struct core_rate_limit rates[RATE_KINDS] = {
	    [RATE_RECOVERY_ADDR] = {30, 3600},	[RATE_RECOVERY_EMAIL] = {3, 3600},
	    [RATE_LOGIN_ADDR] = {600, 60},	[RATE_LOGIN_USER] = {20, 300},
	    [RATE_QR_ADDR] = {600, 60},		[RATE_ACTIVATE_ADDR] = {600, 60},
	    [RATE_ACTIVATE_REF] = {20, 3600},	[RATE_APPLY_ADDR] = {200, 3600},
	    [RATE_EMERGENCY_ADDR] = {60, 60},	[RATE_SMS_ADDR] = {60, 3600},
	    [RATE_QUESTIONS_ADDR] = {60, 3600},
	};
	memcpy(cfg->rate, rates, sizeof(rates));
	cfg->outbox_keep_days = 30;
}

int core_init(struct core *c, store *st, ca *authority, const struct core_config *cfg,
	      const uint8_t secret[32])
{
	memset(c, 0, sizeof(*c));
	c->st = st;
	c->ca = authority;
	c->cfg = *cfg;
	memcpy(c->secret, secret, sizeof(c->secret));
	c->crl_dirty = 1;
	if (pthread_mutex_init(&c->crl_lock, NULL) != 0)
		return CF_EINTERNAL;
	return 0;
}

void core_fini(struct core *c)
{
	if (!c || !c->st)
		return;
	cf_zeroize(c->secret, sizeof(c->secret));
	cf_zeroize(c->master, sizeof(c->master));
	c->master_loaded = 0;
	pthread_mutex_destroy(&c->crl_lock);
	free(c->crl_der);
	c->crl_der = NULL;
	c->st = NULL;
}

int core_profile_known(const char *profile)
{
	return profile && (strcmp(profile, "device") == 0 || strcmp(profile, "signing") == 0 ||
			   core_profile_remote(profile));
}

int core_profile_remote(const char *profile)
{
	return profile && strcmp(profile, "remote") == 0;
}

/* A remote credential's certificate is a signing certificate (§24.1). */
static int signing_like(const char *profile)
{
	return profile && (strcmp(profile, "signing") == 0 || core_profile_remote(profile));
}

int core_profile_validity(const struct core_config *cfg, const char *profile, int64_t *secs)
{
	if (profile && strcmp(profile, "device") == 0)
		*secs = (int64_t)cfg->device_validity_days * DAY;
	else if (signing_like(profile))
		*secs = (int64_t)cfg->signing_validity_days * DAY;
	else
		return CF_EMALFORMED;
	return 0;
}

int core_renewal_window(const struct core_config *cfg, const char *profile, int64_t not_before,
			int64_t not_after, int64_t *start, int64_t *end)
{
	int64_t s;

	if (not_after < not_before)
		return CF_EINTERNAL;
	if (profile && strcmp(profile, "device") == 0)
		s = not_after - (not_after - not_before) / 3;
	else if (signing_like(profile))
		s = not_after - (int64_t)cfg->signing_renewal_days * DAY;
	else
		return CF_EMALFORMED;
	if (s < not_before)
		s = not_before;
	*start = s;
	*end = not_after;
	return 0;
}

const char *core_enrolment_status(const struct store_enrolment *e, int64_t now)
{
	switch (e->state) {
	case ENROL_USED:
		return "used";
	case ENROL_LOCKED:
		return "locked";
	case ENROL_CANCELLED:
		return "cancelled";
	default:
		return now >= e->expires_at ? "expired" : "live";
	}
}

const char *core_cert_status(const struct store_cert *cert, int64_t now)
{
	if (cert->status == CERT_REVOKED)
		return "revoked";
	if (cert->status == CERT_SUSPENDED)
		return "suspended";
	return now >= cert->not_after ? "expired" : "valid";
}

const char *core_credential_status(const struct store_credential *cr, int64_t cur_not_after,
				   int64_t now)
{
	if (cr->status == CRED_REVOKED)
		return "revoked";
	if (cr->status == CRED_SUSPENDED)
		return "suspended";
	if (cr->status == CRED_PENDING)
		return "pending";
	return cur_not_after && now >= cur_not_after ? "expired" : "active";
}

/* ---- reads ---------------------------------------------------------------------------- */

struct get_ctx {
	const char *key;
	void *out;
};

static int account_get_txn(store_txn *txn, void *ctx)
{
	struct get_ctx *g = ctx;
	return store_account_get(txn, g->key, g->out);
}

int core_account_get(struct core *c, const char *id, struct store_account *out)
{
	struct store_account a;
	struct get_ctx g = {.key = id, .out = &a};
	int ret = store_read(c->st, account_get_txn, &g);

	if (ret == 0)
		*out = a;
	return ret;
}

static int account_by_thumbprint_txn(store_txn *txn, void *ctx)
{
	struct get_ctx *g = ctx;
	return store_account_by_thumbprint(txn, g->key, g->out);
}

int core_account_by_thumbprint(struct core *c, const char *thumbprint, struct store_account *out)
{
	struct store_account a;
	struct get_ctx g = {.key = thumbprint, .out = &a};
	int ret = store_read(c->st, account_by_thumbprint_txn, &g);

	if (ret == 0)
		*out = a;
	return ret;
}

static int credential_get_txn(store_txn *txn, void *ctx)
{
	struct get_ctx *g = ctx;
	return store_credential_get(txn, g->key, g->out);
}

int core_credential_get(struct core *c, const char *id, struct store_credential *out)
{
	struct store_credential cr;
	struct get_ctx g = {.key = id, .out = &cr};
	int ret = store_read(c->st, credential_get_txn, &g);

	if (ret == 0)
		*out = cr;
	return ret;
}

static int cert_get_txn(store_txn *txn, void *ctx)
{
	struct get_ctx *g = ctx;
	return store_cert_get(txn, g->key, g->out);
}

int core_cert_get(struct core *c, const char *serial, struct store_cert *out)
{
	struct get_ctx g = {.key = serial, .out = out};

	/* store_cert_get writes out only on success */
	return store_read(c->st, cert_get_txn, &g);
}

struct list_ctx {
	const char *key;
	union {
		int (*enrol)(const struct store_enrolment *e, void *ctx);
		int (*cred)(const struct store_credential *cr, void *ctx);
		int (*cert)(const struct store_cert *cert, void *ctx);
	} cb;
	void *ctx;
};

static int account_creds_txn(store_txn *txn, void *ctx)
{
	struct list_ctx *l = ctx;
	return store_credential_list_by_account(txn, l->key, l->cb.cred, l->ctx);
}

int core_account_credentials(struct core *c, const char *account_id,
			     int (*cb)(const struct store_credential *cr, void *ctx), void *ctx)
{
	struct list_ctx l = {.key = account_id, .cb.cred = cb, .ctx = ctx};
	return store_read(c->st, account_creds_txn, &l);
}

static int cred_list_txn(store_txn *txn, void *ctx)
{
	struct list_ctx *l = ctx;
	return store_credential_list_after(txn, l->key, l->cb.cred, l->ctx);
}

int core_credential_list(struct core *c, const char *after,
			 int (*cb)(const struct store_credential *cr, void *ctx), void *ctx)
{
	struct list_ctx l = {.key = after, .cb.cred = cb, .ctx = ctx};
	return store_read(c->st, cred_list_txn, &l);
}

static int cred_certs_txn(store_txn *txn, void *ctx)
{
	struct list_ctx *l = ctx;
	return store_cert_list_by_credential(txn, l->key, l->cb.cert, l->ctx);
}

int core_credential_certs(struct core *c, const char *id,
			  int (*cb)(const struct store_cert *cert, void *ctx), void *ctx)
{
	struct list_ctx l = {.key = id, .cb.cert = cb, .ctx = ctx};
	return store_read(c->st, cred_certs_txn, &l);
}

static int enrol_list_txn(store_txn *txn, void *ctx)
{
	struct list_ctx *l = ctx;
	return store_enrolment_list_after(txn, l->key, l->cb.enrol, l->ctx);
}

int core_enrolment_list(struct core *c, const char *after,
			int (*cb)(const struct store_enrolment *e, void *ctx), void *ctx)
{
	struct list_ctx l = {.key = after, .cb.enrol = cb, .ctx = ctx};
	return store_read(c->st, enrol_list_txn, &l);
}

void core_metrics(struct core *c, struct core_metrics *out)
{
	memset(out, 0, sizeof(*out));
	out->issued = __atomic_load_n(&c->issued, __ATOMIC_RELAXED);
	out->renewed = __atomic_load_n(&c->renewed, __ATOMIC_RELAXED);
	(void)notify_queued(c->nt, &out->outbox_queued);
	(void)store_size(c->st, &out->store_bytes);
}
