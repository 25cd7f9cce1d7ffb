/*
 * store_group — the queue and leader hand-over of group commit (see store_group.h).
 * Whoever finds no batch running becomes the leader, runs up to GROUP_MAX queued calls as one
 * commit, wakes their callers and hands leadership to the next queued caller. Must never hold
 * the queue mutex while a transaction runs.
 */
#include "store_group.h"

#include "cf_err.h"

#include <stdlib.h>

#define GROUP_MAX 64

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

static void run_batch(store *st, struct store_req **batch, size_t n)
{
	/* a lone caller gets a plain transaction: no nesting cost when there is no contention */
	if (n == 1) {
		batch[0]->ret = store_lmdb_write_one(st, batch[0]->fn, batch[0]->ctx);
		return;
	}
	if (store_lmdb_batch(st, batch, n) == 0)
		return;
	/* the map filled: nothing was written; each alone, growing the map as it needs */
	for (size_t i = 0; i < n; i++)
		batch[i]->ret = store_lmdb_write_one(st, batch[i]->fn, batch[i]->ctx);
}

int store_group_write(struct store_group *g, store *st, int (*fn)(store_txn *txn, void *ctx),
		      void *ctx)
{
	struct store_req r = {.fn = fn, .ctx = ctx};
	struct store_req *batch[GROUP_MAX];
	size_t n;

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
		g->busy = 1;
		for (n = 0; g->head && n < GROUP_MAX; n++) {
			batch[n] = g->head;
			g->head = g->head->next;
		}
		if (!g->head)
			g->tail = NULL;
		pthread_mutex_unlock(&g->mu);
		run_batch(st, batch, n);
		pthread_mutex_lock(&g->mu);
		/* a woken caller needs the mutex to return, so batch[] stays valid in this loop */
		for (size_t i = 0; i < n; i++) {
			batch[i]->done = 1;
			pthread_cond_signal(&batch[i]->cv);
		}
		g->busy = 0;
		if (g->head)
			pthread_cond_signal(&g->head->cv); /* the next leader */
	}
	pthread_mutex_unlock(&g->mu);
	pthread_cond_destroy(&r.cv);
	return r.ret;
}
