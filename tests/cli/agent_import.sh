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
# The acknowledgement of sale 1 is written straight into agent.db (events.
# synced), as dn_outbox_ack does on a PushAck: the server's side of sync is
# tested in sync_*.sh; here only which events are unsynced matters.
#
# Environment: DN_BIN (folder holding dealernet-agent, default bin), DN_WRAP.
set -eu

BIN=${DN_BIN:-bin}
case $BIN in /*) ;; *) BIN=$(pwd)/$BIN ;; esac
AGENT=$BIN/dealernet-agent
WRAP=${DN_WRAP:-}

if [ ! -x "$AGENT" ]; then
    echo "agent_import: no program $AGENT (build it first)" >&2
    exit 1
fi
for tool in python3 sqlite3; do
    if ! command -v $tool >/dev/null 2>&1; then
        echo "agent_import: skipped, $tool is not installed"
        exit 77
    fi
done

T=$(mktemp -d "${TMPDIR:-/tmp}/dn-agent-import.XXXXXX")
trap 'rm -rf "$T"' EXIT
trap 'exit 130' INT TERM
SHOP=$T/shop
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

# run ARGS...: runs the agent; sets rc, leaves stdout in $T/out, stderr in $T/err.
run() {
    set +e
    # shellcheck disable=SC2086
    $WRAP "$AGENT" "$@" >"$T/out" 2>"$T/err" </dev/null
    rc=$?
    set -e
}

# jv FILE EXPR: the Python expression EXPR over the JSON in FILE (as d).
jv() {
    python3 -c '
import json, sys
try:
    d = json.load(open(sys.argv[1]))
    v = eval(sys.argv[2], {"len": len, "sum": sum, "sorted": sorted}, {"d": d})
    print(v if isinstance(v, str) else json.dumps(v))
except Exception as e:
    print("<%s: %s>" % (type(e).__name__, e))
' "$1" "$2"
}

lines() { wc -l <"$1" | tr -d ' '; }
events() { sqlite3 "$1/agent.db" "SELECT count(*) FROM events"; }
# state DIR: everything agent.db holds, for before/after.
state() { sqlite3 "$1/agent.db" .dump | cksum; }

# refused NAME FILE MESSAGE: importing FILE into $SHOP exits 65 with exactly
# MESSAGE on one stderr line, and agent.db is as it was.
refused() {
    before=$(state "$SHOP")
    n=$(events "$SHOP")
    run -d "$SHOP" import "$2"
    expect "$1: exit" 65 "$rc"
    expect "$1: message" "dealernet-agent: error: $3" "$(cat "$T/err")"
    expect "$1: stdout empty" 0 "$(wc -c <"$T/out" | tr -d ' ')"
    expect "$1: events" "$n" "$(events "$SHOP")"
    expect "$1: agent.db unchanged" "$before" "$(state "$SHOP")"
}

run -d "$SHOP" init --site S1 --partner D1
run -d "$SHOP" catalog set TEA 12.50

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
run -d "$SHOP" import "$T/pos.csv"
expect "import: exit" 0 "$rc"
expect "import: summary" "imported: 3 sales (4 lines), 2 members; skipped 0 already imported" \
    "$(cat "$T/out")"
expect "import: events" 5 "$(events "$SHOP")"
run -d "$SHOP" sales --json
cp "$T/out" "$T/sales.json"
# R1 = 2 x 12.50 (catalog) + 1 x 30.00 = 55.00; R2 = 12.50; R3 = 3 x 9.99 = 29.97
expect "sales: totals" "[5500, 1250, 2997]" "$(jv "$T/sales.json" '[s["total_minor"] for s in d]')"
# 5500 + 1250 + 2997 = 9747
expect "sales: sum" 9747 "$(jv "$T/sales.json" 'sum(s["total_minor"] for s in d)')"
expect "sale R1: member, channel, seller" '["+8613800138000", "online", "D2"]' \
    "$(jv "$T/sales.json" '[d[0]["member"], d[0]["channel"], d[0]["seller"]]')"
expect "sale R1: lines" '[["TEA", 2, 1250], ["RICE", 1, 3000]]' \
    "$(jv "$T/sales.json" '[[l["sku"], l["quantity"], l["unit_price_minor"]] for l in d[0]["lines"]]')"
expect "sale R3: channel, seller (the site's partner)" '["community", "D1"]' \
    "$(jv "$T/sales.json" '[d[2]["channel"], d[2]["seller"]]')"
run -d "$SHOP" member list --json
expect "members" '[["+8613800138000", "Wang, Xiao", null, 3], ["+8613900139000", "Li", "+8613800138000", null]]' \
    "$(jv "$T/out" '[[m["phone"], m["name"], m["referrer"], m["household"]] for m in d]')"
run -d "$SHOP" check
expect "check after import" 0 "$rc"

# -- again: nothing twice ----------------------------------------------------

run -d "$SHOP" import "$T/pos.csv"
expect "re-import: summary" "imported: 0 sales (0 lines), 0 members; skipped 5 already imported" \
    "$(cat "$T/out")"
run -d "$SHOP" import "$T/pos.csv" --json
expect "re-import --json" '[false, 0, 0, 0, 5, 3, 2]' \
    "$(jv "$T/out" '[d["dry_run"], d["sales"], d["lines"], d["members"], d["skipped"], d["skipped_sales"], d["skipped_members"]]')"
expect "re-import: events" 5 "$(events "$SHOP")"

# an overlapping file: its new sale only (R4 = 4 x 12.50 = 50.00); "1.5" is
# "1.50" and a phone typed another way is the same phone, so R1 is the same
sed -e 's/^sale,R1,RICE,1,30.00,/sale,R1,RICE,1,30,/' \
    -e 's/^sale,R1,TEA,2,,13800138000,/sale,R1,TEA,2,,+86 138 0013 8000,/' "$T/pos.csv" \
    >"$T/more.csv"
echo "sale,R4,TEA,4,,,,,,,," >>"$T/more.csv"
run -d "$SHOP" import "$T/more.csv" --dry-run
expect "dry run: summary" \
    "dry run, would import: 1 sales (1 lines), 0 members; skipped 5 already imported; nothing recorded" \
    "$(cat "$T/out")"
expect "dry run: events" 5 "$(events "$SHOP")"
run -d "$SHOP" import "$T/more.csv"
expect "overlap: summary" "imported: 1 sales (1 lines), 0 members; skipped 5 already imported" \
    "$(cat "$T/out")"
run -d "$SHOP" sales --json
expect "overlap: R4's total" 5000 "$(jv "$T/out" 'd[3]["total_minor"]')"
expect "overlap: events" 6 "$(events "$SHOP")"

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
    "$T/bad.csv: line 7, column unit_price: price must be a non-negative amount with at most 2 decimals; nothing was imported"
run -d "$SHOP" check
expect "check after the refusal" 0 "$rc"

# the recording path refuses line 3 after line 2's member was recorded: the
# member goes back with it
printf 'kind,ref,sku,quantity,phone\nmember,M4,,,13600136000\nsale,R20,NOPRICE,2,\n' >"$T/noprice.csv"
refused "a sale dn_record refuses" "$T/noprice.csv" \
    "$T/noprice.csv: line 3: sale R20: SKU NOPRICE has no price in the catalog; give it as NOPRICE:2@PRICE or run 'catalog set NOPRICE PRICE'; nothing was imported"

sed 's/^sale,R3,OIL,3,9.99,/sale,R3,OIL,3,9.98,/' "$T/pos.csv" >"$T/changed.csv"
before=$(state "$SHOP")
run -d "$SHOP" import "$T/changed.csv"
expect "changed ref: exit" 65 "$rc"
case $(cat "$T/err") in
"dealernet-agent: error: $T/changed.csv: line 7, column ref: ref R3 was imported on "*" with other lines (seq 5); give this sale a new ref or leave it out; nothing was imported")
    expect "changed ref: message" yes yes ;;
*) expect "changed ref: message" "ref R3 was imported on DATE with other lines" "$(cat "$T/err")" ;;
esac
expect "changed ref: agent.db unchanged" "$before" "$(state "$SHOP")"

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
run -d "$SHOP" import "$T/crlf.csv"
expect "BOM, CRLF: summary" "imported: 0 sales (0 lines), 2 members; skipped 0 already imported" \
    "$(cat "$T/out")"
run -d "$SHOP" member list --json
expect "BOM, CRLF: the members" '[["+8613500135000", "Chen \"CC\", Jr", 2], ["+8613400134000", "Zhou", null]]' \
    "$(jv "$T/out" '[[m["phone"], m["name"], m["household"]] for m in d[2:]]')"

# -- export --unsynced: a replacement PC ---------------------------------------

OLD=$T/old
NEW=$T/new
run -d "$OLD" init --site S2 --partner D1
run -d "$OLD" sale --line TEA:1@10.00
run -d "$OLD" sale --line RICE:2@3.50 --member 13800138000 --channel online
run -d "$OLD" sale --line OIL:1@9.99 --line TEA:3@1.00 --seller D9
# the server acknowledged seq 1 (see the header)
sqlite3 "$OLD/agent.db" "UPDATE events SET synced = 1 WHERE seq = 1"
run -d "$OLD" sales --json
cp "$T/out" "$T/old.json"
before=$(state "$OLD")
run -d "$OLD" export --unsynced "$T/move.csv"
expect "export: exit" 0 "$rc"
expect "export: summary" "exported: 2 sales (3 lines), 0 members not yet synced to $T/move.csv" \
    "$(cat "$T/out")"
expect "export: agent.db unchanged" "$before" "$(state "$OLD")"
id2=$(jv "$T/old.json" 'd[1]["id"]')
id3=$(jv "$T/old.json" 'd[2]["id"]')
printf '%s\r\n' \
    "kind,ref,sku,quantity,unit_price,member_phone,channel,seller,phone,name,referrer,household" \
    "sale,$id2,RICE,2,3.50,+8613800138000,online,D1,,,," \
    "sale,$id3,OIL,1,9.99,,store,D9,,,," \
    "sale,$id3,TEA,3,1.00,,store,D9,,,," >"$T/expected.csv"
expect "export: the file" "$(cksum <"$T/expected.csv")" "$(cksum <"$T/move.csv")"
run -d "$OLD" export --unsynced -
expect "export -: stdout is the file" "$(cksum <"$T/expected.csv")" "$(cksum <"$T/out")"
expect "export -: summary on stderr" \
    "exported: 2 sales (3 lines), 0 members not yet synced to standard output" "$(cat "$T/err")"
run -d "$OLD" export --unsynced "$T/move.csv"
expect "export: never overwrites (exit)" 73 "$rc"
expect "export: the file kept" "$(cksum <"$T/expected.csv")" "$(cksum <"$T/move.csv")"

run -d "$NEW" init --site S2 --partner D1
run -d "$NEW" import "$T/move.csv"
expect "new PC: summary" "imported: 2 sales (3 lines), 0 members; skipped 0 already imported" \
    "$(cat "$T/out")"
run -d "$NEW" sales --json
# 2 x 3.50 = 7.00; 9.99 + 3 x 1.00 = 12.99
expect "new PC: totals" "[700, 1299]" "$(jv "$T/out" '[s["total_minor"] for s in d]')"
expect "new PC: the old PC's unsynced totals" "$(jv "$T/old.json" '[s["total_minor"] for s in d[1:]]')" \
    "$(jv "$T/out" '[s["total_minor"] for s in d]')"
expect "new PC: channel, seller, member" '[["online", "D1", "+8613800138000"], ["store", "D9", null]]' \
    "$(jv "$T/out" '[[s["channel"], s["seller"], s["member"]] for s in d]')"
run -d "$NEW" import "$T/move.csv"
expect "new PC: again" "imported: 0 sales (0 lines), 0 members; skipped 2 already imported" \
    "$(cat "$T/out")"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
