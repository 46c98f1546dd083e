/*  dn_time -- wall-clock time as Unix milliseconds, its text form, and the
    calendar: days and months.

    Events carry the site's clock in Unix milliseconds; everything a person
    reads shows it as ISO-8601 UTC.  One module so that every program prints
    time the same way, and one calendar: the ledger's periods, the reports'
    months, HQ's checks of a typed month and the agent's reminder days all
    ask here what a day and a month are.  The calendar is UTC and proleptic
    Gregorian throughout (no zone, no DST: a month begins at 00:00 UTC of
    its first day for every site), years 1970 to 9999.
*/
#ifndef DN_TIME_H
#define DN_TIME_H

#include <stdint.h>

#define DN_TIME_TEXT_SIZE 32 /* "2026-11-24T21:53:44.859Z" and its NUL, with room */
#define DN_DAY_MS         86400000LL
#define DN_DATE_SIZE      11 /* "YYYY-MM-DD" and its NUL */
#define DN_PERIOD_SIZE    8  /* "YYYY-MM" and its NUL */

/*  How far a site's clock may be off the server's before the agent warns
    and the server flags its events (clock_ahead).  Events are never posted
    later than the server received them, whatever the clock said.  */
#define DN_CLOCK_TOLERANCE_MS (5 * 60 * 1000LL)

/*  Returns the current wall-clock time in Unix milliseconds.  */
int64_t dn_time_now_ms(void);

/*  Returns a monotonic clock in milliseconds, for timeouts and deadlines
    (unmoved by a clock set right, or by a test's faketime).  */
int64_t dn_time_monotonic_ms(void);

/*  Writes unix_ms as "YYYY-MM-DDTHH:MM:SS.mmmZ" (UTC) into text.  */
void dn_time_format(int64_t unix_ms, char text[DN_TIME_TEXT_SIZE]);

/*  Parses a calendar date "YYYY-MM-DD" (UTC midnight) into Unix
    milliseconds.  Returns 0 or DN_EPARSE (also for impossible dates such
    as 2026-02-30, and for years before 1970).  */
int dn_time_parse_date(const char *text, int64_t *unix_ms);

/*  Returns the UTC day of a time: whole days since 1970-01-01, rounded
    down (so -1 ms is day -1).  */
int64_t dn_time_day(int64_t unix_ms);

/*  Writes day (days since 1970-01-01) as "YYYY-MM-DD", clamped to
    1970-01-01 .. 9999-12-31.  */
void dn_time_format_day(int64_t day, char text[DN_DATE_SIZE]);

/*  Writes the month "YYYY-MM" (UTC) a time falls in: the period of a
    posting, a rollup row or a statement.  */
void dn_time_period_of(int64_t unix_ms, char period[DN_PERIOD_SIZE]);

/*  Parses a month "YYYY-MM" (1970-01 .. 9999-12; nothing before or after
    the seven characters) into its UTC range [*from_ms, *to_ms): midnight
    of its first day and midnight of the next month's first day.  Either
    pointer may be NULL (only checking).  Returns 0 or DN_EPARSE (also for
    a month 00 or 13).  */
int dn_time_parse_period(const char *text, int64_t *from_ms, int64_t *to_ms);

/*  Steps period (a valid "YYYY-MM") to the next month: "2026-11" ->
    "2026-12", "2026-12" -> "2027-01"; "9999-12" -> "0000-01" (four digits
    are kept).  */
void dn_time_period_next(char period[DN_PERIOD_SIZE]);

#endif
