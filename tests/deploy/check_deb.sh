#!/usr/bin/env bash
# Builds the Debian package with cpack and checks what it installs and what it runs.
# Usage: check_deb.sh BUILD_DIR VERSION
set -euo pipefail
build=$1 version=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# cpack normally runs the "preinstall" target first, i.e. builds every target of the tree.
# ctest runs after the build, so package exactly what is built instead: the build tree's
# install script, run by cpack for prefix /usr (a missing binary fails the install clearly).
cat >"$work/install-build-tree.cmake" <<CMAKE
set(CMAKE_INSTALL_PREFIX /usr)
include("$build/cmake_install.cmake")
CMAKE
(cd "$work" && cpack -G DEB --config "$build/CPackConfig.cmake" -B "$work" \
    -D CPACK_INSTALL_CMAKE_PROJECTS= -D CPACK_INSTALL_SCRIPTS="$work/install-build-tree.cmake" \
    >"$work/cpack.log" 2>&1) || { cat "$work/cpack.log"; exit 1; }
deb=$(ls "$work"/etmem_"$version"*_*.deb)
echo "built $(basename "$deb")"

status=0
contents=$(dpkg-deb -c "$deb" | awk '{print $6}')
expect_file() {
    if grep -qx "./$1" <<<"$contents"; then echo "ok   $1"; else echo "FAIL missing $1"; status=1; fi
}
expect_file usr/sbin/etmemd
expect_file usr/bin/etmem
expect_file usr/lib/systemd/system/etmemd.service
expect_file usr/lib/systemd/system/etmemd@.service
expect_file usr/share/dbus-1/system.d/org.openeuler.Etmem.conf
expect_file usr/share/dbus-1/system-services/org.openeuler.Etmem.service
expect_file usr/share/polkit-1/actions/org.openeuler.etmem.policy
expect_file usr/share/doc/etmem/examples/polkit/50-etmem.rules
# The example rule is documentation: nothing may land where polkitd reads rules.
if grep -q 'polkit-1/rules.d' <<<"$contents"; then echo "FAIL a polkit rule is enabled"; status=1; fi

# Installed copies name the installed binary, whatever prefix the build was configured with.
dpkg-deb -x "$deb" "$work/root"
grep -qx 'ExecStart=/usr/sbin/etmemd' "$work/root/usr/lib/systemd/system/etmemd.service" &&
    echo "ok   etmemd.service runs /usr/sbin/etmemd" || { echo "FAIL ExecStart"; status=1; }
grep -qx 'ExecStart=/usr/sbin/etmemd -s %I' "$work/root/usr/lib/systemd/system/etmemd@.service" &&
    echo "ok   etmemd@.service runs /usr/sbin/etmemd -s %I" || { echo "FAIL template ExecStart"; status=1; }
grep -qx 'Exec=/usr/sbin/etmemd' "$work/root/usr/share/dbus-1/system-services/org.openeuler.Etmem.service" &&
    echo "ok   activation file runs /usr/sbin/etmemd" || { echo "FAIL activation Exec"; status=1; }

info=$(dpkg-deb -I "$deb")
for dep in libsdbus-c++1 libsystemd0 libyaml-cpp0.7 libfmt9 dbus polkitd; do
    if grep -E '^ Depends:' <<<"$info" | grep -qw -- "$dep"; then echo "ok   Depends: $dep"; else echo "FAIL Depends lacks $dep"; status=1; fi
done
# Every shared library etmemd and etmem link directly (NEEDED) must come from a declared
# dependency (the rest follow from those packages' own dependencies).
needed=$(for bin in "$work/root/usr/sbin/etmemd" "$work/root/usr/bin/etmem"; do
    for soname in $(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
        ldd "$bin" | awk -v so="$soname" '$1 == so {print $3}'
    done
done | sort -u)
for lib in $needed; do
    pkg=$(dpkg -S "$(readlink -f "$lib")" 2>/dev/null | head -n1 | cut -d: -f1) || pkg=
    [[ -z $pkg ]] && pkg=$(dpkg -S "$lib" 2>/dev/null | head -n1 | cut -d: -f1) || true
    if grep -E '^ Depends:' <<<"$info" | grep -qw -- "$pkg"; then echo "ok   $(basename "$lib") from $pkg"; else echo "FAIL $(basename "$lib") comes from '$pkg', not in Depends"; status=1; fi
done

dpkg-deb -e "$deb" "$work/control"
grep -q 'daemon-reload' "$work/control/postinst" && echo "ok   postinst reloads systemd" || { echo "FAIL postinst daemon-reload"; status=1; }
grep -q 'reload dbus' "$work/control/postinst" && echo "ok   postinst reloads D-Bus" || { echo "FAIL postinst dbus reload"; status=1; }
grep -q 'daemon-reload' "$work/control/postrm" && echo "ok   postrm reloads systemd" || { echo "FAIL postrm daemon-reload"; status=1; }
for script in postinst prerm postrm; do
    [[ $(stat -c %a "$work/control/$script") == 755 ]] && sh -n "$work/control/$script" &&
        echo "ok   $script is an executable, valid sh script" || { echo "FAIL $script"; status=1; }
done
exit $status
