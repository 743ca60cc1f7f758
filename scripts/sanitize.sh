#!/usr/bin/env bash
# SPDX-License-Identifier: MulanPSL-2.0
# Builds the unit and bus tiers with AddressSanitizer+UBSan and the unit tier (the engine's
# worker pools, the project runner, the DAMON collector, the registry's poster) with
# ThreadSanitizer, each in a build directory of its own, and runs them. Part of
# scripts/test.sh; any report fails the run (-fno-sanitize-recover, halt_on_error).
# Usage: scripts/sanitize.sh [asan|tsan]... (default: both)
set -euo pipefail
cd "$(dirname "$0")/.."
kinds=("$@")
((${#kinds[@]})) || kinds=(asan tsan)

# ccache, when the machine has it, makes the second and later runs cheap; never required.
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  export CCACHE_BASEDIR=$PWD CCACHE_NOHASHDIR=1
fi

configure_and_build() {
  local dir=$1 sanitize=$2
  shift 2
  # Debug (-O0) compiles fastest; warnings are the main build's job (-Werror there).
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DETMEM_WERROR=OFF \
    -DETMEM_SANITIZE="$sanitize" "${launcher[@]}" >/dev/null
  local targets=()
  for target in "$@"; do targets+=(--target "$target"); done
  cmake --build "$dir" -j"$(nproc)" "${targets[@]}"
}

for kind in "${kinds[@]}"; do
  case $kind in
    asan)
      dir=${ETMEM_ASAN_BUILD_DIR:-build-asan}
      configure_and_build "$dir" "address,undefined" etmemd etmem etmem-unit-tests \
        etmemd-unit-tests etmem-bus-tests etmem-bus-harness-tests
      ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:abort_on_error=0 \
        UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        ctest --test-dir "$dir" --output-on-failure -j2 -L 'unit|bus'
      ;;
    tsan)
      dir=${ETMEM_TSAN_BUILD_DIR:-build-tsan}
      configure_and_build "$dir" thread etmem-unit-tests etmemd-unit-tests
      # setarch -R: gcc 12's ThreadSanitizer aborts now and then, silently, when address-space
      # randomisation (28 bits here) puts a mapping where it expects its shadow; without
      # randomisation its layout always fits. Races are still reported and fail the run.
      TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
        setarch -R ctest --test-dir "$dir" --output-on-failure -j2 -L unit
      ;;
    *)
      echo "sanitize.sh: unknown kind '$kind' (asan or tsan)" >&2
      exit 2
      ;;
  esac
done
