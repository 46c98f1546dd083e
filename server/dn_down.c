/*  dn_down -- the server's side of the downstream channel (see dn_down.h).

    One Pull is answered with one DownReply: for each stream held, in the
    Pull's order, the scope check (the agent's scope is not the stream's
    scope for its site now: from 0 with reset), then the chunk, from the
    cache or from the producer, signed.  The budget (DN_DOWN_MAX_BYTES and
    DN_DOWN_MAX_ITEMS) is shared by every Down of the reply, in order, so a
    reply always fits one sync message; a stream cut short says more, and
    the agent pulls again.

    The cache keeps signed chunks of streams that have a head(), keyed by
    (stream, scope, from_version, reset): every site in one scope that
    holds one version gets the same bytes, produced and signed once.  An
    entry is dropped when its stream's head moves, and the least recently
    used goes first beyond DN_DOWN_CACHE_ENTRIES or DN_DOWN_CACHE_BYTES.
    Only chunks that were given the whole budget, or that hold all the
    stream has (no more), are cached: a chunk cut short because an earlier
    stream of its reply took most of the budget is right but smaller than
    it need be, and would be served to every other site too.  The cache
    changes what is read and signed, never what a site receives.
*/
#include "dn_down.h"
#include "dn_error.h"
#include "dn_log.h"
#include "dn_testctl.h"
#include "dn_wire.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/*  The streams this server serves, in the order an agent pulls them: each
    stream's engineer adds its line here, and the agent's appliers are
    listed in agent/dn_down.c.  */
static const dn_down_stream_t *const s_streams[] = {
    &dn_down_catalog,  /* server/dn_catalog_down.c */
    &dn_down_earnings, /* server/dn_earnings.c */
    &dn_down_members,  /* server/dn_earnings.c */
    &dn_down_notices,  /* server/dn_notice_down.c */
    &dn_down_chain, /* server/dn_chain_down.c */
    NULL /* the end */
};

#define DN_DOWN_CACHE_ENTRIES 64
#define DN_DOWN_CACHE_BYTES   (32 * 1024 * 1024)

struct _dn_down_chunk_t {
    Dealernet__Stream stream;
    ProtobufCBinaryData *items; /* packed DownItems, owned */
    size_t n, cap;
    size_t bytes;       /* of items */
    size_t *budget;     /* bytes left in the reply, shared by its chunks */
    size_t *items_left; /* items left in the reply */
};

/*  One signed Down, owned: the cache's entries and a reply's Downs.
    packed is the Down message as it goes on the wire; a cache entry and
    a hit keep only it (items NULL), a Down just produced both.  */
typedef struct {
    Dealernet__Stream stream;
    uint8_t scope[DN_DOWN_SCOPE_MAX];
    size_t scope_len;
    uint64_t from, to;
    int reset, more;
    ProtobufCBinaryData *items;
    size_t n_items;
    size_t bytes;
    uint8_t signature[DN_SIG_BYTES];
    uint8_t *packed;
    size_t packed_len;
} s_signed_t;

typedef struct {
    s_signed_t down;
    uint64_t head; /* the stream's head when it was produced */
    uint64_t used; /* LRU tick */
    int live;
} s_entry_t;

struct _dn_down_t {
    sqlite3 *db;   /* borrowed */
    dn_key_t *key; /* borrowed */
    uint8_t pub[DN_PUBKEY_BYTES];
    const dn_down_stream_t *streams[DN_DOWN_MAX_STREAMS];
    size_t n_streams;
    s_entry_t cache[DN_DOWN_CACHE_ENTRIES];
    size_t cache_bytes;
    uint64_t tick;
    uint64_t hits, misses;
    long tamper_at;           /* DEALERNET_TEST_TAMPER_DOWN's N, or -1 (dn_testctl.h) */
    uint64_t sent_with_items; /* Downs with an item sent, counted for it */
};

/* -- chunks ------------------------------------------------------------------- */

int dn_down_chunk_add(dn_down_chunk_t *chunk, const Dealernet__DownItem *item)
{
    char why[DN_WHY_SIZE];
    uint8_t *buf;
    size_t len;
    int rc = dn_wire_down_item_pack(chunk->stream, item, &buf, &len, why, sizeof why);
    if (rc == DN_EPROTO) {
        /* a producer's bug, not the site's: logged, and the reply fails */
        dn_log_error("a downstream item of stream %d does not check: %s",
                     (int)chunk->stream, why);
        return DN_EINVAL;
    }
    if (rc)
        return rc;
    if (len > *chunk->budget || *chunk->items_left == 0) {
        free(buf);
        return DN_ETOOBIG;
    }
    if (chunk->n == chunk->cap) {
        size_t cap = chunk->cap ? chunk->cap * 2 : 64;
        ProtobufCBinaryData *grown = realloc(chunk->items, cap * sizeof *grown);
        if (!grown) {
            free(buf);
            return DN_ENOMEM;
        }
        chunk->items = grown;
        chunk->cap = cap;
    }
    chunk->items[chunk->n].data = buf;
    chunk->items[chunk->n].len = len;
    chunk->n++;
    chunk->bytes += len;
    *chunk->budget -= len;
    (*chunk->items_left)--;
    return 0;
}

size_t dn_down_chunk_count(const dn_down_chunk_t *chunk)
{
    return chunk->n;
}

static void s_items_free(ProtobufCBinaryData *items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(items[i].data);
    free(items);
}

static void s_signed_free(s_signed_t *down)
{
    if (down->items)
        s_items_free(down->items, down->n_items);
    down->items = NULL;
    free(down->packed);
    down->packed = NULL;
    down->packed_len = 0;
}

/*  A copy of src without its items, with its packed bytes (for a cache
    entry or a hit): one copy of at most a reply's bytes, where copying
    the items one by one and packing them again cost a thousand small
    allocations a chunk, for every site the chunk is served to.  */
static int s_signed_copy(s_signed_t *dst, const s_signed_t *src)
{
    *dst = *src;
    dst->items = NULL;
    if (!(dst->packed = malloc(src->packed_len ? src->packed_len : 1))) {
        dst->packed_len = 0;
        return DN_ENOMEM;
    }
    memcpy(dst->packed, src->packed, src->packed_len);
    return 0;
}

/*  The Down message of a signed chunk (borrowing its bytes).  */
static void s_down_message(const s_signed_t *d, Dealernet__Down *m)
{
    dealernet__down__init(m);
    m->has_stream = 1;
    m->stream = d->stream;
    m->has_scope = 1;
    m->scope.data = (uint8_t *)d->scope;
    m->scope.len = d->scope_len;
    m->has_from_version = 1;
    m->from_version = d->from;
    m->has_to_version = 1;
    m->to_version = d->to;
    m->has_reset = 1;
    m->reset = d->reset;
    m->has_more = 1;
    m->more = d->more;
    m->n_items = d->n_items;
    m->items = d->items;
    m->has_signature = 1;
    m->signature.data = (uint8_t *)d->signature;
    m->signature.len = DN_SIG_BYTES;
}

static int s_sign(dn_down_t *self, s_signed_t *d)
{
    Dealernet__Down m;
    uint8_t signed_bytes[DN_DOWN_SIGNED_MAX];
    size_t len;
    int rc;
    s_down_message(d, &m);
    if ((rc = dn_wire_down_signed(&m, signed_bytes, &len)) != 0)
        return rc;
    return dn_key_sign(self->key, signed_bytes, len, d->signature);
}

/*  Packs d's Down message into d->packed.  */
static int s_pack(s_signed_t *d)
{
    Dealernet__Down m;
    s_down_message(d, &m);
    d->packed_len = dealernet__down__get_packed_size(&m);
    if (!(d->packed = malloc(d->packed_len ? d->packed_len : 1)))
        return DN_ENOMEM;
    dealernet__down__pack(&m, d->packed);
    return 0;
}

/* -- the cache ------------------------------------------------------------------ */

static void s_cache_drop(dn_down_t *self, s_entry_t *e)
{
    self->cache_bytes -= e->down.bytes;
    s_signed_free(&e->down);
    e->live = 0;
}

/*  Drops stream's entries produced at another head.  */
static void s_cache_head(dn_down_t *self, Dealernet__Stream stream, uint64_t head)
{
    for (size_t i = 0; i < DN_DOWN_CACHE_ENTRIES; i++) {
        s_entry_t *e = &self->cache[i];
        if (e->live && e->down.stream == stream && e->head != head)
            s_cache_drop(self, e);
    }
}

static s_entry_t *s_cache_find(dn_down_t *self, Dealernet__Stream stream,
                               const uint8_t *scope, size_t scope_len, uint64_t from,
                               int reset)
{
    for (size_t i = 0; i < DN_DOWN_CACHE_ENTRIES; i++) {
        s_entry_t *e = &self->cache[i];
        if (e->live && e->down.stream == stream && e->down.from == from &&
            e->down.reset == reset && e->down.scope_len == scope_len &&
            memcmp(e->down.scope, scope, scope_len) == 0)
            return e;
    }
    return NULL;
}

/*  Keeps a copy of d, made at head.  Out of memory only costs the cache.  */
static void s_cache_put(dn_down_t *self, const s_signed_t *d, uint64_t head)
{
    s_entry_t *slot = NULL;
    if (d->bytes > DN_DOWN_CACHE_BYTES)
        return;
    for (;;) {
        s_entry_t *oldest = NULL;
        slot = NULL;
        for (size_t i = 0; i < DN_DOWN_CACHE_ENTRIES; i++) {
            s_entry_t *e = &self->cache[i];
            if (!e->live && !slot)
                slot = e;
            if (e->live && (!oldest || e->used < oldest->used))
                oldest = e;
        }
        if (slot && self->cache_bytes + d->bytes <= DN_DOWN_CACHE_BYTES)
            break;
        s_cache_drop(self, oldest); /* full, by count or by bytes */
    }
    if (s_signed_copy(&slot->down, d) != 0)
        return;
    slot->head = head;
    slot->used = ++self->tick;
    slot->live = 1;
    self->cache_bytes += d->bytes;
}

/* -- the server ------------------------------------------------------------------ */

dn_down_t *dn_down_new_streams(sqlite3 *db, dn_key_t *key,
                               const dn_down_stream_t *const *streams, size_t n)
{
    dn_down_t *self;
    if (n > DN_DOWN_MAX_STREAMS || !(self = calloc(1, sizeof *self)))
        return NULL;
    self->db = db;
    self->key = key;
    self->tamper_at = dn_testctl_tamper_down();
    if (dn_key_public(key, self->pub) != 0) {
        free(self);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        self->streams[self->n_streams++] = streams[i];
    return self;
}

dn_down_t *dn_down_new(sqlite3 *db, dn_key_t *key)
{
    size_t n = 0;
    while (s_streams[n])
        n++;
    return dn_down_new_streams(db, key, s_streams, n);
}

void dn_down_destroy(dn_down_t **self_p)
{
    dn_down_t *self = self_p ? *self_p : NULL;
    if (!self)
        return;
    for (size_t i = 0; i < DN_DOWN_CACHE_ENTRIES; i++)
        if (self->cache[i].live)
            s_signed_free(&self->cache[i].down);
    free(self);
    *self_p = NULL;
}

void dn_down_public(const dn_down_t *self, uint8_t pub[DN_PUBKEY_BYTES])
{
    memcpy(pub, self->pub, DN_PUBKEY_BYTES);
}

void dn_down_stats(const dn_down_t *self, dn_down_stats_t *stats)
{
    stats->hits = self->hits;
    stats->misses = self->misses;
    stats->entries = 0;
    for (size_t i = 0; i < DN_DOWN_CACHE_ENTRIES; i++)
        stats->entries += self->cache[i].live != 0;
    stats->bytes = self->cache_bytes;
}

dn_key_t *dn_down_key_load(const char *dir, int *err)
{
    char path[4096];
    struct stat st;
    dn_key_t *key;
    int n = snprintf(path, sizeof path, "%s/%s", dir, DN_DOWN_KEY_FILE), rc;

    if (n < 0 || (size_t)n >= sizeof path) {
        *err = DN_EIO;
        return NULL;
    }
    /* A server initialised before protocol 2 gets its key on its first
       start; a key file that exists and does not load is never replaced
       (the agents pinned it).  */
    if (stat(path, &st) != 0 && errno == ENOENT) {
        if (!(key = dn_key_generate())) {
            *err = DN_ECRYPTO;
            return NULL;
        }
        if ((rc = dn_key_save(key, path)) != 0) {
            dn_key_destroy(&key);
            *err = rc;
            return NULL;
        }
        dn_log_info("created the down key %s", path);
        return key;
    }
    if (!(key = dn_key_load(path)))
        *err = DN_ECRYPTO;
    return key;
}

/*  The stream this server serves as s, or NULL.  */
static const dn_down_stream_t *s_stream(const dn_down_t *self, Dealernet__Stream s)
{
    for (size_t i = 0; i < self->n_streams; i++)
        if (self->streams[i]->stream == s)
            return self->streams[i];
    return NULL;
}

/*  One stream's Down into *d, for a site that holds hold, within the
    reply's budget.  */
static int s_one(dn_down_t *self, const dn_down_stream_t *st, const dn_down_ctx_t *ctx,
                 const Dealernet__StreamHolds *hold, size_t *budget, size_t *items_left,
                 s_signed_t *d)
{
    dn_down_chunk_t chunk;
    uint64_t head = 0, from;
    size_t held_len = hold->has_scope ? hold->scope.len : 0;
    int rc, full = *budget == DN_DOWN_MAX_BYTES && *items_left == DN_DOWN_MAX_ITEMS;
    s_entry_t *e;

    memset(d, 0, sizeof *d);
    d->stream = st->stream;
    if ((rc = st->scope(self->db, ctx, d->scope, &d->scope_len)) != 0)
        return rc;
    if (d->scope_len > DN_DOWN_SCOPE_MAX) {
        dn_log_error("stream %s: a scope of %zu bytes", st->name, d->scope_len);
        return DN_EINVAL;
    }
    /* Another scope: what the agent holds was for another partner path,
       period or site; it gets the stream again, from nothing, and drops
       what it held (reset).  Version 0 holds nothing, in no scope.  */
    from = hold->version;
    if (from != 0 && (held_len != d->scope_len ||
                      (held_len && memcmp(hold->scope.data, d->scope, held_len) != 0))) {
        from = 0;
        d->reset = 1;
    }
    d->from = from;
    if (st->head) {
        if ((rc = st->head(self->db, &head)) != 0)
            return rc;
        s_cache_head(self, st->stream, head);
        e = s_cache_find(self, st->stream, d->scope, d->scope_len, from, d->reset);
        if (e && e->down.bytes <= *budget && e->down.n_items <= *items_left) {
            e->used = ++self->tick;
            self->hits++;
            if ((rc = s_signed_copy(d, &e->down)) != 0)
                return rc;
            *budget -= d->bytes;
            *items_left -= d->n_items;
            return 0;
        }
    }
    self->misses++;
    memset(&chunk, 0, sizeof chunk);
    chunk.stream = st->stream;
    chunk.budget = budget;
    chunk.items_left = items_left;
    rc = st->produce(self->db, ctx, from, &chunk, &d->to, &d->more);
    d->items = chunk.items;
    d->n_items = chunk.n;
    d->bytes = chunk.bytes;
    if (rc == 0 && d->to < from) {
        dn_log_error("stream %s: produced version %llu from %llu", st->name,
                     (unsigned long long)d->to, (unsigned long long)from);
        rc = DN_EINVAL;
    }
    d->more = d->more != 0;
    if (rc == 0)
        rc = s_sign(self, d);
    if (rc == 0)
        rc = s_pack(d);
    if (rc == 0 && st->head && (full || !d->more))
        s_cache_put(self, d, head);
    return rc;
}

/*  The test knob DEALERNET_TEST_TAMPER_DOWN (dn_testctl.h): the N-th Down
    with an item that this server sends goes out with a bit of its first
    item's last byte flipped, after it was signed, so that the agent's
    refusal can be tested end to end.  d is the reply's own copy (a cache
    hit was copied out of the cache by s_one, a miss copied into it by
    s_cache_put before it got here): the cache keeps the chunk as it was
    signed, and the next site pulling it gets it intact.  */
static void s_tamper(dn_down_t *self, const dn_down_stream_t *st,
                     const dn_registry_site_t *site, s_signed_t *d)
{
    Dealernet__Down *m;
    ProtobufCBinaryData *item;
    size_t len;
    uint8_t *packed;
    if (self->tamper_at < 0 || d->n_items == 0 ||
        ++self->sent_with_items != (uint64_t)self->tamper_at)
        return;
    /* the reply's own packed copy, unpacked, spoilt and packed again */
    if (!(m = dealernet__down__unpack(NULL, d->packed_len, d->packed)))
        return;
    item = m->n_items ? &m->items[0] : NULL;
    len = dealernet__down__get_packed_size(m);
    if (!item || item->len == 0 || !(packed = malloc(len))) {
        dealernet__down__free_unpacked(m, NULL);
        return;
    }
    item->data[item->len - 1] ^= 0x01;
    dealernet__down__pack(m, packed);
    dealernet__down__free_unpacked(m, NULL);
    free(d->packed);
    d->packed = packed;
    d->packed_len = len;
    dn_log_warn("test knob %s: down %llu (stream %s) to site %s sent with a byte of "
                "item 1 changed after signing",
                DN_TESTCTL_TAMPER_DOWN_ENV, (unsigned long long)self->sent_with_items,
                st->name, site->code);
}

int dn_down_pull(dn_down_t *self, const dn_registry_site_t *site, int64_t now_ms,
                 const Dealernet__Pull *pull, uint8_t **body, size_t *len, char *why,
                 size_t why_size)
{
    s_signed_t done[DN_DOWN_MAX_STREAMS];
    const dn_down_stream_t *streams[DN_DOWN_MAX_STREAMS];
    dn_down_ctx_t ctx = {site, now_ms};
    size_t budget = DN_DOWN_MAX_BYTES, items_left = DN_DOWN_MAX_ITEMS, n = 0;
    int rc = 0;

    if (why_size)
        why[0] = '\0';
    /* dn_wire checked the holds' shape (1..8, each stream once); what this
       server serves is its own question */
    if (pull->n_holds > DN_DOWN_MAX_STREAMS)
        return dn_why(why, why_size, DN_EPROTO,
                      /* i18n: not for people: sync */ "a pull of %zu streams",
                      pull->n_holds);
    for (size_t i = 0; i < pull->n_holds; i++) {
        for (size_t j = 0; j < i; j++)
            if (pull->holds[j]->stream == pull->holds[i]->stream)
                return dn_why(
                    why, why_size, DN_EPROTO,
                    /* i18n: not for people: sync */ "a pull names stream %d twice",
                    (int)pull->holds[i]->stream);
        if (!(streams[i] = s_stream(self, pull->holds[i]->stream)))
            return dn_why(why, why_size, DN_EPROTO,
                          /* i18n: not for people: sync */
                          "stream %d is not served by this server (upgrade the server)",
                          (int)pull->holds[i]->stream);
    }
    for (n = 0; n < pull->n_holds && rc == 0; n++)
        rc =
            s_one(self, streams[n], &ctx, pull->holds[n], &budget, &items_left, &done[n]);
    if (rc == 0) {
        ProtobufCBinaryData packed[DN_DOWN_MAX_STREAMS] = {{0, NULL}};
        char pack_why[DN_WHY_SIZE];
        for (size_t i = 0; i < n; i++) {
            s_tamper(self, streams[i], site, &done[i]);
            packed[i].data = done[i].packed;
            packed[i].len = done[i].packed_len;
        }
        if ((rc = dn_wire_down_reply_pack(packed, n, body, len, pack_why,
                                          sizeof pack_why)) != 0) {
            dn_log_error("cannot pack a down reply for site %s: %s", site->code,
                         rc == DN_ENOMEM ? "out of memory" : pack_why);
            if (rc == DN_ETOOBIG)
                rc = DN_EINVAL; /* ours, not the site's */
        }
    }
    for (size_t i = 0; i < n; i++)
        s_signed_free(&done[i]);
    return rc;
}
