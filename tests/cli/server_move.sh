#!/bin/sh
# server_move.sh -- HQ moves the server; `dealernet-agent server set` follows.
#
# Proves, with a real server and an agent on loopback in a throwaway folder:
#   - a folder that was never enrolled is refused, exit 77, one line, and
#     its status still says "not enrolled";
#   - the site enrolls, records 3 sales and syncs them (3 acknowledged);
#   - the server stops and starts again on other ports (HQ moved it); the
#     agent records 2 more sales, and its sync to the old address fails
#     (exit 75) with all 5 events kept, 2 pending;
#   - `server set` with a key that is not Z85 (39 characters; one with a
#     space), with an endpoint ZeroMQ rejects (no port) or whose port is no
#     port (77x, 65536), and without an endpoint is refused, exit 64, one
#     line on stderr, and changes nothing;
#   - `server set NEW --server-key KEY` prints "server set to NEW (key
#     XXXXXXXX...)", nothing under -q; status names the new endpoint;
#   - the next sync sends exactly the 2 pending events: 5 acknowledged, 0
#     pending, and the server holds SHOP1's seqs 1..5 once each, 5 sales
#     of 23.58 in all (to the fen, summed below); the site's keys did not
#     change (curve.key and site.key byte for byte).
set -eu
. "$(dirname "$0")/../lib/net.sh"
net_init server_move

server_init
server_start
network_init
TOKEN=$(site_add SHOP1)
A=$T/a
agent_new "$A" SHOP1

# -- not enrolled ------------------------------------------------------------------

agent "$A" server set "$SYNC_EP" --server-key "$KEY"
check "not enrolled: exit" 77 "$rc"
check_one_error "not enrolled" "this site is not enrolled, so it has no server to move"
check "not enrolled: status still says so" "" "$(status_field "$A" server)"

# -- enrolled, synced at the first address -------------------------------------------

enroll "$A" "$TOKEN"
check "enroll: exit" 0 "$rc"
record_sales "$A" 3
agent "$A" sync --json
check "first sync: exit" 0 "$rc"
check "first sync: 3 acknowledged" 3 "$(json "$OUT" '$.acked_through')"
OLD_EP=$SYNC_EP
cp "$A/curve.key" "$T/curve.before"
cp "$A/site.key" "$T/site.before"

# -- HQ moves the server -----------------------------------------------------------

server_stop
check "server stopped cleanly" 0 "$SRV_STATUS"
net_pick_ports
while [ "$SYNC_EP" = "$OLD_EP" ]; do net_pick_ports; done
server_start
check "server moved to another sync port" 1 "$([ "$SYNC_EP" != "$OLD_EP" ] && echo 1 || echo 0)"
record_sales "$A" 2
agent "$A" sync --timeout 2
check "sync to the old address: exit" 75 "$rc"
check "old address: 5 recorded, 2 pending" "5|2" \
    "$(sqlite3 "$A/agent.db" "SELECT count(*), sum(synced = 0) FROM events")"

# -- refused: a key that is no key, an endpoint that is none ------------------------

SHORT_KEY=$(printf %s "$KEY" | cut -c 1-39)
agent "$A" server set "$SYNC_EP" --server-key "$SHORT_KEY"
check "39-character key: exit" 64 "$rc"
check_one_error "39-character key" \
    "server key must be the 40-character Z85 key printed by 'dealernet-server init'; in a shell, put it in single quotes"
agent "$A" server set "$SYNC_EP" --server-key "$(printf %s "$KEY" | cut -c 1-39) "
check "key with a space: exit" 64 "$rc"
agent "$A" server set "tcp://127.0.0.1" --server-key "$KEY"
check "endpoint without a port: exit" 64 "$rc"
check_one_error "endpoint without a port" \
    "'tcp://127.0.0.1' is not an endpoint (an endpoint is like tcp://server.example:7700)"
agent "$A" server set "tcp://127.0.0.1:77x" --server-key "$KEY"
check "endpoint with a port that is no number: exit" 64 "$rc"
agent "$A" server set "tcp://127.0.0.1:65536" --server-key "$KEY"
check "endpoint with port 65536: exit" 64 "$rc"
agent "$A" server set --server-key "$KEY"
check "no endpoint: exit" 64 "$rc"
check_one_error "no endpoint" "server set needs ENDPOINT and --server-key Z85"
check "refusals changed nothing" "$OLD_EP" "$(status_field "$A" server)"

# -- moved ---------------------------------------------------------------------------

run 30 "$AGENT" -d "$A" server set "$SYNC_EP" --server-key "$KEY"
check "server set: exit" 0 "$rc"
check "server set: says so" "server set to $SYNC_EP (key $(printf %s "$KEY" | cut -c 1-8)...)" \
    "$(cat "$OUT")"
check "server set: nothing on stderr" "" "$(cat "$ERR")"
agent "$A" server set "$SYNC_EP" --server-key "$KEY"
check "server set -q (same again): exit" 0 "$rc"
check "server set -q: prints nothing" "" "$(cat "$OUT")"
check "status: the new server" "$SYNC_EP" "$(status_field "$A" server)"
run 30 "$AGENT" -d "$A" status
check_has "status text: the new server" "server     $SYNC_EP" "$OUT"

agent "$A" sync --json
check "sync at the new address: exit" 0 "$rc"
check "sync at the new address: sent the 2 pending" 2 "$(json "$OUT" '$.sent')"
check "sync at the new address: 5 acknowledged" 5 "$(json "$OUT" '$.acked_through')"
check "sync at the new address: 0 pending" 0 "$(json "$OUT" '$.pending')"
check "agent: 5 recorded, 0 pending" "5|0" \
    "$(sqlite3 "$A/agent.db" "SELECT count(*), sum(synced = 0) FROM events")"
# seqs 1..5, each once: count 5, distinct 5, min 1, max 5
check "server: SHOP1's seqs 1..5 once each" "5|5|1|5" \
    "$(sq "SELECT count(*), count(DISTINCT e.seq), min(e.seq), max(e.seq)
           FROM events e JOIN sites s ON s.id = e.site_id WHERE s.code = 'SHOP1'")"
# record_sales' sale i is qty (i % 3 + 1) at 100 + (i * 37) % 900 fen:
#   1: 2 x 137 = 274   2: 3 x 174 = 522   3: 1 x 211 = 211
#   4: 2 x 248 = 496   5: 3 x 285 = 855   sum 2358 fen = 23.58
check "server: the 5 sales' total (fen)" "5|2358" "$(sq "SELECT count(*), sum(total) FROM sales")"
check "curve.key unchanged" "" "$(cmp "$A/curve.key" "$T/curve.before" 2>&1)"
check "site.key unchanged" "" "$(cmp "$A/site.key" "$T/site.before" 2>&1)"

net_finish
