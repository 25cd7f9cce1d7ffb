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
	unlink(clock_path);
	return check_done();
}
