/*
 * migrate — certflowd migrate: store_copy between two stores named on the command line, each
 * lmdb:DIR (a data directory, its database in DIR/db, or a database directory holding data.mdb
 * as certflowd backup writes) or postgresql:CONNINFO (a libpq connection string or URI).
 *
 * Nothing is touched before both names are understood, the source opens (a readable database of
 * a schema this build knows) and the target opens; store_copy refuses a target that holds any
 * record. The connection string is never printed: it may hold a password.
 */
#include "migrate.h"

#include "cf_err.h"
#include "cf_log.h"
#include "config.h"
#include "store.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct end {
	const char *role; /* "source" or "target" */
	const char *dir;  /* lmdb: as given, else NULL */
	const char *conninfo;
	char db[CONFIG_PATH_MAX + 8]; /* lmdb: the database directory */
};

static const char usage_line[] = "usage: certflowd migrate --from lmdb:DIR|postgresql:CONNINFO "
				 "--to lmdb:DIR|postgresql:CONNINFO\n";

static int file_exists(const char *dir, const char *name)
{
	char path[CONFIG_PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

/* Understand one store's name (no side effect). 0, or the exit status of a refusal. */
static int parse_end(const char *spec, struct end *e)
{
	if (strncmp(spec, "postgresql://", 13) == 0 || strncmp(spec, "postgres://", 11) == 0) {
		e->conninfo = spec; /* a libpq URI names its scheme itself */
	} else if (strncmp(spec, "postgresql:", 11) == 0 && spec[11]) {
		e->conninfo = spec + 11;
	} else if (strncmp(spec, "lmdb:", 5) == 0 && spec[5]) {
		e->dir = spec + 5;
		if (strlen(e->dir) >= CONFIG_PATH_MAX) {
			fprintf(stderr, "certflowd: migrate: the %s's directory name is too long\n",
				e->role);
			return 2;
		}
		if (file_exists(e->dir, "data.mdb"))
			snprintf(e->db, sizeof(e->db), "%s", e->dir);
		else
			snprintf(e->db, sizeof(e->db), "%s/db", e->dir);
	} else {
		fprintf(stderr,
			"certflowd: migrate: the %s must be lmdb:DIR or postgresql:CONNINFO (a "
			"store certflowd knows), not \"%.*s\"\n",
			e->role, (int)strcspn(spec, ":"), spec);
		return 2;
	}
	return 0;
}

/* The store's name for people: the directory, never the connection string. */
static void show(const struct end *e, char *buf, size_t cap)
{
	if (e->conninfo)
		snprintf(buf, cap, "postgresql");
	else
		snprintf(buf, cap, "lmdb:%s", e->db);
}

/* The store's first error line, without its "store: " prefix, or what ret says. */
static const char *reason(const char *why, int ret)
{
	if (!why[0])
		return cf_strerror(ret);
	return strncmp(why, "store: ", 7) == 0 ? why + 7 : why;
}

/* Open one end; on failure one line (why: the store's first error, if any) and status 1. */
static int open_end(struct end *e, char *why, store **out)
{
	struct store_opts so = {0};
	char name[CONFIG_PATH_MAX + 16];
	int ret;

	show(e, name, sizeof(name));
	if (e->conninfo) {
		so.conninfo = e->conninfo;
		so.pool_size = 1;
	} else if (strcmp(e->role, "source") == 0) {
		/* store_open would make an empty database: a source must already hold one */
		if (!file_exists(e->db, "data.mdb")) {
			fprintf(stderr, "certflowd: migrate: no database in %s\n", e->dir);
			return 1;
		}
	} else if (mkdir(e->dir, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "certflowd: migrate: cannot create %s: %s\n", e->dir,
			strerror(errno));
		return 1;
	}
	why[0] = '\0';
	if ((ret = store_open(e->db, &so, out)) != 0) {
		fprintf(stderr, "certflowd: migrate: the %s (%s): %s\n", e->role, name,
			reason(why, ret));
		return 1;
	}
	return 0;
}

static void hex(const uint8_t *d, char *out)
{
	for (int i = 0; i < 32; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

static void print_report(const struct store_copy_report *rep, const char *from, const char *to)
{
	char h[2][65];

	printf("certflowd: migrate: %llu records copied from %s to %s in one transaction\n",
	       (unsigned long long)rep->copied, from, to);
	printf("%-18s %10s %10s  %s\n", "table", "source", "target",
	       "sha-256 chain (source, target if it differs)");
	for (size_t i = 0; i < rep->tables; i++) {
		int same = memcmp(rep->t[i].digest[0], rep->t[i].digest[1], 32) == 0;

		hex(rep->t[i].digest[0], h[0]);
		hex(rep->t[i].digest[1], h[1]);
		printf("%-18s %10llu %10llu  %s%s%s\n", rep->t[i].name,
		       (unsigned long long)rep->t[i].records[0],
		       (unsigned long long)rep->t[i].records[1], h[0], same ? "" : " ",
		       same ? "" : h[1]);
	}
}

static int parse_args(int argc, char **argv, const char **from, const char **to)
{
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			fputs(usage_line, stdout);
			exit(0);
		}
		if (strcmp(a, "--from") == 0 && i + 1 < argc)
			*from = argv[++i];
		else if (strncmp(a, "--from=", 7) == 0)
			*from = a + 7;
		else if (strcmp(a, "--to") == 0 && i + 1 < argc)
			*to = argv[++i];
		else if (strncmp(a, "--to=", 5) == 0)
			*to = a + 5;
		else
			return CF_EUSAGE;
	}
	return *from && *to ? 0 : CF_EUSAGE;
}

static int same_lmdb(const struct end *a, const struct end *b)
{
	char ra[PATH_MAX], rb[PATH_MAX];

	return a->dir && b->dir && realpath(a->db, ra) && realpath(b->db, rb) &&
	       strcmp(ra, rb) == 0;
}

int migrate_main(int argc, char **argv)
{
	struct end src = {.role = "source"}, dst = {.role = "target"};
	const char *from = NULL, *to = NULL;
	char why[512], from_name[CONFIG_PATH_MAX + 16], to_name[CONFIG_PATH_MAX + 16];
	struct store_copy_report *rep = NULL;
	store *a = NULL, *b = NULL;
	int ret, rc = 1, bad;

	if (parse_args(argc, argv, &from, &to) != 0) {
		fputs(usage_line, stderr);
		return 2;
	}
	if ((rc = parse_end(from, &src)) != 0 || (rc = parse_end(to, &dst)) != 0)
		return rc;
	if (same_lmdb(&src, &dst)) {
		fprintf(stderr, "certflowd: migrate: the source and the target are one database\n");
		return 2;
	}
	show(&src, from_name, sizeof(from_name));
	show(&dst, to_name, sizeof(to_name));
	cf_log_keep_first_error(why, sizeof(why)); /* one line: the reason, said below */
	if ((rc = open_end(&src, why, &a)) != 0 || (rc = open_end(&dst, why, &b)) != 0)
		goto out;
	rc = 1;
	if (!(rep = calloc(1, sizeof(*rep)))) {
		fprintf(stderr, "certflowd: migrate: %s\n", cf_strerror(CF_ENOMEM));
		goto out;
	}
	why[0] = '\0';
	ret = store_copy(a, b, rep);
	if (ret == CF_ECONFLICT) {
		fprintf(stderr,
			"certflowd: migrate: the target (%s) already holds records; nothing "
			"written (migrate into an empty database)\n",
			to_name);
		goto out;
	}
	if (ret != 0) {
		fprintf(stderr, "certflowd: migrate: copy from %s to %s: %s\n", from_name, to_name,
			reason(why, ret));
		goto out;
	}
	print_report(rep, from_name, to_name);
	if ((bad = store_copy_mismatches(rep)) != 0) {
		fflush(stdout);
		fprintf(stderr,
			"certflowd: migrate: %d table(s) differ between the source and the target "
			"after the copy (see above): do not use the target\n",
			bad);
		goto out;
	}
	printf("certflowd: migrate: every table's count and digest agree\n");
	rc = 0;
out:
	cf_log_keep_first_error(NULL, 0);
	store_close(a);
	store_close(b);
	free(rep);
	return rc;
}
