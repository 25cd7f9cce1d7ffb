"""certflow-agent under valgrind (memcheck): an enrol and a renew must be free of memory errors
and leaks. Slow, so it runs only with CERTFLOW_VALGRIND=1 (tests/run.sh sets it for the normal
build; valgrind and ASan do not mix)."""

import os
import re
import unittest

from harness import CertflowTestCase, load_cert, ts

VALGRIND = os.environ.get("CERTFLOW_VALGRIND") == "1"


@unittest.skipUnless(VALGRIND, "set CERTFLOW_VALGRIND=1 to run the agent under valgrind")
class Valgrind(CertflowTestCase):
    AGENT_TIMEOUT = 600

    def wrapper(self, name):
        self.vg_log = os.path.join(self.tmp, f"valgrind-{name}.log")
        return ["valgrind", "--leak-check=full", "--error-exitcode=1", "--track-origins=yes",
                "--num-callers=30", f"--log-file={self.vg_log}"]

    def assert_clean(self, r):
        with open(self.vg_log, errors="replace") as f:
            log = f.read()
        summary = re.search(r"ERROR SUMMARY: (\d+) errors", log)
        self.assertIsNotNone(summary, f"no valgrind summary:\n{log[-3000:]}")
        self.assertEqual(summary.group(1), "0", f"valgrind found errors:\n{log[-8000:]}")
        for kind in ("definitely lost", "indirectly lost", "possibly lost"):
            m = re.search(kind + r": ([\d,]+) bytes", log)
            if m:
                self.assertEqual(m.group(1), "0", f"{kind}:\n{log[-8000:]}")
        self.assertEqual(r.rc, 0, f"{r!r}\n{log[-3000:]}")

    def test_agent_enrol_and_renew_under_valgrind_are_clean(self):
        srv = self.start_server()
        e = self.enrol_create(srv, "valgrind-device", dns=["vg.example"])
        d = os.path.join(self.tmp, "agent")
        r = self.agent_enrol(srv, e.reference, e.code, d, wrapper=self.wrapper("enrol"))
        self.assert_clean(r)
        cert = load_cert(os.path.join(d, "cert.pem"))
        nb, na = ts(cert.not_valid_before), ts(cert.not_valid_after)
        srv.clock.set_time(na - (na - nb) // 3 + 3600)
        r = self.agent_renew(srv, d, wrapper=self.wrapper("renew"))
        self.assert_clean(r)
        self.assertNotEqual(load_cert(os.path.join(d, "cert.pem")).serial_number,
                            cert.serial_number)


if __name__ == "__main__":
    unittest.main()
