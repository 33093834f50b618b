# Process helpers shared by the server benchmark scripts (sourced, not run). The caller sets
# WORK (a scratch directory) first. Every process started here is killed when the script exits.

PIDS=()

cleanup() {
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
}
trap cleanup EXIT

log() { printf '[%s] %s\n' "$(basename "$0")" "$*" >&2; }

# start NAME CMD...: starts a server that prints `listening on ADDR`; sets PID and ADDR.
start() {
  local name=$1
  shift
  local out=$WORK/$name.out
  # Emptied here, not by the child's redirection: a server started earlier under the same name
  # left its `listening on` line in this file, and the loop below could read that stale address
  # before the child got to truncate it (the rss step once measured a refused connection so).
  : >"$out"
  nice -n 5 "$@" >"$out" 2>"$WORK/$name.err" &
  PID=$!
  PIDS+=("$PID")
  for _ in $(seq 100); do
    ADDR=$(sed -n 's/^listening on //p' "$out" | head -1)
    [[ -n $ADDR ]] && return 0
    sleep 0.1
  done
  log "$name did not start:"
  cat "$WORK/$name.err" >&2
  return 1
}

# cpu_ticks PID: the user and the system CPU ticks (1/CLK_TCK s) a process has used, every thread
# of it, live and exited (/proc/PID/stat fields 14 and 15), as "USER SYSTEM".
cpu_ticks() { awk '{ print $14, $15 }' "/proc/$1/stat"; }
TICK=$(getconf CLK_TCK)

# cpu_fields BEFORE AFTER REQUESTS: two cpu_ticks readings -> the key=value fields of the CPU
# between them: seconds and µs per request, user, system and their sum (cpu_*). Per request is
# "nan" without requests.
cpu_fields() {
  awk -v b="$1" -v a="$2" -v n="$3" -v hz="$TICK" 'BEGIN {
    split(b, x, " "); split(a, y, " ")
    u = (y[1] - x[1]) / hz; s = (y[2] - x[2]) / hz
    printf "user_s=%.3f sys_s=%.3f cpu_s=%.3f", u, s, u + s
    if (n > 0) printf " user_us_per_req=%.3f sys_us_per_req=%.3f cpu_us_per_req=%.3f", u * 1e6 / n, s * 1e6 / n, (u + s) * 1e6 / n
    else printf " user_us_per_req=nan sys_us_per_req=nan cpu_us_per_req=nan"
  }'
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# callgrind_ir FILE: the instructions (Ir) a callgrind output file counts in all.
callgrind_ir() {
  callgrind_annotate "$1" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}'
}

# stop_profiled PID: ends a server running under valgrind so that callgrind writes its counts:
# SIGINT first (the example servers shut down gracefully on it), SIGTERM after a grace period,
# since a background job of a script ignores SIGINT unless it installs a handler (plain_ack
# installs none). Callgrind writes its file on either.
stop_profiled() {
  kill -INT "$1" 2>/dev/null || true
  for _ in $(seq 25); do kill -0 "$1" 2>/dev/null || break; sleep 0.2; done
  kill "$1" 2>/dev/null || true
  wait "$1" || true
}

# start_redis: a throwaway redis-server on a free loopback port, no persistence; sets PID and
# ADDR. REDIS_MAXCLIENTS (default 10000) bounds its connections.
start_redis() {
  local port
  port=$(free_port)
  nice -n 5 redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no \
    --maxclients "${REDIS_MAXCLIENTS:-10000}" --daemonize no --logfile "$WORK/redis.log" &
  PID=$!
  PIDS+=("$PID")
  ADDR=127.0.0.1:$port
  for _ in $(seq 100); do
    redis-cli -p "$port" ping >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  log "redis-server did not start"
  return 1
}

# server_bins REV_OR_DIR OUT: puts ack_server and resp_server of REV_OR_DIR into OUT. A directory
# is used as it is; anything else is a git revision, built (release) in a throwaway worktree
# that shares this tree's target directory, so dependencies already built are not rebuilt.
server_bins() {
  local what=$1 out=$2 tree
  if [[ -d $what ]]; then
    mkdir -p "$out"
    cp "$what/ack_server" "$what/resp_server" "$out/"
    return 0
  fi
  tree=$WORK/tree-$(git rev-parse --short "$what")
  git worktree add --detach -q "$tree" "$what"
  log "building ack_server and resp_server at $what ($(git rev-parse --short "$what"))"
  (cd "$tree" && CARGO_TARGET_DIR=$ROOT/target nice -n 5 cargo build --release -q \
    -p framekit-examples --example ack_server --example resp_server)
  mkdir -p "$out"
  cp "$ROOT/target/release/examples/ack_server" "$ROOT/target/release/examples/resp_server" "$out/"
  git worktree remove --force "$tree"
}

# switches PID: the voluntary and involuntary context switches of every live thread of a process
# (each /proc/PID/task/TID/status), as "VOLUNTARY INVOLUNTARY". A voluntary switch is a thread
# going to sleep to wait, so each is paid again as a wake-up. Threads that exited are not counted
# (none of the measured servers ends threads while it serves).
switches() {
  cat /proc/"$1"/task/*/status 2>/dev/null | awk '
    /^voluntary_ctxt_switches:/ { v += $2 } /^nonvoluntary_ctxt_switches:/ { i += $2 }
    END { print v + 0, i + 0 }'
}

# per_request_fields SW_BEFORE SW_AFTER REQUESTS LOADGEN_LINE: the server's context switches
# between two `switches` readings and the load generator's own CPU and switches (its line's
# client_* fields, over its whole run), per request, as key=value fields.
per_request_fields() {
  awk -v b="$1" -v a="$2" -v n="$3" -v line="$4" 'BEGIN {
    split(b, x, " "); split(a, y, " ")
    m = split(line, kv, " ")
    for (i = 1; i <= m; i++) { split(kv[i], p, "="); f[p[1]] = p[2] }
    if (n <= 0) { print "server_vcsw_per_req=nan"; exit }
    printf "server_vcsw_per_req=%.3f server_ivcsw_per_req=%.3f", (y[1] - x[1]) / n, (y[2] - x[2]) / n
    if ("client_user_s" in f) {
      printf " client_user_us_per_req=%.3f client_sys_us_per_req=%.3f client_cpu_us_per_req=%.3f",
        f["client_user_s"] * 1e6 / n, f["client_sys_s"] * 1e6 / n,
        (f["client_user_s"] + f["client_sys_s"]) * 1e6 / n
      printf " client_vcsw_per_req=%.3f", f["client_vcsw"] / n
    }
  }'
}
