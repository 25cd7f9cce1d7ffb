/*
 * certflow-admin — the operator's command line (spec/cli.md): global options, the command table,
 * help, and the exit status (0 done, 1 failed, 2 usage error). Each command lives in cmd_*.c.
 */
#include "admin.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_err.h"

struct command {
	const char *group; /* first word ("enrol"), or NULL for a one-word command */
	const char *name;
	int (*run)(struct admin *ad, int argc, char **argv);
	const char *args;
	const char *help;
};

static const struct command commands[] = {
    {"enrol", "create", cmd_enrol_create,
     "--subject NAME [--profile device|signing] [--dns NAME]... [--email ADDR] [--acme] "
     "[--acme-validate http-01|dns-01|http-01,dns-01] [--qr] [--qr-svg FILE]",
     "Create an enrolment code for one subject (profile device by default; --dns up to 16\n"
     "times). Prints the reference number, the activation code and the expiry. The activation\n"
     "code is shown this once and never again: hand it to the holder over a separate channel.\n"
     "--qr draws the enrolment QR code in the terminal (on stderr with --json), --qr-svg\n"
     "writes it as an SVG file. The QR code holds the enrolment URI (public data only:\n"
     "server URL, root CA fingerprint, reference number; never the activation code).\n"
     "--acme also makes the code usable by any ACME client (certbot, lego, ...): it prints\n"
     "eab-kid and eab-hmac-key, the external account binding to give the client with the\n"
     "server's ACME directory URL (<server>/acme/directory). The HMAC key too is shown once.\n"
     "The client may then order certificates for the --dns names (and the subject when it is\n"
     "a host name), and renew them, for as long as the credential is not revoked.\n"
     "--acme-validate http-01 (implies --acme) also makes every order prove each name: certflowd\n"
     "fetches http://NAME/.well-known/acme-challenge/TOKEN itself before the order is ready;\n"
     "dns-01: certflowd looks up the TXT record of _acme-challenge.NAME; http-01,dns-01: the\n"
     "client proves each name by either."},
    {"enrol", "list", cmd_enrol_list,
     "[--status live|used|expired|locked|cancelled] [--subject S] [--limit N]",
     "List enrolment codes by reference: reference, subject, profile, status, created,\n"
     "expires, failures; only those of a status or a subject when asked.\n"
     "Every list is fetched page by page (1,000 records a request) and printed as it comes;\n"
     "--limit N stops after N records; --json prints one document with every record."},
    {"enrol", "cancel", cmd_enrol_cancel, "REFERENCE",
     "Cancel a live enrolment code (REFERENCE with or without dashes)."},
    {"enrol", "qr", cmd_enrol_qr, "REFERENCE [--svg FILE]",
     "Show the enrolment QR code of REFERENCE again in the terminal with its URI, or write it\n"
     "as an SVG file with --svg. Needs no admin key (the URI is public); with --json prints\n"
     "{\"reference\", \"uri\"}."},
    {"credential", "list", cmd_credential_list,
     "[--status active|pending|suspended|revoked|expired] [--subject S] [--profile P]\n"
     "                [--expiring-before RFC3339] [--limit N]",
     "List credentials by id: id, subject, profile, status, number of certificates, latest\n"
     "serial; only those that match every filter given (--expiring-before: the current\n"
     "certificate's notAfter is before that time).\n"
     "Every list is fetched page by page (1,000 records a request) and printed as it comes;\n"
     "--limit N stops after N records; --json prints one document with every record."},
    {"credential", "show", cmd_credential_show, "ID", "Show one credential and its certificates."},
    {"cert", "show", cmd_cert_show, "SERIAL",
     "Show one certificate (SERIAL in hexadecimal; colons and capitals are accepted)."},
    {NULL, "revoke", cmd_revoke, "SERIAL [--reason NAME|NUMBER]",
     "Revoke a certificate for good. Reasons (RFC 5280): unspecified (0, the default),\n"
     "keyCompromise (1), cACompromise (2), affiliationChanged (3), superseded (4),\n"
     "cessationOfOperation (5), privilegeWithdrawn (9), aACompromise (10). certificateHold (6)\n"
     "and removeFromCRL (8) are refused: use suspend and reinstate."},
    {NULL, "suspend", cmd_suspend, "SERIAL",
     "Put a certificate on hold (CRL reason certificateHold); reinstate undoes it."},
    {NULL, "reinstate", cmd_reinstate, "SERIAL", "Take a suspended certificate off hold."},
    {"application", "list", cmd_application_list,
     "[--status pending|approved|rejected|activated] [--limit N]",
     "List applications in the order they were filed: id, status, profile, the applicant's\n"
     "name and e-mail address, whether the identity needs review (it differs from the\n"
     "subject already known under that address), and when it was filed."},
    {"application", "show", cmd_application_show, "ID",
     "Show one application: the applicant, consents, the decision, the current reference\n"
     "number, envelopes sent, emergency-code failures and the credential once activated.\n"
     "Answers, keys and codes are never shown."},
    {"application", "approve", cmd_application_approve, "ID",
     "Approve a pending application: its security questions become the subject's, and the\n"
     "server e-mails the reference number and, separately, the envelope holding the\n"
     "activation and emergency codes (openable only with the applicant's passphrase)."},
    {"application", "reject", cmd_application_reject, "ID --reason TEXT",
     "Reject a pending application; TEXT (1 to 200 characters) is e-mailed to the applicant."},
    {"subject", "update", cmd_subject_update,
     "SUBJECT [--email ADDR] [--alt-email ADDR] [--mobile +NUMBER] --identity-checked TEXT",
     "Change the e-mail addresses or the mobile number of subject SUBJECT (an id, see\n"
     "application show), for a person who can reach neither address any more: check who\n"
     "the person is first (in person, a call back to a known number, an identity document)\n"
     "and say how in TEXT, which goes into the audit trail with the fields changed."},
    {NULL, "unlock", cmd_unlock, "SUBJECT",
     "Reset the one-time-password failures of subject SUBJECT (an id, see application show)\n"
     "and the emergency-code failures of its applications. Locked security questions stay\n"
     "locked: only the approval of a new application of the subject replaces them."},
    {NULL, "totp-reset", cmd_totp_reset, "SUBJECT",
     "Remove the TOTP seed of subject SUBJECT (a lost phone; check who asks first): recovery\n"
     "asks for an SMS code again and the holder may set up a new authenticator. OTP failures\n"
     "are left as they are: unlock resets them."},
    {NULL, "audit", cmd_audit, "[--after SEQ] [--limit N] [--object OBJECT]",
     "List audit events oldest first: sequence number, time, actor, action, object, result,\n"
     "client address and detail. --after SEQ starts after that event, --limit N shows at\n"
     "most N (1 to 500, default 100), --object OBJECT (e.g. application:ID,\n"
     "certificate:SERIAL, subject:ID) only that object's events. When more events follow,\n"
     "the last line gives the --after value of the next page."},
    {"login", "unlock", cmd_login_unlock, "USER_ID",
     "Reset the failed logins of the portal login USER_ID (10 digits), which locks after\n"
     "login_max_failures wrong passwords. Check who asks first; a holder can also unlock by\n"
     "setting a new password (forgot password)."},
    {"outbox", "list", cmd_outbox_list, "[--state queued|sent|failed] [--limit N]",
     "List the messages of the outbox (e-mail and SMS): id, channel, recipient, template,\n"
     "state, attempts, times and the last delivery error. Message texts are never shown."},
    {"coupon", "issue", cmd_coupon_issue, "[--count N] [--profile P] [--days D] [--note TEXT]",
     "Issue N (1 to 100, default 1) renewal coupons of remote credentials, valid D days (1 to\n"
     "3650; default: no expiry), for profile P only (default: any), with a note for your\n"
     "records (an order number). Prints each code (4 groups of 4 characters) with its id:\n"
     "the codes are shown this once and never again (the server keeps only their HMACs)."},
    {"coupon", "list", cmd_coupon_list, "[--limit N]",
     "List coupons: id, status (issued, used, cancelled, expired), profile, times, the\n"
     "credential that used it, note. Codes are never shown."},
    {"coupon", "cancel", cmd_coupon_cancel, "ID", "Cancel an issued coupon (ID from coupon list)."},
    {"update", "mark", cmd_update_mark,
     "(--credential ID | --profile P | --issuer DN | --all) --by DATE [--note TEXT]",
     "Ask holders of remote credentials to update their certificate by DATE (YYYY-MM-DD,\n"
     "midnight UTC, or YYYY-MM-DDTHH:MM:SSZ): one credential, every active remote\n"
     "credential of profile P, or all of them. Each holder is e-mailed (update-notice with\n"
     "TEXT, up to 159 characters) and sees the deadline at login and in the portal status.\n"
     "Prints how many credentials were marked."},
    {"operator", "add", cmd_operator_add, "NAME --public-key FILE",
     "Add an operator named NAME (1 to 64 characters, unique) who signs with the key whose\n"
     "public half is in FILE (PEM, EC P-256 or P-384 or RSA; she makes the pair herself:\n"
     "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out her.key, then\n"
     "openssl pkey -in her.key -pubout -out her.pub). She then runs certflow-admin --server\n"
     "URL --ca FILE --key her.key ...; her decisions and audit events carry NAME."},
    {"operator", "list", cmd_operator_list, "[--limit N]",
     "List the operators by name: name, status (active, deactivated), account id, created."},
    {"operator", "remove", cmd_operator_remove, "NAME",
     "Deactivate operator NAME: her key is refused from then on; the name stays taken so the\n"
     "audit trail stays unambiguous. You cannot remove yourself nor the last active operator."},
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static const char global_help[] =
    "usage: certflow-admin [--data DIR | --server URL --ca FILE --key FILE] [--json] COMMAND ...\n"
    "\n"
    "The operator's command line of a certflow server: every command is one request signed\n"
    "with the admin account's key (spec/protocol.md §7, §12).\n"
    "\n"
    "Global options:\n"
    "  --data DIR     the server's data directory: reads DIR/url, trusts DIR/ca/root.pem,\n"
    "                 signs with DIR/admin.key (--server, --ca, --key override each)\n"
    "  --server URL   base URL of the server (https://host:port)\n"
    "  --ca FILE      PEM trust anchors for the server's TLS certificate\n"
    "  --key FILE     the admin account's private key (PEM); never printed\n"
    "  --json         print the server's JSON answer instead of lines\n"
    "  --help         this text; COMMAND --help for one command\n"
    "  --version      print the version\n"
    "\n"
    "Commands:\n";

static const char global_tail[] =
    "\n"
    "Output: one object as aligned \"key: value\" lines, lists as one row per item; use --json in\n"
    "scripts. Errors: one line \"certflow-admin: ...\" on stderr.\n"
    "Exit status: 0 done, 1 failed (server refused, connection, files), 2 usage error.\n";

static void print_synopsis(FILE *f, const struct command *c)
{
	fprintf(f, "%s%s%s%s%s", c->group ? c->group : "", c->group ? " " : "", c->name,
		c->args[0] ? " " : "", c->args);
}

static void global_usage(void)
{
	fputs(global_help, stdout);
	for (size_t i = 0; i < N_COMMANDS; i++) {
		fputs("  ", stdout);
		print_synopsis(stdout, &commands[i]);
		putchar('\n');
	}
	fputs(global_tail, stdout);
}

static void command_usage(const struct command *c)
{
	fputs("usage: certflow-admin [global options] ", stdout);
	print_synopsis(stdout, c);
	printf("\n\n%s\n", c->help);
}

static int group_usage(const char *group)
{
	printf("usage: certflow-admin [global options] %s COMMAND ...\n\n", group);
	for (size_t i = 0; i < N_COMMANDS; i++) {
		if (!commands[i].group || strcmp(commands[i].group, group) != 0)
			continue;
		fputs("  ", stdout);
		print_synopsis(stdout, &commands[i]);
		putchar('\n');
	}
	return 0;
}

const char *arg_single(int argc, char **argv, const char *what)
{
	static const struct option none[] = {{NULL, 0, NULL, 0}};

	optind = 0;
	if (getopt_long(argc, argv, "", none, NULL) != -1) {
		admin_usage("bad option '%s' (see 'certflow-admin %s --help')", argv[optind - 1],
			    argv[0]);
		return NULL;
	}
	if (optind + 1 != argc) {
		admin_usage("%s needs one %s", argv[0], what);
		return NULL;
	}
	return argv[optind];
}

int arg_none(int argc, char **argv)
{
	if (argc > 1)
		return admin_usage("%s takes no arguments ('%s' is extra)", argv[0], argv[1]);
	return 0;
}

static int is_help(const char *s)
{
	return strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0;
}

/* Find the command at argv[0..]; *words is how many words named it. NULL: reported. */
static const struct command *find_command(int argc, char **argv, int *words)
{
	int group = 0;

	for (size_t i = 0; i < N_COMMANDS; i++) {
		const struct command *c = &commands[i];
		if (!c->group && strcmp(c->name, argv[0]) == 0) {
			*words = 1;
			return c;
		}
		if (!c->group || strcmp(c->group, argv[0]) != 0)
			continue;
		group = 1;
		if (argc > 1 && strcmp(c->name, argv[1]) == 0) {
			*words = 2;
			return c;
		}
	}
	if (group && (argc < 2 || is_help(argv[1])))
		*words = -1; /* the group's help */
	else if (group)
		admin_usage("unknown command '%s %s' (see 'certflow-admin %s --help')", argv[0],
			    argv[1], argv[0]);
	else
		admin_usage("unknown command '%s' (see 'certflow-admin --help')", argv[0]);
	return NULL;
}

/* Read DIR/url: the base URL the running server wrote there. */
static int read_url_file(const char *dir, char *out, size_t cap)
{
	char path[PATH_MAX];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/url", dir);
	f = fopen(path, "r");
	if (!f)
		return admin_fail(CF_EIO, "cannot read %s (is certflowd running with --data %s?)",
				  path, dir);
	n = fread(out, 1, cap - 1, f);
	fclose(f);
	out[n] = '\0';
	while (n && (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == ' '))
		out[--n] = '\0';
	if (n == 0 || n == cap - 1)
		return admin_fail(CF_EIO, "%s holds no usable URL", path);
	return 0;
}

struct globals {
	const char *data, *server, *ca, *key;
	char url[512], ca_path[PATH_MAX], key_path[PATH_MAX];
};

/* --data DIR fills what --server/--ca/--key left open. */
static int resolve(struct globals *g, struct admin *ad)
{
	int ret;

	if (g->data && !g->server) {
		ret = read_url_file(g->data, g->url, sizeof(g->url));
		if (ret)
			return ret;
		g->server = g->url;
	}
	if (g->data && !g->ca)
		g->ca = (snprintf(g->ca_path, sizeof(g->ca_path), "%s/ca/root.pem", g->data),
			 g->ca_path);
	if (g->data && !g->key)
		g->key = (snprintf(g->key_path, sizeof(g->key_path), "%s/admin.key", g->data),
			  g->key_path);
	if (!g->server)
		return admin_usage(
		    "no server: give --data DIR, or --server URL --ca FILE --key FILE");
	if (strncmp(g->server, "https://", 8) == 0 && !g->ca)
		return admin_usage("--server %s needs --ca FILE", g->server);
	ad->server = g->server;
	ad->ca_file = g->ca;
	ad->key_file = g->key;
	return 0;
}

/* Global options; returns the index of the command word, 0 when done (help/version), or <0. */
static int parse_globals(int argc, char **argv, struct globals *g, struct admin *ad)
{
	static const struct option lo[] = {
	    {"data", required_argument, NULL, 'd'}, {"server", required_argument, NULL, 's'},
	    {"ca", required_argument, NULL, 'c'},   {"key", required_argument, NULL, 'k'},
	    {"json", no_argument, NULL, 'j'},	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},    {NULL, 0, NULL, 0},
	};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+h", lo, NULL)) != -1) {
		switch (c) {
		case 'd':
			g->data = optarg;
			break;
		case 's':
			g->server = optarg;
			break;
		case 'c':
			g->ca = optarg;
			break;
		case 'k':
			g->key = optarg;
			break;
		case 'j':
			ad->json = 1;
			break;
		case 'h':
			global_usage();
			return 0;
		case 'V':
			printf("certflow-admin %s\n", CERTFLOW_VERSION);
			return 0;
		default:
			return admin_usage("bad option '%s' (see 'certflow-admin --help')",
					   argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return admin_usage("no command (see 'certflow-admin --help')");
	return optind;
}

static int run(int argc, char **argv)
{
	struct globals g = {0};
	struct admin ad = {0};
	const struct command *c;
	static char name[64];
	int first, words = 0, ret;

	first = parse_globals(argc, argv, &g, &ad);
	if (first <= 0)
		return first;
	argc -= first;
	argv += first;
	c = find_command(argc, argv, &words);
	if (!c)
		return words < 0 ? group_usage(argv[0]) : CF_EUSAGE;
	argc -= words - 1;
	argv += words - 1;
	/* Messages name the whole command ("enrol cancel needs one REFERENCE"). */
	snprintf(name, sizeof(name), "%s%s%s", c->group ? c->group : "", c->group ? " " : "",
		 c->name);
	argv[0] = name;
	for (int i = 1; i < argc; i++) {
		if (is_help(argv[i])) {
			command_usage(c);
			return 0;
		}
	}
	ret = resolve(&g, &ad);
	if (!ret)
		ret = c->run(&ad, argc, argv);
	admin_close(&ad);
	return ret;
}

int main(int argc, char **argv)
{
	int ret = run(argc, argv);

	if (fflush(stdout) != 0 && ret == 0)
		ret = admin_fail(CF_EIO, "cannot write the output");
	if (ret == 0)
		return 0;
	if (!admin_reported())
		admin_fail(ret, "%s", cf_strerror(ret));
	return ret == CF_EUSAGE ? 2 : 1;
}
