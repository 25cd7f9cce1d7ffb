"""Recovery and one-time passwords (spec/protocol.md §17, §19), black box.

Without --maildir only the answers that need no e-mail are checked (no enumeration, malformed
input, unknown tokens). With --maildir the suite reads the link token, SMS codes and envelopes from
the server's maildir; with --clock-file too it moves time for the TOTP window and rate limits
(and puts it back). TOTP codes come from oathtool.
"""
import os
import re
import shutil
import subprocess
import time
import unittest

import cfclient
import cfmail
from cfbase import CONFIG, SECRETS, ConformanceTest, Key

PASSPHRASE = "Tr0ub4dor&3x"
ANSWERS = ["St Mary's", "London", "Babbage"]
WRONG = ["St Mary's", "Paris", "Ford"]  # one of three right
QUESTIONS = ["Name of your first school?", "City where your mother was born?", "Make of your first car?"]


def field(text, label):
    m = re.search(r"^%s: ?(\S+)\s*$" % re.escape(label), text, re.M)
    return m.group(1) if m else None


def other(code):
    return "%06d" % ((int(code) + 1) % 10**6)


def oathtool(secret, t):
    p = subprocess.run(["oathtool", "--totp", "-b", secret, "--now", "@%d" % t], capture_output=True, text=True,
                       timeout=10, check=True)
    return p.stdout.strip()


class Subject:
    def __init__(self, email, alt, mobile, application):
        self.email, self.alt, self.mobile, self.application = email, alt, mobile, application


class TestRecovery(ConformanceTest):
    # ---- fixtures --------------------------------------------------------------------------
    def url(self, name, path):
        return self.dir.get(name) or self.client.origin + path

    def public(self, name, path, payload):
        """A jwk request signed by a throwaway key."""
        return self.client.post(self.url(name, path), Key.generate(), payload)

    def mailbox(self):
        return cfmail.Maildir(CONFIG.get("maildir"))

    def clock(self):
        path = CONFIG.get("clock_file")
        if not path:
            raise unittest.SkipTest("needs --clock-file (a server started with --test-clock)")
        with open(path) as f:
            original = f.read()
        self.addCleanup(self._write_clock, path, original)
        return int(original.strip())

    def set_clock(self, t):
        self._write_clock(CONFIG["clock_file"], "%d\n" % t)

    @staticmethod
    def _write_clock(path, text):
        with open(path + ".tmp", "w") as f:
            f.write(text)
        os.replace(path + ".tmp", path)

    def apply(self, approve=True, email=None):
        tag = cfclient.random_suffix()
        email = email or "rec-%s@example.org" % tag
        s = Subject(email, "home-%s@example.net" % tag, "+4477%09d" % (int(tag, 16) % 10**9), None)
        payload = {"profile": self.profile(), "givenName": "Ada", "surname": "Lovelace", "uniqueId": "ADA-1815",
                   "email": email, "altEmail": s.alt, "mobile": s.mobile,
                   "questions": [{"question": q, "answer": a} for q, a in zip(QUESTIONS, ANSWERS)],
                   "consents": self.dir["meta"].get("consents", ["terms", "privacy"]),
                   "envelopePassphrase": PASSPHRASE}
        doc = self.expect(self.public("apply", "/v1/apply", payload), 201, "apply-response")
        s.application = doc["id"]
        if approve and doc["status"] == "pending":
            self.admin("application-approve", {"id": doc["id"]})
        return s

    def activate_from_mail(self, s, mb, count=1, which=-1):
        """Activate the code of envelope `which` of the last `count` to s: cfbase's Activation."""
        plain, _ = cfmail.open_envelope(cfmail.body(mb.find(s.email, "envelope", count)[which]), PASSPHRASE)
        SECRETS.add(plain["activationCode"])
        return self.activate({"reference": plain["reference"]}, plain["activationCode"])

    def token(self, s, mb, count=1):
        """Ask for recovery of s and return the token of the e-mail (both addresses get it)."""
        self.expect(self.public("recovery", "/v1/recovery", {"email": s.email.upper()}), 202, "recovery-response")
        token = field(cfmail.body(mb.find(s.email, "recovery-link", count)[-1]), "Token")
        self.assertEqual(token, field(cfmail.body(mb.find(s.alt, "recovery-link", count)[-1]), "Token"),
                         "the same token to the alternate address")
        self.assertRegex(token or "", r"^[A-Za-z0-9_-]{43}$")
        SECRETS.add(token)
        return token

    def sms(self, s, mb, count):
        code = re.search(r"certflow code: (\d{6})", cfmail.body(mb.find(s.mobile, "otp", count)[-1])).group(1)
        SECRETS.add(code)
        return code

    def with_sms(self, s=None):
        """(subject, maildir, token, SMS code) of a recovery of s (default: a new approved one)."""
        mb = self.mailbox()
        s = s or self.apply()
        token = self.token(s, mb)
        self.send_otp(token)
        return s, mb, token, self.sms(s, mb, 1)

    def start(self, token, status=200, problem=None):
        r = self.public("recoveryStart", "/v1/recovery/start", {"token": token})
        return self.expect(r, status, "recovery-start-response", problem)

    def send_otp(self, token, status=202, problem=None):
        r = self.public("recoveryOtp", "/v1/recovery/otp", {"token": token})
        return r, self.expect(r, status, "recovery-otp-response", problem)

    def complete(self, token, answers=ANSWERS, otp=None, credential=None, status=200, problem=None, **extra):
        payload = {"token": token, "answers": answers, "envelopePassphrase": PASSPHRASE}
        if otp is not None:
            payload["otp"] = otp
        if credential is not None:
            payload["credential"] = credential
        payload.update(extra)
        r = self.public("recoveryComplete", "/v1/recovery/complete", payload)
        return self.expect(r, status, "recovery-complete-response", problem)

    # ---- no enumeration, malformed input, unknown tokens ----------------------------------------
    def recovery_round(self):
        """A new known address and a new unknown one asked about three times each (3 an hour per
        address, §28.2), interleaved with the order alternating (load hits both alike), their
        answers alike: (fastest known, fastest unknown, noise). Noise only adds time, so the
        fastest answer shows the work best; the noise of the moment is how far apart the fastest
        of equal work fall: before each request two malformed ones (refused before any limit
        counts them), in four groups as the addresses' requests."""
        known = self.apply().email
        unknown = "nobody-%s@example.org" % cfclient.random_suffix()
        answers, times = {}, {known: [], unknown: []}
        alike = {(email, n): [] for email in (known, unknown) for n in (0, 1)}
        for i in range(3):
            for email in (known, unknown) if i % 2 == 0 else (unknown, known):
                for n in (0, 1):
                    t = time.monotonic()
                    r = self.public("recovery", "/v1/recovery", {"email": "no-at-sign"})
                    alike[email, n].append(time.monotonic() - t)
                    self.expect(r, 400, problem="malformed")
                t = time.monotonic()
                r = self.public("recovery", "/v1/recovery", {"email": email})
                times[email].append(time.monotonic() - t)
                self.expect(r, 202, "recovery-response")
                heads = sorted((k, v) for k, v in r.headers if k not in ("replay-nonce", "date"))
                answers.setdefault(email, (r.status, r.body, heads))
        self.assertEqual(answers[known], answers[unknown], "status, body and headers differ")
        fastest = [min(v) for v in alike.values()]
        return min(times[known]), min(times[unknown]), max(fastest) - min(fastest)

    def test_recovery_answers_alike_for_known_and_unknown_addresses(self):
        # The fastest answers may differ by 10 ms, or by the noise of the moment where that is
        # more. A loaded machine can still slow one side's three answers by chance, so with
        # --clock-file a difference counts only when it stands in each of three rounds (each an
        # hour later, for fresh limits), on the same side; without, one round decides. More work
        # for a known address than the margin shows in every round and fails.
        rounds, start = [], None
        for n in range(3 if CONFIG.get("clock_file") else 1):
            if n:
                if start is None:
                    self.addCleanup(setattr, self.client, "nonce", None)  # one of the hour moved to
                    start = self.clock()
                self.set_clock(start + 3601 * n)
                self.client.nonce = None  # expired an hour later
            fk, fu, noise = self.recovery_round()
            rounds.append((fk, fu, noise))
            if abs(fk - fu) < max(0.010, noise):
                return
        if len({fk > fu for fk, fu, _ in rounds}) == 1:
            self.fail("the %s address answers slower in each round; fastest answers (known/unknown, "
                      "noise), ms: %s" % ("known" if rounds[0][0] > rounds[0][1] else "unknown",
                                          "; ".join("%.1f/%.1f (%.1f)" % (fk * 1000, fu * 1000, nz * 1000)
                                                    for fk, fu, nz in rounds)))

    def test_recovery_with_a_malformed_email_is_malformed(self):
        for email in ("", "no-at-sign", "a@b@example.org", "a b@example.org", "@example.org", "a@",
                      "x" * 250 + "@example.org", "tab\t@example.org", 7, None):
            with self.subTest(email=email):
                self.expect(self.public("recovery", "/v1/recovery", {"email": email}), 400, problem="malformed")
        self.expect(self.public("recovery", "/v1/recovery", {}), 400, problem="malformed")

    def test_unknown_tokens_are_bad_tokens_and_malformed_ones_malformed(self):
        unknown = cfclient.b64u(os.urandom(32))
        self.start(unknown, 403, "badToken")
        self.send_otp(unknown, 403, "badToken")
        self.complete(unknown, otp="123456", status=403, problem="badToken")
        self.start("not-a-token", 403, "badToken")
        for payload in ({}, {"token": 7}, {"token": ["x"]}, {"token": ""}):
            with self.subTest(payload=payload):
                r = self.public("recoveryStart", "/v1/recovery/start", payload)
                self.expect(r, 400, problem="malformed")
                r = self.public("recoveryOtp", "/v1/recovery/otp", payload)
                self.expect(r, 400, problem="malformed")

    # ---- with the maildir ----------------------------------------------------------------------
    def test_link_goes_to_both_addresses_and_start_gives_the_questions(self):
        mb = self.mailbox()
        s = self.apply()
        token = self.token(s, mb)
        doc = self.start(token)
        self.assertEqual(doc, {"questions": QUESTIONS, "otp": "sms", "credentials": []})
        self.assertEqual(self.start(token), doc, "start uses nothing up")

    def test_sms_codes_are_rate_limited_with_retry_after(self):
        s, mb, token, _ = self.with_sms()
        r, doc = self.send_otp(token, 429, "rateLimited")
        self.assertIn("retryAfter", doc)
        self.assertTrue(r.header("retry-after") and 0 < int(r.header("retry-after")) <= 60, "Retry-After")
        if CONFIG.get("clock_file"):
            now = self.clock()
            self.set_clock(now + 61)
            self.send_otp(token)
            self.sms(s, mb, 2)

    def test_bad_input_to_complete_counts_nothing(self):
        _, _, token, code = self.with_sms()
        rows = [
            ({"answers": ANSWERS[:2]}, 400, "malformed"),
            ({"answers": "St Mary's"}, 400, "malformed"),
            ({"answers": ["  ", "a", "b"]}, 400, "malformed"),
            ({"answers": ["x" * 200, "a", "b"]}, 400, "malformed"),
            ({"answers": [1, 2, 3]}, 400, "malformed"),
            ({"otp": "12ab56"}, 400, "malformed"),
            ({"otp": "12345"}, 400, "malformed"),
            ({"otp": 123456}, 400, "malformed"),
            ({"credential": 5}, 400, "malformed"),
            ({"envelopePassphrase": "password"}, 400, "weakPassword"),
            ({"envelopePassphrase": None}, 400, "malformed"),
            ({"token": None}, 400, "malformed"),
        ]
        for change, status, problem in rows:
            with self.subTest(change=change):
                payload = {"token": token, "answers": ANSWERS, "otp": "000000", "envelopePassphrase": PASSPHRASE}
                payload.update(change)
                payload = {k: v for k, v in payload.items() if v is not None}
                r = self.public("recoveryComplete", "/v1/recovery/complete", payload)
                self.expect(r, status, problem=problem)
        self.assertEqual(self.complete(token, otp=other(code), status=403, problem="badOTP")["attemptsLeft"], 4)
        self.assertEqual(self.complete(token, WRONG, otp=code, status=403, problem="badAnswers")["attemptsLeft"], 4)
        self.assertEqual(self.start(token)["otp"], "sms", "the token is still good")

    def test_five_wrong_otps_lock_the_recovery(self):
        _, _, token, code = self.with_sms()
        bad = other(code)
        self.assertEqual(self.complete(token, status=403, problem="badOTP")["attemptsLeft"], 5, "no OTP: not counted")
        for left in (4, 3, 2, 1):
            self.assertEqual(self.complete(token, otp=bad, status=403, problem="badOTP")["attemptsLeft"], left)
        self.complete(token, otp=bad, status=403, problem="proofLocked")
        self.complete(token, otp=code, status=403, problem="proofLocked")
        self.start(token, 403, "proofLocked")
        self.send_otp(token, 403, "proofLocked")

    def test_a_subject_without_a_credential_has_nothing_to_recover(self):
        _, _, token, code = self.with_sms()
        self.complete(token, otp=code, status=409, problem="conflict")

    def test_recovery_with_several_credentials_asks_to_choose_then_replaces_the_chosen_one(self):
        mb = self.mailbox()
        s = self.apply()
        self.apply(email=s.email)  # a second application of the same person
        first, second = self.activate_from_mail(s, mb, 2, 0), self.activate_from_mail(s, mb, 2, 1)
        _, _, token, code = self.with_sms(s)
        doc = self.complete(token, otp=code, status=409, problem="credentialChoiceRequired")
        self.assertEqual(sorted(c["id"] for c in doc["credentials"]),
                         sorted([first.credential["id"], second.credential["id"]]))
        self.assertNotIn("attemptsLeft", doc)
        done = self.complete(token, otp=code, credential=second.credential["id"])  # the code was not used up
        self.assertEqual(done, {"status": "sent", "credential": second.credential["id"]})
        self.start(token, 403, "badToken")
        self.complete(token, otp=code, credential=second.credential["id"], status=403, problem="badToken")

    def test_start_lists_the_credentials_to_choose_before_the_questions_are_answered(self):
        # seed 000: the person picks the credential (product, dates) first, then answers
        mb = self.mailbox()
        s = self.apply()
        self.apply(email=s.email)
        first, second = self.activate_from_mail(s, mb, 2, 0), self.activate_from_mail(s, mb, 2, 1)
        token = self.token(s, mb)
        doc = self.start(token)
        self.assertEqual(sorted(c["id"] for c in doc["credentials"]),
                         sorted([first.credential["id"], second.credential["id"]]))
        for c in doc["credentials"]:
            self.assertEqual(set(c), {"id", "profile", "subject", "notAfter"})

    def test_a_wrong_answer_does_not_use_up_the_sms_code(self):
        mb = self.mailbox()
        s = self.apply()
        a = self.activate_from_mail(s, mb)
        _, _, token, code = self.with_sms(s)
        doc = self.complete(token, WRONG, otp=code, status=403, problem="badAnswers")
        self.assertEqual(doc["attemptsLeft"], 4)
        done = self.complete(token, otp=code)  # the same SMS code, right answers this time
        self.assertEqual(done, {"status": "sent", "credential": a.credential["id"]})

    def question_attempts(self, s):
        return self.admin("application-show", {"id": s.application})["subject"]["questionAttempts"]

    def test_a_successful_recovery_resets_the_failed_question_attempts(self):
        # §15: a successful attempt resets the count shared by reference renewal and recovery
        mb = self.mailbox()
        now = self.clock()  # a second SMS code is a minute later
        s = self.apply()
        self.activate_from_mail(s, mb)
        token = self.token(s, mb)
        self.send_otp(token)
        doc = self.complete(token, WRONG, otp=self.sms(s, mb, 1), status=403, problem="badAnswers")
        self.assertEqual(doc["attemptsLeft"], self.dir["meta"]["questionAttempts"] - 1)
        self.assertEqual(self.question_attempts(s), 1)
        self.set_clock(now + 61)
        self.send_otp(token)
        self.complete(token, otp=self.sms(s, mb, 2))
        self.assertEqual(self.question_attempts(s), 0, "the successful recovery resets the attempts")

    def test_completing_one_link_ends_the_other_links_of_the_subject(self):
        # §17: earlier tokens stay valid until they expire or one of them completes
        mb = self.mailbox()
        s = self.apply()
        self.activate_from_mail(s, mb)
        first = self.token(s, mb)
        second = self.token(s, mb, 2)
        self.assertNotEqual(first, second)
        self.assertEqual(self.start(first)["otp"], "sms", "both links are good before one completes")
        self.send_otp(second)
        code = self.sms(s, mb, 1)
        self.complete(second, otp=code)
        self.start(first, 403, "badToken")
        self.send_otp(first, 403, "badToken")
        self.complete(first, otp=code, status=403, problem="badToken")

    # ---- TOTP (maildir, clock, oathtool) ---------------------------------------------------
    def test_totp_window_single_use_and_recovery_with_it(self):
        mb = self.mailbox()
        now = self.clock()
        if not shutil.which("oathtool"):
            self.skipTest("needs oathtool")
        now -= now % 30  # the start of a step, so that ±30 s is one step either side
        self.set_clock(now + 5)
        s = self.apply()
        a = self.activate_from_mail(s, mb, 1)
        setup_url, confirm_url = self.url("totpSetup", "/v1/totp/setup"), self.url("totpConfirm", "/v1/totp/confirm")
        doc = self.expect(self.client.post(setup_url, a.key, {}, kid=a.kid), 200, "totp-setup-response")
        secret = doc["secret"]
        SECRETS.add(secret)
        self.assertTrue(doc["otpauthUri"].startswith("otpauth://totp/certflow:" + s.email.replace("@", "%40")))
        self.assertIn("secret=" + secret, doc["otpauthUri"])

        def confirm(code, status=200, problem=None):
            r = self.client.post(confirm_url, a.key, {"code": code}, kid=a.kid)
            return self.expect(r, status, "totp-confirm-response", problem)

        self.assertEqual(confirm(oathtool(secret, now + 60), 403, "badOTP")["attemptsLeft"], 4)
        confirm("12345", 400, "malformed")
        self.assertEqual(confirm(oathtool(secret, now - 30)), {"status": "confirmed"})
        self.expect(self.client.post(setup_url, a.key, {}, kid=a.kid), 409, problem="conflict")

        token = self.token(s, mb)
        self.assertEqual(self.start(token)["otp"], "totp")
        self.send_otp(token, 409, "conflict")
        code = oathtool(secret, now + 30)
        self.complete(token, WRONG, otp=code, status=403, problem="badAnswers")
        self.complete(token, otp=code, status=403, problem="badOTP")  # used up by that attempt
        self.complete(token, otp=oathtool(secret, now), status=403, problem="badOTP")  # an older step
        self.set_clock(now + 65)
        done = self.complete(token, otp=oathtool(secret, now + 60))
        self.assertEqual(done, {"status": "sent", "credential": a.credential["id"]})
        self.start(token, 403, "badToken")
        # the new code replaces the credential once activated
        b = self.activate_from_mail(s, mb, 2)  # the newest of two envelopes
        self.assertNotEqual(b.credential["id"], a.credential["id"])
        old = self.client.post(a.credential["url"], a.key, None, kid=a.kid)
        self.assertEqual(self.expect(old, 200, "credential")["status"], "revoked")

    def test_an_operator_removes_a_lost_totp_and_recovery_asks_for_sms_again(self):
        mb = self.mailbox()
        now = self.clock()
        if not shutil.which("oathtool"):
            self.skipTest("needs oathtool")
        now -= now % 30
        self.set_clock(now + 5)
        s = self.apply()
        a = self.activate_from_mail(s, mb, 1)
        setup_url, confirm_url = self.url("totpSetup", "/v1/totp/setup"), self.url("totpConfirm", "/v1/totp/confirm")
        secret = self.expect(self.client.post(setup_url, a.key, {}, kid=a.kid), 200, "totp-setup-response")["secret"]
        SECRETS.add(secret)
        r = self.client.post(confirm_url, a.key, {"code": oathtool(secret, now)}, kid=a.kid)
        self.expect(r, 200, "totp-confirm-response")
        token = self.token(s, mb)
        self.assertEqual(self.start(token)["otp"], "totp")
        subject = self.admin("application-show", {"id": s.application})["subject"]
        self.assertTrue(subject["totp"])

        self.admin("totp-reset", {}, 400, "malformed")
        self.admin("totp-reset", {"subject": "0" * 26}, 404, "notFound")
        self.assertTrue(self.admin("application-show", {"id": s.application})["subject"]["totp"], "nothing changed")
        doc = self.admin("totp-reset", {"subject": subject["id"]})
        self.assertEqual((doc["id"], doc["totp"]), (subject["id"], False))
        self.assertEqual(doc["otpFailures"], subject["otpFailures"], "failures are unlock's")
        self.assertEqual(self.start(token)["otp"], "sms", "the same token now needs an SMS code")
        self.send_otp(token)
        done = self.complete(token, otp=self.sms(s, mb, 1))
        self.assertEqual(done, {"status": "sent", "credential": a.credential["id"]})
        # the holder may enrol a new authenticator; the trail shows the reset and no secret
        again = self.expect(self.client.post(setup_url, a.key, {}, kid=a.kid), 200, "totp-setup-response")
        SECRETS.add(again["secret"])
        self.assertNotEqual(again["secret"], secret)
        events = self.admin("audit-list", {"object": "subject:" + subject["id"], "limit": 500})["events"]
        self.assertIn(("totp.reset", "ok"), [(e["action"], e["result"]) for e in events])

