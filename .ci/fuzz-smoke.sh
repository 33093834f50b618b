#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for a bounded time on the nightly toolchain, and fails
# on a build failure or on any crash (a panic, a broken framing law, a timeout, an OOM).
#
#   .ci/fuzz-smoke.sh                      every target, 30 s each (what CI runs)
#   FUZZ_SECONDS=600 .ci/fuzz-smoke.sh     every target, 10 minutes each
#   .ci/fuzz-smoke.sh nom delimited        only these targets
#
# Crashing inputs land in fuzz/artifacts/<target>/; the log of a failed target is printed.
set -euo pipefail

cd "$(dirname "$0")/.."
seconds="${FUZZ_SECONDS:-30}"

if ! rustup toolchain list | grep -q '^nightly'; then
    echo "fuzz: the nightly toolchain is missing (rustup toolchain install nightly)" >&2
    exit 1
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz"
    cargo install --locked cargo-fuzz
fi

# framekit has no unsafe code, so no sanitizer: more executions per second for the same time.
fuzz_flags=(--sanitizer none)

if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cd fuzz && cargo +nightly fuzz list)
fi

echo "fuzz: building ${#targets[@]} targets"
(cd fuzz && cargo +nightly fuzz build "${fuzz_flags[@]}")

logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT
passed=0
failed=0
for target in "${targets[@]}"; do
    start=$(date +%s)
    mkdir -p "fuzz/corpus/$target"
    if (cd fuzz && cargo +nightly fuzz run "${fuzz_flags[@]}" "$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1) \
        >"$logs/$target.log" 2>&1; then
        runs=$(grep -o 'Done [0-9]* runs' "$logs/$target.log" | tail -n 1 || true)
        echo "fuzz: $target ok after $(($(date +%s) - start)) s (${runs:-no run count})"
        passed=$((passed + 1))
    else
        echo "fuzz: $target FAILED after $(($(date +%s) - start)) s; the end of its log:"
        tail -n 60 "$logs/$target.log"
        failed=$((failed + 1))
    fi
done

echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
