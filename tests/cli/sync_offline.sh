#!/bin/sh
# sync_offline.sh -- a shop records offline for a long time, then syncs once.
#
# Proves, with a real server and agent on loopback in a throwaway folder:
#   - with the server down, 1,000 sales are recorded; a sync exits 75 with
#     one line saying all 1,000 are kept pending, and `status --json` shows
#     1,000 events, 1,000 pending;
#   - after the server starts, one `sync` exits 0 and the server holds
#     exactly those 1,000 sales: count, sum of totals and sum of line amounts
#     to the fen, seq 1..1000 each once, and `dealernet-hq site list` shows
#     applied_seq 1000 and no gap; the agent shows 0 pending.
set -eu
. "$(dirname "$0")/../lib/net.sh"
net_init sync_offline
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

# -- offline ---------------------------------------------------------------------

record_sales "$A" $N
SUM=$SALES_SUM
check "agent's own sales: count, sum of totals" "$N|$SUM" \
    "$(sqlite3 "$A/agent.db" "SELECT count(*), sum(total) FROM sales")"
agent "$A" sync --reply-timeout 99
check "sync --reply-timeout below 100 ms: usage error" 64 "$rc"
agent "$A" sync --reply-timeout 60001
check "sync --reply-timeout above 60000 ms: usage error" 64 "$rc"
agent "$A" sync --timeout 2 --reply-timeout 200
check "sync with the server down: exit" 75 "$rc"
check_one_error "sync with the server down" "$N events kept pending"
agent "$A" status --json
cp "$OUT" "$T/status.json"
check "offline: events recorded" $N "$(json "$T/status.json" '$.events')"
check "offline: events pending" $N "$(json "$T/status.json" '$.pending')"
check "offline: head seq" $N "$(json "$T/status.json" '$.head_seq')"

# -- back online -------------------------------------------------------------------

server_start
agent "$A" sync --json --timeout 60
check "one sync: exit" 0 "$rc"
cp "$OUT" "$T/sync.json"
check "one sync: acked through" $N "$(json "$T/sync.json" '$.acked_through')"
check "one sync: pending after" 0 "$(json "$T/sync.json" '$.pending')"
check "server sales: count, sum of totals" "$N|$SUM" "$(sq "SELECT count(*), sum(total) FROM sales")"
check "server sale lines: count, sum of amounts" "$N|$SUM" \
    "$(sq "SELECT count(*), sum(quantity * unit_price) FROM sale_lines")"
check "server events: count, distinct seqs, distinct ids, min, max" "$N|$N|$N|1|$N" \
    "$(sq "SELECT count(*), count(DISTINCT seq), count(DISTINCT id), min(seq), max(seq)
           FROM events")"
check "site list: applied_seq" $N "$(site_field SHOP1 applied_seq)"
check "site list: no gap" "" "$(site_field SHOP1 gap_expected_seq)"
check "agent: pending after" 0 "$(status_field "$A" pending)"

server_stop
check "server stops cleanly" 0 "$SRV_STATUS"
net_finish
