#!/usr/bin/env bash
# Instructions per request of the client side (issue 22): client-bench's GET/SET load from
# framekit's RESP client and from the redis crate's MultiplexedConnection against one local
# redis-server, counted by callgrind, so the comparison does not depend on how loaded the
# machine is. Each client runs twice at each depth, N and 2N requests; the difference divided
# by the difference in requests is the cost of one request with start-up, connect and the
# runtime's set-up cancelled out. Counts the whole client process (its runtime, the
# library, the system-call wrappers; not the kernel's work, which getrusage's sys time shows).
#
#   bench/client-callgrind.sh                    1, 16 and 128 in flight, N=10000
#   N=4000 IN_FLIGHT='16' CLIENTS=framekit bench/client-callgrind.sh
#   CLIENT_BENCH=path/to/client-bench bench/client-callgrind.sh   a binary built elsewhere
#
# Prints one line per client and depth (Ir at N and 2N, Ir per request), then framekit's
# ratio to the redis crate at each depth. Needs valgrind and redis-server (apt-get install
# valgrind redis-server redis-tools). The callgrind files stay in $OUT; read where the
# instructions go with callgrind_annotate --inclusive=yes FILE.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/client-callgrind}
WORK=$OUT
mkdir -p "$OUT"
# shellcheck source=bench/procs.sh
source bench/procs.sh

N=${N:-10000}
IN_FLIGHT=${IN_FLIGHT:-1 16 128}
CLIENTS=${CLIENTS:-framekit redis}
for tool in valgrind callgrind_annotate redis-server redis-cli; do
  command -v "$tool" >/dev/null || { echo "needs $tool" >&2; exit 1; }
done
if [ -z "${CLIENT_BENCH:-}" ]; then
  nice -n 5 cargo build --release -q --manifest-path bench/client-bench/Cargo.toml
  CLIENT_BENCH=${CARGO_TARGET_DIR:-bench/client-bench/target}/release/client-bench
fi
start_redis

# count CLIENT DEPTH REQUESTS: runs the client under callgrind; prints "IR DONE" (instructions
# in all, requests made).
count() {
  local file=$OUT/$1-$2-$3.cg done
  timeout 1200 valgrind --tool=callgrind --callgrind-out-file="$file" "$CLIENT_BENCH" \
    --addr "$ADDR" --client "$1" --in-flight "$2" --requests "$3" --max-secs 1000 \
    >"$OUT/$1-$2-$3.tsv" 2>"$OUT/$1-$2-$3.log"
  done=$(awk -F'\t' '{ print $3 }' "$OUT/$1-$2-$3.tsv")
  echo "$(callgrind_ir "$file") $done"
}

declare -A PER
for depth in $IN_FLIGHT; do
  for client in $CLIENTS; do
    read -r ir1 done1 < <(count "$client" "$depth" "$N")
    read -r ir2 done2 < <(count "$client" "$depth" "$((2 * N))")
    if (( done2 <= done1 )); then
      echo "$client at $depth in flight made $done1 then $done2 requests" >&2
      exit 1
    fi
    per=$(( (ir2 - ir1) / (done2 - done1) ))
    PER[$client-$depth]=$per
    printf 'client=%s in_flight=%s requests=%s/%s ir=%s/%s ir_per_request=%s\n' \
      "$client" "$depth" "$done1" "$done2" "$ir1" "$ir2" "$per"
  done
done
for depth in $IN_FLIGHT; do
  if [[ -n ${PER[framekit-$depth]:-} && -n ${PER[redis-$depth]:-} ]]; then
    awk -v f="${PER[framekit-$depth]}" -v r="${PER[redis-$depth]}" -v d="$depth" \
      'BEGIN { printf "ratio in_flight=%s framekit/redis=%.2f\n", d, f / r }'
  fi
done
