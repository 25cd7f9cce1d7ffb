"""ACME with real domain validation (spec/acme.md §4, issue 12 item 3): an enrolment code made with
`--acme-validate http-01` gives orders that stay pending until certflowd itself fetched each
name's http-01 key authorization. certflowd connects to acme_validation_address (127.0.0.1 here,
as Pebble's -dnsserver lets tests point names at loopback) on acme_http01_port, a free port on
which certbot --standalone serves the challenge.
"""
import os
import re

from test_acme_clients import NAMES, CertbotTest, free_port


class CertbotHttp01Test(CertbotTest):
    def setUp(self):
        self.port = free_port()
        super().setUp()

    def start_server(self, name="srv", **kw):
        # the class's setUp starts the server: give it the validation settings
        cfg = dict(kw.pop("config", {}) or {})
        cfg.update({"acme_http01_port": str(self.port), "acme_validation_address": "127.0.0.1"})
        return super().start_server(name, config=cfg, **kw)

    def binding(self, subject="web-01", names=NAMES):
        r = self.admin_ok(self.srv, "enrol", "create", "--subject", subject,
                          *[a for n in names for a in ("--dns", n)], "--acme-validate", "http-01")
        from test_acme_clients import Binding
        return Binding(r.out)

    def standalone(self, b, names=NAMES):
        return self.certbot("certonly", "--server", self.acme_dir, "--eab-kid", b.kid,
                            "--eab-hmac-key", b.hmac, "--agree-tos",
                            "--register-unsafely-without-email", "--standalone",
                            "--http-01-port", str(self.port), "--http-01-address", "127.0.0.1",
                            *[a for n in names for a in ("-d", n)])

    def audit(self):
        return self.admin_ok(self.srv, "audit", "--limit", "500", json_out=True)["events"]

    def test_certbot_standalone_proves_each_name_by_http01_and_gets_the_certificate(self):
        b = self.binding()
        r = self.standalone(b)
        self.assertEqual(r.rc, 0, f"certbot certonly --standalone failed: {r!r}\n{self.problems()}")
        cert, chain = self.live(NAMES[0])
        serial = self.assert_issued(cert, chain)
        self.assert_one_credential([serial])
        ok = [e for e in self.audit() if e["action"] == "acme.validate" and e["result"] == "ok"]
        self.assertEqual(len(ok), len(NAMES), "one audited validation per name")

    def test_an_order_whose_name_nobody_serves_turns_invalid_and_nothing_is_issued(self):
        b = self.binding()
        # the manual hook does nothing: nothing listens on the validation port
        r = self.certonly(b)
        self.assertNotEqual(r.rc, 0, f"certbot got a certificate nobody proved: {r!r}")
        said = r.out + r.err + self.log()
        self.assertIn("could not connect to", said)
        self.assertEqual([c["certificates"] for c in self.credentials()], [[]], "nothing issued")
        bad = [e for e in self.audit() if e["action"] == "acme.validate"]
        self.assertTrue(bad and all(e["result"] == "incorrectResponse" for e in bad), bad)

    # the pre-authorised tests of the parent class do not apply to a code that asks for proof
    test_certbot_certonly_with_the_binding_gets_a_certificate_of_the_enrolment_names = None
    test_certbot_renew_force_renewal_gives_a_new_certificate_of_the_same_credential = None
    test_certbot_revoke_puts_the_serial_in_the_crl = None
    test_certflow_admin_suspend_and_revoke_of_a_certbot_certificate_show_in_the_crl = None
    test_certbot_refused_identifier_fails_with_the_problem_in_its_output = None


del CertbotTest  # run once, by test_acme_clients
