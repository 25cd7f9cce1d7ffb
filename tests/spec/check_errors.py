#!/usr/bin/python3
"""spec/errors.md must list exactly the server-side problem types of common/cf_err.h.

Parses the X-macro list CF_ERRORS of cf_err.h and the table of spec/errors.md and fails if the
names or HTTP statuses disagree. Client-only codes (HTTP status 0) must not appear in the spec.
Also checks that spec/schemas/problem.schema.json enumerates the same names.
Run: /usr/bin/python3 tests/spec/check_errors.py [-v]
"""
import json
import os
import re
import sys
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
X_RE = re.compile(r'X\(\s*(CF_\w+)\s*,\s*(-?\d+)\s*,\s*"([A-Za-z]+)"\s*,\s*(\d+)\s*,\s*"([^"]*)"\s*\)')
ROW_RE = re.compile(r"^\|\s*`([A-Za-z]+)`\s*\|\s*(\d{3})\s*\|(.*)\|\s*([^|]*?)\s*\|\s*$")


def parse_header(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"#define CF_ERRORS\(X\)(.*?)\n\s*\n", text, re.S)
    if not m:
        raise AssertionError("CF_ERRORS(X) list not found in " + path)
    entries = X_RE.findall(m.group(1))
    # every X( in the block must have parsed: a silently skipped entry would hide a mismatch
    if len(entries) != m.group(1).count("X("):
        raise AssertionError("unparsable X(...) entry in cf_err.h")
    return [(sym, int(val), name, int(status), title) for sym, val, name, status, title in entries]


def parse_spec(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    for line in lines:
        m = ROW_RE.match(line.strip())
        if m:
            rows.append((m.group(1), int(m.group(2)), m.group(4).strip()))
    return rows


class ErrorTableAgrees(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.codes = parse_header(os.path.join(ROOT, "common", "cf_err.h"))
        cls.rows = parse_spec(os.path.join(ROOT, "spec", "errors.md"))

    def server_names(self):
        names = {}
        for sym, _val, name, status, _title in self.codes:
            if status == 0:
                continue
            names.setdefault(name, set()).add(status)
        return names

    def test_header_list_parses_and_values_are_unique(self):
        self.assertGreater(len(self.codes), 20)
        vals = [c[1] for c in self.codes]
        self.assertEqual(len(vals), len(set(vals)), "duplicate code values in cf_err.h")
        self.assertTrue(all(v < 0 for v in vals))

    def test_each_problem_name_has_one_status_in_header(self):
        for name, statuses in self.server_names().items():
            self.assertEqual(len(statuses), 1, "%s has several HTTP statuses in cf_err.h: %s" % (name, statuses))

    def test_client_only_names_never_share_a_server_name(self):
        client = {c[2] for c in self.codes if c[3] == 0}
        self.assertFalse(client & set(self.server_names()), "a name is both client-only and server-side")

    def test_spec_rows_are_unique(self):
        names = [r[0] for r in self.rows]
        self.assertEqual(len(names), len(set(names)), "duplicate rows in spec/errors.md")

    def test_spec_lists_exactly_the_server_side_names_with_their_statuses(self):
        header = {n: next(iter(s)) for n, s in self.server_names().items()}
        spec = {r[0]: r[1] for r in self.rows}
        self.assertEqual(sorted(set(header) - set(spec)), [], "in cf_err.h but not in spec/errors.md")
        self.assertEqual(sorted(set(spec) - set(header)), [], "in spec/errors.md but not in cf_err.h (or client-only)")
        for name in header:
            self.assertEqual(spec[name], header[name], "HTTP status of %s" % name)

    def test_retry_after_column_is_yes_or_no(self):
        for name, _status, retry in self.rows:
            self.assertRegex(retry, r"^(yes|no)\b", "Retry-After column of %s" % name)

    def test_problem_schema_enumerates_the_same_names(self):
        with open(os.path.join(ROOT, "spec", "schemas", "problem.schema.json"), encoding="utf-8") as f:
            schema = json.load(f)
        enum = {t.rsplit(":", 1)[1] for t in schema["properties"]["type"]["enum"]}
        self.assertEqual(enum, set(self.server_names()))


if __name__ == "__main__":
    unittest.main()
