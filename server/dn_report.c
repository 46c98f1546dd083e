/*  dn_report -- the reports HQ reads (see dn_report.h).

    The reports are read-only SQL over the event rows, the rollups
    (dn_rollup, kept at ingest) and the ledger's transfers; each builds a
    JSON array of flat objects.
*/
#include "dn_report.h"
#include "dn_account.h"
#include "dn_array.h"
#include "dn_db.h"
#include "dn_error.h"
#include "dn_facts.h"
#include "dn_i18n.h"
#include "dn_log.h"
#include "dn_money.h"
#include "dn_phones.h"
#include "dn_plan.h"
#include "dn_registry.h"
#include "dn_time.h"
#include "dn_tree.h"
#include "dn_valid.h"
#include "dn_wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DN_REPORT_MAX_DEPTH  100    /* levels of a referral tree shown */
#define DN_REPORT_MAX_ROWS   100000 /* rows of a referral tree shown */

/* -- shared by the reports ----------------------------------------------------- */

static int s_exponent(const char *currency)
{
    int exponent = dn_money_exponent(currency);
    return exponent >= 0 ? exponent : 0;
}

static json_t *s_money(int64_t minor, const char *currency)
{
    char text[DN_MONEY_TEXT_SIZE];
    dn_money_format(minor, s_exponent(currency), text, sizeof text);
    return json_string(text);
}

static json_t *s_text(sqlite3_stmt *stmt, int col)
{
    if (sqlite3_column_type(stmt, col) == SQLITE_NULL)
        return json_null();
    return json_string((const char *)sqlite3_column_text(stmt, col));
}

static json_t *s_time(sqlite3_stmt *stmt, int col)
{
    char text[DN_TIME_TEXT_SIZE];
    if (sqlite3_column_type(stmt, col) == SQLITE_NULL)
        return json_null();
    dn_time_format(sqlite3_column_int64(stmt, col), text);
    return json_string(text);
}

/*  Appends obj (a new reference, may be NULL) to list; DN_ENOMEM when it
    cannot.  */
static int s_append(json_t *list, json_t *obj)
{
    if (!obj)
        return DN_ENOMEM;
    return json_array_append_new(list, obj) == 0 ? 0 : DN_ENOMEM;
}

/*  The report currency: the ledger's, else the first sale's; "" when
    there is neither.  */
static int s_report_currency(sqlite3 *db, char currency[4])
{
    sqlite3_stmt *stmt;
    int exponent, rc = dn_plan_currency(db, currency, &exponent);
    if (rc != DN_ENOENT)
        return rc;
    currency[0] = '\0';
    if (dn_db_prepare(db, "SELECT currency FROM sales ORDER BY eid LIMIT 1", &stmt))
        return DN_EDB;
    rc = dn_db_row(stmt, "report: currency");
    if (rc == 1)
        rc = dn_db_column_copy(stmt, 0, currency, 4);
    sqlite3_finalize(stmt);
    return rc < 0 ? rc : 0;
}

static json_t *s_currency_json(const char *currency)
{
    return currency[0] ? json_string(currency) : json_null();
}

/* -- sales ------------------------------------------------------------------------- */

static const char *const s_by_names[] = {"month",   "partner", "site",
                                         "channel", "day",     "category"};

int dn_report_by_parse(const char *text, dn_report_by_t *by)
{
    for (size_t i = 0; text && i < sizeof s_by_names / sizeof s_by_names[0]; i++) {
        if (strcmp(text, s_by_names[i]) == 0) {
            *by = (dn_report_by_t)i;
            return 0;
        }
    }
    return DN_EINVAL;
}

/*  The group key and its order, for rows whose time is the column when:
    sales (s.recorded_at_ms), refunds (e.recorded_at_ms, the refund's own
    time) and voids (v.created_ms, the void's time).  */
static void s_key_sql(dn_report_by_t by, const char *when, char *key, size_t key_size,
                      const char **ord)
{
    static const char *const channel_key =
        "CASE s.channel WHEN 1 THEN 'store' WHEN 2 THEN 'online' "
        "WHEN 3 THEN 'community' ELSE 'unspecified' END";
    static const char *const channel_ord =
        "CASE s.channel WHEN 1 THEN 1 WHEN 2 THEN 2 WHEN 3 THEN 3 ELSE 4 END";
    *ord = "0";
    switch (by) {
    case DN_REPORT_BY_PARTNER:
        snprintf(key, key_size, "s.seller");
        break;
    case DN_REPORT_BY_SITE:
        snprintf(key, key_size, "st.code");
        break;
    case DN_REPORT_BY_CHANNEL:
        snprintf(key, key_size, "%s", channel_key);
        *ord = channel_ord;
        break;
    case DN_REPORT_BY_DAY:
        snprintf(key, key_size, "dn_day(%s)", when); /* the zone's days (dn_db) */
        break;
    case DN_REPORT_BY_CATEGORY: /* see s_sales_sql */
    case DN_REPORT_BY_MONTH:
    default:
        snprintf(key, key_size, "dn_period(%s)", when); /* the ledger's months */
        break;
    }
}

/*  A refund r of a sale voided before it was stored counts nowhere (the
    void counted the whole sale); a void v counts as one refund of what
    the sale's earlier refunds had left (v.amount), on its own day.  */
#define S_NOT_AFTER_VOID                                                                 \
    " AND NOT EXISTS (SELECT 1 FROM corrections v WHERE v.kind = 'void'"                 \
    " AND v.sale_eid = r.sale_eid AND v.events_through < r.eid)"

/*  Builds the grouping query into sql.  ?1 .. ?2 the time range, ?3 the
    seller or NULL.  Rows: key, currency, sales, total, refunds, refunded.
    Without bounds (all) the sales are scanned rather than read through the
    time index ("+" hides it from the planner); refunds and voids always
    drive their joins (CROSS JOIN keeps the order), never a scan of the
    events or the sales.  */
static void s_sales_sql(dn_report_by_t by, int all, char *sql, size_t size)
{
    const char *when = all ? "+s.recorded_at_ms" : "s.recorded_at_ms";
    static const char *const tail =
        ") SELECT k, currency, sum(n), sum(total), sum(r), sum(refunded) FROM f "
        "GROUP BY ord, k, currency ORDER BY ord, k, currency";
    char skey[256], rkey[256], vkey[256];
    const char *sord, *rord, *vord;

    if (by == DN_REPORT_BY_CATEGORY) {
        snprintf(
            sql, size,
            "WITH f(k, ord, currency, n, total, r, refunded) AS ("
            "SELECT coalesce(l.category, ''), 0, s.currency, count(DISTINCT s.eid), "
            "  sum(l.quantity * l.unit_price), 0, 0 "
            "FROM sales s JOIN sale_lines l ON l.sale_eid = s.eid "
            "WHERE %s BETWEEN ?1 AND ?2 AND (?3 IS NULL OR s.seller = ?3) AND s.held = 0 "
            "GROUP BY 1, s.currency "
            "UNION ALL "
            "SELECT c.category, 0, s.currency, 0, 0, 1, c.amount "
            "FROM refund_categories c CROSS JOIN events e ON e.eid = c.refund_eid "
            "JOIN sales s ON s.eid = c.sale_eid "
            "WHERE e.recorded_at_ms BETWEEN ?1 AND ?2 AND (?3 IS NULL OR s.seller = ?3) "
            "AND s.held = 0 "
            /* a void: what each category had left after the refunds before
               it (the only ones split: those after it are not) */
            "UNION ALL "
            "SELECT k, 0, currency, 0, 0, 1, amount FROM ("
            "  SELECT coalesce(l.category, '') AS k, s.currency AS currency, "
            "  sum(l.quantity * l.unit_price) - (SELECT coalesce(sum(c.amount), 0) "
            "    FROM refund_categories c WHERE c.sale_eid = s.eid "
            "    AND c.category = coalesce(l.category, '')) AS amount "
            "  FROM corrections v CROSS JOIN sales s ON s.eid = v.sale_eid "
            "  JOIN sale_lines l ON l.sale_eid = s.eid "
            "  WHERE v.kind = 'void' AND v.created_ms BETWEEN ?1 AND ?2 AND s.held = 0 "
            "  AND (?3 IS NULL OR s.seller = ?3) GROUP BY v.id, 1) WHERE amount > 0"
            "%s",
            when, tail);
        return;
    }
    s_key_sql(by, "s.recorded_at_ms", skey, sizeof skey, &sord);
    s_key_sql(by, "e.recorded_at_ms", rkey, sizeof rkey, &rord);
    s_key_sql(by, "v.created_ms", vkey, sizeof vkey, &vord);
    snprintf(sql, size,
             "WITH f(k, ord, currency, n, total, r, refunded) AS ("
             "SELECT %s, %s, s.currency, 1, s.total, 0, 0 "
             "FROM sales s JOIN sites st ON st.id = s.site_id "
             "WHERE %s BETWEEN ?1 AND ?2 AND (?3 IS NULL OR s.seller = ?3) AND s.held = 0 "
             "UNION ALL "
             "SELECT %s, %s, s.currency, 0, 0, 1, r.amount "
             "FROM refunds r CROSS JOIN events e ON e.eid = r.eid "
             "JOIN sales s ON s.eid = r.sale_eid JOIN sites st ON st.id = s.site_id "
             "WHERE e.recorded_at_ms BETWEEN ?1 AND ?2 AND (?3 IS NULL OR s.seller = "
             "?3) AND s.held = 0" S_NOT_AFTER_VOID " "
             "UNION ALL "
             "SELECT %s, %s, s.currency, 0, 0, 1, v.amount "
             "FROM corrections v CROSS JOIN sales s ON s.eid = v.sale_eid "
             "JOIN sites st ON st.id = s.site_id "
             "WHERE v.kind = 'void' AND v.amount > 0 AND v.created_ms BETWEEN ?1 AND ?2 "
             "AND (?3 IS NULL OR s.seller = ?3) AND s.held = 0"
             "%s",
             skey, sord, when, rkey, rord, vkey, vord, tail);
}

/*  One row of a sales report.  */
static json_t *s_sales_row(const char *key_name, json_t *key, const char *partner,
                           const char *currency, int64_t sales, int64_t total,
                           int64_t refunds, int64_t refunded)
{
    json_t *row = json_object();
    if (!row || !key) {
        json_decref(row);
        json_decref(key);
        return NULL;
    }
    json_object_set_new(row, key_name, key);
    if (partner)
        json_object_set_new(row, "partner", json_string(partner));
    json_object_set_new(row, "currency", json_string(currency));
    json_object_set_new(row, "sales", json_integer(sales));
    json_object_set_new(row, "total", s_money(total, currency));
    json_object_set_new(row, "total_minor", json_integer(total));
    json_object_set_new(row, "refunds", json_integer(refunds));
    json_object_set_new(row, "refunded", s_money(refunded, currency));
    json_object_set_new(row, "refunded_minor", json_integer(refunded));
    json_object_set_new(row, "net", s_money(total - refunded, currency));
    json_object_set_new(row, "net_minor", json_integer(total - refunded));
    return row;
}

/*  The months of q's range, first and last, for the rollup's periods.  */
static void s_team_months(const dn_report_sales_t *q, char from[DN_PERIOD_SIZE],
                          char to[DN_PERIOD_SIZE])
{
    snprintf(from, DN_PERIOD_SIZE, "0000-00");
    snprintf(to, DN_PERIOD_SIZE, "9999-99");
    if (q->from_ms > 0)
        dn_time_period_of(q->from_ms, from);
    if (q->to_ms < INT64_MAX)
        dn_time_period_of(q->to_ms, to);
}

/*  A partner's team volume, by month, from the rollup.  */
static int s_team(sqlite3 *db, const dn_registry_partner_t *p, const dn_report_sales_t *q,
                  json_t *list)
{
    char from[DN_PERIOD_SIZE], to[DN_PERIOD_SIZE];
    sqlite3_stmt *stmt;
    int rc = 0;

    s_team_months(q, from, to);
    if (dn_db_prepare(db,
                      "SELECT period, currency, sales, total, refunds, refunded "
                      "FROM team_volume WHERE partner_id = ? AND period BETWEEN ? AND ? "
                      "ORDER BY period, currency",
                      &stmt))
        return DN_EDB;
    sqlite3_bind_int64(stmt, 1, p->id);
    sqlite3_bind_text(stmt, 2, from, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 3, to, -1, SQLITE_STATIC);
    while (rc == 0 && (rc = dn_db_row(stmt, "report: team volume")) == 1) {
        const char *currency = (const char *)sqlite3_column_text(stmt, 1);
        rc = s_append(list, s_sales_row("month", s_text(stmt, 0), p->code, currency,
                                        sqlite3_column_int64(stmt, 2),
                                        sqlite3_column_int64(stmt, 3),
                                        sqlite3_column_int64(stmt, 4),
                                        sqlite3_column_int64(stmt, 5)));
    }
    sqlite3_finalize(stmt);
    return rc < 0 ? rc : 0; /* a month cut short is a wrong figure */
}

/*  Every partner's team volume over the months of q's range, one row per
    partner and currency, from the rollup: the months' rows summed.  */
static int s_teams(sqlite3 *db, const dn_report_sales_t *q, json_t *list)
{
    char from[DN_PERIOD_SIZE], to[DN_PERIOD_SIZE];
    sqlite3_stmt *stmt;
    int rc = 0;

    s_team_months(q, from, to);
    if (dn_db_prepare(db,
                      "SELECT p.code, t.currency, sum(t.sales), sum(t.total), "
                      "sum(t.refunds), sum(t.refunded) FROM team_volume t "
                      "JOIN partners p ON p.id = t.partner_id "
                      "WHERE t.period BETWEEN ? AND ? "
                      "GROUP BY p.code, t.currency ORDER BY p.code, t.currency",
                      &stmt))
        return DN_EDB;
    sqlite3_bind_text(stmt, 1, from, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, to, -1, SQLITE_STATIC);
    while (rc == 0 && (rc = dn_db_row(stmt, "report: team volumes")) == 1) {
        const char *currency = (const char *)sqlite3_column_text(stmt, 1);
        rc = s_append(list, s_sales_row("partner", s_text(stmt, 0), NULL, currency,
                                        sqlite3_column_int64(stmt, 2),
                                        sqlite3_column_int64(stmt, 3),
                                        sqlite3_column_int64(stmt, 4),
                                        sqlite3_column_int64(stmt, 5)));
    }
    sqlite3_finalize(stmt);
    return rc < 0 ? rc : 0; /* a partner left out is a wrong listing */
}

int dn_report_sales(sqlite3 *db, const dn_report_sales_t *q, json_t **out, char *why,
                    size_t why_size)
{
    dn_registry_partner_t p;
    sqlite3_stmt *stmt;
    char sql[4096];
    json_t *list;
    int rc = 0, step;

    *out = NULL;
    /* every partner's team: the one read the dashboard's overview makes */
    if (q->team && q->by == DN_REPORT_BY_PARTNER) {
        if (q->partner)
            return dn_why(
                why, why_size, DN_EINVAL,
                _("--team --by partner lists every partner's team: leave out --partner"));
        if (q->from_ms > q->to_ms)
            return dn_why(why, why_size, DN_EINVAL, _("--from is after --to"));
        if (!(list = json_array()))
            return DN_ENOMEM;
        if ((rc = s_teams(db, q, list)) != 0)
            json_decref(list);
        else
            *out = list;
        return rc;
    }
    if (q->team && !q->partner)
        return dn_why(why, why_size, DN_EINVAL,
                      _("--team needs --partner CODE: the partner whose team it is"));
    if (q->team && q->by != DN_REPORT_BY_MONTH)
        return dn_why(
            why, why_size, DN_EINVAL,
            _("team volume is kept by month: --team goes with --by month (or with --by "
              "partner, for every partner)"));
    if (q->from_ms > q->to_ms)
        return dn_why(why, why_size, DN_EINVAL, _("--from is after --to"));
    if (q->partner) {
        rc = dn_registry_partner_get(db, q->partner, &p);
        if (rc == DN_ENOENT)
            return dn_why(why, why_size, rc, _("partner %s does not exist"), q->partner);
        if (rc)
            return rc;
    }
    if (!(list = json_array()))
        return DN_ENOMEM;
    if (q->team) {
        rc = s_team(db, &p, q, list);
        if (rc)
            json_decref(list);
        else
            *out = list;
        return rc;
    }

    s_sales_sql(q->by, q->from_ms == INT64_MIN && q->to_ms == INT64_MAX, sql, sizeof sql);
    if (dn_db_prepare(db, sql, &stmt)) {
        json_decref(list);
        return DN_EDB;
    }
    sqlite3_bind_int64(stmt, 1, q->from_ms);
    sqlite3_bind_int64(stmt, 2, q->to_ms);
    if (q->partner)
        sqlite3_bind_text(stmt, 3, q->partner, -1, SQLITE_STATIC);
    while (rc == 0 && (step = dn_db_row(stmt, "report: sales")) == 1) {
        const char *key = (const char *)sqlite3_column_text(stmt, 0);
        json_t *key_json = q->by == DN_REPORT_BY_CATEGORY && key[0] == '\0'
                               ? json_null()
                               : json_string(key);
        rc = s_append(list, s_sales_row(s_by_names[q->by], key_json, NULL,
                                        (const char *)sqlite3_column_text(stmt, 1),
                                        sqlite3_column_int64(stmt, 2),
                                        sqlite3_column_int64(stmt, 3),
                                        sqlite3_column_int64(stmt, 4),
                                        sqlite3_column_int64(stmt, 5)));
    }
    if (rc == 0 && step < 0) /* e.g. an integer overflow of sum() */
        rc = DN_EDB;
    sqlite3_finalize(stmt);
    if (rc) {
        json_decref(list);
        return rc;
    }
    *out = list;
    return 0;
}

/* -- kpi --------------------------------------------------------------------------- */

/*  ?1 .. ?2 the period, ?3 the report currency, ?4 the partner or NULL.  */
static const char s_kpi_sql[] =
    "WITH home(phone, partner_id, signed_up_ms) AS ("
    "  SELECT m.phone, coalesce(rp.id, st.partner_id), m.signed_up_ms"
    "  FROM members m JOIN sites st ON st.id = m.site_id"
    "  JOIN events ev ON ev.eid = m.signup_eid"
    "  LEFT JOIN partners rp ON rp.code = m.referrer_partner"
    "    AND rp.created_ms <= ev.received_ms),"
    " buys(phone, n, amount) AS ("
    "  SELECT member_phone, count(*), sum(CASE WHEN currency = ?3 THEN total ELSE 0 END)"
    "  FROM sales WHERE member_phone IS NOT NULL AND held = 0"
    "  AND recorded_at_ms BETWEEN ?1 AND ?2"
    "  GROUP BY member_phone),"
    " refs(phone) AS ("
    "  SELECT DISTINCT referrer_phone FROM members"
    "  WHERE referrer_phone IS NOT NULL AND signed_up_ms BETWEEN ?1 AND ?2),"
    " agg(partner_id, fresh, active, repeat, referrers, purchases, amount) AS ("
    "  SELECT h.partner_id, sum(h.signed_up_ms BETWEEN ?1 AND ?2),"
    "    sum(coalesce(b.n, 0) >= 1), sum(coalesce(b.n, 0) >= 2),"
    "    sum(r.phone IS NOT NULL),"
    "    sum(coalesce(b.n, 0)), sum(coalesce(b.amount, 0))"
    "  FROM home h LEFT JOIN buys b ON b.phone = h.phone"
    "  LEFT JOIN refs r ON r.phone = h.phone GROUP BY h.partner_id) "
    "SELECT p.code, coalesce(a.fresh, 0), coalesce(a.active, 0), coalesce(a.repeat, 0),"
    "  coalesce(a.referrers, 0), coalesce(a.purchases, 0), coalesce(a.amount, 0) "
    "FROM partners p LEFT JOIN agg a ON a.partner_id = p.id "
    "WHERE ?4 IS NULL OR p.code = ?4 ORDER BY p.code";

int dn_report_period(const char *period, int64_t now_ms, char p[DN_PERIOD_SIZE],
                     int64_t *from_ms, int64_t *to_ms, char *why, size_t why_size)
{
    if (period)
        snprintf(p, DN_PERIOD_SIZE, "%.7s", period);
    else
        dn_time_period_of(now_ms, p);
    if (dn_time_parse_period(period ? period : p, from_ms, to_ms))
        return dn_why(why, why_size, DN_EINVAL,
                      _("period '%.40s' is not a month (YYYY-MM)"), period ? period : p);
    return 0;
}

int dn_report_kpi(sqlite3 *db, const char *partner, const char *period, int64_t now_ms,
                  json_t **out, char *why, size_t why_size)
{
    char p[DN_PERIOD_SIZE], currency[4];
    int64_t from_ms, to_ms, all = 0;
    sqlite3_stmt *stmt;
    json_t *list;
    int rc;

    *out = NULL;
    if ((rc = dn_report_period(period, now_ms, p, &from_ms, &to_ms, why, why_size)) != 0)
        return rc;
    to_ms -= 1; /* BETWEEN takes its ends */
    if (partner) {
        dn_registry_partner_t found;
        rc = dn_registry_partner_get(db, partner, &found);
        if (rc == DN_ENOENT)
            return dn_why(why, why_size, rc, _("partner %s does not exist"), partner);
        if (rc)
            return rc;
    }
    if ((rc = s_report_currency(db, currency)) != 0)
        return rc;

    if (dn_db_prepare(db,
                      "SELECT coalesce(sum(total), 0) FROM sales "
                      "WHERE recorded_at_ms BETWEEN ? AND ? AND currency = ? AND held = 0",
                      &stmt))
        return DN_EDB;
    sqlite3_bind_int64(stmt, 1, from_ms);
    sqlite3_bind_int64(stmt, 2, to_ms);
    sqlite3_bind_text(stmt, 3, currency, -1, SQLITE_STATIC);
    rc = dn_db_row(stmt, "kpi: all sales") == 1 ? 0 : DN_EDB;
    if (rc == 0)
        all = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    if (rc)
        return rc;

    if (!(list = json_array()))
        return DN_ENOMEM;
    if (dn_db_prepare(db, s_kpi_sql, &stmt)) {
        json_decref(list);
        return DN_EDB;
    }
    sqlite3_bind_int64(stmt, 1, from_ms);
    sqlite3_bind_int64(stmt, 2, to_ms);
    sqlite3_bind_text(stmt, 3, currency, -1, SQLITE_STATIC);
    if (partner)
        sqlite3_bind_text(stmt, 4, partner, -1, SQLITE_STATIC);
    while (rc == 0 && (rc = dn_db_row(stmt, "kpi")) == 1) {
        int64_t amount = sqlite3_column_int64(stmt, 6), bps = 0;
        rc = 0;
        char share[DN_MONEY_TEXT_SIZE];
        if (all > 0 && dn_money_muldiv(amount, DN_BPS_ONE, all, &bps))
            rc = DN_EDB;
        dn_money_format(bps, 2, share, sizeof share);
        if (rc == 0)
            rc = s_append(
                list,
                json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:o, s:I, s:s, s:o}",
                          "partner",
                          (const char *)sqlite3_column_text(stmt, 0), "period", p,
                          "new_members", (json_int_t)sqlite3_column_int64(stmt, 1),
                          "active_members", (json_int_t)sqlite3_column_int64(stmt, 2),
                          "repeat_buyers", (json_int_t)sqlite3_column_int64(stmt, 3),
                          "referrers", (json_int_t)sqlite3_column_int64(stmt, 4),
                          "purchases", (json_int_t)sqlite3_column_int64(stmt, 5), "sales",
                          s_money(amount, currency), "sales_minor", (json_int_t)amount,
                          "share", share, "currency",
                          s_currency_json(currency)));
    }
    sqlite3_finalize(stmt);
    if (rc) { /* DN_EDB too: a list cut short is not the list */
        json_decref(list);
        return rc;
    }
    *out = list;
    return 0;
}

/* -- referrals --------------------------------------------------------------------- */

/*  Net referral rewards by account name: referral transfers credited to
    the account, less what reverses them (clawbacks, and a void's
    adjustments).  */
#define S_REWARDS_CTE                                                                    \
    "rewards(account, amount) AS ("                                                      \
    "  SELECT credit, amount FROM transfers WHERE code = 'referral'"                     \
    "  UNION ALL"                                                                        \
    "  SELECT c.debit, -c.amount FROM transfers c JOIN transfers o ON o.id = c.reverses" \
    "  WHERE c.code IN ('clawback', 'adjustment') AND o.code = 'referral'),"             \
    " by_name(name, amount) AS ("                                                        \
    "  SELECT a.name, sum(r.amount) FROM rewards r JOIN accounts a ON a.id = r.account"  \
    "  GROUP BY a.name)"

/*  ?1 the report currency, ?2 the limit.  */
static const char s_top_sql[] =
    "WITH referred(who, kind, phone) AS ("
    "  SELECT referrer_phone, 'member', phone FROM members"
    "  WHERE referrer_phone IS NOT NULL"
    "  UNION ALL"
    "  SELECT referrer_partner, 'partner', phone FROM members"
    "  WHERE referrer_phone IS NULL AND referrer_partner IS NOT NULL),"
    " buys(phone, n, amount) AS ("
    "  SELECT member_phone, count(*), sum(CASE WHEN currency = ?1 THEN total ELSE 0 END)"
    "  FROM sales WHERE member_phone IS NOT NULL AND held = 0 GROUP BY member_phone),"
    " top(who, kind, n, purchases, amount) AS ("
    "  SELECT d.who, d.kind, count(*), coalesce(sum(b.n), 0), coalesce(sum(b.amount), 0)"
    "  FROM referred d LEFT JOIN buys b ON b.phone = d.phone"
    "  GROUP BY d.kind, d.who)," S_REWARDS_CTE " "
    "SELECT t.who, t.kind, CASE t.kind WHEN 'member' THEN"
    "  (SELECT name FROM members WHERE phone = t.who) ELSE"
    "  (SELECT name FROM partners WHERE code = t.who) END,"
    "  t.n, t.purchases, t.amount, coalesce(w.amount, 0) AS rewards "
    "FROM top t LEFT JOIN by_name w ON w.name = t.kind || ':' || t.who "
    "ORDER BY t.n DESC, rewards DESC, t.who LIMIT ?2";

static int s_top(sqlite3 *db, int top, const char *currency, json_t *list)
{
    sqlite3_stmt *stmt;
    int rc = 0;
    if (dn_db_prepare(db, s_top_sql, &stmt))
        return DN_EDB;
    sqlite3_bind_text(stmt, 1, currency, -1, SQLITE_STATIC);
    sqlite3_bind_int(stmt, 2, top);
    while (rc == 0 && (rc = dn_db_row(stmt, "referrals")) == 1)
        rc = s_append(
            list,
            json_pack("{s:s, s:s, s:o, s:I, s:I, s:o, s:I, s:o, s:I, s:o}", "referrer",
                      (const char *)sqlite3_column_text(stmt, 0), "kind",
                      (const char *)sqlite3_column_text(stmt, 1), "name", s_text(stmt, 2),
                      "referred", (json_int_t)sqlite3_column_int64(stmt, 3), "purchases",
                      (json_int_t)sqlite3_column_int64(stmt, 4), "purchases_total",
                      s_money(sqlite3_column_int64(stmt, 5), currency),
                      "purchases_total_minor", (json_int_t)sqlite3_column_int64(stmt, 5),
                      "rewards", s_money(sqlite3_column_int64(stmt, 6), currency),
                      "rewards_minor", (json_int_t)sqlite3_column_int64(stmt, 6), "currency",
                      s_currency_json(currency)));
    sqlite3_finalize(stmt);
    return rc;
}

/*  What a referral tree walk shares.  */
typedef struct {
    sqlite3 *db;
    const char *currency;
    json_t *list;
    json_t *earned;  /* account name -> net rewards (integer) */
    json_t *visited; /* phone -> true */
    sqlite3_stmt *member, *children, *buys, *generated;
} s_tree_t;

static int s_tree_node(s_tree_t *t, const char *phone, int depth)
{
    char indented[2 * DN_REPORT_MAX_DEPTH + DN_PHONE_SIZE], account[DN_ACCOUNT_NAME_SIZE];
    char(*kids)[DN_PHONE_SIZE] = NULL;
    size_t n_kids = 0, cap = 0;
    int64_t purchases = 0, total = 0, generated = 0, earned;
    json_t *row;
    int rc = 0, step;

    if (json_array_size(t->list) >= DN_REPORT_MAX_ROWS)
        return DN_ETOOBIG;
    json_object_set_new(t->visited, phone, json_true());

    sqlite3_reset(t->buys);
    sqlite3_bind_text(t->buys, 1, phone, -1, SQLITE_TRANSIENT);
    if (dn_db_row(t->buys, "referrals: purchases") != 1) /* an aggregate: always a row */
        return DN_EDB;
    purchases = sqlite3_column_int64(t->buys, 0);
    total = sqlite3_column_int64(t->buys, 1);
    sqlite3_reset(t->generated);
    sqlite3_bind_text(t->generated, 1, phone, -1, SQLITE_TRANSIENT);
    if (dn_db_row(t->generated, "referrals: rewards generated") != 1)
        return DN_EDB;
    generated = sqlite3_column_int64(t->generated, 0);

    /* the children, copied before recursing (the statement is shared) */
    sqlite3_reset(t->children);
    sqlite3_bind_text(t->children, 1, phone, -1, SQLITE_TRANSIENT);
    while ((step = dn_db_row(t->children, "referrals: a member's referrals")) == 1) {
        char(*bigger)[DN_PHONE_SIZE] = dn_array_grow(kids, &cap, n_kids, sizeof *bigger, 8);
        if (!bigger || dn_db_column_copy(t->children, 0, bigger[n_kids++], DN_PHONE_SIZE)) {
            free(bigger ? bigger : kids);
            return DN_ENOMEM;
        }
        kids = bigger;
    }
    if (step < 0) { /* a referral tree with branches missing */
        free(kids);
        return DN_EDB;
    }

    sqlite3_reset(t->member);
    sqlite3_bind_text(t->member, 1, phone, -1, SQLITE_TRANSIENT);
    /* a member a referral names is always there */
    if (dn_db_row(t->member, "referrals: a member") != 1) {
        free(kids);
        return DN_EDB;
    }
    snprintf(indented, sizeof indented, "%*s%s", 2 * depth, "", phone);
    snprintf(account, sizeof account, DN_ACCOUNT_MEMBER "%s", phone);
    earned = json_integer_value(json_object_get(t->earned, account));
    row = json_pack(
        "{s:s, s:s, s:o, s:i, s:o, s:o, s:o, s:I, s:I, s:o, s:I, s:o, s:I, s:o, s:I, s:o}",
        "tree",
        indented, "phone", phone, "name", s_text(t->member, 0), "depth", depth,
        "referrer", s_text(t->member, 1), "signed_up", s_time(t->member, 2), "site",
        s_text(t->member, 3), "referred", (json_int_t)n_kids, "purchases",
        (json_int_t)purchases, "purchases_total", s_money(total, t->currency),
        "purchases_total_minor", (json_int_t)total, "earned", s_money(earned, t->currency),
        "earned_minor", (json_int_t)earned, "generated", s_money(generated, t->currency),
        "generated_minor", (json_int_t)generated, "currency",
        s_currency_json(t->currency));
    sqlite3_reset(t->member);
    rc = s_append(t->list, row);
    for (size_t i = 0; rc == 0 && i < n_kids; i++)
        if (depth + 1 <= DN_REPORT_MAX_DEPTH && !json_object_get(t->visited, kids[i]))
            rc = s_tree_node(t, kids[i], depth + 1);
    free(kids);
    return rc;
}

static int s_tree(sqlite3 *db, const char *phone, const char *currency, json_t *list,
                  char *why, size_t why_size)
{
    s_tree_t t = {.db = db, .currency = currency, .list = list};
    sqlite3_stmt *stmt = NULL;
    int rc = 0;

    if (!(t.earned = json_object()) || !(t.visited = json_object())) {
        rc = DN_ENOMEM;
        goto done;
    }
    if (dn_db_prepare(db,
                      "WITH " S_REWARDS_CTE " SELECT name, amount FROM by_name "
                      "WHERE name LIKE '" DN_ACCOUNT_MEMBER "%'",
                      &stmt) ||
        dn_db_prepare(
            db,
            "SELECT m.name, coalesce(m.referrer_phone, m.referrer_partner), "
            "m.signed_up_ms, st.code FROM members m JOIN sites st ON st.id = m.site_id "
            "WHERE m.phone = ?",
            &t.member) ||
        dn_db_prepare(db,
                      "SELECT phone FROM members WHERE referrer_phone = ? ORDER BY phone",
                      &t.children) ||
        dn_db_prepare(db,
                      "SELECT count(*), coalesce(sum(CASE WHEN currency = ?2 THEN total "
                      "ELSE 0 END), 0) FROM sales WHERE member_phone = ?1 AND held = 0",
                      &t.buys) ||
        dn_db_prepare(
            db,
            "SELECT coalesce(sum(CASE WHEN t.code = 'referral' THEN t.amount "
            "ELSE -t.amount END), 0) FROM sales s "
            "JOIN transfers t ON t.sale_eid = s.eid "
            "LEFT JOIN transfers o ON o.id = t.reverses WHERE s.member_phone = ? "
            "AND (t.code = 'referral' OR (t.code IN ('clawback', 'adjustment') AND "
            "o.code = 'referral'))",
            &t.generated)) {
        rc = DN_EDB;
        goto done;
    }
    sqlite3_bind_text(t.buys, 2, currency, -1, SQLITE_STATIC);
    while ((rc = dn_db_row(stmt, "referrals: rewards")) == 1)
        json_object_set_new(t.earned, (const char *)sqlite3_column_text(stmt, 0),
                            json_integer(sqlite3_column_int64(stmt, 1)));
    if (rc < 0)
        goto done;
    sqlite3_bind_text(t.member, 1, phone, -1, SQLITE_STATIC);
    rc = dn_db_row(t.member, "referrals: the member");
    sqlite3_reset(t.member);
    if (rc == 0)
        rc = dn_why(why, why_size, DN_ENOENT, _("no member with phone %s"), phone);
    if (rc <= 0) /* a failed read is no answer about the member */
        goto done;
    rc = s_tree_node(&t, phone, 0);
    if (rc == DN_ETOOBIG)
        dn_why(why, why_size, rc, _("the referral tree of %s has more than %d members"),
               phone, DN_REPORT_MAX_ROWS);
done:
    sqlite3_finalize(stmt);
    sqlite3_finalize(t.member);
    sqlite3_finalize(t.children);
    sqlite3_finalize(t.buys);
    sqlite3_finalize(t.generated);
    json_decref(t.earned);
    json_decref(t.visited);
    return rc;
}

int dn_report_referrals(sqlite3 *db, int top, const char *phone, json_t **out, char *why,
                        size_t why_size)
{
    char currency[4], canonical[DN_PHONE_SIZE];
    json_t *list;
    int rc;

    *out = NULL;
    if (!phone && (top < 1 || top > DN_REPORT_MAX_TOP))
        return dn_why(why, why_size, DN_EINVAL, _("--top must be 1 to %d"),
                      DN_REPORT_MAX_TOP);
    /* typed any way at HQ: canonical with the network's country */
    if (phone && (rc = dn_phones_canonical(db, phone, canonical, why, why_size)) != 0)
        return rc;
    if ((rc = s_report_currency(db, currency)) != 0)
        return rc;
    if (!(list = json_array()))
        return DN_ENOMEM;
    rc = phone ? s_tree(db, canonical, currency, list, why, why_size)
               : s_top(db, top, currency, list);
    if (rc) {
        json_decref(list);
        return rc;
    }
    *out = list;
    return 0;
}

/* -- sites ------------------------------------------------------------------------- */

/*  Writes a duration: "15s", "42m", "5h 07m", "2d 03h".  */
static void s_duration(int64_t ms, char *buf, size_t size)
{
    int64_t s = ms / 1000;
    if (s < 0)
        s = 0;
    if (s < 60)
        snprintf(buf, size, "%llds", (long long)s);
    else if (s < 3600)
        snprintf(buf, size, "%lldm", (long long)(s / 60));
    else if (s < 86400)
        snprintf(buf, size, "%lldh %02lldm", (long long)(s / 3600),
                 (long long)(s % 3600 / 60));
    else
        snprintf(buf, size, "%lldd %02lldh", (long long)(s / 86400),
                 (long long)(s % 86400 / 3600));
}

/*  A site's state, over a row s of sites with ?1 now and ?2 the silence
    that counts (DN_REPORT_SILENT_MS): 'revoked' once HQ revoked it,
    'silent' when no contact came for longer than that -- counted from
    when HQ added it while it was never seen -- else 'ok'.  The sites
    report and the fleet's counts (dn_report_fleet, which the metrics
    read) both say it with this text, so that a site silent on HQ's
    screen is silent in Prometheus too.  */
#define S_SITE_STATE                                                                  \
    "CASE WHEN s.revoked_ms IS NOT NULL THEN 'revoked'"                               \
    "  WHEN ?1 - coalesce(s.last_seen_ms, s.created_ms) > ?2 THEN 'silent' ELSE 'ok' END"

/*  ?1 now, ?2 the silence that counts.  */
static const char s_sites_sql[] =
    "WITH w AS (SELECT s.code, p.code AS partner, " S_SITE_STATE " AS state,"
    "  s.last_seen_ms, ?1 - coalesce(s.last_seen_ms, s.created_ms) AS silent,"
    "  s.reported_pending,"
    "  CASE WHEN s.reported_pending > 0 AND s.oldest_pending_ms IS NOT NULL"
    "    THEN s.oldest_pending_ms + coalesce(s.clock_skew_ms, 0) END AS oldest"
    "  FROM sites s JOIN partners p ON p.id = s.partner_id) "
    "SELECT code, partner, state, last_seen_ms, silent,"
    "  reported_pending, oldest FROM w "
    "ORDER BY CASE state WHEN 'silent' THEN 0 WHEN 'ok' THEN 1 ELSE 2 END,"
    "  CASE state WHEN 'silent' THEN -silent ELSE 0 END, code";

int dn_report_sites(sqlite3 *db, int64_t now_ms, json_t **out)
{
    sqlite3_stmt *stmt;
    json_t *list;
    int rc = 0;

    *out = NULL;
    if (!(list = json_array()))
        return DN_ENOMEM;
    if (dn_db_prepare(db, s_sites_sql, &stmt)) {
        json_decref(list);
        return DN_EDB;
    }
    sqlite3_bind_int64(stmt, 1, now_ms);
    sqlite3_bind_int64(stmt, 2, DN_REPORT_SILENT_MS);
    while (rc == 0 && (rc = dn_db_row(stmt, "report: sites")) == 1) {
        char silent_for[32], lag[32];
        int64_t silent = sqlite3_column_int64(stmt, 4), lag_ms = 0;
        int has_lag = sqlite3_column_type(stmt, 6) != SQLITE_NULL;
        s_duration(silent, silent_for, sizeof silent_for);
        if (has_lag) {
            lag_ms = now_ms - sqlite3_column_int64(stmt, 6);
            if (lag_ms < 0)
                lag_ms = 0;
            s_duration(lag_ms, lag, sizeof lag);
        }
        rc = s_append(
            list, json_pack("{s:s, s:s, s:s, s:o, s:s, s:o, s:o, s:o, s:I, s:o}", "site",
                            (const char *)sqlite3_column_text(stmt, 0), "partner",
                            (const char *)sqlite3_column_text(stmt, 1), "state",
                            (const char *)sqlite3_column_text(stmt, 2), "last_seen",
                            s_time(stmt, 3), "silent_for", silent_for, "pending",
                            sqlite3_column_type(stmt, 5) == SQLITE_NULL
                                ? json_null()
                                : json_integer(sqlite3_column_int64(stmt, 5)),
                            "oldest_pending", s_time(stmt, 6), "lag",
                            has_lag ? json_string(lag) : json_null(), "silent_ms",
                            (json_int_t)silent, "lag_ms",
                            has_lag ? json_integer(lag_ms) : json_null()));
    }
    sqlite3_finalize(stmt);
    if (rc) {
        json_decref(list);
        return rc;
    }
    *out = list;
    return 0;
}

/* -- earnings ------------------------------------------------------------------- */

/*  The codes a partner's account is moved by, in the order the report
    shows them (dn_central.c's CHECK on transfers.code).  */
static const char *const s_earning_codes[] = {"commission", "referral", "override",
                                              "clawback",   "adjustment", "payout"};
#define DN_REPORT_EARNING_CODES (sizeof s_earning_codes / sizeof s_earning_codes[0])

/*  One read of every partner account: the opening (periods before ?1) and
    the period's sum per code, each signed for the account (+ credit, -
    debit), as dn_ledger_statement finds the account: by its name, and
    from the same table, account_periods (a row per account, month and
    code: the report reads the accounts' months up to the period, not
    their transfers).  */
#define S_PERIOD_SUM(code)                                                           \
    "  coalesce(sum(CASE WHEN m.period = ?1 AND m.code = '" code "' "                  \
    "THEN m.credits - m.debits END), 0)"
static const char s_earnings_sql[] =
    "SELECT p.code, coalesce(sum(CASE WHEN m.period < ?1 THEN m.credits - m.debits END), "
    "0),"
    S_PERIOD_SUM("commission") "," S_PERIOD_SUM("referral") "," S_PERIOD_SUM("override")
    "," S_PERIOD_SUM("clawback") "," S_PERIOD_SUM("adjustment") "," S_PERIOD_SUM("payout")
    " FROM partners p JOIN accounts a ON a.name = '" DN_ACCOUNT_PARTNER "' || p.code "
    "JOIN account_periods m ON m.account = a.id AND m.period <= ?1 GROUP BY p.code";
#undef S_PERIOD_SUM

/*  A partner's figures: the opening, then one sum per s_earning_codes.  */
typedef struct {
    int64_t opening;
    int64_t code[DN_REPORT_EARNING_CODES];
} s_earning_t;

/*  Puts amount as decimal text under key and as minor units beside it.  */
static void s_set_money(json_t *row, const char *key, int64_t amount, int exponent)
{
    char text[DN_MONEY_TEXT_SIZE], minor_key[32];
    dn_money_format(amount, exponent, text, sizeof text);
    snprintf(minor_key, sizeof minor_key, "%s_minor", key);
    json_object_set_new(row, key, json_string(text));
    json_object_set_new(row, minor_key, json_integer(amount));
}

int dn_report_earnings(sqlite3 *db, const char *period, int64_t now_ms, json_t **out,
                       char *why, size_t why_size)
{
    char p[DN_PERIOD_SIZE], currency[4] = "";
    int64_t from_ms, to_ms;
    json_t *tree = NULL, *found, *list, *node;
    sqlite3_stmt *stmt;
    int exponent = 2, rc;
    size_t i;

    *out = NULL;
    if ((rc = dn_report_period(period, now_ms, p, &from_ms, &to_ms, why, why_size)) != 0)
        return rc;
    /* the statement's currency and exponent, so the figures read alike */
    rc = dn_plan_currency(db, currency, &exponent);
    if (rc && rc != DN_ENOENT)
        return rc;
    if ((rc = dn_tree_view(db, NULL, now_ms, &tree, why, why_size)) != 0)
        return rc;
    found = json_object();
    list = json_array();
    if (!found || !list) {
        rc = DN_ENOMEM;
        goto done;
    }
    if (dn_db_prepare(db, s_earnings_sql, &stmt)) {
        rc = DN_EDB;
        goto done;
    }
    sqlite3_bind_text(stmt, 1, p, -1, SQLITE_STATIC);
    while ((rc = dn_db_row(stmt, "report: earnings")) == 1) {
        json_t *sums = json_array();
        for (int col = 1; sums && col <= (int)DN_REPORT_EARNING_CODES + 1; col++)
            json_array_append_new(sums, json_integer(sqlite3_column_int64(stmt, col)));
        if (!sums || json_object_set_new(found, (const char *)sqlite3_column_text(stmt, 0),
                                         sums)) {
            rc = DN_ENOMEM;
            break;
        }
    }
    sqlite3_finalize(stmt);
    if (rc < 0) /* a partner left out would read as earning nothing */
        goto done;
    rc = 0;
    json_array_foreach(tree, i, node)
    {
        const char *code = json_string_value(json_object_get(node, "code"));
        json_t *sums = json_object_get(found, code), *row = json_object();
        s_earning_t e = {0};
        int64_t closing;
        if (!row || json_array_append_new(list, row)) {
            rc = DN_ENOMEM;
            goto done;
        }
        if (sums) {
            e.opening = json_integer_value(json_array_get(sums, 0));
            for (size_t k = 0; k < DN_REPORT_EARNING_CODES; k++)
                e.code[k] = json_integer_value(json_array_get(sums, k + 1));
        }
        json_object_set(row, "tree", json_object_get(node, "tree"));
        json_object_set_new(row, "partner", json_string(code));
        json_object_set(row, "name", json_object_get(node, "name"));
        json_object_set(row, "kind", json_object_get(node, "kind"));
        json_object_set(row, "status", json_object_get(node, "status"));
        json_object_set_new(row, "period", json_string(p));
        json_object_set_new(row, "currency", json_string(currency));
        s_set_money(row, "opening", e.opening, exponent);
        closing = e.opening;
        for (size_t k = 0; k < DN_REPORT_EARNING_CODES; k++) {
            s_set_money(row, s_earning_codes[k], e.code[k], exponent);
            if (dn_money_add(closing, e.code[k], &closing)) {
                /* cannot be, within DN_MONEY_SUM_MAX: the file was altered */
                rc = dn_why(why, why_size, DN_EDB,
                            _("earnings: a sum of transfers overflows; run dealernet-hq "
                              "verify"));
                goto done;
            }
        }
        s_set_money(row, "closing", closing, exponent);
    }
done:
    json_decref(tree);
    json_decref(found);
    if (rc)
        json_decref(list);
    else
        *out = list;
    return rc;
}

/* -- the fleet, for /metrics ------------------------------------------------- */

/*  ?1 now, ?2 the silence that counts: each site once, by its state, a
    site never seen (not revoked) apart as 'never'.  */
static const char s_fleet_sql[] =
    "SELECT CASE WHEN s.revoked_ms IS NULL AND s.last_seen_ms IS NULL THEN 'never'"
    "  ELSE " S_SITE_STATE " END AS state, count(*), coalesce(sum(s.reported_pending), 0) "
    "FROM sites s GROUP BY state";

int dn_report_fleet(sqlite3 *db, int64_t now_ms, dn_report_fleet_t *fleet)
{
    sqlite3_stmt *stmt;
    int rc;

    memset(fleet, 0, sizeof *fleet);
    if (dn_db_prepare(db, s_fleet_sql, &stmt))
        return DN_EDB;
    sqlite3_bind_int64(stmt, 1, now_ms);
    sqlite3_bind_int64(stmt, 2, DN_REPORT_SILENT_MS);
    while ((rc = dn_db_row(stmt, "report: fleet")) == 1) {
        const char *state = (const char *)sqlite3_column_text(stmt, 0);
        int64_t n = sqlite3_column_int64(stmt, 1);
        if (!state) { /* the CASE always says one: NULL is SQLite short of memory */
            rc = DN_ENOMEM;
            break;
        }
        if (strcmp(state, "revoked") == 0) {
            fleet->revoked = n; /* their pending can never arrive: not counted */
            continue;
        }
        fleet->pending += sqlite3_column_int64(stmt, 2);
        if (strcmp(state, "never") == 0)
            fleet->never = n;
        else if (strcmp(state, "silent") == 0)
            fleet->silent = n;
        else
            fleet->active = n;
    }
    sqlite3_finalize(stmt);
    return rc < 0 ? rc : 0;
}
