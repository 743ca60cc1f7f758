#!/usr/bin/env bash
# SPDX-License-Identifier: MulanPSL-2.0
# Runs as root in a throw-away VM under systemd (tests/vm runner, backports kernel): etmemd
# from the build tree on the guest's real system bus, targets given as systemd units, and
# swap-out paced by max_swap_rate and pressure_limit. Prints one "ok"/"FAIL" line per proof
# and "figure" lines with what was measured; exits 1 if any proof failed.
# Usage: units-proofs.sh SOURCE_DIR BUILD_DIR
set -uo pipefail
source_dir=$1
build=$2
here=$source_dir/tests/units-vm
workload=$build/tests/workload/etmem-workload
etmem=$build/cli/etmem
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
show() { "$etmem" project show 2>&1; }
main_pid() { systemctl show -p MainPID --value "$1"; }
# Cold fraction >= 0.9 and hot fraction <= 0.05 for a layout file.
cold_out_hot_in() {
    local f
    f=$(/usr/bin/python3 "$here/pages.py" "$1" 2>/dev/null) || return 1
    awk -v f="$f" 'BEGIN { split(f, a, /[= ]/); exit !(a[2] >= 0.9 && a[4] <= 0.05) }'
}
project_pids() { busctl get-property org.openeuler.Etmem "/org/openeuler/Etmem/project/$1" \
    org.openeuler.Etmem.Project Pids; }
pid_of_layout() { awk '$1 == "pid" { print $2 }' "$1"; }
has_pid() { grep -qw -- "$2" <<<"$(project_pids "$1")"; }
project_config() { # project_config UNIT LOOP INTERVAL T [EXTRA-TASK-LINES]
    printf 'options:\n  loop: %s\n  interval: %s\n  sleep: 1\n  policies:\n' "$2" "$3"
    printf '    - type: unit\n      value: %s\n      engine: slide\n      param:\n        T: %s\n' "$1" "$4"
    [[ -n ${5:-} ]] && printf '%s\n' "$5"
    return 0
}
add_and_start() { # add_and_start NAME CONFIG-TEXT
    printf '%s' "$2" >"/run/etmem-$1.yaml"
    "$etmem" project add -n "$1" -f "/run/etmem-$1.yaml" && "$etmem" migrate start -n "$1"
}

echo "guest: $(uname -r), systemd $(systemctl --version | head -n1 | cut -d' ' -f2)"
"$source_dir/tests/vm/guest/zram-swap" 1024M >/dev/null || { echo "FAIL zram swap"; exit 1; }
install -m 0644 "$source_dir/dbus-interfaces/org.openeuler.Etmem.conf" /etc/dbus-1/system.d/
systemctl reload dbus.service
mkdir -p /run/etmem-state /run/wl
systemd-run --quiet --unit=etmemd-test.service -p Environment=STATE_DIRECTORY=/run/etmem-state \
    "$build/service/etmemd" -l 1
wait_until 30 busctl status org.openeuler.Etmem >/dev/null 2>&1 || { echo "FAIL etmemd up"; exit 1; }

# --- type: unit, two processes; a third joins later; the unit stops and starts again ------
start_unit() {
    rm -f /run/wl/a* /run/wl/b* /run/wl/go
    systemctl reset-failed etmem-wl.service 2>/dev/null
    systemd-run --quiet --unit=etmem-wl.service -p CollectMode=inactive-or-failed sh -c \
        "$workload --hot 256 --cold 8192 --hot-run 64 --children 1 --layout /run/wl/a & \
         while [ ! -e /run/wl/go ]; do sleep 0.2; done; \
         $workload --hot 256 --cold 8192 --hot-run 64 --seed 7 --layout /run/wl/b & wait"
    wait_until 60 test -e /run/wl/a -a -e /run/wl/a.1
}
start_unit
add_and_start units "$(project_config etmem-wl.service 3 1 4)"
expect "type unit: the unit's two processes are targets" \
    wait_until 60 eval 'has_pid units "$(pid_of_layout /run/wl/a)" && has_pid units "$(pid_of_layout /run/wl/a.1)"'
expect "type unit: both processes' cold pages swapped, hot pages kept" \
    wait_until 120 eval 'cold_out_hot_in /run/wl/a && cold_out_hot_in /run/wl/a.1'
echo "figure unit a: $(/usr/bin/python3 "$here/pages.py" /run/wl/a), a.1: $(/usr/bin/python3 "$here/pages.py" /run/wl/a.1)"
expect "project show names the unit's cgroup" \
    grep -q "unit:etmem-wl.service: cgroup system.slice/etmem-wl.service" <<<"$(show)"
touch /run/wl/go
wait_until 60 test -e /run/wl/b
expect "a process started in the unit later is picked up" \
    wait_until 60 has_pid units "$(pid_of_layout /run/wl/b)"
expect "... and its cold pages swapped" wait_until 120 cold_out_hot_in /run/wl/b
echo "figure unit b (joined later): $(/usr/bin/python3 "$here/pages.py" /run/wl/b)"
systemctl stop etmem-wl.service
expect "the stopped unit is reported, the project keeps running" wait_until 30 eval \
    'show | grep -q "unit etmem-wl.service is " && show | grep -q "^units *running"'
expect "no error for a stopped unit" test -z "$(busctl get-property org.openeuler.Etmem \
    /org/openeuler/Etmem/project/units org.openeuler.Etmem.Project LastError | sed 's/^s "//; s/"$//')"
start_unit
expect "the unit started again is followed" \
    wait_until 60 has_pid units "$(pid_of_layout /run/wl/a)"
expect "... its cold pages swapped again" wait_until 120 cold_out_hot_in /run/wl/a
journalctl -u etmemd-test.service --no-pager -o cat | grep -E "etmem-wl|picked up|back" | head -n 5
"$etmem" migrate stop -n units; "$etmem" project del -n units 2>/dev/null || true
systemctl stop etmem-wl.service

# --- max_swap_rate: 8M on 128 MiB cold ------------------------------------------------------
# Baseline in the same run: the same target without a rate limit.
rate_run() { # rate_run NAME EXTRA-LINES -> prints swap_rate.py's figures
    systemd-run --quiet --unit=etmem-rate.service "$workload" --hot 64 --cold 32768 \
        --layout /run/wl/rate
    wait_until 90 test -e /run/wl/rate
    local pid; pid=$(pid_of_layout /run/wl/rate)
    add_and_start "$1" "$(project_config etmem-rate.service 1 2 2 "$2")" >/dev/null
    /usr/bin/python3 "$here/swap_rate.py" "$pid" 20 2
    "$etmem" migrate stop -n "$1"
    systemctl stop etmem-rate.service; rm -f /run/wl/rate
}
baseline=$(rate_run unpaced "")
paced=$(rate_run paced "      max_swap_rate: 8M")
echo "figure rate unpaced: $baseline"
echo "figure rate max_swap_rate 8M: $paced"
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p" <<<"$2"; }
expect "max_swap_rate 8M: every 2 s window at most 8.8 MiB/s" \
    awk -v r="$(field max_window "$paced")" 'BEGIN { exit !(r > 0 && r <= 8.8) }'
expect "... and it swaps near the limit while it swaps (>= 6 MiB/s over a window)" \
    awk -v r="$(field max_window "$paced")" 'BEGIN { exit !(r >= 6) }'
expect "the unpaced baseline is faster than the limit" \
    awk -v r="$(field max_window "$baseline")" 'BEGIN { exit !(r > 8.8) }'
expect "project show says the rate paced it" grep -q "swap-out paced (rate 8M/s" <<<"$(show)"

# --- pressure_limit under memory.high -------------------------------------------------------
# 64 MiB written all the time in a cgroup with memory.high 56M: the kernel's own reclaim
# keeps the workload stalled. Its PSI without etmem, then with etmem (pressure_limit 2).
psi_mean() { # psi_mean CGROUP SECONDS -> mean of some avg10 sampled every second
    local sum=0 n=0 v
    for ((i = 0; i < $2; i++)); do
        v=$(sed -n 's/^some avg10=\([0-9.]*\).*/\1/p' "/sys/fs/cgroup/$1/memory.pressure")
        sum=$(awk -v s="$sum" -v v="$v" 'BEGIN { print s + v }'); n=$((n + 1)); sleep 1
    done
    awk -v s="$sum" -v n="$n" 'BEGIN { printf "%.2f", s / n }'
}
systemd-run --quiet --unit=etmem-press.service -p MemoryHigh=56M "$workload" --hot 16384 \
    --cold 2048 --layout /run/wl/press
wait_until 120 test -e /run/wl/press
cg=system.slice/etmem-press.service
sleep 5
# Without and with etmem interleaved (10 s blocks, 3 without, 2 with), so a drift of the
# thrashing or of the host's load under TCG does not pass for etmem's effect.
add_and_start pressure "$(project_config etmem-press.service 1 1 2 "      pressure_limit: 2")" >/dev/null
"$etmem" migrate stop -n pressure
blocks_without=() blocks_with=()
for block in 1 2 3 4 5; do
    if ((block % 2)); then
        blocks_without+=("$(psi_mean $cg 10)")
    else
        "$etmem" migrate start -n pressure
        blocks_with+=("$(psi_mean $cg 10)")
        pacing=$(busctl get-property org.openeuler.Etmem /org/openeuler/Etmem/project/pressure \
            org.openeuler.Etmem.Project TaskPacing)
        swapped=$(busctl get-property org.openeuler.Etmem /org/openeuler/Etmem/project/pressure \
            org.openeuler.Etmem.Project TotalPagesSwapped | awk '{ print $2 }')
        "$etmem" migrate stop -n pressure
        swapped_while_paused=$((${swapped_while_paused:-0} + swapped))
    fi
done
mean_of() { printf '%s\n' "$@" | awk '{ s += $1 } END { printf "%.2f", s / NR }'; }
without=$(mean_of "${blocks_without[@]}")
with=$(mean_of "${blocks_with[@]}")
swapped_before=0 swapped=$swapped_while_paused
echo "figure pressure: some avg10 per 10 s block without etmem ${blocks_without[*]} (mean $without%), with etmem ${blocks_with[*]} (mean $with%); ratio with/without $(awk -v a="$with" -v b="$without" 'BEGIN { printf "%.3f", a / b }'); TaskPacing $pacing; pages swapped by etmem while paused $swapped"
# The pressure goes (memory.high lifted): swap-out resumes, scaled while avg10 decays.
"$etmem" migrate start -n pressure
systemctl set-property --runtime etmem-press.service MemoryHigh=infinity
total_swapped() { busctl get-property org.openeuler.Etmem /org/openeuler/Etmem/project/pressure \
    org.openeuler.Etmem.Project TotalPagesSwapped | awk '{ print $2 }'; }
resumed_at=$SECONDS
expect "below the limit swap-out resumes" wait_until 120 eval '(( $(total_swapped) > 0 ))'
echo "figure pressure: swap-out resumed $((SECONDS - resumed_at)) s after memory.high was lifted; some avg10 now $(sed -n 's/^some avg10=\([0-9.]*\).*/\1/p' /sys/fs/cgroup/$cg/memory.pressure)%"
expect "pressure above the limit: etmem reports swap-out paused" grep -q "true true" <<<"$pacing"
expect "... and swaps nothing while paused" test "$swapped" = "$swapped_before"
# Under TCG the same thrash's avg10 wanders between 10 s blocks by more than etmem could add
# (35..59% without etmem in one run, means' ratio 0.97..1.13 over six runs, while etmem,
# paused, neither scans nor swaps): the means with and without may differ by a quarter at
# most, and the pressure must be real (>= 2% without).
expect "... the workload's PSI with etmem stays within what it is without (mean $with vs $without)" \
    awk -v a="$with" -v b="$without" 'BEGIN { exit !(b >= 2 && a <= 1.25 * b) }'
expect "the journal says when swap-out is paused" \
    journalctl -u etmemd-test.service --no-pager -o cat --grep "swap-out paused" -q
# The line is written by the cycle that resumed; the journal may take a moment to have it.
# Near the limit (etmem's own refaults keep avg10 about there) a cycle may swap and pause
# again: "resumed, then paused again".
expect "... and when it is paced by pressure or no longer paced" wait_until 30 \
    journalctl -u etmemd-test.service --no-pager -o cat -q \
    --grep "project pressure: swap-out (is no longer paced|is paced: memory pressure|resumed)"
systemctl stop etmem-press.service
# What the journal has of the pressure project's pacing (the last lines: the resume is there).
journalctl -u etmemd-test.service --no-pager -o cat | grep "^project pressure: " |
    grep -E "paced|paused" | tail -n 6
busctl get-property org.openeuler.Etmem /org/openeuler/Etmem/project/pressure \
    org.openeuler.Etmem.Project TaskPacing

source "$here/psi-proofs.sh"
# Projects from files, in the same boot; it prints its own ok/FAIL lines.
"$here/fleet-proofs.sh" "$source_dir" "$build" || bad "fleet proofs (projects from files)"
echo "units proofs: $failures failed"
((failures == 0))
