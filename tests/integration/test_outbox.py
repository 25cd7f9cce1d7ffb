#!/usr/bin/python3
"""The outbox through the real server (spec/protocol.md §18): an approved application's two
e-mails land in the maildir as RFC 5322 files, go to the e-mail program too, a failing program is
retried on the server's clock without a second maildir copy, and `certflow-admin outbox list`
shows the messages but never their text."""
import json
import os
import time
import unittest

from harness import CertflowTestCase, program, run

PASS = "Envelope-Pass1!"
WAIT = 20.0


class OutboxTest(CertflowTestCase):
    def apply(self, srv, n=1):
        form, r = self.apply_signing(srv, n, PASS)
        self.assertIn("status: approved", r.out)
        return form["email"]

    def outbox(self, srv, *args):
        return self.admin_ok(srv, "outbox", "list", *args, json_out=True)["messages"]

    def wait_outbox(self, srv, pred, what):
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            msgs = self.outbox(srv)
            if pred(msgs):
                return msgs
            time.sleep(0.2)
        self.fail(f"outbox never showed {what}: {msgs}")

    def wait_mails(self, srv, n):
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            mails = srv.mails()
            if len(mails) >= n:
                return mails
            time.sleep(0.1)
        self.fail(f"{n} mails expected in {srv.maildir}, found {len(srv.mails())}")

    def script(self, name, body):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write("#!/bin/sh\n" + body + "\n")
        os.chmod(path, 0o700)
        return path

    def test_approval_mails_reach_the_maildir_and_the_listing_shows_no_text(self):
        srv = self.start_server(config={"auto_approve": "signing", "mail_from": "ca@example.org"})
        to = self.apply(srv)
        ref, env = self.wait_mails(srv, 2)
        for m in (ref, env):
            self.assertEqual(m["From"], "ca@example.org")
            self.assertEqual(m["To"], to)
            self.assertEqual(m["Content-Type"], "text/plain; charset=\"utf-8\"")
            self.assertEqual(m["MIME-Version"], "1.0")
            self.assertRegex(m["Message-ID"], r"^<\d+\.[0-9a-f]{16}@localhost>$")
            self.assertIsNotNone(m["Date"].datetime)
        self.assertEqual(ref["Subject"], "certflow: your reference number")
        self.assertEqual(env["Subject"], "certflow: your envelope")
        reference = ref.get_content().split("Your reference number: ")[1].split()[0]
        self.assertRegex(reference, r"^\d{4}-\d{4}-\d{4}$")

        msgs = self.wait_outbox(srv, lambda ms: all(m["state"] == "sent" for m in ms), "sent")
        self.assertEqual([(m["template"], m["to"], m["channel"]) for m in msgs],
                         [("reference", to, "email"), ("envelope", to, "email")])
        text = json.dumps(msgs)
        self.assertNotIn(reference, text)
        self.assertNotIn(reference.replace("-", ""), text)
        self.assertNotIn("ENVELOPE", text)
        self.assertEqual(self.outbox(srv, "--state", "failed"), [])
        table = self.admin_ok(srv, "outbox", "list").out
        self.assertIn("reference", table)
        self.assertNotIn(reference, table)

    def test_failing_email_program_is_retried_on_the_server_clock(self):
        marker = os.path.join(self.tmp, "fail-once")
        got = os.path.join(self.tmp, "got")
        with open(marker, "w"):
            pass
        cmd = self.script("sendmail.sh",
                          f'if [ -e {marker} ]; then cat >/dev/null; exit 75; fi\n'
                          f'cat >> {got}; echo "== $*" >> {got}')
        srv = self.start_server(config={"auto_approve": "signing", "email_command": cmd + " -i",
                                        "notify_retry_base": 600, "notify_retry_max": 3600})
        to = self.apply(srv)
        msgs = self.wait_outbox(srv, lambda ms: len(ms) == 2 and all(m["attempts"] == 1 for m in ms),
                                "one failed attempt each")
        for m in msgs:
            self.assertEqual(m["state"], "queued")
            self.assertEqual(m["lastError"], "program exited 75")
        self.assertEqual(len(srv.mails()), 2)  # the maildir has its copy already

        os.unlink(marker)  # the program works from now on, once the retry is due
        srv.clock.advance(seconds=700)
        msgs = self.wait_outbox(srv, lambda ms: all(m["state"] == "sent" for m in ms), "sent")
        # two attempts made: the failed one and the one that delivered
        self.assertTrue(all(m["attempts"] == 2 for m in msgs), msgs)
        with open(got) as f:
            received = f.read()
        self.assertEqual(received.count(f"== -i {to}\n"), 2)
        self.assertIn("Subject: certflow: your reference number", received)
        self.assertEqual(len(srv.mails()), 2)  # no second maildir copy

    def test_template_with_an_unknown_placeholder_stops_the_start(self):
        tdir = os.path.join(self.tmp, "templates")
        os.makedirs(tdir)
        with open(os.path.join(tdir, "rejected.email"), "w") as f:
            f.write("Subject: sorry\n\nHello {{givenName}}: {{reasons}}\n")
        r = run([program("certflowd"), "--data", os.path.join(self.tmp, "data"),
                 "--listen", "127.0.0.1:0", "--config", self.conf({"templates": tdir})])
        self.assertEqual(r.rc, 1, repr(r))
        self.assertEqual(len(r.err.strip().splitlines()), 1, r.err)
        self.assertIn("{{reasons}}", r.err)

    def conf(self, keys):
        path = os.path.join(self.tmp, "certflowd.conf")
        with open(path, "w") as f:
            for k, v in keys.items():
                f.write(f"{k} = {v}\n")
        return path


if __name__ == "__main__":
    unittest.main()
