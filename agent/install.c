/*
 * install — atomic installation of a credential set (install.h).
 *
 * Why a set directory and a symlink: key.pem and cert.pem are two files, and no sequence of two
 * renames is atomic; a crash between them would leave a key and a certificate that do not match.
 * So every set is written, fsynced and verified in its own directory sets/<serial>, and one
 * rename of a symlink ("live") switches key, certificate and chain together. The stable names
 * (key.pem -> live/key.pem, ...) never change once created.
 *
 * Order, so that any crash leaves either the old or the new set live, both complete:
 *   1. write sets/<serial>/{key,cert,chain}.pem, fsync each file and the directories;
 *   2. verify the files just written (key matches, chain verifies) — on failure remove the set;
 *   3. previous -> old live target (rename of a temp symlink), fsync DIR;
 *   4. create missing stable links (key.pem -> live/key.pem, *.prev -> previous/...), fsync DIR;
 *   5. live -> sets/<serial> (rename of a temp symlink), fsync DIR;   <- the switch
 *   6. remove sets that are neither live nor previous (best effort).
 * Any failure in 1–5 is reported; nothing is ever reported installed that is not.
 */
#include "install.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "cf_err.h"
#include "cf_file.h"
#include "keyfile.h"

#define PEM_MAX (256 * 1024)

static const char *const set_files[] = {"key.pem", "cert.pem", "chain.pem"};

/* out = a "/" b; CF_EIO if it does not fit (paths are never silently truncated). */
static int join(char *out, size_t cap, const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la + lb + 2 > cap) {
		out[0] = '\0';
		return CF_EIO;
	}
	memcpy(out, a, la);
	out[la] = '/';
	memcpy(out + la + 1, b, lb + 1);
	return 0;
}

static int io_fail(char *why, size_t why_len, const char *what, const char *path)
{
	snprintf(why, why_len, "%s %s: %s", what, path, strerror(errno ? errno : EIO));
	return CF_EIO;
}

/* Create path (mode 0644) with exactly data, fsynced; it must not exist yet. */
static int write_new(const char *path, const char *data)
{
	size_t len = strlen(data);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644), ret = CF_EIO;
	const char *p = data;

	if (fd < 0)
		return CF_EIO;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto out;
		p += n;
		len -= (size_t)n;
	}
	ret = fsync(fd) == 0 ? 0 : CF_EIO;
out:
	if (close(fd) != 0)
		ret = CF_EIO;
	return ret;
}

/* Remove a set directory and whatever is in it (files only, as we write them). */
static void remove_set(const char *setdir)
{
	DIR *d = opendir(setdir);
	struct dirent *e;
	char path[PATH_MAX];

	if (!d)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		(void)join(path, sizeof(path), setdir, e->d_name);
		(void)unlink(path);
	}
	closedir(d);
	(void)rmdir(setdir);
}

/* Target of the symlink dir/name into out ("" if there is no such link). */
static void link_target(const char *dir, const char *name, char *out, size_t cap)
{
	char path[PATH_MAX];
	ssize_t n;

	(void)join(path, sizeof(path), dir, name);
	n = readlink(path, out, cap - 1);
	out[n > 0 ? n : 0] = '\0';
}

/* Point dir/name at target atomically (temp symlink + rename). Does not fsync. */
static int set_link(const char *dir, const char *name, const char *target, char *why,
		    size_t why_len)
{
	char path[PATH_MAX], tmp[PATH_MAX], cur[PATH_MAX];

	link_target(dir, name, cur, sizeof(cur));
	if (strcmp(cur, target) == 0)
		return 0;
	(void)join(path, sizeof(path), dir, name);
	snprintf(cur, sizeof(cur), ".%s.tmp", name);
	(void)join(tmp, sizeof(tmp), dir, cur);
	(void)unlink(tmp); /* left over by a crash */
	if (symlink(target, tmp) != 0)
		return io_fail(why, why_len, "cannot create symlink", tmp);
	if (rename(tmp, path) != 0) {
		int ret = io_fail(why, why_len, "cannot rename into place", path);
		(void)unlink(tmp);
		return ret;
	}
	return 0;
}

static int sync_dir(const char *dir, char *why, size_t why_len)
{
	if (cf_fsync_dir(dir) != 0)
		return io_fail(why, why_len, "cannot fsync directory", dir);
	return 0;
}

/* Step 1: the new set in setdir (which must not exist). */
static int write_set(const char *dir, const char *setdir, const cf_key *key, const char *cert_pem,
		     const char *chain_pem, char *why, size_t why_len)
{
	char path[PATH_MAX], sets[PATH_MAX];

	(void)join(sets, sizeof(sets), dir, "sets");
	if ((mkdir(sets, 0700) != 0 && errno != EEXIST) || (mkdir(setdir, 0700) != 0))
		return io_fail(why, why_len, "cannot create directory", setdir);
	(void)join(path, sizeof(path), setdir, "key.pem");
	errno = 0;
	if (keyfile_save(key, path) != 0) /* 0600, fsynced; encrypted with a key password */
		return io_fail(why, why_len, "cannot write", path);
	(void)join(path, sizeof(path), setdir, "cert.pem");
	if (write_new(path, cert_pem) != 0)
		return io_fail(why, why_len, "cannot write", path);
	(void)join(path, sizeof(path), setdir, "chain.pem");
	if (write_new(path, chain_pem) != 0)
		return io_fail(why, why_len, "cannot write", path);
	if (sync_dir(setdir, why, why_len) != 0 || sync_dir(sets, why, why_len) != 0)
		return CF_EIO;
	return sync_dir(dir, why, why_len);
}

/* Step 2: verify what is on disk, not what we meant to write. */
static int verify_set(const char *setdir, const char *ca_file, int64_t at, char *why,
		      size_t why_len)
{
	char path[PATH_MAX], *cert = NULL, *chain = NULL;
	cf_key *key = NULL;
	size_t len;
	int ret;

	(void)join(path, sizeof(path), setdir, "key.pem");
	if ((ret = keyfile_load(path, &key)) != 0) {
		snprintf(why, why_len, "cannot read back %s", path);
		goto out;
	}
	(void)join(path, sizeof(path), setdir, "cert.pem");
	if ((ret = cf_file_read(path, PEM_MAX, &cert, &len)) != 0) {
		snprintf(why, why_len, "cannot read back %s", path);
		goto out;
	}
	(void)join(path, sizeof(path), setdir, "chain.pem");
	if ((ret = cf_file_read(path, PEM_MAX, &chain, &len)) != 0) {
		snprintf(why, why_len, "cannot read back %s", path);
		goto out;
	}
	ret = certcheck_verify(cert, chain, key, ca_file, at, why, why_len);
out:
	cf_key_free(key);
	free(cert);
	free(chain);
	return ret;
}

/* Steps 3–5. */
static int switch_live(const char *dir, const char *old, const char *target, char *why,
		       size_t why_len)
{
	char name[32], dest[32];
	int ret;

	if (old[0]) {
		if ((ret = set_link(dir, "previous", old, why, why_len)) != 0 ||
		    (ret = sync_dir(dir, why, why_len)) != 0)
			return ret;
	}
	for (size_t i = 0; i < sizeof(set_files) / sizeof(set_files[0]); i++) {
		snprintf(dest, sizeof(dest), "live/%s", set_files[i]);
		if ((ret = set_link(dir, set_files[i], dest, why, why_len)) != 0)
			return ret;
		if (!old[0])
			continue;
		snprintf(name, sizeof(name), "%s.prev", set_files[i]);
		snprintf(dest, sizeof(dest), "previous/%s", set_files[i]);
		if ((ret = set_link(dir, name, dest, why, why_len)) != 0)
			return ret;
	}
	if ((ret = sync_dir(dir, why, why_len)) != 0 ||
	    (ret = set_link(dir, "live", target, why, why_len)) != 0)
		return ret;
	return sync_dir(dir, why, why_len);
}

/* Step 6: sets that no link points to any more. Failures only leave garbage behind. */
static void collect_sets(const char *dir)
{
	char sets[PATH_MAX], live[PATH_MAX], prev[PATH_MAX], name[PATH_MAX], path[PATH_MAX];
	struct dirent *e;
	DIR *d;

	(void)join(sets, sizeof(sets), dir, "sets");
	link_target(dir, "live", live, sizeof(live));
	link_target(dir, "previous", prev, sizeof(prev));
	if (!(d = opendir(sets)))
		return;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(name, sizeof(name), "sets/%s", e->d_name);
		if (strcmp(name, live) == 0 || strcmp(name, prev) == 0)
			continue;
		(void)join(path, sizeof(path), sets, e->d_name);
		remove_set(path);
	}
	closedir(d);
}

/* The temporary symlinks of set_link: ".NAME.tmp". */
static void remove_tmp_links(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *e;
	struct stat st;
	size_t n;
	DIR *d;

	if (!(d = opendir(dir)))
		return;
	while ((e = readdir(d)) != NULL) {
		n = strlen(e->d_name);
		if (e->d_name[0] != '.' || n < 6 || strcmp(e->d_name + n - 4, ".tmp") != 0)
			continue;
		if (join(path, sizeof(path), dir, e->d_name) == 0 && lstat(path, &st) == 0 &&
		    S_ISLNK(st.st_mode))
			(void)unlink(path);
	}
	closedir(d);
}

void install_sweep(const char *dir)
{
	char path[PATH_MAX];

	if (strlen(dir) > PATH_MAX - 300)
		return;
	(void)cf_file_sweep(dir, NULL, 0);
	(void)join(path, sizeof(path), dir, "pending");
	(void)cf_file_sweep(path, NULL, 0); /* key.pem and response.json themselves stay */
	remove_tmp_links(dir);
	collect_sets(dir);
}

static int serial_ok(const char *s)
{
	size_t n = strlen(s);
	return n > 0 && n <= 64 && strspn(s, "0123456789abcdef") == n;
}

int install_credential(const char *dir, const cf_key *key, const char *cert_pem,
		       const char *chain_pem, const char *ca_file, const char *serial, int64_t at,
		       char *why, size_t why_len)
{
	char setdir[PATH_MAX], target[128], old[PATH_MAX];
	int ret;

	why[0] = '\0';
	/* every path below is dir + at most ~200 bytes: check once, join() without checks after */
	if (strlen(dir) > PATH_MAX - 300) {
		snprintf(why, why_len, "the directory's path is too long");
		return CF_EIO;
	}
	/* the serial becomes a path component: lower-case hex only */
	if (!serial_ok(serial)) {
		snprintf(why, why_len, "the serial number is not lower-case hexadecimal");
		return CF_EMALFORMED;
	}
	/* Check the material before anything touches the disk, then again from the disk. */
	if ((ret = certcheck_verify(cert_pem, chain_pem, key, ca_file, at, why, why_len)) != 0)
		return ret;
	snprintf(target, sizeof(target), "sets/%s", serial);
	(void)join(setdir, sizeof(setdir), dir, target);
	link_target(dir, "live", old, sizeof(old));
	if (strcmp(old, target) == 0) {
		snprintf(why, why_len, "certificate %s is already installed", serial);
		return CF_ECONFLICT;
	}
	remove_set(setdir); /* an unfinished earlier attempt for this very serial */
	if ((ret = write_set(dir, setdir, key, cert_pem, chain_pem, why, why_len)) != 0 ||
	    (ret = verify_set(setdir, ca_file, at, why, why_len)) != 0) {
		remove_set(setdir);
		return ret;
	}
	if ((ret = switch_live(dir, old, target, why, why_len)) != 0)
		return ret;
	collect_sets(dir);
	return 0;
}
