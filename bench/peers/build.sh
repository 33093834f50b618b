#!/usr/bin/env bash
# Builds the ack servers of the other stacks that bench/server.sh measures framekit against,
# into OUT (default $CARGO_TARGET_DIR/peers, else target/peers), one executable each that takes
# `--addr HOST:PORT` and prints `listening on HOST:PORT`:
#   ack_server_go       Go standard library, net + bufio      (needs go: Debian golang-go)
#   ack_server_netty    Netty 4.1, NIO transport               (needs javac 17 and libnetty-java)
#   ack_server_asyncio  Python asyncio streams                 (needs python3 3.8 or later)
# (The tokio-util one, framed_ack, is a cargo binary of bench/loadgen, next to plain_ack.)
# A peer whose toolchain is missing is skipped with a line saying so, and its old build removed;
# the script still exits 0. INSTALL=1 first installs the missing toolchains with apt-get
# (golang-go, libnetty-java, openjdk-17-jdk-headless), bounded in time. Nothing is fetched by the
# builds themselves: the Go server uses the standard library only (GOPROXY=off, GOFLAGS=-mod=mod)
# and javac compiles against Debian's jars.
#
#   bench/peers/build.sh                 build what the machine has (a few seconds)
#   INSTALL=1 bench/peers/build.sh       install the toolchains, then build all three
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
OUT=${OUT:-${CARGO_TARGET_DIR:-$ROOT/target}/peers}
NETTY_JARS=${NETTY_JARS:-/usr/share/java}
NETTY_MODULES=(common buffer transport codec handler resolver)
mkdir -p "$OUT"

say() { printf '[peers] %s\n' "$*" >&2; }
netty_classpath() {
  local jars=() m
  for m in "${NETTY_MODULES[@]}"; do
    [[ -f $NETTY_JARS/netty-$m.jar ]] || return 1
    jars+=("$NETTY_JARS/netty-$m.jar")
  done
  (IFS=:; echo "${jars[*]}")
}
java_major() { javac -version 2>&1 | sed -n 's/^javac \([0-9]*\).*/\1/p'; }

if [[ ${INSTALL:-0} == 1 ]]; then
  # shellcheck source=.ci/apt.sh
  . .ci/apt.sh
  need=()
  command -v go >/dev/null || need+=(golang-go)
  netty_classpath >/dev/null || need+=(libnetty-java)
  command -v javac >/dev/null || need+=(openjdk-17-jdk-headless)
  if ((${#need[@]})); then apt_install "${need[@]}"; else say "toolchains already installed"; fi
fi

# ---------------------------------------------------------------------------------------- Go
if command -v go >/dev/null; then
  GOCACHE=$OUT/go-cache GOFLAGS=-mod=mod GOPROXY=off GO111MODULE=off timeout 300 \
    go build -o "$OUT/ack_server_go" bench/peers/go/ack_server.go
  say "built ack_server_go ($(go version | cut -d' ' -f3))"
else
  rm -f "$OUT/ack_server_go"
  say "skipped ack_server_go: go not installed (INSTALL=1 bench/peers/build.sh installs golang-go)"
fi

# ------------------------------------------------------------------------------------- Netty
if ! command -v javac >/dev/null; then
  rm -f "$OUT/ack_server_netty"
  say "skipped ack_server_netty: javac not installed (INSTALL=1 installs openjdk-17-jdk-headless)"
elif (($(java_major) < 17)); then
  rm -f "$OUT/ack_server_netty"
  say "skipped ack_server_netty: javac $(java_major) found, Java 17 or later wanted"
elif ! cp=$(netty_classpath); then
  rm -f "$OUT/ack_server_netty"
  say "skipped ack_server_netty: Netty jars not in $NETTY_JARS (INSTALL=1 installs libnetty-java)"
else
  mkdir -p "$OUT/netty"
  timeout 300 javac -d "$OUT/netty" -cp "$cp" bench/peers/netty/AckServer.java
  cat >"$OUT/ack_server_netty" <<LAUNCH
#!/bin/sh
# Made by bench/peers/build.sh: the JVM's defaults, no tuning flags.
exec java -cp "$OUT/netty:$cp" AckServer "\$@"
LAUNCH
  chmod +x "$OUT/ack_server_netty"
  say "built ack_server_netty (javac $(java_major), Netty $(cd "$NETTY_JARS" && ls netty-common-[0-9]*.jar 2>/dev/null | sed 's/^netty-common-\(.*\)\.jar$/\1/' | head -1))"
fi

# ----------------------------------------------------------------------------------- asyncio
if command -v python3 >/dev/null && python3 -c 'import sys; sys.exit(sys.version_info < (3, 8))'; then
  cat >"$OUT/ack_server_asyncio" <<LAUNCH
#!/bin/sh
# Made by bench/peers/build.sh.
exec "$(python3 -c 'import sys; print(sys.executable)')" "$ROOT/bench/peers/asyncio/ack_server.py" "\$@"
LAUNCH
  chmod +x "$OUT/ack_server_asyncio"
  say "built ack_server_asyncio ($(python3 --version))"
else
  rm -f "$OUT/ack_server_asyncio"
  say "skipped ack_server_asyncio: python3 3.8 or later not installed"
fi
