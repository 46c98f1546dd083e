/*  dn_hqcatalog -- HQ's catalogue at the shop (see dn_hqcatalog.h).  */
#include "dn_hqcatalog.h"
#include "dn_i18n.h"
#include "dn_db.h"
#include "dn_error.h"

#include <stdio.h>
#include <string.h>

int dn_hqcatalog_price(sqlite3 *db, const char *sku, int64_t at_ms,
                       dn_hqcatalog_price_t *out)
{
    sqlite3_stmt *stmt;
    int rc = dn_db_prepare(db,
                           "SELECT price, category, name, partner, effective_ms, fixed "
                           "FROM hq_catalog WHERE sku = ? AND effective_ms <= ? "
                           "ORDER BY depth DESC, effective_ms DESC LIMIT 1",
                           &stmt);
    if (rc)
        return rc;
    memset(out, 0, sizeof *out);
    sqlite3_bind_text(stmt, 1, sku, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, at_ms);
    rc = dn_db_row(stmt, "agent.db hq_catalog");
    if (rc == 1) {
        out->price = sqlite3_column_int64(stmt, 0);
        out->effective_ms = sqlite3_column_int64(stmt, 4);
        out->fixed = sqlite3_column_int(stmt, 5);
        rc = dn_db_column_copy(stmt, 1, out->category, sizeof out->category) ||
                     dn_db_column_copy(stmt, 2, out->name, sizeof out->name) ||
                     dn_db_column_copy(stmt, 3, out->partner, sizeof out->partner)
                 ? DN_ENOMEM
                 : 0;
    } else if (rc == 0) {
        rc = DN_ENOENT;
    }
    sqlite3_finalize(stmt);
    return rc;
}

int dn_hqcatalog_list(sqlite3 *db, int64_t at_ms, json_t *list)
{
    sqlite3_stmt *stmt;
    int rc, step;
    /* the row the till takes for each SKU: the deepest list in force,
       its latest day (dn_hqcatalog_price's rule, for all SKUs at once) */
    rc = dn_db_prepare(
        db,
        "SELECT sku, name, price, category, effective_ms, partner, fixed FROM ("
        "  SELECT *, row_number() OVER (PARTITION BY sku ORDER BY depth DESC, "
        "    effective_ms DESC) AS pick FROM hq_catalog WHERE effective_ms <= ?) "
        "WHERE pick = 1 ORDER BY sku",
        &stmt);
    if (rc)
        return rc;
    sqlite3_bind_int64(stmt, 1, at_ms);
    while ((step = dn_db_row(stmt, "agent.db hq_catalog")) == 1) {
        const char *category = (const char *)sqlite3_column_text(stmt, 3);
        const char *partner = (const char *)sqlite3_column_text(stmt, 5);
        json_t *row = json_pack(
            "{s:s, s:s, s:I, s:o, s:I, s:s, s:b}", "sku",
            (const char *)sqlite3_column_text(stmt, 0), "name",
            (const char *)sqlite3_column_text(stmt, 1), "price_minor",
            (json_int_t)sqlite3_column_int64(stmt, 2), "category",
            category && *category ? json_string(category) : json_null(), "effective_ms",
            (json_int_t)sqlite3_column_int64(stmt, 4), "list",
            partner && *partner ? partner : "network", "fixed", sqlite3_column_int(stmt, 6));
        if (!row || json_array_append_new(list, row)) {
            sqlite3_finalize(stmt);
            return DN_ENOMEM;
        }
    }
    sqlite3_finalize(stmt);
    return step < 0 ? DN_EDB : 0;
}

int dn_hqcatalog_named(sqlite3 *db, const char *name, int64_t at_ms, json_t *skus)
{
    sqlite3_stmt *stmt;
    int rc, step;
    /* dn_hqcatalog_list's pick, then the name of the picked row */
    rc = dn_db_prepare(
        db,
        "SELECT sku FROM ("
        "  SELECT sku, name, row_number() OVER (PARTITION BY sku ORDER BY depth DESC, "
        "    effective_ms DESC) AS pick FROM hq_catalog WHERE effective_ms <= ?) "
        "WHERE pick = 1 AND name = ? ORDER BY sku",
        &stmt);
    if (rc)
        return rc;
    sqlite3_bind_int64(stmt, 1, at_ms);
    sqlite3_bind_text(stmt, 2, name, -1, SQLITE_STATIC);
    while ((step = dn_db_row(stmt, "agent.db hq_catalog")) == 1) {
        json_t *sku = json_string((const char *)sqlite3_column_text(stmt, 0));
        if (!sku || json_array_append_new(skus, sku)) {
            sqlite3_finalize(stmt);
            return DN_ENOMEM;
        }
    }
    sqlite3_finalize(stmt);
    return step < 0 ? DN_EDB : 0;
}

/* -- the applier ------------------------------------------------------------ */

/*  Checks one item as the server's dn_catalog_parse checks a row: the
    agent trusts the server's signature, not its program's every field.  */
static int s_check(const Dealernet__CatalogItem *c, size_t i, char *why, size_t why_size)
{
    int network = !c->partner || !*c->partner;
    if (!dn_valid_sku(c->sku))
        return dn_why(why, why_size, DN_EPROTO, _("catalog item %zu: not a SKU"), i);
    if (!c->removed && !dn_valid_name(c->name))
        return dn_why(why, why_size, DN_EPROTO, _("catalog item %zu (%s): bad name"), i, c->sku);
    if (c->category && *c->category && !dn_valid_code(c->category))
        return dn_why(why, why_size, DN_EPROTO, _("catalog item %zu (%s): bad category"), i,
                      c->sku);
    if (!c->has_price || c->price < 0 || c->price > DN_MAX_UNIT_PRICE || !c->has_effective_ms)
        return dn_why(why, why_size, DN_EPROTO,
                      _("catalog item %zu (%s): no price or effective day"), i, c->sku);
    if ((!network && !dn_valid_code(c->partner)) || network != (c->depth == 0))
        return dn_why(why, why_size, DN_EPROTO, _("catalog item %zu (%s): bad list or depth"), i,
                      c->sku);
    return 0;
}

static int s_apply(sqlite3 *db, int reset, Dealernet__DownItem *const *items, size_t n,
                   char *why, size_t why_size)
{
    sqlite3_stmt *put = NULL, *drop = NULL;
    int rc = 0;

    if (reset && (rc = dn_db_exec(db, "DELETE FROM hq_catalog")) != 0)
        return rc;
    if ((rc = dn_db_prepare(db,
                            "INSERT OR REPLACE INTO hq_catalog(sku, partner, effective_ms, "
                            "depth, name, category, price, fixed) "
                            "VALUES (?, ?, ?, ?, ?, nullif(?, ''), ?, ?)",
                            &put)) != 0 ||
        (rc = dn_db_prepare(db,
                            "DELETE FROM hq_catalog WHERE sku = ? AND partner = ? AND "
                            "effective_ms = ?",
                            &drop)) != 0) {
        sqlite3_finalize(put);
        return rc;
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        const Dealernet__CatalogItem *c = items[i]->catalog;
        sqlite3_stmt *stmt = NULL;
        if (items[i]->body_case != DEALERNET__DOWN_ITEM__BODY_CATALOG || !c) {
            rc = dn_why(why, why_size, DN_EPROTO, _("item %zu is not a catalog item"), i);
            break;
        }
        if ((rc = s_check(c, i, why, why_size)) != 0)
            break;
        stmt = c->removed ? drop : put;
        sqlite3_reset(stmt);
        sqlite3_bind_text(stmt, 1, c->sku, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 2, c->partner ? c->partner : "", -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 3, c->effective_ms);
        if (!c->removed) {
            sqlite3_bind_int64(stmt, 4, c->depth);
            sqlite3_bind_text(stmt, 5, c->name, -1, SQLITE_STATIC);
            sqlite3_bind_text(stmt, 6, c->category ? c->category : "", -1, SQLITE_STATIC);
            sqlite3_bind_int64(stmt, 7, c->price);
            sqlite3_bind_int(stmt, 8, c->fixed ? 1 : 0);
        }
        rc = dn_db_step_txn(db, stmt);
    }
    sqlite3_finalize(put);
    sqlite3_finalize(drop);
    return rc;
}

const dn_down_applier_t dn_down_apply_catalog = {
    .stream = DEALERNET__STREAM__STREAM_CATALOG,
    .name = NC_("stream", "catalog"), /* shown through C_("stream", ...) */
    .apply = s_apply,
};
