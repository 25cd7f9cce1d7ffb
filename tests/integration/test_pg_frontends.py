"""Stateless front ends (issue 14 item 2): two certflowd processes on one PostgreSQL database,
sharing one data directory (CA, secret.key, admin key) and one clock, answer one client as one
server: a nonce issued by one is accepted once by the other and refused on both afterwards, a
revocation made at one is in the other's CRL, and concurrent writes on both queue instead of
failing each other. Skipped when Debian's postgresql is not installed (tests/integration/pgcluster.py).
"""
import os
import subprocess
import sys
import threading
import unittest

import pgcluster
from harness import CertflowTestCase, Clock, Server

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "conformance"))
import cfclient  # noqa: E402


@unittest.skipUnless(pgcluster.available(), "PostgreSQL is not installed (deps.sh installs it)")
class TwoFrontEnds(CertflowTestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = pgcluster.PgCluster().start()
        cls.databases = 0

    @classmethod
    def tearDownClass(cls):
        cls.pg.stop()

    def start_pair(self):
        """Two certflowd on a fresh database: a (started first: it makes the data directory)
        and b, with the same data directory and clock; returns (a, b, client of a, client of b)."""
        type(self).databases += 1
        conninfo = self.pg.create_database("frontends%d" % self.databases)
        config = {"store": "postgresql", "store_conninfo": conninfo}
        data = os.path.join(self.tmp, "data")
        clock = Clock(os.path.join(self.tmp, "clock"))
        servers = []
        for name in ("a", "b"):
            srv = Server(os.path.join(self.tmp, name), data=data, clock=clock, config=config)
            self.addCleanup(self._finish_server, srv)
            srv.start()
            servers.append(srv)
        admin = cfclient.Key.load_pem(os.path.join(data, "admin.key"))
        clients = [cfclient.Client(s.url, s.ca_file, admin_key=admin) for s in servers]
        return servers + clients

    @staticmethod
    def account_read(client, nonce):
        """POST-as-GET of the admin's own account at client's server, signed with nonce."""
        url = client.admin_kid
        return client.post_body(url, cfclient.jws(client.admin_key, url, None, nonce=nonce,
                                                  kid=url))

    def assert_bad_nonce(self, r):
        self.assertEqual(r.status, 400, r.body)
        self.assertEqual(r.json()["type"], "urn:certflow:error:badNonce")

    def test_a_nonce_of_one_front_end_is_accepted_once_by_the_other_and_refused_on_both_after(self):
        a, b, ca, cb = self.start_pair()
        nonce = ca.new_nonce()
        self.assertEqual(len(nonce), 22)  # spec/protocol.md §3: what a client sees is unchanged
        r = self.account_read(cb, nonce)
        self.assertEqual(r.status, 200, r.body)
        self.assert_bad_nonce(self.account_read(cb, nonce))
        self.assert_bad_nonce(self.account_read(ca, nonce))
        # and the other way round, used first where it was issued
        nonce = cb.new_nonce()
        self.assertEqual(self.account_read(cb, nonce).status, 200)
        self.assert_bad_nonce(self.account_read(ca, nonce))
        # a nonce that no front end made is refused
        forged = nonce[:-4] + ("AAAA" if nonce[-4:] != "AAAA" else "BBBB")
        self.assert_bad_nonce(self.account_read(ca, forged))

    def test_a_nonce_is_refused_after_its_15_minutes_on_a_shared_database(self):
        a, b, ca, cb = self.start_pair()
        nonce = ca.new_nonce()
        a.clock.advance(seconds=15 * 60)
        self.assert_bad_nonce(self.account_read(cb, nonce))

    def crl_serials(self, srv, name):
        """The serials (int) of srv's CRL, read by openssl after it checked the CRL's signature."""
        _, der = srv.crl_der()
        path = os.path.join(self.tmp, name + ".crl")
        with open(path, "wb") as f:
            f.write(der)
        chain = os.path.join(self.tmp, "chain.pem")
        with open(chain, "wb") as out:
            for name in ("issuing.pem", "root.pem"):
                with open(os.path.join(srv.data, "ca", name), "rb") as f:
                    out.write(f.read())
        r = subprocess.run(["openssl", "crl", "-inform", "DER", "-in", path, "-CAfile", chain,
                            "-verify", "-noout", "-text"], capture_output=True, text=True,
                           timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("verify OK", r.stderr + r.stdout)
        return {int(line.split(":", 1)[1].strip(), 16) for line in r.stdout.splitlines()
                if line.strip().startswith("Serial Number:")}

    def test_a_revocation_at_one_front_end_is_in_the_other_front_ends_crl(self):
        a, b, ca, cb = self.start_pair()
        r = ca.admin("enrolment-create", {"subject": "shared-crl", "profile": "device"})
        self.assertEqual(r.status, 201, r.body)
        e = r.json()
        key, leaf = cfclient.Key.generate(), cfclient.Key.generate()
        r = ca.activate(key, e["reference"], e["activationCode"], cfclient.make_csr(leaf))
        self.assertEqual(r.status, 201, r.body)
        from cryptography import x509
        pem = r.json()["certificate"]["pem"].encode()
        serial = x509.load_pem_x509_certificate(pem).serial_number
        # b made (and cached) its CRL before the revocation
        self.assertNotIn(serial, self.crl_serials(b, "before"))
        r = ca.admin("revoke", {"serial": cfclient.serial_hex(serial), "reason": 1})
        self.assertEqual(r.status, 200, r.body)
        self.assertIn(serial, self.crl_serials(b, "after-b"))
        self.assertIn(serial, self.crl_serials(a, "after-a"))

    def test_concurrent_writes_on_two_front_ends_all_succeed_without_serialisation_failures(self):
        a, b, ca, cb = self.start_pair()
        per_thread, threads = 10, []
        statuses = []
        lock = threading.Lock()

        def writer(srv, tag):
            c = cfclient.Client(srv.url, srv.ca_file, admin_key=ca.admin_key)
            for i in range(per_thread):
                r = c.admin("enrolment-create",
                            {"subject": "race-%s-%d" % (tag, i), "profile": "device"})
                with lock:
                    statuses.append((r.status, r.body[:200]))

        for n, srv in enumerate((a, b, a, b)):
            threads.append(threading.Thread(target=writer, args=(srv, n)))
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
        self.assertEqual(len(statuses), 4 * per_thread)
        self.assertEqual([s for s in statuses if s[0] != 201], [])
        # writers queue on the table lock: PostgreSQL never had to abort one of them
        aborted = [line for line in self.pg.log().splitlines()
                   if "could not serialize access" in line or "deadlock detected" in line]
        self.assertEqual(len(aborted), 0, "PostgreSQL aborted %d write transactions, e.g. %s"
                         % (len(aborted), aborted[:1]))


if __name__ == "__main__":
    unittest.main()
