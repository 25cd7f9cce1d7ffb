/*
 * certflow-bench — measures how many certificates a running certflowd issues per second over
 * HTTPS keep-alive, and compares it with the crypto-bound limit of the same machine
 * (DESIGN.md "Performance principles"). Options and phases are described in usage() below.
 */
#include "bench.h"

#include <getopt.h>
#include <limits.h>
#include <mbedtls/version.h>
#include <sched.h>
#include <openssl/opensslv.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "cf_clock.h"
#include "cf_err.h"

#define PROG "certflow-bench"

static const char usage_text[] =
    "usage: certflow-bench [--data DIR | --server URL[,URL...] --ca FILE --admin-key FILE]\n"
    "                      [--clients N] [--activations N] [--renewals N --clock-file FILE]\n"
    "                      [--server-pid PID[,PID...]] [--db-pid PID[,PID...]]\n"
    "                      [--server-library openssl|mbedtls]\n"
    "                      [--timeout SECONDS] [--acme] [--json]\n"
    "\n"
    "Load generator for a running certflowd over HTTPS keep-alive (one connection per client).\n"
    "\n"
    "  --data DIR          the server's data directory: DIR/url, DIR/ca/root.pem, DIR/admin.key\n"
    "  --server URL        base URL of the server;  --ca FILE  its trust anchors (PEM)\n"
    "                      URL,URL,...: several servers on one database (up to 8, the same CA\n"
    "                      and admin key); client w talks to the (w mod n)-th (not with --acme)\n"
    "  --admin-key FILE    the admin account's key (creates the enrolment codes)\n"
    "  --clients N         client threads, each with its own connection (default 8, max 256)\n"
    "  --activations N     certificates to issue by activation, in total (default 200,\n"
    "                      max 100000)\n"
    "  --renewals N        renewals per credential after the activations (default 0, max 16);\n"
    "                      needs --clock-file: the server must run with --test-clock FILE, and\n"
    "                      the bench moves that clock into each renewal window itself\n"
    "  --clock-file FILE   the server's --test-clock file (set to the wall clock at the start)\n"
    "  --server-pid PID    read the server's CPU time (/proc/PID/stat) around timed phases;\n"
    "                      PID,PID,...: the sum of several servers' (the cores: the first's)\n"
    "  --db-pid PID,...    the database's processes (PostgreSQL's): their CPU time apart\n"
    "  --server-library L  the crypto library of the server measured: openssl (certflowd today,\n"
    "                      the default) or mbedtls (a certflowd built before its OpenSSL backend)\n"
    "  --timeout SECONDS   deadline for the whole run (default 600)\n"
    "  --acme              then the same phases again through the ACME resources (spec/acme.md)\n"
    "                      on the same server: an issuance is newAccount with the enrolment's\n"
    "                      binding + newOrder + finalize, a renewal newOrder + finalize\n"
    "  --json              print the figures as one JSON line\n"
    "\n"
    "Phases: (0) untimed: every client key pair, device key and CSR is made in advance, so the\n"
    "timed phases measure the server, not key generation; (1) untimed: the admin creates the\n"
    "enrolment codes; (2) timed: the clients activate them (the client still signs each JWS,\n"
    "since the nonce is known only then: one P-256 signature per request on this machine);\n"
    "(3) timed, with --renewals: each round moves the test clock into the renewal window and\n"
    "renews every credential with a new key; (4) timed: a GET of each current certificate's\n"
    "renewal-info (no JWS), its rate and latency p50/p99 (native phases only).\n"
    "\n"
    "Figures: issuances/s, latency p50/p99, server CPU ms per certificate (--server-pid), bench\n"
    "CPU ms per certificate, and the crypto-bound limit of both libraries, timed here in CPU time\n"
    "(not wall time): OpenSSL 3 through cf_sign/cf_verify of certflowd's build of common/ (which\n"
    "the bench links too, so that its own JWS signing takes little CPU), mbedTLS as the mbedTLS\n"
    "build of common/ calls it. Per certificate the server makes one P-256 signature (the CA's, "
    "of\n"
    "the certificate) and two verifications (the request's JWS, the CSR's signature), so\n"
    "limit = cores / (t_sign + 2 t_verify), cores being the CPUs the server may run on (its\n"
    "affinity, with --server-pid; tools/bench/run.sh gives the bench a CPU of its own when the\n"
    "machine has two or more), else the machine's; achieved/limit is printed for the library "
    "certflowd\n"
    "uses (OpenSSL) and for the faster of the two. Each timed phase gets its own limit, timed\n"
    "right after it (the server idle) on the server's CPUs (this thread moves there for the\n"
    "while, with --server-pid), the mean over its rounds: a virtual machine's CPU speed drifts\n"
    "over seconds, and a limit timed at another moment or on another CPU would skew the ratio.\n"
    "With --json the top-level signMs, verifyMs and limit* are the issuance phase's; each phase\n"
    "has its own <phase>LimitPerSec, <phase>SignMs and <phase>VerifyMs. When the bench runs on\n"
    "the server's machine its own signing takes CPU from the server: read the ratio with the\n"
    "bench CPU figure beside it. Server efficiency = (t_sign + 2 t_verify) / server CPU per\n"
    "certificate: how close the server is to the crypto bound on the CPU it actually got.\n"
    "\n"
    "Exit status: 0 done, 1 failed (the first error is printed), 2 usage error.\n";

/* The crypto-bound limit with one library. */
struct lib_limit {
	const char *name;
	double sign_ms, verify_ms, per_core, total;
};

struct limit {
	struct lib_limit lib[2]; /* mbedTLS, OpenSSL */
	const struct lib_limit *server, *fastest;
	long cores;
};

/* One timed phase's figures, with the crypto limit measured right after it (l: sums over its
 * rounds, n_lim of them, until finish_limit averages them). */
struct fig {
	size_t n;
	double secs, srv_cpu, db_cpu, cli_cpu, p50, p99;
	int have_srv, have_db, n_lim;
	struct limit l;
};

static int fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(int code, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

static int int_arg(const char *s, int min, int max, int *out)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (end == s || *end || v < min || v > max)
		return fail(CF_EUSAGE, "bad number '%s' (see certflow-bench --help)", s);
	*out = (int)v;
	return 0;
}

struct paths {
	const char *data;
	char url[512], ca[PATH_MAX], key[PATH_MAX];
};

static int resolve_data(struct bench_opts *o, struct paths *p)
{
	char path[PATH_MAX];
	FILE *f;
	size_t n;

	if (!p->data)
		return 0;
	if (!o->server) {
		snprintf(path, sizeof(path), "%s/url", p->data);
		f = fopen(path, "r");
		n = f ? fread(p->url, 1, sizeof(p->url) - 1, f) : 0;
		if (f)
			fclose(f);
		while (n && (p->url[n - 1] == '\n' || p->url[n - 1] == ' '))
			n--;
		p->url[n] = '\0';
		if (!n)
			return fail(CF_EIO, "cannot read a URL from %s", path);
		o->server = p->url;
		o->servers[0] = p->url;
		o->n_servers = 1;
	}
	snprintf(p->ca, sizeof(p->ca), "%s/ca/root.pem", p->data);
	snprintf(p->key, sizeof(p->key), "%s/admin.key", p->data);
	o->ca = o->ca ? o->ca : p->ca;
	o->admin_key = o->admin_key ? o->admin_key : p->key;
	return 0;
}

/* --server URL,URL,...: o->servers point into one copy of the list. */
static int split_servers(struct bench_opts *o)
{
	char *save = NULL, *tok;

	free(o->server_list);
	o->n_servers = 0;
	if (!(o->server_list = strdup(o->server)))
		return fail(CF_ENOMEM, "%s", "out of memory");
	for (tok = strtok_r(o->server_list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (o->n_servers == BENCH_MAX_SERVERS)
			return fail(CF_EUSAGE, "at most %d servers", BENCH_MAX_SERVERS);
		o->servers[o->n_servers++] = tok;
	}
	if (!o->n_servers)
		return fail(CF_EUSAGE, "%s", "--server takes a URL");
	return 0;
}

/* PID,PID,... into pids[0..cap): the count, or a negative CF_E* after a message. */
static int split_pids(const char *arg, long *pids, int cap)
{
	char buf[1024], *save = NULL, *tok;
	int n = 0, v = 0, ret;

	snprintf(buf, sizeof(buf), "%s", arg);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (n == cap)
			return fail(CF_EUSAGE, "at most %d process ids", cap);
		if ((ret = int_arg(tok, 1, INT_MAX, &v)) != 0)
			return ret;
		pids[n++] = v;
	}
	return n ? n : fail(CF_EUSAGE, "%s", "--server-pid and --db-pid take process ids");
}

static int parse_opt(int c, const char *arg, struct bench_opts *o, struct paths *p)
{
	int ret = 0;

	switch (c) {
	case 'd':
		p->data = arg;
		break;
	case 's':
		o->server = arg;
		ret = split_servers(o);
		break;
	case 'c':
		o->ca = arg;
		break;
	case 'k':
		o->admin_key = arg;
		break;
	case 'f':
		o->clock_file = arg;
		break;
	case 'j':
		o->json = 1;
		break;
	case 'A':
		o->acme = 1;
		break;
	case 'n':
		ret = int_arg(arg, 1, BENCH_MAX_CLIENTS, &o->clients);
		break;
	case 'a':
		ret = int_arg(arg, 1, BENCH_MAX_ACTIVATIONS, &o->activations);
		break;
	case 'r':
		ret = int_arg(arg, 0, BENCH_MAX_RENEWALS, &o->renewals);
		break;
	case 't':
		ret = int_arg(arg, 1, 86400, &o->timeout_s);
		break;
	case 'p':
		ret = split_pids(arg, o->server_pids, BENCH_MAX_SERVERS);
		o->n_pids = ret > 0 ? ret : 0;
		o->server_pid = ret > 0 ? o->server_pids[0] : 0;
		ret = ret > 0 ? 0 : ret;
		break;
	case 'D':
		ret =
		    split_pids(arg, o->db_pids, (int)(sizeof(o->db_pids) / sizeof(o->db_pids[0])));
		o->n_db = ret > 0 ? ret : 0;
		ret = ret > 0 ? 0 : ret;
		break;
	case 'L':
		if (strcmp(arg, "openssl") == 0 || strcmp(arg, "mbedtls") == 0)
			o->server_mbedtls = strcmp(arg, "mbedtls") == 0;
		else
			ret = fail(CF_EUSAGE, "--server-library takes openssl or mbedtls");
		break;
	default:
		ret = fail(CF_EUSAGE, "bad option '%s' (see certflow-bench --help)", arg);
	}
	return ret;
}

/* 0 to run, 1 when --help was answered, CF_EUSAGE/CF_EIO after a message. */
static int parse(int argc, char **argv, struct bench_opts *o, struct paths *p)
{
	static const struct option lo[] = {
	    {"data", required_argument, NULL, 'd'},
	    {"server", required_argument, NULL, 's'},
	    {"ca", required_argument, NULL, 'c'},
	    {"admin-key", required_argument, NULL, 'k'},
	    {"clients", required_argument, NULL, 'n'},
	    {"activations", required_argument, NULL, 'a'},
	    {"renewals", required_argument, NULL, 'r'},
	    {"clock-file", required_argument, NULL, 'f'},
	    {"server-pid", required_argument, NULL, 'p'},
	    {"db-pid", required_argument, NULL, 'D'},
	    {"server-library", required_argument, NULL, 'L'},
	    {"timeout", required_argument, NULL, 't'},
	    {"json", no_argument, NULL, 'j'},
	    {"acme", no_argument, NULL, 'A'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c, ret;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		if (c == 'h') {
			fputs(usage_text, stdout);
			return 1;
		}
		ret = parse_opt(c, c == '?' ? argv[optind - 1] : optarg, o, p);
		if (ret)
			return ret;
	}
	if (optind < argc)
		return fail(CF_EUSAGE, "unexpected argument '%s'", argv[optind]);
	if (resolve_data(o, p))
		return CF_EIO;
	if (!o->server || !o->ca || !o->admin_key)
		return fail(CF_EUSAGE, "%s",
			    "give --data DIR, or --server URL --ca FILE --admin-key FILE");
	if (o->n_servers > 1 && o->acme)
		return fail(CF_EUSAGE, "%s", "--acme takes one --server");
	if (o->n_servers > o->clients)
		return fail(CF_EUSAGE, "%s", "--clients must be at least the number of servers");
	if (o->renewals && !o->clock_file)
		return fail(
		    CF_EUSAGE, "%s",
		    "--renewals needs --clock-file (a server started with --test-clock FILE)");
	return 0;
}

/* A URL of server k's directory, read through its first client (worker k). */
static int dir_url(struct bench *b, int k, const char *name, char *out, size_t cap)
{
	struct client_problem prob;
	const char *u;
	int ret;

	memset(&prob, 0, sizeof(prob));
	ret = client_directory(b->cl[k], &prob);
	if (ret)
		return fail(ret, "cannot read the directory of %s: %s", b->o.servers[k],
			    prob.detail[0] ? prob.detail : cf_strerror(ret));
	u = client_dir_url(b->cl[k], name);
	if (!u || strlen(u) >= cap)
		return fail(CF_EPROTO, "the directory has no usable '%s' URL", name);
	strcpy(out, u);
	return 0;
}

static int setup(struct bench *b)
{
	double cpu;
	char tp[44];
	size_t n;
	int ret = cf_key_load(b->o.admin_key, &b->admin);

	if (ret)
		return fail(ret, "cannot load the admin key %s", b->o.admin_key);
	if (b->o.n_pids && bench_procs_cpu_ms(b->o.server_pids, b->o.n_pids, &cpu) != 0)
		return fail(CF_EIO, "%s", "cannot read /proc/PID/stat of a --server-pid");
	for (int w = 0; w < b->o.clients; w++) {
		ret = client_new(b->o.servers[BENCH_SRV_OF(b, w)], b->o.ca, &b->cl[w]);
		if (ret)
			return fail(ret, "cannot use server %s", b->o.servers[BENCH_SRV_OF(b, w)]);
	}
	ret = cf_key_thumbprint(b->admin, tp);
	if (ret)
		return fail(ret, "%s", "cannot compute the admin key's thumbprint");
	for (int k = 0; k < b->o.n_servers; k++) {
		struct bench_server *sv = &b->srv[k];

		if ((ret = dir_url(b, k, "admin", sv->admin_url, sizeof(sv->admin_url))) ||
		    (ret = dir_url(b, k, "activate", sv->activate_url, sizeof(sv->activate_url))) ||
		    (ret = dir_url(b, k, "renew", sv->renew_url, sizeof(sv->renew_url))))
			return ret;
		/* The admin account's URL sits beside the admin URL: "…/v1/admin" →
		 * "…/v1/account/<tp>". */
		n = strlen(sv->admin_url);
		if (n > 6 && strcmp(sv->admin_url + n - 6, "/admin") == 0)
			snprintf(sv->admin_kid, sizeof(sv->admin_kid), "%.*s/account/%s",
				 (int)(n - 6), sv->admin_url, tp);
		else
			snprintf(sv->admin_kid, sizeof(sv->admin_kid), "%s/v1/account/%s",
				 b->o.servers[k], tp);
	}
	if (b->o.clock_file && bench_clock_write(b->o.clock_file, (int64_t)time(NULL)))
		return fail(CF_EIO, "cannot write the clock file %s", b->o.clock_file);
	b->n_items = (size_t)b->o.activations;
	b->items = calloc(b->n_items, sizeof(*b->items));
	if (!b->items)
		return fail(CF_ENOMEM, "%s", "out of memory");
	return 0;
}

static double self_cpu_ms(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000.0 +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000.0;
}

/* The CPUs the server may run on (its affinity, with --server-pid): 0, or -1 when unknown. */
static int server_cpus(const struct bench *b, cpu_set_t *set)
{
	CPU_ZERO(set);
	if (b->o.server_pid && sched_getaffinity((pid_t)b->o.server_pid, sizeof(*set), set) == 0 &&
	    CPU_COUNT(set) > 0)
		return 0;
	return -1;
}

/* How many CPUs the server may run on: its affinity, else the machine's online CPUs. */
static long server_cores(const struct bench *b)
{
	cpu_set_t set;
	long n;

	if (server_cpus(b, &set) == 0)
		return CPU_COUNT(&set);
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? n : 1;
}

/* Time both libraries' sign and verify, in CPU time, on the server's own CPUs (this thread moves
 * there for the while: the server is idle between phases), and add them to f's sums. A VM's CPU
 * speed drifts over seconds, so each phase is compared with a limit measured just after it. */
static int measure_limit(const struct bench *b, struct fig *f)
{
	cpu_set_t srv, own;
	double s0 = 0, v0 = 0, s1 = 0, v1 = 0;
	int moved = server_cpus(b, &srv) == 0 &&
		    pthread_getaffinity_np(pthread_self(), sizeof(own), &own) == 0 &&
		    pthread_setaffinity_np(pthread_self(), sizeof(srv), &srv) == 0;
	int ret = bench_mbedtls_times(&s0, &v0);

	if (!ret)
		ret = bench_crypto_times(&s1, &v1);
	if (moved)
		pthread_setaffinity_np(pthread_self(), sizeof(own), &own);
	if (ret)
		return fail(ret, "%s", "cannot measure the crypto limit");
	f->l.lib[0].sign_ms += s0;
	f->l.lib[0].verify_ms += v0;
	f->l.lib[1].sign_ms += s1;
	f->l.lib[1].verify_ms += v1;
	f->n_lim++;
	return 0;
}

/* f's limit from its sums: the mean over its rounds, times the server's cores. */
static void finish_limit(const struct bench *b, struct fig *f)
{
	struct limit *l = &f->l;

	l->lib[0].name = "mbedTLS " MBEDTLS_VERSION_STRING;
	l->lib[1].name = "OpenSSL " OPENSSL_FULL_VERSION_STR;
	l->cores = server_cores(b);
	for (int i = 0; i < 2 && f->n_lim > 0; i++) {
		struct lib_limit *x = &l->lib[i];

		x->sign_ms /= f->n_lim;
		x->verify_ms /= f->n_lim;
		x->per_core = 1000.0 / (x->sign_ms + 2 * x->verify_ms);
		x->total = x->per_core * (double)l->cores;
	}
	l->server = &l->lib[b->o.server_mbedtls ? 0 : 1];
	l->fastest = l->lib[0].total > l->lib[1].total ? &l->lib[0] : &l->lib[1];
}

/* One timed phase over every item; adds its time, CPU and count to f, and with crypto the
 * crypto limit measured right after it. */
static int timed(struct bench *b, bench_step step, double *lat, struct fig *f, int crypto)
{
	double c0 = 0, c1 = 0, d0 = 0, d1 = 0, u0 = self_cpu_ms(), secs = 0;
	int have_db = b->o.n_db && bench_procs_cpu_ms(b->o.db_pids, b->o.n_db, &d0) == 0;
	int have = b->o.n_pids && bench_procs_cpu_ms(b->o.server_pids, b->o.n_pids, &c0) == 0;
	int ret;

	b->lat = lat;
	ret = bench_phase(b, step, b->n_items, &secs);
	b->lat = NULL;
	have = have && bench_procs_cpu_ms(b->o.server_pids, b->o.n_pids, &c1) == 0;
	f->have_srv = (f->n == 0 || f->have_srv) && have;
	f->srv_cpu += c1 - c0;
	have_db = have_db && bench_procs_cpu_ms(b->o.db_pids, b->o.n_db, &d1) == 0;
	f->have_db = (f->n == 0 || f->have_db) && have_db;
	f->db_cpu += d1 - d0;
	f->cli_cpu += self_cpu_ms() - u0;
	f->secs += secs;
	f->n += b->n_items;
	return ret || !crypto ? ret : measure_limit(b, f);
}

/* Move the server's test clock just inside the renewal window of every current certificate
 * (device profile: the last third of the validity, spec/protocol.md §10). */
static int move_clock(struct bench *b)
{
	int64_t target = 0, limit = INT64_MAX;

	for (size_t i = 0; i < b->n_items; i++) {
		const struct bench_item *it = &b->items[i];
		int64_t start = it->not_after - (it->not_after - it->not_before) / 3;
		target = start > target ? start : target;
		limit = it->not_after < limit ? it->not_after : limit;
	}
	target += 3600;
	if (target >= limit)
		return fail(CF_EINTERNAL, "%s", "the certificates' renewal windows do not overlap");
	if (bench_clock_write(b->o.clock_file, target))
		return fail(CF_EIO, "cannot write the clock file %s", b->o.clock_file);
	return 0;
}

static int run_phases(struct bench *b, struct fig *act, struct fig *ren, struct fig *ari)
{
	double *lat = calloc(b->n_items * (size_t)(b->o.renewals + 2), sizeof(double));
	double *ari_lat = lat ? lat + b->n_items * (size_t)(b->o.renewals + 1) : NULL;
	double secs;
	int ret = lat ? 0 : CF_ENOMEM;

	if (!ret && !b->o.json)
		fprintf(stderr, PROG ": preparing %zu key pairs and CSRs, %zu enrolment codes\n",
			b->n_items, b->n_items);
	ret = ret ? ret : bench_phase(b, bench_prepare_step, b->n_items, &secs);
	ret = ret ? ret
		  : bench_phase(b, b->acme ? bench_acme_enrol_step : bench_enrol_step, b->n_items,
				&secs);
	ret = ret ? ret
		  : timed(b, b->acme ? bench_acme_issue_step : bench_activate_step, lat, act, 1);
	for (int r = 1; !ret && r <= b->o.renewals; r++) {
		/* ACME renews outside the window too (spec/acme.md §5): the clock stays */
		ret = b->acme ? 0 : move_clock(b);
		b->round = r;
		ret = ret ? ret
			  : timed(b, b->acme ? bench_acme_renew_step : bench_renew_step,
				  lat + b->n_items * (size_t)r, ren, 1);
	}
	/* the renewal-info of each current certificate, the read an agent makes most often */
	if (ari)
		ret = ret ? ret : timed(b, bench_renewal_info_step, ari_lat, ari, 0);
	if (ret && b->err)
		fail(ret, "%s", b->err_text);
	else if (ret == CF_ENOMEM)
		fail(ret, "%s", "out of memory");
	if (!ret) {
		act->p50 = bench_quantile(lat, act->n, 0.50);
		act->p99 = bench_quantile(lat, act->n, 0.99);
		ren->p50 = bench_quantile(lat + b->n_items, ren->n, 0.50);
		ren->p99 = bench_quantile(lat + b->n_items, ren->n, 0.99);
		if (ari) {
			ari->p50 = bench_quantile(ari_lat, ari->n, 0.50);
			ari->p99 = bench_quantile(ari_lat, ari->n, 0.99);
		}
	}
	free(lat);
	return ret;
}

static double rate(const struct fig *f)
{
	return f->secs > 0 ? (double)f->n / f->secs : 0;
}

static double ratio(const struct fig *f, const struct lib_limit *l)
{
	return l->total > 0 ? rate(f) / l->total : 0;
}

/* Crypto per certificate over the server's CPU per certificate: how close the server itself is
 * to the crypto bound, whatever CPU the bench takes from it on a shared machine. 0 if unknown. */
static double srv_efficiency(const struct fig *f, const struct lib_limit *l)
{
	if (!f->have_srv || f->n == 0 || f->srv_cpu <= 0)
		return 0;
	return (l->sign_ms + 2 * l->verify_ms) / (f->srv_cpu / (double)f->n);
}

static void print_fig(const char *what, const char *unit, const struct fig *f)
{
	const struct limit *l = &f->l;
	char label[64];

	/* the server's library first */
	for (int k = 0; k < 2; k++) {
		const struct lib_limit *x = k == 0 ? l->server : &l->lib[l->server == &l->lib[0]];

		printf("%19s: %.1f/s = %ld server cores / (sign %.4f ms + 2 x verify %.4f ms), "
		       "%s%s\n",
		       "crypto limit", x->total, l->cores, x->sign_ms, x->verify_ms, x->name,
		       k == 0 ? " (certflowd's)" : "");
	}

	snprintf(label, sizeof(label), "%s/s", what);
	printf("%19s: %.1f (%zu in %.3f s)\n", label, rate(f), f->n, f->secs);
	printf("%19s: %.1f / %.1f ms\n", "latency p50/p99", f->p50, f->p99);
	snprintf(label, sizeof(label), "server CPU/%s", unit);
	if (f->have_srv)
		printf("%19s: %.2f ms\n", label, f->srv_cpu / (double)f->n);
	snprintf(label, sizeof(label), "database CPU/%s", unit);
	if (f->have_db)
		printf("%19s: %.2f ms\n", label, f->db_cpu / (double)f->n);
	snprintf(label, sizeof(label), "bench CPU/%s", unit);
	printf("%19s: %.2f ms\n", label, f->cli_cpu / (double)f->n);
	printf("%19s: %.3f (server's library, %s)\n", "achieved/limit", ratio(f, l->server),
	       l->server->name);
	printf("%19s: %.3f (fastest library, %s)\n", "achieved/limit", ratio(f, l->fastest),
	       l->fastest->name);
	if (f->have_srv)
		printf("%19s: %.3f (%s crypto ms / server CPU ms per %s)\n", "server efficiency",
		       srv_efficiency(f, l->server), l->server->name, unit);
}

static void print_human(const struct bench *b, const struct fig *act, const struct fig *ren,
			const struct fig *ari, const struct fig *aact, const struct fig *aren)
{
	printf("certflow-bench: %s, %d clients, %zu activations, %d renewals each\n", b->o.server,
	       b->o.clients, b->n_items, b->o.renewals);
	print_fig("issuances", "cert", act);
	if (ren->n)
		print_fig("renewals", "renewal", ren);
	printf("%19s: %.1f (%zu in %.3f s)\n", "renewal-info/s", rate(ari), ari->n, ari->secs);
	printf("%19s: %.2f / %.2f ms\n", "latency p50/p99", ari->p50, ari->p99);
	/* the cost of a request without crypto: HTTPS keep-alive, one store read, JSON */
	if (ari->have_srv && ari->n)
		printf("%19s: %.3f ms\n", "server CPU/request", ari->srv_cpu / (double)ari->n);
	if (aact->n)
		print_fig("ACME issuances", "cert", aact);
	if (aren->n)
		print_fig("ACME renewals", "renewal", aren);
	if (aact->n && rate(act) > 0)
		printf("%19s: %.3f (ACME issuances/s over native activations/s)\n", "ACME/native",
		       rate(aact) / rate(act));
}

static void json_fig(const char *prefix, const struct fig *f)
{
	const struct limit *l = &f->l;

	printf("\"%sLimitPerSec\":%.2f,\"%sSignMs\":%.4f,\"%sVerifyMs\":%.4f,", prefix,
	       l->server->total, prefix, l->server->sign_ms, prefix, l->server->verify_ms);
	printf("\"%sCount\":%zu,\"%sSeconds\":%.4f,\"%sPerSec\":%.2f,\"%sP50Ms\":%.3f,"
	       "\"%sP99Ms\":%.3f,\"%sBenchCpuMsPerCert\":%.3f,\"%sRatio\":%.4f,"
	       "\"%sRatioFastest\":%.4f,",
	       prefix, f->n, prefix, f->secs, prefix, rate(f), prefix, f->p50, prefix, f->p99,
	       prefix, f->n ? f->cli_cpu / (double)f->n : 0, prefix, ratio(f, l->server), prefix,
	       ratio(f, l->fastest));
	if (f->have_db)
		printf("\"%sDbCpuMsPerCert\":%.3f,", prefix, f->db_cpu / (double)f->n);
	if (f->have_srv)
		printf("\"%sServerCpuMsPerCert\":%.3f,\"%sServerEfficiency\":%.4f,", prefix,
		       f->srv_cpu / (double)f->n, prefix, srv_efficiency(f, l->server));
	else
		printf("\"%sServerCpuMsPerCert\":null,\"%sServerEfficiency\":null,", prefix,
		       prefix);
}

static void print_json(const struct bench *b, const struct fig *act, const struct fig *ren,
		       const struct fig *ari, const struct fig *aact, const struct fig *aren)
{
	const struct limit *l = &act->l; /* the top-level limit: the issuance phase's */

	/* The server URL is ours (a file or the command line) and holds no '"' or '\\'. */
	printf("{\"server\":\"%s\",\"clients\":%d,\"renewalsPerCredential\":%d,", b->o.server,
	       b->o.clients, b->o.renewals);
	json_fig("issuance", act);
	json_fig("renewal", ren);
	printf("\"renewalInfoCount\":%zu,\"renewalInfoPerSec\":%.2f,\"renewalInfoP50Ms\":%.3f,"
	       "\"renewalInfoP99Ms\":%.3f,",
	       ari->n, rate(ari), ari->p50, ari->p99);
	if (ari->have_srv && ari->n)
		printf("\"renewalInfoServerCpuMsPerRequest\":%.4f,", ari->srv_cpu / (double)ari->n);
	if (aact->n) {
		json_fig("acmeIssuance", aact);
		json_fig("acmeRenewal", aren);
	}
	/* signMs, verifyMs and limit*: the server's library (OpenSSL), after the issuance phase */
	printf("\"serverLibrary\":\"%s\",\"fastestLibrary\":\"%s\",\"signMs\":%.4f,"
	       "\"verifyMs\":%.4f,\"cores\":%ld,\"limitPerCorePerSec\":%.2f,\"limitPerSec\":%.2f,"
	       "\"mbedtlsSignMs\":%.4f,\"mbedtlsVerifyMs\":%.4f,\"mbedtlsLimitPerSec\":%.2f}\n",
	       l->server->name, l->fastest->name, l->server->sign_ms, l->server->verify_ms,
	       l->cores, l->server->per_core, l->server->total, l->lib[0].sign_ms,
	       l->lib[0].verify_ms, l->lib[0].total);
}

/* Wipe and free what each item holds; the items stay, zeroed. */
static void clear_items(struct bench *b)
{
	for (size_t i = 0; b->items && i < b->n_items; i++) {
		struct bench_item *it = &b->items[i];
		cf_key_free(it->account);
		for (int r = 0; it->csr && r <= b->o.renewals; r++)
			free(it->csr[r]);
		free(it->csr);
		cf_zeroize(it, sizeof(*it));
	}
}

static void cleanup(struct bench *b)
{
	clear_items(b);
	free(b->items);
	for (int w = 0; w < b->o.clients; w++)
		client_free(b->cl[w]);
	cf_key_free(b->admin);
	free(b->o.server_list);
}

static int run(struct bench *b)
{
	struct fig act = {0}, ren = {0}, ari = {0}, aact = {0}, aren = {0};
	int ret = setup(b);

	if (ret)
		return ret;
	b->deadline_ms = (int64_t)bench_now_ms() + (int64_t)b->o.timeout_s * 1000;
	ret = run_phases(b, &act, &ren, &ari);
	if (!ret && b->o.acme) {
		/* the same count again through /acme/, with fresh keys, codes and credentials */
		clear_items(b);
		b->acme = 1;
		b->round = 0;
		ret = run_phases(b, &aact, &aren, NULL);
	}
	if (ret)
		return ret;
	finish_limit(b, &act);
	finish_limit(b, &ren);
	finish_limit(b, &aact);
	finish_limit(b, &aren);
	if (b->o.json)
		print_json(b, &act, &ren, &ari, &aact, &aren);
	else
		print_human(b, &act, &ren, &ari, &aact, &aren);
	return 0;
}

int main(int argc, char **argv)
{
	static struct bench b = {.err_lock = PTHREAD_MUTEX_INITIALIZER};
	struct paths p = {0};
	int ret;

	b.o = (struct bench_opts){.clients = 8, .activations = 200, .timeout_s = 600};
	ret = parse(argc, argv, &b.o, &p);
	if (ret == 1)
		return 0;
	if (ret)
		return ret == CF_EUSAGE ? 2 : 1;
	ret = run(&b);
	cleanup(&b);
	if (fflush(stdout) != 0 && !ret)
		ret = fail(CF_EIO, "%s", "cannot write the output");
	return ret ? 1 : 0;
}
