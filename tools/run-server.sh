#!/usr/bin/env bash
# run-server.sh [certflowd options] — the main job: install what is missing, build, and run
# certflowd with its embedded defaults (./certflow-data, https://127.0.0.1:8443). Extra arguments
# go to certflowd (e.g. --listen 127.0.0.1:9443).
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/deps.sh
certflow_deps build
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
exec ./build/server/certflowd --data ./certflow-data "$@"
