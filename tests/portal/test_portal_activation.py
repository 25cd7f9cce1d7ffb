#!/usr/bin/python3
"""Activation and recovery of a signing certificate in a real Chromium (issue 11, seeds 000 and
001): an operator approves the application, the person follows the mail's link to the portal,
pastes the envelope (opened in the page with its passphrase) or types the activation code,
chooses a password for the file under the live policy, and saves a PKCS#12 file made in the
page: `openssl pkcs12` opens it with that password (PBES2, AES-256-CBC, PBKDF2 with
HMAC-SHA-256, MAC SHA-256), its key is the certificate's, and `openssl verify` accepts the
certificate with the server's root. A wrong code is said in words and makes nothing. Recovery
starts from the e-mailed link (token in the fragment, gone from the address bar), lists the
credentials before the questions, asks the answers, an SMS code and a new password, and ends with
a new file for a new key while the old certificate is revoked. Every step: a screenshot, no
console error, no CSP violation, no serious accessibility finding."""
import os
import re
import subprocess

from browser import By, PortalTestCase, tearDownModule  # noqa: F401
from harness import program

PASSPHRASE = "Envelope-Pass1!"
FILE_PASSWORD = "File-Pass 9!x"   # a space and a special character: read as typed
NEW_PASSWORD = "Recovered-Pass7?"
REFERENCE_RE = re.compile(r"^Your reference number: (\d{4}-\d{4}-\d{4})$", re.M)
ACTIVATE_RE = re.compile(r"^Activate: (\S+)$", re.M)
RECOVER_RE = re.compile(r"^Recover: (\S+)$", re.M)
ENVELOPE_RE = re.compile(r"-----BEGIN CERTFLOW ENVELOPE-----.*?-----END CERTFLOW ENVELOPE-----", re.S)
PRODUCT = "Signing certificate on your own computer"


def run(argv, input=None):
    return subprocess.run(argv, input=input, capture_output=True, text=True, timeout=120)


class PortalActivation(PortalTestCase):

    # --- set-up as the person and the operator do it ---
    def applied_and_approved(self, n=1):
        """Applied with certflow-agent, approved by the operator with certflow-admin: the
        person's form and the application id."""
        form, _ = self.apply_signing(self.srv, n, PASSPHRASE)
        apps = self.admin_ok(self.srv, "application", "list", "--status", "pending",
                             json_out=True)["applications"]
        app = [a for a in apps if a["subject"]["email"] == form["email"]][-1]
        self.admin_ok(self.srv, "application", "approve", app["id"])
        return form, app["id"]

    def mails_of(self, form, subject, n=1):
        return self.wait_mail(lambda m: m["To"] == form["email"] and m["Subject"] == subject,
                              subject, n)

    def codes(self, form, n=1):
        """The n-th reference mail's reference number and activation link, and the n-th
        envelope mail's armoured envelope."""
        ref_mail = self.mails_of(form, "certflow: your reference number", n)[n - 1].get_content()
        env_mail = self.mails_of(form, "certflow: your envelope", n)[n - 1].get_content()
        return (REFERENCE_RE.search(ref_mail).group(1), ACTIVATE_RE.search(ref_mail).group(1),
                ENVELOPE_RE.search(env_mail).group(0))

    def agent_activated(self, form, ref, envelope, n):
        """The credential activated by certflow-agent (the person's other computer)."""
        path = os.path.join(self.tmp, f"envelope-{n}.txt")
        with open(path, "w") as f:
            f.write(envelope + "\n")
        r = self.run_prog([program("certflow-agent"), "envelope", "open", "--in", path,
                           "--passphrase-file", "-", "--json"], input=PASSPHRASE + "\n")
        self.assertEqual(r.rc, 0, repr(r))
        code = re.search(r'"activationCode":\s*"([^"]+)"', r.out).group(1)
        r = self.run_prog([program("certflow-agent"), "enrol", "--server", self.srv.url, "--ca",
                           self.srv.ca_file, "--reference", ref, "--dir",
                           os.path.join(self.tmp, f"agent-{n}"), "--code-file", "-"],
                          input=code + "\n", timeout=120)
        self.assertEqual(r.rc, 0, repr(r))

    # --- the page ---
    def paste(self, name, text):
        """Type text into the field as a paste would put it (lines and all)."""
        el = self.field(name)
        el.clear()
        self.d.execute_script("arguments[0].value = arguments[1];"
                              "arguments[0].dispatchEvent(new Event('input'));", el, text)

    def rules(self, list_id):
        return {li.get_attribute("data-rule"): "met" in (li.get_attribute("class") or "")
                for li in self.d.find_elements(By.CSS_SELECTOR, f"#{list_id} li")}

    def choose_password(self, list_id, password):
        """The password typed twice, its rules watched as they are met."""
        self.type("password", "abc")
        self.wait(lambda d: self.rules(list_id).get("pw.rule.upper") is False and
                  self.rules(list_id).get("pw.rule.lower") is True, "the rules shown live")
        self.type("password", password)
        self.wait(lambda d: self.rules(list_id) and all(self.rules(list_id).values()),
                  "every rule met")
        self.type("password2", password[:-1])
        match = f"#{list_id.replace('-rules', '')}-match"
        self.wait(lambda d: self.css(match).get_attribute("data-match") == "false",
                  "the two passwords said to differ")
        self.type("password2", password)
        self.wait(lambda d: self.css(match).get_attribute("data-match") == "true",
                  "the two passwords said to be the same")

    def save_file(self, downloads):
        """Click the page's link to the file: the saved PKCS#12's path."""
        link = self.css("#activate-download")
        name = link.get_attribute("download")
        self.assertRegex(name, r"^certflow-[A-Za-z0-9._-]+\.p12$")
        self.assertTrue(link.get_attribute("href").startswith("blob:"),
                        "the file comes from the page's memory, not from the server")
        link.click()
        return self.wait_download(downloads, name)

    # --- the file, as openssl reads it ---
    def assert_pkcs12(self, path, password, serial):
        info = run(["openssl", "pkcs12", "-info", "-in", path, "-noout", "-passin",
                    "pass:" + password])
        self.assertEqual(info.returncode, 0, info.stderr)
        self.assertIn("MAC: sha256", info.stderr)
        self.assertIn("Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC", info.stderr)
        self.assertIn("PRF hmacWithSHA256", info.stderr)
        wrong = run(["openssl", "pkcs12", "-in", path, "-nodes", "-passin", "pass:" + password + "x"])
        self.assertNotEqual(wrong.returncode, 0, "another password does not open the file")
        out = run(["openssl", "pkcs12", "-in", path, "-nodes", "-passin", "pass:" + password])
        self.assertEqual(out.returncode, 0, out.stderr)
        certs = re.findall(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", out.stdout, re.S)
        key = re.search(r"-----BEGIN PRIVATE KEY-----.*?-----END PRIVATE KEY-----", out.stdout, re.S)
        self.assertIsNotNone(key, "the private key is in the file")
        self.assertEqual(len(certs), 3, "the certificate, its CA and the root")
        leaf, chain = os.path.join(self.tmp, "leaf.pem"), os.path.join(self.tmp, "chain.pem")
        with open(leaf, "w") as f:
            f.write(certs[0] + "\n")
        with open(chain, "w") as f:
            f.write("\n".join(certs[1:]) + "\n")
        v = run(["openssl", "verify", "-attime", str(self.srv.clock.now), "-CAfile",
                 self.srv.ca_file, "-untrusted", chain, leaf])
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)
        self.assertIn(": OK", v.stdout)
        got = run(["openssl", "x509", "-in", leaf, "-noout", "-serial"]).stdout.strip()
        self.assertEqual(got.split("=", 1)[1].lower().lstrip("0"), serial.lower().lstrip("0"))
        # the key is the certificate's: the same public key
        pub_cert = run(["openssl", "x509", "-in", leaf, "-noout", "-pubkey"]).stdout
        pub_key = run(["openssl", "pkey", "-pubout"], input=key.group(0) + "\n").stdout
        self.assertEqual(pub_cert, pub_key)

    # --- the journeys ---
    def test_activate_with_the_envelope_in_the_page_and_openssl_opens_the_file(self):
        form, app_id = self.applied_and_approved(1)
        ref, link, envelope = self.codes(form)
        self.assertTrue(link.startswith(self.srv.url + "/#/activate"), link)
        downloads = self.download_dir()
        self.d.get("about:blank")
        self.d.get(link)  # the mail's link
        self.wait_css("main [name=reference]")
        self.step("activate-form")
        # nothing filled: every problem named, nothing sent
        self.submit()
        self.wait_alert()
        self.assertEqual(self.d.switch_to.active_element.get_attribute("name"), "reference")
        self.step("activate-empty")
        self.type("reference", ref)
        self.paste("envelope", "Hello Ana,\n\n" + envelope + "\n\n-- \ncertflow server")
        self.type("envelopePassphrase", "Not-the-pass1!")
        self.choose_password("activate-rules", FILE_PASSWORD)
        self.step("activate-filled")
        self.submit()  # a wrong passphrase: said beside its field, nothing sent
        text = self.wait_alert("passphrase")
        self.assertNotIn("/v1/", text)
        self.step("activate-wrong-passphrase")
        self.type("envelopePassphrase", PASSPHRASE)
        self.submit()
        self.wait_heading("Your certificate is ready")
        serial = self.css("#activate-serial").text
        self.assertRegex(serial, r"^[0-9a-f]{16,40}$")
        self.assertEqual(self.css("#activate-subject").text, "Ana Lopez")
        self.assertEqual(self.d.find_elements(By.CSS_SELECTOR, "main input, main textarea"), [],
                         "the form and what was typed in it are gone")
        self.step("activate-ready")
        path = self.save_file(downloads)
        self.assert_pkcs12(path, FILE_PASSWORD, serial)
        shown = self.admin_ok(self.srv, "application", "show", app_id, json_out=True)
        self.assertEqual(shown["status"], "activated")
        cred = self.admin_ok(self.srv, "credential", "show", shown["credential"], json_out=True)
        self.assertEqual(cred["status"], "active")

    def test_a_wrong_activation_code_is_said_in_words_and_makes_nothing(self):
        self.size(1280, 900)
        form, app_id = self.applied_and_approved(2)
        ref, _, envelope = self.codes(form)
        path = os.path.join(self.tmp, "envelope.txt")
        with open(path, "w") as f:
            f.write(envelope + "\n")
        r = self.run_prog([program("certflow-agent"), "envelope", "open", "--in", path,
                           "--passphrase-file", "-", "--json"], input=PASSPHRASE + "\n")
        code = re.search(r'"activationCode":\s*"([^"]+)"', r.out).group(1)
        wrong = ("0" if code[0] != "0" else "1") + code[1:]
        downloads = self.download_dir()
        self.open("#/activate")
        self.wait_css("main [name=reference]")
        self.css("#activate-source-code").click()
        self.wait_css("main [name=activationCode]")
        self.assertFalse(self.field("envelope").is_displayed(), "one way at a time")
        self.type("reference", ref)
        self.type("activationCode", "ABCD-EFGH-JKMN-PQRS-TVWU")  # U is no code character
        self.choose_password("activate-rules", FILE_PASSWORD)
        self.submit()
        self.wait(lambda d: self.field("activationCode").get_attribute("aria-invalid") == "true",
                  "the code's shape refused beside it, before anything is sent")
        self.step("activate-code-shape")
        self.type("activationCode", wrong.lower())
        self.expect_problem(403)
        self.submit()
        text = self.wait_alert("not right")
        self.assertNotIn("badActivationCode", text)
        self.assertEqual(self.d.find_elements(By.CSS_SELECTOR, "#activate-download"), [])
        self.step("activate-wrong-code")
        # nothing made: the enrolment is still live (the wrong code counted), no credential
        enrol = [e for e in self.admin_ok(self.srv, "enrol", "list", json_out=True)["enrolments"]
                 if e["reference"] == ref.replace("-", "")][0]
        self.assertEqual((enrol["status"], enrol["failures"]), ("live", 1))
        self.assertEqual(self.admin_ok(self.srv, "credential", "list", json_out=True)["credentials"], [])
        self.assertEqual(os.listdir(downloads), [])
        # the right code, typed as a person may (spaces, lower case): activated
        self.type("activationCode", code.replace("-", " ").lower())
        self.submit()
        self.wait_heading("Your certificate is ready")
        self.step("activate-ready-desktop")
        self.assert_pkcs12(self.save_file(downloads), FILE_PASSWORD, self.css("#activate-serial").text)

    def test_recovery_from_the_mail_link_chooses_the_credential_first_and_gives_a_new_file(self):
        # two signing certificates of one person, both activated on the person's computer
        form, app1 = self.applied_and_approved(3)
        ref1, _, env1 = self.codes(form, 1)
        self.agent_activated(form, ref1, env1, 1)
        self.applied_and_approved(3)
        ref2, _, env2 = self.codes(form, 2)
        self.agent_activated(form, ref2, env2, 2)
        creds = self.admin_ok(self.srv, "credential", "list", json_out=True)["credentials"]
        self.assertEqual(len(creds), 2)
        old = self.admin_ok(self.srv, "application", "show", app1, json_out=True)["credential"]
        old_serial = self.admin_ok(self.srv, "credential", "show", old, json_out=True)
        old_serial = old_serial["certificates"][-1]
        # the person asks for the link in the portal; both addresses get it
        self.open("#/recover")
        self.wait_css("main [name=email]")
        self.type("email", form["email"])
        self.submit()
        self.wait_heading("Check your e-mail")
        mails = self.wait_mail(lambda m: m["Subject"] == "certflow: recover your credential",
                               "recovery link mails", 2)
        self.assertEqual(sorted(m["To"] for m in mails), sorted([form["email"], form["altEmail"]]))
        link = RECOVER_RE.search(mails[0].get_content()).group(1)
        token = link.rsplit("/", 1)[1]
        self.assertEqual(link, f"{self.srv.url}/#/recovery/{token}")
        self.assertNotIn("?", link, "the token rides in the fragment, never in a query")
        # the link: the token is read, then gone from the address bar
        downloads = self.download_dir()
        self.d.get("about:blank")
        self.d.get(link)
        self.wait_heading("Recover your certificate")
        self.wait_css("main input[name=credential]")
        self.assertNotIn(token, self.d.current_url)
        self.assertTrue(self.d.current_url.endswith("#/recovery"), self.d.current_url)
        # the credentials, by product and date, before any question
        labels = [el.text for el in self.d.find_elements(By.CSS_SELECTOR, "main .choice label")]
        self.assertEqual(len(labels), 2, labels)
        self.assertTrue(all(PRODUCT in lab and "Ana Lopez" in lab for lab in labels), labels)
        self.assertEqual(self.d.find_elements(By.CSS_SELECTOR, "main [name=answer1]"), [])
        self.step("recovery-choose")
        self.submit()  # none chosen: said so
        self.wait_alert()
        self.css(f"main input[name=credential][value='{old}']").click()
        self.submit()
        self.wait_css("main [name=answer1]")
        self.assertIn(PRODUCT, self.css("#recovery-chosen").text)
        questions = [self.d.find_element(By.CSS_SELECTOR, f"label[for='{self.field(f'answer{i}').get_attribute('id')}']").text
                     for i in (1, 2, 3)]
        self.assertEqual(questions, ["Question 0?", "Question 1?", "Question 2?"])
        self.step("recovery-questions")
        # the SMS code, asked for with the button
        self.css("#recovery-otp-send").click()
        self.wait(lambda d: self.css("#recovery-otp-status").text, "the code said to be sent")
        sms = self.wait_mail(lambda m: m["To"] == form["mobile"], "SMS code")[0]
        code = re.search(r"\b(\d{6})\b", sms.get_content()).group(1)
        # wrong answers first: said with the tries left, nothing changed
        for i in (1, 2, 3):
            self.type(f"answer{i}", "not this")
        self.type("otp", code)
        self.choose_password("recovery-rules", NEW_PASSWORD)
        self.expect_problem(403)
        self.submit()
        text = self.wait_alert("4")
        self.assertNotIn("badAnswers", text)
        self.step("recovery-wrong-answers")
        for i in (1, 2, 3):
            self.type(f"answer{i}", f"  ANSWER {i - 1} ")  # case and blanks do not matter
        self.submit()  # the same SMS code still serves (§17: wrong answers do not use it up)
        self.wait_heading("Activate your recovered certificate")
        self.step("recovery-sent")
        _, _, env3 = self.codes(form, 3)  # the new envelope, under the new password
        self.paste("envelope", env3)
        self.submit()
        self.wait_heading("Your certificate is ready")
        self.assertTrue(self.css("#recovery-revoked").is_displayed())
        serial = self.css("#activate-serial").text
        self.step("recovery-ready")
        self.assert_pkcs12(self.save_file(downloads), NEW_PASSWORD, serial)
        self.assertNotEqual(serial, old_serial)
        # the chosen credential is replaced (its certificate revoked as superseded), the
        # other one untouched
        self.assertEqual(self.admin_ok(self.srv, "credential", "show", old, json_out=True)["status"],
                         "revoked")
        other = [c["id"] for c in creds if c["id"] != old][0]
        self.assertEqual(self.admin_ok(self.srv, "credential", "show", other, json_out=True)["status"],
                         "active")

    def test_a_used_recovery_link_says_what_to_do_in_words(self):
        self.open("#/recovery/" + "A" * 43)
        self.expect_problem(403)
        text = self.wait_alert("expired")
        self.assertNotIn("badToken", text)
        self.assertNotIn("A" * 43, self.d.current_url)
        self.step("recovery-bad-link")


if __name__ == "__main__":
    import unittest
    unittest.main()
