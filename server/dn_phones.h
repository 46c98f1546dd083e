/*  dn_phones -- the network's phones: its default country, canonical
    phones in the events the server stores and replays, and the one-time
    rewrite of a central.db from before phones were canonical.

    A member is one person across sites only if every site spells the
    phone the same.  Agents now send canonical (E.164) phones, but events
    already signed by older agents carry the number as it was typed (less
    separators), and signed bytes are never changed: so the server makes
    the phones of each decoded event canonical, with the network's default
    country (meta 'country', set by `dealernet-server init --country`),
    before it stores rows or posts, and `verify` does the same when it
    replays the events.  The rules are dn_phone_normalize's (dn_valid.h):
    the agent's checks and the server's are one function.

    A central.db from before holds phones as they were sent.  Its rewrite
    (dn_phones_migrate) must leave `verify` true: verify replays every sale
    through the posting code against the stored members, sales and account
    names, so the stored phones must map one-to-one onto what the replay
    computes.  Hence:
    - a phone stored in one spelling is rewritten to its canonical form
      everywhere (members, referrers, sales, member accounts and their
      names "member:PHONE": transfers are hash-chained over account ids,
      never names, see s_transfer_hash in dn_ledger.c);
    - a phone stored in several spellings (13800138000 and 013800138000)
      may have been paid on separately (a first-purchase bonus each, a
      referrer each), so no two spellings are merged: one spelling becomes
      the canonical phone (the one that already is canonical, else the
      spelling of the first sign-up to reach the server), and each other
      spelling is kept as it was, in table phone_spellings, with its own
      member row, sales and account; its member rows are listed in
      member_conflicts against the member that holds the canonical phone
      (or, if none does, the first sign-up).  The replay of an event
      stored before the rewrite (eid <= meta 'phones_legacy_eid') keeps a
      kept spelling as it is; every later event is made canonical.
    - a stored phone that the rules refuse is kept as it was.
*/
#ifndef DN_PHONES_H
#define DN_PHONES_H

#include "dealernet.pb-c.h"
#include "dn_valid.h"

#include <sqlite3.h>
#include <stdint.h>

#define DN_PHONES_DEFAULT_COUNTRY 86        /* init's default: a CNY network */

/*  Sets *country to the network's default country code (meta 'country';
    "0" stands for none; absent: DN_PHONES_DEFAULT_COUNTRY).  Returns 0 or
    DN_EDB.  */
int dn_phones_country(sqlite3 *db, int *country);

/*  Stores the network's default country code (1..DN_COUNTRY_MAX), inside
    or outside a transaction.  Returns 0, DN_EINVAL or DN_EDB.  */
int dn_phones_set_country(sqlite3 *db, int country);

/*  Makes a phone typed at HQ canonical with the network's country, for a
    look-up.  Returns 0, DN_EINVAL with why set to dn_phone_normalize's
    message, or DN_EDB.  */
int dn_phones_canonical(sqlite3 *db, const char *text, char out[DN_PHONE_SIZE], char *why,
                        size_t why_size);

/*  Completes the canonical-phones migration of central.db (see above), in
    one transaction, when the migration flagged it (meta
    'phones_canonical'); first gives a file without a country one: the
    country of the newest plan's currency, else DN_PHONES_DEFAULT_COUNTRY.
    Called by dn_central_open.  Returns 0 or DN_EDB.  */
int dn_phones_migrate(sqlite3 *db);

typedef struct _dn_phones_t dn_phones_t;

/*  Returns a new event rewriter on db (borrowed; must outlive it) with the
    network's country, or NULL.  Caller destroys.  */
dn_phones_t *dn_phones_new(sqlite3 *db);

/*  Destroys; accepts NULL and sets *self_p to NULL.  */
void dn_phones_destroy(dn_phones_t **self_p);

/*  Rewrites the phones of ev, stored as event eid and unpacked by
    dn_wire_event_unpack, to what the server stores: canonical, except a
    spelling kept by the migration in an event stored before it, and a
    phone the rules refuse (kept as sent).  A sign-up whose referrer is the
    member's own phone once both are canonical loses the referrer (a
    member cannot refer themselves).  The event's signed bytes are not
    touched.  Returns 0, DN_ENOMEM or DN_EDB.  */
int dn_phones_event(dn_phones_t *self, int64_t eid, Dealernet__Event *ev);

#endif
