#!/usr/bin/env bash
# The whole test suite: installs what is needed, checks formatting, builds with warnings
# as errors, and runs every test — unit, bus, deployment, fuzz, benchmarks and the tests
# that boot real kernels in throw-away VMs (tests/vm). Run as root on Debian 12.
# `ctest --test-dir build -LE vm` afterwards is the quick host-only pass.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/check-format.sh
scripts/build.sh
ctest --test-dir "${ETMEM_BUILD_DIR:-build}" --output-on-failure -j2 "$@"
