#!/usr/bin/env bash
# SPDX-License-Identifier: MulanPSL-2.0
# Runs as root inside a throw-away VM booted with systemd (tests/vm runner): the Debian
# package's life cycle with apt and dpkg under the real systemd, dbus-daemon and polkitd.
# install (enabled and started as postinst says, D-Bus activation, polkit action, conffile,
# manual pages, completion, the metrics example under systemd); upgrade to a newer build
# with projects running (they survive, etmemd restarts exactly once); remove (the service
# stops, projects' state is kept); purge (state removed, and the file system is as before
# the install except for what dpkg, apt and systemd write themselves).
# Prints one "ok"/"FAIL" line per proof; exits 1 if any failed.
# Usage: package-lifecycle.sh OLD_DIR NEW_DIR (each holding one etmem_*.deb)
set -uo pipefail
old_deb=$(realpath "$1"/etmem_*.deb) new_deb=$(realpath "$2"/etmem_*.deb)
failures=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; failures=$((failures + 1)); }
expect() { # expect DESCRIPTION COMMAND...
    local description=$1; shift
    if "$@"; then ok "$description"; else bad "$description"; fi
}
prop() { systemctl show -p "$2" --value "$1"; }
wait_until() { # wait_until SECONDS COMMAND...
    local deadline=$((SECONDS + $1)); shift
    until "$@"; do ((SECONDS < deadline)) || return 1; sleep 0.2; done
}
# name:state of every project, sorted.
project_states() {
    etmem project show --json | tr -d ' \n' | grep -o '"name":"[^"]*","state":"[^"]*"' | sort
}
cycles_of() { etmem project show -n "$1" --json | sed -n 's/^    "cycles": \([0-9]*\),/\1/p'; }
has_cycles() { [[ $(cycles_of "$1") -ge $2 ]]; }
# Jobs that started etmemd.service since a time (systemd's "Started" message per start).
starts_since() {
    journalctl --no-pager -o cat --since "@$1" UNIT=etmemd.service \
        MESSAGE_ID=39f53479d3a045ac8e11786248231fbf | grep -c . || true
}
apt_get() { DEBIAN_FRONTEND=noninteractive apt-get -y -q -o Dpkg::Use-Pty=0 "$@" >>/tmp/apt.log 2>&1; }

# What a package or its scripts could leave, as type/mode/owner/size/mtime per path: all of
# /etc, /var, /run, /opt, /srv and /usr/local, and under /usr the entries of every directory
# on the way to a file of the package (walking all of /usr over 9p under emulation takes
# many minutes). Pruned: what dpkg, apt, the journal and systemd write for themselves,
# caches and logs, the test's scratch files. (PackageKit's apt hook records every apt run.)
package_dirs() {  # every /usr directory that holds, or leads to, a file of either package
    { dpkg-deb -c "$old_deb"; dpkg-deb -c "$new_deb"; } | awk '$1 !~ /^d/ {print substr($6, 2)}' |
        while read -r path; do
            while path=${path%/*}; [[ $path == /usr* ]]; do echo "$path"; done
        done | sort -u
}
snapshot() {
    {
        find /etc /var /run /opt /srv /usr/local -xdev \
            \( -path /var/lib/dpkg -o -path /var/lib/apt -o -path /var/cache -o -path /var/log \
            -o -path /var/tmp -o -path /run/systemd -o -path /run/udev -o -path /run/user \
            -o -path /run/log -o -path /run/dbus -o -path /run/lock -o -path /var/lib/systemd/timers \
            -o -path /var/lib/systemd/catalog -o -path /var/lib/systemd/random-seed \
            -o -path /var/lib/polkit-1 -o -path /var/lib/PackageKit -o -path '/run/etmem-vm-test.*' \) -prune -o -print0
        # shellcheck disable=SC2046 # the directories are paths without spaces
        find $(package_dirs) -xdev -mindepth 1 -maxdepth 1 -print0 2>/dev/null
    } | xargs -0 stat -c '%n %F %a %U %s %Y %N' 2>/dev/null |
        awk '$2 == "directory" { print $1, "d", $3, $4; next } { print }' | sort -u
}
step_start=$SECONDS
step() { echo "---- $* (at $((SECONDS - step_start)) s)"; }

echo "guest: $(uname -r), systemd $(systemctl --version | head -n1 | cut -d' ' -f2), system ${ETMEM_VM_SYSTEM_STATE:-?}"
echo "packages: $(basename "$old_deb") -> $(basename "$new_deb")"
if dpkg-query -W etmem >/dev/null 2>&1; then
    echo "FAIL the guest's root already has a package etmem: $(dpkg-query -W etmem)"; exit 1
fi
# The host is a Docker image whose policy-rc.d (exit 101) forbids maintainer scripts to
# start services (deb-systemd-invoke asks it). A real server has none: drop it in the guest.
rm -f /usr/sbin/policy-rc.d
# Rebuilding man-db's index in the trigger takes minutes under emulation; Debian's switch.
echo 'man-db man-db/auto-update boolean false' | debconf-set-selections
step "snapshot before the install"
before_install=$(mktemp /run/etmem-vm-test.XXXXXX)
snapshot >"$before_install"
echo "     $(wc -l <"$before_install") paths"

step install
# --- install -------------------------------------------------------------------------------
t0=$(date +%s)
# The guest has no network: every dependency must already be installed.
if apt_get install "$old_deb"; then
    ok "apt installs $(basename "$old_deb") (its dependencies from the system)"
else
    bad "apt install $(basename "$old_deb"):"; tail -30 /tmp/apt.log; exit 1
fi
expect "dpkg: etmem $(dpkg-query -W -f='${Version}' etmem) is installed" \
    test "$(dpkg-query -W -f='${Status}' etmem)" = "install ok installed"
expect "postinst enabled etmemd.service ($(systemctl is-enabled etmemd))" \
    test "$(systemctl is-enabled etmemd)" = enabled
expect "... through deb-systemd-helper (its state records the unit)" \
    test -e /var/lib/systemd/deb-systemd-helper-enabled/etmemd.service.dsh-also
expect "... multi-user.target wants it" test -L /etc/systemd/system/multi-user.target.wants/etmemd.service
expect "... and the D-Bus alias dbus-org.openeuler.Etmem.service" \
    test -L /etc/systemd/system/dbus-org.openeuler.Etmem.service
expect "postinst started etmemd ($(systemctl is-active etmemd))" wait_until 30 \
    test "$(systemctl is-active etmemd)" = active
expect "polkit knows the action org.openeuler.etmem.manage" \
    bash -c 'pkaction --action-id org.openeuler.etmem.manage --verbose | grep -q "implicit active: *auth_admin_keep"'
expect "conffile: /etc/etmem/example_conf.yaml" \
    bash -c "dpkg-query -W -f='\${Conffiles}' etmem | grep -q ' /etc/etmem/example_conf.yaml '"
expect "man finds etmem(8), etmemd(8), etmem.conf(5)" \
    bash -c '{ man -w etmem && man -w 8 etmemd && man -w 5 etmem.conf; } >/dev/null'
expect "etmem --version matches the package ($(etmem --version))" \
    bash -c "[[ '$(dpkg-query -W -f='${Version}' etmem)' == \"\$(etmem --version | cut -d' ' -f2)-\"* ]]"
expect "bash completion loads from bash-completion's directory" bash -c \
    'source /usr/share/bash-completion/bash_completion && _completion_loader etmem; complete -p etmem | grep -q _etmem'

# D-Bus activation: stopped, the first call starts it again through systemd.
systemctl stop etmemd
expect "etmemd stopped" test "$(systemctl is-active etmemd)" != active
out=$(etmem project show 2>&1)
expect "D-Bus activation: 'etmem project show' starts etmemd.service ($out)" \
    test "$(systemctl is-active etmemd)" = active

# Projects: one running against a target, one stopped.
bash -c 'exec -a etmem-pkg-target sleep 100000' &
target=$!
printf 'options:\n  loop: 1\n  interval: 1\n  sleep: 1\n  policies:\n    type: pid\n    value: %s\n    engine: slide\n    param:\n      T: 1\n' \
    "$target" >/tmp/p.yaml
expect "project add web" etmem project add -n web -f /tmp/p.yaml
expect "project add idle" etmem project add -n idle -f /tmp/p.yaml
expect "migrate start web" etmem migrate start -n web
expect "web runs cycles" wait_until 60 has_cycles web 1

step "metrics example"
# The metrics example, run by systemd as shipped (documentation: copied by the administrator).
examples=/usr/share/doc/etmem/examples/metrics
collector=/var/lib/prometheus/node-exporter
collector_made=
[[ -d $collector ]] || { mkdir -p "$collector" && collector_made=1; }
cp "$examples/etmem-metrics.service" "$examples/etmem-metrics.timer" /etc/systemd/system/
systemctl daemon-reload
systemctl start etmem-metrics.service
expect "metrics example: etmem-metrics.service ran (Result=$(prop etmem-metrics Result))" \
    test "$(prop etmem-metrics Result)" = success
expect "metrics example: wrote $collector/etmem.prom with web's counters" \
    grep -qE '^etmem_project_cycles_total\{project="web"\} [1-9]' "$collector/etmem.prom"
expect "metrics example: no temporary file left" test ! -e "$collector/etmem.prom.tmp"
expect "metrics example: the timer starts" systemctl start etmem-metrics.timer
systemctl stop etmem-metrics.timer
# Starting the timer may have started the service once more: let it finish first.
wait_until 60 bash -c '[[ $(systemctl is-active etmem-metrics.service) != activ* ]]'
rm -f /etc/systemd/system/etmem-metrics.service /etc/systemd/system/etmem-metrics.timer "$collector/etmem.prom"
[[ -n $collector_made ]] && rmdir "$collector" /var/lib/prometheus 2>/dev/null
systemctl daemon-reload

step upgrade
# --- upgrade with projects running -----------------------------------------------------------
echo "# edited by the administrator" >>/etc/etmem/example_conf.yaml
states=$(project_states)
pid_before=$(prop etmemd MainPID) invocation_before=$(prop etmemd InvocationID)
cycles_before=$(cycles_of web)
t1=$(date +%s)
sleep 1
if apt_get install "$new_deb"; then
    ok "apt upgrades to $(basename "$new_deb")"
else
    bad "apt upgrade to $(basename "$new_deb"):"; tail -30 /tmp/apt.log; exit 1
fi
expect "dpkg: etmem $(dpkg-query -W -f='${Version}' etmem) is installed" \
    test "$(dpkg-query -W -f='${Version}' etmem)" = "$(dpkg-deb -f "$new_deb" Version)"
expect "etmemd is active after the upgrade" wait_until 30 test "$(systemctl is-active etmemd)" = active
starts=$(starts_since "$t1")
expect "etmemd restarted exactly once (starts: $starts; pid $pid_before -> $(prop etmemd MainPID))" \
    test "$starts" = 1 -a "$(prop etmemd MainPID)" != "$pid_before" -a "$(prop etmemd InvocationID)" != "$invocation_before"
expect "projects survive with their states ($states)" test "$(project_states)" = "$states"
expect "web runs cycles again on the new binary (had $cycles_before)" wait_until 60 has_cycles web 1
expect "the administrator's edit of the conffile is kept" grep -q 'edited by the administrator' /etc/etmem/example_conf.yaml
expect "still enabled after the upgrade" test "$(systemctl is-enabled etmemd)" = enabled

step remove
# --- remove ---------------------------------------------------------------------------------------
expect "apt removes etmem" apt_get remove etmem
expect "prerm stopped etmemd cleanly ($(systemctl is-active etmemd))" test "$(systemctl is-active etmemd)" = inactive
expect "no etmemd process left" bash -c '! pgrep -x etmemd >/dev/null'
expect "projects' state kept in /var/lib/etmem ($(ls /var/lib/etmem | tr '\n' ' '))" \
    test "$(ls /var/lib/etmem | wc -l)" -ge 2
expect "dpkg keeps the conffiles (status: $(dpkg-query -W -f='${Status}' etmem))" \
    test "$(dpkg-query -W -f='${Status}' etmem)" = "deinstall ok config-files"
expect "/etc/etmem/example_conf.yaml kept" test -f /etc/etmem/example_conf.yaml
expect "no D-Bus activation of a removed etmemd" bash -c '! busctl status org.openeuler.Etmem >/dev/null 2>&1'
expect "the unit is masked until purge or reinstall" test "$(systemctl is-enabled etmemd 2>&1)" = masked

step purge
# --- purge -----------------------------------------------------------------------------------
expect "apt purges etmem" apt_get purge etmem
expect "dpkg forgets etmem" bash -c '! dpkg-query -W -f="\${Status}" etmem 2>/dev/null | grep -q .'
expect "projects' state removed" test ! -e /var/lib/etmem
expect "/etc/etmem removed" test ! -e /etc/etmem
kill "$target" 2>/dev/null
wait "$target" 2>/dev/null
after_purge=$(mktemp /run/etmem-vm-test.XXXXXX)
snapshot >"$after_purge"
# A directory's mtime changes when an entry comes and goes; its listing line has no mtime.
changes=$(diff "$before_install" "$after_purge" | grep '^[<>]')
if [[ -z $changes ]]; then
    ok "purge leaves the file system as before the install ($(wc -l <"$after_purge") paths compared)"
else
    bad "purge left changes (< before install, > after purge):"
    sed 's/^/     /' <<<"$changes" | head -50
fi
echo "     apt/dpkg log: $(grep -c . /tmp/apt.log) lines; took $(($(date +%s) - t0)) s"
((failures == 0)) || tail -40 /tmp/apt.log
echo "$failures failure(s)"
((failures == 0))
