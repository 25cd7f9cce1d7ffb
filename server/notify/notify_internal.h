/*
 * notify_internal — shared by the files of the notify module only: templates (template.c),
 * delivery to a maildir or a program (deliver.c), and the outbox itself (notify.c).
 *
 * A message's clear text ("plain"), sealed into store_message.body, is
 *   octet 0      format version (1)
 *   octet 1      targets already delivered (NOTIFY_DONE_* bits), so a retry after a partial
 *                delivery does not write the maildir, or run the program, twice
 *   octets 2..9  random octets of the Message-ID
 *   then         the subject (e-mail; empty for SMS), LF, the body (UTF-8, LF line ends)
 * and the sealed body is nonce (12) || ciphertext || tag (16), AES-256-GCM under the outbox key
 * with aad "message:<id>".
 */
#ifndef NOTIFY_INTERNAL_H
#define NOTIFY_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "notify.h"

#define NOTIFY_NONCE_LEN 12
#define NOTIFY_TAG_LEN 16
#define NOTIFY_SEAL_OVERHEAD (NOTIFY_NONCE_LEN + NOTIFY_TAG_LEN)
#define NOTIFY_PLAIN_MAX (STORE_MESSAGE_MAX - NOTIFY_SEAL_OVERHEAD)
#define NOTIFY_HDR_LEN 10
#define NOTIFY_FORMAT 1
#define NOTIFY_TMPL_MAX 8192	  /* one template file */
#define NOTIFY_PROGRAM_TIMEOUT 30 /* seconds, then SIGKILL */
#define NOTIFY_LINE_MAX 998	  /* RFC 5322 §2.1.1 */
#define NOTIFY_TEMPLATES 24	  /* room for the default set of template.c */
#define NOTIFY_VARS_MAX 8	  /* values a caller gives notify_queue, {{portal}} not counted */

enum { NOTIFY_DONE_MAILDIR = 1, NOTIFY_DONE_PROGRAM = 2 };

struct tmpl {
	const char *name; /* "reference", ... */
	int channel;	  /* NOTIFY_EMAIL or NOTIFY_SMS */
	char *subject;	  /* e-mail: the text after "Subject: " (malloc'd); NULL for SMS */
	char *body;	  /* malloc'd */
};

struct tmpl_set {
	struct tmpl t[NOTIFY_TEMPLATES];
};

/* Create dir (0700) if missing, write each default template that is missing (0600, never
 * replacing a file), then load and check them all: a placeholder that is not a variable of its
 * template is refused. CF_EIO with a line on stderr. */
int tmpl_load(const char *dir, struct tmpl_set *set);
void tmpl_free(struct tmpl_set *set);
/* The template of that channel and name, or NULL. */
const struct tmpl *tmpl_find(const struct tmpl_set *set, int channel, const char *name);
/* "<subject>\n<body>" with the vars put in, into out (cap octets, no NUL written).
 * CF_EMALFORMED: a subject variable with a control character (CR, LF, ...);
 * CF_EINTERNAL: a variable the template uses is missing, or the result is too large. */
int tmpl_render(const struct tmpl *t, const struct notify_var *vars, size_t nvars, char *out,
		size_t cap, size_t *len);

/* A message to deliver, in clear (pointers into the opened plain text). */
struct delivery {
	uint64_t id;
	int channel; /* NOTIFY_EMAIL or NOTIFY_SMS */
	const char *to;
	const char *template_name;
	int64_t created_at;
	const uint8_t *rand; /* 8 octets of the Message-ID */
	const char *subject;
	size_t subject_len;
	const char *body;
	size_t body_len;
};

/* The RFC 5322 message of d (headers, blank line, body, LF line ends) in a malloc'd buffer.
 * An SMS is shaped as an e-mail with "Subject: SMS" and "X-Certflow-Channel: sms". */
int deliver_compose(const struct delivery *d, const char *from, const char *host, char **out,
		    size_t *len);
/* Write msg into maildir/tmp/<unique>, fsync, rename into maildir/new/, fsync new/.
 * err gets a reason without message text on failure. 0 or CF_EIO. */
int deliver_maildir(const char *maildir, const char *host, const char *msg, size_t len, char *err,
		    size_t cap);
/* Run argv (NULL-terminated, argv[0] a path) plus to as the last argument, without a shell,
 * with msg on standard input and standard output on /dev/null; wait at most
 * NOTIFY_PROGRAM_TIMEOUT seconds, then SIGKILL. 0 if it exited 0; CF_EIO with err
 * ("program exited 75", "program killed after 30 s", ...); CF_EUNAVAILABLE if *stop became
 * non-zero meanwhile (the program was killed; not an attempt). */
int deliver_program(char *const argv[], const char *to, const char *msg, size_t len,
		    const int *stop, char *err, size_t cap);

#endif
