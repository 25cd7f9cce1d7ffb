/*
 * test_agent_config — the agent's configuration file (agent/config.c): what it accepts, and the
 * one-line "FILE:LINE: ..." error for everything it does not.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cf_err.h"
#include "check.h"
#include "config.h"

static char path[1024];

static int load_text(const char *text, struct agent_config *cfg, char *err, size_t err_len)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -999;
	fputs(text, f);
	fclose(f);
	return config_load(path, cfg, err, err_len);
}

/* The error for text, which must be refused at line (checked through the "PATH:LINE: " prefix). */
static void check_refused(const char *text, int line, const char *what)
{
	struct agent_config cfg = {0};
	char err[512] = "", prefix[1100];
	int ret = load_text(text, &cfg, err, sizeof(err));

	CHECK_EQ_INT(ret, CF_EUSAGE);
	snprintf(prefix, sizeof(prefix), "%s:%d: ", path, line);
	CHECK(strncmp(err, prefix, strlen(prefix)) == 0);
	CHECK(strstr(err, what) != NULL);
	CHECK(strchr(err, '\n') == NULL);
	if (ret == 0 || strstr(err, what) == NULL)
		fprintf(stderr, "  for %s: got \"%s\"\n", what, err);
	CHECK(cfg.cred == NULL);
}

static void test_full_file_is_read_with_every_key(void)
{
	struct agent_config cfg = {0};
	char err[512] = "";
	const struct agent_cred *c;

	CHECK_EQ_INT(load_text("# the agent\n"
			       "status_file = /run/certflow/status.json\n"
			       "\n"
			       "[credential web]\n"
			       "  server = https://ca.example:8443  \n"
			       "ca=/etc/certflow/root.pem\n"
			       "dir = /var/lib/certflow/web\n"
			       "key_type = rsa2048\n"
			       "hook = /usr/bin/systemctl reload nginx\n"
			       "password_file = /etc/certflow/web.pass\n"
			       "[credential vpn-1.x]\n"
			       "dir = /var/lib/certflow/vpn\n",
			       &cfg, err, sizeof(err)),
		     0);
	CHECK_EQ_STR(err, "");
	CHECK_EQ_STR(cfg.status_file, "/run/certflow/status.json");
	CHECK_EQ_INT(cfg.n, 2);
	c = config_find(&cfg, "web");
	CHECK(c != NULL);
	if (c) {
		CHECK_EQ_STR(c->server, "https://ca.example:8443");
		CHECK_EQ_STR(c->ca, "/etc/certflow/root.pem");
		CHECK_EQ_STR(c->dir, "/var/lib/certflow/web");
		CHECK_EQ_INT(c->key_type, CF_KEY_RSA);
		CHECK_EQ_INT(c->key_bits, 2048);
		CHECK_EQ_STR(c->hook, "/usr/bin/systemctl reload nginx");
		CHECK_EQ_STR(c->password_file, "/etc/certflow/web.pass");
	}
	c = config_find(&cfg, "vpn-1.x");
	CHECK(c != NULL && strcmp(c->dir, "/var/lib/certflow/vpn") == 0 && c->hook[0] == '\0' &&
	      c->key_type == 0);
	CHECK(config_find(&cfg, "mail") == NULL);
	config_free(&cfg);
}

static void test_status_file_has_a_default(void)
{
	struct agent_config cfg = {0};
	char err[512];

	CHECK_EQ_INT(load_text("[credential a]\ndir = /d\n", &cfg, err, sizeof(err)), 0);
	CHECK_EQ_STR(cfg.status_file, AGENT_STATUS_DEFAULT);
	config_free(&cfg);
}

static void test_mistakes_are_refused_with_file_and_line(void)
{
	check_refused("colour = blue\n", 1, "unknown key 'colour'");
	check_refused("[credential a]\ndir = /d\nport = 1\n", 3, "unknown key 'port'");
	check_refused("[credential a]\ndir = /d\nstatus_file = /s\n", 3, "global keys come first");
	check_refused("[credential a]\ndir = /d\n[credential a]\ndir = /e\n", 3,
		      "credential a is defined twice");
	check_refused("[credential a]\ndir = /d\ndir = /e\n", 3, "dir is given twice");
	check_refused("[credential a]\ndir = relative/path\n", 2, "absolute path");
	check_refused("[credential a]\ndir = /d\nkey_type = dsa\n", 3, "key_type must be");
	check_refused("[credential a]\ndir = /d\nserver = ftp://x\n", 3, "https://");
	check_refused("[credential a]\ndir = /d\nhook =\n", 3, "hook has no value");
	check_refused("[credential a]\ndir\n", 2, "expected key = value");
	check_refused("[credential a b]\ndir = /d\n", 1, "credential name");
	check_refused("[credentials a]\n", 1, "expected [credential NAME]");
	check_refused("[credential a]\nserver = https://x\n\n", 1, "[credential a] has no dir");
	check_refused("# nothing\n", 2, "no [credential NAME] section");
	check_refused("status_file = /a\nstatus_file = /b\n[credential a]\ndir = /d\n", 2,
		      "status_file is given twice");
}

static void test_missing_file_is_an_io_error(void)
{
	struct agent_config cfg = {0};
	char err[512] = "";

	CHECK_EQ_INT(config_load("/nonexistent/agent.conf", &cfg, err, sizeof(err)), CF_EIO);
	CHECK(strstr(err, "/nonexistent/agent.conf") != NULL);
}

static void test_dir_alone_is_one_credential_named_after_it(void)
{
	struct agent_config cfg;

	CHECK_EQ_INT(config_from_dir("/var/lib/certflow/dev42/", &cfg), 0);
	CHECK_EQ_INT(cfg.n, 1);
	CHECK_EQ_STR(cfg.cred[0].name, "dev42");
	CHECK_EQ_STR(cfg.cred[0].dir, "/var/lib/certflow/dev42/");
	CHECK_EQ_STR(cfg.status_file, "");
	config_free(&cfg);
	CHECK_EQ_INT(config_from_dir("agent", &cfg), 0);
	CHECK_EQ_STR(cfg.cred[0].name, "agent");
	config_free(&cfg);
}

static void test_hook_is_split_on_spaces_without_a_shell(void)
{
	char buf[128], *argv[4];

	CHECK_EQ_INT(config_split_hook("/bin/echo  a   'b c'", buf, sizeof(buf), argv, 4), -1);
	CHECK_EQ_INT(config_split_hook("/bin/echo  a $HOME", buf, sizeof(buf), argv, 4), 3);
	CHECK_EQ_STR(argv[0], "/bin/echo");
	CHECK_EQ_STR(argv[1], "a");
	CHECK_EQ_STR(argv[2], "$HOME");
	CHECK(argv[3] == NULL);
}

int main(void)
{
	const char *tmp = getenv("CERTFLOW_TEST_TMP");

	if (!tmp || (mkdir(tmp, 0700) != 0 && access(tmp, W_OK) != 0))
		tmp = "/tmp";
	snprintf(path, sizeof(path), "%s/agent-config-%d.conf", tmp, (int)getpid());
	RUN(test_full_file_is_read_with_every_key);
	RUN(test_status_file_has_a_default);
	RUN(test_mistakes_are_refused_with_file_and_line);
	RUN(test_missing_file_is_an_io_error);
	RUN(test_dir_alone_is_one_credential_named_after_it);
	RUN(test_hook_is_split_on_spaces_without_a_shell);
	unlink(path);
	return check_done();
}
