#!/usr/bin/env bash
# Two builds of ack_server (and resp_server) side by side in one run, against the same baseline:
# the way to measure a change to framekit-server without trusting run-to-run drift.
#
#   bench/server-ab.sh e13b388 HEAD          two git revisions, each built here (release)
#   bench/server-ab.sh /tmp/before target/release/examples   two directories of binaries
#
# OLD and NEW are each a git revision (built in a throwaway worktree that shares this tree's
# target directory) or a directory holding `ack_server` and `resp_server`. The baseline
# (`plain_ack`) and the load generator are this tree's, built first (or PREBUILT=DIR's, DIR
# holding plain_ack and loadgen: nothing built). Prints one line per run with each server's
# throughput and CPU per request (user + system time of the server process, from
# /proc/PID/stat, over the responses of the run), and of that the system time; the rounds
# alternate who goes first. Each step is bounded in time.
#
#   SCENARIOS="16x16" ROUNDS=3 DURATION=3s bench/server-ab.sh OLD NEW
#   STEPS="ack resp" (default: ack) adds redis-benchmark -P 16 against redis-server.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OLD_REV=${1:?usage: bench/server-ab.sh OLD NEW}
NEW_REV=${2:?usage: bench/server-ab.sh OLD NEW}
SCENARIOS=${SCENARIOS:-1x1 16x16 64x32}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-3s}
WARMUP=${WARMUP:-1s}
STEPS=${STEPS:-ack}
REDIS_N=${REDIS_N:-1000000}
BIN=${PREBUILT:-$ROOT/target/release}
WORK=$(mktemp -d /tmp/framekit-ab.XXXXXX)
# shellcheck source=bench/procs.sh
source bench/procs.sh

server_bins "$OLD_REV" "$WORK/old"
server_bins "$NEW_REV" "$WORK/new"
if [[ -z ${PREBUILT:-} ]]; then
  log "building plain_ack and loadgen"
  nice -n 5 cargo build --release -q -p loadgen --bins
fi

# us_per BEFORE AFTER REQUESTS: two cpu_ticks readings (bench/procs.sh) -> "TOTAL SYSTEM", µs of
# server CPU per request.
us_per() {
  local f
  f=$(cpu_fields "$1" "$2" "$3")
  awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
         printf "%.2f %.2f", v["cpu_us_per_req"], v["sys_us_per_req"] }' <<<"$f"
}

if [[ " $STEPS " == *" ack "* ]]; then
  declare -A addr_of=() pid_of=()
  start old "$WORK/old/ack_server" --addr 127.0.0.1:0 --idle-timeout 600s
  addr_of[old]=$ADDR pid_of[old]=$PID
  start new "$WORK/new/ack_server" --addr 127.0.0.1:0 --idle-timeout 600s
  addr_of[new]=$ADDR pid_of[new]=$PID
  start plain "$BIN/plain_ack" --addr 127.0.0.1:0
  addr_of[plain]=$ADDR pid_of[plain]=$PID
  for scenario in $SCENARIOS; do
    c=${scenario%x*} w=${scenario#*x}
    for round in $(seq "$ROUNDS"); do
      order=(plain old new)
      ((round % 2 == 0)) && order=(new old plain)
      declare -A rate=() cpu=() sys=()
      for name in "${order[@]}"; do
        before=$(cpu_ticks "${pid_of[$name]}")
        line=$(timeout 60 "$BIN/loadgen" --addr "${addr_of[$name]}" --connections "$c" \
          --in-flight "$w" --duration "$DURATION" --warmup "$WARMUP" | tail -1)
        after=$(cpu_ticks "${pid_of[$name]}")
        rate[$name]=$(sed -n 's/.*rps=\([0-9]*\).*/\1/p' <<<"$line")
        read -r "cpu[$name]" "sys[$name]" <<<"$(us_per "$before" "$after" "$(sed -n 's/.*total=\([0-9]*\).*/\1/p' <<<"$line")")"
      done
      python3 -c '
import sys
sc, p, o, n, pc, oc, nc, ps, os_, ns = sys.argv[1:]
p, o, n, pc, oc, nc, ps, os_, ns = map(float, (p, o, n, pc, oc, nc, ps, os_, ns))
print(f"ack {sc} round: req/s plain {p:,.0f} old {o:,.0f} ({o/p:.2f}x) new {n:,.0f} ({n/p:.2f}x)"
      f" | CPU us/req plain {pc:.2f} old {oc:.2f} ({oc/pc:.2f}x) new {nc:.2f} ({nc/pc:.2f}x)"
      f" | of which system plain {ps:.2f} old {os_:.2f} new {ns:.2f}")' \
        "$scenario $round" "${rate[plain]}" "${rate[old]}" "${rate[new]}" "${cpu[plain]}" "${cpu[old]}" "${cpu[new]}" \
        "${sys[plain]}" "${sys[old]}" "${sys[new]}"
    done
  done
fi

if [[ " $STEPS " == *" resp "* ]]; then
  start old_resp "$WORK/old/resp_server" --addr 127.0.0.1:0 --idle-timeout 600s
  OLD_PORT=${ADDR##*:}
  start new_resp "$WORK/new/resp_server" --addr 127.0.0.1:0 --idle-timeout 600s
  NEW_PORT=${ADDR##*:}
  start_redis
  REDIS_PORT=${ADDR##*:}
  for round in $(seq "$ROUNDS"); do
    for pair in redis:$REDIS_PORT old:$OLD_PORT new:$NEW_PORT; do
      printf 'resp -P 16 round %s %s: ' "$round" "${pair%%:*}"
      timeout 120 redis-benchmark -h 127.0.0.1 -p "${pair#*:}" -t set,get -n "$REDIS_N" -q \
        --csv -P 16 | awk -F, 'NR > 1 { gsub(/"/, ""); printf "%s %s  ", $1, $2 } END { print "" }'
    done
  done
fi
