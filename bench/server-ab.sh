#!/usr/bin/env bash
# Two builds of ack_server (and resp_server) side by side in one run, against the same baseline:
# the way to measure a change to framekit-server without trusting run-to-run drift.
#
#   # build and keep the "before" binaries, change the code, then:
#   cargo build --release -p framekit-examples --example ack_server --example resp_server -p loadgen --bins
#   bench/server-ab.sh /tmp/before target/release/examples
#
# OLD_DIR and NEW_DIR each hold `ack_server` (and `resp_server`, for the redis step). The baseline
# (`plain_ack`) and the load generator are target/release's. Prints one line per run; ratios
# are to the baseline measured in the same round. Each step is bounded in time.
#
#   SCENARIOS="16x16" ROUNDS=3 DURATION=3s bench/server-ab.sh OLD NEW
#   STEPS="ack resp" (default: ack) adds redis-benchmark -P 16 against redis-server.
set -euo pipefail
cd "$(dirname "$0")/.."
OLD_DIR=${1:?usage: bench/server-ab.sh OLD_DIR NEW_DIR}
NEW_DIR=${2:?usage: bench/server-ab.sh OLD_DIR NEW_DIR}
SCENARIOS=${SCENARIOS:-1x1 16x16 64x32}
ROUNDS=${ROUNDS:-2}
DURATION=${DURATION:-3s}
WARMUP=${WARMUP:-1s}
STEPS=${STEPS:-ack}
REDIS_N=${REDIS_N:-1000000}
BIN=target/release
WORK=$(mktemp -d /tmp/framekit-ab.XXXXXX)
# shellcheck source=bench/procs.sh
source bench/procs.sh

rps() { sed -n 's/.*rps=\([0-9]*\).*/\1/p'; }

if [[ " $STEPS " == *" ack "* ]]; then
  start old "$OLD_DIR/ack_server" --addr 127.0.0.1:0 --idle-timeout 600s
  OLD=$ADDR
  start new "$NEW_DIR/ack_server" --addr 127.0.0.1:0 --idle-timeout 600s
  NEW=$ADDR
  start plain "$BIN/plain_ack" --addr 127.0.0.1:0
  PLAIN=$ADDR
  for scenario in $SCENARIOS; do
    c=${scenario%x*} w=${scenario#*x}
    for round in $(seq "$ROUNDS"); do
      declare -A rate=()
      for name in plain old new; do
        case $name in
          plain) addr=$PLAIN ;;
          old) addr=$OLD ;;
          *) addr=$NEW ;;
        esac
        rate[$name]=$(timeout 60 "$BIN/loadgen" --addr "$addr" --connections "$c" \
          --in-flight "$w" --duration "$DURATION" --warmup "$WARMUP" | tail -1 | rps)
      done
      python3 -c 'import sys; p,o,n=map(float,sys.argv[2:]); print(f"ack {sys.argv[1]} round: plain {p:,.0f} old {o:,.0f} ({o/p:.2f}x) new {n:,.0f} ({n/p:.2f}x)")' \
        "$scenario $round" "${rate[plain]}" "${rate[old]}" "${rate[new]}"
    done
  done
fi

if [[ " $STEPS " == *" resp "* ]]; then
  start old_resp "$OLD_DIR/resp_server" --addr 127.0.0.1:0 --idle-timeout 600s
  OLD_PORT=${ADDR##*:}
  start new_resp "$NEW_DIR/resp_server" --addr 127.0.0.1:0 --idle-timeout 600s
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
