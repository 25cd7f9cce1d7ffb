/*
 * test_store_util — what the test_store_* programs share: a fresh temporary directory per test
 * (under $CERTFLOW_TEST_TMP, else /tmp), a store opened in it, and their removal.
 */
#ifndef TEST_STORE_UTIL_H
#define TEST_STORE_UTIL_H

#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store.h"

static char tmp_root[512]; /* the current test's directory */

static inline int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

/* A fresh temporary directory tmp_root; dir is "<it>/<name>" (not created). */
static inline int fresh_dir(char *dir, size_t len, const char *name)
{
	const char *base = getenv("CERTFLOW_TEST_TMP");

	if (!base || !*base)
		base = "/tmp";
	mkdir(base, 0700);
	snprintf(tmp_root, sizeof(tmp_root), "%s/store-test-XXXXXX", base);
	if (!mkdtemp(tmp_root))
		return -1;
	snprintf(dir, len, "%s/%s", tmp_root, name);
	return 0;
}

/* A store in "<fresh directory>/db" (its path in dir), or NULL. */
static inline store *store_test_open(char *dir, size_t len, const struct store_opts *opts)
{
	store *st = NULL;

	if (fresh_dir(dir, len, "db") != 0 || store_open(dir, opts, &st) != 0)
		return NULL;
	return st;
}

/* The octets of hex text (pairs of hex digits) into out; their number. */
static inline size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = 0;
	unsigned v;

	while (hex[0] && hex[1] && n < cap && sscanf(hex, "%2x", &v) == 1) {
		out[n++] = (uint8_t)v;
		hex += 2;
	}
	return n;
}

/* Close st (NULL is fine) and remove the test's directory. */
static inline void cleanup(store *st)
{
	store_close(st);
	nftw(tmp_root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
