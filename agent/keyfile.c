/*
 * keyfile — clear or password-encrypted certificate key files (keyfile.h).
 *
 * Never: print the password, keep it after keyfile_lock, or write a certificate key in clear
 * while a password is set.
 */
#include "keyfile.h"
#include "agent.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_err.h"
#include "cf_policy.h"

static struct {
	int set;
	uint32_t iterations;
	struct agent_secret pw; /* pw.line[0] is the password */
} kf;

static void keyfile_wipe_at_exit(void)
{
	keyfile_lock();
}

void keyfile_lock(void)
{
	cf_zeroize(&kf, sizeof(kf));
}

int keyfile_encrypted(void)
{
	return kf.set;
}

/* The password of path into kf.pw (a new one: asked twice at a terminal); prints why on
 * failure. */
static int read_password(const char *path, int new)
{
	int ret = new ? agent_secret_read_new(path, "new key password", 0, &kf.pw)
		      : agent_secret_read(path, "key password", 1, 0, &kf.pw);
	const char *why = ret == CF_ENOTFOUND	 ? "no such file"
			  : ret == CF_ECONFLICT	 ? AGENT_SECRET_DIFFER
			  : ret == CF_EMALFORMED ? "empty, or more than one line"
			  : ret == CF_ETOOLARGE	 ? "too long"
						 : cf_strerror(ret);

	if (ret == 0)
		return 0;
	agent_err("key password from %s: %s", strcmp(path, "-") ? path : "standard input", why);
	return ret;
}

int keyfile_unlock(const char *dir, const char *password_file, uint32_t iterations)
{
	static int registered;
	char path[PATH_MAX];
	const char *why = NULL;
	cf_key *cur = NULL;
	int enc, ret;

	keyfile_lock();
	if (iterations != 0 && iterations < KEYFILE_ITER_MIN) {
		agent_err("--kdf-iterations must be at least %d", KEYFILE_ITER_MIN);
		return AGENT_USAGE;
	}
	snprintf(path, sizeof(path), "%s/key.pem", dir ? dir : ".");
	/* no key yet (or unreadable): nothing to open */
	enc = dir && cf_key_file_is_encrypted(path) == 1;
	if (!password_file || !password_file[0]) {
		if (!enc)
			return AGENT_OK;
		agent_err("%s is encrypted: give its password with --password-file (or "
			  "password_file in the configuration)",
			  path);
		return AGENT_FAIL;
	}
	if (!registered)
		registered = atexit(keyfile_wipe_at_exit) == 0;
	if (read_password(password_file, !enc) != 0)
		return AGENT_FAIL;
	if (enc) {
		/* the current key proves the password; it was checked when first chosen */
		ret = cf_key_load_password(path, kf.pw.line[0], &cur);
		cf_key_free(cur);
		if (ret != 0) {
			keyfile_lock();
			agent_err("%s: %s", path,
				  ret == CF_EBADPASSPHRASE ? "wrong password" : cf_strerror(ret));
			return AGENT_FAIL;
		}
	} else if (cf_password_check(kf.pw.line[0], &why) != 0) {
		keyfile_lock();
		agent_err("weak key password: it %s", why);
		return AGENT_USAGE;
	}
	/* renew encrypts the new key as the current one is, unless told otherwise */
	if (!iterations && enc && cf_key_file_iterations(path, &kf.iterations) == 0 &&
	    kf.iterations >= KEYFILE_ITER_MIN)
		iterations = kf.iterations;
	kf.iterations = iterations ? iterations : KEYFILE_ITER_DEFAULT;
	kf.set = 1;
	return AGENT_OK;
}

int keyfile_save(const cf_key *key, const char *path)
{
	if (kf.set)
		return cf_key_save_encrypted(key, path, kf.pw.line[0], kf.iterations);
	return cf_key_save(key, path);
}

int keyfile_load(const char *path, cf_key **out)
{
	return cf_key_load_password(path, kf.set ? kf.pw.line[0] : NULL, out);
}
