#!/usr/bin/env bash
# SPDX-License-Identifier: MulanPSL-2.0
# Runs as root in the units-pacing guest under systemd, after units-proofs.sh (which runs it
# last): projects from files in /etc/etmem/projects.d under the real etmemd.service (the
# build tree's binaries in the configured unit), brought in line by `systemctl reload
# etmemd` and by a restart. Prints one "ok"/"FAIL" line per proof and "figure" lines;
# exits 1 if any proof failed.
# Usage: fleet-proofs.sh SOURCE_DIR BUILD_DIR
set -uo pipefail
build=$2
etmem=$build/cli/etmem
dir=/etc/etmem/projects.d
failures=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; failures=$((failures + 1)); }
expect() { # expect DESCRIPTION COMMAND...
    local description=$1; shift
    if "$@"; then ok "$description"; else bad "$description"; fi
}
wait_until() { # wait_until SECONDS COMMAND...
    local deadline=$((SECONDS + $1)); shift
    until "$@"; do ((SECONDS < deadline)) || return 1; sleep 0.5; done
}
property() { # property PROJECT NAME -> the value as busctl prints it, without its type
    busctl get-property org.openeuler.Etmem "/org/openeuler/Etmem/project/$1" \
        org.openeuler.Etmem.Project "$2" 2>/dev/null | sed 's/^[a-z]* //; s/^"//; s/"$//'
}
cycles() { property "$1" Cycles; }
running() { [[ $(property "$1" State) == running ]]; }
projects() { "$etmem" project show --json | sed -n 's/^    "name": "\(.*\)",$/\1/p' | sort | tr '\n' ' '; }
config() { # config INTERVAL [LOOP]
    printf 'options:\n  loop: %s\n  interval: %s\n  sleep: 1\n  policies:\n' "${2:-1}" "$1"
    printf '    - type: unit\n      value: fleet-wl.service\n      engine: slide\n      param:\n        T: 1\n'
}
drop() { printf '%s' "$2" >"$dir/.$1.tmp" && mv "$dir/.$1.tmp" "$dir/$1"; } # as a package would
reload_ms() { # reload_ms: systemctl reload's wall time, ms; its status is the reload's
    local start=$EPOCHREALTIME status
    systemctl reload etmemd; status=$?
    awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f\n", (b - a) * 1000 }' >/run/fleet-ms
    return $status
}

# etmemd.service as installed, but for the binaries: the build tree's etmemd and etmem. The
# bus policy is installed already when units-proofs.sh ran first; alone, this installs it.
systemctl stop etmemd-test.service 2>/dev/null
if [[ ! -e /etc/dbus-1/system.d/org.openeuler.Etmem.conf ]]; then
    install -m 0644 "$1/dbus-interfaces/org.openeuler.Etmem.conf" /etc/dbus-1/system.d/
    systemctl reload dbus.service
fi
# Copied out of the build tree: the unit's PrivateTmp= would hide a tree under /tmp.
install -D -m 0755 "$build/service/etmemd" /usr/local/sbin/etmemd
install -D -m 0755 "$etmem" /usr/local/bin/etmem
sed -e "s#^ExecStart=[^ ]*/etmemd#ExecStart=/usr/local/sbin/etmemd#" \
    -e "s#^ExecReload=[^ ]*/etmem #ExecReload=/usr/local/bin/etmem #" "$build/units/etmemd.service" \
    >/etc/systemd/system/etmemd.service
systemctl daemon-reload
systemd-run --quiet --unit=fleet-wl.service sleep infinity
systemctl start etmemd.service
expect "etmemd.service is up with an empty projects.d (ConfigurationDirectory= made it)" \
    wait_until 30 eval 'systemctl is-active --quiet etmemd.service && [[ -d /etc/etmem && $(projects) == "" ]]'
mkdir -p "$dir"

drop alpha.yaml "$(config 1)"
drop beta.yaml "$(config 1)"
drop gamma.yml "$(config 1)"
expect "systemctl reload succeeds" reload_ms
echo "figure reload adding 3 projects: $(cat /run/fleet-ms) ms"
expect "the three projects appear" test "$(projects)" = "alpha beta gamma "
all_cycling() { local p; for p in alpha beta gamma; do running $p && (($(cycles $p) >= 2)) || return 1; done; }
expect "... run and cycle" wait_until 60 all_cycling
expect "their Source names their file" test "$(property alpha Source)" = "file:$dir/alpha.yaml"

before_alpha=$(cycles alpha) before_beta=$(cycles beta) before_gamma=$(cycles gamma)
drop alpha.yaml "$(config 2)"
expect "a changed file reloads" reload_ms
echo "figure reload with one changed: $(cat /run/fleet-ms) ms"
after_alpha=$(cycles alpha) after_beta=$(cycles beta) after_gamma=$(cycles gamma)
expect "the changed file's project restarts on the new text (interval 2)" \
    eval '[[ $(property alpha Config) == *"interval: 2"* ]] && ((after_alpha < before_alpha))'
expect "the others were not restarted: their cycle counters went on" \
    eval '((after_beta >= before_beta && after_gamma >= before_gamma))'
expect "... and keep counting" wait_until 30 eval '(($(cycles beta) > after_beta && $(cycles gamma) > after_gamma))'
echo "figure cycles before/after the reload: alpha $before_alpha/$after_alpha (restarted), beta $before_beta/$after_beta, gamma $before_gamma/$after_gamma, beta now $(cycles beta)"

drop beta.yaml "$(config 1 0)"
expect "a broken file makes systemctl reload fail" eval '! reload_ms'
expect "... the journal names file, line and key" \
    wait_until 10 journalctl -u etmemd.service --no-pager -o cat -q \
    --grep "refused: $dir/beta.yaml: line 2, column 9: options.loop: "
expect "... the old project runs on" running beta
beta_then=$(cycles beta)
expect "... and keeps cycling" wait_until 30 eval '(($(cycles beta) > beta_then))'
expect "... its LastError says why" eval '[[ $(property beta LastError) == *"$dir/beta.yaml"*options.loop* ]]'
echo "figure etmem reload with a broken file: $("$etmem" reload 2>&1 | grep refused)"

drop beta.yaml "$(config 1)"
rm "$dir/gamma.yml"
expect "a removed file reloads" reload_ms
expect "... its project is gone" test "$(projects)" = "alpha beta "

removal=$(busctl call org.openeuler.Etmem /org/openeuler/Etmem org.openeuler.Etmem.Manager \
    RemoveProject s alpha 2>&1)
expect "busctl cannot delete a file's project, and is told its file" \
    eval '[[ $removal == *"$dir/alpha.yaml"* ]] && [[ $(projects) == "alpha beta " ]]'
config 1 >/run/fleet-delta.yaml
"$etmem" project add -n delta -f /run/fleet-delta.yaml && "$etmem" project start -n delta

systemctl restart etmemd.service
expect "after a restart the same set runs (files and the API's project)" \
    wait_until 60 eval '[[ $(projects) == "alpha beta delta " ]] && running alpha && running beta && running delta'
expect "... from the same sources" \
    eval '[[ $(property alpha Source) == "file:$dir/alpha.yaml" && $(property delta Source) == api ]]'
expect "... the state directory holds only the API's project" \
    eval '[[ $(ls /var/lib/etmem) == *delta* && $(ls /var/lib/etmem) != *alpha* ]]'

systemctl stop etmemd.service fleet-wl.service
echo "figure fleet proofs took $SECONDS s of guest time"
echo "fleet proofs: $failures failed"
((failures == 0))
