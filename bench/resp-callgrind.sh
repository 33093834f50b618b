#!/usr/bin/env bash
# Instructions per request of resp_server and redis-server under the same bounded
# redis-benchmark run, counted by callgrind: a measure that does not depend on how loaded the
# machine is (unlike CPU time), so changes can be judged while other work runs.
#
#   bench/resp-callgrind.sh                    -P 1 and -P 16, 20,000 SETs then 20,000 GETs
#   N=5000 PIPELINES=16 bench/resp-callgrind.sh
#   RESP_SERVER=path/to/resp_server bench/resp-callgrind.sh   a binary built elsewhere
#
# resp_server runs with --threads 1 (one single-threaded runtime), redis-server with
# --save '' --appendonly no; each is started on its own free port, stopped by its pid, and its
# whole run (start-up included, which is small beside the requests) is counted. Prints one
# line per server and pipeline depth: Ir total and Ir per request. Needs valgrind and
# redis-server / redis-tools (apt-get install valgrind redis-server redis-tools). The
# callgrind files stay in $OUT (read them with callgrind_annotate --inclusive=yes FILE).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/procs.sh
source bench/procs.sh

N=${N:-20000}
PIPELINES=${PIPELINES:-1 16}
OUT=${OUT:-/tmp/resp-callgrind}
mkdir -p "$OUT"
for tool in valgrind callgrind_annotate redis-server redis-benchmark redis-cli; do
  command -v "$tool" >/dev/null || { echo "needs $tool" >&2; exit 1; }
done
if [ -z "${RESP_SERVER:-}" ]; then
  nice -n 5 cargo build --release -q -p framekit-examples --example resp_server
  RESP_SERVER=${CARGO_TARGET_DIR:-target}/release/examples/resp_server
fi


# profile NAME PIPELINE PORT -- server command...
profile() {
  local name=$1 pipeline=$2 port=$3
  shift 4
  local file=$OUT/$name-P$pipeline.cg
  valgrind --tool=callgrind --callgrind-out-file="$file" "$@" >"$OUT/$name.log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  local up=
  for _ in $(seq 300); do
    if redis-cli -p "$port" ping >/dev/null 2>&1; then up=1; break; fi
    sleep 0.2
  done
  if [ -z "$up" ]; then
    kill "$pid" 2>/dev/null || true
    echo "$name did not start (see $OUT/$name.log)" >&2
    exit 1
  fi
  timeout 600 redis-benchmark -p "$port" -t set,get -n "$N" -c 50 -P "$pipeline" -q >/dev/null
  stop_profiled "$pid"
  local ir
  ir=$(callgrind_ir "$file")
  printf '%-13s -P %-2s Ir=%s per_request=%s\n' "$name" "$pipeline" "$ir" "$((ir / (2 * N)))"
}

for p in $PIPELINES; do
  port=$(free_port)
  profile resp_server "$p" "$port" -- "$RESP_SERVER" --threads 1 --addr "127.0.0.1:$port"
  port=$(free_port)
  profile redis-server "$p" "$port" -- redis-server --port "$port" --save '' --appendonly no
done
