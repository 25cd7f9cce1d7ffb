#!/bin/sh
# median.sh — tools/bench/run.sh several times in a row (a fresh server each) and the median of
# each figure, for a machine whose speed drifts from one run to the next.
#
#   tools/bench/median.sh [BUILD_DIR] [--runs K] [certflow-bench options...]
#
# K (default 5, 1 to 25) runs of run.sh with the options given, e.g.
#   tools/bench/median.sh build --runs 5 --clients 8 --activations 3000 --renewals 1
# One line per run, then the median line: issuances/s, achieved/limit (OpenSSL, the limit timed
# right after the phase on the server's CPUs), server CPU ms per certificate, p99 (ms), the same
# for renewals when --renewals is given, and renewal-info/s. On a virtual machine the ratio of
# one run may swing by a third; the median of five is the figure to quote. $CERTFLOWD and the
# other variables of run.sh apply. Exit 1 if a run failed, 2 on a usage error.
set -eu

here=$(dirname "$0")
build=./build
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
	build=$1
	shift
fi
runs=5
if [ "${1:-}" = --runs ]; then
	runs=${2:-}
	shift 2 || shift $#
fi
case $runs in
'' | *[!0-9]*)
	echo "median.sh: --runs takes a number from 1 to 25" >&2
	exit 2
	;;
esac
if [ "$runs" -lt 1 ] || [ "$runs" -gt 25 ]; then
	echo "median.sh: --runs takes a number from 1 to 25" >&2
	exit 2
fi
out=$(mktemp "${TMPDIR:-/tmp}/certflow-median.XXXXXX")
trap 'rm -f "$out"' EXIT

i=1
while [ "$i" -le "$runs" ]; do
	echo "median.sh: run $i of $runs" >&2
	if ! line=$(sh "$here/run.sh" "$build" "$@" --json); then
		echo "median.sh: run $i failed" >&2
		exit 1
	fi
	printf '%s\n' "$line" | tail -n 1 >>"$out"
	i=$((i + 1))
done

/usr/bin/python3 - "$out" <<'EOF'
import json, statistics, sys

docs = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
cols = [("issuancePerSec", "iss/s", "%.0f"), ("issuanceRatio", "iss ratio", "%.3f"),
        ("issuanceServerCpuMsPerCert", "iss CPU ms", "%.2f"), ("issuanceP99Ms", "iss p99", "%.1f")]
if any(d.get("renewalCount") for d in docs):
    cols += [("renewalPerSec", "ren/s", "%.0f"), ("renewalRatio", "ren ratio", "%.3f"),
             ("renewalServerCpuMsPerCert", "ren CPU ms", "%.2f"), ("renewalP99Ms", "ren p99", "%.1f")]
cols += [("renewalInfoPerSec", "info/s", "%.0f")]


def cell(v, fmt):
    return "-" if v is None else fmt % v


print("%-8s" % "run" + "".join("%11s" % c[1] for c in cols))
for n, d in enumerate(docs, 1):
    print("%-8s" % n + "".join("%11s" % cell(d.get(k), f) for k, _, f in cols))
row = []
for k, _, f in cols:
    vals = [d[k] for d in docs if d.get(k) is not None]
    row.append(cell(statistics.median(vals) if vals else None, f))
print("%-8s" % "median" + "".join("%11s" % c for c in row))
EOF
