/*
 * schedule — when to renew (schedule.h). Pure: the caller reads clocks, files and the CSPRNG.
 *
 * Never: return a wait shorter than a minute or longer than a day after a failure, or keep an
 * agent from renewing a certificate that is about to expire for any reason but a backoff.
 */
#include "schedule.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_clock.h"

int64_t schedule_pick(int64_t start, int64_t end, uint64_t r)
{
	uint64_t span;

	if (end <= start)
		return start;
	span = (uint64_t)(end - start) + 1;
	/* the modulo bias of a 64-bit value over a span of years is below 2^-30: negligible */
	return start + (int64_t)(r % span);
}

void schedule_fallback(int64_t not_before, int64_t not_after, int64_t *start, int64_t *end)
{
	int64_t life = not_after > not_before ? not_after - not_before : 0;

	*start = not_after - life / 3;
	*end = not_after;
}

/* How long before notAfter renewal is due whatever the window says. */
static int64_t expiry_margin(int64_t not_before, int64_t not_after)
{
	int64_t margin = (not_after - not_before) / 10;

	return margin < SCHED_NEAR_EXPIRY ? SCHED_NEAR_EXPIRY : margin;
}

int64_t schedule_plan(int64_t start, int64_t end, int64_t not_before, int64_t not_after, uint64_t r)
{
	int64_t urgent = not_after - expiry_margin(not_before, not_after);

	if (not_after > 0 && end > urgent && urgent > start)
		end = urgent;
	return schedule_pick(start, end, r);
}

/* The reasons of a due renewal that do not depend on the chosen moment. */
static enum sched_reason urgency(const struct sched_input *in)
{
	int64_t margin = expiry_margin(in->not_before, in->not_after);

	if (in->not_after > 0 && in->now >= in->not_after)
		return SCHED_DUE_EXPIRED;
	if (in->not_after > 0 && in->not_after - in->now < margin)
		return SCHED_DUE_EXPIRING;
	if (in->window_end > 0 && in->now >= in->window_end)
		return SCHED_DUE_WINDOW_END;
	if (in->planned > 0 && in->now >= in->planned)
		return SCHED_DUE_PLANNED;
	return SCHED_NOT_DUE;
}

enum sched_reason schedule_due(const struct sched_input *in)
{
	enum sched_reason r = urgency(in);

	if (schedule_is_due(r) && in->failures > 0 && in->now < in->next_attempt)
		return SCHED_BACKING_OFF;
	return r;
}

int64_t schedule_clamp(int64_t secs)
{
	if (secs < SCHED_RETRY_MIN)
		return SCHED_RETRY_MIN;
	return secs > SCHED_RETRY_MAX ? SCHED_RETRY_MAX : secs;
}

int64_t schedule_backoff(unsigned failures, uint64_t r)
{
	int64_t ceiling = SCHED_RETRY_MIN;

	for (unsigned i = 1; i < failures && ceiling < SCHED_RETRY_MAX; i++)
		ceiling *= 2;
	if (ceiling > SCHED_RETRY_MAX)
		ceiling = SCHED_RETRY_MAX;
	return schedule_pick(SCHED_RETRY_MIN, ceiling, r);
}

int64_t schedule_retry_after(const char *s, int64_t now)
{
	int64_t t;
	char *end;
	long long v;

	if (!s || !*s)
		return 0;
	if (strspn(s, "0123456789") == strlen(s)) {
		v = strtoll(s, &end, 10);
		return schedule_clamp(v);
	}
	if (cf_time_parse(s, &t) == 0)
		return schedule_clamp(t - now);
	return 0;
}

int64_t schedule_next(const struct sched_input *in, enum sched_reason r, int64_t poll)
{
	int64_t next;

	if (r == SCHED_BACKING_OFF || (in->failures > 0 && in->next_attempt > in->now))
		return in->next_attempt;
	next = in->now + (poll > 0 ? schedule_clamp(poll) : SCHED_POLL_DEFAULT);
	if (in->planned > in->now && in->planned < next)
		next = in->planned;
	return next;
}

static long days_until(int64_t now, int64_t t)
{
	return (long)((t - now) / 86400);
}

void schedule_explain(const struct sched_input *in, enum sched_reason r, char *buf, size_t cap)
{
	char a[21], b[21], na[21];
	long left = days_until(in->now, in->not_after);

	cf_time_format(in->not_after, na);
	switch (r) {
	case SCHED_NOT_DUE:
		cf_time_format(in->window_start, a);
		cf_time_format(in->planned, b);
		snprintf(buf, cap, "not due: %s %s, planned %s, %ld days left",
			 in->now < in->window_start ? "window opens" : "inside window since", a, b,
			 left);
		break;
	case SCHED_BACKING_OFF:
		cf_time_format(in->next_attempt, a);
		snprintf(buf, cap, "not due: retry after %u failed attempt%s at %s, %ld days left",
			 in->failures, in->failures == 1 ? "" : "s", a, left);
		break;
	case SCHED_DUE_PLANNED:
		cf_time_format(in->planned, a);
		cf_time_format(in->window_start, b);
		snprintf(buf, cap, "due: inside window since %s, planned %s, %ld days left", b, a,
			 left);
		break;
	case SCHED_DUE_WINDOW_END:
		cf_time_format(in->window_end, a);
		snprintf(buf, cap, "due: the window ended at %s, %ld days left", a, left);
		break;
	case SCHED_DUE_EXPIRING:
		snprintf(buf, cap, "due: expires in %ld day%s (%s): now", left,
			 left == 1 ? "" : "s", na);
		break;
	case SCHED_DUE_EXPIRED:
		snprintf(buf, cap, "due: expired at %s: now", na);
		break;
	}
}
