/*  dn_notice -- HQ's notices to its shops (see dn_notice.h).  */
#include "dn_notice.h"
#include "dn_db.h"
#include "dn_error.h"
#include "dn_i18n.h"
#include "dn_log.h"
#include "dn_registry.h"
#include "dn_time.h"
#include "dn_tree.h"
#include "dn_valid.h"

#include <stdio.h>
#include <string.h>

/*  Whether a notice of target ('all', 'partner', 'site') to partner_id
    reaches a site whose partner is site_partner, at at_ms.  A notice to a
    site is only ever asked about for its own site.  0 or DN_EDB.  */
static int s_reaches(dn_db_cache_t *cache, const char *target, int64_t partner_id,
                     int64_t site_partner, int64_t at_ms, int *yes)
{
    *yes = 1;
    if (strcmp(target, "partner") != 0)
        return 0;
    return dn_tree_within_cached(cache, site_partner, partner_id, at_ms, yes);
}

/*  How many sites, revoked ones left out, a notice to target reaches at
    now_ms: every site, the sites of partner_id and its subtree, or the
    one site.  0 or DN_EDB, DN_ENOMEM.  */
static int s_count_reached(sqlite3 *db, const char *target, int64_t partner_id,
                           int64_t now_ms, int64_t *count)
{
    json_t *sites = NULL, *item;
    dn_db_cache_t *cache = NULL;
    size_t i;
    int rc;

    *count = 0;
    if (strcmp(target, "site") == 0) {
        *count = 1; /* the caller refused a revoked site */
        return 0;
    }
    if ((rc = dn_registry_site_list(db, &sites)) != 0)
        return rc;
    if (!(cache = dn_db_cache_new(db))) {
        json_decref(sites);
        return DN_ENOMEM;
    }
    json_array_foreach(sites, i, item)
    {
        dn_registry_partner_t owner;
        int yes = 0;
        if (json_is_true(json_object_get(item, "revoked")))
            continue;
        rc = dn_registry_partner_get(
            db, json_string_value(json_object_get(item, "partner")), &owner);
        if (rc == 0)
            rc = s_reaches(cache, target, partner_id, owner.id, now_ms, &yes);
        if (rc) {
            rc = rc == DN_ENOENT ? DN_EDB : rc; /* a site's partner is always there */
            break;
        }
        *count += yes;
    }
    dn_db_cache_destroy(&cache);
    json_decref(sites);
    return rc;
}

int dn_notice_send(sqlite3 *db, const char *text, const char *partner, const char *site,
                   const char *admin, int64_t now_ms, json_t **result, char *why,
                   size_t why_size)
{
    const char *target = partner ? "partner" : site ? "site" : "all";
    dn_registry_partner_t p = {0};
    dn_registry_site_t s = {0};
    char sent[DN_TIME_TEXT_SIZE], reason[DN_HIDDEN_WHY_SIZE];
    sqlite3_stmt *stmt;
    int64_t reached = 0, id;
    int rc;

    *result = NULL;
    if (!dn_valid_notice(text, reason, sizeof reason))
        return dn_why(why, why_size, DN_EINVAL, "%s", reason);
    if (partner && site)
        return dn_why(why, why_size, DN_EINVAL,
                      _("a notice goes to a partner or to a site, not both"));
    if ((partner && !dn_valid_code(partner)) || (site && !dn_valid_code(site)))
        return dn_why(
            why, why_size, DN_EINVAL,
            _("'%.40s' is not a code (a letter, then letters, digits, '_', '.', '-'; "
              "at most %d)"),
            partner ? partner : site, DN_MAX_CODE_LEN);
    if (partner && (rc = dn_registry_partner_get(db, partner, &p)) != 0)
        return rc == DN_ENOENT ? dn_why(why, why_size, rc, _("no partner %s"), partner)
                               : dn_why(why, why_size, rc, _("database error"));
    if (site && (rc = dn_registry_site_get(db, site, &s)) != 0)
        return rc == DN_ENOENT ? dn_why(why, why_size, rc, _("no site %s"), site)
                               : dn_why(why, why_size, rc, _("database error"));
    if (site && s.revoked)
        return dn_why(why, why_size, DN_EPERM,
                      _("site %s is revoked: it will never sync to receive the notice"),
                      site);
    if ((rc = s_count_reached(db, target, p.id, now_ms, &reached)) != 0)
        return dn_why(why, why_size, rc, "%s", dn_strerror(rc));

    if (dn_db_begin(db))
        return dn_why(why, why_size, DN_EDB, _("database busy or failing; try again"));
    if (dn_db_prepare(db,
                      "INSERT INTO notices (text, target, partner_id, site_id, sent_ms, "
                      "sent_by) VALUES (?, ?, ?, ?, ?, ?)",
                      &stmt))
        return dn_db_abort(db, NULL, dn_why(why, why_size, DN_EDB, _("database error")));
    sqlite3_bind_text(stmt, 1, text, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, target, -1, SQLITE_STATIC);
    if (partner)
        sqlite3_bind_int64(stmt, 3, p.id);
    if (site)
        sqlite3_bind_int64(stmt, 4, s.id);
    sqlite3_bind_int64(stmt, 5, now_ms);
    if (admin)
        sqlite3_bind_text(stmt, 6, admin, -1, SQLITE_STATIC);
    if (dn_db_step_txn(db, stmt)) {
        sqlite3_finalize(stmt);
        return dn_db_abort(db, NULL, dn_why(why, why_size, DN_EDB, _("database error")));
    }
    sqlite3_finalize(stmt);
    id = sqlite3_last_insert_rowid(db);
    if (dn_db_commit(db))
        return dn_db_abort(db, NULL, dn_why(why, why_size, DN_EDB, _("database error")));

    dn_time_format(now_ms, sent);
    *result = json_pack("{s:I, s:s, s:s?, s:s?, s:I, s:s, s:s?}", "id", (json_int_t)id,
                        "target", target, "partner", partner, "site", site, "sites",
                        (json_int_t)reached, "sent", sent, "by", admin);
    if (!*result)
        return dn_why(why, why_size, DN_ENOMEM, _("out of memory"));
    return 0;
}

int dn_notice_list(sqlite3 *db, json_t **list)
{
    sqlite3_stmt *stmt;
    int rc = 0;

    *list = json_array();
    if (!*list)
        return DN_ENOMEM;
    if (dn_db_prepare(db,
                      "SELECT n.id, n.sent_ms, n.target, p.code, s.code, n.sent_by, n.text "
                      "FROM notices n LEFT JOIN partners p ON p.id = n.partner_id "
                      "LEFT JOIN sites s ON s.id = n.site_id ORDER BY n.id DESC",
                      &stmt)) {
        json_decref(*list);
        *list = NULL;
        return DN_EDB;
    }
    while ((rc = dn_db_row(stmt, "notice list")) == 1) {
        const char *target = (const char *)sqlite3_column_text(stmt, 2);
        const char *code = (const char *)sqlite3_column_text(stmt, target[0] == 'p' ? 3 : 4);
        const char *by = (const char *)sqlite3_column_text(stmt, 5);
        char sent[DN_TIME_TEXT_SIZE], whom[16 + DN_MAX_CODE_LEN];
        json_t *row;
        dn_time_format(sqlite3_column_int64(stmt, 1), sent);
        if (strcmp(target, "all") == 0)
            snprintf(whom, sizeof whom, "all");
        else
            snprintf(whom, sizeof whom, "%s %s", target, code ? code : "?");
        row = json_pack("{s:I, s:s, s:s, s:s?, s:s}", "id",
                        (json_int_t)sqlite3_column_int64(stmt, 0), "sent", sent, "target",
                        whom, "by", by, "text", (const char *)sqlite3_column_text(stmt, 6));
        if (!row || json_array_append_new(*list, row)) {
            rc = DN_ENOMEM;
            break;
        }
    }
    sqlite3_finalize(stmt);
    if (rc < 0) {
        json_decref(*list);
        *list = NULL;
        return rc;
    }
    return 0;
}

/* -- what a site receives -------------------------------------------------- */

int dn_notice_for_site(sqlite3 *db, const dn_registry_site_t *site, int64_t at_ms,
                       uint64_t from, dn_notice_visit_fn visit, void *arg)
{
    dn_registry_partner_t owner;
    dn_db_cache_t *cache;
    sqlite3_stmt *stmt;
    int rc;

    if ((rc = dn_registry_partner_get(db, site->partner, &owner)) != 0)
        return rc == DN_ENOENT ? DN_EDB : rc; /* a site's partner is always there */
    if (!(cache = dn_db_cache_new(db)))
        return DN_ENOMEM;
    if (dn_db_prepare(db,
                      "SELECT id, text, sent_ms, target, partner_id FROM notices "
                      "WHERE id > ?1 AND (site_id IS NULL OR site_id = ?2) ORDER BY id",
                      &stmt)) {
        dn_db_cache_destroy(&cache);
        return DN_EDB;
    }
    /* a version past every id (no agent is given one) holds them all */
    sqlite3_bind_int64(stmt, 1, from > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)from);
    sqlite3_bind_int64(stmt, 2, site->id);
    while ((rc = dn_db_row(stmt, "notices of a site")) == 1) {
        dn_notice_t notice = {.id = sqlite3_column_int64(stmt, 0),
                              .text = (const char *)sqlite3_column_text(stmt, 1),
                              .sent_ms = sqlite3_column_int64(stmt, 2)};
        int yes = 0;
        if (!notice.text) {
            rc = DN_ENOMEM; /* NOT NULL: SQLite could not convert it */
            break;
        }
        rc = s_reaches(cache, (const char *)sqlite3_column_text(stmt, 3),
                       sqlite3_column_int64(stmt, 4), owner.id, at_ms, &yes);
        if (rc == 0)
            rc = visit(arg, &notice, yes);
        if (rc)
            break;
    }
    sqlite3_finalize(stmt);
    dn_db_cache_destroy(&cache);
    return rc < 0 ? rc : 0;
}
