"""The unattended agent (issue 5, points 1, 2, 4, 5, 7): `certflow-agent run` over a configuration
file and `renew --if-due`, driven by the test clock the server reads too (--test-clock; the
daemon re-plans at once on SIGUSR1). Renewal at the planned random moment inside the window and
not before; the hook and its environment; the status file after every cycle; backoff while the
server is down and success when it is back, without anyone doing anything; exit statuses of
--if-due and --dry-run; the per-credential lock; a certificate replaced by hand."""

import os
import subprocess
import time
import unittest

from harness import CertflowTestCase, _die_with_parent, child_env, load_cert, ts
from agent_checks import (CYCLE_TIMEOUT, PPOLL, AgentChecks, DaemonChecks, ProxiedServer,
                          read_set, unix)

@unittest.skipUnless(PPOLL, "needs the ppoll system call number of this machine")
class AgentDaemon(DaemonChecks, ProxiedServer, AgentChecks, CertflowTestCase):
    # --- tests ---
    def test_daemon_renews_at_the_planned_moment_inside_the_window_not_before_and_runs_the_hook(
            self):
        srv = self.start_server()
        d = self.enrol_agents(srv, 1)[0]
        name = os.path.basename(d)
        self.configure(srv, [d])
        daemon = self.start_daemon(srv)
        doc = self.cycle(daemon, srv)
        e = self.entry(doc, name)
        self.assert_status_entry(e, d)
        self.assertEqual(e["state"], "ok", e)
        self.assertEqual(e["failures"], 0)
        old_serial = e["serial"]

        start, end = self.window(d)
        planned = self.state(d)["plannedAt"]
        planned = unix(planned) if isinstance(planned, str) else int(planned)
        self.assertGreaterEqual(planned, start - 60, "planned before the window")
        self.assertLessEqual(planned, end, "planned after the window")
        self.assertLessEqual(unix(e["nextAttempt"]), planned, "next look after the plan")

        # Inside the window but before the planned moment (when there is room): nothing.
        if planned - start > 120:
            doc = self.cycle(daemon, srv, planned - 60)
            self.assertEqual(self.entry(doc, name)["serial"], old_serial, "renewed too early")
            self.assertEqual(self.hook_calls(), [], "hook ran without a renewal")

        old = read_set(d)
        doc = self.cycle(daemon, srv, planned + 1)
        deadline = time.monotonic() + CYCLE_TIMEOUT
        while self.live_serial(d) == old_serial and time.monotonic() < deadline:
            doc = self.cycle(daemon, srv)
        self.assertEqual(self.live_set(srv, d, old, "daemon renewal"), "new", daemon.output())
        new_serial = self.live_serial(d)
        self.assertEqual(new_serial, self.server_current_serial(srv, d))
        e = self.entry(doc, name)
        self.assert_status_entry(e, d)
        self.assertEqual((e["state"], e["failures"]), ("ok", 0), e)
        self.assertTrue(e.get("lastSuccess"), e)

        calls = self.hook_calls()
        self.assertEqual(len(calls), 1, f"hook calls: {calls}")
        env = calls[0]
        self.assertEqual(env["CERTFLOW_NAME"], name)
        self.assertEqual(os.path.realpath(env["CERTFLOW_DIR"]), os.path.realpath(d))
        for var, fname in (("CERTFLOW_KEY", "key.pem"), ("CERTFLOW_CERT", "cert.pem"),
                           ("CERTFLOW_CHAIN", "chain.pem")):
            self.assertEqual(os.path.realpath(env[var]), os.path.realpath(os.path.join(d, fname)))
        self.assertEqual(env["CERTFLOW_SERIAL"], new_serial)
        self.assertEqual(env["CERTFLOW_PREVIOUS_SERIAL"], old_serial)
        self.assertEqual(unix(env["CERTFLOW_NOT_AFTER"]),
                         ts(load_cert(os.path.join(d, "cert.pem")).not_valid_after))

        # The next plan is in the new certificate's window.
        start, end = self.window(d)
        self.assertGreaterEqual(unix(e["nextAttempt"]), srv.clock.now)
        daemon.stop()

    def test_daemon_backs_off_while_the_server_is_down_and_renews_when_it_is_back(self):
        srv = self.start_server()
        d = self.enrolled_dirs = self.enrol_agents(srv, 1)[0]
        name = os.path.basename(d)
        self.configure(srv, [d], hook=False)
        srv.clock.set_time(self.window_time(d))  # 30 days left: due at once
        old = read_set(d)
        self.stop_server(srv)
        daemon = self.start_daemon(srv)
        delays = []
        doc = self.cycle(daemon, srv)
        for attempt in range(1, 7):
            e = self.entry(doc, name)
            self.assertEqual(e["failures"], attempt,
                             f"failure not counted: {e}\n{daemon.output()[-3000:]}")
            self.assertEqual(e["state"], "failing", e)
            self.assertTrue(e.get("lastError"), f"no lastError: {e}")
            delay = unix(e["nextAttempt"]) - unix(e["lastAttempt"])
            cap = min(86400, 60 * 2 ** (attempt - 1))
            self.assertGreaterEqual(delay, 60, f"backoff under a minute: {e}")
            self.assertLessEqual(delay, cap, f"backoff over its cap {cap}: {e}")
            delays.append(delay)
            self.assertEqual(read_set(d), old, "a failed attempt changed the files")
            # Not before the next attempt: a wake-up a second earlier does nothing.
            doc = self.cycle(daemon, srv, unix(e["nextAttempt"]) - 1)
            self.assertEqual(self.entry(doc, name)["failures"], attempt, "retried too early")
            doc = self.cycle(daemon, srv, unix(e["nextAttempt"]))
        # Full jitter: each delay is uniform up to its cap, so one of the later ones (caps 240 s
        # to 1920 s) is over 2 minutes unless the growth is missing (chance ~1e-4).
        self.assertGreater(max(delays[2:]), 120, f"backoff does not grow: {delays}")

        srv.listen = srv.url.split("://", 1)[1]
        srv.start()  # back on the same port; nobody touches the agent
        e = self.entry(doc, name)
        doc = self.cycle(daemon, srv, unix(e["nextAttempt"]))
        e = self.entry(doc, name)
        self.assertEqual(self.live_set(srv, d, old, "after the outage"), "new", daemon.output())
        self.assertEqual((e["failures"], e["state"]), (0, "ok"), e)
        self.assertFalse(e.get("lastError"), e)
        daemon.stop()

    def test_renew_if_due_exits_3_when_nothing_is_due_0_after_renewing_1_on_failure(self):
        srv = self.start_server()
        dirs = self.enrol_agents(srv, 2)
        self.configure(srv, dirs, hook=False)
        before = [read_set(d) for d in dirs]
        r = self.agent(srv, "renew", "--if-due")
        self.assertEqual(r.rc, 3, f"{r!r}")
        self.assertEqual([read_set(d) for d in dirs], before)
        r = self.agent(srv, "renew", "--if-due", "--dry-run")
        self.assertEqual(r.rc, 3, f"{r!r}")
        for d in dirs:
            self.assertIn(os.path.basename(d), r.out + r.err)
        self.assertRegex(r.out + r.err, r"not due")

        srv.clock.set_time(self.window_time(dirs[0]))  # 30 days left: due
        r = self.agent(srv, "renew", "--if-due", "--dry-run")
        self.assertEqual(r.rc, 0, f"--dry-run when due: {r!r}")
        self.assertRegex(r.out + r.err, r"\bdue\b")
        self.assertEqual([read_set(d) for d in dirs], before, "--dry-run changed files")
        self.assertTrue(os.path.exists(self.status_path) is False or self.status() is not None)

        self.stop_server(srv)
        r = self.agent(srv, "renew", "--if-due")
        self.assertEqual(r.rc, 1, f"--if-due with the server down: {r!r}")
        self.assertEqual([read_set(d) for d in dirs], before)
        doc = self.status()
        self.assertIsNotNone(doc, "no status file after renew --if-due")
        for d in dirs:
            e = self.entry(doc, os.path.basename(d))
            self.assertGreaterEqual(e["failures"], 1, e)
            self.assertTrue(e.get("lastError"), e)

        srv.listen = srv.url.split("://", 1)[1]
        srv.start()
        srv.clock.set_time(max(unix(self.entry(doc, os.path.basename(d))["nextAttempt"])
                               for d in dirs))
        r = self.agent(srv, "renew", "--if-due")
        self.assertEqual(r.rc, 0, f"{r!r}")
        for d, old in zip(dirs, before):
            self.assertEqual(self.live_set(srv, d, old, "renew --if-due"), "new")
        r = self.agent(srv, "renew", "--if-due")
        self.assertEqual(r.rc, 3, f"just renewed, nothing due: {r!r}")

    def test_second_agent_on_a_busy_credential_is_refused_and_the_first_finishes(self):
        srv, proxy = self.start_proxied_server()
        d = self.enrol_agents(srv, 1)[0]
        srv.clock.set_time(self.window_time(d))
        old = read_set(d)
        proxy.hold("down", 200)  # the first agent stops mid-handshake, holding the lock
        first = subprocess.Popen(self.renew_argv(d), stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, env=child_env(srv.clock.now),
                                 preexec_fn=_die_with_parent)
        try:
            self.assertTrue(proxy.held.wait(60), "the first agent never got there")
            r = self.agent_renew(srv, d, force=True)
            self.assertEqual(r.rc, 1, f"second agent: {r!r}")
            self.assertIn("busy", r.err)
            self.assertEqual(read_set(d), old)
        finally:
            proxy.release()
            out, err = first.communicate(timeout=self.AGENT_TIMEOUT)
        self.assertEqual(first.returncode, 0, err.decode(errors="replace"))
        self.assertEqual(self.live_set(srv, d, old, "first agent"), "new")

    def test_daemon_notices_a_certificate_replaced_by_hand(self):
        srv = self.start_server()
        d = self.enrol_agents(srv, 1)[0]
        name = os.path.basename(d)
        self.configure(srv, [d], hook=False)
        daemon = self.start_daemon(srv)
        first = self.entry(self.cycle(daemon, srv), name)
        # By hand, beside the daemon: an operator renews in the window's first second.
        start, end = self.window(d)
        srv.clock.set_time(start)
        r = self.agent_renew(srv, d, force=True)
        self.assertEqual(r.rc, 0, f"{r!r}")
        doc = self.cycle(daemon, srv)
        e = self.entry(doc, name)
        self.assertNotEqual(e["serial"], first["serial"])
        self.assertEqual(e["serial"], self.live_serial(d), "status shows the replaced certificate")
        self.assertEqual(e["serial"], self.server_current_serial(srv, d))
        new_start, _ = self.window(d)
        self.assertGreater(unix(e["nextAttempt"]), srv.clock.now, e)
        daemon.stop()
