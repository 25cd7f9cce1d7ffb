/* test_config_file — certflowd's config file: defaults, keys, bounds, one clear error line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cf_err.h"
#include "check.h"
#include "config.h"

static char path[512];
static char example[1024]; /* argv[1] is tests/unit/data */

static void write_file(const char *text)
{
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
}

static void test_defaults_match_the_spec(void)
{
	struct config c;

	config_defaults(&c);
	CHECK_EQ_STR(c.data, "./certflow-data");
	CHECK_EQ_STR(c.listen, "127.0.0.1:8443");
	CHECK_EQ_STR(c.hostname, "localhost");
	CHECK_EQ_INT(c.hostname_set, 0);
	CHECK_EQ_INT(c.core.enrolment_code_days, 15);
	CHECK_EQ_INT(c.core.max_activation_attempts, 5);
	CHECK_EQ_INT(c.core.device_validity_days, 365);
	CHECK_EQ_INT(c.core.signing_validity_days, 1095);
	CHECK_EQ_INT(c.core.signing_renewal_days, 90);
	CHECK_EQ_INT(c.threads, 256);
	CHECK_EQ_INT(c.per_address, 16);
	CHECK_EQ_INT(c.head_timeout_ms, 10000);
	CHECK_EQ_INT(c.body_timeout_ms, 10000);
	CHECK_EQ_INT(c.nonce_capacity, 65536);
}

static void test_file_sets_keys_and_ignores_comments(void)
{
	struct config c;
	char err[256] = "";

	config_defaults(&c);
	write_file(
	    "# a comment\n\n  data = /srv/cf  \nlisten=0.0.0.0:9443\nhostname = ca.example\n"
	    "enrolment_code_days = 3\nmax_activation_attempts = 7\nthreads = 8\n"
	    "nonce_capacity = 1024\nmax_connections_per_address = 4\nhead_timeout_ms = 2500\n"
	    "body_timeout_ms = 3000\n");
	CHECK_EQ_INT(config_load(path, &c, err, sizeof(err)), 0);
	CHECK_EQ_STR(c.data, "/srv/cf");
	CHECK_EQ_STR(c.listen, "0.0.0.0:9443");
	CHECK_EQ_STR(c.hostname, "ca.example");
	CHECK_EQ_INT(c.hostname_set, 1);
	CHECK_EQ_INT(c.core.enrolment_code_days, 3);
	CHECK_EQ_INT(c.core.max_activation_attempts, 7);
	CHECK_EQ_INT(c.threads, 8);
	CHECK_EQ_INT(c.nonce_capacity, 1024);
	CHECK_EQ_INT(c.per_address, 4);
	CHECK_EQ_INT(c.head_timeout_ms, 2500);
	CHECK_EQ_INT(c.body_timeout_ms, 3000);
	CHECK_EQ_INT(config_check(&c, err, sizeof(err)), 0);
}

static void test_unknown_key_or_bad_value_is_one_clear_error(void)
{
	struct config c;
	char err[256] = "";

	config_defaults(&c);
	write_file("data = x\nno_such_key = 1\n");
	CHECK_EQ_INT(config_load(path, &c, err, sizeof(err)), CF_EUSAGE);
	CHECK(strstr(err, ":2: unknown key \"no_such_key\"") != NULL);
	write_file("threads = many\n");
	CHECK_EQ_INT(config_load(path, &c, err, sizeof(err)), CF_EUSAGE);
	CHECK(strstr(err, ":1: threads must be an integer") != NULL);
	write_file("threads = 1\n"); /* one worker must stay free to refuse */
	CHECK_EQ_INT(config_load(path, &c, err, sizeof(err)), CF_EUSAGE);
	write_file("head_timeout_ms = 0\n");
	CHECK_EQ_INT(config_load(path, &c, err, sizeof(err)), CF_EUSAGE);
	write_file("just words\n");
	CHECK_EQ_INT(config_load(path, &c, err, sizeof(err)), CF_EUSAGE);
	CHECK(strstr(err, "expected key = value") != NULL);
	CHECK_EQ_INT(config_load("/nonexistent/certflowd.conf", &c, err, sizeof(err)), CF_EUSAGE);
	config_defaults(&c);
	CHECK_EQ_INT(config_set(&c, "signing_renewal_days", "2000", err, sizeof(err)), 0);
	CHECK_EQ_INT(config_check(&c, err, sizeof(err)), CF_EUSAGE);
}

static void test_store_is_lmdb_unless_postgresql_with_a_conninfo(void)
{
	struct config c;
	char err[256] = "";

	config_defaults(&c);
	CHECK_EQ_STR(c.store, "lmdb");
	CHECK_EQ_STR(c.store_conninfo, "");
	CHECK_EQ_INT(config_check(&c, err, sizeof(err)), 0);
	CHECK_EQ_INT(config_set(&c, "store", "postgresql", err, sizeof(err)), 0);
	CHECK_EQ_INT(config_check(&c, err, sizeof(err)), CF_EUSAGE);
	CHECK(strstr(err, "store = postgresql needs store_conninfo") != NULL);
	CHECK_EQ_INT(config_set(&c, "store_conninfo", "host=/run/postgresql dbname=certflow", err,
				sizeof(err)),
		     0);
	CHECK_EQ_INT(config_set(&c, "store_connections", "4", err, sizeof(err)), 0);
	CHECK_EQ_INT(c.store_connections, 4);
	CHECK_EQ_INT(config_check(&c, err, sizeof(err)), 0);
	CHECK_EQ_INT(config_set(&c, "store_connections", "0", err, sizeof(err)), CF_EUSAGE);
	CHECK_EQ_INT(config_set(&c, "store", "mysql", err, sizeof(err)), 0);
	CHECK_EQ_INT(config_check(&c, err, sizeof(err)), CF_EUSAGE);
	CHECK(strstr(err, "store must be lmdb or postgresql") != NULL);
}

static void test_public_url_defaults_to_the_server_url_and_is_checked(void)
{
	static const char *const bad[] = {
	    "certs.example.org",
	    "ftp://certs.example.org",
	    "https://",
	    "https://certs.example.org/",
	    "https://certs.example.org/?x=1",
	    "https://a b.example",
	    "https://certs.example.org/#frag",
	    "https://<x>.example",
	};
	struct config c;
	char err[256] = "";

	config_defaults(&c);
	CHECK_EQ_STR(c.core.public_url, "");
	CHECK_EQ_STR(core_public_url(&c.core, "https://127.0.0.1:8443"), "https://127.0.0.1:8443");
	write_file("public_url = https://certs.example.org/portal\n");
	CHECK_EQ_INT(config_load(path, &c, err, sizeof(err)), 0);
	CHECK_EQ_INT(config_check(&c, err, sizeof(err)), 0);
	CHECK_EQ_STR(core_public_url(&c.core, "https://127.0.0.1:8443"),
		     "https://certs.example.org/portal");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		config_defaults(&c);
		CHECK_EQ_INT(config_set(&c, "public_url", bad[i], err, sizeof(err)), 0);
		err[0] = '\0';
		CHECK_EQ_INT(config_check(&c, err, sizeof(err)), CF_EUSAGE);
		CHECK(strstr(err, "public_url") != NULL);
	}
}

static void test_base_url_is_unset_by_default_and_takes_no_path(void)
{
	static const char *const bad[] = {
	    "certs.example.org",	   "https://certs.example.org/",
	    "https://lb.example/certflow", "https://lb.example:443/v1",
	    "https://lb.example?x=1",	   "https://",
	};
	struct config c;
	char err[256] = "";

	config_defaults(&c);
	CHECK_EQ_STR(c.base_url, "");
	write_file("base_url = https://certs.example.org:8443\n");
	CHECK_EQ_INT(config_load(path, &c, err, sizeof(err)), 0);
	CHECK_EQ_INT(config_check(&c, err, sizeof(err)), 0);
	CHECK_EQ_STR(c.base_url, "https://certs.example.org:8443");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		config_defaults(&c);
		CHECK_EQ_INT(config_set(&c, "base_url", bad[i], err, sizeof(err)), 0);
		err[0] = '\0';
		CHECK_EQ_INT(config_check(&c, err, sizeof(err)), CF_EUSAGE);
		CHECK(strstr(err, "base_url") != NULL);
	}
}

static void test_example_file_in_the_tree_loads(void)
{
	struct config c;
	char err[256] = "";

	config_defaults(&c);
	if (!example[0])
		return;
	CHECK_EQ_INT(config_load(example, &c, err, sizeof(err)), 0);
	CHECK_EQ_INT(config_check(&c, err, sizeof(err)), 0);
}

int main(int argc, char **argv)
{
	snprintf(path, sizeof(path), "/tmp/certflowd-conf-%ld", (long)getpid());
	if (argc > 1)
		snprintf(example, sizeof(example), "%s/../../../server/certflowd.conf.example",
			 argv[1]);
	RUN(test_defaults_match_the_spec);
	RUN(test_file_sets_keys_and_ignores_comments);
	RUN(test_unknown_key_or_bad_value_is_one_clear_error);
	RUN(test_public_url_defaults_to_the_server_url_and_is_checked);
	RUN(test_store_is_lmdb_unless_postgresql_with_a_conninfo);
	RUN(test_base_url_is_unset_by_default_and_takes_no_path);
	RUN(test_example_file_in_the_tree_loads);
	unlink(path);
	return check_done();
}
