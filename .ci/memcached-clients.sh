#!/usr/bin/env bash
# Real, unmodified memcached clients against memcached_server on a free loopback port: the
# pymemcache library (every result checked, .ci/memcached-clients.py) and libmemcached-tools'
# memcslap (bounded set/get/mget/noreply load, which must finish without an error). The
# server must print `listening on HOST:PORT` and exit 0 within 5 s of SIGTERM.
# Installs libmemcached-tools (apt-get) and pymemcache (pip, else Debian's python3-pymemcache)
# when missing; fails when it cannot. Uses the dev build (PROFILE=release for the optimised one).
# Run from anywhere: `bash .ci/memcached-clients.sh`. Every step is bounded by `timeout`.
set -euo pipefail
cd "$(dirname "$0")/.."
. .ci/apt.sh

HOST=127.0.0.1
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
PROFILE="${PROFILE:-debug}"
WORK="$(mktemp -d)"
PID=""
cleanup() {
  [ -n "$PID" ] && kill -KILL "$PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  [ -s "$WORK/server.err" ] && tail -n 20 "$WORK/server.err" >&2
  exit 1
}

command -v memcslap >/dev/null 2>&1 || apt_install libmemcached-tools
command -v python3 >/dev/null 2>&1 || apt_install python3
PYTHON=python3
if ! "$PYTHON" -c 'import pymemcache' 2>/dev/null; then
  timeout 300 "$PYTHON" -m pip install -q --user pymemcache 2>/dev/null ||
    timeout 300 "$PYTHON" -m pip install -q --user --break-system-packages pymemcache 2>/dev/null ||
    { apt_install python3-pymemcache && PYTHON=/usr/bin/python3; }
fi
"$PYTHON" -c 'import pymemcache; print("pymemcache", pymemcache.__version__)'
command -v memcslap >/dev/null 2>&1 || fail "memcslap is not installed"

if [ "$PROFILE" = release ]; then
  timeout 900 cargo build --release -p framekit-examples --all-features --example memcached_server
else
  timeout 900 cargo build -p framekit-examples --all-features --example memcached_server
fi
"$TARGET_DIR/$PROFILE/examples/memcached_server" --addr "$HOST:0" >"$WORK/server.out" 2>"$WORK/server.err" &
PID=$!
for _ in $(seq 50); do
  grep -q '^listening on ' "$WORK/server.out" 2>/dev/null && break
  sleep 0.1
done
PORT=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$WORK/server.out")
[ -n "$PORT" ] || fail "memcached_server did not print 'listening on HOST:PORT'"

timeout 60 "$PYTHON" .ci/memcached-clients.py "$PORT" || fail "pymemcache"

for test in set get mget; do
  timeout 60 memcslap --servers="$HOST:$PORT" --concurrency=4 --execute-number=2000 --test="$test" \
    >"$WORK/memcslap.out" 2>&1 || { cat "$WORK/memcslap.out"; fail "memcslap --test=$test"; }
  if grep -qi 'fail\|error' "$WORK/memcslap.out"; then
    cat "$WORK/memcslap.out"
    fail "memcslap --test=$test reported errors"
  fi
  grep 'Time to' "$WORK/memcslap.out" | tail -n 1
done
timeout 60 memcslap --servers="$HOST:$PORT" --concurrency=2 --execute-number=1000 --test=set \
  --noreply --flush >"$WORK/memcslap.out" 2>&1 || fail "memcslap --noreply"

kill -TERM "$PID"
for _ in $(seq 50); do
  kill -0 "$PID" 2>/dev/null || break
  sleep 0.1
done
kill -0 "$PID" 2>/dev/null && fail "memcached_server still running 5 s after SIGTERM"
wait "$PID" || fail "memcached_server exited with $? after SIGTERM"
PID=""
echo "memcached clients: pymemcache and memcslap passed"
