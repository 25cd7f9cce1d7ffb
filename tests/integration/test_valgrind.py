"""certflow-agent under valgrind (memcheck): every agent command the suite uses — enrol, renew,
renew --if-due (and --dry-run), status (and --json), run for one cycle then SIGTERM, and the
person's journeys of tests/integration/test_journeys.py (apply, envelope open, enrol with a key
password, reference-renew, recover, otp setup/confirm, emergency-suspend), the remote holder's
commands of test_remote_cli.py (login, password, portal status, activate, sign, unblock,
remote-renew, update, logout) and a QR login (login --qr, qr-approve) — must be free of memory
errors and leaks. Slow, so it runs only with CERTFLOW_VALGRIND=1 (tests/run.sh sets it for the
normal build; valgrind and ASan do not mix)."""

import os
import re
import subprocess
import time
import unittest

from harness import CertflowTestCase, child_env, load_cert, program, ts
from agent_checks import AgentChecks, DaemonChecks

try:
    import test_journeys as journeys  # a module, so its test classes are not collected here
except ImportError:  # pragma: no cover - the journeys are another issue's
    journeys = None

VALGRIND = os.environ.get("CERTFLOW_VALGRIND") == "1"


class ValgrindRuns:
    """Mixin: run agents under memcheck, one log per run, and check every log."""

    AGENT_TIMEOUT = 600
    _vg_runs = 0

    def wrapper(self, name):
        ValgrindRuns._vg_runs += 1
        self.vg_log = os.path.join(self.tmp, f"valgrind-{ValgrindRuns._vg_runs}-{name}.log")
        return ["valgrind", "--leak-check=full", "--error-exitcode=1", "--track-origins=yes",
                "--num-callers=30", f"--log-file={self.vg_log}"]

    def assert_log_clean(self, what=""):
        with open(self.vg_log, errors="replace") as f:
            log = f.read()
        summary = re.search(r"ERROR SUMMARY: (\d+) errors", log)
        self.assertIsNotNone(summary, f"{what}: no valgrind summary:\n{log[-3000:]}")
        self.assertEqual(summary.group(1), "0", f"{what}: valgrind found errors:\n{log[-8000:]}")
        for kind in ("definitely lost", "indirectly lost", "possibly lost"):
            m = re.search(kind + r": ([\d,]+) bytes", log)
            if m:
                self.assertEqual(m.group(1), "0", f"{what}: {kind}:\n{log[-8000:]}")
        return log

    def assert_clean(self, r, rc=0):
        log = self.assert_log_clean(" ".join(r.argv[-3:]))
        self.assertEqual(r.rc, rc, f"{r!r}\n{log[-3000:]}")


@unittest.skipUnless(VALGRIND, "set CERTFLOW_VALGRIND=1 to run the agent under valgrind")
class Valgrind(ValgrindRuns, DaemonChecks, AgentChecks, CertflowTestCase):
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

    def test_agent_schedule_commands_and_one_daemon_cycle_under_valgrind_are_clean(self):
        srv = self.start_server()
        d = self.enrol_agents(srv, 1)[0]
        self.configure(srv, [d])
        for args, rc in ((["renew", "--if-due"], 3), (["renew", "--if-due", "--dry-run"], 3),
                         (["status"], 0), (["status", "--json"], 0)):
            r = self.agent(srv, *args, wrapper=self.wrapper(args[0]))
            self.assert_clean(r, rc)
        srv.clock.set_time(self.window_time(d))
        r = self.agent(srv, "renew", "--if-due", wrapper=self.wrapper("renew-if-due"))
        self.assert_clean(r)
        self.assertEqual(len(self.hook_calls()), 1, "the hook did not run")

        # run: one cycle (at start), then SIGTERM.
        os.unlink(self.status_path)
        daemon = self.start_daemon(srv, wrapper=self.wrapper("run"))
        deadline = time.monotonic() + self.AGENT_TIMEOUT
        while self.status() is None:
            self.assertIsNone(daemon.proc.poll(), daemon.output())
            self.assertLess(time.monotonic(), deadline, "no cycle under valgrind")
            time.sleep(0.2)
        daemon.wait_idle()
        daemon.stop()
        self.assert_log_clean("run")


def _journeys_under_valgrind():
    """The journeys' own tests, with every agent command they run under valgrind."""
    if journeys is None or not hasattr(journeys, "JourneyTestCase"):
        return None

    @unittest.skipUnless(VALGRIND, "set CERTFLOW_VALGRIND=1 to run the agent under valgrind")
    class JourneysUnderValgrind(ValgrindRuns, journeys.JourneyTestCase):
        def agent(self, srv, *args, input=None, timeout=None):
            # The same code with fewer PBKDF2 rounds than the default 600000 (about 20 s each
            # under valgrind): memcheck looks at memory, not at the count.
            if args[0] == "enrol" and "--password-file" in args and "--kdf-iterations" not in args:
                args = (*args, "--kdf-iterations", "10000")
            argv = self.wrapper(args[0]) + [program("certflow-agent"), *args]
            r = self.run_prog(argv, input=input, timeout=timeout or self.AGENT_TIMEOUT,
                              env=child_env(srv.clock.now))
            self.assert_log_clean(" ".join(args[:2]))
            return r

    # One test per command group (each test walks several commands).
    for name in ("Issue.test_approved_application_mails_reference_and_envelope_separately_and_"
                 "enrols_with_password",
                 "Issue.test_activation_code_expires_after_15_days_and_reference_renew_needs_"
                 "two_of_three_answers",
                 "Recovery.test_recovery_with_sms_code_gives_new_enrolment_that_supersedes_old_"
                 "certificate",
                 "Totp.test_totp_setup_qr_svg_decodes_to_the_otpauth_uri_and_a_code_confirms_it",
                 "Emergency.test_emergency_code_suspends_credential_on_hold_wrong_codes_count_"
                 "and_lock"):
        cls, test = name.split(".")
        fn = getattr(getattr(journeys, cls, None), test, None)
        if fn is not None:
            setattr(JourneysUnderValgrind, test, fn)
    return JourneysUnderValgrind


JourneysUnderValgrind = _journeys_under_valgrind()


def _remote_under_valgrind():
    """The remote holder's agent commands (test_remote_cli: login, password, portal status,
    activate, sign, unblock, remote-renew, logout; the update walk for update) and a QR login
    (test_qr_login_agent: login --qr, qr-approve) under valgrind. test_remote_cli imports this
    module: imported here at the end, when VALGRIND and ValgrindRuns exist."""
    try:
        import test_remote_cli as remote_cli
        import test_qr_login_agent as qr
    except ImportError:  # pragma: no cover - the remote journeys are another issue's
        return None, None, None
    walk = getattr(remote_cli, "RemoteHolderUnderValgrind", None)
    update = qr_login = None
    if hasattr(remote_cli, "RemoteHolder"):
        @unittest.skipUnless(VALGRIND, "set CERTFLOW_VALGRIND=1 to run the agent under valgrind")
        class RemoteUpdateUnderValgrind(ValgrindRuns, remote_cli.RemoteHolder):
            valgrind_cmds = ("update",)
            AGENT_TIMEOUT = 600
            # the update walk only: the walk above runs the other commands
            test_holder_journey_activate_sign_block_unblock_and_renew = None
            test_portal_commands_refuse_bad_usage_and_missing_session = None
        update = RemoteUpdateUnderValgrind
    if hasattr(qr, "QrLoginJourney") and hasattr(qr, "TestQrLogin"):
        @unittest.skipUnless(VALGRIND, "set CERTFLOW_VALGRIND=1 to run the agent under valgrind")
        class QrLoginUnderValgrind(ValgrindRuns, qr.QrLoginJourney):
            AGENT_TIMEOUT = 600

            def waiting_side(self, srv, *args):
                self.qr_wrap = self.wrapper("login-qr")
                self.qr_log = self.vg_log
                argv = self.qr_wrap + [program("certflow-agent"), "login", "--qr", "--server",
                                       srv.url, "--ca", srv.ca_file, *args]
                p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=child_env(srv.clock.now))
                self.addCleanup(lambda: p.poll() is None and (p.kill(), p.wait()))
                return p

            def finish(self, p, timeout=qr.WAIT):
                rc, out, err = super().finish(p, timeout=self.AGENT_TIMEOUT)
                self.vg_log = self.qr_log
                self.assert_log_clean("login --qr")
                return rc, out, err

            def agent(self, srv, *args, input=None, timeout=None):
                if args[0] != "qr-approve":
                    return super().agent(srv, *args, input=input, timeout=timeout)
                r = self.run_prog(self.wrapper(args[0]) + [program("certflow-agent"), *args],
                                  input=input, timeout=timeout or self.AGENT_TIMEOUT,
                                  env=child_env(srv.clock.now))
                self.assert_log_clean("qr-approve")
                return r

        name = "test_an_agent_approves_the_scanned_code_and_the_waiting_side_gets_a_session"
        if hasattr(qr.TestQrLogin, name):
            setattr(QrLoginUnderValgrind, name, getattr(qr.TestQrLogin, name))
        qr_login = QrLoginUnderValgrind
    return walk, update, qr_login


RemoteHolderUnderValgrind, RemoteUpdateUnderValgrind, QrLoginUnderValgrind = \
    _remote_under_valgrind()


if __name__ == "__main__":
    unittest.main()
