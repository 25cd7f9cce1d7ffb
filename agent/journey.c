/*
 * journey — a person's journeys from the agent (spec/cli.md "A person's journeys", spec/
 * protocol.md §14-§19): apply, reference-renew, recover, emergency-suspend, otp setup/confirm.
 * The public requests are signed with a throwaway P-256 key (jwk): it only authenticates the
 * request envelope. `otp` signs with the account of DIR (kid). Secrets are read and payloads
 * built by payload.c.
 *
 * Never: take a secret (passphrase, answers, link token, emergency code, one-time password) from
 * the command line, print one (the TOTP seed that `otp setup` exists to show is the exception),
 * or keep one longer than its request needs: every buffer that held a secret is wiped.
 */
#include "agent.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_err.h"
#include "cf_file.h"
#include "cf_policy.h"
#include "cf_qr.h"
#include "client.h"

#define FORM_MAX (64 * 1024)
#define QR_SVG_PX 8

/* agent_secret_read with the error line printed; what names the secret ("envelope passphrase"). */
static int get_secret(const char *path, const char *what, int nlines, int trim,
		      struct agent_secret *s)
{
	/* a passphrase chosen now is asked twice at a terminal (envelope open takes an old one) */
	int new = nlines == 1 &&
		  (strcmp(what, "envelope passphrase") == 0 || strncmp(what, "new ", 4) == 0);
	int ret = new ? agent_secret_read_new(path, what, trim, s)
		      : agent_secret_read(path, what, nlines, trim, s);
	const char *why = cf_strerror(ret);

	if (ret == 0)
		return 0;
	if (ret == CF_ECONFLICT)
		why = AGENT_SECRET_DIFFER;
	if (ret == CF_EMALFORMED && nlines == 1)
		why = "empty, or more than one line";
	else if (ret == CF_EMALFORMED)
		why = "needs three non-empty lines, one answer each";
	else if (ret == CF_ENOTFOUND)
		why = "no such file";
	else if (ret == CF_ETOOLARGE)
		why = "too long";
	agent_err("%s from %s: %s", what, strcmp(path, "-") ? path : "standard input", why);
	return ret;
}

/* ---- the conversation with the server ---- */

struct session {
	client *c;
	cf_key *key; /* a throwaway key (jwk), or the account key of DIR (kid) */
	struct account a;
};

static int session_connect(struct session *s, const char *server, const char *ca)
{
	struct client_problem prob;
	int ret = client_new(server, ca, &s->c);

	if (ret != 0) {
		agent_err("cannot use server %s: %s", server,
			  ret == CF_EUSAGE ? "not an https:// URL (http:// only on loopback)"
					   : cf_strerror(ret));
		return ret == CF_EUSAGE ? AGENT_USAGE : AGENT_FAIL;
	}
	if (client_directory(s->c, &prob) != 0) {
		agent_err("cannot reach %s: %s", server, prob.detail);
		return AGENT_FAIL;
	}
	return AGENT_OK;
}

/* A public request: a throwaway key, not bound to anything. */
static int session_public(const struct agent_opts *o, struct session *s)
{
	int ret;

	memset(s, 0, sizeof(*s));
	if ((ret = cf_key_generate(CF_KEY_P256, 0, &s->key)) != 0) {
		agent_err("cannot make a key: %s", cf_strerror(ret));
		return AGENT_FAIL;
	}
	return session_connect(s, o->server, o->ca);
}

/* A holder's request with the account of dir. */
static int session_account(const char *dir, struct session *s)
{
	int ret;

	memset(s, 0, sizeof(*s));
	if ((ret = account_load(dir, &s->a)) != 0) {
		agent_err("no enrolment in %s (account.json: %s)", dir, cf_strerror(ret));
		return AGENT_FAIL;
	}
	if ((ret = agent_account_key(dir, 0, &s->key)) != 0) {
		agent_err("account key %s/account.key: %s", dir, cf_strerror(ret));
		return AGENT_FAIL;
	}
	return session_connect(s, s->a.server, s->a.ca);
}

static void session_end(struct session *s)
{
	client_free(s->c);
	cf_key_free(s->key);
	memset(s, 0, sizeof(*s));
}

/* POST payload to the directory's URL `name`: 0 and *resp (a JSON object), or a negative code
 * with prob filled (nothing printed). */
static int post(struct session *s, const char *name, const char *payload, cf_json **resp,
		struct client_problem *prob)
{
	const char *url = client_dir_url(s->c, name);
	cf_json *doc = NULL;
	int ret;

	*resp = NULL;
	memset(prob, 0, sizeof(*prob));
	if (!url) {
		prob->code = CF_EPROTO;
		snprintf(prob->detail, sizeof(prob->detail),
			 "the server's directory has no %s URL (a server without this journey?)",
			 name);
		return CF_EPROTO;
	}
	ret = client_post(s->c, url, s->key, s->a.kid[0] ? s->a.kid : NULL, payload, &doc, NULL,
			  prob);
	if (ret == 0 && !cf_json_is_object(doc)) {
		cf_json_free(doc);
		prob->code = ret = CF_EPROTO;
		snprintf(prob->detail, sizeof(prob->detail), "the server's response is not JSON");
		return ret;
	}
	if (ret == 0)
		*resp = doc;
	return ret;
}

/* The one error line of a failed step: title, detail, and attempts left or when to try again. */
static int failed(struct session *s, const char *what, const struct client_problem *p)
{
	const cf_json *doc = client_last_problem(s->c);
	const char *title = NULL;
	int64_t left = -1;
	char extra[96] = "";

	if (doc) {
		(void)cf_json_get_str_opt(doc, "title", 200, &title);
		if (cf_json_get(doc, "attemptsLeft") &&
		    cf_json_get_int(doc, "attemptsLeft", 0, INT32_MAX, &left) != 0)
			left = -1;
	}
	if (left >= 0)
		snprintf(extra, sizeof(extra), " (%" PRId64 " attempt%s left)", left,
			 left == 1 ? "" : "s");
	else if (p->retry_after[0])
		snprintf(extra, sizeof(extra), " (try again after %s%s)", p->retry_after,
			 strspn(p->retry_after, "0123456789") == strlen(p->retry_after) ? " s"
											: "");
	if (title && strcmp(title, p->detail) != 0)
		agent_err("%s failed: %s: %s%s", what, title, p->detail, extra);
	else
		agent_err("%s failed: %s%s", what, p->detail, extra);
	return AGENT_FAIL;
}

/* Write text from the server to stdout with control characters shown as '?'. */
static void put_clean(const char *text)
{
	for (const unsigned char *c = (const unsigned char *)text; *c; c++)
		putchar(*c < 0x20 || *c == 0x7f ? '?' : *c);
}

/* "name: value" on stdout, value from member key of doc ("-" if absent). */
static void print_member(const char *name, const cf_json *doc, const char *key)
{
	const char *v = NULL;

	if (cf_json_get_str(doc, key, CF_JSON_MAX_STRING, &v) != 0)
		v = "-";
	printf("%s: ", name);
	put_clean(v);
	putchar('\n');
}

static int done(void)
{
	return fflush(stdout) == 0 ? AGENT_OK : AGENT_FAIL;
}

/* credentialChoiceRequired: the credentials, one per line (id, profile, subject, notAfter,
 * separated by tabs), and how to go on. */
static int recover_choice(struct session *s)
{
	const cf_json *list = cf_json_get(client_last_problem(s->c), "credentials"), *item;
	const char *keys[] = {"id", "profile", "subject", "notAfter"}, *v;

	for (size_t i = 0; (item = cf_json_array_item(list, i)); i++) {
		for (size_t k = 0; k < sizeof(keys) / sizeof(*keys); k++) {
			if (cf_json_get_str(item, keys[k], CF_JSON_MAX_STRING, &v) != 0)
				v = "-";
			put_clean(v);
			putchar(k + 1 < sizeof(keys) / sizeof(*keys) ? '\t' : '\n');
		}
	}
	(void)fflush(stdout);
	agent_err("you hold several credentials: run again with --credential ID, one of the ids "
		  "above");
	return AGENT_CHOOSE;
}

/* One request of a journey: post payload (taken: wiped and freed; NULL means out of memory) to
 * the directory's URL name; print the response's members show (pairs of output name and
 * member, NULL-terminated) and the next line; on a problem the error line of `what`. */
static int step(struct session *s, const char *name, const char *what, char *payload,
		const char *const *show, const char *next)
{
	struct client_problem prob;
	cf_json *resp = NULL;
	int ret;

	if (!payload) {
		agent_err("%s", cf_strerror(CF_ENOMEM));
		return AGENT_FAIL;
	}
	ret = post(s, name, payload, &resp, &prob);
	cf_free_secret(payload);
	if (ret == CF_ECHOICE) /* recovery/complete */
		return recover_choice(s);
	if (ret != 0)
		return failed(s, what, &prob);
	for (; show[0]; show += 2)
		print_member(show[0], resp, show[1]);
	if (next)
		printf("next: %s\n", next);
	cf_json_free(resp);
	return done();
}

/* ---- apply ---- */

/* The form's consent names as "terms,privacy" (what apply_consents of payload.c sends). */
static void form_consents(const cf_json *form, char *out, size_t cap)
{
	const cf_json *item;
	const char *v;
	size_t n = 0;

	out[0] = '\0';
	for (size_t i = 0; (item = cf_json_array_item(cf_json_get(form, "consents"), i)); i++)
		if (cf_json_str(item, 63, &v) == 0 && n + strlen(v) + 2 < cap)
			n += (size_t)snprintf(out + n, cap - n, "%s%s", n ? "," : "", v);
}

/* The form file and the passphrase, checked here first: the payload and the form's consents, or
 * an error line printed. */
static int apply_prepare(const struct agent_opts *o, char **payload, char *consents, size_t cap)
{
	struct agent_secret pass;
	cf_json *form = NULL;
	char *text = NULL;
	const char *why = NULL;
	size_t len = 0;
	int ret = cf_file_read(o->form, FORM_MAX, &text, &len);

	if (ret == 0)
		ret = cf_json_parse(text, len, &form);
	if (text) {
		cf_zeroize(text, len);
		free(text);
	}
	if (ret != 0 || !cf_json_is_object(form)) {
		agent_err("%s: %s", o->form,
			  ret == CF_ENOTFOUND ? "no such file"
			  : ret == CF_EIO     ? "cannot read it"
					      : "not a JSON object");
		cf_json_free(form);
		return AGENT_FAIL;
	}
	ret = AGENT_FAIL;
	if (get_secret(o->passphrase_file, "envelope passphrase", 1, 0, &pass) != 0)
		goto out;
	if (cf_password_check(pass.line[0], &why) != 0) {
		agent_err("the envelope passphrase is too weak: %s", why ? why : "see --help");
		goto out;
	}
	if (agent_apply_payload(form, pass.line[0], payload, &why) != 0) {
		agent_err("%s: %s", o->form, why ? why : cf_strerror(CF_ENOMEM));
		goto out;
	}
	form_consents(form, consents, cap);
	ret = AGENT_OK;
out:
	cf_zeroize(&pass, sizeof(pass));
	cf_json_free(form);
	return ret;
}

int agent_apply(const struct agent_opts *o)
{
	static const char *const show[] = {"application", "id", "status", "status", NULL};
	struct session s = {0};
	char *payload = NULL, consents[256];
	int ret;

	/* each consent is shown (and at a terminal accepted) before anything is sent */
	if ((ret = apply_prepare(o, &payload, consents, sizeof(consents))) == AGENT_OK &&
	    (ret = session_public(o, &s)) == AGENT_OK &&
	    (ret = agent_consents_confirm(s.c, consents)) == AGENT_OK)
		ret = step(&s, "apply", "application", payload, show,
			   "the reference number and the envelope come by e-mail once the "
			   "application is approved");
	else
		cf_free_secret(payload);
	session_end(&s);
	return ret;
}

/* ---- consents ---- */

int agent_consents(const struct agent_opts *o)
{
	struct session s = {0};
	int ret = session_public(o, &s);

	if (ret == AGENT_OK)
		ret = agent_consents_print(s.c);
	session_end(&s);
	return ret;
}

/* ---- reference-renew and emergency-suspend ---- */

static int reference_of(const struct agent_opts *o, char ref[13])
{
	if (agent_reference_digits(o->reference, ref) != 0) {
		agent_err("the reference number must be 12 digits (dashes allowed)");
		return AGENT_USAGE;
	}
	return AGENT_OK;
}

int agent_reference_renew(const struct agent_opts *o)
{
	static const char *const show[] = {"status", "status", NULL};
	struct agent_secret ans;
	struct session s = {0};
	char ref[13], *payload;
	int ret;

	if ((ret = reference_of(o, ref)) != AGENT_OK)
		return ret;
	if (get_secret(o->answers_file, "answers", 3, 1, &ans) != 0)
		return AGENT_FAIL;
	payload = agent_renew_payload(ref, &ans);
	cf_zeroize(&ans, sizeof(ans));
	if ((ret = session_public(o, &s)) == AGENT_OK)
		ret = step(&s, "referenceRenew", "reference renewal", payload, show,
			   "a new reference number and a new envelope come by e-mail; open the "
			   "envelope with certflow-agent envelope open, then certflow-agent enrol");
	else
		cf_free_secret(payload);
	session_end(&s);
	return ret;
}

int agent_emergency_suspend(const struct agent_opts *o)
{
	static const char *const show[] = {"credential", "credential", "status", "status", NULL};
	struct agent_secret code;
	struct session s = {0};
	char ref[13], *payload;
	int ret;

	if ((ret = reference_of(o, ref)) != AGENT_OK)
		return ret;
	if (get_secret(o->code_file, "emergency code", 1, 1, &code) != 0)
		return AGENT_FAIL;
	payload = agent_pair_payload("reference", ref, "emergencyCode", code.line[0]);
	cf_zeroize(&code, sizeof(code));
	if ((ret = session_public(o, &s)) == AGENT_OK)
		ret = step(&s, "emergencySuspend", "emergency suspension", payload, show, NULL);
	else
		cf_free_secret(payload);
	session_end(&s);
	return ret;
}

/* ---- recover ---- */

static int recover_request(const struct agent_opts *o)
{
	static const char *const show[] = {"status", "status", NULL};
	struct session s = {0};
	int ret;

	if ((ret = session_public(o, &s)) == AGENT_OK)
		ret = step(&s, "recovery", "recovery request",
			   agent_pair_payload("email", o->email, NULL, NULL), show,
			   "if the address is known, a link token was sent to it and to your "
			   "alternate address; save it in a file and run certflow-agent recover "
			   "--token-file FILE");
	session_end(&s);
	return ret;
}

/* What the user holds for recovery/complete, all read before the first request. */
struct recovery_secrets {
	struct agent_secret token, answers, otp, pass;
};

static int recover_read(const struct agent_opts *o, struct recovery_secrets *r)
{
	const char *why = NULL;

	memset(r, 0, sizeof(*r));
	if (get_secret(o->token_file, "link token", 1, 1, &r->token) != 0)
		return AGENT_FAIL;
	if (!o->answers_file || o->send_otp) /* the answers are for the last step only */
		return AGENT_OK;
	if (get_secret(o->answers_file, "answers", 3, 1, &r->answers) != 0 ||
	    get_secret(o->passphrase_file, "envelope passphrase", 1, 0, &r->pass) != 0 ||
	    (o->otp_file && get_secret(o->otp_file, "one-time password", 1, 1, &r->otp) != 0))
		return AGENT_FAIL;
	if (cf_password_check(r->pass.line[0], &why) != 0) {
		agent_err("the envelope passphrase is too weak: %s", why ? why : "see --help");
		return AGENT_FAIL;
	}
	return AGENT_OK;
}

/* recovery/start told what one-time password complete needs: otp ("totp", "sms", "none"). */
static int recover_questions(const cf_json *start)
{
	const cf_json *qs = cf_json_get(start, "questions"), *q;
	const char *text;

	for (size_t i = 0; (q = cf_json_array_item(qs, i)); i++) {
		if (cf_json_str(q, CF_JSON_MAX_STRING, &text) != 0)
			continue;
		printf("question %zu: ", i + 1);
		put_clean(text);
		putchar('\n');
	}
	print_member("otp", start, "otp");
	/* the credentials to choose from, before answering (seed 000) */
	qs = cf_json_get(start, "credentials");
	for (size_t i = 0; (q = cf_json_array_item(qs, i)); i++) {
		const char *id = NULL, *profile = "", *subject = "", *until = "";
		if (cf_json_get_str(q, "id", 64, &id) != 0)
			continue;
		(void)cf_json_get_str_opt(q, "profile", 32, &profile);
		(void)cf_json_get_str_opt(q, "subject", 256, &subject);
		(void)cf_json_get_str_opt(q, "notAfter", 32, &until);
		printf("credential: ");
		put_clean(id);
		printf("\t%s\t", profile ? profile : "");
		put_clean(subject ? subject : "");
		printf("\tvalid until %s\n", until ? until : "?");
	}
	printf("next: %swrite the three answers in a file, one a line in this order, and run again "
	       "with --answers-file FILE --passphrase-file FILE (and --otp-file FILE when otp is "
	       "not none)\n",
	       cf_json_array_size(qs) > 1 ? "choose the credential to recover (--credential ID), "
					  : "");
	return done();
}

static int recover_send_otp(struct session *s, const char *otp, const char *token)
{
	static const char *const show[] = {"otp", "status", NULL};

	if (strcmp(otp, "sms") != 0) {
		agent_err("no SMS code for this recovery: %s",
			  strcmp(otp, "totp") == 0
			      ? "use the code of your authenticator app with --otp-file FILE"
			      : "it needs no one-time password");
		return AGENT_FAIL;
	}
	return step(s, "recoveryOtp", "SMS code request",
		    agent_pair_payload("token", token, NULL, NULL), show,
		    "run again with --otp-file FILE holding the code of the SMS");
}

static int recover_complete(const struct agent_opts *o, struct session *s, const char *otp,
			    const struct recovery_secrets *r)
{
	static const char *const show[] = {"credential", "credential", "status", "status", NULL};
	int need_otp = strcmp(otp, "none") != 0;

	if (need_otp && !o->otp_file) {
		agent_err(
		    "this recovery needs a one-time password: %s",
		    strcmp(otp, "sms") == 0
			? "run with --send-otp to have an SMS code sent, then with --otp-file "
			  "FILE"
			: "the code of your authenticator app, with --otp-file FILE");
		return AGENT_FAIL;
	}
	return step(s, "recoveryComplete", "recovery",
		    agent_recover_payload(r->token.line[0], &r->answers,
					  need_otp ? r->otp.line[0] : NULL, o->credential,
					  r->pass.line[0]),
		    show,
		    "a new reference number and an envelope come by e-mail; open the envelope with "
		    "certflow-agent envelope open, then certflow-agent enrol with a new key");
}

static int recover_token(const struct agent_opts *o)
{
	struct client_problem prob;
	struct recovery_secrets r;
	struct session s = {0};
	cf_json *start = NULL;
	const char *otp = NULL;
	char *payload = NULL;
	int ret;

	if ((ret = recover_read(o, &r)) != AGENT_OK || (ret = session_public(o, &s)) != AGENT_OK)
		goto out;
	if (!(payload = agent_pair_payload("token", r.token.line[0], NULL, NULL))) {
		agent_err("%s", cf_strerror(CF_ENOMEM));
		ret = AGENT_FAIL;
		goto out;
	}
	if (post(&s, "recoveryStart", payload, &start, &prob) != 0) {
		ret = failed(&s, "recovery", &prob);
		goto out;
	}
	if (cf_json_get_str(start, "otp", 16, &otp) != 0)
		otp = "none";
	if (o->send_otp)
		ret = recover_send_otp(&s, otp, r.token.line[0]);
	else if (!o->answers_file)
		ret = recover_questions(start);
	else
		ret = recover_complete(o, &s, otp, &r);
out:
	cf_free_secret(payload);
	cf_json_free(start);
	cf_zeroize(&r, sizeof(r));
	session_end(&s);
	return ret;
}

int agent_recover(const struct agent_opts *o)
{
	return o->email ? recover_request(o) : recover_token(o);
}

/* ---- forgotten portal password (spec/protocol.md §23.6) ---- */

int agent_password_forgot(const struct agent_opts *o)
{
	static const char *const show[] = {"status", "status", NULL};
	struct session s = {0};
	int ret;

	if ((ret = session_public(o, &s)) == AGENT_OK)
		ret =
		    step(&s, "passwordForgot", "password reset request",
			 agent_pair_payload("email", o->email, NULL, NULL), show,
			 "if the address is known, an e-mail with your user id and a link token "
			 "was sent to it and to your alternate address; save the token in a file "
			 "and run certflow-agent password reset --token-file FILE (with --send-otp "
			 "first if you get your codes by SMS)");
	session_end(&s);
	return ret;
}

int agent_password_reset(const struct agent_opts *o)
{
	static const char *const sent[] = {"otp", "status", NULL};
	static const char *const changed[] = {"password", "status", NULL};
	struct agent_secret token, pw, otp;
	struct session s = {0};
	struct agent_jw w = {0};
	const char *why = NULL;
	int ret = AGENT_FAIL;

	memset(&pw, 0, sizeof(pw));
	memset(&otp, 0, sizeof(otp));
	if (get_secret(o->token_file, "link token", 1, 1, &token) != 0)
		return AGENT_FAIL;
	if (!o->send_otp) {
		if (get_secret(o->new_password_file, "new password", 1, 0, &pw) != 0 ||
		    get_secret(o->otp_file, "one-time password", 1, 1, &otp) != 0)
			goto out;
		if (cf_password_check(pw.line[0], &why) != 0) {
			agent_err("the new password is too weak: %s", why ? why : "see --help");
			ret = AGENT_USAGE;
			goto out;
		}
	}
	if ((ret = session_public(o, &s)) != AGENT_OK)
		goto out;
	agent_jw_open(&w, NULL, '{');
	agent_jw_str(&w, "token", token.line[0]);
	if (o->send_otp) {
		agent_jw_close(&w, '}');
		ret = step(&s, "passwordResetOtp", "SMS code request", agent_jw_end(&w), sent,
			   "run again with --new-password-file FILE and --otp-file FILE holding "
			   "the code of the SMS");
		goto out;
	}
	agent_jw_str(&w, "otp", otp.line[0]);
	agent_jw_str(&w, "newPassword", pw.line[0]);
	agent_jw_close(&w, '}');
	ret = step(&s, "passwordReset", "password reset", agent_jw_end(&w), changed,
		   "log in with certflow-agent login --user ID (the user id of the e-mail) and "
		   "the new password");
out:
	cf_zeroize(&token, sizeof(token));
	cf_zeroize(&pw, sizeof(pw));
	cf_zeroize(&otp, sizeof(otp));
	session_end(&s);
	return ret;
}

/* ---- otp setup / confirm ---- */

static int otp_show(const struct agent_opts *o, const cf_json *resp)
{
	const char *uri = NULL, *secret = NULL;
	char *qr = NULL, *svg = NULL;
	int ret;

	if (cf_json_get_str(resp, "otpauthUri", 2048, &uri) != 0 ||
	    cf_json_get_str(resp, "secret", 256, &secret) != 0) {
		agent_err("the server's response holds no otpauthUri and secret");
		return AGENT_FAIL;
	}
	if ((ret = cf_qr_utf8(uri, &qr)) != 0) {
		agent_err("cannot draw the QR code: %s", cf_strerror(ret));
		return AGENT_FAIL;
	}
	if (o->svg) {
		if ((ret = cf_qr_svg(uri, QR_SVG_PX, &svg)) == 0)
			ret = cf_file_write(o->svg, svg, strlen(svg), 0600, 0);
		cf_free_secret(svg);
		if (ret != 0) {
			cf_free_secret(qr);
			agent_err("cannot write %s: %s", o->svg, cf_strerror(ret));
			return AGENT_FAIL;
		}
	}
	fputs(qr, stdout);
	cf_free_secret(qr);
	printf("secret: ");
	put_clean(secret);
	printf("\nuri: ");
	put_clean(uri);
	printf("\nnext: scan the code (or type the secret) in your authenticator app, then run "
	       "certflow-agent otp confirm --dir %s --code-file -\n",
	       o->dir);
	return done();
}

int agent_otp_setup(const struct agent_opts *o)
{
	struct client_problem prob;
	struct session s = {0};
	cf_json *resp = NULL;
	int ret;

	if ((ret = session_account(o->dir, &s)) != AGENT_OK)
		goto out;
	if (post(&s, "totpSetup", "{}", &resp, &prob) != 0)
		ret = failed(&s, "authenticator setup", &prob);
	else
		ret = otp_show(o, resp);
out:
	cf_json_free(resp);
	session_end(&s);
	return ret;
}

int agent_otp_confirm(const struct agent_opts *o)
{
	static const char *const show[] = {"status", "status", NULL};
	struct agent_secret code;
	struct session s = {0};
	char *payload;
	int ret;

	if ((ret = session_account(o->dir, &s)) != AGENT_OK)
		goto out;
	if (get_secret(o->code_file, "one-time password", 1, 1, &code) != 0) {
		ret = AGENT_FAIL;
		goto out;
	}
	payload = agent_pair_payload("code", code.line[0], NULL, NULL);
	cf_zeroize(&code, sizeof(code));
	ret = step(&s, "totpConfirm", "authenticator confirmation", payload, show, NULL);
out:
	session_end(&s);
	return ret;
}
