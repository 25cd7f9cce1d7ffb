#!/usr/bin/python3
"""Every JSON Schema in spec/schemas has an example in spec/examples that validates, every
example names an existing schema, and every inline example of spec/protocol.md that is marked
<!-- example: NAME --> equals spec/examples/NAME.example.json.

Example files are named <schema>.example.json or <schema>.<variant>.example.json.
Inline examples may abbreviate a string: a string that ends with "…" matches any string that
starts with the text before the "…".
Run: /usr/bin/python3 tests/spec/check_examples.py [-v]
"""
import json
import os
import re
import sys
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "conformance"))
import cfschema  # noqa: E402  (shared with the conformance suite)

EXAMPLES = os.path.join(ROOT, "spec", "examples")
INLINE_RE = re.compile(r"<!--\s*example:\s*([\w.-]+)\s*-->\s*\n```json\n(.*?)\n```", re.S)


def read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def matches(inline, full, path="$"):
    """inline equals full, except that a string ending in '…' is a prefix."""
    if isinstance(inline, str) and inline.endswith("…") and isinstance(full, str):
        return None if full.startswith(inline[:-1]) else path
    if isinstance(inline, dict) and isinstance(full, dict):
        if set(inline) != set(full):
            return "%s: members differ: %s" % (path, sorted(set(inline) ^ set(full)))
        for k in inline:
            r = matches(inline[k], full[k], path + "." + k)
            if r:
                return r
        return None
    if isinstance(inline, list) and isinstance(full, list):
        if len(inline) != len(full):
            return path + ": lengths differ"
        for i, (a, b) in enumerate(zip(inline, full)):
            r = matches(a, b, "%s[%d]" % (path, i))
            if r:
                return r
        return None
    return None if inline == full and type(inline) is type(full) else path


def walk(node, path="$"):
    """(path, node) of every object member of a JSON document, depth first."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield path + "." + k, v
            yield from walk(v, path + "." + k)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk(v, "%s[%d]" % (path, i))


class ExamplesAgree(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.schemas = cfschema.Schemas(os.path.join(ROOT, "spec", "schemas"))
        cls.examples = sorted(f for f in os.listdir(EXAMPLES) if f.endswith(".example.json"))

    def test_all_schemas_are_valid_json_schemas(self):
        for name in self.schemas.names():
            with self.subTest(schema=name):
                self.schemas.check_schema(name)

    def test_every_schema_has_an_example(self):
        have = {f.split(".", 1)[0] for f in self.examples}
        missing = [n for n in self.schemas.names() if n != "defs" and n not in have]
        self.assertEqual(missing, [], "schemas without an example")

    def test_every_example_names_a_schema_and_validates(self):
        for f in self.examples:
            with self.subTest(example=f):
                name = f.split(".", 1)[0]
                self.assertIn(name, self.schemas.names(), "no schema for example " + f)
                doc = read_json(os.path.join(EXAMPLES, f))
                errs = self.schemas.errors(name, doc)
                self.assertEqual(errs, [], "%s does not validate" % f)

    def test_inline_examples_of_protocol_md_match_the_example_files(self):
        with open(os.path.join(ROOT, "spec", "protocol.md"), encoding="utf-8") as f:
            text = f.read()
        found = INLINE_RE.findall(text)
        self.assertGreaterEqual(len(found), 5, "marked inline examples in protocol.md")
        for name, block in found:
            with self.subTest(inline=name):
                inline = json.loads(block)
                full = read_json(os.path.join(EXAMPLES, name + ".example.json"))
                self.assertIsNone(matches(inline, full), "protocol.md inline example %s differs" % name)

    def test_schemas_reject_obvious_violations(self):
        # a few negative vectors, so that a schema that accepts everything cannot pass
        bad = [
            ("problem", {"type": "urn:certflow:error:nope", "detail": "x", "status": 400}),
            ("certificate", dict(self.load("certificate"), serial="00ab")),
            ("certificate", dict(self.load("certificate"), serial="ABCD")),
            ("certificate", dict(self.load("certificate"), notAfter="2026-11-21T10:00:00+00:00")),
            ("certificate", dict(self.load("certificate"), status="revoked")),  # no reason/revokedAt
            ("enrolment", dict(self.load("enrolment"), activationCode="ABCD-EFGH-JKMN-PQRS-TVWX")),
            ("enrolment", dict(self.load("enrolment"), reference="1234-5678-9012")),
            ("jws", dict(self.load("jws"), signature=self.load("jws")["signature"] + "=")),
            ("jws", dict(self.load("jws"), payload="a+b")),
            ("jws-protected-header", dict(self.load("jws-protected-header"), kid="https://ca.example/v1/account/x")),
            ("jws-protected-header", dict(self.load("jws-protected-header"),
                                          jwk=dict(self.load("jws-protected-header")["jwk"], d="AAAA"))),
            ("activate-request", dict(self.load("activate-request"), activationCode="ABCD-EFGH-JKMN-PQRS-TVWU")),
            ("directory", dict(self.load("directory"), meta=dict(self.load("directory")["meta"], algorithms=["RS256"]))),
            ("admin-revoke-request", {"serial": "5f1c", "reason": 7}),
            ("recovery-start-request", {"token": "jvRvxwJ4Lv-1aXHrmup1SY8rMwthLysP_ZYiCY7X-vR"}),  # trailing bits
            ("recovery-complete-request", dict(self.load("recovery-complete-request"), answers=["a", "b"])),
            ("recovery-complete-request", dict(self.load("recovery-complete-request"), otp="12345")),
            ("recovery-start-response", dict(self.load("recovery-start-response"), otp="email")),
            ("totp-setup-response", dict(self.load("totp-setup-response"), secret="eyfoeowjgelosbpzqcc6qqyqvltfoazr")),
            ("problem", dict(self.load("problem.bad-otp"), attemptsLeft=-1)),
            # §12: at most 4 DNS names, in the request and in every enrolment the server shows
            ("admin-enrolment-create-response", dict(self.load("admin-enrolment-create-response"),
                                                     dnsNames=["d%d.example" % i for i in range(5)])),
            ("admin-enrolment-create-request", dict(self.load("admin-enrolment-create-request"),
                                                    dnsNames=["d%d.example" % i for i in range(5)])),
            # §1: a record id in a payload is 1 to 31 base64url characters
            ("renew-request", dict(self.load("renew-request"), credential="A" * 32)),
            ("qr-login-approve-request", dict(self.load("qr-login-approve-request"), credential="a/b")),
        ]
        for name, doc in bad:
            with self.subTest(schema=name):
                self.assertNotEqual(self.schemas.errors(name, doc), [], "%s accepted an invalid document" % name)

    def test_every_protected_header_schema_allows_the_algorithms_of_the_directory(self):
        # §4: the key-change inner header takes the same algorithms as every other (ES384 too)
        want = self.schema_json("directory")["properties"]["meta"]["properties"]["algorithms"]["items"]["enum"]
        for name in ("jws-protected-header", "key-change-protected-header"):
            with self.subTest(schema=name):
                self.assertEqual(sorted(self.schema_json(name)["properties"]["alg"]["enum"]), sorted(want))

    def test_every_enrolment_schema_has_the_same_dns_name_limit(self):
        limits = {}
        for name in sorted(self.schemas.names()):
            doc = self.schema_json(name)
            for path, node in walk(doc):
                if path.endswith("dnsNames") and isinstance(node, dict) and "maxItems" in node:
                    limits[name + ":" + path] = node["maxItems"]
        self.assertGreaterEqual(len(limits), 2)
        self.assertEqual(set(limits.values()), {4}, limits)

    def schema_json(self, name):
        return read_json(os.path.join(ROOT, "spec", "schemas", name + ".schema.json"))

    def test_code_schemas_accept_what_a_person_types_and_refuse_letters_outside_crockford(self):
        # §8: dashes, spaces and case are ignored and O, I, L are read as 0, 1, 1; U is malformed
        act = self.load("activate-request")
        emg = self.load("emergency-suspend-request")
        renew = self.load("portal-renew-request")
        good = [
            ("activate-request", dict(act, activationCode="abcd efgh-jkmn-pqrs-tvwo")),
            ("activate-request", dict(act, activationCode="OIL0-oil1-ABCD-EFGH-JKMN")),
            ("activate-request", dict(act, activationCode="OIL0OIL1ABCDEFGHJKMN")),
            ("emergency-suspend-request", dict(emg, emergencyCode="7qw3 e5r7 t9yl v3pa")),
            ("emergency-suspend-request", dict(emg, emergencyCode="OIL0-oil1-ABCD-EFGH")),
            ("portal-renew-request", dict(renew, coupon="7qw3-e5r7-t9yi-v3po")),
        ]
        for name, doc in good:
            with self.subTest(schema=name, doc=doc):
                self.assertEqual(self.schemas.errors(name, doc), [], "%s refused a code typed with aliases" % name)
        bad = [
            ("activate-request", dict(act, activationCode="abcd-efgh-jkmn-pqrs-tvwu")),
            ("activate-request", dict(act, activationCode="ABCD_EFGH_JKMN_PQRS_TVWX")),
            ("activate-request", dict(act, activationCode="ABCD-EFGH-JKMN-PQRS-TVW")),
            ("emergency-suspend-request", dict(emg, emergencyCode="7QW3-E5R7-T9Y1-V3PU")),
            ("portal-renew-request", dict(renew, coupon="7QW3-E5R7-T9Y1-V3P")),
            ("coupon", dict(self.load("coupon"), code="7QW3-E5R7-T9YI-V3PA")),  # shown: no alias
        ]
        for name, doc in bad:
            with self.subTest(schema=name, doc=doc):
                self.assertNotEqual(self.schemas.errors(name, doc), [], "%s accepted a malformed code" % name)

    def test_credential_schemas_hold_a_pending_credential_without_certificates_only(self):
        # §12, §24.1: a remote credential approved and not activated has no certificate yet
        cred = self.load("credential")
        show = self.load("admin-credential-show-response")
        for name, doc, ok in [
            ("credential", dict(cred, status="pending", certificates=[]), True),
            ("credential", dict(cred, status="pending"), False),
            ("credential", dict(cred, status="active", certificates=[]), False),
            ("admin-credential-show-response", dict(show, status="pending", certificates=[]), True),
            ("admin-credential-show-response", dict(show, status="pending"), False),
            ("admin-credential-show-response", dict(show, status="revoked", certificates=[]), False),
            ("admin-credential-list-response", {"credentials": [dict(cred, status="pending", certificates=[])]}, True),
        ]:
            with self.subTest(schema=name, status=doc["credentials"][0]["status"] if "credentials" in doc else doc["status"]):
                self.assertEqual(self.schemas.errors(name, doc) == [], ok)

    def load(self, name):
        return read_json(os.path.join(EXAMPLES, name + ".example.json"))


if __name__ == "__main__":
    unittest.main()
