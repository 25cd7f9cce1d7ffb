/*
 * measure — the figures of certflow-bench that are not requests: monotonic time, a process's CPU
 * time from /proc, the crypto-bound limit (cf_sign/cf_verify in this process), quantiles, and
 * the test clock file. Crypto is timed in the CPU time of the calling thread, not wall time.
 */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cf_err.h"

#define CRYPTO_MIN_MS 400.0 /* measure each operation at least this long ... */
#define CRYPTO_MAX_OPS 4000 /* ... but never more often than this */

double bench_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

double bench_cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

int bench_proc_cpu_ms(long pid, double *ms)
{
	char path[64], buf[1024];
	unsigned long ut = 0, st = 0;
	const char *p;
	long tck = sysconf(_SC_CLK_TCK);
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return CF_EIO;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The command name (field 2) may hold spaces and parentheses: count from the last ')'. */
	p = strrchr(buf, ')');
	if (!p || tck <= 0 ||
	    sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return CF_EIO;
	*ms = (double)(ut + st) * 1000.0 / (double)tck;
	return 0;
}

int bench_procs_cpu_ms(const long *pids, int n, double *ms)
{
	double sum = 0, one;

	for (int i = 0; i < n; i++) {
		if (bench_proc_cpu_ms(pids[i], &one) != 0)
			return CF_EIO;
		sum += one;
	}
	*ms = sum;
	return 0;
}

/* Average ms of one sign (verify == 0) or verify over a bounded loop. */
static int time_op(const cf_key *key, int verify, double *ms)
{
	uint8_t msg[512], sig[512];
	size_t sig_len = 0;
	double t0, el = 0;
	int n = 0, ret;

	memset(msg, 0x5a, sizeof(msg));
	ret = cf_sign(key, CF_ALG_ES256, msg, sizeof(msg), sig, sizeof(sig), &sig_len);
	t0 = bench_cpu_ms();
	while (!ret && n < CRYPTO_MAX_OPS && el < CRYPTO_MIN_MS) {
		if (verify)
			ret = cf_verify(key, CF_ALG_ES256, msg, sizeof(msg), sig, sig_len);
		else
			ret = cf_sign(key, CF_ALG_ES256, msg, sizeof(msg), sig, sizeof(sig),
				      &sig_len);
		n++;
		el = bench_cpu_ms() - t0;
	}
	if (ret)
		return ret;
	*ms = el / n;
	return 0;
}

int bench_crypto_times(double *sign_ms, double *verify_ms)
{
	cf_key *key = NULL;
	int ret = cf_key_generate(CF_KEY_P256, 0, &key);

	if (!ret)
		ret = time_op(key, 0, sign_ms);
	if (!ret)
		ret = time_op(key, 1, verify_ms);
	cf_key_free(key);
	return ret;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double bench_quantile(double *v, size_t n, double q)
{
	size_t k;

	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	/* Nearest rank: the smallest value with at least q·n values at or below it. */
	k = (size_t)(q * (double)n + 0.999999);
	if (k < 1)
		k = 1;
	if (k > n)
		k = n;
	return v[k - 1];
}

int bench_clock_write(const char *path, int64_t t)
{
	char tmp[4200];
	FILE *f;
	int ok;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return CF_EIO;
	f = fopen(tmp, "w");
	if (!f)
		return CF_EIO;
	ok = fprintf(f, "%lld\n", (long long)t) > 0;
	ok = (fclose(f) == 0) && ok;
	if (!ok || rename(tmp, path) != 0) {
		unlink(tmp);
		return CF_EIO;
	}
	return 0;
}
