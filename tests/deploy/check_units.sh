#!/usr/bin/env bash
# SPDX-License-Identifier: MulanPSL-2.0
# systemd-analyze verify of every configured unit must print nothing at all.
# Usage: check_units.sh UNIT_BUILD_DIR ETMEMD_BINARY ETMEM_BINARY
# The configured units name the installed etmemd and etmem (e.g. /usr/local/sbin/etmemd),
# which need not exist on a build host; verify checks that ExecStart= and ExecReload= are
# executable, so each unit is verified as a copy pointing at the freshly built binaries.
set -euo pipefail
unit_dir=$1 etmemd=$2 etmem=$3
[[ -x $etmemd ]] || { echo "etmemd binary $etmemd is missing: build it first" >&2; exit 1; }
[[ -x $etmem ]] || { echo "etmem binary $etmem is missing: build it first" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

units=("$unit_dir"/*.service)
((${#units[@]} >= 2)) || { echo "expected etmemd.service and etmemd@.service in $unit_dir" >&2; exit 1; }
to_verify=()
for unit in "${units[@]}"; do
    name=$(basename "$unit")
    grep -q '^ExecStart=/.*/etmemd\b' "$unit" || { echo "$name: no ExecStart= running etmemd" >&2; exit 1; }
    grep -q '^ExecReload=/.*/etmem reload\b' "$unit" || { echo "$name: no ExecReload= running etmem reload" >&2; exit 1; }
    sed -E -e "s#^ExecStart=[^ ]*/etmemd#ExecStart=$etmemd#" \
        -e "s#^ExecReload=[^ ]*/etmem #ExecReload=$etmem #" "$unit" >"$work/$name"
    if [[ $name == *@.service ]]; then
        # A template is loaded through an instance; a name with '-' exercises %I unescaping.
        cp "$work/$name" "$work/${name%@.service}@test\\x2dinstance.service"
        to_verify+=("$work/${name%@.service}@test\\x2dinstance.service")
    fi
    to_verify+=("$work/$name")
done

status=0
for unit in "${to_verify[@]}"; do
    out=$(cd "$work" && systemd-analyze verify --man=no "$unit" 2>&1) || status=1
    if [[ -n $out ]]; then
        echo "FAIL $(basename "$unit"):"; echo "$out"; status=1
    else
        echo "ok   $(basename "$unit")"
    fi
done

# The D-Bus activation file must start the unit that owns the same name, with the same binary.
activation=$unit_dir/org.openeuler.Etmem.dbus-service
value() { sed -n "s/^$1=//p" "$2"; }
bus_name=$(value BusName "$unit_dir/etmemd.service")
check() { if [[ $2 == "$3" ]]; then echo "ok   $1"; else echo "FAIL $1: '$2' != '$3'"; status=1; fi; }
check "activation [D-BUS Service] section" "$(head -n 20 "$activation" | grep -c '^\[D-BUS Service\]$')" 1
check "activation Name= is the unit's BusName=" "$(value Name "$activation")" "$bus_name"
check "activation SystemdService= is etmemd.service" "$(value SystemdService "$activation")" etmemd.service
check "activation Exec= is the unit's ExecStart=" "$(value Exec "$activation")" "$(value ExecStart "$unit_dir/etmemd.service")"
check "activation User=root" "$(value User "$activation")" root
check "unit Alias= names the bus" "$(value Alias "$unit_dir/etmemd.service")" "dbus-$bus_name.service"
exit $status
