#!/bin/sh
# sync_malformed.sh -- malformed and oversized messages on the sync socket
# are refused, change nothing, and the server keeps serving.
#
# Proves, with a real server and agent on loopback in a throwaway folder
# (dn_poke speaks with the enrolled agent's keys), one message at a time,
# each followed by a Hello that must still be welcomed with applied=5:
#   - bytes that are not a SyncMessage    -> refused MALFORMED;
#   - a two-frame message                  -> refused MALFORMED (one frame);
#   - a frame 1 KiB under ZMQ_MAXMSGSIZE   -> read, refused MALFORMED;
#   - a frame one byte over it             -> libzmq drops the connection, no
#                                             reply (dn_poke: "timeout");
#   - a signed PushBatch of 501 events     -> refused TOO_BIG (1 to 500);
#   - a signed, correctly chained batch of the 5 pending events whose last
#     carries an unknown protobuf field    -> refused MALFORMED, and none of
#                                             the batch's events is stored;
# and afterwards the server is still running, the admin socket answers, and
# the agent's own `sync` brings the server to exactly 10 sales with the
# exact sum.
set -eu
. "$(dirname "$0")/../lib/net.sh"
net_init sync_malformed

server_init
server_start
network_init
TOKEN=$(site_add SHOP1)
A=$T/a
agent_new "$A" SHOP1
enroll "$A" "$TOKEN"
record_sales "$A" 5
agent "$A" sync
check "first sync: exit" 0 "$rc"
record_sales "$A" 5 # seq 6..10, pending
SALES5="5|$(totals_sum "$A" 5)"
check "server sales after first sync" "$SALES5" "$(sq "SELECT count(*), sum(total) FROM sales")"

# still_serving WHAT: the server answers a Hello and stored nothing new.
still_serving() {
    poke --agent "$A" hello
    check "after $1: hello welcomed" "welcome applied=5" "$(cat "$OUT")"
    check "after $1: server sales unchanged" "$SALES5" \
        "$(sq "SELECT count(*), sum(total) FROM sales")"
}

poke --agent "$A" garbage
check "garbage: dn_poke exit" 0 "$rc"
check "garbage: refused" "refused MALFORMED expected=0: message is not a well-formed SyncMessage" \
    "$(cat "$OUT")"
still_serving garbage

poke --agent "$A" two-frames
check "two frames: refused" "refused MALFORMED expected=0: a sync message is exactly one frame" \
    "$(cat "$OUT")"
still_serving "two frames"

# DN_MAX_SYNC_MSG_BYTES (common/dn_wire.h): the server's ZMQ_MAXMSGSIZE.
# libzmq applies it to the encrypted CURVE frame, 33 bytes longer than the
# message, so the frame just under the bound is sent 1 KiB under it.
LIMIT=$((256 * 1024 + 64 * 1024))
poke --agent "$A" oversize $((LIMIT - 1024))
check "frame 1 KiB under the limit: read and refused" \
    "refused MALFORMED expected=0: message is not a well-formed SyncMessage" "$(cat "$OUT")"
poke --agent "$A" --timeout $((2000 * SLOW)) oversize $((LIMIT + 1))
check "oversize: dn_poke exit (no reply expected)" 0 "$rc"
check "oversize: connection dropped, no reply" "timeout" "$(cat "$OUT")"
still_serving oversize

poke --agent "$A" too-many-events
check "501 events: refused" "refused TOO_BIG expected=0: batch has 501 events, expected 1 to 500" \
    "$(cat "$OUT")"
still_serving "501 events"

poke --agent "$A" unknown-field
check "unknown field on seq 10: refused" \
    "refused MALFORMED expected=0: event seq 10: event has unknown fields" "$(cat "$OUT")"
check "unknown field: none of seq 6..10 stored" "5|5" "$(sq "SELECT count(*), max(seq) FROM events")"
still_serving "unknown field"

check "server still running" yes "$(server_alive && echo yes || echo no)"
check "admin socket answers: applied_seq" 5 "$(site_field SHOP1 applied_seq)"
agent "$A" sync --json
check "agent sync after all of it: exit" 0 "$rc"
check "agent sync: acked through" 10 "$(json "$OUT" '$.acked_through')"
check "server sales after agent sync" "10|$(totals_sum "$A")" \
    "$(sq "SELECT count(*), sum(total) FROM sales")"
check "server events: count, distinct seqs, distinct ids" "10|10|10" \
    "$(sq "SELECT count(*), count(DISTINCT seq), count(DISTINCT id) FROM events")"
check "site list: applied_seq" 10 "$(site_field SHOP1 applied_seq)"

server_stop
check "server stops cleanly" 0 "$SRV_STATUS"
net_finish
