"""Accounts, POST-as-GET reads, deactivation, key change (spec/protocol.md §6, §11)."""
import json

import cfclient
from cfbase import ConformanceTest, Key, make_csr
from cfclient import jws


class TestAccounts(ConformanceTest):
    def test_account_post_as_get_lists_its_credentials(self):
        a = self.activate()
        self.assertTrue(a.kid.startswith(self.client.origin + "/v1/account/"))
        acct = self.expect(self.client.post(a.kid, a.key, None, kid=a.kid), 200, "account")
        self.assertEqual(acct, {"status": "valid", "credentials": [a.credential["url"]]})

    def test_credential_post_as_get_returns_the_credential_object(self):
        a = self.activate()
        r = self.client.post(a.credential["url"], a.key, None, kid=a.kid)
        self.assertEqual(self.expect(r, 200, "credential"), a.credential)

    def test_another_accounts_credential_and_account_are_unauthorized(self):
        a, b = self.activate(), self.activate()
        self.expect(self.client.post(b.credential["url"], a.key, None, kid=a.kid), 403, problem="unauthorized")
        self.expect(self.client.post(b.kid, a.key, None, kid=a.kid), 403, problem="unauthorized")

    def test_unknown_credential_is_not_found(self):
        a = self.activate()
        url = a.credential["url"].rsplit("/", 1)[0] + "/" + "x" + cfclient.random_suffix()
        self.expect(self.client.post(url, a.key, None, kid=a.kid), 404, problem="notFound")

    def test_account_update_without_status_changes_nothing(self):
        a = self.activate()
        doc = self.expect(self.client.post(a.kid, a.key, {"unknownMember": True}, kid=a.kid), 200, "account")
        self.assertEqual(doc["status"], "valid")

    def test_payload_of_depth_16_is_accepted_and_unknown_members_ignored(self):
        a = self.activate()
        deep = {}
        for _ in range(14):  # payload object (1) + "x" member 15 levels = 16
            deep = {"d": deep}
        payload = {"x": deep}
        self.assertEqual(_depth(payload), 16)
        self.expect(self.client.post(a.kid, a.key, payload, kid=a.kid), 200, "account")

    def test_account_deactivation_stops_all_signing(self):
        a = self.activate()
        doc = self.expect(self.client.post(a.kid, a.key, {"status": "deactivated"}, kid=a.kid), 200, "account")
        self.assertEqual(doc["status"], "deactivated")
        self.expect(self.client.post(a.kid, a.key, None, kid=a.kid), 403, problem="unauthorized")
        self.expect(self.client.post(a.credential["url"], a.key, None, kid=a.kid), 403, problem="unauthorized")
        r = self.client.renew(a.key, a.kid, a.credential["id"], make_csr(Key.generate()))
        self.expect(r, 403, problem="unauthorized")

    def test_account_update_with_another_status_is_malformed(self):
        a = self.activate()
        self.expect(self.client.post(a.kid, a.key, {"status": "valid-ish"}, kid=a.kid), 400, problem="malformed")
        self.expect(self.client.post(a.kid, a.key, None, kid=a.kid), 200, "account")

    def _key_change(self, a, new, url=None, account=None, old_jwk=None, inner_url=None):
        url = url or self.dir["keyChange"]
        inner = jws(new, inner_url or url, {"account": account or a.kid, "oldKey": old_jwk or a.key.jwk()})
        self.validate("jws", inner, "inner JWS we built")
        return self.client.post(url, a.key, inner, kid=a.kid)

    def test_key_change_moves_the_account_to_the_new_key(self):
        a = self.activate()
        new = Key.generate()
        doc = self.expect(self._key_change(a, new), 200, "account")
        self.assertEqual(doc["status"], "valid")
        self.expect(self.client.post(a.kid, new, None, kid=a.kid), 200, "account")
        self.expect(self.client.post(a.kid, a.key, None, kid=a.kid), 400, problem="badSignature")

    def test_key_change_to_a_p384_key_signs_the_inner_jws_with_es384(self):
        # §6 and the key-change-protected-header schema: ES384 where the directory lists it
        if "ES384" not in self.dir["meta"]["algorithms"]:
            self.skipTest("the directory does not list ES384")
        a = self.activate()
        new = Key.generate("p384")
        inner = jws(new, self.dir["keyChange"], {"account": a.kid, "oldKey": a.key.jwk()})
        header = json.loads(cfclient.b64u_decode(inner["protected"]))
        self.assertEqual(header["alg"], "ES384")
        self.validate("key-change-protected-header", header, "inner protected header we built")
        self.expect(self.client.post(self.dir["keyChange"], a.key, inner, kid=a.kid), 200, "account")
        self.expect(self.client.post(a.kid, new, None, kid=a.kid), 200, "account")

    def test_key_change_to_a_key_of_another_account_is_a_conflict(self):
        a, b = self.activate(), self.activate()
        self.expect(self._key_change(a, b.key), 409, problem="conflict")
        self.expect(self.client.post(a.kid, a.key, None, kid=a.kid), 200, "account")

    def test_key_change_with_mismatched_inner_members_is_malformed_and_changes_nothing(self):
        a, b = self.activate(), self.activate()
        for name, kw in (("inner url", {"inner_url": self.dir["renew"]}),
                         ("account", {"account": b.kid}),
                         ("oldKey", {"old_jwk": Key.generate().jwk()})):
            with self.subTest(mismatch=name):
                self.expect(self._key_change(a, Key.generate(), **kw), 400, problem="malformed")
        self.expect(self.client.post(a.kid, a.key, None, kid=a.kid), 200, "account")

    def test_key_change_with_a_bad_inner_signature_is_refused(self):
        a = self.activate()
        new = Key.generate()
        inner = jws(new, self.dir["keyChange"], {"account": a.kid, "oldKey": a.key.jwk()})
        sig = bytearray(cfclient.b64u_decode(inner["signature"]))
        sig[10] ^= 1
        inner["signature"] = cfclient.b64u(bytes(sig))
        r = self.client.post(self.dir["keyChange"], a.key, inner, kid=a.kid)
        self.expect(r, 400, problem="badSignature")
        self.expect(self.client.post(a.kid, a.key, None, kid=a.kid), 200, "account")


def _depth(v):
    if isinstance(v, dict):
        return 1 + max((_depth(x) for x in v.values()), default=0)
    if isinstance(v, list):
        return 1 + max((_depth(x) for x in v), default=0)
    return 0
