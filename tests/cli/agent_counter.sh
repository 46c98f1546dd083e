#!/bin/sh
# agent_counter.sh -- the counter (issue 13, part 5), against the real agent
# with its clock pinned (libfaketime), no server:
#   - sale prints receipts 0001, 0002 ... in order, and --json has "receipt";
#   - refund by --receipt (42 or 0042), by --last, by an id prefix; a prefix
#     of fewer than 8 hex digits and a receipt never given are refused;
#   - sales --date / --today / --from --to: the day's sales newest first,
#     bounded by --limit with "N more", totals by channel and payment;
#   - close: the day's sales, refunds recorded that day (of an earlier
#     day's sale too), net, by payment and channel, receipts, members,
#     unsynced events; changes nothing;
#   - member find by name part and by phone prefix typed any way.
# Every figure below is computed by hand in a comment.
set -eu
. "$(dirname "$0")/../lib/net.sh"
net_init agent_counter
net_need python3

S=$T/shop
# at DATE-TIME ARGS...: the agent at that moment (UTC), quiet off
at() {
    when=$1
    shift
    set +e
    # (under check-asan the preloaded library needs the runtime told not
    # to insist on coming first, as net.sh's NET_CLOCK does)
    # (WHEN is UTC's, whatever this machine's zone)
    env -u FAKETIME_SHARED TZ=UTC LD_PRELOAD="$(net_faketime_lib)" FAKETIME="@$when" \
        FAKETIME_DONT_FAKE_MONOTONIC=1 \
        ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" $WRAP "$AGENT" -d "$S" "$@" >"$OUT" 2>"$ERR" </dev/null
    rc=$?
    set -e
}
command -v faketime >/dev/null 2>&1 || { echo "agent_counter: skipped, faketime is not installed"; exit 77; }

at '2026-11-29 09:00:00' init --site SHOP-C --partner D1
check "init" 0 "$rc"
at '2026-11-29 09:00:00' catalog set TEA 45.00
at '2026-11-29 09:00:00' catalog set RICE 59.90

# 29 Nov: one sale, receipt 0001: 2 x 45.00 = 90.00 cash
at '2026-11-29 10:00:00' sale --line TEA:2 --pay cash
check "sale 1: exit" 0 "$rc"
check "sale 1: receipt line" "receipt 0001" "$(sed -n 2p "$OUT")"

# 30 Nov: four sales
# 0002: 59.90 wechat store; 0003: 45.00 + 59.90 = 104.90 alipay online;
# 0004: 10.00 no payment given, community; 0005: 45.00 cash store
at '2026-11-30 08:00:00' sale --line RICE:1 --pay wechat --json
check "sale 2: --json receipt" "0002" "$(json "$OUT" '$.receipt')"
at '2026-11-30 09:30:00' sale --line TEA:1 --line RICE:1 --pay alipay --channel online
check "sale 3: receipt" "receipt 0003" "$(sed -n 2p "$OUT")"
at '2026-11-30 11:00:00' sale --line X:1@10.00 --channel community
check "sale 4: receipt" "receipt 0004" "$(sed -n 2p "$OUT")"
at '2026-11-30 12:00:00' sale --line TEA:1 --pay cash
check "sale 5: receipt" "receipt 0005" "$(sed -n 2p "$OUT")"
at '2026-11-30 12:30:00' member add --phone 13800138000 --name 'Li Wei'
at '2026-11-30 12:31:00' member add --phone '139 1234 5678' --name '王芳'
at '2026-11-30 12:32:00' member add --phone 13800139999 --name 'Zhang Li'

# refunds on 30 Nov: 0001 (a 29 Nov sale) by receipt "1": 5.00 of 90.00;
# 0003 by "0003": TEA:1 = 45.00; --last (0005): all of it, 45.00
at '2026-11-30 13:00:00' refund --receipt 1 --amount 5.00
check "refund --receipt 1: exit" 0 "$rc"
at '2026-11-30 13:01:00' refund --receipt 0003 --line TEA:1
check "refund --receipt 0003: exit" 0 "$rc"
check "refund --receipt 0003: 45.00" "45.00" "$(sed -n 1p "$OUT" | cut -d' ' -f4)"
at '2026-11-30 13:02:00' refund --last
check "refund --last: exit" 0 "$rc"
check "refund --last: all of 0005, 45.00" "45.00" "$(sed -n 1p "$OUT" | cut -d' ' -f4)"
at '2026-11-30 13:03:00' refund --last
check "refund --last again: already refunded, exit" 65 "$rc"
check_one_error "refund --last again" "that sale is already fully refunded"
at '2026-11-30 13:04:00' refund --receipt 42
check "refund --receipt 42: exit" 66 "$rc"
check_one_error "refund --receipt 42" "no sale with receipt 0042 at this site"
at '2026-11-30 13:04:00' refund --receipt 4x
check "refund --receipt 4x: exit" 64 "$rc"
at '2026-11-30 13:04:00' refund 0190c2d
check "refund 7 hex digits: exit" 64 "$rc"
at '2026-11-30 13:04:00' refund --last --receipt 2
check "refund --last and --receipt: exit" 64 "$rc"

# an id prefix: each sale's first 13 characters (8 hex digits, '-', 4
# more) are its own; the first 8 hex digits are a UUIDv7's time in 65.5 s
# steps, so 0002 (08:00) and 0003 (09:30) differ there too
at '2026-11-30 14:00:00' sales --date 2026-11-30 --json
cp "$OUT" "$T/day.json"
ID4=$(json "$T/day.json" '$.sales[1].id')
check "sales --date: newest first, [1] is 0004" "0004" "$(json "$T/day.json" '$.sales[1].receipt')"
at '2026-11-30 14:00:00' receipt --sale "$(echo "$ID4" | cut -c1-13)"
check "receipt --sale PREFIX: exit" 0 "$rc"
check "receipt --sale PREFIX: receipt 0004" "receipt   0004" "$(sed -n 2p "$OUT")"
at '2026-11-30 14:00:00' receipt 3 --json
check "receipt 3: 104.90 alipay online, 1 TEA refunded" "10490|alipay|online|1" \
    "$(json "$OUT" '$.total_minor')|$(json "$OUT" '$.payment')|$(json "$OUT" '$.channel')|$(json "$OUT" '$.lines[0].refunded_quantity')"

# two sales in one minute share their first 8 hex digits (a 65.536 s window
# of the id's clock, and 15:00:00 UTC is 19.8 s into one): refused, named.
# 20 s apart, so that a slow start of the first (a faked clock starts when
# its process does) cannot put it after the second.
at '2026-11-30 15:00:00' sale --line X:1@1.00
at '2026-11-30 15:00:20' sale --line X:1@2.00
at '2026-11-30 15:00:22' sales --date 2026-11-30 --limit 2 --json
P=$(json "$OUT" '$.sales[0].id' | cut -c1-8)
R1=$(json "$OUT" '$.sales[1].id')
R0=$(json "$OUT" '$.sales[0].id')
at '2026-11-30 15:00:23' refund "$P"
check "refund of a shared prefix: exit" 65 "$rc"
check_one_error "refund of a shared prefix" \
    "$P matches 2 sales: $R0 (receipt 0007), $R1 (receipt 0006); give more of the sale's id"

# sales of 30 Nov: 0002..0007 = 59.90 + 104.90 + 10.00 + 45.00 + 1.00 +
# 2.00 = 222.80; refunded of them 45.00 (0003) + 45.00 (0005) = 90.00
# (0001's 5.00 is a 29 Nov sale's); net 132.80
# channel store: 0002, 0005, 0006, 0007 = 59.90 + 45 + 1 + 2 = 107.90,
#   refunded 45.00; online: 0003 104.90, refunded 45.00;
#   community: 0004 10.00
# payment cash: 0005 45.00 (refunded 45.00); wechat 0002 59.90; alipay
#   0003 104.90 (45.00); unknown: 0004, 0006, 0007 = 13.00
at '2026-11-30 16:00:00' sales --today --limit 4 --json
cp "$OUT" "$T/today.json"
check "sales --today: 4 shown, 2 more" "4|2" \
    "$(json "$T/today.json" '$.shown')|$(json "$T/today.json" '$.more')"
check "sales --today: totals" "6|22280|9000|13280" \
    "$(json "$T/today.json" '$.totals.sales')|$(json "$T/today.json" '$.totals.total_minor')|$(json "$T/today.json" '$.totals.refunded_minor')|$(json "$T/today.json" '$.totals.net_minor')"
check "sales --today: by channel" "store:4:10790:4500|online:1:10490:4500|community:1:1000:0" \
    "$(python3 -c 'import json,sys; print("|".join("%s:%d:%d:%d" % (g["channel"], g["sales"], g["total_minor"], g["refunded_minor"]) for g in json.load(open(sys.argv[1]))["totals"]["by_channel"]))' "$T/today.json")"
check "sales --today: by payment" "unknown:3:1300:0|cash:1:4500:4500|wechat:1:5990:0|alipay:1:10490:4500" \
    "$(python3 -c 'import json,sys; print("|".join("%s:%d:%d:%d" % (g["payment"], g["sales"], g["total_minor"], g["refunded_minor"]) for g in json.load(open(sys.argv[1]))["totals"]["by_payment"]))' "$T/today.json")"
at '2026-11-30 16:00:00' sales --today --limit 4
check "sales --today table: the more line" \
    "4 sales shown, newest first; 2 more (--limit N, or a day: --today, --date DATE)" \
    "$(grep 'more' "$OUT")"
check "sales --today table: the totals line" "6 sales, total 222.80 CNY, refunded 90.00, net 132.80" \
    "$(grep '^6 sales' "$OUT")"

# 29 Nov to 30 Nov: 90.00 + 222.80 = 312.80, refunded 5.00 + 90.00 = 95.00
at '2026-11-30 16:00:00' sales --from 2026-11-29 --to 2026-11-30 --json
check "sales --from --to: 7 sales, 312.80, refunded 95.00" "7|31280|9500" \
    "$(json "$OUT" '$.totals.sales')|$(json "$OUT" '$.totals.total_minor')|$(json "$OUT" '$.totals.refunded_minor')"
at '2026-11-30 16:00:00' sales --date 2026-11-31
check "sales --date 2026-11-31: exit" 64 "$rc"
at '2026-11-30 16:00:00' sales --to 2026-11-01 --from 2026-11-30
check "sales --to before --from: exit" 64 "$rc"
at '2026-11-30 16:00:00' sales --all --json
check "sales --all --json: every sale, in order" "1|2|3|4|5|6|7" \
    "$(python3 -c 'import json,sys; print("|".join(str(int(s["receipt"])) for s in json.load(open(sys.argv[1]))))' "$OUT")"

# close of 30 Nov: sales 6, gross 222.80; refunds recorded that day 3:
# 5.00 + 45.00 + 45.00 = 95.00; net 222.80 - 95.00 = 127.80; receipts
# 0002 to 0007; 3 members; every event unsynced: 6 sales + 3 members + 3
# refunds = 12 of the day, 12 + 1 sale of 29 Nov = 13 in all
# by payment: cash 0005 45.00 and 0001's refund 5.00 + 0005's 45.00 =
#   50.00, net -5.00; alipay 104.90 - 45.00 = 59.90
D0=$(sqlite3 "$S/agent.db" "SELECT count(*) FROM events")
at '2026-11-30 18:00:00' close --json
cp "$OUT" "$T/close.json"
check "close: exit" 0 "$rc"
check "close: date, sales, gross, refunds, refunded, net" "2026-11-30|6|22280|3|9500|12780" \
    "$(json "$T/close.json" '$.date')|$(json "$T/close.json" '$.sales')|$(json "$T/close.json" '$.gross_minor')|$(json "$T/close.json" '$.refunds')|$(json "$T/close.json" '$.refunded_minor')|$(json "$T/close.json" '$.net_minor')"
check "close: receipts, members, unsynced, pending" "0002|0007|3|12|13" \
    "$(json "$T/close.json" '$.first_receipt')|$(json "$T/close.json" '$.last_receipt')|$(json "$T/close.json" '$.members_signed_up')|$(json "$T/close.json" '$.unsynced')|$(json "$T/close.json" '$.pending')"
check "close: by payment" "unknown:3:1300:0:1300|cash:1:4500:2:-500|wechat:1:5990:0:5990|alipay:1:10490:1:5990" \
    "$(python3 -c 'import json,sys; print("|".join("%s:%d:%d:%d:%d" % (g["payment"], g["sales"], g["gross_minor"], g["refunds"], g["net_minor"]) for g in json.load(open(sys.argv[1]))["by_payment"]))' "$T/close.json")"
at '2026-11-30 18:00:00' close
check "close table: net line" "net          127.80 CNY" "$(grep '^net' "$OUT")"
check "close table: unsynced line" \
    "not synced   12 events of the day (13 in all): run 'dealernet-agent sync'" "$(grep '^not synced' "$OUT")"
at '2026-11-30 18:00:00' close --date 2026-11-29 --json
check "close 29 Nov: 1 sale 90.00, no refund that day" "1|9000|0|9000" \
    "$(json "$OUT" '$.sales')|$(json "$OUT" '$.gross_minor')|$(json "$OUT" '$.refunds')|$(json "$OUT" '$.net_minor')"
check "close: changes nothing" "$D0" "$(sqlite3 "$S/agent.db" "SELECT count(*) FROM events")"

# member find: a name part without case; a phone prefix typed with spaces
at '2026-11-30 18:00:00' member find li --json
check "member find li: Zhang Li, Li Wei (newest first)" "Zhang Li|Li Wei" \
    "$(python3 -c 'import json,sys; print("|".join(m["name"] for m in json.load(open(sys.argv[1]))["members"]))' "$OUT")"
at '2026-11-30 18:00:00' member find '138 0013' --json
check "member find '138 0013': both 138 0013... phones" "+8613800139999|+8613800138000" \
    "$(python3 -c 'import json,sys; print("|".join(m["phone"] for m in json.load(open(sys.argv[1]))["members"]))' "$OUT")"
at '2026-11-30 18:00:00' member find 王
check "member find 王: one" "1 members found" "$(tail -n 1 "$OUT")"
at '2026-11-30 18:00:00' member find 138 --limit 1
check "member find 138 --limit 1: the more line" \
    "1 members shown, 1 more: type more of the name or phone" "$(tail -n 1 "$OUT")"
at '2026-11-30 18:00:00' member find
check "member find without TEXT: exit" 64 "$rc"

for cmd in "close" "sales" "receipt" "member find"; do
    # shellcheck disable=SC2086
    at '2026-11-30 18:00:00' $cmd --help
    check "$cmd --help: exit" 0 "$rc"
done

net_finish
