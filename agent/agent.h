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
enum agent_exit {
	AGENT_OK = 0,
	AGENT_FAIL = 1,
	AGENT_USAGE = 2,
	AGENT_NOT_DUE = 3,
	AGENT_CHOOSE = 4 /* recover: several credentials, run again with --credential ID */
};

struct agent_opts {
	const char *server;
	const char *ca;
	const char *ca_fingerprint; /* --ca-fingerprint: main turns it into ca (trust.c) */
	const char *reference;
	const char *dir;
	const char *code_file; /* "-" = standard input */
	enum cf_key_type key_type;
	unsigned key_bits;
	int force;
	/* unattended renewal (cycle.c, daemon.c) */
	const char *config; /* --config FILE */
	const char *name;   /* --name NAME: one credential of the config */
	int if_due;	    /* renew --if-due */
	int dry_run;	    /* renew --dry-run */
	const char *test_clock; /* --test-clock FILE: "now" is the Unix time in FILE (tests) */
	/* the person's journeys (journey.c); every *_file may be "-" for standard input */
	const char *form;	     /* apply: the application, a JSON file */
	const char *passphrase_file; /* apply, recover: the envelope passphrase */
	const char *answers_file;    /* reference-renew, recover: three lines, one answer each */
	const char *token_file;	     /* recover: the link token of the e-mail */
	const char *otp_file;	     /* recover: the SMS or TOTP code */
	const char *email;	     /* recover: the professional address */
	const char *credential;	     /* recover: the credential to recover, when there are several */
	const char *svg;	     /* otp setup: write the QR code as SVG here */
	int send_otp;		     /* recover: ask for an SMS code */
	/* encrypted key.pem and envelopes (keyfile.c, envelope.c) */
	const char *password_file; /* enrol, renew: the key password ("-": standard input) */
	uint32_t kdf_iterations;   /* enrol, renew: PBKDF2 iterations of key.pem, 0: default */
	const char *in_file;	   /* envelope open: the text holding the envelope ("-": stdin) */
	int json;		   /* envelope open, status: print JSON */
	/* the holder's portal (portal.c); every *_file may be "-" for standard input */
	const char *session_file;      /* the portal session, written by login (mode 0600) */
	const char *user;	       /* login: the user id */
	const char *new_password_file; /* password: the new password */
	const char *pin_file;	       /* pin, sign, remote-renew, update: the PIN */
	const char *new_pin_file;      /* activate, unblock, pin, remote-renew, update: 8 digits */
	const char *puk_file;	       /* activate, unblock: the PUK */
	const char *otp;	       /* --otp CODE: an SMS or TOTP code (single use) */
	const char *out_dir;	       /* sign: where FILE.sig go */
	const char *hash;	       /* sign: sha256 (NULL), sha384, sha512 */
	int identity_unchanged;	       /* remote-renew */
	const char *consents;	       /* remote-renew, update: comma-separated names */
	const char *coupon;	       /* remote-renew */
	const char *ticket_file;       /* update: the ticket of its first step (a secret) */
#define AGENT_SIGN_MAX 64
	const char *in_files[AGENT_SIGN_MAX]; /* sign: every --in, in order */
	int n_in;			      /* how many --in were given (may exceed the array) */
	/* login by QR code (qrlogin.c) */
	int qr;		    /* login --qr */
	const char *qr_svg; /* login --qr: also write the QR code as SVG here */
	const char *arg;    /* qr-approve: the challenge text (the one positional argument) */
};

/* The commands; each returns an enum agent_exit and has printed its own error line. */
int agent_enrol(const struct agent_opts *o);
/* enrol --config FILE --name NAME: server, ca, dir (and key_type) from the config; the hook runs
 * after the installation (cycle.c). */
int agent_enrol_named(const struct agent_opts *o);
int agent_renew(const struct agent_opts *o);
/* cycle.c, daemon.c: status, run (spec/cli.md). */
int agent_status(const struct agent_opts *o);
int agent_run(const struct agent_opts *o);
/* journey.c: a person's journeys (spec/cli.md). */
int agent_apply(const struct agent_opts *o);
int agent_consents(const struct agent_opts *o);
int agent_reference_renew(const struct agent_opts *o);
int agent_recover(const struct agent_opts *o);
/* `password forgot` (--email) and `password reset` (--token-file, --send-otp or
 * --new-password-file and --otp-file): spec/protocol.md §23.6. */
int agent_password_forgot(const struct agent_opts *o);
int agent_password_reset(const struct agent_opts *o);
int agent_emergency_suspend(const struct agent_opts *o);
int agent_otp_setup(const struct agent_opts *o);
int agent_otp_confirm(const struct agent_opts *o);
/* envelope.c: open an envelope and print its members (spec/cli.md). */
int agent_envelope_open(const struct agent_opts *o);

/* portal.c: the holder's portal and remote signing (spec/cli.md "Remote credentials"). */
int agent_login(const struct agent_opts *o);
int agent_password(const struct agent_opts *o);
int agent_portal_status(const struct agent_opts *o);
int agent_portal_otp(const struct agent_opts *o);
int agent_activate(const struct agent_opts *o);
int agent_unblock(const struct agent_opts *o);
int agent_pin(const struct agent_opts *o);
int agent_sign(const struct agent_opts *o);
int agent_remote_renew(const struct agent_opts *o);
int agent_update(const struct agent_opts *o);
int agent_logout(const struct agent_opts *o);
/* qrlogin.c: login by QR code (spec/protocol.md §27): the waiting side (login --qr) and the
 * approving agent (qr-approve). */
int agent_login_qr(const struct agent_opts *o);
int agent_qr_approve(const struct agent_opts *o);

/* payload.c: the journeys' secrets and payloads (every payload is freed with cf_free_secret).
 * A secret of a file or standard input, as lines; wipe the struct after use (cf_zeroize). */
#define AGENT_SECRET_LINES 3
struct agent_secret {
	char buf[4096];
	char *line[AGENT_SECRET_LINES]; /* into buf */
	int n;
};

/* Read path ("-": standard input, not echoed on a terminal, after "prompt: " on stderr): exactly
 * nlines (1..3) non-empty lines; '\r' before '\n' dropped, surrounding blanks trimmed when trim;
 * empty lines after them ignored. From standard input no more than nlines lines are read. 0,
 * CF_ENOTFOUND, CF_EIO, CF_ETOOLARGE (over 4095 octets), CF_EMALFORMED (too few or too many
 * lines, or an empty one); on failure s is wiped. */
int agent_secret_read(const char *path, const char *prompt, int nlines, int trim,
		      struct agent_secret *s);
/* A new secret (password, PIN, passphrase) of one line: agent_secret_read, and when it is typed
 * at a terminal, asked a second time ("prompt (again)"): CF_ECONFLICT (s wiped) when the two
 * differ. */
int agent_secret_read_new(const char *path, const char *prompt, int trim, struct agent_secret *s);
/* The words for CF_ECONFLICT of agent_secret_read_new. */
#define AGENT_SECRET_DIFFER "the two entries differ: type the same one twice"
/* The apply payload of an application form (JSON object: profile, givenName, surname, uniqueId,
 * email, altEmail, mobile strings; questions [{question, answer}]; consents [names]) and the
 * envelope passphrase: 0 and *out (free with cf_free_secret), or CF_EMALFORMED with a static
 * reason in *bad, CF_ENOMEM. */
int agent_apply_payload(const cf_json *form, const char *passphrase, char **out, const char **bad);
/* The recovery payload {token, answers?, otp?, credential?, envelopePassphrase?}; NULL members
 * are left out. NULL on allocation failure; free with cf_free_secret. */
char *agent_recover_payload(const char *token, const struct agent_secret *answers,
			    const char *otp, const char *credential, const char *passphrase);
/* {"reference": reference, "answers": [the lines of answers]}; NULL on allocation failure. */
char *agent_renew_payload(const char *reference, const struct agent_secret *answers);
/* {"<k1>":"<v1>"} or, with k2, {"<k1>":"<v1>","<k2>":"<v2>"}; NULL on allocation failure. */
char *agent_pair_payload(const char *k1, const char *v1, const char *k2, const char *v2);
/* A JSON text built by hand in one buffer that grows without realloc (payload.c), for payloads
 * that hold secrets (portal.c). Start from {0}; the first error sticks and agent_jw_end then
 * wipes: it returns the text (free with cf_free_secret) or NULL. key is NULL for array items;
 * raw writes a literal (true, 12). */
struct agent_jw {
	char *p;
	size_t len, cap;
	int err;
};
void agent_jw_str(struct agent_jw *w, const char *key, const char *val);
void agent_jw_raw(struct agent_jw *w, const char *key, const char *literal);
void agent_jw_open(struct agent_jw *w, const char *key, char bracket); /* key NULL: item */
void agent_jw_close(struct agent_jw *w, char bracket);
char *agent_jw_end(struct agent_jw *w);
/* "1234-5678-9012" or "123456789012" → 12 digits in out; CF_EUSAGE otherwise (enrol.c). */
int agent_reference_digits(const char *in, char out[13]);

/* DIR/account.json: what renew needs to find its server and credential again. */
struct account {
	char server[512];
	char ca[4096];		/* absolute path of the trust anchor file */
	char kid[512];		/* account URL */
	char credential[128];	/* credential id */
	char reference[13];	/* the enrolment it came from (12 digits), "" if unknown */
	char renewal_info[512]; /* renewal-info URL of the current certificate, "" if unknown */
};

int account_load(const char *dir, struct account *a);
int account_save(const char *dir, const struct account *a);

/* flock DIR/.lock without waiting (spec/cli.md "Lock"), held for a whole cycle or enrolment:
 * the descriptor (close it to release), or -1 with one line through agent_err: "credential NAME
 * is busy (another agent holds DIR/.lock)", or why the lock cannot be taken. */
int agent_lock(const char *dir, const char *name);

/* `certflow-agent COMMAND --help` (help.c): the usage lines, description and option lines of the
 * whole help text that concern cmd, whose long options are opts (NULL-terminated). */
void agent_command_help(const char *text, const char *cmd, const char *const *opts);

/* --ca-fingerprint (trust.c): fetch server's CA chain, check its root against fingerprint
 * ("sha256:" + 64 hex digits) and write that root to path (PEM, 0644) as the trust anchor of
 * every later connection. AGENT_OK, AGENT_USAGE (bad fingerprint or URL), AGENT_FAIL (printed). */
int agent_trust_fingerprint(const char *server, const char *fingerprint, const char *path);

/* consent.c — the consents' titles and texts of the server's directory (spec §2). Print every one
 * (`certflow-agent consents`); or, for each name of list ("terms,privacy"), at a terminal show it
 * and ask for "yes" on standard error: AGENT_FAIL (an error line printed) when one is not
 * accepted. Without a terminal the names are the acceptance. */
struct client;
int agent_consents_print(struct client *c);
int agent_consents_confirm(struct client *c, const char *list);

/* Print "certflow-agent: <message>" on stderr. */
void agent_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The account key of DIR: loaded, or (create != 0) generated as P-256 and saved 0600 first. */
int agent_account_key(const char *dir, int create, cf_key **out);

/* After activate (key already kept in DIR/pending by agent_pending_key): take the certificate
 * and chain from the server's response (date: its Date, 0 if none), install them with key
 * (agent_install) and print the summary line. verb is "enrolled" or "renewed". On success
 * a->renewal_info is updated from the response. Returns an enum agent_exit. */
int agent_finish(const char *dir, struct account *a, const cf_key *key, const cf_json *resp,
		 int64_t date, const char *verb);

/* CSR for key as base64url DER (malloc'd). */
int agent_csr_b64(const cf_key *key, char **out);

/* While buf is set (len > 0), agent_err keeps its first message in buf (NUL-terminated, "" until
 * then) instead of printing it; agent_err_capture(NULL, 0) prints again. For the cycle's one
 * line per event (cycle.c). */
void agent_err_capture(char *buf, size_t len);

/* A certificate just installed. */
struct agent_issued {
	char serial[65];
	char not_after[32]; /* RFC 3339 */
	char previous[65];  /* serial of the certificate it replaced, "" if none */
};

/* The time a new set is checked at (certcheck_verify): the server's Date of the response that
 * delivered it (over the verified connection) when it differs from cf_now() by more than a minute
 * (a new certificate starts a minute before the server's now), else cf_now(). */
int64_t agent_check_time(int64_t server_date);

/* Keep key as DIR/pending/key.pem (fsynced), before the request that certifies it is sent: if the
 * answer is lost, the next run asks again with the same key (agent_pending_orphan). 0 or CF_EIO,
 * CF_ENOMEM. */
int agent_pending_key(const char *dir, const cf_key *key);
/* The key of DIR/pending whose answer never arrived (no pending/response.json): 0 and *out;
 * CF_ENOTFOUND if there is none; another code if it cannot be read. */
int agent_pending_orphan(const char *dir, cf_key **out);

/* Remove DIR/pending (once its set is installed, or its key is of no use): every step checked,
 * so that a failure is never taken for success. 0 or CF_EIO. */
int agent_pending_discard(const char *dir);

/* agent_finish without the summary line: the response (date: its Date, 0
 * if none) is first kept in DIR/pending/ beside the key so that a failed install can be finished
 * by agent_resume_pending, then installed (checked at agent_check_time(date)) and DIR/pending
 * removed. Returns an enum agent_exit (errors printed with agent_err); any failure to write,
 * fsync, rename or remove is AGENT_FAIL. */
int agent_install(const char *dir, struct account *a, const cf_key *key, const cf_json *resp,
		  int64_t date, struct agent_issued *out);
/* Install what DIR/pending/ holds from an interrupted run (key and response), without asking the
 * server again; checked at the time of the response's Date. AGENT_OK (installed, *out),
 * AGENT_NOT_DUE (no response pending), AGENT_FAIL. */
int agent_resume_pending(const char *dir, struct account *a, struct agent_issued *out);

#endif
