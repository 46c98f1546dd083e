#!/bin/sh
# crash_agent.sh -- nothing acknowledged is ever lost (DESIGN.md, rule 2).
#
# Starts 'dealernet-agent sale --json' 200 times, each with its own SKU and
# quantity, and SIGKILLs it after a random 0-20 ms: some die before, some
# during, some after their transaction.  Afterwards every sale that exited 0
# (was acknowledged) must be in 'sales --all --json' exactly once with its own SKU
# and total, 'check' must accept the hash chain, and 'status --json' must
# count one event per listed sale.  Prints
#     crash: N kills, N acknowledged, N lost
# and fails unless lost is 0.
#
# Environment: DN_BIN (folder holding dealernet-agent, default bin), DN_SEED
# (seed of the delays, to replay a run; printed at the start), DN_WRAP (a
# command prefix such as valgrind: timing under it means nothing, so the test
# is skipped), DN_KILLS (number of kills, default 200).
set -eu

if [ -n "${DN_WRAP:-}" ]; then
    echo "crash: skipped under DN_WRAP (timing under a wrapper means nothing)"
    exit 77
fi

BIN=${DN_BIN:-bin}
case $BIN in /*) ;; *) BIN=$(pwd)/$BIN ;; esac
AGENT=$BIN/dealernet-agent
KILLS=${DN_KILLS:-200}

if [ ! -x "$AGENT" ]; then
    echo "crash: no program $AGENT (build it first)" >&2
    exit 1
fi
if ! command -v python3 >/dev/null 2>&1; then
    echo "crash: skipped, python3 is not installed"
    exit 77
fi

SEED=${DN_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' \n')}
case $SEED in
'' | *[!0-9]*)
    echo "crash: DN_SEED must be a whole number, not '$SEED'" >&2
    exit 1
    ;;
esac
echo "crash: seed $SEED (DN_SEED=$SEED replays these delays)"

T=$(mktemp -d "${TMPDIR:-/tmp}/dn-crash.XXXXXX")
trap 'rm -rf "$T"' EXIT
trap 'exit 130' INT TERM
D=$T/shop

"$AGENT" -q -d "$D" init --site CRASH-1 --partner DEALER-1 --currency CNY >/dev/null

# One delay per kill, in ms, 0..20, from the seed.
awk -v seed="$SEED" -v n="$KILLS" \
    'BEGIN { srand(seed); for (i = 1; i <= n; i++) print int(rand() * 21) }' >"$T/delays"

i=0
acked=0
failed=0
: >"$T/acked"
while read -r ms; do
    i=$((i + 1))
    qty=$((i % 9 + 1))
    "$AGENT" -d "$D" sale --line "CRASH-$i:$qty@1.00" --json >"$T/out.$i" 2>"$T/err.$i" </dev/null &
    pid=$!
    sleep "$(printf '0.%03d' "$ms")"
    kill -KILL "$pid" 2>/dev/null || true
    if { wait "$pid"; } 2>/dev/null; then
        rc=0
    else
        rc=$?
    fi
    if [ "$rc" -eq 0 ]; then
        acked=$((acked + 1))
        echo "$i $qty" >>"$T/acked"
    elif [ "$rc" -ne 137 ]; then
        # Neither acknowledged nor killed: the agent refused or failed.
        failed=$((failed + 1))
        echo "crash: kill $i (after ${ms} ms) exited $rc: $(head -n 1 "$T/err.$i")"
    fi
done <"$T/delays"

"$AGENT" -d "$D" sales --all --json >"$T/sales.json"
"$AGENT" -d "$D" status --json >"$T/status.json"
set +e
"$AGENT" -d "$D" check >"$T/check.out" 2>"$T/check.err"
check_rc=$?
set -e

# Every acknowledged sale: its printed id is listed exactly once, with the SKU,
# quantity and total it was recorded with.  Prints "lost duplicated wrong
# listed events".
python3 - "$T" >"$T/verdict" <<'EOF'
import json, sys
t = sys.argv[1]
sales = json.load(open(t + "/sales.json"))
status = json.load(open(t + "/status.json"))
by_id = {}
for s in sales:
    by_id.setdefault(s["id"], []).append(s)
lost = duplicated = wrong = 0
for row in open(t + "/acked"):
    i, qty = (int(x) for x in row.split())
    ack = json.load(open("%s/out.%d" % (t, i)))
    found = by_id.get(ack["id"], [])
    if not found:
        lost += 1
        print("lost: sale %d, id %s" % (i, ack["id"]), file=sys.stderr)
        continue
    if len(found) > 1:
        duplicated += 1
    s = found[0]
    line = s["lines"][0] if len(s["lines"]) == 1 else {}
    if (ack["amount_minor"] != qty * 100 or s["total_minor"] != qty * 100
            or line.get("sku") != "CRASH-%d" % i or line.get("quantity") != qty
            or s["seq"] != ack["seq"]):
        wrong += 1
        print("wrong: sale %d listed as %s" % (i, json.dumps(s)), file=sys.stderr)
print(lost, duplicated, wrong, len(sales), status["events"])
EOF
read -r lost duplicated wrong listed events <"$T/verdict"

status=0
report() { # NAME EXPECTED ACTUAL
    if [ "$2" = "$3" ]; then
        echo "ok   $1: $3"
    else
        echo "FAIL $1: expected '$2', got '$3'"
        status=1
    fi
}
report "acknowledged sales listed more than once" 0 "$duplicated"
report "acknowledged sales listed with other lines or total" 0 "$wrong"
report "runs that neither succeeded nor were killed" 0 "$failed"
report "check exit code" 0 "$check_rc"
if [ "$check_rc" -ne 0 ]; then
    echo "crash: check said: $(head -n 1 "$T/check.err")"
fi
report "status events = sales listed" "$listed" "$events"
if [ "$listed" -lt "$acked" ]; then
    report "sales listed >= acknowledged" ">= $acked" "$listed"
fi
echo "crash: $KILLS kills, $acked acknowledged, $lost lost"
if [ "$lost" -ne 0 ]; then
    status=1
fi
exit $status
