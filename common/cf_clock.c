/*
 * cf_clock — "now" for server and agent: the wall clock, or the integer in a clock file
 * (tests move time by rewriting the file). Each cf_now() with a clock file stats it once and
 * re-reads it only when its identity, size or times changed, or when the last read came too soon
 * after the file's modification time to trust the stat: file times are only as fine as the
 * kernel's tick (and whole seconds on some file systems), so a rewrite within one tick and with
 * the same size would otherwise go unseen. A read made more than TRUST_NS (TRUST_COARSE_NS when
 * the time has no sub-second part) after the later of the modification and change times it saw
 * is trusted: any later rewrite gets a later change time. A file that cannot be read or parsed
 * keeps the last good value (the wall clock if there was none). Thread-safe: one mutex guards
 * the cache; a pin (cf_clock_pin) is the calling thread's own.
 */
#include "cf_clock.h"
#include "cf_err.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_TIME 253402300799LL	     /* 9999-12-31T23:59:59Z */
#define TRUST_NS 100000000LL	     /* 100 ms: ten ticks of a 100 Hz kernel */
#define TRUST_COARSE_NS 2000000000LL /* 2 s: file systems with whole-second times */

static pthread_mutex_t clock_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int clock_file_set;
static char *clock_path;
static struct stat clock_st;
static int clock_valid;	  /* clock_value came from the file described by clock_st */
static int clock_trusted; /* ... and was read late enough after its modification to keep */
static int64_t clock_value;
static __thread int pin_set; /* cf_clock_pin: this thread's requests see pin_value */
static __thread int64_t pin_value;

static int64_t wall_now(void)
{
	return (int64_t)time(NULL);
}

/* The integer in the file at path (surrounding white space allowed). */
static int read_clock_file(const char *path, int64_t *out)
{
	char buf[64], *end;
	ssize_t n;
	long long v;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return CF_EIO;
	do
		n = read(fd, buf, sizeof(buf) - 1);
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n <= 0)
		return CF_EIO;
	buf[n] = '\0';
	errno = 0;
	v = strtoll(buf, &end, 10);
	while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')
		end++;
	if (errno || end == buf || *end != '\0' || v < 0 || v > MAX_TIME)
		return CF_EMALFORMED;
	*out = v;
	return 0;
}

static int same_file_state(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

static int64_t ns_of(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000000LL + ts->tv_nsec;
}

static int64_t file_now(void)
{
	struct stat st;
	struct timespec before;
	const struct timespec *changed;
	int64_t v, wall = wall_now(), margin;

	if (!clock_path || stat(clock_path, &st) != 0)
		return clock_valid ? clock_value : wall;
	if (clock_valid && clock_trusted && same_file_state(&st, &clock_st))
		return clock_value;
	/* the time before the read: a rewrite after it gets a later time than st's, if st's is
	 * older than it by more than the file system's and the kernel clock's granularity */
	clock_gettime(CLOCK_REALTIME, &before);
	if (read_clock_file(clock_path, &v) == 0) {
		/* the later of the two times: a writer may set mtime back (touch -d, cp -p) */
		changed = ns_of(&st.st_mtim) > ns_of(&st.st_ctim) ? &st.st_mtim : &st.st_ctim;
		margin = changed->tv_nsec == 0 ? TRUST_COARSE_NS : TRUST_NS;
		clock_value = v;
		clock_st = st;
		clock_valid = 1;
		clock_trusted = ns_of(&before) - ns_of(changed) > margin;
	}
	return clock_valid ? clock_value : wall;
}

int64_t cf_now(void)
{
	int64_t t;

	if (!atomic_load_explicit(&clock_file_set, memory_order_acquire))
		return wall_now();
	if (pin_set)
		return pin_value;
	pthread_mutex_lock(&clock_lock);
	t = file_now();
	pthread_mutex_unlock(&clock_lock);
	return t;
}

void cf_clock_pin(void)
{
	pin_set = 0;
	cf_clock_pin_at(cf_now());
}

void cf_clock_unpin(void)
{
	pin_set = 0;
}

int cf_clock_pinned(int64_t *at)
{
	if (pin_set && at)
		*at = pin_value;
	return pin_set;
}

void cf_clock_pin_at(int64_t at)
{
	pin_set = 0;
	if (!atomic_load_explicit(&clock_file_set, memory_order_acquire))
		return;
	pin_value = at;
	pin_set = 1;
}

void cf_clock_set_file(const char *path)
{
	char *copy = path ? strdup(path) : NULL;

	pthread_mutex_lock(&clock_lock);
	free(clock_path);
	clock_path = copy;
	clock_valid = 0;
	clock_trusted = 0;
	atomic_store_explicit(&clock_file_set, copy != NULL, memory_order_release);
	pthread_mutex_unlock(&clock_lock);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* v as n decimal digits at p (v fits). */
static void put_digits(char *p, unsigned v, int n)
{
	while (n-- > 0) {
		p[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

void cf_time_format(int64_t t, char out[21])
{
	int64_t y, days;
	unsigned m, d, secs;

	/* the format has four year digits: clamp to 0000-01-01 .. 9999-12-31 */
	if (t < -62167219200LL)
		t = -62167219200LL;
	if (t > MAX_TIME)
		t = MAX_TIME;
	days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
	secs = (unsigned)(t - days * 86400);
	civil_from_days(days, &y, &m, &d);
	memcpy(out, "0000-00-00T00:00:00Z", 21);
	put_digits(out, (unsigned)y, 4);
	put_digits(out + 5, m, 2);
	put_digits(out + 8, d, 2);
	put_digits(out + 11, secs / 3600, 2);
	put_digits(out + 14, secs / 60 % 60, 2);
	put_digits(out + 17, secs % 60, 2);
}

/* n decimal digits at s, or -1. */
static int digits(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

int cf_time_parse(const char *s, int64_t *out)
{
	static const unsigned mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y, mo, d, h, mi, se;

	if (!s || strnlen(s, 21) != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
	    s[13] != ':' || s[16] != ':' || s[19] != 'Z')
		return CF_EMALFORMED;
	y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2);
	h = digits(s + 11, 2), mi = digits(s + 14, 2), se = digits(s + 17, 2);
	if (y < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 ||
	    se > 59 || (unsigned)d > mdays[mo - 1])
		return CF_EMALFORMED;
	if (mo == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		return CF_EMALFORMED;
	*out = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + se;
	return 0;
}
