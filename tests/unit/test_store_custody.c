/* test_store_custody — the custody record (remote keys, spec/protocol.md §22.4) through the
 * store: every field survives a round trip and a reopen, delete and count, bad records refused. */
#include "check.h"
#include "cf_err.h"
#include "store.h"
#include "test_store_util.h"

#include <string.h>

#define CRED_A "01HZX3K8Q0C4V9T7R2M5N6P1AB"
#define CRED_B "01HZX3K8Q0C4V9T7R2M5N6P1AC"

static void make_custody(struct store_custody *c, const char *id, size_t sealed_len)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->credential_id, sizeof(c->credential_id), "%s", id);
	c->key_type = 3;
	c->key_bits = 3072;
	c->sealed_key_len = sealed_len;
	for (size_t i = 0; i < sealed_len; i++)
		c->sealed_key[i] = (uint8_t)(i * 31 + 7);
	for (int i = 0; i < STORE_CUSTODY_WRAP_LEN; i++) {
		c->pin_wrap[i] = (uint8_t)(i + 1);
		c->puk_wrap[i] = (uint8_t)(255 - i);
	}
	for (int i = 0; i < 16; i++) {
		c->pin_salt[i] = (uint8_t)(0xa0 + i);
		c->puk_salt[i] = (uint8_t)(0x50 + i);
	}
	c->pin_iterations = 600000;
	c->puk_iterations = 10000000;
	c->pin_tries_left = 3;
	c->puk_tries_left = 10;
	c->state = CUSTODY_BLOCKED;
	c->created_at = 1700000000;
	c->updated_at = -1; /* any int64 survives */
}

struct ctx {
	struct store_custody rec, got;
	const char *id;
	uint64_t count;
};

static int put_fn(store_txn *t, void *p)
{
	return store_custody_put(t, &((struct ctx *)p)->rec);
}

static int get_fn(store_txn *t, void *p)
{
	struct ctx *c = p;
	return store_custody_get(t, c->id, &c->got);
}

static int del_fn(store_txn *t, void *p)
{
	return store_custody_delete(t, ((struct ctx *)p)->id);
}

static int count_fn(store_txn *t, void *p)
{
	return store_custody_count(t, &((struct ctx *)p)->count);
}

static struct ctx cx;

static void test_custody_roundtrip_keeps_every_field_across_reopen(void)
{
	char dir[1024];
	store *st = store_test_open(dir, sizeof(dir), NULL);

	CHECK(st != NULL);
	make_custody(&cx.rec, CRED_A, STORE_CUSTODY_KEY_MAX);
	CHECK_EQ_INT(store_write(st, put_fn, &cx), 0);
	store_close(st);
	st = NULL;
	CHECK_EQ_INT(store_test_reopen(dir, NULL, &st), 0);
	cx.id = CRED_A;
	memset(&cx.got, 0x77, sizeof(cx.got));
	CHECK_EQ_INT(store_read(st, get_fn, &cx), 0);
	CHECK(memcmp(&cx.rec, &cx.got, sizeof(cx.rec)) == 0);
	cleanup(st);
}

static void test_custody_missing_is_notfound_and_out_untouched(void)
{
	char dir[1024];
	store *st = store_test_open(dir, sizeof(dir), NULL);

	cx.id = CRED_B;
	memset(&cx.got, 0x77, sizeof(cx.got));
	CHECK_EQ_INT(store_read(st, get_fn, &cx), CF_ENOTFOUND);
	CHECK(cx.got.key_type == 0x77777777);
	cx.id = "";
	CHECK_EQ_INT(store_read(st, get_fn, &cx), CF_ENOTFOUND);
	cleanup(st);
}

static void test_custody_delete_and_count(void)
{
	char dir[1024];
	store *st = store_test_open(dir, sizeof(dir), NULL);

	CHECK_EQ_INT(store_read(st, count_fn, &cx), 0);
	CHECK_EQ_INT(cx.count, 0);
	make_custody(&cx.rec, CRED_A, 100);
	CHECK_EQ_INT(store_write(st, put_fn, &cx), 0);
	make_custody(&cx.rec, CRED_B, 0); /* a revoked record holds no sealed key */
	CHECK_EQ_INT(store_write(st, put_fn, &cx), 0);
	CHECK_EQ_INT(store_write(st, put_fn, &cx), 0); /* replace, not add */
	CHECK_EQ_INT(store_read(st, count_fn, &cx), 0);
	CHECK_EQ_INT(cx.count, 2);
	cx.id = CRED_A;
	CHECK_EQ_INT(store_write(st, del_fn, &cx), 0);
	CHECK_EQ_INT(store_write(st, del_fn, &cx), CF_ENOTFOUND);
	CHECK_EQ_INT(store_read(st, get_fn, &cx), CF_ENOTFOUND);
	CHECK_EQ_INT(store_read(st, count_fn, &cx), 0);
	CHECK_EQ_INT(cx.count, 1);
	cleanup(st);
}

static void test_custody_put_refuses_bad_records(void)
{
	char dir[1024];
	store *st = store_test_open(dir, sizeof(dir), NULL);

	make_custody(&cx.rec, "", 10); /* no key */
	CHECK_EQ_INT(store_write(st, put_fn, &cx), CF_EMALFORMED);
	make_custody(&cx.rec, CRED_A, 10);
	cx.rec.sealed_key_len = STORE_CUSTODY_KEY_MAX + 1;
	CHECK_EQ_INT(store_write(st, put_fn, &cx), CF_EMALFORMED);
	make_custody(&cx.rec, CRED_A, 10);
	memset(cx.rec.credential_id, 'x', sizeof(cx.rec.credential_id)); /* no NUL */
	CHECK_EQ_INT(store_write(st, put_fn, &cx), CF_EMALFORMED);
	CHECK_EQ_INT(store_read(st, count_fn, &cx), 0);
	CHECK_EQ_INT(cx.count, 0);
	cleanup(st);
}

int main(void)
{
	RUN(test_custody_roundtrip_keeps_every_field_across_reopen);
	RUN(test_custody_missing_is_notfound_and_out_untouched);
	RUN(test_custody_delete_and_count);
	RUN(test_custody_put_refuses_bad_records);
	return check_done();
}
