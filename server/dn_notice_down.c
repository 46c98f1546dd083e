/*  dn_notice_down -- the notices stream (dn_down_notices, dn_down.h): HQ's
    notices as DownItems.  The version is the last notice id the site was
    considered for; which notices reach it is dn_notice's rule
    (dn_notice_for_site).  A file of its own so that the server's modules
    that send and list notices (dn_admin) do not pull in the downstream
    channel.
*/
#include "dn_down.h"
#include "dn_error.h"
#include "dn_notice.h"

#include <string.h>

/*  The scope is the site's code: which notices a site receives depends on
    where it stands in the tree, but a move changes only what it pulls
    from then on -- the notices it holds were meant for it when it pulled
    them, and a move is no reason to send any again.  */
static int s_scope(sqlite3 *db, const dn_down_ctx_t *ctx, uint8_t *scope,
                   size_t *scope_len)
{
    size_t len = strlen(ctx->site->code);
    (void)db;
    memcpy(scope, ctx->site->code, len); /* a code: DN_MAX_CODE_LEN < DN_DOWN_SCOPE_MAX */
    *scope_len = len;
    return 0;
}

typedef struct {
    dn_down_chunk_t *chunk;
    uint64_t *to;
    int *more;
} s_fill_t;

/*  Adds a notice for the site; passes over one for others.  Either way
    the version moves past it: a notice for others is read once, not at
    every pull.  */
static int s_fill(void *arg, const dn_notice_t *notice, int reaches)
{
    s_fill_t *fill = arg;
    if (reaches) {
        Dealernet__DownItem item = DEALERNET__DOWN_ITEM__INIT;
        Dealernet__Notice body = DEALERNET__NOTICE__INIT;
        int rc;
        body.has_id = 1;
        body.id = (uint64_t)notice->id;
        body.text = (char *)notice->text;
        body.has_sent_ms = 1;
        body.sent_ms = notice->sent_ms;
        item.body_case = DEALERNET__DOWN_ITEM__BODY_NOTICE;
        item.notice = &body;
        rc = dn_down_chunk_add(fill->chunk, &item);
        if (rc == DN_ETOOBIG) {
            *fill->more = 1; /* the next pull goes on from *to */
            return 1;
        }
        if (rc)
            return rc;
    }
    *fill->to = (uint64_t)notice->id;
    return 0;
}

static int s_produce(sqlite3 *db, const dn_down_ctx_t *ctx, uint64_t from,
                     dn_down_chunk_t *chunk, uint64_t *to, int *more)
{
    s_fill_t fill = {chunk, to, more};
    *to = from;
    *more = 0;
    return dn_notice_for_site(db, ctx->site, ctx->now_ms, from, s_fill, &fill);
}

/*  No head: chunks of this stream are never cached.  Each site has a scope
    of its own, so a cached chunk would only serve the same site pulling
    the same version again; and what a site gets from a version depends on
    the tree at the pull, which moves without any notice being sent -- a
    head of the last notice id would hand a moved site a stale chunk.  */
const dn_down_stream_t dn_down_notices = {
    .stream = DEALERNET__STREAM__STREAM_NOTICES,
    .name = "notices",
    .scope = s_scope,
    .produce = s_produce,
    .head = NULL,
};
