#!/usr/bin/env bash
# Server benchmarks, in one go, on loopback, each step bounded in time:
#   1. (ack) ack_server vs the same protocol on the stacks a user would pick instead (issue 26):
#      plain_ack (plain tokio), framed_ack (tokio-util Framed + LinesCodec), Go net + bufio,
#      Netty 4.1 NIO and Python asyncio (bench/peers/build.sh builds the last three when their
#      toolchains are there; a missing one is a `missing` row, not a failure), under
#      bench/loadgen, C connections x W in flight; ack_server also as thread-per-core with
#      --threads 1 and --threads 2. Every contender must first answer bench/peers/check.py
#      exactly as ack_server does, and gets one unmeasured PREPASS run (JIT warm-up for the JVM,
#      the same for all) before the measured ones. Besides the server's CPU each run records its
#      voluntary context switches (wake-ups; every thread's /proc/PID/task/*/status) and the load
#      generator's own CPU and switches (getrusage, printed by loadgen), all per request;
#   2. (resp) resp_server vs redis-server under redis-benchmark -t set,get -c 50, -P 1 and -P 16;
#      resp_server also with --threads 1 and --threads 2;
#   3. (syscalls) system calls per request, strace -c -f attached for a bounded run, for each
#      server of steps 1 and 2, in all and by call (`by_call=`, the calls of at least 0.01 per
#      request);
#   4. (rss) RSS per idle connection: the ack servers with IDLE_STEPS connections held (5,000,
#      then 5,000 more: 10,000), the RESP servers with IDLE_CONNS;
#   5. (drip) one 4.7 MB MSET written in 8 KiB pieces 4 ms apart (bench/drip.py), to
#      resp_server and to redis-server: the server CPU seconds each spends on it.
# Steps 1, 2 and 5 read each server's user and system CPU time (all threads) from
# /proc/PID/stat around every run: CPU per request is each of those, and their sum, over the
# responses of the run. The contenders of a load take turns (the order rotates every run),
# REPEATS runs each; the report gives the median and the spread.
#
# The raw results are kept in bench/server-results.tsv, one block per step with the time, commit,
# load average and command of the run it comes from. A run replaces the blocks of the steps it
# ran and keeps the others, then rewrites the server section of BENCHMARKS.md and its SVG charts
# from the whole file (bench/report.py server), so `STEPS=rss` refreshes the memory rows and
# leaves the CPU rows of the last full run in place (the section says which run each part is
# from). `bench/report.py server` alone regenerates the section from the file.
#
#   bench/server.sh                   everything (about 20 minutes)
#   STEPS="ack syscalls rss" FK_VARIANTS="mt tpc1" DURATION=3s bench/server.sh
#                                     the issue 26 comparison (about 14 minutes)
#   REPEATS=1 DURATION=2s bench/server.sh   a quicker, noisier pass
#   STEPS="ack syscalls" bench/server.sh    only some steps
#   PREBUILT=../main/target/release bench/server.sh
#                                     binaries already built (DIR/examples/{ack,resp}_server,
#                                     DIR/plain_ack, DIR/framed_ack, DIR/loadgen, the peers in
#                                     DIR/peers or PEERS): nothing is compiled; the rss
#                                     step's glibc rows then need GLIBC_PREBUILT=DIR holding
#                                     ack_server and resp_server built with
#                                     --no-default-features, and are skipped without it
#
# The peers: INSTALL=1 bench/peers/build.sh installs their toolchains (golang-go, libnetty-java,
# a JDK) once; this script then builds them (PEERS, default $CARGO_TARGET_DIR/peers).
# Needs redis-server and redis-tools (apt-get install redis-server redis-tools) for step 2 and
# the redis rows of steps 3-5, and strace for step 3; without them those rows are skipped and
# say so.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

REPEATS=${REPEATS:-3}
DURATION=${DURATION:-5s}
WARMUP=${WARMUP:-1s}
IDLE_CONNS=${IDLE_CONNS:-10000}
# The ack servers' idle counts: connections are added in stages, RSS read after each.
IDLE_STEPS=${IDLE_STEPS:-5000 10000}
# One unmeasured run per contender before a step's measured ones (and its load).
PREPASS=${PREPASS:-3s}
PREPASS_LOAD=${PREPASS_LOAD:-16x16}
# Seconds between the last idle connection's answer and reading RSS (see step 3).
IDLE_SETTLE=${IDLE_SETTLE:-15}
STEPS=${STEPS:-ack resp syscalls rss drip}
# Requests of each strace run (step 3): strace slows the server down many times over.
STRACE_REQUESTS=${STRACE_REQUESTS:-20000}
# The dripped request: pairs, piece size, pause between pieces.
DRIP_PAIRS=${DRIP_PAIRS:-160000}
DRIP_PIECE=${DRIP_PIECE:-8192}
DRIP_INTERVAL=${DRIP_INTERVAL:-0.004}
# "connections x in-flight" scenarios for the ack comparison.
SCENARIOS=${SCENARIOS:-1x1 16x16 64x32}
REDIS_N=${REDIS_N:-200000}
REDIS_N_PIPELINED=${REDIS_N_PIPELINED:-2000000}
# What framekit's servers are measured as: the default (one multi-threaded tokio runtime) and
# thread-per-core with one and with two threads.
FK_VARIANTS=${FK_VARIANTS:-mt tpc1 tpc2}

for step in $STEPS; do
  case $step in
    ack | resp | syscalls | rss | drip) ;;
    *)
      echo "bench/server.sh: unknown step '$step' (steps: ack resp syscalls rss drip)" >&2
      exit 2
      ;;
  esac
done
# Where the raw results of every step's last run are kept (see the top of this file).
STORE=${STORE:-$ROOT/bench/server-results.tsv}
# The command of this run, as each step's block records it.
COMMAND="STEPS='$STEPS' REPEATS=$REPEATS DURATION=$DURATION WARMUP=$WARMUP REDIS_N=$REDIS_N"
COMMAND+=" REDIS_N_PIPELINED=$REDIS_N_PIPELINED SCENARIOS='$SCENARIOS' IDLE_CONNS=$IDLE_CONNS"
COMMAND+=" IDLE_SETTLE=$IDLE_SETTLE IDLE_STEPS='$IDLE_STEPS' STRACE_REQUESTS=$STRACE_REQUESTS"
COMMAND+=" FK_VARIANTS='$FK_VARIANTS' PREPASS=$PREPASS${PREBUILT:+ PREBUILT=$PREBUILT}"
COMMAND+="${GLIBC_PREBUILT:+ GLIBC_PREBUILT=$GLIBC_PREBUILT} bench/server.sh"

RUN_STARTED=$(date -u '+%Y-%m-%dT%H:%MZ')
WORK=$(mktemp -d /tmp/framekit-bench.XXXXXX)
RESULTS=$WORK/results.tsv
: >"$RESULTS"
REDIS_MAXCLIENTS=$((IDLE_CONNS + 1000))
# The largest count any step holds at once.
MAX_IDLE=$IDLE_CONNS
for n in $IDLE_STEPS; do ((n > MAX_IDLE)) && MAX_IDLE=$n; done
# shellcheck source=bench/procs.sh
source bench/procs.sh

# 10,000 client sockets plus 10,000 server sockets on one machine.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
log "open files limit: $(ulimit -n)"
STEP=

# What the binaries are built from, for each step's block: the commit, and whether the tree had
# changes beyond the files this script writes.
if [[ -n ${PREBUILT:-} ]]; then
  BIN=$PREBUILT
  # BUILT_FROM=COMMIT names what the binaries were built from; otherwise the directory and when.
  BUILT_FROM=${BUILT_FROM:-"prebuilt:$BIN@$(date -u -r "$BIN/examples/ack_server" '+%Y-%m-%dT%H:%MZ')"}
else
  BUILT_FROM=$(git rev-parse --short HEAD)
  if [[ -n $(git status --porcelain --untracked-files=no -- . ':!BENCHMARKS.md' ':!bench/charts' \
    ':!bench/server-results.tsv') ]]; then
    BUILT_FROM+="+uncommitted"
  fi
  log "building release binaries"
  BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release
fi
GLIBC=$WORK/glibc
if [[ " $STEPS " == *" rss "* ]]; then
  if [[ -n ${GLIBC_PREBUILT:-} ]]; then
    GLIBC=$GLIBC_PREBUILT
  elif [[ -z ${PREBUILT:-} ]]; then
    # The examples with the system's malloc too (feature jemalloc off), for the rss step's
    # glibc rows; cargo keeps both builds, so switching back costs a link, not a compile.
    nice -n 5 cargo build --release -q -p framekit-examples --no-default-features \
      --example ack_server --example resp_server
    mkdir -p "$GLIBC"
    cp "$BIN/examples/ack_server" "$BIN/examples/resp_server" "$GLIBC/"
  fi
fi
if [[ -z ${PREBUILT:-} ]]; then
  nice -n 5 cargo build --release -q -p framekit-examples --example ack_server --example resp_server \
    -p loadgen --bins
  OUT=${PEERS:-$BIN/../peers} bench/peers/build.sh
fi
if [[ -n ${PREBUILT:-} ]]; then PEERS=${PEERS:-$PREBUILT/peers}; else PEERS=${PEERS:-$BIN/../peers}; fi
ACK=$BIN/examples/ack_server
RESP=$BIN/examples/resp_server
PLAIN=$BIN/plain_ack
LOADGEN=$BIN/loadgen
for bin in "$ACK" "$RESP" "$PLAIN" "$LOADGEN"; do
  [[ -x $bin ]] || {
    log "missing binary $bin"
    exit 1
  }
done

# begin_step NAME: the rows that follow are step NAME's; its block records when the run and the
# step started, from what, on how loaded a machine, and the command.
begin_step() {
  STEP=$1
  printf 'step\t%s\t-\trun=%s started=%s built_from=%s load=%s\n' "$1" "$RUN_STARTED" \
    "$(date -u '+%Y-%m-%dT%H:%MZ')" "$BUILT_FROM" "$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' ,)" >>"$RESULTS"
  printf 'command\t%s\t-\t%s\n' "$1" "$COMMAND" >>"$RESULTS"
}

HAVE_REDIS=1
command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null || HAVE_REDIS=0

stop() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# Limits generous enough for the idle test; idle timeout longer than any step.
FK_FLAGS=(--max-connections $((MAX_IDLE + 1000)) --idle-timeout 600s)

threads_of() { ls "/proc/$1/task" | wc -l; }

# The framekit flags of a variant, and what each runs on (stated in the report).
variant_flags() {
  case $1 in
    mt) ;;
    tpc1) echo --threads 1 ;;
    tpc2) echo --threads 2 --reuse-port ;;
  esac
}
declare -A RUNTIME=(
  [ack_server]="one multi-threaded tokio runtime (a worker per CPU)"
  [ack_server_t1]="--threads 1: one single-threaded runtime"
  [ack_server_t2]="--threads 2 --reuse-port: two single-threaded runtimes, a listener each"
  [resp_server]="one multi-threaded tokio runtime (a worker per CPU)"
  [resp_server_t1]="--threads 1: one single-threaded runtime"
  [resp_server_t2]="--threads 2 --reuse-port: two single-threaded runtimes, a listener each"
  [plain_ack]="#[tokio::main]: one multi-threaded tokio runtime (a worker per CPU)"
  [framed_ack]="#[tokio::main]: one multi-threaded tokio runtime (a worker per CPU); FramedRead/FramedWrite with LinesCodec"
  [ack_server_go]="Go's runtime: a goroutine per connection on GOMAXPROCS=2 Ps, the netpoller"
  [ack_server_netty]="Netty NIO: one boss event loop, a worker group of 2 per CPU; JVM defaults"
  [ack_server_asyncio]="one asyncio event loop (selector), one thread"
  [redis-server]="redis-server's event loop: one main thread (io-threads 1), plus background threads"
)
variant_name() { # BASE VARIANT
  case $2 in
    mt) echo "$1" ;;
    tpc1) echo "$1_t1" ;;
    tpc2) echo "$1_t2" ;;
  esac
}

# Starts every contender of a section; fills NAMES, PID_OF and ADDR_OF.
declare -A PID_OF=() ADDR_OF=()
NAMES=()
start_contender() { # NAME CMD...
  local name=$1
  shift
  start "$name" "$@"
  PID_OF[$name]=$PID
  ADDR_OF[$name]=$ADDR
  NAMES+=("$name")
  [[ $STEP == ack || $STEP == resp ]] || return 0
  printf 'runtime\t-\t%s\tos_threads=%s about=%s\n' "$name" "$(threads_of "$PID")" \
    "$(echo "${RUNTIME[$name]:-?}" | tr ' ' '_')" >>"$RESULTS"
}
stop_contenders() {
  for name in "${NAMES[@]}"; do stop "${PID_OF[$name]}"; done
  NAMES=()
}

# Records one run: the load's own key=value line plus the server's CPU over it (cpu_fields).
record() { # SECTION SCENARIO NAME TICKS_BEFORE TICKS_AFTER REQUESTS LINE
  local cpu
  cpu=$(cpu_fields "$4" "$5" "$6")
  printf '%s\t%s\t%s\t%s %s\n' "$1" "$2" "$3" "$7" "$cpu" >>"$RESULTS"
  log "$1 $2 $3: $7 $cpu"
}

# The contenders in turn, the order rotated by RUN, so drift in machine load hits all alike.
rotated() { # RUN NAMES...
  local run=$1
  shift
  local n=$# i
  local all=("$@")
  for ((i = 0; i < n; i++)); do echo "${all[$(((i + run) % n))]}"; done
}

# The peers' binaries (bench/peers/build.sh), by contender name; framed_ack is a cargo binary.
declare -A PEER_BIN=(
  [framed_ack]=$BIN/framed_ack
  [ack_server_go]=$PEERS/ack_server_go
  [ack_server_netty]=$PEERS/ack_server_netty
  [ack_server_asyncio]=$PEERS/ack_server_asyncio
)
PEER_NAMES=(framed_ack ack_server_go ack_server_netty ack_server_asyncio)

# Starts every ack contender: framekit's variants, plain_ack and the peers that are built. A
# contender that does not answer as ack_server does (bench/peers/check.py) is stopped and left
# out with a `missing` row, as is a peer that is not built.
start_ack_contenders() {
  local v name
  for v in $FK_VARIANTS; do
    # shellcheck disable=SC2046
    start_contender "$(variant_name ack_server "$v")" "$ACK" --addr 127.0.0.1:0 "${FK_FLAGS[@]}" $(variant_flags "$v")
  done
  start_contender plain_ack "$PLAIN" --addr 127.0.0.1:0
  for name in "${PEER_NAMES[@]}"; do
    if [[ -x ${PEER_BIN[$name]} ]]; then
      start_contender "$name" "${PEER_BIN[$name]}" --addr 127.0.0.1:0
    else
      log "$name not built (INSTALL=1 bench/peers/build.sh installs its toolchain): left out"
      printf 'missing\t%s\t%s\tnot built: its toolchain is missing (INSTALL=1 bench/peers/build.sh)\n' \
        "$STEP" "$name" >>"$RESULTS"
    fi
  done
  local kept=()
  for name in "${NAMES[@]}"; do
    if python3 bench/peers/check.py "${ADDR_OF[$name]}" >"$WORK/check-$name" 2>&1; then
      kept+=("$name")
    else
      log "$name answers unlike ack_server, left out: $(cat "$WORK/check-$name")"
      printf 'missing\t%s\t%s\tanswers unlike ack_server (bench/peers/check.py)\n' "$STEP" "$name" >>"$RESULTS"
      stop "${PID_OF[$name]}"
    fi
  done
  NAMES=("${kept[@]}")
}

# One unmeasured run per contender (PREPASS at PREPASS_LOAD), so a JIT compiles before the
# measured runs and every server has touched its connection and buffer pools.
prepass() {
  local name c=${PREPASS_LOAD%x*} w=${PREPASS_LOAD#*x}
  for name in "${NAMES[@]}"; do
    timeout 120 "$LOADGEN" --addr "${ADDR_OF[$name]}" --connections "$c" --in-flight "$w" \
      --duration "$PREPASS" --warmup 0s >/dev/null || log "prepass $name failed"
  done
}

# ------------------------------------------------------------------------ 1. ack vs the peers
if [[ " $STEPS " == *" ack "* ]]; then
  begin_step ack
  start_ack_contenders
  prepass
  for scenario in $SCENARIOS; do
    c=${scenario%x*} w=${scenario#*x}
    for run in $(seq "$REPEATS"); do
      for name in $(rotated "$run" "${NAMES[@]}"); do
        before=$(cpu_ticks "${PID_OF[$name]}")
        sw_before=$(switches "${PID_OF[$name]}")
        line=$(timeout 120 "$LOADGEN" --addr "${ADDR_OF[$name]}" --connections "$c" --in-flight "$w" \
          --duration "$DURATION" --warmup "$WARMUP" | tail -1)
        after=$(cpu_ticks "${PID_OF[$name]}")
        sw_after=$(switches "${PID_OF[$name]}")
        total=$(sed -n 's/.*total=\([0-9]*\).*/\1/p' <<<"$line")
        record ack "c=$c w=$w" "$name" "$before" "$after" "$total" \
          "$line $(per_request_fields "$sw_before" "$sw_after" "$total" "$line")"
      done
    done
  done
  stop_contenders
fi

# ------------------------------------------------------------- 2. resp_server vs redis-server
# redis-benchmark --csv prints "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms",...
# One run is SET then GET, N requests each: the CPU covers both, per request of either.
bench_redis() { # NAME PORT MODE (P1|P16)
  local name=$1 port=$2 mode=$3 n=$REDIS_N pipe=1 before after csv
  if [[ $mode == P16 ]]; then
    pipe=16
    n=$REDIS_N_PIPELINED
  fi
  before=$(cpu_ticks "${PID_OF[$name]}")
  csv=$(timeout 120 redis-benchmark -h 127.0.0.1 -p "$port" -t set,get -c 50 -P "$pipe" -n "$n" -q --csv)
  after=$(cpu_ticks "${PID_OF[$name]}")
  record resp "-P $pipe" "$name" "$before" "$after" $((2 * n)) \
    "$(python3 bench/report.py redis-csv <<<"$csv") requests=$((2 * n))"
}

if [[ " $STEPS " == *" resp "* ]]; then
  begin_step resp
  if ((HAVE_REDIS)); then
    for v in $FK_VARIANTS; do
      # shellcheck disable=SC2046
      start_contender "$(variant_name resp_server "$v")" "$RESP" --addr 127.0.0.1:0 "${FK_FLAGS[@]}" $(variant_flags "$v")
    done
    start_redis
    PID_OF[redis-server]=$PID ADDR_OF[redis-server]=$ADDR
    NAMES+=(redis-server)
    printf 'runtime\t-\tredis-server\tos_threads=%s about=%s version=%s\n' "$(threads_of "$PID")" \
      "$(echo "${RUNTIME[redis-server]}" | tr ' ' '_')" "$(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p')" >>"$RESULTS"
    for mode in P1 P16; do
      for run in $(seq "$REPEATS"); do
        for name in $(rotated "$run" "${NAMES[@]}"); do
          bench_redis "$name" "${ADDR_OF[$name]##*:}" "$mode"
        done
      done
    done
    stop_contenders
  else
    log "redis-server/redis-benchmark not installed: skipping the resp comparison"
    printf 'skip\tresp\t-\tredis-server or redis-benchmark not installed\n' >>"$RESULTS"
  fi
fi

# ------------------------------------------------------------------ 3. system calls per request
# strace -c -f counts every system call of every thread while one bounded run goes on; the
# count over the run's responses is the calls per request. (strace slows the server down many
# times over, so these runs measure nothing else.)
strace_calls() { # PID OUT CMD...: runs CMD with strace attached to PID; prints the calls
  local pid=$1 out=$2
  shift 2
  local attach=() task
  # Every thread by its id: -p alone may attach to the main thread only.
  for task in /proc/"$pid"/task/*; do attach+=(-p "${task##*/}"); done
  strace -c -f "${attach[@]}" -o "$out" 2>/dev/null &
  local tracer=$!
  sleep 1 # attached to every thread before the load starts
  "$@" >"$out.load" 2>&1 || true
  kill -INT "$tracer" 2>/dev/null || true
  wait "$tracer" 2>/dev/null || true
  awk '$NF == "total" { print ($4 ~ /^[0-9]+$/) ? $4 : $3 }' "$out"
}

# by_call OUT REQUESTS: the calls of an strace -c summary per request, `name:n,...`, most first,
# those of at least 0.01 per request.
by_call() {
  awk -v n="$2" '$1 ~ /^[0-9.]+$/ && NF >= 5 && $NF != "total" && n > 0 && $4 / n >= 0.01 {
    printf "%s:%.3f\n", $NF, $4 / n }' "$1" | sort -t: -k2 -g -r | paste -sd, -
}

syscall_row() { # SECTION SCENARIO NAME CALLS REQUESTS [BY_CALL]
  local per
  per=$(awk -v c="$4" -v n="$5" 'BEGIN { if (n > 0) printf "%.3f", c / n; else print "nan" }')
  printf 'syscalls\t%s %s\t%s\tcalls=%s requests=%s per_req=%s%s\n' "$1" "$2" "$3" "$4" "$5" "$per" \
    "${6:+ by_call=$6}" >>"$RESULTS"
  log "syscalls $1 $2 $3: $4 calls for $5 requests = $per per request${6:+ ($6)}"
}

if [[ " $STEPS " == *" syscalls "* ]]; then
  begin_step syscalls
  if command -v strace >/dev/null; then
    start_ack_contenders
    for scenario in $SCENARIOS; do
      c=${scenario%x*} w=${scenario#*x}
      for name in "${NAMES[@]}"; do
        calls=$(strace_calls "${PID_OF[$name]}" "$WORK/strace-$name-$scenario" timeout 60 "$LOADGEN" \
          --addr "${ADDR_OF[$name]}" --connections "$c" --in-flight "$w" --duration 60s --warmup 0s \
          --max-requests "$STRACE_REQUESTS")
        total=$(sed -n 's/.*total=\([0-9]*\).*/\1/p' "$WORK/strace-$name-$scenario.load" | tail -1)
        syscall_row ack "c=$c w=$w" "$name" "${calls:-0}" "${total:-0}" \
          "$(by_call "$WORK/strace-$name-$scenario" "${total:-0}")"
      done
    done
    stop_contenders
    if ((HAVE_REDIS)); then
      for v in $FK_VARIANTS; do
        # shellcheck disable=SC2046
        start_contender "$(variant_name resp_server "$v")" "$RESP" --addr 127.0.0.1:0 "${FK_FLAGS[@]}" $(variant_flags "$v")
      done
      start_redis
      PID_OF[redis-server]=$PID ADDR_OF[redis-server]=$ADDR
      NAMES+=(redis-server)
      for pipe in 1 16; do
        for name in "${NAMES[@]}"; do
          calls=$(strace_calls "${PID_OF[$name]}" "$WORK/strace-$name-P$pipe" timeout 60 redis-benchmark \
            -h 127.0.0.1 -p "${ADDR_OF[$name]##*:}" -t set,get -c 50 -P "$pipe" -n "$STRACE_REQUESTS" -q --csv)
          syscall_row resp "-P $pipe" "$name" "${calls:-0}" $((2 * STRACE_REQUESTS)) \
            "$(by_call "$WORK/strace-$name-P$pipe" $((2 * STRACE_REQUESTS)))"
        done
      done
      stop_contenders
    fi
  else
    log "strace not installed: skipping the system call counts"
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
# The RESP servers get PING as clients send it (redis-cli and the client libraries: a RESP
# array, `*1\r\n$4\r\nPING\r\n`; loadgen adds the last LF), and, in rows of their own, inline
# (`PING\n`, as telnet would), which resp_server answers through its owned parser for the rest
# of the connection. ack_server and resp_server run with jemalloc, their default (feature
# `jemalloc`), and in the glibc rows with the system's malloc.
RESP_PING=$'*1\r\n$4\r\nPING\r'
# idle_rss NAME PID ADDR LINE LABEL COUNT...: holds COUNT connections (ascending; each stage's
# extra ones opened by one more loadgen, the earlier ones kept), and records a row per COUNT:
# RSS before the first stage and IDLE_SETTLE seconds after the stage's last answer.
idle_rss() {
  local name=$1 pid=$2 addr=$3 line=$4 suffix=$5
  shift 5
  local before after held=0 count label gens=() gen ready stages=$#
  sleep 0.5
  before=$(rss_kib "$pid")
  for count in "$@"; do
    label="idle $count${suffix:+, $suffix}"
    ready=0
    if ((count > held)); then
      timeout $((180 * stages)) "$LOADGEN" --addr "$addr" --idle $((count - held)) \
        --hold $(((IDLE_SETTLE + 30) * stages))s --threads 2 --line "$line" >"$WORK/idle-$name-$count.out" 2>&1 &
      gen=$!
      gens+=("$gen")
      for _ in $(seq 1200); do
        if grep -qs '^ready' "$WORK/idle-$name-$count.out"; then
          ready=1
          break
        fi
        kill -0 "$gen" 2>/dev/null || break
        sleep 0.1
      done
    fi
    if ((ready)); then
      held=$count
      sleep "$IDLE_SETTLE"
      after=$(rss_kib "$pid")
      log "rss $name: ${before} KiB -> ${after} KiB with $count idle connections (read ${IDLE_SETTLE}s after the last answer)"
      printf 'rss\t%s\t%s\tbefore_kib=%s after_kib=%s per_conn_bytes=%s\n' "$label" \
        "$name" "$before" "$after" $(((after - before) * 1024 / count)) >>"$RESULTS"
    else
      log "rss $name: the load generator failed at $count: $(tail -3 "$WORK/idle-$name-$count.out" 2>/dev/null)"
      printf 'rss\t%s\t%s\tfailed\n' "$label" "$name" >>"$RESULTS"
      break
    fi
  done
  for gen in "${gens[@]}"; do
    kill "$gen" 2>/dev/null || true
    wait "$gen" 2>/dev/null || true
  done
}

if [[ " $STEPS " == *" rss "* ]]; then
  begin_step rss
  # The ack servers, framekit's default and one-thread runtimes and the peers (one at a time, a
  # fresh process each, so none holds another's memory), at every count of IDLE_STEPS.
  for v in mt tpc1; do
    name=$(variant_name ack_server "$v")
    # shellcheck disable=SC2046
    start "$name" "$ACK" --addr 127.0.0.1:0 "${FK_FLAGS[@]}" $(variant_flags "$v")
    # shellcheck disable=SC2086
    idle_rss "$name" "$PID" "$ADDR" hello "" $IDLE_STEPS
    stop "$PID"
  done
  for name in plain_ack "${PEER_NAMES[@]}"; do
    bin=${PEER_BIN[$name]:-$PLAIN}
    if [[ ! -x $bin ]]; then
      printf 'missing\trss\t%s\tnot built: its toolchain is missing (INSTALL=1 bench/peers/build.sh)\n' "$name" >>"$RESULTS"
      continue
    fi
    start "$name" "$bin" --addr 127.0.0.1:0
    # shellcheck disable=SC2086
    idle_rss "$name" "$PID" "$ADDR" hello "" $IDLE_STEPS
    stop "$PID"
  done
  start resp_server "$RESP" --addr 127.0.0.1:0 "${FK_FLAGS[@]}"
  idle_rss resp_server "$PID" "$ADDR" "$RESP_PING" "" "$IDLE_CONNS"
  stop "$PID"
  if ((HAVE_REDIS)); then
    start_redis
    idle_rss redis-server "$PID" "$ADDR" "$RESP_PING" "" "$IDLE_CONNS"
    stop "$PID"
  fi
  start resp_server "$RESP" --addr 127.0.0.1:0 "${FK_FLAGS[@]}"
  idle_rss resp_server "$PID" "$ADDR" PING "inline PING" "$IDLE_CONNS"
  stop "$PID"
  if ((HAVE_REDIS)); then
    start_redis
    idle_rss redis-server "$PID" "$ADDR" PING "inline PING" "$IDLE_CONNS"
    stop "$PID"
  fi
  if [[ -x $GLIBC/ack_server && -x $GLIBC/resp_server ]]; then
    start ack_server "$GLIBC/ack_server" --addr 127.0.0.1:0 "${FK_FLAGS[@]}"
    idle_rss ack_server "$PID" "$ADDR" hello "glibc malloc" "$IDLE_CONNS"
    stop "$PID"
    start resp_server "$GLIBC/resp_server" --addr 127.0.0.1:0 "${FK_FLAGS[@]}"
    idle_rss resp_server "$PID" "$ADDR" "$RESP_PING" "glibc malloc" "$IDLE_CONNS"
    stop "$PID"
  else
    log "no glibc build (PREBUILT without GLIBC_PREBUILT): skipping the glibc malloc rows"
    for name in ack_server resp_server; do
      printf 'rss\tidle %s, glibc malloc\t%s\tskipped: no glibc build (PREBUILT without GLIBC_PREBUILT)\n' \
        "$IDLE_CONNS" "$name" >>"$RESULTS"
    done
  fi
fi

# ------------------------------------------------------------------ 4. a dripped MSET, CPU time
# The server's user and system CPU seconds over the request (cpu_fields, without the
# per-request fields: it is one request).
drip() { # NAME PID PORT
  local name=$1 pid=$2 port=$3 before after sent cpu
  before=$(cpu_ticks "$pid")
  if ! sent=$(timeout 300 python3 bench/drip.py "$port" --pairs "$DRIP_PAIRS" --piece "$DRIP_PIECE" \
    --interval "$DRIP_INTERVAL" 2>"$WORK/drip-$name.err"); then
    log "drip $name failed: $(cat "$WORK/drip-$name.err")"
    printf 'drip\tMSET %s pairs\t%s\tfailed\n' "$DRIP_PAIRS" "$name" >>"$RESULTS"
    return 0
  fi
  after=$(cpu_ticks "$pid")
  cpu=$(cpu_fields "$before" "$after" 0)
  cpu=${cpu%% user_us_per_req=*}
  read -r bytes pieces wall <<<"$sent"
  log "drip $name: $cpu of server CPU for $bytes bytes in $pieces pieces over $wall s"
  printf 'drip\tMSET %s pairs\t%s\t%s bytes=%s pieces=%s wall_s=%s\n' "$DRIP_PAIRS" "$name" \
    "$cpu" "$bytes" "$pieces" "$wall" >>"$RESULTS"
}

if [[ " $STEPS " == *" drip "* ]]; then
  begin_step drip
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
fi

python3 bench/report.py server --results "$RESULTS" --store "$STORE" --notes bench/server-notes.md
log "BENCHMARKS.md: server section updated; the steps run ($STEPS) replaced in $STORE, the others kept"
