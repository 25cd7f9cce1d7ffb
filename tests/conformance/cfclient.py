"""An independent certflow protocol client for the conformance suite (spec/protocol.md).

Standard library + python3-cryptography only. Nothing here trusts the server: every request is
built byte by byte so that the malformed-request table can break exactly one rule at a time.

- HTTP: one TLS connection per request (Connection: close), raw socket, our own response parser,
  so that framing rows (Content-Length + Transfer-Encoding, chunked bodies, ...) are possible.
- JOSE: base64url, JWK, RFC 7638 thumbprint, ES256 (and RS256 for an RSA admin key), flattened JWS.
"""
import base64
import hashlib
import json
import os
import socket
import ssl
import urllib.parse

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

TIMEOUT = 20.0


# ---------------------------------------------------------------------------------------------
# base64url and JSON


def b64u(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64u_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def jdump(obj):
    """Compact JSON bytes (the form we sign)."""
    return json.dumps(obj, separators=(",", ":")).encode()


# ---------------------------------------------------------------------------------------------
# keys


class Key:
    """A signing key: EC P-256 (ES256), P-384 (ES384) or RSA (RS256)."""

    def __init__(self, private_key):
        self.priv = private_key

    @classmethod
    def generate(cls, kind="p256"):
        if kind == "p256":
            return cls(ec.generate_private_key(ec.SECP256R1()))
        if kind == "p384":
            return cls(ec.generate_private_key(ec.SECP384R1()))
        if kind.startswith("rsa"):
            return cls(rsa.generate_private_key(public_exponent=65537, key_size=int(kind[3:])))
        if kind == "ed25519":
            from cryptography.hazmat.primitives.asymmetric import ed25519

            return cls(ed25519.Ed25519PrivateKey.generate())
        raise ValueError(kind)

    @classmethod
    def load_pem(cls, path):
        with open(path, "rb") as f:
            return cls(serialization.load_pem_private_key(f.read(), password=None))

    @property
    def alg(self):
        if isinstance(self.priv, rsa.RSAPrivateKey):
            return "RS256"
        return {256: "ES256", 384: "ES384", 521: "ES512"}.get(self.priv.curve.key_size, "ES256")

    def jwk(self):
        pub = self.priv.public_key()
        if isinstance(pub, ec.EllipticCurvePublicKey):
            n = pub.public_numbers()
            size = (pub.curve.key_size + 7) // 8
            crv = {256: "P-256", 384: "P-384", 521: "P-521"}[pub.curve.key_size]
            return {"crv": crv, "kty": "EC", "x": b64u(n.x.to_bytes(size, "big")), "y": b64u(n.y.to_bytes(size, "big"))}
        if isinstance(pub, rsa.RSAPublicKey):
            n = pub.public_numbers()
            return {"e": b64u(n.e.to_bytes((n.e.bit_length() + 7) // 8, "big")), "kty": "RSA",
                    "n": b64u(n.n.to_bytes((n.n.bit_length() + 7) // 8, "big"))}
        raise ValueError("no JWK for this key type")

    def thumbprint(self):
        """RFC 7638: SHA-256 over the required members in lexicographic order, no white space."""
        j = self.jwk()
        req = ("crv", "kty", "x", "y") if j["kty"] == "EC" else ("e", "kty", "n")
        return b64u(hashlib.sha256(jdump({k: j[k] for k in req})).digest())

    def sign(self, data):
        if isinstance(self.priv, rsa.RSAPrivateKey):
            return self.priv.sign(data, padding.PKCS1v15(), hashes.SHA256())
        digest = {384: hashes.SHA384(), 521: hashes.SHA512()}.get(self.priv.curve.key_size, hashes.SHA256())
        r, s = decode_dss_signature(self.priv.sign(data, ec.ECDSA(digest)))
        size = (self.priv.curve.key_size + 7) // 8
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")

    def public_der(self):
        return self.priv.public_key().public_bytes(serialization.Encoding.DER,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo)


def make_csr(key, cn="ignored.example", dns=(), bad_signature=False):
    """DER PKCS#10 for key. cn=None makes an empty subject. bad_signature flips a bit in the
    signature (a CSR whose self-signature does not verify)."""
    name = x509.Name([]) if cn is None else x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    b = x509.CertificateSigningRequestBuilder().subject_name(name)
    if dns:
        b = b.add_extension(x509.SubjectAlternativeName([x509.DNSName(d) for d in dns]), critical=False)
    from cryptography.hazmat.primitives.asymmetric import ed25519
    algo = None if isinstance(key.priv, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    der = b.sign(key.priv, algo).public_bytes(serialization.Encoding.DER)
    if bad_signature:
        der = bytearray(der)
        der[-5] ^= 0x01  # inside the signature BIT STRING (last element of the SEQUENCE)
        der = bytes(der)
    return der


# ---------------------------------------------------------------------------------------------
# JWS


def jws_parts(key, protected, payload, sign_key=None):
    """protected: dict or raw bytes; payload: dict, bytes, or None/"" for POST-as-GET.
    Returns (protected_b64, payload_b64, signature_b64)."""
    p = b64u(protected if isinstance(protected, bytes) else jdump(protected))
    if payload is None or payload == "" or payload == b"":
        pl = ""
    else:
        pl = b64u(payload if isinstance(payload, bytes) else jdump(payload))
    sig = (sign_key or key).sign((p + "." + pl).encode())
    return p, pl, b64u(sig)


def jws(key, url, payload, nonce=None, kid=None, extra=None, omit=()):
    """Flattened JWS dict. kid None → jwk in the header. nonce None → no nonce member."""
    hdr = {"alg": key.alg}
    if kid is None:
        hdr["jwk"] = key.jwk()
    else:
        hdr["kid"] = kid
    if nonce is not None:
        hdr["nonce"] = nonce
    hdr["url"] = url
    if extra:
        hdr.update(extra)
    for m in omit:
        hdr.pop(m, None)
    p, pl, s = jws_parts(key, hdr, payload)
    return {"protected": p, "payload": pl, "signature": s}


# ---------------------------------------------------------------------------------------------
# HTTP


class Response:
    def __init__(self, status, reason, headers, body):
        self.status = status
        self.reason = reason
        self.headers = headers  # list of (lower-case name, value)
        self.body = body

    def header(self, name):
        name = name.lower()
        for k, v in self.headers:
            if k == name:
                return v
        return None

    def header_all(self, name):
        return [v for k, v in self.headers if k == name.lower()]

    @property
    def content_type(self):
        ct = self.header("content-type") or ""
        return ct.split(";")[0].strip().lower()

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return "<HTTP %d %s, %d octets>" % (self.status, self.content_type, len(self.body))


class ConnectionClosed(Exception):
    pass


class Transport:
    """Sends raw HTTP/1.1 requests to the server address, whatever host a URL names.

    connect_url: the --server URL (where to connect). The Host header and TLS server name come
    from the request URL (as the directory gives it), so a server that calls itself
    'localhost' but listens on 127.0.0.1 works."""

    def __init__(self, connect_url, cafile):
        u = urllib.parse.urlsplit(connect_url)
        self.scheme = u.scheme
        self.addr = (u.hostname, u.port or (443 if u.scheme == "https" else 80))
        self.ctx = None
        if u.scheme == "https":
            self.ctx = ssl.create_default_context(cafile=cafile)

    def _connect(self, host):
        sock = socket.create_connection(self.addr, timeout=TIMEOUT)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.ctx:
            sock = self.ctx.wrap_socket(sock, server_hostname=host)
        return sock

    def raw(self, host, data, head=False):
        """Send data (bytes: a complete request) and read one response."""
        sock = self._connect(host)
        try:
            try:
                sock.sendall(data)
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
                pass  # the server may answer (413) and close before reading everything
            return read_response(sock, head)
        finally:
            sock.close()

    def request(self, method, url, body=None, headers=None):
        u = urllib.parse.urlsplit(url)
        target = u.path or "/"
        if u.query:
            target += "?" + u.query
        lines = ["%s %s HTTP/1.1" % (method, target), "Host: %s" % u.netloc, "Connection: close",
                 "User-Agent: certflow-conformance/1"]
        hdrs = dict(headers or {})
        if body is not None and "Content-Length" not in hdrs:
            hdrs["Content-Length"] = str(len(body))
        for k, v in hdrs.items():
            if v is not None:
                lines.append("%s: %s" % (k, v))
        data = ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")
        return self.raw(u.hostname, data, head=(method == "HEAD"))


def _recv(sock):
    try:
        return sock.recv(65536)
    except (ConnectionResetError, ssl.SSLEOFError, ssl.SSLZeroReturnError):
        return b""
    except ssl.SSLError:
        return b""


def read_response(sock, head=False):
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = _recv(sock)
        if not chunk:
            raise ConnectionClosed("connection closed before a complete response head (%d octets)" % len(buf))
        buf += chunk
        if len(buf) > 1 << 20:
            raise ConnectionClosed("response head too large")
    head_bytes, rest = buf.split(b"\r\n\r\n", 1)
    lines = head_bytes.decode("iso-8859-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    status = int(parts[1])
    reason = parts[2] if len(parts) > 2 else ""
    headers = []
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers.append((k.strip().lower(), v.strip()))
    hmap = {k: v for k, v in headers}
    if head or status in (204, 304) or 100 <= status < 200:
        return Response(status, reason, headers, b"")
    if "chunked" in hmap.get("transfer-encoding", "").lower():
        body = _read_chunked(sock, rest)
    elif "content-length" in hmap:
        n = int(hmap["content-length"])
        body = rest
        while len(body) < n:
            chunk = _recv(sock)
            if not chunk:
                raise ConnectionClosed("connection closed inside the response body")
            body += chunk
        body = body[:n]
    else:
        body = rest
        while True:
            chunk = _recv(sock)
            if not chunk:
                break
            body += chunk
    return Response(status, reason, headers, body)


def _read_chunked(sock, buf):
    body = b""
    while True:
        while b"\r\n" not in buf:
            c = _recv(sock)
            if not c:
                raise ConnectionClosed("closed inside chunked response")
            buf += c
        line, buf = buf.split(b"\r\n", 1)
        size = int(line.split(b";")[0].strip(), 16)
        if size == 0:
            return body
        while len(buf) < size + 2:
            c = _recv(sock)
            if not c:
                raise ConnectionClosed("closed inside chunked response")
            buf += c
        body += buf[:size]
        buf = buf[size + 2:]


# ---------------------------------------------------------------------------------------------
# protocol client


class Client:
    """The protocol, used by the tests. Keeps the last Replay-Nonce it saw."""

    def __init__(self, server, cafile, admin_key=None):
        self.server = server.rstrip("/")
        self.transport = Transport(self.server, cafile)
        self.admin_key = admin_key
        self._dir = None
        self.nonce = None

    # plain HTTP ----------------------------------------------------------------------------
    def http(self, method, url, body=None, headers=None):
        r = self.transport.request(method, url, body, headers)
        n = r.header("replay-nonce")
        if n:
            self.nonce = n
        return r

    def get(self, url):
        return self.http("GET", url)

    def directory(self):
        if self._dir is None:
            r = self.get(self.server + "/v1/directory")
            if r.status != 200:
                raise RuntimeError("GET /v1/directory: HTTP %d" % r.status)
            self._dir = r.json()
        return self._dir

    @property
    def origin(self):
        """scheme://host:port of the directory's URLs (what the server calls itself)."""
        u = urllib.parse.urlsplit(self.directory()["newNonce"])
        return "%s://%s" % (u.scheme, u.netloc)

    def account_url(self, key):
        return self.origin + "/v1/account/" + key.thumbprint()

    @property
    def admin_kid(self):
        return self.account_url(self.admin_key)

    def new_nonce(self):
        r = self.http("HEAD", self.directory()["newNonce"])
        n = r.header("replay-nonce")
        if not n:
            raise RuntimeError("HEAD new-nonce returned no Replay-Nonce (HTTP %d)" % r.status)
        return n

    def take_nonce(self):
        n = self.nonce or self.new_nonce()
        self.nonce = None
        return n

    # signed requests -----------------------------------------------------------------------
    def post_body(self, url, body, content_type="application/jose+json"):
        if isinstance(body, dict):
            body = jdump(body)
        return self.http("POST", url, body, {"Content-Type": content_type})

    def post(self, url, key, payload, kid=None, use_jwk=False):
        """payload None → POST-as-GET. kid: account URL; use_jwk: sign with the jwk instead."""
        j = jws(key, url, payload, nonce=self.take_nonce(), kid=None if use_jwk else kid)
        return self.post_body(url, j)

    def admin(self, op, payload):
        return self.post(self.admin_op_url(op), self.admin_key, payload, kid=self.admin_kid)

    def admin_op_url(self, op):
        return self.directory()["admin"].rstrip("/") + "/" + op

    def activate(self, key, reference, code, csr_der):
        payload = {"reference": reference, "activationCode": code, "csr": b64u(csr_der)}
        return self.post(self.directory()["activate"], key, payload, use_jwk=True)

    def renew(self, key, kid, credential_id, csr_der):
        return self.post(self.directory()["renew"], key, {"credential": credential_id, "csr": b64u(csr_der)}, kid=kid)


def certid(cert):
    """RFC 9773 certid of a cryptography x509.Certificate."""
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
    n = cert.serial_number
    return b64u(aki) + "." + b64u(n.to_bytes((n.bit_length() + 8) // 8, "big"))


def serial_hex(n):
    """Protocol form of a serial: minimal octets, two lower-case hex digits each."""
    h = format(n, "x")
    return ("0" + h) if len(h) % 2 else h


def random_suffix():
    return os.urandom(5).hex()
