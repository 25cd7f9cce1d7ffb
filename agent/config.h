/*
 * config — the agent's configuration file (spec/cli.md "Configuration file"): global keys, then
 * one [credential NAME] section per credential. Also the one credential that `--dir DIR` alone
 * describes.
 */
#ifndef CONFIG_H
#define CONFIG_H

#include <limits.h>
#include <stddef.h>

#include "cf_crypto.h"

#define AGENT_CONFIG_DEFAULT "/etc/certflow/agent.conf"
#define AGENT_STATUS_DEFAULT "/var/lib/certflow/status.json"
#define AGENT_MAX_CREDENTIALS 256

struct agent_cred {
	char name[64];	    /* [A-Za-z0-9._-], 1..63 characters */
	char dir[PATH_MAX]; /* the credential's agent directory */
	char server[512];   /* for enrol (renew takes it from DIR/account.json); "" if absent */
	char ca[PATH_MAX];  /* idem */
	enum cf_key_type key_type; /* 0 if absent */
	unsigned key_bits;
	char hook[1024];	      /* command run after a renewal, "" for none */
	char password_file[PATH_MAX]; /* "" for a clear key.pem */
};

struct agent_config {
	char path[PATH_MAX];	    /* the file read, "" for --dir */
	char status_file[PATH_MAX]; /* "" when no status file is written (--dir) */
	size_t n;
	struct agent_cred *cred; /* n entries, malloc'd */
};

/* Read the configuration file at path into *cfg (release with config_free). On a syntax error,
 * an unknown key, a bad value, a duplicate name or no credential at all: a one-line message
 * "PATH:LINE: what" in err and CF_EUSAGE; CF_EIO (err says why) if the file cannot be read.
 * cfg is written only on success. */
int config_load(const char *path, struct agent_config *cfg, char *err, size_t err_len);

/* The configuration of `--dir DIR` alone: one credential named after the directory's last
 * component, no hook, no status file. CF_ENOMEM or 0. */
int config_from_dir(const char *dir, struct agent_config *cfg);

/* Release what config_load/config_from_dir allocated. Safe on a zeroed cfg. */
void config_free(struct agent_config *cfg);

/* The credential named name, or NULL. */
const struct agent_cred *config_find(const struct agent_config *cfg, const char *name);

/* "p256" / "p384" / "rsa2048" → type and bits; -1 if unknown. */
int config_key_type(const char *name, enum cf_key_type *type, unsigned *bits);

/* Split a hook command line on spaces into argv (pointers into buf, a copy of cmd; at most
 * max - 1 words, NULL-terminated). Returns the number of words, -1 if there are too many. */
int config_split_hook(const char *cmd, char *buf, size_t buf_len, char **argv, size_t max);

#endif
