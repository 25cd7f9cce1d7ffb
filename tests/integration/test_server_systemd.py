"""The server's systemd unit (issue 10 item 13): server/systemd/certflowd.service runs certflowd on
/var/lib/certflowd/data with /etc/certflow/certflowd.conf after `certflowd check` of the same,
sandboxed like the agent's units, and `systemd-analyze verify` accepts it without a warning."""

import os
import re
import shutil
import subprocess
import tempfile
import unittest

from harness import REPO, program

UNIT = os.path.join(REPO, "server", "systemd", "certflowd.service")
ANALYZE = shutil.which("systemd-analyze")
ARGS = "--data /var/lib/certflowd/data --config /etc/certflow/certflowd.conf"


def key(text, name):
    return re.findall(rf"^{name}=(.*)$", text, re.M)


class ServerUnit(unittest.TestCase):
    def setUp(self):
        with open(UNIT) as f:
            self.text = f.read()

    def test_unit_checks_then_runs_the_server_on_its_state_directory_restarting_on_failure(self):
        self.assertEqual(key(self.text, "ExecStartPre"), ["/usr/local/bin/certflowd check " + ARGS])
        self.assertEqual(key(self.text, "ExecStart"), ["/usr/local/bin/certflowd " + ARGS])
        self.assertEqual(key(self.text, "StateDirectory"), ["certflowd"])
        self.assertEqual(key(self.text, "Restart"), ["on-failure"])
        self.assertEqual(key(self.text, "ExecReload"), ["/bin/kill -HUP $MAINPID"])

    def test_unit_is_sandboxed_and_keeps_only_the_right_to_bind_low_ports(self):
        for k, v in (("DynamicUser", "yes"), ("NoNewPrivileges", "yes"),
                     ("ProtectSystem", "strict"), ("ProtectHome", "yes"), ("PrivateTmp", "yes"),
                     ("PrivateDevices", "yes"), ("MemoryDenyWriteExecute", "yes"),
                     ("CapabilityBoundingSet", "CAP_NET_BIND_SERVICE"), ("UMask", "0077")):
            self.assertEqual(key(self.text, k), [v], k)

    @unittest.skipUnless(ANALYZE, "systemd-analyze is missing (package systemd)")
    def test_unit_passes_systemd_analyze_verify_without_warnings(self):
        with tempfile.TemporaryDirectory(prefix="certflow-units-") as d:
            with open(os.path.join(d, "certflowd.service"), "w") as f:
                f.write(self.text.replace("/usr/local/bin/certflowd", program("certflowd")))
            r = subprocess.run([ANALYZE, "verify", "--man=no", "certflowd.service"], cwd=d,
                               timeout=60, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            out = r.stdout.decode(errors="replace")
            self.assertEqual(r.returncode, 0, out)
            self.assertEqual(out.strip(), "", f"systemd-analyze verify warned:\n{out}")


if __name__ == "__main__":
    unittest.main()
