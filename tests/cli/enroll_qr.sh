#!/bin/sh
# enroll_qr.sh -- dealernet-hq draws the enrollment code as a QR code.
#
# Proves, with a real server on loopback in a throwaway folder:
#   - `site add --qr` and `site token --qr` (stdout a file) print the code
#     and below it the same code as a QR code: its lines are, but for the
#     last, exactly what `qrencode -8 -t UTF8` draws of the printed code (so
#     the QR code holds the code, letter for letter), and the last line is
#     the bottom row of the quiet zone alone, all upper half blocks;
#   - without --qr, stdout a file: no QR code; -q --qr prints the code
#     alone, one line; --json --qr is JSON without a block;
#   - on a terminal (script(1) gives one) the QR code is drawn unasked, in
#     colour (ESC[97;40m ... ESC[0m on each line); --no-qr leaves it out;
#   - --qr with --no-qr is refused, exit 64, one line; and --qr is never
#     sent to the server (the server takes the command: exit 0).
set -eu
. "$(dirname "$0")/../lib/net.sh"
net_init enroll_qr
net_need qrencode

server_init
server_start
network_init

# qr_lines FILE: the QR code's lines in FILE (each starts with the quiet
# zone: 4 full blocks, or 4 upper halves on the last line).
qr_lines() { grep -E '^(████|▀▀▀▀)' "$1" || true; }
# code_of FILE: the code of the "enrollment code:" line.
code_of() { sed -n 's/^ *enrollment code: *//p' "$1"; }

# check_qr NAME FILE: FILE holds a QR code of FILE's enrollment code.
check_qr() {
    code=$(code_of "$2")
    check_has "$1: the code" "DN1:" "$2"
    qr_lines "$2" >"$T/qr"
    qrencode -8 -t UTF8 -o - "$code" >"$T/qr.ref"
    lines=$(wc -l <"$T/qr.ref" | tr -d ' ')
    check "$1: as many lines as qrencode draws" "$lines" "$(wc -l <"$T/qr" | tr -d ' ')"
    head -n $((lines - 1)) "$T/qr.ref" >"$T/qr.ref.top"
    head -n $((lines - 1)) "$T/qr" >"$T/qr.top"
    check "$1: qrencode's drawing of the printed code, but for the last line" \
        "" "$(cmp "$T/qr.ref.top" "$T/qr.top" 2>&1)"
    width=$(head -n 1 "$T/qr" | sed 's/█/x/g' | tr -d '\n' | wc -c | tr -d ' ')
    check "$1: the last line, the quiet zone's last row" \
        "$(printf "%${width}s" '' | sed 's/ /▀/g')" "$(tail -n 1 "$T/qr")"
}

hq site add SHOP1 --partner D1 --qr
check "site add --qr: exit" 0 "$rc"
cp "$OUT" "$T/add.out"
check_qr "site add --qr" "$T/add.out"

hq site token SHOP1 --qr
check "site token --qr: exit" 0 "$rc"
cp "$OUT" "$T/token.out"
check_qr "site token --qr" "$T/token.out"
check_has "site token --qr: what to do after it" "dealernet-agent enroll" "$T/token.out"

hq site token SHOP1
check "site token, stdout a file: exit" 0 "$rc"
check "site token, stdout a file: no QR code" "" "$(qr_lines "$OUT")"

hq -q site token SHOP1 --qr
check "-q site token --qr: exit" 0 "$rc"
check "-q site token --qr: one line" 1 "$(wc -l <"$OUT" | tr -d ' ')"
check "-q site token --qr: the code alone" "DN1:" "$(cut -c 1-4 "$OUT")"

hq site token SHOP1 --qr --json
check "site token --qr --json: exit" 0 "$rc"
check "site token --qr --json: JSON with the code" "DN1:" \
    "$(json "$OUT" '$.enrollment_code' | cut -c 1-4)"
check "site token --qr --json: no block" 0 "$(grep -c '█' "$OUT" || true)"

hq site token SHOP1 --qr --no-qr
check "--qr --no-qr: exit" 64 "$rc"
check_one_error "--qr --no-qr" "--qr and --no-qr exclude each other"

# -- on a terminal ---------------------------------------------------------------

export DEALERNET_SERVER="$ADMIN_EP" DEALERNET_SERVER_KEY="$KEY" DEALERNET_HQ_KEY="$SRV/hq.key"
tty_run() {
    set +e
    timeout -k 5 60 script -qec "$HQ site token SHOP1 $1" /dev/null </dev/null >"$OUT" 2>"$ERR"
    rc=$?
    set -e
}
tty_run ""
check "on a terminal: exit" 0 "$rc"
check "on a terminal: drawn unasked, each line in colour" "$lines" \
    "$(grep -c "$(printf '\033')\[97;40m[█▀▄ ]*$(printf '\033')\[0m" "$OUT" || true)"
tty_run "--no-qr"
check "on a terminal, --no-qr: exit" 0 "$rc"
check_has "on a terminal, --no-qr: the code" "DN1:" "$OUT"
check "on a terminal, --no-qr: no QR code" 0 "$(grep -c '█' "$OUT" || true)"

net_finish
