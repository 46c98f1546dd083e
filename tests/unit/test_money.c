/*  test_money -- unit tests for dn_money.

    Every expected figure below was worked out by hand, including the exact
    .5 ties that half-to-even rounding decides and the int64 limits, so a
    change in rounding or range checking shows up as a named failing row.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dn_error.h"
#include "dn_money.h"

#define ROWS(table) (sizeof(table) / sizeof((table)[0]))

static void test_exponent(void **state)
{
    (void)state;
    static const struct {
        const char *code;
        int exponent;
    } rows[] = {
        {"CNY", 2}, {"HKD", 2}, {"TWD", 2}, {"USD", 2}, {"EUR", 2}, {"GBP", 2},
        {"SGD", 2}, {"AUD", 2}, {"CAD", 2}, {"CHF", 2}, {"JPY", 0}, {"KRW", 0},
        {"VND", 0}, {"BHD", 3}, {"KWD", 3}, {"JOD", 3}, {"OMR", 3}, {"TND", 3},
    };
    for (size_t i = 0; i < ROWS(rows); i++) {
        int got = dn_money_exponent(rows[i].code);
        if (got != rows[i].exponent)
            fail_msg("%s: exponent %d, want %d", rows[i].code, got, rows[i].exponent);
    }
    assert_int_equal(dn_money_exponent("XXX"), DN_ECURRENCY);
    assert_int_equal(dn_money_exponent("cny"), DN_ECURRENCY);
    assert_int_equal(dn_money_exponent("CN"), DN_ECURRENCY);
    assert_int_equal(dn_money_exponent("CNYY"), DN_ECURRENCY);
    assert_int_equal(dn_money_exponent(""), DN_ECURRENCY);
    assert_int_equal(dn_money_exponent(NULL), DN_ECURRENCY);
}

static void test_mul_bps_rounding(void **state)
{
    (void)state;
    static const struct {
        int64_t amount;
        int64_t bps;
        int64_t expected; /* round_half_even(amount * bps / 10000) */
    } rows[] = {
        {25, 2000, 5},       /* 5.0 exactly */
        {5, 5000, 2},        /* 2.5 -> 2 (even) */
        {15, 5000, 8},       /* 7.5 -> 8 (even) */
        {1, 5000, 0},        /* 0.5 -> 0 (even) */
        {3, 5000, 2},        /* 1.5 -> 2 (even) */
        {7, 5000, 4},        /* 3.5 -> 4 */
        {9, 5000, 4},        /* 4.5 -> 4 */
        {-5, 5000, -2},      /* -2.5 -> -2 */
        {-15, 5000, -8},     /* -7.5 -> -8 */
        {-1, 5000, 0},       /* -0.5 -> 0 */
        {-3, 5000, -2},      /* -1.5 -> -2 */
        {5, -5000, -2},      /* negative rate, same magnitude rule */
        {-5, -5000, 2},      /* -2.5 * -1 = 2.5 -> 2 */
        {1, 5001, 1},        /* 0.5001 -> 1, just above the tie */
        {1, 4999, 0},        /* 0.4999 -> 0, just below the tie */
        {-1, 5001, -1},      /* -0.5001 -> -1 */
        {12345, 1300, 1605}, /* 12345 * 0.13 = 1604.85 -> 1605 */
        {999, 600, 60},      /* 59.94 -> 60 */
        {100, 10000, 100},   /* 100 % */
        {0, 1300, 0},
        {1000, 0, 0},
        {INT64_MAX, 10000, INT64_MAX},
        {INT64_MIN, 10000, INT64_MIN},
        {INT64_MAX, 5000, INT64_C(4611686018427387904)},  /* 2^62 - 0.5 -> 2^62 */
        {INT64_MIN, 5000, INT64_C(-4611686018427387904)}, /* -2^62 exactly */
    };
    for (size_t i = 0; i < ROWS(rows); i++) {
        int64_t out = 42;
        int rc = dn_money_mul_bps(rows[i].amount, rows[i].bps, &out);
        if (rc != 0 || out != rows[i].expected)
            fail_msg("%lld * %lld bps: rc %d, %lld, want %lld", (long long)rows[i].amount,
                     (long long)rows[i].bps, rc, (long long)out,
                     (long long)rows[i].expected);
    }
}

static void test_muldiv_rounding(void **state)
{
    (void)state;
    static const struct {
        int64_t amount;
        int64_t num;
        int64_t den;
        int64_t expected;
    } rows[] = {
        {10, 1, 4, 2},   /* 2.5 -> 2 */
        {14, 1, 4, 4},   /* 3.5 -> 4 */
        {10, 1, 3, 3},   /* 3.333 -> 3 */
        {20, 1, 3, 7},   /* 6.667 -> 7 */
        {-10, 1, 4, -2}, /* -2.5 -> -2 */
        {-14, 1, 4, -4}, /* -3.5 -> -4 */
        {-20, 1, 3, -7}, /* -6.667 -> -7 */
        {10, -1, 4, -2}, /* negative numerator */
        {1, 1, 2, 0},    /* 0.5 -> 0 */
        {3, 1, 2, 2},    /* 1.5 -> 2 */
        {100, 1, 1, 100},
        {0, 5, 7, 0},
        /* the product exceeds int64, the quotient does not */
        {INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX},
        {INT64_MIN, INT64_MAX, INT64_MAX, INT64_MIN},
        {INT64_MAX, 3, 6, INT64_C(4611686018427387904)}, /* 2^62 - 0.5 -> 2^62 */
        {INT64_C(1000000000000), 1000000, 1000000, INT64_C(1000000000000)},
        {INT64_C(4000000000000000000), 3, 4, INT64_C(3000000000000000000)},
        /* 2^63 * 1/1 via -INT64_MIN: a negative product of magnitude 2^63 */
        {INT64_MIN, 1, 1, INT64_MIN},
    };
    for (size_t i = 0; i < ROWS(rows); i++) {
        int64_t out = 42;
        int rc = dn_money_muldiv(rows[i].amount, rows[i].num, rows[i].den, &out);
        if (rc != 0 || out != rows[i].expected)
            fail_msg("%lld * %lld / %lld: rc %d, %lld, want %lld",
                     (long long)rows[i].amount, (long long)rows[i].num,
                     (long long)rows[i].den, rc, (long long)out,
                     (long long)rows[i].expected);
    }
}

static void test_muldiv_refusals(void **state)
{
    (void)state;
    int64_t out = 42;
    assert_int_equal(dn_money_muldiv(1, 1, 0, &out), DN_EINVAL);
    assert_int_equal(dn_money_muldiv(1, 1, -1, &out), DN_EINVAL);
    assert_int_equal(dn_money_muldiv(1, 1, INT64_MIN, &out), DN_EINVAL);
    assert_int_equal(dn_money_muldiv(INT64_MAX, 2, 1, &out), DN_EOVERFLOW);
    assert_int_equal(dn_money_muldiv(INT64_MAX, INT64_MAX, 2, &out), DN_EOVERFLOW);
    assert_int_equal(dn_money_muldiv(INT64_MIN, -1, 1, &out), DN_EOVERFLOW); /* 2^63 */
    assert_int_equal(dn_money_mul_bps(INT64_MAX, 10001, &out), DN_EOVERFLOW);
    assert_int_equal(dn_money_mul_bps(INT64_MIN, 10001, &out), DN_EOVERFLOW);
    assert_int_equal(dn_money_mul_bps(INT64_MIN, -10000, &out), DN_EOVERFLOW);
    assert_int_equal(out, 42); /* untouched by every refusal */
}

static void test_muldiv_rounding_to_overflow(void **state)
{
    (void)state;
    /*  (2^64 - 1) / 2 = 2^63 - 0.5 = INT64_MAX + 0.5: the tie goes to the
        even 2^63, which no longer fits, although the truncated quotient
        would.  Formed as (2^32 + 1)(2^32 - 1) / 2.  */
    int64_t out = 42;
    int64_t a = (INT64_C(1) << 32) + 1;
    int64_t b = (INT64_C(1) << 32) - 1;
    assert_int_equal(dn_money_muldiv(a, b, 2, &out), DN_EOVERFLOW);
    /*  Negative side: -(2^63 - 0.5) -> -2^63 = INT64_MIN, which fits.  */
    assert_int_equal(dn_money_muldiv(-a, b, 2, &out), 0);
    assert_int_equal(out, INT64_MIN);
    /*  2^64 - 3 = 50557 * 364870227143809.  Halved, 2^63 - 1.5 -> 2^63 - 2
        (even); quartered after doubling, INT64_MAX - 0.5 -> 2^63 - 2 again.  */
    assert_int_equal(dn_money_muldiv(INT64_C(364870227143809), 50557, 2, &out), 0);
    assert_int_equal(out, INT64_MAX - 1);
    assert_int_equal(dn_money_muldiv(INT64_C(729740454287618), 50557, 4, &out), 0);
    assert_int_equal(out, INT64_MAX - 1);
    assert_int_equal(dn_money_muldiv(INT64_C(-729740454287618), 50557, 4, &out), 0);
    assert_int_equal(out, -INT64_MAX + 1);
}

static void test_mul_and_add(void **state)
{
    (void)state;
    int64_t out = 42;
    assert_int_equal(dn_money_mul(1999, 3, &out), 0);
    assert_int_equal(out, 5997);
    assert_int_equal(dn_money_mul(-1999, 3, &out), 0);
    assert_int_equal(out, -5997);
    assert_int_equal(dn_money_mul(INT64_C(4611686018427387904), -2, &out), 0);
    assert_int_equal(out, INT64_MIN);
    assert_int_equal(dn_money_mul(INT64_MAX, 1, &out), 0);
    assert_int_equal(out, INT64_MAX);

    out = 42;
    assert_int_equal(dn_money_mul(INT64_MAX, 2, &out), DN_EOVERFLOW);
    assert_int_equal(dn_money_mul(INT64_C(4611686018427387904), 2, &out), DN_EOVERFLOW);
    assert_int_equal(dn_money_mul(INT64_MIN, -1, &out), DN_EOVERFLOW);
    assert_int_equal(dn_money_mul(INT64_MIN, INT64_MIN, &out), DN_EOVERFLOW);
    assert_int_equal(out, 42);

    assert_int_equal(dn_money_add(1234, -5678, &out), 0);
    assert_int_equal(out, -4444);
    assert_int_equal(dn_money_add(INT64_MAX, INT64_MIN, &out), 0);
    assert_int_equal(out, -1);
    assert_int_equal(dn_money_add(INT64_MAX - 1, 1, &out), 0);
    assert_int_equal(out, INT64_MAX);
    assert_int_equal(dn_money_add(INT64_MIN, 0, &out), 0);
    assert_int_equal(out, INT64_MIN);

    out = 42;
    assert_int_equal(dn_money_add(INT64_MAX, 1, &out), DN_EOVERFLOW);
    assert_int_equal(dn_money_add(INT64_MIN, -1, &out), DN_EOVERFLOW);
    assert_int_equal(dn_money_add(INT64_MAX, INT64_MAX, &out), DN_EOVERFLOW);
    assert_int_equal(out, 42);
}

static void test_parse_accepts(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int exponent;
        int64_t expected;
    } rows[] = {
        {"12.34", 2, 1234},
        {"12", 2, 1200},
        {"12.3", 2, 1230},
        {"0.05", 2, 5},
        {"-0.05", 2, -5},
        {"+3", 2, 300},
        {"-0.5", 2, -50},
        {"-0", 2, 0},
        {"007.10", 2, 710},
        {"7", 0, 7},
        {"-7", 0, -7},
        {"1.234", 3, 1234},
        {"1.5", 4, 15000},
        {"92233720368547758.07", 2, INT64_MAX},
        {"-92233720368547758.08", 2, INT64_MIN},
        {"9223372036854775807", 0, INT64_MAX},
        {"-9223372036854775808", 0, INT64_MIN},
        {"922337203685477.5807", 4, INT64_MAX},
        {"00000000000000000000000000000001.00", 2, 100},
    };
    for (size_t i = 0; i < ROWS(rows); i++) {
        int64_t out = 42;
        int rc = dn_money_parse(rows[i].text, rows[i].exponent, &out);
        if (rc != 0 || out != rows[i].expected)
            fail_msg("\"%s\" at %d: rc %d, %lld, want %lld", rows[i].text,
                     rows[i].exponent, rc, (long long)out, (long long)rows[i].expected);
    }
}

static void test_parse_refuses(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int exponent;
        int expected;
    } rows[] = {
        {"12.345", 2, DN_EPARSE}, /* more fraction digits than the currency */
        {"12.340", 2, DN_EPARSE}, /* even when the extra digit is zero */
        {"7.0", 0, DN_EPARSE},
        {"", 2, DN_EPARSE},
        {".5", 2, DN_EPARSE},
        {"1.", 2, DN_EPARSE},
        {"-", 2, DN_EPARSE},
        {"+", 2, DN_EPARSE},
        {"-.5", 2, DN_EPARSE},
        {"1e3", 2, DN_EPARSE},
        {" 1", 2, DN_EPARSE},
        {"1 ", 2, DN_EPARSE},
        {"1,000", 2, DN_EPARSE},
        {"--1", 2, DN_EPARSE},
        {"+-1", 2, DN_EPARSE},
        {"abc", 2, DN_EPARSE},
        {"12.34x", 2, DN_EPARSE},
        {"1.2.3", 2, DN_EPARSE},
        {"0x10", 2, DN_EPARSE},
        {"92233720368547758.08", 2, DN_EOVERFLOW},
        {"-92233720368547758.09", 2, DN_EOVERFLOW},
        {"92233720368547759", 2, DN_EOVERFLOW},
        {"9223372036854775808", 0, DN_EOVERFLOW},
        {"99999999999999999999999999999999999999999", 2, DN_EOVERFLOW},
        {"99999999999999999999999999999999999999999x", 2, DN_EPARSE},
        {"1", -1, DN_EINVAL},
        {"1", 5, DN_EINVAL},
        {NULL, 2, DN_EPARSE},
    };
    for (size_t i = 0; i < ROWS(rows); i++) {
        int64_t out = 42;
        int rc = dn_money_parse(rows[i].text, rows[i].exponent, &out);
        if (rc != rows[i].expected || out != 42) /* out must stay untouched */
            fail_msg("\"%s\" at %d: rc %d, want %d, out %lld",
                     rows[i].text ? rows[i].text : "(null)", rows[i].exponent, rc,
                     rows[i].expected, (long long)out);
    }
}

static void test_format(void **state)
{
    (void)state;
    static const struct {
        int64_t amount;
        int exponent;
        const char *expected;
    } rows[] = {
        {1234, 2, "12.34"},
        {5, 2, "0.05"},
        {-5, 2, "-0.05"},
        {0, 2, "0.00"},
        {-1234, 2, "-12.34"},
        {100, 2, "1.00"},
        {7, 0, "7"},
        {-7, 0, "-7"},
        {0, 0, "0"},
        {1234, 3, "1.234"},
        {1, 4, "0.0001"},
        {INT64_MIN, 2, "-92233720368547758.08"},
        {INT64_MAX, 2, "92233720368547758.07"},
        {INT64_MIN, 0, "-9223372036854775808"},
        {INT64_MIN, 4, "-922337203685477.5808"},
    };
    for (size_t i = 0; i < ROWS(rows); i++) {
        char buf[DN_MONEY_TEXT_SIZE];
        int rc = dn_money_format(rows[i].amount, rows[i].exponent, buf, sizeof buf);
        if (rc != 0 || strcmp(buf, rows[i].expected) != 0)
            fail_msg("%lld at %d: rc %d, \"%s\", want \"%s\"", (long long)rows[i].amount,
                     rows[i].exponent, rc, rc == 0 ? buf : "", rows[i].expected);
    }
}

static void test_format_refuses(void **state)
{
    (void)state;
    char buf[DN_MONEY_TEXT_SIZE];
    /* "12.34" needs 6 bytes with its NUL */
    assert_int_equal(dn_money_format(1234, 2, buf, 5), DN_EINVAL);
    assert_int_equal(dn_money_format(1234, 2, buf, 6), 0);
    assert_string_equal(buf, "12.34");
    /* "-92233720368547758.08" needs 22 */
    assert_int_equal(dn_money_format(INT64_MIN, 2, buf, 21), DN_EINVAL);
    assert_int_equal(dn_money_format(INT64_MIN, 2, buf, 22), 0);
    assert_int_equal(dn_money_format(0, 2, buf, 0), DN_EINVAL);
    assert_int_equal(dn_money_format(1, -1, buf, sizeof buf), DN_EINVAL);
    assert_int_equal(dn_money_format(1, 5, buf, sizeof buf), DN_EINVAL);
}

static void test_round_trip(void **state)
{
    (void)state;
    static const int64_t values[] = {0,         1,         -1,           5,     -5,
                                     99,        100,       1234,         -1234, 100000001,
                                     INT64_MAX, INT64_MIN, INT64_MIN + 1};
    for (int exponent = 0; exponent <= 4; exponent++) {
        for (size_t i = 0; i < ROWS(values); i++) {
            char buf[DN_MONEY_TEXT_SIZE];
            int64_t back = 42;
            assert_int_equal(dn_money_format(values[i], exponent, buf, sizeof buf), 0);
            assert_int_equal(dn_money_parse(buf, exponent, &back), 0);
            assert_int_equal(back, values[i]);
        }
    }
}

/*  The bounds: a running total is refused past its cap or int64, never
    stored; a bound on one sale parses in 10^-4 units and converts down to
    each currency's minor unit.  */
static void test_bounds(void **state)
{
    (void)state;
    int64_t out = 42, bound = 0;
    /* 10^18 - 1 + 1 is the cap itself; + 2 is over it */
    assert_int_equal(dn_money_add_capped(DN_MONEY_SUM_MAX - 1, 1, DN_MONEY_SUM_MAX, &out), 0);
    assert_int_equal(out, DN_MONEY_SUM_MAX);
    assert_int_equal(dn_money_add_capped(DN_MONEY_SUM_MAX - 1, 2, DN_MONEY_SUM_MAX, &out),
                     DN_EOVERFLOW);
    assert_int_equal(out, DN_MONEY_SUM_MAX); /* untouched */
    assert_int_equal(dn_money_add_capped(INT64_MAX, 1, INT64_MAX, &out), DN_EOVERFLOW);
    assert_int_equal(dn_money_add_capped(INT64_MIN, -1, 0, &out), DN_EOVERFLOW);
    /* 2 x 10^18 (the sum of all balances' magnitudes at worst) fits */
    assert_int_equal(dn_money_add(DN_MONEY_SUM_MAX, DN_MONEY_SUM_MAX, &out), 0);
    assert_true(out < INT64_MAX);

    assert_int_equal(dn_money_bound_parse("1000000", &bound), 0);
    assert_int_equal(bound, DN_MONEY_MAX_SALE_DEFAULT); /* 10^10 */
    assert_int_equal(dn_money_bound_parse("2500.5", &bound), 0);
    assert_int_equal(bound, 25005000);
    assert_int_equal(dn_money_bound_parse("0.0001", &bound), 0);
    assert_int_equal(bound, 1);
    assert_int_equal(dn_money_bound_parse("10000000000", &bound), 0);
    assert_int_equal(bound, DN_MONEY_MAX_SALE_LIMIT);
    assert_int_equal(dn_money_bound_parse("10000000000.0001", &bound), DN_EOVERFLOW);
    assert_int_equal(dn_money_bound_parse("0", &bound), DN_EOVERFLOW);
    assert_int_equal(dn_money_bound_parse("-5", &bound), DN_EOVERFLOW);
    assert_int_equal(dn_money_bound_parse("99999999999999999999", &bound), DN_EOVERFLOW);
    assert_int_equal(dn_money_bound_parse("1.00001", &bound), DN_EPARSE);
    assert_int_equal(dn_money_bound_parse("1,000,000", &bound), DN_EPARSE);
    assert_int_equal(bound, DN_MONEY_MAX_SALE_LIMIT); /* untouched */

    /* 1000000.0000 units: 10^8 fen, 10^6 yen, 10^9 fils (KWD, 3 decimals) */
    assert_int_equal(dn_money_bound_minor(DN_MONEY_MAX_SALE_DEFAULT, 2), 100000000);
    assert_int_equal(dn_money_bound_minor(DN_MONEY_MAX_SALE_DEFAULT, 0), 1000000);
    assert_int_equal(dn_money_bound_minor(DN_MONEY_MAX_SALE_DEFAULT, 3), 1000000000);
    assert_int_equal(dn_money_bound_minor(DN_MONEY_MAX_SALE_DEFAULT, 4), 10000000000);
    /* 2500.5999 units: rounded down, 250059 fen, 2500 yen */
    assert_int_equal(dn_money_bound_minor(25005999, 2), 250059);
    assert_int_equal(dn_money_bound_minor(25005999, 0), 2500);
    /* the largest bound in the smallest unit stays 10^4 times under 10^18 */
    assert_int_equal(dn_money_bound_minor(DN_MONEY_MAX_SALE_LIMIT, 4), 100000000000000);
}

/*  dn_money_split: shares[i] = round(amount x cum_i / total) - the one
    before, half to even on each running sum.  */
static void test_split(void **state)
{
    (void)state;
    int64_t s[4];

    /* 100 over 1:1:1 -> running 33.33 -> 33, 66.67 -> 67, 100: 33, 34, 33 */
    assert_int_equal(dn_money_split(100, (const int64_t[]){1, 1, 1}, 3, s), 0);
    assert_int_equal(s[0], 33);
    assert_int_equal(s[1], 34);
    assert_int_equal(s[2], 33);
    /* ties go to even on the running sum: 5 over 1:1 -> 2.5 -> 2, then 5:
       2, 3; 7 over 1:1 -> 3.5 -> 4, then 7: 4, 3 */
    assert_int_equal(dn_money_split(5, (const int64_t[]){1, 1}, 2, s), 0);
    assert_int_equal(s[0], 2);
    assert_int_equal(s[1], 3);
    assert_int_equal(dn_money_split(7, (const int64_t[]){1, 1}, 2, s), 0);
    assert_int_equal(s[0], 4);
    assert_int_equal(s[1], 3);
    /* a refund of 300.00 over categories worth 1000.00 and 500.00 (fen):
       30000 x 100000 / 150000 = 20000, then 30000: 20000, 10000 */
    assert_int_equal(dn_money_split(30000, (const int64_t[]){100000, 50000}, 2, s), 0);
    assert_int_equal(s[0], 20000);
    assert_int_equal(s[1], 10000);
    /* zero weights take nothing: 10 over 0:3:0:2 (total 5) -> running 0,
       6, 6, 10: 0, 6, 0, 4 */
    assert_int_equal(dn_money_split(10, (const int64_t[]){0, 3, 0, 2}, 4, s), 0);
    assert_int_equal(s[0], 0);
    assert_int_equal(s[1], 6);
    assert_int_equal(s[2], 0);
    assert_int_equal(s[3], 4);
    /* every weight 0: all to the first */
    assert_int_equal(dn_money_split(9, (const int64_t[]){0, 0}, 2, s), 0);
    assert_int_equal(s[0], 9);
    assert_int_equal(s[1], 0);
    /* a negative amount splits as its magnitude, negated: -33, -34, -33 */
    assert_int_equal(dn_money_split(-100, (const int64_t[]){1, 1, 1}, 3, s), 0);
    assert_int_equal(s[0], -33);
    assert_int_equal(s[1], -34);
    assert_int_equal(s[2], -33);
    /* the largest amount: (2^63 - 1) / 2 = 4611686018427387903.5, an odd
       quotient, rounds up to ...904; the rest is ...903 */
    assert_int_equal(dn_money_split(INT64_MAX, (const int64_t[]){1, 1}, 2, s), 0);
    assert_int_equal(s[0], 4611686018427387904LL);
    assert_int_equal(s[1], 4611686018427387903LL);
    /* one share: the whole amount */
    assert_int_equal(dn_money_split(12345, (const int64_t[]){7}, 1, s), 0);
    assert_int_equal(s[0], 12345);
}

static void test_split_refuses(void **state)
{
    (void)state;
    int64_t s[2] = {77, 77};
    assert_int_equal(dn_money_split(10, (const int64_t[]){1}, 0, s), DN_EINVAL);
    assert_int_equal(dn_money_split(10, (const int64_t[]){1, -1}, 2, s), DN_EINVAL);
    /* the weights' total INT64_MAX + 1 does not fit */
    assert_int_equal(dn_money_split(10, (const int64_t[]){INT64_MAX, 1}, 2, s),
                     DN_EOVERFLOW);
    assert_int_equal(s[0], 77); /* untouched */
    assert_int_equal(s[1], 77);
}

/*  The drill-down's exact figures (dn_money_format_exact / _rounding): the
    README's examples, a figure that does not end, exponent 0, signs.  */
static void test_format_exact(void **state)
{
    (void)state;
    char buf[DN_MONEY_EXACT_SIZE];
    /* 119.80 x 200 / 10000 = 2.396 (2 decimals: one more digit) */
    assert_int_equal(dn_money_format_exact(11980, 200, 10000, 2, buf, sizeof buf), 0);
    assert_string_equal(buf, "2.396");
    /* rounded to 2.40: +0.004 */
    assert_int_equal(dn_money_format_rounding(240, 11980, 200, 10000, 2, buf, sizeof buf), 0);
    assert_string_equal(buf, "0.004");
    /* 550.00 x 800 / 10000 = 44.00 exactly: the currency's digits only */
    assert_int_equal(dn_money_format_exact(55000, 800, 10000, 2, buf, sizeof buf), 0);
    assert_string_equal(buf, "44.00");
    assert_int_equal(dn_money_format_rounding(4400, 55000, 800, 10000, 2, buf, sizeof buf), 0);
    assert_string_equal(buf, "0.00");
    /* a clawback: 2.22 x -18.50 / 74.00 = -0.555, rounded -0.56: -0.005 */
    assert_int_equal(dn_money_format_exact(222, -1850, 7400, 2, buf, sizeof buf), 0);
    assert_string_equal(buf, "-0.555");
    assert_int_equal(dn_money_format_rounding(-56, 222, -1850, 7400, 2, buf, sizeof buf), 0);
    assert_string_equal(buf, "-0.005");
    /* 1.00 / 3: 0.33 and 12 more digits, then the ellipsis */
    assert_int_equal(dn_money_format_exact(100, 1, 3, 2, buf, sizeof buf), 0);
    assert_string_equal(buf, "0.33333333333333\xE2\x80\xA6");
    /* exponent 0 (JPY): 5 x 15 / 10 = 7.5 */
    assert_int_equal(dn_money_format_exact(5, 15, 10, 0, buf, sizeof buf), 0);
    assert_string_equal(buf, "7.5");
    /* the largest amounts do not overflow: INT64_MAX x 10000 / 10000 */
    assert_int_equal(dn_money_format_exact(INT64_MAX, 10000, 10000, 2, buf, sizeof buf), 0);
    assert_string_equal(buf, "92233720368547758.07");
    /* refused: den <= 0, a bad exponent, a short buffer */
    assert_int_equal(dn_money_format_exact(1, 1, 0, 2, buf, sizeof buf), DN_EINVAL);
    assert_int_equal(dn_money_format_exact(1, 1, 1, 5, buf, sizeof buf), DN_EINVAL);
    assert_int_equal(dn_money_format_exact(1, 1, 1, 2, buf, 8), DN_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exponent),
        cmocka_unit_test(test_format_exact),
        cmocka_unit_test(test_mul_bps_rounding),
        cmocka_unit_test(test_muldiv_rounding),
        cmocka_unit_test(test_muldiv_refusals),
        cmocka_unit_test(test_muldiv_rounding_to_overflow),
        cmocka_unit_test(test_mul_and_add),
        cmocka_unit_test(test_parse_accepts),
        cmocka_unit_test(test_parse_refuses),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_format_refuses),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_split_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
