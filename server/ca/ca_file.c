/*
 * ca_file — the files of the CA directory: bounded reads, durable writes (temp file, fsync,
 * link or rename, fsync of the directory) and the lock that keeps two starting servers from
 * creating two different CAs in one directory. A CA file is never replaced once written.
 */
#include "ca_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cf_err.h"
#include "cf_log.h"

int ca_file_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

int ca_file_read(const char *path, size_t max, char **buf, size_t *len)
{
	int ret = CF_EIO, fd;
	struct stat st;
	char *b = NULL;
	size_t got = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return CF_EIO;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > max)
		goto out;
	ret = CF_ENOMEM;
	if (!(b = malloc((size_t)st.st_size + 1)))
		goto out;
	ret = CF_EIO;
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, b + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto out;
		got += (size_t)n;
	}
	b[got] = '\0';
	*buf = b;
	*len = got;
	b = NULL;
	ret = 0;
out:
	free(b);
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

static int fsync_dir_of(const char *path)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	int fd, ret = 0;

	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if ((size_t)(slash - path) >= sizeof(dir))
		return CF_EIO;
	else
		snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return CF_EIO;
	if (fsync(fd) != 0)
		ret = CF_EIO;
	close(fd);
	return ret;
}

int ca_file_write(const char *path, const void *data, size_t len, mode_t mode, int excl)
{
	char tmp[4096];
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
	/* link() fails with EEXIST where rename() would silently replace: CA files never are. */
	if (excl ? link(tmp, path) != 0 : rename(tmp, path) != 0) {
		cf_error("ca: cannot write %s: %s", path, strerror(errno));
		goto out;
	}
	ret = fsync_dir_of(path);
out:
	unlink(tmp); /* after rename the name is gone already; the error is harmless */
	return ret;
}

int ca_file_lock(const char *dir, int *fd)
{
	char path[4096];
	int f;

	if ((size_t)snprintf(path, sizeof(path), "%s/ca.lock", dir) >= sizeof(path))
		return CF_EIO;
	if ((f = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0)
		return CF_EIO;
	while (flock(f, LOCK_EX) != 0) {
		if (errno != EINTR) {
			close(f);
			return CF_EIO;
		}
	}
	*fd = f;
	return 0;
}

void ca_file_unlock(int fd)
{
	if (fd >= 0)
		close(fd); /* releases the flock */
}
