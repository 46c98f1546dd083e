#!/bin/sh
# agent_import.sh -- `dealernet-agent import` and `export --unsynced`.
#
# Proves, against the real program in throwaway folders:
#   - a CSV of 2 members and 3 sales (one of 2 lines, with member, channel
#     and seller) imports, and `sales` / `member list` show the exact totals;
#   - importing it again records nothing and skips 5; an overlapping file
#     records only its new sale; --dry-run records nothing;
#   - a bad price on line 7 is refused with "line 7, column unit_price", exit
#     65, and agent.db is as it was (events counted, `check` passes); a sale
#     refused by the recording path after a member was recorded takes the
#     member back with it (one transaction);
#   - BOM, CRLF, columns in any order, quoted fields with commas and quotes;
#     a bad quote is refused with its line and column; a time column, an
#     unknown column, a ref used twice are refused;
#   - a ref imported before with other lines is refused;
#   - refund rows by lines and by amount, naming a sale of the same file and
#     one imported before (and one by its id here), and a member_update row,
#     record exact refunded amounts, quantities and details; importing again
#     records nothing; a refund over what is left, a unit_price on a refund
#     row, an unknown sale_ref, an unknown member are refused with their line
#     and nothing is recorded (the sale before them goes back too);
#   - export --unsynced after 3 sales of which 1 is acknowledged writes
#     exactly the 2 others, changes nothing in agent.db, never overwrites a
#     file, and a fresh agent importing the file records them with the same
#     totals;
#   - then with a member, refunds of both unsynced sales and a member update
#     recorded, plus a refund of the acknowledged sale and an update of the
#     acknowledged member: export refuses (exit 65, no file, the refund and
#     sale named); --skip-unmovable writes exactly the rest in recorded order
#     and warns of the 2 left out; a fresh agent importing it holds the exact
#     net totals, and the agent that imported the first file records only the
#     new refunds, member and update.
#
# The old PC is enrolled with a real server on loopback (tests/lib/net.sh),
# which acknowledges sale 1.
#
# Environment: see tests/lib/net.sh (DN_BIN, DN_WRAP, DN_TOOLS, DN_KEEP).
set -eu
. "$(dirname "$0")/../lib/net.sh"
net_init agent_import
SHOP=$T/shop

# a ARGS...: the agent, not quiet (sets rc, $OUT, $ERR).
a() { run 60 "$AGENT" "$@"; }
# jsql FILE PATH EXPR: EXPR over the elements of the JSON array at PATH in
# FILE (each as value), one row.
jsql() { sqlite3 :memory: "SELECT $3 FROM json_each(readfile('$1'), '$2')"; }
events() { sqlite3 "$1/agent.db" "SELECT count(*) FROM events"; }
# state DIR: everything agent.db holds, for before/after.
state() { sqlite3 "$1/agent.db" .dump | cksum; }

# refused NAME FILE MESSAGE: importing FILE into $SHOP exits 65 with exactly
# MESSAGE on one stderr line, and agent.db is as it was.
refused() {
    before=$(state "$SHOP")
    n=$(events "$SHOP")
    a -d "$SHOP" import "$2"
    check "$1: exit" 65 "$rc"
    check "$1: message" "dealernet-agent: error: $3" "$(cat "$ERR")"
    check "$1: stdout empty" 0 "$(wc -c <"$OUT" | tr -d ' ')"
    check "$1: events" "$n" "$(events "$SHOP")"
    check "$1: agent.db unchanged" "$before" "$(state "$SHOP")"
}

a -d "$SHOP" init --site S1 --partner D1
a -d "$SHOP" catalog set TEA 12.50

# -- a file of 2 members and 3 sales ----------------------------------------

cat >"$T/pos.csv" <<'EOF'
kind,ref,sku,quantity,unit_price,member_phone,channel,seller,phone,name,referrer,household
member,M1,,,,,,,13800138000,"Wang, Xiao",,3
member,M2,,,,,,,139 0013 9000,Li,13800138000,
sale,R1,TEA,2,,13800138000,online,D2,,,,
sale,R1,RICE,1,30.00,,,,,,,
sale,R2,TEA,1,,,,,,,,
sale,R3,OIL,3,9.99,,community,,,,,
EOF
a -d "$SHOP" import "$T/pos.csv"
check "import: exit" 0 "$rc"
check "import: summary" "imported: 3 sales (4 lines), 2 members, 0 refunds, 0 member updates; skipped 0 already imported" \
    "$(cat "$OUT")"
check "import: events" 5 "$(events "$SHOP")"
a -d "$SHOP" sales --all --json
cp "$OUT" "$T/sales.json"
# R1 = 2 x 12.50 (catalog) + 1 x 30.00 = 55.00; R2 = 12.50; R3 = 3 x 9.99 = 29.97
check "sales: totals" "5500 1250 2997" \
    "$(jsql "$T/sales.json" '$' "group_concat(json_extract(value, '\$.total_minor'), ' ')")"
# 5500 + 1250 + 2997 = 9747
check "sales: sum" 9747 "$(jsql "$T/sales.json" '$' "sum(json_extract(value, '\$.total_minor'))")"
check "sale R1: member, channel, seller" "+8613800138000 online D2" \
    "$(json "$T/sales.json" '$[0].member') $(json "$T/sales.json" '$[0].channel') $(json "$T/sales.json" '$[0].seller')"
check "sale R1: lines" "TEA:2@1250 RICE:1@3000" \
    "$(jsql "$T/sales.json" '$[0].lines' "group_concat(printf('%s:%s@%s', json_extract(value, '\$.sku'), json_extract(value, '\$.quantity'), json_extract(value, '\$.unit_price_minor')), ' ')")"
check "sale R3: channel, seller (the site's partner)" "community D1" \
    "$(json "$T/sales.json" '$[2].channel') $(json "$T/sales.json" '$[2].seller')"
a -d "$SHOP" member list --json
check "members" "+8613800138000|Wang, Xiao||3;+8613900139000|Li|+8613800138000|" \
    "$(jsql "$OUT" '$' "group_concat(printf('%s|%s|%s|%s', json_extract(value, '\$.phone'), json_extract(value, '\$.name'), json_extract(value, '\$.referrer'), json_extract(value, '\$.household')), ';')")"
a -d "$SHOP" check
check "check after import" 0 "$rc"

# -- again: nothing twice ----------------------------------------------------

a -d "$SHOP" import "$T/pos.csv"
check "re-import: summary" "imported: 0 sales (0 lines), 0 members, 0 refunds, 0 member updates; skipped 5 already imported" \
    "$(cat "$OUT")"
a -d "$SHOP" import "$T/pos.csv" --json
check "re-import --json" "0 0 0 0 5 3 2" \
    "$(sqlite3 :memory: "SELECT printf('%d %d %d %d %d %d %d', j->>'dry_run', j->>'sales', j->>'lines', j->>'members', j->>'skipped', j->>'skipped_sales', j->>'skipped_members') FROM (SELECT readfile('$OUT') AS j)")"
check "re-import: events" 5 "$(events "$SHOP")"

# an overlapping file: its new sale only (R4 = 4 x 12.50 = 50.00); "1.5" is
# "1.50" and a phone typed another way is the same phone, so R1 is the same
sed -e 's/^sale,R1,RICE,1,30.00,/sale,R1,RICE,1,30,/' \
    -e 's/^sale,R1,TEA,2,,13800138000,/sale,R1,TEA,2,,+86 138 0013 8000,/' "$T/pos.csv" \
    >"$T/more.csv"
echo "sale,R4,TEA,4,,,,,,,," >>"$T/more.csv"
a -d "$SHOP" import "$T/more.csv" --dry-run
check "dry run: summary" \
    "dry run, would import: 1 sales (1 lines), 0 members, 0 refunds, 0 member updates; skipped 5 already imported; nothing recorded" \
    "$(cat "$OUT")"
check "dry run: events" 5 "$(events "$SHOP")"
a -d "$SHOP" import "$T/more.csv"
check "overlap: summary" "imported: 1 sales (1 lines), 0 members, 0 refunds, 0 member updates; skipped 5 already imported" \
    "$(cat "$OUT")"
a -d "$SHOP" sales --all --json
check "overlap: R4's total" 5000 "$(json "$OUT" '$[3].total_minor')"
check "overlap: events" 6 "$(events "$SHOP")"

# -- refusals: nothing recorded ------------------------------------------------

cat >"$T/bad.csv" <<'EOF'
kind,ref,sku,quantity,unit_price,phone,name
member,M3,,,,13700137000,Zhao
sale,R10,TEA,1,,,
sale,R11,TEA,1,,,
sale,R11,RICE,2,3.00,,
sale,R12,TEA,1,,,
sale,R13,OIL,1,1.2.3,,
EOF
refused "bad price on line 7" "$T/bad.csv" \
    "$T/bad.csv: line 7, column unit_price: price must be an amount from 0 to 10000000000.00 with at most 2 decimals; nothing was imported"
a -d "$SHOP" check
check "check after the refusal" 0 "$rc"

# the recording path refuses line 3 after line 2's member was recorded: the
# member goes back with it
printf 'kind,ref,sku,quantity,phone\nmember,M4,,,13600136000\nsale,R20,NOPRICE,2,\n' >"$T/noprice.csv"
refused "a sale dn_record refuses" "$T/noprice.csv" \
    "$T/noprice.csv: line 3: sale R20: SKU NOPRICE has no price in the catalog; give it as NOPRICE:2@PRICE or run 'catalog set NOPRICE PRICE'; nothing was imported"

sed 's/^sale,R3,OIL,3,9.99,/sale,R3,OIL,3,9.98,/' "$T/pos.csv" >"$T/changed.csv"
before=$(state "$SHOP")
a -d "$SHOP" import "$T/changed.csv"
check "changed ref: exit" 65 "$rc"
case $(cat "$ERR") in
"dealernet-agent: error: $T/changed.csv: line 7, column ref: ref R3 was imported on "*" with other lines (seq 5); give this sale a new ref or leave it out; nothing was imported")
    check "changed ref: message" yes yes ;;
*) check "changed ref: message" "ref R3 was imported on DATE with other lines" "$(cat "$ERR")" ;;
esac
check "changed ref: agent.db unchanged" "$before" "$(state "$SHOP")"

printf 'kind,ref,sku,quantity\nsale,R30,T"EA,1\n' >"$T/quote.csv"
refused "bad quote" "$T/quote.csv" \
    "$T/quote.csv: line 2, column 11: a quote inside an unquoted field; quote the whole field and double the quote (\"\"); nothing was imported"
printf 'kind,ref,sku,quantity\nsale,R31,"TEA"x,1\n' >"$T/quote2.csv"
refused "text after a closing quote" "$T/quote2.csv" \
    "$T/quote2.csv: line 2, column 15: only a comma or the end of the row may follow a closing quote (a quote inside a quoted field is written \"\"); nothing was imported"
printf 'kind,ref,sku,quantity,time\nsale,R32,TEA,1,2026-01-05T10:00:00+08:00\n' >"$T/time.csv"
refused "time column" "$T/time.csv" \
    "$T/time.csv: line 1: column time is refused: the agent stamps each sale with the time it records it and chains its events in that order, so a POS time could not be kept; remove the column; nothing was imported"
printf 'kind,ref,sku,qty\n' >"$T/unknown.csv"
refused "unknown column" "$T/unknown.csv" \
    "$T/unknown.csv: line 1: unknown column 'qty' (the columns are kind, ref, sku, quantity, unit_price, member_phone, channel, seller, phone, name, referrer, household, sale_ref, amount); nothing was imported"
printf 'kind,ref,sku,quantity\nsale,R33,TEA,1\nsale,R34,TEA,1\nsale,R33,TEA,2\n' >"$T/twice.csv"
refused "a sale's rows apart" "$T/twice.csv" \
    "$T/twice.csv: line 4, column ref: ref R33 is used again (its sale is on line 2): a ref names one sale, and a sale's rows are consecutive; nothing was imported"
printf 'kind,ref,sku,quantity,channel\nsale,R35,TEA,1,online\nsale,R35,RICE,1,store\n' >"$T/channel.csv"
refused "two channels in a sale" "$T/channel.csv" \
    "$T/channel.csv: line 3, column channel: 'store' differs from 'online' on line 2: a sale (ref R35) has one channel; repeat it or leave it empty on its other rows; nothing was imported"

# -- BOM, CRLF, any column order, quoted fields --------------------------------

printf '\357\273\277ref,name,kind,phone,household\r\nM5,"Chen ""CC"", Jr",member,13500135000,2\r\n\r\nM6,"Zhou\r\n",member,13400134000,\r\n' \
    >"$T/crlf.csv"
refused "a name with a line break" "$T/crlf.csv" \
    "$T/crlf.csv: line 4: member M6: name is not UTF-8 text without control characters; nothing was imported"
printf '\357\273\277ref,name,kind,phone,household\r\nM5,"Chen ""CC"", Jr",member,13500135000,2\r\n\r\n,,,,\r\nM6,"Zhou",member,13400134000,\r\n' \
    >"$T/crlf.csv"
a -d "$SHOP" import "$T/crlf.csv"
check "BOM, CRLF: summary" "imported: 0 sales (0 lines), 2 members, 0 refunds, 0 member updates; skipped 0 already imported" \
    "$(cat "$OUT")"
a -d "$SHOP" member list --json
check "BOM, CRLF: the members" '+8613500135000|Chen "CC", Jr|2;+8613400134000|Zhou|' \
    "$(jsql "$OUT" '$' "group_concat(printf('%s|%s|%s', json_extract(value, '\$.phone'), json_extract(value, '\$.name'), json_extract(value, '\$.household')), ';') FILTER (WHERE key >= 2)")"

# -- refunds and member updates -------------------------------------------------

# R40 = 3 x 12.50 (catalog) + 2 x 4.00 = 45.50; F1 refunds of it TEA 1 and
# SOAP 2 = 12.50 + 8.00 = 20.50 (R40 in this file, on an earlier row); F2
# refunds 5.00 of R1 (imported by pos.csv); U1 renames M1 and sets household 4
cat >"$T/refunds.csv" <<'EOF'
kind,ref,sku,quantity,unit_price,sale_ref,amount,phone,name,household
sale,R40,TEA,3,,,,,,
sale,R40,SOAP,2,4.00,,,,,
refund,F1,TEA,1,,R40,,,,
refund,F1,SOAP,2,,,,,,
refund,F2,,,,R1,5.00,,,
member_update,U1,,,,,,13800138000,Wang Xiao,4
EOF
n=$(events "$SHOP")
a -d "$SHOP" import "$T/refunds.csv"
check "refunds: summary" "imported: 1 sales (2 lines), 0 members, 2 refunds, 1 member updates; skipped 0 already imported" \
    "$(cat "$OUT")"
check "refunds: events" $((n + 4)) "$(events "$SHOP")"
a -d "$SHOP" sales --all --json
cp "$OUT" "$T/sales2.json"
# R1 55.00, 5.00 refunded; R40 45.50, 20.50 refunded
check "refunds: R1 total, refunded" "5500 500" \
    "$(json "$T/sales2.json" '$[0].total_minor') $(json "$T/sales2.json" '$[0].refunded_minor')"
check "refunds: R40 total, refunded" "4550 2050" \
    "$(json "$T/sales2.json" '$[4].total_minor') $(json "$T/sales2.json" '$[4].refunded_minor')"
check "refunds: R40's lines refunded" "TEA:3-1 SOAP:2-2" \
    "$(jsql "$T/sales2.json" '$[4].lines' "group_concat(printf('%s:%s-%s', json_extract(value, '\$.sku'), json_extract(value, '\$.quantity'), json_extract(value, '\$.refunded_quantity')), ' ')")"
a -d "$SHOP" member list --json
check "member_update: M1 renamed, household 4" "+8613800138000|Wang Xiao|4" \
    "$(jsql "$OUT" '$' "group_concat(printf('%s|%s|%s', json_extract(value, '\$.phone'), json_extract(value, '\$.name'), json_extract(value, '\$.household')), ';') FILTER (WHERE key = 0)")"
a -d "$SHOP" import "$T/refunds.csv"
check "refunds: again" "imported: 0 sales (0 lines), 0 members, 0 refunds, 0 member updates; skipped 4 already imported" \
    "$(cat "$OUT")"
check "refunds: again, events" $((n + 4)) "$(events "$SHOP")"

# a sale named by its id here: 2.50 of R2 (12.50), 10.00 left
r2=$(json "$T/sales2.json" '$[1].id')
printf 'kind,ref,sale_ref,amount\nrefund,F3,%s,2.50\n' "$r2" >"$T/byid.csv"
a -d "$SHOP" import "$T/byid.csv"
check "refund by sale id: summary" "imported: 0 sales (0 lines), 0 members, 1 refunds, 0 member updates; skipped 0 already imported" \
    "$(cat "$OUT")"
a -d "$SHOP" sales --all --json
check "refund by sale id: R2 refunded" 250 "$(json "$OUT" '$[1].refunded_minor')"

# refused, and the new sale R41 on the row before goes back with them: R40's
# TEA has 3 - 1 = 2 left; R2 has 12.50 - 2.50 = 10.00 left
printf 'kind,ref,sku,quantity,sale_ref\nsale,R41,TEA,1,\nrefund,F4,TEA,3,R40\n' >"$T/over.csv"
refused "a refund of more than is left" "$T/over.csv" \
    "$T/over.csv: line 3: refund F4: SKU TEA: 3 to refund but only 2 of 3 still refundable; nothing was imported"
printf 'kind,ref,sku,quantity,sale_ref,amount\nsale,R41,TEA,1,,\nrefund,F5,,,R2,10.01\n' >"$T/over2.csv"
refused "a refund amount over what is left" "$T/over2.csv" \
    "$T/over2.csv: line 3: refund F5: refund of 10.01 CNY exceeds the 10.00 CNY still refundable; nothing was imported"
printf 'kind,ref,sku,quantity,unit_price,sale_ref\nrefund,F6,TEA,1,12.50,R40\n' >"$T/price.csv"
refused "a refund row with a unit_price" "$T/price.csv" \
    "$T/price.csv: line 2, column unit_price: a refund line is refunded at the sale's price; leave unit_price empty; nothing was imported"
printf 'kind,ref,sku,quantity,sale_ref\nrefund,F7,TEA,1,R99\nsale,R99,TEA,1,\n' >"$T/nosale.csv"
refused "a refund of a sale not (yet) imported" "$T/nosale.csv" \
    "$T/nosale.csv: line 2, column sale_ref: refund F7: sale_ref R99 is no sale of this agent: neither the ref of a sale imported here (in this file, on an earlier row, or before) nor a sale id ('sales' lists them); nothing was imported"
printf 'kind,ref,sku,quantity,sale_ref,amount\nrefund,F8,TEA,1,R40,1.00\n' >"$T/both.csv"
refused "a refund row of lines and an amount" "$T/both.csv" \
    "$T/both.csv: line 2, column amount: a refund row gives sku and quantity (a line to refund) or an amount, not both; nothing was imported"
printf 'kind,ref,phone,name\nmember_update,U2,13300133000,Qian\n' >"$T/nomember.csv"
refused "an update of a member not signed up here" "$T/nomember.csv" \
    "$T/nomember.csv: line 2: member update U2: no member with phone +8613300133000 at this site; nothing was imported"
printf 'kind,ref,phone,referrer\nmember_update,U3,13800138000,D1\n' >"$T/referrer.csv"
refused "an update of a referrer" "$T/referrer.csv" \
    "$T/referrer.csv: line 2, column referrer: a member's referrer cannot be changed; leave referrer empty; nothing was imported"
sed 's/^refund,F2,,,,R1,5.00,/refund,F2,,,,R1,6.00,/' "$T/refunds.csv" >"$T/changed2.csv"
before=$(state "$SHOP")
a -d "$SHOP" import "$T/changed2.csv"
check "changed refund: exit" 65 "$rc"
case $(cat "$ERR") in
"dealernet-agent: error: $T/changed2.csv: line 6, column ref: ref F2 was imported on "*" with other lines (seq "*"); give this refund a new ref or leave it out; nothing was imported")
    check "changed refund: message" yes yes ;;
*) check "changed refund: message" "ref F2 was imported on DATE with other lines" "$(cat "$ERR")" ;;
esac
check "changed refund: agent.db unchanged" "$before" "$(state "$SHOP")"

# -- export --unsynced: a replacement PC ---------------------------------------

OLD=$T/old
NEW=$T/new
server_init
server_start
network_init
TOKEN=$(site_add S2)
agent_new "$OLD" S2
enroll "$OLD" "$TOKEN"
check "old PC: enroll" 0 "$rc"
a -d "$OLD" sale --line TEA:1@10.00
a -d "$OLD" member add --phone 13600136000 --name Sun
agent "$OLD" sync
check "old PC: sale 1 and member Sun synced" 0 "$rc"
a -d "$OLD" sale --line RICE:2@3.50 --member 13800138000 --channel online
a -d "$OLD" sale --line OIL:1@9.99 --line TEA:3@1.00 --seller D9
check "old PC: pending" "4|2" "$(sqlite3 "$OLD/agent.db" "SELECT count(*), sum(synced) FROM events")"
a -d "$OLD" sales --all --json
cp "$OUT" "$T/old.json"
before=$(state "$OLD")
umask 022 # a usual umask, which would leave a new file readable by all
a -d "$OLD" export --unsynced "$T/move.csv"
check "export: exit" 0 "$rc"
check "export: summary" "exported: 2 sales (3 lines), 0 members, 0 refunds, 0 member updates not yet synced to $T/move.csv" \
    "$(cat "$OUT")"
check "export: agent.db unchanged" "$before" "$(state "$OLD")"
id2=$(json "$T/old.json" '$[1].id')
id3=$(json "$T/old.json" '$[2].id')
printf '%s\r\n' \
    "kind,ref,sku,quantity,unit_price,member_phone,channel,seller,phone,name,referrer,household,sale_ref,amount" \
    "sale,$id2,RICE,2,3.50,+8613800138000,online,D1,,,,,," \
    "sale,$id3,OIL,1,9.99,,store,D9,,,,,," \
    "sale,$id3,TEA,3,1.00,,store,D9,,,,,," >"$T/expected.csv"
check "export: the file" "$(cksum <"$T/expected.csv")" "$(cksum <"$T/move.csv")"
# members' phones and names: private as agent.db is, whatever the umask
check "export: the file is private (mode 600 under umask 022)" 600 "$(stat -c %a "$T/move.csv")"
a -d "$OLD" export --unsynced -
check "export -: stdout is the file" "$(cksum <"$T/expected.csv")" "$(cksum <"$OUT")"
check "export -: summary on stderr" \
    "exported: 2 sales (3 lines), 0 members, 0 refunds, 0 member updates not yet synced to standard output" "$(cat "$ERR")"
a -d "$OLD" export --unsynced "$T/move.csv"
check "export: never overwrites (exit)" 73 "$rc"
check "export: the file kept" "$(cksum <"$T/expected.csv")" "$(cksum <"$T/move.csv")"

# replacement NAME DIR FILE SUMMARY: a new folder DIR for site S2 imports
# FILE with SUMMARY; $OUT is then its `sales --all --json`.
replacement() {
    a -d "$2" init --site S2 --partner D1
    a -d "$2" import "$3"
    check "$1: summary" "$4" "$(cat "$OUT")"
    a -d "$2" sales --all --json
}
replacement "new PC" "$NEW" "$T/move.csv" \
    "imported: 2 sales (3 lines), 0 members, 0 refunds, 0 member updates; skipped 0 already imported"
# 2 x 3.50 = 7.00; 9.99 + 3 x 1.00 = 12.99
check "new PC: totals" "700 1299" \
    "$(jsql "$OUT" '$' "group_concat(json_extract(value, '\$.total_minor'), ' ')")"
check "new PC: the old PC's unsynced totals" \
    "$(json "$T/old.json" '$[1].total_minor') $(json "$T/old.json" '$[2].total_minor')" \
    "$(jsql "$OUT" '$' "group_concat(json_extract(value, '\$.total_minor'), ' ')")"
check "new PC: channel, seller, member" "online|D1|+8613800138000;store|D9|" \
    "$(jsql "$OUT" '$' "group_concat(printf('%s|%s|%s', json_extract(value, '\$.channel'), json_extract(value, '\$.seller'), json_extract(value, '\$.member')), ';')")"
a -d "$NEW" import "$T/move.csv"
check "new PC: again" "imported: 0 sales (0 lines), 0 members, 0 refunds, 0 member updates; skipped 2 already imported" \
    "$(cat "$OUT")"

# -- export: refunds and member updates ------------------------------------------

# evid DIR SEQ: the id of the event at SEQ, as the programs print ids.
evid() {
    sqlite3 "$1/agent.db" "SELECT lower(substr(hex(id), 1, 8) || '-' || substr(hex(id), 9, 4) || '-' || substr(hex(id), 13, 4) || '-' || substr(hex(id), 17, 4) || '-' || substr(hex(id), 21)) FROM events WHERE seq = $2"
}
id1=$(json "$T/old.json" '$[0].id')
# seq 5 to 10, after sale 1 (1), Sun (2, both synced) and sales 2, 3 (3, 4)
a -d "$OLD" member add --phone 13700137000 --name Zhao --household 2
a -d "$OLD" refund "$id3" --line TEA:2  # 2 x 1.00 = 2.00 of 12.99
a -d "$OLD" refund "$id2" --amount 1.50 # 1.50 of 7.00
a -d "$OLD" member update 13700137000 --name "Zhao Min"
a -d "$OLD" refund "$id1" --amount 2.00             # of sale 1: on the server
a -d "$OLD" member update 13600136000 --household 5 # Sun: on the server
check "old PC: 10 events, 2 synced" "10|2" "$(sqlite3 "$OLD/agent.db" "SELECT count(*), sum(synced) FROM events")"
before=$(state "$OLD")
a -d "$OLD" export --unsynced "$T/move2.csv"
check "export, unmovable: exit" 65 "$rc"
check "export, unmovable: message" \
    "dealernet-agent: error: refund $(evid "$OLD" 9) (seq 9, 2.00 CNY) of sale $id1, which the server already holds, cannot be moved to another PC (it does not hold that sale): sync this PC if the server still takes it; if not, ask headquarters to void the sale or post an adjustment ('dealernet-hq sale void $id1 --reason ...' / 'dealernet-hq adjust'), then export again with --skip-unmovable (and 1 more like it, listed by --skip-unmovable); nothing was exported" \
    "$(cat "$ERR")"
check "export, unmovable: no file" no "$(test -e "$T/move2.csv" && echo yes || echo no)"
a -d "$OLD" export --unsynced -
check "export -, unmovable: exit" 65 "$rc"
check "export -, unmovable: nothing on stdout" 0 "$(wc -c <"$OUT" | tr -d ' ')"
check "export, unmovable: agent.db unchanged" "$before" "$(state "$OLD")"

a -d "$OLD" export --unsynced "$T/move2.csv" --skip-unmovable
check "export --skip-unmovable: exit" 0 "$rc"
check "export --skip-unmovable: summary" \
    "exported: 2 sales (3 lines), 1 members, 2 refunds, 1 member updates not yet synced to $T/move2.csv; left out 2 that another PC cannot record (see the warnings)" \
    "$(cat "$OUT")"
printf '%s\n' \
    "dealernet-agent: warning: not exported: refund $(evid "$OLD" 9) (seq 9, 2.00 CNY) of sale $id1, which the server already holds: ask headquarters to void the sale or post an adjustment ('dealernet-hq sale void $id1 --reason ...' / 'dealernet-hq adjust')" \
    "dealernet-agent: warning: not exported: member update $(evid "$OLD" 10) (seq 10: household 5) of member +8613600136000, which the server already holds: note the change: the new PC cannot record it, and the server keeps the member as it holds it" \
    >"$T/expected.err"
check "export --skip-unmovable: the warnings" "$(cat "$T/expected.err")" "$(cat "$ERR")"
check "export --skip-unmovable: agent.db unchanged" "$before" "$(state "$OLD")"
# in recorded order; the refunds name their sales by id, the sales' refs here
printf '%s\r\n' \
    "kind,ref,sku,quantity,unit_price,member_phone,channel,seller,phone,name,referrer,household,sale_ref,amount" \
    "sale,$id2,RICE,2,3.50,+8613800138000,online,D1,,,,,," \
    "sale,$id3,OIL,1,9.99,,store,D9,,,,,," \
    "sale,$id3,TEA,3,1.00,,store,D9,,,,,," \
    "member,$(evid "$OLD" 5),,,,,,,+8613700137000,Zhao,,2,," \
    "refund,$(evid "$OLD" 6),TEA,2,,,,,,,,,$id3," \
    "refund,$(evid "$OLD" 7),,,,,,,,,,,$id2,1.50" \
    "member_update,$(evid "$OLD" 8),,,,,,,+8613700137000,Zhao Min,,,," >"$T/expected2.csv"
check "export --skip-unmovable: the file" "$(cksum <"$T/expected2.csv")" "$(cksum <"$T/move2.csv")"

# the file back into the PC that exported it: its sales would be recorded
# twice; refused at its first row (line 2, sale $id2 at seq 3), nothing
# recorded
a -d "$OLD" import "$T/move2.csv"
check "import on the exporting PC: exit" 65 "$rc"
check_one_error "import on the exporting PC" \
    "$T/move2.csv: line 2, column ref: ref $id2 is this PC's own event (seq 3): this file was exported here; import it on the PC that replaces this one; nothing was imported"
check "import on the exporting PC: agent.db unchanged" "$before" "$(state "$OLD")"

NEW2=$T/new2
replacement "fresh PC" "$NEW2" "$T/move2.csv" \
    "imported: 2 sales (3 lines), 1 members, 2 refunds, 1 member updates; skipped 0 already imported"
# sale 2: 7.00, 1.50 refunded, 5.50 net; sale 3: 12.99, 2.00 refunded
# (TEA 2 of 3), 10.99 net; 5.50 + 10.99 = 16.49
check "fresh PC: totals and refunds" "700-150 1299-200" \
    "$(jsql "$OUT" '$' "group_concat(json_extract(value, '\$.total_minor') || '-' || json_extract(value, '\$.refunded_minor'), ' ')")"
check "fresh PC: net" 1649 \
    "$(jsql "$OUT" '$' "sum(json_extract(value, '\$.total_minor') - json_extract(value, '\$.refunded_minor'))")"
check "fresh PC: sale 3's TEA refunded 2" "TEA 2" "$(json "$OUT" '$[1].lines[1].sku') $(json "$OUT" '$[1].lines[1].refunded_quantity')"
a -d "$NEW2" member list --json
check "fresh PC: the member, renamed" "+8613700137000|Zhao Min|2" \
    "$(jsql "$OUT" '$' "group_concat(printf('%s|%s|%s', json_extract(value, '\$.phone'), json_extract(value, '\$.name'), json_extract(value, '\$.household')), ';')")"
a -d "$NEW2" check
check "fresh PC: check" 0 "$rc"
a -d "$NEW2" import "$T/move2.csv"
check "fresh PC: again" "imported: 0 sales (0 lines), 0 members, 0 refunds, 0 member updates; skipped 6 already imported" \
    "$(cat "$OUT")"
# the PC that imported the first file: its 2 sales are skipped, the rest new
a -d "$NEW" import "$T/move2.csv"
check "new PC: the second file" "imported: 0 sales (0 lines), 1 members, 2 refunds, 1 member updates; skipped 2 already imported" \
    "$(cat "$OUT")"
a -d "$NEW" sales --all --json
check "new PC: net" 1649 \
    "$(jsql "$OUT" '$' "sum(json_extract(value, '\$.total_minor') - json_extract(value, '\$.refunded_minor'))")"

net_finish
