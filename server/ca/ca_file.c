/*
 * ca_file — the lock that keeps two starting servers from creating two different CAs in one
 * directory. Reads and durable writes are cf_file's; a CA file is written exclusively
 * (cf_file_write with excl) and never replaced once written.
 */
#include "ca_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cf_err.h"

int ca_file_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
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
