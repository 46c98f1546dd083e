#!/bin/sh
# sync_resync.sh -- the server dies after committing a batch but before its
# ack reaches the agent; the agent resends and nothing is stored twice.
#
# Proves, with a real server and agent on loopback in a throwaway folder:
#   - with DEALERNET_TEST_CRASH_AFTER_COMMIT=2 the server exits (status 3)
#     right after its second group commit, before sending the acks.  (The
#     first commit is the Hello's -- it records last seen and clock skew --
#     so N=1 would die before any event is committed; N=2 is the first
#     commit that holds events.)  The agent's `sync --timeout 3` exits 75
#     and keeps all 1,000 events pending, while the server already holds K
#     of them, K >= 1, with the exact sum of the first K totals;
#   - after a normal restart, one `sync` exits 0 and the server holds
#     exactly 1,000 events and sales: no duplicates (count = distinct ids =
#     distinct seqs), sum of totals to the fen, applied_seq 1000, no tamper
#     alarm (the resent events matched what was stored).
set -eu
. "$(dirname "$0")/../lib/net.sh"
net_init sync_resync
N=1000

server_init
server_start
network_init
TOKEN=$(site_add SHOP1)
A=$T/a
agent_new "$A" SHOP1
enroll "$A" "$TOKEN"
check "enroll: exit" 0 "$rc"
server_stop
check "server stops cleanly" 0 "$SRV_STATUS"
record_sales "$A" $N
SUM=$SALES_SUM
check "agent's own sales: count, sum of totals" "$N|$SUM" \
    "$(sqlite3 "$A/agent.db" "SELECT count(*), sum(total) FROM sales")"

# -- the acks are lost ------------------------------------------------------------

server_start DEALERNET_TEST_CRASH_AFTER_COMMIT=2
agent "$A" sync --timeout $((3 * SLOW))
check "sync while the server dies: exit" 75 "$rc"
check_one_error "sync while the server dies" "$N events kept pending"
server_wait 20
check "server exits by the test hook" 3 "$SRV_STATUS"
check_has "server logged the hook" "test hook: exiting after the commit, before the acks" "$SRV_LOG"
K=$(sq "SELECT count(*) FROM events")
check "server committed events before dying: K = $K >= 1" yes "$([ "$K" -ge 1 ] && echo yes || echo no)"
check "after the crash: K sales, sum of the first K totals" "$K|$(totals_sum "$A" "$K")" \
    "$(sq "SELECT count(*), sum(total) FROM sales")"
check "after the crash: seqs 1..K, each once" "$K|1|$K" \
    "$(sq "SELECT count(DISTINCT seq), min(seq), max(seq) FROM events")"
check "after the crash: agent still has every event pending" $N "$(status_field "$A" pending)"

# -- resync ------------------------------------------------------------------------

server_start
agent "$A" sync --json --timeout 60
check "resync: exit" 0 "$rc"
cp "$OUT" "$T/sync.json"
check "resync: acked through" $N "$(json "$T/sync.json" '$.acked_through')"
check "server events: count, distinct ids, distinct seqs, max seq" "$N|$N|$N|$N" \
    "$(sq "SELECT count(*), count(DISTINCT id), count(DISTINCT seq), max(seq) FROM events")"
check "server sales: count, distinct events, sum of totals" "$N|$N|$SUM" \
    "$(sq "SELECT count(*), count(DISTINCT eid), sum(total) FROM sales")"
check "server sale lines: count, sum of amounts" "$N|$SUM" \
    "$(sq "SELECT count(*), sum(quantity * unit_price) FROM sale_lines")"
check "site list: applied_seq" $N "$(site_field SHOP1 applied_seq)"
check "agent: pending after" 0 "$(status_field "$A" pending)"
check "no tamper alarm" 0 "$(grep -c 'TAMPER ALARM' "$SRV_LOG" || true)"

server_stop
check "server stops cleanly" 0 "$SRV_STATUS"
net_finish
