#!/bin/sh
# display_width.sh -- tables that line up in Chinese, and CSV for Excel.
#
# A real server and an agent on loopback.  The shop signs up members whose
# names mix scripts and widths -- 王芳 (2 wide characters, 4 columns),
# "Li Wei" (6), Zoë with a decomposed ë (e + U+0308, 3 columns), 陈👍🏽
# (a wide character and a thumbs-up with a skin tone: 2 + 2), 25 Chinese
# characters (50 columns, over the 40-column cell limit) -- records sales
# and syncs; HQ puts a product with a Chinese name in its catalogue.  Then:
#   - the agent's member list, sales and catalog list and HQ's partner
#     list: every column starts at the same display column on every line,
#     computed here independently (python3's unicodedata: East Asian Wide
#     and Fullwidth 2, combining marks, joiners, selectors and skin tones 0,
#     a variation selector 16 making an emoji 2), and each line is checked
#     against the header's column starts;
#   - the 50-column name shows cut to 19 characters and "…" (39 columns),
#     whole in --json;
#   - dealernet-hq --csv --excel: EF BB BF, then exactly the bytes of
#     --csv (CRLF line ends, formula quoting kept); --csv alone has no BOM;
#     --excel without --csv, or with --json, exits 64 with one line.
set -eu
. "$(dirname "$0")/../lib/net.sh"
net_init display_width
net_pin_clock '2026-03-15 10:00:00'
net_need python3

server_init
server_start
network_init

hq_must partner add G1 --name "东北团长王芳" --kind reseller --parent D1
hq_must plan set deploy/plan.ini
hq_must catalog set RICE-5KG 59.90 --name "东北大米5kg" --category rice --effective 2026-03-01

A=$T/a
shop_enrolled "$A" SHOP1
must() { agent_must "$A" "$@"; }
LONG=一二三四五一二三四五一二三四五一二三四五一二三四五
must catalog set OIL-1L 18.50 --category oil
must member add --phone 13900000001 --name "王芳" --referrer G1
must member add --phone 13900000002 --name "Li Wei" --referrer 13900000001
must member add --phone 13900000003 --name "$(printf 'Zoe\314\210')"
must member add --phone 13900000004 --name "$(printf '\351\231\210\360\237\221\215\360\237\217\275')"
must member add --phone 13900000005 --name "$LONG"
agent "$A" sync
check "sync: exit" 0 "$rc"
must sale --line RICE-5KG:2 --member 13900000001
must sale --line OIL-1L:1 --channel community --seller G1 --member 13900000002

# aligned NAME FILE: every line of the table in FILE (header first; the
# count line after it, "5 members", left out) has its columns where the
# header has them: two spaces before each column's start, and each column's
# texts all starting at its start (left-aligned) or all ending at one
# display column (right-aligned numbers): tests/lib/table_align.py.
aligned() {
    if python3 tests/lib/table_align.py "$2"; then
        pass=$((pass + 1))
        echo "ok   $1: aligned"
    else
        fail=$((fail + 1))
        echo "FAIL $1: not aligned:"
        cat "$2"
    fi
}

# -- the agent's tables -------------------------------------------------------

agent "$A" member list
check "member list: exit" 0 "$rc"
cp "$OUT" "$T/members.txt"
aligned "member list" "$T/members.txt"
# the NAME column: 王芳 4 columns, Li Wei 6, Zoë 3, 陈👍🏽 4, the long name
# cut to 39; widest 39, so REFERRER starts 39 + 2 columns after NAME
check "member list: the long name cut to 19 characters and …" 1 \
    "$(grep -c "一二三四五一二三四五一二三四五一二三四…" "$T/members.txt")"
agent "$A" member list --json
check "member list --json: the name whole" 1 "$(grep -c "\"$LONG\"" "$OUT")"
# exact: the NAME and REFERRER of 王芳's line, padded by display width:
# 王芳 (4) + 35 spaces to 39, 2 between columns, then the referrer G1
check_has "member list: 王芳 padded to 39 columns" "王芳$(printf '%37s' '')G1" "$T/members.txt"
check_has "member list: 陈👍🏽 padded to 39 columns" \
    "$(printf '\351\231\210\360\237\221\215\360\237\217\275')$(printf '%37s' '')-" "$T/members.txt"

agent "$A" sales
check "sales: exit" 0 "$rc"
cp "$OUT" "$T/sales.txt"
aligned "sales" "$T/sales.txt"

agent "$A" catalog list
check "catalog list: exit" 0 "$rc"
cp "$OUT" "$T/catalog.txt"
aligned "catalog list" "$T/catalog.txt"
check_has "catalog list: the Chinese name" "东北大米5kg" "$T/catalog.txt"

# -- HQ -------------------------------------------------------------------------

hq partner list
check "hq partner list: exit" 0 "$rc"
cp "$OUT" "$T/partners.txt"
aligned "hq partner list" "$T/partners.txt"

hq referrals --csv
check "hq referrals --csv: exit" 0 "$rc"
cp "$OUT" "$T/members.csv"
hq referrals --csv --excel
check "hq referrals --csv --excel: exit" 0 "$rc"
cp "$OUT" "$T/members-excel.csv"
check "--csv --excel: begins with the BOM" "efbbbf" "$(head -c 3 "$T/members-excel.csv" | od -An -tx1 | tr -d ' \n')"
check "--csv: no BOM" 0 "$(head -c 3 "$T/members.csv" | od -An -tx1 | tr -d ' \n' | grep -c '^efbbbf' || true)"
check "--csv --excel: the bytes of --csv after the BOM" "$(cksum <"$T/members.csv")" \
    "$(tail -c +4 "$T/members-excel.csv" | cksum)"
check "--csv --excel: every line ends in CRLF" "$(wc -l <"$T/members.csv" | tr -d ' ')" \
    "$(grep -c "$(printf '\r')\$" "$T/members-excel.csv")"
check_has "--csv --excel: the Chinese name" "王芳" "$T/members-excel.csv"
check_has "--csv --excel: a phone kept as text" "\"'+8613900000001\"" "$T/members-excel.csv"

hq partner list --excel
check "--excel without --csv: exit" 64 "$rc"
check_one_error "--excel without --csv" "--excel goes with --csv: it writes the CSV for Excel"
hq partner list --json --excel
check "--json --excel: exit" 64 "$rc"
check_one_error "--json --excel" "--excel goes with --csv"
hq partner add G2 --name X --kind reseller --parent D1 --excel
check "--excel on a command without --csv: exit" 64 "$rc"

net_finish
