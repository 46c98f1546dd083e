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

#endif
