#!/bin/sh
# sync_down_key.sh -- the server's down key is pinned by the agent, and a
# server that names another one is refused end to end: nothing comes down,
# the upload is kept.
#
# Proves, with a real server and agent on loopback in a throwaway folder:
#   - `dealernet-server init` makes down.key (0600); `enroll` pins its
#     public key in agent.db (meta down_key), the same 32 bytes openssl
#     reads from down.key;
#   - a server whose down.key was replaced (moved away: the server makes
#     a new one at its start and logs it) is refused by the agent once its
#     upload is done: `sync` sends the sale (acknowledged, 0 pending), then
#     exits 75 "partly synced: ...; then the server names another down key
#     ..."; a second sync, with nothing to send, exits 65 with that one line
#     and --json cause down_key; the pinned key is unchanged;
#   - the original down.key put back: sync exits 0 again;
#   - an agent enrolled before protocol 2 (no down_key in agent.db) pins
#     the key from its first sync.
# The refusal of a Down whose signature does not verify (a chunk changed
# on its way) is tested end to end by tests/cli/sync_down_tamper.sh, and by
# tests/unit/test_syncsm.c and test_down.c.
set -eu
. "$(dirname "$0")/../lib/net.sh"
net_init sync_down_key
net_need openssl

# pub_of PEM: the 64 hex digits of an Ed25519 key file's public key
pub_of() {
    openssl pkey -in "$1" -pubout -outform DER | tail -c 32 | od -An -tx1 | tr -d ' \n'
}
pinned() {
    sqlite3 -cmd ".timeout 5000" "$A/agent.db" "SELECT value FROM meta WHERE key = 'down_key'"
}

server_init
check "init made down.key" 600 "$(stat -c %a "$SRV/down.key")"
DOWN=$(pub_of "$SRV/down.key")
check "down.key holds an Ed25519 key" 64 "${#DOWN}"
server_start
network_init
TOKEN=$(site_add SHOP1)
A=$T/a
agent_new "$A" SHOP1
enroll "$A" "$TOKEN"
check "enroll: exit" 0 "$rc"
check "enroll pinned the server's down key" "$DOWN" "$(pinned)"

record_sales "$A" 1
agent "$A" sync
check "sync with the pinned key: exit" 0 "$rc"
check "sync with the pinned key: nothing on stderr" "" "$(cat "$ERR")"

# -- the server's down.key replaced ----------------------------------------------
server_stop
mv "$SRV/down.key" "$T/down.key.saved"
server_start
check_has "the server made a new down key" "created the down key $SRV/down.key" "$SRV_LOG"
check "the new down key is another" different \
    "$([ "$(pub_of "$SRV/down.key")" != "$DOWN" ] && echo different || echo same)"
record_sales "$A" 1
agent "$A" sync --timeout 10
check "sync, another down key, a sale to send: exit" 75 "$rc"
check_one_error "sync, another down key, a sale to send" \
    "partly synced: sent 1 event (seq 2), server holds through 2, 0 pending; then the server names another down key than the one this site pinned: nothing was received (was the server's down.key replaced? tell headquarters)"
check "the sale was stored all the same" 2 "$(sq "SELECT count(*) FROM events")"
agent "$A" sync --timeout 10
check "sync, another down key, nothing to send: exit" 65 "$rc"
check_one_error "sync, another down key, nothing to send" \
    "dealernet-agent: error: the server names another down key than the one this site pinned: nothing was received (was the server's down.key replaced? tell headquarters)"
agent "$A" sync --timeout 10 --json
cp "$OUT" "$T/sync.json"
check "sync --json: cause" down_key "$(json "$T/sync.json" '$.cause')"
check "sync --json: received" "{}" "$(json "$T/sync.json" '$.received')"
check "the pinned key is unchanged" "$DOWN" "$(pinned)"

# -- the original key back ------------------------------------------------------
server_stop
mv "$T/down.key.saved" "$SRV/down.key"
server_start
agent "$A" sync --timeout 10
check "sync, the original key back: exit" 0 "$rc"

# -- an agent enrolled before protocol 2 pins the key at its first sync -----------
sqlite3 "$A/agent.db" "DELETE FROM meta WHERE key = 'down_key'"
check "no key pinned" "" "$(pinned)"
agent "$A" sync --timeout 10
check "first sync of an agent enrolled before: exit" 0 "$rc"
check "it pinned the server's down key" "$DOWN" "$(pinned)"

server_stop
net_finish
