"""Directory, nonces, CA chain (spec/protocol.md §1.1–§3, §11)."""
import datetime
import email.utils
import hashlib

from cryptography.hazmat.primitives import serialization

import cfbase
import cfremote
from cfbase import CONFIG, ConformanceTest, der, pem_certs


def root_cert():
    with open(CONFIG["ca"], "rb") as f:
        return pem_certs(f.read())[0]


class TestDirectory(ConformanceTest):
    def test_directory_matches_schema_and_names_this_root_ca(self):
        r = self.client.get(self.client.server + "/v1/directory")
        doc = self.expect(r, 200, "directory")
        fp = "sha256:" + hashlib.sha256(der(root_cert())).hexdigest()
        self.assertEqual(doc["meta"]["caFingerprint"], fp, "caFingerprint is the SHA-256 of the --ca root")

    def test_directory_resources_are_the_v1_paths_of_one_origin(self):
        origin = self.client.origin
        paths = {"newNonce": "/v1/new-nonce", "activate": "/v1/activate", "renew": "/v1/renew",
                 "keyChange": "/v1/key-change", "renewalInfo": "/v1/renewal-info", "caChain": "/v1/ca/chain",
                 "crl": "/v1/crl", "admin": "/v1/admin"}
        for member, path in paths.items():
            self.assertEqual(self.dir[member], origin + path, member)

    def test_directory_lists_the_csc_api_whose_info_answers_under_it(self):
        # §2: clients build no URL of their own (§1), the CSC API's included (§25)
        self.assertTrue(self.dir["csc"].startswith(self.client.origin + "/"), "csc on the directory's origin")
        self.assertFalse(self.dir["csc"].endswith("/"), "csc is a base URL without a trailing slash")
        self.expect(self.client.get(self.dir["csc"] + "/info"), 200, "csc-info-response")

    def test_ca_chain_is_issuing_ca_then_the_root(self):
        certs = pem_certs(self.fetch_chain())
        self.assertEqual(len(certs), 2)
        self.assertEqual(der(certs[1]), der(root_cert()), "second certificate of the chain is the --ca root")
        self.assertEqual(certs[0].issuer, certs[1].subject)
        d = self.tmpdir()
        root = self.write(d, "root.pem", root_cert().public_bytes(serialization.Encoding.PEM))
        iss = self.write(d, "issuing.pem", certs[0].public_bytes(serialization.Encoding.PEM))
        rc, out = self.run_openssl("verify", "-CAfile", root, iss)
        self.assertEqual(rc, 0, out)


class TestNonces(ConformanceTest):
    def test_head_new_nonce_is_200_with_a_nonce_and_no_store(self):
        r = self.client.http("HEAD", self.dir["newNonce"])
        self.expect(r, 200)
        self.assertIn("no-store", (r.header("cache-control") or "").lower())

    def test_get_new_nonce_is_204_with_a_nonce_and_no_store(self):
        r = self.client.http("GET", self.dir["newNonce"])
        self.expect(r, 204)
        self.assertEqual(r.body, b"")
        self.assertIn("no-store", (r.header("cache-control") or "").lower())

    def test_nonces_are_all_different(self):
        nonces = {self.client.new_nonce() for _ in range(8)}
        self.assertEqual(len(nonces), 8)

    def test_problem_responses_carry_a_fresh_nonce(self):
        r = self.client.get(self.client.origin + "/v1/no-such-resource")
        self.expect(r, 404, problem="notFound")

    def test_nonce_is_single_use(self):
        key = self.client.admin_key
        url = self.client.admin_kid
        nonce = self.client.new_nonce()
        first = self.client.post_body(url, cfbase.cfclient.jws(key, url, None, nonce=nonce, kid=url))
        self.expect(first, 200, "account")
        again = self.client.post_body(url, cfbase.cfclient.jws(key, url, None, nonce=nonce, kid=url))
        self.expect(again, 400, problem="badNonce")
        # the client retries once with the nonce of the badNonce response
        retry = self.client.post_body(url, cfbase.cfclient.jws(key, url, None, nonce=again.header("replay-nonce"), kid=url))
        self.expect(retry, 200, "account")

    def test_nonce_from_any_response_is_usable(self):
        r = self.client.get(self.client.server + "/v1/directory")
        url = self.client.admin_kid
        key = self.client.admin_key
        ok = self.client.post_body(url, cfbase.cfclient.jws(key, url, None, nonce=r.header("replay-nonce"), kid=url))
        self.expect(ok, 200, "account")


class TestHttpFraming(ConformanceTest):
    def test_a_valid_request_with_a_chunked_body_is_accepted(self):
        import urllib.parse
        from test_malformed import chunked

        key, url = self.client.admin_key, self.client.admin_kid
        body = cfbase.cfclient.jdump(cfbase.cfclient.jws(key, url, None, nonce=self.client.new_nonce(), kid=url))
        u = urllib.parse.urlsplit(url)
        head = ("POST %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\nContent-Type: application/jose+json\r\n"
                "Transfer-Encoding: chunked\r\n\r\n" % (u.path, u.netloc)).encode()
        r = self.client.transport.raw(u.hostname, head + chunked(body, 100))
        self.expect(r, 200, "account")

    def test_a_badly_framed_request_is_answered_400_and_what_follows_is_not_read_as_a_request(self):
        import urllib.parse

        from cfclient import _recv, read_response

        u = urllib.parse.urlsplit(self.client.directory()["activate"])
        smuggled = "GET /v1/directory HTTP/1.1\r\nHost: %s\r\n\r\n" % u.netloc
        heads = ("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                 "Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n",
                 "Content-Length: 0\r\nContent-Length: 5\r\n\r\nhello")
        for head in heads:
            with self.subTest(head.split("\r\n")[0]):
                data = ("POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/jose+json\r\n%s%s"
                        % (u.path, u.netloc, head, smuggled)).encode()
                sock = self.client.transport._connect(u.hostname)
                try:
                    sock.sendall(data)
                    r = read_response(sock)
                    self.assertEqual(r.status, 400, r)
                    self.assertEqual((r.header("Connection") or "").lower(), "close", r)
                    # the server closes: no answer to the bytes that followed
                    self.assertEqual(_recv(sock), b"")
                finally:
                    sock.close()


class TestTestClock(ConformanceTest):
    def test_the_test_clock_drives_the_date_header_the_crl_and_new_certificates(self):
        # §1 "The server's clock": every time a client sees follows --test-clock
        clock = cfremote.ServerClock(self, cfbase.CONFIG.get("clock_file"))
        t = clock.advance(40 * 86400)
        r = self.client.http("HEAD", self.dir["newNonce"])
        self.expect(r, 200)
        self.assertEqual(int(email.utils.parsedate_to_datetime(r.header("date")).timestamp()), t, "Date header")
        _, crl = self.fetch_crl()
        this_update = crl.last_update.replace(tzinfo=datetime.timezone.utc).timestamp()
        self.assertLessEqual(abs(this_update - t), 2, "CRL thisUpdate")
        a = self.activate()
        self.assertLessEqual(abs(a.cert.not_valid_before.replace(tzinfo=datetime.timezone.utc).timestamp() - t), 600,
                             "a new certificate's notBefore")
