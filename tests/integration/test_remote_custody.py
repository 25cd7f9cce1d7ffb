"""Custody of remote keys against the real certflowd (spec/protocol.md §22, §24): guessing stops
at the counters and the counters survive a restart, the PUK unblocks, PUK exhaustion revokes (the
CRL shows it), and the master key is what stands between a copy of the database and the key: a
copy without master.key does not start, a copy with another master key refuses the right PIN, the
database holds no clear key, PIN or PUK; and the server refuses to start without master.key once
remote keys exist, or with a master.key that others may read."""

import os
import shutil
import stat
import sys

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from harness import CertflowTestCase, Server, child_env, program, run

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "conformance"))
import cfclient  # noqa: E402
import cfremote  # noqa: E402

# SMS codes on demand: every PIN or PUK attempt uses one up.
CONFIG = {"otp_resend_secs": 0, "otp_resend_per_hour": 100}
FIRST_PIN = "31415926"


class RemoteCustodyTests(CertflowTestCase):
    def client(self, srv):
        return cfclient.Client(srv.url, srv.ca_file,
                               admin_key=cfclient.Key.load_pem(os.path.join(srv.data, "admin.key")))

    def holder(self, srv, activate=True):
        """An approved remote applicant, logged in with a changed password; activated with
        FIRST_PIN when asked. Returns (holder, credential id, the activation's answer)."""
        c = self.client(srv)
        h = cfremote.Holder(c, srv.maildir)
        r = h.public("/v1/apply", h.apply_request())
        self.assertEqual(r.status, 201, r.body)
        r = c.admin("application-approve", {"id": r.json()["id"]})
        self.assertEqual(r.status, 200, r.body)
        h.read_delivery()
        self.assertEqual(h.login().status, 201)
        self.assertEqual(h.change_password().status, 200)
        cred = self.status(h)["credentials"][0]
        self.assertEqual(cred["status"], "pending")
        if not activate:
            return h, cred["id"], None
        r = h.activate(cred["id"], h.puk, FIRST_PIN, h.sms())
        self.assertEqual(r.status, 200, r.body)
        return h, cred["id"], r.json()

    def status(self, h, cred_id=None):
        r = h.bearer("/v1/portal/status", {})
        self.assertEqual(r.status, 200, r.body)
        doc = r.json()
        if cred_id is None:
            return doc
        return next(x for x in doc["credentials"] if x["id"] == cred_id)

    def problem(self, r, status, name):
        self.assertEqual((r.status, r.json().get("type")), (status, "urn:certflow:error:" + name), r.body)
        return r.json()

    def start_plain(self, srv):
        """Run certflowd on srv's data without waiting for it: (rc, stderr) of a refused start."""
        argv = [program("certflowd"), "--data", srv.data, "--listen", "127.0.0.1:0",
                "--test-clock", srv.clock.path, "--config", srv.write_config()]
        r = run(argv, timeout=60, env=child_env())
        if r.rc == 0 or r.rc is None:
            self.fail("certflowd started although it should refuse: %r" % r)
        return r.rc, r.err

    def test_a_refused_start_for_a_bad_master_key_prints_exactly_one_line(self):
        srv = Server(os.path.join(self.tmp, "onel"), config=CONFIG)
        os.makedirs(srv.data)
        key = srv.master_key
        for content, mode in ((os.urandom(32), 0o644), (os.urandom(31), 0o600)):
            with open(key, "wb") as f:
                f.write(content)
            os.chmod(key, mode)
            rc, err = self.start_plain(srv)
            self.assertEqual(rc, 1)
            self.assertEqual(len(err.strip().splitlines()), 1, err)
            self.assertTrue(err.startswith("certflowd: master key " + key), err)

    def test_the_master_key_lives_outside_the_data_directory_and_no_backup_holds_it(self):
        srv = self.start_server(config=CONFIG)
        self.assertEqual(srv.master_key, srv.data + ".master.key")
        with open(srv.master_key, "rb") as f:
            mk = f.read()
        self.assertEqual(len(mk), 32)
        self.assertFalse(os.path.exists(os.path.join(srv.data, "master.key")))
        self.holder(srv, activate=False)
        # a copy of DATA, and certflowd backup, hold no master key
        dest = os.path.join(self.tmp, "backup")
        r = run([program("certflowd"), "backup", "--data", srv.data, dest], timeout=60,
                env=child_env())
        self.assertEqual(r.rc, 0, r)
        for top in (srv.data, dest):
            for root, _, files in os.walk(top):
                for name in files:
                    with open(os.path.join(root, name), "rb") as f:
                        self.assertNotIn(mk, f.read(), os.path.join(root, name))
        self.stop_server(srv)
        # a master key inside DATA (where earlier versions kept it) is refused with what to do
        os.rename(srv.master_key, os.path.join(srv.data, "master.key"))
        rc, err = self.start_plain(srv)
        self.assertEqual(rc, 1)
        self.assertEqual(len(err.strip().splitlines()), 1, err)
        self.assertIn("move it to " + srv.master_key, err)
        # and so is a configured path inside DATA
        os.rename(os.path.join(srv.data, "master.key"), srv.master_key)
        srv.config["master_key"] = os.path.join(srv.data, "keys", "master.key")
        os.makedirs(os.path.join(srv.data, "keys"))
        rc, err = self.start_plain(srv)
        self.assertEqual(rc, 1)
        self.assertIn("must not be inside", err)

    # ---- counters -----------------------------------------------------------------------------
    def test_wrong_pins_stop_at_the_limit_stay_blocked_after_a_restart_and_the_puk_unblocks(self):
        srv = self.start_server(config=CONFIG)
        h, cid, first = self.holder(srv)
        for left in (4, 3, 2, 1):
            r = h.change_pin(cid, cfremote.other_digits(FIRST_PIN), "11112222", h.sms())
            self.assertEqual(self.problem(r, 403, "badPIN")["attemptsLeft"], left)
        # the fifth is counted and answered as the lock (spec/errors.md, Counters)
        r = h.change_pin(cid, cfremote.other_digits(FIRST_PIN), "11112222", h.sms())
        self.assertNotIn("attemptsLeft", self.problem(r, 403, "pinBlocked"))
        # blocked: even the right PIN is refused, and nothing more is counted
        self.problem(h.change_pin(cid, FIRST_PIN, "11112222", h.sms()), 403, "pinBlocked")
        srv.restart_same_port()
        self.problem(h.change_pin(cid, FIRST_PIN, "11112222", h.sms()), 403, "pinBlocked")
        shown = self.status(h, cid)
        self.assertEqual((shown["pinStatus"], shown["pinTriesLeft"]), ("blocked", 0))
        # the PUK + a new PIN + an OTP unblock it, without a new certificate
        r = h.activate(cid, h.puk, "27182818", h.sms())
        self.assertEqual(r.status, 200, r.body)
        doc = r.json()
        self.assertEqual((doc["status"], doc["pinStatus"], doc["pinTriesLeft"]), ("active", "active", 5))
        self.assertEqual(doc["serial"], first["serial"], "unblocking issues no certificate")
        self.problem(h.change_pin(cid, FIRST_PIN, "11112222", h.sms()), 403, "badPIN")  # the old PIN is gone
        r = h.change_pin(cid, "27182818", "11112222", h.sms())
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json()["pinTriesLeft"], 5, "a right PIN resets the counter")

    def test_puk_exhaustion_revokes_the_credential_and_the_crl_shows_it(self):
        srv = self.start_server(config=dict(CONFIG, puk_max_tries=3))
        h, cid, first = self.holder(srv)
        wrong = cfremote.other_digits(h.puk)
        for left in (2, 1):
            r = h.activate(cid, wrong, "11112222", h.sms())
            self.assertEqual(self.problem(r, 403, "badPUK")["attemptsLeft"], left)
        # the last try destroys the key and is answered as every later try
        r = h.activate(cid, wrong, "11112222", h.sms())
        self.assertNotIn("attemptsLeft", self.problem(r, 403, "credentialRevoked"))
        self.problem(h.activate(cid, h.puk, "11112222", h.sms()), 403, "credentialRevoked")
        self.problem(h.change_pin(cid, FIRST_PIN, "11112222", h.sms()), 403, "credentialRevoked")
        self.assertEqual(self.status(h, cid)["status"], "revoked")
        _, der = srv.crl_der()
        crl = x509.load_der_x509_crl(der)
        entry = crl.get_revoked_certificate_by_serial_number(int(first["serial"], 16))
        self.assertIsNotNone(entry, "the revoked certificate is on the CRL")

    # ---- the master key -----------------------------------------------------------------------
    def test_a_copy_of_the_database_without_the_master_key_yields_no_key(self):
        srv = self.start_server(config=CONFIG)
        h, cid, first = self.holder(srv)
        self.stop_server(srv)
        copy = Server(os.path.join(self.tmp, "copy"), clock=srv.clock, config=CONFIG)
        shutil.copytree(srv.data, copy.data, ignore=shutil.ignore_patterns("master.key", "maildir"))
        db = os.path.join(copy.data, "db", "data.mdb")
        with open(db, "rb") as f:
            raw = f.read()
        # no clear private key: no PKCS#8 EC key header, no PIN, no PUK, no first password; the
        # public point occurs only inside copies of the certificate
        cert = x509.load_pem_x509_certificate(first["certificate"].encode())
        cert_der = cert.public_bytes(serialization.Encoding.DER)
        point = cert.public_key().public_bytes(serialization.Encoding.X962,
                                               serialization.PublicFormat.UncompressedPoint)
        pkcs8_p256 = bytes.fromhex("020100301306072a8648ce3d020106082a8648ce3d030107")
        for secret in (pkcs8_p256, FIRST_PIN.encode(), h.puk.encode(), h.pin.encode()):
            self.assertNotIn(secret, raw)
        in_certs = sum(raw.count(point, i, i + len(cert_der)) for i in self.positions(raw, cert_der))
        self.assertEqual(raw.count(point), in_certs, "the public point outside a certificate")
        # the server on the copy refuses to start without its master key (and makes none)
        rc, err = self.start_plain(copy)
        self.assertEqual(rc, 1)
        self.assertIn(copy.master_key, err)
        self.assertFalse(os.path.exists(copy.master_key))
        # with another master key it starts, but the right PIN does not open the key
        with open(copy.master_key, "wb") as f:
            f.write(os.urandom(32))
        os.chmod(copy.master_key, 0o600)
        copy.start()
        self.addCleanup(self._finish_server, copy)
        thief = cfremote.Holder(self.client(copy), copy.maildir)
        thief.user_id, thief.password, thief.mobile = h.user_id, h.password, h.mobile
        self.assertEqual(thief.login().status, 201)
        r = thief.change_pin(cid, FIRST_PIN, "11112222", thief.sms())
        self.assertEqual(self.problem(r, 403, "badPIN")["attemptsLeft"], 4)

    @staticmethod
    def positions(raw, needle):
        i = raw.find(needle)
        while i >= 0:
            yield i
            i = raw.find(needle, i + 1)

    def test_the_server_refuses_to_start_without_master_key_once_remote_keys_exist_or_when_others_read_it(self):
        srv = self.start_server(config=CONFIG)
        key = srv.master_key
        self.assertEqual(stat.S_IMODE(os.stat(key).st_mode), 0o600, "made at the first start, mode 0600")
        self.holder(srv, activate=False)  # a custody record exists from the approval on
        self.stop_server(srv)
        os.chmod(key, 0o644)
        rc, err = self.start_plain(srv)
        self.assertEqual(rc, 1)
        self.assertIn(key, err)
        os.chmod(key, 0o600)
        os.rename(key, key + ".away")
        rc, err = self.start_plain(srv)
        self.assertEqual(rc, 1)
        self.assertIn(key, err)
        self.assertFalse(os.path.exists(key), "no new master key while remote keys exist")
        os.rename(key + ".away", key)
        inside = dict(CONFIG, master_key=os.path.join(srv.data, "db", "master.key"))
        srv.config.update(inside)
        rc, err = self.start_plain(srv)
        self.assertEqual(rc, 1)
        self.assertIn("must not be inside", err)
        del srv.config["master_key"]
        srv.start()
