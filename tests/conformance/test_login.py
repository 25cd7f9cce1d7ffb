"""Holder login, sessions and forgot password (spec/protocol.md §23), black box.

A login exists once an application of profile "remote" is approved (§24): the user id and the
first password come by e-mail, so these tests need --maildir; the expiry test needs --clock-file.
Portal requests are plain JSON with "Authorization: Bearer"; login and password reset are JWS
with a throwaway jwk.
"""
import json
import re
import unittest

import cfclient
import cfmail
import cfremote
from cfbase import CONFIG, SECRETS, ConformanceTest, Key, parse_time

PASSPHRASE = "Tr0ub4dor&3x"
NEW_PASSWORD = "Sec0nd-Passw0rd?"
THIRD_PASSWORD = "Thi3d-Passw0rd#"
WRONG_PASSWORD = "Wr0ng-Passw0rd!"


def field(text, label):
    m = re.search(r"^%s: ?(\S+)\s*$" % re.escape(label), text, re.M)
    return m.group(1) if m else None


class Holder:
    def __init__(self, email, alt, mobile, user_id, password):
        self.email, self.alt, self.mobile = email, alt, mobile
        self.user_id, self.password = user_id, password


class TestLogin(ConformanceTest):
    # ---- fixtures --------------------------------------------------------------------------
    def url(self, name, path):
        return self.dir.get(name) or self.client.origin + path

    def portal_url(self, op):
        return self.url("portal", "/v1/portal").rstrip("/") + "/" + op

    def public(self, name, path, payload):
        return self.client.post(self.url(name, path), Key.generate(), payload, use_jwk=True)

    def bearer(self, op, token, payload=None):
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers["Authorization"] = "Bearer " + token
        return self.client.http("POST", self.portal_url(op), json.dumps(payload or {}).encode(), headers)

    def mailbox(self):
        return cfmail.Maildir(CONFIG.get("maildir"))

    def holder(self):
        """A subject with a login: an approved application of profile remote."""
        mb = self.mailbox()
        tag = cfclient.random_suffix()
        email = "login-%s@example.org" % tag
        payload = {"profile": "remote", "givenName": "Ada", "surname": "Lovelace", "uniqueId": "ADA-1815",
                   "email": email, "altEmail": "home-%s@example.net" % tag,
                   "mobile": "+4478%09d" % (int(tag, 16) % 10**9),
                   "questions": [{"question": "Question %d?" % i, "answer": "answer %d" % i} for i in range(3)],
                   "consents": self.dir["meta"].get("consents", ["terms", "privacy"]),
                   "envelopePassphrase": PASSPHRASE}
        r = self.public("apply", "/v1/apply", payload)
        if r.status != 201:
            raise unittest.SkipTest("the server does not take applications of profile remote (§24)")
        app = r.json()
        if app["status"] == "pending":
            self.admin("application-approve", {"id": app["id"]})
        text = cfmail.body(mb.find(email, "remote-credentials")[-1])
        user_id, password = field(text, "Portal user id"), field(text, "First password")
        self.assertRegex(user_id or "", r"^[0-9]{10}$", "the user id of the remote-credentials e-mail")
        self.assertIsNotNone(password, "the first password of the remote-credentials e-mail")
        SECRETS.add(password)
        return Holder(email, payload["altEmail"], payload["mobile"], user_id, password)

    def login(self, user_id, password, status=201, problem=None):
        r = self.public("login", "/v1/login", {"userId": user_id, "password": password})
        doc = self.expect(r, status, "login-response", problem)
        if status == 201:
            SECRETS.add(doc["token"])
        return r, doc

    def changed(self, h, token, new=NEW_PASSWORD):
        r = self.bearer("password", token, {"password": h.password, "newPassword": new})
        self.expect(r, 200, "password-changed-response")
        h.password = new

    def session(self, h=None):
        """(holder, full session token) after the forced password change."""
        h = h or self.holder()
        _, doc = self.login(h.user_id, h.password)
        self.changed(h, doc["token"])
        return h, doc["token"]

    def expect_bad_session(self, r):
        doc = self.expect(r, 401, problem="badSession")
        self.assertEqual(r.header("www-authenticate"), "Bearer", "401 carries WWW-Authenticate: Bearer")
        return doc

    # ---- login ---------------------------------------------------------------------------------
    def test_portal_without_a_token_is_bad_session_with_www_authenticate(self):
        self.expect_bad_session(self.bearer("status", None))
        self.expect_bad_session(self.bearer("status", "A" * 43))
        self.expect_bad_session(self.bearer("logout", "not a token"))

    def test_login_payload_of_the_wrong_shape_is_malformed(self):
        self.login(1234567890, "x", 400, "malformed")
        self.login("1234567890", None, 400, "malformed")

    def test_unknown_user_id_answers_like_a_wrong_password(self):
        h = self.holder()
        _, wrong = self.login(h.user_id, WRONG_PASSWORD, 401, "badLogin")
        _, unknown = self.login("0000000001", WRONG_PASSWORD, 401, "badLogin")
        self.assertEqual(wrong, unknown, "the same problem document for an unknown user id")
        self.login(h.user_id, h.password)  # the one failure did not lock anything

    def test_failed_logins_lock_even_the_right_password_until_an_operator_unlocks(self):
        h = self.holder()
        for _ in range(4):
            self.login(h.user_id, WRONG_PASSWORD, 401, "badLogin")
        self.login(h.user_id, WRONG_PASSWORD, 403, "proofLocked")
        self.login(h.user_id, h.password, 403, "proofLocked")
        doc = self.admin("login-unlock", {"userId": h.user_id})
        self.assertEqual((doc["userId"], doc["failures"], doc["mustChangePassword"]), (h.user_id, 0, True))
        self.login(h.user_id, h.password)
        self.admin("login-unlock", {"userId": "0000000002"}, 404, "notFound")

    def test_first_login_is_restricted_until_a_strong_new_password_is_set(self):
        h = self.holder()
        _, doc = self.login(h.user_id, h.password)
        self.assertTrue(doc["mustChangePassword"])
        self.assertEqual(doc["userId"], h.user_id)
        token = doc["token"]
        for op in ("status", "otp", "totp/setup"):
            self.expect(self.bearer(op, token), 403, problem="passwordChangeRequired")
        # a weak, an unchanged, or a wrongly confirmed password changes nothing
        r = self.bearer("password", token, {"password": h.password, "newPassword": "password"})
        self.expect(r, 400, problem="weakPassword")
        r = self.bearer("password", token, {"password": h.password, "newPassword": h.password})
        self.expect(r, 400, problem="weakPassword")
        r = self.bearer("password", token, {"password": WRONG_PASSWORD, "newPassword": NEW_PASSWORD})
        self.expect(r, 401, problem="badLogin")
        self.expect(self.bearer("status", token), 403, problem="passwordChangeRequired")
        _, again = self.login(h.user_id, h.password)
        self.assertTrue(again["mustChangePassword"], "the first password still works, still restricted")
        old = h.password
        self.changed(h, token)
        self.expect(self.bearer("status", token), 200, "portal-status-response")
        self.expect_bad_session(self.bearer("status", again["token"]))  # other sessions ended
        self.login(h.user_id, old, 401, "badLogin")
        _, doc = self.login(h.user_id, h.password)
        self.assertFalse(doc["mustChangePassword"])

    def test_status_lists_the_subjects_credentials(self):
        h, token = self.session()
        doc = self.expect(self.bearer("status", token), 200, "portal-status-response")
        self.assertEqual(doc["userId"], h.user_id)
        self.assertEqual(doc["subject"]["email"], h.email)
        self.assertEqual(doc["otp"], "sms")
        self.assertEqual(len(doc["credentials"]), 1, "the credential of the approved application")
        cred = doc["credentials"][0]
        self.assertEqual(cred["profile"], "remote")
        self.assertEqual(cred["status"], "pending", "not activated yet (§24)")
        self.assertEqual(cred["pinStatus"], "active")
        self.assertGreater(cred["pinTriesLeft"], 0)
        self.assertGreater(cred["pukTriesLeft"], 0)
        self.assertNotIn("certificate", cred)

    def test_logout_ends_the_session(self):
        _, token = self.session()
        r = self.bearer("logout", token)
        self.check_common(r)
        self.assertEqual(r.status, 204)
        self.expect_bad_session(self.bearer("status", token))
        self.expect_bad_session(self.bearer("logout", token))

    def test_expired_session_is_bad_session(self):
        clock = cfremote.ServerClock(self, CONFIG.get("clock_file"))  # skips without one
        now = clock.now
        h, token = self.session()
        _, doc = self.login(h.user_id, h.password)
        left = int(parse_time(doc["expiresAt"]).timestamp()) - now
        self.assertTrue(0 < left <= 24 * 3600, "a session lives minutes, not days")
        clock.set(now + left - 5)
        self.expect(self.bearer("status", doc["token"]), 200, "portal-status-response")
        clock.set(now + left)
        self.expect_bad_session(self.bearer("status", doc["token"]))
        self.expect_bad_session(self.bearer("status", token))

    # ---- forgot password -----------------------------------------------------------------------
    def forgot(self, email):
        r = self.public("passwordForgot", "/v1/password/forgot", {"email": email})
        self.expect(r, 202, "password-forgot-response")
        return r

    def test_every_email_ends_with_the_server_url_and_its_root_fingerprint(self):
        # §18 "Trust footer": a person's program trusts the server with these two lines
        mb = self.mailbox()
        h = self.holder()
        self.forgot(h.email)
        origin = self.client.origin
        fp = self.dir["meta"]["caFingerprint"]
        self.assertRegex(fp, r"^sha256:[0-9a-f]{64}$")
        for template in ("remote-credentials", "password-link"):
            text = cfmail.body(mb.find(h.email, template)[-1])
            self.assertTrue(text.rstrip("\n").endswith(
                "-- \ncertflow server: %s\nIts fingerprint: %s\n"
                "Your certflow programs check that they talk to this server with these two lines:\n"
                "certflow-agent ... --server %s --ca-fingerprint %s" % (origin, fp, origin, fp)),
                "%s: no trust footer:\n%s" % (template, text[-400:]))

    def test_forgot_password_answers_alike_for_known_and_unknown_addresses(self):
        h = self.holder()
        known = self.forgot(h.email)
        unknown = self.forgot("nobody-%s@example.org" % cfclient.random_suffix())
        self.assertEqual(known.body, unknown.body)
        skip = ("date", "replay-nonce")
        self.assertEqual(sorted((k, v) for k, v in known.headers if k not in skip),
                         sorted((k, v) for k, v in unknown.headers if k not in skip))
        r = self.public("passwordForgot", "/v1/password/forgot", {"email": "no-at-sign"})
        self.expect(r, 400, problem="malformed")

    def test_forgot_password_resets_with_an_sms_code_ends_sessions_and_works_once(self):
        mb = self.mailbox()
        h, token = self.session()
        self.forgot(h.email.upper())
        text = cfmail.body(mb.find(h.email, "password-link")[-1])
        link = field(text, "Token")
        self.assertRegex(link or "", r"^[A-Za-z0-9_-]{43}$")
        SECRETS.add(link)
        self.assertEqual(field(text, "User id"), h.user_id)
        self.assertEqual(link, field(cfmail.body(mb.find(h.alt, "password-link")[-1]), "Token"),
                         "the same token to the alternate address")
        r = self.public("passwordResetOtp", "/v1/password/reset/otp", {"token": link})
        self.expect(r, 202, "otp-sent-response")
        code = re.search(r"certflow code: (\d{6})", cfmail.body(mb.find(h.mobile, "otp")[-1])).group(1)
        SECRETS.add(code)
        wrong = "%06d" % ((int(code) + 1) % 10**6)

        def reset(otp, new, status, problem=None):
            r = self.public("passwordReset", "/v1/password/reset", {"token": link, "otp": otp, "newPassword": new})
            return self.expect(r, status, "password-changed-response", problem)

        reset(code, "weak", 400, "weakPassword")
        doc = reset(wrong, THIRD_PASSWORD, 403, "badOTP")
        self.assertEqual(doc.get("attemptsLeft"), 4)
        self.expect(self.bearer("status", token), 200, "portal-status-response")  # nothing changed yet
        reset(code, THIRD_PASSWORD, 200)
        self.expect_bad_session(self.bearer("status", token))
        reset(code, NEW_PASSWORD, 403, "badToken")  # the token works once
        events = self.admin("audit-list", {"object": "login:" + h.user_id, "limit": 500})["events"]
        actions = [e["action"] for e in events]
        for a in ("login", "login.password", "login.reset.request", "login.reset.otp", "otp.fail", "login.reset"):
            self.assertIn(a, actions, "audit event %s of login:%s" % (a, h.user_id))
        trail = json.dumps(events)
        for secret in (link, code, NEW_PASSWORD, THIRD_PASSWORD, token):
            self.assertNotIn(secret, trail, "a secret in the audit trail")
        self.login(h.user_id, h.password, 401, "badLogin")
        _, doc = self.login(h.user_id, THIRD_PASSWORD)
        self.assertFalse(doc["mustChangePassword"])

    def test_password_reset_with_an_unknown_token_is_bad_token(self):
        r = self.public("passwordResetOtp", "/v1/password/reset/otp", {"token": "A" * 43})
        self.expect(r, 403, problem="badToken")
        r = self.public("passwordReset", "/v1/password/reset",
                        {"token": "A" * 43, "otp": "123456", "newPassword": THIRD_PASSWORD})
        self.expect(r, 403, problem="badToken")

