/*  dn_store -- the agent's SQLite schema, settings and projections.

    All SQL of the agent lives here and in dn_outbox.c.  The schema is a list
    of migrations; append to it, never edit a released entry.
*/
#include "dn_store.h"
#include "dn_chain.h"
#include "dn_crypto.h"
#include "dn_db.h"
#include "dn_error.h"
#include "dn_i18n.h"
#include "dn_log.h"
#include "dn_money.h"
#include "dn_time.h"
#include "dn_wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

struct _dn_store_t {
    sqlite3 *db;
    dn_store_info_t info;
    dn_db_cache_t *cache; /* hot-path statements */
    int depth;            /* dn_store_begin calls open: 1 the transaction, more savepoints */
};

static const dn_migration_t s_migrations[] = {
    {.sql = "CREATE TABLE meta ("
     "  key TEXT PRIMARY KEY,"
     "  value TEXT NOT NULL"
     ") WITHOUT ROWID;"
     /* The outbox: every event exactly as packed, hashed and later sent.  */
     "CREATE TABLE events ("
     "  seq INTEGER PRIMARY KEY CHECK (seq >= 1),"
     "  id BLOB NOT NULL UNIQUE CHECK (length(id) = 16),"
     "  kind TEXT NOT NULL,"
     "  recorded_at_ms INTEGER NOT NULL,"
     "  body BLOB NOT NULL,"
     "  hash BLOB NOT NULL CHECK (length(hash) = 32),"
     "  synced INTEGER NOT NULL DEFAULT 0"
     ");"
     "CREATE INDEX events_pending ON events(seq) WHERE synced = 0;"
     "CREATE TABLE catalog ("
     "  sku TEXT PRIMARY KEY,"
     "  price INTEGER NOT NULL CHECK (price >= 0),"
     "  category TEXT"
     ") WITHOUT ROWID;"
     "CREATE TABLE sales ("
     "  id BLOB PRIMARY KEY,"
     "  seq INTEGER NOT NULL UNIQUE REFERENCES events(seq),"
     "  recorded_at_ms INTEGER NOT NULL,"
     "  total INTEGER NOT NULL CHECK (total >= 0),"
     "  refunded INTEGER NOT NULL DEFAULT 0 CHECK (refunded BETWEEN 0 AND total),"
     "  member_phone TEXT,"
     "  channel INTEGER NOT NULL,"
     "  seller TEXT NOT NULL"
     ");"
     "CREATE TABLE sale_lines ("
     "  sale_id BLOB NOT NULL REFERENCES sales(id),"
     "  line_no INTEGER NOT NULL,"
     "  sku TEXT NOT NULL,"
     "  quantity INTEGER NOT NULL CHECK (quantity >= 1),"
     "  unit_price INTEGER NOT NULL CHECK (unit_price >= 0),"
     "  category TEXT,"
     "  refunded_qty INTEGER NOT NULL DEFAULT 0"
     "    CHECK (refunded_qty BETWEEN 0 AND quantity),"
     "  PRIMARY KEY (sale_id, line_no),"
     "  UNIQUE (sale_id, sku)"
     ");"
     "CREATE TABLE refunds ("
     "  id BLOB PRIMARY KEY,"
     "  seq INTEGER NOT NULL UNIQUE REFERENCES events(seq),"
     "  sale_id BLOB NOT NULL REFERENCES sales(id),"
     "  amount INTEGER NOT NULL CHECK (amount > 0)"
     ");"
     "CREATE TABLE members ("
     "  id BLOB PRIMARY KEY,"
     "  phone TEXT NOT NULL UNIQUE,"
     "  name TEXT,"
     "  referrer TEXT,"
     "  household INTEGER,"
     "  seq INTEGER NOT NULL REFERENCES events(seq),"
     "  recorded_at_ms INTEGER NOT NULL"
     ");"},
    {.sql = /* Canonical phones (issue 10, part 5: "Canonical phones").  Phones are
        stored E.164, made canonical with the site's default country
        (setting 'country', else the currency's: dn_phone_country_of_currency).
        A file from before holds phones as typed, so one customer may be
        several members ("13800138000", "+8613800138000").  dn_store_open
        rewrites the stored phones once (setting 'phones_canonical'): when
        two sign-ups become one phone, the first sign-up (lowest seq) keeps
        the member, and each later one moves here whole, naming the member
        it duplicates: nothing is dropped, and its event stays in the outbox
        as it was signed, so the server lists it in `member conflicts`.  */
     "CREATE TABLE member_duplicates ("
     "  id BLOB PRIMARY KEY,"
     "  phone TEXT NOT NULL,"                            /* as it was stored */
     "  member_id BLOB NOT NULL REFERENCES members(id)," /* the member kept */
     "  name TEXT,"
     "  referrer TEXT,"
     "  household INTEGER,"
     "  seq INTEGER NOT NULL REFERENCES events(seq),"
     "  recorded_at_ms INTEGER NOT NULL"
     ");"
     "INSERT INTO meta(key, value) SELECT '" DN_STORE_META_PHONES_CANONICAL "', '1' "
     "  WHERE EXISTS (SELECT 1 FROM events);"},
    {.sql = /* Sales from an existing POS (issue 12, part F: `import`).  One row
        per sale or member a CSV import recorded, under the POS's own ref,
        written in the transaction that appends its event: a file imported
        again records nothing twice, and a ref that comes back with other
        content is refused rather than recorded as a second sale.  digest
        is the SHA-256 of the record's content (dn_import.c); seq its
        event.  */
     "CREATE TABLE imports ("
     "  kind TEXT NOT NULL CHECK (kind IN ('sale', 'member')),"
     "  ref TEXT NOT NULL,"
     "  digest BLOB NOT NULL CHECK (length(digest) = 32),"
     "  seq INTEGER NOT NULL UNIQUE REFERENCES events(seq),"
     "  imported_at_ms INTEGER NOT NULL,"
     "  PRIMARY KEY (kind, ref)"
     ") WITHOUT ROWID;"},
    {.sql = /* Refunds and member updates in import and export (issue 12, part
        refunds: "nothing a clerk recorded may be dropped silently").  An
        exported refund or member update is imported under its own ref
        like a sale, so imports takes the kinds 'refund' and
        'member_update'; SQLite cannot widen a CHECK in place, so the
        table is copied into one that allows them, rows unchanged.  */
     "CREATE TABLE imports_new ("
     "  kind TEXT NOT NULL"
     "    CHECK (kind IN ('sale', 'member', 'refund', 'member_update')),"
     "  ref TEXT NOT NULL,"
     "  digest BLOB NOT NULL CHECK (length(digest) = 32),"
     "  seq INTEGER NOT NULL UNIQUE REFERENCES events(seq),"
     "  imported_at_ms INTEGER NOT NULL,"
     "  PRIMARY KEY (kind, ref)"
     ") WITHOUT ROWID;"
     "INSERT INTO imports_new(kind, ref, digest, seq, imported_at_ms)"
     "  SELECT kind, ref, digest, seq, imported_at_ms FROM imports;"
     "DROP TABLE imports;"
     "ALTER TABLE imports_new RENAME TO imports;"},
    {.sql = /* Downstream (issue 14, part A: core).  What the agent holds of each
        stream HQ sends down (agent/dn_down.c owns it): the version and
        scope of the last Down applied, when a Pull of it was last
        answered and when items of it were last applied.  A row is
        written in the transaction that applies the Down's items, so a
        kill leaves the stream as it was and the next sync pulls it
        again.  */
     "CREATE TABLE down_state ("
     "  stream INTEGER PRIMARY KEY,"
     "  version INTEGER NOT NULL CHECK (version >= 0),"
     "  scope BLOB NOT NULL CHECK (length(scope) <= 64),"
     "  checked_ms INTEGER NOT NULL,"
     "  changed_ms INTEGER NOT NULL"
     ");"},
    {.sql = /* HQ catalogue (issue 14, part B: catalog), owned by dn_hqcatalog:
        the rows of HQ's price lists on this site's partner path as the
        last sync brought them (STREAM_CATALOG), keyed as on the server by
        (sku, list, effective day); partner '' is the network's list,
        depth its depth in the tree (0: the network's).  The till takes a
        SKU's price from here first, then from the local catalog.  */
     "CREATE TABLE hq_catalog ("
     "  sku TEXT NOT NULL,"
     "  partner TEXT NOT NULL,"
     "  effective_ms INTEGER NOT NULL,"
     "  depth INTEGER NOT NULL,"
     "  name TEXT NOT NULL,"
     "  category TEXT,"
     "  price INTEGER NOT NULL CHECK (price >= 0),"
     "  fixed INTEGER NOT NULL,"
     "  PRIMARY KEY (sku, partner, effective_ms)"
     ") WITHOUT ROWID;"},
    {.sql = /* Part C of issue 14 (earnings and member credit downstream), owned by
        dn_earnings: what the network last sent of the site's partner's
        earnings (one row, STREAM_EARNINGS) and of the credit of the
        members this site has seen (STREAM_MEMBERS), amounts in minor
        units as sent.  Written only by the downstream appliers, in the
        transaction that applies a verified reply; read by `earnings` and
        `member show`.  */
     "CREATE TABLE hq_earnings ("
     "  id INTEGER PRIMARY KEY CHECK (id = 1),"
     "  partner TEXT NOT NULL,"
     "  period TEXT NOT NULL,"
     "  currency TEXT NOT NULL,"
     "  balance INTEGER NOT NULL,"
     "  opening INTEGER NOT NULL,"
     "  commission INTEGER NOT NULL,"
     "  override INTEGER NOT NULL,"
     "  referral INTEGER NOT NULL,"
     "  clawback INTEGER NOT NULL,"
     "  adjustment INTEGER NOT NULL,"
     "  payouts INTEGER NOT NULL,"
     "  last_payout INTEGER NOT NULL," /* 0: none */
     "  last_payout_ms INTEGER,"
     "  as_of_ms INTEGER NOT NULL"
     ");"
     "CREATE TABLE hq_members ("
     "  phone TEXT PRIMARY KEY," /* canonical */
     "  name TEXT,"
     "  credit INTEGER NOT NULL,"
     "  as_of_ms INTEGER NOT NULL"
     ") WITHOUT ROWID;"},
    {.sql = /* Notices (issue 14, part D: `notices`), owned by dn_notices: HQ's
        notices as the notices stream brought them (id: the server's, the
        stream's version), and when the shop read them (read_ms NULL:
        unread, shown by status).  */
     "CREATE TABLE notices ("
     "  id INTEGER PRIMARY KEY CHECK (id > 0),"
     "  text TEXT NOT NULL,"
     "  sent_ms INTEGER NOT NULL,"
     "  read_ms INTEGER"
     ");"},
    {.sql = /* Part E, recover (issue 14 item 6): the server's copy of this site's
        chain, as STREAM_CHAIN brings it (dn_recover.c), one row per event
        exactly as the server stored it, seq 1 .. the version down_state
        holds of the stream.  Each chunk is kept in the transaction that
        applies it; `recover` then rebuilds the log from it in one
        transaction.  Separate from events: what the server holds is not
        this folder's log until recover has checked both and merged them.  */
     "CREATE TABLE chain_staging ("
     "  seq INTEGER PRIMARY KEY CHECK (seq >= 1),"
     "  id BLOB NOT NULL UNIQUE CHECK (length(id) = 16),"
     "  body BLOB NOT NULL,"
     "  hash BLOB NOT NULL CHECK (length(hash) = 32)"
     ");"},
    {.sql = /* The counter (issue 13, part 5): each sale's receipt number and
        payment method, as its event carries them (Sale.receipt, .payment;
        NULL for a sale recorded before, whose event has none).  Receipts
        are looked up by number (refund --receipt) and the next one is
        max + 1; sales are listed by day (sales --date, close), hence the
        index on the time.  Not UNIQUE: a receipt is printed and signed,
        never renumbered, and two PCs of one site (an agent.db copied, a
        site moved with 'site token' before recover) can each have given
        one number; recover then holds both, and a lookup names them.  */
     "ALTER TABLE sales ADD COLUMN receipt INTEGER;"
     "ALTER TABLE sales ADD COLUMN payment INTEGER;"
     "CREATE INDEX sales_receipt ON sales(receipt) WHERE receipt IS NOT NULL;"
     "CREATE INDEX sales_time ON sales(recorded_at_ms);"},
    {.sql = /* Names apart from codes (issue 13, part "names"): a local catalog
        SKU's display name, any script (`catalog set SKU PRICE --name`);
        NULL for none, as every SKU had before.  The till takes a line's
        item by it when what was typed is not a SKU (dn_record).  */
     "ALTER TABLE catalog ADD COLUMN name TEXT;"},
};

#define DN_STORE_MIGRATIONS (sizeof s_migrations / sizeof s_migrations[0])

static int s_path(const char *dir, char *path, size_t size)
{
    int n = snprintf(path, size, "%s/%s", dir, DN_AGENT_DB_FILE);
    return n > 0 && (size_t)n < size ? 0 : DN_EINVAL;
}

int dn_store_create(const char *dir, const char *site, const char *partner,
                    const char *currency)
{
    return dn_store_create_country(dir, site, partner, currency,
                                   dn_phone_country_of_currency(currency));
}

int dn_store_create_country(const char *dir, const char *site, const char *partner,
                            const char *currency, int country)
{
    char path[4096], cc[8];
    struct stat st;
    sqlite3 *db;
    int rc;

    if (!dn_valid_code(site) || !dn_valid_code(partner) ||
        dn_money_exponent(currency) < 0 || country < 1 || country > DN_COUNTRY_MAX)
        return DN_EINVAL;
    snprintf(cc, sizeof cc, "%d", country);
    if (s_path(dir, path, sizeof path))
        return DN_EINVAL;
    if (stat(path, &st) == 0)
        return DN_EEXIST;
    rc = dn_db_open(path, DN_DB_CREATE, s_migrations, DN_STORE_MIGRATIONS, &db);
    if (rc)
        return rc;
    rc = dn_db_begin(db);
    if (!rc)
        rc = dn_db_meta_set(db, DN_STORE_META_SITE, site);
    if (!rc)
        rc = dn_db_meta_set(db, DN_STORE_META_PARTNER, partner);
    if (!rc)
        rc = dn_db_meta_set(db, DN_STORE_META_CURRENCY, currency);
    if (!rc)
        rc = dn_db_meta_set(db, DN_STORE_META_COUNTRY, cc);
    if (!rc)
        rc = dn_db_commit(db);
    if (rc)
        dn_db_rollback(db);
    sqlite3_close(db);
    if (rc) /* a file without its settings would refuse both init and open */
        dn_db_remove(path);
    return rc;
}

static int s_step_failed(sqlite3 *db);

/*  The site's default country: the 'country' setting (init), else, in a
    file from before phones were canonical, the currency's country (none
    for EUR and CHF: phones are then typed with their country code).  */
static int s_country_load(dn_store_t *self)
{
    char text[8];
    int rc = dn_db_meta_get(self->db, DN_STORE_META_COUNTRY, text, sizeof text);
    if (rc == DN_ENOENT) {
        self->info.country = dn_phone_country_of_currency(self->info.currency);
        return 0;
    }
    if (rc == 0 && dn_phone_country_parse(text, &self->info.country) != 0) {
        dn_log_error(_("agent.db: setting %s is '%s', not a country code"),
                     DN_STORE_META_COUNTRY, text);
        rc = DN_EDB;
    }
    return rc;
}

/*  One sign-up as stored before phones were canonical.  */
typedef struct {
    uint8_t id[DN_ID_BYTES];
    char phone[DN_PHONE_SIZE];
    int64_t seq;
} s_signup_t;

/*  The canonical form of a stored phone, or 1 when it stays as it is:
    it is canonical already, or cannot be made so (then it is logged and
    kept: the member is still found by it in listings, and nothing is
    dropped).  */
static int s_canonical(dn_store_t *self, const char *stored, char out[DN_PHONE_SIZE])
{
    char why[DN_PHONE_WHY_SIZE + 64];
    if (dn_phone_normalize(stored, self->info.country, out, why, sizeof why)) {
        dn_log_warn(_("agent.db: phone kept as it was: %s"), why);
        return 1;
    }
    return strcmp(out, stored) == 0;
}

/*  Moves the sign-up id from members to member_duplicates, as a duplicate
    of member kept.  */
static int s_duplicate(dn_store_t *self, const uint8_t id[DN_ID_BYTES],
                       const uint8_t kept[DN_ID_BYTES])
{
    sqlite3_stmt *stmt;
    int rc;
    if (dn_db_prepare(
            self->db,
            "INSERT INTO member_duplicates(id, phone, member_id, name, referrer, "
            "household, seq, recorded_at_ms) SELECT id, phone, ?2, name, referrer, "
            "household, seq, recorded_at_ms FROM members WHERE id = ?1",
            &stmt))
        return DN_EDB;
    sqlite3_bind_blob(stmt, 1, id, DN_ID_BYTES, SQLITE_STATIC);
    sqlite3_bind_blob(stmt, 2, kept, DN_ID_BYTES, SQLITE_STATIC);
    rc = dn_db_step_txn(self->db, stmt);
    sqlite3_finalize(stmt);
    if (rc || dn_db_prepare(self->db, "DELETE FROM members WHERE id = ?", &stmt))
        return DN_EDB;
    sqlite3_bind_blob(stmt, 1, id, DN_ID_BYTES, SQLITE_STATIC);
    rc = dn_db_step_txn(self->db, stmt);
    sqlite3_finalize(stmt);
    return rc;
}

/*  Runs "UPDATE ... SET column = ?1 WHERE column = ?2" (or WHERE id = ?2,
    a blob of DN_ID_BYTES when id is given).  */
static int s_rewrite(dn_store_t *self, const char *sql, const char *to, const char *from,
                     const uint8_t *id)
{
    sqlite3_stmt *stmt;
    int rc;
    if (dn_db_prepare(self->db, sql, &stmt))
        return DN_EDB;
    sqlite3_bind_text(stmt, 1, to, -1, SQLITE_STATIC);
    if (id)
        sqlite3_bind_blob(stmt, 2, id, DN_ID_BYTES, SQLITE_STATIC);
    else
        sqlite3_bind_text(stmt, 2, from, -1, SQLITE_STATIC);
    rc = dn_db_step_txn(self->db, stmt);
    sqlite3_finalize(stmt);
    return rc;
}

/*  The sign-ups, in seq order, into a new array (caller frees).  */
static int s_signups(dn_store_t *self, s_signup_t **list, size_t *n)
{
    sqlite3_stmt *stmt;
    size_t cap = 0;
    int step, rc = 0;
    *list = NULL;
    *n = 0;
    if (dn_db_prepare(self->db, "SELECT id, phone, seq FROM members ORDER BY seq", &stmt))
        return DN_EDB;
    while (rc == 0 && (step = dn_db_row(stmt, "agent.db: sign-ups")) == 1) {
        s_signup_t *row;
        if (*n == cap) {
            s_signup_t *bigger =
                realloc(*list, (cap = cap ? 2 * cap : 64) * sizeof *bigger);
            if (!bigger) {
                rc = DN_ENOMEM;
                break;
            }
            *list = bigger;
        }
        row = &(*list)[*n];
        if (sqlite3_column_bytes(stmt, 0) != DN_ID_BYTES ||
            sqlite3_column_bytes(stmt, 1) >= DN_PHONE_SIZE ||
            dn_db_column_copy(stmt, 1, row->phone, sizeof row->phone)) {
            /* a phone this long was never accepted: keep the row as it is */
            dn_log_warn(_("agent.db: member seq %lld kept as it was"),
                        (long long)sqlite3_column_int64(stmt, 2));
            continue;
        }
        memcpy(row->id, sqlite3_column_blob(stmt, 0), DN_ID_BYTES);
        row->seq = sqlite3_column_int64(stmt, 2);
        (*n)++;
    }
    if (rc == 0 && step < 0)
        rc = DN_EDB;
    sqlite3_finalize(stmt);
    return rc;
}

/*  The holder (id and seq) of phone among the members, if any: 0,
    DN_ENOENT or DN_EDB.  */
static int s_holder(dn_store_t *self, const char *phone, uint8_t id[DN_ID_BYTES],
                    int64_t *seq)
{
    sqlite3_stmt *stmt;
    int rc = DN_ENOENT, step;
    if (dn_db_prepare(self->db, "SELECT id, seq FROM members WHERE phone = ?", &stmt))
        return DN_EDB;
    sqlite3_bind_text(stmt, 1, phone, -1, SQLITE_STATIC);
    if ((step = sqlite3_step(stmt)) == SQLITE_ROW &&
        sqlite3_column_bytes(stmt, 0) == DN_ID_BYTES) {
        memcpy(id, sqlite3_column_blob(stmt, 0), DN_ID_BYTES);
        *seq = sqlite3_column_int64(stmt, 1);
        rc = 0;
    } else if (step != SQLITE_DONE) {
        rc = s_step_failed(self->db);
    }
    sqlite3_finalize(stmt);
    return rc;
}

/*  Rewrites the phones of one text column to canonical form: every
    distinct stored value that changes.  select lists the values; update
    is "UPDATE ... SET col = ?1 WHERE col = ?2".  Values starting with an
    ASCII letter (a referrer's partner code) are left alone.  */
static int s_rewrite_column(dn_store_t *self, const char *select, const char *update,
                            int *changed)
{
    sqlite3_stmt *stmt;
    json_t *values = json_array();
    size_t i;
    json_t *v;
    int rc = 0, step;
    if (!values || dn_db_prepare(self->db, select, &stmt)) {
        json_decref(values);
        return DN_EDB;
    }
    while ((step = dn_db_row(stmt, "agent.db: phones to rewrite")) == 1) {
        const char *text = (const char *)sqlite3_column_text(stmt, 0);
        if (!text || json_array_append_new(values, json_string(text))) {
            step = s_step_failed(self->db);
            break;
        }
    }
    sqlite3_finalize(stmt);
    if (step < 0) {
        json_decref(values);
        return DN_EDB;
    }
    json_array_foreach(values, i, v)
    {
        const char *from = json_string_value(v);
        char to[DN_PHONE_SIZE];
        if (!from || (from[0] >= 'A' && from[0] <= 'Z') ||
            (from[0] >= 'a' && from[0] <= 'z'))
            continue;
        if (s_canonical(self, from, to))
            continue;
        if ((rc = s_rewrite(self, update, to, from, NULL)) != 0)
            break;
        *changed += sqlite3_changes(self->db);
    }
    json_decref(values);
    return rc;
}

/*  Completes the canonical-phones migration on a file that held events
    before it, in one transaction: members' phones (a later sign-up that
    becomes the phone of an earlier one moves to member_duplicates, see
    the migration), referrers that are phones, and sales' member phones.
    The outbox is never touched: events are sent as they were signed.  */
static int s_phones_canonical(dn_store_t *self)
{
    s_signup_t *rows = NULL;
    size_t n = 0;
    char flag[8];
    int rc = dn_db_meta_get(self->db, DN_STORE_META_PHONES_CANONICAL, flag, sizeof flag);
    int changed = 0, duplicates = 0;

    if (rc == DN_ENOENT)
        return 0;
    if (rc || dn_db_begin(self->db))
        return DN_EDB;
    rc = s_signups(self, &rows, &n);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        char to[DN_PHONE_SIZE];
        uint8_t holder[DN_ID_BYTES];
        int64_t holder_seq;
        if (s_canonical(self, rows[i].phone, to))
            continue;
        rc = s_holder(self, to, holder, &holder_seq);
        if (rc == 0 && holder_seq < rows[i].seq) { /* an earlier sign-up: it stays */
            rc = s_duplicate(self, rows[i].id, holder);
            duplicates++;
            continue;
        }
        if (rc == 0) { /* a later sign-up already canonical: this one stays */
            rc = s_duplicate(self, holder, rows[i].id);
            duplicates++;
        }
        if (rc == 0 || rc == DN_ENOENT)
            rc = s_rewrite(self, "UPDATE members SET phone = ?1 WHERE id = ?2", to, NULL,
                           rows[i].id);
        changed += rc == 0;
    }
    free(rows);
    if (rc == 0)
        rc = s_rewrite_column(
            self, "SELECT DISTINCT referrer FROM members WHERE referrer IS NOT NULL",
            "UPDATE members SET referrer = ?1 WHERE referrer = ?2", &changed);
    if (rc == 0)
        rc = s_rewrite_column(
            self,
            "SELECT DISTINCT referrer FROM member_duplicates "
            "WHERE referrer IS NOT NULL",
            "UPDATE member_duplicates SET referrer = ?1 WHERE referrer = ?2", &changed);
    if (rc == 0)
        rc = s_rewrite_column(
            self,
            "SELECT DISTINCT member_phone FROM sales "
            "WHERE member_phone IS NOT NULL",
            "UPDATE sales SET member_phone = ?1 WHERE member_phone = ?2", &changed);
    if (rc == 0)
        rc = dn_db_exec(self->db, "DELETE FROM meta WHERE key = '" DN_STORE_META_PHONES_CANONICAL "'");
    if (rc == 0)
        rc = dn_db_commit(self->db);
    if (rc) {
        dn_db_rollback(self->db);
        return rc == DN_ENOMEM ? rc : DN_EDB;
    }
    dn_log_info(_("agent.db: phones made canonical: %d rewritten, %d sign-ups kept as "
                "duplicates of an earlier one"),
                changed, duplicates);
    return 0;
}

dn_store_t *dn_store_open(const char *dir, int *err)
{
    char path[4096];
    dn_store_t *self;
    int rc;

    *err = s_path(dir, path, sizeof path);
    if (*err)
        return NULL;
    self = calloc(1, sizeof *self);
    if (!self) {
        *err = DN_ENOMEM;
        return NULL;
    }
    rc = dn_db_open(path, 0, s_migrations, DN_STORE_MIGRATIONS, &self->db);
    if (!rc && !(self->cache = dn_db_cache_new(self->db)))
        rc = DN_ENOMEM;
    if (!rc)
        rc = dn_db_meta_get(self->db, DN_STORE_META_SITE, self->info.site, sizeof self->info.site);
    if (!rc)
        rc = dn_db_meta_get(self->db, DN_STORE_META_PARTNER, self->info.partner,
                        sizeof self->info.partner);
    if (!rc)
        rc = dn_db_meta_get(self->db, DN_STORE_META_CURRENCY, self->info.currency,
                        sizeof self->info.currency);
    if (!rc) {
        self->info.exponent = dn_money_exponent(self->info.currency);
        if (self->info.exponent < 0 || !dn_valid_code(self->info.site) ||
            !dn_valid_code(self->info.partner))
            rc = DN_EDB;
    }
    if (!rc)
        rc = s_country_load(self);
    if (!rc)
        rc = s_phones_canonical(self);
    if (!rc)
        rc = dn_store_zone_apply(self);
    if (rc) {
        if (rc == DN_ENOENT && self->db)
            rc = DN_EDB; /* the file is there but its settings are not */
        dn_store_destroy(&self);
        *err = rc;
        return NULL;
    }
    *err = 0;
    return self;
}

int dn_store_zone_apply(dn_store_t *self)
{
    char zone[DN_TIME_ZONE_SIZE] = DN_TIME_ZONE_UTC, rule[DN_TIME_ZONE_SIZE] = "";
    int rc = dn_db_meta_get(self->db, DN_STORE_META_ZONE, zone, sizeof zone);
    if (rc && rc != DN_ENOENT)
        return DN_EDB;
    rc = dn_db_meta_get(self->db, DN_STORE_META_ZONE_RULE, rule, sizeof rule);
    if (rc && rc != DN_ENOENT)
        return DN_EDB;
    /* the name gives the zone's whole history; the rule only its present */
    if (dn_time_zone_check(zone, NULL) == 0)
        rc = dn_time_zone_set(zone, 0);
    else if (rule[0])
        rc = dn_time_zone_set(rule, 0);
    else
        rc = DN_ENOENT;
    if (rc) {
        dn_log_warn(_("the network's time zone %s is not in this PC's zone database and "
                    "came without a rule: days are UTC (install tzdata)"),
                    zone);
        dn_time_zone_set(DN_TIME_ZONE_UTC, 0);
    }
    return 0;
}

int dn_store_zone_set(dn_store_t *self, const char *zone, const char *rule)
{
    char stored[DN_TIME_ZONE_SIZE], stored_rule[DN_TIME_ZONE_SIZE];
    int same = dn_db_meta_get(self->db, DN_STORE_META_ZONE, stored, sizeof stored) == 0 &&
               strcmp(stored, zone) == 0;
    if (dn_db_meta_get(self->db, DN_STORE_META_ZONE_RULE, stored_rule, sizeof stored_rule))
        stored_rule[0] = '\0';
    if (same && strcmp(stored_rule, rule ? rule : "") == 0)
        return 0;
    if (dn_db_meta_set(self->db, DN_STORE_META_ZONE, zone) ||
        dn_db_meta_set(self->db, DN_STORE_META_ZONE_RULE, rule ? rule : ""))
        return DN_EDB;
    return dn_store_zone_apply(self);
}

void dn_store_destroy(dn_store_t **self_p)
{
    if (self_p && *self_p) {
        dn_db_cache_destroy(&(*self_p)->cache);
        sqlite3_close((*self_p)->db);
        free(*self_p);
        *self_p = NULL;
    }
}

int dn_store_meta_get(dn_store_t *self, const char *key, char *value, size_t size)
{
    return dn_db_meta_get(self->db, key, value, size);
}

int dn_store_meta_set(dn_store_t *self, const char *key, const char *value)
{
    return dn_db_meta_set(self->db, key, value);
}

int dn_store_chain_base(dn_store_t *self, int64_t *seq, uint8_t hash[DN_HASH_BYTES])
{
    char seq_text[32], hash_text[2 * DN_HASH_BYTES + 1];
    char *end;
    int rc = dn_store_meta_get(self, DN_STORE_META_BASE_SEQ, seq_text, sizeof seq_text);

    *seq = 0;
    memcpy(hash, DN_CHAIN_GENESIS, DN_HASH_BYTES);
    if (rc == DN_ENOENT)
        return 0;
    if (rc == 0)
        rc = dn_store_meta_get(self, DN_STORE_META_BASE_HASH, hash_text, sizeof hash_text);
    if (rc)
        return rc == DN_ENOENT ? DN_ECHAIN : rc;
    *seq = strtoll(seq_text, &end, 10);
    if (*end || *seq < 1 || strlen(hash_text) != 2 * DN_HASH_BYTES ||
        dn_hex_decode(hash_text, hash, DN_HASH_BYTES) != 0) {
        dn_log_error(_("agent.db: settings %s / %s are damaged"), DN_STORE_META_BASE_SEQ,
                     DN_STORE_META_BASE_HASH);
        return DN_ECHAIN;
    }
    return 0;
}

int dn_store_set_chain_base(dn_store_t *self, int64_t seq, const uint8_t hash[DN_HASH_BYTES])
{
    char seq_text[32], hash_text[2 * DN_HASH_BYTES + 1];
    snprintf(seq_text, sizeof seq_text, "%lld", (long long)seq);
    dn_hex_encode(hash, DN_HASH_BYTES, hash_text);
    if (dn_store_meta_set(self, DN_STORE_META_BASE_SEQ, seq_text) ||
        dn_store_meta_set(self, DN_STORE_META_BASE_HASH, hash_text))
        return DN_EDB;
    return 0;
}

int dn_store_clear_chain_base(dn_store_t *self)
{
    sqlite3_stmt *stmt;
    if (dn_db_prepare(self->db, "DELETE FROM meta WHERE key IN (?, ?)", &stmt))
        return DN_EDB;
    sqlite3_bind_text(stmt, 1, DN_STORE_META_BASE_SEQ, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, DN_STORE_META_BASE_HASH, -1, SQLITE_STATIC);
    return dn_db_run(self->db, stmt) ? DN_EDB : 0;
}

int dn_store_renumber(dn_store_t *self, int64_t from, int64_t to)
{
    static const char *const sql[] = {
        "UPDATE sales SET seq = ?2 WHERE seq = ?1",
        "UPDATE refunds SET seq = ?2 WHERE seq = ?1",
        "UPDATE members SET seq = ?2 WHERE seq = ?1",
        "UPDATE member_duplicates SET seq = ?2 WHERE seq = ?1",
        /* an import's ref follows its event (a new PC that imported the
           old one's export before enrolling) */
        "UPDATE imports SET seq = ?2 WHERE seq = ?1",
    };
    for (size_t i = 0; i < sizeof sql / sizeof sql[0]; i++) {
        sqlite3_stmt *stmt;
        if (dn_db_prepare(self->db, sql[i], &stmt))
            return DN_EDB;
        sqlite3_bind_int64(stmt, 1, from);
        sqlite3_bind_int64(stmt, 2, to);
        if (dn_db_run(self->db, stmt))
            return DN_EDB;
    }
    return 0;
}

int dn_store_set_partner(dn_store_t *self, const char *partner)
{
    int rc = dn_db_meta_set(self->db, DN_STORE_META_INIT_PARTNER, self->info.partner);
    if (rc == 0)
        rc = dn_db_meta_set(self->db, DN_STORE_META_PARTNER, partner);
    if (rc == 0)
        snprintf(self->info.partner, sizeof self->info.partner, "%s", partner);
    return rc;
}

const dn_store_info_t *dn_store_info(const dn_store_t *self)
{
    return &self->info;
}

sqlite3 *dn_store_db(dn_store_t *self)
{
    return self->db;
}

int dn_store_stmt(dn_store_t *self, const char *sql, sqlite3_stmt **stmt)
{
    return dn_db_cached(self->cache, sql, stmt);
}

/*  Inside an open transaction a begin is a savepoint, so a recorder
    (dn_record) that begins and commits its own transaction can run inside
    a caller's larger one (an import): its commit releases the savepoint,
    its rollback undoes only its own writes, and nothing is durable before
    the outer commit.  */
#define DN_STORE_SAVEPOINT "dn_store_nested"

int dn_store_begin(dn_store_t *self)
{
    int rc = self->depth > 0 ? dn_db_exec(self->db, "SAVEPOINT " DN_STORE_SAVEPOINT)
                             : dn_db_begin(self->db);
    if (rc == 0)
        self->depth++;
    return rc;
}

int dn_store_commit(dn_store_t *self)
{
    int rc;
    if (self->depth > 1) {
        rc = dn_db_exec(self->db, "RELEASE " DN_STORE_SAVEPOINT);
    } else {
        rc = dn_db_commit(self->db);
    }
    if (rc == 0 && self->depth > 0)
        self->depth--; /* a failed commit is left to the caller's rollback */
    return rc;
}

void dn_store_rollback(dn_store_t *self)
{
    if (self->depth > 1 && sqlite3_get_autocommit(self->db) == 0) {
        dn_db_exec(self->db,
                   "ROLLBACK TO " DN_STORE_SAVEPOINT "; RELEASE " DN_STORE_SAVEPOINT);
        self->depth--;
        return;
    }
    /* the outer transaction, or one SQLite already rolled back itself */
    dn_db_rollback(self->db);
    self->depth = 0;
}

json_t *dn_store_money_json(const dn_store_t *self, int64_t minor)
{
    char text[DN_MONEY_TEXT_SIZE];
    dn_money_format(minor, self->info.exponent, text, sizeof text);
    return json_string(text);
}

static json_t *s_id_json(const void *blob)
{
    char text[DN_ID_TEXT_SIZE];
    dn_id_format(blob, text);
    return json_string(text);
}

static json_t *s_text_json(sqlite3_stmt *stmt, int col)
{
    const unsigned char *text = sqlite3_column_text(stmt, col);
    return text ? json_string((const char *)text) : json_null();
}

/*  Steps a cached statement that changes rows, then resets it; 0 or
    DN_EDB.  */
static int s_step_done(sqlite3 *db, sqlite3_stmt *stmt)
{
    int rc = sqlite3_step(stmt) == SQLITE_DONE ? 0 : DN_EDB;
    if (rc)
        dn_log_error(_("sqlite: %s"), sqlite3_errmsg(db));
    sqlite3_reset(stmt);
    return rc;
}

/*  A lookup's step failed (not "no row"): logs it; DN_EDB.  */
static int s_step_failed(sqlite3 *db)
{
    dn_log_error(_("sqlite: %s"), sqlite3_errmsg(db));
    return DN_EDB;
}

/* -- catalog ------------------------------------------------------------- */

int dn_store_catalog_get(dn_store_t *self, const char *sku, int64_t *price,
                         char category[DN_MAX_CODE_LEN + 1])
{
    sqlite3_stmt *stmt;
    int rc = DN_ENOENT, step;
    if (dn_store_stmt(self, "SELECT price, category FROM catalog WHERE sku = ?",
                      &stmt))
        return DN_EDB;
    sqlite3_bind_text(stmt, 1, sku, -1, SQLITE_STATIC);
    if ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        const unsigned char *cat = sqlite3_column_text(stmt, 1);
        *price = sqlite3_column_int64(stmt, 0);
        snprintf(category, DN_MAX_CODE_LEN + 1, "%s", cat ? (const char *)cat : "");
        rc = cat || sqlite3_column_type(stmt, 1) == SQLITE_NULL ? 0
                                                                : s_step_failed(self->db);
    } else if (step != SQLITE_DONE) {
        rc = s_step_failed(self->db);
    }
    sqlite3_reset(stmt);
    return rc;
}

/*  A price change without a category keeps the SKU's category: a clerk
    who only corrects a price must not move the SKU's later sales from its
    category's commission rate to the general one (issue 10).  */
int dn_store_catalog_set(dn_store_t *self, const char *sku, int64_t price,
                         const char *category)
{
    return dn_store_catalog_set_named(self, sku, price, category, NULL);
}

/*  The same rule for the name: a price change without --name keeps it.  */
int dn_store_catalog_set_named(dn_store_t *self, const char *sku, int64_t price,
                               const char *category, const char *name)
{
    sqlite3_stmt *stmt;
    if (dn_store_stmt(self,
                      "INSERT INTO catalog(sku, price, category, name) "
                      "VALUES (?1, ?2, nullif(?3, ''), nullif(?4, '')) "
                      "ON CONFLICT(sku) DO UPDATE SET price = excluded.price,"
                      "  category = CASE WHEN ?5 THEN excluded.category ELSE category END,"
                      "  name = CASE WHEN ?6 THEN excluded.name ELSE name END",
                      &stmt))
        return DN_EDB;
    sqlite3_bind_text(stmt, 1, sku, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, price);
    if (category)
        sqlite3_bind_text(stmt, 3, category, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(stmt, 3);
    if (name)
        sqlite3_bind_text(stmt, 4, name, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(stmt, 4);
    sqlite3_bind_int(stmt, 5, category != NULL);
    sqlite3_bind_int(stmt, 6, name != NULL);
    return s_step_done(self->db, stmt);
}

int dn_store_catalog_named(dn_store_t *self, const char *name, json_t *skus)
{
    sqlite3_stmt *stmt;
    int step;
    if (dn_db_prepare(self->db, "SELECT sku FROM catalog WHERE name = ? ORDER BY sku", &stmt))
        return DN_EDB;
    sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
    while ((step = dn_db_row(stmt, "agent.db catalog")) == 1) {
        json_t *sku = s_text_json(stmt, 0);
        if (!sku || json_array_append_new(skus, sku)) {
            sqlite3_finalize(stmt);
            return DN_ENOMEM;
        }
    }
    sqlite3_finalize(stmt);
    return step < 0 ? DN_EDB : 0;
}

/*  Ends a listing's row loop: the list, or NULL (and the list freed) when
    the loop ended on an error (step < 0) rather than at the end of the
    rows -- a listing cut short must not pass for the whole one.  */
static json_t *s_rows_end(json_t *list, int step)
{
    if (step < 0) {
        json_decref(list);
        return NULL;
    }
    return list;
}

json_t *dn_store_catalog_list(dn_store_t *self)
{
    sqlite3_stmt *stmt;
    json_t *list = json_array();
    int step;
    if (dn_db_prepare(self->db, "SELECT sku, price, category, name FROM catalog ORDER BY sku",
                      &stmt)) {
        json_decref(list);
        return NULL;
    }
    while ((step = dn_db_row(stmt, "agent.db catalog")) == 1) {
        int64_t price = sqlite3_column_int64(stmt, 1);
        json_array_append_new(list,
                              json_pack("{s:o, s:o, s:o, s:I, s:o}", "sku",
                                        s_text_json(stmt, 0), "name", s_text_json(stmt, 3),
                                        "price", dn_store_money_json(self, price),
                                        "price_minor", (json_int_t)price, "category",
                                        s_text_json(stmt, 2)));
    }
    sqlite3_finalize(stmt);
    return s_rows_end(list, step);
}

/* -- projections --------------------------------------------------------- */

int dn_store_sale_insert(dn_store_t *self, const Dealernet__Event *ev)
{
    const Dealernet__Sale *sale = ev->sale;
    sqlite3_stmt *stmt;
    int rc;

    if (dn_store_stmt(self,
                      "INSERT INTO sales(id, seq, recorded_at_ms, total, member_phone, "
                      "channel, seller, receipt, payment) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                      &stmt))
        return DN_EDB;
    if (sale->has_receipt)
        sqlite3_bind_int64(stmt, 8, (sqlite3_int64)sale->receipt);
    if (sale->has_payment)
        sqlite3_bind_int(stmt, 9, sale->payment);
    sqlite3_bind_blob(stmt, 1, ev->id.data, (int)ev->id.len, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, (sqlite3_int64)ev->seq);
    sqlite3_bind_int64(stmt, 3, ev->recorded_at_ms);
    sqlite3_bind_int64(stmt, 4, sale->total);
    if (sale->member_phone)
        sqlite3_bind_text(stmt, 5, sale->member_phone, -1, SQLITE_STATIC);
    sqlite3_bind_int(stmt, 6, sale->channel);
    sqlite3_bind_text(stmt, 7, sale->seller, -1, SQLITE_STATIC);
    rc = s_step_done(self->db, stmt);
    for (size_t i = 0; rc == 0 && i < sale->n_lines; i++) {
        const Dealernet__SaleLine *line = sale->lines[i];
        if (dn_store_stmt(self,
                          "INSERT INTO sale_lines(sale_id, line_no, sku, quantity, "
                          "unit_price, category) VALUES (?, ?, ?, ?, ?, ?)",
                          &stmt))
            return DN_EDB;
        sqlite3_bind_blob(stmt, 1, ev->id.data, (int)ev->id.len, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 2, (sqlite3_int64)i + 1);
        sqlite3_bind_text(stmt, 3, line->sku, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 4, line->quantity);
        sqlite3_bind_int64(stmt, 5, line->unit_price);
        if (line->category)
            sqlite3_bind_text(stmt, 6, line->category, -1, SQLITE_STATIC);
        rc = s_step_done(self->db, stmt);
    }
    return rc;
}

int dn_store_refund_insert(dn_store_t *self, const Dealernet__Event *ev)
{
    const Dealernet__Refund *refund = ev->refund;
    sqlite3_stmt *stmt;
    int rc;

    if (dn_store_stmt(self,
                      "INSERT INTO refunds(id, seq, sale_id, amount) VALUES (?, ?, ?, ?)",
                      &stmt))
        return DN_EDB;
    sqlite3_bind_blob(stmt, 1, ev->id.data, (int)ev->id.len, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, (sqlite3_int64)ev->seq);
    sqlite3_bind_blob(stmt, 3, refund->sale_id.data, (int)refund->sale_id.len,
                      SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 4, refund->amount);
    rc = s_step_done(self->db, stmt);
    if (rc == 0) {
        if (dn_store_stmt(self,
                          "UPDATE sales SET refunded = refunded + ? WHERE id = ?", &stmt))
            return DN_EDB;
        sqlite3_bind_int64(stmt, 1, refund->amount);
        sqlite3_bind_blob(stmt, 2, refund->sale_id.data, (int)refund->sale_id.len,
                          SQLITE_STATIC);
        rc = s_step_done(self->db, stmt);
    }
    for (size_t i = 0; rc == 0 && i < refund->n_lines; i++) {
        if (dn_store_stmt(self,
                          "UPDATE sale_lines SET refunded_qty = refunded_qty + ? "
                          "WHERE sale_id = ? AND sku = ?",
                          &stmt))
            return DN_EDB;
        sqlite3_bind_int64(stmt, 1, refund->lines[i]->quantity);
        sqlite3_bind_blob(stmt, 2, refund->sale_id.data, (int)refund->sale_id.len,
                          SQLITE_STATIC);
        sqlite3_bind_text(stmt, 3, refund->lines[i]->sku, -1, SQLITE_STATIC);
        rc = s_step_done(self->db, stmt);
    }
    return rc;
}

/*  Binds a sign-up's id, phone, name, referrer, household, seq and time
    to parameters 1-7 of stmt, as members and member_duplicates take them.  */
static void s_bind_signup(sqlite3_stmt *stmt, const Dealernet__Event *ev)
{
    const Dealernet__MemberSignup *m = ev->member_signup;
    const char *referrer = m->referrer_phone ? m->referrer_phone : m->referrer_partner;

    sqlite3_bind_blob(stmt, 1, m->member_id.data, (int)m->member_id.len, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, m->phone, -1, SQLITE_STATIC);
    if (m->name)
        sqlite3_bind_text(stmt, 3, m->name, -1, SQLITE_STATIC);
    if (referrer)
        sqlite3_bind_text(stmt, 4, referrer, -1, SQLITE_STATIC);
    if (m->has_household)
        sqlite3_bind_int(stmt, 5, (int)m->household);
    sqlite3_bind_int64(stmt, 6, (sqlite3_int64)ev->seq);
    sqlite3_bind_int64(stmt, 7, ev->recorded_at_ms);
}

int dn_store_member_insert(dn_store_t *self, const Dealernet__Event *ev)
{
    sqlite3_stmt *stmt;

    if (dn_store_stmt(self,
                      "INSERT INTO members(id, phone, name, referrer, household, seq, "
                      "recorded_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
                      &stmt))
        return DN_EDB;
    s_bind_signup(stmt, ev);
    return s_step_done(self->db, stmt);
}

int dn_store_member_update(dn_store_t *self, const Dealernet__Event *ev)
{
    const Dealernet__MemberUpdate *m = ev->member_update;
    sqlite3_stmt *stmt;

    if (dn_store_stmt(self,
                      "UPDATE members SET name = coalesce(?, name), "
                      "household = coalesce(?, household) WHERE id = ?",
                      &stmt))
        return DN_EDB;
    if (m->name)
        sqlite3_bind_text(stmt, 1, m->name, -1, SQLITE_STATIC);
    if (m->has_household)
        sqlite3_bind_int(stmt, 2, (int)m->household);
    sqlite3_bind_blob(stmt, 3, m->member_id.data, (int)m->member_id.len, SQLITE_STATIC);
    return s_step_done(self->db, stmt);
}

/*  Keeps the sign-up ev, whose phone member holder holds already, in
    member_duplicates as a duplicate of holder.  0 or DN_EDB.  */
static int s_duplicate_of(dn_store_t *self, const Dealernet__Event *ev,
                          const uint8_t holder[DN_ID_BYTES])
{
    sqlite3_stmt *stmt;

    if (dn_store_stmt(self,
                      "INSERT INTO member_duplicates(id, phone, name, referrer, household, "
                      "seq, recorded_at_ms, member_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                      &stmt))
        return DN_EDB;
    s_bind_signup(stmt, ev);
    sqlite3_bind_blob(stmt, 8, holder, DN_ID_BYTES, SQLITE_STATIC);
    return s_step_done(self->db, stmt);
}

int dn_store_project(dn_store_t *self, const Dealernet__Event *ev)
{
    switch (ev->body_case) {
    case DEALERNET__EVENT__BODY_SALE:
        return dn_store_sale_insert(self, ev);
    case DEALERNET__EVENT__BODY_REFUND:
        return dn_store_refund_insert(self, ev);
    case DEALERNET__EVENT__BODY_MEMBER_SIGNUP: {
        /* A phone already held here (a sign-up recorded on two PCs of the
           site): the later sign-up is kept whole as a duplicate of the
           member, as the canonical-phones migration keeps one.  */
        uint8_t holder[DN_ID_BYTES];
        int rc = dn_store_member_find(self, ev->member_signup->phone, holder);
        if (rc == DN_ENOENT)
            return dn_store_member_insert(self, ev);
        return rc ? rc : s_duplicate_of(self, ev, holder);
    }
    case DEALERNET__EVENT__BODY_MEMBER_UPDATE:
        return dn_store_member_update(self, ev);
    default:
        return DN_EDB; /* dn_wire_event_check refuses an event without a body */
    }
}

/* -- lookups ------------------------------------------------------------- */

int dn_store_sale_get(dn_store_t *self, const uint8_t id[DN_ID_BYTES],
                      dn_store_sale_t *sale)
{
    sqlite3_stmt *stmt;
    int rc = DN_ENOENT, step;
    if (dn_store_stmt(self, "SELECT total, refunded FROM sales WHERE id = ?", &stmt))
        return DN_EDB;
    sqlite3_bind_blob(stmt, 1, id, DN_ID_BYTES, SQLITE_STATIC);
    if ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        sale->total = sqlite3_column_int64(stmt, 0);
        sale->refunded = sqlite3_column_int64(stmt, 1);
        rc = 0;
    } else if (step != SQLITE_DONE) {
        rc = s_step_failed(self->db);
    }
    sqlite3_reset(stmt);
    return rc;
}

int dn_store_line_get(dn_store_t *self, const uint8_t sale_id[DN_ID_BYTES],
                      const char *sku, dn_store_line_t *line)
{
    sqlite3_stmt *stmt;
    int rc = DN_ENOENT, step;
    if (dn_store_stmt(self,
                      "SELECT quantity, refunded_qty, unit_price FROM sale_lines "
                      "WHERE sale_id = ? AND sku = ?",
                      &stmt))
        return DN_EDB;
    sqlite3_bind_blob(stmt, 1, sale_id, DN_ID_BYTES, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, sku, -1, SQLITE_STATIC);
    if ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        line->quantity = sqlite3_column_int64(stmt, 0);
        line->refunded_qty = sqlite3_column_int64(stmt, 1);
        line->unit_price = sqlite3_column_int64(stmt, 2);
        rc = 0;
    } else if (step != SQLITE_DONE) {
        rc = s_step_failed(self->db);
    }
    sqlite3_reset(stmt);
    return rc;
}

/*  The seq column of the row sql selects by one id: 0, DN_ENOENT or
    DN_EDB.  sql is a literal (dn_store_stmt caches by its address).  */
static int s_seq_by_id(dn_store_t *self, const char *sql, const uint8_t id[DN_ID_BYTES],
                       int64_t *seq)
{
    sqlite3_stmt *stmt;
    int rc = DN_ENOENT, step;
    if (dn_store_stmt(self, sql, &stmt))
        return DN_EDB;
    sqlite3_bind_blob(stmt, 1, id, DN_ID_BYTES, SQLITE_STATIC);
    if ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        *seq = sqlite3_column_int64(stmt, 0);
        rc = 0;
    } else if (step != SQLITE_DONE) {
        rc = s_step_failed(self->db);
    }
    sqlite3_reset(stmt);
    return rc;
}

int dn_store_sale_seq(dn_store_t *self, const uint8_t id[DN_ID_BYTES], int64_t *seq)
{
    return s_seq_by_id(self, "SELECT seq FROM sales WHERE id = ?", id, seq);
}

int dn_store_member_seq(dn_store_t *self, const uint8_t id[DN_ID_BYTES], int64_t *seq)
{
    return s_seq_by_id(self, "SELECT seq FROM members WHERE id = ?", id, seq);
}

int dn_store_event_seq(dn_store_t *self, const uint8_t id[DN_ID_BYTES], int64_t *seq)
{
    return s_seq_by_id(self, "SELECT seq FROM events WHERE id = ?", id, seq);
}

int dn_store_sale_at(dn_store_t *self, int64_t seq, uint8_t id[DN_ID_BYTES])
{
    sqlite3_stmt *stmt;
    int rc = DN_ENOENT, step;
    if (dn_store_stmt(self, "SELECT id FROM sales WHERE seq = ?", &stmt))
        return DN_EDB;
    sqlite3_bind_int64(stmt, 1, seq);
    if ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (sqlite3_column_bytes(stmt, 0) == DN_ID_BYTES) {
            memcpy(id, sqlite3_column_blob(stmt, 0), DN_ID_BYTES);
            rc = 0;
        } else {
            rc = DN_EDB; /* a damaged row: never taken for "no sale" */
        }
    } else if (step != SQLITE_DONE) {
        rc = s_step_failed(self->db);
    }
    sqlite3_reset(stmt);
    return rc;
}

int dn_store_next_receipt(dn_store_t *self, int64_t *receipt)
{
    sqlite3_stmt *stmt;
    int step;
    if (dn_store_stmt(self, "SELECT coalesce(max(receipt), 0) + 1 FROM sales", &stmt))
        return DN_EDB;
    if ((step = dn_db_row(stmt, "agent.db: next receipt")) == 1)
        *receipt = sqlite3_column_int64(stmt, 0);
    sqlite3_reset(stmt);
    return step == 1 ? 0 : DN_EDB;
}

/*  Up to DN_STORE_MATCHES_SHOWN sales a clerk's words matched, named in a
    refusal.  */
#define DN_STORE_MATCHES_SHOWN 5

/*  Runs stmt (bound) and keeps its first match's id; 0, DN_ENOENT,
    DN_EDUP (more than one: why names them, by id and receipt, the
    newest first as the statement orders them) or DN_EDB.  what names
    what the clerk typed, for the message.  */
static int s_one_sale(sqlite3_stmt *stmt, const char *what, uint8_t id[DN_ID_BYTES],
                      char *why, size_t why_size)
{
    char names[DN_STORE_MATCHES_SHOWN * (DN_ID_TEXT_SIZE + DN_RECEIPT_TEXT_SIZE + 16)] = "";
    int n = 0, step;
    while ((step = dn_db_row(stmt, "agent.db: find a sale")) == 1) {
        char text[DN_ID_TEXT_SIZE], receipt[DN_RECEIPT_TEXT_SIZE] = "-";
        size_t used = strlen(names);
        if (sqlite3_column_bytes(stmt, 0) != DN_ID_BYTES) {
            step = DN_EDB;
            break;
        }
        if (n++ == 0)
            memcpy(id, sqlite3_column_blob(stmt, 0), DN_ID_BYTES);
        if (n > DN_STORE_MATCHES_SHOWN)
            continue; /* counted, not named */
        dn_id_format(sqlite3_column_blob(stmt, 0), text);
        if (sqlite3_column_type(stmt, 1) != SQLITE_NULL)
            dn_receipt_format(sqlite3_column_int64(stmt, 1), receipt);
        snprintf(names + used, sizeof names - used, _("%s%s (receipt %s)"),
                 used ? ", " : "", text, receipt);
    }
    sqlite3_reset(stmt);
    if (step < 0)
        return DN_EDB;
    if (n == 0)
        return DN_ENOENT;
    if (n > 1)
        return dn_why(why, why_size, DN_EDUP,
                      n > DN_STORE_MATCHES_SHOWN
                          ? _("%s matches %d sales, the newest: %s; give more of the "
                              "sale's id")
                          : _("%s matches %d sales: %s; give more of the sale's id"),
                      what, n, names);
    return 0;
}

int dn_store_sale_find(dn_store_t *self, dn_store_sale_by_t by, const char *text,
                       uint8_t id[DN_ID_BYTES], char *why, size_t why_size)
{
    sqlite3_stmt *stmt;
    int rc;

    if (by == DN_STORE_SALE_LAST) {
        /* the last sale recorded here: the clerk's "that one, just now" */
        if (dn_store_stmt(self, "SELECT id, receipt FROM sales ORDER BY seq DESC LIMIT 1",
                          &stmt))
            return DN_EDB;
        rc = s_one_sale(stmt, "", id, why, why_size);
        if (rc == DN_ENOENT)
            dn_why(why, why_size, rc, "%s", _("no sale has been recorded here yet"));
        return rc;
    }
    if (by == DN_STORE_SALE_BY_RECEIPT) {
        int64_t receipt;
        char shown[DN_RECEIPT_TEXT_SIZE], label[DN_RECEIPT_TEXT_SIZE + 64];
        if (dn_parse_int(text, 1, DN_MAX_RECEIPT, &receipt))
            return dn_why(why, why_size, DN_EINVAL,
                          _("'%s' is not a receipt number (the number 'sale' printed, "
                            "like 42 or 0042)"),
                          text);
        dn_receipt_format(receipt, shown);
        snprintf(label, sizeof label, _("receipt %s"), shown);
        if (dn_store_stmt(self,
                          "SELECT id, receipt FROM sales WHERE receipt = ? "
                          "ORDER BY seq DESC",
                          &stmt))
            return DN_EDB;
        sqlite3_bind_int64(stmt, 1, receipt);
        rc = s_one_sale(stmt, label, id, why, why_size);
        /* DN_EDUP: two PCs of the site gave one number (dn_store.c's
           migration); the message names both sales */
        if (rc == DN_ENOENT)
            dn_why(why, why_size, rc, _("no sale with receipt %s at this site"), shown);
        return rc;
    }
    if (dn_id_parse(text, id) == 0) { /* a whole id: itself, if it is a sale here */
        if (dn_store_stmt(self, "SELECT id, receipt FROM sales WHERE id = ?", &stmt))
            return DN_EDB;
        sqlite3_bind_blob(stmt, 1, id, DN_ID_BYTES, SQLITE_STATIC);
        rc = s_one_sale(stmt, text, id, why, why_size);
    } else {
        /* a prefix: hex digits, dashes where the id has them ignored */
        char hex[2 * DN_ID_BYTES + 1];
        size_t n = 0;
        for (const char *p = text; *p; p++) {
            char c = *p;
            if (c == '-')
                continue;
            if (c >= 'a' && c <= 'f')
                c = (char)(c - 'a' + 'A');
            if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F')) || n == 2 * DN_ID_BYTES) {
                n = 0;
                break;
            }
            hex[n++] = c;
        }
        hex[n] = '\0';
        if (n < DN_STORE_ID_PREFIX_MIN)
            return dn_why(why, why_size, DN_EINVAL,
                          _("'%s' is not a sale id or its first %d hex digits or more (like "
                            "0190c2d4; 'sales' lists them), and --receipt N or --last "
                            "name a sale too"),
                          text, DN_STORE_ID_PREFIX_MIN);
        if (dn_store_stmt(self,
                          "SELECT id, receipt FROM sales WHERE substr(hex(id), 1, ?) = ? "
                          "ORDER BY seq DESC",
                          &stmt))
            return DN_EDB;
        sqlite3_bind_int(stmt, 1, (int)n);
        sqlite3_bind_text(stmt, 2, hex, -1, SQLITE_TRANSIENT);
        rc = s_one_sale(stmt, text, id, why, why_size);
    }
    if (rc == DN_ENOENT)
        dn_why(why, why_size, rc, _("no sale with id %s at this site ('sales' lists them)"),
               text);
    return rc;
}

int dn_store_member_find(dn_store_t *self, const char *phone, uint8_t id[DN_ID_BYTES])
{
    sqlite3_stmt *stmt;
    int rc = DN_ENOENT, step;
    if (dn_store_stmt(self, "SELECT id FROM members WHERE phone = ?", &stmt))
        return DN_EDB;
    sqlite3_bind_text(stmt, 1, phone, -1, SQLITE_STATIC);
    if ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        const void *blob = sqlite3_column_blob(stmt, 0);
        if (blob && sqlite3_column_bytes(stmt, 0) == DN_ID_BYTES) {
            memcpy(id, blob, DN_ID_BYTES);
            rc = 0;
        } else {
            rc = s_step_failed(self->db); /* out of memory, or a damaged row */
        }
    } else if (step != SQLITE_DONE) {
        rc = s_step_failed(self->db);
    }
    sqlite3_reset(stmt);
    return rc;
}

/* -- imports (dn_import) ------------------------------------------------- */

int dn_store_import_get(dn_store_t *self, const char *kind, const char *ref,
                        dn_store_import_t *row)
{
    sqlite3_stmt *stmt;
    int rc = DN_ENOENT, step;
    if (dn_store_stmt(self,
                      "SELECT digest, seq, imported_at_ms FROM imports "
                      "WHERE kind = ? AND ref = ?",
                      &stmt))
        return DN_EDB;
    sqlite3_bind_text(stmt, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, ref, -1, SQLITE_STATIC);
    step = dn_db_row(stmt, "imports: get");
    if (step < 0)
        rc = DN_EDB;
    else if (step == 1 && sqlite3_column_bytes(stmt, 0) != DN_HASH_BYTES)
        rc = DN_EDB; /* a damaged row: never taken for "not imported" */
    else if (step == 1) {
        memcpy(row->digest, sqlite3_column_blob(stmt, 0), DN_HASH_BYTES);
        row->seq = sqlite3_column_int64(stmt, 1);
        row->imported_at_ms = sqlite3_column_int64(stmt, 2);
        rc = 0;
    }
    sqlite3_reset(stmt);
    return rc;
}

int dn_store_import_put(dn_store_t *self, const char *kind, const char *ref,
                        const dn_store_import_t *row)
{
    sqlite3_stmt *stmt;
    int rc;
    if (dn_store_stmt(self,
                      "INSERT INTO imports(kind, ref, digest, seq, imported_at_ms) "
                      "VALUES (?, ?, ?, ?, ?)",
                      &stmt))
        return DN_EDB;
    sqlite3_bind_text(stmt, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, ref, -1, SQLITE_STATIC);
    sqlite3_bind_blob(stmt, 3, row->digest, DN_HASH_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 4, row->seq);
    sqlite3_bind_int64(stmt, 5, row->imported_at_ms);
    rc = dn_db_step_txn(self->db, stmt); /* never a write of its own */
    sqlite3_reset(stmt);
    return rc;
}

/* -- listings ------------------------------------------------------------ */

static json_t *s_time_json(int64_t unix_ms)
{
    char text[DN_TIME_TEXT_SIZE];
    dn_time_format(unix_ms, text);
    return json_string(text);
}

static json_t *s_sale_lines(dn_store_t *self, const void *sale_id)
{
    sqlite3_stmt *stmt;
    json_t *lines = json_array();
    int step;
    /* cached: a listing runs it once per sale */
    if (dn_store_stmt(self,
                      "SELECT sku, quantity, unit_price, category, refunded_qty "
                      "FROM sale_lines WHERE sale_id = ? ORDER BY line_no",
                      &stmt)) {
        json_decref(lines);
        return NULL;
    }
    sqlite3_bind_blob(stmt, 1, sale_id, DN_ID_BYTES, SQLITE_STATIC);
    while ((step = dn_db_row(stmt, "agent.db sale lines")) == 1) {
        int64_t price = sqlite3_column_int64(stmt, 2);
        json_array_append_new(
            lines, json_pack("{s:o, s:I, s:o, s:I, s:o, s:I}", "sku", s_text_json(stmt, 0),
                             "quantity", (json_int_t)sqlite3_column_int64(stmt, 1),
                             "unit_price", dn_store_money_json(self, price),
                             "unit_price_minor", (json_int_t)price, "category",
                             s_text_json(stmt, 3), "refunded_quantity",
                             (json_int_t)sqlite3_column_int64(stmt, 4)));
    }
    sqlite3_reset(stmt);
    return s_rows_end(lines, step);
}

/*  One sale of the current row of a statement selecting, in order: id,
    seq, recorded_at_ms, total, refunded, channel, seller, member_phone,
    receipt, payment.  A new object, or NULL (a damaged row, no memory).  */
static json_t *s_sale_row(dn_store_t *self, sqlite3_stmt *stmt)
{
    const void *id = sqlite3_column_blob(stmt, 0);
    int64_t total = sqlite3_column_int64(stmt, 3);
    int64_t refunded = sqlite3_column_int64(stmt, 4);
    json_t *lines, *receipt = json_null();
    if (sqlite3_column_bytes(stmt, 0) != DN_ID_BYTES || !(lines = s_sale_lines(self, id)))
        return NULL;
    if (sqlite3_column_type(stmt, 8) != SQLITE_NULL) {
        char text[DN_RECEIPT_TEXT_SIZE];
        dn_receipt_format(sqlite3_column_int64(stmt, 8), text);
        receipt = json_string(text);
    }
    return json_pack(
        "{s:o, s:o, s:I, s:o, s:o, s:I, s:o, s:I, s:s, s:s, s:o, s:o, s:o, s:o}", "id",
        s_id_json(id), "receipt", receipt, "seq", (json_int_t)sqlite3_column_int64(stmt, 1),
        "recorded_at", s_time_json(sqlite3_column_int64(stmt, 2)), "total",
        dn_store_money_json(self, total), "total_minor", (json_int_t)total, "refunded",
        dn_store_money_json(self, refunded), "refunded_minor", (json_int_t)refunded,
        "currency", self->info.currency, "channel",
        dn_wire_channel_name(sqlite3_column_int(stmt, 5)), "payment",
        json_string(sqlite3_column_type(stmt, 9) == SQLITE_NULL
                        ? dn_wire_payment_name(0)
                        : dn_wire_payment_name(sqlite3_column_int(stmt, 9))),
        "seller", s_text_json(stmt, 6), "member", s_text_json(stmt, 7), "lines", lines);
}

#define S_SALE_COLUMNS                                                                   \
    "SELECT id, seq, recorded_at_ms, total, refunded, channel, seller, member_phone, "   \
    "receipt, payment FROM sales "

int dn_store_sales_walk(dn_store_t *self, int64_t from_ms, int64_t to_ms, int newest_first,
                        int64_t limit, int (*fn)(json_t *sale, void *arg), void *arg)
{
    sqlite3_stmt *stmt;
    int rc = 0, step;
    if (dn_db_prepare(self->db,
                      newest_first ? S_SALE_COLUMNS
                          "WHERE recorded_at_ms >= ? AND recorded_at_ms < ? "
                          "ORDER BY recorded_at_ms DESC, seq DESC LIMIT ?"
                                   : S_SALE_COLUMNS
                          "WHERE recorded_at_ms >= ? AND recorded_at_ms < ? "
                          "ORDER BY seq LIMIT ?",
                      &stmt))
        return DN_EDB;
    sqlite3_bind_int64(stmt, 1, from_ms);
    sqlite3_bind_int64(stmt, 2, to_ms);
    sqlite3_bind_int64(stmt, 3, limit < 0 ? -1 : limit);
    while (rc == 0 && (step = dn_db_row(stmt, "agent.db sales")) == 1) {
        json_t *sale = s_sale_row(self, stmt);
        rc = sale ? fn(sale, arg) : DN_EDB;
    }
    if (rc == 0 && step < 0)
        rc = DN_EDB;
    sqlite3_finalize(stmt);
    return rc;
}

json_t *dn_store_sale_show(dn_store_t *self, const uint8_t id[DN_ID_BYTES])
{
    sqlite3_stmt *stmt;
    json_t *sale = NULL;
    int step;
    if (dn_db_prepare(self->db, S_SALE_COLUMNS "WHERE id = ?", &stmt))
        return NULL;
    sqlite3_bind_blob(stmt, 1, id, DN_ID_BYTES, SQLITE_STATIC);
    if ((step = dn_db_row(stmt, "agent.db sale")) == 1)
        sale = s_sale_row(self, stmt);
    sqlite3_finalize(stmt);
    return sale;
}

static int s_append_sale(json_t *sale, void *arg)
{
    return json_array_append_new(arg, sale) ? DN_ENOMEM : 0;
}

json_t *dn_store_sales_list(dn_store_t *self)
{
    json_t *list = json_array();
    if (!list || dn_store_sales_walk(self, INT64_MIN, INT64_MAX, 0, -1, s_append_sale, list)) {
        json_decref(list);
        return NULL;
    }
    return list;
}

/*  The members a statement selects (id, phone, name, referrer, household,
    seq, recorded_at_ms), at most limit (-1: all); *more (if not NULL)
    counts the rows past it.  Finalizes stmt.  */
static json_t *s_members(sqlite3_stmt *stmt, int64_t limit, int64_t *more)
{
    json_t *list = json_array();
    int64_t n = 0;
    int step;
    while ((step = dn_db_row(stmt, "agent.db members")) == 1) {
        json_t *household;
        if (limit >= 0 && n++ >= limit) {
            if (more)
                (*more)++;
            continue;
        }
        household = sqlite3_column_type(stmt, 4) == SQLITE_NULL
                        ? json_null()
                        : json_integer(sqlite3_column_int(stmt, 4));
        json_array_append_new(
            list, json_pack("{s:o, s:o, s:o, s:o, s:o, s:I, s:o}", "id",
                            s_id_json(sqlite3_column_blob(stmt, 0)), "phone",
                            s_text_json(stmt, 1), "name", s_text_json(stmt, 2), "referrer",
                            s_text_json(stmt, 3), "household", household, "seq",
                            (json_int_t)sqlite3_column_int64(stmt, 5), "recorded_at",
                            s_time_json(sqlite3_column_int64(stmt, 6))));
    }
    sqlite3_finalize(stmt);
    return s_rows_end(list, step);
}

#define S_MEMBER_COLUMNS                                                                 \
    "SELECT id, phone, name, referrer, household, seq, recorded_at_ms FROM members "

json_t *dn_store_members_list(dn_store_t *self)
{
    sqlite3_stmt *stmt;
    if (dn_db_prepare(self->db, S_MEMBER_COLUMNS "ORDER BY seq", &stmt))
        return NULL;
    return s_members(stmt, -1, NULL);
}

json_t *dn_store_members_find(dn_store_t *self, const char *phone_prefix,
                              const char *name_part, int64_t limit, int64_t *more)
{
    char upper[DN_PHONE_SIZE + 8];
    sqlite3_stmt *stmt;
    *more = 0;
    /* phones are digits after '+': the phones beginning with the prefix
       sort from it up to it followed by ':' (the character after '9'),
       a range the phone's UNIQUE index answers */
    snprintf(upper, sizeof upper, "%s:", phone_prefix ? phone_prefix : "");
    if (dn_db_prepare(self->db,
                      S_MEMBER_COLUMNS
                      "WHERE (?1 IS NOT NULL AND phone >= ?1 AND phone < ?2) "
                      "OR (?3 IS NOT NULL AND instr(lower(name), lower(?3)) > 0) "
                      "ORDER BY seq DESC",
                      &stmt))
        return NULL;
    if (phone_prefix)
        sqlite3_bind_text(stmt, 1, phone_prefix, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, upper, -1, SQLITE_STATIC);
    if (name_part)
        sqlite3_bind_text(stmt, 3, name_part, -1, SQLITE_STATIC);
    return s_members(stmt, limit, more);
}

json_t *dn_store_status(dn_store_t *self)
{
    sqlite3_stmt *stmt;
    json_t *status;
    int64_t events = 0, pending = 0, head_seq = 0;
    char head[2 * DN_HASH_BYTES + 1] = "";
    int step;

    if (dn_db_prepare(self->db,
                      "SELECT count(*), coalesce(sum(synced = 0), 0), "
                      "(SELECT seq FROM events ORDER BY seq DESC LIMIT 1), "
                      "(SELECT hash FROM events ORDER BY seq DESC LIMIT 1) FROM events",
                      &stmt))
        return NULL;
    if ((step = dn_db_row(stmt, "agent.db status")) == 1) {
        events = sqlite3_column_int64(stmt, 0);
        pending = sqlite3_column_int64(stmt, 1);
        head_seq = sqlite3_column_int64(stmt, 2);
        if (sqlite3_column_bytes(stmt, 3) == DN_HASH_BYTES)
            dn_hex_encode(sqlite3_column_blob(stmt, 3), DN_HASH_BYTES, head);
    }
    sqlite3_finalize(stmt);
    if (step < 0)
        return NULL;
    if (events == 0) { /* a new PC of a site begun elsewhere: where it continues */
        uint8_t base[DN_HASH_BYTES];
        if (dn_store_chain_base(self, &head_seq, base))
            return NULL;
        if (head_seq)
            dn_hex_encode(base, DN_HASH_BYTES, head);
    }
    status = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:s}", "site", self->info.site,
                       "partner", self->info.partner, "currency", self->info.currency,
                       "events", (json_int_t)events, "pending", (json_int_t)pending,
                       "head_seq", (json_int_t)head_seq, "head_hash", head);
    if (status) {
        char value[512];
        snprintf(value, sizeof value, "+%d", self->info.country);
        json_object_set_new(status, "country",
                            self->info.country ? json_string(value) : json_null());
        json_object_set_new(status, "server",
                            dn_db_meta_get(self->db, DN_STORE_META_ENDPOINT, value, sizeof value)
                                ? json_null()
                                : json_string(value));
        json_object_set_new(status, "initialised_partner",
                            dn_db_meta_get(self->db, DN_STORE_META_INIT_PARTNER, value, sizeof value)
                                ? json_null()
                                : json_string(value));
        json_object_set_new(status, "clock_skew_ms",
                            dn_db_meta_get(self->db, DN_STORE_META_SKEW, value, sizeof value)
                                ? json_null()
                                : json_integer(strtoll(value, NULL, 10)));
        json_object_set_new(status, "last_sync",
                            dn_db_meta_get(self->db, DN_STORE_META_LAST_SYNC, value, sizeof value)
                                ? json_null()
                                : s_time_json(strtoll(value, NULL, 10)));
        if (dn_db_meta_get(self->db, DN_STORE_META_LAST_ERROR, value, sizeof value) == 0 && value[0]) {
            json_object_set_new(status, "last_error", json_string(value));
            json_object_set_new(status, "last_error_at",
                                dn_db_meta_get(self->db, DN_STORE_META_LAST_ERROR_MS, value, sizeof value)
                                    ? json_null()
                                    : s_time_json(strtoll(value, NULL, 10)));
        } else {
            json_object_set_new(status, "last_error", json_null());
            json_object_set_new(status, "last_error_at", json_null());
        }
    }
    return status;
}

/* -- purchases, for reminders -------------------------------------------- */

int dn_store_member_purchases(dn_store_t *self,
                              int (*fn)(const dn_store_purchase_t *purchase, void *arg),
                              void *arg)
{
    sqlite3_stmt *stmt;
    int rc = 0, step = 0;

    if (dn_db_prepare(self->db,
                      "SELECT s.member_phone, m.name, m.household, l.sku, l.category, "
                      "s.recorded_at_ms, l.quantity, l.refunded_qty, "
                      "s.total > 0 AND s.refunded >= s.total "
                      "FROM sales s JOIN sale_lines l ON l.sale_id = s.id "
                      "LEFT JOIN members m ON m.phone = s.member_phone "
                      "WHERE s.member_phone IS NOT NULL "
                      "ORDER BY s.member_phone, l.sku, s.recorded_at_ms, s.seq",
                      &stmt))
        return DN_EDB;
    while (rc == 0 && (step = dn_db_row(stmt, "agent.db: purchases")) == 1) {
        dn_store_purchase_t p;
        p.phone = (const char *)sqlite3_column_text(stmt, 0);
        p.name = (const char *)sqlite3_column_text(stmt, 1);
        p.has_household = sqlite3_column_type(stmt, 2) != SQLITE_NULL;
        p.household = sqlite3_column_int64(stmt, 2);
        p.sku = (const char *)sqlite3_column_text(stmt, 3);
        p.category = (const char *)sqlite3_column_text(stmt, 4);
        p.recorded_at_ms = sqlite3_column_int64(stmt, 5);
        p.quantity = sqlite3_column_int64(stmt, 6);
        p.refunded_qty = sqlite3_column_int64(stmt, 7);
        p.sale_refunded = sqlite3_column_int(stmt, 8) != 0;
        if (!p.phone || !p.sku) {
            rc = DN_EDB; /* NOT NULL columns: the file is damaged */
            break;
        }
        rc = fn(&p, arg);
    }
    if (rc == 0 && step < 0)
        rc = DN_EDB;
    sqlite3_finalize(stmt);
    return rc;
}
