/*  test_bounds -- unit tests for the server's bounds (issue 10, item 1):
    held sales, the running totals, integer-only money columns, and a
    verify that fails when it cannot read what it must check.

    Every test starts from a fresh central.db with one tree and one plan:
      HQ (hq) > DIST (distributor) > DLR (dealer); site SHOP-1 of DLR;
      plan from 2026-01-01, CNY, cap 1500 bps, level 0 = 1000, level 1 =
      500, no referral, no override.
    So a posted sale of X fen pays DLR round(X x 10 %) and DIST
    round(X x 5 %) (HQ never earns), both from hq:commission, and adds X
    to the team volume of DLR, DIST and HQ in the sale's month.  The
    running total of transfers grows by twice each commission (the
    transfer and room for its clawbacks).  All sales are in 2026-02.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "dn_central.h"
#include "dn_db.h"
#include "dn_error.h"
#include "dn_ingest.h"
#include "dn_ledger.h"
#include "dn_money.h"
#include "dn_plan.h"
#include "dn_registry.h"
#include "dn_report.h"
#include "dn_rollup.h"
#include "dn_test_central.h"
#include "dn_test_site.h"
#include "dn_time.h"
#include "dn_verify.h"

static const char s_plan[] = "[plan]\n"
                             "effective = 2026-01-01\n"
                             "currency = CNY\n"
                             "cap_bps = 1500\n"
                             "\n"
                             "[levels]\n"
                             "0 = 1000\n"
                             "1 = 500\n";

typedef struct {
    dn_test_central_t *central;
    sqlite3 *db;
    char path[128];
    dn_ingest_t *ingest;
    dn_tk_site_t *site;
    int64_t now;
} fixture_t;

static int64_t s_at(const char *date, int hour)
{
    int64_t ms = 0;
    assert_int_equal(dn_time_parse_date(date, &ms), 0);
    return ms + (int64_t)hour * 3600 * 1000;
}

static int64_t s_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *stmt;
    int64_t v;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    v = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return v;
}

/*  The first column of every row, joined by ',' (NULL as "-").  */
static void s_text(sqlite3 *db, const char *sql, char *out, size_t size)
{
    sqlite3_stmt *stmt;
    size_t n = 0;
    out[0] = '\0';
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK);
    while (sqlite3_step(stmt) == SQLITE_ROW) {
        const char *v = (const char *)sqlite3_column_text(stmt, 0);
        n += (size_t)snprintf(out + n, size - n, "%s%s", n ? "," : "", v ? v : "-");
        assert_true(n < size);
    }
    sqlite3_finalize(stmt);
}

static void s_exec(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &err);
    if (rc != SQLITE_OK)
        print_error("SQL failed: %s: %s\n", sql, err ? err : "?");
    sqlite3_free(err);
    assert_int_equal(rc, SQLITE_OK);
}

static int64_t s_balance(sqlite3 *db, const char *name)
{
    sqlite3_stmt *stmt;
    int64_t v = 0;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT balance FROM accounts WHERE name = ?",
                                        -1, &stmt, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
    if (sqlite3_step(stmt) == SQLITE_ROW)
        v = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return v;
}

static int s_setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    char why[256] = "";
    dn_plan_t plan;
    void *central = NULL;
    if (!fx || dn_test_central_setup(&central) != 0)
        return -1;
    fx->central = central;
    fx->db = fx->central->db;
    snprintf(fx->path, sizeof fx->path, "%s/%s", fx->central->dir, DN_CENTRAL_DB_FILE);
    fx->now = s_at("2026-01-01", 0);
    if (dn_registry_partner_add(fx->db, "HQ", "HQ", "hq", NULL, fx->now, why, sizeof why) ||
        dn_registry_partner_add(fx->db, "DIST", "DIST", "distributor", "HQ", fx->now, why,
                                sizeof why) ||
        dn_registry_partner_add(fx->db, "DLR", "DLR", "dealer", "DIST", fx->now, why,
                                sizeof why) ||
        dn_plan_set(fx->db, s_plan, fx->now, &plan, why, sizeof why)) {
        print_error("setup: %s\n", why);
        return -1;
    }
    fx->site = dn_test_site_enroll(fx->db, "SHOP-1", "DLR", 1, fx->now);
    fx->ingest = dn_ingest_new(fx->db);
    *state = fx;
    return fx->ingest ? 0 : -1;
}

static int s_teardown(void **state)
{
    fixture_t *fx = *state;
    void *central = fx->central;
    dn_ingest_destroy(&fx->ingest);
    dn_tk_site_destroy(&fx->site);
    free(fx);
    return dn_test_central_teardown(&central);
}

/*  A sale of DLR recorded at 2026-02-10 10:00 + minutes: one line of
    quantity x unit_price fen, or n_lines such lines (each its own SKU).  */
static void s_sale(fixture_t *fx, int minutes, size_t n_lines, int64_t quantity,
                   int64_t unit_price, uint8_t id[DN_ID_BYTES])
{
    static const char *skus[] = {"A", "B", "C", "D"};
    dn_tk_line_t lines[DN_TK_MAX_LINES];
    dn_tk_event_t e;
    assert_true(n_lines >= 1 && n_lines <= DN_TK_MAX_LINES);
    for (size_t i = 0; i < n_lines; i++)
        lines[i] = (dn_tk_line_t){skus[i], quantity, unit_price, NULL};
    assert_int_equal(
        dn_tk_sale(&e, "DLR", DEALERNET__CHANNEL__CHANNEL_STORE, NULL, lines, n_lines), 0);
    dn_test_site_record(fx->site, &e.ev, s_at("2026-02-10", 10) + minutes * 60000, id);
}

static void s_refund(fixture_t *fx, int minutes, const uint8_t sale[DN_ID_BYTES],
                     int64_t amount)
{
    dn_tk_event_t e;
    dn_tk_refund(&e, sale, amount, NULL, 0);
    dn_test_site_record(fx->site, &e.ev, s_at("2026-02-10", 12) + minutes * 60000, NULL);
}

/*  Sends what the site has pending as one batch: it must be accepted whole
    (held sales are stored, never refused).  */
static void s_sync(fixture_t *fx)
{
    dn_tk_batch_t batch;
    dn_ingest_result_t r;
    size_t n = fx->site->n_pending;
    assert_int_equal(dn_tk_batch(fx->site, &batch), 0);
    int rc = dn_tk_ingest(fx->db, fx->ingest, &fx->site->reg, &batch,
                          s_at("2026-02-11", 9), &r);
    if (rc)
        print_error("batch refused: %s\n", r.why);
    assert_int_equal(rc, 0);
    assert_int_equal(r.applied, (int)n);
    assert_int_equal(r.acked_through, fx->site->seq);
    dn_tk_batch_free(&batch);
}

static int s_verify(fixture_t *fx, json_t **out, char *why, size_t size)
{
    int rc = dn_verify_run(fx->path, out, why, size);
    if (*out && rc != 0) {
        size_t i;
        json_t *d;
        json_array_foreach(json_object_get(*out, "differences"), i, d)
            print_message("  difference: %s\n", json_string_value(d));
    }
    return rc;
}

static int s_has(json_t *out, const char *text)
{
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(out, "differences"), i, d)
        if (strcmp(json_string_value(d), text) == 0)
            return 1;
    return 0;
}

/*  verify: ok with these counts.  */
static void s_verify_ok(fixture_t *fx, int64_t events, int64_t transfers, int64_t accounts)
{
    json_t *out = NULL;
    char why[256] = "";
    assert_int_equal(s_verify(fx, &out, why, sizeof why), 0);
    assert_non_null(out);
    assert_true(json_is_true(json_object_get(out, "ok")));
    assert_int_equal(json_integer_value(json_object_get(out, "events")), events);
    assert_int_equal(json_integer_value(json_object_get(out, "transfers")), transfers);
    assert_int_equal(json_integer_value(json_object_get(out, "accounts")), accounts);
    json_decref(out);
}

/*  Sales over the bound on one sale (the default, 1000000.00 CNY = 10^8
    fen) are stored and held, with their refunds; the others post.
      S1  1 x 100.00           = 10000 fen: DLR 1000, DIST 500
      S2  4 lines x 10^6 x 10^12 fen = 4 x 10^18 fen: over_limit
      R2  refund 1.00 of S2: stored, held with it
      S3  1 x 1000000.00       = 10^8 fen, exactly the bound: DLR 10^7,
                                 DIST 5 x 10^6
      S4  1 x 1000000.01       = 100000001 fen: over_limit
    Balances: DLR 1000 + 10000000 = 10001000; DIST 500 + 5000000 =
    5000500; hq:commission -(10001000 + 5000500) = -15001500.
    Team volume of DLR, DIST and HQ in 2026-02: 2 sales, 10000 +
    100000000 = 100010000, no refund.  Running totals: sales 100010000;
    transfers 2 x 15001500 = 30003000.  */
static void test_over_limit(void **state)
{
    fixture_t *fx = *state;
    uint8_t s2[DN_ID_BYTES];
    char text[512], why[256] = "";
    json_t *out = NULL;

    s_sale(fx, 0, 1, 1, 10000, NULL);
    s_sale(fx, 1, 4, 1000000, INT64_C(1000000000000), s2);
    s_refund(fx, 0, s2, 100);
    s_sale(fx, 2, 1, 1, 100000000, NULL);
    s_sale(fx, 3, 1, 1, 100000001, NULL);
    s_sync(fx);

    s_text(fx->db, "SELECT coalesce((SELECT x.kind FROM exceptions x WHERE x.eid = sales.eid AND x.held = 1), '-') || ':' || total FROM sales ORDER BY eid", text,
           sizeof text);
    assert_string_equal(text, "-:10000,over_limit:4000000000000000000,-:100000000,"
                              "over_limit:100000001");
    assert_int_equal(s_int(fx->db, "SELECT count(*) FROM refunds"), 1);
    assert_int_equal(s_int(fx->db, "SELECT refunded FROM sales WHERE total > 100000001"),
                     100);
    assert_int_equal(s_int(fx->db, "SELECT count(*) FROM transfers"), 4);
    assert_int_equal(s_int(fx->db, "SELECT count(*) FROM transfers t JOIN sales s "
                                   "ON s.eid = t.sale_eid WHERE s.held = 1"),
                     0);
    assert_int_equal(s_balance(fx->db, "partner:DLR"), 10001000);
    assert_int_equal(s_balance(fx->db, "partner:DIST"), 5000500);
    assert_int_equal(s_balance(fx->db, "hq:commission"), -15001500);
    s_text(fx->db,
           "SELECT p.code || ':' || v.period || ':' || v.sales || ':' || v.total || ':' || "
           "v.refunds || ':' || v.refunded FROM team_volume v "
           "JOIN partners p ON p.id = v.partner_id ORDER BY p.code",
           text, sizeof text);
    assert_string_equal(text, "DIST:2026-02:2:100010000:0:0,DLR:2026-02:2:100010000:0:0,"
                              "HQ:2026-02:2:100010000:0:0");
    assert_int_equal(s_int(fx->db, "SELECT count(*) FROM refund_categories"), 0);
    assert_int_equal(s_int(fx->db, "SELECT sales FROM money_totals"), 100010000);
    assert_int_equal(s_int(fx->db, "SELECT transfers FROM money_totals"), 30003000);

    /* the reports leave held sales out: 2 sales, 1000100.00 */
    dn_report_sales_t q = {.by = DN_REPORT_BY_MONTH, .from_ms = INT64_MIN,
                           .to_ms = INT64_MAX};
    assert_int_equal(dn_report_sales(fx->db, &q, &out, why, sizeof why), 0);
    assert_int_equal(json_array_size(out), 1);
    json_t *row = json_array_get(out, 0);
    assert_int_equal(json_integer_value(json_object_get(row, "sales")), 2);
    assert_string_equal(json_string_value(json_object_get(row, "total")), "1000100.00");
    assert_int_equal(json_integer_value(json_object_get(row, "refunds")), 0);
    assert_string_equal(json_string_value(json_object_get(row, "refunded")), "0.00");
    json_decref(out);
    q.by = DN_REPORT_BY_CATEGORY;
    assert_int_equal(dn_report_sales(fx->db, &q, &out, why, sizeof why), 0);
    assert_string_equal(json_string_value(json_object_get(json_array_get(out, 0), "total")),
                        "1000100.00");
    json_decref(out);
    assert_int_equal(
        dn_report_kpi(fx->db, NULL, "2026-02", fx->now, &out, why, sizeof why), 0);
    json_decref(out);
    assert_int_equal(dn_ledger_statement(fx->db, "DLR", NULL, "2026-02", fx->now, &out, why,
                                         sizeof why),
                     0);
    assert_string_equal(json_string_value(json_object_get(out, "closing")), "100010.00");
    json_decref(out);

    /* a rebuild of the rollups leaves them out too */
    s_exec(fx->db, "BEGIN");
    assert_int_equal(dn_rollup_rebuild(fx->db), 0);
    s_exec(fx->db, "COMMIT");
    assert_int_equal(s_int(fx->db, "SELECT sum(total) FROM team_volume"), 3 * 100010000);

    /* 5 events, 4 transfers, 3 accounts (DLR, DIST, hq:commission) */
    s_verify_ok(fx, 5, 4, 3);
}

/*  The running totals near their bound (seeded by hand: they stand in for
    10^10 sales of 10^8 fen), as DN_MONEY_SUM_MAX = 10^18:
      S1  100.00 (10000): posted; sales 10000, transfers 2 x 1500 = 3000
      seed sales = 10^18 - 5000
      S2  50.01 (5001): 10^18 - 5000 + 5001 > 10^18: sum_limit
      S3  50.00 (5000): exactly 10^18: posted, DLR 500, DIST 250;
          transfers 3000 + 2 x 750 = 4500
      S4  0.01 (1): sum_limit
      seed sales = 0, transfers = 10^18 - 2999
      S5  100.00: commission 1000 + 500, room 3000 > 2999: sum_limit
      S6  99.90 (9990): DLR 999, DIST round(499.5) = 500 (half to even);
          room 2 x 1499 = 2998: posted, transfers 10^18 - 1
      payout 2.00 to DLR: 10^18 - 1 + 200 > 10^18: refused
      payout 0.01 to DLR: exactly 10^18: recorded
    Balances: DLR 1000 + 500 + 999 - 1 = 2498; DIST 500 + 250 + 500 =
    1250.  Verify then finds the seeded totals: posted sales are 10000 +
    5000 + 9990 = 24990 fen (9990 stored), transfers add up to 2 x (1500
    + 750 + 1499) + 1 = 7499 (10^18 stored); with the true figures put
    back it is ok.  */
static void test_sum_limit(void **state)
{
    fixture_t *fx = *state;
    char text[512], why[256] = "";
    json_t *out = NULL;

    s_sale(fx, 0, 1, 1, 10000, NULL);
    s_sync(fx);
    assert_int_equal(s_int(fx->db, "SELECT transfers FROM money_totals"), 3000);
    s_exec(fx->db, "UPDATE money_totals SET sales = 1000000000000000000 - 5000");
    s_sale(fx, 1, 1, 1, 5001, NULL);
    s_sale(fx, 2, 1, 1, 5000, NULL);
    s_sale(fx, 3, 1, 1, 1, NULL);
    s_sync(fx);
    assert_int_equal(s_int(fx->db, "SELECT sales FROM money_totals"), DN_MONEY_SUM_MAX);
    assert_int_equal(s_int(fx->db, "SELECT transfers FROM money_totals"), 4500);
    s_exec(fx->db, "UPDATE money_totals SET sales = 0, transfers = 1000000000000000000 - 2999");
    s_sale(fx, 4, 1, 1, 10000, NULL);
    s_sale(fx, 5, 1, 1, 9990, NULL);
    s_sync(fx);
    s_text(fx->db, "SELECT coalesce((SELECT x.kind FROM exceptions x WHERE x.eid = sales.eid AND x.held = 1), '-') FROM sales ORDER BY eid", text, sizeof text);
    assert_string_equal(text, "-,sum_limit,-,sum_limit,sum_limit,-");
    assert_int_equal(s_int(fx->db, "SELECT sales FROM money_totals"), 9990);
    assert_int_equal(s_int(fx->db, "SELECT transfers FROM money_totals"),
                     DN_MONEY_SUM_MAX - 1);

    int rc = dn_ledger_payout(fx->db, "DLR", 200, "BANK-1", "hq", s_at("2026-02-12", 9),
                              &out, why, sizeof why);
    assert_int_equal(rc, DN_ELIMIT);
    assert_string_equal(why, "payout of 2.00 CNY would take the ledger's running total of "
                             "transfers over its bound of 10^18 minor units; nothing was "
                             "recorded");
    assert_null(out);
    assert_int_equal(dn_ledger_payout(fx->db, "DLR", 1, "BANK-2", "hq",
                                      s_at("2026-02-12", 9), &out, why, sizeof why),
                     0);
    json_decref(out);
    assert_int_equal(s_int(fx->db, "SELECT transfers FROM money_totals"), DN_MONEY_SUM_MAX);
    assert_int_equal(s_balance(fx->db, "partner:DLR"), 2498);
    assert_int_equal(s_balance(fx->db, "partner:DIST"), 1250);
    assert_int_equal(s_int(fx->db, "SELECT sum(total) FROM team_volume "
                                   "WHERE partner_id = (SELECT id FROM partners "
                                   "WHERE code = 'DLR')"),
                     24990);

    rc = s_verify(fx, &out, why, sizeof why);
    assert_int_equal(rc, DN_ECHAIN);
    assert_int_equal(json_array_size(json_object_get(out, "differences")), 2);
    assert_true(s_has(out, "running totals: sales 9990 is not the sum of the posted "
                           "sales' totals 24990 (minor units)"));
    assert_true(s_has(out, "running totals: transfers 1000000000000000000 is not what the "
                           "stored transfers add up to, 7499 (minor units)"));
    json_decref(out);
    s_exec(fx->db, "UPDATE money_totals SET sales = 24990, transfers = 7499");
    /* 6 events (S1 .. S6); 2 + 2 + 2 commissions and a payout; DLR, DIST,
       hq:commission, hq:payout */
    s_verify_ok(fx, 6, 7, 4);
}

/*  Money columns take integers only: an overflowing + (which SQLite would
    store as a REAL) and a REAL or text value are refused.  */
static void test_integer_columns(void **state)
{
    fixture_t *fx = *state;
    static const struct {
        const char *sql, *error;
    } refused[] = {
        {"UPDATE accounts SET balance = balance + 9223372036854775000",
         "accounts.balance must be an integer (minor units)"},
        {"UPDATE team_volume SET total = total + 9223372036854775000",
         "team_volume.total and .refunded must be an integer (minor units)"},
        {"UPDATE sales SET refunded = 0.5", "sales.total and .refunded must be an integer"},
        {"UPDATE sale_lines SET unit_price = 'lots'",
         "sale_lines.unit_price must be an integer"},
        {"INSERT INTO refund_categories VALUES (1, 1, '', 1.5)",
         "refund_categories.amount must be an integer"},
        {"UPDATE plans SET first_purchase_bonus = 2.5",
         "plans.first_purchase_bonus must be an integer"},
        {"UPDATE money_totals SET sales = 1000000000000000001", "CHECK constraint failed"},
    };
    s_sale(fx, 0, 1, 1, 10000, NULL);
    s_sync(fx);
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        char *err = NULL;
        int rc = sqlite3_exec(fx->db, refused[i].sql, NULL, NULL, &err);
        if (rc == SQLITE_OK || !err || !strstr(err, refused[i].error))
            print_error("%s: %s\n", refused[i].sql, err ? err : "accepted");
        assert_int_not_equal(rc, SQLITE_OK);
        assert_non_null(strstr(err, refused[i].error));
        sqlite3_free(err);
    }
    /* '12' is an integer by column affinity: taken */
    s_exec(fx->db, "UPDATE sale_lines SET unit_price = '10000'");
    assert_int_equal(s_balance(fx->db, "partner:DLR"), 1000);
    s_verify_ok(fx, 1, 2, 3);
}

/*  Verify never says ok having checked less than it must: with the
    accounts unreadable it fails, naming the step; with a balance stored
    as a REAL past the trigger (dropped), it reports it.  */
static void test_verify_unreadable(void **state)
{
    fixture_t *fx = *state;
    char why[256] = "";
    json_t *out = NULL;

    s_sale(fx, 0, 1, 1, 10000, NULL);
    s_sync(fx);
    s_verify_ok(fx, 1, 2, 3);

    s_exec(fx->db, "DROP TRIGGER accounts_integer_update;"
                   "UPDATE accounts SET balance = 1.5e19 WHERE name = 'partner:DLR'");
    assert_int_equal(s_verify(fx, &out, why, sizeof why), DN_ECHAIN);
    assert_false(json_is_true(json_object_get(out, "ok")));
    assert_true(s_has(out, "account partner:DLR: balance is stored as real, not an "
                           "integer (minor units)"));
    /* without DLR's 1000: DIST 500 + hq:commission -1500 */
    assert_true(s_has(out, "balances sum to -1000, not 0: debits and credits differ"));
    json_decref(out);
    out = NULL;

    s_exec(fx->db, "UPDATE accounts SET balance = 1000 WHERE name = 'partner:DLR';"
                   "ALTER TABLE accounts RENAME TO accounts_gone");
    assert_int_equal(s_verify(fx, &out, why, sizeof why), DN_EDB);
    assert_null(out);
    assert_string_equal(why, "verify: cannot read the accounts (database error); nothing "
                             "was verified");
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, s_setup, s_teardown)
    const struct CMUnitTest tests[] = {
        T(test_over_limit),
        T(test_sum_limit),
        T(test_integer_columns),
        T(test_verify_unreadable),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
