"""Wrong device clocks (issue 5, point 6): the agent runs under faketime — at 1970-01-02 (a device
without a real-time clock after a reboot, before the agent's build time: "clearly wrong"), and a
day behind or ahead of the server — and must still enrol and renew. The server keeps its own test
clock; what the agent installs is checked against the server's time."""

import datetime
import glob
import os
import unittest

from harness import CertflowTestCase, DAY, _faketime_lib, child_env
from agent_checks import AgentChecks, read_set

FAKETIME = glob.glob("/usr/lib/*/faketime/libfaketime.so.1")


def stamp(t):
    return datetime.datetime.fromtimestamp(int(t), datetime.timezone.utc).strftime(
        "%Y-%m-%d %H:%M:%S")


@unittest.skipUnless(FAKETIME, "faketime is missing (Debian package faketime)")
class WrongClock(AgentChecks, CertflowTestCase):
    def env(self):
        env = child_env()  # the agent's clock comes from the faketime wrapper only
        env["TZ"] = "UTC"
        env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0"
        return env

    def wrapper(self, srv, offset):
        """libfaketime for the agent: absolute 1970-01-02 (offset None) or the server's clock +
        offset seconds; the clock runs from there. Preloaded through env(1) rather than the
        faketime(1) wrapper, whose per-PID semaphores and shared memory outlive killed runs and
        then collide with a reused PID ("sem_open: File exists")."""
        start = "1970-01-02 00:00:00" if offset is None else stamp(srv.clock.now + offset)
        return ["/usr/bin/env", "LD_PRELOAD=" + _faketime_lib(), "FAKETIME=@" + start,
                "FAKETIME_DONT_FAKE_MONOTONIC=1"]

    def enrol_and_renew(self, offset):
        srv = self.start_server()
        e = self.enrol_create(srv, "clockless-device", dns=["clockless.example"])
        d = os.path.join(self.tmp, "agent")
        argv = self.agent_argv("enrol", "--server", srv.url, "--ca", srv.ca_file, "--reference",
                               e.reference, "--dir", d, "--code-file", "-",
                               wrapper=self.wrapper(srv, offset))
        r = self.run_prog(argv, input=e.code + "\n", env=self.env(), timeout=self.AGENT_TIMEOUT)
        self.assertEqual(r.rc, 0, f"enrol with the clock at {argv[1:3]}: {r!r}")
        self.assert_complete_set(srv, d, "after enrol")
        old = read_set(d)

        srv.clock.set_time(self.window_time(d))
        argv = self.agent_argv("renew", "--dir", d, wrapper=self.wrapper(srv, offset))
        r = self.run_prog(argv, env=self.env(), timeout=self.AGENT_TIMEOUT)
        self.assertEqual(r.rc, 0, f"renew with the clock at {argv[1:3]}: {r!r}")
        self.assertEqual(self.live_set(srv, d, old, "after renew"), "new")
        self.assertEqual(self.live_serial(d), self.server_current_serial(srv, d))

    def test_device_at_1970_enrols_and_renews_with_the_servers_time(self):
        self.enrol_and_renew(None)

    def test_device_a_day_behind_enrols_and_renews(self):
        self.enrol_and_renew(-DAY)

    def test_device_a_day_ahead_enrols_and_renews(self):
        self.enrol_and_renew(DAY)


if __name__ == "__main__":
    unittest.main()
