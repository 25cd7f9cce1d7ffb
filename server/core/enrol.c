/*
 * enrol — enrolment codes: creation (unique reference, random activation code whose HMAC alone is
 * stored) and cancellation. The activation code leaves this file only towards the operator who
 * created it; it is never stored, logged or returned again.
 */
#include <stdio.h>
#include <string.h>

#include "cf_clock.h"
#include "cf_crypto.h"
#include "cf_err.h"
#include "cf_log.h"
#include "core_internal.h"
#include "proof.h"

#define DAY 86400
#define REFERENCE_DIGITS 12
#define REFERENCE_TRIES 16

/* 12 uniformly random decimal digits. */
static int random_reference(char out[REFERENCE_DIGITS + 1])
{
	uint8_t buf[32];
	size_t n = 0, i;

	while (n < REFERENCE_DIGITS) {
		if (cf_random(buf, sizeof(buf)) != 0)
			return CF_ECRYPTO;
		/* reject 250..255 so that every digit is equally likely */
		for (i = 0; i < sizeof(buf) && n < REFERENCE_DIGITS; i++)
			if (buf[i] < 250)
				out[n++] = (char)('0' + buf[i] % 10);
	}
	out[n] = '\0';
	return 0;
}

int core_reference_new(store_txn *txn, char out[STORE_REF_LEN])
{
	struct store_enrolment old;
	int ret, i;

	/* A reference is public and must name one enrolment: draw until it is new. */
	for (i = 0; i < REFERENCE_TRIES; i++) {
		ret = random_reference(out);
		if (ret != 0)
			return ret;
		ret = store_enrolment_get(txn, out, &old);
		if (ret == CF_ENOTFOUND)
			return 0;
		if (ret != 0)
			return ret;
	}
	return CF_EINTERNAL;
}

struct create_ctx {
	struct core *c;
	const struct core_who *who;
	struct store_enrolment e; /* filled but for the reference */
	const uint8_t *eab_key;	  /* ACME: the EAB HMAC key to seal once the reference is known */
};

static int enrolment_audit(store_txn *txn, const struct core_who *who, const char *action,
			   const char *reference)
{
	char object[64];

	snprintf(object, sizeof(object), "enrolment:%s", reference);
	return core_audit(txn, who, action, object, "ok", NULL);
}

static int create_txn(store_txn *txn, void *ctx)
{
	struct create_ctx *cc = ctx;
	int ret = core_reference_new(txn, cc->e.reference);

	cc->e.eab_key_len = 0;
	if (ret == 0 && cc->eab_key)
		ret = core_eab_seal(cc->c, cc->e.reference, cc->eab_key, cc->e.eab_key,
				    sizeof(cc->e.eab_key), &cc->e.eab_key_len);
	if (ret == 0)
		ret = store_enrolment_put(txn, &cc->e);
	return ret ? ret : enrolment_audit(txn, cc->who, "enrolment.create", cc->e.reference);
}

static int copy_field(char *dst, size_t cap, const char *src)
{
	if (!src)
		src = "";
	if (strlen(src) >= cap)
		return CF_EMALFORMED;
	strcpy(dst, src);
	return 0;
}

int core_enrolment_create(struct core *c, const struct core_who *who,
			  const struct core_enrol_req *req, struct store_enrolment *out,
			  char code[25])
{
	struct create_ctx cc;
	char display[PROOF_CODE_DISPLAY + 1];
	uint8_t eab[CORE_EAB_KEY_LEN];
	int64_t now = cf_now();
	int ret = CF_EINTERNAL, i;

	memset(&cc, 0, sizeof(cc));
	cc.c = c;
	cc.who = who;
	if (!req->subject || !req->subject[0])
		return CF_EMALFORMED;
	/* a remote credential's key is made by the server at approval (§24), never enrolled */
	if (req->profile &&
	    (!core_profile_known(req->profile) || core_profile_remote(req->profile)))
		return CF_EMALFORMED;
	if (copy_field(cc.e.subject, sizeof(cc.e.subject), req->subject) != 0 ||
	    copy_field(cc.e.profile, sizeof(cc.e.profile),
		       req->profile ? req->profile : "device") ||
	    copy_field(cc.e.email, sizeof(cc.e.email), req->email) != 0)
		return CF_EMALFORMED;
	for (i = 0; i < 4 && req->dns_names[i]; i++)
		if (copy_field(cc.e.dns_names[i], sizeof(cc.e.dns_names[i]), req->dns_names[i]) !=
		    0)
			return CF_EMALFORMED;
	if (i == 4 && req->dns_names[4])
		return CF_EMALFORMED;
	cc.e.acme_validate = req->eab_key_out ? req->acme_validate : 0;
	cc.e.state = ENROL_LIVE;
	cc.e.failures = 0;
	cc.e.created_at = now;
	cc.e.expires_at = now + (int64_t)c->cfg.enrolment_code_days * DAY;

	ret = proof_code_generate(c->secret, sizeof(c->secret), display, cc.e.code_mac);
	if (ret != 0)
		goto out;
	if (req->eab_key_out) {
		/* Drawn again while its base64url text would start with '-' (first
		 * six bits 62): certbot's and lego's option parsers read such a
		 * value as an option. Costs 0.02 of 256 bits. */
		do {
			if (cf_random(eab, sizeof(eab)) != 0) {
				ret = CF_ECRYPTO;
				goto out;
			}
		} while ((eab[0] >> 2) == 62);
		cc.eab_key = eab;
	}
	ret = store_write(c->st, create_txn, &cc);
	if (ret != 0)
		goto out;
	if (req->eab_key_out)
		memcpy(req->eab_key_out, eab, sizeof(eab));
	cf_info("enrolment %s created for subject %s (%s)", cc.e.reference, cc.e.subject,
		cc.e.profile);
	memcpy(code, display, sizeof(display));
	*out = cc.e;
	memset(out->code_mac, 0, sizeof(out->code_mac));
out:
	cf_zeroize(display, sizeof(display));
	cf_zeroize(eab, sizeof(eab));
	cf_zeroize(cc.e.code_mac, sizeof(cc.e.code_mac));
	return ret;
}

struct cancel_ctx {
	const struct core_who *who;
	const char *reference;
	int64_t now;
	struct store_enrolment e;
};

static int cancel_txn(store_txn *txn, void *ctx)
{
	struct cancel_ctx *cc = ctx;
	int ret;

	ret = store_enrolment_get(txn, cc->reference, &cc->e);
	if (ret != 0)
		return ret;
	/* Only a live enrolment can be cancelled (§12): used, locked, cancelled and expired ones
	 * are final already. */
	if (cc->e.state != ENROL_LIVE || cc->now >= cc->e.expires_at)
		return CF_ECONFLICT;
	cc->e.state = ENROL_CANCELLED;
	ret = store_enrolment_put(txn, &cc->e);
	return ret ? ret : enrolment_audit(txn, cc->who, "enrolment.cancel", cc->reference);
}

int core_enrolment_cancel(struct core *c, const struct core_who *who, const char *reference,
			  struct store_enrolment *out)
{
	struct cancel_ctx cc = {.who = who, .reference = reference, .now = cf_now()};
	int ret;

	ret = store_write(c->st, cancel_txn, &cc);
	if (ret == 0) {
		cf_info("enrolment %s cancelled", reference);
		*out = cc.e;
	}
	return ret;
}
