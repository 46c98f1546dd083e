#!/bin/sh
# hq_payrun.sh -- payout runs end to end (issue 15, item 2): dealernet-hq's
# partner bank, payout run / approve / cancel / runs / show / export against a
# real server on loopback, every figure worked by hand below.
#
# The scenario (CNY, deploy/plan.ini; partners DEALER-BJ, -SH, -GZ, -SZ and
# -CD, dealers under HQ):
#   2026-10-06  adjustments (October): BJ +150.00, SH +100.00, GZ +99.99,
#               SZ +500.00, CD +300.00; SZ suspended; bank details for BJ,
#               SH, GZ and SZ (CD has none).  A run of October is refused:
#               October is still open.
#   2026-11-02  October closed; BJ paid 20.00 by hand (into November); SH
#               +40.00 (November).
#   A run of 2026-10 at --min 100.00 then pays each partner its October
#   closing balance less what was paid out after October, at most its
#   balance now:
#     BJ  min(150.00 - 20.00, 130.00) = 130.00   payout RUN-1/DEALER-BJ
#     SH  min(100.00 - 0, 140.00)    = 100.00   payout RUN-1/DEALER-SH (the
#                                               minimum is in)
#     GZ  99.99                              left out: below the minimum
#     SZ  500.00                             left out: suspended
#     CD  300.00                             left out: no bank details
#   230.00 in all.  Approval is refused while BJ's balance is 130.00 - 40.00
#   = 90.00, then posts both; BJ's November closes at 130.00 - 130.00 = 0.00,
#   SH's at 100.00 + 40.00 - 100.00 = 40.00.  A second run of October finds
#   nothing to pay (BJ 150.00 - 150.00, SH 100.00 - 100.00).  With CD's bank
#   details set and SZ resumed, run 2 would pay SZ 500.00 + CD 300.00 =
#   800.00; it is cancelled.
set -eu
. "$(dirname "$0")/../lib/net.sh"
net_init hq_payrun
net_pin_clock '2026-10-06 09:00:00'
net_need cmp stat od

server_init
server_start
network_init
hq_must plan set deploy/plan.ini
for p in DEALER-BJ DEALER-SH DEALER-GZ DEALER-SZ DEALER-CD; do
    hq_must partner add "$p" --name "$p" --kind dealer --parent HQ
done
hq_must adjust DEALER-BJ 150.00 --reason "October commission"
hq_must adjust DEALER-SH 100.00 --reason "October commission"
hq_must adjust DEALER-GZ 99.99 --reason "October commission"
hq_must adjust DEALER-SZ 500.00 --reason "October commission"
hq_must adjust DEALER-CD 300.00 --reason "October commission"
hq_must partner suspend DEALER-SZ

# -- bank details ------------------------------------------------------------------

hq partner bank DEALER-BJ --account "6222 0200 1122 3344 556" --name 张三 --bank 工商银行北京分行
check "partner bank: exit" 0 "$rc"
check "partner bank: says so" \
    "bank details of partner DEALER-BJ set: account 6222020011223344556, 张三, 工商银行北京分行; runs proposed from now on pay to it" \
    "$(cat "$OUT")"
hq partner bank DEALER-SH --account 6217000010001234567 --name 李四 --bank 建设银行 --json
check "partner bank --json: exit" 0 "$rc"
check "partner bank --json: the account" "6217000010001234567" "$(json "$OUT" '$.account')"
check "partner bank --json: not replaced" "0" "$(json "$OUT" '$.replaced')"
hq_must partner bank DEALER-GZ --account 6228480000000000011 --name 王五 --bank 农业银行
hq_must partner bank DEALER-SZ --account 6216610000000000022 --name 赵六 --bank 中国银行
hq partner bank DEALER-CD --account 1234567 --name 钱七 --bank 交通银行
check "partner bank, 7 digits: exit" 64 "$rc"
check_one_error "partner bank, 7 digits" \
    "--account must be an account number of 8 to 32 digits (spaces between them are ignored)"
hq partner bank DEALER-CD --account 12345678 --name 钱七
check "partner bank without --bank: exit" 64 "$rc"
check_one_error "partner bank without --bank" \
    "partner bank needs --account NUMBER, --name NAME and --bank BANK"
check "no bank details for CD" 0 "$(sq "SELECT count(*) FROM partner_banks p JOIN partners q
                                        ON q.id = p.partner_id WHERE q.code = 'DEALER-CD'")"

# October is open on 2026-10-06: no run of it
hq payout run --period 2026-10 --min 100.00
check "run of an open month: exit" 65 "$rc"
check_one_error "run of an open month" \
    "period 2026-10 is not closed: a payout run pays a closed month's balances; close it first (dealernet-hq period close 2026-10)"

# -- November: October closed, one payout by hand ------------------------------------

server_stop
net_pin_clock '2026-11-02 09:00:00'
server_start
hq_must period close 2026-10
hq_must payout DEALER-BJ 20.00 --ref "ICBC 2026-11-02 #1"
hq_must adjust DEALER-SH 40.00 --reason "November commission"

# who is left out of October's runs, and why (the table after the payouts)
printf '%s\n' \
    "" \
    "left out:" \
    "PARTNER    AMOUNT  WHY" \
    "DEALER-CD  300.00  no bank details (see: partner bank)" \
    "DEALER-GZ  99.99   below the minimum" \
    "DEALER-SZ  500.00  suspended (see: partner resume)" >"$T/left_out"
# run 1's payouts, as a table
printf '%s\n' \
    "PARTNER    AMOUNT  REFERENCE        ACCOUNT_NAME  ACCOUNT_NUMBER       BANK" \
    "DEALER-BJ  130.00  RUN-1/DEALER-BJ  张三          6222020011223344556  工商银行北京分行" \
    "DEALER-SH  100.00  RUN-1/DEALER-SH  李四          6217000010001234567  建设银行" \
    >"$T/lines"
hq payout run --period 2026-10 --min 100.00
check "payout run: exit" 0 "$rc"
echo "run 1 proposed for 2026-10: 2 payouts of 230.00 CNY in all; nothing is posted until it is approved: dealernet-hq payout approve 1" |
    cat - "$T/lines" "$T/left_out" >"$T/expected"
check "payout run: the run" "$(cat "$T/expected")" "$(cat "$OUT")"
check "payout run: nothing posted" 1 \
    "$(sq "SELECT count(*) FROM transfers WHERE code = 'payout'")"

# the same question: the same run
hq payout run --period 2026-10 --min 100.00
check "payout run again: exit" 0 "$rc"
check_has "payout run again: the same run" \
    "run 1 of 2026-10 at or above 100.00 CNY was proposed already, at 2026-11-02T09:" "$OUT"
check_has "payout run again: not a second" \
    "by hq: the same run, not a second; approve it: dealernet-hq payout approve 1" "$OUT"
check "payout run again: one run" 1 "$(sq "SELECT count(*) FROM payout_runs")"
hq payout run --period 2026-10 --min 100.00 --csv
check "payout run --csv: the payouts" \
    "partner,amount,reference,account_name,account_number,bank
DEALER-BJ,130.00,RUN-1/DEALER-BJ,张三,6222020011223344556,工商银行北京分行
DEALER-SH,100.00,RUN-1/DEALER-SH,李四,6217000010001234567,建设银行" \
    "$(tr -d '\r' <"$OUT")"
hq payout run --period 2026-10 --min 50.00
check "another minimum: exit" 73 "$rc"
check_one_error "another minimum" \
    "run 1 of 2026-10 is proposed already, with --min 100.00: approve it (dealernet-hq payout approve 1) or cancel it (dealernet-hq payout cancel 1) first"
hq payout run --period 2026-10 --min 1.001
check "--min with 3 decimals: exit" 64 "$rc"
check_one_error "--min with 3 decimals" \
    "--min '1.001' is not an amount of 0 or more in CNY (at most 2 decimals, like 100.00)"
hq payout run --period 2026-10
check "payout run without --min: exit" 64 "$rc"
check_one_error "payout run without --min" \
    "payout run needs --period YYYY-MM and --min AMOUNT (like 100.00)"

hq payout show 1 --json
check "payout show --json: exit" 0 "$rc"
cp "$OUT" "$T/run1.json"
check "payout show: state" "proposed" "$(json "$T/run1.json" '$.state')"
check "payout show: total" "230.00" "$(json "$T/run1.json" '$.total')"
check "payout show: total in fen" 23000 "$(json "$T/run1.json" '$.total_minor')"
check "payout show: GZ's reason" "below_min" "$(json "$T/run1.json" '$.left_out[1].reason')"

# -- approval ------------------------------------------------------------------------

# BJ's balance falls to 130.00 - 40.00 = 90.00 below its line: refused, nothing posted
hq_must adjust DEALER-BJ -40.00 --reason "clawed back by hand"
hq payout approve 1
check "approve, a balance fell: exit" 65 "$rc"
check_one_error "approve, a balance fell" \
    "run 1 cannot be approved, nothing was posted: DEALER-BJ's line is 130.00 CNY, only 90.00 is payable now. Cancel it (dealernet-hq payout cancel 1) and propose 2026-10 again"
check "approve refused: nothing posted" 1 \
    "$(sq "SELECT count(*) FROM transfers WHERE code = 'payout'")"
hq_must adjust DEALER-BJ 40.00 --reason "clawback undone"

hq payout approve 1
check "approve: exit" 0 "$rc"
echo "run 1 approved: 2 payouts of 230.00 CNY posted, each with its reference" |
    cat - "$T/lines" "$T/left_out" >"$T/expected"
check "approve: says so, with the payouts posted" "$(cat "$T/expected")" "$(cat "$OUT")"
check "approve: the payouts and their references" \
    "RUN-1/DEALER-BJ|13000|2026-11
RUN-1/DEALER-SH|10000|2026-11" \
    "$(sq "SELECT r.ref, t.amount, t.period FROM payout_refs r JOIN transfers t
           ON t.id = r.transfer_id WHERE r.ref LIKE 'RUN-%' ORDER BY r.ref")"
hq statement DEALER-BJ --period 2026-11 --json
check "BJ's November closes at 0.00" "0.00" "$(json "$OUT" '$.closing')"
hq statement DEALER-SH --period 2026-11 --json
check "SH's November closes at 40.00" "40.00" "$(json "$OUT" '$.closing')"
hq payout show 1 --json
APPROVED=$(json "$OUT" '$.approved')
hq payout approve 1
check "approve again: exit" 0 "$rc"
check "approve again: says when" \
    "run 1 was approved at $APPROVED by hq already: nothing was posted this time" \
    "$(head -n 1 "$OUT")"
check "approve again: nothing more posted" 3 \
    "$(sq "SELECT count(*) FROM transfers WHERE code = 'payout'")"
hq payout cancel 1
check "cancel an approved run: exit" 65 "$rc"
check_one_error "cancel an approved run" \
    "run 1 was approved at $APPROVED by hq: its payouts are posted; correct one with dealernet-hq adjust"

# what is left of October: nothing to pay, the same partners left out
hq payout run --period 2026-10 --min 100.00
check "run again after approval: exit" 0 "$rc"
printf '%s\n' \
    "nothing to pay for 2026-10 at or above 100.00 CNY" \
    >"$T/expected"
cat "$T/left_out" >>"$T/expected"
check "run again after approval: nothing to pay" "$(cat "$T/expected")" "$(cat "$OUT")"
check "run again after approval: no run stored" 1 "$(sq "SELECT count(*) FROM payout_runs")"

# -- the bank files --------------------------------------------------------------------

printf '%s\r\n' \
    "reference,partner,account_name,account_number,bank,amount,currency,period" \
    "RUN-1/DEALER-BJ,DEALER-BJ,张三,6222020011223344556,工商银行北京分行,130.00,CNY,2026-10" \
    "RUN-1/DEALER-SH,DEALER-SH,李四,6217000010001234567,建设银行,100.00,CNY,2026-10" \
    >"$T/generic.expected"
hq payout export 1 --format generic
check "export to stdout: exit" 0 "$rc"
check "export to stdout: the bytes" "" "$(cmp "$OUT" "$T/generic.expected" 2>&1 || true)"
check "export to stdout: the summary on stderr" \
    "run 1 of 2026-10: 2 payouts, 230.00 CNY, in the generic layout, written to standard output" \
    "$(cat "$ERR")"
hq payout export 1 --format generic -o "$T/run1.csv"
check "export -o: exit" 0 "$rc"
check "export -o: the bytes" "" "$(cmp "$T/run1.csv" "$T/generic.expected" 2>&1 || true)"
check "export -o: private" 600 "$(stat -c %a "$T/run1.csv")"
check "export -o: the summary" \
    "run 1 of 2026-10: 2 payouts, 230.00 CNY, in the generic layout, written to $T/run1.csv" \
    "$(cat "$OUT")"
hq payout export 1 --format generic --output "$T/run1.csv"
check "export over a file: exit" 73 "$rc"
check_one_error "export over a file" \
    "cannot create $T/run1.csv: File exists (export never overwrites a file: give a new name, or --force)"
hq payout export 1 --format csv --excel -o "$T/run1.csv" --force
check "export --force --excel: exit" 0 "$rc"
check "export --excel: a byte-order mark first" "ef bb bf 72" \
    "$(od -An -tx1 -N4 "$T/run1.csv" | tr -s ' ' | sed 's/^ //')"
check "export --excel: then the same bytes" "" \
    "$(tail -c +4 "$T/run1.csv" | cmp - "$T/generic.expected" 2>&1 || true)"

printf '%s\r\n' \
    "币种,日期,明细标志,顺序号,付款账号开户行,付款账号/卡号,付款账号名称/卡名称,收款账号开户行,收款账号省份,收款账号地市,收款账号地区码,收款账号,收款账号名称,金额,汇款用途,备注信息,汇款方式,收款账户短信通知手机号码,自定义序号" \
    "RMB,20261102,,1,工行,0200001234567890,某某商贸有限公司,工商银行北京分行,,,,6222020011223344556,张三,130.00,佣金,2026-10,,,RUN-1/DEALER-BJ" \
    "RMB,20261102,,2,工行,0200001234567890,某某商贸有限公司,建设银行,,,,6217000010001234567,李四,100.00,佣金,2026-10,,,RUN-1/DEALER-SH" \
    >"$T/icbc.expected"
hq payout export 1 --format icbc --payer-account "0200 0012 3456 7890" \
    --payer-name 某某商贸有限公司 -o "$T/icbc.csv"
check "export icbc: exit" 0 "$rc"
check "export icbc: the bytes" "" "$(cmp "$T/icbc.csv" "$T/icbc.expected" 2>&1 || true)"
hq payout export 1 --format icbc -o "$T/icbc2.csv"
check "export icbc without the payer: exit" 64 "$rc"
check_one_error "export icbc without the payer" \
    "--format icbc needs --payer-account NUMBER and --payer-name NAME (HQ's account the batch is paid from)"
check "export refused: no file" "no" "$([ -e "$T/icbc2.csv" ] && echo yes || echo no)"
hq payout export 1 --format cmb
check "export, unknown layout: exit" 64 "$rc"
check_one_error "export, unknown layout" "--format 'cmb' is not one of generic (or csv), icbc"

# -- a run cancelled -------------------------------------------------------------------

hq_must partner bank DEALER-CD --account 6222600000000000033 --name 钱七 --bank 交通银行
hq_must partner resume DEALER-SZ
hq payout run --period 2026-10 --min 100.00 --json
check "run 2: exit" 0 "$rc"
check "run 2: its number" 2 "$(json "$OUT" '$.run')"
check "run 2: SZ 500.00 + CD 300.00" "800.00" "$(json "$OUT" '$.total')"
hq payout export 2 --format generic
check "export of a proposed run: exit" 65 "$rc"
check_one_error "export of a proposed run" \
    "run 2 is proposed, not approved: only an approved run's payouts are posted and go to the bank (dealernet-hq payout approve 2)"
hq payout cancel 2
check "cancel: exit" 0 "$rc"
check "cancel: says so" "run 2 cancelled: none of its payouts is posted" "$(head -n 1 "$OUT")"
hq payout approve 2
check "approve a cancelled run: exit" 65 "$rc"
check_one_error "approve a cancelled run" \
    "run 2 was cancelled at "
check "nothing of run 2 posted" 3 "$(sq "SELECT count(*) FROM transfers WHERE code = 'payout'")"

hq payout runs --csv
check "payout runs --csv: exit" 0 "$rc"
check "payout runs --csv: two runs, newest first" \
    "run,period,min,currency,state,payouts,total,left_out
2,2026-10,100.00,CNY,cancelled,2,800.00,1
1,2026-10,100.00,CNY,approved,2,230.00,3" \
    "$(tr -d '\r' <"$OUT" | cut -d, -f1-8)"

# -- the rest -------------------------------------------------------------------------

hq payout DEALER-SH 1.00 --ref RUN-7/DEALER-SH
check "payout with a run's reference: exit" 64 "$rc"
check_one_error "payout with a run's reference" \
    "--ref 'RUN-7/DEALER-SH': references RUN-N/... are the payout runs' own; give the bank transfer's reference"
hq payout approve seven
check "approve, not a number: exit" 64 "$rc"
check_one_error "approve, not a number" \
    "'seven' is not a payout run's number (see: dealernet-hq payout runs)"
hq verify
check "verify with the runs' payouts: exit" 0 "$rc"
# the log names partners, never an account number
check "no account number in the server's log" 0 \
    "$(grep -c -e 6222020011223344556 -e 6217000010001234567 -e 0200001234567890 "$SRV_LOG" || true)"
check_has "the log names the partner" "bank details of partner DEALER-BJ set" "$SRV_LOG"
for cmd in "partner bank" "payout run" "payout approve" "payout cancel" "payout runs" \
    "payout show" "payout export"; do
    # shellcheck disable=SC2086 # two words
    hq $cmd --help
    check "$cmd --help: exit" 0 "$rc"
    check_has "$cmd --help: usage" "usage: dealernet-hq $cmd " "$OUT"
done

net_finish
