#!/usr/bin/env bash
# Import cycles between the modules of every crate's src/ (see .ci/modcycles.py for what an
# edge is): fails on any cycle not in .ci/modcycles.allow, and on an allowed one that is gone.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
for src in crates/*/src; do
  crate=$(basename "$(dirname "$src")")
  python3 .ci/modcycles.py "$crate" "$src" .ci/modcycles.allow || status=1
done
exit "$status"
