#!/usr/bin/env bash
# Configures and builds etmem into ./build (or $ETMEM_BUILD_DIR). Warnings are errors.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${ETMEM_BUILD_DIR:-build}
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DETMEM_WERROR=ON >/dev/null
cmake --build "$build_dir" -j"$(nproc)"
