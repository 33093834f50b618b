#!/usr/bin/env bash
# Linear work measured by instructions, not by the strategies' own reports: every built-in
# strategy decodes a frame dripped one byte per decode call under callgrind at n, 2n and 4n
# bytes, and must cost about twice the instructions per doubling (a rescanning strategy that
# under-reports its work, which the law kit's count cannot see, costs four times and must be
# caught). tests/tests/linear_work_instructions.rs; installs valgrind if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
. .ci/apt.sh
command -v valgrind >/dev/null 2>&1 || apt_install valgrind
cargo test -p framekit-tests --test linear_work_instructions -- --ignored --nocapture
