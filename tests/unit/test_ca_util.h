/*
 * test_ca_util — helpers shared by the test_ca_* programs: a temporary directory per program,
 * running the real openssl CLI, reading files, and CSRs made by `openssl req`.
 */
#ifndef TEST_CA_UTIL_H
#define TEST_CA_UTIL_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ca.h"
#include "check.h"
#include "cf_err.h"

static char tdir[512];

/* A fresh directory under $CERTFLOW_TEST_TMP (or /tmp) for this program. */
static inline void tdir_make(void)
{
	const char *base = getenv("CERTFLOW_TEST_TMP");

	if (!base || !*base)
		base = "/tmp";
	mkdir(base, 0700);
	snprintf(tdir, sizeof(tdir), "%s/test_ca_XXXXXX", base);
	if (!mkdtemp(tdir)) {
		perror("mkdtemp");
		exit(2);
	}
}

static inline void tdir_remove(void)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tdir);
}

static inline __attribute__((format(printf, 1, 2))) char *tpath(const char *fmt, ...)
{
	static char bufs[8][1024];
	static int next;
	char *b = bufs[next++ % 8], name[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	snprintf(b, 1024, "%s/%s", tdir, name);
	return b;
}

/* Run a shell command, its output appended to tdir/log; 0 if it exited 0. */
static inline __attribute__((format(printf, 1, 2))) int run(const char *fmt, ...)
{
	char cmd[4096], full[4700];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	snprintf(full, sizeof(full), "(%s) >>'%s/log' 2>&1", cmd, tdir);
	return system(full) == 0 ? 0 : -1;
}

/* Run a shell command and return its stdout + stderr (malloc'd, NUL-terminated). */
static inline __attribute__((format(printf, 1, 2))) char *capture(const char *fmt, ...)
{
	char cmd[4096], full[4200];
	size_t cap = 1 << 16, len = 0, n;
	char *out = malloc(cap);
	FILE *f;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	snprintf(full, sizeof(full), "(%s) 2>&1", cmd);
	if (!out || !(f = popen(full, "r"))) {
		free(out);
		return strdup("");
	}
	while ((n = fread(out + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (cap - len < 2) {
			char *bigger = realloc(out, cap * 2);
			if (!bigger)
				break;
			out = bigger;
			cap *= 2;
		}
	}
	out[len] = '\0';
	pclose(f);
	return out;
}

static inline uint8_t *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	if (buf) {
		buf[n] = 0;
		*len = (size_t)n;
	}
	return buf;
}

static inline int write_all_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	int ok;

	if (!f)
		return -1;
	ok = fwrite(data, 1, len, f) == len;
	return fclose(f) == 0 && ok ? 0 : -1;
}

/* A DER CSR from `openssl req` for newkey ("ec:P-256" style is spelled as openssl wants:
 * "ec -pkeyopt ec_paramgen_curve:P-256" or "rsa:2048"), subject /CN=<cn>; NULL on failure. */
static inline uint8_t *make_csr(const char *name, const char *newkey, const char *cn, size_t *len)
{
	if (run("openssl req -new -newkey %s -nodes -keyout '%s' -subj '/CN=%s' -outform DER "
		"-out '%s'",
		newkey, tpath("%s.key", name), cn, tpath("%s.csr", name)) != 0)
		return NULL;
	return read_all(tpath("%s.csr", name), len);
}

#define KEY_P256 "ec -pkeyopt ec_paramgen_curve:P-256"
#define KEY_P384 "ec -pkeyopt ec_paramgen_curve:P-384"

/* A cf_key for a fresh CSR of that key type (checked by ca_csr_check). */
static inline cf_key *csr_key(const char *name, const char *newkey)
{
	size_t len = 0;
	uint8_t *der = make_csr(name, newkey, "from-the-csr", &len);
	cf_key *key = NULL;

	if (!der || ca_csr_check(der, len, &key) != 0)
		key = NULL;
	free(der);
	return key;
}

static inline int write_pem_cert(const char *path, const uint8_t *der, size_t len)
{
	char der_path[1100];

	snprintf(der_path, sizeof(der_path), "%s.der", path);
	if (write_all_file(der_path, der, len) != 0)
		return -1;
	return run("openssl x509 -inform DER -in '%s' -out '%s'", der_path, path);
}

static inline int contains(const char *hay, const char *needle)
{
	int ok = hay && strstr(hay, needle) != NULL;

	if (!ok)
		fprintf(stderr, "  missing: \"%s\"\n", needle);
	return ok;
}

#endif
