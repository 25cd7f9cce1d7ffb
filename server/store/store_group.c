/*
 * store_group — the queue and leader hand-over of group commit (see store_group.h).
 * Whoever finds no batch running becomes the leader, runs up to GROUP_MAX queued calls as one
 * commit, hands leadership to the next queued caller and then wakes the callers of its batch.
 * Must never hold the queue mutex while a transaction runs.
 *
 * Each caller sleeps on its own futex word (req->state), not on a condition variable under the
 * queue's mutex: a woken caller returns at once instead of queueing for the mutex the leader
 * holds, which on one CPU cost a context switch or two per caller. The leader's last touch of a
 * finished caller's request is the release store of REQ_DONE; the FUTEX_WAKE after it names
 * only an address (the caller's stack stays mapped), and a wake that reaches a later waiter at
 * that address is a spurious one, which every wait loop re-checks.
 */
#include "store_group.h"

#include "cf_clock.h"
#include "cf_err.h"

#include <linux/futex.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#define GROUP_MAX 64

enum { REQ_QUEUED, REQ_LEAD, REQ_DONE };

struct store_group {
	pthread_mutex_t mu;
	struct store_req *head, *tail; /* waiting, oldest first */
	int busy;		       /* a leader is running a batch */
};

int store_group_new(struct store_group **out)
{
	struct store_group *g = calloc(1, sizeof(*g));

	if (!g)
		return CF_ENOMEM;
	if (pthread_mutex_init(&g->mu, NULL) != 0) {
		free(g);
		return CF_ENOMEM;
	}
	*out = g;
	return 0;
}

void store_group_free(struct store_group *g)
{
	if (!g)
		return;
	pthread_mutex_destroy(&g->mu);
	free(g);
}

/* Sleep while *w holds v (spurious and interrupted wakes loop). */
static void wait_while(atomic_int *w, int v)
{
	while (atomic_load_explicit(w, memory_order_acquire) == v)
		syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, v, NULL, NULL, 0);
}

/* Sleep until *w holds REQ_DONE, its last value (a REQ_LEAD may come before it). */
static void wait_done(atomic_int *w)
{
	int v;

	while ((v = atomic_load_explicit(w, memory_order_acquire)) != REQ_DONE)
		syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, v, NULL, NULL, 0);
}

static void wake(atomic_int *w)
{
	syscall(SYS_futex, w, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* A request of certflowd pins one time (test clock) and its transaction may run on the leader's
 * thread, whose own pin is another request's. */
int store_req_run(struct store_req *r, store_txn *txn)
{
	int64_t own = 0;
	int had = cf_clock_pinned(&own), ret;

	if (r->pinned)
		cf_clock_pin_at(r->pin);
	else
		cf_clock_unpin();
	ret = r->fn(txn, r->ctx);
	if (had)
		cf_clock_pin_at(own);
	else
		cf_clock_unpin();
	return ret;
}

/* store_req_run for store_lmdb_write_one, whose fn takes ctx only */
static int as_caller(store_txn *txn, void *ctx)
{
	return store_req_run(ctx, txn);
}

static void run_batch(store *st, struct store_req **batch, size_t n)
{
	/* a lone caller gets a plain transaction: no nesting cost when there is no contention */
	if (n == 1) {
		batch[0]->ret = store_lmdb_write_one(st, as_caller, batch[0]);
		return;
	}
	if (store_lmdb_batch(st, batch, n) == 0)
		return;
	/* the map filled: nothing was written; each alone, growing the map as it needs */
	for (size_t i = 0; i < n; i++)
		batch[i]->ret = store_lmdb_write_one(st, as_caller, batch[i]);
}

/* As the leader (g->busy set by the caller, mu not held): run one batch from the queue's head,
 * pass the lead on, wake the batch's other callers. 1 if self was in the batch. */
static int lead(struct store_group *g, store *st, struct store_req *self)
{
	struct store_req *batch[GROUP_MAX], *next;
	size_t n;
	int mine = 0;

	pthread_mutex_lock(&g->mu);
	for (n = 0; g->head && n < GROUP_MAX; n++) {
		batch[n] = g->head;
		batch[n]->batched = 1;
		mine |= batch[n] == self;
		g->head = g->head->next;
	}
	if (!g->head)
		g->tail = NULL;
	pthread_mutex_unlock(&g->mu);
	run_batch(st, batch, n);
	pthread_mutex_lock(&g->mu);
	g->busy = 0;
	next = g->head;
	if (next && next != self) {
		atomic_store_explicit(&next->state, REQ_LEAD, memory_order_release);
		wake(&next->state);
	}
	pthread_mutex_unlock(&g->mu);
	for (size_t i = 0; i < n; i++) {
		if (batch[i] == self)
			continue;
		/* the last touch of batch[i]: its caller may return and reuse the memory */
		atomic_store_explicit(&batch[i]->state, REQ_DONE, memory_order_release);
		wake(&batch[i]->state);
	}
	return mine;
}

int store_group_write(struct store_group *g, store *st, int (*fn)(store_txn *txn, void *ctx),
		      void *ctx)
{
	struct store_req r = {.fn = fn, .ctx = ctx};

	r.pinned = cf_clock_pinned(&r.pin);
	atomic_init(&r.state, REQ_QUEUED);
	pthread_mutex_lock(&g->mu);
	if (g->tail)
		g->tail->next = &r;
	else
		g->head = &r;
	g->tail = &r;
	for (;;) {
		/* under mu */
		if (!g->busy && !r.batched) {
			g->busy = 1;
			pthread_mutex_unlock(&g->mu);
			if (lead(g, st, &r))
				return r.ret;
			pthread_mutex_lock(&g->mu); /* more than GROUP_MAX were ahead of us */
			continue;
		}
		if (r.batched) {
			/* in a leader's batch: only its REQ_DONE remains (a REQ_LEAD may have come
			 * first) */
			pthread_mutex_unlock(&g->mu);
			wait_done(&r.state);
			return r.ret;
		}
		/* queued behind a running batch: sleep until made leader or done */
		atomic_store_explicit(&r.state, REQ_QUEUED, memory_order_relaxed);
		pthread_mutex_unlock(&g->mu);
		wait_while(&r.state, REQ_QUEUED);
		if (atomic_load_explicit(&r.state, memory_order_acquire) == REQ_DONE)
			return r.ret;
		pthread_mutex_lock(&g->mu);
	}
}
