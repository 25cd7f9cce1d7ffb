/* test_operator_names — operators' names in the core (spec/protocol.md §7, §12 "Operators") on a
 * real LMDB store: the admin account of an older data directory (no name) takes the configured
 * name at start and keeps it afterwards; names are unique among admin accounts; an operator
 * cannot remove herself nor the last active operator; decisions and audit events carry the name;
 * the name rules. */
#include "check.h"
#include "cf_crypto.h"
#include "cf_err.h"
#include "cf_json.h"
#include "core.h"
#include "store.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static store *st;
static struct core c;
static char root[512];

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void fx_init(void)
{
	const char *base = getenv("CERTFLOW_TEST_TMP");
	struct core_config cfg;
	uint8_t secret[32];
	char db[600];

	if (!base || !*base)
		base = "/tmp";
	mkdir(base, 0700);
	snprintf(root, sizeof(root), "%s/operators-XXXXXX", base);
	if (!mkdtemp(root))
		exit(2);
	snprintf(db, sizeof(db), "%s/db", root);
	memset(secret, 7, sizeof(secret));
	core_config_defaults(&cfg);
	cfg.kdf_iterations = 1000;
	if (store_open(db, NULL, &st) != 0 || core_init(&c, st, NULL, &cfg, secret) != 0)
		exit(2);
}

static void fx_fini(void)
{
	core_fini(&c);
	store_close(st);
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* An admin account as a server before operator names wrote it: role admin, no name. */
static int put_old_admin(store_txn *txn, void *ctx)
{
	return store_account_put(txn, ctx);
}

static struct store_account old_admin(const cf_key *key)
{
	struct store_account a = {0};
	cf_json *jwk = NULL;
	char *text;

	cf_key_thumbprint(key, a.id);
	snprintf(a.thumbprint, sizeof(a.thumbprint), "%s", a.id);
	cf_key_to_jwk(key, &jwk);
	text = cf_json_print(jwk);
	snprintf(a.jwk, sizeof(a.jwk), "%s", text ? text : "");
	free(text);
	cf_json_free(jwk);
	a.status = ACCOUNT_VALID;
	a.role = ROLE_ADMIN;
	a.created_at = 1;
	return a;
}

struct find {
	const char *name;
	struct store_account out;
	int rc;
};

static int find_txn(store_txn *txn, void *ctx)
{
	struct find *f = ctx;

	f->rc = store_admin_by_name(txn, f->name, &f->out);
	return 0;
}

static int by_name(const char *name, struct store_account *out)
{
	struct find f = {.name = name};

	if (store_read(st, find_txn, &f) != 0)
		return CF_EINTERNAL;
	if (f.rc == 0)
		*out = f.out;
	return f.rc;
}

static void test_unnamed_admin_of_an_older_data_directory_takes_the_configured_name(void)
{
	cf_key *key = NULL;
	struct store_account a = {0}, got;

	CHECK(cf_key_generate(CF_KEY_P256, 0, &key) == 0);
	a = old_admin(key);
	CHECK_EQ_INT(store_write(st, put_old_admin, &a), 0);
	CHECK_EQ_STR(core_operator_name(&a), "admin");
	CHECK_EQ_INT(by_name("root", &got), CF_ENOTFOUND);
	CHECK_EQ_INT(core_admin_ensure(&c, key, "root"), 0);
	CHECK_EQ_INT(core_account_get(&c, a.id, &got), 0);
	CHECK_EQ_STR(got.name, "root");
	CHECK_EQ_INT(by_name("root", &got), 0);
	CHECK_EQ_STR(got.id, a.id);
	/* a later start with another admin_name keeps the name */
	CHECK_EQ_INT(core_admin_ensure(&c, key, "other"), 0);
	CHECK_EQ_INT(core_account_get(&c, a.id, &got), 0);
	CHECK_EQ_STR(got.name, "root");
	CHECK_EQ_INT(core_admin_ensure(&c, key, "bad\nname"), CF_EMALFORMED);
	cf_key_free(key);
}

static void test_names_are_unique_and_removal_spares_oneself_and_the_last(void)
{
	const struct core_who root_who = {"admin:x", "127.0.0.1", "root"};
	cf_key *k1 = NULL, *k2 = NULL;
	struct store_account root_acct, o, got;
	char *jwk1 = NULL, *jwk2 = NULL;
	cf_json *j = NULL;

	CHECK(by_name("root", &root_acct) == 0);
	CHECK(cf_key_generate(CF_KEY_P256, 0, &k1) == 0);
	CHECK(cf_key_generate(CF_KEY_P384, 0, &k2) == 0);
	CHECK(cf_key_to_jwk(k1, &j) == 0);
	jwk1 = cf_json_print(j);
	cf_json_free(j);
	CHECK(cf_key_to_jwk(k2, &j) == 0);
	jwk2 = cf_json_print(j);
	cf_json_free(j);
	CHECK_EQ_INT(core_operator_add(&c, &root_who, "root", k1, jwk1, &o), CF_ECONFLICT);
	CHECK_EQ_INT(core_operator_add(&c, &root_who, "", k1, jwk1, &o), CF_EMALFORMED);
	CHECK_EQ_INT(core_operator_add(&c, &root_who, "Maria", k1, jwk1, &o), 0);
	CHECK_EQ_STR(o.name, "Maria");
	CHECK_EQ_INT(core_operator_add(&c, &root_who, "Maria2", k1, jwk1, &o), CF_ECONFLICT);
	CHECK_EQ_INT(core_operator_add(&c, &root_who, "Maria", k2, jwk2, &o), CF_ECONFLICT);
	CHECK_EQ_INT(core_operator_remove(&c, &root_who, root_acct.id, "root", &got), CF_ECONFLICT);
	CHECK_EQ_INT(core_operator_remove(&c, &root_who, root_acct.id, "nobody", &got),
		     CF_ENOTFOUND);
	CHECK_EQ_INT(core_operator_remove(&c, &root_who, root_acct.id, "Maria", &got), 0);
	CHECK_EQ_INT(got.status, ACCOUNT_DEACTIVATED);
	CHECK_EQ_INT(core_operator_remove(&c, &root_who, root_acct.id, "Maria", &got),
		     CF_ECONFLICT);
	/* the name stays taken after removal */
	CHECK_EQ_INT(core_operator_add(&c, &root_who, "Maria", k2, jwk2, &o), CF_ECONFLICT);
	free(jwk1);
	free(jwk2);
	cf_key_free(k1);
	cf_key_free(k2);
}

static void test_operator_name_rules(void)
{
	char long_name[70];

	CHECK(core_operator_name_ok("admin"));
	CHECK(core_operator_name_ok("Zoë Müller-Łukasz"));
	CHECK(!core_operator_name_ok(""));
	CHECK(!core_operator_name_ok("tab\there"));
	CHECK(!core_operator_name_ok("del\x7f"));
	CHECK(!core_operator_name_ok("c1\xc2\x85"));
	memset(long_name, 'a', sizeof(long_name));
	long_name[64] = '\0';
	CHECK(core_operator_name_ok(long_name));
	long_name[64] = 'a';
	long_name[65] = '\0';
	CHECK(!core_operator_name_ok(long_name));
}

int main(void)
{
	fx_init();
	test_unnamed_admin_of_an_older_data_directory_takes_the_configured_name();
	test_names_are_unique_and_removal_spares_oneself_and_the_last();
	test_operator_name_rules();
	fx_fini();
	return check_done();
}
