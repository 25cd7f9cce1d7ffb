"""certflowd as a program: first start, data directory, plain HTTP, backup, --help/--version."""

import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import time
import unittest

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from harness import (DAY, CertflowTestCase, Clock, Server, child_env, file_mode, load_cert,
                     program, project_version, run, sanitizer_lines, ts)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "conformance"))
import cfclient  # noqa: E402

KEY_FILES = ("ca/root.key", "ca/issuing.key", "server.pem", "secret.key", "admin.key")


def public_der(key):
    return key.public_bytes(serialization.Encoding.DER,
                            serialization.PublicFormat.SubjectPublicKeyInfo)


class FirstStart(CertflowTestCase):
    def test_first_start_creates_ca_keys_0600_and_prints_enrol_instructions(self):
        srv = self.start_server()
        data = srv.data
        self.assertEqual(file_mode(data), 0o700, "data directory mode")

        # Every key file exists, is 0600, and none of them is inside the LMDB directory.
        for rel in KEY_FILES:
            path = os.path.join(data, rel)
            self.assertTrue(os.path.isfile(path), f"{rel} missing")
            self.assertEqual(file_mode(path), 0o600, f"mode of {rel}")
        db = os.path.join(data, "db")
        self.assertTrue(os.path.isfile(os.path.join(db, "data.mdb")), "db/data.mdb missing")
        self.assertLessEqual(set(os.listdir(db)), {"data.mdb", "lock.mdb"},
                             "only LMDB files belong in db/")
        for rel in ("ca/root.pem", "ca/issuing.pem", "url"):
            self.assertTrue(os.path.isfile(os.path.join(data, rel)), f"{rel} missing")

        # The CA: a self-signed P-256 root whose key is root.key; an issuing CA under it.
        root = load_cert(os.path.join(data, "ca", "root.pem"))
        issuing = load_cert(os.path.join(data, "ca", "issuing.pem"))
        with open(os.path.join(data, "ca", "root.key"), "rb") as f:
            root_key = serialization.load_pem_private_key(f.read(), password=None)
        self.assertEqual(public_der(root_key.public_key()), public_der(root.public_key()))
        self.assertIsInstance(root.public_key(), ec.EllipticCurvePublicKey)
        self.assertEqual(root.public_key().curve.name, "secp256r1")
        self.assertTrue(root.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
        self.assertEqual(issuing.issuer, root.subject)
        bc = issuing.extensions.get_extension_for_class(x509.BasicConstraints).value
        self.assertTrue(bc.ca)
        self.assertEqual(bc.path_length, 0)

        # Ready: the ready file, the url file and the stdout line agree on the base URL.
        self.assertRegex(srv.url, r"^https://127\.0\.0\.1:[1-9][0-9]*$")
        with open(os.path.join(data, "url")) as f:
            self.assertEqual(f.read().strip(), srv.url)
        self.assertIn(f"certflowd: listening on {srv.url}", srv.stdout.splitlines())
        # First start tells the operator how to enrol an agent.
        self.assertIn("certflow-admin", srv.stdout)
        self.assertIn("enrol create", srv.stdout)

        # HTTPS works with a stock TLS client that checks the chain and the host name, and the
        # directory names the root's fingerprint.
        d = srv.directory()
        self.assertEqual(d["meta"]["caFingerprint"], "sha256:" + srv.root_fingerprint())
        self.assertEqual(d["meta"]["protocolVersion"], "1")
        self.assertEqual(d["meta"]["enrolmentCodeLifetimeDays"], 15)
        for member in ("newNonce", "activate", "renew", "renewalInfo", "caChain", "crl", "admin"):
            self.assertTrue(d[member].startswith(srv.url + "/v1/"), member)

        # A restart keeps the CA: nothing is regenerated.
        before = {}
        for rel in ("ca/root.pem", "ca/root.key", "ca/issuing.key", "secret.key", "admin.key"):
            with open(os.path.join(data, rel), "rb") as f:
                before[rel] = f.read()
        self.stop_server(srv)
        srv.start()
        for rel, content in before.items():
            with open(os.path.join(data, rel), "rb") as f:
                self.assertEqual(f.read(), content, f"{rel} changed on restart")
        self.assertEqual(srv.directory()["meta"]["caFingerprint"],
                         "sha256:" + srv.root_fingerprint())


def served_certificate(srv):
    """The TLS certificate certflowd presents now, unverified (its validity follows the test
    clock, not the wall clock Python checks against): callers verify it with openssl -attime."""
    host, port = srv.url.split("://", 1)[1].rsplit(":", 1)
    pem = ssl.get_server_certificate((host, int(port)), timeout=10)
    return x509.load_pem_x509_certificate(pem.encode())


class CrashLeftovers(CertflowTestCase):
    def test_start_removes_temporary_files_of_interrupted_writes_and_keeps_live_files(self):
        srv = self.start_server()
        self.stop_server(srv)
        data = srv.data
        with open(os.path.join(data, "ca", "root.key"), "rb") as f:
            root_key = f.read()
        live = {}
        for rel in ("ca/root.key", "ca/root.pem", "secret.key"):
            with open(os.path.join(data, rel), "rb") as f:
                live[rel] = f.read()
        hour_ago = time.time() - 3600
        leftovers = [os.path.join(data, "ca", "root.key.tmpQ1w2E3"),  # a full copy of a CA key
                     os.path.join(data, "secret.key.tmpA1b2c3"),
                     os.path.join(data, "url.tmp000000"),
                     os.path.join(data, "templates", "welcome.email.tmpzzzzzz"),
                     srv.master_key + ".tmpXyZ789"]
        for path in leftovers:
            with open(path, "wb") as f:
                f.write(root_key)
            os.utime(path, (hour_ago, hour_ago))
        fresh = os.path.join(data, "ca", "issuing.key.tmpabcdef")  # another server's, now
        with open(fresh, "wb") as f:
            f.write(b"")
        srv.start()
        for path in leftovers:
            self.assertFalse(os.path.exists(path), path)
        self.assertTrue(os.path.exists(fresh), "a write of another process may be under way")
        for rel, content in live.items():
            with open(os.path.join(data, rel), "rb") as f:
                self.assertEqual(f.read(), content, rel)
        self.assertTrue(os.path.isfile(srv.master_key))
        self.stop_server(srv)


class FullDisk(CertflowTestCase):
    """DATA on a small tmpfs (root only: skipped where mount is impossible)."""

    def mount_small_tmpfs(self, size):
        mnt = os.path.join(self.tmp, "small")
        os.makedirs(mnt)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", mnt],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if r.returncode != 0:
            self.skipTest("cannot mount a tmpfs here (needs root)")
        self.addCleanup(subprocess.run, ["umount", "-l", mnt])
        return mnt

    def fill(self, c, limit=20000):
        """Enrolment codes until the server refuses one; that answer."""
        for _ in range(limit):
            r = c.admin("enrolment-create", {"subject": "full-" + cfclient.random_suffix(),
                                             "profile": "device"})
            if r.status != 201:
                return r
        self.fail(f"still not full after {limit} writes")

    def expect_storage_full(self, r):
        """r is the 503 storageFull problem, with a Retry-After."""
        self.assertEqual(r.status, 503, r.body)
        self.assertEqual(r.json()["type"], "urn:certflow:error:storageFull")
        self.assertGreater(int(r.header("retry-after")), 0)

    def test_full_disk_answers_503_storage_full_logs_once_and_the_server_starts_again(self):
        mnt = self.mount_small_tmpfs("2m")
        work = os.path.join(self.tmp, "srv")
        # the outbox's maildir elsewhere: this test is about the database
        srv = Server(work, data=os.path.join(mnt, "data"),
                     config={"master_key": os.path.join(work, "master.key"),
                             "maildir": os.path.join(work, "maildir")})
        srv.start()
        self.addCleanup(self._finish_server, srv)
        c = cfclient.Client(srv.url, srv.ca_file,
                            admin_key=cfclient.Key.load_pem(os.path.join(srv.data, "admin.key")))
        self.expect_storage_full(self.fill(c))
        # More writes: a small one may still fit in pages LMDB frees and reuses (201), a bigger
        # one does not (503) — a short write on the full file system included, which LMDB
        # reports as EIO — but never a 500, and not one more log line each.
        statuses = []
        for _ in range(60):
            r = c.admin("enrolment-create", {"subject": "full-" + cfclient.random_suffix(),
                                             "profile": "device"})
            statuses.append(r.status)
            if r.status != 201:
                self.expect_storage_full(r)
        self.assertGreater(statuses.count(503), 30, statuses)
        self.assertEqual(c.get(c.directory()["newNonce"]).status // 100, 2, "reads go on")
        full_lines = [l for l in srv.stderr.splitlines() if "storage full" in l]
        self.assertEqual(len(full_lines), 1, srv.stderr[-3000:])
        # a restart on the full disk: it starts and still answers
        srv.restart_same_port()
        self.assertEqual(c.get(c.directory()["newNonce"]).status // 100, 2)

    def test_database_at_its_configured_size_limit_answers_503_storage_full(self):
        srv = self.start_server(config={"db_max_mb": 1})
        c = cfclient.Client(srv.url, srv.ca_file,
                            admin_key=cfclient.Key.load_pem(os.path.join(srv.data, "admin.key")))
        self.expect_storage_full(self.fill(c))


class Restart(CertflowTestCase):
    def test_a_stopped_server_lets_go_of_its_port_at_once_and_starts_again_on_it(self):
        # CivetWeb's listener looked at its stop flag only every 2 s: a stop took up to 3 s and a
        # restart on the port in between failed with "Address already in use" (issue 10 item 12)
        srv = self.start_server()
        c = cfclient.Client(srv.url, srv.ca_file)
        took = []
        for _ in range(5):
            self.assertEqual(c.get(c.directory()["newNonce"]).status // 100, 2)
            time.sleep(0.3)  # an idle listener, as between an operator's requests
            t = time.monotonic()
            self.assertEqual(srv.stop(), 0, srv.stderr[-2000:])
            took.append(time.monotonic() - t)
            srv.listen = srv.url.split("://", 1)[1]
            old = srv.url
            srv.start()
            self.assertEqual(srv.url, old)
            c = cfclient.Client(srv.url, srv.ca_file)
        took.sort()
        self.assertLess(took[2], 0.6, f"stop times (s): {took}")


class TlsCertificateRenewal(CertflowTestCase):
    def test_running_server_renews_its_tls_certificate_on_sighup_and_keeps_serving(self):
        srv = self.start_server()
        enrol = self.admin_ok(srv, "enrol", "create", "--subject", "kept-0001", json_out=True)
        first = served_certificate(srv)
        # Not due: SIGHUP changes nothing.
        srv.proc.send_signal(signal.SIGHUP)
        time.sleep(0.5)
        self.assertEqual(served_certificate(srv).serial_number, first.serial_number)
        # 10 days before it expires (the server has been running for almost a year):
        srv.clock.set_time(ts(first.not_valid_after) - 10 * DAY)
        srv.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 15
        while True:
            try:
                now = served_certificate(srv)
                if now.serial_number != first.serial_number:
                    break
            except (OSError, ssl.SSLError):
                pass  # the listener is being restarted
            self.assertLess(time.monotonic(), deadline, "TLS certificate not renewed")
            time.sleep(0.1)
        self.assertGreater(ts(now.not_valid_after), srv.clock.now + 300 * DAY)
        leaf = os.path.join(self.tmp, "served.pem")
        with open(leaf, "wb") as f:
            f.write(now.public_bytes(serialization.Encoding.PEM))
        r = run(["openssl", "verify", "-attime", str(srv.clock.now), "-CAfile", srv.ca_file,
                 "-untrusted", os.path.join(srv.data, "ca", "issuing.pem"), "-purpose",
                 "sslserver", "-verify_hostname", "localhost", leaf])
        self.assertEqual(r.rc, 0, f"{r!r}")
        self.assertTrue(srv.running(), "the server stopped")
        # Same URL, same state: the enrolment made before is still there.
        listed = self.admin_ok(srv, "enrol", "list", json_out=True)["enrolments"]
        self.assertIn(enrol["reference"], [e["reference"] for e in listed])
        self.assertEqual(srv.stop(), 0)
        self.assertIn("TLS certificate renewed", srv.stderr)


class PlainHttp(CertflowTestCase):
    def test_plain_http_refused_on_non_loopback(self):
        work = os.path.join(self.tmp, "w")
        os.makedirs(work)
        clock = Clock(os.path.join(work, "clock"))
        ready = os.path.join(work, "ready")
        r = self.run_prog([program("certflowd"), "--data", os.path.join(work, "data"),
                           "--plain-http", "--listen", "0.0.0.0:0", "--ready-file", ready,
                           "--test-clock", clock.path], timeout=20, cwd=work)
        self.assertIn(r.rc, (1, 2), f"{r!r}")
        self.assertFalse(os.path.exists(ready), "a refused server must not announce readiness")
        self.assertNotIn("listening", r.out)
        msg = r.err.strip()
        self.assertTrue(msg, "no message on stderr")
        self.assertRegex(msg.lower(), r"loopback|plain", f"unclear message: {msg}")

    def test_plain_http_allowed_on_loopback(self):
        srv = self.start_server(extra_args=["--plain-http"])
        self.assertRegex(srv.url, r"^http://127\.0\.0\.1:[1-9][0-9]*$")
        self.assertEqual(srv.directory()["meta"]["protocolVersion"], "1")


class Backup(CertflowTestCase):
    def test_backup_restores_to_a_working_server(self):
        srv = self.start_server()
        d = self.enrolled_agent(srv, subject="backup-device")
        serial = self.cert_serial(d)

        # Hot backup while the server runs.
        dest = os.path.join(self.tmp, "backup-db")
        r = self.run_prog([program("certflowd"), "backup", "--data", srv.data, dest], timeout=60)
        self.assertEqual(r.rc, 0, f"backup failed: {r!r}")
        self.assertTrue(os.path.isfile(os.path.join(dest, "data.mdb")), "no data.mdb in backup")
        self.assertTrue(srv.running(), "backup must not disturb the running server")
        self.admin_ok(srv, "cert", "show", serial)
        self.stop_server(srv)

        # Restore: a copy of the data directory whose db/ is the backup.
        restored = os.path.join(self.tmp, "restored")
        shutil.copytree(srv.data, restored, ignore=shutil.ignore_patterns("db"))
        shutil.copytree(dest, os.path.join(restored, "db"))
        srv2 = self.start_server(name="srv2", data=restored, clock=srv.clock)
        shown = self.admin_ok(srv2, "cert", "show", serial, json_out=True)
        self.assertEqual(shown.get("serial"), serial)
        self.assertEqual(shown.get("status"), "valid")
        # The restored server still works: it issues a new certificate.
        d2 = self.enrolled_agent(srv2, subject="after-restore", name="agent2")
        self.assert_chain_verifies(srv2, d2, srv2.clock.now)

    def test_backup_into_existing_directory_or_bad_data_fails_cleanly(self):
        srv = self.start_server()
        existing = os.path.join(self.tmp, "exists")
        os.makedirs(existing)
        with open(os.path.join(existing, "data.mdb"), "wb") as f:
            f.write(b"precious")
        r = self.run_prog([program("certflowd"), "backup", "--data", srv.data, existing],
                          timeout=60)
        self.assertNotEqual(r.rc, 0, "backup must not overwrite an existing database")
        with open(os.path.join(existing, "data.mdb"), "rb") as f:
            self.assertEqual(f.read(), b"precious")
        r = self.run_prog([program("certflowd"), "backup", "--data",
                           os.path.join(self.tmp, "no-such-data"),
                           os.path.join(self.tmp, "dest2")], timeout=60)
        self.assertEqual(r.rc, 1, f"{r!r}")
        self.assertTrue(r.err.strip())


class Check(CertflowTestCase):
    """certflowd check (issue 10 item 13): the configuration and the data directory loaded as a
    start would, without starting, listening or writing."""

    def check(self, *args):
        return run([program("certflowd"), "check", *args], timeout=60)

    def snapshot(self, d):
        out = {}
        for root, _, files in os.walk(d):
            for f in files:
                if f == "lock.mdb":
                    continue  # LMDB's reader table, rewritten by every open; not data
                p = os.path.join(root, f)
                st = os.stat(p)
                out[p] = (st.st_size, st.st_mtime_ns)
        return out

    def test_check_of_a_used_data_directory_says_ok_and_writes_nothing(self):
        srv = self.start_server()
        self.assertEqual(srv.stop(), 0)
        before = self.snapshot(srv.data)
        r = self.check("--data", srv.data)
        self.assertEqual(r.rc, 0, f"{r!r}")
        self.assertRegex(r.out, r"^certflowd: ok: .*CA sha256:[0-9a-f]{64}, database readable\n$")
        self.assertEqual(self.snapshot(srv.data), before, "check wrote to the data directory")

    def test_check_of_a_missing_data_directory_is_ok_and_creates_nothing(self):
        d = os.path.join(self.tmp, "not-yet")
        r = self.check("--data", d)
        self.assertEqual(r.rc, 0, f"{r!r}")
        self.assertIn("does not exist yet", r.out)
        self.assertFalse(os.path.exists(d))

    def test_check_refuses_a_bad_configuration_or_a_damaged_data_directory_in_one_line(self):
        srv = self.start_server()
        self.assertEqual(srv.stop(), 0)
        conf = os.path.join(self.tmp, "bad.conf")
        with open(conf, "w") as f:
            f.write("no_such_key = 1\n")
        r = self.check("--data", srv.data, "--config", conf)
        self.assertEqual(r.rc, 2, f"{r!r}")
        self.assertIn("no_such_key", r.err)
        a_file = os.path.join(self.tmp, "a-file")
        with open(a_file, "w") as f:
            f.write("x")
        r = self.check("--data", a_file)
        self.assertEqual(r.rc, 1, f"{r!r}")
        self.assertEqual(len(r.err.strip().splitlines()), 1, r.err)
        with open(os.path.join(srv.data, "ca", "root.pem"), "w") as f:
            f.write("-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n")
        r = self.check("--data", srv.data)
        self.assertEqual(r.rc, 1, f"{r!r}")
        self.assertEqual(len(r.err.strip().splitlines()), 1, r.err)
        self.assertRegex(r.err, r"^certflowd: CA: .*root\.pem")
        self.assertEqual(r.out, "")


class HelpAndVersion(CertflowTestCase):
    def test_help_and_version_of_each_program(self):
        version = project_version()
        self.assertTrue(version)
        cwd = os.path.join(self.tmp, "cwd")
        os.makedirs(cwd)
        for name in ("certflowd", "certflow-admin", "certflow-agent"):
            with self.subTest(program=name):
                h = self.run_prog([program(name), "--help"], timeout=20, cwd=cwd)
                self.assertEqual(h.rc, 0, f"{h!r}")
                self.assertRegex(h.out.lower(), r"usage", f"{h!r}")
                self.assertIn(name, h.out)
                v = self.run_prog([program(name), "--version"], timeout=20, cwd=cwd)
                self.assertEqual(v.rc, 0, f"{v!r}")
                self.assertIn(version, v.out)
                self.assertEqual(len(v.out.strip().splitlines()), 1, f"{v!r}")
                u = self.run_prog([program(name), "--no-such-option"], timeout=20, cwd=cwd)
                self.assertEqual(u.rc, 2, f"usage error must exit 2: {u!r}")
                self.assertTrue(u.err.strip(), "usage error without a message")
        # --help/--version/usage errors never start a server or create a data directory.
        self.assertEqual(os.listdir(cwd), [])
        # The documented commands are in the help texts.
        self.assertIn("backup", self.run_prog([program("certflowd"), "--help"]).out)
        agent_help = self.run_prog([program("certflow-agent"), "--help"]).out
        for word in ("enrol", "renew", "--code-file", "--reference"):
            self.assertIn(word, agent_help)
        admin_help = self.run_prog([program("certflow-admin"), "--help"]).out
        for word in ("enrol", "revoke", "suspend", "reinstate", "credential", "cert"):
            self.assertIn(word, admin_help)


if __name__ == "__main__":
    unittest.main()
