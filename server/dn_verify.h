/*  dn_verify -- `dealernet-hq verify`: recomputing and comparing everything
    the ledger can prove, from the stored events up.

    The ledger posts; verify audits, on its own connection and in one read
    transaction, so it never stalls the shops (DESIGN rule 9) and never
    writes to the ledger it reads.  It replays through the ledger's own
    posting code (dn_ledger.h, "what verify replays"), so the rules it
    checks against are the rules that posted.
*/
#ifndef DN_VERIFY_H
#define DN_VERIFY_H

#include <jansson.h>
#include <stddef.h>

/*  Recomputes and compares everything the ledger can prove, reading the
    database file at path on its own connection: every site's event chain
    (hashes, links, batch signatures), the transfer chain, that every
    balance equals its account's credits minus debits and that they sum to
    zero, that every row of account_periods is what its account's
    transfers of its period and code add up to (and none is missing),
    that nothing was posted into a period after it closed, and every
    commission, referral, override and clawback recomputed from the stored
    events with the plans and tree in force at each sale's time (held sales
    and their refunds posting nothing); every correction: its row against
    its hash and its transfers, replayed between the events where it was
    made (a void must reverse exactly what the sale still held then, an
    adjustment post exactly its row), and no 'adjustment' transfer without
    its correction; and that the running totals (money_totals) are what the
    posted sales and the transfers add up to.  Sets *out to a new JSON
    object {"ok", "events", "transfers", "accounts", "corrections",
    "differences": [one line each]}.  Returns 0 if no difference,
    DN_ECHAIN if any, DN_EDB, DN_ENOMEM, DN_ECRYPTO (a hash could not be
    computed).  A read that fails (a query that
    errs, a row loop that ends on anything but SQLITE_DONE) fails verify
    with why naming the step ("verify: cannot read the accounts (database
    error); nothing was verified") and *out NULL: verify never says ok
    having checked less than all.  why may be NULL.  */
int dn_verify_run(const char *path, json_t **out, char *why, size_t why_size);

#endif
