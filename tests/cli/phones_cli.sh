#!/bin/sh
# phones_cli.sh -- canonical phones end to end (issue 10, part 5): the till,
# the sync, and HQ's look-ups, with a real server and agents on loopback.
#
# The server is initialised with the default country (86), the example plan
# (deploy/plan.ini: a referral pays 5.00 on the member's first purchase and
# 1 % of every purchase for 365 days, half-even to the fen).
#
#   SHOP1: Li Wei signs up as "+86 138 0013 8000"; 8613800138000, 13800138000,
#          013800138000 and full-width digits are the same member (refused
#          as already signed up); Wang Fang signs up in full-width digits,
#          referred by Li typed as 013800138000; Wang buys RICE-5KG x 2 at
#          59.90 = 119.80, her phone typed "(139) 0013-9000".
#          Li earns 5.00 + 119.80 x 1 % = 5.00 + 1.198 -> 1.20 = 6.20.
#   HQ:    member statement finds Li by each of the five spellings: closing
#          6.20; referrals --member 013800138000 shows Li, then Wang.
#   SHOP2: signs Li up again as 013800138000: one conflict in member
#          conflicts, the phones compared canonical.
set -eu
. "$(dirname "$0")/../lib/net.sh"
net_init phones_cli

FW_LI="１３８００１３８０００"    # 13800138000 typed with a Chinese IME
FW_WANG="１３９　００１３　９０００" # 139 0013 9000, ideographic spaces
LI=+8613800138000
WANG=+8613900139000

# -- init: the default country ----------------------------------------------------

run 30 "$SERVER" -d "$T/srv-bad" init --country 0
check "server init --country 0: exit" 64 "$rc"
check_one_error "server init --country 0" \
    "country '0' is not a country calling code (1 to 3 digits, like 86)"

agent "$T/eur" init --site EU1 --partner D1 --currency EUR
check "agent init EUR without --country: exit" 64 "$rc"
check_one_error "agent init EUR without --country" \
    "currency EUR is spent in several countries: give --country CC, the calling code of phones typed here without one (like 49)"
run 60 "$AGENT" -d "$T/eur" init --site EU1 --partner D1 --currency EUR --country +49
check "agent init EUR --country +49: exit" 0 "$rc"
check_has "agent init EUR --country +49: says so" "(EUR, phones +49)" "$OUT"
agent "$T/bad" init --site X1 --partner D1 --country 1000
check "agent init --country 1000: exit" 64 "$rc"
check_one_error "agent init --country 1000" \
    "country '1000' is not a country calling code (1 to 3 digits, like 86)"

server_init
server_start
network_init
hq plan set deploy/plan.ini
[ "$rc" -eq 0 ] || { echo "plan set failed: $(cat "$ERR")" >&2; exit 1; }

A=$T/a
agent_new "$A" SHOP1
check_has "agent init: the currency's country" "(CNY, phones +86)" "$OUT"
enroll "$A" "$(site_add SHOP1)"
check "enroll SHOP1: exit" 0 "$rc"
check "status: country" "+86" "$(status_field "$A" country)"

# member_field NAME FIELD: FIELD of the member called NAME in SHOP1's member list.
member_field() {
    agent "$A" member list --json
    cp "$OUT" "$T/members.json"
    sqlite3 :memory: "SELECT json_extract(value, '\$.$2') FROM json_each(readfile('$T/members.json'))
                      WHERE json_extract(value, '\$.name') = '$1'"
}

# -- the till -----------------------------------------------------------------------

agent "$A" member add --phone "+86 138 0013 8000" --name "Li Wei" --json
check "Li: exit" 0 "$rc"
check "Li: stored canonical" "$LI" "$(member_field "Li Wei" phone)"
agent "$A" member list --json
cp "$OUT" "$T/members1.json"
LI_ID=$(json "$T/members1.json" '$[0].id')
for typed in 8613800138000 13800138000 013800138000 "$FW_LI"; do
    agent "$A" member add --phone "$typed" --name "Li again"
    check "'$typed' is Li: exit" 65 "$rc"
    check_one_error "'$typed' is Li" "phone $LI is already signed up here as member $LI_ID"
done
agent "$A" member list --json
check "one member for four spellings" 1 "$(sqlite3 :memory: "SELECT json_array_length(readfile('$OUT'))")"

agent "$A" member add --phone "$FW_WANG" --name "Wang Fang" --referrer 013800138000 --json
check "Wang (full-width): exit" 0 "$rc"
check "Wang: stored canonical" "$WANG" "$(member_field "Wang Fang" phone)"
check "Wang: referrer is Li" "$LI" "$(member_field "Wang Fang" referrer)"

agent "$A" member add --phone "138 0013 800" --name "A digit short"
check "a digit short: exit" 65 "$rc"
check_one_error "a digit short" \
    "phone '138 0013 800' is not a phone number: a Chinese mobile number has 11 digits after +86, this one has 10"

agent "$A" catalog set RICE-5KG 59.90 --category rice
agent "$A" sale --line RICE-5KG:2 --member "(139) 0013-9000" --json
check "sale to Wang: exit" 0 "$rc"
cp "$OUT" "$T/sale.json"
agent "$A" sales --all --json
cp "$OUT" "$T/sales.json"
check "sale: member canonical" "$WANG" "$(json "$T/sales.json" '$[0].member')"
# the month of the sale, as the server files it (UTC), not today's
PERIOD=$(json "$T/sales.json" '$[0].recorded_at' | cut -c1-7)

agent "$A" sync
check "sync SHOP1: exit" 0 "$rc"

# -- HQ: any spelling finds the member ------------------------------------------------

for typed in "+86 138 0013 8000" 8613800138000 13800138000 013800138000 "$FW_LI"; do
    hq member statement "$typed" --period "$PERIOD" --json
    check "statement '$typed': exit" 0 "$rc"
    cp "$OUT" "$T/st.json"
    check "statement '$typed': account" "member:$LI" "$(json "$T/st.json" '$.account')"
    check "statement '$typed': closing 5.00 + 1.20" "6.20" "$(json "$T/st.json" '$.closing')"
done
hq member statement 12ab
check "statement 12ab: exit" 64 "$rc"
check_one_error "statement 12ab" \
    "'12ab' is not a phone number: 'a' is not a digit, a space, '-', '.', '(', ')' or a leading '+'"

hq referrals --member 013800138000 --json
check "referrals --member 013800138000: exit" 0 "$rc"
cp "$OUT" "$T/tree.json"
check "tree: Li, then Wang" "$LI $WANG" \
    "$(json "$T/tree.json" '$[0].phone') $(json "$T/tree.json" '$[1].phone')"

# -- a second shop: one conflict, compared canonical ----------------------------------

B=$T/b
agent_new "$B" SHOP2
enroll "$B" "$(site_add SHOP2)"
check "enroll SHOP2: exit" 0 "$rc"
agent "$B" member add --phone 013800138000 --name "Li at shop 2"
check "Li at SHOP2: exit" 0 "$rc"
agent "$B" sync
check "sync SHOP2: exit" 0 "$rc"
hq member conflicts --json
check "member conflicts: exit" 0 "$rc"
cp "$OUT" "$T/conflicts.json"
check "member conflicts: one" 1 "$(sqlite3 :memory: "SELECT json_array_length(readfile('$T/conflicts.json'))")"
check "member conflicts: Li, SHOP1 first, SHOP2's spelling" "$LI SHOP1 SHOP2 $LI" \
    "$(json "$T/conflicts.json" '$[0].phone') $(json "$T/conflicts.json" '$[0].first_site') $(json "$T/conflicts.json" '$[0].duplicate_site') $(json "$T/conflicts.json" '$[0].duplicate_phone')"

hq verify
check "verify: exit" 0 "$rc"

net_finish
