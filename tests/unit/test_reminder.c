/*  test_reminder -- unit tests for the replenishment estimate (dn_reminder)
    and the store query that feeds it (dn_store_member_purchases).

    Every figure below is worked out by hand in the comments.  Days are
    counted from 1970-01-01 (UTC):
      2026-01-01 is day 20454: 56 years of 365 days plus 14 leap days
      (1972, 1976, ..., 2024), 56 * 365 + 14 = 20454.
      January has 31 days, February 2026 has 28, so
      2026-02-01 = 20454 + 31 = 20485 and 2026-03-01 = 20485 + 28 = 20513.

    The pure tests feed dn_reminder_estimate purchases at chosen times.  The
    store tests record real sales, members and refunds through dn_record,
    then set each sale's recorded_at_ms directly in SQLite (dn_record stamps
    "now") and check the query's rows and the whole call list.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "dn_error.h"
#include "dn_record.h"
#include "dn_reminder.h"
#include "dn_store.h"
#include "dn_time.h"
#include "dn_wire.h"
#include "dn_testkit.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

#define DAY_MS        86400000LL
#define HOUR_MS       3600000LL
#define AT(day, hour) ((int64_t)(day)*DAY_MS + (int64_t)(hour)*HOUR_MS)

/* Days of 2026 (see the banner).  */
#define JAN01 20454 /* 56 * 365 + 14 */
#define JAN05 20458 /* JAN01 + 4 */
#define JAN06 20459 /* JAN01 + 5 */
#define JAN20 20473 /* JAN06 + 14 */
#define FEB01 20485 /* JAN01 + 31 */
#define FEB03 20487 /* FEB01 + 2; JAN20 + 14 */
#define FEB16 20500 /* FEB01 + 15 */
#define FEB20 20504 /* FEB01 + 19 */
#define FEB21 20505 /* FEB01 + 20 */
#define FEB25 20509 /* FEB01 + 24 */
#define MAR01 20513 /* FEB01 + 28 */
#define MAR02 20514 /* MAR01 + 1 */
#define MAR03 20515 /* MAR01 + 2; FEB03 + 28 */
#define MAR05 20517 /* MAR01 + 4 */
#define MAR10 20522 /* MAR01 + 9: "today" of the store scenario */
#define MAR13 20525 /* MAR01 + 12 */
#define MAR17 20529 /* MAR01 + 16 = MAR10 + 7 */
#define MAR18 20530 /* MAR01 + 17 = MAR10 + 8 */

static dn_reminder_purchase_t s_buy(int64_t at_ms, int64_t qty, const char *category)
{
    dn_reminder_purchase_t p;
    memset(&p, 0, sizeof p);
    p.recorded_at_ms = at_ms;
    p.quantity = qty;
    snprintf(p.category, sizeof p.category, "%s", category);
    return p;
}

/* -- the pure estimate ---------------------------------------------------- */

/*  Five purchases of rice, given out of order and at odd hours:
      day           qty   gap to the previous
      JAN05 09:00   2
      JAN19 18:00   2     14
      FEB02 08:00   1     14
      MAR16 12:00   3     42   (the odd gap: a month away)
      MAR30 10:00   2     14
    gaps sorted 14, 14, 14, 42: an even count, median (14 + 14) / 2 = 14
    (the mean would be 84 / 4 = 21); quantities sorted 1, 2, 2, 2, 3:
    median 2.  last = MAR30 = JAN05 + 84 = 20542 (2026-03-30), due =
    20542 + 14 = 20556 (2026-04-13).  */
static void test_history_median_resists_odd_gap(void **state)
{
    (void)state;
    dn_reminder_purchase_t p[] = {
        s_buy(AT(JAN05 + 28, 8), 1, "rice"),  /* FEB02 */
        s_buy(AT(JAN05, 9), 2, "rice"),       /* JAN05 */
        s_buy(AT(JAN05 + 84, 10), 2, "rice"), /* MAR30 */
        s_buy(AT(JAN05 + 70, 12), 3, "rice"), /* MAR16 */
        s_buy(AT(JAN05 + 14, 18), 2, "rice"), /* JAN19 */
    };
    dn_reminder_purchase_t copy[N_OF(p)];
    dn_reminder_estimate_t est;
    char text[DN_DATE_SIZE];

    memcpy(copy, p, sizeof p);
    assert_int_equal(dn_reminder_estimate(p, N_OF(p), 1, 3, JAN05 + 100, &est), 0);
    assert_int_equal(est.basis, DN_REMINDER_HISTORY);
    assert_int_equal(est.purchases, 5);
    assert_int_equal(est.interval_days, 14);
    assert_int_equal(est.quantity, 2);
    assert_int_equal(est.last_day, 20542);
    assert_int_equal(est.due_day, 20556);
    dn_time_format_day(est.last_day, text);
    assert_string_equal(text, "2026-03-30");
    dn_time_format_day(est.due_day, text);
    assert_string_equal(text, "2026-04-13");
    assert_memory_equal(p, copy, sizeof p); /* the input is not changed */
}

/*  Even counts take the mean of the two middle values, rounded down.
    Three purchases on days 0, 10, 23 (from FEB01) with quantities 1, 4, 2:
    gaps 10, 13 -> (10 + 13) / 2 = 11.5 -> 11; quantities sorted 1, 2, 4
    -> 2.  Two purchases FEB01 and FEB01 + 9 with quantities 3 and 4: one
    gap, 9; quantities (3 + 4) / 2 = 3.5 -> 3.  */
static void test_history_even_counts_round_down(void **state)
{
    (void)state;
    dn_reminder_purchase_t three[] = {s_buy(AT(FEB01, 10), 1, ""),
                                      s_buy(AT(FEB01 + 10, 10), 4, ""),
                                      s_buy(AT(FEB01 + 23, 10), 2, "")};
    dn_reminder_purchase_t two[] = {s_buy(AT(FEB01, 10), 3, "oil"),
                                    s_buy(AT(FEB01 + 9, 10), 4, "oil")};
    dn_reminder_estimate_t est;

    assert_int_equal(dn_reminder_estimate(three, 3, 0, 0, MAR10, &est), 0);
    assert_int_equal(est.basis, DN_REMINDER_HISTORY);
    assert_int_equal(est.interval_days, 11);
    assert_int_equal(est.quantity, 2);
    assert_int_equal(est.last_day, FEB01 + 23);
    assert_int_equal(est.due_day, FEB01 + 34); /* 23 + 11 */

    assert_int_equal(dn_reminder_estimate(two, 2, 0, 0, MAR10, &est), 0);
    assert_int_equal(est.basis, DN_REMINDER_HISTORY);
    assert_int_equal(est.interval_days, 9);
    assert_int_equal(est.quantity, 3);
    assert_int_equal(est.due_day, FEB01 + 18); /* 9 + 9 */
}

/*  Purchases on the same UTC day are one purchase.  FEB01 08:00 qty 1 and
    FEB01 19:00 qty 2 are one purchase of 3; FEB08 qty 3 another: gap 7,
    quantities 3, 3 -> 3.  The day ends at 23:59:59.999 UTC: a purchase then
    and one at 00:00:00.000 are a day apart.  */
static void test_same_day_is_one_purchase(void **state)
{
    (void)state;
    dn_reminder_purchase_t p[] = {s_buy(AT(FEB01, 19), 2, "rice"),
                                  s_buy(AT(FEB01, 8), 1, "rice"),
                                  s_buy(AT(FEB01 + 7, 11), 3, "rice")};
    dn_reminder_purchase_t edge[] = {s_buy(AT(FEB01 + 1, 0) - 1, 1, "rice"),
                                     s_buy(AT(FEB01 + 1, 0), 1, "rice")};
    dn_reminder_estimate_t est;

    assert_int_equal(dn_reminder_estimate(p, 3, 0, 0, MAR10, &est), 0);
    assert_int_equal(est.basis, DN_REMINDER_HISTORY);
    assert_int_equal(est.purchases, 2);
    assert_int_equal(est.interval_days, 7);
    assert_int_equal(est.quantity, 3);
    assert_int_equal(est.due_day, FEB01 + 14);

    assert_int_equal(dn_time_day(AT(FEB01 + 1, 0) - 1), FEB01);
    assert_int_equal(dn_time_day(AT(FEB01 + 1, 0)), FEB01 + 1);
    assert_int_equal(dn_reminder_estimate(edge, 2, 0, 0, MAR10, &est), 0);
    assert_int_equal(est.purchases, 2);
    assert_int_equal(est.interval_days, 1);
    assert_int_equal(est.due_day, FEB01 + 2);
    /* A merged day takes the later purchase's category (the catalog may
       have moved the SKU): 1 + 1 of a SKU now "tea", household 4:
       2 * 60 / 4 = 30 (as "rice" it would be 2 * 30 / 4 = 15).  */
    {
        dn_reminder_purchase_t moved[] = {s_buy(AT(FEB01, 9), 1, "rice"),
                                          s_buy(AT(FEB01, 17), 1, "tea")};
        assert_int_equal(dn_reminder_estimate(moved, 2, 1, 4, MAR10, &est), 0);
        assert_int_equal(est.basis, DN_REMINDER_HOUSEHOLD);
        assert_int_equal(est.quantity, 2);
        assert_int_equal(est.interval_days, 30);
    }
    /* Before 1970 the day still rounds down.  */
    assert_int_equal(dn_time_day(-1), -1);
    assert_int_equal(dn_time_day(-DAY_MS), -1);
    assert_int_equal(dn_time_day(-DAY_MS - 1), -2);
}

/*  One purchase: quantity * base_days / max(household, 1), rounded down,
    at least 1.  */
static void test_household_single_purchase(void **state)
{
    (void)state;
    static const struct {
        int64_t qty;
        const char *category;
        int has_household;
        int64_t household;
        dn_reminder_basis_t basis;
        int64_t interval;
    } cases[] = {
        {2, "rice", 1, 3, DN_REMINDER_HOUSEHOLD, 20},   /* 2 * 30 / 3 = 20 */
        {1, "rice", 1, 4, DN_REMINDER_HOUSEHOLD, 7},    /* 30 / 4 = 7.5 -> 7 */
        {1, "rice", 1, 1, DN_REMINDER_HOUSEHOLD, 30},   /* the 5 kg bag, one person */
        {1, "rice", 1, 0, DN_REMINDER_HOUSEHOLD, 30},   /* 30 / max(0, 1) = 30 */
        {1, "TEA", 1, 4, DN_REMINDER_HOUSEHOLD, 15},    /* 60 / 4 = 15, any case */
        {3, "drinks", 1, 2, DN_REMINDER_HOUSEHOLD, 10}, /* 3 * 7 / 2 = 10.5 -> 10 */
        {1, "milk", 1, 5, DN_REMINDER_HOUSEHOLD, 1},    /* 3 / 5 = 0 -> at least 1 */
        {1, "soap", 1, 2, DN_REMINDER_HOUSEHOLD, 15},   /* default 30 / 2 = 15 */
        {2, "", 1, 3, DN_REMINDER_HOUSEHOLD, 20},       /* no category: 2 * 30 / 3 */
        {2, "rice", 0, 0, DN_REMINDER_NONE, 0},         /* no household: no estimate */
    };
    for (size_t i = 0; i < N_OF(cases); i++) {
        dn_reminder_purchase_t p = s_buy(AT(MAR01, 15), cases[i].qty, cases[i].category);
        dn_reminder_estimate_t est;
        assert_int_equal(dn_reminder_estimate(&p, 1, cases[i].has_household,
                                              cases[i].household, MAR10, &est),
                         0);
        if (est.basis != cases[i].basis || est.interval_days != cases[i].interval)
            print_error("case %zu: basis %d interval %lld\n", i, (int)est.basis,
                        (long long)est.interval_days);
        assert_int_equal(est.basis, cases[i].basis);
        assert_int_equal(est.interval_days, cases[i].interval);
        assert_int_equal(est.purchases, 1);
        if (cases[i].basis == DN_REMINDER_HOUSEHOLD) {
            assert_int_equal(est.quantity, cases[i].qty);
            assert_int_equal(est.last_day, MAR01);
            assert_int_equal(est.due_day, MAR01 + cases[i].interval);
        } else {
            assert_int_equal(est.quantity, 0);
            assert_int_equal(est.due_day, 0);
        }
    }
    assert_int_equal(dn_reminder_base_days("Rice"), 30);
    assert_int_equal(dn_reminder_base_days("milk"), 3);
    assert_int_equal(dn_reminder_base_days(NULL), DN_REMINDER_DEFAULT_BASE_DAYS);
    assert_int_equal(dn_reminder_base_days("rice-5kg"), DN_REMINDER_DEFAULT_BASE_DAYS);
}

/*  Refunds.  FEB01 qty 2; FEB11 qty 2 refunded in full by line; FEB21 qty 5
    with 3 refunded.  Counted: FEB01 (2) and FEB21 (5 - 3 = 2): gap 20,
    quantity (2 + 2) / 2 = 2, due FEB21 + 20.  (Counting the refunded one
    would give gaps 10, 10 and due FEB21 + 10; ignoring the partial refund
    a quantity of (2 + 5) / 2 = 3.)  A sale refunded in full by amount does not
    count either: with FEB21's sale refunded, FEB01 is the one purchase, and
    the household estimate applies (2 * 30 / 2 = 30), or nothing without a
    household.  Everything refunded: no estimate at all.  */
static void test_refunded_purchases_do_not_count(void **state)
{
    (void)state;
    dn_reminder_purchase_t p[] = {s_buy(AT(FEB01, 10), 2, "rice"),
                                  s_buy(AT(FEB01 + 10, 10), 2, "rice"),
                                  s_buy(AT(FEB21, 10), 5, "rice")};
    dn_reminder_estimate_t est;

    p[1].refunded_qty = 2;
    p[2].refunded_qty = 3;
    assert_int_equal(dn_reminder_estimate(p, 3, 1, 2, MAR10, &est), 0);
    assert_int_equal(est.basis, DN_REMINDER_HISTORY);
    assert_int_equal(est.purchases, 2);
    assert_int_equal(est.interval_days, 20);
    assert_int_equal(est.quantity, 2);
    assert_int_equal(est.last_day, FEB21);
    assert_int_equal(est.due_day, FEB21 + 20);

    p[2].sale_refunded = 1; /* then the rest by amount: refunded_qty stays 3 */
    assert_int_equal(dn_reminder_estimate(p, 3, 1, 2, MAR10, &est), 0);
    assert_int_equal(est.basis, DN_REMINDER_HOUSEHOLD);
    assert_int_equal(est.purchases, 1);
    assert_int_equal(est.last_day, FEB01);
    assert_int_equal(est.interval_days, 30);
    assert_int_equal(est.due_day, FEB01 + 30);
    assert_int_equal(dn_reminder_estimate(p, 3, 0, 0, MAR10, &est), 0);
    assert_int_equal(est.basis, DN_REMINDER_NONE);

    p[0].refunded_qty = 2;
    assert_int_equal(dn_reminder_estimate(p, 3, 1, 2, MAR10, &est), 0);
    assert_int_equal(est.basis, DN_REMINDER_NONE);
    assert_int_equal(est.purchases, 0);
    assert_int_equal(dn_reminder_estimate(NULL, 0, 1, 2, MAR10, &est), 0);
    assert_int_equal(est.basis, DN_REMINDER_NONE);
}

/*  Purchases after today do not exist yet: as of FEB21 the FEB21 + 1
    purchase is ignored (one purchase left, household 1: 1 * 30 = 30); as
    of FEB21 + 1 it counts (gap 21 from FEB01, since FEB21 = FEB01 + 20).  */
static void test_purchases_after_today_ignored(void **state)
{
    (void)state;
    dn_reminder_purchase_t p[] = {s_buy(AT(FEB01, 10), 1, "rice"),
                                  s_buy(AT(FEB21 + 1, 0), 1, "rice")};
    dn_reminder_estimate_t est;

    assert_int_equal(dn_reminder_estimate(p, 2, 1, 1, FEB21, &est), 0);
    assert_int_equal(est.basis, DN_REMINDER_HOUSEHOLD);
    assert_int_equal(est.interval_days, 30);
    assert_int_equal(est.due_day, FEB01 + 30);
    assert_int_equal(dn_reminder_estimate(p, 2, 1, 1, FEB21 + 1, &est), 0);
    assert_int_equal(est.basis, DN_REMINDER_HISTORY);
    assert_int_equal(est.interval_days, 21);
    assert_int_equal(est.due_day, FEB21 + 1 + 21);
}

/*  Due date first (most overdue first), then phone, then SKU.  The three
    due MAR13 sort by phone first: 13600136000 OIL-1L, 13600136000 RICE-5KG,
    13900139000 APPLE-1KG (by SKU alone APPLE-1KG would come first).  */
static void test_sort(void **state)
{
    (void)state;
    dn_reminder_t items[5];
    static const struct {
        const char *phone, *sku;
        int64_t due;
    } in[] = {
        {"13900139000", "APPLE-1KG", MAR13}, {"+8613800138000", "RICE-5KG", MAR17},
        {"13600136000", "RICE-5KG", MAR13},  {"+8613800138000", "OIL-1L", MAR02},
        {"13600136000", "OIL-1L", MAR13},
    };
    static const char *want[] = {"+8613800138000 OIL-1L", "13600136000 OIL-1L",
                                 "13600136000 RICE-5KG", "13900139000 APPLE-1KG",
                                 "+8613800138000 RICE-5KG"};
    memset(items, 0, sizeof items);
    for (size_t i = 0; i < N_OF(in); i++) {
        snprintf(items[i].phone, sizeof items[i].phone, "%s", in[i].phone);
        snprintf(items[i].sku, sizeof items[i].sku, "%s", in[i].sku);
        items[i].est.due_day = in[i].due;
    }
    dn_reminder_sort(items, N_OF(items));
    for (size_t i = 0; i < N_OF(items); i++) {
        char got[96];
        snprintf(got, sizeof got, "%s %s", items[i].phone, items[i].sku);
        assert_string_equal(got, want[i]);
    }
    dn_reminder_sort(NULL, 0);
}

static void test_format_day(void **state)
{
    char text[DN_DATE_SIZE];
    (void)state;
    dn_time_format_day(0, text);
    assert_string_equal(text, "1970-01-01");
    dn_time_format_day(JAN01, text);
    assert_string_equal(text, "2026-01-01");
    dn_time_format_day(MAR01 - 1, text);
    assert_string_equal(text, "2026-02-28");
    dn_time_format_day(11016, text); /* 2000-02-29: 30 * 365 + 7 leap days + 59 */
    assert_string_equal(text, "2000-02-29");
    dn_time_format_day(-5, text); /* clamped */
    assert_string_equal(text, "1970-01-01");
    dn_time_format_day(INT64_MAX, text);
    assert_string_equal(text, "9999-12-31");
    assert_string_equal(dn_reminder_basis_name(DN_REMINDER_HISTORY), "history");
    assert_string_equal(dn_reminder_basis_name(DN_REMINDER_HOUSEHOLD), "household");
    assert_string_equal(dn_reminder_basis_name(DN_REMINDER_NONE), "none");
}

/*  A damaged file's quantities do not overflow: two purchases the same day
    of INT64_MAX saturate, and the household product is bounded.  */
static void test_huge_quantities(void **state)
{
    (void)state;
    dn_reminder_purchase_t p[] = {s_buy(AT(FEB01, 8), INT64_MAX, "tea"),
                                  s_buy(AT(FEB01, 9), INT64_MAX, "tea")};
    dn_reminder_estimate_t est;
    assert_int_equal(dn_reminder_estimate(p, 2, 1, 1, MAR10, &est), 0);
    assert_int_equal(est.basis, DN_REMINDER_HOUSEHOLD);
    assert_int_equal(est.quantity, INT64_MAX);
    assert_int_equal(est.interval_days, 60000000000LL); /* 1e9 * 60 */
}

/* -- the store: a site with members and dated sales ----------------------- */

typedef struct {
    char dir[64];
    dn_store_t *store;
} fixture_t;

static int s_setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    int err = 0;
    if (!fx)
        return -1;
    snprintf(fx->dir, sizeof fx->dir, "/tmp/test_reminder.XXXXXX");
    if (!mkdtemp(fx->dir) || dn_store_create(fx->dir, "SHOP-01", "DLR-7", "CNY") != 0 ||
        !(fx->store = dn_store_open(fx->dir, &err))) {
        free(fx);
        return -1;
    }
    *state = fx;
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *fx = *state;
    int rc;
    dn_store_destroy(&fx->store);
    rc = dn_tk_remove_tree(fx->dir);
    free(fx);
    return rc;
}

#define PHONE_A "+8613800138000" /* Li Wei, household 3 */
#define PHONE_B "13900139000"    /* Wang Fang, household 1; stored +8613900139000 */
#define PHONE_C "13700137000"    /* no name, no household; stored +8613700137000 */
#define PHONE_D "136 0013 6000"  /* buys, never signed up here; +8613600136000 */

static void s_member(dn_store_t *store, const char *phone, const char *name,
                     int has_household, int64_t household)
{
    dn_member_input_t in = {phone, name, NULL, has_household, household};
    dn_record_result_t out;
    char why[DN_WHY_SIZE] = "";
    int rc = dn_record_member_add(store, &in, &out, why, sizeof why);
    if (rc)
        print_error("%s\n", why);
    assert_int_equal(rc, 0);
}

/*  Records a sale of one line "SKU:QTY@PRICE" to member (NULL for none)
    and dates it at_ms, as if the clerk had recorded it then.  */
static void s_sale_at(dn_store_t *store, const char *member, const char *line_text,
                      int64_t at_ms, uint8_t id[DN_ID_BYTES])
{
    dn_record_line_t line;
    dn_record_result_t out;
    char why[DN_WHY_SIZE] = "";
    sqlite3_stmt *stmt;
    int rc = dn_record_parse_line(line_text, 2, &line, why, sizeof why);
    dn_sale_input_t in = {&line, 1, member, NULL, NULL, NULL};

    if (rc == 0)
        rc = dn_record_sale(store, &in, &out, why, sizeof why);
    if (rc)
        print_error("%s: %s\n", line_text, why);
    assert_int_equal(rc, 0);
    assert_int_equal(
        sqlite3_prepare_v2(dn_store_db(store),
                           "UPDATE sales SET recorded_at_ms = ? WHERE id = ?", -1, &stmt,
                           NULL),
        SQLITE_OK);
    sqlite3_bind_int64(stmt, 1, at_ms);
    sqlite3_bind_blob(stmt, 2, out.id, DN_ID_BYTES, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(stmt), SQLITE_DONE);
    assert_int_equal(sqlite3_changes(dn_store_db(store)), 1);
    sqlite3_finalize(stmt);
    if (id)
        memcpy(id, out.id, DN_ID_BYTES);
}

/*  Refunds a sale: of one line "SKU:QTY", or with line NULL of an amount
    (minor units).  */
static void s_refund(dn_store_t *store, const uint8_t sale_id[DN_ID_BYTES],
                     const char *line_text, int64_t amount)
{
    dn_record_line_t line;
    dn_refund_input_t in = {{0}, NULL, 0, 0, 0};
    dn_record_result_t out;
    char why[DN_WHY_SIZE] = "";
    int rc = 0;

    memcpy(in.sale_id, sale_id, DN_ID_BYTES);
    if (line_text) {
        rc = dn_record_parse_line(line_text, 2, &line, why, sizeof why);
        in.lines = &line;
        in.n_lines = 1;
    } else {
        in.has_amount = 1;
        in.amount = amount;
    }
    if (rc == 0)
        rc = dn_record_refund(store, &in, &out, why, sizeof why);
    if (rc)
        print_error("%s\n", why);
    assert_int_equal(rc, 0);
}

/*  The store scenario; "today" is MAR10 (day 20522).
      A  RICE-5KG (rice)  JAN06 2, JAN20 2, FEB03 1, MAR03 2
                          gaps 14, 14, 28: median 14; quantities 1, 2, 2, 2:
                          median (2 + 2) / 2 = 2; due MAR03 + 14 = MAR17,
                          in 7 days                                  history
      A  OIL-1L (oil)     FEB20 1; household 3: 1 * 30 / 3 = 10;
                          due FEB20 + 10 = MAR02, 8 days overdue (-8) household
      A  SOAP             MAR01 1, the sale refunded in full by amount:
                          no purchase left, not listed (else 1 * 30 / 3
                          = 10, due MAR11, in the window)
      B  RICE-5KG (rice)  FEB16 1; household 1: 30; due FEB16 + 30 = MAR18,
                          in 8 days                                  household
      B  TEA-500 (tea)    FEB01 1, FEB21 1, MAR01 1 refunded by line:
                          gap 20; due FEB21 + 20 = MAR13, in 3 days   history
                          (with the refunded one: gaps 20, 8 -> 14, MAR15)
      C  RICE-5KG         FEB16 2, no household: no estimate, not listed
      D  RICE-5KG         FEB25 1, MAR05 1 (D never signed up here): gap 8;
                          due MAR05 + 8 = MAR13, in 3 days            history
      -  RICE-5KG         FEB01 5, no member: not a purchase of anyone
    With --days 7 (due by MAR17), by due date then phone:
      A OIL-1L MAR02 -8, D RICE-5KG MAR13 3, B TEA-500 MAR13 3,
      A RICE-5KG MAR17 7 (exactly on the boundary).  B RICE-5KG (MAR18, 8)
    is one day out; --days 8 takes it, --days 6 drops A RICE-5KG.  */
static void s_scenario(dn_store_t *store)
{
    uint8_t soap[DN_ID_BYTES], tea[DN_ID_BYTES];

    assert_int_equal(dn_store_catalog_set(store, "RICE-5KG", 5990, "rice"), 0);
    assert_int_equal(dn_store_catalog_set(store, "OIL-1L", 1850, "oil"), 0);
    assert_int_equal(dn_store_catalog_set(store, "TEA-500", 4550, "tea"), 0);
    s_member(store, PHONE_A, "Li Wei", 1, 3);
    s_member(store, PHONE_B, "Wang Fang", 1, 1);
    s_member(store, PHONE_C, NULL, 0, 0);

    /* recorded out of date order: the query orders by time, not seq */
    s_sale_at(store, PHONE_A, "RICE-5KG:2", AT(MAR03, 17), NULL);
    s_sale_at(store, PHONE_A, "RICE-5KG:2", AT(JAN06, 9), NULL);
    s_sale_at(store, PHONE_A, "RICE-5KG:2", AT(JAN20, 10), NULL);
    s_sale_at(store, PHONE_A, "RICE-5KG:1", AT(FEB03, 11), NULL);
    s_sale_at(store, PHONE_A, "OIL-1L:1", AT(FEB20, 12), NULL);
    s_sale_at(store, PHONE_A, "SOAP:1@3.25", AT(MAR01, 13), soap);
    s_refund(store, soap, NULL, 325); /* 3.25: all of it */
    s_sale_at(store, PHONE_B, "RICE-5KG:1", AT(FEB16, 14), NULL);
    s_sale_at(store, PHONE_B, "TEA-500:1", AT(FEB01, 15), NULL);
    s_sale_at(store, PHONE_B, "TEA-500:1", AT(FEB21, 16), NULL);
    s_sale_at(store, PHONE_B, "TEA-500:1", AT(MAR01, 8), tea);
    s_refund(store, tea, "TEA-500:1", 0);
    s_sale_at(store, PHONE_C, "RICE-5KG:2", AT(FEB16, 9), NULL);
    s_sale_at(store, PHONE_D, "RICE-5KG:1", AT(FEB25, 10), NULL);
    s_sale_at(store, PHONE_D, "RICE-5KG:1", AT(MAR05, 11), NULL);
    s_sale_at(store, NULL, "RICE-5KG:5", AT(FEB01, 12), NULL);
}

/*  What the query returns, one row per line as "phone|name|household|sku|
    category|day|qty|refunded_qty|sale_refunded".  */
typedef struct {
    char rows[32][128];
    size_t n;
} s_rows_t;

static int s_collect(const dn_store_purchase_t *p, void *arg)
{
    s_rows_t *r = arg;
    char household[24] = "-";
    assert_true(r->n < N_OF(r->rows));
    if (p->has_household)
        snprintf(household, sizeof household, "%lld", (long long)p->household);
    snprintf(r->rows[r->n++], sizeof r->rows[0], "%s|%s|%s|%s|%s|%lld|%lld|%lld|%d",
             p->phone, p->name ? p->name : "-", household, p->sku,
             p->category ? p->category : "-",
             (long long)dn_time_day(p->recorded_at_ms), (long long)p->quantity,
             (long long)p->refunded_qty, p->sale_refunded);
    return 0;
}

static int s_stop_at_3(const dn_store_purchase_t *p, void *arg)
{
    (void)p;
    return ++*(int *)arg == 3 ? 42 : 0;
}

static void test_store_purchases(void **state)
{
    fixture_t *fx = *state;
    s_rows_t r;
    int calls = 0;
    /* ordered by phone (stored canonical, +86 with the site's CNY), SKU,
       time; the sale without a member is not there */
    static const char *want[] = {
        "+8613600136000|-|-|RICE-5KG|rice|20509|1|0|0",         /* FEB25 */
        "+8613600136000|-|-|RICE-5KG|rice|20517|1|0|0",         /* MAR05 */
        "+8613700137000|-|-|RICE-5KG|rice|20500|2|0|0",         /* FEB16 */
        "+8613800138000|Li Wei|3|OIL-1L|oil|20504|1|0|0",       /* FEB20 */
        "+8613800138000|Li Wei|3|RICE-5KG|rice|20459|2|0|0",    /* JAN06 */
        "+8613800138000|Li Wei|3|RICE-5KG|rice|20473|2|0|0",    /* JAN20 */
        "+8613800138000|Li Wei|3|RICE-5KG|rice|20487|1|0|0",    /* FEB03 */
        "+8613800138000|Li Wei|3|RICE-5KG|rice|20515|2|0|0",    /* MAR03 */
        "+8613800138000|Li Wei|3|SOAP|-|20513|1|0|1",           /* MAR01, by amount */
        "+8613900139000|Wang Fang|1|RICE-5KG|rice|20500|1|0|0", /* FEB16 */
        "+8613900139000|Wang Fang|1|TEA-500|tea|20485|1|0|0",   /* FEB01 */
        "+8613900139000|Wang Fang|1|TEA-500|tea|20505|1|0|0",   /* FEB21 */
        "+8613900139000|Wang Fang|1|TEA-500|tea|20513|1|1|1",   /* MAR01, by line */
    };

    memset(&r, 0, sizeof r);
    s_scenario(fx->store);
    assert_int_equal(dn_store_member_purchases(fx->store, s_collect, &r), 0);
    for (size_t i = 0; i < r.n && i < N_OF(want); i++)
        assert_string_equal(r.rows[i], want[i]);
    assert_int_equal(r.n, N_OF(want));
    /* fn's value stops the walk and is returned */
    assert_int_equal(dn_store_member_purchases(fx->store, s_stop_at_3, &calls), 42);
    assert_int_equal(calls, 3);
}

static void test_store_empty(void **state)
{
    fixture_t *fx = *state;
    dn_reminder_t *items = (dn_reminder_t *)1;
    size_t n = 99;
    json_t *json;
    char *text;

    assert_int_equal(dn_reminder_list(fx->store, MAR10, 7, &items, &n), 0);
    assert_null(items);
    assert_int_equal(n, 0);
    json = dn_reminder_json(items, n);
    text = json_dumps(json, JSON_COMPACT);
    assert_string_equal(text, "[]");
    free(text);
    json_decref(json);
}

/*  "phone sku last interval qty due days basis" of each entry.  */
static void s_check_list(dn_store_t *store, int64_t days, const char **want,
                         size_t n_want)
{
    dn_reminder_t *items;
    size_t n;
    assert_int_equal(dn_reminder_list(store, MAR10, days, &items, &n), 0);
    for (size_t i = 0; i < n && i < n_want; i++) {
        char got[160], last[DN_DATE_SIZE], due[DN_DATE_SIZE];
        dn_time_format_day(items[i].est.last_day, last);
        dn_time_format_day(items[i].est.due_day, due);
        snprintf(got, sizeof got, "%s %s %s %lld %lld %s %lld %s", items[i].phone,
                 items[i].sku, last, (long long)items[i].est.interval_days,
                 (long long)items[i].est.quantity, due,
                 (long long)items[i].days_until_due,
                 dn_reminder_basis_name(items[i].est.basis));
        assert_string_equal(got, want[i]);
    }
    assert_int_equal(n, n_want);
    free(items);
}

static void test_store_call_list(void **state)
{
    fixture_t *fx = *state;
    static const char *week[] = {
        "+8613800138000 OIL-1L 2026-02-20 10 1 2026-03-02 -8 household",
        "+8613600136000 RICE-5KG 2026-03-05 8 1 2026-03-13 3 history",
        "+8613900139000 TEA-500 2026-02-21 20 1 2026-03-13 3 history",
        "+8613800138000 RICE-5KG 2026-03-03 14 2 2026-03-17 7 history",
    };
    static const char *eight[] = {
        "+8613800138000 OIL-1L 2026-02-20 10 1 2026-03-02 -8 household",
        "+8613600136000 RICE-5KG 2026-03-05 8 1 2026-03-13 3 history",
        "+8613900139000 TEA-500 2026-02-21 20 1 2026-03-13 3 history",
        "+8613800138000 RICE-5KG 2026-03-03 14 2 2026-03-17 7 history",
        "+8613900139000 RICE-5KG 2026-02-16 30 1 2026-03-18 8 household",
    };
    static const char *today[] = {
        "+8613800138000 OIL-1L 2026-02-20 10 1 2026-03-02 -8 household",
    };

    s_scenario(fx->store);
    s_check_list(fx->store, 7, week, N_OF(week));   /* MAR17 = MAR10 + 7 is in */
    s_check_list(fx->store, 8, eight, N_OF(eight)); /* MAR18 = MAR10 + 8 too */
    s_check_list(fx->store, 6, week, 3);            /* MAR17 is out */
    s_check_list(fx->store, 0, today, 1);           /* overdue only */
}

static void test_store_json(void **state)
{
    fixture_t *fx = *state;
    dn_reminder_t *items;
    size_t n;
    json_t *json;
    char *text;

    s_scenario(fx->store);
    assert_int_equal(dn_reminder_list(fx->store, MAR10, 7, &items, &n), 0);
    assert_int_equal(n, 4);
    json = dn_reminder_json(items, 2);
    text = json_dumps(json, JSON_COMPACT | JSON_PRESERVE_ORDER);
    assert_string_equal(
        text,
        "[{\"phone\":\"+8613800138000\",\"name\":\"Li Wei\",\"sku\":\"OIL-1L\","
        "\"last_purchase\":\"2026-02-20\",\"usual_quantity\":1,\"interval_days\":10,"
        "\"due_date\":\"2026-03-02\",\"days_until_due\":-8,\"basis\":\"household\"},"
        "{\"phone\":\"+8613600136000\",\"name\":null,\"sku\":\"RICE-5KG\","
        "\"last_purchase\":\"2026-03-05\",\"usual_quantity\":1,\"interval_days\":8,"
        "\"due_date\":\"2026-03-13\",\"days_until_due\":3,\"basis\":\"history\"}]");
    free(text);
    json_decref(json);
    free(items);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, s_setup, s_teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_history_median_resists_odd_gap),
        cmocka_unit_test(test_history_even_counts_round_down),
        cmocka_unit_test(test_same_day_is_one_purchase),
        cmocka_unit_test(test_household_single_purchase),
        cmocka_unit_test(test_refunded_purchases_do_not_count),
        cmocka_unit_test(test_purchases_after_today_ignored),
        cmocka_unit_test(test_sort),
        cmocka_unit_test(test_format_day),
        cmocka_unit_test(test_huge_quantities),
        T(test_store_purchases),
        T(test_store_empty),
        T(test_store_call_list),
        T(test_store_json),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
