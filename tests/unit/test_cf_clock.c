/* test_cf_clock — the injectable clock file, RFC 3339 formatting and parsing. */
#include "check.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cf_clock.h"
#include "cf_err.h"

static char dir[512];

static void make_tmpdir(void)
{
	const char *base = getenv("CERTFLOW_TEST_TMP");

	if (!base)
		base = "/tmp";
	mkdir(base, 0700);
	snprintf(dir, sizeof(dir), "%s/cf_clock.XXXXXX", base);
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		exit(2);
	}
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f) {
		perror(path);
		exit(2);
	}
	fputs(text, f);
	fclose(f);
}

static void test_clock_without_file_is_wall_clock(void)
{
	int64_t before = (int64_t)time(NULL), now = cf_now(), after = (int64_t)time(NULL);

	CHECK(now >= before && now <= after);
}

static void test_clock_reads_time_from_file(void)
{
	char path[600];

	snprintf(path, sizeof(path), "%s/clock", dir);
	write_file(path, "1700000000\n");
	cf_clock_set_file(path);
	CHECK_EQ_INT(cf_now(), 1700000000);
	CHECK_EQ_INT(cf_now(), 1700000000);
	cf_clock_set_file(NULL);
	unlink(path);
}

static void test_clock_follows_rewrites_of_the_same_size_at_once(void)
{
	char path[600];

	snprintf(path, sizeof(path), "%s/clock2", dir);
	write_file(path, "1700000000");
	cf_clock_set_file(path);
	CHECK_EQ_INT(cf_now(), 1700000000);
	/* same size, same second: still seen (15 days later) */
	write_file(path, "1701296000");
	CHECK_EQ_INT(cf_now(), 1701296000);
	write_file(path, "  1701296001  \n");
	CHECK_EQ_INT(cf_now(), 1701296001);
	cf_clock_set_file(NULL);
	unlink(path);
}

/* A read made long after the file's modification is kept without reading again; a rewrite after
 * it is still seen at once, and so is every one of many same-size rewrites within a tick. */
static void test_clock_trusts_an_old_file_and_still_sees_every_rewrite(void)
{
	char path[600], text[32];
	struct timespec old[2];
	int seen = 0;

	snprintf(path, sizeof(path), "%s/clock3", dir);
	write_file(path, "1700000000");
	clock_gettime(CLOCK_REALTIME, &old[0]);
	old[0].tv_sec -= 10;
	old[1] = old[0];
	CHECK(utimensat(AT_FDCWD, path, old, 0) == 0);
	cf_clock_set_file(path);
	CHECK_EQ_INT(cf_now(), 1700000000);
	CHECK_EQ_INT(cf_now(), 1700000000);
	write_file(path, "1700000007");
	CHECK_EQ_INT(cf_now(), 1700000007);
	for (int i = 0; i < 300; i++) {
		snprintf(text, sizeof(text), "%d", 1700001000 + i);
		write_file(path, text);
		seen += cf_now() == 1700001000 + i;
	}
	CHECK_EQ_INT(seen, 300);
	cf_clock_set_file(NULL);
	unlink(path);
}

static void *other_thread_now(void *arg)
{
	*(int64_t *)arg = cf_now();
	return NULL;
}

/* A pinned thread keeps one time until it unpins; other threads see a rewrite at once. */
static void test_clock_pin_holds_one_time_for_the_thread_until_unpinned(void)
{
	char path[600];
	pthread_t th;
	int64_t other = 0;

	snprintf(path, sizeof(path), "%s/clock4", dir);
	write_file(path, "1700000000");
	cf_clock_set_file(path);
	cf_clock_pin();
	CHECK_EQ_INT(cf_now(), 1700000000);
	write_file(path, "1700000500");
	CHECK_EQ_INT(cf_now(), 1700000000);
	CHECK(pthread_create(&th, NULL, other_thread_now, &other) == 0);
	pthread_join(th, NULL);
	CHECK_EQ_INT(other, 1700000500);
	cf_clock_unpin();
	CHECK_EQ_INT(cf_now(), 1700000500);
	/* a second pin reads the file again */
	cf_clock_pin();
	write_file(path, "1700000900");
	cf_clock_pin();
	CHECK_EQ_INT(cf_now(), 1700000900);
	cf_clock_unpin();
	cf_clock_set_file(NULL);
	/* without a clock file a pin does nothing: the wall clock */
	cf_clock_pin();
	CHECK(cf_now() >= (int64_t)time(NULL) - 1);
	cf_clock_unpin();
	unlink(path);
}

static void test_clock_keeps_last_value_when_file_is_bad_or_gone(void)
{
	char path[600];
	int64_t before;

	snprintf(path, sizeof(path), "%s/clock3", dir);
	write_file(path, "1800000000");
	cf_clock_set_file(path);
	CHECK_EQ_INT(cf_now(), 1800000000);
	write_file(path, "tomorrow");
	CHECK_EQ_INT(cf_now(), 1800000000);
	write_file(path, "12x");
	CHECK_EQ_INT(cf_now(), 1800000000);
	unlink(path);
	CHECK_EQ_INT(cf_now(), 1800000000);
	cf_clock_set_file(NULL);
	/* a clock file that never existed: the wall clock */
	cf_clock_set_file(path);
	before = (int64_t)time(NULL);
	CHECK(cf_now() >= before);
	cf_clock_set_file(NULL);
}

static void *reader(void *arg)
{
	int64_t *bad = arg;

	for (int i = 0; i < 2000; i++) {
		int64_t t = cf_now();
		if (t != 1700000000 && t != 1700000001)
			(*bad)++;
	}
	return NULL;
}

static void test_clock_is_safe_to_read_from_many_threads(void)
{
	pthread_t th[4];
	int64_t bad[4] = {0};
	char path[600];

	snprintf(path, sizeof(path), "%s/clock4", dir);
	write_file(path, "1700000000");
	cf_clock_set_file(path);
	for (int i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, reader, &bad[i]);
	for (int i = 0; i < 50; i++) {
		char tmp[620];
		/* replace by rename, as a test harness would, so readers never see a torn file */
		snprintf(tmp, sizeof(tmp), "%s.new", path);
		write_file(tmp, i % 2 ? "1700000000" : "1700000001");
		rename(tmp, path);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		CHECK_EQ_INT(bad[i], 0);
	}
	cf_clock_set_file(NULL);
	unlink(path);
}

static void test_time_format_gives_rfc3339_utc(void)
{
	char out[21];

	cf_time_format(0, out);
	CHECK_EQ_STR(out, "1970-01-01T00:00:00Z");
	cf_time_format(1795255200, out);
	CHECK_EQ_STR(out, "2026-11-21T10:00:00Z");
	cf_time_format(951782400, out); /* leap day of a year divisible by 400 */
	CHECK_EQ_STR(out, "2000-02-29T00:00:00Z");
	cf_time_format(253402300799LL, out);
	CHECK_EQ_STR(out, "9999-12-31T23:59:59Z");
	cf_time_format(253402300800LL * 2, out);
	CHECK_EQ_STR(out, "9999-12-31T23:59:59Z");
}

static void test_time_parse_roundtrips_and_rejects_bad_forms(void)
{
	static const char *const bad[] = {"2026-11-21T10:00:00",       "2026-11-21 10:00:00Z",
					  "2026-11-21T10:00:00.5Z",    "2026-13-01T00:00:00Z",
					  "2026-02-29T00:00:00Z",      "1900-02-29T00:00:00Z",
					  "2026-04-31T00:00:00Z",      "2026-01-01T24:00:00Z",
					  "2026-01-01T00:60:00Z",      "2026-01-01T00:00:60Z",
					  "2026-01-01T00:00:00z",      "+026-01-01T00:00:00Z",
					  "2026-11-21T10:00:00+00:00", ""};
	int64_t t = 42;
	char out[21];

	CHECK_EQ_INT(cf_time_parse("2026-11-21T10:00:00Z", &t), 0);
	CHECK_EQ_INT(t, 1795255200);
	CHECK_EQ_INT(cf_time_parse("2024-02-29T23:59:59Z", &t), 0);
	cf_time_format(t, out);
	CHECK_EQ_STR(out, "2024-02-29T23:59:59Z");
	for (int64_t v = 0; v < 4000000000LL; v += 86399 * 97) {
		cf_time_format(v, out);
		CHECK_EQ_INT(cf_time_parse(out, &t), 0);
		CHECK_EQ_INT(t, v);
	}
	t = 42;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_EQ_INT(cf_time_parse(bad[i], &t), CF_EMALFORMED);
	CHECK_EQ_INT(t, 42);
}

int main(void)
{
	make_tmpdir();
	RUN(test_clock_without_file_is_wall_clock);
	RUN(test_clock_reads_time_from_file);
	RUN(test_clock_follows_rewrites_of_the_same_size_at_once);
	RUN(test_clock_trusts_an_old_file_and_still_sees_every_rewrite);
	RUN(test_clock_pin_holds_one_time_for_the_thread_until_unpinned);
	RUN(test_clock_keeps_last_value_when_file_is_bad_or_gone);
	RUN(test_clock_is_safe_to_read_from_many_threads);
	RUN(test_time_format_gives_rfc3339_utc);
	RUN(test_time_parse_roundtrips_and_rejects_bad_forms);
	rmdir(dir);
	return check_done();
}
