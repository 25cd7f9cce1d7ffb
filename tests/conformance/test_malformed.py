"""The table of malformed requests (spec/protocol.md §1, §1.1, §4, §9; spec/errors.md).

Each row breaks one rule and expects one status and problem type. Rows against `activate` carry
the RIGHT activation code of a fresh enrolment (except the wrong-code rows), so that a server that
wrongly went ahead would consume the enrolment: after every row the suite checks that the
enrolment is still `live` with the expected failure count (admin enrolment-list), that the shared
account is unchanged, and that a fresh nonce still works.

Rows are (name, builder, HTTP status, problem name, target[, extra check]). A builder gets a Ctx
and returns a Req (sent with our HTTP client) or a Raw (bytes written to an ssl-wrapped socket).
"""
import hmac
import hashlib
import json
import os
import urllib.parse

import cfclient
from cfbase import ConformanceTest, Key, make_csr
from cfclient import b64u, jdump, jws_parts

DROP = object()  # marks a member to leave out


class Req:
    def __init__(self, url, body, content_type="application/jose+json", method="POST"):
        self.url, self.body, self.content_type, self.method = url, body, content_type, method


class Raw:
    def __init__(self, data):
        self.data = data


def _apply(d, kw):
    d = dict(d)
    for k, v in kw.items():
        if v is DROP:
            d.pop(k, None)
        else:
            d[k] = v
    return d


def nest(depth):
    """A JSON value of the given depth (an array counts 1)."""
    v = []
    for _ in range(depth - 1):
        v = [v]
    return v


class Ctx:
    def __init__(self, test, need_enrolment):
        self.t = test
        self.c = test.client
        self.d = test.dir
        self.acct = test.acct
        self.key = Key.generate()
        self.enrol, self.code = test.new_enrolment() if need_enrolment else (None, None)

    # --- pieces ---------------------------------------------------------------------------
    def nonce(self):
        return self.c.new_nonce()

    def act_payload(self, **kw):
        p = {"reference": self.enrol["reference"] if self.enrol else "000000000000",
             "activationCode": self.code or "0000-0000-0000-0000-0000", "csr": b64u(make_csr(Key.generate()))}
        return _apply(p, kw)

    def act_header(self, key=None, **kw):
        h = {"alg": "ES256", "jwk": (key or self.key).jwk(), "nonce": self.nonce(), "url": self.d["activate"]}
        return _apply(h, kw)

    def acct_header(self, **kw):
        h = {"alg": "ES256", "kid": self.acct.kid, "nonce": self.nonce(), "url": self.acct.kid}
        return _apply(h, kw)

    def parts(self, header, payload, sign_key=None):
        p, pl, s = jws_parts(self.key, header, payload, sign_key=sign_key)
        return {"protected": p, "payload": pl, "signature": s}

    def activation(self, header=None, payload=None, sign_key=None, **tamper):
        """A flattened JWS (dict) for activate; tamper: replace members of the JWS object."""
        j = self.parts(header if header is not None else self.act_header(),
                       payload if payload is not None else self.act_payload(), sign_key)
        return _apply(j, tamper)

    def account_read(self, header=None, payload=None, sign_key=None):
        return self.parts(header if header is not None else self.acct_header(), payload, sign_key or self.acct.key)

    def req(self, jws_obj, url=None, **kw):
        body = jws_obj if isinstance(jws_obj, bytes) else jdump(jws_obj)
        return Req(url or self.d["activate"], body, **kw)

    def raw(self, head_lines, body=b"", url=None):
        u = urllib.parse.urlsplit(url or self.d["activate"])
        lines = ["POST %s HTTP/1.1" % u.path, "Host: %s" % u.netloc, "Connection: close"] + head_lines
        return Raw(("\r\n".join(lines) + "\r\n\r\n").encode() + body)


# --- builders that need more than one line ----------------------------------------------------


def chunked(data, size=4096):
    out = b""
    for i in range(0, len(data), size):
        piece = data[i:i + size]
        out += b"%x\r\n" % len(piece) + piece + b"\r\n"
    return out + b"0\r\n\r\n"


def b64_padded(ctx):
    hdr = ctx.act_header()
    raw = jdump(hdr)
    while len(b64u(raw)) % 4 == 0:  # make sure padding would be needed
        raw += b" "
    p = b64u(raw) + "=" * (-len(b64u(raw)) % 4)
    pl = b64u(jdump(ctx.act_payload()))
    return {"protected": p, "payload": pl, "signature": b64u(ctx.key.sign((p + "." + pl).encode()))}


def b64_standard_alphabet(ctx):
    payload = ctx.act_payload(x=">>>>>>>>????????")
    raw = jdump(payload)
    while not any(ch in b64u(raw) for ch in "-_"):
        raw = b" " + raw
    p = b64u(jdump(ctx.act_header()))
    pl = b64u(raw).replace("-", "+").replace("_", "/")
    return {"protected": p, "payload": pl, "signature": b64u(ctx.key.sign((p + "." + pl).encode()))}


def b64_whitespace(ctx):
    j = ctx.activation()
    j["signature"] = j["signature"][:40] + " " + j["signature"][40:]
    return j


def b64_trailing_bits(ctx):
    j = ctx.activation()
    s = j["signature"]  # 64 octets → 86 characters, 4 unused bits in the last one
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    j["signature"] = s[:-1] + alphabet[alphabet.index(s[-1]) | 1]
    return j


def dup_body(ctx):
    j = ctx.activation()
    text = '{"protected":"%s","protected":"%s","payload":"%s","signature":"%s"}' % (
        b64u(jdump({"alg": "ES256"})), j["protected"], j["payload"], j["signature"])
    return text.encode()


def std_base64(der):
    """Standard base64 with at least one character base64url does not have: one CSR in a few
    hundred encodes without '+', '/' or '=' (then it is base64url too, and activates)."""
    text = cfclient.base64.b64encode(der).decode()
    return text if set(text) & set("+/=") else text + "=="


def dup_header(ctx):
    h = ctx.act_header()
    raw = jdump(h)[:-1] + b',"alg":"ES256"}'
    return ctx.parts(raw, ctx.act_payload())


def dup_payload(ctx):
    raw = jdump(ctx.act_payload())[:-1] + b',"reference":"%s"}' % ctx.enrol["reference"].encode()
    return ctx.parts(ctx.act_header(), raw)


def reused_nonce(ctx):
    n = ctx.nonce()
    ok = ctx.c.post_body(ctx.acct.kid, ctx.account_read(ctx.acct_header(nonce=n)))
    ctx.t.expect(ok, 200, "account")
    return ctx.activation(ctx.act_header(nonce=n))


def deep(depth):
    """Raw JSON text nested depth arrays deep (built as text: json.dumps recurses)."""
    return b"[" * depth + b"]" * depth


def deep_body(ctx):
    j = ctx.activation()
    return b'{"protected":"%s","payload":"%s","signature":"%s","x":%s}' % (
        j["protected"].encode(), j["payload"].encode(), j["signature"].encode(), deep(1000))


def deep_header(ctx):
    raw = jdump(ctx.act_header())[:-1] + b',"x":' + deep(1000) + b"}"
    return ctx.parts(raw, ctx.act_payload())


def deep_payload(ctx):
    raw = jdump(ctx.act_payload())[:-1] + b',"x":' + deep(1000) + b"}"
    return ctx.parts(ctx.act_header(), raw)


def raw_payload(ctx, member):
    """The activation payload with one more member written as raw JSON text."""
    return ctx.parts(ctx.act_header(), jdump(ctx.act_payload())[:-1] + b"," + member + b"}")


def padded_jwk(ctx):
    jwk = ctx.key.jwk()
    jwk["x"] += "="  # 32 octets → 43 characters; RFC 7515 §2 base64url carries no padding
    return ctx.activation(ctx.act_header(jwk=jwk))


def off_curve_jwk(ctx):
    jwk = ctx.key.jwk()
    y = bytearray(cfclient.b64u_decode(jwk["y"]))
    y[-1] ^= 1
    jwk["y"] = b64u(bytes(y))
    return ctx.activation(ctx.act_header(jwk=jwk))


def hs256(ctx):
    h = ctx.act_header(alg="HS256")
    p, pl = b64u(jdump(h)), b64u(jdump(ctx.act_payload()))
    mac = hmac.new(b"k" * 32, (p + "." + pl).encode(), hashlib.sha256).digest()
    return {"protected": p, "payload": pl, "signature": b64u(mac)}


def flipped(ctx):
    j = ctx.activation()
    s = bytearray(cfclient.b64u_decode(j["signature"]))
    s[20] ^= 0x10
    j["signature"] = b64u(bytes(s))
    return j


def other_payload(ctx):
    j = ctx.activation()
    j["payload"] = b64u(jdump(ctx.act_payload(csr=b64u(make_csr(Key.generate())))))
    return j


def admin_body(ctx, op, payload, key=None, kid=None):
    key = key or ctx.c.admin_key
    kid = kid or ctx.c.admin_kid
    url = ctx.c.admin_op_url(op)
    return ctx.req(cfclient.jws(key, url, payload, nonce=ctx.nonce(), kid=kid), url=url)


def no_enrolment_with_subject(prefix):
    def check(test, ctx):
        subjects = [e["subject"] for e in test.admin_all("enrolment-list", "enrolments")]
        test.assertFalse([s for s in subjects if s.startswith(prefix)], "an enrolment was created")
    return check


def shared_cert_still_valid(test, ctx):
    test.assertEqual(test.admin("certificate-show", {"serial": ctx.acct.serial})["status"], "valid")


SUBJECT_65 = "conf-long-" + "x" * 55
NONADMIN_SUBJECT = "conf-nonadmin-"
NOT_ON_CURVE = None

A, ACCT, ADMIN, NONE = "activate", "account", "admin", "none"
ROWS = [
    # --- HTTP framing (raw sockets) ---------------------------------------------------------
    ("content_length_and_transfer_encoding_both",
     lambda c: c.raw(["Content-Type: application/jose+json", "Content-Length: %d" % len(chunked(jdump(c.activation()))),
                      "Transfer-Encoding: chunked"], chunked(jdump(c.activation()))), 400, "malformed", A),
    ("chunked_body_with_a_bad_chunk_size",
     lambda c: c.raw(["Content-Type: application/jose+json", "Transfer-Encoding: chunked"],
                     b"zz\r\n" + jdump(c.activation()) + b"\r\n0\r\n\r\n"), 400, "malformed", A),
    ("chunked_body_over_64_KiB",
     lambda c: c.raw(["Content-Type: application/jose+json", "Transfer-Encoding: chunked"],
                     chunked(jdump(c.activation()) + b" " * 66000)), 413, "payloadTooLarge", A),
    ("post_without_content_length", lambda c: c.raw(["Content-Type: application/jose+json"]), 400, "malformed", A),
    ("content_length_not_a_number",
     lambda c: c.raw(["Content-Type: application/jose+json", "Content-Length: 12x"], b"{}"), 400, "malformed", A),
    ("body_over_64_KiB_even_if_valid_json",
     lambda c: c.req(jdump(c.activation()) + b" " * 65536), 413, "payloadTooLarge", A),
    ("wrong_content_type", lambda c: c.req(c.activation(), content_type="application/json"), 415, "unsupportedMediaType", A),
    ("missing_content_type", lambda c: c.req(c.activation(), content_type=None), 415, "unsupportedMediaType", A),
    ("get_on_a_post_resource", lambda c: Req(c.d["activate"], None, None, "GET"), 405, "methodNotAllowed", NONE),
    ("post_on_a_get_resource", lambda c: c.req(c.activation(), url=c.d["crl"]), 405, "methodNotAllowed", A),
    ("post_to_an_unknown_path", lambda c: c.req(c.activation(), url=c.t.client.origin + "/v1/no-such-thing"), 404, "notFound", A),
    # --- JSON -------------------------------------------------------------------------------
    ("body_not_json", lambda c: c.req(b"this is not json"), 400, "malformed", NONE),
    ("body_with_trailing_bytes", lambda c: c.req(jdump(c.activation()) + b" x"), 400, "malformed", A),
    ("body_top_level_array", lambda c: c.req(jdump([c.activation()])), 400, "malformed", A),
    ("body_with_a_duplicate_member", lambda c: c.req(dup_body(c)), 400, "malformed", A),
    ("body_nested_17_deep", lambda c: c.req(c.activation(x=nest(16))), 400, "malformed", A),
    ("protected_header_with_a_duplicate_member", lambda c: c.req(dup_header(c)), 400, "malformed", A),
    ("protected_header_not_an_object", lambda c: c.req(c.parts(b"[]", c.act_payload())), 400, "malformed", A),
    ("payload_not_json", lambda c: c.req(c.activation(payload=b"reference=1")), 400, "malformed", A),
    ("payload_top_level_array", lambda c: c.req(c.activation(payload=jdump([c.act_payload()]))), 400, "malformed", A),
    ("payload_with_a_duplicate_member", lambda c: c.req(dup_payload(c)), 400, "malformed", A),
    ("payload_nested_17_deep", lambda c: c.req(c.activation(payload=c.act_payload(x=nest(16)))), 400, "malformed", A),
    ("body_nested_1000_deep", lambda c: c.req(deep_body(c)), 400, "malformed", A),
    ("protected_header_nested_1000_deep", lambda c: c.req(deep_header(c)), 400, "malformed", A),
    ("payload_nested_1000_deep", lambda c: c.req(deep_payload(c)), 400, "malformed", A),
    ("body_with_a_raw_tab_in_a_string",
     lambda c: c.req(jdump(c.activation())[:-1] + b',"x":"a\tb"}'), 400, "malformed", A),
    ("payload_with_a_raw_line_feed_in_a_string", lambda c: c.req(raw_payload(c, b'"x":"a\nb"')), 400, "malformed", A),
    ("payload_number_ending_with_a_dot", lambda c: c.req(raw_payload(c, b'"x":1.')), 400, "malformed", A),
    ("payload_number_with_a_leading_zero", lambda c: c.req(raw_payload(c, b'"x":01')), 400, "malformed", A),
    ("payload_string_over_16_KiB", lambda c: c.req(c.activation(payload=c.act_payload(x="a" * 16385))), 400, "malformed", A),
    # --- base64url --------------------------------------------------------------------------
    ("base64url_with_padding", lambda c: c.req(b64_padded(c)), 400, "malformed", A),
    ("base64url_with_plus_and_slash", lambda c: c.req(b64_standard_alphabet(c)), 400, "malformed", A),
    ("base64url_with_white_space", lambda c: c.req(b64_whitespace(c)), 400, "malformed", A),
    ("base64url_with_nonzero_trailing_bits", lambda c: c.req(b64_trailing_bits(c)), 400, "malformed", A),
    # --- JWS protected header ---------------------------------------------------------------
    ("header_without_alg", lambda c: c.req(c.activation(c.act_header(alg=DROP))), 400, "malformed", A),
    ("header_alg_none", lambda c: c.req(c.activation(c.act_header(alg="none"))), 400, "badSignatureAlgorithm", A),
    ("header_alg_HS256", lambda c: c.req(hs256(c)), 400, "badSignatureAlgorithm", A),
    ("header_alg_RS256_with_an_EC_key", lambda c: c.req(c.activation(c.act_header(alg="RS256"))), 400, "badSignatureAlgorithm", A),
    ("header_alg_ES256_with_a_P384_key", lambda c: (lambda k: c.req(c.activation(c.act_header(alg="ES256", key=k), sign_key=k)))(Key.generate("p384")), 400, "badSignatureAlgorithm", A),
    ("header_with_both_jwk_and_kid", lambda c: c.req(c.activation(c.act_header(kid=c.acct.kid))), 400, "malformed", A),
    ("header_with_neither_jwk_nor_kid", lambda c: c.req(c.activation(c.act_header(jwk=DROP))), 400, "malformed", A),
    ("header_jwk_with_private_member_d",
     lambda c: c.req(c.activation(c.act_header(jwk=dict(c.key.jwk(), d=b64u(os.urandom(32)))))), 400, "malformed", A),
    ("header_jwk_coordinate_with_padding", lambda c: c.req(padded_jwk(c)), 400, "malformed", A),
    ("header_jwk_point_not_on_the_curve", lambda c: c.req(off_curve_jwk(c)), 400, "badPublicKey", A),
    ("header_kid_on_activate",
     lambda c: c.req(c.activation(c.act_header(jwk=DROP, kid=c.acct.kid), sign_key=c.acct.key)), 400, "malformed", A),
    ("header_jwk_on_an_account_request",
     lambda c: c.req(c.account_read(c.acct_header(kid=DROP, jwk=c.acct.key.jwk())), url=c.acct.kid), 400, "malformed", ACCT),
    ("header_without_url", lambda c: c.req(c.activation(c.act_header(url=DROP))), 400, "malformed", A),
    ("header_url_of_another_resource", lambda c: c.req(c.activation(c.act_header(url=c.d["renew"]))), 403, "unauthorized", A),
    ("header_without_nonce", lambda c: c.req(c.activation(c.act_header(nonce=DROP))), 400, "badNonce", A),
    ("header_nonce_already_used", lambda c: c.req(reused_nonce(c)), 400, "badNonce", A),
    ("header_nonce_unknown", lambda c: c.req(c.activation(c.act_header(nonce=b64u(os.urandom(16))))), 400, "badNonce", A),
    # --- signature and key ------------------------------------------------------------------
    ("signature_by_another_key", lambda c: c.req(c.activation(sign_key=Key.generate())), 400, "badSignature", A),
    ("signature_with_a_flipped_bit", lambda c: c.req(flipped(c)), 400, "badSignature", A),
    ("signature_of_63_octets",
     lambda c: c.req(c.activation(signature=b64u(cfclient.b64u_decode(c.activation()["signature"])[:63]))), 400, "badSignature", A),
    ("signature_over_another_payload", lambda c: c.req(other_payload(c)), 400, "badSignature", A),
    ("kid_request_signed_by_another_key",
     lambda c: c.req(c.account_read(sign_key=Key.generate()), url=c.acct.kid), 400, "badSignature", ACCT),
    ("kid_of_an_unknown_account",
     lambda c: c.req(c.parts(c.acct_header(kid=c.t.client.origin + "/v1/account/" + Key.generate().thumbprint()), None,
                             c.acct.key), url=c.acct.kid), 400, "accountDoesNotExist", ACCT),
    # --- payload members --------------------------------------------------------------------
    ("activate_as_post_as_get", lambda c: c.req(c.activation(payload=b"")), 400, "malformed", A),
    ("activate_without_csr", lambda c: c.req(c.activation(payload=c.act_payload(csr=DROP))), 400, "malformed", A),
    ("activate_reference_as_a_number",
     lambda c: c.req(c.activation(payload=c.act_payload(reference=int(c.enrol["reference"])))), 400, "malformed", A),
    ("activate_code_as_an_array",
     lambda c: c.req(c.activation(payload=c.act_payload(activationCode=[c.code]))), 400, "malformed", A),
    ("activate_reference_of_11_digits",
     lambda c: c.req(c.activation(payload=c.act_payload(reference=c.enrol["reference"][:11]))), 400, "malformed", A),
    ("activate_code_with_a_letter_outside_crockford_base32",
     lambda c: c.req(c.activation(payload=c.act_payload(activationCode="UUUU-UUUU-UUUU-UUUU-UUUU"))), 400, "malformed", A),
    ("activate_code_over_16_KiB",
     lambda c: c.req(c.activation(payload=c.act_payload(activationCode="A" * 16385))), 400, "malformed", A),
    # §1: a record id in a payload is 1 to 31 base64url characters; one that names nothing is notFound
    ("renew_credential_id_of_32_characters",
     lambda c: c.req(c.parts(c.acct_header(url=c.d["renew"]), {"credential": "A" * 32, "csr": b64u(make_csr(Key.generate()))},
                             c.acct.key), url=c.d["renew"]), 400, "malformed", ACCT),
    ("renew_unknown_credential_id_of_31_characters",
     lambda c: c.req(c.parts(c.acct_header(url=c.d["renew"]), {"credential": "A" * 31, "csr": b64u(make_csr(Key.generate()))},
                             c.acct.key), url=c.d["renew"]), 404, "notFound", ACCT),
    ("account_update_status_as_a_number",
     lambda c: c.req(c.account_read(payload={"status": 1}), url=c.acct.kid), 400, "malformed", ACCT),
    ("admin_enrolment_create_subject_of_65_characters",
     lambda c: admin_body(c, "enrolment-create", {"subject": SUBJECT_65, "profile": c.t.profile()}), 400, "malformed", ADMIN,
     no_enrolment_with_subject(SUBJECT_65[:20])),
    ("admin_enrolment_create_without_subject",
     lambda c: admin_body(c, "enrolment-create", {"profile": c.t.profile()}), 400, "malformed", ADMIN),
    ("admin_revoke_reason_as_a_string",
     lambda c: admin_body(c, "revoke", {"serial": c.acct.serial, "reason": "1"}), 400, "malformed", ADMIN, shared_cert_still_valid),
    ("admin_operation_by_a_non_admin_account",
     lambda c: admin_body(c, "enrolment-create", {"subject": NONADMIN_SUBJECT + cfclient.random_suffix()},
                          key=c.acct.key, kid=c.acct.kid), 403, "unauthorized", ACCT, no_enrolment_with_subject(NONADMIN_SUBJECT)),
    ("admin_revoke_by_a_non_admin_account",
     lambda c: admin_body(c, "revoke", {"serial": c.acct.serial, "reason": 1}, key=c.acct.key, kid=c.acct.kid),
     403, "unauthorized", ACCT, shared_cert_still_valid),
    # --- CSR --------------------------------------------------------------------------------
    ("csr_garbage_der", lambda c: c.req(c.activation(payload=c.act_payload(csr=b64u(b"\x30\x03\x02\x01\x00garbage")))),
     400, "badCSR", A),
    ("csr_with_a_bad_self_signature",
     lambda c: c.req(c.activation(payload=c.act_payload(csr=b64u(make_csr(Key.generate(), bad_signature=True))))),
     400, "badCSR", A),
    ("csr_with_an_rsa_1024_key",
     lambda c: c.req(c.activation(payload=c.act_payload(csr=b64u(make_csr(Key.generate("rsa1024")))))), 400, "badCSR", A),
    ("csr_with_an_rsa_2047_bit_key",
     lambda c: c.req(c.activation(payload=c.act_payload(csr=b64u(make_csr(Key.generate("rsa2047")))))), 400, "badCSR", A),
    ("csr_with_an_ed25519_key",
     lambda c: c.req(c.activation(payload=c.act_payload(csr=b64u(make_csr(Key.generate("ed25519")))))), 400, "badCSR", A),
    ("csr_with_an_empty_subject",
     lambda c: c.req(c.activation(payload=c.act_payload(csr=b64u(make_csr(Key.generate(), cn=None))))), 400, "badCSR", A),
    ("csr_not_base64url",
     lambda c: c.req(c.activation(payload=c.act_payload(csr=std_base64(make_csr(Key.generate()))))),
     400, "malformed", A),
    # --- activation code --------------------------------------------------------------------
    ("wrong_activation_code",
     lambda c: c.req(c.activation(payload=c.act_payload(activationCode=_wrong(c.code)))), 403, "badActivationCode", A, 1),
    ("unknown_reference",
     lambda c: c.req(c.activation(payload=c.act_payload(reference=_other_reference(c.enrol["reference"])))),
     403, "badActivationCode", A),
]


def _wrong(code):
    first = code[0].upper()
    return ("1" if first != "1" else "2") + code[1:]


def _other_reference(ref):
    return ("9" if ref[0] != "9" else "8") + ref[1:][::-1]


class TestMalformedRequests(ConformanceTest):
    """Generated: one test per row of ROWS (test_malformed_<row name>)."""

    acct = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        helper = cls("test_table_has_at_least_30_rows")
        helper.client, helper.dir = cls.client, cls.dir
        cls.acct = helper.activate()

    def test_table_has_at_least_30_rows(self):
        self.assertGreaterEqual(len(ROWS), 30)
        self.assertEqual(len({r[0] for r in ROWS}), len(ROWS), "row names are unique")

    def send(self, req):
        if isinstance(req, Raw):
            host = urllib.parse.urlsplit(self.dir["activate"]).hostname
            r = self.client.transport.raw(host, req.data)
        else:
            headers = {"Content-Type": req.content_type} if req.content_type else {}
            r = self.client.http(req.method, req.url, req.body, headers)
        return r

    def run_row(self, row):
        name, build, status, problem, target = row[:5]
        extra = row[5] if len(row) > 5 else None
        failures = extra if isinstance(extra, int) else 0
        check = extra if callable(extra) else None
        ctx = Ctx(self, need_enrolment=(target == A))
        try:
            r = self.send(build(ctx))
        except cfclient.ConnectionClosed as e:
            self.fail("no HTTP response (%s); expected %d %s" % (e, status, problem))
        self.expect(r, status, problem=problem)
        if status == 405:
            self.assertTrue(r.header("allow"), "405 response has an Allow header")
        # no state change
        if target == A:
            self.assert_enrolment_unchanged(ctx.enrol, failures)
        acct = self.expect(self.client.post(self.acct.kid, self.acct.key, None, kid=self.acct.kid), 200, "account")
        self.assertEqual(acct, {"status": "valid", "credentials": [self.acct.credential["url"]]},
                         "shared account unchanged (and a fresh nonce still works)")
        if check:
            check(self, ctx)
        if target == A and failures == 0:
            # the enrolment is still usable: the right code activates it
            self.activate(ctx.enrol, ctx.code)


def _make(row):
    def test(self):
        self.run_row(row)
    test.__name__ = "test_malformed_" + row[0]
    test.__doc__ = "%s → %d %s, and nothing changes" % (row[0], row[2], row[3])
    return test


for _row in ROWS:
    setattr(TestMalformedRequests, "test_malformed_" + _row[0], _make(_row))
