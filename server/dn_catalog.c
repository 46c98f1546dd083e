/*  dn_catalog -- HQ's catalogue and price lists (see dn_catalog.h).

    The key of a row is (sku, list, effective day); the list is NULL for the
    network's and a partner code otherwise, so the unique index is on
    ifnull(partner, '') -- SQLite lets two NULLs be "different" in a plain
    UNIQUE -- and every lookup by key spells it the same way to use it.
*/
#include "dn_catalog.h"
#include "dn_csv.h"
#include "dn_db.h"
#include "dn_error.h"
#include "dn_i18n.h"
#include "dn_log.h"
#include "dn_money.h"
#include "dn_plan.h"
#include "dn_registry.h"
#include "dn_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* -- days ------------------------------------------------------------------- */

/*  The two places that say what a catalogue day is: a day of the
    network's time zone (dn_time).  */
int dn_catalog_day_parse(const char *text, int64_t *ms)
{
    return dn_time_parse_date(text, ms) ? DN_EPARSE : 0;
}

void dn_catalog_day_format(int64_t ms, char text[DN_CATALOG_DAY_SIZE])
{
    char stamp[DN_TIME_TEXT_SIZE];
    dn_time_format(ms, stamp); /* "2026-12-06T00:00:00.000+08:00" */
    snprintf(text, DN_CATALOG_DAY_SIZE, "%.10s", stamp);
}

/*  The start of the day ms falls in.  */
static int64_t s_day_start(int64_t ms)
{
    char day[DN_CATALOG_DAY_SIZE];
    int64_t start = ms;
    dn_catalog_day_format(ms, day);
    dn_catalog_day_parse(day, &start);
    return start;
}

/* -- checking a row ------------------------------------------------------- */

static int s_empty(const char *text)
{
    return !text || !*text;
}

int dn_catalog_parse(sqlite3 *db, const dn_catalog_text_t *text, int64_t now_ms,
                     dn_catalog_row_t *row, char *why, size_t why_size)
{
    char currency[4], reason[DN_HIDDEN_WHY_SIZE];
    int exponent, rc;

    memset(row, 0, sizeof *row);
    /* codes are ASCII and names any script (DESIGN rule 10): a Chinese SKU
       is nearly always a name typed in the wrong column, and
       dn_valid_code_check says so */
    if (s_empty(text->sku))
        return dn_why(why, why_size, DN_EINVAL, _("SKU is empty"));
    if ((rc = dn_valid_code_check(DN_CODE_SKU, text->sku, NULL, why, why_size)) != 0)
        return rc;
    snprintf(row->sku, sizeof row->sku, "%s", text->sku);

    if (!dn_valid_name_why(text->name ? text->name : "", reason, sizeof reason))
        return dn_why(why, why_size, DN_EINVAL, _("name %s"), reason);
    snprintf(row->name, sizeof row->name, "%s", text->name);

    if (!s_empty(text->category)) {
        if ((rc = dn_valid_code_check(DN_CODE_CATEGORY, text->category, NULL, why,
                                      why_size)) != 0)
            return rc;
        snprintf(row->category, sizeof row->category, "%s", text->category);
        dn_code_fold(row->category);
    }

    rc = dn_plan_currency(db, currency, &exponent);
    if (rc == DN_ENOENT)
        return dn_why(why, why_size, DN_ENOENT,
                      _("no plan is set yet, so the network has no currency for prices: "
                        "set a plan first (dealernet-hq plan set)"));
    if (rc)
        return rc;
    rc = s_empty(text->price) ? DN_EPARSE : dn_money_parse(text->price, exponent, &row->price);
    if (rc == 0 && row->price < 0)
        return dn_why(why, why_size, DN_EINVAL, _("price %.40s is negative"),
                      text->price);
    if (rc == DN_EOVERFLOW || (rc == 0 && row->price > DN_MAX_UNIT_PRICE))
        return dn_why(why, why_size, DN_EINVAL, _("price %.40s is too large"),
                      text->price);
    if (rc)
        return dn_why(
            why, why_size, DN_EINVAL,
            _("price '%.40s' is not an amount in %s (at most %d decimals, like %s)"),
            text->price ? text->price : "", currency, exponent,
            exponent == 0 ? "59" : "59.90");

    if (s_empty(text->effective))
        row->effective_ms = s_day_start(now_ms);
    else if (dn_catalog_day_parse(text->effective, &row->effective_ms))
        return dn_why(why, why_size, DN_EINVAL,
                      _("effective '%.40s' is not a date (YYYY-MM-DD)"), text->effective);

    if (!s_empty(text->partner)) {
        dn_registry_partner_t partner;
        if ((rc = dn_valid_code_check(DN_CODE_PARTNER, text->partner, NULL, why,
                                      why_size)) != 0)
            return rc;
        rc = dn_registry_partner_get(db, text->partner, &partner);
        if (rc == DN_ENOENT)
            return dn_why(why, why_size, DN_ENOENT,
                          _("partner %s does not exist (see: dealernet-hq partner list)"),
                          text->partner);
        if (rc)
            return rc;
        snprintf(row->partner, sizeof row->partner, "%s", partner.code);
    }

    if (!s_empty(text->fixed)) {
        if (strcmp(text->fixed, "1") && strcmp(text->fixed, "0"))
            return dn_why(why, why_size, DN_EINVAL, _("fixed '%.40s' is not 1 or 0"),
                          text->fixed);
        row->fixed = strcmp(text->fixed, "1") == 0;
    }
    return 0;
}

/* -- writing -------------------------------------------------------------- */

int dn_catalog_head(sqlite3 *db, uint64_t *head)
{
    sqlite3_stmt *stmt;
    int64_t v = 0;
    int rc = dn_db_prepare(db, "SELECT ifnull(max(version), 0) FROM catalog", &stmt);
    if (rc)
        return rc;
    rc = dn_db_int_row(stmt, "catalog head", &v);
    if (rc < 0)
        return rc;
    *head = (uint64_t)v;
    return 0;
}

/*  Binds row's key (?1 sku, ?2 list, ?3 day) and values (?4 name, ?5
    category, ?6 price, ?7 fixed): the statements of s_put share them.  */
static void s_bind_row(sqlite3_stmt *stmt, const dn_catalog_row_t *row)
{
    sqlite3_bind_text(stmt, 1, row->sku, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, row->partner, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 3, row->effective_ms);
    sqlite3_bind_text(stmt, 4, row->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 5, row->category, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 6, row->price);
    sqlite3_bind_int(stmt, 7, row->fixed);
}

/*  Stores row under the next version (*next, then incremented) unless the
    stored row of its key is the same and not removed; inside the caller's
    transaction.  *changed says which; *version is the row's.  */
static int s_put(sqlite3 *db, const dn_catalog_row_t *row, int64_t now_ms, uint64_t *next,
                 uint64_t *version, int *changed)
{
    sqlite3_stmt *stmt = NULL;
    int exists = 0, rc, step;

    *changed = 0;
    rc = dn_db_prepare(db,
                       "SELECT version, name = ?4 AND ifnull(category, '') = ?5 AND "
                       "price = ?6 AND fixed = ?7 AND removed = 0 FROM catalog "
                       "WHERE sku = ?1 AND ifnull(partner, '') = ?2 AND effective_ms = ?3",
                       &stmt);
    if (rc)
        return rc;
    s_bind_row(stmt, row);
    step = dn_db_row(stmt, "catalog row");
    if (step == 1) {
        exists = 1;
        if (sqlite3_column_int(stmt, 1)) {
            *version = (uint64_t)sqlite3_column_int64(stmt, 0);
            sqlite3_finalize(stmt);
            return 0;
        }
    }
    sqlite3_finalize(stmt);
    if (step < 0)
        return DN_EDB;

    rc = dn_db_prepare(db,
                       exists ? "UPDATE catalog SET name = ?4, category = nullif(?5, ''), "
                                "price = ?6, fixed = ?7, removed = 0, version = ?8, "
                                "changed_ms = ?9 WHERE sku = ?1 AND ifnull(partner, '') = ?2 "
                                "AND effective_ms = ?3"
                              : "INSERT INTO catalog(sku, partner, effective_ms, name, "
                                "category, price, fixed, removed, version, changed_ms) "
                                "VALUES (?1, nullif(?2, ''), ?3, ?4, nullif(?5, ''), ?6, ?7, "
                                "0, ?8, ?9)",
                       &stmt);
    if (rc)
        return rc;
    s_bind_row(stmt, row);
    sqlite3_bind_int64(stmt, 8, (int64_t)*next);
    sqlite3_bind_int64(stmt, 9, now_ms);
    rc = dn_db_step_txn(db, stmt);
    sqlite3_finalize(stmt);
    if (rc)
        return rc;
    *version = (*next)++;
    *changed = 1;
    return 0;
}

int dn_catalog_set(sqlite3 *db, const dn_catalog_row_t *row, int64_t now_ms,
                   uint64_t *version, int *changed)
{
    uint64_t next;
    int rc = dn_db_begin(db);
    if (rc)
        return rc;
    if ((rc = dn_catalog_head(db, &next)) != 0 ||
        (next++, rc = s_put(db, row, now_ms, &next, version, changed)) != 0 ||
        (rc = dn_db_commit(db)) != 0) {
        dn_db_rollback(db);
        return rc;
    }
    return 0;
}

int dn_catalog_remove(sqlite3 *db, const char *sku, const char *partner, int has_effective,
                      int64_t effective_ms, int64_t now_ms, size_t *removed,
                      uint64_t *version, char *why, size_t why_size)
{
    sqlite3_stmt *pick = NULL, *mark = NULL;
    uint64_t head;
    char day[DN_CATALOG_DAY_SIZE] = "";
    int rc, step;

    *removed = 0;
    if (!partner)
        partner = "";
    if ((rc = dn_db_begin(db)) != 0)
        return rc;
    if ((rc = dn_catalog_head(db, &head)) != 0)
        return dn_db_abort(db, NULL, rc);
    rc = dn_db_prepare(db,
                       "SELECT id FROM catalog WHERE sku = ?1 AND ifnull(partner, '') = ?2 "
                       "AND removed = 0 AND (?3 IS NULL OR (effective_ms >= ?3 AND "
                       "effective_ms < ?4)) ORDER BY effective_ms",
                       &pick);
    if (rc == 0)
        rc = dn_db_prepare(db,
                           "UPDATE catalog SET removed = 1, version = ?, changed_ms = ? "
                           "WHERE id = ?",
                           &mark);
    if (rc) {
        sqlite3_finalize(pick);
        return dn_db_abort(db, NULL, rc);
    }
    sqlite3_bind_text(pick, 1, sku, -1, SQLITE_STATIC);
    sqlite3_bind_text(pick, 2, partner, -1, SQLITE_STATIC);
    /* the day as shown (dn_catalog_day_format), not its exact millisecond:
       a row set while the network kept UTC days lies at UTC midnight, 8
       hours into Beijing's day that the date typed now parses to */
    if (has_effective) {
        sqlite3_bind_int64(pick, 3, effective_ms);
        sqlite3_bind_int64(pick, 4, dn_time_day_start(dn_time_day(effective_ms) + 1));
    }
    /* each row withdrawn takes the next version */
    while (rc == 0 && (step = dn_db_row(pick, "catalog remove")) == 1) {
        sqlite3_reset(mark);
        sqlite3_bind_int64(mark, 1, (int64_t)(head + *removed + 1));
        sqlite3_bind_int64(mark, 2, now_ms);
        sqlite3_bind_int64(mark, 3, sqlite3_column_int64(pick, 0));
        if ((rc = dn_db_step_txn(db, mark)) == 0)
            (*removed)++;
    }
    if (rc == 0 && step < 0)
        rc = DN_EDB;
    sqlite3_finalize(pick);
    sqlite3_finalize(mark);
    if (rc == 0 && *removed == 0) {
        if (has_effective)
            dn_catalog_day_format(effective_ms, day);
        /* one whole sentence per case: a language's word order may differ */
        if (*partner && has_effective)
            rc = dn_why(why, why_size, DN_ENOENT,
                        _("SKU %s is not on %s's price list effective %s"), sku, partner,
                        day);
        else if (*partner)
            rc = dn_why(why, why_size, DN_ENOENT, _("SKU %s is not on %s's price list"),
                        sku, partner);
        else if (has_effective)
            rc = dn_why(why, why_size, DN_ENOENT,
                        _("SKU %s is not on the network's price list effective %s"), sku,
                        day);
        else
            rc = dn_why(why, why_size, DN_ENOENT,
                        _("SKU %s is not on the network's price list"), sku);
    }
    if (rc == 0)
        rc = dn_db_commit(db);
    if (rc) {
        dn_db_rollback(db);
        return rc;
    }
    *version = head + *removed;
    return 0;
}

/* -- reading -------------------------------------------------------------- */

/*  Fills row from a statement's columns: sku, name, category, price,
    effective_ms, partner, fixed, removed, version.  */
static int s_row_of(sqlite3_stmt *stmt, dn_catalog_row_t *row)
{
    int rc = 0;
    memset(row, 0, sizeof *row);
    rc |= dn_db_column_copy(stmt, 0, row->sku, sizeof row->sku);
    rc |= dn_db_column_copy(stmt, 1, row->name, sizeof row->name);
    if (sqlite3_column_type(stmt, 2) != SQLITE_NULL)
        rc |= dn_db_column_copy(stmt, 2, row->category, sizeof row->category);
    row->price = sqlite3_column_int64(stmt, 3);
    row->effective_ms = sqlite3_column_int64(stmt, 4);
    if (sqlite3_column_type(stmt, 5) != SQLITE_NULL)
        rc |= dn_db_column_copy(stmt, 5, row->partner, sizeof row->partner);
    row->fixed = sqlite3_column_int(stmt, 6);
    row->removed = sqlite3_column_int(stmt, 7);
    row->version = (uint64_t)sqlite3_column_int64(stmt, 8);
    return rc ? DN_ENOMEM : 0;
}

#define S_COLUMNS "sku, name, category, price, effective_ms, partner, fixed, removed, version"

int dn_catalog_list(sqlite3 *db, const char *partner, int64_t now_ms, json_t **list,
                    char *why, size_t why_size)
{
    sqlite3_stmt *stmt = NULL;
    dn_registry_partner_t owner;
    char currency[4], price[DN_MONEY_TEXT_SIZE], day[DN_CATALOG_DAY_SIZE];
    int exponent = 2, rc, step;

    *list = NULL;
    if (partner) {
        rc = dn_registry_partner_get(db, partner, &owner);
        if (rc == DN_ENOENT)
            return dn_why(why, why_size, DN_ENOENT,
                          _("partner %s does not exist (see: dealernet-hq partner list)"),
                          partner);
        if (rc)
            return rc;
        partner = owner.code;
    }
    rc = dn_plan_currency(db, currency, &exponent);
    if (rc && rc != DN_ENOENT) /* no plan: no price could be set, the list is empty */
        return rc;
    rc = dn_db_prepare(
        db,
        "SELECT " S_COLUMNS " FROM catalog c WHERE removed = 0 "
        "AND (?2 IS NULL OR ifnull(partner, '') = ?2) "
        "AND (effective_ms > ?1 OR effective_ms = (SELECT max(d.effective_ms) FROM catalog d "
        "  WHERE d.sku = c.sku AND ifnull(d.partner, '') = ifnull(c.partner, '') "
        "  AND d.removed = 0 AND d.effective_ms <= ?1)) "
        "ORDER BY sku, ifnull(partner, ''), effective_ms",
        &stmt);
    if (rc)
        return rc;
    sqlite3_bind_int64(stmt, 1, now_ms);
    if (partner)
        sqlite3_bind_text(stmt, 2, partner, -1, SQLITE_STATIC);
    if (!(*list = json_array())) {
        sqlite3_finalize(stmt);
        return DN_ENOMEM;
    }
    while ((step = dn_db_row(stmt, "catalog list")) == 1) {
        dn_catalog_row_t row;
        json_t *item;
        if ((rc = s_row_of(stmt, &row)) != 0)
            break;
        dn_money_format(row.price, exponent, price, sizeof price);
        dn_catalog_day_format(row.effective_ms, day);
        item = json_pack("{s:s, s:s, s:o, s:s, s:I, s:s, s:s, s:b, s:b, s:I}", "sku", row.sku,
                         "name", row.name, "category",
                         row.category[0] ? json_string(row.category) : json_null(), "price",
                         price, "price_minor", (json_int_t)row.price, "effective", day,
                         "list", row.partner[0] ? row.partner : "network", "fixed",
                         row.fixed, "in_force", row.effective_ms <= now_ms, "version",
                         (json_int_t)row.version);
        if (!item || json_array_append_new(*list, item)) {
            rc = DN_ENOMEM;
            break;
        }
    }
    sqlite3_finalize(stmt);
    if (rc == 0 && step < 0)
        rc = DN_EDB;
    if (rc) {
        json_decref(*list);
        *list = NULL;
    }
    return rc;
}

int dn_catalog_scan(sqlite3 *db, const char *const *partners, size_t n, uint64_t from,
                    int (*visit)(void *arg, const dn_catalog_row_t *row), void *arg)
{
    sqlite3_stmt *stmt = NULL;
    json_t *codes = json_array();
    char *codes_text = NULL;
    int rc = 0, step;

    for (size_t i = 0; codes && i < n; i++)
        if (json_array_append_new(codes, json_string(partners[i])))
            rc = DN_ENOMEM;
    if (!codes || rc || !(codes_text = json_dumps(codes, JSON_COMPACT))) {
        json_decref(codes);
        return DN_ENOMEM;
    }
    json_decref(codes);
    rc = dn_db_prepare(db,
                       "SELECT " S_COLUMNS " FROM catalog WHERE version > ?1 "
                       "AND (?3 = 1 OR removed = 0) "
                       "AND (partner IS NULL OR partner IN (SELECT value FROM json_each(?2))) "
                       "ORDER BY version",
                       &stmt);
    if (rc == 0) {
        sqlite3_bind_int64(stmt, 1, (int64_t)from);
        sqlite3_bind_text(stmt, 2, codes_text, -1, SQLITE_STATIC);
        sqlite3_bind_int(stmt, 3, from != 0);
        while ((step = dn_db_row(stmt, "catalog scan")) == 1) {
            dn_catalog_row_t row;
            if ((rc = s_row_of(stmt, &row)) != 0 || (rc = visit(arg, &row)) != 0)
                break;
        }
        if (rc == 0 && step < 0)
            rc = DN_EDB;
        if (rc > 0) /* visit stopped */
            rc = 0;
        sqlite3_finalize(stmt);
    }
    free(codes_text);
    return rc;
}

/* -- import --------------------------------------------------------------- */

/*  The columns of an import file.  */
enum { C_SKU, C_NAME, C_CATEGORY, C_PRICE, C_EFFECTIVE, C_PARTNER, C_FIXED, C_COUNT };
static const char *const s_columns[C_COUNT] = {
    "sku", "name", "category", "price", "effective", "partner", "fixed"};

/*  Maps the header row's fields to columns into at[] (-1: absent).  */
static int s_header(const dn_csv_row_t *head, int at[C_COUNT], int64_t line, char *why,
                    size_t why_size)
{
    for (int c = 0; c < C_COUNT; c++)
        at[c] = -1;
    for (size_t f = 0; f < head->n_fields; f++) {
        int c = 0;
        while (c < C_COUNT && strcmp(head->fields[f], s_columns[c]) != 0)
            c++;
        if (c == C_COUNT)
            return dn_why(
                why, why_size, DN_EPARSE,
                _("line %lld: column '%.40s' is not one of sku, name, category, price, "
                  "effective, and optionally partner, fixed"),
                (long long)line, head->fields[f]);
        if (at[c] >= 0)
            return dn_why(why, why_size, DN_EPARSE,
                          _("line %lld: column %s is given twice"), (long long)line,
                          s_columns[c]);
        at[c] = (int)f;
    }
    for (int c = 0; c <= C_EFFECTIVE; c++)
        if (at[c] < 0)
            return dn_why(
                why, why_size, DN_EPARSE,
                _("line %lld: the header has no column %s (columns: sku, name, category, "
                  "price, effective, and optionally partner, fixed)"),
                (long long)line, s_columns[c]);
    return 0;
}

/*  The field of column c of row, or NULL.  */
static const char *s_field(const dn_csv_row_t *row, const int at[C_COUNT], int c)
{
    return at[c] >= 0 && (size_t)at[c] < row->n_fields ? row->fields[at[c]] : NULL;
}

/*  Which column a dn_catalog_parse refusal with rc is about: a code's
    refusal (dn_valid_code_check's one line names no column) is the first
    of the code columns that is not a code, in dn_catalog_parse's order;
    any other reason starts with its column.  */
static const char *s_reason_column(const dn_catalog_text_t *text, int rc, const char *reason)
{
    if (rc == DN_CODE_ERROR) {
        if (dn_valid_code_check(DN_CODE_SKU, text->sku, NULL, NULL, 0))
            return "sku";
        if (!s_empty(text->category) &&
            dn_valid_code_check(DN_CODE_CATEGORY, text->category, NULL, NULL, 0))
            return "category";
        if (!s_empty(text->partner) &&
            dn_valid_code_check(DN_CODE_PARTNER, text->partner, NULL, NULL, 0))
            return "partner";
    }
    for (int c = 1; c < C_COUNT; c++)
        if (strncmp(reason, s_columns[c], strlen(s_columns[c])) == 0)
            return s_columns[c];
    return NULL;
}

/*  Drops the staged rows of upload (every upload when NULL).  */
static int s_unstage(sqlite3 *db, const char *upload)
{
    sqlite3_stmt *stmt;
    int rc = dn_db_prepare(db,
                           "DELETE FROM catalog_staged WHERE ?1 IS NULL OR upload = ?1;"
                           , &stmt);
    if (rc)
        return rc;
    if (upload)
        sqlite3_bind_text(stmt, 1, upload, -1, SQLITE_STATIC);
    if ((rc = dn_db_step_txn(db, stmt)) == 0) {
        sqlite3_finalize(stmt);
        rc = dn_db_prepare(db, "DELETE FROM catalog_uploads WHERE ?1 IS NULL OR upload = ?1",
                           &stmt);
        if (rc)
            return rc;
        if (upload)
            sqlite3_bind_text(stmt, 1, upload, -1, SQLITE_STATIC);
        rc = dn_db_step_txn(db, stmt);
    }
    sqlite3_finalize(stmt);
    return rc;
}

/*  Drops upload in a transaction of its own, after a refusal: the whole
    file is refused, and the client starts again from part 1.  */
static int s_refuse(sqlite3 *db, const char *upload, int rc)
{
    dn_db_rollback(db);
    if (dn_db_begin(db) == 0) {
        if (s_unstage(db, upload) == 0 && dn_db_commit(db) == 0)
            return rc;
        dn_db_rollback(db);
    }
    return rc;
}

/*  Checks and stages the rows of one part.  */
static int s_stage(sqlite3 *db, const char *upload, const dn_csv_t *csv, int64_t first_line,
                   int64_t now_ms, char *why, size_t why_size)
{
    sqlite3_stmt *ins = NULL, *dup = NULL;
    int at[C_COUNT], rc;
    /* the file's line of a part's line: the part's first row after the
       header is the file's first_line */
    int64_t shift = csv->n_rows > 1 ? first_line - csv->rows[1].line : 0;

    if ((rc = s_header(&csv->rows[0], at, 1, why, why_size)) != 0)
        return rc;
    rc = dn_db_prepare(db,
                       "INSERT INTO catalog_staged(upload, line, sku, partner, effective_ms, "
                       "name, category, price, fixed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                       "ON CONFLICT DO NOTHING",
                       &ins);
    if (rc == 0)
        rc = dn_db_prepare(db,
                           "SELECT line FROM catalog_staged WHERE upload = ? AND sku = ? AND "
                           "partner = ? AND effective_ms = ?",
                           &dup);
    for (size_t r = 1; rc == 0 && r < csv->n_rows; r++) {
        const dn_csv_row_t *src = &csv->rows[r];
        int64_t line = src->line + shift, other = 0;
        dn_catalog_text_t text = {
            s_field(src, at, C_SKU),     s_field(src, at, C_NAME),
            s_field(src, at, C_CATEGORY), s_field(src, at, C_PRICE),
            s_field(src, at, C_EFFECTIVE), s_field(src, at, C_PARTNER),
            s_field(src, at, C_FIXED)};
        dn_catalog_row_t row;
        char reason[DN_WHY_SIZE * 2];
        const char *column;

        if (src->n_fields != csv->rows[0].n_fields) {
            rc = dn_why(why, why_size, DN_EPARSE,
                        _("line %lld: %zu fields where the header has %zu"),
                        (long long)line, src->n_fields, csv->rows[0].n_fields);
            break;
        }
        /* an import never defaults the day: the same file imported on
           another day must be the same rows */
        if (!text.effective || !*text.effective) {
            rc = dn_why(
                why, why_size, DN_EPARSE,
                _("line %lld, effective: empty; every row needs its day (YYYY-MM-DD)"),
                (long long)line);
            break;
        }
        rc = dn_catalog_parse(db, &text, now_ms, &row, reason, sizeof reason);
        if (rc == DN_EDB || rc == DN_ENOMEM)
            break;
        if (rc == DN_ENOENT && s_empty(text.partner)) { /* no plan: not the row's fault */
            rc = dn_why(why, why_size, rc, "%s", reason);
            break;
        }
        if (rc) {
            column = s_reason_column(&text, rc, reason);
            /* the column is found by the reason's first word, which is its
               name in English; a reason in another language names no column */
            if (column)
                rc = dn_why(why, why_size, DN_EPARSE, _("line %lld, %s: %s"),
                            (long long)line, column, reason);
            else
                rc = dn_why(why, why_size, DN_EPARSE, _("line %lld: %s"), (long long)line,
                            reason);
            break;
        }
        sqlite3_reset(ins);
        sqlite3_bind_text(ins, 1, upload, -1, SQLITE_STATIC);
        sqlite3_bind_int64(ins, 2, line);
        sqlite3_bind_text(ins, 3, row.sku, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(ins, 4, row.partner, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(ins, 5, row.effective_ms);
        sqlite3_bind_text(ins, 6, row.name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(ins, 7, row.category, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(ins, 8, row.price);
        sqlite3_bind_int(ins, 9, row.fixed);
        if ((rc = dn_db_step_txn(db, ins)) != 0)
            break;
        if (sqlite3_changes(db) == 1)
            continue;
        /* the key was staged already: one row per SKU, list and day */
        sqlite3_reset(dup);
        sqlite3_bind_text(dup, 1, upload, -1, SQLITE_STATIC);
        sqlite3_bind_text(dup, 2, row.sku, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(dup, 3, row.partner, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(dup, 4, row.effective_ms);
        if (dn_db_row(dup, "catalog staged") == 1)
            other = sqlite3_column_int64(dup, 0);
        rc = dn_why(why, why_size, DN_EPARSE,
                    _("line %lld, sku: %s is on line %lld already, for the same list and "
                      "effective day"),
                    (long long)line, row.sku, (long long)other);
    }
    sqlite3_finalize(ins);
    sqlite3_finalize(dup);
    return rc;
}

/*  Stores every staged row of upload in the catalogue, in line order.  */
static int s_commit_upload(sqlite3 *db, const char *upload, int64_t now_ms, int64_t *rows,
                           int64_t *changed, uint64_t *version)
{
    sqlite3_stmt *stmt = NULL;
    uint64_t next, row_version;
    int rc, step, one;

    *rows = *changed = 0;
    if ((rc = dn_catalog_head(db, &next)) != 0)
        return rc;
    next++;
    rc = dn_db_prepare(db,
                       "SELECT sku, name, category, price, effective_ms, partner, fixed "
                       "FROM catalog_staged WHERE upload = ? ORDER BY line",
                       &stmt);
    if (rc)
        return rc;
    sqlite3_bind_text(stmt, 1, upload, -1, SQLITE_STATIC);
    while ((step = dn_db_row(stmt, "catalog staged")) == 1) {
        dn_catalog_row_t row;
        memset(&row, 0, sizeof row);
        if (dn_db_column_copy(stmt, 0, row.sku, sizeof row.sku) ||
            dn_db_column_copy(stmt, 1, row.name, sizeof row.name) ||
            dn_db_column_copy(stmt, 2, row.category, sizeof row.category) ||
            dn_db_column_copy(stmt, 5, row.partner, sizeof row.partner)) {
            rc = DN_ENOMEM;
            break;
        }
        row.price = sqlite3_column_int64(stmt, 3);
        row.effective_ms = sqlite3_column_int64(stmt, 4);
        row.fixed = sqlite3_column_int(stmt, 6);
        if ((rc = s_put(db, &row, now_ms, &next, &row_version, &one)) != 0)
            break;
        (*rows)++;
        *changed += one;
    }
    sqlite3_finalize(stmt);
    if (rc == 0 && step < 0)
        rc = DN_EDB;
    *version = next - 1;
    return rc;
}

int dn_catalog_import_part(sqlite3 *db, const char *upload, int64_t part, int last,
                           int64_t first_line, const char *text, int64_t now_ms,
                           json_t **result, char *why, size_t why_size)
{
    dn_csv_t csv = {0};
    dn_csv_error_t err;
    sqlite3_stmt *stmt = NULL;
    int64_t staged = 0, parts = 0, rows = 0, changed = 0;
    uint64_t version = 0;
    int rc;

    *result = NULL;
    if ((rc = dn_db_begin(db)) != 0)
        return rc;
    if (part == 1) {
        /* one import at a time: an unfinished one was abandoned */
        if ((rc = s_unstage(db, NULL)) != 0)
            return dn_db_abort(db, NULL, rc);
        rc = dn_db_prepare(db,
                           "INSERT INTO catalog_uploads(upload, parts, started_ms) "
                           "VALUES (?, 0, ?)",
                           &stmt);
        if (rc)
            return dn_db_abort(db, NULL, rc);
        sqlite3_bind_text(stmt, 1, upload, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 2, now_ms);
        if ((rc = dn_db_step_txn(db, stmt)) != 0)
            return dn_db_abort(db, stmt, rc);
        sqlite3_finalize(stmt);
    }
    rc = dn_db_prepare(db, "SELECT parts FROM catalog_uploads WHERE upload = ?", &stmt);
    if (rc)
        return dn_db_abort(db, NULL, rc);
    sqlite3_bind_text(stmt, 1, upload, -1, SQLITE_STATIC);
    rc = dn_db_int_row(stmt, "catalog upload", &parts);
    if (rc < 0)
        return dn_db_abort(db, NULL, rc);
    if (rc == 0) {
        dn_db_rollback(db);
        return dn_why(why, why_size, DN_EINVAL,
                      _("import %.40s is not under way (another import started since?): "
                        "import the file again"),
                      upload);
    }
    if (parts != part - 1)
        return s_refuse(
            db, upload,
            dn_why(why, why_size, DN_EINVAL,
                   _("import %.40s: part %lld came after part %lld: import the "
                     "file again"),
                   upload, (long long)part, (long long)parts));

    rc = dn_csv_parse(text, strlen(text), DN_CATALOG_MAX_ROWS + 1, &csv, &err);
    if (rc == DN_ENOMEM)
        return s_refuse(db, upload, rc);
    if (rc == DN_ELIMIT)
        rc = dn_why(why, why_size, DN_EPARSE, _("the file has more than %d rows"),
                    DN_CATALOG_MAX_ROWS);
    else if (rc)
        rc = dn_why(why, why_size, DN_EPARSE, _("line %ld, column %ld: %s"),
                    err.line + (long)(first_line - 2), err.column, err.why);
    else if (csv.n_rows == 0)
        rc = dn_why(why, why_size, DN_EPARSE,
                    _("the file is empty: it needs a header row (sku, name, category, "
                      "price, effective, and optionally partner, fixed)"));
    if (rc == 0)
        rc = s_stage(db, upload, &csv, first_line, now_ms, why, why_size);
    if (rc == 0) {
        staged = (int64_t)csv.n_rows - 1;
        rc = dn_db_prepare(db,
                           "UPDATE catalog_uploads SET parts = parts + 1 WHERE upload = ?",
                           &stmt);
        if (rc == 0) {
            sqlite3_bind_text(stmt, 1, upload, -1, SQLITE_STATIC);
            rc = dn_db_step_txn(db, stmt);
            sqlite3_finalize(stmt);
        }
    }
    dn_csv_free(&csv);
    if (rc == 0) {
        rc = dn_db_prepare(db, "SELECT count(*) FROM catalog_staged WHERE upload = ?", &stmt);
        if (rc == 0) {
            sqlite3_bind_text(stmt, 1, upload, -1, SQLITE_STATIC);
            rc = dn_db_int_row(stmt, "catalog staged", &staged) < 0 ? DN_EDB : 0;
        }
    }
    if (rc == 0 && staged > DN_CATALOG_MAX_ROWS)
        rc = dn_why(why, why_size, DN_EPARSE, _("the file has more than %d rows"),
                    DN_CATALOG_MAX_ROWS);
    if (rc == 0 && last) {
        rc = s_commit_upload(db, upload, now_ms, &rows, &changed, &version);
        if (rc == 0)
            rc = s_unstage(db, upload);
    }
    if (rc == 0)
        rc = dn_db_commit(db);
    if (rc)
        return s_refuse(db, upload, rc);
    if (last) {
        dn_log_info("catalog import %s: %lld rows, %lld changed, catalogue version %llu",
                    upload, (long long)rows, (long long)changed, (unsigned long long)version);
        *result = json_pack("{s:I, s:I, s:I, s:I}", "rows", (json_int_t)rows, "changed",
                            (json_int_t)changed, "unchanged", (json_int_t)(rows - changed),
                            "version", (json_int_t)version);
    } else {
        *result = json_pack("{s:I}", "rows", (json_int_t)staged);
    }
    return *result ? 0 : DN_ENOMEM;
}
