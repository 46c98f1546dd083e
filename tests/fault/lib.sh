# lib.sh -- shared helpers of the fault tests (tests/fault/*.sh).
#
# Sourced, never run on its own.  Builds on tests/lib/net.sh (throwaway
# folder, a server on free loopback ports, bounded runs, the EXIT trap that
# stops the server and removes the folder) and adds:
#   - the seed: DN_SEED, or a random one, printed first; every choice of a
#     test (which command, which agent, how long before the kill) comes from
#     it through fault_rand, so DN_SEED=N replays the same choices (the
#     timing of the machine still decides where exactly a kill lands);
#   - a network with a ledger: partners HQ -> REGION-N -> DEALER-1 ->
#     RESELLER-1 and DEALER-2 (recruited by DEALER-1), the plan of
#     deploy/plan.ini (its effective date moved back, so that today's sales
#     earn whatever the clock says), three sites SHOP-1 (DEALER-1), SHOP-2
#     (DEALER-2) and GROUP-1 (RESELLER-1), enrolled;
#   - random recording commands (sales with a unique SKU, some with a rice
#     line, a member or another channel; member sign-ups with referrers;
#     partial and full refunds), optionally SIGKILLed after a delay, each
#     logged in the agent's client log for tests/fault/dn_check;
#   - background processes (killed agents, proxies) tracked and killed by
#     the EXIT trap on every path;
#   - fault_check: the final verdict through dn_check.
#
# Environment (besides net.sh's DN_BIN, DN_WRAP, DN_KEEP):
#   DN_SEED   the seed (a whole number)
#   DN_FAULT  folder holding dn_check and dn_chaos (default: the build folder
#             matching DN_BIN, e.g. bin-x -> build-x/tests/fault)

# shellcheck disable=SC2034 # A, WAIT_RC, FSRV_STATUS ... are read by the tests
. "$(dirname "$0")/../lib/net.sh"

# fault_init NAME: net_init, the seed, the tools, the traps.
fault_init() {
    FAULT_NAME=$1
    net_init "fault-$FAULT_NAME"
    if [ -z "${DN_FAULT:-}" ]; then
        fault_bin_base=$(basename "$BIN")
        DN_FAULT=$(dirname "$BIN")/build${fault_bin_base#bin}/tests/fault
    fi
    CHECK=$DN_FAULT/dn_check
    CHAOS=$DN_FAULT/dn_chaos
    for prog in "$CHECK" "$CHAOS"; do
        if [ ! -x "$prog" ]; then
            echo "fault $FAULT_NAME: no program $prog (run make build-tests; DN_FAULT names" \
                "its folder)" >&2
            exit 1
        fi
    done
    SEED=${DN_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' \n')}
    case $SEED in
    '' | *[!0-9]*)
        echo "fault $FAULT_NAME: DN_SEED must be a whole number, not '$SEED'" >&2
        exit 1
        ;;
    esac
    echo "fault $FAULT_NAME: seed $SEED (DN_SEED=$SEED replays these choices)"
    FAULT_RNG=$((SEED % 2147483647))
    FAULT_PIDS=""
    FAULT_START=$(date +%s)
    trap fault_cleanup EXIT
}

# The EXIT trap: every background process this test started, then net.sh's
# cleanup (the server, the folder), keeping the exit status.
fault_cleanup() {
    fault_status=$?
    set +e
    for fcl_pid in $FAULT_PIDS; do
        kill -KILL "$fcl_pid" 2>/dev/null
    done
    for fcl_pid in $FAULT_PIDS; do
        wait "$fcl_pid" 2>/dev/null
    done
    if [ "$fault_status" -ne 0 ]; then
        echo "fault $FAULT_NAME: FAILED; DN_SEED=$SEED replays these choices" >&2
    fi
    (exit "$fault_status")
    net_cleanup
}

# fault_track PID / fault_untrack PID: processes the trap must kill.
fault_track() {
    FAULT_PIDS="$FAULT_PIDS $1"
}
fault_untrack() {
    fault_left=""
    for ft_pid in $FAULT_PIDS; do
        [ "$ft_pid" = "$1" ] || fault_left="$fault_left $ft_pid"
    done
    FAULT_PIDS=$fault_left
}

# fault_rand N: sets R to a number in 0..N-1 from the seeded generator (a
# 31-bit LCG: plenty for choosing).
fault_rand() {
    FAULT_RNG=$(((FAULT_RNG * 1103515245 + 12345) % 2147483648))
    R=$(((FAULT_RNG / 256) % $1))
}

# fault_ms MS: "0.0MS" for sleep.
fault_ms() {
    printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000))
}

# fault_wrap_rc RC: under a wrapper (valgrind's --error-exitcode=99), a
# process that exited 99 had memory errors or leaks: a failed check.
fault_wrap_rc() {
    if [ -n "$WRAP" ] && [ "$1" -eq 99 ]; then
        check "a process under $(echo "$WRAP" | cut -d' ' -f1): no errors" 0 "$1"
    fi
}

# fault_wait_pid PID SECONDS: waits for a background process, SIGKILLing it
# after the bound (SECONDS times net.sh's SLOW); sets WAIT_RC.
fault_wait_pid() {
    fw_n=0
    while kill -0 "$1" 2>/dev/null && [ "$fw_n" -lt $(($2 * 50 * SLOW)) ]; do
        # a finished child stays a zombie (kill -0 succeeds) until waited
        # for: ps tells a zombie apart
        case $(ps -o stat= -p "$1" 2>/dev/null) in Z*) break ;; esac
        sleep 0.02
        fw_n=$((fw_n + 1))
    done
    kill -KILL "$1" 2>/dev/null || true
    if wait "$1" 2>/dev/null; then WAIT_RC=0; else WAIT_RC=$?; fi
    fault_untrack "$1"
    fault_wrap_rc "$WAIT_RC"
}

# -- the network ---------------------------------------------------------------

# fault_network: partners, the plan, three sites and their agents (A1..A3 in
# AGENTS), enrolled with the running server; a catalog with a rice SKU.
fault_network() {
    for fn_p in "HQ --name Head-office --kind hq" \
        "REGION-N --name North --kind region --parent HQ" \
        "DEALER-1 --name Dealer-one --kind dealer --parent REGION-N" \
        "DEALER-2 --name Dealer-two --kind dealer --parent REGION-N --recruiter DEALER-1" \
        "RESELLER-1 --name Group-leader --kind reseller --parent DEALER-1"; do
        # shellcheck disable=SC2086
        hq partner add $fn_p
        [ "$rc" -eq 0 ] || { echo "partner add $fn_p failed: $(cat "$ERR")" >&2; exit 1; }
    done
    # The documented plan, effective long ago: commissions whatever the date.
    sed 's/^effective = .*/effective = 2000-01-01/' "$(dirname "$0")/../../deploy/plan.ini" \
        >"$T/plan.ini"
    hq plan set "$T/plan.ini"
    [ "$rc" -eq 0 ] || { echo "plan set failed: $(cat "$ERR")" >&2; exit 1; }
    AGENTS=""
    fn_n=0
    for fn_s in SHOP-1:DEALER-1 SHOP-2:DEALER-2 GROUP-1:RESELLER-1; do
        fn_n=$((fn_n + 1))
        fn_site=${fn_s%%:*}
        fn_partner=${fn_s#*:}
        hq site add "$fn_site" --partner "$fn_partner" --json
        [ "$rc" -eq 0 ] || { echo "site add failed: $(cat "$ERR")" >&2; exit 1; }
        cp "$OUT" "$T/site-$fn_site.json"
        fn_token=$(json "$T/site-$fn_site.json" '$.token')
        fn_dir=$T/a$fn_n
        agent "$fn_dir" init --site "$fn_site" --partner "$fn_partner" --currency CNY
        [ "$rc" -eq 0 ] || { echo "agent init failed: $(cat "$ERR")" >&2; exit 1; }
        agent "$fn_dir" catalog set RICE-5KG 59.90 --category rice
        agent "$fn_dir" catalog set OIL-1L 18.50
        enroll "$fn_dir" "$fn_token"
        [ "$rc" -eq 0 ] || { echo "enroll failed: $(cat "$ERR")" >&2; exit 1; }
        : >"$fn_dir.log"      # the client log
        : >"$fn_dir.members"  # confirmed members' phones
        : >"$fn_dir.sales"    # confirmed sales not yet refunded: "ID TOTAL_MINOR"
        echo 0 >"$fn_dir.n"   # attempts so far
        AGENTS="$AGENTS $fn_dir"
    done
}

# fault_agent K: sets A to the K-th agent folder (1-based).
fault_agent() {
    A=$(echo $AGENTS | cut -d' ' -f "$1")
}

# -- recording ------------------------------------------------------------------

# fault_pick_cmd DIR: chooses the next recording command for agent DIR from
# the seed: sets CMD (the arguments after -d DIR) and TAG (what dn_check
# finds it by).
fault_pick_cmd() {
    fp_d=$1
    fp_i=$(($(cat "$fp_d.n") + 1))
    echo "$fp_i" >"$fp_d.n"
    fp_idx=${fp_d##*/a}
    fault_rand 10
    fp_members=$(wc -l <"$fp_d.members")
    fp_sales=$(wc -l <"$fp_d.sales")
    if [ "$R" -eq 0 ]; then
        fp_phone=139$(printf '%02d%06d' "$fp_idx" "$fp_i")
        CMD="member add --phone $fp_phone --name M$fp_i"
        fault_rand 4
        if [ "$R" -le 1 ] && [ "$fp_members" -gt 0 ]; then
            fault_rand "$fp_members"
            CMD="$CMD --referrer $(sed -n "$((R + 1))p" "$fp_d.members")"
        elif [ "$R" -eq 2 ]; then
            CMD="$CMD --referrer RESELLER-1"
        fi
        # the tag names the phone as the agent stores it: canonical, with
        # the site's default country (+86, from its CNY)
        TAG="member phone=+86$fp_phone"
        return
    fi
    if [ "$R" -eq 1 ] && [ "$fp_sales" -gt 0 ]; then
        fault_rand "$fp_sales"
        fp_line=$(sed -n "$((R + 1))p" "$fp_d.sales")
        fp_sale=${fp_line%% *}
        fp_total=${fp_line#* }
        # one refund per sale, so that dn_check can find it by its sale
        grep -v "^$fp_sale " "$fp_d.sales" >"$fp_d.sales.tmp" || true
        mv "$fp_d.sales.tmp" "$fp_d.sales"
        fault_rand 2
        if [ "$R" -eq 0 ] && [ "$fp_total" -gt 1 ]; then
            fault_rand $((fp_total - 1))
            fp_amount=$((R + 1))
            CMD="refund $fp_sale --amount $((fp_amount / 100)).$(printf %02d $((fp_amount % 100)))"
        else
            CMD="refund $fp_sale"
        fi
        TAG="refund sale=$fp_sale"
        return
    fi
    fault_rand 5
    fp_qty=$((R + 1))
    fault_rand 9900
    fp_price=$((R + 100))
    fp_sku=K$fp_idx-$fp_i
    CMD="sale --line $fp_sku:$fp_qty@$((fp_price / 100)).$(printf %02d $((fp_price % 100)))"
    TOTAL=$((fp_qty * fp_price))
    fault_rand 10
    if [ "$R" -le 2 ]; then
        CMD="$CMD --line RICE-5KG:1"
        TOTAL=$((TOTAL + 5990))
    elif [ "$R" -eq 3 ]; then
        CMD="$CMD --line OIL-1L:2"
        TOTAL=$((TOTAL + 3700))
    fi
    fault_rand 10
    if [ "$R" -le 3 ] && [ "$fp_members" -gt 0 ]; then
        fault_rand "$fp_members"
        CMD="$CMD --member $(sed -n "$((R + 1))p" "$fp_d.members")"
    fi
    fault_rand 3
    case $R in
    1) CMD="$CMD --channel online" ;;
    2) CMD="$CMD --channel community" ;;
    esac
    TAG="sale sku=$fp_sku"
}

# fault_record DIR [KILL_MS]: one recording command in agent DIR, chosen by
# fault_pick_cmd; with KILL_MS, SIGKILLed after that many ms (if still
# running).  Appends to DIR.log: "ID TAG" (exit 0), "unknown TAG" (killed)
# or "failed TAG" (any other exit: counted in RECORD_FAILED, with its error
# printed).  Sets REC_RC, and without KILL_MS REC_MS (how long it took).
RECORD_FAILED=0
fault_record() {
    fr_d=$1
    fault_pick_cmd "$fr_d"
    if [ $# -ge 2 ]; then
        # shellcheck disable=SC2086
        $WRAP "$AGENT" -d "$fr_d" $CMD >"$T/rec.out" 2>"$T/rec.err" </dev/null &
        fr_pid=$!
        fault_track $fr_pid
        sleep "$(fault_ms "$2")"
        kill -KILL "$fr_pid" 2>/dev/null || true
        # SIGKILL cannot be caught: this wait ends as soon as the kernel
        # has taken the process down
        if wait "$fr_pid" 2>/dev/null; then REC_RC=0; else REC_RC=$?; fi
        fault_untrack $fr_pid
    else
        fr_t0=$(fault_now_ms)
        set +e
        # shellcheck disable=SC2086
        timeout -k 5 $((30 * SLOW)) $WRAP "$AGENT" -d "$fr_d" $CMD >"$T/rec.out" \
            2>"$T/rec.err" </dev/null
        REC_RC=$?
        set -e
        REC_MS=$(($(fault_now_ms) - fr_t0))
    fi
    case $REC_RC in
    0)
        fr_id=$(awk 'NR == 1 { print $2 }' "$T/rec.out")
        echo "$fr_id $TAG" >>"$fr_d.log"
        case $TAG in
        member*) echo "${TAG#member phone=}" >>"$fr_d.members" ;;
        sale*) echo "$fr_id $TOTAL" >>"$fr_d.sales" ;;
        esac
        ;;
    137) echo "unknown $TAG" >>"$fr_d.log" ;;
    *)
        echo "failed $TAG rc=$REC_RC" >>"$fr_d.log"
        RECORD_FAILED=$((RECORD_FAILED + 1))
        echo "fault $FAULT_NAME: '$CMD' in $fr_d exited $REC_RC: $(head -n 1 "$T/rec.err")" >&2
        ;;
    esac
}

# -- a server to kill ----------------------------------------------------------------

# fault_server_up [NAME=VALUE ...]: starts the server (with those
# environment variables) on this test's ports, without net.sh's wrappers:
# FSRV is the server's own pid, so SIGKILL reaches the server itself.
# Waits (bounded) until it serves.  The EXIT trap kills it.
fault_server_up() {
    fsu_before=$(grep -c 'info: serving:' "$SRV_LOG" 2>/dev/null || true)
    # shellcheck disable=SC2086
    env "$@" $WRAP "$SERVER" -d "$SRV" run --sync "$SYNC_EP" --admin "$ADMIN_EP" \
        2>>"$SRV_LOG" </dev/null &
    FSRV=$!
    fault_track $FSRV
    fsu_n=0
    while [ "$fsu_n" -lt $((1000 * SLOW)) ]; do
        fsu_now=$(grep -c 'info: serving:' "$SRV_LOG" 2>/dev/null || true)
        [ "${fsu_now:-0}" -gt "${fsu_before:-0}" ] && return 0
        case $(ps -o stat= -p "$FSRV" 2>/dev/null) in '' | Z*) break ;; esac
        sleep 0.01
        fsu_n=$((fsu_n + 1))
    done
    echo "fault $FAULT_NAME: the server did not start; its log:" >&2
    tail -n 5 "$SRV_LOG" >&2
    exit 1
}

# fault_server_down: SIGKILLs the server of fault_server_up (if it still
# runs) and reaps it; FSRV_STATUS is its exit status (137: killed here, 3:
# its test hook).
fault_server_down() {
    kill -KILL "$FSRV" 2>/dev/null || true
    if wait "$FSRV" 2>/dev/null; then FSRV_STATUS=0; else FSRV_STATUS=$?; fi
    fault_untrack "$FSRV"
}

# fault_acks_lost DIR...: prints how many of these agents the server holds
# events of that the agent has not marked acknowledged (a commit whose ack
# was lost).  One read-only sqlite3 run: no checkpoint, nothing written.
fault_acks_lost() {
    fal_sql=""
    fal_sum="0"
    fal_k=0
    for fal_d in "$@"; do
        fal_k=$((fal_k + 1))
        fal_sql="$fal_sql ATTACH 'file:$fal_d/agent.db?mode=ro' AS a$fal_k;"
        fal_sum="$fal_sum + ((SELECT applied_seq FROM main.sites WHERE code =
            (SELECT value FROM a$fal_k.meta WHERE key = 'site')) >
            (SELECT coalesce(max(seq), 0) FROM a$fal_k.events WHERE synced = 1))"
    done
    sqlite3 -readonly -cmd ".timeout 5000" "file:$SRV/central.db?mode=ro" \
        "$fal_sql SELECT $fal_sum;"
}

# fault_now_ms: milliseconds (for calibrating kill delays).
fault_now_ms() {
    echo $(($(date +%s%N) / 1000000))
}

# fault_calibrate DIR: three times, records one confirmed sale in agent
# DIR and syncs it with the running server; sets CAL_RECORD_MS and
# CAL_SYNC_MS to the fastest of each (the first runs of a cold machine are
# slow), so that random kill delays can span a whole command on this
# machine, however slow (a sanitizer build, a loaded runner).
fault_calibrate() {
    CAL_RECORD_MS=999999
    CAL_SYNC_MS=999999
    fca_over=999999
    for fca_k in 1 2 3; do
        fca0=$(fault_now_ms)
        timeout -k 5 30 true
        fca1=$(fault_now_ms)
        if [ $((fca1 - fca0)) -lt "$fca_over" ]; then fca_over=$((fca1 - fca0)); fi
        fault_record "$1"
        fca1=$(fault_now_ms)
        agent "$1" sync --timeout 30
        fca2=$(fault_now_ms)
        if [ "$REC_MS" -lt "$CAL_RECORD_MS" ]; then CAL_RECORD_MS=$REC_MS; fi
        if [ $((fca2 - fca1)) -lt "$CAL_SYNC_MS" ]; then CAL_SYNC_MS=$((fca2 - fca1)); fi
    done
    # less what measuring costs (two date runs and timeout's own start)
    CAL_RECORD_MS=$((CAL_RECORD_MS > fca_over ? CAL_RECORD_MS - fca_over : 1))
    CAL_SYNC_MS=$((CAL_SYNC_MS > fca_over ? CAL_SYNC_MS - fca_over : 1))
}

# -- the verdict -------------------------------------------------------------------

# fault_drain: one bounded sync per agent against the running server, a few
# tries each; every agent must end with 0 pending.  Then `dealernet-hq
# verify` must pass.
fault_drain() {
    for fd_d in $AGENTS; do
        fd_tries=0
        while :; do
            fd_tries=$((fd_tries + 1))
            agent "$fd_d" sync --timeout 30
            [ "$rc" -eq 0 ] && break
            if [ "$fd_tries" -ge 3 ]; then
                echo "fault $FAULT_NAME: the final sync of $fd_d failed ($rc): $(cat "$ERR")" >&2
                break
            fi
        done
        check "final sync of $(basename "$fd_d")" 0 "$rc"
        check "agent check of $(basename "$fd_d")" 0 "$(agent "$fd_d" check >/dev/null; echo "$rc")"
    done
    hq verify
    check "dealernet-hq verify" 0 "$rc"
    [ "$rc" -eq 0 ] || head -n 5 "$OUT" "$ERR" >&2
}

# fault_check LABEL: runs dn_check on the stopped server's central.db and
# every agent with its client log; prints its lines and
#   fault NAME: seed S, LABEL, check: confirmed N, lost N, ...
# and records the verdict with check().
fault_check() {
    set -- "$1"
    fc_args=""
    for fc_d in $AGENTS; do
        fc_args="$fc_args --agent $fc_d --log $fc_d.log"
    done
    set +e
    # shellcheck disable=SC2086
    timeout -k 5 $((120 * SLOW)) $WRAP "$CHECK" --central "$SRV/central.db" $fc_args >"$T/check.out" 2>"$T/check.err"
    fc_rc=$?
    set -e
    sed -n '/^check: confirmed/!p' "$T/check.out"
    head -n 40 "$T/check.err"
    fc_figure=$(sed -n 's/^check: confirmed/confirmed/p' "$T/check.out")
    fc_secs=$(($(date +%s) - FAULT_START))
    echo "fault $FAULT_NAME: seed $SEED, $1, check: $fc_figure (${fc_secs}s)"
    check "dn_check verdict" 0 "$fc_rc"
    check "recording commands that failed without being killed" 0 "$RECORD_FAILED"
}
