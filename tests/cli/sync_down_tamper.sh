#!/bin/sh
# sync_down_tamper.sh -- a tampered downstream message is refused (issue 14,
# "Done when"), end to end with a real server, hq and agent on loopback.
#
# The server is started with the test knob DEALERNET_TEST_TAMPER_DOWN=1
# (common/dn_testctl.h): the first Down holding an item that it sends goes
# out with one byte of its first item changed after it was signed.  Proves:
#   - HQ sets a catalogue row and sends a notice; the shop records 2 sales
#     and syncs: the sales are acknowledged (0 pending, the server holds
#     both), then the catalogue's Down does not verify with the pinned down
#     key: `sync` exits 75 with the one line "partly synced: ...; then what
#     the server sent of catalog does not verify ...", and nothing of the
#     reply is applied -- `catalog list`, `notices --all` and down_state are
#     as before the sync, and the notice line is not printed;
#   - the next sync, to the same server (the knob is spent), applies it
#     all: the catalogue row and the notice, "notice 1 from HQ: ..."; it
#     was served from the server's cache of the catalogue chunk, so the
#     tampered copy did not stay there;
#   - HQ sets another row and sends another notice; the server restarted
#     with the knob again: a sync with nothing to send exits 65, --json
#     cause down_refused with the same reason and received {}, nothing
#     applied; the server's log names each tampered Down;
#   - the server without the knob: the next sync applies both.
# A server that names another down key than the pinned one (a Down signed
# by another key) is tests/cli/sync_down_key.sh's; a Down signed by another
# key under the pinned one's name is tests/unit/test_down.c's (the same
# check as here: dn_down_apply verifies each Down's signature).
set -eu
. "$(dirname "$0")/../lib/net.sh"
net_init sync_down_tamper
# the catalogue's effective day (2026-09-01) is before this "now"
net_pin_clock '2026-09-15 10:00:00'

# state DIR: what the agent holds of what comes down, on one line each:
# its HQ catalogue, its notices (read or not) and its down_state
state() {
    sqlite3 -cmd ".timeout 5000" "$1/agent.db" \
        "SELECT 'catalog', sku, name, price FROM hq_catalog ORDER BY sku;
         SELECT 'notice', id, text, read_ms IS NOT NULL FROM notices ORDER BY id;
         SELECT 'down', stream, version, hex(scope) FROM down_state ORDER BY stream"
}

server_init
server_start DEALERNET_TEST_TAMPER_DOWN=1
network_init
hq plan set deploy/plan.ini
check "plan set: exit" 0 "$rc"
A=$T/a
shop_enrolled "$A" SHOP1

# -- HQ's catalogue and a notice; the first Down is spoiled ---------------------
hq catalog set TEA-1 25.00 --name "龙井茶 250g" --category tea --effective 2026-09-01
check "catalog set TEA-1: exit" 0 "$rc"
hq notice send --all "Prices change on Monday."
check "notice send: exit" 0 "$rc"
record_sales "$A" 2
state "$A" >"$T/state0"
agent "$A" catalog list --json
cp "$OUT" "$T/catalog0.json"
run 60 "$AGENT" -d "$A" sync --timeout 20
check "sync, a tampered Down, 2 sales to send: exit" 75 "$rc"
check_one_error "sync, a tampered Down" \
    "dealernet-agent: error: partly synced: sent 2 events (seq 1-2), server holds through 2, 0 pending; then what the server sent of catalog does not verify with its pinned down key: refused, nothing applied (tell headquarters)"
check "sync, a tampered Down: nothing on stdout (no notice line)" "" "$(cat "$OUT")"
check_has "the server's log names the tampered Down" \
    "test knob DEALERNET_TEST_TAMPER_DOWN: down 1 (stream catalog) to site SHOP1 sent with a byte of item 1 changed after signing" \
    "$SRV_LOG"
check "the server holds both sales" "1|2" "$(sq "SELECT min(seq), max(seq) FROM events")"
check "0 pending" 0 "$(status_field "$A" pending)"
check "nothing applied: catalogue, notices and down_state as before" \
    "$(cat "$T/state0")" "$(state "$A")"
agent "$A" catalog list --json
check "nothing applied: catalog list as before" "$(cat "$T/catalog0.json")" "$(cat "$OUT")"
run 60 "$AGENT" -d "$A" notices --all
check "nothing applied: notices --all" "no notices" "$(cat "$OUT")"
check "nothing applied: status" 0 "$(status_field "$A" notices_unread)"

# -- the next sync, the knob spent: all of it ------------------------------------
run 60 "$AGENT" -d "$A" sync --timeout 20
check "sync again: exit" 0 "$rc"
check "sync again: nothing on stderr" "" "$(cat "$ERR")"
# (the partner's earnings come too: their first figures, version 2)
check "sync again: the catalogue, the earnings and the notice" \
    "received: catalog 1 item (version 1), earnings 1 item (version 2), notices 1 item (version 1)" \
    "$(sed -n 2p "$OUT")"
check "sync again: the notice's line" "notice 1 from HQ: Prices change on Monday." \
    "$(sed -n 3p "$OUT")"
check "sync again: 3 lines" 3 "$(wc -l <"$OUT" | tr -d ' ')"
check "SHOP1 holds the row and the notice" \
    "catalog|TEA-1|龙井茶 250g|2500
notice|1|Prices change on Monday.|0" "$(state "$A" | grep -v '^down')"
check "one Down was spoiled" 1 "$(grep -c 'test knob DEALERNET_TEST_TAMPER_DOWN' "$SRV_LOG")"

# -- nothing to send: exit 65 ---------------------------------------------------
hq catalog set TEA-2 30.00 --name "铁观音 250g" --category tea --effective 2026-09-01
check "catalog set TEA-2: exit" 0 "$rc"
hq notice send --site SHOP1 "Stocktake on Sunday"
check "second notice: exit" 0 "$rc"
server_stop
# The first sync's 4 Downs (catalog, earnings, members, notices) were
# produced and signed, and the 2 of streams that are cached (catalog,
# earnings) put in the cache -- the catalogue's before it was spoiled; the
# second sync got those 2 from the cache and verified them, and the 2 kept
# per site were produced again.
check_has "the second sync had the catalogue's chunk from the cache" \
    "downstream: 2 Downs served from the cache, 6 produced and signed" "$SRV_LOG"
server_start DEALERNET_TEST_TAMPER_DOWN=1
state "$A" >"$T/state1"
run 60 "$AGENT" -d "$A" sync --timeout 20 --json
cp "$OUT" "$T/sync3.json"
check "sync, a tampered Down, nothing to send: exit" 65 "$rc"
check "sync --json: cause" down_refused "$(json "$T/sync3.json" '$.cause')"
check "sync --json: error" \
    "what the server sent of catalog does not verify with its pinned down key: refused, nothing applied (tell headquarters)" \
    "$(json "$T/sync3.json" '$.error')"
check "sync --json: received" "{}" "$(json "$T/sync3.json" '$.received')"
check "sync --json: sent" 0 "$(json "$T/sync3.json" '$.sent')"
check "nothing applied the second time" "$(cat "$T/state1")" "$(state "$A")"
check "two Downs were spoiled in all" 2 "$(grep -c 'test knob DEALERNET_TEST_TAMPER_DOWN' "$SRV_LOG")"

# -- the server without the knob ------------------------------------------------------
server_stop
server_start
run 60 "$AGENT" -d "$A" sync --timeout 20
check "sync without the knob: exit" 0 "$rc"
check "sync without the knob: what came" \
    "received: catalog 1 item (version 2), notices 1 item (version 2)" "$(sed -n 2p "$OUT")"
check "sync without the knob: the notice's line" "notice 2 from HQ: Stocktake on Sunday" \
    "$(sed -n 3p "$OUT")"
check "SHOP1 holds both rows and both notices" \
    "catalog|TEA-1|龙井茶 250g|2500
catalog|TEA-2|铁观音 250g|3000
notice|1|Prices change on Monday.|0
notice|2|Stocktake on Sunday|0" "$(state "$A" | grep -v '^down')"

server_stop
net_finish
