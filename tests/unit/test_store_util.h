/*
 * test_store_util — what the test_store_* programs share: a fresh temporary directory per test
 * (under $CERTFLOW_TEST_TMP, else /tmp), a store opened in it, and their removal.
 *
 * With CERTFLOW_TEST_PG set to a libpq connection string (tests/integration/pgcluster.py run --
 * ctest ...), the stores are on PostgreSQL instead: each test gets a fresh schema of that database
 * (dropped by cleanup), and store_test_reopen opens it again. Tests of LMDB's own behaviour (map
 * growth, files, backups) skip themselves there (store_test_pg()).
 */
#ifndef TEST_STORE_UTIL_H
#define TEST_STORE_UTIL_H

#include <ctype.h>
#include <ftw.h>
#include <libpq-fe.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store.h"

static char tmp_root[512]; /* the current test's directory */
static char test_pg[1400]; /* the current test's PostgreSQL store, "" for LMDB */
static char test_schema[64];

/* Run sql (no data in it) in the database of CERTFLOW_TEST_PG; 0 if it succeeded. */
static inline int store_test_sql(const char *sql)
{
	PGconn *c = PQconnectdb(getenv("CERTFLOW_TEST_PG"));
	PGresult *r = NULL;
	int ok = 0;

	if (PQstatus(c) == CONNECTION_OK) {
		r = PQexec(c, sql);
		ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
		if (!ok)
			fprintf(stderr, "store_test_sql: %s", PQerrorMessage(c));
	}
	PQclear(r);
	PQfinish(c);
	return ok ? 0 : -1;
}

static inline int store_test_pg(void)
{
	const char *e = getenv("CERTFLOW_TEST_PG");
	return e && *e;
}

/* A fresh schema for the current test (named after its directory), in test_pg. */
static inline int pg_fresh_schema(void)
{
	const char *suffix = strrchr(tmp_root, '-') + 1;
	char sql[160];
	size_t i;

	snprintf(test_schema, sizeof(test_schema), "t_%s", suffix);
	for (i = 0; test_schema[i]; i++)
		test_schema[i] = isalnum((unsigned char)test_schema[i])
				     ? (char)tolower((unsigned char)test_schema[i])
				     : '_';
	snprintf(sql, sizeof(sql), "CREATE SCHEMA %s", test_schema);
	if (store_test_sql(sql) != 0)
		return -1;
	snprintf(test_pg, sizeof(test_pg), "%s options='-c search_path=%s'",
		 getenv("CERTFLOW_TEST_PG"), test_schema);
	return 0;
}

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
	test_pg[0] = '\0';
	if (store_test_pg())
		return pg_fresh_schema();
	return 0;
}

/* Open the current test's store (again): LMDB in dir, or its PostgreSQL schema. */
static inline int store_test_reopen(const char *dir, const struct store_opts *opts, store **st)
{
	struct store_opts o = {0};

	if (opts)
		o = *opts;
	if (test_pg[0])
		o.conninfo = test_pg;
	return store_open(dir, &o, st);
}

/* A store in "<fresh directory>/db" (its path in dir), or NULL. */
static inline store *store_test_open(char *dir, size_t len, const struct store_opts *opts)
{
	store *st = NULL;

	if (fresh_dir(dir, len, "db") != 0 || store_test_reopen(dir, opts, &st) != 0)
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
	char sql[160];

	store_close(st);
	nftw(tmp_root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	if (test_pg[0]) {
		snprintf(sql, sizeof(sql),
			 "SET client_min_messages = warning; DROP SCHEMA %s CASCADE", test_schema);
		store_test_sql(sql);
		test_pg[0] = '\0';
	}
}

#endif
