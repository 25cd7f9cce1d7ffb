/*
 * test_agent_schedule — when the agent renews (agent/schedule.c): the moment in the window, the
 * due rules, Retry-After clamping, backoff with jitter, and the --dry-run explanations.
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "schedule.h"

#define DAY 86400
#define T0 1800000000LL /* 2027-01-15 */

/* A one-year certificate from T0 whose window is its last third, planned in the middle. */
static struct sched_input year_cert(int64_t now)
{
	struct sched_input in = {.now = now, .not_before = T0, .not_after = T0 + 365 * DAY};

	schedule_fallback(in.not_before, in.not_after, &in.window_start, &in.window_end);
	in.planned = in.window_start + 60 * DAY;
	return in;
}

static void test_picked_moment_stays_inside_the_window(void)
{
	uint64_t rs[] = {0, 1, 12345, 0x7fffffffffffffffULL, 0xffffffffffffffffULL};

	for (size_t i = 0; i < sizeof(rs) / sizeof(rs[0]); i++) {
		int64_t t = schedule_pick(T0, T0 + 30 * DAY, rs[i]);
		CHECK(t >= T0 && t <= T0 + 30 * DAY);
	}
	CHECK_EQ_INT(schedule_pick(T0, T0 + 10, 0), T0);
	CHECK_EQ_INT(schedule_pick(T0, T0 + 10, 10), T0 + 10);
	CHECK_EQ_INT(schedule_pick(T0, T0 + 10, 11), T0);
	/* an empty or reversed window is its start */
	CHECK_EQ_INT(schedule_pick(T0, T0, 99), T0);
	CHECK_EQ_INT(schedule_pick(T0, T0 - 5, 99), T0);
}

static void test_picked_moments_spread_over_the_whole_window(void)
{
	int buckets[10] = {0};
	uint64_t r = 0x9e3779b97f4a7c15ULL;

	for (int i = 0; i < 10000; i++) {
		r ^= r << 13, r ^= r >> 7, r ^= r << 17; /* xorshift: any spread-out sequence */
		int64_t t = schedule_pick(0, 999, r);
		buckets[t / 100]++;
	}
	for (int b = 0; b < 10; b++)
		CHECK(buckets[b] > 800 && buckets[b] < 1200);
}

static void test_planned_moment_comes_before_the_last_tenth_of_the_lifetime(void)
{
	int64_t s, e, urgent = T0 + 365 * DAY - 365 * DAY / 10;

	schedule_fallback(T0, T0 + 365 * DAY, &s, &e);
	for (uint64_t r = 0; r < 100000; r += 997) {
		int64_t t = schedule_plan(s, e, T0, T0 + 365 * DAY, r * 0x9e3779b97f4a7c15ULL);
		CHECK(t >= s && t <= urgent);
	}
	CHECK_EQ_INT(schedule_plan(s, e, T0, T0 + 365 * DAY, (uint64_t)(urgent - s)), urgent);
	/* a window entirely in the last tenth: the window as it is */
	CHECK_EQ_INT(schedule_plan(urgent + 10, urgent + 20, T0, T0 + 365 * DAY, 10), urgent + 20);
}

static void test_fallback_window_is_the_last_third_of_the_lifetime(void)
{
	int64_t s, e;

	schedule_fallback(T0, T0 + 300 * DAY, &s, &e);
	CHECK_EQ_INT(s, T0 + 200 * DAY);
	CHECK_EQ_INT(e, T0 + 300 * DAY);
}

static void test_not_due_before_the_planned_moment(void)
{
	struct sched_input in = year_cert(T0 + 100 * DAY);

	CHECK_EQ_INT(schedule_due(&in), SCHED_NOT_DUE);
	in.now = in.window_start + DAY; /* inside the window, before the moment */
	CHECK_EQ_INT(schedule_due(&in), SCHED_NOT_DUE);
	CHECK(!schedule_is_due(SCHED_NOT_DUE));
}

static void test_due_once_the_planned_moment_has_come(void)
{
	struct sched_input in = year_cert(0);

	in.now = in.planned;
	CHECK_EQ_INT(schedule_due(&in), SCHED_DUE_PLANNED);
	CHECK(schedule_is_due(SCHED_DUE_PLANNED));
}

static void test_due_at_once_when_the_window_has_passed(void)
{
	struct sched_input in = year_cert(0);

	in.window_end = T0 + 300 * DAY;
	in.planned = in.window_end + DAY; /* a moment kept from an older, longer window */
	in.now = in.window_end;
	CHECK_EQ_INT(schedule_due(&in), SCHED_DUE_WINDOW_END);
}

static void test_due_at_once_when_a_tenth_of_the_lifetime_is_left(void)
{
	struct sched_input in = year_cert(0);

	in.window_start = in.window_end = in.planned = 0; /* the server said nothing */
	in.now = in.not_after - 365 * DAY / 10 + 1;
	CHECK_EQ_INT(schedule_due(&in), SCHED_DUE_EXPIRING);
	in.now -= 2;
	CHECK_EQ_INT(schedule_due(&in), SCHED_NOT_DUE);
	in.now = in.not_after;
	CHECK_EQ_INT(schedule_due(&in), SCHED_DUE_EXPIRED);
}

static void test_short_certificates_are_due_two_days_before_expiry(void)
{
	struct sched_input in = {.not_before = T0, .not_after = T0 + 7 * DAY};

	in.now = in.not_after - 2 * DAY - 1;
	CHECK_EQ_INT(schedule_due(&in), SCHED_NOT_DUE);
	in.now += 2;
	CHECK_EQ_INT(schedule_due(&in), SCHED_DUE_EXPIRING);
}

static void test_failure_holds_renewal_until_the_next_attempt(void)
{
	struct sched_input in = year_cert(0);

	in.now = in.planned + 10;
	in.failures = 3;
	in.next_attempt = in.now + 200;
	CHECK_EQ_INT(schedule_due(&in), SCHED_BACKING_OFF);
	CHECK_EQ_INT(schedule_next(&in, SCHED_BACKING_OFF, 0), in.now + 200);
	in.now = in.next_attempt;
	CHECK_EQ_INT(schedule_due(&in), SCHED_DUE_PLANNED);
	/* even an expired certificate waits for the backoff: no hammering of a server that is down
	 */
	in.now = in.not_after + DAY;
	in.next_attempt = in.now + 60;
	CHECK_EQ_INT(schedule_due(&in), SCHED_BACKING_OFF);
}

static void test_retry_after_is_clamped_to_a_minute_and_a_day(void)
{
	CHECK_EQ_INT(schedule_clamp(0), 60);
	CHECK_EQ_INT(schedule_clamp(-5), 60);
	CHECK_EQ_INT(schedule_clamp(61), 61);
	CHECK_EQ_INT(schedule_clamp(86401), 86400);
	CHECK_EQ_INT(schedule_retry_after("5", T0), 60);
	CHECK_EQ_INT(schedule_retry_after("3600", T0), 3600);
	CHECK_EQ_INT(schedule_retry_after("999999999", T0), 86400);
	CHECK_EQ_INT(schedule_retry_after("2027-01-15T09:00:00Z", T0), 3600);
	CHECK_EQ_INT(schedule_retry_after("2037-01-15T08:00:00Z", T0), 86400);
	CHECK_EQ_INT(schedule_retry_after("", T0), 0);
	CHECK_EQ_INT(schedule_retry_after("soon", T0), 0);
	CHECK_EQ_INT(schedule_retry_after(NULL, T0), 0);
}

static void test_backoff_doubles_from_a_minute_up_to_a_day_with_jitter(void)
{
	uint64_t top = 0xffffffffffffffffULL;

	CHECK_EQ_INT(schedule_backoff(1, 0), 60);
	CHECK_EQ_INT(schedule_backoff(1, top), 60);
	for (unsigned f = 2; f < 40; f++) {
		int64_t ceiling = 60LL << (f - 1 > 20 ? 20 : f - 1);
		if (ceiling > 86400)
			ceiling = 86400;
		for (uint64_t r = 0; r < 2000; r += 97) {
			int64_t d = schedule_backoff(f, r * 0x9e3779b97f4a7c15ULL);
			CHECK(d >= 60 && d <= ceiling);
		}
		CHECK_EQ_INT(schedule_backoff(f, (uint64_t)(ceiling - 60)), ceiling);
	}
	CHECK_EQ_INT(schedule_backoff(1000, 86400 - 60), 86400);
}

static void test_next_look_is_the_planned_moment_or_the_poll_interval(void)
{
	struct sched_input in = year_cert(T0 + DAY);

	/* far from the moment: look again after the poll interval */
	CHECK_EQ_INT(schedule_next(&in, SCHED_NOT_DUE, 0), in.now + SCHED_POLL_DEFAULT);
	CHECK_EQ_INT(schedule_next(&in, SCHED_NOT_DUE, 3600), in.now + 3600);
	CHECK_EQ_INT(schedule_next(&in, SCHED_NOT_DUE, 10), in.now + 60);
	/* close to it: the moment itself */
	in.now = in.planned - 100;
	CHECK_EQ_INT(schedule_next(&in, SCHED_NOT_DUE, 3600), in.planned);
}

static void test_dry_run_explains_each_reason(void)
{
	struct sched_input in = year_cert(T0 + 100 * DAY);
	char buf[256];

	schedule_explain(&in, SCHED_NOT_DUE, buf, sizeof(buf));
	CHECK(strncmp(buf, "not due: window opens ", 22) == 0);
	CHECK(strstr(buf, "265 days left") != NULL);
	in.now = in.window_start + DAY;
	schedule_explain(&in, SCHED_NOT_DUE, buf, sizeof(buf));
	CHECK(strncmp(buf, "not due: inside window since ", 29) == 0);
	in.now = in.not_after - 2 * DAY;
	schedule_explain(&in, SCHED_DUE_EXPIRING, buf, sizeof(buf));
	CHECK(strncmp(buf, "due: expires in 2 days", 22) == 0);
	CHECK(strstr(buf, ": now") != NULL);
	in.failures = 1;
	in.next_attempt = in.now + 60;
	schedule_explain(&in, SCHED_BACKING_OFF, buf, sizeof(buf));
	CHECK(strstr(buf, "retry after 1 failed attempt at") != NULL);
}

int main(void)
{
	RUN(test_picked_moment_stays_inside_the_window);
	RUN(test_picked_moments_spread_over_the_whole_window);
	RUN(test_planned_moment_comes_before_the_last_tenth_of_the_lifetime);
	RUN(test_fallback_window_is_the_last_third_of_the_lifetime);
	RUN(test_not_due_before_the_planned_moment);
	RUN(test_due_once_the_planned_moment_has_come);
	RUN(test_due_at_once_when_the_window_has_passed);
	RUN(test_due_at_once_when_a_tenth_of_the_lifetime_is_left);
	RUN(test_short_certificates_are_due_two_days_before_expiry);
	RUN(test_failure_holds_renewal_until_the_next_attempt);
	RUN(test_retry_after_is_clamped_to_a_minute_and_a_day);
	RUN(test_backoff_doubles_from_a_minute_up_to_a_day_with_jitter);
	RUN(test_next_look_is_the_planned_moment_or_the_poll_interval);
	RUN(test_dry_run_explains_each_reason);
	return check_done();
}
