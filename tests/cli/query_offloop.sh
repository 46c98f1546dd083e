#!/bin/sh
# query_offloop.sh -- HQ's queries run off the server's loop (rule 9,
# server/dn_query.h), end to end.
#
# A real server started with the test hook DEALERNET_TEST_QUERY_HOLD=FILE
# (common/dn_testctl.h): a query thread, having run a query, waits before
# answering while FILE exists, and logs "test hook: a query is held". No
# timing is guessed: every wait below is for an event (a log line, a file,
# a process's end), bounded only so that a broken server fails the test.
#
#   1. `verify` is held; meanwhile a shop syncs 4 new sales and HQ adds a
#      partner (a write, on the loop): both complete.  Released, verify
#      answers ok with the events of its snapshot: the 3 of before the
#      sync, not 7; a verify after it counts 7.
#   2. With FILE present, DN_QUERY_MAX + 2 = 10 queries at once: 8 are taken
#      (2 running, held; 6 waiting) and none can end while held, so exactly
#      2 are answered at once with status 75 and "the server is answering 8
#      queries; retry in a moment" (in Chinese for a Chinese desk), whatever
#      order they arrive in; released, the 8 answer 0.
set -eu
. "$(dirname "$0")/../lib/net.sh"
net_init query_offloop

QUERY_MAX=8 # DN_QUERY_MAX (server/dn_query.h)
HOLD=$T/hold
HELD='test hook: a query is held'

# bg_hq NAME ARGS...: dealernet-hq ARGS in the background; its stdout,
# stderr and exit status go to $T/NAME.out, .err and .rc (the last written
# when it has ended).
bg_hq() {
    bg_name=$1
    shift
    (
        set +e
        # shellcheck disable=SC2086
        timeout -k 5 $((120 * SLOW)) $NET_CLOCK $WRAP "$HQ" --server "$ADMIN_EP" \
            --server-key "$KEY" --key "$SRV/hq.key" --timeout $((100 * SLOW)) "$@" \
            >"$T/$bg_name.out" 2>"$T/$bg_name.err" </dev/null
        echo $? >"$T/$bg_name.rc.tmp"
        mv "$T/$bg_name.rc.tmp" "$T/$bg_name.rc"
    ) &
}

# ended PATTERN: how many of $T/PATTERN.rc exist.
ended() {
    # shellcheck disable=SC2086
    ls $T/$1.rc 2>/dev/null | wc -l | tr -d ' '
}

# wait_ended PATTERN N SECS: waits until N background runs matching
# PATTERN have ended, for at most SECS seconds.
wait_ended() {
    waited=0
    while [ "$(ended "$1")" -lt "$2" ] && [ $waited -lt $(($3 * SLOW * 10)) ]; do
        sleep 0.1
        waited=$((waited + 1))
    done
}

server_init
server_start DEALERNET_TEST_QUERY_HOLD="$HOLD"
check_has "start: the pool logged" "query threads: 2, at most 8 queries waiting or running" \
    "$SRV_LOG"
network_init
hq_must plan set deploy/plan.ini
A=$T/a
shop_enrolled "$A" SHOP1
record_sales "$A" 3
agent_must "$A" sync
hq_must verify --json
check "verify before: ok" 1 "$(json "$OUT" '$.ok')"
check "verify before: events (3 sales)" 3 "$(json "$OUT" '$.events')"
check "no query held yet" 0 "$(grep -c "$HELD" "$SRV_LOG" || true)"

# -- 1. verify held; a sync and a write complete meanwhile ----------------------
touch "$HOLD"
bg_hq verify verify --json
net_wait_grep "$HELD" "$SRV_LOG" 60
check "verify: held by the server" 1 "$(grep -c "$HELD" "$SRV_LOG" || true)"
record_sales "$A" 4
agent "$A" sync
check "sync of 4 sales while verify is held: exit" 0 "$rc"
check "the server stored them: events" 7 "$(sq 'SELECT count(*) FROM events')"
hq partner add D9 --name "Dealer nine" --kind dealer --parent HQ
check "partner add while verify is held: exit" 0 "$rc"
check "verify: still held" 0 "$(ended verify)"
rm "$HOLD"
wait_ended verify 1 60
check "verify released: exit" 0 "$(cat "$T/verify.rc")"
check "verify released: ok" 1 "$(json "$T/verify.out" '$.ok')"
check "verify released: events of its snapshot, before the sync" 3 \
    "$(json "$T/verify.out" '$.events')"
hq_must verify --json
check "verify after: ok" 1 "$(json "$OUT" '$.ok')"
check "verify after: events" 7 "$(json "$OUT" '$.events')"

# -- 2. more queries than the bound ----------------------------------------------
touch "$HOLD"
i=0
while [ $i -lt $((QUERY_MAX + 2)) ]; do
    bg_hq "q$i" partner list --json
    i=$((i + 1))
done
wait_ended 'q*' 2 60
check "over the bound: answered at once" 2 "$(ended 'q*')"
# a Chinese desk, while the 8 are still held
hq_in zh_CN.UTF-8 partner list
check "over the bound, in Chinese: exit" 75 "$rc"
check_one_error "over the bound, in Chinese" "服务器正在回答 8 个查询；请稍后重试"
check "over the bound: still 8 held" 2 "$(ended 'q*')"
busy=0
for f in "$T"/q*.rc; do
    [ "$(cat "$f")" = 75 ] || continue
    busy=$((busy + 1))
    check "over the bound: one line" 1 "$(wc -l <"${f%.rc}.err" | tr -d ' ')"
    check_has "over the bound: message" \
        "the server is answering 8 queries; retry in a moment" "${f%.rc}.err"
done
check "over the bound: exit 75" 2 "$busy"
check_has "over the bound: logged" \
    "admin: partner.list refused: the server is answering 8 queries" "$SRV_LOG"
rm "$HOLD"
wait_ended 'q*' $((QUERY_MAX + 2)) 60
answered=0
for f in "$T"/q*.rc; do
    [ "$(cat "$f")" = 0 ] || continue
    answered=$((answered + 1))
    # HQ, D1 and D9
    check "a held query: partners" 3 "$(sqlite3 :memory: \
        "SELECT json_array_length(readfile('${f%.rc}.out'))")"
done
check "within the bound: answered, exit 0" "$QUERY_MAX" "$answered"
check "held in all (verify, then the 2 running when the bound was hit)" 3 "$(grep -c "$HELD" "$SRV_LOG" || true)"

server_stop
check "server: clean stop" 0 "$SRV_STATUS"
net_finish
