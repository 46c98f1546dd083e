#!/bin/sh
# i18n_cli.sh -- dealernet-hq in the language of LANG, end to end (issue 13,
# item 1): a real server (itself under LANG=C.UTF-8) and dealernet-hq.
#
#   - an admin error comes back in HQ's language: `partner add ... --parent
#     NOPE` reads "伙伴 NOPE 不存在" under LANG=zh_CN.UTF-8 and "partner NOPE
#     does not exist" under LANG=C.UTF-8, exit 66 (EX_NOINPUT) both; the
#     server's log line keeps its English wording, and the English request
#     after the Chinese one reads English (the server went back);
#   - a table's headers are Chinese (代码 名称 类型 上级 ..., po/zh_CN/columns.po)
#     while --csv's header row and --json stay the keys, byte for byte the
#     same as under LANG=C.UTF-8.
set -eu
. "$(dirname "$0")/../lib/net.sh"
net_init i18n_cli
net_pin_clock '2026-03-15 10:00:00'

server_init
server_start
network_init

hq_in zh_CN.UTF-8 partner add P9 --name "Nine" --kind reseller --parent NOPE
check "zh_CN: exit" 66 "$rc"
check "zh_CN: the error, in Chinese" "dealernet-hq: error: 伙伴 NOPE 不存在" "$(cat "$ERR")"
hq_in C.UTF-8 partner add P9 --name "Nine" --kind reseller --parent NOPE
check "C: exit" 66 "$rc"
check "C: the error, in English" "dealernet-hq: error: partner NOPE does not exist" "$(cat "$ERR")"
check "the server logs both refusals with its English wording" 2 \
    "$(grep -c 'admin hq: partner.add refused: ' "$SRV_LOG")"

hq_in zh_CN.UTF-8 partner list
check "zh_CN: table headers" "代码 名称 类型 上级 推荐人 状态 加入日期 创建时间" \
    "$(head -n 1 "$OUT" | tr -s ' ')"
check "zh_CN: rows keep their values" "D1 Dealer one dealer HQ - active" \
    "$(sed -n 2p "$OUT" | tr -s ' ' | cut -d' ' -f1-7)"
hq_in zh_CN.UTF-8 partner list --csv
cp "$OUT" "$T/zh.csv"
hq_in C.UTF-8 partner list --csv
check "zh_CN: CSV header row is the keys" "code,name,kind,parent,recruiter,status,joined,created" \
    "$(head -n 1 "$T/zh.csv" | tr -d '\r')"
check "zh_CN: CSV is the same bytes as under C" same \
    "$(cmp -s "$OUT" "$T/zh.csv" && echo same || echo differs)"
hq_in zh_CN.UTF-8 partner list --json
cp "$OUT" "$T/zh.json"
hq_in C.UTF-8 partner list --json
check "zh_CN: JSON is the same bytes as under C" same \
    "$(cmp -s "$OUT" "$T/zh.json" && echo same || echo differs)"
hq_in C.UTF-8 partner list
check "C: table headers" "CODE NAME KIND PARENT RECRUITER STATUS JOINED CREATED" \
    "$(head -n 1 "$OUT" | tr -s ' ')"

net_finish
