"""
browser — the portal's tests drive Debian's headless Chromium (chromium + chromium-driver, through
python3-selenium) against a real certflowd on 127.0.0.1 started by tests/integration/harness.py.

One Chromium serves a whole test module (it takes seconds to start); each test gets its own server,
so its own origin (and so its own localStorage). Every wait is explicit and bounded (WAIT seconds);
nothing sleeps to synchronise with the page. After every step the page's console is read: any
error (an uncaught exception, a CSP violation, a failed load) fails the test, except a protocol
answer with a problem status that the test said it expects. Each step leaves a screenshot in
build-logs/portal/ (CERTFLOW_PORTAL_SHOTS to change it).

Every step also runs axe-core (Deque's accessibility checker, a test-only npm dependency pinned by
tests/portal/package-lock.json, installed by `npm ci` into the git-ignored tests/portal/node_modules
on first use) in the page: a `serious` or `critical` violation fails the test; every finding, of
any impact, is appended to a11y-findings.txt beside the screenshots. axe is injected through
WebDriver (the DevTools protocol), not as a <script> element, so the portal's CSP is not loosened
and a CSP violation is still caught by the console check.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))

from harness import CertflowTestCase, build_dir  # noqa: E402

try:
    from selenium import webdriver
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import Select, WebDriverWait
except ImportError:  # reported by the test classes (skip), so a missing package is visible
    webdriver = None

WAIT = 20  # seconds for any one thing to appear in the page
PHONE = (390, 844)
DESKTOP = (1280, 900)
CHROMIUM = os.environ.get("CERTFLOW_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CERTFLOW_CHROMEDRIVER", "/usr/bin/chromedriver")
SHOTS = os.environ.get("CERTFLOW_PORTAL_SHOTS") or os.path.join(REPO, "build-logs", "portal")
FAILED_LOAD = re.compile(r"^(\S+) - Failed to load resource: the server responded with a status "
                         r"of (\d+)")

AXE_JS = os.path.join(HERE, "node_modules", "axe-core", "axe.min.js")
A11Y_FAIL = ("serious", "critical")  # axe impacts that fail a test; moderate and minor are logged

_driver = None
_axe = None


def axe_source():
    """axe.min.js at the version tests/portal/package-lock.json pins, `npm ci` run when needed."""
    global _axe
    if _axe is None:
        with open(os.path.join(HERE, "package-lock.json")) as f:
            want = json.load(f)["packages"]["node_modules/axe-core"]["version"]
        have = None
        try:
            with open(os.path.join(HERE, "node_modules", "axe-core", "package.json")) as f:
                have = json.load(f)["version"]
        except OSError:
            pass
        if have != want:
            r = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                               cwd=HERE, capture_output=True, text=True, timeout=300)
            if r.returncode != 0:
                raise RuntimeError(f"npm ci in {HERE} failed (tools/deps.sh test installs npm): "
                                   f"{r.stderr.strip()[-2000:]}")
        with open(AXE_JS) as f:
            _axe = f.read()
    return _axe


def missing():
    """Why the browser tests cannot run here, or None."""
    if webdriver is None:
        return "python3-selenium is not installed"
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            return f"{path} is missing (Debian packages chromium, chromium-driver)"
    return None


def driver():
    """The module's Chromium, started on first use."""
    global _driver
    if _driver is None:
        opts = webdriver.ChromeOptions()
        opts.binary_location = CHROMIUM
        for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                    "--no-first-run", "--disable-extensions", "--disable-sync",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-default-apps", "--lang=en-GB",
                    # each test's server has a certificate of its own test CA, on loopback only
                    "--ignore-certificate-errors",
                    f"--window-size={PHONE[0]},{PHONE[1]}"):
            opts.add_argument(arg)
        opts.add_experimental_option("prefs", {"intl.accept_languages": "en-GB,en"})
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        _driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
        _driver.set_page_load_timeout(WAIT)
        _driver.set_script_timeout(WAIT)
    return _driver


def quit_driver():
    global _driver
    if _driver is not None:
        try:
            _driver.quit()
        finally:
            _driver = None


class PortalTestCase(CertflowTestCase):
    """A test of the portal in Chromium: self.d is the browser, self.srv the server."""

    SERVER_CONFIG = {}

    @classmethod
    def setUpClass(cls):
        why = missing()
        if why:
            raise unittest.SkipTest(why)

    def setUp(self):
        super().setUp()
        self.d = driver()
        self.allowed = set()  # problem statuses of protocol answers the test expects
        self.step_no = 0
        self.size(*PHONE)
        self.d.get_log("browser")  # what an earlier test left
        self.addCleanup(self.check_console, "end of test")
        self.srv = self.start_server(config=dict(self.SERVER_CONFIG))

    # --- the page ---
    def size(self, width, height):
        self.d.set_window_size(width, height)
        # the window's outer size differs from the viewport's by the browser's frame
        inner = self.d.execute_script("return [window.innerWidth, window.innerHeight]")
        self.d.set_window_size(width + (width - inner[0]), height + (height - inner[1]))
        self.viewport = (width, height)

    def open(self, fragment=""):
        """Load the portal afresh (a new page, not only a new fragment) at fragment."""
        self.d.get("about:blank")
        self.d.get(self.srv.url + "/" + fragment)
        self.wait_css("main h1")

    def wait(self, cond, what):
        try:
            return WebDriverWait(self.d, WAIT).until(cond)
        except TimeoutException:
            self.shot("timeout")
            self.fail(f"{what} did not happen within {WAIT} s; page: "
                      f"{self.d.find_element(By.TAG_NAME, 'main').text[:1500]!r}; console: "
                      f"{self.d.get_log('browser')}")

    def wait_css(self, css):
        return self.wait(EC.visibility_of_element_located((By.CSS_SELECTOR, css)), f"{css} shown")

    def wait_heading(self, text):
        self.wait(EC.text_to_be_present_in_element((By.CSS_SELECTOR, "main h1"), text),
                  f"heading {text!r}")
        return self.d.find_element(By.CSS_SELECTOR, "main h1")

    def wait_alert(self, *words):
        def shown(d):
            els = d.find_elements(By.CSS_SELECTOR, "main [role=alert]")
            texts = [e.text for e in els if e.is_displayed() and e.text.strip()]
            return texts[0] if texts and all(w in texts[0] for w in words) else False
        return self.wait(shown, f"an alert saying {words}")

    def css(self, css):
        return self.d.find_element(By.CSS_SELECTOR, css)

    def field(self, name):
        return self.css(f"main [name={name}]")

    def type(self, name, text, clear=True):
        el = self.field(name)
        if clear:
            el.clear()
        el.send_keys(text)
        return el

    def tick(self, name):
        el = self.field(name)
        if not el.is_selected():
            el.click()

    def submit(self):
        self.css("main form button[type=submit]").click()

    def choose(self, name, value):
        Select(self.field(name)).select_by_value(value)

    def follow(self, href):
        self.css(f"main a[href='{href}']").click()

    # --- checks after every step ---
    def shot(self, step):
        self.step_no += 1
        os.makedirs(SHOTS, exist_ok=True)
        name = (f"{os.path.basename(build_dir())}-{self._testMethodName}-"
                f"{self.step_no:02d}-{step}-{self.viewport[0]}x{self.viewport[1]}.png")
        self.d.save_screenshot(os.path.join(SHOTS, re.sub(r"[^A-Za-z0-9_.-]", "_", name)))

    def check_console(self, step):
        errors = []
        for e in self.d.get_log("browser"):
            if e.get("level") != "SEVERE":
                continue
            m = FAILED_LOAD.match(e.get("message", ""))
            if m and re.search(r"/(v1|csc)/", m.group(1)) and int(m.group(2)) in self.allowed:
                continue
            errors.append(e.get("message"))
        self.assertEqual(errors, [], f"browser console errors at {step!r}")

    def check_a11y(self, step):
        """Run axe-core on the screen as it is: fail on any serious or critical violation (the
        rule, its help text and the first elements named); log every finding and return them
        ([{id, impact, help, nodes}]). Call it on any screen a test shows; step() calls it."""
        if not self.d.execute_script("return typeof window.axe === 'object'"):
            self.d.execute_script(axe_source())
        found = self.d.execute_async_script("""
            const done = arguments[arguments.length - 1];
            axe.run(document, {resultTypes: ['violations']})
              .then(r => done(r.violations.map(v => ({
                  id: v.id, impact: v.impact, help: v.help,
                  nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))}))))
              .catch(e => done([{id: 'axe-error', impact: 'critical', help: String(e),
                                 nodes: []}]));""")
        if found:
            os.makedirs(SHOTS, exist_ok=True)
            with open(os.path.join(SHOTS, "a11y-findings.txt"), "a") as f:
                for v in found:
                    f.write(f"{self._testMethodName} {step} {self.viewport[0]}x"
                            f"{self.viewport[1]}: {v['impact']} {v['id']}: {v['help']} "
                            f"{v['nodes']}\n")
        bad = [f"{v['impact']} {v['id']}: {v['help']} at {', '.join(v['nodes'])}"
               for v in found if v["impact"] in A11Y_FAIL]
        self.assertEqual(bad, [], f"accessibility violations (axe-core) at {step!r}")
        return found

    def step(self, name):
        """A screenshot, the console checked and axe-core run, after each step of a journey."""
        self.shot(name)
        self.check_console(name)
        self.check_a11y(name)
        width = self.d.execute_script("return document.documentElement.scrollWidth")
        self.assertLessEqual(width, self.viewport[0], f"{name}: the page is wider than the "
                                                      f"screen ({width} px)")

    def expect_problem(self, status):
        self.allowed.add(status)

    # --- downloads ---
    def download_dir(self):
        """A new empty directory of the test where Chromium saves what the page offers (set
        through the DevTools protocol: headless Chromium has no download prompt to answer)."""
        d = os.path.join(self.tmp, f"downloads-{self.step_no}")
        os.makedirs(d)
        self.d.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow",
                                                               "downloadPath": d})
        return d

    def wait_download(self, d, name):
        """The path of the file name once Chromium has finished writing it into d."""
        path = os.path.join(d, name)
        self.wait(lambda _: os.path.exists(path) and not any(
            f.endswith(".crdownload") for f in os.listdir(d)), f"{name} saved in {d}")
        return path

    # --- mail ---
    def wait_mail(self, pred, what, n=1):
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            mails = [m for m in self.srv.mails() if pred(m)]
            if len(mails) >= n:
                return mails
            time.sleep(0.1)  # polling the maildir another process writes, bounded
        self.fail(f"{what}: fewer than {n} in {self.srv.maildir}")


def tearDownModule():
    quit_driver()


def clean_shots():
    shutil.rmtree(SHOTS, ignore_errors=True)
