"""README "Several servers" as written: two certflowd on one PostgreSQL database behind nginx with
the README's location block (TLS with a copy of server.pem, proxy_pass https to the two, the
upstream's certificate verified against the root), and the real certflow-agent enrolling and
renewing through it, its requests spread over both by nginx.

Needs nginx (Debian nginx-light or nginx, installed by tools/deps.sh test) and PostgreSQL's
binaries."""

import os
import shutil
import socket
import subprocess
import time
import unittest

import pgcluster
from harness import (DAY, CertflowTestCase, Fleet, _die_with_parent, child_env, free_port,
                     load_cert, program, sanitizer_lines, ts)

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

NGINX_CONF = """
daemon off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log;
events {{ }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    upstream certflowd {{
        server 127.0.0.1:{p1} max_fails=2 fail_timeout=10s;
        server 127.0.0.1:{p2} max_fails=2 fail_timeout=10s;
        keepalive 32;
    }}
    server {{
        listen 127.0.0.1:{port} ssl;
        server_name localhost;
        ssl_certificate     {data}/server.pem;
        ssl_certificate_key {data}/server.pem;
        location / {{
            proxy_pass https://certflowd;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_ssl_trusted_certificate {data}/ca/root.pem;
            proxy_ssl_verify on;
            proxy_ssl_name localhost;
            proxy_ssl_server_name on;
            proxy_next_upstream error timeout;
            proxy_request_buffering on;
            proxy_pass_header Date;
        }}
    }}
}}
"""


@unittest.skipUnless(os.access(NGINX, os.X_OK), "nginx absent")
@unittest.skipUnless(pgcluster.available(), "PostgreSQL binaries absent (Debian postgresql-15)")
class NginxInFrontOfTwoServers(CertflowTestCase):
    def start_nginx(self, fleet, port):
        tmp = os.path.join(self.tmp, "nginx")
        os.makedirs(tmp)
        p1, p2 = (int(s.listen.rsplit(":", 1)[1]) for s in fleet.servers)
        conf = os.path.join(tmp, "nginx.conf")
        with open(conf, "w") as f:
            f.write(NGINX_CONF.format(tmp=tmp, data=fleet.data, port=port, p1=p1, p2=p2))
        proc = subprocess.Popen([NGINX, "-c", conf, "-p", tmp, "-e", os.path.join(tmp, "error.log")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                preexec_fn=_die_with_parent)
        self.addCleanup(self._stop_nginx, proc)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return proc
            except OSError:
                if proc.poll() is not None:
                    self.fail("nginx exited: " + proc.stderr.read().decode(errors="replace"))
                time.sleep(0.1)
        self.fail("nginx did not listen")

    def test_an_agent_enrols_and_renews_through_nginx_in_front_of_two_servers(self):
        pg = pgcluster.PgCluster().start()
        self.addCleanup(pg.stop)
        port = free_port()
        fleet = Fleet(os.path.join(self.tmp, "fleet"), 2, pg.create_database("nginx"),
                      config={"max_connections_per_address": 1024},
                      url=f"https://localhost:{port}")
        self.addCleanup(self._finish, fleet)
        fleet.start()
        self.start_nginx(fleet, port)

        import sys
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                        "conformance"))
        import cfclient
        admin = cfclient.Client(fleet.url, fleet.ca_file,
                                cfclient.Key.load_pem(os.path.join(fleet.data, "admin.key")))
        r = admin.admin("enrolment-create", {"subject": "behind-nginx", "profile": "device",
                                             "dnsNames": ["behind-nginx.example"]})
        self.assertEqual(r.status, 201, r)
        doc = r.json()
        d = os.path.join(self.tmp, "agent")
        r = self.run_prog([program("certflow-agent"), "enrol", "--server", fleet.url, "--ca",
                           fleet.ca_file, "--reference", doc["reference"], "--dir", d,
                           "--code-file", "-"], input=doc["activationCode"] + "\n", timeout=120)
        self.assertEqual(r.rc, 0, repr(r))
        first = self.cert_serial(d)
        cert = load_cert(os.path.join(d, "cert.pem"))
        nb, na = ts(cert.not_valid_before), ts(cert.not_valid_after)
        fleet.clock.set_time(na - (na - nb) // 3 + DAY)  # inside the device renewal window
        r = self.run_prog([program("certflow-agent"), "renew", "--dir", d], timeout=120,
                          env=child_env(fleet.clock.now))
        self.assertEqual(r.rc, 0, repr(r))
        self.assertNotEqual(self.cert_serial(d), first)

    @staticmethod
    def _stop_nginx(proc):
        proc.terminate()
        proc.wait(timeout=30)
        proc.stderr.close()

    def _finish(self, fleet):
        for srv, rc in fleet.stop():
            self.assertEqual(rc, 0, srv.stderr[-3000:])
        self.assertEqual(sanitizer_lines(fleet.stderr), [], fleet.stderr[-6000:])


if __name__ == "__main__":
    unittest.main()
