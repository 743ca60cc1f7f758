#!/usr/bin/env bash
# The main job, shown end to end: installs what is needed, builds, starts a private system
# bus and etmemd on it, starts a demo workload, and drives a project against it with the
# etmem command — add, start, show, stop, delete. Nothing touches the host's own bus,
# state directory or swap. Run as root on Debian 12.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
scripts/install-deps.sh
scripts/build.sh etmemd etmem >/dev/null
build=$(realpath -m "${ETMEM_BUILD_DIR:-build}")
etmem=$build/cli/etmem
etmemd=$build/service/etmemd

work=$(mktemp -d /tmp/etmem-demo.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "a private system bus at $work/bus (policy: dbus-interfaces/org.openeuler.Etmem.conf)"
sed -e "s|@LISTEN@|unix:path=$work/bus|" -e "s|@POLICY_DIR@|$repo/dbus-interfaces|" \
  scripts/private-system-bus.conf.in >"$work/bus.conf"
dbus-daemon --config-file="$work/bus.conf" --nofork --nopidfile 2>"$work/dbus.log" &
pids+=($!)
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$work/bus
for _ in $(seq 50); do [ -S "$work/bus" ] && break; sleep 0.1; done

step "etmemd -l 1 (state in $work/state)"
STATE_DIRECTORY=$work/state "$etmemd" -l 1 &
pids+=($!)
for try in $(seq 50); do
  busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" status org.openeuler.Etmem >/dev/null 2>&1 && break
  [ "$try" = 50 ] && { echo "etmemd did not come up" >&2; exit 1; }
  sleep 0.1
done

step "a demo workload: a process named etmem-demo"
cp /bin/sleep "$work/etmem-demo"
"$work/etmem-demo" 600 &
pids+=($!)

cat >"$work/demo.yaml" <<YAML
options:
  loop: 2
  interval: 1
  sleep: 1
  policies:
    type: name
    value: etmem-demo
    max_threads: 1
    engine: slide
    param:
      T: 2
YAML
step "the project's config"
cat "$work/demo.yaml"

step "etmem project add -n demo -f demo.yaml"
"$etmem" project add -n demo -f "$work/demo.yaml"
step "etmem migrate start -n demo   (then two cycles of 2 scans 1 s apart + 1 s sleep)"
"$etmem" migrate start -n demo
sleep 6.5
step "etmem project show"
"$etmem" project show
step "the same through busctl"
busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" get-property org.openeuler.Etmem \
  /org/openeuler/Etmem/project/demo org.openeuler.Etmem.Project State Cycles Pids
busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" get-property org.openeuler.Etmem \
  /org/openeuler/Etmem org.openeuler.Etmem.Manager Missing
step "etmem migrate stop -n demo; etmem project del -n demo"
"$etmem" migrate stop -n demo
"$etmem" project del -n demo
"$etmem" project show
step "done"
