#!/bin/sh
# names_cli.sh -- names apart from codes (issue 13, item 2), end to end with a
# real server, hq and an agent on loopback:
#   - one refusal of a bad code: `catalog set 东北大米` at HQ and at the shop,
#     `sale --line 东北大米:2@45.00` when no item is named so, and a plan's
#     [category:大米] all say that codes are ASCII and names are not, and all
#     exit 65;
#   - a plan names its categories (name = 大米), and a statement shows the
#     name beside the category code;
#   - a site has a display name (site add --name, site rename), shown beside
#     its code in site list; partner list shows partners' names;
#   - at the till, a line may give an item's display name: HQ's catalogue
#     item (synced) and a local one (catalog set --name) are sold by name,
#     and the sale says which SKU it took; two items of one name are refused
#     naming both SKUs; refunds take names too;
#   - names are counted in characters: 64 Chinese characters are taken, 65
#     are refused saying characters.
set -eu
. "$(dirname "$0")/../lib/net.sh"
net_init names_cli
net_pin_clock '2026-09-15 10:00:00'

server_init
server_start
network_init

CODE_RULE="codes are ASCII (a letter, then letters, digits, '_', '.', '-'; at most 32), names are not"
SKU_RULE="codes are ASCII (1 to 64 printable characters but space, ':' and '@'), names are not"

# -- a plan with a named category; a name where the code goes is refused ------
cat >"$T/plan.ini" <<'EOF'
[plan]
effective = 2026-01-01
currency = CNY
cap_bps = 1500
[levels]
0 = 800
1 = 300
[category:rice]
name = 大米
0 = 500
1 = 200
EOF
sed 's/^\[category:rice\]$/[category:大米]/' "$T/plan.ini" >"$T/bad-plan.ini"
hq plan set "$T/bad-plan.ini"
check "[category:大米]: exit" 65 "$rc"
check_one_error "[category:大米]" \
    "line 8: '大米' is not a category code: $CODE_RULE: give the name on a name = line in the section"
hq plan set "$T/plan.ini"
check "plan with name = 大米: exit" 0 "$rc"
hq plan show --json
check "plan show: category_names" '{"rice":"大米"}' "$(json "$OUT" '$.category_names')"

# -- HQ's catalogue: a Chinese SKU is the one refusal --------------------------
hq catalog set 东北大米 59.90 --name 东北大米
check "hq catalog set 东北大米: exit" 65 "$rc"
check_one_error "hq catalog set 东北大米" \
    "'东北大米' is not a SKU: $SKU_RULE: give the name with --name"
hq catalog set RICE-5KG 59.90 --name 东北大米5kg --category rice --effective 2026-01-01
check "hq catalog set RICE-5KG --name 东北大米5kg: exit" 0 "$rc"

# -- sites: a display name, shown beside the code -------------------------------
hq site add SHOP1 --partner D1 --name 东城店 --json
check "site add --name: exit" 0 "$rc"
cp "$OUT" "$T/site-SHOP1.json"
check "site add --name: name" "东城店" "$(json "$T/site-SHOP1.json" '$.name')"
hq site add 东城店 --partner D1 --name 东城店
check "site add 东城店: exit" 65 "$rc"
check_one_error "site add 东城店" "'东城店' is not a site code: $CODE_RULE: give the name with --name"
hq site list
check_has "site list: NAME column" "NAME" "$OUT"
check "site list: the name beside the site" "SHOP1 东城店 D1" \
    "$(awk 'NR > 1 && $1 == "SHOP1" { print $1, $2, $3 }' "$OUT")"
hq site rename SHOP1 东城旗舰店
check "site rename: exit" 0 "$rc"
check "site rename: says so" "site SHOP1 is named 东城旗舰店" "$(cat "$OUT")"
check "site list --json: the new name" "东城旗舰店" "$(site_field SHOP1 name)"
hq site rename SHOP1 "$(printf '店%.0s' $(seq 1 65))"
check "site rename, 65 characters: exit" 64 "$rc"
check_one_error "site rename, 65 characters" "site name is 65 characters long, at most 64"
hq site rename SHOP1 "$(printf '店%.0s' $(seq 1 64))"
check "site rename, 64 Chinese characters (192 bytes): exit" 0 "$rc"
hq site rename SHOP9 东城店
check "site rename SHOP9: exit" 66 "$rc"
check_one_error "site rename SHOP9" "site SHOP9 does not exist"

# -- partners: names as they are, counted in characters -------------------------
hq partner add 张三 --name 张三 --kind reseller --parent D1
check "partner add 张三: exit" 65 "$rc"
check_one_error "partner add 张三" "'张三' is not a partner code: $CODE_RULE: give the name with --name"
hq partner add R1 --name "$(printf '王%.0s' $(seq 1 65))" --kind reseller --parent D1
check "partner name of 65 characters: exit" 64 "$rc"
check_one_error "partner name of 65 characters" "partner name is 65 characters long, at most 64"
hq partner add R1 --name "$(printf '王%.0s' $(seq 1 64))" --kind reseller --parent D1
check "partner name of 64 Chinese characters: exit" 0 "$rc"
hq partner list
check_has "partner list: NAME column" "NAME" "$OUT"
check_has "partner list: D1's name" "Dealer one" "$OUT"

# -- the shop ---------------------------------------------------------------------
A=$T/a
agent_new "$A" SHOP1
enroll "$A" "$(json "$T/site-SHOP1.json" '$.token')"
check "enroll SHOP1: exit" 0 "$rc"
agent "$A" sync
check "sync (HQ's catalogue comes down): exit" 0 "$rc"

agent "$A" catalog set 东北大米 45.00
check "agent catalog set 东北大米: exit" 65 "$rc"
check_one_error "agent catalog set 东北大米" \
    "'东北大米' is not a SKU: $SKU_RULE: give the name with --name"
run 60 "$AGENT" -d "$A" catalog set OIL-1L 15.50 --name 花生油1L
check "agent catalog set OIL-1L --name 花生油1L: exit" 0 "$rc"
check "agent catalog set --name: says so" "catalog: OIL-1L at 15.50 CNY
catalog: OIL-1L is named 花生油1L" "$(cat "$OUT")"
agent "$A" catalog list --json
cp "$OUT" "$T/catalog.json"
check "catalog list: HQ's name" "东北大米5kg" \
    "$(sqlite3 :memory: "SELECT json_extract(value, '\$.name') FROM json_each(readfile('$T/catalog.json')) WHERE json_extract(value, '\$.sku') = 'RICE-5KG'")"
check "catalog list: the local name" "花生油1L" \
    "$(sqlite3 :memory: "SELECT json_extract(value, '\$.name') FROM json_each(readfile('$T/catalog.json')) WHERE json_extract(value, '\$.sku') = 'OIL-1L'")"

# no item is named so: the one refusal, exit 65 like the others
agent "$A" sale --line 东北大米:2@45.00
check "sale --line 东北大米:2@45.00: exit" 65 "$rc"
check_one_error "sale --line 东北大米:2@45.00" \
    "line '东北大米:2@45.00': '东北大米' is not a SKU: $SKU_RULE: and no item in the catalog is named so (see: catalog list)"

# by name: HQ's item and a local one.  2 x 59.90 = 119.80; 1 x 15.50;
# total 135.30
run 60 "$AGENT" -d "$A" sale --line 东北大米5kg:2 --line 花生油1L:1
check "sale by names: exit" 0 "$rc"
check_has "sale by names: the total" "135.30 CNY" "$OUT"
check_has "sale by names: HQ's item's SKU" "  东北大米5kg is SKU RICE-5KG" "$OUT"
check_has "sale by names: the local item's SKU" "  花生油1L is SKU OIL-1L" "$OUT"
SALE=$(awk '$1 == "sale" { print $2 }' "$OUT")
check "the lines are the SKUs, with HQ's category" "OIL-1L|1|1550|
RICE-5KG|2|5990|rice" \
    "$(sqlite3 "$A/agent.db" "SELECT sku, quantity, unit_price, ifnull(category, '') FROM sale_lines ORDER BY sku")"
agent "$A" sale --line 东北大米5kg:1 --json
check "sale by name --json: named" '[{"name":"东北大米5kg","sku":"RICE-5KG"}]' \
    "$(json "$OUT" '$.named')"

# a refund line by name: 1 x 15.50
run 60 "$AGENT" -d "$A" refund "$SALE" --line 花生油1L:1
check "refund by name: exit" 0 "$rc"
check_has "refund by name: 15.50" "15.50 CNY" "$OUT"
check_has "refund by name: its SKU" "  花生油1L is SKU OIL-1L" "$OUT"

# two items of one name: refused naming both
agent "$A" catalog set OIL-5L 66.00 --name 花生油1L
check "a second item named 花生油1L: exit" 0 "$rc"
agent "$A" sale --line 花生油1L:1
check "sale of an ambiguous name: exit" 65 "$rc"
check_one_error "sale of an ambiguous name" "'花生油1L' names 2 items: OIL-1L, OIL-5L; give the SKU"

# -- the statement shows the category's name ------------------------------------
agent "$A" sync
check "sync the sales: exit" 0 "$rc"
# D1's commission on the rice lines at level 0, 500 bps:
#   first sale 2 x 59.90 = 119.80 -> 5.99; second 1 x 59.90 -> 2.995 -> 3.00
#   (half-even: 2.995 is 299.5 fen -> 300)
hq statement D1 --period 2026-09 --json
check "statement: exit" 0 "$rc"
cp "$OUT" "$T/statement.json"
check "statement: the rice commissions with the category's name" "599|rice|大米
300|rice|大米" \
    "$(sqlite3 :memory: "SELECT json_extract(value, '\$.amount_minor') || '|' || json_extract(value, '\$.category') || '|' || json_extract(value, '\$.category_name') FROM json_each(readfile('$T/statement.json'), '\$.transfers') WHERE json_extract(value, '\$.category') = 'rice' AND json_extract(value, '\$.code') = 'commission'")"

net_finish
