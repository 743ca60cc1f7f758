#!/usr/bin/env bash
# SPDX-License-Identifier: MulanPSL-2.0
# Builds the Debian package and checks it as an administrator (and lintian) would: lintian
# clean of errors and warnings (overrides carry their reasons), the same files as
# `cmake --install --prefix /usr`, the example config a conffile in /etc/etmem, copyright
# (DEP-5) and changelog, compressed manual pages, Depends as dpkg-shlibdeps computes them,
# the installed units naming the installed binary, valid maintainer scripts.
# Usage: check_deb.sh BUILD_DIR VERSION
set -euo pipefail
build=$(realpath "$1") version=$2
here=$(dirname "$(realpath "$0")")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
ok() { echo "ok   $*"; }
fail() { echo "FAIL $*"; status=1; }

deb=$("$here/build_deb.sh" "$build" "$work/out")
echo "built $(basename "$deb")"
info=$(dpkg-deb -I "$deb")
package_version=$(dpkg-deb -f "$deb" Version)
[[ $package_version == "$version"-* ]] && ok "Version $package_version" || fail "Version $package_version is not $version-REVISION"

# lintian, as Debian's archive runs it (--pedantic shown, not failed on).
if lintian --pedantic --display-info --fail-on error,warning "$deb" >"$work/lintian.log" 2>&1; then
    ok "lintian: no error, no warning"
else
    fail "lintian:"
fi
sed 's/^/     /' "$work/lintian.log"

# The package and `cmake --install --prefix /usr` place the same files.
DESTDIR=$work/cmake-root cmake --install "$build" --prefix /usr >/dev/null
rm -f "$build/install_manifest.txt"  # written by every install; not part of the build
(cd "$work/cmake-root" && find . ! -type d | sort) >"$work/cmake.list"
dpkg-deb -c "$deb" | awk '$1 !~ /^d/ {print $6}' | sort >"$work/deb.list"
if diff -u "$work/cmake.list" "$work/deb.list" >"$work/files.diff"; then
    ok "package and cmake --install --prefix /usr place the same $(wc -l <"$work/deb.list") files"
else
    fail "file lists differ (- cmake --install, + package):"; cat "$work/files.diff"
fi
contents=$(cat "$work/deb.list")
expect_file() { grep -qx "./$1" <<<"$contents" && ok "ships $1" || fail "missing $1"; }
for file in usr/sbin/etmemd usr/bin/etmem usr/lib/systemd/system/etmemd.service \
    usr/lib/systemd/system/etmemd@.service usr/share/dbus-1/system.d/org.openeuler.Etmem.conf \
    usr/share/dbus-1/system-services/org.openeuler.Etmem.service \
    usr/share/polkit-1/actions/org.openeuler.etmem.policy \
    usr/share/doc/etmem/examples/polkit/50-etmem.rules etc/etmem/example_conf.yaml \
    usr/share/doc/etmem/copyright usr/share/doc/etmem/changelog.Debian.gz \
    usr/share/man/man8/etmem.8.gz usr/share/man/man8/etmemd.8.gz \
    usr/share/man/man5/etmem.conf.5.gz usr/share/bash-completion/completions/etmem \
    usr/share/bash-completion/completions/etmemd \
    usr/share/doc/etmem/examples/metrics/etmem-metrics.service \
    usr/share/doc/etmem/examples/metrics/etmem-metrics.timer; do
    expect_file "$file"
done
# The example rule is documentation: nothing may land where polkitd reads rules.
grep -q 'polkit-1/rules.d' <<<"$contents" && fail "a polkit rule is enabled" || ok "no polkit rule enabled"
grep -q '^\./usr/local' <<<"$contents" && fail "files in /usr/local" || ok "nothing in /usr/local"
grep -E '^\./usr/share/man/.*[0-9]$' <<<"$contents" && fail "uncompressed manual pages" || ok "manual pages gzipped"

dpkg-deb -x "$deb" "$work/root"
dpkg-deb -e "$deb" "$work/control"
[[ $(cat "$work/control/conffiles") == /etc/etmem/example_conf.yaml ]] &&
    ok "conffiles: /etc/etmem/example_conf.yaml" || fail "conffiles: $(cat "$work/control/conffiles")"
head -n1 "$work/root/usr/share/doc/etmem/copyright" |
    grep -qx 'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/' &&
    ok "copyright is machine-readable (DEP-5)" || fail "copyright lacks the DEP-5 Format line"
changelog_version=$(zcat "$work/root/usr/share/doc/etmem/changelog.Debian.gz" | sed -n '1s/^etmem (\(.*\)).*/\1/p')
[[ $changelog_version == "$package_version" ]] && ok "changelog's latest entry is $package_version" ||
    fail "changelog says '$changelog_version', package $package_version"

# Installed copies name the installed binary, whatever prefix the build was configured with.
grep -qx 'ExecStart=/usr/sbin/etmemd' "$work/root/usr/lib/systemd/system/etmemd.service" &&
    ok "etmemd.service runs /usr/sbin/etmemd" || fail "ExecStart"
grep -qx 'ExecStart=/usr/sbin/etmemd -s %I' "$work/root/usr/lib/systemd/system/etmemd@.service" &&
    ok "etmemd@.service runs /usr/sbin/etmemd -s %I" || fail "template ExecStart"
grep -qx 'Exec=/usr/sbin/etmemd' "$work/root/usr/share/dbus-1/system-services/org.openeuler.Etmem.service" &&
    ok "activation file runs /usr/sbin/etmemd" || fail "activation Exec"

# The metrics example is a valid service and timer as shipped.
if verify=$(cd "$work/root/usr/share/doc/etmem/examples/metrics" &&
    systemd-analyze verify --man=no ./etmem-metrics.service ./etmem-metrics.timer 2>&1) && [[ -z $verify ]]; then
    ok "metrics example units pass systemd-analyze verify"
else
    fail "metrics example units: $verify"
fi

# Depends: the shared libraries etmemd and etmem link directly (NEEDED), each from its
# package with the version dpkg-shlibdeps derives, plus the bus and polkitd.
depends=$(dpkg-deb -f "$deb" Depends)
for dep in dbus polkitd; do
    [[ ", $depends," == *", $dep"[\ ,]* ]] && ok "Depends: $dep" || fail "Depends lacks $dep"
done
for bin in usr/sbin/etmemd usr/bin/etmem; do
    for soname in $(readelf -d "$work/root/$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
        # ldd names most libraries "so => path", the dynamic loader by its path alone.
        lib=$(ldd "$work/root/$bin" | awk -v so="$soname" '$1 == so {print $3} $1 ~ ("/" so "$") {print $1}')
        pkg=$(dpkg -S "$(readlink -f "$lib")" 2>/dev/null | head -n1 | cut -d: -f1) || pkg=
        [[ -z $pkg ]] && pkg=$(dpkg -S "$lib" 2>/dev/null | head -n1 | cut -d: -f1 || true)
        [[ ", $depends" == *", $pkg (>= "* ]] && ok "$bin: $soname from $pkg, versioned" ||
            fail "$bin: $soname comes from '$pkg', not a versioned Depends"
    done
done
long=$(dpkg-deb -f "$deb" Description | awk 'length > 80')
[[ -z $long ]] && ok "Description lines within 80 columns" || fail "Description lines over 80: $long"

for script in postinst prerm postrm; do
    [[ $(stat -c %a "$work/control/$script") == 755 ]] && sh -n "$work/control/$script" &&
        ok "$script is an executable, valid sh script" || fail "$script"
done
grep -q 'daemon-reload' "$work/control/postinst" && ok "postinst reloads systemd" || fail "postinst daemon-reload"
grep -q 'ReloadConfig' "$work/control/postinst" && ok "postinst reloads D-Bus" || fail "postinst dbus reload"
grep -q 'deb-systemd-helper .*enable' "$work/control/postinst" && ok "postinst enables via deb-systemd-helper" || fail "postinst enable"
grep -q 'daemon-reload' "$work/control/postrm" && ok "postrm reloads systemd" || fail "postrm daemon-reload"
exit $status
