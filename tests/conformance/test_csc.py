"""Remote signing through the CSC API v2 subset (spec/protocol.md §25), black box.

An active remote credential is made for each test (cfremote: apply, approval, e-mails, login,
password change, activation with PUK + new PIN + SMS code); then credentials/list and /info,
credentials/authorize (PIN + OTP for a batch of hashes) and signatures/signHash. Every signature is
verified with `openssl pkeyutl -verify` against the public key of the certificate that
credentials/info returns. Needs --maildir and --clock-file (skipped otherwise, except the public
info and the session checks)."""
import base64
import hashlib
import json
import os
import unittest

import cfclient
import cfremote
from cfbase import CONFIG, SECRETS, ConformanceTest
from cryptography import x509

SHA256 = "2.16.840.1.101.3.4.2.1"
SHA384 = "2.16.840.1.101.3.4.2.2"
ECDSA_SHA256 = "1.2.840.10045.4.3.2"
ECDSA_SHA384 = "1.2.840.10045.4.3.3"
RSA_SHA256 = "1.2.840.113549.1.1.11"
METHODS = ["credentials/list", "credentials/info", "credentials/authorize", "credentials/sendOTP",
           "signatures/signHash"]


def b64(data):
    return base64.b64encode(data).decode()


def digests(n, tag=b"doc"):
    return [hashlib.sha256(b"%s-%d-%s" % (tag, i, os.urandom(8))).digest() for i in range(n)]


class RemoteTest(ConformanceTest):
    """Fixtures: an active remote credential per test (cfremote.make_active), the test clock."""

    def remote_credential(self):
        self.clock = cfremote.ServerClock(self, CONFIG.get("clock_file"))  # skips without one
        if not CONFIG.get("maildir"):
            raise unittest.SkipTest("needs the server's maildir (run.py --maildir DIR)")
        return cfremote.make_active(self.client, CONFIG["maildir"], SECRETS)

    def move_clock(self, seconds):
        self.clock.advance(seconds)

    def send_sms(self, h):
        """A new SMS code for h's session, past the gap between two codes of one subject."""
        self.move_clock(61)
        return h.sms()

    def bearer(self, path, token, payload=None):
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers["Authorization"] = "Bearer " + token
        url = path if path.startswith(("https://", "http://")) else self.client.origin + path
        return self.client.http("POST", url, json.dumps(payload or {}).encode(), headers)


class CscTest(RemoteTest):
    def csc(self, method, rc, payload, status=200, schema=None, problem=None, error=None):
        r = self.bearer(self.dir["csc"] + "/" + method, rc.token if rc else None, payload)
        doc = self.expect(r, status, schema, problem)
        if status >= 400:
            self.assertEqual(doc.get("error"), error or "invalid_request", "CSC error member")
            self.assertIsInstance(doc.get("error_description"), str)
        return doc

    def info(self, rc, **extra):
        payload = dict({"credentialID": rc.credential_id, "certificates": "chain", "certInfo": True,
                        "authInfo": True}, **extra)
        return self.csc("credentials/info", rc, payload, schema="csc-credentials-info-response")

    def authorize(self, rc, hashes, pin=None, otp=None, hash_oid=SHA256, status=200, problem=None, error=None,
                  **extra):
        if otp is None:
            otp = self.send_sms(rc)
        payload = dict({"credentialID": rc.credential_id, "numSignatures": len(hashes),
                        "hashes": [b64(h) for h in hashes], "hashAlgorithmOID": hash_oid,
                        "authData": [{"id": "PIN", "value": pin or rc.pin}, {"id": "OTP", "value": otp}]},
                       **extra)
        doc = self.csc("credentials/authorize", rc, payload, status,
                       None if problem else "csc-credentials-authorize-response", problem, error)
        if status == 200:
            SECRETS.add(doc["SAD"])
        return doc

    def sign(self, rc, sad, hashes, sign_algo=ECDSA_SHA256, hash_oid=SHA256, status=200, problem=None,
             error=None):
        payload = {"credentialID": rc.credential_id, "SAD": sad, "hashes": [b64(h) for h in hashes],
                   "hashAlgorithmOID": hash_oid, "signAlgo": sign_algo}
        return self.csc("signatures/signHash", rc, payload, status,
                        None if problem else "csc-signatures-sign-hash-response", problem, error)

    def pin_tries_left(self, rc):
        r = self.bearer("/v1/portal/status", rc.token)
        self.expect(r, 200)
        st = r.json()
        return [c for c in st["credentials"] if c["id"] == rc.credential_id][0]["pinTriesLeft"]

    def verify(self, cert_der, hashes, signatures, digest="sha256"):
        """openssl pkeyutl -verify of each signature over its hash with the certificate's key."""
        d = self.tmpdir()
        cert = self.write(d, "cert.der", cert_der)
        pub = os.path.join(d, "pub.pem")
        rc, out = self.run_openssl("x509", "-inform", "DER", "-in", cert, "-pubkey", "-noout", "-out", pub)
        self.assertEqual(rc, 0, out)
        self.assertEqual(len(signatures), len(hashes))
        for i, (h, s) in enumerate(zip(hashes, signatures)):
            hf = self.write(d, "h%d" % i, h)
            sf = self.write(d, "s%d" % i, base64.b64decode(s, validate=True))
            rc, out = self.run_openssl("pkeyutl", "-verify", "-pubin", "-inkey", pub, "-in", hf, "-sigfile", sf,
                                       "-pkeyopt", "digest:" + digest)
            self.assertEqual(rc, 0, "signature %d does not verify: %s" % (i, out))
            self.assertIn("Signature Verified Successfully", out)


class TestCscPublic(CscTest):
    def test_the_directory_names_the_csc_base_and_its_info_answers(self):
        # §1 forbids building URLs: the CSC API's base comes from the directory (§25)
        base = self.dir["csc"]
        self.assertTrue(base.startswith(self.client.origin + "/"), base)
        r = self.client.get(base.rstrip("/") + "/info")
        self.expect(r, 200, "csc-info-response")

    def test_info_is_public_by_get_and_post(self):
        # §2: the CSC API's base comes from the directory, as every URL does (§1)
        for r in (self.client.get(self.dir["csc"] + "/info"), self.bearer(self.dir["csc"] + "/info", None, {})):
            doc = self.expect(r, 200, "csc-info-response")
            self.assertEqual(doc["specs"], "2.0.0.2")
            self.assertEqual(doc["authType"], ["external"])
            self.assertEqual(sorted(doc["methods"]), sorted(METHODS))

    def test_every_other_route_needs_a_session(self):
        for method in METHODS:
            with self.subTest(method=method):
                r = self.bearer(self.dir["csc"] + "/" + method, None, {"credentialID": "x"})
                doc = self.expect(r, 401, problem="badSession")
                self.assertEqual(doc["error"], "invalid_token")
                self.assertEqual(r.header("www-authenticate"), "Bearer")
                r = self.bearer(self.dir["csc"] + "/" + method, cfclient.b64u(os.urandom(32)), {})
                self.expect(r, 401, problem="badSession")


class TestCscSigning(CscTest):
    def test_list_and_info_describe_the_credential(self):
        rc = self.remote_credential()
        doc = self.csc("credentials/list", rc, {}, schema="csc-credentials-list-response")
        self.assertEqual(doc["credentialIDs"], [rc.credential_id])
        self.assertNotIn("onlyValid", doc)
        doc = self.csc("credentials/list", rc, {"credentialInfo": True, "certInfo": True, "onlyValid": True},
                       schema="csc-credentials-list-response")
        self.assertEqual([i["credentialID"] for i in doc["credentialInfos"]], [rc.credential_id])
        self.assertIs(doc["onlyValid"], True, "CSC v2: the answer says it holds only valid credentials")
        info = self.info(rc)
        self.assertEqual(info["key"]["status"], "enabled")
        self.assertIn(ECDSA_SHA256, info["key"]["algo"])
        self.assertEqual((info["key"]["len"], info["key"]["curve"]), (256, "1.2.840.10045.3.1.7"))
        cert = x509.load_der_x509_certificate(base64.b64decode(info["cert"]["certificates"][0], validate=True))
        self.assertEqual(len(info["cert"]["certificates"]), 3, "chain: leaf, issuing CA, root")
        self.assertEqual(info["cert"]["status"], "valid")
        self.assertEqual(info["cert"]["serialNumber"], cfclient.serial_hex(cert.serial_number))
        self.assertRegex(info["cert"]["validFrom"], r"^\d{14}Z$")
        self.assertEqual(info["cert"]["validTo"], cert.not_valid_after.strftime("%Y%m%d%H%M%SZ"))
        self.assertIn("Hopper", info["cert"]["subjectDN"])
        self.assertEqual((info["authMode"], info["SCAL"], info["multisign"]), ("explicit", "2", 64))
        self.assertEqual((info["PIN"]["presence"], info["PIN"]["format"]), ("true", "N"))
        self.assertEqual((info["OTP"]["presence"], info["OTP"]["type"]), ("true", "online"))
        self.assertEqual([o["id"] for o in info["auth"]["objects"]], ["PIN", "OTP"])
        # an SMS code has no client-side generator (CSC v2: generator "totp" is for TOTP apps)
        self.assertNotIn("generator", info["auth"]["objects"][1])
        single = self.info(rc, certificates="single", certInfo=False, authInfo=False)
        self.assertEqual(len(single["cert"]["certificates"]), 1)
        self.assertNotIn("PIN", single)
        self.csc("credentials/info", rc, {"credentialID": "0" * 26}, 404, problem="notFound")

    def test_three_hashes_are_signed_once_and_verify_with_openssl(self):
        rc = self.remote_credential()
        cert = base64.b64decode(self.info(rc)["cert"]["certificates"][0])
        hashes = digests(3)
        auth = self.authorize(rc, hashes)
        self.assertTrue(0 < auth["expiresIn"] <= 300)
        doc = self.sign(rc, auth["SAD"], hashes)
        self.assertEqual(len(doc["signatures"]), 3)
        self.verify(cert, hashes, doc["signatures"])
        # the SAD is used up
        self.sign(rc, auth["SAD"], hashes, status=403, problem="badSAD", error="invalid_grant")

    def test_a_sad_signs_only_the_hashes_it_authorised(self):
        rc = self.remote_credential()
        hashes = digests(3)
        sad = self.authorize(rc, hashes)["SAD"]
        for other in (digests(3), hashes[::-1], hashes[:2], hashes + digests(1)):
            self.sign(rc, sad, other, status=403, problem="badSAD", error="invalid_grant")
        self.sign(rc, sad, hashes, sign_algo=RSA_SHA256, status=400, problem="badSignatureAlgorithm")
        self.sign(rc, sad, hashes, sign_algo=ECDSA_SHA384, status=400, problem="badSignatureAlgorithm")
        self.sign(rc, "x" * 43, hashes, status=403, problem="badSAD", error="invalid_grant")
        # none of that used the SAD up
        self.assertEqual(len(self.sign(rc, sad, hashes)["signatures"]), 3)

    def test_an_expired_sad_is_bad(self):
        rc = self.remote_credential()
        hashes = digests(1)
        auth = self.authorize(rc, hashes)
        self.move_clock(auth["expiresIn"] + 1)
        self.sign(rc, auth["SAD"], hashes, status=403, problem="badSAD", error="invalid_grant")

    def test_a_wrong_pin_is_counted_with_attempts_left(self):
        rc = self.remote_credential()
        wrong = "%08d" % ((int(rc.pin) + 1) % 10**8)
        doc = self.authorize(rc, digests(2), pin=wrong, status=403, problem="badPIN", error="invalid_grant")
        self.assertEqual(doc["attemptsLeft"], 4)
        self.assertEqual(self.pin_tries_left(rc), 4)
        hashes = digests(2)
        self.sign(rc, self.authorize(rc, hashes)["SAD"], hashes)
        self.assertEqual(self.pin_tries_left(rc), 5, "a right PIN resets the counter")

    def test_the_puk_cannot_authorise_signing(self):
        rc = self.remote_credential()
        otp = self.send_sms(rc)
        self.authorize(rc, digests(1), pin=rc.puk, otp=otp, status=400, problem="malformed")
        payload = {"credentialID": rc.credential_id, "numSignatures": 1, "hashes": [b64(digests(1)[0])],
                   "hashAlgorithmOID": SHA256, "authData": [{"id": "PUK", "value": rc.puk}, {"id": "OTP", "value": otp}]}
        self.csc("credentials/authorize", rc, payload, 400, problem="malformed")
        self.assertEqual(self.pin_tries_left(rc), 5, "nothing counted")
        hashes = digests(1)
        self.sign(rc, self.authorize(rc, hashes, otp=otp)["SAD"], hashes)

    def test_malformed_requests_count_nothing(self):
        rc = self.remote_credential()
        otp = self.send_sms(rc)
        good = b64(digests(1)[0])
        rows = [
            {"hashes": ["not base64!"]},
            {"hashes": [good.rstrip("=")]},  # without padding
            {"hashes": [base64.urlsafe_b64encode(b"\xfb" * 32).decode()]},  # base64url
            {"hashes": [b64(b"\x00" * 31)]},  # not a SHA-256 length
            {"hashes": [good], "hashAlgorithmOID": "1.3.14.3.2.26"},  # SHA-1
            {"hashes": [good], "numSignatures": 2},
            {"hashes": []},
            {"hashes": [good] * 65, "numSignatures": 65},
            {"hashes": [good], "authData": [{"id": "PIN", "value": rc.pin}]},  # no OTP
        ]
        # OTPs of the wrong shape, as many as the OTP failures that lock: none may be counted
        for bad_otp in ("12ab56", "123", "123456789", "", " 123456"):
            rows.append({"hashes": [good],
                         "authData": [{"id": "PIN", "value": rc.pin}, {"id": "OTP", "value": bad_otp}]})
        for row in rows:
            with self.subTest(row=str(row)[:80]):
                payload = dict({"credentialID": rc.credential_id, "numSignatures": 1, "hashAlgorithmOID": SHA256,
                                "authData": [{"id": "PIN", "value": rc.pin}, {"id": "OTP", "value": otp}]}, **row)
                self.csc("credentials/authorize", rc, payload, 400, problem="malformed")
        self.assertEqual(self.pin_tries_left(rc), 5)
        hashes = digests(1)
        sad = self.authorize(rc, hashes, otp=otp)["SAD"]  # the same OTP: nothing consumed it
        self.sign(rc, sad, hashes)

    def test_a_suspended_credential_neither_authorises_nor_signs(self):
        rc = self.remote_credential()
        hashes = digests(1)
        sad = self.authorize(rc, hashes)["SAD"]
        serial = self.info(rc)["cert"]["serialNumber"]
        self.admin("suspend", {"serial": serial})
        self.sign(rc, sad, hashes, status=403, problem="credentialSuspended", error="access_denied")
        self.authorize(rc, hashes, otp="000000", status=403, problem="credentialSuspended", error="access_denied")
        self.assertEqual(self.info(rc)["key"]["status"], "disabled")
        self.admin("reinstate", {"serial": serial})
        self.assertEqual(len(self.sign(rc, sad, hashes)["signatures"]), 1)
