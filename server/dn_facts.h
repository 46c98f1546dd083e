/*  dn_facts -- what the server believes of an event a site sent.

    A site proves who it is; it does not decide who earns, in what
    currency, or when (DESIGN rule 8).  Before an event is stored its
    claims are judged against HQ's registry and the server's clock, and
    the event is stored either way (nothing a clerk recorded is dropped):

    - Time.  An event is posted at the time the site recorded it, but never
      later than the server received it (no posting into a month that has
      not begun, nothing that blocks HQ's plans, moves or closes), and
      never earlier than the site's previous event nor than the moment HQ
      added the site.  Flagged: a clock more than DN_CLOCK_TOLERANCE_MS
      ahead of the server (clock_ahead), a clock that ran backwards from
      the site's previous event or says the event came before HQ added
      the site (clock_behind).  An event that merely follows one that was
      ahead is moved up to it without a flag.  The site's own clock stays
      in the signed body.
    - Seller.  A sale earns for the site's partner as HQ registered it (a
      sale naming the partner the agent was initialised with is the
      site's partner's), or for a partner below it in the tree at the
      sale's time.  Any other seller: held (unknown_seller,
      seller_out_of_tree).
    - Currency.  The network has one (meta 'currency'); a sale in another
      is held (currency_mismatch).
    - Size.  A sale above the network's bound on one sale (meta
      'max_sale', README "Bounds") is held (over_limit); one that would
      take a running total past 10^18 minor units is held when the ledger
      says so (sum_limit, dn_facts_hold_sum_limit).  A sale above its
      site's soft threshold (sites.large_sale, else the network's) is
      posted and flagged (large_sale).
    - Referrers.  A partner referrer must be the site's partner or below
      it at the sign-up's time; a member referrer must be a member the
      server knows, other than the member itself.  Otherwise the referral
      is held (referrer_unknown, referrer_out_of_tree): the member is
      stored without it until HQ accepts it.
    - A refund of a held sale is held with it (sale_held); a later
      sign-up of a phone already known is flagged (duplicate_phone).
    - About a site itself, not an event: an agent initialised for another
      partner than HQ's (partner_mismatch, at enrollment), and a site's
      enrollment token presented by a second key (token_raced, noted by
      dn_registry once per token: it may have been stolen).
    - Names.  A member name holding invisible format characters (bidi
      controls, zero-width spaces: dn_valid_hidden) is flagged
      (hidden_characters) and shown with each as <U+XXXX>
      (dn_valid_hidden_escape, dn_facts_amend); the event is posted.

    Held events are stored but not posted (no transfers, no rollups) until
    HQ resolves them (dn_facts_resolve).  Flags are for HQ's attention
    only.  Both are rows of the exceptions table, which this module owns.
*/
#ifndef DN_FACTS_H
#define DN_FACTS_H

#include "dealernet.pb-c.h"
#include "dn_db.h"
#include "dn_phones.h"
#include "dn_registry.h"
#include "dn_time.h"
#include "dn_valid.h"

#include <jansson.h>
#include <sqlite3.h>
#include <stdint.h>

/*  The network's soft threshold for one sale, in currency units (50,000.00
    in a currency of 2 decimals), unless meta 'large_sale' (minor units)
    or the site's own (dn_facts_set_large_sale) says otherwise.  */
#define DN_FACTS_LARGE_SALE_UNITS 50000LL

/*  X(name, text, how): every kind of exception, and how HQ resolves it,
    which also says whether it holds its event:
      FLAG      posted; HQ acknowledges it (--ack)
      SALE      a held sale HQ may post (for another seller) or dismiss
      STUCK     a held sale that cannot be posted: HQ dismisses it
      REFUND    a refund held with its sale, resolved with it
      REFERRAL  a held referral: HQ accepts or dismisses it  */
#define DN_FACTS_KINDS(X)                                 \
    X(CLOCK_AHEAD, "clock_ahead", FLAG)                   \
    X(CLOCK_BEHIND, "clock_behind", FLAG)                 \
    X(UNKNOWN_SELLER, "unknown_seller", SALE)             \
    X(SELLER_OUT_OF_TREE, "seller_out_of_tree", SALE)     \
    X(CURRENCY_MISMATCH, "currency_mismatch", STUCK)      \
    X(LARGE_SALE, "large_sale", FLAG)                     \
    X(OVER_LIMIT, "over_limit", STUCK)                    \
    X(SUM_LIMIT, "sum_limit", STUCK)                      \
    X(SALE_HELD, "sale_held", REFUND)                     \
    X(REFERRER_UNKNOWN, "referrer_unknown", REFERRAL)     \
    X(REFERRER_OUT_OF_TREE, "referrer_out_of_tree", REFERRAL) \
    X(DUPLICATE_PHONE, "duplicate_phone", FLAG)           \
    X(PARTNER_MISMATCH, "partner_mismatch", FLAG)         \
    X(TOKEN_RACED, "token_raced", FLAG)                   \
    X(HIDDEN_CHARACTERS, "hidden_characters", FLAG)

typedef enum {
#define DN_X_KIND(name, text, how) DN_FACTS_##name,
    DN_FACTS_KINDS(DN_X_KIND)
#undef DN_X_KIND
    DN_FACTS_KIND_COUNT
} dn_facts_kind_t;

/*  Returns the kind's name ("clock_ahead"...), or "?".  */
const char *dn_facts_kind_name(dn_facts_kind_t kind);

/*  1 if an exception of kind holds its event (not posted), 0 if it only
    flags it.  */
int dn_facts_kind_held(dn_facts_kind_t kind);

#define DN_FACTS_MAX_NOTES  4
#define DN_FACTS_DETAIL_SIZE 200

/*  The judgement of one event.  */
typedef struct {
    int64_t at_ms;                        /* when the server posts it */
    int64_t site_clock_ms;                /* what the site said */
    char seller[DN_MAX_CODE_LEN + 1];     /* a sale's partner credited */
    int held;                             /* 1: stored, not posted */
    int referral_held;                    /* a sign-up's referral is held */
    size_t n_notes;
    struct {
        dn_facts_kind_t kind;
        char detail[DN_FACTS_DETAIL_SIZE];
    } notes[DN_FACTS_MAX_NOTES];
} dn_facts_verdict_t;

typedef struct _dn_facts_t dn_facts_t;

/*  Returns a new judge on db (borrowed; must outlive it), or NULL.  Caller
    destroys.  */
dn_facts_t *dn_facts_new(sqlite3 *db);

/*  Destroys; accepts NULL and sets *self_p to NULL.  */
void dn_facts_destroy(dn_facts_t **self_p);

/*  Drops what it cached of the network's settings and sites: call after
    an admin command, and after a rollback.  */
void dn_facts_forget(dn_facts_t *self);

/*  Judges ev, a new event of site received at now_ms, the one after an
    event the server posted at prev_at_ms and the site's clock said was
    recorded at prev_clock_ms (both 0 for the site's first).  Fills *v.
    Returns 0 or DN_EDB / DN_ENOMEM (not the site's fault).  */
int dn_facts_judge(dn_facts_t *self, const dn_registry_site_t *site,
                   const Dealernet__Event *ev, int64_t prev_at_ms, int64_t prev_clock_ms,
                   int64_t now_ms, dn_facts_verdict_t *v);

/*  The network's bound on one sale, in 10^-4 currency units (see
    dn_central_max_sale), read once and kept until dn_facts_forget.
    0 or DN_EDB.  */
int dn_facts_max_sale(dn_facts_t *self, int64_t *bound);

/*  Holds stored sale eid of site_id (ev, as amended) because posting it
    would take a running total past its bound (the ledger refused it with
    DN_ELIMIT and posted nothing): marks the sale held and records a
    sum_limit exception, in the caller's transaction; *v receives that
    judgement.  0 or DN_EDB.  */
int dn_facts_hold_sum_limit(dn_facts_t *self, int64_t site_id, int64_t eid,
                            const Dealernet__Event *ev, int64_t now_ms, dn_facts_verdict_t *v);

/*  Sets site code's soft threshold for one sale to minor units (> 0) of the
    network's currency, or back to the network's (minor 0), in its own
    transaction.  Returns 0, DN_ENOENT (no such site; why says so),
    DN_EDB.  */
int dn_facts_set_large_sale(sqlite3 *db, const char *code, int64_t minor, char *why,
                            size_t why_size);

/*  Makes ev say what the server believes: recorded_at_ms = v->at_ms, a
    sale's seller = v->seller, a held referral gone, a member name's
    invisible format characters escaped (dn_valid_hidden_escape).  The signed bytes are
    not touched: ev is the decoded copy.  Returns 0 or DN_ENOMEM.  */
int dn_facts_amend(const dn_facts_verdict_t *v, Dealernet__Event *ev);

/*  Stores v's notes as exceptions of event eid of site at now_ms, in the
    caller's transaction.  Returns 0 or DN_EDB.  */
int dn_facts_record(dn_facts_t *self, int64_t site_id, int64_t eid,
                    const dn_facts_verdict_t *v, int64_t now_ms);

/*  Notes an exception about a site itself (no event): kind and a detail
    line, in the caller's transaction.  Returns 0 or DN_EDB.  */
int dn_facts_note_site(sqlite3 *db, int64_t site_id, dn_facts_kind_t kind,
                       const char *detail, int64_t now_ms);

/*  dn_facts_note_site for a raced enrollment token (token_raced): the
    dn_registry_raced_fn the server gives enrollment.  */
int dn_facts_note_raced(sqlite3 *db, int64_t site_id, const char *detail, int64_t now_ms);

/*  Reads event eid as the server believes it (cache: a statement cache on
    the connection, borrowed; verify and the rebuild load every event):
    unpacks the stored body,
    makes its phones what ingest stored (dn_phones_event with phones,
    borrowed) and amends it from the stored rows (time, seller).  Sets
    *held to 1 when the event is held (an open or dismissed held
    exception).  Returns 0 and a new *ev (free with dn_wire_event_free),
    DN_ENOENT, DN_EPROTO (the body does not decode), DN_EDB, DN_ENOMEM.  */
int dn_facts_load(dn_db_cache_t *cache, dn_phones_t *phones, int64_t eid,
                  Dealernet__Event **ev, int *held);

/*  1 if event eid is held now (an exception with held = 1 that is open or
    was dismissed), 0 if not; or DN_EDB.  cache: a statement cache on the
    connection.  */
int dn_facts_is_held(dn_db_cache_t *cache, int64_t eid);

/*  Sets *list to a new JSON array of exceptions (caller decrefs), oldest
    first: only open ones unless all.  Each {"id", "kind", "held" (bool),
    "site", "seq", "event" (id text or null), "detail", "created",
    "resolved" (time or null), "resolved_by", "resolution", "reason",
    "resolve" (the command that resolves it, or null)}.  Returns 0,
    DN_EDB, DN_ENOMEM.  */
int dn_facts_list(sqlite3 *db, int all, json_t **list);

/*  *open receives the count of open exceptions (not yet resolved: what
    `exceptions` lists by default), held and flags alike.  Returns 0 or
    DN_EDB.  */
int dn_facts_open_count(sqlite3 *db, int64_t *open);

/*  How HQ resolves an exception.  */
typedef enum {
    DN_FACTS_POST,        /* a held sale: post it, for seller when given */
    DN_FACTS_DISMISS,     /* a held event: never post it */
    DN_FACTS_ACCEPT,      /* a held referral: in force from now on */
    DN_FACTS_ACKNOWLEDGE, /* a flag: seen */
} dn_facts_action_t;

/*  Resolves exception id with action (seller: the partner to credit with
    DN_FACTS_POST, or NULL to keep the sale's stored seller; it must be a
    partner HQ knows), by admin, for reason, at now_ms, in the caller's
    transaction.  Posting a held sale resolves its held refunds with it,
    dismissing dismisses them: *post receives the events the caller must
    now post, in order (a new array of *n_post eids, caller frees; NULL
    when none), as dn_ingest_post_stored does.  Refuses, writing nothing:
    DN_ENOENT (no such exception, no such partner), DN_EEXIST (already
    resolved), DN_EINVAL (the action does not fit the kind: a flag is
    acknowledged, a held sale posted or dismissed, a held referral
    accepted or dismissed, a refund follows its sale; a sale in another
    currency than the network's cannot be posted), DN_EDB, DN_ENOMEM.  why
    holds one line.  */
int dn_facts_resolve(sqlite3 *db, int64_t id, dn_facts_action_t action, const char *seller,
                     const char *admin, const char *reason, int64_t now_ms, int64_t **post,
                     size_t *n_post, char *why, size_t why_size);

#endif
