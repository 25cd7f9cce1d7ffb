/*
 * store_group — group commit for store_write (internal to server/store/).
 *
 * Concurrent store_write calls queue up; one of the callers (the leader) takes the queue and has
 * store_lmdb run every fn in its own nested transaction of one parent transaction, committed
 * with one fsync; each caller gets its own result. A fn therefore may run on another caller's
 * thread. Knows nothing of LMDB.
 */
#ifndef STORE_GROUP_H
#define STORE_GROUP_H

#include "store.h"

#include <stdatomic.h>

/* One queued store_write call; lives on its caller's stack. Its caller sleeps on state (a
 * futex word) and returns, without the queue's mutex, once a leader stores REQ_DONE. */
struct store_req {
	int (*fn)(store_txn *txn, void *ctx); /* run it with store_req_run */
	void *ctx;
	int pinned; /* the caller's test-clock pin (cf_clock_pinned), for fn on another thread */
	int64_t pin;
	int ret;
	int batched; /* taken into a leader's batch (under the queue's mutex) */
	atomic_int state;
	struct store_req *next;
};

struct store_group;

int store_group_new(struct store_group **out);
void store_group_free(struct store_group *g);

/* store_write through the group of st. */
int store_group_write(struct store_group *g, store *st, int (*fn)(store_txn *txn, void *ctx),
		      void *ctx);

/* r->fn in txn, on whichever thread, with the time of r's caller (its test-clock pin). */
int store_req_run(struct store_req *r, store_txn *txn);

/* In store_lmdb.c. One write txn for one fn, with map growth (plain store_write). */
int store_lmdb_write_one(store *st, int (*fn)(store_txn *txn, void *ctx), void *ctx);

/* In store_lmdb.c. Run reqs[0..n) each in a nested txn of one parent txn, commit once and set
 * every reqs[i]->ret. CF_ESTOREFULL if the map filled: then nothing was written and no ret is
 * meaningful (the caller runs each alone, with growth). */
int store_lmdb_batch(store *st, struct store_req *const *reqs, size_t n);

#endif
