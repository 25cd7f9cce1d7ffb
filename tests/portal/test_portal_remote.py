#!/usr/bin/python3
"""The holder of a remote signing certificate in a real Chromium (issue 11, seeds 002–004): apply
for the remote profile in the portal → an operator approves → the e-mails "your portal login"
(user id, first password) and "your PIN and PUK" (the envelope, opened with its passphrase) and
the SMS codes read from the maildir → login → forced password change (typed twice, the rules
shown live) → dashboard → activation with the PUK + a new 8-digit PIN typed twice + an SMS code
("send a new code") → the dashboard shows the certificate active with its days left and the
renewal window in words → PIN change → wrong PIN and PUK answers say what to do and change
nothing → logout; and forgot password with the e-mailed token in the link's fragment. Every step:
a screenshot, no console error, no CSP violation; the session token is in no cookie and no URL."""
import json
import os
import re

from browser import DESKTOP, By, PortalTestCase, Select, tearDownModule  # noqa: F401
from harness import program

ENVELOPE_PASS = "Envelope-Pass1!"
NEW_PASSWORD = "Own-Portal-Pw7?"
RESET_PASSWORD = "Reset-Portal-Pw8#"
QUESTIONS = [("Name of your first school?", "St Mary's"),
             ("City where your mother was born?", "London"),
             ("Make of your first car?", "Babbage")]
TOKEN_RE = re.compile(r"^Token: ([A-Za-z0-9_-]{43})$", re.M)


class Holder:
    def __init__(self, n):
        self.given, self.surname = "Grace", "Hopper"
        self.unique_id = f"GRACE-{n}"
        self.email = f"grace{n}@pro.example"
        self.alt = f"grace{n}@home.example"
        self.mobile = f"+4477009{n:05d}"


class PortalRemote(PortalTestCase):
    # a code per step: no resend interval, enough codes an hour for the walk
    SERVER_CONFIG = {"otp_resend_secs": 0, "otp_resend_per_hour": 100}

    def step(self, name):
        """Each step as browser.py checks it, and no programming word shown to the person."""
        super().step(name)
        self.assertNotRegex(self.css("main").text, r"\b(null|undefined|NaN|object)\b|/v1/|urn:",
                            name)
        unlabelled = self.d.execute_script("""
            return [...document.querySelectorAll('main input, main select, main textarea')]
              .filter(e => !(e.id && document.querySelector('label[for="' + e.id + '"]')))
              .map(e => e.name || e.id);""")
        self.assertEqual(unlabelled, [], f"{name}: every control has a label")

    # --- what the holder receives ---
    def mail(self, holder, subject, n=1):
        return self.wait_mail(lambda m: m["To"] == holder.email and m["Subject"] == subject,
                              subject, n)[n - 1].get_content()

    def sms(self, holder, n):
        """The code of the n-th SMS to the holder's phone."""
        msgs = self.wait_mail(lambda m: m["X-Certflow-Channel"] == "sms" and
                              str(m["To"]).strip() == holder.mobile, "SMS code", n)
        return re.search(r"\b(\d{6})\b", msgs[n - 1].get_content()).group(1)

    def open_envelope(self, text):
        path = os.path.join(self.tmp, "envelope.txt")
        with open(path, "w") as f:
            f.write(text)
        pw = os.path.join(self.tmp, "envelope-pass")
        with open(pw, "w") as f:
            f.write(ENVELOPE_PASS + "\n")
        os.chmod(pw, 0o600)
        r = self.run_prog([program("certflow-agent"), "envelope", "open", "--in", path,
                           "--passphrase-file", pw, "--json"], timeout=60)
        self.assertEqual(r.rc, 0, repr(r))
        return json.loads(r.out)

    # --- the steps in the page ---
    def apply_remote(self, holder):
        """Apply for the remote profile in the portal; an operator approves: (user id, first
        password, opened envelope)."""
        self.open("#/apply")
        self.wait_css("main [name=givenName]")
        self.choose("profile", "remote")
        for name, value in (("givenName", holder.given), ("surname", holder.surname),
                            ("uniqueId", holder.unique_id), ("email", holder.email),
                            ("altEmail", holder.alt), ("mobile", holder.mobile),
                            ("passphrase", ENVELOPE_PASS), ("passphrase2", ENVELOPE_PASS)):
            self.type(name, value)
        for i, (q, a) in enumerate(QUESTIONS, 1):
            self.type(f"question{i}", q)
            self.type(f"answer{i}", a)
        for name in ("terms", "privacy"):
            self.tick(f"consent-{name}")
        self.submit()
        self.wait_heading("Application received")
        app_id = self.css("#application-id").text
        self.step("remote-applied")
        self.admin_ok(self.srv, "application", "approve", app_id)
        login = self.mail(holder, "certflow: your portal login")
        user = re.search(r"user id: (\d{10})", login).group(1)
        first = re.search(r"^First password: (.+)$", login, re.M).group(1).strip()
        env = self.open_envelope(self.mail(holder, "certflow: your PIN and PUK"))
        return user, first, env

    def login(self, user, password):
        self.open("#/remote-login")
        self.wait_css("main [name=userId]")
        self.type("userId", user)
        self.type("password", password)
        self.submit()

    def fields(self):
        """The dashboard's facts of the first credential: {name: text}."""
        return {dd.get_attribute("data-field"): dd.text
                for dd in self.d.find_elements(By.CSS_SELECTOR, "main .credential dd")}

    def send_code(self, holder, n):
        self.css("#remote-otp-send").click()
        self.wait(lambda d: self.css("#remote-otp-status").text, "the code said to be sent")
        code = self.sms(holder, n)
        self.type("otp", code)
        return code

    def assert_no_token_outside_memory(self):
        self.assertEqual(self.d.get_cookies(), [], "no cookie")
        self.assertEqual(self.d.execute_script("return document.cookie"), "")
        token = self.d.execute_script(
            "const s = sessionStorage.getItem('certflow.remote.session');"
            "return s ? JSON.parse(s).token : null")
        if token:
            self.assertNotIn(token, self.d.current_url)
            self.assertIsNone(self.d.execute_script(
                "return localStorage.length ? Object.keys(localStorage).find("
                "k => localStorage.getItem(k).includes(arguments[0])) || null : null", token))
        return token

    def credential_show(self):
        creds = self.admin_ok(self.srv, "credential", "list", json_out=True)
        items = creds["credentials"] if isinstance(creds, dict) else creds
        self.assertEqual(len(items), 1, items)
        return self.admin_ok(self.srv, "credential", "show", items[0]["id"], json_out=True)

    def active_holder(self, holder):
        """Applied, approved, password changed and activated in the page: (user id, envelope)."""
        user, first, env = self.apply_remote(holder)
        self.first_login(user, first)
        self.activate_first(holder, env)
        return user, env

    def first_login(self, user, first):
        """The first login: the first password, then NEW_PASSWORD chosen."""
        self.login(user, first)
        self.wait_heading("Choose your own password")
        self.type("password", first)
        self.type("newPassword", NEW_PASSWORD)
        self.type("newPassword2", NEW_PASSWORD)
        self.submit()

    def activate_first(self, holder, env):
        """From the dashboard: its first credential activated with the PUK of env, the PIN
        27051998 and an SMS code."""
        self.wait_css("main .credential a.button")
        self.css("main .credential a.button").click()
        self.wait_css("main [name=puk]")
        self.type("puk", env["puk"])
        self.type("newPin", "27051998")
        self.type("newPin2", "27051998")
        self.send_code(holder, self.sms_count(holder) + 1)
        self.submit()
        self.wait_css("main .credential[data-status=active]")

    def sms_count(self, holder):
        return len([m for m in self.srv.mails() if m["X-Certflow-Channel"] == "sms" and
                    str(m["To"]).strip() == holder.mobile])

    # --- the journeys ---
    def test_remote_holder_logs_in_changes_password_activates_changes_pin_and_logs_out(self):
        holder = Holder(1)
        user, first, env = self.apply_remote(holder)
        # a wrong password: words, no problem name, nothing opened
        self.expect_problem(401)
        self.login(user, first + "x")
        text = self.wait_alert("user id or the password")
        self.assertNotIn("badLogin", text)
        self.assertEqual(self.field("password").get_attribute("value"), "")
        self.step("remote-login-wrong")
        # the first password: the page asks for a password of the holder's own first
        self.login(user, first)
        self.wait_heading("Choose your own password")
        self.assertIsNotNone(self.assert_no_token_outside_memory())
        self.step("remote-password-forced")
        # the dashboard is not reachable before the password is changed
        self.d.execute_script("location.hash = '#/remote'")
        self.wait_heading("Choose your own password")
        self.type("password", first)
        self.type("newPassword", "abc")
        self.wait(lambda d: not self.rule_met("pw.rule.upper") and self.rule_met("pw.rule.lower"),
                  "the rules shown live")
        self.type("newPassword", NEW_PASSWORD)
        self.wait(lambda d: all(self.rule_met(li.get_attribute("data-rule")) for li in
                                self.d.find_elements(By.CSS_SELECTOR, "#remote-password-rules li")),
                  "every rule met")
        self.type("newPassword2", NEW_PASSWORD[:-1])
        self.submit()
        self.wait(lambda d: self.field("newPassword2").get_attribute("aria-invalid") == "true",
                  "the second password marked as not the same")
        self.step("remote-password-mismatch")
        self.type("password", first)
        self.type("newPassword2", NEW_PASSWORD)
        self.submit()
        self.wait_heading("Your remote signing certificate")
        self.wait_css("main .credential")
        self.assertIn("password is saved", self.css("#remote-flash").text)
        facts = self.fields()
        self.assertEqual(facts["status"], "Waiting for activation", facts)
        self.assertIn(user, self.css("main .intro").text)
        self.step("remote-dashboard-pending")

        # activation: the wrong PUK is refused in words, counted, and nothing else changes
        self.css("main .credential a.button").click()
        self.wait_heading("Activate your certificate")
        self.wait_css("main [name=puk]")
        self.assertIn("10 tries", self.css("#remote-tries").text)
        self.step("remote-activate-form")
        self.submit()  # nothing typed: each field says what it needs, nothing is sent
        self.wait_alert()
        self.assertEqual(self.field("puk").get_attribute("aria-invalid"), "true")
        puk = env["puk"]
        wrong_puk = ("0" if puk[0] != "0" else "1") + puk[1:]
        self.type("puk", wrong_puk)
        self.type("newPin", "12345678")
        self.type("newPin2", "12345670")
        self.type("otp", "123456")
        self.submit()
        self.wait(lambda d: self.field("newPin2").get_attribute("aria-invalid") == "true",
                  "the second PIN marked as not the same")
        self.type("newPin2", "12345678")
        self.send_code(holder, 1)
        self.step("remote-activate-filled")
        self.expect_problem(403)
        self.submit()
        text = self.wait_alert("PUK is not right", "9 tries left")
        self.assertNotIn("badPUK", text)
        self.assertNotIn("/v1/", text)
        self.assertIn("9 tries", self.css("#remote-tries").text)
        for name in ("puk", "newPin", "newPin2", "otp"):
            self.assertEqual(self.field(name).get_attribute("value"), "", f"{name} wiped")
        self.step("remote-activate-wrong-puk")
        self.assertEqual(self.credential_show()["status"], "pending")
        # the right PUK with a new code
        self.type("puk", puk)
        self.type("newPin", "27051998")
        self.type("newPin2", "27051998")
        self.send_code(holder, 2)
        self.submit()
        self.wait_heading("Your remote signing certificate")
        self.wait_css("main .credential[data-status=active]")
        self.assertIn("certificate is active", self.css("#remote-flash").text)
        facts = self.fields()
        self.assertEqual(facts["status"], "Active")
        self.assertRegex(facts["serial"], r"^[0-9a-f]+$")
        self.assertRegex(facts["daysLeft"], r"^10\d\d days$")
        self.assertRegex(facts["notAfter"], r"^\d{1,2} [A-Z][a-z]+ \d{4}$")
        self.assertRegex(facts["renewal"], r"^Renewal opens on \d{1,2} [A-Z][a-z]+ \d{4} "
                                           r"\(in \d+ days\)\.$")
        self.assertIn("5 tries", facts["pin"])
        shown = self.credential_show()
        self.assertEqual(shown["status"], "active")
        self.step("remote-dashboard-active")
        self.size(*DESKTOP)
        self.step("remote-dashboard-active-desktop")
        self.size(390, 844)

        # PIN change: a wrong current PIN is refused in words and counted; then the right one
        self.css("main .credential a.button").click()
        self.wait_heading("Change your PIN")
        self.wait_css("main [name=pin]")
        self.type("pin", "27051999")
        self.type("newPin", "80316674")
        self.type("newPin2", "80316674")
        self.send_code(holder, 3)
        self.submit()
        text = self.wait_alert("PIN is not right", "4 tries left")
        self.assertNotIn("badPIN", text)
        self.step("remote-pin-wrong")
        self.type("pin", "27051998")
        self.type("newPin", "80316674")
        self.type("newPin2", "80316674")
        self.send_code(holder, 4)
        self.submit()
        self.wait_css("#remote-flash")
        self.assertIn("PIN is changed", self.css("#remote-flash").text)
        self.assertIn("5 tries", self.fields()["pin"])
        self.step("remote-pin-changed")
        # the old PIN no longer works, the new one does (changing it back, with a code)
        self.css("main .credential a.button").click()
        self.wait_css("main [name=pin]")
        self.type("pin", "27051998")
        self.type("newPin", "11223344")
        self.type("newPin2", "11223344")
        self.send_code(holder, 5)
        self.submit()
        self.wait_alert("PIN is not right", "4 tries left")
        self.type("pin", "80316674")
        self.type("newPin", "11223344")
        self.type("newPin2", "11223344")
        self.send_code(holder, 6)
        self.submit()
        self.wait_css("#remote-flash")

        # logout: the session ends on the server and in the page
        token = self.assert_no_token_outside_memory()
        self.css("#remote-logout").click()
        self.wait_heading("You are logged out")
        self.assertIsNone(self.d.execute_script(
            "return sessionStorage.getItem('certflow.remote.session')"))
        self.step("remote-logged-out")
        r = self.bearer_status(token)
        self.assertEqual(r, 401, "the token is refused once logged out")
        self.open("#/remote")
        self.wait_heading("Log in")

    def rule_met(self, key):
        lis = self.d.find_elements(By.CSS_SELECTOR, f"main .rules li[data-rule='{key}']")
        return bool(lis) and "met" in (lis[0].get_attribute("class") or "")

    def bearer_status(self, token):
        """The HTTP status of POST /v1/portal/status with token, from outside the page."""
        import urllib.error
        import urllib.request
        req = urllib.request.Request(self.srv.url + "/v1/portal/status", data=b"{}", method="POST",
                                     headers={"Content-Type": "application/json",
                                              "Authorization": f"Bearer {token}"})
        try:
            with urllib.request.urlopen(req, context=self.srv.ssl_context(), timeout=10) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code

    def test_forgot_password_with_the_mailed_token_in_the_link_fragment(self):
        holder = Holder(2)
        user, first, env = self.apply_remote(holder)
        self.open("#/remote-login")
        self.follow("#/remote-forgot")
        self.wait_css("main [name=email]")
        self.step("remote-forgot-form")
        self.type("email", holder.email)
        self.submit()
        self.wait_heading("Check your e-mail")
        known = self.css("#remote-forgot-sent").text
        self.step("remote-forgot-sent")
        text = self.mail(holder, "certflow: set a new portal password")
        self.assertIn(user, text, "the mail carries the user id (forgot user id)")
        token = TOKEN_RE.search(text).group(1)
        # an unknown address gets the same words
        self.open("#/remote-forgot")
        self.wait_css("main [name=email]")
        self.type("email", "nobody@nowhere.example")
        self.submit()
        self.wait_heading("Check your e-mail")
        self.assertEqual(self.css("#remote-forgot-sent").text, known)
        # the link: the token rides in the fragment, and leaves the address bar at once
        self.open("#/remote-reset/" + token)
        self.wait_css("main [name=token]")
        self.assertNotIn(token, self.d.current_url)
        self.assertEqual(self.field("token").get_attribute("value"), token)
        self.step("remote-reset-form")
        self.send_code(holder, 1)
        self.type("newPassword", RESET_PASSWORD)
        self.type("newPassword2", RESET_PASSWORD)
        self.submit()
        self.wait_heading("Your new password is saved")
        self.step("remote-reset-done")
        # the token works once
        self.open("#/remote-reset/" + token)
        self.wait_css("main [name=token]")
        self.expect_problem(401)
        self.expect_problem(403)
        self.expect_problem(400)
        self.css("#remote-otp-send").click()
        text = self.wait_alert("not valid")
        self.assertNotIn("badToken", text)
        self.step("remote-reset-used-token")
        # the new password logs in; it must not change again
        self.login(user, RESET_PASSWORD)
        self.wait_heading("Your remote signing certificate")
        self.wait_css("main .credential")
        self.step("remote-dashboard-after-reset")

    def test_renewal_in_the_window_with_consents_pin_code_and_coupon(self):
        holder = Holder(4)
        user, env = self.active_holder(holder)
        facts = self.fields()
        self.assertIn("Renewal opens on", facts["renewal"])
        self.assertEqual(self.d.find_elements(By.CSS_SELECTOR, "main a[href^='#/remote-renew/']"),
                         [], "no renewal offered before the window")
        not_after = facts["notAfter"]
        # the operator's coupon (made now: certflow-admin checks the server's TLS certificate,
        # which the server's test clock outlives below)
        r = self.admin_ok(self.srv, "coupon", "issue", "--count", "1")
        coupon = re.search(r"\b([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})\b", r.out).group(1)
        # 80 days before the end (the server's clock): the session has ended meanwhile
        self.srv.clock.advance(days=1095 - 80)
        self.expect_problem(401)
        self.open("#/remote")
        self.wait_heading("Log in")
        self.assertIn("session has ended", self.css("#remote-flash").text)
        self.type("userId", user)
        self.type("password", NEW_PASSWORD)
        self.submit()
        self.wait_css("main .credential")
        facts = self.fields()
        self.assertEqual(facts["renewal"], f"You can renew now, until {not_after}.")
        self.assertRegex(facts["daysLeft"], r"^(79|80) days$")
        self.step("remote-renewal-open")
        self.css("main a[href^='#/remote-renew/']").click()
        self.wait_heading("Renew your certificate")
        self.wait_css("main [name=identityUnchanged]")
        self.assertIn("Grace", self.css("#remote-renew-names").text)
        for name in ("terms", "privacy"):
            self.assertGreater(len(self.css(f"#remote-consent-{name}-text").text), 200,
                               f"the full text of consent {name} is shown")
        self.step("remote-renew-form")
        self.submit()  # nothing ticked or typed: said beside each field, nothing sent
        self.wait_alert()
        self.assertEqual(self.field("identityUnchanged").get_attribute("aria-invalid"), "true")

        def fill(code_no, coupon=None):
            self.tick("identityUnchanged")
            self.tick("consent-terms")
            self.tick("consent-privacy")
            self.type("pin", "27051998")
            self.type("passphrase", "Renewal-Envel0pe?")
            self.type("passphrase2", "Renewal-Envel0pe?")
            if coupon:
                self.type("coupon", coupon)
            self.send_code(holder, code_no)

        # without a coupon: the page says one is needed, nothing changes
        n = self.sms_count(holder)
        fill(n + 1)
        self.expect_problem(402)
        self.submit()
        text = self.wait_alert("needs a coupon")
        self.assertNotIn("entitlement", text)
        self.step("remote-renew-no-coupon")
        fill(n + 2, coupon)
        self.submit()
        self.wait_css("#remote-flash")
        flash = self.css("#remote-flash").text
        self.assertIn("renewed", flash)
        self.assertIn("Envelope number 2", flash)
        facts = self.fields()
        self.assertNotEqual(facts["notAfter"], not_after)
        self.assertIn(facts["notAfter"], flash)
        self.assertIn("Renewal opens on", facts["renewal"])
        self.assertEqual(self.d.find_elements(By.CSS_SELECTOR, "main a[href^='#/remote-renew/']"),
                         [], "renewal no longer offered")
        self.step("remote-renewed")
        self.mail(holder, "certflow: your new envelope")

    def test_update_demanded_by_a_date_in_two_steps(self):
        holder = Holder(5)
        user, env = self.active_holder(holder)
        cred = self.css("main .credential").get_attribute("data-credential")
        serial = self.fields()["serial"]
        self.admin_ok(self.srv, "update", "mark", "--credential", cred, "--by", "2099-01-31",
                      "--note", "new issuing CA")
        self.open("#/remote")
        self.wait_css("main .credential [data-field=update]")
        self.assertEqual(self.css("main .credential [data-field=update]").text,
                         "Please update this certificate by 31 January 2099 (reason: new issuing CA).")
        self.step("remote-update-notice")
        self.css(f"main a[href='#/remote-update/{cred}']").click()
        self.wait_heading("Update your certificate")
        self.wait_css("main [name=pin]")
        for name in ("terms", "privacy"):
            self.assertGreater(len(self.css(f"#remote-consent-{name}-text").text), 200)
            self.tick(f"consent-{name}")
        self.type("pin", "27051998")
        self.send_code(holder, self.sms_count(holder) + 1)
        self.step("remote-update-start")
        self.submit()
        self.wait_heading("Finish the update")
        self.wait_css("main [name=passphrase]")
        self.assertEqual(self.d.execute_script(
            "return Object.keys(sessionStorage).filter(k => k !== 'certflow.remote.session')"), [],
            "the ticket is kept in page memory only")
        self.type("passphrase", "Update-Envel0pe?")
        self.type("passphrase2", "Update-Envel0pe?")
        self.send_code(holder, self.sms_count(holder) + 1)
        self.step("remote-update-complete")
        self.submit()
        self.wait_css("#remote-flash")
        self.assertIn("updated", self.css("#remote-flash").text)
        self.assertIn("Envelope number 2", self.css("#remote-flash").text)
        self.assertNotEqual(self.fields()["serial"], serial)
        self.assertEqual(self.d.find_elements(By.CSS_SELECTOR, "main [data-field=update]"), [],
                         "the notice is gone once updated")
        self.step("remote-updated")
        self.mail(holder, "certflow: your new envelope")

    def test_wrong_code_then_blocked_pin_unblocked_with_the_puk(self):
        holder = Holder(6)
        user, env = self.active_holder(holder)
        self.css("main .credential a.button").click()
        self.wait_css("main [name=pin]")
        # a wrong code: said in words, the PIN is not tried
        self.expect_problem(401)
        self.expect_problem(403)
        self.type("pin", "27051998")
        self.type("newPin", "80316674")
        self.type("newPin2", "80316674")
        self.type("otp", "000000")
        self.submit()
        text = self.wait_alert("code is not right", "tries left")
        self.assertNotIn("badOTP", text)
        self.assertIn("5 tries", self.css("#remote-tries").text, "the PIN was not tried")
        self.step("remote-pin-wrong-code")
        # five wrong PINs block it
        for i in range(5):
            self.type("pin", "99999999")
            self.type("newPin", "80316674")
            self.type("newPin2", "80316674")
            self.send_code(holder, self.sms_count(holder) + 1)
            self.submit()
            if i < 4:
                self.wait_alert("PIN is not right", f"{4 - i} tries left")
        text = self.wait_alert("PIN is blocked", "Unblock the PIN")
        self.step("remote-pin-blocked")
        self.css("main a[href='#/remote']").click()
        self.wait_css("main .credential")
        self.assertIn("Blocked", self.fields()["pin"])
        self.css("main .credential a.button").click()
        self.wait_heading("Unblock your PIN")
        self.wait_css("main [name=puk]")
        self.step("remote-unblock-form")
        self.type("puk", env["puk"])
        self.type("newPin", "44556677")
        self.type("newPin2", "44556677")
        self.send_code(holder, self.sms_count(holder) + 1)
        self.submit()
        self.wait_css("#remote-flash")
        self.assertIn("unblocked", self.css("#remote-flash").text)
        self.assertIn("Active (5 tries", self.fields()["pin"])
        self.step("remote-unblocked")

    def test_two_credentials_alike_have_cards_with_headings_of_their_own(self):
        holder = Holder(7)
        user, first, _ = self.apply_remote(holder)
        self.apply_remote(holder)  # the same person again: a second credential, same login
        self.first_login(user, first)
        self.wait(lambda d: len(d.find_elements(By.CSS_SELECTOR, "main .credential")) == 2,
                  "two credentials shown")

        def headings():
            return [(e.get_attribute("data-credential"), e.find_element(By.CSS_SELECTOR, "h2").text)
                    for e in self.d.find_elements(By.CSS_SELECTOR, "main .credential")]

        def told_apart(step, same, ending):
            """Both wait for activation: told apart by the end of their number; each card (a
            region) has a name of its own for axe-core."""
            cards = headings()
            self.assertEqual(len({text for _, text in cards}), 2, cards)
            for cred, text in cards:
                self.assertIn(same, text)
                self.assertTrue(text.endswith(f"{ending} {cred[-6:]}"), text)
            found = self.check_a11y(step)
            self.assertNotIn("landmark-unique", [v["id"] for v in found], found)
            self.step(step)
        told_apart("remote-two-cards", "Signing certificate kept for you, not activated yet",
                   "number ending")
        Select(self.css("#lang")).select_by_value("fr")
        self.wait_heading("Votre certificat de signature à distance")
        self.wait_css("main .credential")
        told_apart("remote-two-cards-fr", "pas encore activé", "numéro finissant par")
        Select(self.css("#lang")).select_by_value("en")
        self.wait_heading("Your remote signing certificate")
        # the first activated (its envelope the first): its end of validity tells it apart
        self.activate_first(holder, self.open_envelope(self.mail(holder, "certflow: your PIN and PUK")))
        texts = [text for _, text in headings()]
        self.assertEqual(len(set(texts)), 2, texts)
        self.assertRegex(texts[0], r"^Signing certificate kept for you, valid until \d{1,2} \w+ \d{4}$")
        self.assertEqual(texts[1], "Signing certificate kept for you, not activated yet")
        found = self.check_a11y("remote-two-cards-one-active")
        self.assertNotIn("landmark-unique", [v["id"] for v in found], found)
        self.step("remote-two-cards-one-active")

    def test_remote_screens_in_french(self):
        holder = Holder(3)
        user, first, env = self.apply_remote(holder)
        self.open()
        Select(self.css("#lang")).select_by_value("fr")
        self.wait_heading("Vos certificats")
        self.follow("#/remote-login")
        self.wait_heading("Connexion")
        self.type("userId", user)
        self.type("password", first)
        self.submit()
        self.wait_heading("Choisissez votre propre mot de passe")
        self.step("remote-password-fr")
        self.type("password", first)
        self.type("newPassword", NEW_PASSWORD)
        self.type("newPassword2", NEW_PASSWORD)
        self.submit()
        self.wait_heading("Votre certificat de signature à distance")
        self.wait_css("main .credential")
        self.assertEqual(self.fields()["status"], "En attente d'activation")
        self.step("remote-dashboard-fr")
        Select(self.css("#lang")).select_by_value("en")
        self.wait_heading("Your remote signing certificate")


if __name__ == "__main__":
    import unittest
    unittest.main()
