#!/bin/sh
# demo_figures.sh -- `make demo` prints correct figures.
#
# Runs deploy/demo.sh and checks the closing balances of the statements it
# prints against figures computed by hand from the demo's sales and the
# example plan (deploy/plan.ini; CNY, cap 15 %; levels 8/3/1 %, rice 5/2 %;
# referral 5.00 + 1 %), and that verify passes.  HQ never earns.
#
#   shop sale 1  rice 2x59.90=119.80: DEALER-BJ 5 % 5.99, REGION-N 2 % 2.396->2.40
#                oil 18.50:            DEALER-BJ 8 % 1.48, REGION-N 3 % 0.555->0.56
#   shop sale 2  rice 59.90 (Li Lei, referred by Wang Fang):
#                DEALER-BJ 2.995->3.00, REGION-N 1.198->1.20;
#                Wang Fang 5.00 first purchase + 1 % 0.599->0.60
#   shop sale 3  oil 4x18.50=74.00: DEALER-BJ 5.92, REGION-N 2.22;
#                refund 1 of 4 (18.50/74.00): back 1.48 and 0.555->0.56
#   group sale   10x55.00=550.00, no catalog category at the reseller's:
#                RESELLER-7 8 % 44.00, DEALER-BJ 3 % 16.50, REGION-N 1 % 5.50;
#                Zhao Min referred by RESELLER-7: 5.00 + 1 % 5.50;
#                refund 55.00 (10 %): back 4.40, 1.65, 0.55 and 0.55
#   DEALER-BJ  5.99+1.48+3.00+5.92-1.48+16.50-1.65      = 29.76
#   RESELLER-7 44.00+5.00+5.50-4.40-0.55                = 49.55
#   Wang Fang  5.00+0.60                                 =  5.60
#   DEALER-BJ team volume: its own 138.30+59.90+74.00 and RESELLER-7's
#   550.00 = 822.20, refunds 18.50+55.00 = 73.50, net 748.70
#   reminders (household 4, rice 2 x 30/4 = 15 days, oil 1 x 30/4 = 7): 2,
#   due by 2026-12-20 (the pinned day 2026-11-20 and the default 30 days), today named
#   by the network's zone: the demo runs in Asia/Shanghai (CNY's default)
set -u
BIN=${DN_BIN:-bin}
[ -n "${DN_WRAP:-}" ] && exit 77 # a whole demo under valgrind proves nothing more
out=$(mktemp)
trap 'rm -f "$out"' EXIT
pass=0
fail=0
check() {
    if [ "$2" = "$3" ]; then
        pass=$((pass + 1))
        echo "ok   $1: $2"
    else
        fail=$((fail + 1))
        echo "FAIL $1: expected '$2', got '$3'"
    fi
}

# The demo records its sales now: its clock is pinned (libfaketime, one
# offset for every process it starts, so they share one clock that runs at
# the real pace) to start at 2026-11-20 10:00:00 UTC, so its month is
# 2026-11 whatever today is.  Reading the month around a real run was not
# enough: a demo that ran across a month's end split the team volume into
# two months (seen under faketime '2026-12-31 23:59:58').  Monotonic clocks
# stay real (ZeroMQ's timeouts run on them).  libfaketime offsets the real
# clock, so the offset is taken from the real clock even when this test
# itself runs under faketime (as to prove it: faketime '2026-12-31 23:59:30').
if ! command -v faketime >/dev/null 2>&1; then
    echo "demo_figures: skipped, faketime is not installed (make deps)"
    exit 77
fi
START=$(date -u -d '2026-11-20 10:00:00' +%s)
offset=$((START - $(env -u LD_PRELOAD -u FAKETIME date -u +%s)))
[ "$offset" -ge 0 ] && offset=+$offset
# libfaketime is preloaded by hand, not through the faketime program (see
# net_faketime_lib in tests/lib/net.sh); under AddressSanitizer (make
# check-asan) the runtime must be told not to insist on coming first.
. "$(dirname "$0")/../lib/net.sh"
env -u FAKETIME_SHARED LD_PRELOAD="$(net_faketime_lib)" FAKETIME="${offset}s" \
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
    FAKETIME_DONT_FAKE_MONOTONIC=1 sh deploy/demo.sh "$BIN" >"$out" 2>&1
check "demo exit status" 0 $?
closing() { # the closing line after the statement header of account $1
    awk -v acct="$1" '$1 == "account" { cur = $2 } $1 == "closing" && cur == acct { print $2 }' "$out"
}
check "DEALER-BJ closing" 29.76 "$(closing partner:DEALER-BJ)"
check "RESELLER-7 closing" 49.55 "$(closing partner:RESELLER-7)"
check "Wang Fang closing" 5.60 "$(closing member:+8613800138000)"
team=$(grep -E '^[0-9]{4}-[0-9]{2} +DEALER-BJ ' "$out" | tr -s ' ')
check "team volume DEALER-BJ" "2026-11 DEALER-BJ CNY 4 822.20 2 73.50 748.70" "$team"
check "community channel" "community CNY 1 550.00 1 55.00 495.00" \
    "$(grep '^community  *CNY ' "$out" | tr -s ' ')"
check "reminders listed" 1 \
    "$(grep -c '^2 to call: due by 2026-12-20 or overdue (today 2026-11-20 Asia/Shanghai)' "$out")"
check "verify" 1 "$(grep -c '^verify: ok' "$out")"
check "one member conflict" 1 "$(grep -c '^+8613800138000 *SHOP-BJ1' "$out")"
# Every command line the demo prints ("$ ..."; 42 of them) pastes into a
# shell as it ran: it parses (sh -n), and outside its single-quoted
# arguments and its trailing comment it holds none of $ ! > < & ( ) ; | `
# " ' * ? -- a bare Z85 key (>6Rip...) would redirect into a file.  An
# argument with a space is quoted: a bare North region would be two.
cmds=$(mktemp)
trap 'rm -f "$out" "$cmds"' EXIT
# bare_shell CMD: true if CMD holds one of those outside single quotes
# and before a comment.
bare_shell() {
    printf '%s\n' "$1" | sed -e "s/'[^']*'/Q/g" -e 's/[[:space:]]#.*$//' |
        grep -q '[$!><&();|`"*?'"'"']'
}
sed -n 's/^\$ //p' "$out" >"$cmds"
n=0
bad=""
while IFS= read -r cmd; do
    n=$((n + 1))
    printf '%s\n' "$cmd" | sh -n 2>/dev/null || bad="$bad [does not parse: $cmd]"
    bare_shell "$cmd" && bad="$bad [bare shell character: $cmd]"
done <"$cmds"
check "printed commands" 42 "$n"
check "printed commands paste as they ran" "" "$bad"
check "a name with a space, quoted" 1 \
    "$(grep -c "^\\$ dealernet-hq partner add REGION-N --name 'North region' --kind region" "$out")"
check "a phone with spaces, quoted" 1 \
    "$(grep -c "^\\$ dealernet-hq member statement '+86 138 0013 8000'\$" "$out")"
# the check itself: a bare key, brackets, a stray quote are caught; quoted
# text and a comment are not
for cmd in "dealernet-agent enroll --server-key >6Rip" "x --referrer (138)" "x --name 'Li\""; do
    bare_shell "$cmd" && r=caught || r=missed
    check "the paste check on: $cmd" caught "$r"
done
cmd="x --key '>6Rip\$' --name 'Li Lei'   # a comment (with | and ;)"
bare_shell "$cmd" && r=caught || r=missed
check "the paste check on: $cmd" missed "$r"
# this demo's own folder (another demo may run beside it on a shared machine)
dir=$(sed -n 's/^== headquarters starts a server (in \(.*\)\/server)$/\1/p' "$out")
check "the demo's folder named" 1 "$([ -n "$dir" ] && echo 1 || echo 0)"
check "no process left" 0 "$(pgrep -f "dealernet-server -d ${dir:-/tmp/dealernet-demo}/" | wc -l)"
echo "demo_figures: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
