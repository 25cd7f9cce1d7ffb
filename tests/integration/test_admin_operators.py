"""Named operators (issue 10 item 12): a second operator whose key was made with openssl is added
with certflow-admin, approves an application through certflow-admin with her own key, and the
decision, the application and the audit trail show her name; removal rules; an admin account of
an older data directory (no name) takes the configured name at start."""

import os
import subprocess
import sys

from harness import CertflowTestCase, child_env, program

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "conformance"))
import cfclient  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_admin_applications import form  # noqa: E402


class OperatorTests(CertflowTestCase):
    def openssl_key(self, name):
        key = os.path.join(self.tmp, f"{name}.key")
        pub = os.path.join(self.tmp, f"{name}.pub")
        subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-out", key], check=True, capture_output=True)
        subprocess.run(["openssl", "pkey", "-in", key, "-pubout", "-out", pub], check=True,
                       capture_output=True)
        return key, pub

    def admin_as(self, srv, key, *args):
        argv = [program("certflow-admin"), "--server", srv.url, "--ca", srv.ca_file, "--key", key]
        return self.run_prog(argv + list(args), env=child_env(srv.clock.now))

    def apply(self, srv, n):
        c = cfclient.Client(srv.url, srv.ca_file)
        r = c.post(c.directory()["apply"], cfclient.Key.generate(), form(n), use_jwk=True)
        self.assertEqual(r.status, 201, r.body)
        return r.json()["id"]

    def test_second_operator_made_with_openssl_approves_and_her_name_is_shown(self):
        srv = self.start_server()
        key, pub = self.openssl_key("maria")
        r = self.admin_ok(srv, "operator", "add", "Maria Schmidt", "--public-key", pub)
        self.assertRegex(r.out, r"name: Maria Schmidt\n")
        self.assertRegex(r.out, r"status: active\n")
        listed = self.admin_ok(srv, "operator", "list", json_out=True)["operators"]
        self.assertEqual([(o["name"], o["status"]) for o in listed],
                         [("Maria Schmidt", "active"), ("admin", "active")])
        app = self.apply(srv, 1)
        r = self.admin_as(srv, key, "application", "approve", app)
        self.assertEqual(r.rc, 0, r)
        r = self.admin_ok(srv, "application", "show", app)
        self.assertRegex(r.out, r"decided by: Maria Schmidt\n")
        events = self.admin_ok(srv, "audit", json_out=True)["events"]
        approve = [e for e in events if e["action"] == "application.approve"]
        self.assertEqual([e.get("actorName") for e in approve], ["Maria Schmidt"])
        self.assertTrue(approve[0]["actor"].startswith("admin:"))
        added = [e for e in events if e["action"] == "operator.add"]
        self.assertEqual([(e["actorName"], e["detail"]) for e in added], [("admin", "Maria Schmidt")])
        self.assertIn("Maria Schmidt", self.admin_ok(srv, "audit").out)

    def test_removed_operator_is_refused_and_the_last_one_or_oneself_cannot_be_removed(self):
        srv = self.start_server()
        key, pub = self.openssl_key("omar")
        self.admin_ok(srv, "operator", "add", "omar", "--public-key", pub)
        r = self.admin(srv, "operator", "add", "omar", "--public-key", pub)
        self.assertEqual(r.rc, 1, "the name is taken")
        self.assert_one_line_error(r)
        r = self.admin(srv, "operator", "remove", "admin")
        self.assertEqual(r.rc, 1, "an operator cannot remove herself")
        self.assert_one_line_error(r)
        r = self.admin(srv, "operator", "remove", "nobody")
        self.assertEqual(r.rc, 1)
        self.assert_one_line_error(r)
        r = self.admin_as(srv, key, "operator", "remove", "admin")
        self.assertEqual(r.rc, 0, r)
        self.assertRegex(r.out, r"status: deactivated\n")
        r = self.admin(srv, "operator", "list")
        self.assertNotEqual(r.rc, 0, "the removed operator's key is refused")
        self.assert_one_line_error(r)
        r = self.admin_as(srv, key, "operator", "list")
        self.assertEqual(r.rc, 0, r)
        self.assertRegex(r.out, r"admin +deactivated")

    def test_operator_help_names_the_openssl_commands(self):
        r = self.run_prog([program("certflow-admin"), "operator", "add", "--help"])
        self.assertEqual(r.rc, 0, r)
        self.assertIn("--public-key FILE", r.out)
        self.assertIn("openssl pkey", r.out)
