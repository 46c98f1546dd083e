/*  dn_testctl -- every knob by which the tests steer the shipped programs.  */
#include "dn_testctl.h"
#include "dn_error.h"
#include "dn_time.h"

#include <errno.h>
#include <stdlib.h>

/*  N of the count knob name (1 or more), or -1 when it is unset or not
    such a number: a knob never guesses a value.  */
static long s_count(const char *name)
{
    const char *text = getenv(name);
    char *end;
    long n;

    if (!text || !*text)
        return -1;
    errno = 0;
    n = strtol(text, &end, 10);
    return errno || *end || n < 1 ? -1 : n;
}

long dn_testctl_crash_after_commits(void)
{
    return s_count(DN_TESTCTL_CRASH_ENV);
}

long dn_testctl_tamper_down(void)
{
    return s_count(DN_TESTCTL_TAMPER_DOWN_ENV);
}

long dn_testctl_web_session_ms(void)
{
    return s_count(DN_TESTCTL_WEB_SESSION_ENV);
}

const char *dn_testctl_query_hold(void)
{
    const char *path = getenv(DN_TESTCTL_QUERY_HOLD_ENV);
    return path && *path ? path : NULL;
}

unsigned dn_testctl_batch_events(unsigned max)
{
    const char *text = getenv(DN_TESTCTL_BATCH_ENV);
    char *end;
    long n;

    if (!text || !*text)
        return 0;
    errno = 0;
    n = strtol(text, &end, 10);
    return errno || *end || n < 1 || (unsigned long)n > max ? 0 : (unsigned)n;
}

int dn_testctl_today_ms(int64_t *unix_ms, const char **text)
{
    const char *fixed = getenv(DN_TESTCTL_TODAY_ENV);

    *text = fixed;
    if (!fixed || !*fixed) {
        *unix_ms = dn_time_now_ms();
        return 0;
    }
    return dn_time_parse_date(fixed, unix_ms) ? DN_EPARSE : 0;
}

static int64_t (*s_clock)(void *arg);
static void *s_clock_arg;

void dn_testctl_set_clock(int64_t (*clock)(void *arg), void *arg)
{
    s_clock = clock;
    s_clock_arg = arg;
}

int64_t dn_testctl_now_ms(void)
{
    return s_clock ? s_clock(s_clock_arg) : dn_time_now_ms();
}
