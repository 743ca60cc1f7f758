#!/usr/bin/env bash
# SPDX-License-Identifier: MulanPSL-2.0
# systemd-analyze security of every unit, offline, under a threshold (0..100 scale; the
# printed exposure is that divided by 10). Prints each unit's exposure level.
# Usage: check_security.sh UNIT_BUILD_DIR THRESHOLD
set -euo pipefail
unit_dir=$1 threshold=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
for unit in "$unit_dir"/*.service; do
    name=$(basename "$unit")
    [[ $name == *@.service ]] && name=${name%@.service}@test.service
    cp "$unit" "$work/$name"
    # --offline: judge the unit file itself, not a running service of the host's systemd.
    if out=$(cd "$work" && systemd-analyze security --offline=true --threshold="$threshold" "./$name" 2>&1); then
        echo "ok   $(grep 'Overall exposure level' <<<"$out")"
    else
        echo "$out" | grep -E '✗|Overall' ; echo "FAIL $name: exposure above threshold $threshold/100"; status=1
    fi
done
exit $status
