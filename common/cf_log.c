/* cf_log — one line per event on stderr: "<UTC time> <level> <message>". */
#include "cf_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

static enum cf_log_level cur_level = CF_LOG_INFO;
static char *keep_buf;
static size_t keep_len;

void cf_log_keep_first_error(char *buf, size_t len)
{
	keep_buf = len ? buf : NULL;
	keep_len = len;
	if (keep_buf)
		keep_buf[0] = '\0';
}

void cf_log_set_level(enum cf_log_level level)
{
	cur_level = level;
}

void cf_log(enum cf_log_level level, const char *fmt, ...)
{
	static const char *const names[] = {"error", "warn", "info", "debug"};
	char line[1024], ts[32];
	struct tm tm;
	time_t now = time(NULL);
	va_list ap;
	int n;

	if (keep_buf) {
		if (level == CF_LOG_ERROR && !keep_buf[0]) {
			va_start(ap, fmt);
			vsnprintf(keep_buf, keep_len, fmt, ap);
			va_end(ap);
		}
		return;
	}
	if (level > cur_level)
		return;
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	n = snprintf(line, sizeof(line), "%s %s ", ts, names[level]);
	va_start(ap, fmt);
	if (n > 0 && (size_t)n < sizeof(line))
		vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	/* one write per line so that lines of several threads do not interleave */
	fprintf(stderr, "%s\n", line);
}
