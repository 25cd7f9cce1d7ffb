"""
proxy — a loopback TCP proxy for outage tests: forwards every connection it accepts to a target
address, byte for byte, and when armed drops the connection (both sides, with a reset) once k
bytes have gone through in one direction: "up" (client → server) or "down" (server → client).
Bytes are counted over all connections since arming, so k can point anywhere in an exchange
that takes several connections; the connection that carries the k-th byte is cut after it.

TLS passes through untouched (the proxy sees only ciphertext), so a cut lands mid-handshake or
mid-record depending on k.

In a test:
    p = Proxy(("127.0.0.1", port), ("127.0.0.2", port)).start()
    p.arm("down", 1500)      # the next exchange dies after 1500 bytes from the server
    ...; p.disarm(); p.stop()
Or as a program:  python3 proxy.py LISTEN_HOST:PORT TARGET_HOST:PORT [up|down K]
"""

import socket
import struct
import sys
import threading

CHUNK = 16384


def _reset(sock):
    """Close with RST (SO_LINGER 0): the peer sees the connection broken, not a clean end."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


class Proxy:
    def __init__(self, listen, target):
        self.listen_addr = listen
        self.target = target
        self.lock = threading.Lock()
        self.direction = None  # "up" / "down" while armed
        self.budget = 0  # bytes still allowed in that direction
        self.action = "cut"  # what happens at the k-th byte: "cut" or "hold"
        self.held = threading.Event()  # set when a hold has begun
        self._gate = threading.Event()  # cleared while held: nothing is forwarded
        self._gate.set()
        self.connections = 0  # accepted so far
        self.cuts = 0  # connections dropped so far
        self.bytes = {"up": 0, "down": 0}  # forwarded so far
        self._server = None
        self._thread = None
        self._open = set()
        self._stopping = False

    # --- control ---
    def start(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(self.listen_addr)
        s.listen(64)
        self.listen_addr = s.getsockname()
        self._server = s
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()
        return self

    def arm(self, direction, k):
        """Drop the connection that carries the k-th byte (k ≥ 1) in direction from now on."""
        if direction not in ("up", "down") or k < 1:
            raise ValueError("arm(up|down, k >= 1)")
        with self.lock:
            self.direction, self.budget, self.action = direction, k, "cut"

    def hold(self, direction, k):
        """After the k-th byte in direction, forward nothing more on any connection (data nor
        ends) until release(): e.g. to restart the server in the middle of an exchange. held is
        set when the hold begins."""
        if direction not in ("up", "down") or k < 1:
            raise ValueError("hold(up|down, k >= 1)")
        with self.lock:
            self.direction, self.budget, self.action = direction, k, "hold"
            self.held.clear()

    def release(self):
        self._gate.set()

    def disarm(self):
        with self.lock:
            self.direction = None
        self.release()

    def stop(self):
        self._stopping = True
        self.release()
        if self._server is not None:
            try:
                self._server.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._server.close()
        with self.lock:
            socks = list(self._open)
        for s in socks:
            _reset(s)
        if self._thread is not None:
            self._thread.join(5)

    # --- work ---
    def _accept(self):
        while not self._stopping:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=10)
                upstream.settimeout(None)
            except OSError:
                _reset(client)  # target down: the client sees its connection reset
                continue
            for s in (client, upstream):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self.lock:
                self.connections += 1
                self._open.update((client, upstream))
            conn = {"ends": 0}
            for src, dst, d in ((client, upstream, "up"), (upstream, client, "down")):
                threading.Thread(target=self._pump, args=(src, dst, d, conn, client, upstream),
                                 daemon=True).start()

    def _allowance(self, direction, n):
        """How many of n bytes may pass, and whether the connection is cut after them."""
        with self.lock:
            if self.direction != direction:
                self.bytes[direction] += n
                return n, False
            if n < self.budget:
                self.budget -= n
                self.bytes[direction] += n
                return n, False
            n, self.budget, self.direction = self.budget, 0, None
            self.bytes[direction] += n
            if self.action == "hold":
                self._gate.clear()
                self.held.set()
                return n, False
            self.cuts += 1
            return n, True

    def _forget(self, *socks):
        with self.lock:
            for s in socks:
                self._open.discard(s)

    def _pump(self, src, dst, direction, conn, client, upstream):
        try:
            while True:
                data = src.recv(CHUNK)
                self._gate.wait()
                if not data:  # a clean end in this direction: pass it on
                    dst.shutdown(socket.SHUT_WR)
                    with self.lock:
                        conn["ends"] += 1
                        both = conn["ends"] == 2
                    if both:
                        client.close()
                        upstream.close()
                        self._forget(client, upstream)
                    return
                n, cut = self._allowance(direction, len(data))
                if n:
                    dst.sendall(data[:n])
                self._gate.wait()
                if not cut and n < len(data):  # the rest of a chunk held after its k-th byte
                    dst.sendall(data[n:])
                if cut:
                    # the receiver gets exactly the bytes so far, then the end; the sender a reset
                    dst.shutdown(socket.SHUT_RDWR)
                    dst.close()
                    _reset(src)
                    self._forget(client, upstream)
                    return
        except OSError:
            pass
        _reset(client)  # one side broke: drop both
        _reset(upstream)
        self._forget(client, upstream)


def _addr(text):
    host, _, port = text.rpartition(":")
    return host, int(port)


if __name__ == "__main__":
    if len(sys.argv) not in (3, 5):
        print(__doc__)
        sys.exit(2)
    p = Proxy(_addr(sys.argv[1]), _addr(sys.argv[2])).start()
    if len(sys.argv) == 5:
        p.arm(sys.argv[3], int(sys.argv[4]))
    print(f"proxy {p.listen_addr[0]}:{p.listen_addr[1]} -> {sys.argv[2]}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        p.stop()
