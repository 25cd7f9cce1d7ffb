/*
 * entitlement — the operator's entitlement program of a renewal (spec/protocol.md §26.3,
 * configuration entitlement = program): the payment integration point. The program
 * (entitlement_command, run without a shell) gets the public facts of the renewal in its
 * environment — CERTFLOW_CREDENTIAL, CERTFLOW_SUBJECT_ID, CERTFLOW_PROFILE, CERTFLOW_USER_ID,
 * and PATH — with standard input and output on /dev/null; exit status 0 within
 * ENTITLEMENT_TIMEOUT seconds means entitled. Anything else (another status, a signal, the
 * timeout: killed) is a refusal. It never receives a secret (PIN, OTP, coupon, passphrase).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "cf_err.h"
#include "cf_log.h"
#include "cf_proc.h"
#include "core.h"

#define ENTITLEMENT_TIMEOUT 30 /* seconds, then SIGKILL */
#define ENV_VARS 5

int core_entitlement_check(const struct core *c, const char *credential_id, const char *subject_id,
			   const char *profile, const char *user_id)
{
	char cmd[sizeof(c->cfg.entitlement_command)], *argv[CF_PROC_MAX_WORDS + 1];
	char env[ENV_VARS][STORE_NAME_LEN + 32], *envp[ENV_VARS + 1];
	int status = 0, ret;
	pid_t pid;

	snprintf(cmd, sizeof(cmd), "%s", c->cfg.entitlement_command);
	if (cf_proc_split(cmd, argv) != 0) {
		cf_error("entitlement_command is not set or not a program path: renewal refused");
		return CF_EENTITLEMENT;
	}
	snprintf(env[0], sizeof(env[0]), "CERTFLOW_CREDENTIAL=%s", credential_id);
	snprintf(env[1], sizeof(env[1]), "CERTFLOW_SUBJECT_ID=%s", subject_id);
	snprintf(env[2], sizeof(env[2]), "CERTFLOW_PROFILE=%s", profile);
	snprintf(env[3], sizeof(env[3]), "CERTFLOW_USER_ID=%s", user_id ? user_id : "");
	snprintf(env[4], sizeof(env[4]), "PATH=/usr/local/bin:/usr/bin:/bin");
	for (int i = 0; i < ENV_VARS; i++)
		envp[i] = env[i];
	envp[ENV_VARS] = NULL;
	ret = cf_proc_spawn(argv, envp, -1, &pid);
	if (ret != 0) {
		cf_error("entitlement program %s cannot run: %s", argv[0], strerror(ret));
		return CF_EENTITLEMENT;
	}
	ret = cf_proc_reap(pid, cf_mono_ms() + ENTITLEMENT_TIMEOUT * 1000, NULL, &status);
	if (ret == CF_ETIMEOUT)
		cf_error("entitlement program killed after %d s: renewal of %s refused",
			 ENTITLEMENT_TIMEOUT, credential_id);
	if (ret == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (ret == 0)
		cf_info("entitlement program refused the renewal of %s (%s %d)", credential_id,
			WIFEXITED(status) ? "exit" : "signal",
			WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	return CF_EENTITLEMENT;
}
