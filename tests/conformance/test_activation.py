"""Enrolment codes and activation (spec/protocol.md §8, §9), renewal-info (§10)."""
import datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

import cfclient
from cfbase import SECRETS, ConformanceTest, Key, b64u, make_csr, parse_time, pem_certs, schemas, utcnow


class TestActivation(ConformanceTest):
    def test_activation_issues_a_certificate_for_the_enrolment_not_for_the_csr_names(self):
        enrol, code = self.new_enrolment()
        a = self.activate(enrol, code, cn="evil.example", dns=("evil.example", "www.evil.example"))
        cert = a.cert
        # subject is exactly CN=<enrolment subject>, whatever the CSR asked for
        self.assertEqual([at.value for at in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)], [enrol["subject"]])
        # other attributes may come from the server's configuration, never from the CSR
        self.assertNotIn("evil.example", cert.subject.rfc4514_string())
        try:
            san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            dns = san.get_values_for_type(x509.DNSName)
        except x509.ExtensionNotFound:
            dns = []
        self.assertEqual(sorted(dns), sorted(enrol.get("dnsNames", [])))
        self.assertNotIn("evil.example", " ".join(dns))
        self.assertEqual(cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo),
                         a.leaf_key.public_der(), "certificate is for the CSR's key")
        c = a.body["certificate"]
        self.assertEqual(c["serial"], cfclient.serial_hex(cert.serial_number))
        self.assertEqual(parse_time(c["notBefore"]), cert.not_valid_before.replace(tzinfo=datetime.timezone.utc))
        self.assertEqual(parse_time(c["notAfter"]), cert.not_valid_after.replace(tzinfo=datetime.timezone.utc))
        self.assertEqual(c["status"], "valid")
        days = self.dir["meta"]["profiles"][enrol["profile"]]["validityDays"]
        self.assertAlmostEqual((cert.not_valid_after - cert.not_valid_before).total_seconds(), days * 86400, delta=86400 + 600)
        cred = a.credential
        self.assertEqual((cred["status"], cred["subject"], cred["profile"], cred["certificates"]),
                         ("active", enrol["subject"], enrol["profile"], [c["serial"]]))
        self.assertEqual(self.enrolment(enrol["reference"])["status"], "used")

    def test_issued_chain_verifies_with_openssl(self):
        a = self.activate()
        chain = pem_certs(a.body["chain"])
        self.assertEqual(len(chain), 2)
        self.assertEqual(a.body["chain"].encode(), self.fetch_chain(), "chain of the response = GET ca/chain")
        d = self.tmpdir()
        pem = lambda c: c.public_bytes(serialization.Encoding.PEM)
        root = self.write(d, "root.pem", pem(chain[1]))
        iss = self.write(d, "issuing.pem", pem(chain[0]))
        leaf = self.write(d, "leaf.pem", a.body["certificate"]["pem"])
        rc, out = self.run_openssl("verify", "-CAfile", root, "-untrusted", iss, leaf)
        self.assertEqual(rc, 0, out)
        self.assertIn("OK", out)

    def test_activation_code_is_single_use(self):
        enrol, code = self.new_enrolment()
        self.activate(enrol, code)
        r = self.client.activate(Key.generate(), enrol["reference"], code, make_csr(Key.generate()))
        self.expect(r, 403, problem="enrolmentUsed")

    def test_activation_asked_again_by_its_account_with_the_same_key_answers_the_same_credential(self):
        # A client whose answer was lost asks again (§9): the same account key, the same CSR key
        # and the right code get what the first request made, with 200, and nothing new.
        enrol, code = self.new_enrolment()
        a = self.activate(enrol, code)
        csr = make_csr(a.leaf_key)
        r = self.client.activate(a.key, enrol["reference"], code, csr)
        body = self.expect(r, 200, "activate-response")
        self.assertEqual(r.header("location"), a.credential["url"])
        self.assertEqual(body["account"], a.kid)
        self.assertEqual(body["credential"]["id"], a.credential["id"])
        self.assertEqual(body["certificate"]["serial"], a.serial)
        self.assertEqual(body["credential"]["certificates"], [a.serial])
        self.assertEqual(body["chain"], a.body["chain"])
        acct = self.expect(self.client.post(a.kid, a.key, None, kid=a.kid), 200, "account")
        self.assertEqual(acct["credentials"], [a.credential["url"]])

    def test_activation_asked_again_with_another_key_account_or_code_is_enrolment_used(self):
        enrol, code = self.new_enrolment()
        a = self.activate(enrol, code)
        wrong = "0000-0000-0000-0000-0000" if code != "0000-0000-0000-0000-0000" else "1111-1111-1111-1111-1111"
        tries = (("another CSR key", a.key, code, Key.generate()),
                 ("another account key", Key.generate(), code, a.leaf_key),
                 ("a wrong code", a.key, wrong, a.leaf_key))
        for what, key, code, leaf in tries:
            with self.subTest(what):
                r = self.client.activate(key, enrol["reference"], code, make_csr(leaf))
                self.expect(r, 403, problem="enrolmentUsed")
        e = self.enrolment(enrol["reference"])
        self.assertEqual((e["status"], e["failures"]), ("used", 0))

    def test_concurrent_activations_by_one_account_and_key_all_answer_one_credential(self):
        enrol, code = self.new_enrolment()
        key, leaf = Key.generate(), Key.generate()
        csr = make_csr(leaf)
        n = 8
        answers = self.concurrently(n, lambda c: c.activate(key, enrol["reference"], code, csr))
        statuses = sorted(r.status for r in answers)
        self.assertEqual(statuses, [200] * (n - 1) + [201], [self.describe(r) for r in answers])
        bodies = [self.expect(r, r.status, "activate-response") for r in answers]
        self.assertEqual({(b["credential"]["id"], b["certificate"]["serial"]) for b in bodies},
                         {(bodies[0]["credential"]["id"], bodies[0]["certificate"]["serial"])})

    def test_activation_code_ignores_dashes_and_case(self):
        enrol, code = self.new_enrolment()
        self.activate(enrol, code.replace("-", "").lower())

    def test_activation_code_typed_with_crockford_aliases_and_spaces_activates(self):
        # §8: O is read as 0, I and L as 1, in either case; spaces like dashes. A code with a 0 or a 1 is needed.
        for _ in range(30):  # 30 codes of 20 characters without a 0 or 1: about 1 chance in 10^17
            enrol, code = self.new_enrolment()
            if "0" in code or "1" in code:
                break
            self.admin("enrolment-cancel", {"reference": enrol["reference"]})
        else:
            self.fail("no activation code with a 0 or a 1 in 30 enrolments")
        ones = iter("IlLi" * 5)
        typed = "".join("o" if ch == "0" else next(ones) if ch == "1" else " " if ch == "-" else ch.lower()
                        for ch in code)
        SECRETS.add(typed)
        errs = schemas().errors("activate-request", {"reference": enrol["reference"], "activationCode": typed,
                                                     "csr": b64u(make_csr(Key.generate()))})
        self.assertTrue(errs == [], "the schema activate-request refuses the typed code")  # the code is not printed
        a = self.activate(enrol, typed)
        self.assertEqual(a.credential["status"], "active")
        self.assertEqual(self.enrolment(enrol["reference"])["status"], "used")

    def test_activation_code_with_a_letter_outside_the_alphabet_is_malformed_and_counts_nothing(self):
        enrol, code = self.new_enrolment()
        for bad in (code[:-1] + "U", code[:-1] + "u", code[:-1] + "*"):
            SECRETS.add(bad)
            with self.subTest(last=bad[-1]):
                self.assertTrue(schemas().errors("activate-request", {"reference": enrol["reference"],
                                                                      "activationCode": bad, "csr": "AA"}) != [],
                                "the schema activate-request accepts a letter outside the alphabet")
                r = self.client.activate(Key.generate(), enrol["reference"], bad, make_csr(Key.generate()))
                self.expect(r, 400, problem="malformed")
                self.assert_enrolment_unchanged(enrol, failures=0)
        self.activate(enrol, code)

    def test_wrong_codes_count_and_lock_the_enrolment_at_the_limit(self):
        enrol, code = self.new_enrolment()
        limit = self.dir["meta"]["maxActivationAttempts"]
        wrong = "0000-0000-0000-0000-0000" if code != "0000-0000-0000-0000-0000" else "1111-1111-1111-1111-1111"
        for i in range(1, limit + 1):
            r = self.client.activate(Key.generate(), enrol["reference"], wrong, make_csr(Key.generate()))
            self.expect(r, 403, problem="badActivationCode" if i < limit else "enrolmentLocked")
            e = self.enrolment(enrol["reference"])
            self.assertEqual((e["failures"], e["status"]), (i, "live" if i < limit else "locked"))
        r = self.client.activate(Key.generate(), enrol["reference"], code, make_csr(Key.generate()))
        self.expect(r, 403, problem="enrolmentLocked")

    def test_cancelled_enrolment_cannot_be_activated(self):
        enrol, code = self.new_enrolment()
        doc = self.admin("enrolment-cancel", {"reference": enrol["reference"]})
        self.assertEqual(doc["status"], "cancelled")
        r = self.client.activate(Key.generate(), enrol["reference"], code, make_csr(Key.generate()))
        self.expect(r, 403, problem="enrolmentCancelled")
        self.admin("enrolment-cancel", {"reference": enrol["reference"]}, 409, "conflict")
        self.admin("enrolment-cancel", {"reference": "000000000000"}, 404, "notFound")

    def test_activation_with_a_known_account_key_adds_the_credential_to_that_account(self):
        a = self.activate()
        b = self.activate(key=a.key)
        self.assertEqual(a.kid, b.kid)
        acct = self.expect(self.client.post(a.kid, a.key, None, kid=a.kid), 200, "account")
        self.assertEqual(acct["credentials"], [a.credential["url"], b.credential["url"]])

    def test_p384_account_key_signs_with_es384_when_the_directory_lists_it(self):
        enrol, code = self.new_enrolment()
        key = Key.generate("p384")
        r = self.client.activate(key, enrol["reference"], code, make_csr(Key.generate()))
        if "ES384" in self.dir["meta"]["algorithms"]:
            self.expect(r, 201, schema="activate-response")
        else:
            self.expect(r, 400, problem="badSignatureAlgorithm")

    def test_p384_and_rsa2048_csr_keys_are_accepted(self):
        for kind in ("p384", "rsa2048"):
            with self.subTest(key=kind):
                leaf = Key.generate(kind)
                a = self.activate(leaf_key=leaf)
                self.assertEqual(a.leaf_key.public_der(), leaf.public_der())

    def test_enrolment_create_refuses_an_unknown_profile(self):
        self.admin("enrolment-create", {"subject": "conf-" + cfclient.random_suffix(), "profile": "no-such-profile"},
                   400, "malformed")


class TestRenewalInfo(ConformanceTest):
    def test_renewal_info_window_starts_by_the_profile_rule_and_ends_at_not_after(self):
        a = self.activate()
        url = a.body["certificate"]["renewalInfo"]
        self.assertEqual(url, self.dir["renewalInfo"] + "/" + cfclient.certid(a.cert), "certid per RFC 9773")
        r = self.client.get(url)
        doc = self.expect(r, 200, "renewal-info")
        self.assertRegex(r.header("retry-after") or "", r"^[0-9]+$", "Retry-After in seconds")
        start, end = (parse_time(doc["suggestedWindow"][k]) for k in ("start", "end"))
        nb = a.cert.not_valid_before.replace(tzinfo=datetime.timezone.utc)
        na = a.cert.not_valid_after.replace(tzinfo=datetime.timezone.utc)
        rule = self.dir["meta"]["profiles"][a.credential["profile"]]["renewal"]
        third = datetime.timedelta(seconds=int((na - nb).total_seconds()) // 3)  # whole seconds, rounded down
        opens = na - third if rule == "last-third" else na - datetime.timedelta(days=int(rule.split("-")[0]))
        # §10: both ends to the second, so that a client can compute them itself
        self.assertEqual(start, max(nb, opens), "start = window start of the profile rule")
        self.assertEqual(end, na, "end = notAfter")
        self.assertEqual(doc["suggestedWindow"]["end"], a.body["certificate"]["notAfter"])
        self.assertGreater(start, utcnow())

    def test_renewal_info_of_an_unknown_certificate_is_not_found(self):
        r = self.client.get(self.dir["renewalInfo"] + "/" + cfclient.b64u(b"\x01" * 20) + "." + cfclient.b64u(b"\x7f" + b"\x00" * 8))
        self.expect(r, 404, problem="notFound")

    def test_renewal_info_with_a_malformed_certid_is_malformed(self):
        r = self.client.get(self.dir["renewalInfo"] + "/not-a-certid")
        self.expect(r, 400, problem="malformed")
