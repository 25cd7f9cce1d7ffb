#!/bin/sh
# stores.sh — the same benchmark on LMDB, on PostgreSQL with one certflowd and on PostgreSQL with
# two, one after the other, and one table of the figures.
#
#   tools/bench/stores.sh [BUILD_DIR] [certflow-bench options...]
#
# Each row is one tools/bench/run.sh (a fresh data directory; for PostgreSQL a fresh private
# cluster, fsync on, as LMDB's commits are durable too) with the options given, e.g.
#   tools/bench/stores.sh build --clients 8 --activations 1000
# Columns: issuances/s, latency p50 and p99 (ms), certflowd CPU ms per certificate (both
# processes summed with two), the database's CPU ms per certificate (PostgreSQL's processes;
# LMDB works inside certflowd), and the bench's own CPU per certificate. Exit 1 if a run failed.
set -eu

here=$(dirname "$0")
build=./build
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
	build=$1
	shift
fi
out=$(mktemp "${TMPDIR:-/tmp}/certflow-stores.XXXXXX")
trap 'rm -f "$out"' EXIT

status=0
for row in "lmdb 1" "postgresql 1" "postgresql 2"; do
	store=${row% *} n=${row#* }
	echo "stores.sh: $store, $n certflowd" >&2
	if line=$(sh "$here/run.sh" "$build" --store "$store" --frontends "$n" "$@" --json); then
		printf '%s %s %s\n' "$store" "$n" "$line" >>"$out"
	else
		status=1
		printf '%s %s {}\n' "$store" "$n" >>"$out"
	fi
done

/usr/bin/python3 - "$out" <<'EOF'
import json, sys

print("%-12s %9s %11s %8s %8s %14s %14s %12s" % ("store", "certflowd", "issuances/s", "p50 ms",
      "p99 ms", "server CPU/cert", "db CPU/cert", "bench CPU/cert"))
for line in open(sys.argv[1]):
    store, n, doc = line.split(" ", 2)
    d = json.loads(doc)
    if not d:
        print("%-12s %9s  failed" % (store, n))
        continue
    f = lambda k: "-" if d.get(k) is None else "%.2f" % d[k]
    print("%-12s %9s %11.1f %8.1f %8.1f %14s %14s %12s" % (
        store, n, d["issuancePerSec"], d["issuanceP50Ms"], d["issuanceP99Ms"],
        f("issuanceServerCpuMsPerCert"), f("issuanceDbCpuMsPerCert"),
        f("issuanceBenchCpuMsPerCert")))
EOF
exit $status
