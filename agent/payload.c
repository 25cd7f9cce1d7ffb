/*
 * payload — the inputs and the request payloads of a person's journeys (journey.c): secrets
 * read from a file or standard input as lines, and JSON payloads built in one buffer.
 *
 * Never: let a secret be copied where it cannot be wiped — no stdio buffer reads a secret file,
 * and the payload buffer grows by hand (realloc could leave a copy behind in freed memory).
 */
#include "agent.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cf_err.h"

#define FIELD_MAX 1024 /* the server has the exact limits; this only bounds the form */

/* ---- secrets from a file or standard input ---- */

/* Split s->buf into lines: '\r' before '\n' dropped, white space trimmed when trim. Exactly
 * nlines non-empty lines (empty lines after them are ignored) or CF_EMALFORMED. */
static int split_lines(struct agent_secret *s, int nlines, int trim)
{
	char *p = s->buf, *nl, *e;
	int n = 0;

	while (*p) {
		if ((nl = strchr(p, '\n')))
			*nl = '\0';
		e = p + strlen(p);
		if (e > p && e[-1] == '\r')
			*--e = '\0';
		if (trim) {
			while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
				*--e = '\0';
			p += strspn(p, " \t");
		}
		if (n < nlines)
			s->line[n++] = p;
		else if (*p)
			return CF_EMALFORMED;
		if (!nl)
			break;
		p = nl + 1;
	}
	for (int i = 0; i < nlines; i++)
		if (i >= n || !s->line[i][0])
			return CF_EMALFORMED;
	s->n = n;
	return 0;
}

int agent_secret_read(const char *path, const char *prompt, int nlines, int trim,
		      struct agent_secret *s)
{
	struct termios old, quiet;
	int fd = 0, tty = 0, seen = 0, ret = 0;
	size_t n = 0;

	memset(s, 0, sizeof(*s));
	if (nlines < 1 || nlines > AGENT_SECRET_LINES)
		return CF_EUSAGE;
	if (strcmp(path, "-") != 0 && (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return errno == ENOENT ? CF_ENOTFOUND : CF_EIO;
	if (fd == 0 && isatty(0) && tcgetattr(0, &old) == 0) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tty = tcsetattr(0, TCSAFLUSH, &quiet) == 0;
		fprintf(stderr, "%s: ", prompt);
	}
	/* One octet at a time: no stdio buffer keeps a copy, and standard input is read no further
	 * than the lines asked for. */
	while (n + 1 < sizeof(s->buf)) {
		ssize_t k = read(fd, s->buf + n, 1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			ret = CF_EIO;
			break;
		}
		if (k == 0 || (s->buf[n++] == '\n' && fd == 0 && ++seen == nlines))
			break;
	}
	if (ret == 0 && n + 1 >= sizeof(s->buf))
		ret = CF_ETOOLARGE;
	if (tty) {
		(void)tcsetattr(0, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	if (fd != 0)
		close(fd);
	if (ret == 0)
		ret = split_lines(s, nlines, trim);
	if (ret != 0)
		cf_zeroize(s, sizeof(*s));
	return ret;
}

int agent_secret_read_new(const char *path, const char *prompt, int trim, struct agent_secret *s)
{
	struct agent_secret again;
	char prompt2[128];
	int ret = agent_secret_read(path, prompt, 1, trim, s);

	if (ret != 0 || strcmp(path, "-") != 0 || !isatty(0))
		return ret;
	snprintf(prompt2, sizeof(prompt2), "%s (again)", prompt);
	ret = agent_secret_read("-", prompt2, 1, trim, &again);
	if (ret == 0 && strcmp(s->line[0], again.line[0]) != 0)
		ret = CF_ECONFLICT;
	cf_zeroize(&again, sizeof(again));
	if (ret != 0)
		cf_zeroize(s, sizeof(*s));
	return ret;
}

/* ---- request payloads ---- */

static void jw_put(struct agent_jw *w, const char *s, size_t n)
{
	char *q;
	size_t cap;

	if (w->err)
		return;
	if (w->len + n + 1 > w->cap) {
		/* grown by hand: realloc could leave a copy of a secret in freed memory */
		cap = (w->len + n + 1) * 2 < 512 ? 512 : (w->len + n + 1) * 2;
		if (!(q = malloc(cap))) {
			w->err = CF_ENOMEM;
			return;
		}
		if (w->p) {
			memcpy(q, w->p, w->len);
			cf_zeroize(w->p, w->cap);
			free(w->p);
		}
		w->p = q;
		w->cap = cap;
	}
	memcpy(w->p + w->len, s, n);
	w->len += n;
	w->p[w->len] = '\0';
}

static void jw_string(struct agent_jw *w, const char *s)
{
	char esc[8];

	jw_put(w, "\"", 1);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\') {
			esc[0] = '\\';
			esc[1] = (char)ch;
			jw_put(w, esc, 2);
		} else if (ch < 0x20) {
			snprintf(esc, sizeof(esc), "\\u%04x", ch);
			jw_put(w, esc, 6);
		} else {
			jw_put(w, s, 1);
		}
	}
	jw_put(w, "\"", 1);
	cf_zeroize(esc, sizeof(esc));
}

/* A comma unless first in its object or array, then "key": (key NULL for an array item). */
static void jw_key(struct agent_jw *w, const char *key)
{
	if (w->len > 0 && w->p && w->p[w->len - 1] != '{' && w->p[w->len - 1] != '[')
		jw_put(w, ",", 1);
	if (key) {
		jw_string(w, key);
		jw_put(w, ":", 1);
	}
}

static void jw_str(struct agent_jw *w, const char *key, const char *val)
{
	jw_key(w, key);
	jw_string(w, val);
}

static void jw_open(struct agent_jw *w, const char *key, char bracket)
{
	jw_key(w, key);
	jw_put(w, &bracket, 1);
}

static void jw_close(struct agent_jw *w, char bracket)
{
	jw_put(w, &bracket, 1);
}

/* The finished text (the caller frees it with cf_free_secret), or NULL and nothing left. */
static char *jw_end(struct agent_jw *w)
{
	if (w->err && w->p) {
		cf_zeroize(w->p, w->cap);
		free(w->p);
		w->p = NULL;
	}
	return w->p;
}

void agent_jw_str(struct agent_jw *w, const char *key, const char *val)
{
	jw_str(w, key, val);
}

void agent_jw_raw(struct agent_jw *w, const char *key, const char *literal)
{
	jw_key(w, key);
	jw_put(w, literal, strlen(literal));
}

void agent_jw_open(struct agent_jw *w, const char *key, char bracket)
{
	jw_open(w, key, bracket);
}

void agent_jw_close(struct agent_jw *w, char bracket)
{
	jw_close(w, bracket);
}

char *agent_jw_end(struct agent_jw *w)
{
	return jw_end(w);
}

static void jw_lines(struct agent_jw *w, const char *key, const struct agent_secret *s)
{
	jw_open(w, key, '[');
	for (int i = 0; i < s->n; i++)
		jw_str(w, NULL, s->line[i]);
	jw_close(w, ']');
}

static const char *const apply_strings[] = {"profile", "givenName", "surname", "uniqueId",
					    "email",   "altEmail",  "mobile"};

/* questions: [{question, answer}, ...] of the form, as they are. */
static int apply_questions(struct agent_jw *w, const cf_json *form, const char **bad)
{
	const cf_json *qs = cf_json_get(form, "questions"), *q;
	const char *text, *answer;

	*bad = "\"questions\" must be an array of {\"question\", \"answer\"} objects";
	if (!cf_json_is_array(qs) || cf_json_array_size(qs) == 0)
		return CF_EMALFORMED;
	jw_open(w, "questions", '[');
	for (size_t i = 0; (q = cf_json_array_item(qs, i)); i++) {
		if (cf_json_get_str(q, "question", FIELD_MAX, &text) != 0 ||
		    cf_json_get_str(q, "answer", FIELD_MAX, &answer) != 0)
			return CF_EMALFORMED;
		jw_open(w, NULL, '{');
		jw_str(w, "question", text);
		jw_str(w, "answer", answer);
		jw_close(w, '}');
	}
	jw_close(w, ']');
	return 0;
}

/* The form's consents: an array of names, as they are. */
static int apply_consents(struct agent_jw *w, const cf_json *form, const char **bad)
{
	const cf_json *consents = cf_json_get(form, "consents"), *item;
	const char *v;

	*bad = "\"consents\" must be an array of names";
	if (!cf_json_is_array(consents))
		return CF_EMALFORMED;
	jw_open(w, "consents", '[');
	for (size_t i = 0; (item = cf_json_array_item(consents, i)); i++) {
		if (cf_json_str(item, FIELD_MAX, &v) != 0)
			return CF_EMALFORMED;
		jw_str(w, NULL, v);
	}
	jw_close(w, ']');
	return 0;
}

int agent_apply_payload(const cf_json *form, const char *passphrase, char **out, const char **bad)
{
	static char msg[64];
	struct agent_jw w = {0};
	const char *v;
	int ret = 0;

	jw_put(&w, "{", 1);
	for (size_t i = 0; ret == 0 && i < sizeof(apply_strings) / sizeof(*apply_strings); i++) {
		if (cf_json_get_str(form, apply_strings[i], FIELD_MAX, &v) == 0) {
			jw_str(&w, apply_strings[i], v);
			continue;
		}
		snprintf(msg, sizeof(msg), "needs \"%s\", a non-empty string", apply_strings[i]);
		*bad = msg;
		ret = CF_EMALFORMED;
	}
	if (ret == 0)
		ret = apply_questions(&w, form, bad);
	if (ret == 0)
		ret = apply_consents(&w, form, bad);
	if (ret != 0)
		w.err = ret; /* nothing more is written, and jw_end wipes what was */
	jw_str(&w, "envelopePassphrase", passphrase);
	jw_close(&w, '}');
	if (!jw_end(&w))
		return ret ? ret : CF_ENOMEM;
	*out = w.p;
	return 0;
}

char *agent_recover_payload(const char *token, const struct agent_secret *answers, const char *otp,
			    const char *credential, const char *passphrase)
{
	struct agent_jw w = {0};

	jw_put(&w, "{", 1);
	jw_str(&w, "token", token);
	if (answers)
		jw_lines(&w, "answers", answers);
	if (otp)
		jw_str(&w, "otp", otp);
	if (credential)
		jw_str(&w, "credential", credential);
	if (passphrase)
		jw_str(&w, "envelopePassphrase", passphrase);
	jw_close(&w, '}');
	return jw_end(&w);
}

char *agent_pair_payload(const char *k1, const char *v1, const char *k2, const char *v2)
{
	struct agent_jw w = {0};

	jw_put(&w, "{", 1);
	jw_str(&w, k1, v1);
	if (k2)
		jw_str(&w, k2, v2);
	jw_close(&w, '}');
	return jw_end(&w);
}

char *agent_renew_payload(const char *reference, const struct agent_secret *answers)
{
	struct agent_jw w = {0};

	jw_put(&w, "{", 1);
	jw_str(&w, "reference", reference);
	jw_lines(&w, "answers", answers);
	jw_close(&w, '}');
	return jw_end(&w);
}
