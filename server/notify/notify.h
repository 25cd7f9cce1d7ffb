/*
 * notify — the durable outbox: messages are rendered from template files, sealed under the
 * outbox key and put in the store in the same write transaction as the state change that sends
 * them; a worker thread delivers them after commit through
 *   (a) a maildir spool (DATA/maildir by default: new/ cur/ tmp/, one RFC 5322 file per e-mail,
 *       written in tmp/ then renamed into new/), and/or
 *   (b) an operator-supplied program (sendmail-compatible: `PROGRAM RECIPIENT` with the whole
 *       RFC 5322 message on standard input; SMS likewise with the text as the body),
 * retries with exponential backoff, and erases the body once sent (spec/protocol.md §18).
 * Nothing secret is logged; delivery errors are logged by message id and program exit status.
 */
#ifndef NOTIFY_H
#define NOTIFY_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define NOTIFY_PATH_MAX 1024

struct notify_config {
	char maildir[NOTIFY_PATH_MAX];	     /* "" = DATA/maildir; "off" = no maildir */
	char email_command[NOTIFY_PATH_MAX]; /* "" = none; run without a shell: argv split on spaces
					      */
	char sms_command[NOTIFY_PATH_MAX];   /* "" = none: SMS go to the maildir as SMS-<number> */
	char templates[NOTIFY_PATH_MAX];     /* "" = DATA/templates (defaults written if missing) */
	char mail_from[256];		     /* "" = certflow@<hostname> */
	int max_attempts;		     /* 8, then the message is failed */
	int retry_base_secs;		     /* 30 */
	int retry_max_secs;		     /* 3600 */
};

void notify_config_defaults(struct notify_config *cfg);

typedef struct notify notify;

enum notify_channel { NOTIFY_EMAIL = 1, NOTIFY_SMS = 2 };

struct notify_var {
	const char *name;  /* {{name}} in the template */
	const char *value; /* may be a secret: the caller wipes it after notify_queue */
};

/* Load the templates (writing the default set into an empty templates directory) and prepare
 * delivery. data is the data directory (for the defaults); key is the outbox key (32 octets,
 * copied). CF_EIO with a line on stderr if a template is missing or unreadable. */
int notify_open(const struct notify_config *cfg, const char *data, const char *hostname, store *st,
		const uint8_t key[32], notify **out);
/* Start / stop the delivery thread. notify_stop waits for it; undelivered messages stay queued. */
int notify_start(notify *n);
void notify_stop(notify *n);
void notify_close(notify *n);

/* Render template tmpl ("reference", "envelope", "recovery-link", "otp", ...) with vars and put
 * it in the outbox inside txn (sealed; the id comes from store_counter_next("message") in txn,
 * the aad is "message:<id>"). CF_ENOTFOUND for an unknown template of that channel,
 * CF_EMALFORMED for a bad recipient (control characters or spaces, a leading '-', no '@' for
 * e-mail, not E.164 for SMS) or a subject variable holding a control character (CR, LF, ...);
 * CF_EINTERNAL if a variable the template uses is missing, more than 8 vars are given or the
 * message is too large. The value of {{portal}} (the base URL that notify_set_server was given,
 * without a final '/') is added by notify_queue itself. Safe to call more than once for one txn
 * (store_write may re-run its fn). */
int notify_queue(notify *n, store_txn *txn, enum notify_channel ch, const char *to,
		 const char *tmpl, const struct notify_var *vars, size_t nvars);
/* Every e-mail queued from now on ends with the server's address and its root CA fingerprint
 * (spec/protocol.md §18: how a person's program learns to trust the server), and its links to the
 * portal's pages start with url ({{portal}}). Safe on NULL. */
void notify_set_server(notify *n, const char *url, const char *fingerprint);
/* Messages waiting for delivery (for GET /metrics). 0 or a store error. */
int notify_queued(notify *n, uint64_t *count);
/* Wake the worker (call after the transaction that queued committed). Safe on NULL. */
void notify_kick(notify *n);

/* Walk the outbox by id, from the first id above after (admin/outbox-list): messages in state
 * (enum store_message_state; 0 = all). cb gets each record inside a read transaction and must not
 * copy its body anywhere visible (it is sealed, but still never shown). CF_EUNAVAILABLE if n is
 * NULL. */
int notify_list(notify *n, int state, uint64_t after,
		int (*cb)(const struct store_message *m, void *ctx), void *ctx);

#endif
