#!/bin/sh
# protocol_vectors.sh -- docs/protocol-vectors.json is what the C code
# makes, and holds up under an independent check.
#
#   1. tests/tools/dn_vectors builds the four events, the chain, the signed
#      bytes, the signature, the PushBatch and the Hello from its field
#      values with the agent's and the server's own code and writes the
#      file: its output must equal the file in the repository byte for
#      byte (after a deliberate change of the wire format, regenerate the
#      file with it: see its banner).
#   2. tests/tools/protocol_vectors.py, with python3's standard library and
#      the openssl command line only (no dealernet code, no protobuf
#      library), decodes every event's bytes by hand and compares each
#      field with the file's values, recomputes the SHA-256 hashes, the
#      chain, the signed bytes, the PushBatch and SyncMessage, the Hello,
#      derives the public key from the seed and verifies the Ed25519
#      signature, and sees a signature over a changed byte fail; the same
#      for the downstream vector (a Down of two catalogue items, its signed
#      bytes, the DownReply around it, the down key's signature); and one
#      DownItem of each kind (catalogue, earnings, member, notice) decoded
#      and packed again by hand from its fields, and the catalogue's scope
#      of a partner path recomputed: 74 checks.
set -eu
. "$(dirname "$0")/../lib/net.sh"
net_init protocol_vectors

VECTORS=$(dirname "$0")/../../docs/protocol-vectors.json
GEN=$DN_TOOLS/dn_vectors
net_need python3 openssl

rc=0
$WRAP "$GEN" >"$T/vectors.json" 2>"$ERR" || rc=$?
check "dn_vectors: exit" 0 "$rc"
check "the C code reproduces docs/protocol-vectors.json byte for byte" same \
    "$(cmp -s "$VECTORS" "$T/vectors.json" && echo same || echo differs)"

rc=0
python3 "$(dirname "$0")/../tools/protocol_vectors.py" "$VECTORS" >"$OUT" 2>"$ERR" || rc=$?
check "independent check: exit" 0 "$rc"
check "independent check: checks made" 74 "$(wc -l <"$OUT" | tr -d ' ')"
TAB=$(printf '\t')
while IFS="$TAB" read -r name expected got; do
    check "$name" "$expected" "$got"
done <"$OUT"

# the check can fail: one changed digit of a hash is seen
sed 's/"sha256": "18ed/"sha256": "28ed/' "$VECTORS" >"$T/bad.json"
python3 "$(dirname "$0")/../tools/protocol_vectors.py" "$T/bad.json" >"$T/bad.out"
check "a changed hash in the file is caught" \
    "event 1: sha256	28ed88ee7861a6c6aa5ba11abe0061f07256a87e3b5693032824fe8878d74480	18ed88ee7861a6c6aa5ba11abe0061f07256a87e3b5693032824fe8878d74480" \
    "$(head -n 1 "$T/bad.out")"

# ... and so is a changed figure of a stream item: the earnings'
# adjustment -1.50 (ten varint bytes on the wire) made -1.51
sed 's/"adjustment": -150,/"adjustment": -151,/' "$VECTORS" >"$T/bad-item.json"
python3 "$(dirname "$0")/../tools/protocol_vectors.py" "$T/bad-item.json" >"$T/bad-item.out"
check "a changed stream item field in the file is caught" \
    "stream item 3: earnings fields decoded|stream item 3: earnings fields packed again" \
    "$(awk -F "$TAB" '$2 != $3 {print $1}' "$T/bad-item.out" | paste -sd '|' -)"

# ... and a changed receipt number of the sale (Sale field 8, protocol 3)
sed 's/"receipt": 42,/"receipt": 43,/' "$VECTORS" >"$T/bad-receipt.json"
python3 "$(dirname "$0")/../tools/protocol_vectors.py" "$T/bad-receipt.json" >"$T/bad-receipt.out"
check "a changed sale receipt in the file is caught" "event 2: body fields" \
    "$(awk -F "$TAB" '$2 != $3 {print $1}' "$T/bad-receipt.out" | paste -sd '|' -)"

net_finish
