/*  dn_time -- wall-clock time as Unix milliseconds, its text form, and the
    calendar: days and months.

    Events carry the site's clock in Unix milliseconds; everything a person
    reads shows it as ISO-8601 with its offset.  One module so that every
    program prints time the same way, and one calendar: the ledger's
    periods, the reports' days and months, HQ's checks of a typed month,
    the agent's reminder and sales days all ask here what a day and a
    month are.  The calendar is proleptic Gregorian, years 1970 to 9999.

    Days and months follow the network's time zone (DESIGN.md rule 10): a
    day in Beijing begins at 00:00 Beijing time, 16:00 UTC the day before.
    The zone is process-wide, set once at start by dn_time_zone_set (the
    server from central.db, the agent from what the server's Welcome said)
    and UTC until then, so that a program or test that sets none keeps the
    UTC calendar.  The zone comes from libc (TZ, tzset, localtime_r): an
    IANA name read from the zone database, or a POSIX rule string that
    needs no database (a shop PC without tzdata).

    Periods (months of the ledger) have one more rule, for networks that
    kept UTC books before the zone came: periods begin to follow the zone
    only from zone_from (the UTC start of a month, 0 for a network that
    always had its zone).  A time before zone_from is in its UTC month, so
    that the postings, closes and rollups made then keep their meaning;
    a time from zone_from on is in its local month, but never before
    zone_from's month (the first zoned period starts at zone_from).
*/
#ifndef DN_TIME_H
#define DN_TIME_H

#include <stdint.h>

#define DN_TIME_TEXT_SIZE 32 /* "2026-11-24T21:53:44.859+08:00" and its NUL, with room */
#define DN_DAY_MS         86400000LL
#define DN_DATE_SIZE      11 /* "YYYY-MM-DD" and its NUL */
#define DN_PERIOD_SIZE    8  /* "YYYY-MM" and its NUL */
#define DN_TIME_ZONE_SIZE 64 /* an IANA name or a POSIX TZ rule and its NUL */
#define DN_TIME_ZONE_UTC  "UTC"

/*  How far a site's clock may be off the server's before the agent warns
    and the server flags its events (clock_ahead).  Events are never posted
    later than the server received them, whatever the clock said.  */
#define DN_CLOCK_TOLERANCE_MS (5 * 60 * 1000LL)

/*  Returns the current wall-clock time in Unix milliseconds.  */
int64_t dn_time_now_ms(void);

/*  Returns a monotonic clock in milliseconds, for timeouts and deadlines
    (unmoved by a clock set right, or by a test's faketime).  */
int64_t dn_time_monotonic_ms(void);

/*  The same clock in microseconds, for measuring short spans (a group
    commit's apply and commit, dn_metrics).  */
int64_t dn_time_monotonic_us(void);

/* -- the zone ------------------------------------------------------------ */

/*  Sets the process's zone and the start of its zoned periods (zone_from:
    0, or the UTC start of a month).  zone: "UTC"; an IANA name found in
    the zone database ($TZDIR, else /usr/share/zoneinfo), like
    "Asia/Shanghai"; or a POSIX TZ rule like "CST-8" or
    "GMT0BST,M3.5.0/1,M10.5.0".  Returns 0, DN_ENOENT (a name with '/' the
    database does not hold) or DN_EPARSE (neither a name nor a rule), and
    then changes nothing.  Sets TZ in the environment: call it before any
    thread starts (the server at start, a test between cases).  */
int dn_time_zone_set(const char *zone, int64_t zone_from_ms);

/*  Returns the zone set ("UTC" until one is); borrowed, valid until the
    next dn_time_zone_set.  */
const char *dn_time_zone(void);

/*  Returns the zone_from of the zone set (0 until one is).  */
int64_t dn_time_zone_from(void);

/*  Checks that name is an IANA zone the database holds (see
    dn_time_zone_set; "UTC" always is) and, with rule not NULL, writes its
    POSIX rule (the TZif file's footer, e.g. "CST-8"; "UTC0" for "UTC"),
    which computes the zone's days from today on without the database.
    Returns 0, DN_ENOENT (not in the database, or not a zone name),
    DN_EPARSE (a file without a footer: TZif version 1).  */
int dn_time_zone_check(const char *name, char rule[DN_TIME_ZONE_SIZE]);

/*  Returns the default zone of a network in currency (ISO 4217): the
    zone of the country or territory that issues it for CNY, HKD, MOP,
    TWD, SGD, MYR, JPY, KRW, THB, VND ("Asia/Shanghai" for CNY), "UTC" for
    any other (currencies used across zones: USD, EUR, ...).  Static.  */
const char *dn_time_zone_default(const char *currency);

/* -- text and the calendar --------------------------------------------------- */

/*  Writes unix_ms as "YYYY-MM-DDTHH:MM:SS.mmm+08:00", the local time of
    the zone with its offset, into text; in the zone "UTC" as
    "YYYY-MM-DDTHH:MM:SS.mmmZ" as before zones came (a reader takes
    both).  */
void dn_time_format(int64_t unix_ms, char text[DN_TIME_TEXT_SIZE]);

/*  Parses a calendar date "YYYY-MM-DD" into the Unix milliseconds of its
    local midnight (dn_time_day_start).  Returns 0 or DN_EPARSE (also for
    impossible dates such as 2026-02-30, and for years before 1970).  */
int dn_time_parse_date(const char *text, int64_t *unix_ms);

/*  Returns the local day of a time: whole days from 1970-01-01 to its
    local date (in UTC, rounded down: -1 ms is day -1).  */
int64_t dn_time_day(int64_t unix_ms);

/*  Returns the first instant of local day (days since 1970-01-01), in
    Unix milliseconds: local midnight, or the first time after it where a
    DST change skips midnight.  A day's times are [start(day),
    start(day + 1)).  */
int64_t dn_time_day_start(int64_t day);

/*  Writes day (days since 1970-01-01) as "YYYY-MM-DD", clamped to
    1970-01-01 .. 9999-12-31.  */
void dn_time_format_day(int64_t day, char text[DN_DATE_SIZE]);

/*  Writes the period "YYYY-MM" a time falls in: the period of a posting,
    a rollup row or a statement.  Before zone_from its UTC month; from it
    on its local month, or zone_from's month if that is later.  */
void dn_time_period_of(int64_t unix_ms, char period[DN_PERIOD_SIZE]);

/*  Parses a month "YYYY-MM" (1970-01 .. 9999-12; nothing before or after
    the seven characters) into its range [*from_ms, *to_ms): the times
    dn_time_period_of puts in it.  A month after zone_from's runs from the
    local start of its first day to the next month's; one before, between
    UTC midnights; zone_from's own month from zone_from to the local start
    of the next month.  Either
    pointer may be NULL (only checking).  Returns 0 or DN_EPARSE (also for
    a month 00 or 13).  */
int dn_time_parse_period(const char *text, int64_t *from_ms, int64_t *to_ms);

/*  Steps period (a valid "YYYY-MM") to the next month: "2026-11" ->
    "2026-12", "2026-12" -> "2027-01"; "9999-12" -> "0000-01" (four digits
    are kept).  */
void dn_time_period_next(char period[DN_PERIOD_SIZE]);

#endif
