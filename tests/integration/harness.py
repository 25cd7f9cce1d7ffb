"""
harness — start the real certflowd, drive it with the real certflow-admin and certflow-agent.

Nothing here imitates a program: every server, admin command and agent is a real process of the
build selected by CERTFLOW_BUILD (default: <repo>/build). Servers listen on 127.0.0.1 with an
ephemeral port, keep their data in a temporary directory, read "now" from a test clock file,
and are stopped with SIGTERM (exit 0 expected) or killed when a test ends, even on failure.
Sanitizer reports ("ERROR: AddressSanitizer", "runtime error:", LeakSanitizer) in the output of
any program make the test fail.

Also a command line, for tests/run.sh:
    python3 tests/integration/harness.py with-server --build DIR -- CMD ARG...
starts a fresh server (with --postgresql --servers N: N servers on one private PostgreSQL
database behind a round-robin proxy, whose URL is {url}; see Fleet), runs CMD with {url}, {ca}, {data}, {admin_key}, {clock} replaced (and
exported as CERTFLOW_SERVER (= CERTFLOW_URL), CERTFLOW_CA, CERTFLOW_DATA, CERTFLOW_ADMIN_KEY,
CERTFLOW_CLOCK_FILE), stops the server and exits non-zero
if CMD failed, the server did not stop cleanly, or a sanitizer reported anything.
"""

import ctypes
import datetime
import glob
import hashlib
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# ... and a problem that a route answered though spec/errors.md does not list it for that
# resource (certflowd logs "undeclared problem: ..."; server/api/route_problems.c)
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer",
                     "undeclared problem:")
READY_TIMEOUT = 20.0
STOP_TIMEOUT = 30.0
DAY = 86400


def build_dir():
    return os.path.abspath(os.environ.get("CERTFLOW_BUILD") or os.path.join(REPO, "build"))


def program(name):
    """Path of a built program in the selected build tree."""
    base = build_dir()
    for sub in ("server", "agent", "tools", "."):
        path = os.path.join(base, sub, name)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    for root, dirs, files in os.walk(base):
        dirs[:] = [d for d in dirs if d not in ("CMakeFiles", "tmp")]
        if name in files and os.access(os.path.join(root, name), os.X_OK):
            return os.path.join(root, name)
    raise FileNotFoundError(f"{name} is not built in {base}")


def project_version():
    with open(os.path.join(REPO, "CMakeLists.txt")) as f:
        m = re.search(r"project\(\s*certflow\s+VERSION\s+([0-9.]+)", f.read())
    return m.group(1) if m else None


def _die_with_parent():
    # The child is killed when the test runner dies (e.g. killed by `timeout`), so no server or
    # agent outlives the run.
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def _faketime_lib():
    libs = sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1"))
    return libs[0] if libs else None


def child_env(fake_now=None, extra=None):
    """Environment for a program: sanitizer options, C locale, and (fake_now) libfaketime so that
    the program's clock reads fake_now — the agent's clock then agrees with the server's test
    clock, as a real device's would."""
    env = dict(os.environ)
    env["LC_ALL"] = "C"
    env["TZ"] = "UTC"
    asan = env.get("ASAN_OPTIONS") or "detect_leaks=1:abort_on_error=1"
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    if fake_now is not None and abs(fake_now - time.time()) > 30:
        lib = _faketime_lib()
        if lib is None:
            raise RuntimeError("libfaketime is missing (Debian package faketime)")
        env["LD_PRELOAD"] = (lib + " " + env.get("LD_PRELOAD", "")).strip()
        stamp = datetime.datetime.fromtimestamp(int(fake_now), datetime.timezone.utc)
        env["FAKETIME"] = "@" + stamp.strftime("%Y-%m-%d %H:%M:%S")
        env["FAKETIME_NO_CACHE"] = "1"
        env["DONT_FAKE_MONOTONIC"] = "1"
        # libfaketime is preloaded before the ASan runtime; that order is harmless here.
        asan += ":verify_asan_link_order=0"
    env["ASAN_OPTIONS"] = asan
    if extra:
        env.update(extra)
    return env


def sanitizer_lines(text):
    return [l for l in text.splitlines() if any(m in l for m in SANITIZER_MARKERS)]


class Result:
    def __init__(self, argv, rc, out, err):
        self.argv, self.rc, self.out, self.err = argv, rc, out, err

    def __repr__(self):
        return (f"<{os.path.basename(self.argv[0])} {' '.join(self.argv[1:3])}… rc={self.rc}\n"
                f"stdout: {self.out[-2000:]}\nstderr: {self.err[-3000:]}>")


def run(argv, input=None, timeout=60, env=None, cwd=None, stdin_file=None):
    """Run a program to completion (bounded by timeout; killed after it)."""
    stdin = stdin_file if stdin_file is not None else (
        subprocess.PIPE if input is not None else subprocess.DEVNULL)
    p = subprocess.Popen(argv, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=env if env is not None else child_env(), cwd=cwd,
                         preexec_fn=_die_with_parent)
    try:
        out, err = p.communicate(input=input.encode() if input is not None else None,
                                 timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        raise AssertionError(f"{argv[0]} did not finish within {timeout} s; stderr: "
                             f"{err.decode(errors='replace')[-2000:]}")
    return Result(argv, p.returncode, out.decode(errors="replace"), err.decode(errors="replace"))


class Clock:
    """The test clock file: Unix seconds, written atomically (temp file + rename)."""

    def __init__(self, path, now=None):
        self.path = path
        self.now = int(now if now is not None else time.time())
        self._write()

    def _write(self):
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            f.write(str(self.now))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)

    def set_time(self, t):
        self.now = int(t)
        self._write()

    def advance(self, days=0, seconds=0):
        self.set_time(self.now + int(days * DAY) + int(seconds))


class Server:
    """One certflowd process on a data directory.

    config: certflowd.conf keys (server/certflowd.conf.example), written to WORKDIR/certflowd.conf
    and passed with --config; TEST_CONFIG (fast PBKDF2) comes first and config overrides it."""

    TEST_CONFIG = {"kdf_iterations": 1000}

    def __init__(self, workdir, data=None, clock=None, listen="127.0.0.1:0", extra_args=(),
                 config=None):
        os.makedirs(workdir, exist_ok=True)
        self.workdir = workdir
        self.data = data or os.path.join(workdir, "data")
        self.clock = clock or Clock(os.path.join(workdir, "clock"))
        self.listen = listen
        self.extra_args = list(extra_args)
        self.config = dict(self.TEST_CONFIG, **(config or {}))
        self.proc = None
        self.url = None
        self.direct = None  # Fleet: this server's own https://127.0.0.1:PORT (url: the proxy's)
        self.returncode = None
        self.starts = 0

    @property
    def ca_file(self):
        return os.path.join(self.data, "ca", "root.pem")

    @property
    def master_key(self):
        """The custody master key file (config "master_key", else the default of §22.3)."""
        return self.config.get("master_key", self.data.rstrip("/") + ".master.key")

    @property
    def maildir(self):
        """The outbox's maildir (DATA/maildir unless config sets "maildir")."""
        return self.config.get("maildir", os.path.join(self.data, "maildir"))

    def mails(self):
        """The messages delivered to the maildir so far (new/ and cur/), oldest first, each as
        an email.message.EmailMessage (SMS too: "X-Certflow-Channel: sms", "To: <number>")."""
        import email
        import email.policy
        paths = []
        for sub in ("new", "cur"):
            d = os.path.join(self.maildir, sub)
            if os.path.isdir(d):
                paths += [os.path.join(d, n) for n in os.listdir(d) if not n.startswith(".")]
        out = []
        for path in sorted(paths, key=lambda p: (os.stat(p).st_mtime_ns, p)):
            with open(path, "rb") as f:
                out.append(email.message_from_binary_file(f, policy=email.policy.default))
        return out

    def write_config(self):
        path = os.path.join(self.workdir, "certflowd.conf")
        with open(path, "w") as f:
            for k, v in self.config.items():
                f.write(f"{k} = {v}\n")
        return path

    def start(self, timeout=READY_TIMEOUT):
        self.starts += 1
        n = self.starts
        self.ready_file = os.path.join(self.workdir, f"ready.{n}")
        self.out_path = os.path.join(self.workdir, f"certflowd.{n}.out")
        self.err_path = os.path.join(self.workdir, f"certflowd.{n}.err")
        argv = [program("certflowd"), "--data", self.data, "--listen", self.listen,
                "--ready-file", self.ready_file, "--test-clock", self.clock.path,
                "--config", self.write_config(), *self.extra_args]
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                         env=child_env(), cwd=self.workdir,
                                         preexec_fn=_die_with_parent)
        self.returncode = None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if os.path.exists(self.ready_file):
                with open(self.ready_file) as f:
                    url = f.read().strip()
                if url:
                    self.url = url
                    return self
            if self.proc.poll() is not None:
                raise AssertionError(f"certflowd exited {self.proc.returncode} before it was "
                                     f"ready; stderr:\n{self.stderr[-3000:]}")
            time.sleep(0.05)
        self.kill()
        raise AssertionError(f"certflowd not ready within {timeout} s; stderr:\n"
                             f"{self.stderr[-3000:]}")

    def restart_same_port(self, timeout=READY_TIMEOUT):
        """Stop (must exit 0) and start again on the same port, so that agents that saved the
        URL still reach it — an operator's restart."""
        rc = self.stop()
        if rc != 0:
            raise AssertionError(f"certflowd exit status {rc} after SIGTERM:\n{self.stderr[-3000:]}")
        self.listen = self.url.split("://", 1)[1]
        old = self.url
        self.start(timeout)
        if self.url != old:
            raise AssertionError(f"restarted on {self.url}, not {old}")
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM and wait; returns the exit status (None if it had to be killed)."""
        if self.proc is None:
            return self.returncode
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self.returncode = None
                self.proc = None
                return None
        self.returncode = self.proc.returncode
        self.proc = None
        return self.returncode

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def _read_all(self, suffix):
        text = ""
        for path in sorted(glob.glob(os.path.join(self.workdir, f"certflowd.*.{suffix}"))):
            with open(path, errors="replace") as f:
                text += f.read()
        return text

    @property
    def stderr(self):
        return self._read_all("err")

    @property
    def stdout(self):
        return self._read_all("out")

    # --- HTTPS reads with Python's own TLS stack (verifies the chain and the host name) ---
    def ssl_context(self):
        return ssl.create_default_context(cafile=self.ca_file)

    def get(self, url, timeout=10):
        ctx = self.ssl_context() if url.startswith("https:") else None
        with urllib.request.urlopen(url, context=ctx, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()

    def directory(self):
        status, headers, body = self.get(self.url + "/v1/directory")
        return json.loads(body)

    def crl_der(self):
        status, headers, body = self.get(self.directory()["crl"])
        return headers, body

    def root_fingerprint(self):
        from cryptography import x509
        from cryptography.hazmat.primitives.serialization import Encoding
        with open(self.ca_file, "rb") as f:
            cert = x509.load_pem_x509_certificate(f.read())
        return hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest()


def free_port():
    """A TCP port of 127.0.0.1 that nothing listens on right now (bound, read, released)."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Fleet:
    """Several certflowd on one PostgreSQL database behind a round-robin proxy (rrproxy.py) on
    127.0.0.1: self.url is the proxy's URL, which every server takes as its base_url (the JWS url
    and every URL they publish). The servers share one data directory — secret.key, the CA
    (ca/), server.pem, admin.key, the master key beside it (DATA.master.key) and the maildir — as
    hosts given the same key files would; with store = postgresql none of them opens db/.
    servers[i].direct is that server's own address (https://127.0.0.1:PORT) for a client that
    picks a server itself (cfclient.Client(direct, ...) then sends the URLs of the directory)."""

    def __init__(self, workdir, n, conninfo, config=None, url=None):
        """url: the base URL of a balancer of the caller's (then the proxy is not used)."""
        import rrproxy
        os.makedirs(workdir, exist_ok=True)
        self.workdir = workdir
        self.data = os.path.join(workdir, "data")
        self.clock = Clock(os.path.join(workdir, "clock"))
        self.proxy = rrproxy.RoundRobinProxy().start()
        self.url = url or f"https://127.0.0.1:{self.proxy.port}"
        cfg = dict(config or {}, store="postgresql", store_conninfo=conninfo, base_url=self.url)
        self.servers = [Server(os.path.join(workdir, f"srv{i}"), data=self.data, clock=self.clock,
                               config=cfg) for i in range(n)]

    def start(self):
        # one at a time: the first start makes the keys and server.pem that the others read
        for srv in self.servers:
            self.start_server(srv)
        self.proxy.set_backends([("127.0.0.1", int(s.listen.rsplit(":", 1)[1]))
                                 for s in self.servers])
        return self

    @staticmethod
    def start_server(srv, tries=3):
        """Start srv on a free port of its own (a few tries: another program may take the port
        between the look and the bind)."""
        fixed = srv.direct is not None  # a restart keeps its port
        for i in range(tries):
            if not fixed:
                srv.listen = f"127.0.0.1:{free_port()}"
            try:
                srv.start()
                srv.direct = "https://" + srv.listen
                return srv
            except AssertionError:
                if fixed or i == tries - 1:
                    raise
        return srv

    # the first server stands for the fleet in the helpers that take one (admin --data, ca_file)
    @property
    def ca_file(self):
        return self.servers[0].ca_file

    @property
    def maildir(self):
        return self.servers[0].maildir

    @property
    def stderr(self):
        return "".join(s.stderr for s in self.servers)

    def stop(self):
        """SIGTERM each running server; a list of (server, exit status) of those that ran."""
        out = []
        for srv in self.servers:
            if srv.running():
                out.append((srv, srv.stop()))
        self.proxy.stop()
        return out


class Enrolment:
    def __init__(self, reference, code, expires, out):
        self.reference, self.code, self.expires, self.out = reference, code, expires, out

    def code_variants(self):
        """Every spelling of the activation code that must never leak."""
        bare = self.code.replace("-", "")
        return {self.code, self.code.lower(), bare, bare.lower()}


def parse_enrol_output(text):
    ref = re.search(r"^\s*reference:\s*(\d{4}-?\d{4}-?\d{4})\s*$", text, re.M)
    code = re.search(r"^\s*activation code:\s*([0-9A-Za-z-]{20,29})\s*$", text, re.M)
    exp = re.search(r"^\s*expires:\s*(\S.*?)\s*$", text, re.M)
    if not (ref and code and exp):
        raise AssertionError(f"enrol create output lacks reference/activation code/expires lines:"
                             f"\n{text}")
    return Enrolment(ref.group(1), code.group(1), exp.group(1), text)


def load_cert(path_or_pem):
    from cryptography import x509
    data = path_or_pem
    if isinstance(path_or_pem, str) and "-----BEGIN" not in path_or_pem:
        with open(path_or_pem, "rb") as f:
            data = f.read()
    if isinstance(data, str):
        data = data.encode()
    return x509.load_pem_x509_certificate(data)


def serial_hex(n):
    """A serial as the protocol writes it: lower-case hex, two digits per octet, no 00 octet."""
    h = format(n, "x")
    return "0" + h if len(h) % 2 else h


def ts(dt):
    """Unix seconds of a (naive UTC) datetime from python3-cryptography."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=datetime.timezone.utc)
    return int(dt.timestamp())


def file_mode(path):
    return os.stat(path).st_mode & 0o777


class CertflowTestCase(unittest.TestCase):
    """Base class: a temporary directory, servers that are always stopped and checked, and
    helpers that run the real programs."""

    AGENT_TIMEOUT = 120

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="certflow-it-")
        if not os.environ.get("CERTFLOW_KEEP"):
            self.addCleanup(shutil.rmtree, self.tmp, True)
        self.results = []

    # --- servers ---
    def start_server(self, name="srv", **kw):
        srv = Server(os.path.join(self.tmp, name), **kw)
        self.addCleanup(self._finish_server, srv)
        srv.start()
        return srv

    def _finish_server(self, srv):
        running = srv.running()
        rc = srv.stop()
        reports = sanitizer_lines(srv.stderr)
        self.assertEqual(reports, [], f"sanitizer report in certflowd stderr:\n{srv.stderr[-6000:]}")
        if running:
            self.assertEqual(rc, 0, f"certflowd did not stop cleanly on SIGTERM (rc={rc}); "
                                    f"stderr:\n{srv.stderr[-3000:]}")

    def stop_server(self, srv):
        rc = srv.stop()
        self.assertEqual(rc, 0, f"certflowd exit status after SIGTERM; stderr:\n{srv.stderr[-3000:]}")
        self.assertEqual(sanitizer_lines(srv.stderr), [], srv.stderr[-6000:])

    # --- programs ---
    def run_prog(self, argv, **kw):
        r = run(argv, **kw)
        self.results.append(r)
        self.assertEqual(sanitizer_lines(r.err), [], f"sanitizer report: {r!r}")
        self.assertGreaterEqual(r.rc, 0, f"killed by signal: {r!r}")
        return r

    def apply_signing(self, srv, n=1, passphrase="Envelope-Pass1!"):
        """certflow-agent apply of person n (Ana Lopez, ana{n}@pro.example) for the signing
        profile, with three questions and both consents: (form, result); rc 0 asserted."""
        form = {"profile": "signing", "givenName": "Ana", "surname": "Lopez",
                "uniqueId": f"ana-{n}", "email": f"ana{n}@pro.example",
                "altEmail": f"ana{n}@home.example", "mobile": f"+1514555{n:04d}",
                "questions": [{"question": f"Question {i}?", "answer": f"answer {i}"}
                              for i in range(3)],
                "consents": ["terms", "privacy"]}
        path = os.path.join(self.tmp, f"form-{n}.json")
        with open(path, "w") as f:
            json.dump(form, f)
        pw = os.path.join(self.tmp, "apply-pass")
        with open(pw, "w") as f:
            f.write(passphrase + "\n")
        os.chmod(pw, 0o600)
        r = self.run_prog([program("certflow-agent"), "apply", "--server", srv.url, "--ca",
                           srv.ca_file, "--form", path, "--passphrase-file", pw])
        self.assertEqual(r.rc, 0, repr(r))
        return form, r

    def admin(self, srv, *args, json_out=False, timeout=60):
        argv = [program("certflow-admin"), "--data", srv.data]
        if json_out:
            argv.append("--json")
        return self.run_prog(argv + list(args), timeout=timeout, env=child_env(srv.clock.now))

    def admin_ok(self, srv, *args, json_out=False):
        r = self.admin(srv, *args, json_out=json_out)
        self.assertEqual(r.rc, 0, f"certflow-admin {' '.join(args)} failed: {r!r}")
        if json_out:
            try:
                return json.loads(r.out)
            except ValueError:
                self.fail(f"certflow-admin --json {' '.join(args)} printed no JSON: {r!r}")
        return r

    def enrol_create(self, srv, subject, profile=None, dns=(), email=None, extra=()):
        args = ["enrol", "create", "--subject", subject]
        if profile:
            args += ["--profile", profile]
        for d in dns:
            args += ["--dns", d]
        if email:
            args += ["--email", email]
        r = self.admin_ok(srv, *args, *extra)
        return parse_enrol_output(r.out)

    def agent_argv(self, *args, wrapper=()):
        return list(wrapper) + [program("certflow-agent")] + list(args)

    def agent_enrol(self, srv, reference, code, directory, key_type=None, wrapper=(),
                    timeout=None, fake_now=None):
        args = ["enrol", "--server", srv.url, "--ca", srv.ca_file, "--reference", reference,
                "--dir", directory, "--code-file", "-"]
        if key_type:
            args += ["--key-type", key_type]
        now = srv.clock.now if fake_now is None else fake_now
        return self.run_prog(self.agent_argv(*args, wrapper=wrapper), input=code + "\n",
                             timeout=timeout or self.AGENT_TIMEOUT, env=child_env(now))

    def agent_renew(self, srv, directory, force=False, wrapper=(), timeout=None):
        args = ["renew", "--dir", directory] + (["--force"] if force else [])
        return self.run_prog(self.agent_argv(*args, wrapper=wrapper),
                             timeout=timeout or self.AGENT_TIMEOUT, env=child_env(srv.clock.now))

    def enrolled_agent(self, srv, subject="device-0042", profile=None, dns=("device-0042.example",),
                       name="agent"):
        """Create an enrolment and enrol a fresh agent directory with it; returns the dir."""
        e = self.enrol_create(srv, subject, profile=profile, dns=dns)
        d = os.path.join(self.tmp, name)
        r = self.agent_enrol(srv, e.reference, e.code, d)
        self.assertEqual(r.rc, 0, f"agent enrol failed: {r!r}")
        return d

    def assert_one_line_error(self, r, prog="certflow-admin"):
        """The CLI error contract: exit status checked by the caller; one line on stderr,
        `<prog>: <message>`, nothing on stdout."""
        lines = r.err.strip().splitlines()
        self.assertEqual(len(lines), 1, f"expected one line on stderr: {r!r}")
        self.assertTrue(lines[0].startswith(prog + ": "), lines[0])
        self.assertGreater(len(lines[0]), len(prog) + 2, "empty message")
        self.assertEqual(r.out.strip(), "", f"nothing on stdout on error: {r!r}")

    # --- checks with openssl ---
    def openssl(self, *args, timeout=30):
        return self.run_prog(["openssl", *args], timeout=timeout)

    def assert_chain_verifies(self, srv, directory, at):
        """openssl verify -CAfile <data>/ca/root.pem -untrusted chain.pem cert.pem, at time at."""
        r = self.openssl("verify", "-attime", str(int(at)), "-CAfile", srv.ca_file,
                         "-untrusted", os.path.join(directory, "chain.pem"),
                         os.path.join(directory, "cert.pem"))
        self.assertEqual(r.rc, 0, f"openssl verify failed: {r!r}")
        self.assertIn(": OK", r.out)

    def cert_serial(self, directory):
        return serial_hex(load_cert(os.path.join(directory, "cert.pem")).serial_number)


# --------------------------------------------------------------------------------------------
def _with_server(argv):
    import argparse
    ap = argparse.ArgumentParser(prog="harness.py with-server")
    ap.add_argument("--build", help="build tree (default: $CERTFLOW_BUILD or <repo>/build)")
    ap.add_argument("--timeout", type=int, default=900, help="seconds for CMD")
    ap.add_argument("--postgresql", action="store_true",
                    default=os.environ.get("CERTFLOW_STORE") == "postgresql",
                    help="store = postgresql on a private cluster (tests/integration/pgcluster.py)"
                         "; also CERTFLOW_STORE=postgresql")
    ap.add_argument("--servers", type=int, default=1,
                    help="with --postgresql: N certflowd on the one database behind a round-robin "
                         "proxy on 127.0.0.1 whose URL is {url} (Fleet)")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args(argv)
    cmd = a.cmd[1:] if a.cmd[:1] == ["--"] else a.cmd
    if not cmd:
        ap.error("no command")
    if a.servers < 1 or (a.servers > 1 and not a.postgresql):
        ap.error("--servers N > 1 needs --postgresql")
    if a.build:
        os.environ["CERTFLOW_BUILD"] = os.path.abspath(a.build)
    work = tempfile.mkdtemp(prefix="certflow-srv-")
    pg = None
    servers = []
    status = 1
    try:
        config = None
        if a.postgresql:
            import pgcluster
            pg = pgcluster.PgCluster().start()
            config = {"store": "postgresql",
                      "store_conninfo": pg.create_database("certflow")}
        if a.servers > 1:
            fleet = Fleet(work, a.servers, config["store_conninfo"])
            servers = fleet.servers
            fleet.start()
            srv, url = servers[0], fleet.url
        else:
            srv = Server(work, config=config)
            servers = [srv]
            srv.start()
            url = srv.url
        subst = {"url": url, "ca": srv.ca_file, "data": srv.data,
                 "admin_key": os.path.join(srv.data, "admin.key"), "clock": srv.clock.path,
                 "maildir": srv.maildir}
        cmd = [c.format(**subst) if "{" in c else c for c in cmd]
        env = dict(os.environ, CERTFLOW_URL=url, CERTFLOW_SERVER=url,
                   CERTFLOW_CA=srv.ca_file, CERTFLOW_DATA=srv.data,
                   CERTFLOW_ADMIN_KEY=subst["admin_key"], CERTFLOW_CLOCK_FILE=srv.clock.path)
        if pg:
            env["CERTFLOW_STORE_CONNINFO"] = srv.config["store_conninfo"]
        where = ", ".join(s.direct or s.url for s in servers)
        print(f"harness: server {url} ({where}; data {srv.data}); running: {' '.join(cmd)}",
              flush=True)
        try:
            status = subprocess.run(cmd, env=env, timeout=a.timeout).returncode
        except subprocess.TimeoutExpired:
            print(f"harness: command timed out after {a.timeout} s", flush=True)
            status = 124
    except Exception as e:  # noqa: BLE001 — report and fail
        print(f"harness: {e}", file=sys.stderr)
        status = 1
    finally:
        for srv in servers:
            running = srv.running()
            rc = srv.stop()
            reports = sanitizer_lines(srv.stderr)
            if reports:
                print("harness: sanitizer report in certflowd stderr:\n" + srv.stderr[-6000:],
                      file=sys.stderr)
                status = status or 1
            if running and rc != 0:
                print(f"harness: certflowd exit status {rc} after SIGTERM", file=sys.stderr)
                status = status or 1
        if len(servers) > 1:
            fleet.proxy.stop()
        if pg:
            pg.stop()
        shutil.rmtree(work, ignore_errors=True)
    return status


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "with-server":
        sys.exit(_with_server(sys.argv[2:]))
    print(__doc__)
    sys.exit(2)
