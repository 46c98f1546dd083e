/*  dn_ledger -- the partner-hierarchy commission and referral ledger.

    Every stored sale and refund is posted, in the transaction that stores
    the event, as double-entry transfers between accounts (partners,
    members' referral credit, HQ expense, payout clearing), each rounded
    once (half-even) and chained by SHA-256 to the transfer before it.  The
    rules (see the README, "The ledger"):
      - commission: the seller is level 0, its upline at the sale's time
        levels 1, 2 ...; hq partners never earn; suspended partners are
        skipped and the next active one takes the level; per sale, level and
        category group: amount x rate, with the plan's cap shared out from
        level 0 upward;
      - referral: a referred member's first stored purchase pays the
        referrer the first-purchase bonus; purchases within purchase_days of
        the sign-up pay purchase_bps of the amount; a partner referrer is
        paid into its commission account;
      - override: a partner's recruiter earns recruit_override_bps of the
        partner's sales within recruit_override_days of its joining;
      - clawback: a refund takes back from every transfer of the sale in
        proportion; the refund that completes the sale's refund takes back
        exactly what is left; the first-purchase bonus is taken back only
        by the completing refund.
    Periods are calendar months (UTC); a closed month is never posted into:
    a late event posts into the next open month and names its own month.
*/
#ifndef DN_LEDGER_H
#define DN_LEDGER_H

#include "dealernet.pb-c.h"

#include <jansson.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#define DN_PERIOD_SIZE 8 /* "YYYY-MM" and its NUL */

typedef struct _dn_ledger_t dn_ledger_t;

/*  Returns a new ledger on db (borrowed; must outlive it), or NULL.  The
    ledger prepares its statements on db once: a ledger made on another
    connection sees that connection's tables (verify uses this).  Caller
    destroys, before closing db.  */
dn_ledger_t *dn_ledger_new(sqlite3 *db);

/*  Destroys; accepts NULL and sets *self_p to NULL.  */
void dn_ledger_destroy(dn_ledger_t **self_p);

/*  Drops what the ledger caches between postings (the tree, plans, closed
    periods, account ids).  Call it after any admin command and after any
    rollback of a transaction the ledger posted in: the caches then
    describe a database that no longer is.  A failed dn_ledger_post forgets
    by itself.  */
void dn_ledger_forget(dn_ledger_t *self);

/*  Posts what a just-stored event earns or takes back, inside the caller's
    transaction: sales and refunds post transfers, other events nothing;
    balances move at the next dn_ledger_flush.
    eid is the event's row; now_ms the posting time.  Returns 0, or DN_EDB
    (the caller rolls back the whole batch).  A sale that earns nothing --
    no plan in force, another currency, an unknown seller -- posts
    nothing and is not an error.  */
int dn_ledger_post(dn_ledger_t *self, int64_t eid, const Dealernet__Event *ev,
                   int64_t now_ms);

/*  Applies the balance moves of the postings since the last flush, inside
    the caller's transaction: postings chain their transfers at once but
    move balances in bulk (dn_ingest flushes once per batch).  Call before
    commit.  Returns 0 or DN_EDB (the caches are then dropped).  */
int dn_ledger_flush(dn_ledger_t *self);

/*  Writes the period (YYYY-MM, UTC) of a time.  */
void dn_ledger_period_of(int64_t unix_ms, char period[DN_PERIOD_SIZE]);

/*  Closes a month.  Returns 0; DN_EPARSE (not YYYY-MM); DN_EEXIST (already
    closed); DN_EDB.  why holds one line.  */
int dn_ledger_period_close(sqlite3 *db, const char *period, const char *admin,
                           int64_t now_ms, char *why, size_t why_size);

/*  Sets *out to a new JSON object: a statement of the account of partner
    `partner` (a code) or of the member with phone `phone`, typed any way
    and made canonical with the network's country (dn_phones_canonical;
    exactly one is non-NULL) for period (YYYY-MM; NULL: the current month):
    {"account", "period", "currency", "opening", "closing", "transfers":
    [{"id", "date", "code", "amount" (signed: + credit, - debit), "sale",
    "level", "rate_bps", "category", "late_from", "ref", "counterparty"}],
    and totals by code}.  Amounts as decimal strings in the ledger currency.
    Returns 0, DN_ENOENT (no such partner or member), DN_EPARSE (bad
    period), DN_EINVAL (not a phone: dn_phone_normalize's message), DN_EDB.  */
int dn_ledger_statement(sqlite3 *db, const char *partner, const char *phone,
                        const char *period, int64_t now_ms, json_t **out, char *why,
                        size_t why_size);

/*  Records a payout of amount (minor units, > 0) from a partner's account
    to payout clearing, with a reference, in one transaction.  Refuses
    (DN_ELIMIT) more than the account's balance.  Sets *out to the transfer
    as JSON.  Returns 0, DN_ENOENT, DN_EINVAL, DN_ELIMIT, DN_EDB.  */
int dn_ledger_payout(sqlite3 *db, const char *partner, int64_t amount, const char *ref,
                     const char *admin, int64_t now_ms, json_t **out, char *why,
                     size_t why_size);

/*  The ledger currency (that of the plans), or DN_ENOENT before any plan.  */
int dn_ledger_currency(sqlite3 *db, char currency[4], int *exponent);

/*  Recomputes and compares everything the ledger can prove, reading the
    database file at path on its own connection: every site's event chain
    (hashes, links, batch signatures), the transfer chain, that every
    balance equals its account's credits minus debits and that they sum to
    zero, that nothing was posted into a period after it closed, and every
    commission, referral, override and clawback recomputed from the stored
    events with the plans and tree in force at each sale's time.  Sets *out
    to a new JSON object {"ok", "events", "transfers", "accounts",
    "differences": [one line each]}.  Returns 0 if no difference,
    DN_ECHAIN if any, DN_EDB, DN_ENOMEM.  */
int dn_ledger_verify(const char *path, json_t **out);

#endif
