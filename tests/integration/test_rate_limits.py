"""Rate limits (spec/protocol.md §28) on the real certflowd with limits set low in its config:
429 rateLimited with Retry-After, per client address and per target, the first refusal of a window
audited once, and the mails a stranger can make the server send to one person. Requests are made
with the conformance suite's protocol client (tests/conformance/cfclient.py)."""

import os
import sys
import time

from harness import CertflowTestCase

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "conformance"))
import cfclient  # noqa: E402

PASSPHRASE = "Rate-L1mit-Pass!"


def form(n):
    return {"profile": "device", "givenName": "Amara", "surname": "Nwosu", "uniqueId": f"amara-{n}",
            "email": f"amara{n}@pro.example", "altEmail": f"amara{n}@home.example", "mobile": "+2348012345678",
            "questions": [{"question": f"Question {i}?", "answer": f"answer {i}"} for i in range(3)],
            "consents": ["terms", "privacy"], "envelopePassphrase": PASSPHRASE}


class RateLimitTests(CertflowTestCase):
    def post(self, srv, name, payload):
        c = cfclient.Client(srv.url, srv.ca_file)
        return c.post(c.directory()[name], cfclient.Key.generate(), payload, use_jwk=True)

    def problem(self, r):
        return r.json().get("type", "").rsplit(":", 1)[-1]

    def mails_with(self, srv, subject):
        return [m for m in srv.mails() if m["Subject"] == subject]

    def test_six_recovery_requests_for_one_person_send_three_pairs_of_mails(self):
        srv = self.start_server(config={"auto_approve": "device"})
        r = self.post(srv, "apply", form(1))
        self.assertEqual(r.status, 201, r.body)
        answers = [self.post(srv, "recovery", {"email": form(1)["email"]}) for _ in range(6)]
        self.assertEqual([a.status for a in answers], [202] * 3 + [429] * 3)
        self.assertEqual({self.problem(a) for a in answers[3:]}, {"rateLimited"})
        for a in answers[3:]:
            self.assertRegex(a.header("retry-after") or "", r"^[0-9]+$")
            self.assertGreater(int(a.header("retry-after")), 3000, "the window of an hour")
        deadline = time.monotonic() + 10
        while len(self.mails_with(srv, "certflow: recover your credential")) < 6 and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)  # nothing more comes
        self.assertEqual(len(self.mails_with(srv, "certflow: recover your credential")), 6,
                         "three pairs (professional and alternate address), not six")

    def test_login_limit_per_address_refuses_with_retry_after_and_audits_once(self):
        srv = self.start_server(config={"rate_login_addr": 3, "rate_login_addr_secs": 600})
        wrong = {"password": "Wrong-Pa55word!"}
        statuses = [self.post(srv, "login", dict(wrong, userId="%010d" % (1000 + i))) for i in range(6)]
        self.assertEqual([r.status for r in statuses], [401] * 3 + [429] * 3,
                         "another user id each time: the per-address limit")
        r = statuses[-1]
        self.assertEqual(self.problem(r), "rateLimited")
        self.assertIn("retryAfter", r.json())
        self.assertTrue(500 <= int(r.header("retry-after")) <= 600)
        events = self.admin_ok(srv, "audit", json_out=True)["events"]
        limited = [e for e in events if e["action"] == "rate.limit"]
        self.assertEqual([(e["object"], e["result"]) for e in limited], [("login_addr", "rateLimited")],
                         "one event per window, not one per refusal")
        self.assertEqual([e["remote"] for e in limited], ["127.0.0.1"])
        logins = [e for e in events if e["action"] == "login"]
        self.assertEqual(len(logins), 3, "a refused login costs no KDF and leaves no login event")

    def test_login_limit_per_user_id_leaves_other_user_ids_alone(self):
        srv = self.start_server(config={"rate_login_user": 2, "rate_login_user_secs": 600})
        wrong = {"userId": "1234567890", "password": "Wrong-Pa55word!"}
        self.assertEqual([self.post(srv, "login", wrong).status for _ in range(3)], [401, 401, 429])
        self.assertEqual(self.post(srv, "login", dict(wrong, userId="1234567891")).status, 401)

    def test_applications_per_address_are_limited_and_zero_means_no_limit(self):
        srv = self.start_server(name="one", config={"rate_apply_addr": 1})
        self.assertEqual(self.post(srv, "apply", form(10)).status, 201)
        r = self.post(srv, "apply", form(11))
        self.assertEqual((r.status, self.problem(r)), (429, "rateLimited"))
        srv = self.start_server(name="none", config={"rate_apply_addr": 0})
        self.assertEqual([self.post(srv, "apply", form(20 + n)).status for n in range(3)], [201] * 3)


if __name__ == "__main__":
    import unittest

    unittest.main()
