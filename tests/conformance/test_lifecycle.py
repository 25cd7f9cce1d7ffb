"""Renewal, revocation, suspension, CRL, admin reads (spec/protocol.md §10–§12)."""
import datetime
import os
import time

from cryptography import x509
from cryptography.x509.oid import ExtensionOID

import cfbase
import cfclient
from cfbase import CONFIG, ConformanceTest, Key, make_csr, parse_time, pem_certs, utcnow


class TestRenewal(ConformanceTest):
    def activated_in_window(self):
        """A new activation, the server's clock a day before its certificate expires (restored
        after the test)."""
        clock = CONFIG.get("clock_file")
        if not clock:
            self.skipTest("needs --clock-file (a server started with --test-clock FILE)")
        a = self.activate()
        na = a.cert.not_valid_after.replace(tzinfo=datetime.timezone.utc)
        with open(clock) as f:
            saved = f.read()
        self.addCleanup(_write_clock, clock, saved)
        _write_clock(clock, str(int((na - datetime.timedelta(days=1)).timestamp())))
        return a

    def test_renewal_before_the_window_is_refused_with_retry_after(self):
        a = self.activate()
        r = self.client.renew(a.key, a.kid, a.credential["id"], make_csr(Key.generate()))
        doc = self.expect(r, 403, problem="notInRenewalWindow")
        self.assertIn("retryAfter", doc)
        ra = r.header("retry-after") or ""
        self.assertRegex(ra, r"^[0-9]+$", "Retry-After header in seconds")
        opens = parse_time(doc["retryAfter"])
        self.assertAlmostEqual((opens - utcnow()).total_seconds(), int(ra), delta=300)
        nb = a.cert.not_valid_before.replace(tzinfo=datetime.timezone.utc)
        na = a.cert.not_valid_after.replace(tzinfo=datetime.timezone.utc)
        rule = self.dir["meta"]["profiles"][a.credential["profile"]]["renewal"]
        expect = na - (na - nb) / 3 if rule == "last-third" else na - datetime.timedelta(days=int(rule.split("-")[0]))
        self.assertAlmostEqual((opens - expect).total_seconds(), 0, delta=120)

    def test_renewal_of_another_accounts_credential_is_unauthorized(self):
        a, b = self.activate(), self.activate()
        r = self.client.renew(a.key, a.kid, b.credential["id"], make_csr(Key.generate()))
        self.expect(r, 403, problem="unauthorized")

    def test_renewal_inside_the_window_issues_a_new_certificate(self):
        a = self.activated_in_window()
        self.client.nonce = None  # nonces may have expired with the jump
        new = Key.generate()
        r = self.client.renew(a.key, a.kid, a.credential["id"], make_csr(new))
        body = self.expect(r, 200, "activate-response")
        self.assertEqual(body["account"], a.kid)
        self.assertEqual(body["credential"]["certificates"], [a.serial, body["certificate"]["serial"]])
        cert = x509.load_pem_x509_certificate(body["certificate"]["pem"].encode())
        self.assertEqual(cert.subject, a.cert.subject)

    def test_concurrent_renewals_with_one_new_key_all_get_the_same_certificate(self):
        # A client that times out and asks again while its first request still runs (§10):
        # every request is answered with the one certificate issued, never `conflict`.
        a = self.activated_in_window()
        csr = make_csr(Key.generate())
        n = 8
        answers = self.concurrently(n, lambda c: c.renew(a.key, a.kid, a.credential["id"], csr))
        serials = set()
        for r in answers:
            body = self.expect(r, 200, "activate-response")
            serials.add(body["certificate"]["serial"])
            self.assertEqual(body["credential"]["certificates"][-1], body["certificate"]["serial"])
        self.assertEqual(len(serials), 1, f"{n} renewals with one key issued {serials}")
        (serial,) = serials
        self.assertNotEqual(serial, a.serial)
        self.client.nonce = None  # taken before the clock jump
        r = self.client.admin("credential-show", {"id": a.credential["id"]})
        shown = self.expect(r, 200, "admin-credential-show-response")
        self.assertEqual([c["serial"] for c in shown["certificates"]], [a.serial, serial])

    def test_renewal_with_the_current_key_repeats_the_current_certificate(self):
        # A client whose renewal answer was lost asks again with the same key (§10): before the
        # window, nothing new is issued and the current certificate comes back.
        a = self.activate()
        r = self.client.renew(a.key, a.kid, a.credential["id"], make_csr(a.leaf_key))
        body = self.expect(r, 200, "activate-response")
        self.assertEqual(body["certificate"]["serial"], a.serial)
        self.assertEqual(body["credential"]["certificates"], [a.serial])
        r = self.client.renew(a.key, a.kid, a.credential["id"], make_csr(Key.generate()))
        self.expect(r, 403, problem="notInRenewalWindow")


def _write_clock(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)
    time.sleep(1.1)  # a server that polls the file's mtime sees the change


class TestRevocation(ConformanceTest):
    def crl_entry(self, serial_hex):
        _, crl = self.fetch_crl()
        return crl.get_revoked_certificate_by_serial_number(int(serial_hex, 16))

    def test_crl_is_signed_by_the_issuing_ca_and_verifies_with_openssl(self):
        der, crl = self.fetch_crl()
        chain = self.fetch_chain()
        issuing = pem_certs(chain)[0]
        d = self.tmpdir()
        crl_path = self.write(d, "crl.der", der)
        ca_path = self.write(d, "chain.pem", chain)
        rc, out = self.run_openssl("crl", "-inform", "DER", "-in", crl_path, "-CAfile", ca_path, "-noout", "-verify")
        self.assertEqual(rc, 0, out)
        self.assertIn("verify OK", out)
        self.assertEqual(crl.issuer, issuing.subject)
        now = utcnow()
        this = crl.last_update.replace(tzinfo=datetime.timezone.utc)
        nxt = crl.next_update.replace(tzinfo=datetime.timezone.utc)
        self.assertLess(abs((this - now).total_seconds()), 600, "thisUpdate is now")
        self.assertAlmostEqual((nxt - this).total_seconds(), 7 * 86400, delta=120)
        crl.extensions.get_extension_for_oid(ExtensionOID.CRL_NUMBER)
        aki = crl.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
        ski = issuing.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
        self.assertEqual(aki, ski)

    def test_admin_revoke_shows_in_the_crl_with_its_reason(self):
        a = self.activate()
        doc = self.admin("revoke", {"serial": a.serial, "reason": 1})
        self.assertEqual((doc["serial"], doc["status"], doc["reason"]), (a.serial, "revoked", 1))
        entry = self.crl_entry(a.serial)
        self.assertIsNotNone(entry, "revoked serial is in the CRL")
        reason = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
        self.assertEqual(reason, x509.ReasonFlags.key_compromise)
        self.assertEqual(self.admin("certificate-show", {"serial": a.serial})["status"], "revoked")
        cred = self.expect(self.client.post(a.credential["url"], a.key, None, kid=a.kid), 200, "credential")
        self.assertEqual(cred["status"], "revoked")
        r = self.client.renew(a.key, a.kid, a.credential["id"], make_csr(Key.generate()))
        self.expect(r, 403, problem="credentialRevoked")
        ri = self.expect(self.client.get(a.body["certificate"]["renewalInfo"]), 200, "renewal-info")
        w = ri["suggestedWindow"]
        self.assertEqual((w["start"], w["end"]), (doc["revokedAt"], doc["revokedAt"]))
        self.admin("revoke", {"serial": a.serial, "reason": 1}, 400, "alreadyRevoked")
        self.admin("suspend", {"serial": a.serial}, 400, "alreadyRevoked")

    def test_revocation_with_reason_unspecified_has_no_reason_code_in_the_crl(self):
        a = self.activate()
        self.assertEqual(self.admin("revoke", {"serial": a.serial, "reason": 0})["reason"], 0)
        entry = self.crl_entry(a.serial)
        self.assertIsNotNone(entry)
        with self.assertRaises(x509.ExtensionNotFound):
            entry.extensions.get_extension_for_class(x509.CRLReason)

    def test_suspend_puts_certificate_on_hold_and_reinstate_removes_it(self):
        a = self.activate()
        doc = self.admin("suspend", {"serial": a.serial})
        self.assertEqual((doc["status"], doc["reason"]), ("suspended", 6))
        entry = self.crl_entry(a.serial)
        self.assertIsNotNone(entry, "suspended serial is in the CRL")
        self.assertEqual(entry.extensions.get_extension_for_class(x509.CRLReason).value.reason,
                         x509.ReasonFlags.certificate_hold)
        cred = self.expect(self.client.post(a.credential["url"], a.key, None, kid=a.kid), 200, "credential")
        self.assertEqual(cred["status"], "suspended")
        r = self.client.renew(a.key, a.kid, a.credential["id"], make_csr(Key.generate()))
        self.expect(r, 403, problem="credentialSuspended")
        self.admin("suspend", {"serial": a.serial}, 400, "alreadyRevoked")
        doc = self.admin("reinstate", {"serial": a.serial})
        self.assertEqual(doc["status"], "valid")
        self.assertNotIn("reason", doc)
        self.assertIsNone(self.crl_entry(a.serial), "reinstated serial left the CRL")
        cred = self.expect(self.client.post(a.credential["url"], a.key, None, kid=a.kid), 200, "credential")
        self.assertEqual(cred["status"], "active")
        self.admin("reinstate", {"serial": a.serial}, 409, "conflict")

    def test_revoke_refuses_reasons_6_7_8_and_out_of_range(self):
        a = self.activate()
        for reason in (6, 7, 8, 11, -1):
            with self.subTest(reason=reason):
                self.admin("revoke", {"serial": a.serial, "reason": reason}, 400, "badRevocationReason")
        self.assertEqual(self.admin("certificate-show", {"serial": a.serial})["status"], "valid")
        self.assertIsNone(self.crl_entry(a.serial))

    def test_admin_operations_on_unknown_objects_are_not_found(self):
        unknown = "7f" + cfclient.random_suffix() * 2
        for op, payload in (("certificate-show", {"serial": unknown}), ("revoke", {"serial": unknown, "reason": 1}),
                            ("suspend", {"serial": unknown}), ("reinstate", {"serial": unknown}),
                            ("credential-show", {"id": "x" + cfclient.random_suffix()})):
            with self.subTest(op=op):
                self.admin(op, payload, 404, "notFound")

    def test_admin_reads_show_credentials_and_certificates(self):
        a = self.activate()
        doc = self.admin("credential-show", {"id": a.credential["id"]})
        self.assertEqual([c["serial"] for c in doc["certificates"]], [a.serial])
        self.assertEqual(doc["certificates"][0], self.admin("certificate-show", {"serial": a.serial}))
        self.assertEqual(doc["certificates"][0]["pem"], a.body["certificate"]["pem"])
        ids = [c["id"] for c in self.admin_all("credential-list", "credentials")]
        self.assertIn(a.credential["id"], ids)
        refs = [e["reference"] for e in self.admin_all("enrolment-list", "enrolments")]
        self.assertIn(a.enrolment["reference"], refs)
