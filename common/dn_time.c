/*  dn_time -- clock, ISO-8601 text and the UTC calendar (see dn_time.h).  */
#include "dn_time.h"
#include "dn_error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DN_TIME_LAST_DAY 2932896LL /* 9999-12-31, as days since 1970-01-01 */

int64_t dn_time_now_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

int64_t dn_time_monotonic_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/*  Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant).  */
static int64_t s_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

void dn_time_format(int64_t unix_ms, char text[DN_TIME_TEXT_SIZE])
{
    int64_t secs = unix_ms / 1000, ms = unix_ms % 1000;
    struct tm tm;
    time_t t;
    if (ms < 0) {
        ms += 1000;
        secs--;
    }
    t = (time_t)secs;
    gmtime_r(&t, &tm);
    snprintf(text, DN_TIME_TEXT_SIZE, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
             (tm.tm_year + 1900) % 10000, (tm.tm_mon + 1) % 100, tm.tm_mday % 100,
             tm.tm_hour % 100, tm.tm_min % 100, tm.tm_sec % 100, (int)ms);
}

int dn_time_parse_date(const char *text, int64_t *unix_ms)
{
    static const unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    unsigned y, m, d;
    int n = 0;
    if (!text || strlen(text) != 10 ||
        sscanf(text, "%4u-%2u-%2u%n", &y, &m, &d, &n) != 3 || n != 10 || text[4] != '-' ||
        text[7] != '-')
        return DN_EPARSE;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (text[i] < '0' || text[i] > '9'))
            return DN_EPARSE;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (y < 1970 || m < 1 || m > 12 || d < 1 || d > days[m - 1] + (m == 2 && leap))
        return DN_EPARSE;
    *unix_ms = s_days_from_civil(y, m, d) * DN_DAY_MS;
    return 0;
}

int64_t dn_time_day(int64_t unix_ms)
{
    int64_t day = unix_ms / DN_DAY_MS;
    if (unix_ms % DN_DAY_MS < 0)
        day--;
    return day;
}

void dn_time_format_day(int64_t day, char text[DN_DATE_SIZE])
{
    /* civil_from_days (H. Hinnant), on a range where nothing overflows */
    int64_t z = day < 0 ? 0 : day > DN_TIME_LAST_DAY ? DN_TIME_LAST_DAY : day;
    z += 719468;
    int64_t era = z / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned d = doy - (153 * mp + 2) / 5 + 1;
    unsigned m = mp < 10 ? mp + 3 : mp - 9;
    long long y = (long long)yoe + era * 400 + (m <= 2);
    snprintf(text, DN_DATE_SIZE, "%04lld-%02u-%02u", y % 10000, m % 100, d % 100);
}

void dn_time_period_of(int64_t unix_ms, char period[DN_PERIOD_SIZE])
{
    char text[DN_TIME_TEXT_SIZE];
    dn_time_format(unix_ms, text);
    memcpy(period, text, 7);
    period[7] = '\0';
}

int dn_time_parse_period(const char *text, int64_t *from_ms, int64_t *to_ms)
{
    char date[16];
    int64_t from;
    if (!text || strlen(text) != 7)
        return DN_EPARSE;
    snprintf(date, sizeof date, "%s-01", text);
    if (dn_time_parse_date(date, &from))
        return DN_EPARSE;
    if (from_ms)
        *from_ms = from;
    if (to_ms) {
        /* the next month's first day, computed rather than parsed: the month
           after 9999-12 has no four-digit text */
        int year = atoi(text), month = atoi(text + 5) + 1;
        if (month > 12) {
            month = 1;
            year++;
        }
        *to_ms = s_days_from_civil(year, (unsigned)month, 1) * DN_DAY_MS;
    }
    return 0;
}

void dn_time_period_next(char period[DN_PERIOD_SIZE])
{
    int year = atoi(period), month = atoi(period + 5);
    if (++month > 12) {
        month = 1;
        year++;
    }
    snprintf(period, DN_PERIOD_SIZE, "%04d-%02d", year % 10000, month);
}
