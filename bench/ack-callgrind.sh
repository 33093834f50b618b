#!/usr/bin/env bash
# Instructions per request of ack_server (--threads 1 and its default runtime), plain_ack and
# framed_ack (tokio-util, one of issue 26's peers) under the same bounded loadgen run,
# counted by callgrind: a measure that does not depend on how loaded the machine is (unlike CPU
# time), so changes can be judged while other work runs. The ack counterpart of
# bench/resp-callgrind.sh.
#
#   bench/ack-callgrind.sh                       1x1 (20,000 requests) and 16x16 (200,000)
#   SCENARIOS='64x32:400000' bench/ack-callgrind.sh
#   PREBUILT=target/release bench/ack-callgrind.sh   binaries built elsewhere (examples/ack_server,
#                                                    plain_ack, framed_ack, loadgen under it)
#
# ack_server runs with --threads 1 (one single-threaded runtime) and as `ack_server_mt` with its
# default multi-threaded runtime (callgrind runs one thread at a time, so this counts the
# instructions of the runtime's hand-offs, not their waits); plain_ack and framed_ack as they are
# (their #[tokio::main] runtimes). The Go, Netty and asyncio peers are not counted: valgrind does
# not run Go's runtime reliably, and a JIT's or an interpreter's instructions are not the
# server's code. Each is started on its own free port, stopped by its pid, and its
# whole run (start-up included, small beside the requests) is counted. A scenario is
# CONNECTIONSxIN_FLIGHT:REQUESTS. Prints one line per server and scenario: Ir total and Ir per
# request. Needs valgrind (apt-get install valgrind). The callgrind files stay in $OUT (read
# them with callgrind_annotate --inclusive=yes FILE).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/procs.sh
source bench/procs.sh

SCENARIOS=${SCENARIOS:-1x1:20000 16x16:200000}
OUT=${OUT:-/tmp/ack-callgrind}
mkdir -p "$OUT"
for tool in valgrind callgrind_annotate python3; do
  command -v "$tool" >/dev/null || { echo "needs $tool" >&2; exit 1; }
done
if [ -z "${PREBUILT:-}" ]; then
  nice -n 5 cargo build --release -q -p framekit-examples --example ack_server -p loadgen --bins
  PREBUILT=${CARGO_TARGET_DIR:-target}/release
fi
ACK_SERVER=$PREBUILT/examples/ack_server
PLAIN_ACK=$PREBUILT/plain_ack
FRAMED_ACK=$PREBUILT/framed_ack
LOADGEN=$PREBUILT/loadgen


# profile NAME SCENARIO PORT -- server command...
profile() {
  local name=$1 scenario=$2 port=$3
  shift 4
  local shape=${scenario%%:*} requests=${scenario##*:}
  local conns=${shape%%x*} in_flight=${shape##*x}
  local file=$OUT/$name-$shape.cg log=$OUT/$name-$shape.log
  : >"$log"
  valgrind --tool=callgrind --callgrind-out-file="$file" "$@" >"$log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  local up=
  for _ in $(seq 300); do
    if grep -qs listening "$log"; then up=1; break; fi
    sleep 0.2
  done
  if [ -z "$up" ]; then
    kill "$pid" 2>/dev/null || true
    echo "$name did not start (see $log)" >&2
    exit 1
  fi
  local load
  load=$("$LOADGEN" --addr "127.0.0.1:$port" --connections "$conns" --in-flight "$in_flight" \
    --duration 300s --warmup 0s --max-requests "$requests")
  stop_profiled "$pid"
  case $load in
    *"requests=$requests "*) ;;
    *) echo "$name $shape: the run did not complete ($load)" >&2; exit 1 ;;
  esac
  local ir
  ir=$(callgrind_ir "$file")
  printf '%-13s %-6s Ir=%s per_request=%s\n' "$name" "$shape" "$ir" "$((ir / requests))"
}

for s in $SCENARIOS; do
  port=$(free_port)
  profile ack_server "$s" "$port" -- "$ACK_SERVER" --threads 1 --addr "127.0.0.1:$port"
  port=$(free_port)
  profile plain_ack "$s" "$port" -- "$PLAIN_ACK" --addr "127.0.0.1:$port"
  port=$(free_port)
  profile framed_ack "$s" "$port" -- "$FRAMED_ACK" --addr "127.0.0.1:$port"
  port=$(free_port)
  profile ack_server_mt "$s" "$port" -- "$ACK_SERVER" --addr "127.0.0.1:$port"
done
