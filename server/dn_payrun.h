/*  dn_payrun -- payout runs: a closed month's payouts proposed as one
    batch, approved into the ledger in one transaction, exported as a bank
    batch file; and the partners' bank details they pay to.

    The rules (README, "Payout runs"):
      - a run pays a closed period: each partner's closing balance of the
        period less what was paid out to it after the period, and never
        more than its balance now (dn_ledger_payable_amount); nothing to
        pay (0 or less): not listed;
      - at or above the minimum (inclusive) it is a payout line; below it,
        or suspended now, or without bank details, the partner is left out
        with the reason, listed with the run, never silently;
      - members' referral credit is not paid by runs (dn_ledger_payables);
      - one proposed run a period at a time: proposing the period again
        with the same minimum answers that run, with another minimum is
        refused until it is approved or cancelled; after an approval a new
        run proposes only what is left;
      - approval posts every line through dn_ledger_payout_post, each with
        its reference RUN-<run>/<partner>, in one transaction, after
        checking every line against what is payable now and the partner's
        status now: any line that no longer fits refuses the approval
        whole, naming the partners; approving again posts nothing.
    This module owns the tables partner_banks, payout_runs and
    payout_run_lines (dn_central.c).  An account number is sensitive: it
    is stored and shown to HQ, never written to the log.
*/
#ifndef DN_PAYRUN_H
#define DN_PAYRUN_H

#include <jansson.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#define DN_PAYRUN_MIN_ACCOUNT_DIGITS 8
#define DN_PAYRUN_MAX_ACCOUNT_DIGITS 32
#define DN_PAYRUN_ACCOUNT_SIZE       (DN_PAYRUN_MAX_ACCOUNT_DIGITS + 1)

/*  Makes account (as typed: digits, spaces between them ignored) the
    account number it names, in out.  Returns 0, or DN_EINVAL with a
    reason in why that does not repeat the number (refusals are logged).
    option names it in the reason ("--account").  */
int dn_payrun_account_parse(const char *account, const char *option,
                            char out[DN_PAYRUN_ACCOUNT_SIZE], char *why, size_t why_size);

/*  Sets partner's bank details (partner bank CODE --account --name
    --bank), replacing any it had: account as dn_payrun_account_parse
    takes it, name (the account holder's) and bank names of any script
    (dn_valid_name).  Sets *out to {"partner", "account", "name", "bank",
    "updated" (ISO-8601), "updated_by", "replaced" (true when it had
    some)}.  Returns 0; DN_EINVAL (why says which value); DN_ENOENT (no
    such partner); DN_EDB, DN_ENOMEM.  */
int dn_payrun_bank_set(sqlite3 *db, const char *partner, const char *account,
                       const char *name, const char *bank, const char *admin,
                       int64_t now_ms, json_t **out, char *why, size_t why_size);

/*  Proposes a run of the closed period paying every partner at least min
    (minor units of the ledger's currency, >= 0).  Sets *out to the run
    (dn_payrun_show's object) with "already": false; when a proposed run
    of the period with the same min exists, that one with "already":
    true; when nothing is to be paid, {"run": null, "period", "min",
    "currency", "total" 0, "lines": [], "left_out": [...], "already":
    false} and no run is stored.  Returns 0; DN_EPARSE (period not
    YYYY-MM); DN_ELIMIT (the period is not closed); DN_EEXIST (a run of the
    period is proposed with another min: why names it); DN_ENOENT (no
    plan: no currency); DN_EDB, DN_ENOMEM.  */
int dn_payrun_propose(sqlite3 *db, const char *period, int64_t min, const char *admin,
                      int64_t now_ms, json_t **out, char *why, size_t why_size);

/*  Approves run `run`: posts each of its payout lines as a payout with
    its reference, in one transaction.  Sets *out to the run with
    "already": false, or, when it was approved before, the run with
    "already": true (nothing is posted).  Returns 0; DN_ENOENT (no such
    run); DN_ELIMIT (cancelled; or a line above what is payable to its
    partner now, or its partner suspended now: why names every one, and
    nothing is posted); a refusal of dn_ledger_payout_post (why names the
    line); DN_EDB, DN_ENOMEM.  */
int dn_payrun_approve(sqlite3 *db, int64_t run, const char *admin, int64_t now_ms,
                      json_t **out, char *why, size_t why_size);

/*  Cancels a proposed run: it is never approved.  Sets *out to the run
    with "already" (true when it was cancelled before).  Returns 0;
    DN_ENOENT; DN_ELIMIT (approved: its payouts are posted); DN_EDB,
    DN_ENOMEM.  */
int dn_payrun_cancel(sqlite3 *db, int64_t run, const char *admin, int64_t now_ms,
                     json_t **out, char *why, size_t why_size);

/*  Sets *out to a new JSON array of the runs, newest first: {"run",
    "period", "min", "currency", "state", "payouts" (lines paid), "total",
    "left_out" (how many), "created", "created_by", "approved",
    "approved_by", "cancelled", "cancelled_by"} (times ISO-8601 or null;
    amounts as decimal text with their _minor twins).  Reads only.
    Returns 0, DN_EDB, DN_ENOMEM.  */
int dn_payrun_list(sqlite3 *db, json_t **out);

/*  Sets *out to run `run`: {"run", "period", "min", "currency", "state",
    "created", "created_by", "approved", "approved_by", "cancelled",
    "cancelled_by", "payouts", "total", "lines": [{"partner",
    "amount", "reference", "account_name", "account_number", "bank"}] by
    partner code, "left_out": [{"partner", "amount", "reason"
    ("below_min", "suspended", "no_bank"), "what" (the reason for a
    person)}]}.  Reads only.  Returns 0, DN_ENOENT, DN_EDB, DN_ENOMEM.  */
int dn_payrun_show(sqlite3 *db, int64_t run, json_t **out, char *why, size_t why_size);

/*  The bank batch file of an approved run, as rows for dn_render's CSV:
    format "generic" (or "csv") or "icbc" (see the README for their
    columns).  The icbc layout names the paying account: payer_account
    (as dn_payrun_account_parse takes it) and payer_name are needed then,
    and ignored otherwise; its date is the day of now_ms in the network's
    zone.  Sets *out to {"run", "format", "period", "currency",
    "payouts", "total", "rows": [...]}.  Reads only.  Returns 0;
    DN_ENOENT (no such run); DN_EINVAL (unknown format, a payer value
    missing or malformed, icbc for a currency other than CNY); DN_ELIMIT
    (the run is not approved); DN_EDB, DN_ENOMEM.  */
int dn_payrun_export(sqlite3 *db, int64_t run, const char *format,
                     const char *payer_account, const char *payer_name, int64_t now_ms,
                     json_t **out, char *why, size_t why_size);

#endif
