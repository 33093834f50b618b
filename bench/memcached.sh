#!/usr/bin/env bash
# memcached_server next to memcached 1.6 (Debian's), side by side on loopback, each server's CPU
# read from /proc/PID/stat around each load (user + system, every thread):
#   1. get and set under memcslap (libmemcached-tools): 1 and 16 client threads, each with one
#      request in flight (16 in flight in all); throughput as memcslap times it, CPU per request;
#   2. RSS per idle connection: VmRSS before and after bench/loadgen --idle N holds N
#      connections that each exchanged one `version`;
#   3. linear work: one 1 MB value (bench/memcached_drip.py) in one write, in 1 KiB pieces 1 ms
#      apart and in 128-byte pieces 0.2 ms apart: the CPU seconds of each (linear work: the
#      dripped value costs the one-write cost plus a read per piece, not a rescan per piece).
# Both servers: memcached -t 2 (a worker thread per CPU of this 2-CPU machine) -m 256 -I 8m;
# memcached_server with its default runtime (a worker per CPU), --item-max 8388608 --memory-mb 256.
# The load rows run REPEATS times (default 3), rotated: odd rounds measure memcached first in
# each cell, even rounds memcached_server first, so neither always runs on the warmer machine.
# The load average is printed before and after (this machine is shared). Prints one key=value
# line per measurement. Usage:
#   bash bench/memcached.sh                    # N=20000 requests per client thread, IDLE=2000
#   N=5000 IDLE=500 REPEATS=1 bash bench/memcached.sh    # quicker
#   OURS_ARGS='--threads 2' bash bench/memcached.sh     # memcached_server thread-per-core, as
#                                                       # memcached -t 2 runs: an event loop per
#                                                       # worker thread, each connection on one
# Bounded: every step runs under `timeout`; the servers are stopped by pid on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=$(mktemp -d)
. bench/procs.sh

N=${N:-20000}
IDLE=${IDLE:-2000}
REPEATS=${REPEATS:-3}
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
command -v memcached >/dev/null && command -v memcslap >/dev/null || {
  log "needs memcached and memcslap (apt-get install memcached libmemcached-tools)"
  exit 1
}
nice -n 5 cargo build --release -q -p framekit-examples --example memcached_server
nice -n 5 cargo build --release -q -p loadgen --bins
OURS=$TARGET_DIR/release/examples/memcached_server
LOADGEN=$TARGET_DIR/release/loadgen

user=()
[ "$(id -u)" -eq 0 ] && user=(-u root)
PORT_REAL=$(free_port)
nice -n 5 memcached -l 127.0.0.1 -p "$PORT_REAL" -U 0 -t 2 -m 256 -I 8m "${user[@]}" &
PIDS+=("$!")
REAL_PID=$!
# shellcheck disable=SC2086 # OURS_ARGS is flags, split on purpose
start memcached_server "$OURS" --addr 127.0.0.1:0 --item-max 8388608 --memory-mb 256 ${OURS_ARGS:-}
OURS_PID=$PID
PORT_OURS=${ADDR##*:}
sleep 0.5

rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }

echo "step=loadavg when=start $(cut -d' ' -f1-3 /proc/loadavg)"
echo "step=config memcached_server_args=${OURS_ARGS:-none}"
for round in $(seq "$REPEATS"); do
  order="memcached memcached_server"
  [ $((round % 2)) -eq 0 ] && order="memcached_server memcached"
  for test in set get; do
    for threads in 1 16; do
      for server in $order; do
        if [ "$server" = memcached ]; then pid=$REAL_PID port=$PORT_REAL; else pid=$OURS_PID port=$PORT_OURS; fi
        n=$((N / threads))
        [ "$test" = get ] && timeout 120 memcslap --servers="127.0.0.1:$port" --concurrency=1 \
          --execute-number="$n" --test=set >/dev/null
        before=$(cpu_ticks "$pid")
        out=$(timeout 300 memcslap --servers="127.0.0.1:$port" --concurrency="$threads" \
          --execute-number="$n" --test="$test")
        after=$(cpu_ticks "$pid")
        requests=$((n * threads))
        seconds=$(printf '%s\n' "$out" | sed -n "s/^Time to $test .*: *\([0-9.]*\) seconds.*/\1/p")
        rps=$(awk -v r="$requests" -v s="$seconds" 'BEGIN { printf "%.0f", r / s }')
        echo "step=load round=$round server=$server test=$test in_flight=$threads requests=$requests seconds=$seconds rps=$rps $(cpu_fields "$before" "$after" "$requests")"
      done
    done
  done
done

for server in memcached memcached_server; do
  if [ "$server" = memcached ]; then pid=$REAL_PID port=$PORT_REAL; else pid=$OURS_PID port=$PORT_OURS; fi
  before=$(rss_kb "$pid")
  timeout 120 "$LOADGEN" --addr "127.0.0.1:$port" --idle "$IDLE" --line version --hold 3s \
    >"$WORK/idle.out" 2>&1 &
  idle=$!
  for _ in $(seq 100); do
    grep -q ready "$WORK/idle.out" 2>/dev/null && break
    sleep 0.1
  done
  sleep 1
  held=$(rss_kb "$pid")
  wait "$idle" || true
  echo "step=rss server=$server connections=$IDLE rss_before_kb=$before rss_held_kb=$held bytes_per_connection=$(( (held - before) * 1024 / IDLE ))"
done

# piece size and pause: the same 1 MB value in one write, in 1 KiB pieces and in 128-byte pieces.
for drip in "1000100 0" "1024 0.001" "128 0.0002"; do
  read -r piece interval <<<"$drip"
  for server in memcached memcached_server; do
    if [ "$server" = memcached ]; then pid=$REAL_PID port=$PORT_REAL; else pid=$OURS_PID port=$PORT_OURS; fi
    before=$(cpu_ticks "$pid")
    sent=$(timeout 300 python3 bench/memcached_drip.py "$port" --bytes 1000000 --piece "$piece" \
      --interval "$interval")
    after=$(cpu_ticks "$pid")
    echo "step=drip server=$server piece=$piece $sent $(cpu_fields "$before" "$after" 0 | cut -d' ' -f1-3)"
  done
done
echo "step=loadavg when=end $(cut -d' ' -f1-3 /proc/loadavg)"
