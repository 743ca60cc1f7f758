#!/usr/bin/env bash
# SPDX-License-Identifier: MulanPSL-2.0
# The whole test suite: installs what is needed, checks formatting, builds with warnings
# as errors, and runs every test — unit, bus, deployment, fuzz and the tests that boot real
# kernels in throw-away VMs (tests/vm), the unit and bus tiers again under sanitizers
# (scripts/sanitize.sh) — then the benchmarks, printing their figures.
# Run as root on Debian 12.
# `ctest --test-dir build -LE vm` afterwards is the quick host-only pass.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/check-format.sh
scripts/build.sh
build=${ETMEM_BUILD_DIR:-build}
ctest --test-dir "$build" --output-on-failure -j2 -LE bench "$@"
# The unit and bus tiers again under AddressSanitizer+UBSan, the unit tier under ThreadSanitizer.
scripts/sanitize.sh
# Benchmarks one at a time (figures are timings) and verbosely: their output is the point.
ctest --test-dir "$build" --output-on-failure -V -L bench "$@"
