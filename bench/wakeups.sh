#!/usr/bin/env bash
# Where the ack servers' CPU goes between requests: perf stat counts, per request, of each server
# and of the load generator at each load (issue 26, item 2). Per server and load: context
# switches and CPU migrations, sched_wakeup (wake-ups this side performs: of the other side, or
# of its own idle threads), system calls in all and the waiting and hand-off ones by name
# (epoll_wait, epoll_pwait, futex, nanosleep), and hrtimer starts (timed waits), plus the
# server's CPU per request and the run's p50. perf is attached to every thread of the server
# (-p) for one bounded loadgen run, and runs the load generator itself; the servers run niced as
# in bench/server.sh. The contenders take turns, the order rotating each round; the table is the
# median of the ROUNDS rounds (bench/wakeups_table.py).
#
#   bench/wakeups.sh                                  every built ack server, 1x1, 16x16, 64x32
#   SERVERS="ack_server plain_ack" SCENARIOS="1x1:20000" ROUNDS=1 bench/wakeups.sh
#   PREBUILT=DIR bench/wakeups.sh                     nothing built (DIR as in bench/server.sh,
#                                                     the peers in DIR/peers or PEERS)
#
# A scenario is CONNECTIONSxIN_FLIGHT:REQUESTS. Needs perf with the sched, timer and syscalls
# tracepoints (root, or perf_event_paranoid <= -1). Raw counts stay in $OUT/wakeups.tsv.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=$(mktemp -d /tmp/framekit-wakeups.XXXXXX)
OUT=${OUT:-$WORK}
# shellcheck source=bench/procs.sh
source bench/procs.sh

SCENARIOS=${SCENARIOS:-1x1:20000 16x16:200000 64x32:400000}
ROUNDS=${ROUNDS:-3}
SERVERS=${SERVERS:-ack_server ack_server_t1 plain_ack framed_ack ack_server_go ack_server_netty ack_server_asyncio}
EVENTS=context-switches,cpu-migrations,sched:sched_wakeup,raw_syscalls:sys_enter
EVENTS+=,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_epoll_pwait,syscalls:sys_enter_futex
EVENTS+=,syscalls:sys_enter_nanosleep,timer:hrtimer_start

command -v perf >/dev/null || { echo "bench/wakeups.sh needs perf (apt-get install linux-perf)" >&2; exit 1; }
perf stat -e "$EVENTS" -- true >/dev/null 2>&1 || {
  echo "bench/wakeups.sh: perf cannot count $EVENTS here (root, or kernel.perf_event_paranoid=-1)" >&2
  exit 1
}
if [[ -z ${PREBUILT:-} ]]; then
  nice -n 5 cargo build --release -q -p framekit-examples --example ack_server -p loadgen --bins
  PREBUILT=${CARGO_TARGET_DIR:-target}/release
  PEERS=${PEERS:-$PREBUILT/../peers}
  OUT=$PEERS bench/peers/build.sh
fi
PEERS=${PEERS:-$PREBUILT/peers}  # bench/peers/build.sh's OUT
LOADGEN=$PREBUILT/loadgen
declare -A CMD=(
  [ack_server]="$PREBUILT/examples/ack_server"
  [ack_server_t1]="$PREBUILT/examples/ack_server --threads 1"
  [plain_ack]="$PREBUILT/plain_ack"
  [framed_ack]="$PREBUILT/framed_ack"
  [ack_server_go]="$PEERS/ack_server_go"
  [ack_server_netty]="$PEERS/ack_server_netty"
  [ack_server_asyncio]="$PEERS/ack_server_asyncio"
)
declare -A PID_OF=() ADDR_OF=()
NAMES=()
for name in $SERVERS; do
  [[ -n ${CMD[$name]:-} ]] || { echo "unknown server $name (known: ${!CMD[*]})" >&2; exit 2; }
  read -r -a cmd <<<"${CMD[$name]}"
  if [[ ! -x ${cmd[0]} ]]; then
    log "$name not built (${cmd[0]}): left out"
    continue
  fi
  start "$name" "${cmd[@]}" --addr 127.0.0.1:0
  PID_OF[$name]=$PID ADDR_OF[$name]=$ADDR
  NAMES+=("$name")
  # The JIT and the pools warm, as bench/server.sh's prepass does.
  "$LOADGEN" --addr "$ADDR" --connections 16 --in-flight 16 --duration 3s --warmup 0s >/dev/null
done
log "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"

TSV=$OUT/wakeups.tsv
: >"$TSV"
# counts FILE SIDE: perf stat -x, output -> "SIDE:EVENT COUNT" lines
counts() { awk -F, -v side="$2" '$1 ~ /^[0-9]+$/ { print side ":" $3, $1 }' "$1"; }

for round in $(seq "$ROUNDS"); do
  for s in $SCENARIOS; do
    shape=${s%%:*} requests=${s##*:}
    c=${shape%%x*} w=${shape##*x}
    n=${#NAMES[@]}
    for ((i = 0; i < n; i++)); do
      name=${NAMES[$(((i + round) % n))]}
      pid=${PID_OF[$name]}
      perf stat -x, -e "$EVENTS" -p "$pid" -o "$WORK/server.perf" &
      perf_pid=$!
      sleep 0.5
      before=$(cpu_ticks "$pid")
      line=$(perf stat -x, -e "$EVENTS" -o "$WORK/client.perf" -- timeout 120 "$LOADGEN" \
        --addr "${ADDR_OF[$name]}" --connections "$c" --in-flight "$w" --duration 120s \
        --warmup 0s --max-requests "$requests" | tail -1)
      after=$(cpu_ticks "$pid")
      kill -INT "$perf_pid"
      wait "$perf_pid" || true
      total=$(sed -n 's/.*total=\([0-9]*\).*/\1/p' <<<"$line")
      p50=$(sed -n 's/.*p50_us=\([0-9.]*\).*/\1/p' <<<"$line")
      cpu=$(cpu_fields "$before" "$after" "$total" | sed -n 's/.* cpu_us_per_req=\([0-9.na]*\).*/\1/p')
      {
        counts "$WORK/server.perf" server
        counts "$WORK/client.perf" loadgen
        echo "server:cpu_us_per_req_x_requests $(awk -v c="$cpu" -v n="$total" 'BEGIN { printf "%.0f", c * n }')"
        echo "p50_us_x_requests $(awk -v p="$p50" -v n="$total" 'BEGIN { printf "%.0f", p * n }')"
      } | while read -r event count; do
        printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$shape" "$round" "$event" "$count" "$total"
      done >>"$TSV"
      log "$name $shape round $round: $total requests, server $cpu µs CPU per request, p50 $p50 µs"
    done
  done
done

python3 bench/wakeups_table.py "$TSV" "$ROUNDS"
echo "(raw counts in $TSV; bench/wakeups_table.py FILE prints this table again)"
