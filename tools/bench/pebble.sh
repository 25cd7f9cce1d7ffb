#!/usr/bin/env bash
# pebble.sh — server CPU per certificate of certflowd and of Debian's Pebble (driven by lego),
# side by side in one run on this machine, and their ratio.
#
#   tools/bench/pebble.sh [BUILD_DIR] [--certs N] [--clients C[,C...]]
#
# certflowd: tools/bench/run.sh BUILD_DIR --clients C --activations N --json for each C (default
# 1 and 8; HTTPS keep-alive, every commit durable: one client pays an fsync per certificate, 8
# share them through group commit); its server CPU per certificate is read from the bench's JSON.
# Pebble: started on 127.0.0.1 with a TLS certificate made here, PEBBLE_VA_ALWAYS_VALID=1 and
# PEBBLE_VA_NOSLEEP=1 (no validation, no sleeps), then N `lego run` one after another, each a new
# order for a new name (P-256 key, the account made once); Pebble's CPU (utime + stime from
# /proc/PID/stat) over the N runs, divided by N. Pebble keeps everything in memory and does no
# fsync: the comparison favours it. Installs pebble and lego (Debian packages) when missing and
# root. Bounded: each lego run gets 60 s, Pebble 30 s to start.
set -euo pipefail

build=./build
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
	build=$1
	shift
fi
certs=200
clients=1,8
while [ $# -gt 0 ]; do
	case $1 in
	--certs) certs=$2; shift 2 ;;
	--clients) clients=$2; shift 2 ;;
	*) echo "pebble.sh: unknown option $1" >&2; exit 2 ;;
	esac
done
here=$(cd "$(dirname "$0")" && pwd)

# shellcheck source=../deps.sh
. "$here/../deps.sh"
certflow_deps bench

tmp=$(mktemp -d "${TMPDIR:-/tmp}/certflow-pebble.XXXXXX")
ppid_=
cleanup() {
	if [ -n "$ppid_" ] && kill -0 "$ppid_" 2>/dev/null; then
		kill -TERM "$ppid_" 2>/dev/null || true
		sleep 0.2
		kill -KILL "$ppid_" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# CPU time of a process in ms (utime + stime, fields 14 and 15 of /proc/PID/stat).
cpu_ms() {
	local hz
	hz=$(getconf CLK_TCK)
	awk -v hz="$hz" '{ sub(/^.*\) /, ""); print ($12 + $13) * 1000 / hz }' "/proc/$1/stat"
}

# A free loopback port (the kernel's choice).
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# --- certflowd -----------------------------------------------------------------------------
for c in ${clients//,/ }; do
	bash "$here/run.sh" "$build" --clients "$c" --activations "$certs" --json | tail -n 1 >"$tmp/cf.$c.json"
done

# --- Pebble + lego -------------------------------------------------------------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=pebble-test-ca \
	-keyout "$tmp/ca.key" -out "$tmp/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost \
	-keyout "$tmp/tls.key" -out "$tmp/tls.csr" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$tmp/san.ext"
openssl x509 -req -in "$tmp/tls.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" -CAcreateserial -days 2 \
	-extfile "$tmp/san.ext" -out "$tmp/tls.pem" 2>/dev/null
port=$(free_port)
mport=$(free_port)
cat >"$tmp/pebble.json" <<EOF
{"pebble": {"listenAddress": "127.0.0.1:$port", "managementListenAddress": "127.0.0.1:$mport",
 "certificate": "$tmp/tls.pem", "privateKey": "$tmp/tls.key", "httpPort": 5002, "tlsPort": 5001,
 "ocspResponderURL": "", "externalAccountBindingRequired": false}}
EOF
PEBBLE_VA_ALWAYS_VALID=1 PEBBLE_VA_NOSLEEP=1 pebble -config "$tmp/pebble.json" >"$tmp/pebble.log" 2>&1 &
ppid_=$!
i=0
until grep -q "Listening on" "$tmp/pebble.log"; do
	kill -0 "$ppid_" 2>/dev/null || { cat "$tmp/pebble.log" >&2; exit 1; }
	[ $i -lt 300 ] || { echo "pebble.sh: Pebble not ready after 30 s" >&2; exit 1; }
	sleep 0.1
	i=$((i + 1))
done

export LEGO_CA_CERTIFICATES=$tmp/ca.pem
lego_run() {
	timeout -k 5 60 lego --server "https://127.0.0.1:$port/dir" --accept-tos --email bench@example.test \
		--key-type ec256 --path "$tmp/lego" --http --http.port "127.0.0.1:$(free_port)" \
		--domains "$1" run >>"$tmp/lego.log" 2>&1
}
# The account once, outside the count (certflow-bench makes its enrolment codes outside it too).
lego_run warmup.example.test
before=$(cpu_ms "$ppid_")
t0=$(date +%s.%N)
for n in $(seq 1 "$certs"); do
	lego_run "host$n.example.test" || { tail -n 20 "$tmp/lego.log" >&2; exit 1; }
done
t1=$(date +%s.%N)
after=$(cpu_ms "$ppid_")
issued=$(find "$tmp/lego/certificates" -name 'host*.example.test.crt' ! -name '*issuer*' | wc -l)
if [ "$issued" -ne "$certs" ]; then
	echo "pebble.sh: lego got $issued certificates of $certs" >&2
	exit 1
fi

python3 - "$tmp" "$clients" "$before" "$after" "$certs" "$t0" "$t1" <<'EOF'
import json, sys
tmp, clients, before, after, n, t0, t1 = sys.argv[1:]
n = int(n)
pb_ms = (float(after) - float(before)) / n
pb_rate = n / (float(t1) - float(t0))
print(f"certificates: {n} each; Pebble with lego one at a time")
print(f"     Pebble server CPU/cert: {pb_ms:.3f} ms ({pb_rate:.1f} issuances/s, lego's start-up included)")
for c in clients.split(","):
    fig = json.loads(open(f"{tmp}/cf.{c}.json").read())
    cf_ms = fig["issuanceServerCpuMsPerCert"]
    print(f"  certflowd server CPU/cert: {cf_ms:.3f} ms with {c} client(s) "
          f"({fig['issuancePerSec']:.1f} issuances/s); ratio to Pebble {cf_ms / pb_ms:.4f} (goal <= 0.1)")
EOF
