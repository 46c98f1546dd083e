#!/bin/sh
# hq_counter.sh -- the counter at HQ (issue 13, item 5): receipts and
# payments reach central.db through protocol 3, HQ finds members by phone
# prefix or name, and voids a sale by its site's receipt number.
#
#   - SHOP1 (D1) records three sales, receipts 0001 (cash), 0002 (wechat)
#     and 0003 (no payment given), and three members, and syncs: central.db
#     holds receipts 1, 2, 3 and payments 1, 2, NULL (Payment enum);
#   - member find "138 0013" finds the two phones +86 138 0013 ... (by
#     phone, the table, then "2 members found"), "li" the names holding li
#     in any case, --limit 1 says how many more, --json and --csv;
#     refusals: no TEXT (64), --limit 0 (64);
#   - sale void --site SHOP1 --receipt 0002 voids receipt 2's sale; the
#     sale's id and --site together (64), --site alone (64), a receipt
#     never given (66); a receipt held twice (made so in central.db, as a
#     restored PC can) is refused naming both sales (64).
set -eu
. "$(dirname "$0")/../lib/net.sh"
net_init hq_counter
net_need sqlite3

server_init
server_start
network_init
hq_must plan set deploy/plan.ini
A=$T/a
shop_enrolled "$A" SHOP1
agent_must "$A" catalog set TEA 45.00
agent "$A" sale --line TEA:2 --pay cash
check "sale 1: exit" 0 "$rc"
agent "$A" sale --line TEA:1 --pay wechat
check "sale 2: exit" 0 "$rc"
agent "$A" sale --line TEA:1
check "sale 3: exit" 0 "$rc"
agent_must "$A" member add --phone 13800138000 --name 'Li Wei'
agent_must "$A" member add --phone '138 0013 9999' --name '王芳'
agent_must "$A" member add --phone 13900139000 --name 'Zhang LI'
agent "$A" sync
check "sync (protocol 3): exit" 0 "$rc"
check "central.db: receipts and payments" "1|1 2|2 3|" \
    "$(sq "SELECT receipt || '|' || coalesce(payment, '') FROM sales ORDER BY eid" | paste -sd ' ' -)"

# -- member find ----------------------------------------------------------------
hq member find 138 0013
check "member find 138 0013: exit" 64 "$rc"  # two words: quote them
check_one_error "member find 138 0013: two words" "unexpected argument '0013' (see: dealernet-hq member find --help)"
hq member find '138 0013'
check "member find '138 0013': exit" 0 "$rc"
check "member find '138 0013': header" "PHONE NAME SITE SIGNED UP REFERRER HOUSEHOLD" \
    "$(sed -n 1p "$OUT" | tr -s ' ')"
check "member find '138 0013': phones" "+8613800138000 +8613800139999" \
    "$(sed -n '2,3p' "$OUT" | cut -d' ' -f1 | paste -sd ' ' -)"
check "member find '138 0013': count" "2 members found" "$(sed -n 4p "$OUT")"
hq member find li --json
check "member find li --json: exit" 0 "$rc"
cp "$OUT" "$T/li.json"
check "member find li: by name" "name" "$(json "$T/li.json" '$.by')"
check "member find li: Li Wei and Zhang LI, by phone" "Li Wei|Zhang LI" \
    "$(sqlite3 :memory: "SELECT group_concat(json_extract(value, '\$.name'), '|') FROM json_each(readfile('$T/li.json'), '\$.members')")"
check "member find li: site" "SHOP1" "$(json "$T/li.json" '$.members[0].site')"
hq member find li --limit 1
check "member find li --limit 1: exit" 0 "$rc"
check "member find li --limit 1: more" "1 members shown, 1 more: type more of the name or phone" \
    "$(sed -n 3p "$OUT")"
hq member find '+86 139' --csv
check "member find +86 139 --csv: exit" 0 "$rc"
check "member find +86 139 --csv: header" "phone,name,site,joined,referrer,household" \
    "$(sed -n 1p "$OUT" | tr -d '\r')"
# the CSV guards a leading '+' (a spreadsheet formula) as dn_render does
check "member find +86 139 --csv: row" "\"'+8613900139000\",Zhang LI,SHOP1" \
    "$(sed -n 2p "$OUT" | cut -d, -f1-3)"
hq member find
check "member find: no TEXT" 64 "$rc"
check_one_error "member find: no TEXT" "member find needs a name or the first digits of a phone (see: dealernet-hq member find --help)"
hq member find li --limit 0
check "member find --limit 0" 64 "$rc"
check_one_error "member find --limit 0" "--limit must be a whole number from 1 to 200"

# -- sale void by receipt -------------------------------------------------------
ID2=$(sq "SELECT lower(hex(e.id)) FROM events e JOIN sales s ON s.eid = e.eid WHERE s.receipt = 2")
hq sale void --site SHOP1 --receipt 0002 --reason "rung up twice"
check "sale void --receipt 0002: exit" 0 "$rc"
check "sale void --receipt 0002: the sale of receipt 2" "$(echo "$ID2" | cut -c1-8)" \
    "$(sed -n 's/^sale \([0-9a-f]*\)-.*/\1/p' "$OUT")"
hq sale void "$(echo "$ID2" | cut -c1-8)" --site SHOP1 --reason x
check "sale void SALE --site: exit" 64 "$rc"
check_one_error "sale void SALE --site" "give the sale's id or --site and --receipt, not both"
hq sale void --site SHOP1 --reason x
check "sale void --site alone: exit" 64 "$rc"
check_one_error "sale void --site alone" "--site and --receipt go together: a receipt number is its site's"
hq sale void --site SHOP1 --receipt 42 --reason x
check "sale void --receipt 42: exit" 66 "$rc"
check_one_error "sale void --receipt 42" "no sale of site SHOP1 has receipt 42"
# receipt 3 held twice (as after a restore): refused, naming both
sq "UPDATE sales SET receipt = 3 WHERE receipt = 1"
hq sale void --site SHOP1 --receipt 3 --reason x
check "sale void a receipt held twice: exit" 64 "$rc"
check "sale void a receipt held twice: names both" 2 \
    "$(grep -o '[0-9a-f]\{8\}-[0-9a-f]\{4\}-[0-9a-f]\{4\}-[0-9a-f]\{4\}-[0-9a-f]\{12\}' "$ERR" | sort -u | wc -l)"
check_has "sale void a receipt held twice: message" "has more than one sale with receipt 3" "$ERR"

net_finish
