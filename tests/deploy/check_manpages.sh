#!/usr/bin/env bash
# SPDX-License-Identifier: MulanPSL-2.0
# The manual pages render without a warning, carry the build's version, and document every
# command and option the programs' own help prints (so help and manual cannot drift).
# Usage: check_manpages.sh MAN_BUILD_DIR VERSION ETMEM ETMEMD
set -euo pipefail
man_dir=$1 version=$2 etmem=$3 etmemd=$4
status=0
fail() { echo "FAIL $*"; status=1; }
ok() { echo "ok   $*"; }

render() { groff -t -man -Tascii -rLL=200n "$1" 2>/dev/null | col -bx; }

for page in "$man_dir"/etmem.8 "$man_dir"/etmemd.8 "$man_dir"/etmem.conf.5; do
    name=$(basename "$page")
    warnings=$(groff -t -man -Tutf8 -ww -z "$page" 2>&1)
    [[ -z $warnings ]] && ok "$name: groff -ww renders it without warnings" ||
        fail "$name: groff warns: $warnings"
    # man -l runs the preprocessors the page asks for ('\" t) as man(1) itself would.
    warnings=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null)
    [[ -z $warnings ]] && ok "$name: man -l --warnings is silent" || fail "$name: man -l warns: $warnings"
    grep -q "^\.TH .* \"etmem $version\"" "$page" && ok "$name: names etmem $version" ||
        fail "$name: .TH lacks etmem $version"
    [[ -s $page.gz ]] && gzip -t "$page.gz" && ok "$name.gz is built" || fail "$name.gz missing"
done

[[ $("$etmem" --version) == "etmem $version" ]] && ok "etmem --version: etmem $version" ||
    fail "etmem --version says '$("$etmem" --version)', CMake says $version"
[[ $("$etmemd" --version) == "etmemd $version" ]] && ok "etmemd --version: etmemd $version" ||
    fail "etmemd --version says '$("$etmemd" --version)', CMake says $version"

# Every option and command of the help texts appears in the page.
expect_documented() {  # PAGE_TEXT WHAT HELP_TEXT
    local text=$1 what=$2 help=$3 option usage
    for option in $(grep -oE -- '(^|[ |[])--?[a-zA-Z][a-zA-Z-]*' <<<"$help" | grep -oE -- '--?[a-zA-Z-]+' | sort -u); do
        grep -qF -- "$option" <<<"$text" && ok "$what documents $option" || fail "$what lacks $option"
    done
    while read -r usage; do
        [[ -z $usage ]] && continue
        grep -qF -- "$usage" <<<"$text" && ok "$what documents '$usage'" || fail "$what lacks '$usage'"
    done < <(sed -n 's/^ *etmem \([a-z]\+ [a-z]\+\).*/\1/p' <<<"$help" | sort -u)
}
etmem_text=$(render "$man_dir/etmem.8")
helps=$("$etmem" help)
for object in project migrate obj; do
    # An object the CLI does not know (yet) has no help to compare.
    if object_help=$("$etmem" "$object" help 2>/dev/null); then helps+=$'\n'$object_help; fi
done
expect_documented "$etmem_text" "etmem(8)" "$helps"
expect_documented "$(render "$man_dir/etmemd.8")" "etmemd(8)" "$("$etmemd" --help)"

# Cross-references an operator follows.
for ref in 'systemctl(1)' 'busctl(1)' 'polkit(8)' 'pkttyagent(1)' 'etmem.conf(5)'; do
    grep -qF "$ref" <<<"$etmem_text" && ok "etmem(8) refers to $ref" || fail "etmem(8) lacks $ref"
done
exit $status
