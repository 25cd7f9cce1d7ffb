/*
 * cf_file — durable atomic writes and bounded reads (see cf_file.h). Never logs paths' contents.
 */
#include "cf_file.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cf_crypto.h"
#include "cf_err.h"

int cf_file_read(const char *path, size_t max, char **out, size_t *len)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int fd, ret = CF_EIO;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? CF_ENOTFOUND : CF_EIO;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > max)
		goto out;
	if (!(buf = malloc((size_t)st.st_size + 1))) {
		ret = CF_ENOMEM;
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto out;
		got += (size_t)n;
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
	buf = NULL;
	ret = 0;
out:
	if (buf) /* a partly read key file or secret.key */
		cf_zeroize(buf, got);
	free(buf);
	close(fd);
	return ret;
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return CF_EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int cf_fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), ret;

	if (fd < 0)
		return CF_EIO;
	ret = fsync(fd) == 0 ? 0 : CF_EIO;
	close(fd);
	return ret;
}

int cf_fsync_parent(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');

	if (!slash)
		return cf_fsync_dir(".");
	if (slash == path)
		return cf_fsync_dir("/");
	if ((size_t)(slash - path) >= sizeof(dir))
		return CF_EIO;
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	return cf_fsync_dir(dir);
}

int cf_file_write(const char *path, const void *data, size_t len, mode_t mode, int excl)
{
	char tmp[PATH_MAX];
	int fd, ret = CF_EIO;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmpXXXXXX", path) >= sizeof(tmp))
		return CF_EIO;
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0)
		return CF_EIO;
	if (fchmod(fd, mode) != 0 || write_all(fd, data, len) != 0 || fsync(fd) != 0) {
		close(fd);
		goto out;
	}
	if (close(fd) != 0)
		goto out;
	if (excl) {
		/* link() fails with EEXIST instead of replacing: no window where path is partial */
		if (link(tmp, path) != 0) {
			ret = errno == EEXIST ? CF_ECONFLICT : CF_EIO;
			goto out;
		}
	} else if (rename(tmp, path) != 0) {
		goto out;
	}
	ret = cf_fsync_parent(path);
out:
	unlink(tmp); /* after rename this fails harmlessly; after link it drops the temp name */
	return ret;
}

/* 1 if name is cf_file_write's temporary name for base (any base if NULL): base ".tmp" XXXXXX. */
static int is_tmp_name(const char *name, const char *base)
{
	size_t n = strlen(name), b;

	if (n < 11 || strncmp(name + n - 10, ".tmp", 4) != 0)
		return 0;
	for (size_t i = n - 6; i < n; i++)
		if (!isalnum((unsigned char)name[i]))
			return 0;
	if (!base)
		return n > 10;
	b = strlen(base);
	return n == b + 10 && strncmp(name, base, b) == 0;
}

int cf_file_sweep(const char *dir, const char *base, long min_age)
{
	char path[PATH_MAX];
	struct dirent *e;
	struct stat st;
	time_t now = time(NULL);
	int removed = 0;
	DIR *d;

	if (!(d = opendir(dir)))
		return errno == ENOENT ? 0 : CF_EIO;
	while ((e = readdir(d)) != NULL) {
		if (!is_tmp_name(e->d_name, base))
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= sizeof(path))
			continue;
		/* lstat: a symlink or directory of that name is not ours */
		if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		if (min_age > 0 && now - st.st_mtime < min_age && now - st.st_ctime < min_age)
			continue;
		if (unlink(path) == 0)
			removed++;
	}
	closedir(d);
	if (removed > 0)
		(void)cf_fsync_dir(dir);
	return removed;
}
