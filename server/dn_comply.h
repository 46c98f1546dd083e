/*  dn_comply -- the compliance report: what the ledger paid individuals.

    dn_plan refuses, under `compliance = cn-direct-selling`, the plan
    shapes that Chinese law treats as pyramid selling (README,
    "Compliance").  This report shows, for any plan, with the setting or
    without, what actually happened in a month: for each individual (a
    partner of kind reseller, a member) how deep the chain of individuals
    it stands in is, and what its income came from -- its own retail
    sales, others' sales, or recruiting and referral -- with flags where
    the shape is one the rules forbid.  Figures come from the ledger's
    postings of the month (transfers by period), read-only.
*/
#ifndef DN_COMPLY_H
#define DN_COMPLY_H

#include <jansson.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

/*  Sets *out to a new JSON object (caller decrefs), the report of period
    (YYYY-MM; NULL: the month of now_ms):
      {"period", "currency" (the ledger's), "compliance" (the setting of
       the plan version in force at the month's last millisecond, "none"
       or "cn-direct-selling", or null when none is in force),
       "individuals": [...], "summary": {...}}.
    One row of "individuals" per reseller HQ had added by the month's end,
    then per member (signed up by then) with income in the month or with
    an individual below it, resellers by code, members by phone:
      {"who" (code or phone), "kind" ("reseller" | "member"),
       "above"   individuals above it: resellers among its uplines in the
                 partner tree as it stood at the month's end; for a member,
                 the members up its referral chain, then the partner that
                 referred the first of them, if a reseller, and the
                 resellers above that partner;
       "below"   the most individuals on one path below it (the same links
                 downwards: children in the tree, members referred);
       "depth"   above + 1 + below: the individuals in its longest chain;
       "own_sales" (resellers: its net sales in the month, sales credited
                 to it less refunds and voids, as `sales --by partner`
                 counts them; members: null),
       "own"     commission at level 0 (on its own sales),
       "others"  commission at levels 1 and up, and recruit overrides (on
                 others' sales),
       "recruiting" referral rewards (first-purchase bonuses and the
                 purchase percentage of members it referred),
       "income"  own + others + recruiting;
       each net of the clawbacks and void reversals posted in the month;
       "own_pct", "others_pct", "recruiting_pct" (shares of income, percent,
       2 decimals, half-even; null when income <= 0), "pay_pct" (income as
       a percentage of own_sales; null for members or own_sales <= 0),
       "flags": space-separated, "" when none: "others_sales" (others !=
       0), "recruiting" (recruiting != 0), "over_30pct" (a reseller whose
       income > 30 % of own_sales), "chain" (depth > 1)}.
    Money as decimal strings, each with its "_minor" twin.  "summary":
      {"individuals", "resellers", "members" (rows), "flagged" (rows with
       a flag), "others_sales", "recruiting", "over_30pct", "chain" (rows
       with that flag), "longest_chain" (the greatest depth, 0 when no
       rows), "own", "others", "recruiting_income", "income" (sums over
       the rows, with _minor twins), "own_pct", "others_pct",
       "recruiting_pct"}.
    Manual adjustments and payouts are not income and are left out.
    Returns 0, DN_EINVAL (period not a month), DN_ENOMEM or DN_EDB; why
    holds one line.  */
int dn_comply_report(sqlite3 *db, const char *period, int64_t now_ms, json_t **out,
                     char *why, size_t why_size);

#endif
