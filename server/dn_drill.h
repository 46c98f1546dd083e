/*  dn_drill -- HQ's drill-down into sales (issue 15, item 1): one sale
    with everything it made and why (`sale.show`), and the sales that
    match a few filters (`sale.list`).

    Read-only: it writes nothing and keeps no state between calls, so
    either may run on any connection and thread (a query, dn_admin.h).
    Its SQL reads the tables of their owners (sales and events of
    dn_ingest, transfers and corrections of dn_ledger, exceptions of
    dn_facts, the registry's partners, sites and members, the catalogue)
    and never writes one; the rules it explains -- the plan's category
    groups, the tree at the sale's time -- are asked of their modules
    (dn_plan_table, dn_tree_walk, dn_tree_within_cached), so that what it
    says is what the ledger did.  Every result is one object whose arrays
    hold flat objects only: dealernet-hq prints each as a table, the web
    page each as a table.
*/
#ifndef DN_DRILL_H
#define DN_DRILL_H

#include <jansson.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#define DN_DRILL_LIMIT     100  /* sales listed without a limit */
#define DN_DRILL_MAX_LIMIT 1000 /* the most listed at once */

/*  Sets *out to a new JSON object (caller decrefs) describing the sale
    sale_eid (a row of `sales`):
      "sale" (its id), "site", "site_name", "seller" (the partner credited),
      "seller_name", "member" (its phone, or null), "member_name",
      "referrer" (the member's referrer: a phone or a partner code, or
      null), "referral" (the member's referral_state: none, pending, bound,
      void; null without a member), "channel", "payment" (dn_wire's words;
      "unknown" when the shop gave none), "receipt" ("0042", or null),
      "recorded" (the time the ledger posted it at, ISO-8601 in the
      network's zone), "received" (when the server stored it), "held"
      (true while the server holds it), "currency", "total", "refunded"
      (the refunds' sum), "plan_version" (the effective date, YYYY-MM-DD,
      of the plan version in force at "recorded"; null: none);
      when voided, also "voided" (ISO-8601), "voided_by", "void_reason",
      "void_correction" (the correction's id);
      "lines": [{"sku", "name" (the HQ catalogue's name of the SKU in
        force at the sale's time for the site's partner, else the
        network's; null when HQ lists none), "category", "qty", "price",
        "amount" (qty x price), "refunded_qty"}];
      "path": the seller's upline as it stood at "recorded", from the
        seller to the top: [{"level" (the ledger's level: 0 the seller, 1
        the next one up ...; null for a partner suspended then, whose
        place the next one takes), "partner", "name", "kind", "status"
        ("active" or "suspended" then)}];
      "transfers": every transfer the sale made, by id: [{"id", "kind"
        ("commission", "override", "referral", "bonus" (the
        first-purchase bonus), "clawback" or "void" (the reversal of a
        void)), "account" (the earner's: "partner:CODE" or
        "member:PHONE"), "name", "level", "rate_bps", "category", "base"
        (what the rate applied to: the sale's lines the category's table
        pays, or its total for a referral or an override; for a clawback
        or a void, what the transfer it takes back paid; null for a
        bonus), "share" (a clawback's refund / sale total like
        "55.00/550.00", or "rest" when it takes what was left: the
        completing refund, a void; else null), "exact" (base x rate_bps /
        10000, or base x share, before rounding; dn_money_format_exact),
        "amount" (signed: + credited to the account, - taken back from
        it), "rounding" (amount - exact: the half-even rounding and a
        clawback's cap at what was left), "period", "late_from", "refund"
        (a clawback's refund id, else null), "reverses" (the id of the
        transfer a clawback or void takes back from)}];
      "refunds": [{"refund", "recorded", "received", "amount"}], oldest
        first;
      "holds": the exceptions about the sale or its refunds: [{"id",
        "event" (the sale's or refund's id), "kind", "held", "detail",
        "created", "status" ("open", or the resolution), "resolved",
        "resolved_by", "reason"}].
    Money as decimal strings in the sale's currency, with "_minor"
    twins of total, refunded and each amount.  Returns 0, DN_ENOENT (no
    such sale), DN_EDB, DN_ENOMEM; why holds one line.  */
int dn_drill_sale(sqlite3 *db, int64_t sale_eid, json_t **out, char *why, size_t why_size);

/*  The filters of dn_drill_sales; NULL or 0 fields do not filter.  */
typedef struct {
    const char *site;    /* a site code */
    const char *partner; /* a partner code: its sales and its team's */
    const char *member;  /* a phone, typed any way (dn_phones_canonical) */
    int64_t from_ms;     /* first millisecond included (INT64_MIN: none) */
    int64_t to_ms;       /* last millisecond included (INT64_MAX: none) */
    int channel;         /* a Dealernet__Channel, or -1 for any */
    int64_t limit;       /* 1 .. DN_DRILL_MAX_LIMIT */
} dn_drill_query_t;

/*  Sets *out to a new JSON object: {"sales": the newest `limit` sales
    that match, newest first (by recorded time, then as stored): [{"sale",
    "recorded", "site", "seller", "member", "channel", "payment",
    "receipt", "currency", "total", "refunded" (the refunds' sum),
    "voided" (true or false)}], "more": how many more match}.  partner
    matches a sale credited to it or to a partner below it as the tree
    stood at the sale's recorded time -- the tree the ledger paid by, and
    the team of `sales --team`: a partner moved since keeps its past sales
    with its old upline.  Held sales are listed too (sale.show says so).
    Returns 0; DN_ENOENT (no such site or partner), DN_EINVAL (not a
    phone: dn_phones_canonical's message; from after to), DN_EDB,
    DN_ENOMEM; why holds one line.  */
int dn_drill_sales(sqlite3 *db, const dn_drill_query_t *query, json_t **out, char *why,
                   size_t why_size);

#endif
