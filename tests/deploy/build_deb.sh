#!/usr/bin/env bash
# SPDX-License-Identifier: MulanPSL-2.0
# Builds the Debian package of a build tree into OUT_DIR and prints its path.
# Usage: build_deb.sh BUILD_DIR OUT_DIR [DEBIAN_REVISION]
# A revision other than the configured one gives a newer build of the same tree (the
# upgrade test installs 1 then 2).
set -euo pipefail
build=$(realpath "$1") out=$2 revision=${3:-}
mkdir -p "$out"
out=$(realpath "$out")
# cpack normally runs the "preinstall" target first, i.e. builds every target of the tree.
# ctest runs after the build, so package exactly what is built instead: the build tree's
# install script, run by cpack for prefix /usr (a missing file fails the install clearly),
# stripped as `cmake --install --strip` does.
cat >"$out/install-build-tree.cmake" <<CMAKE
set(CMAKE_INSTALL_PREFIX /usr)
set(CMAKE_INSTALL_DO_STRIP 1)
${revision:+set(ETMEM_DEB_REVISION $revision)}
include("$build/cmake_install.cmake")
CMAKE
args=(-D CPACK_INSTALL_CMAKE_PROJECTS= -D CPACK_INSTALL_SCRIPTS="$out/install-build-tree.cmake")
# The revision of the package and of its changelog's latest entry (packaging/CMakeLists.txt).
[[ -n $revision ]] && args+=(-D CPACK_DEBIAN_PACKAGE_RELEASE="$revision")
(cd "$out" && cpack -G DEB --config "$build/CPackConfig.cmake" -B "$out" "${args[@]}" \
    >"$out/cpack.log" 2>&1) || { cat "$out/cpack.log" >&2; exit 1; }
rm -rf "$out/_CPack_Packages" "$out/install-build-tree.cmake"
ls -t "$out"/etmem_*.deb | head -n1
