/* test_nonce_store — replay nonces: single use, bounded memory, 15-minute life. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cf_clock.h"
#include "cf_err.h"
#include "check.h"
#include "nonce.h"

static char clock_path[512];

static void set_clock(long long t)
{
	char tmp[600];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", clock_path);
	f = fopen(tmp, "w");
	fprintf(f, "%lld\n", t);
	fclose(f);
	rename(tmp, clock_path);
}

static void test_nonce_is_22_base64url_characters(void)
{
	nonce_store *ns = NULL;
	char n[NONCE_LEN + 1];

	CHECK_EQ_INT(nonce_store_new(16, &ns), 0);
	CHECK_EQ_INT(nonce_issue(ns, n), 0);
	CHECK_EQ_INT(strlen(n), 22);
	CHECK_EQ_INT(strspn(n, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
		     22);
	nonce_store_free(ns);
}

static void test_nonce_is_accepted_once(void)
{
	nonce_store *ns = NULL;
	char a[NONCE_LEN + 1], b[NONCE_LEN + 1];

	CHECK_EQ_INT(nonce_store_new(16, &ns), 0);
	CHECK_EQ_INT(nonce_issue(ns, a), 0);
	CHECK_EQ_INT(nonce_issue(ns, b), 0);
	CHECK(strcmp(a, b) != 0);
	CHECK_EQ_INT(nonce_count(ns), 2);
	CHECK_EQ_INT(nonce_consume(ns, a), 0);
	CHECK_EQ_INT(nonce_consume(ns, a), CF_EBADNONCE);
	CHECK_EQ_INT(nonce_count(ns), 1);
	CHECK_EQ_INT(nonce_consume(ns, b), 0);
	CHECK_EQ_INT(nonce_count(ns), 0);
	nonce_store_free(ns);
}

static void test_unknown_or_malformed_nonce_is_refused(void)
{
	nonce_store *ns = NULL;
	char a[NONCE_LEN + 1];

	CHECK_EQ_INT(nonce_store_new(16, &ns), 0);
	CHECK_EQ_INT(nonce_issue(ns, a), 0);
	CHECK_EQ_INT(nonce_consume(ns, "AAAAAAAAAAAAAAAAAAAAAA"), CF_EBADNONCE);
	CHECK_EQ_INT(nonce_consume(ns, ""), CF_EBADNONCE);
	CHECK_EQ_INT(nonce_consume(ns, NULL), CF_EBADNONCE);
	CHECK_EQ_INT(nonce_consume(ns, "not a nonce at all!!!!"), CF_EBADNONCE);
	a[21] = a[21] == 'A' ? 'B' : 'A'; /* one character off */
	CHECK_EQ_INT(nonce_consume(ns, a), CF_EBADNONCE);
	nonce_store_free(ns);
}

static void test_oldest_nonce_is_evicted_at_capacity(void)
{
	enum { CAP = 64 };
	nonce_store *ns = NULL;
	char n[CAP + 8][NONCE_LEN + 1];
	int i;

	CHECK_EQ_INT(nonce_store_new(CAP, &ns), 0);
	for (i = 0; i < CAP + 8; i++)
		CHECK_EQ_INT(nonce_issue(ns, n[i]), 0);
	CHECK_EQ_INT(nonce_count(ns), CAP);
	for (i = 0; i < 8; i++)
		CHECK_EQ_INT(nonce_consume(ns, n[i]), CF_EBADNONCE); /* evicted, oldest first */
	for (i = 8; i < CAP + 8; i++)
		CHECK_EQ_INT(nonce_consume(ns, n[i]), 0);
	CHECK_EQ_INT(nonce_count(ns), 0);
	nonce_store_free(ns);
}

static void test_used_nonce_frees_its_slot(void)
{
	enum { CAP = 16 };
	nonce_store *ns = NULL;
	char first[NONCE_LEN + 1], n[NONCE_LEN + 1];
	int i;

	CHECK_EQ_INT(nonce_store_new(CAP, &ns), 0);
	CHECK_EQ_INT(nonce_issue(ns, first), 0);
	/* issue and use many: the first nonce is never evicted because used ones leave */
	for (i = 0; i < 10 * CAP; i++) {
		CHECK_EQ_INT(nonce_issue(ns, n), 0);
		CHECK_EQ_INT(nonce_consume(ns, n), 0);
	}
	CHECK_EQ_INT(nonce_consume(ns, first), 0);
	nonce_store_free(ns);
}

static void test_nonce_expires_after_15_minutes(void)
{
	nonce_store *ns = NULL;
	char a[NONCE_LEN + 1], b[NONCE_LEN + 1], c[NONCE_LEN + 1];
	long long t0 = 1900000000;

	set_clock(t0);
	cf_clock_set_file(clock_path);
	CHECK_EQ_INT(cf_now(), t0);
	CHECK_EQ_INT(nonce_store_new(16, &ns), 0);
	CHECK_EQ_INT(nonce_issue(ns, a), 0);
	CHECK_EQ_INT(nonce_issue(ns, b), 0);
	set_clock(t0 + NONCE_LIFETIME_SECS - 1);
	CHECK_EQ_INT(cf_now(), t0 + NONCE_LIFETIME_SECS - 1);
	CHECK_EQ_INT(nonce_consume(ns, a), 0);
	CHECK_EQ_INT(nonce_issue(ns, c), 0);
	set_clock(t0 + NONCE_LIFETIME_SECS);
	CHECK_EQ_INT(cf_now(), t0 + NONCE_LIFETIME_SECS);
	CHECK_EQ_INT(nonce_consume(ns, b), CF_EBADNONCE);
	CHECK_EQ_INT(nonce_consume(ns, c), 0);
	nonce_store_free(ns);
	cf_clock_set_file(NULL);
}

/* ---- shared stores (several front ends): the used records are this fake's ---- */

struct used_log {
	uint8_t ids[16][16];
	size_t lens[16];
	int64_t until[16];
	int n, calls;
};

static int fake_mark_used(void *ctx, const uint8_t *id, size_t len, int64_t until)
{
	struct used_log *u = ctx;

	u->calls++;
	for (int i = 0; i < u->n; i++)
		if (u->lens[i] == len && memcmp(u->ids[i], id, len) == 0)
			return CF_ECONFLICT;
	if (u->n == 16 || len > 16)
		return CF_EINTERNAL;
	memcpy(u->ids[u->n], id, len);
	u->lens[u->n] = len;
	u->until[u->n++] = until;
	return 0;
}

static const uint8_t key_a[32] = {1, 2, 3};

static void test_shared_nonce_is_accepted_once_by_another_store_with_the_same_key(void)
{
	struct used_log used = {0};
	nonce_store *a = NULL, *b = NULL, *other = NULL;
	uint8_t key_b[32] = {9};
	char n[NONCE_LEN + 1];
	long long t0 = 1900000000;

	set_clock(t0);
	cf_clock_set_file(clock_path);
	CHECK_EQ_INT(nonce_store_new_shared(key_a, fake_mark_used, &used, &a), 0);
	CHECK_EQ_INT(nonce_store_new_shared(key_a, fake_mark_used, &used, &b), 0);
	CHECK_EQ_INT(nonce_store_new_shared(key_b, fake_mark_used, &used, &other), 0);
	CHECK_EQ_INT(nonce_issue(a, n), 0);
	/* what a client sees does not change: 22 base64url characters */
	CHECK_EQ_INT(strlen(n), 22);
	CHECK_EQ_INT(nonce_consume(other, n), CF_EBADNONCE); /* another key: never asks the store */
	CHECK_EQ_INT(used.calls, 0);
	CHECK_EQ_INT(nonce_consume(b, n), 0);
	CHECK_EQ_INT(used.n, 1);
	CHECK_EQ_INT(used.until[0], t0 + NONCE_LIFETIME_SECS);
	CHECK_EQ_INT(nonce_consume(b, n), CF_EBADNONCE);
	CHECK_EQ_INT(nonce_consume(a, n), CF_EBADNONCE);
	CHECK_EQ_INT(nonce_count(a), 0); /* nothing in memory */
	nonce_store_free(a);
	nonce_store_free(b);
	nonce_store_free(other);
	cf_clock_set_file(NULL);
}

static void test_shared_nonce_with_a_changed_octet_is_refused(void)
{
	struct used_log used = {0};
	nonce_store *a = NULL;
	char n[NONCE_LEN + 1];

	CHECK_EQ_INT(nonce_store_new_shared(key_a, fake_mark_used, &used, &a), 0);
	CHECK_EQ_INT(nonce_issue(a, n), 0);
	for (int i = 0; i < NONCE_LEN; i++) {
		char m[NONCE_LEN + 1];

		memcpy(m, n, sizeof(m));
		m[i] = m[i] == 'A' ? 'B' : 'A';
		CHECK_EQ_INT(nonce_consume(a, m), CF_EBADNONCE);
	}
	CHECK_EQ_INT(used.calls, 0);
	CHECK_EQ_INT(nonce_consume(a, n), 0);
	nonce_store_free(a);
}

static void test_shared_nonce_expires_after_15_minutes(void)
{
	struct used_log used = {0};
	nonce_store *a = NULL;
	char x[NONCE_LEN + 1], y[NONCE_LEN + 1], z[NONCE_LEN + 1];
	long long t0 = 1900000000;

	set_clock(t0);
	cf_clock_set_file(clock_path);
	CHECK_EQ_INT(nonce_store_new_shared(key_a, fake_mark_used, &used, &a), 0);
	CHECK_EQ_INT(nonce_issue(a, x), 0);
	CHECK_EQ_INT(nonce_issue(a, y), 0);
	set_clock(t0 + NONCE_LIFETIME_SECS - 1);
	CHECK_EQ_INT(nonce_consume(a, x), 0);
	CHECK_EQ_INT(nonce_issue(a, z), 0);
	set_clock(t0 + NONCE_LIFETIME_SECS);
	CHECK_EQ_INT(nonce_consume(a, y), CF_EBADNONCE);
	/* a clock moved backwards (the test clock) is not wrong, as in memory */
	set_clock(t0 - 1);
	CHECK_EQ_INT(nonce_consume(a, z), 0);
	CHECK_EQ_INT(nonce_consume(a, z), CF_EBADNONCE);
	nonce_store_free(a);
	cf_clock_set_file(NULL);
}

int main(void)
{
	const char *tmp = getenv("CERTFLOW_TEST_TMP");

	snprintf(clock_path, sizeof(clock_path), "%s/nonce-clock-%ld", tmp ? tmp : "/tmp",
		 (long)getpid());
	if (tmp) {
		char cmd[600];
		snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", tmp);
		if (system(cmd) != 0)
			return 1;
	}
	RUN(test_nonce_is_22_base64url_characters);
	RUN(test_nonce_is_accepted_once);
	RUN(test_unknown_or_malformed_nonce_is_refused);
	RUN(test_oldest_nonce_is_evicted_at_capacity);
	RUN(test_used_nonce_frees_its_slot);
	RUN(test_nonce_expires_after_15_minutes);
	RUN(test_shared_nonce_is_accepted_once_by_another_store_with_the_same_key);
	RUN(test_shared_nonce_with_a_changed_octet_is_refused);
	RUN(test_shared_nonce_expires_after_15_minutes);
	unlink(clock_path);
	return check_done();
}
