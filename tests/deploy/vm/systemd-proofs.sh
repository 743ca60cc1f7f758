#!/usr/bin/env bash
# SPDX-License-Identifier: MulanPSL-2.0
# Runs as root inside a throw-away VM booted with systemd (tests/vm runner): installs etmem
# from the build tree with `cmake --install --prefix /usr`, then proves the deployment under
# the real systemd, dbus-daemon and polkitd. Prints one "ok"/"FAIL" line per proof; exits 1
# if any failed.
# Usage: systemd-proofs.sh BUILD_DIR
set -uo pipefail
build=$1
failures=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; failures=$((failures + 1)); }
expect() { # expect DESCRIPTION COMMAND...
    local description=$1; shift
    if "$@"; then ok "$description"; else bad "$description"; fi
}
contains() { grep -q -- "$2" <<<"$1"; }
now() { date +%s.%N; }
prop() { systemctl show -p "$2" --value "$1"; }
user_run() { runuser -u etmemuser -- "$@"; }
# name:state of every project, sorted: what "nothing changed" compares.
project_states() {
    etmem project show --json | tr -d ' \n' | grep -o '"name":"[^"]*","state":"[^"]*"' | sort
}
wait_until() { # wait_until SECONDS COMMAND...
    local deadline=$((SECONDS + $1)); shift
    until "$@"; do ((SECONDS < deadline)) || return 1; sleep 0.2; done
}
is_active() { [[ $(systemctl is-active etmemd) == active ]]; }

echo "guest: $(uname -r), systemd $(systemctl --version | head -n1 | cut -d' ' -f2), system ${ETMEM_VM_SYSTEM_STATE:-?}"

# --- install, as the Debian package's postinst would leave it -----------------------------
cmake --install "$build" --prefix /usr >/tmp/install.log 2>&1 || { cat /tmp/install.log; exit 1; }
systemctl daemon-reload
systemctl reload dbus.service # new bus policy and activation file
expect "installed unit runs /usr/sbin/etmemd" grep -qx 'ExecStart=/usr/sbin/etmemd' \
    /usr/lib/systemd/system/etmemd.service
expect "systemd loads etmemd.service" test "$(prop etmemd LoadState)" = loaded
systemctl enable etmemd.service >/dev/null 2>&1
expect "enable creates the dbus-org.openeuler.Etmem.service alias" \
    test -L /etc/systemd/system/dbus-org.openeuler.Etmem.service

# A target process for the projects (its name, for the name-typed task).
bash -c 'exec -a etmem-deploy-target sleep 100000' &
target=$!
conf() { # conf FILE INTERVAL
    printf 'options:\n  loop: 1\n  interval: %s\n  sleep: 1\n  policies:\n    type: pid\n    value: %s\n    engine: slide\n    param:\n      T: 1\n' \
        "$2" "$target" >"$1"
    chmod 0644 "$1"
}
conf /tmp/fast.yaml 1
conf /tmp/slow.yaml 1200

# --- D-Bus activation -----------------------------------------------------------------
expect "etmemd is not running before the first call" test "$(systemctl is-active etmemd)" != active
out=$(etmem project show 2>&1)
rc=$?
expect "first 'etmem project show' succeeds through D-Bus activation (exit $rc) $out" test $rc -eq 0
expect "... and systemd started etmemd.service for it" is_active

# --- Type=notify status, capabilities ----------------------------------------------------
status=$(prop etmemd StatusText)
expect "STATUS= summary reaches systemd: '$status'" test -n "$status"
expect "systemctl status shows it" contains "$(systemctl status etmemd --no-pager 2>&1)" "Status: \"$status"
pid=$(prop etmemd MainPID)
capeff=$(awk '/^CapEff/ {print $2}' "/proc/$pid/status")
# CAP_DAC_OVERRIDE(1) CAP_SYS_PTRACE(19) CAP_SYS_ADMIN(21) CAP_SYS_NICE(23)
expect "etmemd holds exactly its four capabilities (CapEff $capeff)" test "$capeff" = 0000000000a80002
expect "watchdog configured (WatchdogUSec=$(prop etmemd WatchdogUSec))" test "$(prop etmemd WatchdogUSec)" = 30s

# --- root: the original CLI flow and busctl --------------------------------------------
expect "root: project add" etmem project add -n demo -f /tmp/fast.yaml
expect "root: migrate start" etmem migrate start -n demo
expect "root: project runs cycles under the hardened unit" wait_until 30 \
    bash -c 'etmem project show --json | tr -d " \n" | grep -q "\"cycles\":[1-9]"'
last_error=$(etmem project show --json | tr -d '\n' | grep -o '"last_error": *"[^"]*"')
expect "root: no permission error from the sandbox ($last_error)" \
    bash -c "! grep -qiE 'permission|not permitted|read-only' <<<'$last_error'"
expect "root: project show lists it running" contains "$(etmem project show)" running
expect "root: migrate stop" etmem migrate stop -n demo
expect "root: busctl AddProject" busctl call org.openeuler.Etmem /org/openeuler/Etmem \
    org.openeuler.Etmem.Manager AddProject ss viabus "$(cat /tmp/fast.yaml)"
expect "root: busctl StartProject" busctl call org.openeuler.Etmem /org/openeuler/Etmem \
    org.openeuler.Etmem.Manager StartProject s viabus
expect "root: busctl reads State" contains "$(busctl get-property org.openeuler.Etmem \
    /org/openeuler/Etmem/project/viabus org.openeuler.Etmem.Project State)" running
expect "root: project del" etmem project del -n viabus
expect "root: deleted project is gone" bash -c '! etmem project show | grep -q viabus'
expect "journal: structured ETMEM_PROJECT field" \
    contains "$(journalctl -u etmemd -o json --no-pager)" '"ETMEM_PROJECT":"demo"'
fields=$(journalctl -u etmemd -o json --no-pager | grep -o '"ETMEM_[A-Z]*"' | sort -u | tr '\n' ' ')
echo "     journal fields seen: $fields"

# --- an unprivileged user: reads yes, changes no, nothing changes -------------------------
useradd -M -s /bin/sh etmemuser
etmem migrate start -n demo >/dev/null
before=$(project_states)
out=$(user_run etmem project show 2>&1)
expect "user: project show works" contains "$out" demo
expect "user: property reads work" contains "$(user_run busctl get-property org.openeuler.Etmem \
    /org/openeuler/Etmem/project/demo org.openeuler.Etmem.Project State 2>&1)" running
denied() { # denied DESCRIPTION COMMAND...: fails, naming the polkit action
    local description=$1; shift
    local output
    if output=$(user_run "$@" 2>&1); then
        bad "user: $description was allowed"
    elif contains "$output" org.openeuler.etmem.manage; then
        ok "user: $description denied: ${output:0:160}"
    else
        bad "user: $description failed without naming the action: $output"
    fi
}
denied "project add" etmem project add -n evil -f /tmp/fast.yaml
denied "project del" etmem project del -n demo
denied "migrate stop" etmem migrate stop -n demo
etmem migrate stop -n demo >/dev/null
denied "migrate start" etmem migrate start -n demo
etmem migrate start -n demo >/dev/null
denied "busctl AddProject" busctl call org.openeuler.Etmem /org/openeuler/Etmem \
    org.openeuler.Etmem.Manager AddProject ss evil "$(cat /tmp/fast.yaml)"
denied "busctl RemoveProject" busctl call org.openeuler.Etmem /org/openeuler/Etmem \
    org.openeuler.Etmem.Manager RemoveProject s demo
denied "busctl Project.Stop" busctl call org.openeuler.Etmem /org/openeuler/Etmem/project/demo \
    org.openeuler.Etmem.Project Stop
denied "busctl set LogLevel" busctl set-property org.openeuler.Etmem /org/openeuler/Etmem \
    org.openeuler.Etmem.Manager LogLevel u 0
expect "user: nothing changed ($before)" test "$(project_states)" = "$before"

# --- the example rule and group etmem ------------------------------------------------------
groupadd --system etmem && usermod -aG etmem etmemuser
cp /usr/share/doc/etmem/examples/polkit/50-etmem.rules /etc/polkit-1/rules.d/
systemctl try-restart polkit.service # polkitd also watches rules.d; a restart is certain
expect "group etmem: project add" user_run etmem project add -n usr1 -f /tmp/fast.yaml
expect "group etmem: migrate start" user_run etmem migrate start -n usr1
expect "group etmem: migrate stop" user_run etmem migrate stop -n usr1
# A property write cannot wait for polkit: LogLevel is root's; SetLogLevel asks polkit.
expect "group etmem: busctl SetLogLevel" user_run busctl call org.openeuler.Etmem \
    /org/openeuler/Etmem org.openeuler.Etmem.Manager SetLogLevel u 1
denied "busctl set LogLevel (root only)" busctl set-property org.openeuler.Etmem \
    /org/openeuler/Etmem org.openeuler.Etmem.Manager LogLevel u 1
expect "group etmem: project del" user_run etmem project del -n usr1
rm /etc/polkit-1/rules.d/50-etmem.rules

# --- restart keeps projects; running ones run again -----------------------------------------
etmem project add -n stopped1 -f /tmp/fast.yaml >/dev/null
before=$(project_states)
expect "restart: systemctl restart" systemctl restart etmemd
expect "restart: same projects, same states ($before)" test "$(project_states)" = "$before"
expect "restart: state kept in /var/lib/etmem" test -n "$(ls -A /var/lib/etmem)"

# --- stop within a second mid-interval (interval 1200 s) ------------------------------------
etmem project add -n slow -f /tmp/slow.yaml >/dev/null
etmem migrate start -n slow >/dev/null
sleep 2
start=$(now)
systemctl stop etmemd
end=$(now)
# systemd's own clock of the stop (deactivating -> inactive) is what the daemon controls;
# the systemctl round trip adds the client's start-up, slow under TCG emulation.
began=$(prop etmemd ActiveExitTimestampMonotonic) ended=$(prop etmemd InactiveEnterTimestampMonotonic)
stop_s=$(awk -v a="$began" -v b="$ended" 'BEGIN{printf "%.3f", (b-a)/1e6}')
expect "stop: etmemd stopped in $stop_s s (< 1 s) mid-interval; systemctl stop took $(awk -v a="$start" -v b="$end" 'BEGIN{printf "%.2f", b-a}') s" \
    awk -v s="$stop_s" 'BEGIN { exit !(s > 0 && s < 1.0) }'
expect "stop: clean exit (Result=$(prop etmemd Result), status $(prop etmemd ExecMainStatus))" \
    test "$(prop etmemd Result)/$(prop etmemd ExecMainStatus)" = success/0
expect "stop: STOPPING=1 seen (no SIGKILL)" \
    bash -c '! journalctl -u etmemd --no-pager | grep -q "State .stop-sigterm. timed out"'

# --- kill -9, systemd restarts it, nothing lost ---------------------------------------------
systemctl start etmemd
before=$(project_states)
old=$(prop etmemd MainPID)
kill -9 "$old"
expect "kill -9: systemd restarts etmemd" wait_until 20 \
    bash -c "[[ \$(systemctl show -p MainPID --value etmemd) != $old && \$(systemctl is-active etmemd) == active ]]"
expect "kill -9: restart counted (NRestarts=$(prop etmemd NRestarts))" test "$(prop etmemd NRestarts)" -ge 1
expect "kill -9: no project lost ($before)" test "$(project_states)" = "$before"

# --- watchdog: pings keep it alive; a frozen daemon is killed and restarted ---------------------
mkdir -p /run/systemd/system/etmemd.service.d
printf '[Service]\nWatchdogSec=3s\n' >/run/systemd/system/etmemd.service.d/watchdog.conf
systemctl daemon-reload && systemctl restart etmemd
restarts=$(prop etmemd NRestarts)
sleep 8
expect "watchdog: alive after 8 s with WatchdogSec=3s (pings arrive)" \
    test "$(systemctl is-active etmemd)/$(prop etmemd NRestarts)" = "active/$restarts"
old=$(prop etmemd MainPID)
kill -STOP "$old"
expect "watchdog: a frozen etmemd is killed and restarted" wait_until 30 \
    bash -c "[[ \$(systemctl show -p MainPID --value etmemd) != $old && \$(systemctl is-active etmemd) == active ]]"
expect "watchdog: journal records the watchdog timeout" \
    contains "$(journalctl -u etmemd --no-pager)" "Watchdog timeout"
rm -r /run/systemd/system/etmemd.service.d && systemctl daemon-reload

kill "$target" 2>/dev/null
echo "$failures failure(s)"
((failures == 0))
