/*
 * account — account life: the admin account of the first start, deactivation (RFC 8555 §7.3.6)
 * and key rollover (§7.3.5). Signature checks are done by the caller; this file decides.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_clock.h"
#include "cf_crypto.h"
#include "cf_err.h"
#include "cf_json.h"
#include "cf_log.h"
#include "core_internal.h"

struct acct_ctx {
	const struct core_who *who;
	const char *id;
	const cf_key *old_key;
	char new_tp[44];
	const char *new_jwk;
	const char *contact;
	char holder[64];
	int64_t now;
	struct store_account a;
};

static int account_audit(store_txn *txn, const struct acct_ctx *ac, const char *action)
{
	char object[96];

	snprintf(object, sizeof(object), "account:%s", ac->id);
	return core_audit(txn, ac->who, action, object, "ok", NULL);
}

/* Load account ac->id into ac->a: CF_EDEACTIVATED unless it is valid. */
static int load_live(store_txn *txn, struct acct_ctx *ac)
{
	int ret = store_account_get(txn, ac->id, &ac->a);

	return ret ? ret : ac->a.status != ACCOUNT_VALID ? CF_EDEACTIVATED : 0;
}

/* Store ac->a, changed, and audit action. */
static int save(store_txn *txn, struct acct_ctx *ac, const char *action)
{
	int ret = store_account_put(txn, &ac->a);

	return ret ? ret : account_audit(txn, ac, action);
}

static int deactivate_txn(store_txn *txn, void *ctx)
{
	struct acct_ctx *ac = ctx;
	int ret = load_live(txn, ac);

	if (ret != 0)
		return ret;
	/* an operator leaves by operator-remove, whose rules keep one operator at least (§12) */
	if (ac->a.role == ROLE_ADMIN)
		return CF_ECONFLICT;
	ac->a.status = ACCOUNT_DEACTIVATED;
	return save(txn, ac, "account.deactivate");
}

int core_account_deactivate(struct core *c, const struct core_who *who, const char *id,
			    struct store_account *out)
{
	struct acct_ctx ac = {.who = who, .id = id};
	int ret = store_write(c->st, deactivate_txn, &ac);

	if (ret == 0) {
		cf_info("account %s deactivated", id);
		*out = ac.a;
	}
	return ret;
}

static int contact_txn(store_txn *txn, void *ctx)
{
	struct acct_ctx *ac = ctx;
	int ret = load_live(txn, ac);

	if (ret != 0)
		return ret;
	snprintf(ac->a.contact, sizeof(ac->a.contact), "%s", ac->contact);
	return save(txn, ac, "account.contact");
}

int core_account_contact_set(struct core *c, const struct core_who *who, const char *id,
			     const char *contact, struct store_account *out)
{
	struct acct_ctx ac = {.who = who, .id = id, .contact = contact};
	int ret;

	if (strlen(contact) >= sizeof(ac.a.contact))
		return CF_EMALFORMED;
	ret = store_write(c->st, contact_txn, &ac);
	if (ret == 0)
		*out = ac.a;
	return ret;
}

/* 1 if the account's stored JWK is the public key k. */
static int account_key_is(const struct store_account *a, const cf_key *k)
{
	cf_json *doc = NULL;
	cf_key *cur = NULL;
	int same = 0;

	if (cf_json_parse(a->jwk, strlen(a->jwk), &doc) == 0 && cf_key_from_jwk(doc, &cur) == 0)
		same = cf_key_public_equal(cur, k);
	cf_key_free(cur);
	cf_json_free(doc);
	return same;
}

static int key_change_txn(store_txn *txn, void *ctx)
{
	struct acct_ctx *ac = ctx;
	struct store_account other;
	int ret = load_live(txn, ac);

	if (ret != 0)
		return ret;
	if (!account_key_is(&ac->a, ac->old_key))
		return CF_EUNAUTHORIZED;
	ret = store_account_by_thumbprint(txn, ac->new_tp, &other);
	if (ret == 0) {
		/* the new key is an account key already (maybe this one's) */
		snprintf(ac->holder, sizeof(ac->holder), "%s", other.id);
		return CF_ECONFLICT;
	}
	if (ret != CF_ENOTFOUND)
		return ret;
	if (strlen(ac->new_jwk) >= sizeof(ac->a.jwk))
		return CF_EBADKEY;
	snprintf(ac->a.thumbprint, sizeof(ac->a.thumbprint), "%s", ac->new_tp);
	strcpy(ac->a.jwk, ac->new_jwk);
	return save(txn, ac, "account.key-change");
}

int core_account_key_change(struct core *c, const struct core_who *who, const char *id,
			    const cf_key *old_key, const cf_key *new_key, const char *new_jwk,
			    struct store_account *out, char holder[64])
{
	struct acct_ctx *ac;
	int ret;

	ac = calloc(1, sizeof(*ac));
	if (!ac)
		return CF_ENOMEM;
	ac->who = who;
	ac->id = id;
	ac->old_key = old_key;
	ac->new_jwk = new_jwk;
	ret = cf_key_thumbprint(new_key, ac->new_tp);
	if (ret == 0)
		ret = store_write(c->st, key_change_txn, ac);
	if (ret == 0) {
		cf_info("account %s changed its key", id);
		*out = ac->a;
	} else if (ret == CF_ECONFLICT) {
		memcpy(holder, ac->holder, sizeof(ac->holder));
	}
	free(ac);
	return ret;
}

static int admin_txn(store_txn *txn, void *ctx)
{
	struct acct_ctx *ac = ctx;
	struct store_account had;
	int ret = store_account_get(txn, ac->a.id, &had);

	if (ret == 0 && had.role == ROLE_ADMIN && !had.name[0]) {
		/* made before operators had names (issue 10): it takes the configured one */
		memcpy(had.name, ac->a.name, sizeof(had.name));
		return store_account_put(txn, &had);
	}
	if (ret != CF_ENOTFOUND)
		return ret; /* exists already (0) or a store error */
	return store_account_put(txn, &ac->a);
}

int core_admin_ensure(struct core *c, const cf_key *key, const char *name)
{
	struct acct_ctx *ac;
	cf_json *jwk = NULL;
	char *text = NULL;
	int ret = CF_EINTERNAL;

	if (!core_operator_name_ok(name))
		return CF_EMALFORMED;
	ac = calloc(1, sizeof(*ac));
	if (!ac)
		return CF_ENOMEM;
	snprintf(ac->a.name, sizeof(ac->a.name), "%s", name);
	ret = cf_key_thumbprint(key, ac->a.id);
	if (ret != 0)
		goto out;
	snprintf(ac->a.thumbprint, sizeof(ac->a.thumbprint), "%s", ac->a.id);
	ret = cf_key_to_jwk(key, &jwk);
	if (ret != 0)
		goto out;
	text = cf_json_print(jwk);
	if (!text || strlen(text) >= sizeof(ac->a.jwk)) {
		ret = text ? CF_EBADKEY : CF_ENOMEM;
		goto out;
	}
	strcpy(ac->a.jwk, text);
	ac->a.status = ACCOUNT_VALID;
	ac->a.role = ROLE_ADMIN;
	ac->a.created_at = cf_now();
	ret = store_write(c->st, admin_txn, ac);
out:
	free(text);
	cf_json_free(jwk);
	free(ac);
	return ret;
}
