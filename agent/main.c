/*
 * certflow-agent — command line (spec/cli.md): option parsing, --help, exit statuses. The
 * commands themselves are in enrol.c and renew.c.
 *
 * Never: accept a secret on the command line (the activation code comes from a file or stdin).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "cf_clock.h"
#include "cf_file.h"

static const char help_text[] =
    "Usage:\n"
    "  certflow-agent enrol --server URL --ca FILE --reference REF --dir DIR\n"
    "                       [--code-file FILE|-] [--key-type p256|p384|rsa2048]\n"
    "                       [--password-file FILE|-] [--kdf-iterations N]\n"
    "  certflow-agent renew --dir DIR [--force] [--password-file FILE|-]\n"
    "  certflow-agent renew [--config FILE [--name NAME] | --dir DIR]\n"
    "                       [--force | --if-due [--dry-run]]\n"
    "  certflow-agent run [--config FILE [--name NAME] | --dir DIR]\n"
    "  certflow-agent status [--config FILE [--name NAME] | --dir DIR] [--json]\n"
    "  certflow-agent enrol --config FILE --name NAME --reference REF [--code-file FILE|-]\n"
    "  certflow-agent consents --server URL --ca FILE\n"
    "  certflow-agent apply --server URL --ca FILE --form FILE --passphrase-file FILE|-\n"
    "  certflow-agent reference-renew --server URL --ca FILE --reference REF\n"
    "                       --answers-file FILE\n"
    "  certflow-agent recover --server URL --ca FILE --email ADDRESS\n"
    "  certflow-agent recover --server URL --ca FILE --token-file FILE [--send-otp]\n"
    "  certflow-agent recover --server URL --ca FILE --token-file FILE --answers-file FILE\n"
    "                       --passphrase-file FILE|- [--otp-file FILE|- | --send-otp]\n"
    "                       [--credential ID]\n"
    "  certflow-agent emergency-suspend --server URL --ca FILE --reference REF\n"
    "                       [--code-file FILE|-]\n"
    "  certflow-agent envelope open [--in FILE|- | FILE] [--passphrase-file FILE|-] [--json]\n"
    "  certflow-agent otp setup --dir DIR [--svg FILE]\n"
    "  certflow-agent otp confirm --dir DIR [--code-file FILE|-]\n"
    "  certflow-agent login --server URL --ca FILE --user ID --password-file FILE|-\n"
    "                       --session-file S\n"
    "  certflow-agent password --session-file S --password-file FILE|-\n"
    "                       --new-password-file FILE|-\n"
    "  certflow-agent password forgot --server URL --ca FILE --email ADDRESS\n"
    "  certflow-agent password reset --server URL --ca FILE --token-file FILE|- --send-otp\n"
    "  certflow-agent password reset --server URL --ca FILE --token-file FILE|-\n"
    "                       --new-password-file FILE|- --otp-file FILE|-\n"
    "  certflow-agent portal status --session-file S [--json]\n"
    "  certflow-agent portal otp --session-file S\n"
    "  certflow-agent activate|unblock --session-file S --credential ID --puk-file FILE|-\n"
    "                       --new-pin-file FILE|- --otp CODE\n"
    "  certflow-agent pin --session-file S --credential ID --pin-file FILE|-\n"
    "                       --new-pin-file FILE|- --otp CODE\n"
    "  certflow-agent sign --session-file S --credential ID --pin-file FILE|- --otp CODE\n"
    "                       --in FILE [--in FILE]... --out-dir DIR [--hash sha256|sha384|sha512]\n"
    "  certflow-agent remote-renew --session-file S --credential ID --identity-unchanged\n"
    "                       --consents NAME[,NAME]... --pin-file FILE|- --otp CODE\n"
    "                       --passphrase-file FILE|- [--new-pin-file FILE|-] [--coupon CODE]\n"
    "  certflow-agent update --session-file S --credential ID --consents NAME[,NAME]...\n"
    "                       --pin-file FILE|- --otp CODE --ticket-file T\n"
    "  certflow-agent update --session-file S --ticket-file T --send-otp\n"
    "  certflow-agent update --session-file S --ticket-file T --otp CODE\n"
    "                       --passphrase-file FILE|-\n"
    "                       [--new-pin-file FILE|-]\n"
    "  certflow-agent logout --session-file S\n"
    "  certflow-agent login --qr --server URL --ca FILE [--user ID] [--qr-svg FILE]\n"
    "                       --session-file S\n"
    "  certflow-agent qr-approve --dir DIR [--server URL] [--ca FILE] CHALLENGE|-\n"
    "  certflow-agent --help | --version\n"
    "\n"
    "Commands:\n"
    "  enrol   Activate an enrolment code: make a key pair on this device, send its CSR with\n"
    "          the reference number and the activation code, and install the certificate.\n"
    "  renew   Renew the credential enrolled in DIR with a new key pair, signed with the\n"
    "          account key. Without --force nothing happens before the renewal window\n"
    "          that the server announces (renewal-info) opens by the device's clock, or by\n"
    "          the server's Date when the two differ by more than a day (exit status 3).\n"
    "          With --config, every credential of the file (or --name NAME).\n"
    "          --if-due: renew only when due: at a random moment of the server's window\n"
    "          (kept in DIR/state.json), at once when the window has passed or less than\n"
    "          1/10 of the lifetime (or 2 days) is left; after a failure not before the\n"
    "          backoff (1 minute doubling to 1 day, with jitter; or the server's\n"
    "          Retry-After). --dry-run: say whether it is due and why; change nothing.\n"
    "  run     The daemon (foreground, for systemd): a cycle per credential whenever its\n"
    "          time comes, one line per event on standard error; wakes at least every\n"
    "          minute and re-reads the clock. SIGTERM/SIGINT: stop (exit 0); SIGHUP:\n"
    "          reload the configuration; SIGUSR1: a cycle for every credential now.\n"
    "  status  Per credential: state (ok, due, failing, expired), serial, notAfter, days\n"
    "          left, next attempt, last success, last error; --json: the status file.\n"
    "          Exit status 1 if any is failing or expired.\n"
    "\n"
    "A person's journeys (each prints \"name: value\" lines and a \"next:\" line):\n"
    "  consents  Print the title and full text of each consent the server asks of an\n"
    "          application (terms, privacy): read them before you accept them in a form.\n"
    "  apply   Send an application (the JSON --form: profile, givenName, surname, uniqueId,\n"
    "          email, altEmail, mobile, questions [{question, answer} x3], consents [names])\n"
    "          with the passphrase of your future envelopes. At a terminal each consent of the\n"
    "          form is shown with its text and sent only once you type yes; otherwise naming it\n"
    "          in the form accepts it. Prints the application id and\n"
    "          status; after approval the reference number and the envelope (activation code,\n"
    "          emergency code) come by two separate e-mails.\n"
    "  reference-renew  A new reference number and envelope for one that expired (15 days),\n"
    "          with 2 of your 3 security answers; 5 failures lock the questions.\n"
    "  recover Lost key or password: --email asks for a link token (mailed to both your\n"
    "          addresses); --token-file alone shows the credentials you may recover (choose\n"
    "          one with --credential ID when there are several), your questions and the\n"
    "          one-time password needed (sms, totp or none); --send-otp has an SMS code sent\n"
    "          (a wrong answer does not use it up); with the answers,\n"
    "          the code and a new envelope passphrase a new reference number and envelope are\n"
    "          mailed: open the envelope (envelope open) and enrol with a new key. With several\n"
    "          credentials it lists them (id, profile, subject, notAfter; tab-separated) and\n"
    "          exits 4: run again with --credential ID.\n"
    "  emergency-suspend  Suspend your credential with the emergency code of your envelope\n"
    "          (certificate on hold until an operator reinstates it).\n"
    "  envelope open  Open the envelope of an e-mail (--in: the saved e-mail or just the\n"
    "          envelope; default standard input) with its passphrase and print its members:\n"
    "          reference, activationCode, emergencyCode, envelopeNumber (one \"name: value\"\n"
    "          per line; --json: the JSON). With both on standard input the passphrase is\n"
    "          the first line and the e-mail the rest. Talks to no server.\n"
    "  otp setup    Make an authenticator (TOTP) seed for the credential of DIR: draws its QR\n"
    "          code and prints the secret for manual entry (--svg FILE writes the QR as SVG).\n"
    "  otp confirm  Confirm the authenticator with one of its codes.\n"
    "\n"
    "Remote credentials (the key stays on the server; the holder's portal and the CSC API):\n"
    "  login   User id and password (of the credentials e-mail) → a session in --session-file\n"
    "          (mode 0600; server, ca, token, expiresAt, userId). Prints userId, expiresAt,\n"
    "          mustChangePassword and a line per update notice (credential, date, note).\n"
    "  password  Change the password (the first one must be changed before anything else).\n"
    "  password forgot  Forgotten password: asks for a reset link token, e-mailed with your\n"
    "          user id to both your addresses (if the address is known).\n"
    "  password reset  With the token of that e-mail: --send-otp has an SMS code sent; then\n"
    "          the new password and the code (SMS or authenticator app) set the password,\n"
    "          unlock a locked login and end every session.\n"
    "  portal status  Per credential: id, status, expiry and days left, renewal (offered, or\n"
    "          the date it opens), update-by notice, PIN state and tries left; --json: the\n"
    "          server's document.\n"
    "  portal otp  Have an SMS code sent (for activate, unblock, pin, sign, remote-renew).\n"
    "  activate  PUK (of the envelope) + a new PIN of 8 digits + the SMS or TOTP code: the\n"
    "          pending credential becomes active and its certificate is issued.\n"
    "  unblock   The same for a blocked PIN (PUK + new PIN + code); no new certificate.\n"
    "  pin     Change the PIN with the current one and a code.\n"
    "  sign    Sign up to 64 files with one PIN + code (CSC credentials/authorize, then\n"
    "          signatures/signHash): DIR/NAME.sig per file, a DER signature over the file's\n"
    "          SHA-256 (or --hash) that `openssl dgst -sha256 -verify pub.pem -signature\n"
    "          NAME.sig NAME` accepts (ECDSA, or RSA PKCS#1 v1.5).\n"
    "  remote-renew  Inside the renewal window (portal status shows it): confirm that name,\n"
    "          surname and unique id are unchanged, accept the consents, PIN + code, the\n"
    "          passphrase of the new envelope (e-mailed), a new PIN or the current one kept,\n"
    "          and a coupon if the operator asks for one. A new key pair and certificate.\n"
    "  update  On the operator's demand (\"update by\" in status): the first form (consents,\n"
    "          PIN, code) writes a ticket to the new file T (mode 0600); --ticket-file T\n"
    "          --send-otp sends a new code; the last\n"
    "          form (ticket, code, passphrase of the new envelope, new PIN or kept) makes the\n"
    "          new key and certificate and revokes the old one.\n"
    "  logout  End the session on the server and remove --session-file.\n"
    "  login --qr  Login by QR code: draws a one-time challenge as a QR code (and as SVG\n"
    "          with --qr-svg), waits (polling every second, until the code expires) for an\n"
    "          agent holding your credential to approve it, then writes --session-file as\n"
    "          login does. --user ID: only that login may approve.\n"
    "  qr-approve  On the device that holds your credential (DIR): approve the scanned\n"
    "          text of a login QR code (certflow-login:...; - reads it from standard input)\n"
    "          with the account key. Prints \"approved: login of user ID\". Approve only a\n"
    "          code you have just scanned from a screen you are in front of.\n"
    "  A missing or expired session: \"session expired: run certflow-agent login\" (exit 1).\n"
    "  The server's refusals: \"certflow-agent: <title>: <detail> (attempts left: N)\".\n"
    "\n"
    "Options:\n"
    "  --server URL        Base URL of the certflow server (https://HOST:PORT; plain http://\n"
    "                      only to a loopback address).\n"
    "  --ca FILE           PEM trust anchor(s): the server's TLS certificate and the issued\n"
    "                      certificate's chain must verify to it. Its absolute path is kept in\n"
    "                      account.json for renew.\n"
    "  --ca-fingerprint sha256:HEX  Instead of --ca: the SHA-256 fingerprint of the server's\n"
    "                      root CA, as its e-mails print it. The agent fetches the server's CA\n"
    "                      chain, keeps the root only if its fingerprint is this one, and\n"
    "                      verifies the server against it from then on (enrol: DIR/ca.pem;\n"
    "                      login: S.ca.pem beside the session file).\n"
    "  --reference REF     The enrolment's reference number, 12 digits (dashes allowed).\n"
    "  --dir DIR           The agent's directory (created 0700 if missing).\n"
    "  --code-file FILE|-  Read the activation code from FILE, or from standard input with '-'\n"
    "                      (the default; not echoed on a terminal). Only the first line is\n"
    "                      read. Never give the code on the command line.\n"
    "  --key-type TYPE     Certificate key: p256 (default), p384 or rsa2048. renew keeps the\n"
    "                      type of the current key.\n"
    "  --force             renew: ask the server even before the renewal window (the server\n"
    "                      still refuses with exit status 3 if renewal is not allowed yet).\n"
    "  --form FILE         apply: the application, a JSON object.\n"
    "  --passphrase-file FILE|-  The envelope passphrase (first line): at least 8 characters\n"
    "                      with upper and lower case, a digit and a special character.\n"
    "  --answers-file FILE Three lines, one answer each, in the order of the questions.\n"
    "  --email ADDRESS     recover, password forgot: your professional e-mail address.\n"
    "  --token-file FILE|- recover, password reset: the link token of the e-mail.\n"
    "  --send-otp          recover, password reset, update: have an SMS code sent to your\n"
    "                      mobile.\n"
    "  --otp-file FILE|-   recover, password reset: the SMS code or the code of your\n"
    "                      authenticator app.\n"
    "  --credential ID     The credential, by the id that portal status or recover lists\n"
    "                      (recover: only when you hold several).\n"
    "  --password-file FILE|-  enrol, renew: encrypt key.pem (PKCS#8, PBKDF2-HMAC-SHA-256 +\n"
    "                      AES-256-CBC; `openssl pkey -passin file:FILE` reads it) under the\n"
    "                      password on the first line of FILE. A new password must pass the\n"
    "                      password policy (else exit 2, nothing sent); renew of an encrypted\n"
    "                      key.pem needs it (a wrong one: exit 1 before contacting the server)\n"
    "                      and encrypts the new key under the same password. Read before the\n"
    "                      activation code when both come from standard input.\n"
    "  --kdf-iterations N  enrol, renew: PBKDF2 iterations for key.pem (default 600000,\n"
    "                      at least 10000; renew keeps the current key's count).\n"
    "  --in FILE|-         envelope open: the text holding the envelope; sign: a file to\n"
    "                      sign (repeat for more, up to 64).\n"
    "  --json              Print JSON instead of lines: the envelope (envelope open), the\n"
    "                      status file (status), the server's document (portal status).\n"
    "  --config FILE       The configuration (default /etc/certflow/agent.conf): global key\n"
    "                      status_file, then [credential NAME] sections with dir, server,\n"
    "                      ca, key_type, hook, password_file (spec/cli.md). Errors: exit 2.\n"
    "  --name NAME         One credential of --config.\n"
    "  --if-due            renew: only the credentials that are due (see renew).\n"
    "  --dry-run           renew: say per credential whether renewal is due and why.\n"
    "  --test-clock FILE   \"now\" is the Unix time in FILE (tests only).\n"
    "  --svg FILE          otp setup: also write the QR code as SVG (mode 0600: it holds the\n"
    "                      secret).\n"
    "  --code-file also gives emergency-suspend its emergency code and otp confirm its code.\n"
    "  --user ID           login: the user id of the credentials e-mail.\n"
    "  --session-file S    The portal session (written by login, mode 0600).\n"
    "  --new-password-file FILE|-  password, password reset: the new password (at least 8\n"
    "                      characters with upper and lower case, a digit and a special\n"
    "                      character; asked twice when typed at a terminal).\n"
    "  --pin-file, --new-pin-file, --puk-file FILE|-  PIN, new PIN (exactly 8 digits), PUK.\n"
    "                      Several from standard input: one line each, in the order password,\n"
    "                      PIN or PUK, new PIN, envelope passphrase.\n"
    "  --otp CODE          The SMS or TOTP code (single use, so allowed on the command line).\n"
    "  --out-dir DIR       sign: where NAME.sig go (made, with its parents, if missing).\n"
    "  --hash ALG          sign: sha256 (default), sha384 or sha512.\n"
    "  --identity-unchanged  remote-renew: name, surname and unique id are still right.\n"
    "  --consents LIST     remote-renew, update: the consents accepted (comma-separated;\n"
    "                      their texts: certflow-agent consents). At a terminal each is\n"
    "                      shown and needs a typed yes.\n"
    "  --coupon CODE       remote-renew: the operator's coupon (entitlement = coupon).\n"
    "  --ticket-file T     update: the first form writes the ticket to T (a new file, mode\n"
    "                      0600; '-': print it); the others read it from T (or standard\n"
    "                      input); T is removed once the update is complete.\n"
    "  --qr                login: by QR code instead of a password.\n"
    "  --qr-svg FILE       login --qr: also write the QR code as SVG (public: mode 0644).\n"
    "  Secrets are read from files or standard input only, never from the command line.\n"
    "  -h, --help          Show this help.\n"
    "  --version           Show the version.\n"
    "\n"
    "Files in DIR:\n"
    "  account.key         The account key (P-256, mode 0600); signs every request after\n"
    "                      enrol. Separate from the certificate key; kept across renewals.\n"
    "  account.json        server, ca, kid (account URL), credential (id), renewalInfo (URL).\n"
    "  key.pem             The certificate's private key (mode 0600), made on this device;\n"
    "                      encrypted under the key password with --password-file.\n"
    "  cert.pem            The certificate.\n"
    "  chain.pem           The issuing CA certificate, then the root.\n"
    "  *.pem.prev          The previous key, certificate and chain after a renewal.\n"
    "  state.json          The renewal plan: window, planned moment, failures, next attempt,\n"
    "                      last attempt, success and error.\n"
    "  pending/            The new key (kept before the request is sent) and the server's\n"
    "                      answer until they are installed: an interrupted install is finished\n"
    "                      by the next run without the server; a lost answer is asked again\n"
    "                      with the same key (an interrupted enrol: run enrol again with the\n"
    "                      same reference and code).\n"
    "  .lock               flock()ed during a cycle or an enrol: a second agent skips the\n"
    "                      credential (exit status 1, \"busy\").\n"
    "  key.pem, cert.pem and chain.pem are symbolic links into live/ (a link to one complete\n"
    "  set under sets/), switched atomically: a reader never sees a key and a certificate\n"
    "  that do not belong together. A new set is installed only after checking that the key\n"
    "  matches the certificate and that the chain verifies to the --ca trust anchor. Any\n"
    "  write, fsync, rename or removal that fails is a failure (exit status 1).\n"
    "\n"
    "Exit status:\n"
    "  0  enrolled or renewed (one line on standard output: serial number and notAfter);\n"
    "     renew of several: at least one renewed, none failed; --dry-run: due\n"
    "  1  failed (one line on standard error says why); renew of several: at least one\n"
    "     failed (or its hook); status: a credential is failing or expired\n"
    "  2  usage error, or a bad configuration file\n"
    "  3  renewal not due (notInRenewalWindow; none due with --if-due); standard error\n"
    "     or the not-due line says when\n"
    "  4  recover: several credentials; choose one with --credential ID\n"
    "\n"
    "Hook (config key hook, after a renewal; no shell, split on spaces; output to standard\n"
    "error; killed after 5 minutes): environment CERTFLOW_NAME, CERTFLOW_DIR, CERTFLOW_KEY,\n"
    "CERTFLOW_CERT, CERTFLOW_CHAIN, CERTFLOW_SERIAL, CERTFLOW_NOT_AFTER (RFC 3339),\n"
    "CERTFLOW_PREVIOUS_SERIAL. A failing hook: exit status 1, the renewal stays installed.\n"
    "\n"
    "Clocks: a device clock before this agent's build time (or before its certificate's\n"
    "notBefore) is clearly wrong: the server's chain and name are still verified, but not\n"
    "its validity times, and the server's Date (checked against that chain) is the time.\n"
    "A new certificate and chain are checked at the Date of the answer that brought them\n"
    "when the device clock is more than a minute away from it.\n";

enum opt_id {
	OPT_SERVER = 1,
	OPT_CA,
	OPT_REF,
	OPT_DIR,
	OPT_CODE,
	OPT_KEYTYPE,
	OPT_FORCE,
	OPT_FORM,
	OPT_PASSPHRASE,
	OPT_ANSWERS,
	OPT_TOKEN,
	OPT_OTP,
	OPT_EMAIL,
	OPT_CREDENTIAL,
	OPT_SVG,
	OPT_SENDOTP,
	OPT_PASSWORD,
	OPT_KDFITER,
	OPT_IN,
	OPT_JSON,
	OPT_CONFIG,
	OPT_NAME,
	OPT_IFDUE,
	OPT_DRYRUN,
	OPT_TESTCLOCK,
	OPT_USER,
	OPT_SESSION,
	OPT_NEWPASSWORD,
	OPT_PIN,
	OPT_NEWPIN,
	OPT_PUK,
	OPT_OTPCODE,
	OPT_OUTDIR,
	OPT_HASH,
	OPT_IDUNCHANGED,
	OPT_CONSENTS,
	OPT_COUPON,
	OPT_TICKET,
	OPT_QR,
	OPT_QRSVG,
	OPT_CAFP,
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
    {"form", required_argument, NULL, OPT_FORM},
    {"passphrase-file", required_argument, NULL, OPT_PASSPHRASE},
    {"answers-file", required_argument, NULL, OPT_ANSWERS},
    {"token-file", required_argument, NULL, OPT_TOKEN},
    {"otp-file", required_argument, NULL, OPT_OTP},
    {"email", required_argument, NULL, OPT_EMAIL},
    {"credential", required_argument, NULL, OPT_CREDENTIAL},
    {"svg", required_argument, NULL, OPT_SVG},
    {"send-otp", no_argument, NULL, OPT_SENDOTP},
    {"password-file", required_argument, NULL, OPT_PASSWORD},
    {"kdf-iterations", required_argument, NULL, OPT_KDFITER},
    {"in", required_argument, NULL, OPT_IN},
    {"json", no_argument, NULL, OPT_JSON},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"name", required_argument, NULL, OPT_NAME},
    {"if-due", no_argument, NULL, OPT_IFDUE},
    {"dry-run", no_argument, NULL, OPT_DRYRUN},
    {"test-clock", required_argument, NULL, OPT_TESTCLOCK},
    {"user", required_argument, NULL, OPT_USER},
    {"session-file", required_argument, NULL, OPT_SESSION},
    {"new-password-file", required_argument, NULL, OPT_NEWPASSWORD},
    {"pin-file", required_argument, NULL, OPT_PIN},
    {"new-pin-file", required_argument, NULL, OPT_NEWPIN},
    {"puk-file", required_argument, NULL, OPT_PUK},
    {"otp", required_argument, NULL, OPT_OTPCODE},
    {"out-dir", required_argument, NULL, OPT_OUTDIR},
    {"hash", required_argument, NULL, OPT_HASH},
    {"identity-unchanged", no_argument, NULL, OPT_IDUNCHANGED},
    {"consents", required_argument, NULL, OPT_CONSENTS},
    {"coupon", required_argument, NULL, OPT_COUPON},
    {"ticket-file", required_argument, NULL, OPT_TICKET},
    {"qr", no_argument, NULL, OPT_QR},
    {"qr-svg", required_argument, NULL, OPT_QRSVG},
    {"ca-fingerprint", required_argument, NULL, OPT_CAFP},
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

static int kdf_iterations(const char *text, struct agent_opts *o)
{
	char *end;
	unsigned long n = strtoul(text, &end, 10);

	if (!*text || *end || text[0] == '-' || n < 10000 || n > 10000000)
		return -1;
	o->kdf_iterations = (uint32_t)n;
	return 0;
}

/* Parse the options after the command into o. -1 on a usage error, 1 for --version (printed), 2
 * for --help, 0 to go on. seen is a bit set of the enum opt_id given. */
static int parse(int argc, char **argv, struct agent_opts *o, uint64_t *seen)
{
	int c;

	while ((c = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
		if (c > 0 && c <= OPT_VERSION)
			*seen |= UINT64_C(1) << c;
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
		case OPT_FORM:
			o->form = optarg;
			break;
		case OPT_PASSPHRASE:
			o->passphrase_file = optarg;
			break;
		case OPT_ANSWERS:
			o->answers_file = optarg;
			break;
		case OPT_TOKEN:
			o->token_file = optarg;
			break;
		case OPT_OTP:
			o->otp_file = optarg;
			break;
		case OPT_EMAIL:
			o->email = optarg;
			break;
		case OPT_CREDENTIAL:
			o->credential = optarg;
			break;
		case OPT_SVG:
			o->svg = optarg;
			break;
		case OPT_SENDOTP:
			o->send_otp = 1;
			break;
		case OPT_PASSWORD:
			o->password_file = optarg;
			break;
		case OPT_KDFITER:
			if (kdf_iterations(optarg, o) != 0)
				return usage("--kdf-iterations must be a number from 10000 to "
					     "10000000"),
				       -1;
			break;
		case OPT_IN:
			o->in_file = optarg;
			if (o->n_in < AGENT_SIGN_MAX)
				o->in_files[o->n_in] = optarg;
			o->n_in++;
			break;
		case OPT_JSON:
			o->json = 1;
			break;
		case OPT_CONFIG:
			o->config = optarg;
			break;
		case OPT_NAME:
			o->name = optarg;
			break;
		case OPT_IFDUE:
			o->if_due = 1;
			break;
		case OPT_DRYRUN:
			o->dry_run = 1;
			break;
		case OPT_TESTCLOCK:
			o->test_clock = optarg;
			break;
		case OPT_USER:
			o->user = optarg;
			break;
		case OPT_SESSION:
			o->session_file = optarg;
			break;
		case OPT_NEWPASSWORD:
			o->new_password_file = optarg;
			break;
		case OPT_PIN:
			o->pin_file = optarg;
			break;
		case OPT_NEWPIN:
			o->new_pin_file = optarg;
			break;
		case OPT_PUK:
			o->puk_file = optarg;
			break;
		case OPT_OTPCODE:
			o->otp = optarg;
			break;
		case OPT_OUTDIR:
			o->out_dir = optarg;
			break;
		case OPT_HASH:
			o->hash = optarg;
			break;
		case OPT_IDUNCHANGED:
			o->identity_unchanged = 1;
			break;
		case OPT_CONSENTS:
			o->consents = optarg;
			break;
		case OPT_COUPON:
			o->coupon = optarg;
			break;
		case OPT_TICKET:
			o->ticket_file = optarg;
			break;
		case OPT_QR:
			o->qr = 1;
			break;
		case OPT_QRSVG:
			o->qr_svg = optarg;
			break;
		case OPT_CAFP:
			o->ca_fingerprint = optarg;
			break;
		case OPT_KEYTYPE:
			if (key_type(optarg, o) != 0)
				return usage("--key-type must be p256, p384 or rsa2048"), -1;
			break;
		case 'h':
			return 2; /* printed by main, which knows the command */
		case OPT_VERSION:
			puts("certflow-agent " CERTFLOW_VERSION);
			return 1;
		default: /* getopt printed why */
			fputs("Try 'certflow-agent --help'.\n", stderr);
			return -1;
		}
	}
	/* qr-approve's challenge text: one argument after the options */
	if (optind + 1 == argc && (argv[optind][0] != '-' || strcmp(argv[optind], "-") == 0))
		o->arg = argv[optind++];
	if (optind < argc)
		return usage("unexpected argument"), -1;
	return 0;
}

#define BIT(o) (UINT64_C(1) << (o))

/* The journeys' commands (journey.c): the options each form needs and allows besides. */
struct journey_cmd {
	const char *name;
	uint64_t need, allow;
	int (*fn)(const struct agent_opts *o);
	const char *usage;
};

#define PUBLIC (BIT(OPT_SERVER) | BIT(OPT_CA))
#define SESSION BIT(OPT_SESSION)
#define CREDENTIAL (SESSION | BIT(OPT_CREDENTIAL))

static const struct journey_cmd journeys[] = {
    {"consents", PUBLIC, 0, agent_consents, "consents needs --server and --ca, nothing else"},
    {"apply", PUBLIC | BIT(OPT_FORM) | BIT(OPT_PASSPHRASE), 0, agent_apply,
     "apply needs --server, --ca, --form and --passphrase-file, and nothing else"},
    {"reference-renew", PUBLIC | BIT(OPT_REF) | BIT(OPT_ANSWERS), 0, agent_reference_renew,
     "reference-renew needs --server, --ca, --reference and --answers-file, and nothing else"},
    {"emergency-suspend", PUBLIC | BIT(OPT_REF), BIT(OPT_CODE), agent_emergency_suspend,
     "emergency-suspend needs --server, --ca and --reference (and --code-file), nothing else"},
    {"envelope open", 0, BIT(OPT_IN) | BIT(OPT_PASSPHRASE) | BIT(OPT_JSON), agent_envelope_open,
     "envelope open takes --in, --passphrase-file and --json, nothing else"},
    {"otp setup", BIT(OPT_DIR), BIT(OPT_SVG), agent_otp_setup,
     "otp setup needs --dir (and --svg), nothing else"},
    {"otp confirm", BIT(OPT_DIR), BIT(OPT_CODE), agent_otp_confirm,
     "otp confirm needs --dir (and --code-file), nothing else"},
    /* recover: its forms (--send-otp ignores the options of the last step) */
    {"recover", PUBLIC | BIT(OPT_EMAIL), 0, agent_recover, NULL},
    {"recover", PUBLIC | BIT(OPT_TOKEN), 0, agent_recover, NULL},
    {"recover", PUBLIC | BIT(OPT_TOKEN) | BIT(OPT_SENDOTP),
     BIT(OPT_ANSWERS) | BIT(OPT_PASSPHRASE) | BIT(OPT_CREDENTIAL), agent_recover, NULL},
    {"recover", PUBLIC | BIT(OPT_TOKEN) | BIT(OPT_ANSWERS) | BIT(OPT_PASSPHRASE),
     BIT(OPT_OTP) | BIT(OPT_CREDENTIAL), agent_recover,
     "recover takes --email ADDRESS; or --token-file FILE [--send-otp]; or --token-file, "
     "--answers-file and --passphrase-file [--otp-file | --send-otp] [--credential] (and "
     "--server, --ca)"},
    /* the holder's portal (portal.c) */
    /* login by QR code (qrlogin.c) */
    {"login", PUBLIC | BIT(OPT_QR) | BIT(OPT_SESSION), BIT(OPT_USER) | BIT(OPT_QRSVG),
     agent_login_qr, NULL},
    {"qr-approve", BIT(OPT_DIR), PUBLIC, agent_qr_approve,
     "qr-approve needs --dir DIR (and --server, --ca) and the text of the QR code last"},
    {"login", PUBLIC | BIT(OPT_USER) | BIT(OPT_PASSWORD) | BIT(OPT_SESSION), 0, agent_login,
     "login needs --server, --ca, --user, --password-file and --session-file, and nothing "
     "else"},
    {"password", SESSION | BIT(OPT_PASSWORD) | BIT(OPT_NEWPASSWORD), 0, agent_password,
     "password needs --session-file, --password-file and --new-password-file, nothing else"},
    {"password forgot", PUBLIC | BIT(OPT_EMAIL), 0, agent_password_forgot,
     "password forgot needs --server, --ca and --email, nothing else"},
    {"password reset", PUBLIC | BIT(OPT_TOKEN) | BIT(OPT_SENDOTP), 0, agent_password_reset, NULL},
    {"password reset", PUBLIC | BIT(OPT_TOKEN) | BIT(OPT_NEWPASSWORD) | BIT(OPT_OTP), 0,
     agent_password_reset,
     "password reset needs --server, --ca and --token-file, and --send-otp or both "
     "--new-password-file and --otp-file"},
    {"portal status", SESSION, BIT(OPT_JSON), agent_portal_status,
     "portal status needs --session-file (and --json), nothing else"},
    {"portal otp", SESSION, 0, agent_portal_otp, "portal otp needs --session-file, nothing else"},
    {"activate", CREDENTIAL | BIT(OPT_PUK) | BIT(OPT_NEWPIN) | BIT(OPT_OTPCODE), 0, agent_activate,
     "activate needs --session-file, --credential, --puk-file, --new-pin-file and --otp"},
    {"unblock", CREDENTIAL | BIT(OPT_PUK) | BIT(OPT_NEWPIN) | BIT(OPT_OTPCODE), 0, agent_unblock,
     "unblock needs --session-file, --credential, --puk-file, --new-pin-file and --otp"},
    {"pin", CREDENTIAL | BIT(OPT_PIN) | BIT(OPT_NEWPIN) | BIT(OPT_OTPCODE), 0, agent_pin,
     "pin needs --session-file, --credential, --pin-file, --new-pin-file and --otp"},
    {"sign", CREDENTIAL | BIT(OPT_PIN) | BIT(OPT_OTPCODE) | BIT(OPT_IN) | BIT(OPT_OUTDIR),
     BIT(OPT_HASH), agent_sign,
     "sign needs --session-file, --credential, --pin-file, --otp, --in FILE (repeated) and "
     "--out-dir (and --hash), nothing else"},
    {"remote-renew",
     CREDENTIAL | BIT(OPT_IDUNCHANGED) | BIT(OPT_CONSENTS) | BIT(OPT_PIN) | BIT(OPT_OTPCODE) |
	 BIT(OPT_PASSPHRASE),
     BIT(OPT_NEWPIN) | BIT(OPT_COUPON), agent_remote_renew,
     "remote-renew needs --session-file, --credential, --identity-unchanged, --consents, "
     "--pin-file, --otp and --passphrase-file (and --new-pin-file, --coupon)"},
    {"update", CREDENTIAL | BIT(OPT_CONSENTS) | BIT(OPT_PIN) | BIT(OPT_OTPCODE) | BIT(OPT_TICKET),
     0, agent_update, NULL},
    {"update", SESSION | BIT(OPT_TICKET) | BIT(OPT_SENDOTP), 0, agent_update, NULL},
    {"update", SESSION | BIT(OPT_TICKET) | BIT(OPT_OTPCODE) | BIT(OPT_PASSPHRASE), BIT(OPT_NEWPIN),
     agent_update,
     "update takes --credential, --consents, --pin-file, --otp and --ticket-file (start); or "
     "--ticket-file and --send-otp; or --ticket-file, --otp, --passphrase-file "
     "[--new-pin-file] (complete); and "
     "--session-file"},
    {"logout", SESSION, 0, agent_logout, "logout needs --session-file, nothing else"},
};

/* Run cmd if it is a journey's: its exit status, or -1 if cmd is not one. */
static int run_journey(const char *cmd, const struct agent_opts *o, uint64_t seen)
{
	for (size_t i = 0; i < sizeof(journeys) / sizeof(*journeys); i++) {
		const struct journey_cmd *j = &journeys[i];
		if (strcmp(cmd, j->name) != 0)
			continue;
		if ((seen & j->need) == j->need && (seen & ~(j->need | j->allow)) == 0)
			return j->fn(o);
		if (j->usage) /* the last row of a command says what it takes */
			return usage(j->usage);
	}
	if (strncmp(cmd, "envelope", 8) == 0)
		return usage("envelope needs open: envelope open [--in FILE|-] [--passphrase-file "
			     "FILE|-] [--json]");
	if (strncmp(cmd, "portal", 6) == 0)
		return usage("portal needs status or otp: portal status --session-file S [--json], "
			     "portal otp --session-file S");
	if (strcmp(cmd, "password ?") == 0)
		return usage(
		    "password takes forgot or reset, or changes the password of a session: "
		    "see certflow-agent password --help");
	if (strncmp(cmd, "otp", 3) == 0)
		return usage("otp needs setup or confirm: otp setup --dir DIR [--svg FILE], otp "
			     "confirm --dir DIR [--code-file FILE|-]");
	return -1;
}

/* The commands of unattended renewal (cycle.c, daemon.c) and the options each allows. */
struct schedule_cmd {
	const char *name;
	uint64_t allow;
	int (*fn)(const struct agent_opts *o);
	const char *usage;
};

#define SCHEDULE_OPTS (BIT(OPT_DIR) | BIT(OPT_CONFIG) | BIT(OPT_NAME) | BIT(OPT_TESTCLOCK))

static const struct schedule_cmd schedule_cmds[] = {
    {"renew", SCHEDULE_OPTS | BIT(OPT_FORCE) | BIT(OPT_IFDUE) | BIT(OPT_DRYRUN) | BIT(OPT_PASSWORD),
     agent_renew,
     "renew takes --dir DIR or --config FILE [--name NAME], and --force, --if-due or "
     "--dry-run (the rest is in account.json)"},
    {"run", SCHEDULE_OPTS, agent_run, "run takes --config FILE [--name NAME] or --dir DIR"},
    {"status", SCHEDULE_OPTS | BIT(OPT_JSON), agent_status,
     "status takes --config FILE [--name NAME] or --dir DIR, and --json"},
};

static char trust_tmp[64]; /* a trust anchor fetched for this run only, removed at exit */

static void trust_tmp_remove(void)
{
	if (trust_tmp[0])
		(void)unlink(trust_tmp);
}

/* --ca-fingerprint: the root of that fingerprint fetched from --server and written where the
 * command keeps its trust anchor (enrol: DIR/ca.pem, named in account.json; login: beside the
 * session file; others: a file for this run), then used as --ca. */
static int trust_by_fingerprint(const char *cmd, struct agent_opts *o, uint64_t *seen)
{
	static char path[PATH_MAX];
	int fd;

	if (*seen & BIT(OPT_CA))
		return usage("--ca and --ca-fingerprint exclude each other");
	if (!o->server)
		return usage("--ca-fingerprint needs --server");
	if (strcmp(cmd, "enrol") == 0 && o->dir && !o->name) {
		if (mkdir(o->dir, 0700) == 0)
			(void)cf_fsync_parent(o->dir);
		else if (errno != EEXIST)
			return agent_err("cannot create %s: %s", o->dir, strerror(errno)),
			       AGENT_FAIL;
		snprintf(path, sizeof(path), "%s/ca.pem", o->dir);
	} else if (strcmp(cmd, "login") == 0 && o->session_file) {
		snprintf(path, sizeof(path), "%s.ca.pem", o->session_file);
	} else {
		const char *dir = getenv("TMPDIR");
		snprintf(trust_tmp, sizeof(trust_tmp), "%s/certflow-ca-XXXXXX",
			 dir && dir[0] && strlen(dir) < 40 ? dir : "/tmp");
		if ((fd = mkstemp(trust_tmp)) < 0) {
			trust_tmp[0] = '\0';
			return agent_err("cannot make a temporary file: %s", strerror(errno)),
			       AGENT_FAIL;
		}
		close(fd);
		atexit(trust_tmp_remove);
		snprintf(path, sizeof(path), "%s", trust_tmp);
	}
	if ((fd = agent_trust_fingerprint(o->server, o->ca_fingerprint, path)) != AGENT_OK)
		return fd;
	o->ca = path;
	*seen = (*seen & ~BIT(OPT_CAFP)) | BIT(OPT_CA);
	return AGENT_OK;
}

static int run(const char *cmd, struct agent_opts *o, uint64_t seen)
{
	int r;

	if ((seen & BIT(OPT_CAFP)) && (r = trust_by_fingerprint(cmd, o, &seen)) != AGENT_OK)
		return r;

	/* envelope open FILE: the file the mail names, as --in FILE */
	if (o->arg && strcmp(cmd, "envelope open") == 0 && !(seen & BIT(OPT_IN))) {
		o->in_file = o->arg;
		o->arg = NULL;
		seen |= BIT(OPT_IN);
	}
	if (o->arg && strcmp(cmd, "qr-approve") != 0)
		return usage("unexpected argument");
	if (strcmp(cmd, "enrol") == 0 && o->name) {
		if (seen & (BIT(OPT_SERVER) | BIT(OPT_CA) | BIT(OPT_DIR) | BIT(OPT_FORCE)))
			return usage("enrol --name takes server, ca and dir from --config");
		if (!o->reference)
			return usage("enrol needs --reference");
		return agent_enrol_named(o);
	}
	if (strcmp(cmd, "enrol") == 0) {
		if (!o->server || !o->ca || !o->reference || !o->dir)
			return usage("enrol needs --server, --ca, --reference and --dir "
				     "(or --config FILE --name NAME)");
		if (seen & BIT(OPT_FORCE))
			return usage("--force is an option of renew");
		return agent_enrol(o);
	}
	if (o->force && (o->if_due || o->dry_run))
		return usage("--force and --if-due/--dry-run exclude each other");
	for (size_t i = 0; i < sizeof(schedule_cmds) / sizeof(*schedule_cmds); i++) {
		const struct schedule_cmd *sc = &schedule_cmds[i];
		if (strcmp(cmd, sc->name) != 0)
			continue;
		if (seen & ~sc->allow)
			return usage(sc->usage);
		return sc->fn(o);
	}
	if ((r = run_journey(cmd, o, seen)) >= 0)
		return r;
	return usage("unknown command (see --help)");
}

/* The options cmd takes (0: not a command). */
static uint64_t command_options(const char *cmd)
{
	uint64_t opts = 0;

	if (strcmp(cmd, "enrol") == 0)
		return BIT(OPT_SERVER) | BIT(OPT_CA) | BIT(OPT_REF) | BIT(OPT_DIR) | BIT(OPT_CODE) |
		       BIT(OPT_KEYTYPE) | BIT(OPT_PASSWORD) | BIT(OPT_KDFITER) | BIT(OPT_CONFIG) |
		       BIT(OPT_NAME);
	for (size_t i = 0; i < sizeof(schedule_cmds) / sizeof(*schedule_cmds); i++)
		if (strcmp(cmd, schedule_cmds[i].name) == 0)
			opts |= schedule_cmds[i].allow;
	/* "password" shows its sub-commands ("password forgot", ...) too: its help lists them */
	for (size_t i = 0, n = strlen(cmd); i < sizeof(journeys) / sizeof(*journeys); i++)
		if (strncmp(cmd, journeys[i].name, n) == 0 &&
		    (journeys[i].name[n] == '\0' || journeys[i].name[n] == ' '))
			opts |= journeys[i].need | journeys[i].allow;
	return opts;
}

/* --help: the whole text, or after a command the part of it that concerns that command. */
static void help(const char *cmd)
{
	const char *names[64];
	uint64_t opts = cmd ? command_options(cmd) : 0;
	size_t n = 0;

	if (!opts) {
		fputs(help_text, stdout);
		return;
	}
	if (opts & BIT(OPT_CA)) /* every command that takes --ca takes the fingerprint instead */
		opts |= BIT(OPT_CAFP);
	for (const struct option *o = long_opts; o->name && n + 1 < 64; o++)
		if (o->val > 0 && o->val < 64 && (opts & BIT(o->val)))
			names[n++] = o->name;
	names[n] = NULL;
	agent_command_help(help_text, cmd, names);
}

int main(int argc, char **argv)
{
	struct agent_opts o = {.code_file = "-", .key_type = CF_KEY_P256};
	uint64_t seen = 0;
	const char *cmd = NULL;
	int r;

	/* Options before the command are allowed for --help/--version only. */
	if (argc > 1 && argv[1][0] != '-') {
		cmd = argv[1];
		argv++;
		argc--;
		argv[0] = (char *)"certflow-agent"; /* getopt's messages name the program */
	}
	/* "otp setup|confirm": a command of two words */
	if (cmd && strcmp(cmd, "otp") == 0 && argc > 1 && argv[1][0] != '-') {
		cmd = strcmp(argv[1], "setup") == 0	? "otp setup"
		      : strcmp(argv[1], "confirm") == 0 ? "otp confirm"
							: "otp ?";
		argv++;
		argc--;
		argv[0] = (char *)"certflow-agent";
	}
	if (cmd && strcmp(cmd, "portal") == 0 && argc > 1 && argv[1][0] != '-') {
		cmd = strcmp(argv[1], "status") == 0 ? "portal status"
		      : strcmp(argv[1], "otp") == 0  ? "portal otp"
						     : "portal ?";
		argv++;
		argc--;
		argv[0] = (char *)"certflow-agent";
	}
	if (cmd && strcmp(cmd, "password") == 0 && argc > 1 && argv[1][0] != '-') {
		cmd = strcmp(argv[1], "forgot") == 0  ? "password forgot"
		      : strcmp(argv[1], "reset") == 0 ? "password reset"
						      : "password ?";
		argv++;
		argc--;
		argv[0] = (char *)"certflow-agent";
	}
	if (cmd && strcmp(cmd, "envelope") == 0 && argc > 1 && argv[1][0] != '-') {
		cmd = strcmp(argv[1], "open") == 0 ? "envelope open" : "envelope ?";
		argv++;
		argc--;
		argv[0] = (char *)"certflow-agent";
	}
	r = parse(argc, argv, &o, &seen);
	if (r == 2)
		help(cmd);
	if (r != 0)
		return r > 0 ? AGENT_OK : AGENT_USAGE;
	if (!cmd)
		return usage("no command (see --help)");
	if (o.test_clock) /* tests only: "now" is the Unix time in that file */
		cf_clock_set_file(o.test_clock);
	return run(cmd, &o, seen);
}
