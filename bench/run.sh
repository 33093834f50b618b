#!/usr/bin/env bash
# Runs the codec benchmarks (crates/framekit/benches/codecs.rs) with short, bounded criterion
# settings and rewrites the codec section of BENCHMARKS.md from criterion's estimates.json files.
#
#   bench/run.sh                 everything (about 7 minutes on 2 cores)
#   bench/run.sh chunked4k       only benchmarks whose id contains "chunked4k"
#   WARMUP=2 MEASURE=5 bench/run.sh   longer, steadier runs
set -euo pipefail
cd "$(dirname "$0")/.."

WARMUP=${WARMUP:-1}
MEASURE=${MEASURE:-3}
SAMPLES=${SAMPLES:-50}
LIMIT=${LIMIT:-1800} # seconds: the whole run is killed past this

STARTED=$(date -u '+%Y-%m-%d %H:%M UTC')
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
# Results of earlier runs must not be mixed into this table.
rm -rf target/criterion/decode_* target/criterion/encode_*

cmd=(nice -n 5 cargo bench -p framekit --bench codecs -- --warm-up-time "$WARMUP"
  --measurement-time "$MEASURE" --sample-size "$SAMPLES" --noplot "$@")
echo "+ ${cmd[*]}" >&2
timeout "$LIMIT" "${cmd[@]}"

python3 bench/report.py codecs --started "$STARTED" --load "$LOAD" --command "bench/run.sh $*  # = ${cmd[*]}" \
  --notes bench/codecs-notes.md
echo "BENCHMARKS.md: codec section updated" >&2
