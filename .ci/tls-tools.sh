#!/usr/bin/env bash
# Installs the real clients the deployment tests (tests/tests/tls_*.rs, listeners_*.rs,
# metrics_*.rs) talk to the examples with: redis-cli (redis-tools, built with TLS), openssl and
# curl. Idempotent: apt-get runs only when one is missing. Run before `cargo test`, which fails
# in CI (CI set) when a client is missing instead of skipping.
set -euo pipefail

missing=()
command -v redis-cli >/dev/null 2>&1 || missing+=(redis-tools)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v curl >/dev/null 2>&1 || missing+=(curl)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  timeout 600 apt-get update -qq
  timeout 600 apt-get install -y -qq --no-install-recommends "${missing[@]}" ca-certificates >/dev/null
fi
# redis-cli must speak TLS (Debian's does since redis 6).
help="$(redis-cli --help 2>&1 || true)"
if ! grep -q -- '--tls' <<<"$help"; then
  echo "FAIL: this redis-cli has no TLS support" >&2
  exit 1
fi
echo "redis-cli $(redis-cli --version | cut -d' ' -f2), $(openssl version | cut -d' ' -f1,2), curl $(curl --version | sed -n 1p | cut -d' ' -f2)"
