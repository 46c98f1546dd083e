/*  dn_registry -- who is who: partners, sites, HQ admin keys, enrollment
    tokens, and the member conflicts HQ must look at.

    Owns the SQL of the partners, admins, sites (identity columns) and
    tokens tables, and reads members / member_conflicts for listings (and,
    for the partner listing, the link and status in force, one join).
    The tree over time (partner_links, partner_status) is dn_tree's, which
    sits above the registry; the one link the registry writes is a new
    partner's first (effective from 0), in the transaction that adds it.  The ZAP handler asks it who a CURVE key belongs to; the
    sync socket asks it to enroll a site; the admin socket's commands
    (dn_admin) manage the rest.
*/
#ifndef DN_REGISTRY_H
#define DN_REGISTRY_H

#include "dn_crypto.h"
#include "dn_curve.h"
#include "dn_db.h"
#include "dn_valid.h"

#include <jansson.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#define DN_TOKEN_TTL_MS   (72LL * 3600 * 1000) /* an enrollment token lives 72 h */
#define DN_TOKEN_TEXT_LEN 32                   /* hex of 16 random bytes */

/*  How long the first key to present a valid token holds it, whatever came
    of the attempt: long enough that a thief racing the shop with the token
    and a key of its own is refused while the shop retries (the agent
    reuses its key), short enough that a shop that lost its key can try
    again the same morning.  */
#define DN_TOKEN_HOLD_MS (10LL * 60 * 1000)

/*  Room for an enrollment refusal: the raced-token ones name two times, a
    key and an address.  */
#define DN_ENROLL_WHY_SIZE 320

typedef enum {
    DN_PEER_UNKNOWN = 0, /* no such key: may only enroll */
    DN_PEER_SITE,        /* an enrolled, non-revoked site */
    DN_PEER_ADMIN,       /* an HQ administrator */
    DN_PEER_REVOKED,     /* the key of a revoked site */
    DN_PEER_REPLACED     /* a site's key before `site token` moved it to
                            another PC (site_keys) */
} dn_peer_t;

/*  Classifies a client's CURVE public key and copies the site code or admin
    name into name (empty for an unknown key).  Returns 0 or DN_EDB.  */
int dn_registry_peer(sqlite3 *db, const uint8_t key[DN_CURVE_KEY_BYTES], dn_peer_t *kind,
                     char name[DN_MAX_CODE_LEN + 1]);

/*  For a key of DN_PEER_REPLACED: its site's code and when the site was
    enrolled again on another PC (the key retired).  Returns 0, DN_ENOENT
    (not a retired key), DN_EDB.  */
int dn_registry_key_replaced(sqlite3 *db, const uint8_t key[DN_CURVE_KEY_BYTES],
                             char site[DN_MAX_CODE_LEN + 1], int64_t *retired_ms);

/*  The Ed25519 public key that signed the site's batch ending at seq: the
    key of the PC the site was enrolled on when that seq was applied (a
    retired key for seqs up to its last seq, else the site's own).  Sets
    *has_key (0: the site has no key for it) and *through, the last seq
    that key signed (INT64_MAX for the site's current key), so a caller
    walking seqs in order asks again only past it.  0 or DN_EDB.  */
int dn_registry_sign_key_for(sqlite3 *db, int64_t site_id, int64_t seq,
                             uint8_t key[DN_PUBKEY_BYTES], int *has_key, int64_t *through);

/*  A site as sync needs it.  */
typedef struct {
    int64_t id;
    char code[DN_MAX_CODE_LEN + 1];
    char partner[DN_MAX_CODE_LEN + 1];
    int enrolled;
    int revoked;
    uint8_t sign_key[DN_PUBKEY_BYTES]; /* the site's Ed25519 public key, when enrolled */
} dn_registry_site_t;

/*  0 and *site for a site code, or DN_ENOENT, DN_EDB.  */
int dn_registry_site_get(sqlite3 *db, const char *code, dn_registry_site_t *site);

/*  Notes, inside enrollment's transaction, that a token was raced: the
    site's id and one line saying by whom and when (at most
    DN_REGISTRY_RACED_DETAIL_SIZE bytes with its NUL).  Returns 0 or DN_EDB
    (then the enrollment's refusal writes nothing).  The registry sits
    below the module that keeps HQ's exceptions (dn_facts), so it is told
    how to note rather than calling up.  */
typedef int (*dn_registry_raced_fn)(sqlite3 *db, int64_t site_id, const char *detail,
                                    int64_t now_ms);
#define DN_REGISTRY_RACED_DETAIL_SIZE 200

/*  Enrolls a site, in its own transaction, for the key curve_key that
    presents token (as typed) from address (the peer's, NULL if not known):
    the token must hash to a stored, unused, unexpired token of that very
    site and not be held by another key; the site must not be revoked, nor
    enrolled already unless the token came from dn_registry_site_token
    (then the site's keys retire: see there); the CURVE key must not belong
    to another site or admin, nor have been a site's.  Binds curve_key and
    sign_key to the site, marks the token used (curve_key keeps holding
    it), and fills *site.

    Who holds a token, so that a token seen by someone else cannot be
    raced quietly: the first key to present a stored, unused, unexpired
    token holds it for DN_TOKEN_HOLD_MS from then, whatever the outcome
    (a wrong site code, a revoked site), except when the key itself is in
    use (DN_EDUP: it is someone else's key).  The holder may retry; once
    the hold is over another key may take it.  A second key presenting a
    token held or used by another is refused with when, by which key (its
    first 8 Z85 characters) and from where, told to alert headquarters;
    the server logs a warning naming the site ("possible stolen token"),
    and the first such attempt per token is noted for HQ through raced
    (the server passes dn_facts_note_raced, which records a token_raced
    exception of the site) and marked in tokens.raced_ms; with raced NULL
    nothing is noted or marked.

    Returns 0; DN_ENOENT (no such token), DN_EEXIST (token already used,
    or the site already enrolled), DN_EAGAIN (token held by another key),
    DN_ETIMEDOUT (token expired), DN_EPERM (token for another site, or
    site revoked), DN_EDUP (key in use), DN_EDB; why holds one line (give
    DN_ENROLL_WHY_SIZE bytes).  On error nothing is written but the hold
    and the raced note.  */
int dn_registry_enroll_from(sqlite3 *db, const char *token, const char *site_code,
                            const uint8_t curve_key[DN_CURVE_KEY_BYTES],
                            const uint8_t sign_key[DN_PUBKEY_BYTES], const char *address,
                            dn_registry_raced_fn raced, int64_t now_ms,
                            dn_registry_site_t *site, char *why, size_t why_size);

/*  dn_registry_enroll_from with no address known and no note of a raced
    token (tests and tools).  */
int dn_registry_enroll(sqlite3 *db, const char *token, const char *site_code,
                       const uint8_t curve_key[DN_CURVE_KEY_BYTES],
                       const uint8_t sign_key[DN_PUBKEY_BYTES], int64_t now_ms,
                       dn_registry_site_t *site, char *why, size_t why_size);

/*  Records the partner an enrolled site's agent was initialised with, when
    it is not the site's partner (its sales naming it earn for the site's
    partner, see dn_facts), in the caller's transaction.  0 or DN_EDB.  */
int dn_registry_site_agent_partner(sqlite3 *db, int64_t site_id, const char *partner);

/*  Registers an HQ administrator's CURVE public key under a name (a code,
    see dn_valid_code, so that it fits the ZAP User-Id and the name buffer
    of dn_registry_peer).  Returns 0, DN_EINVAL (name not a code),
    DN_EEXIST (name or key already registered, or the key is a site's),
    DN_EDB.  */
int dn_registry_admin_add(sqlite3 *db, const uint8_t key[DN_CURVE_KEY_BYTES],
                          const char *name, int64_t now_ms);

/* -- administration (the admin socket's commands, see dn_admin) ---------- */

/*  Adds a partner: code (dn_valid_code), name (dn_valid_name), kind one of
    "hq", "region", "distributor", "dealer", "reseller", and parent (NULL
    for none) the code of an existing partner.  Writes the partner and its
    first partner_links row (effective from 0) in one transaction.  Returns
    0; DN_EINVAL (bad code, name or kind), DN_EEXIST (code taken),
    DN_ENOENT (no such parent), DN_EDB; why holds one line naming the
    thing.  Nothing is written on error.  */
int dn_registry_partner_add(sqlite3 *db, const char *code, const char *name,
                            const char *kind, const char *parent, int64_t now_ms,
                            char *why, size_t why_size);

/*  As dn_registry_partner_add, with the partner's recruiter (NULL for
    none; else the code of an existing partner, who earns the plan's
    recruit override on this partner's sales) and the time it joined
    (joined_ms, which starts the override window; dn_registry_partner_add
    uses now_ms).  Also DN_EINVAL (recruiter not a code), DN_ENOENT
    ("recruiter X is not a partner").  */
int dn_registry_partner_add_recruited(sqlite3 *db, const char *code, const char *name,
                                      const char *kind, const char *parent,
                                      const char *recruiter, int64_t joined_ms,
                                      int64_t now_ms, char *why, size_t why_size);

/*  Sets *list to a new JSON array (caller decrefs) with one object per
    partner, ordered by code: {"code", "name", "kind", "parent" (the code of
    the upline in force at now_ms, or null), "recruiter" (code or null),
    "status" ("active" or "suspended" at now_ms), "joined" and "created"
    (ISO-8601 UTC)}.  Returns 0 or DN_EDB / DN_ENOMEM (*list NULL).  */
int dn_registry_partner_list(sqlite3 *db, int64_t now_ms, json_t **list);

/*  Adds a site owned by an existing partner and issues its single-use
    enrollment token: 16 random bytes as DN_TOKEN_TEXT_LEN lower-case hex
    digits, written into token (NUL-terminated) and stored only as its
    SHA-256, expiring at now_ms + DN_TOKEN_TTL_MS (*expires_ms).  One
    transaction.  Returns 0; DN_EINVAL (bad code), DN_EEXIST (site code
    taken), DN_ENOENT (no such partner), DN_ECRYPTO (no randomness), DN_EDB;
    why holds one line.  Nothing is written on error.  The token text
    exists only in the caller's buffer: show it once, then forget it.  */
int dn_registry_site_add(sqlite3 *db, const char *code, const char *partner,
                         int64_t now_ms, char token[DN_TOKEN_TEXT_LEN + 1],
                         int64_t *expires_ms, char *why, size_t why_size);

/*  dn_registry_site_add with the site's display name (NULL: none), any
    script, at most DN_MAX_NAME_CHARS characters (dn_valid_name_why); a
    bad one is DN_EINVAL, "site name is 65 characters long, at most 64",
    and nothing is written.  */
int dn_registry_site_add_named(sqlite3 *db, const char *code, const char *partner,
                               const char *name, int64_t now_ms,
                               char token[DN_TOKEN_TEXT_LEN + 1], int64_t *expires_ms,
                               char *why, size_t why_size);

/*  Sets the display name of site code to name ("" removes it), in its own
    statement.  Returns 0; DN_CODE_ERROR (code not a site code), DN_EINVAL
    (a bad name, as dn_registry_site_add_named says it), DN_ENOENT ("site
    X does not exist"), DN_EDB; why holds one line.  */
int dn_registry_site_rename(sqlite3 *db, const char *code, const char *name, char *why,
                            size_t why_size);

/*  Whether token (as typed) is the one that enrolled site_id's current
    key: used, held by the CURVE key the site is enrolled with now, the
    site neither revoked nor unenrolled since.  For an enrolment retried
    after its Enrolled reply was lost (the key already has the site's
    identity): the answer is the same Enrolled, and nothing is written.
    Returns 0 (it is), DN_ENOENT (it is not), DN_EDB, DN_ECRYPTO.  */
int dn_registry_enrolled_by(sqlite3 *db, const char *token, int64_t site_id);

/*  Issues a new single-use enrollment token for an existing site, as
    dn_registry_site_add does (same text, hash, DN_TOKEN_TTL_MS, hold and
    burn rules), for a new PC, an expired or used token, or a lost key.
    Any earlier unused token of the site expires now (one live token per
    site).  Enrolling with it on an enrolled site moves the site to the
    enrolling PC: its current CURVE and sign keys move to site_keys (the
    old CURVE key is refused from then on as DN_PEER_REPLACED, the old
    sign key still verifies what it signed).  A revoked site is refused
    (DN_EPERM, naming when it was revoked) unless unrevoke: then, in this
    transaction, its key moves to site_keys as revoked (it stays refused
    as revoked) and the site is neither enrolled nor revoked, waiting for
    the new PC.  One transaction; fills *site as it was before.  Returns
    0; DN_EINVAL (bad code), DN_ENOENT (no such site), DN_EPERM, DN_ECRYPTO,
    DN_EDB; why holds one line.  Nothing is written on error.  The token
    text exists only in the caller's buffer.  */
int dn_registry_site_token(sqlite3 *db, const char *code, int unrevoke, int64_t now_ms,
                           char token[DN_TOKEN_TEXT_LEN + 1], int64_t *expires_ms,
                           dn_registry_site_t *site, char *why, size_t why_size);

/*  Sets *list to a new JSON array (caller decrefs) with one object per
    site, ordered by code: {"site", "partner", "enrolled" (bool), "revoked"
    (bool), "last_seen" (ISO-8601 UTC or null), "applied_seq" (the highest
    applied seq, 0 for none), "gap_expected_seq" (the seq the server asked
    for after refusing a gap, while it is still beyond applied_seq; else
    null), "clock_skew_ms" (int or null), "pending" (the events the site
    had recorded at its last Hello that the server does not hold yet, or
    null before any Hello), "code" (the site again: its key before it was
    "site", as in dn_report_sites), "name" (its display name, or null)}.  Returns 0 or DN_EDB / DN_ENOMEM (*list
    NULL).  */
int dn_registry_site_list(sqlite3 *db, json_t **list);

/*  Revokes a site: from now on its key classifies as DN_PEER_REVOKED and
    it can no longer enroll.  Returns 0; DN_ENOENT (no such site), DN_EEXIST
    (already revoked), DN_EDB; why holds one line.  */
int dn_registry_site_revoke(sqlite3 *db, const char *code, int64_t now_ms, char *why,
                            size_t why_size);

/*  Sets *list to a new JSON array (caller decrefs) with one object per
    later sign-up of a phone already known (compared canonical), in the
    order they reached the server: {"phone",
    "first_site", "first_member_id" (UUID text), "duplicate_site",
    "duplicate_member_id", "duplicate_phone" (the duplicate's phone: the
    member's, or a spelling kept by the canonical-phones migration, see
    dn_phones.h), "duplicate_referrer" (the referrer the duplicate named,
    or null), "recorded_at" (ISO-8601 UTC, the duplicate's time at its
    site)}.  Returns 0 or DN_EDB / DN_ENOMEM (*list NULL).  */
int dn_registry_member_conflicts(sqlite3 *db, json_t **list);

/*  member.find (issue 13, the counter): how many members one search shows
    by default, and at most (a search is for a person reading, not an
    export).  */
#define DN_REGISTRY_FIND_LIMIT 20
#define DN_REGISTRY_FIND_MAX   200

/*  Sets *result to a new object (caller decrefs) with the members text
    finds, ordered by phone, at most limit (1..DN_REGISTRY_FIND_MAX):
    {"text", "by" ("phone" or "name"), "prefix" (the canonical beginning
    searched, or null), "members": [{"phone", "name" (or null), "site"
    (where the member signed up first), "joined" (ISO-8601 UTC, its
    sign-up's time), "referrer" (a phone, a partner code, or null),
    "household" (or null)}], "more" (members found beyond limit)}.

    text that reads as a phone's beginning (dn_phone_prefix with country,
    the network's default) searches the phones that begin with it: a range
    of the members' phone index (EXPLAIN QUERY PLAN: SEARCH m USING INDEX
    sqlite_autoindex_members_1 (phone>? AND phone<?)), fast on any number
    of members.  Any other text searches the names that hold it, ASCII
    letters in any case (SQLite's lower()): a name part cannot use a
    b-tree, so this reads every member once, in phone order (SCAN m USING
    INDEX sqlite_autoindex_members_1; test_registry counts both).
    Returns 0; DN_EINVAL (text empty or longer than any name,
    DN_MAX_NAME_BYTES bytes; why holds one line); DN_EDB / DN_ENOMEM
    (*result NULL).  */
int dn_registry_member_find(sqlite3 *db, const char *text, int country, int64_t limit,
                            json_t **result, char *why, size_t why_size);

/* -- partners ------------------------------------------------------------------
   The tree they form over time (partner_links, partner_status: moves,
   suspensions, the upline at a date) is dn_tree's.  */

/*  A partner as the ledger needs it.  */
typedef struct {
    int64_t id;
    char code[DN_MAX_CODE_LEN + 1];
    char kind[16];        /* "hq", "region", "distributor", "dealer", "reseller" */
    int64_t recruiter_id; /* 0 for none */
    int64_t joined_ms;    /* start of its recruit-override window */
    int64_t created_ms; /* when HQ added it: it earns nothing posted before */
} dn_registry_partner_t;

/*  0 and *partner for a code / an id, or DN_ENOENT, DN_EDB.  */
int dn_registry_partner_get(sqlite3 *db, const char *code,
                            dn_registry_partner_t *partner);
int dn_registry_partner_by_id(sqlite3 *db, int64_t id, dn_registry_partner_t *partner);

/*  dn_registry_partner_get for a hot path (the ledger posts thousands of
    sales a second): the statement is prepared once in cache (a
    dn_db_cache_t on the connection, borrowed).  Returns 0, DN_ENOENT,
    DN_EDB.  */
int dn_registry_partner_get_cached(dn_db_cache_t *cache, const char *code,
                                   dn_registry_partner_t *partner);

/*  dn_registry_partner_by_id on a statement prepared once in cache: the
    tree loads every partner a posting meets through it (dn_tree_node),
    ten thousand of them after each admin command in a large network.  */
int dn_registry_partner_by_id_cached(dn_db_cache_t *cache, int64_t id,
                                     dn_registry_partner_t *partner);

#endif
