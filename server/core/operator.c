/*
 * operator — the named admin accounts (spec/protocol.md §12 "Operators", issue 10): adding an
 * operator for a key she made, listing them, deactivating one. A name is unique among admin
 * accounts and stays taken after removal, so the audit trail's names never become ambiguous.
 * Never removes the last active operator, nor the one who asks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_clock.h"
#include "cf_crypto.h"
#include "cf_err.h"
#include "cf_log.h"
#include "core_internal.h"

int core_operator_name_ok(const char *name)
{
	const unsigned char *s = (const unsigned char *)name;
	size_t n = name ? strnlen(name, CORE_OPERATOR_NAME_MAX + 1) : 0;

	if (n == 0 || n > CORE_OPERATOR_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < 0x20 || s[i] == 0x7f)
			return 0;
		/* C1 controls are U+0080..U+009F: C2 80..C2 9F in UTF-8 */
		if (s[i] == 0xc2 && i + 1 < n && s[i + 1] >= 0x80 && s[i + 1] <= 0x9f)
			return 0;
	}
	return 1;
}

const char *core_operator_name(const struct store_account *a)
{
	return a->name[0] ? a->name : CORE_OPERATOR_DEFAULT;
}

struct op_ctx {
	const struct core_who *who;
	const char *name;
	const char *self_id;
	struct store_account a;
	int active;
};

static int op_audit(store_txn *txn, const struct op_ctx *o, const char *action)
{
	char object[96];

	snprintf(object, sizeof(object), "account:%s", o->a.id);
	return core_audit(txn, o->who, action, object, "ok", o->a.name);
}

static int add_txn(store_txn *txn, void *ctx)
{
	struct op_ctx *o = ctx;
	int ret = store_admin_by_name(txn, o->a.name, &(struct store_account){0});

	if (ret == 0)
		return CF_ECONFLICT;
	if (ret != CF_ENOTFOUND)
		return ret;
	ret = store_account_get(txn, o->a.id, &(struct store_account){0});
	if (ret == 0)
		return CF_ECONFLICT; /* the key is an account already */
	if (ret != CF_ENOTFOUND)
		return ret;
	/* store_account_put refuses a thumbprint held by another account (CF_ECONFLICT) */
	ret = store_account_put(txn, &o->a);
	return ret ? ret : op_audit(txn, o, "operator.add");
}

int core_operator_add(struct core *c, const struct core_who *who, const char *name,
		      const cf_key *key, const char *jwk, struct store_account *out)
{
	struct op_ctx *o;
	int ret;

	if (!core_operator_name_ok(name) || !jwk || strlen(jwk) >= STORE_JWK_LEN)
		return CF_EMALFORMED;
	if (!(o = calloc(1, sizeof(*o))))
		return CF_ENOMEM;
	o->who = who;
	ret = cf_key_thumbprint(key, o->a.id);
	if (ret == 0) {
		snprintf(o->a.thumbprint, sizeof(o->a.thumbprint), "%s", o->a.id);
		snprintf(o->a.jwk, sizeof(o->a.jwk), "%s", jwk);
		snprintf(o->a.name, sizeof(o->a.name), "%s", name);
		o->a.status = ACCOUNT_VALID;
		o->a.role = ROLE_ADMIN;
		o->a.created_at = cf_now();
		ret = store_write(c->st, add_txn, o);
	}
	if (ret == 0) {
		cf_info("operator %s added", o->a.name);
		*out = o->a;
	}
	free(o);
	return ret;
}

struct list_ctx {
	const char *after_id;
	int (*cb)(const struct store_account *a, void *ctx);
	void *ctx;
};

static int list_txn(store_txn *txn, void *ctx)
{
	struct list_ctx *l = ctx;
	struct store_account after;
	int ret;

	if (!l->after_id)
		return store_admin_list_after(txn, NULL, l->cb, l->ctx);
	/* the cursor is the id of the last account of the previous page */
	ret = store_account_get(txn, l->after_id, &after);
	if (ret == CF_ENOTFOUND || (ret == 0 && (after.role != ROLE_ADMIN || !after.name[0])))
		return CF_EMALFORMED;
	return ret ? ret : store_admin_list_after(txn, after.name, l->cb, l->ctx);
}

int core_operator_list(struct core *c, const char *after_id,
		       int (*cb)(const struct store_account *a, void *ctx), void *ctx)
{
	struct list_ctx l = {after_id, cb, ctx};

	return store_read(c->st, list_txn, &l);
}

static int count_active(const struct store_account *a, void *ctx)
{
	struct op_ctx *o = ctx;

	o->active += a->status == ACCOUNT_VALID;
	return 0;
}

static int remove_txn(store_txn *txn, void *ctx)
{
	struct op_ctx *o = ctx;
	int ret = store_admin_by_name(txn, o->name, &o->a);

	if (ret != 0)
		return ret;
	if (o->a.status != ACCOUNT_VALID || strcmp(o->a.id, o->self_id) == 0)
		return CF_ECONFLICT;
	o->active = 0;
	if ((ret = store_admin_list_after(txn, NULL, count_active, o)) != 0)
		return ret;
	if (o->active < 2)
		return CF_ECONFLICT;
	o->a.status = ACCOUNT_DEACTIVATED;
	ret = store_account_put(txn, &o->a);
	return ret ? ret : op_audit(txn, o, "operator.remove");
}

int core_operator_remove(struct core *c, const struct core_who *who, const char *self_id,
			 const char *name, struct store_account *out)
{
	struct op_ctx *o;
	int ret;

	if (!core_operator_name_ok(name))
		return CF_ENOTFOUND;
	if (!(o = calloc(1, sizeof(*o))))
		return CF_ENOMEM;
	o->who = who;
	o->name = name;
	o->self_id = self_id ? self_id : "";
	ret = store_write(c->st, remove_txn, o);
	if (ret == 0) {
		cf_info("operator %s removed", o->a.name);
		*out = o->a;
	}
	free(o);
	return ret;
}
