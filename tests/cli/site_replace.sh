#!/bin/sh
# site_replace.sh -- HQ replaces a shop's PC with `dealernet-hq site token`.
#
# Proves, with a real server and agents on loopback in a throwaway folder:
#   - the old PC (folder a) enrolls SHOP1, syncs 3 sales, then records 2
#     more that never reach the server;
#   - `site token SHOP1` issues a new code (replaces_pc); a second one makes
#     the first stop working (refused as expired);
#   - a new folder b records 1 sale and imports 1 (ref R9) before
#     enrolling, enrolls with the new code and continues the site's chain:
#     its sale becomes seq 4 (same id), the imported one seq 5 (its ref
#     follows it: importing the file again records nothing), a third one
#     seq 6, and one sync sends all three;
#   - the server holds exactly 6 events of SHOP1, seqs 1..6, each once;
#     `site list` says applied 6, `sites --json` nothing pending; D1's statement is
#     6 x 8 % of 10.00 = 6 x 0.80 = 4.80, and verify is clean (seqs 1..3
#     checked with the old PC's key, 4..6 with the new one's);
#   - the old PC's sync is refused, exit 77, "site SHOP1 was enrolled again
#     on another PC at ...", and its 2 unsynced sales are still in its
#     agent.db (5 sales, 2 pending);
#   - enrolling the old folder again (--again) is refused before the token
#     is used (the site continued on another PC); the new PC still syncs;
#   - the new folder b, its curve.key lost, enrolls again with --again and
#     a new code: its chain matches, it keeps its events and syncs a seventh;
#   - a revoked site gets no code without --unrevoke; with it the site is
#     neither enrolled nor revoked, and the revoked key stays refused.
set -eu
. "$(dirname "$0")/../lib/net.sh"
net_init site_replace
net_pin_clock '2026-11-20 10:00:00'

server_init
server_start
network_init
hq plan set deploy/plan.ini
check "setup: plan set" 0 "$rc"

# a sale of 10.00: D1 (level 0, the seller) earns 8 % = 0.80; HQ never earns
sale() { agent "$1" sale --line X:1@10.00; [ "$rc" -eq 0 ] || { cat "$ERR" >&2; exit 1; }; }
# token_code FILE: the enrollment code in a saved `site token --json`
token_code() { json "$1" '$.enrollment_code'; }

TOKEN=$(site_add SHOP1)
A=$T/a
agent_new "$A" SHOP1
enroll "$A" "$TOKEN"
check "old PC: enroll" 0 "$rc"
sale "$A"; sale "$A"; sale "$A"
agent "$A" sync
check "old PC: sync of 3" 0 "$rc"
sale "$A"; sale "$A" # never synced
check "old PC: 5 sales, 2 pending" "5|2" \
    "$(sqlite3 "$A/agent.db" "SELECT count(*), (SELECT count(*) FROM events WHERE synced = 0) FROM sales")"

# -- HQ issues a new code, twice -------------------------------------------------

hq site token SHOP1 --json
check "site token: exit" 0 "$rc"
cp "$OUT" "$T/token1.json"
check "site token: replaces the PC" 1 "$(json "$T/token1.json" '$.replaces_pc')"
check_has "site token: a DN1 code" "DN1:" "$T/token1.json"
hq site token SHOP1 --json
cp "$OUT" "$T/token2.json"
hq site token NOSUCH
check "site token of no site: exit" 66 "$rc"
check_one_error "site token of no site" "site NOSUCH does not exist"

# -- the new PC --------------------------------------------------------------------

B=$T/b
agent_new "$B" SHOP1
sale "$B" # recorded before enrolling: seq 1 here, for now
FIRST_ID=$(sqlite3 "$B/agent.db" "SELECT hex(id) FROM events WHERE seq = 1")
# and one imported before enrolling (README: the old PC's export, imported
# on the new one): seq 2 here, its ref kept in imports beside its seq
printf 'kind,ref,sku,quantity,unit_price\nsale,R9,X,1,10.00\n' >"$T/pos.csv"
agent "$B" import "$T/pos.csv"
check "new PC: import before enrolling" 0 "$rc"
check "new PC: the import's ref at seq 2" "R9|2" "$(sqlite3 "$B/agent.db" "SELECT ref, seq FROM imports")"
enroll_code "$B" "$(token_code "$T/token1.json")"
check "new PC, the first code (replaced by the second): exit" 77 "$rc"
check_one_error "the first code" "enrollment token expired"
enroll_code "$B" "$(token_code "$T/token2.json")"
check "new PC: enroll" 0 "$rc"
check_has "new PC: continues the chain" \
    "the site's events up to seq 3 are on the server; the 2 recorded here follow as seq 4 to 5" "$OUT"
check "new PC: its sale is seq 4, same id" "4|$FIRST_ID" \
    "$(sqlite3 "$B/agent.db" "SELECT seq, hex(id) FROM events WHERE seq = 4")"
check "new PC: the import's ref follows its event to seq 5" "R9|5|1" \
    "$(sqlite3 "$B/agent.db" "SELECT ref, i.seq, count(e.seq) FROM imports i JOIN events e ON e.seq = i.seq")"
agent "$B" import "$T/pos.csv"
check "new PC: importing the file again records nothing" "0|2" "$rc|$(sqlite3 "$B/agent.db" "SELECT count(*) FROM events")"
agent "$B" check
check "new PC: check of its chain" 0 "$rc"
sale "$B"
agent "$B" sync
check "new PC: sync" 0 "$rc"
check "new PC: 0 pending, head 6" "0|6" "$(status_field "$B" pending)|$(status_field "$B" head_seq)"

check "server: SHOP1's events, distinct seqs and ids, min, max" "6|6|6|1|6" \
    "$(sq "SELECT count(*), count(DISTINCT e.seq), count(DISTINCT e.id), min(e.seq), max(e.seq)
           FROM events e JOIN sites s ON s.id = e.site_id WHERE s.code = 'SHOP1'")"
hq sites --json
cp "$OUT" "$T/sites.json"
check "sites --json: state ok, pending 0" "ok|0" \
    "$(sqlite3 :memory: "SELECT json_extract(value, '\$.state') || '|' ||
        json_extract(value, '\$.pending') FROM json_each(readfile('$T/sites.json'))
        WHERE json_extract(value, '\$.site') = 'SHOP1'")"
check "site list: applied_seq 6, enrolled" "6|1" "$(site_field SHOP1 applied_seq)|$(site_field SHOP1 enrolled)"
hq statement D1 --json
cp "$OUT" "$T/statement.json"
check "statement D1: 6 x 0.80 = 4.80" "4.80" "$(json "$T/statement.json" '$.closing')"
hq verify
check "verify: clean (each batch with the key that signed it)" 0 "$rc"

# -- the old PC ------------------------------------------------------------------

agent "$A" sync --timeout 10
check "old PC: sync refused, exit" 77 "$rc"
check_one_error "old PC: sync" "server refused: site SHOP1 was enrolled again on another PC at 2026-11-20T"
check "old PC: its 5 sales kept, 2 pending" "5|2" \
    "$(sqlite3 "$A/agent.db" "SELECT count(*), (SELECT count(*) FROM events WHERE synced = 0) FROM sales")"
check "server: the old key retired" 1 "$(sq "SELECT count(*) FROM site_keys")"

hq site token SHOP1 --json
cp "$OUT" "$T/token3.json"
agent "$A" enroll
check "old folder enrolls again without --again: exit" 73 "$rc"
check_one_error "without --again" "dealernet-agent enroll --again"
CODE3=$(token_code "$T/token3.json")
enroll_code "$A" "$CODE3" --again
check "old folder enrolls again: refused, exit" 77 "$rc"
check_one_error "old folder enrolls again" \
    "site SHOP1 continued on another PC after this folder's seq 3 (the server holds seq 6)"
check "old folder enrolls again: its token not used nor held (only the new PC's is)" "1|1" \
    "$(sq "SELECT count(used_ms), count(holder_key) FROM tokens WHERE rebind = 1")"
agent "$B" sync
check "new PC still syncs" 0 "$rc"

# -- the new PC loses its curve.key ------------------------------------------------

rm "$B/curve.key"
agent "$B" sync
check "new PC without curve.key: sync exit" 77 "$rc"
enroll_code "$B" "$CODE3" --again
check "new PC enrolls again: exit" 0 "$rc"
check_has "new PC enrolls again: its chain holds" \
    "this folder's events up to seq 6 are on the server; 0 to send" "$OUT"
sale "$B"
agent "$B" sync
check "new PC: a seventh sale synced" "0|7" "$(status_field "$B" pending)|$(sq "SELECT applied_seq FROM sites WHERE code = 'SHOP1'")"
check "server: two keys retired" 2 "$(sq "SELECT count(*) FROM site_keys")"
hq verify
check "verify: still clean" 0 "$rc"

# -- a revoked site --------------------------------------------------------------

hq site revoke SHOP1
hq site token SHOP1
check "site token of a revoked site: exit" 77 "$rc"
check_one_error "site token of a revoked site" "add --unrevoke to let a new PC enroll it"
hq site token SHOP1 --unrevoke --json
check "site token --unrevoke: exit" 0 "$rc"
cp "$OUT" "$T/token4.json"
check "site token --unrevoke: unrevoked, no PC replaced" "1|0" \
    "$(json "$T/token4.json" '$.unrevoked')|$(json "$T/token4.json" '$.replaces_pc')"
check "site list: neither enrolled nor revoked" "0|0" \
    "$(site_field SHOP1 enrolled)|$(site_field SHOP1 revoked)"
agent "$B" sync --timeout 10
check "the revoked PC's key: still refused, exit" 77 "$rc"
check_one_error "the revoked PC's key" "server refused: this site was revoked by headquarters"

server_stop
check "server stops cleanly" 0 "$SRV_STATUS"
net_finish
