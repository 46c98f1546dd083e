#!/bin/sh
# agent_reminders.sh -- the command-line contract of 'dealernet-agent reminders'.
#
# Proves, against the real program in a throwaway folder, with today fixed
# by DEALERNET_AGENT_TODAY=2026-03-10 and each sale's time set in agent.db
# with sqlite3 (the agent stamps "now"):
#   - --json gives exactly the fields phone, name, sku, last_purchase,
#     usual_quantity, interval_days, due_date, days_until_due, basis, with
#     the figures worked out below, sorted most overdue first;
#   - --days moves the window: the entry due in exactly N days is in, N + 1
#     is out; a fully refunded sale does not count;
#   - the table has its header and a summary line;
#   - bad --days, a stray argument, an unknown option and a bad
#     DEALERNET_AGENT_TODAY exit 64, a missing agent 66, each with one line
#     on stderr and nothing on stdout; reminders write nothing.
#
# The scenario (today 2026-03-10):
#   A +8613800138000 "Li Wei", household 3; B 13900139000 (stored +8613900139000)
#   "Wang Fang", household 1
#   A RICE-5KG (rice) 01-06 x2, 01-20 x2, 02-03 x1, 03-03 x2: gaps 14, 14, 28,
#       median 14; quantities 1 2 2 2, median 2; due 03-03 + 14 = 03-17 (+7)
#   A OIL-1L (oil) 02-20 x1: 1 * 30 / 3 = 10 days; due 03-02 (-8), household
#   B RICE-5KG 02-16 x1: 1 * 30 / 1 = 30 days; due 03-18 (+8), household
#   B TEA-500 (tea) 02-01, 02-21, 03-01 (refunded in full): gap 20;
#       due 02-21 + 20 = 03-13 (+3), history
#
# Prints one line per check and a summary; exits 0 only if every check
# passed.  Environment: DN_BIN (folder holding dealernet-agent, default
# bin), DN_WRAP (optional command prefix, such as valgrind).
set -eu

BIN=${DN_BIN:-bin}
case $BIN in /*) ;; *) BIN=$(pwd)/$BIN ;; esac
AGENT=$BIN/dealernet-agent
WRAP=${DN_WRAP:-}

if [ ! -x "$AGENT" ]; then
    echo "agent_reminders: no program $AGENT (build it first)" >&2
    exit 1
fi
for tool in python3 sqlite3; do
    if ! command -v $tool >/dev/null 2>&1; then
        echo "agent_reminders: skipped, $tool is not installed"
        exit 77
    fi
done

T=$(mktemp -d "${TMPDIR:-/tmp}/dn-agent-reminders.XXXXXX")
trap 'rm -rf "$T"' EXIT
trap 'exit 130' INT TERM
SHOP=$T/shop
pass=0
fail=0
rc=0

expect() {
    if [ "$2" = "$3" ]; then
        pass=$((pass + 1))
        echo "ok   $1: $3"
    else
        fail=$((fail + 1))
        echo "FAIL $1: expected '$2', got '$3'"
    fi
}

# run ARGS...: runs the agent with today fixed; rc, $T/out, $T/err.
run() {
    set +e
    # shellcheck disable=SC2086
    DEALERNET_AGENT_TODAY=${TODAY-2026-03-10} $WRAP "$AGENT" "$@" >"$T/out" 2>"$T/err" </dev/null
    rc=$?
    set -e
}

jv() {
    python3 -c '
import json, sys
try:
    d = json.load(open(sys.argv[1]))
    v = eval(sys.argv[2], {"len": len, "sorted": sorted, "set": set, "all": all, "d": d})
    print(v if isinstance(v, str) else json.dumps(v))
except Exception as e:
    print("<%s: %s>" % (type(e).__name__, e))
' "$1" "$2"
}

lines() { wc -l <"$1" | tr -d ' '; }
bytes() { wc -c <"$1" | tr -d ' '; }
first_error() { sed -n '1s/^\(dealernet-agent: error:\) ..*$/\1/p' "$1"; }

# sale_at "YYYY-MM-DD HH:MM" ARGS...: records a sale, then dates it.  Sets SALE.
sale_at() {
    when=$1
    shift
    run -d "$SHOP" sale --json "$@"
    if [ "$rc" -ne 0 ]; then
        echo "agent_reminders: sale $* failed: $(cat "$T/err")" >&2
        exit 1
    fi
    SALE=$(jv "$T/out" 'd["id"]')
    seq=$(jv "$T/out" 'd["seq"]')
    sqlite3 "$SHOP/agent.db" "UPDATE sales SET recorded_at_ms =
        CAST(strftime('%s', '$when') AS INTEGER) * 1000 WHERE seq = $seq"
}

echo "# scenario"
run -d "$SHOP" init --site SHOP-1 --partner DEALER-7
expect "init: exit code" 0 "$rc"
run -d "$SHOP" reminders --json
expect "no purchases yet: exit code" 0 "$rc"
expect "no purchases yet: list" "[]" "$(jv "$T/out" 'd')"
run -d "$SHOP" catalog set RICE-5KG 59.90 --category rice
run -d "$SHOP" catalog set OIL-1L 18.50 --category oil
run -d "$SHOP" catalog set TEA-500 45.50 --category tea
run -d "$SHOP" member add --phone "+86 138-0013-8000" --name "Li Wei" --household 3
expect "member A: exit code" 0 "$rc"
run -d "$SHOP" member add --phone 13900139000 --name "Wang Fang" --household 1
expect "member B: exit code" 0 "$rc"

A=+8613800138000
B=13900139000
sale_at "2026-03-03 17:00" --line RICE-5KG:2 --member $A
sale_at "2026-01-06 09:00" --line RICE-5KG:2 --member $A
sale_at "2026-01-20 10:00" --line RICE-5KG:2 --member $A
sale_at "2026-02-03 11:00" --line RICE-5KG:1 --member $A
sale_at "2026-02-20 12:00" --line OIL-1L:1 --member $A
sale_at "2026-02-16 14:00" --line RICE-5KG:1 --member $B
sale_at "2026-02-01 15:00" --line TEA-500:1 --member $B
sale_at "2026-02-21 16:00" --line TEA-500:1 --member $B
sale_at "2026-03-01 08:00" --line TEA-500:1 --member $B
run -d "$SHOP" refund "$SALE"
expect "refund of the 03-01 tea: exit code" 0 "$rc"
sale_at "2026-02-01 12:00" --line RICE-5KG:5 # no member: nobody's purchase

run -d "$SHOP" status --json
cp "$T/out" "$T/status_before.json"

echo "# --json, default 7 days"
run -d "$SHOP" reminders --json
cp "$T/out" "$T/week.json"
expect "reminders --json: exit code" 0 "$rc"
expect "reminders --json: stderr bytes" 0 "$(bytes "$T/err")"
expect "reminders --json: entries" 3 "$(jv "$T/week.json" 'len(d)')"
expect "reminders --json: fields" \
    '["basis", "days_until_due", "due_date", "interval_days", "last_purchase", "name", "phone", "sku", "usual_quantity"]' \
    "$(jv "$T/week.json" 'sorted(set(k for e in d for k in e)) if all(len(e) == 9 for e in d) else "not 9 each"')"
row() {
    jv "$T/week.json" "[d[$1][k] for k in ('phone', 'name', 'sku', 'last_purchase',
        'usual_quantity', 'interval_days', 'due_date', 'days_until_due', 'basis')]"
}
expect "entry 0 (most overdue)" \
    '["+8613800138000", "Li Wei", "OIL-1L", "2026-02-20", 1, 10, "2026-03-02", -8, "household"]' \
    "$(row 0)"
expect "entry 1 (refunded tea left out)" \
    '["+8613900139000", "Wang Fang", "TEA-500", "2026-02-21", 1, 20, "2026-03-13", 3, "history"]' \
    "$(row 1)"
expect "entry 2 (due in exactly 7 days)" \
    '["+8613800138000", "Li Wei", "RICE-5KG", "2026-03-03", 2, 14, "2026-03-17", 7, "history"]' \
    "$(row 2)"

echo "# --days moves the window"
run -d "$SHOP" reminders --days 8 --json
expect "--days 8: exit code" 0 "$rc"
expect "--days 8: entries" 4 "$(jv "$T/out" 'len(d)')"
expect "--days 8: last entry" '["+8613900139000", "RICE-5KG", "2026-03-18", 8, 30, "household"]' \
    "$(jv "$T/out" '[d[3][k] for k in ("phone", "sku", "due_date", "days_until_due", "interval_days", "basis")]')"
run -d "$SHOP" reminders --days 6 --json
expect "--days 6: SKUs" '["OIL-1L", "TEA-500"]' "$(jv "$T/out" '[e["sku"] for e in d]')"
run -d "$SHOP" reminders --days 0 --json
expect "--days 0: overdue only" '[-8]' "$(jv "$T/out" '[e["days_until_due"] for e in d]')"
TODAY=2026-03-18
run -d "$SHOP" reminders --days 0 --json
unset TODAY
expect "today 03-18, --days 0: days until due" '[-16, -5, -1, 0]' \
    "$(jv "$T/out" '[e["days_until_due"] for e in d]')"

echo "# table"
run -d "$SHOP" reminders
expect "table: exit code" 0 "$rc"
expect "table: lines" 5 "$(lines "$T/out")"
expect "table: header" "PHONE NAME SKU LAST PURCHASE QTY INTERVAL DUE IN DAYS BASIS" \
    "$(sed -n '1p' "$T/out" | tr -s ' ')"
expect "table: first row" "+8613800138000 Li Wei OIL-1L 2026-02-20 1 10 2026-03-02 -8 household" \
    "$(sed -n '2p' "$T/out" | tr -s ' ')"
expect "table: summary" "3 to call: due by 2026-03-17 or overdue (today 2026-03-10 UTC)" \
    "$(sed -n '$p' "$T/out")"

echo "# refusals"
# refuse NAME CODE ARGS...
refuse() {
    name=$1
    code=$2
    shift 2
    run "$@"
    expect "$name: exit code" "$code" "$rc"
    expect "$name: stderr lines" 1 "$(lines "$T/err")"
    expect "$name: stderr is an error line" "dealernet-agent: error:" "$(first_error "$T/err")"
    expect "$name: stdout bytes" 0 "$(bytes "$T/out")"
}
refuse "--days abc" 64 -d "$SHOP" reminders --days abc
refuse "--days -1" 64 -d "$SHOP" reminders --days -1
refuse "--days 1.5" 64 -d "$SHOP" reminders --days 1.5
refuse "--days 3651" 64 -d "$SHOP" reminders --days 3651
refuse "--days without a value" 64 -d "$SHOP" reminders --days
refuse "stray argument" 64 -d "$SHOP" reminders soon
refuse "unknown option" 64 -d "$SHOP" reminders --weeks 1
TODAY=2026-02-30
refuse "DEALERNET_AGENT_TODAY 2026-02-30" 64 -d "$SHOP" reminders
TODAY=tomorrow
refuse "DEALERNET_AGENT_TODAY tomorrow" 64 -d "$SHOP" reminders
unset TODAY
refuse "no agent here" 66 -d "$T/none" reminders
expect "no agent here: nothing created" no "$([ -e "$T/none/agent.db" ] && echo yes || echo no)"
run -d "$SHOP" reminders --days 3650 --json
expect "--days 3650: exit code" 0 "$rc"
expect "--days 3650: entries" 4 "$(jv "$T/out" 'len(d)')"

run -d "$SHOP" reminders --help
expect "--help: exit code" 0 "$rc"
expect "--help: usage line" "usage: dealernet-agent [-d DIR] reminders [--days N] [--json]" \
    "$(sed -n '1p' "$T/out")"
expect "--help: names the testing knob" 1 "$(grep -c 'DEALERNET_AGENT_TODAY=YYYY-MM-DD' "$T/out")"

run -d "$SHOP" status --json
expect "reminders wrote nothing: status" "$(cksum <"$T/status_before.json")" "$(cksum <"$T/out")"

echo "agent_reminders: $((pass + fail)) checks, $pass passed, $fail failed"
[ "$fail" -eq 0 ]
