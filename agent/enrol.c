/*
 * enrol — `certflow-agent enrol` (spec/cli.md, spec/protocol.md §9): activate an enrolment code
 * with a key made here, and install the credential.
 *
 * Never: take the activation code from the command line, print it, or keep it in memory longer
 * than the request needs (every buffer that held it is wiped). The code is sent as typed (only
 * surrounding white space is removed): the server normalises dashes and case.
 */
#include "agent.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "cf_clock.h"
#include "cf_err.h"
#include "cf_file.h"
#include "client.h"
#include "cycle.h"
#include "install.h"
#include "keyfile.h"

#define CODE_MAX 256

/* Read up to the first newline or the end of fd into code (NUL-terminated). */
static int read_line_fd(int fd, char *code, size_t cap)
{
	size_t n = 0;

	while (n + 1 < cap) {
		ssize_t k = read(fd, code + n, 1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return CF_EIO;
		if (k == 0 || code[n] == '\n')
			break;
		n++;
	}
	code[n] = '\0';
	return n + 1 < cap ? 0 : CF_ETOOLARGE;
}

/* The activation code from path ("-": standard input, not echoed on a terminal). */
static int read_code(const char *path, char *code, size_t cap)
{
	struct termios old, quiet;
	int fd = 0, tty = 0, ret;
	size_t b, e;

	if (strcmp(path, "-") != 0 && (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return CF_EIO;
	if (fd == 0 && isatty(0) && tcgetattr(0, &old) == 0) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tty = tcsetattr(0, TCSAFLUSH, &quiet) == 0;
		fputs("activation code: ", stderr);
	}
	ret = read_line_fd(fd, code, cap);
	if (tty) {
		(void)tcsetattr(0, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	if (fd != 0)
		close(fd);
	if (ret != 0)
		return ret;
	e = strlen(code);
	while (e > 0 && strchr(" \t\r\n", code[e - 1]))
		code[--e] = '\0';
	b = strspn(code, " \t");
	memmove(code, code + b, e - b + 1);
	return code[0] ? 0 : CF_EMALFORMED;
}

/* "1234-5678-9012" or "123456789012" → 12 digits (the reference is public). */
int agent_reference_digits(const char *in, char out[13])
{
	size_t n = 0;

	for (; *in; in++) {
		if (*in == '-' || *in == ' ')
			continue;
		if (*in < '0' || *in > '9' || n == 12)
			return CF_EUSAGE;
		out[n++] = *in;
	}
	out[n] = '\0';
	return n == 12 ? 0 : CF_EUSAGE;
}

/* The activate payload; the caller wipes and frees it. Non-ASCII octets pass as they are. */
static char *activate_payload(const char *reference, const char *code, const char *csr)
{
	size_t cap = strlen(code) * 6 + strlen(csr) + 96, o;
	char *p = malloc(cap);

	if (!p)
		return NULL;
	o = (size_t)snprintf(p, cap, "{\"reference\":\"%s\",\"activationCode\":\"", reference);
	for (const unsigned char *s = (const unsigned char *)code; *s; s++) {
		if (*s == '"' || *s == '\\')
			o += (size_t)snprintf(p + o, cap - o, "\\%c", *s);
		else if (*s < 0x20 || *s == 0x7f)
			o += (size_t)snprintf(p + o, cap - o, "\\u%04x", *s);
		else
			p[o++] = (char)*s;
	}
	snprintf(p + o, cap - o, "\",\"csr\":\"%s\"}", csr);
	return p;
}

/* The account and credential of the activation response, saved at once so that a failed
 * installation can still be repaired with `renew --force`. */
static int save_account(const char *dir, const char *ref, struct account *a, const cf_json *resp)
{
	const char *kid = NULL, *id = NULL;
	int ret;

	if (cf_json_get_str(resp, "account", sizeof(a->kid) - 1, &kid) != 0 ||
	    cf_json_get_str(cf_json_get(resp, "credential"), "id", sizeof(a->credential) - 1,
			    &id) != 0) {
		agent_err("the server's response names no account and credential");
		return AGENT_FAIL;
	}
	snprintf(a->kid, sizeof(a->kid), "%s", kid);
	snprintf(a->credential, sizeof(a->credential), "%s", id);
	snprintf(a->reference, sizeof(a->reference), "%s", ref);
	if ((ret = account_save(dir, a)) != 0) {
		agent_err("cannot write %s/account.json: %s", dir, cf_strerror(ret));
		return AGENT_FAIL;
	}
	return AGENT_OK;
}

/* The key to certify: the one of an earlier enrol whose answer never arrived (the server may have
 * activated with it: asked again with the same account key and this key, it answers that
 * credential again, spec §9), else a new one kept in DIR/pending before the request is sent. */
static int request_key(const struct agent_opts *o, cf_key **key)
{
	int ret = agent_pending_orphan(o->dir, key);

	if (ret == 0)
		return AGENT_OK;
	if (ret != CF_ENOTFOUND) {
		agent_err(
		    "the key of an interrupted enrolment, %s/pending/key.pem, cannot be read "
		    "(%s): give the key password of that run, or remove %s/pending and ask the "
		    "operator for a new enrolment code",
		    o->dir, cf_strerror(ret), o->dir);
		return AGENT_FAIL;
	}
	if ((ret = cf_key_generate(o->key_type, o->key_bits, key)) != 0) {
		agent_err("cannot make the key: %s", cf_strerror(ret));
		return AGENT_FAIL;
	}
	if ((ret = agent_pending_key(o->dir, *key)) != 0) {
		agent_err("cannot keep the new key in %s/pending: %s", o->dir, cf_strerror(ret));
		return AGENT_FAIL;
	}
	return AGENT_OK;
}

/* Everything the request needs, made (and the keys made durable) before the code is read from its
 * file. */
static int prepare(const struct agent_opts *o, struct account *a, cf_key **akey, cf_key **key,
		   char **csr)
{
	int ret;

	if ((ret = agent_account_key(o->dir, 1, akey)) != 0) {
		agent_err("account key %s/account.key: %s", o->dir, cf_strerror(ret));
		return AGENT_FAIL;
	}
	if ((ret = request_key(o, key)) != AGENT_OK)
		return ret;
	if ((ret = agent_csr_b64(*key, csr)) != 0) {
		agent_err("cannot make the CSR: %s", cf_strerror(ret));
		return AGENT_FAIL;
	}
	snprintf(a->server, sizeof(a->server), "%s", o->server);
	return AGENT_OK;
}

/* Why the server refused the activation, and what the person can do next, in one line. */
static void refused(const struct agent_opts *o, client *c, const char *ref,
		    const struct client_problem *p)
{
	int64_t left = -1;

	switch (p->code) {
	case CF_EEXPIRED:
		agent_err(
		    "the enrolment code has expired (a code lasts 15 days): if you applied "
		    "yourself, get a new reference number and envelope with certflow-agent "
		    "reference-renew --server %s --ca FILE --reference %s --answers-file FILE; "
		    "otherwise ask your operator for a new enrolment code",
		    o->server, ref);
		break;
	case CF_EUSED:
		agent_err("this enrolment code has already been used: if an earlier enrol of this "
			  "device was cut short, run the same command again with the same --dir; "
			  "otherwise ask your operator for a new enrolment code");
		break;
	case CF_ELOCKED:
		agent_err(
		    "too many wrong activation codes have locked this enrolment code: ask your "
		    "operator for a new one");
		break;
	case CF_ECANCELLED:
		agent_err("the operator has cancelled this enrolment code: ask them for a new one");
		break;
	case CF_EBADCODE:
		(void)cf_json_get_int(client_last_problem(c), "attemptsLeft", 0, 1000, &left);
		if (left >= 0)
			agent_err("wrong reference number or activation code: check both and run "
				  "enrol again (%" PRId64 " attempt%s left)",
				  left, left == 1 ? "" : "s");
		else
			agent_err("wrong reference number or activation code: check both and run "
				  "enrol again");
		break;
	default:
		agent_err("activation failed: %s", p->detail);
	}
}

static int activate(const struct agent_opts *o, client *c, const cf_key *akey, const char *ref,
		    const char *csr, cf_json **resp)
{
	struct client_problem prob;
	char code[CODE_MAX], *payload = NULL;
	const char *url;
	int ret;

	if ((ret = client_directory(c, &prob)) != 0) {
		agent_err("cannot reach %s: %s", o->server, prob.detail);
		return AGENT_FAIL;
	}
	if (!(url = client_dir_url(c, "activate"))) {
		agent_err("the directory of %s has no activate URL", o->server);
		return AGENT_FAIL;
	}
	ret = read_code(o->code_file, code, sizeof(code));
	if (ret == 0 && !(payload = activate_payload(ref, code, csr)))
		ret = CF_ENOMEM;
	cf_zeroize(code, sizeof(code));
	if (ret != 0) {
		agent_err("no activation code from %s: %s",
			  strcmp(o->code_file, "-") ? o->code_file : "standard input",
			  ret == CF_EMALFORMED ? "empty" : cf_strerror(ret));
		return AGENT_FAIL;
	}
	ret = client_post(c, url, akey, NULL, payload, resp, NULL, &prob);
	cf_free_secret(payload);
	if (ret != 0) {
		refused(o, c, ref, &prob);
		return AGENT_FAIL;
	}
	return AGENT_OK;
}

static int print_enrolled(const char *serial, const char *not_after)
{
	printf("certflow-agent: enrolled: serial %s, valid until %s\n", serial, not_after);
	return fflush(stdout) == 0 ? AGENT_OK : AGENT_FAIL;
}

/* An earlier enrol of ref was answered but could not install (DIR/pending/): finish it without
 * the server, whose code is used up; or it installed and stopped before it said so: say it now.
 * AGENT_NOT_DUE if there is nothing to finish. */
static int resume(const char *dir, const char *ref)
{
	struct account prev;
	struct agent_issued is;
	struct cert_info live;
	char path[PATH_MAX], until[32];
	int ret;

	if (account_load(dir, &prev) != 0)
		return AGENT_NOT_DUE;
	if ((ret = agent_resume_pending(dir, &prev, &is)) == AGENT_OK)
		return print_enrolled(is.serial, is.not_after);
	if (ret != AGENT_NOT_DUE || strcmp(prev.reference, ref) != 0)
		return ret;
	snprintf(path, sizeof(path), "%s/pending/key.pem", dir);
	if (access(path, F_OK) == 0)
		return AGENT_NOT_DUE; /* asked, never answered: ask again with that key */
	snprintf(path, sizeof(path), "%s/cert.pem", dir);
	if (certcheck_info(path, &live) != 0)
		return AGENT_NOT_DUE;
	if (agent_pending_discard(dir) != 0) { /* an empty DIR/pending its run could not remove */
		agent_err("%s/pending cannot be removed: %s", dir, strerror(errno ? errno : EIO));
		return AGENT_FAIL;
	}
	cf_time_format(live.not_after, until);
	return print_enrolled(live.serial, until);
}

/* DIR, made durable in its parent when new, and its lock, held for the whole enrolment (a renewal
 * of the same directory must not run beside it). The lock's descriptor, or -1 (printed). */
static int dir_and_lock(const struct agent_opts *o)
{
	const char *name = o->name ? o->name : strrchr(o->dir, '/');

	if (mkdir(o->dir, 0700) == 0) {
		if (cf_fsync_parent(o->dir) != 0) {
			agent_err("cannot fsync the directory holding %s: %s", o->dir,
				  strerror(errno));
			return -1;
		}
	} else if (errno != EEXIST) {
		agent_err("cannot create %s: %s", o->dir, strerror(errno));
		return -1;
	}
	return agent_lock(o->dir, !name ? o->dir : name == o->name ? name : name + 1);
}

int agent_enrol(const struct agent_opts *o)
{
	struct account a;
	char ref[13], *csr = NULL;
	cf_key *akey = NULL, *key = NULL;
	client *c = NULL;
	cf_json *resp = NULL;
	int ret, lock = -1;

	memset(&a, 0, sizeof(a));
	if (agent_reference_digits(o->reference, ref) != 0) {
		agent_err("the reference number must be 12 digits (dashes allowed)");
		return AGENT_USAGE;
	}
	if (!realpath(o->ca, a.ca)) {
		agent_err("CA file %s: %s", o->ca, strerror(errno));
		return AGENT_FAIL;
	}
	/* the key password (a new one: it must pass the policy) before anything is sent */
	if ((ret = keyfile_unlock(NULL, o->password_file, o->kdf_iterations)) != AGENT_OK)
		return ret;
	if ((lock = dir_and_lock(o)) < 0) {
		ret = AGENT_FAIL;
		goto out;
	}
	if ((ret = resume(o->dir, ref)) != AGENT_NOT_DUE)
		goto out;
	if ((ret = prepare(o, &a, &akey, &key, &csr)) != AGENT_OK)
		goto out;
	if ((ret = client_new(o->server, a.ca, &c)) != 0) {
		agent_err("cannot use server %s: %s", o->server,
			  ret == CF_EUSAGE ? "not an https:// URL (http:// only on loopback)"
					   : cf_strerror(ret));
		ret = ret == CF_EUSAGE ? AGENT_USAGE : AGENT_FAIL;
		goto out;
	}
	/* a clock before the build time is clearly wrong (spec/cli.md "Clocks") */
	client_ignore_cert_time(c, cf_now() < agent_build_time());
	if ((ret = activate(o, c, akey, ref, csr, &resp)) != AGENT_OK)
		goto out;
	if (!resp) {
		agent_err("the server's response is not JSON");
		ret = AGENT_FAIL;
		goto out;
	}
	if ((ret = save_account(o->dir, ref, &a, resp)) == AGENT_OK)
		ret = agent_finish(o->dir, &a, key, resp, client_server_date(c), "enrolled");
out:
	cf_json_free(resp);
	client_free(c);
	free(csr);
	cf_key_free(key);
	cf_key_free(akey);
	keyfile_lock();
	if (lock >= 0)
		close(lock);
	return ret;
}
