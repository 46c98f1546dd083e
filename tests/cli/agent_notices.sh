#!/bin/sh
# agent_notices.sh -- HQ's notices reach the shops (issue 14, item 5), end to
# end with a real server, dealernet-hq and three agents on loopback.
#
# The tree:  HQ -+- R-EAST -+- D-E1: SHOP-E1
#                |          +- D-E2: SHOP-E2
#                +- R-WEST --- D-W1: SHOP-W1
# Proves:
#   - `notice send` to all (notice 1, 3 sites), to R-EAST's subtree (notice
#     2, Chinese, two lines: 2 sites) and to SHOP-W1 (notice 3, 1 site)
#     prints who receives it; `notice list` shows them newest first;
#   - each site's `sync` prints exactly its notices, one line each
#     ("notice N from HQ: " and the first line, " ..." when the text goes
#     on): SHOP-E1 and SHOP-E2 notices 1 and 2, SHOP-W1 notices 1 and 3;
#   - `status` shows "2 unread" and the newest's first line;
#   - `notices` lists them whole, oldest first, each sent at the time HQ
#     lists, and marks them read; `notices` again says "no unread notices"
#     and status "none unread"; `notices --all` lists them, ", read";
#   - D-E2 moves to R-WEST; HQ sends notice 4 to R-WEST and 5 to R-EAST:
#     SHOP-E2 receives notice 4 only (sync --json: received.notices 1 item,
#     version 5, not reset; it keeps notices 1 and 2, read), SHOP-E1 notice
#     5 only, SHOP-W1 notice 4 only;
#   - a sync that brings no notice prints no notice line.
set -eu
. "$(dirname "$0")/../lib/net.sh"
net_init agent_notices
net_pin_clock '2026-11-24 09:30:00'

server_init
server_start
hq partner add HQ --name "Head office" --kind hq
check "partner HQ: exit" 0 "$rc"
for p in "R-EAST East region" "R-WEST West region"; do
    # shellcheck disable=SC2086 # the words of one line
    set -- $p
    hq partner add "$1" --name "$2 $3" --kind region --parent HQ
    check "partner $1: exit" 0 "$rc"
done
for p in "D-E1 R-EAST SHOP-E1 e1" "D-E2 R-EAST SHOP-E2 e2" "D-W1 R-WEST SHOP-W1 w1"; do
    # shellcheck disable=SC2086 # the words of one line
    set -- $p
    hq partner add "$1" --name "Dealer $1" --kind dealer --parent "$2"
    check "partner $1: exit" 0 "$rc"
    hq site add "$3" --partner "$1" --json
    check "site $3: exit" 0 "$rc"
    cp "$OUT" "$T/site-$3.json"
    run 60 "$AGENT" -q -d "$T/$4" init --site "$3" --partner "$1"
    check "init $3: exit" 0 "$rc"
    enroll "$T/$4" "$(json "$T/site-$3.json" '$.token')"
    check "enroll $3: exit" 0 "$rc"
done
E1=$T/e1
E2=$T/e2
W1=$T/w1

# sync_lines DIR: runs `sync` (not quiet) and leaves its lines that name a
# notice in $T/lines
sync_lines() {
    run 60 "$AGENT" -d "$1" sync --timeout 20
    grep '^notice ' "$OUT" >"$T/lines" || true
}

# -- HQ sends three notices ------------------------------------------------------
hq notice send --all "Prices change on Monday."
check "notice to all: exit" 0 "$rc"
check "notice to all: says so" \
    "notice 1 sent to all sites: 3 sites will receive it at their next sync" "$(cat "$OUT")"
EAST=$(printf '下周一起全部门店价格调整\n请提前通知会员')
hq notice send --partner R-EAST "$EAST"
check "notice to R-EAST: exit" 0 "$rc"
check "notice to R-EAST: says so" \
    "notice 2 sent to partner R-EAST and everything under it: 2 sites will receive it at their next sync" \
    "$(cat "$OUT")"
hq notice send --site SHOP-W1 "Stocktake on Sunday"
check "notice to SHOP-W1: exit" 0 "$rc"
check "notice to SHOP-W1: says so" \
    "notice 3 sent to site SHOP-W1: 1 site will receive it at its next sync" "$(cat "$OUT")"
hq notice list --json
cp "$OUT" "$T/list.json"
check "notice list: newest first" "3|2|1" \
    "$(sqlite3 :memory: "SELECT group_concat(json_extract(value, '\$.id'), '|') FROM json_each(readfile('$T/list.json'))")"
check "notice list: targets" "site SHOP-W1|partner R-EAST|all" \
    "$(sqlite3 :memory: "SELECT group_concat(json_extract(value, '\$.target'), '|') FROM json_each(readfile('$T/list.json'))")"
check "notice list: the text as sent" "$EAST" "$(json "$T/list.json" '$[1].text')"
SENT1=$(json "$T/list.json" '$[2].sent')
SENT2=$(json "$T/list.json" '$[1].sent')
SENT3=$(json "$T/list.json" '$[0].sent')

# -- each site's sync prints exactly its notices -------------------------------------
sync_lines "$E1"
check "SHOP-E1 sync: exit" 0 "$rc"
check "SHOP-E1 sync: its notices" "notice 1 from HQ: Prices change on Monday.
notice 2 from HQ: 下周一起全部门店价格调整 ..." "$(cat "$T/lines")"
# notices 1 and 2; the version is the last notice this site was considered
# for (notice 3, to another site, is not one of them: dn_notice_for_site)
check "SHOP-E1 sync: the received line names 2 notices" "notices 2 items (version 2)" \
    "$(sed -n 's/^received: .*\(notices [^,]*\).*/\1/p' "$OUT")"
check "SHOP-E1 sync: 4 lines in all (synced, received, 2 notices)" 4 \
    "$(wc -l <"$OUT" | tr -d ' ')"
sync_lines "$E2"
check "SHOP-E2 sync: exit" 0 "$rc"
check "SHOP-E2 sync: its notices" "notice 1 from HQ: Prices change on Monday.
notice 2 from HQ: 下周一起全部门店价格调整 ..." "$(cat "$T/lines")"
sync_lines "$W1"
check "SHOP-W1 sync: exit" 0 "$rc"
check "SHOP-W1 sync: its notices" "notice 1 from HQ: Prices change on Monday.
notice 3 from HQ: Stocktake on Sunday" "$(cat "$T/lines")"
sync_lines "$W1"
check "SHOP-W1 sync again: exit" 0 "$rc"
check "SHOP-W1 sync again: no notice line" "" "$(cat "$T/lines")"

# -- status shows the unread count and the newest's first line ------------------------
run 60 "$AGENT" -d "$E1" status
check "SHOP-E1 status: the notices lines" "notices    2 unread (run 'dealernet-agent notices')
           newest: 下周一起全部门店价格调整 ..." "$(sed -n '/^notices /,$p' "$OUT")"
run 60 "$AGENT" -d "$W1" status
check "SHOP-W1 status: the notices lines" "notices    2 unread (run 'dealernet-agent notices')
           newest: Stocktake on Sunday" "$(sed -n '/^notices /,$p' "$OUT")"
check "SHOP-W1 status --json: notices_unread" 2 "$(status_field "$W1" notices_unread)"
check "SHOP-W1 status --json: notice_newest" "Stocktake on Sunday" \
    "$(json "$T/status.json" '$.notice_newest')"

# -- notices lists and marks read ----------------------------------------------------
run 60 "$AGENT" -d "$E1" notices
check "SHOP-E1 notices: exit" 0 "$rc"
check "SHOP-E1 notices: listed whole, oldest first" "notice 1, sent $SENT1
  Prices change on Monday.

notice 2, sent $SENT2
  下周一起全部门店价格调整
  请提前通知会员

2 notices shown, 2 marked read" "$(cat "$OUT")"
run 60 "$AGENT" -d "$E1" notices
check "SHOP-E1 notices again: exit" 0 "$rc"
check "SHOP-E1 notices again" "no unread notices" "$(cat "$OUT")"
run 60 "$AGENT" -d "$E1" status
check "SHOP-E1 status after reading" "notices    none unread" "$(sed -n '/^notices /,$p' "$OUT")"
run 60 "$AGENT" -d "$E1" notices --all
check "SHOP-E1 notices --all: read ones marked" "notice 1, sent $SENT1, read
  Prices change on Monday.

notice 2, sent $SENT2, read
  下周一起全部门店价格调整
  请提前通知会员

2 notices shown, 0 marked read" "$(cat "$OUT")"
run 60 "$AGENT" -d "$W1" notices --json
cp "$OUT" "$T/w1.json"
check "SHOP-W1 notices --json: ids, unread before" "1|0|3|0" \
    "$(sqlite3 :memory: "SELECT group_concat(json_extract(value, '\$.id') || '|' || json_extract(value, '\$.read'), '|') FROM json_each(readfile('$T/w1.json'))")"
check "SHOP-W1 notices --json: sent as HQ lists it" "$SENT3" "$(json "$T/w1.json" '$[1].sent')"
run 60 "$AGENT" -d "$W1" notices
check "SHOP-W1 notices after --json" "no unread notices" "$(cat "$OUT")"
run 60 "$AGENT" -d "$E2" notices
check "SHOP-E2 notices: 2 shown" "2 notices shown, 2 marked read" "$(tail -n 1 "$OUT")"

# -- D-E2 moves to R-WEST: SHOP-E2 receives R-WEST's later notices only -------------
hq partner move D-E2 --parent R-WEST
check "partner move D-E2: exit" 0 "$rc"
hq notice send --partner R-WEST "West: open until 21:00 from December"
check "notice to R-WEST: says so" \
    "notice 4 sent to partner R-WEST and everything under it: 2 sites will receive it at their next sync" \
    "$(cat "$OUT")"
hq notice send --partner R-EAST "East: deliveries on Tuesdays"
check "notice to R-EAST after the move: says so" \
    "notice 5 sent to partner R-EAST and everything under it: 1 site will receive it at its next sync" \
    "$(cat "$OUT")"
run 60 "$AGENT" -d "$E2" sync --timeout 20 --json
check "SHOP-E2 sync --json: exit" 0 "$rc"
cp "$OUT" "$T/e2.json"
check "SHOP-E2 sync --json: received.notices" '{"items":1,"version":5,"reset":false}' \
    "$(json "$T/e2.json" '$.received.notices')"
check "SHOP-E2 holds notices 1 and 2 read, 4 unread" "1|1
2|1
4|0" "$(sqlite3 "$E2/agent.db" "SELECT id, read_ms IS NOT NULL FROM notices ORDER BY id")"
sync_lines "$E1"
check "SHOP-E1 after the move: notice 5 only" "notice 5 from HQ: East: deliveries on Tuesdays" \
    "$(cat "$T/lines")"
sync_lines "$W1"
check "SHOP-W1 after the move: notice 4 only" \
    "notice 4 from HQ: West: open until 21:00 from December" "$(cat "$T/lines")"
hq notice list --json
SENT4=$(json "$OUT" '$[1].sent')
run 60 "$AGENT" -d "$E2" notices
check "SHOP-E2 notices: notice 4 alone" "notice 4, sent $SENT4
  West: open until 21:00 from December

1 notice shown, 1 marked read" "$(cat "$OUT")"

server_stop
net_finish
