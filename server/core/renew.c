/*
 * renew — a new certificate for an active credential inside its renewal window (§10). Same shape
 * as activation: precheck in a read transaction, sign outside, re-check and commit in one write
 * transaction. The previous certificate stays valid until it expires.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_clock.h"
#include "cf_crypto.h"
#include "cf_err.h"
#include "cf_log.h"
#include "core_internal.h"

struct renew_ctx {
	struct core *c;
	const struct core_who *who;
	const char *account_id;
	const char *credential_id;
	const uint8_t *spki; /* the CSR key's SubjectPublicKeyInfo */
	size_t spki_len;
	int64_t now;
	const struct ca_issued *issued;
	int serial_conflict;
	struct store_enrolment e;
	struct core_issue_result *res;
};

/* renewable(): the CSR is for the current certificate's key. The answer is that certificate
 * again (§10): a client whose renewal answer was lost asks again with the same key. */
#define RENEW_REPEAT 1

/* Credential of this account, usable for renewal now, or RENEW_REPEAT. Fills res->credential and
 * res->cert. */
static int renewable(struct renew_ctx *r, store_txn *txn)
{
	struct store_credential *cr = &r->res->credential;
	struct store_cert *cert = &r->res->cert;
	int64_t start, end;
	int ret;

	ret = store_credential_get(txn, r->credential_id, cr);
	if (ret != 0)
		return ret;
	if (strcmp(cr->account_id, r->account_id) != 0)
		return CF_EUNAUTHORIZED;
	if (cr->status == CRED_REVOKED)
		return CF_EREVOKED;
	if (cr->status == CRED_SUSPENDED)
		return CF_ESUSPENDED;
	ret = store_cert_get(txn, cr->current_serial, cert);
	if (ret != 0)
		return ret == CF_ENOTFOUND ? CF_EINTERNAL : ret;
	if (cert->status == CERT_REVOKED)
		return CF_EREVOKED;
	if (cert->status == CERT_SUSPENDED)
		return CF_ESUSPENDED;
	if (core_cert_has_key(cert, r->spki, r->spki_len))
		return RENEW_REPEAT;
	ret = core_renewal_window(&r->c->cfg, cr->profile, cert->not_before, cert->not_after,
				  &start, &end);
	if (ret != 0)
		return ret;
	if (r->now < start) {
		r->res->retry_at = start;
		return CF_ENOTWINDOW;
	}
	return 0;
}

static int precheck_txn(store_txn *txn, void *ctx)
{
	struct renew_ctx *r = ctx;
	int ret = renewable(r, txn);

	if (ret == RENEW_REPEAT) {
		ret = store_account_get(txn, r->account_id, &r->res->account);
		return ret == 0 ? RENEW_REPEAT : ret;
	}
	if (ret != 0)
		return ret;
	/* The certificate's names come from the enrolment, as at activation. */
	ret = store_enrolment_get(txn, r->res->credential.reference, &r->e);
	return ret == CF_ENOTFOUND ? CF_EINTERNAL : ret;
}

static int renew_txn(store_txn *txn, void *ctx)
{
	struct renew_ctx *r = ctx;
	struct store_credential *cr = &r->res->credential;
	int ret;

	/* Checked again against what concurrent requests committed meanwhile: one that renewed with
	 * this very key makes this a repeat (its certificate is the answer, ours is dropped
	 * unsent); one that renewed with another key closes the window like a renewal made just
	 * before. */
	ret = renewable(r, txn);
	if (ret == RENEW_REPEAT) {
		ret = store_account_get(txn, r->account_id, &r->res->account);
		return ret == 0 ? RENEW_REPEAT : ret; /* nothing to write: the txn is dropped */
	}
	if (ret != 0)
		return ret;
	ret = store_account_get(txn, r->account_id, &r->res->account);
	if (ret != 0)
		return ret;
	ret = core_cert_record(r->issued, cr->id, &r->res->cert);
	if (ret == 0)
		ret = store_cert_put(txn, &r->res->cert, 1);
	r->serial_conflict = ret == CF_ECONFLICT;
	if (ret != 0)
		return ret;
	snprintf(cr->current_serial, sizeof(cr->current_serial), "%s", r->issued->serial);
	ret = store_credential_put(txn, cr);
	if (ret == 0) {
		char object[64], detail[80];

		snprintf(object, sizeof(object), "credential:%s", cr->id);
		snprintf(detail, sizeof(detail), "certificate %s", r->issued->serial);
		ret = core_audit(txn, r->who, "renew", object, "ok", detail);
	}
	return ret;
}

static int issue_and_commit(struct renew_ctx *r, const cf_key *key)
{
	struct ca_issued is;
	int ret = CF_EINTERNAL, attempt;

	for (attempt = 0; attempt < 2; attempt++) {
		memset(&is, 0, sizeof(is));
		ret = core_issue_for(r->c, &r->e, key, r->now, &is);
		if (ret != 0)
			return ret;
		r->issued = &is;
		r->serial_conflict = 0;
		ret = store_write(r->c->st, renew_txn, r);
		r->issued = NULL;
		free(is.der);
		if (!r->serial_conflict)
			break; /* else two random serials collided: issue again once */
	}
	return ret;
}

int core_renew(struct core *c, const struct core_who *who, const char *account_id,
	       const char *credential_id, const uint8_t *csr, size_t csr_len,
	       struct core_issue_result *out)
{
	struct renew_ctx *r;
	cf_key *key = NULL;
	uint8_t *spki = NULL;
	size_t spki_len = 0;
	int ret = CF_EINTERNAL;

	r = calloc(1, sizeof(*r));
	if (!r)
		return CF_ENOMEM;
	r->c = c;
	r->who = who;
	r->account_id = account_id;
	r->credential_id = credential_id;
	r->now = cf_now();
	r->res = out;
	ret = ca_csr_check(csr, csr_len, &key);
	if (ret == CF_EBADKEY)
		ret = CF_EBADCSR; /* the CSR's key is part of the CSR (spec/errors.md badCSR) */
	if (ret != 0)
		goto out;
	ret = cf_key_spki_der(key, &spki, &spki_len);
	if (ret != 0)
		goto out;
	r->spki = spki;
	r->spki_len = spki_len;
	ret = store_read(c->st, precheck_txn, r);
	if (ret == 0)
		ret = issue_and_commit(r, key); /* or RENEW_REPEAT: a concurrent twin committed */
	if (ret == RENEW_REPEAT) {
		out->repeated = 1;
		cf_info("credential %s: renewal repeated, certificate %s sent again", credential_id,
			out->cert.serial);
		ret = 0;
	} else if (ret == 0) {
		__atomic_add_fetch(&c->renewed, 1, __ATOMIC_RELAXED);
		cf_info("credential %s renewed: certificate %s", credential_id, out->cert.serial);
	}
out:
	cf_key_free(key);
	free(spki);
	free(r);
	return ret;
}
