/* test_ca_open — creating, reloading and refusing CA directories (ca_open). */
#include <ctype.h>
#include <sys/stat.h>

#include "test_ca_util.h"

static const struct ca_opts opts = {"Example Org", "http://ca.example/v1/crl"};

static int mode_of(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (int)(st.st_mode & 0777) : -1;
}

static void test_ca_open_creates_root_and_issuing(void)
{
	ca *c = NULL;
	char *out;
	size_t ski_len = 0;

	CHECK_EQ_INT(ca_open(tpath("new"), &opts, &c), 0);
	if (!c)
		return;
	CHECK_EQ_INT(mode_of(tpath("new/root.key")), 0600);
	CHECK_EQ_INT(mode_of(tpath("new/issuing.key")), 0600);
	CHECK_EQ_INT(mode_of(tpath("new/root.pem")), 0644);
	CHECK_EQ_INT(mode_of(tpath("new/issuing.pem")), 0644);
	CHECK(ca_issuer_key_id(c, &ski_len) != NULL);
	CHECK_EQ_INT(ski_len, 20);

	/* The chain is issuing then root, and the issuing CA verifies under the root. */
	CHECK(write_all_file(tpath("chain.pem"), ca_chain_pem(c), strlen(ca_chain_pem(c))) == 0);
	out = capture("openssl verify -CAfile '%s' '%s'", tpath("new/root.pem"),
		      tpath("new/issuing.pem"));
	CHECK(contains(out, ": OK"));
	free(out);
	out = capture("openssl crl2pkcs7 -nocrl -certfile '%s' | openssl pkcs7 -print_certs -noout",
		      tpath("chain.pem"));
	CHECK(contains(out, "subject=CN = certflow Issuing CA, O = Example Org\n"
			    "issuer=CN = certflow Root CA, O = Example Org\n\n"
			    "subject=CN = certflow Root CA"));
	free(out);

	out = capture("openssl x509 -in '%s' -noout -text", tpath("new/root.pem"));
	CHECK(contains(out, "CA:TRUE"));
	CHECK(contains(out, "Certificate Sign, CRL Sign"));
	CHECK(contains(out, "Subject Key Identifier"));
	CHECK(contains(out, "ASN1 OID: prime256v1"));
	CHECK(contains(out, "ecdsa-with-SHA256"));
	free(out);
	out = capture("openssl x509 -in '%s' -noout -text", tpath("new/issuing.pem"));
	CHECK(contains(out, "CA:TRUE, pathlen:0"));
	CHECK(contains(out, "Certificate Sign, CRL Sign"));
	CHECK(contains(out, "Authority Key Identifier"));
	free(out);
	ca_free(c);
}

static void test_ca_root_fingerprint_is_sha256_of_der(void)
{
	ca *c = NULL;
	char *out, expect[80] = "sha256:", *p;
	size_t k = 7;

	CHECK_EQ_INT(ca_open(tpath("new"), &opts, &c), 0);
	if (!c)
		return;
	out = capture("openssl x509 -in '%s' -noout -fingerprint -sha256", tpath("new/root.pem"));
	p = strchr(out, '=');
	for (p = p ? p + 1 : out; *p && k < 7 + 64; p++)
		if (isxdigit((unsigned char)*p))
			expect[k++] = (char)tolower((unsigned char)*p);
	expect[k] = '\0';
	CHECK_EQ_STR(ca_root_fingerprint(c), expect);
	free(out);
	ca_free(c);
}

static void test_ca_reopen_loads_same_keys(void)
{
	ca *c = NULL;
	char fp[80] = "", *chain = NULL;
	uint8_t *k1, *k2;
	size_t l1 = 0, l2 = 0, ski_len;

	CHECK_EQ_INT(ca_open(tpath("reopen"), NULL, &c), 0);
	if (!c)
		return;
	snprintf(fp, sizeof(fp), "%s", ca_root_fingerprint(c));
	chain = strdup(ca_chain_pem(c));
	ca_free(c);
	k1 = read_all(tpath("reopen/issuing.key"), &l1);
	c = NULL;
	CHECK_EQ_INT(ca_open(tpath("reopen"), NULL, &c), 0);
	if (c) {
		CHECK_EQ_STR(ca_root_fingerprint(c), fp);
		CHECK_EQ_STR(ca_chain_pem(c), chain);
		CHECK(ca_issuer_key_id(c, &ski_len) != NULL);
		ca_free(c);
	}
	k2 = read_all(tpath("reopen/issuing.key"), &l2);
	CHECK(k1 && k2 && l1 == l2 && memcmp(k1, k2, l1) == 0);
	free(k1);
	free(k2);
	free(chain);
}

static void test_ca_key_not_matching_certificate_refused(void)
{
	ca *c = NULL;
	uint8_t *before, *after;
	size_t lb = 0, la = 0;

	CHECK_EQ_INT(ca_open(tpath("swap"), NULL, &c), 0);
	ca_free(c);
	CHECK(run("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out '%s'",
		  tpath("other.key")) == 0);
	CHECK(run("cp '%s' '%s'", tpath("other.key"), tpath("swap/issuing.key")) == 0);
	before = read_all(tpath("swap/issuing.pem"), &lb);
	c = NULL;
	CHECK(ca_open(tpath("swap"), NULL, &c) != 0);
	CHECK(c == NULL);
	after = read_all(tpath("swap/issuing.pem"), &la);
	CHECK(before && after && lb == la && memcmp(before, after, lb) == 0);
	free(before);
	free(after);
}

static void test_ca_certificate_without_key_refused(void)
{
	ca *c = NULL;

	CHECK_EQ_INT(ca_open(tpath("nokey"), NULL, &c), 0);
	ca_free(c);
	CHECK(unlink(tpath("nokey/issuing.key")) == 0);
	c = NULL;
	CHECK(ca_open(tpath("nokey"), NULL, &c) != 0);
	CHECK(c == NULL);
	CHECK(access(tpath("nokey/issuing.key"), F_OK) != 0); /* nothing was made up */
}

static void test_ca_root_key_kept_offline_once_the_issuing_ca_exists(void)
{
	ca *c = NULL;
	char fp[80] = "";

	CHECK_EQ_INT(ca_open(tpath("offline"), NULL, &c), 0);
	if (c)
		snprintf(fp, sizeof(fp), "%s", ca_root_fingerprint(c));
	ca_free(c);
	CHECK(unlink(tpath("offline/root.key")) == 0);
	c = NULL;
	CHECK_EQ_INT(ca_open(tpath("offline"), NULL, &c), 0); /* the issuing CA signs */
	if (c)
		CHECK_EQ_STR(ca_root_fingerprint(c), fp);
	ca_free(c);
	CHECK(access(tpath("offline/root.key"), F_OK) != 0); /* no new root key made up */
	/* without the issuing CA the root key would be needed to make it: refused, nothing made */
	CHECK(unlink(tpath("offline/issuing.key")) == 0 &&
	      unlink(tpath("offline/issuing.pem")) == 0);
	c = NULL;
	CHECK(ca_open(tpath("offline"), NULL, &c) != 0);
	CHECK(c == NULL);
	CHECK(access(tpath("offline/issuing.pem"), F_OK) != 0);
	CHECK(access(tpath("offline/root.key"), F_OK) != 0);
}

static void test_ca_new_root_beside_old_issuing_refused(void)
{
	ca *c = NULL;

	CHECK_EQ_INT(ca_open(tpath("reroot"), NULL, &c), 0);
	ca_free(c);
	CHECK(unlink(tpath("reroot/root.key")) == 0 && unlink(tpath("reroot/root.pem")) == 0);
	c = NULL;
	CHECK_EQ_INT(ca_open(tpath("reroot"), NULL, &c), CF_EBADSIG);
	CHECK(c == NULL);
}

static void test_ca_missing_issuing_is_created_under_same_root(void)
{
	ca *c = NULL;
	char fp[80] = "";
	char *out;

	CHECK_EQ_INT(ca_open(tpath("reissue"), NULL, &c), 0);
	if (c)
		snprintf(fp, sizeof(fp), "%s", ca_root_fingerprint(c));
	ca_free(c);
	CHECK(unlink(tpath("reissue/issuing.key")) == 0 &&
	      unlink(tpath("reissue/issuing.pem")) == 0);
	c = NULL;
	CHECK_EQ_INT(ca_open(tpath("reissue"), NULL, &c), 0);
	if (c)
		CHECK_EQ_STR(ca_root_fingerprint(c), fp);
	ca_free(c);
	out = capture("openssl verify -CAfile '%s' '%s'", tpath("reissue/root.pem"),
		      tpath("reissue/issuing.pem"));
	CHECK(contains(out, ": OK"));
	free(out);
}

static void test_ca_bad_options_refused(void)
{
	struct ca_opts bad_name = {"Evil, CN=root", NULL};
	struct ca_opts utf8_name = {"Zo\xc3\xab", NULL};
	struct ca_opts bad_url = {"ok", "ftp://x"};
	ca *c = NULL;

	CHECK_EQ_INT(ca_open(tpath("bad"), &bad_name, &c), CF_EMALFORMED);
	CHECK_EQ_INT(ca_open(tpath("bad"), &utf8_name, &c), CF_EMALFORMED);
	CHECK_EQ_INT(ca_open(tpath("bad"), &bad_url, &c), CF_EMALFORMED);
	CHECK(c == NULL);
}

int main(void)
{
	tdir_make();
	RUN(test_ca_open_creates_root_and_issuing);
	RUN(test_ca_root_fingerprint_is_sha256_of_der);
	RUN(test_ca_reopen_loads_same_keys);
	RUN(test_ca_key_not_matching_certificate_refused);
	RUN(test_ca_certificate_without_key_refused);
	RUN(test_ca_root_key_kept_offline_once_the_issuing_ca_exists);
	RUN(test_ca_new_root_beside_old_issuing_refused);
	RUN(test_ca_missing_issuing_is_created_under_same_root);
	RUN(test_ca_bad_options_refused);
	if (check_failures == 0)
		tdir_remove();
	else
		fprintf(stderr, "files kept in %s\n", tdir);
	return check_done();
}
