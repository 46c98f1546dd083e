#!/bin/sh
# hq_ledger_cli.sh -- dealernet-hq's tree, plan and ledger commands, end to end.
#
# Proves, with a real server and an agent on loopback in a throwaway folder,
# what HQ types and reads:
#   - plan set refuses a bad file whole with "line N: reason" (exit 65) and
#     takes deploy/plan.ini; plan show prints the version and its file; plan
#     list prints CSV;
#   - partner add --recruiter/--joined, partner move (and its refusals:
#     a cycle, a bad date), suspend / resume, and the tree as a table at two
#     dates, exactly;
#   - after three synced sales, the statement of the seller shows its
#     commissions to the fen (8 % of each sale, HQ above it never earns) as a
#     table (header, transfers, footer), as CSV (the transfers) and JSON;
#     payout moves money out and refuses more than the balance;
#   - verify exits 0 on the intact ledger, and 65 with "verify: N
#     differences" on stderr once a transfer row is changed behind its back;
#   - period close, twice.
set -eu
. "$(dirname "$0")/../lib/net.sh"
net_init hq_ledger_cli

server_init
server_start
network_init

# -- plans -----------------------------------------------------------------------

printf '[plan]\neffective = 2026-01-01\ncurrency = CNY\ncolour = red\n[levels]\n0 = 800\n' \
    >"$T/bad.ini"
hq plan set "$T/bad.ini"
check "bad plan: exit" 65 "$rc"
check_one_error "bad plan" "line 4: unknown key 'colour' in [plan]"
hq plan show
check "no plan yet: exit" 66 "$rc"

hq plan set deploy/plan.ini
check "plan set: exit" 0 "$rc"
check "plan set: says so" \
    "plan effective 2026-01-01 set (CNY, levels 800/300/100, cap 1500 bps): it applies to sales recorded from that day on" \
    "$(cat "$OUT")"
hq plan show --at 2026-03-01
check "plan show: exit" 0 "$rc"
check_has "plan show: levels" "levels                 800/300/100" "$OUT"
check_has "plan show: bonus" "first_purchase_bonus   5.00" "$OUT"
check_has "plan show: the file" "; plan.ini -- a commission and referral plan" "$OUT"
hq plan list --csv
check "plan list --csv: rows" 2 "$(wc -l <"$OUT" | tr -d ' ')"
check_has "plan list --csv: header" \
    "effective,currency,cap_bps,levels,categories,first_purchase_bonus" "$OUT"

# -- the tree --------------------------------------------------------------------

hq partner add R1 --name "Region one" --kind region --parent HQ
hq partner add D2 --name "Dealer two" --kind dealer --parent R1 --recruiter D1 \
    --joined 2026-01-05
check "partner add --recruiter: exit" 0 "$rc"
check "partner add --recruiter: says so" \
    "partner D2 added (dealer, parent R1, recruited by D1)" "$(cat "$OUT")"
hq partner move D2 --parent D1 --effective 2026-02-01
check "partner move: exit" 0 "$rc"
check "partner move: says so" \
    "partner D2 moves under D1 from 2026-02-01T00:00:00.000Z (before: under R1); sales recorded earlier keep their upline" \
    "$(cat "$OUT")"
hq partner move D1 --parent D2 --effective 2026-03-01
check "cycle: exit" 64 "$rc"
check_one_error "cycle" \
    "moving D1 under D2 would make a cycle: D2 is in the downline of D1 at 2026-03-01T00:00:00.000Z"
hq partner move D1 --parent D2 --effective 2026-02-30
check "bad date: exit" 64 "$rc"
check_one_error "bad date" "--effective '2026-02-30' is not a date (YYYY-MM-DD)"
hq partner suspend R1
check "suspend: exit" 0 "$rc"
check_has "suspend: says so" "partner R1 suspended from " "$OUT"
hq partner suspend R1
check "suspend twice: exit" 73 "$rc"
check_one_error "suspend twice" "partner R1 is already suspended (since "

hq partner tree --at 2026-01-31
check "tree on Jan 31: exit" 0 "$rc"
# dn_render pads to the widest cell and separates columns by two spaces
printf '%s\n' \
    "TREE    CODE  NAME         KIND    PARENT  STATUS  DEPTH" \
    "HQ      HQ    Head office  hq      -       active      0" \
    "  D1    D1    Dealer one   dealer  HQ      active      1" \
    "  R1    R1    Region one   region  HQ      active      1" \
    "    D2  D2    Dealer two   dealer  R1      active      2" >"$T/expected"
check "tree on Jan 31" "$(cat "$T/expected")" "$(cat "$OUT")"
hq partner tree R1
check "tree of R1 now: exit" 0 "$rc"
printf '%s\n' \
    "TREE  CODE  NAME        KIND    PARENT  STATUS     DEPTH" \
    "R1    R1    Region one  region  HQ      suspended      0" >"$T/expected"
check "tree of R1 now (D2 moved, R1 suspended)" "$(cat "$T/expected")" "$(cat "$OUT")"
hq partner resume R1
check "resume: exit" 0 "$rc"
check_has "resume: says so" "partner R1 active again from " "$OUT"
hq partner list --json
check "partner list: D2's recruiter" "D1" "$(sqlite3 :memory: \
    "SELECT json_extract(value, '\$.recruiter') FROM json_each(readfile('$OUT'))
     WHERE json_extract(value, '\$.code') = 'D2'")"

# -- sales, statements, payouts ----------------------------------------------------

TOKEN=$(site_add SHOP1)
A=$T/a
agent_new "$A" SHOP1
enroll "$A" "$TOKEN"
check "enroll: exit" 0 "$rc"
record_sales "$A" 3
agent "$A" sync
check "sync: exit" 0 "$rc"

# D1 sells; its parent HQ never earns: 8 % of each sale, rounded to the fen
# (x * 800 / 10000 = 2x / 25 never ends in exactly one half)
expected=0
while read -r total; do
    expected=$((expected + (total * 2 + 12) / 25))
done <"$A.totals"
money() { printf '%d.%02d' $(($1 / 100)) $(($1 % 100)); }

hq statement D1 --json
check "statement --json: exit" 0 "$rc"
cp "$OUT" "$T/statement.json"
check "statement: account" "partner:D1" "$(json "$T/statement.json" '$.account')"
check "statement: opening" "0.00" "$(json "$T/statement.json" '$.opening')"
check "statement: closing, to the fen" "$(money $expected)" \
    "$(json "$T/statement.json" '$.closing')"
check "statement: three commissions" 3 \
    "$(sqlite3 :memory: "SELECT json_array_length(readfile('$T/statement.json'), '\$.transfers')")"
check "statement: commission total" "$(money $expected)" \
    "$(json "$T/statement.json" '$.totals.commission')"
hq statement D1
check "statement table: exit" 0 "$rc"
check "statement table: header first" \
    "account   partner:D1" "$(head -n 1 "$OUT")"
check_has "statement table: transfers" "ID  DATE" "$OUT"
check "statement table: closing last" \
    "closing     $(money $expected)" "$(tail -n 1 "$OUT")"
hq statement D1 --csv
check "statement --csv: header and three rows" 4 "$(wc -l <"$OUT" | tr -d ' ')"
check_has "statement --csv: header" "id,date,code,amount,sale,level,rate_bps" "$OUT"

hq payout D1 0.01 --ref BANK-1
check "payout: exit" 0 "$rc"
check_has "payout: says so" \
    "payout of 0.01 CNY to D1 recorded (ref BANK-1, period " "$OUT"
check_has "payout: the balance left" "balance now $(money $((expected - 1))) CNY" "$OUT"
hq payout D1 "$(money $expected)" --ref BANK-2
check "payout above the balance: exit" 65 "$rc"
check "payout above the balance: one line" 1 "$(wc -l <"$ERR" | tr -d ' ')"
hq payout D1 1.001 --ref BANK-3
check "payout with 3 decimals: exit" 64 "$rc"
check_one_error "payout with 3 decimals" \
    "amount '1.001' is not an amount in CNY (at most 2 decimals, like 120.50)"
hq member statement 12ab
check "member statement, bad phone: exit" 64 "$rc"

# -- verify, period close ----------------------------------------------------------

hq verify
check "verify: exit" 0 "$rc"
check_has "verify: ok" "verify: ok (3 events, 4 transfers" "$OUT"
sq "DROP TRIGGER transfers_no_update;
    UPDATE transfers SET amount = amount + 1 WHERE id = 1;"
hq verify
check "verify, a transfer changed: exit" 65 "$rc"
check_one_error "verify, a transfer changed" "verify: "
check "verify, a transfer changed: differences on stdout" 1 \
    "$([ -s "$OUT" ] && echo 1 || echo 0)"
hq verify --json
check "verify --json: exit" 65 "$rc"
cp "$OUT" "$T/verify.json"
check "verify --json: ok" 0 "$(json "$T/verify.json" '$.ok')"

hq period close 2026-01
check "period close: exit" 0 "$rc"
check_has "period close: says so" "period 2026-01 closed at " "$OUT"
hq period close 2026-01
check "period close twice: exit" 73 "$rc"

net_finish
