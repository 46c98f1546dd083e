/*  dn_log -- diagnostics on stderr (see dn_log.h).

    One fprintf per line, so lines from concurrent threads do not interleave
    within a line.
*/
#include "dn_log.h"
#include "dn_time.h"

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
