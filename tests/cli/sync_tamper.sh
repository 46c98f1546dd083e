#!/bin/sh
# sync_tamper.sh -- an event changed in the agent's file is refused and
# reported, and nothing of the batch that carries it is stored.
#
# Proves, with a real server and agents on loopback in a throwaway folder:
#   - an already-synced event whose stored body is edited with sqlite3 and
#     marked unsynced is resent by the next `sync`; the server refuses the
#     batch (TAMPER), logs "TAMPER ALARM" naming the site and seq, keeps the
#     bytes it stored, and stores nothing of the batch (not even the new
#     event behind it); the agent exits 65 with one line naming the seq,
#     keeps the events pending and shows the error in `status`;
#   - an event edited before its first sync breaks the chain: the server
#     refuses the batch (CHAIN, at the next seq) and stores none of its
#     events; the agent exits 65 and says so.
set -eu
. "$(dirname "$0")/../lib/net.sh"
net_init sync_tamper

server_init
server_start
network_init
TOKEN1=$(site_add SHOP1)
TOKEN2=$(site_add SHOP2)
A=$T/a
B=$T/b
agent_new "$A" SHOP1
agent_new "$B" SHOP2

# -- an event changed after it was synced -----------------------------------------

record_sales "$A" 5
enroll "$A" "$TOKEN1"
agent "$A" sync
check "SHOP1 first sync: exit" 0 "$rc"
check "server sales after first sync" "5|$(totals_sum "$A")" \
    "$(sq "SELECT count(*), sum(total) FROM sales")"
STORED2=$(sq "SELECT hex(body) FROM events WHERE seq = 2")
record_sales "$A" 1 # seq 6, new, rides in the same batch as the resent seq 2

# sale 2 was SKU2 x 3; make it SKU7 x 3 and make the agent send it again
check "tamper with synced seq 2" 1 "$(tamper "$A" 2 SKU2 SKU7)"
sqlite3 "$A/agent.db" "UPDATE events SET synced = 0 WHERE seq = 2"
agent "$A" sync --timeout 10
check "sync with tampered seq 2: exit" 65 "$rc"
check_one_error "sync with tampered seq 2" "server refused: event seq 2 differs from the one already stored"
check_has "server logged the alarm" "TAMPER ALARM: site SHOP1 resent seq 2 with different bytes" "$SRV_LOG"
check "tamper: server sales unchanged" "5|$(totals_sum "$A" 5)" \
    "$(sq "SELECT count(*), sum(total) FROM sales")"
check "tamper: new seq 6 of that batch not stored" "5|5" \
    "$(sq "SELECT count(*), max(seq) FROM events")"
check "tamper: server keeps the bytes it stored for seq 2" "$STORED2" \
    "$(sq "SELECT hex(body) FROM events WHERE seq = 2")"
check "tamper: server still has SKU2 on seq 2" "SKU2" \
    "$(sq "SELECT l.sku FROM sale_lines l JOIN events e ON e.eid = l.sale_eid WHERE e.seq = 2")"
check "tamper: site list applied_seq" 5 "$(site_field SHOP1 applied_seq)"
agent "$A" status --json
cp "$OUT" "$T/status.json"
check "tamper: agent keeps seq 2 and 6 pending" 2 "$(json "$T/status.json" '$.pending')"
check "tamper: status shows the error" \
    "server refused: event seq 2 differs from the one already stored; run 'dealernet-agent recover' to rebuild this PC's log from the server's copy" \
    "$(json "$T/status.json" '$.last_error')"

# -- an event changed before its first sync ----------------------------------------

record_sales "$B" 5
SERVER_SUM=$(sq "SELECT count(*), sum(total) FROM sales")
# sale 3 was SKU3 x 1; make it SKU8 x 1
check "tamper with unsynced seq 3" 1 "$(tamper "$B" 3 SKU3 SKU8)"
enroll "$B" "$TOKEN2"
check "enroll SHOP2: exit" 0 "$rc"
agent "$B" sync --timeout 10
check "sync with tampered unsynced seq 3: exit" 65 "$rc"
check_one_error "sync with tampered unsynced seq 3" \
    "server refused: event seq 4 does not continue the site's chain"
check "chain: nothing of SHOP2's batch stored" 0 \
    "$(sq "SELECT count(*) FROM events e JOIN sites s ON s.id = e.site_id WHERE s.code = 'SHOP2'")"
check "chain: server sales unchanged" "$SERVER_SUM" "$(sq "SELECT count(*), sum(total) FROM sales")"
check "chain: site list applied_seq" 0 "$(site_field SHOP2 applied_seq)"
check "chain: agent keeps all 5 pending" 5 "$(status_field "$B" pending)"

server_stop
check "server stops cleanly" 0 "$SRV_STATUS"
net_finish
