#!/usr/bin/env bash
# deps.sh [build|test] — install the Debian 12 packages certflow needs, only those missing.
# "build": what the programs need to build and run; "test": that plus the test tools; "bench":
# "build" plus Pebble and lego for tools/bench/pebble.sh.
# Sourced (then it only defines certflow_deps and leaves the caller's shell options alone) or
# run; as root it installs, otherwise it names what is missing and fails.

certflow_deps() {
	local what=${1:-build}
	local pkgs=(build-essential cmake pkg-config libmbedtls-dev libcivetweb-dev libcjson-dev
		liblmdb-dev libqrencode-dev libssl-dev openssl libpq-dev)
	# the portal's PKI bundle (tools/portal-pki: npm ci + esbuild at build time); a node and npm
	# already on the PATH (e.g. newer than Debian's) serve as well
	command -v npm >/dev/null && command -v node >/dev/null || pkgs+=(nodejs npm)
	if [ "$what" = bench ]; then
		pkgs+=(pebble lego python3 postgresql)
	fi
	if [ "$what" = test ]; then
		pkgs+=(postgresql nginx-light lmdb-utils zbar-tools librsvg2-bin clang libclang-rt-14-dev valgrind faketime strace oathtool time
			python3 python3-cryptography python3-jsonschema python3-prometheus-client
			chromium chromium-driver python3-selenium
			certbot lego)
	fi
	local missing=()
	for p in "${pkgs[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		echo "certflow: missing Debian packages (run as root to install): ${missing[*]}" >&2
		return 1
	fi
	echo "certflow: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null ||
		{ apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; }
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -euo pipefail
	certflow_deps "${1:-build}"
fi
