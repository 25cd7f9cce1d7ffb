#!/bin/sh
# syscalls.sh — the system calls and context switches of certflowd per certificate.
#
#   tools/bench/syscalls.sh [BUILD_DIR] [ACTIVATIONS]
#
# Starts $CERTFLOWD (default BUILD_DIR/server/certflowd) on CPU 0 with a temporary data directory
# and a test clock, attaches `strace -f -c` (and `perf stat -e context-switches` when perf is
# there) to it, runs certflow-bench on CPU 1 with 8 clients, ACTIVATIONS activations (default
# 1000) and one renewal each, and prints each system call's count divided by the number of
# certificates issued (activations + renewals; the bench's other requests, enrolment-create and
# renewal-info, are in the counts too). strace slows the server down: the counts are the figure,
# not the rates. Needs strace (apt-get install strace). Bounded: 300 s for the bench.
set -eu

build=./build
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ] && [ -d "$1" ]; then
	build=$1
	shift
fi
n=${1:-1000}
case $n in
'' | *[!0-9]*)
	echo "syscalls.sh: ACTIVATIONS is a number" >&2
	exit 2
	;;
esac
certflowd=${CERTFLOWD:-$build/server/certflowd}
bench=${CERTFLOW_BENCH:-$build/tools/certflow-bench}
if ! command -v strace >/dev/null 2>&1; then
	echo "syscalls.sh: needs strace (apt-get install strace)" >&2
	exit 2
fi
for prog in "$certflowd" "$bench"; do
	if [ ! -x "$prog" ]; then
		echo "syscalls.sh: $prog is not an executable (give the build directory)" >&2
		exit 2
	fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/certflow-syscalls.XXXXXX")
pid= spid=
cleanup() {
	for p in $spid $pid; do
		kill -INT "$p" 2>/dev/null || true
	done
	sleep 1
	[ -z "$pid" ] || kill -KILL "$pid" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

pin0= pin1=
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null 2>&1; then
	pin0="taskset -c 0"
	pin1="taskset -c 1"
fi
printf 'rate_activate_addr = 0\nmax_connections_per_address = 1024\n' >"$tmp/certflowd.conf"

# One fresh certflowd and one bench under the watcher $1 (strace or perf), its output in $2.
watched_run() {
	rm -rf "$tmp/data" "$tmp/ready"
	date +%s >"$tmp/clock"
	$pin0 "$certflowd" --data "$tmp/data" --config "$tmp/certflowd.conf" \
		--listen 127.0.0.1:0 --ready-file "$tmp/ready" --test-clock "$tmp/clock" \
		>"$tmp/server.log" 2>&1 &
	pid=$!
	i=0
	while [ ! -s "$tmp/ready" ]; do
		if ! kill -0 "$pid" 2>/dev/null || [ $i -ge 300 ]; then
			echo "syscalls.sh: certflowd did not start:" >&2
			cat "$tmp/server.log" >&2
			exit 1
		fi
		sleep 0.1
		i=$((i + 1))
	done
	case $1 in
	strace) strace -f -c -o "$2" -p "$pid" 2>/dev/null & ;;
	perf) perf stat -e context-switches -p "$pid" -o "$2" 2>/dev/null & ;;
	esac
	spid=$!
	sleep 1
	$pin1 timeout -k 5 300 "$bench" --data "$tmp/data" --server "$(cat "$tmp/ready")" \
		--server-pid "$pid" --clock-file "$tmp/clock" --clients 8 --activations "$n" \
		--renewals 1 >"$tmp/bench.out" 2>&1 || {
		cat "$tmp/bench.out" >&2
		exit 1
	}
	kill -INT "$spid" 2>/dev/null || true
	wait "$spid" 2>/dev/null || true
	spid=
	kill -TERM "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	pid=
}

certs=$((2 * n))
watched_run strace "$tmp/strace.out"
echo "certflowd, $n activations + $n renewals ($certs certificates), 8 clients, per certificate:"
awk -v c=$certs '$1 ~ /^[0-9.]+$/ && NF >= 5 && $NF != "total" && $4 / c >= 0.01 {
	printf "%16s %8.2f\n", $NF, $4 / c }' "$tmp/strace.out" | sort -k2 -nr
awk -v c=$certs '$1 ~ /^[0-9.]+$/ && NF >= 5 && $NF != "total" { sum += $4 }
	END { printf "%16s %8.2f\n", "all system calls", sum / c }' "$tmp/strace.out"
# context switches in a run of their own: strace's stops would count as switches
if command -v perf >/dev/null 2>&1; then
	watched_run perf "$tmp/perf.out"
	awk -v c=$certs '/context-switches/ { gsub(",", "", $1)
		printf "%16s %8.2f (a run without strace)\n", "context switches", $1 / c }' "$tmp/perf.out"
fi
