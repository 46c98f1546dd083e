/*  dn_store -- the agent's SQLite file: schema, settings, catalog and the
    readable projections (sales, refunds, members) of its events.

    The events table (dn_outbox) is the truth; the other tables are
    projections written in the same transaction as the event they come from,
    so they can never disagree with it.  Listings are returned as jansson
    values, which the CLI prints either as a table or as JSON.
*/
#ifndef DN_STORE_H
#define DN_STORE_H

#include "dealernet.pb-c.h"
#include "dn_crypto.h"
#include "dn_id.h"
#include "dn_valid.h"

#include <jansson.h>
#include <sqlite3.h>
#include <stdint.h>

#define DN_AGENT_DB_FILE  "agent.db"
#define DN_AGENT_KEY_FILE "site.key"

typedef struct _dn_store_t dn_store_t;

/*  Settings fixed at init.  */
typedef struct {
    char site[DN_MAX_CODE_LEN + 1];
    char partner[DN_MAX_CODE_LEN + 1];
    char currency[4];
    int exponent; /* digits after the point of the currency */
    int country;  /* default country code of phones, DN_COUNTRY_NONE for none */
} dn_store_info_t;

/*  Creates DIR/agent.db for a new site and writes its settings, with the
    default country code of phones typed without one (1..DN_COUNTRY_MAX).
    DIR must exist.  Returns 0, DN_EEXIST if the file exists, DN_EINVAL for
    a bad code, currency or country, DN_EDB.  */
int dn_store_create_country(const char *dir, const char *site, const char *partner,
                            const char *currency, int country);

/*  dn_store_create_country with the currency's country
    (dn_phone_country_of_currency); DN_EINVAL for a currency without one.  */
int dn_store_create(const char *dir, const char *site, const char *partner,
                    const char *currency);

/*  Opens DIR/agent.db, migrating it if it is older than this program (a
    file from before canonical phones has its phones rewritten once: see
    the migration in dn_store.c and the README).  Returns a new store, or
    NULL with *err set (DN_ENOENT if there is no agent.db, DN_ESCHEMA,
    DN_EDB).  Caller destroys.  */
dn_store_t *dn_store_open(const char *dir, int *err);

/*  Makes the zone agent.db keeps the process's (dn_time_zone_set), so
    that the agent's days ("today", sales by day, reminders) are the
    network's: its IANA name if this PC's zone database holds it, else
    its POSIX rule (a PC without tzdata), else UTC (before the first sync
    of protocol 3: the agent has not been told).  dn_store_open calls it;
    like dn_time_zone_set, before any thread.  Returns 0 or DN_EDB.  */
int dn_store_zone_apply(dn_store_t *self);

/*  Keeps the zone a Welcome named (rule NULL: none came) and applies it.
    Returns 0 or DN_EDB.  */
int dn_store_zone_set(dn_store_t *self, const char *zone, const char *rule);

/*  Closes the store; accepts NULL and sets *self_p to NULL.  */
void dn_store_destroy(dn_store_t **self_p);

/*  Borrowed: the settings, valid while the store is open.  */
const dn_store_info_t *dn_store_info(const dn_store_t *self);

/*  Every key of agent.db's meta table, here and nowhere else.  Set by
    init: */
#define DN_STORE_META_SITE     "site"
#define DN_STORE_META_PARTNER  "partner"  /* as HQ last told it (enroll) */
#define DN_STORE_META_CURRENCY "currency"
#define DN_STORE_META_COUNTRY  "country"  /* the default country code */
/*  by enroll: */
#define DN_STORE_META_ENDPOINT     "server_endpoint"
#define DN_STORE_META_SERVER_KEY   "server_key"
#define DN_STORE_META_INIT_PARTNER "init_partner" /* the partner init was given */
/*  by sync: */
#define DN_STORE_META_LAST_SYNC     "last_sync_ms"
#define DN_STORE_META_LAST_ERROR    "last_error"
#define DN_STORE_META_LAST_ERROR_MS "last_error_ms"
#define DN_STORE_META_SKEW          "server_skew_ms"
/*  the Welcome's bound on one sale, as dn_money_bound_parse reads it;
    absent before the first sync: */
#define DN_STORE_MAX_SALE "max_sale"
/*  by enroll, when the site's chain began on another PC (`dealernet-hq
    site token`): the server's applied seq and its hash (hex) this folder's
    chain continues from; absent: from seq 0 and DN_CHAIN_GENESIS  */
#define DN_STORE_META_BASE_SEQ  "chain_base_seq"
#define DN_STORE_META_BASE_HASH "chain_base_hash"
/*  by enroll or the first sync of protocol 2 (dn_syncsm): the server's
    down key, 64 hex digits, that every Down must be signed by: */
#define DN_STORE_META_DOWN_KEY "down_key"
/*  by sync (a Welcome of protocol 3): the network's time zone, its IANA
    name and POSIX rule (dn_store_zone_set); absent before: days are UTC */
#define DN_STORE_META_ZONE      "zone"
#define DN_STORE_META_ZONE_RULE "zone_rule"
/*  by a migration, until the phones are rewritten once: */
#define DN_STORE_META_PHONES_CANONICAL "phones_canonical"

/*  Settings (meta table, keys above): get copies into value[0..size) or
    DN_ENOENT; set inserts or replaces (inside or outside a transaction).
    0 or DN_EDB.  */
int dn_store_meta_get(dn_store_t *self, const char *key, char *value, size_t size);
int dn_store_meta_set(dn_store_t *self, const char *key, const char *value);

/*  Makes partner the site's partner, as HQ registered it at enrollment
    (the default seller from now on), keeping the one init was given as
    setting init_partner; inside the caller's transaction.  0 or DN_EDB.  */
int dn_store_set_partner(dn_store_t *self, const char *partner);

/*  Where this folder's chain begins: *seq and hash of the event before
    its first (settings chain_base_*; 0 and DN_CHAIN_GENESIS when the site
    began here).  0, DN_EDB, or DN_ECHAIN for a damaged setting.  */
int dn_store_chain_base(dn_store_t *self, int64_t *seq, uint8_t hash[DN_HASH_BYTES]);

/*  Sets where the chain begins, inside the caller's transaction.  0 or
    DN_EDB.  */
int dn_store_set_chain_base(dn_store_t *self, int64_t seq,
                            const uint8_t hash[DN_HASH_BYTES]);

/*  Removes the chain's base (settings chain_base_*): the log holds the
    site's chain from seq 1 again (recover), inside the caller's
    transaction.  0 or DN_EDB.  */
int dn_store_clear_chain_base(dn_store_t *self);

/*  Gives the projections (sales, refunds, members, member_duplicates)
    and the import ref (imports) of the event at seq from the seq to; for dn_outbox_rebase, inside its
    transaction, with foreign keys deferred.  0 or DN_EDB.  */
int dn_store_renumber(dn_store_t *self, int64_t from, int64_t to);

/*  Borrowed: the SQLite handle, for the other agent store modules.  */
sqlite3 *dn_store_db(dn_store_t *self);

/*  Sets *stmt to a prepared statement for sql, reset and with its bindings
    cleared.  sql must be a string literal: statements are cached by its
    address for the life of the store.  Borrowed: reset it after use, never
    finalize it.  Returns 0 or DN_EDB.  */
int dn_store_stmt(dn_store_t *self, const char *sql, sqlite3_stmt **stmt);

/*  Transactions: BEGIN IMMEDIATE / COMMIT / ROLLBACK.  0 or DN_EDB.
    Inside an open transaction, begin opens a savepoint, and the matching
    commit releases it and rollback undoes only its writes: a recorder run
    inside a larger transaction (an import) is part of it, and nothing is
    durable before the outermost commit.  */
int dn_store_begin(dn_store_t *self);
int dn_store_commit(dn_store_t *self);
void dn_store_rollback(dn_store_t *self);

/*  Catalog.  get: 0 and *price (minor units) and category (empty if none),
    DN_ENOENT, or DN_EDB (the lookup itself failed).  set: inserts or
    replaces the price; category NULL keeps the SKU's category (none for a
    new SKU), "" clears it, anything else sets it.  set_named: the same,
    and the SKU's display name by the same rule (NULL keeps it, "" clears
    it; the caller checked it, dn_valid_name_why).  list: a new JSON array
    of {sku, name (or null), price, price_minor, category}, caller decrefs;
    NULL on error.  named: appends to skus the SKUs whose display name is
    name, exactly (byte for byte), by SKU; 0, DN_EDB or DN_ENOMEM.  */
int dn_store_catalog_get(dn_store_t *self, const char *sku, int64_t *price,
                         char category[DN_MAX_CODE_LEN + 1]);
int dn_store_catalog_set(dn_store_t *self, const char *sku, int64_t price,
                         const char *category);
int dn_store_catalog_set_named(dn_store_t *self, const char *sku, int64_t price,
                               const char *category, const char *name);
json_t *dn_store_catalog_list(dn_store_t *self);
int dn_store_catalog_named(dn_store_t *self, const char *name, json_t *skus);

/*  Projections, called inside the transaction that appends the event.
    ev is the event as appended (id and seq set).  Return 0 or DN_EDB.  */
int dn_store_sale_insert(dn_store_t *self, const Dealernet__Event *ev);
int dn_store_refund_insert(dn_store_t *self, const Dealernet__Event *ev);
int dn_store_member_insert(dn_store_t *self, const Dealernet__Event *ev);
int dn_store_member_update(dn_store_t *self, const Dealernet__Event *ev);

/*  The projection of any event, by its kind (one of the four above); a
    sign-up whose phone a member here holds already is kept in
    member_duplicates as that member's duplicate.  For an event this
    folder did not record itself (recover adds the server's), inside the
    transaction that inserts it.  0 or DN_EDB.  */
int dn_store_project(dn_store_t *self, const Dealernet__Event *ev);

/*  A sale as needed to refund it.  */
typedef struct {
    int64_t total;    /* minor units */
    int64_t refunded; /* minor units refunded so far */
} dn_store_sale_t;

/*  One line of a sale.  */
typedef struct {
    int64_t quantity;
    int64_t refunded_qty;
    int64_t unit_price;
} dn_store_line_t;

/*  0 and *sale, DN_ENOENT, or DN_EDB.  */
int dn_store_sale_get(dn_store_t *self, const uint8_t id[DN_ID_BYTES],
                      dn_store_sale_t *sale);

/*  0 and *line for the sale's line of that SKU, DN_ENOENT, or DN_EDB.  */
int dn_store_line_get(dn_store_t *self, const uint8_t sale_id[DN_ID_BYTES],
                      const char *sku, dn_store_line_t *line);

/*  The seq of the event that recorded the sale (sale_seq) or signed up
    the member (member_seq) of that id: 0 and *seq, DN_ENOENT, or DN_EDB.
    export --unsynced tells by it whether the server holds what a refund
    or a member update names.  */
int dn_store_sale_seq(dn_store_t *self, const uint8_t id[DN_ID_BYTES], int64_t *seq);
int dn_store_member_seq(dn_store_t *self, const uint8_t id[DN_ID_BYTES], int64_t *seq);

/*  The seq of this agent's event of that id: 0 and *seq, DN_ENOENT, or
    DN_EDB.  import refuses a file exported by this very agent by it.  */
int dn_store_event_seq(dn_store_t *self, const uint8_t id[DN_ID_BYTES], int64_t *seq);

/*  0 and the id of the sale recorded by the event at seq (an imported
    sale's, found by its ref in imports), DN_ENOENT, or DN_EDB.  */
int dn_store_sale_at(dn_store_t *self, int64_t seq, uint8_t id[DN_ID_BYTES]);

/*  The receipt number of the next sale: one more than the highest a sale
    here holds (1 for the first).  Inside the transaction that records the
    sale, so two clerks never get one number.  0 or DN_EDB.  */
int dn_store_next_receipt(dn_store_t *self, int64_t *receipt);

/*  How a clerk names a sale at the counter.  */
typedef enum {
    DN_STORE_SALE_BY_ID,      /* a whole id, or a prefix of >= 8 hex digits */
    DN_STORE_SALE_BY_RECEIPT, /* a receipt number, "42" or "0042" */
    DN_STORE_SALE_LAST        /* the last sale recorded here (text unused) */
} dn_store_sale_by_t;

/*  The minimum of hex digits of an id prefix: 8 digits are the id's
    first 32 bits, its time in units of 65.5 s (UUIDv7): two sales of one
    shop rarely share them, and when they do the prefix is refused with
    both named.  */
#define DN_STORE_ID_PREFIX_MIN 8

/*  Finds the sale a clerk named: 0 and its id, DN_EINVAL (text is not an
    id, a prefix or a receipt number), DN_ENOENT (no such sale), DN_EDUP
    (a prefix or a receipt that more than one sale holds: why names them),
    DN_EDB.  why holds one line for the clerk on every error.  */
int dn_store_sale_find(dn_store_t *self, dn_store_sale_by_t by, const char *text,
                       uint8_t id[DN_ID_BYTES], char *why, size_t why_size);

/*  0 and the member's id for a canonical phone, DN_ENOENT, or DN_EDB.  */
int dn_store_member_find(dn_store_t *self, const char *phone,
                         uint8_t id[DN_ID_BYTES]);

/*  What an import recorded under a POS ref (table imports).  */
typedef struct {
    uint8_t digest[DN_HASH_BYTES]; /* SHA-256 of the record's content */
    int64_t seq;                   /* the event it recorded */
    int64_t imported_at_ms;
} dn_store_import_t;

/*  0 and *row for the ref of kind ("sale", "member", "refund",
    "member_update") imported before,
    DN_ENOENT, or DN_EDB.  */
int dn_store_import_get(dn_store_t *self, const char *kind, const char *ref,
                        dn_store_import_t *row);

/*  Keeps row for (kind, ref), inside the caller's open transaction (the
    one that appended its event).  0 or DN_EDB (also when no transaction
    is open, or the ref is there already).  */
int dn_store_import_put(dn_store_t *self, const char *kind, const char *ref,
                        const dn_store_import_t *row);

/*  New JSON arrays, caller decrefs, NULL on error.  sales: every sale in
    seq order, each {id, receipt ("0042", null for a sale recorded before
    receipts), seq, recorded_at, total, total_minor, refunded,
    refunded_minor, currency, channel, payment ("cash", "wechat",
    "alipay", "card", "other", "unknown" when not given), seller, member,
    lines: [{sku, quantity, unit_price, unit_price_minor, category,
    refunded_quantity}]}.  members: {id, phone, name, referrer, household,
    seq, recorded_at}.  */
json_t *dn_store_sales_list(dn_store_t *self);
json_t *dn_store_members_list(dn_store_t *self);

/*  Members whose phone begins with phone_prefix (canonical, "+861380013")
    or whose name holds name_part (ASCII letters compared without case;
    either may be NULL), newest sign-up first, as dn_store_members_list's
    objects: at most limit, and *more counts the matches past it.  A new
    array (caller decrefs) or NULL on error.  */
json_t *dn_store_members_find(dn_store_t *self, const char *phone_prefix,
                              const char *name_part, int64_t limit, int64_t *more);

/*  Calls fn(sale, arg) for each sale recorded in [from_ms, to_ms), as
    dn_store_sales_list's objects (fn takes ownership of sale): newest
    first (by time, then seq) or in seq order, at most limit of them (-1:
    all).  One sale in memory at a time, so a listing of every sale can
    stream.  fn returns 0 to go on, anything else stops the walk and is
    returned.  Returns 0, fn's value, or DN_EDB.  */
int dn_store_sales_walk(dn_store_t *self, int64_t from_ms, int64_t to_ms, int newest_first,
                        int64_t limit, int (*fn)(json_t *sale, void *arg), void *arg);

/*  One sale as dn_store_sales_list shows it: a new object (caller
    decrefs), or NULL when there is no such sale or on error.  */
json_t *dn_store_sale_show(dn_store_t *self, const uint8_t id[DN_ID_BYTES]);

/*  A new JSON object: {site, partner, currency, country ("+86", null for
    none), events, pending, head_seq,
    head_hash, server, last_sync, last_error, last_error_at} (null where
    not known).  Caller decrefs; NULL on error.  */
json_t *dn_store_status(dn_store_t *self);

/*  Formats minor units in the store's currency into a new JSON string.  */
json_t *dn_store_money_json(const dn_store_t *self, int64_t minor);

/*  One member's purchase: a sale line of a sale that names a member, with
    what the members table knows of that member.  Strings are borrowed,
    valid only during the callback.  */
typedef struct {
    const char *phone; /* the sale's member phone, canonical */
    const char *name;  /* NULL when not signed up here or unnamed */
    int has_household; /* 0 when not signed up here or not recorded */
    int64_t household;
    const char *sku;
    const char *category; /* the line's category, NULL for none */
    int64_t recorded_at_ms;
    int64_t quantity;
    int64_t refunded_qty;
    int sale_refunded; /* 1 when the sale's whole (non-zero) total was refunded */
} dn_store_purchase_t;

/*  Calls fn(purchase, arg) for every sale line of every sale with a
    member, ordered by phone, then SKU, then recorded_at_ms and seq.  fn
    returns 0 to go on; any other value stops the walk and is returned.
    Returns 0, fn's value, or DN_EDB.  */
int dn_store_member_purchases(dn_store_t *self,
                              int (*fn)(const dn_store_purchase_t *purchase, void *arg),
                              void *arg);

#endif
