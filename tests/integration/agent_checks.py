"""
agent_checks — what the agent robustness tests (test_agent_*.py) assert about an agent
directory after a crash, an injected error or an outage, with openssl as the judge:

- the live set (key.pem, cert.pem, chain.pem) is complete: no file missing or empty;
- the key is the certificate's key and certificate + chain verify to the server's root;
- it is the old set byte for byte, or a new one (new key and new certificate): never a mix;
- after a following `renew --force`, the live certificate is the server's current one.
"""

import datetime
import json
import os
import platform
import signal
import subprocess
import sys
import time

from harness import (Clock, DAY, _die_with_parent, _faketime_lib, child_env, load_cert, program,
                     sanitizer_lines, serial_hex, ts)
from proxy import Proxy

SET = ("key.pem", "cert.pem", "chain.pem")


def spread(lo, hi, k):
    """k of the numbers lo..hi, evenly spread, always with the first and the last."""
    if hi - lo + 1 <= k:
        return list(range(lo, hi + 1))
    return sorted({lo + round(i * (hi - lo) / (k - 1)) for i in range(k)})


def read_set(d):
    """The three live files' bytes (None for a missing one)."""
    out = {}
    for name in SET:
        try:
            with open(os.path.join(d, name), "rb") as f:
                out[name] = f.read()
        except FileNotFoundError:
            out[name] = None
    return out


def account(d):
    with open(os.path.join(d, "account.json")) as f:
        return json.load(f)


def without_leak_check(env):
    """LeakSanitizer stops the world with ptrace, which fails under strace or valgrind."""
    env = dict(env)
    env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "").replace("detect_leaks=1", "detect_leaks=0")
    return env


class AgentChecks:
    """Mixin for harness.CertflowTestCase."""

    def enrol_agents(self, srv, count, prefix="dev"):
        """count enrolled agent directories, each with its own credential."""
        dirs = []
        for i in range(count):
            e = self.enrol_create(srv, f"{prefix}-{i:03d}", dns=[f"{prefix}-{i:03d}.example"])
            d = os.path.join(self.tmp, f"{prefix}-{i:03d}")
            r = self.agent_enrol(srv, e.reference, e.code, d)
            self.assertEqual(r.rc, 0, f"agent enrol failed: {r!r}")
            dirs.append(d)
        return dirs

    def agents_for(self, srv, measure, plan):
        """A probe agent renews once, observed by measure(srv, probe); plan(observed) gives the
        points to test; then one fresh agent per point, all enrolled at the same moment, and the
        clock moved into their renewal window. Returns observed, [(point, dir)]."""
        t0 = srv.clock.now
        probe = self.enrol_agents(srv, 1, "probe")[0]
        srv.clock.set_time(self.window_time(probe))
        observed = measure(srv, probe)
        points = plan(observed)
        srv.clock.set_time(t0)
        dirs = self.enrol_agents(srv, len(points))
        srv.clock.set_time(self.window_time(dirs[0]))
        return observed, list(zip(points, dirs))

    def window_time(self, d):
        """A moment inside the renewal window of d's certificate (30 days before it expires)."""
        return ts(load_cert(os.path.join(d, "cert.pem")).not_valid_after) - 30 * DAY

    def agent_env(self, srv, leak_check=True):
        env = child_env(srv.clock.now)
        return env if leak_check else without_leak_check(env)

    def renew_argv(self, d, *extra):
        return [program("certflow-agent"), "renew", "--dir", d, "--force", *extra]

    def assert_complete_set(self, srv, d, what=""):
        """Every live file present and non-empty, key matches certificate, chain verifies."""
        files = read_set(d)
        for name, data in files.items():
            self.assertTrue(data, f"{what}: {name} is missing or empty in {d}: "
                                  f"{sorted(os.listdir(d))}")
        key_pub = self.openssl("pkey", "-in", os.path.join(d, "key.pem"), "-pubout")
        cert_pub = self.openssl("x509", "-in", os.path.join(d, "cert.pem"), "-noout", "-pubkey")
        self.assertEqual(key_pub.rc, 0, f"{what}: key.pem does not parse: {key_pub!r}")
        self.assertEqual(cert_pub.rc, 0, f"{what}: cert.pem does not parse: {cert_pub!r}")
        self.assertEqual(key_pub.out, cert_pub.out, f"{what}: key.pem is not cert.pem's key")
        r = self.openssl("verify", "-attime", str(srv.clock.now), "-CAfile", srv.ca_file,
                         "-untrusted", os.path.join(d, "chain.pem"), os.path.join(d, "cert.pem"))
        self.assertEqual(r.rc, 0, f"{what}: the chain does not verify: {r!r}")
        for name in SET:  # a previous set, when there is one, is complete as well
            prev = os.path.join(d, name + ".prev")
            if os.path.lexists(prev):
                self.assertTrue(os.path.exists(prev) and os.path.getsize(prev) > 0,
                                f"{what}: {name}.prev is dangling or empty")
        return files

    def live_set(self, srv, d, old, what=""):
        """"old" if the live set is old byte for byte, "new" if it is a wholly new set."""
        files = self.assert_complete_set(srv, d, what)
        if files == old:
            return "old"
        self.assertNotEqual(files["key.pem"], old["key.pem"], f"{what}: new certificate, old key")
        self.assertNotEqual(files["cert.pem"], old["cert.pem"], f"{what}: old certificate, new key")
        return "new"

    def server_current_serial(self, srv, d):
        cred = self.admin_ok(srv, "credential", "show", account(d)["credential"], json_out=True)
        return cred["certificates"][-1]["serial"]

    def live_serial(self, d):
        return serial_hex(load_cert(os.path.join(d, "cert.pem")).serial_number)

    def assert_renew_recovers(self, srv, d, old, state, what=""):
        """After a failed or interrupted renewal: the next `renew --force` leaves the server's
        current certificate live (renewing when the old set is still live)."""
        r = self.agent_renew(srv, d, force=True)
        if state == "old":
            self.assertEqual(r.rc, 0, f"{what}: the renewal after it failed: {r!r}")
        else:  # already renewed: renewed again or not due
            self.assertIn(r.rc, (0, 3), f"{what}: the renewal after it failed: {r!r}")
        self.assertEqual(self.live_set(srv, d, old, what + ", then renew --force"), "new")
        self.assertEqual(self.live_serial(d), self.server_current_serial(srv, d),
                         f"{what}: the live certificate is not the server's current one "
                         f"(a renewal the server made was lost)")


class ProxiedServer:
    """Mixin for harness.CertflowTestCase: a server behind a Proxy (proxy.py). The server listens
    on 127.0.0.2 and publishes https://127.0.0.1:PORT (its --hostname); the proxy holds
    127.0.0.1:PORT, so every request of an agent, also to URLs of the directory, goes through it."""

    def start_proxied_server(self, name="srv"):
        for _ in range(5):  # the port must also be free on 127.0.0.1
            srv = self.start_server(name, listen="127.0.0.2:0", extra_args=["--hostname",
                                                                            "127.0.0.1"])
            port = int(srv.url.rsplit(":", 1)[1])
            self.assertTrue(srv.url.startswith("https://127.0.0.1:"), srv.url)
            try:
                proxy = Proxy(("127.0.0.1", port), ("127.0.0.2", port)).start()
            except OSError:
                self.stop_server(srv)
                name += "x"
                continue
            self.addCleanup(proxy.stop)
            srv.listen = f"127.0.0.2:{port}"  # a restart keeps the port behind the proxy
            return srv, proxy
        self.fail("no port free on both 127.0.0.1 and 127.0.0.2")

    def renewal_bytes(self, proxy):
        """A measure for agents_for: the bytes a whole renewal moves each way through proxy."""
        def measure(srv, d):
            before = dict(proxy.bytes)
            r = self.agent_renew(srv, d, force=True)
            self.assertEqual(r.rc, 0, f"{r!r}")
            return {k: proxy.bytes[k] - before[k] for k in ("up", "down")}
        return measure

    def restart_behind_proxy(self, srv):
        self.stop_server(srv)
        srv.start()


# --- the daemon and the configuration file (test_agent_daemon.py, test_valgrind.py) ---------
HOOK = """import json, os, sys
env = {k: v for k, v in os.environ.items() if k.startswith("CERTFLOW_")}
with open(sys.argv[1], "a") as f:
    f.write(json.dumps(env) + "\\n")
"""
CYCLE_TIMEOUT = 60
# The daemon waits for its next look in ppoll, and only there: this system call number in
# /proc/PID/syscall says it is idle (between cycles).
PPOLL = {"x86_64": 271, "aarch64": 73}.get(platform.machine())


def rfc3339(t):
    return datetime.datetime.fromtimestamp(int(t), datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def unix(text):
    return int(datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc).timestamp())


def load_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


class MirroredClock(Clock):
    """The server's test clock, mirrored into a libfaketime timestamp file: the agent reads the
    first with --test-clock (its schedule) and sees the second through libfaketime (what mbedTLS
    checks certificate validity against), so the whole agent lives at the server's time, as a
    real device's clock would agree with a real server's."""

    def _write(self):
        super()._write()
        stamp = datetime.datetime.fromtimestamp(self.now, datetime.timezone.utc)
        tmp = self.path + ".faketime.tmp"
        with open(tmp, "w") as f:
            f.write(stamp.strftime("@%Y-%m-%d %H:%M:%S\n"))
        os.replace(tmp, self.path + ".faketime")

    def env(self):
        env = child_env()
        env["LD_PRELOAD"] = (_faketime_lib() + " " + env.get("LD_PRELOAD", "")).strip()
        env["FAKETIME_TIMESTAMP_FILE"] = self.path + ".faketime"
        env["FAKETIME_NO_CACHE"] = "1"
        env["DONT_FAKE_MONOTONIC"] = "1"
        env.pop("FAKETIME", None)
        env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0"
        return env


class Daemon:
    """One `certflow-agent run` process; stopped (SIGTERM, exit 0) by the test."""

    def __init__(self, test, argv, log, env):
        self.test, self.log = test, log
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                         env=env, preexec_fn=_die_with_parent)
        test.addCleanup(self.kill)
        # Signals are handled once it says it runs (before that, SIGUSR1 would kill it).
        deadline = time.monotonic() + CYCLE_TIMEOUT
        while "running for" not in self.output():
            test.assertIsNone(self.proc.poll(), f"run exited:\n{self.output()}")
            test.assertLess(time.monotonic(), deadline, f"run never started:\n{self.output()}")
            time.sleep(0.05)

    def idle(self):
        """True while the daemon sleeps between cycles (blocked in ppoll)."""
        try:
            with open(f"/proc/{self.proc.pid}/syscall") as f:
                return f.read().split()[0] == str(PPOLL)
        except (OSError, IndexError):
            return False

    def wait_idle(self):
        deadline = time.monotonic() + CYCLE_TIMEOUT
        while True:
            self.test.assertIsNone(self.proc.poll(), f"run exited:\n{self.output()}")
            if self.idle():
                time.sleep(0.02)
                if self.idle():
                    return
            self.test.assertLess(time.monotonic(), deadline,
                                 f"run never went idle:\n{self.output()[-3000:]}")
            time.sleep(0.02)

    def output(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(60)
        self.test.assertEqual(rc, 0, f"run did not exit 0 on SIGTERM:\n{self.output()}")
        self.test.assertEqual(sanitizer_lines(self.output()), [], self.output())

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class DaemonChecks:
    """Mixin for harness.CertflowTestCase (with AgentChecks): a configuration file, the daemon
    and its status file, at the server's test clock (MirroredClock)."""

    def start_server(self, name="srv", **kw):
        kw.setdefault("clock", MirroredClock(os.path.join(self.tmp, name + ".clock")))
        return super().start_server(name, **kw)

    def configure(self, srv, dirs, hook=True):
        """A configuration file for the enrolled dirs (named dev-000, ...), with a status file
        and (hook) a hook that appends its CERTFLOW_* environment to hook.log."""
        self.status_path = os.path.join(self.tmp, "status.json")
        self.hook_log = os.path.join(self.tmp, "hook.log")
        script = os.path.join(self.tmp, "hook.py")
        with open(script, "w") as f:
            f.write(HOOK)
        lines = ["# written by test_agent_daemon.py", f"status_file = {self.status_path}", ""]
        for d in dirs:
            lines += [f"[credential {os.path.basename(d)}]", f"server = {srv.url}",
                      f"ca = {srv.ca_file}", f"dir = {d}"]
            if hook:
                lines.append(f"hook = {sys.executable} {script} {self.hook_log}")
            lines.append("")
        self.config = os.path.join(self.tmp, "agent.conf")
        with open(self.config, "w") as f:
            f.write("\n".join(lines))
        return self.config

    def agent(self, srv, *args, wrapper=(), **kw):
        argv = self.agent_argv(*args, "--config", self.config, "--test-clock", srv.clock.path,
                               wrapper=wrapper)
        return self.run_prog(argv, env=srv.clock.env(), timeout=self.AGENT_TIMEOUT, **kw)

    def start_daemon(self, srv, wrapper=()):
        argv = self.agent_argv("run", "--config", self.config, "--test-clock", srv.clock.path,
                               wrapper=wrapper)
        return Daemon(self, argv, os.path.join(self.tmp, "run.log"), srv.clock.env())

    def status(self):
        return load_json(self.status_path)

    def cycle(self, daemon, srv, at=None):
        """Once the daemon is idle: set the clock (to at), wake it (SIGUSR1) and wait for the
        status file of that cycle and for the daemon to be idle again; returns the status."""
        daemon.wait_idle()
        if at is not None:
            srv.clock.set_time(at)
        stamp = rfc3339(srv.clock.now)
        daemon.proc.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + CYCLE_TIMEOUT
        while time.monotonic() < deadline:
            doc = self.status()
            if doc and doc.get("updated", "") >= stamp:
                daemon.wait_idle()
                return self.status()
            self.assertIsNone(daemon.proc.poll(), f"run exited:\n{daemon.output()}")
            time.sleep(0.05)
        self.fail(f"no cycle at {stamp} within {CYCLE_TIMEOUT} s; status {self.status()}\n"
                  f"{daemon.output()[-3000:]}")

    def hook_calls(self):
        if not os.path.exists(self.hook_log):
            return []
        with open(self.hook_log) as f:
            return [json.loads(l) for l in f if l.strip()]

    def entry(self, doc, name):
        for c in doc["credentials"]:
            if c["name"] == name:
                return c
        self.fail(f"no credential {name} in the status file: {doc}")

    def state(self, d):
        st = load_json(os.path.join(d, "state.json"))
        self.assertIsNotNone(st, f"no readable {d}/state.json")
        return st

    def window(self, d):
        cert = load_cert(os.path.join(d, "cert.pem"))
        nb, na = ts(cert.not_valid_before), ts(cert.not_valid_after)
        return na - (na - nb) // 3, na

    def assert_status_entry(self, e, d):
        for k in ("name", "serial", "notAfter", "daysLeft", "nextAttempt", "failures", "state"):
            self.assertIn(k, e, f"status entry lacks {k}: {e}")
        self.assertEqual(e["serial"], self.live_serial(d))
        self.assertIn(e["state"], ("ok", "due", "failing", "expired"))
