/*
 * certflow-agent — command line (spec/cli.md): option parsing, --help, exit statuses. The
 * commands themselves are in enrol.c and renew.c.
 *
 * Never: accept a secret on the command line (the activation code comes from a file or stdin).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "agent.h"

static const char help_text[] =
    "Usage:\n"
    "  certflow-agent enrol --server URL --ca FILE --reference REF --dir DIR\n"
    "                       [--code-file FILE|-] [--key-type p256|p384|rsa2048]\n"
    "  certflow-agent renew --dir DIR [--force]\n"
    "  certflow-agent --help | --version\n"
    "\n"
    "Commands:\n"
    "  enrol   Activate an enrolment code: make a key pair on this device, send its CSR with\n"
    "          the reference number and the activation code, and install the certificate.\n"
    "  renew   Renew the credential enrolled in DIR with a new key pair, signed with the\n"
    "          account key. Without --force nothing happens before the renewal window\n"
    "          that the server announces (renewal-info) opens by the device's clock, or by\n"
    "          the server's Date when the two differ by more than a day (exit status 3).\n"
    "\n"
    "Options:\n"
    "  --server URL        Base URL of the certflow server (https://HOST:PORT; plain http://\n"
    "                      only to a loopback address).\n"
    "  --ca FILE           PEM trust anchor(s): the server's TLS certificate and the issued\n"
    "                      certificate's chain must verify to it. Its absolute path is kept in\n"
    "                      account.json for renew.\n"
    "  --reference REF     The enrolment's reference number, 12 digits (dashes allowed).\n"
    "  --dir DIR           The agent's directory (created 0700 if missing).\n"
    "  --code-file FILE|-  Read the activation code from FILE, or from standard input with '-'\n"
    "                      (the default; not echoed on a terminal). Only the first line is\n"
    "                      read. Never give the code on the command line.\n"
    "  --key-type TYPE     Certificate key: p256 (default), p384 or rsa2048. renew keeps the\n"
    "                      type of the current key.\n"
    "  --force             renew: ask the server even before the renewal window (the server\n"
    "                      still refuses with exit status 3 if renewal is not allowed yet).\n"
    "  -h, --help          Show this help.\n"
    "  --version           Show the version.\n"
    "\n"
    "Files in DIR:\n"
    "  account.key         The account key (P-256, mode 0600); signs every request after\n"
    "                      enrol. Separate from the certificate key; kept across renewals.\n"
    "  account.json        server, ca, kid (account URL), credential (id), renewalInfo (URL).\n"
    "  key.pem             The certificate's private key (mode 0600), made on this device.\n"
    "  cert.pem            The certificate.\n"
    "  chain.pem           The issuing CA certificate, then the root.\n"
    "  *.pem.prev          The previous key, certificate and chain after a renewal.\n"
    "  key.pem, cert.pem and chain.pem are symbolic links into live/ (a link to one complete\n"
    "  set under sets/), switched atomically: a reader never sees a key and a certificate\n"
    "  that do not belong together. A new set is installed only after checking that the key\n"
    "  matches the certificate and that the chain verifies to the --ca trust anchor.\n"
    "\n"
    "Exit status:\n"
    "  0  enrolled or renewed (one line on standard output: serial number and notAfter)\n"
    "  1  failed (one line on standard error says why)\n"
    "  2  usage error\n"
    "  3  renewal not due (notInRenewalWindow); standard error says when the window opens\n";

enum opt_id {
	OPT_SERVER = 1,
	OPT_CA,
	OPT_REF,
	OPT_DIR,
	OPT_CODE,
	OPT_KEYTYPE,
	OPT_FORCE,
	OPT_VERSION
};

static const struct option long_opts[] = {
    {"server", required_argument, NULL, OPT_SERVER},
    {"ca", required_argument, NULL, OPT_CA},
    {"reference", required_argument, NULL, OPT_REF},
    {"dir", required_argument, NULL, OPT_DIR},
    {"code-file", required_argument, NULL, OPT_CODE},
    {"key-type", required_argument, NULL, OPT_KEYTYPE},
    {"force", no_argument, NULL, OPT_FORCE},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

static int usage(const char *what)
{
	agent_err("%s", what);
	fputs("Try 'certflow-agent --help'.\n", stderr);
	return AGENT_USAGE;
}

static int key_type(const char *name, struct agent_opts *o)
{
	if (strcmp(name, "p256") == 0)
		o->key_type = CF_KEY_P256;
	else if (strcmp(name, "p384") == 0)
		o->key_type = CF_KEY_P384;
	else if (strcmp(name, "rsa2048") == 0)
		o->key_type = CF_KEY_RSA, o->key_bits = 2048;
	else
		return -1;
	return 0;
}

/* Parse the options after the command into o. -1 on a usage error, 1 for --help/--version
 * (already printed), 0 to go on. seen is a bit set of the enum opt_id given. */
static int parse(int argc, char **argv, struct agent_opts *o, unsigned *seen)
{
	int c;

	while ((c = getopt_long(argc, argv, "+h", long_opts, NULL)) != -1) {
		if (c > 0 && c <= OPT_VERSION)
			*seen |= 1u << c;
		switch (c) {
		case OPT_SERVER:
			o->server = optarg;
			break;
		case OPT_CA:
			o->ca = optarg;
			break;
		case OPT_REF:
			o->reference = optarg;
			break;
		case OPT_DIR:
			o->dir = optarg;
			break;
		case OPT_CODE:
			o->code_file = optarg;
			break;
		case OPT_FORCE:
			o->force = 1;
			break;
		case OPT_KEYTYPE:
			if (key_type(optarg, o) != 0)
				return usage("--key-type must be p256, p384 or rsa2048"), -1;
			break;
		case 'h':
			fputs(help_text, stdout);
			return 1;
		case OPT_VERSION:
			puts("certflow-agent " CERTFLOW_VERSION);
			return 1;
		default: /* getopt printed why */
			fputs("Try 'certflow-agent --help'.\n", stderr);
			return -1;
		}
	}
	if (optind < argc)
		return usage("unexpected argument"), -1;
	return 0;
}

#define BIT(o) (1u << (o))

static int run(const char *cmd, const struct agent_opts *o, unsigned seen)
{
	if (strcmp(cmd, "enrol") == 0) {
		if (!o->server || !o->ca || !o->reference || !o->dir)
			return usage("enrol needs --server, --ca, --reference and --dir");
		if (seen & BIT(OPT_FORCE))
			return usage("--force is an option of renew");
		return agent_enrol(o);
	}
	if (strcmp(cmd, "renew") == 0) {
		if (!o->dir)
			return usage("renew needs --dir");
		if (seen & (BIT(OPT_SERVER) | BIT(OPT_CA) | BIT(OPT_REF) | BIT(OPT_CODE) |
			    BIT(OPT_KEYTYPE)))
			return usage("renew takes only --dir and --force (the rest is in "
				     "account.json)");
		return agent_renew(o);
	}
	return usage("unknown command (enrol or renew)");
}

int main(int argc, char **argv)
{
	struct agent_opts o = {.code_file = "-", .key_type = CF_KEY_P256};
	unsigned seen = 0;
	const char *cmd = NULL;
	int r;

	/* Options before the command are allowed for --help/--version only. */
	if (argc > 1 && argv[1][0] != '-') {
		cmd = argv[1];
		argv++;
		argc--;
		argv[0] = (char *)"certflow-agent"; /* getopt's messages name the program */
	}
	r = parse(argc, argv, &o, &seen);
	if (r != 0)
		return r > 0 ? AGENT_OK : AGENT_USAGE;
	if (!cmd)
		return usage("no command (enrol or renew)");
	return run(cmd, &o, seen);
}
