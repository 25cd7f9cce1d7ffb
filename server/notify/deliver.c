/*
 * deliver — the two ways a message leaves certflowd: an RFC 5322 file in a maildir (written in
 * tmp/, fsynced, renamed into new/, so a reader never sees part of a message), and an operator's
 * program run without a shell (sendmail-compatible: recipient as the last argument, the message
 * on standard input, exit 0 = delivered). Never logs or returns message text: errors name the
 * step and the errno or exit status only.
 */
#include "notify_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cf_crypto.h"
#include "cf_err.h"
#include "cf_file.h"
#include "cf_proc.h"
#include "cf_utf8.h"

/* ---- composing ---------------------------------------------------------------------------- */

struct buf {
	char *p;
	size_t len, cap;
};

static int add(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap)
		return CF_EINTERNAL; /* sized up front by deliver_compose */
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

static int addf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int addf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= b->cap - b->len)
		return CF_EINTERNAL;
	b->len += (size_t)n;
	return 0;
}

/* RFC 5322 §3.3 date-time in UTC, without the locale ("Fri, 21 Nov 2025 10:00:00 +0000"). */
static void rfc5322_date(int64_t t, char out[40])
{
	static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	snprintf(out, 40, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday % 7], tm.tm_mday,
		 months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* A subject in ASCII goes as is; otherwise as RFC 2047 "Q" encoded-words of at most 75
 * characters, never splitting a UTF-8 character, folded onto continuation lines. */
static int add_subject(struct buf *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i = 0, word = 0;
	int ascii = 1, ret = 0;

	for (size_t k = 0; k < len; k++)
		ascii &= (unsigned char)s[k] < 0x80;
	if (ascii)
		return add(b, s, len);
	while (i < len && ret == 0) {
		size_t n = cf_utf8_len(s + i, len - i);
		char enc[16];
		size_t e = 0;

		if (n == 0)
			n = 1; /* a stray octet goes encoded on its own */
		for (size_t k = 0; k < n; k++) {
			unsigned char c = (unsigned char)s[i + k];
			if (c == ' ') {
				enc[e++] = '_';
			} else if (c < 0x80 && c > 0x20 && c != '=' && c != '?' && c != '_') {
				enc[e++] = (char)c;
			} else {
				enc[e++] = '=';
				enc[e++] = hex[c >> 4];
				enc[e++] = hex[c & 15];
			}
		}
		/* "=?UTF-8?Q?" + text + "?=" must stay within 75 characters. */
		if (word && word + e + 2 > 75) {
			ret = add(b, "?=\n ", 4);
			word = 0;
		}
		if (ret == 0 && word == 0) {
			ret = add(b, "=?UTF-8?Q?", 10);
			word = 10;
		}
		if (ret == 0)
			ret = add(b, enc, e);
		word += e;
		i += n;
	}
	return ret ? ret : add(b, "?=", 2);
}

int deliver_compose(const struct delivery *d, const char *from, const char *host, char **out,
		    size_t *len)
{
	struct buf b = {0};
	char date[40];
	int sms = d->channel == NOTIFY_SMS, ret;

	/* Headers are under 1 KiB plus the subject, which encoding at most triples (+ folds). */
	b.cap = 1024 + strlen(from) + strlen(d->to) + strlen(host) + 4 * d->subject_len +
		d->body_len + 2;
	b.p = malloc(b.cap);
	if (!b.p)
		return CF_ENOMEM;
	b.p[0] = '\0';
	rfc5322_date(d->created_at, date);
	ret = addf(&b, "From: %s\nTo: %s\nSubject: ", from, d->to);
	if (ret == 0)
		ret = sms ? add(&b, "SMS", 3) : add_subject(&b, d->subject, d->subject_len);
	if (ret == 0)
		ret = addf(&b,
			   "\nDate: %s\n"
			   "Message-ID: <%llu.%02x%02x%02x%02x%02x%02x%02x%02x@%s>\n"
			   "MIME-Version: 1.0\n"
			   "Content-Type: text/plain; charset=utf-8\n"
			   "Content-Transfer-Encoding: 8bit\n"
			   "X-Certflow-Channel: %s\n"
			   "X-Certflow-Template: %s\n"
			   "\n",
			   date, (unsigned long long)d->id, d->rand[0], d->rand[1], d->rand[2],
			   d->rand[3], d->rand[4], d->rand[5], d->rand[6], d->rand[7], host,
			   sms ? "sms" : "email", d->template_name);
	if (ret == 0)
		ret = add(&b, d->body, d->body_len);
	if (ret == 0 && (d->body_len == 0 || d->body[d->body_len - 1] != '\n'))
		ret = add(&b, "\n", 1);
	if (ret != 0) {
		cf_zeroize(b.p, b.cap);
		free(b.p);
		return ret;
	}
	*out = b.p;
	*len = b.len;
	return 0;
}

/* ---- maildir ------------------------------------------------------------------------------ */

/* The host part of a maildir file name: '/' and ':' written as \057 and \072 (maildir(5)). */
static void maildir_host(const char *host, char *out, size_t cap)
{
	size_t n = 0;

	for (const char *p = host; *p && n + 5 < cap; p++) {
		if (*p == '/' || *p == ':') {
			n += (size_t)snprintf(out + n, cap - n, "\\%03o", (unsigned)*p);
		} else {
			out[n++] = *p;
		}
	}
	out[n] = '\0';
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int deliver_maildir(const char *maildir, const char *host, const char *msg, size_t len, char *err,
		    size_t cap)
{
	static unsigned seq;
	char name[320], h[256], tmp[NOTIFY_PATH_MAX + 400], dst[NOTIFY_PATH_MAX + 400];
	struct timeval tv;
	int fd = -1, tries;

	maildir_host(host, h, sizeof(h));
	/* time.MusecPpidQseq.host: unique per maildir(5); O_EXCL catches the impossible clash. */
	for (tries = 0; tries < 5 && fd < 0; tries++) {
		gettimeofday(&tv, NULL);
		snprintf(name, sizeof(name), "%lld.M%06ldP%dQ%u.%s", (long long)tv.tv_sec,
			 (long)tv.tv_usec, (int)getpid(),
			 __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED), h);
		snprintf(tmp, sizeof(tmp), "%s/tmp/%s", maildir, name);
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0) {
		snprintf(err, cap, "maildir: cannot create a file in tmp/: %s", strerror(errno));
		return CF_EIO;
	}
	if (write_all(fd, msg, len) != 0 || fsync(fd) != 0) {
		snprintf(err, cap, "maildir: cannot write tmp/: %s", strerror(errno));
		close(fd);
		unlink(tmp);
		return CF_EIO;
	}
	close(fd);
	snprintf(dst, sizeof(dst), "%s/new/%s", maildir, name);
	if (rename(tmp, dst) != 0) {
		snprintf(err, cap, "maildir: cannot move into new/: %s", strerror(errno));
		unlink(tmp);
		return CF_EIO;
	}
	snprintf(dst, sizeof(dst), "%s/new", maildir);
	if (cf_fsync_dir(dst) != 0) {
		snprintf(err, cap, "maildir: cannot sync new/");
		return CF_EIO; /* the file may be there: a retry could write it twice, never lose it
				*/
	}
	return 0;
}

/* ---- program ------------------------------------------------------------------------------ */

static int stopping(const int *stop)
{
	return stop && __atomic_load_n(stop, __ATOMIC_ACQUIRE);
}

/* Feed msg to fd (non-blocking) until done, the child closes it, the deadline or a stop. */
static void feed(int fd, const char *msg, size_t len, int64_t deadline, const int *stop)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	while (len > 0 && cf_mono_ms() < deadline && !stopping(stop)) {
		struct pollfd pf = {.fd = fd, .events = POLLOUT};
		ssize_t w;

		if (poll(&pf, 1, 100) <= 0)
			continue;
		w = write(fd, msg, len);
		if (w < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (w < 0)
			return; /* EPIPE: the program exited without reading everything */
		msg += w;
		len -= (size_t)w;
	}
}

int deliver_program(char *const argv[], const char *to, const char *msg, size_t len,
		    const int *stop, char *err, size_t cap)
{
	char *args[NOTIFY_PATH_MAX / 2 + 2];
	int64_t deadline = cf_mono_ms() + NOTIFY_PROGRAM_TIMEOUT * 1000;
	size_t n = 0;
	int fds[2], status = 0, ret;
	pid_t pid;

	while (argv[n] && n < NOTIFY_PATH_MAX / 2)
		args[n] = argv[n], n++;
	args[n++] = (char *)to; /* posix_spawn does not write argv */
	args[n] = NULL;
	if (pipe2(fds, O_CLOEXEC) != 0) {
		snprintf(err, cap, "program: pipe: %s", strerror(errno));
		return CF_EIO;
	}
	ret = cf_proc_spawn(args, NULL, fds[0], &pid);
	close(fds[0]);
	if (ret != 0) {
		close(fds[1]);
		snprintf(err, cap, "program: cannot run %s: %s", argv[0], strerror(ret));
		return CF_EIO;
	}
	feed(fds[1], msg, len, deadline, stop);
	close(fds[1]);
	ret = cf_proc_reap(pid, deadline, stop, &status);
	if (ret == CF_ETIMEOUT)
		snprintf(err, cap, "program killed after %d s", NOTIFY_PROGRAM_TIMEOUT);
	else if (ret == CF_EUNAVAILABLE)
		snprintf(err, cap, "program killed: server stopping");
	else if (ret != 0)
		snprintf(err, cap, "program: waitpid: %s", strerror(errno));
	else if (WIFSIGNALED(status))
		snprintf(err, cap, "program killed by signal %d", WTERMSIG(status));
	else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
		snprintf(err, cap, "program exited %d", WEXITSTATUS(status));
	else
		return 0;
	return ret == CF_EUNAVAILABLE ? ret : CF_EIO;
}
