"""Shared fixtures of the conformance suite: configuration, response checks, enrolment and
activation helpers. Every response body is validated against its schema in spec/schemas."""
import datetime
import os
import re
import subprocess
import tempfile
import threading
import unittest

from cryptography import x509
from cryptography.hazmat.primitives import serialization

import cfclient
import cfschema
from cfclient import Client, Key, b64u, make_csr

HERE = os.path.dirname(os.path.abspath(__file__))

# Filled by run.py (or by environment variables when a test module is run alone).
CONFIG = {
    "server": os.environ.get("CERTFLOW_SERVER"),
    "ca": os.environ.get("CERTFLOW_CA"),
    "admin_key": os.environ.get("CERTFLOW_ADMIN_KEY"),
    "spec": os.environ.get("CERTFLOW_SPEC", os.path.join(HERE, "..", "..", "spec")),
    "clock_file": os.environ.get("CERTFLOW_CLOCK_FILE"),
    "maildir": os.environ.get("CERTFLOW_MAILDIR"),
}

NONCE_RE = re.compile(r"^[A-Za-z0-9_-]{21}[AQgw]$")
PROBLEM_PREFIX = "urn:certflow:error:"

# Activation codes seen during the run: never printed, and never allowed in a response body.
SECRETS = set()

_schemas = None
_admin_key = None


def schemas():
    global _schemas
    if _schemas is None:
        _schemas = cfschema.Schemas(os.path.join(CONFIG["spec"], "schemas"))
    return _schemas


def redact(text):
    for s in SECRETS:
        for form in (s, s.replace("-", ""), s.lower(), s.replace("-", "").lower()):
            text = text.replace(form, "<redacted>")
    return text


def admin_key():
    global _admin_key
    if _admin_key is None:
        _admin_key = Key.load_pem(CONFIG["admin_key"])
    return _admin_key


def new_client():
    if not CONFIG["server"] or not CONFIG["ca"] or not CONFIG["admin_key"]:
        raise unittest.SkipTest("no server configured (run.py --server URL --ca FILE --admin-key FILE)")
    return Client(CONFIG["server"], CONFIG["ca"], admin_key())


def parse_time(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


class Activation:
    """What a successful activation gave us."""

    def __init__(self, key, leaf_key, body, enrolment):
        self.key = key  # account key
        self.leaf_key = leaf_key
        self.body = body
        self.enrolment = enrolment
        self.kid = body["account"]
        self.credential = body["credential"]
        self.cert = x509.load_pem_x509_certificate(body["certificate"]["pem"].encode())
        self.serial = body["certificate"]["serial"]


class ConformanceTest(unittest.TestCase):
    maxDiff = 2000

    @classmethod
    def setUpClass(cls):
        cls.client = new_client()
        cls.dir = cls.client.directory()

    # ---- response checks -----------------------------------------------------------------
    def describe(self, r):
        s = "HTTP %d %s" % (r.status, r.content_type or "-")
        if r.content_type.endswith("json") and r.body:
            try:
                doc = r.json()
                if isinstance(doc, dict) and "type" in doc:
                    s += " %s (%s)" % (doc.get("type"), str(doc.get("detail", ""))[:200])
            except ValueError:
                s += " (body is not JSON)"
        return redact(s)

    def check_common(self, r, allow_secret=False):
        nonce = r.header("replay-nonce")
        self.assertIsNotNone(nonce, "response without Replay-Nonce: " + self.describe(r))
        self.assertRegex(nonce, NONCE_RE, "Replay-Nonce is not base64url of 16 octets")
        if not allow_secret:
            low = r.body.decode("utf-8", "replace").lower()
            for code in SECRETS:
                # whole tokens only: a 6-digit OTP may occur by chance inside a 10-digit user id
                forms = {code.lower(), code.replace("-", "").lower()}
                self.assertFalse(any(re.search(r"(?<![0-9a-z])%s(?![0-9a-z])" % re.escape(f), low) for f in forms),
                                 "a secret appears in a response body (%d %s)" % (r.status, r.content_type))

    def validate(self, schema, doc, what=""):
        errs = schemas().errors(schema, doc)
        self.assertEqual(errs, [], redact("%s does not match schema %s" % (what or "body", schema)))

    def expect(self, r, status, schema=None, problem=None, allow_secret=False):
        """Check status, Replay-Nonce, content type and schema. Returns the JSON body or None."""
        self.check_common(r, allow_secret)
        if problem is not None:
            self.assertEqual((r.status, self._ptype(r)), (status, PROBLEM_PREFIX + problem),
                             "expected %d %s, got %s" % (status, problem, self.describe(r)))
        self.assertEqual(r.status, status, "expected HTTP %d, got %s" % (status, self.describe(r)))
        if r.status >= 400:
            return self.expect_problem_body(r)
        if schema is None:
            return None
        self.assertEqual(r.content_type, "application/json", "Content-Type of a %d response" % r.status)
        doc = r.json()
        self.validate(schema, doc, "HTTP %d body" % r.status)
        return doc

    def expect_problem_body(self, r):
        self.assertEqual(r.content_type, "application/problem+json", "problem media type: " + self.describe(r))
        doc = r.json()
        self.validate("problem", doc, "problem document")
        self.assertEqual(doc["status"], r.status, "problem status member equals the HTTP status")
        # a detail is shown to people: words, not resource paths or member paths (issue 10)
        self.assertNotRegex(doc.get("detail", ""), r"/v1/|/csc/|\bmeta\.|\bPOST\b|\bGET\b",
                            "problem detail names a resource: " + self.describe(r))
        return doc

    def _ptype(self, r):
        if r.content_type != "application/problem+json":
            return None
        try:
            return r.json().get("type")
        except (ValueError, AttributeError):
            return None

    # ---- admin and fixtures --------------------------------------------------------------
    def admin(self, op, payload, status=200, problem=None):
        r = self.client.admin(op, payload)
        schema = None if problem else "admin-%s-response" % op
        return self.expect(r, status, schema, problem)

    def concurrently(self, n, request):
        """request(client) run by n threads at once, each with its own client and a nonce
        taken beforehand: the n responses, in thread order."""
        clients = [Client(CONFIG["server"], CONFIG["ca"]) for _ in range(n)]
        for c in clients:
            c.nonce = c.new_nonce()
        start = threading.Barrier(n)
        answers = [None] * n

        def one(i):
            start.wait(timeout=30)
            answers[i] = request(clients[i])

        threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        self.assertNotIn(None, answers, "a request got no answer")
        return answers

    def admin_all(self, op, member, payload=None):
        """Every record of a paged admin list (§12 "Lists"): the pages walked with next."""
        items, after = [], None
        for _ in range(10000):
            body = dict(payload or {}, limit=1000)
            if after:
                body["after"] = after
            doc = self.admin(op, body)
            items += doc[member]
            after = doc.get("next")
            if not after:
                return items
        self.fail("%s: the pages never end" % op)

    def profile(self):
        profiles = self.dir["meta"]["profiles"]
        return "device" if "device" in profiles else sorted(profiles)[0]

    def new_enrolment(self, dns=True):
        subject = "conf-" + cfclient.random_suffix()
        payload = {"subject": subject, "profile": self.profile()}
        if dns:
            payload["dnsNames"] = [subject + ".example"]
        r = self.client.admin("enrolment-create", payload)
        # register the code as a secret before any assertion can print the body
        try:
            code = r.json().get("activationCode")
            if code:
                SECRETS.add(code)
        except (ValueError, AttributeError):
            pass
        doc = self.expect(r, 201, "admin-enrolment-create-response", allow_secret=True)
        self.assertEqual(doc["status"], "live")
        self.assertEqual(doc["failures"], 0)
        self.assertEqual(doc["subject"], subject)
        code = doc.pop("activationCode")
        return doc, code

    def enrolment(self, reference):
        found = [e for e in self.admin_all("enrolment-list", "enrolments")
                 if e["reference"] == reference]
        self.assertEqual(len(found), 1, "enrolment-list lists reference %s once" % reference)
        return found[0]

    def assert_enrolment_unchanged(self, enrol, failures=0):
        now = self.enrolment(enrol["reference"])
        self.assertEqual((now["status"], now["failures"]), ("live", failures),
                         "enrolment state after the request")

    def activate(self, enrol=None, code=None, key=None, leaf_key=None, cn="ignored.example", dns=()):
        if enrol is None:
            enrol, code = self.new_enrolment()
        key = key or Key.generate()
        leaf_key = leaf_key or Key.generate()
        r = self.client.activate(key, enrol["reference"], code, make_csr(leaf_key, cn, dns))
        body = self.expect(r, 201, "activate-response")
        self.assertEqual(r.header("location"), body["credential"]["url"], "Location of activation is the credential URL")
        return Activation(key, leaf_key, body, enrol)

    def fetch_crl(self):
        r = self.client.get(self.dir["crl"])
        self.expect(r, 200)
        self.assertEqual(r.content_type, "application/pkix-crl")
        return r.body, x509.load_der_x509_crl(r.body)

    def fetch_chain(self):
        r = self.client.get(self.dir["caChain"])
        self.expect(r, 200)
        self.assertEqual(r.content_type, "application/pem-certificate-chain")
        return r.body

    def run_openssl(self, *args):
        p = subprocess.run(["openssl"] + list(args), capture_output=True, text=True, timeout=60)
        return p.returncode, p.stdout + p.stderr

    def tmpdir(self):
        d = tempfile.TemporaryDirectory(prefix="certflow-conf-")
        self.addCleanup(d.cleanup)
        return d.name

    def write(self, directory, name, data):
        path = os.path.join(directory, name)
        with open(path, "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode())
        return path


def pem_certs(text):
    if isinstance(text, bytes):
        text = text.decode()
    return x509.load_pem_x509_certificates(text.encode()) if hasattr(x509, "load_pem_x509_certificates") else [
        x509.load_pem_x509_certificate(("-----BEGIN" + p).encode()) for p in text.split("-----BEGIN")[1:]]


def der(cert):
    return cert.public_bytes(serialization.Encoding.DER)


__all__ = ["ConformanceTest", "CONFIG", "SECRETS", "Activation", "pem_certs", "der", "parse_time", "utcnow", "b64u",
           "Key", "make_csr", "redact"]
