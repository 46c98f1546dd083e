#!/bin/sh
# chaos.sh -- three agents sync through tests/fault/dn_chaos, a seeded
# message-layer proxy that drops, duplicates, delays and reorders sync
# messages both ways and replays captured batches, including week-old ones
# captured by an earlier proxy run; nothing is lost, nothing is stored
# twice, no replay changes anything, and the ledger is what a clean replay
# gives.
#
# Why a trusted proxy (see dn_chaos.c): CurveZMQ is end to end, so only a
# proxy holding the server's key pair (towards the agents) and the agents'
# key pairs (towards the server) can act on whole messages; at the TCP
# level nothing but delaying or cutting a stream is meaningful.
#
# The agents enroll with the server on port P; the server then moves to
# another port and dn_chaos takes P, so the agents talk to the proxy
# without knowing it.  "Week 1": DN_ROUNDS rounds of recording (sales,
# members, referrals, refunds) and syncing all three agents at once through
# a proxy that captures every batch into a file.  "Week 2": as many rounds
# through a second proxy that also replays the batches of week 1.  Then the
# proxy goes, the server takes P back, and a final sync drains every agent
# directly; `dealernet-agent check`, `dealernet-hq verify` and
# tests/fault/dn_check must pass, no sync may have been refused for tamper,
# and the server must have answered every replay it got with an ack (no
# effect: dn_check proves it) or a gap refusal.  Prints each proxy's figures and
#   fault chaos: seed S, drop D %, dup U %, ..., check: confirmed N, lost 0, ...
#
# Environment: DN_SEED, DN_BIN, DN_KEEP (tests/fault/lib.sh); DN_ROUNDS
# (rounds per week, default 2), DN_EVENTS (events per agent per round,
# default 6), DN_DROP, DN_DUP (percent, default 20), DN_DELAY (percent,
# default 20, up to DN_DELAY_MS, default 300), DN_REORDER (default 10),
# DN_REPLAY (percent of the agents' batches and hellos after which an old
# batch is replayed, default 50), DN_BATCH (events per batch the proxy
# lets the server offer, default 2: more messages per event).
set -eu
. "$(dirname "$0")/lib.sh"
fault_init chaos
ROUNDS=${DN_ROUNDS:-2}
EVENTS=${DN_EVENTS:-6}
DROP=${DN_DROP:-20}
DUP=${DN_DUP:-20}
DELAY=${DN_DELAY:-20}
DELAY_MS=${DN_DELAY_MS:-300}
REORDER=${DN_REORDER:-10}
REPLAY=${DN_REPLAY:-50}
BATCH=${DN_BATCH:-2}

server_init
server_start
fault_network
server_stop
check "server stops cleanly after setup" 0 "$SRV_STATUS"

# The agents know the endpoint they enrolled with: the proxy takes it.
AGENT_EP=$SYNC_EP
# shellcheck disable=SC2034 # read by net.sh's server_start
SERVER_STARTED=0 # let server_start pick free ports again
net_pick_ports
server_start
[ "$SYNC_EP" != "$AGENT_EP" ] || { echo "fault chaos: no second port" >&2; exit 1; }

# proxy_start WEEK [ARGS...]: dn_chaos in front of the server; waits until
# it listens.
proxy_start() {
    week=$1
    shift
    agent_args=""
    for d in $AGENTS; do
        agent_args="$agent_args --agent $d"
    done
    # shellcheck disable=SC2086
    "$CHAOS" --listen "$AGENT_EP" --server "$SYNC_EP" --server-keyfile "$SRV/server.key" \
        $agent_args --seed $((SEED + week)) --drop "$DROP" --dup "$DUP" --delay "$DELAY" \
        --delay-ms "$DELAY_MS" --reorder "$REORDER" --replay "$REPLAY" --batch "$BATCH" "$@" \
        >"$T/chaos$week.out" 2>&1 </dev/null &
    PROXY=$!
    fault_track $PROXY
    n=0
    while ! grep -q '^chaos: listening' "$T/chaos$week.out" 2>/dev/null; do
        n=$((n + 1))
        if [ "$n" -gt 500 ] || ! kill -0 "$PROXY" 2>/dev/null; then
            echo "fault chaos: the proxy did not start: $(cat "$T/chaos$week.out")" >&2
            exit 1
        fi
        sleep 0.01
    done
}

# proxy_stop WEEK: SIGTERM, bounded wait, its figures.
proxy_stop() {
    kill -TERM "$PROXY" 2>/dev/null || true
    fault_wait_pid "$PROXY" 30 # its drain of the replays' answers is bounded at 20 s
    check "proxy $1 stops cleanly" 0 "$WAIT_RC"
    grep '^chaos: seed' "$T/chaos$1.out" | sed "s/^chaos:/fault chaos: week $1 proxy:/"
    replayed=$(sed -n 's/.*replayed \([0-9]*\) (acked \([0-9]*\), refused \([0-9]*\)[,:].*/\1 \2 \3/p' \
        "$T/chaos$1.out")
    # A replay is the site's own signed batch: the server may only ack it,
    # or refuse it for a gap (its earlier batches were not applied yet).
    not_gap=$(sed -n 's/.*refused [0-9]*: \([^)]*\), unanswered.*/\1/p' "$T/chaos$1.out" |
        tr ',' '\n' | grep -v REFUSE_GAP | awk '{ s += $2 } END { print s + 0 }')
    REPLAY_NOT_GAP=$((REPLAY_NOT_GAP + not_gap))
    # shellcheck disable=SC2086
    set -- $replayed
    REPLAYED=$((REPLAYED + $1))
    REPLAY_ACKED=$((REPLAY_ACKED + $2))
    REPLAY_REFUSED=$((REPLAY_REFUSED + $3))
}

# round: every agent records EVENTS events, then all sync at once through
# the proxy; a sync that gives up (75) leaves its events for the next round.
# The server restarts (cleanly) first: net.sh bounds each server's life to
# 300 s, and a long run must stay within it.
round() {
    server_stop
    check "server stops cleanly" 0 "$SRV_STATUS"
    server_start
    for d in $AGENTS; do
        n=0
        while [ "$n" -lt "$EVENTS" ]; do
            fault_record "$d"
            n=$((n + 1))
        done
    done
    pids=""
    for d in $AGENTS; do
        $WRAP "$AGENT" -q -d "$d" sync --timeout 45 --reply-timeout $((1000 * SLOW)) >/dev/null 2>>"$T/sync.err" </dev/null &
        pids="$pids $!"
        fault_track $!
    done
    for pid in $pids; do
        fault_wait_pid "$pid" 60
        SYNCS=$((SYNCS + 1))
        case $WAIT_RC in
        0) SYNCS_OK=$((SYNCS_OK + 1)) ;;
        75) ;;
        *) check "a sync through the proxy exits 0 or 75" "0 or 75" "$WAIT_RC" ;;
        esac
    done
}

SYNCS=0
SYNCS_OK=0
REPLAYED=0
REPLAY_ACKED=0
REPLAY_REFUSED=0
REPLAY_NOT_GAP=0
for week in 1 2; do
    if [ "$week" -eq 1 ]; then
        proxy_start 1 --capture "$T/week1.batches"
    else
        proxy_start 2 --replay-file "$T/week1.batches"
    fi
    r=0
    while [ "$r" -lt "$ROUNDS" ]; do
        round
        r=$((r + 1))
    done
    proxy_stop "$week"
done
check "batches captured in week 1" yes "$([ -s "$T/week1.batches" ] && echo yes || echo no)"

# The proxy goes; the server takes the agents' endpoint back; drain.
server_stop
check "server stops cleanly" 0 "$SRV_STATUS"
SYNC_EP=$AGENT_EP
server_start
fault_drain
server_stop
check "server stops cleanly" 0 "$SRV_STATUS"
check "tamper alarms" 0 "$(grep -c 'TAMPER ALARM' "$SRV_LOG" || true)"
check "replays answered (acked + refused = replayed)" "$REPLAYED" \
    "$((REPLAY_ACKED + REPLAY_REFUSED))"
check "replays refused for anything but a gap" 0 "$REPLAY_NOT_GAP"
echo "fault chaos: $SYNCS syncs through the proxy, $SYNCS_OK completed, the rest" \
    "resumed later; $REPLAYED replays: $REPLAY_ACKED acked without effect," \
    "$REPLAY_REFUSED refused"
fault_check "drop $DROP %, dup $DUP %, delay $DELAY %, reorder $REORDER %, replay $REPLAY %, $((ROUNDS * 2)) rounds"
net_finish
