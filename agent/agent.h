/*
 * agent — the certflow-agent program's internals (spec/cli.md): the commands, the account file
 * and small file helpers. Not part of the client library.
 */
#ifndef AGENT_H
#define AGENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cf_crypto.h"
#include "cf_json.h"

/* Exit statuses (spec/cli.md). */
enum agent_exit { AGENT_OK = 0, AGENT_FAIL = 1, AGENT_USAGE = 2, AGENT_NOT_DUE = 3 };

struct agent_opts {
	const char *server;
	const char *ca;
	const char *reference;
	const char *dir;
	const char *code_file; /* "-" = standard input */
	enum cf_key_type key_type;
	unsigned key_bits;
	int force;
};

/* The commands; each returns an enum agent_exit and has printed its own error line. */
int agent_enrol(const struct agent_opts *o);
int agent_renew(const struct agent_opts *o);

/* DIR/account.json: what renew needs to find its server and credential again. */
struct account {
	char server[512];
	char ca[4096];		/* absolute path of the trust anchor file */
	char kid[512];		/* account URL */
	char credential[128];	/* credential id */
	char renewal_info[512]; /* renewal-info URL of the current certificate, "" if unknown */
};

int account_load(const char *dir, struct account *a);
int account_save(const char *dir, const struct account *a);

/* Print "certflow-agent: <message>" on stderr. */
void agent_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The account key of DIR: loaded, or (create != 0) generated as P-256 and saved 0600 first. */
int agent_account_key(const char *dir, int create, cf_key **out);

/* After activate/renew: take the certificate and chain from the server's response, install them
 * with key (install.h) and print the summary line. verb is "enrolled" or "renewed". On success
 * a->renewal_info is updated from the response. Returns an enum agent_exit. */
int agent_finish(const char *dir, struct account *a, const cf_key *key, const cf_json *resp,
		 const char *verb);

/* CSR for key as base64url DER (malloc'd). */
int agent_csr_b64(const cf_key *key, char **out);

#endif
