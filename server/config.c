/*
 * config — the config file of certflowd. Every key is listed once in the table below, with its
 * bounds; certflowd.conf.example documents the same keys. Unknown keys and bad values are errors,
 * never silently ignored.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_err.h"

void config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->data, sizeof(cfg->data), "./certflow-data");
	snprintf(cfg->listen, sizeof(cfg->listen), "127.0.0.1:8443");
	snprintf(cfg->hostname, sizeof(cfg->hostname), "localhost");
	core_config_defaults(&cfg->core);
	cfg->threads = 32;
	cfg->nonce_capacity = 65536;
}

enum kind { K_STR, K_INT };

struct key_row {
	const char *name;
	enum kind kind;
	size_t off;  /* into struct config */
	size_t size; /* K_STR: buffer size; K_INT: sizeof the integer */
	long long min, max;
};

#define STR(name, field)                                                                           \
	{                                                                                          \
		name, K_STR, offsetof(struct config, field), sizeof(((struct config *)0)->field),  \
		    0, 0                                                                           \
	}
#define INT(name, field, lo, hi)                                                                   \
	{                                                                                          \
		name, K_INT, offsetof(struct config, field), sizeof(((struct config *)0)->field),  \
		    lo, hi                                                                         \
	}

static const struct key_row keys[] = {
    STR("data", data),
    STR("listen", listen),
    STR("hostname", hostname),
    INT("enrolment_code_days", core.enrolment_code_days, 1, 365),
    INT("max_activation_attempts", core.max_activation_attempts, 1, 100),
    INT("device_validity_days", core.device_validity_days, 1, 3650),
    INT("signing_validity_days", core.signing_validity_days, 1, 3650),
    INT("signing_renewal_days", core.signing_renewal_days, 1, 3649),
    INT("threads", threads, 1, 1024),
    INT("nonce_capacity", nonce_capacity, 16, 1 << 24),
};

static int set_int(const struct key_row *k, struct config *cfg, const char *value, char *err,
		   size_t cap)
{
	char *end = NULL;
	long long v;

	errno = 0;
	v = strtoll(value, &end, 10);
	if (errno || end == value || *end || v < k->min || v > k->max) {
		snprintf(err, cap, "%s must be an integer from %lld to %lld", k->name, k->min,
			 k->max);
		return CF_EUSAGE;
	}
	if (k->size == sizeof(int))
		*(int *)((char *)cfg + k->off) = (int)v;
	else
		*(size_t *)((char *)cfg + k->off) = (size_t)v;
	return 0;
}

int config_set(struct config *cfg, const char *key, const char *value, char *err, size_t cap)
{
	const struct key_row *k;

	for (k = keys; k < keys + sizeof(keys) / sizeof(keys[0]); k++) {
		if (strcmp(k->name, key) != 0)
			continue;
		if (k->kind == K_INT)
			return set_int(k, cfg, value, err, cap);
		if (!value[0] || strlen(value) >= k->size) {
			snprintf(err, cap, "%s must be a non-empty string of at most %zu bytes",
				 key, k->size - 1);
			return CF_EUSAGE;
		}
		memcpy((char *)cfg + k->off, value, strlen(value) + 1);
		if (strcmp(key, "hostname") == 0)
			cfg->hostname_set = 1;
		return 0;
	}
	snprintf(err, cap, "unknown key \"%s\"", key);
	return CF_EUSAGE;
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

int config_load(const char *path, struct config *cfg, char *err, size_t cap)
{
	char line[2048], msg[512], *key, *value, *eq;
	FILE *f = fopen(path, "r");
	int lineno = 0, ret = 0;

	if (!f) {
		snprintf(err, cap, "%s: %s", path, strerror(errno));
		return CF_EUSAGE;
	}
	while (ret == 0 && fgets(line, sizeof(line), f)) {
		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			snprintf(err, cap, "%s:%d: line too long", path, lineno);
			ret = CF_EUSAGE;
			break;
		}
		key = trim(line);
		if (!*key || *key == '#')
			continue;
		eq = strchr(key, '=');
		if (!eq) {
			snprintf(err, cap, "%s:%d: expected key = value", path, lineno);
			ret = CF_EUSAGE;
			break;
		}
		*eq = '\0';
		key = trim(key);
		value = trim(eq + 1);
		ret = config_set(cfg, key, value, msg, sizeof(msg));
		if (ret != 0)
			snprintf(err, cap, "%s:%d: %s", path, lineno, msg);
	}
	fclose(f);
	return ret;
}

int config_check(const struct config *cfg, char *err, size_t cap)
{
	if (cfg->core.signing_renewal_days >= cfg->core.signing_validity_days) {
		snprintf(err, cap, "signing_renewal_days must be less than signing_validity_days");
		return CF_EUSAGE;
	}
	if (!strchr(cfg->listen, ':')) {
		snprintf(err, cap, "listen must be ADDR:PORT");
		return CF_EUSAGE;
	}
	return 0;
}
