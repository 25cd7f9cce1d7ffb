#!/usr/bin/env bash
# tests/run.sh — the one test command of certflow (CI runs it through .ci/run).
#
#   sudo bash tests/run.sh        (or as root: bash tests/run.sh)
#
# 1. installs the Debian packages it needs when any is missing (root only);
# 2. builds build/ (RelWithDebInfo) and build-asan/ (ASan + UBSan);
# 3. runs ctest in both, tests/spec/*.py, each libFuzzer target of tests/fuzz for 20 s
#    (build-fuzz/, clang; CERTFLOW_FUZZ_SECONDS changes it), the integration tests against both builds,
#    the portal in headless Chromium (tests/portal) against both builds' servers, the agent under
#    valgrind, tests/conformance/run.py against a fresh server of each build, the store unit tests
#    and the conformance suite once more on PostgreSQL (a private cluster, store = postgresql), then
#    against two servers on that database behind a round-robin proxy;
# 4. prints a summary and exits non-zero if any step failed.
# Every step runs under `timeout`. Logs are kept in build-logs/.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PY=/usr/bin/python3 # Debian's Python with python3-cryptography, never another one on PATH
JOBS=$(nproc 2>/dev/null || echo 2)
LOGS=$ROOT/build-logs
mkdir -p "$LOGS"

NAMES=()
STATUS=()
note() { printf '\n=== %s\n' "$*"; }
record() { NAMES+=("$1"); STATUS+=("$2"); printf -- '--- %s: %s\n' "$1" "$2"; }

# step NAME SECONDS CMD... — run CMD under timeout, log to build-logs/NAME.log and the terminal.
step() {
	local name=$1 secs=$2
	shift 2
	note "$name"
	local log="$LOGS/${name//[^A-Za-z0-9_.-]/_}.log"
	timeout --kill-after=30 "$secs" "$@" 2>&1 | tee "$log"
	local rc=${PIPESTATUS[0]}
	if [ "$rc" -eq 0 ]; then
		record "$name" PASS
	elif [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		record "$name" "FAIL (timed out after ${secs}s)"
	else
		record "$name" "FAIL (exit $rc)"
	fi
	return "$rc"
}
skip() { note "$1"; record "$1" "SKIP ($2)"; }

# --- 1. packages (the one list is tools/deps.sh's, shared with tools/run-server.sh) ----------
. "$ROOT/tools/deps.sh"
if ! certflow_deps test; then
	echo "tests/run.sh: run as root (sudo bash tests/run.sh) to install the missing packages" >&2
	exit 1
fi

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export PYTHONDONTWRITEBYTECODE=1

# --- 2. builds ---------------------------------------------------------------------------------
declare -A BUILT
for tree in build build-asan; do
	flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
	[ "$tree" = build-asan ] && flags+=(-DCERTFLOW_SANITIZE=ON)
	if step "configure $tree" 600 cmake -S "$ROOT" -B "$ROOT/$tree" "${flags[@]}" &&
		step "build $tree" 1500 cmake --build "$ROOT/$tree" -j"$JOBS"; then
		BUILT[$tree]=1
	fi
done

# --- 3. unit tests (ctest) ---------------------------------------------------------------------
for tree in build build-asan; do
	if [ -n "${BUILT[$tree]:-}" ]; then
		step "ctest $tree" 1200 ctest --test-dir "$ROOT/$tree" --output-on-failure \
			-j"$JOBS" --timeout 300
	else
		skip "ctest $tree" "build failed"
	fi
done

# --- 4. spec checks ----------------------------------------------------------------------------
shopt -s nullglob
specs=("$ROOT"/tests/spec/*.py)
shopt -u nullglob
if [ "${#specs[@]}" -gt 0 ]; then
	for s in "${specs[@]}"; do
		step "spec $(basename "$s")" 300 "$PY" "$s"
	done
else
	skip "spec" "no tests/spec/*.py"
fi

# --- 4b. fuzzing: each libFuzzer target of tests/fuzz, a short bounded run from fresh seeds ----
if step "configure build-fuzz" 600 env CC=clang cmake -S "$ROOT" -B "$ROOT/build-fuzz" \
	-DCMAKE_BUILD_TYPE=RelWithDebInfo -DCERTFLOW_FUZZ=ON &&
	step "build build-fuzz" 1500 cmake --build "$ROOT/build-fuzz" -j"$JOBS" --target fuzz_json \
		fuzz_jws fuzz_csr fuzz_http_head fuzz_dns; then
	step "fuzz" 600 bash "$ROOT/tests/fuzz/run.sh" "$ROOT/build-fuzz" "${CERTFLOW_FUZZ_SECONDS:-20}"
else
	skip "fuzz" "build failed"
fi

# --- 5. integration tests ----------------------------------------------------------------------
for tree in build build-asan; do
	if [ -n "${BUILT[$tree]:-}" ]; then
		step "integration $tree" 1500 env CERTFLOW_BUILD="$ROOT/$tree" "$PY" -m unittest \
			discover -v -s "$ROOT/tests/integration" -t "$ROOT/tests/integration" -p 'test_*.py'
	else
		skip "integration $tree" "build failed"
	fi
done

# --- 5b. the holder portal in headless Chromium (tests/portal), against each build's server ----
# Screenshots of every step go to build-logs/portal/ (emptied first); a console error, a CSP
# violation or a page wider than the screen fails the step.
rm -rf "$LOGS/portal"
for tree in build build-asan; do
	if [ -n "${BUILT[$tree]:-}" ]; then
		step "portal $tree" 1800 env CERTFLOW_BUILD="$ROOT/$tree" CERTFLOW_PORTAL_SHOTS="$LOGS/portal" \
			"$PY" -m unittest discover -v -s "$ROOT/tests/portal" -t "$ROOT/tests/portal" \
			-p 'test_*.py'
	else
		skip "portal $tree" "build failed"
	fi
done

# --- 6. valgrind: every agent command of the suite (normal build) -----------------------------
if [ -n "${BUILT[build]:-}" ]; then
	step "valgrind agent" 1800 env CERTFLOW_BUILD="$ROOT/build" CERTFLOW_VALGRIND=1 \
		"$PY" -m unittest discover -v -s "$ROOT/tests/integration" \
		-t "$ROOT/tests/integration" -p 'test_valgrind.py'
else
	skip "valgrind agent" "build failed"
fi

# --- 7. conformance suite against a fresh server of each build --------------------------------
for tree in build build-asan; do
	if [ -n "${BUILT[$tree]:-}" ]; then
		step "conformance $tree" 900 "$PY" "$ROOT/tests/integration/harness.py" with-server \
			--build "$ROOT/$tree" -- "$PY" "$ROOT/tests/conformance/run.py" \
			--server '{url}' --ca '{ca}' --admin-key '{admin_key}' --clock-file '{clock}' \
			--maildir '{maildir}'
	else
		skip "conformance $tree" "build failed"
	fi
done

# --- 7b. the store unit tests and the conformance suite on PostgreSQL --------------------------
# A private cluster each (tests/integration/pgcluster.py: initdb + pg_ctl in a temporary directory,
# a Unix socket only) and a fresh database; the store tests on both builds, the suite on the
# normal one (the ASan build meets PostgreSQL in the integration tests too).
for tree in build build-asan; do
	if [ -n "${BUILT[$tree]:-}" ]; then
		step "store postgresql $tree" 600 "$PY" "$ROOT/tests/integration/pgcluster.py" run -- \
			ctest --test-dir "$ROOT/$tree" -R '^test_store_' --output-on-failure
	else
		skip "store postgresql $tree" "build failed"
	fi
done

if [ -n "${BUILT[build]:-}" ]; then
	step "conformance postgresql" 900 "$PY" "$ROOT/tests/integration/harness.py" with-server \
		--postgresql --build "$ROOT/build" -- "$PY" "$ROOT/tests/conformance/run.py" \
		--server '{url}' --ca '{ca}' --admin-key '{admin_key}' --clock-file '{clock}' \
		--maildir '{maildir}'
else
	skip "conformance postgresql" "build failed"
fi

# --- 7c. the conformance suite against two servers on one PostgreSQL database ----------------
# harness.py --servers 2: two certflowd on one database and one data directory behind a
# round-robin proxy on 127.0.0.1, each request of the suite on the other process than the one
# before (nonces, the CRL cache and background work are shared through the database).
if [ -n "${BUILT[build]:-}" ]; then
	step "conformance postgresql two servers" 1200 "$PY" "$ROOT/tests/integration/harness.py" \
		with-server --postgresql --servers 2 --build "$ROOT/build" -- "$PY" \
		"$ROOT/tests/conformance/run.py" --server '{url}' --ca '{ca}' \
		--admin-key '{admin_key}' --clock-file '{clock}' --maildir '{maildir}'
else
	skip "conformance postgresql two servers" "build failed"
fi

# --- summary -----------------------------------------------------------------------------------
passed=0 failed=0 skipped=0 allowed=0
note "summary"
for i in "${!NAMES[@]}"; do
	printf '  %-28s %s\n' "${NAMES[$i]}" "${STATUS[$i]}"
	case ${STATUS[$i]} in
	PASS) passed=$((passed + 1)) ;;
	SKIP*) skipped=$((skipped + 1)) ;;
	ALLOWED*) allowed=$((allowed + 1)) ;;
	*) failed=$((failed + 1)) ;;
	esac
done
echo "logs: $LOGS"
echo "steps: $passed passed, $failed failed, $skipped skipped, $allowed failed but allowed"
[ "$failed" -eq 0 ]
