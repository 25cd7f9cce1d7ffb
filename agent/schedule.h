/*
 * schedule — when the agent renews (spec/cli.md "When renewal is due"): pure functions of the
 * certificate's lifetime, the server's renewal window, the moment chosen in it, the failures so
 * far and the time now. No I/O, no clock, no randomness of their own (the caller passes random
 * numbers), so that every rule is unit-tested (agent/tests/test_agent_schedule.c).
 */
#ifndef SCHEDULE_H
#define SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

#define SCHED_RETRY_MIN 60	 /* Retry-After and backoff floor: 1 minute */
#define SCHED_RETRY_MAX 86400	 /* Retry-After and backoff cap: 1 day */
#define SCHED_POLL_DEFAULT 21600 /* renewal-info re-read without Retry-After: 6 hours */
#define SCHED_NEAR_EXPIRY 172800 /* at least this much before notAfter: 2 days */

/* Why renewal is due or not. */
enum sched_reason {
	SCHED_NOT_DUE = 0,    /* before the chosen moment */
	SCHED_BACKING_OFF,    /* due, but waiting after a failure (nextAttempt) */
	SCHED_DUE_PLANNED,    /* the chosen moment has come */
	SCHED_DUE_WINDOW_END, /* the window's end has passed */
	SCHED_DUE_EXPIRING,   /* less than 1/10 of the lifetime (or 2 days) left */
	SCHED_DUE_EXPIRED,    /* notAfter has passed */
};

/* What the schedule looks at. Times are Unix seconds. */
struct sched_input {
	int64_t now;
	int64_t not_before, not_after; /* the current certificate */
	int64_t window_start, window_end;
	int64_t planned;      /* the moment chosen in the window */
	unsigned failures;    /* consecutive failed attempts */
	int64_t next_attempt; /* with failures > 0: not before this */
};

/* A uniformly random moment in [start, end] from the random value r (start if end <= start). */
int64_t schedule_pick(int64_t start, int64_t end, uint64_t r);

/* The moment to renew at in the window [start, end] of a certificate valid [not_before,
 * not_after]: uniformly random, but before the last max(lifetime / 10, 2 days), when renewal is
 * due anyway, if the window reaches further. */
int64_t schedule_plan(int64_t start, int64_t end, int64_t not_before, int64_t not_after,
		      uint64_t r);

/* The fallback window without renewal-info: the last third of [not_before, not_after]. */
void schedule_fallback(int64_t not_before, int64_t not_after, int64_t *start, int64_t *end);

/* 1 if renewal is due now (reason ≥ SCHED_DUE_PLANNED), with the reason. Due at once when the
 * chosen moment has come, the window's end has passed, or less than max(lifetime / 10, 2 days)
 * is left; but never before next_attempt after a failure. */
enum sched_reason schedule_due(const struct sched_input *in);
static inline int schedule_is_due(enum sched_reason r)
{
	return r >= SCHED_DUE_PLANNED;
}

/* Seconds clamped to [SCHED_RETRY_MIN, SCHED_RETRY_MAX]. */
int64_t schedule_clamp(int64_t secs);

/* Seconds to wait after the failures-th consecutive failure (failures ≥ 1): full jitter over
 * [60 s, min(1 day, 60 s · 2^(failures−1))] from the random value r. */
int64_t schedule_backoff(unsigned failures, uint64_t r);

/* A Retry-After value (delay-seconds, or an RFC 3339 time as problem documents carry it) as
 * seconds from now, clamped; 0 if s is empty or neither form. */
int64_t schedule_retry_after(const char *s, int64_t now);

/* When the next cycle should look again while renewal is not due: the chosen moment, but no
 * later than now + poll (the renewal-info's Retry-After clamped, or SCHED_POLL_DEFAULT when
 * poll is 0); after a failure, next_attempt. */
int64_t schedule_next(const struct sched_input *in, enum sched_reason r, int64_t poll);

/* One line saying whether renewal is due and why, for --dry-run and the logs, e.g. "not due:
 * window opens 2026-08-21T10:00:00Z, planned 2026-09-02T07:13:00Z, 41 days left" or "due: expires
 * in 2 days (2026-11-06T10:00:00Z)". */
void schedule_explain(const struct sched_input *in, enum sched_reason r, char *buf, size_t cap);

#endif
