/*
 * acme — the RFC 8555 profile (spec/acme.md) on the records the native protocol uses.
 *
 * An ACME enrolment code carries an external account binding key, sealed like a TOTP seed. The
 * newAccount that proves it makes (or takes) the account of the request's key and a credential
 * "pending" bound to the enrolment — its subject, profile and names — and spends the code, in one
 * write; a wrong MAC counts a failure of the code as a wrong activation code does. Orders are
 * short-lived session records (SESS_ACME_ORDER) of that account, ready at once for names of the
 * enrolment (pre-authorised, RFC 8555 §7.1.4). finalize signs outside any transaction, then one
 * write re-checks the order and commits the certificate: the credential's first one, or its
 * renewal (the certificate that ARI's "replaces" named is revoked as superseded).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_b64.h"
#include "cf_clock.h"
#include "cf_crypto.h"
#include "cf_err.h"
#include "cf_log.h"
#include "core_internal.h"
#include "proof.h"

#define ORDER_LIFE_SECS (7 * 86400)
#define REASON_SUPERSEDED 4
#define SUBJECT_BIT 4

static void eab_aad(const char *reference, char aad[40])
{
	snprintf(aad, 40, "eab:%s", reference);
}

int core_eab_seal(const struct core *c, const char *reference, const uint8_t key[CORE_EAB_KEY_LEN],
		  uint8_t *out, size_t cap, size_t *out_len)
{
	char aad[40];

	eab_aad(reference, aad);
	return core_seal(c, aad, key, CORE_EAB_KEY_LEN, out, cap, out_len);
}

/* ---- newAccount with a binding ----------------------------------------------------------- */

struct bind_ctx {
	struct core *c;
	const struct core_who *who;
	const char *kid, *jwk, *input, *contact;
	size_t input_len;
	const uint8_t *mac;
	size_t mac_len;
	char thumbprint[44];
	char credential_id[STORE_ID_LEN];
	int64_t now;
	int result, created;
	struct store_enrolment e;
	struct store_account acct;
};

static int bind_audit(struct bind_ctx *b, store_txn *txn, int result)
{
	char object[64], detail[128] = "";

	snprintf(object, sizeof(object), "enrolment:%s", b->e.reference);
	if (result == 0)
		snprintf(detail, sizeof(detail), "ACME account %.43s, credential %s", b->acct.id,
			 b->credential_id);
	return core_audit_result(txn, b->who, "acme.account", object, result, detail);
}

/* The binding's MAC under the enrolment's key: 1 if right. */
static int mac_right(struct bind_ctx *b)
{
	uint8_t key[CORE_EAB_KEY_LEN + 8], mac[32];
	size_t klen = 0;
	char aad[40];
	int ok;

	eab_aad(b->e.reference, aad);
	if (core_open(b->c, aad, b->e.eab_key, b->e.eab_key_len, key, sizeof(key), &klen) != 0)
		return 0;
	ok = b->mac_len == sizeof(mac) &&
	     cf_hmac_sha256(key, klen, b->input, b->input_len, mac) == 0 &&
	     cf_ct_equal(mac, b->mac, sizeof(mac));
	cf_zeroize(key, sizeof(key));
	cf_zeroize(mac, sizeof(mac));
	return ok;
}

/* A wrong MAC, or a reference that names no enrolment (answered alike, §28): counted, committed;
 * b->result is the answer. */
static int count_failure(struct bind_ctx *b, store_txn *txn, int unknown)
{
	int max = b->c->cfg.max_activation_attempts, ret;

	if (unknown) {
		ret = core_ghost_failures_txn(b->c, txn, "activate", b->kid, 1, max, b->now,
					      &b->e.failures);
		b->result = b->e.failures >= max ? CF_ELOCKED : CF_EBADCODE;
	} else {
		b->result = proof_count_failure(&b->e.failures, max);
		if (b->result == CF_ELOCKED)
			b->e.state = ENROL_LOCKED;
		ret = store_enrolment_put(txn, &b->e);
	}
	return ret ? ret : bind_audit(b, txn, b->result);
}

static int has_credential(const struct store_credential *cr, void *ctx)
{
	(void)cr;
	(void)ctx;
	return 1;
}

static int bind_txn(store_txn *txn, void *ctx)
{
	struct bind_ctx *b = ctx;
	struct store_credential cr;
	int ret, max = b->c->cfg.max_activation_attempts;

	b->result = 0;
	b->created = 0;
	ret = store_enrolment_get(txn, b->kid, &b->e);
	if (ret == CF_ENOTFOUND) {
		memset(&b->e, 0, sizeof(b->e));
		snprintf(b->e.reference, sizeof(b->e.reference), "%s", b->kid);
		ret = core_ghost_failures_txn(b->c, txn, "activate", b->kid, 0, max, b->now,
					      &b->e.failures);
		if (ret == 0 && b->e.failures >= max)
			return CF_ELOCKED;
		return ret ? ret : count_failure(b, txn, 1);
	}
	if (ret != 0)
		return ret;
	if (b->e.state == ENROL_USED)
		return CF_EUSED;
	if (b->e.state == ENROL_CANCELLED)
		return CF_ECANCELLED;
	if (b->e.state == ENROL_LOCKED || b->e.failures >= max)
		return CF_ELOCKED;
	if (b->now >= b->e.expires_at)
		return CF_EEXPIRED;
	if (b->e.eab_key_len == 0)
		return CF_EUNAUTHORIZED; /* a code for certflow-agent only */
	if (!mac_right(b))
		return count_failure(b, txn, 0);
	ret = store_account_by_thumbprint(txn, b->thumbprint, &b->acct);
	if (ret == 0) {
		if (b->acct.status != ACCOUNT_VALID)
			return CF_EDEACTIVATED;
		ret = store_credential_list_by_account(txn, b->acct.id, has_credential, NULL);
		if (ret == 1)
			return CF_ECONFLICT; /* one binding, one account: this key has its own */
		if (ret != 0)
			return ret;
	} else if (ret == CF_ENOTFOUND) {
		memset(&b->acct, 0, sizeof(b->acct));
		snprintf(b->acct.id, sizeof(b->acct.id), "%s", b->thumbprint);
		snprintf(b->acct.thumbprint, sizeof(b->acct.thumbprint), "%s", b->thumbprint);
		if (strlen(b->jwk) >= sizeof(b->acct.jwk))
			return CF_EBADKEY;
		strcpy(b->acct.jwk, b->jwk);
		snprintf(b->acct.contact, sizeof(b->acct.contact), "%s", b->contact);
		b->acct.status = ACCOUNT_VALID;
		b->acct.role = ROLE_HOLDER;
		b->acct.created_at = b->now;
		b->created = 1;
		if ((ret = store_account_put(txn, &b->acct)) != 0)
			return ret;
	} else {
		return ret;
	}
	memset(&cr, 0, sizeof(cr));
	snprintf(cr.id, sizeof(cr.id), "%s", b->credential_id);
	snprintf(cr.account_id, sizeof(cr.account_id), "%s", b->acct.id);
	snprintf(cr.subject, sizeof(cr.subject), "%s", b->e.subject);
	snprintf(cr.profile, sizeof(cr.profile), "%s", b->e.profile);
	snprintf(cr.reference, sizeof(cr.reference), "%s", b->e.reference);
	snprintf(cr.application_id, sizeof(cr.application_id), "%s", b->e.application_id);
	cr.status = CRED_PENDING;
	cr.created_at = b->now;
	if ((ret = store_credential_put(txn, &cr)) != 0)
		return ret;
	b->e.state = ENROL_USED;
	snprintf(b->e.credential_id, sizeof(b->e.credential_id), "%s", b->credential_id);
	ret = store_enrolment_put(txn, &b->e);
	return ret ? ret : bind_audit(b, txn, 0);
}

int core_acme_bind(struct core *c, const struct core_who *who, const cf_key *account_key,
		   const char *account_jwk, const char *kid, const char *signing_input,
		   size_t signing_input_len, const uint8_t *mac, size_t mac_len,
		   const char *contact, struct store_account *out, int *created)
{
	struct bind_ctx *b = calloc(1, sizeof(*b));
	int ret;

	if (!b)
		return CF_ENOMEM;
	b->c = c;
	b->who = who;
	b->kid = kid;
	b->jwk = account_jwk;
	b->contact = contact ? contact : "";
	b->input = signing_input;
	b->input_len = signing_input_len;
	b->mac = mac;
	b->mac_len = mac_len;
	b->now = cf_now();
	ret = cf_key_thumbprint(account_key, b->thumbprint);
	if (ret == 0)
		ret = core_random_id(b->credential_id);
	if (ret == 0)
		ret = store_write(c->st, bind_txn, b);
	if (ret == 0)
		ret = b->result;
	if (ret == 0) {
		*out = b->acct;
		*created = b->created;
		cf_info("enrolment %s bound to ACME account %s (credential %s)", kid, b->acct.id,
			b->credential_id);
	} else if (ret == CF_EBADCODE || ret == CF_ELOCKED) {
		cf_info("enrolment %s: wrong external account binding (%d failures)", kid,
			b->e.failures);
	}
	cf_zeroize(b, sizeof(*b));
	free(b);
	return ret;
}

/* ---- orders ------------------------------------------------------------------------------ */

static int first_credential(const struct store_credential *cr, void *ctx)
{
	*(struct store_credential *)ctx = *cr;
	return 1;
}

/* The bound credential of account_id and its enrolment. */
static int bound_txn(store_txn *txn, const char *account_id, struct store_credential *cr,
		     struct store_enrolment *e)
{
	int ret = store_credential_list_by_account(txn, account_id, first_credential, cr);

	if (ret == 0)
		return CF_ENOTFOUND;
	if (ret != 1)
		return ret;
	ret = store_enrolment_get(txn, cr->reference, e);
	return ret == CF_ENOTFOUND ? CF_EINTERNAL : ret;
}

/* A host name as the subject of an enrolment may be ordered: letters, digits, '-', '.'. */
static int host_like(const char *s)
{
	if (!s[0] || !strchr(s, '.'))
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '.')
			return 0;
	return 1;
}

/* The enrolment's name of bit i ("" if none). */
static const char *name_of(const struct store_enrolment *e, int i)
{
	if (i < SUBJECT_BIT)
		return e->dns_names[i];
	return host_like(e->subject) ? e->subject : "";
}

/* Bit of name among the enrolment's names, -1 if none. */
static int bit_of(const struct store_enrolment *e, const char *name)
{
	for (int i = 0; i <= SUBJECT_BIT; i++) {
		const char *n = name_of(e, i);

		if (n[0] && strcasecmp(n, name) == 0)
			return i;
	}
	return -1;
}

/* The names of an order's bit set (deduplicated: a subject that is also a DNS name counts once). */
static void order_names(struct core_acme_order *o, uint32_t bits)
{
	size_t n = 0;

	for (int i = 0; i <= SUBJECT_BIT; i++) {
		const char *name = name_of(&o->e, i);

		if (!(bits & (1u << i)) || !name[0] || bit_of(&o->e, name) != i)
			continue;
		o->names[n++] = name;
	}
	o->names[n] = NULL;
}

int core_acme_order_count(const struct core_acme_order *o)
{
	int n = 0;

	while (o->names[n])
		n++;
	return n;
}

int core_acme_validation_parse(const char *text)
{
	int bits = 0;

	if (strcmp(text, "http-01") == 0)
		bits = CORE_ACME_HTTP01;
	else if (strcmp(text, "dns-01") == 0)
		bits = CORE_ACME_DNS01;
	else if (strcmp(text, "http-01,dns-01") == 0 || strcmp(text, "dns-01,http-01") == 0)
		bits = CORE_ACME_HTTP01 | CORE_ACME_DNS01;
	return bits;
}

const char *core_acme_validation_name(int bits)
{
	switch (bits & (CORE_ACME_HTTP01 | CORE_ACME_DNS01)) {
	case CORE_ACME_HTTP01:
		return "http-01";
	case CORE_ACME_DNS01:
		return "dns-01";
	case CORE_ACME_HTTP01 | CORE_ACME_DNS01:
		return "http-01,dns-01";
	default:
		return "";
	}
}

/* The order record keeps, for each name i, bit i when it is proved and bit DNS_PROVED + i when
 * dns-01 proved it. */
#define DNS_PROVED 8

int core_acme_proved_by(const struct core_acme_order *o, int index)
{
	if (!(o->proved & (1u << index)) || !o->e.acme_validate)
		return 0;
	return o->proved & (1u << (DNS_PROVED + index)) ? CORE_ACME_DNS01 : CORE_ACME_HTTP01;
}

int core_acme_token(const struct core *c, const char *order_id, int index, int type, char out[44])
{
	uint8_t mac[32];
	char msg[64];
	int ret;

	/* one token per challenge: http-01 keeps the derivation of the codes made before dns-01 */
	snprintf(msg, sizeof(msg), "acme-%s:%.31s:%d",
		 type == CORE_ACME_DNS01 ? "dns-01" : "http-01", order_id, index);
	ret = cf_hmac_sha256(c->secret, sizeof(c->secret), msg, strlen(msg), mac);
	if (ret == 0)
		ret = cf_b64url_encode(mac, sizeof(mac), out, 44, NULL);
	cf_zeroize(mac, sizeof(mac));
	return ret;
}

static void order_fill(struct core_acme_order *o, const struct store_session *s)
{
	snprintf(o->id, sizeof(o->id), "%.31s", s->id);
	snprintf(o->account_id, sizeof(o->account_id), "%s", s->parent);
	snprintf(o->credential_id, sizeof(o->credential_id), "%s", s->credential_id);
	snprintf(o->serial, sizeof(o->serial), "%.47s", s->detail);
	o->valid = s->state == SESS_USED;
	o->invalid = s->state == SESS_INVALID;
	o->proved = (uint32_t)s->restricted;
	o->expires_at = s->expires_at;
	order_names(o, s->count);
}

struct order_ctx {
	const char *account_id, *id, *replaces;
	const char *const *names;
	size_t n;
	int64_t now;
	char *bad;
	struct store_credential cr;
	struct store_session s;
	struct core_acme_order *out;
};

static int order_new_txn(store_txn *txn, void *ctx)
{
	struct order_ctx *oc = ctx;
	uint32_t bits = 0;
	int ret, b, count = 0;

	ret = bound_txn(txn, oc->account_id, &oc->cr, &oc->out->e);
	if (ret == CF_ENOTFOUND)
		return CF_EUNAUTHORIZED;
	if (ret != 0)
		return ret;
	if (oc->cr.remote)
		return CF_EUNAUTHORIZED; /* its key is the server's (§22): never a client's CSR */
	for (size_t i = 0; i < oc->n; i++) {
		b = bit_of(&oc->out->e, oc->names[i]);
		if (b < 0) {
			snprintf(oc->bad, 254, "%s", oc->names[i]);
			return CF_EREJECTEDID;
		}
		bits |= 1u << b;
	}
	if (oc->cr.status == CRED_REVOKED)
		return CF_EREVOKED;
	if (oc->cr.status == CRED_SUSPENDED)
		return CF_ESUSPENDED;
	if (oc->replaces[0] &&
	    (oc->cr.status != CRED_ACTIVE || strcmp(oc->replaces, oc->cr.current_serial) != 0))
		return CF_ECONFLICT;
	memset(&oc->s, 0, sizeof(oc->s));
	snprintf(oc->s.id, sizeof(oc->s.id), "%s", oc->out->id);
	oc->s.kind = SESS_ACME_ORDER;
	oc->s.state = SESS_LIVE;
	snprintf(oc->s.parent, sizeof(oc->s.parent), "%s", oc->account_id);
	/* indexed by the account, for its orders list (RFC 8555 §7.1.2.1): the index key holds the
	 * first 31 characters of the account id (a 43-character thumbprint, never the length of a
	 * subject id), parent the whole id */
	snprintf(oc->s.subject_id, sizeof(oc->s.subject_id), "%.31s", oc->account_id);
	snprintf(oc->s.credential_id, sizeof(oc->s.credential_id), "%s", oc->cr.id);
	snprintf(oc->s.detail, sizeof(oc->s.detail), "%s", oc->replaces);
	oc->s.count = bits;
	/* pre-authorised unless the enrolment asks for proof (every index valid at once) */
	oc->s.restricted = oc->out->e.acme_validate ? 0 : 0x7fffffff;
	oc->s.created_at = oc->now;
	oc->s.expires_at = oc->now + ORDER_LIFE_SECS;
	order_fill(oc->out, &oc->s);
	for (const char *const *p = oc->out->names; *p; p++)
		count++;
	if (count > 4) { /* a certificate carries at most 4 DNS names (§8) */
		snprintf(oc->bad, 254, "%s", oc->out->names[4]);
		return CF_EREJECTEDID;
	}
	return store_session_put(txn, &oc->s);
}

int core_acme_order_new(struct core *c, const char *account_id, const char *const *names, size_t n,
			const char *replaces, struct core_acme_order *out, char bad[254])
{
	struct order_ctx *oc = calloc(1, sizeof(*oc));
	int ret;

	if (!oc)
		return CF_ENOMEM;
	memset(out, 0, sizeof(*out));
	bad[0] = '\0';
	oc->account_id = account_id;
	oc->names = names;
	oc->n = n;
	oc->replaces = replaces ? replaces : "";
	oc->now = cf_now();
	oc->bad = bad;
	oc->out = out;
	ret = core_random_id(out->id);
	if (ret == 0)
		ret = store_write(c->st, order_new_txn, oc);
	free(oc);
	return ret;
}

static int order_get_txn(store_txn *txn, void *ctx)
{
	struct order_ctx *oc = ctx;
	int ret = store_session_get(txn, oc->id, &oc->s);

	if (ret != 0)
		return ret;
	if (oc->s.kind != SESS_ACME_ORDER || strcmp(oc->s.parent, oc->account_id) != 0)
		return CF_ENOTFOUND;
	ret = store_credential_get(txn, oc->s.credential_id, &oc->cr);
	if (ret == 0)
		ret = store_enrolment_get(txn, oc->cr.reference, &oc->out->e);
	if (ret != 0)
		return ret == CF_ENOTFOUND ? CF_EINTERNAL : ret;
	order_fill(oc->out, &oc->s);
	return 0;
}

int core_acme_order_get(struct core *c, const char *account_id, const char *id,
			struct core_acme_order *out)
{
	struct order_ctx *oc = calloc(1, sizeof(*oc));
	int ret;

	if (!oc)
		return CF_ENOMEM;
	memset(out, 0, sizeof(*out));
	oc->account_id = account_id;
	oc->id = id;
	oc->out = out;
	ret = strlen(id) < STORE_TOKEN_ID_LEN ? store_read(c->st, order_get_txn, oc) : CF_ENOTFOUND;
	free(oc);
	return ret;
}

struct list_ctx {
	const char *account_id;
	char (*ids)[STORE_ID_LEN];
	size_t n;
	int64_t now;
};

static int list_cb(const struct store_session *s, void *ctx)
{
	struct list_ctx *l = ctx;

	if (l->n >= CORE_ACME_ORDERS_MAX)
		return 1; /* stop */
	if (s->kind == SESS_ACME_ORDER && strcmp(s->parent, l->account_id) == 0 &&
	    s->state != SESS_INVALID && l->now < s->expires_at)
		snprintf(l->ids[l->n++], STORE_ID_LEN, "%.31s", s->id);
	return 0;
}

static int list_txn(store_txn *txn, void *ctx)
{
	struct list_ctx *l = ctx;
	char key[STORE_ID_LEN];
	int ret;

	l->n = 0;
	snprintf(key, sizeof(key), "%.31s", l->account_id);
	ret = store_session_list_by_subject(txn, key, list_cb, l);
	return ret == 1 ? 0 : ret;
}

int core_acme_order_list(struct core *c, const char *account_id, char (*ids)[STORE_ID_LEN],
			 size_t *n)
{
	struct list_ctx l = {account_id, ids, 0, cf_now()};
	int ret = store_read(c->st, list_txn, &l);

	*n = ret == 0 ? l.n : 0;
	return ret;
}

/* ---- finalize ---------------------------------------------------------------------------- */

struct fin_ctx {
	struct core *c;
	const struct core_who *who;
	struct order_ctx oc;
	const struct ca_issued *issued;
	int serial_conflict, superseded, renewed;
	int64_t now;
	struct store_cert cert;
};

/* The order is still ready and its credential usable. */
static int fin_check(struct fin_ctx *f, store_txn *txn)
{
	int ret = order_get_txn(txn, &f->oc);

	if (ret != 0)
		return ret;
	if (f->oc.s.state != SESS_LIVE || f->now >= f->oc.s.expires_at)
		return CF_EORDERNOTREADY;
	for (int i = 0; f->oc.out->names[i]; i++)
		if (!(f->oc.s.restricted & (1 << i)))
			return CF_EORDERNOTREADY; /* a name not proved yet */
	if (f->oc.cr.status == CRED_REVOKED)
		return CF_EREVOKED;
	if (f->oc.cr.status == CRED_SUSPENDED)
		return CF_ESUSPENDED;
	return 0;
}

static int fin_read(store_txn *txn, void *ctx)
{
	return fin_check(ctx, txn);
}

static int fin_txn(store_txn *txn, void *ctx)
{
	struct fin_ctx *f = ctx;
	struct store_credential *cr = &f->oc.cr;
	char object[64], detail[96], old[STORE_SERIAL_LEN];
	int ret = fin_check(f, txn);

	f->superseded = 0;
	if (ret != 0)
		return ret;
	ret = core_cert_record(f->issued, cr->id, &f->cert);
	if (ret == 0)
		ret = store_cert_put(txn, &f->cert, 1);
	f->serial_conflict = ret == CF_ECONFLICT;
	if (ret != 0)
		return ret;
	f->renewed = cr->status == CRED_ACTIVE;
	snprintf(old, sizeof(old), "%s", cr->current_serial);
	snprintf(cr->current_serial, sizeof(cr->current_serial), "%s", f->cert.serial);
	cr->status = CRED_ACTIVE;
	if ((ret = store_credential_put(txn, cr)) != 0)
		return ret;
	/* ARI's replaces: the certificate it named (the current one when the order was made, and
	 * still the current one) is superseded now */
	if (f->renewed && f->oc.s.detail[0] && strcmp(f->oc.s.detail, old) == 0) {
		ret = core_cert_status_txn(txn, f->who, old, REASON_SUPERSEDED, f->now, NULL);
		if (ret != 0 && ret != CF_EALREADY)
			return ret;
		f->superseded = ret == 0;
	}
	f->oc.s.state = SESS_USED;
	snprintf(f->oc.s.detail, sizeof(f->oc.s.detail), "%s", f->cert.serial);
	if ((ret = store_session_put(txn, &f->oc.s)) != 0)
		return ret;
	order_fill(f->oc.out, &f->oc.s);
	snprintf(object, sizeof(object), "credential:%s", cr->id);
	snprintf(detail, sizeof(detail), "certificate %s (ACME order %s)", f->cert.serial,
		 f->oc.s.id);
	return core_audit(txn, f->who, f->renewed ? "renew" : "activate", object, "ok", detail);
}

/* The CSR asks for exactly the order's names (each at least once, no other). */
static int csr_names_match(const uint8_t *csr, size_t len, const struct core_acme_order *o)
{
	char names[16][CA_NAME_MAX];
	size_t n = 0, i;
	int found;

	if (ca_csr_names(csr, len, names, 16, &n) != 0 || n == 0)
		return 0;
	for (i = 0; i < n; i++) {
		found = 0;
		for (const char *const *p = o->names; *p && !found; p++)
			found = strcasecmp(*p, names[i]) == 0;
		if (!found)
			return 0;
	}
	for (const char *const *p = o->names; *p; p++) {
		found = 0;
		for (i = 0; i < n && !found; i++)
			found = strcasecmp(*p, names[i]) == 0;
		if (!found)
			return 0;
	}
	return 1;
}

int core_acme_finalize(struct core *c, const struct core_who *who, const char *account_id,
		       const char *id, const uint8_t *csr, size_t csr_len,
		       struct core_acme_order *out)
{
	struct fin_ctx *f = calloc(1, sizeof(*f));
	struct store_enrolment names;
	struct ca_issued is;
	cf_key *key = NULL;
	int ret, attempt, i;

	if (!f)
		return CF_ENOMEM;
	memset(out, 0, sizeof(*out));
	f->c = c;
	f->who = who;
	f->oc.account_id = account_id;
	f->oc.id = id;
	f->oc.out = out;
	f->now = cf_now();
	ret = strlen(id) < STORE_TOKEN_ID_LEN ? store_read(c->st, fin_read, f) : CF_ENOTFOUND;
	if (ret != 0)
		goto done;
	ret = ca_csr_check_acme(csr, csr_len, &key);
	if (ret == CF_EBADKEY)
		ret = CF_EBADCSR;
	if (ret == 0 && !csr_names_match(csr, csr_len, out))
		ret = CF_EBADCSR;
	if (ret != 0)
		goto done;
	/* the certificate carries the order's names, its first one as commonName too (ACME clients
	 * renew the names they find in the certificate: a subject that is no DNS name would be
	 * asked for as one), under the enrolment's profile */
	names = out->e;
	snprintf(names.subject, sizeof(names.subject), "%s", out->names[0]);
	memset(names.dns_names, 0, sizeof(names.dns_names));
	for (i = 0; i < 4 && out->names[i]; i++)
		snprintf(names.dns_names[i], sizeof(names.dns_names[i]), "%s", out->names[i]);
	for (attempt = 0; attempt < 2; attempt++) {
		memset(&is, 0, sizeof(is));
		ret = core_issue_for(c, &names, key, f->now, &is);
		if (ret != 0)
			goto done;
		f->issued = &is;
		f->serial_conflict = 0;
		ret = store_write(c->st, fin_txn, f);
		f->issued = NULL;
		free(is.der);
		if (!f->serial_conflict)
			break;
	}
	if (ret == 0) {
		if (f->superseded)
			core_crl_invalidate(c);
		if (f->renewed)
			__atomic_add_fetch(&c->renewed, 1, __ATOMIC_RELAXED);
		else
			__atomic_add_fetch(&c->issued, 1, __ATOMIC_RELAXED);
		cf_info("ACME order %s finalized: credential %s, certificate %s", id,
			out->credential_id, out->serial);
	}
done:
	cf_key_free(key);
	free(f);
	return ret;
}

/* ---- validation outcomes -------------------------------------------------------------------- */

struct val_ctx {
	struct order_ctx oc;
	const struct core_who *who;
	int index, type, ok;
	const char *detail;
	int64_t now;
};

static int validated_txn(store_txn *txn, void *ctx)
{
	struct val_ctx *v = ctx;
	char object[64], detail[160];
	int ret = order_get_txn(txn, &v->oc);

	if (ret != 0)
		return ret;
	if (v->index < 0 || v->index >= core_acme_order_count(v->oc.out))
		return CF_ENOTFOUND;
	if (v->oc.s.state != SESS_LIVE || v->now >= v->oc.s.expires_at)
		return CF_EORDERNOTREADY;
	if (v->ok)
		v->oc.s.restricted |=
		    1 << v->index | (v->type == CORE_ACME_DNS01 ? 1 << (DNS_PROVED + v->index) : 0);
	else
		v->oc.s.state = SESS_INVALID;
	if ((ret = store_session_put(txn, &v->oc.s)) != 0)
		return ret;
	order_fill(v->oc.out, &v->oc.s);
	snprintf(object, sizeof(object), "acme-order:%s", v->oc.s.id);
	snprintf(detail, sizeof(detail), "%s %.64s: %.80s", core_acme_validation_name(v->type),
		 v->oc.out->names[v->index], v->detail ? v->detail : "");
	return core_audit(txn, v->who, "acme.validate", object, v->ok ? "ok" : "incorrectResponse",
			  detail);
}

int core_acme_validated(struct core *c, const struct core_who *who, const char *account_id,
			const char *id, int index, int type, int ok, const char *detail,
			struct core_acme_order *out)
{
	struct val_ctx *v = calloc(1, sizeof(*v));
	int ret;

	if (!v)
		return CF_ENOMEM;
	memset(out, 0, sizeof(*out));
	v->oc.account_id = account_id;
	v->oc.id = id;
	v->oc.out = out;
	v->who = who;
	v->index = index;
	v->type = type;
	v->ok = ok;
	v->detail = detail;
	v->now = cf_now();
	ret = strlen(id) < STORE_TOKEN_ID_LEN ? store_write(c->st, validated_txn, v) : CF_ENOTFOUND;
	free(v);
	return ret;
}
