#!/usr/bin/python3
"""The holder portal in a real Chromium (issue 11, first slice): a person applies, asks for a
recovery link, suspends a certificate with the emergency code and renews an expired reference
number on screens served by certflowd, at phone size (390×844) and desktop size, in English and
French; bad input gets words beside the field and nothing is sent; the page signs its own
requests. Every step: a screenshot in build-logs/portal/, no console error, no CSP violation."""
import json
import os
import re

from browser import (DESKTOP, PHONE, By, PortalTestCase, Select,  # noqa: F401
                     tearDownModule)
from harness import program, run

PASSPHRASE = "Envelope-Pass1!"
QUESTIONS = [("Name of your first school?", "St Mary's"),
             ("City where your mother was born?", "London"),
             ("Make of your first car?", "Babbage")]
REFERENCE_RE = re.compile(r"Your reference number: (\d{4}-\d{4}-\d{4})")


class Person:
    def __init__(self, n):
        self.given, self.surname = "Ada", "Lovelace"
        self.unique_id = f"ADA-{n}"
        self.email = f"ada{n}@pro.example"
        self.alt = f"ada{n}@home.example"
        self.mobile = f"+44 7700 9{n:05d}"

    def form(self):
        return {"profile": "signing", "givenName": self.given, "surname": self.surname,
                "uniqueId": self.unique_id, "email": self.email, "altEmail": self.alt,
                "mobile": self.mobile.replace(" ", ""),
                "questions": [{"question": q, "answer": a} for q, a in QUESTIONS],
                "consents": ["terms", "privacy"]}


class PortalJourneys(PortalTestCase):
    SERVER_CONFIG = {"auto_approve": "signing"}

    # --- set-ups done as an integrator would, with the real agent ---
    def secret(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text + "\n")
        os.chmod(path, 0o600)
        return path

    def agent(self, *args, input=None):
        return self.run_prog([program("certflow-agent"), *args], input=input, timeout=120)

    def agent_apply(self, person):
        form = os.path.join(self.tmp, f"form-{person.unique_id}.json")
        with open(form, "w") as f:
            json.dump(person.form(), f)
        r = self.agent("apply", "--server", self.srv.url, "--ca", self.srv.ca_file, "--form", form,
                       "--passphrase-file", self.secret("pass", PASSPHRASE))
        self.assertEqual(r.rc, 0, repr(r))

    def envelope(self, person, n=1):
        """The reference number and the opened envelope of the n-th approval e-mails."""
        refs = self.wait_mail(lambda m: m["To"] == person.email and
                              m["Subject"] == "certflow: your reference number",
                              "reference mail", n)
        envs = self.wait_mail(lambda m: m["To"] == person.email and
                              m["Subject"] == "certflow: your envelope", "envelope mail", n)
        path = os.path.join(self.tmp, "envelope.txt")
        with open(path, "w") as f:
            f.write(envs[n - 1].get_content())
        r = self.agent("envelope", "open", "--in", path, "--passphrase-file",
                       self.secret("open", PASSPHRASE), "--json")
        self.assertEqual(r.rc, 0, repr(r))
        doc = json.loads(r.out)
        ref = REFERENCE_RE.search(refs[n - 1].get_content()).group(1)
        self.assertEqual(doc["reference"].replace("-", ""), ref.replace("-", ""))
        return ref, doc

    def activated(self, person):
        """Applied (approved by policy), envelope opened, credential activated by the agent."""
        self.agent_apply(person)
        ref, env = self.envelope(person)
        d = os.path.join(self.tmp, "agent")
        r = self.agent("enrol", "--server", self.srv.url, "--ca", self.srv.ca_file,
                       "--reference", ref, "--dir", d, "--code-file", "-",
                       input=env["activationCode"] + "\n")
        self.assertEqual(r.rc, 0, repr(r))
        return ref, env

    # --- the apply form, as a person fills it ---
    def fill_application(self, person):
        self.choose("profile", "signing")
        self.type("givenName", person.given)
        self.type("surname", person.surname)
        self.type("uniqueId", person.unique_id)
        self.type("email", person.email)
        self.type("altEmail", person.alt)
        self.type("mobile", person.mobile)
        for i, (q, a) in enumerate(QUESTIONS, 1):
            self.type(f"question{i}", q)
            self.type(f"answer{i}", a)
        for name in ("terms", "privacy"):
            text = self.css(f"#consent-{name}-text").text
            self.assertGreater(len(text), 200, f"the full text of consent {name} is shown")
            self.tick(f"consent-{name}")

    def rules(self):
        return {li.get_attribute("data-rule"): "met" in (li.get_attribute("class") or "")
                for li in self.d.find_elements(By.CSS_SELECTOR, "#apply-rules li")}

    def wait_rules(self, want):
        self.wait(lambda d: all(self.rules().get(k) == v for k, v in want.items()),
                  f"the passphrase rules shown as {want}")

    def apply_in_portal(self, person, lang_word="Application received"):
        self.open()
        self.step("home")
        self.follow("#/apply")
        self.wait_css("main [name=givenName]")
        self.step("apply-form")
        # nothing filled: every problem is named beside its field and in the summary, and
        # nothing is sent
        self.submit()
        summary = self.wait_alert()
        self.assertGreaterEqual(summary.count("\n"), 10, summary)
        self.assertEqual(self.d.switch_to.active_element.get_attribute("name"), "givenName")
        self.assertEqual(self.field("givenName").get_attribute("aria-invalid"), "true")
        self.step("apply-empty")
        self.fill_application(person)
        # the passphrase's rules are shown as they are met
        self.type("passphrase", "abc")
        self.wait_rules({"pw.rule.lower": True, "pw.rule.upper": False, "pw.rule.length": False,
                         "pw.rule.digit": False, "pw.rule.special": False})
        self.type("passphrase", "aaaBBB1!x")
        self.wait_rules({"pw.rule.repeat": False, "pw.rule.length": True})  # three a's in a row
        self.type("passphrase", PASSPHRASE)
        self.wait_rules({k: True for k in self.rules()})
        self.type("passphrase2", PASSPHRASE[:-1])
        self.wait(lambda d: self.css("#apply-match").get_attribute("data-match") == "false"
                  and self.css("#apply-match").text, "the passphrases said to differ")
        self.step("apply-passphrase-mismatch")
        self.submit()
        self.wait(lambda d: self.field("passphrase2").get_attribute("aria-invalid") == "true",
                  "the second passphrase marked as not the same")
        self.assertIsNone(self.field("givenName").get_attribute("aria-invalid"),
                          "a field once fixed is no longer marked")
        self.type("passphrase2", PASSPHRASE)
        self.assertIsNone(self.field("passphrase2").get_attribute("aria-invalid"),
                          "typing clears the field's message")
        self.step("apply-filled")
        self.submit()
        self.wait_heading(lang_word)
        app_id = self.css("#application-id").text
        self.assertRegex(app_id, r"^[0-9A-Z]{26}$")
        self.assertIn(person.email, self.css("#application-status").text)
        self.assertEqual(self.d.find_elements(By.CSS_SELECTOR, "main input"), [],
                         "the form and what was typed in it are gone")
        self.step("apply-received")
        return app_id

    def assert_application(self, app_id, person):
        shown = self.admin_ok(self.srv, "application", "show", app_id, json_out=True)
        self.assertEqual(shown["status"], "approved")
        self.assertEqual(shown["subject"]["email"], person.email)
        self.assertEqual(shown["subject"]["altEmail"], person.alt)
        self.assertEqual(shown["subject"]["mobile"], person.mobile.replace(" ", ""))
        self.assertEqual(sorted(shown["consents"]), ["privacy", "terms"])
        # approved by policy: the codes come by mail, the envelope opens with the passphrase
        ref, env = self.envelope(person)
        self.assertRegex(env["activationCode"], r"^[0-9A-Z-]{20,}$")

    def test_apply_at_phone_size_then_application_received_with_its_id(self):
        person = Person(1)
        app_id = self.apply_in_portal(person)
        self.assert_application(app_id, person)

    def test_apply_at_desktop_size_in_french(self):
        self.size(*DESKTOP)
        person = Person(2)
        self.open()
        Select(self.css("#lang")).select_by_value("fr")
        self.wait_heading("Vos certificats")
        self.assertEqual(self.d.execute_script("return document.documentElement.lang"), "fr")
        # the choice is kept: a reload stays in French
        self.open()
        self.wait_heading("Vos certificats")
        app_id = self.apply_in_portal(person, lang_word="Demande reçue")
        self.assert_application(app_id, person)

    def test_recover_request_says_the_same_for_known_and_unknown_addresses(self):
        person = Person(3)
        self.agent_apply(person)
        self.open("#/recover")
        self.wait_css("main [name=email]")
        self.step("recover-form")
        self.type("email", "not an address")
        self.submit()
        self.wait_alert()
        self.step("recover-bad-address")
        self.type("email", person.email)
        self.submit()
        self.wait_heading("Check your e-mail")
        known = self.css("#recover-sent").text
        self.assertIn("both of your addresses", known)
        self.step("recover-sent")
        mails = self.wait_mail(lambda m: m["Subject"] == "certflow: recover your credential",
                               "recovery link mail", 2)
        self.assertEqual(sorted(m["To"] for m in mails), sorted([person.email, person.alt]))
        self.open("#/recover")
        self.wait_css("main [name=email]")
        self.type("email", "nobody@nowhere.example")
        self.submit()
        self.wait_heading("Check your e-mail")
        self.assertEqual(self.css("#recover-sent").text, known)
        self.step("recover-unknown")

    def test_emergency_suspension_with_wrong_then_right_code(self):
        person = Person(4)
        ref, env = self.activated(person)
        self.open()
        self.follow("#/emergency")
        self.wait_css("main [name=emergencyCode]")
        self.step("emergency-form")
        code = env["emergencyCode"]
        wrong = ("0" if code[0] != "0" else "1") + code[1:]
        self.type("reference", ref)
        self.type("emergencyCode", wrong)
        self.tick("confirm")
        self.expect_problem(403)
        self.submit()
        text = self.wait_alert("4")
        self.assertNotIn("badEmergencyCode", text)
        self.assertNotIn("/v1/", text)
        self.assertEqual(self.field("emergencyCode").get_attribute("value"), "",
                         "the code is wiped from the page once sent")
        self.step("emergency-wrong-code")
        self.type("emergencyCode", code)
        self.submit()
        self.wait_heading("Your certificate is suspended")
        cred = self.css("#credential-id").text
        self.assertRegex(cred, r"^\S+$")
        self.step("emergency-suspended")
        shown = self.admin_ok(self.srv, "credential", "show", cred, json_out=True)
        self.assertEqual(shown["status"], "suspended", shown)

    def test_reference_renewal_with_wrong_then_right_answers(self):
        person = Person(5)
        self.agent_apply(person)
        ref, env = self.envelope(person)
        self.srv.clock.advance(days=16)  # the reference number expired unused
        self.open()
        self.follow("#/reference")
        self.wait_css("main [name=answer1]")
        self.step("reference-form")
        self.type("reference", ref)
        for i in (1, 2, 3):
            self.type(f"answer{i}", "wrong answer")
        self.expect_problem(403)
        self.submit()
        text = self.wait_alert("4")
        self.assertNotIn("badAnswers", text)
        self.step("reference-wrong-answers")
        self.type("reference", ref)
        for i, (q, a) in enumerate(QUESTIONS, 1):
            self.type(f"answer{i}", a.upper() + "  ")  # case and blanks do not matter
        self.submit()
        self.wait_heading("New reference number sent")
        self.step("reference-sent")
        ref2, env2 = self.envelope(person, n=2)
        self.assertNotEqual(ref2, ref)

    def test_every_control_has_a_label_and_keyboard_reaches_the_journeys(self):
        self.open()
        links = [a.get_attribute("href").split("#", 1)[1]
                 for a in self.d.find_elements(By.CSS_SELECTOR, "main .cards a")]
        self.assertEqual(links, ["/apply", "/activate", "/recover", "/reference", "/emergency",
                                 "/remote-login"])
        for frag in links:
            self.open("#" + frag)
            self.wait_css("main form")
            unlabelled = self.d.execute_script("""
                return [...document.querySelectorAll('input, select, textarea')]
                  .filter(e => !(e.id && document.querySelector('label[for="' + e.id + '"]')))
                  .map(e => e.name || e.id);""")
            self.assertEqual(unlabelled, [], frag)
            self.assertEqual(self.d.switch_to.active_element.tag_name, "h1",
                             "focus starts at the screen's heading")
            self.step("screen" + frag.replace("/", "-"))
        # desktop size: the same screens fit
        self.size(*DESKTOP)
        self.open()
        self.step("home-desktop")

    def test_the_console_check_catches_a_csp_violation(self):
        self.open()
        self.check_a11y("home")  # axe injected through WebDriver: no CSP report of its own
        self.check_console("axe injected")
        self.d.execute_script("""
            const s = document.createElement('script');
            s.textContent = 'window.inlineRan = true';
            document.body.append(s);""")
        self.assertIsNone(self.d.execute_script("return window.inlineRan"),
                          "the CSP blocks inline script")
        with self.assertRaises(AssertionError):
            self.check_console("inline script")

    def test_the_accessibility_check_catches_an_unlabelled_field_and_an_image_without_text(self):
        self.open("#/recover")
        self.wait_css("main [name=email]")
        self.check_a11y("recover")
        self.d.execute_script("""
            const i = document.createElement('input');
            i.type = 'text';
            const img = document.createElement('img');
            img.src = '/favicon.svg';
            document.querySelector('main').append(i, img);""")
        with self.assertRaises(AssertionError) as caught:
            self.check_a11y("unlabelled field")
        self.assertIn("label", str(caught.exception))
        self.assertIn("image-alt", str(caught.exception))

    def test_the_emergency_link_of_the_reference_mail_opens_the_suspension_page(self):
        person = Person(6)
        self.agent_apply(person)
        mail = self.wait_mail(lambda m: m["To"] == person.email and
                              m["Subject"] == "certflow: your reference number",
                              "reference mail")[0].get_content()
        link = re.search(r"^Emergency suspension: (\S+)$", mail, re.M).group(1)
        self.assertEqual(link, self.srv.url.rstrip("/") + "/#/emergency")
        self.d.get("about:blank")
        self.d.get(link)
        self.wait_css("main [name=emergencyCode]")
        self.step("emergency-from-mail")


if __name__ == "__main__":
    import unittest
    unittest.main()


class ActivationPage(PortalTestCase):
    """The approval mails' "Activate: …/#/activate" link opens the activation screen (activation in
    the browser: tests/portal/test_portal_activation.py), which also says, folded, how a device
    activates with certflow-agent, this server's address and fingerprint filled in, on a phone and
    in French."""

    def test_activate_link_shows_the_steps_with_this_servers_address_and_fingerprint(self):
        fp = run(["openssl", "x509", "-in", self.srv.ca_file, "-noout", "-fingerprint",
                  "-sha256"]).out.split("=", 1)[1].strip().replace(":", "").lower()
        self.open("#/activate")
        self.wait_heading("Activate your certificate")
        self.css("main details.agent summary").click()
        self.wait_css("#activate-enrol")
        enrol = self.css("#activate-enrol").text
        self.assertIn("--server " + self.srv.url + " ", enrol)
        self.assertIn("--ca-fingerprint sha256:" + fp + " ", enrol)
        self.assertIn("--code-file -", enrol, "the code is typed, never on the command line")
        self.assertIn("envelope open envelope.txt", self.css("#activate-open").text)
        self.step("activate-steps")
        Select(self.css("#lang")).select_by_value("fr")
        self.wait_heading("Activer votre certificat")
        self.step("activate-steps-fr")

    def test_login_link_of_the_remote_mails_opens_the_login_screen(self):
        self.open("#/login")
        self.wait_css("main [name=password]")
        self.step("login-from-mail")
