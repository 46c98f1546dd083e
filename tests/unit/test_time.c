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
    Until a zone is set the calendar is UTC: a sale at 2026-11-30T16:00Z,
    already 1 December in Beijing (UTC+8), is in period 2026-11.

    The zoned calendar (the tests from test_zone_names on; each case sets
    its zone, the teardown goes back to UTC), figures by hand:
      2026-12-01T00:00Z is day 20788 * DAY_MS = 1796083200000 (above).
      Asia/Shanghai is UTC+8 all year (no DST since 1991): 1 December
      begins 8 h earlier, 1796083200000 - 28800000 = 1796054400000, and
      2027-01-01 at 1798761600000 - 28800000 = 1798732800000.
      Europe/London, 2026: 1 March is a Sunday (1 January a Thursday, +59
      days), so the last Sunday of March is the 29th (day 20454 + 31 + 28
      + 28 = 20541, 20541 * DAY_MS = 1774742400000); clocks go from
      01:00 GMT to 02:00 BST at 01:00Z, so that day has 23 h and
      2026-03-30 begins at 23:00Z, 1774742400000 + 23 h = 1774825200000.
      1 October is a Thursday (+214 days from 1 March), the last Sunday
      the 25th, day 20454 + 273 + 24 = 20751: it begins at 00:00 BST =
      23:00Z the day before, 20751 * DAY_MS - 1 h = 1792882800000, and
      lasts 25 h (02:00 BST back to 01:00 GMT at 01:00Z) to 20752 *
      DAY_MS = 1792972800000.
      America/Sao_Paulo, 2018-11-04 (day 17839): clocks went from 00:00
      to 01:00 (-03 to -02), so the day has no midnight; its first instant
      is 01:00-02 = 03:00Z = 17839 * DAY_MS + 3 h = 1541300400000.
      America/New_York is UTC-5 in winter: 2027-01-01 begins at 05:00Z,
      1798761600000 + 18000000 = 1798779600000; 2027-02-01 (day 20819 +
      31 = 20850) at 20850 * DAY_MS + 5 h = 1801458000000.
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

#define DEC1_UTC      1796083200000LL /* 2026-12-01T00:00Z */
#define DEC1_SHANGHAI 1796054400000LL /* 2026-12-01T00:00+08:00 */
#define JAN1_SHANGHAI 1798732800000LL /* 2027-01-01T00:00+08:00 */
#define NOV1_UTC      1793491200000LL /* 2026-12-01 - 30 days */

static int s_back_to_utc(void **state)
{
    (void)state;
    return dn_time_zone_set(DN_TIME_ZONE_UTC, 0);
}

static void test_zone_names(void **state)
{
    (void)state;
    char rule[DN_TIME_ZONE_SIZE];
    assert_string_equal(dn_time_zone(), "UTC");
    assert_int_equal(dn_time_zone_check("Asia/Shanghai", rule), 0);
    assert_string_equal(rule, "CST-8");
    assert_int_equal(dn_time_zone_check("Europe/London", rule), 0);
    assert_string_equal(rule, "GMT0BST,M3.5.0/1,M10.5.0");
    assert_int_equal(dn_time_zone_check("UTC", rule), 0);
    assert_string_equal(rule, "UTC0");
    assert_int_equal(dn_time_zone_check("Asia/Beijing", NULL), DN_ENOENT); /* not a zone */
    assert_int_equal(dn_time_zone_check("Asia", NULL), DN_ENOENT);         /* a folder */
    assert_int_equal(dn_time_zone_check("../../etc/passwd", NULL), DN_ENOENT);
    assert_int_equal(dn_time_zone_set("Asia/Beijing", 0), DN_ENOENT);
    assert_int_equal(dn_time_zone_set("Beijing", 0), DN_EPARSE);
    assert_string_equal(dn_time_zone(), "UTC"); /* a refused zone changes nothing */
    assert_string_equal(dn_time_zone_default("CNY"), "Asia/Shanghai");
    assert_string_equal(dn_time_zone_default("VND"), "Asia/Ho_Chi_Minh");
    assert_string_equal(dn_time_zone_default("USD"), "UTC");
    /* every default is a zone the database holds */
    static const char *const cur[] = {"CNY", "HKD", "MOP", "TWD", "SGD",
                                      "MYR", "JPY", "KRW", "THB", "VND"};
    for (size_t i = 0; i < ROWS(cur); i++)
        assert_int_equal(dn_time_zone_check(dn_time_zone_default(cur[i]), NULL), 0);
}

/*  Beijing: the day and the month begin at 00:00 local, 16:00Z the day
    before.  The sales at 07:59 and 08:01 Beijing on 1 December
    are both in December now (in UTC they were 30 November and 1
    December); the boundary is at 23:59 / 00:01 Beijing.  The POSIX rule
    gives the same days as the name.  */
static void test_zone_shanghai(void **state)
{
    (void)state;
    char text[DN_TIME_TEXT_SIZE], period[DN_PERIOD_SIZE];
    int64_t ms, from, to;
    const char *zones[] = {"Asia/Shanghai", "CST-8"};
    for (size_t z = 0; z < ROWS(zones); z++) {
        assert_int_equal(dn_time_zone_set(zones[z], 0), 0);
        assert_string_equal(dn_time_zone(), zones[z]);
        dn_time_format(DEC1_UTC - 60000, text); /* 07:59 Beijing */
        assert_string_equal(text, "2026-12-01T07:59:00.000+08:00");
        dn_time_format(DEC1_UTC + 60000, text); /* 08:01 */
        assert_string_equal(text, "2026-12-01T08:01:00.000+08:00");
        dn_time_format(DEC1_SHANGHAI - 60000 + 123, text);
        assert_string_equal(text, "2026-11-30T23:59:00.123+08:00");
        assert_int_equal(dn_time_day(DEC1_UTC - 60000), 20788);
        assert_int_equal(dn_time_day(DEC1_UTC + 60000), 20788);
        assert_int_equal(dn_time_day(DEC1_SHANGHAI - 1), 20787);
        assert_int_equal(dn_time_day(DEC1_SHANGHAI), 20788);
        assert_int_equal(dn_time_day_start(20788), DEC1_SHANGHAI);
        assert_int_equal(dn_time_parse_date("2026-12-01", &ms), 0);
        assert_int_equal(ms, DEC1_SHANGHAI);
        dn_time_period_of(DEC1_UTC - 60000, period);
        assert_string_equal(period, "2026-12");
        dn_time_period_of(DEC1_SHANGHAI - 1, period);
        assert_string_equal(period, "2026-11");
        assert_int_equal(dn_time_parse_period("2026-12", &from, &to), 0);
        assert_int_equal(from, DEC1_SHANGHAI);
        assert_int_equal(to, JAN1_SHANGHAI);
    }
}

/*  London on its change days: 23 h in March, 25 h in October, the offset
    printed as it is on each side (+00:00 in winter: not "Z", which is the
    zone UTC's).  */
static void test_zone_london_dst(void **state)
{
    (void)state;
    char text[DN_TIME_TEXT_SIZE];
    int64_t ms;
    assert_int_equal(dn_time_zone_set("Europe/London", 0), 0);
    assert_int_equal(dn_time_day_start(20541), 1774742400000LL);
    assert_int_equal(dn_time_day_start(20542), 1774825200000LL);
    assert_int_equal(dn_time_day_start(20542) - dn_time_day_start(20541), 23 * HOUR_MS);
    dn_time_format(1774742400000LL + HOUR_MS - 1, text);
    assert_string_equal(text, "2026-03-29T00:59:59.999+00:00");
    dn_time_format(1774742400000LL + HOUR_MS, text);
    assert_string_equal(text, "2026-03-29T02:00:00.000+01:00");
    assert_int_equal(dn_time_parse_date("2026-10-25", &ms), 0);
    assert_int_equal(ms, 1792882800000LL);
    assert_int_equal(dn_time_day_start(20752), 1792972800000LL);
    assert_int_equal(dn_time_day_start(20752) - dn_time_day_start(20751), 25 * HOUR_MS);
    assert_int_equal(dn_time_day(1792882800000LL - 1), 20750);
    assert_int_equal(dn_time_day(1792972800000LL - 1), 20751);
    /* a day without a midnight begins at its first instant */
    assert_int_equal(dn_time_zone_set("America/Sao_Paulo", 0), 0);
    assert_int_equal(dn_time_day_start(17839), 1541300400000LL);
    dn_time_format(1541300400000LL, text);
    assert_string_equal(text, "2018-11-04T01:00:00.000-02:00");
    assert_int_equal(dn_time_day(1541300400000LL - 1), 17838);
}

/*  UTC set again: the old calendar and the old text, "Z".  */
static void test_zone_utc(void **state)
{
    (void)state;
    char text[DN_TIME_TEXT_SIZE], period[DN_PERIOD_SIZE];
    int64_t ms;
    assert_int_equal(dn_time_zone_set("Asia/Shanghai", 0), 0);
    assert_int_equal(dn_time_zone_set("UTC", 0), 0);
    dn_time_format(DEC1_UTC - 60000, text);
    assert_string_equal(text, "2026-11-30T23:59:00.000Z");
    dn_time_period_of(DEC1_UTC - 1, period);
    assert_string_equal(period, "2026-11");
    assert_int_equal(dn_time_parse_date("2026-12-01", &ms), 0);
    assert_int_equal(ms, DEC1_UTC);
    assert_int_equal(dn_time_day(DEC1_UTC - 1), 20787);
}

/*  Every time is in the period whose range holds it: checked every 7
    minutes over two days around each month's end.  */
static void s_ranges_agree(int64_t around_ms)
{
    char period[DN_PERIOD_SIZE];
    int64_t from, to;
    for (int64_t t = around_ms - 26 * HOUR_MS; t < around_ms + 26 * HOUR_MS; t += 7 * 60000) {
        dn_time_period_of(t, period);
        assert_int_equal(dn_time_parse_period(period, &from, &to), 0);
        assert_true(from <= t && t < to);
    }
}

/*  zone_from = 2026-12-01T00:00Z: before it UTC months, from it local ones
    but never before December.  East (Shanghai: the zoned December begins
    at zone_from, 08:00 local, and ends at the local new year) and west
    (New York: 30 November 19:00 local is already December).  */
static void test_zone_from(void **state)
{
    (void)state;
    char period[DN_PERIOD_SIZE];
    int64_t from, to;

    assert_int_equal(dn_time_zone_set("Asia/Shanghai", DEC1_UTC), 0);
    assert_int_equal(dn_time_zone_from(), DEC1_UTC);
    dn_time_period_of(DEC1_UTC - 4 * HOUR_MS, period); /* 04:00 on 1 Dec in Beijing */
    assert_string_equal(period, "2026-11");
    dn_time_period_of(DEC1_UTC, period);
    assert_string_equal(period, "2026-12");
    dn_time_period_of(JAN1_SHANGHAI - 1, period);
    assert_string_equal(period, "2026-12");
    dn_time_period_of(JAN1_SHANGHAI, period);
    assert_string_equal(period, "2027-01");
    assert_int_equal(dn_time_parse_period("2026-11", &from, &to), 0);
    assert_int_equal(from, NOV1_UTC);
    assert_int_equal(to, DEC1_UTC);
    assert_int_equal(dn_time_parse_period("2026-12", &from, &to), 0);
    assert_int_equal(from, DEC1_UTC);
    assert_int_equal(to, JAN1_SHANGHAI);
    assert_int_equal(dn_time_parse_period("2027-01", &from, NULL), 0);
    assert_int_equal(from, JAN1_SHANGHAI);
    s_ranges_agree(DEC1_UTC);
    s_ranges_agree(JAN1_SHANGHAI);

    assert_int_equal(dn_time_zone_set("America/New_York", DEC1_UTC), 0);
    dn_time_period_of(DEC1_UTC - 1, period);
    assert_string_equal(period, "2026-11");
    dn_time_period_of(DEC1_UTC, period); /* 19:00 on 30 Nov in New York */
    assert_string_equal(period, "2026-12");
    dn_time_period_of(1798779600000LL - 1, period);
    assert_string_equal(period, "2026-12");
    dn_time_period_of(1798779600000LL, period);
    assert_string_equal(period, "2027-01");
    assert_int_equal(dn_time_parse_period("2026-12", &from, &to), 0);
    assert_int_equal(from, DEC1_UTC);
    assert_int_equal(to, 1798779600000LL);
    assert_int_equal(dn_time_parse_period("2027-01", &from, &to), 0);
    assert_int_equal(from, 1798779600000LL);
    assert_int_equal(to, 1801458000000LL);
    s_ranges_agree(DEC1_UTC);
    s_ranges_agree(1798779600000LL);

    /* zone_from 0 (a new network): every month local */
    assert_int_equal(dn_time_zone_set("Asia/Shanghai", 0), 0);
    dn_time_period_of(DEC1_UTC - 4 * HOUR_MS, period);
    assert_string_equal(period, "2026-12");
    assert_int_equal(dn_time_parse_period("2026-11", NULL, &to), 0);
    assert_int_equal(to, DEC1_SHANGHAI);
    s_ranges_agree(DEC1_SHANGHAI);
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
        cmocka_unit_test_teardown(test_zone_names, s_back_to_utc),
        cmocka_unit_test_teardown(test_zone_shanghai, s_back_to_utc),
        cmocka_unit_test_teardown(test_zone_london_dst, s_back_to_utc),
        cmocka_unit_test_teardown(test_zone_utc, s_back_to_utc),
        cmocka_unit_test_teardown(test_zone_from, s_back_to_utc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
