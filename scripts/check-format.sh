#!/usr/bin/env bash
# Fails when a C++ source is not formatted as .clang-format says (clang-format 14).
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files '*.cpp' '*.hpp' '*.h' 2>/dev/null || find . -name '*.[ch]pp')
if ((${#files[@]})); then
  clang-format --dry-run -Werror "${files[@]}"
fi
echo "format: ${#files[@]} files checked"
