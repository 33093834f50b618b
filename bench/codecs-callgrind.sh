#!/usr/bin/env bash
# Instructions per frame of framekit's per-frame paths, counted by callgrind on a bounded driver
# (crates/framekit/examples/frame_costs.rs): a measure that does not depend on how loaded the
# machine is, so changes can be judged while other work runs. Each mode runs at 1 and 11
# repeats of the codec bench's 256 KiB input; the difference over the frames is the cost per
# frame, start-up excluded.
#
#   bench/codecs-callgrind.sh                        32 B payloads, every mode
#   PAYLOAD=1024 MODES="frames scan" bench/codecs-callgrind.sh
#   FRAME_COSTS=path/to/frame_costs bench/codecs-callgrind.sh   a binary built elsewhere
#
# Prints one line per mode, and Frames' share of the memchr scan (`scan`'s Ir over `frames`'s,
# whole and chunked) when those modes ran. Needs valgrind (apt-get install valgrind).
set -euo pipefail
cd "$(dirname "$0")/.."

PAYLOAD=${PAYLOAD:-32}
MODES=${MODES:-frames scan frames-chunked scan-chunked in-place u32 encode}
command -v valgrind >/dev/null && command -v callgrind_annotate >/dev/null \
  || { echo "needs valgrind" >&2; exit 1; }
if [ -z "${FRAME_COSTS:-}" ]; then
  nice -n 5 cargo build --release -q -p framekit --example frame_costs
  FRAME_COSTS=${CARGO_TARGET_DIR:-target}/release/examples/frame_costs
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# Ir of one run of MODE at REPEATS; the driver's line goes to $out/line.
ir() {
  valgrind --tool=callgrind --callgrind-out-file="$out/cg" "$FRAME_COSTS" "$1" "$2" "$PAYLOAD" \
    > "$out/line" 2> "$out/log" || { cat "$out/log" >&2; exit 1; }
  callgrind_annotate "$out/cg" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",","",$1); print $1}'
}

declare -A per_frame
for mode in $MODES; do
  one=$(ir "$mode" 1)
  eleven=$(ir "$mode" 11)
  frames=$(sed -E 's/.*frames_per_repeat=([0-9]+).*/\1/' "$out/line")
  per_frame[$mode]=$(awk -v a="$one" -v b="$eleven" -v f="$frames" 'BEGIN { printf "%.1f", (b - a) / (10 * f) }')
  echo "$mode payload=$PAYLOAD: ${per_frame[$mode]} Ir/frame ($frames frames per repeat)"
done
for pair in "frames scan" "frames-chunked scan-chunked"; do
  set -- $pair
  if [ -n "${per_frame[$1]:-}" ] && [ -n "${per_frame[$2]:-}" ]; then
    awk -v f="${per_frame[$1]}" -v s="${per_frame[$2]}" -v n="$1" \
      'BEGIN { printf "%s: %.0f%% of the memchr scan (by instructions)\n", n, 100 * s / f }'
  fi
done
