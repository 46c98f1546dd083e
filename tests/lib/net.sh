# net.sh -- shared helpers of the sync tests (tests/cli/sync_*.sh).
#
# Sourced, never run on its own (tests/run.sh runs only tests/cli/*.sh).
# Gives each test a throwaway folder, a dealernet-server on free loopback
# ports, bounded runs of the programs, and one-line checks.  The EXIT trap
# stops every server the test started (SIGTERM, then SIGKILL after a bounded
# wait) and removes the folder, on success and on failure alike; should the
# test's shell die without its trap (SIGKILL), a watcher beside the server
# stops it, and `timeout` bounds its life in any case.
#
# Environment:
#   DN_BIN    folder holding dealernet-agent, -server and -hq (default bin)
#   DN_WRAP   optional command prefix (valgrind ...) put before every run of
#             the agent, the server, dealernet-hq and dn_poke
#   DN_TOOLS  folder holding dn_poke (default: the build folder that matches
#             DN_BIN -- bin -> build/tests/tools, bin-X -> build-X/tests/tools)
#   DN_KEEP=1 keep the throwaway folder (its path is printed)
#
# A test whose figures depend on the month or the day its events are
# recorded in calls net_pin_clock WHEN right after net_init: every program it
# runs then shares one clock that starts at WHEN (UTC).
#
# Variables a test uses after net_init: T (the folder), SRV (server folder),
# KEY (server public key), SYNC_EP, ADMIN_EP, rc (exit code of the last run),
# OUT / ERR (files with its stdout / stderr).

# -- setup and teardown -----------------------------------------------------

# net_init NAME: checks the programs and tools, makes the folder, sets traps.
net_init() {
    NET_NAME=$1
    BIN=${DN_BIN:-bin}
    case $BIN in /*) ;; *) BIN=$(pwd)/$BIN ;; esac
    WRAP=${DN_WRAP:-}
    if [ -z "${DN_TOOLS:-}" ]; then
        bin_base=$(basename "$BIN")
        DN_TOOLS=$(dirname "$BIN")/build${bin_base#bin}/tests/tools
    fi
    AGENT=$BIN/dealernet-agent
    SERVER=$BIN/dealernet-server
    HQ=$BIN/dealernet-hq
    POKE=$DN_TOOLS/dn_poke
    for prog in "$AGENT" "$SERVER" "$HQ" "$POKE"; do
        if [ ! -x "$prog" ]; then
            echo "$NET_NAME: no program $prog (run make build-tests; DN_TOOLS names" \
                "dn_poke's folder)" >&2
            exit 1
        fi
    done
    net_need sqlite3 timeout
    # The programs speak the language of LANG and friends (README,
    # "Languages / 语言"): every test reads English unless it sets another.
    LANG=C.UTF-8
    export LANG
    unset LANGUAGE LC_ALL LC_MESSAGES
    # Under valgrind everything is ~10-50 times slower, under the address
    # sanitizer 2-5 times: stretch every bound.
    SLOW=1
    if [ -n "$WRAP" ]; then
        SLOW=10
    elif grep -q __asan_init "$SERVER" 2>/dev/null; then
        SLOW=3
    fi
    NET_SHELL=$$
    T=$(mktemp -d "${TMPDIR:-/tmp}/dn-$NET_NAME.XXXXXX")
    SRV=$T/srv
    SRV_LOG=$T/server.log
    SRV_PID=
    OUT=$T/out
    ERR=$T/err
    pass=0
    fail=0
    rc=0
    NET_PORT_TRY=0
    NET_CLOCK=
    trap net_cleanup EXIT
    trap 'exit 130' INT TERM HUP
}

net_cleanup() {
    net_status=$?
    trap - EXIT
    set +e
    server_stop >/dev/null 2>&1
    if [ "$net_status" -ne 0 ] && [ -f "$SRV_LOG" ]; then
        echo "--- last lines of the server log:" >&2
        tail -n 15 "$SRV_LOG" >&2
    fi
    if [ "${DN_KEEP:-}" = 1 ]; then
        echo "$NET_NAME: kept $T" >&2
    else
        rm -rf "$T"
    fi
    exit "$net_status"
}

# net_finish: prints the summary and exits 0 only if every check passed.
net_finish() {
    echo "$NET_NAME: $pass passed, $fail failed"
    [ "$fail" -eq 0 ] && exit 0
    exit 1
}

# net_pin_clock 'YYYY-MM-DD HH:MM:SS': from now on the server, the agents,
# dealernet-hq and dn_poke run with a clock that started at that moment (UTC)
# and runs at the real pace: libfaketime with one offset from the real clock
# for all of them, so they agree with each other as real programs on one
# host do, and a test that records "now" files its events in a month it
# names, whatever today is and however long a loaded machine takes.
# Monotonic clocks stay real (ZeroMQ's and the agent's timeouts run on
# them).  The library is preloaded through env, not the faketime program,
# which would stand as a parent between `timeout` and the server (signals
# and server_process expect the server right under `timeout`).  The test's
# own shell keeps the real clock (use the pinned dates, never `date`).
# Skips the test (77) without faketime.  NET_CLOCK_OFFSET is the offset in
# seconds (a run can put another FAKETIME after $NET_CLOCK: "@WHEN" to start
# at WHEN, or "$((NET_CLOCK_OFFSET + 7200))s" to run 2 h ahead of the rest).
# net_need TOOL...: skips the test (exit 77) unless every TOOL is a command
# here (make deps installs them).
net_need() {
    for tool in "$@"; do
        if ! command -v "$tool" >/dev/null 2>&1; then
            echo "$NET_NAME: skipped, $tool is not installed (make deps)"
            exit 77
        fi
    done
}

# net_wait_grep PATTERN FILE SECS: waits until FILE (which may not exist
# yet) has a line matching PATTERN (grep's), polling every 0.1 s for at most
# SECS seconds.  The check after it says whether it came.
net_wait_grep() {
    waited=0
    while ! grep -qs "$1" "$2" && [ $waited -lt $(($3 * 10)) ]; do
        sleep 0.1
        waited=$((waited + 1))
    done
}

# net_faketime_lib: prints the path of libfaketime, found without running
# the faketime program: that wrapper makes a semaphore named after its pid
# (/dev/shm/sem.faketime_sem_PID) and fails ("sem_open: File exists") when
# one of that name was left behind by a process killed before it cleaned
# up -- seen once in a full run, with 336 such files on the machine.
net_faketime_lib() {
    for lib in /usr/lib/*/faketime/libfaketime.so.1 /usr/lib/faketime/libfaketime.so.1 \
        /usr/local/lib/faketime/libfaketime.so.1; do
        [ -e "$lib" ] && { printf '%s' "$lib"; return 0; }
    done
    # elsewhere: ask the wrapper once
    # shellcheck disable=SC2016 # $LD_PRELOAD is the inner shell's
    env -u LD_PRELOAD -u FAKETIME -u FAKETIME_SHARED faketime -f +0s sh -c 'printf %s "$LD_PRELOAD"'
}

net_pin_clock() {
    if ! command -v faketime >/dev/null 2>&1; then
        echo "$NET_NAME: skipped, faketime is not installed (make deps)"
        exit 77
    fi
    pin_lib=$(net_faketime_lib)
    # the real clock even when this test itself runs under faketime
    NET_CLOCK_OFFSET=$(($(date -u -d "$1" +%s) - $(env -u LD_PRELOAD -u FAKETIME date -u +%s)))
    pin_off=$NET_CLOCK_OFFSET
    [ "$pin_off" -ge 0 ] && pin_off=+$pin_off
    # Under AddressSanitizer (make check-asan) a preloaded library needs the
    # runtime told not to insist on coming first.
    NET_CLOCK="env -u FAKETIME_SHARED LD_PRELOAD=$pin_lib FAKETIME=${pin_off}s
        FAKETIME_DONT_FAKE_MONOTONIC=1
        ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
}

# -- checks -----------------------------------------------------------------

# check NAME EXPECTED ACTUAL: one check, one line.
check() {
    if [ "$2" = "$3" ]; then
        pass=$((pass + 1))
        echo "ok   $1: $3"
    else
        fail=$((fail + 1))
        echo "FAIL $1: expected '$2', got '$3'"
    fi
}

# check_has NAME TEXT FILE: FILE contains TEXT (fixed string).
check_has() {
    if grep -qF -- "$2" "$3"; then
        pass=$((pass + 1))
        echo "ok   $1: has '$2'"
    else
        fail=$((fail + 1))
        echo "FAIL $1: no '$2' in: $(head -c 300 "$3" | tr '\n' ' ')"
    fi
}

# check_one_error NAME TEXT: the last run wrote exactly one line on stderr,
# an error naming TEXT.
check_one_error() {
    check "$1: one line on stderr" 1 "$(wc -l <"$ERR" | tr -d ' ')"
    check_has "$1: message" "$2" "$ERR"
}

# -- running the programs ---------------------------------------------------

# run SECONDS PROGRAM ARGS...: runs PROGRAM (wrapped) with a time bound; sets
# rc, leaves stdout in $OUT and stderr in $ERR.  A run killed by the bound
# exits 124.  Standard input is $RUN_STDIN when set (a file), else nothing.
run() {
    secs=$(($1 * SLOW))
    shift
    set +e
    # shellcheck disable=SC2086
    timeout -k 5 "$secs" $NET_CLOCK $WRAP "$@" >"$OUT" 2>"$ERR" <"${RUN_STDIN:-/dev/null}"
    rc=$?
    set -e
    # 99 is valgrind's --error-exitcode (no sysexits code): always a failure
    if [ -n "$WRAP" ] && [ "$rc" -eq 99 ]; then
        check "$(basename "$1") under $(echo "$WRAP" | cut -d' ' -f1): no errors" 0 "$rc"
        head -n 20 "$ERR"
    fi
}

# agent DIR ARGS...: dealernet-agent -d DIR ARGS (bound: 60 s).
agent() {
    agent_dir=$1
    shift
    run 60 "$AGENT" -q -d "$agent_dir" "$@"
}

# hq ARGS...: dealernet-hq against this test's server (bound: 30 s).
hq() {
    run 30 "$HQ" --server "$ADMIN_EP" --server-key "$KEY" --key "$SRV/hq.key" "$@"
}

# hq_in LANG ARGS...: dealernet-hq ARGS under LANG (then back to
# C.UTF-8, which net_init pins).
hq_in() {
    LANG=$1
    export LANG
    shift
    hq "$@"
    LANG=C.UTF-8
    export LANG
}

# poke ARGS...: dn_poke against this test's sync socket (bound: 30 s).
poke() {
    run 30 "$POKE" --server "$SYNC_EP" --server-key "$KEY" --timeout $((3000 * SLOW)) "$@"
}

# sq SQL: one query on the server's central.db (the server may be running:
# WAL lets a reader in).  Rows as "a|b".
sq() {
    sqlite3 -cmd ".timeout 5000" "$SRV/central.db" "$1"
}

# json FILE PATH: json_extract of a JSON file ("1"/"0" for booleans, "" for
# null).
json() {
    sqlite3 :memory: "SELECT json_extract(readfile('$1'), '$2')"
}

# site_field CODE FIELD: FIELD of site CODE in 'dealernet-hq site list --json'.
site_field() {
    hq site list --json
    [ "$rc" -eq 0 ] || { echo "site list failed: $(cat "$ERR")" >&2; return 0; }
    cp "$OUT" "$T/sites.json"
    sqlite3 :memory: "SELECT json_extract(value, '\$.$2') FROM json_each(readfile('$T/sites.json'))
                      WHERE json_extract(value, '\$.code') = '$1'"
}

# status_field DIR FIELD: FIELD of 'dealernet-agent status --json'.
status_field() {
    agent "$1" status --json
    cp "$OUT" "$T/status.json"
    json "$T/status.json" "\$.$2"
}

# -- the server ---------------------------------------------------------------

# net_port_busy PORT...: true when ss shows a TCP socket on one of the
# ports (false without ss: the bind will tell).
net_port_busy() {
    command -v ss >/dev/null 2>&1 || return 1
    filter=""
    for port in "$@"; do filter="${filter:+$filter or }sport = :$port"; done
    [ -n "$(ss -Htan "( $filter )" 2>/dev/null)" ]
}

# Ports 20000-31999 (below Linux's ephemeral range), three in a row (sync,
# admin, and the web page's, which is the admin port + 1 by default), derived
# from the pid and the attempt, skipping ports already listening; a bind that
# fails anyway is retried with other ports by server_start.  WEB_PORT is the
# third.
net_pick_ports() {
    while :; do
        NET_PORT_TRY=$((NET_PORT_TRY + 1))
        p=$((20000 + (($$ * 7 + NET_PORT_TRY * 263) % 4000) * 3))
        if net_port_busy "$p" $((p + 1)) $((p + 2)); then
            [ "$NET_PORT_TRY" -lt 50 ] && continue
        fi
        break
    done
    SYNC_EP=tcp://127.0.0.1:$p
    ADMIN_EP=tcp://127.0.0.1:$((p + 1))
    WEB_PORT=$((p + 2))
}

# server_init: creates the server folder; sets KEY.  The network's time
# zone is NET_ZONE, UTC unless the test sets it: the tests' figures were
# worked out on UTC days and months (a CNY network's default zone,
# Asia/Shanghai, is what deploy/demo.sh and hq_zone_cli.sh run in).
server_init() {
    net_pick_ports
    run 30 "$SERVER" -d "$SRV" init --sync "$SYNC_EP" --admin "$ADMIN_EP" \
        --zone "${NET_ZONE:-UTC}"
    if [ "$rc" -ne 0 ]; then
        echo "$NET_NAME: server init failed ($rc): $(cat "$ERR")" >&2
        exit 1
    fi
    KEY=$(sed -n 's/^server public key: //p' "$OUT")
    if [ ${#KEY} -ne 40 ]; then
        echo "$NET_NAME: no server key in: $(cat "$OUT")" >&2
        exit 1
    fi
}

# server_start [NAME=VALUE ...]: starts the server (with those environment
# variables, and the words of NET_RUN_ARGS after `run`'s own) and waits
# until it serves.  The first start may move to other
# ports if a bind fails; later starts keep the ports the agents know.
#
# The server runs under `timeout` (a safety net: no server outlives the test
# even if the trap never runs), itself under a subshell that writes its exit
# status to $T/srv.status: a non-interactive shell does not reap its
# children, so `kill -0` cannot tell an exited server from a running one.
server_start() {
    tries=0
    while :; do
        tries=$((tries + 1))
        before=$(grep -c 'info: serving:' "$SRV_LOG" 2>/dev/null || true)
        before=${before:-0}
        rm -f "$T/srv.pid" "$T/srv.status" "$T/srv.status.tmp"
        (
            set +e
            # shellcheck disable=SC2086
            env "$@" timeout -k 5 $((300 * SLOW)) $NET_CLOCK $WRAP "$SERVER" -d "$SRV" run \
                --sync "$SYNC_EP" --admin "$ADMIN_EP" ${NET_RUN_ARGS:-} 2>>"$SRV_LOG" </dev/null &
            server_pid=$!
            echo $server_pid >"$T/srv.pid"
            # A watcher: should the test's shell die without its trap (say
            # SIGKILL), stop the server now rather than at the timeout.
            (
                while [ ! -f "$T/srv.status" ]; do
                    if ! kill -0 "$NET_SHELL" 2>/dev/null; then
                        kill -TERM "$server_pid" 2>/dev/null
                        break
                    fi
                    sleep 0.2
                done
            ) &
            wait $server_pid
            echo $? >"$T/srv.status.tmp"
            mv "$T/srv.status.tmp" "$T/srv.status"
            wait
        ) &
        SRV_SH=$!
        waited=0
        while [ ! -s "$T/srv.pid" ] && [ "$waited" -lt 100 ]; do
            sleep 0.05
            waited=$((waited + 1))
        done
        SRV_PID=$(cat "$T/srv.pid")
        waited=0
        while [ "$waited" -lt $((100 * SLOW)) ]; do
            now=$(grep -c 'info: serving:' "$SRV_LOG" 2>/dev/null || true)
            [ "${now:-0}" -gt "$before" ] && return 0
            server_alive || break
            sleep 0.1
            waited=$((waited + 1))
        done
        server_stop
        if [ "$tries" -ge 5 ]; then
            echo "$NET_NAME: the server did not start; its log:" >&2
            tail -n 5 "$SRV_LOG" >&2
            exit 1
        fi
        if [ "${SERVER_STARTED:-0}" = 0 ]; then
            net_pick_ports
        else
            sleep 1
        fi
    done
}

# server_alive: true while the server started last runs.
server_alive() {
    [ -n "$SRV_PID" ] && [ ! -f "$T/srv.status" ]
}

# server_wait SECONDS: waits for the server to exit, SIGKILLing it after the
# bound (with its process group: the `timeout` leads its own group, which
# holds just it and the server); sets SRV_STATUS to its exit status.
server_wait() {
    SRV_STATUS=none
    [ -n "$SRV_PID" ] || return 0
    waited=0
    while server_alive && [ "$waited" -lt $(($1 * SLOW * 10)) ]; do
        sleep 0.1
        waited=$((waited + 1))
    done
    if server_alive; then
        kill -KILL "-$SRV_PID" 2>/dev/null || kill -KILL "$SRV_PID" 2>/dev/null || true
        waited=0
        while server_alive && [ "$waited" -lt 50 ]; do
            sleep 0.1
            waited=$((waited + 1))
        done
    fi
    set +e
    wait "$SRV_SH" 2>/dev/null
    set -e
    # shellcheck disable=SC2034 # read by the tests
    SRV_STATUS=$(cat "$T/srv.status" 2>/dev/null || echo killed)
    SRV_PID=
    SERVER_STARTED=1
}

# server_stop: SIGTERM, then server_wait 10; SRV_STATUS 0 = a clean stop.
server_stop() {
    if server_alive; then
        kill -TERM "$SRV_PID" 2>/dev/null || true
    fi
    server_wait 10
}

# server_process: sets SPID, the server process itself (the child of the
# `timeout` that server_start runs), or exits 1.  kib FIELD then reads a
# figure of its /proc status in KiB (VmRSS, VmHWM).
server_process() {
    SPID=$(awk -v pp="$SRV_PID" '$4 == pp { print $1 }' /proc/[0-9]*/stat 2>/dev/null |
        head -n 1)
    [ -n "$SPID" ] && [ -r "/proc/$SPID/status" ] || {
        echo "$NET_NAME: cannot find the server process" >&2
        exit 1
    }
}
kib() { sed -n "s/^$1:[[:space:]]*\\([0-9]*\\) kB/\\1/p" "/proc/$SPID/status"; }

# skip_when_wrapped: memory figures and timings mean nothing under valgrind:
# the test is skipped there (exit 77).
skip_when_wrapped() {
    if [ -n "$WRAP" ]; then
        echo "$NET_NAME: skipped under $(echo "$WRAP" | cut -d' ' -f1): memory figures" \
            "and timings mean nothing there"
        exit 77
    fi
}

# loopback_addrs FIRST LAST: 127.0.0.FIRST,...,127.0.0.LAST (all reach
# loopback: source addresses for peers that must look like many).
loopback_addrs() {
    list=127.0.0.$1
    i=$(($1 + 1))
    while [ "$i" -le "$2" ]; do
        list="$list,127.0.0.$i"
        i=$((i + 1))
    done
    echo "$list"
}

# -- a small network ------------------------------------------------------------

# network_init: partners HQ and D1 (a dealer under HQ).
network_init() {
    hq partner add HQ --name "Head office" --kind hq
    [ "$rc" -eq 0 ] || { echo "partner add failed: $(cat "$ERR")" >&2; exit 1; }
    hq partner add D1 --name "Dealer one" --kind dealer --parent HQ
    [ "$rc" -eq 0 ] || { echo "partner add failed: $(cat "$ERR")" >&2; exit 1; }
}

# site_add CODE: adds site CODE for D1; prints its enrollment token (its
# enrollment code is then in $T/site-CODE.json, see site_code).
site_add() {
    hq site add "$1" --partner D1 --json
    [ "$rc" -eq 0 ] || { echo "site add failed: $(cat "$ERR")" >&2; exit 1; }
    cp "$OUT" "$T/site-$1.json"
    json "$T/site-$1.json" '$.token'
}

# two_shops PARENT: partners HQ and D1 (network_init), D2 under PARENT, the
# example plan (deploy/plan.ini), and two enrolled agents: SHOP1 of D1 in
# $A, SHOP2 of D2 in $B (sets A and B; checks each step).
two_shops() {
    network_init
    hq partner add D2 --name "Dealer two" --kind dealer --parent "$1"
    check "partner D2: exit" 0 "$rc"
    hq plan set deploy/plan.ini
    check "plan set: exit" 0 "$rc"
    A=$T/a
    B=$T/b
    two_shops_token=$(site_add SHOP1)
    agent_new "$A" SHOP1
    enroll "$A" "$two_shops_token"
    check "enroll SHOP1: exit" 0 "$rc"
    hq site add SHOP2 --partner D2 --json
    cp "$OUT" "$T/site-SHOP2.json"
    run 60 "$AGENT" -d "$B" init --site SHOP2 --partner D2
    enroll "$B" "$(json "$T/site-SHOP2.json" '$.token')"
    check "enroll SHOP2: exit" 0 "$rc"
}

# readme_network: the README's worked example ("A worked example";
# deploy/demo.sh builds the same): HQ (hq) -> REGION-N -> DEALER-BJ ->
# RESELLER-7, deploy/plan.ini, the shop SHOP-BJ1 of DEALER-BJ (agent $S)
# and the group leader's GROUP-7 of RESELLER-7 (agent $G), neither enrolled
# yet (their tokens in $T/shop.json and $T/group.json).  The shop signs up
# Wang Fang and Li Lei (referred by her) and records SALE1 (RICE-5KG x 2 +
# OIL-1L x 1 to Wang Fang, cash), SALE2 (RICE-5KG x 1 to Li Lei, online),
# SALE3 (OIL-1L x 4) and a refund of one oil of SALE3; the group signs up
# Zhao Min (referred by RESELLER-7) and records BUY (RICE-5KG x 10 at
# 55.00, community, wechat) and a refund of 55.00 of it.  Sets S, G,
# SALE1, SALE2, SALE3 and BUY (each step must succeed).
readme_network() {
    hq_must partner add HQ --name Headquarters --kind hq
    hq_must partner add REGION-N --name "North region" --kind region --parent HQ
    hq_must partner add DEALER-BJ --name "Beijing dealer" --kind dealer --parent REGION-N
    hq_must partner add RESELLER-7 --name "Group leader Zhao" --kind reseller --parent DEALER-BJ
    hq_must plan set deploy/plan.ini
    S=$T/shop
    G=$T/group
    hq_must site add SHOP-BJ1 --partner DEALER-BJ --json
    cp "$OUT" "$T/shop.json"
    hq_must site add GROUP-7 --partner RESELLER-7 --json
    cp "$OUT" "$T/group.json"
    agent_must "$S" init --site SHOP-BJ1 --partner DEALER-BJ --currency CNY
    agent_must "$S" catalog set RICE-5KG 59.90 --category rice
    agent_must "$S" catalog set OIL-1L 18.50 --category oil
    agent_must "$S" member add --phone "+86 138-0013-8000" --name "Wang Fang" --household 4
    agent_must "$S" member add --phone "+86 139 0013 9000" --name "Li Lei" \
        --referrer "+86 138 0013 8000"
    agent_must "$S" sale --line RICE-5KG:2 --line OIL-1L:1 --member +8613800138000 --pay cash \
        --json
    SALE1=$(json "$OUT" '$.id')
    agent_must "$S" sale --line RICE-5KG:1 --member +8613900139000 --channel online --json
    SALE2=$(json "$OUT" '$.id')
    agent_must "$S" sale --line OIL-1L:4 --json
    SALE3=$(json "$OUT" '$.id')
    agent_must "$S" refund "$SALE3" --line OIL-1L:1
    agent_must "$G" init --site GROUP-7 --partner RESELLER-7 --currency CNY
    agent_must "$G" member add --phone 13700137000 --name "Zhao Min" --referrer RESELLER-7
    agent_must "$G" sale --line RICE-5KG:10@55.00 --channel community --member 13700137000 \
        --pay wechat --json
    BUY=$(json "$OUT" '$.id')
    agent_must "$G" refund "$BUY" --amount 55.00
}

# readme_network_sync: enrolls readme_network's two agents (checks each)
# and syncs them, the shop first.
readme_network_sync() {
    enroll "$S" "$(json "$T/shop.json" '$.token')"
    check "enroll SHOP-BJ1: exit" 0 "$rc"
    agent_must "$S" sync
    enroll "$G" "$(json "$T/group.json" '$.token')"
    check "enroll GROUP-7: exit" 0 "$rc"
    agent_must "$G" sync
}

# site_code CODE: the enrollment code 'site add' printed for site CODE.
site_code() {
    json "$T/site-$1.json" '$.enrollment_code'
}

# agent_new DIR SITE: a new agent for SITE (partner D1); not quiet, so that
# $OUT holds what init reports.
agent_new() {
    run 60 "$AGENT" -d "$1" init --site "$2" --partner D1
    [ "$rc" -eq 0 ] || { echo "agent init failed: $(cat "$ERR")" >&2; exit 1; }
}

# shop_enrolled DIR SITE: adds site SITE for D1 and a new agent for it in
# DIR, enrolled with this test's server (checks it).
shop_enrolled() {
    shop_token=$(site_add "$2")
    agent_new "$1" "$2"
    enroll "$1" "$shop_token"
    check "enroll $2: exit" 0 "$rc"
}

# agent_must DIR ARGS...: an agent command that has to succeed (setup): the
# test stops with its error otherwise.
agent_must() {
    agent "$@"
    [ "$rc" -eq 0 ] || { echo "agent $*: exit $rc: $(cat "$ERR")" >&2; exit 1; }
}

# hq_must ARGS...: a dealernet-hq command that has to succeed (setup).
hq_must() {
    hq "$@"
    [ "$rc" -eq 0 ] || { echo "dealernet-hq $*: exit $rc: $(cat "$ERR")" >&2; exit 1; }
}

# enroll DIR TOKEN: enrolls the agent with this test's server as a script
# does, the token in a file (never in argv: ps would show it) (sets rc); not quiet, so that
# $OUT holds what enroll reports.
enroll() {
    printf '%s\n' "$2" >"$T/token"
    run 60 "$AGENT" -d "$1" enroll --server "$SYNC_EP" --server-key "$KEY" --token-file "$T/token"
}

# enroll_code DIR CODE [ARGS...]: enrolls the agent as a clerk does, the
# enrollment code on standard input, ARGS after `enroll` (--again) (sets rc).
enroll_code() {
    ec_dir=$1
    printf '%s\n' "$2" >"$T/code"
    shift 2
    RUN_STDIN=$T/code
    run 60 "$AGENT" -d "$ec_dir" enroll "$@"
    RUN_STDIN=
}

# record_sales DIR N: records N sales in the agent DIR, each one line of
# SKUk x qty at a price, and appends each sale's total in minor units (fen)
# to DIR.totals, one line per sale in seq order.  Sets SALES_SUM to the sum
# of the totals recorded by this call.  The agent runs unwrapped here:
# recording is setup for these tests (tests/cli/agent_cli.sh covers it), and
# a thousand valgrind runs would take half an hour.
record_sales() {
    SALES_SUM=0
    n=0
    k=0
    [ -f "$1.totals" ] && k=$(wc -l <"$1.totals")
    while [ "$n" -lt "$2" ]; do
        n=$((n + 1))
        i=$((k + n))
        qty=$((i % 3 + 1))
        price=$((100 + (i * 37) % 900))
        price_text=$((price / 100)).$(printf %02d $((price % 100)))
        timeout -k 5 30 $NET_CLOCK "$AGENT" -q -d "$1" sale --line "SKU$((i % 5)):$qty@$price_text" \
            </dev/null >/dev/null 2>"$ERR" || {
            echo "$NET_NAME: recording sale $i failed: $(cat "$ERR")" >&2
            exit 1
        }
        echo $((qty * price)) >>"$1.totals"
        SALES_SUM=$((SALES_SUM + qty * price))
    done
}

# totals_sum DIR [N]: the sum of the first N (default all) totals recorded.
totals_sum() {
    if [ $# -ge 2 ]; then
        head -n "$2" "$1.totals"
    else
        cat "$1.totals"
    fi | { s=0; while read -r v; do s=$((s + v)); done; echo "$s"; }
}

# tamper DIR SEQ FROM TO: replaces the bytes FROM (same length TO) in the
# stored body of event SEQ of agent DIR, leaving its stored hash alone.
tamper() {
    sqlite3 -cmd ".timeout 5000" "$1/agent.db" "UPDATE events SET body = CAST(
        substr(body, 1, instr(body, CAST('$3' AS BLOB)) - 1) || CAST('$4' AS BLOB) ||
        substr(body, instr(body, CAST('$3' AS BLOB)) + length(CAST('$3' AS BLOB)))
        AS BLOB) WHERE seq = $2 AND instr(body, CAST('$3' AS BLOB)) > 0;
        SELECT changes();"
}
