"""Crash safety of a renewal (issue 5, point 3): the agent is killed at many points of a real
`renew --force` (strace fault injection: SIGKILL at the n-th call of a system call), and fsync or
rename fail with EIO/EXDEV. After each: the live key, certificate and chain are complete, match
and verify (openssl), they are the old set or the new one, never a mix, an error was never
reported as success, and the next `renew --force` leaves the server's current certificate live.

The kill points are the file and network system calls that an uninjected renewal makes (counted
with strace first), bounded by CERTFLOW_CRASH_MAX_POINTS (default 60) so the run stays short."""

import os
import re
import shutil
import unittest

from harness import CertflowTestCase, run, sanitizer_lines
from agent_checks import AgentChecks, account, read_set, spread

STRACE = shutil.which("strace")
# Calls that change files: every occurrence is a kill point.
FILE_CALLS = ("write", "pwrite64", "fsync", "fdatasync", "ftruncate", "rename", "renameat",
              "renameat2", "link", "linkat", "symlink", "symlinkat", "unlink", "unlinkat",
              "mkdir", "mkdirat", "rmdir", "flock")
# Network calls: a few occurrences each (first, last and some between).
NET_CALLS = ("connect", "sendto", "recvfrom", "sendmsg", "recvmsg")
NET_SAMPLES = 4
MAX_POINTS = int(os.environ.get("CERTFLOW_CRASH_MAX_POINTS", "60"))
TRACE_LINE = re.compile(r"^(?:\d+ +)?([a-z0-9_]+)\((.*)\) += (-?\d+|\?)")


def parse_trace(path):
    """[(name, args)] of an strace -o log."""
    calls = []
    with open(path, errors="replace") as f:
        for line in f:
            m = TRACE_LINE.match(line)
            if m:
                calls.append((m.group(1), m.group(2)))
    return calls


def kill_points(calls):
    """[(call, n)]: every file call, a few network calls, at most MAX_POINTS in all."""
    counts = {}
    for name, _ in calls:
        counts[name] = counts.get(name, 0) + 1
    points = []
    for name, n in sorted(counts.items()):
        k = n if name in FILE_CALLS else NET_SAMPLES
        points += [(name, i) for i in spread(1, n, k)]
    if len(points) > MAX_POINTS:
        points = [points[i - 1] for i in spread(1, len(points), MAX_POINTS)]
    return points


@unittest.skipUnless(STRACE, "strace is missing (Debian package strace)")
class RenewalCrash(AgentChecks, CertflowTestCase):
    def clean_trace(self, srv, d):
        """The file and network calls of one uninjected renewal, in order: [(name, args)]."""
        log = os.path.join(self.tmp, "clean.trace")
        argv = [STRACE, "-qq", "-o", log, "-e", "trace=" + ",".join(FILE_CALLS + NET_CALLS),
                *self.renew_argv(d)]
        r = run(argv, env=self.agent_env(srv, leak_check=False), timeout=self.AGENT_TIMEOUT)
        self.assertEqual(r.rc, 0, f"uninjected renewal under strace: {r!r}")
        calls = parse_trace(log)
        self.assertTrue(any(c[0] in ("rename", "renameat", "renameat2") for c in calls),
                        f"no rename in the renewal's trace:\n{calls}")
        return calls

    def prepared(self, plan):
        """A server and, for each point plan(calls of a clean renewal) gives, a fresh agent."""
        srv = self.start_server()
        _, work = self.agents_for(srv, self.clean_trace, plan)
        return srv, work

    def injected(self, srv, d, call, action):
        argv = [STRACE, "-qq", "-o", "/dev/null", "-e", "trace=" + call, "-e",
                f"inject={call}:{action}", *self.renew_argv(d)]
        r = run(argv, env=self.agent_env(srv, leak_check=False), timeout=self.AGENT_TIMEOUT)
        self.assertEqual(sanitizer_lines(r.err), [], f"sanitizer report: {r!r}")
        return r

    def test_kill_at_any_step_of_a_renewal_leaves_one_complete_set_and_the_next_renew_works(self):
        srv, work = self.prepared(kill_points)
        killed = 0
        for (call, n), d in work:
            what = f"killed at {call} #{n}"
            with self.subTest(what):
                old = read_set(d)
                r = self.injected(srv, d, call, f"signal=KILL:when={n}")
                self.assertIn(r.rc, (-9, 137, 0), f"{what}: {r!r}")
                killed += r.rc != 0
                state = self.live_set(srv, d, old, what)
                if r.rc == 0:
                    self.assertEqual(state, "new", f"{what}: reported renewed, old set live")
                self.assert_renew_recovers(srv, d, old, state, what)
        self.assertGreater(killed, len(work) // 2, "most injections should have killed the agent")

    def assert_error_reported(self, call, errname):
        def error_points(calls):
            seq = [c for c in calls if c[0] == call]
            live = next((i for i, c in enumerate(calls) if c[0].startswith("rename") and
                         re.search(r'/live"', c[1].split(", ")[-1])), len(calls))
            # before_switch: the n-th call comes before the rename that switches "live"
            points, seen = [], 0
            for i, c in enumerate(calls):
                if c[0] == call:
                    seen += 1
                    points.append((seen, i < live))
            self.assertTrue(seq, f"the renewal makes no {call}")
            return points[:MAX_POINTS]

        srv, work = self.prepared(error_points)
        for (n, before_switch), d in work:
            what = f"{call} #{n} failing with {errname}"
            with self.subTest(what):
                old = read_set(d)
                r = self.injected(srv, d, call, f"error={errname}:when={n}")
                self.assertEqual(r.rc, 1, f"{what} must fail the renewal (exit 1): {r!r}")
                self.assertTrue(r.err.strip(), f"{what}: no message on stderr")
                state = self.live_set(srv, d, old, what)
                if before_switch:
                    self.assertEqual(state, "old", f"{what}: before the switch, the old set "
                                                   f"stays live")
                self.assert_renew_recovers(srv, d, old, state, what)

    def test_fsync_error_is_never_reported_as_success(self):
        self.assert_error_reported("fsync", "EIO")

    def test_rename_error_exdev_is_never_reported_as_success(self):
        self.assert_error_reported("rename", "EXDEV")

    def test_rename_error_eio_is_never_reported_as_success(self):
        self.assert_error_reported("rename", "EIO")


@unittest.skipUnless(STRACE, "strace is missing (Debian package strace)")
class EnrolCrash(AgentChecks, CertflowTestCase):
    """Issue 15 item 1: an activation is idempotent (spec §9), and enrol keeps its account key and
    new key in DIR before it sends, so that a device killed at any step of `enrol` (also after
    the server committed, before the answer arrived) completes with its next `enrol`."""

    def enrol(self, srv, e, d, *strace):
        argv = [STRACE, "-qq", *strace, *self.agent_argv(
            "enrol", "--server", srv.url, "--ca", srv.ca_file, "--reference", e.reference,
            "--dir", d, "--code-file", "-")]
        return run(argv, input=e.code + "\n", env=self.agent_env(srv, leak_check=False),
                   timeout=self.AGENT_TIMEOUT)

    def test_kill_at_any_step_of_an_enrolment_leaves_a_device_that_completes_with_its_next_run(self):
        srv = self.start_server()
        log = os.path.join(self.tmp, "enrol.trace")
        probe = self.enrol_create(srv, "probe")
        r = self.enrol(srv, probe, os.path.join(self.tmp, "probe"), "-o", log,
                       "-e", "trace=" + ",".join(FILE_CALLS + NET_CALLS))
        self.assertEqual(r.rc, 0, f"uninjected enrol under strace: {r!r}")
        points = kill_points(parse_trace(log))
        self.assertTrue(any(c == "sendto" or c == "sendmsg" or c == "write" for c, _ in points))
        killed = 0
        for i, (call, n) in enumerate(points):
            what = f"enrol killed at {call} #{n}"
            with self.subTest(what):
                e = self.enrol_create(srv, f"crash-{i:02d}")
                d = os.path.join(self.tmp, f"agent{i:02d}")
                r = self.enrol(srv, e, d, "-o", "/dev/null", "-e", "trace=" + call,
                               "-e", f"inject={call}:signal=KILL:when={n}")
                self.assertEqual(sanitizer_lines(r.err), [], f"{what}: {r!r}")
                self.assertIn(r.rc, (-9, 137, 0), f"{what}: {r!r}")
                killed += r.rc != 0
                again = self.agent_enrol(srv, e.reference, e.code, d)
                self.assertEqual(again.rc, 0, f"{what}: the next enrol: {again!r}")
                self.assertIn("enrolled: serial", again.out, f"{what}: {again!r}")
                self.assert_complete_set(srv, d, what)
                self.assertEqual(account(d).get("reference"), e.reference.replace("-", ""))
                self.assertEqual(self.live_serial(d), self.server_current_serial(srv, d),
                                 f"{what}: the live certificate is not the one the server made")
                self.assertFalse(os.path.exists(os.path.join(d, "pending")), what)
        self.assertGreater(killed, len(points) // 2, "most injections should have killed enrol")


if __name__ == "__main__":
    unittest.main()
