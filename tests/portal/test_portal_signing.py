#!/usr/bin/python3
"""A remote signing certificate's holder in a real Chromium, beyond the PIN (issue 11): an
authenticator app set up with the QR code drawn in the page (spec/protocol.md §19, §23.5), a file
signed in the page through the CSC API (§25) into a detached CMS signature that openssl verifies,
and the login by QR code (§27) approved by the holder's agent. Each step: a screenshot, no
console error or CSP violation, axe-core, every control labelled, no secret left in the page."""
import json
import os
import re
import subprocess
import urllib.parse

from browser import DESKTOP, PHONE, By, Keys, PortalTestCase, Select, tearDownModule  # noqa: F401
from harness import program
from selenium.webdriver.common.action_chains import ActionChains
import test_portal_remote as remote

OATH_RE = re.compile(r"^otpauth://totp/certflow:[^?]+\?(.+)$")


def oath(secret, at):
    """The TOTP code of the base32 secret at the Unix time at, by oathtool."""
    argv = ["oathtool", "--totp", "-b", secret, "--now", "@%d" % at]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=True)
    return r.stdout.strip()


class PortalSigning(PortalTestCase):
    SERVER_CONFIG = remote.PortalRemote.SERVER_CONFIG
    # the remote holder's steps of test_portal_remote.py (functions, not its tests)
    mail = remote.PortalRemote.mail
    sms = remote.PortalRemote.sms
    sms_count = remote.PortalRemote.sms_count
    open_envelope = remote.PortalRemote.open_envelope
    apply_remote = remote.PortalRemote.apply_remote
    login = remote.PortalRemote.login
    send_code = remote.PortalRemote.send_code
    active_holder = remote.PortalRemote.active_holder
    activate_first = remote.PortalRemote.activate_first
    first_login = remote.PortalRemote.first_login
    fields = remote.PortalRemote.fields

    def step(self, name):
        PortalTestCase.step(self, name)
        self.assertNotRegex(self.css("main").text, r"\b(null|undefined|NaN|object)\b|/v1/|/csc/|urn:",
                            name)
        unlabelled = self.d.execute_script("""
            return [...document.querySelectorAll('main input, main select, main textarea')]
              .filter(e => !(e.id && document.querySelector('label[for="' + e.id + '"]')))
              .map(e => e.name || e.id);""")
        self.assertEqual(unlabelled, [], f"{name}: every control has a label")

    def read_qr(self, css, name):
        """The text of the QR code at css, read by zbarimg from a screenshot of the page."""
        path = os.path.join(self.tmp, f"{name}.png")
        el = self.css(css)
        self.d.execute_script("arguments[0].scrollIntoView({block: 'center'})", el)
        el.screenshot(path)
        r = subprocess.run(["zbarimg", "--raw", "-q", path], capture_output=True, text=True,
                           timeout=30)
        self.assertEqual(r.returncode, 0, f"zbarimg read no QR code: {r.stderr}")
        return r.stdout.strip()

    def tab_order(self, n):
        """The names (or ids, or types) of the next n controls that Tab reaches from the
        screen's heading."""
        self.css("main h1").click()
        got = []
        for _ in range(n):
            # keys to the page, not to an element (a file input takes send_keys as a path)
            ActionChains(self.d).send_keys(Keys.TAB).perform()
            el = self.d.switch_to.active_element
            got.append(el.get_attribute("name") or el.get_attribute("id") or
                       el.get_attribute("type"))
        return got

    def setup_totp(self):
        """From the dashboard: the authenticator set up in the page; its base32 secret."""
        self.css("#remote-totp").click()
        self.wait_heading("Set up an authenticator app")
        self.wait_css("main svg.qr")
        self.step("totp-setup")
        uri = self.read_qr("main svg.qr", "totp-qr")
        m = OATH_RE.match(uri)
        self.assertIsNotNone(m, uri)
        query = urllib.parse.parse_qs(m.group(1))
        secret = query["secret"][0]
        self.assertEqual(query["digits"], ["6"])
        self.assertEqual(self.css("#remote-totp-secret").text.replace(" ", ""), secret,
                         "the key for typing by hand is the QR code's")
        # a wrong first code: said in words, nothing confirmed
        self.expect_problem(403)
        # the codes of the server's time (the test clock stands still)
        good = oath(secret, self.srv.clock.now)
        self.type("otp", "000000" if good != "000000" else "111111")
        self.submit()
        text = self.wait_alert("code is not right", "tries left")
        self.assertNotIn("badOTP", text)
        self.assertEqual(self.field("otp").get_attribute("value"), "", "the code wiped")
        self.step("totp-wrong-code")
        self.type("otp", good).send_keys(Keys.ENTER)  # the keyboard sends the form
        self.wait_css("#remote-flash")
        self.assertIn("authenticator app is set up", self.css("#remote-flash").text)
        self.assertNotIn(secret, self.d.page_source, "the key left the page")
        self.assertEqual(self.d.find_elements(By.CSS_SELECTOR, "svg.qr"), [])
        self.assertEqual(self.d.find_elements(By.CSS_SELECTOR, "#remote-totp"), [],
                         "no set-up offered once confirmed")
        self.step("totp-confirmed")
        return secret

    def test_totp_set_up_from_the_qr_code_in_the_page_then_the_pin_changed_with_its_code(self):
        holder = remote.Holder(21)
        self.active_holder(holder)
        secret = self.setup_totp()
        # the server now takes the app's codes: the PIN page asks for no SMS, and the app's code
        # of the next time step (the confirming one is used) changes the PIN
        sent = self.sms_count(holder)
        self.css("main .credential a.button").click()
        self.wait_heading("Change your PIN")
        self.wait_css("main [name=pin]")
        self.assertEqual(self.d.find_elements(By.CSS_SELECTOR, "#remote-otp-send"), [],
                         "no \"send a new code\" for an authenticator's holder")
        self.type("pin", "27051998")
        self.type("newPin", "80316674")
        self.type("newPin2", "80316674")
        self.srv.clock.advance(seconds=30)
        self.type("otp", oath(secret, self.srv.clock.now))
        self.step("totp-pin-form")
        self.submit()
        self.wait_css("#remote-flash")
        self.assertIn("PIN is changed", self.css("#remote-flash").text)
        self.assertEqual(self.sms_count(holder), sent, "no SMS sent")
        events = self.admin_ok(self.srv, "audit", json_out=True)
        items = events["events"] if isinstance(events, dict) else events
        self.assertIn("totp.confirm", [e.get("action") for e in items])

    def test_totp_holder_told_to_use_the_apps_next_code_after_a_wrong_pin_not_to_send_one(self):
        holder = remote.Holder(24)
        self.active_holder(holder)
        secret = self.setup_totp()
        sent = self.sms_count(holder)

        def next_code():
            # each code is taken once (a wrong PIN uses it up): the app's next time step
            self.srv.clock.advance(seconds=30)
            return oath(secret, self.srv.clock.now)

        def told_of_the_app(text, screen):
            self.assertIn("authenticator app", text, screen)
            self.assertNotIn("new code", text, f"{screen}: no code can be sent to an app")
        # the PIN change: a wrong current PIN
        self.css("main .credential a.button").click()
        self.wait_heading("Change your PIN")
        self.wait_css("main [name=pin]")
        self.expect_problem(401)
        self.expect_problem(403)
        self.type("pin", "27051999")
        self.type("newPin", "80316674")
        self.type("newPin2", "80316674")
        used = next_code()
        self.type("otp", used)
        self.submit()
        told_of_the_app(self.wait_alert("PIN is not right", "4 tries left"), "pin")
        self.step("totp-pin-wrong-pin")
        # the same code again: taken already
        self.type("pin", "27051998")
        self.type("newPin", "80316674")
        self.type("newPin2", "80316674")
        self.type("otp", used)
        self.submit()
        told_of_the_app(self.wait_alert("code is not right"), "pin, code used")
        # signing: a wrong PIN, then a used code
        doc = os.path.join(self.tmp, "note.txt")
        with open(doc, "wb") as f:
            f.write(b"A note.\n")
        self.follow("#/remote")
        self.wait_css("main .credential a[href^='#/remote-sign/']")
        self.css("main .credential a[href^='#/remote-sign/']").click()
        self.wait_heading("Sign a file")
        self.wait_css("main [name=file]")
        self.field("file").send_keys(doc)
        self.type("pin", "27051999")
        used = next_code()
        self.type("otp", used)
        self.submit()
        told_of_the_app(self.wait_alert("PIN is not right", "Nothing was signed", "3 tries left"),
                        "sign")
        self.step("totp-sign-wrong-pin")
        self.type("pin", "27051998")
        self.type("otp", used)
        self.submit()
        told_of_the_app(self.wait_alert("code is not right", "Nothing was signed"), "sign, code used")
        # and in French
        Select(self.css("#lang")).select_by_value("fr")
        self.wait_heading("Signer un fichier")
        self.wait_css("main [name=file]")
        self.field("file").send_keys(doc)
        self.type("pin", "27051999")
        self.type("otp", next_code())
        self.submit()
        text = self.wait_alert("PIN n'est pas le bon", "application d'authentification")
        self.assertNotIn("nouveau code", text)
        self.step("totp-sign-wrong-pin-fr")
        self.assertEqual(self.sms_count(holder), sent, "no SMS sent")

    def test_totp_holder_resets_the_password_with_the_apps_code_and_is_told_so(self):
        holder = remote.Holder(25)
        user, _ = self.active_holder(holder)
        secret = self.setup_totp()
        sent = self.sms_count(holder)
        self.open("#/remote-forgot")
        self.wait_css("main [name=email]")
        self.type("email", holder.email)
        self.submit()
        self.wait_heading("Check your e-mail")
        text = self.mail(holder, "certflow: set a new portal password")
        self.assertIn("authenticator app", " ".join(text.split()), "the e-mail promises no SMS only")
        self.open("#/remote-reset/" + remote.TOKEN_RE.search(text).group(1))
        self.wait_css("main [name=otp]")
        self.assertIn("authenticator app", self.css("main .intro").text)
        # "send a new code": refused, and said to come from the app
        self.expect_problem(409)
        self.expect_problem(403)
        self.expect_problem(401)
        self.css("#remote-otp-send").click()
        self.wait_alert("authenticator app")
        self.step("totp-reset-send-refused")
        # a wrong code: said in words that fit the app, no new code to send
        good = oath(secret, self.srv.clock.now + 30)
        self.type("otp", "000000" if good != "000000" else "111111")
        self.type("newPassword", remote.RESET_PASSWORD)
        self.type("newPassword2", remote.RESET_PASSWORD)
        self.submit()
        text = self.wait_alert("code is not right", "authenticator app")
        self.assertNotIn("new code", text)
        self.step("totp-reset-wrong-code")
        self.srv.clock.advance(seconds=30)
        self.type("otp", good)
        self.type("newPassword", remote.RESET_PASSWORD)
        self.type("newPassword2", remote.RESET_PASSWORD)
        self.submit()
        self.wait_heading("Your new password is saved")
        self.assertEqual(self.sms_count(holder), sent, "no SMS sent")
        self.login(user, remote.RESET_PASSWORD)
        self.wait_heading("Your remote signing certificate")

    def test_sign_a_file_in_the_page_and_openssl_verifies_the_detached_p7s(self):
        holder = remote.Holder(22)
        self.active_holder(holder)
        doc = os.path.join(self.tmp, "contract.txt")
        with open(doc, "wb") as f:
            f.write(b"I, Grace Hopper, agree to the terms.\n" * 100)
        self.css("main .credential a[href^='#/remote-sign/']").click()
        self.wait_heading("Sign a file")
        self.wait_css("main [name=file]")
        self.step("sign-form")
        self.assertEqual(self.tab_order(5), ["file", "pin", "otp", "remote-otp-send", "submit"],
                         "the keyboard reaches every control in order")
        self.size(*DESKTOP)
        self.step("sign-form-desktop")
        self.size(*PHONE)
        # a wrong PIN: said in words, counted, nothing signed
        self.expect_problem(403)
        self.field("file").send_keys(doc)
        self.type("pin", "27051999")
        self.send_code(holder, self.sms_count(holder) + 1)
        self.submit()
        text = self.wait_alert("PIN is not right", "Nothing was signed", "4 tries left")
        self.assertNotIn("badPIN", text)
        for name in ("pin", "otp"):
            self.assertEqual(self.field(name).get_attribute("value"), "", f"{name} wiped")
        self.assertEqual(self.d.find_elements(By.CSS_SELECTOR, "#remote-sign-download"), [])
        self.step("sign-wrong-pin")
        # the right PIN and a new code: the signature is offered from the page's memory
        downloads = self.download_dir()
        self.type("pin", "27051998")
        self.send_code(holder, self.sms_count(holder) + 1)
        self.field("otp").send_keys(Keys.ENTER)
        self.wait_css("#remote-sign-download")
        link = self.css("#remote-sign-download")
        self.assertEqual(link.get_attribute("download"), "contract.txt.p7s")
        self.assertTrue(link.get_attribute("href").startswith("blob:"))
        self.step("sign-done")
        link.click()
        p7s = self.wait_download(downloads, "contract.txt.p7s")
        events = self.admin_ok(self.srv, "audit", json_out=True)
        items = events["events"] if isinstance(events, dict) else events
        signs = [e for e in items if e.get("action") == "csc.sign"]
        self.assertEqual(len(signs), 1, "one signature made, none for the wrong PIN")

        def verify(*extra, content=doc):
            return subprocess.run(["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in",
                                   p7s, "-content", content, "-CAfile", self.srv.ca_file,
                                   "-attime", str(int(self.srv.clock.now)), "-out", os.devnull,
                                   *extra], capture_output=True, text=True, timeout=30)
        # openssl's default purpose (S/MIME signing) holds: the certificate has digitalSignature +
        # nonRepudiation and emailProtection, so no -purpose any is needed
        r = verify()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("Verification successful", r.stderr)
        other = os.path.join(self.tmp, "changed.txt")
        with open(other, "wb") as f:
            f.write(b"I, Grace Hopper, agree to nothing.\n")
        self.assertNotEqual(verify(content=other).returncode, 0,
                            "another file does not verify")
        printed = subprocess.run(["openssl", "cms", "-cmsout", "-print", "-inform", "DER", "-in",
                                  p7s], capture_output=True, text=True, timeout=30).stdout
        for oid in ("contentType", "messageDigest", "signingTime"):
            self.assertIn(oid, printed)

    # --- login by QR code (§27) ---
    def device_credential(self, holder):
        """The same person's signing certificate on a computer of theirs, enrolled by
        certflow-agent (applied for with the agent, approved by the operator): its directory."""
        form = {"profile": "signing", "givenName": holder.given, "surname": holder.surname,
                "uniqueId": holder.unique_id, "email": holder.email, "altEmail": holder.alt,
                "mobile": holder.mobile,
                "questions": [{"question": q, "answer": a} for q, a in remote.QUESTIONS],
                "consents": ["terms", "privacy"]}
        path = os.path.join(self.tmp, "device-form.json")
        with open(path, "w") as f:
            json.dump(form, f)
        pw = os.path.join(self.tmp, "device-pass")
        with open(pw, "w") as f:
            f.write(remote.ENVELOPE_PASS + "\n")
        os.chmod(pw, 0o600)
        r = self.run_prog([program("certflow-agent"), "apply", "--server", self.srv.url, "--ca",
                           self.srv.ca_file, "--form", path, "--passphrase-file", pw])
        self.assertEqual(r.rc, 0, repr(r))
        apps = self.admin_ok(self.srv, "application", "list", "--status", "pending",
                             json_out=True)["applications"]
        self.admin_ok(self.srv, "application", "approve", apps[-1]["id"])
        ref = re.search(r"^Your reference number: (\d{4}-\d{4}-\d{4})$",
                        self.mail(holder, "certflow: your reference number"), re.M).group(1)
        env = self.open_envelope(self.mail(holder, "certflow: your envelope"))
        d = os.path.join(self.tmp, "device")
        r = self.agent_enrol(self.srv, ref, env["activationCode"], d)
        self.assertEqual(r.rc, 0, repr(r))
        return d

    def show_qr(self):
        self.open("#/remote-login")
        self.wait_css("#remote-qr-start")
        self.css("#remote-qr-start").send_keys(Keys.ENTER)
        self.wait_css("#remote-qr svg.qr")
        text = self.read_qr("#remote-qr svg.qr", f"login-qr-{self.step_no}")
        self.assertRegex(text, r"^certflow-login:[A-Za-z0-9_-]{22}$")
        self.assertEqual(self.css("#remote-qr-text").text, text)
        return text

    def test_qr_login_approved_by_the_holders_agent_logs_the_page_in(self):
        holder = remote.Holder(23)
        user, first, env = self.apply_remote(holder)
        self.login(user, first)
        self.wait_heading("Choose your own password")
        self.type("password", first)
        self.type("newPassword", remote.NEW_PASSWORD)
        self.type("newPassword2", remote.NEW_PASSWORD)
        self.submit()
        self.wait_heading("Your remote signing certificate")
        self.css("#remote-logout").click()
        self.wait_heading("You are logged out")
        device = self.device_credential(holder)

        # the login screen in French: the QR login's texts too
        self.open("#/remote-login")
        self.wait_css("#remote-qr-start")
        Select(self.css("#lang")).select_by_value("fr")
        self.wait(lambda d: "Ou connectez-vous" in self.css("#remote-qr-title").text, "French texts")
        self.assertEqual(self.css("#remote-qr-start").text, "Afficher un code QR")
        self.step("qr-login-fr")
        Select(self.css("#lang")).select_by_value("en")
        self.wait(lambda d: "Or log in" in self.css("#remote-qr-title").text, "English texts")

        # a code nobody approves: the page says in words that it expired
        self.show_qr()
        self.step("qr-login-waiting")
        self.expect_problem(403)
        self.srv.clock.advance(seconds=600)
        text = self.wait_alert("expired before it was approved")
        self.assertNotIn("badToken", text)
        self.assertEqual(self.d.find_elements(By.CSS_SELECTOR, "#remote-qr svg.qr"), [])
        self.step("qr-login-expired")

        # a new code, approved by the agent on the holder's computer: the page is logged in
        text = self.show_qr()
        r = self.run_prog([program("certflow-agent"), "qr-approve", "--dir", device, text])
        self.assertEqual(r.rc, 0, repr(r))
        self.assertEqual(r.out.strip(), f"approved: login of user {user}")
        self.wait_heading("Your remote signing certificate")
        self.assertIn(user, self.css("main .intro").text)
        self.step("qr-login-done")
        self.assertEqual(self.d.get_cookies(), [])
        token = self.d.execute_script(
            "return JSON.parse(sessionStorage.getItem('certflow.remote.session')).token")
        self.assertNotIn(token, self.d.current_url)
        self.assertNotIn(text.split(":", 1)[1], self.d.page_source, "the code left the page")
        # the code is used up: approving it again is refused
        again = self.run_prog([program("certflow-agent"), "qr-approve", "--dir", device, text])
        self.assertEqual(again.rc, 1, repr(again))
