/*  dn_central -- the central.db schema and settings (see dn_central.h).  */
#include "dn_central.h"
#include "dn_crypto.h"
#include "dn_curve.h"
#include "dn_db.h"
#include "dn_error.h"
#include "dn_log.h"
#include "dn_money.h"
#include "dn_phones.h"
#include "dn_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/*  The sizes the schema checks, as SQL text.  They are the wire format's
    and never change, so a released migration's text stays what it was.  */
#define S_HASH     DN_STR(DN_HASH_BYTES)      /* SHA-256 of an event, a transfer */
#define S_KEY      DN_STR(DN_CURVE_KEY_BYTES) /* a CURVE public key */
#define S_SIGN_KEY DN_STR(DN_PUBKEY_BYTES)    /* an Ed25519 public key */

/*  transfers.code's CHECK as a chain of = instead of IN (...) (migration
    24, issue 17): the same constraint -- code is NOT NULL, and on any text
    the chain and the list agree -- but SQLite 3.40 builds an ephemeral
    table for the IN list of a CHECK at every row it checks, which was 15 %
    of the instructions of posting a transfer.  SQLite cannot alter a
    CHECK.  Rewriting the table would copy the whole ledger; instead this
    is SQLite's documented procedure for changing a table's constraints
    without touching its rows (lang_altertable.html, "Making Other Kinds Of
    Table Schema Changes"): in the migration's transaction, the table's
    text in sqlite_schema is edited under writable_schema and
    schema_version is incremented, so that every connection parses the
    schema again.  No stored byte changes, and every row satisfies the new
    text as it did the old.  The old text must be there exactly once (or
    the new one already); otherwise, or if SQLite refuses the edit,
    nothing is changed and a warning says so: only speed is at stake.  */
#define S_CODE_IN                                                                       \
    "code IN ('commission', 'referral', 'override',     'clawback', 'payout', "        \
    "'adjustment')"
#define S_CODE_EQ                                                                       \
    "code = 'commission' OR code = 'referral' OR code = 'override' OR "                \
    "code = 'clawback' OR code = 'payout' OR code = 'adjustment'"

/*  1 if transfers' CHECK of code is the chain already (a file rewritten
    before, then taken back to an earlier user_version by hand).  */
static int s_transfers_code_eq(sqlite3 *db)
{
    sqlite3_stmt *stmt;
    int64_t found = 0;
    if (dn_db_prepare(db,
                      "SELECT count(*) FROM sqlite_schema WHERE type = 'table' "
                      "AND name = 'transfers' AND instr(sql, ?) > 0",
                      &stmt))
        return 0;
    sqlite3_bind_text(stmt, 1, S_CODE_EQ, -1, SQLITE_STATIC);
    return dn_db_int_row(stmt, "central.db: transfers' CHECK", &found) == 1 && found == 1;
}

static int s_transfers_code_check(sqlite3 *db)
{
    sqlite3_stmt *stmt;
    int64_t version = 0;
    char pragma[64];
    int rc, changed = 0;

    if (dn_db_prepare(db, "PRAGMA schema_version", &stmt) ||
        dn_db_int_row(stmt, "central.db: the schema's version", &version) != 1)
        return DN_EDB;
    rc = dn_db_exec(db, "PRAGMA writable_schema = ON");
    if (rc == 0)
        rc = dn_db_prepare(db,
                           "UPDATE sqlite_schema SET sql = replace(sql, ?1, ?2) "
                           "WHERE type = 'table' AND name = 'transfers' "
                           "AND instr(sql, ?1) > 0 "
                           "AND instr(substr(sql, instr(sql, ?1) + 1), ?1) = 0",
                           &stmt);
    if (rc == 0) {
        sqlite3_bind_text(stmt, 1, S_CODE_IN, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 2, S_CODE_EQ, -1, SQLITE_STATIC);
        rc = dn_db_step_txn(db, stmt);
        sqlite3_finalize(stmt);
        changed = rc == 0 && sqlite3_changes(db) == 1;
    }
    snprintf(pragma, sizeof pragma, "PRAGMA schema_version = %lld", (long long)version + 1);
    if (changed && dn_db_exec(db, pragma)) {
        dn_db_exec(db, "PRAGMA writable_schema = OFF");
        return DN_EDB; /* the edit without its version: the migration rolls back */
    }
    dn_db_exec(db, "PRAGMA writable_schema = OFF");
    /* Only speed is at stake: a SQLite that refuses the edit (a build in
       defensive mode), or a CHECK written otherwise, keeps its CHECK.  */
    if (!changed && !s_transfers_code_eq(db))
        dn_log_warn("central.db: transfers' CHECK of code was left as it is (%s): "
                    "posting is slower, nothing else changes",
                    rc ? "SQLite refused to edit the schema" : "not the text expected");
    return 0;
}

static const dn_migration_t s_migrations[] = {
    {.sql = /* Settings: endpoints, server key file names.  */
     "CREATE TABLE meta ("
     "  key TEXT PRIMARY KEY,"
     "  value TEXT NOT NULL"
     ") WITHOUT ROWID;"
     /* The commercial tree.  The upline is effective-dated in partner_links:
        a partner's parent at time T is the link with the greatest
        effective_ms <= T.  The first link is effective from 0 (always).  */
     "CREATE TABLE partners ("
     "  id INTEGER PRIMARY KEY,"
     "  code TEXT NOT NULL UNIQUE,"
     "  name TEXT NOT NULL,"
     "  kind TEXT NOT NULL"
     "    CHECK (kind IN ('hq', 'region', 'distributor', 'dealer', 'reseller')),"
     "  created_ms INTEGER NOT NULL"
     ");"
     "CREATE TABLE partner_links ("
     "  partner_id INTEGER NOT NULL REFERENCES partners(id),"
     "  parent_id INTEGER REFERENCES partners(id),"
     "  effective_ms INTEGER NOT NULL,"
     "  PRIMARY KEY (partner_id, effective_ms)"
     ") WITHOUT ROWID;"
     /* HQ administrators' CURVE public keys.  */
     "CREATE TABLE admins ("
     "  curve_key BLOB PRIMARY KEY CHECK (length(curve_key) = " S_KEY "),"
     "  name TEXT NOT NULL UNIQUE,"
     "  created_ms INTEGER NOT NULL"
     ") WITHOUT ROWID;"
     /* Sites.  Identity columns (curve_key, sign_key, enrolled_ms,
        revoked_ms) belong to dn_registry; sync columns (applied_seq,
        head_hash, last_seen_ms ...) to dn_ingest.  */
     "CREATE TABLE sites ("
     "  id INTEGER PRIMARY KEY,"
     "  code TEXT NOT NULL UNIQUE,"
     "  partner_id INTEGER NOT NULL REFERENCES partners(id),"
     "  created_ms INTEGER NOT NULL,"
     "  curve_key BLOB UNIQUE CHECK (curve_key IS NULL OR length(curve_key) = " S_KEY "),"
     "  sign_key BLOB CHECK (sign_key IS NULL OR length(sign_key) = " S_SIGN_KEY "),"
     "  enrolled_ms INTEGER,"
     "  revoked_ms INTEGER,"
     "  applied_seq INTEGER NOT NULL DEFAULT 0,"
     "  head_hash BLOB NOT NULL DEFAULT (zeroblob(" S_HASH ")),"
     "  last_seen_ms INTEGER,"
     "  clock_skew_ms INTEGER,"
     "  reported_pending INTEGER," /* as of the last Hello, less what came since */
     "  oldest_pending_ms INTEGER,"
     "  gap_expected_seq INTEGER,"
     "  agent_version TEXT"
     ");"
     /* Enrollment tokens, stored only as SHA-256 hashes; single use.  */
     "CREATE TABLE tokens ("
     "  hash BLOB PRIMARY KEY CHECK (length(hash) = " S_HASH "),"
     "  site_id INTEGER NOT NULL REFERENCES sites(id),"
     "  created_ms INTEGER NOT NULL,"
     "  expires_ms INTEGER NOT NULL,"
     "  used_ms INTEGER"
     ") WITHOUT ROWID;"
     /* Every event as received: the exact bytes the site hashed and
        signed.  signature is the batch signature, kept on the last event
        of each batch (a checkpoint of the chain head).  */
     "CREATE TABLE events ("
     "  eid INTEGER PRIMARY KEY,"
     "  id BLOB NOT NULL UNIQUE CHECK (length(id) = 16),"
     "  site_id INTEGER NOT NULL REFERENCES sites(id),"
     "  seq INTEGER NOT NULL CHECK (seq >= 1),"
     "  kind TEXT NOT NULL,"
     "  recorded_at_ms INTEGER NOT NULL,"
     "  received_ms INTEGER NOT NULL,"
     "  body BLOB NOT NULL,"
     "  hash BLOB NOT NULL CHECK (length(hash) = " S_HASH "),"
     "  signature BLOB CHECK (signature IS NULL OR length(signature) = 64),"
     "  UNIQUE (site_id, seq)"
     ");"
     /* Decoded rows of the events.  */
     "CREATE TABLE sales ("
     "  eid INTEGER PRIMARY KEY REFERENCES events(eid),"
     "  site_id INTEGER NOT NULL REFERENCES sites(id),"
     "  recorded_at_ms INTEGER NOT NULL,"
     "  total INTEGER NOT NULL CHECK (total >= 0),"
     "  refunded INTEGER NOT NULL DEFAULT 0 CHECK (refunded BETWEEN 0 AND total),"
     "  currency TEXT NOT NULL,"
     "  channel INTEGER NOT NULL,"
     "  seller TEXT NOT NULL,"
     "  member_phone TEXT"
     ");"
     "CREATE INDEX sales_site ON sales(site_id, recorded_at_ms);"
     "CREATE TABLE sale_lines ("
     "  sale_eid INTEGER NOT NULL REFERENCES sales(eid),"
     "  line_no INTEGER NOT NULL,"
     "  sku TEXT NOT NULL,"
     "  quantity INTEGER NOT NULL CHECK (quantity >= 1),"
     "  unit_price INTEGER NOT NULL CHECK (unit_price >= 0),"
     "  category TEXT,"
     "  refunded_qty INTEGER NOT NULL DEFAULT 0 CHECK (refunded_qty BETWEEN 0 AND "
     "quantity),"
     "  PRIMARY KEY (sale_eid, line_no)"
     ") WITHOUT ROWID;"
     "CREATE TABLE refunds ("
     "  eid INTEGER PRIMARY KEY REFERENCES events(eid),"
     "  sale_eid INTEGER NOT NULL REFERENCES sales(eid),"
     "  amount INTEGER NOT NULL CHECK (amount > 0)"
     ");"
     /* One member per normalised phone: the first sign-up to reach the
        server wins (and with it the referrer).  */
     "CREATE TABLE members ("
     "  id INTEGER PRIMARY KEY,"
     "  phone TEXT NOT NULL UNIQUE,"
     "  member_id BLOB NOT NULL CHECK (length(member_id) = 16),"
     "  site_id INTEGER NOT NULL REFERENCES sites(id),"
     "  signup_eid INTEGER NOT NULL REFERENCES events(eid),"
     "  name TEXT,"
     "  referrer_phone TEXT,"
     "  referrer_partner TEXT,"
     "  household INTEGER,"
     "  signed_up_ms INTEGER NOT NULL"
     ");"
     /* Later sign-ups of a phone already known: kept, and listed for HQ.  */
     "CREATE TABLE member_conflicts ("
     "  eid INTEGER PRIMARY KEY REFERENCES events(eid),"
     "  member INTEGER NOT NULL REFERENCES members(id),"
     "  member_id BLOB NOT NULL,"
     "  site_id INTEGER NOT NULL REFERENCES sites(id),"
     "  referrer TEXT,"
     "  recorded_at_ms INTEGER NOT NULL"
     ");"},
    {.sql = /* The ledger (issue "Partner-hierarchy commission and referral ledger").
        A partner's recruiter earns the recruit override; joined_ms starts
        its override window.  Suspension is effective-dated like the tree:
        the status at time T is the row with the greatest effective_ms <= T
        (no row: active).  */
     "ALTER TABLE partners ADD COLUMN recruiter_id INTEGER REFERENCES partners(id);"
     "ALTER TABLE partners ADD COLUMN joined_ms INTEGER;"
     "UPDATE partners SET joined_ms = created_ms;"
     "CREATE TABLE partner_status ("
     "  partner_id INTEGER NOT NULL REFERENCES partners(id),"
     "  effective_ms INTEGER NOT NULL,"
     "  status TEXT NOT NULL CHECK (status IN ('active', 'suspended')),"
     "  PRIMARY KEY (partner_id, effective_ms)"
     ") WITHOUT ROWID;"
     /* Plan versions: the one in force at T has the greatest effective_ms
        <= T.  Amounts in minor units of the plan's currency.  */
     "CREATE TABLE plans ("
     "  id INTEGER PRIMARY KEY,"
     "  effective_ms INTEGER NOT NULL UNIQUE,"
     "  currency TEXT NOT NULL,"
     "  cap_bps INTEGER NOT NULL CHECK (cap_bps BETWEEN 0 AND 10000),"
     "  first_purchase_bonus INTEGER NOT NULL CHECK (first_purchase_bonus >= 0),"
     "  purchase_bps INTEGER NOT NULL CHECK (purchase_bps BETWEEN 0 AND 10000),"
     "  purchase_days INTEGER NOT NULL CHECK (purchase_days >= 0),"
     "  recruit_override_bps INTEGER NOT NULL CHECK (recruit_override_bps BETWEEN 0 AND "
     "10000),"
     "  recruit_override_days INTEGER NOT NULL CHECK (recruit_override_days >= 0),"
     "  source TEXT NOT NULL,"
     "  created_ms INTEGER NOT NULL"
     ");"
     "CREATE TABLE plan_rates ("
     "  plan_id INTEGER NOT NULL REFERENCES plans(id),"
     "  category TEXT NOT NULL," /* '' for [levels] */
     "  level INTEGER NOT NULL CHECK (level BETWEEN 0 AND 9),"
     "  bps INTEGER NOT NULL CHECK (bps BETWEEN 0 AND 10000),"
     "  PRIMARY KEY (plan_id, category, level)"
     ") WITHOUT ROWID;"
     /* Accounts, named "partner:CODE", "member:PHONE", "hq:commission",
        "hq:referral", "hq:payout".  balance = credits - debits, kept in the
        transaction that posts each transfer.  */
     "CREATE TABLE accounts ("
     "  id INTEGER PRIMARY KEY,"
     "  name TEXT NOT NULL UNIQUE,"
     "  kind TEXT NOT NULL"
     "    CHECK (kind IN ('partner', 'member', 'hq_commission', 'hq_referral', "
     "'payout')),"
     "  partner_id INTEGER REFERENCES partners(id),"
     "  phone TEXT,"
     "  balance INTEGER NOT NULL DEFAULT 0"
     ");"
     /* Append-only double-entry transfers, hash-chained in id order.  */
     "CREATE TABLE transfers ("
     "  id INTEGER PRIMARY KEY,"
     "  debit INTEGER NOT NULL REFERENCES accounts(id),"
     "  credit INTEGER NOT NULL REFERENCES accounts(id),"
     "  amount INTEGER NOT NULL CHECK (amount > 0),"
     "  code TEXT NOT NULL CHECK (code IN ('commission', 'referral', 'override', "
     "    'clawback', 'payout', 'adjustment')),"
     "  source_eid INTEGER REFERENCES events(eid)," /* the sale or refund event */
     "  sale_eid INTEGER REFERENCES sales(eid),"    /* the sale it derives from */
     "  reverses INTEGER REFERENCES transfers(id)," /* a clawback's original */
     "  level INTEGER,"
     "  rate_bps INTEGER,"
     "  category TEXT,"
     "  bonus INTEGER NOT NULL DEFAULT 0," /* 1: a first-purchase bonus */
     "  period TEXT NOT NULL,"             /* YYYY-MM posted into */
     "  event_period TEXT,"                /* YYYY-MM of a late event */
     "  ref TEXT,"                         /* payout reference */
     "  created_ms INTEGER NOT NULL,"
     "  prev_hash BLOB NOT NULL CHECK (length(prev_hash) = " S_HASH "),"
     "  hash BLOB NOT NULL CHECK (length(hash) = " S_HASH ")"
     ");"
     /* Indexes whose keys grow with time, so that posting appends to them
        instead of dirtying pages all over (an index by account would):
        statements scan their period, verify aggregates in one pass.  */
     "CREATE INDEX transfers_sale ON transfers(sale_eid);"
     "CREATE INDEX transfers_period ON transfers(period);"
     "CREATE TRIGGER transfers_no_update BEFORE UPDATE ON transfers "
     "  BEGIN SELECT RAISE(ABORT, 'transfers are append-only'); END;"
     "CREATE TRIGGER transfers_no_delete BEFORE DELETE ON transfers "
     "  BEGIN SELECT RAISE(ABORT, 'transfers are append-only'); END;"
     /* Closed months: nothing is ever posted into them again.  */
     "CREATE TABLE periods ("
     "  period TEXT PRIMARY KEY,"
     "  closed_ms INTEGER NOT NULL,"
     "  closed_by TEXT NOT NULL"
     ") WITHOUT ROWID;"
     "CREATE INDEX sales_member ON sales(member_phone, eid);"},
    {.sql = /* Reports (issue "Headquarters reports"), owned by dn_report.  Team
        volume per partner, month and currency: every stored sale adds to
        its seller and every partner above it as the tree stood at the
        sale's time, in the sale's month; every refund subtracts from the
        same partners in the refund's month.  Kept at ingest, in the
        transaction that stores the event, so that a team's volume is one
        indexed read however large the tree.  */
     "CREATE TABLE team_volume ("
     "  partner_id INTEGER NOT NULL REFERENCES partners(id),"
     "  period TEXT NOT NULL," /* YYYY-MM */
     "  currency TEXT NOT NULL,"
     "  sales INTEGER NOT NULL DEFAULT 0,"
     "  total INTEGER NOT NULL DEFAULT 0,"
     "  refunds INTEGER NOT NULL DEFAULT 0,"
     "  refunded INTEGER NOT NULL DEFAULT 0,"
     "  PRIMARY KEY (period, partner_id, currency)"
     ") WITHOUT ROWID;"
     /* Month first, so that a batch's updates land in the current month's
        pages instead of all over the table; a partner's months are found
        through the index, which a new row touches once per month.  */
     "CREATE INDEX team_volume_partner ON team_volume(partner_id, period);"
     /* Each refund split over its sale's categories ('' for lines without
        one): the lines it names, the rest of its amount in proportion to
        what is left in each category.  */
     "CREATE TABLE refund_categories ("
     "  sale_eid INTEGER NOT NULL REFERENCES sales(eid),"
     "  refund_eid INTEGER NOT NULL REFERENCES refunds(eid),"
     "  category TEXT NOT NULL,"
     "  amount INTEGER NOT NULL CHECK (amount > 0),"
     "  PRIMARY KEY (sale_eid, refund_eid, category)"
     ") WITHOUT ROWID;"
     /* Reports bounded by dates, and referral trees.  */
     "CREATE INDEX sales_time ON sales(recorded_at_ms);"
     "CREATE INDEX members_referrer ON members(referrer_phone);"
     /* Events stored before this migration are rolled up by
        the server at start (dn_rollup_complete), which runs
        dn_rollup_rebuild once.  */
     "INSERT INTO meta(key, value) SELECT '" DN_META_ROLLUP_REBUILD "', '1' "
     "  WHERE EXISTS (SELECT 1 FROM events);"},
    {.sql = /* The server owns the facts (dn_facts).  events.recorded_at_ms is
        from now on the time the server posts an event at; what the site's
        clock said stays in the signed body and, when it differs, in
        site_clock_ms.  A site's claims that the server will not post
        (held) or that HQ should see (flagged) are exceptions, resolved by
        HQ.  A referral HQ accepted late pays on sales after referral_eid
        only.  The network has one currency (meta 'currency', set at init;
        an older file takes its newest plan's, else CNY).  */
     "ALTER TABLE events ADD COLUMN site_clock_ms INTEGER;"
     "ALTER TABLE sites ADD COLUMN agent_partner TEXT;"
     /* A site's soft threshold for one sale (minor units; NULL: the
        network's), owned by dn_facts like agent_partner.  */
     "ALTER TABLE sites ADD COLUMN large_sale INTEGER;"
     "ALTER TABLE members ADD COLUMN referral_eid INTEGER NOT NULL DEFAULT 0;"
     /* 1 while a sale is held (dn_facts): reports and HQ's guards leave it
        out, as the ledger does.  */
     "ALTER TABLE sales ADD COLUMN held INTEGER NOT NULL DEFAULT 0;"
     "CREATE TABLE exceptions ("
     "  id INTEGER PRIMARY KEY,"
     "  site_id INTEGER NOT NULL REFERENCES sites(id),"
     "  eid INTEGER REFERENCES events(eid)," /* NULL: about the site itself */
     "  kind TEXT NOT NULL,"
     "  held INTEGER NOT NULL CHECK (held IN (0, 1)),"
     "  detail TEXT NOT NULL,"
     "  created_ms INTEGER NOT NULL,"
     "  resolved_ms INTEGER,"
     "  resolved_by TEXT,"
     "  resolution TEXT," /* 'posted', 'dismissed', 'acknowledged', 'accepted' */
     "  reason TEXT"
     ");"
     "CREATE INDEX exceptions_eid ON exceptions(eid);"
     "CREATE INDEX exceptions_open ON exceptions(resolved_ms, id);"
     "INSERT OR IGNORE INTO meta(key, value) VALUES ('" DN_META_CURRENCY "', coalesce("
     "  (SELECT currency FROM plans ORDER BY effective_ms DESC LIMIT 1), 'CNY'));"},
    {.sql = /* Bounds (issue 10, item 1: money that cannot overflow or turn into
        floats), owned by dn_ingest (sales.held) and dn_ledger
        (money_totals).
        A sale the server stores but will not post is held (dn_facts:
        sales.held, and an exception naming why: 'over_limit', over the
        network's bound on one sale; 'sum_limit', it would take a running
        total over DN_MONEY_SUM_MAX).  */
     /* The running totals, in one row, moved in the transaction that
        posts: sales = the totals of every posted (not held) sale;
        transfers = what the transfers may move at most: twice every
        commission, referral and override (the transfer, and the clawbacks
        that may later reverse it, which add nothing here), once every
        other transfer (payout, adjustment).  Every aggregate the server
        keeps is a sum of a subset of one of them; the CHECKs keep both
        within DN_MONEY_SUM_MAX (10^18).  A database from before this
        version starts from what it holds.  */
     "CREATE TABLE money_totals ("
     "  id INTEGER PRIMARY KEY CHECK (id = 1),"
     "  sales INTEGER NOT NULL CHECK (typeof(sales) = 'integer' AND "
     "    sales BETWEEN 0 AND 1000000000000000000),"
     "  transfers INTEGER NOT NULL CHECK (typeof(transfers) = 'integer' AND "
     "    transfers BETWEEN 0 AND 1000000000000000000)"
     ");"
     "INSERT INTO money_totals(id, sales, transfers) VALUES (1, "
     "  (SELECT coalesce(sum(total), 0) FROM sales), "
     "  (SELECT coalesce(sum(CASE WHEN code IN ('commission', 'referral', 'override') "
     "     THEN 2 * amount WHEN code = 'clawback' THEN 0 ELSE amount END), 0) "
     "   FROM transfers));"
     /* Every money column refuses what is not an integer: SQLite stores
        the result of an integer + that overflows as a REAL, and a REAL
        that is not a whole int64 keeps REAL affinity.  BEFORE triggers
        rather than CHECKs: SQLite cannot add a CHECK to an existing
        table, and rebuilding eight tables (two WITHOUT ROWID, their
        indexes and triggers) in a migration would copy the whole ledger
        and collide with every other migration that alters them.  A
        trigger sees NEW after column affinity ('12' is already 12).
        (transfers need no UPDATE trigger: transfers_no_update refuses
        every update.)  A trigger runs a program for every row: the three
        rows written for every event on the ingest path (sales, sale_lines,
        transfers) get none on INSERT, which cost 40 % of ingest: their
        money is bound from C int64s (dn_ingest, dn_ledger), which SQLite
        stores only as INTEGER, and verify reports a transfer amount or a
        posted sale's total that is not one.  Every UPDATE, where SQL does
        the arithmetic (balance + ?, refunded + ?), is checked.  */
     "CREATE TRIGGER accounts_integer_insert BEFORE INSERT ON accounts "
     "  WHEN typeof(NEW.balance) <> 'integer' "
     "  BEGIN SELECT RAISE(ABORT, "
     "    'accounts.balance must be an integer (minor units)'); END;"
     "CREATE TRIGGER accounts_integer_update BEFORE UPDATE OF balance ON accounts "
     "  WHEN typeof(NEW.balance) <> 'integer' "
     "  BEGIN SELECT RAISE(ABORT, "
     "    'accounts.balance must be an integer (minor units)'); END;"
     "CREATE TRIGGER sales_integer_update BEFORE UPDATE OF total, refunded ON sales "
     "  WHEN typeof(NEW.total) <> 'integer' "
     "    OR typeof(NEW.refunded) <> 'integer' "
     "  BEGIN SELECT RAISE(ABORT, "
     "    'sales.total and .refunded must be an integer (minor units)'); END;"
     "CREATE TRIGGER sale_lines_integer_update BEFORE UPDATE OF unit_price ON sale_lines "
     "  WHEN typeof(NEW.unit_price) <> 'integer' "
     "  BEGIN SELECT RAISE(ABORT, "
     "    'sale_lines.unit_price must be an integer (minor units)'); END;"
     "CREATE TRIGGER refunds_integer_insert BEFORE INSERT ON refunds "
     "  WHEN typeof(NEW.amount) <> 'integer' "
     "  BEGIN SELECT RAISE(ABORT, "
     "    'refunds.amount must be an integer (minor units)'); END;"
     "CREATE TRIGGER refunds_integer_update BEFORE UPDATE OF amount ON refunds "
     "  WHEN typeof(NEW.amount) <> 'integer' "
     "  BEGIN SELECT RAISE(ABORT, "
     "    'refunds.amount must be an integer (minor units)'); END;"
     "CREATE TRIGGER team_volume_integer_insert BEFORE INSERT ON team_volume "
     "  WHEN typeof(NEW.total) <> 'integer' "
     "    OR typeof(NEW.refunded) <> 'integer' "
     "  BEGIN SELECT RAISE(ABORT, "
     "    'team_volume.total and .refunded must be an integer (minor units)'); END;"
     "CREATE TRIGGER team_volume_integer_update "
     "  BEFORE UPDATE OF total, refunded ON team_volume "
     "  WHEN typeof(NEW.total) <> 'integer' "
     "    OR typeof(NEW.refunded) <> 'integer' "
     "  BEGIN SELECT RAISE(ABORT, "
     "    'team_volume.total and .refunded must be an integer (minor units)'); END;"
     "CREATE TRIGGER refund_categories_integer_insert BEFORE INSERT ON refund_categories "
     "  WHEN typeof(NEW.amount) <> 'integer' "
     "  BEGIN SELECT RAISE(ABORT, "
     "    'refund_categories.amount must be an integer (minor units)'); END;"
     "CREATE TRIGGER refund_categories_integer_update "
     "  BEFORE UPDATE OF amount ON refund_categories "
     "  WHEN typeof(NEW.amount) <> 'integer' "
     "  BEGIN SELECT RAISE(ABORT, "
     "    'refund_categories.amount must be an integer (minor units)'); END;"
     "CREATE TRIGGER plans_integer_insert BEFORE INSERT ON plans "
     "  WHEN typeof(NEW.first_purchase_bonus) <> 'integer' "
     "  BEGIN SELECT RAISE(ABORT, "
     "    'plans.first_purchase_bonus must be an integer (minor units)'); END;"
     "CREATE TRIGGER plans_integer_update BEFORE UPDATE OF first_purchase_bonus ON plans "
     "  WHEN typeof(NEW.first_purchase_bonus) <> 'integer' "
     "  BEGIN SELECT RAISE(ABORT, "
     "    'plans.first_purchase_bonus must be an integer (minor units)'); END;"},
    {.sql = /* Corrections (issue 10, item 6: sale void and adjust), owned by
        dn_ledger.  HQ's append-only corrections: a void reverses what a
        sale still holds in the ledger and counts the sale as refunded in
        full; an adjustment moves an amount between HQ's expense and one
        account.  Each names who (the admin key's name) and why.  Their
        transfers are ordinary 'adjustment' transfers (a void's name the
        transfer each reverses), ids first_transfer .. last_transfer, in
        the transfer chain; events_through is the last event stored before
        the correction, where verify and the rollup rebuild replay it;
        hash is SHA-256 of the row's fields (dn_ledger), so a row changed
        by hand shows in verify.  */
     "CREATE TABLE corrections ("
     "  id INTEGER PRIMARY KEY,"
     "  kind TEXT NOT NULL CHECK (kind IN ('void', 'adjustment')),"
     "  sale_eid INTEGER REFERENCES sales(eid),"  /* void: the sale */
     "  account INTEGER REFERENCES accounts(id)," /* adjustment: the account */
     "  amount INTEGER NOT NULL,"                 /* see dn_ledger.h */
     "  reason TEXT NOT NULL,"
     "  admin TEXT NOT NULL,"
     "  created_ms INTEGER NOT NULL,"
     "  period TEXT NOT NULL,"
     "  events_through INTEGER NOT NULL,"
     "  first_transfer INTEGER REFERENCES transfers(id),"
     "  last_transfer INTEGER REFERENCES transfers(id),"
     "  hash BLOB NOT NULL CHECK (length(hash) = " S_HASH "),"
     "  CHECK ((kind = 'void' AND sale_eid IS NOT NULL AND account IS NULL) OR"
     "         (kind = 'adjustment' AND sale_eid IS NULL AND account IS NOT NULL"
     "          AND amount != 0)),"
     "  CHECK ((first_transfer IS NULL) = (last_transfer IS NULL))"
     ");"
     /* A sale is voided once.  */
     "CREATE UNIQUE INDEX corrections_void ON corrections(sale_eid) WHERE kind = 'void';"
     "CREATE INDEX corrections_transfers ON corrections(first_transfer);"
     "CREATE TRIGGER corrections_no_update BEFORE UPDATE ON corrections "
     "  BEGIN SELECT RAISE(ABORT, 'corrections are append-only'); END;"
     "CREATE TRIGGER corrections_no_delete BEFORE DELETE ON corrections "
     "  BEGIN SELECT RAISE(ABORT, 'corrections are append-only'); END;"},
    {.sql = /* Canonical phones (issue 10, part 5: "Canonical phones"), owned by
        dn_phones.  Phones are stored E.164 with the network's default
        country (meta 'country').  phone_spellings lists the spellings of a
        phone kept as they were, because the phone was stored in several
        spellings the ledger may have paid on separately; member_conflicts
        gains the duplicate's own phone.  Events stored before this
        migration have their phones rewritten once by dn_central_open
        (dn_phones_migrate); see dn_phones.h for the rule.  */
     "CREATE TABLE phone_spellings ("
     "  spelling TEXT PRIMARY KEY," /* as an older agent sent it */
     "  phone TEXT NOT NULL"        /* its canonical form */
     ") WITHOUT ROWID;"
     "ALTER TABLE member_conflicts ADD COLUMN phone TEXT;" /* NULL: the member's */
     "INSERT INTO meta(key, value) SELECT '" DN_META_PHONES_CANONICAL "', '1' "
     "  WHERE EXISTS (SELECT 1 FROM events);"},
    {.sql = /* HQ guard rails (issue 10, item 7), owned by dn_plan and dn_ledger.
        A plan version no sale fell under can be retired: it stays, with who
        retired it and when, but is never in force again.  */
     "ALTER TABLE plans ADD COLUMN retired_ms INTEGER;"
     "ALTER TABLE plans ADD COLUMN retired_by TEXT;"
     /* A payout reference is used once: a second payout with the same
        --ref would pay the same bank transfer twice.  A table of its own
        rather than a unique index on transfers(ref), which a ledger that
        already holds such a pair could not build: of an existing pair, the
        earlier payout keeps the reference.  */
     "CREATE TABLE payout_refs ("
     "  ref TEXT PRIMARY KEY,"
     "  transfer_id INTEGER NOT NULL UNIQUE REFERENCES transfers(id)"
     ") WITHOUT ROWID;"
     "INSERT OR IGNORE INTO payout_refs(ref, transfer_id) "
     "  SELECT ref, id FROM transfers WHERE code = 'payout' AND ref IS NOT NULL "
     "  ORDER BY id;"},
    {.sql = /* Every rule stated (issue 10, item 9): the referral binding rule,
        owned by dn_ledger, which posts by it, and read by HQ.  A member's
        purchases are its sales in the plan's currency (a plan in force at
        the sale's time), of a total above 0, recorded at or after its
        sign-up; its first purchase is the first of them to reach the
        server (lowest eid).  The referrer of the sign-up binds only if
        that first purchase reached the server after the sign-up and was
        made at the sign-up's site; otherwise the referral is void and pays
        nothing, ever (a site that signs up a customer it never sold to
        earns nothing from that customer's purchases elsewhere).  A sale
        the server holds (dn_facts) is no purchase while held.  A view,
        not a column: the state is a function of stored rows that no later
        event can change once decided, so posting, verify and HQ's lists
        read one definition and cannot disagree.  referral_state: 'none'
        (no referrer), 'pending' (no purchase yet), 'bound', 'void'.  */
     "CREATE VIEW member_referrals AS "
     "SELECT m.id AS member, m.phone, m.site_id, m.signup_eid, m.signed_up_ms,"
     "  m.referrer_phone, m.referrer_partner, m.referral_eid,"
     "  f.eid AS first_eid, f.site_id AS first_site_id, f.recorded_at_ms AS first_ms,"
     "  CASE WHEN m.referrer_phone IS NULL AND m.referrer_partner IS NULL THEN 'none'"
     "    WHEN f.eid IS NULL THEN 'pending'"
     "    WHEN f.eid > m.signup_eid AND f.site_id = m.site_id THEN 'bound'"
     "    ELSE 'void' END AS referral_state "
     "FROM members m LEFT JOIN sales f ON f.eid = ("
     "  SELECT s.eid FROM sales s WHERE s.member_phone = m.phone AND s.total > 0"
     "    AND s.held = 0"
     "    AND s.recorded_at_ms >= m.signed_up_ms"
     "    AND s.currency = (SELECT p.currency FROM plans p WHERE p.retired_ms IS NULL"
     "      AND p.effective_ms <= s.recorded_at_ms ORDER BY p.effective_ms DESC LIMIT 1)"
     "  ORDER BY s.eid LIMIT 1);"},
    {.sql = /* No secrets in argv (issue 11, item 5), owned by dn_registry: who
        holds an enrollment token.  The first key to present a valid token
        holds it for DN_TOKEN_HOLD_MS whatever the outcome (a wrong site
        code, say), and the key that enrolls with it keeps it for good, so
        a token seen by someone else cannot be raced quietly: another key
        presenting it is refused with who holds it, when and from where,
        and HQ is told once (raced_ms, an exception).  Tokens used before
        this migration are held by the key their site enrolled with.  */
     "ALTER TABLE tokens ADD COLUMN holder_key BLOB;" /* a CURVE key (DN_CURVE_KEY_BYTES)
                                                       */
     "ALTER TABLE tokens ADD COLUMN held_ms INTEGER;" /* when it first presented it */
     "ALTER TABLE tokens ADD COLUMN holder_address TEXT;" /* its peer address, if known */
     "ALTER TABLE tokens ADD COLUMN raced_ms INTEGER;" /* another key first presented it
                                                        */
     "UPDATE tokens SET holder_key = (SELECT curve_key FROM sites WHERE sites.id = "
     "  tokens.site_id), held_ms = used_ms WHERE used_ms IS NOT NULL;"},
    {.sql = /* Re-enrolment (issue 12, part A: `site token`), owned by dn_registry.
        A token issued by `site token` (rebind = 1) may enroll a site that is
        enrolled already: the new PC's keys replace the old ones, which move
        to site_keys.  A retired CURVE key is refused with when its site was
        enrolled again (as revoked, if it was retired by `site token
        --unrevoke`), never mistaken for a stranger; its sign key still
        verifies the batches it signed, seqs up to last_seq (verify).  */
     "ALTER TABLE tokens ADD COLUMN rebind INTEGER NOT NULL DEFAULT 0;"
     "CREATE TABLE site_keys ("
     "  curve_key BLOB PRIMARY KEY CHECK (length(curve_key) = " S_KEY "),"
     "  site_id INTEGER NOT NULL REFERENCES sites(id),"
     "  sign_key BLOB CHECK (sign_key IS NULL OR length(sign_key) = " S_SIGN_KEY "),"
     "  enrolled_ms INTEGER,"
     "  retired_ms INTEGER NOT NULL,"
     "  last_seq INTEGER NOT NULL," /* the site's applied seq when it retired */
     "  revoked INTEGER NOT NULL"   /* 1: the site was revoked when it retired */
     ") WITHOUT ROWID;"
     "CREATE INDEX site_keys_site ON site_keys(site_id, last_seq);"},
    {.sql = /* HQ catalogue (issue 14, part B: catalog), owned by dn_catalog.  One
        row per SKU, price list (partner NULL: the network's) and effective
        day; version is the catalogue-wide change counter every change
        takes (a site is sent what changed after the version it holds), so
        it is unique and only grows; a removal marks the row, never deletes
        it, so the sites hear of it.  catalog_staged / catalog_uploads hold
        an import file arriving in several admin requests until its last
        part stores it in one transaction.  */
     "CREATE TABLE catalog ("
     "  id INTEGER PRIMARY KEY,"
     "  sku TEXT NOT NULL,"
     "  partner TEXT,"              /* a partner code; NULL: the network's list */
     "  effective_ms INTEGER NOT NULL," /* in force from (a day's start) */
     "  name TEXT NOT NULL,"
     "  category TEXT,"
     "  price INTEGER NOT NULL CHECK (price >= 0)," /* minor units, network currency */
     "  fixed INTEGER NOT NULL DEFAULT 0," /* 1: the till may not change the price */
     "  removed INTEGER NOT NULL DEFAULT 0,"
     "  version INTEGER NOT NULL UNIQUE,"
     "  changed_ms INTEGER NOT NULL"
     ");"
     "CREATE UNIQUE INDEX catalog_key ON catalog(sku, ifnull(partner, ''), effective_ms);"
     "CREATE TABLE catalog_uploads ("
     "  upload TEXT PRIMARY KEY,"
     "  parts INTEGER NOT NULL," /* parts staged so far */
     "  started_ms INTEGER NOT NULL"
     ");"
     "CREATE TABLE catalog_staged ("
     "  upload TEXT NOT NULL,"
     "  line INTEGER NOT NULL," /* of the file */
     "  sku TEXT NOT NULL,"
     "  partner TEXT NOT NULL," /* '': the network's list */
     "  effective_ms INTEGER NOT NULL,"
     "  name TEXT NOT NULL,"
     "  category TEXT NOT NULL," /* '': none */
     "  price INTEGER NOT NULL,"
     "  fixed INTEGER NOT NULL,"
     "  PRIMARY KEY (upload, sku, partner, effective_ms)"
     ");"},
    {.sql = /* Part C of issue 14 (earnings and member credit downstream), owned by
        dn_earnings.  A mark is a number from one counter (down_marks) that
        grows whenever a partner's or member's account moves or a member's
        name changes, kept on the account (down_mark) and the member: the
        producers send a partner's figures again only when its mark moved,
        and a member's credit only when its mark is past what the shop
        holds, each one indexed read.  Triggers rather than code at every
        writer: the ledger's flush, payouts, voids, adjustments, sign-ups
        and member updates all pass through these two tables.  Only
        UPDATEs of accounts (once per account per batch, dn_ledger_flush)
        and sign-ups and renames of members run them; the rows written for
        every event (sales, sale_lines, transfers) do not (see the money
        triggers above).  verify's TEMP accounts are other tables and fire
        nothing.  */
     "CREATE TABLE down_marks ("
     "  id INTEGER PRIMARY KEY CHECK (id = 1),"
     "  mark INTEGER NOT NULL"
     ");"
     "INSERT INTO down_marks(id, mark) VALUES (1, 0);"
     "ALTER TABLE accounts ADD COLUMN down_mark INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE members ADD COLUMN down_mark INTEGER NOT NULL DEFAULT 0;"
     "CREATE INDEX members_down_mark ON members(down_mark);"
     /* the members a site's events name: its sign-ups (by event), the
        later sign-ups it recorded of phones known already */
     "CREATE INDEX members_signup ON members(signup_eid);"
     "CREATE INDEX member_conflicts_site ON member_conflicts(site_id);"
     "CREATE TRIGGER accounts_down_mark AFTER UPDATE OF balance ON accounts "
     "  WHEN NEW.kind IN ('partner', 'member') BEGIN"
     "  UPDATE down_marks SET mark = mark + 1 WHERE id = 1;"
     "  UPDATE accounts SET down_mark = (SELECT mark FROM down_marks WHERE id = 1)"
     "    WHERE id = NEW.id;"
     "  UPDATE members SET down_mark = (SELECT mark FROM down_marks WHERE id = 1)"
     "    WHERE NEW.kind = 'member' AND phone = NEW.phone;"
     "END;"
     "CREATE TRIGGER members_down_mark_insert AFTER INSERT ON members BEGIN"
     "  UPDATE down_marks SET mark = mark + 1 WHERE id = 1;"
     "  UPDATE members SET down_mark = (SELECT mark FROM down_marks WHERE id = 1)"
     "    WHERE id = NEW.id;"
     "END;"
     "CREATE TRIGGER members_down_mark_name AFTER UPDATE OF name ON members "
     "  WHEN NEW.name IS NOT OLD.name BEGIN"
     "  UPDATE down_marks SET mark = mark + 1 WHERE id = 1;"
     "  UPDATE members SET down_mark = (SELECT mark FROM down_marks WHERE id = 1)"
     "    WHERE id = NEW.id;"
     "END;"},
    {.sql = /* Notices (issue 14, part D: `notice send`), owned by dn_notice.  A
        short text HQ sends to every site (target 'all'), to a partner and
        everything under it as the tree stands when a site pulls it
        ('partner'), or to one site ('site').  id only grows (AUTOINCREMENT:
        never reused): it is the notices stream's version.  sent_by: the
        admin who sent it (the admin socket's ZAP User-Id).  */
     "CREATE TABLE notices ("
     "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
     "  text TEXT NOT NULL,"
     "  target TEXT NOT NULL CHECK (target IN ('all', 'partner', 'site')),"
     "  partner_id INTEGER REFERENCES partners(id),"
     "  site_id INTEGER REFERENCES sites(id),"
     "  sent_ms INTEGER NOT NULL,"
     "  sent_by TEXT,"
     "  CHECK ((target = 'all' AND partner_id IS NULL AND site_id IS NULL)"
     "    OR (target = 'partner' AND partner_id IS NOT NULL AND site_id IS NULL)"
     "    OR (target = 'site' AND site_id IS NOT NULL AND partner_id IS NULL))"
     ");"
     "CREATE INDEX notices_site ON notices(site_id, id);"},
    {.sql = /* Compliance guard (issue 13, part comply), owned by dn_plan: the
        rules a plan version was checked against when it was set ([plan]
        compliance), 'none' for every version set before.  */
     "ALTER TABLE plans ADD COLUMN compliance TEXT NOT NULL DEFAULT 'none'"
     "  CHECK (compliance IN ('none', 'cn-direct-selling'));"},
    {.sql = /* Names apart from codes (issue 13, part "names"): a site's display
        name, any script (dn_registry_site_add_named, `site rename`); NULL
        for none, as every site had before.  */
     "ALTER TABLE sites ADD COLUMN name TEXT;"
     /* and a category's display name in a plan version, owned by dn_plan:
        the `name =` line of its [category:CODE] section.  */
     "CREATE TABLE plan_categories ("
     "  plan_id INTEGER NOT NULL REFERENCES plans(id),"
     "  category TEXT NOT NULL,"
     "  name TEXT NOT NULL,"
     "  PRIMARY KEY (plan_id, category)"
     ") WITHOUT ROWID;"},
    {.sql = /* Receipts at HQ (issue 13, part counterhq), owned by dn_ingest (it
        writes them) and dn_ledger (sale.void finds a sale by them): a
        sale's receipt number and payment method (Sale fields 8 and 9) as
        the event carried them; NULL for a sale of an older agent or one
        stored before.  A receipt is not unique: a site restored on a new PC
        may number a receipt twice, and a signed event is never dropped,
        so the index only finds them (a partial one: old sales have none).  */
     "ALTER TABLE sales ADD COLUMN receipt INTEGER;"
     "ALTER TABLE sales ADD COLUMN payment INTEGER;"
     "CREATE INDEX sales_receipt ON sales(site_id, receipt) WHERE receipt IS NOT NULL;"},
    {.sql = /* The network's time zone (issue 13, part zone), read by
        dn_central_zone.  Days, months and periods follow the zone (meta
        'zone', written by init; a file from before it has none and takes
        its currency's default zone, dn_time_zone_default).  Periods
        already holding something keep their UTC meaning: zone_from is the
        UTC start of the month after the newest month that holds a
        posting, a close, a correction, a rollup row or an event (0 in a
        new file: every period is local), and dn_time_period_of keeps
        every time before it in its UTC month, so that verify's replay
        and the rollups' rebuild put each old event where it was put.  */
     "INSERT OR IGNORE INTO meta(key, value) "
     "  SELECT '" DN_META_ZONE_FROM "', coalesce("
     "    CAST(strftime('%s', m || '-01', '+1 month') AS INTEGER) * 1000, 0) FROM ("
     "  SELECT max(m) AS m FROM ("
     "    SELECT max(period) AS m FROM transfers"
     "    UNION ALL SELECT max(period) FROM periods"
     "    UNION ALL SELECT max(period) FROM corrections"
     "    UNION ALL SELECT max(period) FROM team_volume"
     "    UNION ALL SELECT strftime('%Y-%m', max(recorded_at_ms) / 1000, 'unixepoch')"
     "      FROM events));"},
    {.sql = /* Periods already closed keep their meaning (issue 13, item 3 of the
        review: zonefix).  Before the zone every date HQ typed (plan
        `effective =`, `catalog set --effective`, a catalogue import's
        effective column, `partner move --effective`, `partner add
        --joined`) was stored at its UTC midnight; from the zone on a typed
        date means the zone's midnight.  Such a date that takes effect from
        zone_from on has to move to the zone's midnight of the same date,
        which only code knows (a zone's offset on a date): this marks the
        file for dn_central_zone_load, which moves them once and removes
        the mark.  A file that never had UTC dates (zone_from 0: made with
        its zone) is not marked.  */
     "INSERT OR IGNORE INTO meta(key, value) SELECT '" DN_META_ZONE_DATES "', '1' "
     "  FROM meta WHERE key = '" DN_META_ZONE_FROM "' AND value <> '0';"},
    {.sql = /* Drill-down (issue 15, part drill: `sale`, `sales list`), read by
        dn_drill.  A partner's sales, newest first: the sales credited to
        the partners ever below it, each then checked against the tree at
        its time; and a sale's refunds, which its drill-down lists (and
        the ledger sums at every refund of the sale), by sale rather than
        by a scan of every refund.  */
     "CREATE INDEX sales_seller ON sales(seller, recorded_at_ms);"
     "CREATE INDEX refunds_sale ON refunds(sale_eid, eid);"},
    {.sql = /* webcore (issue 15, item 3: the HQ dashboard): the people who may
        log in to the web page (dn_webuser.h owns the table).  name is a
        code (dn_valid_code: at most 32 ASCII characters); hash is the
        scrypt of the password with its own random salt and parameters
        ("scrypt:LOG2_N:r:p:SALT_HEX:KEY_HEX"), so a later change of cost
        leaves the stored hashes readable; removed_ms is when `web user
        remove` took the login away (NULL: may log in), kept so that the
        list shows who had access and until when.  IF NOT EXISTS: a file
        taken back to an earlier version (tests/unit/test_ledger.c's
        migration tests) keeps its users.  */
     "CREATE TABLE IF NOT EXISTS web_users ("
     "  name TEXT PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 32),"
     "  hash TEXT NOT NULL CHECK (hash LIKE 'scrypt:%' AND length(hash) <= 256),"
     "  created_ms INTEGER NOT NULL,"
     "  removed_ms INTEGER"
     ") WITHOUT ROWID;"},
    {.sql = /* An account's transfers by period (issue 15): a statement's opening
        balance sums every transfer of the account before the period, and
        every sync's earnings stream asks for the site partner's
        statement.  Through transfers_period alone that read every earlier
        transfer of every account: 0.3 s of the loop's time a sync on a
        ledger of a million transfers (bench_query found it).  With these
        the sum reads the account's own transfers (SQLite's OR of two
        indexes).  */
     "CREATE INDEX transfers_credit ON transfers(credit, period);"
     "CREATE INDEX transfers_debit ON transfers(debit, period);"},
    {.sql = /* Payout runs (issue 15, part payrun), owned by dn_payrun.  A
        partner's bank details, where a run pays it: one account each, its
        number 8 to 32 digits, the holder's and the bank's names any
        script.  */
     "CREATE TABLE partner_banks ("
     "  partner_id INTEGER PRIMARY KEY REFERENCES partners(id),"
     "  account TEXT NOT NULL CHECK (length(account) BETWEEN 8 AND 32"
     "    AND account NOT GLOB '*[^0-9]*'),"
     "  name TEXT NOT NULL,"
     "  bank TEXT NOT NULL,"
     "  updated_ms INTEGER NOT NULL,"
     "  updated_by TEXT NOT NULL"
     ");"
     /* A run proposes the payouts of a closed period at or above a
        minimum (minor units of currency); approved, its lines are posted
        as payouts, each with its reference (payout_refs); cancelled, never.
        One proposed run a period at a time: two could both be approved
        and pay the period twice.  */
     "CREATE TABLE payout_runs ("
     "  id INTEGER PRIMARY KEY,"
     "  period TEXT NOT NULL,"
     "  min INTEGER NOT NULL CHECK (min >= 0),"
     "  currency TEXT NOT NULL,"
     "  state TEXT NOT NULL CHECK (state IN ('proposed', 'approved', 'cancelled')),"
     "  created_ms INTEGER NOT NULL,"
     "  created_by TEXT NOT NULL,"
     "  approved_ms INTEGER,"
     "  approved_by TEXT,"
     "  cancelled_ms INTEGER,"
     "  cancelled_by TEXT"
     ");"
     "CREATE UNIQUE INDEX payout_runs_proposed ON payout_runs(period) "
     "  WHERE state = 'proposed';"
     /* Its lines: a payout (ref and the bank details as proposed), or a
        partner left out with the reason (left_out), so that nobody is left
        out silently.  */
     "CREATE TABLE payout_run_lines ("
     "  run_id INTEGER NOT NULL REFERENCES payout_runs(id),"
     "  partner_id INTEGER NOT NULL REFERENCES partners(id),"
     "  amount INTEGER NOT NULL CHECK (amount > 0),"
     "  ref TEXT UNIQUE,"
     "  account TEXT,"
     "  account_name TEXT,"
     "  bank TEXT,"
     "  left_out TEXT CHECK (left_out IN ('below_min', 'suspended', 'no_bank')),"
     "  CHECK ((left_out IS NULL) = (ref IS NOT NULL AND account IS NOT NULL)),"
     "  PRIMARY KEY (run_id, partner_id)"
     ") WITHOUT ROWID;"},
    {/* Issue 17 (lead): transfers.code's CHECK without its IN list, see
        s_transfers_code_check.  */
     .apply = s_transfers_code_check},
    {.sql = /* Account periods (issue 17, part periods), owned by dn_ledger: what
        each account was credited and debited in each period, by transfer
        code, moved at dn_ledger_flush in the transaction that posts.  A
        statement's opening balance, the earnings every sync sends, the
        payables of a payout run and the earnings report read it instead
        of the transfers.  It replaces migration 22's transfers_credit and
        transfers_debit: an index keyed by account took a write on a random
        page for every transfer posted, and each commit writes every page
        it dirtied to the WAL (a third of posting's time, bench_ledger).
        Month first, so that a batch's upserts land in the current month's
        pages instead of all over the table (as team_volume); an account's
        months are found through the index, which a new key enters once
        per account, month and code, not once per transfer.  Money is
        integers: a CHECK, not the money triggers, since the table is new
        (an upsert's credits + excluded.credits that overflowed would be
        a REAL); within DN_MONEY_SUM_MAX, as every sum of transfers
        (money_totals).  code has no CHECK of its own: a CHECK ... IN (...)
        builds its list at every row written, on the posting path; the
        ledger writes only the codes of transfers.code's CHECK, and verify
        checks every row against the transfers.  */
     "CREATE TABLE account_periods ("
     "  period TEXT NOT NULL," /* YYYY-MM posted into (transfers.period) */
     "  account INTEGER NOT NULL REFERENCES accounts(id),"
     "  code TEXT NOT NULL," /* transfers.code */
     "  credits INTEGER NOT NULL CHECK (typeof(credits) = 'integer' AND "
     "    credits BETWEEN 0 AND 1000000000000000000),"
     "  debits INTEGER NOT NULL CHECK (typeof(debits) = 'integer' AND "
     "    debits BETWEEN 0 AND 1000000000000000000),"
     "  PRIMARY KEY (period, account, code)"
     ") WITHOUT ROWID;"
     "CREATE INDEX account_periods_account ON account_periods(account, period);"
     "DROP INDEX IF EXISTS transfers_credit;"
     "DROP INDEX IF EXISTS transfers_debit;"
     /* what the transfers already posted put there */
     "INSERT INTO account_periods(period, account, code, credits, debits)"
     "  SELECT period, account, code, sum(credits), sum(debits) FROM ("
     "    SELECT period, credit AS account, code, amount AS credits, 0 AS debits"
     "      FROM transfers"
     "    UNION ALL SELECT period, debit, code, 0, amount FROM transfers)"
     "  GROUP BY period, account, code;"},
    {.sql = /* Issue 17 (lead): dn_ledger_flush moves the marks of the accounts
        a batch touched itself (see s_marks in dn_ledger.c), one UPDATE per
        account, where accounts_down_mark ran three more for each: the
        trigger now marks an account only when its writer did not (every
        other writer of balances: payouts, voids, adjustments), and tests
        the kind without an IN list (a list is built at every row).  */
     "DROP TRIGGER accounts_down_mark;"
     "CREATE TRIGGER accounts_down_mark AFTER UPDATE OF balance ON accounts "
     "  WHEN (NEW.kind = 'partner' OR NEW.kind = 'member') "
     "    AND NEW.down_mark IS OLD.down_mark BEGIN"
     "  UPDATE down_marks SET mark = mark + 1 WHERE id = 1;"
     "  UPDATE accounts SET down_mark = (SELECT mark FROM down_marks WHERE id = 1)"
     "    WHERE id = NEW.id;"
     "  UPDATE members SET down_mark = (SELECT mark FROM down_marks WHERE id = 1)"
     "    WHERE NEW.kind = 'member' AND phone = NEW.phone;"
     "END;"},
};

int dn_central_max_sale(sqlite3 *db, int64_t *bound)
{
    char text[DN_MONEY_TEXT_SIZE];
    int rc = dn_db_meta_get(db, DN_META_MAX_SALE, text, sizeof text);
    if (rc == DN_ENOENT) {
        *bound = DN_MONEY_MAX_SALE_DEFAULT;
        return 0;
    }
    if (rc == 0 && dn_money_bound_parse(text, bound) != 0) {
        dn_log_error("central.db: setting %s '%s' is not a bound on one sale",
                     DN_META_MAX_SALE, text);
        rc = DN_EDB;
    }
    return rc ? DN_EDB : 0;
}

int dn_central_set_max_sale(sqlite3 *db, int64_t bound)
{
    char text[DN_MONEY_TEXT_SIZE];
    if (bound < 1 || bound > DN_MONEY_MAX_SALE_LIMIT ||
        dn_money_format(bound, DN_MONEY_BOUND_EXPONENT, text, sizeof text))
        return DN_EINVAL;
    return dn_db_meta_set(db, DN_META_MAX_SALE, text);
}

int dn_central_zone(sqlite3 *db, char zone[DN_TIME_ZONE_SIZE], int64_t *zone_from_ms)
{
    char currency[4] = DN_CURRENCY_DEFAULT, from[24];
    int rc = dn_db_meta_get(db, DN_META_ZONE, zone, DN_TIME_ZONE_SIZE);
    if (rc == DN_ENOENT) {
        if (dn_db_meta_get(db, DN_META_CURRENCY, currency, sizeof currency) == DN_EDB)
            return DN_EDB;
        snprintf(zone, DN_TIME_ZONE_SIZE, "%s", dn_time_zone_default(currency));
    } else if (rc) {
        return DN_EDB;
    }
    *zone_from_ms = 0;
    rc = dn_db_meta_get(db, DN_META_ZONE_FROM, from, sizeof from);
    if (rc == DN_ENOENT)
        return 0;
    char *end = from;
    long long v = rc == 0 ? strtoll(from, &end, 10) : -1;
    struct tm tm = {0};
    time_t t = (time_t)(v / 1000);
    if (v >= 0)
        gmtime_r(&t, &tm);
    /* a UTC month's start, as the migration wrote it */
    if (rc || *end || v < 0 || v % DN_DAY_MS || tm.tm_mday != 1) {
        dn_log_error("central.db: setting %s '%s' is not the start of a month", DN_META_ZONE_FROM,
                     rc ? "" : from);
        return DN_EDB;
    }
    *zone_from_ms = v;
    return 0;
}

/* -- dates typed before the zone ------------------------------------------ */

/*  Who retires a plan version here (plans.retired_by holds an admin's
    name otherwise): one of two versions HQ set for the same date.  */
#define S_ZONE_RETIRED_BY "zone migration"

/*  Runs sql (?1: now_ms, if it names it) inside the caller's transaction
    and adds the rows it changed to *changed.  0 or DN_EDB.  */
static int s_zone_run(sqlite3 *db, const char *sql, int64_t now_ms, int64_t *changed)
{
    sqlite3_stmt *stmt;
    if (dn_db_prepare(db, sql, &stmt))
        return DN_EDB;
    if (sqlite3_bind_parameter_count(stmt) > 0)
        sqlite3_bind_int64(stmt, 1, now_ms);
    int rc = dn_db_step_txn(db, stmt);
    sqlite3_finalize(stmt);
    if (rc == 0 && changed)
        *changed += sqlite3_changes(db);
    return rc;
}

/*  Fills temp.zone_days with each UTC midnight from zone_from on that a
    typed date may sit at (old_ms) and the zone's midnight of the same
    date, never before zone_from (new_ms): a date whose midnight is the
    same in the zone (the zone's offset is 0 that day, or the date is
    zone_from's own) is left out, and so is one with a sale stored between
    the two midnights, which the ledger posted by the date where it is
    (the date then stays, logged: moving it would change what verify's
    replay pays).  0 or DN_EDB.  */
static int s_zone_days(sqlite3 *db, int64_t zone_from, int64_t *days)
{
    sqlite3_stmt *pick = NULL, *sold = NULL, *add = NULL;
    int rc = dn_db_prepare(db,
                           "SELECT DISTINCT ms FROM ("
                           "  SELECT effective_ms AS ms FROM plans"
                           "  UNION ALL SELECT effective_ms FROM catalog WHERE removed = 0"
                           "  UNION ALL SELECT effective_ms FROM partner_links"
                           "  UNION ALL SELECT joined_ms FROM partners) "
                           "WHERE ms >= ?1 AND ms % 86400000 = 0 ORDER BY ms",
                           &pick);
    if (rc == 0)
        rc = dn_db_prepare(db,
                           "SELECT count(*) FROM sales WHERE recorded_at_ms >= ?1 AND "
                           "recorded_at_ms < ?2",
                           &sold);
    if (rc == 0)
        rc = dn_db_prepare(db, "INSERT INTO temp.zone_days(old_ms, new_ms) VALUES (?, ?)",
                           &add);
    if (rc == 0)
        sqlite3_bind_int64(pick, 1, zone_from);
    int step = 0;
    while (rc == 0 && (step = dn_db_row(pick, "central.db: typed dates")) == 1) {
        int64_t old_ms = sqlite3_column_int64(pick, 0), n = 0;
        int64_t new_ms = dn_time_day_start(old_ms / DN_DAY_MS);
        if (new_ms < zone_from) /* never into a UTC period behind zone_from */
            new_ms = zone_from;
        if (new_ms == old_ms)
            continue;
        sqlite3_reset(sold);
        sqlite3_bind_int64(sold, 1, old_ms < new_ms ? old_ms : new_ms);
        sqlite3_bind_int64(sold, 2, old_ms < new_ms ? new_ms : old_ms);
        if (dn_db_row(sold, "central.db: sales between midnights") != 1) {
            rc = DN_EDB;
            break;
        }
        n = sqlite3_column_int64(sold, 0);
        if (n > 0) {
            char date[DN_DATE_SIZE];
            dn_time_format_day(old_ms / DN_DAY_MS, date);
            dn_log_warn("central.db: the date %s, typed before the network's time zone, "
                        "stays at 00:00 UTC: %lld sales stored between it and the zone's "
                        "midnight were posted by it",
                        date, (long long)n);
            continue;
        }
        sqlite3_reset(add);
        sqlite3_bind_int64(add, 1, old_ms);
        sqlite3_bind_int64(add, 2, new_ms);
        rc = dn_db_step_txn(db, add);
        ++*days;
    }
    if (rc == 0 && step < 0)
        rc = DN_EDB;
    sqlite3_finalize(pick);
    sqlite3_finalize(sold);
    sqlite3_finalize(add);
    return rc;
}

/*  Moves the catalogue's rows at an old_ms of temp.zone_days, each under
    new versions so that every site hears of it: a site keys a row by its
    day (agent hq_catalog), so the row at UTC midnight is withdrawn
    (removed, as `catalog remove` does) and one of the same content is set
    at the zone's midnight.  When that key holds a row already (set once
    the zone had come), the later change of the two (the higher version)
    is what HQ meant last: it stays there, the other is withdrawn.  A row
    already removed stays as it is: it is in force nowhere.  0 or DN_EDB.  */
static int s_zone_catalog(sqlite3 *db, int64_t now_ms, int64_t *moved)
{
    sqlite3_stmt *list = NULL, *withdraw = NULL, *copy = NULL, *over = NULL;
    int64_t head = 0;
    int rc = s_zone_run(db,
                        "CREATE TEMP TABLE zone_catalog AS "
                        "SELECT c.id AS id, z.new_ms AS new_ms, c.version AS version, "
                        "  o.id AS taken, o.version AS taken_version "
                        "FROM catalog c JOIN temp.zone_days z ON z.old_ms = c.effective_ms "
                        "LEFT JOIN catalog o ON o.sku = c.sku AND ifnull(o.partner, '') = "
                        "  ifnull(c.partner, '') AND o.effective_ms = z.new_ms "
                        "WHERE c.removed = 0",
                        now_ms, NULL);
    if (rc == 0 &&
        (rc = dn_db_prepare(db, "SELECT ifnull(max(version), 0) FROM catalog", &list)) == 0)
        rc = dn_db_int_row(list, "catalog head", &head) < 0 ? DN_EDB : 0; /* finalizes */
    list = NULL;
    if (rc == 0)
        rc = dn_db_prepare(db,
                           "SELECT id, new_ms, taken, ifnull(taken_version < version, 0) "
                           "FROM temp.zone_catalog ORDER BY id",
                           &list);
    if (rc == 0)
        rc = dn_db_prepare(db,
                           "UPDATE catalog SET removed = 1, version = ?2, changed_ms = ?3 "
                           "WHERE id = ?1",
                           &withdraw);
    if (rc == 0)
        rc = dn_db_prepare(db,
                           "INSERT INTO catalog(sku, partner, effective_ms, name, category, "
                           "  price, fixed, removed, version, changed_ms) "
                           "SELECT sku, partner, ?2, name, category, price, fixed, 0, ?3, ?4 "
                           "FROM catalog WHERE id = ?1",
                           &copy);
    if (rc == 0)
        rc = dn_db_prepare(db,
                           "UPDATE catalog SET (name, category, price, fixed) = (SELECT name, "
                           "  category, price, fixed FROM catalog WHERE id = ?1), "
                           "  removed = 0, version = ?2, changed_ms = ?3 WHERE id = ?4",
                           &over);
    int step = 0;
    while (rc == 0 && (step = dn_db_row(list, "central.db: catalogue rows to move")) == 1) {
        int64_t id = sqlite3_column_int64(list, 0), new_ms = sqlite3_column_int64(list, 1);
        int taken = sqlite3_column_type(list, 2) != SQLITE_NULL;
        int later = sqlite3_column_int(list, 3); /* this row changed after the taker */
        sqlite3_reset(withdraw);
        sqlite3_bind_int64(withdraw, 1, id);
        sqlite3_bind_int64(withdraw, 2, ++head);
        sqlite3_bind_int64(withdraw, 3, now_ms);
        rc = dn_db_step_txn(db, withdraw);
        if (rc == 0 && !taken) {
            sqlite3_reset(copy);
            sqlite3_bind_int64(copy, 1, id);
            sqlite3_bind_int64(copy, 2, new_ms);
            sqlite3_bind_int64(copy, 3, ++head);
            sqlite3_bind_int64(copy, 4, now_ms);
            rc = dn_db_step_txn(db, copy);
        } else if (rc == 0 && later) {
            sqlite3_reset(over);
            sqlite3_bind_int64(over, 1, id);
            sqlite3_bind_int64(over, 2, ++head);
            sqlite3_bind_int64(over, 3, now_ms);
            sqlite3_bind_int64(over, 4, sqlite3_column_int64(list, 2));
            rc = dn_db_step_txn(db, over);
        }
        ++*moved;
    }
    if (rc == 0 && step < 0)
        rc = DN_EDB;
    sqlite3_finalize(list);
    sqlite3_finalize(withdraw);
    sqlite3_finalize(copy);
    sqlite3_finalize(over);
    if (rc == 0)
        rc = s_zone_run(db, "DROP TABLE temp.zone_catalog", now_ms, NULL);
    return rc;
}

/*  The statements that move the plans', the tree's and the partners'
    typed dates, in order, once temp.zone_days is filled (?1: now).  */
static const char *const s_zone_moves[] = {
    /* plans.effective_ms is unique.  Two versions of one date (one set
       before the zone, at UTC midnight, one after, at the zone's
       midnight): the one set after is HQ's last word and stays in force;
       the other is retired (it covers no sale: none is stored after
       zone_from, or the date is left out) */
    "UPDATE plans SET retired_ms = ?1, retired_by = '" S_ZONE_RETIRED_BY "' "
    "WHERE retired_ms IS NULL AND EXISTS (SELECT 1 FROM temp.zone_days z "
    "  JOIN plans o ON o.effective_ms = z.new_ms "
    "  WHERE z.old_ms = plans.effective_ms AND o.retired_ms IS NULL)",
    /* a retired version at the zone's midnight trades places with the one
       in force at UTC midnight (both show the same date), through -old_ms */
    "UPDATE plans SET effective_ms = -(SELECT z.old_ms FROM temp.zone_days z "
    "  WHERE z.new_ms = plans.effective_ms) "
    "WHERE effective_ms IN (SELECT z.new_ms FROM temp.zone_days z "
    "  JOIN plans p ON p.effective_ms = z.old_ms WHERE p.retired_ms IS NULL)",
    /* every version whose zone's midnight is free moves there; a retired
       one whose is not stays (it is in force nowhere) */
    "UPDATE plans SET effective_ms = (SELECT z.new_ms FROM temp.zone_days z "
    "  WHERE z.old_ms = plans.effective_ms) "
    "WHERE effective_ms IN (SELECT old_ms FROM temp.zone_days) "
    "AND NOT EXISTS (SELECT 1 FROM temp.zone_days z JOIN plans o "
    "  ON o.effective_ms = z.new_ms WHERE z.old_ms = plans.effective_ms)",
    "UPDATE plans SET effective_ms = -effective_ms WHERE effective_ms < 0",
    /* a partner's moves: (partner_id, effective_ms) is the key.  A move of
       the same date set once the zone had come is HQ's last word for that
       date: the one at UTC midnight never took effect for any sale, and
       goes */
    "DELETE FROM partner_links WHERE effective_ms IN (SELECT old_ms FROM temp.zone_days) "
    "AND EXISTS (SELECT 1 FROM temp.zone_days z JOIN partner_links o "
    "  ON o.effective_ms = z.new_ms AND o.partner_id = partner_links.partner_id "
    "  WHERE z.old_ms = partner_links.effective_ms)",
    "UPDATE partner_links SET effective_ms = (SELECT z.new_ms FROM temp.zone_days z "
    "  WHERE z.old_ms = partner_links.effective_ms) "
    "WHERE effective_ms IN (SELECT old_ms FROM temp.zone_days)",
    /* --joined DATE (without it, joined is the instant of `partner add`,
       which is a UTC midnight once in 86,400,000) */
    "UPDATE partners SET joined_ms = (SELECT z.new_ms FROM temp.zone_days z "
    "  WHERE z.old_ms = partners.joined_ms) "
    "WHERE joined_ms IN (SELECT old_ms FROM temp.zone_days)",
};

/*  Moves the dates HQ typed while the network kept UTC days and that take
    effect from zone_from on to the zone's midnight of the same date (see
    the migration that marks the file, and README "The network's time
    zone"), once: inside one transaction that also removes the mark.  The
    process's zone must be the network's.  An import under way was parsed
    in UTC days: it is dropped (HQ is told to import the file again).
    0 or DN_EDB (logged; nothing moved, the mark stays).  */
static int s_zone_dates(sqlite3 *db, int64_t zone_from)
{
    char mark[8];
    int64_t now_ms = dn_time_now_ms(), days = 0, rows = 0, catalog = 0;
    int rc = dn_db_meta_get(db, DN_META_ZONE_DATES, mark, sizeof mark);
    if (rc == DN_ENOENT)
        return 0;
    if (rc || dn_db_begin(db))
        return DN_EDB;
    /* in UTC a typed date is where it was */
    if (strcmp(dn_time_zone(), DN_TIME_ZONE_UTC) != 0) {
        rc = s_zone_run(db,
                        "CREATE TEMP TABLE zone_days(old_ms INTEGER PRIMARY KEY, "
                        "new_ms INTEGER NOT NULL)",
                        now_ms, NULL);
        if (rc == 0)
            rc = s_zone_days(db, zone_from, &days);
        for (size_t i = 0; rc == 0 && i < sizeof s_zone_moves / sizeof *s_zone_moves; i++)
            rc = s_zone_run(db, s_zone_moves[i], now_ms, &rows);
        if (rc == 0)
            rc = s_zone_catalog(db, now_ms, &catalog);
        if (rc == 0)
            rc = s_zone_run(db,
                            "DROP TABLE temp.zone_days;", now_ms, NULL);
        if (rc == 0)
            rc = s_zone_run(db, "DELETE FROM catalog_staged", now_ms, NULL);
        if (rc == 0)
            rc = s_zone_run(db, "DELETE FROM catalog_uploads", now_ms, NULL);
    }
    if (rc == 0)
        rc = s_zone_run(db, "DELETE FROM meta WHERE key = '" DN_META_ZONE_DATES "'", now_ms,
                        NULL);
    if (rc == 0)
        rc = dn_db_commit(db);
    if (rc) {
        dn_db_rollback(db);
        dn_log_error("central.db: cannot move the dates typed before the network's time "
                     "zone to its midnights");
        return DN_EDB;
    }
    dn_log_info("central.db: %lld dates typed before the network's time zone moved to its "
                "midnights (%lld rows of plans, the tree and partners, %lld of the "
                "catalogue)",
                (long long)days, (long long)rows, (long long)catalog);
    return 0;
}

int dn_central_zone_load(sqlite3 *db)
{
    char zone[DN_TIME_ZONE_SIZE];
    int64_t from;
    int rc = dn_central_zone(db, zone, &from);
    if (rc == 0 && (rc = dn_time_zone_set(zone, from)) != 0) {
        dn_log_error("central.db: the network's time zone '%s' is not in the zone database "
                     "(install tzdata, or set TZDIR)",
                     zone);
        rc = DN_ECONFIG;
    }
    /* a file that met its zone: its typed dates, now that the zone is known */
    if (rc == 0)
        rc = s_zone_dates(db, from);
    return rc;
}

int dn_central_open(const char *dir, int flags, sqlite3 **db)
{
    char path[4096];
    int n = snprintf(path, sizeof path, "%s/%s", dir, DN_CENTRAL_DB_FILE);
    if (n < 0 || (size_t)n >= sizeof path)
        return DN_EINVAL;
    int rc = dn_db_open(path, flags, s_migrations,
                        sizeof s_migrations / sizeof s_migrations[0], db);
    /* The ledger's indexes are large and hot: give them 64 MiB of cache.  */
    if (rc == 0)
        rc = dn_db_exec(*db, "PRAGMA cache_size = -65536");
    if (rc == 0 &&
        (rc = dn_phones_migrate(*db)) != 0) {
        sqlite3_close(*db);
        *db = NULL;
    }
    return rc;
}


int dn_central_open_reader(const char *dir, sqlite3 **db)
{
    char path[4096];
    int n = snprintf(path, sizeof path, "%s/%s", dir, DN_CENTRAL_DB_FILE);
    if (n < 0 || (size_t)n >= sizeof path)
        return DN_EINVAL;
    int rc = dn_db_open_reader(path, sizeof s_migrations / sizeof s_migrations[0], db);
    /* the writer's cache: a report or a statement reads the same hot
       indexes as ingest does */
    if (rc == 0 && (rc = dn_db_exec(*db, "PRAGMA cache_size = -65536")) != 0) {
        sqlite3_close(*db);
        *db = NULL;
    }
    return rc;
}
