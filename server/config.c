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
#include "http.h"

void config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->data, sizeof(cfg->data), "./certflow-data");
	snprintf(cfg->listen, sizeof(cfg->listen), "127.0.0.1:8443");
	snprintf(cfg->hostname, sizeof(cfg->hostname), "localhost");
	snprintf(cfg->admin_name, sizeof(cfg->admin_name), "%s", CORE_OPERATOR_DEFAULT);
	core_config_defaults(&cfg->core);
	notify_config_defaults(&cfg->notify);
	cfg->threads = 256;
	cfg->per_address = 16;
	cfg->head_timeout_ms = 10000;
	cfg->body_timeout_ms = 10000;
	cfg->nonce_capacity = 65536;
	cfg->db_max_mb = 16384;
	snprintf(cfg->store, sizeof(cfg->store), "lmdb");
	snprintf(cfg->metrics, sizeof(cfg->metrics), "loopback");
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
    STR("admin_name", admin_name),
    INT("enrolment_code_days", core.enrolment_code_days, 1, 365),
    INT("max_activation_attempts", core.max_activation_attempts, 1, 100),
    INT("acme_http01_port", core.acme_http01_port, 1, 65535),
    STR("acme_validation_address", core.acme_validation_address),
    STR("acme_dns_resolver", core.acme_dns_resolver),
    INT("device_validity_days", core.device_validity_days, 1, 3650),
    INT("signing_validity_days", core.signing_validity_days, 1, 3650),
    INT("signing_renewal_days", core.signing_renewal_days, 1, 3649),
    STR("auto_approve", core.auto_approve),
    INT("questions_required", core.questions_required, 1, 3),
    INT("question_attempts", core.question_attempts, 1, 100),
    INT("link_token_minutes", core.link_token_minutes, 1, 10080),
    INT("recovery_otp", core.recovery_otp, 0, 1),
    INT("otp_digits", core.otp_digits, 6, 8),
    INT("otp_step_secs", core.otp_step_secs, 10, 300),
    INT("otp_window_steps", core.otp_window_steps, 0, 10),
    INT("otp_max_failures", core.otp_max_failures, 1, 100),
    INT("sms_otp_minutes", core.sms_otp_minutes, 1, 60),
    INT("otp_resend_secs", core.otp_resend_secs, 0, 3600),
    INT("otp_resend_per_hour", core.otp_resend_per_hour, 1, 100),
    INT("emergency_max_failures", core.emergency_max_failures, 1, 100),
    INT("kdf_iterations", core.kdf_iterations, 1000, 100000000), /* uint32_t: sizeof(int) */
    INT("outbox_keep_days", core.outbox_keep_days, 1, 3650),
    INT("rate_recovery_addr", core.rate[RATE_RECOVERY_ADDR].max, 0, 1000000),
    INT("rate_recovery_addr_secs", core.rate[RATE_RECOVERY_ADDR].secs, 1, 604800),
    INT("rate_recovery_email", core.rate[RATE_RECOVERY_EMAIL].max, 0, 1000000),
    INT("rate_recovery_email_secs", core.rate[RATE_RECOVERY_EMAIL].secs, 1, 604800),
    INT("rate_login_addr", core.rate[RATE_LOGIN_ADDR].max, 0, 1000000),
    INT("rate_login_addr_secs", core.rate[RATE_LOGIN_ADDR].secs, 1, 604800),
    INT("rate_login_user", core.rate[RATE_LOGIN_USER].max, 0, 1000000),
    INT("rate_login_user_secs", core.rate[RATE_LOGIN_USER].secs, 1, 604800),
    INT("rate_qr_addr", core.rate[RATE_QR_ADDR].max, 0, 1000000),
    INT("rate_qr_addr_secs", core.rate[RATE_QR_ADDR].secs, 1, 604800),
    INT("rate_activate_addr", core.rate[RATE_ACTIVATE_ADDR].max, 0, 1000000),
    INT("rate_activate_addr_secs", core.rate[RATE_ACTIVATE_ADDR].secs, 1, 604800),
    INT("rate_activate_reference", core.rate[RATE_ACTIVATE_REF].max, 0, 1000000),
    INT("rate_activate_reference_secs", core.rate[RATE_ACTIVATE_REF].secs, 1, 604800),
    INT("rate_apply_addr", core.rate[RATE_APPLY_ADDR].max, 0, 1000000),
    INT("rate_apply_addr_secs", core.rate[RATE_APPLY_ADDR].secs, 1, 604800),
    INT("rate_emergency_addr", core.rate[RATE_EMERGENCY_ADDR].max, 0, 1000000),
    INT("rate_emergency_addr_secs", core.rate[RATE_EMERGENCY_ADDR].secs, 1, 604800),
    INT("rate_sms_addr", core.rate[RATE_SMS_ADDR].max, 0, 1000000),
    INT("rate_sms_addr_secs", core.rate[RATE_SMS_ADDR].secs, 1, 604800),
    INT("rate_questions_addr", core.rate[RATE_QUESTIONS_ADDR].max, 0, 1000000),
    INT("rate_questions_addr_secs", core.rate[RATE_QUESTIONS_ADDR].secs, 1, 604800),
    STR("maildir", notify.maildir),
    STR("email_command", notify.email_command),
    STR("sms_command", notify.sms_command),
    STR("templates", notify.templates),
    STR("mail_from", notify.mail_from),
    INT("notify_max_attempts", notify.max_attempts, 1, 100),
    INT("notify_retry_base", notify.retry_base_secs, 1, 86400),
    INT("notify_retry_max", notify.retry_max_secs, 1, 604800),
    STR("master_key", master_key),
    INT("pin_max_tries", core.pin_max_tries, 1, 100),
    INT("puk_max_tries", core.puk_max_tries, 1, 100),
    INT("login_max_failures", core.login_max_failures, 1, 100),
    INT("session_minutes", core.session_minutes, 1, 1440),
    INT("sad_seconds", core.sad_seconds, 10, 3600),
    INT("qr_login_seconds", core.qr_login_seconds, 10, 3600),
    INT("update_minutes", core.update_minutes, 1, 1440),
    STR("entitlement", core.entitlement),
    STR("entitlement_command", core.entitlement_command),
    INT("threads", threads, 2, 4096),
    INT("max_connections_per_address", per_address, 1, 4096),
    INT("head_timeout_ms", head_timeout_ms, 100, 600000),
    INT("body_timeout_ms", body_timeout_ms, 100, 600000),
    INT("nonce_capacity", nonce_capacity, 16, 1 << 24),
    INT("db_max_mb", db_max_mb, 1, 1 << 24),
    STR("store", store),
    STR("store_conninfo", store_conninfo),
    INT("store_connections", store_connections, 1, 1024),
    STR("metrics", metrics),
    STR("public_url", core.public_url),
    STR("base_url", base_url),
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

/* remote_key: the type of the key pairs made for remote credentials (§24). */
static const struct {
	const char *name;
	enum cf_key_type type;
	unsigned bits;
} remote_keys[] = {
    {"p256", CF_KEY_P256, 0},
    {"p384", CF_KEY_P384, 0},
    {"rsa2048", CF_KEY_RSA, 2048},
    {"rsa3072", CF_KEY_RSA, 3072},
};

static int set_remote_key(struct config *cfg, const char *value, char *err, size_t cap)
{
	for (size_t i = 0; i < sizeof(remote_keys) / sizeof(remote_keys[0]); i++) {
		if (strcmp(value, remote_keys[i].name) == 0) {
			cfg->core.remote_key_type = (int)remote_keys[i].type;
			cfg->core.remote_key_bits = remote_keys[i].bits;
			return 0;
		}
	}
	snprintf(err, cap, "remote_key must be p256, p384, rsa2048 or rsa3072");
	return CF_EUSAGE;
}

int config_set(struct config *cfg, const char *key, const char *value, char *err, size_t cap)
{
	const struct key_row *k;

	if (strcmp(key, "remote_key") == 0)
		return set_remote_key(cfg, value, err, cap);
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

/* auto_approve: comma-separated names of known profiles. */
static int check_profiles(const char *list, char *err, size_t cap)
{
	char name[sizeof(((struct core_config *)0)->auto_approve)];
	const char *p = list;

	while (*p) {
		size_t n = strcspn(p, ",");
		memcpy(name, p, n);
		name[n] = '\0';
		if (!core_profile_known(name)) {
			snprintf(err, cap, "auto_approve: \"%.32s\" is not a profile", name);
			return CF_EUSAGE;
		}
		/* a remote key is made at approval: an operator approves (spec/protocol.md §24.1)
		 */
		if (core_profile_remote(name)) {
			snprintf(err, cap, "auto_approve: remote applications need an operator");
			return CF_EUSAGE;
		}
		p += n + (p[n] == ',');
	}
	return 0;
}

/* One '@', not first or last; no spaces or control characters (it goes into a header). */
static int mail_from_ok(const char *s)
{
	const char *at = strchr(s, '@');

	for (const char *p = s; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f || strchr("<>,;\"", *p))
			return 0;
	return at && at != s && at[1] && !strchr(at + 1, '@');
}

/* public_url: "http(s)://" and a host, then an optional path; printable ASCII without spaces,
 * quotes, '<', '>', '?' or '#' (it is written into e-mails), and no '/' at the end. */
static int public_url_ok(const char *s)
{
	const char *host = strncmp(s, "https://", 8) == 0  ? s + 8
			   : strncmp(s, "http://", 7) == 0 ? s + 7
							   : NULL;
	size_t n = strlen(s);

	if (!host || !*host || *host == '/' || s[n - 1] == '/')
		return 0;
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f ||
		    strchr("\"'<>?#\\", *p))
			return 0;
	return 1;
}

int config_check(const struct config *cfg, char *err, size_t cap)
{
	int ret;

	if (cfg->core.signing_renewal_days >= cfg->core.signing_validity_days) {
		snprintf(err, cap, "signing_renewal_days must be less than signing_validity_days");
		return CF_EUSAGE;
	}
	if ((ret = check_profiles(cfg->core.auto_approve, err, cap)) != 0)
		return ret;
	if (cfg->notify.retry_base_secs > cfg->notify.retry_max_secs) {
		snprintf(err, cap, "notify_retry_base must not exceed notify_retry_max");
		return CF_EUSAGE;
	}
	if (cfg->notify.mail_from[0] && !mail_from_ok(cfg->notify.mail_from)) {
		snprintf(err, cap, "mail_from must be an address (local@domain) without spaces");
		return CF_EUSAGE;
	}
	if (strcmp(cfg->notify.maildir, "off") == 0 &&
	    (!cfg->notify.email_command[0] || !cfg->notify.sms_command[0])) {
		snprintf(err, cap, "maildir = off needs both email_command and sms_command");
		return CF_EUSAGE;
	}
	if (strcmp(cfg->store, "lmdb") != 0 && strcmp(cfg->store, "postgresql") != 0) {
		snprintf(err, cap, "store must be lmdb or postgresql");
		return CF_EUSAGE;
	}
	if (strcmp(cfg->store, "postgresql") == 0 && !cfg->store_conninfo[0]) {
		snprintf(err, cap, "store = postgresql needs store_conninfo");
		return CF_EUSAGE;
	}
	if (strcmp(cfg->metrics, "off") != 0 && strcmp(cfg->metrics, "loopback") != 0 &&
	    strcmp(cfg->metrics, "on") != 0) {
		snprintf(err, cap, "metrics must be off, loopback or on");
		return CF_EUSAGE;
	}
	if (strcmp(cfg->core.entitlement, "coupon") != 0 &&
	    strcmp(cfg->core.entitlement, "program") != 0 &&
	    strcmp(cfg->core.entitlement, "none") != 0) {
		snprintf(err, cap, "entitlement must be coupon, program or none");
		return CF_EUSAGE;
	}
	if (strcmp(cfg->core.entitlement, "program") == 0 && !cfg->core.entitlement_command[0]) {
		snprintf(err, cap, "entitlement = program needs entitlement_command");
		return CF_EUSAGE;
	}
	if (cfg->core.public_url[0] && !public_url_ok(cfg->core.public_url)) {
		snprintf(err, cap,
			 "public_url must be an http:// or https:// URL without spaces, "
			 "query, fragment or trailing slash (https://certs.example.org)");
		return CF_EUSAGE;
	}
	/* base_url: the scheme, host and port of a load balancer; no path (the routes are at /) */
	if (cfg->base_url[0] &&
	    (!public_url_ok(cfg->base_url) || strchr(strstr(cfg->base_url, "//") + 2, '/'))) {
		snprintf(err, cap,
			 "base_url must be http:// or https://, a host and an optional port, "
			 "nothing after them (https://certs.example.org)");
		return CF_EUSAGE;
	}
	if (!http_dns_resolver_ok(cfg->core.acme_dns_resolver)) {
		snprintf(err, cap, "acme_dns_resolver must be an IPv4 ADDR or ADDR:PORT");
		return CF_EUSAGE;
	}
	if (!strchr(cfg->listen, ':')) {
		snprintf(err, cap, "listen must be ADDR:PORT");
		return CF_EUSAGE;
	}
	return 0;
}
