#!/usr/bin/env bash
# SPDX-License-Identifier: MulanPSL-2.0
# etmem's metrics as real consumers read them: a real etmemd on a private system bus runs a
# project against a process of this test; `etmem project show --format=prometheus` is
# written into a directory that a real node_exporter's textfile collector serves, and the
# scrape must carry etmem's samples without a parse error; `--format=openmetrics` must pass
# the OpenMetrics parser of prometheus_client (Debian's python3-prometheus-client).
# Usage: check_metrics.sh SOURCE_DIR ETMEM ETMEMD
set -euo pipefail
src=$(realpath "$1") etmem=$(realpath "$2") etmemd=$(realpath "$3")
for tool in prometheus-node-exporter curl; do
    command -v "$tool" >/dev/null || { echo "FAIL $tool is not installed (scripts/install-deps.sh)"; exit 1; }
done
work=$(mktemp -d)
chmod 0755 "$work"
pids=()
cleanup() {
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill "${pids[i]}" 2>/dev/null || true; wait "${pids[i]}" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
wait_for() {
    local deadline=$((SECONDS + $1)); shift
    until "$@" >/dev/null 2>&1; do ((SECONDS < deadline)) || return 1; sleep 0.2; done
}
status=0
ok() { echo "ok   $*"; }
fail() { echo "FAIL $*"; status=1; }

sed -e "s|@LISTEN@|unix:path=$work/bus|" -e "s|@POLICY_DIR@|$src/dbus-interfaces|" \
    "$src/scripts/private-system-bus.conf.in" >"$work/bus.conf"
dbus-daemon --config-file="$work/bus.conf" --nofork --nopidfile 2>"$work/dbus.log" &
pids+=($!)
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$work/bus
wait_for 10 test -S "$work/bus"
# idle_page: never the host's DAMON (see tests/bus); where the kernel lacks it the cycles
# still run and count, which is all the metrics need.
ETMEM_DEFAULT_SCANNER=idle_page STATE_DIRECTORY=$work/state "$etmemd" -l 3 &
pids+=($!)
wait_for 20 "$etmem" project show
sleep 600 &
target=$!
pids+=($target)
cat >"$work/p.yaml" <<YAML
options:
  loop: 1
  interval: 1
  sleep: 1
  policies:
    type: pid
    value: $target
    engine: slide
    param:
      T: 1
YAML
"$etmem" project add -n web -f "$work/p.yaml"
"$etmem" project add -n 'quote"d' -f "$work/p.yaml"
"$etmem" migrate start -n web
# A dry run (mode observe): its would_swap families, and every task's idle ages and refaults.
sed 's/^  sleep: 1$/  sleep: 1\n  mode: observe/' "$work/p.yaml" >"$work/dry.yaml"
"$etmem" project add -n dry -f "$work/dry.yaml"
"$etmem" migrate start -n dry
cycles() { "$etmem" project show -n web --json | sed -n 's/^    "cycles": \([0-9]*\),/\1/p'; }
has_cycled() { [[ $(cycles) -ge 1 ]]; }
wait_for 30 has_cycled && ok "project web ran $(cycles) cycle(s)" || fail "no cycle in 30 s"
dry_cycled() { "$etmem" project show -n dry --json | grep -q '"would_swap_bytes"'; }
wait_for 30 dry_cycled && ok "project dry reports would_swap_bytes" || fail "no dry-run figure in 30 s"

# node_exporter's textfile collector: the file written as the example service writes it.
mkdir "$work/textfile"
"$etmem" project show --format=prometheus >"$work/textfile/etmem.prom.tmp"
mv -f "$work/textfile/etmem.prom.tmp" "$work/textfile/etmem.prom"
port=$((20000 + RANDOM % 20000))
prometheus-node-exporter --collector.disable-defaults --collector.textfile \
    --collector.textfile.directory="$work/textfile" --web.listen-address="127.0.0.1:$port" \
    >"$work/node_exporter.log" 2>&1 &
pids+=($!)
wait_for 20 curl -fsS "http://127.0.0.1:$port/metrics"
curl -fsS "http://127.0.0.1:$port/metrics" >"$work/scrape"
grep -qx 'node_textfile_scrape_error 0' "$work/scrape" && ok "node_exporter parsed etmem.prom" ||
    { fail "node_exporter could not parse etmem.prom:"; grep -i 'textfile\|error' "$work/node_exporter.log" "$work/scrape" | head; }
grep -qE '^etmem_project_running\{project="web"\} 1$' "$work/scrape" && ok "scrape: web is running" || fail "scrape lacks etmem_project_running of web"
grep -qE '^etmem_project_running\{project="quote\\"d"\} 0$' "$work/scrape" && ok "scrape: an escaped name" || fail "scrape lacks quote\"d"
grep -qE '^# TYPE etmem_project_cycles_total counter$' "$work/scrape" && ok "scrape: cycles is a counter" || fail "cycles not typed counter"
grep -qE '^etmem_task_cycles_total\{project="web",task="pid:[0-9]+"\} [1-9]' "$work/scrape" && ok "scrape: the task's cycles" || fail "scrape lacks the task's cycles"
grep -qE '^# TYPE etmem_project_swapped_bytes_total counter$' "$work/scrape" && ok "scrape: swapped bytes counter" || fail "swapped bytes"
# node_exporter writes the labels sorted by name.
grep -qE '^etmem_task_idle_bytes\{age_cycles="1",project="web",task="pid:[0-9]+"\} [0-9]+$' "$work/scrape" && ok "scrape: idle ages" || fail "scrape lacks etmem_task_idle_bytes"
grep -qE '^etmem_task_refaults_total\{project="web",task="pid:[0-9]+"\} [0-9]+$' "$work/scrape" && ok "scrape: refaults" || fail "scrape lacks etmem_task_refaults_total"
grep -qE '^etmem_task_would_swap_bytes_total\{project="dry",task="pid:[0-9]+"\} [0-9]+$' "$work/scrape" && ok "scrape: the dry run's would_swap bytes" || fail "scrape lacks the dry run's etmem_task_would_swap_bytes_total"
grep -qE '^etmem_task_would_swap_bytes_total\{project="web"' "$work/scrape" && fail "an acting project has would_swap samples" || ok "scrape: no would_swap for an acting project"

# OpenMetrics, by a parser that enforces the format (families, _total, # EOF).
"$etmem" project show --format=openmetrics >"$work/om.txt"
if /usr/bin/python3 - "$work/om.txt" <<'PY'
import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
families = {f.name: f for f in text_string_to_metric_families(open(sys.argv[1]).read())}
assert families["etmem_project_cycles"].type == "counter", families["etmem_project_cycles"]
assert families["etmem_project_swapped_bytes"].unit == "bytes"
assert families["etmem_task_last_cycle_duration_seconds"].unit == "seconds"
samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
           for f in families.values() for s in f.samples}
assert samples[("etmem_project_running", (("project", "web"),))] == 1
assert samples[("etmem_project_cycles_total", (("project", "web"),))] >= 1
assert families["etmem_task_idle_bytes"].unit == "bytes"
assert families["etmem_task_refaults"].type == "counter"
assert families["etmem_task_would_swap_bytes"].type == "counter"
print(f"     {len(families)} families, {len(samples)} samples")
PY
then ok "OpenMetrics parser accepts --format=openmetrics"; else fail "OpenMetrics parser rejects it"; fi
exit $status
