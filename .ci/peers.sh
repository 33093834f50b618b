#!/usr/bin/env bash
# The benchmark peers of issue 26 (bench/peers: Go net+bufio, Netty 4.1 NIO, Python asyncio; the
# tokio-util one is a workspace binary the test step builds): installs their toolchains when
# missing (golang-go, libnetty-java, openjdk-17-jdk-headless; about 20-50 s of apt-get, bounded
# by apt_install's timeouts), builds them (a few seconds), and holds each to ack_server's exact
# answers with bench/peers/check.py, so they cannot rot between benchmark runs. No benchmark
# runs here. Fails when a peer is not built: under CI a skipped peer is a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
. .ci/apt.sh

WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

OUT=$WORK/peers INSTALL=1 timeout 900 bash bench/peers/build.sh
for peer in ack_server_go ack_server_netty ack_server_asyncio; do
  [ -x "$WORK/peers/$peer" ] || { echo "FAIL: $peer was not built" >&2; exit 1; }
  "$WORK/peers/$peer" --addr 127.0.0.1:0 >"$WORK/$peer.out" 2>"$WORK/$peer.err" &
  PIDS+=("$!")
  addr=
  for _ in $(seq 150); do
    addr=$(sed -n 's/^listening on //p' "$WORK/$peer.out")
    [ -n "$addr" ] && break
    sleep 0.1
  done
  [ -n "$addr" ] || { echo "FAIL: $peer did not print 'listening on' in 15 s" >&2; cat "$WORK/$peer.err" >&2; exit 1; }
  timeout 30 python3 bench/peers/check.py "$addr" || { echo "FAIL: $peer answers unlike ack_server" >&2; exit 1; }
  echo "ok: $peer answers as ack_server does"
done
