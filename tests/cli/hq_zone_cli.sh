#!/bin/sh
# hq_zone_cli.sh -- the network's time zone, end to end (issue 13, item 3).
#
# A CNY network initialised without --zone is in Asia/Shanghai (UTC+8, no
# DST).  One shop of D1 (dealer under HQ), the example plan (deploy/plan.ini:
# level 0 earns 8 % on lines without a category; HQ never earns).  Three
# sales of TEA-250 (25.00, no category), each recorded on a clock pinned to
# its minute (real pace from there: a run takes seconds, not a minute):
#
#   s1  2026-11-30T15:59Z = 23:59 on 30 Nov in Beijing  x1   25.00  D1 2.00
#   s2  2026-11-30T23:59Z = 07:59 on  1 Dec in Beijing  x2   50.00  D1 4.00
#   s3  2026-12-01T00:01Z = 08:01 on  1 Dec in Beijing  x4  100.00  D1 8.00
#
# The issue's 07:59 and 08:01 Beijing (s2, s3) were 30 November and
# 1 December in UTC books; in Beijing's they are both 1 December, and the
# day and the month turn at Beijing's midnight, between s1 and s2:
#   by day:    2026-11-30  1 sale   25.00 | 2026-12-01  2 sales 150.00
#              (UTC would say 2026-11-30 2 sales 75.00 | 2026-12-01 1 sale 100.00)
#   by month:  2026-11     1 sale   25.00 | 2026-12     2 sales 150.00
#   --from 2026-12-01 --to 2026-12-01: 2 sales, 150.00
#   statement D1 2026-11: 2.00 (s1), closing 2.00
#   statement D1 2026-12: opening 2.00, 4.00 + 8.00, closing 14.00
#   period close 2026-11 at 08:01 Beijing on 1 Dec: allowed (November ended
#   at 2026-11-30T16:00Z); 2026-12 refused, closable from
#   2027-01-01T00:00:00.000+08:00.
# The agent learns the zone from its first sync (Welcome, protocol 3):
# agent.db keeps Asia/Shanghai and its rule CST-8, and lists s1 at 23:59
# on 30 Nov with +08:00.
set -eu
. "$(dirname "$0")/../lib/net.sh"
net_init hq_zone_cli
net_pin_clock '2026-11-20 10:00:00'

# init: an unknown zone is refused before anything is made
net_pick_ports
run 30 "$SERVER" -d "$T/srv-bad" init --zone Mars/Olympus_Mons
check "init --zone Mars/Olympus_Mons: exit" 64 "$rc"
check_one_error "init --zone Mars/Olympus_Mons" \
    "--zone 'Mars/Olympus_Mons' is not a time zone of the zone database"
check "init --zone Mars/Olympus_Mons: nothing made" no \
    "$([ -e "$T/srv-bad/central.db" ] && echo yes || echo no)"

# init without --zone: the currency's (CNY) zone
run 30 "$SERVER" -d "$SRV" init --sync "$SYNC_EP" --admin "$ADMIN_EP"
check "init: exit" 0 "$rc"
check_has "init: the zone" \
    "time zone:         Asia/Shanghai (days and months begin at its midnight)" "$OUT"
KEY=$(sed -n 's/^server public key: //p' "$OUT")
check "init: zone in central.db" "Asia/Shanghai|0" \
    "$(sq "SELECT (SELECT value FROM meta WHERE key = 'zone') || '|' ||
              (SELECT value FROM meta WHERE key = 'zone_from')")"
server_start
network_init
hq_must plan set deploy/plan.ini
A=$T/a
shop_enrolled "$A" SHOP1
agent "$A" catalog set TEA-250 25.00
check "catalog set: exit" 0 "$rc"

sale_at() { # sale_at 'YYYY-MM-DD HH:MM:SS' QTY: a sale of TEA-250 at that UTC minute
    net_pin_clock "$1"
    agent_must "$A" sale --line "TEA-250:$2"
}
sale_at '2026-11-30 15:59:00' 1
sale_at '2026-11-30 23:59:00' 2
sale_at '2026-12-01 00:01:00' 4
# the server on the last clock, so that no sale is from its future
server_stop
server_start
agent "$A" sync
check "sync: exit" 0 "$rc"

# jf FILE PATH: one value of the JSON in FILE.
jf() {
    sqlite3 :memory: "SELECT json_extract(readfile('$1'), '$2')"
}
# rows_of ARGS...: 'key sales total' of each row of `dealernet-hq sales ARGS --json`.
rows_of() {
    hq_must sales "$@" --json
    cp "$OUT" "$T/report.json"
    sqlite3 :memory: "SELECT group_concat(k || ' ' || s || ' ' || t, ' | ') FROM (
        SELECT coalesce(json_extract(value, '\$.day'), json_extract(value, '\$.month')) AS k,
               json_extract(value, '\$.sales') AS s, json_extract(value, '\$.total') AS t
        FROM json_each(readfile('$T/report.json')))"
}
check "sales --by day" "2026-11-30 1 25.00 | 2026-12-01 2 150.00" \
    "$(rows_of --by day)"
check "sales --by month" "2026-11 1 25.00 | 2026-12 2 150.00" \
    "$(rows_of --by month)"
check "sales --by day --from/--to 2026-12-01" "2026-12-01 2 150.00" \
    "$(rows_of --by day --from 2026-12-01 --to 2026-12-01)"

hq statement D1 --period 2026-11 --json
check "statement 2026-11: exit" 0 "$rc"
cp "$OUT" "$T/nov.json"
check "statement 2026-11: opening, closing, transfers" "0.00|2.00|1" \
    "$(jf "$T/nov.json" '$.opening')|$(jf "$T/nov.json" '$.closing')|$(sqlite3 :memory: \
        "SELECT json_array_length(readfile('$T/nov.json'), '\$.transfers')")"
check "statement 2026-11: s1's commission, posted at a Beijing time" "2.00|+08:00" \
    "$(jf "$T/nov.json" '$.transfers[0].amount')|$(jf "$T/nov.json" '$.transfers[0].date' | cut -c24-)"
hq statement D1 --period 2026-12 --json
check "statement 2026-12: exit" 0 "$rc"
cp "$OUT" "$T/dec.json"
check "statement 2026-12: opening, closing" "2.00|14.00" \
    "$(jf "$T/dec.json" '$.opening')|$(jf "$T/dec.json" '$.closing')"
check "statement 2026-12: s2's and s3's commissions" "4.00|8.00" \
    "$(sqlite3 :memory: "SELECT group_concat(json_extract(value, '\$.amount'), '|') FROM json_each(
        json_extract(readfile('$T/dec.json'), '\$.transfers'))")"

hq period close 2026-11
check "period close 2026-11 at 08:01 on 1 Dec in Beijing: exit" 0 "$rc"
hq period close 2026-12
check "period close 2026-12: exit" 65 "$rc"
check_one_error "period close 2026-12" \
    "period 2026-12 has not ended yet: it can be closed from 2027-01-01T00:00:00.000+08:00 on"
hq verify
check "verify: exit" 0 "$rc"

# the agent's days are Beijing's
check "agent.db: zone and rule" "Asia/Shanghai|CST-8" \
    "$(sqlite3 "$A/agent.db" "SELECT (SELECT value FROM meta WHERE key = 'zone') || '|' ||
                               (SELECT value FROM meta WHERE key = 'zone_rule')")"
agent "$A" sales --all --json
check "agent sales: exit" 0 "$rc"
cp "$OUT" "$T/sales.json"
check "agent sales: s1 at 23:59 on 30 Nov, +08:00" "2026-11-30T23:59|+08:00" \
    "$(sqlite3 :memory: "SELECT substr(v, 1, 16) || '|' || substr(v, 24) FROM (SELECT
        json_extract(value, '\$.recorded_at') AS v FROM json_each(readfile('$T/sales.json'))
        ORDER BY v LIMIT 1)")"
net_finish
