/*
 * state — what the agent remembers between cycles, per credential (DIR/state.json), and what it
 * tells monitoring: the status file and `certflow-agent status` (spec/cli.md).
 */
#ifndef STATE_H
#define STATE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* DIR/state.json. Times are Unix seconds, 0 for "never"/"unknown". */
struct agent_state {
	char serial[65];      /* the certificate the plan was made for */
	int64_t window_start; /* the renewal window the moment was chosen in */
	int64_t window_end;
	int64_t planned_at;   /* the moment chosen in it */
	unsigned failures;    /* consecutive failed attempts */
	int64_t next_attempt; /* when the next cycle looks (after failures: not before) */
	int64_t last_attempt; /* last renewal request */
	int64_t last_success; /* last renewal (or enrolment) installed */
	char last_error[512]; /* "" if the last cycle succeeded */
};

/* Read DIR/state.json into st. A missing or unreadable file gives a zeroed st (a fresh plan) and
 * still returns 0; CF_EMALFORMED is returned (st zeroed) for a damaged one, which the caller may
 * log. */
int state_load(const char *dir, struct agent_state *st);
/* Write DIR/state.json atomically. 0 or CF_EIO / CF_ENOMEM. */
int state_save(const char *dir, const struct agent_state *st);

/* Write the status file of cfg (cfg->status_file; nothing if "") atomically, as of now. */
int status_write(const struct agent_config *cfg, int64_t now);

/* `certflow-agent status`: one block per credential on stdout, or (json) the status file's
 * document. Returns an enum agent_exit: 0, or 1 if any credential is failing or expired. */
int status_print(const struct agent_config *cfg, int json, int64_t now);

#endif
