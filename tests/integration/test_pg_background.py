#!/usr/bin/python3
"""Background work of two certflowd on one PostgreSQL database (issue 14, item 3): each outbox
message is delivered by one of them, once; a server killed (SIGKILL) while it delivers leaves the
message claimed until the claim's lease ends, and the other server delivers it then; the hourly
housekeeping runs on one of them per hour, not on both.

The two servers are the harness's Server on two data directories holding the same keys (the
second a copy of the first's: secret.key, the CA, admin.key), one database of a private cluster
(tests/integration/pgcluster.py) and one test clock. Mail goes to an e-mail program of the test
(maildir = off), which files each message it is given with the process id of the server that
ran it. Skipped without PostgreSQL (Debian's postgresql)."""
import email
import email.policy
import os
import shutil
import signal
import time
import unittest

import pgcluster
from harness import CertflowTestCase, Server

HOLDERS = 8  # applications; two e-mails each
LEASE = 120  # seconds a claim lasts (server/notify/notify.c LEASE_SECS)
WAIT = 60.0  # a worker looks at the outbox at least every 30 s


@unittest.skipUnless(pgcluster.available(), "PostgreSQL (Debian's postgresql) is not installed")
class PgBackgroundTest(CertflowTestCase):
    def setUp(self):
        super().setUp()
        self.pg = pgcluster.PgCluster().start()
        self.addCleanup(self.pg.stop)  # after the servers' cleanups (last in, first out)
        self.out = os.path.join(self.tmp, "out")
        os.makedirs(self.out)

    # --- two servers on one database ---
    def start_pair(self, config=None, extra_args=()):
        conf = dict(config or {}, store="postgresql",
                    store_conninfo=self.pg.create_database("certflow"))
        a = self.start_server("a", config=conf, extra_args=extra_args)
        # the second front end: a copy of the first's keys, its own directory, the same clock
        b_dir = os.path.join(self.tmp, "b")
        os.makedirs(b_dir)
        shutil.copytree(a.data, os.path.join(b_dir, "data"),
                        ignore=shutil.ignore_patterns("maildir", "url"))
        if os.path.exists(a.master_key):
            shutil.copy2(a.master_key, os.path.join(b_dir, "data.master.key"))
        b = Server(b_dir, clock=a.clock, config=conf, extra_args=extra_args)
        self.addCleanup(self._finish_server, b)
        b.start()
        return a, b

    def program(self, body):
        """The e-mail (and SMS) program: body runs with the message in $t (a file in out/,
        "X-Delivered-By: <server pid>" first), which it files as out/msg.* when it returns."""
        path = os.path.join(self.tmp, "deliver.sh")
        with open(path, "w") as f:
            f.write("#!/bin/sh\n"
                    f"t=$(mktemp {self.out}/.tmp.XXXXXX) || exit 75\n"
                    '{ echo "X-Delivered-By: $PPID"; cat; } > "$t" || exit 75\n'
                    f"{body}\n"
                    f'mv "$t" "{self.out}/msg.${{t##*.}}"\n')
        os.chmod(path, 0o700)
        return {"auto_approve": "signing", "maildir": "off", "email_command": path,
                "sms_command": path}

    def delivered(self):
        """The messages the program filed: [(server pid, Message-ID)]."""
        got = []
        for name in sorted(os.listdir(self.out)):
            if name.startswith("msg."):
                with open(os.path.join(self.out, name), "rb") as f:
                    m = email.message_from_binary_file(f, policy=email.policy.default)
                got.append((int(m["X-Delivered-By"]), m["Message-ID"]))
        return got

    def wait_delivered(self, pred, what):
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            got = self.delivered()
            if pred(got):
                return got
            time.sleep(0.2)
        self.fail(f"never delivered {what}: {self.delivered()}")

    def outbox(self, srv):
        return self.admin_ok(srv, "outbox", "list", json_out=True)["messages"]

    def wait_outbox(self, srv, pred, what):
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            msgs = self.outbox(srv)
            if pred(msgs):
                return msgs
            time.sleep(0.3)
        self.fail(f"the outbox never showed {what}: {msgs}")

    # --- the tests ---
    def test_messages_queued_on_two_servers_are_each_delivered_once(self):
        down = os.path.join(self.tmp, "relay-down")
        open(down, "w").close()
        # while the relay is down every attempt fails (75) and is retried after 30 s or more
        config = self.program(f'if [ -e {down} ]; then rm -f "$t"; exit 75; fi\nsleep 0.05')
        a, b = self.start_pair(config)
        for n in range(1, HOLDERS + 1):
            self.apply_signing(a if n % 2 else b, n)
        total = 2 * HOLDERS
        self.wait_outbox(a, lambda ms: len(ms) == total and all(
            m["state"] == "queued" and m["attempts"] >= 1 for m in ms), "one failed attempt each")
        self.assertEqual(self.delivered(), [])

        # the relay is back and the whole backlog falls due on both servers at once
        os.unlink(down)
        a.clock.advance(seconds=2 * 3600)
        msgs = self.wait_outbox(a, lambda ms: all(m["state"] == "sent" for m in ms), "all sent")
        self.assertEqual(len(msgs), total)
        got = self.delivered()
        ids = [mid for _, mid in got]
        self.assertEqual(len(set(ids)), total, f"a message is missing: {got}")
        self.assertEqual(len(ids), total, f"a message was delivered twice: {sorted(ids)}")
        self.assertLessEqual({pid for pid, _ in got}, {a.proc.pid, b.proc.pid})

    def test_a_message_claimed_by_a_killed_server_is_delivered_by_the_other_after_the_lease(self):
        holder = os.path.join(self.tmp, "holder")
        # the first delivery of the run hangs (until its server is killed); the others pass
        config = self.program(
            f'if mkdir {self.tmp}/hung 2>/dev/null; then\n'
            f'  id=$(grep -m1 -i "^Message-ID:" "$t")\n'
            f'  echo "$PPID $$ $id" > {holder}.tmp && mv {holder}.tmp {holder}\n'
            f'  exec sleep 28\n'
            f'fi')
        a, b = self.start_pair(config)
        self.apply_signing(a, 1)  # two e-mails, queued by a
        deadline = time.monotonic() + WAIT
        while not os.path.exists(holder) and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertTrue(os.path.exists(holder), "no server started a delivery")
        with open(holder) as f:
            pid, prog, hung_id = f.read().split(" ", 2)
        hung_id = hung_id.split(":", 1)[1].strip()
        dead, alive = (a, b) if int(pid) == a.proc.pid else (b, a)
        self.assertEqual(int(pid), dead.proc.pid)
        dead.kill()  # SIGKILL, with the message claimed
        os.kill(int(prog), signal.SIGKILL)

        # the other server delivers everything else, but not the claimed message: its claim
        # holds until the lease ends (the clock has not moved)
        self.apply_signing(alive, 2)  # two more e-mails; wakes the other server's worker
        got = self.wait_delivered(lambda g: len(g) >= 3, "the three unclaimed messages")
        self.assertNotIn(hung_id, [mid for _, mid in got], "delivered while still claimed")

        alive.clock.advance(seconds=LEASE + 1)
        got = self.wait_delivered(lambda g: hung_id in [mid for _, mid in g],
                                  "the message of the killed server")
        self.assertEqual(len(got), 4, got)
        self.assertEqual(len({mid for _, mid in got}), 4, got)
        self.assertEqual({pid for pid, _ in got}, {alive.proc.pid}, got)
        self.assertIn("the server that was delivering it stopped", alive.stderr)
        msgs = self.wait_outbox(alive, lambda ms: all(m["state"] == "sent" for m in ms),
                                "all sent")
        self.assertEqual(len(msgs), 4)

    def housekeeping_runs(self, *servers):
        return sum(s.stderr.count("housekeeping: expired records removed") for s in servers)

    def housekeeping_lines(self, srv):
        return srv.stderr.count("housekeeping: ")

    def wait_housekeeping(self, a, b, lines):
        """Wait until each server logged lines[i] housekeeping lines (run or not)."""
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            if self.housekeeping_lines(a) >= lines[0] and self.housekeeping_lines(b) >= lines[1]:
                return
            time.sleep(0.1)
        self.fail(f"no housekeeping:\n{a.stderr[-2000:]}\n{b.stderr[-2000:]}")

    def hup_both(self, a, b):
        """SIGHUP to both at once (each then does its housekeeping) and wait for both to log it."""
        before = (self.housekeeping_lines(a), self.housekeeping_lines(b))
        a.proc.send_signal(signal.SIGHUP)
        b.proc.send_signal(signal.SIGHUP)
        self.wait_housekeeping(a, b, (before[0] + 1, before[1] + 1))

    def test_housekeeping_runs_on_one_of_two_servers_per_hour(self):
        a, b = self.start_pair(extra_args=["-v"])
        self.wait_housekeeping(a, b, (1, 1))
        # each server does its housekeeping at start: one did, the other found it done
        self.assertEqual(self.housekeeping_runs(a, b), 1, a.stderr[-2000:] + b.stderr[-2000:])
        self.assertEqual((a.stderr + b.stderr).count("housekeeping: another server did it"), 1)

        self.hup_both(a, b)  # within the hour: neither
        self.assertEqual(self.housekeeping_runs(a, b), 1)

        a.clock.advance(seconds=3600)
        self.hup_both(a, b)  # an hour later, both at once: one of them
        self.assertEqual(self.housekeeping_runs(a, b), 2, a.stderr[-2000:] + b.stderr[-2000:])


if __name__ == "__main__":
    unittest.main()
