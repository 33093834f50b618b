#!/usr/bin/env bash
# Relative links in every tracked *.md of the repository point to files (and, for `#anchor`
# links into markdown, to headings) that exist. Rustdoc's intra-doc links (`crate::x`,
# `framekit::y`) are skipped here: `cargo doc` checks them with -D warnings.
# Run from anywhere: `bash .ci/links.sh`. Exits non-zero listing every broken link.
set -euo pipefail
cd "$(dirname "$0")/.."
git ls-files -z -- '*.md' | xargs -0 python3 .ci/links.py
