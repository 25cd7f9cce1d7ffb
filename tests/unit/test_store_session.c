/* test_store_session — token-named sessions (spec/protocol.md §23-§27) through the store: round
 * trip, the subject listing in creation order, delete and the purge of expired records, each of
 * which leaves no index entry behind. */
#include "check.h"
#include "cf_err.h"
#include "store.h"
#include "test_store_util.h"

#include <string.h>

#define SUBJ_A "01HZX3K8Q0C4V9T7R2M5N6P1AB"
#define SUBJ_B "01HZX3K8Q0C4V9T7R2M5N6P1AC"
/* a token id: base64url of a 32-octet HMAC, 43 characters */
#define TOK_ID "q2JxZ0Jd4m1o8V-Zr_3XyKk7uYtW9sQpLaBcDeFgHiJ"

static void make_session(struct store_session *s, const char *id, const char *subject,
			 int64_t created, int64_t expires)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->id, sizeof(s->id), "%s", id);
	s->kind = SESS_PORTAL;
	s->state = SESS_LIVE;
	snprintf(s->subject_id, sizeof(s->subject_id), "%s", subject);
	s->created_at = created;
	s->expires_at = expires;
}

struct ctx {
	struct store_session rec, got;
	const char *key;
	int64_t before;
	char seen[8][STORE_TOKEN_ID_LEN];
	int n;
};

static int put_fn(store_txn *t, void *p)
{
	return store_session_put(t, &((struct ctx *)p)->rec);
}

static int get_fn(store_txn *t, void *p)
{
	struct ctx *c = p;
	return store_session_get(t, c->key, &c->got);
}

static int del_fn(store_txn *t, void *p)
{
	return store_session_delete(t, ((struct ctx *)p)->key);
}

static int purge_fn(store_txn *t, void *p)
{
	return store_session_purge(t, ((struct ctx *)p)->before);
}

static int note_fn(const struct store_session *s, void *p)
{
	struct ctx *x = p;
	if (x->n < 8)
		snprintf(x->seen[x->n], sizeof(x->seen[0]), "%s", s->id);
	x->n++;
	return 0;
}

static int list_fn(store_txn *t, void *p)
{
	struct ctx *c = p;
	c->n = 0;
	return store_session_list_by_subject(t, c->key, note_fn, p);
}

static struct ctx cx;

static void put_one(store *st, const char *id, const char *subject, int64_t created,
		    int64_t expires)
{
	make_session(&cx.rec, id, subject, created, expires);
	CHECK_EQ_INT(store_write(st, put_fn, &cx), 0);
}

static void test_session_keeps_every_field_across_reopen(void)
{
	char dir[1024];
	store *st = store_test_open(dir, sizeof(dir), NULL);

	CHECK(st != NULL);
	make_session(&cx.rec, TOK_ID, SUBJ_A, 1700000000, 1700000300);
	cx.rec.kind = SESS_SAD;
	cx.rec.state = SESS_USED;
	snprintf(cx.rec.user_id, sizeof(cx.rec.user_id), "0123456789");
	snprintf(cx.rec.credential_id, sizeof(cx.rec.credential_id), "%s", SUBJ_B);
	memset(cx.rec.parent, 'p', sizeof(cx.rec.parent) - 1); /* 63 characters fit */
	cx.rec.restricted = 1;
	for (int i = 0; i < 32; i++)
		cx.rec.digest[i] = (uint8_t)(i + 100);
	cx.rec.count = 64;
	cx.rec.blob_len = STORE_WRAPPED_MAX;
	for (int i = 0; i < STORE_WRAPPED_MAX; i++)
		cx.rec.blob[i] = (uint8_t)(i * 3);
	snprintf(cx.rec.detail, sizeof(cx.rec.detail), "keep");
	CHECK_EQ_INT(store_write(st, put_fn, &cx), 0);
	store_close(st);
	st = NULL;
	CHECK_EQ_INT(store_test_reopen(dir, NULL, &st), 0);
	cx.key = TOK_ID;
	memset(&cx.got, 0x44, sizeof(cx.got));
	CHECK_EQ_INT(store_read(st, get_fn, &cx), 0);
	CHECK(memcmp(&cx.rec, &cx.got, sizeof(cx.rec)) == 0);
	cleanup(st);
}

static void test_sessions_list_by_subject_in_creation_order(void)
{
	char dir[1024];
	store *st = store_test_open(dir, sizeof(dir), NULL);

	put_one(st, "s3", SUBJ_A, 300, 9000);
	put_one(st, "s1", SUBJ_A, 100, 9000);
	put_one(st, "s2", SUBJ_B, 200, 9000);
	put_one(st, "qr", "", 50, 9000); /* a QR challenge before approval: no subject */
	cx.key = SUBJ_A;
	CHECK_EQ_INT(store_read(st, list_fn, &cx), 0);
	CHECK_EQ_INT(cx.n, 2);
	CHECK_EQ_STR(cx.seen[0], "s1");
	CHECK_EQ_STR(cx.seen[1], "s3");
	/* approval gives the QR challenge its subject: it joins the listing */
	put_one(st, "qr", SUBJ_A, 50, 9000);
	CHECK_EQ_INT(store_read(st, list_fn, &cx), 0);
	CHECK_EQ_INT(cx.n, 3);
	CHECK_EQ_STR(cx.seen[0], "qr");
	/* a moved subject leaves the old listing */
	put_one(st, "s1", SUBJ_B, 100, 9000);
	CHECK_EQ_INT(store_read(st, list_fn, &cx), 0);
	CHECK_EQ_INT(cx.n, 2);
	cx.key = SUBJ_B;
	CHECK_EQ_INT(store_read(st, list_fn, &cx), 0);
	CHECK_EQ_INT(cx.n, 2);
	CHECK_EQ_STR(cx.seen[0], "s1");
	CHECK_EQ_STR(cx.seen[1], "s2");
	cleanup(st);
}

static void test_session_delete_removes_record_and_index_entries(void)
{
	char dir[1024];
	store *st = store_test_open(dir, sizeof(dir), NULL);

	put_one(st, "s1", SUBJ_A, 100, 500);
	put_one(st, "s2", SUBJ_A, 200, 600);
	cx.key = "s1";
	CHECK_EQ_INT(store_write(st, del_fn, &cx), 0);
	CHECK_EQ_INT(store_write(st, del_fn, &cx), CF_ENOTFOUND);
	CHECK_EQ_INT(store_read(st, get_fn, &cx), CF_ENOTFOUND);
	cx.key = "";
	CHECK_EQ_INT(store_write(st, del_fn, &cx), CF_ENOTFOUND);
	cx.key = SUBJ_A;
	CHECK_EQ_INT(store_read(st, list_fn, &cx), 0); /* no dangling entry */
	CHECK_EQ_INT(cx.n, 1);
	CHECK_EQ_STR(cx.seen[0], "s2");
	cx.before = 10000; /* its expiry entry went too: the purge meets only s2 */
	CHECK_EQ_INT(store_write(st, purge_fn, &cx), 0);
	CHECK_EQ_INT(store_read(st, list_fn, &cx), 0);
	CHECK_EQ_INT(cx.n, 0);
	cleanup(st);
}

static void test_session_purge_removes_only_expired(void)
{
	char dir[1024];
	store *st = store_test_open(dir, sizeof(dir), NULL);

	put_one(st, "old-a", SUBJ_A, 100, 1000);
	put_one(st, "old-b", "", 100, 1999);
	put_one(st, "edge", SUBJ_A, 100, 2000);
	put_one(st, "new", SUBJ_A, 100, 5000);
	/* an extended session moves its expiry entry: not purged at its first expiry */
	put_one(st, "extended", SUBJ_B, 100, 1500);
	put_one(st, "extended", SUBJ_B, 100, 6000);
	cx.before = 2000;
	CHECK_EQ_INT(store_write(st, purge_fn, &cx), 0);
	cx.key = "old-a";
	CHECK_EQ_INT(store_read(st, get_fn, &cx), CF_ENOTFOUND);
	cx.key = "old-b";
	CHECK_EQ_INT(store_read(st, get_fn, &cx), CF_ENOTFOUND);
	cx.key = "edge";
	CHECK_EQ_INT(store_read(st, get_fn, &cx), 0);
	cx.key = "extended";
	CHECK_EQ_INT(store_read(st, get_fn, &cx), 0);
	cx.key = SUBJ_A;
	CHECK_EQ_INT(store_read(st, list_fn, &cx), 0);
	CHECK_EQ_INT(cx.n, 2);
	CHECK_EQ_STR(cx.seen[0], "edge");
	CHECK_EQ_STR(cx.seen[1], "new");
	cx.before = 7000;
	CHECK_EQ_INT(store_write(st, purge_fn, &cx), 0);
	CHECK_EQ_INT(store_read(st, list_fn, &cx), 0);
	CHECK_EQ_INT(cx.n, 0);
	cx.key = "extended";
	CHECK_EQ_INT(store_read(st, get_fn, &cx), CF_ENOTFOUND);
	cleanup(st);
}

static void test_session_put_refuses_bad_records(void)
{
	char dir[1024];
	store *st = store_test_open(dir, sizeof(dir), NULL);

	make_session(&cx.rec, "", SUBJ_A, 1, 2);
	CHECK_EQ_INT(store_write(st, put_fn, &cx), CF_EMALFORMED);
	make_session(&cx.rec, "s1", SUBJ_A, 1, 2);
	cx.rec.blob_len = STORE_WRAPPED_MAX + 1;
	CHECK_EQ_INT(store_write(st, put_fn, &cx), CF_EMALFORMED);
	cx.key = SUBJ_A;
	CHECK_EQ_INT(store_read(st, list_fn, &cx), 0);
	CHECK_EQ_INT(cx.n, 0);
	cleanup(st);
}

/* The purge removes in batches: more expired sessions than one batch all go, the live stay. */
static void test_session_purge_spans_many_batches(void)
{
	char dir[1024], id[32];
	store *st = store_test_open(dir, sizeof(dir), NULL);

	CHECK(st != NULL);
	for (int i = 0; i < 150; i++) {
		snprintf(id, sizeof(id), "s%03d", i);
		put_one(st, id, i % 2 ? SUBJ_A : "", 100, i < 140 ? 1000 + i : 9000);
	}
	cx.before = 5000;
	CHECK_EQ_INT(store_write(st, purge_fn, &cx), 0);
	cx.key = "s000";
	CHECK_EQ_INT(store_read(st, get_fn, &cx), CF_ENOTFOUND);
	cx.key = "s139";
	CHECK_EQ_INT(store_read(st, get_fn, &cx), CF_ENOTFOUND);
	cx.key = "s140";
	CHECK_EQ_INT(store_read(st, get_fn, &cx), 0);
	cx.key = SUBJ_A; /* the odd ones from 141 to 149 */
	CHECK_EQ_INT(store_read(st, list_fn, &cx), 0);
	CHECK_EQ_INT(cx.n, 5);
	cleanup(st);
}

int main(void)
{
	RUN(test_session_keeps_every_field_across_reopen);
	RUN(test_sessions_list_by_subject_in_creation_order);
	RUN(test_session_delete_removes_record_and_index_entries);
	RUN(test_session_purge_removes_only_expired);
	RUN(test_session_purge_spans_many_batches);
	RUN(test_session_put_refuses_bad_records);
	return check_done();
}
