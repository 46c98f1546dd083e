/*  dn_chain_down -- STREAM_CHAIN: a site's own events as the server holds
    them, for `dealernet-agent recover` (README "Recovering a shop PC").

    The version is the seq: a chunk from `from` carries the site's stored
    events after it, in seq order, each exactly the bytes the server stored
    and hashed (table events, written by dn_ingest) -- the agent checks
    their chain itself and keeps them byte for byte, so what it sends again
    later is what the server holds.  The scope is the site code: a site's
    chain is its own, and a folder that became another site (it never
    does) would get it from 0.  Not cached (head NULL): no two sites share
    a chain.  */
#include "dn_down.h"
#include "dn_db.h"
#include "dn_error.h"

#include <string.h>

static int s_scope(sqlite3 *db, const dn_down_ctx_t *ctx, uint8_t *scope,
                   size_t *scope_len)
{
    size_t len = strlen(ctx->site->code);
    (void)db;
    /* a code is at most DN_MAX_CODE_LEN bytes, far below the scope's room */
    if (len > DN_DOWN_SCOPE_MAX)
        return DN_EDB;
    memcpy(scope, ctx->site->code, len);
    *scope_len = len;
    return 0;
}

static int s_produce(sqlite3 *db, const dn_down_ctx_t *ctx, uint64_t from,
                     dn_down_chunk_t *chunk, uint64_t *to, int *more)
{
    sqlite3_stmt *stmt;
    int rc = 0, step;

    *to = from;
    *more = 0;
    if (dn_db_prepare(db,
                      "SELECT seq, body FROM events WHERE site_id = ? AND seq > ? "
                      "ORDER BY seq",
                      &stmt))
        return DN_EDB;
    sqlite3_bind_int64(stmt, 1, ctx->site->id);
    sqlite3_bind_int64(stmt, 2, (sqlite3_int64)from);
    while ((step = dn_db_row(stmt, "chain down")) == 1) {
        Dealernet__DownItem item = DEALERNET__DOWN_ITEM__INIT;
        item.body_case = DEALERNET__DOWN_ITEM__BODY_EVENT;
        item.event.data = (uint8_t *)sqlite3_column_blob(stmt, 1);
        item.event.len = (size_t)sqlite3_column_bytes(stmt, 1);
        rc = dn_down_chunk_add(chunk, &item);
        if (rc == DN_ETOOBIG) { /* the rest in the next chunk */
            *more = 1;
            rc = 0;
            break;
        }
        if (rc)
            break;
        *to = (uint64_t)sqlite3_column_int64(stmt, 0);
    }
    if (rc == 0 && step < 0)
        rc = DN_EDB;
    sqlite3_finalize(stmt);
    return rc;
}

const dn_down_stream_t dn_down_chain = {
    .stream = DEALERNET__STREAM__STREAM_CHAIN,
    .name = "chain",
    .scope = s_scope,
    .produce = s_produce,
    .head = NULL,
};
