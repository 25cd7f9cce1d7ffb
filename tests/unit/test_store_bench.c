/* test_store_bench — durable write transactions per second, with 1 and with many threads.
 * Under ctest it runs briefly and only checks that every write landed; for a measurement:
 *   CERTFLOW_BENCH_SECONDS=5 CERTFLOW_BENCH_THREADS=16 ./test_store_bench x
 * Each transaction inserts one certificate (1 KiB DER) and bumps a counter, like an issuance;
 * both without and with group commit (store_opts.group_commit). */
#include "check.h"
#include "cf_err.h"
#include "store.h"
#include "test_store_util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static atomic_int stop;

struct worker {
	store *st;
	int id;
	long done, failed;
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct issue {
	int worker;
	long n;
};

static int issue_fn(store_txn *t, void *ctx)
{
	static __thread struct store_cert c;
	struct issue *is = ctx;
	uint64_t v;
	int ret;

	memset(&c, 0, sizeof(c));
	snprintf(c.serial, sizeof(c.serial), "%04x%012lx", is->worker, is->n);
	snprintf(c.credential_id, sizeof(c.credential_id), "cred-%d", is->worker);
	c.status = CERT_VALID;
	c.reason = -1;
	c.not_before = is->n;
	c.der_len = 1024;
	memset(c.der, 0x30, c.der_len);
	if ((ret = store_cert_put(t, &c, 1)) != 0)
		return ret;
	return store_counter_next(t, "serials", &v);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	while (!atomic_load(&stop)) {
		struct issue is = {w->id, w->done};
		if (store_write(w->st, issue_fn, &is) == 0)
			w->done++;
		else
			w->failed++;
	}
	return NULL;
}

static int read_count(store_txn *t, void *ctx)
{
	(void)t;
	(void)ctx;
	return 0;
}

static void bench(int threads, double seconds, int group)
{
	char dir[600];
	struct worker *w = calloc((size_t)threads, sizeof(*w));
	pthread_t *tid = calloc((size_t)threads, sizeof(*tid));
	struct store_opts o = {.group_commit = group};
	store *st = NULL;
	long total = 0, failed = 0;
	double t0, t1;

	st = store_test_open(dir, sizeof(dir), &o);
	CHECK(st != NULL);
	if (!st || !w || !tid)
		goto out;
	atomic_store(&stop, 0);
	t0 = now();
	for (int i = 0; i < threads; i++) {
		w[i].st = st;
		w[i].id = i;
		pthread_create(&tid[i], NULL, worker_main, &w[i]);
	}
	usleep((useconds_t)(seconds * 1e6));
	atomic_store(&stop, 1);
	for (int i = 0; i < threads; i++) {
		pthread_join(tid[i], NULL);
		total += w[i].done;
		failed += w[i].failed;
	}
	t1 = now();
	CHECK_EQ_INT(failed, 0);
	CHECK(total > 0);
	CHECK_EQ_INT(store_read(st, read_count, NULL), 0);
	printf("%-12s threads %3d: %8.0f commits/s (%ld in %.2f s)\n",
	       group ? "group commit" : "plain", threads, (double)total / (t1 - t0), total,
	       t1 - t0);
out:
	cleanup(st);
	free(w);
	free(tid);
}

int main(int argc, char **argv)
{
	const char *s = getenv("CERTFLOW_BENCH_SECONDS"), *t = getenv("CERTFLOW_BENCH_THREADS");
	double seconds = s ? atof(s) : 0.3;
	int threads = t ? atoi(t) : 8;

	(void)argc;
	(void)argv;
	if (seconds <= 0 || threads < 1 || threads > 256)
		return 2;
	for (int group = 0; group <= 1; group++) {
		bench(1, seconds, group);
		bench(threads, seconds, group);
	}
	return check_done();
}
