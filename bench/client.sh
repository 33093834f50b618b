#!/usr/bin/env bash
# The client benchmark (issue 22): the same GET/SET load (32-byte values, one key per caller)
# against one redis-server from framekit's RESP client and from the redis crate's multiplexed
# tokio connection, at 1, 16 and 128 requests in flight, each client on one current-thread
# runtime and one connection; client CPU per request from getrusage (user + system).
# Prints one TSV row per run; REPEATS rounds, each client once a round at each depth, the
# order rotated. Bounded: each run stops after REQUESTS requests or 30 s. Needs redis-server;
# builds client-bench (release, its own workspace: bench/client-bench/Cargo.toml) unless
# CLIENT_BENCH names a binary:
#   REPEATS=3 bash bench/client.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${CLIENT_BENCH:-}" ]; then
  nice -n 5 cargo build --release -q --manifest-path bench/client-bench/Cargo.toml
  CLIENT_BENCH=${CARGO_TARGET_DIR:-bench/client-bench/target}/release/client-bench
fi
BIN=$CLIENT_BENCH
REQUESTS="${REQUESTS:-100000}"
REPEATS="${REPEATS:-2}"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
redis-server --bind 127.0.0.1 --port "$PORT" --save "" --appendonly no >/dev/null &
REDIS=$!
trap 'kill "$REDIS" 2>/dev/null || true' EXIT
for _ in $(seq 50); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
printf 'client\tin_flight\trequests\tsecs\treq_per_s\tcpu_us_per_req\tuser_us\tsys_us\n'
for round in $(seq "$REPEATS"); do
  # Rotated: each round swaps which client goes first, so a drift in the machine's load
  # during a round does not always fall on the same one.
  order="framekit redis"
  if (( round % 2 == 0 )); then order="redis framekit"; fi
  for n in 1 16 128; do
    for client in $order; do
      timeout 60 "$BIN" --addr "127.0.0.1:$PORT" --client "$client" --in-flight "$n" --requests "$REQUESTS"
    done
  done
done
