#!/bin/sh
# demo.sh BIN -- a small network end to end, in a throwaway folder.
#
# Starts a central server, sets up a partner tree (HQ, a region, a dealer, a
# community reseller) and the example plan (deploy/plan.ini), adds two
# sites, records sales, refunds and member
# sign-ups at both while offline (referrals, all three channels, a partial
# refund, one phone signed up at both), enrolls and syncs them, and shows
# what each side holds: sites, conflicts, statements, team volume, sales by
# channel, KPIs, referrals, sync health, a full verify, and the shop's
# reminders.  Stops the server and removes everything at the end.
set -eu
BIN=${1:-bin}
DIR=$(mktemp -d /tmp/dealernet-demo.XXXXXX)
SERVER_PID=""
cleanup() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PORT=$((20000 + $$ % 20000))
SYNC="tcp://127.0.0.1:$PORT"
ADMIN="tcp://127.0.0.1:$((PORT + 1))"

# show ARGS...: prints a command so that it pastes into a shell as it ran:
# an argument holding anything but [A-Za-z0-9_./:=+@%,-] goes in single
# quotes.  say TEXT: prints a command line as written (with a comment).
show() {
    line='$'
    for arg in "$@"; do
        case $arg in
        '' | *[!A-Za-z0-9_./:=+@%,-]*)
            arg="'$(printf '%s' "$arg" | sed "s/'/'\\\\''/g")'"
            ;;
        esac
        line="$line $arg"
    done
    printf '\n%s\n' "$line"
}
say() { printf '\n$ %s\n' "$*"; }
shop() { show dealernet-agent "$@"; "$BIN/dealernet-agent" -d "$DIR/shop" "$@"; }
group() { show dealernet-agent "$@"; "$BIN/dealernet-agent" -d "$DIR/group" "$@"; }
hq() { show dealernet-hq "$@"; "$BIN/dealernet-hq" "$@"; }
# enroll WHO CODE: what the clerk does: runs 'dealernet-agent enroll' and
# pastes the enrollment code when asked (here through a pipe).
enroll() {
    show dealernet-agent enroll
    echo "粘贴总部给的注册码 / paste the enrollment code from headquarters: (pasted, not shown)"
    printf '%s\n' "$2" | "$BIN/dealernet-agent" -d "$DIR/$1" enroll
}
id_of() { sed -n 's/.*"id": "\([^"]*\)".*/\1/p'; }

echo "== headquarters starts a server (in $DIR/server)"
show dealernet-server -d server init --sync "$SYNC" --admin "$ADMIN"
"$BIN/dealernet-server" -d "$DIR/server" init --sync "$SYNC" --admin "$ADMIN" |
    tee "$DIR/init.txt"
KEY=$(sed -n 's/^server public key: *//p' "$DIR/init.txt")
"$BIN/dealernet-server" -d "$DIR/server" run 2>"$DIR/server.log" &
SERVER_PID=$!
export DEALERNET_SERVER="$ADMIN" DEALERNET_SERVER_KEY="$KEY"
export DEALERNET_HQ_KEY="$DIR/server/hq.key"
tries=0
until "$BIN/dealernet-hq" -q --timeout 1 partner list >/dev/null 2>&1; do
    tries=$((tries + 1))
    if [ $tries -ge 20 ]; then
        cat "$DIR/server.log"
        exit 1
    fi
done

echo
echo "== the partner tree, and a site for the dealer and one for the reseller"
hq partner add HQ --name "Headquarters" --kind hq
hq partner add REGION-N --name "North region" --kind region --parent HQ
hq partner add DEALER-BJ --name "Beijing dealer" --kind dealer --parent REGION-N
hq partner add RESELLER-7 --name "Group leader Zhao" --kind reseller --parent DEALER-BJ
hq partner list
hq plan set "$(dirname "$0")/plan.ini"
# --qr: the QR code a terminal shows unasked (tee makes stdout a pipe)
hq site add SHOP-BJ1 --partner DEALER-BJ --qr | tee "$DIR/shop-code.txt"
# the code by its shape, not its label: the label is in the reader's language
CODE_SHOP=$(grep -o 'DN1:[A-Za-z0-9_-]*' "$DIR/shop-code.txt" | head -n 1)
say "dealernet-hq -q site add GROUP-7 --partner RESELLER-7   # -q prints just the enrollment code"
CODE_GROUP=$("$BIN/dealernet-hq" -q site add GROUP-7 --partner RESELLER-7)
echo "$CODE_GROUP"

echo
echo "== the dealer's shop records, offline"
shop init --site SHOP-BJ1 --partner DEALER-BJ --currency CNY
shop catalog set RICE-5KG 59.90 --category rice
shop catalog set OIL-1L 18.50 --category oil
shop member add --phone "+86 138-0013-8000" --name "Wang Fang" --household 4
shop member add --phone "+86 139 0013 9000" --name "Li Lei" --referrer "+86 138 0013 8000"
shop sale --line RICE-5KG:2 --line OIL-1L:1 --member +8613800138000
shop sale --line RICE-5KG:1 --member +8613900139000 --channel online
SALE=$("$BIN/dealernet-agent" -d "$DIR/shop" sale --line OIL-1L:4 --json | id_of)
say "dealernet-agent sale --line OIL-1L:4   # sale $SALE"
shop refund "$SALE" --line OIL-1L:1
shop status

echo
echo "== the reseller records a group buy, offline"
group init --site GROUP-7 --partner RESELLER-7 --currency CNY
group member add --phone 13700137000 --name "Zhao Min" --referrer RESELLER-7
group member add --phone "+86 138 0013 8000" --name "Wang F."
BUY=$("$BIN/dealernet-agent" -d "$DIR/group" sale --line RICE-5KG:10@55.00 \
      --channel community --member 13700137000 --json | id_of)
say "dealernet-agent sale --line RICE-5KG:10@55.00 --channel community --member 13700137000   # sale $BUY"
group refund "$BUY" --amount 55.00
group sales

echo
echo "== both enroll, pasting the enrollment code from headquarters, and sync"
enroll shop "$CODE_SHOP"
shop sync
enroll group "$CODE_GROUP"
group sync
shop status

echo
echo "== what headquarters sees"
hq site list
hq member conflicts
hq statement DEALER-BJ
hq statement RESELLER-7
hq member statement "+86 138 0013 8000"
hq sales --partner DEALER-BJ --team --by month
hq sales --by channel
hq kpi
hq referrals
hq sites
hq verify

echo
echo "== the shop's call list: who will run out soon"
shop reminders --days 30
echo
echo "demo done: server stopped, $DIR removed"
