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

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
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
