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

/* With a clock file: pin "now" for the calling thread (one read of the file) until
 * cf_clock_unpin, so that one request of certflowd sees one time and stats the file once, not at
 * every cf_now. Without a clock file both do nothing (cf_now is the wall clock, which costs no
 * system call). A second pin reads the file again. */
void cf_clock_pin(void);
void cf_clock_unpin(void);
/* The calling thread's pin: 1 and *at when it has one, else 0. */
int cf_clock_pinned(int64_t *at);
/* Pin the calling thread at `at` (another thread's pin, for work done on its behalf: group
 * commit runs a request's transaction on the leader's thread). Nothing without a clock file. */
void cf_clock_pin_at(int64_t at);

/* Use path as the clock (NULL restores the wall clock). Not thread-safe against cf_now: call
 * before starting threads. */
void cf_clock_set_file(const char *path);

/* RFC 3339 UTC "YYYY-MM-DDTHH:MM:SSZ" of t into out (≥ 21 bytes). */
void cf_time_format(int64_t t, char out[21]);
/* Parse that form; 0 or CF_EMALFORMED. */
int cf_time_parse(const char *s, int64_t *out);

#endif
