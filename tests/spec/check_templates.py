#!/usr/bin/python3
"""spec/protocol.md §18 documents every message template of server/notify/template.c.

Parses the default templates of template.c (name, channel, variables, default text) and the
three tables of §18 (templates, values, layout) and fails when a template, its channel or its
variables differ, when a variable has no documented value, or when a line the layout table
promises is not a whole line of the default text.
Run: /usr/bin/python3 tests/spec/check_templates.py [-v]
"""
import os
import re
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEF_RE = re.compile(r'\{"([a-z-]+)",\s*NOTIFY_(EMAIL|SMS),\s*\{([^}]*)\},\s*((?:"(?:[^"\\]|\\.)*"\s*)+)\}', re.S)


def c_string(parts):
    """The value of adjacent C string literals (only the escapes template.c uses)."""
    out = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', parts))
    return out.replace('\\n', "\n").replace('\\"', '"').replace("\\t", "\t").replace("\\\\", "\\")


def parse_code():
    with open(os.path.join(ROOT, "server", "notify", "template.c"), encoding="utf-8") as f:
        text = f.read()
    block = text[text.index("static const struct tmpl_def defs[]"):]
    block = block[:block.index("\n};") + 3]
    found = {}
    for name, channel, vars_, body in DEF_RE.findall(block):
        names = re.findall(r'"([A-Za-z0-9_-]+)"', vars_)
        found[name] = ("SMS" if channel == "SMS" else "e-mail", names, c_string(body))
    if len(found) != block.count("NOTIFY_EMAIL") + block.count("NOTIFY_SMS"):
        raise AssertionError("an entry of defs[] in template.c did not parse")
    return found


def section_18():
    with open(os.path.join(ROOT, "spec", "protocol.md"), encoding="utf-8") as f:
        text = f.read()
    start = text.index("## 18. Notifications")
    return text[start:text.index("\n## 19.", start)]


def table(section, header):
    """Rows (lists of cells) of the markdown table whose header row starts with header."""
    lines = section.splitlines()
    i = next(n for n, line in enumerate(lines) if line.startswith(header))
    rows = []
    for line in lines[i + 2:]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip().strip("|").split(" | ")])
    return rows


def ticked(cell):
    return re.findall(r"`([^`]+)`", cell)


class TemplatesDocumented(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.code = parse_code()
        sec = section_18()
        cls.templates = {ticked(r[0])[0]: r for r in table(sec, "| template | channel | sent when |")}
        cls.values = {ticked(r[0])[0]: r[1] for r in table(sec, "| variable | value |")}
        cls.layout = {ticked(r[0])[0]: r[1] for r in table(sec, "| template | lines of the default text")}

    def test_template_c_parses(self):
        self.assertGreaterEqual(len(self.code), 11)

    def test_every_template_of_the_server_is_documented_and_no_other(self):
        self.assertEqual(sorted(self.templates), sorted(self.code))
        self.assertEqual(sorted(self.layout), sorted(self.code), "the layout table")

    def test_channels_and_variables_agree(self):
        for name, (channel, variables, _) in self.code.items():
            with self.subTest(template=name):
                row = self.templates[name]
                self.assertEqual(row[1], channel)
                self.assertEqual(ticked(row[3]), variables, "variables, in the order of template.c")

    def test_every_variable_has_a_documented_value(self):
        used = {v for _, variables, _ in self.code.values() for v in variables}
        self.assertEqual(sorted(used - set(self.values)), [], "variables without a row in the values table")
        self.assertEqual(sorted(set(self.values) - used), [], "values table rows of no template")

    def test_default_subjects_are_the_documented_ones(self):
        for name, (channel, _, text) in self.code.items():
            with self.subTest(template=name):
                want = self.templates[name][4]
                got = text.split("\n", 1)[0][len("Subject: "):] if channel == "e-mail" else "—"
                self.assertEqual(got, want)

    def test_layout_lines_are_whole_lines_of_the_default_text(self):
        for name, (_, _, text) in self.code.items():
            with self.subTest(template=name):
                lines = text.splitlines()
                for promised in ticked(self.layout[name]):
                    self.assertIn(promised, lines, "a line the layout table of §18 promises")

    # the one that asks nothing but to call the operator, and the SMS
    NO_PORTAL_LINK = {"suspended", "otp"}

    def test_mails_that_ask_a_person_to_act_link_the_portal_page(self):
        for name, (_, variables, _) in self.code.items():
            if name in self.NO_PORTAL_LINK:
                continue
            with self.subTest(template=name):
                self.assertIn("portal", variables)
                links = [line for line in ticked(self.layout[name])
                         if re.fullmatch(r"[A-Z][a-z ]+: \{\{portal\}\}/#/[a-z-]+(/\{\{token\}\})?", line)]
                self.assertTrue(links, "a `LABEL: {{portal}}/#/page` line in the layout table")

    def test_command_lines_only_for_a_device_operator(self):
        for name, (_, _, text) in self.code.items():
            with self.subTest(template=name):
                for para in text.split("\n\n"):
                    if "certflow-agent" in para:
                        self.assertTrue(para.startswith("For a device: its operator"), para)


if __name__ == "__main__":
    unittest.main()
