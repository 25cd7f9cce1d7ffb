#!/usr/bin/env python3
"""A private PostgreSQL cluster for the tests: Debian's postgresql 15 (initdb, pg_ctl), in a
temporary directory, listening only on a Unix socket in that directory (no TCP port), trust
authentication for its one superuser. initdb refuses to run as root: as root the cluster runs as
the user nobody (its directory is given to nobody; root can still reach the socket).

    python3 tests/integration/pgcluster.py run -- CMD ARG...

starts a cluster, runs CMD with CERTFLOW_TEST_PG set to a connection string of a fresh database,
stops the cluster and exits with CMD's status. As a module: PgCluster().start() / .conninfo(db) /
.create_database(name) / .stop().
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile

PG_BIN = os.environ.get("CERTFLOW_PG_BIN", "/usr/lib/postgresql/15/bin")
SUPERUSER = "certflow"


def available():
    return os.path.exists(os.path.join(PG_BIN, "initdb"))


class PgCluster:
    def __init__(self, base=None):
        self.base = base
        self.dir = None
        self.started = False

    @property
    def data(self):
        return os.path.join(self.dir, "data")

    def _as_owner(self, argv):
        if os.geteuid() == 0:
            return ["runuser", "-u", "nobody", "--"] + argv
        return argv

    def _run(self, argv, timeout=120):
        r = subprocess.run(self._as_owner(argv), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=timeout,
                           cwd=self.dir)
        if r.returncode != 0:
            raise RuntimeError("%s failed: %s" % (os.path.basename(argv[0]), r.stdout[-2000:]))
        return r.stdout

    def start(self):
        self.dir = tempfile.mkdtemp(prefix="certflow-pg-", dir=self.base)
        os.chmod(self.dir, 0o755)
        if os.geteuid() == 0:
            import pwd
            pw = pwd.getpwnam("nobody")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        self._run([os.path.join(PG_BIN, "initdb"), "-D", self.data, "-U", SUPERUSER,
                   "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"])
        # fsync stays on: the store's durability is what the tests exercise
        opts = ("-c listen_addresses='' -c unix_socket_directories=%s -c max_connections=200"
                " -c shared_buffers=32MB" % self.dir)
        self._run([os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "-l",
                   os.path.join(self.dir, "log"), "-o", opts, "-w", "-t", "60", "start"])
        self.started = True
        return self

    def conninfo(self, dbname="postgres"):
        return "host=%s user=%s dbname=%s" % (self.dir, SUPERUSER, dbname)

    def psql(self, sql, dbname="postgres"):
        r = subprocess.run([os.path.join(PG_BIN, "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1",
                            "-d", self.conninfo(dbname), "-c", sql],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=60)
        if r.returncode != 0:
            raise RuntimeError("psql failed: %s" % r.stdout)
        return r.stdout

    def create_database(self, name):
        # name: letters, digits and _ only (made by the tests, never from outside)
        if not name.replace("_", "").isalnum():
            raise ValueError("bad database name")
        self.psql("CREATE DATABASE %s" % name)
        return self.conninfo(name)

    def log(self):
        try:
            with open(os.path.join(self.dir, "log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        if self.started:
            try:
                self._run([os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "-m", "fast",
                           "-w", "-t", "60", "stop"])
            except (RuntimeError, subprocess.TimeoutExpired):
                self._kill_postmaster()
            self.started = False
        if self.dir and not os.environ.get("CERTFLOW_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)

    def _kill_postmaster(self):
        try:
            with open(os.path.join(self.data, "postmaster.pid")) as f:
                pid = int(f.readline())
            os.kill(pid, signal.SIGQUIT)
        except (OSError, ValueError):
            pass

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def main(argv):
    if len(argv) < 3 or argv[1] != "run" or "--" not in argv:
        print(__doc__, file=sys.stderr)
        return 2
    cmd = argv[argv.index("--") + 1:]
    with PgCluster() as pg:
        env = dict(os.environ, CERTFLOW_TEST_PG=pg.create_database("certflow_test"))
        return subprocess.call(cmd, env=env)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
