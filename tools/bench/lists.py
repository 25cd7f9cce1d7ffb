#!/usr/bin/python3
"""The list benchmark (issue 15 item 6): time and memory of admin credential-list pages with
1,000 and 1,000,000 credentials in the store.

   /usr/bin/python3 tools/bench/lists.py [BUILD_DIR] [--sizes 1000,1000000] [--rounds 20]

For each size: a fresh certflowd makes its data directory and stops; certflow-bench-fill writes
the credentials straight into DATA/db; certflowd starts again on it and the script asks (median of
--rounds requests each) the first page, a page from the middle (after the middle id) and a page
filtered by a subject that one credential in 1,000 has, 100 records a page. It prints the
database size, the server's peak RSS (VmHWM) and each time, and the ratio of the largest size to
the smallest: flat means near 1."""
import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "conformance"))
import cfclient  # noqa: E402


def start(certflowd, data, work):
    ready = os.path.join(work, "ready")
    if os.path.exists(ready):
        os.unlink(ready)
    log = open(os.path.join(work, "server.log"), "ab")
    p = subprocess.Popen([certflowd, "--data", data, "--listen", "127.0.0.1:0", "--ready-file",
                          ready], stdout=log, stderr=log)
    deadline = time.monotonic() + 120
    while not (os.path.exists(ready) and os.path.getsize(ready)):
        if p.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("lists.py: certflowd did not start (see %s)" % log.name)
        time.sleep(0.05)
    with open(ready) as f:
        return p, f.read().strip()


def stop(p):
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def hwm_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def median_ms(c, payload, rounds, expect):
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        r = c.admin("credential-list", payload)
        times.append((time.perf_counter() - t) * 1000)
        if r.status != 200:
            raise SystemExit("lists.py: credential-list answered %d: %r" % (r.status, r.body))
        n = len(r.json()["credentials"])
        if n != expect:
            raise SystemExit("lists.py: %d records on a page, expected %d" % (n, expect))
    return statistics.median(times)


def measure(build, size, rounds):
    work = tempfile.mkdtemp(prefix="certflow-lists.")
    try:
        data = os.path.join(work, "data")
        p, url = start(os.path.join(build, "server", "certflowd"), data, work)
        stop(p)
        t = time.monotonic()
        subprocess.run([os.path.join(build, "tools", "certflow-bench-fill"),
                        os.path.join(data, "db"), str(size)], check=True, timeout=3600,
                       stderr=subprocess.DEVNULL)
        fill_s = time.monotonic() - t
        p, url = start(os.path.join(build, "server", "certflowd"), data, work)
        try:
            c = cfclient.Client(url, os.path.join(data, "ca", "root.pem"),
                                admin_key=cfclient.Key.load_pem(os.path.join(data, "admin.key")))
            mid = "bench%010d" % (size // 2)
            rare = min(100, size // 1000)
            out = {
                "size": size,
                "fill_s": fill_s,
                "db_mib": os.path.getsize(os.path.join(data, "db", "data.mdb")) / 2**20,
                "first_ms": median_ms(c, {"limit": 100}, rounds, 100),
                "middle_ms": median_ms(c, {"limit": 100, "after": mid}, rounds, 100),
                # from the start: one page looks at most 10,000 records
                "filtered_ms": median_ms(c, {"limit": 100, "subject": "rare-subject"}, rounds,
                                         min(rare, 10)),
            }
            out["rss_mib"] = hwm_kib(p.pid) / 1024
            return out
        finally:
            stop(p)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build", nargs="?", default=os.path.join(ROOT, "build"))
    ap.add_argument("--sizes", default="1000,1000000")
    ap.add_argument("--rounds", type=int, default=20)
    a = ap.parse_args()
    rows = [measure(a.build, int(s), a.rounds) for s in a.sizes.split(",")]
    cols = ("size", "fill_s", "db_mib", "rss_mib", "first_ms", "middle_ms", "filtered_ms")
    print(" ".join("%12s" % c for c in cols))
    for r in rows:
        print(" ".join("%12d" % r[c] if c == "size" else "%12.1f" % r[c] for c in cols))
    lo, hi = rows[0], rows[-1]
    print("ratio %d/%d: " % (hi["size"], lo["size"]) +
          ", ".join("%s %.2f" % (c, hi[c] / lo[c]) for c in ("rss_mib", "first_ms", "middle_ms",
                                                             "filtered_ms")))


if __name__ == "__main__":
    main()
