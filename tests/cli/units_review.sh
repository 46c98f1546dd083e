#!/bin/sh
# units_review.sh -- the systemd units pass review (issue 11, item 7).
#
# Installs the programs, both units and the sysusers.d file into a scratch
# root with the Makefile's own install-files (PREFIX=/usr/local), so the
# units are checked as `make install` leaves them, ExecStart paths and all;
# then, with systemd's tools (this machine need not run systemd):
#   - `systemd-analyze security --offline=yes` scores each unit 3.0 or
#     lower (and scores a unit with no sandbox above 3.0, so the figure
#     read is the real one);
#   - `systemd-analyze verify` passes without a word: the installed
#     ExecStart exists and is executable, every directive is known;
#   - each unit runs as its own user, which `systemd-sysusers` creates from
#     the installed dealernet.conf; the server has LimitNOFILE=65536, both
#     have StateDirectory= (the server's 0700, the agent's 2770, shared with
#     its group).
# Where systemd-analyze is absent it prints
# `units: skipped: systemd-analyze not present` and passes.
#
# Prints one line per unit and a summary; exits 0 only if every check
# passed.  Environment: DN_BIN (folder holding the programs, default bin;
# see tests/lib/net.sh).
set -eu

if ! command -v systemd-analyze >/dev/null 2>&1; then
    echo "units: skipped: systemd-analyze not present"
    exit 0
fi
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/lib/net.sh"
net_init units_review # the programs, a throwaway folder $T, check, net_finish
MAX=3.0
R=$T/root

# the build folder of those programs (bin -> build, bin-X -> build-X) is
# make's B, where the catalogues install-files installs were built
bin_base=$(basename "$BIN")
B=$(dirname "$BIN")/build${bin_base#bin}
make -s --no-print-directory -C "$ROOT" install-files DESTDIR="$R" PREFIX=/usr/local \
    BIN="$BIN" B="$B" >"$T/install.out" 2>&1 || {
    cat "$T/install.out" >&2
    echo "units_review: make install-files failed" >&2
    exit 1
}
UNITS=$R/usr/local/lib/systemd/system
# verify resolves the units' dependencies (sysinit.target ...) in the root:
# give it the host's.
for d in /usr/lib/systemd/system /lib/systemd/system; do
    if [ -d "$d" ]; then
        mkdir -p "$R/usr/lib/systemd"
        cp -a "$d" "$R/usr/lib/systemd/"
        break
    fi
done

# score UNIT: the overall exposure that `systemd-analyze security` prints.
score() {
    systemd-analyze security --offline=yes --root="$R" "$1" 2>/dev/null |
        sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\) .*/\1/p'
}

# at_most A B: "yes" when the decimal A <= B.
at_most() {
    awk -v a="$1" -v b="$2" 'BEGIN { print (a != "" && a + 0 <= b + 0) ? "yes" : "no" }'
}

# setting UNIT KEY: the value of KEY= in the installed unit.
setting() {
    sed -n "s/^$2=//p" "$UNITS/$1" | tail -n 1
}

# The yardstick: a unit with no sandbox at all must score above 3.0.
printf '[Service]\nExecStart=/usr/local/bin/dealernet-agent run\n' >"$UNITS/dn-bare.service"
bare=$(score dn-bare.service)
check "a unit without a sandbox scores above $MAX ($bare)" no "$(at_most "$bare" $MAX)"
rm -f "$UNITS/dn-bare.service"

for unit in dealernet-server.service dealernet-agent.service; do
    s=$(score "$unit")
    check "$unit: exposure $s <= $MAX" yes "$(at_most "$s" $MAX)"
    set +e
    systemd-analyze verify --root="$R" "$unit" >"$T/verify.out" 2>&1
    rc=$?
    set -e
    check "$unit: systemd-analyze verify exit" 0 "$rc"
    check "$unit: systemd-analyze verify says nothing" "" "$(cat "$T/verify.out")"
    prog=${unit%.service}
    check "$unit: ExecStart is the installed program" "/usr/local/bin/$prog" \
        "$(setting "$unit" ExecStart | cut -d' ' -f1)"
    check "$unit: User" "$prog" "$(setting "$unit" User)"
    check "$unit: StateDirectory" "$prog" "$(setting "$unit" StateDirectory)"
    line="units: $unit exposure $s (at most $MAX), verify ok"
    [ "$fail" -eq 0 ] && echo "$line"
done
check "server: LimitNOFILE" 65536 "$(setting dealernet-server.service LimitNOFILE)"
check "server: StateDirectoryMode" 0700 "$(setting dealernet-server.service StateDirectoryMode)"
check "agent: StateDirectoryMode" 2770 "$(setting dealernet-agent.service StateDirectoryMode)"

# The users the units run as come from the installed sysusers.d file.
if command -v systemd-sysusers >/dev/null 2>&1; then
    mkdir -p "$R/etc"
    : >"$R/etc/passwd"
    : >"$R/etc/group"
    : >"$R/etc/shadow"
    : >"$R/etc/gshadow"
    systemd-sysusers --root="$R" >/dev/null 2>&1 || true
    for u in dealernet-server dealernet-agent; do
        check "sysusers: user $u, home" "/var/lib/$u" \
            "$(awk -F: -v u="$u" '$1 == u { print $6 }' "$R/etc/passwd")"
        check "sysusers: group $u" "$u" \
            "$(awk -F: -v u="$u" '$1 == u { print $1 }' "$R/etc/group")"
    done
else
    echo "units: sysusers not checked: systemd-sysusers not present"
fi

net_finish
