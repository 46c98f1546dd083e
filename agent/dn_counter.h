/*  dn_counter -- what the counter reads back: sales of a day or a range
    with their totals, the daily close (日结), and finding a member by name
    or phone.

    Read-only: every function reads dn_store's projections (sales,
    refunds, members, events) and changes nothing, so a clerk may run them
    as often as they like, and the close of a day can be printed again
    later with the same figures, plus whatever was recorded since.  Days
    are the network's: a day's range comes from dn_time_parse_date and
    dn_time_day only (dn_counter_day), never from arithmetic of its own.
*/
#ifndef DN_COUNTER_H
#define DN_COUNTER_H

#include "dn_store.h"

#include <jansson.h>
#include <stdint.h>

/*  sales lists at most this many unless --limit says otherwise.  */
#define DN_COUNTER_SALES_LIMIT 100
/*  and never more than this in one listing (--all streams every sale).  */
#define DN_COUNTER_SALES_MAX 10000
/*  member find: default and largest number of members shown.  */
#define DN_COUNTER_FIND_LIMIT 20
#define DN_COUNTER_FIND_MAX   200

/*  The range [*from_ms, *to_ms) of the day "YYYY-MM-DD": its first
    millisecond and the next day's, as dn_time_parse_date gives them.
    Returns 0 or DN_EPARSE.  */
int dn_counter_day(const char *date, int64_t *from_ms, int64_t *to_ms);

/*  The date (DN_DATE_SIZE) of the day unix_ms falls in (dn_time_day).  */
void dn_counter_date_of(int64_t unix_ms, char date[16]);

/*  Totals of the sales recorded in [from_ms, to_ms): a new object {sales,
    total, total_minor, refunded, refunded_minor, net, net_minor,
    currency, by_channel: [{channel, sales, total, ..., net_minor}],
    by_payment: [{payment, ...}]}, refunded what has been refunded of
    those sales so far (whenever).  Channels and payments with no sale are
    left out; they come in enum order.  NULL on error.  */
json_t *dn_counter_totals(dn_store_t *store, int64_t from_ms, int64_t to_ms);

/*  The daily close of the day [from_ms, to_ms) named date: a new object
    {site, date, currency, sales, gross, gross_minor, refunds, refunded,
    refunded_minor, net, net_minor, first_receipt, last_receipt,
    members_signed_up, by_payment, by_channel, unsynced, pending}.  The
    drawer's view: gross is the day's sales, refunds are the refunds
    recorded that day (of any day's sale, paid back by that sale's payment
    method and counted in its channel), net = gross - refunded.  unsynced:
    the day's events the server has not acknowledged; pending: all of
    them.  NULL on error.  */
json_t *dn_counter_close(dn_store_t *store, const char *date, int64_t from_ms,
                         int64_t to_ms);

/*  Members signed up here whose name holds text (ASCII letters compared
    without case) or whose phone begins with what text means as a phone
    prefix (dn_phone_prefix with the site's country: a typed "138 0013"
    finds +8613800138000), through dn_store_members_find.  Newest sign-up
    first, at most limit; *more receives how many more matched.  A new
    array of {id, phone, name, referrer, household, seq, recorded_at}
    (caller decrefs), or NULL on error.  */
json_t *dn_counter_member_find(dn_store_t *store, const char *text, int64_t limit,
                               int64_t *more);

#endif
