"""Operators: the named admin accounts (spec/protocol.md §7, §12 "Operators", §14, §21).

Black box over HTTP, against a server other runs share: every operator this file adds has a
fresh name, and the ones it adds are removed again by the run's admin."""
import cfclient
from cfbase import CONFIG, ConformanceTest, Key
from test_applications import good_application


class TestOperators(ConformanceTest):
    def add(self, name=None, key=None, status=201, problem=None):
        key = key or Key.generate()
        name = name or "Operator " + cfclient.random_suffix()
        doc = self.admin("operator-add", {"name": name, "jwk": key.jwk()}, status, problem)
        return name, key, doc

    def as_operator(self, key):
        return cfclient.Client(CONFIG["server"], CONFIG["ca"], key)

    def remove(self, name):
        return self.admin("operator-remove", {"name": name})

    def me(self):
        return next(o for o in self.admin_all("operator-list", "operators")
                    if o["account"] == self.client.admin_key.thumbprint())

    def test_added_operator_is_listed_active_with_her_account_id(self):
        name, key, doc = self.add(key=Key.generate("p384"))
        self.assertEqual((doc["name"], doc["status"], doc["account"]),
                         (name, "active", key.thumbprint()))
        listed = self.admin_all("operator-list", "operators")
        self.assertIn(doc, listed)
        names = [o["name"].encode() for o in listed]
        self.assertEqual(names, sorted(names), "in name order")
        self.assertEqual(self.me()["status"], "active", "the run's admin is an operator")
        self.remove(name)

    def test_operator_list_pages_give_every_operator_once(self):
        added = [self.add()[0] for _ in range(3)]
        whole = self.admin_all("operator-list", "operators")
        paged, after = [], None
        for _ in range(1000):
            body = {"limit": 2}
            if after:
                body["after"] = after
            doc = self.admin("operator-list", body)
            self.assertLessEqual(len(doc["operators"]), 2)
            paged += doc["operators"]
            after = doc.get("next")
            if not after:
                break
        self.assertEqual(paged, whole)
        self.assertTrue(set(added) <= {o["name"] for o in paged})
        for name in added:
            self.remove(name)

    def test_decided_by_is_the_deciding_operators_name(self):
        name, key, _ = self.add()
        app = self.expect(self.client.post(self.dir["apply"], Key.generate(),
                                           good_application(self.profile()), use_jwk=True), 201,
                          "apply-response")
        her = self.as_operator(key)
        r = her.admin("application-approve", {"id": app["id"]})
        shown = self.expect(r, 200, "admin-application-approve-response")
        self.assertEqual(shown["decidedBy"], name)
        events = self.admin("audit-list", {"object": "application:" + app["id"]})["events"]
        approve = [e for e in events if e["action"] == "application.approve"]
        self.assertEqual([(e["actor"], e["actorName"]) for e in approve],
                         [("admin:" + key.thumbprint(), name)])
        self.remove(name)

    def test_add_and_remove_are_audited_with_the_name(self):
        name, key, doc = self.add()
        removed = self.remove(name)
        self.assertEqual(removed["status"], "deactivated")
        events = self.admin("audit-list", {"object": "account:" + key.thumbprint()})["events"]
        self.assertEqual([(e["action"], e["detail"], e["actorName"]) for e in events],
                         [("operator.add", name, self.me()["name"]),
                          ("operator.remove", name, self.me()["name"])])

    def test_removed_operator_is_refused(self):
        name, key, _ = self.add()
        self.remove(name)
        r = self.as_operator(key).admin("operator-list", {})
        self.expect(r, 403, problem="unauthorized")
        self.admin("operator-remove", {"name": name}, 409, "conflict")

    def test_removing_oneself_or_an_unknown_name_is_refused(self):
        self.admin("operator-remove", {"name": self.me()["name"]}, 409, "conflict")
        self.admin("operator-remove", {"name": "nobody " + cfclient.random_suffix()}, 404,
                   "notFound")
        # the last active operator: a second one may not remove the first once alone either
        name, key, _ = self.add()
        r = self.as_operator(key).admin("operator-remove", {"name": name})
        self.expect(r, 409, problem="conflict")
        self.remove(name)

    def test_taken_name_or_key_and_bad_input_change_nothing(self):
        name, key, _ = self.add()
        self.add(name=name, status=409, problem="conflict")
        self.add(key=key, status=409, problem="conflict")
        self.admin("operator-add", {"name": self.me()["name"], "jwk": Key.generate().jwk()}, 409,
                   "conflict")
        for bad in ({"name": "", "jwk": Key.generate().jwk()},
                    {"name": "x" * 65, "jwk": Key.generate().jwk()},
                    {"name": "tab\there", "jwk": Key.generate().jwk()},
                    {"name": "no key"},
                    {"name": "private", "jwk": {"kty": "EC", "crv": "P-256", "x": "AA",
                                                "y": "AA", "d": "AA"}},
                    {"jwk": Key.generate().jwk()}):
            with self.subTest(bad=bad):
                self.admin("operator-add", bad, 400, "malformed")
        before = self.admin_all("operator-list", "operators")
        self.assertEqual(len([o for o in before if o["name"] == name]), 1)
        self.admin("operator-list", {"after": "not-an-account"}, 400, "malformed")
        self.remove(name)

    def test_an_operator_cannot_deactivate_her_own_account_around_operator_remove(self):
        name, key, _ = self.add()
        op = self.as_operator(key)
        kid = op.admin_kid
        r = op.post(kid, key, {"status": "deactivated"}, kid=kid)
        self.expect(r, 409, problem="conflict")
        # nothing changed: she still signs admin requests, and operator-remove still works
        self.expect(op.admin("operator-list", {}), 200)
        self.remove(name)
