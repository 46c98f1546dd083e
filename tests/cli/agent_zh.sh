#!/bin/sh
# agent_zh.sh -- dealernet-agent in Chinese (issue 13, part 1), against the
# real agent with its clock pinned (libfaketime), no server:
#   - LANG=zh_CN.UTF-8 prints --help, 'sale --help', a usage error, a bad
#     line, a sale and 'close' in Chinese (the exact translated lines);
#   - every command exits with the code it has under LANG=C.UTF-8;
#   - --json is the same in both languages: byte for byte for what reads
#     one agent.db (close, sales, receipt, status), and, for a sale recorded
#     in each of two copies of one folder at one instant, the same object
#     but for the sale's id (random by design).
# Figures: RICE at 45.00; a sale of 2 is 2 x 45.00 = 90.00; two such sales
# make the day's gross 180.00, net 180.00, receipts 0001 to 0002.
set -eu
. "$(dirname "$0")/../lib/net.sh"
net_init agent_zh
net_need python3
command -v faketime >/dev/null 2>&1 || { echo "agent_zh: skipped, faketime is not installed"; exit 77; }

WHEN='2026-12-01 10:00:00'
# run LANGUAGE_LOCALE FOLDER ARGS...: the agent at WHEN in that locale
run() {
    locale=$1
    folder=$2
    shift 2
    set +e
    env -u FAKETIME_SHARED LANG="$locale" LD_PRELOAD="$(net_faketime_lib)" \
        FAKETIME="@$WHEN" FAKETIME_DONT_FAKE_MONOTONIC=1 \
        ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
        $WRAP "$AGENT" -d "$folder" "$@" >"$OUT" 2>"$ERR" </dev/null
    rc=$?
    set -e
}
# both NAME FOLDER ARGS...: the command in English (output kept in
# $T/en.out, $T/en.err) then in Chinese ($OUT, $ERR); the exit codes agree
both() {
    name=$1
    shift
    run C.UTF-8 "$@"
    en_rc=$rc
    cp "$OUT" "$T/en.out"
    cp "$ERR" "$T/en.err"
    run zh_CN.UTF-8 "$@"
    check "$name: exit code as in English" "$en_rc" "$rc"
}

S=$T/shop
run C.UTF-8 "$S" init --site SHOP-Z --partner D1
check "init" 0 "$rc"
run C.UTF-8 "$S" catalog set RICE 45.00 --name 东北大米
check "catalog set" 0 "$rc"
cp -R "$S" "$T/shop2"

# --help and a command's help
both "--help" "$S" --help
check "--help: exit" 0 "$rc"
check "--help: first line" "用法：dealernet-agent [-d DIR] [-q] COMMAND [OPTIONS]" "$(sed -n 1p "$OUT")"
check_has "--help: the commands' heading" "命令：" "$OUT"
check_has "--help: English under C" "usage: dealernet-agent [-d DIR] [-q] COMMAND [OPTIONS]" "$T/en.out"
both "sale --help" "$S" sale --help
check "sale --help: exit" 0 "$rc"
check "sale --help: usage line" \
    "用法：dealernet-agent [-d DIR] sale --line SKU:QTY[@PRICE] [--line ...] [--member PHONE]" \
    "$(sed -n 1p "$OUT")"
check_has "sale --help: help text" "记录一笔销售，打印其编号和合计。" "$OUT"
check_has "sale --help: English under C" "Records one sale and prints its id and total." "$T/en.out"

# a usage error (64) and a bad line (65): one line each, Chinese after "error:"
both "sale without --line" "$S" sale
check "sale without --line: exit" 64 "$rc"
check "sale without --line: the line" \
    "dealernet-agent: error: 一笔销售至少需要一个 --line SKU:QTY[@PRICE]（见：dealernet-agent sale --help）" \
    "$(cat "$ERR")"
check "sale without --line: English under C" \
    "dealernet-agent: error: a sale needs at least one --line SKU:QTY[@PRICE] (see: dealernet-agent sale --help)" \
    "$(cat "$T/en.err")"
both "sale --line BAD" "$S" sale --line BAD
check "sale --line BAD: exit" 65 "$rc"
check "sale --line BAD: the line" "dealernet-agent: error: 行 'BAD' 不是 SKU:QTY[@PRICE] 格式" "$(cat "$ERR")"
both "unknown command" "$S" bogus
check "unknown command: exit" 64 "$rc"
check "unknown command: the line" "dealernet-agent: error: 未知命令 'bogus'（见：dealernet-agent --help）" "$(cat "$ERR")"
both "earnings before a sync" "$S" earnings
check "earnings before a sync: exit" 66 "$rc"
check "earnings before a sync: the line" \
    "dealernet-agent: error: 尚未收到收益：请运行 'dealernet-agent sync'" "$(cat "$ERR")"

# an import row whose item is no SKU and too long a name (73 characters):
# the refusal quotes its first 40 bytes at a whole character ('a' and 13
# Chinese characters of 3 bytes) and ends on its key part, valid UTF-8
long="a$(printf '东北大米五公斤装%.0s' 1 2 3 4 5 6 7 8 9)"
printf 'kind,ref,sku,quantity,unit_price,member_phone,channel,seller,phone,name,referrer,household\nsale,R1,%s,1,10.00,,,,,,,\n' \
    "$long" >"$T/long.csv"
both "import of a long non-ASCII item" "$S" import "$T/long.csv" --dry-run
check "import of a long non-ASCII item: exit" 65 "$rc"
check "import of a long non-ASCII item: the line" \
    "dealernet-agent: error: $T/long.csv：第 2 行，sku 列：'a东北大米五公斤装东北大米五' 不是商品编码：代码只用 ASCII 字符（1 到 64 个可打印字符，不含空格、':' 和 '@'），名称不是代码；未导入任何内容" \
    "$(cat "$ERR")"
check "import of a long non-ASCII item: English under C" \
    "dealernet-agent: error: $T/long.csv: line 2, column sku: 'a东北大米五公斤装东北大米五' is not a SKU: codes are ASCII (1 to 64 printable characters but space, ':' and '@'), names are not; nothing was imported" \
    "$(cat "$T/en.err")"

# a sale: Chinese in shop, English in shop2, at the same instant
run zh_CN.UTF-8 "$S" sale --line RICE:2 --pay wechat
check "sale: exit" 0 "$rc"
check "sale: the line, 2 x 45.00 = 90.00" "销售 <id>  90.00 CNY  （序号 1）" \
    "$(sed -n 1p "$OUT" | sed 's/ [0-9a-f-]\{36\} / <id> /')"
check "sale: receipt" "小票号 0001" "$(sed -n 2p "$OUT")"
run C.UTF-8 "$T/shop2" sale --line RICE:2 --pay wechat
check "sale in English: exit" 0 "$rc"
check "sale in English: receipt" "receipt 0001" "$(sed -n 2p "$OUT")"
# sale --json in each copy: the same object but for the id
run zh_CN.UTF-8 "$S" sale --line RICE:2 --pay wechat --json
check "sale --json: exit" 0 "$rc"
cp "$OUT" "$T/zh.json"
run C.UTF-8 "$T/shop2" sale --line RICE:2 --pay wechat --json
cp "$OUT" "$T/en.json"
check "sale --json: the same keys and values but the id" same "$(python3 - "$T/zh.json" "$T/en.json" <<'EOF'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
ids = a.pop("id"), b.pop("id")
print("same" if a == b and ids[0] != ids[1] and a["receipt"] == "0002" and
      a["total_minor"] == 9000 else "differ: %r %r" % (a, b))
EOF
)"

# close: the day in Chinese; 2 sales x 90.00 = 180.00
both "close" "$S" close
check "close: exit" 0 "$rc"
check "close: heading" "日结         SHOP-Z  2026-12-01" "$(sed -n 1p "$OUT")"
check "close: sales" "销售笔数     2，小票 0001 至 0002" "$(sed -n 2p "$OUT")"
check "close: gross" "销售额       180.00 CNY" "$(sed -n 3p "$OUT")"
check "close: refunds" "退款         0 笔，0.00 CNY" "$(sed -n 4p "$OUT")"
check "close: net" "净额         180.00 CNY" "$(sed -n 5p "$OUT")"
check "close: not synced" "待同步       当天 2 个事件（共 2 个）：请运行 'dealernet-agent sync'" \
    "$(sed -n 7p "$OUT")"
check "close: English under C" "gross        180.00 CNY" "$(sed -n 3p "$T/en.out")"

# --json reading one agent.db: byte for byte in both languages
for cmd in "close --json" "sales --json" "receipt --last --json" "status --json" \
    "member list --json" "catalog list --json"; do
    # shellcheck disable=SC2086
    both "$cmd" "$S" $cmd
    check "$cmd: exit" 0 "$rc"
    if cmp -s "$OUT" "$T/en.out"; then same=yes; else same=no; fi
    check "$cmd: the same bytes in both languages" yes "$same"
done

net_finish
