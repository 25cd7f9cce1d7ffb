#!/usr/bin/python3
"""Every section reference (§N, §N.M, §N–§M) of spec/*.md names a section of spec/protocol.md.

A reference right after an RFC number (RFC 8555 §7.3.5, RFC 9110 §10.2.3) is the RFC's and is
skipped. spec/errors.md and spec/cli.md refer to protocol.md's sections the same way.
Run: /usr/bin/python3 tests/spec/check_references.py [-v]
"""
import glob
import os
import re
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
REF_RE = re.compile(r"§\s?(\d+(?:\.\d+)*)")


def headings():
    with open(os.path.join(ROOT, "spec", "protocol.md"), encoding="utf-8") as f:
        return set(re.findall(r"^#{2,4} (\d+(?:\.\d+)*)\.? ", f.read(), re.M))


def references(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    for m in REF_RE.finditer(text):
        before = text[max(0, m.start() - 24):m.start()]
        if re.search(r"RFC\s?\d{3,5}[^§\n]{0,8}$", before) or re.search(r"RFC\s?\d{3,5}\s*§[\d.]+[,\s]*(and|or)?\s*$", before):
            continue
        yield text.count("\n", 0, m.start()) + 1, m.group(1)


class ReferencesPointAtSections(unittest.TestCase):
    def test_every_section_reference_names_a_section_of_protocol_md(self):
        known = headings()
        self.assertGreater(len(known), 50)
        bad = []
        for path in sorted(glob.glob(os.path.join(ROOT, "spec", "*.md"))):
            for line, ref in references(path):
                if ref not in known:
                    bad.append("%s:%d: §%s" % (os.path.relpath(path, ROOT), line, ref))
        self.assertEqual(bad, [], "references to no section of spec/protocol.md")


if __name__ == "__main__":
    unittest.main()
