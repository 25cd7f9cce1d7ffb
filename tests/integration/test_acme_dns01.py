"""ACME dns-01 (spec/acme.md §4, issue 12 item 3): an enrolment code made with
`--acme-validate dns-01` gives orders that stay pending until certflowd itself found, in the TXT
records of _acme-challenge.NAME, the digest of each name's key authorization. certflowd asks the
resolver of its acme_dns_resolver setting: here a small authoritative server on loopback
(dnsstub.py) whose records certbot's manual hook publishes, as a DNS provider's API would.
"""
import concurrent.futures
import os
import socket
import stat
import sys
import time

from dnsstub import TYPE_TXT, DnsStub
from harness import CertflowTestCase
from test_acme_clients import NAMES, Binding, CertbotTest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "conformance"))
from acmeclient import Account, AcmeClient  # noqa: E402
from cfclient import Key  # noqa: E402


class CertbotDns01Test(CertbotTest):
    def setUp(self):
        self.silent = None
        self.records = None
        super().setUp()

    def start_server(self, name="srv", **kw):
        # the class's setUp starts the server: point its dns-01 lookups at the stub
        self.records = os.path.join(self.tmp, "dns")
        os.makedirs(self.records, exist_ok=True)
        self.dns = DnsStub(self.records)
        self.addCleanup(self.dns.close)
        cfg = dict(kw.pop("config", {}) or {})
        cfg.setdefault("acme_dns_resolver", self.dns.address)
        return super().start_server(name, config=cfg, **kw)

    def binding(self, subject="web-01", names=NAMES, validate="dns-01"):
        r = self.admin_ok(self.srv, "enrol", "create", "--subject", subject,
                          *[a for n in names for a in ("--dns", n)], "--acme-validate", validate)
        return Binding(r.out)

    def hook(self, body):
        """A manual-auth-hook script: body is shell run with CERTBOT_DOMAIN, CERTBOT_VALIDATION."""
        path = os.path.join(self.tmp, "hook.sh")
        with open(path, "w") as f:
            f.write("#!/bin/sh\nset -e\n" + body + "\n")
        os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR)
        return path

    def publish_hook(self, value='"$CERTBOT_VALIDATION"'):
        return self.hook(f'echo {value} >> "{self.records}/_acme-challenge.$CERTBOT_DOMAIN"')

    def manual_dns(self, b, hook, names=NAMES):
        return self.certbot("certonly", "--server", self.acme_dir, "--eab-kid", b.kid,
                            "--eab-hmac-key", b.hmac, "--agree-tos",
                            "--register-unsafely-without-email", "--manual",
                            "--preferred-challenges", "dns", "--manual-auth-hook", hook,
                            *[a for n in names for a in ("-d", n)])

    def validations(self):
        events = self.admin_ok(self.srv, "audit", "--limit", "500", json_out=True)["events"]
        return [e for e in events if e["action"] == "acme.validate"]

    def test_certbot_publishing_each_txt_record_proves_the_names_by_dns01(self):
        b = self.binding()
        r = self.manual_dns(b, self.publish_hook())
        self.assertEqual(r.rc, 0, f"certbot --manual dns failed: {r!r}\n{self.problems()}")
        cert, chain = self.live(NAMES[0])
        serial = self.assert_issued(cert, chain)
        self.assert_one_credential([serial])
        ok = [e for e in self.validations() if e["result"] == "ok"]
        self.assertEqual(len(ok), len(NAMES), "one audited validation per name")
        self.assertTrue(all(e["detail"].startswith("dns-01 ") for e in ok), ok)
        asked = {q for q in self.dns.questions if q[1] == TYPE_TXT}
        self.assertEqual(asked, {("_acme-challenge." + n, TYPE_TXT) for n in NAMES},
                         "certflowd asked the TXT record of each name's _acme-challenge")

    def test_a_txt_record_of_another_value_makes_the_order_invalid_and_nothing_is_issued(self):
        b = self.binding()
        r = self.manual_dns(b, self.publish_hook("not-the-digest-of-the-key-authorization"))
        self.assertNotEqual(r.rc, 0, f"certbot got a certificate nobody proved: {r!r}")
        self.assertIn("holds the key authorization", r.out + r.err + self.log())
        self.assertEqual([c["certificates"] for c in self.credentials()], [[]], "nothing issued")
        bad = self.validations()
        self.assertTrue(bad and all(e["result"] == "incorrectResponse" for e in bad), bad)

    def test_a_name_without_txt_record_makes_the_order_invalid_and_says_so(self):
        b = self.binding()
        r = self.manual_dns(b, "/bin/true")
        self.assertNotEqual(r.rc, 0, f"certbot got a certificate nobody proved: {r!r}")
        self.assertIn("has no TXT record", r.out + r.err + self.log())
        self.assertEqual([c["certificates"] for c in self.credentials()], [[]], "nothing issued")

    def test_a_code_taking_either_proof_lets_certbot_use_dns01(self):
        b = self.binding(validate="http-01,dns-01")
        r = self.manual_dns(b, self.publish_hook())
        self.assertEqual(r.rc, 0, f"certbot --manual dns failed: {r!r}\n{self.problems()}")
        ok = [e for e in self.validations() if e["result"] == "ok"]
        self.assertEqual(len(ok), len(NAMES))
        self.assertTrue(all(e["detail"].startswith("dns-01 ") for e in ok), ok)

    def test_a_resolver_that_never_answers_fails_the_validation_within_its_deadline(self):
        # a bound UDP socket that reads nothing: the question is lost, as to a dead resolver
        silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        silent.bind(("127.0.0.1", 0))
        self.addCleanup(silent.close)
        self.srv.stop()
        self.srv = self.start_server(
            "srv2", config={"acme_dns_resolver": "127.0.0.1:%d" % silent.getsockname()[1]})
        self.acme_dir = self.srv.url + "/acme/directory"
        b = self.binding(names=NAMES[:1])
        began = time.monotonic()
        r = self.manual_dns(b, self.publish_hook(), names=NAMES[:1])
        self.assertNotEqual(r.rc, 0, f"certbot got a certificate nobody proved: {r!r}")
        self.assertIn("no DNS answer", r.out + r.err + self.log())
        self.assertLess(time.monotonic() - began, 60, "the lookup is bounded")

    # the pre-authorised tests of the parent class do not apply to a code that asks for proof
    test_certbot_certonly_with_the_binding_gets_a_certificate_of_the_enrolment_names = None
    test_certbot_renew_force_renewal_gives_a_new_certificate_of_the_same_credential = None
    test_certbot_revoke_puts_the_serial_in_the_crl = None
    test_certflow_admin_suspend_and_revoke_of_a_certbot_certificate_show_in_the_crl = None
    test_certbot_refused_identifier_fails_with_the_problem_in_its_output = None


class ValidationBoundTest(CertflowTestCase):
    """acme.md §4 "Bounds": at most 16 validations run at once; one more is rateLimited and
    changes nothing."""

    def pending_challenge(self, srv, i):
        """An account of its own dns-01 code and the dns-01 challenge of its order's first name:
        (client, account, challenge URL)."""
        name = f"n{i}.example.test"
        b = Binding(self.admin_ok(srv, "enrol", "create", "--subject", name, "--dns", name,
                                  "--acme-validate", "dns-01").out)
        client = AcmeClient(srv.url, srv.ca_file)
        key = Key.generate()
        r = client.new_account(key, eab=client.binding_for(key, b.kid, b.hmac))
        self.assertEqual(r.status, 201, r.body)
        acct = Account(key, r.header("location"), [name], None, r.json())
        r = client.new_order(acct, [name])
        self.assertEqual(r.status, 201, r.body)
        authz = client.get_as(acct, r.json()["authorizations"][0]).json()
        return client, acct, authz["challenges"][0]["url"]

    def test_the_seventeenth_validation_at_once_is_rate_limited_and_its_challenge_stays_pending(self):
        # a resolver that never answers holds each validation for its 5 seconds
        silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        silent.bind(("127.0.0.1", 0))
        self.addCleanup(silent.close)
        # (17 clients on one address: more than the 16 connections an address gets by default)
        srv = self.start_server(config={"acme_dns_resolver": "127.0.0.1:%d" % silent.getsockname()[1],
                                        "max_connections_per_address": "64"})
        ch = [self.pending_challenge(srv, i) for i in range(17)]
        with concurrent.futures.ThreadPoolExecutor(len(ch)) as pool:
            answers = list(pool.map(lambda c: c[0].post(c[2], c[1].key, {}, kid=c[1].url), ch))
        limited = [i for i, r in enumerate(answers) if r.status == 429]
        self.assertEqual(len(limited), 1, [r.status for r in answers])
        r = answers[limited[0]]
        self.assertEqual(r.json()["type"], "urn:ietf:params:acme:error:rateLimited")
        self.assertIn("too many names are being checked", r.json()["detail"])
        self.assertTrue(r.header("retry-after"), "Retry-After on the refused validation")
        for i, a in enumerate(answers):
            if i not in limited:
                self.assertEqual(a.status, 200, a.body)
                self.assertEqual(a.json()["status"], "invalid", "no answer from the resolver")
        client, acct, url = ch[limited[0]]
        self.assertEqual(client.get_as(acct, url).json()["status"], "pending",
                         "the refused validation changed nothing")


del CertbotTest  # run once, by test_acme_clients
