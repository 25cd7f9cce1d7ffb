"""Enrolment: admin creates a code, the real agent activates it over HTTPS."""

import datetime
import glob
import json
import os
import re
import secrets
import subprocess
import time
import unittest
import urllib.parse

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from harness import (DAY, CertflowTestCase, _die_with_parent, child_env, file_mode, load_cert,
                     program, sanitizer_lines, serial_hex, ts)

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_RE = r"^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){4}$"


def wrong_code(right):
    while True:
        bare = "".join(secrets.choice(CROCKFORD) for _ in range(20))
        code = "-".join(bare[i:i + 4] for i in range(0, 20, 4))
        if code.replace("-", "") != right.replace("-", "").upper():
            return code


def public_der(key):
    return key.public_bytes(serialization.Encoding.DER,
                            serialization.PublicFormat.SubjectPublicKeyInfo)


def load_key(path):
    with open(path, "rb") as f:
        return serialization.load_pem_private_key(f.read(), password=None)


class Enrol(CertflowTestCase):
    def test_agent_enrols_over_https_and_chain_verifies_with_openssl(self):
        srv = self.start_server()
        now = srv.clock.now
        e = self.enrol_create(srv, "device-0042", dns=["device-0042.example"])
        self.assertRegex(e.reference, r"^\d{4}-\d{4}-\d{4}$")
        self.assertRegex(e.code, CODE_RE)
        expiry_day = datetime.datetime.fromtimestamp(now + 15 * DAY, datetime.timezone.utc)
        self.assertIn(expiry_day.strftime("%Y-%m-%d"), e.expires)

        d = os.path.join(self.tmp, "agent")
        r = self.agent_enrol(srv, e.reference, e.code, d)
        self.assertEqual(r.rc, 0, f"{r!r}")

        # Files and modes.
        for name in ("account.key", "account.json", "key.pem", "cert.pem", "chain.pem"):
            self.assertTrue(os.path.isfile(os.path.join(d, name)), f"{name} missing")
        self.assertEqual(file_mode(os.path.join(d, "key.pem")), 0o600)
        self.assertEqual(file_mode(os.path.join(d, "account.key")), 0o600)
        with open(os.path.join(d, "account.json")) as f:
            acct = json.load(f)
        self.assertEqual(acct["server"], srv.url)
        self.assertEqual(os.path.realpath(acct["ca"]), os.path.realpath(srv.ca_file))
        self.assertTrue(acct["kid"].startswith(srv.url + "/v1/account/"), acct["kid"])
        self.assertTrue(acct["credential"])

        # The chain verifies with openssl against the root of the data directory.
        self.assert_chain_verifies(srv, d, now)

        cert = load_cert(os.path.join(d, "cert.pem"))
        cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        self.assertEqual([a.value for a in cn], ["device-0042"])
        # The certified key is the agent's key.pem (P-256 by default).
        key = load_key(os.path.join(d, "key.pem"))
        self.assertEqual(public_der(cert.public_key()), public_der(key.public_key()))
        self.assertIsInstance(key, ec.EllipticCurvePrivateKey)
        self.assertEqual(key.curve.name, "secp256r1")
        # The account key is another key.
        self.assertNotEqual(public_der(load_key(os.path.join(d, "account.key")).public_key()),
                            public_der(key.public_key()))

        # Extensions, as openssl prints them.
        text = self.openssl("x509", "-noout", "-text", "-in", os.path.join(d, "cert.pem")).out
        for ext in ("X509v3 Key Usage", "X509v3 Extended Key Usage",
                    "X509v3 Subject Key Identifier", "X509v3 Authority Key Identifier",
                    "X509v3 Subject Alternative Name", "X509v3 CRL Distribution Points",
                    "X509v3 Basic Constraints"):
            self.assertIn(ext, text)
        self.assertIn("TLS Web Client Authentication", text)
        self.assertIn("DNS:device-0042.example", text)
        self.assertIn("CA:FALSE", text)
        crl_dp = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
        dp_urls = [n.value for dp in crl_dp for n in (dp.full_name or [])]
        self.assertIn(srv.directory()["crl"], dp_urls)
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        self.assertIn(ExtendedKeyUsageOID.CLIENT_AUTH, list(eku))
        # AKI = the issuing CA's SKI; the chain is issuing CA then root.
        issuing = load_cert(os.path.join(srv.data, "ca", "issuing.pem"))
        aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
        ski = issuing.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        self.assertEqual(aki.key_identifier, ski.digest)
        with open(os.path.join(d, "chain.pem")) as f:
            chain = re.findall(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----",
                               f.read(), re.S)
        self.assertEqual(len(chain), 2, "chain.pem: issuing CA then root")
        self.assertEqual(load_cert(chain[0]), issuing)
        self.assertEqual(load_cert(chain[1]), load_cert(srv.ca_file))

        # Serial and validity (relative to the server's test clock).
        self.assertGreater(cert.serial_number, 0)
        self.assertGreaterEqual(cert.serial_number.bit_length(), 48)
        nb, na = ts(cert.not_valid_before), ts(cert.not_valid_after)
        self.assertLessEqual(nb, now)
        self.assertGreaterEqual(nb, now - 60)
        self.assertAlmostEqual(na - nb, 365 * DAY, delta=120)

        # The server knows the credential.
        creds = self.admin_ok(srv, "credential", "list", json_out=True)["credentials"]
        self.assertEqual([c["subject"] for c in creds], ["device-0042"])
        shown = self.admin_ok(srv, "cert", "show", serial_hex(cert.serial_number),
                              json_out=True)
        self.assertEqual(shown["status"], "valid")

    def test_agent_key_types_p384_and_rsa2048_are_certified(self):
        srv = self.start_server()
        for key_type, check in (("p384", lambda k: isinstance(k, ec.EllipticCurvePrivateKey)
                                 and k.curve.name == "secp384r1"),
                                ("rsa2048", lambda k: isinstance(k, rsa.RSAPrivateKey)
                                 and k.key_size == 2048)):
            with self.subTest(key_type=key_type):
                e = self.enrol_create(srv, f"dev-{key_type}")
                d = os.path.join(self.tmp, key_type)
                r = self.agent_enrol(srv, e.reference, e.code, d, key_type=key_type)
                self.assertEqual(r.rc, 0, f"{r!r}")
                key = load_key(os.path.join(d, "key.pem"))
                self.assertTrue(check(key), f"key.pem is not {key_type}")
                cert = load_cert(os.path.join(d, "cert.pem"))
                self.assertEqual(public_der(cert.public_key()), public_der(key.public_key()))
                self.assert_chain_verifies(srv, d, srv.clock.now)

    def test_reference_without_dashes_and_lower_case_code_are_accepted(self):
        srv = self.start_server()
        e = self.enrol_create(srv, "typed-by-hand")
        d = os.path.join(self.tmp, "agent")
        r = self.agent_enrol(srv, e.reference.replace("-", ""), e.code.lower(), d)
        self.assertEqual(r.rc, 0, f"{r!r}")

    def test_code_file_is_read_from_a_file_and_never_needed_on_the_command_line(self):
        srv = self.start_server()
        e = self.enrol_create(srv, "file-device")
        code_file = os.path.join(self.tmp, "code.txt")
        with open(code_file, "w") as f:
            f.write(e.code + "\n")
        d = os.path.join(self.tmp, "agent")
        r = self.run_prog([program("certflow-agent"), "enrol", "--server", srv.url, "--ca",
                           srv.ca_file, "--reference", e.reference, "--dir", d,
                           "--code-file", code_file], env=child_env(srv.clock.now))
        self.assertEqual(r.rc, 0, f"{r!r}")
        self.assertTrue(os.path.isfile(os.path.join(d, "cert.pem")))

    def test_agent_usage_errors_exit_2_and_failures_exit_1(self):
        agent = program("certflow-agent")
        for args in ((), ("enrol",), ("enrol", "--dir", self.tmp), ("renew",),
                     ("no-such-command",), ("enrol", "--server", "https://127.0.0.1:1",
                                            "--ca", "x", "--reference", "1", "--dir", "d",
                                            "--key-type", "dsa512")):
            with self.subTest(args=args):
                r = self.run_prog([agent, *args], input="", timeout=30, cwd=self.tmp)
                self.assertEqual(r.rc, 2, f"{r!r}")
                self.assertTrue(r.err.strip(), f"{r!r}")
        # Renewing a directory that never enrolled is a failure of one line.
        empty = os.path.join(self.tmp, "empty")
        os.makedirs(empty)
        r = self.run_prog([agent, "renew", "--dir", empty], timeout=30)
        self.assertEqual(r.rc, 1, f"{r!r}")
        self.assertEqual(len(r.err.strip().splitlines()), 1, f"{r!r}")
        self.assertTrue(r.err.startswith("certflow-agent: "), f"{r!r}")

    def test_serial_numbers_are_unique_and_at_least_64_bits(self):
        srv = self.start_server()
        serials = []
        for i in range(6):
            d = self.enrolled_agent(srv, subject=f"serial-{i}", dns=(), name=f"a{i}")
            serials.append(load_cert(os.path.join(d, "cert.pem")).serial_number)
        self.assertEqual(len(set(serials)), len(serials))
        for s in serials:
            self.assertGreater(s, 0)
            self.assertGreaterEqual(s.bit_length(), 48, hex(s))
        # 64 random bits give a value of ≥ 61 bits with probability 7/8 each.
        self.assertGreaterEqual(max(s.bit_length() for s in serials), 61,
                                [hex(s) for s in serials])


class Codes(CertflowTestCase):
    def test_enrolment_code_expires_after_15_days(self):
        srv = self.start_server()
        late = self.enrol_create(srv, "late-device")
        timely = self.enrol_create(srv, "timely-device")

        srv.clock.advance(days=14)
        r = self.agent_enrol(srv, timely.reference, timely.code, os.path.join(self.tmp, "t"))
        self.assertEqual(r.rc, 0, f"a code is good for 14 days: {r!r}")

        srv.clock.advance(days=1, seconds=1)  # 15 days + 1 s after creation
        d = os.path.join(self.tmp, "l")
        r = self.agent_enrol(srv, late.reference, late.code, d)
        self.assertEqual(r.rc, 1, f"{r!r}")
        self.assertIn("expired", r.err.lower())
        # the line says how to get a new code, with a command that names this server
        self.assertIn(f"reference-renew --server {srv.url}", r.err)
        self.assertIn("ask your operator", r.err)
        self.assertEqual(len(r.err.strip().splitlines()), 1, r.err)
        self.assertNotIn("/v1/", r.err)
        self.assertFalse(os.path.exists(os.path.join(d, "cert.pem")))
        ref = late.reference.replace("-", "")
        enrolments = self.admin_ok(srv, "enrol", "list", json_out=True)["enrolments"]
        status = {x["reference"].replace("-", ""): x["status"] for x in enrolments}
        self.assertEqual(status[ref], "expired")
        self.assertEqual(status[timely.reference.replace("-", "")], "used")

    def test_five_wrong_codes_lock_the_enrolment(self):
        srv = self.start_server()
        e = self.enrol_create(srv, "locked-device")
        d = os.path.join(self.tmp, "agent")
        for attempt in range(1, 7):
            r = self.agent_enrol(srv, e.reference, wrong_code(e.code), d)
            self.assertEqual(r.rc, 1, f"attempt {attempt}: {r!r}")
            if attempt < 5:
                self.assertNotIn("lock", r.err.lower(), f"attempt {attempt}: {r!r}")
            else:
                self.assertIn("lock", r.err.lower(), f"attempt {attempt}: {r!r}")
        # Now even the right code is refused.
        r = self.agent_enrol(srv, e.reference, e.code, d)
        self.assertEqual(r.rc, 1, f"{r!r}")
        self.assertIn("lock", r.err.lower())
        self.assertFalse(os.path.exists(os.path.join(d, "cert.pem")))
        enrolments = self.admin_ok(srv, "enrol", "list", json_out=True)["enrolments"]
        (mine,) = [x for x in enrolments
                   if x["reference"].replace("-", "") == e.reference.replace("-", "")]
        self.assertEqual(mine["status"], "locked")
        self.assertGreaterEqual(mine["failures"], 5)
        self.assertEqual(self.admin_ok(srv, "credential", "list", json_out=True)["credentials"],
                         [])

    def test_twenty_concurrent_activations_of_one_code_give_one_certificate(self):
        srv = self.start_server()
        e = self.enrol_create(srv, "contested-device")
        code_file = os.path.join(self.tmp, "code")
        with open(code_file, "w") as f:
            f.write(e.code + "\n")
        procs = []
        try:
            for i in range(20):
                d = os.path.join(self.tmp, f"agent{i:02d}")
                argv = [program("certflow-agent"), "enrol", "--server", srv.url, "--ca",
                        srv.ca_file, "--reference", e.reference, "--dir", d, "--code-file", "-"]
                with open(code_file) as stdin:
                    p = subprocess.Popen(argv, stdin=stdin, stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE, env=child_env(),
                                         preexec_fn=_die_with_parent)
                procs.append((d, p))
            deadline = time.monotonic() + 300
            results = []
            for d, p in procs:
                out, err = p.communicate(timeout=max(1, deadline - time.monotonic()))
                results.append((d, p.returncode, err.decode(errors="replace")))
        finally:
            for _, p in procs:
                if p.poll() is None:
                    p.kill()
                    p.wait()
        for d, rc, err in results:
            self.assertEqual(sanitizer_lines(err), [], err)
        codes = sorted(rc for _, rc, _ in results)
        self.assertEqual(codes, [0] + [1] * 19, [(rc, err[-300:]) for _, rc, err in results])
        winners = [d for d, rc, _ in results if rc == 0]
        with_cert = [d for d, _, _ in results if os.path.exists(os.path.join(d, "cert.pem"))]
        self.assertEqual(with_cert, winners)
        creds = self.admin_ok(srv, "credential", "list", json_out=True)["credentials"]
        self.assertEqual(len(creds), 1, creds)
        self.assertEqual(len(creds[0].get("certificates", [None])), 1, creds)

    def test_used_code_is_refused_the_second_time(self):
        srv = self.start_server()
        e = self.enrol_create(srv, "once-device")
        r = self.agent_enrol(srv, e.reference, e.code, os.path.join(self.tmp, "a"))
        self.assertEqual(r.rc, 0, f"{r!r}")
        r = self.agent_enrol(srv, e.reference, e.code, os.path.join(self.tmp, "b"))
        self.assertEqual(r.rc, 1, f"{r!r}")
        self.assertIn("used", r.err.lower())

    def test_cancelled_enrolment_is_refused(self):
        srv = self.start_server()
        e = self.enrol_create(srv, "cancelled-device")
        self.admin_ok(srv, "enrol", "cancel", e.reference)
        r = self.agent_enrol(srv, e.reference, e.code, os.path.join(self.tmp, "a"))
        self.assertEqual(r.rc, 1, f"{r!r}")
        self.assertIn("cancel", r.err.lower())

    def test_unknown_reference_is_refused_without_saying_which_part_was_wrong(self):
        srv = self.start_server()
        e = self.enrol_create(srv, "real-device")
        other = "9" * 12 if e.reference.replace("-", "") != "9" * 12 else "1" * 12
        r = self.agent_enrol(srv, other, e.code, os.path.join(self.tmp, "a"))
        self.assertEqual(r.rc, 1, f"{r!r}")
        self.assertNotIn(e.code, r.err + r.out)


class QrAndSecrets(CertflowTestCase):
    def test_enrol_qr_svg_decodes_to_uri_without_secret(self):
        srv = self.start_server()
        svg = os.path.join(self.tmp, "enrol.svg")
        r = self.admin_ok(srv, "enrol", "create", "--subject", "qr-device", "--qr-svg", svg)
        from harness import parse_enrol_output
        e = parse_enrol_output(r.out)
        with open(svg, "rb") as f:
            head = f.read(400)
        self.assertIn(b"<svg", head)
        png = os.path.join(self.tmp, "enrol.png")
        c = self.run_prog(["rsvg-convert", "-b", "white", "-w", "600", "-o", png, svg])
        self.assertEqual(c.rc, 0, f"{c!r}")
        z = self.run_prog(["zbarimg", "--raw", "-q", png])
        self.assertEqual(z.rc, 0, f"zbarimg found no code: {z!r}")
        uri = z.out.strip()
        # spec/cli.md "Enrolment URI": certflow://enrol?server=…&fp=sha256:…&ref=<12 digits>
        parts = urllib.parse.urlsplit(uri)
        self.assertEqual((parts.scheme, parts.netloc), ("certflow", "enrol"), uri)
        query = urllib.parse.parse_qs(parts.query, strict_parsing=True)
        self.assertEqual(query.get("ref"), [e.reference.replace("-", "")], uri)
        self.assertEqual(query.get("fp"), ["sha256:" + srv.root_fingerprint()], uri)
        self.assertEqual(query.get("server"), [srv.url], uri)
        flat = urllib.parse.unquote(uri).replace("-", "").upper()
        self.assertNotIn(e.code.replace("-", "").upper(), flat, "the QR code holds the secret")

        # --qr draws the same kind of code on the terminal; it holds no secret either.
        r = self.admin_ok(srv, "enrol", "create", "--subject", "qr-term", "--qr")
        e2 = parse_enrol_output(r.out)
        self.assertRegex(r.out, "[\u2580\u2584\u2588]", "no QR blocks in --qr output")
        code_lines = [l for l in r.out.splitlines() if e2.code in l]
        self.assertEqual(len(code_lines), 1, "the code is printed once, on its own line")

    def test_secrets_never_in_logs(self):
        srv = self.start_server(extra_args=["-v"])
        e = self.enrol_create(srv, "secret-device")
        bad = wrong_code(e.code)
        d = os.path.join(self.tmp, "agent")
        outputs = []
        r = self.agent_enrol(srv, e.reference, bad, d)
        self.assertEqual(r.rc, 1)
        outputs.append(r.out + r.err)
        r = self.agent_enrol(srv, e.reference, e.code, d)
        self.assertEqual(r.rc, 0, f"{r!r}")
        outputs.append(r.out + r.err)
        outputs.append(self.admin_ok(srv, "enrol", "list").out)
        outputs.append(self.admin(srv, "enrol", "list", json_out=True).out)
        self.stop_server(srv)
        logs = srv.stdout + srv.stderr
        self.assertTrue(logs.strip(), "-v should log something")
        variants = set(e.code_variants())
        bare_bad = bad.replace("-", "")
        variants |= {bad, bad.lower(), bare_bad, bare_bad.lower()}
        for v in variants:
            self.assertNotIn(v, logs, "an activation code in the server's output")
            for o in outputs:
                self.assertNotIn(v, o, "an activation code in a program's output")
        # Not at rest either: neither the database nor the agent's files hold the code.
        blobs = []
        for top in (os.path.join(srv.data, "db"), d):
            for root, _, files in os.walk(top):
                for name in files:
                    path = os.path.join(root, name)
                    if os.path.isfile(path):
                        with open(path, "rb") as f:
                            blobs.append((path, f.read()))
        self.assertTrue(any(p.endswith("data.mdb") for p, _ in blobs))
        for v in variants:
            for path, blob in blobs:
                self.assertNotIn(v.encode(), blob, f"activation code stored in {path}")


if __name__ == "__main__":
    unittest.main()
