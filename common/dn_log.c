/*  dn_log -- diagnostics on stderr (see dn_log.h).

    One fprintf per line, so lines from concurrent threads do not interleave
    within a line.
*/
#include "dn_log.h"
#include "dn_time.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *s_program = "dealernet";
static dn_log_level_t s_level = DN_LOG_INFO;
static int s_timestamps;

void dn_log_init(const char *program, dn_log_level_t level, int timestamps)
{
    if (program)
        s_program = program;
    s_level = level;
    s_timestamps = timestamps;
}

static void s_write(dn_log_level_t level, const char *fmt, va_list args)
{
    static const char *names[] = {"debug", "info", "warning", "error"};
    char text[1024];
    char stamp[DN_TIME_TEXT_SIZE + 1] = "";

    if (level < s_level)
        return;
    vsnprintf(text, sizeof text, fmt, args);
    if (s_timestamps) {
        dn_time_format(dn_time_now_ms(), stamp);
        strcat(stamp, " ");
    }
    fprintf(stderr, "%s%s: %s: %s\n", stamp, s_program, names[level], text);
}

#define DN_LOG_FN(fn, level)                                                         \
    void fn(const char *fmt, ...)                                                    \
    {                                                                                \
        va_list args;                                                                \
        va_start(args, fmt);                                                         \
        s_write(level, fmt, args);                                                   \
        va_end(args);                                                                \
    }

DN_LOG_FN(dn_log_debug, DN_LOG_DEBUG)
DN_LOG_FN(dn_log_info, DN_LOG_INFO)
DN_LOG_FN(dn_log_warn, DN_LOG_WARN)
DN_LOG_FN(dn_log_error, DN_LOG_ERROR)

/* -- rate-limited warnings -------------------------------------------------- */

static dn_log_limit_t *s_holding; /* limits with a count not yet written */
/*  The server's door thread (dn_door) counts refusals too: the list and the
    limits' counts are changed under this lock.  */
static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;

static void s_summary(dn_log_limit_t *limit)
{
    dn_log_warn("%lld more %s not logged (at most %d lines a minute)",
                (long long)limit->dropped, limit->kind, DN_LOG_LIMIT_PER_MINUTE);
    limit->dropped = 0;
}

static void s_flush(int force)
{
    int64_t minute = dn_time_now_ms() / 60000;
    dn_log_limit_t **link = &s_holding;
    while (*link) {
        dn_log_limit_t *limit = *link;
        if (force || limit->minute != minute) {
            s_summary(limit);
            *link = limit->next;
            limit->next = NULL;
        } else {
            link = &limit->next;
        }
    }
}

void dn_log_limits_flush(int force)
{
    pthread_mutex_lock(&s_lock);
    s_flush(force);
    pthread_mutex_unlock(&s_lock);
}

static void s_limited(dn_log_limit_t *limit, dn_log_level_t level, const char *fmt,
                      va_list args)
{
    int64_t minute = dn_time_now_ms() / 60000;

    pthread_mutex_lock(&s_lock);
    if (limit->minute != minute) {
        if (limit->dropped)
            s_flush(0); /* this one's minute is over: says it first */
        limit->minute = minute;
        limit->written = 0;
    }
    if (limit->written >= DN_LOG_LIMIT_PER_MINUTE) {
        if (limit->dropped++ == 0) {
            limit->next = s_holding;
            s_holding = limit;
        }
    } else {
        limit->written++;
        s_write(level, fmt, args);
    }
    pthread_mutex_unlock(&s_lock);
}

void dn_log_warn_limited(dn_log_limit_t *limit, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    s_limited(limit, DN_LOG_WARN, fmt, args);
    va_end(args);
}

void dn_log_error_limited(dn_log_limit_t *limit, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    s_limited(limit, DN_LOG_ERROR, fmt, args);
    va_end(args);
}
