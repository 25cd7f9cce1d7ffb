#!/usr/bin/python3
"""The envelope test vector of spec/protocol.md §16.2 opens, by the text of §16.1 alone.

An independent implementation (Python's hashlib and cryptography, not certflow's code) reads the
armoured envelope printed after <!-- envelope-vector -->, checks that it is the unit tests' data
file, derives the key from the passphrase and opens it with the documented aad; the plaintext
must be the JSON text shown in §16.1 and the key the one printed in §16.2.
Run: /usr/bin/python3 tests/spec/check_envelope_vector.py [-v]
"""
import base64
import hashlib
import json
import os
import re
import unittest

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SPEC = os.path.join(ROOT, "spec", "protocol.md")
DATA = os.path.join(ROOT, "tests", "unit", "data", "envelope_v1_vector.txt")
PASSPHRASE = b"Correct-Horse-9-Battery"


def section16():
    with open(SPEC, encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"^## 16\. .*?(?=^## 17\. )", text, re.S | re.M)
    if not m:
        raise AssertionError("spec/protocol.md has no §16")
    return m.group(0)


def b64u(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


class EnvelopeVector(unittest.TestCase):
    def setUp(self):
        self.s16 = section16()
        m = re.search(r"<!-- envelope-vector -->\n```\n(.*?)```", self.s16, re.S)
        self.assertIsNotNone(m, "no <!-- envelope-vector --> block in §16.2")
        self.armour = m.group(1)

    def test_spec_vector_is_the_unit_test_data_file(self):
        with open(DATA, encoding="ascii") as f:
            self.assertEqual(self.armour.strip(), f.read().strip())

    def test_spec_vector_opens_with_the_documented_construction(self):
        lines = self.armour.strip().split("\n")
        self.assertEqual(lines[0], "-----BEGIN CERTFLOW ENVELOPE-----")
        self.assertEqual(lines[-1], "-----END CERTFLOW ENVELOPE-----")
        self.assertTrue(all(len(l) == 64 for l in lines[1:-2]), "64-character lines")
        header_text = base64.b64decode("".join(lines[1:-1]), validate=True).decode()
        # the header of §16.2, compact, in the documented member order
        self.assertIn(header_text, self.s16)
        h = json.loads(header_text)
        self.assertEqual(list(h), ["v", "kdf", "iter", "salt", "enc", "number", "nonce", "ct",
                                   "tag"])
        self.assertEqual((h["v"], h["kdf"], h["enc"]), (1, "PBKDF2-HMAC-SHA256", "A256GCM"))
        salt, nonce, tag = b64u(h["salt"]), b64u(h["nonce"]), b64u(h["tag"])
        self.assertEqual(salt.hex(), "000102030405060708090a0b0c0d0e0f")
        self.assertEqual(nonce.hex(), "a0a1a2a3a4a5a6a7a8a9aaab")
        key = hashlib.pbkdf2_hmac("sha256", PASSPHRASE, salt, h["iter"], 32)
        self.assertIn(key.hex(), self.s16)
        aad = b"certflow-envelope-v1:%d" % h["number"]
        plain = AESGCM(key).decrypt(nonce, b64u(h["ct"]) + tag, aad).decode()
        self.assertIn("```json\n" + plain + "\n```", self.s16)
        # the number is authenticated
        with self.assertRaises(Exception):
            AESGCM(key).decrypt(nonce, b64u(h["ct"]) + tag, b"certflow-envelope-v1:2")


if __name__ == "__main__":
    unittest.main()
