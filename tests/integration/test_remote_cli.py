"""The holder of a remote credential, end to end with the real certflowd, certflow-admin and
certflow-agent: apply (profile remote) → approval → the credentials e-mail and the envelope (PIN,
PUK) from the real maildir → login → forced password change → status "pending" → activate with
PUK + new PIN + SMS code → sign two files (CSC authorize + signHash), both signatures verified
by openssl against the issued certificate's public key → 5 wrong PINs block → unblock with the
PUK → signing works again; remote renewal inside the window with an operator's coupon (when the
server has it). With CERTFLOW_VALGRIND=1 `sign` and `portal status` also run under memcheck.
"""

import json
import os
import re
import time
import unittest

from harness import DAY, child_env, load_cert, program, ts

import test_journeys as journeys  # a module, so its test classes are not collected here

try:
    from test_valgrind import VALGRIND, ValgrindRuns
except ImportError:  # pragma: no cover
    VALGRIND, ValgrindRuns = False, None

PASSWORD = "New-Portal-Pw1!"
# a code per step: no resend interval, enough codes an hour for the walk
SERVER = {"otp_resend_secs": 0, "otp_resend_per_hour": 100}
RENEW_PASS = "Renewal-Envel0pe?"


def sms_wait(srv, mobile, timeout=journeys.MAIL_TIMEOUT):
    """The 6-digit code of the next unread SMS to mobile (any template)."""
    deadline = time.monotonic() + timeout
    while True:
        for path, msg in srv.mail._unread():
            if str(msg["To"]).strip() == mobile and msg["X-Certflow-Channel"] == "sms":
                srv.mail.taken.add(path)
                m = re.search(r"\b(\d{6})\b", journeys.body(msg))
                if m:
                    return m.group(1)
        if time.monotonic() > deadline:
            raise AssertionError(f"no SMS to {mobile} within {timeout} s")
        time.sleep(0.1)


def credential_blocks(text):
    """`portal status` output as {credential id: {name: value}}."""
    out, cur = {}, None
    for line in text.splitlines():
        m = re.match(r"^credential: (\S+)$", line)
        if m:
            cur = out.setdefault(m.group(1), {})
            continue
        m = re.match(r"^  ([A-Za-z]+): (.*)$", line)
        if m and cur is not None:
            cur[m.group(1)] = m.group(2)
    return out


class RemoteHolder(journeys.JourneyTestCase):
    AGENT_TIMEOUT = 120
    valgrind_cmds = ()  # commands run under memcheck (the Valgrind variant below)

    def agent(self, srv, *args, input=None, timeout=None):
        wrap = []
        if args and args[0] in self.valgrind_cmds:
            wrap = self.wrapper(args[0])
        # The agent runs on the real clock: the server's test clock moves years ahead for the
        # renewal, past its own TLS certificate; the session's expiry is the server's to judge.
        r = self.run_prog(wrap + [program("certflow-agent"), *args], input=input,
                          timeout=timeout or self.AGENT_TIMEOUT, env=child_env(None))
        if wrap:
            self.assert_log_clean(" ".join(args[:2]))
        return r

    # --- the holder's steps ---
    def portal(self, srv, *args, input=None):
        return self.agent(srv, *args, "--session-file", self.session, input=input)

    def sms(self, srv, person):
        """Have an SMS code sent for the session and read it from the maildir."""
        self.assert_ok(self.portal(srv, "portal", "otp"))
        code = sms_wait(srv, person.mobile)
        self.secrets.add(code)
        return code

    def remote_approved(self, srv, person):
        """apply (profile remote) → approve → the two e-mails: (user id, first password,
        the opened envelope {pin, puk, ...})."""
        app_id, status = self.apply(srv, person, profile="remote")
        self.assertEqual(status, "pending")
        self.assertEqual(self.admin_json(srv, "application", "approve", app_id).get("status"),
                         "approved")
        cred_mail = journeys.body(srv.mail.wait("remote-credentials", to=person.email))
        user = re.search(r"user id: (\d+)", cred_mail)
        pw = re.search(r"^First password: (.+)$", cred_mail, re.M)
        self.assertTrue(user and pw, cred_mail)
        env_mail = journeys.body(srv.mail.wait("remote-envelope", to=person.email))
        envelope = self.open_remote_envelope(srv, env_mail)
        for k in ("pin", "puk", "emergencyCode"):
            self.assertFalse(journeys.contains_secret(cred_mail, envelope[k]))
            self.assertFalse(journeys.contains_secret(env_mail, envelope[k]))
        self.secrets.update({pw.group(1), envelope["pin"], envelope["puk"]})
        return user.group(1), pw.group(1), envelope

    def open_remote_envelope(self, srv, mail_body):
        path = self.write("remote-envelope.txt", mail_body)
        pw = self.secret_file("open-pass", journeys.ENVELOPE_PASS)
        r = self.agent(srv, "envelope", "open", "--in", path, "--passphrase-file", pw, "--json")
        self.assertEqual(r.rc, 0, f"envelope open: {r!r}")
        doc = json.loads(r.out)
        for k in ("pin", "puk", "emergencyCode"):
            self.assertTrue(doc.get(k), f"envelope without {k}: {r.out}")
        return doc

    def status(self, srv):
        r = self.portal(srv, "portal", "status")
        self.assert_ok(r)
        return credential_blocks(r.out)

    def public_key(self, srv, cred_id):
        r = self.portal(srv, "portal", "status", "--json")
        self.assert_ok(r)
        doc = json.loads(r.out)
        cred = [c for c in doc["credentials"] if c["id"] == cred_id][0]
        pem = cred["certificate"]
        if isinstance(pem, dict):
            pem = pem.get("pem")
        self._pubs = getattr(self, "_pubs", 0) + 1  # each certificate's key a file of its own
        cert_path = self.write(f"cert-{self._pubs}.pem", pem, secret=False)
        pub = os.path.join(self.tmp, f"pub-{self._pubs}.pem")
        r = self.openssl("x509", "-in", cert_path, "-noout", "-pubkey", "-out", pub)
        self.assertEqual(r.rc, 0, f"{r!r}")
        return pub, cred

    def sign_and_verify(self, srv, person, cred_id, pin_file, pub, tag):
        files = []
        for i in (1, 2):
            path = self.write(f"doc-{tag}-{i}.txt", f"contract {tag} {i}\n" * (100 * i),
                              secret=False)
            files += ["--in", path]
        # sign --out-dir makes the directory (and its parents) when it is missing
        out_dir = os.path.join(self.tmp, f"sigs-{tag}", "out")
        self.assertFalse(os.path.exists(out_dir))
        code = self.sms(srv, person)
        r = self.portal(srv, "sign", "--credential", cred_id, "--pin-file", pin_file,
                        "--otp", code, *files, "--out-dir", out_dir)
        self.assert_ok(r)
        for path in files[1::2]:
            sig = os.path.join(out_dir, os.path.basename(path) + ".sig")
            self.assertIn(f"signed: {path} -> {sig}", r.out)
            v = self.openssl("dgst", "-sha256", "-verify", pub, "-signature", sig, path)
            self.assertEqual(v.rc, 0, f"openssl does not verify {sig}: {v!r}")
            self.assertIn("Verified OK", v.out)
        return out_dir

    def activated_holder(self, srv, p):
        """apply → … → login → password → activate: (user id, password file, credential id,
        PIN file, public key file, envelope)."""
        user, first_pw, env = self.remote_approved(srv, p)
        self.first_pw = first_pw
        self.session = os.path.join(self.tmp, "session.json")

        # login with the first password: a session file 0600, the password must change first
        pw_file = self.secret_file("first-pw", first_pw)
        r = self.agent_public(srv, "login", "--user", user, "--password-file", pw_file,
                              "--session-file", self.session)
        out = self.assert_ok(r)
        self.assertEqual(out.get("mustChangePassword"), "yes", r.out)
        self.assertEqual(os.stat(self.session).st_mode & 0o777, 0o600)
        with open(self.session) as f:
            sess = json.load(f)
        self.assertEqual(sess["userId"], user)
        self.assertRegex(sess["token"], r"^[A-Za-z0-9_-]{43}$")
        self.assertNotIn(sess["token"], r.out + r.err)
        self.assert_fails(self.portal(srv, "portal", "status"), "password")
        # a weak new password is refused before anything is sent
        weak = self.secret_file("weak-pw", "password")
        self.assert_fails(self.portal(srv, "password", "--password-file", pw_file,
                                      "--new-password-file", weak), "new password")
        new_pw = self.secret_file("new-pw", PASSWORD)
        self.assertEqual(self.assert_ok(self.portal(
            srv, "password", "--password-file", pw_file, "--new-password-file", new_pw)).get(
                "password"), "changed")

        # pending until activated
        creds = self.status(srv)
        self.assertEqual(len(creds), 1, creds)
        cred_id, c = next(iter(creds.items()))
        self.assertEqual(c.get("status"), "pending", c)

        # activate: PUK + new PIN + SMS code; a PIN of 7 digits is refused before sending
        puk = self.secret_file("puk", env["puk"])
        short = self.secret_file("short-pin", "1234567")
        self.assert_fails(self.portal(srv, "activate", "--credential", cred_id, "--puk-file", puk,
                                      "--new-pin-file", short, "--otp", "123456"), "8 digits")
        pin = self.secret_file("pin", "24681357")
        code = self.sms(srv, p)
        r = self.portal(srv, "activate", "--credential", cred_id, "--puk-file", puk,
                        "--new-pin-file", pin, "--otp", code)
        self.assert_ok(r)
        c = self.status(srv)[cred_id]
        self.assertEqual(c.get("status"), "active", c)
        self.assertRegex(c.get("pin", ""), r"^active \(5 tries left\)$")
        self.assertTrue(c.get("notAfter"), c)
        pub, _ = self.public_key(srv, cred_id)

        return user, new_pw, cred_id, pin, pub, env

    def test_forgotten_password_is_reset_from_the_mailed_token_and_an_sms_code(self):
        # issue 10 item 8: the forgot-password mail's journey with certflow-agent alone
        srv = self.start_journey_server(**SERVER)
        p = self.person()
        user, new_pw, cred_id, pin, pub, env = self.activated_holder(srv, p)
        r = self.agent_public(srv, "password forgot", "--email", p.email)
        self.assertEqual(self.assert_ok(r).get("status"), "sent", r.out)
        self.assertIn("password reset --token-file", r.out)
        text = journeys.body(srv.mail.wait("password-link", to=p.email))
        m = re.search(r"^Token: ([A-Za-z0-9_-]{43})$", text, re.M)
        self.assertTrue(m, text)
        self.secrets.add(m.group(1))
        token = self.secret_file("reset-token", m.group(1))
        # the mail's own footer is enough to trust the server (no --ca file)
        m = re.search(r"^certflow-agent \.\.\. --server (\S+) --ca-fingerprint (sha256:[0-9a-f]{64})$",
                      text, re.M)
        self.assertTrue(m, text)
        self.assertEqual(m.group(1), srv.url)
        r = self.agent(srv, "password", "reset", "--server", m.group(1), "--ca-fingerprint",
                       m.group(2), "--token-file", token, "--send-otp")
        self.assert_ok(r)
        code = self.secret_file("reset-code", sms_wait(srv, p.mobile))
        weak = self.secret_file("weak-reset", "password")
        self.assert_fails(self.agent_public(srv, "password reset", "--token-file", token,
                                            "--new-password-file", weak, "--otp-file", code),
                          "new password", rc=2)
        reset_pw = self.secret_file("reset-pw", "Reset-Portal-Pw2!")
        r = self.agent_public(srv, "password reset", "--token-file", token,
                              "--new-password-file", reset_pw, "--otp-file", code)
        self.assertEqual(self.assert_ok(r).get("password"), "changed", r.out)
        self.assertIn("login --user", r.out)
        # every session ended; the new password logs in, the old one does not
        self.assert_fails(self.portal(srv, "portal", "status"), "session expired")
        self.assert_fails(self.agent_public(srv, "login", "--user", user, "--password-file",
                                            new_pw, "--session-file", self.session))
        self.assert_ok(self.agent_public(srv, "login", "--user", user, "--password-file",
                                         reset_pw, "--session-file", self.session))
        self.assertIn(cred_id, self.status(srv))
        # the token is spent
        self.assert_fails(self.agent_public(srv, "password reset", "--token-file", token,
                                            "--new-password-file", reset_pw, "--otp-file",
                                            code))

    def test_holder_journey_activate_sign_block_unblock_and_renew(self):
        srv = self.start_journey_server(**SERVER)
        p = self.person()
        user, new_pw, cred_id, pin, pub, env = self.activated_holder(srv, p)
        puk = self.secret_file("puk", env["puk"])
        self.sign_and_verify(srv, p, cred_id, pin, pub, "first")

        # five wrong PINs (each with a good code): attempts count down, then blocked
        wrong = self.secret_file("wrong-pin", "11112222")
        doc = self.write("doc-x.txt", "x\n", secret=False)
        out_dir = os.path.join(self.tmp, "sigs-wrong")
        os.mkdir(out_dir)
        for left in (4, 3, 2, 1, 0):
            r = self.portal(srv, "sign", "--credential", cred_id, "--pin-file", wrong,
                            "--otp", self.sms(srv, p), "--in", doc, "--out-dir", out_dir)
            err = self.assert_fails(r)
            if left:
                self.assertIn(f"(attempts left: {left})", err)
            else:  # the fifth is answered as the lock itself (spec/errors.md, Counters)
                self.assertIn("PIN blocked", err)
        r = self.portal(srv, "sign", "--credential", cred_id, "--pin-file", pin,
                        "--otp", self.sms(srv, p), "--in", doc, "--out-dir", out_dir)
        self.assert_fails(r, "PIN blocked")
        self.assertEqual(os.listdir(out_dir), [])
        self.assertRegex(self.status(srv)[cred_id].get("pin", ""), r"^blocked")

        # unblock with the PUK and a new PIN: signing works again
        pin2 = self.secret_file("pin2", "97531864")
        self.assert_ok(self.portal(srv, "unblock", "--credential", cred_id, "--puk-file", puk,
                                   "--new-pin-file", pin2, "--otp", self.sms(srv, p)))
        self.sign_and_verify(srv, p, cred_id, pin2, pub, "again")

        # the secrets never reached the server's log or the audit trail
        audit = json.dumps(self.admin_json(srv, "audit", "--limit", "500")["events"])
        for action in ("login", "login.password", "remote.activate", "csc.authorize",
                       "csc.sign", "remote.unblock"):
            self.assertIn(f'"{action}"', audit)
        for s in (self.first_pw, PASSWORD, env["pin"], env["puk"], "24681357", "97531864"):
            self.assertFalse(journeys.contains_secret(srv.stderr + audit, s), s)

        self.renew_inside_window(srv, p, user, new_pw, cred_id, pin2)

        self.assert_ok(self.portal(srv, "logout"))
        self.assertFalse(os.path.exists(self.session))
        self.assert_fails(self.portal(srv, "portal", "status"), "session expired")

    def renew_inside_window(self, srv, person, user, pw_file, cred_id, pin):
        """remote-renew with a coupon, once the server has renewal (§26)."""
        r = self.admin(srv, "coupon", "issue", "--count", "1")
        if r.rc != 0 and ("unknown" in r.err.lower() or "usage" in r.err.lower()):
            self.skipTest("the server has no coupons yet (§26)")
        self.assertEqual(r.rc, 0, f"{r!r}")
        coupon = re.search(r"\b([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})\b", r.out)
        self.assertIsNotNone(coupon, r.out)
        c = self.status(srv)[cred_id]
        self.assertRegex(c.get("renewal", ""), r"^opens \S+ \(in \d+ days?\)$")
        not_after = c["notAfter"]
        passphrase = self.secret_file("renew-pass", RENEW_PASS)
        args = ("remote-renew", "--credential", cred_id, "--identity-unchanged",
                "--consents", "terms,privacy", "--pin-file", pin, "--passphrase-file", passphrase,
                "--coupon", coupon.group(1))
        # before the window: refused with the date it opens
        err = self.assert_fails(self.portal(srv, *args, "--otp", self.sms(srv, person)))
        self.assertIn("renewal", err.lower())
        # inside the window (the server's test clock), after a new login
        na = ts(load_cert(self.public_cert(srv, cred_id)).not_valid_after)
        srv.clock.set_time(na - 80 * DAY)
        self.assert_fails(self.portal(srv, "portal", "status"), "session expired")
        self.assert_ok(self.agent_public(srv, "login", "--user", user, "--password-file", pw_file,
                                         "--session-file", self.session))
        c = self.status(srv)[cred_id]
        # the days left to renew are the days before the certificate expires (80), never 0
        self.assertEqual(c.get("renewal", ""), "offered (80 days left to renew, until notAfter)",
                         c)
        self.assertEqual(c.get("daysLeft"), "80", c)
        self.assert_ok(self.portal(srv, *args, "--otp", self.sms(srv, person)))
        c = self.status(srv)[cred_id]
        self.assertNotEqual(c.get("notAfter"), not_after, c)
        self.assertNotRegex(c.get("renewal", ""), r"^offered")
        pub, _ = self.public_key(srv, cred_id)
        self.sign_and_verify(srv, person, cred_id, pin, pub, "renewed")

    def public_cert(self, srv, cred_id):
        r = self.portal(srv, "portal", "status", "--json")
        self.assert_ok(r)
        cred = [c for c in json.loads(r.out)["credentials"] if c["id"] == cred_id][0]
        pem = cred["certificate"]
        pem = pem.get("pem") if isinstance(pem, dict) else pem
        return self.write(f"now-{cred_id}.pem", pem, secret=False)

    def test_update_on_operator_demand_shows_notice_and_replaces_the_certificate(self):
        srv = self.start_journey_server(**SERVER)
        p = self.person()
        user, pw, cred_id, pin, pub, _ = self.activated_holder(srv, p)
        serial = self.status(srv)[cred_id]["serial"]
        self.admin_ok(srv, "update", "mark", "--credential", cred_id, "--by", "2099-01-31",
                      "--note", "new issuing CA")
        # the notice at login and in status
        out = self.agent_public(srv, "login", "--user", user, "--password-file", pw,
                                "--session-file", self.session)
        self.assert_ok(out)
        self.assertIn(f"notice: credential {cred_id}", out.out)
        self.assertIn("updateBy: 2099-01-31", out.out)
        c = self.status(srv)[cred_id]
        self.assertTrue(c.get("updateBy", "").startswith("2099-01-31"), c)
        self.assertEqual(c.get("updateNote"), "new issuing CA", c)
        # start: consents + PIN + code → a ticket; a new code; complete with the PIN kept
        # the ticket is a secret: written to a new file (0600), never printed or on a command line
        ticket = os.path.join(self.tmp, "update.ticket")
        r = self.portal(srv, "update", "--credential", cred_id, "--consents", "terms,privacy",
                        "--pin-file", pin, "--otp", self.sms(srv, p), "--ticket-file", ticket)
        kv = self.assert_ok(r)
        self.assertNotIn("ticket", kv, r.out)
        self.assertEqual(kv.get("ticketFile"), ticket, r.out)
        self.assertIn(f"--ticket-file {ticket}", r.out)
        self.assertEqual(os.stat(ticket).st_mode & 0o777, 0o600)
        with open(ticket) as f:
            self.assertNotIn(f.read().strip(), r.out + r.err)
        r = self.portal(srv, "update", "--credential", cred_id, "--consents", "terms,privacy",
                        "--pin-file", pin, "--otp", "123456", "--ticket-file", ticket)
        self.assertEqual(r.rc, 2, f"an existing ticket file is never overwritten: {r!r}")
        self.assert_ok(self.portal(srv, "update", "--ticket-file", ticket, "--send-otp"))
        code = sms_wait(srv, p.mobile)
        passphrase = self.secret_file("update-pass", RENEW_PASS)
        self.assert_ok(self.portal(srv, "update", "--ticket-file", ticket, "--otp", code,
                                   "--passphrase-file", passphrase))
        self.assertFalse(os.path.exists(ticket), "a spent ticket is removed")
        c = self.status(srv)[cred_id]
        self.assertNotEqual(c.get("serial"), serial, c)
        self.assertNotIn("updateBy", c)
        new_pub, _ = self.public_key(srv, cred_id)
        with open(pub) as a, open(new_pub) as b:
            self.assertNotEqual(a.read(), b.read(), "the update makes a new key pair")
        self.sign_and_verify(srv, p, cred_id, pin, new_pub, "updated")

    def test_portal_commands_refuse_bad_usage_and_missing_session(self):
        srv = self.start_journey_server(**SERVER)
        self.session = os.path.join(self.tmp, "none.json")
        pin = self.secret_file("pin", "24681357")
        for args in (["sign", "--credential", "c", "--pin-file", pin, "--otp", "123456"],
                     ["sign", "--credential", "c", "--pin-file", pin, "--otp", "12a456",
                      "--in", pin, "--out-dir", self.tmp],
                     ["activate", "--credential", "c", "--pin", "24681357"],
                     ["portal", "stats"],
                     ["update", "--ticket-file", pin, "--pin-file", pin]):
            r = self.portal(srv, *args)
            self.assertEqual(r.rc, 2, f"{r!r}")
        self.assert_fails(self.portal(srv, "portal", "status"), "session expired")
        too_many = []
        for i in range(65):
            too_many += ["--in", pin]
        r = self.portal(srv, "sign", "--credential", "c", "--pin-file", pin, "--otp", "123456",
                        "--out-dir", self.tmp, *too_many)
        self.assertEqual(r.rc, 2, f"{r!r}")
        self.assertIn("at most 64", r.err)


if ValgrindRuns is not None:
    @unittest.skipUnless(VALGRIND, "set CERTFLOW_VALGRIND=1 to run the agent under valgrind")
    class RemoteHolderUnderValgrind(ValgrindRuns, RemoteHolder):
        valgrind_cmds = ("login", "password", "portal", "activate", "unblock", "sign",
                         "remote-renew", "logout")
        AGENT_TIMEOUT = 600

        # the walk above only: the other tests run the same commands
        test_portal_commands_refuse_bad_usage_and_missing_session = None
        test_update_on_operator_demand_shows_notice_and_replaces_the_certificate = None
