#!/bin/sh
# hq_reports_cli.sh -- dealernet-hq's reports (sales, kpi, referrals, sites), end to end.
#
# A real server and an agent on loopback in a throwaway folder: HQ -> D1
# (dealer) -> G1 (reseller), the example plan (deploy/plan.ini: referral
# bonus 5.00 and 1 % of each purchase), one site of D1.  The agent signs up
# two members and records four sales and a refund, then syncs; every report
# is then checked, field by field from --json, against figures worked by
# hand below, and --csv is parsed back (python3's csv module) and compared
# with the JSON, value by value.  The refusals exit 64 with one line.
#
#   members:  M1 13900000001 "Wang, Fang" referred by partner G1 (stored
#             canonical: +8613900000001, and M2 +8613900000002)
#             M2 13900000002 'Li "Nana" Zhou' referred by M1
#   sales (recorded now, on a clock pinned to start at 2026-03-15 10:00 UTC,
#   so all in 2026-03 whatever today is):
#     s1  store      D1  M1  RICE-5KG x 2 (59.90, rice) + OIL-1L x 1 (18.50, oil) = 138.30
#     s2  online     D1  -   TEA-250 x 1 (25.00, tea)                             =  25.00
#     s3  community  G1  M2  RICE-5KG x 3                                         = 179.70
#     s4  store      D1  M2  OIL-1L x 2                                           =  37.00
#     r1  refund of s4 by amount 10.00 (all oil)
#   in all: 4 sales, 138.30 + 25.00 + 179.70 + 37.00 = 380.00; refunds 10.00;
#   net 370.00.
set -eu
. "$(dirname "$0")/../lib/net.sh"
net_init hq_reports_cli
# A run on the real clock failed across a month's end (faketime
# '2026-12-31 23:59:58': the month check, --from and kpi's default month).
net_pin_clock '2026-03-15 10:00:00'

if ! command -v python3 >/dev/null 2>&1; then
    echo "hq_reports_cli: skipped, python3 is not installed"
    exit 77
fi

server_init
server_start
network_init

hq partner add G1 --name "Reseller one" --kind reseller --parent D1
[ "$rc" -eq 0 ] || { echo "partner add failed: $(cat "$ERR")" >&2; exit 1; }
hq plan set deploy/plan.ini
[ "$rc" -eq 0 ] || { echo "plan set failed: $(cat "$ERR")" >&2; exit 1; }

TOKEN=$(site_add SHOP1)
A=$T/a
agent_new "$A" SHOP1
enroll "$A" "$TOKEN"
check "enroll: exit" 0 "$rc"

must() { # must ARGS...: an agent command that has to succeed (setup)
    agent "$A" "$@"
    [ "$rc" -eq 0 ] || { echo "agent $*: exit $rc: $(cat "$ERR")" >&2; exit 1; }
}
must catalog set RICE-5KG 59.90 --category rice
must catalog set OIL-1L 18.50 --category oil
must catalog set TEA-250 25.00 --category tea
must member add --phone 13900000001 --name "Wang, Fang" --referrer G1
must member add --phone 13900000002 --name 'Li "Nana" Zhou' --referrer 13900000001
must sale --line RICE-5KG:2 --line OIL-1L:1 --member 13900000001
must sale --line TEA-250:1 --channel online
must sale --line RICE-5KG:3 --channel community --seller G1 --member 13900000002
must sale --line OIL-1L:2 --member 13900000002 --json
S4=$(json "$OUT" '$.id')
must refund "$S4" --amount 10.00
agent "$A" sync
check "sync: exit" 0 "$rc"

# jf FILE INDEX FIELD: field FIELD of element INDEX of the JSON array in FILE.
jf() {
    sqlite3 :memory: "SELECT json_extract(readfile('$1'), '\$[$2].$3')"
}
# rows FILE: the length of the JSON array in FILE.
rows() {
    sqlite3 :memory: "SELECT json_array_length(readfile('$1'))"
}
# report NAME ARGS...: dealernet-hq ARGS --json into $T/NAME.json; must exit 0.
report() {
    name=$1
    shift
    hq "$@" --json
    check "$* --json: exit" 0 "$rc"
    cp "$OUT" "$T/$name.json"
}
# roundtrip NAME ARGS...: dealernet-hq ARGS --csv parses back (RFC 4180) to
# exactly the JSON of $T/NAME.json: the header is the keys of the first
# object in order, every field the JSON value (null empty, booleans
# true/false, numbers and strings as they are, but a text a spreadsheet
# would run as a formula -- a phone +86... -- with a ' before it, see
# dn_render.h), lines end with CRLF.  The
# values of the columns named in $MOVING (clock-dependent: they differ
# between two runs) are left out of the comparison.  The JSON's *_minor
# keys (each amount again in minor units) are for scripts: CSV leaves them
# out, and so does the comparison.
MOVING=
roundtrip() {
    name=$1
    shift
    hq "$@" --csv
    check "$* --csv: exit" 0 "$rc"
    cp "$OUT" "$T/$name.csv"
    check "$* --csv: round-trips to the JSON" "same" "$(python3 - "$T/$name.json" "$T/$name.csv" "$MOVING" <<'EOF'
import csv, json, re, sys
rows = [{k: v for k, v in r.items() if not k.endswith('_minor')}
        for r in json.load(open(sys.argv[1]))]
moving = sys.argv[3].split()
for r in rows:
    for k in moving:
        if k in r: r[k] = '*'

raw = open(sys.argv[2], newline='').read()
if rows and not raw.endswith('\r\n'):
    print('no CRLF at the end'); sys.exit()
parsed = list(csv.reader(open(sys.argv[2], newline=''), strict=True))
if parsed:
    for row in parsed[1:]:
        for i, k in enumerate(parsed[0]):
            if k in moving and i < len(row): row[i] = '*'

def text(v):
    if v is None: return ''
    if v is True: return 'true'
    if v is False: return 'false'
    v = str(v)
    if v[:1] in ('=', '+', '-', '@', '\t', '\r') and not re.match(r'-?[0-9]+(\.[0-9]+)?\Z', v):
        return "'" + v
    return v
want = [list(rows[0].keys())] + [[text(r.get(k)) for k in rows[0].keys()] for r in rows] if rows else []
print('same' if parsed == want else 'differs: %r != %r' % (parsed, want))
EOF
)"
}

# -- sales ----------------------------------------------------------------------

report month sales
check "sales: one month" 1 "$(rows "$T/month.json")"
MONTH=$(jf "$T/month.json" 0 month)
check "sales: the month is the pinned one" 2026-03 "$MONTH"
check "sales: count" 4 "$(jf "$T/month.json" 0 sales)"
check "sales: total 138.30 + 25.00 + 179.70 + 37.00" "380.00" "$(jf "$T/month.json" 0 total)"
check "sales: refunds" 1 "$(jf "$T/month.json" 0 refunds)"
check "sales: refunded" "10.00" "$(jf "$T/month.json" 0 refunded)"
check "sales: net 380.00 - 10.00" "370.00" "$(jf "$T/month.json" 0 net)"
check "sales: currency" "CNY" "$(jf "$T/month.json" 0 currency)"
roundtrip month sales

# store s1 138.30 + s4 37.00 = 175.30, refund 10.00 of s4; online s2 25.00;
# community s3 179.70; in that order
report channel sales --by channel
check "by channel: rows" 3 "$(rows "$T/channel.json")"
check "by channel: first" "store|2|175.30|1|10.00|165.30" \
    "$(jf "$T/channel.json" 0 channel)|$(jf "$T/channel.json" 0 sales)|$(jf "$T/channel.json" 0 total)|$(jf "$T/channel.json" 0 refunds)|$(jf "$T/channel.json" 0 refunded)|$(jf "$T/channel.json" 0 net)"
check "by channel: second" "online|1|25.00|25.00" \
    "$(jf "$T/channel.json" 1 channel)|$(jf "$T/channel.json" 1 sales)|$(jf "$T/channel.json" 1 total)|$(jf "$T/channel.json" 1 net)"
check "by channel: third" "community|1|179.70|179.70" \
    "$(jf "$T/channel.json" 2 channel)|$(jf "$T/channel.json" 2 sales)|$(jf "$T/channel.json" 2 total)|$(jf "$T/channel.json" 2 net)"
roundtrip channel sales --by channel

# D1: s1 + s2 + s4 = 138.30 + 25.00 + 37.00 = 200.30, net 190.30; G1: s3
report partner sales --by partner
check "by partner: D1" "D1|3|200.30|1|190.30" \
    "$(jf "$T/partner.json" 0 partner)|$(jf "$T/partner.json" 0 sales)|$(jf "$T/partner.json" 0 total)|$(jf "$T/partner.json" 0 refunds)|$(jf "$T/partner.json" 0 net)"
check "by partner: G1" "G1|1|179.70|0|179.70" \
    "$(jf "$T/partner.json" 1 partner)|$(jf "$T/partner.json" 1 sales)|$(jf "$T/partner.json" 1 total)|$(jf "$T/partner.json" 1 refunds)|$(jf "$T/partner.json" 1 net)"
roundtrip partner sales --by partner

# oil: s1 18.50 + s4 37.00 = 55.50 in 2 sales, the refund all oil: net 45.50;
# rice: s1 119.80 + s3 179.70 = 299.50; tea: s2 25.00
report category sales --by category
check "by category: rows" 3 "$(rows "$T/category.json")"
check "by category: oil" "oil|2|55.50|1|10.00|45.50" \
    "$(jf "$T/category.json" 0 category)|$(jf "$T/category.json" 0 sales)|$(jf "$T/category.json" 0 total)|$(jf "$T/category.json" 0 refunds)|$(jf "$T/category.json" 0 refunded)|$(jf "$T/category.json" 0 net)"
check "by category: rice" "rice|2|299.50|299.50" \
    "$(jf "$T/category.json" 1 category)|$(jf "$T/category.json" 1 sales)|$(jf "$T/category.json" 1 total)|$(jf "$T/category.json" 1 net)"
check "by category: tea" "tea|1|25.00" \
    "$(jf "$T/category.json" 2 category)|$(jf "$T/category.json" 2 sales)|$(jf "$T/category.json" 2 total)"
roundtrip category sales --by category

report site sales --by site --from 2026-03-01
check "by site: SHOP1 all" "SHOP1|4|380.00|370.00" \
    "$(jf "$T/site.json" 0 site)|$(jf "$T/site.json" 0 sales)|$(jf "$T/site.json" 0 total)|$(jf "$T/site.json" 0 net)"
hq sales --by day --to 2000-01-01 --json
check "before any sale: none" "[]" "$(tr -d ' \n' <"$OUT")"

# team volume: G1 is under D1, so D1's team is everything; G1's is s3
report team_d1 sales --partner D1 --team
check "team D1" "$MONTH|D1|4|380.00|1|10.00|370.00" \
    "$(jf "$T/team_d1.json" 0 month)|$(jf "$T/team_d1.json" 0 partner)|$(jf "$T/team_d1.json" 0 sales)|$(jf "$T/team_d1.json" 0 total)|$(jf "$T/team_d1.json" 0 refunds)|$(jf "$T/team_d1.json" 0 refunded)|$(jf "$T/team_d1.json" 0 net)"
roundtrip team_d1 sales --partner D1 --team
report team_g1 sales --partner G1 --team
check "team G1" "G1|1|179.70|179.70" \
    "$(jf "$T/team_g1.json" 0 partner)|$(jf "$T/team_g1.json" 0 sales)|$(jf "$T/team_g1.json" 0 total)|$(jf "$T/team_g1.json" 0 net)"

hq sales --partner D1 --team
check "team table: exit" 0 "$rc"
check "team table: header" "MONTH    PARTNER  CURRENCY  SALES  TOTAL   REFUNDS  REFUNDED  NET" \
    "$(head -n 1 "$OUT")"
check "team table: the row" "$MONTH  D1       CNY           4  380.00        1  10.00     370.00" \
    "$(sed -n 2p "$OUT")"

hq sales --team
check "--team without --partner: exit" 64 "$rc"
check_one_error "--team without --partner" "--team needs --partner CODE"
hq sales --by week
check "--by week: exit" 64 "$rc"
check_one_error "--by week" "--by 'week' is not one of partner, site, channel, day, month, category"
hq sales --from 2026-02-30
check "--from not a date: exit" 64 "$rc"
check_one_error "--from not a date" "--from '2026-02-30' is not a date (YYYY-MM-DD)"
hq sales --partner NOPE
check "unknown partner: exit" 66 "$rc"

# -- kpi -------------------------------------------------------------------------
# M1 belongs to G1 (its referrer), M2 to D1 (the site's partner: its referrer
# is a member).  G1: M1 new, active (s1 138.30), referred M2 this month;
# share 138.30 / 380.00 = 0.363947 -> 36.39 %.  D1: M2 new, active and a
# repeat buyer (s3 179.70 + s4 37.00 = 216.70); share 216.70 / 380.00 =
# 0.570263 -> 57.03 %.  (The rest, 6.58 %, is s2, sold to no member.)
report kpi kpi --period "$MONTH"
check "kpi: rows (D1, G1, HQ)" 3 "$(rows "$T/kpi.json")"
check "kpi: D1" "D1|$MONTH|1|1|1|0|2|216.70|57.03|CNY" \
    "$(jf "$T/kpi.json" 0 partner)|$(jf "$T/kpi.json" 0 period)|$(jf "$T/kpi.json" 0 new_members)|$(jf "$T/kpi.json" 0 active_members)|$(jf "$T/kpi.json" 0 repeat_buyers)|$(jf "$T/kpi.json" 0 referrers)|$(jf "$T/kpi.json" 0 purchases)|$(jf "$T/kpi.json" 0 sales)|$(jf "$T/kpi.json" 0 share)|$(jf "$T/kpi.json" 0 currency)"
check "kpi: G1" "G1|1|1|0|1|1|138.30|36.39" \
    "$(jf "$T/kpi.json" 1 partner)|$(jf "$T/kpi.json" 1 new_members)|$(jf "$T/kpi.json" 1 active_members)|$(jf "$T/kpi.json" 1 repeat_buyers)|$(jf "$T/kpi.json" 1 referrers)|$(jf "$T/kpi.json" 1 purchases)|$(jf "$T/kpi.json" 1 sales)|$(jf "$T/kpi.json" 1 share)"
check "kpi: HQ" "HQ|0|0|0.00|0.00" \
    "$(jf "$T/kpi.json" 2 partner)|$(jf "$T/kpi.json" 2 new_members)|$(jf "$T/kpi.json" 2 active_members)|$(jf "$T/kpi.json" 2 sales)|$(jf "$T/kpi.json" 2 share)"
roundtrip kpi kpi --period "$MONTH"
report kpi_g1 kpi --partner G1
check "kpi --partner G1 (this month by default)" "1|G1|$MONTH" \
    "$(rows "$T/kpi_g1.json")|$(jf "$T/kpi_g1.json" 0 partner)|$(jf "$T/kpi_g1.json" 0 period)"
hq kpi --period 2026-13
check "kpi, bad month: exit" 64 "$rc"
check_one_error "kpi, bad month" "--period '2026-13' is not a month (YYYY-MM)"

# -- referrals ---------------------------------------------------------------------
# M1 earned from M2: s3 is M2's first purchase, 5.00 + 1 % of 179.70 (1.797
# -> 1.80) = 6.80; s4 1 % of 37.00 = 0.37; the refund takes back 0.37 x
# 10.00 / 37.00 = 0.10: 6.80 + 0.37 - 0.10 = 7.07.  G1 earned from M1: s1,
# the first purchase, 5.00 + 1.383 -> 1.38 = 6.38.  Both referred one: M1,
# with more rewards, first.
report top referrals
check "referrals: rows" 2 "$(rows "$T/top.json")"
check "referrals: M1" "+8613900000001|member|Wang, Fang|1|2|216.70|7.07|CNY" \
    "$(jf "$T/top.json" 0 referrer)|$(jf "$T/top.json" 0 kind)|$(jf "$T/top.json" 0 name)|$(jf "$T/top.json" 0 referred)|$(jf "$T/top.json" 0 purchases)|$(jf "$T/top.json" 0 purchases_total)|$(jf "$T/top.json" 0 rewards)|$(jf "$T/top.json" 0 currency)"
check "referrals: G1" "G1|partner|Reseller one|1|1|138.30|6.38" \
    "$(jf "$T/top.json" 1 referrer)|$(jf "$T/top.json" 1 kind)|$(jf "$T/top.json" 1 name)|$(jf "$T/top.json" 1 referred)|$(jf "$T/top.json" 1 purchases)|$(jf "$T/top.json" 1 purchases_total)|$(jf "$T/top.json" 1 rewards)"
roundtrip top referrals
report top1 referrals --top 1
check "referrals --top 1" "1|+8613900000001" "$(rows "$T/top1.json")|$(jf "$T/top1.json" 0 referrer)"

report tree referrals --member "139-0000-0001"
check "tree: rows" 2 "$(rows "$T/tree.json")"
check "tree: M1" "+8613900000001|0|G1|1|1|138.30|7.07|6.38" \
    "$(jf "$T/tree.json" 0 tree)|$(jf "$T/tree.json" 0 depth)|$(jf "$T/tree.json" 0 referrer)|$(jf "$T/tree.json" 0 referred)|$(jf "$T/tree.json" 0 purchases)|$(jf "$T/tree.json" 0 purchases_total)|$(jf "$T/tree.json" 0 earned)|$(jf "$T/tree.json" 0 generated)"
check "tree: M2" "  +8613900000002|1|+8613900000001|Li \"Nana\" Zhou|SHOP1|0|2|216.70|0.00|7.07" \
    "$(jf "$T/tree.json" 1 tree)|$(jf "$T/tree.json" 1 depth)|$(jf "$T/tree.json" 1 referrer)|$(jf "$T/tree.json" 1 name)|$(jf "$T/tree.json" 1 site)|$(jf "$T/tree.json" 1 referred)|$(jf "$T/tree.json" 1 purchases)|$(jf "$T/tree.json" 1 purchases_total)|$(jf "$T/tree.json" 1 earned)|$(jf "$T/tree.json" 1 generated)"
roundtrip tree referrals --member 13900000001
hq referrals --member 13900000009
check "tree of nobody: exit" 66 "$rc"
check_one_error "tree of nobody" "no member with phone +8613900000009"
hq referrals --top 0
check "--top 0: exit" 64 "$rc"

# -- sites ---------------------------------------------------------------------------
# SHOP1 synced a moment ago: ok, nothing pending (the agent's Hello counted
# 7 events, the batches then brought all 7).
report sites sites
check "sites: SHOP1" "1|SHOP1|D1|ok|0||" \
    "$(rows "$T/sites.json")|$(jf "$T/sites.json" 0 site)|$(jf "$T/sites.json" 0 partner)|$(jf "$T/sites.json" 0 state)|$(jf "$T/sites.json" 0 pending)|$(jf "$T/sites.json" 0 oldest_pending)|$(jf "$T/sites.json" 0 lag)"
check "sites: seen within the minute" 1 \
    "$([ "$(jf "$T/sites.json" 0 silent_ms)" -lt 60000 ] && echo 1 || echo 0)"
MOVING="silent_for silent_ms lag lag_ms"
roundtrip sites sites
MOVING=
# A second site, added and never seen, is silent once a day has passed
# since it was added: pretend it was added two days ago.
hq site add SHOP2 --partner D1 -q
sq "UPDATE sites SET created_ms = created_ms - 2 * 86400000 WHERE code = 'SHOP2'"
report sites2 sites
check "sites: the silent one first" "SHOP2|silent|2d 00h|SHOP1|ok" \
    "$(jf "$T/sites2.json" 0 site)|$(jf "$T/sites2.json" 0 state)|$(jf "$T/sites2.json" 0 silent_for)|$(jf "$T/sites2.json" 1 site)|$(jf "$T/sites2.json" 1 state)"
hq sites
check "sites table: exit" 0 "$rc"
check "sites table: no *_ms columns" \
    "SITE   PARTNER  STATE   LAST_SEEN                 SILENT_FOR  PENDING  OLDEST_PENDING  LAG" \
    "$(head -n 1 "$OUT")"

net_finish
