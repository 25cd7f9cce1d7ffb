"""certflow-admin over applications, subjects and the audit trail, and approval by policy: the real
certflowd and certflow-admin; applications are filed with the conformance suite's own protocol
client (tests/conformance/cfclient.py), so that these tests do not depend on the agent."""

import json
import os
import sys

from harness import CertflowTestCase

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "conformance"))
import cfclient  # noqa: E402
import cfmail  # noqa: E402

PASSPHRASE = "Adm1n-Test-Pass!"


def form(n, profile="device", surname="Okafor"):
    return {"profile": profile, "givenName": "Ngozi", "surname": surname, "uniqueId": f"ngozi-{n}",
            "email": f"ngozi{n}@pro.example", "altEmail": f"ngozi{n}@home.example", "mobile": "+2348012345678",
            "questions": [{"question": f"Question {i}?", "answer": f"answer {i}"} for i in range(3)],
            "consents": ["terms", "privacy"], "envelopePassphrase": PASSPHRASE}


class AdminApplicationTests(CertflowTestCase):
    def client(self, srv):
        return cfclient.Client(srv.url, srv.ca_file)

    def apply(self, srv, payload):
        c = self.client(srv)
        r = c.post(c.directory()["apply"], cfclient.Key.generate(), payload, use_jwk=True)
        self.assertEqual(r.status, 201, r.body)
        return r.json()

    def test_list_show_approve_reject_audit_and_unlock(self):
        srv = self.start_server()
        a = self.apply(srv, form(1))
        b = self.apply(srv, form(2))
        self.apply(srv, form(1, surname="Adeyemi"))  # same address, other identity
        r = self.admin_ok(srv, "application", "list")
        lines = r.out.splitlines()
        self.assertEqual(lines[0].split()[:4], ["ID", "STATUS", "PROFILE", "NAME"])
        self.assertEqual(len(lines), 4, r.out)
        self.assertIn("Ngozi Okafor", r.out)
        self.assertEqual([ln.split()[-2] for ln in lines[1:]], ["no", "no", "yes"], "the REVIEW column")
        r = self.admin_ok(srv, "application", "approve", a["id"])
        self.assertRegex(r.out, r"reference: \d{4}-\d{4}-\d{4}\n")
        self.assertRegex(r.out, r"status: approved\n")
        r = self.admin(srv, "application", "approve", a["id"])
        self.assertEqual(r.rc, 1)
        self.assert_one_line_error(r)
        r = self.admin(srv, "application", "reject", b["id"])
        self.assertEqual(r.rc, 2, "reject without --reason is a usage error")
        shown = self.admin_ok(srv, "application", "reject", b["id"], "--reason", "no such person",
                              json_out=True)
        self.assertEqual((shown["status"], shown["reason"]), ("rejected", "no such person"))
        listed = self.admin_ok(srv, "application", "list", "--status", "rejected", json_out=True)
        self.assertEqual([x["id"] for x in listed["applications"]], [b["id"]])
        self.assertEqual(self.admin(srv, "application", "list", "--status", "odd").rc, 2)
        shown = self.admin_ok(srv, "application", "show", a["id"], json_out=True)
        subject = shown["subject"]["id"]
        r = self.admin_ok(srv, "unlock", subject)
        self.assertRegex(r.out, r"OTP failures: 0\n")
        # a person who lost both addresses: the operator checks who they are, then changes them
        self.assertEqual(self.admin(srv, "subject", "update", subject, "--mobile",
                                    "+447700900777").rc, 2, "the identity check is required")
        moved = self.admin_ok(srv, "--json", "subject", "update", subject, "--email",
                              "moved@example.org", "--mobile", "+447700900777",
                              "--identity-checked", "passport at the desk").out
        self.assertIn('"email":"moved@example.org"', moved.replace(" ", ""))
        self.assertIn('"mobile":"+447700900777"', moved.replace(" ", ""))
        # the audit trail: every step above, in order, no secret; paging and the object filter
        r = self.admin_ok(srv, "audit")
        self.assertEqual(r.out.splitlines()[0].split()[:5], ["SEQ", "AT", "ACTOR", "OPERATOR", "ACTION"])
        for action in ("application.create", "application.approve", "application.reject", "unlock",
                       "subject.update"):
            self.assertIn(action, r.out)
        for secret in (PASSPHRASE, "answer 0", "answer 1", "answer 2"):
            self.assertNotIn(secret, r.out)
        r = self.admin_ok(srv, "audit", "--limit", "2")
        self.assertEqual(len(r.out.splitlines()), 3 + 2)  # header, 2 rows, blank, "more events"
        self.assertIn("more events: certflow-admin audit --after 2", r.out)
        page = self.admin_ok(srv, "audit", "--after", "2", "--object", "application:" + b["id"],
                             json_out=True)
        self.assertEqual([e["action"] for e in page["events"]], ["application.reject"])
        self.assertEqual(self.admin(srv, "audit", "--limit", "501").rc, 2)

    def test_policy_approves_a_matching_profile_and_never_one_that_needs_review(self):
        srv = self.start_server(config={"auto_approve": "device"})
        a = self.apply(srv, form(3))
        self.assertEqual(a["status"], "approved")
        shown = self.admin_ok(srv, "application", "show", a["id"], json_out=True)
        self.assertEqual(shown["decidedBy"], "policy")
        plain, number = cfmail.open_envelope(
            cfmail.body(cfmail.Maildir(srv.maildir).find(form(3)["email"], "envelope")[-1]), PASSPHRASE)
        self.assertEqual((plain["reference"], number), (shown["reference"], 1))
        self.assertEqual(self.apply(srv, form(3, surname="Other"))["status"], "pending",
                         "an identity that differs from the subject's is left to an operator")
        self.assertEqual(self.apply(srv, form(4, profile="signing"))["status"], "pending")
        events = self.admin_ok(srv, "audit", json_out=True)["events"]
        approvals = [e for e in events if e["action"] == "application.approve"]
        self.assertEqual([(e["actor"], e["object"]) for e in approvals], [("policy", "application:" + a["id"])])


if __name__ == "__main__":
    import unittest

    unittest.main()
