"""certflowd migrate: a server's records moved from LMDB to PostgreSQL and back (spec/cli.md).

The PostgreSQL tests start a private cluster (pgcluster.py) and are skipped where Debian's
postgresql is not installed; the refusals that need no database run everywhere."""

import hashlib
import os
import re
import unittest

from cryptography import x509

from harness import DAY, CertflowTestCase, Server, load_cert, program, ts

try:
    import pgcluster
    HAVE_PG = pgcluster.available()
except ImportError:  # pragma: no cover
    HAVE_PG = False

ROW = re.compile(r"^(\w+)\s+(\d+)\s+(\d+)\s+([0-9a-f]{64})$", re.M)


def tables(out):
    """{table: (source records, target records, digest)} from migrate's report (agreeing rows)."""
    return {m.group(1): (int(m.group(2)), int(m.group(3)), m.group(4)) for m in ROW.finditer(out)}


def file_digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def tree_digest(top):
    """Names and contents of every file under top but LMDB's lock files, whose reader slots
    every open writes (missing: None)."""
    if not os.path.exists(top):
        return None
    out = {}
    for root, dirs, files in os.walk(top):
        for n in files:
            if n == "lock.mdb":
                continue
            p = os.path.join(root, n)
            out[os.path.relpath(p, top)] = file_digest(p)
    return out


class MigrateBase(CertflowTestCase):
    def migrate(self, *args):
        return self.run_prog([program("certflowd"), "migrate", *args], timeout=300)

    def migrate_ok(self, src, dst):
        r = self.migrate("--from", src, "--to", dst)
        self.assertEqual(r.rc, 0, repr(r))
        self.assertIn("every table's count and digest agree", r.out)
        t = tables(r.out)
        self.assertGreaterEqual(len(t), 30, f"one row per table: {r.out}")
        for name, (a, b, _) in t.items():
            self.assertEqual(a, b, f"{name}: {r.out}")
        return t

    def assert_refused(self, r, rc=1):
        self.assertEqual(r.rc, rc, repr(r))
        self.assert_one_line_error(r, "certflowd")


class MigrateRefusals(MigrateBase):
    """Refusals that need no PostgreSQL."""

    def setUp(self):
        super().setUp()
        self.srv = self.start_server()
        self.agent = self.enrolled_agent(self.srv)
        self.stop_server(self.srv)
        self.data = self.srv.data
        self.before = tree_digest(os.path.join(self.data, "db"))

    def tearDown(self):
        self.assertEqual(tree_digest(os.path.join(self.data, "db")), self.before,
                         "a refused migration changed the source")

    def test_unknown_scheme_is_refused_and_touches_nothing(self):
        other = os.path.join(self.tmp, "other")
        for args in (("--from", "mysql:" + self.data, "--to", "lmdb:" + other),
                     ("--from", "lmdb:" + self.data, "--to", "sqlite:" + other),
                     ("--from", "lmdb:" + self.data, "--to", other),
                     ("--from", "lmdb:", "--to", "lmdb:" + other)):
            r = self.migrate(*args)
            self.assert_refused(r, 2)
            self.assertFalse(os.path.exists(other), f"{args}: the target was made")
        self.assertIn("lmdb:DIR or postgresql:CONNINFO", r.err)

    def test_missing_options_are_a_usage_error(self):
        for args in ((), ("--from", "lmdb:" + self.data), ("--to", "lmdb:x"), ("--bogus",)):
            r = self.migrate(*args)
            self.assertEqual(r.rc, 2, repr(r))
            self.assertEqual(len(r.err.strip().splitlines()), 1, repr(r))

    def test_source_without_a_database_is_refused_and_nothing_is_made(self):
        empty, other = os.path.join(self.tmp, "empty"), os.path.join(self.tmp, "other")
        os.mkdir(empty)
        r = self.migrate("--from", "lmdb:" + empty, "--to", "lmdb:" + other)
        self.assert_refused(r)
        self.assertIn("no database", r.err)
        self.assertEqual(os.listdir(empty), [])
        self.assertFalse(os.path.exists(other))

    def test_target_under_a_missing_directory_is_refused(self):
        r = self.migrate("--from", "lmdb:" + self.data,
                         "--to", "lmdb:" + os.path.join(self.tmp, "no", "such"))
        self.assert_refused(r)

    def test_target_that_holds_records_is_refused_and_unchanged(self):
        copy = os.path.join(self.tmp, "copy")
        self.migrate_ok("lmdb:" + self.data, "lmdb:" + copy)
        before = tree_digest(copy)
        r = self.migrate("--from", "lmdb:" + self.data, "--to", "lmdb:" + copy)
        self.assert_refused(r)
        self.assertIn("already holds records", r.err)
        self.assertEqual(tree_digest(copy), before)

    def test_copy_of_a_served_database_is_one_snapshot_that_agrees(self):
        srv = self.start_server(name="again", data=self.data)
        copy = os.path.join(self.tmp, "copy")
        t = self.migrate_ok("lmdb:" + self.data, "lmdb:" + copy)
        self.assertEqual(t["certs"][0], 1)
        self.enrolled_agent(srv, subject="device-0043", dns=("device-0043.example",),
                            name="later")
        self.stop_server(srv)
        self.before = tree_digest(os.path.join(self.data, "db"))  # the server wrote: fine
        later = self.migrate_ok("lmdb:" + self.data, "lmdb:" + os.path.join(self.tmp, "c2"))
        self.assertEqual(later["certs"][0], 2, "what the server wrote after the copy stays")

    def test_same_database_as_source_and_target_is_refused(self):
        r = self.migrate("--from", "lmdb:" + self.data,
                         "--to", "lmdb:" + os.path.join(self.data, "db"))
        self.assert_refused(r, 2)

    def test_unreachable_postgresql_is_refused_in_one_line(self):
        other = os.path.join(self.tmp, "other")
        r = self.migrate("--from", "postgresql:host=%s dbname=x connect_timeout=5" % other,
                         "--to", "lmdb:" + other)
        self.assert_refused(r)
        self.assertIn("PostgreSQL", r.err)
        self.assertFalse(os.path.exists(other))
        r = self.migrate("--from", "lmdb:" + self.data,
                         "--to", "postgresql:host=%s dbname=x password=Sekr3t-Pw "
                         "connect_timeout=5" % other)
        self.assert_refused(r)
        self.assertNotIn("Sekr3t-Pw", r.err + r.out, "a password never reaches a message")


@unittest.skipUnless(HAVE_PG, "PostgreSQL (Debian package postgresql) is not installed")
class MigrateToPostgresqlAndBack(MigrateBase):
    @classmethod
    def setUpClass(cls):
        cls.pg = pgcluster.PgCluster().start()
        cls.n = 0

    @classmethod
    def tearDownClass(cls):
        cls.pg.stop()

    def database(self):
        type(self).n += 1
        return self.pg.create_database("migrate_%d" % self.n)

    def kv_digest(self, conninfo):
        """The PostgreSQL store's rows, as psql sees them (count and md5 over all of them)."""
        db = re.search(r"dbname=(\w+)", conninfo).group(1)
        return self.pg.psql("SELECT count(*), md5(coalesce(string_agg(dbi::text || ':' || "
                            "encode(k, 'hex') || ':' || encode(v, 'hex'), ',' ORDER BY dbi, k), "
                            "'')) FROM kv", dbname=db)

    def crl_serials(self, srv):
        headers, der = srv.crl_der()
        return {e.serial_number for e in x509.load_der_x509_crl(der)}

    def test_records_moved_to_postgresql_serve_and_come_back_with_equal_digests(self):
        # --- real work on LMDB: two devices, one revoked, the audit trail ---
        srv = self.start_server()
        keep = self.enrolled_agent(srv, subject="device-keep", dns=("keep.example",),
                                   name="keep")
        gone = self.enrolled_agent(srv, subject="device-gone", dns=("gone.example",),
                                   name="gone")
        gone_serial = self.cert_serial(gone)
        self.admin_ok(srv, "revoke", gone_serial, "--reason", "keyCompromise")
        pending = self.enrol_create(srv, "device-later", dns=("later.example",))
        audit_lmdb = self.admin_ok(srv, "audit", "--limit", "500", json_out=True)["events"]
        self.assertTrue(any("revoke" in e.get("action", "") for e in audit_lmdb), audit_lmdb)
        listen = srv.url.split("://", 1)[1]
        self.stop_server(srv)

        # --- LMDB → PostgreSQL ---
        conninfo = self.database()
        there = self.migrate_ok("lmdb:" + srv.data, "postgresql:" + conninfo)
        for name in ("credentials", "certs", "certs_revoked", "audit", "enrolments",
                     "accounts", "meta"):
            self.assertGreater(there[name][0], 0, f"{name} copied: {there}")
        self.assertEqual(there["certs_revoked"][0], 1)
        self.assertEqual(there["audit"][0], len(audit_lmdb))

        # --- the same data directory (keys, CA) served from PostgreSQL ---
        pgsrv = Server(os.path.join(self.tmp, "pgsrv"), data=srv.data, clock=srv.clock,
                       listen=listen,
                       config={"store": "postgresql", "store_conninfo": conninfo})
        self.addCleanup(self._finish_server, pgsrv)
        pgsrv.start()
        audit_pg = self.admin_ok(pgsrv, "audit", "--limit", "500", json_out=True)["events"]
        self.assertEqual(audit_pg[:len(audit_lmdb)], audit_lmdb, "the audit trail moved whole")
        shown = self.admin_ok(pgsrv, "cert", "show", gone_serial, json_out=True)
        self.assertEqual(shown["status"], "revoked")
        self.assertIn(int(gone_serial, 16), self.crl_serials(pgsrv))
        self.assertNotIn(int(self.cert_serial(keep), 16), self.crl_serials(pgsrv))
        # the code made on LMDB activates on PostgreSQL
        later = os.path.join(self.tmp, "later")
        r = self.agent_enrol(pgsrv, pending.reference, pending.code, later)
        self.assertEqual(r.rc, 0, repr(r))
        # a renewal inside the window, with the account the agent made on LMDB
        cert = load_cert(os.path.join(keep, "cert.pem"))
        nb, na = ts(cert.not_valid_before), ts(cert.not_valid_after)
        pgsrv.clock.set_time(na - (na - nb) // 3 + DAY)
        old_serial = self.cert_serial(keep)
        r = self.agent_renew(pgsrv, keep)
        self.assertEqual(r.rc, 0, repr(r))
        self.assertNotEqual(self.cert_serial(keep), old_serial)
        self.stop_server(pgsrv)

        # --- PostgreSQL → a fresh LMDB directory, and that one → a fresh database ---
        back = os.path.join(self.tmp, "back")
        home = self.migrate_ok("postgresql:" + conninfo, "lmdb:" + back)
        self.assertTrue(os.path.exists(os.path.join(back, "db", "data.mdb")))
        self.assertGreater(home["certs"][0], there["certs"][0], "the renewal came back")
        self.assertGreater(home["audit"][0], there["audit"][0])
        again = self.migrate_ok("lmdb:" + back, "postgresql:" + self.database())
        self.assertEqual(again, home, "the digests survive LMDB → PostgreSQL → LMDB")

        # --- refusals change nothing ---
        before = self.kv_digest(conninfo)
        r = self.migrate("--from", "lmdb:" + back, "--to", "postgresql:" + conninfo)
        self.assert_refused(r)
        self.assertIn("already holds records", r.err)
        r = self.migrate("--from", "lmdb:" + back, "--to", "mysql:" + conninfo)
        self.assert_refused(r, 2)
        self.assertEqual(self.kv_digest(conninfo), before)
        lmdb_before = tree_digest(os.path.join(back, "db"))
        r = self.migrate("--from", "postgresql:" + conninfo, "--to", "lmdb:" + back)
        self.assert_refused(r)
        self.assertEqual(tree_digest(os.path.join(back, "db")), lmdb_before)

    def test_source_with_a_newer_schema_is_refused(self):
        conninfo = self.database()
        srv = self.start_server(config={"store": "postgresql", "store_conninfo": conninfo})
        self.stop_server(srv)
        db = re.search(r"dbname=(\w+)", conninfo).group(1)
        self.pg.psql("UPDATE schema_version SET version = 99", dbname=db)
        other = os.path.join(self.tmp, "other")
        r = self.migrate("--from", "postgresql:" + conninfo, "--to", "lmdb:" + other)
        self.assert_refused(r)
        self.assertIn("schema", r.err)
        self.assertFalse(os.path.exists(other), "nothing made for a refused source")


if __name__ == "__main__":
    unittest.main()
