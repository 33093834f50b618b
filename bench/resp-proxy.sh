#!/usr/bin/env bash
# resp_proxy against twemproxy (Debian's nutcracker) in front of the same two redis-servers
# (issue 22): redis-benchmark -t set,get at -P 1 and -P 16, ROUNDS rounds in rotated order,
# medians of proxy CPU per request (/proc/PID/stat), p99 added over direct-to-redis, and RSS per
# idle client connection (IDLE held). See bench/resp_proxy_bench.py; results in BENCHMARKS.md.
# Installs nutcracker, redis-server and redis-tools when missing; builds resp_proxy in release.
#   bash bench/resp-proxy.sh              # ROUNDS=3 REQUESTS=50000 IDLE=2000
set -euo pipefail
cd "$(dirname "$0")/.."
. .ci/apt.sh
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
have() { command -v "$1" >/dev/null 2>&1; }
have nutcracker || apt_install nutcracker
have redis-server || apt_install redis-server
have redis-benchmark || apt_install redis-tools
nutcracker --version 2>&1 | sed -n 1p  # sed reads to the end: head would leave nutcracker a closed pipe (SIGPIPE, exit 141 under pipefail)
redis-server --version
timeout 1800 cargo build --release -p framekit-examples --example resp_proxy
timeout 1800 python3 bench/resp_proxy_bench.py "$TARGET_DIR/release/examples/resp_proxy" \
  --rounds "${ROUNDS:-3}" --requests "${REQUESTS:-50000}" --idle "${IDLE:-2000}"
