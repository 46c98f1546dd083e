#!/bin/sh
# sync_gap.sh -- a batch that skips seqs is refused with the seq to resend
# from, and the gap shows in `dealernet-hq site list`.
#
# Proves, with a real server and agent on loopback in a throwaway folder
# (dn_poke sends correctly signed batches of the agent's own events):
#   - with seq 1..3 applied, a batch of seq 6..10 is refused GAP with
#     expected_seq exactly 4, stores nothing, and `site list --json` shows
#     gap_expected_seq 4 with applied_seq 3;
#   - the batch of seq 4..5 that fills the hole is acked through 5 and
#     clears the gap (so the refusal was about the gap only);
#   - the agent's own `sync` then brings the server to exactly 10 events and
#     sales with the exact sum, and a Hello is welcomed with applied=10.
set -eu
. "$(dirname "$0")/../lib/net.sh"
net_init sync_gap

server_init
server_start
network_init
TOKEN=$(site_add SHOP1)
A=$T/a
agent_new "$A" SHOP1
enroll "$A" "$TOKEN"
record_sales "$A" 3
agent "$A" sync
check "first sync: exit" 0 "$rc"
check "server sales after first sync" "3|$(totals_sum "$A")" \
    "$(sq "SELECT count(*), sum(total) FROM sales")"
record_sales "$A" 7 # seq 4..10, pending

poke --agent "$A" push-range 6 10
check "batch 6..10: dn_poke exit" 0 "$rc"
check "batch 6..10: refused GAP, expected 4" \
    "refused GAP expected=4: batch starts at seq 6 but the next expected is 4" "$(cat "$OUT")"
check "gap: server sales unchanged" "3|$(totals_sum "$A" 3)" \
    "$(sq "SELECT count(*), sum(total) FROM sales")"
check "gap: site list gap_expected_seq" 4 "$(site_field SHOP1 gap_expected_seq)"
check "gap: site list applied_seq" 3 "$(site_field SHOP1 applied_seq)"

poke --agent "$A" push-range 4 5
check "batch 4..5: acked" "ack 5" "$(cat "$OUT")"
check "filled: server sales" "5|$(totals_sum "$A" 5)" "$(sq "SELECT count(*), sum(total) FROM sales")"
check "filled: site list gap cleared" "" "$(site_field SHOP1 gap_expected_seq)"
check "filled: site list applied_seq" 5 "$(site_field SHOP1 applied_seq)"

agent "$A" sync --json
check "agent sync: exit" 0 "$rc"
check "agent sync: acked through" 10 "$(json "$OUT" '$.acked_through')"
check "server sales after agent sync" "10|$(totals_sum "$A")" \
    "$(sq "SELECT count(*), sum(total) FROM sales")"
check "server events: count, distinct seqs, max" "10|10|10" \
    "$(sq "SELECT count(*), count(DISTINCT seq), max(seq) FROM events")"
poke --agent "$A" hello
check "hello: welcome" "welcome applied=10" "$(cat "$OUT")"

server_stop
check "server stops cleanly" 0 "$SRV_STATUS"
net_finish
