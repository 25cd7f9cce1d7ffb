/*
 * certflow-bench-fill — the list benchmark's filler (tools/bench/lists.py): writes N credential
 * records straight into a stopped server's store, DATA/db, through the store API, 10,000 to a
 * transaction, so that a million records take seconds instead of a million activations. Ids
 * are "bench" + 10 digits; every 1,000th has the subject "rare-subject", the rest "bench-subject".
 *
 *   certflow-bench-fill DATA/db N
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cf_err.h"
#include "store.h"

#define BATCH 10000

struct fill {
	long from, to;
};

static int fill_txn(store_txn *txn, void *ctx)
{
	const struct fill *f = ctx;
	struct store_credential c;
	int ret = 0;

	for (long i = f->from; i < f->to && ret == 0; i++) {
		memset(&c, 0, sizeof(c));
		snprintf(c.id, sizeof(c.id), "bench%010u", (unsigned)(i % 1000000000));
		snprintf(c.account_id, sizeof(c.account_id), "bench-account");
		snprintf(c.subject, sizeof(c.subject), "%s",
			 i % 1000 == 999 ? "rare-subject" : "bench-subject");
		snprintf(c.profile, sizeof(c.profile), "device");
		snprintf(c.reference, sizeof(c.reference), "%012u", (unsigned)(i % 1000000000));
		c.status = CRED_ACTIVE;
		c.created_at = (int64_t)time(NULL);
		ret = store_credential_put(txn, &c);
	}
	return ret;
}

int main(int argc, char **argv)
{
	struct store_opts so = {0};
	store *st = NULL;
	char *end;
	long n;
	int ret;

	if (argc != 3 || (n = strtol(argv[2], &end, 10)) < 1 || *end) {
		fprintf(stderr, "usage: certflow-bench-fill DATA/db N\n");
		return 2;
	}
	if ((ret = store_open(argv[1], &so, &st)) != 0) {
		fprintf(stderr, "certflow-bench-fill: %s: %s\n", argv[1], cf_strerror(ret));
		return 1;
	}
	for (long i = 0; i < n && ret == 0; i += BATCH) {
		struct fill f = {i, i + BATCH < n ? i + BATCH : n};
		ret = store_write(st, fill_txn, &f);
	}
	store_close(st);
	if (ret != 0) {
		fprintf(stderr, "certflow-bench-fill: %s\n", cf_strerror(ret));
		return 1;
	}
	return 0;
}
