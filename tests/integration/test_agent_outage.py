"""Outages during a renewal (issue 5, point 7): the connection cut mid-TLS by a loopback proxy
after k bytes (tests/integration/proxy.py), the server restarted in the middle of a renewal.
Each time: a failed renewal says so (exit 1, one line), installs nothing, the old credential stays
live, and a later renewal succeeds without anyone repairing anything.

The server listens on 127.0.0.2 and publishes https://127.0.0.1:PORT (its --hostname); the proxy
holds 127.0.0.1:PORT, so every request of the agent — also those that follow URLs of the
directory — goes through the proxy."""

import subprocess

from harness import CertflowTestCase, child_env, _die_with_parent, sanitizer_lines
from agent_checks import AgentChecks, ProxiedServer, read_set, spread

CUTS_PER_DIRECTION = 5


class ConnectionCut(ProxiedServer, AgentChecks, CertflowTestCase):
    def test_connection_cut_mid_tls_installs_nothing_and_a_later_renewal_succeeds(self):
        srv, proxy = self.start_proxied_server()
        total, work = self.agents_for(srv, self.renewal_bytes(proxy), lambda total: [
            (d, k) for d in ("up", "down") for k in spread(1, total[d] - 1, CUTS_PER_DIRECTION)])
        self.assertGreater(total["down"], 1000, total)  # at least a certificate chain came back
        for (direction, k), d in work:
            what = f"cut after {k} of {total[direction]} bytes {direction}"
            with self.subTest(what):
                old = read_set(d)
                proxy.arm(direction, k)
                r = self.agent_renew(srv, d, force=True)
                proxy.disarm()
                state = self.live_set(srv, d, old, what)
                if r.rc != 0:
                    self.assertEqual(r.rc, 1, f"{what}: {r!r}")
                    self.assert_one_line_error(r, "certflow-agent")
                    self.assertEqual(state, "old", f"{what}: failed, yet installed")
                else:  # only the last bytes were cut (e.g. the closing alert): renewed
                    self.assertEqual(state, "new", f"{what}: exit 0, yet not installed")
                self.assert_renew_recovers(srv, d, old, state, what)
        self.assertGreater(proxy.cuts, len(work) // 2, "the proxy hardly ever cut")


class ServerRestart(ProxiedServer, AgentChecks, CertflowTestCase):
    def test_server_restarted_in_the_middle_of_a_renewal(self):
        """The proxy holds the renewal's traffic after k bytes while the server is restarted
        on the same port; then lets the agent go on against the new process."""
        srv, proxy = self.start_proxied_server()
        _, work = self.agents_for(srv, self.renewal_bytes(proxy), lambda total: [
            ("up", total["up"] // 3), ("up", total["up"] * 2 // 3), ("down", total["down"] // 2)])
        for (direction, k), d in work:
            what = f"server restarted after {k} bytes {direction}"
            with self.subTest(what):
                old = read_set(d)
                proxy.hold(direction, k)
                p = subprocess.Popen(self.renew_argv(d), stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=child_env(srv.clock.now),
                                     preexec_fn=_die_with_parent)
                try:
                    self.assertTrue(proxy.held.wait(60), f"{what}: the renewal never got there")
                    self.restart_behind_proxy(srv)
                finally:
                    proxy.release()
                    out, err = p.communicate(timeout=self.AGENT_TIMEOUT)
                err = err.decode(errors="replace")
                self.assertEqual(sanitizer_lines(err), [], err)
                self.assertIn(p.returncode, (0, 1), f"{what}: {err}")
                state = self.live_set(srv, d, old, what)
                self.assertEqual(state, "new" if p.returncode == 0 else "old",
                                 f"{what}: exit {p.returncode}: {err}")
                self.assert_renew_recovers(srv, d, old, state, what)
