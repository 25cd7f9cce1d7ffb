#!/usr/bin/python3
"""The holder portal's files, served by the real certflowd over HTTPS (spec/protocol.md §1.1,
spec/cli.md): "/" is the portal's page with its security headers, every file it loads comes with
its Content-Type, only GET and HEAD are served, /v1 and /csc keep the protocol's JSON problems,
and `public_url` is the server URL that e-mails give people."""
import http.client
import json
import os
import re
import time
import unittest

from harness import CertflowTestCase, program, run

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; frame-ancestors 'none'; "
       "base-uri 'none'; form-action 'self'")
PASS = "Envelope-Pass1!"


class PortalServingTest(CertflowTestCase):
    def request(self, srv, method, path, body=None, headers=None):
        host, port = srv.url.split("://", 1)[1].rsplit(":", 1)
        conn = http.client.HTTPSConnection(host, int(port), timeout=10,
                                           context=srv.ssl_context())
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            conn.close()

    def assert_page_headers(self, headers):
        self.assertEqual(headers.get("content-security-policy"), CSP)
        self.assertEqual(headers.get("x-content-type-options"), "nosniff")
        self.assertEqual(headers.get("referrer-policy"), "no-referrer")
        self.assertEqual(headers.get("cache-control"), "no-store")
        self.assertNotIn("set-cookie", headers)
        self.assertNotIn("replay-nonce", headers, "the portal's files are not protocol answers")

    def test_root_serves_the_portal_and_every_file_it_loads(self):
        srv = self.start_server()
        self.assertRegex(srv.stdout, r"(?m)^certflowd: the holder portal \(.*\): " +
                         re.escape(srv.url) + "/$")
        status, headers, body = self.request(srv, "GET", "/")
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-type"], "text/html; charset=utf-8")
        self.assert_page_headers(headers)
        page = body.decode()
        self.assertIn("<!doctype html>", page)
        self.assertNotRegex(page, r"<script(?![^>]*\bsrc=)", "no inline script")
        self.assertNotIn("style=", page, "no inline style")
        self.assertNotRegex(page, r"\bon[a-z]+=", "no inline event handler")
        types = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
                 ".svg": "image/svg+xml", ".json": "application/json"}
        refs = re.findall(r'(?:src|href)="(/[^"#]*)"', page)
        self.assertTrue(any(r.endswith(".js") for r in refs), refs)
        for ref in refs:
            status, headers, body = self.request(srv, "GET", ref)
            self.assertEqual(status, 200, ref)
            self.assertEqual(headers["content-type"], types[os.path.splitext(ref)[1]], ref)
            self.assert_page_headers(headers)
            self.assertGreater(len(body), 0, ref)
        # HEAD: the same headers and length, no body
        status, headers, body = self.request(srv, "HEAD", "/")
        self.assertEqual(status, 200)
        self.assertEqual(body, b"")
        self.assertGreater(int(headers["content-length"]), 100)
        self.assert_page_headers(headers)

    def test_only_get_and_head_and_unknown_pages_say_so_in_html(self):
        srv = self.start_server()
        for method in ("POST", "PUT", "DELETE"):
            status, headers, body = self.request(srv, method, "/", body=b"{}",
                                                 headers={"Content-Type": "application/json"})
            self.assertEqual(status, 405, method)
            self.assertEqual(headers["allow"], "GET, HEAD")
            self.assertEqual(json.loads(body)["type"], "urn:certflow:error:methodNotAllowed")
        status, headers, body = self.request(srv, "GET", "/no-such-page.html")
        self.assertEqual(status, 404)
        self.assertEqual(headers["content-type"], "text/html; charset=utf-8")
        self.assert_page_headers(headers)
        self.assertIn(b"Page not found", body)
        for path in ("/js/../index.html", "/%2e%2e/index.html", "/index.html%00"):
            status, headers, body = self.request(srv, "GET", path)
            self.assertEqual(status, 404, path)

    def test_protocol_paths_keep_their_json_problems(self):
        srv = self.start_server()
        for path in ("/v1", "/v1/", "/v1/no-such-thing", "/csc", "/csc/v2/nothing"):
            status, headers, body = self.request(srv, "GET", path)
            self.assertEqual(status, 404, path)
            self.assertEqual(headers["content-type"], "application/problem+json", path)
            self.assertEqual(json.loads(body)["type"], "urn:certflow:error:notFound", path)
            self.assertIn("replay-nonce", headers, path)
        status, headers, body = self.request(srv, "GET", "/v1/directory")
        self.assertEqual(status, 200)
        self.assertIn("apply", json.loads(body))

    def apply(self, srv):
        return self.apply_signing(srv, 1, PASS)[0]

    def wait_mails(self, srv, pred, what):
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            mails = [m for m in srv.mails() if pred(m)]
            if mails:
                return mails
            time.sleep(0.1)
        self.fail(f"no {what} in {srv.maildir}")

    def test_public_url_is_the_server_that_e_mails_name(self):
        public = "https://certs.example.org/people"
        srv = self.start_server(config={"auto_approve": "signing", "public_url": public})
        self.assertIn(f"): {public}/\n", srv.stdout)
        form = self.apply(srv)
        ref = self.wait_mails(srv, lambda m: m["Subject"] == "certflow: your reference number",
                              "reference mail")[0]
        text = ref.get_content()
        self.assertIn(f"certflow server: {public}\n", text)
        self.assertNotIn(srv.url, text)
        # the recovery link names the public URL too
        self.recovery_mail_names(srv, form["email"], public)

    def test_approval_mails_link_the_portal_pages_at_the_public_url(self):
        public = "https://certs.example.org/people"
        srv = self.start_server(config={"auto_approve": "signing", "public_url": public})
        self.apply(srv)
        for subject in ("certflow: your reference number", "certflow: your envelope"):
            text = self.wait_mails(srv, lambda m: m["Subject"] == subject, subject)[0].get_content()
            body = text.split("\n-- \n")[0]  # the trust footer apart
            lines = body.splitlines()
            self.assertIn("Activate: https://certs.example.org/people/#/activate", lines, subject)
            self.assertIn("Emergency suspension: https://certs.example.org/people/#/emergency",
                          lines, subject)
            # a person is told no command line; the device's operator is
            for para in body.split("\n\n"):
                if "certflow-agent" in para:
                    self.assertTrue(para.startswith("For a device:"), para)

    def recovery_mail_names(self, srv, email, url):
        r = run([program("certflow-agent"), "recover", "--server", srv.url, "--ca", srv.ca_file,
                 "--email", email])
        self.assertEqual(r.rc, 0, repr(r))
        mails = self.wait_mails(srv, lambda m: m["Subject"] == "certflow: recover your credential",
                                "recovery mail")
        self.assertIn(f"--server {url} ", mails[0].get_content())
        # the person's way: the portal's recovery page, the token in the fragment only
        link = re.search(r"^Recover: (\S+)$", mails[0].get_content(), re.M)
        self.assertIsNotNone(link, mails[0].get_content())
        self.assertRegex(link.group(1), "^" + re.escape(url.rstrip("/")) + r"/#/recovery/[A-Za-z0-9_-]{43}$")

    def test_a_bad_public_url_stops_the_start_with_one_line(self):
        from harness import Server
        srv = Server(os.path.join(self.tmp, "bad"), config={"public_url": "certs.example.org"})
        with self.assertRaises(AssertionError) as cm:
            srv.start()
        self.assertIn("public_url must be", str(cm.exception))

    def test_base_url_is_the_origin_of_the_urls_the_server_publishes(self):
        # several servers behind one load balancer answer to its URL, not their own port
        from harness import free_port
        port = free_port()
        base = "https://127.0.0.1:%d" % free_port()
        srv = self.start_server(listen="127.0.0.1:%d" % port, config={"base_url": base})
        self.assertEqual(srv.url, base)  # the ready file (and url) name it
        status, _, body = srv.get("https://127.0.0.1:%d/v1/directory" % port)
        d = json.loads(body)
        self.assertEqual(d["newNonce"], base + "/v1/new-nonce")
        self.assertEqual(d["crl"], base + "/v1/crl")

    def test_a_base_url_with_a_path_stops_the_start_with_one_line(self):
        from harness import Server
        for bad in ("https://lb.example/certflow", "lb.example", "https://lb.example/"):
            srv = Server(os.path.join(self.tmp, "bad"), config={"base_url": bad})
            with self.assertRaises(AssertionError, msg=bad) as cm:
                srv.start()
            self.assertIn("base_url must be", str(cm.exception))


if __name__ == "__main__":
    unittest.main()
