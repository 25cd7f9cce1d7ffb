/* test_store_jobs — the background work of several servers on one store (issue 14): whether a
 * store is shared, a periodic job's turn (once per period, also when servers race for it), and a
 * message's claim stored with it. On PostgreSQL (CERTFLOW_TEST_PG, see test_store_util.h) the
 * racers use two store handles on one database, as two certflowd processes do. */
#include "check.h"
#include "cf_err.h"
#include "store.h"
#include "test_store_util.h"

#include <pthread.h>
#include <string.h>

#define RACERS 8
#define ROUNDS 12
#define PERIOD 100

struct turn_ctx {
	const char *job;
	int64_t now, period;
	int turn;
};

static int turn_fn(store_txn *t, void *ctx)
{
	struct turn_ctx *c = ctx;

	return store_job_turn(t, c->job, c->now, c->period, &c->turn);
}

/* The turn of job at now: 1 or 0, -1 on an error. */
static int turn_at(store *st, const char *job, int64_t now, int64_t period)
{
	struct turn_ctx c = {job, now, period, -1};

	return store_write(st, turn_fn, &c) == 0 ? c.turn : -1;
}

static void test_only_a_postgresql_store_is_shared(void)
{
	char dir[600];
	store *st = store_test_open(dir, sizeof(dir), NULL);

	CHECK(st != NULL);
	if (!st)
		return;
	CHECK_EQ_INT(store_shared(st), store_test_pg());
	CHECK_EQ_INT(store_shared(NULL), 0);
	cleanup(st);
}

static void test_a_job_has_one_turn_per_period(void)
{
	char dir[600];
	store *st = store_test_open(dir, sizeof(dir), NULL);

	CHECK(st != NULL);
	if (!st)
		return;
	CHECK_EQ_INT(turn_at(st, "housekeeping", 1000, PERIOD), 1); /* never ran */
	CHECK_EQ_INT(turn_at(st, "housekeeping", 1000, PERIOD), 0);
	CHECK_EQ_INT(turn_at(st, "housekeeping", 1000 + PERIOD - 1, PERIOD), 0);
	CHECK_EQ_INT(turn_at(st, "other", 1001, PERIOD), 1); /* each job its own */
	CHECK_EQ_INT(turn_at(st, "housekeeping", 1000 + PERIOD, PERIOD), 1);
	CHECK_EQ_INT(turn_at(st, "housekeeping", 1000 + PERIOD + 1, PERIOD), 0);
	/* a clock set back by less than a period waits; by more, runs and starts again there */
	CHECK_EQ_INT(turn_at(st, "housekeeping", 1000 + 1, PERIOD), 0);
	CHECK_EQ_INT(turn_at(st, "housekeeping", 1000 - PERIOD - 1, PERIOD), 1);
	CHECK_EQ_INT(turn_at(st, "housekeeping", 1000 - PERIOD, PERIOD), 0);
	/* a name is 1..32 characters */
	CHECK_EQ_INT(turn_at(st, "", 1000, PERIOD), -1);
	CHECK_EQ_INT(turn_at(st, "abcdefghijklmnopqrstuvwxyz0123456", 1000, PERIOD), -1);
	cleanup(st);
}

struct racer {
	store *st;
	pthread_barrier_t *start;
	int turns[ROUNDS];
	int errors;
};

static void *racer_main(void *arg)
{
	struct racer *r = arg;

	for (int i = 0; i < ROUNDS; i++) {
		int t;

		pthread_barrier_wait(r->start);
		t = turn_at(r->st, "housekeeping", 5000 + (int64_t)i * PERIOD, PERIOD);
		if (t < 0)
			r->errors++;
		else
			r->turns[i] = t;
	}
	return NULL;
}

static void test_racing_servers_take_one_turn_per_period(void)
{
	char dir[600];
	store *st[2] = {store_test_open(dir, sizeof(dir), NULL), NULL};
	struct racer r[RACERS];
	pthread_t th[RACERS];
	pthread_barrier_t start;

	CHECK(st[0] != NULL);
	if (!st[0])
		return;
	/* PostgreSQL: a second handle, as a second process has; LMDB: one server's threads */
	if (store_test_pg())
		CHECK_EQ_INT(store_test_reopen(dir, NULL, &st[1]), 0);
	pthread_barrier_init(&start, NULL, RACERS);
	for (int i = 0; i < RACERS; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		r[i].st = st[1] && i % 2 ? st[1] : st[0];
		r[i].start = &start;
		pthread_create(&th[i], NULL, racer_main, &r[i]);
	}
	for (int i = 0; i < RACERS; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&start);
	for (int k = 0; k < ROUNDS; k++) {
		int sum = 0;

		for (int i = 0; i < RACERS; i++)
			sum += r[i].turns[k];
		CHECK_EQ_INT(sum, 1);
	}
	for (int i = 0; i < RACERS; i++)
		CHECK_EQ_INT(r[i].errors, 0);
	store_close(st[1]);
	cleanup(st[0]);
}

static int put_msg(store_txn *t, void *ctx)
{
	return store_message_put(t, ctx);
}

static int get_msg(store_txn *t, void *ctx)
{
	struct store_message *m = ctx;

	return store_message_get(t, m->id, m);
}

static void test_a_message_keeps_its_claim(void)
{
	char dir[600];
	store *st = store_test_open(dir, sizeof(dir), NULL);
	struct store_message *m = calloc(1, sizeof(*m)), *got = calloc(1, sizeof(*got));

	CHECK(st != NULL && m && got);
	if (!st || !m || !got)
		goto out;
	m->channel = MSG_EMAIL;
	m->state = MSG_QUEUED;
	snprintf(m->to, sizeof(m->to), "ana@example.org");
	snprintf(m->template_name, sizeof(m->template_name), "reference");
	m->created_at = 100;
	m->next_attempt_at = 220;
	snprintf(m->claimed_by, sizeof(m->claimed_by), "0123456789abcdef");
	CHECK_EQ_INT(store_write(st, put_msg, m), 0);
	got->id = m->id;
	CHECK_EQ_INT(store_read(st, get_msg, got), 0);
	CHECK_EQ_STR(got->claimed_by, "0123456789abcdef");
	CHECK_EQ_INT(got->next_attempt_at, 220);
	got->claimed_by[0] = '\0'; /* given back */
	CHECK_EQ_INT(store_write(st, put_msg, got), 0);
	CHECK_EQ_INT(store_read(st, get_msg, got), 0);
	CHECK_EQ_STR(got->claimed_by, "");
out:
	free(m);
	free(got);
	cleanup(st);
}

int main(void)
{
	RUN(test_only_a_postgresql_store_is_shared);
	RUN(test_a_job_has_one_turn_per_period);
	RUN(test_racing_servers_take_one_turn_per_period);
	RUN(test_a_message_keeps_its_claim);
	return check_done();
}
