#!/usr/bin/env bash
# The guide's shell commands that CI runs (crates/framekit-guide/guide/*.md); its Rust snippets
# are doctests (`cargo test -p framekit-guide --doc`, part of the workspace's tests):
#   01-getting-started.md  `cargo run --release -p framekit-examples --example ack_server` on a
#                          free port, then `printf 'hello\nworld\n' | nc -N HOST PORT`, answers
#                          checked exactly; the server must exit 0 within 5 s of SIGTERM.
# The other chapters' commands are run by the script each names (.ci/redis-tools.sh,
# .ci/haproxy.sh, .ci/tls-tools.sh, .ci/memcached-*.sh, .ci/fuzz-smoke.sh) or say why not.
# Installs netcat-openbsd with apt-get when nc is missing. Every step is bounded by `timeout`.
set -euo pipefail
cd "$(dirname "$0")/.."
. .ci/apt.sh

WORK="$(mktemp -d)"
PID=""
cleanup() {
  [ -n "$PID" ] && kill -KILL "$PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  [ -s "$WORK/ack.err" ] && tail -n 20 "$WORK/ack.err" >&2
  exit 1
}

command -v nc >/dev/null 2>&1 || apt_install netcat-openbsd
command -v nc >/dev/null 2>&1 || fail "nc is missing and could not be installed"

# The guide's command, on a free port (the guide's default, 7001, may be taken on a CI host).
# `cargo run` is `cargo build` and then the binary: both steps are run, the second directly, so
# the signal below reaches the server itself and the wait for its first line is not spent on a
# build.
timeout 900 cargo build --release -p framekit-examples --example ack_server
BIN="${CARGO_TARGET_DIR:-target}/release/examples/ack_server"
"$BIN" --addr 127.0.0.1:0 >"$WORK/ack.out" 2>"$WORK/ack.err" &
PID=$!
PORT=""
for _ in $(seq 100); do
  PORT="$(sed -n 's/^listening on .*:\([0-9][0-9]*\)$/\1/p' "$WORK/ack.out" 2>/dev/null)"
  [ -n "$PORT" ] && break
  kill -0 "$PID" 2>/dev/null || fail "ack_server exited before listening"
  sleep 0.1
done
[ -n "$PORT" ] || fail "ack_server did not print 'listening on HOST:PORT' within 10 s"

got="$(printf 'hello\nworld\n' | timeout 10 nc -N 127.0.0.1 "$PORT")" || fail "nc failed"
[ "$got" = "$(printf 'ack:hello\nack:world')" ] || fail "expected ack:hello, ack:world; got: $got"
echo "getting started: ack_server answered ack:hello, ack:world on port $PORT"

kill -TERM "$PID"
for _ in $(seq 50); do
  kill -0 "$PID" 2>/dev/null || break
  sleep 0.1
done
kill -0 "$PID" 2>/dev/null && fail "ack_server still running 5 s after SIGTERM"
status=0
wait "$PID" || status=$?
[ "$status" -eq 0 ] || fail "ack_server exited with status $status after SIGTERM"
PID=""
echo "guide commands: ok"
