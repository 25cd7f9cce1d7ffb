"""Renewal of a remote credential (spec/protocol.md §26.1-§26.3, §26.6), black box: refused
before the window with the date it opens; inside it (the server's test clock) the entitlement
(a coupon of admin/coupon-issue: absent, bad, cancelled), then PIN + OTP → a new key pair and
certificate (openssl verify, new serial, new public key), the coupon used, a new envelope (new
PUK, envelope number 2) and the window closed again; the kept PIN or a new PIN works afterwards;
an expired credential is not renewed. Needs --maildir and --clock-file (skipped otherwise);
assumes the server's default entitlement, "coupon"."""
import datetime
import unittest

import cfremote
import test_csc
from cfbase import CONFIG, SECRETS, parse_time, pem_certs
from cryptography import x509
from cryptography.hazmat.primitives import serialization

PASSPHRASE = "Renew-Env3lope!"
DAY = 86400


class RemoteRenewalTest(test_csc.RemoteTest):
    """Fixtures of test_csc.RemoteTest (an active remote credential per test, the test clock,
    SMS codes past the resend gap), and coupons."""

    def holder(self):
        return self.remote_credential()

    def sms(self, h):
        return self.send_sms(h)

    def set_clock(self, t):
        self.clock.set(t)
        self.client.nonce = None  # nonces may have expired with the jump

    def into_window(self, h, days_before_expiry=30):
        """Move the clock to days before the current certificate's notAfter; log in again (the
        session expired with the jump)."""
        na = parse_time(h.credential(h.credential_id)["notAfter"])
        self.set_clock(int(na.timestamp()) - days_before_expiry * DAY)
        self.expect(h.login(), 201, allow_secret=True)
        return na

    def coupon(self, **payload):
        r = self.client.admin("coupon-issue", dict({"count": 1}, **payload))
        doc = self.expect(r, 201, "admin-coupon-issue-response", allow_secret=True)
        for c in doc["coupons"]:
            SECRETS.add(c["code"])
        return doc["coupons"][0]

    def coupon_status(self, cid):
        return [c for c in self.admin_all("coupon-list", "coupons") if c["id"] == cid][0]

    def renew(self, h, otp, status=200, problem=None, passphrase=PASSPHRASE, **kw):
        r = h.renew(h.credential_id, otp, passphrase, **kw)
        return self.expect(r, status, None if problem else "portal-renew-response", problem)

    def verify_chain(self, pem):
        d = self.tmpdir()
        chain = self.fetch_chain()
        certs = pem_certs(chain)
        root = self.write(d, "root.pem", certs[-1].public_bytes(serialization.Encoding.PEM))
        inter = self.write(d, "inter.pem", b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs[:-1]))
        leaf = self.write(d, "leaf.pem", pem)
        rc, out = self.run_openssl("verify", "-attime", str(self.clock.now), "-CAfile", root,
                                   "-untrusted", inter, leaf)
        self.assertEqual(rc, 0, out)

    @staticmethod
    def public_key(pem):
        return x509.load_pem_x509_certificate(pem.encode()).public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


class TestRemoteRenewal(RemoteRenewalTest):
    def test_renewal_before_the_window_is_refused_with_the_date_it_opens(self):
        h = self.holder()
        cred = h.credential(h.credential_id)
        self.assertFalse(cred["renewal"]["offered"])
        doc = self.renew(h, "000000", 403, "notInRenewalWindow", coupon="AAAA-BBBB-CCCC-DDDD")
        self.assertEqual(doc["opensAt"], cred["renewal"]["opensAt"])
        self.assertEqual(doc["retryAfter"], doc["opensAt"])
        na = parse_time(cred["notAfter"])
        self.assertEqual(parse_time(doc["opensAt"]), na - datetime.timedelta(days=90))
        r = h.renew(h.credential_id, "000000", PASSPHRASE)
        self.assertRegex(r.header("retry-after") or "", r"^[0-9]+$", "Retry-After in seconds")
        self.assertEqual(h.credential(h.credential_id)["pinTriesLeft"], 5, "nothing was counted")

    def test_renewal_inside_the_window_needs_a_coupon_and_makes_a_new_key_and_certificate(self):
        h = self.holder()
        before = h.credential(h.credential_id)
        self.into_window(h)
        self.assertTrue(h.credential(h.credential_id)["renewal"]["offered"])
        code = self.sms(h)
        # refusals that count and consume nothing: the same SMS code works afterwards
        self.renew(h, code, 402, "entitlementRequired")
        self.renew(h, code, 403, "badCoupon", coupon="AAAA-BBBB-CCCC-DDDD")
        self.renew(h, code, 403, "badCoupon", coupon="not a coupon")
        cancelled = self.coupon()
        self.admin("coupon-cancel", {"id": cancelled["id"]})
        self.renew(h, code, 403, "badCoupon", coupon=cancelled["code"])
        other = self.coupon(profile="signing")
        self.renew(h, code, 403, "badCoupon", coupon=other["code"])
        good = self.coupon(profile="remote", days=30, note="conformance")
        self.renew(h, code, 409, "identityChanged", coupon=good["code"], identity=False)
        self.renew(h, code, 400, "weakPassword", coupon=good["code"], passphrase="password")
        self.assertEqual(self.coupon_status(good["id"])["status"], "issued")
        self.assertEqual(h.credential(h.credential_id)["pinTriesLeft"], 5)
        # the renewal (dashes and case of the code ignored)
        r = h.renew(h.credential_id, code, PASSPHRASE, coupon=good["code"].lower().replace("-", ""))
        doc = self.expect(r, 200, "portal-renew-response")
        self.assertNotEqual(doc["serial"], before["serial"])
        self.assertNotEqual(self.public_key(doc["certificate"]), self.public_key(before["certificate"]),
                            "a renewal makes a new key pair")
        self.assertGreater(parse_time(doc["notAfter"]), parse_time(before["notAfter"]))
        self.verify_chain(doc["certificate"])
        old = x509.load_pem_x509_certificate(before["certificate"].encode())
        new = x509.load_pem_x509_certificate(doc["certificate"].encode())
        self.assertEqual(new.subject, old.subject, "the same names")
        # the coupon is used, the window closed, the new certificate shown
        used = self.coupon_status(good["id"])
        self.assertEqual((used["status"], used["usedBy"]), ("used", h.credential_id))
        now = h.credential(h.credential_id)
        self.assertEqual((now["serial"], now["status"]), (doc["serial"], "active"))
        self.assertFalse(now["renewal"]["offered"])
        self.assertEqual((now["pinTriesLeft"], now["pukTriesLeft"]), (5, 10))
        # the new envelope: the new PUK and emergency code, envelope number 2
        plain, number = h.renewal_envelope(PASSPHRASE)
        self.assertEqual((number, plain["envelopeNumber"]), (2, 2))
        self.assertRegex(plain["puk"], r"^[0-9]{12}$")
        self.assertNotEqual(plain["puk"], h.puk)
        self.assertRegex(plain["emergencyCode"], r"^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}$")
        # the same coupon again: refused (the window is closed first)
        self.renew(h, self.sms(h), 403, "notInRenewalWindow", coupon=good["code"])
        # the kept PIN opens the new key: a PIN change with it works
        r = h.change_pin(h.credential_id, h.pin, "13572468", self.sms(h))
        self.expect(r, 200)

    def test_renewal_with_a_new_pin_replaces_the_pin(self):
        h = self.holder()
        self.into_window(h)
        good = self.coupon()
        doc = self.renew(h, self.sms(h), coupon=good["code"], new_pin="86420975")
        self.assertEqual(doc["envelopeNumber"], 2)
        r = h.change_pin(h.credential_id, h.pin, "11223344", self.sms(h))
        d = self.expect(r, 403, problem="badPIN")
        self.assertEqual(d["attemptsLeft"], 4)
        r = h.change_pin(h.credential_id, "86420975", "11223344", self.sms(h))
        self.expect(r, 200)

    def test_a_wrong_pin_counts_and_uses_no_coupon(self):
        h = self.holder()
        self.into_window(h)
        good = self.coupon()
        d = self.renew(h, self.sms(h), 403, "badPIN", coupon=good["code"], pin=cfremote.other_digits(h.pin))
        self.assertEqual(d["attemptsLeft"], 4)
        self.assertEqual(self.coupon_status(good["id"])["status"], "issued")
        self.assertEqual(h.credential(h.credential_id)["pinTriesLeft"], 4)

    def test_an_expired_remote_credential_cannot_be_renewed(self):
        h = self.holder()
        na = parse_time(h.credential(h.credential_id)["notAfter"])
        good = self.coupon()
        self.set_clock(int(na.timestamp()) + DAY)
        self.expect(h.login(), 201, allow_secret=True)
        self.assertEqual(h.credential(h.credential_id)["status"], "expired")
        self.renew(h, self.sms(h), 409, "conflict", coupon=good["code"])
        self.assertEqual(self.coupon_status(good["id"])["status"], "issued", "no coupon was used")

    def test_coupon_admin_operations_never_show_a_code_but_once(self):
        self.clock = cfremote.ServerClock(self, CONFIG.get("clock_file"))
        c = self.coupon(days=10)
        listed = self.coupon_status(c["id"])
        self.assertNotIn("code", listed)
        self.assertEqual(listed["status"], "issued")
        self.admin("coupon-issue", {"count": 101}, 400, "malformed")
        self.admin("coupon-issue", {"profile": "nope"}, 400, "malformed")
        doc = self.admin("coupon-cancel", {"id": c["id"]})
        self.assertEqual(doc["status"], "cancelled")
        self.admin("coupon-cancel", {"id": c["id"]}, 409, "conflict")
        self.admin("coupon-cancel", {"id": "01NOSUCHCOUPON000000000000"}, 404, "notFound")
        self.set_clock(self.clock.now + 11 * DAY)
        c2 = self.coupon(days=1)
        self.set_clock(self.clock.now + 2 * DAY)
        self.assertEqual(self.coupon_status(c2["id"])["status"], "expired")


class TestOperatorMarksAndRevokes(RemoteRenewalTest, test_csc.CscTest):
    """admin/update-mark by issuer (§26.4) and operator revocation of a remote credential (§22.8)."""

    def mark(self, status=200, problem=None, **payload):
        by = datetime.datetime.fromtimestamp(self.clock.now + 30 * DAY, datetime.timezone.utc)
        payload = dict({"by": by.strftime("%Y-%m-%dT%H:%M:%SZ")}, **payload)
        if status == 200:
            return self.admin("update-mark", payload)
        return self.admin("update-mark", payload, status, problem)

    def test_update_mark_by_issuer_marks_the_credentials_that_ca_issued(self):
        rc = self.remote_credential()
        issuer = self.info(rc)["cert"]["issuerDN"]
        self.assertIsNone(rc.credential(rc.credential_id).get("updateBy"))
        self.assertEqual(self.mark(issuer="CN=no such CA, O=nowhere")["marked"], 0)
        self.assertIsNone(rc.credential(rc.credential_id).get("updateBy"), "another issuer marks nothing")
        self.assertGreaterEqual(self.mark(issuer=issuer, note="new CA")["marked"], 1)
        cred = rc.credential(rc.credential_id)
        self.assertIsNotNone(cred.get("updateBy"))
        self.assertEqual(cred.get("updateNote"), "new CA")

    def test_update_mark_names_exactly_one_selection(self):
        self.clock = cfremote.ServerClock(self, CONFIG.get("clock_file"))
        self.mark(400, "malformed", issuer="CN=x", profile="remote")
        self.mark(400, "malformed", issuer="CN=x", all=True)
        self.mark(400, "malformed", issuer="")
        self.mark(400, "malformed", issuer=7)

    def test_operator_revocation_of_a_remote_credential_makes_signing_impossible(self):
        rc = self.remote_credential()
        hashes = test_csc.digests(1)
        sad = self.authorize(rc, hashes)["SAD"]  # authorised before the revocation
        serial = self.info(rc)["cert"]["serialNumber"]
        self.admin("revoke", {"serial": serial, "reason": 1})
        self.assertEqual(rc.credential(rc.credential_id)["status"], "revoked")
        self.sign(rc, sad, hashes, status=403, problem="credentialRevoked", error="access_denied")
        self.authorize(rc, hashes, otp="000000", status=403, problem="credentialRevoked", error="access_denied")
        # nor does the PUK bring it back (the custody record is revoked with it)
        self.move_clock(61)
        otp = rc.sms()
        r = rc.activate(rc.credential_id, rc.puk, "51836274", otp)
        self.expect(r, 403, problem="credentialRevoked")
        self.assertEqual(rc.credential(rc.credential_id)["status"], "revoked")


if __name__ == "__main__":
    unittest.main()
