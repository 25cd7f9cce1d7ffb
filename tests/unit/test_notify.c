/* test_notify — the outbox end to end: templates, sealing in a real LMDB store, the worker thread
 * delivering into a real maildir and to real programs (shell scripts), retries on the test
 * clock, bodies erased once sent. */
#include "check.h"
#include "cf_clock.h"
#include "cf_err.h"
#include "cf_log.h"
#include "notify.h"
#include "store.h"

#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define T0 1760000000LL

static char clock_path[600];
static const uint8_t key[32] = {1,  2,	3,  4,	5,  6,	7,  8,	9,  10, 11, 12, 13, 14, 15, 16,
				17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

struct fx {
	char root[512], path[1200];
	store *st;
	notify *n;
	struct notify_config cfg;
};

static void set_clock(int64_t t)
{
	char tmp[700];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", clock_path);
	f = fopen(tmp, "w");
	fprintf(f, "%lld\n", (long long)t);
	fclose(f);
	rename(tmp, clock_path);
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

/* A temporary data directory with a store; cfg at its defaults (maildir DATA/maildir). */
static void fx_init(struct fx *f)
{
	const char *base = getenv("CERTFLOW_TEST_TMP");

	memset(f, 0, sizeof(*f));
	if (!base || !*base)
		base = "/tmp";
	mkdir(base, 0700);
	snprintf(f->root, sizeof(f->root), "%s/notify-XXXXXX", base);
	CHECK(mkdtemp(f->root) != NULL);
	snprintf(f->path, sizeof(f->path), "%s/db", f->root);
	CHECK(store_open(f->path, NULL, &f->st) == 0);
	notify_config_defaults(&f->cfg);
	set_clock(T0);
}

static int fx_open(struct fx *f)
{
	return notify_open(&f->cfg, f->root, "mail.example.org", f->st, key, &f->n);
}

static void fx_fini(struct fx *f)
{
	notify_close(f->n);
	store_close(f->st);
	nftw(f->root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* root/name, made executable, running body under /bin/sh. */
static const char *script(struct fx *f, const char *name, const char *body)
{
	FILE *s;

	snprintf(f->path, sizeof(f->path), "%s/%s", f->root, name);
	s = fopen(f->path, "w");
	fprintf(s, "#!/bin/sh\n%s\n", body);
	fclose(s);
	chmod(f->path, 0700);
	return f->path;
}

static char *read_file(const char *path)
{
	char *buf = calloc(1, 65536);
	FILE *fp = fopen(path, "rb");

	if (fp) {
		size_t n = fread(buf, 1, 65535, fp);
		buf[n] = '\0';
		fclose(fp);
	}
	return buf;
}

struct q {
	notify *n;
	enum notify_channel ch;
	const char *to, *tmpl;
	const struct notify_var *vars;
	size_t nvars;
};

static int queue_fn(store_txn *txn, void *ctx)
{
	struct q *q = ctx;
	return notify_queue(q->n, txn, q->ch, q->to, q->tmpl, q->vars, q->nvars);
}

static int queue(struct fx *f, enum notify_channel ch, const char *to, const char *tmpl,
		 const struct notify_var *vars, size_t nvars)
{
	struct q q = {f->n, ch, to, tmpl, vars, nvars};
	return store_write(f->st, queue_fn, &q);
}

static const struct notify_var ref_vars[] = {
    {"givenName", "Alice"}, {"reference", "1234-5678-9012"}, {"expiresAt", "2025-11-21T10:00:00Z"}};

struct get {
	uint64_t id;
	struct store_message *m;
};

static int get_fn(store_txn *txn, void *ctx)
{
	struct get *g = ctx;
	return store_message_get(txn, g->id, g->m);
}

/* Message id into m (heap); 0 or the store's error. */
static int get_message(struct fx *f, uint64_t id, struct store_message *m)
{
	struct get g = {id, m};
	return store_read(f->st, get_fn, &g);
}

/* Wait (up to 10 s) until message id has made `attempts` attempts or left the queue. */
static void wait_for(struct fx *f, uint64_t id, int attempts, struct store_message *m)
{
	for (int i = 0; i < 1000; i++) {
		if (get_message(f, id, m) == 0 &&
		    (m->state != MSG_QUEUED || m->attempts >= attempts))
			return;
		usleep(10000);
	}
}

/* Open the outbox, queue one message, start the worker and wait for its first attempt. */
static void deliver_one(struct fx *f, enum notify_channel ch, const char *to, const char *tmpl,
			const struct notify_var *vars, size_t nvars, struct store_message *m)
{
	CHECK_EQ_INT(fx_open(f), 0);
	CHECK_EQ_INT(queue(f, ch, to, tmpl, vars, nvars), 0);
	CHECK_EQ_INT(notify_start(f->n), 0);
	notify_kick(f->n);
	wait_for(f, 1, 1, m);
}

/* Files in root/<sub> (e.g. "maildir/new"); the last name seen goes to last. */
static int count_files(struct fx *f, const char *sub, char *last, int cap)
{
	char dir[600];
	struct dirent *e;
	DIR *d;
	int n = 0;

	snprintf(dir, sizeof(dir), "%s/%s", f->root, sub);
	d = opendir(dir);
	if (!d)
		return -1;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		n++;
		if (last)
			snprintf(last, (size_t)cap, "%.600s/%.255s", dir, e->d_name);
	}
	closedir(d);
	return n;
}

static int all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

static void test_default_templates_are_written_into_a_missing_directory(void)
{
	static const char *names[] = {"reference.email",     "envelope.email", "rejected.email",
				      "recovery-link.email", "otp.sms",	       "suspended.email"};
	struct fx f;
	struct stat sb;
	char *text;

	fx_init(&f);
	CHECK_EQ_INT(fx_open(&f), 0);
	snprintf(f.path, sizeof(f.path), "%s/templates", f.root);
	CHECK(stat(f.path, &sb) == 0 && (sb.st_mode & 0777) == 0700);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(f.path, sizeof(f.path), "%s/templates/%s", f.root, names[i]);
		CHECK(access(f.path, R_OK) == 0);
	}
	snprintf(f.path, sizeof(f.path), "%s/templates/recovery-link.email", f.root);
	text = read_file(f.path);
	CHECK(strncmp(text, "Subject: certflow: recover your credential\n\n", 44) == 0);
	CHECK(strstr(text, "certflow-agent recover") != NULL);
	CHECK(strstr(text, "{{token}}") != NULL);
	free(text);
	snprintf(f.path, sizeof(f.path), "%s/maildir/new", f.root);
	CHECK(stat(f.path, &sb) == 0 && S_ISDIR(sb.st_mode));
	fx_fini(&f);
}

static void test_template_with_an_unknown_placeholder_is_refused_at_open(void)
{
	struct fx f;
	FILE *t;

	fx_init(&f);
	snprintf(f.path, sizeof(f.path), "%s/templates", f.root);
	mkdir(f.path, 0700);
	snprintf(f.path, sizeof(f.path), "%s/templates/reference.email", f.root);
	t = fopen(f.path, "w");
	fputs("Subject: your number\n\nHello {{givenName}}, here is {{refrence}}.\n", t);
	fclose(t);
	CHECK_EQ_INT(fx_open(&f), CF_EIO);
	CHECK(f.n == NULL);
	fx_fini(&f);
}

static void test_email_is_sealed_then_delivered_to_the_maildir_and_its_body_erased(void)
{
	struct store_message *m = calloc(1, sizeof(*m));
	struct fx f;
	struct stat sb;
	char file[900], *text;

	fx_init(&f);
	CHECK_EQ_INT(fx_open(&f), 0);
	CHECK_EQ_INT(queue(&f, NOTIFY_EMAIL, "alice@example.org", "reference", ref_vars, 3), 0);
	CHECK_EQ_INT(get_message(&f, 1, m), 0);
	CHECK_EQ_INT(m->state, MSG_QUEUED);
	CHECK_EQ_STR(m->to, "alice@example.org");
	CHECK_EQ_STR(m->template_name, "reference");
	CHECK_EQ_INT(m->next_attempt_at, T0);
	CHECK(m->body_len > 100);
	CHECK(memmem(m->body, m->body_len, "1234-5678-9012", 14) == NULL);
	CHECK(memmem(m->body, m->body_len, "Alice", 5) == NULL);

	set_clock(T0 + 5);
	CHECK_EQ_INT(notify_start(f.n), 0);
	notify_kick(f.n);
	wait_for(&f, 1, 1, m);
	CHECK_EQ_INT(m->state, MSG_SENT);
	CHECK_EQ_INT(m->sent_at, T0 + 5);
	CHECK_EQ_INT(m->body_len, 0);
	CHECK(all_zero(m->body, sizeof(m->body)));
	CHECK_EQ_INT(count_files(&f, "maildir/new", file, sizeof(file)), 1);
	CHECK_EQ_INT(count_files(&f, "maildir/tmp", NULL, 0), 0);
	CHECK(stat(file, &sb) == 0 && (sb.st_mode & 0777) == 0600);
	text = read_file(file);
	CHECK(strncmp(text, "From: certflow@mail.example.org\nTo: alice@example.org\n", 53) == 0);
	CHECK(strstr(text, "\nSubject: certflow: your reference number\n") != NULL);
	CHECK(strstr(text, "\nDate: Thu, 09 Oct 2025 08:53:20 +0000\n") != NULL);
	CHECK(strstr(text, "\nMessage-ID: <1.") != NULL && strstr(text, "@mail.example.org>\n"));
	CHECK(strstr(text, "\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
			   "Content-Transfer-Encoding: 8bit\n") != NULL);
	CHECK(strstr(text, "\n\nHello Alice,\n") != NULL);
	CHECK(strstr(text, "Your reference number: 1234-5678-9012\n") != NULL);
	CHECK(strchr(text, '\r') == NULL);
	free(text);
	fx_fini(&f);
	free(m);
}

static void test_portal_links_start_with_the_server_url_given_without_its_final_slash(void)
{
	struct store_message *m = calloc(1, sizeof(*m));
	struct fx f;
	char file[900], *text;

	fx_init(&f);
	CHECK_EQ_INT(fx_open(&f), 0);
	notify_set_server(f.n, "https://certs.example.org/", "sha256:00");
	CHECK_EQ_INT(queue(&f, NOTIFY_EMAIL, "alice@example.org", "reference", ref_vars, 3), 0);
	CHECK_EQ_INT(notify_start(f.n), 0);
	notify_kick(f.n);
	wait_for(&f, 1, 1, m);
	CHECK_EQ_INT(m->state, MSG_SENT);
	CHECK_EQ_INT(count_files(&f, "maildir/new", file, sizeof(file)), 1);
	text = read_file(file);
	CHECK(strstr(text, "\nActivate: https://certs.example.org/#/activate\n") != NULL);
	CHECK(strstr(text, "\nEmergency suspension: https://certs.example.org/#/emergency\n") !=
	      NULL);
	CHECK(strstr(text, "\ncertflow server: https://certs.example.org/\n") != NULL);
	free(text);
	fx_fini(&f);
	free(m);
}

static void test_subject_variable_with_a_line_break_is_refused(void)
{
	static const struct notify_var evil[] = {
	    {"givenName", "Eve\r\nBcc: all@example.org"}, {"reference", "1"}, {"expiresAt", "x"}};
	static const struct notify_var utf8[] = {
	    {"givenName", "Zo\xc3\xab"}, {"reference", "1"}, {"expiresAt", "x"}};
	struct store_message *m = calloc(1, sizeof(*m));
	struct fx f;
	char file[900], *text;
	FILE *t;

	fx_init(&f);
	snprintf(f.path, sizeof(f.path), "%s/templates", f.root);
	mkdir(f.path, 0700);
	snprintf(f.path, sizeof(f.path), "%s/templates/reference.email", f.root);
	t = fopen(f.path, "w");
	fputs("Subject: number for {{givenName}}\r\n\r\nHello {{givenName}}: {{reference}}\r\n", t);
	fclose(t);
	CHECK_EQ_INT(fx_open(&f), 0);
	CHECK_EQ_INT(queue(&f, NOTIFY_EMAIL, "eve@example.org", "reference", evil, 3),
		     CF_EMALFORMED);
	CHECK_EQ_INT(get_message(&f, 1, m), CF_ENOTFOUND);
	/* The same variable in a body is fine; a non-ASCII subject is RFC 2047-encoded. */
	CHECK_EQ_INT(queue(&f, NOTIFY_EMAIL, "zoe@example.org", "reference", utf8, 3), 0);
	CHECK_EQ_INT(notify_start(f.n), 0);
	notify_kick(f.n);
	CHECK_EQ_INT(get_message(&f, 1, m), 0);
	wait_for(&f, m->id, 1, m);
	CHECK_EQ_INT(m->state, MSG_SENT);
	CHECK_EQ_INT(count_files(&f, "maildir/new", file, sizeof(file)), 1);
	text = read_file(file);
	CHECK(strstr(text, "\nSubject: =?UTF-8?Q?number_for_Zo=C3=AB?=\n") != NULL);
	CHECK(strstr(text, "\n\nHello Zo\xc3\xab: 1\n") != NULL);
	free(text);
	fx_fini(&f);
	free(m);
}

static void test_email_program_gets_the_message_on_stdin_and_the_recipient_last(void)
{
	struct store_message *m = calloc(1, sizeof(*m));
	struct fx f;
	char cmd[1300], *text;

	fx_init(&f);
	snprintf(cmd, sizeof(cmd), "printf '%%s\\n' \"$@\" > %s/args; cat > %s/stdin; exit 0",
		 f.root, f.root);
	snprintf(f.cfg.email_command, sizeof(f.cfg.email_command), "%s -i",
		 script(&f, "sendmail.sh", cmd));
	deliver_one(&f, NOTIFY_EMAIL, "alice@example.org", "reference", ref_vars, 3, m);
	CHECK_EQ_INT(m->state, MSG_SENT);
	CHECK_EQ_INT(m->attempts, 0);
	snprintf(f.path, sizeof(f.path), "%s/args", f.root);
	text = read_file(f.path);
	CHECK_EQ_STR(text, "-i\nalice@example.org\n");
	free(text);
	snprintf(f.path, sizeof(f.path), "%s/stdin", f.root);
	text = read_file(f.path);
	CHECK(strncmp(text, "From: certflow@mail.example.org\nTo: alice@example.org\n", 53) == 0);
	CHECK(strstr(text, "Your reference number: 1234-5678-9012\n") != NULL);
	free(text);
	/* The maildir (on by default) got its copy too. */
	CHECK_EQ_INT(count_files(&f, "maildir/new", NULL, 0), 1);
	fx_fini(&f);
	free(m);
}

static void test_failing_program_is_retried_with_backoff_then_failed(void)
{
	struct store_message *m = calloc(1, sizeof(*m));
	struct fx f;

	fx_init(&f);
	snprintf(f.cfg.email_command, sizeof(f.cfg.email_command), "%s",
		 script(&f, "tempfail.sh", "cat > /dev/null; exit 75"));
	f.cfg.max_attempts = 3;
	f.cfg.retry_base_secs = 60;
	f.cfg.retry_max_secs = 100;
	CHECK_EQ_INT(fx_open(&f), 0);
	CHECK_EQ_INT(queue(&f, NOTIFY_EMAIL, "alice@example.org", "reference", ref_vars, 3), 0);
	CHECK_EQ_INT(notify_start(f.n), 0);
	notify_kick(f.n);

	wait_for(&f, 1, 1, m);
	CHECK_EQ_INT(m->state, MSG_QUEUED);
	CHECK_EQ_INT(m->attempts, 1);
	CHECK_EQ_STR(m->last_error, "program exited 75");
	CHECK(m->next_attempt_at >= T0 + 60 && m->next_attempt_at <= T0 + 66);
	CHECK(m->body_len > 0);

	/* Not due yet: a kick changes nothing. */
	notify_kick(f.n);
	usleep(200000);
	CHECK_EQ_INT(get_message(&f, 1, m), 0);
	CHECK_EQ_INT(m->attempts, 1);

	set_clock(T0 + 1000);
	notify_kick(f.n);
	wait_for(&f, 1, 2, m);
	CHECK_EQ_INT(m->attempts, 2);
	CHECK_EQ_INT(m->state, MSG_QUEUED);
	/* 60 * 2 = 120 is capped by retry_max = 100, plus at most 10% of jitter. */
	CHECK(m->next_attempt_at >= T0 + 1100 && m->next_attempt_at <= T0 + 1110);

	set_clock(T0 + 2000); /* no kick: the worker sees the retry fall due on its own */
	wait_for(&f, 1, 3, m);
	CHECK_EQ_INT(m->attempts, 3);
	CHECK_EQ_INT(m->state, MSG_FAILED);
	CHECK_EQ_STR(m->last_error, "program exited 75");
	CHECK_EQ_INT(m->body_len, 0);
	CHECK(all_zero(m->body, sizeof(m->body)));
	/* The maildir copy was written once, not once per attempt. */
	CHECK_EQ_INT(count_files(&f, "maildir/new", NULL, 0), 1);
	fx_fini(&f);
	free(m);
}

static void test_sms_without_a_program_goes_to_the_maildir_shaped_as_an_email(void)
{
	static const struct notify_var vars[] = {{"code", "123456"}, {"minutes", "5"}};
	struct store_message *m = calloc(1, sizeof(*m));
	struct fx f;
	char file[900], *text;

	fx_init(&f);
	deliver_one(&f, NOTIFY_SMS, "+41791234567", "otp", vars, 2, m);
	CHECK_EQ_INT(m->state, MSG_SENT);
	CHECK_EQ_INT(m->channel, MSG_SMS);
	CHECK_EQ_INT(count_files(&f, "maildir/new", file, sizeof(file)), 1);
	text = read_file(file);
	CHECK(strstr(text, "\nTo: +41791234567\nSubject: SMS\n") != NULL);
	CHECK(strstr(text, "\nX-Certflow-Channel: sms\n") != NULL);
	CHECK(strstr(text, "\n\ncertflow code: 123456 (valid 5 minutes).") != NULL);
	free(text);
	fx_fini(&f);
	free(m);
}

static void test_sms_program_gets_the_number_last_and_the_text_on_stdin(void)
{
	static const struct notify_var vars[] = {{"code", "654321"}, {"minutes", "5"}};
	struct store_message *m = calloc(1, sizeof(*m));
	struct fx f;
	char cmd[1300], *text;

	fx_init(&f);
	snprintf(cmd, sizeof(cmd), "printf '%%s\\n' \"$@\" > %s/args; cat > %s/stdin", f.root,
		 f.root);
	snprintf(f.cfg.sms_command, sizeof(f.cfg.sms_command), "%s --gateway test",
		 script(&f, "sms.sh", cmd));
	deliver_one(&f, NOTIFY_SMS, "+41791234567", "otp", vars, 2, m);
	CHECK_EQ_INT(m->state, MSG_SENT);
	snprintf(f.path, sizeof(f.path), "%s/args", f.root);
	text = read_file(f.path);
	CHECK_EQ_STR(text, "--gateway\ntest\n+41791234567\n");
	free(text);
	snprintf(f.path, sizeof(f.path), "%s/stdin", f.root);
	text = read_file(f.path);
	CHECK_EQ_STR(text, "certflow code: 654321 (valid 5 minutes). Never give it to anyone.\n");
	free(text);
	CHECK_EQ_INT(count_files(&f, "maildir/new", NULL, 0), 0);
	fx_fini(&f);
	free(m);
}

static void test_bad_recipients_and_unknown_templates_are_refused(void)
{
	static const struct notify_var otp[] = {{"code", "1"}, {"minutes", "5"}};
	struct store_message *m = calloc(1, sizeof(*m));
	struct fx f;

	fx_init(&f);
	CHECK_EQ_INT(fx_open(&f), 0);
	CHECK_EQ_INT(queue(&f, NOTIFY_EMAIL, "-oQ/tmp@example.org", "reference", ref_vars, 3),
		     CF_EMALFORMED);
	CHECK_EQ_INT(queue(&f, NOTIFY_EMAIL, "a b@example.org", "reference", ref_vars, 3),
		     CF_EMALFORMED);
	CHECK_EQ_INT(queue(&f, NOTIFY_EMAIL, "a@b.org,c@d.org", "reference", ref_vars, 3),
		     CF_EMALFORMED);
	CHECK_EQ_INT(queue(&f, NOTIFY_EMAIL, "nobody", "reference", ref_vars, 3), CF_EMALFORMED);
	CHECK_EQ_INT(queue(&f, NOTIFY_SMS, "0791234567", "otp", otp, 2), CF_EMALFORMED);
	CHECK_EQ_INT(queue(&f, NOTIFY_EMAIL, "a@example.org", "welcome", ref_vars, 3),
		     CF_ENOTFOUND);
	CHECK_EQ_INT(queue(&f, NOTIFY_EMAIL, "a@example.org", "otp", otp, 2), CF_ENOTFOUND);
	/* A variable the template uses but the caller forgot. */
	CHECK_EQ_INT(queue(&f, NOTIFY_EMAIL, "a@example.org", "reference", ref_vars, 2),
		     CF_EINTERNAL);
	CHECK_EQ_INT(get_message(&f, 1, m), CF_ENOTFOUND);
	fx_fini(&f);
	free(m);
}

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_stopping_kills_a_running_program_and_the_retry_skips_the_maildir(void)
{
	struct store_message *m = calloc(1, sizeof(*m));
	struct fx f;
	char cmd[1300];
	double t;

	fx_init(&f);
	snprintf(f.cfg.email_command, sizeof(f.cfg.email_command), "%s",
		 script(&f, "slow.sh", "cat > /dev/null; exec sleep 60"));
	CHECK_EQ_INT(fx_open(&f), 0);
	CHECK_EQ_INT(queue(&f, NOTIFY_EMAIL, "alice@example.org", "reference", ref_vars, 3), 0);
	CHECK_EQ_INT(notify_start(f.n), 0);
	notify_kick(f.n);
	for (int i = 0; i < 500 && count_files(&f, "maildir/new", NULL, 0) < 1; i++)
		usleep(10000);
	usleep(300000); /* the program is running now */
	t = mono_now();
	notify_close(f.n);
	f.n = NULL;
	CHECK(mono_now() - t < 5.0);
	CHECK_EQ_INT(get_message(&f, 1, m), 0);
	CHECK_EQ_INT(m->state, MSG_QUEUED);
	CHECK_EQ_INT(m->attempts, 0);
	CHECK(m->body_len > 0);

	/* The next start runs the program again, but does not write the maildir twice. */
	snprintf(cmd, sizeof(cmd), "cat > %s/stdin", f.root);
	snprintf(f.cfg.email_command, sizeof(f.cfg.email_command), "%s",
		 script(&f, "fast.sh", cmd));
	CHECK_EQ_INT(fx_open(&f), 0);
	CHECK_EQ_INT(notify_start(f.n), 0);
	wait_for(&f, 1, 1, m);
	CHECK_EQ_INT(m->state, MSG_SENT);
	CHECK_EQ_INT(m->attempts, 0);
	CHECK_EQ_INT(count_files(&f, "maildir/new", NULL, 0), 1);
	fx_fini(&f);
	free(m);
}

static int count_one(const struct store_message *m, void *ctx)
{
	(void)m;
	(*(int *)ctx)++;
	return 0;
}

static void test_queued_messages_survive_a_restart_and_are_listed_by_state(void)
{
	struct store_message *m = calloc(1, sizeof(*m));
	struct fx f;
	int queued = 0, sent = 0;

	fx_init(&f);
	CHECK_EQ_INT(fx_open(&f), 0);
	CHECK_EQ_INT(queue(&f, NOTIFY_EMAIL, "alice@example.org", "reference", ref_vars, 3), 0);
	CHECK_EQ_INT(queue(&f, NOTIFY_EMAIL, "bob@example.org", "reference", ref_vars, 3), 0);
	CHECK_EQ_INT(notify_list(f.n, MSG_QUEUED, 0, count_one, &queued), 0);
	CHECK_EQ_INT(queued, 2);
	/* Stopped before any delivery: a new outbox on the same store delivers both. */
	notify_close(f.n);
	f.n = NULL;
	CHECK_EQ_INT(count_files(&f, "maildir/new", NULL, 0), 0);
	CHECK_EQ_INT(fx_open(&f), 0);
	CHECK_EQ_INT(notify_start(f.n), 0);
	wait_for(&f, 2, 1, m); /* no kick: the worker looks at the queue when it starts */
	CHECK_EQ_INT(m->state, MSG_SENT);
	CHECK_EQ_INT(notify_list(f.n, MSG_SENT, 0, count_one, &sent), 0);
	CHECK_EQ_INT(sent, 2);
	CHECK_EQ_INT(count_files(&f, "maildir/new", NULL, 0), 2);
	fx_fini(&f);
	free(m);
}

int main(int argc, char **argv)
{
	const char *base = getenv("CERTFLOW_TEST_TMP");

	(void)argc;
	(void)argv;
	if (!base || !*base)
		base = "/tmp";
	mkdir(base, 0700);
	snprintf(clock_path, sizeof(clock_path), "%s/notify-clock-%d", base, (int)getpid());
	set_clock(T0);
	cf_clock_set_file(clock_path);
	cf_log_set_level(CF_LOG_ERROR);
	RUN(test_default_templates_are_written_into_a_missing_directory);
	RUN(test_template_with_an_unknown_placeholder_is_refused_at_open);
	RUN(test_email_is_sealed_then_delivered_to_the_maildir_and_its_body_erased);
	RUN(test_portal_links_start_with_the_server_url_given_without_its_final_slash);
	RUN(test_subject_variable_with_a_line_break_is_refused);
	RUN(test_email_program_gets_the_message_on_stdin_and_the_recipient_last);
	RUN(test_failing_program_is_retried_with_backoff_then_failed);
	RUN(test_sms_without_a_program_goes_to_the_maildir_shaped_as_an_email);
	RUN(test_sms_program_gets_the_number_last_and_the_text_on_stdin);
	RUN(test_bad_recipients_and_unknown_templates_are_refused);
	RUN(test_queued_messages_survive_a_restart_and_are_listed_by_state);
	RUN(test_stopping_kills_a_running_program_and_the_retry_skips_the_maildir);
	unlink(clock_path);
	return check_done();
}
