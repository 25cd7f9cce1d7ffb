#!/usr/bin/python3
"""seeds.py OUTDIR — starting corpora for the fuzz targets, made when the tests run (no test
PKI is committed): OUTDIR/json (the spec's examples), OUTDIR/jws (flattened JWS signed with fresh
ES256/ES384/RS256 keys around those payloads), OUTDIR/csr (DER PKCS#10 of fresh P-256, P-384 and
RSA keys), OUTDIR/http_head (request and response heads), OUTDIR/dns (DNS answers)."""
import base64
import glob
import json
import os
import struct
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from cryptography.x509.oid import NameOID

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.join(HERE, "..", "..", "spec", "examples")


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def jwk(key):
    pub = key.public_key().public_numbers()
    if isinstance(key, rsa.RSAPrivateKey):
        n = pub.n.to_bytes((pub.n.bit_length() + 7) // 8, "big")
        return {"kty": "RSA", "n": b64u(n), "e": b64u(pub.e.to_bytes(3, "big"))}
    size = (key.curve.key_size + 7) // 8
    return {"kty": "EC", "crv": "P-%d" % key.curve.key_size,
            "x": b64u(pub.x.to_bytes(size, "big")), "y": b64u(pub.y.to_bytes(size, "big"))}


def sign(key, data):
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    h = hashes.SHA256() if key.curve.key_size == 256 else hashes.SHA384()
    r, s = utils.decode_dss_signature(key.sign(data, ec.ECDSA(h)))
    size = (key.curve.key_size + 7) // 8
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


def write(d, name, data):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def main(out):
    keys = [("ES256", ec.generate_private_key(ec.SECP256R1())),
            ("ES384", ec.generate_private_key(ec.SECP384R1())),
            ("RS256", rsa.generate_private_key(public_exponent=65537, key_size=2048))]
    for i, path in enumerate(sorted(glob.glob(os.path.join(EXAMPLES, "*.json")))):
        with open(path, "rb") as f:
            text = f.read()
        write(os.path.join(out, "json"), "ex%03d" % i, text)
        if "-request" not in path:
            continue
        alg, key = keys[i % len(keys)]
        hdr = {"alg": alg, "nonce": b64u(os.urandom(16)), "url": "https://127.0.0.1:8443/v1/activate"}
        if i % 2:
            hdr["jwk"] = jwk(key)
        else:
            hdr["kid"] = "https://127.0.0.1:8443/v1/account/" + b64u(os.urandom(32))
        p = b64u(json.dumps(hdr).encode())
        pl = b64u(json.dumps(json.loads(text)).encode())
        body = {"protected": p, "payload": pl, "signature": b64u(sign(key, (p + "." + pl).encode()))}
        write(os.path.join(out, "jws"), "jws%03d" % i, json.dumps(body).encode())
    for alg, key in keys:
        csr = x509.CertificateSigningRequestBuilder().subject_name(
            x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "device-0042")])).sign(key, hashes.SHA256())
        write(os.path.join(out, "csr"), alg, csr.public_bytes(serialization.Encoding.DER))
        # the ACME form: an empty subject, the names in subjectAltName (ca_csr_check_acme)
        acme = x509.CertificateSigningRequestBuilder().subject_name(x509.Name([])).add_extension(
            x509.SubjectAlternativeName([x509.DNSName("a.example"), x509.DNSName("b.example")]),
            critical=False).sign(key, hashes.SHA256())
        write(os.path.join(out, "csr"), "acme-" + alg, acme.public_bytes(serialization.Encoding.DER))
    heads = [
        b"POST /v1/activate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/jose+json\r\n"
        b"Content-Length: 120",
        b"POST /v1/account/abc HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5",
        b"GET /v1/cert/5f1c0a93 HTTP/1.1\r\nConnection: close",
        b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 42\r\n"
        b"Replay-Nonce: abc\r\nLocation: https://a/v1/x\r\nRetry-After: 30\r\n"
        b"Date: Sun, 06 Nov 1994 08:49:37 GMT",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close",
        b"HTTP/1.0 400 Bad Request\r\nContent-Length: 3\r\nContent-Length: 4",
    ]
    for i, h in enumerate(heads):
        write(os.path.join(out, "http_head"), "head%d" % i, h)
    # DNS answers to "_acme-challenge.a.test TXT?": two TXT records (one of two strings), a CNAME,
    # NXDOMAIN (RFC 1035 §4.1)
    question = b"\x0f_acme-challenge\x01a\x04test\x00\x00\x10\x00\x01"

    def rr(rtype, rdata):
        return b"\xc0\x0c" + struct.pack("!HHIH", rtype, 1, 60, len(rdata)) + rdata

    answers = [
        struct.pack("!6H", 0x1234, 0x8180, 1, 2, 0, 0) + question
        + rr(16, b"\x2b" + b"A" * 43) + rr(16, b"\x03abc\x02de"),
        struct.pack("!6H", 0x1234, 0x8180, 1, 2, 0, 0) + question
        + rr(5, b"\x01b\x04test\x00") + rr(16, b"\x05value"),
        struct.pack("!6H", 0x1234, 0x8183, 1, 0, 0, 0) + question,
    ]
    for i, a in enumerate(answers):
        write(os.path.join(out, "dns"), "answer%d" % i, a)


if __name__ == "__main__":
    main(sys.argv[1])
