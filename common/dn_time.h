/*  dn_time -- wall-clock time as Unix milliseconds, and its text form.

    Events carry the site's clock in Unix milliseconds; everything a person
    reads shows it as ISO-8601 UTC.  One module so that every program prints
    time the same way.
*/
#ifndef DN_TIME_H
#define DN_TIME_H

#include <stdint.h>

#define DN_TIME_TEXT_SIZE 32 /* "2026-11-24T21:53:44.859Z" and its NUL, with room */
#define DN_DAY_MS         86400000LL

/*  How far a site's clock may be off the server's before the agent warns
    and the server flags its events (clock_ahead).  Events are never posted
    later than the server received them, whatever the clock said.  */
#define DN_CLOCK_TOLERANCE_MS (5 * 60 * 1000LL)

/*  Returns the current wall-clock time in Unix milliseconds.  */
int64_t dn_time_now_ms(void);

/*  Writes unix_ms as "YYYY-MM-DDTHH:MM:SS.mmmZ" (UTC) into text.  */
void dn_time_format(int64_t unix_ms, char text[DN_TIME_TEXT_SIZE]);

/*  Parses a calendar date "YYYY-MM-DD" (UTC midnight) into Unix
    milliseconds.  Returns 0 or DN_EPARSE (also for impossible dates such
    as 2026-02-30).  */
int dn_time_parse_date(const char *text, int64_t *unix_ms);

#endif
