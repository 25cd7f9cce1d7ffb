/* cf_file: atomic durable writes and bounded reads. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>

#include "cf_err.h"
#include "cf_file.h"
#include "check.h"

static char dir[256];

static int count_entries(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

static void test_write_then_read_roundtrip_with_mode(void)
{
	char path[300], *buf = NULL;
	size_t len = 0;
	struct stat st;

	snprintf(path, sizeof(path), "%s/a.pem", dir);
	CHECK_EQ_INT(cf_file_write(path, "hello", 5, 0600, 0), 0);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	CHECK_EQ_INT(cf_file_read(path, 100, &buf, &len), 0);
	CHECK_EQ_INT(len, 5);
	CHECK_EQ_STR(buf, "hello");
	free(buf);
	CHECK_EQ_INT(cf_file_write(path, "world!", 6, 0644, 0), 0);
	CHECK_EQ_INT(cf_file_read(path, 100, &buf, &len), 0);
	CHECK_EQ_STR(buf, "world!");
	free(buf);
	CHECK_EQ_INT(count_entries(), 1); /* no temporary file left behind */
}

static void test_exclusive_write_never_replaces(void)
{
	char path[300], *buf = NULL;
	size_t len;

	snprintf(path, sizeof(path), "%s/b.key", dir);
	CHECK_EQ_INT(cf_file_write(path, "first", 5, 0600, 1), 0);
	CHECK_EQ_INT(cf_file_write(path, "second", 6, 0600, 1), CF_ECONFLICT);
	CHECK_EQ_INT(cf_file_read(path, 100, &buf, &len), 0);
	CHECK_EQ_STR(buf, "first");
	free(buf);
	CHECK_EQ_INT(count_entries(), 2);
}

static void test_read_refuses_missing_and_oversized_files(void)
{
	char path[300], *buf = NULL;
	size_t len;

	snprintf(path, sizeof(path), "%s/none", dir);
	CHECK_EQ_INT(cf_file_read(path, 100, &buf, &len), CF_ENOTFOUND);
	snprintf(path, sizeof(path), "%s/a.pem", dir);
	CHECK_EQ_INT(cf_file_read(path, 3, &buf, &len), CF_EIO);
	CHECK(buf == NULL);
	CHECK_EQ_INT(cf_file_read(dir, 100, &buf, &len), CF_EIO); /* a directory */
}

static void test_write_into_missing_directory_fails(void)
{
	char path[300];

	snprintf(path, sizeof(path), "%s/no/such/file", dir);
	CHECK_EQ_INT(cf_file_write(path, "x", 1, 0600, 0), CF_EIO);
}

static void plant(const char *name, int old)
{
	char path[300];
	struct timespec t[2] = {{0, 0}, {0, 0}};
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	CHECK(f && fclose(f) == 0);
	if (old) /* as if a crash left it an hour ago */
		CHECK(utimensat(AT_FDCWD, path, (t[0].tv_sec = t[1].tv_sec = time(NULL) - 3600, t),
				0) == 0);
}

static int exists(const char *name)
{
	char path[300];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return lstat(path, &st) == 0;
}

static void test_sweep_removes_only_old_temporary_files_of_interrupted_writes(void)
{
	char path[300];

	snprintf(path, sizeof(path), "%s/state.json", dir);
	CHECK_EQ_INT(cf_file_write(path, "{}", 2, 0644, 0), 0);
	plant("state.json.tmpA1b2C3", 1);
	plant("root.key.tmpZZ9zz0", 1);
	plant("account.json.tmpqwerty", 0); /* another process may be writing it right now */
	plant("state.json.tmp", 1);	    /* not a name cf_file_write makes */
	plant("notes.tmpabc", 1);
	CHECK_EQ_INT(cf_file_sweep(dir, "master.key", 0), 0);
	CHECK(exists("root.key.tmpZZ9zz0"));
	CHECK_EQ_INT(cf_file_sweep(dir, NULL, 60), 2);
	CHECK(!exists("state.json.tmpA1b2C3") && !exists("root.key.tmpZZ9zz0"));
	CHECK(exists("account.json.tmpqwerty") && exists("state.json") &&
	      exists("state.json.tmp") && exists("notes.tmpabc"));
	CHECK_EQ_INT(cf_file_sweep(dir, NULL, 0), 1);
	CHECK(!exists("account.json.tmpqwerty") && exists("state.json"));
	snprintf(path, sizeof(path), "%s/none", dir);
	CHECK_EQ_INT(cf_file_sweep(path, NULL, 0), 0);
}

int main(void)
{
	const char *base = getenv("CERTFLOW_TEST_TMP");
	char cmd[300];

	if (base)
		mkdir(base, 0700);
	snprintf(dir, sizeof(dir), "%s/cf_file.XXXXXX", base ? base : "/tmp");
	if (!mkdtemp(dir))
		return 1;
	RUN(test_write_then_read_roundtrip_with_mode);
	RUN(test_exclusive_write_never_replaces);
	RUN(test_read_refuses_missing_and_oversized_files);
	RUN(test_write_into_missing_directory_fails);
	RUN(test_sweep_removes_only_old_temporary_files_of_interrupted_writes);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		return 1;
	return check_done();
}
