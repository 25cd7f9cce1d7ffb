"""--ca-fingerprint (issue 10 item 6): trust without a file. The agent fetches the server's CA
chain over an unverified connection, keeps the root only when its SHA-256 is the fingerprint given
out of band, and verifies the server against it from then on."""
import hashlib
import json
import os
import ssl
import unittest

from harness import CertflowTestCase, child_env, program, run


def fingerprint(pem_path):
    with open(pem_path) as f:
        der = ssl.PEM_cert_to_DER_cert(f.read())
    return "sha256:" + hashlib.sha256(der).hexdigest()


class TrustByFingerprint(CertflowTestCase):
    def enrol(self, srv, e, d, *trust):
        return self.run_prog(self.agent_argv("enrol", "--server", srv.url, *trust, "--reference",
                                             e.reference, "--dir", d, "--code-file", "-"),
                             input=e.code + "\n", timeout=self.AGENT_TIMEOUT,
                             env=child_env(srv.clock.now))

    def test_enrol_with_the_root_fingerprint_pins_the_root_and_renews_with_it(self):
        srv = self.start_server()
        fp = fingerprint(srv.ca_file)
        e = self.enrol_create(srv, "fp-device")
        d = os.path.join(self.tmp, "agent")
        r = self.enrol(srv, e, d, "--ca-fingerprint", fp.upper().replace("SHA256:", "sha256:"))
        self.assertEqual(r.rc, 0, f"{r!r}")
        pinned = os.path.join(d, "ca.pem")
        self.assertEqual(fingerprint(pinned), fp)
        with open(os.path.join(d, "account.json")) as f:
            self.assertEqual(json.load(f)["ca"], os.path.realpath(pinned))
        r = self.agent_renew(srv, d, force=True)
        self.assertIn(r.rc, (0, 3), f"renew with the pinned root: {r!r}")
        r = self.openssl("verify", "-attime", str(srv.clock.now), "-CAfile", pinned, "-untrusted",
                         os.path.join(d, "chain.pem"), os.path.join(d, "cert.pem"))
        self.assertEqual(r.rc, 0, f"{r!r}")

    def test_a_fingerprint_of_another_root_is_refused_and_nothing_is_sent(self):
        srv = self.start_server()
        e = self.enrol_create(srv, "fp-wrong")
        d = os.path.join(self.tmp, "agent")
        other = "sha256:" + "ab" * 32
        r = self.enrol(srv, e, d, "--ca-fingerprint", other)
        self.assertEqual(r.rc, 1, f"{r!r}")
        self.assertIn("does not hold the CA", r.err)
        self.assertEqual(len(r.err.strip().splitlines()), 1, r.err)
        self.assertFalse(os.path.exists(os.path.join(d, "ca.pem")))
        self.assertFalse(os.path.exists(os.path.join(d, "cert.pem")))
        # the code was never sent: it still activates
        r = self.enrol(srv, e, d, "--ca", srv.ca_file)
        self.assertEqual(r.rc, 0, f"{r!r}")

    def test_a_malformed_fingerprint_or_both_trust_options_are_usage_errors(self):
        srv = self.start_server()
        e = self.enrol_create(srv, "fp-usage")
        d = os.path.join(self.tmp, "agent")
        fp = fingerprint(srv.ca_file)
        for trust in (["--ca-fingerprint", "sha1:" + "ab" * 20],
                      ["--ca-fingerprint", fp[:-2]],
                      ["--ca-fingerprint", fp, "--ca", srv.ca_file]):
            with self.subTest(trust):
                r = self.enrol(srv, e, d, *trust)
                self.assertEqual(r.rc, 2, f"{r!r}")

    def test_a_journey_with_a_fingerprint_leaves_no_temporary_trust_file(self):
        srv = self.start_server()
        tmpdir = os.path.join(self.tmp, "tmpdir")
        os.mkdir(tmpdir)
        env = child_env(srv.clock.now)
        env["TMPDIR"] = tmpdir
        r = run([program("certflow-agent"), "password", "forgot", "--server", srv.url,
                 "--ca-fingerprint", fingerprint(srv.ca_file), "--email", "nobody@example.com"],
                env=env, timeout=self.AGENT_TIMEOUT)
        self.assertEqual(r.rc, 0, f"{r!r}")
        self.assertIn("status: sent", r.out)
        self.assertEqual(os.listdir(tmpdir), [])


if __name__ == "__main__":
    unittest.main()
