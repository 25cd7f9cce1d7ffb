/*
 * cf_proc — running an operator's program without a shell (the outbox's delivery programs, the
 * renewal entitlement program): a command line split on spaces (no quoting, no variables, the
 * program named by its path), posix_spawn with standard input from a descriptor, standard output
 * to /dev/null, standard error kept (the program's diagnostics), no other descriptor inherited
 * and the default signal mask and dispositions; and a bounded wait that kills it at a deadline.
 */
#ifndef CF_PROC_H
#define CF_PROC_H

#include <stdint.h>
#include <sys/types.h>

#define CF_PROC_MAX_WORDS 32

/* Milliseconds of CLOCK_MONOTONIC (for deadlines). */
int64_t cf_mono_ms(void);

/* Split cmd in place on spaces into argv (NULL-terminated). CF_EMALFORMED if it has no word,
 * more than CF_PROC_MAX_WORDS, or its first word is not a path (no '/'). */
int cf_proc_split(char *cmd, char *argv[CF_PROC_MAX_WORDS + 1]);

/* Start argv[0] (a path) with envp (NULL: the server's environment) and standard input in_fd
 * (-1: /dev/null). 0 and *pid, or the errno value of posix_spawn (for the caller's message). */
int cf_proc_spawn(char *const argv[], char *const envp[], int in_fd, pid_t *pid);

/* Wait for pid until deadline_ms (cf_mono_ms) or until *stop (may be NULL) becomes non-zero,
 * then kill it (SIGKILL) and reap it. 0 with *status, CF_ETIMEOUT or CF_EUNAVAILABLE (killed;
 * *status set), CF_EIO (waitpid failed). */
int cf_proc_reap(pid_t pid, int64_t deadline_ms, const int *stop, int *status);

#endif
