#!/usr/bin/env bash
# SPDX-License-Identifier: MulanPSL-2.0
# Fails when a C++ source is not formatted as .clang-format says (clang-format 14), or when a
# source file (C++, CMake, shell, Python, polkit rule, completion, any script with #!) lacks
# its SPDX licence line in its first three lines.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files '*.cpp' '*.hpp' '*.h' 2>/dev/null || find . -name '*.[ch]pp')
if ((${#files[@]})); then
  clang-format --dry-run -Werror "${files[@]}"
fi
echo "format: ${#files[@]} files checked"

spdx='SPDX-License-Identifier: MulanPSL-2.0'
missing=()
checked=0
while IFS= read -r file; do
  case $file in
    tests/data/* | tests/fuzz/corpus/*) continue ;;
    *.cpp | *.hpp | *.h | *.rules | *.sh | *.py | *.cmake | */CMakeLists.txt | CMakeLists.txt | completion/*) ;;
    *) [[ $(head -c2 "$file") == '#!' ]] || continue ;;
  esac
  checked=$((checked + 1))
  head -n3 "$file" | grep -qF "$spdx" || missing+=("$file")
done < <(git ls-files)
if ((${#missing[@]})); then
  printf 'no "%s" in the first lines of:\n' "$spdx" >&2
  printf '  %s\n' "${missing[@]}" >&2
  exit 1
fi
echo "licence: $checked source files carry $spdx"
