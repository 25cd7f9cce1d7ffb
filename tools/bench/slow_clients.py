#!/usr/bin/env python3
"""slow_clients.py — a normal client's latency while many slow clients press on certflowd.

Holds --slow connections open from several loopback addresses (127.0.0.2 ... ), of three kinds
in turn: TLS handshake done then silence; bare TCP, no handshake; a request head sent one byte
a second (slowloris). Connections the server closes are opened again (--reopen a second), so the
pressure stays. Meanwhile a normal client sends --requests GET /v1/directory, each on a new TLS
connection, and the script prints their latency (p50, p99, max) and the statuses.

Against a fresh server with the default settings:
  python3 tests/integration/harness.py with-server --build build -- \\
      python3 tools/bench/slow_clients.py --server {url} --ca {ca}
Not a test: it measures; numbers depend on the machine.
"""
import argparse
import socket
import ssl
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

KINDS = ("tls-idle", "tcp-idle", "slowloris")


class Pressure:
    def __init__(self, host, port, ctx, n, addresses, reopen):
        self.host, self.port, self.ctx = host, port, ctx
        self.reopen = reopen
        self.slots = [None] * n
        self.addresses = addresses
        self.stop = False
        self.opened = 0
        self.failed = 0
        self.lock = threading.Lock()

    def open(self, i):
        src = self.addresses[i % len(self.addresses)]
        kind = KINDS[i % len(KINDS)]
        try:
            s = socket.create_connection((self.host, self.port), timeout=5, source_address=(src, 0))
            if kind != "tcp-idle":
                s = self.ctx.wrap_socket(s, server_hostname="localhost")
            s.setblocking(False)
            with self.lock:
                self.opened += 1
            return [s, kind, 0]
        except OSError:
            with self.lock:
                self.failed += 1
            return None

    def alive(self, slot):
        """False once the server has closed (or refused) the connection."""
        s = slot[0]
        try:
            data = s.recv(4096)
            return not (data == b"" or data)  # any answer (429/503) or EOF: gone
        except (BlockingIOError, ssl.SSLWantReadError):
            return True
        except OSError:
            return False

    def tick(self, pool):
        """Keep every slot open; trickle one byte on slowloris slots."""
        todo = []
        for i, slot in enumerate(self.slots):
            if slot is None or not self.alive(slot):
                if slot:
                    try:
                        slot[0].close()
                    except OSError:
                        pass
                self.slots[i] = None
                todo.append(i)
            elif slot[1] == "slowloris":
                head = b"GET /v1/directory HTTP/1.1\r\nHost: localhost\r\nX-Slow: " + b"a" * 10000
                try:
                    slot[0].send(head[slot[2]:slot[2] + 1])
                    slot[2] += 1
                except (BlockingIOError, ssl.SSLWantWriteError, ssl.SSLWantReadError):
                    pass
                except OSError:
                    pass
        # the first round opens every slot; then at most reopen a second (a handshake flood is
        # a CPU attack, not the slow-connection attack measured here)
        if self.opened:
            todo = todo[:self.reopen]
        for i, slot in zip(todo, pool.map(self.open, todo)):
            self.slots[i] = slot

    def held(self):
        return sum(1 for s in self.slots if s is not None)

    def run(self):
        with ThreadPoolExecutor(32) as pool:
            while not self.stop:
                t = time.monotonic()
                self.tick(pool)
                time.sleep(max(0.0, 1.0 - (time.monotonic() - t)))
        for s in self.slots:
            if s:
                s[0].close()


def normal_request(host, port, ctx):
    t = time.monotonic()
    with socket.create_connection((host, port), timeout=30) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            s.sendall(b"GET /v1/directory HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1 ") else 0
    return time.monotonic() - t, status


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--server", required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--slow", type=int, default=1000, help="slow connections held (default 1000)")
    ap.add_argument("--addresses", type=int, default=8,
                    help="loopback source addresses 127.0.0.2 ... (default 8)")
    ap.add_argument("--requests", type=int, default=300, help="normal requests (default 300)")
    ap.add_argument("--reopen", type=int, default=100,
                    help="closed slow connections opened again per second (default 100)")
    ap.add_argument("--warmup", type=float, default=5.0, help="seconds of pressure before measuring")
    a = ap.parse_args()

    u = urlsplit(a.server)
    ctx = ssl.create_default_context(cafile=a.ca)
    addresses = [f"127.0.0.{i + 2}" for i in range(a.addresses)]

    base = [normal_request(u.hostname, u.port, ctx)[0] for _ in range(20)]
    p = Pressure(u.hostname, u.port, ctx, a.slow, addresses, a.reopen)
    th = threading.Thread(target=p.run, daemon=True)
    th.start()
    time.sleep(a.warmup)
    lat, statuses = [], {}
    for _ in range(a.requests):
        secs, status = normal_request(u.hostname, u.port, ctx)
        lat.append(secs)
        statuses[status] = statuses.get(status, 0) + 1
        time.sleep(0.01)
    held = p.held()
    p.stop = True
    th.join(30)

    def ms(x):
        return f"{x * 1000:.1f} ms"

    lat.sort()
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
    print(f"idle baseline: median {ms(statistics.median(base))}")
    print(f"slow connections: {a.slow} slots from {a.addresses} addresses "
          f"({', '.join(KINDS)}); open at the end {held}; connections opened {p.opened}, "
          f"failed to open {p.failed}")
    print(f"normal client, {len(lat)} x GET /v1/directory (new TLS connection each): "
          f"p50 {ms(statistics.median(lat))}, p99 {ms(p99)}, max {ms(lat[-1])}; "
          f"statuses {statuses}")
    return 0 if p99 < 0.1 and set(statuses) == {200} else 1


if __name__ == "__main__":
    raise SystemExit(main())
