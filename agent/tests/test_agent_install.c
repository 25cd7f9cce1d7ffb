/*
 * test_agent_install — the agent's atomic credential installation (agent/install.c) and its
 * account file. The test PKI is made here with mbedTLS, never committed.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mbedtls/x509_crt.h>

#include "agent.h"
#include "cf_clock.h"
#include "cf_crypto_mbedtls.h"
#include "cf_err.h"
#include "cf_file.h"
#include "check.h"
#include "install.h"

static char tmpdir[1024];

/* A certificate for subject's key signed by issuer, valid from..to (YYYYMMDDhhmmss; PEM,
 * malloc'd). */
static char *make_cert_valid(const cf_key *subject, const char *subject_dn, const cf_key *issuer,
			     const char *issuer_dn, int is_ca, int serial, const char *from,
			     const char *to)
{
	mbedtls_x509write_cert crt;
	mbedtls_mpi sn;
	unsigned char buf[4096];
	char *pem = NULL;

	mbedtls_x509write_crt_init(&crt);
	mbedtls_mpi_init(&sn);
	mbedtls_mpi_lset(&sn, serial);
	mbedtls_x509write_crt_set_subject_key(&crt, (mbedtls_pk_context *)&subject->pk);
	mbedtls_x509write_crt_set_issuer_key(&crt, (mbedtls_pk_context *)&issuer->pk);
	mbedtls_x509write_crt_set_md_alg(&crt, MBEDTLS_MD_SHA256);
	if (mbedtls_x509write_crt_set_subject_name(&crt, subject_dn) == 0 &&
	    mbedtls_x509write_crt_set_issuer_name(&crt, issuer_dn) == 0 &&
	    mbedtls_x509write_crt_set_serial(&crt, &sn) == 0 &&
	    mbedtls_x509write_crt_set_validity(&crt, from, to) == 0 &&
	    mbedtls_x509write_crt_set_basic_constraints(&crt, is_ca, -1) == 0 &&
	    mbedtls_x509write_crt_pem(&crt, buf, sizeof(buf), cf_rng_mbedtls, cf_rng_ctx()) == 0)
		pem = strdup((char *)buf);
	mbedtls_mpi_free(&sn);
	mbedtls_x509write_crt_free(&crt);
	return pem;
}

static char *make_cert(const cf_key *subject, const char *subject_dn, const cf_key *issuer,
		       const char *issuer_dn, int is_ca, int serial)
{
	return make_cert_valid(subject, subject_dn, issuer, issuer_dn, is_ca, serial,
			       "20240101000000", "20440101000000");
}

static char *path_in(const char *dir, const char *name)
{
	static char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return p;
}

static char *slurp(const char *path)
{
	char *s = NULL;
	size_t len;
	return cf_file_read(path, 1 << 20, &s, &len) == 0 ? s : NULL;
}

static int count_sets(const char *dir)
{
	char cmd[PATH_MAX + 64];
	FILE *f;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "ls '%s/sets' | wc -l", dir);
	if ((f = popen(cmd, "r"))) {
		if (fscanf(f, "%d", &n) != 1)
			n = -1;
		pclose(f);
	}
	return n;
}

struct pki {
	cf_key *root, *other_root;
	char *root_pem, *other_pem;
	char ca_file[PATH_MAX];
};

static struct pki pki;

static void pki_make(void)
{
	FILE *f;

	CHECK(cf_key_generate(CF_KEY_P256, 0, &pki.root) == 0);
	CHECK(cf_key_generate(CF_KEY_P256, 0, &pki.other_root) == 0);
	pki.root_pem = make_cert(pki.root, "CN=Root", pki.root, "CN=Root", 1, 1);
	pki.other_pem = make_cert(pki.other_root, "CN=Other", pki.other_root, "CN=Other", 1, 1);
	CHECK(pki.root_pem && pki.other_pem);
	snprintf(pki.ca_file, sizeof(pki.ca_file), "%s/root.pem", tmpdir);
	f = fopen(pki.ca_file, "w");
	CHECK(f && fputs(pki.root_pem, f) >= 0 && fclose(f) == 0);
}

static char *new_dir(const char *name)
{
	static char d[PATH_MAX];
	snprintf(d, sizeof(d), "%s/%s", tmpdir, name);
	CHECK(mkdir(d, 0700) == 0);
	return d;
}

/* Install a fresh key with a certificate under root; returns the key (caller frees). */
static cf_key *install_one(const char *dir, const char *serial, int serial_no, int *ret)
{
	cf_key *key = NULL;
	char why[256], *cert;

	CHECK(cf_key_generate(CF_KEY_P256, 0, &key) == 0);
	cert = make_cert(key, "CN=device", pki.root, "CN=Root", 0, serial_no);
	*ret = install_credential(dir, key, cert, pki.root_pem, pki.ca_file, serial, 0, why,
				  sizeof(why));
	free(cert);
	return key;
}

static void test_install_makes_matching_set_live(void)
{
	const char *dir = new_dir("first");
	struct stat st;
	cf_key *key, *back = NULL;
	int ret;

	key = install_one(dir, "0a", 10, &ret);
	CHECK_EQ_INT(ret, 0);
	CHECK(stat(path_in(dir, "key.pem"), &st) == 0 && (st.st_mode & 0777) == 0600);
	CHECK(lstat(path_in(dir, "key.pem"), &st) == 0 && S_ISLNK(st.st_mode));
	CHECK(cf_key_load(path_in(dir, "key.pem"), &back) == 0 && cf_key_public_equal(key, back));
	CHECK(access(path_in(dir, "cert.pem"), R_OK) == 0);
	CHECK(access(path_in(dir, "chain.pem"), R_OK) == 0);
	CHECK(lstat(path_in(dir, "key.pem.prev"), &st) != 0);
	CHECK_EQ_INT(count_sets(dir), 1);
	cf_key_free(back);
	cf_key_free(key);
}

static void test_second_install_keeps_previous_set(void)
{
	const char *dir = new_dir("renewals");
	cf_key *k1, *k2, *k3, *back = NULL;
	int ret;

	k1 = install_one(dir, "1", 1, &ret);
	CHECK_EQ_INT(ret, 0);
	k2 = install_one(dir, "2", 2, &ret);
	CHECK_EQ_INT(ret, 0);
	CHECK(cf_key_load(path_in(dir, "key.pem.prev"), &back) == 0 &&
	      cf_key_public_equal(k1, back));
	cf_key_free(back);
	back = NULL;
	CHECK(cf_key_load(path_in(dir, "key.pem"), &back) == 0 && cf_key_public_equal(k2, back));
	cf_key_free(back);
	k3 = install_one(dir, "3", 3, &ret);
	CHECK_EQ_INT(ret, 0);
	CHECK_EQ_INT(count_sets(dir), 2); /* the oldest set is collected */
	cf_key_free(k1);
	cf_key_free(k2);
	cf_key_free(k3);
}

static void test_install_refuses_certificate_for_another_key(void)
{
	const char *dir = new_dir("mismatch");
	cf_key *k1, *key = NULL, *other = NULL;
	char why[256], *cert, *before, *after;
	int ret;

	k1 = install_one(dir, "1", 1, &ret);
	before = slurp(path_in(dir, "cert.pem"));
	CHECK(cf_key_generate(CF_KEY_P256, 0, &key) == 0);
	CHECK(cf_key_generate(CF_KEY_P256, 0, &other) == 0);
	cert = make_cert(other, "CN=device", pki.root, "CN=Root", 0, 2);
	ret =
	    install_credential(dir, key, cert, pki.root_pem, pki.ca_file, "2", 0, why, sizeof(why));
	CHECK_EQ_INT(ret, CF_EBADKEY);
	CHECK(why[0] != '\0');
	after = slurp(path_in(dir, "cert.pem"));
	CHECK(before && after && strcmp(before, after) == 0);
	CHECK_EQ_INT(count_sets(dir), 1);
	free(cert);
	free(before);
	free(after);
	cf_key_free(k1);
	cf_key_free(key);
	cf_key_free(other);
}

static void test_install_refuses_chain_to_another_root(void)
{
	const char *dir = new_dir("foreign");
	cf_key *key = NULL;
	char why[256], *cert;
	struct stat st;

	CHECK(cf_key_generate(CF_KEY_P256, 0, &key) == 0);
	cert = make_cert(key, "CN=device", pki.other_root, "CN=Other", 0, 5);
	CHECK_EQ_INT(install_credential(dir, key, cert, pki.other_pem, pki.ca_file, "5", 0, why,
					sizeof(why)),
		     CF_EVERIFY);
	CHECK(lstat(path_in(dir, "live"), &st) != 0);
	CHECK(lstat(path_in(dir, "key.pem"), &st) != 0);
	free(cert);
	cf_key_free(key);
}

static int64_t unix_time(const char *rfc3339)
{
	int64_t t = 0;

	CHECK(cf_time_parse(rfc3339, &t) == 0);
	return t;
}

/* A device clock a day behind the server sees a certificate just issued as not yet valid: the
 * set is checked at the time given (the server's), not by the local clock. */
static void test_new_set_is_checked_at_the_given_time_not_the_local_clock(void)
{
	const char *dir = new_dir("times");
	cf_key *key = NULL;
	char why[256], *future, *expired;

	CHECK(cf_key_generate(CF_KEY_P256, 0, &key) == 0);
	future = make_cert_valid(key, "CN=device", pki.root, "CN=Root", 0, 21, "20300101000000",
				 "20310101000000");
	expired = make_cert_valid(key, "CN=device", pki.root, "CN=Root", 0, 22, "20240101000000",
				  "20250101000000");
	CHECK(future && expired);
	CHECK_EQ_INT(certcheck_verify(future, pki.root_pem, key, pki.ca_file,
				      unix_time("2029-12-31T23:59:59Z"), why, sizeof(why)),
		     CF_EVERIFY);
	CHECK(strstr(why, "not valid at 2029-12-31T23:59:59Z") != NULL);
	CHECK_EQ_INT(certcheck_verify(expired, pki.root_pem, key, pki.ca_file,
				      unix_time("2025-01-01T00:00:01Z"), why, sizeof(why)),
		     CF_EVERIFY);
	/* the trust anchor must be valid then too (the root ends in 2044) */
	CHECK_EQ_INT(certcheck_verify(future, pki.root_pem, key, pki.ca_file,
				      unix_time("2044-06-01T00:00:00Z"), why, sizeof(why)),
		     CF_EVERIFY);
	CHECK_EQ_INT(install_credential(dir, key, future, pki.root_pem, pki.ca_file, "15",
					unix_time("2030-06-01T00:00:00Z"), why, sizeof(why)),
		     0);
	/* 0: no time check at all */
	CHECK_EQ_INT(certcheck_verify(expired, pki.root_pem, key, pki.ca_file, 0, why, sizeof(why)),
		     0);
	free(future);
	free(expired);
	cf_key_free(key);
}

static void test_install_refuses_serial_that_is_not_hex(void)
{
	const char *dir = new_dir("serial");
	cf_key *key;
	int ret;

	key = install_one(dir, "../../etc", 7, &ret);
	CHECK_EQ_INT(ret, CF_EMALFORMED);
	cf_key_free(key);
	key = install_one(dir, "ABC", 7, &ret);
	CHECK_EQ_INT(ret, CF_EMALFORMED);
	cf_key_free(key);
}

static void test_install_reports_write_failure(void)
{
	const char *dir = new_dir("broken");
	FILE *f = fopen(path_in(dir, "sets"), "w"); /* a file where the sets directory belongs */
	struct stat st;
	cf_key *key;
	int ret;

	CHECK(f && fclose(f) == 0);
	key = install_one(dir, "9", 9, &ret);
	CHECK_EQ_INT(ret, CF_EIO);
	CHECK(lstat(path_in(dir, "live"), &st) != 0);
	cf_key_free(key);
}

/* A renewal whose answer never arrived leaves its key in DIR/pending: the next one asks with it
 * again; one whose set went live (a crash while pending/ was removed) leaves nothing pending. */
static void test_pending_key_of_a_lost_answer_is_found_and_discarded_with_leftovers(void)
{
	const char *dir = new_dir("pending");
	cf_key *live, *lost = NULL, *back = NULL;
	struct stat st;
	FILE *f;
	int ret;

	CHECK_EQ_INT(agent_pending_orphan(dir, &back), CF_ENOTFOUND);
	live = install_one(dir, "31", 31, &ret);
	CHECK_EQ_INT(ret, 0);
	CHECK(cf_key_generate(CF_KEY_P256, 0, &lost) == 0);
	CHECK_EQ_INT(agent_pending_key(dir, lost), 0);
	CHECK_EQ_INT(agent_pending_orphan(dir, &back), 0);
	CHECK(back && cf_key_public_equal(back, lost));
	cf_key_free(back);
	back = NULL;
	/* a temporary file of a write the crash cut short goes too */
	f = fopen(path_in(dir, "pending/key.pem.tmpABCDEF"), "w");
	CHECK(f && fclose(f) == 0);
	CHECK_EQ_INT(agent_pending_discard(dir), 0);
	CHECK(lstat(path_in(dir, "pending"), &st) != 0);
	CHECK_EQ_INT(agent_pending_discard(dir), 0);
	/* the live set's own key left in pending/: nothing pending, and it is removed */
	CHECK_EQ_INT(agent_pending_key(dir, live), 0);
	CHECK_EQ_INT(agent_pending_orphan(dir, &back), CF_ENOTFOUND);
	CHECK(back == NULL);
	CHECK(lstat(path_in(dir, "pending"), &st) != 0);
	cf_key_free(live);
	cf_key_free(lost);
}

static void touch(const char *path)
{
	FILE *f = fopen(path, "w");
	CHECK(f && fclose(f) == 0);
}

/* A crash at the wrong moment leaves temporary files, a temporary symlink and a set not yet live;
 * the next run that takes the credential's lock removes them and keeps every live file, the
 * previous set and the pending key + response of a resumable renewal. */
static void test_next_run_removes_crash_leftovers_and_keeps_live_files_and_pending(void)
{
	const char *dir = new_dir("leftovers");
	cf_key *k1, *k2, *lost = NULL, *back = NULL;
	struct stat st;
	int ret, fd;

	k1 = install_one(dir, "41", 41, &ret);
	k2 = install_one(dir, "42", 42, &ret);
	CHECK_EQ_INT(ret, 0);
	CHECK(cf_key_generate(CF_KEY_P256, 0, &lost) == 0);
	CHECK_EQ_INT(agent_pending_key(dir, lost), 0);
	touch(path_in(dir, "pending/response.json"));
	touch(path_in(dir, "account.json"));
	touch(path_in(dir, "account.json.tmpAbC123"));
	touch(path_in(dir, "state.json.tmp0x9Yq1"));
	touch(path_in(dir, "pending/key.pem.tmpZZZZZZ"));
	CHECK(symlink("sets/43", path_in(dir, ".live.tmp")) == 0);
	CHECK(mkdir(path_in(dir, "sets/43"), 0700) == 0); /* a set cut short: zero-byte files */
	touch(path_in(dir, "sets/43/key.pem"));
	touch(path_in(dir, "sets/43/cert.pem"));
	CHECK((fd = agent_lock(dir, "leftovers")) >= 0);
	CHECK(lstat(path_in(dir, "account.json.tmpAbC123"), &st) != 0);
	CHECK(lstat(path_in(dir, "state.json.tmp0x9Yq1"), &st) != 0);
	CHECK(lstat(path_in(dir, "pending/key.pem.tmpZZZZZZ"), &st) != 0);
	CHECK(lstat(path_in(dir, ".live.tmp"), &st) != 0);
	CHECK(lstat(path_in(dir, "sets/43"), &st) != 0);
	CHECK_EQ_INT(count_sets(dir), 2); /* live and previous */
	CHECK(lstat(path_in(dir, "account.json"), &st) == 0);
	CHECK(lstat(path_in(dir, "pending/response.json"), &st) == 0);
	CHECK(cf_key_load(path_in(dir, "pending/key.pem"), &back) == 0 &&
	      cf_key_public_equal(back, lost));
	cf_key_free(back);
	back = NULL;
	CHECK(cf_key_load(path_in(dir, "key.pem"), &back) == 0 && cf_key_public_equal(back, k2));
	cf_key_free(back);
	back = NULL;
	CHECK(cf_key_load(path_in(dir, "key.pem.prev"), &back) == 0 &&
	      cf_key_public_equal(back, k1));
	cf_key_free(back);
	if (fd >= 0)
		close(fd);
	cf_key_free(k1);
	cf_key_free(k2);
	cf_key_free(lost);
}

static void test_account_file_round_trips(void)
{
	const char *dir = new_dir("account");
	struct account a = {0}, b;

	snprintf(a.server, sizeof(a.server), "https://127.0.0.1:8443");
	snprintf(a.ca, sizeof(a.ca), "/etc/ca \"quoted\".pem");
	snprintf(a.kid, sizeof(a.kid), "https://127.0.0.1:8443/v1/account/abc");
	snprintf(a.credential, sizeof(a.credential), "c1");
	CHECK_EQ_INT(account_save(dir, &a), 0);
	memset(&b, 0x55, sizeof(b));
	CHECK_EQ_INT(account_load(dir, &b), 0);
	CHECK_EQ_STR(b.ca, a.ca);
	CHECK_EQ_STR(b.kid, a.kid);
	CHECK_EQ_STR(b.credential, "c1");
	CHECK_EQ_STR(b.renewal_info, "");
}

int main(void)
{
	const char *base = getenv("CERTFLOW_TEST_TMP");
	char cmd[PATH_MAX + 16];

	if (!base || (mkdir(base, 0700) != 0 && access(base, W_OK) != 0))
		base = "/tmp";
	snprintf(tmpdir, sizeof(tmpdir), "%s/agent-install-XXXXXX", base);
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	pki_make();
	RUN(test_install_makes_matching_set_live);
	RUN(test_second_install_keeps_previous_set);
	RUN(test_install_refuses_certificate_for_another_key);
	RUN(test_install_refuses_chain_to_another_root);
	RUN(test_new_set_is_checked_at_the_given_time_not_the_local_clock);
	RUN(test_install_refuses_serial_that_is_not_hex);
	RUN(test_install_reports_write_failure);
	RUN(test_pending_key_of_a_lost_answer_is_found_and_discarded_with_leftovers);
	RUN(test_next_run_removes_crash_leftovers_and_keeps_live_files_and_pending);
	RUN(test_account_file_round_trips);
	cf_key_free(pki.root);
	cf_key_free(pki.other_root);
	free(pki.root_pem);
	free(pki.other_pem);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (check_failures == 0 && system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	return check_done();
}
