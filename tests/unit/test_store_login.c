/* test_store_login — holder logins (spec/protocol.md §23) through the store: every field round
 * trips across a reopen, the subject index is unique and follows the record. */
#include "check.h"
#include "cf_err.h"
#include "store.h"
#include "test_store_util.h"

#include <string.h>

#define SUBJ_A "01HZX3K8Q0C4V9T7R2M5N6P1AB"
#define SUBJ_B "01HZX3K8Q0C4V9T7R2M5N6P1AC"

static void make_login(struct store_login *l, const char *user_id, const char *subject_id)
{
	memset(l, 0, sizeof(*l));
	snprintf(l->user_id, sizeof(l->user_id), "%s", user_id);
	snprintf(l->subject_id, sizeof(l->subject_id), "%s", subject_id);
	for (int i = 0; i < 32; i++)
		l->verifier[i] = (uint8_t)(i * 7 + 1);
	for (int i = 0; i < 16; i++)
		l->salt[i] = (uint8_t)(0xc0 + i);
	l->iterations = 600000;
	l->must_change = 1;
	l->failures = 4;
	l->created_at = 1700000000;
	l->changed_at = -5;
	l->last_login_at = 1700000600;
}

struct ctx {
	struct store_login rec, got;
	const char *key;
};

static int put_fn(store_txn *t, void *p)
{
	return store_login_put(t, &((struct ctx *)p)->rec);
}

static int get_fn(store_txn *t, void *p)
{
	struct ctx *c = p;
	return store_login_get(t, c->key, &c->got);
}

static int by_subject_fn(store_txn *t, void *p)
{
	struct ctx *c = p;
	return store_login_by_subject(t, c->key, &c->got);
}

static struct ctx cx;

static void test_login_keeps_every_field_across_reopen(void)
{
	char dir[1024];
	store *st = store_test_open(dir, sizeof(dir), NULL);

	CHECK(st != NULL);
	make_login(&cx.rec, "0123456789", SUBJ_A);
	CHECK_EQ_INT(store_write(st, put_fn, &cx), 0);
	store_close(st);
	st = NULL;
	CHECK_EQ_INT(store_test_reopen(dir, NULL, &st), 0);
	cx.key = "0123456789";
	memset(&cx.got, 0x55, sizeof(cx.got));
	CHECK_EQ_INT(store_read(st, get_fn, &cx), 0);
	CHECK(memcmp(&cx.rec, &cx.got, sizeof(cx.rec)) == 0);
	cx.key = SUBJ_A;
	memset(&cx.got, 0, sizeof(cx.got));
	CHECK_EQ_INT(store_read(st, by_subject_fn, &cx), 0);
	CHECK_EQ_STR(cx.got.user_id, "0123456789");
	cleanup(st);
}

static void test_login_missing_is_notfound_and_out_untouched(void)
{
	char dir[1024];
	store *st = store_test_open(dir, sizeof(dir), NULL);

	memset(&cx.got, 0x55, sizeof(cx.got));
	cx.key = "9999999999";
	CHECK_EQ_INT(store_read(st, get_fn, &cx), CF_ENOTFOUND);
	cx.key = SUBJ_B;
	CHECK_EQ_INT(store_read(st, by_subject_fn, &cx), CF_ENOTFOUND);
	cx.key = "";
	CHECK_EQ_INT(store_read(st, by_subject_fn, &cx), CF_ENOTFOUND);
	CHECK(cx.got.failures == 0x55555555);
	cleanup(st);
}

static void test_login_subject_index_is_unique_and_moves(void)
{
	char dir[1024];
	store *st = store_test_open(dir, sizeof(dir), NULL);

	make_login(&cx.rec, "1111111111", SUBJ_A);
	CHECK_EQ_INT(store_write(st, put_fn, &cx), 0);
	/* another user id for the same subject is refused and writes nothing */
	make_login(&cx.rec, "2222222222", SUBJ_A);
	CHECK_EQ_INT(store_write(st, put_fn, &cx), CF_ECONFLICT);
	cx.key = "2222222222";
	CHECK_EQ_INT(store_read(st, get_fn, &cx), CF_ENOTFOUND);
	/* the holder itself may put again (a password change) */
	make_login(&cx.rec, "1111111111", SUBJ_A);
	cx.rec.failures = 0;
	CHECK_EQ_INT(store_write(st, put_fn, &cx), 0);
	/* a moved subject frees the old index entry */
	make_login(&cx.rec, "1111111111", SUBJ_B);
	CHECK_EQ_INT(store_write(st, put_fn, &cx), 0);
	cx.key = SUBJ_A;
	CHECK_EQ_INT(store_read(st, by_subject_fn, &cx), CF_ENOTFOUND);
	cx.key = SUBJ_B;
	CHECK_EQ_INT(store_read(st, by_subject_fn, &cx), 0);
	CHECK_EQ_STR(cx.got.user_id, "1111111111");
	make_login(&cx.rec, "2222222222", SUBJ_A);
	CHECK_EQ_INT(store_write(st, put_fn, &cx), 0);
	cleanup(st);
}

static void test_login_put_refuses_bad_records(void)
{
	char dir[1024];
	store *st = store_test_open(dir, sizeof(dir), NULL);

	make_login(&cx.rec, "", SUBJ_A);
	CHECK_EQ_INT(store_write(st, put_fn, &cx), CF_EMALFORMED);
	make_login(&cx.rec, "1111111111", SUBJ_A);
	memset(cx.rec.user_id, '1', sizeof(cx.rec.user_id)); /* no NUL */
	CHECK_EQ_INT(store_write(st, put_fn, &cx), CF_EMALFORMED);
	cx.key = SUBJ_A;
	CHECK_EQ_INT(store_read(st, by_subject_fn, &cx), CF_ENOTFOUND);
	cleanup(st);
}

int main(void)
{
	RUN(test_login_keeps_every_field_across_reopen);
	RUN(test_login_missing_is_notfound_and_out_untouched);
	RUN(test_login_subject_index_is_unique_and_moves);
	RUN(test_login_put_refuses_bad_records);
	return check_done();
}
