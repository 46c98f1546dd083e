/*  dn_notices -- HQ's notices at the shop (see dn_notices.h).  */
#include "dn_notices.h"
#include "dn_i18n.h"
#include "dn_db.h"
#include "dn_down.h"
#include "dn_error.h"
#include "dn_time.h"
#include "dn_valid.h"

#include <stdio.h>
#include <string.h>

/* -- the notices stream's applier ------------------------------------------ */

/*  Stores the notices of one Down, in the caller's transaction.  Each must
    be a notice with an id above the one before it (the stream is in id
    order, and a version only grows), a text dn_valid_notice accepts and
    the time it was sent.  An id held already means the server and this
    agent disagree on what is held: refused, not overwritten, so the read
    mark of a notice is never lost to a repeat.  */
static int s_apply(sqlite3 *db, int reset, Dealernet__DownItem *const *items, size_t n,
                   char *why, size_t why_size)
{
    sqlite3_stmt *stmt = NULL;
    uint64_t last = 0;
    int rc = 0;

    if (reset) {
        sqlite3_stmt *del;
        if (dn_db_prepare(db, "DELETE FROM notices", &del))
            return DN_EDB;
        rc = dn_db_step_txn(db, del);
        sqlite3_finalize(del);
        if (rc)
            return rc;
    }
    if (n && dn_db_prepare(db,
                           "INSERT INTO notices (id, text, sent_ms) "
                           "SELECT ?1, ?2, ?3 WHERE NOT EXISTS "
                           "(SELECT 1 FROM notices WHERE id = ?1)",
                           &stmt))
        return DN_EDB;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const Dealernet__Notice *notice =
            items[i]->body_case == DEALERNET__DOWN_ITEM__BODY_NOTICE ? items[i]->notice
                                                                     : NULL;
        char reason[DN_HIDDEN_WHY_SIZE];
        if (!notice || !notice->has_id || !notice->has_sent_ms) {
            rc = dn_why(why, why_size, DN_EPROTO,
                        _("item %zu of the notices stream is not a notice with an id and "
                        "a time"),
                        i + 1);
        } else if (notice->id <= last || notice->id > (uint64_t)INT64_MAX) {
            rc = dn_why(why, why_size, DN_EPROTO,
                        _("notice %llu comes after notice %llu: not in id order"),
                        (unsigned long long)notice->id, (unsigned long long)last);
        } else if (!dn_valid_notice(notice->text, reason, sizeof reason)) {
            rc = dn_why(why, why_size, DN_EPROTO, _("notice %llu: %s"),
                        (unsigned long long)notice->id, reason);
        } else {
            sqlite3_reset(stmt);
            sqlite3_bind_int64(stmt, 1, (int64_t)notice->id);
            sqlite3_bind_text(stmt, 2, notice->text, -1, SQLITE_STATIC);
            sqlite3_bind_int64(stmt, 3, notice->sent_ms);
            if ((rc = dn_db_step_txn(db, stmt)) == 0 && sqlite3_changes(db) != 1)
                rc = dn_why(why, why_size, DN_EPROTO, _("notice %llu is held already"),
                            (unsigned long long)notice->id);
            last = notice->id;
        }
    }
    sqlite3_finalize(stmt);
    return rc;
}

const dn_down_applier_t dn_down_apply_notices = {
    .stream = DEALERNET__STREAM__STREAM_NOTICES,
    .name = NC_("stream", "notices"),
    .apply = s_apply,
};

/* -- what the shop is shown ------------------------------------------------ */

int dn_notices_first_line(const char *text, char *line, size_t size)
{
    size_t len = strcspn(text, "\n"), cut = len;
    if (size == 0)
        return text[len] != '\0';
    if (cut >= size) /* at a character's start */
        for (cut = size - 1; cut > 0 && ((unsigned char)text[cut] & 0xC0) == 0x80; cut--)
            ;
    memcpy(line, text, cut);
    line[cut] = '\0';
    return cut < len || text[len] != '\0';
}

int dn_notices_list(dn_store_t *store, int64_t after, int all, json_t **list)
{
    sqlite3_stmt *stmt;
    int rc;

    if (!(*list = json_array()))
        return DN_ENOMEM;
    if (dn_store_stmt(store,
                      "SELECT id, sent_ms, read_ms IS NOT NULL, text FROM notices "
                      "WHERE id > ?1 AND (?2 OR read_ms IS NULL) ORDER BY id",
                      &stmt)) {
        json_decref(*list);
        *list = NULL;
        return DN_EDB;
    }
    sqlite3_bind_int64(stmt, 1, after);
    sqlite3_bind_int(stmt, 2, all != 0);
    while ((rc = dn_db_row(stmt, "notices")) == 1) {
        const char *text = (const char *)sqlite3_column_text(stmt, 3);
        char sent[DN_TIME_TEXT_SIZE];
        json_t *row;
        dn_time_format(sqlite3_column_int64(stmt, 1), sent);
        row = text ? json_pack("{s:I, s:s, s:I, s:b, s:s}", "id",
                               (json_int_t)sqlite3_column_int64(stmt, 0), "sent", sent,
                               "sent_ms", (json_int_t)sqlite3_column_int64(stmt, 1), "read",
                               sqlite3_column_int(stmt, 2), "text", text)
                   : NULL;
        if (!row || json_array_append_new(*list, row)) {
            rc = DN_ENOMEM;
            break;
        }
    }
    sqlite3_reset(stmt);
    if (rc < 0) {
        json_decref(*list);
        *list = NULL;
        return rc;
    }
    return 0;
}

int dn_notices_mark_read(dn_store_t *store, int64_t through, int64_t now_ms,
                         int64_t *marked)
{
    sqlite3_stmt *stmt;
    int rc;

    *marked = 0;
    if (dn_store_stmt(store,
                      "UPDATE notices SET read_ms = ?1 WHERE read_ms IS NULL AND id <= ?2",
                      &stmt))
        return DN_EDB;
    sqlite3_bind_int64(stmt, 1, now_ms);
    sqlite3_bind_int64(stmt, 2, through);
    rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    if (rc != SQLITE_DONE) {
        dn_db_note(dn_store_db(store));
        return DN_EDB;
    }
    *marked = sqlite3_changes(dn_store_db(store));
    return 0;
}

int dn_notices_unread(dn_store_t *store, int64_t *unread, char *first_line, size_t size,
                      int *more_lines)
{
    sqlite3_stmt *stmt;
    int rc;

    *unread = 0;
    *more_lines = 0;
    if (size)
        first_line[0] = '\0';
    if (dn_store_stmt(store,
                      "SELECT count(*) OVER (), text FROM notices WHERE read_ms IS NULL "
                      "ORDER BY id DESC LIMIT 1",
                      &stmt))
        return DN_EDB;
    rc = dn_db_row(stmt, "unread notices");
    if (rc == 1) {
        const char *text = (const char *)sqlite3_column_text(stmt, 1);
        *unread = sqlite3_column_int64(stmt, 0);
        if (text)
            *more_lines = dn_notices_first_line(text, first_line, size);
        else
            rc = DN_ENOMEM;
    }
    sqlite3_reset(stmt);
    return rc < 0 ? rc : 0;
}

int dn_notices_last_id(dn_store_t *store, int64_t *id)
{
    sqlite3_stmt *stmt;
    int rc;

    *id = 0;
    if (dn_store_stmt(store, "SELECT coalesce(max(id), 0) FROM notices", &stmt))
        return DN_EDB;
    rc = dn_db_row(stmt, "last notice");
    if (rc == 1)
        *id = sqlite3_column_int64(stmt, 0);
    sqlite3_reset(stmt);
    return rc < 0 ? rc : 0;
}
