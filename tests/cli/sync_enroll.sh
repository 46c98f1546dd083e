#!/bin/sh
# sync_enroll.sh -- enrollment of sites and who may push events.
#
# Proves, with a real server and agents on loopback in a throwaway folder:
#   - the happy path: a site enrolls with its token, syncs, and the server
#     holds exactly its events (count and sum of totals to the fen);
#   - every refused enrollment exits 77 with one line naming the reason and
#     changes nothing but the token's hold: an unknown token, a token issued
#     for another site, an expired token, a token already used (by a second
#     agent of the same site: it is told by which key; enroll_secrets.sh
#     has the rest of raced tokens), and enrolling twice (73, locally);
#   - an unknown CURVE key pushing a correctly signed batch is refused
#     NOT_ENROLLED, logged, and nothing is stored;
#   - site A's key pushing a batch whose events claim site B (rechained and
#     signed with A's key) is refused WRONG_SITE and nothing is stored;
#   - a revoked site's sync exits 77 saying "revoked", keeps its events
#     pending, and the server's counts do not move.
set -eu
. "$(dirname "$0")/../lib/net.sh"
net_init sync_enroll

server_init
server_start
network_init
TOKEN1=$(site_add SHOP1)
TOKEN2=$(site_add SHOP2)
TOKEN3=$(site_add SHOP3)
A=$T/a
B=$T/b
C=$T/c
agent_new "$A" SHOP1
agent_new "$B" SHOP1
agent_new "$C" SHOP3
record_sales "$A" 3

# -- refused enrollments ------------------------------------------------------

enroll "$A" 0123456789abcdef0123456789abcdef
check "unknown token: exit" 77 "$rc"
check_one_error "unknown token" "enrollment token not recognised"

enroll "$A" "$TOKEN2"
check "another site's token: exit" 77 "$rc"
check_one_error "another site's token" "enrollment token is for another site than SHOP1"

sq "UPDATE tokens SET expires_ms = 1
    WHERE site_id = (SELECT id FROM sites WHERE code = 'SHOP3')"
enroll "$C" "$TOKEN3"
check "expired token: exit" 77 "$rc"
check_one_error "expired token" "enrollment token expired"

check "refusals enrolled no site" 0 "$(sq "SELECT count(*) FROM sites WHERE enrolled_ms IS NOT NULL")"
check "refusals used no token" 0 "$(sq "SELECT count(*) FROM tokens WHERE used_ms IS NOT NULL")"

# -- the happy path -------------------------------------------------------------

enroll "$A" "$TOKEN1"
check "enroll SHOP1: exit" 0 "$rc"
check_has "enroll SHOP1: says so" "enrolled site SHOP1 with $SYNC_EP" "$OUT"
check "SHOP1 enrolled in site list" 1 "$(site_field SHOP1 enrolled)"
agent "$A" sync --json
check "first sync: exit" 0 "$rc"
check "first sync: acked through" 3 "$(json "$OUT" '$.acked_through')"
check "server sales after first sync" "3|$(totals_sum "$A")" \
    "$(sq "SELECT count(*), sum(total) FROM sales")"
check "server events of SHOP1, seq 1..3" "3|1|3" \
    "$(sq "SELECT count(*), min(seq), max(seq) FROM events e JOIN sites s ON s.id = e.site_id
           WHERE s.code = 'SHOP1'")"
check "SHOP1 applied_seq" 3 "$(site_field SHOP1 applied_seq)"

enroll "$A" "$TOKEN1"
check "enroll twice: exit" 73 "$rc"
check_one_error "enroll twice" "already enrolled"

enroll "$B" "$TOKEN1"
check "used token (second agent of SHOP1): exit" 77 "$rc"
check_one_error "used token" "enrollment token already used at "
check_has "used token: by A's key, not this one" \
    "by key $(sed -n 's/^public-key = //p' "$A/curve.key" | cut -c1-8) from 127.0.0.1, not by this PC" "$ERR"
check "one site enrolled" 1 "$(sq "SELECT count(*) FROM sites WHERE enrolled_ms IS NOT NULL")"

# -- keys that may not push -------------------------------------------------------

record_sales "$A" 2 # seq 4 and 5, pending
poke --agent "$A" --fresh-key push-range 4 5
check "unknown key push: dn_poke exit" 0 "$rc"
check "unknown key push: reply" "refused NOT_ENROLLED expected=0: this key is not enrolled: run 'dealernet-agent enroll' with a token from headquarters" \
    "$(cat "$OUT")"
check_has "unknown key push: logged" "sent a push message: refused (it may only enroll)" "$SRV_LOG"
check "unknown key push: nothing stored" "3|$(totals_sum "$A" 3)" \
    "$(sq "SELECT count(*), sum(total) FROM sales")"

poke --agent "$A" push-as-site SHOP2 4 5
check "events claiming SHOP2: dn_poke exit" 0 "$rc"
check "events claiming SHOP2: reply" \
    "refused WRONG_SITE expected=0: event seq 4 names site SHOP2, but this connection is site SHOP1" \
    "$(cat "$OUT")"
check "events claiming SHOP2: nothing stored" "3|$(totals_sum "$A" 3)" \
    "$(sq "SELECT count(*), sum(total) FROM sales")"
check "events claiming SHOP2: none filed under SHOP2" 0 \
    "$(sq "SELECT count(*) FROM events e JOIN sites s ON s.id = e.site_id WHERE s.code = 'SHOP2'")"
check "SHOP1 applied_seq unchanged" 3 "$(site_field SHOP1 applied_seq)"

agent "$A" sync --json
check "sync after the refusals: exit" 0 "$rc"
check "server sales after second sync" "5|$(totals_sum "$A")" \
    "$(sq "SELECT count(*), sum(total) FROM sales")"

# -- a revoked site ------------------------------------------------------------------

hq site revoke SHOP1
check "revoke SHOP1: exit" 0 "$rc"
record_sales "$A" 1 # seq 6
agent "$A" sync --timeout 10
check "revoked site sync: exit" 77 "$rc"
check_one_error "revoked site sync" "revoked"
check "revoked site: server sales unchanged" "5|$(totals_sum "$A" 5)" \
    "$(sq "SELECT count(*), sum(total) FROM sales")"
check "revoked site: event kept pending" 1 "$(status_field "$A" pending)"
check_has "revoked site: logged" "revoked site SHOP1 tried to sync: refused" "$SRV_LOG"

server_stop
check "server stops cleanly" 0 "$SRV_STATUS"
net_finish
