"""Two certflowd on one PostgreSQL database (harness.Fleet: one private cluster, tests/integration/
pgcluster.py), raced from many threads at once: the store's guarantees hold across processes —
an activation code is used once, a counted secret never gets more tries than its limit, a SAD
signs once, and when
one process is killed with SIGKILL under load the other carries on, with every issuance that was
acknowledged found afterwards and no serial twice.

Each client talks to one server directly (cfclient.Client(server.direct)): its nonces come from
the process it posts to, so these tests do not depend on nonces shared across processes. Skipped
when PostgreSQL's binaries (Debian postgresql-15) are absent."""

import json
import os
import sys
import threading
import time
import unittest

import pgcluster
from harness import CertflowTestCase, Fleet, sanitizer_lines

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "conformance"))
import cfclient  # noqa: E402
from cfclient import Key, make_csr  # noqa: E402

# Connections from 127.0.0.1 only: the per-address cap and the per-address and per-reference
# rate limits would refuse the crowd before the store sees it; the tests are about the store.
RACE_CONFIG = {"max_connections_per_address": 256, "rate_activate_addr": 0,
               "rate_activate_reference": 0, "rate_emergency_addr": 0}


def problem(r):
    try:
        return r.json().get("type", "").rsplit(":", 1)[-1]
    except (ValueError, AttributeError):
        return None


@unittest.skipUnless(pgcluster.available(), "PostgreSQL binaries absent (Debian postgresql-15)")
class TwoServersOnePostgresql(CertflowTestCase):
    pg = None
    databases = 0

    @classmethod
    def setUpClass(cls):
        cls.pg = pgcluster.PgCluster().start()

    @classmethod
    def tearDownClass(cls):
        if cls.pg:
            cls.pg.stop()

    def start_fleet(self, n=2, config=None, started=None):
        """n servers on a fresh database; the first `started` of them running (default all)."""
        type(self).databases += 1
        conninfo = self.pg.create_database("races_%d" % self.databases)
        fleet = Fleet(os.path.join(self.tmp, "fleet"), n, conninfo, dict(RACE_CONFIG, **(config or {})))
        self.addCleanup(self._finish_fleet, fleet)
        if started is None:
            fleet.start()
        else:
            for srv in fleet.servers[:started]:
                Fleet.start_server(srv)
        self.admin_key = Key.load_pem(os.path.join(fleet.data, "admin.key"))
        return fleet

    def _finish_fleet(self, fleet):
        for srv, rc in fleet.stop():
            self.assertEqual(rc, 0, "certflowd did not stop cleanly on SIGTERM; stderr:\n"
                             + srv.stderr[-3000:])
        self.assertEqual(sanitizer_lines(fleet.stderr), [], fleet.stderr[-6000:])

    def client(self, srv):
        return cfclient.Client(srv.direct, srv.ca_file, self.admin_key)

    def admin(self, srv, op, payload, status=200):
        r = self.client(srv).admin(op, payload)
        self.assertEqual(r.status, status, f"admin {op}: {r!r}")
        return r.json()

    def new_enrolment(self, srv):
        subject = "race-" + cfclient.random_suffix()
        doc = self.admin(srv, "enrolment-create", {"subject": subject, "profile": "device",
                                                   "dnsNames": [subject + ".example"]}, 201)
        return doc["reference"], doc.pop("activationCode"), subject

    def admin_all(self, srv, op, member, payload=None):
        items, after = [], None
        for _ in range(1000):
            body = dict(payload or {}, limit=1000)
            if after:
                body["after"] = after
            doc = self.admin(srv, op, body)
            items += doc[member]
            after = doc.get("next")
            if not after:
                return items
        self.fail(f"{op}: the pages never end")

    def at_once(self, fleet, n, request):
        """request(client, i) from n threads released together, thread i on server i % 2 with
        its nonce taken beforehand: the n responses (an exception stands for a failed one)."""
        clients = [self.client(fleet.servers[i % len(fleet.servers)]) for i in range(n)]
        for c in clients:
            c.nonce = c.new_nonce()
        start = threading.Barrier(n)
        answers = [None] * n

        def one(i):
            try:
                start.wait(timeout=60)
                answers[i] = request(clients[i], i)
            except Exception as e:  # noqa: BLE001 — reported by the assertion below
                answers[i] = e

        threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
        errors = [a for a in answers if not isinstance(a, cfclient.Response)]
        self.assertEqual(errors, [], "every request has an answer")
        return answers

    # ---------------------------------------------------------------------------------------
    def test_fifty_activations_of_one_code_on_two_servers_issue_one_certificate(self):
        fleet = self.start_fleet()
        reference, code, subject = self.new_enrolment(fleet.servers[0])
        keys = [(Key.generate(), make_csr(Key.generate())) for _ in range(50)]
        answers = self.at_once(fleet, 50, lambda c, i: c.activate(keys[i][0], reference, code,
                                                                  keys[i][1]))
        issued = [a for a in answers if a.status == 201]
        self.assertEqual(len(issued), 1, [(a.status, problem(a)) for a in answers])
        others = {(a.status, problem(a)) for a in answers if a.status != 201}
        self.assertEqual(others, {(403, "enrolmentUsed")})
        serial = issued[0].json()["certificate"]["serial"]
        for srv in fleet.servers:  # both processes read the one record
            creds = self.admin_all(srv, "credential-list", "credentials", {"subject": subject})
            self.assertEqual([c["certificates"] for c in creds], [[serial]])
        enrol = [e for e in self.admin_all(fleet.servers[1], "enrolment-list", "enrolments")
                 if e["reference"] == reference]
        self.assertEqual([e["status"] for e in enrol], ["used"])

    def test_wrong_activation_codes_on_two_servers_at_once_lock_at_the_limit(self):
        fleet = self.start_fleet()
        reference, code, _ = self.new_enrolment(fleet.servers[0])
        limit = self.client(fleet.servers[0]).directory()["meta"]["maxActivationAttempts"]
        wrong = "0000-0000-0000-0000-0000" if code != "0000-0000-0000-0000-0000" else "1111-1111-1111-1111-1111"
        keys = [(Key.generate(), make_csr(Key.generate())) for _ in range(30)]
        answers = self.at_once(fleet, 30, lambda c, i: c.activate(keys[i][0], reference, wrong,
                                                                  keys[i][1]))
        got = [(a.status, problem(a)) for a in answers]
        self.assertEqual(got.count((403, "badActivationCode")), limit - 1, got)
        self.assertEqual(got.count((403, "enrolmentLocked")), 30 - (limit - 1), got)
        enrol = [e for e in self.admin_all(fleet.servers[1], "enrolment-list", "enrolments")
                 if e["reference"] == reference]
        self.assertEqual([(e["status"], e["failures"]) for e in enrol], [("locked", limit)])
        c = self.client(fleet.servers[1])
        r = c.activate(Key.generate(), reference, code, make_csr(Key.generate()))
        self.assertEqual((r.status, problem(r)), (403, "enrolmentLocked"), "the right code too")

    def test_wrong_emergency_codes_on_two_servers_at_once_count_each_try_once(self):
        # an unknown reference is counted like a known one (protocol.md §20, §28.3): no setup
        fleet = self.start_fleet()
        reference = "%012d" % (int(cfclient.random_suffix(), 16) % 10**12)
        answers = self.at_once(fleet, 30, lambda c, i: c.post(
            c.directory()["emergencySuspend"], Key.generate(),
            {"reference": reference, "emergencyCode": "7QW3-E5R7-T9Y1-V3PA"}, use_jwk=True))
        got = [(a.status, problem(a)) for a in answers]
        bad = [a for a in answers if problem(a) == "badEmergencyCode"]
        self.assertEqual(sorted(a.json()["attemptsLeft"] for a in bad), [1, 2, 3, 4],
                         f"each of the four tries left answered once: {got}")
        self.assertEqual(got.count((403, "proofLocked")), 30 - 4, got)

    def test_a_sad_raced_on_two_servers_signs_once(self):
        # a remote credential made through the first server alone (its mails read from the
        # maildir while no second process delivers the same outbox), then its one SAD sent to
        # signatures/signHash 20 times at once on both (protocol.md §25.5)
        import base64
        import hashlib
        import urllib.parse
        import cfremote
        fleet = self.start_fleet(n=2, started=1, config={"otp_resend_secs": 0})
        first, second = fleet.servers
        c = self.client(first)
        h = cfremote.make_active(c, fleet.maildir, set())
        csc = urllib.parse.urlsplit(c.directory()["csc"]).path
        hashes = [base64.b64encode(hashlib.sha256(b"race-%d" % i).digest()).decode()
                  for i in range(2)]
        sha256, ecdsa_sha256 = "2.16.840.1.101.3.4.2.1", "1.2.840.10045.4.3.2"
        r = h.bearer(csc + "/credentials/authorize", {
            "credentialID": h.credential_id, "numSignatures": 2, "hashes": hashes,
            "hashAlgorithmOID": sha256,
            "authData": [{"id": "PIN", "value": h.pin}, {"id": "OTP", "value": h.sms()}]})
        self.assertEqual(r.status, 200, r)
        sad = r.json()["SAD"]
        Fleet.start_server(second)
        sign = {"credentialID": h.credential_id, "SAD": sad, "hashes": hashes,
                "hashAlgorithmOID": sha256, "signAlgo": ecdsa_sha256}
        answers = self.at_once(fleet, 20, lambda cl, i: cl.http(
            "POST", cl.origin + csc + "/signatures/signHash", json.dumps(sign).encode(),
            {"Authorization": "Bearer " + h.token, "Content-Type": "application/json"}))
        got = [(a.status, problem(a)) for a in answers]
        self.assertEqual([a.status for a in answers].count(200), 1, got)
        self.assertEqual(got.count((403, "badSAD")), 19, got)

    def test_a_server_killed_under_load_leaves_the_other_serving_and_nothing_acknowledged_lost(self):
        fleet = self.start_fleet()
        victim, survivor = fleet.servers
        workers, per_worker = 8, 12
        acknowledged = []  # (credential id, serial) of every 201
        lock = threading.Lock()
        killed = threading.Event()
        after_kill = [0]

        def worker(w):
            srv = fleet.servers[w % 2]
            for _ in range(per_worker):
                for attempt in range(3):
                    if srv is victim and killed.is_set():
                        srv = survivor  # what a load balancer does with a dead back end
                    try:
                        reference, code, _ = self.new_enrolment(srv)
                        c = self.client(srv)
                        r = c.activate(Key.generate(), reference, code, make_csr(Key.generate()))
                    except (OSError, cfclient.ConnectionClosed, RuntimeError, AssertionError):
                        time.sleep(0.05)  # the connection died with the process: try again
                        continue
                    if r.status == 201:
                        body = r.json()
                        with lock:
                            acknowledged.append((body["credential"]["id"],
                                                 body["certificate"]["serial"]))
                            if killed.is_set():
                                after_kill[0] += 1
                    break

        threads = [threading.Thread(target=worker, args=(w,)) for w in range(workers)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 120
        while len(acknowledged) < workers * per_worker // 4 and time.monotonic() < deadline:
            time.sleep(0.02)
        victim.proc.kill()  # SIGKILL: no clean stop, connections and transactions cut
        victim.proc.wait()
        killed.set()
        for t in threads:
            t.join(timeout=300)
        self.assertGreater(after_kill[0], workers, "the survivor went on issuing")

        creds = self.admin_all(survivor, "credential-list", "credentials")
        serials = [s for c in creds for s in c["certificates"]]
        self.assertEqual(len(serials), len(set(serials)), "no serial twice")
        held = {c["id"]: c["certificates"] for c in creds}
        lost = [(cid, s) for cid, s in acknowledged if s not in held.get(cid, [])]
        self.assertEqual(lost, [], "every acknowledged certificate is in the store")
        self.assertEqual(len({s for _, s in acknowledged}), len(acknowledged))

        # the killed one starts again on the same database and serves the same records
        Fleet.start_server(victim)
        creds_again = self.admin_all(victim, "credential-list", "credentials")
        self.assertEqual(sorted(c["id"] for c in creds_again), sorted(held))


if __name__ == "__main__":
    unittest.main()
