"""Encrypted key.pem (enrol/renew --password-file) and `certflow-agent envelope open`, with
the real server and agent; openssl and Python's cryptography as the independent readers."""

import base64
import hashlib
import json
import os
import pty
import select
import subprocess
import time
import unittest

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from harness import CertflowTestCase, child_env, load_cert, ts

PASSWORD = "Key-Pass-42!"
ITER = "10000"  # --kdf-iterations: the default (600000) costs seconds under ASan
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
VECTOR = os.path.join(ROOT, "tests", "unit", "data", "envelope_v1_vector.txt")
VECTOR_PASSPHRASE = "Correct-Horse-9-Battery"


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def make_envelope(passphrase, number, plaintext, iterations=1000):
    """An envelope made the way spec/protocol.md §16 describes, by this independent code."""
    salt, nonce = os.urandom(16), os.urandom(12)
    key = hashlib.pbkdf2_hmac("sha256", passphrase.encode(), salt, iterations, 32)
    sealed = AESGCM(key).encrypt(nonce, plaintext.encode(), b"certflow-envelope-v1:%d" % number)
    header = json.dumps({"v": 1, "kdf": "PBKDF2-HMAC-SHA256", "iter": iterations,
                         "salt": b64u(salt), "enc": "A256GCM", "number": number,
                         "nonce": b64u(nonce), "ct": b64u(sealed[:-16]),
                         "tag": b64u(sealed[-16:])}, separators=(",", ":"))
    body = base64.b64encode(header.encode()).decode()
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return "\n".join(["-----BEGIN CERTFLOW ENVELOPE-----", *lines,
                      "-----END CERTFLOW ENVELOPE-----"]) + "\n"


class EncryptedKey(CertflowTestCase):
    def write(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def enrol(self, srv, e, d, password_file, extra=(), stdin=None):
        args = ["enrol", "--server", srv.url, "--ca", srv.ca_file, "--reference", e.reference,
                "--dir", d, "--code-file", "-", "--password-file", password_file, *extra]
        return self.run_prog(self.agent_argv(*args),
                             input=stdin if stdin is not None else e.code + "\n",
                             timeout=self.AGENT_TIMEOUT, env=child_env(srv.clock.now))

    def renew(self, srv, d, password_file=None):
        args = ["renew", "--dir", d, "--force"]
        if password_file:
            args += ["--password-file", password_file]
        return self.run_prog(self.agent_argv(*args), timeout=self.AGENT_TIMEOUT,
                             env=child_env(srv.clock.now))

    def assert_key_encrypted_for_cert(self, d, password):
        key_path = os.path.join(d, "key.pem")
        with open(key_path, "rb") as f:
            pem = f.read()
        self.assertTrue(pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----"), pem[:40])
        pw = self.write("pw-check", password)
        r = self.openssl("pkey", "-in", key_path, "-passin", "file:" + pw, "-noout")
        self.assertEqual(r.rc, 0, f"openssl cannot open key.pem: {r!r}")
        r = self.openssl("asn1parse", "-in", key_path)
        for name in ("PBES2", "PBKDF2", "hmacWithSHA256", "aes-256-cbc"):
            self.assertIn(name, r.out)
        key = serialization.load_pem_private_key(pem, password=password.encode())
        cert = load_cert(os.path.join(d, "cert.pem"))
        spki = serialization.PublicFormat.SubjectPublicKeyInfo
        self.assertEqual(key.public_key().public_bytes(serialization.Encoding.DER, spki),
                         cert.public_key().public_bytes(serialization.Encoding.DER, spki))
        return key

    def test_enrol_and_renew_keep_key_pem_encrypted_under_the_password(self):
        srv = self.start_server()
        e = self.enrol_create(srv, "device-0042", dns=["device-0042.example"])
        d = os.path.join(self.tmp, "agent")
        pw = self.write("pw", PASSWORD + "\n")
        r = self.enrol(srv, e, d, pw, extra=["--kdf-iterations", ITER])
        self.assertEqual(r.rc, 0, f"{r!r}")
        first = self.assert_key_encrypted_for_cert(d, PASSWORD)
        self.assert_chain_verifies(srv, d, srv.clock.now)

        # renew: without the password, with a wrong one: exit 1, nothing changes
        serial = self.cert_serial(d)
        r = self.renew(srv, d)
        self.assertEqual(r.rc, 1, f"{r!r}")
        self.assertIn("--password-file", r.err)
        r = self.renew(srv, d, self.write("wrong", "Key-Pass-43!\n"))
        self.assertEqual(r.rc, 1, f"{r!r}")
        self.assertIn("wrong password", r.err)
        self.assertNotIn(PASSWORD, r.err + r.out)
        self.assertEqual(self.cert_serial(d), serial)

        # with it, inside the renewal window: a new key, encrypted under the same password
        cert = load_cert(os.path.join(d, "cert.pem"))
        nb, na = ts(cert.not_valid_before), ts(cert.not_valid_after)
        srv.clock.set_time(na - (na - nb) // 3 + 3600)
        r = self.renew(srv, d, pw)
        self.assertEqual(r.rc, 0, f"{r!r}")
        self.assertNotEqual(self.cert_serial(d), serial)
        second = self.assert_key_encrypted_for_cert(d, PASSWORD)
        self.assertNotEqual(first.private_numbers(), second.private_numbers())
        # the iteration count of the first key is kept (10000 = 0x2710)
        r = self.openssl("asn1parse", "-in", os.path.join(d, "key.pem"))
        self.assertIn(":2710", r.out)

    def test_wrong_password_fails_before_contacting_the_server(self):
        srv = self.start_server()
        e = self.enrol_create(srv, "device-0042", dns=["device-0042.example"])
        d = os.path.join(self.tmp, "agent")
        self.assertEqual(self.enrol(srv, e, d, self.write("pw", PASSWORD),
                                    extra=["--kdf-iterations", ITER]).rc, 0)
        self.stop_server(srv)
        # with the server gone the only possible error is the password's
        r = self.renew(srv, d, self.write("wrong", "Key-Pass-43!"))
        self.assertEqual(r.rc, 1, f"{r!r}")
        self.assertIn("wrong password", r.err)

    def test_weak_password_is_refused_before_anything_is_sent(self):
        srv = self.start_server()
        e = self.enrol_create(srv, "device-0042", dns=["device-0042.example"])
        d = os.path.join(self.tmp, "agent")
        for weak, rule in (("aaa-Bbb1", "twice in a row"), ("short1!", "8 characters"),
                           ("nodigits-Here", "digit"), ("NOLOWER-1", "lower-case")):
            r = self.enrol(srv, e, d, self.write("weak", weak))
            self.assertEqual(r.rc, 2, f"{weak}: {r!r}")
            self.assert_one_line_error(r, prog="certflow-agent")
            self.assertIn(rule, r.err)
            self.assertNotIn(weak, r.err)
            self.assertFalse(os.path.exists(d), "nothing is made before the password passes")
        # the code was not used nor counted: it still activates, password and code on stdin
        r = self.enrol(srv, e, d, "-", extra=["--kdf-iterations", ITER],
                       stdin=PASSWORD + "\n" + e.code + "\n")
        self.assertEqual(r.rc, 0, f"{r!r}")
        self.assert_key_encrypted_for_cert(d, PASSWORD)


def on_terminal(argv, answers, env, timeout=60):
    """Run argv with a pseudo-terminal as standard input; for each (prompt, line) of answers wait
    for prompt on standard error, then type line. Returns (rc, stdout, stderr)."""
    master, slave = pty.openpty()
    p = subprocess.Popen(argv, stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=env)
    os.close(slave)
    err, deadline = b"", time.monotonic() + timeout
    try:
        for prompt, line in answers:
            while prompt.encode() not in err:
                left = deadline - time.monotonic()
                ready, _, _ = select.select([p.stderr], [], [], max(0, left))
                if not ready:
                    raise AssertionError(f"no prompt {prompt!r}; stderr so far: {err!r}")
                chunk = os.read(p.stderr.fileno(), 4096)
                if not chunk:
                    break
                err += chunk
            if prompt.encode() not in err:
                break
            err = err.replace(prompt.encode(), b"<" + prompt.encode() + b">", 1)
            os.write(master, line.encode() + b"\n")
        out, rest = p.communicate(timeout=max(1, deadline - time.monotonic()))
    finally:
        os.close(master)
        if p.poll() is None:
            p.kill()
            p.wait()
    return p.returncode, out.decode(errors="replace"), (err + rest).decode(errors="replace")


class NewSecretsTwice(CertflowTestCase):
    """Issue 10 item 8: a new password typed at a terminal is asked twice."""

    def argv(self, srv, e, d):
        return self.agent_argv("enrol", "--server", srv.url, "--ca", srv.ca_file, "--reference",
                               e.reference, "--dir", d, "--password-file", "-",
                               "--code-file", "-", "--kdf-iterations", ITER)

    def test_a_new_key_password_typed_twice_differently_is_refused_before_anything_is_sent(self):
        srv = self.start_server()
        e = self.enrol_create(srv, "tty-device")
        d = os.path.join(self.tmp, "agent")
        rc, out, err = on_terminal(self.argv(srv, e, d),
                                   [("new key password: ", PASSWORD),
                                    ("new key password (again): ", PASSWORD + "x")],
                                   child_env(srv.clock.now))
        self.assertEqual(rc, 1, err)
        self.assertIn("the two entries differ", err)
        self.assertNotIn(PASSWORD, out + err)
        self.assertFalse(os.path.exists(d), "nothing is made before the password is settled")
        rc, out, err = on_terminal(self.argv(srv, e, d),
                                   [("new key password: ", PASSWORD),
                                    ("new key password (again): ", PASSWORD),
                                    ("activation code: ", e.code)],
                                   child_env(srv.clock.now))
        self.assertEqual(rc, 0, err)
        self.assertIn("enrolled: serial", out)
        with open(os.path.join(d, "key.pem")) as f:
            self.assertIn("ENCRYPTED", f.read())


class EnvelopeOpen(CertflowTestCase):
    def agent(self, *args, stdin=None):
        return self.run_prog(self.agent_argv("envelope", "open", *args), input=stdin,
                             timeout=self.AGENT_TIMEOUT)

    def write(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_envelope_open_prints_the_members_of_the_spec_vector_in_a_mail(self):
        with open(VECTOR) as f:
            vector = f.read()
        mail = self.write("mail.eml", "Subject: certflow: your envelope\r\n\r\nDear Alice,\r\n\r\n" +
                          vector.replace("\n", "\r\n") + "\r\nRegards\r\n")
        pw = self.write("pass", VECTOR_PASSPHRASE + "\n")
        r = self.agent("--in", mail, "--passphrase-file", pw)
        self.assertEqual(r.rc, 0, f"{r!r}")
        self.assertEqual(r.out.splitlines(), ["reference: 123456789012",
                                              "activationCode: 7K3M-Q9TX-2HBD-W4NP-C8RZ",
                                              "emergencyCode: M5VA-J6KE-R2QW-8TYF",
                                              "envelopeNumber: 1"])
        r = self.agent("--in", mail, "--passphrase-file", pw, "--json")
        self.assertEqual(r.rc, 0, f"{r!r}")
        self.assertEqual(json.loads(r.out)["activationCode"], "7K3M-Q9TX-2HBD-W4NP-C8RZ")
        # both on standard input: the passphrase first, then the mail
        with open(mail) as f:
            r = self.agent(stdin=VECTOR_PASSPHRASE + "\n" + f.read())
        self.assertEqual(r.rc, 0, f"{r!r}")
        self.assertIn("envelopeNumber: 1", r.out)

    def test_envelope_open_file_as_the_mail_writes_it_opens_the_file(self):
        # the envelope e-mails say "certflow-agent envelope open FILE" (issue 10 item 7)
        with open(VECTOR) as f:
            env = self.write("saved envelope.txt", f.read())
        pw = self.write("pass", VECTOR_PASSPHRASE + "\n")
        r = self.agent(env, "--passphrase-file", pw)
        self.assertEqual(r.rc, 0, f"{r!r}")
        self.assertIn("reference: 123456789012", r.out)
        r = self.agent(env, "--in", env, "--passphrase-file", pw)
        self.assertEqual(r.rc, 2, f"FILE and --in together: {r!r}")

    def test_envelope_made_by_another_implementation_opens(self):
        plain = json.dumps({"reference": "000011112222", "activationCode": "AAAA-BBBB",
                            "emergencyCode": "CCCC-DDDD", "envelopeNumber": 7})
        env = self.write("env.txt", make_envelope("Other-Pass-7?", 7, plain))
        r = self.agent("--in", env, "--passphrase-file", self.write("p", "Other-Pass-7?"))
        self.assertEqual(r.rc, 0, f"{r!r}")
        self.assertIn("reference: 000011112222", r.out)
        self.assertIn("envelopeNumber: 7", r.out)

    def test_wrong_passphrase_and_missing_envelope_fail_with_one_line(self):
        with open(VECTOR) as f:
            env = self.write("env.txt", f.read())
        r = self.agent("--in", env, "--passphrase-file", self.write("p", "Correct-Horse-9-Batterz"))
        self.assertEqual(r.rc, 1, f"{r!r}")
        self.assert_one_line_error(r, prog="certflow-agent")
        self.assertIn("wrong passphrase", r.err)
        r = self.agent("--in", self.write("mail", "no envelope here\n"), "--passphrase-file",
                       self.write("p2", VECTOR_PASSPHRASE))
        self.assertEqual(r.rc, 1, f"{r!r}")
        self.assert_one_line_error(r, prog="certflow-agent")
        r = self.agent("--in", env, "--server", "https://127.0.0.1:1")
        self.assertEqual(r.rc, 2, f"{r!r}")


if __name__ == "__main__":
    unittest.main()
