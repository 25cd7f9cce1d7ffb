"""Remote credentials (spec/protocol.md §24), black box: apply with profile "remote", approval,
the two e-mails (user id + first password + reference; the envelope with PIN, PUK, emergency
code and envelope number, opened with cfmail), portal login with the forced password change,
activation with the PUK, a new PIN and an SMS code (the certificate verifies with openssl), a
wrong PUK counted with attemptsLeft, PIN change, and the shapes that count nothing.

Needs --maildir (the e-mails and SMS codes) and --clock-file (SMS codes are rate-limited to one a
minute per subject: the test moves the server's clock 61 s before each code and puts it back).
A server that does not offer the profile "remote" is skipped.
"""
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

import cfremote
from cfbase import CONFIG, SECRETS, ConformanceTest, pem_certs


class TestRemoteActivation(ConformanceTest):
    # ---- fixtures ----------------------------------------------------------------------------
    def sms(self, h):
        """A new SMS code for h's session, a minute after the last one (server time)."""
        self.clock.advance(61)
        return h.sms()

    def sms_later(self, h):
        """A new SMS code 12 minutes and a second (server time) after the last one (at most five an
        hour: otp_resend_per_hour), in a new session (a session lasts session_minutes, 30)."""
        self.clock.advance(12 * 60 + 1)
        self.expect(h.login(), 201, "login-response", allow_secret=True)
        return h.sms()

    def holder(self):
        """An approved remote applicant whose e-mails were read (skips if "remote" is unknown)."""
        self.clock = cfremote.ServerClock(self, CONFIG.get("clock_file"))
        h = cfremote.Holder(self.client, CONFIG.get("maildir"),
                            consents=self.dir["meta"].get("consents", ["terms", "privacy"]), secrets=SECRETS)
        r = h.public("/v1/apply", h.apply_request())
        if r.status == 400:
            self.skipTest("the server does not offer the profile \"remote\"")
        app = self.expect(r, 201, "apply-response")
        self.assertEqual((app["status"], app["profile"]), ("pending", "remote"))
        h.application = app["id"]
        approved = self.admin("application-approve", {"id": app["id"]})
        self.assertEqual(approved["status"], "approved")
        self.assertRegex(approved.get("reference", ""), r"^\d{12}$")
        h.read_delivery()
        self.assertEqual(h.reference.replace("-", ""), approved["reference"], "the reference of the e-mail")
        return h, approved

    def bearer(self, h, path, body, status, schema=None, problem=None, token=None):
        return self.expect(h.bearer(path, body, token), status, schema, problem)

    def credential(self, h):
        doc = self.bearer(h, "/v1/portal/status", {}, 200, "portal-status-response")
        remote = [c for c in doc["credentials"] if c["profile"] == "remote"]
        self.assertEqual(len(remote), 1, "one remote credential after one approval")
        return remote[0]

    def verify_chain(self, pem):
        chain = pem_certs(self.fetch_chain())
        d = self.tmpdir()
        iss = self.write(d, "issuing.pem", chain[0].public_bytes(serialization.Encoding.PEM))
        leaf = self.write(d, "leaf.pem", pem)
        # at the server's time: the test moved its clock ahead
        rc, out = self.run_openssl("verify", "-attime", str(self.clock.now), "-CAfile", CONFIG["ca"], "-untrusted", iss,
                                   leaf)
        self.assertEqual(rc, 0, out)

    # ---- tests -------------------------------------------------------------------------------
    def test_portal_requests_need_a_session(self):
        h = cfremote.Holder(self.client, CONFIG.get("maildir") or "-")
        body = {"credentialId": "01KAQ4B2C3D4E5F6G7H8J9K0MN", "puk": "123456789012", "newPin": "12345678",
                "otp": "123456"}
        for token in ("", "A" * 43):
            for path in ("/v1/portal/activate", "/v1/portal/pin"):
                r = h.bearer(path, body, token)
                self.expect(r, 401, problem="badSession")
                self.assertTrue((r.header("www-authenticate") or "").startswith("Bearer"), "WWW-Authenticate")

    def test_operator_reads_of_a_pending_remote_credential_match_their_schemas(self):
        # §24.1: approved, not activated: status "pending" and no certificate yet (§12)
        h = cfremote.Holder(self.client, CONFIG.get("maildir") or "-",
                            consents=self.dir["meta"].get("consents", ["terms", "privacy"]), secrets=SECRETS)
        r = h.public("/v1/apply", h.apply_request())
        if r.status == 400:
            self.skipTest("the server does not offer the profile \"remote\"")
        app = self.expect(r, 201, "apply-response")
        cred_id = self.admin("application-approve", {"id": app["id"]}).get("credential")
        self.assertIsNotNone(cred_id, "the approval of a remote application names its credential")
        shown = self.admin("credential-show", {"id": cred_id})  # validated against its schema
        self.assertEqual((shown["id"], shown["status"], shown["profile"], shown["certificates"]),
                         (cred_id, "pending", "remote", []))
        payload, listed = {}, None
        for _ in range(1000):  # pages, if the server pages the list
            doc = self.admin("credential-list", payload)  # validated against its schema
            listed = next((c for c in doc["credentials"] if c["id"] == cred_id), None)
            if listed or not doc.get("next"):
                break
            payload = {"after": doc["next"]}
        self.assertIsNotNone(listed, "credential-list lists the pending credential")
        self.assertEqual((listed["status"], listed["certificates"]), ("pending", []))

    def test_delivery_login_activation_puk_counting_and_pin_change(self):
        h, approved = self.holder()
        # the two e-mails: credentials without the PIN or PUK, the envelope with them
        self.assertRegex(h.user_id or "", r"^[0-9]{10}$")
        self.assertEqual(len(h.password or ""), 16)
        self.assertRegex(h.pin or "", r"^[0-9]{8}$")
        self.assertRegex(h.puk or "", r"^[0-9]{12}$")
        self.assertRegex(h.emergency or "", r"^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}$")
        self.assertEqual(h.envelope_number, 1)
        creds_mail = str(h.mailbox.find(h.email, "remote-credentials")[-1])
        self.assertNotIn(h.pin, creds_mail)
        self.assertNotIn(h.puk, creds_mail)
        self.assertNotIn(h.puk, str(h.mailbox.find(h.email, "remote-envelope")[-1]), "the PUK only sealed")

        # login: the first password must be changed before anything else
        r = h.login()
        doc = self.expect(r, 201, "login-response", allow_secret=True)  # it carries the session token
        self.assertIs(doc["mustChangePassword"], True)
        restricted = self.bearer(h, "/v1/portal/activate", {"credentialId": "x", "puk": h.puk, "newPin": "12345678",
                                                            "otp": "123456"}, 403, problem="passwordChangeRequired")
        self.assertNotIn(h.puk, str(restricted))
        self.assertEqual(h.change_password().status, 200)
        cred = self.credential(h)
        cid = cred["id"]
        self.assertEqual((cred["status"], cred["pinStatus"], cred["pinTriesLeft"], cred["pukTriesLeft"]),
                         ("pending", "active", 5, 10))
        self.assertNotIn("certificate", cred)

        # refused before anything is tried: nothing counted, no OTP needed
        self.bearer(h, "/v1/portal/pin", {"credentialId": cid, "pin": h.pin, "newPin": "12345678", "otp": "123456"},
                    409, problem="credentialInactive")
        bad = [({"newPin": "1234567"}, "malformed"), ({"newPin": "1234567a"}, "malformed"),
               ({"puk": "12ab"}, "malformed"), ({"otp": "12"}, "malformed"),
               ({"credentialId": "0" * 26}, "notFound")]
        for change, problem in bad:
            body = dict({"credentialId": cid, "puk": h.puk, "newPin": "12345678", "otp": "123456"}, **change)
            status = 404 if problem == "notFound" else 400
            self.bearer(h, "/v1/portal/activate", body, status, problem=problem)
        self.assertEqual(self.credential(h)["pukTriesLeft"], 10, "nothing counted")

        # a wrong PUK with a right OTP is counted; the OTP is used up by it
        code = self.sms(h)
        wrong = cfremote.other_digits(h.puk)
        doc = self.bearer(h, "/v1/portal/activate", {"credentialId": cid, "puk": wrong, "newPin": "12345678",
                                                     "otp": code}, 403, problem="badPUK")
        self.assertEqual(doc["attemptsLeft"], 9)
        doc = self.bearer(h, "/v1/portal/activate", {"credentialId": cid, "puk": h.puk, "newPin": "12345678",
                                                     "otp": code}, 403, problem="badOTP")
        self.assertIn("attemptsLeft", doc)
        self.assertEqual(self.credential(h)["pukTriesLeft"], 9)

        # activation: PUK + new PIN + OTP → the certificate
        new_pin = cfremote.other_digits(h.pin)
        SECRETS.add(new_pin)
        doc = self.bearer(h, "/v1/portal/activate", {"credentialId": cid, "puk": h.puk, "newPin": new_pin,
                                                     "otp": self.sms(h)}, 200, "portal-activate-response")
        self.assertEqual((doc["id"], doc["status"], doc["pinStatus"], doc["pinTriesLeft"], doc["pukTriesLeft"]),
                         (cid, "active", "active", 5, 10))
        cert = x509.load_pem_x509_certificate(doc["certificate"].encode())
        self.assertEqual(format(cert.serial_number, "x"), doc["serial"].lstrip("0"))
        self.assertEqual(cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value, "Grace Hopper")
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        self.assertEqual(san.get_values_for_type(x509.RFC822Name), [h.email])
        self.verify_chain(doc["certificate"])
        shown = self.admin("application-show", {"id": h.application})
        self.assertEqual((shown["status"], shown.get("credential")), ("activated", cid))

        # PIN change: a wrong PIN is counted, the right one changes it
        doc = self.bearer(h, "/v1/portal/pin", {"credentialId": cid, "pin": h.pin, "newPin": "12345678",
                                                "otp": self.sms(h)}, 403, problem="badPIN")
        self.assertEqual(doc["attemptsLeft"], 4, "the envelope's PIN was replaced at activation")
        doc = self.bearer(h, "/v1/portal/pin", {"credentialId": cid, "pin": new_pin, "newPin": "12345678",
                                                "otp": self.sms(h)}, 200, "portal-pin-response")
        self.assertEqual((doc["pinTriesLeft"], doc["serial"]), (5, self.credential(h)["serial"]))

    def test_the_wrong_pin_that_uses_the_last_try_answers_pin_blocked(self):
        # spec/errors.md "Counters": the failure that uses the last try gets the lock's problem,
        # as every later try does; a bad* problem always leaves at least one try
        h, _ = self.holder()
        # seven SMS codes: 12 minutes apart, under the default of five an hour (§19)
        self.expect(h.login(), 201, "login-response", allow_secret=True)
        self.assertEqual(h.change_password().status, 200)
        cid = self.credential(h)["id"]
        new_pin = cfremote.other_digits(h.pin)
        SECRETS.add(new_pin)
        self.bearer(h, "/v1/portal/activate", {"credentialId": cid, "puk": h.puk, "newPin": new_pin,
                                               "otp": self.sms_later(h)}, 200, "portal-activate-response")
        wrong = cfremote.other_digits(new_pin)
        for left in (4, 3, 2, 1):
            doc = self.bearer(h, "/v1/portal/pin", {"credentialId": cid, "pin": wrong, "newPin": "12345678",
                                                    "otp": self.sms_later(h)}, 403, problem="badPIN")
            self.assertEqual(doc["attemptsLeft"], left)
        doc = self.bearer(h, "/v1/portal/pin", {"credentialId": cid, "pin": wrong, "newPin": "12345678",
                                                "otp": self.sms_later(h)}, 403, problem="pinBlocked")
        self.assertNotIn("attemptsLeft", doc)
        cred = self.credential(h)
        self.assertEqual((cred["pinStatus"], cred["pinTriesLeft"]), ("blocked", 0))
        self.bearer(h, "/v1/portal/pin", {"credentialId": cid, "pin": new_pin, "newPin": "12345678",
                                          "otp": self.sms_later(h)}, 403, problem="pinBlocked")
