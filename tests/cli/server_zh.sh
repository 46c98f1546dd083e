#!/bin/sh
# server_zh.sh -- what the server answers, in HQ's language (issue 13, item 1):
# a real server (itself under LANG=C.UTF-8, as net.sh pins it) and
# dealernet-hq, given LANG=zh_CN.UTF-8 for one run at a time.
#
#   - four refusals read Chinese, word for word, with the exit codes they
#     have in English: a missing partner (66), a plan refused at its line
#     (65: "第 6 行：..."), the compliance guard naming the article (65:
#     《禁止传销条例》第七条第（三）项, at the demo plan's "1 = 300" line), a
#     period that has not ended (65); the same requests under LANG=C.UTF-8
#     read the English texts, byte for byte as before;
#   - the server's log line keeps its English wording (the reason quoted as
#     HQ read it);
#   - dealernet-server's own command line: --help and init's output read
#     Chinese, with init's "server public key:" line unchanged (scripts read
#     the key from it), and init's refusal of a used folder (exit 73) too.
set -eu
. "$(dirname "$0")/../lib/net.sh"
net_init server_zh
net_pin_clock '2026-03-15 10:00:00'

server_init
server_start
network_init

# hq_zh ARGS...: dealernet-hq ARGS with LANG=zh_CN.UTF-8 (then back to C.UTF-8).
hq_zh() {
    LANG=zh_CN.UTF-8
    export LANG
    hq "$@"
    LANG=C.UTF-8
    export LANG
}
E="dealernet-hq: error:"

# -- a missing partner ---------------------------------------------------------------

hq_zh statement NOPE --period 2026-03
check "zh: missing partner: exit" 66 "$rc"
check "zh: missing partner" "$E 伙伴 NOPE 不存在" "$(cat "$ERR")"
hq statement NOPE --period 2026-03
check "C: missing partner: exit" 66 "$rc"
check "C: missing partner" "$E partner NOPE does not exist" "$(cat "$ERR")"

# -- a plan refused at a line --------------------------------------------------------

# line 6 is "1 = 3x0": a rate that is not a whole number
printf '%s\n' "[plan]" "effective = 2026-01-01" "currency = CNY" "[levels]" "0 = 800" \
    "1 = 3x0" >"$T/bad.ini"
hq_zh plan check "$T/bad.ini"
check "zh: plan line: exit" 65 "$rc"
check "zh: plan line" "$E 第 6 行：第 1 层 比率 '3x0' 不是整数基点" "$(cat "$ERR")"
hq plan check "$T/bad.ini"
check "C: plan line: exit" 65 "$rc"
check "C: plan line" "$E line 6: level 1 rate '3x0' is not a whole number of basis points" \
    "$(cat "$ERR")"

# -- a compliance refusal with its article --------------------------------------------

sed 's/^cap_bps = 1500$/cap_bps = 1500\ncompliance = cn-direct-selling/' deploy/plan.ini \
    >"$T/demo-cn.ini"
LINE=$(grep -n '^1 = 300$' "$T/demo-cn.ini" | head -n 1 | cut -d: -f1)
hq_zh plan set "$T/demo-cn.ini"
check "zh: compliance: exit" 65 "$rc"
check "zh: compliance" \
    "$E 第 $LINE 行：[levels] 对团长的销售支付第 1 层：按下线销售计算报酬（团队计酬），依《禁止传销条例》第七条第（三）项属于传销" \
    "$(cat "$ERR")"
hq plan set "$T/demo-cn.ini"
check "C: compliance: exit" 65 "$rc"
check "C: compliance" \
    "$E line $LINE: [levels] pays level 1 on a reseller's sale: pay computed from a downline's sales (团队计酬) is pyramid selling under 禁止传销条例 art. 7(3)" \
    "$(cat "$ERR")"

# -- a period not ended ----------------------------------------------------------------

# the clock is pinned in 2026-03 (the network's zone: UTC, server_init)
hq_zh period close 2026-03
check "zh: period not ended: exit" 65 "$rc"
check "zh: period not ended" "$E 账期 2026-03 尚未结束：从 2026-04-01T00:00:00.000Z 起可以结账" \
    "$(cat "$ERR")"
hq period close 2026-03
check "C: period not ended: exit" 65 "$rc"
check "C: period not ended" \
    "$E period 2026-03 has not ended yet: it can be closed from 2026-04-01T00:00:00.000Z on" \
    "$(cat "$ERR")"

# the server's log line keeps its English wording, quoting the reason as HQ
# read it
check "the server logs both refusals in its English wording" 2 \
    "$(grep -c 'admin hq: statement refused: ' "$SRV_LOG")"
check_has "the log quotes the Chinese reason" "admin hq: statement refused: 伙伴 NOPE 不存在" \
    "$SRV_LOG"

# -- dealernet-server's command line -----------------------------------------------------

# srv_zh ARGS...: dealernet-server ARGS with LANG=zh_CN.UTF-8.
srv_zh() {
    LANG=zh_CN.UTF-8
    export LANG
    run 30 "$SERVER" "$@"
    LANG=C.UTF-8
    export LANG
}
srv_zh --help
check "zh: --help: exit" 0 "$rc"
check "zh: --help: usage" "用法：dealernet-server [-d DIR] [-v] COMMAND [OPTIONS]" \
    "$(head -n 1 "$OUT")"
check_has "zh: --help: run's help" "运行服务，直到 SIGTERM/SIGINT（端点默认取 init 时的设置）；" "$OUT"
run 30 "$SERVER" --help
check "C: --help: usage" "usage: dealernet-server [-d DIR] [-v] COMMAND [OPTIONS]" \
    "$(head -n 1 "$OUT")"

srv_zh -d "$T/srv2" init --sync tcp://127.0.0.1:1 --admin tcp://127.0.0.1:2 --country 852 \
    --zone Asia/Hong_Kong
check "zh: init: exit" 0 "$rc"
check "zh: init: first line" "已初始化 $T/srv2" "$(sed -n 1p "$OUT")"
check "zh: init: the key's line stays" 40 \
    "$(sed -n 's/^server public key: //p' "$OUT" | tr -d '\n' | wc -c | tr -d ' ')"
check "zh: init: the rest" \
    "总部管理密钥：     $T/srv2/hq.key（供 dealernet-hq --key 使用）|手机号：           未带国家区号的号码按 +852 处理|时区：             Asia/Hong_Kong（日和月从其午夜开始）" \
    "$(sed -n '3,5p' "$OUT" | paste -sd'|' -)"
srv_zh -d "$T/srv2" init
check "zh: init again: exit" 73 "$rc"
check "zh: init again" "dealernet-server: error: $T/srv2 中已有服务器；拒绝覆盖" \
    "$(grep error: "$ERR")"
run 30 "$SERVER" -d "$T/srv2" init
check "C: init again: exit" 73 "$rc"
check "C: init again" "dealernet-server: error: $T/srv2 already holds a server; refusing to overwrite it" \
    "$(grep error: "$ERR")"
net_finish
