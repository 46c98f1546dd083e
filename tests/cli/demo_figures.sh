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
#   reminders (household 4, rice 2 x 30/4 = 15 days, oil 1 x 30/4 = 7): 2
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

# The demo records its sales now, so its month is the month the demo ran in
# (UTC): read before and after, in case it ran across a month's end.
month_before=$(date -u +%Y-%m)
sh deploy/demo.sh "$BIN" >"$out" 2>&1
check "demo exit status" 0 $?
month_after=$(date -u +%Y-%m)
closing() { # the closing line after the statement header of account $1
    awk -v acct="$1" '$1 == "account" { cur = $2 } $1 == "closing" && cur == acct { print $2 }' "$out"
}
check "DEALER-BJ closing" 29.76 "$(closing partner:DEALER-BJ)"
check "RESELLER-7 closing" 49.55 "$(closing partner:RESELLER-7)"
check "Wang Fang closing" 5.60 "$(closing member:+8613800138000)"
team=$(grep -E '^[0-9]{4}-[0-9]{2} +DEALER-BJ ' "$out" | tr -s ' ')
team_month=${team%% *}
[ "$team_month" = "$month_after" ] || team_month=$month_before
check "team volume DEALER-BJ" "$team_month DEALER-BJ CNY 4 822.20 2 73.50 748.70" "$team"
check "community channel" "community CNY 1 550.00 1 55.00 495.00" \
    "$(grep '^community ' "$out" | tr -s ' ')"
check "reminders listed" 1 "$(grep -c '^2 to call' "$out")"
check "verify" 1 "$(grep -c '^verify: ok' "$out")"
check "one member conflict" 1 "$(grep -c '^+8613800138000 *SHOP-BJ1' "$out")"
check "no process left" 0 "$(pgrep -f "dealernet-server -d /tmp/dealernet-demo" | wc -l)"
echo "demo_figures: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
