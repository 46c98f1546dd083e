/*  dn_ingest -- applying a site's batches to central.db, exactly once.

    The server keeps, per site, the highest applied seq and the hash of that
    event (the chain head).  A batch is applied only if its signature
    verifies over the bytes received, its events decode, belong to the
    connection's site, run without a gap from the next expected seq, and
    continue the stored chain.  Events at or below the applied seq are
    skipped, but must hash to what is stored (else: tamper alarm).  All of
    a batch is written, or none of it: the caller wraps each call in a
    transaction (or a savepoint within a group commit) and rolls it back on
    refusal.

    What the server will not believe is stored and held, never refused
    (that would strand the site's chain): a sale over the network's bound
    on one sale ('over_limit'), a sale the ledger finds would take a
    running total over DN_MONEY_SUM_MAX ('sum_limit'), and a refund of a
    held sale.  sales.held names the reason; a held event posts no
    transfer and rolls up nothing, and the server logs one warning line.
*/
#ifndef DN_INGEST_H
#define DN_INGEST_H

#include "dealernet.pb-c.h"
#include "dn_crypto.h"
#include "dn_registry.h"
#include "dn_wire.h"

#include <sqlite3.h>
#include <stdint.h>

typedef struct _dn_ingest_t dn_ingest_t;

/*  Returns a new ingester on db (borrowed; must outlive it), or NULL.
    Caller destroys, before closing db.  */
dn_ingest_t *dn_ingest_new(sqlite3 *db);

/*  Destroys; accepts NULL and sets *self_p to NULL.  */
void dn_ingest_destroy(dn_ingest_t **self_p);

/*  Sync state of a site.  */
typedef struct {
    uint64_t applied_seq;
    uint8_t head[DN_HASH_BYTES];
    int64_t last_at_ms;    /* when the server posted the applied seq's event; 0: none */
    int64_t last_clock_ms; /* what the site's clock said of it; 0: none */
} dn_ingest_state_t;

/*  Reads a site's sync state.  0 or DN_EDB.  */
int dn_ingest_state(dn_ingest_t *self, int64_t site_id, dn_ingest_state_t *state);

/*  Records a Hello: last seen, clock skew (now - agent clock), the events
    pending (the Hello's head_seq less the applied seq, never below 0; the
    Hello's own count if it has no head_seq) and the oldest pending time,
    agent version.  Each batch applied then lowers the pending figure by
    what it applied (dn_ingest_batch).  Fills *state.
    Returns 0 or DN_EDB.  */
int dn_ingest_hello(dn_ingest_t *self, const dn_registry_site_t *site,
                    const Dealernet__Hello *hello, int64_t now_ms,
                    dn_ingest_state_t *state);

/*  What came of a batch.  */
typedef struct {
    uint64_t acked_through; /* applied seq after the batch (0 when refused) */
    int applied;            /* new events stored */
    int skipped;            /* events already applied, matched */
    Dealernet__RefuseCode code; /* 0 when accepted */
    uint64_t expected_seq;  /* with a refusal: the seq to resend from */
    char why[DN_WHY_SIZE + 64];
} dn_ingest_result_t;

/*  Applies a batch from site within the caller's transaction.  Returns 0
    when accepted (result->acked_through set; possibly nothing new), or
    DN_EPROTO when refused (result->code, why, expected_seq set; the caller
    must roll back what this call wrote), or DN_EDB (roll back; tell the
    agent to retry).  */
int dn_ingest_batch(dn_ingest_t *self, const dn_registry_site_t *site,
                    const Dealernet__PushBatch *batch, int64_t now_ms,
                    dn_ingest_result_t *result);

/*  Group commit.  The server applies the batches that arrive together in
    one transaction, the group, each under a savepoint, and sends no ack
    before the group has committed.  The server, the simulation
    (tests/sim) and the I/O-error sweep (tests/fault) all run it through
    these calls.

    dn_ingest_group_begin opens the group unless one is open (reads such
    as dn_ingest_hello then see one snapshot).  Returns 0, or DN_EDB if it
    cannot be opened, or if SQLite has rolled it back by itself (out of
    memory, an I/O error, a full disk): a write then would commit on its
    own, so from then on the group takes nothing more until
    dn_ingest_group_end.

    dn_ingest_push applies a batch as dn_ingest_batch does, under a
    savepoint of the group (opened if need be), rolling the savepoint back
    when the batch is refused.  Returns as dn_ingest_batch, or DN_EDB as
    dn_ingest_group_begin.

    dn_ingest_group_end commits the group (commit != 0) or rolls it back,
    forgetting the caches when it did not commit.  Returns 0 if the group
    committed or none was open, DN_EDB if it was rolled back for any
    reason: then every ack given within it must become a retry request.  */
int dn_ingest_group_begin(dn_ingest_t *self);
int dn_ingest_push(dn_ingest_t *self, const dn_registry_site_t *site,
                   const Dealernet__PushBatch *batch, int64_t now_ms,
                   dn_ingest_result_t *result);
int dn_ingest_group_end(dn_ingest_t *self, int commit);

/*  1 while a group is open (until dn_ingest_group_end), else 0.  */
int dn_ingest_group_open(const dn_ingest_t *self);

/*  Drops the ledger's, the report rollups' and the judge's caches: call
    after an admin command and after a rollback of a transaction that
    applied batches (see dn_ledger_forget, dn_rollup_forget,
    dn_facts_forget).
    A refused batch forgets by itself.  */
void dn_ingest_forget(dn_ingest_t *self);

/*  Posts a stored event that was held, now that HQ released it (see
    dn_facts_resolve): as the server believes it (dn_facts_load), into the
    ledger and the rollups, at now_ms, in the caller's transaction.
    Returns 0, DN_EDB, DN_ENOMEM.  */
int dn_ingest_post_stored(dn_ingest_t *self, int64_t eid, int64_t now_ms);

/*  The network's bound on one sale, in 10^-4 currency units (see
    dn_central_max_sale), read once and kept until dn_ingest_forget: a
    sale whose total is above it in its own currency is stored and held
    ('over_limit'), and the Welcome tells agents.  0 or DN_EDB.  */
int dn_ingest_max_sale(dn_ingest_t *self, int64_t *bound);

/*  Records that a gap was refused: the seq the server expects from site
    (shown by `site list`).  0 or DN_EDB.  */
int dn_ingest_note_gap(dn_ingest_t *self, int64_t site_id, uint64_t expected_seq);

#endif
