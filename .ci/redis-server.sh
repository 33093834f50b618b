#!/usr/bin/env bash
# Installs redis-server for the RESP client's tests (tests/tests/examples_resp_client.rs), which
# start their own servers on free loopback ports. Idempotent: apt-get runs only when it is
# missing. Run before `cargo test`, which fails in CI (CI set) when redis-server is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
. .ci/apt.sh
command -v redis-server >/dev/null 2>&1 || apt_install redis-server
redis-server --version
