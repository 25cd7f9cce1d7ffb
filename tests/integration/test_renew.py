"""Renewal: the window the server enforces, and what the agent installs."""

import datetime
import glob
import os
import re
import unittest

from cryptography.hazmat.primitives import serialization

from harness import serial_hex, DAY, CertflowTestCase, file_mode, load_cert, ts


def read(path):
    with open(path, "rb") as f:
        return f.read()


def public_der(key):
    return key.public_bytes(serialization.Encoding.DER,
                            serialization.PublicFormat.SubjectPublicKeyInfo)


def key_of(path):
    return serialization.load_pem_private_key(read(path), password=None)


def dates_around(t, slack_days=1):
    """The calendar dates (YYYY-MM-DD) within slack_days of Unix time t."""
    return {datetime.datetime.fromtimestamp(t + k * DAY, datetime.timezone.utc).strftime("%Y-%m-%d")
            for k in range(-slack_days, slack_days + 1)}


class Renewal(CertflowTestCase):
    def window_start(self, d, profile):
        cert = load_cert(os.path.join(d, "cert.pem"))
        nb, na = ts(cert.not_valid_before), ts(cert.not_valid_after)
        if profile == "device":
            return na - (na - nb) // 3
        return na - 90 * DAY

    def snapshot(self, d):
        return {n: read(os.path.join(d, n)) for n in ("key.pem", "cert.pem", "chain.pem")}

    def assert_refused_not_due(self, srv, d, window, force=False):
        before = self.snapshot(d)
        r = self.agent_renew(srv, d, force=force)
        self.assertEqual(r.rc, 3, f"renewal before the window must exit 3: {r!r}")
        self.assertTrue(dates_around(window) & set(re.findall(r"\d{4}-\d{2}-\d{2}", r.err)),
            f"stderr should say when the window opens ({window}): {r.err!r}")
        self.assertEqual(self.snapshot(d), before, "a refused renewal changed the files")

    def test_renewal_before_window_is_refused_with_exit_3(self):
        srv = self.start_server()
        d = self.enrolled_agent(srv)
        window = self.window_start(d, "device")
        self.assert_refused_not_due(srv, d, window)
        # --force asks the server anyway: the server enforces the window too.
        self.assert_refused_not_due(srv, d, window, force=True)
        srv.clock.set_time(window - DAY)
        self.assert_refused_not_due(srv, d, window)

    def test_renewal_inside_window_installs_new_key_and_cert(self):
        srv = self.start_server()
        d = self.enrolled_agent(srv)
        old = self.snapshot(d)
        old_cert = load_cert(os.path.join(d, "cert.pem"))
        self.assertAlmostEqual(ts(old_cert.not_valid_after) - ts(old_cert.not_valid_before),
                               365 * DAY, delta=120)
        window = self.window_start(d, "device")
        srv.clock.set_time(window + 3600)

        r = self.agent_renew(srv, d)
        self.assertEqual(r.rc, 0, f"{r!r}")
        new_cert = load_cert(os.path.join(d, "cert.pem"))
        self.assertNotEqual(new_cert.serial_number, old_cert.serial_number)
        self.assertNotEqual(read(os.path.join(d, "key.pem")), old["key.pem"])
        new_key = key_of(os.path.join(d, "key.pem"))
        self.assertEqual(public_der(new_cert.public_key()), public_der(new_key.public_key()))
        self.assertNotEqual(public_der(new_cert.public_key()), public_der(old_cert.public_key()))
        self.assertEqual(file_mode(os.path.join(d, "key.pem")), 0o600)
        self.assertEqual(new_cert.subject, old_cert.subject)
        nb = ts(new_cert.not_valid_before)
        self.assertLessEqual(nb, srv.clock.now)
        self.assertGreaterEqual(nb, srv.clock.now - 60)
        self.assert_chain_verifies(srv, d, srv.clock.now)

        # The previous key and certificate are kept beside the new ones.
        prev = {os.path.basename(p): read(p) for p in glob.glob(os.path.join(d, "*.prev"))}
        self.assertIn(old["key.pem"], prev.values(), f"old key not kept: {sorted(prev)}")
        self.assertIn(old["cert.pem"], prev.values(), f"old cert not kept: {sorted(prev)}")
        for name, content in prev.items():
            if content == old["key.pem"]:
                self.assertEqual(file_mode(os.path.join(d, name)), 0o600)

        # The server records the new certificate on the same credential.
        serial = serial_hex(new_cert.serial_number)
        shown = self.admin_ok(srv, "cert", "show", serial, json_out=True)
        self.assertEqual(shown["status"], "valid")
        creds = self.admin_ok(srv, "credential", "list", json_out=True)["credentials"]
        self.assertEqual(len(creds), 1)
        self.assertIn(serial, creds[0]["certificates"])
        self.assertIn(serial_hex(old_cert.serial_number), creds[0]["certificates"])

        # Renewed: the next renewal is not due before the new certificate's window.
        self.assert_refused_not_due(srv, d, self.window_start(d, "device"))

    def test_signing_profile_window_opens_90_days_before_expiry(self):
        srv = self.start_server()
        d = self.enrolled_agent(srv, subject="Ada Lovelace", profile="signing", dns=())
        cert = load_cert(os.path.join(d, "cert.pem"))
        self.assertAlmostEqual(ts(cert.not_valid_after) - ts(cert.not_valid_before),
                               1095 * DAY, delta=120)
        window = self.window_start(d, "signing")
        srv.clock.set_time(window - DAY)
        # Almost three years on: the operator has restarted the server in the meantime (its own
        # TLS certificate is renewed at start-up).
        srv.restart_same_port()
        self.assert_refused_not_due(srv, d, window)
        srv.clock.set_time(window + 3600)
        r = self.agent_renew(srv, d)
        self.assertEqual(r.rc, 0, f"{r!r}")
        new = load_cert(os.path.join(d, "cert.pem"))
        self.assertNotEqual(new.serial_number, cert.serial_number)
        self.assertAlmostEqual(ts(new.not_valid_after) - ts(new.not_valid_before),
                               1095 * DAY, delta=120)
        self.assert_chain_verifies(srv, d, srv.clock.now)

    def test_renewal_during_an_outage_fails_cleanly_and_succeeds_later(self):
        srv = self.start_server()
        d = self.enrolled_agent(srv)
        srv.clock.set_time(self.window_start(d, "device") + 3600)
        before = self.snapshot(d)
        self.stop_server(srv)
        for force in (False, True):
            r = self.agent_renew(srv, d, force=force)
            self.assertEqual(r.rc, 1, f"{r!r}")
            self.assertTrue(r.err.strip().startswith("certflow-agent: "), f"{r!r}")
            self.assertEqual(self.snapshot(d), before, "a failed renewal changed the files")
        srv.listen = srv.url.split("://", 1)[1]
        srv.start()
        r = self.agent_renew(srv, d)
        self.assertEqual(r.rc, 0, f"{r!r}")
        self.assertNotEqual(self.snapshot(d)["cert.pem"], before["cert.pem"])

    def test_expired_certificate_can_still_be_renewed(self):
        srv = self.start_server()
        d = self.enrolled_agent(srv)
        old = load_cert(os.path.join(d, "cert.pem"))
        srv.clock.set_time(ts(old.not_valid_after) + 10 * DAY)
        srv.restart_same_port()  # a year on; the server's own TLS certificate is renewed
        r = self.agent_renew(srv, d)
        self.assertEqual(r.rc, 0, f"{r!r}")
        new = load_cert(os.path.join(d, "cert.pem"))
        self.assertGreater(ts(new.not_valid_after), srv.clock.now + 300 * DAY)
        self.assert_chain_verifies(srv, d, srv.clock.now)

    def test_renewal_of_revoked_credential_is_refused(self):
        srv = self.start_server()
        d = self.enrolled_agent(srv)
        self.admin_ok(srv, "revoke", self.cert_serial(d), "--reason", "keyCompromise")
        srv.clock.set_time(self.window_start(d, "device") + 3600)
        before = self.snapshot(d)
        for force in (False, True):
            r = self.agent_renew(srv, d, force=force)
            self.assertEqual(r.rc, 1, f"{r!r}")
            self.assertIn("revoked", r.err.lower())
            self.assertEqual(self.snapshot(d), before)

    def test_renewal_of_suspended_credential_is_refused_until_reinstated(self):
        srv = self.start_server()
        d = self.enrolled_agent(srv)
        serial = self.cert_serial(d)
        self.admin_ok(srv, "suspend", serial)
        srv.clock.set_time(self.window_start(d, "device") + 3600)
        r = self.agent_renew(srv, d, force=True)
        self.assertEqual(r.rc, 1, f"{r!r}")
        self.assertIn("suspended", r.err.lower())
        self.admin_ok(srv, "reinstate", serial)
        r = self.agent_renew(srv, d)
        self.assertEqual(r.rc, 0, f"{r!r}")


if __name__ == "__main__":
    unittest.main()
