#!/usr/bin/env bash
# resp_server behind a real HAProxy, and restarts that fail no request (see .ci/haproxy.py):
#   - HAProxy in TCP mode, send-proxy-v2 and check-send-proxy, in front of two resp_servers
#     that trust only HAProxy's source address (127.0.0.2): clients see their own address in
#     CLIENT INFO (raw RESP and redis-cli); redis-benchmark through HAProxy completes;
#   - a PROXY header forged from an untrusted source (127.0.0.1) is refused;
#   - a rolling restart (SIGTERM, start again, each backend in turn) under a bounded load that
#     retries once on a new connection: every request is answered;
#   - a single-instance hand-over through an inherited socket (LISTEN_FDS), with a client
#     connecting in a loop: no refused connection, no unanswered request.
# Everything listens on 127.0.0.x free ports; every step is bounded in time and count.
# Installs haproxy and redis-tools with apt-get when they are missing. Uses the dev-profile
# example builds (PROFILE=release for optimised ones), like .ci/redis-tools.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
. .ci/apt.sh

have() { command -v "$1" >/dev/null 2>&1; }
need=()
have haproxy || need+=(haproxy)
have redis-cli && have redis-benchmark || need+=(redis-tools)
have python3 || need+=(python3)
[ "${#need[@]}" -eq 0 ] || apt_install "${need[@]}"
haproxy -v | sed -n 1p  # sed reads it all: no SIGPIPE under pipefail

PROFILE="${PROFILE:-debug}"
if [ "$PROFILE" = release ]; then
  timeout 900 cargo build --release --workspace --all-features --examples
else
  # The same flags as the test step, so this finds everything already built.
  timeout 900 cargo build --workspace --all-features --examples
fi
BIN="${CARGO_TARGET_DIR:-target}/$PROFILE/examples/resp_server"

timeout 600 python3 .ci/haproxy.py "$BIN"
