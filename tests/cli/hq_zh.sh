#!/bin/sh
# hq_zh.sh -- dealernet-hq in Chinese (issue 13, item 1): LANG=zh_CN.UTF-8
# gives Chinese help, errors, sentences and table headers, while exit codes,
# --json and --csv stay what scripts read under LANG=C.UTF-8.
#
#   - a small month, 2026-03, the clock pinned at 2026-03-15 10:00 UTC: HQ ->
#     D1 -> G1 -> G2 (recruited by G1), site SHOP1 of D1, members M1
#     13900000001 (referred by G1) and M2 13900000002 (referred by M1), two
#     sales (G2: TEA-250 x 4 = 100.00 to M1, G1: TEA-250 x 1 = 25.00 to M2)
#     under deploy/plan.ini; the figures are hq_comply.sh's, worked there:
#     G1 earns 2.00 + 3.00 + 0.50 + 5.00 + 1.00 = 11.50 in 2026-03;
#   - tests/lib/hq_zh_check.py runs every listing and report (hq_zh.cmds
#     below) under both languages: the same exit code, the same --json and
#     --csv bytes, and no table header left as its English key (a key missing
#     from po/zh_CN/columns.po);
#   - a few Chinese texts exactly: a usage error, a global error, the help's
#     first line, a table's headers, member find's footer, the sentences of
#     partner add, payout, adjust, site rename, notice send and verify; each
#     with the exit code the English run gives.
set -eu
. "$(dirname "$0")/../lib/net.sh"
net_init hq_zh
net_pin_clock '2026-03-15 10:00:00'
net_need python3

server_init
server_start
network_init
hq_must plan set deploy/plan.ini
hq_must partner add G1 --name "Reseller one" --kind reseller --parent D1
hq_must partner add G2 --name "Reseller two" --kind reseller --parent G1 --recruiter G1 \
    --joined 2026-03-01
A=$T/a
shop_enrolled "$A" SHOP1
agent_must "$A" catalog set TEA-250 25.00 --category tea
# G2's sale of 100.00 is above it: flagged large_sale (an exception to list)
hq_must site threshold SHOP1 50.00
agent_must "$A" member add --phone 13900000001 --name "Wang Fang" --referrer G1
agent_must "$A" member add --phone 13900000002 --name "Li Lei" --referrer 13900000001
agent_must "$A" sale --line TEA-250:4 --seller G2 --member 13900000001
agent_must "$A" sale --line TEA-250:1 --seller G1 --member 13900000002
agent_must "$A" sync
hq_must catalog set TEA-250 26.00 --name "Tea 250 g" --category tea --effective 2026-04-01
hq_must notice send --all "Stocktake on Friday"
hq_must payout G1 1.50 --ref BANK-1
hq_must adjust G2 0.25 --reason "rounding"

# -- every listing and report: exits, --json / --csv bytes, headers ---------------
cat >"$T/hq_zh.cmds" <<'EOF'
jc partner list
jc partner tree
jc partner tree G1 --at 2026-03-10
jc site list
jc~ sites                                          # silent_ms moves with the clock
jc member conflicts
jc member find 139
jc member find wang
jc member statement 13900000001 --period 2026-03
jc member statement 13900000009 --period 2026-03   # no such member: 66 under both
j  plan show
jc plan list
jc plan check deploy/plan.ini
jc period list
jc statement G1 --period 2026-03
jc statement G2 --period 2026-03
jc statement NOPE --period 2026-03                 # 66 under both
jc exceptions --all
jc corrections
jc sales
jc sales --by partner
jc sales --by site
jc sales --by channel
jc sales --by day
jc sales --by category
jc sales --partner D1 --team
jc kpi --period 2026-03
jc referrals
jc referrals --member 13900000001
jc compliance --period 2026-03
jc!what refusals
jc catalog list
jc notice list
j  verify
-  statement G1 --period 2026-13                   # 64 under both
EOF
zh_rc=0
# shellcheck disable=SC2086 # NET_CLOCK is words
python3 "$(dirname "$0")/../lib/hq_zh_check.py" "$T/hq_zh.cmds" -- \
    $NET_CLOCK "$HQ" --server "$ADMIN_EP" --server-key "$KEY" --key "$SRV/hq.key" || zh_rc=$?
check "hq_zh_check: every command the same under both languages, headers in Chinese" 0 "$zh_rc"

# -- Chinese texts, exactly ----------------------------------------------------------

hq_in zh_CN.UTF-8 site add
check "zh_CN: a usage error: exit" 64 "$rc"
check "zh_CN: a usage error" \
    "dealernet-hq: error: site add 需要门店的 CODE（参见：dealernet-hq site add --help）" \
    "$(cat "$ERR")"
hq_in C.UTF-8 site add
check "C: the same usage error: exit" 64 "$rc"
check "C: the same usage error" \
    "dealernet-hq: error: site add needs the site's CODE (see: dealernet-hq site add --help)" \
    "$(cat "$ERR")"
LANG=zh_CN.UTF-8 run 30 "$HQ" --server "$ADMIN_EP" --key "$SRV/hq.key" sites
check "zh_CN: no server key: exit" 64 "$rc"
check "zh_CN: no server key" "dealernet-hq: error: 未指定服务器密钥：请给出 --server-key Z85（由 'dealernet-server init' 打印）或设置 DEALERNET_SERVER_KEY（参见：dealernet-hq --help）" \
    "$(cat "$ERR")"
LANG=zh_CN.UTF-8 run 30 "$HQ" --help
check "zh_CN: --help: exit" 0 "$rc"
check "zh_CN: --help's first line" "用法：dealernet-hq [OPTIONS] COMMAND [OPTIONS]" "$(sed -n 1p "$OUT")"
check "zh_CN: --help lists the commands in their own words" "  sale void         SALE|--site SITE --receipt N --reason TEXT [--json]" \
    "$(grep '^  sale void' "$OUT")"
LANG=zh_CN.UTF-8 run 30 "$HQ" help statement
check "zh_CN: help statement: exit" 0 "$rc"
check "zh_CN: help statement's text" "打印伙伴某月的佣金账户（网络时区；默认：本月）：期初余额、每笔转账及其" \
    "$(sed -n 3p "$OUT")"

hq_in zh_CN.UTF-8 member find 139
check "zh_CN: member find: exit" 0 "$rc"
check "zh_CN: member find's headers" "电话 名称 门店 加入日期 推荐人 家庭" "$(sed -n 1p "$OUT" | tr -s ' ')"
check "zh_CN: member find's footer" "共找到 2 名会员" "$(sed -n 4p "$OUT")"
hq_in zh_CN.UTF-8 statement G1 --period 2026-03
check "zh_CN: statement: exit" 0 "$rc"
# G1's March: 2.00 (level 0 of its own sale) + 3.00 (level 1 of G2's) + 0.50
# (override on G2) + 5.00 + 1.00 (M1's first purchase, bonus and 1 %) =
# 11.50 earned, less the payout of 1.50: closing 10.00
check "zh_CN: statement's closing balance, under its Chinese label" "期末余额 10.00" \
    "$(grep '^期末余额' "$OUT" | tr -s ' ')"

hq_in zh_CN.UTF-8 partner add G3 --name "Reseller three" --kind reseller --parent G1 --recruiter G2
check "zh_CN: partner add: exit" 0 "$rc"
check "zh_CN: partner add's sentence" "伙伴 G3 已添加（reseller，上级 G1，推荐人 G2）" "$(cat "$OUT")"
hq_in zh_CN.UTF-8 payout G1 2.00 --ref BANK-2
check "zh_CN: payout: exit" 0 "$rc"
# 10.00 - 2.00 = 8.00
check "zh_CN: payout's sentence" "支付 2.00 CNY 给 G1 已记录（参考号 BANK-2，账期 2026-03）；当前余额 8.00 CNY" \
    "$(cat "$OUT")"
hq_in zh_CN.UTF-8 payout G1 2.00 --ref BANK-2
zh_rc=$rc
hq_in C.UTF-8 payout G1 2.00 --ref BANK-2
check "a reference used twice: exit 73 under both" "73 73" "$zh_rc $rc"
hq_in zh_CN.UTF-8 site rename SHOP1 "一号店"
check "zh_CN: site rename: exit" 0 "$rc"
check "zh_CN: site rename's sentence" "门店 SHOP1 的名称为 一号店" "$(cat "$OUT")"
hq_in zh_CN.UTF-8 notice send --site SHOP1 "盘点"
check "zh_CN: notice send: exit" 0 "$rc"
check "zh_CN: notice send's sentence" "通知 2 已发送至门店 SHOP1：1 家门店将在下次同步时收到" "$(cat "$OUT")"
hq_in zh_CN.UTF-8 verify
check "zh_CN: verify: exit" 0 "$rc"
check_has "zh_CN: verify's sentence" "verify：校验通过（" "$OUT"

# a void and the same void again: one word for the correction (更正, as the
# statement's column and corrections name it; 调整 is an adjustment) in
# both sentences; correction 1 is G2's adjustment above, so the void is 2
hq_in zh_CN.UTF-8 sale void --site SHOP1 --receipt 2 --reason "录错"
check "zh_CN: sale void: exit" 0 "$rc"
check_has "zh_CN: sale void's sentence names correction 2" "（更正 2）" "$OUT"
hq_in zh_CN.UTF-8 sale void --site SHOP1 --receipt 2 --reason "录错"
zh_rc=$rc
check "zh_CN: the same void again" \
    "dealernet-hq: error: 销售 <id> 已于 <time> 由 <key> 作废（更正 2）：一笔销售只能作废一次" \
    "$(sed -e 's/销售 [0-9a-f-]\{36\} /销售 <id> /' -e 's/已于 [^ ]* 由 [^ ]* 作废/已于 <time> 由 <key> 作废/' "$ERR")"
hq_in C.UTF-8 sale void --site SHOP1 --receipt 2 --reason "wrong"
check "the same void again: one exit under both" "$zh_rc" "$rc"

net_finish
