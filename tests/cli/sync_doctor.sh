#!/bin/sh
# sync_doctor.sh -- what `sync` reports and what `doctor` diagnoses.
#
# Proves, with a real server and agents on loopback in a throwaway folder:
#   - sync says what this run sent and what the server holds: 3 events
#     recorded and synced -> "sent 3 events (seq 1-3), server holds through
#     3, 0 pending"; a second run with nothing new -> "sent 0 events";
#   - a partial success: with one batch of 2 events per commit
#     (DEALERNET_TEST_BATCH_EVENTS=2) and the server dying right after its
#     3rd commit (1 = the Hello, 2 = seq 4-5 acked, 3 = seq 6-7 stored, not
#     acked), sync exits 75 with one line "partly synced: sent 2 events (seq
#     4-5), server holds through 5, 2 pending; then the server ... stopped
#     during the sync", `status` shows 2 pending and a new last sync; the
#     server holds 7; after a restart HQ `sites` shows 0 pending and no lag
#     (the head 7 is here), the next sync sends seq 6-7 (checked against what
#     was stored) and HQ still shows 0 pending;
#   - doctor prints a distinct diagnosis, as exact lines, with its exit
#     status, for: all well (0), a clock one day ahead (a warning: 0), a
#     revoked site (77), a wrong server key (78), the admin port (78), a TCP
#     listener that says nothing (78), one that answers junk (78), the
#     server down (69); and sync (and an enrollment at the admin port)
#     names the same causes in one line;
#   - doctor writes nothing in agent.db (not even the Welcome's bound on
#     one sale), names a missing curve.key or site.key as such (77, not
#     "server down"), and a folder that does not exist (66) without making
#     it.
set -eu
. "$(dirname "$0")/../lib/net.sh"
net_init sync_doctor
net_pin_clock '2026-03-02 10:00:00'
net_need python3

server_init
server_start
network_init
A=$T/a
agent_new "$A" SHOP1
enroll "$A" "$(site_add SHOP1)"
check "enroll A: exit" 0 "$rc"
HOSTPORT=${SYNC_EP#tcp://}
HOST=${HOSTPORT%:*}
PORT=${HOSTPORT##*:}

# doctor ARGS...: runs doctor on agent $1 (sets rc, $OUT).
doctor() {
    d=$1
    shift
    agent "$d" doctor --timeout $((2 * SLOW)) "$@"
}

# -- sync reports -------------------------------------------------------------------

record_sales "$A" 3
run 60 "$AGENT" -d "$A" sync
check "sync 1: exit" 0 "$rc"
check "sync 1: report" "synced: sent 3 events (seq 1-3), server holds through 3, 0 pending" \
    "$(sed -n 1p "$OUT")"
run 60 "$AGENT" -d "$A" sync
check "sync 2, nothing new: report" "synced: sent 0 events, server holds through 3, 0 pending" "$(cat "$OUT")"
LAST1=$(status_field "$A" last_sync)

# -- doctor: all well -------------------------------------------------------------

HEAD=$(sqlite3 "$A/agent.db" "SELECT lower(hex(hash)) FROM events WHERE seq = 3" | cut -c1-16)
doctor "$A"
check "doctor, all well: exit" 0 "$rc"
cat >"$T/want" <<WANT
ok   folder    $A: no other user can write it; agent.db and the keys are not open to others
ok   database  agent.db opens: site SHOP1, 3 events, the chain verifies (head $HEAD...)
ok   enrolled  site SHOP1 is enrolled with $SYNC_EP
ok   endpoint  host $HOST, port $PORT
ok   connect   TCP connection to $HOST port $PORT
ok   handshake $SYNC_EP is a dealernet server with the key this agent was enrolled with
ok   standing  the server knows this site and holds its events through seq 3
ok   clock     within 5 min of the server's
ok   pending   0 events pending sync
all checks passed
WANT
check "doctor, all well: lines" "$(cat "$T/want")" "$(cat "$OUT")"
doctor "$A" --json
cp "$OUT" "$T/doctor.json"
check "doctor --json: ok, exit, checks, standing" "1|0|9|ok" \
    "$(json "$T/doctor.json" '$.ok')|$(json "$T/doctor.json" '$.exit')|$(sqlite3 :memory: "SELECT json_array_length(readfile('$T/doctor.json'), '\$.checks')")|$(json "$T/doctor.json" '$.checks[6].result')"

# -- doctor: this PC's clock one day ahead ----------------------------------------------

AHEAD=$((NET_CLOCK_OFFSET + 86400))
[ "$AHEAD" -ge 0 ] && AHEAD=+$AHEAD
run 60 env FAKETIME="${AHEAD}s" "$AGENT" -q -d "$A" doctor --timeout $((2 * SLOW))
check "doctor, clock a day ahead: exit (a warning)" 0 "$rc"
check "doctor, clock a day ahead: line" \
    "WARN clock     this PC's clock is 1 day 0 h ahead of the server's (more than 5 min)" \
    "$(grep '^WARN' "$OUT")"
check "doctor, clock a day ahead: what to do" \
    "               -> set this PC's date and time: the server posts sales at its own time when they claim a later one" \
    "$(grep -A1 '^WARN' "$OUT" | tail -n 1)"

# -- doctor: writes nothing here; this PC's keys; no folder ---------------------------

# A site that never took the server's bound on one sale (as after a fresh
# enrollment): doctor's Hello gets it in the Welcome and keeps it nowhere.
meta() { sqlite3 "$A/agent.db" "SELECT group_concat(key || '=' || value, ' ') FROM (SELECT key, value FROM meta ORDER BY key)"; }
sqlite3 "$A/agent.db" "DELETE FROM meta WHERE key = 'max_sale'"
META=$(meta)
doctor "$A"
check "doctor writes nothing in agent.db: exit" 0 "$rc"
check "doctor writes nothing in agent.db: meta" "$META" "$(meta)"

# A key of this PC gone: not "not enrolled" past the enrolled check, nor
# "start dealernet-server" at the handshake.
mv "$A/curve.key" "$T/curve.key.aside"
doctor "$A"
check "doctor, curve.key missing: exit" 77 "$rc"
check "doctor, curve.key missing: line" \
    "FAIL enrolled  site SHOP1 is enrolled with $SYNC_EP, but this PC's key $A/curve.key is missing" \
    "$(grep '^FAIL' "$OUT")"
check "doctor, curve.key missing: what to do" \
    "               -> restore it from a backup of this folder, or enroll this PC again with a code from 'dealernet-hq site token' (dealernet-agent enroll --again)" \
    "$(grep -A1 '^FAIL' "$OUT" | tail -n 1)"
check "doctor, curve.key missing: later checks skipped" 5 "$(grep -c '^skip' "$OUT")"
mv "$T/curve.key.aside" "$A/curve.key"
mv "$A/site.key" "$T/site.key.aside"
doctor "$A"
check "doctor, site.key missing: exit" 77 "$rc"
check "doctor, site.key missing: line" \
    "FAIL enrolled  site SHOP1 is enrolled with $SYNC_EP, but this PC's key $A/site.key is missing" \
    "$(grep '^FAIL' "$OUT")"
mv "$T/site.key.aside" "$A/site.key"

# A folder that is not there is not "ok", and is not made.
doctor "$T/nowhere"
check "doctor, no folder: exit" 66 "$rc"
check "doctor, no folder: line" "FAIL folder    $T/nowhere does not exist" "$(grep '^FAIL' "$OUT")"
check "doctor, no folder: nothing made" "absent" "$([ -e "$T/nowhere" ] && echo present || echo absent)"

# -- a partial sync ---------------------------------------------------------------

server_stop
record_sales "$A" 4 # seq 4..7
server_start DEALERNET_TEST_BATCH_EVENTS=2 DEALERNET_TEST_CRASH_AFTER_COMMIT=3
agent "$A" sync --timeout 10
check "partial sync: exit" 75 "$rc"
check "partial sync: stdout" "" "$(cat "$OUT")"
check "partial sync: one line" \
    "dealernet-agent: error: partly synced: sent 2 events (seq 4-5), server holds through 5, 2 pending; then the server at $SYNC_EP stopped during the sync" \
    "$(cat "$ERR")"
server_wait 20
check "server exits by the test hook" 3 "$SRV_STATUS"
check "the server stored seq 1-7" "7|7" "$(sq "SELECT count(*), max(seq) FROM events")"
check "partial sync: agent pending" 2 "$(status_field "$A" pending)"
LAST2=$(json "$T/status.json" '$.last_sync')
check "partial sync: last sync moved on" yes "$([ -n "$LAST2" ] && [ "$LAST2" != "$LAST1" ] && echo yes || echo "no ($LAST1 -> $LAST2)")"

server_start
hq sites --json
cp "$OUT" "$T/sites.json"
# The Hello said head 7 with 3 applied: 4 pending; seq 4-5 and 6-7 applied
# since: 4 - 2 - 2 = 0, and with nothing pending no lag.
check "HQ sites after the crash: pending, lag" "0|" \
    "$(json "$T/sites.json" '$[0].pending')|$(json "$T/sites.json" '$[0].lag')"
agent "$A" sync --json
cp "$OUT" "$T/sync.json"
check "resync: exit" 0 "$rc"
check "resync --json: ok, partial, sent, first, last, server, pending, cause" \
    "1|0|2|6|7|7|0|" \
    "$(for k in ok partial sent first_seq last_seq server_applied_seq pending cause; do printf '%s|' "$(json "$T/sync.json" "\$.$k")"; done | sed 's/|$//')"
hq sites --json
cp "$OUT" "$T/sites.json"
# The agent's Hello still counted 2 unacked; the server holds its head 7.
check "HQ sites after the resync: pending, lag" "0|" \
    "$(json "$T/sites.json" '$[0].pending')|$(json "$T/sites.json" '$[0].lag')"
check "no tamper alarm" 0 "$(grep -c 'TAMPER ALARM' "$SRV_LOG" || true)"

# -- doctor: a revoked site -----------------------------------------------------

B=$T/b
agent_new "$B" SHOP2
enroll "$B" "$(site_add SHOP2)"
check "enroll B: exit" 0 "$rc"
hq site revoke SHOP2
check "revoke SHOP2: exit" 0 "$rc"
doctor "$B"
check "doctor, revoked: exit" 77 "$rc"
check "doctor, revoked: line" \
    "FAIL standing  the server refused this site: revoked by headquarters" "$(grep '^FAIL' "$OUT")"
agent "$B" sync --timeout $((3 * SLOW))
check "sync, revoked: exit" 77 "$rc"
check "sync, revoked: one line" \
    "dealernet-agent: error: server refused: this site was revoked by headquarters" "$(cat "$ERR")"

# -- doctor: a wrong server key, the admin port ------------------------------------

C=$T/c
agent_new "$C" SHOP3
enroll "$C" "$(site_add SHOP3)"
check "enroll C: exit" 0 "$rc"
record_sales "$C" 1
OTHER_KEY=$(sed -n 's/^public-key *= *//p' "$SRV/hq.key")
check "another valid key to use" 40 "${#OTHER_KEY}"
sqlite3 "$C/agent.db" "UPDATE meta SET value = '$OTHER_KEY' WHERE key = 'server_key'"
doctor "$C"
check "doctor, wrong key: exit" 78 "$rc"
check "doctor, wrong key: line" \
    "FAIL handshake $SYNC_EP dropped the secure handshake: the server key is wrong (it is the public key 'dealernet-server init' printed)" \
    "$(grep '^FAIL' "$OUT")"
agent "$C" sync --timeout 5
check "sync, wrong key: exit" 78 "$rc"
check "sync, wrong key: one line" \
    "dealernet-agent: error: sync failed, 1 event kept pending: $SYNC_EP dropped the secure handshake: the server key is wrong (it is the public key 'dealernet-server init' printed)" \
    "$(cat "$ERR")"
sqlite3 "$C/agent.db" "UPDATE meta SET value = '$KEY' WHERE key = 'server_key';
                       UPDATE meta SET value = '$ADMIN_EP' WHERE key = 'server_endpoint'"
doctor "$C"
check "doctor, admin port: exit" 78 "$rc"
check "doctor, admin port: line" \
    "FAIL handshake $ADMIN_EP refused this site's key at the handshake (ZAP status 400): that is not the server's sync port (the admin port?)" \
    "$(grep '^FAIL' "$OUT")"
agent "$C" sync --timeout 5
check "sync, admin port: exit" 78 "$rc"
check "sync, admin port: one line" \
    "dealernet-agent: error: sync failed, 1 event kept pending: $ADMIN_EP refused this site's key at the handshake (ZAP status 400): that is not the server's sync port (the admin port?)" \
    "$(cat "$ERR")"
# enrolling against the admin port: named at once, in one line
D=$T/d
agent_new "$D" SHOP4
TOKEN4=$(site_add SHOP4)
printf '%s\n' "$TOKEN4" >"$T/token4"
agent "$D" enroll --server "$ADMIN_EP" --server-key "$KEY" --token-file "$T/token4"
check "enroll at the admin port: exit" 78 "$rc"
check "enroll at the admin port: one line" \
    "dealernet-agent: error: $ADMIN_EP refused this site's key at the handshake (ZAP status 400): that is not the server's sync port (the admin port?)" \
    "$(cat "$ERR")"
# and HQ pointed at the sync port (whose ZAP refuses admin keys): not "is
# the server running?"
run 30 "$HQ" --server "$SYNC_EP" --server-key "$KEY" --key "$SRV/hq.key" sites
check "hq at the sync port: exit" 77 "$rc"
check "hq at the sync port: one line" \
    "dealernet-hq: error: $SYNC_EP refused the admin key in $SRV/hq.key (ZAP status 400): it is not an HQ admin key of this server, or this is not its admin port" \
    "$(cat "$ERR")"

# -- doctor: something else listens -------------------------------------------------

# listener MODE: a TCP listener on a free loopback port for 20 s (times
# SLOW: it must outlive doctor's wait) that says nothing (silent) or
# answers junk and closes (junk); sets LPORT and LPID.
listener() {
    rm -f "$T/lport"
    python3 -c "
import socket, sys, time
s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(8); s.settimeout(0.2)
print(s.getsockname()[1], flush=True)
held = []
end = time.time() + float(sys.argv[2])
while time.time() < end:
    try:
        c, _ = s.accept()
    except OSError:
        continue
    if sys.argv[1] == 'junk':
        c.sendall(b'HTTP/1.0 400 Bad Request\r\n\r\n'); c.close()
    else:
        held.append(c)
" "$1" $((20 * SLOW)) >"$T/lport" &
    LPID=$!
    n=0
    while [ ! -s "$T/lport" ] && [ "$n" -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
    LPORT=$(cat "$T/lport")
}
# doctor_listener MODE TEXT: doctor on C pointed at a listener of MODE fails
# its handshake with exit 78 and the line "tcp://127.0.0.1:PORT TEXT".
doctor_listener() {
    listener "$1"
    sqlite3 "$C/agent.db" "UPDATE meta SET value = 'tcp://127.0.0.1:$LPORT' WHERE key = 'server_endpoint'"
    doctor "$C"
    check "doctor, $1 listener: exit" 78 "$rc"
    check "doctor, $1 listener: line" "FAIL handshake tcp://127.0.0.1:$LPORT $2" \
        "$(grep '^FAIL' "$OUT")"
    kill "$LPID" 2>/dev/null || true
    wait "$LPID" 2>/dev/null || true
}
doctor_listener silent "accepted the connection but does not speak ZeroMQ: wrong port?"
doctor_listener junk "answered, but not as a ZeroMQ server: wrong port?"

# -- doctor: the server down ----------------------------------------------------------

server_stop
check "server stops cleanly" 0 "$SRV_STATUS"
doctor "$A"
check "doctor, server down: exit" 69 "$rc"
check "doctor, server down: line" \
    "FAIL connect   nothing listens at $HOST port $PORT (connection refused): is dealernet-server running there?" \
    "$(grep '^FAIL' "$OUT")"
check "doctor, server down: later checks skipped" 3 "$(grep -c '^skip' "$OUT")"
record_sales "$A" 1
agent "$A" sync --timeout 2
check "sync, server down: exit" 75 "$rc"
check "sync, server down: one line" \
    "dealernet-agent: error: sync failed, 1 event kept pending: nothing listens at $SYNC_EP (connection refused): is dealernet-server running there?" \
    "$(cat "$ERR")"

# -- the daemon's journal says what sync says ---------------------------------------

# `run` while the server is down logs the cause; once it is back, the run
# that delivers the pending event logs sync's own report (the last seq is
# the pending one, the only one sent).
LAST=$(sqlite3 "$A/agent.db" "SELECT max(seq) FROM events")
timeout -k 5 120 $NET_CLOCK $WRAP "$AGENT" -d "$A" run --interval 1 </dev/null \
    >/dev/null 2>"$T/run.log" &
RUN_PID=$!
net_wait_grep 'sync failed' "$T/run.log" 30
server_start
net_wait_grep 'info: synced:' "$T/run.log" 50
kill -TERM $RUN_PID 2>/dev/null
wait $RUN_PID
check "run, server down: the cause" \
    "dealernet-agent: warning: sync failed, 1 event kept pending: nothing listens at $SYNC_EP (connection refused): is dealernet-server running there?; next try in" \
    "$(grep -m1 -o 'dealernet-agent: warning: sync failed.*; next try in' "$T/run.log")"
check "run, server back: the report" \
    "dealernet-agent: info: synced: sent 1 event (seq $LAST), server holds through $LAST, 0 pending" \
    "$(grep -m1 -o 'dealernet-agent: info: synced: .*' "$T/run.log")"
net_finish
