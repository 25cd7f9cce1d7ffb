"""Login by QR code end to end (spec/protocol.md §27, the "MyInfoCert app" journey) with the
real programs: certflowd, certflow-admin and two certflow-agents. The waiting side
(`certflow-agent login --qr --qr-svg FILE`) runs in the background; its SVG is rendered with
rsvg-convert and decoded with zbarimg; the decoded text is approved by `certflow-agent
qr-approve` on the device that holds the person's device credential; the waiting side then
writes a session file (0600) that `portal status` uses.

The person: a device credential enrolled with the agent (application, approval, envelope) and
a portal login (a "remote" application of the same person: user id and first password by
e-mail; the first password changed with the agent)."""

import os
import re
import subprocess
import time

from harness import child_env, file_mode, program, sanitizer_lines
from test_journeys import JourneyTestCase, body, kv_lines

NEW_PASSWORD = "Portal-Passw0rd!"
WAIT = 30.0


class QrLoginJourney(JourneyTestCase):
    def holder(self, srv):
        """(agent directory of the device credential, portal user id)."""
        person = self.person()
        issued, agent_dir = self.enrolled(srv, person, profile="device")
        app_id, status = self.apply(srv, person, profile="remote")
        self.assertEqual(status, "pending")
        self.assertEqual(self.admin_json(srv, "application", "approve", app_id).get("status"),
                         "approved")
        mail = body(srv.mail.wait("remote-credentials", to=person.email))
        user_id = re.search(r"Portal user id:\s*(\d{10})\b", mail).group(1)
        first = re.search(r"First password:\s*(\S+)", mail).group(1)
        session = os.path.join(self.tmp, "first.session")
        old = self.secret_file("old-password", first)
        new = self.secret_file("new-password", NEW_PASSWORD)
        self.assert_ok(self.agent_public(srv, "login", "--user", user_id, "--password-file", old,
                                         "--session-file", session))
        self.assert_ok(self.agent(srv, "password", "--session-file", session,
                                  "--password-file", old, "--new-password-file", new))
        return agent_dir, user_id

    def waiting_side(self, srv, *args):
        """`login --qr` in the background (killed at the end of the test)."""
        argv = [program("certflow-agent"), "login", "--qr", "--server", srv.url, "--ca",
                srv.ca_file, *args]
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=child_env(srv.clock.now))
        self.addCleanup(lambda: p.poll() is None and (p.kill(), p.wait()))
        return p

    def finish(self, p, timeout=WAIT):
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
            self.fail(f"login --qr did not finish within {timeout} s: {err.decode()[-2000:]}")
        out, err = out.decode(errors="replace"), err.decode(errors="replace")
        self.assertEqual(sanitizer_lines(err), [], f"sanitizer report of login --qr: {err}")
        return p.returncode, out, err

    def decode_svg(self, svg, p):
        """The text of the QR code of svg, once the waiting side has written it."""
        deadline = time.monotonic() + WAIT
        while not (os.path.exists(svg) and os.path.getsize(svg) > 0):
            if p.poll() is not None:
                self.fail(f"login --qr exited early: {p.stderr.read().decode()}")
            self.assertLess(time.monotonic(), deadline, "no SVG within the deadline")
            time.sleep(0.05)
        png = svg + ".png"
        r = self.run_prog(["rsvg-convert", "-b", "white", "-w", "600", "-o", png, svg])
        self.assertEqual(r.rc, 0, f"{r!r}")
        z = self.run_prog(["zbarimg", "--raw", "-q", png])
        self.assertEqual(z.rc, 0, f"zbarimg found no code: {z!r}")
        return z.out.strip()


class TestQrLogin(QrLoginJourney):
    def test_an_agent_approves_the_scanned_code_and_the_waiting_side_gets_a_session(self):
        srv = self.start_journey_server()
        agent_dir, user_id = self.holder(srv)
        svg = os.path.join(self.tmp, "login.svg")
        session = os.path.join(self.tmp, "qr.session")
        p = self.waiting_side(srv, "--qr-svg", svg, "--user", user_id, "--session-file", session)
        text = self.decode_svg(svg, p)
        self.assertRegex(text, r"^certflow-login:[A-Za-z0-9_-]{22}$")

        r = self.agent(srv, "qr-approve", "--dir", agent_dir, text)
        self.assertEqual(r.rc, 0, f"{r!r}")
        self.assertEqual(r.out.strip(), f"approved: login of user {user_id}")

        rc, out, err = self.finish(p)
        self.assertEqual(rc, 0, f"login --qr: {out}\n{err}")
        lines = kv_lines(out)
        self.assertEqual(lines.get("challenge"), text, "the terminal shows the same challenge")
        self.assertTrue(any(c in out for c in "\u2580\u2584\u2588"), "a QR code drawn with half blocks")
        self.assertEqual((lines.get("userId"), lines.get("mustChangePassword")), (user_id, "no"))
        self.assertEqual(file_mode(session), 0o600)
        with open(session) as f:
            token = re.search(r'"token"\s*:\s*"([A-Za-z0-9_-]{43})"', f.read()).group(1)
        self.assertNotIn(token, out + err, "the session token is never printed")

        st = self.agent(srv, "portal", "status", "--session-file", session, "--json")
        self.assertEqual(st.rc, 0, f"{st!r}")
        self.assertIn(user_id, st.out)

        again = self.agent(srv, "qr-approve", "--dir", agent_dir, text)
        self.assert_fails(again, "approved already")
        self.assertNotIn(token, srv.stderr + srv.stdout, "no token in the server's log")

    def test_qr_approve_reads_the_text_from_standard_input_and_refuses_what_is_not_a_code(self):
        srv = self.start_journey_server()
        agent_dir, _ = self.holder(srv)
        r = self.agent(srv, "qr-approve", "--dir", agent_dir, "https://example.org/")
        self.assert_fails(r, "not a certflow login QR code", rc=2)
        r = self.agent(srv, "qr-approve", "--dir", agent_dir)
        self.assert_fails(r, "qr-approve needs", rc=2)
        r = self.agent(srv, "qr-approve", "--dir", agent_dir, "-",
                       input="certflow-login:" + "A" * 22 + "\n")
        self.assert_fails(r, "unknown or expired")

    def test_an_unapproved_code_makes_the_waiting_side_give_up_at_its_expiry(self):
        srv = self.start_journey_server(qr_login_seconds=10)
        session = os.path.join(self.tmp, "never.session")
        started = time.monotonic()
        p = self.waiting_side(srv, "--session-file", session)
        rc, out, err = self.finish(p, timeout=WAIT)
        self.assertEqual(rc, 1, f"{out}\n{err}")
        self.assertIn("expired before it was approved", err)
        self.assertEqual(len(err.strip().splitlines()), 1, err)
        self.assertGreaterEqual(time.monotonic() - started, 9.0, "it waited until the expiry")
        self.assertFalse(os.path.exists(session))
