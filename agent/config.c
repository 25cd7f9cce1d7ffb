/*
 * config — the agent's configuration file (config.h).
 *
 *   # comment
 *   status_file = /var/lib/certflow/status.json
 *   [credential web]
 *   server = https://ca.example:8443
 *   ca = /etc/certflow/root.pem
 *   dir = /var/lib/certflow/web
 *   key_type = p256
 *   hook = /usr/bin/systemctl reload nginx
 *
 * Never: guess. An unknown key, a bad value, a key given twice or a duplicate name is an error
 * with the file and line, so that a typo never silently disables a renewal.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_err.h"

#define LINE_MAX_LEN 4096
#define HOOK_MAX_WORDS 32

/* Keys of a [credential] section, as bits for "given twice" and "missing". */
enum { K_SERVER = 1, K_CA = 2, K_DIR = 4, K_KEYTYPE = 8, K_HOOK = 16, K_PASSWORD = 32 };

struct parser {
	const char *path;
	int line;
	char *err;
	size_t err_len;
	struct agent_config *cfg;
	struct agent_cred *cur; /* the section being read, NULL before the first */
	unsigned seen;		/* keys given in cur */
	int section_line;
	int status_seen;
};

static int perr(struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int perr(struct parser *p, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(p->err, p->err_len, "%s:%d: %s", p->path, p->line, msg);
	return CF_EUSAGE;
}

int config_key_type(const char *name, enum cf_key_type *type, unsigned *bits)
{
	if (strcmp(name, "p256") == 0)
		*type = CF_KEY_P256, *bits = 0;
	else if (strcmp(name, "p384") == 0)
		*type = CF_KEY_P384, *bits = 0;
	else if (strcmp(name, "rsa2048") == 0)
		*type = CF_KEY_RSA, *bits = 2048;
	else
		return -1;
	return 0;
}

int config_split_hook(const char *cmd, char *buf, size_t buf_len, char **argv, size_t max)
{
	size_t n = 0;
	char *s, *save = NULL;

	if (snprintf(buf, buf_len, "%s", cmd) >= (int)buf_len)
		return -1;
	for (s = strtok_r(buf, " \t", &save); s; s = strtok_r(NULL, " \t", &save)) {
		if (n + 1 >= max)
			return -1;
		argv[n++] = s;
	}
	argv[n] = NULL;
	return (int)n;
}

static char *trim(char *s)
{
	char *e;

	s += strspn(s, " \t");
	e = s + strlen(s);
	while (e > s && strchr(" \t\r\n", e[-1]))
		*--e = '\0';
	return s;
}

static int name_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n < 64 &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

/* Copy an absolute path, or fail with the key's name. */
static int set_path(struct parser *p, const char *key, const char *v, char *dst, size_t cap)
{
	if (v[0] != '/')
		return perr(p, "%s must be an absolute path", key);
	if (strlen(v) >= cap)
		return perr(p, "%s is too long", key);
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

/* "[credential NAME]" */
static int section(struct parser *p, char *s)
{
	char *name, *end = strchr(s, ']');
	struct agent_cred *grown;

	if (!end || end[1] != '\0' || strncmp(s, "[credential", 11) != 0 || !strchr(" \t", s[11]))
		return perr(p, "expected [credential NAME]");
	*end = '\0';
	name = trim(s + 11);
	if (!name_ok(name))
		return perr(p, "credential name must be 1 to 63 of A-Z a-z 0-9 . _ -");
	if (config_find(p->cfg, name))
		return perr(p, "credential %s is defined twice", name);
	if (p->cfg->n == AGENT_MAX_CREDENTIALS)
		return perr(p, "more than %d credentials", AGENT_MAX_CREDENTIALS);
	grown = realloc(p->cfg->cred, (p->cfg->n + 1) * sizeof(*grown));
	if (!grown)
		return CF_ENOMEM;
	p->cfg->cred = grown;
	p->cur = &grown[p->cfg->n++];
	memset(p->cur, 0, sizeof(*p->cur));
	memcpy(p->cur->name, name, strlen(name) + 1);
	p->seen = 0;
	p->section_line = p->line;
	return 0;
}

static int global_key(struct parser *p, const char *k, const char *v)
{
	if (strcmp(k, "status_file") != 0)
		return perr(p, "unknown key '%s' (the global key is status_file)", k);
	if (p->status_seen++)
		return perr(p, "status_file is given twice");
	return set_path(p, k, v, p->cfg->status_file, sizeof(p->cfg->status_file));
}

static int cred_key(struct parser *p, const char *k, const char *v)
{
	static const struct {
		const char *name;
		unsigned bit;
	} keys[] = {{"server", K_SERVER},    {"ca", K_CA},     {"dir", K_DIR},
		    {"key_type", K_KEYTYPE}, {"hook", K_HOOK}, {"password_file", K_PASSWORD}};
	struct agent_cred *c = p->cur;
	unsigned bit = 0;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(k, keys[i].name) == 0)
			bit = keys[i].bit;
	if (!bit)
		return perr(p, "unknown key '%s' in [credential %s]%s", k, c->name,
			    strcmp(k, "status_file") == 0 ? " (global keys come first)" : "");
	if (p->seen & bit)
		return perr(p, "%s is given twice in [credential %s]", k, c->name);
	p->seen |= bit;
	switch (bit) {
	case K_SERVER:
		if (strncmp(v, "https://", 8) != 0 && strncmp(v, "http://", 7) != 0)
			return perr(p, "server must be an https:// URL");
		if (strlen(v) >= sizeof(c->server))
			return perr(p, "server is too long");
		memcpy(c->server, v, strlen(v) + 1);
		return 0;
	case K_CA:
		return set_path(p, k, v, c->ca, sizeof(c->ca));
	case K_DIR:
		return set_path(p, k, v, c->dir, sizeof(c->dir));
	case K_PASSWORD:
		return set_path(p, k, v, c->password_file, sizeof(c->password_file));
	case K_KEYTYPE:
		if (config_key_type(v, &c->key_type, &c->key_bits) != 0)
			return perr(p, "key_type must be p256, p384 or rsa2048");
		return 0;
	default: { /* K_HOOK */
		char buf[sizeof(c->hook)], *argv[HOOK_MAX_WORDS];
		if (config_split_hook(v, buf, sizeof(buf), argv, HOOK_MAX_WORDS) <= 0)
			return perr(p, "hook must be a command of at most %d words",
				    HOOK_MAX_WORDS - 1);
		memcpy(c->hook, v, strlen(v) + 1);
		return 0;
	}
	}
}

/* The section just ended has what it needs. */
static int section_end(struct parser *p)
{
	int line = p->line;

	if (!p->cur || (p->seen & K_DIR))
		return 0;
	p->line = p->section_line;
	perr(p, "[credential %s] has no dir", p->cur->name);
	p->line = line;
	return CF_EUSAGE;
}

static int parse_line(struct parser *p, char *raw)
{
	char *s = trim(raw), *eq;

	if (!*s || *s == '#')
		return 0;
	if (*s == '[') {
		int ret = section_end(p);
		return ret ? ret : section(p, s);
	}
	if (!(eq = strchr(s, '=')))
		return perr(p, "expected key = value");
	*eq = '\0';
	s = trim(s);
	eq = trim(eq + 1);
	if (!*s)
		return perr(p, "expected key = value");
	if (!*eq)
		return perr(p, "%s has no value", s);
	return p->cur ? cred_key(p, s, eq) : global_key(p, s, eq);
}

int config_load(const char *path, struct agent_config *cfg, char *err, size_t err_len)
{
	struct agent_config tmp;
	struct parser p = {.path = path, .err = err, .err_len = err_len, .cfg = &tmp};
	char line[LINE_MAX_LEN + 2];
	FILE *f = fopen(path, "re");
	int ret = 0;

	if (!f) {
		snprintf(err, err_len, "cannot read %s: %s", path, strerror(errno));
		return CF_EIO;
	}
	memset(&tmp, 0, sizeof(tmp));
	snprintf(tmp.status_file, sizeof(tmp.status_file), "%s", AGENT_STATUS_DEFAULT);
	while (ret == 0 && fgets(line, sizeof(line), f)) {
		p.line++;
		if (strlen(line) > LINE_MAX_LEN && !strchr(line, '\n'))
			ret = perr(&p, "line longer than %d characters", LINE_MAX_LEN);
		else
			ret = parse_line(&p, line);
	}
	if (ret == 0 && ferror(f)) {
		snprintf(err, err_len, "cannot read %s: %s", path, strerror(errno));
		ret = CF_EIO;
	}
	if (ret == 0)
		ret = section_end(&p);
	if (ret == 0 && tmp.n == 0) {
		p.line++;
		ret = perr(&p, "no [credential NAME] section");
	}
	fclose(f);
	if (ret != 0) {
		config_free(&tmp);
		return ret;
	}
	snprintf(tmp.path, sizeof(tmp.path), "%s", path);
	*cfg = tmp;
	return 0;
}

int config_from_dir(const char *dir, struct agent_config *cfg)
{
	const char *base;
	size_t n = strlen(dir);

	memset(cfg, 0, sizeof(*cfg));
	if (!(cfg->cred = calloc(1, sizeof(*cfg->cred))))
		return CF_ENOMEM;
	cfg->n = 1;
	snprintf(cfg->cred[0].dir, sizeof(cfg->cred[0].dir), "%s", dir);
	/* the name: the last component, without trailing slashes */
	while (n > 1 && dir[n - 1] == '/')
		n--;
	base = dir + n;
	while (base > dir && base[-1] != '/')
		base--;
	snprintf(cfg->cred[0].name, sizeof(cfg->cred[0].name), "%.*s",
		 (int)(n - (size_t)(base - dir)), base);
	if (!cfg->cred[0].name[0])
		snprintf(cfg->cred[0].name, sizeof(cfg->cred[0].name), "%s", dir);
	return 0;
}

void config_free(struct agent_config *cfg)
{
	free(cfg->cred);
	cfg->cred = NULL;
	cfg->n = 0;
}

const struct agent_cred *config_find(const struct agent_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n; i++)
		if (strcmp(cfg->cred[i].name, name) == 0)
			return &cfg->cred[i];
	return NULL;
}
