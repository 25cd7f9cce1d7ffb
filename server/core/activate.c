/*
 * activate — an agent's first certificate for an enrolment code (spec/protocol.md §9).
 *
 * The LMDB write lock is never held while signing: (1) the CSR is checked, (2) a read
 * transaction prechecks the enrolment and the code, (3) the CA signs outside any transaction,
 * (4) one write transaction re-checks everything and commits enrolment, account, credential and
 * certificate together. Concurrent activations of one code all sign, but only the first commit
 * wins; the others see the enrolment used. A wrong code skips signing and goes straight to a write
 * transaction that counts the failure.
 *
 * Activation is idempotent like renewal: a used enrolment asked again with the right code by the
 * account that used it, with a CSR for its credential's current key, is answered that credential
 * again (a client whose answer was lost, or a twin that raced its own first request).
 *
 * An enrolment made for an application (§14) links the new credential to the application and
 * its subject; one made by recovery (§17) replaces an older credential, whose current certificate
 * is revoked as superseded in the same transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_clock.h"
#include "cf_crypto.h"
#include "cf_err.h"
#include "cf_log.h"
#include "core_internal.h"
#include "proof.h"

#define REASON_SUPERSEDED 4

struct act_ctx {
	struct core *c;
	const struct core_who *who;
	const struct core_activate_req *req;
	const struct proof_method *proof;
	uint8_t verifier[PROOF_VERIFIER_MAX];
	size_t verifier_len;
	int derive_ret; /* 0, or CF_EBADCODE when the code cannot be right */
	char thumbprint[44];
	const uint8_t *spki; /* the CSR key's SubjectPublicKeyInfo */
	size_t spki_len;
	int64_t now;
	const struct ca_issued *issued; /* NULL: no certificate (precheck, wrong code) */
	int serial_conflict;
	char credential_id[STORE_ID_LEN];
	/* filled by the transactions */
	int code_wrong;
	int unknown;	/* the reference names no enrolment: a->e is a stand-in (§28) */
	int superseded; /* a replaced credential was revoked: the CRL changed */
	int result;	/* answer of a committed failure count */
	struct store_enrolment e;
	struct core_issue_result *res;
};

/* The enrolment is live, not expired, not locked. Writes a->e. */
static int enrolment_usable(struct act_ctx *a, store_txn *txn)
{
	int ret = store_enrolment_get(txn, a->req->reference, &a->e);

	a->unknown = ret == CF_ENOTFOUND;
	if (a->unknown) {
		/* references are guessable: an unknown one gets the same answer, the same work
		 * (code check, counted failure, commit) and the same lock as a wrong code (§28) */
		memset(&a->e, 0, sizeof(a->e));
		snprintf(a->e.reference, sizeof(a->e.reference), "%s", a->req->reference);
		ret = core_ghost_failures_txn(a->c, txn, "activate", a->req->reference, 0,
					      a->c->cfg.max_activation_attempts, a->now,
					      &a->e.failures);
		if (ret == 0 && a->e.failures >= a->c->cfg.max_activation_attempts)
			ret = CF_ELOCKED;
		return ret;
	}
	if (ret != 0)
		return ret;
	if (a->e.state == ENROL_USED)
		return CF_EUSED;
	if (a->e.state == ENROL_CANCELLED)
		return CF_ECANCELLED;
	if (a->e.state == ENROL_LOCKED || a->e.failures >= a->c->cfg.max_activation_attempts)
		return CF_ELOCKED;
	if (a->now >= a->e.expires_at)
		return CF_EEXPIRED;
	return 0;
}

static int code_matches(const struct act_ctx *a)
{
	return a->derive_ret == 0 && a->proof->check(a->verifier, a->verifier_len, a->e.code_mac,
						     sizeof(a->e.code_mac)) == 0;
}

/* An existing account of the key must be valid. CF_ENOTFOUND when there is none. */
static int key_account(struct act_ctx *a, store_txn *txn, struct store_account *acct)
{
	int ret = store_account_by_thumbprint(txn, a->thumbprint, acct);

	if (ret == 0 && acct->status != ACCOUNT_VALID)
		return CF_EDEACTIVATED;
	return ret;
}

/* repeat(): the activation was made before by this request's account and CSR key */
#define ACT_REPEAT 1

/* A used enrolment: ACT_REPEAT (a->res filled with what that activation made) when the code is
 * right, the key's account made it and the CSR is for its credential's current key; else
 * CF_EUSED. Nothing is counted either way: the code is spent. */
static int repeat(struct act_ctx *a, store_txn *txn)
{
	struct core_issue_result *res = a->res;
	int ret;

	if (!code_matches(a) || !a->e.credential_id[0])
		return CF_EUSED;
	ret = key_account(a, txn, &res->account);
	if (ret != 0)
		return ret == CF_ENOTFOUND ? CF_EUSED : ret;
	ret = store_credential_get(txn, a->e.credential_id, &res->credential);
	if (ret != 0)
		return ret == CF_ENOTFOUND ? CF_EUSED : ret;
	if (strcmp(res->credential.account_id, res->account.id) != 0 ||
	    res->credential.status != CRED_ACTIVE)
		return CF_EUSED;
	ret = store_cert_get(txn, res->credential.current_serial, &res->cert);
	if (ret != 0)
		return ret == CF_ENOTFOUND ? CF_EUSED : ret;
	if (!core_cert_has_key(&res->cert, a->spki, a->spki_len))
		return CF_EUSED;
	res->account_created = 0;
	return ACT_REPEAT;
}

static int precheck_txn(store_txn *txn, void *ctx)
{
	struct act_ctx *a = ctx;
	struct store_account acct;
	int ret;

	ret = enrolment_usable(a, txn);
	if (ret == CF_EUSED)
		return repeat(a, txn);
	if (ret != 0)
		return ret;
	a->code_wrong = !code_matches(a);
	if (a->code_wrong)
		return 0;
	ret = key_account(a, txn, &acct);
	return ret == CF_ENOTFOUND ? 0 : ret;
}

static int activate_audit(struct act_ctx *a, store_txn *txn, int result)
{
	char object[64], detail[64] = "";

	snprintf(object, sizeof(object), "enrolment:%s", a->e.reference);
	if (result == 0)
		snprintf(detail, sizeof(detail), "credential %s", a->credential_id);
	return core_audit_result(txn, a->who, "activate", object, result, detail);
}

static int count_failure(struct act_ctx *a, store_txn *txn)
{
	int ret;

	a->result = proof_count_failure(&a->e.failures, a->c->cfg.max_activation_attempts);
	if (a->result == CF_ELOCKED)
		a->e.state = ENROL_LOCKED;
	if (a->unknown)
		ret = core_ghost_failures_txn(a->c, txn, "activate", a->req->reference, 1,
					      a->c->cfg.max_activation_attempts, a->now,
					      &a->e.failures);
	else
		ret = store_enrolment_put(txn, &a->e);
	return ret ? ret : activate_audit(a, txn, a->result);
}

/* The application of the enrolment now has its credential; the credential knows its subject. */
static int link_application(struct act_ctx *a, store_txn *txn, struct store_credential *cr)
{
	struct store_application app;
	int ret;

	if (!a->e.application_id[0])
		return 0;
	ret = store_application_get(txn, a->e.application_id, &app);
	if (ret != 0)
		return ret == CF_ENOTFOUND ? CF_EINTERNAL : ret;
	snprintf(cr->application_id, sizeof(cr->application_id), "%s", app.id);
	snprintf(cr->subject_id, sizeof(cr->subject_id), "%s", app.subject_id);
	app.state = APP_ACTIVATED;
	snprintf(app.credential_id, sizeof(app.credential_id), "%s", a->credential_id);
	ret = store_application_put(txn, &app);
	cf_zeroize(&app.questions, sizeof(app.questions));
	return ret;
}

/* Recovery: the replaced credential's current certificate is revoked (superseded) and the
 * credential with it. */
static int supersede(struct act_ctx *a, store_txn *txn)
{
	struct store_credential old;
	int ret;

	a->superseded = 0;
	if (!a->e.replaces[0])
		return 0;
	ret = store_credential_get(txn, a->e.replaces, &old);
	if (ret != 0)
		return ret == CF_ENOTFOUND ? CF_EINTERNAL : ret;
	if (old.status == CRED_REVOKED)
		return 0; /* revoked meanwhile: nothing left to supersede */
	ret =
	    core_cert_status_txn(txn, a->who, old.current_serial, REASON_SUPERSEDED, a->now, NULL);
	if (ret != 0 && ret != CF_EALREADY)
		return ret;
	/* superseded leaves a credential alive when renewal replaced its certificate; here the
	 * whole credential is replaced */
	ret = store_credential_get(txn, a->e.replaces, &old);
	if (ret != 0)
		return ret;
	old.status = CRED_REVOKED;
	a->superseded = 1;
	return store_credential_put(txn, &old);
}

static int bind_account(struct act_ctx *a, store_txn *txn)
{
	struct store_account *acct = &a->res->account;
	int ret = key_account(a, txn, acct);

	a->res->account_created = 0;
	if (ret != CF_ENOTFOUND)
		return ret;
	memset(acct, 0, sizeof(*acct));
	snprintf(acct->id, sizeof(acct->id), "%s", a->thumbprint);
	snprintf(acct->thumbprint, sizeof(acct->thumbprint), "%s", a->thumbprint);
	if (strlen(a->req->account_jwk) >= sizeof(acct->jwk))
		return CF_EBADKEY;
	strcpy(acct->jwk, a->req->account_jwk);
	acct->status = ACCOUNT_VALID;
	acct->role = ROLE_HOLDER;
	acct->created_at = a->now;
	a->res->account_created = 1;
	return store_account_put(txn, acct);
}

static int activate_txn(store_txn *txn, void *ctx)
{
	struct act_ctx *a = ctx;
	struct store_credential *cr = &a->res->credential;
	int ret;

	a->result = 0;
	ret = enrolment_usable(a, txn);
	if (ret == CF_EUSED)
		return repeat(a,
			      txn); /* a twin of this request committed first: nothing to write */
	if (ret != 0)
		return ret;
	if (!code_matches(a))
		return count_failure(a, txn); /* commits the count; a->result is the answer */
	if (!a->issued)
		return CF_EINTERNAL;
	ret = bind_account(a, txn);
	if (ret != 0)
		return ret;
	ret = core_cert_record(a->issued, a->credential_id, &a->res->cert);
	if (ret == 0)
		ret = store_cert_put(txn, &a->res->cert, 1);
	a->serial_conflict = ret == CF_ECONFLICT; /* the caller issues again */
	if (ret != 0)
		return ret;
	memset(cr, 0, sizeof(*cr));
	snprintf(cr->id, sizeof(cr->id), "%s", a->credential_id);
	snprintf(cr->account_id, sizeof(cr->account_id), "%s", a->res->account.id);
	snprintf(cr->subject, sizeof(cr->subject), "%s", a->e.subject);
	snprintf(cr->profile, sizeof(cr->profile), "%s", a->e.profile);
	snprintf(cr->reference, sizeof(cr->reference), "%s", a->e.reference);
	snprintf(cr->current_serial, sizeof(cr->current_serial), "%s", a->issued->serial);
	cr->status = CRED_ACTIVE;
	cr->created_at = a->now;
	ret = link_application(a, txn, cr);
	if (ret == 0)
		ret = store_credential_put(txn, cr);
	if (ret == 0)
		ret = supersede(a, txn);
	if (ret != 0)
		return ret;
	a->e.state = ENROL_USED;
	snprintf(a->e.credential_id, sizeof(a->e.credential_id), "%s", a->credential_id);
	ret = store_enrolment_put(txn, &a->e);
	return ret ? ret : activate_audit(a, txn, 0);
}

/* Sign, then commit; a serial conflict (two random 64-bit serials colliding) is retried once. */
static int issue_and_commit(struct act_ctx *a, const cf_key *subject_key)
{
	struct ca_issued is;
	int ret = CF_EINTERNAL, attempt;

	for (attempt = 0; attempt < 2; attempt++) {
		memset(&is, 0, sizeof(is));
		ret = core_issue_for(a->c, &a->e, subject_key, a->now, &is);
		if (ret != 0)
			return ret;
		a->issued = &is;
		a->serial_conflict = 0;
		ret = store_write(a->c->st, activate_txn, a);
		a->issued = NULL;
		free(is.der);
		if (!a->serial_conflict)
			break;
		cf_warn("activation of %s: serial conflict, issuing again", a->req->reference);
	}
	return ret;
}

int core_activate(struct core *c, const struct core_who *who, const struct core_activate_req *req,
		  struct core_issue_result *out)
{
	struct act_ctx *a;
	cf_key *csr_key = NULL;
	uint8_t *spki = NULL;
	size_t spki_len = 0;
	int ret = CF_EINTERNAL;

	a = calloc(1, sizeof(*a));
	if (!a)
		return CF_ENOMEM;
	a->c = c;
	a->who = who;
	a->req = req;
	a->res = out;
	a->now = cf_now();
	a->proof = &proof_activation_code;
	ret = ca_csr_check(req->csr, req->csr_len, &csr_key);
	if (ret == CF_EBADKEY)
		ret = CF_EBADCSR; /* the CSR's key is part of the CSR (spec/errors.md badCSR) */
	if (ret != 0)
		goto out;
	ret = cf_key_spki_der(csr_key, &spki, &spki_len);
	if (ret != 0)
		goto out;
	a->spki = spki;
	a->spki_len = spki_len;
	ret = cf_key_thumbprint(req->account_key, a->thumbprint);
	if (ret != 0)
		goto out;
	ret = core_random_id(a->credential_id);
	if (ret != 0)
		goto out;
	/* The HMAC is computed once, outside every transaction. */
	a->derive_ret = a->proof->derive(c->secret, sizeof(c->secret), req->code, a->verifier,
					 &a->verifier_len);
	if (a->derive_ret != 0 && a->derive_ret != CF_EBADCODE) {
		ret = a->derive_ret;
		goto out;
	}
	ret = store_read(c->st, precheck_txn, a);
	if (ret == 0 && a->code_wrong)
		ret = store_write(c->st, activate_txn, a); /* counts the failure, signs nothing */
	else if (ret == 0)
		ret = issue_and_commit(a, csr_key); /* or ACT_REPEAT: a twin committed first */
	if (ret == ACT_REPEAT) {
		out->repeated = 1;
		cf_info("enrolment %s: activation repeated, credential %s sent again",
			req->reference, out->credential.id);
		ret = 0;
		goto out;
	}
	if (ret == 0 && a->superseded)
		core_crl_invalidate(c);
	if (ret == 0)
		ret = a->result;
	if (ret == 0) {
		__atomic_add_fetch(&c->issued, 1, __ATOMIC_RELAXED);
		cf_info("enrolment %s activated: credential %s, certificate %s", req->reference,
			a->credential_id, out->cert.serial);
	} else if (ret == CF_EBADCODE || ret == CF_ELOCKED)
		cf_info("enrolment %s: wrong activation code (%d failures)", req->reference,
			a->e.failures);
out:
	cf_key_free(csr_key);
	free(spki);
	cf_zeroize(a, sizeof(*a));
	free(a);
	return ret;
}
