/*
 * util — the agent's small shared pieces: error lines, the account file and key, and the common
 * tail of enrol and renew (install + summary).
 *
 * Never: print a secret (activation code, private key) or leave a half-written file where a
 * reader could take it for a whole one.
 */
#include "agent.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cf_b64.h"
#include "cf_clock.h"
#include "cf_err.h"
#include "cf_file.h"
#include "install.h"
#include "keyfile.h"

#define ACCOUNT_MAX (64 * 1024)

/* agent_err_capture: where the first message goes instead of stderr. */
static char *capture_buf;
static size_t capture_len;

void agent_err_capture(char *buf, size_t len)
{
	capture_buf = len ? buf : NULL;
	capture_len = len;
	if (capture_buf)
		capture_buf[0] = '\0';
}

void agent_err(const char *fmt, ...)
{
	va_list ap;

	if (capture_buf) {
		if (!capture_buf[0]) {
			va_start(ap, fmt);
			vsnprintf(capture_buf, capture_len, fmt, ap);
			va_end(ap);
		}
		return;
	}
	fputs("certflow-agent: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int agent_lock(const char *dir, const char *name)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/.lock", dir);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0) {
		agent_err("cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
		install_sweep(dir); /* what a crashed run left, now that no other run is writing */
		return fd;
	}
	if (errno == EWOULDBLOCK)
		agent_err("credential %s is busy (another agent holds %s)", name, path);
	else
		agent_err("cannot lock %s: %s", path, strerror(errno));
	close(fd);
	return -1;
}

/* ---- account.json ---- */

static int copy_member(const cf_json *doc, const char *key, int required, char *dst, size_t cap)
{
	const char *s = NULL;
	int ret = required ? cf_json_get_str(doc, key, cap - 1, &s)
			   : cf_json_get_str_opt(doc, key, cap - 1, &s);

	if (ret != 0)
		return ret;
	snprintf(dst, cap, "%s", s ? s : "");
	return 0;
}

int account_load(const char *dir, struct account *a)
{
	char path[PATH_MAX], *text = NULL;
	size_t len;
	cf_json *doc = NULL;
	struct account tmp;
	int ret;

	snprintf(path, sizeof(path), "%s/account.json", dir);
	if ((ret = cf_file_read(path, ACCOUNT_MAX, &text, &len)) != 0)
		return ret;
	memset(&tmp, 0, sizeof(tmp));
	if ((ret = cf_json_parse(text, len, &doc)) == 0 &&
	    (ret = copy_member(doc, "server", 1, tmp.server, sizeof(tmp.server))) == 0 &&
	    (ret = copy_member(doc, "ca", 1, tmp.ca, sizeof(tmp.ca))) == 0 &&
	    (ret = copy_member(doc, "kid", 1, tmp.kid, sizeof(tmp.kid))) == 0 &&
	    (ret = copy_member(doc, "credential", 1, tmp.credential, sizeof(tmp.credential))) ==
		0 &&
	    (ret = copy_member(doc, "reference", 0, tmp.reference, sizeof(tmp.reference))) == 0)
		ret =
		    copy_member(doc, "renewalInfo", 0, tmp.renewal_info, sizeof(tmp.renewal_info));
	if (ret == 0)
		*a = tmp;
	cf_json_free(doc);
	free(text);
	return ret;
}

int account_save(const char *dir, const struct account *a)
{
	char path[PATH_MAX], *text = NULL;
	cf_json *doc = cf_json_new_object();
	int ret = CF_ENOMEM;

	if (!doc)
		return CF_ENOMEM;
	if (cf_json_add_str(doc, "server", a->server) != 0 ||
	    cf_json_add_str(doc, "ca", a->ca) != 0 || cf_json_add_str(doc, "kid", a->kid) != 0 ||
	    cf_json_add_str(doc, "credential", a->credential) != 0 ||
	    (a->reference[0] && cf_json_add_str(doc, "reference", a->reference) != 0) ||
	    (a->renewal_info[0] && cf_json_add_str(doc, "renewalInfo", a->renewal_info) != 0) ||
	    !(text = cf_json_print(doc)))
		goto out;
	snprintf(path, sizeof(path), "%s/account.json", dir);
	ret = cf_file_write(path, text, strlen(text), 0644, 0);
out:
	free(text);
	cf_json_free(doc);
	return ret;
}

int agent_account_key(const char *dir, int create, cf_key **out)
{
	char path[PATH_MAX];
	cf_key *key = NULL;
	int ret;

	snprintf(path, sizeof(path), "%s/account.key", dir);
	if (access(path, F_OK) == 0 || !create)
		return cf_key_load(path, out);
	/* A separate P-256 key for the account: the certificate key changes at every renewal. */
	if ((ret = cf_key_generate(CF_KEY_P256, 0, &key)) != 0)
		return ret;
	if ((ret = cf_key_save(key, path)) != 0) {
		cf_key_free(key);
		return ret;
	}
	*out = key;
	return 0;
}

int agent_csr_b64(const cf_key *key, char **out)
{
	uint8_t *der = NULL;
	size_t len;
	int ret;

	/* The server takes the names from the enrolment and ignores the CSR's, but mbedTLS 2.28
	 * cannot parse a CSR with an empty subject: a fixed CN it is. */
	if ((ret = cf_csr_create(key, "certflow-agent", &der, &len)) != 0)
		return ret;
	*out = cf_b64url_encode_alloc(der, len);
	free(der);
	return *out ? 0 : CF_ENOMEM;
}

/* ---- the common tail of enrol and renew ---- */

struct issued {
	const char *serial, *not_after, *pem, *chain, *renewal_info;
};

static int issued_decode(const cf_json *resp, struct issued *is)
{
	const cf_json *cert = cf_json_get(resp, "certificate");

	memset(is, 0, sizeof(*is));
	if (cf_json_get_str(cert, "serial", 64, &is->serial) != 0 ||
	    cf_json_get_str(cert, "notAfter", 32, &is->not_after) != 0 ||
	    cf_json_get_str(cert, "pem", CF_JSON_MAX_STRING, &is->pem) != 0 ||
	    cf_json_get_str(resp, "chain", CF_JSON_MAX_STRING, &is->chain) != 0 ||
	    cf_json_get_str_opt(cert, "renewalInfo", 511, &is->renewal_info) != 0)
		return CF_EPROTO;
	return 0;
}

/* ---- DIR/pending: the new key and the server's answer, kept until they are installed ---- */

/* seconds: a new certificate starts a minute before the server's now */
#define CHECK_TOLERANCE 60
#define PENDING_MAX (4 * 1024 * 1024)

int64_t agent_check_time(int64_t server_date)
{
	int64_t local = cf_now();

	if (server_date > 0 &&
	    (server_date - local > CHECK_TOLERANCE || local - server_date > CHECK_TOLERANCE))
		return server_date;
	return local;
}

/* DIR/pending/<name> into out. */
static void pending_path(const char *dir, const char *name, char *out, size_t cap)
{
	snprintf(out, cap, "%s/pending%s%s", dir, name[0] ? "/" : "", name);
}

int agent_pending_key(const char *dir, const cf_key *key)
{
	char path[PATH_MAX];
	int ret;

	pending_path(dir, "", path, sizeof(path));
	if (mkdir(path, 0700) != 0) {
		if (errno != EEXIST)
			return CF_EIO;
	} else if ((ret = cf_fsync_dir(dir)) != 0) {
		return ret;
	}
	pending_path(dir, "key.pem", path, sizeof(path));
	return keyfile_save(key, path); /* atomic, fsynced with its directory */
}

int agent_pending_orphan(const char *dir, cf_key **out)
{
	char path[PATH_MAX];
	cf_key *key = NULL, *live = NULL;
	int ret;

	pending_path(dir, "response.json", path, sizeof(path));
	if (access(path, F_OK) == 0)
		return CF_ENOTFOUND;
	pending_path(dir, "key.pem", path, sizeof(path));
	if (access(path, F_OK) != 0)
		return errno == ENOENT ? CF_ENOTFOUND : CF_EIO;
	if ((ret = keyfile_load(path, &key)) != 0)
		return ret;
	/* a crash while DIR/pending was removed after its set went live: nothing is pending */
	snprintf(path, sizeof(path), "%s/key.pem", dir);
	if (keyfile_load(path, &live) == 0 && cf_key_public_equal(key, live)) {
		cf_key_free(key);
		key = NULL;
		ret = agent_pending_discard(dir);
	}
	cf_key_free(live);
	if (ret == 0 && !key)
		return CF_ENOTFOUND;
	if (ret == 0)
		*out = key;
	else
		cf_key_free(key);
	return ret;
}

/* The server's answer beside the key (agent_pending_key), with the Date it came with: an
 * activation code is good once, and a renewal counts against the server's limits, so an install
 * that fails (full disk, power cut) is finished from here by the next run without asking again.
 * Its presence says the pair is complete. */
static int pending_save(const char *dir, const cf_json *resp, int64_t date)
{
	char path[PATH_MAX], t[21], *text = NULL;
	cf_json *doc = cf_json_dup(resp);
	int ret = CF_ENOMEM;

	cf_time_format(date, t);
	if (doc && (!date || cf_json_add_str(doc, "serverDate", t) == 0) &&
	    (text = cf_json_print(doc)) != NULL) {
		pending_path(dir, "response.json", path, sizeof(path));
		ret = cf_file_write(path, text, strlen(text), 0600, 0);
	}
	free(text);
	cf_json_free(doc);
	return ret;
}

int agent_pending_discard(const char *dir)
{
	char pending[PATH_MAX], path[PATH_MAX + 260];
	struct dirent *e;
	DIR *d;
	int ret = 0;

	pending_path(dir, "", pending, sizeof(pending));
	if (!(d = opendir(pending)))
		return errno == ENOENT ? 0 : CF_EIO;
	/* the response first (it says the pair is complete), then the key, then what a crash left
	 * (temporary files of an unfinished write) */
	pending_path(dir, "response.json", path, sizeof(path));
	if (unlink(path) != 0 && errno != ENOENT)
		ret = CF_EIO;
	while (ret == 0 && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", pending, e->d_name);
		if (unlink(path) != 0 && errno != ENOENT)
			ret = CF_EIO;
	}
	closedir(d);
	if (ret == 0 && rmdir(pending) != 0 && errno != ENOENT)
		ret = CF_EIO;
	return ret == 0 ? cf_fsync_dir(dir) : ret;
}

/* Install the certificate of resp with key, checked at the time at; the previous serial is read
 * first for the hook. */
static int install_issued(const char *dir, struct account *a, const cf_key *key,
			  const cf_json *resp, int64_t at, struct agent_issued *out)
{
	struct issued is;
	struct cert_info prev;
	char why[256] = "", path[PATH_MAX];
	int ret;

	if (!resp || issued_decode(resp, &is) != 0) {
		agent_err("the server's response holds no certificate and chain");
		return AGENT_FAIL;
	}
	memset(out, 0, sizeof(*out));
	snprintf(path, sizeof(path), "%s/cert.pem", dir);
	if (certcheck_info(path, &prev) == 0 && strcmp(prev.serial, is.serial) != 0)
		snprintf(out->previous, sizeof(out->previous), "%s", prev.serial);
	ret =
	    install_credential(dir, key, is.pem, is.chain, a->ca, is.serial, at, why, sizeof(why));
	/* already live: an earlier run switched to it and stopped before cleaning up */
	if (ret == CF_ECONFLICT)
		ret = 0;
	if (ret != 0) {
		agent_err("certificate %s not installed: %s", is.serial,
			  why[0] ? why : cf_strerror(ret));
		return AGENT_FAIL;
	}
	snprintf(a->renewal_info, sizeof(a->renewal_info), "%s",
		 is.renewal_info ? is.renewal_info : "");
	if ((ret = account_save(dir, a)) != 0) {
		agent_err("cannot write %s/account.json: %s", dir, cf_strerror(ret));
		return AGENT_FAIL;
	}
	if ((ret = agent_pending_discard(dir)) != 0) {
		agent_err("certificate %s installed, but %s/pending cannot be removed: %s",
			  is.serial, dir, strerror(errno ? errno : EIO));
		return AGENT_FAIL;
	}
	snprintf(out->serial, sizeof(out->serial), "%s", is.serial);
	snprintf(out->not_after, sizeof(out->not_after), "%s", is.not_after);
	return AGENT_OK;
}

int agent_install(const char *dir, struct account *a, const cf_key *key, const cf_json *resp,
		  int64_t date, struct agent_issued *out)
{
	int ret;

	if (resp && (ret = pending_save(dir, resp, date)) != 0) {
		agent_err("cannot keep the server's answer in %s/pending: %s", dir,
			  cf_strerror(ret));
		return AGENT_FAIL;
	}
	return install_issued(dir, a, key, resp, agent_check_time(date), out);
}

int agent_resume_pending(const char *dir, struct account *a, struct agent_issued *out)
{
	char path[PATH_MAX], *text = NULL;
	const char *date = NULL;
	cf_json *resp = NULL;
	cf_key *key = NULL;
	int64_t at = 0;
	size_t len;
	int ret;

	pending_path(dir, "response.json", path, sizeof(path));
	if ((ret = cf_file_read(path, PENDING_MAX, &text, &len)) == CF_ENOTFOUND)
		return AGENT_NOT_DUE;
	if (ret == 0)
		ret = cf_json_parse(text, len, &resp);
	free(text);
	if (ret == 0 && (cf_json_get_str_opt(resp, "serverDate", 20, &date) != 0 ||
			 (date && cf_time_parse(date, &at) != 0)))
		ret = CF_EMALFORMED;
	pending_path(dir, "key.pem", path, sizeof(path));
	if (ret == 0)
		ret = keyfile_load(path, &key);
	if (ret != 0) {
		agent_err("%s/pending is damaged (%s): remove it to renew anew", dir,
			  cf_strerror(ret));
		cf_json_free(resp);
		return AGENT_FAIL;
	}
	/* checked at the time the server sent it, as it would have been then */
	ret = install_issued(dir, a, key, resp, agent_check_time(at), out);
	cf_key_free(key);
	cf_json_free(resp);
	return ret;
}

int agent_finish(const char *dir, struct account *a, const cf_key *key, const cf_json *resp,
		 int64_t date, const char *verb)
{
	struct agent_issued is;
	int ret;

	if ((ret = agent_install(dir, a, key, resp, date, &is)) != AGENT_OK)
		return ret;
	printf("certflow-agent: %s: serial %s, valid until %s\n", verb, is.serial, is.not_after);
	if (fflush(stdout) != 0)
		return AGENT_FAIL;
	return AGENT_OK;
}
