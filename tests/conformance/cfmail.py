"""The server's e-mails, read from its maildir (run.py --maildir DIR), and the envelopes they carry,
opened independently of the server's code: PBKDF2-HMAC-SHA-256 (hashlib) and AES-256-GCM
(python3-cryptography) as common/cf_envelope.h and spec/protocol.md §16 describe them.

Tests that need a code from an e-mail skip with a clear reason when no maildir was given."""
import base64
import email
import email.policy
import hashlib
import json
import os
import re
import time
import unittest

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

ARMOUR_RE = re.compile(r"-----BEGIN CERTFLOW ENVELOPE-----\s*(.*?)\s*-----END CERTFLOW ENVELOPE-----", re.S)


def b64u_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Maildir:
    def __init__(self, path):
        if not path:
            raise unittest.SkipTest("needs the server's maildir (run.py --maildir DIR) to read its e-mails")
        self.path = path

    def messages(self):
        """Every delivered message (new/ and cur/), oldest first, as email.message objects."""
        files = []
        for sub in ("new", "cur"):
            d = os.path.join(self.path, sub)
            if os.path.isdir(d):
                files += [os.path.join(d, f) for f in os.listdir(d) if not f.startswith(".")]
        files.sort(key=lambda p: (os.stat(p).st_mtime_ns, os.path.basename(p)))
        out = []
        for p in files:
            with open(p, "rb") as f:
                out.append(email.message_from_bytes(f.read(), policy=email.policy.default))
        return out

    def find(self, to, template, count=1, timeout=15.0):
        """The last `count` messages of template to address `to`, waiting for the outbox."""
        deadline = time.monotonic() + timeout
        while True:
            found = [m for m in self.messages()
                     if m.get("X-Certflow-Template") == template and to.lower() in (m.get("To") or "").lower()]
            if len(found) >= count:
                return found[-count:]
            if time.monotonic() > deadline:
                raise AssertionError("no %d %r e-mail(s) to %s in the maildir within %.0f s (found %d)"
                                     % (count, template, to, timeout, len(found)))
            time.sleep(0.1)


def body(msg):
    return msg.get_content() if not msg.is_multipart() else msg.get_body(("plain",)).get_content()


def open_envelope(text, passphrase):
    """(plaintext object, envelope number) of the armoured envelope inside text."""
    m = ARMOUR_RE.search(text)
    if not m:
        raise AssertionError("no CERTFLOW ENVELOPE armour in the text")
    outer = json.loads(base64.b64decode("".join(m.group(1).split())))
    assert outer["v"] == 1 and outer["kdf"] == "PBKDF2-HMAC-SHA256" and outer["enc"] == "A256GCM", outer
    salt = b64u_decode(outer["salt"])
    assert len(salt) == 16, "salt of 16 octets"
    key = hashlib.pbkdf2_hmac("sha256", passphrase.encode(), salt, outer["iter"], 32)
    aad = ("certflow-envelope-v1:%d" % outer["number"]).encode()
    plain = AESGCM(key).decrypt(b64u_decode(outer["nonce"]), b64u_decode(outer["ct"]) + b64u_decode(outer["tag"]), aad)
    return json.loads(plain), outer["number"]
