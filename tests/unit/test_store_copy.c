/* test_store_copy — store_copy (certflowd migrate): every table into an empty store, the counts
 * and digests of both sides, the refusal of a store that holds records. The source is the test
 * backend (LMDB, or PostgreSQL with CERTFLOW_TEST_PG), the targets LMDB. */
#include "check.h"
#include "cf_err.h"
#include "store.h"
#include "test_store_util.h"

#include <string.h>

static void make_enrolment(struct store_enrolment *e, const char *ref, int failures)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->reference, sizeof(e->reference), "%s", ref);
	for (int i = 0; i < 32; i++)
		e->code_mac[i] = (uint8_t)(i * 7 + 1);
	strcpy(e->subject, "device-0042");
	strcpy(e->profile, "device");
	e->state = ENROL_LIVE;
	e->failures = failures;
	e->created_at = 1700000000;
	e->expires_at = 1701296000;
}

static void make_cert(struct store_cert *c, const char *serial)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->serial, sizeof(c->serial), "%s", serial);
	strcpy(c->credential_id, "01HZX3K8Q0C4V9T7R2M5N6P1AB");
	c->status = CERT_REVOKED;
	c->reason = 1;
	c->not_before = 1700000000;
	c->not_after = 1700000000 + 86400 * 365;
	c->der_len = 600;
	for (size_t i = 0; i < c->der_len; i++)
		c->der[i] = (uint8_t)(i ^ 0x5a);
}

static int fill(store_txn *t, void *ctx)
{
	struct store_enrolment e;
	struct store_cert c;
	char ref[16];
	uint64_t n;
	int ret = 0;

	(void)ctx;
	for (int i = 0; ret == 0 && i < 40; i++) {
		snprintf(ref, sizeof(ref), "1000000000%02d", i);
		make_enrolment(&e, ref, i % 4);
		ret = store_enrolment_put(t, &e);
	}
	make_cert(&c, "5f1c0a93d2e47b16ac");
	for (int i = 0; ret == 0 && i < 3; i++)
		ret = store_counter_next(t, "crl_number", &n);
	return ret ? ret : store_cert_put(t, &c, 1);
}

static int next_crl_number(store_txn *t, void *ctx)
{
	return store_counter_next(t, "crl_number", ctx);
}

static int get_enrolment(store_txn *t, void *ctx)
{
	return store_enrolment_get(t, "100000000007", ctx);
}

static int put_enrolment(store_txn *t, void *ctx)
{
	struct store_enrolment e;

	(void)ctx;
	make_enrolment(&e, "100000000007", 0); /* its failures reset */
	return store_enrolment_put(t, &e);
}

static size_t table(const struct store_copy_report *r, const char *name)
{
	for (size_t i = 0; i < r->tables; i++)
		if (strcmp(r->t[i].name, name) == 0)
			return i;
	return r->tables;
}

static store *lmdb_at(const char *name)
{
	char dir[600];
	store *st = NULL;

	snprintf(dir, sizeof(dir), "%s/%s", tmp_root, name);
	return store_open(dir, &(struct store_opts){0}, &st) == 0 ? st : NULL;
}

static void test_copy_holds_every_table_and_digests_agree_across_copies(void)
{
	char dir[600];
	store *a = store_test_open(dir, sizeof(dir), NULL), *b = lmdb_at("b"), *c = lmdb_at("c");
	struct store_copy_report *r1 = calloc(1, sizeof(*r1)), *r2 = calloc(1, sizeof(*r2));
	struct store_enrolment e;
	uint64_t n = 0;
	size_t en, me, ce, cr;

	CHECK(a && b && c && r1 && r2);
	if (!a || !b || !c || !r1 || !r2)
		goto out;
	CHECK_EQ_INT(store_write(a, fill, NULL), 0);
	CHECK_EQ_INT(store_copy(a, b, r1), 0);
	CHECK_EQ_INT(store_copy_mismatches(r1), 0);
	en = table(r1, "enrolments");
	me = table(r1, "meta");
	ce = table(r1, "certs");
	cr = table(r1, "certs_revoked");
	CHECK(en < r1->tables && me < r1->tables && ce < r1->tables && cr < r1->tables);
	if (en >= r1->tables || me >= r1->tables || ce >= r1->tables || cr >= r1->tables)
		goto out;
	CHECK_EQ_INT(r1->t[en].records[1], 40);
	CHECK_EQ_INT(r1->t[ce].records[1], 1);
	CHECK_EQ_INT(r1->t[cr].records[1], 1); /* an index came along */
	/* the counter and the revocations counter the revoked certificate moved; LMDB's schema
	 * entry is each store's own */
	CHECK_EQ_INT(r1->t[me].records[1], 2);
	CHECK(r1->copied >= 40 + 1 + 1 + 1);

	/* a store that holds records is refused, and keeps them as they were */
	CHECK_EQ_INT(store_copy(a, b, r2), CF_ECONFLICT);
	CHECK_EQ_INT(store_copy(b, c, r2), 0);
	CHECK_EQ_INT(store_copy_mismatches(r2), 0);
	for (size_t i = 0; i < r1->tables; i++) {
		CHECK_EQ_INT(r2->t[i].records[0], r1->t[i].records[1]);
		CHECK(memcmp(r2->t[i].digest[0], r1->t[i].digest[1], 32) == 0);
	}

	/* the copies are stores: a record reads back, a counter goes on */
	CHECK_EQ_INT(store_read(c, get_enrolment, &e), 0);
	CHECK_EQ_INT(e.failures, 3);
	CHECK_EQ_INT(store_write(c, next_crl_number, &n), 0);
	CHECK_EQ_INT(n, 4);

	/* one changed value changes its table's digest, and only that one */
	CHECK_EQ_INT(store_write(b, put_enrolment, NULL), 0);
	store_close(c);
	c = lmdb_at("d");
	CHECK(c != NULL);
	if (!c)
		goto out;
	CHECK_EQ_INT(store_copy(b, c, r2), 0);
	for (size_t i = 0; i < r1->tables; i++)
		CHECK_EQ_INT(memcmp(r2->t[i].digest[0], r1->t[i].digest[1], 32) != 0, i == en);
out:
	free(r1);
	free(r2);
	store_close(b);
	store_close(c);
	cleanup(a);
}

static void test_empty_source_copies_nothing_and_agrees(void)
{
	char dir[600];
	store *a = store_test_open(dir, sizeof(dir), NULL), *b = lmdb_at("b");
	struct store_copy_report *r = calloc(1, sizeof(*r));

	CHECK(a && b && r);
	if (a && b && r) {
		CHECK_EQ_INT(store_copy(a, b, r), 0);
		CHECK_EQ_INT(r->copied, 0);
		CHECK_EQ_INT(store_copy_mismatches(r), 0);
		/* still empty: a second copy into it is allowed */
		CHECK_EQ_INT(store_copy(a, b, r), 0);
	}
	free(r);
	store_close(b);
	cleanup(a);
}

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	RUN(test_copy_holds_every_table_and_digests_agree_across_copies);
	RUN(test_empty_source_copies_nothing_and_agrees);
	return check_done();
}
