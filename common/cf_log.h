/*
 * cf_log — leveled logging to stderr. Never pass a secret (code, PIN, key, password) to it:
 * callers log references, ids and serials only.
 */
#ifndef CF_LOG_H
#define CF_LOG_H

#include <stddef.h>

enum cf_log_level { CF_LOG_ERROR, CF_LOG_WARN, CF_LOG_INFO, CF_LOG_DEBUG };

void cf_log_set_level(enum cf_log_level level);
/* While buf is set (len > 0), every message is dropped but the first error, kept in buf ("" until
 * then): a command that answers in one line says that error in its own words (certflowd check).
 * Not for threads: set and read it from one. */
void cf_log_keep_first_error(char *buf, size_t len);
void cf_log(enum cf_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define cf_error(...) cf_log(CF_LOG_ERROR, __VA_ARGS__)
#define cf_warn(...) cf_log(CF_LOG_WARN, __VA_ARGS__)
#define cf_info(...) cf_log(CF_LOG_INFO, __VA_ARGS__)
#define cf_debug(...) cf_log(CF_LOG_DEBUG, __VA_ARGS__)

#endif
