#!/bin/sh
# hq_drill.sh -- `dealernet-hq sale` and `sales list`, end to end, on the
# README's example network ("A worked example"; deploy/demo.sh builds the
# same): HQ (hq) -> REGION-N -> DEALER-BJ -> RESELLER-7, deploy/plan.ini
# (CNY; levels 8 % / 3 % / 1 %; rice 5 % / 2 %; cap 15 %; referral 5.00 +
# 1 % for 365 days), the shop SHOP-BJ1 of DEALER-BJ and the group leader's
# GROUP-7 of RESELLER-7, on a clock pinned to 2026-11-20 10:00 UTC.
#
# The README's drill-down is the group buy: 10 x RICE-5KG at 55.00 =
# 550.00 at GROUP-7, no category there (the reseller's till has no
# catalogue), to Zhao Min, referred by RESELLER-7, refunded 55.00.  By hand
# (exact = base x rate_bps / 10000; a clawback's = base x 55.00 / 550.00):
#   13 commission RESELLER-7 L0  800  550.00 x 800 / 10000 = 44.00  -> 44.00
#   14 commission DEALER-BJ  L1  300  550.00 x 300 / 10000 = 16.50  -> 16.50
#   15 commission REGION-N   L2  100  550.00 x 100 / 10000 =  5.50  ->  5.50
#      (HQ is level 3: [levels] has no level 3, and it never earns)
#   16 bonus      RESELLER-7          the plan's 5.00               ->  5.00
#   17 referral   RESELLER-7     100  550.00 x 100 / 10000 =  5.50  ->  5.50
#   18 clawback   RESELLER-7 L0  800  44.00 x 55.00 / 550.00 = -4.40 -> -4.40
#   19 clawback   DEALER-BJ  L1  300  16.50 x 0.1                = -1.65
#   20 clawback   REGION-N   L2  100   5.50 x 0.1                = -0.55
#   21 clawback   RESELLER-7     100   5.50 x 0.1                = -0.55
#      (the bonus goes back only with the whole sale)
# Transfers 1-12 are the shop's: sale 1 (rice 119.80 + oil 18.50) makes 4,
# sale 2 (rice 59.90, Li Lei referred by Wang Fang) 4, sale 3 (oil 74.00) 2
# and its refund 2.  Shop sale 1 rounds: rice 119.80 x 200 / 10000 = 2.396
# -> 2.40 (rounding 0.004), oil 18.50 x 300 / 10000 = 0.555 -> 0.56 (half
# to even: 55.5 fen -> 56; rounding 0.005); shop sale 2: 59.90 x 500 /
# 10000 = 2.995 -> 3.00, x 200 = 1.198 -> 1.20, Wang Fang's 1 % 0.599 ->
# 0.60; shop sale 3's refund of one oil of four: REGION-N's 2.22 x 18.50 /
# 74.00 = 0.555 -> 0.56, taken back: -0.56, rounding -0.005.
set -eu
. "$(dirname "$0")/../lib/net.sh"
net_init hq_drill
net_pin_clock '2026-11-20 10:00:00'
NET_ZONE=Asia/Shanghai # CNY's, as the demo's network keeps it
server_init
server_start

readme_network
readme_network_sync

# -- sale: the group buy, to the fen -----------------------------------------------

hq sale "$BUY" --json
check "sale --json: exit" 0 "$rc"
cp "$OUT" "$T/buy.json"
j() { json "$T/buy.json" "$1"; }
check "sale id" "$BUY" "$(j '$.sale')"
check "site" "GROUP-7" "$(j '$.site')"
check "seller" "RESELLER-7 Group leader Zhao" "$(j '$.seller') $(j '$.seller_name')"
check "member" "+8613700137000 Zhao Min" "$(j '$.member') $(j '$.member_name')"
check "referrer" "RESELLER-7 bound" "$(j '$.referrer') $(j '$.referral')"
check "channel, payment, receipt" "community wechat 0001" \
    "$(j '$.channel') $(j '$.payment') $(j '$.receipt')"
check "total, refunded" "CNY 550.00 55000 55.00" \
    "$(j '$.currency') $(j '$.total') $(j '$.total_minor') $(j '$.refunded')"
check "plan version" "2026-01-01" "$(j '$.plan_version')"
check "recorded in the network's zone" "2026-11-20T18: +08:00" \
    "$(j '$.recorded' | cut -c1-14) $(j '$.recorded' | cut -c24-)"
check "not voided" "" "$(j '$.voided')"
check "line" "RICE-5KG  10 55.00 550.00 0" \
    "$(j '$.lines[0].sku') $(j '$.lines[0].category') $(j '$.lines[0].qty') $(j '$.lines[0].price') $(j '$.lines[0].amount') $(j '$.lines[0].refunded_qty')"
check "lines" 1 "$(sqlite3 :memory: "SELECT json_array_length(readfile('$T/buy.json'), '\$.lines')")"
path=""
for i in 0 1 2 3; do
    path="$path$(j "\$.path[$i].level"):$(j "\$.path[$i].partner"):$(j "\$.path[$i].kind"):$(j "\$.path[$i].status") "
done
check "path at the sale's time" \
    "0:RESELLER-7:reseller:active 1:DEALER-BJ:dealer:active 2:REGION-N:region:active 3:HQ:hq:active " \
    "$path"
check "path length" 4 "$(sqlite3 :memory: "SELECT json_array_length(readfile('$T/buy.json'), '\$.path')")"
check "transfers" 9 "$(sqlite3 :memory: "SELECT json_array_length(readfile('$T/buy.json'), '\$.transfers')")"
# id kind account level rate base share exact amount rounding period refund reverses
row() {
    k="\$.transfers[$1]"
    echo "$(j "$k.id") $(j "$k.kind") $(j "$k.account") $(j "$k.level") $(j "$k.rate_bps") $(j "$k.base") $(j "$k.share") $(j "$k.exact") $(j "$k.amount") $(j "$k.rounding") $(j "$k.period") $(j "$k.refund" | cut -c1-4) $(j "$k.reverses")"
}
REF=$(json "$T/buy.json" '$.refunds[0].refund')
R4=$(echo "$REF" | cut -c1-4)
check "13 commission L0" "13 commission partner:RESELLER-7 0 800 550.00  44.00 44.00 0.00 2026-11  " "$(row 0)"
check "14 commission L1" "14 commission partner:DEALER-BJ 1 300 550.00  16.50 16.50 0.00 2026-11  " "$(row 1)"
check "15 commission L2" "15 commission partner:REGION-N 2 100 550.00  5.50 5.50 0.00 2026-11  " "$(row 2)"
check "16 bonus" "16 bonus partner:RESELLER-7     5.00 5.00 0.00 2026-11  " "$(row 3)"
check "17 referral 1 %" "17 referral partner:RESELLER-7  100 550.00  5.50 5.50 0.00 2026-11  " "$(row 4)"
check "18 clawback L0" "18 clawback partner:RESELLER-7 0 800 44.00 55.00/550.00 -4.40 -4.40 0.00 2026-11 $R4 13" "$(row 5)"
check "19 clawback L1" "19 clawback partner:DEALER-BJ 1 300 16.50 55.00/550.00 -1.65 -1.65 0.00 2026-11 $R4 14" "$(row 6)"
check "20 clawback L2" "20 clawback partner:REGION-N 2 100 5.50 55.00/550.00 -0.55 -0.55 0.00 2026-11 $R4 15" "$(row 7)"
check "21 clawback referral" "21 clawback partner:RESELLER-7  100 5.50 55.00/550.00 -0.55 -0.55 0.00 2026-11 $R4 17" "$(row 8)"
# RESELLER-7 nets 44.00 + 5.00 + 5.50 - 4.40 - 0.55 = 49.55, its statement's closing
check "RESELLER-7 nets its statement's closing" 4955 \
    "$(sqlite3 :memory: "SELECT sum(json_extract(value, '\$.amount_minor')) FROM json_each(readfile('$T/buy.json'), '\$.transfers') WHERE json_extract(value, '\$.account') = 'partner:RESELLER-7'")"
check "refund" "55.00 1" "$(j '$.refunds[0].amount') $(sqlite3 :memory: "SELECT json_array_length(readfile('$T/buy.json'), '\$.refunds')")"
check "no holds" 0 "$(sqlite3 :memory: "SELECT json_array_length(readfile('$T/buy.json'), '\$.holds')")"

# the table: the header, then each table under its heading
hq sale "$BUY"
check "sale: exit" 0 "$rc"
cp "$OUT" "$T/buy.txt"
check_has "sale: header" "seller        RESELLER-7" "$OUT"
check_has "sale: transfers heading" \
    "transfers (exact = base x rate_bps / 10000, or base x share; rounding = amount - exact):" "$OUT"
check_has "sale: transfer 18" \
    "18  clawback    partner:RESELLER-7  Group leader Zhao      0       800  -         44.00   55.00/550.00  -4.40  -4.40   0.00      2026-11" "$OUT"
check_has "sale: path" "    3  HQ          Headquarters       hq        active" "$OUT"
# --csv: the transfers only
hq sale "$BUY" --csv
check "sale --csv: exit" 0 "$rc"
check "sale --csv: header" \
    "id,kind,account,name,level,rate_bps,category,base,share,exact,amount,rounding,period,late_from,refund,reverses" \
    "$(head -n 1 "$OUT" | tr -d '\r')"
check "sale --csv: rows" 10 "$(wc -l <"$OUT" | tr -d ' ')"
# by the shop's receipt, and by a prefix of the id
hq sale --site GROUP-7 --receipt 0001 --json
check "by receipt" "$BUY" "$(json "$OUT" '$.sale')"
hq sale "$(echo "$BUY" | cut -c1-23)" --json
check "by prefix" "$BUY" "$(json "$OUT" '$.sale')"

# -- sale: the shop's roundings ---------------------------------------------------

hq sale "$SALE1" --json
cp "$OUT" "$T/s1.json"
s1() { json "$T/s1.json" "$1"; }
# transfers 1-4: rice DEALER-BJ 5.99, rice REGION-N 2.40, oil DEALER-BJ 1.48, oil REGION-N 0.56
check "sale 1 rice L0" "rice 119.80 5.99 5.99 0.00" \
    "$(s1 '$.transfers[0].category') $(s1 '$.transfers[0].base') $(s1 '$.transfers[0].exact') $(s1 '$.transfers[0].amount') $(s1 '$.transfers[0].rounding')"
check "sale 1 rice L1: 2.396 -> 2.40" "rice 119.80 200 2.396 2.40 0.004" \
    "$(s1 '$.transfers[1].category') $(s1 '$.transfers[1].base') $(s1 '$.transfers[1].rate_bps') $(s1 '$.transfers[1].exact') $(s1 '$.transfers[1].amount') $(s1 '$.transfers[1].rounding')"
check "sale 1 oil L0 ([levels]: no category)" " 18.50 800 1.48 1.48" \
    "$(s1 '$.transfers[2].category') $(s1 '$.transfers[2].base') $(s1 '$.transfers[2].rate_bps') $(s1 '$.transfers[2].exact') $(s1 '$.transfers[2].amount')"
check "sale 1 oil L1: 0.555 -> 0.56" "18.50 300 0.555 0.56 0.005" \
    "$(s1 '$.transfers[3].base') $(s1 '$.transfers[3].rate_bps') $(s1 '$.transfers[3].exact') $(s1 '$.transfers[3].amount') $(s1 '$.transfers[3].rounding')"
check "sale 1 member, no referrer" "+8613800138000 Wang Fang none cash store" \
    "$(s1 '$.member') $(s1 '$.member_name') $(s1 '$.referral') $(s1 '$.payment') $(s1 '$.channel')"
hq sale "$SALE2" --json
cp "$OUT" "$T/s2.json"
s2() { json "$T/s2.json" "$1"; }
check "sale 2 L0: 2.995 -> 3.00 (half to even)" "2.995 3.00 0.005" \
    "$(s2 '$.transfers[0].exact') $(s2 '$.transfers[0].amount') $(s2 '$.transfers[0].rounding')"
check "sale 2 L1: 1.198 -> 1.20" "1.198 1.20 0.002" \
    "$(s2 '$.transfers[1].exact') $(s2 '$.transfers[1].amount') $(s2 '$.transfers[1].rounding')"
check "sale 2 Wang Fang's bonus and 1 %" "bonus member:+8613800138000 5.00 referral 0.599 0.60" \
    "$(s2 '$.transfers[2].kind') $(s2 '$.transfers[2].account') $(s2 '$.transfers[2].amount') $(s2 '$.transfers[3].kind') $(s2 '$.transfers[3].exact') $(s2 '$.transfers[3].amount')"
hq sale "$SALE3" --json
cp "$OUT" "$T/s3.json"
s3() { json "$T/s3.json" "$1"; }
check "sale 3 clawback REGION-N: 0.555 -> 0.56" "clawback 2.22 18.50/74.00 -0.555 -0.56 -0.005" \
    "$(s3 '$.transfers[3].kind') $(s3 '$.transfers[3].base') $(s3 '$.transfers[3].share') $(s3 '$.transfers[3].exact') $(s3 '$.transfers[3].amount') $(s3 '$.transfers[3].rounding')"

# -- sale: refusals ---------------------------------------------------------------

hq sale
check "sale without SALE: exit" 64 "$rc"
check_one_error "sale without SALE" \
    "sale needs the SALE's id (see: dealernet-hq sales list), or --site SITE --receipt N"
hq sale 01a2
check "sale 01a2: exit" 64 "$rc"
check_one_error "sale 01a2" "'01a2' is not a sale id"
hq sale ffffffff
check "no such sale: exit" 66 "$rc"
check_one_error "no such sale" "no sale has the id ffffffff..."
hq sale --site GROUP-7
check "--site alone: exit" 64 "$rc"
check_one_error "--site alone" "--site and --receipt go together"
hq sale --site GROUP-7 --receipt 9
check "no such receipt: exit" 66 "$rc"
check_one_error "no such receipt" "no sale of site GROUP-7 has receipt 9"

# -- the void shows ---------------------------------------------------------------

hq sale void "$BUY" --reason "group buy recorded twice"
check "void: exit" 0 "$rc"
hq sale "$BUY" --json
cp "$OUT" "$T/void.json"
v() { json "$T/void.json" "$1"; }
check "voided by" "hq group buy recorded twice 1" "$(v '$.voided_by') $(v '$.void_reason') $(v '$.void_correction')"
# the void takes back what the refund left: 44.00 - 4.40 = 39.60 (of 13)
check "void of 13" "void partner:RESELLER-7 44.00 rest -39.60 -39.60 0.00 13" \
    "$(v '$.transfers[9].kind') $(v '$.transfers[9].account') $(v '$.transfers[9].base') $(v '$.transfers[9].share') $(v '$.transfers[9].exact') $(v '$.transfers[9].amount') $(v '$.transfers[9].rounding') $(v '$.transfers[9].reverses')"
check "void transfers" 14 "$(sqlite3 :memory: "SELECT json_array_length(readfile('$T/void.json'), '\$.transfers')")"
check "RESELLER-7 nets nothing after the void" 0 \
    "$(sqlite3 :memory: "SELECT sum(json_extract(value, '\$.amount_minor')) FROM json_each(readfile('$T/void.json'), '\$.transfers') WHERE json_extract(value, '\$.account') = 'partner:RESELLER-7'")"

# -- sales list ---------------------------------------------------------------------

ids() { sqlite3 :memory: "SELECT group_concat(json_extract(value, '\$.sale'), ' ') FROM json_each(readfile('$OUT'), '\$.sales')"; }
short() { echo "$1"; }
hq sales list --json
check "list: exit" 0 "$rc"
# newest first: the group buy was recorded last (the shop synced first, but
# each sale's recorded time is its own)
check "list: all, newest first" "$(short "$BUY") $(short "$SALE3") $(short "$SALE2") $(short "$SALE1")" "$(ids)"
check "list: more" 0 "$(json "$OUT" '$.more')"
check "list: the group buy's row" "GROUP-7 RESELLER-7 +8613700137000 community wechat 0001 CNY 550.00 55.00 1" \
    "$(json "$OUT" '$.sales[0].site') $(json "$OUT" '$.sales[0].seller') $(json "$OUT" '$.sales[0].member') $(json "$OUT" '$.sales[0].channel') $(json "$OUT" '$.sales[0].payment') $(json "$OUT" '$.sales[0].receipt') $(json "$OUT" '$.sales[0].currency') $(json "$OUT" '$.sales[0].total') $(json "$OUT" '$.sales[0].refunded') $(json "$OUT" '$.sales[0].voided')"
hq sales list --site SHOP-BJ1 --json
check "list --site" "$(short "$SALE3") $(short "$SALE2") $(short "$SALE1")" "$(ids)"
hq sales list --partner RESELLER-7 --json
check "list --partner RESELLER-7" "$(short "$BUY")" "$(ids)"
hq sales list --partner DEALER-BJ --json
check "list --partner DEALER-BJ (its team)" \
    "$(short "$BUY") $(short "$SALE3") $(short "$SALE2") $(short "$SALE1")" "$(ids)"
hq sales list --member "138 0013 8000" --json
check "list --member (typed any way)" "$(short "$SALE1")" "$(ids)"
hq sales list --channel online --json
check "list --channel online" "$(short "$SALE2")" "$(ids)"
hq sales list --from 2026-11-20 --to 2026-11-20 --json
check "list --from --to the day" 4 "$(sqlite3 :memory: "SELECT json_array_length(readfile('$OUT'), '\$.sales')")"
hq sales list --from 2026-11-21 --json
check "list --from the next day" "" "$(ids)"
hq sales list --to 2026-11-19 --json
check "list --to the day before" "" "$(ids)"
hq sales list --limit 1 --json
check "list --limit 1" "$(short "$BUY") 3" "$(ids) $(json "$OUT" '$.more')"
hq sales list --limit 1
check "list --limit 1: exit" 0 "$rc"
check_has "list --limit 1: more" \
    "1 sales shown, 3 more match: narrow the filters or raise --limit (at most 1000)" "$OUT"
hq sales list --partner DEALER-BJ --limit 2 --json
check "list --partner --limit 2" "$(short "$BUY") $(short "$SALE3") 2" "$(ids) $(json "$OUT" '$.more')"
hq sales list --site SHOP-BJ1 --csv
check "list --csv: header" "sale,recorded,site,seller,member,channel,payment,receipt,currency,total,refunded,voided" \
    "$(head -n 1 "$OUT" | tr -d '\r')"
check "list --csv: rows" 4 "$(wc -l <"$OUT" | tr -d ' ')"

# bad input: one line, the exit code
hq sales list --limit 0
check "--limit 0: exit" 64 "$rc"
check_one_error "--limit 0" "--limit must be a whole number from 1 to 1000"
hq sales list --limit 1001
check "--limit 1001: exit" 64 "$rc"
hq sales list --channel shop
check "--channel shop: exit" 64 "$rc"
check_one_error "--channel shop" "--channel 'shop' is not one of store, online, community"
hq sales list --site NOWHERE
check "unknown site: exit" 66 "$rc"
check_one_error "unknown site" "site NOWHERE does not exist"
hq sales list --partner NOBODY
check "unknown partner: exit" 66 "$rc"
check_one_error "unknown partner" "partner NOBODY does not exist"
hq sales list --member 12ab
check "not a phone: exit" 64 "$rc"
check_one_error "not a phone" "'12ab' is not a phone number"
hq sales list --from 2026-11-21 --to 2026-11-20
check "--from after --to: exit" 64 "$rc"
check_one_error "--from after --to" "--from is after --to"
hq sales list --from 2026-13-01
check "not a date: exit" 64 "$rc"

net_finish
