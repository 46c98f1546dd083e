/*  test_time -- unit tests for dn_time's calendar: days and months.

    Every figure below is worked out by hand.  Days are counted from
    1970-01-01 (UTC), a day is 86,400,000 ms:
      2024-01-01 is day 19723: 54 years of 365 days plus 13 leap days
      (1972, 1976, ..., 2020), 54 * 365 + 13 = 19723.  2024 is a leap year,
      so 2024-02-01 = 19723 + 31 = 19754 and 2024-03-01 = 19754 + 29 = 19783.
      2026-01-01 is day 20454: 56 * 365 + 14 (1972 .. 2024).  Jan .. Nov
      2026 have 31+28+31+30+31+30+31+31+30+31+30 = 334 days, so 2026-12-01
      = 20788, and 2027-01-01 = 20454 + 365 = 20819.
      2100-01-01 is day 47482: 130 * 365 + 32 leap days (1972 .. 2096, 2000
      included since it divides by 400).  2100 divides by 100 and not by
      400, so it is NOT a leap year: 2100-02-01 = 47482 + 31 = 47513 and
      2100-03-01 = 47513 + 28 = 47541.
      9999-12-31 is day 2932896 (dn_time's last day), so 10000-01-01 is
      2932897 and 9999-12-01 = 2932897 - 31 = 2932866.
    The calendar is UTC: a sale at 2026-11-30T16:00Z, already 1 December in
    Beijing (UTC+8), is in period 2026-11, as it has always been.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dn_error.h"
#include "dn_time.h"

#define ROWS(table) (sizeof(table) / sizeof((table)[0]))
#define DAY_MS      86400000LL
#define HOUR_MS     3600000LL

static void test_parse_period_ranges(void **state)
{
    (void)state;
    static const struct {
        const char *period;
        int64_t from_ms, to_ms;
    } rows[] = {
        {"1970-01", 0, 2678400000LL},                  /* 31 * DAY_MS */
        {"2024-02", 1706745600000LL, 1709251200000LL}, /* days 19754 .. 19783: 29 days */
        {"2100-02", 4105123200000LL, 4107542400000LL}, /* days 47513 .. 47541: 28 days */
        {"2026-12", 1796083200000LL,
         1798761600000LL}, /* days 20788 .. 20819 (2027-01-01) */
        {"9999-12", 253399622400000LL, 253402300800000LL}, /* 2932866 .. 2932897 */
    };
    for (size_t i = 0; i < ROWS(rows); i++) {
        int64_t from = -1, to = -1;
        assert_int_equal(dn_time_parse_period(rows[i].period, &from, &to), 0);
        assert_int_equal(from, rows[i].from_ms);
        assert_int_equal(to, rows[i].to_ms);
    }
    /* the day counts behind them */
    assert_int_equal(1709251200000LL - 1706745600000LL, 29 * DAY_MS);
    assert_int_equal(4107542400000LL - 4105123200000LL, 28 * DAY_MS);
    assert_int_equal(1798761600000LL - 1796083200000LL, 31 * DAY_MS);
    /* either end may be left out */
    int64_t to = 0;
    assert_int_equal(dn_time_parse_period("2024-02", NULL, &to), 0);
    assert_int_equal(to, 1709251200000LL);
    assert_int_equal(dn_time_parse_period("2024-02", NULL, NULL), 0);
}

static void test_parse_period_refuses(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "2026-13", "2026-00", "1969-12", "2026-1",     "2026-011",  "2026/11",  "20a6-11",
        "2026-1a", "",        "2026",    "2026-11-01", "2026-11\n", " 2026-11", "+026-11",
    };
    for (size_t i = 0; i < ROWS(bad); i++) {
        int64_t from = 7, to = 7;
        assert_int_equal(dn_time_parse_period(bad[i], &from, &to), DN_EPARSE);
        assert_int_equal(from, 7); /* untouched */
        assert_int_equal(to, 7);
    }
    assert_int_equal(dn_time_parse_period(NULL, NULL, NULL), DN_EPARSE);
}

static void test_period_of(void **state)
{
    (void)state;
    static const struct {
        int64_t unix_ms;
        const char *period;
    } rows[] = {
        {0, "1970-01"},
        {-1, "1969-12"},                  /* the last ms before the epoch */
        {1709251200000LL - 1, "2024-02"}, /* 2024-02-29T23:59:59.999Z */
        {1709251200000LL, "2024-03"},
        {1798761600000LL - 1, "2026-12"}, /* 2026-12-31T23:59:59.999Z */
        {1798761600000LL, "2027-01"},     /* December -> January */
        /* 2026-11-30T16:00Z = day 20787 + 16 h: 1 December in UTC+8, still
           November in the calendar's zone, UTC */
        {20787 * DAY_MS + 16 * HOUR_MS, "2026-11"},
        {4107542400000LL - 1, "2100-02"}, /* 2100-02-28T23:59:59.999Z: no 29th */
    };
    for (size_t i = 0; i < ROWS(rows); i++) {
        char period[DN_PERIOD_SIZE];
        dn_time_period_of(rows[i].unix_ms, period);
        assert_string_equal(period, rows[i].period);
    }
}

static void test_period_next(void **state)
{
    (void)state;
    static const struct {
        const char *from, *next;
    } rows[] = {
        {"2026-11", "2026-12"}, {"2026-12", "2027-01"}, {"2024-01", "2024-02"},
        {"2024-02", "2024-03"}, {"1970-01", "1970-02"}, {"9999-12", "0000-01"},
    };
    for (size_t i = 0; i < ROWS(rows); i++) {
        char period[DN_PERIOD_SIZE];
        memcpy(period, rows[i].from, DN_PERIOD_SIZE);
        dn_time_period_next(period);
        assert_string_equal(period, rows[i].next);
    }
    /* a month's end is the next month's start */
    int64_t to, next_from;
    char period[DN_PERIOD_SIZE] = "2026-12";
    assert_int_equal(dn_time_parse_period(period, NULL, &to), 0);
    dn_time_period_next(period);
    assert_int_equal(dn_time_parse_period(period, &next_from, NULL), 0);
    assert_int_equal(to, next_from);
}

static void test_days(void **state)
{
    (void)state;
    static const struct {
        int64_t unix_ms, day;
    } rows[] = {
        {0, 0},
        {DAY_MS - 1, 0},
        {DAY_MS, 1},
        {-1, -1}, /* rounded down, not toward zero */
        {-DAY_MS, -1},
        {-DAY_MS - 1, -2},
        {19782 * DAY_MS + 23 * HOUR_MS, 19782}, /* 2024-02-29T23:00Z */
    };
    for (size_t i = 0; i < ROWS(rows); i++)
        assert_int_equal(dn_time_day(rows[i].unix_ms), rows[i].day);
}

static void test_format_day(void **state)
{
    (void)state;
    static const struct {
        int64_t day;
        const char *text;
    } rows[] = {
        {0, "1970-01-01"},         {19782, "2024-02-29"}, /* 19754 + 28 */
        {19783, "2024-03-01"},     {47540, "2100-02-28"}, /* 47513 + 27 */
        {47541, "2100-03-01"},                            /* no 2100-02-29 */
        {20818, "2026-12-31"},     {20819, "2027-01-01"},
        {-5, "1970-01-01"},        /* clamped */
        {2932896, "9999-12-31"},   /* the last day */
        {INT64_MAX, "9999-12-31"}, /* clamped */
    };
    for (size_t i = 0; i < ROWS(rows); i++) {
        char text[DN_DATE_SIZE];
        int64_t ms;
        dn_time_format_day(rows[i].day, text);
        assert_string_equal(text, rows[i].text);
        /* and back, where the day is in range */
        if (rows[i].day >= 0 && rows[i].day <= 2932896) {
            assert_int_equal(dn_time_parse_date(text, &ms), 0);
            assert_int_equal(ms, rows[i].day * DAY_MS);
        }
    }
}

static void test_parse_date_leap_years(void **state)
{
    (void)state;
    int64_t ms = 0;
    assert_int_equal(dn_time_parse_date("2024-02-29", &ms), 0);
    assert_int_equal(ms, 19782 * DAY_MS);
    assert_int_equal(dn_time_parse_date("2000-02-29", &ms), 0);
    assert_int_equal(ms, 11016 * DAY_MS); /* 30 * 365 + 7 leap days + 59 */
    assert_int_equal(dn_time_parse_date("2100-02-29", &ms), DN_EPARSE);
    assert_int_equal(dn_time_parse_date("2026-02-29", &ms), DN_EPARSE);
    assert_int_equal(dn_time_parse_date("2026-04-31", &ms), DN_EPARSE);
    assert_int_equal(dn_time_parse_date("1969-12-31", &ms), DN_EPARSE);
    assert_int_equal(ms, 11016 * DAY_MS); /* untouched by the refusals */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_period_ranges),
        cmocka_unit_test(test_parse_period_refuses),
        cmocka_unit_test(test_period_of),
        cmocka_unit_test(test_period_next),
        cmocka_unit_test(test_days),
        cmocka_unit_test(test_format_day),
        cmocka_unit_test(test_parse_date_leap_years),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
