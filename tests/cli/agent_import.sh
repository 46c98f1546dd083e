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
#   - export --unsynced after 3 sales of which 1 is acknowledged writes
#     exactly the 2 others, changes nothing in agent.db, never overwrites a
#     file, and a fresh agent importing the file records them with the same
#     totals.
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
check "import: summary" "imported: 3 sales (4 lines), 2 members; skipped 0 already imported" \
    "$(cat "$OUT")"
check "import: events" 5 "$(events "$SHOP")"
a -d "$SHOP" sales --json
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
check "re-import: summary" "imported: 0 sales (0 lines), 0 members; skipped 5 already imported" \
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
    "dry run, would import: 1 sales (1 lines), 0 members; skipped 5 already imported; nothing recorded" \
    "$(cat "$OUT")"
check "dry run: events" 5 "$(events "$SHOP")"
a -d "$SHOP" import "$T/more.csv"
check "overlap: summary" "imported: 1 sales (1 lines), 0 members; skipped 5 already imported" \
    "$(cat "$OUT")"
a -d "$SHOP" sales --json
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
    "$T/unknown.csv: line 1: unknown column 'qty' (the columns are kind, ref, sku, quantity, unit_price, member_phone, channel, seller, phone, name, referrer, household); nothing was imported"
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
    "$T/crlf.csv: line 4: member M6: name must be 1 to 128 bytes of printable UTF-8; nothing was imported"
printf '\357\273\277ref,name,kind,phone,household\r\nM5,"Chen ""CC"", Jr",member,13500135000,2\r\n\r\n,,,,\r\nM6,"Zhou",member,13400134000,\r\n' \
    >"$T/crlf.csv"
a -d "$SHOP" import "$T/crlf.csv"
check "BOM, CRLF: summary" "imported: 0 sales (0 lines), 2 members; skipped 0 already imported" \
    "$(cat "$OUT")"
a -d "$SHOP" member list --json
check "BOM, CRLF: the members" '+8613500135000|Chen "CC", Jr|2;+8613400134000|Zhou|' \
    "$(jsql "$OUT" '$' "group_concat(printf('%s|%s|%s', json_extract(value, '\$.phone'), json_extract(value, '\$.name'), json_extract(value, '\$.household')), ';') FILTER (WHERE key >= 2)")"

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
agent "$OLD" sync
check "old PC: sale 1 synced" 0 "$rc"
a -d "$OLD" sale --line RICE:2@3.50 --member 13800138000 --channel online
a -d "$OLD" sale --line OIL:1@9.99 --line TEA:3@1.00 --seller D9
check "old PC: pending" "3|1" "$(sqlite3 "$OLD/agent.db" "SELECT count(*), sum(synced) FROM events")"
a -d "$OLD" sales --json
cp "$OUT" "$T/old.json"
before=$(state "$OLD")
umask 022 # a usual umask, which would leave a new file readable by all
a -d "$OLD" export --unsynced "$T/move.csv"
check "export: exit" 0 "$rc"
check "export: summary" "exported: 2 sales (3 lines), 0 members not yet synced to $T/move.csv" \
    "$(cat "$OUT")"
check "export: agent.db unchanged" "$before" "$(state "$OLD")"
id2=$(json "$T/old.json" '$[1].id')
id3=$(json "$T/old.json" '$[2].id')
printf '%s\r\n' \
    "kind,ref,sku,quantity,unit_price,member_phone,channel,seller,phone,name,referrer,household" \
    "sale,$id2,RICE,2,3.50,+8613800138000,online,D1,,,," \
    "sale,$id3,OIL,1,9.99,,store,D9,,,," \
    "sale,$id3,TEA,3,1.00,,store,D9,,,," >"$T/expected.csv"
check "export: the file" "$(cksum <"$T/expected.csv")" "$(cksum <"$T/move.csv")"
# members' phones and names: private as agent.db is, whatever the umask
check "export: the file is private (mode 600 under umask 022)" 600 "$(stat -c %a "$T/move.csv")"
a -d "$OLD" export --unsynced -
check "export -: stdout is the file" "$(cksum <"$T/expected.csv")" "$(cksum <"$OUT")"
check "export -: summary on stderr" \
    "exported: 2 sales (3 lines), 0 members not yet synced to standard output" "$(cat "$ERR")"
a -d "$OLD" export --unsynced "$T/move.csv"
check "export: never overwrites (exit)" 73 "$rc"
check "export: the file kept" "$(cksum <"$T/expected.csv")" "$(cksum <"$T/move.csv")"

a -d "$NEW" init --site S2 --partner D1
a -d "$NEW" import "$T/move.csv"
check "new PC: summary" "imported: 2 sales (3 lines), 0 members; skipped 0 already imported" \
    "$(cat "$OUT")"
a -d "$NEW" sales --json
# 2 x 3.50 = 7.00; 9.99 + 3 x 1.00 = 12.99
check "new PC: totals" "700 1299" \
    "$(jsql "$OUT" '$' "group_concat(json_extract(value, '\$.total_minor'), ' ')")"
check "new PC: the old PC's unsynced totals" \
    "$(json "$T/old.json" '$[1].total_minor') $(json "$T/old.json" '$[2].total_minor')" \
    "$(jsql "$OUT" '$' "group_concat(json_extract(value, '\$.total_minor'), ' ')")"
check "new PC: channel, seller, member" "online|D1|+8613800138000;store|D9|" \
    "$(jsql "$OUT" '$' "group_concat(printf('%s|%s|%s', json_extract(value, '\$.channel'), json_extract(value, '\$.seller'), json_extract(value, '\$.member')), ';')")"
a -d "$NEW" import "$T/move.csv"
check "new PC: again" "imported: 0 sales (0 lines), 0 members; skipped 2 already imported" \
    "$(cat "$OUT")"

net_finish
