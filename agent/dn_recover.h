/*  dn_recover -- rebuilding a site's log from the server's copy of its
    chain (`dealernet-agent recover`, README "Recovering a shop PC").

    An agent.db restored from an old copy, copied to a second PC, or on a
    new PC after `dealernet-hq site token` holds a log that differs from
    the server's: sync refuses it (the server holds more than the site
    recorded, or a resent event differs).  recover pulls the server's chain
    (STREAM_CHAIN, applied by dn_down_apply_chain into table
    chain_staging, one chunk per transaction), then in ONE transaction
    makes the log the server's chain followed by every local event the
    server never received, re-recorded after the server's head with the
    same ids, times and bodies.  Nothing a clerk recorded is lost, and the
    server is only ever sent events after its own head: it never holds two
    histories for one site.
*/
#ifndef DN_RECOVER_H
#define DN_RECOVER_H

#include "dn_store.h"

#include <stddef.h>
#include <stdint.h>

/*  What a recovery did (or, dry run, would do).  */
typedef struct {
    int64_t server_head; /* the server holds seq 1 .. server_head */
    int64_t kept;        /* local events the server holds: kept as they were */
    int64_t added;       /* the server's events this copy lacked: added, synced */
    int64_t rerecorded;  /* local events the server never received: re-recorded
                            as server_head + 1 .. + rerecorded, pending */
} dn_recover_result_t;

/*  Rebuilds the log from the staged server chain, in one transaction
    (rolled back when dry_run, after computing everything).  Checks the
    staged chain (seq 1, 2 ... without a gap, each prev_hash the previous
    event's hash, every event of this site, ids unique), keeps each local
    event the server holds (the same id must be the same bytes), adds the
    server's events this copy lacks with their projections (sales,
    refunds, members: refunds and member lookups work for them), re-chains
    the local events the server never received after its head, and
    checks the whole log (dn_outbox_check) before committing.  Returns 0
    and *out; DN_ENOENT (nothing staged: the server holds nothing for the
    site, why); DN_ECHAIN (the staged chain is broken, or a local event
    differs from the server's of the same id: nothing changed, why);
    DN_ELIMIT (the server's refunds of a sale and the ones recorded here
    together exceed it: both PCs refunded it; nothing changed, why);
    DN_EPROTO (an event does not decode, why); DN_ENOMEM, DN_ECRYPTO,
    DN_EDB.  The staged chain must be the server's as of now (recover
    pulls it to the end first): a synced event missing from it is taken
    for one the server lost, and re-recorded.  */
int dn_recover_run(dn_store_t *store, int dry_run, dn_recover_result_t *out, char *why,
                   size_t why_size);

/*  The one line that reports r: "recovered: server holds 1-120, 15 events
    added from the server, 3 local events re-recorded as seq 121-123
    (pending: run 'dealernet-agent sync')", or "would recover: ..." for a
    dry run.  Returns buf.  */
const char *dn_recover_report(const dn_recover_result_t *r, int dry_run, char *buf,
                              size_t size);

#endif
