/*  dn_earnings -- what a shop is told of money (issue 14, items 3 and 4):
    its partner's earnings (STREAM_EARNINGS) and the referral credit of the
    members it has seen (STREAM_MEMBERS), two producers of the downstream
    channel (dn_down.h).

    Earnings are the figures of `dealernet-hq statement PARTNER` for the
    open period -- the very function the statement takes them from
    (dn_ledger_figures, reading account_periods) computes them, so the shop
    and HQ cannot disagree -- plus the partner's last payout.
    Scope: the partner's code and the period (a new month, or a site moved
    to another partner, resets the stream).  Version: 1 + the partner
    account's mark (central.db's down_marks, see the migration of part C
    in dn_central.c), which moves whenever a transfer touches the account:
    an account nothing touched since the shop's last pull costs one
    indexed read and sends nothing.  Head: the counter of marks.

    Members: one MemberCredit per member whose phone the site has seen --
    members it signed up (first or later: member_conflicts), phones on its
    sales, referrers its sign-ups named -- with the balance of the
    member's referral-credit account and its name.  Scope: the site's
    code.  The version packs two numbers that only grow, the counter of
    marks (high bits) and the site's applied seq (low DN_EARNINGS_SEQ_BITS
    bits): a pull sends first the members seen by the site whose mark is
    past the held counter (credit or name changed), in mark order, then
    the members named by the site's events after the held seq (newly
    seen), in seq order, each with what it holds now.  Either part stops
    on the chunk budget with `more`, at a version from which the next pull
    goes on; an event is sent whole or again (a chunk must hold the four
    members one event may name at most, far under any budget the
    framework gives).  A member may come twice; the agent keeps the last.

    Cost of one pull: earnings, one indexed read of the partner's mark,
    and only when it moved, the account's figures (one range of
    account_periods_account: a row per month and code up to the period,
    however many transfers the partner has) and one read of payout_refs;
    members, one read of the counter and the site's seq, one range scan of
    members_down_mark over the members marked since the held counter
    (network-wide, each checked against the site with up to four indexed
    probes), one range scan of the site's new events (events' (site_id,
    seq) key) and one indexed read per member they name -- each scan at
    most DN_EARNINGS_SCAN_ROWS rows.
*/
#ifndef DN_EARNINGS_H
#define DN_EARNINGS_H

#include "dealernet.pb-c.h"
#include "dn_down.h"
#include "dn_time.h"  /* DN_PERIOD_SIZE */
#include "dn_valid.h" /* DN_MAX_CODE_LEN */

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

/*  Bits of a members version that hold the site's applied seq: 2^28 is
    268 million events (a shop of 1,000 sales a day for 700 years); the
    counter of marks gets the other 36 bits.  */
#define DN_EARNINGS_SEQ_BITS 28

/*  Rows one members pull reads at most in each part (members marked
    since the held counter; the site's events after the held seq): a pull
    that stops there says more, at the version of the last row read, so
    one Pull costs the server a bounded read whatever version the agent
    names.  */
#define DN_EARNINGS_SCAN_ROWS 4096

/*  Fills *e (strings into partner, period and currency) with the figures
    of partner's account for period at now_ms, from dn_ledger_figures:
    balance = closing, opening, commission, override, referral,
    adjustment (signed) as its totals, clawback and payouts as their
    totals negated (>= 0), and the partner's last payout (any period) with
    its time; as_of_ms = now_ms.  Returns 0, DN_ENOENT (no such partner),
    DN_EDB, DN_ENOMEM; why holds one line.  */
int dn_earnings_figures(sqlite3 *db, const char *partner, const char *period,
                        int64_t now_ms, Dealernet__Earnings *e,
                        char partner_buf[DN_MAX_CODE_LEN + 1],
                        char period_buf[DN_PERIOD_SIZE], char currency_buf[4], char *why,
                        size_t why_size);

#endif
