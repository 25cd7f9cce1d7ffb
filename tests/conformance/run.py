#!/usr/bin/python3
"""Run the certflow conformance suite against a server.

  /usr/bin/python3 tests/conformance/run.py --server https://127.0.0.1:PORT \
      --ca ROOT.pem --admin-key ADMIN.key [--clock-file FILE] [--maildir DIR] [-k PATTERN] [--failfast]

Exit status 0 when every test passed (skips allowed), 1 otherwise, 2 on a usage error.
"""
import argparse
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import cfbase  # noqa: E402

FIRST = ["test_basics", "test_activation", "test_accounts", "test_lifecycle", "test_malformed", "test_applications",
         "test_recovery"]
# every other test_*.py of this directory is discovered, after these, in name order
MODULES = FIRST + sorted(f[:-3] for f in os.listdir(os.path.dirname(os.path.abspath(__file__)))
                         if f.startswith("test_") and f.endswith(".py") and f[:-3] not in FIRST)


def main():
    ap = argparse.ArgumentParser(description="certflow protocol v1 conformance suite (black box)")
    ap.add_argument("--server", required=True, help="base URL, e.g. https://127.0.0.1:8443")
    ap.add_argument("--ca", required=True, help="PEM root certificate that the server's TLS certificate and CA chain to")
    ap.add_argument("--admin-key", required=True, help="PEM private key of the server's admin account")
    ap.add_argument("--spec", default=os.path.join(HERE, "..", "..", "spec"), help="spec directory (schemas/)")
    ap.add_argument("--clock-file", help="the server's --test-clock FILE: enables time-travel tests (renewal)")
    ap.add_argument("--maildir", help="the server's maildir (DATA/maildir): enables the tests that read its e-mails")
    ap.add_argument("-k", dest="patterns", action="append", help="only tests whose name contains PATTERN")
    ap.add_argument("--failfast", action="store_true")
    ap.add_argument("-q", "--quiet", action="store_true")
    args = ap.parse_args()
    for path in (args.ca, args.admin_key):
        if not os.path.isfile(path):
            ap.error("no such file: " + path)
    cfbase.CONFIG.update(server=args.server.rstrip("/"), ca=args.ca, admin_key=args.admin_key, spec=args.spec,
                         clock_file=args.clock_file, maildir=args.maildir)
    loader = unittest.TestLoader()
    if args.patterns:
        loader.testNamePatterns = ["*%s*" % p for p in args.patterns]
    suite = unittest.TestSuite(loader.loadTestsFromName(m) for m in MODULES)
    runner = unittest.TextTestRunner(verbosity=1 if args.quiet else 2, failfast=args.failfast)
    result = runner.run(suite)
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
