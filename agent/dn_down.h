/*  dn_down -- the agent's side of the downstream channel (PROTOCOL.md,
    "Downstream"): what it holds of each stream, and applying a verified
    DownReply in one transaction.

    agent.db keeps, per stream, the version and scope it holds and when it
    was last checked (a Pull answered) and last changed (a Down with items
    applied): table down_state.  dn_down_apply verifies every Down of a
    reply against the pinned down key (meta 'down_key'), checks that each
    applies to what is held (from_version and scope, or reset), and hands
    its items to the stream's applier -- all in one transaction: a kill
    half-way leaves the stream as it was, and the next sync pulls it again.
*/
#ifndef DN_AGENT_DOWN_H
#define DN_AGENT_DOWN_H

#include "dealernet.pb-c.h"
#include "dn_crypto.h"
#include "dn_protocol.h"
#include "dn_store.h"

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

/*  One stream on the agent.  */
typedef struct {
    Dealernet__Stream stream;
    const char *name; /* "catalog", ... as the server's */
    /*  Applies the items of one Down (already verified and unpacked), in the
        caller's transaction on db; reset: delete what the stream holds
        first.  Refuses an item that does not fit the stream (why filled):
        DN_EPROTO; DN_EDB.  */
    int (*apply)(sqlite3 *db, int reset, Dealernet__DownItem *const *items, size_t n,
                 char *why, size_t why_size);
} dn_down_applier_t;

/*  The appliers, each beside the tables it writes (dn_hqcatalog.c,
    dn_earnings.c, dn_notices.c, dn_recover.c ...), listed in dn_down.c
    (s_appliers: one line each).  */
extern const dn_down_applier_t dn_down_apply_catalog;
extern const dn_down_applier_t dn_down_apply_earnings;
extern const dn_down_applier_t dn_down_apply_members;
extern const dn_down_applier_t dn_down_apply_notices;
extern const dn_down_applier_t dn_down_apply_chain;

/*  What one stream holds.  */
typedef struct {
    uint64_t version;
    uint8_t scope[DN_DOWN_SCOPE_MAX];
    size_t scope_len;
    int64_t checked_ms; /* a Pull of it was last answered, 0: never */
    int64_t changed_ms; /* items of it were last applied, 0: never */
} dn_down_state_t;

/*  0 and *state of stream (zeroed when nothing is held), or DN_EDB.  */
int dn_down_state(dn_store_t *store, Dealernet__Stream stream, dn_down_state_t *state);

/*  Builds the Pull for the given streams (the holds from down_state) into
    *pull's storage: pull must be freed with dn_down_pull_free.  Returns 0,
    DN_EDB, DN_ENOMEM.  */
int dn_down_pull_build(dn_store_t *store, const Dealernet__Stream *streams, size_t n,
                       Dealernet__Pull **pull);
void dn_down_pull_free(Dealernet__Pull **pull);

/*  The appliers listed in dn_down.c: *n of them (borrowed, static).  */
const dn_down_applier_t *const *dn_down_appliers(size_t *n);

/*  The streams a sync pulls by default with the given appliers (list NULL:
    dn_down_appliers): every one except STREAM_CHAIN, which only `recover`
    pulls.  Fills streams (room for DN_DOWN_MAX_STREAMS) and returns how
    many.  */
size_t dn_down_default_streams(const dn_down_applier_t *const *list, size_t n,
                               Dealernet__Stream *streams);

/*  The pinned down key (meta 'down_key'): 0 and pub; DN_ENOENT (none
    pinned yet); DN_EDB; DN_ECRYPTO (the setting is damaged).  */
int dn_down_key_get(dn_store_t *store, uint8_t pub[DN_PUBKEY_BYTES]);

/*  Pins pub as the down key (replacing any), inside or outside a
    transaction.  0 or DN_EDB.  */
int dn_down_key_pin(dn_store_t *store, const uint8_t pub[DN_PUBKEY_BYTES]);

/*  What applying a reply did, per stream, for sync's report.  */
typedef struct {
    Dealernet__Stream stream;
    size_t items;     /* items applied */
    uint64_t version; /* held now */
    int reset;
    const char *name; /* the applier's name (static) */
} dn_down_applied_t;

/*  Verifies and applies one DownReply in one transaction at now_ms.
    applied (room for DN_DOWN_MAX_STREAMS entries) and *n_applied say what
    changed; *more is set when any Down said more.  Returns 0; DN_ECRYPTO
    (a signature does not verify, or no down key is pinned: nothing
    applied, why filled); DN_EPROTO (a Down does not apply to what is held,
    or an item does not fit its stream: nothing applied, why filled);
    DN_EDB.  */
int dn_down_apply(dn_store_t *store, const Dealernet__DownReply *reply, int64_t now_ms,
                  dn_down_applied_t *applied, size_t *n_applied, int *more, char *why,
                  size_t why_size);

/*  dn_down_apply with the given appliers (borrowed; tests apply a stream
    of their own).  A Down of a stream none of them applies is refused
    (DN_EPROTO).  */
int dn_down_apply_with(dn_store_t *store, const dn_down_applier_t *const *list, size_t n,
                       const Dealernet__DownReply *reply, int64_t now_ms,
                       dn_down_applied_t *applied, size_t *n_applied, int *more, char *why,
                       size_t why_size);

#endif
