/* test_store_rate — the counters of rate limits (spec/protocol.md §28) through the store: round
 * trip under an opaque key, keys of bad length refused, and the purge that removes exactly the
 * counters whose window ended. */
#include "check.h"
#include "cf_err.h"
#include "store.h"
#include "test_store_util.h"

#include <string.h>

struct ctx {
	uint8_t key[STORE_RATE_KEY_MAX + 1];
	size_t key_len;
	struct store_rate rec, got;
	int64_t before;
};

static struct ctx cx;

static int put_fn(store_txn *t, void *p)
{
	struct ctx *c = p;
	return store_rate_put(t, c->key, c->key_len, &c->rec);
}

static int get_fn(store_txn *t, void *p)
{
	struct ctx *c = p;
	return store_rate_get(t, c->key, c->key_len, &c->got);
}

static int purge_fn(store_txn *t, void *p)
{
	return store_rate_purge(t, ((struct ctx *)p)->before);
}

static void put_one(store *st, uint8_t seed, int64_t window_end, uint32_t count)
{
	memset(cx.key, seed, sizeof(cx.key));
	cx.key_len = 32;
	cx.rec.window_end = window_end;
	cx.rec.count = count;
	CHECK_EQ_INT(store_write(st, put_fn, &cx), 0);
}

static int get_one(store *st, uint8_t seed)
{
	memset(cx.key, seed, sizeof(cx.key));
	cx.key_len = 32;
	memset(&cx.got, 0, sizeof(cx.got));
	return store_read(st, get_fn, &cx);
}

static void test_rate_counter_round_trips_under_an_opaque_key(void)
{
	char dir[1024];
	store *st = store_test_open(dir, sizeof(dir), NULL);

	CHECK(st != NULL);
	CHECK_EQ_INT(get_one(st, 7), CF_ENOTFOUND);
	put_one(st, 7, 1800000123, 4000000000u);
	CHECK_EQ_INT(get_one(st, 7), 0);
	CHECK(cx.got.window_end == 1800000123);
	CHECK(cx.got.count == 4000000000u);
	CHECK_EQ_INT(get_one(st, 8), CF_ENOTFOUND);
	cx.key_len = 0;
	CHECK_EQ_INT(store_write(st, put_fn, &cx), CF_EINTERNAL);
	cx.key_len = STORE_RATE_KEY_MAX + 1;
	CHECK_EQ_INT(store_write(st, put_fn, &cx), CF_EINTERNAL);
	cleanup(st);
}

static void test_rate_purge_removes_only_windows_that_ended(void)
{
	char dir[1024];
	store *st = store_test_open(dir, sizeof(dir), NULL);

	CHECK(st != NULL);
	put_one(st, 1, 1000, 1);
	put_one(st, 2, 3000, 1);
	put_one(st, 3, 1999, 1);
	put_one(st, 4, 2000, 1);
	cx.before = 2000;
	CHECK_EQ_INT(store_write(st, purge_fn, &cx), 0);
	CHECK_EQ_INT(get_one(st, 1), CF_ENOTFOUND);
	CHECK_EQ_INT(get_one(st, 3), CF_ENOTFOUND);
	CHECK_EQ_INT(get_one(st, 2), 0);
	CHECK_EQ_INT(get_one(st, 4), 0);
	cx.before = 5000;
	CHECK_EQ_INT(store_write(st, purge_fn, &cx), 0);
	CHECK_EQ_INT(get_one(st, 2), CF_ENOTFOUND);
	CHECK_EQ_INT(get_one(st, 4), CF_ENOTFOUND);
	cleanup(st);
}

int main(void)
{
	RUN(test_rate_counter_round_trips_under_an_opaque_key);
	RUN(test_rate_purge_removes_only_windows_that_ended);
	return check_done();
}
