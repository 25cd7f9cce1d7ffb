"""Remote signing with the real server (spec/protocol.md §25): a holder signs real files through
the CSC API (credentials/authorize with PIN + SMS code, signatures/signHash) with a server-held
RSA-2048 key (remote_key = rsa2048) and with a P-256 key (the default), and every signature
verifies with `openssl dgst -sha256 -verify pub.pem -signature SIG FILE` against the public key
of the certificate credentials/info returns. The signatures of a batch are in the order of its
hashes, and the SAD signs once."""
import base64
import hashlib
import json
import os
import subprocess
import sys

from harness import REPO, CertflowTestCase

sys.path.insert(0, os.path.join(REPO, "tests", "conformance"))
import cfclient  # noqa: E402
import cfremote  # noqa: E402

SHA256 = "2.16.840.1.101.3.4.2.1"


class TestRemoteSigning(CertflowTestCase):
    def csc(self, client, holder, method, payload, status=200):
        r = client.http("POST", client.origin + "/csc/v2/" + method, json.dumps(payload).encode(),
                        {"Content-Type": "application/json", "Authorization": "Bearer " + holder.token})
        self.assertEqual(r.status, status, "%s: HTTP %d %s" % (method, r.status, r.body[:300]))
        return r.json()

    def openssl(self, *args):
        p = subprocess.run(["openssl", *args], capture_output=True, text=True, timeout=60)
        return p.returncode, p.stdout + p.stderr

    def sign_files(self, config, sign_algo, key_len):
        srv = self.start_server(config=config)
        client = cfclient.Client(srv.url, srv.ca_file, cfclient.Key.load_pem(os.path.join(srv.data, "admin.key")))
        holder = cfremote.make_active(client, srv.maildir, set())
        info = self.csc(client, holder, "credentials/info", {"credentialID": holder.credential_id, "certInfo": True})
        self.assertEqual((info["key"]["status"], info["key"]["len"]), ("enabled", key_len))
        self.assertIn(sign_algo, info["key"]["algo"])
        work = os.path.join(self.tmp, "files")
        os.makedirs(work)
        cert = os.path.join(work, "cert.der")
        with open(cert, "wb") as f:
            f.write(base64.b64decode(info["cert"]["certificates"][0], validate=True))
        pub = os.path.join(work, "pub.pem")
        rc, out = self.openssl("x509", "-inform", "DER", "-in", cert, "-pubkey", "-noout", "-out", pub)
        self.assertEqual(rc, 0, out)
        # three real files of different sizes, hashed here as a signing application would
        files, hashes = [], []
        for i, size in enumerate((0, 1000, 300000)):
            path = os.path.join(work, "doc%d.bin" % i)
            with open(path, "wb") as f:
                f.write(os.urandom(size))
            with open(path, "rb") as f:
                hashes.append(base64.b64encode(hashlib.sha256(f.read()).digest()).decode())
            files.append(path)
        srv.clock.advance(seconds=61)  # the SMS gap after the activation's code
        auth = self.csc(client, holder, "credentials/authorize",
                        {"credentialID": holder.credential_id, "numSignatures": 3, "hashes": hashes,
                         "hashAlgorithmOID": SHA256, "PIN": holder.pin, "OTP": holder.sms()})
        sign = {"credentialID": holder.credential_id, "SAD": auth["SAD"], "hashes": hashes,
                "hashAlgorithmOID": SHA256, "signAlgo": sign_algo}
        sigs = self.csc(client, holder, "signatures/signHash", sign)["signatures"]
        self.assertEqual(len(sigs), 3)
        for i, (path, sig) in enumerate(zip(files, sigs)):
            sig_path = path + ".sig"
            with open(sig_path, "wb") as f:
                f.write(base64.b64decode(sig, validate=True))
            rc, out = self.openssl("dgst", "-sha256", "-verify", pub, "-signature", sig_path, path)
            self.assertEqual((rc, out.strip()), (0, "Verified OK"), "file %d" % i)
            # in order: the signature of file i is not one of file i+1
            other = files[(i + 1) % 3]
            rc, out = self.openssl("dgst", "-sha256", "-verify", pub, "-signature", sig_path, other)
            self.assertNotEqual(rc, 0, "a signature verifies over another file")
        self.csc(client, holder, "signatures/signHash", sign, status=403)  # the SAD is used up
        audit = self.admin(srv, "audit", "--object", "credential:" + holder.credential_id)
        self.assertEqual(audit.rc, 0, audit)
        self.assertRegex(audit.out, r"csc\.authorize\s+credential:\S+\s+ok")
        self.assertRegex(audit.out, r"csc\.sign\s+credential:\S+\s+ok\s.*hashes=3")
        self.assertRegex(audit.out, r"csc\.sign\s+credential:\S+\s+badSAD")
        self.assertNotIn(auth["SAD"], audit.out + audit.err, "the SAD never reaches the audit trail")
        self.assertNotIn(holder.pin, audit.out + audit.err)

    def test_rsa2048_key_signs_files_that_openssl_verifies(self):
        self.sign_files({"remote_key": "rsa2048"}, "1.2.840.113549.1.1.11", 2048)

    def test_p256_key_signs_files_that_openssl_verifies(self):
        self.sign_files({}, "1.2.840.10045.4.3.2", 256)
