"""
rrproxy — a round-robin load balancer on 127.0.0.1 for the tests of several certflowd on one
PostgreSQL database: each connection it accepts goes to the next back end in turn, byte for byte
(TLS passes through: the client talks to a certflowd, whose server.pem names 127.0.0.1). A back
end that refuses the connection (stopped, killed) is skipped for the next one, as a load
balancer's health check would.

Every request of the conformance client (cfclient.Transport) is a connection of its own
(`Connection: close`), so its requests alternate between the back ends one by one; a client that
keeps a connection alive stays on one back end for that connection.

    p = RoundRobinProxy([("127.0.0.1", 8443), ("127.0.0.1", 8444)]).start()
    p.port ... p.stop()
"""

import socket
import threading

CHUNK = 65536
CONNECT_TIMEOUT = 5.0


class RoundRobinProxy:
    def __init__(self, backends=()):
        self.backends = list(backends)
        self.lock = threading.Lock()
        self.next = 0
        self.counts = {}  # back end -> connections forwarded to it
        self.sock = None
        self.port = None
        self.stopping = False
        self.open = set()

    def start(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(512)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def set_backends(self, backends):
        with self.lock:
            self.backends = list(backends)

    def _pick(self):
        with self.lock:
            order = [self.backends[(self.next + i) % len(self.backends)]
                     for i in range(len(self.backends))]
            self.next = (self.next + 1) % max(1, len(self.backends))
        return order

    def _accept(self):
        while not self.stopping:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client):
        upstream = None
        for addr in self._pick():
            try:
                upstream = socket.create_connection(addr, timeout=CONNECT_TIMEOUT)
                upstream.settimeout(None)
                with self.lock:
                    self.counts[addr] = self.counts.get(addr, 0) + 1
                break
            except OSError:
                upstream = None
        if upstream is None:
            client.close()
            return
        for s in (client, upstream):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.lock:
            self.open.update((client, upstream))
        t = threading.Thread(target=self._pump, args=(upstream, client), daemon=True)
        t.start()
        self._pump(client, upstream)
        t.join()
        with self.lock:
            self.open.difference_update((client, upstream))
        client.close()
        upstream.close()

    @staticmethod
    def _pump(src, dst):
        """src -> dst until src ends; then dst's sending side is shut (a half close, as TCP)."""
        try:
            while True:
                data = src.recv(CHUNK)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def stop(self):
        self.stopping = True
        try:
            self.sock.close()
        except OSError:
            pass
        with self.lock:
            socks = list(self.open)
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
