/*  dn_testdown -- the tests' own downstream stream (see dn_testdown.h).  */
#include "dn_testdown.h"
#include "dn_crypto.h"
#include "dn_db.h"
#include "dn_error.h"
#include "dn_wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char dn_td_scope[DN_DOWN_SCOPE_MAX + 1] = "";
uint64_t dn_td_generation = 0;

/* -- the server's side ------------------------------------------------------------ */

int dn_td_server_setup(sqlite3 *db)
{
    return dn_db_exec(db, "CREATE TABLE IF NOT EXISTS test_notes ("
                          "  id INTEGER PRIMARY KEY, text TEXT NOT NULL)");
}

int dn_td_note_add(sqlite3 *db, int64_t id, const char *text)
{
    sqlite3_stmt *stmt;
    if (dn_db_prepare(db, "INSERT OR REPLACE INTO test_notes(id, text) VALUES (?, ?)",
                      &stmt))
        return DN_EDB;
    sqlite3_bind_int64(stmt, 1, id);
    sqlite3_bind_text(stmt, 2, text, -1, SQLITE_TRANSIENT);
    return dn_db_run(db, stmt);
}

static int s_scope(sqlite3 *db, const dn_down_ctx_t *ctx, uint8_t *scope,
                   size_t *scope_len)
{
    (void)db;
    (void)ctx;
    *scope_len = strlen(dn_td_scope);
    memcpy(scope, dn_td_scope, *scope_len);
    return 0;
}

static int s_produce(sqlite3 *db, const dn_down_ctx_t *ctx, uint64_t from,
                     dn_down_chunk_t *chunk, uint64_t *to, int *more)
{
    sqlite3_stmt *stmt;
    int rc;
    (void)ctx;
    *to = from;
    *more = 0;
    if (dn_db_prepare(db, "SELECT id, text FROM test_notes WHERE id > ? ORDER BY id",
                      &stmt))
        return DN_EDB;
    sqlite3_bind_int64(stmt, 1, (sqlite3_int64)from);
    while ((rc = dn_db_row(stmt, "test notes")) == 1) {
        Dealernet__DownItem item = DEALERNET__DOWN_ITEM__INIT;
        Dealernet__Notice notice = DEALERNET__NOTICE__INIT;
        notice.has_id = 1;
        notice.id = (uint64_t)sqlite3_column_int64(stmt, 0);
        notice.text = (char *)sqlite3_column_text(stmt, 1);
        item.body_case = DEALERNET__DOWN_ITEM__BODY_NOTICE;
        item.notice = &notice;
        rc = dn_down_chunk_add(chunk, &item);
        if (rc == DN_ETOOBIG) {
            *more = 1;
            rc = 0;
            break;
        }
        if (rc)
            break;
        *to = notice.id;
    }
    sqlite3_finalize(stmt);
    return rc < 0 ? rc : 0;
}

static int s_head(sqlite3 *db, uint64_t *head)
{
    sqlite3_stmt *stmt;
    int64_t max = 0;
    int rc;
    if (dn_db_prepare(db, "SELECT coalesce(max(id), 0) FROM test_notes", &stmt))
        return DN_EDB;
    rc = dn_db_int_row(stmt, "test notes head", &max);
    if (rc < 0)
        return rc;
    *head = (uint64_t)max + dn_td_generation;
    return 0;
}

const dn_down_stream_t dn_td_notes_stream = {DEALERNET__STREAM__STREAM_NOTICES, "notes",
                                             s_scope, s_produce, s_head};

/* -- the agent's side ---------------------------------------------------------------- */

int dn_td_agent_setup(sqlite3 *db)
{
    return dn_db_exec(db, "CREATE TABLE IF NOT EXISTS test_notes ("
                          "  id INTEGER PRIMARY KEY, text TEXT NOT NULL);"
                          "CREATE TABLE IF NOT EXISTS test_credits ("
                          "  phone TEXT PRIMARY KEY, credit INTEGER NOT NULL)");
}

int64_t dn_td_count(sqlite3 *db, const char *table)
{
    char sql[128];
    sqlite3_stmt *stmt;
    int64_t n = -1;
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
    if (dn_db_prepare(db, sql, &stmt))
        return -1;
    if (dn_db_int_row(stmt, "count", &n) != 1)
        return -1;
    return n;
}

int dn_td_note_text(sqlite3 *db, int64_t id, char *text, size_t size)
{
    sqlite3_stmt *stmt;
    int rc;
    if (dn_db_prepare(db, "SELECT text FROM test_notes WHERE id = ?", &stmt))
        return DN_EDB;
    sqlite3_bind_int64(stmt, 1, id);
    rc = dn_db_row(stmt, "note");
    if (rc == 1)
        rc = dn_db_column_copy(stmt, 0, text, size);
    else if (rc == 0)
        rc = DN_ENOENT;
    sqlite3_finalize(stmt);
    return rc;
}

static int s_apply_notes(sqlite3 *db, int reset, Dealernet__DownItem *const *items,
                         size_t n, char *why, size_t why_size)
{
    sqlite3_stmt *stmt;
    int rc = 0;
    if (reset && dn_db_exec(db, "DELETE FROM test_notes"))
        return DN_EDB;
    if (dn_db_prepare(db, "INSERT OR REPLACE INTO test_notes(id, text) VALUES (?, ?)",
                      &stmt))
        return DN_EDB;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const Dealernet__Notice *notice = items[i]->notice;
        if (!notice->has_id || !notice->text || strcmp(notice->text, "bad") == 0) {
            rc = dn_why(why, why_size, DN_EPROTO, "note %zu refused", i + 1);
            break;
        }
        sqlite3_reset(stmt);
        sqlite3_bind_int64(stmt, 1, (sqlite3_int64)notice->id);
        sqlite3_bind_text(stmt, 2, notice->text, -1, SQLITE_STATIC);
        rc = dn_db_step_txn(db, stmt);
    }
    sqlite3_finalize(stmt);
    return rc;
}

static int s_apply_credits(sqlite3 *db, int reset, Dealernet__DownItem *const *items,
                           size_t n, char *why, size_t why_size)
{
    sqlite3_stmt *stmt;
    int rc = 0;
    if (reset && dn_db_exec(db, "DELETE FROM test_credits"))
        return DN_EDB;
    if (dn_db_prepare(db,
                      "INSERT OR REPLACE INTO test_credits(phone, credit) VALUES (?, ?)",
                      &stmt))
        return DN_EDB;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const Dealernet__MemberCredit *m = items[i]->member;
        if (!m->phone || !m->has_credit || m->credit < 0) {
            rc = dn_why(why, why_size, DN_EPROTO, "credit %zu refused", i + 1);
            break;
        }
        sqlite3_reset(stmt);
        sqlite3_bind_text(stmt, 1, m->phone, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 2, m->credit);
        rc = dn_db_step_txn(db, stmt);
    }
    sqlite3_finalize(stmt);
    return rc;
}

const dn_down_applier_t dn_td_notes_applier = {DEALERNET__STREAM__STREAM_NOTICES, "notes",
                                               s_apply_notes};
const dn_down_applier_t dn_td_credits_applier = {DEALERNET__STREAM__STREAM_MEMBERS,
                                                 "credits", s_apply_credits};

/* -- Downs by hand ---------------------------------------------------------------------
 */

/*  A Down and its storage in one block (the Down first: it is what is
    freed).  */
typedef struct {
    Dealernet__Down down;
    uint8_t scope[DN_DOWN_SCOPE_MAX];
    uint8_t signature[DN_SIG_BYTES];
} s_down_t;

int dn_td_down_sign(const dn_key_t *key, Dealernet__Down *down)
{
    uint8_t signed_bytes[DN_DOWN_SIGNED_MAX];
    size_t len;
    int rc = dn_wire_down_signed(down, signed_bytes, &len);
    return rc ? rc : dn_key_sign(key, signed_bytes, len, down->signature.data);
}

static Dealernet__Down *s_down(const dn_key_t *key, Dealernet__Stream stream,
                               const char *scope, uint64_t from, uint64_t to, int reset,
                               int more, Dealernet__DownItem *const *items, size_t n)
{
    s_down_t *d = calloc(1, sizeof *d);
    char why[DN_WHY_SIZE];
    if (!d)
        return NULL;
    dealernet__down__init(&d->down);
    d->down.has_stream = 1;
    d->down.stream = stream;
    d->down.has_scope = 1;
    d->down.scope.len = strlen(scope);
    memcpy(d->scope, scope, d->down.scope.len);
    d->down.scope.data = d->scope;
    d->down.has_from_version = 1;
    d->down.from_version = from;
    d->down.has_to_version = 1;
    d->down.to_version = to;
    d->down.has_reset = 1;
    d->down.reset = reset;
    d->down.has_more = 1;
    d->down.more = more;
    d->down.has_signature = 1;
    d->down.signature.data = d->signature;
    d->down.signature.len = DN_SIG_BYTES;
    if (n && !(d->down.items = calloc(n, sizeof *d->down.items)))
        goto fail;
    for (size_t i = 0; i < n; i++, d->down.n_items++)
        if (dn_wire_down_item_pack(stream, items[i], &d->down.items[i].data,
                                   &d->down.items[i].len, why, sizeof why) != 0)
            goto fail;
    if (dn_td_down_sign(key, &d->down) == 0)
        return &d->down;
fail : {
    Dealernet__Down *down = &d->down;
    dn_td_down_free(&down);
    return NULL;
}
}

Dealernet__Down *dn_td_down_notes(const dn_key_t *key, const char *scope, uint64_t from,
                                  uint64_t to, int reset, int more, int64_t first,
                                  size_t n, const char *text)
{
    Dealernet__DownItem storage[8], *items[8];
    Dealernet__Notice notices[8];
    if (n > 8)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        dealernet__down_item__init(&storage[i]);
        dealernet__notice__init(&notices[i]);
        notices[i].has_id = 1;
        notices[i].id = (uint64_t)(first + (int64_t)i);
        notices[i].text = (char *)text;
        storage[i].body_case = DEALERNET__DOWN_ITEM__BODY_NOTICE;
        storage[i].notice = &notices[i];
        items[i] = &storage[i];
    }
    return s_down(key, DEALERNET__STREAM__STREAM_NOTICES, scope, from, to, reset, more,
                  items, n);
}

Dealernet__Down *dn_td_down_credit(const dn_key_t *key, uint64_t from, uint64_t to,
                                   int64_t credit)
{
    Dealernet__DownItem item = DEALERNET__DOWN_ITEM__INIT, *items[1] = {&item};
    Dealernet__MemberCredit m = DEALERNET__MEMBER_CREDIT__INIT;
    m.phone = "+8613800138000";
    m.has_credit = 1;
    m.credit = credit;
    item.body_case = DEALERNET__DOWN_ITEM__BODY_MEMBER;
    item.member = &m;
    return s_down(key, DEALERNET__STREAM__STREAM_MEMBERS, "", from, to, 0, 0, items, 1);
}

void dn_td_down_free(Dealernet__Down **down_p)
{
    if (down_p && *down_p) {
        Dealernet__Down *down = *down_p;
        for (size_t i = 0; i < down->n_items; i++)
            free(down->items[i].data);
        free(down->items);
        free((s_down_t *)(void *)down);
        *down_p = NULL;
    }
}

dn_key_t *dn_td_key(uint8_t first)
{
    uint8_t seed[32];
    for (int i = 0; i < 32; i++)
        seed[i] = (uint8_t)(first + i);
    return dn_key_from_seed(seed);
}

int dn_td_down_verify(const dn_key_t *key, const Dealernet__Down *down)
{
    uint8_t pub[DN_PUBKEY_BYTES], signed_bytes[DN_DOWN_SIGNED_MAX];
    size_t len;
    int rc = dn_key_public(key, pub);
    if (rc == 0)
        rc = dn_wire_down_signed(down, signed_bytes, &len);
    return rc ? rc : dn_ed25519_verify(pub, signed_bytes, len, down->signature.data);
}

void dn_td_pull(dn_td_pull_t *p, uint64_t version, const char *scope)
{
    dealernet__pull__init(&p->pull);
    dealernet__stream_holds__init(&p->hold);
    p->hold.has_stream = 1;
    p->hold.stream = DEALERNET__STREAM__STREAM_NOTICES;
    p->hold.has_version = 1;
    p->hold.version = version;
    if (scope[0]) {
        p->hold.has_scope = 1;
        p->hold.scope.data = (uint8_t *)scope;
        p->hold.scope.len = strlen(scope);
    }
    p->holds[0] = &p->hold;
    p->pull.n_holds = 1;
    p->pull.holds = p->holds;
}

int dn_td_reply_pack(Dealernet__Down *const *downs, size_t n, uint8_t **buf, size_t *len)
{
    Dealernet__SyncMessage msg = DEALERNET__SYNC_MESSAGE__INIT;
    Dealernet__DownReply reply = DEALERNET__DOWN_REPLY__INIT;
    char why[DN_WHY_SIZE];
    reply.n_downs = n;
    reply.downs = (Dealernet__Down **)downs;
    msg.body_case = DEALERNET__SYNC_MESSAGE__BODY_DOWN;
    msg.down = &reply;
    return dn_wire_sync_pack(&msg, buf, len, why, sizeof why);
}

/* -- one real stream, at a budget ------------------------------------------------ */

/*  The packed size of the note the notes stream makes of id and a text of
    len bytes.  */
static size_t s_note_size(int64_t id, size_t len, char *text)
{
    Dealernet__DownItem item = DEALERNET__DOWN_ITEM__INIT;
    Dealernet__Notice notice = DEALERNET__NOTICE__INIT;
    memset(text, 'n', len);
    text[len] = '\0';
    notice.has_id = 1;
    notice.id = (uint64_t)id;
    notice.text = text;
    item.body_case = DEALERNET__DOWN_ITEM__BODY_NOTICE;
    item.notice = &notice;
    return dealernet__down_item__get_packed_size(&item);
}

/*  Makes db's notes anew, their packed items target bytes in all: notes of
    1,500 bytes, then one or two whose text is sized to end exactly (a
    note's size grows by one with each byte of text from 128 bytes on).  */
static int s_fill(sqlite3 *db, size_t target, char *why, size_t why_size)
{
    char text[DN_DOWN_TEXT_MAX + 1];
    int64_t id = 1;
    int rc;
    if ((rc = dn_td_server_setup(db)) != 0 || (rc = dn_db_exec(db, "DELETE FROM test_notes")))
        return dn_why(why, why_size, rc, "cannot make the notes");
    dn_td_generation++; /* other notes at the same ids: the cached Downs go */
    while (target > 3000) {
        size_t size = s_note_size(id, 1500, text);
        if ((rc = dn_td_note_add(db, id++, text)) != 0)
            return dn_why(why, why_size, rc, "cannot add a note");
        target -= size;
    }
    if (target > 2000) { /* two notes: 1,000 bytes of text, then the rest */
        size_t size = s_note_size(id, 1000, text);
        if ((rc = dn_td_note_add(db, id++, text)) != 0)
            return dn_why(why, why_size, rc, "cannot add a note");
        target -= size;
    }
    for (size_t len = 0; target && len <= DN_DOWN_TEXT_MAX; len++)
        if (s_note_size(id, len, text) == target)
            return dn_td_note_add(db, id, text) ? dn_why(why, why_size, DN_EDB, "note") : 0;
    return target ? dn_why(why, why_size, DN_EINVAL, "no note is %zu bytes", target) : 0;
}

Dealernet__SyncMessage *dn_td_pull_stream(dn_down_t *down, sqlite3 *db,
                                          const dn_registry_site_t *site, int64_t now_ms,
                                          const dn_down_stream_t *stream, uint64_t version,
                                          const char *scope, size_t room,
                                          const Dealernet__Down **out, char *why,
                                          size_t why_size)
{
    Dealernet__Pull pull = DEALERNET__PULL__INIT;
    Dealernet__StreamHolds notes = DEALERNET__STREAM_HOLDS__INIT;
    Dealernet__StreamHolds hold = DEALERNET__STREAM_HOLDS__INIT;
    Dealernet__StreamHolds *holds[2];
    Dealernet__SyncMessage *msg = NULL;
    dn_down_ctx_t ctx = {site, now_ms};
    uint8_t own[DN_DOWN_SCOPE_MAX];
    uint8_t *body = NULL;
    size_t len = 0, own_len = 0;
    int rc;

    *out = NULL;
    if (room < DN_DOWN_MAX_BYTES) {
        if (s_fill(db, DN_DOWN_MAX_BYTES - room, why, why_size))
            return NULL;
        notes.has_stream = notes.has_version = 1;
        notes.stream = DEALERNET__STREAM__STREAM_NOTICES;
        notes.version = 0;
        holds[pull.n_holds++] = &notes;
    }
    hold.has_stream = hold.has_version = 1;
    hold.stream = stream->stream;
    hold.version = version;
    if (version && !scope) {
        if (stream->scope(db, &ctx, own, &own_len)) {
            dn_why(why, why_size, DN_EDB, "the scope of %s", stream->name);
            return NULL;
        }
        hold.has_scope = own_len > 0;
        hold.scope.data = own;
        hold.scope.len = own_len;
    } else if (version && scope[0]) {
        hold.has_scope = 1;
        hold.scope.data = (uint8_t *)scope;
        hold.scope.len = strlen(scope);
    }
    holds[pull.n_holds++] = &hold;
    pull.holds = holds;
    if ((rc = dn_down_pull(down, site, now_ms, &pull, &body, &len, why, why_size)) != 0) {
        if (why_size && !why[0])
            dn_why(why, why_size, rc, "dn_down_pull: %s", dn_strerror(rc));
        return NULL;
    }
    rc = dn_wire_sync_unpack(body, len, &msg, why, why_size);
    free(body);
    if (rc)
        return NULL;
    if (msg->body_case != DEALERNET__SYNC_MESSAGE__BODY_DOWN ||
        msg->down->n_downs != pull.n_holds) {
        dn_wire_sync_free(&msg);
        dn_why(why, why_size, DN_EPROTO, "not a reply of %zu Downs", pull.n_holds);
        return NULL;
    }
    *out = msg->down->downs[pull.n_holds - 1];
    return msg;
}
