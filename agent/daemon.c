/*
 * daemon — `certflow-agent run` (spec/cli.md): the agent in the foreground for systemd
 * (Type=simple), one cycle per credential whenever its time comes.
 *
 * Why it never sleeps long: a monotonic timer stops during suspend and a wall-clock deadline
 * computed once is wrong after the clock is set, so it sleeps at most a minute at a time and
 * re-reads the wall clock (cf_now) after every wake-up, then compares each credential's next
 * attempt with it (a clock set back behind the last cycle gives a cycle at once, which plans
 * again by the new clock). Signals are blocked except inside ppoll, so none is lost between the
 * check and the sleep: SIGTERM/SIGINT stop after the current cycle (exit 0), SIGHUP reloads the
 * configuration, SIGUSR1 gives every credential a cycle now.
 *
 * Never: exit on a failed cycle or a bad configuration reload (the old one stays), or spin:
 * every next attempt is at least a second away.
 */
#include "cycle.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_clock.h"
#include "cf_err.h"
#include "install.h"
#include "schedule.h"
#include "state.h"

#define WAKE_MAX 60 /* seconds between two looks at the clock */

static volatile sig_atomic_t got_stop, got_hup, got_usr1;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		got_hup = 1;
	else if (sig == SIGUSR1)
		got_usr1 = 1;
	else
		got_stop = 1;
}

/* Handlers for the four signals, which stay blocked outside ppoll; *open is the mask to wait
 * with. */
static void signals_setup(sigset_t *open)
{
	static const int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1};
	struct sigaction sa;
	sigset_t block;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigemptyset(&block);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		sigaction(sigs[i], &sa, NULL);
		sigaddset(&block, sigs[i]);
	}
	sigprocmask(SIG_BLOCK, &block, open);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigdelset(open, sigs[i]);
}

/* What the loop keeps per credential. */
struct slot {
	int64_t next;	 /* next cycle by cf_now(), 0: at once */
	int64_t last;	 /* cf_now() after the last cycle: a clock set back below it re-plans */
	char serial[65]; /* the certificate seen by the last cycle */
	/* cycles in a row that could not start (busy, not enrolled): they have no state file to
	 * keep a backoff in, so it is kept here, and their line is logged once per change */
	unsigned stuck;
	char stuck_why[sizeof(((struct cycle_result *)0)->why)];
};

struct daemon {
	struct agent_config cfg;
	const struct agent_opts *o;
	struct slot *slot;
};

static int load(struct daemon *d)
{
	struct agent_config cfg;
	const struct agent_cred *only;
	struct slot *slot;
	int ret = agent_config_load(d->o, &cfg, &only);

	if (ret != AGENT_OK)
		return ret;
	if (only) { /* --name: the daemon of one credential */
		struct agent_cred keep = *only;
		cfg.cred[0] = keep;
		cfg.n = 1;
	}
	if (!(slot = calloc(cfg.n, sizeof(*slot)))) {
		config_free(&cfg);
		agent_err("out of memory");
		return AGENT_FAIL;
	}
	config_free(&d->cfg);
	free(d->slot);
	d->cfg = cfg;
	d->slot = slot;
	return AGENT_OK;
}

/* 1 if the certificate in the directory is not the one the last cycle saw (replaced by hand). */
static int cert_changed(const struct agent_cred *c, const struct slot *s)
{
	char path[sizeof(c->dir) + 16];
	struct cert_info info;

	snprintf(path, sizeof(path), "%s/cert.pem", c->dir);
	if (certcheck_info(path, &info) != 0)
		info.serial[0] = '\0';
	return strcmp(info.serial, s->serial) != 0;
}

static void one_cycle(struct daemon *d, size_t i)
{
	const struct agent_cred *c = &d->cfg.cred[i];
	struct slot *s = &d->slot[i];
	struct cycle_result res;
	char path[sizeof(c->dir) + 16];
	struct cert_info info;
	uint64_t r = 0;
	int64_t now;

	cycle_run(c, CYCLE_IF_DUE, &res);
	s->last = now = cf_now();
	if (res.status == AGENT_FAIL && res.next_local == 0) {
		/* the cycle could not start: the backoff of failures, the line only when new */
		(void)cf_random(&r, sizeof(r));
		s->next = now + schedule_backoff(++s->stuck, r);
		if (strcmp(s->stuck_why, res.why) != 0)
			cycle_log(c, CYCLE_IF_DUE, &res, stderr);
		memcpy(s->stuck_why, res.why, sizeof(s->stuck_why));
	} else {
		cycle_log(c, CYCLE_IF_DUE, &res, stderr);
		s->stuck = 0;
		s->stuck_why[0] = '\0';
		s->next = res.next_local > now ? res.next_local : now + WAKE_MAX;
	}
	snprintf(path, sizeof(path), "%s/cert.pem", c->dir);
	if (certcheck_info(path, &info) != 0)
		info.serial[0] = '\0';
	memcpy(s->serial, info.serial, sizeof(info.serial));
}

/* Seconds to sleep: until the earliest next attempt, at most WAKE_MAX, at least 1. */
static int sleep_for(const struct daemon *d, int64_t now)
{
	int64_t wait = WAKE_MAX;

	for (size_t i = 0; i < d->cfg.n; i++)
		if (d->slot[i].next - now < wait)
			wait = d->slot[i].next - now;
	return wait < 1 ? 1 : (int)wait;
}

int agent_run(const struct agent_opts *o)
{
	struct daemon d = {.o = o};
	sigset_t open;
	int ret;

	if ((ret = load(&d)) != AGENT_OK)
		return ret;
	signals_setup(&open);
	fprintf(stderr, "certflow-agent: running for %zu credential%s\n", d.cfg.n,
		d.cfg.n == 1 ? "" : "s");
	while (!got_stop) {
		int64_t now = cf_now();
		int cycles = 0;

		for (size_t i = 0; i < d.cfg.n && !got_stop; i++) {
			/* due, the clock set back (a plan made by a clock ahead), or replaced */
			if (d.slot[i].next > now && now >= d.slot[i].last &&
			    !cert_changed(&d.cfg.cred[i], &d.slot[i]))
				continue;
			one_cycle(&d, i);
			cycles++;
		}
		if (cycles && (ret = status_write(&d.cfg, cf_now())) != 0)
			agent_err("cannot write the status file %s: %s", d.cfg.status_file,
				  cf_strerror(ret));
		if (got_stop)
			break;
		struct timespec ts = {.tv_sec = sleep_for(&d, cf_now())};
		if (ppoll(NULL, 0, &ts, &open) < 0 && errno != EINTR)
			agent_err("ppoll: %s", strerror(errno));
		if (got_hup) {
			got_hup = 0;
			if (load(&d) == AGENT_OK)
				fprintf(stderr,
					"certflow-agent: configuration reloaded: %zu "
					"credential%s\n",
					d.cfg.n, d.cfg.n == 1 ? "" : "s");
			else
				agent_err("configuration not reloaded: the old one stays");
		}
		if (got_usr1) { /* re-plan at once: a cycle for every credential */
			got_usr1 = 0;
			for (size_t i = 0; i < d.cfg.n; i++)
				d.slot[i].next = 0;
		}
	}
	fprintf(stderr, "certflow-agent: stopped\n");
	config_free(&d.cfg);
	free(d.slot);
	return AGENT_OK;
}
