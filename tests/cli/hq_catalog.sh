#!/bin/sh
# hq_catalog.sh -- dealernet-hq's HQ catalogue commands (issue 14, part B),
# end to end against a real server in a throwaway folder:
#   - catalog set: a price on the network's list, on a partner's list, a
#     future row, a fixed one; the same set again changes nothing (same
#     version); each refusal with its exact message and exit code (a Chinese
#     SKU says codes are ASCII and names are not, exit 65 as every bad code, a name over 64
#     characters, a bad price, an unknown partner, no --name);
#   - catalog list: the rows in force now and the future ones, as a table,
#     CSV and JSON; --partner;
#   - catalog remove: one day's row, all rows of a list, nothing to remove;
#   - catalog import: a file with a bad row is refused whole naming its line
#     and field, nothing stored; a good file of 3,000 rows with Chinese names
#     goes in several parts (progress lines) and is stored; the same file
#     again changes nothing and takes no version.
set -eu
. "$(dirname "$0")/../lib/net.sh"
net_init hq_catalog
# the server's "now" (today's default effective day, what is in force)
net_pin_clock '2026-09-15 10:00:00'

server_init
server_start
network_init

# -- before a plan: no currency ------------------------------------------------
hq catalog set COLA-330 3.50 --name "可口可乐 330ml"
check "no plan: exit" 66 "$rc"
check_one_error "no plan" "no plan is set yet, so the network has no currency for prices: set a plan first (dealernet-hq plan set)"

hq plan set deploy/plan.ini
check "plan set: exit" 0 "$rc"

# -- set ---------------------------------------------------------------------
hq catalog set COLA-330 3.50 --name "可口可乐 330ml" --category drinks --effective 2026-01-01
check "set: exit" 0 "$rc"
check "set: says so" \
    "catalog: COLA-330 at 3.50 on the network's price list from 2026-01-01 (changed, version 1)" \
    "$(cat "$OUT")"
hq catalog set COLA-330 3.50 --name "可口可乐 330ml" --category drinks --effective 2026-01-01
check "same set again: unchanged, same version" \
    "catalog: COLA-330 at 3.50 on the network's price list from 2026-01-01 (unchanged, version 1)" \
    "$(cat "$OUT")"
hq catalog set COLA-330 3.80 --name "可口可乐 330ml" --category drinks --effective 2026-10-01
check "future row: version 2" 0 "$rc"
hq catalog set COLA-330 3.20 --name "可口可乐 330ml" --partner D1 --effective 2026-02-01 --fixed --json
check "partner's fixed row: exit" 0 "$rc"
check "partner's fixed row: list" "D1" "$(json "$OUT" '$.list')"
check "partner's fixed row: fixed" "1" "$(json "$OUT" '$.fixed')"
check "partner's fixed row: version" "3" "$(json "$OUT" '$.version')"
hq catalog set RICE-5KG 59.90 --name "东北大米 5公斤" --category rice
check "default effective: today" 0 "$rc"
check_has "default effective: today" "from 2026-09-15" "$OUT"

# refusals
hq catalog set 可乐 3.50 --name "可乐"
check "Chinese SKU: exit" 65 "$rc"
check_one_error "Chinese SKU" "'可乐' is not a SKU: codes are ASCII (1 to 64 printable characters but space, ':' and '@'), names are not: give the name with --name"
hq catalog set TEA 3.50 --name "$(printf '茶%.0s' $(seq 1 65))"
check "long name: exit" 64 "$rc"
check_one_error "long name" "name is 65 characters long, at most 64"
hq catalog set TEA 3,50 --name "茶"
check "bad price: exit" 64 "$rc"
check_one_error "bad price" "price '3,50' is not an amount in CNY (at most 2 decimals, like 59.90)"
hq catalog set TEA -1.00 --name "茶"
check "negative price: exit" 64 "$rc"
check_one_error "negative price" "price -1.00 is negative"
hq catalog set TEA 3.50 --name "茶" --partner NOPE
check "unknown partner: exit" 66 "$rc"
check_one_error "unknown partner" "partner NOPE does not exist (see: dealernet-hq partner list)"
hq catalog set TEA 3.50
check "no name: exit" 64 "$rc"
check_one_error "no name" "catalog set needs --name NAME (the product's display name)"
hq catalog set TEA 3.50 --name "茶" --effective 2026-02-30
check "bad day: exit" 64 "$rc"

# -- list --------------------------------------------------------------------
hq catalog list --csv
check "list --csv: exit" 0 "$rc"
printf '%s\n' \
    "sku,name,category,price,effective,list,fixed,in_force,version" \
    "COLA-330,可口可乐 330ml,drinks,3.50,2026-01-01,network,false,true,1" \
    "COLA-330,可口可乐 330ml,drinks,3.80,2026-10-01,network,false,false,2" \
    "COLA-330,可口可乐 330ml,,3.20,2026-02-01,D1,true,true,3" \
    "RICE-5KG,东北大米 5公斤,rice,59.90,2026-09-15,network,false,true,4" \
    >"$T/list.csv"
check "list --csv: rows" "" "$(tr -d '\r' <"$OUT" | diff - "$T/list.csv")"
hq catalog list --partner D1 --json
check "list --partner: price_minor for scripts" "320" "$(json "$OUT" '$[0].price_minor')"
check "list --partner: one row" "1" "$(sqlite3 :memory: "SELECT json_array_length(readfile('$OUT'))")"
hq catalog list
check_has "list: table" "可口可乐 330ml" "$OUT"

# -- remove ------------------------------------------------------------------
hq catalog remove COLA-330 --effective 2026-10-01
check "remove a day's row: says so" \
    "catalog: COLA-330 removed from the network's price list (1 row, version 5)" "$(cat "$OUT")"
hq catalog remove COLA-330 --effective 2026-10-01
check "remove again: exit" 66 "$rc"
check_one_error "remove again" "SKU COLA-330 is not on the network's price list effective 2026-10-01"
hq catalog remove COLA-330 --partner D1
check "remove a partner's list: version 6" "catalog: COLA-330 removed from D1's price list (1 row, version 6)" "$(cat "$OUT")"
hq catalog list --csv
check "list after removals: rows" 3 "$(wc -l <"$OUT" | tr -d ' ')"

# -- import ------------------------------------------------------------------
printf '%s\n' "sku,name,category,price,effective" "A1,苹果,fruit,1.00,2026-01-01" \
    "A2,梨,fruit,1.0x,2026-01-01" >"$T/bad.csv"
hq catalog import "$T/bad.csv"
check "bad row: exit" 65 "$rc"
check_one_error "bad row" "line 3, price: price '1.0x' is not an amount in CNY (at most 2 decimals, like 59.90)"
printf '%s\n' "sku,name,category,price,effective" "A1,苹果,fruit,1.00,2026-01-01" \
    "A1,苹果,fruit,1.10,2026-01-01" >"$T/dup.csv"
hq catalog import "$T/dup.csv"
check "duplicate row: exit" 65 "$rc"
check_one_error "duplicate row" "line 3, sku: A1 is on line 2 already, for the same list and effective day"
printf '%s\n' "sku,name,colour,price,effective" "A1,苹果,red,1.00,2026-01-01" >"$T/head.csv"
hq catalog import "$T/head.csv"
check "bad header: exit" 65 "$rc"
check_one_error "bad header" "line 1: column 'colour' is not one of sku, name, category, price, effective, and optionally partner, fixed"
printf '%s\n' "sku,name,category,price,effective" 'A1,"苹果,fruit,1.00,2026-01-01' >"$T/quote.csv"
hq catalog import "$T/quote.csv"
check "broken quote: exit" 65 "$rc"
check "nothing imported" "0" "$(sq "SELECT count(*) FROM catalog WHERE sku LIKE 'A%'")"

# 3,000 rows with Chinese names and a partner's fixed row: several parts of
# at most 192 KiB (about 70 bytes a row: ~210 KB, so 2 parts)
awk 'BEGIN { print "sku,name,category,price,effective,partner,fixed";
             for (i = 1; i <= 3000; i++)
                 printf "SKU-%05d,商品名称第%d号 特级,cat%d,%d.%02d,2026-01-01,,0\n", i, i, i % 7, i, i % 100;
             print "SKU-00001,商品名称第1号 特级,cat1,0.99,2026-03-01,D1,1" }' >"$T/big.csv"
hq catalog import "$T/big.csv"
check "import: exit" 0 "$rc"
check "import: says so" \
    "catalog import: 3001 rows, 3001 changed, 0 unchanged; catalogue version 3007" "$(cat "$OUT")"
check_has "import: progress line" "catalog import: " "$ERR"
check "import: stored" "3001" "$(sq "SELECT count(*) FROM catalog WHERE sku LIKE 'SKU-%'")"
# row 1234: price 1234.34 (i = 1234, i % 100 = 34) is 123434 fen, category
# cat(1234 % 7) = cat2
check "import: row 1234" "123434|商品名称第1234号 特级|cat2" \
    "$(sq "SELECT price, name, category FROM catalog WHERE sku = 'SKU-01234'")"
hq catalog import "$T/big.csv"
check "import again: nothing changes" \
    "catalog import: 3001 rows, 0 changed, 3001 unchanged; catalogue version 3007" "$(cat "$OUT")"
check "import again: staging empty" "0|0" \
    "$(sq "SELECT (SELECT count(*) FROM catalog_staged), (SELECT count(*) FROM catalog_uploads)")"

net_finish
