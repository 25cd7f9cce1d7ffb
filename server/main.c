/*
 * certflowd — the certflow server (spec/cli.md). Start-up order: data directory (0700) →
 * secret.key → CA → server.pem → store → outbox → admin account → HTTP; then one "listening" line,
 * the url and ready files, and a wait for SIGTERM/SIGINT, which stop the server cleanly (exit 0).
 * Start-up errors print one line on stderr and exit 1; usage errors exit 2.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api.h"
#include "ca.h"
#include "cf_clock.h"
#include "cf_crypto.h"
#include "cf_err.h"
#include "cf_file.h"
#include "cf_log.h"
#include "config.h"
#include "core.h"
#include "custody.h"
#include "http.h"
#include "migrate.h"
#include "nonce.h"
#include "notify.h"
#include "store.h"
#include "tls_cert.h"

#define DAY 86400
#define SERVER_CERT_MARGIN (30 * DAY)
/* Each server wakes hourly; a housekeeping run counts for the servers of one PostgreSQL database
 * for a minute less than that, so one of them does it about every hour. */
#define HOUSEKEEPING_TURN (3600 - 60)

struct opts {
	struct config cfg;
	const char *config_file, *ready_file, *test_clock;
	const char *data, *listen, *hostname; /* command-line overrides */
	int plain_http, verbose;
};

struct server {
	char path[CONFIG_PATH_MAX + 32];
	uint8_t secret[32];
	ca *ca;
	store *st;
	struct core core;
	int core_ready;
	notify *nt; /* the outbox and its delivery thread */
	nonce_store *nonces;
	http_server *http;
	int port;	       /* the port bound at start; a restart binds it again */
	int64_t tls_not_after; /* of server.pem, checked hourly by serve() */
	char base_url[HTTP_MAX_URL];
};

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: certflowd [--data DIR] [--config FILE] [--listen ADDR:PORT] [--hostname NAME]\n"
	    "                 [--ready-file PATH] [--test-clock FILE] [--plain-http] [-v]\n"
	    "                 [--help] [--version]\n"
	    "       certflowd backup --data DIR DEST\n"
	    "       certflowd check [--data DIR] [--config FILE] [--listen ADDR:PORT] ...\n"
	    "       certflowd migrate --from lmdb:DIR|postgresql:CONNINFO --to lmdb:DIR|...\n"
	    "\n"
	    "  --data DIR         data directory (default ./certflow-data)\n"
	    "  --config FILE      config file (key = value; see certflowd.conf.example)\n"
	    "  --listen ADDR:PORT address to listen on (default 127.0.0.1:8443; port 0 = any)\n"
	    "  --hostname NAME    name in the TLS certificate and in published URLs\n"
	    "  --ready-file PATH  write the base URL there once ready\n"
	    "  --test-clock FILE  \"now\" is the Unix time in FILE (tests only)\n"
	    "  --plain-http       HTTP without TLS (loopback addresses only)\n"
	    "  -v                 verbose logging (twice: debug)\n"
	    "  check              read the configuration and the data directory (secret, CA,\n"
	    "                     database) as a start would, without starting or writing: one\n"
	    "                     line \"certflowd: ok: ...\" and exit 0, else one line saying "
	    "what\n"
	    "                     is wrong and exit 1 (2 for a bad option or configuration)\n"
	    "  backup             hot, compacted copy of the database into the new directory "
	    "DEST\n"
	    "  migrate            copy every record of one store into an empty other one (LMDB\n"
	    "                     to PostgreSQL or back) in one transaction, then compare the\n"
	    "                     tables' counts and digests on both sides (exit 1 if any "
	    "differ);\n"
	    "                     DIR is a data directory (database in DIR/db); stop the server\n"
	    "                     first, or what it writes after the copy's snapshot stays behind\n"
	    "\n"
	    "Signals: SIGTERM/SIGINT stop cleanly (exit 0); SIGHUP checks the TLS certificate now\n"
	    "(it is checked hourly and renewed 30 days before it expires, without a restart).\n");
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option lopts[] = {
	    {"data", required_argument, 0, 'd'},       {"config", required_argument, 0, 'c'},
	    {"listen", required_argument, 0, 'l'},     {"hostname", required_argument, 0, 'H'},
	    {"ready-file", required_argument, 0, 'r'}, {"test-clock", required_argument, 0, 't'},
	    {"plain-http", no_argument, 0, 'p'},       {"help", no_argument, 0, 'h'},
	    {"version", no_argument, 0, 'V'},	       {0, 0, 0, 0},
	};
	int c;

	while ((c = getopt_long(argc, argv, "v", lopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			o->data = optarg;
			break;
		case 'c':
			o->config_file = optarg;
			break;
		case 'l':
			o->listen = optarg;
			break;
		case 'H':
			o->hostname = optarg;
			break;
		case 'r':
			o->ready_file = optarg;
			break;
		case 't':
			o->test_clock = optarg;
			break;
		case 'p':
			o->plain_http = 1;
			break;
		case 'v':
			o->verbose++;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("certflowd %s\n", CERTFLOW_VERSION);
			exit(0);
		default:
			usage(stderr);
			return CF_EUSAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "certflowd: unexpected argument \"%s\"\n", argv[optind]);
		return CF_EUSAGE;
	}
	return 0;
}

/* Config file first, then the command line over it. */
static int settle_config(struct opts *o)
{
	char err[600];
	int ret = 0;

	config_defaults(&o->cfg);
	if (o->config_file)
		ret = config_load(o->config_file, &o->cfg, err, sizeof(err));
	if (ret == 0 && o->data)
		ret = config_set(&o->cfg, "data", o->data, err, sizeof(err));
	if (ret == 0 && o->listen)
		ret = config_set(&o->cfg, "listen", o->listen, err, sizeof(err));
	if (ret == 0 && o->hostname)
		ret = config_set(&o->cfg, "hostname", o->hostname, err, sizeof(err));
	if (ret == 0)
		ret = config_check(&o->cfg, err, sizeof(err));
	if (ret != 0)
		fprintf(stderr, "certflowd: %s\n", err);
	return ret;
}

/* Host part of ADDR:PORT ("[::1]:0" → "::1") and the port. */
static int split_listen(const char *listen, char *host, size_t cap, int *port)
{
	const char *colon = strrchr(listen, ':');
	const char *h = listen;
	size_t n;
	char *end;
	long p;

	if (!colon)
		return CF_EUSAGE;
	n = (size_t)(colon - listen);
	if (*h == '[' && n >= 2 && h[n - 1] == ']') {
		h++;
		n -= 2;
	}
	if (n == 0 || n >= cap)
		return CF_EUSAGE;
	memcpy(host, h, n);
	host[n] = '\0';
	p = strtol(colon + 1, &end, 10);
	if (*end || end == colon + 1 || p < 0 || p > 65535)
		return CF_EUSAGE;
	*port = (int)p;
	return 0;
}

static int is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return strcmp(host, "localhost") == 0;
}

/* secret.key: 32 random octets made on first start (exclusively, so two processes starting at
 * once agree on one key), read on later starts. */
static int load_secret(struct server *s, const char *data)
{
	char *buf = NULL;
	size_t len = 0;
	int ret;

	snprintf(s->path, sizeof(s->path), "%s/secret.key", data);
	ret = cf_file_read(s->path, sizeof(s->secret), &buf, &len);
	if (ret == CF_ENOTFOUND) {
		if (cf_random(s->secret, sizeof(s->secret)) != 0)
			return CF_ECRYPTO;
		ret = cf_file_write(s->path, s->secret, sizeof(s->secret), 0600, 1);
		if (ret != CF_ECONFLICT)
			return ret;
		ret = cf_file_read(s->path, sizeof(s->secret), &buf, &len);
	}
	if (ret == 0 && len != sizeof(s->secret))
		ret = CF_EIO;
	if (ret == 0)
		memcpy(s->secret, buf, len);
	if (buf) {
		cf_zeroize(buf, len);
		free(buf);
	}
	return ret;
}

static int is_ipv4(const char *s)
{
	struct in_addr a;
	return inet_pton(AF_INET, s, &a) == 1;
}

/* server.pem for the hostname, "localhost" and 127.0.0.1 (and the listen address): made when
 * missing, expiring within 30 days, or not naming the hostname; *renewed says whether it was. */
static int ensure_server_pem(struct server *s, const struct config *cfg, const char *listen_host,
			     int *renewed)
{
	const char *dns[3] = {NULL}, *ips[4] = {NULL};
	const char *check[2] = {NULL};
	int64_t not_after = 0, now = cf_now();
	int nd = 0, ni = 0, has = 0, ret;

	if (is_ipv4(cfg->hostname)) {
		ips[ni++] = cfg->hostname;
	} else {
		dns[nd++] = cfg->hostname;
		check[0] = cfg->hostname;
	}
	if (strcmp(cfg->hostname, "localhost") != 0)
		dns[nd++] = "localhost";
	if (strcmp(cfg->hostname, "127.0.0.1") != 0)
		ips[ni++] = "127.0.0.1";
	if (is_ipv4(listen_host) && strcmp(listen_host, "127.0.0.1") != 0 &&
	    strcmp(listen_host, "0.0.0.0") != 0 && strcmp(listen_host, cfg->hostname) != 0)
		ips[ni++] = listen_host;
	snprintf(s->path, sizeof(s->path), "%s/server.pem", cfg->data);
	*renewed = 0;
	if (tls_cert_inspect(s->path, check, &not_after, &has) == 0 && has &&
	    not_after - now > SERVER_CERT_MARGIN) {
		s->tls_not_after = not_after;
		return 0;
	}
	cf_info("writing a new TLS certificate for %s", cfg->hostname);
	if ((ret = ca_write_server_pem(s->ca, dns, ips, now, s->path)) != 0)
		return ret;
	*renewed = 1;
	if (tls_cert_inspect(s->path, check, &s->tls_not_after, &has) != 0)
		s->tls_not_after = 0; /* unreadable: the next check writes it again */
	return 0;
}

static int open_ca(struct server *s, const char *data, const char *crl_url)
{
	struct ca_opts co = {.name = NULL, .crl_url = crl_url};

	snprintf(s->path, sizeof(s->path), "%s/ca", data);
	return ca_open(s->path, &co, &s->ca);
}

/* LMDB: the map starts at 64 MiB (or the limit, if lower) and doubles up to db_max_mb.
 * PostgreSQL (store = postgresql): store_conninfo, a pool of store_connections. */
static int open_store(struct server *s, const struct config *cfg)
{
	struct store_opts so = {.group_commit = 1}; /* concurrent activations share fsyncs */
	const char *data = cfg->data;
	size_t max_mb = cfg->db_max_mb;

	if (strcmp(cfg->store, "postgresql") == 0) {
		so.conninfo = cfg->store_conninfo;
		so.pool_size = cfg->store_connections;
		if (!so.pool_size) /* as many as the workers, within PostgreSQL's usual limits */
			so.pool_size = cfg->threads < 16 ? cfg->threads : 16;
		return store_open(NULL, &so, &s->st);
	}
	so.map_size_max = max_mb << 20;
	so.map_size = max_mb < 64 ? so.map_size_max : (size_t)64 << 20;
	snprintf(s->path, sizeof(s->path), "%s/db", data);
	if (mkdir(s->path, 0700) != 0 && errno != EEXIST)
		return CF_EIO;
	return store_open(s->path, &so, &s->st);
}

/* The outbox: its key is derived from secret.key, so it needs no file of its own. notify_open
 * reports its own errors on stderr. */
static int open_outbox(struct server *s, const struct config *cfg)
{
	static const char label[] = "certflow-outbox-v1";
	uint8_t key[32];
	int ret = cf_hmac_sha256(s->secret, sizeof(s->secret), label, sizeof(label) - 1, key);

	if (ret == 0)
		ret = notify_open(&cfg->notify, cfg->data, cfg->hostname, s->st, key, &s->nt);
	cf_zeroize(key, sizeof(key));
	return ret;
}

static int nonce_mark_used(void *ctx, const uint8_t *id, size_t len, int64_t until)
{
	return store_nonce_use(ctx, id, len, until);
}

/* Replay nonces: in memory for a store that only this process serves (LMDB); on a shared one
 * (PostgreSQL, several front ends) nonces that every front end checks with a key derived from
 * the secret.key they share, and uses recorded in the store. */
static int open_nonces(struct server *s, const struct config *cfg)
{
	static const char label[] = "certflow-nonce-v1";
	uint8_t key[32];
	int ret;

	if (!store_shared(s->st))
		return nonce_store_new(cfg->nonce_capacity, &s->nonces);
	ret = cf_hmac_sha256(s->secret, sizeof(s->secret), label, sizeof(label) - 1, key);
	if (ret == 0)
		ret = nonce_store_new_shared(key, nonce_mark_used, s->st, &s->nonces);
	cf_zeroize(key, sizeof(key));
	return ret;
}

static int ensure_admin(struct server *s, const char *data, const char *name)
{
	cf_key *key = NULL;
	int ret;

	snprintf(s->path, sizeof(s->path), "%s/admin.key", data);
	if (access(s->path, F_OK) != 0) {
		ret = cf_key_generate(CF_KEY_P256, 0, &key);
		if (ret == 0)
			ret = cf_key_save(key, s->path);
	} else {
		ret = cf_key_load(s->path, &key);
	}
	if (ret == 0)
		ret = core_admin_ensure(&s->core, key, name);
	cf_key_free(key);
	return ret;
}

/* 1 if the directory of file path is dir or inside it (both resolved). */
static int file_inside(const char *path, const char *dir)
{
	char parent[PATH_MAX], rparent[PATH_MAX], rdir[PATH_MAX];
	char *slash;
	size_t n;

	snprintf(parent, sizeof(parent), "%s", path);
	slash = strrchr(parent, '/');
	if (slash)
		*slash = '\0';
	else
		snprintf(parent, sizeof(parent), ".");
	if (!realpath(parent[0] ? parent : "/", rparent) || !realpath(dir, rdir))
		return 0;
	n = strlen(rdir);
	return strncmp(rparent, rdir, n) == 0 && (rparent[n] == '\0' || rparent[n] == '/');
}

/* Temporary files of atomic writes that a crash cut short (cf_file_write: NAME.tmpXXXXXX, e.g.
 * a full copy of a CA key) in the directories the server writes: removed at each start so that
 * they never accumulate. Only those a minute old: another server on the same data directory may
 * be writing one right now. */
#define LEFTOVER_AGE 60

static void sweep_leftovers(const struct config *cfg)
{
	char dir[CONFIG_PATH_MAX + 16];
	int n = 0, r;

	snprintf(dir, sizeof(dir), "%s", cfg->data);
	n += (r = cf_file_sweep(dir, NULL, LEFTOVER_AGE)) > 0 ? r : 0;
	snprintf(dir, sizeof(dir), "%s/ca", cfg->data);
	n += (r = cf_file_sweep(dir, NULL, LEFTOVER_AGE)) > 0 ? r : 0;
	if (cfg->notify.templates[0])
		snprintf(dir, sizeof(dir), "%s", cfg->notify.templates);
	else
		snprintf(dir, sizeof(dir), "%s/templates", cfg->data);
	n += (r = cf_file_sweep(dir, NULL, LEFTOVER_AGE)) > 0 ? r : 0;
	if (n > 0)
		cf_info("removed %d temporary files left by an interrupted write", n);
}

/* The custody master key (§22.3): master_key, default DATA.master.key beside (never inside) the
 * data directory, so that a copy of DATA never holds both the wrapped keys and the key that
 * unwraps them. Made on first start when no remote key exists; any error refuses the start with
 * one line naming the file, never the key. A DATA/master.key of an earlier version is not moved:
 * the operator moves it (and learns that old copies of DATA hold it). */
static int load_master(struct server *s, const struct config *cfg)
{
	char old[CONFIG_PATH_MAX + 16], why[128], dir[CONFIG_PATH_MAX + 16];
	const char *slash;
	size_t n = strlen(cfg->data);
	int ret;

	while (n > 1 && cfg->data[n - 1] == '/')
		n--;
	if (cfg->master_key[0])
		snprintf(s->path, sizeof(s->path), "%s", cfg->master_key);
	else
		snprintf(s->path, sizeof(s->path), "%.*s.master.key", (int)n, cfg->data);
	snprintf(old, sizeof(old), "%s/master.key", cfg->data);
	if (strcmp(old, s->path) != 0 && access(old, F_OK) == 0) {
		fprintf(stderr,
			"certflowd: master key %s: inside the data directory; move it to %s "
			"(or set master_key to a path outside %s)\n",
			old, s->path, cfg->data);
		return CF_EUSAGE;
	}
	if (file_inside(s->path, cfg->data)) {
		fprintf(stderr, "certflowd: master key %s: must not be inside %s\n", s->path,
			cfg->data);
		return CF_EUSAGE;
	}
	/* the temporary file of a creation a crash cut short, and nothing else of that directory */
	slash = strrchr(s->path, '/');
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else
		snprintf(dir, sizeof(dir), "%.*s", slash == s->path ? 1 : (int)(slash - s->path),
			 s->path);
	(void)cf_file_sweep(dir, slash ? slash + 1 : s->path, LEFTOVER_AGE);
	ret = custody_master_load(s->path, s->st, s->core.master, why, sizeof(why));
	if (ret != 0) {
		fprintf(stderr, "certflowd: master key %s: %s\n", s->path, why);
		return ret;
	}
	s->core.master_loaded = 1;
	return 0;
}

/* Base URL: base_url when set (several servers behind one load balancer all answer to its
 * URL: the JWS url, the directory and the CRL URL in certificates), else the configured host name
 * when one was given, else the listen address, with the port bound. */
static void make_base_url(struct server *s, const struct opts *o, const char *listen_host, int port)
{
	const char *host = listen_host;
	int v6 = strchr(listen_host, ':') != NULL;

	if (o->cfg.base_url[0]) {
		snprintf(s->base_url, sizeof(s->base_url), "%s", o->cfg.base_url);
		return;
	}

	if (o->cfg.hostname_set || strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0) {
		host = o->cfg.hostname;
		v6 = strchr(host, ':') != NULL;
	}
	snprintf(s->base_url, sizeof(s->base_url), "%s://%s%s%s:%d",
		 o->plain_http ? "http" : "https", v6 ? "[" : "", host, v6 ? "]" : "", port);
}

static void print_ready(const struct server *s, const struct opts *o)
{
	char abs[PATH_MAX];
	const char *data = realpath(o->cfg.data, abs) ? abs : o->cfg.data;

	printf("certflowd: listening on %s\n", s->base_url);
	printf("certflowd: the holder portal (apply, recover, new reference number, emergency "
	       "suspension): %s/\n",
	       core_public_url(&o->cfg.core, s->base_url));
	printf("certflowd: enrol an agent:\n");
	printf("  certflow-admin --data %s enrol create --subject NAME\n", data);
	printf("  certflow-agent enrol --server %s --ca %s/ca/root.pem --reference REFERENCE "
	       "--dir AGENT_DIR\n",
	       s->base_url, data);
	printf("  (or --ca-fingerprint %s instead of --ca: the root's fingerprint, also in every "
	       "e-mail)\n",
	       ca_root_fingerprint(s->ca));
	printf("certflowd: people apply with certflow-agent apply (profiles signing and remote: "
	       "the key stays here); review with:\n");
	printf("  certflow-admin --data %s application list --status pending\n", data);
	printf("certflowd: check a configuration with certflowd check");
	if (strcmp(o->cfg.metrics, "off") != 0)
		printf("; metrics at %s/metrics (%s)", s->base_url,
		       strcmp(o->cfg.metrics, "on") == 0 ? "from anywhere" : "from loopback only");
	printf("\n");
	fflush(stdout);
}

static int fail(const char *what, int ret)
{
	fprintf(stderr, "certflowd: %s: %s\n", what, cf_strerror(ret));
	return 1;
}

/* Start CivetWeb on listen (requests get 503 until http_set_ready); s->port = the bound port. */
static int listen_http(struct server *s, const struct opts *o, const char *listen)
{
	struct http_opts ho = {0};
	char pem[CONFIG_PATH_MAX + 32];

	snprintf(pem, sizeof(pem), "%s/server.pem", o->cfg.data);
	ho.listen = listen;
	ho.cert_pem = o->plain_http ? NULL : pem;
	ho.threads = o->cfg.threads;
	ho.per_address = o->cfg.per_address;
	ho.head_timeout_ms = o->cfg.head_timeout_ms;
	ho.body_timeout_ms = o->cfg.body_timeout_ms;
	ho.metrics = strcmp(o->cfg.metrics, "on") == 0 ? 2 : strcmp(o->cfg.metrics, "off") ? 1 : 0;
	ho.routes = api_routes;
	ho.problems = api_route_problems;
	ho.core = &s->core;
	ho.nonces = s->nonces;
	return http_start(&ho, &s->http, &s->port);
}

/* Listen, learn the port, settle the URLs, then serve. */
static int start_http(struct server *s, const struct opts *o, const char *listen_host)
{
	char crl_url[HTTP_MAX_URL + 16];
	int ret;
	ca *old;

	if ((ret = listen_http(s, o, o->cfg.listen)) != 0)
		return ret;
	make_base_url(s, o, listen_host, s->port);
	/* With port 0 the CRL URL was unknown when the CA was opened: reopen it with the URL. */
	snprintf(crl_url, sizeof(crl_url), "%s/v1/crl", s->base_url);
	old = s->ca;
	s->ca = NULL;
	ret = open_ca(s, o->cfg.data, crl_url);
	if (ret != 0) {
		s->ca = old;
		return ret;
	}
	ca_free(old);
	s->core.ca = s->ca;
	http_set_ready(s->http, s->base_url, &s->core);
	return 0;
}

/* CivetWeb reads its certificate only at start: after server.pem is renewed, the listener is
 * restarted on the port it had (connections in flight finish first; the gap is milliseconds and
 * clients retry). If the restart fails, the next check tries again. */
static void renew_tls(struct server *s, const struct opts *o, const char *listen_host)
{
	char listen[CONFIG_PATH_MAX + 16];
	const char *colon = strrchr(o->cfg.listen, ':');
	int renewed = 0, ret;

	if (o->plain_http)
		return;
	if ((ret = ensure_server_pem(s, &o->cfg, listen_host, &renewed)) != 0) {
		cf_error("cannot renew the TLS certificate: %s; trying again later",
			 cf_strerror(ret));
		return;
	}
	if (!renewed && s->http)
		return;
	http_stop(s->http);
	s->http = NULL;
	snprintf(listen, sizeof(listen), "%.*s:%d", colon ? (int)(colon - o->cfg.listen) : 0,
		 o->cfg.listen, s->port);
	if ((ret = listen_http(s, o, listen)) != 0) {
		cf_error("cannot listen again on %s: %s; trying again later", listen,
			 cf_strerror(ret));
		return;
	}
	http_set_ready(s->http, s->base_url, &s->core);
	cf_warn("TLS certificate renewed; listening again on %s", listen);
}

/* Serve until SIGTERM or SIGINT. Every hour, and at once on SIGHUP, the TLS certificate is
 * checked (renew_tls), so a server left running for years never serves an expired one; at start
 * and then every hour, expired recovery tokens and SMS codes are removed — on PostgreSQL by one
 * of the servers that share the database, at most once in HOUSEKEEPING_TURN seconds. */
static void serve(struct server *s, const struct opts *o, const char *listen_host,
		  const sigset_t *sigs)
{
	const struct timespec hour = {.tv_sec = 3600};
	int ret;

	for (;;) {
		int sig, ran = 0;

		if ((ret = core_housekeeping_turn(&s->core, HOUSEKEEPING_TURN, &ran)) != 0)
			cf_error("housekeeping: %s; trying again in an hour", cf_strerror(ret));
		else if (ran)
			cf_info("housekeeping: expired records removed");
		else
			cf_info("housekeeping: another server did it less than an hour ago");
		sig = sigtimedwait(sigs, NULL, &hour);
		if (sig == SIGTERM || sig == SIGINT) {
			cf_info("signal %d: stopping", sig);
			return;
		}
		renew_tls(s, o, listen_host);
	}
}

static int write_url_files(const struct server *s, const struct opts *o)
{
	char path[CONFIG_PATH_MAX + 32];
	size_t len = strlen(s->base_url);
	char *old = NULL;
	size_t old_len = 0;
	int same;

	snprintf(path, sizeof(path), "%s/url", o->cfg.data);
	/* the same URL as before is not written again: a start on a full disk needs no space */
	same = cf_file_read(path, 4096, &old, &old_len) == 0 && old_len == len &&
	       memcmp(old, s->base_url, len) == 0;
	free(old);
	if (!same && cf_file_write(path, s->base_url, len, 0644, 0) != 0)
		return CF_EIO;
	if (o->ready_file && cf_file_write(o->ready_file, s->base_url, len, 0644, 0) != 0)
		return CF_EIO;
	return 0;
}

static int run(struct opts *o, sigset_t *sigs)
{
	struct server *s = calloc(1, sizeof(*s));
	char host[128];
	int port = 0, renewed = 0, ret, rc = 1;

	if (!s)
		return fail("start", CF_ENOMEM);
	if (split_listen(o->cfg.listen, host, sizeof(host), &port) != 0) {
		fprintf(stderr, "certflowd: --listen must be ADDR:PORT\n");
		free(s);
		return 2;
	}
	if (o->plain_http && !is_loopback(host)) {
		fprintf(stderr, "certflowd: --plain-http is only allowed on a loopback address\n");
		free(s);
		return 2;
	}
	if (mkdir(o->cfg.data, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "certflowd: %s: %s\n", o->cfg.data, strerror(errno));
		goto out;
	}
	sweep_leftovers(&o->cfg);
	if ((ret = load_secret(s, o->cfg.data)) != 0) {
		fail("secret.key", ret);
		goto out;
	}
	if ((ret = open_ca(s, o->cfg.data, NULL)) != 0) {
		fail("CA", ret);
		goto out;
	}
	if (!o->plain_http && (ret = ensure_server_pem(s, &o->cfg, host, &renewed)) != 0) {
		fail("server.pem", ret);
		goto out;
	}
	if ((ret = open_store(s, &o->cfg)) != 0) {
		fail("database", ret);
		goto out;
	}
	if ((ret = open_outbox(s, &o->cfg)) != 0) {
		if (ret != CF_EIO)
			fail("outbox", ret);
		goto out;
	}
	if ((ret = core_init(&s->core, s->st, s->ca, &o->cfg.core, s->secret)) != 0) {
		fail("core", ret);
		goto out;
	}
	s->core_ready = 1;
	s->core.nt = s->nt;
	if (load_master(s, &o->cfg) != 0)
		goto out;
	if ((ret = ensure_admin(s, o->cfg.data, o->cfg.admin_name)) != 0) {
		fail("admin account", ret);
		goto out;
	}
	if ((ret = notify_start(s->nt)) != 0) {
		fail("outbox", ret);
		goto out;
	}
	if ((ret = open_nonces(s, &o->cfg)) != 0 || (ret = start_http(s, o, host)) != 0) {
		fail("HTTP", ret);
		goto out;
	}
	/* before the url file says the server is ready (a request in between gets no footer) */
	notify_set_server(s->nt, core_public_url(&o->cfg.core, s->base_url),
			  ca_root_fingerprint(s->ca));
	if ((ret = write_url_files(s, o)) != 0) {
		fail("url file", ret);
		goto out;
	}
	print_ready(s, o);
	serve(s, o, host, sigs);
	rc = 0;
out:
	http_stop(s->http);
	notify_close(s->nt); /* after HTTP: nothing queues any more; undelivered mail waits */
	nonce_store_free(s->nonces);
	if (s->core_ready)
		core_fini(&s->core);
	store_close(s->st);
	ca_free(s->ca);
	cf_zeroize(s->secret, sizeof(s->secret));
	free(s);
	return rc;
}

static int backup(int argc, char **argv)
{
	char path[CONFIG_PATH_MAX + 8];
	const char *data = NULL, *dest = NULL;
	store *st = NULL;
	int i, ret;

	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--data") == 0 && i + 1 < argc)
			data = argv[++i];
		else if (strncmp(argv[i], "--data=", 7) == 0)
			data = argv[i] + 7;
		else if (!dest && argv[i][0] != '-')
			dest = argv[i];
		else
			data = dest = NULL, i = argc;
	}
	if (!data || !dest) {
		fprintf(stderr, "usage: certflowd backup --data DIR DEST\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/db/data.mdb", data);
	if (access(path, R_OK) != 0) {
		fprintf(stderr, "certflowd: backup: no database in %s\n", data);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/db", data);
	ret = store_open(path, &(struct store_opts){0}, &st);
	if (ret == 0)
		ret = store_backup(st, dest);
	store_close(st);
	if (ret != 0)
		return fail("backup", ret);
	printf("certflowd: database copied to %s\n", dest);
	return 0;
}

static void check_fail(const char *what, int ret, const char *why)
{
	fprintf(stderr, "certflowd: %s: %s\n", what, why[0] ? why : cf_strerror(ret));
}

/* certflowd check: the configuration as a start reads it, and what the data directory holds,
 * loaded without starting, listening or writing anything. One line, exit 0, 1 or 2. */
static int check(struct opts *o)
{
	struct server *s = calloc(1, sizeof(*s));
	char host[128], path[CONFIG_PATH_MAX + 32];
	struct stat sb;
	int port = 0, ret, rc = 1, parts = 0;
	char what[256] = "", why[512];

	if (!s)
		return fail("check", CF_ENOMEM);
	cf_log_keep_first_error(why, sizeof(why)); /* one line: the reason, said below */
	if (split_listen(o->cfg.listen, host, sizeof(host), &port) != 0) {
		fprintf(stderr, "certflowd: --listen must be ADDR:PORT\n");
		rc = 2;
		goto out;
	}
	if (o->plain_http && !is_loopback(host)) {
		fprintf(stderr, "certflowd: --plain-http is only allowed on a loopback address\n");
		rc = 2;
		goto out;
	}
	if (stat(o->cfg.data, &sb) != 0) {
		if (errno != ENOENT) {
			fprintf(stderr, "certflowd: %s: %s\n", o->cfg.data, strerror(errno));
			goto out;
		}
		printf(
		    "certflowd: ok: the configuration is valid; %s does not exist yet (the first "
		    "start makes it)\n",
		    o->cfg.data);
		rc = 0;
		goto out;
	}
	if (!S_ISDIR(sb.st_mode) || access(o->cfg.data, R_OK | W_OK | X_OK) != 0) {
		fprintf(stderr, "certflowd: %s: not a directory this user can write\n",
			o->cfg.data);
		goto out;
	}
	snprintf(path, sizeof(path), "%s/secret.key", o->cfg.data);
	if (access(path, F_OK) == 0) {
		if ((ret = load_secret(s, o->cfg.data)) != 0) {
			check_fail("secret.key", ret, why);
			goto out;
		}
		parts++;
	}
	snprintf(path, sizeof(path), "%s/ca/root.pem", o->cfg.data);
	if (access(path, F_OK) == 0) {
		if ((ret = open_ca(s, o->cfg.data, NULL)) != 0) {
			check_fail("CA", ret, why);
			goto out;
		}
		snprintf(what + strlen(what), sizeof(what) - strlen(what), ", CA %s",
			 ca_root_fingerprint(s->ca));
	}
	snprintf(path, sizeof(path), "%s/db/data.mdb", o->cfg.data);
	if (access(path, F_OK) == 0 || strcmp(o->cfg.store, "postgresql") == 0) {
		if ((ret = open_store(s, &o->cfg)) != 0) {
			check_fail("database", ret, why);
			goto out;
		}
		snprintf(what + strlen(what), sizeof(what) - strlen(what), ", database readable");
	}
	printf("certflowd: ok: the configuration and %s are valid%s%s\n", o->cfg.data,
	       parts || what[0] ? "" : " (empty: the first start fills it)", what);
	rc = 0;
out:
	store_close(s->st);
	ca_free(s->ca);
	cf_zeroize(s->secret, sizeof(s->secret));
	free(s);
	cf_log_keep_first_error(NULL, 0);
	return rc;
}

int main(int argc, char **argv)
{
	struct opts o;
	sigset_t sigs;
	int checking = 0;

	memset(&o, 0, sizeof(o));
	if (argc > 1 && strcmp(argv[1], "backup") == 0)
		return backup(argc, argv);
	if (argc > 1 && strcmp(argv[1], "migrate") == 0)
		return migrate_main(argc, argv);
	if (argc > 1 && strcmp(argv[1], "check") == 0) {
		checking = 1;
		argv[1] = argv[0]; /* the options after "check" are the server's */
		argv++;
		argc--;
	}
	if (parse_args(argc, argv, &o) != 0 || settle_config(&o) != 0)
		return 2;
	cf_log_set_level(o.verbose >= 2 ? CF_LOG_DEBUG : o.verbose ? CF_LOG_INFO : CF_LOG_WARN);
	if (o.test_clock)
		cf_clock_set_file(o.test_clock);
	if (checking)
		return check(&o);
	/* Block the signals we wait for before any thread starts, so that all inherit the mask and
	 * only serve() sees them; SIGPIPE from a closed client connection must not kill the server.
	 */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP); /* check the TLS certificate now */
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	return run(&o, &sigs);
}
