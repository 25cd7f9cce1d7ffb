"""A person's journeys end to end: the real certflowd, certflow-admin and certflow-agent, the
messages read from the server's real maildir (DATA/maildir/new), TOTP codes from oathtool at the
server's test-clock time, QR codes decoded with zbarimg, certificates and CRLs checked with
openssl. Nothing is imitated.

apply → approve → reference and envelope by two e-mails → envelope open → enrol with a
password; expired reference → reference-renew with the security questions; recovery by e-mail
link, questions and OTP (SMS or TOTP) → new enrolment that supersedes the old certificate;
emergency suspension with the envelope's code; the audit trail holds every step and no secret.
"""

import email
import email.policy
import glob
import json
import os
import re
import time
import urllib.parse

from harness import DAY, CertflowTestCase, child_env, load_cert, program, serial_hex

# Low PBKDF2 work for the answers and envelopes so that the suite runs in seconds (the server
# accepts 1000 at least; production keeps 600000).
SERVER_CONFIG = {"kdf_iterations": 1000}
MAIL_TIMEOUT = 20.0

ENVELOPE_PASS = "Envelope-Pass1!"
NEW_ENVELOPE_PASS = "Second-Envel0pe?"
KEY_PASS = "Key-Passw0rd!"
NEW_KEY_PASS = "Fresh-Key-Pw9#"
QUESTIONS = [("Name of your first pet?", "Rex"), ("City where you were born?", "Montréal"),
             ("Favourite colour?", "Blue")]
WRONG = ["Felix", "Paris", "Green"]

ENVELOPE_RE = re.compile(r"-----BEGIN CERTFLOW ENVELOPE-----.*?-----END CERTFLOW ENVELOPE-----",
                         re.S)
REFERENCE_RE = re.compile(r"\b(\d{4}-\d{4}-\d{4})\b")
TOKEN_RE = re.compile(r"(?<![A-Za-z0-9_-])([A-Za-z0-9_-]{43})(?![A-Za-z0-9_-])")


class Person:
    """The applicant: identity, contacts and security questions."""

    def __init__(self, n, surname="Lopez", unique_id=None):
        self.given, self.surname = "Ana", surname
        self.unique_id = unique_id or f"ana-{n}"
        self.email = f"ana{n}@pro.example"
        self.alt_email = f"ana{n}@home.example"
        self.mobile = f"+1514555{n:04d}"

    def form(self, profile="signing"):
        return {"profile": profile, "givenName": self.given, "surname": self.surname,
                "uniqueId": self.unique_id, "email": self.email, "altEmail": self.alt_email,
                "mobile": self.mobile,
                "questions": [{"question": q, "answer": a} for q, a in QUESTIONS],
                "consents": ["terms", "privacy"]}


class Issued:
    """What approval gave the person: the application, the mailed reference and the opened
    envelope."""

    def __init__(self, application, reference, envelope, envelope_mail):
        self.application = application
        self.reference = reference
        self.envelope = envelope  # {reference, activationCode, emergencyCode, envelopeNumber}
        self.envelope_mail = envelope_mail

    @property
    def code(self):
        return self.envelope["activationCode"]

    @property
    def emergency(self):
        return self.envelope["emergencyCode"]


def digits(ref):
    return ref.replace("-", "")


def kv_lines(text):
    """'name: value' lines of a program's output as a dict (first one of a name wins)."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"^([A-Za-z][A-Za-z0-9 ]*):\s?(.*)$", line)
        if m and m.group(1) not in out:
            out[m.group(1)] = m.group(2).strip()
    return out


def crl_reasons(text):
    """{serial (int): reason text or None} of `openssl crl -text` output."""
    reasons, serial = {}, None
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"\s*Serial Number:\s*([0-9A-Fa-f]+)\s*$", line)
        if m:
            serial = int(m.group(1), 16)
            reasons[serial] = None
        elif serial is not None and "CRL Reason Code" in line and i + 1 < len(lines):
            reasons[serial] = lines[i + 1].strip()
    return reasons


def wrong_emergency_code(right):
    """A well-formed emergency code (16 Crockford base32 characters) that is not right."""
    for c in "0123456789":
        code = "-".join([c * 4] * 4)
        if code.replace("-", "") != right.replace("-", "").upper():
            return code


def contains_secret(text, secret):
    """secret in text as a whole token (a 6-digit code must not match inside a longer number or
    a hex id)."""
    pattern = r"(?<![0-9A-Za-z])" + re.escape(secret) + r"(?![0-9A-Za-z])"
    return re.search(pattern, text) is not None


class Mailbox:
    """The server's maildir: new/ read directly, each message taken at most once."""

    def __init__(self, srv):
        self.new = os.path.join(srv.data, "maildir", "new")
        self.taken = set()

    def _unread(self):
        out = []
        for path in sorted(glob.glob(os.path.join(self.new, "*"))):
            if path in self.taken:
                continue
            with open(path, "rb") as f:
                msg = email.message_from_bytes(f.read(), policy=email.policy.default)
            out.append((path, msg))
        return out

    @staticmethod
    def _matches(msg, template, to):
        return (msg["X-Certflow-Template"] == template and
                (to is None or str(msg["To"]).strip() == to))

    def wait(self, template, to=None, timeout=MAIL_TIMEOUT):
        """The next unread message of template (to that address): waits for the outbox."""
        deadline = time.monotonic() + timeout
        while True:
            for path, msg in self._unread():
                if self._matches(msg, template, to):
                    self.taken.add(path)
                    return msg
            if time.monotonic() > deadline:
                have = [(m["X-Certflow-Template"], str(m["To"])) for _, m in self._unread()]
                raise AssertionError(f"no {template} message to {to} within {timeout} s; "
                                     f"unread: {have}")
            time.sleep(0.1)

    def unread(self, template=None, to=None, settle=1.0):
        """Unread messages (of template, to) after the outbox had settle seconds to deliver."""
        time.sleep(settle)
        return [m for _, m in self._unread()
                if template is None or self._matches(m, template, to)]

    def all_text(self):
        text = ""
        for path in sorted(glob.glob(os.path.join(self.new, "*"))):
            with open(path, "rb") as f:
                text += f.read().decode(errors="replace")
        return text


def body(msg):
    return msg.get_content()


class JourneyTestCase(CertflowTestCase):
    AGENT_TIMEOUT = 120

    def setUp(self):
        super().setUp()
        self.secrets = set()  # every secret used, for the audit and log checks
        self._n = 0

    # --- server ---
    def start_journey_server(self, name="srv", verbose=False, **config):
        conf = dict(SERVER_CONFIG, **config)
        path = os.path.join(self.tmp, f"{name}.conf")
        with open(path, "w") as f:
            for k, v in conf.items():
                f.write(f"{k} = {v}\n")
        srv = self.start_server(name, extra_args=["--config", path] + (["-v"] if verbose else []))
        srv.mail = Mailbox(srv)
        return srv

    # --- files ---
    def write(self, name, text, secret=True):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        if secret:
            os.chmod(path, 0o600)
        return path

    def secret_file(self, name, *lines):
        for line in lines:
            self.secrets.add(line)
        return self.write(name, "".join(l + "\n" for l in lines))

    def person(self, **kw):
        self._n += 1
        return Person(self._n, **kw)

    # --- the agent ---
    def agent(self, srv, *args, input=None, timeout=None):
        return self.run_prog([program("certflow-agent"), *args], input=input,
                             timeout=timeout or self.AGENT_TIMEOUT,
                             env=child_env(srv.clock.now))

    def agent_public(self, srv, cmd, *args, input=None):
        return self.agent(srv, *cmd.split(), "--server", srv.url, "--ca", srv.ca_file, *args,
                          input=input)

    def assert_ok(self, r):
        self.assertEqual(r.rc, 0, f"{r!r}")
        return kv_lines(r.out)

    def assert_fails(self, r, *words, rc=1):
        """Exit status rc, one line on stderr that holds every word (case-insensitive)."""
        self.assertEqual(r.rc, rc, f"{r!r}")
        self.assert_one_line_error(r, prog="certflow-agent")
        for w in words:
            self.assertIn(w.lower(), r.err.lower(), f"{r!r}")
        return r.err

    # --- admin ---
    def admin_json(self, srv, *args):
        return self.admin_ok(srv, *args, json_out=True)

    def application(self, srv, app_id):
        return self.admin_json(srv, "application", "show", app_id)

    # --- the journeys as a person walks them ---
    def apply(self, srv, person, passphrase=ENVELOPE_PASS, profile="signing"):
        form = self.write(f"form-{person.unique_id}.json", json.dumps(person.form(profile)))
        self.secrets.update(a for _, a in QUESTIONS)
        pw = self.secret_file("envelope-pass", passphrase)
        out = self.assert_ok(self.agent_public(srv, "apply", "--form", form,
                                               "--passphrase-file", pw))
        self.assertRegex(out.get("application", ""), r"^\S+$", out)
        self.assertIn(out.get("status"), ("pending", "approved"), out)
        return out["application"], out["status"]

    def receive_issue(self, srv, person, app_id, passphrase=ENVELOPE_PASS):
        """The two e-mails of an approval (or a renewal): the reference number, then the
        envelope, read from the maildir and opened with the agent."""
        ref_mail = srv.mail.wait("reference", to=person.email)
        self.assertEqual(ref_mail["Subject"], "certflow: your reference number")
        m = REFERENCE_RE.search(body(ref_mail))
        self.assertIsNotNone(m, body(ref_mail))
        env_mail = srv.mail.wait("envelope", to=person.email)
        self.assertEqual(env_mail["Subject"], "certflow: your envelope")
        self.assertIsNotNone(ENVELOPE_RE.search(body(env_mail)), body(env_mail))
        envelope = self.open_envelope(srv, body(env_mail), passphrase)
        self.assertEqual(digits(envelope["reference"]), digits(m.group(1)))
        # The reference mail never holds the activation code; the envelope mail holds it only
        # sealed.
        for mail in (ref_mail, env_mail):
            self.assertFalse(contains_secret(body(mail), envelope["activationCode"]), body(mail))
            self.assertFalse(contains_secret(body(mail), envelope["emergencyCode"]), body(mail))
        self.secrets.update({envelope["activationCode"], envelope["emergencyCode"]})
        return Issued(app_id, m.group(1), envelope, body(env_mail))

    def open_envelope(self, srv, mail_body, passphrase):
        path = self.write("envelope.txt", mail_body)
        pw = self.secret_file("open-pass", passphrase)
        r = self.agent(srv, "envelope", "open", "--in", path, "--passphrase-file", pw, "--json")
        self.assertEqual(r.rc, 0, f"envelope open: {r!r}")
        doc = json.loads(r.out)
        for k in ("reference", "activationCode", "emergencyCode"):
            self.assertTrue(doc.get(k), f"envelope without {k}: {r.out}")
        return doc

    def approved(self, srv, person, passphrase=ENVELOPE_PASS, profile="signing"):
        app_id, status = self.apply(srv, person, passphrase, profile)
        self.assertEqual(status, "pending")
        shown = self.admin_json(srv, "application", "approve", app_id)
        self.assertEqual(shown.get("status"), "approved", shown)
        return self.receive_issue(srv, person, app_id, passphrase)

    def enrol(self, srv, issued_or_ref, code=None, name="agent", key_pass=KEY_PASS):
        ref = issued_or_ref.reference if isinstance(issued_or_ref, Issued) else issued_or_ref
        code = code or issued_or_ref.code
        d = os.path.join(self.tmp, name)
        pw = self.secret_file(f"{name}-key-pass", key_pass)
        r = self.agent_public(srv, "enrol", "--reference", ref, "--dir", d, "--code-file", "-",
                              "--password-file", pw, input=code + "\n")
        return d, r

    def enrolled(self, srv, person, name="agent", **kw):
        issued = self.approved(srv, person, **kw)
        d, r = self.enrol(srv, issued, name=name)
        self.assert_ok(r)
        return issued, d

    def recovery_token(self, srv, person):
        r = self.agent_public(srv, "recover", "--email", person.email)
        self.assertEqual(self.assert_ok(r).get("status"), "sent", r.out)
        msgs = [srv.mail.wait("recovery-link", to=person.email),
                srv.mail.wait("recovery-link", to=person.alt_email)]
        tokens = set()
        for msg in msgs:
            self.assertEqual(msg["Subject"], "certflow: recover your credential")
            self.assertIn("certflow-agent recover", body(msg))
            m = TOKEN_RE.search(body(msg).split("Token:", 1)[-1])
            self.assertIsNotNone(m, body(msg))
            tokens.add(m.group(1))
        self.assertEqual(len(tokens), 1, "both addresses get the same link token")
        token = tokens.pop()
        return self.secret_file(f"token-{len(self.secrets)}", token), token

    def sms_code(self, srv, person):
        msg = srv.mail.wait("otp", to=person.mobile)
        self.assertEqual(msg["X-Certflow-Channel"], "sms")
        m = re.search(r"\b(\d{6})\b", body(msg))
        self.assertIsNotNone(m, body(msg))
        self.secrets.add(m.group(1))
        return m.group(1)

    def answers(self, right=3):
        return self.secret_file(f"answers-{right}-{len(self.secrets)}",
                                *[a for _, a in QUESTIONS[:right]], *WRONG[right:])

    def recover(self, srv, token_file, answers_file, passphrase=NEW_ENVELOPE_PASS, otp=None,
                credential=None):
        args = ["--token-file", token_file, "--answers-file", answers_file,
                "--passphrase-file", self.secret_file("new-env-pass", passphrase)]
        if otp is not None:
            args += ["--otp-file", self.secret_file(f"otp-{otp}", otp)]
        if credential:
            args += ["--credential", credential]
        return self.agent_public(srv, "recover", *args)

    def totp(self, srv, secret, at=None, steps=0):
        t = (srv.clock.now if at is None else at) + 30 * steps
        r = self.run_prog(["oathtool", "--totp", "-b", secret, "--now", f"@{int(t)}"])
        self.assertEqual(r.rc, 0, f"{r!r}")
        code = r.out.strip()
        self.secrets.add(code)
        return code

    def otp_setup(self, srv, d, svg=None):
        args = ["otp", "setup", "--dir", d] + (["--svg", svg] if svg else [])
        r = self.agent(srv, *args)
        out = self.assert_ok(r)
        self.assertRegex(out.get("secret", ""), r"^[A-Z2-7]{16,}$", r.out)
        self.assertTrue(out.get("uri", "").startswith("otpauth://totp/"), r.out)
        self.secrets.add(out["secret"])
        return out["secret"], out["uri"], r

    # --- checks ---
    def crl_text(self, srv):
        headers, der = srv.crl_der()
        path = os.path.join(self.tmp, "crl.der")
        with open(path, "wb") as f:
            f.write(der)
        r = self.openssl("crl", "-inform", "DER", "-in", path, "-noout", "-text")
        self.assertEqual(r.rc, 0, f"{r!r}")
        return r.out

    def assert_key_opens_only_with_password(self, d, password):
        key = os.path.join(d, "key.pem")
        with open(key) as f:
            self.assertIn("ENCRYPTED", f.read().splitlines()[0], "key.pem is not encrypted")
        pw = self.write("pkey-pass", password + "\n")
        r = self.openssl("pkey", "-in", key, "-passin", f"file:{pw}", "-noout")
        self.assertEqual(r.rc, 0, f"openssl pkey with the password: {r!r}")
        wrong = self.write("pkey-wrong", "Not-The-Passw0rd\n")
        r = self.openssl("pkey", "-in", key, "-passin", f"file:{wrong}", "-noout")
        self.assertNotEqual(r.rc, 0, "key.pem opens with a wrong password")

    def fail_until_locked(self, attempt, max_failures=5):
        """Run attempt() (a failing agent run) until the lock: each failure before it says how
        many attempts are left; the lock comes with the max_failures-th failure or the next."""
        for n in range(1, max_failures + 2):
            r = attempt()
            self.assertEqual(r.rc, 1, f"{r!r}")
            if "lock" in r.err.lower():
                return n
            self.assertIn("attempt", r.err.lower(), f"{r!r}")
        self.fail(f"not locked after {max_failures + 1} failures: {r!r}")

    def credentials_of(self, srv, subject_name):
        creds = self.admin_json(srv, "credential", "list")["credentials"]
        return [c for c in creds if c.get("subject") == subject_name]


class Issue(JourneyTestCase):
    def test_approved_application_mails_reference_and_envelope_separately_and_enrols_with_password(self):
        srv = self.start_journey_server()
        p = self.person()
        app_id, status = self.apply(srv, p)
        self.assertEqual(status, "pending")
        # Nothing is mailed before approval.
        self.assertEqual(srv.mail.unread(settle=0.5), [])
        listed = self.admin_json(srv, "application", "list")["applications"]
        self.assertIn(app_id, [a["id"] for a in listed])
        shown = self.application(srv, app_id)
        self.assertEqual(shown["status"], "pending")
        text = json.dumps(shown)
        for _, a in QUESTIONS:
            self.assertNotIn(a, text, "the admin sees no security answer")
        self.assertNotIn(ENVELOPE_PASS, text)

        shown = self.admin_json(srv, "application", "approve", app_id)
        self.assertEqual(shown["status"], "approved")
        issued = self.receive_issue(srv, p, app_id)
        self.assertEqual(digits(shown.get("reference", issued.reference)),
                         digits(issued.reference))

        d, r = self.enrol(srv, issued)
        self.assert_ok(r)
        self.assert_chain_verifies(srv, d, srv.clock.now)
        self.assert_key_opens_only_with_password(d, KEY_PASS)
        cert = load_cert(os.path.join(d, "cert.pem"))
        self.assertIn("Ana Lopez", cert.subject.rfc4514_string())

    def test_weak_envelope_passphrase_is_refused_before_anything_is_sent(self):
        srv = self.start_journey_server()
        p = self.person()
        form = self.write("form.json", json.dumps(p.form()))
        for weak in ("short1!", "alllowercase1!", "NoDigitsHere!", "NoSpecial123"):
            with self.subTest(weak=weak):
                r = self.agent_public(srv, "apply", "--form", form, "--passphrase-file",
                                      self.secret_file("weak", weak))
                err = self.assert_fails(r, "passphrase")
                self.assertNotIn(weak, err)
        self.assertEqual(self.admin_json(srv, "application", "list")["applications"], [])

    def test_activation_code_expires_after_15_days_and_reference_renew_needs_two_of_three_answers(self):
        srv = self.start_journey_server()
        p = self.person()
        first = self.approved(srv, p)
        # A reference that has not expired is not renewed (and not counted).
        r = self.agent_public(srv, "reference-renew", "--reference", first.reference,
                              "--answers-file", self.answers(3))
        self.assert_fails(r)

        srv.clock.advance(days=15, seconds=1)
        d, r = self.enrol(srv, first, name="late")
        self.assert_fails(r, "expired")

        r = self.agent_public(srv, "reference-renew", "--reference", first.reference,
                              "--answers-file", self.answers(1))
        err = self.assert_fails(r, "4 attempts left")
        self.assertEqual(srv.mail.unread("reference", settle=0.5), [])

        r = self.agent_public(srv, "reference-renew", "--reference", first.reference,
                              "--answers-file", self.answers(2))
        self.assertEqual(self.assert_ok(r).get("status"), "sent", r.out)
        second = self.receive_issue(srv, p, first.application)
        self.assertNotEqual(digits(second.reference), digits(first.reference))
        self.assertNotEqual(second.code, first.code)
        self.assertNotEqual(str(second.envelope.get("envelopeNumber")),
                            str(first.envelope.get("envelopeNumber")))

        # The old reference no longer activates; the new one does.
        d, r = self.enrol(srv, first, name="old")
        self.assert_fails(r)
        d, r = self.enrol(srv, second, name="new")
        self.assert_ok(r)
        self.assert_chain_verifies(srv, d, srv.clock.now)

    def test_reference_renew_locks_after_five_failed_attempts(self):
        srv = self.start_journey_server()
        p = self.person()
        issued = self.approved(srv, p)
        srv.clock.advance(days=16)
        # An unknown reference is refused with the same words and counts nothing.
        r = self.agent_public(srv, "reference-renew", "--reference", "0000-0000-0001",
                              "--answers-file", self.answers(3))
        err = self.assert_fails(r)
        self.assertNotIn("attempt", err.lower())
        for left in (4, 3, 2, 1):
            r = self.agent_public(srv, "reference-renew", "--reference", issued.reference,
                                  "--answers-file", self.answers(1))
            self.assert_fails(r, f"({left} attempt")
        self.fail_until_locked(lambda: self.agent_public(
            srv, "reference-renew", "--reference", issued.reference,
            "--answers-file", self.answers(1)), max_failures=1)
        r = self.agent_public(srv, "reference-renew", "--reference", issued.reference,
                              "--answers-file", self.answers(3))
        self.assert_fails(r, "lock")
        self.assertEqual(srv.mail.unread("reference", settle=0.5), [])


class Recovery(JourneyTestCase):
    def test_recovery_request_answers_alike_for_unknown_address_and_mails_link_to_both_addresses(self):
        srv = self.start_journey_server()
        p = self.person()
        self.enrolled(srv, p)
        unknown = self.agent_public(srv, "recover", "--email", "nobody@pro.example")
        known = self.agent_public(srv, "recover", "--email", p.email)
        self.assertEqual((unknown.rc, unknown.out, unknown.err), (known.rc, known.out, known.err))
        self.assertEqual(kv_lines(known.out).get("status"), "sent")
        for to in (p.email, p.alt_email):
            msg = srv.mail.wait("recovery-link", to=to)
            self.assertIn("--token-file", body(msg))
        self.assertEqual(srv.mail.unread("recovery-link"), [], "nothing for the unknown address")

    def test_recovery_with_sms_code_gives_new_enrolment_that_supersedes_old_certificate(self):
        srv = self.start_journey_server()
        p = self.person()
        issued, old = self.enrolled(srv, p)
        old_serial = int(self.cert_serial(old), 16)
        token_file, _ = self.recovery_token(srv, p)

        # The questions and the OTP this recovery needs.
        out = self.assert_ok(self.agent_public(srv, "recover", "--token-file", token_file))
        self.assertEqual([out.get(f"question {i}") for i in (1, 2, 3)], [q for q, _ in QUESTIONS])
        self.assertEqual(out.get("otp"), "sms")

        # Without the OTP the agent says what to do and sends nothing.
        r = self.recover(srv, token_file, self.answers(3))
        self.assert_fails(r, "--send-otp")

        out = self.assert_ok(self.agent_public(srv, "recover", "--token-file", token_file,
                                               "--send-otp"))
        self.assertEqual(out.get("otp"), "sent")
        code = self.sms_code(srv, p)

        r = self.recover(srv, token_file, self.answers(2), otp=code)
        out = self.assert_ok(r)
        self.assertEqual(out.get("status"), "sent")
        new_issue = self.receive_issue(srv, p, issued.application, passphrase=NEW_ENVELOPE_PASS)
        self.assertNotEqual(digits(new_issue.reference), digits(issued.reference))

        # The link is used up.
        r = self.recover(srv, token_file, self.answers(3), otp=code)
        self.assert_fails(r)

        # The old certificate is still good until the new one is activated.
        self.assertNotIn(old_serial, crl_reasons(self.crl_text(srv)))
        new, r = self.enrol(srv, new_issue, name="recovered", key_pass=NEW_KEY_PASS)
        self.assert_ok(r)
        self.assert_chain_verifies(srv, new, srv.clock.now)
        self.assert_key_opens_only_with_password(new, NEW_KEY_PASS)
        self.assertNotEqual(self.cert_serial(new), self.cert_serial(old))
        reasons = crl_reasons(self.crl_text(srv))
        self.assertEqual(reasons.get(old_serial), "Superseded", reasons)
        self.assertNotIn(int(self.cert_serial(new), 16), reasons)
        statuses = sorted(c["status"] for c in self.credentials_of(srv, "Ana Lopez"))
        self.assertEqual(statuses, ["active", "revoked"])

    def test_five_wrong_sms_codes_lock_the_recovery(self):
        srv = self.start_journey_server()
        p = self.person()
        self.enrolled(srv, p)
        token_file, _ = self.recovery_token(srv, p)
        self.assert_ok(self.agent_public(srv, "recover", "--token-file", token_file, "--send-otp"))
        code = self.sms_code(srv, p)
        wrong = f"{(int(code) + 1) % 1000000:06d}"
        for left in (4, 3, 2, 1):
            r = self.recover(srv, token_file, self.answers(3), otp=wrong)
            self.assert_fails(r, f"({left} attempt")
        self.fail_until_locked(lambda: self.recover(srv, token_file, self.answers(3), otp=wrong),
                               max_failures=1)
        r = self.recover(srv, token_file, self.answers(3), otp=code)
        self.assert_fails(r, "lock")
        self.assertEqual(srv.mail.unread("reference"), [])

    def test_recovery_with_several_credentials_lists_them_and_recovers_the_chosen_one(self):
        srv = self.start_journey_server()
        p = self.person()
        first, d1 = self.enrolled(srv, p, name="one")
        # A second application of the same person joins the same subject.
        second, d2 = self.enrolled(srv, p, name="two")
        token_file, _ = self.recovery_token(srv, p)
        # The link opened: the credentials to choose from come before the questions (seed 000).
        r = self.agent_public(srv, "recover", "--token-file", token_file)
        self.assertEqual(r.rc, 0, f"{r!r}")
        listed = [l.split(": ", 1)[1].split("\t")[0] for l in r.out.splitlines()
                  if l.startswith("credential: ")]
        self.assertEqual(len(listed), 2, r.out)
        self.assertIn("choose the credential to recover (--credential ID)", r.out)
        # --send-otp in the full command line: the code is sent, nothing else happens.
        r = self.agent_public(srv, "recover", "--token-file", token_file, "--answers-file",
                              self.answers(3), "--passphrase-file",
                              self.secret_file("pp", NEW_ENVELOPE_PASS), "--send-otp")
        self.assertEqual(self.assert_ok(r).get("otp"), "sent")
        code = self.sms_code(srv, p)

        r = self.recover(srv, token_file, self.answers(3), otp=code)
        self.assertEqual(r.rc, 4, f"{r!r}")
        rows = [l.split("\t") for l in r.out.splitlines() if l.strip()]
        self.assertEqual(len(rows), 2, r.out)
        self.assertTrue(all(len(row) == 4 for row in rows), r.out)
        ids = {row[0] for row in rows}
        creds = {}
        for d in (d1, d2):
            with open(os.path.join(d, "account.json")) as f:
                creds[d] = json.load(f)["credential"]
        self.assertEqual(ids, set(creds.values()))
        self.assertEqual(set(listed), ids, "start listed the same credentials")
        self.assertEqual({row[1] for row in rows}, {"signing"})
        self.assertEqual({row[2] for row in rows}, {"Ana Lopez"})
        self.assertIn("--credential", r.err)
        self.assertEqual(srv.mail.unread("reference"), [], "nothing sent before the choice")

        # The choice: the same token and SMS code still work (nothing was consumed).
        r = self.recover(srv, token_file, self.answers(3), otp=code, credential=creds[d2])
        self.assertEqual(self.assert_ok(r).get("credential"), creds[d2])
        issue = self.receive_issue(srv, p, second.application, passphrase=NEW_ENVELOPE_PASS)
        new, r = self.enrol(srv, issue, name="three", key_pass=NEW_KEY_PASS)
        self.assert_ok(r)
        reasons = crl_reasons(self.crl_text(srv))
        self.assertEqual(reasons.get(int(self.cert_serial(d2), 16)), "Superseded", reasons)
        self.assertNotIn(int(self.cert_serial(d1), 16), reasons)


class Totp(JourneyTestCase):
    def test_totp_setup_qr_svg_decodes_to_the_otpauth_uri_and_a_code_confirms_it(self):
        srv = self.start_journey_server()
        p = self.person()
        _, d = self.enrolled(srv, p)
        svg = os.path.join(self.tmp, "totp.svg")
        secret, uri, r = self.otp_setup(srv, d, svg=svg)
        self.assertRegex(r.out, "[\u2580\u2584\u2588]", "no QR code drawn on the terminal")
        png = os.path.join(self.tmp, "totp.png")
        self.assertEqual(self.run_prog(["rsvg-convert", "-b", "white", "-w", "600", "-o", png,
                                        svg]).rc, 0)
        z = self.run_prog(["zbarimg", "--raw", "-q", png])
        self.assertEqual(z.rc, 0, f"zbarimg found no code: {z!r}")
        self.assertEqual(z.out.strip(), uri)
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(uri).query)
        self.assertEqual(query["secret"], [secret])
        self.assertEqual(query.get("digits", ["6"]), ["6"])
        self.assertEqual(query.get("period", ["30"]), ["30"])

        # A wrong code does not confirm; the right one does, once.
        code = self.totp(srv, secret)
        wrong = f"{(int(code) + 1) % 1000000:06d}"
        r = self.agent(srv, "otp", "confirm", "--dir", d, "--code-file", "-", input=wrong + "\n")
        self.assert_fails(r, "attempt")
        r = self.agent(srv, "otp", "confirm", "--dir", d, "--code-file", "-", input=code + "\n")
        self.assertEqual(self.assert_ok(r).get("status"), "confirmed")
        r = self.agent(srv, "otp", "setup", "--dir", d)
        self.assert_fails(r)  # a confirmed authenticator is not replaced

    def test_recovery_with_totp_accepts_one_step_either_side_refuses_reuse_and_locks(self):
        srv = self.start_journey_server()
        p = self.person()
        issued, d = self.enrolled(srv, p)
        secret, _, _ = self.otp_setup(srv, d)
        r = self.agent(srv, "otp", "confirm", "--dir", d, "--code-file", "-",
                       input=self.totp(srv, secret, steps=1) + "\n")  # one step ahead: accepted
        self.assert_ok(r)
        srv.clock.advance(seconds=600)

        token_file, _ = self.recovery_token(srv, p)
        out = self.assert_ok(self.agent_public(srv, "recover", "--token-file", token_file))
        self.assertEqual(out.get("otp"), "totp")
        r = self.agent_public(srv, "recover", "--token-file", token_file, "--send-otp")
        self.assert_fails(r, "authenticator")

        # Two steps away is refused (and counted); one step behind is accepted.
        r = self.recover(srv, token_file, self.answers(3), otp=self.totp(srv, secret, steps=-2))
        self.assert_fails(r, "4 attempts left")
        used = self.totp(srv, secret, steps=-1)
        self.assert_ok(self.recover(srv, token_file, self.answers(3), otp=used))
        self.receive_issue(srv, p, issued.application, passphrase=NEW_ENVELOPE_PASS)

        # A code is good once: the same code on a new link is refused.
        token_file, _ = self.recovery_token(srv, p)
        r = self.recover(srv, token_file, self.answers(3), otp=used)
        self.assert_fails(r, "attempt")
        # Failures add up to the lock; then even the right code is refused.
        self.fail_until_locked(lambda: self.recover(srv, token_file, self.answers(3),
                                                    otp=self.totp(srv, secret, steps=-3)))
        r = self.recover(srv, token_file, self.answers(3), otp=self.totp(srv, secret, steps=1))
        self.assert_fails(r, "lock")


class Emergency(JourneyTestCase):
    def test_emergency_code_suspends_credential_on_hold_wrong_codes_count_and_lock(self):
        srv = self.start_journey_server()
        p = self.person()
        issued, d = self.enrolled(srv, p)
        serial = int(self.cert_serial(d), 16)
        wrong = self.secret_file("wrong-emergency", wrong_emergency_code(issued.emergency))

        r = self.agent_public(srv, "emergency-suspend", "--reference", issued.reference,
                              "--code-file", wrong)
        self.assert_fails(r, "4 attempts left")
        self.assertNotIn(serial, crl_reasons(self.crl_text(srv)))

        r = self.agent_public(srv, "emergency-suspend", "--reference", issued.reference,
                              "--code-file", "-", input=issued.emergency + "\n")
        out = self.assert_ok(r)
        self.assertEqual(out.get("status"), "suspended")
        with open(os.path.join(d, "account.json")) as f:
            self.assertEqual(out.get("credential"), json.load(f)["credential"])
        self.assertEqual(crl_reasons(self.crl_text(srv)).get(serial), "Certificate Hold")
        msg = srv.mail.wait("suspended", to=p.email)
        self.assertEqual(msg["Subject"], "certflow: credential suspended")

        self.admin_ok(srv, "reinstate", serial_hex(serial))
        self.assertNotIn(serial, crl_reasons(self.crl_text(srv)))

        # Five wrong codes lock the emergency code, even the right one then; unlock resets.
        self.fail_until_locked(lambda: self.agent_public(
            srv, "emergency-suspend", "--reference", issued.reference, "--code-file", wrong))
        r = self.agent_public(srv, "emergency-suspend", "--reference", issued.reference,
                              "--code-file", "-", input=issued.emergency + "\n")
        self.assert_fails(r, "lock")
        subject = self.application(srv, issued.application)["subject"]["id"]
        self.admin_ok(srv, "unlock", subject)
        r = self.agent_public(srv, "emergency-suspend", "--reference", issued.reference,
                              "--code-file", "-", input=issued.emergency + "\n")
        self.assertEqual(self.assert_ok(r).get("status"), "suspended")


class Audit(JourneyTestCase):
    def test_audit_lists_every_step_and_none_of_the_secrets(self):
        srv = self.start_journey_server(verbose=True)
        p = self.person()
        issued, d = self.enrolled(srv, p)
        r = self.agent_public(srv, "emergency-suspend", "--reference", issued.reference,
                              "--code-file", self.secret_file(
                                  "bad-em", wrong_emergency_code(issued.emergency)))
        self.assert_fails(r, "attempts left")
        token_file, token = self.recovery_token(srv, p)
        self.secrets.add(token)
        self.assert_ok(self.agent_public(srv, "recover", "--token-file", token_file))
        self.assert_ok(self.agent_public(srv, "recover", "--token-file", token_file, "--send-otp"))
        code = self.sms_code(srv, p)
        self.assert_ok(self.recover(srv, token_file, self.answers(3), otp=code))
        r = self.agent_public(srv, "reference-renew", "--reference", issued.reference,
                              "--answers-file", self.answers(3))
        self.assert_fails(r)  # not expired: refused
        secret, _, _ = self.otp_setup(srv, d)
        r = self.agent(srv, "otp", "confirm", "--dir", d, "--code-file", "-",
                       input=self.totp(srv, secret) + "\n")
        self.assert_ok(r)
        self.secrets.update({ENVELOPE_PASS, NEW_ENVELOPE_PASS, KEY_PASS})

        events = self.admin_json(srv, "audit", "--limit", "500")["events"]
        results = {}
        for e in events:
            results.setdefault(e.get("action"), set()).add(e.get("result"))
        expected = {"application.create": "ok", "application.approve": "ok", "activate": "ok",
                    "emergency.suspend": "badEmergencyCode", "recovery.request": "ok",
                    "recovery.start": "ok", "recovery.otp": "ok", "recovery.complete": "ok",
                    "enrolment.renew": "badAnswers", "totp.setup": "ok", "totp.confirm": "ok"}
        for action, result in expected.items():
            self.assertIn(result, results.get(action, ()), f"{action}: {results}")
        listing = json.dumps(events, ensure_ascii=False) + self.admin(srv, "audit").out
        self.stop_server(srv)
        logs = srv.stdout + srv.stderr
        for secret in sorted(self.secrets):
            self.assertFalse(contains_secret(listing, secret), f"a secret in the audit: {secret!r}")
            self.assertFalse(contains_secret(logs, secret), f"a secret in the logs: {secret!r}")


class Usage(JourneyTestCase):
    def test_journey_commands_with_missing_or_conflicting_options_exit_2(self):
        agent = program("certflow-agent")
        s = ["--server", "https://127.0.0.1:1", "--ca", "ca.pem"]
        for args in (["apply", *s, "--form", "f.json"],
                     ["apply", *s, "--form", "f.json", "--passphrase-file", "p", "--dir", "d"],
                     ["reference-renew", *s, "--reference", "1234-5678-9012"],
                     ["reference-renew", *s, "--reference", "12", "--answers-file", "a"],
                     ["recover", *s],
                     ["recover", *s, "--email", "a@b.example", "--token-file", "t"],
                     ["recover", *s, "--token-file", "t", "--answers-file", "a"],
                     ["recover", *s, "--token-file", "t", "--answers-file", "a",
                      "--passphrase-file", "p", "--otp-file", "o", "--send-otp"],
                     ["emergency-suspend", *s],
                     ["otp"], ["otp", "setup"], ["otp", "check", "--dir", "d"],
                     ["otp", "confirm", "--dir", "d", "--svg", "x.svg"]):
            with self.subTest(args=args):
                r = self.run_prog([agent, *args], input="", timeout=30, cwd=self.tmp)
                self.assertEqual(r.rc, 2, f"{r!r}")
                self.assertTrue(r.err.startswith("certflow-agent: "), f"{r!r}")


class Consents(JourneyTestCase):
    """Issue 10 item 9: a consent is shown with its text before it is accepted."""

    def apply_on_terminal(self, srv, person, answers):
        from test_keyfile_envelope import on_terminal
        form = self.write(f"form-{person.unique_id}.json", json.dumps(person.form()))
        pw = self.secret_file("envelope-pass", ENVELOPE_PASS)
        argv = [program("certflow-agent"), "apply", "--server", srv.url, "--ca", srv.ca_file,
                "--form", form, "--passphrase-file", pw]
        return on_terminal(argv, answers, child_env(srv.clock.now))

    def applications(self, srv):
        return self.admin_json(srv, "application", "list")["applications"]

    def test_consents_prints_the_title_and_full_text_of_each_consent(self):
        srv = self.start_journey_server()
        out = self.assert_ok(self.agent_public(srv, "consents"))
        self.assertEqual(out.get("terms"), "Terms of use")
        self.assertEqual(out.get("privacy"), "Privacy notice")
        r = self.agent_public(srv, "consents")
        self.assertIn("A signature made with your certificate is your signature.",
                      " ".join(r.out.split()))
        self.assertIn("never stored in readable form", " ".join(r.out.split()))

    def test_apply_at_a_terminal_shows_each_consent_and_sends_nothing_when_one_is_refused(self):
        srv = self.start_journey_server()
        rc, out, err = self.apply_on_terminal(
            srv, self.person(), [("Do you accept the Terms of use? Type yes or no: ", "yes"),
                                 ("Do you accept the Privacy notice? Type yes or no: ", "no")])
        self.assertEqual(rc, 1, err)
        self.assertIn("<Do you accept the Privacy notice? Type yes or no: >", err)
        flat = " ".join(err.split())
        self.assertIn("A signature made with your certificate is your signature.", flat)
        self.assertIn("never stored in readable form", flat)
        self.assertIn("nothing was sent: the Privacy notice was not accepted", err)
        self.assertEqual(self.applications(srv), [])

    def test_apply_at_a_terminal_sends_the_application_once_every_consent_is_accepted(self):
        srv = self.start_journey_server()
        rc, out, err = self.apply_on_terminal(
            srv, self.person(), [("Do you accept the Terms of use? Type yes or no: ", "yes"),
                                 ("Do you accept the Privacy notice? Type yes or no: ", "YES")])
        self.assertEqual(rc, 0, err)
        self.assertIn("<Do you accept the Privacy notice? Type yes or no: >", err)
        app_id = kv_lines(out)["application"]
        self.assertEqual([a["id"] for a in self.applications(srv)], [app_id])
        self.assertEqual(sorted(self.application(srv, app_id)["consents"]), ["privacy", "terms"])
