#!/bin/sh
# agent_cli.sh -- the command-line contract of dealernet-agent.
#
# Proves, against the real program in a throwaway folder:
#   - the happy path (init, catalog, sales at catalog and explicit prices,
#     members with name/referrer/household, member update, refunds by line, by
#     amount and of the rest) gives the exact totals in sales/member/status JSON
#     and a chain that 'check' accepts;
#   - init refuses to overwrite an agent, and site.key is mode 600;
#   - every bad input exits with its sysexits code (64 usage, 65 data, 66 not
#     found), says exactly one line on stderr, and leaves agent.db unchanged;
#   - every command answers --help with a usage line and exit 0;
#   - without -d the data folder is $DEALERNET_AGENT_DIR;
#   - 'check' names the seq of a tampered event body, of a broken link, and of
#     a deleted event (a gap), and exits 65.
#
# Prints one line per check ("ok" or "FAIL", the name, the value) and a
# summary; exits 0 only if every check passed.  DN_DEBUG=1 also shows the
# message of every refusal.
#
# Environment: DN_BIN (folder holding dealernet-agent, default bin), DN_WRAP
# (optional command prefix, such as valgrind, put before every agent run).
set -eu

BIN=${DN_BIN:-bin}
case $BIN in /*) ;; *) BIN=$(pwd)/$BIN ;; esac
AGENT=$BIN/dealernet-agent
WRAP=${DN_WRAP:-}

if [ ! -x "$AGENT" ]; then
    echo "agent_cli: no program $AGENT (build it first)" >&2
    exit 1
fi
for tool in python3 sqlite3; do
    if ! command -v $tool >/dev/null 2>&1; then
        echo "agent_cli: skipped, $tool is not installed"
        exit 77
    fi
done

T=$(mktemp -d "${TMPDIR:-/tmp}/dn-agent-cli.XXXXXX")
trap 'rm -rf "$T"' EXIT
trap 'exit 130' INT TERM
SHOP=$T/shop
pass=0
fail=0
rc=0

# -- helpers ---------------------------------------------------------------

# expect NAME EXPECTED ACTUAL: one check, one line.
expect() {
    if [ "$2" = "$3" ]; then
        pass=$((pass + 1))
        echo "ok   $1: $3"
    else
        fail=$((fail + 1))
        echo "FAIL $1: expected '$2', got '$3'"
    fi
}

# run ARGS...: runs the agent; sets rc, leaves stdout in $T/out, stderr in $T/err.
run() {
    set +e
    # shellcheck disable=SC2086
    $WRAP "$AGENT" "$@" >"$T/out" 2>"$T/err" </dev/null
    rc=$?
    set -e
}

# run_env DIR ARGS...: the same, with DEALERNET_AGENT_DIR=DIR.
run_env() {
    envdir=$1
    shift
    set +e
    # shellcheck disable=SC2086
    DEALERNET_AGENT_DIR=$envdir $WRAP "$AGENT" "$@" >"$T/out" 2>"$T/err" </dev/null
    rc=$?
    set -e
}

# jv FILE EXPR: evaluates the Python expression EXPR over the JSON in FILE
# (bound to d); prints strings as they are, anything else as JSON.
jv() {
    python3 -c '
import json, sys
try:
    d = json.load(open(sys.argv[1]))
    v = eval(sys.argv[2], {"len": len, "sum": sum, "sorted": sorted}, {"d": d})
    print(v if isinstance(v, str) else json.dumps(v))
except Exception as e:
    print("<%s: %s>" % (type(e).__name__, e))
' "$1" "$2"
}

lines() { wc -l <"$1" | tr -d ' '; }
bytes() { wc -c <"$1" | tr -d ' '; }
sum_of() { cksum <"$1" | tr -d ' \t'; }
# mode_of FILE: its permissions as ls shows them, e.g. -rw-------.
# shellcheck disable=SC2012
mode_of() { ls -l "$1" | cut -c1-10; }

# first_error FILE: the first line if it is "dealernet-agent: error: <text>".
first_error() { sed -n '1s/^\(dealernet-agent: error:\) ..*$/\1/p' "$1"; }

# save NAME: keeps $T/out as $T/NAME.json after a successful run.
save() { cp "$T/out" "$T/$1.json"; }

# snapshot FILE: everything the agent shows of $SHOP, for before/after.  Run
# without DN_WRAP: the listings are tested under it elsewhere, and taking four
# of them around every refusal under valgrind would take minutes.
snapshot() {
    saved_wrap=$WRAP
    WRAP=
    : >"$1"
    for c in status sales "member list" "catalog list"; do
        # shellcheck disable=SC2086
        run -d "$SHOP" $c --json
        echo "== $c: exit $rc" >>"$1"
        cat "$T/out" "$T/err" >>"$1"
    done
    WRAP=$saved_wrap
}

# refuse NAME CODE ARGS...: a bad input to $SHOP exits CODE with one error
# line on stderr, nothing on stdout, and leaves agent.db as it was.
refuse() {
    name=$1
    code=$2
    shift 2
    run -d "$SHOP" "$@"
    cp "$T/err" "$T/refused.err"
    [ -z "${DN_DEBUG:-}" ] || sed "s/^/     /" "$T/refused.err"
    expect "$name: exit code" "$code" "$rc"
    expect "$name: stderr lines" 1 "$(lines "$T/refused.err")"
    expect "$name: stderr is an error line" "dealernet-agent: error:" \
        "$(first_error "$T/refused.err")"
    expect "$name: stdout bytes" 0 "$(bytes "$T/out")"
    snapshot "$T/after"
    if cmp -s "$T/baseline" "$T/after"; then
        expect "$name: agent.db" unchanged unchanged
    else
        expect "$name: agent.db" unchanged changed
        cp "$T/after" "$T/baseline" # report each change once
    fi
}

# -- happy path ------------------------------------------------------------

echo "# happy path"
run -d "$SHOP" init --site SHOP-1 --partner DEALER-7 --currency CNY
expect "init: exit code" 0 "$rc"
expect "init: agent.db exists" yes "$([ -f "$SHOP/agent.db" ] && echo yes || echo no)"
expect "init: site.key mode" "-rw-------" "$(mode_of "$SHOP/site.key")"

# a category is a code: typed Grain, stored grain (the plan's [category:grain])
run -d "$SHOP" catalog set RICE-5KG 59.90 --category Grain
expect "catalog set: exit code" 0 "$rc"
run -d "$SHOP" catalog list --json
save catalog
expect "catalog list: entries" 1 "$(jv "$T/catalog.json" 'len(d)')"
expect "catalog list: sku" RICE-5KG "$(jv "$T/catalog.json" 'd[0]["sku"]')"
expect "catalog list: price_minor" 5990 "$(jv "$T/catalog.json" 'd[0]["price_minor"]')"
expect "catalog list: category" grain "$(jv "$T/catalog.json" 'd[0]["category"]')"
# a new price without --category keeps the SKU's category; --category - clears it
run -d "$SHOP" catalog set RICE-5KG 61.00
expect "catalog set, price only: exit code" 0 "$rc"
expect "catalog set, price only: says the kept category" \
    "catalog: RICE-5KG at 61.00 CNY in grain" "$(cat "$T/out")"
run -d "$SHOP" catalog list --json
save catalog
expect "catalog set, price only: price_minor" 6100 "$(jv "$T/catalog.json" 'd[0]["price_minor"]')"
expect "catalog set, price only: category kept" grain \
    "$(jv "$T/catalog.json" 'd[0]["category"]')"
run -d "$SHOP" catalog set RICE-5KG 60.00 --category -
expect "catalog set --category -: exit code" 0 "$rc"
expect "catalog set --category -: says so" "catalog: RICE-5KG at 60.00 CNY" "$(cat "$T/out")"
run -d "$SHOP" catalog list --json
save catalog
expect "catalog set --category -: category cleared" None \
    "$(jv "$T/catalog.json" 'str(d[0]["category"])')"
run -d "$SHOP" catalog set RICE-5KG 59.00
expect "catalog set, price only, no category: says so" "catalog: RICE-5KG at 59.00 CNY" \
    "$(cat "$T/out")"
run -d "$SHOP" catalog set RICE-5KG 59.90 --category grain
expect "catalog set back to grain: says so" "catalog: RICE-5KG at 59.90 CNY in grain" \
    "$(cat "$T/out")"

run -d "$SHOP" member add --phone "+86 138-0013-8000" --name "Li Wei" --referrer DEALER-7 \
    --household 3 --json
save m1
expect "member add 1: exit code" 0 "$rc"
expect "member add 1: seq" 1 "$(jv "$T/m1.json" 'd["seq"]')"
M1=$(jv "$T/m1.json" 'd["id"]')
run -d "$SHOP" member add --phone 13900139000 --referrer "+86 (138) 0013 8000" --json
save m2
expect "member add 2: exit code" 0 "$rc"
expect "member add 2: seq" 2 "$(jv "$T/m2.json" 'd["seq"]')"
M2=$(jv "$T/m2.json" 'd["id"]')
run -d "$SHOP" member update "+8613800138000" --name "Li Wei Jr" --household 4 --json
save mu
expect "member update: exit code" 0 "$rc"
expect "member update: seq" 3 "$(jv "$T/mu.json" 'd["seq"]')"

# Sale 1: catalog price (2 x 59.90) and an explicit price (3 x 12.50).
run -d "$SHOP" sale --line RICE-5KG:2 --line OIL-1L:3@12.50 --member "+86 138 0013 8000" --json
save s1
expect "sale 1: exit code" 0 "$rc"
expect "sale 1: seq" 4 "$(jv "$T/s1.json" 'd["seq"]')"
expect "sale 1: amount_minor" 15730 "$(jv "$T/s1.json" 'd["amount_minor"]')"
expect "sale 1: amount" 157.30 "$(jv "$T/s1.json" 'd["amount"]')"
expect "sale 1: currency" CNY "$(jv "$T/s1.json" 'd["currency"]')"
S1=$(jv "$T/s1.json" 'd["id"]')
# Sale 2: an explicit price overrides the catalog's.
run -d "$SHOP" sale --line RICE-5KG:1@55.00 --channel online --seller RESELLER-3 --json
save s2
expect "sale 2: exit code" 0 "$rc"
expect "sale 2: amount_minor" 5500 "$(jv "$T/s2.json" 'd["amount_minor"]')"
S2=$(jv "$T/s2.json" 'd["id"]')

# Refunds of sale 1: one rice by line, 10.00 by amount, then the rest.
run -d "$SHOP" refund "$S1" --line RICE-5KG:1 --json
save r1
expect "refund by line: exit code" 0 "$rc"
expect "refund by line: amount_minor" 5990 "$(jv "$T/r1.json" 'd["amount_minor"]')"
expect "refund by line: seq" 6 "$(jv "$T/r1.json" 'd["seq"]')"
run -d "$SHOP" refund "$S1" --amount 10.00 --json
save r2
expect "refund by amount: exit code" 0 "$rc"
expect "refund by amount: amount_minor" 1000 "$(jv "$T/r2.json" 'd["amount_minor"]')"
run -d "$SHOP" sales --all --json
save sales_mid
expect "after 2 refunds: refunded_minor" 6990 "$(jv "$T/sales_mid.json" 'd[0]["refunded_minor"]')"
run -d "$SHOP" refund "$S1" --json
save r3
expect "refund of the rest: exit code" 0 "$rc"
expect "refund of the rest: amount_minor" 8740 "$(jv "$T/r3.json" 'd["amount_minor"]')"
expect "refund of the rest: seq" 8 "$(jv "$T/r3.json" 'd["seq"]')"

run -d "$SHOP" sales --all --json
save sales
expect "sales: count" 2 "$(jv "$T/sales.json" 'len(d)')"
expect "sales: sale 1 id" "$S1" "$(jv "$T/sales.json" 'd[0]["id"]')"
expect "sales: sale 1 total_minor" 15730 "$(jv "$T/sales.json" 'd[0]["total_minor"]')"
expect "sales: sale 1 refunded_minor" 15730 "$(jv "$T/sales.json" 'd[0]["refunded_minor"]')"
expect "sales: sale 1 refunded" 157.30 "$(jv "$T/sales.json" 'd[0]["refunded"]')"
expect "sales: sale 1 member" "+8613800138000" "$(jv "$T/sales.json" 'd[0]["member"]')"
expect "sales: sale 1 channel" store "$(jv "$T/sales.json" 'd[0]["channel"]')"
expect "sales: sale 1 seller" DEALER-7 "$(jv "$T/sales.json" 'd[0]["seller"]')"
expect "sales: sale 1 lines" '["RICE-5KG", "OIL-1L"]' \
    "$(jv "$T/sales.json" '[l["sku"] for l in d[0]["lines"]]')"
expect "sales: sale 1 unit prices" '[5990, 1250]' \
    "$(jv "$T/sales.json" '[l["unit_price_minor"] for l in d[0]["lines"]]')"
expect "sales: sale 1 categories" '["grain", null]' \
    "$(jv "$T/sales.json" '[l["category"] for l in d[0]["lines"]]')"
expect "sales: sale 1 refunded_quantity" '[1, 0]' \
    "$(jv "$T/sales.json" '[l["refunded_quantity"] for l in d[0]["lines"]]')"
expect "sales: sale 2 id" "$S2" "$(jv "$T/sales.json" 'd[1]["id"]')"
expect "sales: sale 2 total_minor" 5500 "$(jv "$T/sales.json" 'd[1]["total_minor"]')"
expect "sales: sale 2 refunded_minor" 0 "$(jv "$T/sales.json" 'd[1]["refunded_minor"]')"
expect "sales: sale 2 unit_price_minor" 5500 \
    "$(jv "$T/sales.json" 'd[1]["lines"][0]["unit_price_minor"]')"
expect "sales: sale 2 channel" online "$(jv "$T/sales.json" 'd[1]["channel"]')"
expect "sales: sale 2 seller" RESELLER-3 "$(jv "$T/sales.json" 'd[1]["seller"]')"
expect "sales: sale 2 member" null "$(jv "$T/sales.json" 'd[1]["member"]')"

run -d "$SHOP" member list --json
save members
expect "member list: count" 2 "$(jv "$T/members.json" 'len(d)')"
expect "member list: 1 id" "$M1" "$(jv "$T/members.json" 'd[0]["id"]')"
expect "member list: 1 phone" "+8613800138000" "$(jv "$T/members.json" 'd[0]["phone"]')"
expect "member list: 1 name" "Li Wei Jr" "$(jv "$T/members.json" 'd[0]["name"]')"
expect "member list: 1 referrer" DEALER-7 "$(jv "$T/members.json" 'd[0]["referrer"]')"
expect "member list: 1 household" 4 "$(jv "$T/members.json" 'd[0]["household"]')"
expect "member list: 2 id" "$M2" "$(jv "$T/members.json" 'd[1]["id"]')"
expect "member list: 2 phone (canonical)" +8613900139000 "$(jv "$T/members.json" 'd[1]["phone"]')"
expect "member list: 2 name" null "$(jv "$T/members.json" 'd[1]["name"]')"
expect "member list: 2 referrer" "+8613800138000" "$(jv "$T/members.json" 'd[1]["referrer"]')"
expect "member list: 2 household" null "$(jv "$T/members.json" 'd[1]["household"]')"

run -d "$SHOP" status --json
save status
expect "status: site" SHOP-1 "$(jv "$T/status.json" 'd["site"]')"
expect "status: partner" DEALER-7 "$(jv "$T/status.json" 'd["partner"]')"
expect "status: currency" CNY "$(jv "$T/status.json" 'd["currency"]')"
expect "status: events" 8 "$(jv "$T/status.json" 'd["events"]')"
expect "status: pending" 8 "$(jv "$T/status.json" 'd["pending"]')"
expect "status: head_seq" 8 "$(jv "$T/status.json" 'd["head_seq"]')"
expect "status: last_sync" null "$(jv "$T/status.json" 'd["last_sync"]')"
HEAD=$(jv "$T/status.json" 'd["head_hash"]')

run -d "$SHOP" check
expect "check: exit code" 0 "$rc"
run -d "$SHOP" check --json
save check
expect "check --json: ok" true "$(jv "$T/check.json" 'd["ok"]')"
expect "check --json: events" 8 "$(jv "$T/check.json" 'd["events"]')"
expect "check --json: head_hash is the status head" "$HEAD" "$(jv "$T/check.json" 'd["head_hash"]')"

# -- init refuses to overwrite ---------------------------------------------

echo "# init refuses to overwrite"
key_sum=$(sum_of "$SHOP/site.key")
db_sum=$(sum_of "$SHOP/agent.db")
run -d "$SHOP" init --site SHOP-2 --partner DEALER-8
expect "init again: exit code" 73 "$rc"
expect "init again: stderr lines" 1 "$(lines "$T/err")"
expect "init again: stderr is an error line" "dealernet-agent: error:" "$(first_error "$T/err")"
expect "init again: site.key" "$key_sum" "$(sum_of "$SHOP/site.key")"
expect "init again: agent.db" "$db_sum" "$(sum_of "$SHOP/agent.db")"
expect "init again: site.key mode" "-rw-------" "$(mode_of "$SHOP/site.key")"
mkdir "$T/nokey"
cp "$SHOP/agent.db" "$T/nokey/"
db_sum=$(sum_of "$T/nokey/agent.db")
run -d "$T/nokey" init --site SHOP-2 --partner DEALER-8
expect "init over agent.db without key: exit code" 73 "$rc"
expect "init over agent.db without key: stderr lines" 1 "$(lines "$T/err")"
expect "init over agent.db without key: agent.db" "$db_sum" "$(sum_of "$T/nokey/agent.db")"
expect "init over agent.db without key: site.key created" no \
    "$([ -e "$T/nokey/site.key" ] && echo yes || echo no)"

# -- bad inputs ------------------------------------------------------------

echo "# bad inputs change nothing"
snapshot "$T/baseline"
NO_SALE=01a20f8c-0000-7000-8000-000000000000

refuse "unknown SKU without price" 66 sale --line NOPE-1:1
refuse "quantity 0" 65 sale --line RICE-5KG:0
refuse "negative quantity" 65 sale --line RICE-5KG:-1
refuse "non-numeric quantity" 65 sale --line RICE-5KG:two
refuse "fractional quantity" 65 sale --line RICE-5KG:1.5
refuse "quantity over 1000000" 65 sale --line RICE-5KG:1000001
refuse "line without quantity" 65 sale --line RICE-5KG
refuse "price 1.234 for CNY" 65 sale --line OIL-1L:1@1.234
refuse "price abc" 65 sale --line OIL-1L:1@abc
refuse "price 1e3" 65 sale --line OIL-1L:1@1e3
refuse "price -1" 65 sale --line OIL-1L:1@-1
refuse "price empty" 65 sale --line OIL-1L:1@
refuse "SKU given twice" 65 sale --line RICE-5KG:1 --line RICE-5KG:2
refuse "bad channel" 65 sale --line RICE-5KG:1 --channel mail
refuse "bad seller code" 65 sale --line RICE-5KG:1 --seller 7-ELEVEN
refuse "sale with malformed member phone" 65 sale --line RICE-5KG:1 --member abc
refuse "sale without --line" 64 sale --channel store
refuse "sale with stray argument" 64 sale --line RICE-5KG:1 extra

refuse "refund of unknown sale id" 66 refund "$NO_SALE"
refuse "refund of malformed sale id" 64 refund 1234-not-a-uuid
refuse "refund without sale id" 64 refund --amount 1.00
refuse "over-refund by line" 65 refund "$S2" --line RICE-5KG:2
refuse "refund of SKU not on the sale" 66 refund "$S2" --line OIL-1L:1
refuse "refund line with a price" 65 refund "$S2" --line RICE-5KG:1@1.00
refuse "over-refund by amount" 65 refund "$S2" --amount 55.01
refuse "refund amount 1.234" 65 refund "$S2" --amount 1.234
refuse "refund amount -1" 65 refund "$S2" --amount -1
refuse "refund amount 0" 65 refund "$S2" --amount 0
refuse "refund by line and amount" 65 refund "$S2" --line RICE-5KG:1 --amount 1.00
refuse "refund of a fully refunded sale" 65 refund "$S1"
refuse "refund by amount of a fully refunded sale" 65 refund "$S1" --amount 0.01

refuse "duplicate phone" 65 member add --phone "+86-138-0013-8000"
expect "duplicate phone: message names the existing member" "$M1" \
    "$(sed -n 's/.* as member \([0-9a-f-]*\).*/\1/p' "$T/refused.err")"
refuse "malformed phone" 65 member add --phone 12ab34567
refuse "too short phone" 65 member add --phone 1234
refuse "self-referral" 65 member add --phone 15000150000 --referrer 150-0015-0000
refuse "malformed referrer" 65 member add --phone 15000150000 --referrer 9x
refuse "household 101" 65 member add --phone 15000150000 --household 101
refuse "household -1" 65 member add --phone 15000150000 --household -1
refuse "household abc" 65 member add --phone 15000150000 --household abc
refuse "member add without --phone" 64 member add --name Nobody
refuse "member update of unknown phone" 66 member update 15000150000 --name Nobody
refuse "member update changing nothing" 65 member update +8613800138000
refuse "member update household 101" 65 member update +8613800138000 --household 101
refuse "member update of referrer" 65 member update +8613800138000 --referrer DEALER-7

refuse "catalog price abc" 65 catalog set RICE-5KG abc
refuse "catalog price -1 (an option)" 64 catalog set RICE-5KG -1
refuse "catalog price -1 after --" 65 catalog set RICE-5KG -- -1
refuse "catalog price 1.234" 65 catalog set RICE-5KG 1.234
refuse "catalog bad SKU (the one refusal of a bad code)" 65 catalog set "RICE 5KG" 1.00
refuse "catalog set without price" 64 catalog set RICE-5KG
refuse "catalog bad category (the one refusal of a bad code)" 65 catalog set RICE-5KG 1.00 --category 9x

refuse "unknown command" 64 frobnicate
refuse "unknown two-word command" 64 member frob
refuse "unknown option" 64 sale --line RICE-5KG:1 --bogus
refuse "unknown top-level option" 64 -x status
refuse "option missing its value" 64 sale --line
refuse "init without --partner" 64 init --site SHOP-9
refuse "init with unknown currency" 64 init --site SHOP-9 --partner P --currency XXX
refuse "listing with stray argument" 64 status extra

run -d "$T/none" status --json
expect "no agent here: exit code" 66 "$rc"
expect "no agent here: stderr lines" 1 "$(lines "$T/err")"
expect "no agent here: stderr is an error line" "dealernet-agent: error:" "$(first_error "$T/err")"
expect "no agent here: nothing created" no "$([ -e "$T/none/agent.db" ] && echo yes || echo no)"
run
expect "no command: exit code" 64 "$rc"
expect "no command: stderr lines" 1 "$(lines "$T/err")"

# -- --help ----------------------------------------------------------------

echo "# --help"
# The commands as the top-level --help lists them ("  NAME USAGE"; NAME is the
# leading lowercase words), so a new command is covered without editing this.
run --help
awk '/^commands:/ { on = 1; next }
     on && /^$/ { exit }
     on && /^  [a-z]/ {
         name = ""
         for (i = 1; i <= NF && $i ~ /^[a-z]+$/; i++) name = name (name == "" ? "" : " ") $i
         print name
     }' "$T/out" >"$T/commands"
missing=$(for c in init sale refund "member add" "member update" "member list" \
    "catalog set" "catalog list" sales status check; do
    grep -qx "$c" "$T/commands" || printf '%s; ' "$c"
done)
expect "--help lists the known commands" "none missing" "${missing:-none missing}"
{
    echo
    cat "$T/commands"
} >"$T/help_commands"
while read -r c; do
    # shellcheck disable=SC2086
    run -d "$T/none" $c --help
    expect "${c:-dealernet-agent} --help: exit code" 0 "$rc"
    expect "${c:-dealernet-agent} --help: first word" "usage:" "$(sed -n '1s/ .*//p' "$T/out")"
    expect "${c:-dealernet-agent} --help: stderr bytes" 0 "$(bytes "$T/err")"
done <"$T/help_commands"
run -h
expect "-h: exit code" 0 "$rc"
expect "-h: first word" "usage:" "$(sed -n '1s/ .*//p' "$T/out")"
run --version
expect "--version: exit code" 0 "$rc"
expect "--version: first word" "dealernet-agent" "$(sed -n '1s/ .*//p' "$T/out")"

# -- default data folder ---------------------------------------------------

echo "# -d defaults to \$DEALERNET_AGENT_DIR"
run_env "$T/envdir" init --site ENV-1 --partner DEALER-9
expect "init without -d: exit code" 0 "$rc"
expect "init without -d: agent.db in \$DEALERNET_AGENT_DIR" yes \
    "$([ -f "$T/envdir/agent.db" ] && echo yes || echo no)"
expect "init without -d: site.key mode" "-rw-------" "$(mode_of "$T/envdir/site.key")"
run_env "$T/envdir" status --json
save envstatus
expect "status without -d: site" ENV-1 "$(jv "$T/envstatus.json" 'd["site"]')"
run_env "$T/envdir" -d "$SHOP" status --json
save envstatus2
expect "-d wins over \$DEALERNET_AGENT_DIR: site" SHOP-1 "$(jv "$T/envstatus2.json" 'd["site"]')"

# -- tampering -------------------------------------------------------------

echo "# check detects tampering"
# copy_shop DIR: a copy of the shop to tamper with.
copy_shop() {
    mkdir "$1"
    cp "$SHOP"/agent.db* "$SHOP/site.key" "$1/"
}
# diff_bytes HEX1 HEX2: how many bytes differ (-1 if the lengths differ).
diff_bytes() {
    python3 -c 'import sys
a, b = bytes.fromhex(sys.argv[1]), bytes.fromhex(sys.argv[2])
print(sum(x != y for x, y in zip(a, b)) if len(a) == len(b) else -1)' "$1" "$2"
}
# bad_seq: the seq named by 'check' on stderr.
bad_seq() { sed -n 's/^dealernet-agent: error: chain broken at seq \([0-9]*\): .*/\1/p' "$T/err"; }

# One byte of seq 2's body flipped, stored hash left alone.
copy_shop "$T/flip"
body=$(sqlite3 "$T/flip/agent.db" "SELECT hex(body) FROM events WHERE seq = 2")
n=${#body}
last=$(printf '%s' "$body" | cut -c"$((n - 1))-$n")
head_hex=$(printf '%s' "$body" | cut -c1-$((n - 2)))
flipped=$head_hex$(printf '%02X' $((0x$last ^ 1)))
sqlite3 "$T/flip/agent.db" "UPDATE events SET body = X'$flipped' WHERE seq = 2"
expect "flip: bytes of seq 2 changed" 1 \
    "$(diff_bytes "$body" "$(sqlite3 "$T/flip/agent.db" "SELECT hex(body) FROM events WHERE seq = 2")")"
run -d "$T/flip" check
expect "flip: check exit code" 65 "$rc"
expect "flip: stderr lines" 1 "$(lines "$T/err")"
expect "flip: check names seq" 2 "$(bad_seq)"
run -d "$T/flip" check --json
save flipcheck
expect "flip: check --json ok" false "$(jv "$T/flipcheck.json" 'd["ok"]')"
expect "flip: check --json bad_seq" 2 "$(jv "$T/flipcheck.json" 'd["bad_seq"]')"

# The name "Li Wei" in seq 1 becomes "Li Wej" and its stored hash is rewritten
# to match: seq 1 is self-consistent, so the chain breaks at seq 2.
copy_shop "$T/relink"
body=$(sqlite3 "$T/relink/agent.db" "SELECT hex(body) FROM events WHERE seq = 1")
edited=$(printf '%s' "$body" | sed 's/4C6920576569/4C692057656A/')
expect "relink: bytes of seq 1 edited" 1 "$(diff_bytes "$body" "$edited")"
hash=$(python3 -c 'import hashlib, sys; print(hashlib.sha256(bytes.fromhex(sys.argv[1])).hexdigest())' "$edited")
sqlite3 "$T/relink/agent.db" "UPDATE events SET body = X'$edited', hash = X'$hash' WHERE seq = 1"
run -d "$T/relink" check
expect "relink: check exit code" 65 "$rc"
expect "relink: stderr lines" 1 "$(lines "$T/err")"
expect "relink: check names seq" 2 "$(bad_seq)"

# Event seq 3 deleted: a gap.
copy_shop "$T/gap"
sqlite3 "$T/gap/agent.db" "DELETE FROM events WHERE seq = 3"
expect "gap: events left" 7 "$(sqlite3 "$T/gap/agent.db" "SELECT count(*) FROM events")"
run -d "$T/gap" check
expect "gap: check exit code" 65 "$rc"
expect "gap: stderr lines" 1 "$(lines "$T/err")"
expect "gap: check names seq" 3 "$(bad_seq)"
run -d "$T/gap" check --json
save gapcheck
expect "gap: check --json bad_seq" 3 "$(jv "$T/gapcheck.json" 'd["bad_seq"]')"

run -d "$SHOP" check
expect "original still checks: exit code" 0 "$rc"

echo "agent_cli: $((pass + fail)) checks, $pass passed, $fail failed"
[ "$fail" -eq 0 ]
