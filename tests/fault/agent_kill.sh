#!/bin/sh
# agent_kill.sh -- the agent is SIGKILLed at random points while it records
# and while it syncs; nothing it confirmed is lost, nothing reaches the
# server twice, and the ledger is what a clean replay gives.
#
# Three sites (tests/fault/lib.sh: a partner tree, the plan, members,
# referrals, rice lines, refunds) and one server.  Each cycle picks a site
# and, from the seed, either
#   - a recording command (sale, member sign-up, refund) SIGKILLed after
#     0..KILL_MS ms: before, inside or after its transaction; or
#   - a backlog of 1-3 confirmed events, then `dealernet-agent sync`
#     SIGKILLed after 0..SYNC_KILL_MS ms: before it connects, with a
#     batch in flight, after the server committed it but before the agent
#     stored the ack (the server's applied seq is then ahead of the agent's
#     acked seq: counted as "ack window"), or after it finished.
# Then a final sync drains every agent; `dealernet-agent check`, `dealernet-hq
# verify` and tests/fault/dn_check must pass.  Prints
#   fault agent-kill: seed S, N kills (...), check: confirmed N, lost 0, ...
#
# KILL_MS is twice the fastest of three sales measured on this machine at
# the start, SYNC_KILL_MS the fastest of three syncs (at least 10 ms); half
# the delays fall anywhere in 0..MAX, half in its middle third, around the
# commits.
#
# Environment: DN_SEED, DN_BIN, DN_KEEP (tests/fault/lib.sh); DN_CYCLES
# (kills, default 200), DN_KILL_MS, DN_SYNC_KILL_MS (fix the delays).
set -eu
. "$(dirname "$0")/lib.sh"
fault_init agent-kill
CYCLES=${DN_CYCLES:-200}

server_init
server_start
fault_network
# Kill delays span the whole command on this machine: up to twice the
# fastest of three measured sales, up to the fastest of three measured
# syncs (measured from outside, a sync's end comes sooner after a kill's
# start than that); at least 10 ms.
fault_agent 1
fault_calibrate "$A"
KILL_MS=${DN_KILL_MS:-$((CAL_RECORD_MS * 2 > 10 ? CAL_RECORD_MS * 2 : 10))}
SYNC_KILL_MS=${DN_SYNC_KILL_MS:-$((CAL_SYNC_MS > 10 ? CAL_SYNC_MS : 10))}
echo "fault agent-kill: a sale takes ${CAL_RECORD_MS} ms, a sync ${CAL_SYNC_MS} ms here:" \
    "kills after 0..$KILL_MS ms while recording, 0..$SYNC_KILL_MS ms while syncing" \
    "(DN_KILL_MS=$KILL_MS DN_SYNC_KILL_MS=$SYNC_KILL_MS fix them)"

# kill_delay MAX: sets R to a kill delay: half the time anywhere in 0..MAX,
# half the time in its middle third, where the commits land (the windows
# right after a commit are narrow).
kill_delay() {
    fault_rand 2
    if [ "$R" -eq 0 ]; then
        fault_rand $(($1 + 1))
    else
        fault_rand $(($1 / 3 + 1))
        R=$((R + $1 / 3))
    fi
}

rec_kills=0
sync_kills=0
sync_done=0
ack_window=0
c=0
while [ "$c" -lt "$CYCLES" ]; do
    c=$((c + 1))
    if [ $((c % 100)) -eq 0 ]; then
        # a clean restart now and then: net.sh bounds a server's life to 300 s
        server_stop
        check "server stops cleanly" 0 "$SRV_STATUS"
        server_start
    fi
    fault_rand 3
    fault_agent $((R + 1))
    fault_rand 2
    if [ "$R" -eq 0 ]; then
        kill_delay "$KILL_MS"
        fault_record "$A" "$R"
        rec_kills=$((rec_kills + 1))
        continue
    fi
    fault_rand 3
    n=$((R + 1))
    while [ "$n" -gt 0 ]; do
        fault_record "$A"
        n=$((n - 1))
    done
    kill_delay "$SYNC_KILL_MS"
    $WRAP "$AGENT" -q -d "$A" sync --timeout $((5 * SLOW)) >/dev/null 2>"$T/sync.err" </dev/null &
    pid=$!
    fault_track $pid
    sleep "$(fault_ms "$R")"
    kill -KILL "$pid" 2>/dev/null || true
    if wait "$pid" 2>/dev/null; then WAIT_RC=0; else WAIT_RC=$?; fi
    fault_untrack $pid
    fault_wrap_rc "$WAIT_RC"
    sync_kills=$((sync_kills + 1))
    if [ "$WAIT_RC" -eq 0 ]; then
        sync_done=$((sync_done + 1))
    elif [ "$WAIT_RC" -ne 137 ]; then
        echo "fault agent-kill: sync exited $WAIT_RC: $(head -n 1 "$T/sync.err")"
    fi
    ahead=$(fault_acks_lost "$A")
    ack_window=$((ack_window + ahead))
done

fault_drain
server_stop
check "server stops cleanly" 0 "$SRV_STATUS"
echo "fault agent-kill: $rec_kills kills while recording; $sync_kills while syncing" \
    "($ack_window after the server's commit and before the agent stored the ack," \
    "$sync_done after the sync finished)"
fault_check "$CYCLES kills"
net_finish
