"""Admin lists page by page (spec/protocol.md §12 "Lists"): limit, after, next, filters."""
import cfclient
from cfbase import ConformanceTest, Key, make_csr


class TestLists(ConformanceTest):
    def walk(self, op, member, payload, limit):
        """Every page of op with limit: (items, number of pages). Checks each page's shape."""
        items, after, pages = [], None, 0
        while True:
            body = dict(payload, limit=limit)
            if after:
                body["after"] = after
            doc = self.admin(op, body)
            page = doc[member]
            self.assertLessEqual(len(page), limit)
            items += page
            pages += 1
            after = doc.get("next")
            if after is None:
                return items, pages
            self.assertIsInstance(after, str)
            self.assertLess(pages, 10000, "a walk must end")

    def test_enrolment_list_pages_give_every_enrolment_once_in_order(self):
        subject = "page-" + cfclient.random_suffix()
        mine = set()
        for _ in range(7):
            r = self.client.admin("enrolment-create", {"subject": subject, "profile": self.profile()})
            self.expect(r, 201)
            mine.add(r.json()["reference"])
        whole, pages = self.walk("enrolment-list", "enrolments", {}, 1000)
        paged, many = self.walk("enrolment-list", "enrolments", {}, 2)
        refs = [e["reference"] for e in paged]
        self.assertEqual(refs, [e["reference"] for e in whole], "pages of 2 = one page of 1000")
        self.assertEqual(len(refs), len(set(refs)), "no record twice")
        self.assertEqual(refs, sorted(refs), "in reference order")
        self.assertGreaterEqual(many, 4)
        self.assertTrue(mine <= set(refs))
        only, _ = self.walk("enrolment-list", "enrolments", {"subject": subject}, 3)
        self.assertEqual({e["reference"] for e in only}, mine)
        live, _ = self.walk("enrolment-list", "enrolments", {"subject": subject, "status": "used"}, 3)
        self.assertEqual(live, [])

    def test_credential_list_filters_by_subject_status_profile_and_expiry(self):
        a = self.activate()
        subject = a.credential["subject"]
        items, _ = self.walk("credential-list", "credentials", {"subject": subject}, 5)
        self.assertEqual([c["id"] for c in items], [a.credential["id"]])
        for extra, expect in (({"status": "active"}, 1), ({"status": "revoked"}, 0),
                              ({"profile": a.credential["profile"]}, 1),
                              ({"profile": "no-such-profile"}, 0),
                              ({"expiringBefore": "2999-01-01T00:00:00Z"}, 1),
                              ({"expiringBefore": "2000-01-01T00:00:00Z"}, 0)):
            with self.subTest(extra):
                items, _ = self.walk("credential-list", "credentials", dict(extra, subject=subject), 5)
                self.assertEqual(len(items), expect)

    def test_bad_limit_or_after_or_filter_is_malformed(self):
        for op in ("enrolment-list", "credential-list", "application-list", "outbox-list",
                   "coupon-list"):
            for bad in ({"limit": 0}, {"limit": 1001}, {"limit": "10"}, {"limit": 1.5},
                        {"after": ""}, {"after": "a b"}, {"after": 7}, {"after": "x" * 65}):
                with self.subTest(op=op, payload=bad):
                    self.admin(op, bad, 400, "malformed")
        self.admin("credential-list", {"status": "sleeping"}, 400, "malformed")
        self.admin("credential-list", {"expiringBefore": "tomorrow"}, 400, "malformed")
        self.admin("enrolment-list", {"status": "sleeping"}, 400, "malformed")
        self.admin("outbox-list", {"after": "abc"}, 400, "malformed")

    def test_a_cursor_past_the_last_record_gives_an_empty_last_page(self):
        doc = self.admin("credential-list", {"after": "zzzzzzzzzzzzzzzzzzzzzz", "limit": 5})
        self.assertEqual(doc["credentials"], [])
        self.assertNotIn("next", doc)
