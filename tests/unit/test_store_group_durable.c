/*
 * test_store_group_durable — group commit acknowledges nothing before it is durable.
 *
 * store_group.c is linked here against a model of LMDB instead of LMDB: a commit that wrote
 * something takes time (its syncs), during which other callers queue, and is durable when it
 * returns. The model knows, for every write, which commit holds it and which commits are on
 * disk, so each caller can check, the moment store_write returns, that its write would survive a
 * power cut. (Acknowledging a batch after the next one's data sync, with MDB_NOMETASYNC, was
 * tried against such a model too: see README, Benchmark.)
 */
#include "check.h"
#include "store_group.h"

#include "cf_clock.h"
#include "cf_err.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static pthread_mutex_t model_mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t durable; /* the last commit on disk */
static unsigned long commits;

struct job {
	int write; /* fn changes something */
	int fail;  /* fn fails: its changes go */
	uint64_t commit;
};

static int job_fn(store_txn *txn, void *ctx)
{
	(void)txn;
	return ((struct job *)ctx)->fail ? CF_ECONFLICT : 0;
}

static struct job *job_of(const struct store_req *r)
{
	return r->ctx;
}

/* One commit holding the writes of jobs[0..n) whose fn succeeded; nothing if none wrote. */
static void model_commit(struct store_req *const *reqs, size_t n)
{
	int dirty = 0;

	for (size_t i = 0; i < n; i++)
		dirty |= reqs[i]->ret == 0 && job_of(reqs[i])->write;
	if (!dirty)
		return;
	pthread_mutex_lock(&model_mu);
	for (size_t i = 0; i < n; i++)
		job_of(reqs[i])->commit = durable + 1;
	pthread_mutex_unlock(&model_mu);
	usleep(300); /* the pages' write and syncs: long enough for callers to queue */
	pthread_mutex_lock(&model_mu);
	durable++;
	commits++;
	pthread_mutex_unlock(&model_mu);
}

int store_lmdb_write_one(store *st, int (*fn)(store_txn *txn, void *ctx), void *ctx)
{
	struct store_req *rp = ctx; /* store_group hands over the call: fn runs it as its caller */

	(void)st;
	rp->ret = fn(NULL, ctx);
	model_commit(&rp, 1);
	return rp->ret;
}

int store_lmdb_batch(store *st, struct store_req *const *reqs, size_t n)
{
	(void)st;
	for (size_t i = 0; i < n; i++)
		reqs[i]->ret = store_req_run(reqs[i], NULL);
	model_commit(reqs, n);
	return 0;
}

struct worker {
	struct store_group *g;
	int rounds;
	int early;  /* acknowledged while its commit was not on disk */
	int wrong;  /* the result was not fn's */
	int landed; /* acknowledged writes */
};

static void *work(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < w->rounds; i++) {
		struct job j = {.write = (int)(check_rand() % 10) < 8,
				.fail = check_rand() % 10 == 0};
		int ret = store_group_write(w->g, NULL, job_fn, &j);

		w->wrong += ret != (j.fail ? CF_ECONFLICT : 0);
		if (ret == 0 && j.write) {
			pthread_mutex_lock(&model_mu);
			w->early += j.commit == 0 || durable < j.commit;
			pthread_mutex_unlock(&model_mu);
			w->landed++;
		}
	}
	return NULL;
}

static void run(int threads, int rounds, int *early, int *wrong, int *landed)
{
	struct store_group *g = NULL;
	pthread_t t[16];
	struct worker w[16];

	CHECK(store_group_new(&g) == 0);
	for (int i = 0; i < threads; i++) {
		w[i] = (struct worker){.g = g, .rounds = rounds};
		CHECK(pthread_create(&t[i], NULL, work, &w[i]) == 0);
	}
	*early = *wrong = *landed = 0;
	for (int i = 0; i < threads; i++) {
		pthread_join(t[i], NULL);
		*early += w[i].early;
		*wrong += w[i].wrong;
		*landed += w[i].landed;
	}
	store_group_free(g);
}

/* A call's fn sees its caller's test-clock pin, also when it runs on the leader's thread. */
struct pinned_worker {
	struct store_group *g;
	int64_t at;
	int rounds, wrong_time;
	int ran_elsewhere; /* fn ran on another thread than the caller's */
};

struct pinned_job {
	struct job job; /* first: the model of the store reads it */
	int64_t seen;
	pthread_t ran_on;
};

static int pinned_fn(store_txn *txn, void *ctx)
{
	struct pinned_job *j = ctx;

	(void)txn;
	j->seen = cf_now();
	j->ran_on = pthread_self();
	return 0;
}

static void *pinned_work(void *arg)
{
	struct pinned_worker *w = arg;

	for (int i = 0; i < w->rounds; i++) {
		struct pinned_job j = {.job = {.write = 1}};
		int64_t after = 0;

		cf_clock_pin_at(w->at);
		CHECK_EQ_INT(store_group_write(w->g, NULL, pinned_fn, &j), 0);
		w->wrong_time += j.seen != w->at;
		w->ran_elsewhere += !pthread_equal(j.ran_on, pthread_self());
		/* and the caller's own pin is as it was */
		w->wrong_time += !cf_clock_pinned(&after) || after != w->at;
		cf_clock_unpin();
	}
	return NULL;
}

static void test_a_writers_fn_sees_its_callers_pinned_time_on_any_thread(void)
{
	char path[600];
	const char *base = getenv("CERTFLOW_TEST_TMP");
	struct store_group *g = NULL;
	struct pinned_worker w[8];
	pthread_t t[8];
	int wrong = 0, elsewhere = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/group_clock.%d", base ? base : "/tmp", (int)getpid());
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (!f)
		return;
	fputs("1700000000\n", f);
	fclose(f);
	cf_clock_set_file(path);
	CHECK(store_group_new(&g) == 0);
	for (int i = 0; i < 8; i++) {
		w[i] = (struct pinned_worker){
		    .g = g, .at = 1700000000 + 1000 * (i + 1), .rounds = 100};
		CHECK(pthread_create(&t[i], NULL, pinned_work, &w[i]) == 0);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		wrong += w[i].wrong_time;
		elsewhere += w[i].ran_elsewhere;
	}
	store_group_free(g);
	cf_clock_set_file(NULL);
	unlink(path);
	CHECK_EQ_INT(wrong, 0);
	CHECK(elsewhere > 0); /* the case in question happened */
}

static void test_a_lone_writer_is_told_only_after_its_commit_is_on_disk(void)
{
	int early, wrong, landed;

	commits = 0;
	run(1, 200, &early, &wrong, &landed);
	CHECK_EQ_INT(early, 0);
	CHECK_EQ_INT(wrong, 0);
	CHECK(landed > 100);
	CHECK_EQ_INT(commits, landed); /* alone: a commit each */
}

static void test_concurrent_writers_are_told_only_after_their_commit_is_on_disk(void)
{
	int early, wrong, landed;

	commits = 0;
	run(8, 300, &early, &wrong, &landed);
	CHECK_EQ_INT(early, 0);
	CHECK_EQ_INT(wrong, 0);
	CHECK(landed > 8 * 150);
	CHECK((long)commits < landed); /* writers queued during a commit share the next one */
	printf("  %d writes in %lu commits\n", landed, commits);
}

int main(void)
{
	RUN(test_a_lone_writer_is_told_only_after_its_commit_is_on_disk);
	RUN(test_concurrent_writers_are_told_only_after_their_commit_is_on_disk);
	RUN(test_a_writers_fn_sees_its_callers_pinned_time_on_any_thread);
	return check_done();
}
