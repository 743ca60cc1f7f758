#!/usr/bin/env bash
# SPDX-License-Identifier: MulanPSL-2.0
# Drives the bash completion of etmem and etmemd as bash-completion would (COMP_WORDS,
# COMP_CWORD, COMP_LINE, COMP_POINT), with project names from a real etmemd on a private
# system bus, and checks the candidates; then that every option `etmem ... help` prints is
# offered somewhere (so completion and CLI cannot drift).
# Usage: check_completion.sh SOURCE_DIR ETMEM ETMEMD
set -euo pipefail
src=$(realpath "$1") etmem=$(realpath "$2") etmemd=$(realpath "$3")
bash_completion=/usr/share/bash-completion/bash_completion
[[ -r $bash_completion ]] || { echo "FAIL bash-completion is not installed (scripts/install-deps.sh)"; exit 1; }
work=$(mktemp -d)
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

# A private system bus with etmem's policy, the main etmemd and a second instance.
chmod 0755 "$work"
sed -e "s|@LISTEN@|unix:path=$work/bus|" -e "s|@POLICY_DIR@|$src/dbus-interfaces|" \
    "$src/scripts/private-system-bus.conf.in" >"$work/bus.conf"
dbus-daemon --config-file="$work/bus.conf" --nofork --nopidfile 2>"$work/dbus.log" &
pids+=($!)
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$work/bus
wait_for 10 test -S "$work/bus"
STATE_DIRECTORY=$work/main "$etmemd" -l 3 & pids+=($!)
STATE_DIRECTORY=$work/second "$etmemd" -l 3 -s second & pids+=($!)
wait_for 20 "$etmem" project show
wait_for 20 "$etmem" project show -s second
cat >"$work/p.yaml" <<'YAML'
options:
  loop: 1
  interval: 1
  sleep: 1
  policies:
    type: name
    value: nothing-here
    engine: slide
    param:
      T: 1
YAML
for name in web webshop db; do "$etmem" project add -n "$name" -f "$work/p.yaml"; done
"$etmem" project add -n other -f "$work/p.yaml" -s second
mkdir "$work/confs" && touch "$work/confs/a.yaml" "$work/confs/b.conf"

mkdir "$work/bin" && ln -s "$etmem" "$work/bin/etmem" && ln -s "$etmemd" "$work/bin/etmemd"
# complete LINE: the candidates for the cursor at the end of LINE, sorted, one line.
cat >"$work/driver.sh" <<DRIVER
source $bash_completion
source $src/completion/etmem
source $src/completion/etmemd
cd $work/confs
complete_line() {
    COMP_LINE=\$1
    COMP_POINT=\${#COMP_LINE}
    read -ra COMP_WORDS <<<"\$COMP_LINE"
    [[ \$COMP_LINE == *" " ]] && COMP_WORDS+=("")
    COMP_CWORD=\$((\${#COMP_WORDS[@]} - 1))
    COMPREPLY=()
    local function=_\${COMP_WORDS[0]}
    "\$function" "\${COMP_WORDS[0]}" "\${COMP_WORDS[COMP_CWORD]}" "\${COMP_WORDS[COMP_CWORD - 1]}"
    printf '%s\n' "\${COMPREPLY[@]}" | sort | paste -sd' '
}
DRIVER

status=0
expect() {  # expect LINE CANDIDATES
    local got
    got=$(PATH=$work/bin:$PATH bash -c "source $work/driver.sh; complete_line '$1'")
    if [[ $got == "$2" ]]; then echo "ok   '$1' -> $got"; else echo "FAIL '$1' -> '$got', expected '$2'"; status=1; fi
}
expect 'etmem ' '--help --version help migrate obj project reload'
expect 'etmem rel' 'reload'
expect 'etmem reload ' 'help'
expect 'etmem reload -' '--no-ask-password --sock --socket -s'
expect 'etmem reload -s x --' '--no-ask-password'
expect 'etmem pro' 'project'
expect 'etmem project ' 'add del help show start stop'
expect 'etmem migrate st' 'start stop'
expect 'etmem obj ' 'add del help'
expect 'etmem project add -' '--file --name --no-ask-password --sock --socket -f -n -s'
expect 'etmem project add -n x --' '--file --no-ask-password --sock --socket'
expect 'etmem project show --' '--format= --json --name --sock --socket'
expect 'etmem project show --format=' 'openmetrics prometheus'
expect 'etmem project show --format o' 'openmetrics'
expect 'etmem project show --json --' '--format= --name --sock --socket'
expect 'etmem migrate start -n ' 'db web webshop'
expect 'etmem migrate start -n we' 'web webshop'
expect 'etmem project show --name ' 'db web webshop'
expect 'etmem project stop -s second -n ' 'other'
expect 'etmem project add -n new -f ' 'a.yaml b.conf'
expect 'etmem obj add --file b' 'b.conf'
expect 'etmemd -l ' '0 1 2 3'
expect 'etmemd --v' '--version'

# No daemon: no names, and no stall (the daemon answers within the 2 s bound or not at all).
kill "${pids[2]}" "${pids[1]}"; wait "${pids[2]}" "${pids[1]}" 2>/dev/null || true
start=$SECONDS
expect 'etmem migrate start -n ' ''
((SECONDS - start <= 5)) && echo "ok   no daemon: completion returned in $((SECONDS - start)) s" || { echo "FAIL no daemon: took $((SECONDS - start)) s"; status=1; }

# Every option of the CLI's help is offered by the completion of some command.
offered=$(PATH=$work/bin:$PATH bash -c "source $work/driver.sh
    for c in 'project add' 'project del' 'project show' 'project start' 'project stop' 'migrate start' 'migrate stop' 'obj add' 'obj del'; do _etmem_options_for \"\$c\"; done" | tr ' |' '\n\n' | sort -u)
helps=$("$etmem" help; "$etmem" project help; "$etmem" migrate help; "$etmem" obj help 2>/dev/null || true)
for option in $(grep -oE -- '(^|[ |[])--?[a-zA-Z][a-zA-Z-]*' <<<"$helps" | grep -oE -- '--?[a-zA-Z-]+' | sort -u); do
    case $option in -h | --help | --version) continue ;; esac  # offered in position 1
    grep -qx -- "$option\(=.*\)\?" <<<"$offered" && echo "ok   completion offers $option" || { echo "FAIL completion lacks $option"; status=1; }
done
exit $status
