/*
 * cycle — one renewal cycle of one credential (cycle.h), and the `renew` command over them.
 *
 * Order of a cycle: DIR/account.json → flock DIR/.lock (a second agent skips) → DIR/state.json
 * and DIR/cert.pem, read again every time (a certificate replaced by hand starts a new plan) →
 * an install left in DIR/pending/ is finished → the clock (spec/cli.md "Clocks") → the server's
 * window (renewal-info; without it the one kept, or the last third of the lifetime) → the
 * decision (schedule.h) → renewal → hook → DIR/state.json.
 *
 * Never: let a failure pass as success, retry sooner than the backoff says, or write state in a
 * dry run.
 */
#include "cycle.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cf_clock.h"
#include "cf_err.h"
#include "install.h"
#include "keyfile.h"
#include "schedule.h"
#include "state.h"

/* Everything one cycle works with. */
struct cycle {
	const struct agent_cred *cred;
	enum cycle_mode mode;
	struct cycle_result *res;
	struct account a;
	struct agent_state st;
	struct cert_info cert;
	int have_cert;
	int lock; /* fd of DIR/.lock, -1 if not held */
	client *c;
	cf_key *akey;
	int64_t local; /* cf_now() at the start */
	int64_t now;   /* the time decided by */
	int64_t poll;  /* renewal-info's Retry-After */
	int got_window;
};

static uint64_t random64(void)
{
	uint64_t r = 0;

	(void)cf_random(&r, sizeof(r));
	return r;
}

/* flock DIR/.lock without waiting: 0, or -1 (busy: another agent holds it; or an error). */
static int lock_take(struct cycle *x)
{
	x->lock = agent_lock(x->cred->dir, x->cred->name);
	return x->lock >= 0 ? 0 : -1;
}

static void read_cert(struct cycle *x)
{
	char path[PATH_MAX + 16];

	snprintf(path, sizeof(path), "%s/cert.pem", x->cred->dir);
	x->have_cert = certcheck_info(path, &x->cert) == 0;
	if (!x->have_cert)
		memset(&x->cert, 0, sizeof(x->cert));
}

/* The plan is for one certificate: another one (renewed, or replaced by hand) starts afresh. */
static void plan_for_cert(struct cycle *x)
{
	if (!x->have_cert || strcmp(x->st.serial, x->cert.serial) == 0)
		return;
	snprintf(x->st.serial, sizeof(x->st.serial), "%s", x->cert.serial);
	x->st.window_start = x->st.window_end = x->st.planned_at = 0;
	x->st.failures = 0;
	x->st.next_attempt = 0;
	x->st.last_error[0] = '\0';
}

/* The window: the server's (a new one gets a new random moment), else the one kept, else the
 * last third of the certificate's lifetime. */
static void plan_window(struct cycle *x)
{
	int64_t ws = 0, we = 0;

	x->poll = 0;
	x->got_window = x->c && x->a.renewal_info[0] &&
			renew_window(x->c, x->a.renewal_info, &ws, &we, &x->poll) == 0;
	if (!x->got_window) {
		if (x->st.window_end || !x->have_cert)
			return;
		schedule_fallback(x->cert.not_before, x->cert.not_after, &ws, &we);
	}
	if (ws == x->st.window_start && we == x->st.window_end && x->st.planned_at)
		return;
	x->st.window_start = ws;
	x->st.window_end = we;
	x->st.planned_at = schedule_plan(ws, we, x->cert.not_before, x->cert.not_after, random64());
}

static struct sched_input sched_in(const struct cycle *x)
{
	return (struct sched_input){.now = x->now,
				    .not_before = x->cert.not_before,
				    .not_after = x->cert.not_after,
				    .window_start = x->st.window_start,
				    .window_end = x->st.window_end,
				    .planned = x->st.planned_at,
				    .failures = x->st.failures,
				    .next_attempt = x->st.next_attempt};
}

/* Connect, with the clock rules: a device clock before the build time (or before the start of
 * its own certificate) is clearly wrong; then the server's chain is verified without its time
 * validity and the server's Date is the time. */
static int connect_and_clock(struct cycle *x)
{
	struct client_problem prob;
	int64_t floor = agent_build_time();
	int ret, wrong;

	if (x->have_cert && x->cert.not_before > floor)
		floor = x->cert.not_before;
	wrong = x->local < floor;
	if ((ret = agent_account_key(x->cred->dir, 0, &x->akey)) != 0) {
		agent_err("account key %s/account.key: %s", x->cred->dir, cf_strerror(ret));
		return -1;
	}
	if ((ret = client_new(x->a.server, x->a.ca, &x->c)) != 0) {
		agent_err("cannot use server %s: %s", x->a.server, cf_strerror(ret));
		return -1;
	}
	client_ignore_cert_time(x->c, wrong);
	plan_window(x);
	if (wrong && !client_server_date(x->c) && client_directory(x->c, &prob) != 0) {
		char t[21];
		cf_time_format(x->local, t);
		agent_err(
		    "the device's clock (%s) is clearly wrong and %s cannot tell the time: %s", t,
		    x->a.server, prob.detail);
		return -1;
	}
	x->now = renew_now(x->c, x->local, wrong);
	return 0;
}

static void set_next(struct cycle *x, int64_t next)
{
	x->st.next_attempt = next;
	x->res->next = next;
	x->res->next_local = x->local + (next - x->now);
}

static void failed(struct cycle *x, const char *retry_after)
{
	int64_t delay = schedule_retry_after(retry_after, x->now);

	x->st.failures++;
	if (!delay)
		delay = schedule_backoff(x->st.failures, random64());
	snprintf(x->st.last_error, sizeof(x->st.last_error), "%s", x->res->why);
	set_next(x, x->now + delay);
	x->res->status = AGENT_FAIL;
}

/* Renewed (or a pending install finished): hook, then a plan for the new certificate. */
static void renewed(struct cycle *x)
{
	struct sched_input in;
	char why[256] = "";

	x->res->status = AGENT_OK;
	x->st.last_success = x->now;
	x->st.last_error[0] = '\0';
	if (hook_run(x->cred, &x->res->issued, why, sizeof(why)) != 0) {
		x->res->hook_failed = 1;
		snprintf(x->res->why, sizeof(x->res->why), "%s", why);
		snprintf(x->st.last_error, sizeof(x->st.last_error), "%s", why);
	}
	read_cert(x);
	plan_for_cert(x);
	plan_window(x);
	in = sched_in(x);
	set_next(x, schedule_next(&in, SCHED_NOT_DUE, x->poll));
}

/* The server says the window is not open: it knows best; its retryAfter is the window start. */
static void server_not_due(struct cycle *x, const char *retry_after)
{
	int64_t delay = schedule_retry_after(retry_after, x->now), start = x->now + delay;
	struct sched_input in;
	char t[21];

	if (delay && start > x->st.window_start) {
		x->st.window_start = start;
		if (x->st.window_end < start)
			x->st.window_end = start;
		x->st.planned_at = schedule_plan(start, x->st.window_end, x->cert.not_before,
						 x->cert.not_after, random64());
	}
	cf_time_format(x->st.window_start, t);
	snprintf(x->res->why, sizeof(x->res->why),
		 "renewal not due: the renewal window opens at %s",
		 retry_after[0] ? t : "(unknown)");
	in = sched_in(x);
	set_next(x, schedule_next(&in, SCHED_NOT_DUE, x->poll));
	x->res->status = AGENT_NOT_DUE;
}

/* Due or not, by mode; for a dry run (and the log) why says it. */
static int decide(struct cycle *x)
{
	struct sched_input in = sched_in(x);
	enum sched_reason r;
	char t[21];

	if (x->mode == CYCLE_FORCE)
		return 1;
	if (!x->have_cert) {
		snprintf(x->res->why, sizeof(x->res->why), "due: no certificate in %.400s: now",
			 x->cred->dir);
		return 1;
	}
	if (x->mode == CYCLE_WINDOW) {
		/* without the server's window, the renew request itself is the question */
		if (!x->got_window || x->now >= x->st.window_start)
			return 1;
		cf_time_format(x->st.window_start, t);
		snprintf(x->res->why, sizeof(x->res->why),
			 "renewal not due: the renewal window opens at %s", t);
		set_next(x, schedule_next(&in, SCHED_NOT_DUE, x->poll));
		return 0;
	}
	r = schedule_due(&in);
	schedule_explain(&in, r, x->res->why, sizeof(x->res->why));
	if (!schedule_is_due(r))
		set_next(x, schedule_next(&in, r, x->poll));
	return schedule_is_due(r);
}

static void cycle_body(struct cycle *x)
{
	char retry_after[64] = "";
	int ret;

	if ((ret = account_load(x->cred->dir, &x->a)) != 0) {
		agent_err("no enrolment in %s (account.json: %s)", x->cred->dir, cf_strerror(ret));
		return;
	}
	if (x->mode != CYCLE_DRY_RUN && lock_take(x) != 0)
		return;
	(void)state_load(x->cred->dir, &x->st);
	read_cert(x);
	plan_for_cert(x);
	x->now = x->local;
	/* an encrypted key.pem: its password opens it here, before the server is asked anything;
	 * new keys (and pending/key.pem) are then written and read under it (keyfile.h) */
	if (x->mode != CYCLE_DRY_RUN &&
	    (ret = keyfile_unlock(x->cred->dir, x->cred->password_file, 0)) != AGENT_OK) {
		char detail[sizeof(x->res->why)];

		snprintf(detail, sizeof(detail), "%s", x->res->why);
		snprintf(x->res->why, sizeof(x->res->why), "%s: %.400s",
			 ret == AGENT_USAGE ? "key password refused"
					    : "key password wrong or missing",
			 detail);
		failed(x, "");
		return;
	}
	if (x->mode != CYCLE_DRY_RUN) {
		ret = agent_resume_pending(x->cred->dir, &x->a, &x->res->issued);
		if (ret != AGENT_NOT_DUE) {
			if (ret == AGENT_OK)
				renewed(x);
			else
				failed(x, "");
			return;
		}
	}
	if (connect_and_clock(x) != 0) {
		if (x->mode != CYCLE_DRY_RUN)
			failed(x, "");
		return;
	}
	if (!decide(x)) {
		x->res->status = AGENT_NOT_DUE;
		return;
	}
	if (x->mode == CYCLE_DRY_RUN) {
		x->res->status = AGENT_OK;
		return;
	}
	x->st.last_attempt = x->now;
	x->res->why[0] = '\0';
	ret = renew_request(x->c, x->cred, &x->a, x->akey, &x->res->issued, retry_after);
	if (ret == AGENT_OK)
		renewed(x);
	else if (ret == AGENT_NOT_DUE)
		server_not_due(x, retry_after);
	else
		failed(x, retry_after);
}

/* DIR/state.json could not be written: the cycle failed, whatever it did (never a success with
 * a state that a crash may lose). */
static void state_failed(struct cycle *x, int err)
{
	char done[110] = "";

	if (x->res->status == AGENT_OK && x->mode != CYCLE_DRY_RUN)
		snprintf(done, sizeof(done), "renewed serial %s, but ", x->res->issued.serial);
	snprintf(x->res->why, sizeof(x->res->why), "%.110scannot write %.300s/state.json: %.60s",
		 done, x->cred->dir, cf_strerror(err));
	x->res->status = AGENT_FAIL;
	x->res->hook_failed = 0;
}

void cycle_run(const struct agent_cred *cred, enum cycle_mode mode, struct cycle_result *res)
{
	struct cycle x = {.cred = cred, .mode = mode, .res = res, .lock = -1};
	int ret;

	memset(res, 0, sizeof(*res));
	res->status = AGENT_FAIL;
	x.local = x.now = cf_now();
	agent_err_capture(res->why, sizeof(res->why));
	cycle_body(&x);
	agent_err_capture(NULL, 0);
	keyfile_lock();
	if (x.lock >= 0) { /* the state is ours to write only while we hold the lock */
		if ((ret = state_save(cred->dir, &x.st)) != 0)
			state_failed(&x, ret);
		close(x.lock);
	}
	client_free(x.c);
	cf_key_free(x.akey);
}

void cycle_log(const struct agent_cred *cred, enum cycle_mode mode, const struct cycle_result *res,
	       FILE *out)
{
	char t[21];

	cf_time_format(res->next, t);
	if (mode == CYCLE_DRY_RUN && res->status != AGENT_FAIL)
		fprintf(out, "certflow-agent: %s: %s\n", cred->name, res->why);
	else if (res->status == AGENT_OK)
		fprintf(out, "certflow-agent: %s: renewed serial %s notAfter %s\n", cred->name,
			res->issued.serial, res->issued.not_after);
	else if (res->status == AGENT_NOT_DUE)
		fprintf(out, "certflow-agent: %s: not due, next attempt %s\n", cred->name, t);
	else if (res->next)
		fprintf(stderr, "certflow-agent: %s: failed: %s, retry at %s\n", cred->name,
			res->why, t);
	else
		fprintf(stderr, "certflow-agent: %s: failed: %s\n", cred->name, res->why);
	if (res->status == AGENT_OK && res->hook_failed)
		fprintf(stderr, "certflow-agent: %s: hook failed: %s\n", cred->name, res->why);
	fflush(out);
	fflush(stderr);
}

/* ---- the commands over cycles ---- */

int agent_config_load(const struct agent_opts *o, struct agent_config *cfg,
		      const struct agent_cred **only)
{
	char err[600];
	int ret;

	*only = NULL;
	if (o->dir && o->config) {
		agent_err("give --config FILE or --dir DIR, not both");
		return AGENT_USAGE;
	}
	if (o->dir && o->name) {
		agent_err("--name picks a credential of --config");
		return AGENT_USAGE;
	}
	if (o->dir) {
		if ((ret = config_from_dir(o->dir, cfg)) == 0 && o->password_file)
			snprintf(cfg->cred[0].password_file, sizeof(cfg->cred[0].password_file),
				 "%s", o->password_file);
	} else
		ret = config_load(o->config ? o->config : AGENT_CONFIG_DEFAULT, cfg, err,
				  sizeof(err));
	if (ret != 0) {
		agent_err("%s", ret == CF_ENOMEM ? "out of memory" : err);
		return AGENT_USAGE;
	}
	if (o->name && !(*only = config_find(cfg, o->name))) {
		agent_err("%s: no [credential %s]", cfg->path, o->name);
		config_free(cfg);
		return AGENT_USAGE;
	}
	return AGENT_OK;
}

/* `renew --dir DIR` without --if-due: the lines it has always printed. */
static void compat_log(const struct cycle_result *res)
{
	if (res->status == AGENT_OK)
		printf("certflow-agent: renewed: serial %s, valid until %s\n", res->issued.serial,
		       res->issued.not_after);
	else
		fprintf(stderr, "certflow-agent: %s\n", res->why);
	fflush(stdout);
}

int agent_renew(const struct agent_opts *o)
{
	struct agent_config cfg;
	const struct agent_cred *only;
	struct cycle_result res;
	enum cycle_mode mode = o->dry_run  ? CYCLE_DRY_RUN
			       : o->force  ? CYCLE_FORCE
			       : o->if_due ? CYCLE_IF_DUE
					   : CYCLE_WINDOW;
	int compat = o->dir && !o->if_due && !o->dry_run, ok = 0, failed = 0, ret;

	if ((ret = agent_config_load(o, &cfg, &only)) != AGENT_OK)
		return ret;
	for (size_t i = 0; i < cfg.n; i++) {
		if (only && only != &cfg.cred[i])
			continue;
		cycle_run(&cfg.cred[i], mode, &res);
		if (compat)
			compat_log(&res);
		else
			cycle_log(&cfg.cred[i], mode, &res, stdout);
		ok += res.status == AGENT_OK;
		failed += res.status == AGENT_FAIL || res.hook_failed;
	}
	if (mode != CYCLE_DRY_RUN && (ret = status_write(&cfg, cf_now())) != 0) {
		agent_err("cannot write the status file %s: %s", cfg.status_file, cf_strerror(ret));
		failed++;
	}
	config_free(&cfg);
	if (failed)
		return AGENT_FAIL;
	return ok ? AGENT_OK : AGENT_NOT_DUE;
}

int agent_status(const struct agent_opts *o)
{
	struct agent_config cfg, one;
	const struct agent_cred *only;
	int ret;

	if ((ret = agent_config_load(o, &cfg, &only)) != AGENT_OK)
		return ret;
	one = cfg;
	if (only) {
		one.n = 1;
		one.cred = (struct agent_cred *)only;
	}
	ret = status_print(&one, o->json, cf_now());
	config_free(&cfg);
	return ret;
}

int agent_enrol_named(const struct agent_opts *o)
{
	struct agent_config cfg;
	const struct agent_cred *c;
	struct agent_opts e = *o;
	struct agent_issued is;
	struct cert_info info;
	char path[PATH_MAX + 16], why[256];
	int ret;

	if ((ret = agent_config_load(o, &cfg, &c)) != AGENT_OK)
		return ret;
	if (!c->server[0] || !c->ca[0]) {
		agent_err("%s: [credential %s] needs server and ca to enrol", cfg.path, c->name);
		config_free(&cfg);
		return AGENT_USAGE;
	}
	e.server = c->server;
	e.ca = c->ca;
	e.dir = c->dir;
	if (c->key_type && o->key_type == CF_KEY_P256 && !o->key_bits)
		e.key_type = c->key_type, e.key_bits = c->key_bits;
	if (!e.password_file && c->password_file[0])
		e.password_file = c->password_file;
	ret = agent_enrol(&e);
	snprintf(path, sizeof(path), "%s/cert.pem", c->dir);
	if (ret == AGENT_OK && c->hook[0] && certcheck_info(path, &info) == 0) {
		memset(&is, 0, sizeof(is));
		memcpy(is.serial, info.serial, sizeof(is.serial));
		cf_time_format(info.not_after, is.not_after);
		if (hook_run(c, &is, why, sizeof(why)) != 0) {
			agent_err("%s: hook failed: %s", c->name, why);
			ret = AGENT_FAIL;
		}
	}
	config_free(&cfg);
	return ret;
}
