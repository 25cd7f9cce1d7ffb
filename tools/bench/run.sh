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
# --store lmdb|postgresql (default lmdb) and --frontends N (default 1; N > 1 needs postgresql),
# taken by run.sh: with postgresql, run.sh runs itself again inside a private PostgreSQL cluster
# (tests/integration/pgcluster.py: initdb + pg_ctl in a temporary directory, a Unix socket only,
# fsync on) and starts N certflowd on its one database and one data directory, each on its own
# port; certflow-bench spreads its clients over them directly (client w on server w mod N, no
# proxy in between) and sums their CPU time. tools/bench/stores.sh runs LMDB, PostgreSQL x1 and
# PostgreSQL x2 in a row and prints one table.
#
# On a machine with two CPUs or more (and taskset), the bench gets the last CPU for itself and
# certflowd the others, so that the bench's own signing does not take the server's CPU; the
# crypto limit is then that of the server's CPUs. BENCH_PIN=0 runs both anywhere.
set -eu

# --store postgresql: run again inside a private cluster (CERTFLOW_TEST_PG: its connection string)
if [ -z "${CERTFLOW_TEST_PG:-}" ]; then
	prev=
	for a in "$@"; do
		if [ "$prev" = --store ] && [ "$a" = postgresql ]; then
			exec /usr/bin/python3 "$(dirname "$0")/../../tests/integration/pgcluster.py" run -- \
				sh "$0" "$@"
		fi
		prev=$a
	done
fi

prefill=0
store=lmdb
frontends=1
nargs=$#
i=0
while [ $i -lt $nargs ]; do
	a=$1
	shift
	i=$((i + 1))
	if [ "$a" = --prefill ] || [ "$a" = --store ] || [ "$a" = --frontends ]; then
		case $a in
		--prefill) prefill=${1:-} ;;
		--store) store=${1:-} ;;
		--frontends) frontends=${1:-} ;;
		esac
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
case $store:$frontends in
lmdb:1 | postgresql:[1-8]) ;;
*)
	echo "run.sh: --store lmdb or postgresql; --frontends 1 to 8, more than 1 on postgresql" >&2
	exit 2
	;;
esac
if [ "$store" = postgresql ] && [ "$prefill" -gt 0 ]; then
	echo "run.sh: --prefill writes an LMDB store; not with --store postgresql" >&2
	exit 2
fi

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
pids=
cleanup() {
	for p in $pid $pids; do
		if kill -0 "$p" 2>/dev/null; then
			kill -TERM "$p" 2>/dev/null || true
			# Bounded wait for a clean stop, then force.
			i=0
			while kill -0 "$p" 2>/dev/null && [ $i -lt 50 ]; do
				sleep 0.1
				i=$((i + 1))
			done
			kill -KILL "$p" 2>/dev/null || true
		fi
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# Wait for $tmp/ready (certflowd $pid writes it once it listens), or for the file $1.
wait_ready() {
	i=0
	while [ ! -s "${1:-$tmp/ready}" ]; do
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
if [ "$store" = postgresql ]; then
	printf 'store = postgresql\nstore_conninfo = %s\n' "$CERTFLOW_TEST_PG" >>"$tmp/certflowd.conf"
fi
# one after the other: the first start makes the data directory's keys that the others read
servers= k=0
while [ $k -lt "$frontends" ]; do
	k=$((k + 1))
	$server_pin "$certflowd" --data "$tmp/data" --config "$tmp/certflowd.conf" --listen 127.0.0.1:0 \
		--ready-file "$tmp/ready.$k" --test-clock "$tmp/clock" >"$tmp/server.$k.log" 2>&1 &
	pid=$!
	ln -sf "server.$k.log" "$tmp/server.log"
	wait_ready "$tmp/ready.$k"
	pids="${pids:+$pids }$pid"
	servers="${servers:+$servers,}$(cat "$tmp/ready.$k")"
done
pid=
[ "$frontends" -gt 1 ] && echo "run.sh: $frontends certflowd on one PostgreSQL database: $servers" >&2

# PostgreSQL's processes (the postmaster and its children: a backend per pooled connection of
# each certflowd, opened at its start, and the WAL writer, checkpointer, ...): their CPU is the
# bench's "database CPU" figure, apart from certflowd's.
db=
if [ "$store" = postgresql ]; then
	pgdir=$(printf '%s\n' "$CERTFLOW_TEST_PG" | sed -n 's/.*host=\([^ ]*\).*/\1/p')
	pm=$(head -n 1 "$pgdir/data/postmaster.pid" 2>/dev/null || true)
	if [ -n "$pm" ]; then
		db="--db-pid $(echo $pm $(ps -o pid= --ppid "$pm") | tr ' ' ,)"
	fi
fi

status=0
timeout -k 5 "$bench_timeout" $bench_pin "$bench" --data "$tmp/data" --server "$servers" \
	--server-pid "$(echo $pids | tr ' ' ,)" $db --clock-file "$tmp/clock" \
	--timeout "$bench_timeout" "$@" || status=$?
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
			"/proc/$pids/status"
	} >&$out
fi
if [ $status -ne 0 ]; then
	echo "run.sh: certflow-bench failed (exit $status); server log:" >&2
	for f in "$tmp"/server.*.log; do tail -n 20 "$f" >&2; done
fi
exit $status
