#!/usr/bin/env bash
# footprint.sh [BUILD_DIR] — the embedded footprint of certflow-agent (README "Embedded
# footprint"): for the small static build (certflow-agent-small) and, for comparison, the normal
# one: file size, stripped or not, the shared libraries it needs, and the peak RSS
# (/usr/bin/time -v, "Maximum resident set size") of one whole `enrol` and one whole
# `renew --force` against a real local certflowd (started and stopped by
# tests/integration/harness.py with-server; its test clock is moved into the renewal window).
# Resident sets vary by a few hundred KB from run to run (how many pages of the shared libraries
# the kernel maps around each fault), so each is measured FOOTPRINT_RUNS times (default 3) and
# the median is reported, with every run's figure after it.
#
# Output: "key: value" lines, one block per program, e.g.
#   program: certflow-agent-small
#   size_bytes: 609648
#   stripped: yes
#   needed: libcjson.so.1 libc.so.6
#   enrol_peak_rss_kb: 2600            (the median)
#   renew_peak_rss_kb: 2700
#   enrol_peak_rss_kb_runs: 2600 2500 2800
#   renew_peak_rss_kb_runs: 2700 2700 2600
# Exit status 0 when every measurement was made, 1 otherwise. Needs the packages `time`,
# `openssl` and a built tree (default: build/).
set -euo pipefail

if [ "${1:-}" = --measure ]; then
	# Inside harness.py with-server: CERTFLOW_SERVER, CERTFLOW_CA, CERTFLOW_DATA and
	# CERTFLOW_CLOCK_FILE name the running server.
	build=$2
	shift 2
	work=$(mktemp -d)
	trap 'rm -rf "$work"' EXIT
	umask 077
	runs=${FOOTPRINT_RUNS:-3}
	rss() { sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): \([0-9]*\)$/\1/p' "$1"; }
	set_clock() {
		echo "$1" >"$CERTFLOW_CLOCK_FILE.tmp"
		mv "$CERTFLOW_CLOCK_FILE.tmp" "$CERTFLOW_CLOCK_FILE"
	}
	median() { tr ' ' '\n' | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
	n=0
	for agent in "$@"; do
		enrol_rss=() renew_rss=()
		for _ in $(seq "$runs"); do
			n=$((n + 1))
			dir=$work/agent$n
			out=$("$build/tools/certflow-admin" --data "$CERTFLOW_DATA" enrol create \
				--subject "footprint-$n" --dns "footprint-$n.example")
			ref=$(sed -n 's/^[[:space:]]*reference:[[:space:]]*\([0-9-]*\)[[:space:]]*$/\1/p' \
				<<<"$out")
			sed -n 's/^[[:space:]]*activation code:[[:space:]]*\([0-9A-Za-z-]*\)[[:space:]]*$/\1/p' \
				<<<"$out" >"$work/code"
			[ -n "$ref" ] && [ -s "$work/code" ] || {
				echo "footprint.sh: cannot read the enrolment" >&2
				exit 1
			}
			/usr/bin/time -v -o "$work/enrol.time" "$agent" enrol --server "$CERTFLOW_SERVER" \
				--ca "$CERTFLOW_CA" --reference "$ref" --dir "$dir" --code-file "$work/code" \
				>/dev/null
			enrol_rss+=("$(rss "$work/enrol.time")")
			# Into the renewal window (the last third of the device profile's year): the
			# server's test clock; the agent takes the server's Date when its own clock is a
			# day off. Back to now afterwards, for the next enrolment.
			notafter=$(openssl x509 -noout -enddate -in "$dir/cert.pem" | cut -d= -f2)
			set_clock $(($(date -d "$notafter" +%s) - 30 * 86400))
			/usr/bin/time -v -o "$work/renew.time" "$agent" renew --dir "$dir" --force >/dev/null
			renew_rss+=("$(rss "$work/renew.time")")
			set_clock "$(date +%s)"
		done
		echo "program: $(basename "$agent")"
		echo "enrol_peak_rss_kb: $(median <<<"${enrol_rss[*]}")"
		echo "renew_peak_rss_kb: $(median <<<"${renew_rss[*]}")"
		echo "enrol_peak_rss_kb_runs: ${enrol_rss[*]}"
		echo "renew_peak_rss_kb_runs: ${renew_rss[*]}"
		echo
	done
	exit 0
fi

cd "$(dirname "$0")/.."
build=$(cd "${1:-build}" && pwd)
agents=()
for name in certflow-agent-small certflow-agent; do
	agent=$build/agent/$name
	[ -x "$agent" ] || {
		echo "footprint.sh: $agent is not built" >&2
		exit 1
	}
	agents+=("$agent")
done
[ -x /usr/bin/time ] || {
	echo "footprint.sh: /usr/bin/time is missing (Debian package time)" >&2
	exit 1
}
for agent in "${agents[@]}"; do
	echo "# $agent"
	echo "size_bytes: $(stat -c %s "$agent")"
	if readelf -S "$agent" | grep -q '\.symtab'; then echo "stripped: no"; else echo "stripped: yes"; fi
	echo "needed: $(readelf -d "$agent" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ' |
		sed 's/ $//')"
done
echo
exec /usr/bin/python3 tests/integration/harness.py with-server --build "$build" -- \
	bash tools/footprint.sh --measure "$build" "${agents[@]}"
