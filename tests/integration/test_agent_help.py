"""certflow-agent COMMAND --help (issue 10 item 7): each command prints its own usage forms,
description and options, cut from the whole text; every option of its usage lines is described."""
import re
import unittest

from harness import CertflowTestCase, program

COMMANDS = ("enrol", "renew", "run", "status", "apply", "reference-renew", "recover",
            "emergency-suspend", "envelope open", "otp setup", "otp confirm", "login", "password",
            "password forgot", "password reset",
            "portal status", "portal otp", "activate", "unblock", "pin", "sign", "remote-renew",
            "update", "logout", "qr-approve")


class CommandHelp(CertflowTestCase):
    def help(self, *args):
        r = self.run_prog([program("certflow-agent"), *args], timeout=20)
        self.assertEqual(r.rc, 0, f"{r!r}")
        self.assertEqual(r.err, "")
        return r.out

    def test_each_command_prints_its_own_usage_description_and_options(self):
        whole = self.help("--help")
        for cmd in COMMANDS:
            with self.subTest(cmd):
                out = self.help(*cmd.split(), "--help")
                self.assertTrue(out.startswith("Usage:\n  certflow-agent "), out)
                self.assertLess(len(out.splitlines()), len(whole.splitlines()) // 2, out)
                usage, _, rest = out.partition("\n\n")
                first = [l for l in usage.splitlines()[1:] if not l.startswith("   ")]
                self.assertTrue(first, out)
                for line in first:
                    words = line.split()[1].split("|")
                    self.assertIn(cmd.split()[0], words + [line.split()[1]], line)
                description, _, options = rest.partition("\nOptions:\n")
                self.assertIn(f"  {cmd}", description, out)
                described = set(re.findall(r"(?m)^  (-[^ ].*?)(?:  |$)", options))
                named = set()
                for head in described:
                    named |= set(re.findall(r"--[a-z][a-z-]*", head))
                for opt in set(re.findall(r"--[a-z][a-z-]*", usage)):
                    self.assertIn(opt, named, f"{cmd} --help: {opt} is in its usage but not "
                                              f"described:\n{out}")
                self.assertIn("certflow-agent --help", out.splitlines()[-1])

    def test_a_command_help_leaves_out_the_options_of_other_commands(self):
        enrol = self.help("enrol", "--help")
        self.assertIn("--reference", enrol)
        self.assertNotIn("--session-file", enrol)
        sign = self.help("sign", "--help")
        self.assertIn("--out-dir", sign)
        self.assertNotIn("--reference", sign)

    def test_help_without_a_known_command_prints_the_whole_text(self):
        whole = self.help("--help")
        self.assertIn("Exit status:", whole)
        self.assertEqual(self.help("nosuch", "--help"), whole)


if __name__ == "__main__":
    unittest.main()
