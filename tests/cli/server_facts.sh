#!/bin/sh
# server_facts.sh -- the server owns the facts (DESIGN rule 8), end to end.
#
# A real server, dealernet-hq and agents on loopback in a throwaway folder.
# Shops whose clocks lie (faketime), that name sellers and referrers outside
# their branch, that keep their books in another currency or were
# initialised for another partner: everything they record is stored, and
# nothing is posted as they claim.  Each class prints a security line
#     security: CLASS: attempts N, accepted 0
# and HQ steers (plan set, partner move, suspend, period close) after a
# shop sent a sale dated 2199.  HQ resolves the held sales (post for
# another seller, post as named, dismiss) and verify stays ok.
#
# The tree: HQ (hq) > R1 (region) > D1, D2 (dealers); RS1 (reseller) under
# D1.  The plan is deploy/plan.ini: levels 800/300/100 bps, hq never earns,
# so a 10.00 sale of seller D1 pays D1 8 % = 0.80 and R1 3 % = 0.30 (the
# next level up is HQ).  Sites: SHOP1, SHOP3, SHOP5 for D1; SHOP2 for D2.
#
# Figures, every sale one line X:1@10.00 (1000 fen, no category):
#   SHOP1  3 sales dated 2030, 2099, 2199     D1 3 x 80 = 240, R1 3 x 30 = 90
#          seller RS1 (below D1, the control)  RS1 80, D1 30, R1 10
#          sellers D2, NOSUCH, R1, HQ          held: nothing
#            HQ posts D2's for D1              D1 80, R1 30
#            HQ posts R1's as named            R1 80 (HQ above it never earns)
#            HQ dismisses NOSUCH's and HQ's    nothing
#          a sale dated 2026-01-02             D1 80, R1 30 (posted at its
#                                              previous event's time)
#   SHOP3  first event dated 2025-06-01        D1 80, R1 30 (posted when HQ
#                                              added the site, under the plan)
#   SHOP5  initialised for D2, registered D1   D1 80, R1 30
#   SHOP1  seller D2, refunded 5.00, both held  held: nothing
#            HQ posts it for D1                D1 80 - 40 = 40, R1 30 - 15 = 15
#                                              (half back: 5.00 of 10.00)
#   SHOP2  (D2) a member referred by D1, held; a sale to it
#                                              D2 80, R1 30, no referral
#            HQ accepts the referral; a 2nd sale
#                                              D2 80, R1 30, D1 1 % = 10
#   SHOP1  3 sales to customers SHOP2 signed up referred by D2
#                                              D1 3 x 80 = 240, R1 3 x 30 = 90,
#                                              no referral (void: bought elsewhere)
#   SHOP1  a 20.00 sale over the site's threshold of 15.00, flagged
#                                              D1 8 % = 160, R1 3 % = 60
#   D1  240 + 30 + 80 + 80 + 80 + 80 + 40 + 10 + 240 + 160 = 1040 (10.40)
#   R1  90 + 10 + 30 + 80 + 30 + 30 + 30 + 15 + 30 + 30 + 90 + 60 = 525 (5.25)
#   RS1 80, D2 160
set -eu
. "$(dirname "$0")/../lib/net.sh"
net_init server_facts
# Every program on one clock that starts at 2026-11-20 10:00 UTC: "tomorrow"
# and "last month" below are that clock's, the sales dated 2030 stay in the
# future whatever today is, and a run across midnight cannot post the
# threshold's sale under the plan set from "tomorrow".
net_pin_clock '2026-11-20 10:00:00'

server_init
server_start
hq partner add HQ --name "Head office" --kind hq
hq partner add R1 --name "Region one" --kind region --parent HQ
hq partner add D1 --name "Dealer one" --kind dealer --parent R1
hq partner add D2 --name "Dealer two" --kind dealer --parent R1
hq partner add RS1 --name "Reseller one" --kind reseller --parent D1
hq plan set deploy/plan.ini
check "setup: plan set" 0 "$rc"

# shop NAME SITE PARTNER [CURRENCY]: a new agent folder $T/NAME, enrolled for
# SITE (added for PARTNER) unless CURRENCY says otherwise.
new_site() {
    hq site add "$2" --partner "$3" --json
    [ "$rc" -eq 0 ] || { echo "site add failed: $(cat "$ERR")" >&2; exit 1; }
    cp "$OUT" "$T/site-$2.json"
    json "$T/site-$2.json" '$.token'
}
# at WHEN DIR ARGS...: the agent with its clock starting at WHEN (UTC; the
# library net_pin_clock preloads, told another time).
at() {
    when=$1
    shift
    d=$1
    shift
    run 60 env FAKETIME="@$when" "$AGENT" -q -d "$d" "$@"
    [ "$rc" -eq 0 ] || { echo "agent at $when failed: $(cat "$ERR")" >&2; exit 1; }
}
balance() { # balance PARTNER: its account's balance in fen (0 without one)
    sq "SELECT coalesce((SELECT balance FROM accounts WHERE name = 'partner:$1'), 0)"
}
sale_held() { # sale_held SELLER: exceptions of that seller's sales, "kind|held"
    sq "SELECT group_concat(x.kind || '|' || x.held) FROM exceptions x
        JOIN sales s ON s.eid = x.eid WHERE s.seller = '$1'"
}

TOKEN1=$(new_site S1 SHOP1 D1)
agent "$T/s1" init --site SHOP1 --partner D1
enroll "$T/s1" "$TOKEN1"
check "SHOP1 enrolls" 0 "$rc"

# -- future-dated sales ---------------------------------------------------------
at '2030-01-15 10:00:00' "$T/s1" sale --line X:1@10.00
at '2099-06-30 10:00:00' "$T/s1" sale --line X:1@10.00
at '2199-12-31 10:00:00' "$T/s1" sale --line X:1@10.00
agent "$T/s1" sync
check "future-dated: sync" 0 "$rc"
check "future-dated: all three stored" 3 "$(sq "SELECT count(*) FROM sales")"
# accepted: posted later than received, or into a period after the one of
# its receipt
ACCEPTED=$(sq "SELECT count(*) FROM events e WHERE e.kind = 'sale' AND
    (e.recorded_at_ms > e.received_ms OR EXISTS (SELECT 1 FROM transfers t
     WHERE t.sale_eid = e.eid AND t.period >
           strftime('%Y-%m', e.received_ms / 1000, 'unixepoch')))")
echo "security: future-dated sales: attempts 3, accepted $ACCEPTED"
check "future-dated: none posted in the future" 0 "$ACCEPTED"
check "future-dated: the site's clock kept (to the minute)" \
    "2030-01-15T10:00|2099-06-30T10:00|2199-12-31T10:00" \
    "$(sq "SELECT group_concat(strftime('%Y-%m-%dT%H:%M', site_clock_ms / 1000,
             'unixepoch'), '|') FROM (SELECT site_clock_ms FROM events ORDER BY seq)")"
check "future-dated: three clock_ahead flags" "3|0" \
    "$(sq "SELECT count(*), sum(held) FROM exceptions WHERE kind = 'clock_ahead'")"

# HQ steers as if nothing happened: a plan, a move, a suspension from
# tomorrow or now, and the close of last month.
TOMORROW=2026-11-21
LAST_MONTH=2026-10
sed "s/^effective = .*/effective = $TOMORROW/" deploy/plan.ini >"$T/plan2.ini"
hq plan set "$T/plan2.ini"
check "after 2199: plan set from tomorrow" 0 "$rc"
hq partner move RS1 --parent D2 --effective "$TOMORROW"
check "after 2199: partner move from tomorrow" 0 "$rc"
hq partner suspend D2
check "after 2199: partner suspend" 0 "$rc"
hq partner resume D2
check "after 2199: partner resume" 0 "$rc"
hq period close "$LAST_MONTH"
check "after 2199: period close $LAST_MONTH" 0 "$rc"

# -- commission steering ----------------------------------------------------------
for seller in D2 NOSUCH R1 HQ RS1; do
    agent "$T/s1" sale --line X:1@10.00 --seller "$seller"
done
agent "$T/s1" sync
check "steering: sync" 0 "$rc"
check "after 2199: honest sales are posted at their time or just after, not flagged" 0 \
    "$(sq "SELECT count(*) FROM exceptions WHERE kind = 'clock_behind'")"
ACCEPTED=$(sq "SELECT count(*) FROM sales s WHERE s.seller IN ('D2', 'NOSUCH', 'R1', 'HQ')
    AND (s.held = 0 OR EXISTS (SELECT 1 FROM transfers t WHERE t.sale_eid = s.eid))")
echo "security: commission steering: attempts 4, accepted $ACCEPTED"
check "steering: none posted" 0 "$ACCEPTED"
check "steering: D2 held" "seller_out_of_tree|1" "$(sale_held D2)"
check "steering: NOSUCH held" "unknown_seller|1" "$(sale_held NOSUCH)"
check "steering: R1 (above the site's partner) held" "seller_out_of_tree|1" "$(sale_held R1)"
check "steering: HQ held" "seller_out_of_tree|1" "$(sale_held HQ)"
check "steering: RS1 (below D1) posted, the control" "80" "$(balance RS1)"
hq sales --by partner --json
check "steering: sales by partner shows no held seller" "D1|RS1" \
    "$(sqlite3 :memory: "SELECT group_concat(json_extract(value, '\$.partner'), '|')
        FROM json_each(readfile('$OUT'))")"

hq exceptions --csv
check "exceptions: exit" 0 "$rc"
check_has "exceptions: csv header" "id,kind,held,site,seq,event,detail" "$OUT"
check_has "exceptions: the D2 sale, why" \
    "seller D2 is neither the site's partner D1 nor below it at" "$OUT"
check_has "exceptions: how to resolve it" "dealernet-hq exception resolve" "$OUT"

X_D2=$(sq "SELECT x.id FROM exceptions x JOIN sales s ON s.eid = x.eid WHERE s.seller = 'D2'")
X_NOSUCH=$(sq "SELECT x.id FROM exceptions x JOIN sales s ON s.eid = x.eid
    WHERE s.seller = 'NOSUCH'")
X_R1=$(sq "SELECT x.id FROM exceptions x JOIN sales s ON s.eid = x.eid WHERE s.seller = 'R1'")
X_HQ=$(sq "SELECT x.id FROM exceptions x JOIN sales s ON s.eid = x.eid WHERE s.seller = 'HQ'")
hq exception resolve "$X_D2" --post --seller D1 --reason "rung up under the wrong code"
check "resolve: post for D1" 0 "$rc"
check "resolve: says so" \
    "exception $X_D2 posted: 1 event(s) posted into the open period" "$(cat "$OUT")"
hq exception resolve "$X_D2" --dismiss --reason "again"
check "resolve twice: exit" 73 "$rc"
check_one_error "resolve twice" "exception $X_D2 is already resolved"
hq exception resolve "$X_NOSUCH" --post --seller NOBODY --reason "x"
check "resolve for an unknown partner: exit" 66 "$rc"
check_one_error "resolve for an unknown partner" "no partner NOBODY"
hq exception resolve "$X_NOSUCH" --dismiss --reason "not our seller"
check "resolve: dismiss" 0 "$rc"
hq exception resolve "$X_R1" --post --reason "the region sold it itself"
check "resolve: post as named" 0 "$rc"
hq exception resolve "$X_HQ" --ack --reason "x"
check "resolve a held sale with --ack: exit" 64 "$rc"
check_one_error "resolve a held sale with --ack" \
    "exception $X_HQ (seller_out_of_tree) is resolved with --post [--seller CODE] or --dismiss"
hq exception resolve "$X_HQ" --dismiss --reason "HQ never sells"
check "resolve: dismiss HQ's" 0 "$rc"
hq exception resolve "$X_HQ" --reason "x"
check "resolve without an action: exit" 64 "$rc"

# -- past-dated sales -------------------------------------------------------------
at '2026-01-02 10:00:00' "$T/s1" sale --line X:1@10.00
agent "$T/s1" sync
TOKEN3=$(new_site S3 SHOP3 D1)
agent "$T/s3" init --site SHOP3 --partner D1
at '2025-06-01 10:00:00' "$T/s3" sale --line X:1@10.00
enroll "$T/s3" "$TOKEN3"
agent "$T/s3" sync
check "past-dated: SHOP3 sync" 0 "$rc"
ACCEPTED=$(sq "SELECT count(*) FROM events e JOIN sites st ON st.id = e.site_id
    WHERE e.site_clock_ms < e.received_ms AND (e.recorded_at_ms < st.created_ms OR
    e.recorded_at_ms < (SELECT max(p.recorded_at_ms) FROM events p
                        WHERE p.site_id = e.site_id AND p.seq < e.seq))")
echo "security: past-dated sales: attempts 2, accepted $ACCEPTED"
check "past-dated: none posted before the site or its previous event" 0 "$ACCEPTED"
check "past-dated: both claimed an earlier time" 2 \
    "$(sq "SELECT count(*) FROM events WHERE site_clock_ms < received_ms")"
check "past-dated: two clock_behind flags" 2 \
    "$(sq "SELECT count(*) FROM exceptions WHERE kind = 'clock_behind'")"
check "past-dated: SHOP3's sale posted when HQ added the site" 1 \
    "$(sq "SELECT e.recorded_at_ms = st.created_ms FROM events e JOIN sites st
           ON st.id = e.site_id WHERE st.code = 'SHOP3'")"

# -- an agent initialised for another partner --------------------------------------
TOKEN5=$(new_site S5 SHOP5 D1)
agent "$T/s5" init --site SHOP5 --partner D2
agent "$T/s5" sale --line X:1@10.00
enroll "$T/s5" "$TOKEN5"
check "partner mismatch: enroll" 0 "$rc"
check_has "partner mismatch: enroll says so" \
    "note: HQ registered this site to partner D1, not D2 as initialised: its sales earn for D1" \
    "$OUT"
agent "$T/s5" sync
check "partner mismatch: sync" 0 "$rc"
check "partner mismatch: the sale earns for D1" "D1|0" \
    "$(sq "SELECT s.seller, s.held FROM sales s JOIN sites st ON st.id = s.site_id
           WHERE st.code = 'SHOP5'")"
check "partner mismatch: flagged" 1 \
    "$(sq "SELECT count(*) FROM exceptions WHERE kind = 'partner_mismatch'")"
run 30 "$AGENT" -d "$T/s5" status
check_has "partner mismatch: status says so" \
    "partner    HQ registered this site to D1; it was initialised for D2: its sales earn for D1" \
    "$OUT"

# -- currency mismatch ------------------------------------------------------------
TOKEN4=$(new_site S4 SHOP4 D1)
ATTEMPTS=0
ACCEPTED=0
for cur in USD JPY HKD; do
    agent "$T/s4-$cur" init --site SHOP4 --partner D1 --currency "$cur"
    enroll "$T/s4-$cur" "$TOKEN4"
    ATTEMPTS=$((ATTEMPTS + 1))
    [ "$rc" -eq 0 ] && ACCEPTED=$((ACCEPTED + 1))
    check_one_error "currency $cur: refused" \
        "enrollment refused: this agent keeps its books in $cur, but the network's currency is CNY: initialise the site again with --currency CNY"
done
ENROLLED=$(sq "SELECT count(*) FROM sites WHERE code = 'SHOP4' AND enrolled_ms IS NOT NULL")
echo "security: currency mismatch: attempts $ATTEMPTS, accepted $((ACCEPTED + ENROLLED))"
check "currency: none enrolled" 0 "$((ACCEPTED + ENROLLED))"
agent "$T/s4" init --site SHOP4 --partner D1 --currency CNY
enroll "$T/s4" "$TOKEN4"
check "currency: the same token still enrolls a CNY agent (the control)" 0 "$rc"

# -- a refund of a held sale is held with it ----------------------------------------
agent "$T/s1" sale --line X:1@10.00 --seller D2 --json
HELD_SALE=$(json "$OUT" '$.id')
agent "$T/s1" refund "$HELD_SALE" --amount 5.00
agent "$T/s1" sync
check "held refund: held with its sale" "sale_held|1" \
    "$(sq "SELECT x.kind || '|' || x.held FROM exceptions x JOIN refunds r ON r.eid = x.eid")"
X_SALE=$(sq "SELECT x.id FROM exceptions x JOIN sales s ON s.eid = x.eid
    WHERE s.seller = 'D2' AND x.resolved_ms IS NULL")
X_REFUND=$(sq "SELECT x.id FROM exceptions x JOIN refunds r ON r.eid = x.eid")
hq exception resolve "$X_REFUND" --post --reason "x"
check "held refund: resolved with its sale only" 64 "$rc"
hq exception resolve "$X_SALE" --post --seller D1 --reason "wrong code at the till"
check "held refund: posted with its sale" \
    "exception $X_SALE posted: 2 event(s) posted into the open period" "$(cat "$OUT")"

# -- referrers outside the branch, or unknown -------------------------------------------
TOKEN2=$(new_site S2 SHOP2 D2)
agent "$T/s2" init --site SHOP2 --partner D2
enroll "$T/s2" "$TOKEN2"
agent "$T/s2" member add --phone 13900000001 --name "Li" --referrer D1
agent "$T/s2" member add --phone 13900000002 --name "Wu" --referrer 13999999999
agent "$T/s2" sale --line X:1@10.00 --member 13900000001
agent "$T/s2" sync
check "referrer: out of the branch, held" "referrer_out_of_tree|1" \
    "$(sq "SELECT kind || '|' || held FROM exceptions x JOIN members m ON m.signup_eid = x.eid
           WHERE m.phone LIKE '%13900000001'")"
check "referrer: unknown member, held" "referrer_unknown|1" \
    "$(sq "SELECT kind || '|' || held FROM exceptions x JOIN members m ON m.signup_eid = x.eid
           WHERE m.phone LIKE '%13900000002'")"
check "referrer: the member is stored without it" "|" \
    "$(sq "SELECT coalesce(referrer_partner, '') || '|' || coalesce(referrer_phone, '')
           FROM members WHERE phone LIKE '%13900000001'")"
ACCEPTED=$(sq "SELECT count(*) FROM transfers WHERE code = 'referral'")
echo "security: referrer steering: attempts 2, accepted $ACCEPTED"
check "referrer: nothing paid" 0 "$ACCEPTED"
X_REF=$(sq "SELECT x.id FROM exceptions x JOIN members m ON m.signup_eid = x.eid
    WHERE m.phone LIKE '%13900000001'")
hq exception resolve "$X_REF" --accept --reason "D1 sent this customer to D2"
check "referrer: accepted" "exception $X_REF accepted" "$(cat "$OUT")"
agent "$T/s2" sale --line X:1@10.00 --member 13900000001
agent "$T/s2" sync
check "referrer: pays on later sales only, 1 % (no first-purchase bonus)" "10|0" \
    "$(sq "SELECT sum(amount), sum(bonus) FROM transfers WHERE code = 'referral'")"

# -- referral squatting ------------------------------------------------------------
# SHOP2 signs up three phones it never sells to, each referred by its own
# partner D2; the customers buy at SHOP1 (which signs them up too).  The
# first purchase is not at the sign-up's site: the referral is void.
for n in 11 12 13; do
    agent "$T/s2" member add --phone "139000000$n" --name "Squatted $n" --referrer D2
done
agent "$T/s2" sync
for n in 11 12 13; do
    agent "$T/s1" member add --phone "139000000$n" --name "Customer $n"
    agent "$T/s1" sale --line X:1@10.00 --member "139000000$n"
done
agent "$T/s1" sync
check "squatting: sync" 0 "$rc"
ACCEPTED=$(sq "SELECT count(*) FROM transfers t JOIN accounts a ON a.id = t.credit
    JOIN sales s ON s.eid = t.sale_eid
    WHERE t.code = 'referral' AND a.name = 'partner:D2' AND s.member_phone LIKE '%1390000001_'")
echo "security: referral squatting: attempts 3, accepted $ACCEPTED"
check "squatting: nothing paid to the squatter" 0 "$ACCEPTED"
check "squatting: the referrals are void" "void|void|void" \
    "$(sq "SELECT group_concat(referral_state, '|') FROM (SELECT referral_state
           FROM member_referrals WHERE phone LIKE '%1390000001_' ORDER BY phone)")"

# -- a site's soft threshold ----------------------------------------------------------
hq site threshold SHOP1 15.00
check "threshold: set" "site SHOP1: sales above 15.00 CNY are flagged large_sale" "$(cat "$OUT")"
hq site threshold NOSUCH 15.00
check "threshold: unknown site: exit" 66 "$rc"
check_one_error "threshold: unknown site" "no site NOSUCH"
hq site threshold SHOP1 0
check "threshold: zero: exit" 64 "$rc"
agent "$T/s1" sale --line X:1@20.00
agent "$T/s1" sync
check "threshold: a 20.00 sale posted and flagged" \
    "large_sale|0|sale of 20.00 CNY, above the site's threshold of 15.00 CNY" \
    "$(sq "SELECT kind || '|' || held || '|' || detail FROM exceptions WHERE kind = 'large_sale'")"

# -- the clock, at the shop -----------------------------------------------------------
# the shop's PC 2 h ahead of the (pinned) server
ahead=$((NET_CLOCK_OFFSET + 7200))
[ "$ahead" -ge 0 ] && ahead=+$ahead
run 60 env FAKETIME="${ahead}s" "$AGENT" -d "$T/s1" sync
check "skew: sync exit" 0 "$rc"
check_has "skew: sync warns" "warning: this PC's clock is 2 h 00 min ahead of the server's" "$ERR"
run 30 "$AGENT" -d "$T/s1" status
check_has "skew: status shows it" "s ahead of the server's at the last sync: set this PC's clock" \
    "$OUT"

# -- the ledger -------------------------------------------------------------------
check "D1's balance" 1040 "$(balance D1)"
check "R1's balance" 525 "$(balance R1)"
check "RS1's balance" 80 "$(balance RS1)"
check "D2's balance" 160 "$(balance D2)"
check "nothing for unknown sellers" 0 \
    "$(sq "SELECT count(*) FROM accounts WHERE name IN ('partner:NOSUCH', 'partner:HQ')")"
hq verify
check "verify: exit" 0 "$rc"
cat "$OUT" "$ERR" >"$T/verify.txt"
check_has "verify: ok" "verify: ok" "$T/verify.txt"

server_stop
net_finish
