#!/usr/bin/env bash
# tests/fuzz/run.sh BUILD-FUZZ SECONDS — run every libFuzzer target of BUILD-FUZZ for SECONDS
# each from fresh seeds (seeds.py), in a temporary directory. Exits non-zero on the first crash,
# leak or sanitizer report (the reproducer stays in build-logs/fuzz/).
set -uo pipefail
build=$1 secs=${2:-20}
here=$(cd "$(dirname "$0")" && pwd)
logs=$here/../../build-logs/fuzz
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$logs"
/usr/bin/python3 "$here/seeds.py" "$work/seeds" || exit 1
status=0
for target in json jws csr http_head dns; do
	bin=$build/tests/fuzz/fuzz_$target
	mkdir -p "$work/corpus_$target"
	echo "--- fuzz_$target: $secs s"
	# -timeout: one input taking 10 s is a hang; -rss_limit_mb: a leak or a blow-up
	if ! "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$logs/${target}-" "$work/corpus_$target" "$work/seeds/$target" \
		>"$logs/fuzz_$target.log" 2>&1; then
		echo "fuzz_$target FAILED (see $logs/fuzz_$target.log)"
		tail -40 "$logs/fuzz_$target.log"
		status=1
	fi
	grep -E "^stat::number_of_executed_units|DONE" "$logs/fuzz_$target.log" | tail -2
done
exit $status
