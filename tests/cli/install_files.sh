#!/bin/sh
# install_files.sh -- make install and make uninstall, file by file (issue
# 12, item 5).
#
#   - `make install DESTDIR=$T/root PREFIX=/usr` installs exactly the files
#     listed below (sorted `find`), programs 0755 and the rest 0644, the
#     units' ExecStart= under /usr/bin and the example plan as in deploy/;
#   - `make -n install` never runs deploy/deps.sh (apt-get) nor builds
#     anything under tests/, while `make -n all` does run deps.sh (so the
#     grep can fail);
#   - each man page renders with `man --warnings -l` without a warning, and
#     its COMMANDS section has an entry for every command the program's own
#     --help lists (read by deploy/completion.sh --commands, as the
#     completion is): a command added to a program fails here until its
#     page documents it.  The check is run once on a page with a command
#     taken out, which it must refuse;
#   - each bash completion loads (`complete -p` names its function) and
#     offers every command's words and each command's --help;
#   - `make uninstall` with the same DESTDIR and PREFIX leaves no file, and
#     exactly the shared folders listed below (dealernet's own,
#     /usr/share/dealernet, goes);
#   - where dpkg-deb and dpkg-shlibdeps are, deploy/deb.sh (make deb) builds
#     a package that holds the same files (man pages gzipped), depends on
#     the libraries the programs link and has the postinst that creates the
#     users.
# Environment: DN_BIN (the programs, default bin; the build folder beside
# it, bin -> build, bin-X -> build-X, is make's B).
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/lib/net.sh"
net_init install_files
bin_base=$(basename "$BIN")
B=$(dirname "$BIN")/build${bin_base#bin}
R=$T/root
MK="make -s --no-print-directory -C $ROOT B=$B BIN=$BIN"

# The files make install installs with PREFIX=/usr: mode and path.
EXPECTED='644 usr/lib/systemd/system/dealernet-agent.service
644 usr/lib/systemd/system/dealernet-server.service
644 usr/lib/sysusers.d/dealernet.conf
644 usr/share/bash-completion/completions/dealernet-agent
644 usr/share/bash-completion/completions/dealernet-hq
644 usr/share/bash-completion/completions/dealernet-server
644 usr/share/dealernet/examples/plan.ini
644 usr/share/locale/zh_CN/LC_MESSAGES/dealernet.mo
644 usr/share/man/man1/dealernet-agent.1
644 usr/share/man/man1/dealernet-hq.1
644 usr/share/man/man1/dealernet-server.1
755 usr/bin/dealernet-agent
755 usr/bin/dealernet-hq
755 usr/bin/dealernet-server'
# The folders make uninstall leaves: the shared ones, which other packages
# use too.
LEFT='usr
usr/bin
usr/lib
usr/lib/systemd
usr/lib/systemd/system
usr/lib/sysusers.d
usr/share
usr/share/bash-completion
usr/share/bash-completion/completions
usr/share/locale
usr/share/locale/zh_CN
usr/share/locale/zh_CN/LC_MESSAGES
usr/share/man
usr/share/man/man1'

# -- install never runs deps nor builds test tools ---------------------------
$MK -n install DESTDIR="$R" PREFIX=/usr >"$T/n-install" 2>&1
$MK -n all >"$T/n-all" 2>&1 || true
check "make -n all runs deps.sh (the yardstick)" yes \
    "$(grep -q 'deploy/deps.sh' "$T/n-all" && echo yes || echo no)"
check "make -n install runs deps.sh" no \
    "$(grep -q 'deps.sh\|apt-get' "$T/n-install" && echo yes || echo no)"
check "make -n install builds under tests/" no \
    "$(grep -q 'tests/' "$T/n-install" && echo yes || echo no)"

# -- install -------------------------------------------------------------------
$MK install DESTDIR="$R" PREFIX=/usr >"$T/install.out" 2>&1 || {
    cat "$T/install.out" >&2
    echo "install_files: make install failed" >&2
    exit 1
}
got=$(cd "$R" && find . ! -type d -printf '%m %P\n' | LC_ALL=C sort)
check "installed files" "$EXPECTED" "$got"
check "agent unit: ExecStart" "/usr/bin/dealernet-agent -d /var/lib/dealernet-agent run --interval 60" \
    "$(sed -n 's/^ExecStart=//p' "$R/usr/lib/systemd/system/dealernet-agent.service")"
check "server unit: ExecStart" "/usr/bin/dealernet-server -d /var/lib/dealernet-server run" \
    "$(sed -n 's/^ExecStart=//p' "$R/usr/lib/systemd/system/dealernet-server.service")"
check "the zh_CN catalogue is the one built" same \
    "$(cmp -s "$B/locale/zh_CN/LC_MESSAGES/dealernet.mo" "$R/usr/share/locale/zh_CN/LC_MESSAGES/dealernet.mo" && echo same || echo differs)"
check "example plan is deploy/plan.ini" same \
    "$(cmp -s "$ROOT/deploy/plan.ini" "$R/usr/share/dealernet/examples/plan.ini" && echo same || echo differs)"

# -- man pages -------------------------------------------------------------------
# tags FILE: the rendered page's entries under COMMANDS: each line indented
# 7 after a blank line (or the heading), blanks squeezed.
tags() {
    awk '/^[A-Z]/ { insec = ($0 == "COMMANDS"); prev = ""; next }
         insec { if (prev == "" && $0 ~ /^       [^ ]/) { l = $0; gsub(/ +/, " ", l); sub(/^ /, "", l); print l }
                 prev = $0 }' "$1"
}
# missing PAGE PROGRAM: the commands of PROGRAM --help with no entry in PAGE.
missing() {
    LC_ALL=C.UTF-8 MANWIDTH=80 man -E UTF-8 -l "$1" >"$T/page.txt" 2>/dev/null
    tags "$T/page.txt" >"$T/tags"
    sh "$ROOT/deploy/completion.sh" --commands "$2" | while read -r c; do
        found=no
        while read -r l; do
            case $l in "$c" | "$c "*) found=yes ;; esac
        done <"$T/tags"
        [ $found = yes ] || printf '%s;' "$c"
    done
}
for p in dealernet-agent dealernet-server dealernet-hq; do
    page=$R/usr/share/man/man1/$p.1
    LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l "$page" >"$T/man.out" 2>"$T/man.err" || true
    check "$p.1: man --warnings says nothing" "" "$(cat "$T/man.err")"
    check "$p.1: renders its NAME" "$p" \
        "$(sed -n '/^NAME/{n;p;}' "$T/man.out" | awk '{ print $1 }')"
    check "$p.1: documents every command of $p --help" "" "$(missing "$page" "$BIN/$p")"
done
sh "$ROOT/deploy/completion.sh" --commands "$BIN/dealernet-agent" >"$T/agent.cmds"
check "the agent's commands read from --help include member add and enroll" "2" \
    "$(grep -cx 'member add\|enroll' "$T/agent.cmds")"
check "hq's commands read from --help include exception resolve" "exception resolve" \
    "$(sh "$ROOT/deploy/completion.sh" --commands "$BIN/dealernet-hq" | grep -x 'exception resolve')"
check "the server's commands read from --help" "init run" \
    "$(sh "$ROOT/deploy/completion.sh" --commands "$BIN/dealernet-server" | tr '\n' ' ' | sed 's/ $//')"
# The yardstick: the agent's page without its `reminders` entry.
awk '/^\\fBreminders\\fR/ { skip = 1 } skip && /^\.SH/ { skip = 0 } !skip' \
    "$ROOT/man/dealernet-agent.1" | sed '$!N;/^\.TP\n\.SH/s/^\.TP\n//;P;D' >"$T/cut.1"
check "a page without reminders is caught" "reminders;" "$(missing "$T/cut.1" "$BIN/dealernet-agent")"

# -- bash completion -------------------------------------------------------------
# complete_words PROGRAM LINE: what the installed completion offers at the
# end of LINE, sorted, on one line.
complete_words() {
    bash -c 'source "$1"; fn=$(complete -p "$2" | sed "s/.*-F \([^ ]*\) .*/\1/")
             COMP_LINE=$3; COMP_POINT=${#3}; COMPREPLY=(); $fn
             printf "%s\n" "${COMPREPLY[@]}" | LC_ALL=C sort | tr "\n" " "' \
        _ "$R/usr/share/bash-completion/completions/$1" "$1" "$2" | sed 's/ $//'
}
for p in dealernet-agent dealernet-server dealernet-hq; do
    comp=$R/usr/share/bash-completion/completions/$p
    fn=_$(echo "$p" | tr - _)
    check "$p: completion loads" "complete -F $fn $p" \
        "$(bash -c 'source "$1" && complete -p "$2"' _ "$comp" "$p" 2>&1)"
    sh "$ROOT/deploy/completion.sh" --commands "$BIN/$p" >"$T/cmds"
    check "$p: completes the first words of its commands" \
        "$(awk '{ print $1 }' "$T/cmds" | LC_ALL=C sort -u | tr '\n' ' ' | sed 's/ $//')" \
        "$(complete_words "$p" "$p ")"
    bad=""
    while read -r c; do
        case $c in
        *" "*)
            case " $(complete_words "$p" "$p ${c% *} ") " in
            *" ${c##* } "*) ;;
            *) bad="$bad$c: not offered;" ;;
            esac ;;
        esac
        case " $(complete_words "$p" "$p $c --") " in
        *" --help "*) ;;
        *) bad="$bad$c --help: not offered;" ;;
        esac
    done <"$T/cmds"
    check "$p: every command's words and --help are offered" "" "$bad"
done
check "agent: member <TAB>" "add find list show update" "$(complete_words dealernet-agent 'dealernet-agent member ')"
check "agent: sale --channel <TAB>" "community online store" \
    "$(complete_words dealernet-agent 'dealernet-agent -d /tmp/x sale --line A:1 --channel ')"
check "hq: plan <TAB> after global options" "check list retire set show" \
    "$(complete_words dealernet-hq "dealernet-hq --server tcp://hq.example.com:7701 --timeout 5 plan ")"
mkdir -p "$T/plans"
: >"$T/plans/june.ini"
check "hq: plan set FILE completes files" "$T/plans/june.ini" \
    "$(complete_words dealernet-hq "dealernet-hq plan set $T/plans/j")"
check "server: -<TAB>" "--help --verbose --version -V -d -h -v" "$(complete_words dealernet-server 'dealernet-server -')"

# -- uninstall -------------------------------------------------------------------
$MK uninstall DESTDIR="$R" PREFIX=/usr >"$T/uninstall.out" 2>&1 || {
    cat "$T/uninstall.out" >&2
    echo "install_files: make uninstall failed" >&2
    exit 1
}
check "files left after uninstall" "" "$(cd "$R" && find . ! -type d -printf '%P\n')"
check "folders left after uninstall" "$LEFT" \
    "$(cd "$R" && find . -mindepth 1 -type d -printf '%P\n' | LC_ALL=C sort)"

# -- make deb ----------------------------------------------------------------------
if command -v dpkg-deb >/dev/null 2>&1 && command -v dpkg-shlibdeps >/dev/null 2>&1; then
    deb=$(B=$B sh "$ROOT/deploy/deb.sh" "$T/deb" "$BIN")
    check "deb: its files are make install's (man pages gzipped)" \
        "$(echo "$EXPECTED" | sed 's/^[0-9]* //; s/\.1$/.1.gz/' | LC_ALL=C sort)" \
        "$(dpkg-deb -c "$deb" | awk '$1 !~ /^d/ { sub(/^\.\//, "", $6); print $6 }' | LC_ALL=C sort)"
    check "deb: files owned by root" "root/root" \
        "$(dpkg-deb -c "$deb" | awk '{ print $2 }' | LC_ALL=C sort -u)"
    depends=$(dpkg-deb -f "$deb" Depends)
    for lib in libzmq5 libprotobuf-c1 libsqlite3-0 libssl3 libjansson4 libinih1 libqrencode4 \
               libunistring2; do
        check "deb: depends on $lib" yes \
            "$(echo "$depends" | grep -q "$lib (" && echo yes || echo no)"
    done
    check "deb: depends on tzdata (the zone database the server reads)" yes \
        "$(echo "$depends" | tr ',' '\n' | grep -qx ' *tzdata' && echo yes || echo no)"
    check "deb: version" "$(sed -n 's/^#define DN_VERSION "\(.*\)"$/\1/p' "$ROOT/common/dn_version.h")" \
        "$(dpkg-deb -f "$deb" Version)"
    dpkg-deb -e "$deb" "$T/deb-control"
    check_has "deb: postinst creates the users" "systemd-sysusers dealernet.conf" "$T/deb-control/postinst"
else
    echo "install_files: deb not checked: dpkg-deb or dpkg-shlibdeps not present"
fi

net_finish
