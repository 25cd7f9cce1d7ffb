"""Coupons and the update on the operator's demand (spec/protocol.md §26.3-§26.6), with the real
certflowd and certflow-admin: `coupon issue|list|cancel` (codes shown once, never listed or
audited), `update mark --profile remote` → the holder's update-notice e-mail, the notice in the
login answer and in the portal status; the holder's update in two steps with two SMS codes from
the real maildir (a new code for the ticket; a used code refused); the old certificate revoked
as superseded on the CRL, a new key pair, the new envelope opened with the new passphrase
holding the new PUK, which unblocks (the old one does not); the ticket single use."""

import json
import os
import re
import sys

from cryptography import x509

from harness import CertflowTestCase, ts

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "conformance"))
import cfclient  # noqa: E402
import cfremote  # noqa: E402

SERVER = {"otp_resend_secs": 0, "otp_resend_per_hour": 100}
PASSPHRASE = "Upd4te-Envelope!"
CODE_RE = re.compile(r"\b([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})\b")



def assert_secret_absent(test, secret, text):
    """secret does not appear in text as a token of its own. A 6-digit code may well be part of a
    longer random number (a 10-digit user id held "331820" once): only a match that no letter or
    digit continues on either side is a leak."""
    m = re.search(r"(?<![A-Za-z0-9])%s(?![A-Za-z0-9])" % re.escape(secret), text)
    test.assertIsNone(m, "a secret appears in the text at offset %d" % (m.start() if m else -1))

class RemoteUpdate(CertflowTestCase):
    def setUp(self):
        super().setUp()
        self.srv = self.start_server(config=SERVER)
        self.client = cfclient.Client(self.srv.url, self.srv.ca_file,
                                      cfclient.Key.load_pem(os.path.join(self.srv.data, "admin.key")))
        self.secrets = set()

    def holder(self):
        return cfremote.make_active(self.client, self.srv.maildir, self.secrets)

    def no_secret_in(self, text):
        for s in self.secrets:
            assert_secret_absent(self, s, text)

    def test_coupons_are_issued_listed_and_cancelled_with_the_admin_cli(self):
        r = self.admin_ok(self.srv, "coupon", "issue", "--count", "3", "--profile", "remote",
                          "--days", "30", "--note", "order 4711")
        codes = CODE_RE.findall(r.out)
        self.assertEqual(len(set(codes)), 3, r.out)
        self.secrets.update(codes)
        listed = self.admin_ok(self.srv, "coupon", "list", json_out=True)["coupons"]
        self.assertEqual(len(listed), 3)
        self.assertEqual({c["status"] for c in listed}, {"issued"})
        self.assertEqual({c["note"] for c in listed}, {"order 4711"})
        text = self.admin_ok(self.srv, "coupon", "list").out
        self.assertEqual(len(text.strip().splitlines()), 4, text)
        self.no_secret_in(text + json.dumps(listed))
        r = self.admin_ok(self.srv, "coupon", "cancel", listed[0]["id"])
        self.assertRegex(r.out, r"status: cancelled")
        r = self.admin(self.srv, "coupon", "cancel", listed[0]["id"])
        self.assertEqual(r.rc, 1)
        self.assert_one_line_error(r)
        for bad in (["--count", "101"], ["--days", "0"], ["extra"]):
            r = self.admin(self.srv, "coupon", "issue", *bad)
            self.assertEqual(r.rc, 2, f"{r!r}")
        states = {c["id"]: c["status"] for c in self.admin_ok(self.srv, "coupon", "list",
                                                               json_out=True)["coupons"]}
        self.assertEqual(sorted(states.values()), ["cancelled", "issued", "issued"])
        audit = self.admin_ok(self.srv, "audit", "--limit", "500", json_out=True)["events"]
        actions = [e["action"] for e in audit]
        self.assertIn("coupon.issue", actions)
        self.assertIn("coupon.cancel", actions)
        self.no_secret_in(json.dumps(audit) + self.srv.stderr)

    def test_update_on_demand_walks_two_codes_and_supersedes_the_old_certificate(self):
        h = self.holder()
        before = h.credential(h.credential_id)
        old_puk = h.puk
        r = self.admin_ok(self.srv, "update", "mark", "--profile", "remote", "--by", "2099-01-31",
                          "--note", "new issuing CA")
        self.assertRegex(r.out, r"marked: 1\b")
        notice = cfremote.cfmail.body(h.mailbox.find(h.email, "update-notice")[-1])
        self.assertIn("2099-01-31T00:00:00Z", notice)
        self.assertIn("new issuing CA", notice)

        # the notice at login and in the status
        r = h.login()
        self.assertEqual(r.status, 201, r.body)
        self.assertIn({"credentialId": h.credential_id, "updateBy": "2099-01-31T00:00:00Z",
                       "note": "new issuing CA"}, r.json()["notices"])
        cred = h.credential(h.credential_id)
        self.assertEqual((cred["updateBy"], cred["updateNote"]), ("2099-01-31T00:00:00Z", "new issuing CA"))

        # step 1: consents + PIN + code → a ticket
        first = h.sms()
        r = h.update_start(h.credential_id, first)
        self.assertEqual(r.status, 201, r.body)
        ticket = r.json()["ticket"]
        self.secrets.add(ticket)
        self.assertRegex(ticket, r"^[A-Za-z0-9_-]{43}$")
        # "send a new code": an SMS for the ticket; the used code of step 1 is refused
        r = h.update_otp(ticket)
        self.assertEqual(r.status, 202, r.body)
        second = h.next_sms()
        r = h.update_complete(ticket, first, PASSPHRASE)
        self.assertEqual((r.status, r.json()["type"]), (403, "urn:certflow:error:badOTP"), r.body)
        r = h.update_complete(ticket, second, "weak")
        self.assertEqual(r.status, 400, r.body)
        r = h.update_complete(ticket, second, PASSPHRASE)
        self.assertEqual(r.status, 200, r.body)
        doc = r.json()
        self.assertNotEqual(doc["serial"], before["serial"])
        new_cert = x509.load_pem_x509_certificate(doc["certificate"].encode())
        old_cert = x509.load_pem_x509_certificate(before["certificate"].encode())
        self.assertNotEqual(new_cert.public_key().public_numbers(), old_cert.public_key().public_numbers())
        # single use
        r = h.update_complete(ticket, second, PASSPHRASE)
        self.assertEqual((r.status, r.json()["type"]), (403, "urn:certflow:error:badToken"), r.body)

        # the old certificate is on the CRL as superseded; the mark is gone
        _, crl_der = self.srv.crl_der()
        crl = x509.load_der_x509_crl(crl_der)
        entry = crl.get_revoked_certificate_by_serial_number(old_cert.serial_number)
        self.assertIsNotNone(entry, "the old certificate is on the CRL")
        reason = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
        self.assertEqual(reason, x509.ReasonFlags.superseded)
        self.assertIsNone(crl.get_revoked_certificate_by_serial_number(new_cert.serial_number))
        cred = h.credential(h.credential_id)
        self.assertEqual((cred["serial"], cred["status"]), (doc["serial"], "active"))
        self.assertNotIn("updateBy", cred)

        # the new envelope opens with the new passphrase and holds the new PUK
        plain, number = h.renewal_envelope(PASSPHRASE)
        self.assertEqual(number, 2)
        self.assertNotEqual(plain["puk"], old_puk)
        r = h.activate(h.credential_id, old_puk, "55667788", h.sms())
        self.assertEqual((r.status, r.json()["type"]), (403, "urn:certflow:error:badPUK"), r.body)
        r = h.activate(h.credential_id, plain["puk"], "55667788", h.sms())
        self.assertEqual(r.status, 200, r.body)

        audit = self.admin_ok(self.srv, "audit", "--limit", "500", json_out=True)["events"]
        actions = [e["action"] for e in audit]
        for a in ("update.mark", "remote.update.start", "remote.update"):
            self.assertIn(a, actions)
        self.no_secret_in(json.dumps(audit) + self.srv.stderr)

    def test_update_needs_the_operators_mark_and_a_live_ticket(self):
        h = self.holder()
        r = h.update_start(h.credential_id, h.sms())
        self.assertEqual((r.status, r.json()["type"]), (409, "urn:certflow:error:conflict"), r.body)
        r = self.admin(self.srv, "update", "mark", "--credential", h.credential_id)
        self.assertEqual(r.rc, 2, f"{r!r}")
        r = self.admin(self.srv, "update", "mark", "--all", "--profile", "remote", "--by", "2099-01-01")
        self.assertEqual(r.rc, 2, f"{r!r}")
        self.admin_ok(self.srv, "update", "mark", "--credential", h.credential_id, "--by", "2099-01-01")
        r = h.update_otp("A" * 43)
        self.assertEqual((r.status, r.json()["type"]), (403, "urn:certflow:error:badToken"), r.body)
        r = h.update_start(h.credential_id, h.sms(), pin=cfremote.other_digits(h.pin))
        self.assertEqual((r.status, r.json()["attemptsLeft"]), (403, 4), r.body)
        r = h.update_start(h.credential_id, h.sms())
        self.assertEqual(r.status, 201, r.body)
        ticket = r.json()["ticket"]
        self.secrets.add(ticket)
        # the ticket expires after update_minutes (15)
        self.srv.clock.advance(seconds=16 * 60)
        self.client.nonce = None  # nonces expired with the jump
        self.assertEqual(h.login().status, 201)
        r = h.update_otp(ticket)
        self.assertEqual((r.status, r.json()["type"]), (403, "urn:certflow:error:badToken"), r.body)


class RenewalEntitlementProgram(CertflowTestCase):
    """entitlement = program (§26.3): the operator's program decides, with only public facts in
    its environment; a refusal is entitlementRequired and nothing is used."""

    def test_the_entitlement_program_decides_and_sees_no_secret(self):
        seen = os.path.join(self.tmp, "seen")
        prog = os.path.join(self.tmp, "entitled.sh")
        with open(prog, "w") as f:
            f.write("#!/bin/sh\nenv > %s.$$\n[ -e %s/allow ]\n" % (seen, self.tmp))
        os.chmod(prog, 0o755)
        srv = self.start_server(config=dict(SERVER, entitlement="program", entitlement_command=prog))
        client = cfclient.Client(srv.url, srv.ca_file,
                                 cfclient.Key.load_pem(os.path.join(srv.data, "admin.key")))
        secrets = set()
        h = cfremote.make_active(client, srv.maildir, secrets)
        na = x509.load_pem_x509_certificate(h.credential(h.credential_id)["certificate"].encode())
        srv.clock.set_time(ts(na.not_valid_after) - 10 * 86400)
        client.nonce = None
        self.assertEqual(h.login().status, 201)
        code = h.sms()
        r = h.renew(h.credential_id, code, PASSPHRASE)
        self.assertEqual((r.status, r.json()["type"]), (402, "urn:certflow:error:entitlementRequired"), r.body)
        open(os.path.join(self.tmp, "allow"), "w").close()
        r = h.renew(h.credential_id, code, PASSPHRASE)  # the code was not used by the refusal
        self.assertEqual(r.status, 200, r.body)
        envs = []
        for n in sorted(os.listdir(self.tmp)):
            if n.startswith("seen."):
                with open(os.path.join(self.tmp, n)) as f:
                    envs.append(f.read())
        self.assertEqual(len(envs), 2)
        for env in envs:
            self.assertIn("CERTFLOW_CREDENTIAL=%s\n" % h.credential_id, env)
            self.assertIn("CERTFLOW_PROFILE=remote\n", env)
            self.assertIn("CERTFLOW_USER_ID=%s\n" % h.user_id, env)
            self.assertRegex(env, r"CERTFLOW_SUBJECT_ID=\S+\n")
            self.assertEqual(sorted(l.split("=")[0] for l in env.splitlines() if "=" in l and
                                    not l.startswith(("PWD=", "SHLVL=", "_="))),
                             ["CERTFLOW_CREDENTIAL", "CERTFLOW_PROFILE", "CERTFLOW_SUBJECT_ID",
                              "CERTFLOW_USER_ID", "PATH"])
            for s in secrets | {h.pin, code, PASSPHRASE}:
                assert_secret_absent(self, s, env)
