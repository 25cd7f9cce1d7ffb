"""An independent RFC 8555 client for the conformance suite's ACME part (spec/acme.md).

Built on cfclient's raw HTTP transport, keys and flattened JWS, so that each request can break one
rule at a time: the outer JWS (jwk or kid, nonce, url, alg), the external account binding (HS256
over the account's JWK, RFC 8555 §7.3.4), keyChange's inner JWS (§7.3.5), revokeCert (§7.6).
Standard library + python3-cryptography only.
"""
import hashlib
import hmac
import urllib.parse

import cfclient
from cfclient import Key, Transport, b64u, b64u_decode, jdump, jws, jws_parts

PROBLEM_PREFIX = "urn:ietf:params:acme:error:"


def eab_jws(hmac_key_b64u, eab_kid, url, jwk, alg="HS256", extra=None, payload=None, mac_key=None):
    """The externalAccountBinding member: protected {alg, kid, url}, payload the account's JWK,
    HMAC-SHA-256 under the binding key. payload/mac_key override what is signed and with which
    key (for the bad-input checks)."""
    hdr = {"alg": alg, "kid": eab_kid, "url": url}
    if extra:
        hdr.update(extra)
    p = b64u(jdump(hdr))
    pl = b64u(jdump(jwk if payload is None else payload))
    key = mac_key if mac_key is not None else b64u_decode(hmac_key_b64u)
    sig = hmac.new(key, (p + "." + pl).encode(), hashlib.sha256).digest()
    return {"protected": p, "payload": pl, "signature": b64u(sig)}


def hs256_jws(secret, url, payload, nonce, jwk):
    """An outer JWS with alg HS256 (never acceptable to an ACME server)."""
    p = b64u(jdump({"alg": "HS256", "jwk": jwk, "nonce": nonce, "url": url}))
    pl = b64u(jdump(payload))
    sig = hmac.new(secret, (p + "." + pl).encode(), hashlib.sha256).digest()
    return {"protected": p, "payload": pl, "signature": b64u(sig)}


def none_jws(url, payload, nonce, jwk):
    """An outer JWS with alg none and an empty signature."""
    p = b64u(jdump({"alg": "none", "jwk": jwk, "nonce": nonce, "url": url}))
    return {"protected": p, "payload": b64u(jdump(payload)), "signature": ""}


class Account:
    """An ACME account of the tests: its key, its URL (kid), and the binding it was made with."""

    def __init__(self, key, url, names, enrolment, body):
        self.key, self.url, self.names, self.enrolment, self.body = key, url, names, enrolment, body


class AcmeClient:
    """RFC 8555 requests. Keeps the last Replay-Nonce it saw (any answer's)."""

    def __init__(self, server, cafile):
        self.server = server.rstrip("/")
        self.transport = Transport(self.server, cafile)
        self._dir = None
        self.nonce = None

    def http(self, method, url, body=None, headers=None):
        r = self.transport.request(method, url, body, headers)
        n = r.header("replay-nonce")
        if n:
            self.nonce = n
        return r

    def get(self, url):
        return self.http("GET", url)

    @property
    def directory_url(self):
        return self.server + "/acme/directory"

    def directory(self):
        if self._dir is None:
            r = self.get(self.directory_url)
            if r.status != 200:
                raise RuntimeError("GET the ACME directory: HTTP %d" % r.status)
            self._dir = r.json()
        return self._dir

    def url(self, name):
        return self.directory()[name]

    @property
    def base(self):
        """<base>/acme of the directory's URLs (what the server calls itself)."""
        return self.url("newNonce").rsplit("/", 1)[0]

    def new_nonce(self):
        r = self.http("HEAD", self.url("newNonce"))
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

    def post(self, url, key, payload, kid=None, nonce=None, extra=None, omit=(), sign_url=None):
        """payload None → POST-as-GET. kid None → jwk in the header. sign_url: the header's url
        when it must differ from the request's."""
        j = jws(key, sign_url or url, payload, nonce=nonce or self.take_nonce(), kid=kid, extra=extra,
                omit=omit)
        return self.post_body(url, j)

    def new_account(self, key, eab=None, only_return_existing=False, contact=None, payload=None):
        """eab: the externalAccountBinding member (eab_jws(...)) or None."""
        if payload is None:
            payload = {"termsOfServiceAgreed": True}
            if contact is not None:
                payload["contact"] = contact
            if only_return_existing:
                payload["onlyReturnExisting"] = True
            if eab is not None:
                payload["externalAccountBinding"] = eab
        return self.post(self.url("newAccount"), key, payload)

    def binding_for(self, key, eab_kid, hmac_key, **kw):
        return eab_jws(hmac_key, eab_kid, self.url("newAccount"), key.jwk(), **kw)

    def new_order(self, acct, names, extra=None):
        payload = {"identifiers": [{"type": "dns", "value": n} for n in names]}
        if extra:
            payload.update(extra)
        return self.post(self.url("newOrder"), acct.key, payload, kid=acct.url)

    def get_as(self, acct, url):
        """POST-as-GET by acct."""
        return self.post(url, acct.key, None, kid=acct.url)

    def finalize(self, acct, finalize_url, csr_der):
        return self.post(finalize_url, acct.key, {"csr": b64u(csr_der)}, kid=acct.url)

    def revoke(self, cert_der, reason=None, acct=None, cert_key=None):
        """By the account (kid) or by the certificate's key (jwk)."""
        payload = {"certificate": b64u(cert_der)}
        if reason is not None:
            payload["reason"] = reason
        if acct is not None:
            return self.post(self.url("revokeCert"), acct.key, payload, kid=acct.url)
        return self.post(self.url("revokeCert"), cert_key, payload)

    def key_change(self, acct, new_key, inner_url=None, account=None, old_jwk=None):
        """RFC 8555 §7.3.5: inner JWS by the new key (jwk, url, no nonce) over {account, oldKey},
        outer JWS by the old key (kid)."""
        url = self.url("keyChange")
        inner_payload = {"account": account or acct.url, "oldKey": old_jwk or acct.key.jwk()}
        hdr = {"alg": new_key.alg, "jwk": new_key.jwk(), "url": inner_url or url}
        p, pl, s = jws_parts(new_key, hdr, inner_payload)
        return self.post(url, acct.key, {"protected": p, "payload": pl, "signature": s}, kid=acct.url)

    def renewal_info(self, cert):
        return self.get(self.url("renewalInfo").rstrip("/") + "/" + cfclient.certid(cert))


def path_of(url):
    return urllib.parse.urlsplit(url).path


__all__ = ["AcmeClient", "Account", "Key", "PROBLEM_PREFIX", "eab_jws", "hs256_jws", "none_jws", "path_of"]
