"""Admin lists page by page (issue 15 item 6): certflow-admin follows `next` across pages, so a
list far beyond one answer's size (3,300 credentials; once over 1 MiB in one answer) comes out
whole, each record once; --limit and the filters narrow it."""
import concurrent.futures
import os
import sys
import threading

from harness import CertflowTestCase

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "conformance"))
import cfclient  # noqa: E402

COUNT = 3300


class AdminLists(CertflowTestCase):
    def credentials(self, srv, n, subject_of):
        """n credentials activated over the protocol (one account key, one CSR key), in 4
        threads with a client each: their ids."""
        key, leaf = cfclient.Key.generate(), cfclient.Key.generate()
        csr = cfclient.make_csr(leaf)
        admin_key = cfclient.Key.load_pem(os.path.join(srv.data, "admin.key"))
        local = threading.local()

        def one(i):
            c = getattr(local, "c", None)
            if c is None:
                c = local.c = cfclient.Client(srv.url, srv.ca_file, admin_key=admin_key)
            r = c.admin("enrolment-create", {"subject": subject_of(i), "profile": "device"})
            self.assertEqual(r.status, 201, r.body)
            e = r.json()
            r = c.activate(key, e["reference"], e["activationCode"], csr)
            self.assertEqual(r.status, 201, r.body)
            return r.json()["credential"]["id"]

        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            return list(pool.map(one, range(n)))

    def test_credential_list_pages_through_3300_credentials_each_once(self):
        # thousands of activations from one address in a minute: above the default limit
        srv = self.start_server(config={"rate_activate_addr": 100000})
        ids = self.credentials(srv, COUNT, lambda i: "lot-a" if i % 3 else "lot-b")
        doc = self.admin_ok(srv, "credential", "list", json_out=True)
        listed = [c["id"] for c in doc["credentials"]]
        self.assertEqual(len(listed), COUNT)
        self.assertEqual(sorted(listed), sorted(ids))
        self.assertEqual(listed, sorted(listed), "in id order")
        r = self.admin_ok(srv, "credential", "list")
        lines = r.out.splitlines()
        self.assertEqual(len(lines), COUNT + 1, "one header line, one line per credential")
        self.assertTrue(lines[0].startswith("ID"), lines[0])
        # --limit and a filter
        doc = self.admin_ok(srv, "credential", "list", "--limit", "1234", json_out=True)
        self.assertEqual([c["id"] for c in doc["credentials"]], listed[:1234])
        doc = self.admin_ok(srv, "credential", "list", "--subject", "lot-b", json_out=True)
        self.assertEqual(len(doc["credentials"]), COUNT // 3)
        self.assertEqual({c["subject"] for c in doc["credentials"]}, {"lot-b"})

    def test_list_options_are_checked_before_anything_is_asked(self):
        srv = self.start_server()
        for args in (["credential", "list", "--limit", "0"],
                     ["credential", "list", "--limit", "ten"],
                     ["enrol", "list", "--profile", "device"],
                     ["credential", "list", "extra"]):
            with self.subTest(args):
                r = self.admin(srv, *args)
                self.assertEqual(r.rc, 2, f"{r!r}")
                self.assertEqual(len(r.err.strip().splitlines()) >= 1, True)
