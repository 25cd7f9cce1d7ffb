/*
 * hook — the command run after a renewal (cycle.h, spec/cli.md "Hook"), e.g. to reload the
 * service that uses the certificate.
 *
 * Never: go through a shell (the command is split on spaces, so no file name or serial can be
 * interpreted), hand the hook the agent's lock or blocked signals, or wait for it forever.
 */
#include "cycle.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cf_err.h"

#define HOOK_WORDS 32
#define HOOK_TIMEOUT_MS (5 * 60 * 1000)

/* In the child: the environment, standard streams and signals the hook starts with. */
static void child_setup(const struct agent_cred *cred, const struct agent_issued *is)
{
	static const char *const files[][2] = {{"CERTFLOW_KEY", "key.pem"},
					       {"CERTFLOW_CERT", "cert.pem"},
					       {"CERTFLOW_CHAIN", "chain.pem"}};
	char path[PATH_MAX + 16];
	sigset_t none;
	int null = open("/dev/null", O_RDONLY);

	if (null >= 0 && null != 0) {
		dup2(null, 0);
		close(null);
	}
	dup2(2, 1); /* its output goes to the agent's log */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	setenv("CERTFLOW_NAME", cred->name, 1);
	setenv("CERTFLOW_DIR", cred->dir, 1);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", cred->dir, files[i][1]);
		setenv(files[i][0], path, 1);
	}
	setenv("CERTFLOW_SERIAL", is->serial, 1);
	setenv("CERTFLOW_NOT_AFTER", is->not_after, 1);
	setenv("CERTFLOW_PREVIOUS_SERIAL", is->previous, 1);
}

/* Wait for pid at most HOOK_TIMEOUT_MS; kill it after. Returns the wait status, or -1. */
static int wait_bounded(pid_t pid, int *timed_out)
{
	struct timespec tick = {0, 50 * 1000 * 1000};
	int status;

	*timed_out = 0;
	for (int waited = 0;; waited += 50) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return status;
		if (r < 0 && errno != EINTR)
			return -1;
		if (waited >= HOOK_TIMEOUT_MS && !*timed_out) {
			*timed_out = 1;
			kill(pid, SIGKILL);
		}
		nanosleep(&tick, NULL);
	}
}

int hook_run(const struct agent_cred *cred, const struct agent_issued *is, char *why,
	     size_t why_len)
{
	char buf[sizeof(cred->hook)], *argv[HOOK_WORDS];
	int status, timed_out;
	pid_t pid;

	if (!cred->hook[0])
		return 0;
	if (config_split_hook(cred->hook, buf, sizeof(buf), argv, HOOK_WORDS) <= 0) {
		snprintf(why, why_len, "hook %s: not a command", cred->hook);
		return CF_EIO;
	}
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) < 0) {
		snprintf(why, why_len, "hook %s: cannot start: %s", argv[0], strerror(errno));
		return CF_EIO;
	}
	if (pid == 0) {
		child_setup(cred, is);
		execvp(argv[0], argv);
		fprintf(stderr, "certflow-agent: %s: hook %s: %s\n", cred->name, argv[0],
			strerror(errno));
		_exit(127);
	}
	status = wait_bounded(pid, &timed_out);
	if (status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (timed_out)
		snprintf(why, why_len, "hook %s killed after %d minutes", argv[0],
			 HOOK_TIMEOUT_MS / 60000);
	else if (status != -1 && WIFEXITED(status))
		snprintf(why, why_len, "hook %s exited with status %d", argv[0],
			 WEXITSTATUS(status));
	else if (status != -1 && WIFSIGNALED(status))
		snprintf(why, why_len, "hook %s killed by signal %d", argv[0], WTERMSIG(status));
	else
		snprintf(why, why_len, "hook %s: cannot wait for it", argv[0]);
	return CF_EIO;
}
