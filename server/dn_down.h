/*  dn_down -- the server's side of the downstream channel: what HQ sends
    to shops (PROTOCOL.md, "Downstream"; proto/dealernet.proto, Pull and
    Down).

    A stream is one kind of content a site receives (the catalogue, its
    partner's earnings, its members' credit, notices, its own chain).  Each
    stream is a producer: given the site and the version the agent holds,
    it fills one chunk with what changed after that version and says the
    version the agent holds once it has applied the chunk.  This module
    owns everything around the producers: the scope check (a site whose
    scope changed -- e.g. it moved in the tree -- gets the stream again from
    0 with reset), the chunk budget (DN_DOWN_MAX_BYTES over all the Downs
    of one reply), the signature (the server's down key, dn_wire_down_signed),
    a cache of signed chunks (many sites in one scope at one version get
    the same bytes without reading or signing again) and packing the
    DownReply.

    Producers read through the server's one connection, inside the group
    transaction dn_session holds: a DownReply is held until the group has
    committed, like an ack, so no agent is told what was rolled back.  A
    producer writes nothing.
*/
#ifndef DN_DOWN_H
#define DN_DOWN_H

#include "dealernet.pb-c.h"
#include "dn_crypto.h"
#include "dn_registry.h"

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "dn_protocol.h" /* DN_DOWN_MAX_BYTES, DN_DOWN_SCOPE_MAX, DN_DOWN_MAX_STREAMS */

#define DN_DOWN_KEY_FILE    "down.key"   /* the server's Ed25519 down key, beside central.db */

/*  The site a producer produces for.  */
typedef struct {
    const dn_registry_site_t *site; /* code, partner, ... */
    int64_t now_ms;                 /* the server's clock */
} dn_down_ctx_t;

/*  One chunk being filled by a producer.  */
typedef struct _dn_down_chunk_t dn_down_chunk_t;

/*  Adds one item (packed by this function) to chunk.  Returns 0; DN_ETOOBIG
    when it does not fit in what is left of the reply's budget (nothing was
    added: the producer stops there, sets *more and returns the version
    through the items it added); DN_ENOMEM.  An item alone over the budget
    cannot happen for the streams we have (every item is bounded by
    dn_wire's limits far below it).  */
int dn_down_chunk_add(dn_down_chunk_t *chunk, const Dealernet__DownItem *item);

/*  Items added so far.  */
size_t dn_down_chunk_count(const dn_down_chunk_t *chunk);

/*  One stream.  */
typedef struct {
    Dealernet__Stream stream;
    const char *name; /* "catalog", "earnings", ...: logs, sync's report */
    /*  The scope of this stream for ctx's site now: what its content depends
        on besides the version (a digest of the partner path, the partner
        and period, the site code), at most DN_DOWN_SCOPE_MAX bytes into
        scope, its length in *scope_len.  An agent holding another scope
        gets the stream from 0 with reset.  Returns 0 or DN_EDB.  */
    int (*scope)(sqlite3 *db, const dn_down_ctx_t *ctx, uint8_t *scope, size_t *scope_len);
    /*  Fills chunk with what changed after version from (0: everything)
        for ctx's site, in version order, and sets *to to the version the
        agent holds once it applied exactly those items (from itself when
        nothing changed) and *more when it stopped on the budget.  Returns
        0, DN_EDB, DN_ENOMEM.  */
    int (*produce)(sqlite3 *db, const dn_down_ctx_t *ctx, uint64_t from,
                   dn_down_chunk_t *chunk, uint64_t *to, int *more);
    /*  The stream's head: a number that changes whenever any site's content
        of this stream may have changed (e.g. the catalogue's last change);
        signed chunks cached for the stream are dropped when it moves.  NULL:
        the stream's chunks are never cached.  Returns 0 or DN_EDB.  */
    int (*head)(sqlite3 *db, uint64_t *head);
} dn_down_stream_t;

/*  The streams the server serves, one per Dealernet__Stream, each defined
    beside the data it reads (dn_catalog.c, dn_earnings.c, dn_notice.c,
    dn_chain_down.c ...) and listed in dn_down.c.  */
extern const dn_down_stream_t dn_down_catalog;
extern const dn_down_stream_t dn_down_earnings;
extern const dn_down_stream_t dn_down_members;
extern const dn_down_stream_t dn_down_notices;
extern const dn_down_stream_t dn_down_chain;

typedef struct _dn_down_t dn_down_t;

/*  Returns the downstream server on db (borrowed), signing with key
    (borrowed), serving the streams listed in dn_down.c, or NULL if out of
    memory.  Caller destroys.  */
dn_down_t *dn_down_new(sqlite3 *db, dn_key_t *key);

/*  dn_down_new serving exactly the n streams given (borrowed, at most
    DN_DOWN_MAX_STREAMS, each Stream at most once): for tests, which serve
    a stream of their own.  */
dn_down_t *dn_down_new_streams(sqlite3 *db, dn_key_t *key,
                               const dn_down_stream_t *const *streams, size_t n);
void dn_down_destroy(dn_down_t **self_p);

/*  Copies the down key's public half (Welcome.down_key, Enrolled.down_key).  */
void dn_down_public(const dn_down_t *self, uint8_t pub[DN_PUBKEY_BYTES]);

/*  The cache of signed chunks (dn_down.c): Downs served from it, Downs
    produced and signed, and what it holds now.  For the bench and tests.  */
typedef struct {
    uint64_t hits;
    uint64_t misses;
    size_t entries;
    size_t bytes;
} dn_down_stats_t;
void dn_down_stats(const dn_down_t *self, dn_down_stats_t *stats);

/*  Loads the down key from dir (DN_DOWN_KEY_FILE), creating it (0600) if
    absent -- a server initialised before protocol 2 gets one on its first
    start.  Returns the key or NULL (*err: DN_EIO, DN_ECRYPTO).  */
dn_key_t *dn_down_key_load(const char *dir, int *err);

/*  Answers one Pull of site at now_ms: packs the DownReply (a SyncMessage)
    into *body, *len (caller frees).  Returns 0; DN_EPROTO (why filled: a
    stream named twice, a stream this server does not serve); DN_EDB;
    DN_ENOMEM; DN_EINVAL (a producer broke its contract: logged).  */
int dn_down_pull(dn_down_t *self, const dn_registry_site_t *site, int64_t now_ms,
                 const Dealernet__Pull *pull, uint8_t **body, size_t *len, char *why,
                 size_t why_size);

#endif
