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
# passed.  Environment: DN_BIN (folder holding the programs, default bin).
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${DN_BIN:-bin}
case $BIN in /*) ;; *) BIN=$(pwd)/$BIN ;; esac
MAX=3.0

if ! command -v systemd-analyze >/dev/null 2>&1; then
    echo "units: skipped: systemd-analyze not present"
    exit 0
fi
for p in dealernet-agent dealernet-server dealernet-hq; do
    if [ ! -x "$BIN/$p" ]; then
        echo "units_review: no program $BIN/$p (build it first)" >&2
        exit 1
    fi
done

T=$(mktemp -d "${TMPDIR:-/tmp}/dn-units.XXXXXX")
trap 'rm -rf "$T"' EXIT
trap 'exit 130' INT TERM
R=$T/root
pass=0
fail=0

expect() {
    if [ "$2" = "$3" ]; then
        pass=$((pass + 1))
        echo "ok   $1: $3"
    else
        fail=$((fail + 1))
        echo "FAIL $1: expected '$2', got '$3'"
    fi
}

make -s --no-print-directory -C "$ROOT" install-files DESTDIR="$R" PREFIX=/usr/local \
    BIN="$BIN" >"$T/install.out" 2>&1 || {
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
expect "a unit without a sandbox scores above $MAX ($bare)" no "$(at_most "$bare" $MAX)"
rm -f "$UNITS/dn-bare.service"

for unit in dealernet-server.service dealernet-agent.service; do
    s=$(score "$unit")
    expect "$unit: exposure $s <= $MAX" yes "$(at_most "$s" $MAX)"
    set +e
    systemd-analyze verify --root="$R" "$unit" >"$T/verify.out" 2>&1
    rc=$?
    set -e
    expect "$unit: systemd-analyze verify exit" 0 "$rc"
    expect "$unit: systemd-analyze verify says nothing" "" "$(cat "$T/verify.out")"
    prog=${unit%.service}
    expect "$unit: ExecStart is the installed program" "/usr/local/bin/$prog" \
        "$(setting "$unit" ExecStart | cut -d' ' -f1)"
    expect "$unit: User" "$prog" "$(setting "$unit" User)"
    expect "$unit: StateDirectory" "$prog" "$(setting "$unit" StateDirectory)"
    line="units: $unit exposure $s (at most $MAX), verify ok"
    [ "$fail" -eq 0 ] && echo "$line"
done
expect "server: LimitNOFILE" 65536 "$(setting dealernet-server.service LimitNOFILE)"
expect "server: StateDirectoryMode" 0700 "$(setting dealernet-server.service StateDirectoryMode)"
expect "agent: StateDirectoryMode" 2770 "$(setting dealernet-agent.service StateDirectoryMode)"

# The users the units run as come from the installed sysusers.d file.
if command -v systemd-sysusers >/dev/null 2>&1; then
    mkdir -p "$R/etc"
    : >"$R/etc/passwd"
    : >"$R/etc/group"
    : >"$R/etc/shadow"
    : >"$R/etc/gshadow"
    systemd-sysusers --root="$R" >/dev/null 2>&1 || true
    for u in dealernet-server dealernet-agent; do
        expect "sysusers: user $u, home" "/var/lib/$u" \
            "$(awk -F: -v u="$u" '$1 == u { print $6 }' "$R/etc/passwd")"
        expect "sysusers: group $u" "$u" \
            "$(awk -F: -v u="$u" '$1 == u { print $1 }' "$R/etc/group")"
    done
else
    echo "units: sysusers not checked: systemd-sysusers not present"
fi

echo "units_review: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
