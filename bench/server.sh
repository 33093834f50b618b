#!/usr/bin/env bash
# Server benchmarks, in one go, on loopback, each step bounded in time:
#   1. ack_server vs plain_ack (plain tokio) under bench/loadgen, N connections x W in flight;
#   2. resp_server vs redis-server under redis-benchmark -t set,get, with and without -P 16;
#   3. RSS per idle connection with 10,000 connections open, for each of those servers;
#   4. (drip) one 4.7 MB MSET written in 8 KiB pieces 4 ms apart (bench/drip.py), to
#      resp_server and to redis-server: the server CPU seconds each spends on it.
# Then rewrites the server section of BENCHMARKS.md (bench/report.py server).
#
#   bench/server.sh                   everything (about 5 minutes)
#   REPEATS=1 DURATION=3s bench/server.sh   a quicker, noisier pass
#   STEPS="ack rss" bench/server.sh   only some steps
#
# Needs redis-server and redis-tools (apt-get install redis-server redis-tools) for step 2 and
# the redis line of step 3; without them those rows are skipped and say so.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

REPEATS=${REPEATS:-3}
DURATION=${DURATION:-5s}
WARMUP=${WARMUP:-1s}
IDLE_CONNS=${IDLE_CONNS:-10000}
# Seconds between the last idle connection's answer and reading RSS (see step 3).
IDLE_SETTLE=${IDLE_SETTLE:-15}
STEPS=${STEPS:-ack resp rss drip}
# The dripped request: pairs, piece size, pause between pieces.
DRIP_PAIRS=${DRIP_PAIRS:-160000}
DRIP_PIECE=${DRIP_PIECE:-8192}
DRIP_INTERVAL=${DRIP_INTERVAL:-0.004}
# "connections x in-flight" scenarios for the ack comparison.
SCENARIOS=${SCENARIOS:-1x1 16x16 64x32}
REDIS_N=${REDIS_N:-200000}
REDIS_N_PIPELINED=${REDIS_N_PIPELINED:-2000000}

STARTED=$(date -u '+%Y-%m-%d %H:%M UTC')
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
WORK=$(mktemp -d /tmp/framekit-bench.XXXXXX)
RESULTS=$WORK/results.tsv
: >"$RESULTS"
REDIS_MAXCLIENTS=$((IDLE_CONNS + 1000))
# shellcheck source=bench/procs.sh
source bench/procs.sh

# 10,000 client sockets plus 10,000 server sockets on one machine.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
log "open files limit: $(ulimit -n)"

log "building release binaries"
nice -n 5 cargo build --release -q -p framekit-examples --example ack_server --example resp_server \
  -p loadgen --bins
BIN=$ROOT/target/release
ACK=$BIN/examples/ack_server
RESP=$BIN/examples/resp_server
PLAIN=$BIN/plain_ack
LOADGEN=$BIN/loadgen

HAVE_REDIS=1
command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null || HAVE_REDIS=0

stop() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# Limits generous enough for the idle test; idle timeout longer than any step.
FK_FLAGS=(--max-connections $((IDLE_CONNS + 1000)) --idle-timeout 600s)

# ------------------------------------------------------------------------ 1. ack vs plain tokio
if [[ " $STEPS " == *" ack "* ]]; then
  start ack_server "$ACK" --addr 127.0.0.1:0 "${FK_FLAGS[@]}"
  ACK_PID=$PID ACK_ADDR=$ADDR
  start plain_ack "$PLAIN" --addr 127.0.0.1:0
  PLAIN_PID=$PID PLAIN_ADDR=$ADDR
  for scenario in $SCENARIOS; do
    c=${scenario%x*} w=${scenario#*x}
    for run in $(seq "$REPEATS"); do
      # Alternate which server goes first, so drift in machine load hits both alike.
      order=(ack_server plain_ack)
      ((run % 2 == 0)) && order=(plain_ack ack_server)
      for name in "${order[@]}"; do
        addr=$ACK_ADDR
        [[ $name == plain_ack ]] && addr=$PLAIN_ADDR
        line=$(timeout 120 "$LOADGEN" --addr "$addr" --connections "$c" --in-flight "$w" \
          --duration "$DURATION" --warmup "$WARMUP" | tail -1)
        log "ack $scenario run $run $name: $line"
        printf 'ack\tc=%s w=%s\t%s\t%s\n' "$c" "$w" "$name" "$line" >>"$RESULTS"
      done
    done
  done
  stop "$ACK_PID"
  stop "$PLAIN_PID"
fi

# ------------------------------------------------------------- 2. resp_server vs redis-server
# redis-benchmark --csv prints "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms",...
bench_redis() { # NAME PORT MODE (plain|pipelined)
  local name=$1 port=$2 mode=$3 extra=() n=$REDIS_N
  if [[ $mode == pipelined ]]; then
    extra=(-P 16)
    n=$REDIS_N_PIPELINED
  fi
  timeout 120 redis-benchmark -h 127.0.0.1 -p "$port" -t set,get -n "$n" -q --csv "${extra[@]}" |
    python3 bench/report.py redis-csv "$name" "$mode"
}

if [[ " $STEPS " == *" resp "* ]]; then
  if ((HAVE_REDIS)); then
    start resp_server "$RESP" --addr 127.0.0.1:0 "${FK_FLAGS[@]}"
    RESP_PID=$PID RESP_PORT=${ADDR##*:}
    start_redis
    REDIS_PID=$PID REDIS_PORT=${ADDR##*:}
    for mode in plain pipelined; do
      for run in $(seq "$REPEATS"); do
        order=(resp_server redis-server)
        ((run % 2 == 0)) && order=(redis-server resp_server)
        for name in "${order[@]}"; do
          port=$RESP_PORT
          [[ $name == redis-server ]] && port=$REDIS_PORT
          out=$(bench_redis "$name" "$port" "$mode")
          log "resp $mode run $run $name: $(echo "$out" | cut -f2,4 | tr '\n\t' '; ')"
          echo "$out" >>"$RESULTS"
        done
      done
    done
    stop "$RESP_PID"
    stop "$REDIS_PID"
  else
    log "redis-server/redis-benchmark not installed: skipping the resp comparison"
    printf 'skip\tresp\t-\tredis-server or redis-benchmark not installed\n' >>"$RESULTS"
  fi
fi

# ----------------------------------------------------------- 3. RSS per idle connection
# Opens IDLE_CONNS connections, exchanges one request on each (so every connection has read,
# framed and answered something), waits IDLE_SETTLE seconds, and reads the server's VmRSS.
# The wait is what makes redis-server's number fair: its clientsCron frees a client's query
# buffer only once the client has been idle for 2 s, and jemalloc gives freed pages back to
# the kernel only after its 10 s dirty-page decay. With 3,000 connections here, redis-server
# read 9,609 bytes per connection 2 s after the last PING (every client's query buffer still
# held) and 2,120 bytes 10 s after. framekit releases its buffers at once, so the wait does not
# change its number (3,910 bytes at both).
idle_rss() { # NAME PID ADDR LINE
  local name=$1 pid=$2 addr=$3 line=$4 before after ready=0
  sleep 0.5
  before=$(rss_kib "$pid")
  timeout 180 "$LOADGEN" --addr "$addr" --idle "$IDLE_CONNS" --hold $((IDLE_SETTLE + 30))s --threads 2 \
    --line "$line" >"$WORK/idle-$name.out" 2>&1 &
  local gen=$!
  for _ in $(seq 1200); do
    if grep -q '^ready' "$WORK/idle-$name.out"; then
      ready=1
      break
    fi
    kill -0 "$gen" 2>/dev/null || break
    sleep 0.1
  done
  if ((ready)); then
    sleep "$IDLE_SETTLE"
    after=$(rss_kib "$pid")
    log "rss $name: ${before} KiB -> ${after} KiB with $IDLE_CONNS idle connections (read ${IDLE_SETTLE}s after the last answer)"
    printf 'rss\tidle %s\t%s\tbefore_kib=%s after_kib=%s per_conn_bytes=%s\n' "$IDLE_CONNS" \
      "$name" "$before" "$after" $(((after - before) * 1024 / IDLE_CONNS)) >>"$RESULTS"
  else
    log "rss $name: the load generator failed: $(tail -3 "$WORK/idle-$name.out")"
    printf 'rss\tidle %s\t%s\tfailed\n' "$IDLE_CONNS" "$name" >>"$RESULTS"
  fi
  kill "$gen" 2>/dev/null || true
  wait "$gen" 2>/dev/null || true
}

if [[ " $STEPS " == *" rss "* ]]; then
  start ack_server "$ACK" --addr 127.0.0.1:0 "${FK_FLAGS[@]}"
  idle_rss ack_server "$PID" "$ADDR" hello
  stop "$PID"
  start plain_ack "$PLAIN" --addr 127.0.0.1:0
  idle_rss plain_ack "$PID" "$ADDR" hello
  stop "$PID"
  start resp_server "$RESP" --addr 127.0.0.1:0 "${FK_FLAGS[@]}"
  idle_rss resp_server "$PID" "$ADDR" PING
  stop "$PID"
  if ((HAVE_REDIS)); then
    start_redis
    idle_rss redis-server "$PID" "$ADDR" PING
    stop "$PID"
  fi
fi

# ------------------------------------------------------------------ 4. a dripped MSET, CPU time
# CPU seconds (user + system) a process has used, from /proc/PID/stat.
cpu_seconds() {
  awk -v hz="$(getconf CLK_TCK)" '{ printf "%.3f", ($14 + $15) / hz }' "/proc/$1/stat"
}

drip() {
  local name=$1 pid=$2 port=$3 before after sent
  before=$(cpu_seconds "$pid")
  sent=$(timeout 300 python3 bench/drip.py "$port" --pairs "$DRIP_PAIRS" --piece "$DRIP_PIECE" \
    --interval "$DRIP_INTERVAL")
  after=$(cpu_seconds "$pid")
  local cpu
  cpu=$(awk -v a="$after" -v b="$before" 'BEGIN { printf "%.3f", a - b }')
  log "drip $name: $cpu s of server CPU (bytes, pieces, seconds: $sent)"
  printf '%s	%s	%s
' "$name" "$cpu" "$sent" >>"$WORK/drip.tsv"
}

if [[ " $STEPS " == *" drip "* ]]; then
  : >"$WORK/drip.tsv"
  if ((HAVE_REDIS)); then
    for run in $(seq "$REPEATS"); do
      start resp_server "$RESP" --addr 127.0.0.1:0 "${FK_FLAGS[@]}"
      drip resp_server "$PID" "${ADDR##*:}"
      stop "$PID"
      start_redis
      drip redis-server "$PID" "${ADDR##*:}"
      stop "$PID"
    done
  else
    log "redis-server not installed: skipping the dripped MSET"
  fi
  cp "$WORK/drip.tsv" "$ROOT/target/drip-results.tsv"
  log "dripped MSET (server, CPU s, bytes, pieces, wall s):"
  cat "$WORK/drip.tsv" >&2
  if [[ " $STEPS " != *" ack "* && " $STEPS " != *" resp "* && " $STEPS " != *" rss "* ]]; then
    exit 0
  fi
fi

cp "$RESULTS" "$ROOT/target/server-bench-results.tsv"
python3 bench/report.py server --started "$STARTED" --load "$LOAD" --results "$RESULTS" --notes bench/server-notes.md \
  --command "bench/server.sh  # REPEATS=$REPEATS DURATION=$DURATION WARMUP=$WARMUP SCENARIOS='$SCENARIOS' IDLE_CONNS=$IDLE_CONNS IDLE_SETTLE=$IDLE_SETTLE"
log "BENCHMARKS.md: server section updated (raw results: target/server-bench-results.tsv)"
