"""A small authoritative DNS server for tests (RFC 1035 over UDP on 127.0.0.1, ephemeral port):
it answers TXT questions from files in a directory — the file named like the question (lower
case, no trailing dot) holds one record value a line — and NXDOMAIN for any other name. Another
process (a certbot hook) publishes a record by appending a line to that file. Every question asked
is kept in `questions` (name, type)."""
import os
import socket
import struct
import threading

TYPE_TXT = 16
CLASS_IN = 1


def _read_name(msg, off):
    labels = []
    while True:
        n = msg[off]
        off += 1
        if n == 0:
            return ".".join(labels), off
        if n & 0xC0:
            raise ValueError("compressed name in a question")
        labels.append(msg[off:off + n].decode("ascii", "replace"))
        off += n


class DnsStub:
    def __init__(self, directory):
        self.directory = directory
        self.questions = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def publish(self, name, value):
        with open(os.path.join(self.directory, name.lower().rstrip(".")), "a") as f:
            f.write(value + "\n")

    def values(self, name):
        try:
            with open(os.path.join(self.directory, name.lower().rstrip("."))) as f:
                return [l.strip() for l in f if l.strip()]
        except (FileNotFoundError, IsADirectoryError):
            return None

    def close(self):
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()

    def _serve(self):
        while not self._stop.is_set():
            try:
                msg, peer = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                answer = self._answer(msg)
            except (ValueError, IndexError, struct.error):
                continue  # not a question this stub understands: no answer
            self.sock.sendto(answer, peer)

    def _answer(self, msg):
        qid, flags, qd, _, _, _ = struct.unpack("!6H", msg[:12])
        if qd != 1:
            raise ValueError("one question only")
        name, off = _read_name(msg, 12)
        qtype, qclass = struct.unpack("!2H", msg[off:off + 4])
        question = msg[12:off + 4]
        self.questions.append((name.lower(), qtype))
        values = self.values(name) if "/" not in name and not name.startswith(".") else None
        rflags = 0x8000 | 0x0400 | (flags & 0x0100) | 0x0080  # QR, AA, RD as asked, RA
        if values is None:
            return struct.pack("!6H", qid, rflags | 3, 1, 0, 0, 0) + question  # NXDOMAIN
        rrs = b""
        count = 0
        if qtype == TYPE_TXT and qclass == CLASS_IN:
            for v in values:
                data = v.encode()
                rdata = b"".join(bytes([len(data[i:i + 255])]) + data[i:i + 255]
                                 for i in range(0, max(len(data), 1), 255))
                rrs += struct.pack("!HHHIH", 0xC00C, TYPE_TXT, CLASS_IN, 0, len(rdata)) + rdata
                count += 1
        return struct.pack("!6H", qid, rflags, 1, count, 0, 0) + question + rrs
