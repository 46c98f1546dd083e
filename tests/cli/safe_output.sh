#!/bin/sh
# safe_output.sh -- issue 11's "safe output", against a real server and agent.
#
#   security: csv formula cells: 0 live
#       Partners, members, an adjustment's reason and a payout's reference
#       carry the spreadsheet attacks =HYPERLINK("http://x","y"),
#       +cmd|' /C calc'!A0, -2+3 and @SUM(A1); names beginning with TAB are
#       tried too (refused at the door: a control character).  Then every
#       listing and report that has --csv is exported (each --by of sales,
#       referrals and a member's tree, statements, exceptions with --all, a
#       payout run whose bank details are attacks)
#       and read back with python3's csv module: no field may begin with
#       = + - @ TAB or CR unless it is a plain decimal number
#       (-?[0-9]+(.[0-9]+)?).  Controls: each attack is found in some export,
#       neutralised ("'" before it), a negative amount (-1.00) is still a
#       plain unquoted number, and a member's phone reads '+8613900000001.
#   security: bidi controls: attempts N, accepted 0
#       Each end of every range dn_valid refuses (U+200B..U+200F,
#       U+202A..U+202E, U+2060..U+2064, U+2066..U+206F, U+FEFF, U+061C,
#       U+00AD, U+180E, U+FFF9..U+FFFB, U+E0000..U+E007F) in: a member's
#       name at the till (sign-up and update), a SKU and a category at the
#       till, a partner's name and code and an adjustment's reason through
#       dealernet-hq (refused: accepted is measured on the row counts of
#       central.db and agent.db, not on exit codes; each refusal must also
#       be one line naming the character, U+XXXX); and member names in
#       events an agent that skipped the till's checks signs and sends
#       (dn_attack bidi: "security: bidi controls: events: ..." is its
#       share): a signed, chained event is stored, never refused (rule 8),
#       so there accepted is the character reaching any text column of
#       central.db as it is; each event must be acked, stored, flagged
#       hidden_characters (HQ acks each) and its name shown as <U+XXXX>.
set -eu
. "$(dirname "$0")/../lib/net.sh"
net_init safe_output
# The statements, the member's statement and the KPIs are read for the month
# the sales and corrections were posted in: the clock is pinned so that it is
# 2026-09 (on the real clock a run across a month's end read another month).
net_pin_clock '2026-09-15 10:00:00'
ATTACK=$DN_TOOLS/dn_attack
[ -x "$ATTACK" ] || { echo "safe_output: no program $ATTACK (make build-tests)" >&2; exit 1; }
if ! command -v python3 >/dev/null 2>&1; then
    echo "safe_output: skipped, python3 is not installed"
    exit 77
fi
# the issue's conditions: the server under the default open-file limit
ulimit -n 1024 2>/dev/null || true

server_init
server_start
network_init
hq plan set "$(dirname "$0")/../../deploy/plan.ini"
[ "$rc" -eq 0 ] || { echo "plan set failed: $(cat "$ERR")" >&2; exit 1; }

must_hq() { # must_hq ARGS...: a dealernet-hq command that has to succeed (setup)
    hq "$@"
    [ "$rc" -eq 0 ] || { echo "hq $*: exit $rc: $(cat "$ERR")" >&2; exit 1; }
}
must() { # must DIR ARGS...: an agent command that has to succeed (setup)
    must_dir=$1
    shift
    agent "$must_dir" "$@"
    [ "$rc" -eq 0 ] || { echo "agent $*: exit $rc: $(cat "$ERR")" >&2; exit 1; }
}

# -- csv formula cells --------------------------------------------------------

F1='=HYPERLINK("http://x","y")'
F2="+cmd|' /C calc'!A0"
F3='-2+3'
F4='@SUM(A1)'
TAB=$(printf '\t')

must_hq partner add P1 --name "$F1" --kind reseller --parent D1
must_hq partner add P2 --name "$F2" --kind reseller --parent D1
must_hq partner add P3 --name "$F3" --kind reseller --parent D1
must_hq partner add P4 --name "$F4" --kind reseller --parent D1
hq partner add P5 --name "${TAB}=1+1" --kind reseller --parent D1
check "a partner name beginning with TAB: refused (exit)" 64 "$rc"
check_one_error "a partner name beginning with TAB" \
    "partner name is not UTF-8 text without control characters"

TOKEN=$(site_add SHOP1)
A=$T/a
agent_new "$A" SHOP1
enroll "$A" "$TOKEN"
check "enroll SHOP1: exit" 0 "$rc"
must "$A" catalog set RICE 10.00 --category rice
# M1 referred by partner P1, M2 by M1, M3 by M2, M4 by M3, M5 by M4: each
# formula name is a referrer in the referral report and the tree
must "$A" member add --phone 13900000001 --name "$F1" --referrer P1
must "$A" member add --phone 13900000002 --name "$F2" --referrer 13900000001
must "$A" member add --phone 13900000003 --name "$F3" --referrer 13900000002
must "$A" member add --phone 13900000004 --name "$F4" --referrer 13900000003
must "$A" member add --phone 13900000005 --name "Zhang Wei" --referrer 13900000004
agent "$A" member add --phone 13900000006 --name "${TAB}@SUM(A1)"
check "a member name beginning with TAB: refused (exit)" 65 "$rc"
check_one_error "a member name beginning with TAB" "name is not UTF-8 text without control characters"
must "$A" sale --line RICE:2 --member 13900000002
must "$A" sale --line RICE:1 --member 13900000005 --seller P3
must "$A" sync
# a second site signs up M3's phone again, under an attack name: a conflict
# (member conflicts, exceptions); its agent is the hostile one of the bidi
# part below
TOKEN_X=$(site_add SHOPX)
X=$T/x
agent_new "$X" SHOPX
enroll "$X" "$TOKEN_X"
check "enroll SHOPX: exit" 0 "$rc"
must "$X" member add --phone 13900000003 --name "$F1"
must "$X" sale --line TEA:1@5.00
must "$X" sync
# a negative adjustment (-1.00) whose reason is an attack too; a payout
# whose reference is one
must_hq adjust D1 -1.00 --reason "$F4"
must_hq payout D1 0.10 --ref "$F3"
must_hq exception resolve 1 --ack --reason "$F2"
# HQ's catalogue: a product named as an attack
must_hq catalog set FORMULA-1 1.00 --name "$F2" --effective 2026-01-01

# export NAME ARGS...: dealernet-hq ARGS --csv into $T/csv/NAME.csv (exit 0)
mkdir "$T/csv"
export_csv() {
    name=$1
    shift
    hq "$@" --csv
    check "$* --csv: exit" 0 "$rc"
    cp "$OUT" "$T/csv/$name.csv"
}
PERIOD=2026-09
export_csv partners partner list
export_csv tree partner tree
export_csv sites site list
export_csv conflicts member conflicts
export_csv member_statement member statement 13900000001 --period "$PERIOD"
export_csv plans plan list
# a later version (after every sale stored): cap 1500 -> 2000
sed 's/^effective = .*/effective = 2099-01-01/; s/^cap_bps = .*/cap_bps = 2000/' \
    "$(dirname "$0")/../../deploy/plan.ini" >"$T/later.ini"
export_csv plan_check plan check "$T/later.ini"
export_csv periods period list
export_csv statement statement D1 --period "$PERIOD"
export_csv statement_p1 statement P1 --period "$PERIOD"
export_csv exceptions exceptions --all
export_csv corrections corrections
for by in partner site channel day month category; do
    export_csv "sales_$by" sales --by "$by"
done
export_csv team sales --partner D1 --team
export_csv kpi kpi --period "$PERIOD"
export_csv referrals referrals
export_csv referral_tree referrals --member 13900000001
export_csv sites_report sites
export_csv refusals refusals
export_csv catalog catalog list
export_csv member_find member find 139
export_csv compliance compliance --period "$PERIOD"
export_csv earnings earnings --period "$PERIOD"
export_csv sales_list sales list
# the hostile shop's sale (its receipt 1) drilled down: its transfers
export_csv sale sale --site SHOPX --receipt 1
printf 'ledger-of-the-accountant\n' >"$T/pw"
RUN_STDIN=$T/pw
must_hq web user add desk --password-stdin
unset RUN_STDIN
export_csv web_users web user list
# a notice that a spreadsheet would take for a formula
hq notice send --all '=HYPERLINK("http://x.invalid","stock")'
check "notice send (a formula-like text): exit" 0 "$rc"
export_csv notices notice list
# a payout run of September paying D1 to bank details that are attacks: the
# clock moves on to October (a run pays a closed month); the shops go on
server_stop
net_pin_clock '2026-10-02 10:00:00'
server_start
must_hq period close "$PERIOD"
must_hq partner bank D1 --account 6222020011223344556 --name "$F2" --bank "$F4"
export_csv payout_run payout run --period "$PERIOD" --min 0.01
export_csv payout_show payout show 1
export_csv payout_approve payout approve 1
export_csv payout_runs payout runs
# every command whose usage offers --csv was exported above
OFFERED=$("$HQ" --help | grep -c -- '^  [a-z].*--json|--csv' || true)
check "every command with --csv is exported (help lists 28)" 28 "$OFFERED"

SCAN=$(python3 - "$F1" "$F2" "$F3" "$F4" "$T"/csv/*.csv <<'EOF'
import csv, re, sys
plain = re.compile(r'-?[0-9]+(\.[0-9]+)?\Z')
attacks = sys.argv[1:5]
live = neutral = fields = 0
cells = set()
for path in sys.argv[5:]:
    with open(path, newline='', encoding='utf-8') as f:
        for row in csv.reader(f, strict=True):
            for cell in row:
                fields += 1
                cells.add(cell)
                if cell[:1] in ('=', '+', '-', '@', '\t', '\r') and not plain.match(cell):
                    live += 1
                    print('live: %s %r' % (path, cell), file=sys.stderr)
                if cell[:1] == "'" and cell[1:2] in ('=', '+', '-', '@', '\t', '\r'):
                    neutral += 1
found = sum(1 for a in attacks if "'" + a in cells)
print(live, neutral, fields, found, len(sys.argv) - 5)
EOF
)
set -- $SCAN
echo "csv: $5 exports, $3 fields, $2 neutralised, $1 live"
check "csv: no live formula cell" 0 "$1"
check "csv: each of the four attacks exported, neutralised with a '" 4 "$4"
check "csv: a partner's name" "P1,'=HYPERLINK(\"http://x\",\"y\")" \
    "$(python3 -c 'import csv,sys; print("\n".join(r[0]+","+r[1] for r in csv.reader(open(sys.argv[1], newline=""))))' \
        "$T/csv/partners.csv" | grep '^P1,')"
check "csv: a member's phone is text, '+86..." "'+8613900000001" \
    "$(python3 -c 'import csv,sys; r=list(csv.DictReader(open(sys.argv[1], newline=""))); print(r[0]["phone"])' \
        "$T/csv/referral_tree.csv")"
check "csv: the negative adjustment is a plain number, unquoted" 1 \
    "$(grep -c ',-1\.00,' "$T/csv/statement.csv" || true)"
check "csv: its reason is neutralised" 1 "$(grep -cF "\"'$F4\"" "$T/csv/statement.csv" || true)"
if [ "$1" -eq 0 ] && [ "$4" -eq 4 ]; then
    echo "security: csv formula cells: 0 live"
else
    echo "security: csv formula cells: $1 live"
fi

# -- bidi controls ----------------------------------------------------------------

# each end of every range, as "HEX CHARACTER" lines
CHARS=$(PYTHONIOENCODING=utf-8 python3 -c '
for cp in (0x200B, 0x200F, 0x202A, 0x202E, 0x2060, 0x2064, 0x2066, 0x206F, 0xFEFF,
           0x061C, 0x00AD, 0x180E, 0xFFF9, 0xFFFB, 0xE0000, 0xE007F):
    print("%04X %s" % (cp, chr(cp)))')
central_rows() {
    sq "SELECT (SELECT count(*) FROM partners), (SELECT count(*) FROM corrections),
               (SELECT count(*) FROM members), (SELECT count(*) FROM events)"
}
agent_rows() {
    sqlite3 -cmd ".timeout 5000" "$A/agent.db" "SELECT (SELECT count(*) FROM members),
        (SELECT count(*) FROM events), (SELECT count(*) FROM catalog)"
}
ATTEMPTS=0
BEFORE_C=$(central_rows)
BEFORE_A=$(agent_rows)
WRONG=0
# refused WHAT HEX: the last run exited non-zero with one line naming U+HEX
refused() {
    ATTEMPTS=$((ATTEMPTS + 1))
    if [ "$rc" -eq 0 ] || [ "$(wc -l <"$ERR" | tr -d ' ')" -ne 1 ] ||
        ! grep -qF "U+$2 (" "$ERR"; then
        WRONG=$((WRONG + 1))
        echo "bidi: $1 U+$2: exit $rc: $(cat "$ERR")"
    fi
}
# refused_code WHAT: a code holding the character: exit 64 or 65, one line
refused_code() {
    ATTEMPTS=$((ATTEMPTS + 1))
    if [ "$rc" -ne 64 ] && [ "$rc" -ne 65 ]; then
        WRONG=$((WRONG + 1))
        echo "bidi: $1: exit $rc: $(cat "$ERR")"
    fi
}
n=0
while read -r hex c; do
    n=$((n + 1))
    agent "$A" member add --phone "1370000$(printf %04d "$n")" --name "Li${c}Wei"
    refused "agent member add --name" "$hex"
    agent "$A" member update --phone 13900000005 --name "Zhang${c}"
    refused "agent member update --name" "$hex"
    agent "$A" catalog set "SKU${c}X" 1.00
    refused_code "agent catalog set SKU U+$hex"
    agent "$A" catalog set SKU9 1.00 --category "rice${c}"
    refused_code "agent catalog set --category U+$hex"
    hq partner add "B$n" --name "Li${c}Wei" --kind reseller --parent D1
    refused "hq partner add --name" "$hex"
    hq partner add "B${c}$n" --name "Li Wei" --kind reseller --parent D1
    refused_code "hq partner add CODE U+$hex"
    hq adjust D1 1.00 --reason "ok${c}"
    refused "hq adjust --reason" "$hex"
done <<EOF
$CHARS
EOF
check "bidi: every refusal exits non-zero with one line naming U+XXXX" 0 "$WRONG"
ACCEPTED=0
[ "$(central_rows)" = "$BEFORE_C" ] || ACCEPTED=$((ACCEPTED + 1))
[ "$(agent_rows)" = "$BEFORE_A" ] || ACCEPTED=$((ACCEPTED + 1))
check "bidi: central.db rows unchanged (partners, corrections, members, events)" \
    "$BEFORE_C" "$(central_rows)"
check "bidi: agent.db rows unchanged (members, events, catalog)" "$BEFORE_A" "$(agent_rows)"
agent "$A" member add --phone 13900000001 --name "Wang${TAB}"
check "bidi: the reason, exact (agent)" \
    "dealernet-agent: error: name is not UTF-8 text without control characters" "$(cat "$ERR")"
agent "$A" member add --phone 13700009999 --name "$(printf 'Wang\342\200\256gnaF')"
check "bidi: the reason, exact (agent: U+202E)" \
    "dealernet-agent: error: name holds U+202E (right-to-left override) at character 5: invisible characters that can hide or reorder text are refused" \
    "$(cat "$ERR")"
check "bidi: exit 65" 65 "$rc"
hq partner add B99 --name "$(printf 'Li\342\201\246Wei')" --kind reseller --parent D1
check "bidi: the reason, exact (hq: U+2066)" \
    "dealernet-hq: error: partner name holds U+2066 (left-to-right isolate) at character 3: invisible characters that can hide or reorder text are refused" \
    "$(cat "$ERR")"
check "bidi: exit 64 (hq)" 64 "$rc"

# events from an agent that skips the till's checks, or from before the
# till refused them (SHOPX: its own site, since they continue its chain):
# signed and chained, so they are stored (rule 8), never shown as sent
run 120 "$ATTACK" --sync "$SYNC_EP" --admin "$ADMIN_EP" --server-key "$KEY" \
    --db "$SRV/central.db" --timeout $((5000 * SLOW)) --agent "$X" bidi
grep '^security: ' "$OUT" || true
check "dn_attack bidi: exit (each event acked, stored, flagged, shown escaped)" 0 "$rc"
[ "$rc" -eq 0 ] || sed -n '1,15p' "$ERR"
EV=$(sed -n 's/^security: bidi controls: events: attempts \([0-9]*\), accepted \([0-9]*\)$/\1 \2/p' "$OUT")
check "dn_attack bidi: 16 characters x (sign-up, update), none shown as sent" "32 0" "$EV"
check "dn_attack bidi: 32 events of SHOPX stored (2 before)" 34 \
    "$(sq "SELECT applied_seq FROM sites WHERE code = 'SHOPX'")"
hq exceptions --json
check "dn_attack bidi: 32 hidden_characters flags open, none held" "32 0" \
    "$(python3 -c 'import json,sys; x=[e for e in json.load(open(sys.argv[1])) if e["kind"]=="hidden_characters"]; print(len(x), sum(e["held"] for e in x))' "$OUT")"
check "dn_attack bidi: the last one's detail, exact" \
    "SHOPX 34 member name in update seq 34 holds U+E007F (tag character): stored as sent, shown as <U+XXXX> | dealernet-hq exception resolve $(sq "SELECT max(id) FROM exceptions") --ack" \
    "$(python3 -c 'import json,sys; e=json.load(open(sys.argv[1]))[-1]; print(e["site"], e["seq"], e["detail"], "|", e["resolve"])' "$OUT")"
hq referrals --member 13700137000 --json
check "dn_attack bidi: HQ shows the member as updated, escaped" "Wang<U+200B>" \
    "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["name"])' "$OUT")"
for id in $(sq "SELECT id FROM exceptions WHERE kind = 'hidden_characters'"); do
    hq exception resolve "$id" --ack --reason "pasted from a chat"
    [ "$rc" -eq 0 ] || echo "exception resolve $id --ack: exit $rc: $(cat "$ERR")"
done
check "dn_attack bidi: HQ acks each flag" "32 acknowledged" \
    "$(sq "SELECT count(*) || ' ' || resolution FROM exceptions WHERE kind = 'hidden_characters' GROUP BY resolution")"
hq verify
check "dn_attack bidi: verify: exit" 0 "$rc"
set -- $EV
ATTEMPTS=$((ATTEMPTS + ${1:-0}))
ACCEPTED=$((ACCEPTED + ${2:-1}))
echo "security: bidi controls: attempts $ATTEMPTS, accepted $ACCEPTED"
check "bidi controls: 16 x 7 at the doors + 32 events, none accepted" "144 0" \
    "$ATTEMPTS $ACCEPTED"

net_finish
