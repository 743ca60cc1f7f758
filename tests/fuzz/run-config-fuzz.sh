#!/bin/bash
# SPDX-License-Identifier: MulanPSL-2.0
# Builds the config fuzzer with clang++ (the main build uses g++) and runs it for a bounded
# time over the corpus kept in the repository. New inputs go to a scratch directory, never
# into the source tree. Fails when libFuzzer finds a crash, a leak or a timeout.
#
# usage: run-config-fuzz.sh SOURCE_DIR WORK_DIR      env: ETMEM_FUZZ_SECONDS (default 60)
set -euo pipefail

source_dir=$(realpath "$1")
work_dir=$2
seconds=${ETMEM_FUZZ_SECONDS:-60}
cxx=${ETMEM_FUZZ_CXX:-clang++}
fuzz_dir=$source_dir/tests/fuzz
fuzzer=$work_dir/config-fuzzer

mkdir -p "$work_dir"
# The whole engine: the config readers learn each engine's keys from the engine registry,
# whose rows also make the engines.
mapfile -t sources < <(find "$source_dir/engine/src" -name '*.cpp' | sort)
sources+=("$fuzz_dir/config_fuzz.cpp")

needs_build() {
    [[ ! -x $fuzzer ]] && return 0
    local file
    while IFS= read -r file; do
        [[ $file -nt $fuzzer ]] && return 0
    done < <(find "$source_dir/engine" "$source_dir/contract/include" "$fuzz_dir" \
                  -name '*.[ch]pp')
    return 1
}

if needs_build; then
    echo "building $fuzzer with $cxx"
    # shellcheck disable=SC2046  # pkg-config prints several flags on purpose
    "$cxx" -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
        -I"$source_dir/engine/include" -I"$source_dir/engine/src" \
        -I"$source_dir/contract/include" \
        "${sources[@]}" $(pkg-config --cflags --libs yaml-cpp fmt) -pthread -o "$fuzzer.tmp"
    mv "$fuzzer.tmp" "$fuzzer"
fi

# A fresh scratch corpus per run: libFuzzer writes new inputs into the first directory only.
scratch=$(mktemp -d "$work_dir/corpus.XXXXXX")
artifacts=$work_dir/artifacts
mkdir -p "$artifacts"
trap 'rm -rf "$scratch"' EXIT

echo "fuzzing parseConfig for $seconds s (corpus $fuzz_dir/corpus, artifacts in $artifacts)"
status=0
"$fuzzer" -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
    -dict="$fuzz_dir/config.dict" -artifact_prefix="$artifacts/" -print_final_stats=1 \
    "$scratch" "$fuzz_dir/corpus" >"$work_dir/fuzz.log" 2>&1 || status=$?

grep -E '^(Done [0-9]+ runs|stat::number_of_executed_units|INFO: -max_total_time)' \
    "$work_dir/fuzz.log" || true
if [[ $status -ne 0 ]]; then
    echo "libFuzzer failed (exit $status); the end of its log ($work_dir/fuzz.log):"
    tail -n 60 "$work_dir/fuzz.log"
    ls -l "$artifacts"
    exit 1
fi
echo "no crash found; new inputs this run: $(find "$scratch" -type f | wc -l)"
