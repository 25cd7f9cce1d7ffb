"""The embedded footprint budget of certflow-agent-small (issue 5, point 8; README "Embedded
footprint"), measured by tools/footprint.sh: at most 700 KB stripped, mbedTLS linked in (no
shared libmbed*), and at most 3 MB peak RSS (/usr/bin/time -v) for a whole enrol and a whole
renew against a real server. Budgets of a build artefact: a sanitizer build is not measured."""

import os
import re
import subprocess
import unittest

from harness import REPO, build_dir

SIZE_BUDGET = 700 * 1000  # bytes
RSS_BUDGET = 3 * 1024  # KiB, as /usr/bin/time reports it


def sanitized(build):
    try:
        with open(os.path.join(build, "CMakeCache.txt")) as f:
            return re.search(r"^CERTFLOW_SANITIZE:BOOL=ON$", f.read(), re.M) is not None
    except OSError:
        return False


@unittest.skipIf(sanitized(build_dir()), "a sanitizer build is not the embedded build")
@unittest.skipUnless(os.access("/usr/bin/time", os.X_OK), "/usr/bin/time is missing (package time)")
class Footprint(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        r = subprocess.run(["bash", os.path.join(REPO, "tools", "footprint.sh"), build_dir()],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300,
                           env=dict(os.environ, LC_ALL="C"))
        cls.output = r.stdout.decode(errors="replace")
        cls.rc = r.returncode
        cls.figures = {}
        name = None
        for line in cls.output.splitlines():
            m = re.match(r"^(?:# .*/|program: )(\S+)$", line)
            if m:
                name = m.group(1)
                continue
            m = re.match(r"^(\w+): (.*)$", line)
            if m and name:
                cls.figures.setdefault(name, {})[m.group(1)] = m.group(2)

    def small(self, key):
        self.assertEqual(self.rc, 0, f"tools/footprint.sh failed:\n{self.output}")
        fig = self.figures.get("certflow-agent-small", {})
        self.assertIn(key, fig, f"no {key} in:\n{self.output}")
        return fig[key]

    def test_small_agent_is_stripped_and_at_most_700_kb(self):
        self.assertEqual(self.small("stripped"), "yes")
        self.assertLessEqual(int(self.small("size_bytes")), SIZE_BUDGET, self.output)

    def test_small_agent_links_mbedtls_statically(self):
        needed = self.small("needed").split()
        self.assertEqual([n for n in needed if n.startswith("libmbed")], [], self.output)

    def test_small_agent_enrol_peak_rss_is_at_most_3_mb(self):
        self.assertLessEqual(int(self.small("enrol_peak_rss_kb")), RSS_BUDGET, self.output)

    def test_small_agent_renew_peak_rss_is_at_most_3_mb(self):
        self.assertLessEqual(int(self.small("renew_peak_rss_kb")), RSS_BUDGET, self.output)


if __name__ == "__main__":
    unittest.main()
