/* test_otp — one-time passwords and recovery in the core, on a real LMDB store and a real outbox
 * (maildir) in a temporary directory, with the test clock: SMS codes, the TOTP window of ±1 step
 * and single use, lockout at 5 failures, the SMS rate limits, the credential choice, and the
 * same work for unknown addresses (timed). */
#include "check.h"
#include "cf_clock.h"
#include "cf_crypto.h"
#include "cf_err.h"
#include "cf_otp.h"
#include "core.h"
#include "notify.h"
#include "proof.h"
#include "store.h"

#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define T0 1760000010LL /* 10 s into a TOTP step */
#define PASSPHRASE "Tr0ub4dor&3x"

static const char *const right[3] = {"Blue", "paris", "Rex"};
static const char *const wrong[3] = {"red", "london", "rex"}; /* one of three right */

struct fx {
	char root[512], clock[600];
	store *st;
	notify *nt;
	struct core c;
	int64_t now;
};

static struct fx fx;
static int mobiles; /* each subject has its own number */

static void set_clock(int64_t t)
{
	char tmp[700];
	FILE *f;

	fx.now = t;
	snprintf(tmp, sizeof(tmp), "%s.tmp", fx.clock);
	f = fopen(tmp, "w");
	fprintf(f, "%lld\n", (long long)t);
	fclose(f);
	rename(tmp, fx.clock);
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void fx_init(void)
{
	const char *base = getenv("CERTFLOW_TEST_TMP");
	struct notify_config ncfg;
	struct core_config cfg;
	uint8_t secret[32], key[32];
	char db[700];

	if (!base || !*base)
		base = "/tmp";
	mkdir(base, 0700);
	snprintf(fx.root, sizeof(fx.root), "%s/otp-XXXXXX", base);
	if (!mkdtemp(fx.root))
		exit(2);
	snprintf(fx.clock, sizeof(fx.clock), "%s/clock", fx.root);
	set_clock(T0);
	cf_clock_set_file(fx.clock);
	snprintf(db, sizeof(db), "%s/db", fx.root);
	memset(secret, 7, sizeof(secret));
	memset(key, 9, sizeof(key));
	core_config_defaults(&cfg);
	cfg.kdf_iterations = 1000;
	notify_config_defaults(&ncfg);
	if (store_open(db, NULL, &fx.st) != 0 ||
	    notify_open(&ncfg, fx.root, "mail.example.org", fx.st, key, &fx.nt) != 0 ||
	    core_init(&fx.c, fx.st, NULL, &cfg, secret) != 0 || notify_start(fx.nt) != 0)
		exit(2);
	fx.c.nt = fx.nt;
}

static void fx_fini(void)
{
	notify_close(fx.nt);
	core_fini(&fx.c);
	store_close(fx.st);
	nftw(fx.root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- fixtures, put straight into the store ------------------------------------------------ */

struct put {
	struct store_subject s;
	struct store_application app[2];
	struct store_credential cred[2];
	struct store_account acct;
	int ncred;
	struct store_challenge link;
};

static int put_fn(store_txn *txn, void *ctx)
{
	struct put *p = ctx;
	int ret = p->s.id[0] ? store_subject_put(txn, &p->s) : 0;

	for (int i = 0; i < p->ncred && ret == 0; i++) {
		ret = store_application_put(txn, &p->app[i]);
		if (ret == 0)
			ret = store_credential_put(txn, &p->cred[i]);
	}
	if (ret == 0 && p->ncred)
		ret = store_account_put(txn, &p->acct);
	if (ret == 0 && p->link.id[0])
		ret = store_challenge_put(txn, &p->link);
	return ret;
}

/* Subject <tag> (e-mail <tag>@example.org) with the questions of `right`, holding ncred
 * credentials (ids <tag>-C0, <tag>-C1) of account <tag>-A, each from its own application. */
static void subject(const char *tag, int ncred, struct store_subject *out)
{
	struct put *p = calloc(1, sizeof(*p));
	struct store_questions *q = &p->s.questions;

	snprintf(p->s.id, sizeof(p->s.id), "%s", tag);
	snprintf(p->s.given_name, sizeof(p->s.given_name), "Ada");
	snprintf(p->s.surname, sizeof(p->s.surname), "Lovelace");
	snprintf(p->s.unique_id, sizeof(p->s.unique_id), "%s-uid", tag);
	snprintf(p->s.email, sizeof(p->s.email), "%s@example.org", tag);
	snprintf(p->s.alt_email, sizeof(p->s.alt_email), "%s@home.example", tag);
	snprintf(p->s.mobile, sizeof(p->s.mobile), "+1555%07d", ++mobiles);
	p->s.state = SUBJECT_ACTIVE;
	p->s.created_at = fx.now;
	q->iterations = 1000;
	memset(q->salt, 3, sizeof(q->salt));
	for (int i = 0; i < 3; i++) {
		snprintf(q->text[i], sizeof(q->text[i]), "Question %d?", i + 1);
		CHECK_EQ_INT(
		    proof_answer_verifier(fx.c.secret, 32, right[i], q->salt, 1000, q->verifier[i]),
		    0);
	}
	snprintf(p->acct.id, sizeof(p->acct.id), "%s-A", tag);
	snprintf(p->acct.thumbprint, sizeof(p->acct.thumbprint), "%s-A", tag);
	snprintf(p->acct.jwk, sizeof(p->acct.jwk), "{}");
	p->acct.status = ACCOUNT_VALID;
	p->acct.role = ROLE_HOLDER;
	p->ncred = ncred;
	for (int i = 0; i < ncred; i++) {
		struct store_application *a = &p->app[i];
		struct store_credential *cr = &p->cred[i];

		snprintf(a->id, sizeof(a->id), "%s-P%d", tag, i);
		snprintf(a->subject_id, sizeof(a->subject_id), "%s", tag);
		snprintf(a->profile, sizeof(a->profile), "signing");
		a->state = APP_ACTIVATED;
		snprintf(a->credential_id, sizeof(a->credential_id), "%s-C%d", tag, i);
		snprintf(cr->id, sizeof(cr->id), "%s-C%d", tag, i);
		snprintf(cr->account_id, sizeof(cr->account_id), "%s", p->acct.id);
		snprintf(cr->subject, sizeof(cr->subject), "Ada Lovelace");
		snprintf(cr->profile, sizeof(cr->profile), "signing");
		snprintf(cr->application_id, sizeof(cr->application_id), "%s", a->id);
		snprintf(cr->subject_id, sizeof(cr->subject_id), "%s", tag);
		cr->status = CRED_ACTIVE;
	}
	CHECK_EQ_INT(store_write(fx.st, put_fn, p), 0);
	if (out)
		*out = p->s;
	free(p);
}

/* A pending link token of subject tag (as core_recovery_request makes one). */
static void link_token(const char *tag, char token[PROOF_TOKEN_CHARS + 1])
{
	struct put *p = calloc(1, sizeof(*p));

	CHECK_EQ_INT(proof_token_generate(fx.c.secret, 32, token, p->link.id), 0);
	p->link.kind = CHAL_LINK;
	p->link.state = CHAL_PENDING;
	snprintf(p->link.subject_id, sizeof(p->link.subject_id), "%s", tag);
	snprintf(p->link.purpose, sizeof(p->link.purpose), "recovery");
	p->link.created_at = fx.now;
	p->link.expires_at = fx.now + 3600;
	CHECK_EQ_INT(store_write(fx.st, put_fn, p), 0);
	free(p);
}

static int get_subject_fn(store_txn *txn, void *ctx)
{
	struct store_subject *s = ctx;
	return store_subject_get(txn, s->id, s);
}

static struct store_subject get_subject(const char *tag)
{
	struct store_subject s;

	memset(&s, 0, sizeof(s));
	snprintf(s.id, sizeof(s.id), "%s", tag);
	CHECK_EQ_INT(store_read(fx.st, get_subject_fn, &s), 0);
	return s;
}

static int complete(const char *token, const char *const answers[3], const char *otp,
		    const char *credential, struct core_recovery_result *res)
{
	struct core_who who = {"anonymous", "127.0.0.1", NULL};
	struct core_recovery_req r = {
	    .token = token, .otp = otp, .credential = credential, .passphrase = PASSPHRASE};

	for (int i = 0; i < 3; i++)
		r.answers[i] = answers[i];
	memset(res, 0, sizeof(*res));
	return core_recovery_complete(&fx.c, &who, &r, res);
}

static int send_otp(const char *token, int64_t *retry_at)
{
	struct core_who who = {"anonymous", "127.0.0.1", NULL};
	return core_recovery_send_otp(&fx.c, &who, token, retry_at);
}

/* SMS files in the maildir for mobile, and the code of the newest (by mtime) in code. */
static int sms_scan(const char *mobile, char code[7])
{
	char dir[700], path[1000], *buf = calloc(1, 8192), *p;
	int64_t newest = -1, mt;
	struct dirent *e;
	struct stat sb;
	int n = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/maildir/new", fx.root);
	d = opendir(dir);
	while (d && (e = readdir(d))) {
		FILE *f;
		size_t len;

		snprintf(path, sizeof(path), "%s/%.255s", dir, e->d_name);
		if (e->d_name[0] == '.' || stat(path, &sb) != 0 || !(f = fopen(path, "rb")))
			continue;
		len = fread(buf, 1, 8191, f);
		buf[len] = '\0';
		fclose(f);
		p = strstr(buf, "certflow code: ");
		if (!p || !strstr(buf, mobile))
			continue;
		n++;
		mt = (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec;
		if (mt > newest) {
			newest = mt;
			snprintf(code, 7, "%.6s", p + strlen("certflow code: "));
		}
	}
	if (d)
		closedir(d);
	cf_zeroize(buf, 8192);
	free(buf);
	return n;
}

/* Wait (up to 10 s) for more than seen SMS to mobile; the newest code into code. */
static void sms_wait(const char *mobile, int seen, char code[7])
{
	code[0] = '\0';
	for (int i = 0; i < 1000 && sms_scan(mobile, code) <= seen; i++)
		usleep(10000);
}

static void totp_code(const uint8_t *seed, int64_t t, char out[7])
{
	snprintf(out, 7, "%06u", (unsigned)cf_totp(seed, CF_OTP_SEED_LEN, t, 30, 6));
}

/* ---- tests -------------------------------------------------------------------------------- */

static void test_sms_codes_are_six_uniform_digits_checked_by_their_hmac(void)
{
	const struct proof_method *m = proof_find("sms-otp");
	uint8_t key[32] = {1}, mac[32], derived[PROOF_VERIFIER_MAX];
	char code[PROOF_SMS_DIGITS + 1], other[16];
	int first[10] = {0}, ok = 1;
	size_t len = 0;

	CHECK(m == &proof_sms_otp);
	for (int i = 0; i < 3000; i++) {
		CHECK_EQ_INT(proof_sms_generate(key, sizeof(key), code, mac), 0);
		ok &= strlen(code) == 6 && proof_otp_shape_ok(code, 6, 6);
		first[code[0] - '0']++;
		ok &= m->derive(key, sizeof(key), code, derived, &len) == 0 &&
		      m->check(derived, len, mac, sizeof(mac)) == 0;
		snprintf(other, sizeof(other), "%06d", (atoi(code) + 1) % 1000000);
		ok &= m->derive(key, sizeof(key), other, derived, &len) == 0 &&
		      m->check(derived, len, mac, sizeof(mac)) == CF_EBADCODE;
	}
	CHECK(ok);
	for (int d = 0; d < 10; d++) /* 300 expected; 5 standard deviations either side */
		CHECK(first[d] > 215 && first[d] < 385);
	CHECK_EQ_INT(m->derive(key, sizeof(key), "12345", derived, &len), CF_EBADCODE);
	CHECK_EQ_INT(m->derive(key, sizeof(key), "12345a", derived, &len), CF_EBADCODE);
	CHECK_EQ_INT(m->derive(key, sizeof(key), "1234567", derived, &len), CF_EBADCODE);
	CHECK(!proof_otp_shape_ok("", 6, 8) && !proof_otp_shape_ok("123456789", 6, 8));
}

static void test_link_tokens_are_43_characters_known_by_their_hmac_id(void)
{
	char token[PROOF_TOKEN_CHARS + 1], id[PROOF_TOKEN_ID_CHARS + 1],
	    id2[PROOF_TOKEN_ID_CHARS + 1];
	static const char alpha[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	uint8_t key[32] = {2};
	size_t at;

	CHECK_EQ_INT(proof_token_generate(key, sizeof(key), token, id), 0);
	CHECK_EQ_INT(strlen(token), 43);
	CHECK_EQ_INT(strlen(id), 32);
	CHECK_EQ_INT(proof_token_id(key, sizeof(key), token, id2), 0);
	CHECK_EQ_STR(id, id2);
	/* another base64url character in one place (not the last, whose low bits must stay zero):
	 * still a well-formed token, but another one */
	at = (size_t)(strchr(alpha, token[5]) - alpha);
	token[5] = alpha[(at + 1 + check_rand() % 63) % 64];
	CHECK_EQ_INT(proof_token_id(key, sizeof(key), token, id2), 0);
	CHECK(strcmp(id, id2) != 0);
	CHECK_EQ_INT(proof_token_id(key, sizeof(key), "short", id2), CF_EBADTOKEN);
	CHECK_EQ_INT(
	    proof_token_id(key, sizeof(key), "jvRvxwJ4Lv-1aXHrmup1SY8rMwthLysP_ZYiCY7X-vR", id2),
	    CF_EBADTOKEN); /* non-zero trailing bits: not canonical */
}

static void test_totp_window_is_one_step_either_side_and_each_code_counts_once(void)
{
	struct core_who who = {"account:T1-A", "127.0.0.1", NULL};
	struct core_recovery_result res;
	struct core_totp_setup ts;
	struct core_recovery_info info;
	uint8_t seed[64];
	size_t seed_len = 0;
	char token[PROOF_TOKEN_CHARS + 1], code[7];
	int left = -1;

	set_clock(T0);
	subject("T1", 1, NULL);
	CHECK_EQ_INT(core_totp_setup(&fx.c, &who, "T1-A", &ts), 0);
	CHECK(strncmp(ts.uri, "otpauth://totp/certflow:t1%40example.org?secret=", 48) == 0);
	CHECK_EQ_INT(ts.digits, 6);
	CHECK_EQ_INT(ts.period, 30);
	CHECK_EQ_INT(cf_base32_decode(ts.secret, seed, sizeof(seed), &seed_len), 0);
	CHECK_EQ_INT(seed_len, 20);
	/* two steps ahead is outside the window */
	totp_code(seed, T0 + 60, code);
	CHECK_EQ_INT(core_totp_confirm(&fx.c, &who, "T1-A", code, &left), CF_EBADOTP);
	CHECK_EQ_INT(left, 4);
	totp_code(seed, T0 - 30, code);
	CHECK_EQ_INT(core_totp_confirm(&fx.c, &who, "T1-A", code, &left), 0);
	CHECK_EQ_INT(get_subject("T1").otp_failures, 0); /* a right code resets the count */
	CHECK_EQ_INT(core_totp_setup(&fx.c, &who, "T1-A", &ts), CF_ECONFLICT);
	CHECK_EQ_INT(core_totp_confirm(&fx.c, &who, "T1-A", code, &left), CF_ECONFLICT);

	/* recovery now asks for TOTP; a right code used by an attempt at the answers is used up */
	link_token("T1", token);
	CHECK_EQ_INT(core_recovery_start(&fx.c, &who, token, &info), 0);
	CHECK_EQ_INT(info.otp, CORE_OTP_TOTP);
	CHECK_EQ_STR(info.questions[2], "Question 3?");
	totp_code(seed, T0 + 30, code);
	CHECK_EQ_INT(complete(token, wrong, code, NULL, &res), CF_EBADANSWERS);
	CHECK_EQ_INT(res.attempts_left, 4);
	CHECK_EQ_INT(complete(token, right, code, NULL, &res), CF_EBADOTP); /* used */
	CHECK_EQ_INT(res.attempts_left, 4);
	totp_code(seed, T0, code); /* a step before the last one accepted */
	CHECK_EQ_INT(complete(token, right, code, NULL, &res), CF_EBADOTP);
	CHECK_EQ_INT(res.attempts_left, 3);
	CHECK_EQ_INT(complete(token, right, NULL, NULL, &res), CF_EBADOTP); /* none: not counted */
	CHECK_EQ_INT(get_subject("T1").otp_failures, 2);
	set_clock(T0 + 60);
	totp_code(seed, T0 + 60, code);
	CHECK_EQ_INT(complete(token, right, code, NULL, &res), 0);
	CHECK_EQ_STR(res.credential_id, "T1-C0");
	CHECK_EQ_INT(get_subject("T1").otp_failures, 0);
	CHECK_EQ_INT(get_subject("T1").question_attempts, 0); /* a completed recovery resets it */
	CHECK_EQ_INT(core_recovery_start(&fx.c, &who, token, &info), CF_EBADTOKEN); /* used */
	cf_zeroize(&ts, sizeof(ts));
}

static void test_otp_locks_after_five_failures_until_an_operator_unlocks(void)
{
	struct core_who who = {"anonymous", "127.0.0.1", NULL};
	struct core_recovery_result res;
	struct core_recovery_info info;
	struct store_subject s;
	char token[PROOF_TOKEN_CHARS + 1], code[7], bad[16];
	int64_t retry_at = 0;

	set_clock(T0 + 1000);
	subject("L1", 1, &s);
	link_token("L1", token);
	CHECK_EQ_INT(core_recovery_start(&fx.c, &who, token, &info), 0);
	CHECK_EQ_INT(info.otp, CORE_OTP_SMS);
	CHECK_EQ_INT(send_otp(token, &retry_at), 0);
	sms_wait(s.mobile, 0, code);
	CHECK_EQ_INT(strlen(code), 6);
	snprintf(bad, sizeof(bad), "%06d", (atoi(code) + 1) % 1000000);
	for (int i = 1; i <= 4; i++) {
		CHECK_EQ_INT(complete(token, right, bad, NULL, &res), CF_EBADOTP);
		CHECK_EQ_INT(res.attempts_left, 5 - i);
	}
	CHECK_EQ_INT(complete(token, right, bad, NULL, &res), CF_EPROOFLOCKED);
	CHECK_EQ_INT(complete(token, right, code, NULL, &res), CF_EPROOFLOCKED);
	CHECK_EQ_INT(get_subject("L1").otp_failures, 5);
	CHECK_EQ_INT(core_recovery_start(&fx.c, &who, token, &info), CF_EPROOFLOCKED);
	set_clock(T0 + 1100);
	CHECK_EQ_INT(send_otp(token, &retry_at), CF_EPROOFLOCKED);
	CHECK_EQ_INT(core_unlock(&fx.c, &who, "L1", &s), 0);
	CHECK_EQ_INT(complete(token, right, code, NULL, &res), 0);
	CHECK_EQ_STR(res.credential_id, "L1-C0");
	CHECK_EQ_INT(get_subject("L1").question_attempts, 0);
}

static void test_sms_codes_are_rate_limited_and_only_the_newest_counts(void)
{
	struct core_recovery_result res;
	struct store_subject s;
	char token[PROOF_TOKEN_CHARS + 1], first[7], code[7];
	int64_t t = T0 + 5000, retry_at = 0;

	set_clock(t);
	subject("R1", 1, &s);
	link_token("R1", token);
	CHECK_EQ_INT(send_otp(token, &retry_at), 0);
	sms_wait(s.mobile, 0, first);
	set_clock(t + 10);
	CHECK_EQ_INT(send_otp(token, &retry_at), CF_ERATELIMIT);
	CHECK_EQ_INT(retry_at, t + 60);
	for (int i = 1; i <= 4; i++) {
		set_clock(t + 60 * i);
		CHECK_EQ_INT(send_otp(token, &retry_at), 0);
	}
	sms_wait(s.mobile, 4, code);
	set_clock(t + 300); /* 5 codes in this hour already */
	CHECK_EQ_INT(send_otp(token, &retry_at), CF_ERATELIMIT);
	CHECK_EQ_INT(retry_at, t + 3600);
	if (strcmp(first, code) != 0) {
		CHECK_EQ_INT(complete(token, right, first, NULL, &res), CF_EBADOTP);
		CHECK_EQ_INT(res.attempts_left, 4);
	}
	/* the limits are the subject's, whatever its link token */
	set_clock(t + 3599);
	link_token("R1", token);
	CHECK_EQ_INT(send_otp(token, &retry_at), CF_ERATELIMIT);
	CHECK_EQ_INT(retry_at, t + 3600);
	set_clock(t + 3600); /* the first code of the hour has left the window */
	CHECK_EQ_INT(send_otp(token, &retry_at), 0);
	CHECK_EQ_INT(complete(token, right, code, NULL, &res), CF_EBADOTP); /* another token's */
	sms_wait(s.mobile, 5, code);
	set_clock(t + 3600 + 60 * 5); /* an SMS code lives 5 minutes */
	CHECK_EQ_INT(complete(token, right, code, NULL, &res), CF_EBADOTP);
	CHECK_EQ_INT(res.attempts_left, 2);
}

static int any_chal(const struct store_challenge *ch, void *ctx)
{
	(void)ch;
	(*(int *)ctx)++;
	return 0;
}

struct chal_count {
	const char *subject;
	int n;
};

static int chal_count_fn(store_txn *txn, void *ctx)
{
	struct chal_count *cc = ctx;

	cc->n = 0;
	return store_challenge_list_by_subject(txn, cc->subject, any_chal, &cc->n);
}

/* Link tokens and SMS codes of subject tag still in the store. */
static int challenges(const char *tag)
{
	struct chal_count cc = {.subject = tag};

	CHECK_EQ_INT(store_read(fx.st, chal_count_fn, &cc), 0);
	return cc.n;
}

static void test_housekeeping_keeps_the_last_hour_of_sms_codes_and_drops_expired_ones(void)
{
	struct core_recovery_info info;
	struct core_who who = {"anonymous", "127.0.0.1", NULL};
	char token[PROOF_TOKEN_CHARS + 1];
	int64_t t = T0 + 20000, retry_at = 0;

	/* defaults: tokens live 60 min, SMS codes 5 min → a cutoff 65 min before now */
	CHECK_EQ_INT(core_challenge_cutoff(&fx.c.cfg, t), t - 3900);
	set_clock(t);
	subject("H1", 1, NULL);
	link_token("H1", token); /* expires at t + 3600 */
	for (int i = 0; i < 5; i++) {
		set_clock(t + 60 * i);
		CHECK_EQ_INT(send_otp(token, &retry_at), 0);
	}
	CHECK_EQ_INT(challenges("H1"), 6);
	/* the codes expired, but the hour's rate limit still counts them */
	set_clock(t + 1000);
	CHECK_EQ_INT(core_housekeeping(&fx.c), 0);
	CHECK_EQ_INT(challenges("H1"), 6);
	CHECK_EQ_INT(send_otp(token, &retry_at), CF_ERATELIMIT);
	CHECK_EQ_INT(retry_at, t + 3600);
	/* 65 minutes after the last code expired: the codes go, the token (expired at t + 3600)
	 * stays for as long again */
	set_clock(t + 240 + 300 + 3900 + 1);
	CHECK_EQ_INT(core_housekeeping(&fx.c), 0);
	CHECK_EQ_INT(challenges("H1"), 1);
	CHECK_EQ_INT(core_recovery_start(&fx.c, &who, token, &info), CF_EBADTOKEN);
	set_clock(t + 3600 + 3900 + 1);
	CHECK_EQ_INT(core_housekeeping(&fx.c), 0);
	CHECK_EQ_INT(challenges("H1"), 0);
	CHECK_EQ_INT(core_recovery_start(&fx.c, &who, token, &info), CF_EBADTOKEN);
}

static void test_complete_asks_to_choose_and_consumes_nothing_meanwhile(void)
{
	struct core_who who = {"anonymous", "127.0.0.1", NULL};
	struct core_recovery_result res;
	struct core_recovery_info info;
	struct core_recovery_req weak = {.passphrase = "password"};
	char token[PROOF_TOKEN_CHARS + 1];

	set_clock(T0 + 20000);
	fx.c.cfg.recovery_otp = 0;
	subject("C1", 2, NULL);
	link_token("C1", token);
	CHECK_EQ_INT(core_recovery_start(&fx.c, &who, token, &info), 0);
	CHECK_EQ_INT(info.otp, CORE_OTP_NONE);
	weak.token = token;
	for (int i = 0; i < 3; i++)
		weak.answers[i] = right[i];
	CHECK_EQ_INT(core_recovery_complete(&fx.c, &who, &weak, &res), CF_EWEAKPASSWORD);
	CHECK_EQ_INT(complete("not-a-token", right, NULL, NULL, &res), CF_EBADTOKEN);
	CHECK_EQ_INT(complete(token, right, NULL, NULL, &res), CF_ECHOICE);
	CHECK_EQ_INT(res.nchoices, 2);
	CHECK_EQ_STR(res.choices[0].id, "C1-C0");
	CHECK_EQ_STR(res.choices[1].id, "C1-C1");
	CHECK_EQ_STR(res.choices[1].profile, "signing");
	CHECK_EQ_INT(complete(token, right, NULL, "X-C9", &res), CF_ECHOICE);
	CHECK_EQ_INT(get_subject("C1").question_attempts, 0);
	CHECK_EQ_INT(complete(token, wrong, NULL, "C1-C1", &res), CF_EBADANSWERS);
	CHECK_EQ_INT(res.attempts_left, 4);
	CHECK_EQ_INT(complete(token, right, NULL, "C1-C1", &res), 0);
	CHECK_EQ_STR(res.credential_id, "C1-C1");
	CHECK_EQ_INT(complete(token, right, NULL, "C1-C1", &res), CF_EBADTOKEN);
	set_clock(T0 + 30000);
	link_token("C1", token);
	/* the completed recovery above reset the count: five new failures lock */
	for (int i = 0; i < 5; i++)
		CHECK_EQ_INT(complete(token, wrong, NULL, "C1-C0", &res),
			     i < 4 ? CF_EBADANSWERS : CF_EPROOFLOCKED);
	CHECK_EQ_INT(complete(token, right, NULL, "C1-C0", &res), CF_EPROOFLOCKED);
	fx.c.cfg.recovery_otp = 1;
}

struct count {
	int audit, challenges;
	const char *subject;
};

static int count_audit(const struct store_audit *ev, void *ctx)
{
	struct count *n = ctx;
	n->audit += strcmp(ev->action, "recovery.request") == 0;
	return 0;
}

static int count_chal(const struct store_challenge *ch, void *ctx)
{
	struct count *n = ctx;
	n->challenges += ch->kind == CHAL_LINK;
	return 0;
}

static int count_fn(store_txn *txn, void *ctx)
{
	struct count *n = ctx;
	int ret = store_audit_list(txn, 0, count_audit, n);
	return ret ? ret : store_challenge_list_by_subject(txn, n->subject, count_chal, n);
}

static int64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static void test_recovery_request_does_the_same_work_for_unknown_addresses(void)
{
	struct core_who who = {"anonymous", "127.0.0.1", NULL};
	struct count before = {.subject = "K1"}, after = {.subject = "K1"};
	enum { RUNS = 21 };
	int64_t known[RUNS], unknown[RUNS], t;

	set_clock(T0 + 40000);
	subject("K1", 1, NULL);
	CHECK_EQ_INT(store_read(fx.st, count_fn, &before), 0);
	CHECK_EQ_INT(core_recovery_request(&fx.c, &who, "k1@example.org", "https://ca.test"), 0);
	CHECK_EQ_INT(core_recovery_request(&fx.c, &who, "nobody@example.org", "https://ca.test"),
		     0);
	CHECK_EQ_INT(store_read(fx.st, count_fn, &after), 0);
	CHECK_EQ_INT(after.audit - before.audit, 2);	       /* one event each */
	CHECK_EQ_INT(after.challenges - before.challenges, 1); /* a token for the known one */
	/* Timing: interleaved, so that disk and CPU noise hits both alike. The known address
	 * writes more pages before the same fsync; both answers wait for the same floor. */
	for (int i = 0; i < RUNS; i++) {
		t = mono_us();
		core_recovery_request(&fx.c, &who, "k1@example.org", "https://ca.test");
		known[i] = mono_us() - t;
		t = mono_us();
		core_recovery_request(&fx.c, &who, "nobody@example.org", "https://ca.test");
		unknown[i] = mono_us() - t;
	}
	qsort(known, RUNS, sizeof(known[0]), cmp64);
	qsort(unknown, RUNS, sizeof(unknown[0]), cmp64);
	printf("    recovery request, median of %d: known %lld us, unknown %lld us\n", RUNS,
	       (long long)known[RUNS / 2], (long long)unknown[RUNS / 2]);
	t = known[RUNS / 2] - unknown[RUNS / 2];
	CHECK((t < 0 ? -t : t) * 20 < known[RUNS / 2] + unknown[RUNS / 2]); /* within ±10 % */
}

int main(void)
{
	fx_init();
	RUN(test_sms_codes_are_six_uniform_digits_checked_by_their_hmac);
	RUN(test_link_tokens_are_43_characters_known_by_their_hmac_id);
	RUN(test_totp_window_is_one_step_either_side_and_each_code_counts_once);
	RUN(test_otp_locks_after_five_failures_until_an_operator_unlocks);
	RUN(test_sms_codes_are_rate_limited_and_only_the_newest_counts);
	RUN(test_complete_asks_to_choose_and_consumes_nothing_meanwhile);
	RUN(test_recovery_request_does_the_same_work_for_unknown_addresses);
	RUN(test_housekeeping_keeps_the_last_hour_of_sms_codes_and_drops_expired_ones);
	fx_fini();
	return check_done();
}
