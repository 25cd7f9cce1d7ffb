"""The ACME profile (spec/acme.md, RFC 8555): directory, nonces, accounts with an external account
binding made by admin/enrolment-create {"acme": true}, pre-authorised orders, finalize, the
certificate chain, renewal, ARI, revocation by the account and by the certificate's key, key
change, deactivation — and every bad-input class answered with its RFC 8555 problem type and
nothing changed."""
import os
import re

from cryptography import x509

import cfclient
from acmeclient import PROBLEM_PREFIX, Account, AcmeClient, eab_jws, hs256_jws, none_jws
from cfbase import CONFIG, SECRETS, ConformanceTest, Key, der, make_csr, pem_certs
from cfclient import b64u

ACME_NONCE_RE = re.compile(r"^[A-Za-z0-9_-]+$")


class AcmeTest(ConformanceTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.acme = AcmeClient(CONFIG["server"], CONFIG["ca"])
        cls.adir = cls.acme.directory()

    # ---- response checks ---------------------------------------------------------------------
    def aexpect(self, r, status, problem=None, content_type="application/json"):
        """Status, Replay-Nonce, media type; for problems the ACME type and document. Returns the
        JSON body (or the problem document), or None for other media types."""
        self.check_common(r)
        if problem is not None:
            got = None
            if r.content_type == "application/problem+json":
                try:
                    got = r.json().get("type")
                except (ValueError, AttributeError):
                    pass
            self.assertEqual((r.status, got), (status, PROBLEM_PREFIX + problem),
                             "expected %d %s, got %s" % (status, problem, self.describe(r)))
        self.assertEqual(r.status, status, "expected HTTP %d, got %s" % (status, self.describe(r)))
        if r.status >= 400:
            self.assertEqual(r.content_type, "application/problem+json", self.describe(r))
            doc = r.json()
            self.assertTrue(doc.get("type", "").startswith(PROBLEM_PREFIX), self.describe(r))
            self.assertEqual(doc.get("status"), r.status, "problem status member equals the HTTP status")
            self.assertIsInstance(doc.get("detail"), str)
            self.assertNotRegex(doc["detail"], r"/acme/|/v1/|\bPOST\b|\bGET\b",
                                "problem detail names a resource: " + self.describe(r))
            return doc
        if content_type is None:
            return None
        self.assertEqual(r.content_type, content_type, self.describe(r))
        return r.json() if content_type.endswith("json") else None

    # ---- fixtures ----------------------------------------------------------------------------
    def binding(self, names=None, dns=True, validation=None):
        """An enrolment code with an ACME binding: (enrolment doc, eab kid, eab hmac key)."""
        subject = "conf-" + cfclient.random_suffix()
        payload = {"subject": subject, "profile": self.profile(), "acme": True}
        if validation:
            payload["acmeValidation"] = validation
        if dns:
            payload["dnsNames"] = list(names or [subject + ".example"])
        r = self.client.admin("enrolment-create", payload)
        try:  # register the secrets before any assertion can print the body
            body = r.json()
            for m in ("activationCode", "eabHmacKey"):
                if body.get(m):
                    SECRETS.add(body[m])
        except (ValueError, AttributeError):
            pass
        doc = self.expect(r, 201, "admin-enrolment-create-response", allow_secret=True)
        self.assertRegex(doc.get("eabKid", ""), r"^[0-9]{4}-?[0-9]{4}-?[0-9]{4}$", "eabKid: the reference")
        self.assertEqual(doc["eabKid"].replace("-", ""), doc["reference"])
        key = cfclient.b64u_decode(doc.get("eabHmacKey", ""))
        self.assertGreaterEqual(len(key), 32, "eabHmacKey: at least 256 bits")
        self.assertNotIn("=", doc["eabHmacKey"], "eabHmacKey: base64url without padding")
        return doc, doc.pop("eabKid"), doc.pop("eabHmacKey")

    def account(self, names=None, key=None, validation=None):
        enrol, kid, hkey = self.binding(names, validation=validation)
        key = key or Key.generate()
        r = self.acme.new_account(key, eab=self.acme.binding_for(key, kid, hkey))
        body = self.aexpect(r, 201)
        self.assertEqual(body["status"], "valid")
        loc = r.header("location")
        self.assertTrue(loc and loc.startswith(self.acme.base + "/acct/"), "Location of the new account")
        return Account(key, loc, list(enrol.get("dnsNames", [])), enrol, body)

    def order(self, acct, names=None):
        r = self.acme.new_order(acct, names or acct.names)
        body = self.aexpect(r, 201)
        body["url"] = r.header("location")
        self.assertTrue(body["url"], "Location of the new order")
        return body

    def issued(self, acct=None, names=None, leaf_key=None, cn=None):
        """An account, a ready order, finalize: (acct, order, leaf key, certificate, chain pem)."""
        acct = acct or self.account(names)
        o = self.order(acct)
        self.assertEqual(o["status"], "ready")
        leaf_key = leaf_key or Key.generate()
        r = self.acme.finalize(acct, o["finalize"], make_csr(leaf_key, cn, acct.names))
        done = self.aexpect(r, 200)
        self.assertEqual(done["status"], "valid")
        self.assertIn("certificate", done)
        r = self.acme.get_as(acct, done["certificate"])
        self.aexpect(r, 200, content_type=None)
        self.assertEqual(r.content_type, "application/pem-certificate-chain")
        certs = pem_certs(r.body)
        done["url"] = o["url"]
        return acct, done, leaf_key, certs[0], r.body

    def credential_of(self, serial):
        creds = [c for c in self.admin_all("credential-list", "credentials") if serial in c["certificates"]]
        self.assertEqual(len(creds), 1, "one credential holds serial %s" % serial)
        return creds[0]

    def crl_serials(self):
        _, crl = self.fetch_crl()
        return {cfclient.serial_hex(e.serial_number) for e in crl}

    def serial(self, cert):
        return cfclient.serial_hex(cert.serial_number)

    # ---- directory and nonces ----------------------------------------------------------------
    def test_acme_directory_lists_the_resources_and_requires_external_accounts(self):
        r = self.acme.get(self.acme.directory_url)
        d = self.aexpect(r, 200)
        for name, path in (("newNonce", "new-nonce"), ("newAccount", "new-account"), ("newOrder", "new-order"),
                           ("revokeCert", "revoke-cert"), ("keyChange", "key-change"),
                           ("renewalInfo", "renewal-info")):
            self.assertEqual(d.get(name), self.acme.base + "/" + path, name)
        self.assertIs(d["meta"]["externalAccountRequired"], True)
        self.assertIn("website", d["meta"])

    def test_acme_binding_keys_never_start_with_a_dash_so_command_lines_read_them(self):
        # acme.md §3: 1 key in 64 would start with '-' if drawn once; 300 keys miss that with
        # probability 0.9914^300 < 1 %.
        for _ in range(300):
            _, _, hkey = self.binding()
            self.assertEqual(len(hkey), 43, "eabHmacKey: 32 octets in base64url")
            self.assertFalse(hkey.startswith("-"), "eabHmacKey starts with '-': certbot reads it as an option")

    def test_acme_resources_link_their_directory_with_rel_index(self):
        # RFC 8555 §7.1: the "index" link relation on the resources other than the directory
        want = '<%s>;rel="index"' % self.acme.directory_url
        for r in (self.acme.http("HEAD", self.acme.url("newNonce")),
                  self.acme.post_body(self.acme.url("newOrder"), b"{}")):
            self.assertEqual(r.header("link"), want)

    def test_acme_new_nonce_head_200_get_204_fresh_and_not_cached(self):
        seen = set()
        for method, status in (("HEAD", 200), ("GET", 204), ("HEAD", 200)):
            r = self.acme.http(method, self.adir["newNonce"])
            self.assertEqual(r.status, status, method)
            n = r.header("replay-nonce")
            self.assertRegex(n or "", ACME_NONCE_RE)
            self.assertNotIn(n, seen, "every nonce is fresh")
            seen.add(n)
            self.assertIn("no-store", r.header("cache-control") or "", "RFC 8555 §7.2: Cache-Control no-store")

    def test_acme_reused_or_unknown_nonce_is_badNonce_with_a_fresh_nonce(self):
        acct = self.account()
        n = self.acme.new_nonce()
        self.aexpect(self.acme.post(acct.url, acct.key, None, kid=acct.url, nonce=n), 200)
        r = self.acme.post(acct.url, acct.key, None, kid=acct.url, nonce=n)
        self.aexpect(r, 400, "badNonce")
        fresh = r.header("replay-nonce")
        r = self.acme.post(acct.url, acct.key, None, kid=acct.url, nonce=b64u(os.urandom(16)))
        self.aexpect(r, 400, "badNonce")
        # the nonce of a badNonce answer works (RFC 8555 §6.5: the client retries with it)
        self.aexpect(self.acme.post(acct.url, acct.key, None, kid=acct.url, nonce=fresh), 200)

    # ---- accounts ------------------------------------------------------------------------------
    def test_acme_account_with_binding_then_post_as_get_and_new_account_again(self):
        acct = self.account()
        self.assertEqual(self.aexpect(self.acme.get_as(acct, acct.url), 200)["status"], "valid")
        # newAccount for a key that has an account: 200 and the same Location, binding or not
        r = self.acme.new_account(acct.key)
        self.aexpect(r, 200)
        self.assertEqual(r.header("location"), acct.url)
        r = self.acme.new_account(acct.key, only_return_existing=True)
        self.aexpect(r, 200)
        self.assertEqual(r.header("location"), acct.url)

    def test_acme_only_return_existing_for_an_unknown_key_is_accountDoesNotExist(self):
        self.aexpect(self.acme.new_account(Key.generate(), only_return_existing=True), 400, "accountDoesNotExist")

    def test_acme_kid_of_no_account_is_accountDoesNotExist(self):
        key = Key.generate()
        r = self.acme.post(self.adir["newOrder"], key, {"identifiers": [{"type": "dns", "value": "x.example"}]},
                           kid=self.acme.base + "/acct/" + key.thumbprint())
        self.aexpect(r, 400, "accountDoesNotExist")

    def test_acme_new_account_without_binding_is_externalAccountRequired(self):
        self.aexpect(self.acme.new_account(Key.generate()), 400, "externalAccountRequired")

    def test_acme_binding_signed_for_another_url_is_malformed_and_not_counted(self):
        enrol, kid, hkey = self.binding()
        key = Key.generate()
        eab = eab_jws(hkey, kid, self.adir["newOrder"], key.jwk())
        self.aexpect(self.acme.new_account(key, eab=eab), 400, "malformed")
        self.assert_enrolment_unchanged(enrol, failures=0)
        # the binding still works
        self.aexpect(self.acme.new_account(key, eab=self.acme.binding_for(key, kid, hkey)), 201)

    def test_acme_binding_over_another_key_is_malformed(self):
        enrol, kid, hkey = self.binding()
        key = Key.generate()
        eab = self.acme.binding_for(key, kid, hkey, payload=Key.generate().jwk())
        self.aexpect(self.acme.new_account(key, eab=eab), 400, "malformed")
        self.assert_enrolment_unchanged(enrol, failures=0)

    def test_acme_binding_with_another_alg_is_badSignatureAlgorithm(self):
        enrol, kid, hkey = self.binding()
        key = Key.generate()
        eab = self.acme.binding_for(key, kid, hkey, alg="HS512")
        self.aexpect(self.acme.new_account(key, eab=eab), 400, "badSignatureAlgorithm")
        self.assert_enrolment_unchanged(enrol, failures=0)

    def test_acme_binding_with_a_wrong_mac_is_unauthorized_counted_and_locks_at_five(self):
        enrol, kid, hkey = self.binding()
        key = Key.generate()
        for i in range(1, 6):
            eab = self.acme.binding_for(key, kid, hkey, mac_key=os.urandom(32))
            self.aexpect(self.acme.new_account(key, eab=eab), 403, "unauthorized")
            now = self.enrolment(enrol["reference"])
            self.assertEqual(now["failures"], i, "a wrong binding counts as a failed try of the code")
        self.assertEqual(self.enrolment(enrol["reference"])["status"], "locked")
        # locked: the right binding is refused too, and no account was made
        self.aexpect(self.acme.new_account(key, eab=self.acme.binding_for(key, kid, hkey)), 403, "unauthorized")
        self.aexpect(self.acme.new_account(key, only_return_existing=True), 400, "accountDoesNotExist")

    def test_acme_binding_used_again_for_another_key_is_unauthorized(self):
        enrol, kid, hkey = self.binding()
        first = Key.generate()
        self.aexpect(self.acme.new_account(first, eab=self.acme.binding_for(first, kid, hkey)), 201)
        other = Key.generate()
        self.aexpect(self.acme.new_account(other, eab=self.acme.binding_for(other, kid, hkey)), 403, "unauthorized")
        self.aexpect(self.acme.new_account(other, only_return_existing=True), 400, "accountDoesNotExist")

    def test_acme_binding_key_id_with_dashes_is_the_same_reference(self):
        enrol, kid, hkey = self.binding()
        r = enrol["reference"]
        key = Key.generate()
        dashed = "%s-%s-%s" % (r[:4], r[4:8], r[8:])
        self.aexpect(self.acme.new_account(key, eab=self.acme.binding_for(key, dashed, hkey)), 201)

    def test_acme_binding_with_a_nonce_is_malformed(self):
        enrol, kid, hkey = self.binding()
        key = Key.generate()
        eab = self.acme.binding_for(key, kid, hkey, extra={"nonce": self.acme.new_nonce()})
        self.aexpect(self.acme.new_account(key, eab=eab), 400, "malformed")
        self.assert_enrolment_unchanged(enrol, failures=0)

    def test_acme_binding_of_an_enrolment_without_acme_is_unauthorized(self):
        enrol, code = self.new_enrolment()
        key = Key.generate()
        # whatever key the client holds: this code has no binding key
        eab = self.acme.binding_for(key, enrol["reference"], b64u(os.urandom(32)))
        self.aexpect(self.acme.new_account(key, eab=eab), 403, "unauthorized")
        self.activate(enrol, code)  # the activation code still works

    def test_acme_binding_of_an_unknown_reference_is_unauthorized(self):
        key = Key.generate()
        ref = "".join(str(b % 10) for b in os.urandom(12))
        eab = self.acme.binding_for(key, ref, b64u(os.urandom(32)))
        self.aexpect(self.acme.new_account(key, eab=eab), 403, "unauthorized")

    def test_acme_binding_spends_the_enrolment_code(self):
        acct = self.account()
        self.assertEqual(self.enrolment(acct.enrolment["reference"])["status"], "used")

    def test_acme_outer_jws_with_hs256_is_badSignatureAlgorithm(self):
        key = Key.generate()
        url = self.adir["newAccount"]
        body = hs256_jws(os.urandom(32), url, {"termsOfServiceAgreed": True}, self.acme.take_nonce(), key.jwk())
        self.aexpect(self.acme.post_body(url, body), 400, "badSignatureAlgorithm")

    def test_acme_outer_jws_with_alg_none_is_badSignatureAlgorithm(self):
        # RFC 8555 §6.2: "none" (with its empty signature, RFC 7515 §A.5) is badSignatureAlgorithm
        key = Key.generate()
        url = self.adir["newAccount"]
        body = none_jws(url, {"termsOfServiceAgreed": True}, self.acme.take_nonce(), key.jwk())
        self.aexpect(self.acme.post_body(url, body), 400, "badSignatureAlgorithm")

    def test_acme_jws_url_other_than_the_request_url_is_refused(self):
        acct = self.account()
        # RFC 8555 §6.4: "the server MUST reject the request as unauthorized"
        r = self.acme.post(acct.url, acct.key, None, kid=acct.url, sign_url=self.adir["newOrder"])
        self.aexpect(r, 403, "unauthorized")

    def test_acme_wrong_media_type_is_refused(self):
        acct = self.account()
        body = cfclient.jws(acct.key, acct.url, None, nonce=self.acme.take_nonce(), kid=acct.url)
        r = self.acme.post_body(acct.url, body, content_type="application/json")
        self.aexpect(r, 415, "malformed")

    def test_acme_contact_other_than_mailto_is_malformed(self):
        enrol, kid, hkey = self.binding()
        key = Key.generate()
        r = self.acme.new_account(key, eab=self.acme.binding_for(key, kid, hkey), contact=["tel:+15145550000"])
        self.aexpect(r, 400, "malformed")
        self.assert_enrolment_unchanged(enrol, failures=0)

    def test_acme_contact_is_kept_shown_and_replaced_by_an_account_update(self):
        enrol, kid, hkey = self.binding()
        key = Key.generate()
        first = ["mailto:ops@example.org", "mailto:night-shift@example.org"]
        r = self.acme.new_account(key, eab=self.acme.binding_for(key, kid, hkey), contact=first)
        body = self.aexpect(r, 201)
        self.assertEqual(body["contact"], first)
        url = r.header("location")
        acct = Account(key, url, [], enrol, body)
        self.assertEqual(self.aexpect(self.acme.get_as(acct, url), 200)["contact"], first)
        r = self.acme.post(url, key, {"contact": ["mailto:new@example.org"]}, kid=url)
        self.assertEqual(self.aexpect(r, 200)["contact"], ["mailto:new@example.org"])
        self.assertEqual(self.aexpect(self.acme.get_as(acct, url), 200)["contact"], ["mailto:new@example.org"])
        r = self.acme.post(url, key, {"contact": ["tel:+15145550000"]}, kid=url)
        self.aexpect(r, 400, "malformed")
        self.assertEqual(self.aexpect(self.acme.get_as(acct, url), 200)["contact"], ["mailto:new@example.org"],
                         "a refused update changes nothing")
        # a line break would split one stored contact into two: refused, nothing changes
        for bad in (["mailto:a@example.org\nmailto:b@example.org"], ["mailto:a@example.org"] * 5, "mailto:a@example.org"):
            self.aexpect(self.acme.post(url, key, {"contact": bad}, kid=url), 400, "malformed")
        self.assertEqual(self.aexpect(self.acme.get_as(acct, url), 200)["contact"], ["mailto:new@example.org"])
        r = self.acme.post(url, key, {"contact": []}, kid=url)
        self.assertEqual(self.aexpect(r, 200)["contact"], [])

    def test_acme_account_of_another_key_is_unauthorized(self):
        a, b = self.account(), self.account()
        self.aexpect(self.acme.post(b.url, a.key, None, kid=a.url, sign_url=b.url), 403, "unauthorized")

    def test_acme_deactivated_account_is_unauthorized_afterwards(self):
        acct = self.account()
        r = self.acme.post(acct.url, acct.key, {"status": "deactivated"}, kid=acct.url)
        self.assertEqual(self.aexpect(r, 200)["status"], "deactivated")
        self.aexpect(self.acme.new_order(acct, acct.names), 403, "unauthorized")
        self.aexpect(self.acme.get_as(acct, acct.url), 403, "unauthorized")

    def test_acme_key_change_moves_the_account_to_the_new_key(self):
        acct = self.account()
        new = Key.generate()
        self.aexpect(self.acme.key_change(acct, new), 200)
        moved = Account(new, acct.url, acct.names, acct.enrolment, None)
        self.assertEqual(self.aexpect(self.acme.get_as(moved, acct.url), 200)["status"], "valid")
        r = self.acme.new_account(new, only_return_existing=True)
        self.aexpect(r, 200)
        self.assertEqual(r.header("location"), acct.url, "the account keeps its URL")
        r = self.acme.get_as(acct, acct.url)
        self.assertGreaterEqual(r.status, 400, "the old key no longer signs for the account: " + self.describe(r))
        self.aexpect(r, r.status)
        self.aexpect(self.acme.new_account(acct.key, only_return_existing=True), 400, "accountDoesNotExist")
        # and the moved account orders and finalizes
        self.issued(acct=moved)

    def test_acme_key_change_to_a_key_with_an_account_is_409_with_its_location(self):
        a, b = self.account(), self.account()
        r = self.acme.key_change(a, b.key)
        self.aexpect(r, 409)
        self.assertEqual(r.header("location"), b.url)
        self.aexpect(self.acme.get_as(a, a.url), 200)

    def test_acme_key_change_with_mismatched_inner_members_is_malformed(self):
        acct = self.account()
        new = Key.generate()
        self.aexpect(self.acme.key_change(acct, new, inner_url=self.adir["newOrder"]), 400, "malformed")
        self.aexpect(self.acme.key_change(acct, new, old_jwk=Key.generate().jwk()), 400, "malformed")
        self.aexpect(self.acme.get_as(acct, acct.url), 200)

    # ---- orders, authorizations, finalize -----------------------------------------------------
    def test_acme_order_ready_at_once_authz_and_challenge_valid_finalize_issues_the_chain(self):
        acct = self.account(names=None)
        o = self.order(acct)
        self.assertEqual(o["status"], "ready")
        self.assertNotIn("certificate", o, "no certificate before finalize")
        self.assertEqual(o["identifiers"], [{"type": "dns", "value": n} for n in acct.names])
        self.assertEqual(len(o["authorizations"]), len(acct.names))
        for url in o["authorizations"]:
            a = self.aexpect(self.acme.get_as(acct, url), 200)
            self.assertEqual(a["status"], "valid")
            self.assertIn(a["identifier"]["value"], acct.names)
            self.assertTrue(a["challenges"])
            for c in a["challenges"]:
                self.assertEqual(c["status"], "valid")
                self.assertEqual(self.aexpect(self.acme.get_as(acct, c["url"]), 200)["status"], "valid")
        leaf = Key.generate()
        r = self.acme.finalize(acct, o["finalize"], make_csr(leaf, None, acct.names))  # empty subject
        done = self.aexpect(r, 200)
        self.assertEqual(done["status"], "valid")
        self.assertEqual(self.aexpect(self.acme.get_as(acct, o["url"]), 200)["status"], "valid")
        r = self.acme.get_as(acct, done["certificate"])
        self.aexpect(r, 200, content_type=None)
        self.assertEqual(r.content_type, "application/pem-certificate-chain")
        certs = pem_certs(r.body)
        self.assertEqual(len(certs), 3, "leaf, issuing CA, root")
        with open(CONFIG["ca"], "rb") as f:
            self.assertEqual(der(certs[2]), der(x509.load_pem_x509_certificate(f.read())))
        leaf_cert = certs[0]
        self.assertEqual(leaf_cert.public_key().public_numbers(), leaf.priv.public_key().public_numbers())
        san = leaf_cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        self.assertEqual(sorted(san.get_values_for_type(x509.DNSName)), sorted(acct.names))
        d = self.tmpdir()
        chain = self.write(d, "chain.pem", r.body)
        rc, out = self.run_openssl("verify", "-CAfile", CONFIG["ca"], "-untrusted", chain, chain)
        self.assertEqual(rc, 0, out)
        # a credential of the native protocol
        cred = self.credential_of(self.serial(leaf_cert))
        self.assertEqual(cred["status"], "active")
        self.assertEqual(cred["subject"], acct.enrolment["subject"])

    def test_acme_commonname_of_the_certificate_is_one_of_the_order_names(self):
        # ACME clients renew "the names of the certificate": certbot and lego read its commonName
        # with its dNSNames, and ask again for all of them. A commonName that is not one of the
        # order's names makes every renewal a rejectedIdentifier (tests/integration/test_acme_clients).
        _, _, _, cert, _ = self.issued()
        cns = [a.value for a in cert.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)]
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        for cn in cns:
            self.assertIn(cn, san.get_values_for_type(x509.DNSName), "the commonName is a dNSName of the order")

    def test_acme_order_for_a_name_outside_the_enrolment_is_rejectedIdentifier(self):
        acct = self.account()
        doc = self.aexpect(self.acme.new_order(acct, ["other-" + cfclient.random_suffix() + ".example"]), 400,
                           "rejectedIdentifier")
        self.assertIn(".example", doc["detail"], "the detail names the identifier")
        self.aexpect(self.acme.new_order(acct, acct.names + ["x.other.example"]), 400, "rejectedIdentifier")
        self.issued(acct=acct)  # nothing changed: the right order still works

    def test_acme_order_with_101_identifiers_is_malformed(self):
        acct = self.account()
        names = ["n%d.example" % i for i in range(101)]
        self.aexpect(self.acme.new_order(acct, names), 400, "malformed")

    def test_acme_order_with_an_ip_identifier_is_unsupportedIdentifier(self):
        acct = self.account()
        r = self.acme.post(self.adir["newOrder"], acct.key, {"identifiers": [{"type": "ip", "value": "127.0.0.1"}]},
                           kid=acct.url)
        self.aexpect(r, 400, "unsupportedIdentifier")

    def test_acme_order_with_no_identifiers_or_notafter_is_malformed(self):
        acct = self.account()
        self.aexpect(self.acme.new_order(acct, []), 400, "malformed")
        self.aexpect(self.acme.new_order(acct, acct.names, extra={"notAfter": "2030-01-01T00:00:00Z"}), 400,
                     "malformed")

    def test_acme_names_are_compared_without_case(self):
        acct = self.account()
        self.assertEqual(self.aexpect(self.acme.new_order(acct, [n.upper() for n in acct.names]), 201)["status"],
                         "ready")

    def test_acme_finalize_with_a_csr_of_other_names_is_badCSR_and_the_order_stays_ready(self):
        names = ["a-%s.example" % cfclient.random_suffix(), "b-%s.example" % cfclient.random_suffix()]
        acct = self.account(names=names)
        o = self.order(acct)
        leaf = Key.generate()
        for cn, dns in ((None, names[:1]),                       # a name missing
                        (None, names + ["c.example"]),            # a name more
                        ("c.example", names),                     # the CN is another name
                        (None, ())):                              # no name at all
            r = self.acme.finalize(acct, o["finalize"], make_csr(leaf, cn, dns))
            self.aexpect(r, 400, "badCSR")
        r = self.acme.finalize(acct, o["finalize"], make_csr(leaf, None, names, bad_signature=True))
        self.aexpect(r, 400, "badCSR")
        self.assertEqual(self.aexpect(self.acme.get_as(acct, o["url"]), 200)["status"], "ready")
        # the CN may be one of the names
        r = self.acme.finalize(acct, o["finalize"], make_csr(leaf, names[1], names))
        self.assertEqual(self.aexpect(r, 200)["status"], "valid")

    def test_acme_account_orders_list_holds_its_live_orders_and_no_other_accounts(self):
        acct = self.account()
        self.assertTrue(acct.body.get("orders", "").startswith(self.acme.base + "/orders/"),
                        "the account object's orders URL (RFC 8555 §7.1.2)")
        first = self.order(acct)
        second = self.order(acct)
        doc = self.aexpect(self.acme.get_as(acct, acct.body["orders"]), 200)
        self.assertEqual(doc["orders"], [first["url"], second["url"]], "oldest first")
        other = self.account()
        self.assertEqual(self.aexpect(self.acme.get_as(other, other.body["orders"]), 200)["orders"], [])
        self.aexpect(self.acme.get_as(other, acct.body["orders"]), 404, "malformed")

    def proof_challenges(self, validation):
        """An account of a code asking validation, its pending order, and the challenges of its
        first authorization (acme.md §4)."""
        acct = self.account(validation=validation)
        o = self.order(acct)
        self.assertEqual(o["status"], "pending", "a code asking for proof makes pending orders")
        a = self.aexpect(self.acme.get_as(acct, o["authorizations"][0]), 200)
        self.assertEqual(a["status"], "pending")
        return acct, o, a["challenges"]

    def assert_pending_challenge(self, acct, c, type_):
        self.assertEqual(c["type"], type_)
        self.assertEqual(c["status"], "pending")
        self.assertRegex(c.get("token", ""), r"^[A-Za-z0-9_-]{43}$", "token: 256 bits base64url")
        again = self.aexpect(self.acme.get_as(acct, c["url"]), 200)
        self.assertEqual(again, c, "POST-as-GET reads the challenge and validates nothing")

    def test_acme_code_asking_for_dns01_offers_one_pending_dns01_challenge_and_finalize_waits(self):
        acct, o, chs = self.proof_challenges("dns-01")
        self.assertEqual([c["type"] for c in chs], ["dns-01"])
        self.assert_pending_challenge(acct, chs[0], "dns-01")
        r = self.acme.finalize(acct, o["finalize"], make_csr(Key.generate(), None, acct.names))
        self.aexpect(r, 403, "orderNotReady")

    def test_acme_code_taking_either_proof_offers_http01_and_dns01_with_their_own_urls_and_tokens(self):
        acct, _, chs = self.proof_challenges("http-01,dns-01")
        self.assertEqual(sorted(c["type"] for c in chs), ["dns-01", "http-01"])
        for c in chs:
            self.assert_pending_challenge(acct, c, c["type"])
        self.assertNotEqual(chs[0]["url"], chs[1]["url"])
        self.assertNotEqual(chs[0]["token"], chs[1]["token"], "one token per challenge")

    def test_acme_code_asking_for_http01_has_no_dns01_challenge(self):
        acct, _, chs = self.proof_challenges("http-01")
        self.assertEqual([c["type"] for c in chs], ["http-01"])
        self.assert_pending_challenge(acct, chs[0], "http-01")
        # the dns-01 challenge of the same authorization does not exist for this code
        r = self.acme.get_as(acct, chs[0]["url"] + "-dns")
        self.aexpect(r, 404, "malformed")

    def test_acme_validation_other_than_http01_or_dns01_is_refused_and_makes_no_code(self):
        before = len(self.admin_all("enrolment-list", "enrolments"))
        for bad in ("tls-alpn-01", "http-01,tls-alpn-01", "", "dns-01,dns-01"):
            payload = {"subject": "conf-" + cfclient.random_suffix(), "profile": self.profile(),
                       "acme": True, "acmeValidation": bad}
            self.expect(self.client.admin("enrolment-create", payload), 400, "malformed")
        self.assertEqual(len(self.admin_all("enrolment-list", "enrolments")), before, "nothing made")

    def test_acme_finalize_twice_is_orderNotReady(self):
        acct, done, leaf, cert, _ = self.issued()
        r = self.acme.finalize(acct, done["finalize"], make_csr(leaf, None, acct.names))
        self.aexpect(r, 403, "orderNotReady")
        self.assertEqual(self.credential_of(self.serial(cert))["certificates"], [self.serial(cert)],
                         "nothing issued by the second finalize")

    def test_acme_order_and_certificate_of_another_account_are_not_found(self):
        acct, done, _, cert, _ = self.issued()
        other = self.account()
        self.aexpect(self.acme.get_as(other, done["url"]), 404, "malformed")
        self.aexpect(self.acme.get_as(other, done["certificate"]), 404, "malformed")
        self.aexpect(self.acme.get_as(other, done["authorizations"][0]), 404, "malformed")
        self.aexpect(self.acme.finalize(other, done["finalize"], make_csr(Key.generate(), None, acct.names)),
                     404, "malformed")

    def test_acme_unknown_certificate_is_not_found(self):
        acct = self.account()
        self.aexpect(self.acme.get_as(acct, self.acme.base + "/cert/" + os.urandom(16).hex()), 404, "malformed")

    def test_acme_second_order_for_the_same_names_renews_the_same_credential(self):
        acct, _, _, first, _ = self.issued()
        cred = self.credential_of(self.serial(first))
        _, _, _, second, _ = self.issued(acct=acct)
        self.assertNotEqual(self.serial(first), self.serial(second))
        again = self.credential_of(self.serial(second))
        self.assertEqual(again["id"], cred["id"])
        self.assertEqual(sorted(again["certificates"]), sorted([self.serial(first), self.serial(second)]))
        self.assertNotIn(self.serial(first), self.crl_serials(), "without replaces the old one stays valid")

    def test_acme_order_with_replaces_revokes_the_replaced_certificate_as_superseded(self):
        acct, _, _, first, _ = self.issued()
        o = self.aexpect(self.acme.new_order(acct, acct.names, extra={"replaces": cfclient.certid(first)}), 201)
        r = self.acme.finalize(acct, o["finalize"], make_csr(Key.generate(), None, acct.names))
        self.assertEqual(self.aexpect(r, 200)["status"], "valid")
        _, crl = self.fetch_crl()
        entry = crl.get_revoked_certificate_by_serial_number(first.serial_number)
        self.assertIsNotNone(entry, "the replaced certificate is in the CRL")
        reason = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
        self.assertEqual(reason, x509.ReasonFlags.superseded)

    def test_acme_replaces_of_no_current_certificate_is_malformed(self):
        acct, _, _, first, _ = self.issued()
        bogus = cfclient.certid(first).split(".")[0] + "." + b64u(os.urandom(8))
        self.aexpect(self.acme.new_order(acct, acct.names, extra={"replaces": bogus}), 400, "malformed")

    def test_acme_renewal_info_gives_a_window_and_retry_after(self):
        _, _, _, cert, _ = self.issued()
        r = self.acme.renewal_info(cert)
        doc = self.aexpect(r, 200)
        w = doc["suggestedWindow"]
        self.assertLess(w["start"], w["end"])
        self.assertRegex(r.header("retry-after") or "", r"^[0-9]+$", "Retry-After in seconds")
        # the credential's window: the same answer as the native renewal-info (acme.md §5)
        native = self.client.get(self.dir["renewalInfo"].rstrip("/") + "/" + cfclient.certid(cert))
        self.expect(native, 200)
        self.assertEqual(native.json()["suggestedWindow"], w)

    # ---- revocation ------------------------------------------------------------------------------
    def test_acme_revoke_by_the_account_then_crl_then_alreadyRevoked_then_orders_unauthorized(self):
        acct, _, _, cert, _ = self.issued()
        self.aexpect(self.acme.revoke(der(cert), reason=1, acct=acct), 200, content_type=None)
        self.assertIn(self.serial(cert), self.crl_serials())
        self.assertEqual(self.credential_of(self.serial(cert))["status"], "revoked")
        self.aexpect(self.acme.revoke(der(cert), reason=1, acct=acct), 400, "alreadyRevoked")
        self.aexpect(self.acme.new_order(acct, acct.names), 403, "unauthorized")

    def test_acme_revoke_by_the_certificate_key(self):
        _, _, leaf, cert, _ = self.issued()
        self.aexpect(self.acme.revoke(der(cert), cert_key=leaf), 200, content_type=None)
        self.assertIn(self.serial(cert), self.crl_serials())
        self.aexpect(self.acme.revoke(der(cert), cert_key=leaf), 400, "alreadyRevoked")

    def test_acme_revoke_by_another_account_or_key_is_unauthorized(self):
        _, _, _, cert, _ = self.issued()
        other = self.account()
        self.aexpect(self.acme.revoke(der(cert), acct=other), 403, "unauthorized")
        self.aexpect(self.acme.revoke(der(cert), cert_key=Key.generate()), 403, "unauthorized")
        self.assertNotIn(self.serial(cert), self.crl_serials())

    def test_acme_revoke_with_certificate_hold_is_badRevocationReason(self):
        acct, _, _, cert, _ = self.issued()
        for reason in (6, 7, 11):
            self.aexpect(self.acme.revoke(der(cert), reason=reason, acct=acct), 400, "badRevocationReason")
        self.assertNotIn(self.serial(cert), self.crl_serials())

    def test_acme_credential_suspended_by_the_operator_refuses_orders_and_is_on_the_crl(self):
        acct, _, _, cert, _ = self.issued()
        self.admin("suspend", {"serial": self.serial(cert)})
        self.assertIn(self.serial(cert), self.crl_serials())
        self.aexpect(self.acme.new_order(acct, acct.names), 403, "unauthorized")
        self.admin("reinstate", {"serial": self.serial(cert)})
        self.aexpect(self.acme.new_order(acct, acct.names), 201)

    def test_acme_credential_revoked_by_the_operator_is_on_the_crl_and_refuses_orders(self):
        acct, _, _, cert, _ = self.issued()
        self.admin("revoke", {"serial": self.serial(cert), "reason": 1})
        self.assertIn(self.serial(cert), self.crl_serials())
        self.aexpect(self.acme.new_order(acct, acct.names), 403, "unauthorized")
        self.aexpect(self.acme.revoke(der(cert), acct=acct), 400, "alreadyRevoked")
