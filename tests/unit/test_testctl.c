/*  test_testctl -- unit tests for dn_testctl, the tests' knobs.

    Each knob must do nothing unless a test turns it, and refuse what is
    not a value rather than guess one.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "dn_error.h"
#include "dn_testctl.h"
#include "dn_time.h"

static void test_crash_after_commits(void **state)
{
    (void)state;
    unsetenv(DN_TESTCTL_CRASH_ENV);
    assert_int_equal(dn_testctl_crash_after_commits(), -1);
    setenv(DN_TESTCTL_CRASH_ENV, "2", 1);
    assert_int_equal(dn_testctl_crash_after_commits(), 2);
    /* not a count: never crash */
    const char *bad[] = {"", "0", "-3", "2x", "x", "99999999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        setenv(DN_TESTCTL_CRASH_ENV, bad[i], 1);
        assert_int_equal(dn_testctl_crash_after_commits(), -1);
    }
    unsetenv(DN_TESTCTL_CRASH_ENV);
}

/*  The tamper knob reads its N as the crash knob does (one parser).  */
static void test_tamper_down(void **state)
{
    (void)state;
    unsetenv(DN_TESTCTL_TAMPER_DOWN_ENV);
    assert_int_equal(dn_testctl_tamper_down(), -1);
    setenv(DN_TESTCTL_TAMPER_DOWN_ENV, "3", 1);
    assert_int_equal(dn_testctl_tamper_down(), 3);
    const char *bad[] = {"", "0", "-1", "1 ", "one"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        setenv(DN_TESTCTL_TAMPER_DOWN_ENV, bad[i], 1);
        assert_int_equal(dn_testctl_tamper_down(), -1);
    }
    unsetenv(DN_TESTCTL_TAMPER_DOWN_ENV);
}

static void test_today(void **state)
{
    int64_t ms, before, after;
    const char *text;
    (void)state;

    setenv(DN_TESTCTL_TODAY_ENV, "2026-03-01", 1);
    assert_int_equal(dn_testctl_today_ms(&ms, &text), 0);
    /* 2026-03-01T00:00:00Z: 20,513 days after 1970-01-01 (56 years of
       365 days = 20,440, plus 14 leap days 1972..2024 = 20,454, plus
       Jan 31 + Feb 28 = 59) */
    assert_int_equal(ms, INT64_C(20513) * DN_DAY_MS);

    setenv(DN_TESTCTL_TODAY_ENV, "2026-02-30", 1);
    assert_int_equal(dn_testctl_today_ms(&ms, &text), DN_EPARSE);
    assert_string_equal(text, "2026-02-30");

    /* unset or empty: the wall clock */
    for (int i = 0; i < 2; i++) {
        if (i)
            setenv(DN_TESTCTL_TODAY_ENV, "", 1);
        else
            unsetenv(DN_TESTCTL_TODAY_ENV);
        before = dn_time_now_ms();
        assert_int_equal(dn_testctl_today_ms(&ms, &text), 0);
        after = dn_time_now_ms();
        assert_true(ms >= before && ms <= after);
    }
    unsetenv(DN_TESTCTL_TODAY_ENV);
}

static int64_t s_fixed(void *arg)
{
    return *(const int64_t *)arg;
}

static void test_clock(void **state)
{
    int64_t fixed = 1234567, before, after, now;
    (void)state;

    dn_testctl_set_clock(s_fixed, &fixed);
    assert_int_equal(dn_testctl_now_ms(), 1234567);
    fixed = 7654321;
    assert_int_equal(dn_testctl_now_ms(), 7654321);
    dn_testctl_set_clock(NULL, NULL);
    before = dn_time_now_ms();
    now = dn_testctl_now_ms();
    after = dn_time_now_ms();
    assert_true(now >= before && now <= after);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crash_after_commits),
        cmocka_unit_test(test_tamper_down),
        cmocka_unit_test(test_today),
        cmocka_unit_test(test_clock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
