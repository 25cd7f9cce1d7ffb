/* cf_proc — see cf_proc.h. */
#include "cf_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "cf_err.h"

extern char **environ;

int64_t cf_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int cf_proc_split(char *cmd, char *argv[CF_PROC_MAX_WORDS + 1])
{
	size_t n = 0;
	char *save = NULL, *w;

	for (w = strtok_r(cmd, " ", &save); w && n < CF_PROC_MAX_WORDS;
	     w = strtok_r(NULL, " ", &save))
		argv[n++] = w;
	argv[n] = NULL;
	if (n == 0 || w || !strchr(argv[0], '/'))
		return CF_EMALFORMED;
	return 0;
}

int cf_proc_spawn(char *const argv[], char *const envp[], int in_fd, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, all;
	int ret;

	sigemptyset(&none);
	sigfillset(&all);
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	/* No descriptor of the server (database, sockets) leaks into the program; the signal mask
	 * and dispositions the server set (SIGPIPE ignored, SIGTERM blocked) are reset. */
	if (in_fd >= 0)
		posix_spawn_file_actions_adddup2(&fa, in_fd, 0);
	else
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &all);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	ret = posix_spawn(pid, argv[0], &fa, &at, argv, envp ? envp : environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	return ret;
}

static int stopping(const int *stop)
{
	return stop && __atomic_load_n(stop, __ATOMIC_ACQUIRE);
}

int cf_proc_reap(pid_t pid, int64_t deadline_ms, const int *stop, int *status)
{
	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);
		if (r == pid)
			return 0;
		if (r < 0 && errno != EINTR)
			return CF_EIO;
		if (cf_mono_ms() >= deadline_ms || stopping(stop)) {
			kill(pid, SIGKILL);
			while (waitpid(pid, status, 0) < 0 && errno == EINTR)
				;
			return stopping(stop) ? CF_EUNAVAILABLE : CF_ETIMEOUT;
		}
		poll(NULL, 0, 20);
	}
}
