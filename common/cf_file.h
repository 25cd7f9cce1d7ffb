/*
 * cf_file — the one implementation of durable file writes and bounded reads, for the server
 * (CA files, keys, url), the agent (credentials) and the tools.
 *
 * A write is atomic and durable: a temporary file in the same directory, fsync, rename, fsync of
 * the directory. Readers see the old content or the new, never a part; a failure at any step is
 * reported (never success) and leaves the old file untouched and no temporary file behind.
 */
#ifndef CF_FILE_H
#define CF_FILE_H

#include <stddef.h>
#include <sys/types.h>

/* Read the whole file (at most max octets; larger → CF_EIO) into a malloc'd, NUL-terminated
 * buffer *out (caller frees; wipe it first if it held a secret). CF_ENOTFOUND if it does not
 * exist, CF_EIO otherwise. */
int cf_file_read(const char *path, size_t max, char **out, size_t *len);

/* Atomically replace (or create) path with data, mode applied before the content is written.
 * excl: fail with CF_ECONFLICT instead of replacing an existing file. CF_EIO on any failure. */
int cf_file_write(const char *path, const void *data, size_t len, mode_t mode, int excl);

/* Remove from dir what a crash during cf_file_write leaves: regular files named
 * "<base>.tmpXXXXXX" (six letters or digits; base NULL = any name) whose last change is at least
 * min_age seconds old (0 = any). A file that is not such a temporary name is never touched, so
 * no live file can go. Returns how many were removed (0 if dir does not exist), or CF_EIO if dir
 * cannot be read. Callers pass a min_age when another process may be writing in dir right now. */
int cf_file_sweep(const char *dir, const char *base, long min_age);

/* fsync a directory / the directory holding path, so renames and links in it are durable. */
int cf_fsync_dir(const char *dir);
int cf_fsync_parent(const char *path);

#endif
