"""certflowd's HTTP layer at the connection level (issue 15): ambiguous framing answers 400 and
closes (no request smuggling), 413 closes without reading the rest, and idle or slow clients
cannot hold every worker. Raw TLS sockets on loopback against the real server."""
import re
import socket
import ssl
import time
import unittest
from urllib.parse import urlsplit

from harness import CertflowTestCase

GET_DIRECTORY = b"GET /v1/directory HTTP/1.1\r\nHost: localhost\r\n\r\n"


def responses_in(data):
    """The status codes of the HTTP responses in data (a body need not end in CRLF, so the next
    status line may follow it directly)."""
    return [int(code) for code in re.findall(rb"HTTP/1\.[01] ([0-9]{3}) ", data)]


class Conn:
    """One TLS connection to srv, from source address src (a loopback address)."""

    def __init__(self, srv, src="127.0.0.1", timeout=10):
        u = urlsplit(srv.url)
        raw = socket.create_connection((u.hostname, u.port), timeout=timeout,
                                       source_address=(src, 0))
        self.sock = srv.ssl_context().wrap_socket(raw, server_hostname="localhost")

    def send(self, data):
        self.sock.sendall(data)

    def read_until_closed(self, limit=1 << 20):
        """Everything the server sends until it closes the connection (a reset counts as
        closed; a timeout fails the test)."""
        data = b""
        while len(data) < limit:
            try:
                chunk = self.sock.recv(65536)
            except (ConnectionResetError, BrokenPipeError, ssl.SSLError):
                break
            if not chunk:
                break
            data += chunk
        return data

    def read_head(self):
        """The first response's head (up to the blank line)."""
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.sock.recv(65536)
            if not chunk:
                break
            data += chunk
        return data

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class Framing(CertflowTestCase):
    SMUGGLED = GET_DIRECTORY

    CASES = {
        "content-length and chunked":
            b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "chunked with a space before the colon, and content-length":
            b"Transfer-Encoding : chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
        "chunked with a space before the colon":
            b"Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n",
        "two different content-lengths":
            b"Content-Length: 0\r\nContent-Length: 5\r\n\r\nhello",
        "two equal content-lengths":
            b"Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
        "hexadecimal content-length":
            b"Content-Length: 0x5\r\n\r\nhello",
        "transfer-encoding other than chunked":
            b"Transfer-Encoding: gzip, chunked\r\nContent-Length: 5\r\n\r\nhello",
        "identity transfer-encoding with content-length":
            b"Transfer-Encoding: identity\r\nContent-Length: 5\r\n\r\nhello",
    }

    def test_framing_error_answers_400_and_closes_so_a_smuggled_request_gets_no_answer(self):
        srv = self.start_server()
        for name, tail in self.CASES.items():
            with self.subTest(name):
                c = Conn(srv)
                c.send(b"POST /v1/activate HTTP/1.1\r\nHost: localhost\r\n"
                       b"Content-Type: application/jose+json\r\n" + tail + self.SMUGGLED)
                data = c.read_until_closed()
                c.close()
                self.assertEqual(responses_in(data), [400], data[:600])
        # the server still serves
        self.assertIn("activate", srv.directory())

    def test_a_well_framed_request_leaves_the_connection_open_for_the_next(self):
        srv = self.start_server()
        c = Conn(srv)
        self.addCleanup(c.close)
        body = b'{"protected":"e30","payload":"","signature":"AA"}'
        c.send(b"POST /v1/activate HTTP/1.1\r\nHost: localhost\r\n"
               b"Content-Type: application/jose+json\r\nContent-Length: %d\r\n\r\n" % len(body)
               + body + b"GET /v1/directory HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        codes = responses_in(c.read_until_closed())
        self.assertEqual(len(codes), 2, codes)
        self.assertEqual(codes[0] // 100, 4)
        self.assertEqual(codes[1], 200)

    def test_payload_too_large_closes_without_reading_the_rest(self):
        srv = self.start_server()
        heads = {
            "content-length": b"Content-Length: 67108864\r\n\r\n",
            "chunked": b"Transfer-Encoding: chunked\r\n\r\n",
        }
        for name, head in heads.items():
            with self.subTest(name):
                c = Conn(srv)
                c.send(b"POST /v1/activate HTTP/1.1\r\nHost: localhost\r\n"
                       b"Content-Type: application/jose+json\r\n" + head)
                block = b"x" * 65536
                sent = 0
                if name == "chunked":
                    # the decoded size is known only once it is over the 64 KiB cap
                    block = b"10000\r\n" + block + b"\r\n"
                    c.send(block + b"1\r\nx\r\n")
                    sent = 65537
                self.assertEqual(responses_in(c.read_head()), [413])
                # the server no longer reads: sending the rest of 64 MiB fails early
                with self.assertRaises(OSError):
                    while sent < 64 << 20:
                        c.send(block)
                        sent += len(block)
                c.close()
                self.assertLess(sent, 16 << 20, f"{sent} bytes absorbed after the 413")
        self.assertIn("activate", srv.directory())


class IdleAndSlowClients(CertflowTestCase):
    """Config keys of server/certflowd.conf.example: threads, max_connections_per_address,
    head_timeout_ms, body_timeout_ms. Time bounds here are wide (seconds) on purpose."""

    def hold(self, srv, src, n):
        conns = [Conn(srv, src) for _ in range(n)]
        for c in conns:
            self.addCleanup(c.close)
        return conns

    def served(self, srv, src="127.0.0.1"):
        """Status of GET /v1/directory from src and the seconds it took."""
        t = time.monotonic()
        c = Conn(srv, src)
        try:
            c.send(b"GET /v1/directory HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            codes = responses_in(c.read_until_closed())
        finally:
            c.close()
        return (codes[0] if codes else None), time.monotonic() - t

    def test_a_client_that_sends_nothing_is_cut_off_after_the_head_timeout(self):
        srv = self.start_server(config={"head_timeout_ms": 1000})
        u = urlsplit(srv.url)
        for name in ("after the TLS handshake", "bare TCP, no handshake"):
            with self.subTest(name):
                t = time.monotonic()
                if name.startswith("bare"):
                    s = socket.create_connection((u.hostname, u.port), timeout=10)
                    self.addCleanup(s.close)
                    self.assertEqual(s.recv(100), b"")
                else:
                    c = Conn(srv)
                    self.addCleanup(c.close)
                    self.assertEqual(responses_in(c.read_until_closed()), [])
                self.assertLess(time.monotonic() - t, 5)

    def test_a_slow_body_is_cut_off_after_the_body_timeout(self):
        srv = self.start_server(config={"body_timeout_ms": 1000, "head_timeout_ms": 3000})
        c = Conn(srv)
        self.addCleanup(c.close)
        t = time.monotonic()
        c.send(b"POST /v1/activate HTTP/1.1\r\nHost: localhost\r\n"
               b"Content-Type: application/jose+json\r\nContent-Length: 100\r\n\r\n")
        # one byte every 0.2 s: each read gets data well within the head timeout
        with self.assertRaises(OSError):
            for _ in range(100):
                c.send(b"{")
                time.sleep(0.2)
        self.assertLess(time.monotonic() - t, 8)

    def test_over_the_per_address_cap_refused_at_once_while_another_address_is_served(self):
        srv = self.start_server(config={"max_connections_per_address": 4, "threads": 16})
        self.hold(srv, "127.0.0.2", 4)
        t = time.monotonic()
        c = Conn(srv, "127.0.0.2")
        self.addCleanup(c.close)
        data = c.read_until_closed()
        self.assertEqual(responses_in(data), [429], data[:400])
        self.assertIn(b"Retry-After: 1", data)
        self.assertLess(time.monotonic() - t, 2)
        self.assertEqual(self.served(srv, "127.0.0.3")[0], 200)

    def test_a_client_that_cannot_be_served_at_once_is_answered_503_quickly(self):
        srv = self.start_server(config={"threads": 4, "max_connections_per_address": 16})
        self.hold(srv, "127.0.0.2", 3)  # one worker stays to refuse
        status, secs = self.served(srv, "127.0.0.3")
        self.assertEqual(status, 503)
        self.assertLess(secs, 2)

    def test_a_request_is_served_while_idle_connections_are_held(self):
        srv = self.start_server(config={"threads": 40, "max_connections_per_address": 8})
        # 64 idle connections from 4 addresses (more than the 40 workers): 8 each are held by
        # workers, the rest refused at once
        for i in range(4):
            self.hold(srv, f"127.0.0.{i + 2}", 16)
        status, secs = self.served(srv)
        self.assertEqual(status, 200)
        self.assertLess(secs, 2)


if __name__ == "__main__":
    unittest.main()
