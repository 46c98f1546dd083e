/*  dn_time -- clock, ISO-8601 text and the zoned calendar (see dn_time.h).  */
#include "dn_time.h"
#include "dn_error.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DN_TIME_LAST_DAY 2932896LL /* 9999-12-31, as days since 1970-01-01 */
#define DN_TIME_TZIF_MAX (512 * 1024) /* far above any zone's file (Asia/Shanghai: 561 bytes) */

/*  The process's zone: s_utc keeps the UTC calendar on gmtime, exactly as
    before zones came; otherwise TZ names s_zone's file or rule.  */
static char s_zone[DN_TIME_ZONE_SIZE] = DN_TIME_ZONE_UTC;
static int s_utc = 1;
static int64_t s_zone_from_ms;
static int64_t s_zone_from_month; /* zone_from's UTC month index: the first zoned period */

static int64_t s_month_of(int64_t unix_ms, int utc);

int64_t dn_time_now_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

int64_t dn_time_monotonic_us(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000;
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

/*  The file of an IANA zone name in the database ($TZDIR, else
    /usr/share/zoneinfo).  Returns 0 or DN_ENOENT: a name that could leave
    the folder (a leading '/', "..") or has characters no zone has.  */
static int s_zone_path(const char *name, char *path, size_t size)
{
    const char *dir = getenv("TZDIR");
    size_t len = name ? strlen(name) : 0;
    if (len == 0 || len >= DN_TIME_ZONE_SIZE || name[0] == '/' || strstr(name, ".."))
        return DN_ENOENT;
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)name[i]) && !strchr("/_+-", name[i]))
            return DN_ENOENT;
    int n = snprintf(path, size, "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", name);
    return n > 0 && (size_t)n < size ? 0 : DN_ENOENT;
}

int dn_time_zone_check(const char *name, char rule[DN_TIME_ZONE_SIZE])
{
    static char buf[DN_TIME_TZIF_MAX];
    char path[4096];
    size_t n;
    FILE *f;

    if (name && strcmp(name, DN_TIME_ZONE_UTC) == 0) {
        if (rule)
            snprintf(rule, DN_TIME_ZONE_SIZE, "UTC0");
        return 0;
    }
    if (s_zone_path(name, path, sizeof path) || !(f = fopen(path, "rb")))
        return DN_ENOENT;
    n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    if (n < 44 || memcmp(buf, "TZif", 4) != 0) /* a folder, or not a zone */
        return DN_ENOENT;
    if (!rule)
        return 0;
    /* Version 2 and later end in "\nRULE\n" (RFC 8536, 3.3): the rule for
       times after the last transition, which is the zone as it is now.  */
    if (buf[4] < '2' || buf[n - 1] != '\n')
        return DN_EPARSE;
    size_t end = n - 1, start = end;
    while (start > 0 && buf[start - 1] != '\n')
        start--;
    if (start == 0 || end - start == 0 || end - start >= DN_TIME_ZONE_SIZE)
        return DN_EPARSE;
    memcpy(rule, buf + start, end - start);
    rule[end - start] = '\0';
    return 0;
}

/*  Whether text looks like a POSIX TZ rule: a standard name (three or
    more letters, or <...>) and an offset that starts with a sign or a
    digit.  libc parses the rest; what it cannot parse it takes for UTC,
    which this check keeps from a name mistyped (no digit: "Asia-Shanghai").  */
static int s_is_rule(const char *text)
{
    const char *p = text;
    if (*p == '<') {
        p = strchr(p, '>');
        if (!p || p - text < 4)
            return 0;
        p++;
    } else {
        while (isalpha((unsigned char)*p))
            p++;
        if (p - text < 3)
            return 0;
    }
    if (*p == '+' || *p == '-')
        p++;
    return isdigit((unsigned char)*p) && !strchr(text, '/') &&
           strlen(text) < DN_TIME_ZONE_SIZE;
}

int dn_time_zone_set(const char *zone, int64_t zone_from_ms)
{
    char path[4096], tz[4100];
    if (!zone || zone_from_ms < 0)
        return DN_EPARSE;
    if (strcmp(zone, DN_TIME_ZONE_UTC) == 0) {
        snprintf(tz, sizeof tz, "UTC0");
    } else if (dn_time_zone_check(zone, NULL) == 0 && s_zone_path(zone, path, sizeof path) == 0) {
        snprintf(tz, sizeof tz, ":%s", path); /* the file found, whatever TZDIR libc reads */
    } else if (s_is_rule(zone)) {
        snprintf(tz, sizeof tz, "%s", zone);
    } else {
        return strchr(zone, '/') ? DN_ENOENT : DN_EPARSE;
    }
    if (setenv("TZ", tz, 1) != 0)
        return DN_ENOMEM;
    tzset();
    snprintf(s_zone, sizeof s_zone, "%s", zone);
    s_utc = strcmp(zone, DN_TIME_ZONE_UTC) == 0;
    s_zone_from_ms = zone_from_ms;
    /* once here, not in dn_time_period_of, which every posting calls */
    s_zone_from_month = s_month_of(zone_from_ms, 1);
    return 0;
}

const char *dn_time_zone(void)
{
    return s_zone;
}

int64_t dn_time_zone_from(void)
{
    return s_zone_from_ms;
}

const char *dn_time_zone_default(const char *currency)
{
    /* where one currency means one zone; a currency used across zones
       (USD, EUR, AUD...) names none, and init then asks for --zone */
    static const char *const zones[][2] = {
        {"CNY", "Asia/Shanghai"},  {"HKD", "Asia/Hong_Kong"},    {"MOP", "Asia/Macau"},
        {"TWD", "Asia/Taipei"},    {"SGD", "Asia/Singapore"},    {"MYR", "Asia/Kuala_Lumpur"},
        {"JPY", "Asia/Tokyo"},     {"KRW", "Asia/Seoul"},        {"THB", "Asia/Bangkok"},
        {"VND", "Asia/Ho_Chi_Minh"},
    };
    for (size_t i = 0; currency && i < sizeof zones / sizeof zones[0]; i++)
        if (strcmp(currency, zones[i][0]) == 0)
            return zones[i][1];
    return DN_TIME_ZONE_UTC;
}

/*  The civil time of secs in the zone (UTC while s_utc), and its offset
    from UTC in seconds.  */
static void s_local(int64_t secs, struct tm *tm, int64_t *offset_s)
{
    time_t t = (time_t)secs;
    if (s_utc)
        gmtime_r(&t, tm);
    else
        localtime_r(&t, tm);
    *offset_s = s_days_from_civil(tm->tm_year + 1900LL, (unsigned)tm->tm_mon + 1,
                                  (unsigned)tm->tm_mday) * 86400 +
                tm->tm_hour * 3600 + tm->tm_min * 60 + tm->tm_sec - secs;
}

/*  Whole seconds of unix_ms, rounded down.  */
static int64_t s_secs(int64_t unix_ms)
{
    return unix_ms / 1000 - (unix_ms % 1000 < 0);
}

void dn_time_format(int64_t unix_ms, char text[DN_TIME_TEXT_SIZE])
{
    int64_t secs = s_secs(unix_ms), ms = unix_ms - secs * 1000, off;
    char zone[8] = "Z";
    struct tm tm;
    s_local(secs, &tm, &off);
    if (!s_utc) {
        int64_t a = off < 0 ? -off : off;
        snprintf(zone, sizeof zone, "%c%02d:%02d", off < 0 ? '-' : '+', (int)(a / 3600 % 100),
                 (int)(a / 60 % 60));
    }
    snprintf(text, DN_TIME_TEXT_SIZE, "%04d-%02d-%02dT%02d:%02d:%02d.%03d%s",
             (tm.tm_year + 1900) % 10000, (tm.tm_mon + 1) % 100, tm.tm_mday % 100,
             tm.tm_hour % 100, tm.tm_min % 100, tm.tm_sec % 100, (int)ms, zone);
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
    *unix_ms = dn_time_day_start(s_days_from_civil(y, m, d));
    return 0;
}

int64_t dn_time_day(int64_t unix_ms)
{
    if (s_utc) {
        int64_t day = unix_ms / DN_DAY_MS;
        if (unix_ms % DN_DAY_MS < 0)
            day--;
        return day;
    }
    struct tm tm;
    int64_t off;
    s_local(s_secs(unix_ms), &tm, &off);
    return s_days_from_civil(tm.tm_year + 1900LL, (unsigned)tm.tm_mon + 1,
                             (unsigned)tm.tm_mday);
}

int64_t dn_time_day_start(int64_t day)
{
    if (s_utc)
        return day * DN_DAY_MS;
    /* The first second whose local day is day: no zone is more than 26 h
       off UTC (the widest are +14 and -12), so it lies within 27 h of UTC
       midnight; a search rather than mktime, which has no good answer
       for a midnight that a DST change skips.  */
    int64_t lo = day * 86400 - 27 * 3600, hi = day * 86400 + 27 * 3600;
    while (hi - lo > 1) {
        int64_t mid = lo + (hi - lo) / 2;
        if (dn_time_day(mid * 1000) >= day)
            hi = mid;
        else
            lo = mid;
    }
    return hi * 1000;
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

/*  Months as one number, year * 12 + month - 1, so that they compare and
    step as integers.  */
static int64_t s_month_index(const struct tm *tm)
{
    return (tm->tm_year + 1900LL) * 12 + tm->tm_mon;
}

/*  The month index of a time, UTC (utc) or local.  */
static int64_t s_month_of(int64_t unix_ms, int utc)
{
    time_t t = (time_t)s_secs(unix_ms);
    struct tm tm;
    int64_t off;
    if (utc)
        gmtime_r(&t, &tm);
    else
        s_local(t, &tm, &off);
    return s_month_index(&tm);
}

/*  The first instant of month index mi: UTC midnight of its first day
    (utc), or its local start.  */
static int64_t s_month_start(int64_t mi, int utc)
{
    int64_t day = s_days_from_civil(mi / 12, (unsigned)(mi % 12) + 1, 1);
    return utc ? day * DN_DAY_MS : dn_time_day_start(day);
}

void dn_time_period_of(int64_t unix_ms, char period[DN_PERIOD_SIZE])
{
    int64_t mi;
    if (s_utc || unix_ms < s_zone_from_ms) {
        mi = s_month_of(unix_ms, 1);
    } else {
        mi = s_month_of(unix_ms, 0);
        if (mi < s_zone_from_month)
            mi = s_zone_from_month;
    }
    snprintf(period, DN_PERIOD_SIZE, "%04d-%02d", (int)(mi / 12 % 10000), (int)(mi % 12 + 1));
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
    /* the month as an index, computed rather than parsed: the month after
       9999-12 has no four-digit text */
    int64_t mi = atoi(text) * 12LL + atoi(text + 5) - 1;
    int64_t first = s_utc ? INT64_MAX : s_zone_from_month;
    /* each end: UTC before zone_from's month, zone_from at it, local after */
    int64_t ends[2];
    for (int i = 0; i < 2; i++)
        ends[i] = mi + i < first ? s_month_start(mi + i, 1)
                  : mi + i == first ? s_zone_from_ms
                                    : s_month_start(mi + i, 0);
    if (from_ms)
        *from_ms = ends[0];
    if (to_ms)
        *to_ms = ends[1];
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
