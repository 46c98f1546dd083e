#!/bin/sh
# hq_comply.sh -- the compliance guard, end to end (issue 13, item 6).
#
# A real server and an agent on loopback in a throwaway folder.
#   - plan set and plan check of deploy/plan.ini with `compliance =
#     cn-direct-selling` added after cap_bps (line 65) are refused, exit 65,
#     one line naming the plan line, the rule and the article; a
#     single-level plan with the setting is accepted by plan check.
#   - deploy/plan.ini itself (no setting) is set as today, and a small
#     scenario is posted under it; `compliance` then reports, worked by hand:
#
#   tree: HQ (hq) -> D1 (dealer) -> G1 (reseller) -> G2 (reseller, recruited
#         by G1, --joined 2026-03-01); members: M1 13900000001 referred by
#         G1, M2 13900000002 referred by M1; site SHOP1 of D1; the clock
#         pinned at 2026-03-15 10:00 UTC, so all in 2026-03.
#   plan: levels 8 % / 3 % / 1 %, cap 15 %, bonus 5.00 + 1 %, override 0.5 %
#   s1  G2 sells TEA-250 x 4 = 100.00 to M1 (M1's first purchase, at the
#       site that signed it up: bound):
#         G2 level 0  8 % = 8.00        G1 level 1  3 % = 3.00
#         D1 level 2  1 % = 1.00        G1 override 0.5 % = 0.50
#         G1 (M1's referrer) 5.00 bonus + 1 % = 1.00
#   s2  G1 sells TEA-250 x 1 = 25.00 to M2 (bound):
#         G1 level 0  8 % = 2.00        D1 level 1  3 % = 0.75
#         (level 2 is HQ's: kept)       M1 (M2's referrer) 5.00 + 0.25
#   G1: own 2.00, others 3.00 + 0.50 = 3.50, recruiting 5.00 + 1.00 = 6.00,
#       income 11.50; own sales 25.00: pay 46.00 % (> 30 %: over_30pct);
#       shares 2/11.5 = 17.39 %, 3.5/11.5 = 30.43 %, 6/11.5 = 52.17 %;
#       above 0 (D1, HQ are businesses), below 2 (M1 -> M2), depth 3.
#   G2: own 8.00 of own sales 100.00 (8.00 %), 100.00 % own; above 1 (G1),
#       below 0, depth 2: flag chain only.
#   M1: recruiting 5.25 (100.00 %); above 1 (G1), below 1 (M2), depth 3.
#   M2: no income, nobody below: not listed.
#   summary: 3 rows (2 resellers, 1 member), all flagged; own 10.00, others
#       3.50, recruiting 11.25, income 24.75: 40.40 %, 14.14 %, 45.45 %.
set -eu
. "$(dirname "$0")/../lib/net.sh"
net_init hq_comply
net_pin_clock '2026-03-15 10:00:00'

server_init
server_start
network_init

# -- the guard -------------------------------------------------------------------

sed 's/^cap_bps = 1500$/cap_bps = 1500\ncompliance = cn-direct-selling/' deploy/plan.ini \
    >"$T/demo-cn.ini"
# the line of [levels]' "1 = 300" in that copy: the first rate above the
# seller's, where the refusal points (deploy/plan.ini's comments move it)
LINE=$(grep -n '^1 = 300$' "$T/demo-cn.ini" | head -n 1 | cut -d: -f1)
REFUSAL="line $LINE: [levels] pays level 1 on a reseller's sale: pay computed from a downline's sales (团队计酬) is pyramid selling under 禁止传销条例 art. 7(3)"
hq plan set "$T/demo-cn.ini"
check "demo plan under cn-direct-selling: exit" 65 "$rc"
check_one_error "demo plan under cn-direct-selling" "$REFUSAL"
hq plan check "$T/demo-cn.ini"
check "plan check, the same: exit" 65 "$rc"
check_one_error "plan check, the same" "$REFUSAL"
printf '%s\n' "[plan]" "effective = 2026-01-01" "currency = CNY" \
    "compliance = cn-direct-selling" "[levels]" "0 = 800" >"$T/single.ini"
hq plan check "$T/single.ini"
check "single-level plan under cn-direct-selling: exit" 0 "$rc"
hq plan show
check "nothing was stored: exit" 66 "$rc"

# -- a month under the demo plan -------------------------------------------------

hq plan set deploy/plan.ini
check "demo plan without the setting: exit" 0 "$rc"
hq partner add G1 --name "Reseller one" --kind reseller --parent D1
check "partner G1: exit" 0 "$rc"
hq partner add G2 --name "Reseller two" --kind reseller --parent G1 --recruiter G1 \
    --joined 2026-03-01
check "partner G2: exit" 0 "$rc"

A=$T/a
shop_enrolled "$A" SHOP1
must() { agent_must "$A" "$@"; }
must catalog set TEA-250 25.00 --category tea
must member add --phone 13900000001 --name "Wang Fang" --referrer G1
must member add --phone 13900000002 --name "Li Lei" --referrer 13900000001
must sale --line TEA-250:4 --seller G2 --member 13900000001
must sale --line TEA-250:1 --seller G1 --member 13900000002
agent "$A" sync
check "sync: exit" 0 "$rc"

hq compliance --period 2026-03 --json
check "compliance --json: exit" 0 "$rc"
cp "$OUT" "$T/c.json"
j() { json "$T/c.json" "$1"; }
check "setting in force" "none" "$(j '$.compliance')"
check "rows" 3 "$(sqlite3 :memory: "SELECT json_array_length(readfile('$T/c.json'), '\$.individuals')")"
row() { # row INDEX: who kind above below depth own_sales own others recruiting income pcts flags
    i=$1
    for k in who kind above below depth own_sales own others recruiting income \
        own_pct others_pct recruiting_pct pay_pct flags; do
        printf '%s|' "$(j "\$.individuals[$i].$k")"
    done
}
check "G1" "G1|reseller|0|2|3|25.00|2.00|3.50|6.00|11.50|17.39|30.43|52.17|46.00|others_sales recruiting over_30pct chain|" "$(row 0)"
check "G2" "G2|reseller|1|0|2|100.00|8.00|0.00|0.00|8.00|100.00|0.00|0.00|8.00|chain|" "$(row 1)"
check "M1" "+8613900000001|member|1|1|3||0.00|0.00|5.25|5.25|0.00|0.00|100.00||recruiting chain|" "$(row 2)"
sm() { # the summary's fields
    for k in individuals resellers members flagged others_sales recruiting over_30pct \
        chain longest_chain own others recruiting_income income own_pct others_pct \
        recruiting_pct; do
        printf '%s|' "$(j "\$.summary.$k")"
    done
}
check "summary" "3|2|1|3|1|2|1|3|3|10.00|3.50|11.25|24.75|40.40|14.14|45.45|" "$(sm)"

hq compliance --period 2026-03
check "compliance table: exit" 0 "$rc"
check_has "table: heading" \
    "compliance report for 2026-03 (CNY); plan in force at the month's end: none" "$OUT"
check_has "table: G1's flags" "others_sales recruiting over_30pct chain" "$OUT"
hq compliance --period 2026-03 --csv
check "compliance --csv: rows" 4 "$(wc -l <"$OUT" | tr -d ' ')"
hq compliance --period 2026-02
check "an empty month: exit" 0 "$rc"
hq compliance --period 2026-13
check "a bad month: exit" 64 "$rc"

net_finish
