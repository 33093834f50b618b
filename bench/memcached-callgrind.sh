#!/usr/bin/env bash
# Instructions per request of memcached_server and memcached 1.6 under the same fixed load,
# counted by callgrind: a measure that does not depend on how loaded the machine is (unlike the
# CPU time bench/memcached.sh reads), so changes can be judged while other work runs.
#
#   bench/memcached-callgrind.sh                       N=20000 sets then gets, 1 and 16 in flight
#   N=5000 IN_FLIGHT=16 bench/memcached-callgrind.sh
#   MEMCACHED_SERVER=path/to/memcached_server bench/memcached-callgrind.sh   a binary built elsewhere
#
# For each server and each in-flight count, a fresh server under callgrind: after it answers,
# its counters are zeroed (callgrind_control -z), bench/memcached_load.py sends N sets (100-byte
# keys, 400-byte values, memcslap's sizes) over IN_FLIGHT connections with one request in flight
# each, the counters are dumped, then N gets of those keys (each checked to hit), dumped again.
# So start-up is not counted; every thread is (memcached's background LRU threads included).
# memcached_server runs with --threads 1 (one single-threaded runtime), memcached with -t 1 (one
# worker thread); both with 256 MB. memcached sets its open-files limit to its connection limit,
# which valgrind refuses unless it equals valgrind's own (the soft limit less the 12 descriptors
# valgrind keeps), so memcached runs with -c 1024 under `ulimit -n 1036`.
# Prints one line per server, in-flight count and command: Ir total and Ir per request. The
# callgrind files stay in $OUT (callgrind_annotate --inclusive=yes FILE). Needs valgrind,
# memcached and python3 (apt-get install valgrind memcached).
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=$(mktemp -d)
# shellcheck source=bench/procs.sh
source bench/procs.sh

N=${N:-20000}
IN_FLIGHT=${IN_FLIGHT:-1 16}
OUT=${OUT:-/tmp/memcached-callgrind}
mkdir -p "$OUT"
for tool in valgrind callgrind_annotate callgrind_control memcached python3; do
  command -v "$tool" >/dev/null || { echo "needs $tool" >&2; exit 1; }
done
if [ -z "${MEMCACHED_SERVER:-}" ]; then
  nice -n 5 cargo build --release -q -p framekit-examples --example memcached_server
  MEMCACHED_SERVER=${CARGO_TARGET_DIR:-target}/release/examples/memcached_server
fi
user=()
[ "$(id -u)" -eq 0 ] && user=(-u root)

# tool_pid FILE: the pid of the valgrind process writing FILE (the `valgrind` command is a
# wrapper whose child is the tool, and callgrind_control needs the tool's pid).
tool_pid() {
  for _ in $(seq 50); do
    pid=$(pgrep -f -- "--callgrind-out-file=$1 " | while read -r p; do
      [ "$(cat "/proc/$p/comm" 2>/dev/null)" != bash ] && echo "$p"; done | tail -1)
    [ -n "$pid" ] && { echo "$pid"; return 0; }
    sleep 0.2
  done
  return 1
}

# profile NAME IN_FLIGHT PORT -- server command...
profile() {
  local name=$1 conns=$2 port=$3
  shift 4
  local file=$OUT/$name-c$conns.cg
  rm -f "$file" "$file".*
  (ulimit -n 1036 && exec valgrind --tool=callgrind --callgrind-out-file="$file" "$@") \
    >"$OUT/$name.log" 2>&1 &
  PIDS+=("$!")
  local pid
  pid=$(tool_pid "$file") || { echo "$name did not start (see $OUT/$name.log)" >&2; exit 1; }
  PIDS+=("$pid")
  local up=
  for _ in $(seq 300); do
    if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $port), 1).close()" 2>/dev/null; then
      up=1
      break
    fi
    sleep 0.2
  done
  [ -n "$up" ] || { echo "$name did not listen (see $OUT/$name.log)" >&2; exit 1; }
  callgrind_control -z "$pid" >/dev/null 2>&1
  local n=0 op
  for op in set get; do
    timeout 900 python3 bench/memcached_load.py "$port" --op "$op" --requests "$N" \
      --connections "$conns" >/dev/null
    callgrind_control -d "$op" "$pid" >/dev/null 2>&1
    n=$((n + 1))
    local ir
    ir=$(callgrind_ir "$file.$n")
    printf '%-16s in_flight=%-2s op=%s requests=%s Ir=%s per_request=%s\n' "$name" "$conns" "$op" \
      "$N" "$ir" "$((ir / N))"
  done
  stop_profiled "$pid"
}

for c in $IN_FLIGHT; do
  port=$(free_port)
  profile memcached_server "$c" "$port" -- "$MEMCACHED_SERVER" --threads 1 --memory-mb 256 \
    --addr "127.0.0.1:$port"
  port=$(free_port)
  profile memcached "$c" "$port" -- memcached -l 127.0.0.1 -p "$port" -U 0 -t 1 -m 256 -c 1024 \
    "${user[@]}"
done
