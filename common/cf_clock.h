/*
 * cf_clock — the one source of "now" for server and agent, injectable for tests.
 *
 * cf_now() is the wall clock unless a clock file is set (certflowd --test-clock FILE): then
 * "now" is the integer of Unix seconds in that file, re-read when the file changes, so a test can
 * move the server 15 days ahead without waiting.
 */
#ifndef CF_CLOCK_H
#define CF_CLOCK_H

#include <stddef.h>
#include <stdint.h>

/* Seconds since the epoch. */
int64_t cf_now(void);

/* Use path as the clock (NULL restores the wall clock). Not thread-safe against cf_now: call
 * before starting threads. */
void cf_clock_set_file(const char *path);

/* RFC 3339 UTC "YYYY-MM-DDTHH:MM:SSZ" of t into out (≥ 21 bytes). */
void cf_time_format(int64_t t, char out[21]);
/* Parse that form; 0 or CF_EMALFORMED. */
int cf_time_parse(const char *s, int64_t *out);

#endif
