/*
 * cycle — one renewal cycle of one credential (spec/cli.md "renew", "run"): lock, state from
 * disk, the clock, the server's window, the decision, the renewal, the hook, the state back to
 * disk. The commands renew, renew --if-due, --dry-run and run are loops over it.
 */
#ifndef CYCLE_H
#define CYCLE_H

#include <stdint.h>
#include <stdio.h>

#include "agent.h"
#include "client.h"
#include "config.h"

enum cycle_mode {
	CYCLE_WINDOW,  /* renew: as soon as the server's window is open */
	CYCLE_FORCE,   /* renew --force: ask the server now */
	CYCLE_IF_DUE,  /* renew --if-due and run: the schedule (schedule.h) */
	CYCLE_DRY_RUN, /* renew --if-due --dry-run: say whether and why; change nothing */
};

struct cycle_result {
	int status;	 /* AGENT_OK (renewed; dry run: due), AGENT_NOT_DUE, AGENT_FAIL */
	int hook_failed; /* renewed, but the hook failed (why says how) */
	struct agent_issued issued; /* AGENT_OK, not dry run */
	int64_t next_local;	    /* the next attempt by cf_now(), 0 if unknown */
	int64_t next;  /* the same by the time the decision used (server's if skewed) */
	char why[512]; /* the error; for not due and dry runs, the explanation */
};

/* One cycle of cred in mode. Prints nothing: res says what happened (cycle_log prints it). */
void cycle_run(const struct agent_cred *cred, enum cycle_mode mode, struct cycle_result *res);

/* The cycle's line(s): "certflow-agent: NAME: renewed serial S notAfter T" (to out),
 * "NAME: not due, next attempt T" (to out), "NAME: failed: ERR, retry at T" (stderr),
 * "NAME: hook failed: ..." (stderr); dry runs: "NAME: due: ..." / "NAME: not due: ..." (out). */
void cycle_log(const struct agent_cred *cred, enum cycle_mode mode, const struct cycle_result *res,
	       FILE *out);

/* The credentials the options name: --config FILE (default AGENT_CONFIG_DEFAULT) or --dir DIR
 * alone; with --name NAME, *only is that one (else NULL: all). AGENT_OK, or AGENT_USAGE with the
 * reason printed (a bad or unreadable configuration file is a usage error). */
int agent_config_load(const struct agent_opts *o, struct agent_config *cfg,
		      const struct agent_cred **only);

/* ---- the pieces (renew.c) ---- */

/* The server's renewal window for the certificate of url (GET renewal-info): 0 with *start,
 * *end and *poll (its Retry-After in seconds, 0 if none); a negative code otherwise. Prints
 * nothing. */
int renew_window(client *c, const char *url, int64_t *start, int64_t *end, int64_t *poll);

/* The time to decide by: the server's Date when the device clock is clearly wrong (wrong != 0)
 * or more than a day away from it; else local. */
int64_t renew_now(client *c, int64_t local, int wrong);

/* Ask for a new certificate with a new key (cred's key_type, else the current key's type) and
 * install it (agent_install). AGENT_OK with *out; AGENT_NOT_DUE (notInRenewalWindow) and
 * AGENT_FAIL with retry_after set to the server's Retry-After ("" if none); errors through
 * agent_err. */
int renew_request(client *c, const struct agent_cred *cred, struct account *a, const cf_key *akey,
		  struct agent_issued *out, char retry_after[64]);

/* ---- hook.c ---- */

/* Run cred's hook after the installation of is (spec/cli.md "Hook"): no shell, argv split on
 * spaces, environment CERTFLOW_NAME, _DIR, _KEY, _CERT, _CHAIN, _SERIAL, _NOT_AFTER,
 * _PREVIOUS_SERIAL; its standard output and error go to the agent's standard error. 0 if it
 * exited 0 (or there is no hook); else CF_EIO with why filled. At most 5 minutes, then killed. */
int hook_run(const struct agent_cred *cred, const struct agent_issued *is, char *why,
	     size_t why_len);

/* ---- buildtime.c ---- */

/* The agent's build time (Unix seconds): a clock before it is clearly wrong. */
int64_t agent_build_time(void);

#endif
