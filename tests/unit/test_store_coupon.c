/* test_store_coupon — renewal coupons (spec/protocol.md §26) through the store: round trip, the
 * unique code_mac index (found by MAC, refused twice, moved on change), listing by id. */
#include "check.h"
#include "cf_err.h"
#include "store.h"
#include "test_store_util.h"

#include <string.h>

static void make_coupon(struct store_coupon *c, const char *id, uint8_t mac_seed)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->id, sizeof(c->id), "%s", id);
	for (int i = 0; i < 32; i++)
		c->code_mac[i] = (uint8_t)(mac_seed + i);
	snprintf(c->profile, sizeof(c->profile), "remote");
	c->state = COUPON_ISSUED;
	snprintf(c->note, sizeof(c->note), "order 4711");
	c->created_at = 1700000000;
	c->expires_at = 1800000000;
}

struct ctx {
	struct store_coupon rec, got;
	const char *id;
	uint8_t mac[32];
	char seen[4][STORE_ID_LEN];
	int n;
};

static int put_fn(store_txn *t, void *p)
{
	return store_coupon_put(t, &((struct ctx *)p)->rec);
}

static int get_fn(store_txn *t, void *p)
{
	struct ctx *c = p;
	return store_coupon_get(t, c->id, &c->got);
}

static int by_mac_fn(store_txn *t, void *p)
{
	struct ctx *c = p;
	return store_coupon_by_mac(t, c->mac, &c->got);
}

static int note_fn(const struct store_coupon *c, void *p)
{
	struct ctx *x = p;
	if (x->n < 4)
		snprintf(x->seen[x->n], sizeof(x->seen[0]), "%s", c->id);
	x->n++;
	return 0;
}

static int list_fn(store_txn *t, void *p)
{
	((struct ctx *)p)->n = 0;
	return store_coupon_list(t, note_fn, p);
}

static struct ctx cx;

static void test_coupon_round_trips_and_is_found_by_mac(void)
{
	char dir[1024];
	store *st = store_test_open(dir, sizeof(dir), NULL);

	CHECK(st != NULL);
	make_coupon(&cx.rec, "01HZX3K8Q0C4V9T7R2M5N6P1AB", 1);
	cx.rec.state = COUPON_USED;
	snprintf(cx.rec.used_by, sizeof(cx.rec.used_by), "01HZX3K8Q0C4V9T7R2M5N6P1ZZ");
	cx.rec.used_at = 1750000000;
	CHECK_EQ_INT(store_write(st, put_fn, &cx), 0);
	store_close(st);
	st = NULL;
	CHECK_EQ_INT(store_test_reopen(dir, NULL, &st), 0);
	cx.id = "01HZX3K8Q0C4V9T7R2M5N6P1AB";
	memset(&cx.got, 0x33, sizeof(cx.got));
	CHECK_EQ_INT(store_read(st, get_fn, &cx), 0);
	CHECK(memcmp(&cx.rec, &cx.got, sizeof(cx.rec)) == 0);
	memcpy(cx.mac, cx.rec.code_mac, 32);
	memset(&cx.got, 0, sizeof(cx.got));
	CHECK_EQ_INT(store_read(st, by_mac_fn, &cx), 0);
	CHECK_EQ_STR(cx.got.id, "01HZX3K8Q0C4V9T7R2M5N6P1AB");
	cx.mac[31] ^= 1; /* one bit off */
	CHECK_EQ_INT(store_read(st, by_mac_fn, &cx), CF_ENOTFOUND);
	cleanup(st);
}

static void test_coupon_mac_index_is_unique_and_moves(void)
{
	char dir[1024];
	store *st = store_test_open(dir, sizeof(dir), NULL);

	make_coupon(&cx.rec, "C1", 1);
	CHECK_EQ_INT(store_write(st, put_fn, &cx), 0);
	make_coupon(&cx.rec, "C2", 1); /* the same code under another id */
	CHECK_EQ_INT(store_write(st, put_fn, &cx), CF_ECONFLICT);
	cx.id = "C2";
	CHECK_EQ_INT(store_read(st, get_fn, &cx), CF_ENOTFOUND);
	make_coupon(&cx.rec, "C1", 1); /* its own code: a state change */
	cx.rec.state = COUPON_CANCELLED;
	CHECK_EQ_INT(store_write(st, put_fn, &cx), 0);
	make_coupon(&cx.rec, "C1", 9); /* a changed MAC frees the old one */
	CHECK_EQ_INT(store_write(st, put_fn, &cx), 0);
	make_coupon(&cx.rec, "C2", 1);
	CHECK_EQ_INT(store_write(st, put_fn, &cx), 0);
	for (int i = 0; i < 32; i++)
		cx.mac[i] = (uint8_t)(9 + i);
	CHECK_EQ_INT(store_read(st, by_mac_fn, &cx), 0);
	CHECK_EQ_STR(cx.got.id, "C1");
	for (int i = 0; i < 32; i++)
		cx.mac[i] = (uint8_t)(1 + i);
	CHECK_EQ_INT(store_read(st, by_mac_fn, &cx), 0);
	CHECK_EQ_STR(cx.got.id, "C2");
	cleanup(st);
}

static void test_coupons_list_by_id(void)
{
	char dir[1024];
	store *st = store_test_open(dir, sizeof(dir), NULL);

	make_coupon(&cx.rec, "C3", 3);
	CHECK_EQ_INT(store_write(st, put_fn, &cx), 0);
	make_coupon(&cx.rec, "C1", 1);
	CHECK_EQ_INT(store_write(st, put_fn, &cx), 0);
	make_coupon(&cx.rec, "C2", 2);
	CHECK_EQ_INT(store_write(st, put_fn, &cx), 0);
	CHECK_EQ_INT(store_read(st, list_fn, &cx), 0);
	CHECK_EQ_INT(cx.n, 3);
	CHECK_EQ_STR(cx.seen[0], "C1");
	CHECK_EQ_STR(cx.seen[1], "C2");
	CHECK_EQ_STR(cx.seen[2], "C3");
	make_coupon(&cx.rec, "", 4);
	CHECK_EQ_INT(store_write(st, put_fn, &cx), CF_EMALFORMED);
	cleanup(st);
}

int main(void)
{
	RUN(test_coupon_round_trips_and_is_found_by_mac);
	RUN(test_coupon_mac_index_is_unique_and_moves);
	RUN(test_coupons_list_by_id);
	return check_done();
}
