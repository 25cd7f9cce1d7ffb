/*
 * bench — internals of certflow-bench, the load generator that measures certflowd's issuance
 * rate over HTTPS keep-alive against the crypto-bound limit of the same machine.
 *
 * Every loop is bounded by a count and by the deadline. Client-side work that is not the
 * server's (key generation, CSRs) is done before the timed phases. Activation codes live only in
 * memory and are wiped at the end; the admin key is only used to sign.
 */
#ifndef BENCH_H
#define BENCH_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "client.h"
#include "cf_crypto.h"

#define BENCH_MAX_CLIENTS 256
#define BENCH_MAX_ACTIVATIONS 100000
#define BENCH_MAX_RENEWALS 16
#define BENCH_MAX_SERVERS 8 /* --server URL,URL,...: front ends of one database */

struct bench_opts {
	const char *server, *ca, *admin_key, *clock_file;
	/* --server URL,URL,...: client w talks to servers[w % n_servers] (one list, one copy) */
	char *server_list;
	const char *servers[BENCH_MAX_SERVERS];
	int n_servers;
	int clients, activations, renewals, json;
	long server_pid; /* 0: no server CPU figures; else the first of server_pids */
	long server_pids[BENCH_MAX_SERVERS]; /* --server-pid PID,PID,...: their CPU is summed */
	int n_pids;
	long db_pids[64]; /* --db-pid PID,...: a database's processes, CPU summed apart */
	int n_db;
	int server_mbedtls; /* --server-library mbedtls: the server's crypto is mbedTLS's */
	int timeout_s;	    /* deadline for the whole run */
	int acme;	    /* --acme: the same phases through the ACME resources afterwards */
};

/* One enrolment code and the credential activated with it. */
struct bench_item {
	char ref[16];
	char code[32]; /* secret */
	cf_key *account;
	char **csr;    /* renewals + 1 CSRs (base64url DER), each for a new key */
	char kid[512]; /* account URL, after activation */
	char cred[128];
	char ari[640];		       /* renewal-info URL of the current certificate */
	int64_t not_before, not_after; /* of the current certificate */
	uint8_t eab[32];	       /* --acme: the binding's HMAC key (secret) */
	int srv;		       /* the server (index of o.servers) that activated it */
};

/* The resources of one server (its directory's URLs: each front end names its own origin). */
struct bench_server {
	char admin_kid[768], admin_url[512], activate_url[512], renew_url[512];
};

struct bench;
typedef int (*bench_step)(struct bench *b, int worker, size_t i, double *ms);

struct bench {
	struct bench_opts o;
	struct bench_item *items;
	size_t n_items;
	client *cl[BENCH_MAX_CLIENTS]; /* one connection per worker, kept across phases */
	cf_key *admin;
	struct bench_server srv[BENCH_MAX_SERVERS];
	int round;   /* renewal round: which CSR to use */
	int acme;    /* the ACME phases are running: CSRs for bench-<i>.example */
	double *lat; /* latency of each step of the current phase, ms */
	/* Work sharing of a phase. */
	bench_step step;
	size_t n_steps;
	atomic_size_t next, done;
	atomic_int stop;
	int64_t deadline_ms; /* CLOCK_MONOTONIC */
	pthread_mutex_t err_lock;
	int err;
	char err_text[600];
};

/* Run step for i = 0..n-1 on o.clients threads, each with its own connection; stops at the first
 * failure or the deadline. 0 or the first error (its text in b->err_text). *secs: wall time. */
int bench_phase(struct bench *b, bench_step step, size_t n, double *secs);
/* The server index of a worker's connection, and its resources. */
#define BENCH_SRV_OF(b, worker) ((worker) % (b)->o.n_servers)
#define BENCH_SRV(b, worker) (&(b)->srv[BENCH_SRV_OF(b, worker)])
/* Record the first failure of a phase (later ones are dropped) and stop the phase. */
void bench_fail(struct bench *b, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The steps. */
int bench_prepare_step(struct bench *b, int worker, size_t i, double *ms);
int bench_enrol_step(struct bench *b, int worker, size_t i, double *ms);
int bench_activate_step(struct bench *b, int worker, size_t i, double *ms);
int bench_renew_step(struct bench *b, int worker, size_t i, double *ms);
/* GET the renewal-info of the item's current certificate (a plain read, no JWS). */
int bench_renewal_info_step(struct bench *b, int worker, size_t i, double *ms);

/* The ACME steps (acme.c): enrolment codes with a binding, newAccount + newOrder + finalize,
 * newOrder + finalize. */
int bench_acme_enrol_step(struct bench *b, int worker, size_t i, double *ms);
int bench_acme_issue_step(struct bench *b, int worker, size_t i, double *ms);
int bench_acme_renew_step(struct bench *b, int worker, size_t i, double *ms);

/* Monotonic milliseconds. */
double bench_now_ms(void);
/* utime + stime of pid in milliseconds from /proc/PID/stat; CF_EIO if unreadable. */
int bench_proc_cpu_ms(long pid, double *ms);
/* The same summed over pids[0..n); CF_EIO if one is unreadable. */
int bench_procs_cpu_ms(const long *pids, int n, double *ms);
/* CPU time of the calling thread in milliseconds. */
double bench_cpu_ms(void);
/* CPU time per operation of P-256 sign and verify with cf_sign/cf_verify, as certflowd does
 * them: the bench links the same (OpenSSL) build of common/. In ms (bounded loops). */
int bench_crypto_times(double *sign_ms, double *verify_ms);
/* The same on mbedTLS, as the mbedTLS build of common/ does them (limit_mbedtls.c). */
int bench_mbedtls_times(double *sign_ms, double *verify_ms);
/* The q-quantile (0..1) of v[0..n) (sorts v). 0 when n is 0. */
double bench_quantile(double *v, size_t n, double q);
/* Write t (Unix seconds) into path atomically (temp file + rename). */
int bench_clock_write(const char *path, int64_t t);

#endif
