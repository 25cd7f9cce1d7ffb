"""Messages (spec/protocol.md §18): every e-mail and SMS in the server's maildir is one of the
templates §18 lists, on its channel, and carries the lines §18's layout table promises, each with a
value of the documented shape, so that a program reads them without guessing.

Runs after the other modules (run.py runs test_* files in name order after its first ones), so
the maildir then holds the messages of most journeys. Needs --maildir.
"""
import os
import re

import cfmail
from cfbase import CONFIG, ConformanceTest

# the shapes of §18's values table that a layout line may hold
SHAPES = {
    "reference": r"\d{4}-\d{4}-\d{4}",
    "userId": r"\d{10}",
    "password": r"\S{16}",
    "token": r"[A-Za-z0-9_-]{43}",
    "code": r"\d{6}",
    "minutes": r"[1-9]\d*",
    "reason": r"\S.*",
    "note": r"\S.*",
    "server": r"https?://\S+",
    "portal": r"https?://\S+",
}
ARMOUR = "-----BEGIN CERTFLOW ENVELOPE-----"


def spec_tables():
    """{template: channel} and {template: [promised lines]} from §18 of the spec."""
    with open(os.path.join(CONFIG["spec"], "protocol.md"), encoding="utf-8") as f:
        text = f.read()
    start = text.index("## 18. Notifications")
    sec = text[start:text.index("\n## 19.", start)].splitlines()

    def rows(header):
        i = next(n for n, line in enumerate(sec) if line.startswith(header))
        out = []
        for line in sec[i + 2:]:
            if not line.startswith("|"):
                break
            out.append([c.strip() for c in line.strip().strip("|").split(" | ")])
        return out

    channels = {re.findall(r"`([^`]+)`", r[0])[0]: r[1] for r in rows("| template | channel | sent when |")}
    layout = {re.findall(r"`([^`]+)`", r[0])[0]: re.findall(r"`([^`]+)`", r[1])
              for r in rows("| template | lines of the default text")}
    return channels, layout


def line_re(promised):
    """A layout line with its placeholders as the shapes of their values (whole line)."""
    parts = re.split(r"\{\{(\w+)\}\}", promised)
    out = ""
    for i, part in enumerate(parts):
        out += re.escape(part) if i % 2 == 0 else "(?P<%s>%s)" % (part, SHAPES[part])
    return re.compile("^" + out + "$", re.M)


class TestMessages(ConformanceTest):
    def test_every_message_is_a_documented_template_with_its_layout_lines(self):
        mailbox = cfmail.Maildir(CONFIG.get("maildir"))
        channels, layout = spec_tables()
        messages = mailbox.messages()
        if not messages:
            self.skipTest("no message in the maildir yet (run the whole suite)")
        seen = set()
        for msg in messages:
            name = msg.get("X-Certflow-Template")
            with self.subTest(template=name, to=msg.get("To")):
                self.assertIn(name, channels, "a template of §18")
                channel = "SMS" if msg.get("X-Certflow-Channel") == "sms" else "e-mail"
                self.assertEqual(channel, channels[name])
                text = cfmail.body(msg)
                for promised in layout[name]:
                    if promised == "{{envelope}}":
                        self.assertIn(ARMOUR, text, "the armoured envelope")
                    else:
                        self.assertRegex(text, line_re(promised), "a layout line of §18")
                        self.check_portal_link(text, promised)
                if channel == "e-mail":
                    # the trust footer (§18): its two lines a program reads
                    self.assertRegex(text, re.compile(r"^certflow server: https?://\S+$", re.M))
                    self.assertRegex(text, re.compile(r"^Its fingerprint: sha256:[0-9a-f]{64}$", re.M))
                seen.add(name)
        self.assertTrue(seen)

    def check_portal_link(self, text, promised):
        """A link to the portal (§18 "Links to the portal") starts with the URL of the trust
        footer (both are public_url, else the server's base URL), without a doubled '/'."""
        if "{{portal}}" not in promised:
            return
        portal = line_re(promised).search(text).group("portal")
        footer = re.search(r"^certflow server: (\S+)$", text, re.M)
        self.assertIsNotNone(footer, "the trust footer")
        self.assertEqual(portal, footer.group(1).rstrip("/"), promised)
