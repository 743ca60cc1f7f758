#!/usr/bin/env bash
# SPDX-License-Identifier: MulanPSL-2.0
# The polkit policy and the bus policy validated against their DTDs.
# Usage: check_xml.sh SOURCE_DIR
set -euo pipefail
src=$1 here=$(dirname "$(readlink -f "$0")")
polkit_dtd=/usr/share/polkit-1/policyconfig-1.dtd   # shipped by polkitd
bus_dtd=$here/busconfig.dtd                         # libdbus-1-dev's, completed (see file)
for dtd in "$polkit_dtd" /usr/share/xml/dbus-1/busconfig.dtd; do
    [[ -r $dtd ]] || { echo "$dtd missing: run scripts/install-deps.sh" >&2; exit 1; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

xmllint --noout --dtdvalid "$polkit_dtd" "$src/polkit/org.openeuler.etmem.policy"
xmllint --noout --dtdvalid "$bus_dtd" "$src/dbus-interfaces/org.openeuler.Etmem.conf"
# Keep the completed DTD honest: the distribution's own bus policies must pass it...
xmllint --noout --dtdvalid "$bus_dtd" /usr/share/dbus-1/system.conf /usr/share/dbus-1/system.d/*.conf
# ...and it must still catch a misspelt attribute, which dbus-daemon would reject.
sed 's/send_destination=/send_destinaton=/' "$src/dbus-interfaces/org.openeuler.Etmem.conf" >"$work/typo.conf"
if xmllint --noout --dtdvalid "$bus_dtd" "$work/typo.conf" 2>/dev/null; then
    echo "the bus DTD accepted a misspelt attribute" >&2; exit 1
fi
# The policy's action is the one etmemd checks.
grep -q 'id="org.openeuler.etmem.manage"' "$src/polkit/org.openeuler.etmem.policy"
grep -q 'org.openeuler.etmem.manage' "$src/service/polkit_authorizer.hpp"
echo "polkit policy and bus policy are valid"
