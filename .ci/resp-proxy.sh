#!/usr/bin/env bash
# resp_proxy with real clients in front of real redis-servers (.ci/resp-proxy.py): redis-cli,
# redis-benchmark and redis-py through it, the differential test against a single
# redis-server, and a backend killed mid-load. Installs redis-server, redis-tools and redis-py
# when missing (a missing tool fails under CI=true rather than being skipped). Uses the dev
# build `cargo test --workspace` made; PROFILE=release for the optimised one. Bounded: the
# script stops itself after ~4 minutes. Run from anywhere: `bash .ci/resp-proxy.sh`.
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET_DIR="${CARGO_TARGET_DIR:-target}"
PROFILE="${PROFILE:-debug}"
. .ci/apt.sh

have() { command -v "$1" >/dev/null 2>&1; }
have redis-server || apt_install redis-server
have redis-cli && have redis-benchmark || apt_install redis-tools
have python3 || apt_install python3
PYTHON=python3
if ! "$PYTHON" -c 'import redis' 2>/dev/null; then
  timeout 300 "$PYTHON" -m pip install -q --user redis 2>/dev/null ||
    timeout 300 "$PYTHON" -m pip install -q --user --break-system-packages redis 2>/dev/null ||
    { apt_install python3-redis && PYTHON=/usr/bin/python3; }
fi
for tool in redis-server redis-cli redis-benchmark; do
  have "$tool" || { echo "FAIL: $tool is missing after installing it" >&2; exit 1; }
done
"$PYTHON" -c 'import redis; print("redis-py", redis.__version__)'

if [ "$PROFILE" = release ]; then
  timeout 900 cargo build --release -p framekit-examples --example resp_proxy
else
  timeout 900 cargo build --workspace --all-features --examples
fi
timeout 300 "$PYTHON" .ci/resp-proxy.py "$TARGET_DIR/$PROFILE/examples/resp_proxy" "$@"
