/*  dn_testkit -- a simulated site against central.db, for the programs that
    test and measure the server.

    A site here is what its agent would be, reduced to what the server sees:
    an Ed25519 key, a hash chain, and the packed events it has recorded and
    not yet sent.  The kit enrolls it (site add, then the agent's
    enrollment), fills each event's header (UUIDv7 id at the recorded time,
    site code, next seq, prev_hash = SHA-256 of the site's previous packed
    event), builds the usual event bodies (a sale from lines, a refund, a
    member sign-up), signs batches as dn_wire_batch_signed says, and applies
    them through the server's real ingest path in their own transaction.

    The unit tests, the benchmarks, the fuzz corpus generator and the fuzz
    world all use it, so it does not depend on cmocka: every function that
    can fail returns 0 or a negative DN_E* code, with a reason in why where
    it takes one, and the cmocka tests assert on those.
*/
#ifndef DN_TESTKIT_H
#define DN_TESTKIT_H

#include "dn_crypto.h"
#include "dn_curve.h"
#include "dn_id.h"
#include "dn_ingest.h"
#include "dn_registry.h"
#include "dn_wire.h"

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#define DN_TK_MAX_LINES 4  /* lines a sale built by dn_tk_sale may have */
#define DN_TK_CODE_SIZE 64 /* room for a site code and its NUL */

/*  Makes the id of the event seq of a site, recorded at at_ms.  Returns 0
    or a negative DN_E* code.  */
typedef int (*dn_tk_id_fn)(uint8_t id[DN_ID_BYTES], int64_t at_ms, uint64_t seq);

/*  One site as its agent would be.  Fields are read freely; change code and
    id_fn only between events.  */
typedef struct {
    char code[DN_TK_CODE_SIZE];   /* events are recorded as this site */
    dn_key_t *key;                /* the site's signing key, owned */
    dn_registry_site_t reg;       /* for the caller: the row dn_tk_enroll filled */
    uint64_t seq;                 /* seq of the last recorded event; 0 before one */
    uint8_t head[DN_HASH_BYTES];  /* SHA-256 of the last recorded event; zeros before */
    ProtobufCBinaryData *pending; /* packed events recorded, not batched; owned */
    uint8_t (*pending_hash)[DN_HASH_BYTES]; /* SHA-256 of each pending event */
    size_t n_pending;
    size_t max_pending; /* room in pending and pending_hash */
    dn_tk_id_fn id_fn;  /* NULL: dn_id_new_at (random bits) */
} dn_tk_site_t;

/*  Returns a new site with code, signing with key (takes ownership of *key_p
    and sets it to NULL), or, when key_p is NULL or *key_p is NULL, with a
    new random key.  Its chain is empty: the first event is seq 1.  Returns
    NULL when out of memory, when code is too long, or when no key can be
    made.  Caller destroys.  */
dn_tk_site_t *dn_tk_site_new(const char *code, dn_key_t **key_p);

/*  Destroys a site, its key and its pending events; accepts NULL and sets
 *self_p to NULL.  */
void dn_tk_site_destroy(dn_tk_site_t **self_p);

/*  Forgets the pending events and the chain: the next event recorded is
    seq 1 again, linked to zeros (a new history of the same site).  */
void dn_tk_site_restart(dn_tk_site_t *self);

/*  Fills curve with an arbitrary but distinct CURVE public key: byte i is
    first + i.  Central.db only stores it.  */
void dn_tk_curve(uint8_t curve[DN_CURVE_KEY_BYTES], uint8_t first);

/*  As HQ and an agent would: `site add code --partner partner` at added_ms,
    then the enrollment with the token that returned, the CURVE key curve
    and key's public key, at enrolled_ms.  Fills *reg with the enrolled row.
    Returns 0, or the failing step's DN_E* code with its reason in why.  */
int dn_tk_enroll(sqlite3 *db, const char *code, const char *partner,
                 const uint8_t curve[DN_CURVE_KEY_BYTES], const dn_key_t *key,
                 int64_t added_ms, int64_t enrolled_ms, dn_registry_site_t *reg,
                 char *why, size_t why_size);

/* -- events ------------------------------------------------------------------ */

/*  A sale line, as dn_tk_sale takes it.  */
typedef struct {
    const char *sku;
    int64_t quantity;
    int64_t unit_price;   /* fen */
    const char *category; /* NULL: none */
} dn_tk_line_t;

/*  Room for one event body built by the functions below.  ev points into
    the other fields, so build it where it stays, and do not copy it.  The
    strings given are borrowed until dn_tk_record returns.  */
typedef struct {
    Dealernet__Event ev; /* what to hand dn_tk_record */
    Dealernet__Sale sale;
    Dealernet__SaleLine lines[DN_TK_MAX_LINES];
    Dealernet__SaleLine *line_ptrs[DN_TK_MAX_LINES];
    Dealernet__Refund refund;
    Dealernet__RefundLine refund_line;
    Dealernet__RefundLine *refund_line_ptr;
    Dealernet__MemberSignup signup;
    uint8_t sale_id[DN_ID_BYTES];   /* a refund's sale */
    uint8_t member_id[DN_ID_BYTES]; /* a sign-up's member */
} dn_tk_event_t;

/*  A sale in CNY: one SaleLine a line (sku, quantity, unit price,
    category), total = the sum of quantity x unit price, the channel, the
    seller's partner code and the member's phone (NULL: no member).
    Returns 0, or DN_EINVAL when n is 0 or above DN_TK_MAX_LINES.  */
int dn_tk_sale(dn_tk_event_t *e, const char *seller, Dealernet__Channel channel,
               const char *phone, const dn_tk_line_t *lines, size_t n);

/*  A refund in CNY of the sale sale_id, of amount fen: by one line (sku,
    quantity) or, with sku NULL, by amount only.  */
void dn_tk_refund(dn_tk_event_t *e, const uint8_t sale_id[DN_ID_BYTES], int64_t amount,
                  const char *sku, int64_t quantity);

/*  A member sign-up: phone, name (NULL: none), referred by the member
    ref_phone or the partner ref_partner (NULL: not referred).  The member
    id is a new UUIDv7 at at_ms, in e->member_id, which the caller may
    overwrite before recording.  Returns 0 or dn_id_new_at's code.  */
int dn_tk_signup(dn_tk_event_t *e, int64_t at_ms, const char *phone, const char *name,
                 const char *ref_phone, const char *ref_partner);

/*  Records ev as the site's next event, recorded at at_ms: fills its header
    (id from the site's id_fn, site code, seq, recorded time, prev_hash =
    the site's head), packs it with dn_wire_event_pack, advances the chain
    and keeps the bytes as pending.  Copies the id into id_out when not
    NULL.  ev's id and prev_hash point into this call's storage and are not
    to be read after it.  Returns 0, DN_ENOMEM, or the id's or
    dn_wire_event_pack's code with its reason in why; on failure the site
    is unchanged.  */
int dn_tk_record(dn_tk_site_t *site, Dealernet__Event *ev, int64_t at_ms,
                 uint8_t id_out[DN_ID_BYTES], char *why, size_t why_size);

/* -- batches ------------------------------------------------------------------ */

/*  A signed PushBatch's content.  A plain value: copy it freely, free it
    once.  */
typedef struct {
    uint64_t first_seq;
    size_t n;
    ProtobufCBinaryData *events; /* n packed events, owned */
    uint8_t head[DN_HASH_BYTES]; /* chain head after the last event */
    uint8_t sig[DN_SIG_BYTES];
} dn_tk_batch_t;

/*  Signs as site code does a batch ending at last_seq with chain head head
    (over dn_wire_batch_signed's bytes): sig receives DN_SIG_BYTES.
    Returns 0 or DN_ECRYPTO.  */
int dn_tk_sign(const char *code, const dn_key_t *key, uint64_t last_seq,
               const uint8_t head[DN_HASH_BYTES], uint8_t sig[DN_SIG_BYTES]);

/*  Moves everything the site has pending into *batch, signed with the
    site's key, its head the site's head.  The site has nothing pending
    after.  Returns 0, DN_EINVAL when nothing is pending, or DN_ECRYPTO (the
    site then keeps its events).  Caller frees the batch.  */
int dn_tk_batch(dn_tk_site_t *site, dn_tk_batch_t *batch);

/*  Makes *batch of copies of n events from first_seq, with chain head head,
    signed as site code with key, or with 64 zero bytes when key is NULL.
    Returns 0, DN_ENOMEM or DN_ECRYPTO.  Caller frees the batch.  */
int dn_tk_batch_make(dn_tk_batch_t *batch, const char *code, const dn_key_t *key,
                     uint64_t first_seq, const ProtobufCBinaryData *events, size_t n,
                     const uint8_t head[DN_HASH_BYTES]);

/*  Frees the events a batch holds (not the batch) and zeroes it.  Accepts a
    zeroed batch.  */
void dn_tk_batch_free(dn_tk_batch_t *batch);

/*  Fills *push as a view of batch: borrowed, valid while batch is.  */
void dn_tk_batch_push(const dn_tk_batch_t *batch, Dealernet__PushBatch *push);

/*  Packs the SyncMessage that carries the batch, as an agent sends it,
    into a new buffer *buf of *len bytes (caller frees).  Returns 0 or
    dn_wire_sync_pack's code with its reason in why.  */
int dn_tk_batch_pack(const dn_tk_batch_t *batch, uint8_t **buf, size_t *len, char *why,
                     size_t why_size);

/*  Applies batch as site through the server's path, as a group of one
    batch (dn_ingest_push, dn_ingest_group_end): committed when accepted,
    rolled back when refused.  Fills *result.  Returns dn_ingest_push's
    code, or DN_EDB when the database fails (result->why then says so).  */
int dn_tk_ingest(sqlite3 *db, dn_ingest_t *ingest, const dn_registry_site_t *site,
                 const dn_tk_batch_t *batch, int64_t now_ms, dn_ingest_result_t *result);

/* -- a read failing mid-scan -------------------------------------------------- */

/*  A row loop must tell the end of its rows from an error (dn_db_row): an
    I/O error half-way through a listing must reach the caller as an error,
    never as a shorter listing.  A cut makes one step of one statement fail
    the way such an error does, at a chosen point: SQLite calls a progress
    handler every few VM instructions, and a handler that returns non-zero
    interrupts the statement running (SQLITE_INTERRUPT) -- once, the steps
    after it run normally.

    Armed on db with stop_at 0, a cut never interrupts and counts the
    handler's calls (calls: the points a run can be cut at); with stop_at k
    it interrupts at the k-th call.  rows counts the rows returned by the
    statements whose SQL contains listing; rows_at_stop is rows when the
    interrupt came (-1: it never came), so a test can show the cut fell
    after the listing's first row and before its last.  */
typedef struct {
    const char *listing; /* text of the listing's SQL */
    int stop_at;         /* the handler call that interrupts; 0: none */
    int calls;           /* handler calls so far */
    int rows;            /* rows the listing returned so far */
    int rows_at_stop;    /* rows when it interrupted, or -1 */
} dn_tk_cut_t;

/*  Resets cut's counters and hooks it on db (a progress handler every
    instruction and a row trace; replaces any the connection had).  */
void dn_tk_cut_arm(sqlite3 *db, dn_tk_cut_t *cut, int stop_at);

/*  Removes the hooks from db.  */
void dn_tk_cut_disarm(sqlite3 *db);

/* -- files -------------------------------------------------------------------- */

/*  Removes dir and everything in it, subfolders too (a test's throwaway
    folder: the databases, their -wal and -shm, even when a failed assertion
    left them half-made).  Does not follow links.  Returns 0, or -1 when
    anything could not be removed (it still removes what it can).  */
int dn_tk_remove_tree(const char *dir);

#endif
