#!/usr/bin/env bash
# SPDX-License-Identifier: MulanPSL-2.0
# The main job, shown end to end: installs what is needed, builds, starts a private system
# bus and etmemd on it, starts a demo workload with a known hot and cold set, and drives a
# project against it with the etmem command — add, start, show, stop, delete.
#
# etmem needs an access scanner (idle page tracking, DAMON, or openEuler's etmem_scan) and
# an active swap device. Where this machine lacks them — and etmem never turns on the host's
# swap — the same demo runs inside a throw-away VM of the test tier (tests/vm) on Debian's
# 6.12 kernel with a zram swap, and says so. Run as root on Debian 12.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
build=$(realpath -m "${ETMEM_BUILD_DIR:-build}")
etmem=$build/cli/etmem
etmemd=$build/service/etmemd
workload=$build/tests/workload/etmem-workload
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

# What keeps etmem from moving pages here, one line each; nothing when it can.
host_lacks() {
  local scanner=0
  [ -w /sys/kernel/mm/page_idle/bitmap ] && scanner=1
  [ -d /sys/kernel/mm/damon/admin/kdamonds ] && scanner=1
  ((scanner)) || echo "no access scanner (no idle page tracking, no DAMON, no etmem_scan)"
  [ "$(wc -l </proc/swaps)" -gt 1 ] || echo "no active swap device"
}

wait_for() {  # wait_for SECONDS COMMAND...: polls until COMMAND succeeds
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

kib_of() { awk -v key="$2:" '$1 == key { print $2 }' "/proc/$1/status"; }

# Why `auto` picks the scanner it does on this kernel (the order is etmem's: see README).
scanner_reason() {
  case "$1" in
    idle_pages) echo "openEuler's etmem_scan module is loaded: page-exact, tells writes" ;;
    idle_page) echo "this kernel has idle page tracking: page-exact accessed bits" ;;
    damon) echo "this kernel has no idle page tracking (Debian's does not) but has DAMON: region granularity, every aggregation window read" ;;
    *) echo "no scanner: etmem will say why in LastError" ;;
  esac
}

# What the kernel says of the workload's pages, from its layout and /proc/PID/pagemap:
# "HOT_KEPT HOT COLD_SWAPPED COLD" (a pagemap entry >= 2^63 is present, 2^62..2^63 swapped).
workload_truth() {
  local layout=$1 pid base pages
  pid=$(awk '$1 == "pid" { print $2 }' "$layout")
  base=$(awk '$1 == "base" { print $2 }' "$layout")
  pages=$(awk '$1 == "pages" { print $2 }' "$layout")
  dd if="/proc/$pid/pagemap" bs=65536 skip=$((base / 4096 * 8)) count=$((pages * 8)) iflag=skip_bytes,count_bytes status=none |
    od -An -v -t u8 -w8 |
    awk -v layout="$layout" '
      BEGIN { while ((getline line < layout) > 0) { n = split(line, f, " "); if (f[1] == "hot") for (i = 2; i <= n; i++) hot[f[i]] = 1 } }
      { e = $1 + 0; present = e >= 9.2e18; swapped = !present && e >= 4.6e18
        if (NR - 1 in hot) { h++; if (present) hk++ } else { c++; if (swapped) cs++ } }
      END { printf "%d %d %d %d\n", hk, h, cs, c }'
}

run_demo() {
  local work pids=()
  work=$(mktemp -d /tmp/etmem-demo.XXXXXX)
  # Stopped newest first: etmemd before the bus it is connected to.
  trap 'for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill "${pids[i]}" 2>/dev/null || true; wait "${pids[i]}" 2>/dev/null || true; done; rm -rf "$work"' RETURN

  step "a private system bus (policy: dbus-interfaces/org.openeuler.Etmem.conf)"
  sed -e "s|@LISTEN@|unix:path=$work/bus|" -e "s|@POLICY_DIR@|$repo/dbus-interfaces|" \
    scripts/private-system-bus.conf.in >"$work/bus.conf"
  dbus-daemon --config-file="$work/bus.conf" --nofork --nopidfile 2>"$work/dbus.log" &
  pids+=($!)
  export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$work/bus
  wait_for 10 test -S "$work/bus"
  local busctl=(busctl --address="$DBUS_SYSTEM_BUS_ADDRESS")

  step "etmemd -l 1   (its log lines start with 'etmemd[')"
  STATE_DIRECTORY=$work/state "$etmemd" -l 1 &
  pids+=($!)
  wait_for 20 "${busctl[@]}" status org.openeuler.Etmem || { echo "etmemd did not start" >&2; return 1; }
  "${busctl[@]}" get-property org.openeuler.Etmem /org/openeuler/Etmem \
    org.openeuler.Etmem.Manager Scanner Swapper
  local scanner
  scanner=$("${busctl[@]}" get-property org.openeuler.Etmem /org/openeuler/Etmem \
    org.openeuler.Etmem.Manager Scanner | awk '{ gsub(/"/, "", $2); print $2 }')
  echo "scanner: ${scanner:-none}, because $(scanner_reason "$scanner")"

  step "a demo workload 'etmem-demo': 8 MiB it keeps touching (hot, in 200 KiB runs placed at random), 24 MiB it never touches again (cold)"
  "$workload" --name etmem-demo --hot 2048 --cold 6144 --hot-run 50 --seed 7 --layout "$work/layout" &
  local workload_pid=$!
  pids+=($workload_pid)
  wait_for 60 test -s "$work/layout"
  echo "etmem-demo: pid $workload_pid, resident $(kib_of $workload_pid VmRSS) KiB, swapped $(kib_of $workload_pid VmSwap) KiB"

  cat >"$work/demo.yaml" <<YAML
options:
  loop: 3
  interval: 1
  sleep: 30
  policies:
    type: name
    value: etmem-demo
    max_threads: 1
    engine: slide
    param:
      T: 2
YAML
  step "the project: 3 scans 1 s apart; a page seen accessed in >= 2 of them is hot"
  cat "$work/demo.yaml"
  step "etmem project add -n demo -f demo.yaml && etmem migrate start -n demo"
  "$etmem" project add -n demo -f "$work/demo.yaml"
  "$etmem" migrate start -n demo
  cycles() {
    [ "$("${busctl[@]}" get-property org.openeuler.Etmem /org/openeuler/Etmem/project/demo \
      org.openeuler.Etmem.Project Cycles)" != "t 0" ]
  }
  wait_for 120 cycles || echo "(no cycle finished within 120 s)"

  step "etmem project show   (after the first cycle)"
  "$etmem" project show
  echo
  echo "etmem-demo now: resident $(kib_of $workload_pid VmRSS) KiB, swapped $(kib_of $workload_pid VmSwap) KiB"

  step "does that match what the workload holds? (its layout against the kernel's pagemap)"
  local hot_kept hot cold_swapped cold verdict=0
  read -r hot_kept hot cold_swapped cold <<<"$(workload_truth "$work/layout")"
  echo "hot pages still resident: $hot_kept of $hot; cold pages swapped: $cold_swapped of $cold"
  if ((hot == 0 || cold == 0 || hot_kept * 10 < hot * 9 || cold_swapped * 10 < cold * 9)); then
    echo "DEMO FAILED: etmem's choice contradicts the workload (needed >= 90% of the cold set swapped and >= 90% of the hot set kept)" >&2
    verdict=1
  else
    echo "etmem found the workload's hot and cold sets: >= 90% of each where it belongs"
  fi

  step "the same through busctl"
  "${busctl[@]}" get-property org.openeuler.Etmem /org/openeuler/Etmem/project/demo \
    org.openeuler.Etmem.Project State Cycles PagesHot PagesCold PagesSwapped BytesSwapped

  step "etmem migrate stop -n demo; etmem project del -n demo"
  "$etmem" migrate stop -n demo
  "$etmem" project del -n demo
  "$etmem" project show

  step "the workload checks every page's contents as it exits"
  kill -TERM "$workload_pid"
  if wait "$workload_pid"; then echo "etmem-demo: every page intact"; else echo "etmem-demo: DATA MISMATCH" >&2; return 1; fi
  ((verdict == 0)) || return 1
  step "done"
}

if [ "${ETMEM_DEMO_IN_GUEST:-}" = 1 ]; then
  tests/vm/guest/zram-swap 256M >/dev/null
  run_demo
  exit
fi

scripts/install-deps.sh
scripts/build.sh etmemd etmem etmem-workload >/dev/null
mapfile -t lacks < <(host_lacks)
if ((${#lacks[@]} == 0)); then
  run_demo
  exit
fi
# The kernel built with idle page tracking (page-exact) when the test suite has built it;
# otherwise Debian's, whose DAMON scanner sees regions rather than pages.
if tests/vm/kernel/etmem-vm-kernel path idle >/dev/null 2>&1; then
  kernel=idle
  about="6.12 with idle page tracking, built by the test suite"
else
  kernel=backports
  about="Debian's 6.12, DAMON scanner"
fi
step "this machine has $(IFS=';'; echo "${lacks[*]}"): running the same demo in a test VM"
echo "($about; zram swap inside the VM; the host's swap is not touched)"
[ "$kernel" = idle ] || tests/vm/kernel/etmem-vm-kernel backports >/dev/null
exec tests/vm/etmem-vm-run --kernel "$kernel" --init minimal --timeout 600 -- \
  env ETMEM_DEMO_IN_GUEST=1 ETMEM_BUILD_DIR="$build" bash scripts/demo.sh
