#!/usr/bin/env bash
# The differential test of memcached_server against a real memcached 1.6 (.ci/memcached-diff.py):
# the same random command sequences (one at a time, pipelined in one write, in random pieces)
# and fixed protocol edge cases, compared answer for answer. Installs memcached (apt-get) when
# missing; fails when it cannot. Uses the dev build `cargo test --workspace` made;
# PROFILE=release for the optimised one. Bounded: the script stops itself within ~2 minutes.
# Run from anywhere: `bash .ci/memcached-diff.sh` (extra arguments go to the script, e.g. --seed 7).
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET_DIR="${CARGO_TARGET_DIR:-target}"
PROFILE="${PROFILE:-debug}"
. .ci/apt.sh

command -v memcached >/dev/null 2>&1 || apt_install memcached
command -v python3 >/dev/null 2>&1 || apt_install python3
memcached -V

if [ "$PROFILE" = release ]; then
  timeout 900 cargo build --release -p framekit-examples --all-features --example memcached_server
else
  timeout 900 cargo build -p framekit-examples --all-features --example memcached_server
fi
timeout 150 python3 .ci/memcached-diff.py "$TARGET_DIR/$PROFILE/examples/memcached_server" "$@"
