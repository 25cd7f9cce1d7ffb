"""Applications, reference renewal, emergency suspension, audit (spec/protocol.md §14, §15, §20, §21).

Black box over HTTP. Tests that need the codes the server e-mails read them from its maildir
(run.py --maildir DIR) and open the envelope themselves (cfmail.py); they skip without it.
Auto-approval needs server configuration (auto_approve) and is left to the integration tests."""
import copy
import json
import os
import time

from cryptography import x509

import cfclient
import cfmail
from cfbase import CONFIG, SECRETS, ConformanceTest, Key, make_csr

PASSPHRASE = "Tr0ub4dor&3x-conf"
ANSWERS = ["St Mary's", "London", "Babbage"]


def good_application(profile="device"):
    tag = cfclient.random_suffix()
    return {
        "profile": profile, "givenName": "Ada", "surname": "Conf" + tag, "uniqueId": "conf-" + tag,
        "email": "Ada.%s@Example.org" % tag, "altEmail": "ada.%s@home.example" % tag, "mobile": "+447700900123",
        "questions": [{"question": "Name of your first school?", "answer": ANSWERS[0]},
                      {"question": "City where your mother was born?", "answer": ANSWERS[1]},
                      {"question": "Make of your first car?", "answer": ANSWERS[2]}],
        "consents": ["terms", "privacy"], "envelopePassphrase": PASSPHRASE,
    }


def mutate(**changes):
    """A function that applies changes (None removes a member; callables get the payload)."""
    def f(p):
        for k, v in changes.items():
            if v is None:
                p.pop(k, None)
            elif callable(v):
                v(p)
            else:
                p[k] = v
        return p
    return f


def set_question(i, **kw):
    return lambda p: p["questions"][i].update(kw)


# (name, change, problem)
BAD_APPLICATIONS = [
    ("no profile", mutate(profile=None), "malformed"),
    ("unknown profile", mutate(profile="no-such-profile"), "malformed"),
    ("empty givenName", mutate(givenName=""), "malformed"),
    ("givenName of 65 octets", mutate(givenName="A" * 65), "malformed"),
    ("givenName with a control character", mutate(givenName="Ada\u0007"), "malformed"),
    ("givenName with a C1 control character", mutate(givenName="Ada\u0085"), "malformed"),
    ("surname with a comma", mutate(surname="Love,lace"), "malformed"),
    ("surname with a trailing space", mutate(surname="Lovelace "), "malformed"),
    ("names together over 64 octets", mutate(givenName="A" * 32, surname="B" * 32), "malformed"),
    ("givenName a number", mutate(givenName=42), "malformed"),
    ("uniqueId with a space", mutate(uniqueId="ada 1"), "malformed"),
    ("uniqueId of 65 characters", mutate(uniqueId="a" * 65), "malformed"),
    ("email without @", mutate(email="ada.example.org"), "malformed"),
    ("email with two @", mutate(email="ada@x@example.org"), "malformed"),
    ("email with a space", mutate(email="ada lovelace@example.org"), "malformed"),
    ("email of 128 octets", mutate(email="a" * 116 + "@example.org"), "malformed"),
    ("no altEmail", mutate(altEmail=None), "malformed"),
    ("altEmail equal to email but for case", lambda p: dict(p, altEmail=p["email"].upper()), "malformed"),
    ("mobile without +", mutate(mobile="447700900123"), "malformed"),
    ("mobile of 7 digits", mutate(mobile="+1234567"), "malformed"),
    ("mobile of 16 digits", mutate(mobile="+1234567890123456"), "malformed"),
    ("mobile with a space", mutate(mobile="+44 7700900123"), "malformed"),
    ("two questions", lambda p: dict(p, questions=p["questions"][:2]), "malformed"),
    ("four questions", lambda p: dict(p, questions=p["questions"] + p["questions"][:1]), "malformed"),
    ("two equal questions", set_question(2, question="Name of your first school?"), "malformed"),
    ("an empty question", set_question(1, question=""), "malformed"),
    ("a question of 201 octets", set_question(1, question="q" * 201), "malformed"),
    ("a question with a C1 control character", set_question(1, question="Pet\u009b?"), "malformed"),
    ("a blank answer", set_question(0, answer=" \t "), "malformed"),
    ("an answer of 129 octets", set_question(0, answer="x" * 129), "malformed"),
    ("an answer that is a number", set_question(0, answer=7), "malformed"),
    ("consents without privacy", mutate(consents=["terms"]), "malformed"),
    ("consents with an unknown name", mutate(consents=["terms", "privacy", "marketing"]), "malformed"),
    ("consents with a repeated name", mutate(consents=["terms", "privacy", "terms"]), "malformed"),
    ("no envelopePassphrase", mutate(envelopePassphrase=None), "malformed"),
    ("a short passphrase", mutate(envelopePassphrase="Ab1!x"), "weakPassword"),
    ("a passphrase without a digit", mutate(envelopePassphrase="Troubador&xyz"), "weakPassword"),
    ("a passphrase with a run of three", mutate(envelopePassphrase="Tr0ub4dor&&&x"), "weakPassword"),
]


class ApplicationTest(ConformanceTest):
    """Fixtures: applying, the admin's view, the maildir."""

    def apply(self, payload, status=201, problem=None, key=None):
        r = self.client.post(self.dir["apply"], key or Key.generate(), payload, use_jwk=True)
        return self.expect(r, status, None if problem else "apply-response", problem)

    def applications(self):
        return self.admin_all("application-list", "applications")

    def show(self, app_id):
        return self.admin("application-show", {"id": app_id})

    def maildir(self):
        return cfmail.Maildir(CONFIG.get("maildir"))

    def approved(self, payload=None):
        """Apply, approve, and read the two e-mails: (application, payload, envelope plaintext)."""
        payload = payload or good_application(self.profile())
        app = self.apply(payload)
        app = self.admin("application-approve", {"id": app["id"]})
        return app, payload, self.envelope(payload["email"], app)

    def envelope(self, address, app, count=1):
        md = self.maildir()
        ref_mail = md.find(address, "reference", count)[-1]
        env_mail = md.find(address, "envelope", count)[-1]
        self.assertEqual(env_mail["Subject"], "certflow: your envelope")
        self.assertEqual(ref_mail["Subject"], "certflow: your reference number")
        ref = app["reference"]
        self.assertIn("%s-%s-%s" % (ref[:4], ref[4:8], ref[8:]), cfmail.body(ref_mail))
        plain, number = cfmail.open_envelope(cfmail.body(env_mail), PASSPHRASE)
        SECRETS.add(plain["activationCode"])
        SECRETS.add(plain["emergencyCode"])
        self.assertNotIn(plain["activationCode"], cfmail.body(ref_mail), "the reference e-mail holds no code")
        self.assertEqual(plain["reference"], ref)
        self.assertEqual(plain["envelopeNumber"], number)
        return plain

    def activate_plain(self, plain):
        key, leaf = Key.generate(), Key.generate()
        r = self.client.activate(key, plain["reference"], plain["activationCode"], make_csr(leaf))
        return self.expect(r, 201, "activate-response")

    def audit(self, **payload):
        return self.admin("audit-list", payload)


class TestApply(ApplicationTest):
    def test_each_bad_application_is_refused_and_creates_nothing(self):
        before = len(self.applications())
        for name, change, problem in BAD_APPLICATIONS:
            with self.subTest(row=name):
                payload = change(copy.deepcopy(good_application(self.profile())))
                doc = self.apply(payload, 400, problem=problem)
                self.assertNotIn(PASSPHRASE, json.dumps(doc))
        self.assertEqual(len(self.applications()), before, "a refused application created nothing")

    def test_apply_signed_with_a_kid_is_malformed(self):
        a = self.activate()
        r = self.client.post(self.dir["apply"], a.key, good_application(self.profile()), kid=a.kid)
        self.expect(r, 400, problem="malformed")

    def test_apply_files_a_pending_application_the_operator_sees(self):
        payload = good_application(self.profile())
        app = self.apply(payload)
        self.assertEqual((app["status"], app["profile"]), ("pending", payload["profile"]))
        shown = self.show(app["id"])
        self.assertEqual(shown["status"], "pending")
        self.assertFalse(shown["needsReview"])
        subj = shown["subject"]
        self.assertEqual(subj["email"], payload["email"].lower(), "e-mail addresses are stored lower-case")
        self.assertEqual((subj["givenName"], subj["surname"], subj["uniqueId"]),
                         (payload["givenName"], payload["surname"], payload["uniqueId"]))
        self.assertEqual(sorted(shown["consents"]), ["privacy", "terms"])
        self.assertIn(app["id"], [a["id"] for a in self.admin_all("application-list", "applications", {"status": "pending"})])
        self.assertNotIn(app["id"], [a["id"] for a in self.admin_all("application-list", "applications", {"status": "approved"})])
        body = json.dumps(shown)
        for secret in ANSWERS + [PASSPHRASE]:
            self.assertNotIn(secret, body, "the operator's view holds no answer or passphrase")

    def test_a_different_identity_for_a_known_email_joins_it_for_review_with_the_same_answer(self):
        first = good_application(self.profile())
        a = self.apply(first)
        second = dict(copy.deepcopy(first), surname="Byron")
        b = self.apply(second)
        self.assertEqual(sorted(a), sorted(b), "the same members whatever the subject's state")
        self.assertEqual(b["status"], "pending")
        sa, sb = self.show(a["id"]), self.show(b["id"])
        self.assertEqual(sa["subject"]["id"], sb["subject"]["id"], "one subject per e-mail address")
        self.assertTrue(sb["needsReview"])
        self.assertEqual(sb["subject"]["surname"], first["surname"], "an application does not change the subject")

    def test_values_at_their_limits_are_accepted(self):
        payload = good_application(self.profile())
        payload.update(uniqueId="u" * 64, givenName="A" * 31, surname="B" * 32)
        payload["questions"][0]["question"] = "q" * 200
        payload["questions"][1]["answer"] = "a" * 128
        shown = self.show(self.apply(payload)["id"])
        self.assertEqual(shown["subject"]["uniqueId"], "u" * 64)

    def test_the_directory_password_policy_is_the_one_the_server_applies(self):
        policy = self.dir["meta"]["passwordPolicy"]
        self.assertEqual(sorted(policy["requires"]), ["digit", "lower", "special", "upper"])

        def passphrase(n):  # n characters, every class, no repeated character
            return ("aB3$cD5%eF7&gH9*" * 16)[:n]

        def check(phrase, status, problem=None):
            with self.subTest(length=len(phrase), phrase=phrase[:12]):
                self.apply(dict(good_application(self.profile()), envelopePassphrase=phrase), status,
                           problem=problem)

        check(passphrase(policy["minLength"]), 201)
        check(passphrase(policy["minLength"] - 1), 400, "weakPassword")
        check(passphrase(policy["maxLength"]), 201)
        check(passphrase(policy["maxLength"] + 1), 400, "weakPassword")
        run = policy["maxRepeat"]
        check("x" * run + passphrase(policy["minLength"]), 201)
        check("x" * (run + 1) + passphrase(policy["minLength"]), 400, "weakPassword")
        for drop in ("BDFH", "aceg", "3579", "$%&*"):  # one class missing
            phrase = "".join(ch for ch in passphrase(2 * policy["minLength"]) if ch not in drop)
            check(phrase, 400, "weakPassword")

    def test_application_list_refuses_an_unknown_status(self):
        self.admin("application-list", {"status": "sleeping"}, 400, "malformed")


class TestDecisions(ApplicationTest):
    def test_reject_records_the_reason_and_a_decided_application_cannot_be_decided_again(self):
        app = self.apply(good_application(self.profile()))
        shown = self.admin("application-reject", {"id": app["id"], "reason": "unknown unique id"})
        self.assertEqual((shown["status"], shown["reason"]), ("rejected", "unknown unique id"))
        self.assertIn("decidedAt", shown)
        self.admin("application-approve", {"id": app["id"]}, 409, "conflict")
        self.admin("application-reject", {"id": app["id"], "reason": "again"}, 409, "conflict")

    def test_reject_needs_a_reason(self):
        app = self.apply(good_application(self.profile()))
        self.admin("application-reject", {"id": app["id"]}, 400, "malformed")
        self.admin("application-reject", {"id": app["id"], "reason": ""}, 400, "malformed")
        self.assertEqual(self.show(app["id"])["status"], "pending")

    def test_unknown_application_is_not_found(self):
        for op in ("application-show", "application-approve"):
            self.admin(op, {"id": "0" * 26}, 404, "notFound")
        self.admin("application-reject", {"id": "0" * 26, "reason": "x"}, 404, "notFound")

    def test_approval_mails_the_reference_and_an_envelope_whose_code_activates(self):
        app, payload, plain = self.approved()
        self.assertEqual(app["status"], "approved")
        self.assertRegex(app["reference"], r"^[0-9]{12}$")
        self.assertEqual(plain["envelopeNumber"], 1)
        self.assertRegex(plain["emergencyCode"], r"^[0-9A-HJKMNP-TV-Z]{4}(?:-[0-9A-HJKMNP-TV-Z]{4}){3}$")
        body = self.activate_plain(plain)
        cert = x509.load_pem_x509_certificate(body["certificate"]["pem"].encode())
        cn = cert.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)[0].value
        self.assertEqual(cn, "%s %s" % (payload["givenName"], payload["surname"]))
        shown = self.show(app["id"])
        self.assertEqual((shown["status"], shown["credential"]), ("activated", body["credential"]["id"]))


class TestReferenceRenew(ApplicationTest):
    def renew(self, reference, answers, status, problem=None):
        r = self.client.post(self.dir["referenceRenew"], Key.generate(), {"reference": reference, "answers": answers},
                             use_jwk=True)
        return self.expect(r, status, None if problem else "reference-renew-response", problem)

    def test_malformed_requests_count_nothing(self):
        self.renew("1234-5678-9012", ANSWERS, 400, "malformed")
        self.renew("123456789012", ANSWERS[:2], 400, "malformed")
        self.renew("123456789012", ["a", " ", "b"], 400, "malformed")

    def test_an_unknown_reference_is_refused_like_wrong_answers_without_attempts(self):
        doc = self.renew("000000000000", ANSWERS, 403, "badAnswers")
        self.assertNotIn("attemptsLeft", doc)

    def test_a_live_reference_is_refused_without_counting(self):
        app, payload, _ = self.approved()
        doc = self.renew(app["reference"], ANSWERS, 403, "badAnswers")
        self.assertNotIn("attemptsLeft", doc)
        self.assertEqual(self.show(app["id"])["subject"]["questionAttempts"], 0)

    def test_the_wrong_answers_that_use_the_last_try_answer_proof_locked(self):
        # spec/errors.md "Counters": the last try gets the lock's problem, attemptsLeft is never 0
        clock = CONFIG.get("clock_file")
        if not clock:
            self.skipTest("needs --clock-file (a server started with --test-clock FILE)")
        app, _, _ = self.approved()
        with open(clock) as f:
            saved = f.read()
        self.addCleanup(_write_clock, clock, saved)
        _write_clock(clock, str(int(time.time() + 16 * 86400)))  # the reference has expired
        self.client.nonce = None
        limit = self.dir["meta"]["questionAttempts"]
        for left in range(limit - 1, 0, -1):
            self.assertEqual(self.renew(app["reference"], ["x", "y", "z"], 403, "badAnswers")["attemptsLeft"], left)
        self.assertNotIn("attemptsLeft", self.renew(app["reference"], ["x", "y", "z"], 403, "proofLocked"))
        self.renew(app["reference"], ANSWERS, 403, "proofLocked")  # locked: not even the right answers
        self.assertEqual(self.show(app["id"])["subject"]["questionAttempts"], limit)

    def test_an_expired_reference_is_renewed_with_two_right_answers(self):
        clock = CONFIG.get("clock_file")
        if not clock:
            self.skipTest("needs --clock-file (a server started with --test-clock FILE)")
        app, payload, first = self.approved()
        with open(clock) as f:
            saved = f.read()
        self.addCleanup(_write_clock, clock, saved)
        _write_clock(clock, str(int(time.time() + 16 * 86400)))
        self.client.nonce = None
        doc = self.renew(app["reference"], ["x", "y", ANSWERS[2]], 403, "badAnswers")
        self.assertEqual(doc["attemptsLeft"], self.dir["meta"]["questionAttempts"] - 1)
        self.assertEqual(self.show(app["id"])["subject"]["questionAttempts"], 1)
        # two of three right, typed differently: normalisation (case, white space)
        self.renew(app["reference"], ["  st   MARY'S ", "LONDON", "wrong"], 200)
        shown = self.show(app["id"])
        self.assertEqual(shown["subject"]["questionAttempts"], 0, "success resets the attempts")
        self.assertNotEqual(shown["reference"], app["reference"])
        self.assertEqual(shown["envelopes"], 2)
        second = self.envelope(payload["email"], shown, count=2)
        self.assertEqual(second["envelopeNumber"], 2)
        self.assertNotEqual(second["activationCode"], first["activationCode"])


def _write_clock(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)
    time.sleep(1.1)


class TestEmergencySuspend(ApplicationTest):
    def suspend(self, reference, code, status, problem=None):
        r = self.client.post(self.dir["emergencySuspend"], Key.generate(), {"reference": reference, "emergencyCode": code},
                             use_jwk=True)
        return self.expect(r, status, None if problem else "emergency-suspend-response", problem)

    def test_malformed_codes_count_nothing(self):
        self.suspend("123456789012", "ABCD-EFGH", 400, "malformed")
        self.suspend("123456789012", "ABCD-EFGH-JKMN-PQRU", 400, "malformed")  # U is not Crockford
        self.suspend("12345678901", "ABCD-EFGH-JKMN-PQRS", 400, "malformed")

    def test_an_unknown_reference_counts_attempts_and_locks_like_a_known_one(self):
        reference = "%012d" % (int(cfclient.random_suffix(), 16) % 10**12)
        for left in (4, 3, 2, 1):
            doc = self.suspend(reference, "ABCD-EFGH-JKMN-PQRS", 403, "badEmergencyCode")
            self.assertEqual(doc["attemptsLeft"], left, "the same members as for a known reference")
        doc = self.suspend(reference, "ABCD-EFGH-JKMN-PQRS", 403, "proofLocked")
        self.assertNotIn("attemptsLeft", doc)

    def test_wrong_code_is_counted_and_the_right_one_puts_the_certificate_on_hold(self):
        app, payload, plain = self.approved()
        self.suspend(app["reference"], plain["emergencyCode"], 409, "conflict")  # no credential yet
        body = self.activate_plain(plain)
        serial = body["certificate"]["serial"]
        wrong = "0000-0000-0000-0000" if plain["emergencyCode"] != "0000-0000-0000-0000" else "1111-1111-1111-1111"
        doc = self.suspend(app["reference"], wrong, 403, "badEmergencyCode")
        self.assertEqual(doc["attemptsLeft"], 4)
        self.assertEqual(self.show(app["id"])["emergencyFailures"], 1)
        typed = plain["emergencyCode"].lower().replace("-", " ")
        doc = self.suspend(app["reference"], typed, 200)
        self.assertEqual(doc, {"status": "suspended", "credential": body["credential"]["id"]})
        self.assertEqual(self.show(app["id"])["emergencyFailures"], 0, "the right code resets the failures")
        _, crl = self.fetch_crl()
        entry = crl.get_revoked_certificate_by_serial_number(int(serial, 16))
        self.assertIsNotNone(entry, "the suspended certificate is on the CRL")
        self.assertEqual(entry.extensions.get_extension_for_class(x509.CRLReason).value.reason,
                         x509.ReasonFlags.certificate_hold)
        self.assertEqual(self.admin("certificate-show", {"serial": serial})["status"], "suspended")
        self.suspend(app["reference"], plain["emergencyCode"], 400, "alreadyRevoked")
        mail = self.maildir().find(payload["email"], "suspended")[-1]
        self.assertEqual(mail["Subject"], "certflow: credential suspended")
        # every answer of the right code is in the trail, the refusals too (§20)
        events = self.audit(object="application:" + app["id"], limit=500)["events"]
        self.assertEqual([e["result"] for e in events if e["action"] == "emergency.suspend"],
                         ["conflict", "badEmergencyCode", "ok", "alreadyRevoked"])

    def test_five_wrong_codes_lock_until_the_operator_unlocks(self):
        app, payload, plain = self.approved()
        self.activate_plain(plain)
        for left in (4, 3, 2, 1):
            self.assertEqual(self.suspend(app["reference"], "0000-0000-0000-000Z", 403, "badEmergencyCode")["attemptsLeft"], left)
        self.suspend(app["reference"], "0000-0000-0000-000Z", 403, "proofLocked")
        self.suspend(app["reference"], plain["emergencyCode"], 403, "proofLocked")  # locked: not even checked
        subject = self.show(app["id"])["subject"]["id"]
        self.assertEqual(self.admin("unlock", {"subject": subject}, 200)["id"], subject)
        self.assertEqual(self.show(app["id"])["emergencyFailures"], 0)
        self.suspend(app["reference"], plain["emergencyCode"], 200)

    def test_unlock_of_an_unknown_subject_is_not_found(self):
        self.admin("unlock", {"subject": "0" * 26}, 404, "notFound")


class TestAudit(ApplicationTest):
    def test_the_trail_shows_what_happened_and_no_secret(self):
        start = self.audit(limit=500)
        after = start["events"][-1]["seq"] if start["events"] else 0
        while "next" in start:
            start = self.audit(after=start["next"], limit=500)
            after = start["events"][-1]["seq"] if start["events"] else after
        app, payload, plain = self.approved()
        body = self.activate_plain(plain)
        r = self.client.post(self.dir["emergencySuspend"], Key.generate(),
                             {"reference": app["reference"], "emergencyCode": "0000-0000-0000-000Z"}, use_jwk=True)
        self.expect(r, 403, problem="badEmergencyCode")
        events = self.audit(after=after, limit=500)["events"]
        seen = [(e["action"], e["object"], e["result"]) for e in events]
        obj = "application:" + app["id"]
        self.assertIn(("application.create", obj, "ok"), seen)
        self.assertIn(("application.approve", obj, "ok"), seen)
        self.assertIn(("activate", "enrolment:" + app["reference"], "ok"), seen)
        self.assertIn(("emergency.suspend", obj, "badEmergencyCode"), seen)
        approve = [e for e in events if e["action"] == "application.approve" and e["object"] == obj][0]
        self.assertEqual(approve["actor"], "admin:" + self.client.admin_key.thumbprint())
        create = [e for e in events if e["action"] == "application.create" and e["object"] == obj][0]
        self.assertEqual(create["actor"], "anonymous")
        self.assertEqual([e["seq"] for e in events], sorted(e["seq"] for e in events))
        text = json.dumps(events).lower()
        for secret in ANSWERS + [PASSPHRASE, plain["activationCode"], plain["emergencyCode"],
                                 plain["activationCode"].replace("-", ""), plain["emergencyCode"].replace("-", "")]:
            self.assertNotIn(secret.lower(), text, "a secret in the audit trail")
        self.assertIn("credential " + body["credential"]["id"], json.dumps(events))

    def test_pages_and_the_object_filter(self):
        app = self.apply(good_application(self.profile()))
        self.admin("application-reject", {"id": app["id"], "reason": "test"})
        page = self.audit(limit=1)
        self.assertEqual(len(page["events"]), 1)
        self.assertIn("next", page)
        self.assertEqual(self.audit(after=page["next"], limit=1)["events"][0]["seq"] > page["next"], True)
        mine = self.audit(object="application:" + app["id"], limit=500)["events"]
        self.assertEqual([e["action"] for e in mine], ["application.create", "application.reject"])

    def test_bad_pages_are_malformed(self):
        self.admin("audit-list", {"limit": 0}, 400, "malformed")
        self.admin("audit-list", {"limit": 501}, 400, "malformed")
        self.admin("audit-list", {"after": -1}, 400, "malformed")
        self.admin("audit-list", {"after": "1"}, 400, "malformed")


class TestDirectory(ApplicationTest):
    def test_the_directory_names_the_journeys_and_their_limits(self):
        for name in ("apply", "referenceRenew", "emergencySuspend", "recovery", "recoveryStart", "recoveryOtp",
                     "recoveryComplete", "totpSetup", "totpConfirm"):
            self.assertIn(name, self.dir)
        meta = self.dir["meta"]
        self.assertEqual(sorted(meta["consents"]), ["privacy", "terms"])
        self.assertGreaterEqual(meta["questionAttempts"], 1)
        self.assertIn(meta["questionsRequired"], (1, 2, 3))

    def test_every_consent_has_a_title_and_a_text_a_person_reads_before_accepting(self):
        texts = self.dir["meta"]["consentTexts"]
        self.assertEqual(sorted(texts), sorted(self.dir["meta"]["consents"]))
        for name, t in texts.items():
            self.assertTrue(t["title"].strip(), name)
            # the whole text, not a name or a link: several sentences
            self.assertGreaterEqual(t["text"].count(". "), 2, name)



class TestSubjectUpdate(ConformanceTest):
    """admin/subject-update (§21): contact details changed after an identity check, audited."""

    def subject_of_new_application(self):
        r = self.client.post(self.dir["apply"], Key.generate(), good_application(self.profile()),
                             use_jwk=True)
        app = self.expect(r, 201, "apply-response")
        return self.admin("application-show", {"id": app["id"]})["subject"]

    def test_an_operator_changes_the_addresses_and_mobile_and_the_trail_says_how(self):
        subj = self.subject_of_new_application()
        new = "moved-%s@example.org" % cfclient.random_suffix()
        doc = self.admin("subject-update", {"subject": subj["id"], "email": new, "mobile": "+447700900999",
                                            "identityCheck": "call back to the number on file"})
        self.assertEqual((doc["id"], doc["email"], doc["mobile"]), (subj["id"], new, "+447700900999"))
        self.assertEqual(doc["altEmail"], subj["altEmail"], "an address not given stays")
        events = self.admin("audit-list", {"object": "subject:" + subj["id"]})["events"]
        ev = [e for e in events if e["action"] == "subject.update"]
        self.assertEqual(len(ev), 1, events)
        self.assertIn("call back to the number on file", ev[0]["detail"])
        self.assertNotIn(new, ev[0]["detail"], "the audit names the fields, not the addresses")

    def test_bad_updates_are_refused_and_change_nothing(self):
        subj = self.subject_of_new_application()
        other = self.subject_of_new_application()
        check = {"identityCheck": "passport"}
        for payload, status, problem in (
                (dict(check, subject=subj["id"]), 400, "malformed"),
                (dict(check, subject=subj["id"], email="no-at-sign"), 400, "malformed"),
                (dict(check, subject=subj["id"], mobile="0770090"), 400, "malformed"),
                ({"subject": subj["id"], "email": "x@example.org"}, 400, "malformed"),
                (dict(check, subject=subj["id"], email=subj["altEmail"]), 400, "malformed"),
                (dict(check, subject=subj["id"], email=other["email"]), 409, "conflict"),
                (dict(check, subject="0" * 26, email="x@example.org"), 404, "notFound")):
            with self.subTest(payload=payload):
                self.admin("subject-update", payload, status, problem)
        shown = [a for a in self.admin_all("application-list", "applications")
                 if a["subject"]["id"] == subj["id"]][0]["subject"]
        self.assertEqual((shown["email"], shown["altEmail"], shown["mobile"]),
                         (subj["email"], subj["altEmail"], subj["mobile"]))


if __name__ == "__main__":
    import unittest

    unittest.main()
