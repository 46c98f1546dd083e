/*  dn_counter -- sales by day with totals, the daily close, member find
    (see dn_counter.h).

    Reads dn_store's projections with SQL of its own, read-only: the close
    of a day is recomputed from the events' projections each time it is
    asked for, so it never disagrees with `sales` and needs no state of
    its own (nothing to lose, nothing to migrate).  Every aggregate is a
    sum of int64 minor units that SQLite checks for overflow (an overflow
    is an error, never a wrapped figure).
*/
#include "dn_counter.h"
#include "dn_db.h"
#include "dn_error.h"
#include "dn_time.h"
#include "dn_valid.h"
#include "dn_wire.h"

#include <stdio.h>
#include <string.h>

int dn_counter_day(const char *date, int64_t *from_ms, int64_t *to_ms)
{
    int64_t start;
    if (dn_time_parse_date(date, &start))
        return DN_EPARSE;
    /* the next day's first millisecond: a day is not always 24 hours long
       where the network is */
    *to_ms = dn_time_day_start(dn_time_day(start) + 1);
    *from_ms = start;
    return 0;
}

void dn_counter_date_of(int64_t unix_ms, char date[16])
{
    dn_time_format_day(dn_time_day(unix_ms), date);
}

/*  Sets the amount key (and its _minor twin) of obj.  */
static void s_money(dn_store_t *store, json_t *obj, const char *key, int64_t minor)
{
    char minor_key[64];
    snprintf(minor_key, sizeof minor_key, "%s_minor", key);
    json_object_set_new(obj, key, dn_store_money_json(store, minor));
    json_object_set_new(obj, minor_key, json_integer((json_int_t)minor));
}

/*  One group's figures: {KEY: name, sales, GROSS, refunds?, refunded, net}.  */
static json_t *s_group(dn_store_t *store, const char *key, const char *name, int64_t sales,
                       const char *gross_key, int64_t gross, int64_t refunds,
                       int64_t refunded)
{
    json_t *g = json_pack("{s:s, s:I}", key, name, "sales", (json_int_t)sales);
    if (!g)
        return NULL;
    s_money(store, g, gross_key, gross);
    if (refunds >= 0)
        json_object_set_new(g, "refunds", json_integer((json_int_t)refunds));
    s_money(store, g, "refunded", refunded);
    s_money(store, g, "net", gross - refunded);
    return g;
}

/*  Runs sql (binds ?1 from, ?2 to), each row: group code (int, NULL for
    none), sales, gross, refunds, refunded; appends a group per row to
    list, named by name_of.  refunds < 0 in a row: not shown.  0 or
    DN_EDB.  */
static int s_groups(dn_store_t *store, const char *sql, int64_t from_ms, int64_t to_ms,
                    const char *key, const char *gross_key, const char *(*name_of)(int),
                    int with_refunds, json_t *list)
{
    sqlite3_stmt *stmt;
    int step;
    if (dn_db_prepare(dn_store_db(store), sql, &stmt))
        return DN_EDB;
    sqlite3_bind_int64(stmt, 1, from_ms);
    sqlite3_bind_int64(stmt, 2, to_ms);
    while ((step = dn_db_row(stmt, "agent.db: totals")) == 1) {
        int code = sqlite3_column_type(stmt, 0) == SQLITE_NULL ? 0 : sqlite3_column_int(stmt, 0);
        json_t *g = s_group(store, key, name_of(code), sqlite3_column_int64(stmt, 1),
                            gross_key, sqlite3_column_int64(stmt, 2),
                            with_refunds ? sqlite3_column_int64(stmt, 3) : -1,
                            sqlite3_column_int64(stmt, 4));
        if (!g || json_array_append_new(list, g)) {
            step = DN_ENOMEM;
            break;
        }
    }
    sqlite3_finalize(stmt);
    return step < 0 ? DN_EDB : 0;
}

/*  The totals of the sales recorded in the range, grouped by COL (channel
    or payment; coalesce: no payment recorded sorts as 0, "unknown").  */
#define S_SALES_BY(col)                                                                  \
    "SELECT coalesce(" col ", 0) AS g, count(*), sum(total), 0, sum(refunded) FROM sales " \
    "WHERE recorded_at_ms >= ?1 AND recorded_at_ms < ?2 GROUP BY g ORDER BY g"

json_t *dn_counter_totals(dn_store_t *store, int64_t from_ms, int64_t to_ms)
{
    json_t *out = json_object(), *by_channel = json_array(), *by_payment = json_array();
    sqlite3_stmt *stmt;
    int64_t sales = 0, total = 0, refunded = 0;
    int step, rc;

    if (!out || !by_channel || !by_payment ||
        dn_db_prepare(dn_store_db(store),
                      "SELECT count(*), coalesce(sum(total), 0), coalesce(sum(refunded), 0) "
                      "FROM sales WHERE recorded_at_ms >= ? AND recorded_at_ms < ?",
                      &stmt))
        goto fail;
    sqlite3_bind_int64(stmt, 1, from_ms);
    sqlite3_bind_int64(stmt, 2, to_ms);
    if ((step = dn_db_row(stmt, "agent.db: totals")) == 1) {
        sales = sqlite3_column_int64(stmt, 0);
        total = sqlite3_column_int64(stmt, 1);
        refunded = sqlite3_column_int64(stmt, 2);
    }
    sqlite3_finalize(stmt);
    if (step != 1)
        goto fail;
    rc = s_groups(store, S_SALES_BY("channel"), from_ms, to_ms, "channel", "total",
                  dn_wire_channel_name, 0, by_channel);
    if (rc == 0)
        rc = s_groups(store, S_SALES_BY("payment"), from_ms, to_ms, "payment", "total",
                      dn_wire_payment_name, 0, by_payment);
    if (rc)
        goto fail;
    json_object_set_new(out, "sales", json_integer((json_int_t)sales));
    s_money(store, out, "total", total);
    s_money(store, out, "refunded", refunded);
    s_money(store, out, "net", total - refunded);
    json_object_set_new(out, "currency", json_string(dn_store_info(store)->currency));
    json_object_set_new(out, "by_channel", by_channel);
    json_object_set_new(out, "by_payment", by_payment);
    return out;
fail:
    json_decref(out);
    json_decref(by_channel);
    json_decref(by_payment);
    return NULL;
}

/*  The close's groups: the day's sales and the day's refunds (by the
    refund event's time, of any day's sale), both by the sale's COL.  */
#define S_CLOSE_BY(col)                                                                  \
    "SELECT g, sum(n), sum(gross), sum(nr), sum(refunded) FROM ("                        \
    "  SELECT coalesce(" col ", 0) AS g, 1 AS n, total AS gross, 0 AS nr, 0 AS refunded " \
    "  FROM sales WHERE recorded_at_ms >= ?1 AND recorded_at_ms < ?2 "                   \
    "  UNION ALL "                                                                       \
    "  SELECT coalesce(s." col ", 0), 0, 0, 1, r.amount FROM refunds r "                 \
    "  JOIN events e ON e.seq = r.seq JOIN sales s ON s.id = r.sale_id "                 \
    "  WHERE e.recorded_at_ms >= ?1 AND e.recorded_at_ms < ?2"                           \
    ") GROUP BY g ORDER BY g"

/*  A one-row aggregate of the day (?1 from, ?2 to) into out[0..n).  */
static int s_row(dn_store_t *store, const char *sql, int64_t from_ms, int64_t to_ms,
                 int64_t *out, int n, int *nulls)
{
    sqlite3_stmt *stmt;
    int step;
    if (dn_db_prepare(dn_store_db(store), sql, &stmt))
        return DN_EDB;
    sqlite3_bind_int64(stmt, 1, from_ms);
    sqlite3_bind_int64(stmt, 2, to_ms);
    if ((step = dn_db_row(stmt, "agent.db: close")) == 1)
        for (int i = 0; i < n; i++) {
            out[i] = sqlite3_column_int64(stmt, i);
            if (nulls)
                nulls[i] = sqlite3_column_type(stmt, i) == SQLITE_NULL;
        }
    sqlite3_finalize(stmt);
    return step == 1 ? 0 : DN_EDB;
}

static json_t *s_receipt_json(int64_t receipt, int null)
{
    char text[DN_RECEIPT_TEXT_SIZE];
    if (null)
        return json_null();
    dn_receipt_format(receipt, text);
    return json_string(text);
}

json_t *dn_counter_close(dn_store_t *store, const char *date, int64_t from_ms,
                         int64_t to_ms)
{
    const dn_store_info_t *info = dn_store_info(store);
    json_t *out = NULL, *by_payment = json_array(), *by_channel = json_array();
    int64_t sales[4], refunds[2], members[1], events[2];
    int nulls[4];
    int rc;

    if (!by_payment || !by_channel)
        goto fail;
    rc = s_row(store,
               "SELECT count(*), coalesce(sum(total), 0), min(receipt), max(receipt) "
               "FROM sales WHERE recorded_at_ms >= ?1 AND recorded_at_ms < ?2",
               from_ms, to_ms, sales, 4, nulls);
    if (rc == 0)
        rc = s_row(store,
                   "SELECT count(*), coalesce(sum(r.amount), 0) FROM refunds r "
                   "JOIN events e ON e.seq = r.seq "
                   "WHERE e.recorded_at_ms >= ?1 AND e.recorded_at_ms < ?2",
                   from_ms, to_ms, refunds, 2, NULL);
    if (rc == 0)
        rc = s_row(store,
                   "SELECT count(*) FROM members "
                   "WHERE recorded_at_ms >= ?1 AND recorded_at_ms < ?2",
                   from_ms, to_ms, members, 1, NULL);
    if (rc == 0)
        rc = s_row(store,
                   "SELECT coalesce(sum(synced = 0 AND recorded_at_ms >= ?1 "
                   "AND recorded_at_ms < ?2), 0), coalesce(sum(synced = 0), 0) FROM events",
                   from_ms, to_ms, events, 2, NULL);
    if (rc == 0)
        rc = s_groups(store, S_CLOSE_BY("payment"), from_ms, to_ms, "payment", "gross",
                      dn_wire_payment_name, 1, by_payment);
    if (rc == 0)
        rc = s_groups(store, S_CLOSE_BY("channel"), from_ms, to_ms, "channel", "gross",
                      dn_wire_channel_name, 1, by_channel);
    if (rc || !(out = json_pack("{s:s, s:s, s:s, s:I}", "site", info->site, "date", date,
                                "currency", info->currency, "sales", (json_int_t)sales[0])))
        goto fail;
    s_money(store, out, "gross", sales[1]);
    json_object_set_new(out, "refunds", json_integer((json_int_t)refunds[0]));
    s_money(store, out, "refunded", refunds[1]);
    s_money(store, out, "net", sales[1] - refunds[1]);
    json_object_set_new(out, "first_receipt", s_receipt_json(sales[2], nulls[2]));
    json_object_set_new(out, "last_receipt", s_receipt_json(sales[3], nulls[3]));
    json_object_set_new(out, "members_signed_up", json_integer((json_int_t)members[0]));
    json_object_set_new(out, "by_payment", by_payment);
    json_object_set_new(out, "by_channel", by_channel);
    json_object_set_new(out, "unsynced", json_integer((json_int_t)events[0]));
    json_object_set_new(out, "pending", json_integer((json_int_t)events[1]));
    return out;
fail:
    json_decref(by_payment);
    json_decref(by_channel);
    return NULL;
}

json_t *dn_counter_member_find(dn_store_t *store, const char *text, int64_t limit,
                               int64_t *more)
{
    char prefix[DN_PHONE_SIZE + 8];
    int phone = dn_phone_prefix(text, dn_store_info(store)->country, prefix, sizeof prefix) == 0;
    return dn_store_members_find(store, phone ? prefix : NULL, *text ? text : NULL, limit,
                                 more);
}
