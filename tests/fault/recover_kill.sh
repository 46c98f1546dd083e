#!/bin/sh
# recover_kill.sh -- downstream under kills: the agent is SIGKILLed at random
# points while `dealernet-agent recover` pulls the site's chain in several
# chunks (stream chain: one reply of at most 192 KiB a chunk, each applied
# in its own transaction) and rebuilds its log in one transaction.
#
# SHOP-1 of tests/fault/lib.sh's network sells two sales of 10.00 and syncs
# them; its agent.db is copied aside; it imports 1,200 sales of four lines
# of 1.00 with 55-byte SKUs (about 400 bytes an event: the chain of 1,202
# events comes down in three chunks or more) and syncs them.  The old copy
# is put back and records two sales of 10.00 (logged for dn_check): this is
# the stale copy.  Each cycle runs `recover` and SIGKILLs it after
# 0..KILL_MS ms, then checks the agent.db the kill left:
#   - the log is the stale copy's 4 events or the recovered 1,204 (1,202
#     synced, 2 pending), never anything between: recover's one transaction;
#   - the staged chain is seq 1..k without a gap, and k is the version
#     down_state holds of stream chain: every chunk applied whole or not
#     at all, never half;
# and once a cycle found the chain staged whole (killed in or after the
# rebuild), the stale copy is put back for the next, which pulls from 0.  A last recover, not killed, must complete from whatever the
# last kill left; then the drain (every agent synced, `check`, `verify`)
# and tests/fault/dn_check (nothing lost, duplicated or unexpected; the
# ledger equals a clean replay).  The server must hold SHOP-1's 1,204
# events once each: sales 10 + 10 + 1,200 x 4.00 + 10 + 10 = 4,840.00.
# Prints
#   fault recover-kill: N kills (... during the pull, between chunks ...)
#
# Environment: DN_SEED, DN_BIN, DN_KEEP (tests/fault/lib.sh); DN_CYCLES
# (kills, default 30), DN_KILL_MS (fixes the delays' bound).
set -eu
. "$(dirname "$0")/lib.sh"
fault_init recover-kill
CYCLES=${DN_CYCLES:-30}
N=1202 # the server's chain of SHOP-1

server_init
server_start
fault_network
fault_agent 1

# sale_logged SKU: a sale of 10.00 at A, its id in A's client log
sale_logged() {
    agent "$A" sale --line "$1:1@10.00"
    [ "$rc" -eq 0 ] || { echo "sale failed: $(cat "$ERR")" >&2; exit 1; }
    echo "$(cat "$OUT") sale sku=$1" >>"$A.log"
}

sale_logged OLD-1
sale_logged OLD-2
agent "$A" sync
check "setup: sync of the 2 first sales" 0 "$rc"
cp "$A/agent.db" "$T/old.db"
awk 'BEGIN {
    print "kind,ref,sku,quantity,unit_price"
    for (i = 1; i <= 1200; i++)
        for (k = 1; k <= 4; k++)
            printf "sale,R%05d,S-%05d-%d-abcdefghijklmnopqrstuvwxyz-0123456789-ABCD,1,1.00\n", i, i, k
}' >"$T/big.csv"
agent "$A" import "$T/big.csv"
check "setup: import of 1,200 sales" 0 "$rc"
agent "$A" sync --timeout 60
check "setup: sync of 1,202" 0 "$rc"
check "setup: the server holds SHOP-1 through $N" "$N" "$(site_field SHOP-1 applied_seq)"

cp "$T/old.db" "$A/agent.db"
rm -f "$A/agent.db-wal" "$A/agent.db-shm"
sale_logged NEW-1
sale_logged NEW-2
cp "$A/agent.db" "$T/stale.db"

# one recover timed on a copy of the folder: the kills' bound
cp -R "$A" "$T/cal"
cal_start=$(fault_now_ms)
agent "$T/cal" recover
check "calibration recover" 0 "$rc"
CAL_MS=$(($(fault_now_ms) - cal_start))
KILL_MS=${DN_KILL_MS:-$((CAL_MS > 10 ? CAL_MS : 10))}
echo "fault recover-kill: a recover of $N events takes ${CAL_MS} ms here: kills after 0..$KILL_MS ms" \
    "(DN_KILL_MS=$KILL_MS fixes it)"

# stage_state: "count|max seq|version held" of the staged chain in A
stage_state() {
    sqlite3 -cmd ".timeout 5000" "$A/agent.db" \
        "SELECT count(*), coalesce(max(seq), 0),
                (SELECT coalesce(max(version), 0) FROM down_state WHERE stream = 5)
         FROM chain_staging"
}

kills=0 before=0 between=0 staged_all=0 recovered=0
while [ "$kills" -lt "$CYCLES" ]; do
    kills=$((kills + 1))
    # half the delays anywhere in 0..KILL_MS, half in its middle third,
    # where the chunks land
    fault_rand 2
    if [ "$R" -eq 0 ]; then
        fault_rand $((KILL_MS + 1))
    else
        fault_rand $((KILL_MS / 3 + 1))
        R=$((R + KILL_MS / 3))
    fi
    $WRAP "$AGENT" -q -d "$A" recover >/dev/null 2>"$T/recover.err" &
    rk_pid=$!
    fault_track "$rk_pid"
    sleep "$(fault_ms "$R")"
    kill -KILL "$rk_pid" 2>/dev/null || true
    fault_wait_pid "$rk_pid" 30
    events=$(sqlite3 -cmd ".timeout 5000" "$A/agent.db" \
        "SELECT count(*) || '|' || coalesce(sum(synced), 0) FROM events")
    case $events in
    4\|2) ;;
    1204\|1202) recovered=$((recovered + 1)) ;;
    *) check "kill $kills: the log is the stale copy's or the recovered one" "4|2 or 1204|1202" "$events" ;;
    esac
    stage=$(stage_state)
    k=${stage%%|*}
    check "kill $kills: staged seq 1..k, k the version held" "$k|$k|$k" "$stage"
    if [ "$k" -eq 0 ]; then
        before=$((before + 1))
    elif [ "$k" -lt "$N" ]; then
        between=$((between + 1))
    else
        staged_all=$((staged_all + 1))
    fi
    # a fresh stale copy once the pull is over, so that every cycle kills
    # somewhere in a whole recover
    if [ "$k" -eq "$N" ]; then
        cp "$T/stale.db" "$A/agent.db"
        rm -f "$A/agent.db-wal" "$A/agent.db-shm"
    fi
done

run 60 "$AGENT" -d "$A" recover
check "the last recover completes" 0 "$rc"
check_has "the last recover: the 2 new sales after the server's head" \
    "2 local events re-recorded as seq 1203-1204" "$OUT"
fault_drain
check "server: SHOP-1's events, distinct ids, min, max" "1204|1204|1|1204" \
    "$(sq "SELECT count(*), count(DISTINCT e.id), min(e.seq), max(e.seq)
           FROM events e JOIN sites s ON s.id = e.site_id WHERE s.code = 'SHOP-1'")"
# 10 + 10 + 1,200 x 4.00 + 10 + 10 = 4,840.00
check "server: SHOP-1's sales 4,840.00" "1204|484000" \
    "$(sq "SELECT count(*), sum(sa.total) FROM sales sa JOIN sites s ON s.id = sa.site_id
           WHERE s.code = 'SHOP-1'")"
server_stop
check "server stops cleanly" 0 "$SRV_STATUS"
echo "fault recover-kill: $kills kills ($before before anything was staged, $between between" \
    "chunks, $staged_all with the chain staged whole of which $recovered after the rebuild" \
    "committed)"
fault_check "$kills kills during recover"
net_finish
