#!/bin/sh
# run.sh — benchmark a fresh certflowd on this machine and print the figures.
#
#   tools/bench/run.sh [BUILD_DIR] [certflow-bench options...]
#
# Starts $CERTFLOWD (default BUILD_DIR/server/certflowd) on 127.0.0.1:0 with a temporary data
# directory and a test clock, waits for its --ready-file, runs certflow-bench (default
# BUILD_DIR/tools/certflow-bench, or $CERTFLOW_BENCH) with --server-pid and --clock-file, stops the
# server and removes the directory. BUILD_DIR defaults to ./build. Bounded: the server gets
# $BENCH_START_TIMEOUT seconds (default 30) to start, the bench $BENCH_TIMEOUT (default 600).
# Example: tools/bench/run.sh /tmp/build-tools --clients 8 --activations 1000 --renewals 1
#
# --prefill N (taken by run.sh, not passed on): before the run, start certflowd once to make its
# data directory, stop it, and write N credentials straight into its store with
# BUILD_DIR/tools/certflow-bench-fill (as tools/bench/lists.py does); after the run print the
# database's size and the server's resident memory (VmRSS, peak VmHWM), so that the figures at
# 1k, 100k and 1M credentials can be compared.
#
# On a machine with two CPUs or more (and taskset), the bench gets the last CPU for itself and
# certflowd the others, so that the bench's own signing does not take the server's CPU; the
# crypto limit is then that of the server's CPUs. BENCH_PIN=0 runs both anywhere.
set -eu

prefill=0
nargs=$#
i=0
while [ $i -lt $nargs ]; do
	a=$1
	shift
	i=$((i + 1))
	if [ "$a" = --prefill ]; then
		prefill=${1:-}
		shift
		i=$((i + 1))
		continue
	fi
	set -- "$@" "$a"
done
case $prefill in
'' | *[!0-9]*)
	echo "run.sh: --prefill takes a number of credentials" >&2
	exit 2
	;;
esac

build=./build
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
	build=$1
	shift
fi
certflowd=${CERTFLOWD:-$build/server/certflowd}
bench=${CERTFLOW_BENCH:-$build/tools/certflow-bench}
start_timeout=${BENCH_START_TIMEOUT:-30}
bench_timeout=${BENCH_TIMEOUT:-600}

for prog in "$certflowd" "$bench"; do
	if [ ! -x "$prog" ]; then
		echo "run.sh: $prog is not an executable (give the build directory or set CERTFLOWD)" >&2
		exit 2
	fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/certflow-bench.XXXXXX")
pid=
cleanup() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		# Bounded wait for a clean stop, then force.
		i=0
		while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# Wait for $tmp/ready (certflowd $pid writes it once it listens).
wait_ready() {
	i=0
	while [ ! -s "$tmp/ready" ]; do
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "run.sh: certflowd exited during start-up:" >&2
			cat "$tmp/server.log" >&2
			exit 1
		fi
		if [ $i -ge $((start_timeout * 10)) ]; then
			echo "run.sh: certflowd not ready after ${start_timeout} s" >&2
			exit 1
		fi
		sleep 0.1
		i=$((i + 1))
	done
}

if [ "$prefill" -gt 0 ]; then
	fill=${CERTFLOW_BENCH_FILL:-$build/tools/certflow-bench-fill}
	"$certflowd" --data "$tmp/data" --listen 127.0.0.1:0 --ready-file "$tmp/ready" \
		>"$tmp/server.log" 2>&1 &
	pid=$!
	wait_ready
	kill -TERM "$pid"
	wait "$pid" || true
	pid=
	rm -f "$tmp/ready"
	"$fill" "$tmp/data/db" "$prefill" 2>/dev/null
	# on disk before the run: otherwise the server's first fsyncs write the fill's pages
	sync "$tmp/data/db/data.mdb"
fi

ncpu=$(nproc 2>/dev/null || echo 1)
server_pin= bench_pin=
if [ "${BENCH_PIN:-1}" != 0 ] && [ "$ncpu" -ge 2 ] && command -v taskset >/dev/null 2>&1; then
	server_pin="taskset -c 0-$((ncpu - 2))"
	bench_pin="taskset -c $((ncpu - 1))"
	echo "run.sh: certflowd on CPU 0-$((ncpu - 2)), certflow-bench on CPU $((ncpu - 1))" >&2
fi

date +%s >"$tmp/clock"
# All requests come from 127.0.0.1: the per-address limit of activation would answer 429 after
# the first 600 (spec/protocol.md §28; 0 = no limit), and an address gets 16 connections at once.
printf 'rate_activate_addr = 0\nmax_connections_per_address = 1024\n' >"$tmp/certflowd.conf"
$server_pin "$certflowd" --data "$tmp/data" --config "$tmp/certflowd.conf" --listen 127.0.0.1:0 --ready-file "$tmp/ready" \
	--test-clock "$tmp/clock" >"$tmp/server.log" 2>&1 &
pid=$!
wait_ready

status=0
timeout -k 5 "$bench_timeout" $bench_pin "$bench" --data "$tmp/data" --server-pid "$pid" \
	--clock-file "$tmp/clock" --timeout "$bench_timeout" "$@" || status=$?
if [ $status -eq 0 ] && [ "$prefill" -gt 0 ]; then
	# stdout carries the bench's figures (one JSON line with --json): these go to stderr then
	out=1
	case " $* " in *" --json "*) out=2 ;; esac
	{
		echo "     store prefilled: $prefill credentials before the run"
		awk '{ printf "       database size: %.1f MiB (data.mdb)\n", $1 / 1048576 }' \
			<<-EOF
			$(stat -c %s "$tmp/data/db/data.mdb")
			EOF
		awk '/^VmRSS:/ { r = $2 } /^VmHWM:/ { h = $2 }
			END { printf "          server RSS: %.1f MiB (peak %.1f MiB)\n", r / 1024, h / 1024 }' \
			"/proc/$pid/status"
	} >&$out
fi
if [ $status -ne 0 ]; then
	echo "run.sh: certflow-bench failed (exit $status); server log:" >&2
	tail -n 20 "$tmp/server.log" >&2
fi
exit $status
