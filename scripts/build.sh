#!/usr/bin/env bash
# SPDX-License-Identifier: MulanPSL-2.0
# Configures and builds etmem into ./build (or $ETMEM_BUILD_DIR). Warnings are errors.
# Arguments, if any, are the targets to build (default: everything).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${ETMEM_BUILD_DIR:-build}
# ccache, when the machine has it (scripts/install-deps.sh installs it), makes a rebuild in a
# fresh clone cheap: paths are taken relative to the clone, so clones share the cache.
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  export CCACHE_BASEDIR=$PWD CCACHE_NOHASHDIR=1
fi
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DETMEM_WERROR=ON "${launcher[@]}" >/dev/null
targets=()
for target in "$@"; do targets+=(--target "$target"); done
cmake --build "$build_dir" -j"$(nproc)" "${targets[@]}"
