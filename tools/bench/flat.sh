#!/usr/bin/env bash
# flat.sh — does issuance stay flat as the store grows? For each size, tools/bench/run.sh
# --prefill SIZE (a fresh server whose store holds SIZE credentials before the run) with the same
# bench, then one table: issuance p50, renewal-info p50, database size and server RSS per size,
# and each figure's ratio to the smallest size's (the issue's goal: p50s within 1.5x).
#
#   tools/bench/flat.sh [BUILD_DIR] [--sizes 1000,100000,1000000] [certflow-bench options...]
#
# Default bench options: --clients 8 --activations 2000 --renewals 1.
set -euo pipefail

build=./build
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
	build=$1
	shift
fi
sizes=1000,100000,1000000
if [ "${1:-}" = --sizes ]; then
	sizes=$2
	shift 2
fi
[ $# -gt 0 ] || set -- --clients 8 --activations 2000 --renewals 1
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/certflow-flat.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

for size in ${sizes//,/ }; do
	echo "flat.sh: $size credentials" >&2
	bash "$here/run.sh" "$build" --prefill "$size" "$@" --json >"$tmp/$size.json" 2>"$tmp/$size.err" ||
		{ cat "$tmp/$size.err" >&2; exit 1; }
done

python3 - "$tmp" "$sizes" <<'EOF'
import json, re, sys
tmp, sizes = sys.argv[1], [int(s) for s in sys.argv[2].split(",")]
rows = []
for size in sizes:
    fig = json.loads(open(f"{tmp}/{size}.json").read().strip().splitlines()[-1])
    err = open(f"{tmp}/{size}.err").read()
    db = float(re.search(r"database size: ([0-9.]+) MiB", err).group(1))
    rss = re.search(r"server RSS: ([0-9.]+) MiB \(peak ([0-9.]+) MiB\)", err)
    rows.append({"size": size, "iss_p50": fig["issuanceP50Ms"], "iss_rate": fig["issuancePerSec"],
                 "ren_p50": fig["renewalP50Ms"], "ari_p50": fig["renewalInfoP50Ms"],
                 "db": db, "rss": float(rss.group(1)), "hwm": float(rss.group(2))})
cols = [("size", "credentials", "%11d"), ("iss_rate", "issuances/s", "%11.1f"),
        ("iss_p50", "issue p50 ms", "%12.2f"), ("ren_p50", "renew p50 ms", "%12.2f"),
        ("ari_p50", "r-info p50 ms", "%13.3f"), ("db", "db MiB", "%8.1f"),
        ("rss", "RSS MiB", "%8.1f"), ("hwm", "peak MiB", "%8.1f")]
print(" ".join(("%" + str(len(h) if len(h) > 8 else 8) + "s") % h for _, h, _ in cols))
for r in rows:
    print(" ".join(("%" + str(len(h) if len(h) > 8 else 8) + "s") % (f % r[k]) for k, h, f in cols))
lo = rows[0]
for r in rows[1:]:
    print("ratio %d/%d: issuance p50 %.2f, renewal p50 %.2f, renewal-info p50 %.2f, RSS %.2f"
          % (r["size"], lo["size"], r["iss_p50"] / lo["iss_p50"], r["ren_p50"] / lo["ren_p50"],
             r["ari_p50"] / lo["ari_p50"], r["rss"] / lo["rss"]))
EOF
