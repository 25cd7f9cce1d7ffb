"""Revocation, suspension and the CRL; the admin CLI's error behaviour."""

import os
import re
import secrets
import unittest

from cryptography import x509

from harness import DAY, CertflowTestCase, load_cert, ts


def serials_in_openssl_crl_text(text):
    return {int(m, 16) for m in re.findall(r"Serial Number:\s*([0-9A-Fa-f]+)", text)}


class Crl(CertflowTestCase):
    def fetch_crl(self, srv):
        headers, der = srv.crl_der()
        ctype = {k.lower(): v for k, v in headers.items()}.get("content-type", "")
        self.assertTrue(ctype.startswith("application/pkix-crl"), ctype)
        path = os.path.join(self.tmp, "crl.der")
        with open(path, "wb") as f:
            f.write(der)
        return path, x509.load_der_x509_crl(der)

    def openssl_crl(self, srv, agent_dir, path):
        r = self.openssl("crl", "-inform", "DER", "-in", path, "-CAfile",
                         os.path.join(agent_dir, "chain.pem"), "-verify", "-noout", "-text")
        self.assertEqual(r.rc, 0, f"{r!r}")
        self.assertIn("verify OK", r.err + r.out)
        return r.out

    def check_crl_basics(self, srv, crl):
        issuing = load_cert(os.path.join(srv.data, "ca", "issuing.pem"))
        self.assertEqual(crl.issuer, issuing.subject)
        self.assertTrue(crl.is_signature_valid(issuing.public_key()))
        self.assertAlmostEqual(ts(crl.last_update), srv.clock.now, delta=60)
        self.assertEqual(ts(crl.next_update) - ts(crl.last_update), 7 * DAY)
        crl.extensions.get_extension_for_class(x509.CRLNumber)
        aki = crl.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
        ski = issuing.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        self.assertEqual(aki.key_identifier, ski.digest)

    def test_revoked_certificate_is_in_crl_with_reason(self):
        srv = self.start_server()
        d = self.enrolled_agent(srv)
        keep = self.enrolled_agent(srv, subject="innocent", name="keep")
        serial = self.cert_serial(d)
        path, crl = self.fetch_crl(srv)
        self.assertEqual(len(crl), 0, "a fresh CRL lists nothing")
        n0 = crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number

        shown = self.admin_ok(srv, "revoke", serial, "--reason", "keyCompromise", json_out=True)
        self.assertEqual(shown.get("status"), "revoked")
        self.assertEqual(self.admin_ok(srv, "cert", "show", serial, json_out=True)["status"],
                         "revoked")

        srv.clock.advance(seconds=120)
        path, crl = self.fetch_crl(srv)
        self.check_crl_basics(srv, crl)
        text = self.openssl_crl(srv, d, path)
        self.assertIn(int(serial, 16), serials_in_openssl_crl_text(text))
        self.assertIn("Key Compromise", text)
        entry = crl.get_revoked_certificate_by_serial_number(int(serial, 16))
        self.assertIsNotNone(entry)
        reason = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
        self.assertEqual(reason, x509.ReasonFlags.key_compromise)
        self.assertLessEqual(ts(entry.revocation_date), srv.clock.now)
        self.assertIsNone(crl.get_revoked_certificate_by_serial_number(
            int(self.cert_serial(keep), 16)), "only the revoked certificate is listed")
        n1 = crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
        self.assertGreater(n1, n0, "the CRL number grows")

        # Revoking again is an error of one line and changes nothing.
        r = self.admin(srv, "revoke", serial, "--reason", "superseded")
        self.assertEqual(r.rc, 1, f"{r!r}")
        self.assert_one_line_error(r)

    def test_suspended_certificate_is_on_hold_in_crl_and_reinstate_removes_it(self):
        srv = self.start_server()
        d = self.enrolled_agent(srv)
        serial = self.cert_serial(d)
        shown = self.admin_ok(srv, "suspend", serial, json_out=True)
        self.assertEqual((shown.get("status"), shown.get("reason")), ("suspended", 6))
        self.assertEqual(self.admin_ok(srv, "cert", "show", serial, json_out=True)["status"],
                         "suspended")
        path, crl = self.fetch_crl(srv)
        self.check_crl_basics(srv, crl)
        text = self.openssl_crl(srv, d, path)
        self.assertIn(int(serial, 16), serials_in_openssl_crl_text(text))
        self.assertIn("Certificate Hold", text)
        entry = crl.get_revoked_certificate_by_serial_number(int(serial, 16))
        reason = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
        self.assertEqual(reason, x509.ReasonFlags.certificate_hold)

        shown = self.admin_ok(srv, "reinstate", serial, json_out=True)
        self.assertEqual(shown.get("status"), "valid")
        path, crl = self.fetch_crl(srv)
        self.assertIsNone(crl.get_revoked_certificate_by_serial_number(int(serial, 16)))
        text = self.openssl_crl(srv, d, path)
        self.assertNotIn(int(serial, 16), serials_in_openssl_crl_text(text))
        self.assertEqual(self.admin_ok(srv, "cert", "show", serial, json_out=True)["status"],
                         "valid")

    def test_revoke_reasons_by_name_and_number(self):
        srv = self.start_server()
        expected = {}
        for i, (arg, flag) in enumerate((("1", x509.ReasonFlags.key_compromise),
                                         ("affiliationChanged",
                                          x509.ReasonFlags.affiliation_changed),
                                         ("4", x509.ReasonFlags.superseded),
                                         ("cessationOfOperation",
                                          x509.ReasonFlags.cessation_of_operation))):
            d = self.enrolled_agent(srv, subject=f"r{i}", dns=(), name=f"r{i}")
            serial = self.cert_serial(d)
            self.admin_ok(srv, "revoke", serial, "--reason", arg)
            expected[int(serial, 16)] = flag
        _, crl = self.fetch_crl(srv)
        got = {e.serial_number: e.extensions.get_extension_for_class(x509.CRLReason).value.reason
               for e in crl}
        self.assertEqual(got, expected)


class AdminErrors(CertflowTestCase):
    def test_admin_errors_are_one_line_nonzero(self):
        srv = self.start_server()
        d = self.enrolled_agent(srv)
        serial = self.cert_serial(d)

        unknown = "7" + secrets.token_hex(9)
        for args in (("cert", "show", unknown), ("revoke", unknown), ("suspend", unknown),
                     ("reinstate", unknown), ("credential", "show", "no-such-credential"),
                     ("enrol", "cancel", "999999999999")):
            with self.subTest(args=args):
                r = self.admin(srv, *args)
                self.assertEqual(r.rc, 1, f"{r!r}")
                self.assert_one_line_error(r)

        # Bad reasons: a name that does not exist (refused by the CLI or the server) and
        # numbers that RFC 5280 does not allow here (7 is unused, 6 is suspend's job).
        for reason in ("bogus", "7", "6", "11"):
            with self.subTest(reason=reason):
                r = self.admin(srv, "revoke", serial, "--reason", reason)
                self.assertIn(r.rc, (1, 2), f"{r!r}")
                self.assert_one_line_error(r)
                self.assertEqual(
                    self.admin_ok(srv, "cert", "show", serial, json_out=True)["status"], "valid",
                    "a refused revocation changed the certificate")

        # Usage errors exit 2.
        for args in ((), ("no-such-command",), ("revoke",), ("enrol", "create")):
            with self.subTest(usage=args):
                r = self.admin(srv, *args)
                self.assertEqual(r.rc, 2, f"{r!r}")
                self.assertTrue(r.err.strip())

        # A server that is down: one line, exit 1.
        self.stop_server(srv)
        r = self.admin(srv, "cert", "show", serial)
        self.assertEqual(r.rc, 1, f"{r!r}")
        self.assert_one_line_error(r)


if __name__ == "__main__":
    unittest.main()
