/*
 * qrlogin — login by QR code from the agent (spec/cli.md, spec/protocol.md §27): `login --qr`,
 * the waiting side, starts a challenge (signed with a throwaway key), draws it as a QR code on
 * the terminal (and as SVG), polls until an agent approves it and writes the granted session to
 * the session file; `qr-approve`, on the device that holds a credential, approves a scanned
 * challenge with the account key of DIR (kid).
 *
 * Never: print the poll token or the session token, or keep them longer than their requests:
 * every buffer that held one is wiped. The challenge text is public.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent.h"
#include "cf_clock.h"
#include "cf_crypto.h"
#include "cf_err.h"
#include "cf_file.h"
#include "cf_qr.h"
#include "client.h"
#include "portal.h"

#define QR_PREFIX "certflow-login:"
#define QR_ID_CHARS 22
#define QR_SVG_PX 8
#define POLL_SECS 1
#define WAIT_MAX_SECS 900 /* never wait longer, whatever expiresAt says */
#define B64U "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

/* 1 if text is a challenge text: "certflow-login:" and 22 base64url characters. */
static int challenge_ok(const char *text)
{
	size_t n = strlen(QR_PREFIX);

	return strncmp(text, QR_PREFIX, n) == 0 && strlen(text + n) == QR_ID_CHARS &&
	       strspn(text + n, B64U) == QR_ID_CHARS;
}

/* Connect to server and read its directory: AGENT_OK and *c, or the error line printed. */
static int connect_server(const char *server, const char *ca, client **c)
{
	struct client_problem prob;
	int ret = client_new(server, ca, c);

	if (ret != 0) {
		agent_err("cannot use server %s: %s", server,
			  ret == CF_EUSAGE ? "not an https:// URL (http:// only on loopback)"
					   : cf_strerror(ret));
		return ret == CF_EUSAGE ? AGENT_USAGE : AGENT_FAIL;
	}
	if (client_directory(*c, &prob) != 0) {
		agent_err("cannot reach %s: %s", server, prob.detail);
		return AGENT_FAIL;
	}
	return AGENT_OK;
}

/* The directory's URL name, else path on the server (a directory without the member). */
static void url_of(client *c, const char *name, const char *path, char *out, size_t cap)
{
	const char *u = client_dir_url(c, name);

	if (u)
		snprintf(out, cap, "%s", u);
	else
		snprintf(out, cap, "%s%s", client_server(c), path);
}

/* The one error line of a refused request: "<what> failed: <title>: <detail>". */
static int refused(client *c, const char *what, const struct client_problem *prob)
{
	const cf_json *doc = client_last_problem(c);
	const char *title = NULL;

	if (doc && (cf_json_get_str_opt(doc, "title", 200, &title) != 0 || !title))
		title = NULL;
	if (title && strcmp(title, prob->detail) != 0)
		agent_err("%s failed: %s: %s", what, title, prob->detail);
	else
		agent_err("%s failed: %s", what,
			  prob->detail[0] ? prob->detail : cf_strerror(prob->code));
	return AGENT_FAIL;
}

/* Write text from the server to stdout with control characters shown as '?'. */
static void put_clean(const char *text)
{
	for (const unsigned char *p = (const unsigned char *)text; *p; p++)
		putchar(*p < 0x20 || *p == 0x7f ? '?' : *p);
}

/* ---- qr-approve ---- */

/* The challenge text of the command line, or of standard input with "-". */
static int challenge_arg(const char *arg, char out[64])
{
	struct agent_secret s;
	int ret;

	if (!arg) {
		agent_err(
		    "qr-approve needs the text of the QR code (certflow-login:...) as its last "
		    "argument, or - to read it from standard input");
		return AGENT_USAGE;
	}
	if (strcmp(arg, "-") == 0) {
		if ((ret = agent_secret_read("-", "challenge", 1, 1, &s)) != 0) {
			agent_err("challenge from standard input: %s", cf_strerror(ret));
			return AGENT_FAIL;
		}
		snprintf(out, 64, "%.63s", s.line[0]);
		cf_zeroize(&s, sizeof(s));
	} else {
		snprintf(out, 64, "%.63s", arg);
	}
	if (!challenge_ok(out)) {
		agent_err("not a certflow login QR code: expected %s and %d characters", QR_PREFIX,
			  QR_ID_CHARS);
		return AGENT_USAGE;
	}
	return AGENT_OK;
}

int agent_qr_approve(const struct agent_opts *o)
{
	struct client_problem prob;
	struct account a;
	char text[64], url[600], *payload = NULL;
	const char *user = NULL;
	cf_json *resp = NULL;
	cf_key *key = NULL;
	client *c = NULL;
	int ret;

	if ((ret = challenge_arg(o->arg, text)) != AGENT_OK)
		return ret;
	if ((ret = account_load(o->dir, &a)) != 0) {
		agent_err("no enrolment in %s (account.json: %s)", o->dir, cf_strerror(ret));
		return AGENT_FAIL;
	}
	if ((ret = agent_account_key(o->dir, 0, &key)) != 0) {
		agent_err("account key %s/account.key: %s", o->dir, cf_strerror(ret));
		return AGENT_FAIL;
	}
	ret = connect_server(o->server ? o->server : a.server, o->ca ? o->ca : a.ca, &c);
	if (ret != AGENT_OK)
		goto out;
	url_of(c, "qrLoginApprove", "/v1/qr-login/approve", url, sizeof(url));
	payload = agent_pair_payload("challenge", text, a.credential[0] ? "credential" : NULL,
				     a.credential[0] ? a.credential : NULL);
	if (!payload) {
		agent_err("%s", cf_strerror(CF_ENOMEM));
		ret = AGENT_FAIL;
		goto out;
	}
	if (client_post(c, url, key, a.kid, payload, &resp, NULL, &prob) != 0) {
		ret = refused(c, "approval", &prob);
		goto out;
	}
	if (!cf_json_is_object(resp) || cf_json_get_str(resp, "userId", 32, &user) != 0) {
		agent_err("the server's answer to the approval holds no userId");
		ret = AGENT_FAIL;
		goto out;
	}
	printf("approved: login of user ");
	put_clean(user);
	putchar('\n');
	ret = fflush(stdout) == 0 ? AGENT_OK : AGENT_FAIL;
out:
	cf_free_secret(payload);
	cf_json_free(resp);
	cf_key_free(key);
	client_free(c);
	return ret;
}

/* ---- login --qr ---- */

/* Draw the challenge: the terminal QR code, the SVG file, and the lines that say what to do. */
static int qr_show(const struct agent_opts *o, const char *challenge, const char *expires)
{
	char *qr = NULL, *svg = NULL;
	int ret;

	if ((ret = cf_qr_utf8(challenge, &qr)) != 0) {
		agent_err("cannot draw the QR code: %s", cf_strerror(ret));
		return AGENT_FAIL;
	}
	if (o->qr_svg) {
		/* the challenge is public: a browser or viewer may read the file */
		if ((ret = cf_qr_svg(challenge, QR_SVG_PX, &svg)) == 0)
			ret = cf_file_write(o->qr_svg, svg, strlen(svg), 0644, 0);
		free(svg);
		if (ret != 0) {
			free(qr);
			agent_err("cannot write %s: %s", o->qr_svg, cf_strerror(ret));
			return AGENT_FAIL;
		}
	}
	fputs(qr, stdout);
	free(qr);
	printf("challenge: %s\nchallengeExpiresAt: ", challenge);
	put_clean(expires);
	printf("\nnext: scan the code with the device that holds your credential, or run there: "
	       "certflow-agent qr-approve --dir DIR %s\n",
	       challenge);
	return fflush(stdout) == 0 ? AGENT_OK : AGENT_FAIL;
}

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Seconds to wait for an approval: expiresAt less the server's Date of its answer (so that a
 * device clock that differs from the server's does not matter), within 1..WAIT_MAX_SECS. */
static int64_t wait_secs(client *c, int64_t expires_at)
{
	int64_t now = client_server_date(c), left;

	if (now == 0)
		now = cf_now();
	left = expires_at - now;
	return left < 1 ? 1 : left > WAIT_MAX_SECS ? WAIT_MAX_SECS : left;
}

/* Poll with the token until the session is granted (AGENT_OK, *resp) or the wait is over. */
static int poll_loop(client *c, const char *url, const cf_key *key, const char *token, int64_t secs,
		     cf_json **resp)
{
	struct client_problem prob;
	struct http_response raw;
	double deadline = mono_now() + (double)secs + 2.0;
	char *payload;
	int ret;

	for (;;) {
		struct timespec pause = {POLL_SECS, 0};

		if (!(payload = agent_pair_payload("pollToken", token, NULL, NULL))) {
			agent_err("%s", cf_strerror(CF_ENOMEM));
			return AGENT_FAIL;
		}
		memset(&raw, 0, sizeof(raw));
		ret = client_post(c, url, key, NULL, payload, resp, &raw, &prob);
		cf_free_secret(payload);
		/* A kept-alive connection the server closed between two polls: nothing was answered,
		 * and a pending poll changes nothing, so poll again (bounded by the deadline). */
		if (ret != 0 && (ret == CF_ETLS || prob.code == CF_ETLS) &&
		    mono_now() + POLL_SECS <= deadline) {
			http_response_clear(&raw);
			cf_json_free(*resp);
			*resp = NULL;
			while (nanosleep(&pause, &pause) != 0 && errno == EINTR)
				;
			continue;
		}
		if (ret != 0)
			return prob.code == CF_EBADTOKEN
				   ? (agent_err("the QR code expired before it was approved: run "
						"certflow-agent login --qr again"),
				      AGENT_FAIL)
				   : refused(c, "QR login", &prob);
		if (raw.status == 200 && cf_json_is_object(*resp)) {
			http_response_clear(&raw);
			return AGENT_OK;
		}
		http_response_clear(&raw);
		cf_json_free(*resp);
		*resp = NULL;
		if (mono_now() + POLL_SECS > deadline) {
			agent_err("the QR code expired before it was approved: run certflow-agent "
				  "login --qr again");
			return AGENT_FAIL;
		}
		while (nanosleep(&pause, &pause) != 0 && errno == EINTR)
			;
	}
}

int agent_login_qr(const struct agent_opts *o)
{
	struct client_problem prob;
	char ca[PATH_MAX], url[600], token[64] = "", *payload = NULL;
	const char *challenge = NULL, *poll = NULL, *expires = NULL;
	cf_json *start = NULL, *resp = NULL;
	int64_t expires_at = 0;
	cf_key *key = NULL;
	client *c = NULL;
	int ret;

	if (o->user && (strlen(o->user) != 10 || strspn(o->user, "0123456789") != 10)) {
		agent_err("--user must be a user id of 10 digits");
		return AGENT_USAGE;
	}
	if (!realpath(o->ca, ca)) {
		agent_err("--ca %s: %s", o->ca, strerror(errno));
		return AGENT_USAGE;
	}
	if ((ret = connect_server(o->server, ca, &c)) != AGENT_OK)
		goto out;
	payload = o->user ? agent_pair_payload("userId", o->user, NULL, NULL) : strdup("{}");
	if (!payload || cf_key_generate(CF_KEY_P256, 0, &key) != 0) {
		agent_err("%s", cf_strerror(payload ? CF_ECRYPTO : CF_ENOMEM));
		ret = AGENT_FAIL;
		goto out;
	}
	url_of(c, "qrLogin", "/v1/qr-login", url, sizeof(url));
	if (client_post(c, url, key, NULL, payload, &start, NULL, &prob) != 0) {
		ret = refused(c, "QR login", &prob);
		goto out;
	}
	if (!cf_json_is_object(start) || cf_json_get_str(start, "challenge", 63, &challenge) != 0 ||
	    !challenge_ok(challenge) ||
	    cf_json_get_str(start, "pollToken", sizeof(token) - 1, &poll) != 0 ||
	    cf_json_get_str(start, "expiresAt", 32, &expires) != 0 ||
	    cf_time_parse(expires, &expires_at) != 0) {
		agent_err("the server's answer to the QR login start is not a challenge");
		ret = AGENT_FAIL;
		goto out;
	}
	memcpy(token, poll, strlen(poll) + 1);
	if ((ret = qr_show(o, challenge, expires)) != AGENT_OK)
		goto out;
	url_of(c, "qrLoginPoll", "/v1/qr-login/poll", url, sizeof(url));
	ret = poll_loop(c, url, key, token, wait_secs(c, expires_at), &resp);
	if (ret == AGENT_OK)
		ret = portal_login_finish(resp, o->server, ca, o->user, o->session_file);
out:
	cf_zeroize(token, sizeof(token));
	cf_free_secret(payload);
	cf_json_free(start); /* wipes the poll token's copy */
	cf_json_free(resp);  /* and the session token's */
	cf_key_free(key);
	client_free(c);
	return ret;
}
