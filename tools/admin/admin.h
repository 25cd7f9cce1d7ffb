/*
 * admin — internals of certflow-admin, the operator's command line over the admin operations of
 * the protocol (spec/protocol.md §7, §12; spec/cli.md). One connection, one admin key, one
 * signed POST per command.
 *
 * Never prints, logs or copies the admin key; the activation code is printed once, by
 * `enrol create`, and wiped from memory afterwards.
 */
#ifndef ADMIN_H
#define ADMIN_H

#include <stddef.h>

#include "client.h"
#include "cf_crypto.h"
#include "cf_json.h"

#define ADMIN_PROG "certflow-admin"

/* The session: where the server is, how we trust it, who we are. */
struct admin {
	const char *server;   /* base URL, "https://host:port" */
	const char *ca_file;  /* trust anchors; NULL only for plain http on loopback */
	const char *key_file; /* the admin account's private key */
	int json;	      /* --json: print the server's JSON as received */
	client *cl;	      /* after admin_connect */
	cf_key *key;	      /* after admin_connect(need_key) */
	char kid[768];	      /* "<server>/v1/account/<thumbprint>" */
	char admin_url[512];  /* the directory's "admin" URL */
};

/* Connect (lazily) and read the directory; with need_key also load the admin key and derive the
 * kid. Reports its own errors (see admin_fail). */
int admin_connect(struct admin *ad, int need_key);
void admin_close(struct admin *ad);

/* Signed POST of payload (NULL: "{}") to <admin URL>/<op>. On success *resp (caller frees with
 * cf_json_free) and, if raw is not NULL, the raw response (caller clears). A problem from the
 * server is reported as "certflow-admin: <detail>" and its code returned. */
int admin_call(struct admin *ad, const char *op, const cf_json *payload, cf_json **resp,
	       struct http_response *raw);

/* One admin operation with payload {"<member>": value[, "reason": n when reason ≥ 0]}, its
 * answer shown with fields (or raw with --json). cmd_cert.c. */
struct field;
int admin_simple_op(struct admin *ad, const char *op, const char *member, const char *value,
		    int reason, const struct field *fields, size_t n);

/* Error lines on stderr: "certflow-admin: <message>". admin_usage returns CF_EUSAGE (exit 2),
 * admin_fail returns code (exit 1). admin_reported says whether a line was already printed. */
int admin_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int admin_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int admin_reported(void);

/* How a member of a server object is shown in human output. */
enum field_kind {
	F_TEXT,	  /* string, number or boolean as is; an array of strings joined with ", " */
	F_REF,	  /* a reference number, shown in groups of four digits */
	F_COUNT,  /* number of items of an array */
	F_LAST,	  /* last item of an array of strings */
	F_REASON, /* an RFC 5280 CRLReason number, shown by name */
};

struct field {
	const char *label;  /* "activation code" */
	const char *member; /* "activationCode" */
	enum field_kind kind;
};

/* "key: value" lines, keys right-aligned so the values line up; absent members are skipped. */
void out_object(const cf_json *obj, const struct field *fields, size_t n);
/* One row per item of arr under a header of the labels in capitals, columns aligned. */
void out_table(const cf_json *arr, const struct field *cols, size_t n);
/* out_table's rows of one page of a longer list, with the header line only when header is set. */
void out_table_rows(const cf_json *arr, const struct field *cols, size_t n, int header);

/* A list operation (op: "credential-list", ...) followed page by page: filters (consumed; NULL:
 * none) + limit + after; the items of member printed as a table of cols as each page arrives
 * (rows made by shown(item) when it is not NULL), or with --json as one document {"member":
 * [...]}; at most max items when max > 0. list.c. */
/* The options of a list command: --limit N (into *max) and the filters it names ("subject",
 * "status", "state", "profile", "expiringBefore" as --subject, --status, --state, --profile,
 * --expiring-before) into *payload. A usage error is reported. */
int admin_list_options(int argc, char **argv, const char *cmd, const char *const *filters,
		       cf_json **payload, long *max);
int admin_list(struct admin *ad, const char *op, cf_json *filters, const char *member,
	       const struct field *cols, size_t ncols, long max,
	       cf_json *(*shown)(const cf_json *item));
/* One aligned line "label: value" with the given key width (for values not in an object). */
void out_line(int width, const char *label, const char *value);
/* Print the raw JSON body of a response followed by a newline. */
void out_raw(const struct http_response *raw);

/* Text of member per kind into buf ("" when absent or not showable). */
void field_text(const cf_json *obj, const struct field *f, char *buf, size_t cap);

/* RFC 5280 reason: name or number → code; CF_EUSAGE (reported) for unknown or refused ones. */
int reason_parse(const char *text, int *out);
const char *reason_name(int code);

/* Command handlers: argv[0] is the command word, options follow. 0 or a CF_E* code. */
int cmd_enrol_create(struct admin *ad, int argc, char **argv);
int cmd_enrol_list(struct admin *ad, int argc, char **argv);
int cmd_enrol_cancel(struct admin *ad, int argc, char **argv);
int cmd_enrol_qr(struct admin *ad, int argc, char **argv);
int cmd_credential_list(struct admin *ad, int argc, char **argv);
int cmd_credential_show(struct admin *ad, int argc, char **argv);
int cmd_cert_show(struct admin *ad, int argc, char **argv);
int cmd_revoke(struct admin *ad, int argc, char **argv);
int cmd_suspend(struct admin *ad, int argc, char **argv);
int cmd_reinstate(struct admin *ad, int argc, char **argv);
int cmd_application_list(struct admin *ad, int argc, char **argv);
int cmd_application_show(struct admin *ad, int argc, char **argv);
int cmd_application_approve(struct admin *ad, int argc, char **argv);
int cmd_application_reject(struct admin *ad, int argc, char **argv);
int cmd_unlock(struct admin *ad, int argc, char **argv);
int cmd_subject_update(struct admin *ad, int argc, char **argv);
int cmd_totp_reset(struct admin *ad, int argc, char **argv);
int cmd_audit(struct admin *ad, int argc, char **argv);
int cmd_outbox_list(struct admin *ad, int argc, char **argv);
int cmd_login_unlock(struct admin *ad, int argc, char **argv);
int cmd_coupon_issue(struct admin *ad, int argc, char **argv);
int cmd_coupon_list(struct admin *ad, int argc, char **argv);
int cmd_coupon_cancel(struct admin *ad, int argc, char **argv);
int cmd_update_mark(struct admin *ad, int argc, char **argv);
int cmd_operator_add(struct admin *ad, int argc, char **argv);
int cmd_operator_list(struct admin *ad, int argc, char **argv);
int cmd_operator_remove(struct admin *ad, int argc, char **argv);

/* Parse the options of a command that takes exactly one positional argument (and opts, may be
 * NULL). Returns the argument or NULL after a usage error was reported. */
const char *arg_single(int argc, char **argv, const char *what);
/* For commands without arguments: 0, or CF_EUSAGE after reporting what was extra. */
int arg_none(int argc, char **argv);

#endif
