#!/usr/bin/env bash
# The differential test of resp_server against a real redis-server (.ci/resp-diff.py): the
# same random command sequences over raw RESP and through redis-py, plus fixed protocol edge
# cases, compared reply for reply. Installs redis-server (apt-get) and redis-py (pip, or
# Debian's python3-redis) when missing. Uses the dev build `cargo test --workspace` made;
# PROFILE=release for the optimised one. Bounded: the script stops itself after ~2.5 minutes.
# Run from anywhere: `bash .ci/resp-diff.sh` (extra arguments go to the script, e.g. --seed 7).
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET_DIR="${CARGO_TARGET_DIR:-target}"
PROFILE="${PROFILE:-debug}"
. .ci/apt.sh

command -v redis-server >/dev/null 2>&1 || apt_install redis-server
command -v python3 >/dev/null 2>&1 || apt_install python3
PYTHON=python3
if ! "$PYTHON" -c 'import redis' 2>/dev/null; then
  timeout 300 "$PYTHON" -m pip install -q --user redis 2>/dev/null ||
    timeout 300 "$PYTHON" -m pip install -q --user --break-system-packages redis 2>/dev/null ||
    { apt_install python3-redis && PYTHON=/usr/bin/python3; }
fi
"$PYTHON" -c 'import redis; print("redis-py", redis.__version__)'
redis-server --version

if [ "$PROFILE" = release ]; then
  timeout 900 cargo build --release --workspace --all-features --examples
else
  # The same flags as the test step, so this finds everything already built.
  timeout 900 cargo build --workspace --all-features --examples
fi
timeout 240 "$PYTHON" .ci/resp-diff.py "$TARGET_DIR/$PROFILE/examples/resp_server" "$@"
