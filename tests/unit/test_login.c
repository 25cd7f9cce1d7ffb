/* test_login — portal logins and sessions in the core (spec/protocol.md §23), on a real LMDB
 * store and a real outbox (maildir) with the test clock: counted failures and the lock, the same
 * answer and work for unknown user ids, the restricted first session and the password change,
 * session expiry and logout, forgot password with an SMS code, the portal status, and the
 * housekeeping of expired sessions. */
#include "check.h"
#include "cf_clock.h"
#include "cf_crypto.h"
#include "cf_err.h"
#include "core.h"
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
#define FIRST "Fir5t-Passw0rd!"
#define SECOND "Sec0nd-Passw0rd?"

static const struct core_who who = {"anonymous", "127.0.0.1", NULL};

struct fx {
	char root[512], clock[600];
	store *st;
	notify *nt;
	struct core c;
	int64_t now;
};

static struct fx fx;
static int seq;

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
	snprintf(fx.root, sizeof(fx.root), "%s/login-XXXXXX", base);
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
	struct store_login l;
	struct store_credential cr;
	struct store_cert cert;
	struct store_custody cu;
};

static int put_fn(store_txn *txn, void *ctx)
{
	struct put *p = ctx;
	int ret = store_subject_put(txn, &p->s);

	if (ret == 0)
		ret = store_login_put(txn, &p->l);
	if (ret == 0)
		ret = store_credential_put(txn, &p->cr);
	if (ret == 0)
		ret = store_cert_put(txn, &p->cert, 0);
	if (ret == 0)
		ret = store_custody_put(txn, &p->cu);
	return ret;
}

/* A subject with a login (first password FIRST, must change) and one active remote credential
 * whose certificate ends in 60 days (inside the 90-day window). user_id gets the user id. */
static void holder(char user_id[STORE_USER_ID_LEN], char email[64], char mobile[24])
{
	struct put *p = calloc(1, sizeof(*p));
	int n = ++seq;

	snprintf(p->s.id, sizeof(p->s.id), "SUBJ%04d", n);
	snprintf(p->s.given_name, sizeof(p->s.given_name), "Ada");
	snprintf(p->s.surname, sizeof(p->s.surname), "Lovelace");
	snprintf(p->s.unique_id, sizeof(p->s.unique_id), "ADA-%d", n);
	snprintf(p->s.email, sizeof(p->s.email), "ada%d@example.org", n);
	snprintf(p->s.mobile, sizeof(p->s.mobile), "+1555%07d", n);
	p->s.state = SUBJECT_ACTIVE;
	snprintf(p->l.user_id, sizeof(p->l.user_id), "%010d", 4000 + n);
	snprintf(p->l.subject_id, sizeof(p->l.subject_id), "%s", p->s.id);
	CHECK_EQ_INT(core_login_password_set(&fx.c, FIRST, &p->l), 0);
	p->l.must_change = 1;
	snprintf(p->cr.id, sizeof(p->cr.id), "CRED%04d", n);
	snprintf(p->cr.subject, sizeof(p->cr.subject), "Ada Lovelace");
	snprintf(p->cr.profile, sizeof(p->cr.profile), "signing");
	snprintf(p->cr.subject_id, sizeof(p->cr.subject_id), "%s", p->s.id);
	snprintf(p->cr.current_serial, sizeof(p->cr.current_serial), "%04x", 0x1000 + n);
	snprintf(p->cr.update_note, sizeof(p->cr.update_note), "new CA");
	p->cr.update_by = fx.now + 10 * 86400;
	p->cr.status = CRED_ACTIVE;
	p->cr.remote = 1;
	snprintf(p->cert.serial, sizeof(p->cert.serial), "%s", p->cr.current_serial);
	snprintf(p->cert.credential_id, sizeof(p->cert.credential_id), "%s", p->cr.id);
	p->cert.status = CERT_VALID;
	p->cert.reason = -1;
	p->cert.not_before = fx.now - 1000 * 86400;
	p->cert.not_after = fx.now + 60 * 86400;
	p->cert.der_len = 3;
	memcpy(p->cert.der, "\x30\x01\x00", 3);
	snprintf(p->cu.credential_id, sizeof(p->cu.credential_id), "%s", p->cr.id);
	p->cu.key_type = CF_KEY_P256;
	p->cu.state = CUSTODY_ACTIVE;
	p->cu.pin_tries_left = 4;
	p->cu.puk_tries_left = 10;
	CHECK_EQ_INT(store_write(fx.st, put_fn, p), 0);
	snprintf(user_id, STORE_USER_ID_LEN, "%s", p->l.user_id);
	if (email)
		snprintf(email, 64, "%.63s", p->s.email);
	if (mobile)
		snprintf(mobile, 24, "%.23s", p->s.mobile);
	free(p);
}

static int login(const char *user_id, const char *password, struct core_login_result *res)
{
	memset(res, 0, sizeof(*res));
	return core_login(&fx.c, &who, user_id, password, res);
}

/* The value after "label" in the newest maildir file that holds needle; count of such files. */
static int mail_scan(const char *needle, const char *label, char *value, size_t cap)
{
	char dir[700], path[1000], *buf = calloc(1, 16384), *p;
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
		len = fread(buf, 1, 16383, f);
		buf[len] = '\0';
		fclose(f);
		if (!strstr(buf, needle) || !(p = strstr(buf, label)))
			continue;
		n++;
		mt = (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec;
		if (mt > newest) {
			newest = mt;
			p += strlen(label);
			len = strcspn(p, " \r\n(");
			snprintf(value, cap, "%.*s", (int)(len < cap ? len : cap - 1), p);
		}
	}
	if (d)
		closedir(d);
	free(buf);
	return n;
}

static void mail_wait(const char *needle, const char *label, int seen, char *value, size_t cap)
{
	value[0] = '\0';
	for (int i = 0; i < 1000 && mail_scan(needle, label, value, cap) <= seen; i++)
		usleep(10000);
}

/* ---- tests -------------------------------------------------------------------------------- */

static void test_first_login_is_restricted_until_the_password_changes(void)
{
	struct core_login_result res;
	struct core_session s;
	char uid[STORE_USER_ID_LEN];

	holder(uid, NULL, NULL);
	CHECK_EQ_INT(login(uid, FIRST, &res), 0);
	CHECK_EQ_INT(res.must_change, 1);
	CHECK_EQ_INT(strlen(res.token), 43);
	CHECK_EQ_INT(res.session.expires_at, fx.now + 30 * 60);
	CHECK_EQ_INT(res.nnotices, 1);
	CHECK_EQ_STR(res.notices[0].note, "new CA");
	CHECK_EQ_INT(core_session_check(&fx.c, res.token, 0, &s), CF_EPWCHANGE);
	CHECK_EQ_INT(core_session_check(&fx.c, res.token, 1, &s), 0);
	CHECK_EQ_STR(s.user_id, uid);
	CHECK_EQ_INT(s.restricted, 1);
	/* weak, unchanged, or with a wrong current password: nothing changes */
	CHECK_EQ_INT(core_login_password(&fx.c, &who, &s, FIRST, "short"), CF_EWEAKPASSWORD);
	CHECK_EQ_INT(core_login_password(&fx.c, &who, &s, FIRST, FIRST), CF_EWEAKPASSWORD);
	CHECK_EQ_INT(core_login_password(&fx.c, &who, &s, "Wr0ng-Passw0rd", SECOND), CF_EBADLOGIN);
	CHECK_EQ_INT(core_session_check(&fx.c, res.token, 0, &s), CF_EPWCHANGE);
	CHECK_EQ_INT(core_login_password(&fx.c, &who, &s, FIRST, SECOND), 0);
	CHECK_EQ_INT(core_session_check(&fx.c, res.token, 0, &s), 0);
	CHECK_EQ_INT(s.restricted, 0);
	CHECK_EQ_INT(login(uid, FIRST, &res), CF_EBADLOGIN);
	CHECK_EQ_INT(login(uid, SECOND, &res), 0);
	CHECK_EQ_INT(res.must_change, 0);
}

static void test_failed_logins_lock_until_an_operator_unlocks(void)
{
	struct core_login_result res;
	struct store_login l;
	char uid[STORE_USER_ID_LEN];

	holder(uid, NULL, NULL);
	for (int i = 1; i < 5; i++)
		CHECK_EQ_INT(login(uid, "Wr0ng-Passw0rd", &res), CF_EBADLOGIN);
	CHECK_EQ_INT(login(uid, FIRST, &res), 0); /* a right one resets the count */
	for (int i = 1; i < 5; i++)
		CHECK_EQ_INT(login(uid, "Wr0ng-Passw0rd", &res), CF_EBADLOGIN);
	CHECK_EQ_INT(login(uid, "Wr0ng-Passw0rd", &res), CF_EPROOFLOCKED);
	CHECK_EQ_INT(login(uid, FIRST, &res), CF_EPROOFLOCKED);
	CHECK_EQ_INT(core_login_unlock(&fx.c, &who, uid, &l), 0);
	CHECK_EQ_INT(l.failures, 0);
	CHECK_EQ_INT(login(uid, FIRST, &res), 0);
	CHECK_EQ_INT(core_login_unlock(&fx.c, &who, "0000000000", &l), CF_ENOTFOUND);
}

/* CPU time of this thread, not wall time: other processes on a loaded machine do not count. */
static double seconds(const char *uid, const char *password)
{
	struct core_login_result res;
	struct timespec a, b;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
	login(uid, password, &res);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
	return (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
}

static void test_unknown_user_ids_answer_and_cost_like_wrong_passwords(void)
{
	struct core_login_result res;
	char uid[STORE_USER_ID_LEN];
	double known = 0, unknown = 0;
	uint32_t saved = fx.c.cfg.kdf_iterations;

	/* with a costly KDF the derivation dominates: both paths must pay it */
	fx.c.cfg.kdf_iterations = 100000;
	holder(uid, NULL, NULL);
	CHECK_EQ_INT(login("9999999999", FIRST, &res), CF_EBADLOGIN);
	CHECK_EQ_INT(login("", FIRST, &res), CF_EBADLOGIN);
	for (int i = 0; i < 3; i++) {
		unknown += seconds("9999999999", "Wr0ng-Passw0rd");
		known += seconds(uid, "Wr0ng-Passw0rd");
	}
	fx.c.cfg.kdf_iterations = saved;
	CHECK(unknown > known * 0.6 && unknown < known * 1.6);
	if (!(unknown > known * 0.6 && unknown < known * 1.6))
		fprintf(stderr, "unknown %.3f s, known %.3f s\n", unknown, known);
}

static void test_sessions_expire_and_end_at_logout(void)
{
	struct core_login_result res, res2;
	struct core_session s;
	char uid[STORE_USER_ID_LEN];

	holder(uid, NULL, NULL);
	CHECK_EQ_INT(login(uid, FIRST, &res), 0);
	CHECK_EQ_INT(core_session_check(&fx.c, res.token, 1, &s), 0);
	CHECK_EQ_INT(core_login_password(&fx.c, &who, &s, FIRST, SECOND), 0);
	CHECK_EQ_INT(login(uid, SECOND, &res2), 0);
	CHECK_EQ_INT(core_session_check(&fx.c, res2.token, 0, &s), 0);
	CHECK_EQ_INT(core_logout(&fx.c, &who, &s), 0);
	CHECK_EQ_INT(core_session_check(&fx.c, res2.token, 0, &s), CF_ESESSION);
	CHECK_EQ_INT(core_logout(&fx.c, &who, &s), CF_ESESSION);
	CHECK_EQ_INT(core_session_check(&fx.c, res.token, 0, &s), 0);
	set_clock(fx.now + 30 * 60);
	CHECK_EQ_INT(core_session_check(&fx.c, res.token, 0, &s), CF_ESESSION);
	CHECK_EQ_INT(core_session_check(&fx.c, "", 0, &s), CF_ESESSION);
	CHECK_EQ_INT(core_session_check(&fx.c, "not a token", 0, &s), CF_ESESSION);
	set_clock(fx.now + 1);
	CHECK_EQ_INT(core_housekeeping(&fx.c), 0);
	set_clock(fx.now - 30 * 60 - 1);
	CHECK_EQ_INT(core_session_check(&fx.c, res.token, 0, &s), CF_ESESSION); /* purged */
}

static void test_forgot_password_resets_with_an_sms_code_and_ends_sessions(void)
{
	struct core_login_result res;
	struct core_session s;
	char uid[STORE_USER_ID_LEN], email[64], mobile[24], token[64], code[16], wrong[16];
	int64_t retry = 0;
	int left = -1;

	holder(uid, email, mobile);
	CHECK_EQ_INT(login(uid, FIRST, &res), 0);
	CHECK_EQ_INT(core_session_check(&fx.c, res.token, 1, &s), 0);
	CHECK_EQ_INT(core_password_forgot(&fx.c, &who, "nobody@example.org", "https://x"), 0);
	CHECK_EQ_INT(core_password_forgot(&fx.c, &who, email, "https://x"), 0);
	mail_wait(email, "Token: ", 0, token, sizeof(token));
	CHECK_EQ_INT(strlen(token), 43);
	CHECK_EQ_INT(core_password_reset_otp(&fx.c, &who, token, &retry), 0);
	mail_wait(mobile, "certflow code: ", 0, code, sizeof(code));
	CHECK_EQ_INT(strlen(code), 6);
	CHECK_EQ_INT(core_password_reset_otp(&fx.c, &who, token, &retry), CF_ERATELIMIT);
	CHECK_EQ_INT(retry, fx.now + 60);
	snprintf(wrong, sizeof(wrong), "%06d", (atoi(code) + 1) % 1000000);
	CHECK_EQ_INT(core_password_reset(&fx.c, &who, token, wrong, SECOND, &left), CF_EBADOTP);
	CHECK_EQ_INT(left, 4);
	CHECK_EQ_INT(core_password_reset(&fx.c, &who, token, code, "weak", &left),
		     CF_EWEAKPASSWORD);
	CHECK_EQ_INT(core_password_reset(&fx.c, &who, token, code, SECOND, &left), 0);
	CHECK_EQ_INT(core_session_check(&fx.c, res.token, 1, &s), CF_ESESSION);
	CHECK_EQ_INT(core_password_reset(&fx.c, &who, token, code, SECOND, &left), CF_EBADTOKEN);
	CHECK_EQ_INT(login(uid, FIRST, &res), CF_EBADLOGIN);
	CHECK_EQ_INT(login(uid, SECOND, &res), 0);
	CHECK_EQ_INT(res.must_change, 0);
	CHECK_EQ_INT(core_password_reset_otp(&fx.c, &who, "short", &retry), CF_EBADTOKEN);
}

static void test_status_lists_the_credentials_with_counters_and_renewal(void)
{
	struct core_login_result res;
	struct core_portal_status st;
	struct core_session s;
	char uid[STORE_USER_ID_LEN];

	holder(uid, NULL, NULL);
	CHECK_EQ_INT(login(uid, FIRST, &res), 0);
	CHECK_EQ_INT(core_session_check(&fx.c, res.token, 1, &s), 0);
	CHECK_EQ_INT(core_portal_status(&fx.c, &s, &st), 0);
	CHECK_EQ_STR(st.user_id, uid);
	CHECK_EQ_STR(st.given_name, "Ada");
	CHECK_EQ_INT(st.otp, CORE_OTP_SMS);
	CHECK_EQ_INT(st.ncreds, 1);
	if (st.ncreds == 1) {
		CHECK_EQ_STR(st.creds[0].status, "active");
		CHECK_EQ_INT(st.creds[0].has_cert, 1);
		CHECK_EQ_INT(st.creds[0].pin_tries_left, 4);
		CHECK_EQ_INT(st.creds[0].puk_tries_left, 10);
		CHECK_EQ_INT(st.creds[0].pin_blocked, 0);
		CHECK_EQ_STR(st.creds[0].key_algorithm, "p256");
		CHECK_EQ_INT(st.creds[0].renewal, 1);
		CHECK_EQ_INT(st.creds[0].renewal_offered, 1);
		CHECK_EQ_INT(st.creds[0].renewal_opens, fx.now - 30 * 86400);
	}
	core_portal_status_free(&st);
}

int main(void)
{
	fx_init();
	RUN(test_first_login_is_restricted_until_the_password_changes);
	RUN(test_failed_logins_lock_until_an_operator_unlocks);
	RUN(test_unknown_user_ids_answer_and_cost_like_wrong_passwords);
	RUN(test_sessions_expire_and_end_at_logout);
	RUN(test_forgot_password_resets_with_an_sms_code_and_ends_sessions);
	RUN(test_status_lists_the_credentials_with_counters_and_renewal);
	fx_fini();
	return check_done();
}
