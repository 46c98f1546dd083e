#!/bin/sh
# down_kill.sh -- downstream under kills: a shop's agent is SIGKILLed at
# random points while `dealernet-agent sync` uploads its pending sales and
# pulls HQ's catalogue in several chunks (stream catalog: one reply of at
# most 192 KiB a chunk, each applied in its own transaction with the
# version down_state holds), while HQ changes prices between the kills.
#
# HQ of tests/fault/lib.sh's network imports 6,600 rows with Chinese names
# (about 68 bytes an item: SHOP-1's 6,300 come down in three chunks): 6,000
# on the network's list, 300 on DEALER-1's (on SHOP-1's path HQ ->
# REGION-N -> DEALER-1) and 300 on DEALER-2's (not on it: SHOP-1 never
# holds them).  Every row HQ's catalogue has had is copied from central.db
# into a history (sku, list, price, version, removed) as it changes.  Each
# cycle records one command at SHOP-1 (lib.sh's random sales, refunds,
# members; logged for dn_check), every third one HQ changes two prices and
# removes or puts back a row, then SHOP-1 syncs and is SIGKILLed after
# 0..KILL_MS ms.  After each kill, agent.db (sqlite3) must hold in
# hq_catalog exactly the rows of the version V down_state holds of stream 1
# (catalog): for every key of the history on SHOP-1's path, its latest
# state at a version <= V (absent if removed), at that price -- never a
# part of a chunk, never a row of a later one.  Once SHOP-1 holds the whole
# catalogue, its catalogue state is emptied (hq_catalog and down_state's
# row, as a shop that never pulled) so that the next cycle pulls it again
# from 0.  A last sync, not killed, must bring the whole catalogue; then the
# drain (every agent synced, `check`, `verify`) and tests/fault/dn_check
# (no sale lost, duplicated or unexpected; the ledger equals a clean
# replay).  Prints
#   fault down-kill: N kills (... with nothing of the catalogue, ... between
#   chunks, ... with all of it), P price changes
#
# Environment: DN_SEED, DN_BIN, DN_KEEP (tests/fault/lib.sh); DN_CYCLES
# (kills, default 20), DN_KILL_MS (fixes the delays' bound).
set -eu
. "$(dirname "$0")/lib.sh"
fault_init down-kill
CYCLES=${DN_CYCLES:-20}
NETWORK=6000 # rows of the network's list
LIST=300     # rows of each partner's list
# SHOP-1's path, top first: the lists it receives besides the network's
PATH_LISTS="'HQ', 'REGION-N', 'DEALER-1'"

server_init
server_start
fault_network
fault_agent 1

# -- HQ's catalogue --------------------------------------------------------------
# N-i (i = 1..6000): 商品第i号 优选装 五百克, category cat(i % 5), price
# (10 + i % 90) yuan and (7i % 100) fen; then D1-i and D2-i (i = 1..300) on
# DEALER-1's and DEALER-2's lists at (20 + i % 50).50.  The effective day is
# long past: every row is in force whatever the date.
awk -v n="$NETWORK" -v l="$LIST" 'BEGIN {
    print "sku,name,category,price,effective,partner"
    for (i = 1; i <= n; i++)
        printf "N-%05d,商品第%05d号 优选装 五百克,cat%d,%d.%02d,2000-01-01,\n", i, i, i % 5,
               10 + i % 90, (7 * i) % 100
    for (d = 1; d <= 2; d++)
        for (i = 1; i <= l; i++)
            printf "D%d-%03d,经销商%d专供第%03d号 礼盒装,cat%d,%d.50,2000-01-01,DEALER-%d\n",
                   d, i, d, i, i % 5, 20 + i % 50, d
}' >"$T/catalog.csv"
ROWS=$((NETWORK + 2 * LIST))
hq catalog import "$T/catalog.csv"
check "setup: HQ imports $ROWS rows" \
    "catalog import: $ROWS rows, $ROWS changed, 0 unchanged; catalogue version $ROWS" "$(cat "$OUT")"

# history_add: copies the rows of central.db's catalogue on SHOP-1's path
# changed since the last copy into the history (one read-only sqlite3 run
# on central.db: the server keeps running)
sqlite3 "$T/history.db" "CREATE TABLE history (sku TEXT, partner TEXT, price INTEGER,
    removed INTEGER, version INTEGER PRIMARY KEY);
    CREATE INDEX history_key ON history(sku, partner, version);"
history_add() {
    sqlite3 -cmd ".timeout 5000" "$T/history.db" \
        "ATTACH 'file:$SRV/central.db?mode=ro' AS c;
         INSERT INTO history SELECT sku, ifnull(partner, ''), price, removed, version
         FROM c.catalog WHERE (partner IS NULL OR partner IN ($PATH_LISTS))
           AND version > (SELECT coalesce(max(version), 0) FROM main.history);"
}
history_add
# the whole catalogue of SHOP-1 now: the network's 6,000 and DEALER-1's 300
WHOLE=$((NETWORK + LIST))
check "setup: the history holds SHOP-1's $WHOLE rows" "$WHOLE" \
    "$(sqlite3 "$T/history.db" "SELECT count(*) FROM history")"

# held_state: "V|rows|wrong" of A: V the version down_state holds of
# stream 1 (catalog), the rows of hq_catalog, and how many of them break
# the rule of a chunk applied whole with its version or not at all:
#   - a key of the history whose last change is at a version <= V must be
#     held as that change left it (at its price; absent if removed): every
#     chunk through V was applied whole;
#   - any row held must be a state its key had at a version <= V (a row of
#     a later chunk, of another path's list or of nowhere is wrong); a key
#     changed after V may still be held as an earlier chunk brought it.
held_state() {
    sqlite3 -cmd ".timeout 5000" "$A/agent.db" \
        "ATTACH '$T/history.db' AS h;
         WITH held(v) AS (
           SELECT coalesce((SELECT version FROM down_state WHERE stream = 1), 0)),
         latest AS (
           SELECT sku, partner, max(version) AS last FROM h.history GROUP BY sku, partner),
         settled AS (
           SELECT x.sku, x.partner, x.price, x.removed FROM h.history x
           JOIN latest l ON l.sku = x.sku AND l.partner = x.partner AND x.version = l.last
           JOIN held ON l.last <= held.v)
         SELECT (SELECT v FROM held) || '|' || (SELECT count(*) FROM hq_catalog) || '|' ||
           ((SELECT count(*) FROM settled s LEFT JOIN hq_catalog c
               ON c.sku = s.sku AND c.partner = s.partner
             WHERE CASE WHEN s.removed THEN c.sku IS NOT NULL
                        ELSE c.sku IS NULL OR c.price <> s.price END) +
            (SELECT count(*) FROM hq_catalog c WHERE NOT EXISTS (
               SELECT 1 FROM h.history x, held WHERE x.sku = c.sku AND x.partner = c.partner
               AND x.version <= held.v AND NOT x.removed AND x.price = c.price)))"
}

# reprice: HQ sets two network prices (to 1.00 + the cycle's number of
# fen: a price no row had) and removes one row of DEALER-1's list or puts
# it back, each change a new version; the history takes them
CHANGES=0
REMOVED=""
reprice() {
    for _ in 1 2; do
        fault_rand "$NETWORK"
        rp_i=$(printf %05d $((R + 1)))
        hq -q catalog set "N-$rp_i" "1.$(printf %02d $((kills % 100)))" \
            --name "商品第${rp_i}号 优选装 五百克" --category "cat$(((R + 1) % 5))" \
            --effective 2000-01-01
        [ "$rc" -eq 0 ] || { echo "catalog set N-$rp_i: $(cat "$ERR")" >&2; exit 1; }
        CHANGES=$((CHANGES + 1))
    done
    if [ -n "$REMOVED" ]; then
        # back at the file's price: (20 + i % 50).50
        rp_i=$(printf %03d "$REMOVED")
        hq -q catalog set "D1-$rp_i" "$((20 + REMOVED % 50)).50" \
            --name "经销商1专供第${rp_i}号 礼盒装" --category "cat$((REMOVED % 5))" \
            --effective 2000-01-01 --partner DEALER-1
        [ "$rc" -eq 0 ] || { echo "catalog set D1-$rp_i: $(cat "$ERR")" >&2; exit 1; }
        REMOVED=""
    else
        fault_rand "$LIST"
        REMOVED=$((R + 1))
        rp_i=$(printf %03d "$REMOVED")
        hq -q catalog remove "D1-$rp_i" --partner DEALER-1 --effective 2000-01-01
        [ "$rc" -eq 0 ] || { echo "catalog remove D1-$rp_i: $(cat "$ERR")" >&2; exit 1; }
    fi
    CHANGES=$((CHANGES + 1))
    history_add
}

# one sync of the whole catalogue timed at SHOP-2 (its own 6,300 rows):
# the kills' bound
fault_agent 2
cal_start=$(fault_now_ms)
agent "$A" sync --timeout 60
check "calibration sync of SHOP-2" 0 "$rc"
CAL_MS=$(($(fault_now_ms) - cal_start))
fault_agent 1
KILL_MS=${DN_KILL_MS:-$((CAL_MS > 10 ? CAL_MS : 10))}
echo "fault down-kill: a sync of the catalogue takes ${CAL_MS} ms here: kills after 0..$KILL_MS ms" \
    "(DN_KILL_MS=$KILL_MS fixes it)"

kills=0 before=0 between=0 whole=0
while [ "$kills" -lt "$CYCLES" ]; do
    kills=$((kills + 1))
    fault_record "$A"
    [ $((kills % 3)) -eq 0 ] && reprice
    # half the delays anywhere in 0..KILL_MS, half in its last two thirds,
    # where the chunks land (the upload comes first)
    fault_rand 2
    if [ "$R" -eq 0 ]; then
        fault_rand $((KILL_MS + 1))
    else
        fault_rand $((2 * KILL_MS / 3 + 1))
        R=$((R + KILL_MS / 3))
    fi
    $WRAP "$AGENT" -q -d "$A" sync --timeout 60 >/dev/null 2>"$T/sync.err" &
    dk_pid=$!
    fault_track "$dk_pid"
    sleep "$(fault_ms "$R")"
    kill -KILL "$dk_pid" 2>/dev/null || true
    fault_wait_pid "$dk_pid" 60
    state=$(held_state)
    v=${state%%|*}
    rows=${state#*|}
    rows=${rows%%|*}
    check "kill $kills: hq_catalog holds what version V says, whole chunks only" \
        "$v|$rows|0" "$state"
    head=$(sqlite3 "$T/history.db" "SELECT max(version) FROM history")
    if [ "$v" -eq 0 ]; then
        before=$((before + 1))
    elif [ "$v" -lt "$head" ]; then
        between=$((between + 1))
    else
        whole=$((whole + 1))
        # as a shop that never pulled: the next cycle pulls from 0
        sqlite3 -cmd ".timeout 5000" "$A/agent.db" \
            "BEGIN; DELETE FROM hq_catalog; DELETE FROM down_state WHERE stream = 1; COMMIT;"
    fi
done

run 60 "$AGENT" -d "$A" sync --json --timeout 60
check "the last sync completes" 0 "$rc"
state=$(held_state)
head=$(sqlite3 "$T/history.db" "SELECT max(version) FROM history")
# the whole catalogue: 6,300 rows, less DEALER-1's row removed if one is
want=$((WHOLE - $([ -n "$REMOVED" ] && echo 1 || echo 0)))
check "the last sync: the catalogue of the head, whole" "$head|$want|0" "$state"
check "SHOP-1 holds no row of DEALER-2's list" 0 \
    "$(sqlite3 "$A/agent.db" "SELECT count(*) FROM hq_catalog WHERE partner = 'DEALER-2'")"
fault_drain
server_stop
check "server stops cleanly" 0 "$SRV_STATUS"
echo "fault down-kill: $kills kills ($before with nothing of the catalogue, $between between" \
    "chunks, $whole with all of it), $CHANGES changes of HQ's catalogue"
fault_check "$kills kills during sync's catalogue pull"
net_finish
