/*  test_log -- unit tests for dn_log's rate-limited warnings.

    stderr is pointed at a temporary file, so each test reads back exactly
    the lines written.  A limit's minute is moved back by hand to stand for
    the clock turning to the next minute.
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

#include "dn_log.h"
#include "dn_time.h"

/*  s_capture_start points stderr at a fresh temporary file;
    s_capture_end restores it and returns what was written (malloc'd).  */
static int s_saved_fd = -1;
static FILE *s_capture;

static void s_capture_start(void)
{
    /* not within 5 seconds of the clock's next minute: a test's lines all
       fall in one minute unless it moves the minute itself (one second
       was a thin margin on a loaded machine or under valgrind) */
    while (dn_time_now_ms() % 60000 > 55000)
        usleep(100000);
    fflush(stderr);
    s_saved_fd = dup(STDERR_FILENO);
    assert_true(s_saved_fd >= 0);
    s_capture = tmpfile();
    assert_non_null(s_capture);
    assert_true(dup2(fileno(s_capture), STDERR_FILENO) >= 0);
}

static char *s_capture_end(void)
{
    long size;
    char *text;
    fflush(stderr);
    assert_true(dup2(s_saved_fd, STDERR_FILENO) >= 0);
    close(s_saved_fd);
    size = ftell(s_capture);
    assert_true(size >= 0);
    text = calloc(1, (size_t)size + 1);
    assert_non_null(text);
    rewind(s_capture);
    assert_int_equal(fread(text, 1, (size_t)size, s_capture), (size_t)size);
    fclose(s_capture);
    return text;
}

static int s_count(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

/*  25 lines in one minute: 20 written, then a count of 5 when flushed;
    nothing more on a second flush.  */
static void test_limit_counts_the_rest(void **state)
{
    static dn_log_limit_t limit = {"test lines", 0, 0, 0, NULL};
    char *text;
    (void)state;

    s_capture_start();
    for (int i = 1; i <= 25; i++)
        dn_log_warn_limited(&limit, "line %d", i);
    dn_log_limits_flush(0); /* the minute is not over: no summary yet */
    text = s_capture_end();
    assert_int_equal(s_count(text, ": warning: line "), 20);
    assert_non_null(strstr(text, "line 20\n"));
    assert_null(strstr(text, "line 21\n"));
    assert_null(strstr(text, "not logged"));
    free(text);

    s_capture_start();
    dn_log_limits_flush(1);
    dn_log_limits_flush(1);
    text = s_capture_end();
    assert_int_equal(s_count(text, "5 more test lines not logged (at most 20 lines a minute)"),
                     1);
    assert_int_equal(s_count(text, "\n"), 1);
    free(text);
}

/*  Errors that repeat at a peer's pace (a full disk) are limited the same
    way: 20 lines at error level, then the count.  */
static void test_limit_errors(void **state)
{
    static dn_log_limit_t limit = {"disk errors", 0, 0, 0, NULL};
    char *text;
    (void)state;

    s_capture_start();
    for (int i = 1; i <= 23; i++)
        dn_log_error_limited(&limit, "disk full %d", i);
    dn_log_limits_flush(1);
    text = s_capture_end();
    assert_int_equal(s_count(text, ": error: disk full "), 20);
    assert_int_equal(s_count(text, "3 more disk errors not logged (at most 20 lines a minute)"),
                     1);
    free(text);
}

/*  Lines dropped in one minute are counted with the first line of the
    next, which is written, and the new minute has its 20 again.  */
static void test_limit_next_minute(void **state)
{
    static dn_log_limit_t limit = {"other lines", 0, 0, 0, NULL};
    char *text;
    (void)state;

    s_capture_start();
    for (int i = 1; i <= 23; i++)
        dn_log_warn_limited(&limit, "a %d", i);
    limit.minute--; /* the clock turns to the next minute */
    for (int i = 1; i <= 21; i++)
        dn_log_warn_limited(&limit, "b %d", i);
    text = s_capture_end();
    assert_int_equal(s_count(text, ": warning: a "), 20);
    assert_int_equal(s_count(text, ": warning: b "), 20);
    /* the count of the old minute comes before the new minute's first line */
    assert_non_null(strstr(text, "3 more other lines not logged"));
    assert_true(strstr(text, "3 more other lines not logged") < strstr(text, "b 1\n"));
    free(text);

    s_capture_start();
    dn_log_limits_flush(1);
    text = s_capture_end();
    assert_non_null(strstr(text, "1 more other lines not logged"));
    assert_int_equal(s_count(text, "\n"), 1);
    free(text);
}

/*  Two limits hold counts at once; a flush writes both and empties the
    list.  */
static void test_two_limits(void **state)
{
    static dn_log_limit_t one = {"ones", 0, 0, 0, NULL}, two = {"twos", 0, 0, 0, NULL};
    char *text;
    (void)state;

    s_capture_start();
    for (int i = 0; i < 22; i++)
        dn_log_warn_limited(&one, "one");
    for (int i = 0; i < 24; i++)
        dn_log_warn_limited(&two, "two");
    dn_log_limits_flush(1);
    dn_log_limits_flush(1);
    text = s_capture_end();
    assert_int_equal(s_count(text, "2 more ones not logged"), 1);
    assert_int_equal(s_count(text, "4 more twos not logged"), 1);
    assert_int_equal(s_count(text, "\n"), 20 + 20 + 2);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_limit_counts_the_rest),
        cmocka_unit_test(test_limit_errors),
        cmocka_unit_test(test_limit_next_minute),
        cmocka_unit_test(test_two_limits),
    };
    dn_log_init("test_log", DN_LOG_INFO, 0);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
