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
#   - sale void (by id or a prefix of it) reverses the sale's commission and
#     is refused a second time (exit 65, saying when and by whom); adjust
#     with a negative and a positive amount; their refusals; the statement
#     shows each correction's line and reason; corrections lists them;
#   - verify exits 0 on the intact ledger (corrections included), and 65
#     with "verify: N differences" on stderr once a transfer row is changed
#     behind its back;
#   - plan check shows the changes of a file against the version in force
#     and stores nothing, refusing what plan set refuses; plan retire of a
#     version without sales, and its refusals (twice, unknown, with sales);
#   - a second payout with the same --ref is refused (exit 73);
#   - period close, twice; this month and a later one are refused (65);
#     period list.
set -eu
. "$(dirname "$0")/../lib/net.sh"
net_init hq_ledger_cli
# Every date of the scenario (2026-01 to 2026-07) lies in the past, as it did
# on the real clock the test was written on; the sales are recorded "now"
# and the statements read this month: on the real clock a run across a
# month's end read the month the sales were not in.
net_pin_clock '2026-09-15 10:00:00'

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

# plan check: the parse and refusals of plan set, a diff, nothing stored.  The
# June file against deploy/plan.ini: cap 1500 -> 2000, level 1 300 -> 350,
# level 2 (100) left out, rice gets a level 2 of 100; the rest the same.
printf '%s\n' "[plan]" "effective = 2026-06-01" "currency = CNY" "cap_bps = 2000" \
    "[levels]" "0 = 800" "1 = 350" "[category:rice]" "0 = 500" "1 = 200" "2 = 100" \
    "[referral]" "first_purchase_bonus = 5.00" "purchase_bps = 100" "purchase_days = 365" \
    "recruit_override_bps = 50" "recruit_override_days = 365" >"$T/june.ini"
hq plan check "$T/june.ini"
check "plan check: exit" 0 "$rc"
printf '%s\n' \
    "plan effective 2026-06-01 (CNY) is valid: 'plan set' would store it; nothing was stored" \
    "4 changes from the version in force on 2026-06-01 (effective 2026-01-01):" \
    "" \
    "FIELD              CHANGE   IN_FORCE  NEW" \
    "cap_bps            changed  1500      2000" \
    "[levels] 1         changed  300       350" \
    "[levels] 2         removed  100       -" \
    "[category:rice] 2  added    -         100" >"$T/expected"
check "plan check: the changes" "$(cat "$T/expected")" "$(cat "$OUT")"
hq plan check "$T/june.ini" --csv
# RFC 4180: lines end in CRLF
check "plan check --csv" "field,change,in_force,new
cap_bps,changed,1500,2000
[levels] 1,changed,300,350
[levels] 2,removed,100,
[category:rice] 2,added,,100" "$(tr -d '\r' <"$OUT")"
hq plan list --csv
check "plan check stored nothing" 2 "$(wc -l <"$OUT" | tr -d ' ')"
hq plan check "$T/bad.ini"
check "plan check, bad file: exit" 65 "$rc"
check_one_error "plan check, bad file" "line 4: unknown key 'colour' in [plan]"
hq plan check deploy/plan.ini
check "plan check, date taken: exit" 73 "$rc"
check_one_error "plan check, date taken" \
    "a plan effective 2026-01-01 exists already: a version is never replaced; set a new one with a later effective date"
hq plan check deploy/plan.ini --json --csv
check "plan check --json --csv: exit" 64 "$rc"

# plan retire: the June version, set by mistake, goes before any sale
hq plan set "$T/june.ini"
check "plan set June: exit" 0 "$rc"
hq plan retire 2026-06-01
check "plan retire: exit" 0 "$rc"
check_has "plan retire: says so" "plan effective 2026-06-01 retired at " "$OUT"
check_has "plan retire: what is in force instead" \
    "by hq: it is never in force again; from 2026-06-01 on the version effective 2026-01-01 is in force" \
    "$OUT"
hq plan show --at 2026-07-01
check_has "plan show after retire: January's levels" "levels                 800/300/100" "$OUT"
hq plan list --json
cp "$OUT" "$T/plans.json"
check "plan list: two versions" 2 \
    "$(sqlite3 :memory: "SELECT json_array_length(readfile('$T/plans.json'))")"
check "plan list: June retired by" "hq" "$(json "$T/plans.json" '$[1].retired_by')"
check "plan list: January in force" "" "$(json "$T/plans.json" '$[0].retired')"
hq plan retire 2026-06-01
check "plan retire twice: exit" 73 "$rc"
check_one_error "plan retire twice" "the plan effective 2026-06-01 was already retired at "
hq plan retire 2026-05-01
check "plan retire, no such version: exit" 66 "$rc"
check_one_error "plan retire, no such version" \
    "no plan version is effective 2026-05-01 (see: dealernet-hq plan list)"
hq plan retire 2026-02-30
check "plan retire, bad date: exit" 64 "$rc"
check_one_error "plan retire, bad date" "'2026-02-30' is not a date (YYYY-MM-DD)"
hq plan set "$T/june.ini"
check "plan set on a retired date: exit" 73 "$rc"
check_one_error "plan set on a retired date" \
    "a plan effective 2026-06-01 was retired at "

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
# the same reference twice is one bank transfer recorded twice: refused (73),
# naming the first payout (transfer 4, after the three commissions)
hq payout D1 0.01 --ref BANK-1
check "payout, reference used: exit" 73 "$rc"
check_one_error "payout, reference used" \
    "reference 'BANK-1' is already used by payout 4 (0.01 CNY to D1 at "
check "payout, reference used: one payout" 1 \
    "$(sq "SELECT count(*) FROM transfers WHERE code = 'payout'")"
check "payout, reference used: the schema's record" "BANK-1|4" \
    "$(sq "SELECT ref, transfer_id FROM payout_refs")"
hq payout D1 "$(money $expected)" --ref BANK-2
check "payout above the balance: exit" 65 "$rc"
check "payout above the balance: one line" 1 "$(wc -l <"$ERR" | tr -d ' ')"
hq payout D1 1.001 --ref BANK-3
check "payout with 3 decimals: exit" 64 "$rc"
check_one_error "payout with 3 decimals" \
    "amount '1.001' is not an amount in CNY (at most 2 decimals, like 120.50)"
hq member statement 12ab
check "member statement, bad phone: exit" 64 "$rc"

# -- corrections: sale void, adjust ----------------------------------------------------

# the first sale's id, as the statement shows it; its total and commission
SALE=$(json "$T/statement.json" '$.transfers[0].sale')
check "the sale's id: 36 characters" 36 "${#SALE}"
total1=$(head -n 1 "$A.totals")
c1=$(((total1 * 2 + 12) / 25))
hq sale void "$SALE"
check "void without a reason: exit" 64 "$rc"
check_one_error "void without a reason" "sale void needs --reason TEXT (why the sale is voided)"
hq sale void "$(echo "$SALE" | cut -c1-7)" --reason "too short"
check "void, 7 hex digits: exit" 64 "$rc"
check_one_error "void, 7 hex digits" "is not a sale id (36 characters like"
hq sale void 01234567-89ab-7def-8123-456789abcdef --reason "no such sale"
check "void of no sale: exit" 66 "$rc"
check_one_error "void of no sale" \
    "no sale has the id 01234567-89ab-7def-8123-456789abcdef"
hq sale void "$SALE" --reason "test sale at the opening"
check "void: exit" 0 "$rc"
check_has "void: says so" \
    "sale $SALE voided by hq (correction 1): 1 transfer reverses $(money $c1) CNY in " "$OUT"
check_has "void: refunded in full" \
    "; the sale counts as refunded in full ($(money $total1) CNY more)" "$OUT"
VOIDED_AT=$(sq "SELECT strftime('%Y-%m-%dT%H:%M:%fZ', created_ms / 1000.0, 'unixepoch')
                FROM corrections WHERE id = 1")
hq sale void "$SALE" --reason "twice"
check "void twice: exit" 65 "$rc"
check_one_error "void twice" \
    "sale $SALE was voided already, at $VOIDED_AT by hq (correction 1): a sale is voided once"
# upper case, the first 13 characters (the millisecond it was recorded): the same sale
hq sale void "$(echo "$SALE" | cut -c1-13 | tr a-f A-F)" --reason "twice, by prefix" --json
check "void twice, by a prefix: exit" 65 "$rc"
check_one_error "void twice, by a prefix" "sale $SALE was voided already"

hq adjust D1 -0.50 --reason "double commission on receipt 41"
check "adjust -0.50: exit" 0 "$rc"
check_has "adjust -0.50: says so" \
    "adjustment of -0.50 CNY to partner:D1 recorded by hq (correction 2, period " "$OUT"
# the balance: the commissions, less the payout of 0.01, the void, 0.50
check_has "adjust -0.50: the balance" \
    "balance now $(money $((expected - 1 - c1 - 50))) CNY" "$OUT"
hq adjust --reason "missed commission on receipt 17" D1 1.25 --json
check "adjust 1.25 --json: exit" 0 "$rc"
cp "$OUT" "$T/adjust.json"
check "adjust --json: correction" 3 "$(json "$T/adjust.json" '$.correction')"
check "adjust --json: amount" "1.25" "$(json "$T/adjust.json" '$.amount')"
check "adjust --json: balance" "$(money $((expected - 1 - c1 - 50 + 125)))" \
    "$(json "$T/adjust.json" '$.balance')"
check "adjust --json: by" "hq" "$(json "$T/adjust.json" '$.by')"
hq adjust D1 0 --reason "nothing"
check "adjust 0: exit" 64 "$rc"
check_one_error "adjust 0" "an adjustment of 0 changes nothing"
hq adjust D1 -0.50
check "adjust without a reason: exit" 64 "$rc"
check_one_error "adjust without a reason" \
    "adjust needs --reason TEXT (why the adjustment is made)"
hq adjust D1 -0.505 --reason "three decimals"
check "adjust with 3 decimals: exit" 64 "$rc"
check_one_error "adjust with 3 decimals" \
    "amount '-0.505' is not an amount in CNY (at most 2 decimals, like -12.50, negative to debit)"
hq adjust NOBODY 1.00 --reason "who"
check "adjust of no partner: exit" 66 "$rc"
check_one_error "adjust of no partner" "partner NOBODY does not exist"
hq adjust D1 1.00 --reason "$(printf 'two\nlines')"
check "adjust, reason of two lines: exit" 64 "$rc"

# the statement: the void's line and both adjustments, each with its reason
hq statement D1 --json
cp "$OUT" "$T/statement2.json"
check "statement: the void's line" \
    "adjustment|-$(money $c1)|$SALE|void|test sale at the opening" \
    "$(sqlite3 :memory: "SELECT json_extract(value, '\$.code') || '|' ||
         json_extract(value, '\$.amount') || '|' || json_extract(value, '\$.sale') || '|' ||
         json_extract(value, '\$.correction') || '|' || json_extract(value, '\$.reason')
         FROM json_each(readfile('$T/statement2.json'), '\$.transfers')
         WHERE json_extract(value, '\$.correction') = 'void'")"
check "statement: the adjustments' lines" \
    "-0.50|double commission on receipt 41;1.25|missed commission on receipt 17" \
    "$(sqlite3 :memory: "SELECT group_concat(json_extract(value, '\$.amount') || '|' ||
         json_extract(value, '\$.reason'), ';')
         FROM json_each(readfile('$T/statement2.json'), '\$.transfers')
         WHERE json_extract(value, '\$.correction') = 'adjustment'")"
check "statement: closing" "$(money $((expected - 1 - c1 - 50 + 125)))" \
    "$(json "$T/statement2.json" '$.closing')"
hq statement D1
check_has "statement table: the void's reason" "void        test sale at the opening" "$OUT"
hq corrections --csv
check "corrections --csv: exit" 0 "$rc"
check "corrections --csv: header and three rows" 4 "$(wc -l <"$OUT" | tr -d ' ')"
check_has "corrections --csv: header" \
    "id,kind,at,by,sale,account,amount,reversed,currency,period,transfers,reason" "$OUT"
check_has "corrections --csv: the void" \
    ",void,$VOIDED_AT,hq,$SALE,,$(money $total1),$(money $c1),CNY," "$OUT"

# -- verify, period close ----------------------------------------------------------

hq verify
check "verify: exit" 0 "$rc"
# 3 commissions, the payout, the void's reversal, 2 adjustments
check_has "verify: ok" "verify: ok (3 events, 7 transfers, 3 accounts, 3 corrections)" "$OUT"
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

# a month that has not ended (by the server's clock, pinned: 2026-09) is
# never closed, nor a later one
hq period close 2026-09
check "period close, this month: exit" 65 "$rc"
check_one_error "period close, this month" \
    "period 2026-09 has not ended yet: it can be closed from "
hq period close 2027-01
check "period close, a later month: exit" 65 "$rc"
check_one_error "period close, a later month" \
    "period 2027-01 has not ended yet: it can be closed from "
hq period list --json
cp "$OUT" "$T/periods.json"
check "period list: 2026-01 closed" "2026-01|closed|hq" \
    "$(json "$T/periods.json" '$[0].period')|$(json "$T/periods.json" '$[0].status')|$(json "$T/periods.json" '$[0].closed_by')"
check "period list: the open month last, this month" "2026-09|open" \
    "$(json "$T/periods.json" '$[#-1].period')|$(json "$T/periods.json" '$[#-1].status')"
hq period list --csv
check "period list --csv: header" "period,status,closed,closed_by" \
    "$(head -n 1 "$OUT" | tr -d '\r')"
hq period list
check "period list: table header" "PERIOD   STATUS  CLOSED                    CLOSED_BY" \
    "$(head -n 1 "$OUT")"

# after the sales, January's version has posted: never retired
hq plan retire 2026-01-01
check "plan retire, sales posted: exit" 77 "$rc"
check_one_error "plan retire, sales posted" \
    "the plan effective 2026-01-01 is the one in force for 3 stored sales (the first recorded "

net_finish
