"""A holder of a remote credential (spec/protocol.md §23, §24), black box: apply with profile
"remote", operator approval, the two e-mails (user id + first password; the envelope with PIN,
PUK, emergency code and envelope number), portal login and password change, SMS codes from the
maildir, and the bearer requests of the portal. Shared by tests/conformance/test_remote_activation.py
and tests/integration/test_remote_custody.py; it asserts nothing itself beyond the shapes it needs
to go on."""
import json
import os
import re
import unittest

import cfclient
import cfmail

PASSPHRASE = "Env3lope-Pass!"
NEW_PASSWORD = "N3w-Portal-Pass!"
QUESTIONS = ["Name of your first school?", "City where your mother was born?", "Make of your first car?"]
ANSWERS = ["St Mary's", "London", "Babbage"]


def field(text, label):
    m = re.search(r"^%s: ?(\S+)\s*$" % re.escape(label), text, re.M)
    return m.group(1) if m else None


class Holder:
    """One applicant: its addresses, then what the e-mails delivered."""

    def __init__(self, client, maildir, consents=("terms", "privacy"), secrets=None):
        tag = cfclient.random_suffix()
        self.client = client
        self.mailbox = cfmail.Maildir(maildir)
        self.consents = list(consents)
        self.secrets = secrets if secrets is not None else set()
        self.email = "remote-%s@example.org" % tag
        self.mobile = "+4477%09d" % (int(tag, 16) % 10**9)
        self.application = None
        self.user_id = self.password = self.reference = None
        self.pin = self.puk = self.emergency = None
        self.envelope_number = None
        self.token = None
        self.sms_count = 0

    # ---- plain requests -------------------------------------------------------------------
    def url(self, path):
        return self.client.origin + path

    def bearer(self, path, body, token=None):
        """POST path with a JSON body (None: no body) and the session token."""
        headers = {"Authorization": "Bearer " + (token if token is not None else self.token)}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        return self.client.http("POST", self.url(path), data, headers)

    def public(self, path, payload):
        return self.client.post(self.url(path), cfclient.Key.generate(), payload, use_jwk=True)

    # ---- the journey ----------------------------------------------------------------------
    def apply_request(self):
        return {"profile": "remote", "givenName": "Grace", "surname": "Hopper", "uniqueId": "GRACE-1906",
                "email": self.email, "altEmail": "home-" + self.email, "mobile": self.mobile,
                "questions": [{"question": q, "answer": a} for q, a in zip(QUESTIONS, ANSWERS)],
                "consents": self.consents, "envelopePassphrase": PASSPHRASE}

    def read_delivery(self):
        """The two e-mails of the approval: user id, first password, reference; the envelope."""
        cred = cfmail.body(self.mailbox.find(self.email, "remote-credentials")[-1])
        self.user_id = field(cred, "Portal user id")
        self.password = field(cred, "First password")
        self.reference = field(cred, "Reference number")
        plain, number = cfmail.open_envelope(cfmail.body(self.mailbox.find(self.email, "remote-envelope")[-1]),
                                             PASSPHRASE)
        self.pin, self.puk, self.emergency = plain.get("pin"), plain.get("puk"), plain.get("emergencyCode")
        self.envelope_number = number
        for s in (self.password, self.pin, self.puk, self.emergency):
            if s:
                self.secrets.add(s)
        return plain

    def login(self, password=None):
        r = self.public("/v1/login", {"userId": self.user_id, "password": password or self.password})
        if r.status == 201:
            self.token = r.json()["token"]
            self.secrets.add(self.token)
        return r

    def change_password(self, new=NEW_PASSWORD):
        r = self.bearer("/v1/portal/password", {"password": self.password, "newPassword": new})
        if r.status == 200:
            self.password = new
            self.secrets.add(new)
        return r

    def send_sms(self):
        return self.bearer("/v1/portal/otp", {})

    def sms(self):
        """Ask for an SMS code for this session and read it from the maildir."""
        r = self.send_sms()
        if r.status != 202:
            raise AssertionError("POST /v1/portal/otp: HTTP %d %s" % (r.status, r.body[:300]))
        return self.next_sms()

    def next_sms(self):
        """The code of the next SMS to the mobile (whatever request had it sent)."""
        self.sms_count += 1
        text = cfmail.body(self.mailbox.find(self.mobile, "otp", self.sms_count)[-1])
        code = re.search(r"certflow code: (\d{6,8})", text).group(1)
        self.secrets.add(code)
        return code

    def activate(self, credential_id, puk, new_pin, otp):
        return self.bearer("/v1/portal/activate", {"credentialId": credential_id, "puk": puk, "newPin": new_pin,
                                                  "otp": otp})

    def change_pin(self, credential_id, pin, new_pin, otp):
        return self.bearer("/v1/portal/pin", {"credentialId": credential_id, "pin": pin, "newPin": new_pin,
                                             "otp": otp})

    # ---- portal reads, renewal and update (§23, §26) --------------------------------------
    def status(self):
        r = self.bearer("/v1/portal/status", {})
        if r.status != 200:
            raise AssertionError("status: HTTP %d %s" % (r.status, r.body[:300]))
        return r.json()

    def credential(self, credential_id):
        return [c for c in self.status()["credentials"] if c["id"] == credential_id][0]

    def renew(self, credential_id, otp, passphrase, coupon=None, new_pin=None, pin=None,
              identity=True, consents=None):
        body = {"credentialId": credential_id, "identityUnchanged": identity,
                "consents": self.consents if consents is None else consents,
                "pin": pin or self.pin, "otp": otp, "envelopePassphrase": passphrase}
        if coupon is not None:
            body["coupon"] = coupon
        if new_pin is not None:
            body["newPin"] = new_pin
        return self.bearer("/v1/portal/renew", body)

    def update_start(self, credential_id, otp, pin=None):
        return self.bearer("/v1/portal/update", {"credentialId": credential_id, "consents": self.consents,
                                                 "pin": pin or self.pin, "otp": otp})

    def update_otp(self, ticket):
        return self.bearer("/v1/portal/update/otp", {"ticket": ticket})

    def update_complete(self, ticket, otp, passphrase, new_pin=None):
        body = {"ticket": ticket, "otp": otp, "envelopePassphrase": passphrase}
        if new_pin is not None:
            body["newPin"] = new_pin
        return self.bearer("/v1/portal/update/complete", body)

    def renewal_envelope(self, passphrase, count=1):
        """The newest renewal-envelope e-mail opened with passphrase: (plaintext, number)."""
        mail = self.mailbox.find(self.email, "renewal-envelope", count)[-1]
        plain, number = cfmail.open_envelope(cfmail.body(mail), passphrase)
        for k in ("puk", "emergencyCode"):
            if plain.get(k):
                self.secrets.add(plain[k])
        return plain, number


class ServerClock:
    """The server's test clock (run.py --clock-file): its time when the test starts, moved by the
    test (the file holds Unix seconds and the server reads "now" from it), put back at cleanup.
    Skips the test when there is no clock file."""

    def __init__(self, test, path):
        if not path:
            raise unittest.SkipTest("needs --clock-file (a server started with --test-clock)")
        self.path = path
        with open(path) as f:
            original = f.read()
        test.addCleanup(self._write, original)
        self.now = int(original.strip())

    def _write(self, text):
        with open(self.path + ".tmp", "w") as f:
            f.write(text)
        os.replace(self.path + ".tmp", self.path)

    def set(self, t):
        self.now = t
        self._write("%d\n" % t)

    def advance(self, seconds):
        self.set(self.now + seconds)
        return self.now


def other_digits(s):
    """Another string of digits of the same length (never equal to s)."""
    return "".join(str((int(ch) + 1) % 10) for ch in s)


def make_active(client, maildir, secrets, new_pin="40271936"):
    """A holder with an active remote credential and a logged-in session whose password is
    changed: apply → operator approval → the two e-mails → login → password change → an SMS
    code → activation with the PUK and new_pin. Sets holder.credential_id and holder.pin.
    Raises AssertionError at the first unexpected answer. Uses the one SMS a subject may get per
    minute (otp_resend_secs): a caller that needs more moves the server's test clock."""
    h = Holder(client, maildir, secrets=secrets)

    def step(r, status, what):
        if r.status != status:
            raise AssertionError("%s: HTTP %d %s" % (what, r.status, r.body[:300]))
        return r.json() if r.body else None

    app = step(client.post(client.directory()["apply"], cfclient.Key.generate(), h.apply_request(),
                           use_jwk=True), 201, "apply")
    h.application = app["id"]
    if app.get("status") == "pending":
        step(client.admin("application-approve", {"id": app["id"]}), 200, "application-approve")
    h.read_delivery()
    step(h.login(), 201, "login")
    step(h.change_password(), 200, "password change")
    status = step(h.bearer("/v1/portal/status", {}), 200, "portal status")
    pending = [c["id"] for c in status["credentials"] if c.get("status") == "pending"]
    if len(pending) != 1:
        raise AssertionError("expected one pending remote credential, got %r" % status["credentials"])
    h.credential_id = pending[0]
    step(h.activate(h.credential_id, h.puk, new_pin, h.sms()), 200, "activation")
    h.pin = new_pin
    secrets.add(new_pin)
    return h

