"""The systemd units shipped in agent/systemd/ (issue 5, point 10): `systemd-analyze verify`
accepts them without a single warning (an unknown or misspelt key is only a warning there), the
daemon unit runs `run --config`, the timer variant `renew --if-due` with exit status 3 counted a
success. ExecStart names /usr/local/bin/certflow-agent; the test points it at the built agent so
that verify also checks that the command exists."""

import os
import re
import shutil
import subprocess
import tempfile
import unittest

from harness import REPO, program

UNITS = os.path.join(REPO, "agent", "systemd")
ANALYZE = shutil.which("systemd-analyze")


def read(name):
    with open(os.path.join(UNITS, name)) as f:
        return f.read()


def key(text, name):
    return re.findall(rf"^{name}=(.*)$", text, re.M)


class Units(unittest.TestCase):
    def test_daemon_unit_runs_the_agent_with_the_config_file_restarting_on_failure(self):
        text = read("certflow-agent.service")
        self.assertEqual(key(text, "Type"), ["simple"])
        self.assertEqual(key(text, "ExecStart"),
                         ["/usr/local/bin/certflow-agent run --config /etc/certflow/agent.conf"])
        self.assertEqual(key(text, "Restart"), ["on-failure"])
        for k, v in (("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"),
                     ("PrivateTmp", "yes")):
            self.assertEqual(key(text, k), [v], k)
        self.assertIn("/var/lib/certflow", key(text, "ReadWritePaths")[0].split())

    def test_timer_variant_renews_if_due_twice_a_day_and_counts_not_due_as_success(self):
        service = read("certflow-agent-renew.service")
        self.assertEqual(key(service, "Type"), ["oneshot"])
        self.assertEqual(key(service, "ExecStart"), [
            "/usr/local/bin/certflow-agent renew --if-due --config /etc/certflow/agent.conf"])
        self.assertEqual(key(service, "SuccessExitStatus"), ["3"])
        timer = read("certflow-agent-renew.timer")
        self.assertEqual(key(timer, "Persistent"), ["true"])
        self.assertTrue(key(timer, "RandomizedDelaySec"))
        self.assertEqual(len(key(timer, "OnCalendar")), 1)
        self.assertRegex(key(timer, "OnCalendar")[0], r"00,12:00")

    @unittest.skipUnless(ANALYZE, "systemd-analyze is missing (package systemd)")
    def test_units_pass_systemd_analyze_verify_without_warnings(self):
        agent = program("certflow-agent")
        with tempfile.TemporaryDirectory(prefix="certflow-units-") as d:
            names = sorted(os.listdir(UNITS))
            for name in names:
                with open(os.path.join(d, name), "w") as f:
                    f.write(read(name).replace("/usr/local/bin/certflow-agent", agent))
            r = subprocess.run([ANALYZE, "verify", "--man=no", *names], cwd=d, timeout=60,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            out = r.stdout.decode(errors="replace")
            self.assertEqual(r.returncode, 0, out)
            self.assertEqual(out.strip(), "", f"systemd-analyze verify warned:\n{out}")


if __name__ == "__main__":
    unittest.main()
