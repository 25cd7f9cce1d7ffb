/* test_store_schema4 — the issue 4 schema: the new credential fields round trip, a schema 3
 * database (no login, session or coupon tables; credentials without the new fields) opens,
 * upgrades in place to 4 and keeps its records, and a newer schema is refused. The test reaches
 * under the store with LMDB itself to make the old database. */
#include "check.h"
#include "cf_err.h"
#include "store.h"
#include "test_store_util.h"

#include <lmdb.h>
#include <string.h>

#define CRED_ID "01HZX3K8Q0C4V9T7R2M5N6P1AB"

/* a credential value written by the store before issue 4 (no tags 11..13) */
static const char old_credential[] =
    "010308011a3031485a58334b38513043345639543752324d354e3650314142020a616363742d7468"
    "756d62030c416461204c6f76656c6163650406706572736f6e050c31323334353637383930313206"
    "01020704306131620805c8c59fd50c";

static const char *const v4_tables[] = {"logins",	   "login_subject",  "sessions",
					"sess_by_subject", "sess_by_expiry", "coupons",
					"coupon_mac"};

struct ctx {
	struct store_credential rec, got;
	struct store_session sess;
};

static int put_fn(store_txn *t, void *p)
{
	return store_credential_put(t, &((struct ctx *)p)->rec);
}

static int get_fn(store_txn *t, void *p)
{
	return store_credential_get(t, CRED_ID, &((struct ctx *)p)->got);
}

static int session_fn(store_txn *t, void *p)
{
	struct ctx *c = p;
	int ret = store_session_put(t, &c->sess);
	return ret ? ret : store_session_purge(t, 1);
}

static struct ctx cx;

/* Rewrite the database in dir as schema `version`: set the version octet, and for 3 drop the
 * tables of schema 4 and put the old credential value. 0 on success. */
static int make_old(const char *dir, uint8_t version)
{
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	MDB_dbi dbi;
	MDB_val k = {6, "schema"}, v = {1, &version};
	uint8_t buf[256];
	int rc;

	if ((rc = mdb_env_create(&env)) != 0 || (rc = mdb_env_set_maxdbs(env, 64)) != 0 ||
	    (rc = mdb_env_open(env, dir, 0, 0600)) != 0 ||
	    (rc = mdb_txn_begin(env, NULL, 0, &txn)) != 0)
		goto out;
	if ((rc = mdb_dbi_open(txn, "meta", 0, &dbi)) != 0 ||
	    (rc = mdb_put(txn, dbi, &k, &v, 0)) != 0)
		goto out;
	if (version == 3) {
		for (size_t i = 0; i < sizeof(v4_tables) / sizeof(v4_tables[0]); i++)
			if ((rc = mdb_dbi_open(txn, v4_tables[i], 0, &dbi)) != 0 ||
			    (rc = mdb_drop(txn, dbi, 1)) != 0)
				goto out;
		k.mv_data = CRED_ID;
		k.mv_size = strlen(CRED_ID);
		v.mv_data = buf;
		v.mv_size = unhex(old_credential, buf, sizeof(buf));
		if ((rc = mdb_dbi_open(txn, "credentials", 0, &dbi)) != 0 ||
		    (rc = mdb_put(txn, dbi, &k, &v, 0)) != 0)
			goto out;
	}
	rc = mdb_txn_commit(txn);
	txn = NULL;
out:
	if (txn)
		mdb_txn_abort(txn);
	if (env)
		mdb_env_close(env);
	return rc;
}

/* The schema version octet of the database in dir, or -1. */
static int schema_of(const char *dir)
{
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	MDB_dbi dbi;
	MDB_val k = {6, "schema"}, v;
	int ver = -1;

	if (mdb_env_create(&env) == 0 && mdb_env_set_maxdbs(env, 64) == 0 &&
	    mdb_env_open(env, dir, MDB_RDONLY, 0600) == 0 &&
	    mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) == 0 &&
	    mdb_dbi_open(txn, "meta", 0, &dbi) == 0 && mdb_get(txn, dbi, &k, &v) == 0 &&
	    v.mv_size == 1)
		ver = *(uint8_t *)v.mv_data;
	if (txn)
		mdb_txn_abort(txn);
	if (env)
		mdb_env_close(env);
	return ver;
}

static void test_credential_remote_fields_round_trip(void)
{
	char dir[1024];
	store *st = store_test_open(dir, sizeof(dir), NULL);

	CHECK(st != NULL);
	memset(&cx.rec, 0, sizeof(cx.rec));
	snprintf(cx.rec.id, sizeof(cx.rec.id), CRED_ID);
	snprintf(cx.rec.profile, sizeof(cx.rec.profile), "remote");
	cx.rec.status = CRED_PENDING;
	cx.rec.remote = 1;
	cx.rec.update_by = 1767225600;
	memset(cx.rec.update_note, 'n', sizeof(cx.rec.update_note) - 1);
	CHECK_EQ_INT(store_write(st, put_fn, &cx), 0);
	store_close(st);
	st = NULL;
	CHECK_EQ_INT(store_test_reopen(dir, NULL, &st), 0);
	memset(&cx.got, 0x11, sizeof(cx.got));
	CHECK_EQ_INT(store_read(st, get_fn, &cx), 0);
	CHECK(memcmp(&cx.rec, &cx.got, sizeof(cx.rec)) == 0);
	CHECK_EQ_INT(cx.got.status, CRED_PENDING);
	cleanup(st);
}

static void test_schema3_database_upgrades_in_place(void)
{
	char dir[1024];
	store *st = store_test_open(dir, sizeof(dir), NULL);

	CHECK(st != NULL);
	store_close(st);
	st = NULL;
	CHECK_EQ_INT(schema_of(dir), 4);
	CHECK_EQ_INT(make_old(dir, 3), 0);
	CHECK_EQ_INT(schema_of(dir), 3);
	CHECK_EQ_INT(store_test_reopen(dir, NULL, &st), 0);
	CHECK_EQ_INT(store_read(st, get_fn, &cx), 0);
	CHECK_EQ_STR(cx.got.account_id, "acct-thumb");
	CHECK_EQ_INT(cx.got.status, CRED_ACTIVE);
	CHECK_EQ_INT(cx.got.remote, 0);
	CHECK_EQ_INT(cx.got.update_by, 0);
	CHECK_EQ_STR(cx.got.update_note, "");
	/* the new tables exist (empty) */
	memset(&cx.sess, 0, sizeof(cx.sess));
	snprintf(cx.sess.id, sizeof(cx.sess.id), "tok");
	cx.sess.kind = SESS_PORTAL;
	cx.sess.expires_at = 10;
	CHECK_EQ_INT(store_write(st, session_fn, &cx), 0);
	store_close(st);
	CHECK_EQ_INT(schema_of(dir), 4);
	cleanup(NULL);
}

static void test_newer_schema_is_refused(void)
{
	char dir[1024];
	store *st = store_test_open(dir, sizeof(dir), NULL);

	store_close(st);
	st = NULL;
	CHECK_EQ_INT(make_old(dir, 5), 0);
	CHECK_EQ_INT(store_test_reopen(dir, NULL, &st), CF_EIO);
	CHECK(st == NULL);
	CHECK_EQ_INT(schema_of(dir), 5);
	cleanup(NULL);
}

/* PostgreSQL: the schema_version table names the record schema; a newer one is refused. */
static void test_postgresql_newer_schema_is_refused(void)
{
	char dir[600], sql[160];
	store *st = store_test_open(dir, sizeof(dir), NULL);

	CHECK(st != NULL);
	store_close(st);
	st = NULL;
	snprintf(sql, sizeof(sql), "UPDATE %s.schema_version SET version = 99", test_schema);
	CHECK_EQ_INT(store_test_sql(sql), 0);
	CHECK_EQ_INT(store_test_reopen(dir, NULL, &st), CF_EIO);
	CHECK(st == NULL);
	cleanup(st);
}

int main(void)
{
	if (store_test_pg()) {
		RUN(test_credential_remote_fields_round_trip);
		RUN(test_postgresql_newer_schema_is_refused);
		return check_done();
	}
	RUN(test_credential_remote_fields_round_trip);
	RUN(test_schema3_database_upgrades_in_place);
	RUN(test_newer_schema_is_refused);
	return check_done();
}
