/*  dn_report -- headquarters' reports (read-only; the rollups they read
    are kept at ingest by dn_rollup).

    Five reports, each a JSON array of flat objects that dealernet-hq
    prints as a table, CSV or JSON (see the README, "Reports", for the
    exact definition of every figure):
      sales      totals, counts, refunds and net per partner, site,
                 channel, day, month or category; or a partner's team
                 volume per month;
      kpi        per partner and month: new, active and repeat members,
                 members who referred someone, and their share of sales;
      referrals  the top referrers, or one member's referral tree, with the
                 rewards the ledger paid;
      sites      sync health, sites silent for more than a day first;
      earnings   every partner's statement figures for a month, in tree
                 order.

    Team volume is the one figure that would need the tree at query time,
    so it is rolled up at ingest instead: every stored sale adds its total
    to the seller and to every partner above it as the tree stood at the
    sale's time, in the sale's month; every refund subtracts from the same
    partners (the sale's upline at the sale's time) in the refund's own
    month.  Moves never change the past (dn_tree_move refuses a
    move that would re-parent a stored sale), so what was added at ingest
    stays what a walk of the effective-dated tree would give.  Refunds are
    also split over the sale's categories at ingest (a refund by amount
    names no line), so that a category's refunds never exceed its sales.
    A voided sale (HQ's correction, dn_ledger_void) counts as refunded in
    full, in the month of the void: what its refunds had left becomes one
    more refund there, in sales and in team volume; refunds of it stored
    after the void count nowhere.

    Amounts are exact integers in minor units, shown as decimal strings
    with the currency's exponent; sales in different currencies are never
    added together.
*/
#ifndef DN_REPORT_H
#define DN_REPORT_H

#include "dealernet.pb-c.h"
#include "dn_time.h" /* DN_PERIOD_SIZE */

#include <jansson.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

/* -- the reports ------------------------------------------------------------ */

/*  The month a report of period is about: period ("YYYY-MM"), or the
    month of now_ms when NULL, into p, and its first millisecond and the
    first of the next month into *from_ms, *to_ms.  Returns 0, or
    DN_EINVAL with "period '...' is not a month (YYYY-MM)" in why.  */
int dn_report_period(const char *period, int64_t now_ms, char p[DN_PERIOD_SIZE],
                     int64_t *from_ms, int64_t *to_ms, char *why, size_t why_size);

/*  What `sales` groups by.  */
typedef enum {
    DN_REPORT_BY_MONTH = 0,
    DN_REPORT_BY_PARTNER,
    DN_REPORT_BY_SITE,
    DN_REPORT_BY_CHANNEL,
    DN_REPORT_BY_DAY,
    DN_REPORT_BY_CATEGORY
} dn_report_by_t;

/*  Parses "partner", "site", "channel", "day", "month", "category".
    Returns 0 or DN_EINVAL.  */
int dn_report_by_parse(const char *text, dn_report_by_t *by);

typedef struct {
    dn_report_by_t by;
    int64_t from_ms;     /* first millisecond included */
    int64_t to_ms;       /* last millisecond included */
    const char *partner; /* a partner code, or NULL for all */
    int team;            /* with partner: its team volume, by month */
} dn_report_sales_t;

/*  Sets *out to a new JSON array (caller decrefs), one object per group
    and currency, in group order (channels in the order store, online,
    community, unspecified; other keys ascending; a category-less line
    under null, first):
    {KEY (the group: "month", "partner", "site", "channel", "day" or
    "category"), "currency", "sales" (count), "total", "refunds" (count),
    "refunded", "net" (total - refunded)}; money as decimal strings.
    Sales count on the day they were recorded, refunds on theirs; a
    voided sale's void counts as one refund of what the sale's earlier
    refunds had left, on the day of the void, and refunds stored after
    the void count nowhere; with partner, only sales credited to it (and
    their refunds and voids).
    With team (partner required, by month): {"month", "partner",
    "currency", "sales", "total", "refunds", "refunded", "net"} from the
    rollup, for the months of from_ms .. to_ms inclusive.  With team, by
    partner and no partner: every partner's team volume over those months
    (their rows summed), {"partner", "currency", "sales", ...} by code.
    Returns 0; DN_EINVAL (team without partner unless by partner, team
    by partner with a partner, team with another grouping, from after
    to); DN_ENOENT (no such partner); DN_EDB, DN_ENOMEM.  why holds one
    line.  */
int dn_report_sales(sqlite3 *db, const dn_report_sales_t *query, json_t **out, char *why,
                    size_t why_size);

/*  Sets *out to a new JSON array, one object per partner (partner, a
    code, or every partner in code order) for period (YYYY-MM; NULL: the
    month of now_ms): {"partner", "period", "new_members",
    "active_members", "repeat_buyers", "referrers", "purchases", "sales",
    "share", "currency"}, where a member belongs to the partner it names
    as referrer at sign-up if HQ knows that code, else to the partner of
    the site it signed up at; and:
      new_members     its members who signed up in the period;
      active_members  its members with at least one purchase (a sale
                      naming their phone, at any site) in the period;
      repeat_buyers   its members with two or more purchases in it;
      referrers       its members named as referrer by a member who signed
                      up in the period;
      purchases       the purchases of its members in the period;
      sales           their total, in the report currency;
      share           sales as a percentage (2 decimals, half-even) of all
                      sales recorded in the period in that currency ("0.00"
                      when there are none).
    The report currency is the ledger's (that of the plans), else that of
    the first sale stored.  Returns 0, DN_EINVAL (bad period), DN_ENOENT
    (no such partner), DN_EDB, DN_ENOMEM; why holds one line.  */
int dn_report_kpi(sqlite3 *db, const char *partner, const char *period, int64_t now_ms,
                  json_t **out, char *why, size_t why_size);

/*  Sets *out to a new JSON array.  Without phone: the top referrers (at
    most top), by members referred, then rewards, then code:
    {"referrer" (a phone or a partner code), "kind" ("member" or
    "partner"), "name", "referred" (members whose sign-up named it),
    "purchases" (their purchases), "purchases_total", "rewards" (referral
    transfers to its account less their clawbacks and void reversals),
    "currency"}.
    With phone (typed any way, made canonical with the network's country,
    dn_phones_canonical): the member's referral tree, depth first,
    children by phone: {"tree" (the phone, indented two spaces per
    depth), "phone", "name", "depth", "referrer", "signed_up" (ISO-8601),
    "site", "referred", "purchases", "purchases_total", "earned" (net
    referral rewards credited to this member), "generated" (net referral
    rewards its purchases paid its referrer), "currency"}.
    Returns 0, DN_EINVAL (top out of 1..DN_REPORT_MAX_TOP, or not a phone:
    dn_phone_normalize's message), DN_ENOENT (no such member), DN_EDB, DN_ENOMEM; why
   holds one line.  */
#define DN_REPORT_MAX_TOP 1000
int dn_report_referrals(sqlite3 *db, int top, const char *phone, json_t **out, char *why,
                        size_t why_size);

/*  Sets *out to a new JSON array, one object per site: {"site",
    "partner", "state" ("silent": no contact for more than a day -- since
    it was added when never seen; "ok"; "revoked"), "last_seen"
    (ISO-8601 or null), "silent_for" (like "2d 03h"), "pending" (what the
    agent last reported still pending, less what arrived since; null
    before any Hello), "oldest_pending" (the oldest pending event's time,
    on the server's clock, when pending > 0), "lag" (now - oldest_pending,
    like "5h 12m"), "silent_ms", "lag_ms"}; silent sites first, longest
    silence first, then the others by code, revoked sites last.  Returns 0,
    DN_EDB, DN_ENOMEM.  */
/*  Sets *out to a new JSON array: the partner tree as it stands at now_ms
    (dn_tree_view: depth first, children by code), one object per partner
    with its commission account's figures for period (YYYY-MM; NULL: the
    month of now_ms), those `dealernet-hq statement PARTNER --period` shows:
    {"tree" (the code indented two spaces per depth), "partner", "name",
    "kind", "status", "period", "currency" (the ledger's, "" before a
    plan), "opening" (all periods before), "commission", "referral",
    "override", "clawback", "adjustment", "payout" (the period's sum of
    each code, signed for the account: + credit, - debit, so clawbacks and
    payouts are negative or 0), "closing" (opening + those six)}, each
    amount a decimal string with its integer twin KEY_minor.  One read of
    the transfers up to the period, whatever the number of partners.
    Returns 0, DN_EINVAL (bad period), DN_EDB (also a sum that overflows,
    which only an altered file holds), DN_ENOMEM; why holds one line.  */
int dn_report_earnings(sqlite3 *db, const char *period, int64_t now_ms, json_t **out,
                       char *why, size_t why_size);

#define DN_REPORT_SILENT_MS (24LL * 3600 * 1000)
int dn_report_sites(sqlite3 *db, int64_t now_ms, json_t **out);

/*  The fleet at now_ms, for the metrics (dn_metrics): every site counted
    once, by the sites report's state, except that a site not revoked that
    was never seen (no Hello yet) is counted as never, whatever its age
    (the report lists it as silent a day after HQ added it).  */
typedef struct {
    int64_t active;  /* "ok" in the report, seen at least once */
    int64_t silent;  /* "silent", seen at least once */
    int64_t never;   /* not revoked, never seen */
    int64_t revoked; /* "revoked" */
    int64_t pending; /* events the sites not revoked reported pending ("pending") */
} dn_report_fleet_t;

/*  Fills *fleet from db (any read transaction).  Returns 0, DN_EDB or
    DN_ENOMEM.  */
int dn_report_fleet(sqlite3 *db, int64_t now_ms, dn_report_fleet_t *fleet);

#endif
