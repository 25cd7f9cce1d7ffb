/*
 * notify — the outbox (notify.h). notify_queue renders a template, seals the text under the
 * outbox key and puts the message in the caller's write transaction, so a message exists if and
 * only if the state change that sends it committed. One worker thread delivers due messages
 * outside any transaction, then records the outcome in a short write transaction: sent (the
 * body erased) or a failed attempt (exponential backoff with jitter; failed for good, body
 * erased, after max_attempts). A crash between delivery and that record delivers the message
 * again on restart: at least once, never lost.
 *
 * On a store that several servers share (store_shared: PostgreSQL), each server runs this worker
 * and a message is claimed before it is delivered: a short write transaction sets claimed_by to
 * this server's random owner id and next_attempt_at to now + LEASE_SECS, if the message is still
 * queued and due (two servers that race: one claim commits, the other's transaction runs again
 * and finds the message not due). The claimed message leaves the other servers' due list until
 * the lease ends; the outcome is recorded only while the claim is still this server's, and gives
 * it back (claimed_by ""). A server killed mid-delivery leaves its claim to run out: then another
 * server takes the message over and delivers it (again, if the first got as far as a target).
 * A live server's delivery is bounded (NOTIFY_PROGRAM_TIMEOUT) well inside the lease, so no two
 * live servers deliver one message.
 *
 * Message ids come from store_counter_next("message") inside the caller's transaction, before
 * sealing, so the aad "message:<id>" binds each sealed body to its record.
 */
#include "notify_internal.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cf_clock.h"
#include "cf_crypto.h"
#include "cf_err.h"
#include "cf_log.h"

#define BATCH 8	     /* messages taken per store_read */
#define MAX_WAIT 30  /* seconds between two looks at the outbox, at most */
#define MAX_WORDS 32 /* words of a delivery command */
/* A claim on a shared store: four times the longest a program may run, so a live server always
 * records its delivery before its claim runs out (hosts' clocks must agree within a minute). */
#define LEASE_SECS (4 * NOTIFY_PROGRAM_TIMEOUT)

struct program {
	char *buf;		   /* the command, split in place; NULL = none */
	char *argv[MAX_WORDS + 1]; /* NULL-terminated */
};

struct notify {
	struct notify_config cfg;
	char maildir[NOTIFY_PATH_MAX + 16]; /* resolved; "" = off */
	char host[256];
	char from[256];
	struct program email, sms;
	store *st;
	uint8_t key[32];
	struct tmpl_set tmpls;
	pthread_mutex_t lock;
	pthread_cond_t cond; /* on CLOCK_MONOTONIC */
	pthread_t thread;
	int started, kicked;
	int stop;	   /* read by deliver_program while a program runs */
	char footer[1024]; /* under lock: the server's address and root fingerprint, "" = none */
	char portal[256];  /* under lock: {{portal}}, the base URL without a final '/' */
	int shared;	   /* store_shared(st): messages are claimed before delivery */
	char owner[sizeof(((struct store_message *)0)->claimed_by)]; /* this server's claims */
};

void notify_config_defaults(struct notify_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->max_attempts = 8;
	cfg->retry_base_secs = 30;
	cfg->retry_max_secs = 3600;
}

/* ---- opening ------------------------------------------------------------------------------ */

/* Split cmd on spaces into p (no shell: no quoting, no variables). The program is named by its
 * path and must be executable. */
static int program_init(struct program *p, const char *key, const char *cmd)
{
	size_t n = 0;
	char *save = NULL, *w;

	if (!cmd[0])
		return 0;
	p->buf = strdup(cmd);
	if (!p->buf)
		return CF_ENOMEM;
	for (w = strtok_r(p->buf, " ", &save); w && n < MAX_WORDS; w = strtok_r(NULL, " ", &save))
		p->argv[n++] = w;
	p->argv[n] = NULL;
	if (n == 0 || w || !strchr(p->argv[0], '/') || access(p->argv[0], X_OK) != 0) {
		fprintf(stderr,
			"certflowd: %s: \"%s\" must be the path of an executable program and at "
			"most %d words\n",
			key, p->argv[0] ? p->argv[0] : "", MAX_WORDS);
		return CF_EIO;
	}
	return 0;
}

/* DIR with tmp/, new/ and cur/ (0700). */
static int maildir_init(const char *dir)
{
	static const char *subs[] = {"", "/tmp", "/new", "/cur"};
	char path[NOTIFY_PATH_MAX + 32];

	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", dir, subs[i]);
		if (mkdir(path, 0700) != 0 && errno != EEXIST) {
			fprintf(stderr, "certflowd: cannot create the maildir %s: %s\n", path,
				strerror(errno));
			return CF_EIO;
		}
	}
	return 0;
}

static int paths_init(notify *n, const char *data, const char *hostname)
{
	char dir[NOTIFY_PATH_MAX + 16];
	int ret;

	snprintf(n->host, sizeof(n->host), "%s", hostname && *hostname ? hostname : "localhost");
	if (n->cfg.mail_from[0])
		snprintf(n->from, sizeof(n->from), "%s", n->cfg.mail_from);
	else
		snprintf(n->from, sizeof(n->from), "certflow@%.200s", n->host);
	if (strcmp(n->cfg.maildir, "off") != 0) {
		if (n->cfg.maildir[0])
			snprintf(n->maildir, sizeof(n->maildir), "%s", n->cfg.maildir);
		else
			snprintf(n->maildir, sizeof(n->maildir), "%s/maildir", data);
		if ((ret = maildir_init(n->maildir)) != 0)
			return ret;
	}
	if (!n->maildir[0] && (!n->cfg.email_command[0] || !n->cfg.sms_command[0])) {
		fprintf(stderr, "certflowd: maildir is off: email_command and sms_command are "
				"both needed to deliver messages\n");
		return CF_EIO;
	}
	if ((ret = program_init(&n->email, "email_command", n->cfg.email_command)) != 0 ||
	    (ret = program_init(&n->sms, "sms_command", n->cfg.sms_command)) != 0)
		return ret;
	if (n->cfg.templates[0])
		snprintf(dir, sizeof(dir), "%s", n->cfg.templates);
	else
		snprintf(dir, sizeof(dir), "%s/templates", data);
	return tmpl_load(dir, &n->tmpls);
}

static int sync_init(notify *n)
{
	pthread_condattr_t ca;
	int ret;

	if (pthread_mutex_init(&n->lock, NULL) != 0)
		return CF_EINTERNAL;
	if (pthread_condattr_init(&ca) != 0) {
		pthread_mutex_destroy(&n->lock);
		return CF_EINTERNAL;
	}
	ret = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0 &&
	      pthread_cond_init(&n->cond, &ca) == 0;
	pthread_condattr_destroy(&ca);
	if (!ret) {
		pthread_mutex_destroy(&n->lock);
		return CF_EINTERNAL;
	}
	return 0;
}

/* On a shared store, a random id for this server's claims (16 hex digits; not a secret). */
static int owner_init(notify *n)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t r[8];
	int ret;

	n->shared = store_shared(n->st);
	if (!n->shared)
		return 0;
	if ((ret = cf_random(r, sizeof(r))) != 0)
		return ret;
	for (size_t i = 0; i < sizeof(r); i++) {
		n->owner[2 * i] = hex[r[i] >> 4];
		n->owner[2 * i + 1] = hex[r[i] & 15];
	}
	n->owner[2 * sizeof(r)] = '\0';
	return 0;
}

int notify_open(const struct notify_config *cfg, const char *data, const char *hostname, store *st,
		const uint8_t key[32], notify **out)
{
	notify *n = calloc(1, sizeof(*n));
	int ret;

	if (!n)
		return CF_ENOMEM;
	n->cfg = *cfg;
	n->st = st;
	memcpy(n->key, key, sizeof(n->key));
	ret = owner_init(n);
	if (ret == 0)
		ret = paths_init(n, data, hostname);
	if (ret == 0 && (ret = sync_init(n)) == 0) {
		*out = n;
		return 0;
	}
	tmpl_free(&n->tmpls);
	free(n->email.buf);
	free(n->sms.buf);
	cf_zeroize(n->key, sizeof(n->key));
	free(n);
	return ret;
}

void notify_close(notify *n)
{
	if (!n)
		return;
	notify_stop(n);
	pthread_cond_destroy(&n->cond);
	pthread_mutex_destroy(&n->lock);
	tmpl_free(&n->tmpls);
	free(n->email.buf);
	free(n->sms.buf);
	cf_zeroize(n->key, sizeof(n->key));
	free(n);
}

/* ---- sealing ------------------------------------------------------------------------------ */

static size_t message_aad(uint64_t id, char out[32])
{
	return (size_t)snprintf(out, 32, "message:%llu", (unsigned long long)id);
}

/* body = nonce || ciphertext || tag. */
static int seal(const notify *n, uint64_t id, const uint8_t *plain, size_t len, uint8_t *body,
		size_t *body_len)
{
	char aad[32];
	size_t alen = message_aad(id, aad);
	int ret;

	if (len > NOTIFY_PLAIN_MAX)
		return CF_EINTERNAL;
	if ((ret = cf_random(body, NOTIFY_NONCE_LEN)) != 0)
		return ret;
	ret = cf_aead_seal(n->key, body, aad, alen, plain, len, body + NOTIFY_NONCE_LEN,
			   body + NOTIFY_NONCE_LEN + len);
	if (ret == 0)
		*body_len = len + NOTIFY_SEAL_OVERHEAD;
	return ret;
}

static int unseal(const notify *n, const struct store_message *m, uint8_t *plain, size_t *len)
{
	char aad[32];
	size_t alen = message_aad(m->id, aad), clen;
	int ret;

	if (m->body_len < NOTIFY_SEAL_OVERHEAD + NOTIFY_HDR_LEN + 1 ||
	    m->body_len > STORE_MESSAGE_MAX)
		return CF_EBADPASSPHRASE;
	clen = m->body_len - NOTIFY_SEAL_OVERHEAD;
	ret = cf_aead_open(n->key, m->body, aad, alen, m->body + NOTIFY_NONCE_LEN, clen,
			   m->body + NOTIFY_NONCE_LEN + clen, plain);
	if (ret == 0 && (plain[0] != NOTIFY_FORMAT ||
			 !memchr(plain + NOTIFY_HDR_LEN, '\n', clen - NOTIFY_HDR_LEN)))
		ret = CF_EBADPASSPHRASE;
	if (ret == 0)
		*len = clen;
	return ret;
}

/* ---- queueing ----------------------------------------------------------------------------- */

/* An e-mail address or an E.164 number that is safe as a header value and as the last argument
 * of a program: no white space or control characters, no leading '-', no list separators. */
static int recipient_ok(enum notify_channel ch, const char *to)
{
	size_t len = strlen(to), digits = 0;
	const char *at = strchr(to, '@');

	if (len == 0 || len >= STORE_EMAIL_LEN || to[0] == '-')
		return 0;
	for (const char *p = to; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c <= 0x20 || c == 0x7f || strchr(",;:<>()[]\"\\", c))
			return 0;
		digits += c >= '0' && c <= '9';
	}
	if (ch == NOTIFY_SMS)
		return to[0] == '+' && digits == len - 1 && digits >= 8 && digits <= 15;
	return at && at != to && at[1] && !strchr(at + 1, '@');
}

void notify_set_server(notify *n, const char *url, const char *fingerprint)
{
	if (!n)
		return;
	pthread_mutex_lock(&n->lock);
	/* "{{portal}}/#/emergency" must not read "https://ca.example//#/emergency" */
	snprintf(n->portal, sizeof(n->portal), "%s", url);
	for (size_t k = strlen(n->portal); k > 0 && n->portal[k - 1] == '/'; k--)
		n->portal[k - 1] = '\0';
	snprintf(
	    n->footer, sizeof(n->footer),
	    "\n-- \n"
	    "certflow server: %s\n"
	    "Its fingerprint: %s\n"
	    "Your certflow programs check that they talk to this server with these two lines:\n"
	    "certflow-agent ... --server %s --ca-fingerprint %s\n",
	    url, fingerprint, url, fingerprint);
	pthread_mutex_unlock(&n->lock);
}

/* The footer after an e-mail's body (len octets of out, cap in all): 0, or CF_EINTERNAL when it
 * does not fit. */
static int add_footer(notify *n, char *out, size_t cap, size_t *len)
{
	size_t k;
	int ret = 0;

	pthread_mutex_lock(&n->lock);
	k = strlen(n->footer);
	if (k && *len + k <= cap) {
		memcpy(out + *len, n->footer, k);
		*len += k;
	} else if (k) {
		ret = CF_EINTERNAL;
	}
	pthread_mutex_unlock(&n->lock);
	return ret;
}

int notify_queue(notify *n, store_txn *txn, enum notify_channel ch, const char *to,
		 const char *tmpl, const struct notify_var *vars, size_t nvars)
{
	const struct tmpl *t;
	struct store_message *m = NULL;
	struct notify_var all[NOTIFY_VARS_MAX + 1];
	char portal[sizeof(n->portal)];
	uint8_t *plain = NULL;
	size_t len = 0;
	int ret;

	if (!n || !txn || !to || !tmpl || nvars > NOTIFY_VARS_MAX)
		return CF_EINTERNAL;
	/* the caller's values, then {{portal}}, which every template may use (§18) */
	pthread_mutex_lock(&n->lock);
	memcpy(portal, n->portal, sizeof(portal));
	pthread_mutex_unlock(&n->lock);
	if (nvars)
		memcpy(all, vars, nvars * sizeof(*vars));
	all[nvars] = (struct notify_var){"portal", portal};
	if (!(t = tmpl_find(&n->tmpls, ch, tmpl)))
		return CF_ENOTFOUND;
	if (!recipient_ok(ch, to))
		return CF_EMALFORMED;
	m = calloc(1, sizeof(*m));
	plain = malloc(NOTIFY_PLAIN_MAX);
	ret = m && plain ? 0 : CF_ENOMEM;
	if (ret == 0) {
		plain[0] = NOTIFY_FORMAT;
		plain[1] = 0;
		ret = cf_random(plain + 2, NOTIFY_HDR_LEN - 2);
	}
	if (ret == 0)
		ret = tmpl_render(t, all, nvars + 1, (char *)plain + NOTIFY_HDR_LEN,
				  NOTIFY_PLAIN_MAX - NOTIFY_HDR_LEN, &len);
	if (ret == 0 && ch == NOTIFY_EMAIL)
		ret = add_footer(n, (char *)plain + NOTIFY_HDR_LEN,
				 NOTIFY_PLAIN_MAX - NOTIFY_HDR_LEN, &len);
	if (ret == 0)
		ret = store_counter_next(txn, "message", &m->id);
	if (ret == 0)
		ret = seal(n, m->id, plain, NOTIFY_HDR_LEN + len, m->body, &m->body_len);
	if (ret == 0) {
		m->channel = ch == NOTIFY_SMS ? MSG_SMS : MSG_EMAIL;
		m->state = MSG_QUEUED;
		snprintf(m->to, sizeof(m->to), "%s", to);
		snprintf(m->template_name, sizeof(m->template_name), "%s", tmpl);
		m->created_at = m->next_attempt_at = cf_now();
		ret = store_message_put(txn, m);
	}
	if (plain) {
		cf_zeroize(plain, NOTIFY_PLAIN_MAX);
		free(plain);
	}
	free(m);
	return ret;
}

void notify_kick(notify *n)
{
	if (!n)
		return;
	pthread_mutex_lock(&n->lock);
	n->kicked = 1;
	pthread_cond_signal(&n->cond);
	pthread_mutex_unlock(&n->lock);
}

/* ---- listing ------------------------------------------------------------------------------ */

struct list_ctx {
	int state;
	uint64_t after;
	int (*cb)(const struct store_message *m, void *ctx);
	void *ctx;
};

static int list_one(const struct store_message *m, void *ctx)
{
	struct list_ctx *l = ctx;

	return l->state && m->state != l->state ? 0 : l->cb(m, l->ctx);
}

static int list_fn(store_txn *txn, void *ctx)
{
	return store_message_list_after(txn, ((struct list_ctx *)ctx)->after, list_one, ctx);
}

static int count_one(const struct store_message *m, void *ctx)
{
	(void)m;
	++*(uint64_t *)ctx;
	return 0;
}

static int queued_fn(store_txn *txn, void *ctx)
{
	return store_message_list_queued(txn, count_one, ctx);
}

int notify_queued(notify *n, uint64_t *count)
{
	*count = 0;
	return n ? store_read(n->st, queued_fn, count) : 0;
}

int notify_list(notify *n, int state, uint64_t after,
		int (*cb)(const struct store_message *m, void *ctx), void *ctx)
{
	struct list_ctx l = {.state = state, .after = after, .cb = cb, .ctx = ctx};

	if (!n)
		return CF_EUNAVAILABLE;
	return store_read(n->st, list_fn, &l);
}

/* ---- delivering --------------------------------------------------------------------------- */

/* Targets a message of channel goes to (NOTIFY_DONE_* bits). */
static int targets_of(const notify *n, int channel)
{
	if (channel == MSG_SMS)
		return n->sms.buf ? NOTIFY_DONE_PROGRAM : n->maildir[0] ? NOTIFY_DONE_MAILDIR : 0;
	return (n->maildir[0] ? NOTIFY_DONE_MAILDIR : 0) | (n->email.buf ? NOTIFY_DONE_PROGRAM : 0);
}

/* retry_base * 2^(attempts-1), at most retry_max, plus up to 10% of jitter. */
static int64_t backoff(const struct notify_config *cfg, int attempts)
{
	int64_t d = cfg->retry_base_secs;
	uint32_t r = 0;

	for (int i = 1; i < attempts && d < cfg->retry_max_secs; i++)
		d *= 2;
	if (d > cfg->retry_max_secs)
		d = cfg->retry_max_secs;
	cf_random(&r, sizeof(r));
	return d + (int64_t)(r % (uint32_t)(d / 10 + 1));
}

static void append_error(char *err, size_t cap, const char *what)
{
	size_t len = strlen(err);

	snprintf(err + len, cap - len, "%s%s", len ? "; " : "", what);
}

/* Deliver the opened message to the targets not done yet; returns the targets done now.
 * *stopped: the server is stopping and a program was killed (the attempt does not count). */
static int deliver(notify *n, const struct store_message *m, const uint8_t *plain, size_t len,
		   char *err, size_t cap, int *stopped)
{
	const char *text = (const char *)plain + NOTIFY_HDR_LEN;
	const char *nl = memchr(text, '\n', len - NOTIFY_HDR_LEN);
	struct delivery d = {.id = m->id,
			     .channel = m->channel == MSG_SMS ? NOTIFY_SMS : NOTIFY_EMAIL,
			     .to = m->to,
			     .template_name = m->template_name,
			     .created_at = m->created_at,
			     .rand = plain + 2,
			     .subject = text,
			     .subject_len = (size_t)(nl - text),
			     .body = nl + 1,
			     .body_len = len - NOTIFY_HDR_LEN - (size_t)(nl - text) - 1};
	int targets = targets_of(n, m->channel), done = plain[1], todo = targets & ~done, ret = 0;
	char *msg = NULL, why[128] = "";
	size_t mlen = 0;

	/* The RFC 5322 form goes to the maildir and to the e-mail program; an SMS program gets
	 * the text alone. */
	if ((todo & NOTIFY_DONE_MAILDIR) ||
	    (d.channel == NOTIFY_EMAIL && (todo & NOTIFY_DONE_PROGRAM)))
		ret = deliver_compose(&d, n->from, n->host, &msg, &mlen);
	if (ret != 0)
		append_error(err, cap, "cannot compose the message");
	if (ret == 0 && (todo & NOTIFY_DONE_MAILDIR)) {
		if (deliver_maildir(n->maildir, n->host, msg, mlen, why, sizeof(why)) == 0)
			done |= NOTIFY_DONE_MAILDIR;
		else
			append_error(err, cap, why);
	}
	if (ret == 0 && (todo & NOTIFY_DONE_PROGRAM)) {
		int sms = d.channel == NOTIFY_SMS;
		ret = deliver_program(sms ? n->sms.argv : n->email.argv, m->to, sms ? d.body : msg,
				      sms ? d.body_len : mlen, &n->stop, why, sizeof(why));
		if (ret == 0)
			done |= NOTIFY_DONE_PROGRAM;
		else if (ret != CF_EUNAVAILABLE)
			append_error(err, cap, why);
	}
	if (msg) {
		cf_zeroize(msg, mlen);
		free(msg);
	}
	if (targets == 0)
		append_error(err, cap, "no delivery configured for this channel");
	*stopped = ret == CF_EUNAVAILABLE;
	return done;
}

struct update {
	const notify *n;
	struct store_message *m;   /* the new record */
	struct store_message *cur; /* scratch */
	int lost;		   /* shared store: the claim ran out and another server has it */
};

static int update_fn(store_txn *txn, void *ctx)
{
	struct update *u = ctx;
	int ret = store_message_get(txn, u->m->id, u->cur);

	u->lost = 0;
	if (ret != 0)
		return ret;
	/* shared store: recorded only while the claim is still this server's */
	if (u->n->shared &&
	    (u->cur->state != MSG_QUEUED || strcmp(u->cur->claimed_by, u->n->owner) != 0)) {
		u->lost = 1;
		return 0;
	}
	if (u->cur->state != MSG_QUEUED)
		return 0;
	return store_message_put(txn, u->m);
}

struct claim {
	const notify *n;
	struct store_message *m; /* in: a message seen due; out: as claimed, or as it is now */
	int64_t now;
	int got;       /* 1: this server's until now + LEASE_SECS */
	int took_over; /* from another server, whose claim had run out */
};

static int claim_fn(store_txn *txn, void *ctx)
{
	struct claim *c = ctx;
	struct store_message *m = c->m;
	int ret = store_message_get(txn, m->id, m);

	c->got = c->took_over = 0;
	if (ret == CF_ENOTFOUND) {
		m->state = 0; /* purged meanwhile: nothing to wait for */
		return 0;
	}
	if (ret != 0 || m->state != MSG_QUEUED || m->next_attempt_at > c->now)
		return ret; /* sent meanwhile, or another server's until next_attempt_at */
	c->took_over = m->claimed_by[0] != '\0';
	snprintf(m->claimed_by, sizeof(m->claimed_by), "%s", c->n->owner);
	m->next_attempt_at = c->now + LEASE_SECS;
	if ((ret = store_message_put(txn, m)) == 0)
		c->got = 1;
	return ret;
}

/* Claim m (shared store) in a transaction of its own, m then as the store has it: 1 if this
 * server may deliver it now, 0 if not (sent, or another server's), -1 on a store error. */
static int claim(notify *n, struct store_message *m)
{
	struct claim c = {.n = n, .m = m, .now = cf_now()};
	int ret = store_write(n->st, claim_fn, &c);

	if (ret != 0) {
		cf_error("outbox: message %llu: cannot claim it: %s", (unsigned long long)m->id,
			 cf_strerror(ret));
		return -1;
	}
	if (c.took_over)
		cf_warn("outbox: message %llu: the server that was delivering it stopped before it "
			"was recorded; delivering it now",
			(unsigned long long)m->id);
	return c.got;
}

static void erase_body(struct store_message *m)
{
	cf_zeroize(m->body, sizeof(m->body));
	m->body_len = 0;
}

/* Keep the targets done in the sealed text, so a retry skips them. */
static void remember_done(notify *n, struct store_message *m, uint8_t *plain, size_t len, int done)
{
	if (done == plain[1])
		return;
	plain[1] = (uint8_t)done;
	if (seal(n, m->id, plain, len, m->body, &m->body_len) != 0)
		cf_error(
		    "outbox: message %llu: cannot seal again; a retry repeats delivered targets",
		    (unsigned long long)m->id);
}

/* Record the outcome of one attempt in m: sent, retried later, or failed for good. */
static void settle(notify *n, struct store_message *m, uint8_t *plain, size_t len, int done,
		   const char *err, int permanent)
{
	int64_t now = cf_now();
	int targets = targets_of(n, m->channel);

	if (!permanent && targets && (done & targets) == targets) {
		m->state = MSG_SENT;
		m->sent_at = now;
		erase_body(m);
		cf_info("outbox: message %llu sent", (unsigned long long)m->id);
		return;
	}
	m->attempts++;
	snprintf(m->last_error, sizeof(m->last_error), "%s", err);
	if (permanent || m->attempts >= n->cfg.max_attempts) {
		m->state = MSG_FAILED;
		erase_body(m);
		cf_error("outbox: message %llu failed after %d attempts: %s",
			 (unsigned long long)m->id, m->attempts, m->last_error);
		return;
	}
	m->next_attempt_at = now + backoff(&n->cfg, m->attempts);
	cf_warn("outbox: message %llu attempt %d of %d: %s", (unsigned long long)m->id, m->attempts,
		n->cfg.max_attempts, m->last_error);
	remember_done(n, m, plain, len, done);
}

/* One due message: claim it (shared store), open, deliver outside any transaction, record.
 * 0, or -1 if not claimed or not recorded for a store error. */
static int process(notify *n, struct store_message *m, struct store_message *scratch,
		   uint8_t *plain)
{
	struct update u = {.n = n, .m = m, .cur = scratch};
	char err[sizeof(m->last_error)] = "";
	size_t len = 0;
	int done = 0, stopped = 0, ret;

	if (n->shared && (ret = claim(n, m)) <= 0)
		return ret;
	ret = unseal(n, m, plain, &len);
	if (ret != 0) {
		settle(n, m, plain, 0, 0, "the sealed body cannot be opened", 1);
	} else {
		done = deliver(n, m, plain, len, err, sizeof(err), &stopped);
		if (stopped && done == plain[1] && !n->shared) {
			cf_zeroize(plain, len);
			return 0; /* nothing to record: the message stays as it was */
		}
		if (stopped) {
			remember_done(n, m, plain, len, done); /* not an attempt */
			if (n->shared)
				m->next_attempt_at = cf_now(); /* the claim given back: due now */
		} else {
			settle(n, m, plain, len, done, err, 0);
		}
	}
	cf_zeroize(plain, len);
	m->claimed_by[0] = '\0';
	ret = store_write(n->st, update_fn, &u);
	if (ret != 0)
		cf_error("outbox: message %llu: cannot record the attempt: %s",
			 (unsigned long long)m->id, cf_strerror(ret));
	else if (u.lost)
		cf_warn(
		    "outbox: message %llu: its claim ran out during delivery and another server "
		    "took it over; it may be delivered twice",
		    (unsigned long long)m->id);
	return ret ? -1 : 0;
}

struct due {
	struct store_message *m; /* BATCH records */
	size_t n;
	int64_t now, next; /* next: earliest later next_attempt_at, 0 = none */
	int more;	   /* more due messages than BATCH */
};

static int collect(const struct store_message *m, void *ctx)
{
	struct due *d = ctx;

	if (m->state != MSG_QUEUED)
		return 0;
	if (m->next_attempt_at > d->now) {
		d->next = m->next_attempt_at; /* the walk is in next_attempt_at order */
		return 1;
	}
	if (d->n == BATCH) {
		d->more = 1;
		return 1;
	}
	memcpy(&d->m[d->n++], m, sizeof(*m));
	return 0;
}

static int read_due(store_txn *txn, void *ctx)
{
	struct due *d = ctx;
	int ret;

	d->n = 0;
	d->next = 0;
	d->more = 0;
	ret = store_message_list_queued(txn, collect, d);
	return ret > 0 ? 0 : ret;
}

/* Sleep until kicked, stopped, the next message is due, or MAX_WAIT seconds. The clock is
 * looked at every second, so a message falls due on time even when "now" jumps (a test clock,
 * or the wall clock set forward). */
static void wait_next(notify *n, const struct due *d, int failed)
{
	struct timespec ts;
	int secs = 0;

	if (d->more && !failed)
		return;
	pthread_mutex_lock(&n->lock);
	while (!n->kicked && !n->stop && secs < MAX_WAIT && (!d->next || cf_now() < d->next)) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += 1;
		if (pthread_cond_timedwait(&n->cond, &n->lock, &ts) == ETIMEDOUT)
			secs++;
	}
	pthread_mutex_unlock(&n->lock);
}

static void *worker(void *arg)
{
	notify *n = arg;
	struct store_message *scratch = malloc(sizeof(*scratch));
	uint8_t *plain = malloc(NOTIFY_PLAIN_MAX);
	struct due d = {.m = calloc(BATCH, sizeof(*d.m))};
	sigset_t sigs;

	/* A program that exits without reading its input must not kill the server (EPIPE). */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	if (!scratch || !plain || !d.m) {
		cf_error("outbox: out of memory: messages wait for a restart");
		goto out;
	}
	for (;;) {
		int failed = 0, ret;

		pthread_mutex_lock(&n->lock);
		n->kicked = 0;
		ret = n->stop;
		pthread_mutex_unlock(&n->lock);
		if (ret)
			break;
		d.now = cf_now();
		ret = store_read(n->st, read_due, &d);
		if (ret != 0) {
			cf_error("outbox: cannot read the queue: %s", cf_strerror(ret));
			d.n = 0;
			d.more = 0;
			failed = 1;
		}
		for (size_t i = 0; i < d.n && !__atomic_load_n(&n->stop, __ATOMIC_ACQUIRE); i++) {
			failed |= process(n, &d.m[i], scratch, plain) != 0;
			/* A retry, or the end of another server's claim, may fall due before the
			 * messages that were already waiting. */
			if (d.m[i].state == MSG_QUEUED &&
			    (!d.next || d.m[i].next_attempt_at < d.next))
				d.next = d.m[i].next_attempt_at;
		}
		wait_next(n, &d, failed);
	}
out:
	free(d.m);
	free(scratch);
	free(plain);
	return NULL;
}

int notify_start(notify *n)
{
	if (!n || n->started)
		return n ? 0 : CF_EINTERNAL;
	n->stop = 0;
	if (pthread_create(&n->thread, NULL, worker, n) != 0)
		return CF_EINTERNAL;
	n->started = 1;
	return 0;
}

void notify_stop(notify *n)
{
	if (!n || !n->started)
		return;
	pthread_mutex_lock(&n->lock);
	__atomic_store_n(&n->stop, 1, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&n->cond);
	pthread_mutex_unlock(&n->lock);
	pthread_join(n->thread, NULL);
	n->started = 0;
}
