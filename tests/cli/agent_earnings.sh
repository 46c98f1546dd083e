#!/bin/sh
# agent_earnings.sh -- earnings and member credit at the shop (issue 14, items
# 3 and 4, "Done when": `earnings` at the shop equals `dealernet-hq
# statement` for its partner after a sync, to the fen), end to end with a
# real server, hq and two agents on loopback:
#   - a network with deploy/plan.ini; SHOP1 of D1 and SHOP2 of D2 (D2 under
#     D1); sales with a referred member, a partial refund (clawbacks), a
#     payout recorded by HQ;
#   - after `sync`, `dealernet-agent earnings --json` at each shop equals
#     `dealernet-hq statement PARTNER --json` of its partner, figure by
#     figure, and each figure equals the one worked out by hand below;
#   - `member show` at SHOP2, which sold to the referrer member, shows that
#     member's referral credit (signed up at SHOP1, not here);
#   - `earnings` and `member show` say when a sync last refreshed them;
#   - after a new sale at SHOP1 and syncs, D1's figures and the referrer's
#     credit move, and SHOP2's unchanged earnings are not sent again (sync
#     --json's received.earnings.items is 0).
set -eu
. "$(dirname "$0")/../lib/net.sh"
net_init agent_earnings
# every event is recorded in September 2026 (the plan is effective
# 2026-01-01): the statements and the earnings read the open period 2026-09
net_pin_clock '2026-09-15 10:00:00'

server_init
server_start
# two shops: SHOP1 of D1 in $A, SHOP2 of D2 (under D1) in $B, both enrolled
two_shops D1

# Before any sync brought them: exit 66 (EX_NOINPUT), one line.
agent "$A" earnings
check "earnings before a sync: exit" 66 "$rc"
check_one_error "earnings before a sync" "no earnings received yet: run 'dealernet-agent sync'"

# -- the sales ------------------------------------------------------------------
# deploy/plan.ini: levels 800/300/100 bps, cap 1500; HQ (kind hq) never earns;
# referral: bonus 5.00 on a bound first purchase, 100 bps on every purchase
# within 365 days of the sign-up.
#
# SHOP2 (D2) sells 50.00 to M1 (+8613900139000), a phone SHOP1 signs up
# later (SHOP2 syncs first: M1 is not a member on the server yet):
#   D2 level 0: 50.00 x 8 % = 4.00; D1 level 1: 50.00 x 3 % = 1.50;
#   HQ's level 2 (0.50) is kept.  M1 has no referrer: no referral.
agent "$B" sale --line TEA:1@50.00 --member 13900139000 --json
check "SHOP2 sale to M1: exit" 0 "$rc"
check "SHOP2 sale to M1: total" 5000 "$(json "$OUT" '$.total_minor')"
run 60 "$AGENT" -d "$B" sync --json --timeout 60
check "SHOP2 first sync: exit" 0 "$rc"

# SHOP1 (D1) signs up M1 (no referrer), then M2 (+8613800138000) referred
# by M1, and sells 100.00 to M2: M2's first purchase, at its sign-up's
# site: the referral is bound.
#   D1 level 0: 100.00 x 8 % = 8.00 (HQ's level 1 kept);
#   M1's credit: bonus 5.00 + 100.00 x 1 % = 1.00.
agent "$A" member add --phone 13900139000 --name "Li Lei"
check "member add M1: exit" 0 "$rc"
agent "$A" member add --phone 13800138000 --name "Han Meimei" --referrer 13900139000
check "member add M2: exit" 0 "$rc"
agent "$A" sale --line RICE:2@50.00 --member 13800138000 --json
check "SHOP1 sale to M2: exit" 0 "$rc"
check "SHOP1 sale to M2: total" 10000 "$(json "$OUT" '$.total_minor')"
SALE=$(json "$OUT" '$.id')
# A refund of 40.00 of it (40 %) takes back 40 % of every transfer of the
# sale, the bonus kept (the refund is partial):
#   D1: 8.00 x 0.4 = 3.20 clawed back; M1: 1.00 x 0.4 = 0.40 clawed back.
agent "$A" refund "$SALE" --amount 40.00
check "SHOP1 refund: exit" 0 "$rc"
run 60 "$AGENT" -d "$A" sync --json --timeout 60
check "SHOP1 first sync: exit" 0 "$rc"

# HQ pays D1 5.00.
hq payout D1 5.00 --ref BANK-0915
check "payout: exit" 0 "$rc"

run 60 "$AGENT" -d "$A" sync --json --timeout 60
check "SHOP1 second sync: exit" 0 "$rc"
cp "$OUT" "$T/a-sync2.json"
check "SHOP1 second sync: the payout moved D1's earnings" 1 \
    "$(json "$T/a-sync2.json" '$.received.earnings.items')"
run 60 "$AGENT" -d "$B" sync --json --timeout 60
check "SHOP2 second sync: exit" 0 "$rc"
cp "$OUT" "$T/b-sync2.json"

# checked DIR STREAM: down_state's checked_ms of STREAM (2 earnings, 3
# members) in agent.db of DIR, as the agent prints times (ISO-8601, ms, UTC),
# in integer arithmetic.
checked() {
    sqlite3 "$1/agent.db" "SELECT strftime('%Y-%m-%dT%H:%M:%S', checked_ms / 1000, 'unixepoch')
        || printf('.%03dZ', checked_ms % 1000) FROM down_state WHERE stream = $2"
}

# -- each shop's earnings equal its partner's statement, to the fen -------------
# earnings_vs_statement DIR PARTNER LABEL: every figure of `earnings --json`
# at the shop DIR against `statement PARTNER --json` at HQ, in minor units
# (the statement's clawbacks and payouts are debits, negative; the shop
# shows them as positive amounts debited).
earnings_vs_statement() {
    agent "$1" earnings --json
    cp "$OUT" "$T/earn-$2.json"
    hq statement "$2" --json
    cp "$OUT" "$T/stmt-$2.json"
    e=$T/earn-$2.json
    s=$T/stmt-$2.json
    check "$3: partner" "$2" "$(json "$e" '$.partner')"
    check "$3: period as HQ's" "$(json "$s" '$.period')" "$(json "$e" '$.period')"
    check "$3: currency as HQ's" "$(json "$s" '$.currency')" "$(json "$e" '$.currency')"
    check "$3: opening as HQ's" "$(json "$s" '$.opening_minor')" "$(json "$e" '$.opening_minor')"
    check "$3: balance as HQ's" "$(json "$s" '$.closing_minor')" "$(json "$e" '$.balance_minor')"
    for code in commission override referral adjustment; do
        check "$3: $code as HQ's" "$(json "$s" "\$.totals.${code}_minor" | sed 's/^$/0/')" \
            "$(json "$e" "\$.${code}_minor")"
    done
    check "$3: clawbacks as HQ's" "$(json "$s" '$.totals.clawback_minor' | sed 's/^$/0/;s/^-//')" \
        "$(json "$e" '$.clawback_minor')"
    check "$3: payouts as HQ's" "$(json "$s" '$.totals.payout_minor' | sed 's/^$/0/;s/^-//')" \
        "$(json "$e" '$.payouts_minor')"
}

earnings_vs_statement "$A" D1 "SHOP1 (D1)"
# D1 by hand: commission 8.00 + 1.50 = 9.50; clawbacks 3.20; payouts 5.00;
# balance 0.00 + 9.50 - 3.20 - 5.00 = 1.30; last payout 5.00.
e=$T/earn-D1.json
check "D1 by hand: period" "2026-09" "$(json "$e" '$.period')"
check "D1 by hand: currency" "CNY" "$(json "$e" '$.currency')"
check "D1 by hand: opening" 0 "$(json "$e" '$.opening_minor')"
check "D1 by hand: commission" 950 "$(json "$e" '$.commission_minor')"
check "D1 by hand: override" 0 "$(json "$e" '$.override_minor')"
check "D1 by hand: referral" 0 "$(json "$e" '$.referral_minor')"
check "D1 by hand: clawbacks" 320 "$(json "$e" '$.clawback_minor')"
check "D1 by hand: adjustments" 0 "$(json "$e" '$.adjustment_minor')"
check "D1 by hand: payouts" 500 "$(json "$e" '$.payouts_minor')"
check "D1 by hand: balance" 130 "$(json "$e" '$.balance_minor')"
check "D1 by hand: balance as text" "1.30" "$(json "$e" '$.balance')"
check "D1 by hand: last payout" 500 "$(json "$e" '$.last_payout_minor')"
check "D1: the last payout has a time" yes \
    "$([ -n "$(json "$e" '$.last_payout_at')" ] && echo yes || echo no)"

earnings_vs_statement "$B" D2 "SHOP2 (D2)"
# D2 by hand: commission 4.00, nothing else; balance 4.00; no payout.
e=$T/earn-D2.json
check "D2 by hand: commission" 400 "$(json "$e" '$.commission_minor')"
check "D2 by hand: clawbacks" 0 "$(json "$e" '$.clawback_minor')"
check "D2 by hand: payouts" 0 "$(json "$e" '$.payouts_minor')"
check "D2 by hand: balance" 400 "$(json "$e" '$.balance_minor')"
check "D2 by hand: last payout" 0 "$(json "$e" '$.last_payout_minor')"
check "D2 by hand: no last payout" "" "$(json "$e" '$.last_payout_at')"

# The table: the same figures, the debits signed, and when a sync last
# refreshed them (the SHOP2 second sync: a time in the pinned day).
run 60 "$AGENT" -d "$A" earnings
check "earnings: exit" 0 "$rc"
check_has "earnings: the header" "partner D1, period 2026-09, in CNY (from the server at 2026-09-15T" "$OUT"
check_has "earnings: commission" "  commission    9.50" "$OUT"
check_has "earnings: clawbacks" "  clawbacks    -3.20" "$OUT"
check_has "earnings: payouts" "  payouts      -5.00" "$OUT"
check_has "earnings: balance" "  balance       1.30" "$OUT"
check_has "earnings: last payout" "  last payout   5.00 on 2026-09-15T" "$OUT"
check "earnings: refreshed, as down_state's check" \
    "refreshed $(checked "$A" 2)" \
    "$(tail -n 1 "$OUT")"
# header, 8 figures, the last payout: 10 lines, refreshed the 11th
check "earnings: 11 lines" 11 "$(grep -c . "$OUT")"
agent "$A" earnings
check "earnings -q: no refreshed line" 10 "$(grep -c . "$OUT")"

# -- the referrer's credit at SHOP2 ----------------------------------------------
# M1's credit: 5.00 + 1.00 - 0.40 = 5.60, as `member statement` at HQ closes.
hq member statement 13900139000 --json
check "HQ: M1's credit" 560 "$(json "$OUT" '$.closing_minor')"
agent "$B" member show 13900139000 --json
check "SHOP2 member show M1: exit" 0 "$rc"
cp "$OUT" "$T/m1.json"
check "SHOP2 member show M1: credit by hand" 560 "$(json "$T/m1.json" '$.credit_minor')"
check "SHOP2 member show M1: credit as text" "5.60" "$(json "$T/m1.json" '$.credit')"
check "SHOP2 member show M1: the network's name" "Li Lei" "$(json "$T/m1.json" '$.name')"
check "SHOP2 member show M1: not signed up here" "" "$(json "$T/m1.json" '$.signed_up_here')"
run 60 "$AGENT" -d "$B" member show "139 0013 9000"
check "SHOP2 member show M1, table: exit" 0 "$rc"
check_has "member show: the phone" "member     +8613900139000" "$OUT"
check_has "member show: not here" "signed up  not at this shop" "$OUT"
check_has "member show: the credit" "credit     5.60 CNY (referral credit as of 2026-09-15T" "$OUT"
check "member show: refreshed, as down_state's check" \
    "refreshed  $(checked "$B" 3)" \
    "$(tail -n 1 "$OUT")"
# M2 was never named at SHOP2: not sent there
agent "$B" member show 13800138000
check "SHOP2 member show M2: exit" 66 "$rc"
check_one_error "SHOP2 member show M2" \
    "no member +8613800138000 here: not signed up at this shop, and the network never sent its credit (run 'dealernet-agent sync')"

# -- a new sale at SHOP1: the figures move, SHOP2's earnings are not resent ------
# 20.00 to M2 at SHOP1: D1 20.00 x 8 % = 1.60 (commission 9.50 + 1.60 =
# 11.10, balance 1.30 + 1.60 = 2.90); M1 20.00 x 1 % = 0.20 (credit 5.80).
agent "$A" sale --line TEA:2@10.00 --member 13800138000
check "SHOP1 new sale: exit" 0 "$rc"
run 60 "$AGENT" -d "$A" sync --json --timeout 60
check "SHOP1 third sync: exit" 0 "$rc"
cp "$OUT" "$T/a-sync3.json"
check "SHOP1 third sync: D1's earnings again" 1 "$(json "$T/a-sync3.json" '$.received.earnings.items')"
earnings_vs_statement "$A" D1 "SHOP1 after the new sale"
check "D1 after the new sale, by hand: commission" 1110 "$(json "$T/earn-D1.json" '$.commission_minor')"
check "D1 after the new sale, by hand: balance" 290 "$(json "$T/earn-D1.json" '$.balance_minor')"

B_REFRESHED=$(sqlite3 "$B/agent.db" "SELECT checked_ms FROM down_state WHERE stream = 2")
B_AS_OF=$(json "$T/earn-D2.json" '$.as_of')
run 60 "$AGENT" -d "$B" sync --json --timeout 60
check "SHOP2 third sync: exit" 0 "$rc"
cp "$OUT" "$T/b-sync3.json"
check "SHOP2 third sync: D2's unchanged earnings not resent" 0 \
    "$(json "$T/b-sync3.json" '$.received.earnings.items')"
check "SHOP2 third sync: the earnings version held" \
    "$(json "$T/b-sync2.json" '$.received.earnings.version')" \
    "$(json "$T/b-sync3.json" '$.received.earnings.version')"
check "SHOP2 third sync: M1's new credit" 1 "$(json "$T/b-sync3.json" '$.received.members.items')"
earnings_vs_statement "$B" D2 "SHOP2 after SHOP1's sale"
check "SHOP2: as of unchanged (not resent)" "$B_AS_OF" "$(json "$T/earn-D2.json" '$.as_of')"
check "SHOP2: refreshed moved (the pull was answered)" yes \
    "$([ "$(sqlite3 "$B/agent.db" "SELECT checked_ms FROM down_state WHERE stream = 2")" -gt "$B_REFRESHED" ] && echo yes || echo no)"
check "SHOP2: earnings --json's refreshed is that check" "$(checked "$B" 2)" \
    "$(json "$T/earn-D2.json" '$.refreshed')"
check "SHOP2: refreshed is not as_of" yes \
    "$([ "$(json "$T/earn-D2.json" '$.refreshed')" != "$B_AS_OF" ] && echo yes || echo no)"
agent "$B" member show 13900139000 --json
check "SHOP2: M1's credit moved, by hand" 580 "$(json "$OUT" '$.credit_minor')"
hq member statement 13900139000 --json
check "HQ: M1's credit moved" 580 "$(json "$OUT" '$.closing_minor')"

net_finish
