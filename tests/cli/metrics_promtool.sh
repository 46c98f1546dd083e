#!/bin/sh
# metrics_promtool.sh -- the /metrics text passes `promtool check metrics`.
#
# A real server and two real agents on loopback: SHOP1 (D1) records and
# syncs 3 sales, SHOP2 (D2) 2 sales and is then revoked, SHOP3 is added and
# never syncs.  dn_metrics_dump (tests/tools) opens the server's central.db
# read-only, as a web thread does, and prints dn_metrics_render's text from
# one read transaction -- the text /metrics serves, with this process's
# counters (0) beside the database's gauges: every family and label the
# server's own has.  promtool (Debian's prometheus package) must take it
# without a word: exit 0 and nothing printed.
#
# Self-check: the same promtool run must refuse the text with one bad line
# added -- a counter without the _total suffix (a lint complaint, exit 3)
# and a label value with an unescaped double quote (a parse error, exit 1)
# -- or a pass here would prove nothing.
#
# The gauges are also checked against the database: sites by state
# (active 1, silent 0, never 1, revoked 1), pending 0 (both shops synced
# all), transfers = count(*) of the ledger (the render reads max(id)).
# The same check on the live text: curl reads /metrics from the running
# server on the web address (its counters moved: 5 events applied), and
# promtool takes it without a word; one admin query and one admin write
# then move dealernet_admin_requests_total by exactly 1 each.
# README's Metrics table names exactly the families the text has, and
# deploy/prometheus (the scrape config and alert rules README shows, line
# for line) passes `promtool check config`.
set -eu
. "$(dirname "$0")/../lib/net.sh"
net_init metrics_promtool
net_need promtool
DUMP=$DN_TOOLS/dn_metrics_dump
if [ ! -x "$DUMP" ]; then
    echo "metrics_promtool: no program $DUMP (run make build-tests)" >&2
    exit 1
fi

# promtool_check NAME FILE: runs `promtool check metrics` on FILE; sets
# PROM_RC and leaves what it said in $T/promtool.out.
promtool_check() {
    set +e
    timeout -k 5 60 promtool check metrics <"$2" >"$T/promtool.out" 2>&1
    PROM_RC=$?
    set -e
}

# check_line NAME LINE FILE: FILE has LINE, whole.
check_line() {
    if grep -qFx -- "$2" "$3"; then
        check "$1" "$2" "$2"
    else
        check "$1" "$2" "$(grep -F -- "${2%% *}" "$3" | head -n 1)"
    fi
}

server_init
server_start
two_shops HQ
record_sales "$A" 3
agent_must "$A" sync
record_sales "$B" 2
agent_must "$B" sync
hq_must site revoke SHOP2
hq_must site add SHOP3 --partner D1

run 30 "$DUMP" "$SRV/central.db"
check "dump: exit" 0 "$rc"
check "dump: nothing on stderr" 0 "$(wc -c <"$ERR" | tr -d ' ')"
cp "$OUT" "$T/metrics.txt"

promtool_check "the server's text" "$T/metrics.txt"
check "promtool: exit" 0 "$PROM_RC"
check "promtool: says nothing" "" "$(cat "$T/promtool.out")"

version=$("$SERVER" --version | cut -d' ' -f2)
check_line "build info: the server's version" "dealernet_build_info{version=\"$version\"} 1" \
    "$T/metrics.txt"
check_line "sites active" 'dealernet_sites{state="active"} 1' "$T/metrics.txt"
check_line "sites silent" 'dealernet_sites{state="silent"} 0' "$T/metrics.txt"
check_line "sites never" 'dealernet_sites{state="never"} 1' "$T/metrics.txt"
check_line "sites revoked" 'dealernet_sites{state="revoked"} 1' "$T/metrics.txt"
check_line "pending" 'dealernet_pending_events 0' "$T/metrics.txt"
check_line "open exceptions" 'dealernet_exceptions_open 0' "$T/metrics.txt"
transfers=$(sq "SELECT count(*) FROM transfers")
check "transfers posted" 1 "$([ "$transfers" -gt 0 ] && echo 1 || echo 0)"
check_line "transfers" "dealernet_ledger_transfers $transfers" "$T/metrics.txt"
check_line "histogram's last bucket" 'dealernet_batch_apply_seconds_bucket{le="+Inf"} 0' \
    "$T/metrics.txt"
check_line "refused by code" 'dealernet_sync_refused_total{reason="REFUSE_SERVER_FULL"} 0' \
    "$T/metrics.txt"

# -- the live /metrics: what curl reads from the running server ------------------

# The same text, served over HTTP by the server that did the work, so its
# counters moved: SHOP1's 3 sales and SHOP2's 2 are 5 events applied, in
# at least 2 batches (two syncs), and every acked batch's group is in the
# histogram.
set +e
curl -s -o "$T/live.txt" -w '%{http_code}' --max-time $((20 * SLOW)) \
    "http://127.0.0.1:$WEB_PORT/metrics" >"$T/live.code"
set -e
check "curl /metrics: status" 200 "$(cat "$T/live.code")"
promtool_check "the live text" "$T/live.txt"
check "curl /metrics | promtool check metrics: exit" 0 "$PROM_RC"
check "curl /metrics | promtool check metrics: says nothing" "" "$(cat "$T/promtool.out")"
check_line "live: events applied" "dealernet_sync_events_total 5" "$T/live.txt"
batches=$(sed -n 's/^dealernet_sync_batches_total //p' "$T/live.txt")
groups=$(sed -n 's/^dealernet_batch_apply_seconds_count //p' "$T/live.txt")
check "live: at least one batch a sync" 1 "$([ "${batches:-0}" -ge 2 ] && echo 1 || echo 0)"
check "live: groups timed, at least 2, at most the batches" 1 \
    "$([ "${groups:-0}" -ge 2 ] && [ "${groups:-0}" -le "${batches:-0}" ] && echo 1 || echo 0)"
check_line "live: transfers, as the dump read them" "dealernet_ledger_transfers $transfers" \
    "$T/live.txt"

# Admin requests are counted once each, where dn_admin knows the command:
# one query (site list, on a query thread) and one write (site threshold,
# on the loop) move their counters by exactly 1 each.
admin_count() { sed -n "s/^dealernet_admin_requests_total{kind=\"$1\"} //p" "$2"; }
q0=$(admin_count query "$T/live.txt")
w0=$(admin_count write "$T/live.txt")
hq_must site list
hq_must site threshold SHOP1 900.00
set +e
curl -s -o "$T/live2.txt" --max-time $((20 * SLOW)) "http://127.0.0.1:$WEB_PORT/metrics"
set -e
check "live: one query counted once" $((q0 + 1)) "$(admin_count query "$T/live2.txt")"
check "live: one write counted once" $((w0 + 1)) "$(admin_count write "$T/live2.txt")"

# -- the self-check: promtool must refuse a bad line ---------------------------

{
    cat "$T/metrics.txt"
    printf '# HELP dealernet_bad A counter without its suffix.\n'
    printf '# TYPE dealernet_bad counter\n'
    printf 'dealernet_bad 1\n'
} >"$T/lint.txt"
promtool_check "a counter without _total" "$T/lint.txt"
check "self-check, counter without _total: promtool exit" 3 "$PROM_RC"
check_has "self-check, counter without _total: named" \
    'dealernet_bad counter metrics should have "_total" suffix' "$T/promtool.out"

sed 's/^dealernet_sites{state="never"}/dealernet_sites{state="ne"ver"}/' \
    "$T/metrics.txt" >"$T/parse.txt"
check "self-check: the bad line is in" 1 "$(grep -c 'state="ne"ver"' "$T/parse.txt")"
promtool_check "an unescaped quote" "$T/parse.txt"
check "self-check, unescaped quote: promtool exit" 1 "$PROM_RC"
check_has "self-check, unescaped quote: a parse error" "text format parsing error" \
    "$T/promtool.out"

# -- the README's table and deploy/prometheus ------------------------------------

# every family the text has is in README's table, and nothing else is there
grep '^# TYPE ' "$T/metrics.txt" | cut -d' ' -f3 | sort >"$T/families"
sed -n '/^### Metrics$/,/^## /p' README.md | sed -n 's/^| `\(dealernet_[a-z_]*\)` |.*/\1/p' |
    sort >"$T/readme-families"
check "README's Metrics table: the families the server writes" "$(tr '\n' ' ' <"$T/families")" \
    "$(tr '\n' ' ' <"$T/readme-families")"

set +e
timeout -k 5 60 promtool check config deploy/prometheus/prometheus.yml >"$T/config.out" 2>&1
config_rc=$?
set -e
check "promtool check config deploy/prometheus/prometheus.yml (and its rules): exit" 0 \
    "$config_rc"
for f in deploy/prometheus/prometheus.yml deploy/prometheus/dealernet-alerts.yml; do
    missing=0
    while IFS= read -r line; do
        grep -qFx -- "$line" README.md || missing=$((missing + 1))
    done <"$f"
    check "README shows $f line for line: lines missing" 0 "$missing"
done

net_finish
