/*
 * template — the message templates: files NAME.email ("Subject: ..." line, blank line, body) and
 * NAME.sms (body only) in the templates directory, with {{variable}} placeholders. The defaults
 * below are written into the directory when a file is missing (an operator's edits are never
 * overwritten); every template is checked at load, so a typo in a placeholder stops the server
 * at start instead of mailing "{{refrence}}" to a user.
 */
#include "notify_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cf_err.h"
#include "cf_file.h"
#include "cf_log.h"

#define VAR_NAME_MAX 31
#define MAX_VARS 6

struct tmpl_def {
	const char *name;
	int channel;
	const char *vars[MAX_VARS]; /* NULL-terminated */
	const char *text;	    /* default file content */
};

static const struct tmpl_def defs[] = {
    {"reference",
     NOTIFY_EMAIL,
     {"givenName", "reference", "expiresAt", "portal", NULL},
     "Subject: certflow: your reference number\n"
     "\n"
     "Hello {{givenName}},\n"
     "\n"
     "your application for a certflow credential has been approved.\n"
     "\n"
     "Your reference number: {{reference}}\n"
     "It can be used until {{expiresAt}}.\n"
     "\n"
     "Your activation code comes in a separate e-mail, inside an envelope that only\n"
     "the passphrase you chose when you applied can open. This page shows how to\n"
     "activate your credential with the reference number, the envelope and that\n"
     "passphrase:\n"
     "\n"
     "Activate: {{portal}}/#/activate\n"
     "\n"
     "Keep this number: with the emergency code of the envelope it suspends your\n"
     "credential on this page if your device is lost or stolen:\n"
     "\n"
     "Emergency suspension: {{portal}}/#/emergency\n"
     "\n"
     "For a device: its operator activates it on the device instead, with\n"
     "certflow-agent enrol.\n"},
    {"envelope",
     NOTIFY_EMAIL,
     {"givenName", "envelope", "envelopeNumber", "portal", NULL},
     "Subject: certflow: your envelope\n"
     "\n"
     "Hello {{givenName}},\n"
     "\n"
     "below is your envelope number {{envelopeNumber}}. It holds your activation code\n"
     "and your emergency code, sealed with the passphrase you chose when you applied.\n"
     "Keep the lines from BEGIN to END (included): this page shows how to activate\n"
     "your credential with them, your reference number and that passphrase:\n"
     "\n"
     "Activate: {{portal}}/#/activate\n"
     "\n"
     "{{envelope}}\n"
     "\n"
     "Keep the emergency code apart from your device: with your reference number it\n"
     "suspends your credential on this page if the device is lost or stolen:\n"
     "\n"
     "Emergency suspension: {{portal}}/#/emergency\n"
     "\n"
     "For a device: its operator saves the lines from BEGIN to END in a file on the\n"
     "device and opens it with certflow-agent envelope open FILE.\n"},
    {"remote-credentials",
     NOTIFY_EMAIL,
     {"givenName", "userId", "password", "reference", "portal", NULL},
     "Subject: certflow: your portal login\n"
     "\n"
     "Hello {{givenName}},\n"
     "\n"
     "your application for a remote signing certificate has been approved. Your key\n"
     "is made and kept by the server; you unlock it with your PIN and a one-time code.\n"
     "\n"
     "Portal user id: {{userId}}\n"
     "First password: {{password}}\n"
     "Reference number: {{reference}}\n"
     "\n"
     "Log in to the portal with the user id and this password: you choose a new\n"
     "password first.\n"
     "\n"
     "Portal: {{portal}}/#/login\n"
     "\n"
     "Your PIN and PUK come in a separate e-mail, inside an envelope that only the\n"
     "passphrase you chose when you applied opens. Activate your certificate in the\n"
     "portal with the PUK, a new PIN of 8 digits and the one-time code sent to your\n"
     "phone.\n"
     "\n"
     "Keep the reference number: with the emergency code of the envelope it suspends\n"
     "your certificate if your login or PIN is stolen.\n"},
    {"remote-envelope",
     NOTIFY_EMAIL,
     {"givenName", "envelope", "envelopeNumber", "portal", NULL},
     "Subject: certflow: your PIN and PUK\n"
     "\n"
     "Hello {{givenName}},\n"
     "\n"
     "below is your envelope number {{envelopeNumber}}. It holds the PIN and PUK of\n"
     "your remote signing certificate, your emergency code and your reference number,\n"
     "sealed with the passphrase you chose when you applied. Keep the lines from\n"
     "BEGIN to END (included): when the portal asks for your envelope, copy them into\n"
     "it and give that passphrase.\n"
     "\n"
     "Portal: {{portal}}/#/login\n"
     "\n"
     "{{envelope}}\n"
     "\n"
     "The PUK activates the certificate (with a new PIN of your choice) and unblocks\n"
     "the PIN after too many wrong ones; too many wrong PUKs revoke the certificate.\n"
     "Never give the PIN or PUK to anyone: the portal never asks for them by e-mail.\n"
     "\n"
     "If your login or PIN is stolen, suspend the certificate with the emergency code\n"
     "and your reference number:\n"
     "\n"
     "Emergency suspension: {{portal}}/#/emergency\n"},
    {"rejected",
     NOTIFY_EMAIL,
     {"givenName", "reason", "portal", NULL},
     "Subject: certflow: application rejected\n"
     "\n"
     "Hello {{givenName}},\n"
     "\n"
     "your application for a certflow credential has been rejected.\n"
     "\n"
     "Reason: {{reason}}\n"
     "\n"
     "You may apply again:\n"
     "\n"
     "Apply: {{portal}}/#/apply\n"},
    {"recovery-link",
     NOTIFY_EMAIL,
     {"givenName", "token", "server", "portal", NULL},
     "Subject: certflow: recover your credential\n"
     "\n"
     "Hello {{givenName}},\n"
     "\n"
     "someone, we hope you, asked to recover a certflow credential of this address.\n"
     "If it was not you, ignore this message: nothing changes unless the link below\n"
     "is used.\n"
     "\n"
     "Open this page to choose the credential to recover, answer your security\n"
     "questions and choose a new password:\n"
     "\n"
     "Recover: {{portal}}/#/recovery/{{token}}\n"
     "\n"
     "The link works once and for a short time only. Nobody will ever ask you for it\n"
     "or for the token below: use them only on the page above.\n"
     "\n"
     "Token: {{token}}\n"
     "\n"
     "For a device: its operator saves the token on one line in a file on the device\n"
     "and runs certflow-agent recover --server {{server}} --token-file FILE ...\n"},
    {"password-link",
     NOTIFY_EMAIL,
     {"givenName", "userId", "token", "server", "portal", NULL},
     "Subject: certflow: set a new portal password\n"
     "\n"
     "Hello {{givenName}},\n"
     "\n"
     "someone, we hope you, asked to set a new password for the certflow portal login\n"
     "{{userId}} of this address. If it was not you, ignore this message: nothing\n"
     "changes unless the token below is used, with a one-time code.\n"
     "\n"
     "Open this page to choose a new password. It asks for a one-time code: the one\n"
     "your authenticator app shows if you set one up, else the one that {{server}}\n"
     "then sends to your phone:\n"
     "\n"
     "New password: {{portal}}/#/remote-reset/{{token}}\n"
     "\n"
     "User id: {{userId}}\n"
     "Token: {{token}}\n"
     "\n"
     "The token works once and for a short time only. Nobody will ever ask you for\n"
     "it: type it only into the page above.\n"},
    {"otp",
     NOTIFY_SMS,
     {"code", "minutes", NULL},
     "certflow code: {{code}} (valid {{minutes}} minutes). Never give it to anyone.\n"},
    {"suspended",
     NOTIFY_EMAIL,
     {"givenName", "credential", NULL},
     "Subject: certflow: credential suspended\n"
     "\n"
     "Hello {{givenName}},\n"
     "\n"
     "your certflow credential {{credential}} has been suspended with its emergency\n"
     "code: its certificate is on hold and no longer accepted.\n"
     "\n"
     "If you did not ask for this, contact your certflow operator at once.\n"},
    {"update-notice",
     NOTIFY_EMAIL,
     {"givenName", "credential", "updateBy", "note", "portal", NULL},
     "Subject: certflow: please update your signing certificate\n"
     "\n"
     "Hello {{givenName}},\n"
     "\n"
     "your certflow operator asks you to update the certificate of your remote\n"
     "signing credential {{credential}} by {{updateBy}}.\n"
     "\n"
     "Note: {{note}}\n"
     "\n"
     "Log in to the portal and choose \"update\": you confirm the conditions, give your\n"
     "PIN and two one-time codes, choose a passphrase for a new envelope, and keep your\n"
     "PIN or set a new one. Your current certificate is revoked once the new one is\n"
     "issued. The portal never asks for your PIN or codes by e-mail.\n"
     "\n"
     "Portal: {{portal}}/#/login\n"},
    {"renewal-envelope",
     NOTIFY_EMAIL,
     {"givenName", "credential", "envelope", "envelopeNumber", "portal", NULL},
     "Subject: certflow: your new envelope\n"
     "\n"
     "Hello {{givenName}},\n"
     "\n"
     "your remote signing credential {{credential}} has a new key and certificate.\n"
     "Below is your envelope number {{envelopeNumber}}. It holds your new PUK and your\n"
     "new emergency code, sealed with the passphrase you just chose. Keep the lines\n"
     "from BEGIN to END (included): when the portal asks for your envelope, copy them\n"
     "into it and give that passphrase.\n"
     "\n"
     "Portal: {{portal}}/#/login\n"
     "\n"
     "{{envelope}}\n"
     "\n"
     "Your PIN is the one you kept or chose. The PUK and emergency code of earlier\n"
     "envelopes no longer work.\n"},
};

#define NDEFS (sizeof(defs) / sizeof(defs[0]))
_Static_assert(NDEFS <= NOTIFY_TEMPLATES, "NOTIFY_TEMPLATES too small for the default set");

static const char *ext(int channel)
{
	return channel == NOTIFY_SMS ? "sms" : "email";
}

static int is_var_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-';
}

/* At p (just after "{{"): the variable's name length, or 0 if no "name}}" follows. */
static size_t var_len(const char *p)
{
	size_t n = 0;

	while (is_var_char(p[n]) && n <= VAR_NAME_MAX)
		n++;
	return (n > 0 && n <= VAR_NAME_MAX && p[n] == '}' && p[n + 1] == '}') ? n : 0;
}

static int var_known(const struct tmpl_def *d, const char *name, size_t len)
{
	for (size_t i = 0; i < MAX_VARS && d->vars[i]; i++)
		if (strlen(d->vars[i]) == len && memcmp(d->vars[i], name, len) == 0)
			return 1;
	return 0;
}

/* Every "{{" opens a placeholder naming a variable of the template; no control characters
 * but LF and TAB (and none at all in a subject). */
static int check_text(const struct tmpl_def *d, const char *path, const char *s, int subject)
{
	for (const char *p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if ((c < 0x20 && !(!subject && (c == '\n' || c == '\t'))) || c == 0x7f) {
			fprintf(stderr, "certflowd: %s: control character in the %s\n", path,
				subject ? "subject" : "body");
			return CF_EIO;
		}
		if (p[0] == '{' && p[1] == '{') {
			size_t n = var_len(p + 2), shown = 0;
			if (n == 0 || !var_known(d, p + 2, n)) {
				while (shown < VAR_NAME_MAX && is_var_char(p[2 + shown]))
					shown++;
				fprintf(stderr,
					"certflowd: %s: unknown placeholder {{%.*s}} (variables of "
					"%s: %s %s %s)\n",
					path, (int)shown, p + 2, d->name, d->vars[0],
					d->vars[1] ? d->vars[1] : "", d->vars[2] ? d->vars[2] : "");
				return CF_EIO;
			}
			p += n + 3;
		}
	}
	return 0;
}

/* Drop every CR (files edited elsewhere may end lines with CRLF); text stays NUL-terminated. */
static void drop_cr(char *s)
{
	char *w = s;

	for (char *r = s; *r; r++)
		if (*r != '\r')
			*w++ = *r;
	*w = '\0';
}

static int parse_file(const struct tmpl_def *d, const char *path, char *text, struct tmpl *t)
{
	char *body = text, *nl;
	int ret;

	if (!*text) {
		fprintf(stderr, "certflowd: %s: empty template\n", path);
		return CF_EIO;
	}
	drop_cr(text);
	if (d->channel == NOTIFY_EMAIL) {
		nl = strchr(text, '\n');
		if (strncmp(text, "Subject:", 8) != 0 || !nl || nl[1] != '\n') {
			fprintf(
			    stderr,
			    "certflowd: %s: must start with a \"Subject: ...\" line and a blank "
			    "line\n",
			    path);
			return CF_EIO;
		}
		*nl = '\0';
		body = nl + 2;
		if ((ret = check_text(d, path, text + 8 + (text[8] == ' '), 1)) != 0)
			return ret;
		t->subject = strdup(text + 8 + (text[8] == ' '));
		if (!t->subject)
			return CF_ENOMEM;
	}
	if ((ret = check_text(d, path, body, 0)) != 0)
		return ret;
	t->body = strdup(body);
	return t->body ? 0 : CF_ENOMEM;
}

static int load_one(const char *dir, const struct tmpl_def *d, struct tmpl *t)
{
	char path[NOTIFY_PATH_MAX + 64];
	char *text = NULL;
	size_t len = 0;
	int ret;

	snprintf(path, sizeof(path), "%s/%s.%s", dir, d->name, ext(d->channel));
	/* only a missing default is written: a start on a full disk must not need free space */
	ret = access(path, F_OK) == 0 ? 0 : cf_file_write(path, d->text, strlen(d->text), 0600, 1);
	if (ret != 0 && ret != CF_ECONFLICT) {
		fprintf(stderr, "certflowd: cannot write the default template %s\n", path);
		return CF_EIO;
	}
	ret = cf_file_read(path, NOTIFY_TMPL_MAX, &text, &len);
	if (ret != 0) {
		fprintf(stderr, "certflowd: cannot read the template %s (at most %d octets)\n",
			path, NOTIFY_TMPL_MAX);
		return CF_EIO;
	}
	t->name = d->name;
	t->channel = d->channel;
	if (memchr(text, '\0', len)) {
		fprintf(stderr, "certflowd: %s: NUL octet in the template\n", path);
		ret = CF_EIO;
	} else {
		ret = parse_file(d, path, text, t);
	}
	free(text);
	return ret;
}

int tmpl_load(const char *dir, struct tmpl_set *set)
{
	int ret = 0;

	memset(set, 0, sizeof(*set));
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "certflowd: cannot create the templates directory %s: %s\n", dir,
			strerror(errno));
		return CF_EIO;
	}
	for (size_t i = 0; i < NDEFS && ret == 0; i++)
		ret = load_one(dir, &defs[i], &set->t[i]);
	if (ret != 0)
		tmpl_free(set);
	return ret == CF_ENOMEM ? ret : ret ? CF_EIO : 0;
}

void tmpl_free(struct tmpl_set *set)
{
	for (size_t i = 0; i < NOTIFY_TEMPLATES; i++) {
		free(set->t[i].subject);
		free(set->t[i].body);
	}
	memset(set, 0, sizeof(*set));
}

const struct tmpl *tmpl_find(const struct tmpl_set *set, int channel, const char *name)
{
	for (size_t i = 0; i < NOTIFY_TEMPLATES; i++)
		if (set->t[i].name && set->t[i].channel == channel &&
		    strcmp(set->t[i].name, name) == 0)
			return &set->t[i];
	return NULL;
}

static const char *var_value(const struct notify_var *vars, size_t nvars, const char *name,
			     size_t len)
{
	for (size_t i = 0; i < nvars; i++)
		if (vars[i].name && strlen(vars[i].name) == len &&
		    memcmp(vars[i].name, name, len) == 0)
			return vars[i].value;
	return NULL;
}

struct out {
	char *buf;
	size_t cap, len, line; /* line: length of the current line */
};

/* Append c; a body line longer than RFC 5322 allows is refused. */
static int put(struct out *o, char c)
{
	if (o->len == o->cap)
		return CF_EINTERNAL;
	o->line = c == '\n' ? 0 : o->line + 1;
	if (o->line > NOTIFY_LINE_MAX)
		return CF_EINTERNAL;
	o->buf[o->len++] = c;
	return 0;
}

/* Copy src into o with each {{name}} replaced. A subject takes no control character from a
 * value; a body drops CRs (line ends are LF). */
static int expand(const struct tmpl *t, const char *src, const struct notify_var *vars,
		  size_t nvars, int subject, struct out *o)
{
	int ret;

	for (const char *p = src; *p; p++) {
		size_t n = p[0] == '{' && p[1] == '{' ? var_len(p + 2) : 0;
		const char *v;

		if (n == 0) {
			if ((ret = put(o, *p)) != 0)
				return ret;
			continue;
		}
		v = var_value(vars, nvars, p + 2, n);
		if (!v) {
			cf_error("template %s: no value for {{%.*s}}", t->name, (int)n, p + 2);
			return CF_EINTERNAL;
		}
		for (; *v; v++) {
			unsigned char c = (unsigned char)*v;
			if (subject && (c < 0x20 || c == 0x7f))
				return CF_EMALFORMED;
			if (c == '\r')
				continue;
			if ((ret = put(o, *v)) != 0)
				return ret;
		}
		p += n + 3;
	}
	return 0;
}

int tmpl_render(const struct tmpl *t, const struct notify_var *vars, size_t nvars, char *out,
		size_t cap, size_t *len)
{
	struct out o = {.buf = out, .cap = cap};
	int ret = 0;

	if (t->subject)
		ret = expand(t, t->subject, vars, nvars, 1, &o);
	if (ret == 0)
		ret = put(&o, '\n');
	if (ret == 0)
		ret = expand(t, t->body, vars, nvars, 0, &o);
	if (ret == CF_EINTERNAL && (o.len >= o.cap || o.line > NOTIFY_LINE_MAX))
		cf_error("template %s: message too large or a line over %d octets", t->name,
			 NOTIFY_LINE_MAX);
	if (ret != 0)
		return ret;
	*len = o.len;
	return 0;
}
