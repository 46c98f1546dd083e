/*  dn_rollup -- the rollups the reports read, written at ingest.

    Team volume is the one figure of the reports (dn_report) that would
    need the tree at query time, so it is rolled up at ingest instead, in
    the caller's transaction; refunds are split over their sale's
    categories at the same time.  See dn_report.h for the rules of both.
    Owns the SQL that writes team_volume and refund_categories.
*/
#ifndef DN_ROLLUP_H
#define DN_ROLLUP_H

#include "dealernet.pb-c.h"

#include <sqlite3.h>
#include <stdint.h>

typedef struct _dn_rollup_t dn_rollup_t;

/*  Returns a new rollup keeper on db (borrowed; must outlive it), or NULL.
    Caller destroys, before closing db.  */
dn_rollup_t *dn_rollup_new(sqlite3 *db);

/*  Destroys; accepts NULL and sets *self_p to NULL.  */
void dn_rollup_destroy(dn_rollup_t **self_p);

/*  Rolls up a just-stored event (its rows written), inside the caller's
    transaction: a sale adds to its team's month, a refund subtracts from
    the sale's team in the refund's month and records its category split;
    other events roll up nothing.  eid is the event's row, now_ms the time
    it is stored (a seller HQ had not added by then belongs to no team, as
    it earns no commission).  Team volume moves at the next
    dn_rollup_flush.  Returns 0 or DN_EDB / DN_ENOMEM (the caller rolls
    back; the keeper forgets by itself).  */
int dn_rollup_post(dn_rollup_t *self, int64_t eid, const Dealernet__Event *ev,
                   int64_t now_ms);

/*  Rolls up the void of sale sale_eid (dn_ledger_void) inside the
    caller's transaction: the sale counts as refunded in full in the
    void's month (that of void_ms), its team's volume less what the
    refunds stored before the void (eid <= events_through) had not taken
    back, as one more refund.  The months already rolled up stay as they
    were, as they do for a refund: a voided sale is not taken out of the
    month it was sold in.  A refund stored after the void rolls up
    nothing (dn_rollup_post).  Team volume moves at the next
    dn_rollup_flush.  Returns 0 or DN_EDB / DN_ENOMEM (the caller rolls
    back; the keeper forgets by itself).  */
int dn_rollup_void(dn_rollup_t *self, int64_t sale_eid, int64_t events_through,
                   int64_t void_ms);

/*  Writes the team volume moves of the postings since the last flush,
    inside the caller's transaction (dn_ingest flushes once per batch).
    Returns 0 or DN_EDB (the keeper then forgets).  */
int dn_rollup_flush(dn_rollup_t *self);

/*  Drops the cached tree and the moves not yet flushed: call after any
    admin command and after any rollback of a transaction it posted in.  */
void dn_rollup_forget(dn_rollup_t *self);

/*  Recomputes every rollup from the stored events, in event order, with
    each void where it was made among them, inside the caller's
    transaction (dn_rollup_complete runs it once after the migration that
    created the rollups, on a database that already held events).
    Returns 0, DN_EDB, DN_ENOMEM.  */
int dn_rollup_rebuild(sqlite3 *db);

/*  Completes the migration that created the rollups: when it left the
    meta flag DN_META_ROLLUP_REBUILD (the database held events then),
    rebuilds every rollup (dn_rollup_rebuild) and removes the flag, in one
    transaction of its own; else does nothing.  Run once after
    dn_central_open (the server does, before serving).  Returns 0 or
    DN_EDB / DN_ENOMEM (nothing written).  */
int dn_rollup_complete(sqlite3 *db);

#endif
