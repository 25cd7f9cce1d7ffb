"""Login by QR code (spec/protocol.md §27): start, poll, approval by an agent's account, the
session granted once, the refusals (another subject, no subject credential, a second approval,
an expired challenge), malformed requests and the audit trail.

Black box over HTTP. A holder is a subject with a device credential (applied, approved and
activated with the code of its envelope) and a portal login (cfremote's "remote" application of
the same person, approved: the user id and first password come by e-mail), so the tests need the
server's maildir (--maildir); the expiry test also needs --clock-file."""
import json
import unittest

import cfclient
import cfmail
import cfremote
from cfbase import CONFIG, SECRETS, Key, make_csr, parse_time
from test_applications import ApplicationTest


class Account:
    """An agent's account and one of its credentials (what approve needs)."""

    def __init__(self, key, kid, credential):
        self.key, self.kid, self.credential = key, kid, credential


class QrLoginTest(ApplicationTest):
    _holders = {}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if "qrLogin" not in cls.dir:
            raise unittest.SkipTest("the server's directory has no qrLogin (§27)")

    # ---- requests --------------------------------------------------------------------------
    def start(self, payload=None, status=201, problem=None):
        r = self.client.post(self.dir["qrLogin"], Key.generate(), {} if payload is None else payload)
        doc = self.expect(r, status, None if problem else "qr-login-response", problem)
        if not problem:
            SECRETS.add(doc["pollToken"])
        return doc

    def poll(self, token, status=200, problem=None):
        r = self.client.post(self.dir["qrLoginPoll"], Key.generate(), {"pollToken": token})
        schema = None if problem else "qr-login-poll-response" if status == 202 else "login-response"
        doc = self.expect(r, status, schema, problem)
        if status == 200 and not problem:
            SECRETS.add(doc["token"])
        return doc

    def approve(self, holder, challenge, status=200, problem=None, credential=True):
        payload = {"challenge": challenge}
        if credential:
            payload["credential"] = holder.credential
        r = self.client.post(self.dir["qrLoginApprove"], holder.key, payload, kid=holder.kid)
        return self.expect(r, status, None if problem else "qr-login-approve-response", problem)

    # ---- holders ---------------------------------------------------------------------------
    def holder(self, name, change_password=True):
        """A holder made once per run: device credential + portal login (password changed or
        still the first one)."""
        if name not in self._holders:
            self._holders[name] = self.make_holder(change_password)
        return self._holders[name]

    def make_holder(self, change_password):
        """cfremote's applicant, with a device application of the same person first."""
        h = cfremote.Holder(self.client, CONFIG.get("maildir"), secrets=SECRETS)
        device = dict(h.apply_request(), profile="device")
        app = self.admin("application-approve", {"id": self.apply(device)["id"]})
        mail = cfmail.body(self.maildir().find(h.email, "envelope")[-1])
        plain, _ = cfmail.open_envelope(mail, cfremote.PASSPHRASE)
        SECRETS.update((plain["activationCode"], plain["emergencyCode"]))
        self.assertEqual(plain["reference"], app["reference"])
        h.key = Key.generate()
        r = self.client.activate(h.key, plain["reference"], plain["activationCode"], make_csr(Key.generate()))
        act = self.expect(r, 201, "activate-response")
        h.kid, h.credential = act["account"], act["credential"]["id"]
        self.admin("application-approve", {"id": self.apply(h.apply_request())["id"]})
        h.read_delivery()
        if change_password:
            self.expect(h.login(), 201, allow_secret=True)  # the answer holds the token
            self.expect(h.change_password(), 200)
        return h

    def status_of(self, h, token):
        return h.bearer("/v1/portal/status", {}, token=token)


class TestQrLogin(QrLoginTest):
    def test_an_approved_challenge_grants_one_working_session_to_the_waiting_side(self):
        h = self.holder("a")
        start = self.start()
        self.assertTrue(start["challenge"].startswith("certflow-login:"))
        self.assertLessEqual(len(start["challenge"]), 40, "the challenge text stays short (small QR code)")
        self.assertEqual(self.poll(start["pollToken"], 202)["status"], "pending")
        self.assertEqual(self.poll(start["pollToken"], 202)["status"], "pending", "polling changes nothing")
        ok = self.approve(h, start["challenge"])
        self.assertEqual((ok["approved"], ok["userId"]), (True, h.user_id))
        self.approve(h, start["challenge"], 409, "conflict")
        got = self.poll(start["pollToken"])
        self.assertEqual((got["userId"], got["mustChangePassword"]), (h.user_id, False))
        self.assertGreater(parse_time(got["expiresAt"]), parse_time(start["expiresAt"]),
                           "the session outlives the challenge")
        r = self.status_of(h, got["token"])
        self.expect(r, 200)
        self.assertEqual(r.json()["userId"], h.user_id)
        self.poll(start["pollToken"], 403, "badToken")
        self.approve(h, start["challenge"], 409, "conflict")

    def test_a_named_user_id_is_approved_only_by_an_agent_of_that_login(self):
        a, b = self.holder("a"), self.holder("b", change_password=False)
        start = self.start({"userId": a.user_id})
        doc = self.approve(b, start["challenge"], 403, "unauthorized")
        self.assertNotIn(a.user_id, json.dumps(doc), "the refusal does not tell the named user id")
        self.assertEqual(self.poll(start["pollToken"], 202)["status"], "pending", "a refusal changes nothing")
        self.assertEqual(self.approve(a, start["challenge"])["userId"], a.user_id)
        self.assertEqual(self.poll(start["pollToken"])["userId"], a.user_id)

    def test_a_login_that_must_change_its_password_gets_a_restricted_session(self):
        b = self.holder("b", change_password=False)
        start = self.start({"userId": b.user_id})
        self.approve(b, start["challenge"], credential=False)
        got = self.poll(start["pollToken"])
        self.assertEqual((got["userId"], got["mustChangePassword"]), (b.user_id, True))
        self.expect(self.status_of(b, got["token"]), 403, problem="passwordChangeRequired")

    def test_an_account_without_a_credential_of_a_subject_with_a_login_is_refused(self):
        act = self.activate()  # an operator-made enrolment code: no subject
        nobody = Account(act.key, act.kid, act.credential["id"])
        start = self.start()
        self.approve(nobody, start["challenge"], 403, "unauthorized")
        self.approve(nobody, start["challenge"], 403, "unauthorized", credential=False)
        self.assertEqual(self.poll(start["pollToken"], 202)["status"], "pending")

    def test_another_accounts_credential_cannot_be_named(self):
        a, b = self.holder("a"), self.holder("b", change_password=False)
        start = self.start()
        thief = Account(b.key, b.kid, a.credential)
        self.approve(thief, start["challenge"], 403, "unauthorized")

    def test_unknown_challenges_and_poll_tokens_are_bad_tokens(self):
        h = self.holder("a")
        self.approve(h, "certflow-login:" + "A" * 22, 403, "badToken")
        self.poll(cfclient.b64u(b"\0" * 32), 403, "badToken")

    def test_malformed_requests_are_refused(self):
        h = self.holder("a")
        for bad in ("123", "12345678901", 4715230968, "abcdefghij"):
            with self.subTest(userId=bad):
                self.start({"userId": bad}, 400, "malformed")
        for bad in ("certflow-login:short", "other:" + "A" * 22, "certflow-login:" + "A" * 21 + "*", ""):
            with self.subTest(challenge=bad):
                self.approve(h, bad, 400, "malformed")
        for bad in ("abc", "A" * 44, "A" * 42 + "!"):
            with self.subTest(pollToken=bad):
                self.poll(bad, 400, "malformed")
        start = self.start()
        r = self.client.post(self.dir["qrLoginApprove"], h.key, {"challenge": start["challenge"]}, use_jwk=True)
        self.expect(r, 400, problem="malformed")
        r = self.client.post(self.dir["qrLogin"], h.key, {}, kid=h.kid)
        self.expect(r, 400, problem="malformed")

    def test_the_audit_trail_holds_each_step_and_no_token(self):
        h = self.holder("a")
        start = self.start()
        self.approve(h, start["challenge"])
        got = self.poll(start["pollToken"])
        events = self.audit(object="login:" + h.user_id)["events"]
        actions = [e["action"] for e in events]
        self.assertIn("qrlogin.approve", actions)
        self.assertIn("qrlogin.grant", actions)
        cid = start["challenge"].split(":", 1)[1]
        started = self.audit(object="qrlogin:" + cid)["events"]
        self.assertEqual([e["action"] for e in started], ["qrlogin.start"])
        text = json.dumps(self.audit(limit=500))
        for secret in (start["pollToken"], got["token"]):
            self.assertNotIn(secret, text)

    def test_an_expired_challenge_is_a_bad_token(self):
        h = self.holder("a")
        clock = cfremote.ServerClock(self, CONFIG.get("clock_file"))
        start = self.start()
        clock.set(int(parse_time(start["expiresAt"]).timestamp()) + 1)
        self.approve(h, start["challenge"], 403, "badToken")
        self.poll(start["pollToken"], 403, "badToken")
        late = self.start()
        self.approve(h, late["challenge"])
        clock.set(int(parse_time(late["expiresAt"]).timestamp()) + 1)
        self.poll(late["pollToken"], 403, "badToken")
