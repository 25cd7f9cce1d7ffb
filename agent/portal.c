/*
 * portal — the holder of a remote credential (spec/cli.md "Remote credentials", spec/
 * protocol.md §23-§26): login and the session file, the password, the portal's status, SMS
 * codes, activation, unblocking and PIN change, remote signing through the CSC API subset,
 * renewal and update. Every request but login carries the session's bearer token and a plain
 * JSON body (client_bearer_post); login is signed with a throwaway key (jwk) like apply.
 *
 * Never: take a secret (password, PIN, PUK, envelope passphrase) from the command line, print
 * one or the session token, or keep one longer than its request: every buffer is wiped.
 */
#include "portal.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "cf_b64.h"
#include "cf_clock.h"
#include "cf_err.h"
#include "cf_file.h"
#include "cf_policy.h"
#include "client.h"

#define SESSION_MAX (16 * 1024)
#define TOKEN_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
#define EXPIRED_LINE "session expired: run certflow-agent login"

/* ---- the session file ---- */

int portal_session_save(const char *path, const struct portal_session *s)
{
	struct agent_jw w = {0};
	char t[21];
	int ret;

	if (!s->server[0] || !s->token[0])
		return CF_EUSAGE;
	cf_time_format(s->expires_at, t);
	agent_jw_open(&w, NULL, '{');
	agent_jw_str(&w, "server", s->server);
	if (s->ca[0])
		agent_jw_str(&w, "ca", s->ca);
	agent_jw_str(&w, "token", s->token);
	agent_jw_str(&w, "expiresAt", t);
	agent_jw_str(&w, "userId", s->user_id);
	agent_jw_close(&w, '}');
	if (!agent_jw_end(&w))
		return CF_ENOMEM;
	ret = cf_file_write(path, w.p, w.len, 0600, 0);
	cf_free_secret(w.p);
	return ret;
}

static int copy_str(char *dst, size_t cap, const char *src)
{
	if (!src || strlen(src) >= cap)
		return CF_EMALFORMED;
	memcpy(dst, src, strlen(src) + 1);
	return 0;
}

/* The members of a session document (file or login answer) into s; server and ca apart. */
static int session_members(const cf_json *doc, struct portal_session *s)
{
	const char *token = NULL, *exp = NULL, *user = NULL;

	if (cf_json_get_str(doc, "token", sizeof(s->token) - 1, &token) != 0 ||
	    strspn(token, TOKEN_CHARS) != strlen(token) ||
	    cf_json_get_str(doc, "expiresAt", 32, &exp) != 0 ||
	    cf_time_parse(exp, &s->expires_at) != 0 ||
	    cf_json_get_str_opt(doc, "userId", sizeof(s->user_id) - 1, &user) != 0)
		return CF_EMALFORMED;
	memcpy(s->token, token, strlen(token) + 1);
	if (user)
		memcpy(s->user_id, user, strlen(user) + 1);
	return 0;
}

int portal_session_load(const char *path, struct portal_session *s)
{
	const char *server = NULL, *ca = NULL;
	cf_json *doc = NULL;
	char *text = NULL;
	size_t len = 0;
	int ret;

	memset(s, 0, sizeof(*s));
	if ((ret = cf_file_read(path, SESSION_MAX, &text, &len)) != 0)
		return ret;
	ret = cf_json_parse(text, len, &doc);
	cf_zeroize(text, len);
	free(text);
	if (ret == 0 &&
	    (!cf_json_is_object(doc) ||
	     cf_json_get_str(doc, "server", sizeof(s->server) - 1, &server) != 0 ||
	     cf_json_get_str_opt(doc, "ca", sizeof(s->ca) - 1, &ca) != 0 ||
	     copy_str(s->server, sizeof(s->server), server) != 0 ||
	     (ca && copy_str(s->ca, sizeof(s->ca), ca) != 0) || session_members(doc, s) != 0))
		ret = CF_EMALFORMED;
	cf_json_free(doc); /* wipes the token's copy */
	if (ret == 0 && s->expires_at <= cf_now())
		ret = CF_ESESSION;
	if (ret != 0)
		cf_zeroize(s, sizeof(*s));
	if (ret == CF_EMALFORMED || ret == CF_EPROTO)
		return CF_EMALFORMED;
	return ret; /* 0, CF_ENOTFOUND, CF_EIO, CF_ENOMEM, CF_ESESSION */
}

int portal_session_from(const cf_json *resp, const char *server, const char *ca,
			const char *user_id, struct portal_session *s)
{
	memset(s, 0, sizeof(*s));
	if (!cf_json_is_object(resp) || copy_str(s->server, sizeof(s->server), server) != 0 ||
	    (ca && copy_str(s->ca, sizeof(s->ca), ca) != 0) ||
	    (user_id && copy_str(s->user_id, sizeof(s->user_id), user_id) != 0) ||
	    session_members(resp, s) != 0) {
		cf_zeroize(s, sizeof(*s));
		return CF_EPROTO;
	}
	return 0;
}

/* ---- inputs ---- */

/* One secret line of path ("-": standard input) into s, checked by kind; an error line printed.
 * kind: 'p' password (any), 'P' a new password (the policy), 'n' a PIN (8 digits), 'k' a PUK
 * (digits), 'e' an envelope passphrase (the policy). */
static int secret(const char *path, const char *what, char kind, struct agent_secret *s)
{
	int trim = kind != 'p' && kind != 'P' && kind != 'e';
	/* one chosen now is asked twice at a terminal */
	int new = kind == 'P' || kind == 'e' || strncmp(what, "new ", 4) == 0;
	int ret = new ? agent_secret_read_new(path, what, trim, s)
		      : agent_secret_read(path, what, 1, trim, s);
	const char *why = NULL, *line;
	size_t n;

	if (ret != 0) {
		agent_err("%s from %s: %s", what, strcmp(path, "-") ? path : "standard input",
			  ret == CF_ECONFLICT	 ? AGENT_SECRET_DIFFER
			  : ret == CF_EMALFORMED ? "empty, or more than one line"
			  : ret == CF_ENOTFOUND	 ? "no such file"
			  : ret == CF_ETOOLARGE	 ? "too long"
						 : cf_strerror(ret));
		return AGENT_FAIL;
	}
	line = s->line[0];
	n = strlen(line);
	if (kind == 'n' && (n != 8 || strspn(line, "0123456789") != n))
		why = "must be exactly 8 digits";
	else if (kind == 'k' && (n < 8 || n > 32 || strspn(line, "0123456789") != n))
		why = "must be the digits of your envelope";
	else if ((kind == 'P' || kind == 'e') && cf_password_check(line, &why) != 0 && !why)
		why = "does not meet the password policy (see --help)";
	if (why) {
		agent_err("%s from %s %s", what, strcmp(path, "-") ? path : "standard input", why);
		cf_zeroize(s, sizeof(*s));
		return AGENT_FAIL;
	}
	return AGENT_OK;
}

/* The one-time password of --otp: 4 to 10 digits, else a usage error. */
static int otp_ok(const char *otp)
{
	size_t n = otp ? strlen(otp) : 0;

	if (n < 4 || n > 10 || strspn(otp, "0123456789") != n) {
		agent_err("--otp must be the 4 to 10 digits of the SMS or authenticator code");
		return AGENT_USAGE;
	}
	return AGENT_OK;
}

/* --consents "a,b" as the array member consents of w; AGENT_USAGE if empty or with an empty
 * name. */
static int consents_put(struct agent_jw *w, const char *list)
{
	char name[128];
	const char *p = list, *comma;
	size_t n;

	agent_jw_open(w, "consents", '[');
	do {
		comma = strchr(p, ',');
		n = comma ? (size_t)(comma - p) : strlen(p);
		if (n == 0 || n >= sizeof(name)) {
			agent_err(
			    "--consents must be names separated by commas (\"terms,privacy\")");
			return AGENT_USAGE;
		}
		memcpy(name, p, n);
		name[n] = '\0';
		agent_jw_str(w, NULL, name);
		p = comma + 1;
	} while (comma);
	agent_jw_close(w, ']');
	return AGENT_OK;
}

/* ---- the conversation with the server ---- */

struct portal {
	client *c;
	struct portal_session s;
	const char *path; /* the session file */
};

static void portal_end(struct portal *p)
{
	client_free(p->c);
	cf_zeroize(&p->s, sizeof(p->s));
	p->c = NULL;
}

static int portal_open(const struct agent_opts *o, struct portal *p)
{
	int ret = portal_session_load(o->session_file, &p->s);

	p->c = NULL;
	p->path = o->session_file;
	if (ret == CF_ENOTFOUND || ret == CF_ESESSION) {
		agent_err(EXPIRED_LINE);
		return AGENT_FAIL;
	}
	if (ret != 0) {
		agent_err("%s is not a session file (%s): run certflow-agent login",
			  o->session_file, cf_strerror(ret));
		return AGENT_FAIL;
	}
	if ((ret = client_new(p->s.server, p->s.ca[0] ? p->s.ca : NULL, &p->c)) != 0) {
		agent_err("cannot use server %s: %s", p->s.server, cf_strerror(ret));
		portal_end(p);
		return AGENT_FAIL;
	}
	return AGENT_OK;
}

/* src into dst with control characters as '?': the server's words stay on one line. */
static const char *one_line(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src);
	for (char *p = dst; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return dst;
}

/* The one error line of a refusal: "<title>: <detail> (attempts left: N)"; a session the server
 * no longer knows is EXPIRED_LINE. */
static int refused(client *c, const struct client_problem *prob)
{
	const cf_json *doc = client_last_problem(c);
	const char *title = NULL;
	char extra[128] = "", t[256], d[sizeof(prob->detail)], r[sizeof(prob->retry_after)];
	int64_t left = -1;

	if (prob->code == CF_ESESSION) {
		agent_err(EXPIRED_LINE);
		return AGENT_FAIL;
	}
	one_line(d, sizeof(d), prob->detail);
	if (!doc) { /* no answer at all, or not a problem document */
		agent_err("%s: %s", cf_strerror(prob->code), d);
		return AGENT_FAIL;
	}
	if (cf_json_get_str_opt(doc, "title", 200, &title) != 0 || !title)
		title = cf_strerror(prob->code);
	one_line(t, sizeof(t), title);
	if (cf_json_get(doc, "attemptsLeft") &&
	    cf_json_get_int(doc, "attemptsLeft", 0, INT32_MAX, &left) == 0)
		snprintf(extra, sizeof(extra), " (attempts left: %" PRId64 ")", left);
	else if (prob->retry_after[0])
		snprintf(extra, sizeof(extra), " (try again after %.40s)",
			 one_line(r, sizeof(r), prob->retry_after));
	if (strcmp(t, d) == 0)
		agent_err("%s%s", t, extra);
	else
		agent_err("%s: %s%s", t, d, extra);
	return AGENT_FAIL;
}

/* POST payload (taken: wiped and freed; NULL: out of memory) to path with the session's token:
 * AGENT_OK and *resp (a JSON object, or NULL if the answer has no body), or the error line. */
static int call(struct portal *p, const char *path, char *payload, cf_json **resp)
{
	struct client_problem prob;
	int ret;

	*resp = NULL;
	if (!payload) {
		agent_err("%s", cf_strerror(CF_ENOMEM));
		return AGENT_FAIL;
	}
	ret = client_bearer_post(p->c, path, p->s.token, payload, resp, &prob);
	cf_free_secret(payload);
	if (ret != 0)
		return refused(p->c, &prob);
	if (*resp && !cf_json_is_object(*resp)) {
		cf_json_free(*resp);
		*resp = NULL;
		agent_err("the server's answer to %s is not a JSON object", path);
		return AGENT_FAIL;
	}
	return AGENT_OK;
}

/* Write text from the server with control characters shown as '?'. */
static void put_clean(const char *text)
{
	for (const unsigned char *c = (const unsigned char *)text; *c; c++)
		putchar(*c < 0x20 || *c == 0x7f ? '?' : *c);
}

/* "<indent><name>: <value>" (name "": the value alone) for the string or integer member key of
 * doc; nothing if absent. */
static void show(const char *indent, const char *name, const cf_json *doc, const char *key)
{
	const char *v = NULL;
	int64_t n;
	int str = cf_json_get_str(doc, key, 4096, &v) == 0;

	if (!str && cf_json_get_int(doc, key, INT64_MIN, INT64_MAX, &n) != 0)
		return;
	if (*name)
		printf("%s%s: ", indent, name);
	if (str)
		put_clean(v);
	else
		printf("%" PRId64, n);
	putchar('\n');
}

static int done(void)
{
	return fflush(stdout) == 0 ? AGENT_OK : AGENT_FAIL;
}

/* ---- login, password, logout ---- */

int portal_login_finish(const cf_json *resp, const char *server, const char *ca,
			const char *user_id, const char *session_file)
{
	struct portal_session s;
	const cf_json *n;
	int must = 0, ret;

	if (portal_session_from(resp, server, ca, user_id, &s) != 0 ||
	    (cf_json_get(resp, "mustChangePassword") &&
	     cf_json_get_bool(resp, "mustChangePassword", &must) != 0)) {
		agent_err("the server's answer to the login holds no session");
		return AGENT_FAIL;
	}
	ret = portal_session_save(session_file, &s);
	cf_zeroize(&s, sizeof(s));
	if (ret != 0) {
		agent_err("cannot write %s: %s", session_file, cf_strerror(ret));
		return AGENT_FAIL;
	}
	show("", "userId", resp, "userId");
	show("", "expiresAt", resp, "expiresAt");
	printf("mustChangePassword: %s\n", must ? "yes" : "no");
	for (size_t i = 0; (n = cf_json_array_item(cf_json_get(resp, "notices"), i)); i++) {
		printf("notice: credential ");
		show("", "", n, "credentialId");
		show("  ", "updateBy", n, "updateBy");
		show("  ", "note", n, "note");
	}
	if (must)
		printf("next: change the password first: certflow-agent password --session-file "
		       "S --password-file OLD --new-password-file NEW\n");
	return done();
}

int agent_login(const struct agent_opts *o)
{
	struct client_problem prob;
	struct agent_secret pw;
	char ca[PATH_MAX], url[600], *payload;
	cf_json *resp = NULL;
	const char *dir_url;
	cf_key *key = NULL;
	client *c = NULL;
	int ret;

	if (!realpath(o->ca, ca)) {
		agent_err("--ca %s: %s", o->ca, strerror(errno));
		return AGENT_USAGE;
	}
	if (secret(o->password_file, "password", 'p', &pw) != AGENT_OK)
		return AGENT_FAIL;
	payload = agent_pair_payload("userId", o->user, "password", pw.line[0]);
	cf_zeroize(&pw, sizeof(pw));
	ret = client_new(o->server, ca, &c);
	if (ret == 0 && (ret = client_directory(c, &prob)) != 0) {
		agent_err("cannot reach %s: %s", o->server, prob.detail);
		ret = AGENT_FAIL;
		goto out;
	}
	if (ret != 0) {
		agent_err("cannot use server %s: %s", o->server,
			  ret == CF_EUSAGE ? "not an https:// URL (http:// only on loopback)"
					   : cf_strerror(ret));
		ret = ret == CF_EUSAGE ? AGENT_USAGE : AGENT_FAIL;
		goto out;
	}
	/* the directory's login URL, else the route of spec/protocol.md §23 on the server */
	if ((dir_url = client_dir_url(c, "login")))
		snprintf(url, sizeof(url), "%s", dir_url);
	else
		snprintf(url, sizeof(url), "%s/v1/login", client_server(c));
	ret = payload ? cf_key_generate(CF_KEY_P256, 0, &key) : CF_ENOMEM;
	if (ret != 0) {
		agent_err("%s", cf_strerror(ret));
		ret = AGENT_FAIL;
	} else if (client_post(c, url, key, NULL, payload, &resp, NULL, &prob) != 0) {
		ret = refused(c, &prob);
	} else {
		ret = portal_login_finish(resp, o->server, ca, o->user, o->session_file);
	}
out:
	cf_free_secret(payload);
	cf_json_free(resp);
	cf_key_free(key);
	client_free(c);
	return ret;
}

int agent_password(const struct agent_opts *o)
{
	struct agent_secret old, nw;
	struct portal p;
	cf_json *resp = NULL;
	char *payload;
	int ret;

	if (secret(o->password_file, "password", 'p', &old) != AGENT_OK)
		return AGENT_FAIL;
	if (secret(o->new_password_file, "new password", 'P', &nw) != AGENT_OK) {
		cf_zeroize(&old, sizeof(old));
		return AGENT_FAIL;
	}
	ret = strcmp(old.line[0], nw.line[0]) == 0;
	payload =
	    ret ? NULL : agent_pair_payload("password", old.line[0], "newPassword", nw.line[0]);
	cf_zeroize(&old, sizeof(old));
	cf_zeroize(&nw, sizeof(nw));
	if (ret) {
		agent_err("the new password must differ from the current one");
		return AGENT_FAIL;
	}
	if ((ret = portal_open(o, &p)) != AGENT_OK) {
		cf_free_secret(payload);
		return ret;
	}
	if ((ret = call(&p, "/v1/portal/password", payload, &resp)) == AGENT_OK) {
		printf("password: changed\n");
		ret = done();
	}
	cf_json_free(resp);
	portal_end(&p);
	return ret;
}

int agent_logout(const struct agent_opts *o)
{
	struct portal p;
	cf_json *resp = NULL;
	int ret;

	if ((ret = portal_open(o, &p)) != AGENT_OK)
		return ret;
	ret = call(&p, "/v1/portal/logout", strdup("{}"), &resp);
	cf_json_free(resp);
	portal_end(&p);
	/* the token is of no use any more, whatever the server said */
	if (unlink(o->session_file) != 0 && errno != ENOENT) {
		agent_err("cannot remove %s: %s", o->session_file, strerror(errno));
		return AGENT_FAIL;
	}
	if (ret == AGENT_OK) {
		printf("logged out\n");
		ret = done();
	}
	return ret;
}

/* ---- status and SMS codes ---- */

/* The certificate members of a credential: at its top level or in its "certificate" object. */
static const cf_json *cert_of(const cf_json *cred)
{
	const cf_json *cert = cf_json_get(cred, "certificate");

	return cf_json_is_object(cert) ? cert : cred;
}

/* One credential of the status, as "  name: value" lines after "credential: ID". */
static void print_credential(const cf_json *cred)
{
	const cf_json *r = cf_json_get(cred, "renewal"), *cert = cert_of(cred);
	const char *pin = NULL, *opens = NULL;
	int64_t tries = -1, left = -1, expires_in = -1;
	int offered = 0;

	printf("credential: ");
	show("", "", cred, "id");
	show("  ", "status", cred, "status");
	show("  ", "profile", cred, "profile");
	show("  ", "key", cred, "keyAlgorithm");
	show("  ", "serial", cert, "serial");
	show("  ", "notAfter", cert, "notAfter");
	show("  ", "daysLeft", cred, "daysLeft");
	if (cf_json_is_object(r)) {
		(void)cf_json_get_bool(r, "offered", &offered);
		(void)cf_json_get_str_opt(r, "opensAt", 64, &opens);
		(void)cf_json_get_int(r, "daysLeft", 0, INT32_MAX, &left);
		/* renewal.daysLeft counts to the window's opening; once open, the days left to
		 * renew are those left before the certificate expires */
		(void)cf_json_get_int(cred, "daysLeft", INT32_MIN, INT32_MAX, &expires_in);
		if (offered && expires_in >= 0)
			printf("  renewal: offered (%" PRId64
			       " day%s left to renew, until notAfter)\n",
			       expires_in, expires_in == 1 ? "" : "s");
		else if (offered)
			printf("  renewal: offered\n");
		else if (opens) {
			printf("  renewal: opens ");
			put_clean(opens);
			if (left > 0)
				printf(" (in %" PRId64 " day%s)", left, left == 1 ? "" : "s");
			putchar('\n');
		} else
			printf("  renewal: not offered\n");
	}
	if (cf_json_get_str_opt(cred, "updateBy", 64, &opens) == 0 && opens) {
		printf("  updateBy: ");
		put_clean(opens);
		printf(" (the operator asks for an update: certflow-agent update)\n");
		show("  ", "updateNote", cred, "updateNote");
	}
	(void)cf_json_get_str_opt(cred, "pinStatus", 32, &pin);
	(void)cf_json_get_int(cred, "pinTriesLeft", 0, INT32_MAX, &tries);
	if (pin || tries >= 0) {
		printf("  pin: ");
		put_clean(pin ? pin : "-");
		if (tries >= 0)
			printf(" (%" PRId64 " tries left)", tries);
		putchar('\n');
	}
	show("  ", "pukTriesLeft", cred, "pukTriesLeft");
}

int agent_portal_status(const struct agent_opts *o)
{
	const cf_json *list, *cred;
	struct portal p;
	cf_json *resp = NULL;
	char *text;
	int ret;

	if ((ret = portal_open(o, &p)) != AGENT_OK)
		return ret;
	if ((ret = call(&p, "/v1/portal/status", strdup("{}"), &resp)) != AGENT_OK || !resp) {
		if (ret == AGENT_OK)
			agent_err("the server's status answer is empty");
		portal_end(&p);
		return AGENT_FAIL;
	}
	if (o->json) {
		if ((text = cf_json_print(resp)) != NULL)
			printf("%s\n", text);
		free(text);
	} else {
		show("", "userId", resp, "userId");
		show("", "otp", resp, "otp");
		list = cf_json_get(resp, "credentials");
		for (size_t i = 0; (cred = cf_json_array_item(list, i)); i++)
			print_credential(cred);
		if (cf_json_array_size(list) == 0)
			printf("credentials: none\n");
	}
	cf_json_free(resp);
	portal_end(&p);
	return done();
}

int agent_portal_otp(const struct agent_opts *o)
{
	struct portal p;
	cf_json *resp = NULL;
	int ret;

	if ((ret = portal_open(o, &p)) != AGENT_OK)
		return ret;
	if ((ret = call(&p, "/v1/portal/otp", strdup("{}"), &resp)) == AGENT_OK) {
		printf("otp: sent by SMS\n");
		show("", "sentAt", resp, "sentAt");
		show("", "retryAfter", resp, "retryAfter");
		ret = done();
	}
	cf_json_free(resp);
	portal_end(&p);
	return ret;
}

/* ---- activate, unblock, pin ---- */

/* What a credential answer says: id, status, and the certificate's serial and notAfter. */
static void print_summary(const cf_json *resp)
{
	const cf_json *cred = cf_json_get(resp, "credential");

	if (!cf_json_is_object(cred))
		cred = resp;
	show("", "credential", cred, "id");
	show("", "status", cred, "status");
	show("", "serial", cert_of(cred), "serial");
	show("", "notAfter", cert_of(cred), "notAfter");
}

/* POST {credentialId, <k1>: secret 1, newPin, otp} to path. */
static int pin_change(const struct agent_opts *o, const char *path, const char *k1,
		      const char *file1, const char *what1, char kind1, const char *done_line)
{
	struct agent_secret s1, np;
	struct agent_jw w = {0};
	struct portal p;
	cf_json *resp = NULL;
	int ret;

	if ((ret = otp_ok(o->otp)) != AGENT_OK)
		return ret;
	if (secret(file1, what1, kind1, &s1) != AGENT_OK)
		return AGENT_FAIL;
	if (secret(o->new_pin_file, "new PIN", 'n', &np) != AGENT_OK) {
		cf_zeroize(&s1, sizeof(s1));
		return AGENT_FAIL;
	}
	agent_jw_open(&w, NULL, '{');
	agent_jw_str(&w, "credentialId", o->credential);
	agent_jw_str(&w, k1, s1.line[0]);
	agent_jw_str(&w, "newPin", np.line[0]);
	agent_jw_str(&w, "otp", o->otp);
	agent_jw_close(&w, '}');
	cf_zeroize(&s1, sizeof(s1));
	cf_zeroize(&np, sizeof(np));
	if ((ret = portal_open(o, &p)) != AGENT_OK) {
		cf_free_secret(agent_jw_end(&w));
		return ret;
	}
	if ((ret = call(&p, path, agent_jw_end(&w), &resp)) == AGENT_OK) {
		printf("%s\n", done_line);
		if (resp)
			print_summary(resp);
		ret = done();
	}
	cf_json_free(resp);
	portal_end(&p);
	return ret;
}

int agent_activate(const struct agent_opts *o)
{
	return pin_change(o, "/v1/portal/activate", "puk", o->puk_file, "PUK", 'k',
			  "activated: the new PIN unlocks the credential");
}

int agent_unblock(const struct agent_opts *o)
{
	return pin_change(o, "/v1/portal/activate", "puk", o->puk_file, "PUK", 'k',
			  "unblocked: the new PIN unlocks the credential");
}

int agent_pin(const struct agent_opts *o)
{
	return pin_change(o, "/v1/portal/pin", "pin", o->pin_file, "PIN", 'n', "pin: changed");
}

/* ---- sign: the CSC API ---- */

int portal_b64_decode(const char *in, uint8_t *out, size_t cap, size_t *len)
{
	size_t n = strlen(in), pad = 0, i;
	char *url;
	int ret;

	while (n > 0 && in[n - 1] == '=' && pad < 2)
		n--, pad++;
	if ((pad && (n + pad) % 4) || !(url = malloc(n + 1)))
		return pad ? CF_EMALFORMED : CF_ENOMEM;
	for (i = 0; i < n; i++)
		url[i] = in[i] == '+' ? '-' : in[i] == '/' ? '_' : in[i];
	url[n] = '\0';
	ret = strpbrk(url, "=") ? CF_EMALFORMED : cf_b64url_decode(url, n, out, cap, len);
	free(url);
	return ret;
}

int portal_sign_oids(const cf_json *info, size_t hlen, const char **hash_oid, const char **sign_oid)
{
	static const char *const hashes[] = {"2.16.840.1.101.3.4.2.1", "2.16.840.1.101.3.4.2.2",
					     "2.16.840.1.101.3.4.2.3"};
	static const char *const ecdsa[] = {"1.2.840.10045.4.3.2", "1.2.840.10045.4.3.3",
					    "1.2.840.10045.4.3.4"};
	static const char *const rsa[] = {"1.2.840.113549.1.1.11", "1.2.840.113549.1.1.12",
					  "1.2.840.113549.1.1.13"};
	const cf_json *algo = cf_json_get(cf_json_get(info, "key"), "algo");
	int h = hlen == 32 ? 0 : hlen == 48 ? 1 : hlen == 64 ? 2 : -1;
	const char *oid;

	if (h < 0)
		return CF_EUSAGE;
	*hash_oid = hashes[h];
	for (size_t i = 0; i < cf_json_array_size(algo); i++) {
		if (cf_json_str(cf_json_array_item(algo, i), 64, &oid) != 0)
			continue;
		if (strncmp(oid, "1.2.840.10045.", 14) == 0) {
			*sign_oid = ecdsa[h];
			return 0;
		}
		if (strncmp(oid, "1.2.840.113549.1.1.", 19) == 0) {
			*sign_oid = rsa[h];
			return 0;
		}
	}
	return CF_EPROTO;
}

int portal_sig_path(const char *dir, const char *file, char *out, size_t cap)
{
	const char *name = strrchr(file, '/');
	int n;

	name = name ? name + 1 : file;
	if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return CF_EUSAGE;
	n = snprintf(out, cap, "%s/%s.sig", dir, name);
	return n < 0 || (size_t)n >= cap ? CF_EUSAGE : 0;
}

struct sign_job {
	int n;
	size_t hlen;
	uint8_t digest[AGENT_SIGN_MAX][64];
	char out[AGENT_SIGN_MAX][PATH_MAX];
};

/* The files' digests and signature paths, all checked before any request. */
/* mkdir -p path (mode 0755 less the umask); 0 or -1 with errno. */
static int make_dirs(const char *path)
{
	char buf[PATH_MAX];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(buf, path, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, 0755) != 0 && errno != EEXIST)
			return -1;
		buf[i] = i < n ? '/' : '\0';
	}
	return 0;
}

static int sign_prepare(const struct agent_opts *o, struct sign_job *j)
{
	const char *h = o->hash ? o->hash : "sha256";
	struct stat st;
	int ret;

	j->hlen = strcmp(h, "sha256") == 0   ? 32
		  : strcmp(h, "sha384") == 0 ? 48
		  : strcmp(h, "sha512") == 0 ? 64
					     : 0;
	if (!j->hlen) {
		agent_err("--hash must be sha256, sha384 or sha512");
		return AGENT_USAGE;
	}
	if (o->n_in > AGENT_SIGN_MAX) {
		agent_err("at most %d files per sign (--in given %d times)", AGENT_SIGN_MAX,
			  o->n_in);
		return AGENT_USAGE;
	}
	if (stat(o->out_dir, &st) != 0 && errno == ENOENT && make_dirs(o->out_dir) != 0) {
		agent_err("--out-dir %s: cannot create it: %s", o->out_dir, strerror(errno));
		return AGENT_FAIL;
	}
	if (stat(o->out_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		agent_err("--out-dir %s: not a directory", o->out_dir);
		return AGENT_USAGE;
	}
	j->n = o->n_in;
	for (int i = 0; i < j->n; i++) {
		if (portal_sig_path(o->out_dir, o->in_files[i], j->out[i], sizeof(j->out[i])) !=
		    0) {
			agent_err("--in %s: not a file name", o->in_files[i]);
			return AGENT_USAGE;
		}
		for (int k = 0; k < i; k++)
			if (strcmp(j->out[k], j->out[i]) == 0) {
				agent_err("--in %s and %s would both be signed as %s",
					  o->in_files[k], o->in_files[i], j->out[i]);
				return AGENT_USAGE;
			}
		if ((ret = cf_digest_file(o->in_files[i], j->hlen, j->digest[i])) != 0) {
			agent_err("cannot read %s: %s", o->in_files[i],
				  ret == CF_ENOTFOUND ? "no such file" : cf_strerror(ret));
			return AGENT_FAIL;
		}
	}
	return AGENT_OK;
}

/* The hashes member (base64 of each digest) into w. */
static void put_hashes(struct agent_jw *w, const struct sign_job *j)
{
	char *b;

	agent_jw_open(w, "hashes", '[');
	for (int i = 0; i < j->n; i++) {
		if (!(b = cf_b64_encode_alloc(j->digest[i], j->hlen))) {
			w->err = CF_ENOMEM;
			return;
		}
		agent_jw_str(w, NULL, b);
		free(b);
	}
	agent_jw_close(w, ']');
}

/* credentials/info: the signature algorithm of the credential's key. */
static int sign_algorithm(struct portal *p, const struct agent_opts *o, size_t hlen,
			  const char **hash_oid, const char **sign_oid)
{
	struct agent_jw w = {0};
	cf_json *info = NULL;
	int ret;

	agent_jw_open(&w, NULL, '{');
	agent_jw_str(&w, "credentialID", o->credential);
	agent_jw_str(&w, "certificates", "none");
	agent_jw_raw(&w, "certInfo", "false");
	agent_jw_raw(&w, "authInfo", "false");
	agent_jw_close(&w, '}');
	if ((ret = call(p, "/csc/v2/credentials/info", agent_jw_end(&w), &info)) != AGENT_OK)
		return ret;
	if (portal_sign_oids(info, hlen, hash_oid, sign_oid) != 0) {
		agent_err("credential %s: the server names no EC or RSA key algorithm",
			  o->credential);
		ret = AGENT_FAIL;
	}
	cf_json_free(info);
	return ret;
}

/* credentials/authorize with PIN and OTP: the SAD into sad (wiped by the caller). */
static int sign_authorize(struct portal *p, const struct agent_opts *o, const struct sign_job *j,
			  const char *hash_oid, char *sad, size_t cap)
{
	struct agent_secret pin;
	struct agent_jw w = {0};
	const char *v = NULL;
	cf_json *resp = NULL;
	char num[16];
	int ret;

	if (secret(o->pin_file, "PIN", 'n', &pin) != AGENT_OK)
		return AGENT_FAIL;
	snprintf(num, sizeof(num), "%d", j->n);
	agent_jw_open(&w, NULL, '{');
	agent_jw_str(&w, "credentialID", o->credential);
	agent_jw_raw(&w, "numSignatures", num);
	put_hashes(&w, j);
	agent_jw_str(&w, "hashAlgorithmOID", hash_oid);
	agent_jw_str(&w, "PIN", pin.line[0]);
	agent_jw_str(&w, "OTP", o->otp);
	agent_jw_close(&w, '}');
	cf_zeroize(&pin, sizeof(pin));
	ret = call(p, "/csc/v2/credentials/authorize", agent_jw_end(&w), &resp);
	if (ret == AGENT_OK &&
	    (cf_json_get_str(resp, "SAD", cap - 1, &v) != 0 || copy_str(sad, cap, v) != 0)) {
		agent_err("the server's authorisation holds no SAD");
		ret = AGENT_FAIL;
	}
	cf_json_free(resp);
	return ret;
}

/* signatures/signHash: each signature written to its .sig file. */
static int sign_hashes(struct portal *p, const struct agent_opts *o, const struct sign_job *j,
		       const char *sad, const char *hash_oid, const char *sign_oid)
{
	struct agent_jw w = {0};
	const cf_json *sigs;
	cf_json *resp = NULL;
	uint8_t sig[1024];
	const char *b;
	size_t len;
	int ret;

	agent_jw_open(&w, NULL, '{');
	agent_jw_str(&w, "credentialID", o->credential);
	agent_jw_str(&w, "SAD", sad);
	put_hashes(&w, j);
	agent_jw_str(&w, "hashAlgorithmOID", hash_oid);
	agent_jw_str(&w, "signAlgo", sign_oid);
	agent_jw_str(&w, "operationMode", "S");
	agent_jw_close(&w, '}');
	if ((ret = call(p, "/csc/v2/signatures/signHash", agent_jw_end(&w), &resp)) != AGENT_OK)
		return ret;
	sigs = cf_json_get(resp, "signatures");
	if (cf_json_array_size(sigs) != (size_t)j->n) {
		agent_err("the server sent %zu signatures for %d hashes", cf_json_array_size(sigs),
			  j->n);
		ret = AGENT_FAIL;
	}
	for (int i = 0; ret == AGENT_OK && i < j->n; i++) {
		if (cf_json_str(cf_json_array_item(sigs, (size_t)i), 2048, &b) != 0 ||
		    portal_b64_decode(b, sig, sizeof(sig), &len) != 0 || len == 0) {
			agent_err("signature %d of the server's answer is not base64", i + 1);
			ret = AGENT_FAIL;
		} else if ((ret = cf_file_write(j->out[i], sig, len, 0644, 0)) != 0) {
			agent_err("cannot write %s: %s", j->out[i], cf_strerror(ret));
			ret = AGENT_FAIL;
		} else {
			printf("signed: %s -> %s\n", o->in_files[i], j->out[i]);
		}
	}
	cf_json_free(resp);
	return ret == AGENT_OK ? done() : ret;
}

int agent_sign(const struct agent_opts *o)
{
	const char *hash_oid = NULL, *sign_oid = NULL;
	struct sign_job *j = calloc(1, sizeof(*j));
	struct portal p = {0};
	char sad[1024];
	int ret;

	if (!j) {
		agent_err("%s", cf_strerror(CF_ENOMEM));
		return AGENT_FAIL;
	}
	if ((ret = otp_ok(o->otp)) == AGENT_OK && (ret = sign_prepare(o, j)) == AGENT_OK &&
	    (ret = portal_open(o, &p)) == AGENT_OK &&
	    (ret = sign_algorithm(&p, o, j->hlen, &hash_oid, &sign_oid)) == AGENT_OK &&
	    (ret = sign_authorize(&p, o, j, hash_oid, sad, sizeof(sad))) == AGENT_OK)
		ret = sign_hashes(&p, o, j, sad, hash_oid, sign_oid);
	cf_zeroize(sad, sizeof(sad));
	portal_end(&p);
	free(j);
	return ret;
}

/* ---- remote-renew and update ---- */

/* The secrets both read: PIN (unless pin is NULL), envelope passphrase, new PIN if given; added
 * to w under pin, envelopePassphrase and newPin. */
static int put_renewal_secrets(struct agent_jw *w, const struct agent_opts *o, int with_pin)
{
	struct agent_secret s;

	if (with_pin) {
		if (secret(o->pin_file, "PIN", 'n', &s) != AGENT_OK)
			return AGENT_FAIL;
		agent_jw_str(w, "pin", s.line[0]);
		cf_zeroize(&s, sizeof(s));
	}
	if (o->new_pin_file) {
		if (secret(o->new_pin_file, "new PIN", 'n', &s) != AGENT_OK)
			return AGENT_FAIL;
		agent_jw_str(w, "newPin", s.line[0]);
		cf_zeroize(&s, sizeof(s));
	}
	if (o->passphrase_file) {
		if (secret(o->passphrase_file, "envelope passphrase", 'e', &s) != AGENT_OK)
			return AGENT_FAIL;
		agent_jw_str(w, "envelopePassphrase", s.line[0]);
		cf_zeroize(&s, sizeof(s));
	}
	return AGENT_OK;
}

/* The ticket of an update's first step into path: a new file, mode 0600 (a secret: never
 * printed, never on a command line). */
static int ticket_save(const char *path, const cf_json *resp)
{
	const char *ticket = NULL;
	char line[512];
	int ret;

	if (cf_json_get_str(resp, "ticket", sizeof(line) - 2, &ticket) != 0) {
		agent_err("the server's answer holds no ticket");
		return AGENT_FAIL;
	}
	snprintf(line, sizeof(line), "%s\n", ticket);
	ret = cf_file_write(path, line, strlen(line), 0600, 1);
	cf_zeroize(line, sizeof(line));
	if (ret != 0) {
		agent_err("cannot write the ticket to %s: %s", path, cf_strerror(ret));
		return AGENT_FAIL;
	}
	printf("ticketFile: %s\n", path);
	return AGENT_OK;
}

/* The ticket of an update's first step from path into the payload. */
static int ticket_put(struct agent_jw *w, const char *path)
{
	struct agent_secret s;

	if (secret(path, "ticket", 'p', &s) != AGENT_OK)
		return AGENT_FAIL;
	agent_jw_str(w, "ticket", s.line[0]);
	cf_zeroize(&s, sizeof(s));
	return AGENT_OK;
}

/* Send the payload of w (wiped, whatever happens) to path and print what came back. */
static int send_built(const struct agent_opts *o, struct agent_jw *w, int ret, const char *path,
		      const char *first, const char *next)
{
	struct portal p;
	cf_json *resp = NULL;

	agent_jw_close(w, '}');
	if (ret != AGENT_OK || (ret = portal_open(o, &p)) != AGENT_OK) {
		w->err = CF_EUSAGE;
		(void)agent_jw_end(w);
		return ret;
	}
	/* the consents accepted are shown (and at a terminal asked for) before anything is sent */
	if (o->consents && (ret = agent_consents_confirm(p.c, o->consents)) != AGENT_OK) {
		w->err = CF_EUSAGE;
		(void)agent_jw_end(w);
		portal_end(&p);
		return ret;
	}
	if ((ret = call(&p, path, agent_jw_end(w), &resp)) == AGENT_OK) {
		if (first)
			printf("%s\n", first);
		if (resp) {
			print_summary(resp);
			if (!o->consents || !o->ticket_file || strcmp(o->ticket_file, "-") == 0)
				show("", "ticket", resp, "ticket");
			else if (ticket_save(o->ticket_file, resp) != AGENT_OK)
				ret = AGENT_FAIL;
			show("", "expiresAt", resp, "expiresAt");
		}
		if (ret == AGENT_OK && next)
			printf("next: %s\n", next);
		if (ret == AGENT_OK)
			ret = done();
	}
	cf_json_free(resp);
	portal_end(&p);
	return ret;
}

int agent_remote_renew(const struct agent_opts *o)
{
	struct agent_jw w = {0};
	int ret;

	if (!o->identity_unchanged) { /* main.c requires it; said here for other callers */
		agent_err("renewal needs --identity-unchanged: a changed identity needs a new "
			  "application");
		return AGENT_USAGE;
	}
	if ((ret = otp_ok(o->otp)) != AGENT_OK)
		return ret;
	agent_jw_open(&w, NULL, '{');
	agent_jw_str(&w, "credentialId", o->credential);
	agent_jw_raw(&w, "identityUnchanged", "true");
	if ((ret = consents_put(&w, o->consents)) == AGENT_OK) {
		agent_jw_str(&w, "otp", o->otp);
		if (o->coupon)
			agent_jw_str(&w, "coupon", o->coupon);
		ret = put_renewal_secrets(&w, o, 1);
	}
	return send_built(o, &w, ret, "/v1/portal/renew", "renewed",
			  "the new envelope (PUK, emergency code) comes by e-mail");
}

int agent_update(const struct agent_opts *o)
{
	struct agent_jw w = {0};
	char next[PATH_MAX * 2 + 256];
	int ret;

	if (o->consents) { /* the first step: consents, PIN, code → a ticket */
		if ((ret = otp_ok(o->otp)) != AGENT_OK)
			return ret;
		if (strcmp(o->ticket_file, "-") != 0 && access(o->ticket_file, F_OK) == 0) {
			agent_err("%s exists: give a new file for the ticket", o->ticket_file);
			return AGENT_USAGE;
		}
		agent_jw_open(&w, NULL, '{');
		agent_jw_str(&w, "credentialId", o->credential);
		if ((ret = consents_put(&w, o->consents)) == AGENT_OK) {
			agent_jw_str(&w, "otp", o->otp);
			ret = put_renewal_secrets(&w, o, 1);
		}
		snprintf(
		    next, sizeof(next),
		    "certflow-agent update --session-file %s --ticket-file %s --otp CODE "
		    "--passphrase-file FILE [--new-pin-file FILE] (--send-otp for a new SMS code; "
		    "with an authenticator app, give its next code)",
		    o->session_file, strcmp(o->ticket_file, "-") ? o->ticket_file : "FILE");
		return send_built(o, &w, ret, "/v1/portal/update", NULL, next);
	}
	agent_jw_open(&w, NULL, '{');
	ret = ticket_put(&w, o->ticket_file);
	if (o->send_otp)
		return send_built(o, &w, ret, "/v1/portal/update/otp", "otp: sent by SMS", NULL);
	if (ret == AGENT_OK && (ret = otp_ok(o->otp)) == AGENT_OK) {
		agent_jw_str(&w, "otp", o->otp);
		ret = put_renewal_secrets(&w, o, 0);
	}
	ret = send_built(o, &w, ret, "/v1/portal/update/complete", "updated",
			 "the old certificate is revoked; the new envelope (PUK, emergency "
			 "code) comes by e-mail");
	/* the ticket is spent */
	if (ret == AGENT_OK && strcmp(o->ticket_file, "-") != 0)
		(void)unlink(o->ticket_file);
	return ret;
}
