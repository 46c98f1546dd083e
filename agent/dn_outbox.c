/*  dn_outbox -- appending to and checking the site's event chain.  */
#include "dn_outbox.h"
#include "dn_i18n.h"
#include "dn_chain.h"
#include "dn_db.h"
#include "dn_error.h"
#include "dn_id.h"
#include "dn_log.h"
#include "dn_testctl.h"
#include "dn_wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/*  Reads the head: its seq and hash (for an empty log, the chain's base:
    0 and zeros, or where the site's chain stood when this PC took it over).  */
static int s_head(dn_store_t *store, int64_t *seq, uint8_t hash[DN_HASH_BYTES])
{
    sqlite3_stmt *stmt;
    int rc = 0;
    *seq = 0;
    memcpy(hash, DN_CHAIN_GENESIS, DN_HASH_BYTES);
    if (dn_store_stmt(store, "SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1",
                      &stmt))
        return DN_EDB;
    switch (sqlite3_step(stmt)) {
    case SQLITE_ROW:
        *seq = sqlite3_column_int64(stmt, 0);
        if (sqlite3_column_bytes(stmt, 1) == DN_HASH_BYTES)
            memcpy(hash, sqlite3_column_blob(stmt, 1), DN_HASH_BYTES);
        else
            rc = DN_ECHAIN;
        break;
    case SQLITE_DONE:
        sqlite3_reset(stmt);
        return dn_store_chain_base(store, seq, hash);
    default:
        rc = DN_EDB;
    }
    sqlite3_reset(stmt);
    return rc;
}

int dn_outbox_append(dn_store_t *store, Dealernet__Event *ev, uint8_t id[DN_ID_BYTES],
                     uint8_t prev_hash[DN_HASH_BYTES], char *why, size_t why_size)
{
    sqlite3 *db = dn_store_db(store);
    sqlite3_stmt *stmt;
    uint8_t hash[DN_HASH_BYTES];
    uint8_t *body = NULL;
    size_t len = 0;
    int64_t head_seq, now = dn_testctl_now_ms();
    int rc;

    rc = s_head(store, &head_seq, prev_hash);
    if (rc)
        return rc;
    rc = dn_id_new_at(id, now);
    if (rc)
        return rc;
    ev->has_id = 1;
    ev->id.data = id;
    ev->id.len = DN_ID_BYTES;
    ev->site = (char *)dn_store_info(store)->site;
    ev->has_seq = 1;
    ev->seq = (uint64_t)head_seq + 1;
    ev->has_recorded_at_ms = 1;
    ev->recorded_at_ms = now;
    ev->has_prev_hash = 1;
    ev->prev_hash.data = prev_hash;
    ev->prev_hash.len = DN_HASH_BYTES;

    rc = dn_wire_event_pack(ev, &body, &len, why, why_size);
    if (rc)
        return rc;
    rc = dn_chain_step(prev_hash, ev, body, len, hash); /* links by construction */
    if (rc == 0 &&
        (rc = dn_store_stmt(store,
                            "INSERT INTO events(seq, id, kind, recorded_at_ms, body, hash) "
                            "VALUES (?, ?, ?, ?, ?, ?)",
                            &stmt)) == 0) {
        sqlite3_bind_int64(stmt, 1, (sqlite3_int64)ev->seq);
        sqlite3_bind_blob(stmt, 2, id, DN_ID_BYTES, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 3, dn_wire_event_kind(ev), -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 4, now);
        sqlite3_bind_blob(stmt, 5, body, (int)len, SQLITE_STATIC);
        sqlite3_bind_blob(stmt, 6, hash, DN_HASH_BYTES, SQLITE_STATIC);
        if (sqlite3_step(stmt) != SQLITE_DONE) {
            dn_log_error(_("sqlite: append event: %s"), sqlite3_errmsg(db));
            rc = DN_EDB;
        }
        sqlite3_reset(stmt);
    }
    free(body);
    return rc;
}

static int s_bad(dn_outbox_check_t *result, int64_t seq, const char *fmt, const char *arg)
{
    result->bad_seq = seq;
    snprintf(result->why, sizeof result->why, fmt, arg);
    return DN_ECHAIN;
}

int dn_outbox_check(dn_store_t *store, dn_outbox_check_t *result)
{
    sqlite3 *db = dn_store_db(store);
    sqlite3_stmt *stmt;
    uint8_t prev[DN_HASH_BYTES];
    int64_t expect = 1;
    int rc = 0, step = 0;

    memset(result, 0, sizeof *result);
    if ((rc = dn_store_chain_base(store, &expect, prev)) != 0)
        return rc;
    expect++;
    memcpy(result->head, prev, DN_HASH_BYTES);
    if (dn_db_prepare(db, "SELECT seq, id, body, hash FROM events ORDER BY seq", &stmt))
        return DN_EDB;
    while (rc == 0 && (step = dn_db_row(stmt, "outbox: check")) == 1) {
        int64_t seq = sqlite3_column_int64(stmt, 0);
        const uint8_t *body = sqlite3_column_blob(stmt, 2);
        size_t len = (size_t)sqlite3_column_bytes(stmt, 2);
        uint8_t hash[DN_HASH_BYTES];
        Dealernet__Event *ev = NULL;
        char why[DN_WHY_SIZE];
        int link;

        if (seq != expect) {
            rc = s_bad(result, expect, "%s", "seq missing (gap in the sequence)");
            break;
        }
        if (dn_wire_event_unpack(body, len, &ev, why, sizeof why)) {
            rc = s_bad(result, seq, _("event does not decode: %s"), why);
            break;
        }
        if (ev->seq != (uint64_t)seq)
            rc = s_bad(result, seq, "%s", "event carries another seq");
        else if (strcmp(ev->site, dn_store_info(store)->site) != 0)
            rc = s_bad(result, seq, _("event names site %s"), ev->site);
        else if (sqlite3_column_bytes(stmt, 1) != DN_ID_BYTES ||
                 memcmp(sqlite3_column_blob(stmt, 1), ev->id.data, DN_ID_BYTES) != 0)
            rc = s_bad(result, seq, "%s", "stored id differs from the event's");
        else if ((link = dn_chain_step(prev, ev, body, len, hash)) == DN_ECRYPTO)
            rc = DN_ECRYPTO;
        else if (link == DN_ECHAIN)
            rc = s_bad(result, seq, "%s", "previous hash does not match the chain");
        else if (sqlite3_column_bytes(stmt, 3) != DN_HASH_BYTES ||
                 memcmp(sqlite3_column_blob(stmt, 3), hash, DN_HASH_BYTES) != 0)
            rc = s_bad(result, seq, "%s", "stored hash differs from the event's bytes");
        dn_wire_event_free(&ev);
        if (rc == 0) {
            memcpy(prev, hash, DN_HASH_BYTES);
            memcpy(result->head, hash, DN_HASH_BYTES);
            result->events++;
            expect++;
        }
    }
    if (rc == 0 && step < 0)
        rc = DN_EDB;
    sqlite3_finalize(stmt);
    return rc;
}

int dn_outbox_position(dn_store_t *store, dn_outbox_position_t *pos)
{
    sqlite3_stmt *stmt;
    int rc = DN_EDB;
    memset(pos, 0, sizeof *pos);
    if (dn_store_stmt(store,
                      "SELECT (SELECT coalesce(max(seq), 0) FROM events), "
                      "(SELECT count(*) FROM events WHERE synced = 0), "
                      "(SELECT seq FROM events WHERE synced = 0 ORDER BY seq LIMIT 1), "
                      "(SELECT recorded_at_ms FROM events WHERE synced = 0 "
                      " ORDER BY seq LIMIT 1)",
                      &stmt))
        return DN_EDB;
    if (sqlite3_step(stmt) == SQLITE_ROW) {
        pos->head_seq = (uint64_t)sqlite3_column_int64(stmt, 0);
        if (pos->head_seq == 0) { /* no event yet: the chain's base */
            int64_t base;
            uint8_t hash[DN_HASH_BYTES];
            sqlite3_reset(stmt);
            if (dn_store_chain_base(store, &base, hash))
                return DN_EDB;
            pos->head_seq = pos->acked_seq = (uint64_t)base;
            return 0;
        }
        pos->pending = (uint64_t)sqlite3_column_int64(stmt, 1);
        pos->acked_seq = sqlite3_column_type(stmt, 2) == SQLITE_NULL
                             ? pos->head_seq
                             : (uint64_t)sqlite3_column_int64(stmt, 2) - 1;
        pos->oldest_pending_ms = sqlite3_column_int64(stmt, 3);
        rc = 0;
    }
    sqlite3_reset(stmt);
    return rc;
}

void dn_outbox_batch_free(dn_outbox_batch_t *batch)
{
    for (size_t i = 0; batch->events && i < batch->n; i++)
        free(batch->events[i].data);
    free(batch->events);
    memset(batch, 0, sizeof *batch);
}

int dn_outbox_read(dn_store_t *store, uint64_t from, size_t max_events, size_t max_bytes,
                   dn_outbox_batch_t *batch)
{
    sqlite3_stmt *stmt;
    size_t bytes = 0;
    int rc = 0, step = 0;

    memset(batch, 0, sizeof *batch);
    batch->events = calloc(max_events ? max_events : 1, sizeof *batch->events);
    if (!batch->events)
        return DN_ENOMEM;
    if (dn_store_stmt(store,
                      "SELECT seq, body, hash FROM events WHERE seq >= ? ORDER BY seq LIMIT ?",
                      &stmt)) {
        dn_outbox_batch_free(batch);
        return DN_EDB;
    }
    sqlite3_bind_int64(stmt, 1, (sqlite3_int64)from);
    sqlite3_bind_int64(stmt, 2, (sqlite3_int64)max_events);
    while (batch->n < max_events && (step = dn_db_row(stmt, "outbox: read")) == 1) {
        size_t len = (size_t)sqlite3_column_bytes(stmt, 1);
        uint64_t seq = (uint64_t)sqlite3_column_int64(stmt, 0);
        ProtobufCBinaryData *ev = &batch->events[batch->n];
        if (batch->n > 0 && bytes + len > max_bytes)
            break;
        if (seq != from + batch->n || sqlite3_column_bytes(stmt, 2) != DN_HASH_BYTES) {
            rc = DN_ECHAIN; /* a gap or a damaged row: `check` tells more */
            break;
        }
        ev->data = malloc(len ? len : 1);
        if (!ev->data) {
            rc = DN_ENOMEM;
            break;
        }
        memcpy(ev->data, sqlite3_column_blob(stmt, 1), len);
        ev->len = len;
        memcpy(batch->head, sqlite3_column_blob(stmt, 2), DN_HASH_BYTES);
        bytes += len;
        batch->n++;
    }
    if (rc == 0 && step < 0)
        rc = DN_EDB; /* the read stopped on an error, not at the end */
    sqlite3_reset(stmt);
    if (rc) {
        dn_outbox_batch_free(batch);
        return rc;
    }
    batch->first_seq = from;
    batch->last_seq = from + batch->n - 1;
    return 0;
}

int dn_outbox_ack(dn_store_t *store, uint64_t through)
{
    sqlite3_stmt *stmt;
    int rc = dn_store_begin(store);
    if (rc)
        return rc;
    rc = dn_store_stmt(store, "UPDATE events SET synced = 1 WHERE seq <= ? AND synced = 0",
                       &stmt);
    if (rc == 0) {
        sqlite3_bind_int64(stmt, 1, (sqlite3_int64)through);
        rc = sqlite3_step(stmt) == SQLITE_DONE ? 0 : DN_EDB;
        sqlite3_reset(stmt);
    }
    if (rc == 0)
        rc = dn_store_commit(store);
    if (rc)
        dn_store_rollback(store);
    return rc;
}

int dn_outbox_rechain(const uint8_t *old, size_t len, int64_t seq,
                      uint8_t prev[DN_HASH_BYTES], dn_outbox_moved_t *moved, char *why,
                      size_t why_size)
{
    Dealernet__Event *ev = NULL;
    ProtobufCBinaryData was;
    int rc = dn_wire_event_unpack(old, len, &ev, why, why_size);
    if (rc)
        return rc;
    was = ev->prev_hash;
    ev->seq = (uint64_t)seq;
    ev->prev_hash.data = prev;
    ev->prev_hash.len = DN_HASH_BYTES;
    moved->seq = seq;
    rc = dn_wire_event_pack(ev, &moved->body, &moved->len, why, why_size);
    if (rc == 0)
        rc = dn_chain_step(prev, ev, moved->body, moved->len, moved->hash);
    ev->prev_hash = was; /* the unpacked one is freed with ev, prev is ours */
    dn_wire_event_free(&ev);
    if (rc == 0)
        memcpy(prev, moved->hash, DN_HASH_BYTES);
    return rc;
}

int dn_outbox_rebase(dn_store_t *store, int64_t base_seq,
                     const uint8_t base_hash[DN_HASH_BYTES], int64_t *moved_n, char *why,
                     size_t why_size)
{
    sqlite3 *db = dn_store_db(store);
    sqlite3_stmt *stmt;
    dn_outbox_moved_t *moved = NULL;
    uint8_t prev[DN_HASH_BYTES];
    int64_t n = 0, cap = 0, expect = 1, synced = 0;
    int rc = 0, step;

    *moved_n = 0;
    if (dn_db_prepare(db, "SELECT seq, body, synced FROM events ORDER BY seq", &stmt))
        return DN_EDB;
    memcpy(prev, base_hash, DN_HASH_BYTES);
    while (rc == 0 && (step = dn_db_row(stmt, "outbox: rebase")) == 1) {
        if (sqlite3_column_int64(stmt, 0) != expect++) {
            rc = dn_why(why, why_size, DN_ECHAIN,
                        _("this folder's events do not start at seq 1: run "
                        "'dealernet-agent check'"));
            break;
        }
        synced += sqlite3_column_int(stmt, 2);
        if (n == cap) {
            dn_outbox_moved_t *grown = realloc(moved, (size_t)(cap ? cap * 2 : 16) * sizeof *moved);
            if (!grown) {
                rc = DN_ENOMEM;
                break;
            }
            moved = grown;
            cap = cap ? cap * 2 : 16;
        }
        memset(&moved[n], 0, sizeof moved[n]);
        rc = dn_outbox_rechain(sqlite3_column_blob(stmt, 1), (size_t)sqlite3_column_bytes(stmt, 1),
                       base_seq + n + 1, prev, &moved[n], why, why_size);
        n++;
    }
    if (rc == 0 && step < 0)
        rc = DN_EDB;
    sqlite3_finalize(stmt);
    if (rc == 0 && synced)
        rc = dn_why(why, why_size, DN_EEXIST,
                    _("this folder synced events before: it cannot start over after "
                    "another PC's"));
    /* Top down, so that no new seq meets an old one still in place; the
       projections follow their events, checked at commit.  */
    if (rc == 0 && n)
        rc = dn_db_exec(db, "PRAGMA defer_foreign_keys = ON") ? DN_EDB : 0;
    for (int64_t i = n - 1; rc == 0 && i >= 0; i--) {
        rc = dn_store_stmt(store,
                           "UPDATE events SET seq = ?, body = ?, hash = ? WHERE seq = ?",
                           &stmt);
        if (rc)
            break;
        sqlite3_bind_int64(stmt, 1, moved[i].seq);
        sqlite3_bind_blob(stmt, 2, moved[i].body, (int)moved[i].len, SQLITE_STATIC);
        sqlite3_bind_blob(stmt, 3, moved[i].hash, DN_HASH_BYTES, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 4, i + 1);
        rc = sqlite3_step(stmt) == SQLITE_DONE ? 0 : DN_EDB;
        sqlite3_reset(stmt);
        if (rc == 0)
            rc = dn_store_renumber(store, i + 1, moved[i].seq);
    }
    if (rc == 0)
        rc = dn_store_set_chain_base(store, base_seq, base_hash);
    for (int64_t i = 0; i < n; i++)
        free(moved[i].body);
    free(moved);
    if (rc == 0)
        *moved_n = n;
    return rc;
}

int dn_outbox_match(dn_store_t *store, int64_t applied_seq,
                    const uint8_t head[DN_HASH_BYTES], int64_t *to_send, char *why,
                    size_t why_size)
{
    sqlite3_stmt *stmt;
    uint8_t base_hash[DN_HASH_BYTES], mine[DN_HASH_BYTES];
    int64_t base, head_seq;
    int rc, found = 0;

    *to_send = 0;
    if ((rc = dn_store_chain_base(store, &base, base_hash)) != 0 ||
        (rc = s_head(store, &head_seq, mine)) != 0)
        return rc;
    if (applied_seq > head_seq)
        return dn_why(why, why_size, DN_ECHAIN,
                      _("the server holds seq %lld of site %s, but this folder ends at seq "
                      "%lld: it is not the site's latest PC"),
                      (long long)applied_seq, dn_store_info(store)->site,
                      (long long)head_seq);
    if (applied_seq < base)
        return dn_why(why, why_size, DN_ECHAIN,
                      _("the server holds seq %lld of site %s, before where this folder "
                      "began (seq %lld)"),
                      (long long)applied_seq, dn_store_info(store)->site, (long long)base);
    if (applied_seq == base) {
        memcpy(mine, base_hash, DN_HASH_BYTES);
        found = 1;
    } else {
        if ((rc = dn_store_stmt(store, "SELECT hash FROM events WHERE seq = ?", &stmt)) != 0)
            return rc;
        sqlite3_bind_int64(stmt, 1, applied_seq);
        if (sqlite3_step(stmt) == SQLITE_ROW &&
            sqlite3_column_bytes(stmt, 0) == DN_HASH_BYTES) {
            memcpy(mine, sqlite3_column_blob(stmt, 0), DN_HASH_BYTES);
            found = 1;
        }
        sqlite3_reset(stmt);
    }
    if (!found || memcmp(mine, head, DN_HASH_BYTES) != 0)
        return dn_why(why, why_size, DN_ECHAIN,
                      _("the server's event at seq %lld of site %s differs from this "
                      "folder's: it is not the chain the server holds"),
                      (long long)applied_seq, dn_store_info(store)->site);
    /* What the server holds is synced; nothing beyond it is.  */
    if ((rc = dn_store_stmt(store, "UPDATE events SET synced = (seq <= ?) ", &stmt)) != 0)
        return rc;
    sqlite3_bind_int64(stmt, 1, applied_seq);
    rc = sqlite3_step(stmt) == SQLITE_DONE ? 0 : DN_EDB;
    sqlite3_reset(stmt);
    if (rc == 0)
        *to_send = head_seq - applied_seq;
    return rc;
}
