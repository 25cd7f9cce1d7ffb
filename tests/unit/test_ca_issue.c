/* test_ca_issue — ca_issue and ca_write_server_pem, checked by the real openssl and by mbedTLS. */
#include <pthread.h>
#include <time.h>

#include <mbedtls/x509_crt.h>

#include "test_ca_util.h"

static ca *the_ca;
static const struct ca_opts opts = {"Example Org", "http://ca.example/v1/crl"};

static int issue(const cf_key *key, enum ca_profile_kind kind, const char *cn,
		 struct ca_issued *out)
{
	static const char *const dns[] = {"device-0042.example", "alt.example", NULL};
	static const char *const ips[] = {"192.0.2.7", NULL};
	struct ca_issue_req req = {
	    .subject_key = key,
	    .subject_cn = cn,
	    .email = kind == CA_PROFILE_SIGNING ? "alice@example.org" : NULL,
	    .dns_names = kind == CA_PROFILE_SIGNING ? NULL : dns,
	    .ip_addrs = kind == CA_PROFILE_SIGNING ? NULL : ips,
	    .kind = kind,
	    .now = (int64_t)time(NULL),
	    .validity_secs = 90 * 86400,
	};
	return ca_issue(the_ca, &req, out);
}

/* openssl verify of the leaf under root + issuing, for the purpose of its profile. */
static void verify_leaf(const char *name, const struct ca_issued *crt, const char *purpose)
{
	char *out;

	CHECK(write_pem_cert(tpath("%s.pem", name), crt->der, crt->der_len) == 0);
	out =
	    capture("openssl verify -CAfile '%s' -untrusted '%s' -purpose %s '%s'",
		    tpath("ca/root.pem"), tpath("ca/issuing.pem"), purpose, tpath("%s.pem", name));
	CHECK(contains(out, ": OK"));
	free(out);
}

static void test_ca_issued_chain_verifies_with_openssl(void)
{
	static const struct {
		const char *name, *newkey;
	} keys[] = {{"p256", KEY_P256}, {"p384", KEY_P384}, {"rsa", "rsa:2048"}};
	static const struct {
		enum ca_profile_kind kind;
		const char *purpose;
	} profiles[] = {{CA_PROFILE_DEVICE, "sslclient"},
			{CA_PROFILE_SIGNING, "smimesign"},
			{CA_PROFILE_TLS_SERVER, "sslserver"}};

	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		cf_key *key = csr_key(keys[k].name, keys[k].newkey);
		CHECK(key != NULL);
		for (size_t p = 0; key && p < sizeof(profiles) / sizeof(profiles[0]); p++) {
			struct ca_issued crt = {0};
			char name[64];

			snprintf(name, sizeof(name), "%s-%d", keys[k].name, (int)profiles[p].kind);
			CHECK_EQ_INT(issue(key, profiles[p].kind, "device-0042", &crt), 0);
			if (crt.der)
				verify_leaf(name, &crt, profiles[p].purpose);
			free(crt.der);
		}
		cf_key_free(key);
	}
}

/* Serial hex as openssl prints it after "serial=", lower-cased. */
static void openssl_serial(const char *pem, char *out, size_t cap)
{
	char *s = capture("openssl x509 -in '%s' -noout -serial", pem), *p = strchr(s, '=');
	size_t k = 0;

	for (p = p ? p + 1 : s; *p && *p != '\n' && k + 1 < cap; p++)
		out[k++] = (char)(*p >= 'A' && *p <= 'F' ? *p - 'A' + 'a' : *p);
	out[k] = '\0';
	free(s);
}

static void check_dates(const struct ca_issued *crt, int64_t now)
{
	mbedtls_x509_crt x;
	struct tm tm = {0};

	CHECK_EQ_INT(crt->not_before, now - 60);
	CHECK_EQ_INT(crt->not_after, now + 90 * 86400);
	mbedtls_x509_crt_init(&x);
	CHECK(mbedtls_x509_crt_parse_der(&x, crt->der, crt->der_len) == 0);
	tm.tm_year = x.valid_from.year - 1900;
	tm.tm_mon = x.valid_from.mon - 1;
	tm.tm_mday = x.valid_from.day;
	tm.tm_hour = x.valid_from.hour;
	tm.tm_min = x.valid_from.min;
	tm.tm_sec = x.valid_from.sec;
	CHECK_EQ_INT((int64_t)timegm(&tm), now - 60);
	CHECK(x.serial.len == 16 && x.serial.p[0] != 0 && !(x.serial.p[0] & 0x80));
	mbedtls_x509_crt_free(&x);
}

static void test_ca_issued_fields(void)
{
	cf_key *key = csr_key("fields", KEY_P256);
	struct ca_issued crt = {0}, sig = {0};
	char serial[64], *out;
	int64_t before = (int64_t)time(NULL);

	CHECK(key != NULL);
	if (!key)
		return;
	CHECK_EQ_INT(issue(key, CA_PROFILE_DEVICE, "from-the-request", &crt), 0);
	if (!crt.der)
		goto out;
	CHECK_EQ_INT(strlen(crt.serial), 32);
	/* positive (top bit clear), no leading zero octet */
	CHECK(crt.serial[0] >= '0' && crt.serial[0] <= '7' && strncmp(crt.serial, "00", 2) != 0);
	check_dates(&crt, crt.not_before + 60);
	CHECK(crt.not_before + 60 >= before && crt.not_before + 60 <= (int64_t)time(NULL));
	CHECK(write_pem_cert(tpath("fields.pem"), crt.der, crt.der_len) == 0);
	openssl_serial(tpath("fields.pem"), serial, sizeof(serial));
	CHECK_EQ_STR(serial, crt.serial);

	out = capture("openssl x509 -in '%s' -noout -text", tpath("fields.pem"));
	CHECK(contains(out, "Subject: CN = from-the-request, O = Example Org"));
	CHECK(!strstr(out, "from-the-csr"));
	CHECK(contains(out, "Issuer: CN = certflow Issuing CA, O = Example Org"));
	CHECK(contains(out, "X509v3 Basic Constraints: \n                CA:FALSE"));
	CHECK(contains(out, "X509v3 Key Usage: critical\n                Digital Signature\n"));
	CHECK(contains(out, "X509v3 Extended Key Usage: \n                TLS Web Client "
			    "Authentication\n"));
	CHECK(contains(out, "X509v3 Subject Key Identifier"));
	CHECK(contains(out, "X509v3 Authority Key Identifier"));
	CHECK(contains(out, "DNS:device-0042.example, DNS:alt.example, IP Address:192.0.2.7\n"));
	CHECK(contains(out, "X509v3 CRL Distribution Points"));
	CHECK(contains(out, "URI:http://ca.example/v1/crl"));
	CHECK(contains(out, "Signature Algorithm: ecdsa-with-SHA256"));
	free(out);

	CHECK_EQ_INT(issue(key, CA_PROFILE_SIGNING, "Alice Example", &sig), 0);
	if (sig.der && write_pem_cert(tpath("sig.pem"), sig.der, sig.der_len) == 0) {
		out = capture("openssl x509 -in '%s' -noout -text", tpath("sig.pem"));
		CHECK(contains(out, "Digital Signature, Non Repudiation"));
		CHECK(contains(out, "E-mail Protection"));
		CHECK(contains(out, "email:alice@example.org"));
		CHECK(!strstr(out, "DNS:"));
		free(out);
	}
	CHECK(strcmp(crt.serial, sig.serial) != 0);
out:
	free(sig.der);
	free(crt.der);
	cf_key_free(key);
}

static void test_ca_aki_is_issuer_ski(void)
{
	cf_key *key = csr_key("aki", KEY_P256);
	struct ca_issued crt = {0};
	const uint8_t *ski;
	size_t ski_len = 0;
	char hex[3 * 64 + 1] = "", *out;

	ski = ca_issuer_key_id(the_ca, &ski_len);
	for (size_t i = 0; i < ski_len; i++)
		snprintf(hex + 3 * i, 4, "%s%02X", i ? ":" : "", ski[i]);
	if (key && issue(key, CA_PROFILE_DEVICE, "aki", &crt) == 0 &&
	    write_pem_cert(tpath("aki.pem"), crt.der, crt.der_len) == 0) {
		out = capture("openssl x509 -in '%s' -noout -ext authorityKeyIdentifier",
			      tpath("aki.pem"));
		CHECK(contains(out, hex + 1)); /* first ':' was written as "" */
		free(out);
		out = capture("openssl x509 -in '%s' -noout -ext subjectKeyIdentifier",
			      tpath("ca/issuing.pem"));
		CHECK(contains(out, hex + 1));
		free(out);
	} else {
		CHECK(0);
	}
	free(crt.der);
	cf_key_free(key);
}

static void test_ca_subject_injection_refused(void)
{
	static const char *const bad_cn[] = {
	    "a, O=evil",
	    "a,CN=root",
	    "a\\,b",
	    "a=b",
	    "a+CN=x",
	    "\"q\"",
	    "a;b",
	    "a<b>",
	    "#ab",
	    "line\nbreak",
	    "tab\tx",
	    "",
	    " lead",
	    "trail ",
	    "bad\xc3utf8",
	    "\xc0\xaf",
	    "0123456789012345678901234567890123456789012345678901234567890123X"};
	static const char *const bad_dns[] = {"a b", NULL};
	static const char *const bad_dns2[] = {"-a.example", NULL};
	static const char *const bad_ip[] = {"300.1.2.3", NULL};
	cf_key *key = csr_key("inj", KEY_P256);
	struct ca_issued crt = {0};
	struct ca_issue_req req = {.subject_key = key,
				   .kind = CA_PROFILE_DEVICE,
				   .now = (int64_t)time(NULL),
				   .validity_secs = 86400};
	char *out;

	CHECK(key != NULL);
	if (!key)
		return;
	for (size_t i = 0; i < sizeof(bad_cn) / sizeof(bad_cn[0]); i++) {
		req.subject_cn = bad_cn[i];
		CHECK_EQ_INT(ca_issue(the_ca, &req, &crt), CF_EMALFORMED);
	}
	req.subject_cn = NULL;
	CHECK_EQ_INT(ca_issue(the_ca, &req, &crt), CF_EMALFORMED);
	req.subject_cn = "ok";
	req.dns_names = bad_dns;
	CHECK_EQ_INT(ca_issue(the_ca, &req, &crt), CF_EMALFORMED);
	req.dns_names = bad_dns2;
	CHECK_EQ_INT(ca_issue(the_ca, &req, &crt), CF_EMALFORMED);
	req.dns_names = NULL;
	req.ip_addrs = bad_ip;
	CHECK_EQ_INT(ca_issue(the_ca, &req, &crt), CF_EMALFORMED);
	req.ip_addrs = NULL;
	req.email = "no-at-sign";
	CHECK_EQ_INT(ca_issue(the_ca, &req, &crt), CF_EMALFORMED);
	req.email = NULL;
	req.validity_secs = 0;
	CHECK_EQ_INT(ca_issue(the_ca, &req, &crt), CF_EMALFORMED);
	CHECK(crt.der == NULL); /* out untouched on failure */

	/* UTF-8 names are fine and stay one RDN. */
	req.validity_secs = 86400;
	req.subject_cn = "Zo\xc3\xab \xc3\x9cnicode-\xe2\x82\xac";
	CHECK_EQ_INT(ca_issue(the_ca, &req, &crt), 0);
	if (crt.der && write_pem_cert(tpath("utf8.pem"), crt.der, crt.der_len) == 0) {
		out = capture("openssl x509 -in '%s' -noout -subject -nameopt utf8,sep_comma_plus",
			      tpath("utf8.pem"));
		CHECK(contains(
		    out, "subject=CN=Zo\xc3\xab \xc3\x9cnicode-\xe2\x82\xac,O=Example Org\n"));
		free(out);
	}
	free(crt.der);
	cf_key_free(key);
}

/* mbedTLS 2.28's own view, as the agent will have it: host names and IPs both match. */
static void check_with_mbedtls(const char *pem_path)
{
	mbedtls_x509_crt chain, trust;
	uint32_t flags = 0;

	mbedtls_x509_crt_init(&chain);
	mbedtls_x509_crt_init(&trust);
	CHECK(mbedtls_x509_crt_parse_file(&chain, pem_path) == 0); /* the key is skipped */
	CHECK(mbedtls_x509_crt_parse_file(&trust, tpath("ca/root.pem")) == 0);
	CHECK(mbedtls_x509_crt_verify(&chain, &trust, NULL, "localhost", &flags, NULL, NULL) == 0);
	CHECK(mbedtls_x509_crt_verify(&chain, &trust, NULL, "127.0.0.1", &flags, NULL, NULL) == 0);
	CHECK(mbedtls_x509_crt_verify(&chain, &trust, NULL, "other.example", &flags, NULL, NULL) !=
	      0);
	mbedtls_x509_crt_free(&chain);
	mbedtls_x509_crt_free(&trust);
}

static void test_ca_server_pem_works_for_openssl_and_mbedtls(void)
{
	static const char *const dns[] = {"localhost", NULL};
	static const char *const ips[] = {"127.0.0.1", NULL};
	const char *path = tpath("server.pem");
	struct stat st;
	char *out, *a, *b;

	CHECK_EQ_INT(ca_write_server_pem(the_ca, dns, ips, (int64_t)time(NULL), path), 0);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	out = capture("grep -c BEGIN '%s'; grep -n BEGIN '%s'", path, path);
	CHECK(contains(out, "3\n"));
	CHECK(contains(out, "CERTIFICATE-----\n"));
	CHECK(contains(out, "PRIVATE KEY-----\n"));
	free(out);
	out = capture("openssl verify -CAfile '%s' -untrusted '%s' -purpose sslserver "
		      "-verify_hostname localhost -verify_ip 127.0.0.1 '%s'",
		      tpath("ca/root.pem"), path, path);
	CHECK(contains(out, ": OK"));
	free(out);
	out = capture("openssl x509 -in '%s' -noout -ext subjectAltName", path);
	CHECK(contains(out, "DNS:localhost, IP Address:127.0.0.1, DNS:127.0.0.1"));
	free(out);
	/* The key in the file is the certificate's. */
	a = capture("openssl x509 -in '%s' -noout -pubkey", path);
	b = capture("openssl pkey -in '%s' -pubout", path);
	CHECK(strlen(a) > 100);
	CHECK_EQ_STR(a, b);
	free(a);
	free(b);
	check_with_mbedtls(path);
	CHECK_EQ_INT(ca_write_server_pem(the_ca, NULL, NULL, (int64_t)time(NULL), path),
		     CF_EMALFORMED);
}

#define THREADS 4
#define PER_THREAD 25

struct worker {
	const cf_key *key;
	char issuing[1024]; /* tpath() is not thread-safe: resolved before the threads start */
	char serials[PER_THREAD][48];
	int failures;
};

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	mbedtls_x509_crt x;

	for (int i = 0; i < PER_THREAD; i++) {
		struct ca_issued crt = {0};
		uint32_t flags = 0;

		if (issue(w->key, CA_PROFILE_DEVICE, "threaded", &crt) != 0) {
			w->failures++;
			continue;
		}
		memcpy(w->serials[i], crt.serial, 48);
		mbedtls_x509_crt_init(&x);
		if (mbedtls_x509_crt_parse_file(&x, w->issuing) != 0 ||
		    mbedtls_x509_crt_parse_der(&x, crt.der, crt.der_len) != 0 ||
		    mbedtls_x509_crt_verify(x.next, &x, NULL, NULL, &flags, NULL, NULL) != 0)
			w->failures++;
		mbedtls_x509_crt_free(&x);
		free(crt.der);
	}
	return NULL;
}

static void test_ca_issue_from_many_threads(void)
{
	static struct worker w[THREADS];
	pthread_t t[THREADS];
	cf_key *key = csr_key("threads", KEY_P256);
	int dup = 0;

	CHECK(key != NULL);
	if (!key)
		return;
	for (int i = 0; i < THREADS; i++) {
		w[i].key = key;
		snprintf(w[i].issuing, sizeof(w[i].issuing), "%s", tpath("ca/issuing.pem"));
		CHECK(pthread_create(&t[i], NULL, worker_run, &w[i]) == 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		CHECK_EQ_INT(w[i].failures, 0);
	}
	for (int i = 0; i < THREADS * PER_THREAD; i++)
		for (int j = i + 1; j < THREADS * PER_THREAD; j++)
			dup += strcmp(w[i / PER_THREAD].serials[i % PER_THREAD],
				      w[j / PER_THREAD].serials[j % PER_THREAD]) == 0;
	CHECK_EQ_INT(dup, 0);
	cf_key_free(key);
}

/* Not a check: the cost of one issuance, for the record. */
static void test_ca_issue_cost(void)
{
	cf_key *key = csr_key("cost", KEY_P256);
	struct timespec a, b;
	int n = 200, ok = 0;
	double secs;

	if (!key)
		return;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < n; i++) {
		struct ca_issued crt = {0};
		ok += issue(key, CA_PROFILE_DEVICE, "cost", &crt) == 0;
		free(crt.der);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	CHECK_EQ_INT(ok, n);
	printf("ca_issue: %d in %.3f s = %.3f ms each, %.0f/s on one thread\n", n, secs,
	       secs * 1000 / n, n / secs);
	cf_key_free(key);
}

int main(void)
{
	tdir_make();
	if (ca_open(tpath("ca"), &opts, &the_ca) != 0) {
		fprintf(stderr, "ca_open failed\n");
		return 1;
	}
	RUN(test_ca_issued_chain_verifies_with_openssl);
	RUN(test_ca_issued_fields);
	RUN(test_ca_aki_is_issuer_ski);
	RUN(test_ca_subject_injection_refused);
	RUN(test_ca_server_pem_works_for_openssl_and_mbedtls);
	RUN(test_ca_issue_from_many_threads);
	RUN(test_ca_issue_cost);
	ca_free(the_ca);
	if (check_failures == 0)
		tdir_remove();
	else
		fprintf(stderr, "files kept in %s\n", tdir);
	return check_done();
}
