/*  dn_recover -- the server's copy of the site's chain (STREAM_CHAIN's
    applier, table chain_staging) and rebuilding the log from it.  */
#include "dn_recover.h"
#include "dn_i18n.h"
#include "dn_chain.h"
#include "dn_db.h"
#include "dn_down.h"
#include "dn_error.h"
#include "dn_id.h"
#include "dn_log.h"
#include "dn_outbox.h"
#include "dn_wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*  Checks that body[0..len) is event seq of site and links to prev, and
    sets hash to its hash; *ev_p (if not NULL) receives the decoded event
    (caller frees).  The one check of a received event, for the applier
    (each chunk) and recover (the whole staged chain).  Returns 0,
    DN_EPROTO / DN_ECHAIN (why), DN_ENOMEM, DN_ECRYPTO.  */
static int s_link(const char *site, int64_t seq, const uint8_t prev[DN_HASH_BYTES],
                  const uint8_t *body, size_t len, uint8_t hash[DN_HASH_BYTES],
                  Dealernet__Event **ev_p, char *why, size_t why_size)
{
    Dealernet__Event *ev = NULL;
    char what[DN_WHY_SIZE];
    int rc = dn_wire_event_unpack(body, len, &ev, what, sizeof what);

    if (rc == DN_ENOMEM)
        return rc;
    if (rc)
        return dn_why(why, why_size, DN_EPROTO,
                      _("the server's event at seq %lld does not decode: %s"),
                      (long long)seq, what);
    if (strcmp(ev->site, site) != 0)
        rc = dn_why(why, why_size, DN_ECHAIN,
                    _("the server's event at seq %lld is of site %s, not %s"),
                    (long long)seq, ev->site, site);
    else if (ev->seq != (uint64_t)seq)
        rc = dn_why(why, why_size, DN_ECHAIN,
                    _("the server's chain has a gap: seq %llu where %lld was due"),
                    (unsigned long long)ev->seq, (long long)seq);
    else if ((rc = dn_chain_step(prev, ev, body, len, hash)) == DN_ECHAIN)
        dn_why(why, why_size, DN_ECHAIN,
               _("the server's event at seq %lld does not link to the one before it"),
               (long long)seq);
    if (rc == 0 && ev_p)
        *ev_p = ev;
    else
        dn_wire_event_free(&ev);
    return rc;
}

/* -- STREAM_CHAIN's applier ------------------------------------------------ */

/*  The last staged event's seq and hash (0 and DN_CHAIN_GENESIS when none).
    0 or DN_EDB.  */
static int s_staged_head(sqlite3 *db, int64_t *seq, uint8_t hash[DN_HASH_BYTES])
{
    sqlite3_stmt *stmt;
    int rc;
    *seq = 0;
    memcpy(hash, DN_CHAIN_GENESIS, DN_HASH_BYTES);
    if (dn_db_prepare(db, "SELECT seq, hash FROM chain_staging ORDER BY seq DESC LIMIT 1",
                      &stmt))
        return DN_EDB;
    rc = dn_db_row(stmt, "chain staging: head");
    if (rc == 1) {
        *seq = sqlite3_column_int64(stmt, 0);
        memcpy(hash, sqlite3_column_blob(stmt, 1), DN_HASH_BYTES); /* CHECKed 32 */
    }
    sqlite3_finalize(stmt);
    return rc < 0 ? DN_EDB : 0;
}

/*  Each chunk must continue what is staged: seq after seq, each event
    linking to the one before, all of this site -- so the staging table
    always holds an unbroken prefix of the server's chain, whatever chunk
    a kill interrupted.  */
static int s_apply(sqlite3 *db, int reset, Dealernet__DownItem *const *items, size_t n,
                   char *why, size_t why_size)
{
    char site[DN_MAX_CODE_LEN + 1];
    uint8_t prev[DN_HASH_BYTES];
    int64_t seq;
    int rc;

    if (dn_db_meta_get(db, DN_STORE_META_SITE, site, sizeof site))
        return DN_EDB;
    if (reset && dn_db_exec(db, "DELETE FROM chain_staging"))
        return DN_EDB;
    if ((rc = s_staged_head(db, &seq, prev)) != 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        const Dealernet__DownItem *item = items[i];
        uint8_t hash[DN_HASH_BYTES];
        Dealernet__Event *ev = NULL;
        sqlite3_stmt *stmt;

        if (item->body_case != DEALERNET__DOWN_ITEM__BODY_EVENT)
            return dn_why(why, why_size, DN_EPROTO, _("a chain item is not an event"));
        rc = s_link(site, seq + 1, prev, item->event.data, item->event.len, hash, &ev,
                    why, why_size);
        if (rc)
            return rc == DN_ECHAIN ? DN_EPROTO : rc;
        if (dn_db_prepare(db,
                          "INSERT INTO chain_staging(seq, id, body, hash) "
                          "VALUES (?, ?, ?, ?)",
                          &stmt)) {
            dn_wire_event_free(&ev);
            return DN_EDB;
        }
        sqlite3_bind_int64(stmt, 1, seq + 1);
        sqlite3_bind_blob(stmt, 2, ev->id.data, (int)ev->id.len, SQLITE_TRANSIENT);
        sqlite3_bind_blob(stmt, 3, item->event.data, (int)item->event.len, SQLITE_STATIC);
        sqlite3_bind_blob(stmt, 4, hash, DN_HASH_BYTES, SQLITE_STATIC);
        rc = sqlite3_step(stmt);
        sqlite3_finalize(stmt);
        dn_wire_event_free(&ev);
        if (rc == SQLITE_CONSTRAINT) /* ids are unique in a chain */
            return dn_why(why, why_size, DN_EPROTO,
                          _("the server's event at seq %lld repeats an earlier event's id"),
                          (long long)(seq + 1));
        if (rc != SQLITE_DONE)
            return DN_EDB;
        seq++;
        memcpy(prev, hash, DN_HASH_BYTES);
    }
    return 0;
}

const dn_down_applier_t dn_down_apply_chain = {
    .stream = DEALERNET__STREAM__STREAM_CHAIN,
    .name = NC_("stream", "chain"),
    .apply = s_apply,
};

/* -- recover ----------------------------------------------------------------- */

/*  A local event the server never received.  */
typedef struct {
    int64_t seq; /* where it is now */
    uint8_t *body;
    size_t len;
} s_unsent_t;

typedef struct {
    dn_store_t *store;
    sqlite3 *db;
    const char *site;
    int64_t head; /* the server's head seq */
    uint8_t head_hash[DN_HASH_BYTES];
    s_unsent_t *unsent;
    size_t n_unsent, cap;
    int64_t local_top; /* highest seq of the log */
    char *why;
    size_t why_size;
} s_recover_t;

/*  Walks the whole staged chain from seq 1 (s_link each event): sets the
    server's head.  */
static int s_check_staged(s_recover_t *self)
{
    sqlite3_stmt *stmt;
    uint8_t prev[DN_HASH_BYTES];
    int64_t seq = 0;
    int rc = 0, step;

    memcpy(prev, DN_CHAIN_GENESIS, DN_HASH_BYTES);
    if (dn_db_prepare(self->db, "SELECT seq, body FROM chain_staging ORDER BY seq",
                      &stmt))
        return DN_EDB;
    while ((step = dn_db_row(stmt, "chain staging: check")) == 1) {
        uint8_t hash[DN_HASH_BYTES];
        if (sqlite3_column_int64(stmt, 0) != seq + 1) {
            rc = dn_why(self->why, self->why_size, DN_ECHAIN,
                        _("the server's chain as received has a gap after seq %lld"),
                        (long long)seq);
            break;
        }
        rc = s_link(self->site, seq + 1, prev, sqlite3_column_blob(stmt, 1),
                    (size_t)sqlite3_column_bytes(stmt, 1), hash, NULL, self->why,
                    self->why_size);
        if (rc)
            break;
        memcpy(prev, hash, DN_HASH_BYTES);
        seq++;
    }
    sqlite3_finalize(stmt);
    if (rc == 0 && step < 0)
        rc = DN_EDB;
    if (rc)
        return rc;
    if (seq == 0)
        return dn_why(
            self->why, self->why_size, DN_ENOENT,
            _("the server holds no events of site %s: there is nothing to recover "
            "from"),
            self->site);
    self->head = seq;
    memcpy(self->head_hash, prev, DN_HASH_BYTES);
    return 0;
}

/*  The server's event of id: 1 and its seq, whether its bytes are body's
    in *same; 0 when the server has none; DN_EDB.  */
static int s_staged_by_id(s_recover_t *self, const void *id, const void *body, size_t len,
                          int64_t *seq, int *same)
{
    sqlite3_stmt *stmt;
    int rc;
    if (dn_db_prepare(self->db, "SELECT seq, body FROM chain_staging WHERE id = ?",
                      &stmt))
        return DN_EDB;
    sqlite3_bind_blob(stmt, 1, id, DN_ID_BYTES, SQLITE_STATIC);
    rc = dn_db_row(stmt, "chain staging: by id");
    if (rc == 1) {
        *seq = sqlite3_column_int64(stmt, 0);
        *same = (size_t)sqlite3_column_bytes(stmt, 1) == len &&
                memcmp(sqlite3_column_blob(stmt, 1), body, len) == 0;
    }
    sqlite3_finalize(stmt);
    return rc < 0 ? DN_EDB : rc;
}

/*  Sorts the log's events: each the server holds must be the very bytes it
    holds (else nothing is changed: a clerk's record and the server's differ
    under one id, and only headquarters can say which is true); each it
    does not hold is kept aside in self->unsent, in log order.  */
static int s_sort_local(s_recover_t *self, dn_recover_result_t *out)
{
    sqlite3_stmt *stmt;
    int rc = 0, step;

    if (dn_db_prepare(self->db, "SELECT seq, id, body FROM events ORDER BY seq", &stmt))
        return DN_EDB;
    while ((step = dn_db_row(stmt, "recover: local events")) == 1) {
        int64_t seq = sqlite3_column_int64(stmt, 0), server_seq = 0;
        const void *body = sqlite3_column_blob(stmt, 2);
        size_t len = (size_t)sqlite3_column_bytes(stmt, 2);
        int same = 0;

        self->local_top = seq;
        rc = s_staged_by_id(self, sqlite3_column_blob(stmt, 1), body, len, &server_seq,
                            &same);
        if (rc == 1 && same) {
            out->kept++;
            rc = 0;
            continue;
        }
        if (rc == 1) {
            char id[DN_ID_TEXT_SIZE];
            dn_id_format(sqlite3_column_blob(stmt, 1), id);
            rc = dn_why(self->why, self->why_size, DN_ECHAIN,
                        _("event %s (seq %lld here) differs from the server's copy of it "
                        "(seq %lld): this agent.db was changed after it was synced; "
                        "nothing was changed, tell headquarters"),
                        id, (long long)seq, (long long)server_seq);
            break;
        }
        if (rc)
            break;
        if (self->n_unsent == self->cap) {
            size_t cap = self->cap ? self->cap * 2 : 16;
            s_unsent_t *grown = realloc(self->unsent, cap * sizeof *grown);
            if (!grown) {
                rc = DN_ENOMEM;
                break;
            }
            self->unsent = grown;
            self->cap = cap;
        }
        s_unsent_t *u = &self->unsent[self->n_unsent];
        u->seq = seq;
        u->len = len;
        u->body = malloc(len ? len : 1);
        if (!u->body) {
            rc = DN_ENOMEM;
            break;
        }
        memcpy(u->body, body, len);
        self->n_unsent++;
    }
    sqlite3_finalize(stmt);
    if (rc == 0 && step < 0)
        rc = DN_EDB;
    return rc;
}

/*  Moves the event at seq from to seq to with new bytes (body NULL: the
    same), its projections following it.  */
static int s_move(s_recover_t *self, int64_t from, int64_t to,
                  const dn_outbox_moved_t *moved)
{
    sqlite3_stmt *stmt;
    int rc;
    if (moved) {
        rc = dn_store_stmt(self->store,
                           "UPDATE events SET seq = ?, body = ?, hash = ?, synced = 0 "
                           "WHERE seq = ?",
                           &stmt);
        if (rc)
            return rc;
        sqlite3_bind_blob(stmt, 2, moved->body, (int)moved->len, SQLITE_STATIC);
        sqlite3_bind_blob(stmt, 3, moved->hash, DN_HASH_BYTES, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 4, from);
    } else {
        rc = dn_store_stmt(self->store, "UPDATE events SET seq = ? WHERE seq = ?", &stmt);
        if (rc)
            return rc;
        sqlite3_bind_int64(stmt, 2, from);
    }
    sqlite3_bind_int64(stmt, 1, to);
    rc = sqlite3_step(stmt) == SQLITE_DONE && sqlite3_changes(self->db) == 1 ? 0 : DN_EDB;
    sqlite3_reset(stmt);
    if (rc)
        dn_log_error(_("recover: cannot move seq %lld to %lld: %s"), (long long)from,
                     (long long)to, sqlite3_errmsg(self->db));
    return rc ? rc : dn_store_renumber(self->store, from, to);
}

/*  Re-records the unsent events as head + 1, + 2 ...: first out of the
    way (above every seq in use, where no two can meet whatever their old
    places), then down into place re-chained after the server's head.  */
static int s_rerecord(s_recover_t *self)
{
    int64_t top = self->local_top > self->head ? self->local_top : self->head;
    int64_t aside = top + (int64_t)self->n_unsent + 1;
    uint8_t prev[DN_HASH_BYTES];
    int rc = 0;

    if (self->n_unsent && dn_db_exec(self->db, "PRAGMA defer_foreign_keys = ON"))
        return DN_EDB;
    for (size_t i = 0; rc == 0 && i < self->n_unsent; i++)
        rc = s_move(self, self->unsent[i].seq, aside + (int64_t)i, NULL);
    memcpy(prev, self->head_hash, DN_HASH_BYTES);
    for (size_t i = 0; rc == 0 && i < self->n_unsent; i++) {
        dn_outbox_moved_t moved;
        memset(&moved, 0, sizeof moved);
        rc = dn_outbox_rechain(self->unsent[i].body, self->unsent[i].len,
                               self->head + 1 + (int64_t)i, prev, &moved, self->why,
                               self->why_size);
        if (rc == 0)
            rc = s_move(self, aside + (int64_t)i, moved.seq, &moved);
        free(moved.body);
    }
    return rc;
}

/*  0 when the server's refund ev (at seq) still fits its sale here.  When
    both PCs refunded one sale, the server's refund and the ones kept here
    together may exceed it: neither may be dropped, and only headquarters
    can settle which stands, so recover refuses (DN_ELIMIT, why).  */
static int s_refund_fits(s_recover_t *self, const Dealernet__Event *ev, int64_t seq)
{
    dn_store_sale_t sale;
    char id[DN_ID_TEXT_SIZE];
    int rc = dn_store_sale_get(self->store, ev->refund->sale_id.data, &sale);
    if (rc == DN_ENOENT)
        return 0; /* the projection refuses it (never in a chain the server took) */
    if (rc)
        return rc;
    if (ev->refund->amount <= sale.total - sale.refunded)
        return 0;
    dn_id_format(ev->refund->sale_id.data, id);
    return dn_why(
        self->why, self->why_size, DN_ELIMIT,
        _("the server's refund at seq %lld and the refunds recorded here together "
        "exceed sale %s: nothing was changed, tell headquarters"),
        (long long)seq, id);
}

/*  Adds each server event the log lacks (by id), at its own seq (free:
    the log's other events are the server's same ones or were moved above
    its head), synced, with its projection.  */
static int s_add_missing(s_recover_t *self, dn_recover_result_t *out)
{
    sqlite3_stmt *stmt;
    int rc = 0, step;

    if (dn_db_prepare(self->db,
                      "SELECT seq, id, body, hash FROM chain_staging ORDER BY seq",
                      &stmt))
        return DN_EDB;
    while ((step = dn_db_row(stmt, "recover: add")) == 1) {
        const void *id = sqlite3_column_blob(stmt, 1);
        const void *body = sqlite3_column_blob(stmt, 2);
        size_t len = (size_t)sqlite3_column_bytes(stmt, 2);
        Dealernet__Event *ev = NULL;
        sqlite3_stmt *ins;
        int64_t here;

        rc = dn_store_event_seq(self->store, id, &here);
        if (rc == 0)
            continue; /* kept */
        if (rc != DN_ENOENT)
            break;
        rc = dn_wire_event_unpack(body, len, &ev, self->why, self->why_size);
        if (rc)
            break;
        rc =
            dn_store_stmt(self->store,
                          "INSERT INTO events(seq, id, kind, recorded_at_ms, body, hash, "
                          "synced) VALUES (?, ?, ?, ?, ?, ?, 1)",
                          &ins);
        if (rc == 0) {
            sqlite3_bind_int64(ins, 1, sqlite3_column_int64(stmt, 0));
            sqlite3_bind_blob(ins, 2, id, DN_ID_BYTES, SQLITE_STATIC);
            sqlite3_bind_text(ins, 3, dn_wire_event_kind(ev), -1, SQLITE_STATIC);
            sqlite3_bind_int64(ins, 4, ev->recorded_at_ms);
            sqlite3_bind_blob(ins, 5, body, (int)len, SQLITE_STATIC);
            sqlite3_bind_blob(ins, 6, sqlite3_column_blob(stmt, 3), DN_HASH_BYTES,
                              SQLITE_STATIC);
            rc = sqlite3_step(ins) == SQLITE_DONE ? 0 : DN_EDB;
            if (rc)
                dn_log_error(_("recover: add seq %lld: %s"),
                             (long long)sqlite3_column_int64(stmt, 0),
                             sqlite3_errmsg(self->db));
            sqlite3_reset(ins);
        }
        if (rc == 0 && ev->body_case == DEALERNET__EVENT__BODY_REFUND)
            rc = s_refund_fits(self, ev, sqlite3_column_int64(stmt, 0));
        if (rc == 0)
            rc = dn_store_project(self->store, ev);
        dn_wire_event_free(&ev);
        if (rc)
            break;
        out->added++;
    }
    sqlite3_finalize(stmt);
    if (rc == 0 && step < 0)
        rc = DN_EDB;
    return rc;
}

/*  What the server holds is synced: the events kept and added.  */
static int s_mark_synced(s_recover_t *self)
{
    sqlite3_stmt *stmt;
    int rc = dn_store_stmt(self->store, "UPDATE events SET synced = (seq <= ?)", &stmt);
    if (rc)
        return rc;
    sqlite3_bind_int64(stmt, 1, self->head);
    rc = sqlite3_step(stmt) == SQLITE_DONE ? 0 : DN_EDB;
    sqlite3_reset(stmt);
    return rc;
}

int dn_recover_run(dn_store_t *store, int dry_run, dn_recover_result_t *out, char *why,
                   size_t why_size)
{
    s_recover_t self;
    dn_outbox_check_t check;
    int rc;

    memset(out, 0, sizeof *out);
    memset(&self, 0, sizeof self);
    self.store = store;
    self.db = dn_store_db(store);
    self.site = dn_store_info(store)->site;
    self.why = why;
    self.why_size = why_size;
    if ((rc = dn_store_begin(store)) != 0)
        return rc;
    rc = s_check_staged(&self);
    if (rc == 0)
        rc = s_sort_local(&self, out);
    if (rc == 0)
        rc = s_rerecord(&self);
    if (rc == 0)
        rc = s_add_missing(&self, out);
    if (rc == 0)
        rc = s_mark_synced(&self);
    /* the log is the site's chain from seq 1 again, whatever PC began it */
    if (rc == 0)
        rc = dn_store_clear_chain_base(store);
    /* The rebuilt log must be a chain like any recorded here, before it
       is committed: a fault in the merge is refused, never kept.  */
    if (rc == 0 && (rc = dn_outbox_check(store, &check)) == DN_ECHAIN)
        dn_why(why, why_size, rc, _("the rebuilt log is broken at seq %lld: %s"),
               (long long)check.bad_seq, check.why);
    if (rc == 0) {
        out->server_head = self.head;
        out->rerecorded = (int64_t)self.n_unsent;
    }
    if (rc == 0 && !dry_run)
        rc = dn_store_commit(store);
    if (rc || dry_run)
        dn_store_rollback(store);
    for (size_t i = 0; i < self.n_unsent; i++)
        free(self.unsent[i].body);
    free(self.unsent);
    return rc;
}

/*  Whole sentences, one per case, so that a language words each its way:
    [done 0, would be 1][one event 0, several 1].  */
static const char *const s_moved[2][2] = {
    {N_("%lld local event re-recorded as seq %lld-%lld (pending: run 'dealernet-agent sync')"),
     N_("%lld local events re-recorded as seq %lld-%lld (pending: run 'dealernet-agent "
        "sync')")},
    {N_("%lld local event would be re-recorded as seq %lld-%lld"),
     N_("%lld local events would be re-recorded as seq %lld-%lld")}};
static const char *const s_recovered[2][2] = {
    {N_("recovered: server holds 1-%lld, %lld event added from the server, %s"),
     N_("recovered: server holds 1-%lld, %lld events added from the server, %s")},
    {N_("would recover: server holds 1-%lld, %lld event would be added from the server, %s"),
     N_("would recover: server holds 1-%lld, %lld events would be added from the server, "
        "%s")}};

const char *dn_recover_report(const dn_recover_result_t *r, int dry_run, char *buf,
                              size_t size)
{
    char moved[256];
    int dry = dry_run != 0;
    if (r->rerecorded == 0)
        snprintf(moved, sizeof moved, "%s",
                 dry ? _("no local event would be re-recorded")
                     : _("no local event was re-recorded"));
    else
        snprintf(moved, sizeof moved, _(s_moved[dry][r->rerecorded != 1]),
                 (long long)r->rerecorded, (long long)(r->server_head + 1),
                 (long long)(r->server_head + r->rerecorded));
    snprintf(buf, size, _(s_recovered[dry][r->added != 1]), (long long)r->server_head,
             (long long)r->added, moved);
    return buf;
}
