"""Real ACME clients against a real certflowd (issue 12, spec/acme.md §8): Debian's certbot and
lego enrol with the external account binding that `certflow-admin enrol create --acme` prints,
get a certificate for the enrolment's names, renew it, revoke it, and are refused a name the
enrolment does not hold.

The clients are Debian packages (tools/deps.sh installs them for tests/run.sh). When one is
missing its tests are skipped with that reason — except under CI (env CI set), where a missing
client fails the test: CI must run them.

Every authorization of the profile is valid when the order is made (pre-authorised names), so no
challenge is ever served: certbot still needs an authenticator (`--manual --manual-auth-hook
/bin/true`, never run) and lego a solver (`--http --http.port` on a free loopback port, never
bound). Both trust certflowd's own root: REQUESTS_CA_BUNDLE for certbot, LEGO_CA_CERTIFICATES
for lego.
"""
import os
import http.client
import re
import shutil
import socket
import time
import unittest
import urllib.parse

from harness import CertflowTestCase, child_env, load_cert, serial_hex

CLIENT_TIMEOUT = 180

SUBJECT = "web-01"  # a device name, not a host name: the names come from --dns
NAMES = ("a.example", "b.example")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def need(tool):
    """Skip (or, under CI, fail) when the Debian package of tool is not installed."""
    if shutil.which(tool):
        return
    msg = (f"{tool} is not installed (Debian package {tool}; tools/deps.sh test installs it)")
    if os.environ.get("CI"):
        raise AssertionError(msg + " — CI must run the ACME client tests")
    raise unittest.SkipTest(msg)


class Binding:
    """What `certflow-admin enrol create --acme` printed."""

    def __init__(self, out):
        kid = re.search(r"^\s*eab-kid:\s*(\S+)\s*$", out, re.M)
        key = re.search(r"^\s*eab-hmac-key:\s*([A-Za-z0-9_-]+)\s*$", out, re.M)
        if not (kid and key):
            raise AssertionError("enrol create --acme printed no eab-kid/eab-hmac-key lines:\n"
                                 + re.sub(r"(activation code|eab-hmac-key):.*", r"\1: <redacted>",
                                          out))
        self.kid, self.hmac = kid.group(1), key.group(1)


class AcmeClientCase(CertflowTestCase):
    TOOL = None

    def setUp(self):
        need(self.TOOL)
        super().setUp()
        self.srv = self.start_server()
        self.acme_dir = self.srv.url + "/acme/directory"

    def binding(self, subject=SUBJECT, names=NAMES):
        r = self.admin_ok(self.srv, "enrol", "create", "--subject", subject,
                          *[a for n in names for a in ("--dns", n)], "--acme")
        b = Binding(r.out)
        self.assertRegex(b.kid, r"^\d{4}-?\d{4}-?\d{4}$", "eab-kid is the reference number")
        self.assertGreaterEqual(len(b.hmac), 43, "eab-hmac-key: base64url of at least 32 octets")
        return b

    def credentials(self, subject=SUBJECT):
        doc = self.admin_ok(self.srv, "credential", "list", "--subject", subject, json_out=True)
        return doc["credentials"]

    def crl_serials(self):
        _, der = self.srv.crl_der()
        path = os.path.join(self.tmp, "crl.der")
        with open(path, "wb") as f:
            f.write(der)
        r = self.openssl("crl", "-inform", "DER", "-in", path, "-noout", "-text")
        self.assertEqual(r.rc, 0, repr(r))
        return {s.lower() for s in re.findall(r"Serial Number:\s*([0-9A-Fa-f]+)", r.out)}

    def assert_issued(self, cert_pem, chain_pem, names=NAMES):
        """openssl verify -CAfile root -untrusted chain cert at the server's time, and the names
        of the enrolment in subjectAltName; returns the serial (protocol form)."""
        r = self.openssl("verify", "-attime", str(self.srv.clock.now), "-CAfile", self.srv.ca_file,
                         "-untrusted", chain_pem, cert_pem)
        self.assertEqual(r.rc, 0, f"openssl verify failed: {r!r}")
        self.assertIn(": OK", r.out)
        from cryptography import x509
        cert = load_cert(cert_pem)
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        self.assertEqual(sorted(san.get_values_for_type(x509.DNSName)), sorted(names))
        return serial_hex(cert.serial_number)

    def assert_one_credential(self, serials):
        """One credential of the subject, active, whose certificates are serials."""
        creds = self.credentials()
        self.assertEqual(len(creds), 1, f"one credential for {SUBJECT}: {creds}")
        self.assertEqual(creds[0]["status"], "active")
        self.assertEqual(sorted(creds[0]["certificates"]), sorted(serials))
        return creds[0]


class KeepAliveTest(CertflowTestCase):
    """certbot (python3-acme 2.1, acme/client.py finalize_order) sends finalize, sleeps exactly
    1 s, then polls the order on the same keep-alive connection; it does not retry a POST whose
    connection the server closed meanwhile ("SSLEOFError: EOF occurred in violation of
    protocol"). A server must keep an idle connection open clearly longer than that second."""

    def test_keep_alive_connection_idle_for_two_seconds_is_still_served(self):
        srv = self.start_server()
        u = urllib.parse.urlsplit(srv.url)
        conn = http.client.HTTPSConnection(u.hostname, u.port, context=srv.ssl_context(), timeout=10)
        self.addCleanup(conn.close)
        for i in range(2):
            if i:
                time.sleep(2.0)  # certbot's poll interval (1 s) with a margin
            conn.request("HEAD", "/acme/new-nonce")
            try:
                r = conn.getresponse()
            except (ConnectionError, http.client.RemoteDisconnected, OSError) as e:
                self.fail(f"the server closed a keep-alive connection idle for 2 s: {e!r}")
            r.read()
            self.assertEqual(r.status, 200)
            self.assertFalse(r.will_close, "the server keeps the connection alive")


class CertbotTest(AcmeClientCase):
    TOOL = "certbot"

    def certbot(self, *args, home="cb"):
        base = os.path.join(self.tmp, home)
        env = child_env(extra={"REQUESTS_CA_BUNDLE": self.srv.ca_file})
        return self.run_prog(["certbot", *args, "--non-interactive",
                              "--config-dir", os.path.join(base, "config"),
                              "--work-dir", os.path.join(base, "work"),
                              "--logs-dir", os.path.join(base, "logs")],
                             timeout=CLIENT_TIMEOUT, env=env)

    def certonly(self, b, names=NAMES, home="cb"):
        return self.certbot("certonly", "--server", self.acme_dir, "--eab-kid", b.kid,
                            "--eab-hmac-key", b.hmac, "--agree-tos",
                            "--register-unsafely-without-email",
                            # every authorization is valid already: the hook is never run
                            "--manual", "--manual-auth-hook", "/bin/true",
                            "--preferred-challenges", "http",
                            *[a for n in names for a in ("-d", n)], home=home)

    def live(self, name, home="cb"):
        d = os.path.join(self.tmp, home, "config", "live", name)
        return os.path.join(d, "cert.pem"), os.path.join(d, "chain.pem")

    def log(self, home="cb"):
        """certbot's log, or "" when it stopped before writing one (a usage error)."""
        path = os.path.join(self.tmp, home, "logs", "letsencrypt.log")
        if not os.path.exists(path):
            return ""
        with open(path, errors="replace") as f:
            return f.read()

    def problems(self, home="cb"):
        """The ACME problems that certbot's log tells of, one a line."""
        return "\n".join(sorted({l for l in self.log(home).splitlines() if ":acme:error:" in l}))

    def obtained(self):
        b = self.binding()
        r = self.certonly(b)
        self.assertEqual(r.rc, 0, f"certbot certonly failed: {r!r}")
        cert, chain = self.live(NAMES[0])
        return b, cert, chain, self.assert_issued(cert, chain)

    def test_certbot_certonly_with_the_binding_gets_a_certificate_of_the_enrolment_names(self):
        _, cert, chain, serial = self.obtained()
        self.assert_one_credential([serial])
        self.assertNotIn(serial, self.crl_serials())

    def test_certbot_renew_force_renewal_gives_a_new_certificate_of_the_same_credential(self):
        _, cert, chain, first = self.obtained()
        cred = self.assert_one_credential([first])
        # certbot renews the names of the certificate it holds: its commonName and its dNSNames
        # without a terminal certbot renew sleeps up to 8 minutes first (a timer's habit)
        r = self.certbot("renew", "--force-renewal", "--cert-name", NAMES[0],
                         "--no-random-sleep-on-renew")
        self.assertEqual(r.rc, 0, f"certbot renew failed: {r!r}\n{self.problems()}")
        second = self.assert_issued(cert, chain)
        self.assertNotEqual(second, first, "certbot renew --force-renewal gave a new certificate")
        self.assertEqual(self.assert_one_credential([first, second])["id"], cred["id"])

    def test_certbot_revoke_puts_the_serial_in_the_crl(self):
        _, cert, chain, serial = self.obtained()
        r = self.certbot("revoke", "--server", self.acme_dir, "--cert-path", cert,
                         "--reason", "keycompromise", "--no-delete-after-revoke")
        self.assertEqual(r.rc, 0, f"certbot revoke failed: {r!r}")
        self.assertIn(serial, self.crl_serials())
        self.assertEqual(self.credentials()[0]["status"], "revoked")

    def test_certflow_admin_suspend_and_revoke_of_a_certbot_certificate_show_in_the_crl(self):
        _, cert, chain, serial = self.obtained()
        self.admin_ok(self.srv, "suspend", serial)
        self.assertIn(serial, self.crl_serials())
        self.assertEqual(self.credentials()[0]["status"], "suspended")
        self.admin_ok(self.srv, "reinstate", serial)
        self.assertNotIn(serial, self.crl_serials())
        self.admin_ok(self.srv, "revoke", serial, "--reason", "keyCompromise")
        self.assertIn(serial, self.crl_serials())
        self.assertEqual(self.credentials()[0]["status"], "revoked")

    def test_certbot_refused_identifier_fails_with_the_problem_in_its_output(self):
        b = self.binding()
        r = self.certonly(b, names=("other.example",))
        self.assertNotEqual(r.rc, 0, f"certbot got a certificate for a name outside the enrolment: {r!r}")
        self.assertFalse(os.path.exists(self.live("other.example")[0]))
        # certbot 2.1 on Python 3.11 (Debian 12) prints "AttributeError: can't set attribute"
        # instead of the server's problem when an ACME error leaves its display context (josepy's
        # immutable Error); the problem is in its log. Newer certbots print it on stderr.
        said = r.out + r.err + self.log()
        self.assertIn("urn:ietf:params:acme:error:rejectedIdentifier", said)
        self.assertIn("other.example", said)
        self.assertEqual([c["certificates"] for c in self.credentials()], [[]], "nothing issued")


class LegoTest(AcmeClientCase):
    TOOL = "lego"

    def lego(self, b, names, *command):
        # lego 4.9 wants --eab --kid --hmac on every command (it checks the directory's
        # externalAccountRequired before it loads its saved account), and --http although no
        # challenge is solved: the port is free and never bound.
        env = child_env(extra={"LEGO_CA_CERTIFICATES": self.srv.ca_file})
        return self.run_prog(["lego", "--server", self.acme_dir, "--eab", "--kid", b.kid,
                              "--hmac", b.hmac, "--email", "device@example.org", "--accept-tos",
                              *[a for n in names for a in ("--domains", n)],
                              "--path", os.path.join(self.tmp, "lego"),
                              "--http", "--http.port", f"127.0.0.1:{free_port()}", *command],
                             timeout=CLIENT_TIMEOUT, env=env)

    def files(self, name=NAMES[0]):
        d = os.path.join(self.tmp, "lego", "certificates")
        return os.path.join(d, name + ".crt"), os.path.join(d, name + ".issuer.crt")

    def obtained(self):
        b = self.binding()
        r = self.lego(b, NAMES, "run")
        self.assertEqual(r.rc, 0, f"lego run failed: {r!r}")
        cert, issuer = self.files()
        # lego's .crt is the bundle (leaf, issuing CA, root); .issuer.crt the rest of the chain
        return b, cert, issuer, self.assert_issued(cert, issuer)

    def test_lego_run_with_the_binding_gets_a_certificate_of_the_enrolment_names(self):
        _, cert, issuer, serial = self.obtained()
        self.assert_one_credential([serial])

    def test_lego_renew_gives_a_new_certificate_of_the_same_credential(self):
        b, cert, issuer, first = self.obtained()
        cred = self.assert_one_credential([first])
        # lego 4.9 has no --force and no ARI (renewalInfo came in lego 4.18): --days longer than
        # the certificate's life makes it renew now. It renews the certificate's own names
        # (commonName and dNSNames).
        r = self.lego(b, NAMES, "renew", "--days", "10000", "--no-random-sleep")
        self.assertEqual(r.rc, 0, f"lego renew failed: {r!r}")
        second = self.assert_issued(cert, issuer)
        self.assertNotEqual(second, first, "lego renew gave a new certificate")
        self.assertEqual(self.assert_one_credential([first, second])["id"], cred["id"])

    def test_lego_revoke_puts_the_serial_in_the_crl(self):
        b, cert, issuer, serial = self.obtained()
        # lego revoke revokes the file of each --domains: name only the one it saved
        r = self.lego(b, NAMES[:1], "revoke", "--reason", "1", "--keep")
        self.assertEqual(r.rc, 0, f"lego revoke failed: {r!r}")
        self.assertIn(serial, self.crl_serials())
        self.assertEqual(self.credentials()[0]["status"], "revoked")

    def test_lego_refused_identifier_fails_with_the_problem_in_its_output(self):
        b = self.binding()
        r = self.lego(b, ("other.example",), "run")
        self.assertNotEqual(r.rc, 0, f"lego got a certificate for a name outside the enrolment: {r!r}")
        self.assertIn("urn:ietf:params:acme:error:rejectedIdentifier", r.out + r.err)
        self.assertIn("other.example", r.out + r.err)
        self.assertFalse(os.path.exists(self.files("other.example")[0]))
        self.assertEqual([c["certificates"] for c in self.credentials()], [[]], "nothing issued")


if __name__ == "__main__":
    unittest.main()
