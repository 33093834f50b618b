#!/usr/bin/env bash
# Real, unmodified clients against the example servers, each on a free loopback port. The
# servers are the dev-profile builds that `cargo test --workspace` already made (CI builds the
# workspace in one profile only); PROFILE=release checks optimised builds instead:
#   resp_server    redis-cli (replies checked exactly, databases, the connection limit), redis-benchmark, nc (inline, bad input)
#   ack_server     nc and socat
#   kv_server      the included kv_client
#   records_server nc + od
#   chat_server    two nc clients
# Every server must print `listening on HOST:PORT` and exit 0 within 5 s of SIGTERM, some of
# them with an idle client still connected.
# Installs redis-tools / netcat-openbsd / socat with apt-get when they are missing.
# Run from anywhere: `bash .ci/redis-tools.sh`. Every step is bounded by `timeout`.
set -euo pipefail
cd "$(dirname "$0")/.."
. .ci/apt.sh

HOST=127.0.0.1
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
PROFILE="${PROFILE:-debug}"
BIN="$TARGET_DIR/$PROFILE/examples"
WORK="$(mktemp -d)"
PIDS=()

cleanup() {
  for pid in "${PIDS[@]}"; do
    kill -KILL "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  for log in "$WORK"/*.err; do
    [ -s "$log" ] && { echo "--- $log" >&2; tail -n 20 "$log" >&2; }
  done
  exit 1
}

have() { command -v "$1" >/dev/null 2>&1; }

# --- tools -----------------------------------------------------------------------------------
need=()
have redis-cli && have redis-benchmark || need+=(redis-tools)
have nc || need+=(netcat-openbsd)
[ "${#need[@]}" -eq 0 ] || apt_install "${need[@]}"
# socat is one more real client for ack_server: installed like the others, never skipped.
have socat || apt_install socat
redis-cli --version

# --- build -----------------------------------------------------------------------------------
if [ "$PROFILE" = release ]; then
  timeout 900 cargo build --release --workspace --all-features --examples
else
  # The same flags as the test step, so this finds everything already built.
  timeout 900 cargo build --workspace --all-features --examples
fi

# start NAME [ARGS...]: starts an example on a free port; sets PID and PORT.
start() {
  local name="$1"
  shift
  "$BIN/$name" --addr "$HOST:0" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  PID=$!
  PIDS+=("$PID")
  PORT=""
  for _ in $(seq 100); do
    if grep -q '^listening on ' "$WORK/$name.out" 2>/dev/null; then
      PORT="$(sed -n 's/^listening on .*:\([0-9][0-9]*\)$/\1/p' "$WORK/$name.out")"
      break
    fi
    kill -0 "$PID" 2>/dev/null || fail "$name exited before listening"
    sleep 0.1
  done
  [ -n "$PORT" ] || fail "$name did not print 'listening on HOST:PORT' within 10 s"
  [ "$(wc -l <"$WORK/$name.out")" -eq 1 ] || fail "$name printed more than one stdout line"
  echo "$name listening on port $PORT"
}

# stop NAME PID: SIGTERM, then the process must exit with status 0 within 5 s.
stop() {
  local name="$1" pid="$2" rc=0
  kill -TERM "$pid"
  for _ in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$pid" 2>/dev/null && fail "$name still running 5 s after SIGTERM"
  wait "$pid" || rc=$?
  [ "$rc" -eq 0 ] || fail "$name exited with status $rc after SIGTERM"
  echo "$name: SIGTERM -> exit 0"
}

# idle_client: a connected client that says nothing, so SIGTERM meets an open connection.
idle_client() {
  timeout 30 nc -d "$HOST" "$PORT" >/dev/null 2>&1 &
  PIDS+=("$!")
  sleep 0.2
}

# check WHAT EXPECTED GOT
check() {
  if [ "$2" != "$3" ]; then
    fail "$1: expected $(printf %q "$2"), got $(printf %q "$3")"
  fi
  echo "ok: $1"
}

# --- resp_server: redis-cli ------------------------------------------------------------------
start resp_server
RESP_PID=$PID
cli() { timeout 10 redis-cli -h "$HOST" -p "$PORT" "$@"; }

check "FLUSHALL" "OK" "$(cli FLUSHALL)"
check "PING" "PONG" "$(cli PING)"
check "ECHO" "hello world" "$(cli ECHO 'hello world')"
check "SET" "OK" "$(cli SET greeting hello)"
check "GET" "hello" "$(cli GET greeting)"
check "GET missing" "" "$(cli GET missing)"
check "SET NX on existing" "" "$(cli SET greeting other NX)"
check "SET XX EX" "OK" "$(cli SET greeting hi XX EX 100)"
check "TTL" "100" "$(cli TTL greeting)"
check "EXPIRE" "1" "$(cli EXPIRE greeting 50)"
check "TTL after EXPIRE" "50" "$(cli TTL greeting)"
check "SET PX" "OK" "$(cli SET short v PX 100000)"
check "INCR" "1" "$(cli INCR counter)"
check "INCRBY" "11" "$(cli INCRBY counter 10)"
check "DECR" "10" "$(cli DECR counter)"
check "MSET" "OK" "$(cli MSET a 1 b 2)"
check "MGET" "$(printf '1\n\n2')" "$(cli MGET a nope b)"
check "EXISTS" "2" "$(cli EXISTS a b nope)"
check "DEL" "1" "$(cli DEL a nope)"
check "KEYS" "greeting" "$(cli KEYS 'gr*')"
check "DBSIZE" "4" "$(cli DBSIZE)"
check "CONFIG GET" "$(printf 'appendonly\nno')" "$(cli CONFIG GET appendonly)"
check "unknown command" "ERR unknown command 'NOPE', with args beginning with: 'x' " \
  "$(cli NOPE x 2>&1 || true)"
check "wrong arity" "ERR wrong number of arguments for 'get' command" "$(cli GET 2>&1 || true)"
check "INCR on text" "ERR value is not an integer or out of range" \
  "$(cli INCR greeting 2>&1 || true)"
check "SET in database 3 (redis-cli -n 3 sends SELECT)" "OK" "$(cli -n 3 SET only3 here)"
check "GET in database 3" "here" "$(cli -n 3 GET only3)"
check "database 0 does not see it" "" "$(cli GET only3)"
check "SELECT 16" "ERR DB index is out of range" "$(cli SELECT 16 2>&1 || true)"
check "CONFIG GET databases" "$(printf 'databases\n16')" "$(cli CONFIG GET databases)"
check "HELLO 3 refused cleanly" "NOPROTO unsupported protocol version" "$(cli HELLO 3 2>&1 || true)"
check "CLIENT SETNAME / GETNAME on one connection" "$(printf 'OK\nworker')" \
  "$(printf 'CLIENT SETNAME worker\nCLIENT GETNAME\n' | cli)"

# Binary-safe values: 100 KB of random bytes in and out (redis-cli adds one newline).
head -c 100000 /dev/urandom >"$WORK/blob"
check "SET binary" "OK" "$(cli -x SET blob <"$WORK/blob")"
cli --raw GET blob | head -c 100000 | cmp -s - "$WORK/blob" || fail "binary value changed"
echo "ok: binary value round trip"

# Pipelining: 1000 commands in one stream.
for i in $(seq 1000); do printf 'SET pipe:%d %d\r\n' "$i" "$i"; done >"$WORK/pipe"
check "pipelined SETs" "1000" "$(cli --pipe <"$WORK/pipe" | sed -n 's/.*replies: \([0-9]*\)$/\1/p')"
check "GET after pipe" "777" "$(cli GET pipe:777)"
check "FLUSHALL" "OK" "$(cli FLUSHALL)"

# --- resp_server: nc, inline commands and malformed input --------------------------------------
check "inline PING via nc" "$(printf '+PONG\r\n$2\r\nhi\r')" \
  "$(printf 'PING\r\nECHO hi\r\n' | timeout 10 nc -N "$HOST" "$PORT")"
check "protocol error via nc" "-ERR Protocol error: expected '\$', got ':'"$'\r' \
  "$(printf '*1\r\n:x\r\n' | timeout 10 nc -N "$HOST" "$PORT")"
check "server alive after a protocol error" "PONG" "$(cli PING)"
check "inline quotes via nc" "$(printf '+OK\r\n$3\r\na b\r')" \
  "$(printf 'SET q "a b"\r\nGET q\r\n' | timeout 10 nc -N "$HOST" "$PORT")"

# --- resp_server: redis-benchmark --------------------------------------------------------------
BENCH="$WORK/benchmark.log"
timeout 300 redis-benchmark -h "$HOST" -p "$PORT" -n 20000 -q -t ping,set,get,incr,mset \
  >"$BENCH" 2>&1 || fail "redis-benchmark exited non-zero: $(cat "$BENCH")"
# -q prints progress with carriage returns; keep the final line of each test.
tr '\r' '\n' <"$BENCH" | grep 'requests per second' | sed 's/^ *//' | tee "$WORK/bench.summary"
if tr '\r' '\n' <"$BENCH" | grep -qiE 'error|warn|refused|reset'; then
  fail "redis-benchmark reported errors: $(cat "$BENCH")"
fi
for t in PING_INLINE PING_MBULK SET GET INCR MSET; do
  grep -q "^$t" "$WORK/bench.summary" || fail "redis-benchmark did not finish $t"
done
echo "ok: redis-benchmark -n 20000 -t ping,set,get,incr,mset"
# Pipelined: 16 requests in flight per client.
timeout 300 redis-benchmark -h "$HOST" -p "$PORT" -n 20000 -P 16 -q -t set,get \
  >"$BENCH" 2>&1 || fail "redis-benchmark -P 16 exited non-zero: $(cat "$BENCH")"
tr '\r' '\n' <"$BENCH" | grep 'requests per second' | sed 's/^ */-P 16 /'
if tr '\r' '\n' <"$BENCH" | grep -qiE 'error|warn|refused|reset'; then
  fail "redis-benchmark -P 16 reported errors: $(cat "$BENCH")"
fi
[ "$(tr '\r' '\n' <"$BENCH" | grep -c 'requests per second')" -eq 2 ] ||
  fail "redis-benchmark -P 16 did not finish SET and GET"
echo "ok: redis-benchmark -n 20000 -P 16 -t set,get"
check "server alive after benchmark" "PONG" "$(cli PING)"
idle_client
stop resp_server "$RESP_PID"

# --- resp_server: past the connection limit, redis-cli is told -------------------------------
start resp_server --max-connections 1
# The holder takes the only permit for certain: it is answered before redis-cli tries.
(printf 'PING\r\n'; sleep 30) | timeout 30 nc "$HOST" "$PORT" >"$WORK/holder.out" 2>/dev/null &
PIDS+=("$!")
for _ in $(seq 100); do
  grep -q '+PONG' "$WORK/holder.out" 2>/dev/null && break
  sleep 0.1
done
grep -q '+PONG' "$WORK/holder.out" || fail "the connection holder was not answered"
check "redis-cli past --max-connections 1" "ERR max number of clients reached" \
  "$(cli PING 2>&1 || true)"
grep -q 'connection limit' "$WORK/resp_server.err" || fail "resp_server did not log the connection limit it chose at start"
echo "ok: the chosen connection limit is logged at start"
stop resp_server "$PID"

# --- ack_server: nc and socat ------------------------------------------------------------------
start ack_server
check "ack via nc" "$(printf 'ack:hello\nack:world')" \
  "$(printf 'hello\nworld\r\n' | timeout 10 nc -N "$HOST" "$PORT")"
check "ack via socat" "ack:from socat" \
  "$(printf 'from socat\n' | timeout 10 socat -t 5 - "TCP:$HOST:$PORT")"
idle_client
stop ack_server "$PID"

# --- kv_server: kv_client ----------------------------------------------------------------------
start kv_server
kv() { timeout 10 "$BIN/kv_client" --addr "$HOST:$PORT" "$@"; }
check "kv set" "OK" "$(kv set greeting hello)"
check "kv get" "hello" "$(kv get greeting)"
check "kv del" "OK" "$(kv del greeting)"
rc=0
kv get greeting >/dev/null 2>&1 || rc=$?
check "kv get after del exits 1 (NOT_FOUND)" "1" "$rc"
stop kv_server "$PID"

# --- records_server: nc + od -------------------------------------------------------------------
start records_server
# Records (t=1, 2.0) and (t=2, 4.0), then a query; the summary is count 2, min 2, max 4, mean 3.
summary="$(printf '\0\0\0\0\0\0\0\001\100\0\0\0\0\0\0\0''\0\0\0\0\0\0\0\002\100\020\0\0\0\0\0\0''\377\377\377\377\377\377\377\377\0\0\0\0\0\0\0\0' |
  timeout 10 nc -N "$HOST" "$PORT" | od -An -tx1 | tr -s ' \n' ' ' | sed 's/^ //; s/ $//')"
check "records summary" \
  "00 00 00 00 00 00 00 02 40 00 00 00 00 00 00 00 40 10 00 00 00 00 00 00 40 08 00 00 00 00 00 00" \
  "$summary"
stop records_server "$PID"

# --- chat_server: two nc clients ---------------------------------------------------------------
start chat_server
timeout 10 nc -d "$HOST" "$PORT" >"$WORK/chat.listener" &
LISTENER=$!
PIDS+=("$LISTENER")
for _ in $(seq 50); do grep -q 'welcome' "$WORK/chat.listener" && break; sleep 0.1; done
printf 'hello room\n' | timeout 10 nc -N "$HOST" "$PORT" >/dev/null
for _ in $(seq 50); do grep -q ' left$' "$WORK/chat.listener" && break; sleep 0.1; done
kill "$LISTENER" 2>/dev/null || true
wait "$LISTENER" 2>/dev/null || true
check "chat as seen by a listener" \
  "$(printf '* welcome, you are 1\n* 2 joined\n2: hello room\n* 2 left')" \
  "$(cat "$WORK/chat.listener")"
idle_client
stop chat_server "$PID"

echo "all real-client checks passed"
