/*
 * config — certflowd's settings: defaults, the config file (`key = value` lines, `#` comments;
 * see certflowd.conf.example), then command-line overrides applied by main.c.
 */
#ifndef CONFIG_H
#define CONFIG_H

#include <stddef.h>

#include "core.h"
#include "notify.h"

#define CONFIG_PATH_MAX 1024

struct config {
	char data[CONFIG_PATH_MAX];	  /* data directory, default ./certflow-data */
	char master_key[CONFIG_PATH_MAX]; /* custody master key file, "" = DATA.master.key */
	char listen[128];		  /* ADDR:PORT, default 127.0.0.1:8443 */
	char hostname[200];		  /* default localhost */
	int hostname_set;		  /* given in the file or on the command line */
	char base_url[256]; /* the URL clients reach the server by (a load balancer's), "" = own */
	struct core_config core;
	struct notify_config notify; /* the outbox: maildir, programs, templates, retries */
	int threads;		     /* CivetWeb worker threads, default 256 */
	int per_address;	     /* connections served at once per client address, default 16 */
	int head_timeout_ms;	     /* TLS handshake, request head: default 10000 */
	int body_timeout_ms;	     /* request body after its head: default 10000 */
	size_t nonce_capacity;	     /* default 65536 */
	size_t db_max_mb;	     /* the LMDB map's growth limit in MiB, default 16384 */
	char store[16];		     /* the store's backend: "lmdb" (default) or "postgresql" */
	char store_conninfo[1024];   /* store = postgresql: a libpq connection string */
	int store_connections;	     /* PostgreSQL connections, default min(threads, 16) */
	char metrics[16];	     /* GET /metrics: "off", "loopback" (default) or "on" */
	char admin_name[65];	     /* operator name of the first-start admin, default "admin" */
};

void config_defaults(struct config *cfg);

/* Read path into cfg. On an unknown key, a bad value or an unreadable file: CF_EUSAGE and one
 * line in err ("FILE:LINE: ..."). */
int config_load(const char *path, struct config *cfg, char *err, size_t cap);

/* Set one key from text (used by config_load; exposed for tests). CF_EUSAGE with err. */
int config_set(struct config *cfg, const char *key, const char *value, char *err, size_t cap);

/* Cross-key checks (signing_renewal_days < signing_validity_days ...). CF_EUSAGE with err. */
int config_check(const struct config *cfg, char *err, size_t cap);

#endif
