/*  dn_outbox -- the site's append-only, hash-chained event log.

    Every fact the shop records becomes one event: numbered 1, 2, 3 ... with
    no gaps, stamped with a UUIDv7 and the time, and chained to the previous
    event by the SHA-256 of its packed bytes.  The bytes are stored exactly as
    hashed, and are what sync later sends, so the server checks the very
    bytes the shop committed.
*/
#ifndef DN_OUTBOX_H
#define DN_OUTBOX_H

#include "dn_crypto.h"
#include "dn_store.h"
#include "dn_wire.h"

#include <stdint.h>

/*  Appends ev to the outbox inside the caller's open transaction.  Fills
    ev's id (new UUIDv7), site, seq (head + 1), recorded_at_ms (now) and
    prev_hash (the head's hash, zeros for seq 1), checks and packs it, and
    inserts it.  ev->id and ev->prev_hash are pointed at the caller's id
    and prev_hash buffers (which receive the values), and ev->site at the
    store's site code: keep them alive while ev is used.
    Returns 0, DN_EPROTO with a reason in why, DN_ETOOBIG, DN_EDB,
    DN_ENOMEM or DN_ECRYPTO.  */
int dn_outbox_append(dn_store_t *store, Dealernet__Event *ev, uint8_t id[DN_ID_BYTES],
                     uint8_t prev_hash[DN_HASH_BYTES], char *why, size_t why_size);

/*  Result of a chain check.  */
typedef struct {
    int64_t events;                 /* events checked */
    int64_t bad_seq;                /* first bad seq, 0 when all good */
    uint8_t head[DN_HASH_BYTES];    /* hash of the last good event */
    char why[DN_WHY_SIZE + 48];     /* what is wrong at bad_seq */
} dn_outbox_check_t;

/*  Recomputes the whole chain from the stored bytes: seq runs 1, 2, 3 ...
    without a gap, each event decodes and passes dn_wire's checks, carries
    its own seq and the site's code, links to the previous event's hash,
    and hashes to the stored hash.  Returns 0 (result->bad_seq == 0) if
    all hold, DN_ECHAIN with result->bad_seq and why set at the first
    failure, DN_EDB.  */
int dn_outbox_check(dn_store_t *store, dn_outbox_check_t *result);

/*  The outbox's position.  */
typedef struct {
    uint64_t head_seq;         /* last recorded seq, 0 if none */
    uint64_t acked_seq;        /* every seq up to here is acknowledged */
    uint64_t pending;          /* recorded, not yet acknowledged */
    int64_t oldest_pending_ms; /* recorded_at of the first pending event, 0 if none */
} dn_outbox_position_t;

/*  Reads the outbox's position.  0 or DN_EDB.  */
int dn_outbox_position(dn_store_t *store, dn_outbox_position_t *pos);

/*  A run of consecutive events, exactly as stored, ready to send.  */
typedef struct {
    uint64_t first_seq;
    uint64_t last_seq;
    size_t n;                 /* events in the batch */
    ProtobufCBinaryData *events; /* n packed events, owned by the batch */
    uint8_t head[DN_HASH_BYTES]; /* hash of the last event */
} dn_outbox_batch_t;

/*  Reads the events from seq `from` on: at most max_events, and no more
    than max_bytes of event bytes (but always at least one).  Returns 0
    (batch->n may be 0 when from is beyond the head), DN_ENOMEM or DN_EDB.
    Free with dn_outbox_batch_free.  */
int dn_outbox_read(dn_store_t *store, uint64_t from, size_t max_events, size_t max_bytes,
                   dn_outbox_batch_t *batch);

/*  Frees the events of a batch; safe on a zeroed or freed batch.  */
void dn_outbox_batch_free(dn_outbox_batch_t *batch);

/*  Marks every event up to through as acknowledged by the server, in one
    transaction.  Returns 0 or DN_EDB.  */
int dn_outbox_ack(dn_store_t *store, uint64_t through);

/*  One event re-chained: its new seq, bytes and hash.  */
typedef struct {
    int64_t seq;
    uint8_t *body; /* malloc'd: the new bytes */
    size_t len;
    uint8_t hash[DN_HASH_BYTES];
} dn_outbox_moved_t;

/*  Re-chains the event bytes old[0..len) after prev as seq: same id,
    body and time, new seq and prev_hash.  Sets *moved (body malloc'd)
    and prev to its hash.  0, DN_EPROTO (why), DN_ENOMEM, DN_ECRYPTO.
    For dn_outbox_rebase and recover (dn_recover.c).  */
int dn_outbox_rechain(const uint8_t *old, size_t len, int64_t seq,
                      uint8_t prev[DN_HASH_BYTES], dn_outbox_moved_t *moved, char *why,
                      size_t why_size);

/*  A folder that never synced takes over a site whose chain began on
    another PC (`dealernet-hq site token`, README "Replacing a shop's PC"):
    every event recorded here (none of which reached any server) is
    re-chained after the server's head -- seq base_seq + 1, + 2 ... in
    order, prev_hash linking from base_hash, same ids, times and bodies --
    with its projections, and the chain's base is set to (base_seq,
    base_hash), all inside the caller's transaction (roll it back on
    error: a part-done rebase must never commit).  *moved_n: events
    re-chained.  Returns 0; DN_EEXIST (an event here was synced: why),
    DN_ECHAIN (the log has a gap: why), DN_EPROTO (an event does not
    decode: why), DN_ENOMEM, DN_ECRYPTO, DN_EDB.  */
int dn_outbox_rebase(dn_store_t *store, int64_t base_seq,
                     const uint8_t base_hash[DN_HASH_BYTES], int64_t *moved_n, char *why,
                     size_t why_size);

/*  A folder that synced before, enrolled again (a lost curve.key): its
    chain must be the one the server holds -- applied_seq at most its head
    and its event at applied_seq hashing to head (its base, if that is
    where it began).  Then, in the caller's transaction, marks synced
    exactly the events up to applied_seq (so one the server lacks is sent
    again) and sets *to_send.  Returns 0; DN_ECHAIN (why: the chains
    differ; nothing written), DN_EDB.  */
int dn_outbox_match(dn_store_t *store, int64_t applied_seq,
                    const uint8_t head[DN_HASH_BYTES], int64_t *to_send, char *why,
                    size_t why_size);

#endif
