/*
 * check.h — the one tiny assertion helper of the unit tests. A failed CHECK prints the file,
 * line and expression and marks the test failed; the test goes on so one run shows every failure.
 * main() ends with `return check_done();`.
 *
 * Randomness in a test comes from check_rand(), a small PRNG seeded once per test program from
 * CF_TEST_SEED (decimal) or, without it, from the time and the process id. The seed is printed on
 * first use and again when a check failed, so `CF_TEST_SEED=N ctest ...` replays a failure.
 */
#ifndef CHECK_H
#define CHECK_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int check_failures;
static int check_count;
static int check_seeded;
static uint64_t check_seed_value, check_rand_state;

#define CHECK(expr)                                                                                \
	do {                                                                                       \
		check_count++;                                                                     \
		if (!(expr)) {                                                                     \
			check_failures++;                                                          \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #expr);   \
		}                                                                                  \
	} while (0)

#define CHECK_EQ_INT(a, b)                                                                         \
	do {                                                                                       \
		long long check_a_ = (long long)(a), check_b_ = (long long)(b);                    \
		check_count++;                                                                     \
		if (check_a_ != check_b_) {                                                        \
			check_failures++;                                                          \
			fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", __FILE__,        \
				__LINE__, #a, #b, check_a_, check_b_);                             \
		}                                                                                  \
	} while (0)

#define CHECK_EQ_STR(a, b)                                                                         \
	do {                                                                                       \
		const char *check_a_ = (a), *check_b_ = (b);                                       \
		check_count++;                                                                     \
		if (!check_a_ || !check_b_ || strcmp(check_a_, check_b_) != 0) {                   \
			check_failures++;                                                          \
			fprintf(stderr, "%s:%d: %s == %s failed: \"%s\" != \"%s\"\n", __FILE__,    \
				__LINE__, #a, #b, check_a_ ? check_a_ : "(null)",                  \
				check_b_ ? check_b_ : "(null)");                                   \
		}                                                                                  \
	} while (0)

/* Run one test function, printing its name. */
#define RUN(fn)                                                                                    \
	do {                                                                                       \
		int check_before_ = check_failures;                                                \
		fn();                                                                              \
		printf("%s %s\n", check_failures == check_before_ ? "ok  " : "FAIL", #fn);         \
	} while (0)

/* Contents of the test data file dir/name (tests/unit/data, argv[1]) with trailing white space
 * removed, malloc'd; a missing file ends the test program with status 2. */
static inline char *check_data(const char *dir, const char *name)
{
	char path[1024];
	char *buf = calloc(1, 65536);
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "rb");
	if (!f || !buf) {
		fprintf(stderr, "cannot read %s\n", path);
		exit(2);
	}
	n = fread(buf, 1, 65535, f);
	fclose(f);
	while (n > 0 && strchr(" \t\r\n", buf[n - 1]))
		buf[--n] = '\0';
	return buf;
}

/* The next pseudo-random 32-bit value (splitmix64), for test data only — never for keys. */
static inline uint32_t check_rand(void)
{
	uint64_t z;

	if (!check_seeded) {
		const char *env = getenv("CF_TEST_SEED");

		check_seed_value = env && *env ? strtoull(env, NULL, 10)
					       : ((uint64_t)time(NULL) << 20) ^ (uint64_t)getpid();
		check_rand_state = check_seed_value;
		check_seeded = 1;
		printf("seed %llu (CF_TEST_SEED=%llu replays it)\n",
		       (unsigned long long)check_seed_value, (unsigned long long)check_seed_value);
	}
	z = (check_rand_state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return (uint32_t)((z ^ (z >> 31)) >> 32);
}

static inline int check_done(void)
{
	if (check_failures && check_seeded)
		fprintf(stderr, "replay with CF_TEST_SEED=%llu\n",
			(unsigned long long)check_seed_value);
	printf("%d checks, %d failed\n", check_count, check_failures);
	return check_failures ? 1 : 0;
}

#endif
