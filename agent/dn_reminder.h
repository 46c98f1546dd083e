/*  dn_reminder -- replenishment reminders: which member will next need which
    product, and when.  The shop's call list ('dealernet-agent reminders').

    The estimate is pure arithmetic over one member's purchases of one SKU
    (dn_reminder_estimate), so it can be checked against figures worked out
    by hand; dn_reminder_list feeds it from the store and keeps what is due.

    The rules, for one member (by canonical phone) and one SKU:

    - A purchase is a sale line of a sale that names the member.  A line
      counts with its quantity less its refunded quantity; a line refunded
      in full, or any line of a sale whose whole total was refunded (by
      lines or by amount), does not count at all.  A partial refund by
      amount leaves the quantity as sold (money does not say which units
      came back).  Purchases after today are ignored.
    - Counted purchases on the same UTC day are one purchase of their summed
      quantity, with the later one's category (two tickets at the till are
      one shopping trip, and a zero interval would mean nothing).
    - Two or more counted purchases: basis "history".  The interval is the
      MEDIAN of the gaps in days between consecutive purchases, the usual
      quantity the median of their quantities.  The median, not the mean:
      one odd gap (a month away, a bag bought elsewhere) would drag a mean
      far off while the median does not move -- gaps 14, 14, 42, 14 give 14,
      where the mean says 21.  With an even count the median is the mean of
      the two middle values rounded down (better to call a day early than a
      day late).
    - One counted purchase and a recorded household size: basis "household".
      interval = quantity * base_days(category) / max(household, 1), rounded
      down, at least 1; the usual quantity is that purchase's.  base_days is
      how long one unit lasts one person (see dn_reminder_base_days); the
      household is the member's as recorded now (after any update).
    - Otherwise no estimate, and the member is not listed for that SKU.
    - due date = last counted purchase day + interval.  The member is listed
      when due date - today <= days: due within the window, or overdue
      (days until due negative).

    Days are calendar days of the network's time zone (UTC until the
    agent is told it), counted as days since 1970-01-01 (dn_time_day,
    dn_time_format_day).
*/
#ifndef DN_REMINDER_H
#define DN_REMINDER_H

#include "dn_store.h"
#include "dn_valid.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define DN_REMINDER_DEFAULT_DAYS      7    /* --days when not given */
#define DN_REMINDER_MAX_DAYS          3650 /* --days at most */
#define DN_REMINDER_DEFAULT_BASE_DAYS 30   /* base_days of a category not in the table */

typedef enum {
    DN_REMINDER_NONE = 0,  /* no estimate: one purchase and no household, or none */
    DN_REMINDER_HISTORY,   /* from the member's own intervals */
    DN_REMINDER_HOUSEHOLD, /* from one purchase and the household size */
} dn_reminder_basis_t;

/*  One purchase: one sale line, as stored.  */
typedef struct {
    int64_t recorded_at_ms;             /* the sale's time, Unix ms */
    int64_t quantity;                   /* as sold */
    int64_t refunded_qty;               /* of it refunded by line */
    int sale_refunded;                  /* 1 when the sale's whole total was refunded */
    char category[DN_MAX_CODE_LEN + 1]; /* the line's category, "" for none */
} dn_reminder_purchase_t;

/*  What the estimate found.  */
typedef struct {
    dn_reminder_basis_t basis;
    int64_t purchases;     /* counted purchases (purchase days) */
    int64_t last_day;      /* day of the last counted purchase */
    int64_t quantity;      /* usual quantity */
    int64_t interval_days; /* usual interval, >= 1 */
    int64_t due_day;       /* last_day + interval_days */
} dn_reminder_estimate_t;

/*  One line of the call list.  */
typedef struct {
    char phone[DN_PHONE_SIZE];      /* canonical */
    char name[DN_MAX_NAME_BYTES + 1]; /* "" when not signed up here or unnamed */
    char sku[DN_MAX_SKU_LEN + 1];
    dn_reminder_estimate_t est;
    int64_t days_until_due; /* est.due_day - today; negative = overdue */
} dn_reminder_t;

/*  How many days one unit of a product of this category lasts one person,
    for the household estimate.  The table (compared ignoring case):
      milk 3, drinks 7, rice 30, grain 30, oil 30, tea 60;
    any other category, or none (NULL or ""), DN_REMINDER_DEFAULT_BASE_DAYS
    (30: a 5 kg bag of rice lasts one person about a month).  */
int dn_reminder_base_days(const char *category);

/*  Estimates one member's next purchase of one SKU from that SKU's
    purchases p[0..n) (any order; not changed) as the rules in the banner
    say.  has_household/household: the member's recorded household size.
    Purchases on a day after today_day are ignored.  Returns 0 with *out
    set, or DN_ENOMEM.  When there is no estimate out->basis is
    DN_REMINDER_NONE and every field but out->purchases is 0.  */
int dn_reminder_estimate(const dn_reminder_purchase_t *p, size_t n, int has_household,
                         int64_t household, int64_t today_day,
                         dn_reminder_estimate_t *out);

/*  Sorts a call list by due date (most overdue first), then phone, then
    SKU.  */
void dn_reminder_sort(dn_reminder_t *items, size_t n);

/*  Builds the call list of the store: every member and SKU with an
    estimate whose due date is at most days after today_day (overdue ones
    included), sorted by dn_reminder_sort.  days must be >= 0.  Returns 0
    with *items a new array of *n entries (NULL when *n is 0; caller frees
    it with free()), or DN_EDB (also for a phone, SKU, name or category
    longer than the agent ever writes: a damaged file), DN_ENOMEM (and
    *items NULL, *n 0).  Only reads.  */
int dn_reminder_list(dn_store_t *store, int64_t today_day, int64_t days,
                     dn_reminder_t **items, size_t *n);

/*  A new JSON array of the call list, one object per entry:
    {phone, name (null when ""), sku, last_purchase ("YYYY-MM-DD"),
    usual_quantity, interval_days, due_date ("YYYY-MM-DD"), days_until_due,
    basis ("history" or "household")}.  Caller decrefs; NULL on error.  */
json_t *dn_reminder_json(const dn_reminder_t *items, size_t n);

/*  "history", "household" or "none".  Static.  */
const char *dn_reminder_basis_name(dn_reminder_basis_t basis);

#endif
