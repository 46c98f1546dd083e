#!/bin/sh
# demo.sh BIN -- a small shop, end to end, in a throwaway folder.
#
# Records a catalog, members (one referred by another, one by a partner),
# sales on all three channels, a partial and a full refund, then prints the
# shop's sales, members and status and checks its hash chain.  Grows with the
# project: syncing and the central ledger join it as they are built.
set -eu
BIN=${1:-bin}
DIR=$(mktemp -d /tmp/dealernet-demo.XXXXXX)
trap 'rm -rf "$DIR"' EXIT INT TERM
A="$BIN/dealernet-agent -d $DIR/shop"

step() { printf '\n$ dealernet-agent %s\n' "$*"; $A "$@"; }

echo "== a dealer's shop, recording offline (data in $DIR/shop)"
step init --site SHOP-BJ1 --partner DEALER-BJ --currency CNY
step catalog set RICE-5KG 59.90 --category rice
step catalog set OIL-1L 18.50 --category oil
step member add --phone "+86 138-0013-8000" --name "Wang Fang" --household 4
step member add --phone 13900139000 --name "Li Lei" --referrer "+86 138 0013 8000"
step member add --phone 13700137000 --referrer RESELLER-7
step sale --line RICE-5KG:2 --line OIL-1L:1 --member +8613800138000
step sale --line RICE-5KG:1 --member 13900139000 --channel online
SALE=$($A sale --line RICE-5KG:4@55.00 --channel community --seller RESELLER-7 --json |
       sed -n 's/.*"id": "\([^"]*\)".*/\1/p')
echo "(community group buy recorded as sale $SALE)"
step refund "$SALE" --line RICE-5KG:1
step refund "$SALE"
step member update 13700137000 --name "Zhao Min"
step sales
step member list
step status
step check
