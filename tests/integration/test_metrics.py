"""GET /metrics (issue 10 item 13): the Prometheus text format, read by the reference parser
(python3-prometheus-client), counters that move with the requests, no identifier in a label,
and the access setting `metrics = off | loopback | on`."""
import os
import sys

from prometheus_client.parser import text_string_to_metric_families

from harness import CertflowTestCase

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "conformance"))
import cfclient  # noqa: E402


class Metrics(CertflowTestCase):
    def scrape(self, c):
        r = c.get(c.origin + "/metrics")
        self.assertEqual(r.status, 200, r.body)
        self.assertTrue(r.header("content-type").startswith("text/plain; version=0.0.4"))
        text = r.body.decode()
        families = {f.name: f for f in text_string_to_metric_families(text)}
        return text, families

    def value(self, families, name, **labels):
        fam = families.get(name)
        self.assertIsNotNone(fam, f"no family {name}")
        for s in fam.samples:
            if all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
        return 0

    def test_metrics_count_requests_problems_and_certificates_in_prometheus_format(self):
        srv = self.start_server()
        admin = cfclient.Key.load_pem(os.path.join(srv.data, "admin.key"))
        c = cfclient.Client(srv.url, srv.ca_file, admin_key=admin)
        _, before = self.scrape(c)
        self.assertEqual(self.value(before, "certflow_certificates_issued", ), 0)
        r = c.admin("enrolment-create", {"subject": "metered", "profile": "device"})
        e = r.json()
        key, leaf = cfclient.Key.generate(), cfclient.Key.generate()
        r = c.activate(key, e["reference"], e["activationCode"], cfclient.make_csr(leaf))
        self.assertEqual(r.status, 201, r.body)
        r = c.activate(cfclient.Key.generate(), e["reference"], "0000-0000-0000-0000-0000",
                       cfclient.make_csr(leaf))
        self.assertEqual(r.status, 403)
        text, fam = self.scrape(c)
        # the parser strips _total from counter family names
        self.assertEqual(fam["certflow_certificates_issued"].type, "counter")
        self.assertEqual(self.value(fam, "certflow_certificates_issued"), 1)
        self.assertEqual(self.value(fam, "certflow_http_requests", route="POST /v1/activate",
                                    code="2xx"), 1)
        self.assertEqual(self.value(fam, "certflow_http_requests", route="POST /v1/activate",
                                    code="4xx"), 1)
        self.assertGreaterEqual(self.value(fam, "certflow_problems", type="enrolmentUsed"), 1)
        self.assertGreater(self.value(fam, "certflow_store_bytes"), 0)
        self.assertEqual(fam["certflow_outbox_queued"].type, "gauge")
        self.assertGreaterEqual(self.value(fam, "certflow_connections"), 1)
        # labels name routes and problem types, never a reference, a code or an address
        for secret in (e["reference"], e["activationCode"], "127.0.0.1"):
            self.assertNotIn(secret, text)

    def test_metrics_off_is_an_unknown_route_and_a_bad_setting_refuses_the_start(self):
        srv = self.start_server(config={"metrics": "off"})
        c = cfclient.Client(srv.url, srv.ca_file)
        r = c.get(c.origin + "/metrics")
        self.assertEqual(r.status, 404)
        self.assertEqual(r.json()["type"], "urn:certflow:error:notFound")
        r = self.run_prog([self.program("certflowd"), "check", "--data", srv.data, "--config",
                           self.write_conf("metrics = sometimes\n")], timeout=30)
        self.assertEqual(r.rc, 2, f"{r!r}")
        self.assertIn("metrics", r.err)

    def program(self, name):
        from harness import program
        return program(name)

    def write_conf(self, text):
        path = os.path.join(self.tmp, "m.conf")
        with open(path, "w") as f:
            f.write(text)
        return path
