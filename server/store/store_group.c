/*
 * store_group — the queue and leader hand-over of group commit (see store_group.h).
 * Whoever finds no batch running becomes the leader, runs up to GROUP_MAX queued calls as one
 * commit, wakes the callers of the batch before it (whose meta page that commit's data sync made
 * durable, see store_group.h) and hands leadership to the next queued caller; with nobody queued
 * it syncs and wakes its own callers. Must never hold the queue mutex while a transaction or a
 * sync runs.
 */
#include "store_group.h"

#include "cf_err.h"

#include <stdlib.h>
#include <string.h>

#define GROUP_MAX 64

struct store_group {
	pthread_mutex_t mu;
	struct store_req *head, *tail; /* waiting, oldest first */
	int busy;		       /* a leader is running a batch */
	/* the last batch: committed, its meta page not yet synced, its callers not yet told */
	struct store_req *unsynced[GROUP_MAX];
	size_t nunsynced;
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

/* Run a batch; 1 if it committed something (and so synced the file before its meta page). */
static int run_batch(store *st, struct store_req **batch, size_t n)
{
	uint64_t before;

	if (!n)
		return 0;
	before = store_lmdb_last_commit(st);
	/* a lone caller gets a plain transaction: no nesting cost when there is no contention */
	if (n == 1)
		batch[0]->ret = store_lmdb_write_one(st, batch[0]->fn, batch[0]->ctx);
	else if (store_lmdb_batch(st, batch, n) != 0)
		/* the map filled: nothing was written; each alone, growing the map as it needs */
		for (size_t i = 0; i < n; i++)
			batch[i]->ret = store_lmdb_write_one(st, batch[i]->fn, batch[i]->ctx);
	return store_lmdb_last_commit(st) != before;
}

/* Tell the callers of reqs[0..n) (under g->mu); err replaces a success when the sync failed. */
static void acknowledge(struct store_req **reqs, size_t n, int err)
{
	/* a woken caller needs the mutex to return, so reqs[] stays valid in this loop */
	for (size_t i = 0; i < n; i++) {
		if (err && reqs[i]->ret == 0)
			reqs[i]->ret = err;
		reqs[i]->done = 1;
		pthread_cond_signal(&reqs[i]->cv);
	}
}

/* One turn of the leader, called and returning with g->mu held and g->busy set. */
static void lead(struct store_group *g, store *st)
{
	struct store_req *batch[GROUP_MAX];
	size_t n;
	int committed, err = 0;

	for (n = 0; g->head && n < GROUP_MAX; n++) {
		batch[n] = g->head;
		g->head = g->head->next;
	}
	if (!g->head)
		g->tail = NULL;
	pthread_mutex_unlock(&g->mu);
	committed = run_batch(st, batch, n);
	pthread_mutex_lock(&g->mu);
	if (committed) { /* its data sync made the previous batch's meta page durable */
		acknowledge(g->unsynced, g->nunsynced, 0);
		g->nunsynced = 0;
	}
	if (g->head && committed) {
		/* the next batch's commit will make this one durable: no sync of our own */
		memcpy(g->unsynced, batch, n * sizeof(batch[0]));
		g->nunsynced = n;
		return;
	}
	/* nobody follows (or nothing was written): sync now, for this batch and any before it */
	if (committed || g->nunsynced) {
		pthread_mutex_unlock(&g->mu);
		err = store_lmdb_sync(st);
		pthread_mutex_lock(&g->mu);
	}
	acknowledge(g->unsynced, g->nunsynced, err);
	g->nunsynced = 0;
	acknowledge(batch, n, err);
}

int store_group_write(struct store_group *g, store *st, int (*fn)(store_txn *txn, void *ctx),
		      void *ctx)
{
	struct store_req r = {.fn = fn, .ctx = ctx};

	if (pthread_cond_init(&r.cv, NULL) != 0)
		return CF_ENOMEM;
	pthread_mutex_lock(&g->mu);
	if (g->tail)
		g->tail->next = &r;
	else
		g->head = &r;
	g->tail = &r;
	while (!r.done) {
		if (g->busy) {
			pthread_cond_wait(&r.cv, &g->mu);
			continue;
		}
		/* r is queued or in the unsynced batch: either way a turn moves it on */
		g->busy = 1;
		lead(g, st);
		g->busy = 0;
		if (g->head)
			pthread_cond_signal(&g->head->cv); /* the next leader */
	}
	pthread_mutex_unlock(&g->mu);
	pthread_cond_destroy(&r.cv);
	return r.ret;
}
