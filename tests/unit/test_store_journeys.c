/* test_store_journeys — the records of the human journeys (subjects, applications, challenges,
 * outbox, audit) through the store: their indexes, walks and the upgrade of older records. */
#include "check.h"
#include "cf_err.h"
#include "store.h"
#include "store_codec.h"
#include "test_store_util.h"

#include <string.h>

/* Run fn (which CHECKs as it goes) in one write transaction of a fresh store. */
static void in_fresh_store(int (*fn)(store_txn *, void *))
{
	char dir[600];
	store *st = store_test_open(dir, sizeof(dir), NULL);

	CHECK(st != NULL);
	if (!st)
		return;
	CHECK_EQ_INT(store_write(st, fn, NULL), 0);
	cleanup(st);
}

/* ---- fixtures ---- */

static void make_questions(struct store_questions *q)
{
	for (int i = 0; i < STORE_QUESTIONS; i++) {
		snprintf(q->text[i], sizeof(q->text[i]), "question number %d?", i + 1);
		for (int j = 0; j < 32; j++)
			q->verifier[i][j] = (uint8_t)(i * 32 + j);
	}
	for (int j = 0; j < 16; j++)
		q->salt[j] = (uint8_t)(0xa0 + j);
	q->iterations = 600000;
}

static void make_subject(struct store_subject *s, const char *id, const char *email)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->id, sizeof(s->id), "%s", id);
	strcpy(s->given_name, "Ada");
	strcpy(s->surname, "Lovelace");
	strcpy(s->unique_id, "ada.lovelace-1815");
	snprintf(s->email, sizeof(s->email), "%s", email);
	strcpy(s->alt_email, "ada@home.example");
	strcpy(s->mobile, "+447700900123");
	s->state = SUBJECT_ACTIVE;
	make_questions(&s->questions);
	s->question_attempts = 2;
	s->totp_seed_len = 48;
	for (size_t i = 0; i < s->totp_seed_len; i++)
		s->totp_seed[i] = (uint8_t)(i * 3);
	s->totp_confirmed = 1;
	s->totp_last_step = 56666666;
	s->otp_failures = 4;
	s->created_at = 1700000000;
}

static void make_application(struct store_application *a, const char *id, const char *subject,
			     int64_t at)
{
	memset(a, 0, sizeof(*a));
	snprintf(a->id, sizeof(a->id), "%s", id);
	snprintf(a->subject_id, sizeof(a->subject_id), "%s", subject);
	strcpy(a->profile, "person");
	a->state = APP_APPROVED;
	strcpy(a->consents, "terms,privacy");
	make_questions(&a->questions);
	a->needs_review = 1;
	a->envelope_key_len = 60;
	memset(a->envelope_key, 0x5c, a->envelope_key_len);
	memset(a->envelope_salt, 0x17, sizeof(a->envelope_salt));
	a->envelope_iterations = 310000;
	a->envelope_count = 3;
	memset(a->emergency_mac, 0xee, sizeof(a->emergency_mac));
	a->emergency_failures = 1;
	strcpy(a->reference, "123456789012");
	strcpy(a->credential_id, "01HZX3K8Q0C4V9T7R2M5N6P1AB");
	strcpy(a->decided_by, "policy");
	strcpy(a->reason, "");
	a->created_at = at;
	a->decided_at = at + 60;
}

static void make_challenge(struct store_challenge *c, const char *id, const char *subject,
			   int64_t created, int64_t expires)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->id, sizeof(c->id), "%s", id);
	c->kind = CHAL_LINK;
	c->state = CHAL_PENDING;
	snprintf(c->subject_id, sizeof(c->subject_id), "%s", subject);
	strcpy(c->purpose, "recovery");
	memset(c->mac, 0x42, sizeof(c->mac));
	c->created_at = created;
	c->expires_at = expires;
}

static void make_message(struct store_message *m, int64_t next)
{
	memset(m, 0, sizeof(*m));
	m->channel = MSG_EMAIL;
	m->state = MSG_QUEUED;
	strcpy(m->to, "ada@example.org");
	strcpy(m->template_name, "reference");
	m->body_len = 100;
	memset(m->body, 'b', m->body_len);
	m->created_at = 1700000000;
	m->next_attempt_at = next;
}

/* ---- walks: note the keys seen ---- */

struct seen {
	char keys[16][64];
	uint64_t nums[16];
	int n;
	int stop_after; /* 0: never */
};

static int note(struct seen *w, const char *key, uint64_t num)
{
	if (w->n < 16) {
		snprintf(w->keys[w->n], sizeof(w->keys[0]), "%s", key);
		w->nums[w->n] = num;
	}
	w->n++;
	return w->stop_after && w->n == w->stop_after ? 77 : 0;
}

static int note_app(const struct store_application *a, void *ctx)
{
	return note(ctx, a->id, 0);
}

static int note_cred(const struct store_credential *c, void *ctx)
{
	return note(ctx, c->id, 0);
}

static int note_chal(const struct store_challenge *c, void *ctx)
{
	return note(ctx, c->id, 0);
}

static int note_msg(const struct store_message *m, void *ctx)
{
	return note(ctx, m->template_name, m->id);
}

static int note_audit(const struct store_audit *ev, void *ctx)
{
	return note(ctx, ev->action, ev->seq);
}

/* ---- subjects ---- */

static int subject_email_fn(store_txn *t, void *ctx)
{
	static struct store_subject s, other, got;

	(void)ctx;
	make_subject(&s, "S1", "Ada@Example.ORG");
	CHECK_EQ_INT(store_subject_put(t, &s), 0);
	CHECK_EQ_INT(store_subject_by_email(t, "ada@example.org", &got), 0);
	CHECK_EQ_STR(got.id, "S1");
	CHECK_EQ_STR(got.email, "ada@example.org"); /* kept lower-case */
	CHECK_EQ_INT(store_subject_by_email(t, "ADA@EXAMPLE.ORG", &got), 0);
	/* the same address in any case, for another subject */
	make_subject(&other, "S2", "ada@EXAMPLE.org");
	CHECK_EQ_INT(store_subject_put(t, &other), CF_ECONFLICT);
	CHECK_EQ_INT(store_subject_get(t, "S2", &got), CF_ENOTFOUND);
	/* the holder itself may put again */
	s.otp_failures = 0;
	CHECK_EQ_INT(store_subject_put(t, &s), 0);
	CHECK_EQ_INT(store_subject_by_email(t, "ada@example.org", &got), 0);
	CHECK_EQ_INT(got.otp_failures, 0);
	CHECK_EQ_INT(store_subject_by_email(t, "nobody@example.org", &got), CF_ENOTFOUND);
	CHECK_EQ_INT(store_subject_by_email(t, "", &got), CF_ENOTFOUND);
	return 0;
}

static void test_subject_email_index_is_unique_and_case_insensitive(void)
{
	in_fresh_store(subject_email_fn);
}

static int subject_email_move_fn(store_txn *t, void *ctx)
{
	static struct store_subject s, other, got;

	(void)ctx;
	make_subject(&s, "S1", "old@example.org");
	CHECK_EQ_INT(store_subject_put(t, &s), 0);
	strcpy(s.email, "new@example.org");
	CHECK_EQ_INT(store_subject_put(t, &s), 0);
	CHECK_EQ_INT(store_subject_by_email(t, "old@example.org", &got), CF_ENOTFOUND);
	CHECK_EQ_INT(store_subject_by_email(t, "new@example.org", &got), 0);
	CHECK_EQ_STR(got.id, "S1");
	/* the freed address is free for another subject */
	make_subject(&other, "S2", "old@example.org");
	CHECK_EQ_INT(store_subject_put(t, &other), 0);
	CHECK_EQ_INT(store_subject_by_email(t, "old@example.org", &got), 0);
	CHECK_EQ_STR(got.id, "S2");
	return 0;
}

static void test_subject_email_change_moves_the_index_entry(void)
{
	in_fresh_store(subject_email_move_fn);
}

static struct store_subject subj_in;
static struct store_application app_in;

static int put_subject_app(store_txn *t, void *ctx)
{
	int ret;

	(void)ctx;
	if ((ret = store_subject_put(t, &subj_in)) != 0)
		return ret;
	return store_application_put(t, &app_in);
}

static int check_subject_app(store_txn *t, void *ctx)
{
	static struct store_subject s;
	static struct store_application a;

	(void)ctx;
	CHECK_EQ_INT(store_subject_get(t, subj_in.id, &s), 0);
	CHECK(memcmp(&s, &subj_in, sizeof(s)) == 0);
	CHECK_EQ_INT(store_application_get(t, app_in.id, &a), 0);
	CHECK(memcmp(&a, &app_in, sizeof(a)) == 0);
	return 0;
}

static void test_subject_and_application_keep_every_field_across_reopen(void)
{
	char dir[600];
	store *st = store_test_open(dir, sizeof(dir), NULL);

	CHECK(st != NULL);
	if (!st)
		return;
	make_subject(&subj_in, "01J0SUBJECT0000000000000AA", "ada@example.org");
	make_application(&app_in, "01J0APPLICATION00000000000", subj_in.id, 1700000500);
	CHECK_EQ_INT(store_write(st, put_subject_app, NULL), 0);
	CHECK_EQ_INT(store_read(st, check_subject_app, NULL), 0);
	store_close(st);
	st = NULL;
	CHECK_EQ_INT(store_test_reopen(dir, NULL, &st), 0);
	if (st)
		CHECK_EQ_INT(store_read(st, check_subject_app, NULL), 0);
	cleanup(st);
}

/* ---- applications and credentials by subject ---- */

static int applications_fn(store_txn *t, void *ctx)
{
	static struct store_application a;
	struct seen w = {0};

	(void)ctx;
	/* ids are time-ordered (ULIDs), so key order is creation order */
	make_application(&a, "01A", "S1", 300);
	CHECK_EQ_INT(store_application_put(t, &a), 0);
	make_application(&a, "01B", "S2", 200);
	CHECK_EQ_INT(store_application_put(t, &a), 0);
	make_application(&a, "01C", "S1", 100);
	CHECK_EQ_INT(store_application_put(t, &a), 0);
	CHECK_EQ_INT(store_application_list(t, note_app, &w), 0);
	CHECK_EQ_INT(w.n, 3);
	CHECK_EQ_STR(w.keys[0], "01A");
	CHECK_EQ_STR(w.keys[2], "01C");
	/* by subject: by created_at */
	memset(&w, 0, sizeof(w));
	CHECK_EQ_INT(store_application_list_by_subject(t, "S1", note_app, &w), 0);
	CHECK_EQ_INT(w.n, 2);
	CHECK_EQ_STR(w.keys[0], "01C");
	CHECK_EQ_STR(w.keys[1], "01A");
	/* moving an application to another subject moves its entry */
	make_application(&a, "01A", "S2", 300);
	CHECK_EQ_INT(store_application_put(t, &a), 0);
	memset(&w, 0, sizeof(w));
	CHECK_EQ_INT(store_application_list_by_subject(t, "S1", note_app, &w), 0);
	CHECK_EQ_INT(w.n, 1);
	memset(&w, 0, sizeof(w));
	CHECK_EQ_INT(store_application_list_by_subject(t, "S2", note_app, &w), 0);
	CHECK_EQ_INT(w.n, 2);
	/* "S" is not a prefix match of "S1"; a stop value comes back */
	memset(&w, 0, sizeof(w));
	CHECK_EQ_INT(store_application_list_by_subject(t, "S", note_app, &w), 0);
	CHECK_EQ_INT(w.n, 0);
	w.stop_after = 1;
	CHECK_EQ_INT(store_application_list(t, note_app, &w), 77);
	CHECK_EQ_INT(w.n, 1);
	return 0;
}

static void test_applications_list_in_creation_order_and_by_subject(void)
{
	in_fresh_store(applications_fn);
}

static void make_cred(struct store_credential *c, const char *id, const char *subject, int64_t at)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->id, sizeof(c->id), "%s", id);
	strcpy(c->account_id, "acct");
	strcpy(c->subject, "Ada Lovelace");
	strcpy(c->profile, "person");
	c->status = CRED_ACTIVE;
	c->created_at = at;
	strcpy(c->application_id, "01A");
	snprintf(c->subject_id, sizeof(c->subject_id), "%s", subject);
}

static int cred_subject_fn(store_txn *t, void *ctx)
{
	static struct store_credential c, got;
	struct seen w = {0};

	(void)ctx;
	make_cred(&c, "C1", "", 10);
	CHECK_EQ_INT(store_credential_put(t, &c), 0);
	make_cred(&c, "C2", "S1", 20);
	CHECK_EQ_INT(store_credential_put(t, &c), 0);
	CHECK_EQ_INT(store_credential_list_by_subject(t, "S1", note_cred, &w), 0);
	CHECK_EQ_INT(w.n, 1);
	CHECK_EQ_STR(w.keys[0], "C2");
	/* C1 gets a subject, older than C2: it comes first */
	make_cred(&c, "C1", "S1", 10);
	CHECK_EQ_INT(store_credential_put(t, &c), 0);
	memset(&w, 0, sizeof(w));
	CHECK_EQ_INT(store_credential_list_by_subject(t, "S1", note_cred, &w), 0);
	CHECK_EQ_INT(w.n, 2);
	CHECK_EQ_STR(w.keys[0], "C1");
	CHECK_EQ_STR(w.keys[1], "C2");
	/* C2 moves to S2 */
	make_cred(&c, "C2", "S2", 20);
	CHECK_EQ_INT(store_credential_put(t, &c), 0);
	memset(&w, 0, sizeof(w));
	CHECK_EQ_INT(store_credential_list_by_subject(t, "S1", note_cred, &w), 0);
	CHECK_EQ_INT(w.n, 1);
	CHECK_EQ_STR(w.keys[0], "C1");
	memset(&w, 0, sizeof(w));
	CHECK_EQ_INT(store_credential_list_by_subject(t, "S2", note_cred, &w), 0);
	CHECK_EQ_INT(w.n, 1);
	/* and back to no subject */
	make_cred(&c, "C2", "", 20);
	CHECK_EQ_INT(store_credential_put(t, &c), 0);
	memset(&w, 0, sizeof(w));
	CHECK_EQ_INT(store_credential_list_by_subject(t, "S2", note_cred, &w), 0);
	CHECK_EQ_INT(w.n, 0);
	/* the account index still holds both, and the new fields round-trip */
	memset(&w, 0, sizeof(w));
	CHECK_EQ_INT(store_credential_list_by_account(t, "acct", note_cred, &w), 0);
	CHECK_EQ_INT(w.n, 2);
	CHECK_EQ_INT(store_credential_get(t, "C1", &got), 0);
	CHECK_EQ_STR(got.application_id, "01A");
	CHECK_EQ_STR(got.subject_id, "S1");
	return 0;
}

static void test_credential_subject_index_moves_with_subject_id(void)
{
	in_fresh_store(cred_subject_fn);
}

/* ---- challenges ---- */

static int challenge_fn(store_txn *t, void *ctx)
{
	static struct store_challenge c, got;
	struct seen w = {0};
	/* 63 characters: the longest id */
	const char *long_id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde";

	(void)ctx;
	make_challenge(&c, "expired-1", "S1", 100, 1000);
	CHECK_EQ_INT(store_challenge_put(t, &c), 0);
	make_challenge(&c, long_id, "S1", 200, 5000);
	CHECK_EQ_INT(store_challenge_put(t, &c), 0);
	make_challenge(&c, "expired-2", "S2", 300, 1999);
	CHECK_EQ_INT(store_challenge_put(t, &c), 0);
	/* a challenge extended past the purge time survives */
	make_challenge(&c, "extended", "S1", 400, 500);
	CHECK_EQ_INT(store_challenge_put(t, &c), 0);
	c.expires_at = 3000;
	CHECK_EQ_INT(store_challenge_put(t, &c), 0);
	CHECK_EQ_INT(store_challenge_list_by_subject(t, "S1", note_chal, &w), 0);
	CHECK_EQ_INT(w.n, 3);
	CHECK_EQ_STR(w.keys[0], "expired-1"); /* oldest first */
	CHECK_EQ_INT(store_challenge_purge(t, 2000), 0);
	CHECK_EQ_INT(store_challenge_get(t, "expired-1", &got), CF_ENOTFOUND);
	CHECK_EQ_INT(store_challenge_get(t, "expired-2", &got), CF_ENOTFOUND);
	CHECK_EQ_INT(store_challenge_get(t, "extended", &got), 0);
	CHECK_EQ_INT(store_challenge_get(t, long_id, &got), 0);
	CHECK(memcmp(got.mac, c.mac, sizeof(c.mac)) == 0);
	memset(&w, 0, sizeof(w));
	CHECK_EQ_INT(store_challenge_list_by_subject(t, "S1", note_chal, &w), 0);
	CHECK_EQ_INT(w.n, 2);
	CHECK_EQ_STR(w.keys[0], long_id);
	CHECK_EQ_STR(w.keys[1], "extended");
	memset(&w, 0, sizeof(w));
	CHECK_EQ_INT(store_challenge_list_by_subject(t, "S2", note_chal, &w), 0);
	CHECK_EQ_INT(w.n, 0);
	/* nothing left to purge at that time; a later purge takes the rest */
	CHECK_EQ_INT(store_challenge_purge(t, 2000), 0);
	CHECK_EQ_INT(store_challenge_get(t, "extended", &got), 0);
	CHECK_EQ_INT(store_challenge_purge(t, 6000), 0);
	CHECK_EQ_INT(store_challenge_get(t, long_id, &got), CF_ENOTFOUND);
	memset(&w, 0, sizeof(w));
	CHECK_EQ_INT(store_challenge_list_by_subject(t, "S1", note_chal, &w), 0);
	CHECK_EQ_INT(w.n, 0);
	return 0;
}

static void test_challenge_purge_removes_only_expired(void)
{
	in_fresh_store(challenge_fn);
}

/* ---- outbox ---- */

static int queue_fn(store_txn *t, void *ctx)
{
	static struct store_message m, got;
	struct seen w = {0};

	(void)ctx;
	make_message(&m, 500);
	strcpy(m.template_name, "first");
	CHECK_EQ_INT(store_message_put(t, &m), 0);
	CHECK_EQ_INT(m.id, 1);
	make_message(&m, 100);
	strcpy(m.template_name, "second");
	CHECK_EQ_INT(store_message_put(t, &m), 0);
	CHECK_EQ_INT(m.id, 2);
	make_message(&m, 100);
	strcpy(m.template_name, "third");
	CHECK_EQ_INT(store_message_put(t, &m), 0);
	CHECK_EQ_INT(m.id, 3);
	/* by next_attempt_at, then id */
	CHECK_EQ_INT(store_message_list_queued(t, note_msg, &w), 0);
	CHECK_EQ_INT(w.n, 3);
	CHECK_EQ_INT(w.nums[0], 2);
	CHECK_EQ_INT(w.nums[1], 3);
	CHECK_EQ_INT(w.nums[2], 1);
	/* 2 fails and is retried later; 3 is sent; both leave their old places */
	CHECK_EQ_INT(store_message_get(t, 2, &got), 0);
	got.attempts = 1;
	got.next_attempt_at = 900;
	strcpy(got.last_error, "connection refused");
	CHECK_EQ_INT(store_message_put(t, &got), 0);
	CHECK_EQ_INT(store_message_get(t, 3, &got), 0);
	got.state = MSG_SENT;
	got.sent_at = 150;
	got.body_len = 0; /* erased once sent */
	CHECK_EQ_INT(store_message_put(t, &got), 0);
	memset(&w, 0, sizeof(w));
	CHECK_EQ_INT(store_message_list_queued(t, note_msg, &w), 0);
	CHECK_EQ_INT(w.n, 2);
	CHECK_EQ_INT(w.nums[0], 1);
	CHECK_EQ_INT(w.nums[1], 2);
	/* 2 fails for good */
	CHECK_EQ_INT(store_message_get(t, 2, &got), 0);
	got.state = MSG_FAILED;
	CHECK_EQ_INT(store_message_put(t, &got), 0);
	memset(&w, 0, sizeof(w));
	CHECK_EQ_INT(store_message_list_queued(t, note_msg, &w), 0);
	CHECK_EQ_INT(w.n, 1);
	CHECK_EQ_INT(w.nums[0], 1);
	/* every message, by id */
	memset(&w, 0, sizeof(w));
	CHECK_EQ_INT(store_message_list(t, note_msg, &w), 0);
	CHECK_EQ_INT(w.n, 3);
	CHECK_EQ_STR(w.keys[0], "first");
	CHECK_EQ_STR(w.keys[1], "second");
	CHECK_EQ_STR(w.keys[2], "third");
	CHECK_EQ_INT(store_message_get(t, 3, &got), 0);
	CHECK_EQ_INT(got.body_len, 0);
	CHECK_EQ_INT(got.sent_at, 150);
	CHECK_EQ_INT(store_message_get(t, 0, &got), CF_ENOTFOUND);
	CHECK_EQ_INT(store_message_get(t, 4, &got), CF_ENOTFOUND);
	return 0;
}

static void test_queued_message_index_follows_state_changes(void)
{
	in_fresh_store(queue_fn);
}

static int big_message_fn(store_txn *t, void *ctx)
{
	static struct store_message m, got;

	(void)ctx;
	make_message(&m, 1);
	m.body_len = STORE_MESSAGE_MAX;
	for (size_t i = 0; i < m.body_len; i++)
		m.body[i] = (uint8_t)(i * 7);
	CHECK_EQ_INT(store_message_put(t, &m), 0);
	CHECK_EQ_INT(store_message_get(t, m.id, &got), 0);
	CHECK(memcmp(&m, &got, sizeof(m)) == 0);
	/* too long: refused, and the id stays unassigned */
	make_message(&m, 1);
	m.body_len = STORE_MESSAGE_MAX + 1;
	CHECK_EQ_INT(store_message_put(t, &m), CF_EMALFORMED);
	CHECK_EQ_INT(m.id, 0);
	/* an id given explicitly is taken as is, and the counter skips it */
	make_message(&m, 1);
	m.id = 2;
	CHECK_EQ_INT(store_message_put(t, &m), 0);
	m.id = 0;
	CHECK_EQ_INT(store_message_put(t, &m), 0);
	CHECK_EQ_INT(m.id, 3);
	return 0;
}

static void test_message_body_of_16_kib_round_trips(void)
{
	in_fresh_store(big_message_fn);
}

/* ---- audit ---- */

static int audit_fn(store_txn *t, void *ctx)
{
	static const char *const actions[] = {"application.create", "application.approve",
					      "activate", "recovery.request", "unlock"};
	struct store_audit ev;
	struct seen w = {0};

	(void)ctx;
	for (int i = 0; i < 5; i++) {
		memset(&ev, 0, sizeof(ev));
		ev.seq = 99; /* ignored: the store numbers events */
		ev.at = 1700000000 + i;
		strcpy(ev.actor, "anonymous");
		strcpy(ev.action, actions[i]);
		strcpy(ev.object, "application:01A");
		strcpy(ev.remote, "127.0.0.1");
		strcpy(ev.result, i == 3 ? "badAnswers" : "ok");
		CHECK_EQ_INT(store_audit_append(t, &ev), 0);
		CHECK_EQ_INT(ev.seq, i + 1);
	}
	CHECK_EQ_INT(store_audit_list(t, 0, note_audit, &w), 0);
	CHECK_EQ_INT(w.n, 5);
	CHECK_EQ_STR(w.keys[0], "application.create");
	CHECK_EQ_STR(w.keys[4], "unlock");
	memset(&w, 0, sizeof(w));
	CHECK_EQ_INT(store_audit_list(t, 3, note_audit, &w), 0);
	CHECK_EQ_INT(w.n, 2);
	CHECK_EQ_INT(w.nums[0], 4);
	CHECK_EQ_STR(w.keys[0], "recovery.request");
	CHECK_EQ_INT(w.nums[1], 5);
	memset(&w, 0, sizeof(w));
	CHECK_EQ_INT(store_audit_list(t, 5, note_audit, &w), 0);
	CHECK_EQ_INT(w.n, 0);
	CHECK_EQ_INT(store_audit_list(t, UINT64_MAX, note_audit, &w), 0);
	CHECK_EQ_INT(w.n, 0);
	w.stop_after = 2;
	CHECK_EQ_INT(store_audit_list(t, 0, note_audit, &w), 77);
	CHECK_EQ_INT(w.n, 2);
	return 0;
}

static void test_audit_events_list_in_order_after_seq(void)
{
	in_fresh_store(audit_fn);
}

/* ---- records written before issue 3 ---- */

static void test_old_version_records_still_decode(void)
{
	/* values written by the store before the issue 3 fields existed */
	static const char old_enrolment[] =
	    "01010a010c3132333435363738393031320220000102030405060708090a0b0c0d0e0f1011121314"
	    "15161718191a1b1c1d1e1f030c416461204c6f76656c6163650406706572736f6e050f6164614065"
	    "78616d706c652e6f7267070102080104090580c49fd50c0a0580debdd60c0b00";
	static const char old_credential[] =
	    "010308011a3031485a58334b38513043345639543752324d354e3650314142020a616363742d7468"
	    "756d62030c416461204c6f76656c6163650406706572736f6e050c31323334353637383930313206"
	    "01020704306131620805c8c59fd50c";
	static struct store_enrolment e;
	static struct store_credential c;
	uint8_t buf[512];
	size_t n;

	n = unhex(old_enrolment, buf, sizeof(buf));
	CHECK_EQ_INT(codec_decode(&codec_enrolment, buf, n, &e), 0);
	CHECK_EQ_STR(e.reference, "123456789012");
	CHECK_EQ_STR(e.subject, "Ada Lovelace");
	CHECK_EQ_STR(e.email, "ada@example.org");
	CHECK_EQ_INT(e.state, ENROL_LIVE);
	CHECK_EQ_INT(e.failures, 2);
	CHECK_EQ_INT(e.created_at, 1700000000);
	CHECK_EQ_INT(e.expires_at, 1701296000);
	CHECK_EQ_INT(e.code_mac[31], 31);
	CHECK_EQ_STR(e.application_id, "");
	CHECK_EQ_STR(e.replaces, "");
	CHECK_EQ_INT(e.envelope_number, 0);
	n = unhex(old_credential, buf, sizeof(buf));
	CHECK_EQ_INT(codec_decode(&codec_credential, buf, n, &c), 0);
	CHECK_EQ_STR(c.id, "01HZX3K8Q0C4V9T7R2M5N6P1AB");
	CHECK_EQ_STR(c.account_id, "acct-thumb");
	CHECK_EQ_STR(c.reference, "123456789012");
	CHECK_EQ_STR(c.current_serial, "0a1b");
	CHECK_EQ_INT(c.status, CRED_ACTIVE);
	CHECK_EQ_INT(c.created_at, 1700000100);
	CHECK_EQ_STR(c.application_id, "");
	CHECK_EQ_STR(c.subject_id, "");
}

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	RUN(test_subject_email_index_is_unique_and_case_insensitive);
	RUN(test_subject_email_change_moves_the_index_entry);
	RUN(test_subject_and_application_keep_every_field_across_reopen);
	RUN(test_applications_list_in_creation_order_and_by_subject);
	RUN(test_credential_subject_index_moves_with_subject_id);
	RUN(test_challenge_purge_removes_only_expired);
	RUN(test_queued_message_index_follows_state_changes);
	RUN(test_message_body_of_16_kib_round_trips);
	RUN(test_audit_events_list_in_order_after_seq);
	RUN(test_old_version_records_still_decode);
	return check_done();
}
