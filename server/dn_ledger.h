/*  dn_ledger -- the partner-hierarchy commission and referral ledger.

    Every stored sale and refund is posted, in the transaction that stores
    the event, as double-entry transfers between accounts (partners,
    members' referral credit, HQ expense, payout clearing), each rounded
    once (half-even) and chained by SHA-256 to the transfer before it.  The
    rules (see the README, "The ledger"):
      - commission: the seller is level 0, its upline at the sale's time
        levels 1, 2 ...; a partner suspended at that time is skipped (the
        next one above takes its level); an active partner of kind hq holds
        its level and keeps it for HQ (no transfer, its rate counts against
        the cap); per sale, level and category group: amount x rate, with
        the plan's cap shared out from level 0 upward; categories match
        without regard to ASCII case;
      - referral: a member's purchases are its sales in the plan's
        currency, above 0, recorded at or after its sign-up; the first of
        them to reach the server is its first purchase, and the referral
        binds only if that was made at the sign-up's site after the
        sign-up reached the server (else it is void and pays nothing,
        ever: the view member_referrals); a bound referral pays the
        first-purchase bonus on the first purchase and purchase_bps on
        purchases within purchase_days of the sign-up; a partner referrer
        is paid into its commission account, unless suspended then or of
        kind hq (HQ keeps it);
      - override: a partner's recruiter earns recruit_override_bps of the
        partner's sales within recruit_override_days of its joining;
      - windows: within N days of start is start <= t < start + N x 24 h;
      - clawback: a refund takes back from every transfer of the sale in
        proportion, rounded per refund and capped at what is left; the
        refund that completes the sale's refund takes back exactly what is
        left; the first-purchase bonus is taken back only by the
        completing refund.
    Periods are calendar months (UTC); a closed month is never posted into:
    a late event posts into the next open month and names its own month.
    HQ's corrections -- a sale's void, a manual adjustment -- are appended
    as transfers too, each recording who and why (see "corrections"
    below).
*/
#ifndef DN_LEDGER_H
#define DN_LEDGER_H

#include "dealernet.pb-c.h"
#include "dn_account.h"
#include "dn_crypto.h"
#include "dn_id.h"
#include "dn_time.h" /* DN_PERIOD_SIZE */
#include "dn_valid.h"

#include <jansson.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>


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
    nothing and is not an error.
    A sale is posted whole or not at all: DN_ELIMIT when its total would
    take the running total of posted sales, or what it earns that of
    transfers, over DN_MONEY_SUM_MAX (dn_money.h; kept in money_totals,
    moved at dn_ledger_flush).  Nothing was posted then and the batch may
    go on: the caller holds the sale ('sum_limit').  The caller must not
    post a held sale, nor a refund of one (there is nothing to claw back).  */
int dn_ledger_post(dn_ledger_t *self, int64_t eid, const Dealernet__Event *ev,
                   int64_t now_ms);

/*  Applies the balance moves of the postings since the last flush, inside
    the caller's transaction: postings chain their transfers at once but
    move balances in bulk (dn_ingest flushes once per batch).  Call before
    commit.  Returns 0 or DN_EDB (the caches are then dropped).  */
int dn_ledger_flush(dn_ledger_t *self);

/*  Closes a month, as of now_ms (the server's clock).  Returns 0;
    DN_EPARSE (not YYYY-MM); DN_ELIMIT (the month has not ended at now_ms:
    the current month or a later one); DN_EEXIST (already closed); DN_EDB.
    why holds one line.  */
int dn_ledger_period_close(sqlite3 *db, const char *period, const char *admin,
                           int64_t now_ms, char *why, size_t why_size);

/*  Sets *out to a new JSON array, by period: every closed month
    {"period", "status": "closed", "closed" (ISO-8601), "closed_by"} and
    the open month a posting made at now_ms goes into {"period", "status":
    "open", "closed": null, "closed_by": null}.  Returns 0, DN_EDB,
    DN_ENOMEM.  */
int dn_ledger_period_list(sqlite3 *db, int64_t now_ms, json_t **out);

/*  Sets *out to a new JSON object: a statement of the account of partner
    `partner` (a code) or of the member with phone `phone`, typed any way
    and made canonical with the network's country (dn_phones_canonical;
    exactly one is non-NULL) for period (YYYY-MM; NULL: the current month):
    {"account", "period", "currency", "opening", "closing", "transfers":
    [{"id", "date", "code", "amount" (signed: + credit, - debit), "sale",
    "level", "rate_bps", "category", "late_from", "ref", "counterparty",
    "bonus", "correction" ("void" or "adjustment" for a correction's
    transfer, else null), "reason" (the correction's, else null)}],
    and totals by code}.  Amounts as decimal strings in the ledger currency.
    The opening and the totals are dn_ledger_figures'; the transfers are
    listed from the period's, and the closing is the opening plus them.
    Reads in one snapshot: the caller's transaction, else its own.
    Returns 0, DN_ENOENT (no such partner or member), DN_EPARSE (bad
    period), DN_EINVAL (not a phone: dn_phone_normalize's message), DN_EDB
    (also when the listed transfers do not add up to account_periods'
    figures: why says to run verify).  */
int dn_ledger_statement(sqlite3 *db, const char *partner, const char *phone,
                        const char *period, int64_t now_ms, json_t **out, char *why,
                        size_t why_size);

/*  The transfer codes, in the order of the CHECK on transfers.code
    (dn_central.c): an index into dn_ledger_figures_t's totals.  */
enum {
    DN_LEDGER_COMMISSION,
    DN_LEDGER_REFERRAL,
    DN_LEDGER_OVERRIDE,
    DN_LEDGER_CLAWBACK,
    DN_LEDGER_PAYOUT,
    DN_LEDGER_ADJUSTMENT,
    DN_LEDGER_CODES
};

/*  The name of code (a DN_LEDGER_* index): "commission" ... "adjustment".  */
const char *dn_ledger_code_name(int code);

/*  An account's figures for one period, as account_periods holds them
    (kept by dn_ledger_flush, checked by verify).  Amounts are signed for
    the account: + credit, - debit.  */
typedef struct {
    char name[DN_ACCOUNT_NAME_SIZE]; /* "partner:CODE" or "member:PHONE" */
    char period[DN_PERIOD_SIZE];
    char currency[4];                /* the plan's; "" when no plan is set yet */
    int exponent;                    /* its decimals (2 when no plan is set yet) */
    int64_t account;                 /* its id; 0: no transfer has touched it yet */
    int64_t opening;                 /* every period before */
    int64_t closing;                 /* opening + the period's totals */
    int64_t totals[DN_LEDGER_CODES]; /* the period's, by code */
    int has[DN_LEDGER_CODES];        /* 1 if the period has a transfer of the code */
} dn_ledger_figures_t;

/*  Fills *f with the figures of the account of partner `partner` or of
    the member with phone `phone` (exactly one non-NULL, found as
    dn_ledger_statement finds them) for period (NULL: the month of
    now_ms), read from account_periods: one indexed range of the
    account's rows up to the period, whatever the number of transfers.
    dn_ledger_statement and the earnings stream (dn_earnings) both take
    their figures from here.  Returns 0, and the errors of
    dn_ledger_statement with the same messages; DN_EDB with why saying
    to run verify when the figures overflow (an altered file).  */
int dn_ledger_figures(sqlite3 *db, const char *partner, const char *phone,
                      const char *period, int64_t now_ms, dn_ledger_figures_t *f,
                      char *why, size_t why_size);

/*  Records a payout of amount (minor units, > 0) from a partner's account
    to payout clearing, with a reference, in one transaction.  Refuses
    (DN_EEXIST) a reference an earlier payout used, naming that payout (a
    second record of one bank transfer is a double payment), and
    (DN_ELIMIT) more than the account's balance, and a payout that would
    take the running total of transfers over DN_MONEY_SUM_MAX.  Sets *out
    to the transfer as JSON.  Returns 0, DN_ENOENT, DN_EINVAL, DN_EEXIST,
    DN_ELIMIT, DN_EDB.  */
int dn_ledger_payout(sqlite3 *db, const char *partner, int64_t amount, const char *ref,
                     const char *admin, int64_t now_ms, json_t **out, char *why,
                     size_t why_size);

/*  The references of a payout run's payouts begin with this and the run's
    number: RUN-7/DEALER-BJ is run 7's payout to DEALER-BJ (dn_payrun).
    dn_ledger_payout refuses a reference of that form (DN_EINVAL): typed
    by hand, it would take a run's.  */
#define DN_LEDGER_RUN_REF_PREFIX "RUN-"

/*  The posting of dn_ledger_payout, inside the caller's transaction, with
    the ledger self made on its connection: the same checks (amount > 0,
    the reference's shape and first use, the partner's balance as stored,
    DN_MONEY_SUM_MAX), the transfer into the open period of now_ms, its
    reference in payout_refs, and the balances moved (dn_ledger_flush), so
    that a second payout of the same partner in the transaction reads the
    first one's balance.  Sets *balance_after (minor units) and period
    (posted into).  Returns 0, DN_EINVAL, DN_ENOENT, DN_EEXIST, DN_ELIMIT,
    DN_EDB, DN_ENOMEM (why says which partner and why); on failure the
    caller rolls back (the caches are dropped).  */
int dn_ledger_payout_post(dn_ledger_t *self, const char *partner, int64_t amount,
                          const char *ref, int64_t now_ms, int64_t *balance_after,
                          char period[DN_PERIOD_SIZE], char *why, size_t why_size);

/*  What a payout run of a closed period may pay one partner (see
    dn_ledger_payables).  */
typedef struct {
    int64_t partner_id;
    int64_t closing;    /* its balance at the period's end: the transfers of the
                           period and every one before */
    int64_t paid_after; /* its payouts posted into later periods */
    int64_t balance;    /* its balance now */
} dn_ledger_payable_t;

/*  Sets *rows (malloc'd, caller frees; NULL when *n is 0) to every
    partner commission account's figures for period, by partner id.
    Members' referral-credit accounts are left out: that credit is spent
    at the shops, not paid out.  The period must be closed.  Returns 0;
    DN_EPARSE (not YYYY-MM); DN_ELIMIT (not closed: why names `period
    close`); DN_EDB, DN_ENOMEM.  */
int dn_ledger_payables(sqlite3 *db, const char *period, dn_ledger_payable_t **rows,
                       size_t *n, char *why, size_t why_size);

/*  What a run pays: the closing balance less what was paid out after the
    period, so that no payout of a later month is paid a second time, and
    never more than the balance now (a clawback since may have taken some
    back).  0 or less: nothing.  */
int64_t dn_ledger_payable_amount(const dn_ledger_payable_t *p);

/* -- corrections: HQ's void and adjustment, append-only ------------------------

    A correction is HQ's, not a site's: it is no event, so it is kept in
    the table `corrections` (this module owns it) with who made it (the
    admin key's name) and why (a reason, 1..DN_CORRECTION_MAX_REASON bytes
    of text without control characters).  Its transfers carry code
    'adjustment' and sit in the transfer chain like every other; a void's
    transfers each name the transfer they reverse (`reverses`) and the
    sale, a manual adjustment's name neither.  The code 'adjustment' was in
    the transfers' CHECK from the start: a new code would have meant
    copying the append-only, hash-chained table whole to change one CHECK.

    The row's amount: an adjustment's signed amount (+ credits the
    account, - debits it); a void's share of the sale's total that it
    counts as refunded (the total less the refunds stored before it), for
    the reports.  events_through is the last event stored before the
    correction: verify replays the correction there, between the events,
    and so do the rollups when they are rebuilt.  */

#define DN_CORRECTION_MAX_REASON 200 /* bytes of UTF-8 */
/*  The largest adjustment, in minor units either way (1,000,000,000.00 at
    two decimals): a bound far above any commission, so that no run of
    adjustments brings a balance near int64.  */
#define DN_LEDGER_MAX_ADJUSTMENT 100000000000LL

/*  Finds the sale whose event id is text: the 36-character form
    ("0190c2d4-5e6f-7a8b-9c0d-1e2f3a4b5c6d", either case) or a prefix of
    it of at least 8 hex digits (hyphens where the full form has them).
    Sets *eid and id (the full form).  Returns 0; DN_EINVAL (not an id or
    such a prefix, or a prefix of more than one sale); DN_ENOENT (no sale
    has it); DN_EDB.  why holds one line.  */
int dn_ledger_sale_find(sqlite3 *db, const char *text, int64_t *eid,
                        char id[DN_ID_TEXT_SIZE], char *why, size_t why_size);

/*  Finds the sale of site (a code) whose receipt number (Sale.receipt,
    issue 13) is text: digits, leading zeros as the agent prints them
    ("0042"), 1..DN_MAX_RECEIPT.  Sets *eid and id (the full form).
    Returns 0; DN_EINVAL (not a receipt number; or the site holds more
    than one sale with it -- a site restored on a new PC may number a
    receipt twice -- and why names them, by id, oldest first); DN_ENOENT
    (no sale of the site has it); DN_EDB.  why holds one line.  */
int dn_ledger_sale_by_receipt(sqlite3 *db, const char *site, const char *text,
                              int64_t *eid, char id[DN_ID_TEXT_SIZE], char *why,
                              size_t why_size);

/*  Voids the sale sale_eid inside the caller's transaction, with the
    ledger self made on db: for every commission, referral and override
    transfer of the sale (the first-purchase bonus too), one 'adjustment'
    transfer back of what the sale's refunds have not already taken back,
    posted into the open period of now_ms; then the correction row.  A
    refund of the sale stored later finds nothing left and posts nothing.
    The caller rolls the sale's rollups back too (dn_rollup_void, with
    *events_through) and commits.  Sets *out to {"correction", "sale",
    "reason", "by", "voided" (ISO-8601), "period", "transfers" (how many),
    "reversed" (their sum), "refunded" (the row's amount), "currency"}.
    Returns 0; DN_EINVAL (reason not acceptable); DN_EDUP (voided already:
    why says when and by whom); DN_ENOENT (no such sale); DN_EDB,
    DN_ENOMEM (the caller rolls back).  why holds one line.  */
int dn_ledger_void(dn_ledger_t *self, int64_t sale_eid, const char *reason,
                   const char *admin, int64_t now_ms, int64_t *events_through,
                   json_t **out, char *why, size_t why_size);

/*  Posts a manual adjustment of amount (minor units, non-zero, at most
    DN_LEDGER_MAX_ADJUSTMENT either way) in one transaction: between
    hq:commission and the commission account of partner `account` (a
    code), or between hq:referral and a member's referral credit when
    account is "member:PHONE" (any phone format; the member must exist).
    Positive credits the account, negative debits it (a balance may go
    below zero: the partner then owes it, and payouts wait).  Posted into
    the open period of now_ms, recorded as a correction.  Sets *out to
    {"correction", "account", "amount" (signed), "currency", "period",
    "balance" (after), "reason", "by", "at"}.  Returns 0; DN_EINVAL (bad
    amount or reason, an hq partner); DN_ENOENT (no such partner or
    member; no plan, so no currency); DN_EDB, DN_ENOMEM.  */
int dn_ledger_adjust(sqlite3 *db, const char *account, int64_t amount, const char *reason,
                     const char *admin, int64_t now_ms, json_t **out, char *why,
                     size_t why_size);

/*  Sets *out to a new JSON array of the corrections, oldest first:
    {"id", "kind" ("void" or "adjustment"), "at" (ISO-8601), "by",
    "sale" (a void's sale id, else null), "account" (an adjustment's
    account, else null), "amount" (an adjustment's signed amount, a void's
    part of the sale counted as refunded), "reversed" (the sum of a void's
    transfers, else null), "currency", "period", "transfers", "reason"}.
    Returns 0, DN_EDB, DN_ENOMEM.  */
int dn_ledger_corrections(sqlite3 *db, json_t **out);

/*  *count receives the number of transfers in the ledger, read in one
    index lookup (the metrics read it at every scrape, over millions of
    rows).  Returns 0 or DN_EDB.  */
int dn_ledger_transfer_count(sqlite3 *db, int64_t *count);

/* -- what verify replays: the posting code's own rules --------------------------

    dn_verify recomputes the ledger with the very code that posted it: a
    ledger made on verify's connection posts into TEMP tables that shadow
    main.transfers, main.accounts and main.account_periods (see
    dn_ledger_new), and the hashes
    below are the ones the posting code wrote.  */

/*  One transfer, as posted and as a row of `transfers` holds it.  Zero
    ids mean NULL.  */
typedef struct {
    int64_t debit, credit, amount;
    const char *code;
    int64_t source_eid, sale_eid, reverses;
    int has_level;
    int level;
    int has_rate;
    int32_t rate_bps;
    const char *category; /* NULL for none */
    int bonus;
    char period[DN_PERIOD_SIZE];
    char event_period[DN_PERIOD_SIZE]; /* "" unless late */
    const char *ref;
    int64_t created_ms;
} dn_ledger_transfer_t;

/*  Sets hash to the hash of transfer t stored with row id after a
    transfer whose hash is prev (zeros for the first): SHA-256 of prev and
    a canonical text of every field, so that changing any stored field
    breaks the chain.  Returns 0, DN_EINVAL (a field too long for the
    text), DN_ECRYPTO.  */
int dn_ledger_transfer_hash(int64_t id, const dn_ledger_transfer_t *t,
                            const uint8_t prev[DN_HASH_BYTES],
                            uint8_t hash[DN_HASH_BYTES]);

/*  Sets *reserve to what transfer t adds to the running total of
    transfers (money_totals): twice a commission, referral or override,
    nothing for a clawback, once anything else.  Returns 0 or
    DN_EOVERFLOW.  */
int dn_ledger_transfer_reserve(const dn_ledger_transfer_t *t, int64_t *reserve);

/*  A row of `corrections`.  Zero ids mean NULL; the texts are borrowed.  */
typedef struct {
    int64_t id;
    const char *kind; /* "void" or "adjustment" */
    int64_t sale_eid, account, amount;
    const char *reason, *admin;
    int64_t created_ms;
    char period[DN_PERIOD_SIZE];
    int64_t events_through, first_transfer, last_transfer;
} dn_ledger_correction_t;

/*  Sets hash to the hash stored with correction c: SHA-256 of its
    canonical text (texts with their lengths).  Returns 0, DN_EINVAL,
    DN_ENOMEM, DN_ECRYPTO.  */
int dn_ledger_correction_hash(const dn_ledger_correction_t *c,
                              uint8_t hash[DN_HASH_BYTES]);

/*  Posts, inside the caller's transaction, the transfers of a void of
    sale sale_eid made at now_ms exactly as dn_ledger_void posts them --
    the reversal of what the sale still holds -- but no correction row.
    Returns 0, DN_ELIMIT (the running total of transfers would pass
    DN_MONEY_SUM_MAX) or DN_EDB (the caches are then dropped).  */
int dn_ledger_replay_void(dn_ledger_t *self, int64_t sale_eid, int64_t now_ms);

/*  Posts, inside the caller's transaction, the transfer of a manual
    adjustment of amount (signed, non-zero) to the account called name
    (kind "partner" or "member"; opened with partner_id or phone when
    missing) made at now_ms exactly as dn_ledger_adjust posts it, but no
    correction row.  Returns 0, DN_ELIMIT (as dn_ledger_replay_void) or
    DN_EDB (the caches are then dropped).  */
int dn_ledger_replay_adjust(dn_ledger_t *self, const char *name, const char *kind,
                            int64_t partner_id, const char *phone, int64_t amount,
                            int64_t now_ms);

#endif
