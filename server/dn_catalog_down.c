/*  dn_catalog_down -- STREAM_CATALOG's producer (server/dn_down.h): HQ's
    catalogue as a site receives it.

    A site receives the network's price list and the lists of the partners
    on its path (its partner, that partner's parent, ... up to the top) as
    the tree stands now.  Its scope is the SHA-256 of that path, so a site
    whose partner moved in the tree holds another scope and gets the
    catalogue again from 0 with reset: rows of its old path's lists are
    dropped, its new path's arrive.  Each item carries its list's depth
    (network 0, the top partner 1, its children 2, ...) so the till can
    take the deepest list without knowing the tree.

    Kept apart from dn_catalog (the table) because it needs the downstream
    framework (dn_down_chunk_add); dn_catalog's SQL stays in dn_catalog.c.
*/
#include "dn_catalog.h"
#include "dn_crypto.h"
#include "dn_down.h"
#include "dn_error.h"
#include "dn_tree.h"

#include <stdlib.h>
#include <string.h>

/*  The site's partner path now, top first.  */
typedef struct {
    char (*codes)[DN_MAX_CODE_LEN + 1];
    size_t n, cap;
} s_path_t;

static int s_path_visit(void *arg, dn_tree_node_t *node)
{
    s_path_t *path = arg;
    if (path->n == path->cap) {
        size_t cap = path->cap ? 2 * path->cap : 8;
        void *more = realloc(path->codes, cap * sizeof *path->codes);
        if (!more)
            return DN_ENOMEM;
        path->codes = more;
        path->cap = cap;
    }
    memcpy(path->codes[path->n++], node->p.code, sizeof node->p.code);
    return 0;
}

/*  Fills path (free its codes) with the site's partner and its uplines at
    now, top first.  A site without a partner row has the network's list
    only.  */
static int s_path(sqlite3 *db, const dn_down_ctx_t *ctx, s_path_t *path)
{
    dn_registry_partner_t partner;
    dn_tree_t *tree;
    int rc = dn_registry_partner_get(db, ctx->site->partner, &partner);

    memset(path, 0, sizeof *path);
    if (rc == DN_ENOENT)
        return 0;
    if (rc)
        return rc;
    if (!(tree = dn_tree_new(db)))
        return DN_ENOMEM;
    rc = dn_tree_walk(tree, partner.id, ctx->now_ms, s_path_visit, path);
    dn_tree_destroy(&tree);
    if (rc) {
        free(path->codes);
        memset(path, 0, sizeof *path);
        return rc;
    }
    for (size_t i = 0; i < path->n / 2; i++) { /* top first */
        char swap[DN_MAX_CODE_LEN + 1];
        memcpy(swap, path->codes[i], sizeof swap);
        memcpy(path->codes[i], path->codes[path->n - 1 - i], sizeof swap);
        memcpy(path->codes[path->n - 1 - i], swap, sizeof swap);
    }
    return 0;
}

int dn_catalog_scope(const char *const *path, size_t n, uint8_t scope[DN_HASH_BYTES])
{
    char *text;
    size_t len = 0, size = 1;
    int rc;

    for (size_t i = 0; i < n; i++)
        size += strlen(path[i]) + 1;
    if (!(text = malloc(size)))
        return DN_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        size_t code_len = strlen(path[i]);
        memcpy(text + len, path[i], code_len);
        len += code_len;
        text[len++] = '\n';
    }
    rc = dn_sha256(text, len, scope);
    free(text);
    return rc;
}

/*  scope: dn_catalog_scope of the site's path now.  */
static int s_scope(sqlite3 *db, const dn_down_ctx_t *ctx, uint8_t *scope, size_t *scope_len)
{
    s_path_t path;
    const char **codes = NULL;
    int rc = s_path(db, ctx, &path);

    if (rc)
        return rc;
    if (path.n && !(codes = malloc(path.n * sizeof *codes))) {
        free(path.codes);
        return DN_ENOMEM;
    }
    for (size_t i = 0; i < path.n; i++)
        codes[i] = path.codes[i];
    rc = dn_catalog_scope(codes, path.n, scope);
    free(codes);
    free(path.codes);
    if (rc)
        return rc;
    *scope_len = DN_HASH_BYTES;
    return 0;
}

/*  What produce passes its scan.  */
typedef struct {
    const s_path_t *path;
    dn_down_chunk_t *chunk;
    uint64_t last; /* version of the last item added */
    int full;      /* stopped on the budget */
} s_fill_t;

static int s_fill(void *arg, const dn_catalog_row_t *row)
{
    s_fill_t *fill = arg;
    Dealernet__DownItem item = DEALERNET__DOWN_ITEM__INIT;
    Dealernet__CatalogItem cat = DEALERNET__CATALOG_ITEM__INIT;
    int rc;

    cat.sku = (char *)row->sku;
    cat.name = (char *)row->name;
    cat.category = row->category[0] ? (char *)row->category : NULL;
    cat.has_price = 1;
    cat.price = row->price;
    cat.has_effective_ms = 1;
    cat.effective_ms = row->effective_ms;
    if (row->partner[0]) {
        cat.partner = (char *)row->partner;
        for (size_t i = 0; i < fill->path->n; i++)
            if (strcmp(fill->path->codes[i], row->partner) == 0)
                cat.depth = (uint32_t)(i + 1);
    }
    cat.has_depth = 1;
    cat.has_fixed = row->fixed != 0;
    cat.fixed = row->fixed != 0;
    cat.has_removed = row->removed != 0;
    cat.removed = row->removed != 0;
    item.body_case = DEALERNET__DOWN_ITEM__BODY_CATALOG;
    item.catalog = &cat;
    rc = dn_down_chunk_add(fill->chunk, &item);
    if (rc == DN_ETOOBIG) {
        fill->full = 1;
        return 1;
    }
    if (rc)
        return rc;
    fill->last = row->version;
    return 0;
}

static int s_produce(sqlite3 *db, const dn_down_ctx_t *ctx, uint64_t from,
                     dn_down_chunk_t *chunk, uint64_t *to, int *more)
{
    s_path_t path;
    s_fill_t fill = {.chunk = chunk, .last = from};
    const char **codes = NULL;
    uint64_t head;
    int rc;

    *more = 0;
    *to = from;
    /* the head first, in the caller's transaction: when the scan runs to
       the end, the site holds everything of its lists through it */
    if ((rc = dn_catalog_head(db, &head)) != 0 || (rc = s_path(db, ctx, &path)) != 0)
        return rc;
    if (path.n && !(codes = malloc(path.n * sizeof *codes))) {
        free(path.codes);
        return DN_ENOMEM;
    }
    for (size_t i = 0; i < path.n; i++)
        codes[i] = path.codes[i];
    fill.path = &path;
    rc = dn_catalog_scan(db, codes, path.n, from, s_fill, &fill);
    free(codes);
    free(path.codes);
    if (rc)
        return rc;
    if (fill.full) {
        *more = 1;
        *to = fill.last;
    } else {
        /* rows of other partners' lists after the last one sent are no
           concern of this site: it is up to date through the head */
        *to = head > from ? head : from;
    }
    return 0;
}

static int s_head(sqlite3 *db, uint64_t *head)
{
    return dn_catalog_head(db, head);
}

const dn_down_stream_t dn_down_catalog = {
    .stream = DEALERNET__STREAM__STREAM_CATALOG,
    .name = "catalog",
    .scope = s_scope,
    .produce = s_produce,
    .head = s_head,
};
