#!/bin/sh
# agent_recover.sh -- `dealernet-agent recover`: an agent.db restored from an
# old copy takes the server's copy of its chain and re-records what it
# recorded since, and every sale reaches the server exactly once.
#
# With a real server and agent on loopback in a throwaway folder:
#   - before anything is synced, recover refuses: the server holds nothing
#     of SHOP1 (exit 66); an agent that never enrolled is refused (exit 77);
#   - SHOP1 syncs sales of 10.00 and 20.00 (seq 1-2); agent.db is copied
#     aside; it records and syncs 30.00 and 40.00 (seq 3-4);
#   - the old copy is put back and records 5.00 (its seq 3): sync fails,
#     exit 65, "the server holds seq 4 but this site's log ends at 3 ...;
#     run 'dealernet-agent recover' ..."; it records 6.00 (its seq 4): sync
#     fails, exit 65, "server refused: event seq 3 differs from the one
#     already stored; run 'dealernet-agent recover' ...", and the server
#     logs its TAMPER ALARM;
#   - recover --dry-run says what it would do and changes nothing; recover
#     adds the server's 3 and 4 and re-records 5.00 and 6.00 as seq 5-6;
#     sync sends exactly those two;
#   - the server holds 6 events of SHOP1, seq 1-6, each id once, sales
#     10 + 20 + 30 + 40 + 5 + 6 = 111.00; D1 (level 0, 8 %) earns
#     111.00 x 8 % = 8.88;
#   - the 30.00 sale, which only the server had, is refunded on the
#     recovered PC and synced: refunds 30.00, D1's statement
#     8.88 - 30.00 x 8 % = 8.88 - 2.40 = 6.48; verify is clean;
#   - recover once more: nothing to add or re-record.
set -eu
. "$(dirname "$0")/../lib/net.sh"
net_init agent_recover
net_pin_clock '2026-11-20 10:00:00'

server_init
server_start
network_init
hq plan set deploy/plan.ini
check "setup: plan set" 0 "$rc"

# sale DIR LINE: records one sale, or stops the test
sale() { agent "$1" sale --line "$2"; [ "$rc" -eq 0 ] || { cat "$ERR" >&2; exit 1; }; }
# site_events: SHOP1's events on the server: count, distinct seqs and ids, min, max
site_events() {
    sq "SELECT count(*), count(DISTINCT e.seq), count(DISTINCT e.id), min(e.seq), max(e.seq)
        FROM events e JOIN sites s ON s.id = e.site_id WHERE s.code = 'SHOP1'"
}

N=$T/never
agent_new "$N" SHOP9
agent "$N" recover
check "never enrolled: exit" 77 "$rc"
check_one_error "never enrolled" \
    "this site is not enrolled: run 'dealernet-agent enroll' and paste the enrollment code from headquarters"

TOKEN=$(site_add SHOP1)
A=$T/a
agent_new "$A" SHOP1
enroll "$A" "$TOKEN"
check "enroll" 0 "$rc"
agent "$A" recover
check "nothing on the server: exit" 66 "$rc"
check_one_error "nothing on the server" \
    "the server holds no events of site SHOP1: there is nothing to recover from"

sale "$A" X:1@10.00
sale "$A" X:2@10.00
agent "$A" sync
check "sync of 10.00 and 20.00" 0 "$rc"
cp "$A/agent.db" "$T/old.db"
sale "$A" X:3@10.00
sale "$A" X:4@10.00
agent "$A" sync
check "sync of 30.00 and 40.00" 0 "$rc"

# -- the old copy comes back ----------------------------------------------------

cp "$T/old.db" "$A/agent.db"
sale "$A" X:1@5.00
agent "$A" sync
check "old copy + 1: sync exit" 65 "$rc"
check_one_error "old copy + 1: sync" \
    "the server holds seq 4 but this site's log ends at 3: was agent.db restored from an old copy?; run 'dealernet-agent recover' to rebuild this PC's log from the server's copy"
sale "$A" X:1@6.00
agent "$A" sync
check "old copy + 2: sync exit" 65 "$rc"
check_one_error "old copy + 2: sync" \
    "server refused: event seq 3 differs from the one already stored; run 'dealernet-agent recover' to rebuild this PC's log from the server's copy"
check_has "the server keeps its alarm" "TAMPER ALARM: site SHOP1 resent seq 3 with different bytes" "$SRV_LOG"
check "server: still 4 events" "4|4|4|1|4" "$(site_events)"

run 60 "$AGENT" -d "$A" recover --dry-run
check "recover --dry-run: exit" 0 "$rc"
check "recover --dry-run: says" \
    "would recover: server holds 1-4, 2 events would be added from the server, 2 local events would be re-recorded as seq 5-6" \
    "$(cat "$OUT")"
# 10 + 20 + 5 + 6 = 41.00, as before
check "recover --dry-run: agent.db unchanged" "4|4100|2" \
    "$(sqlite3 "$A/agent.db" "SELECT count(*), sum(total), (SELECT count(*) FROM events WHERE synced = 0) FROM sales")"

run 60 "$AGENT" -d "$A" recover
check "recover: exit" 0 "$rc"
check "recover: says" \
    "recovered: server holds 1-4, 2 events added from the server, 2 local events re-recorded as seq 5-6 (pending: run 'dealernet-agent sync')" \
    "$(cat "$OUT")"
# 10 + 20 + 30 + 40 + 5 + 6 = 111.00 here, 2 pending
check "recover: 6 sales, 111.00, 2 pending" "6|11100|2" \
    "$(sqlite3 "$A/agent.db" "SELECT count(*), sum(total), (SELECT count(*) FROM events WHERE synced = 0) FROM sales")"
agent "$A" check
check "recover: the log checks" 0 "$rc"
# receipts come back from the events as they were signed: the server's
# 10, 20, 30, 40 are receipts 1-4, and the old copy's 5.00 and 6.00, which
# it numbered 3 and 4 after its own 1 and 2, keep 3 and 4 (a printed
# receipt is never renumbered), in seq order
check "recover: receipts kept, by seq" "1:1000|2:2000|3:3000|4:4000|3:500|4:600" \
    "$(sqlite3 "$A/agent.db" "SELECT group_concat(receipt || ':' || total, '|') FROM (SELECT receipt, total FROM sales ORDER BY seq)")"
agent "$A" refund --receipt 3
check "recover: refund --receipt 3, held twice: exit" 65 "$rc"
check_one_error "recover: refund --receipt 3 names both" \
    "receipt 0003 matches 2 sales: $(sqlite3 "$A/agent.db" "SELECT group_concat(id, ', ') FROM (SELECT lower(substr(hex(id),1,8) || '-' || substr(hex(id),9,4) || '-' || substr(hex(id),13,4) || '-' || substr(hex(id),17,4) || '-' || substr(hex(id),21)) || ' (receipt 0003)' AS id FROM sales WHERE receipt = 3 ORDER BY seq DESC)"); give more of the sale's id" 

run 60 "$AGENT" -d "$A" sync
check "sync after recover: exit" 0 "$rc"
check "sync after recover: says" "synced: sent 2 events (seq 5-6), server holds through 6, 0 pending" \
    "$(sed -n 1p "$OUT")"
# the two sales moved D1's account: its earnings come down after the upload
check "sync after recover: D1's new earnings came down" "received: earnings 1 item" \
    "$(sed -n 2p "$OUT" | cut -d' ' -f1-4)"
check "server: 6 events, seq 1-6, each once" "6|6|6|1|6" "$(site_events)"
check "server: sales 111.00" "6|11100" "$(sq "SELECT count(*), sum(total) FROM sales")"
hq statement D1 --json
cp "$OUT" "$T/statement.json"
check "statement D1: 111.00 x 8 % = 8.88" "8.88" "$(json "$T/statement.json" '$.closing')"

# -- a refund of the sale only the server had -----------------------------------

agent "$A" sales --all --json
cp "$OUT" "$T/sales.json"
SALE3=$(sqlite3 :memory: "SELECT json_extract(value, '\$.id') FROM json_each(readfile('$T/sales.json'))
                          WHERE json_extract(value, '\$.total_minor') = 3000")
agent "$A" refund "$SALE3"
check "refund of the 30.00 sale after recovery: exit" 0 "$rc"
agent "$A" sync
check "sync of the refund" 0 "$rc"
check "server: refunds 30.00" "1|3000" "$(sq "SELECT count(*), sum(amount) FROM refunds")"
hq statement D1 --json
cp "$OUT" "$T/statement.json"
check "statement D1: 8.88 - 2.40 = 6.48" "6.48" "$(json "$T/statement.json" '$.closing')"
hq verify
check "verify: clean" 0 "$rc"

agent "$A" recover --json
check "recover again: exit" 0 "$rc"
cp "$OUT" "$T/again.json"
check "recover again: server 7, added 0, re-recorded 0" "7|0|0" \
    "$(json "$T/again.json" '$.server_head')|$(json "$T/again.json" '$.added')|$(json "$T/again.json" '$.rerecorded')"

net_finish
