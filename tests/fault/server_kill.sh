#!/bin/sh
# server_kill.sh -- the server is SIGKILLed at random points while three
# agents sync, or exits by its test hook right after a commit and before
# the acks (DEALERNET_TEST_CRASH_AFTER_COMMIT=N, N from the seed); it is
# restarted and everything drains: nothing confirmed is lost, nothing is
# stored twice, the ledger is what a clean replay gives.
#
# Each cycle: every site records 0-2 confirmed events; the server starts
# (one cycle in three with the hook, N in 1..6); all three agents start
# `sync`; after 0..SRV_KILL_MS ms the server gets SIGKILL (if the hook
# has not ended it already).  Then, one cycle in DN_RIDE_EVERY (default 25:
# each costs the agent's 3 s reply timeout), the server restarts
# at once and the running syncs must ride it out (reconnect and resume,
# bounded by their --timeout); otherwise the syncs still running are
# SIGKILLed too (a power cut at both ends).  A cycle after which the server
# holds a site's events that its agent has not marked acknowledged is a
# commit whose ack was lost ("acks lost").  A final sync drains every agent;
# `dealernet-agent check`, `dealernet-hq verify` and tests/fault/dn_check
# must pass.  Prints
#   fault server-kill: seed S, N kills (...), check: confirmed N, lost 0, ...
#
# Environment: DN_SEED, DN_BIN, DN_KEEP (tests/fault/lib.sh); DN_CYCLES
# (server deaths, default 200), DN_SRV_KILL_MS (default: three times the
# fastest of three measured syncs, at least 20), DN_RIDE_EVERY (default 25).
set -eu
. "$(dirname "$0")/lib.sh"
fault_init server-kill
CYCLES=${DN_CYCLES:-200}
RIDE_EVERY=${DN_RIDE_EVERY:-25}

server_init
server_start
fault_network
# Kill delays span three syncs at once on this machine: up to three times
# the fastest of three measured syncs (at least 20 ms).
fault_agent 1
fault_calibrate "$A"
SRV_KILL_MS=${DN_SRV_KILL_MS:-$((CAL_SYNC_MS * 3 > 20 ? CAL_SYNC_MS * 3 : 20))}
echo "fault server-kill: a sync takes ${CAL_SYNC_MS} ms here: kills after 0..$SRV_KILL_MS ms" \
    "(DN_SRV_KILL_MS=$SRV_KILL_MS fixes it)"
server_stop
check "server stops cleanly after setup" 0 "$SRV_STATUS"

hooked=0
hook_exits=0
sigkills=0
rides=0
ride_ok=0
acks_lost=0
c=0
while [ "$c" -lt "$CYCLES" ]; do
    c=$((c + 1))
    for d in $AGENTS; do
        fault_rand 3
        n=$R
        while [ "$n" -gt 0 ]; do
            fault_record "$d"
            n=$((n - 1))
        done
    done
    fault_rand 3
    if [ "$R" -eq 0 ]; then
        fault_rand 6
        hooked=$((hooked + 1))
        fault_server_up DEALERNET_TEST_CRASH_AFTER_COMMIT=$((R + 1))
    else
        fault_server_up
    fi
    pids=""
    for d in $AGENTS; do
        $WRAP "$AGENT" -q -d "$d" sync --timeout $((8 * SLOW)) >/dev/null 2>>"$T/sync.err" </dev/null &
        pids="$pids $!"
        fault_track $!
    done
    fault_rand $((SRV_KILL_MS + 1))
    sleep "$(fault_ms "$R")"
    fault_server_down
    case $FSRV_STATUS in
    137) sigkills=$((sigkills + 1)) ;;
    3) hook_exits=$((hook_exits + 1)) ;;
    *) check "server status after its death (137 SIGKILL, 3 hook)" "137 or 3" "$FSRV_STATUS" ;;
    esac
    fault_rand "$RIDE_EVERY"
    if [ "$R" -eq 0 ]; then
        # the syncs in flight meet a restarted server
        rides=$((rides + 1))
        fault_server_up
        for pid in $pids; do
            fault_wait_pid "$pid" 20
            if [ "$WAIT_RC" -eq 0 ]; then ride_ok=$((ride_ok + 1)); fi
        done
        fault_server_down
    else
        for pid in $pids; do
            kill -KILL "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
            fault_untrack "$pid"
        done
    fi
    # shellcheck disable=SC2086
    if [ "$(fault_acks_lost $AGENTS)" -gt 0 ]; then acks_lost=$((acks_lost + 1)); fi
done

server_start
fault_drain
server_stop
check "server stops cleanly" 0 "$SRV_STATUS"
echo "fault server-kill: $CYCLES server deaths: $sigkills by SIGKILL, $hook_exits by the" \
    "commit hook (set in $hooked cycles); $acks_lost cycles left a commit unacknowledged;" \
    "$rides restarts under running syncs, $ride_ok syncs rode them out"
fault_check "$CYCLES kills"
net_finish
