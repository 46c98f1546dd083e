/*  test_id -- unit tests for dn_id.

    The generator keeps per-thread state and all tests here run on one
    thread, so the order matters: the real-clock tests come first, and each
    later test feeds dn_id_new_at a clock in its own band (years 2100, 2200,
    2300, then the end of 48-bit time), later than every id made before it.
    Run alone or filtered, every test still sees a clock that only moves on.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "dn_error.h"
#include "dn_id.h"

#define MS_2100 INT64_C(4102444800000)   /* 2100-01-01T00:00:00Z */
#define MS_2200 INT64_C(7258118400000)   /* 2200-01-01T00:00:00Z */
#define MS_2300 INT64_C(10413792000000)  /* 2300-01-01T00:00:00Z */
#define MS_MAX  INT64_C(281474976710655) /* 2^48 - 1 */

#define MANY_IDS       1000000
#define SAME_CLOCK_IDS 100000
#define MIN_PER_MS                                                                       \
    2049                /* counter seeds are 0..0x7FF, so >= 0x1000 - 0x7FF ids per ms   \
                         */
#define MAX_PER_MS 4096 /* 12-bit counter */

static int64_t s_now_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static unsigned s_counter(const uint8_t id[DN_ID_BYTES])
{
    return (unsigned)(id[6] & 0x0F) << 8 | id[7];
}

static void s_assert_layout(const uint8_t id[DN_ID_BYTES])
{
    assert_int_equal(id[6] >> 4, 7);   /* version 7 */
    assert_int_equal(id[8] >> 6, 0x2); /* variant 10 */
}

/*  Asserts that b follows a as RFC 9562 method 1 says: the same millisecond
    with the counter one up, or a later millisecond with a fresh seed whose
    top bit is clear.  */
static void s_assert_successor(const uint8_t a[DN_ID_BYTES], const uint8_t b[DN_ID_BYTES])
{
    int64_t ta = dn_id_time_ms(a), tb = dn_id_time_ms(b);
    if (tb == ta) {
        assert_int_equal(s_counter(b), s_counter(a) + 1);
    } else {
        assert_true(tb > ta);
        assert_true(s_counter(b) <= 0x7FF);
    }
}

static void test_layout_and_clock(void **state)
{
    (void)state;
    uint8_t id[DN_ID_BYTES];
    int64_t before = s_now_ms();
    assert_int_equal(dn_id_new(id), 0);
    int64_t after = s_now_ms();
    s_assert_layout(id);
    /* first id of this thread: no borrowing, the stamp is the clock */
    assert_in_range(dn_id_time_ms(id), before, after);
    assert_true(s_counter(id) <= 0x7FF);

    uint8_t other[DN_ID_BYTES];
    assert_int_equal(dn_id_new(other), 0);
    s_assert_layout(other);
    assert_true(memcmp(id, other, DN_ID_BYTES) < 0);
    /* 62 random bits of rand_b: equal only with probability 2^-62 */
    assert_memory_not_equal(id + 8, other + 8, DN_ID_BYTES - 8);
}

static void test_many_increasing(void **state)
{
    (void)state;
    uint8_t *ids = malloc((size_t)MANY_IDS * DN_ID_BYTES);
    assert_non_null(ids);
    int64_t before = s_now_ms();
    for (int i = 0; i < MANY_IDS; i++)
        assert_int_equal(dn_id_new(ids + (size_t)i * DN_ID_BYTES), 0);
    int64_t after = s_now_ms();

    int failures = 0;
    for (int i = 1; i < MANY_IDS; i++) {
        const uint8_t *prev = ids + (size_t)(i - 1) * DN_ID_BYTES;
        const uint8_t *next = prev + DN_ID_BYTES;
        if (memcmp(prev, next, DN_ID_BYTES) >= 0 || (next[6] >> 4) != 7 ||
            (next[8] >> 6) != 2)
            failures++;
    }
    assert_int_equal(failures, 0);
    /* stamps never precede the clock and run ahead of it by at most one
       borrowed millisecond per MIN_PER_MS ids */
    assert_true(dn_id_time_ms(ids) >= before);
    assert_true(dn_id_time_ms(ids + (size_t)(MANY_IDS - 1) * DN_ID_BYTES) <=
                after + MANY_IDS / MIN_PER_MS + 1);
    free(ids);
}

static void test_time_round_trip(void **state)
{
    (void)state;
    static const int64_t clocks[] = {MS_2100, MS_2100 + 1, MS_2100 + 999,
                                     MS_2100 + INT64_C(86400000)};
    for (size_t i = 0; i < sizeof clocks / sizeof clocks[0]; i++) {
        uint8_t id[DN_ID_BYTES];
        assert_int_equal(dn_id_new_at(id, clocks[i]), 0);
        s_assert_layout(id);
        assert_int_equal(dn_id_time_ms(id), clocks[i]);
        /* 48-bit big-endian stamp in the first six bytes */
        for (int b = 0; b < 6; b++)
            assert_int_equal(id[b], (uint8_t)(clocks[i] >> (40 - 8 * b)));
    }
}

static void test_same_clock(void **state)
{
    (void)state;
    uint8_t prev[DN_ID_BYTES], next[DN_ID_BYTES];
    assert_int_equal(dn_id_new_at(prev, MS_2200), 0);
    assert_int_equal(dn_id_time_ms(prev), MS_2200);
    for (int i = 1; i < SAME_CLOCK_IDS; i++) {
        assert_int_equal(dn_id_new_at(next, MS_2200), 0);
        if (memcmp(prev, next, DN_ID_BYTES) >= 0)
            fail_msg("id %d not above id %d", i, i - 1);
        s_assert_successor(prev, next);
        memcpy(prev, next, DN_ID_BYTES);
    }
    /* 100000 ids over 4096 at most and 2049 at least per millisecond:
       ceil(100000 / 4096) = 25 to ceil(100000 / 2049) = 49 milliseconds */
    int64_t last = dn_id_time_ms(prev);
    assert_in_range(last, MS_2200 + 24, MS_2200 + 48);
}

static void test_clock_backwards(void **state)
{
    (void)state;
    uint8_t prev[DN_ID_BYTES], next[DN_ID_BYTES];
    assert_int_equal(dn_id_new_at(prev, MS_2300), 0);
    /* 1000 ids (fewer than 2049, so no borrowing) on a clock running back */
    for (int i = 1; i <= 1000; i++) {
        assert_int_equal(dn_id_new_at(next, MS_2300 - (int64_t)i * 1000), 0);
        assert_true(memcmp(prev, next, DN_ID_BYTES) < 0);
        assert_int_equal(dn_id_time_ms(next), MS_2300);
        assert_int_equal(s_counter(next), s_counter(prev) + 1);
        memcpy(prev, next, DN_ID_BYTES);
    }
    /* far back, to the epoch */
    assert_int_equal(dn_id_new_at(next, 0), 0);
    assert_true(memcmp(prev, next, DN_ID_BYTES) < 0);
    assert_int_equal(dn_id_time_ms(next), MS_2300);
    memcpy(prev, next, DN_ID_BYTES);
    /* the clock moves on again: its time is taken, with a fresh seed */
    assert_int_equal(dn_id_new_at(next, MS_2300 + 10), 0);
    assert_true(memcmp(prev, next, DN_ID_BYTES) < 0);
    assert_int_equal(dn_id_time_ms(next), MS_2300 + 10);
    assert_true(s_counter(next) <= 0x7FF);
}

static void test_max_time(void **state)
{
    (void)state;
    uint8_t id[DN_ID_BYTES];
    assert_int_equal(dn_id_new_at(id, MS_MAX), 0);
    assert_int_equal(dn_id_time_ms(id), MS_MAX);
    assert_memory_equal(id, "\xff\xff\xff\xff\xff\xff", 6);
    s_assert_layout(id);

    /* a clock beyond 48 bits is clamped to the end of time: same stamp,
       counter one up */
    uint8_t next[DN_ID_BYTES];
    assert_int_equal(dn_id_new_at(next, INT64_MAX), 0);
    assert_int_equal(dn_id_time_ms(next), MS_MAX);
    assert_int_equal(s_counter(next), s_counter(id) + 1);
    assert_true(memcmp(id, next, DN_ID_BYTES) < 0);
}

static void test_text_vector(void **state)
{
    (void)state;
    static const uint8_t bytes[DN_ID_BYTES] = {0x01, 0x90, 0xc2, 0xd4, 0x5e, 0x6f,
                                               0x7a, 0x8b, 0x9c, 0x0d, 0x1e, 0x2f,
                                               0x3a, 0x4b, 0x5c, 0x6d};
    char text[DN_ID_TEXT_SIZE];
    memset(text, 'x', sizeof text);
    dn_id_format(bytes, text);
    assert_string_equal(text, "0190c2d4-5e6f-7a8b-9c0d-1e2f3a4b5c6d");
    /* 0x0190c2d45e6f ms = 2024-07-17T22:33:36.111Z */
    assert_int_equal(dn_id_time_ms(bytes), INT64_C(1721255616111));

    uint8_t parsed[DN_ID_BYTES];
    assert_int_equal(dn_id_parse("0190c2d4-5e6f-7a8b-9c0d-1e2f3a4b5c6d", parsed), 0);
    assert_memory_equal(parsed, bytes, DN_ID_BYTES);
    memset(parsed, 0, sizeof parsed);
    assert_int_equal(dn_id_parse("0190C2D4-5E6F-7A8B-9C0D-1E2F3A4B5C6D", parsed), 0);
    assert_memory_equal(parsed, bytes, DN_ID_BYTES);

    static const uint8_t extremes[2][DN_ID_BYTES] = {{0},
                                                     {0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                                      0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                                      0xff, 0xff, 0xff, 0xff}};
    dn_id_format(extremes[0], text);
    assert_string_equal(text, "00000000-0000-0000-0000-000000000000");
    dn_id_format(extremes[1], text);
    assert_string_equal(text, "ffffffff-ffff-ffff-ffff-ffffffffffff");
}

static void test_format_parse_round_trip(void **state)
{
    (void)state;
    for (int i = 0; i < 100; i++) {
        uint8_t id[DN_ID_BYTES], back[DN_ID_BYTES];
        char text[DN_ID_TEXT_SIZE];
        assert_int_equal(dn_id_new(id), 0);
        dn_id_format(id, text);
        assert_int_equal(strlen(text), 36);
        assert_int_equal(dn_id_parse(text, back), 0);
        assert_memory_equal(id, back, DN_ID_BYTES);
    }
}

static void test_parse_refuses(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "0190c2d4-5e6f-7a8b-9c0d-1e2f3a4b5c6",    /* 35 characters */
        "0190c2d4-5e6f-7a8b-9c0d-1e2f3a4b5c6d0",  /* 37 characters */
        "0190c2d4-5e6f-7a8b-9c0d-1e2f3a4b5c6d ",  /* trailing space */
        " 0190c2d4-5e6f-7a8b-9c0d-1e2f3a4b5c6d",  /* leading space */
        "0190c2d45e6f7a8b9c0d1e2f3a4b5c6d",       /* no hyphens */
        "0190c2d4-5e6f-7a8b-9c0d-1e2f3a4b5c6g",   /* bad hex, last */
        "g190c2d4-5e6f-7a8b-9c0d-1e2f3a4b5c6d",   /* bad hex, first */
        "0190c2d4-5e6f-7a8b-9c0d-1e2f3a4b5c-d",   /* hyphen in a digit's place */
        "0190c2d45-e6f-7a8b-9c0d-1e2f3a4b5c6d",   /* hyphen moved right */
        "0190c2d-45e6f-7a8b-9c0d-1e2f3a4b5c6d",   /* hyphen moved left */
        "0190c2d4-5e6f-7a8b9-c0d-1e2f3a4b5c6d",   /* third hyphen moved */
        "0190c2d4_5e6f_7a8b_9c0d_1e2f3a4b5c6d",   /* wrong separator */
        "{0190c2d4-5e6f-7a8b-9c0d-1e2f3a4b5c6d}", /* braces */
        "0190c2d4-5e6f-7a8b-9c0d-1e2f3a4b5c6d\n", /* newline */
        "+190c2d4-5e6f-7a8b-9c0d-1e2f3a4b5c6d",   /* sign */
        NULL,
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t id[DN_ID_BYTES];
        memset(id, 0xA5, sizeof id);
        int rc = dn_id_parse(bad[i], id);
        if (rc != DN_EPARSE)
            fail_msg("\"%s\": rc %d, want DN_EPARSE", bad[i] ? bad[i] : "(null)", rc);
        for (int b = 0; b < DN_ID_BYTES; b++)
            assert_int_equal(id[b], 0xA5); /* untouched */
    }
}

int main(void)
{
    /*  Order matters, see the banner.  */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout_and_clock),
        cmocka_unit_test(test_many_increasing),
        cmocka_unit_test(test_format_parse_round_trip),
        cmocka_unit_test(test_time_round_trip),
        cmocka_unit_test(test_same_clock),
        cmocka_unit_test(test_clock_backwards),
        cmocka_unit_test(test_max_time),
        cmocka_unit_test(test_text_vector),
        cmocka_unit_test(test_parse_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
