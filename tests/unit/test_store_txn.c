/* test_store_txn — transactions: abort on error, map growth and its limit, backup and restore,
 * stale readers, concurrent writers and readers, file modes. On PostgreSQL (CERTFLOW_TEST_PG, see
 * test_store_util.h): abort on error, concurrent writers and readers (serialisation failures
 * re-run) and the refused backup; the rest is LMDB's own. */
#include "check.h"
#include "cf_err.h"
#include "store.h"
#include "test_store_util.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int group_commit; /* the mode of every store the tests open */

static store *open_fresh(char *dir, size_t len, size_t map_size, size_t map_size_max)
{
	struct store_opts o = {
	    .map_size = map_size, .map_size_max = map_size_max, .group_commit = group_commit};

	return store_test_open(dir, len, &o);
}

static void make_cert(struct store_cert *c, const char *cred, int n, size_t der_len)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->serial, sizeof(c->serial), "%s%08x", cred, (unsigned)n);
	snprintf(c->credential_id, sizeof(c->credential_id), "%s", cred);
	c->status = CERT_VALID;
	c->reason = -1;
	c->not_before = n;
	c->not_after = n + 1000;
	c->der_len = der_len;
	for (size_t i = 0; i < der_len; i++)
		c->der[i] = (uint8_t)(i * 13 + (size_t)n);
}

/* Insert certificates first..first+count-1 of cred, then return fail (0 = commit). */
struct batch {
	const char *cred;
	int first, count;
	size_t der_len;
	int fail;
	int runs; /* how often fn ran */
};

static int put_batch(store_txn *t, void *ctx)
{
	struct batch *b = ctx;
	static __thread struct store_cert c;
	int ret;

	b->runs++;
	for (int i = 0; i < b->count; i++) {
		make_cert(&c, b->cred, b->first + i, b->der_len);
		if ((ret = store_cert_put(t, &c, 1)) != 0)
			return ret;
	}
	return b->fail;
}

struct count_ctx {
	const char *cred;
	int n;
};

static int count_one(const struct store_cert *c, void *ctx)
{
	(void)c;
	((struct count_ctx *)ctx)->n++;
	return 0;
}

static int count_certs(store_txn *t, void *ctx)
{
	struct count_ctx *c = ctx;
	c->n = 0;
	return store_cert_list_by_credential(t, c->cred, count_one, c);
}

static int count_of(store *st, const char *cred)
{
	struct count_ctx c = {cred, 0};
	return store_read(st, count_certs, &c) == 0 ? c.n : -1;
}

struct has_ctx {
	const char *serial;
};

static int get_serial(store_txn *t, void *ctx)
{
	static __thread struct store_cert c;
	return store_cert_get(t, ((struct has_ctx *)ctx)->serial, &c);
}

static int has_cert(store *st, const char *cred, int n)
{
	char serial[STORE_SERIAL_LEN];
	struct has_ctx h = {serial};

	snprintf(serial, sizeof(serial), "%s%08x", cred, (unsigned)n);
	return store_read(st, get_serial, &h) == 0;
}

static void test_fn_error_aborts_whole_txn(void)
{
	char dir[600];
	store *st = open_fresh(dir, sizeof(dir), 0, 0);
	struct batch b = {"cred", 0, 3, 100, CF_EBADCODE, 0};

	CHECK(st != NULL);
	if (!st)
		return;
	CHECK_EQ_INT(store_write(st, put_batch, &b), CF_EBADCODE);
	CHECK_EQ_INT(b.runs, 1);
	CHECK_EQ_INT(count_of(st, "cred"), 0);
	CHECK(!has_cert(st, "cred", 0));
	b.fail = 0;
	CHECK_EQ_INT(store_write(st, put_batch, &b), 0);
	CHECK_EQ_INT(count_of(st, "cred"), 3);
	cleanup(st);
}

static void test_map_full_at_limit_gives_storefull_and_nothing_written(void)
{
	char dir[600];
	size_t lim = 256 << 10;
	store *st = open_fresh(dir, sizeof(dir), lim, lim);
	struct batch b = {"cred", 0, 4, STORE_DER_MAX, 0, 0};
	int ret = 0, committed = 0;

	CHECK(st != NULL);
	if (!st)
		return;
	for (int i = 0; i < 1000; i++) {
		b.first = i * 4;
		if ((ret = store_write(st, put_batch, &b)) != 0)
			break;
		committed++;
	}
	CHECK_EQ_INT(ret, CF_ESTOREFULL);
	CHECK(committed > 0);
	/* the failed transaction left nothing behind, the earlier ones are all there */
	CHECK_EQ_INT(count_of(st, "cred"), committed * 4);
	for (int i = 0; i < 4; i++)
		CHECK(!has_cert(st, "cred", committed * 4 + i));
	CHECK(has_cert(st, "cred", committed * 4 - 1));
	cleanup(st);
}

static void test_map_grows_when_allowed(void)
{
	char dir[600];
	store *st = open_fresh(dir, sizeof(dir), 256 << 10, 64 << 20);
	struct batch b = {"cred", 0, 4, STORE_DER_MAX, 0, 0};
	struct store_opts o = {.map_size = 256 << 10, .map_size_max = 64 << 20};
	int ok = 0;

	CHECK(st != NULL);
	if (!st)
		return;
	for (int i = 0; i < 100; i++) {
		b.first = i * 4;
		ok += store_write(st, put_batch, &b) == 0;
	}
	CHECK_EQ_INT(ok, 100);
	CHECK(b.runs > 100); /* some fn ran again after growth */
	CHECK_EQ_INT(count_of(st, "cred"), 400);
	/* the grown map opens again with the small initial size */
	store_close(st);
	st = NULL;
	CHECK_EQ_INT(store_open(dir, &o, &st), 0);
	CHECK_EQ_INT(count_of(st, "cred"), 400);
	cleanup(st);
}

static void test_backup_then_restore_finds_records(void)
{
	char dir[600], bak[700], file[800];
	store *st = open_fresh(dir, sizeof(dir), 0, 0), *copy = NULL;
	struct batch b = {"cred", 0, 10, 500, 0, 0};
	struct stat sb;

	CHECK(st != NULL);
	if (!st)
		return;
	CHECK_EQ_INT(store_write(st, put_batch, &b), 0);
	snprintf(bak, sizeof(bak), "%s/backup", tmp_root);
	CHECK_EQ_INT(store_backup(st, bak), 0);
	CHECK_EQ_INT(store_backup(st, bak), CF_ECONFLICT); /* exists, not empty */
	snprintf(file, sizeof(file), "%s/data.mdb", bak);
	CHECK(stat(file, &sb) == 0 && (sb.st_mode & 0777) == 0600);
	CHECK(stat(bak, &sb) == 0 && (sb.st_mode & 0777) == 0700);
	/* later writes do not reach the copy */
	b.first = 10;
	CHECK_EQ_INT(store_write(st, put_batch, &b), 0);
	CHECK_EQ_INT(store_open(bak, NULL, &copy), 0);
	if (copy) {
		CHECK_EQ_INT(count_of(copy, "cred"), 10);
		CHECK(has_cert(copy, "cred", 9));
		CHECK(!has_cert(copy, "cred", 10));
		store_close(copy);
	}
	cleanup(st);
}

static void test_files_are_private(void)
{
	char dir[600], file[700];
	store *st = open_fresh(dir, sizeof(dir), 0, 0);
	struct stat sb;

	CHECK(st != NULL);
	if (!st)
		return;
	CHECK(stat(dir, &sb) == 0 && (sb.st_mode & 0777) == 0700);
	snprintf(file, sizeof(file), "%s/data.mdb", dir);
	CHECK(stat(file, &sb) == 0 && (sb.st_mode & 0077) == 0);
	snprintf(file, sizeof(file), "%s/lock.mdb", dir);
	CHECK(stat(file, &sb) == 0 && (sb.st_mode & 0077) == 0);
	cleanup(st);
}

static int die_inside(store_txn *t, void *ctx)
{
	(void)t;
	(void)ctx;
	_exit(0); /* a crash with the read txn open */
}

/* Open dir in the parent with stderr going to a file; give back what was logged. */
static int open_logged(const char *dir, store **st, char *log, size_t len)
{
	char path[700];
	int saved, fd, ret;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/open.log", tmp_root);
	fflush(stderr);
	saved = dup(2);
	fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0600);
	dup2(fd, 2);
	ret = store_open(dir, NULL, st);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = pread(fd, log, len - 1, 0);
	log[n > 0 ? n : 0] = '\0';
	close(fd);
	return ret;
}

static void test_stale_reader_cleared_at_open(void)
{
	char dir[600], log[4096], c = 0;
	int hold[2], ready[2], status = -1;
	store *st = NULL;
	pid_t holder, reader;

	CHECK_EQ_INT(fresh_dir(dir, sizeof(dir), "db"), 0);
	CHECK(pipe(hold) == 0 && pipe(ready) == 0);
	/* another server process keeps the environment open (else the next opener would reset
	 * the lock file and the slot would vanish without a check) */
	holder = fork();
	if (holder == 0) {
		store *s = NULL;
		close(hold[1]);
		if (store_open(dir, NULL, &s) != 0)
			_exit(1);
		if (write(ready[1], "r", 1) != 1 || read(hold[0], &c, 1) < 0)
			_exit(1);
		store_close(s);
		_exit(0);
	}
	CHECK_EQ_INT(read(ready[0], &c, 1), 1);
	reader = fork();
	if (reader == 0) {
		store *s = NULL;
		if (store_open(dir, NULL, &s) != 0)
			_exit(1);
		store_read(s, die_inside, NULL);
		_exit(2);
	}
	CHECK_EQ_INT(waitpid(reader, &status, 0), reader);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	CHECK_EQ_INT(open_logged(dir, &st, log, sizeof(log)), 0);
	CHECK(strstr(log, "cleared 1 stale reader") != NULL);
	if (st) {
		struct batch b = {"cred", 0, 2, 100, 0, 0};
		CHECK_EQ_INT(store_write(st, put_batch, &b), 0);
		CHECK_EQ_INT(count_of(st, "cred"), 2);
	}
	close(hold[1]);
	CHECK_EQ_INT(waitpid(holder, &status, 0), holder);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(hold[0]);
	close(ready[0]);
	close(ready[1]);
	cleanup(st);
}

/* ---- threads ---- */

#define WRITERS 8
#define PER_WRITER 60

struct worker {
	store *st;
	char cred[16];
	int ok, failing; /* failing: every 3rd write returns an error after its puts */
	size_t der_len;
	atomic_int *stop; /* readers: loop until set */
	int reads;
};

struct counter_ctx {
	uint64_t v;
};

static int put_and_count(store_txn *t, void *ctx)
{
	struct batch *b = ctx;
	uint64_t v;
	int ret;

	if ((ret = store_counter_next(t, "writes", &v)) != 0)
		return ret;
	return put_batch(t, b); /* returns b->fail after the puts */
}

static void *writer_main(void *arg)
{
	struct worker *w = arg;

	for (int i = 0, n = 0; n < PER_WRITER; i++) {
		int fail = w->failing && i % 3 == 0 ? CF_ECONFLICT : 0;
		struct batch b = {w->cred, fail ? 1000 + i : n, 1, w->der_len, fail, 0};
		int ret = store_write(w->st, put_and_count, &b);
		if (fail)
			w->ok += ret == CF_ECONFLICT ? 0 : 1000; /* a failure must stay a failure */
		else
			w->ok += ret == 0;
		n += !fail;
	}
	return NULL;
}

static void *reader_main(void *arg)
{
	struct worker *w = arg;

	while (!atomic_load(w->stop)) {
		if (count_of(w->st, w->cred) >= 0)
			w->reads++;
	}
	return NULL;
}

static int read_counter(store_txn *t, void *ctx)
{
	(void)t;
	(void)ctx;
	return 0;
}

static void run_writers(store *st, size_t der_len, int readers)
{
	struct worker w[WRITERS], r[4];
	pthread_t tw[WRITERS], tr[4];
	atomic_int stop = 0;

	for (int i = 0; i < readers; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		r[i].st = st;
		r[i].stop = &stop;
		snprintf(r[i].cred, sizeof(r[i].cred), "w%d-", i);
		pthread_create(&tr[i], NULL, reader_main, &r[i]);
	}
	for (int i = 0; i < WRITERS; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].st = st;
		w[i].der_len = der_len;
		w[i].failing = i % 2;
		snprintf(w[i].cred, sizeof(w[i].cred), "w%d-", i);
		pthread_create(&tw[i], NULL, writer_main, &w[i]);
	}
	for (int i = 0; i < WRITERS; i++) {
		pthread_join(tw[i], NULL);
		CHECK_EQ_INT(w[i].ok, PER_WRITER);
		CHECK_EQ_INT(count_of(st, w[i].cred), PER_WRITER);
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < readers; i++) {
		pthread_join(tr[i], NULL);
		CHECK(r[i].reads > 0);
	}
}

static int next_writes(store_txn *t, void *ctx)
{
	return store_counter_next(t, "writes", &((struct counter_ctx *)ctx)->v);
}

static void test_concurrent_writers_all_land(void)
{
	char dir[600];
	store *st = open_fresh(dir, sizeof(dir), 0, 0);
	struct counter_ctx c = {0};

	CHECK(st != NULL);
	if (!st)
		return;
	run_writers(st, 200, 0);
	CHECK_EQ_INT(store_write(st, next_writes, &c), 0);
	CHECK_EQ_INT(c.v, WRITERS * PER_WRITER + 1);
	CHECK_EQ_INT(store_read(st, read_counter, NULL), 0);
	cleanup(st);
}

static void test_map_grows_under_concurrent_readers_and_writers(void)
{
	char dir[600];
	store *st = open_fresh(dir, sizeof(dir), 128 << 10, 256 << 20);
	struct counter_ctx c = {0};

	CHECK(st != NULL);
	if (!st)
		return;
	run_writers(st, STORE_DER_MAX, 4);
	CHECK_EQ_INT(store_write(st, next_writes, &c), 0);
	CHECK_EQ_INT(c.v, WRITERS * PER_WRITER + 1);
	cleanup(st);
}

static void test_group_commit_concurrent_writers_all_land(void)
{
	group_commit = 1;
	test_concurrent_writers_all_land();
	group_commit = 0;
}

static void test_group_commit_grows_map_under_concurrent_load(void)
{
	group_commit = 1;
	test_map_grows_under_concurrent_readers_and_writers();
	group_commit = 0;
}

static void test_group_commit_map_full_at_limit(void)
{
	group_commit = 1;
	test_map_full_at_limit_gives_storefull_and_nothing_written();
	test_fn_error_aborts_whole_txn();
	group_commit = 0;
}

static void test_postgresql_backup_is_refused(void)
{
	char dir[600], bak[700];
	store *st = open_fresh(dir, sizeof(dir), 0, 0);

	CHECK(st != NULL);
	if (!st)
		return;
	snprintf(bak, sizeof(bak), "%s/bak", tmp_root);
	CHECK_EQ_INT(store_backup(st, bak), CF_EUSAGE);
	CHECK(access(bak, F_OK) != 0);
	cleanup(st);
}

static void test_nonce_use_counts_once_across_two_servers_of_one_database(void)
{
	char dir[600];
	store *st = open_fresh(dir, sizeof(dir), 0, 0), *other = NULL;
	const uint8_t id[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, id2[10] = {9};

	CHECK(st != NULL);
	if (!st)
		return;
	CHECK_EQ_INT(store_shared(st), 1);
	/* a second process's store on the same database */
	CHECK_EQ_INT(store_test_reopen(dir, NULL, &other), 0);
	if (other) {
		CHECK_EQ_INT(store_nonce_use(st, id, sizeof(id), 2000000000), 0);
		CHECK_EQ_INT(store_nonce_use(other, id, sizeof(id), 2000000000), CF_ECONFLICT);
		CHECK_EQ_INT(store_nonce_use(st, id, sizeof(id), 2000000000), CF_ECONFLICT);
		CHECK_EQ_INT(store_nonce_use(other, id2, sizeof(id2), 2000000000), 0);
		store_close(other);
	}
	cleanup(st);
}

static void test_lmdb_store_is_not_shared_and_keeps_no_nonces(void)
{
	char dir[600];
	store *st = open_fresh(dir, sizeof(dir), 0, 0);
	const uint8_t id[10] = {1};

	CHECK(st != NULL);
	if (!st)
		return;
	CHECK_EQ_INT(store_shared(st), 0);
	CHECK_EQ_INT(store_nonce_use(st, id, sizeof(id), 2000000000), CF_EUSAGE);
	cleanup(st);
}

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	if (store_test_pg()) {
		RUN(test_fn_error_aborts_whole_txn);
		RUN(test_concurrent_writers_all_land);
		RUN(test_group_commit_concurrent_writers_all_land);
		RUN(test_postgresql_backup_is_refused);
		RUN(test_nonce_use_counts_once_across_two_servers_of_one_database);
		return check_done();
	}
	RUN(test_fn_error_aborts_whole_txn);
	RUN(test_map_full_at_limit_gives_storefull_and_nothing_written);
	RUN(test_map_grows_when_allowed);
	RUN(test_backup_then_restore_finds_records);
	RUN(test_files_are_private);
	RUN(test_stale_reader_cleared_at_open);
	RUN(test_concurrent_writers_all_land);
	RUN(test_map_grows_under_concurrent_readers_and_writers);
	RUN(test_group_commit_concurrent_writers_all_land);
	RUN(test_group_commit_grows_map_under_concurrent_load);
	RUN(test_group_commit_map_full_at_limit);
	RUN(test_lmdb_store_is_not_shared_and_keeps_no_nonces);
	return check_done();
}
