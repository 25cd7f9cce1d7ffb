/* test_store_rate — the counters of rate limits (spec/protocol.md §28) through the store: round
 * trip under an opaque key, keys of bad length refused, and the purge that removes exactly the
 * counters whose window ended; the outbox purge of delivered messages (§28.4). */
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

struct many {
	int n;
	int64_t before;
};

/* n counters, keys 0..n-1 big-endian in 2 octets (plus 0x5a octets), windows ending at
 * 1000 + key: every other one (odd keys) ended long ago. */
static int many_put_fn(store_txn *t, void *p)
{
	struct many *m = p;
	uint8_t key[20];
	struct store_rate r = {0, 1};
	int ret = 0;

	memset(key, 0x5a, sizeof(key));
	for (int i = 0; ret == 0 && i < m->n; i++) {
		key[0] = (uint8_t)(i >> 8);
		key[1] = (uint8_t)i;
		r.window_end = i % 2 ? 10 : 1000 + i;
		ret = store_rate_put(t, key, sizeof(key), &r);
	}
	return ret;
}

static int many_count_fn(store_txn *t, void *p)
{
	struct many *m = p;
	uint8_t key[20];
	struct store_rate r;
	int ret;

	memset(key, 0x5a, sizeof(key));
	m->before = 0; /* here: how many are left, and no odd one among them */
	for (int i = 0; i < m->n; i++) {
		key[0] = (uint8_t)(i >> 8);
		key[1] = (uint8_t)i;
		ret = store_rate_get(t, key, sizeof(key), &r);
		if (ret == 0 && i % 2)
			return -100;
		m->before += ret == 0;
	}
	return 0;
}

static int many_purge_fn(store_txn *t, void *p)
{
	return store_rate_purge(t, ((struct many *)p)->before);
}

/* The purge walks in batches: more counters than one batch, ended and not, all handled. */
static void test_rate_purge_spans_many_batches(void)
{
	char dir[1024];
	store *st = store_test_open(dir, sizeof(dir), NULL);
	struct many m = {300, 500};

	CHECK(st != NULL);
	CHECK_EQ_INT(store_write(st, many_put_fn, &m), 0);
	m.before = 500;
	CHECK_EQ_INT(store_write(st, many_purge_fn, &m), 0);
	CHECK_EQ_INT(store_read(st, many_count_fn, &m), 0);
	CHECK_EQ_INT(m.before, 150);
	m.before = 1000 + 300;
	CHECK_EQ_INT(store_write(st, many_purge_fn, &m), 0);
	CHECK_EQ_INT(store_read(st, many_count_fn, &m), 0);
	CHECK_EQ_INT(m.before, 0);
	cleanup(st);
}

static struct store_message msg;
static size_t purged;

static int msg_put_fn(store_txn *t, void *p)
{
	(void)p;
	msg.id = 0;
	return store_message_put(t, &msg);
}

static int msg_get_fn(store_txn *t, void *p)
{
	struct store_message *out = p;
	return store_message_get(t, out->id, out);
}

static int msg_purge_fn(store_txn *t, void *p)
{
	return store_message_purge(t, *(int64_t *)p, &purged);
}

static int msg_exists(store *st, uint64_t id)
{
	static struct store_message m;

	m.id = id;
	return store_read(st, msg_get_fn, &m) == 0;
}

static void test_message_purge_removes_delivered_messages_older_than_the_cutoff(void)
{
	char dir[1024];
	store *st = store_test_open(dir, sizeof(dir), NULL);
	int states[4] = {MSG_SENT, MSG_FAILED, MSG_QUEUED, MSG_SENT};
	int64_t created[4] = {1000, 1100, 1200, 5000}, cutoff = 2000;

	CHECK(st != NULL);
	for (int i = 0; i < 4; i++) {
		memset(&msg, 0, sizeof(msg));
		msg.channel = 1;
		msg.state = states[i];
		snprintf(msg.to, sizeof(msg.to), "a@example.org");
		snprintf(msg.template_name, sizeof(msg.template_name), "reference");
		msg.body_len = 3;
		memcpy(msg.body, "abc", 3);
		msg.created_at = created[i];
		msg.next_attempt_at = created[i];
		CHECK_EQ_INT(store_write(st, msg_put_fn, NULL), 0);
	}
	CHECK_EQ_INT(store_write(st, msg_purge_fn, &cutoff), 0);
	CHECK(purged == 2);
	CHECK(!msg_exists(st, 1));
	CHECK(!msg_exists(st, 2));
	CHECK(msg_exists(st, 3)); /* still queued */
	CHECK(msg_exists(st, 4)); /* younger */
	cleanup(st);
}

int main(void)
{
	RUN(test_message_purge_removes_delivered_messages_older_than_the_cutoff);
	RUN(test_rate_counter_round_trips_under_an_opaque_key);
	RUN(test_rate_purge_removes_only_windows_that_ended);
	RUN(test_rate_purge_spans_many_batches);
	return check_done();
}
