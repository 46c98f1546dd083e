/*  dn_verify -- recomputing everything the ledger can prove (see
    dn_verify.h for what is checked).

    Verify is the auditor's room, apart from the posting it audits: it
    reads central.db on its own connection in one read transaction (HQ's
    reads never stall the shops), checks every chain -- the sites' event
    chains with the same step the agent and ingest take (dn_chain), the
    batch signatures, the transfer and correction hashes the ledger wrote
    -- and replays every sale, refund and correction through the ledger's
    own posting code into TEMP tables that shadow main.transfers,
    main.accounts and main.account_periods, so a difference is a
    difference of the data, never of a second copy of the rules.
*/
#include "dn_verify.h"
#include "dn_array.h"
#include "dn_chain.h"
#include "dn_crypto.h"
#include "dn_db.h"
#include "dn_error.h"
#include "dn_facts.h"
#include "dn_i18n.h"
#include "dn_ledger.h"
#include "dn_money.h"
#include "dn_phones.h"
#include "dn_registry.h"
#include "dn_valid.h"
#include "dn_wire.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    json_t *differences;
    int64_t events, transfers, accounts, corrections;
    int64_t reserved; /* what the stored transfers put in the running total */
    char *why;        /* the step that could not be read, when one fails */
    size_t why_size;
} s_verify_t;

static void s_diff(s_verify_t *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void s_diff(s_verify_t *v, const char *fmt, ...)
{
    char text[512];
    va_list args;
    va_start(args, fmt);
    vsnprintf(text, sizeof text, fmt, args);
    va_end(args);
    if (json_array_size(v->differences) < 1000)
        json_array_append_new(v->differences, json_string(text));
}

/*  A read verify needs failed: verify fails, naming the step, and never
    says ok having checked less than it should.  step: marked N_() by the
    callers, a noun phrase the reason holds in HQ's language.  */
static int s_unread(s_verify_t *v, int rc, const char *step)
{
    if (v->why && v->why_size && !v->why[0])
        snprintf(v->why, v->why_size,
                 _("verify: cannot read %s (%s); nothing was verified"), _(step),
                 dn_strerror(rc));
    return rc;
}

/*  Every site's chain: contiguous seqs, hashes of the stored bytes, links,
    checkpoint signatures, and the site's recorded head.  */
static int s_verify_events(sqlite3 *db, s_verify_t *v)
{
    sqlite3_stmt *sites, *events;
    int rc = 0, srow, row = 0;
    if (dn_db_prepare(db, "SELECT id, code, NULL, applied_seq, head_hash FROM sites", &sites))
        return s_unread(v, DN_EDB, N_("the sites"));
    if (dn_db_prepare(db,
                      "SELECT seq, body, hash, signature FROM events WHERE site_id = ? "
                      "ORDER BY seq",
                      &events)) {
        sqlite3_finalize(sites);
        return s_unread(v, DN_EDB, N_("the events"));
    }
    while ((srow = dn_db_row(sites, "verify: sites")) == 1) {
        char code[DN_MAX_CODE_LEN + 1];
        uint8_t prev[DN_HASH_BYTES], sign_key[DN_PUBKEY_BYTES] = {0};
        int has_key = 0;
        int64_t expect = 1, key_through = 0; /* sign_key signed seqs up to here */
        if (dn_db_column_copy(sites, 1, code, sizeof code)) {
            rc = s_unread(v, DN_ENOMEM, N_("the sites"));
            break;
        }
        memcpy(prev, DN_CHAIN_GENESIS, DN_HASH_BYTES);
        sqlite3_reset(events);
        sqlite3_bind_int64(events, 1, sqlite3_column_int64(sites, 0));
        while ((row = dn_db_row(events, "verify: events")) == 1) {
            int64_t seq = sqlite3_column_int64(events, 0);
            const uint8_t *body = sqlite3_column_blob(events, 1);
            size_t len = (size_t)sqlite3_column_bytes(events, 1);
            uint8_t hash[DN_HASH_BYTES];
            Dealernet__Event *ev = NULL;
            char why[DN_WHY_SIZE];
            int decoded = dn_wire_event_unpack(body, len, &ev, why, sizeof why) == 0;
            int link = dn_chain_step(prev, decoded ? ev : NULL, body, len, hash);
            if (link == DN_ECRYPTO) { /* no hash, so nothing after it can be checked */
                dn_wire_event_free(&ev);
                rc = s_unread(v, link, N_("the events"));
                break;
            }
            v->events++;
            if (seq != expect)
                s_diff(v, _("site %s: seq %lld missing before seq %lld"), code,
                       (long long)expect, (long long)seq);
            expect = seq + 1;
            if (sqlite3_column_bytes(events, 2) != DN_HASH_BYTES ||
                memcmp(hash, sqlite3_column_blob(events, 2), DN_HASH_BYTES) != 0)
                s_diff(v,
                       _("site %s seq %lld: stored hash is not the hash of the stored "
                         "event"),
                       code, (long long)seq);
            if (!decoded) {
                s_diff(v, _("site %s seq %lld: event does not decode: %s"), code,
                       (long long)seq, why);
            } else {
                if (link == DN_ECHAIN)
                    s_diff(v, _("site %s seq %lld: does not link to the previous event"),
                           code, (long long)seq);
                if (ev->seq != (uint64_t)seq || strcmp(ev->site, code) != 0)
                    s_diff(v, _("site %s seq %lld: event names site %s seq %llu"), code,
                           (long long)seq, ev->site, (unsigned long long)ev->seq);
            }
            dn_wire_event_free(&ev);
            /* a site moved to another PC (`site token`) has each batch
               checked with the key of the PC that signed it */
            if (sqlite3_column_type(events, 3) != SQLITE_NULL && seq > key_through &&
                dn_registry_sign_key_for(db, sqlite3_column_int64(sites, 0), seq, sign_key,
                                         &has_key, &key_through) != 0) {
                rc = s_unread(v, DN_EDB, N_("the sites' keys"));
                break;
            }
            if (sqlite3_column_type(events, 3) != SQLITE_NULL) {
                if (!has_key || sqlite3_column_bytes(events, 3) != DN_SIG_BYTES ||
                    dn_chain_verify(sign_key, code, (uint64_t)seq, hash,
                                    sqlite3_column_blob(events, 3)) != 0)
                    s_diff(v, _("site %s seq %lld: batch signature does not verify"),
                           code, (long long)seq);
            }
            memcpy(prev, hash, DN_HASH_BYTES);
        }
        if (rc == 0 && row < 0)
            rc = s_unread(v, DN_EDB, N_("the events"));
        if (rc)
            break;
        if (sqlite3_column_int64(sites, 3) != expect - 1 ||
            sqlite3_column_bytes(sites, 4) != DN_HASH_BYTES ||
            memcmp(sqlite3_column_blob(sites, 4), prev, DN_HASH_BYTES) != 0)
            s_diff(v, _("site %s: recorded head (seq %lld) is not the last stored event"),
                   code, (long long)sqlite3_column_int64(sites, 3));
    }
    if (rc == 0 && srow < 0)
        rc = s_unread(v, DN_EDB, N_("the sites"));
    sqlite3_finalize(events);
    sqlite3_finalize(sites);
    return rc;
}

/*  The transfer chain, balances, and closed periods.  */
static int s_verify_transfers(sqlite3 *db, s_verify_t *v)
{
    sqlite3_stmt *stmt;
    uint8_t prev[DN_HASH_BYTES] = {0};
    int64_t sum = 0;
    int row, overflow = 0;

    if (dn_db_prepare(db,
                      "SELECT t.id, t.debit, t.credit, t.amount, t.code, t.source_eid, "
                      "t.sale_eid, t.reverses, t.level, t.rate_bps, t.category, t.bonus, "
                      "t.period, t.event_period, t.ref, t.created_ms, t.prev_hash, t.hash, "
                      "p.closed_ms FROM main.transfers t "
                      "LEFT JOIN periods p ON p.period = t.period ORDER BY t.id",
                      &stmt))
        return s_unread(v, DN_EDB, N_("the transfers"));
    while ((row = dn_db_row(stmt, "verify: transfers")) == 1) {
        dn_ledger_transfer_t t;
        uint8_t hash[DN_HASH_BYTES];
        int64_t id = sqlite3_column_int64(stmt, 0), reserve;
        memset(&t, 0, sizeof t);
        v->transfers++;
        t.debit = sqlite3_column_int64(stmt, 1);
        t.credit = sqlite3_column_int64(stmt, 2);
        t.amount = sqlite3_column_int64(stmt, 3);
        t.code = (const char *)sqlite3_column_text(stmt, 4);
        t.source_eid = sqlite3_column_int64(stmt, 5);
        t.sale_eid = sqlite3_column_int64(stmt, 6);
        t.reverses = sqlite3_column_int64(stmt, 7);
        t.has_level = sqlite3_column_type(stmt, 8) != SQLITE_NULL;
        t.level = sqlite3_column_int(stmt, 8);
        t.has_rate = sqlite3_column_type(stmt, 9) != SQLITE_NULL;
        t.rate_bps = sqlite3_column_int(stmt, 9);
        t.category = (const char *)sqlite3_column_text(stmt, 10);
        t.bonus = sqlite3_column_int(stmt, 11);
        snprintf(t.period, sizeof t.period, "%s", (const char *)sqlite3_column_text(stmt, 12));
        snprintf(t.event_period, sizeof t.event_period, "%s",
                 sqlite3_column_type(stmt, 13) == SQLITE_NULL
                     ? ""
                     : (const char *)sqlite3_column_text(stmt, 13));
        t.ref = (const char *)sqlite3_column_text(stmt, 14);
        t.created_ms = sqlite3_column_int64(stmt, 15);
        if (!t.code) { /* NOT NULL in the schema: out of memory */
            sqlite3_finalize(stmt);
            return s_unread(v, DN_ENOMEM, N_("the transfers"));
        }
        if (sqlite3_column_bytes(stmt, 16) != DN_HASH_BYTES ||
            memcmp(sqlite3_column_blob(stmt, 16), prev, DN_HASH_BYTES) != 0)
            s_diff(v, _("transfer %lld: does not link to the transfer before it"),
                   (long long)id);
        if (dn_ledger_transfer_hash(id, &t, prev, hash) != 0 ||
            sqlite3_column_bytes(stmt, 17) != DN_HASH_BYTES ||
            memcmp(sqlite3_column_blob(stmt, 17), hash, DN_HASH_BYTES) != 0)
            s_diff(
                v,
                _("transfer %lld: its fields do not hash to its stored hash (altered)"),
                (long long)id);
        if (sqlite3_column_bytes(stmt, 17) == DN_HASH_BYTES)
            memcpy(prev, sqlite3_column_blob(stmt, 17), DN_HASH_BYTES);
        if (sqlite3_column_type(stmt, 18) != SQLITE_NULL &&
            sqlite3_column_int64(stmt, 18) < t.created_ms)
            s_diff(v, _("transfer %lld: posted into %s after that period was closed"),
                   (long long)id, t.period);
        if (sqlite3_column_type(stmt, 3) != SQLITE_INTEGER)
            s_diff(v, _("transfer %lld: amount is not an integer (minor units)"),
                   (long long)id);
        else if (t.amount <= 0)
            s_diff(v, _("transfer %lld: amount is not positive"), (long long)id);
        else if (!overflow && (dn_ledger_transfer_reserve(&t, &reserve) ||
                               dn_money_add(v->reserved, reserve, &v->reserved)))
            overflow = 1;
    }
    sqlite3_finalize(stmt);
    if (row < 0)
        return s_unread(v, DN_EDB, N_("the transfers"));
    if (overflow)
        s_diff(v, _("transfers: their amounts sum beyond int64 minor units"));

    if (dn_db_prepare(db,
                      "WITH moves(account, amount) AS ("
                      "  SELECT credit, amount FROM main.transfers"
                      "  UNION ALL SELECT debit, -amount FROM main.transfers),"
                      " sums(account, total) AS (SELECT account, sum(amount) FROM moves"
                      "  GROUP BY account) "
                      "SELECT a.name, a.balance, coalesce(s.total, 0), typeof(a.balance) "
                      "FROM main.accounts a LEFT JOIN sums s ON s.account = a.id "
                      "ORDER BY a.id",
                      &stmt))
        return s_unread(v, DN_EDB, N_("the accounts"));
    overflow = 0;
    while ((row = dn_db_row(stmt, "verify: accounts")) == 1) {
        const char *name = (const char *)sqlite3_column_text(stmt, 0);
        int64_t balance = sqlite3_column_int64(stmt, 1);
        v->accounts++;
        if (sqlite3_column_type(stmt, 1) != SQLITE_INTEGER) {
            s_diff(v,
                   _("account %s: balance is stored as %s, not an integer (minor units)"),
                   name ? name : "?", (const char *)sqlite3_column_text(stmt, 3));
            continue;
        }
        if (!overflow && dn_money_add(sum, balance, &sum))
            overflow = 1;
        if (sqlite3_column_type(stmt, 2) != SQLITE_INTEGER ||
            balance != sqlite3_column_int64(stmt, 2))
            s_diff(v,
                   _("account %s: balance %lld is not its transfers' %lld (minor units)"),
                   name ? name : "?", (long long)balance,
                   (long long)sqlite3_column_int64(stmt, 2));
    }
    sqlite3_finalize(stmt);
    if (row < 0)
        return s_unread(v, DN_EDB, N_("the accounts"));
    if (overflow)
        s_diff(v, _("balances sum beyond int64 minor units: debits and credits differ"));
    else if (sum != 0)
        s_diff(v, _("balances sum to %lld, not 0: debits and credits differ"),
               (long long)sum);
    return 0;
}

/*  account_periods (dn_ledger_flush keeps it): every row is what the
    transfers of its account, period and code add up to, and every
    account, period and code the transfers touch has its row, as balances
    are checked against the transfers.  The replay fills a TEMP copy
    (s_verify_postings) that is not compared with this one: it posts a
    closed month's events into the month open after it, as a late event,
    and replays no payout, so its keys differ; what it posts is compared
    transfer by transfer there.  */
static int s_verify_account_periods(sqlite3 *db, s_verify_t *v)
{
    sqlite3_stmt *stmt;
    int row;

    if (dn_db_prepare(
            db,
            "WITH moves(period, account, code, credits, debits) AS ("
            "  SELECT period, credit, code, amount, 0 FROM main.transfers"
            "  UNION ALL SELECT period, debit, code, 0, amount FROM main.transfers),"
            " sums AS (SELECT period, account, code, sum(credits) AS credits,"
            "  sum(debits) AS debits FROM moves GROUP BY period, account, code),"
            " pairs(period, account, code, kc, kd, tc, td) AS ("
            "  SELECT period, account, code, credits, debits, NULL, NULL"
            "    FROM main.account_periods"
            "  UNION ALL SELECT period, account, code, NULL, NULL, credits, debits"
            "    FROM sums) "
            "SELECT coalesce(a.name, '#' || b.account), b.period, b.code, count(b.kc),"
            " max(b.kc), max(b.kd), count(b.tc), max(b.tc), max(b.td) FROM pairs b "
            "LEFT JOIN main.accounts a ON a.id = b.account "
            "GROUP BY b.period, b.account, b.code "
            "HAVING count(b.kc) <> 1 OR count(b.tc) <> 1 OR max(b.kc) IS NOT max(b.tc)"
            " OR max(b.kd) IS NOT max(b.td) "
            "ORDER BY b.period, b.account, b.code",
            &stmt))
        return s_unread(v, DN_EDB, N_("the accounts' periods"));
    while ((row = dn_db_row(stmt, "verify: account periods")) == 1) {
        const char *name = (const char *)sqlite3_column_text(stmt, 0);
        const char *period = (const char *)sqlite3_column_text(stmt, 1);
        const char *code = (const char *)sqlite3_column_text(stmt, 2);
        long long kc = sqlite3_column_int64(stmt, 4), kd = sqlite3_column_int64(stmt, 5);
        long long tc = sqlite3_column_int64(stmt, 7), td = sqlite3_column_int64(stmt, 8);
        if (!name || !period || !code) /* NOT NULL in the schema: out of memory */
            row = DN_ENOMEM;
        else if (sqlite3_column_int(stmt, 3) != 1)
            s_diff(v,
                   _("account %s: no account_periods row for %s %s; its transfers "
                     "credit %lld and debit %lld (minor units)"),
                   name, period, code, tc, td);
        else if (sqlite3_column_int(stmt, 6) != 1)
            s_diff(v,
                   _("account %s: account_periods holds %s %s (credits %lld, debits "
                     "%lld), where it has no transfer"),
                   name, period, code, kc, kd);
        else
            s_diff(v,
                   _("account %s: account_periods says %s %s credits %lld, debits %lld; "
                     "its transfers credit %lld, debit %lld (minor units)"),
                   name, period, code, kc, kd, tc, td);
        if (row < 0)
            break;
    }
    sqlite3_finalize(stmt);
    if (row < 0)
        return s_unread(v, row == DN_ENOMEM ? DN_ENOMEM : DN_EDB,
                        N_("the accounts' periods"));
    return 0;
}

/*  The running totals: what money_totals holds is what the stored sales
    and transfers put there (see dn_ledger_transfer_reserve), within DN_MONEY_SUM_MAX.  */
static int s_verify_totals(sqlite3 *db, s_verify_t *v)
{
    sqlite3_stmt *stmt;
    int64_t sales = 0, stored_sales = 0, stored_transfers = 0;
    int row, overflow = 0, found;

    if (dn_db_prepare(db, "SELECT total FROM main.sales WHERE held = 0", &stmt))
        return s_unread(v, DN_EDB, N_("the sales"));
    while ((row = dn_db_row(stmt, "verify: sales")) == 1)
        if (!overflow && (sqlite3_column_type(stmt, 0) != SQLITE_INTEGER ||
                          dn_money_add(sales, sqlite3_column_int64(stmt, 0), &sales)))
            overflow = 1;
    sqlite3_finalize(stmt);
    if (row < 0)
        return s_unread(v, DN_EDB, N_("the sales"));
    if (dn_db_prepare(db, "SELECT sales, transfers FROM main.money_totals WHERE id = 1",
                      &stmt))
        return s_unread(v, DN_EDB, N_("the running totals"));
    if ((found = dn_db_row(stmt, "verify: running totals")) == 1) {
        stored_sales = sqlite3_column_int64(stmt, 0);
        stored_transfers = sqlite3_column_int64(stmt, 1);
    }
    sqlite3_finalize(stmt);
    if (found < 0)
        return s_unread(v, DN_EDB, N_("the running totals"));
    if (found == 0) {
        s_diff(v, _("running totals: the row is missing"));
        return 0;
    }
    if (overflow)
        s_diff(v, _("running totals: the posted sales sum beyond int64 minor units "
                    "(or a total is not an integer)"));
    else if (stored_sales != sales)
        s_diff(v,
               _("running totals: sales %lld is not the sum of the posted sales' totals "
                 "%lld (minor units)"),
               (long long)stored_sales, (long long)sales);
    if (stored_transfers != v->reserved)
        s_diff(v,
               _("running totals: transfers %lld is not what the stored transfers add "
                 "up to, %lld (minor units)"),
               (long long)stored_transfers, (long long)v->reserved);
    if (stored_sales > DN_MONEY_SUM_MAX || stored_transfers > DN_MONEY_SUM_MAX)
        s_diff(v, _("running totals: beyond their bound of %lld minor units"),
               (long long)DN_MONEY_SUM_MAX);
    return 0;
}

/*  The corrections as stored: each row against its hash, its transfers
    against the row, a void against the sale it voids, and no 'adjustment'
    transfer outside a correction.  Recomputing what each one posted is
    s_verify_postings' part (it replays them between the events).  */
static int s_verify_corrections(sqlite3 *db, s_verify_t *v)
{
    sqlite3_stmt *rows = NULL, *range = NULL, *sale = NULL, *left = NULL, *adjust = NULL;
    int rc = 0, step;

    if (dn_db_prepare(
            db,
            "SELECT id, kind, coalesce(sale_eid, 0), coalesce(account, 0), amount, "
            "reason, admin, created_ms, period, events_through, "
            "coalesce(first_transfer, 0), coalesce(last_transfer, 0), hash "
            "FROM corrections ORDER BY id",
            &rows) ||
        dn_db_prepare(
            db,
            "SELECT count(*), coalesce(sum(code != 'adjustment'), 0), "
            "coalesce(sum(CASE WHEN ?3 THEN sale_eid IS NOT ?4 OR reverses IS NULL "
            "ELSE sale_eid IS NOT NULL OR reverses IS NOT NULL END), 0) "
            "FROM main.transfers WHERE id BETWEEN ?1 AND ?2",
            &range) ||
        dn_db_prepare(
            db,
            "SELECT s.total - (SELECT coalesce(sum(r.amount), 0) FROM refunds r "
            "  WHERE r.sale_eid = s.eid AND r.eid <= ?2) FROM sales s WHERE s.eid = ?1",
            &sale) ||
        dn_db_prepare(
            db,
            "SELECT count(*) FROM main.transfers o WHERE o.sale_eid = ?1 "
            "AND o.reverses IS NULL AND o.code IN ('commission', 'referral', "
            "'override') AND o.id < ?2 AND o.amount != (SELECT coalesce(sum(c.amount), "
            "0) FROM main.transfers c WHERE c.reverses = o.id AND c.id <= ?3)",
            &left) ||
        dn_db_prepare(db,
                      "SELECT t.id, d.name, c.name, t.amount, a.name, a.kind "
                      "FROM main.transfers t JOIN main.accounts d ON d.id = t.debit "
                      "JOIN main.accounts c ON c.id = t.credit "
                      "LEFT JOIN main.accounts a ON a.id = ?2 WHERE t.id = ?1",
                      &adjust)) {
        rc = DN_EDB;
        goto done;
    }
    while (rc == 0 && (step = dn_db_row(rows, "verify: corrections")) == 1) {
        dn_ledger_correction_t c;
        uint8_t hash[DN_HASH_BYTES];
        int64_t n = 0, first, last;
        memset(&c, 0, sizeof c);
        v->corrections++;
        c.id = sqlite3_column_int64(rows, 0);
        c.kind = (const char *)sqlite3_column_text(rows, 1);
        c.sale_eid = sqlite3_column_int64(rows, 2);
        c.account = sqlite3_column_int64(rows, 3);
        c.amount = sqlite3_column_int64(rows, 4);
        c.reason = (const char *)sqlite3_column_text(rows, 5);
        c.admin = (const char *)sqlite3_column_text(rows, 6);
        c.created_ms = sqlite3_column_int64(rows, 7);
        snprintf(c.period, sizeof c.period, "%s",
                 (const char *)sqlite3_column_text(rows, 8));
        c.events_through = sqlite3_column_int64(rows, 9);
        c.first_transfer = first = sqlite3_column_int64(rows, 10);
        c.last_transfer = last = sqlite3_column_int64(rows, 11);
        if (!c.kind || !c.reason || !c.admin) {
            rc = DN_ENOMEM;
            break;
        }
        if ((rc = dn_ledger_correction_hash(&c, hash)) != 0)
            break;
        if (sqlite3_column_bytes(rows, 12) != DN_HASH_BYTES ||
            memcmp(sqlite3_column_blob(rows, 12), hash, DN_HASH_BYTES) != 0)
            s_diff(
                v,
                _("correction %lld: its fields do not hash to its stored hash (altered)"),
                (long long)c.id);

        /* its transfers: all there, all adjustments, a void's naming the
           sale and what they reverse, an adjustment's neither */
        if (first) {
            sqlite3_reset(range);
            sqlite3_bind_int64(range, 1, first);
            sqlite3_bind_int64(range, 2, last);
            sqlite3_bind_int(range, 3, strcmp(c.kind, "void") == 0);
            sqlite3_bind_int64(range, 4, c.sale_eid);
            if (dn_db_row(range, "verify: a correction's transfers") != 1) {
                rc = DN_EDB; /* an aggregate always has its row */
                break;
            }
            n = sqlite3_column_int64(range, 0);
            if (n != last - first + 1)
                s_diff(v,
                       _("correction %lld: %lld of its transfers %lld..%lld are stored"),
                       (long long)c.id, (long long)n, (long long)first, (long long)last);
            /* one whole sentence each (a word put in by %s stays English) */
            if (sqlite3_column_int64(range, 1) || sqlite3_column_int64(range, 2))
                s_diff(v,
                       strcmp(c.kind, "void") == 0
                           ? _("correction %lld: its transfers %lld..%lld are not all the "
                               "sale's reversing adjustments")
                           : _("correction %lld: its transfers %lld..%lld are not all plain "
                               "adjustments"),
                       (long long)c.id, (long long)first, (long long)last);
        }

        if (strcmp(c.kind, "void") == 0) {
            /* the part of the sale it counts as refunded ... */
            sqlite3_reset(sale);
            sqlite3_bind_int64(sale, 1, c.sale_eid);
            sqlite3_bind_int64(sale, 2, c.events_through);
            step = dn_db_row(sale, "verify: a voided sale");
            if (step == 0)
                s_diff(v, _("correction %lld: voids event %lld, which is no stored sale"),
                       (long long)c.id, (long long)c.sale_eid);
            else if (step < 0)
                rc = DN_EDB;
            else if (sqlite3_column_int64(sale, 0) != c.amount)
                s_diff(
                    v,
                    _("correction %lld: the void of sale %lld counts %lld minor units as "
                      "refunded; the sale had %lld unrefunded then"),
                    (long long)c.id, (long long)c.sale_eid, (long long)c.amount,
                    (long long)sqlite3_column_int64(sale, 0));
            /* ... and nothing of the sale left unreversed after it */
            if (rc == 0 && first) {
                sqlite3_reset(left);
                sqlite3_bind_int64(left, 1, c.sale_eid);
                sqlite3_bind_int64(left, 2, first);
                sqlite3_bind_int64(left, 3, last);
                if (dn_db_row(left, "verify: what a void left") != 1)
                    rc = DN_EDB; /* an aggregate always has its row */
                else if (sqlite3_column_int64(left, 0))
                    s_diff(v,
                           _("correction %lld: after the void of sale %lld, %lld of its "
                             "transfers are not wholly reversed"),
                           (long long)c.id, (long long)c.sale_eid,
                           (long long)sqlite3_column_int64(left, 0));
            }
        } else if (!first || last != first) {
            s_diff(v, _("correction %lld: an adjustment has one transfer, not %lld"),
                   (long long)c.id, (long long)(first ? last - first + 1 : 0));
        } else {
            /* the one transfer moves what the row says, between the
               account and HQ's expense of its kind */
            const char *debit, *credit, *name, *kind, *hq;
            sqlite3_reset(adjust);
            sqlite3_bind_int64(adjust, 1, first);
            sqlite3_bind_int64(adjust, 2, c.account);
            if ((step = dn_db_row(adjust, "verify: an adjustment's transfer")) == 1) {
                debit = (const char *)sqlite3_column_text(adjust, 1);
                credit = (const char *)sqlite3_column_text(adjust, 2);
                name = (const char *)sqlite3_column_text(adjust, 4);
                kind = (const char *)sqlite3_column_text(adjust, 5);
                hq =
                    kind && strcmp(kind, "member") == 0 ? "hq:referral" : "hq:commission";
                if (!debit || !credit) {
                    rc = DN_ENOMEM;
                } else if (!name ||
                           sqlite3_column_int64(adjust, 3) !=
                               (c.amount > 0 ? c.amount : -c.amount) ||
                           strcmp(c.amount > 0 ? debit : credit, hq) != 0 ||
                           strcmp(c.amount > 0 ? credit : debit, name) != 0) {
                    s_diff(v,
                           _("correction %lld: its transfer %lld moves %lld minor units "
                             "%s -> "
                             "%s; the correction says %+lld to %s"),
                           (long long)c.id, (long long)first,
                           (long long)sqlite3_column_int64(adjust, 3), debit, credit,
                           (long long)c.amount, name ? name : "an account that is not");
                }
            } else if (step < 0) {
                rc = DN_EDB;
            }
        }
    }
    if (rc == 0 && step < 0) /* corrections not checked are not "ok" */
        rc = DN_EDB;
    sqlite3_finalize(rows);
    rows = NULL;

    /* every adjustment transfer is some correction's */
    if (rc == 0 &&
        dn_db_prepare(db,
                      "SELECT t.id FROM main.transfers t WHERE t.code = 'adjustment' "
                      "AND NOT EXISTS (SELECT 1 FROM corrections c WHERE "
                      "t.id BETWEEN c.first_transfer AND c.last_transfer) "
                      "ORDER BY t.id",
                      &rows))
        rc = DN_EDB;
    while (rc == 0 && (step = dn_db_row(rows, "verify: adjustment transfers")) == 1)
        s_diff(v, _("transfer %lld: an adjustment that no correction made"),
               (long long)sqlite3_column_int64(rows, 0));
    if (rc == 0 && step < 0)
        rc = DN_EDB;
done:
    sqlite3_finalize(rows);
    sqlite3_finalize(range);
    sqlite3_finalize(sale);
    sqlite3_finalize(left);
    sqlite3_finalize(adjust);
    return rc ? s_unread(v, rc, N_("the corrections")) : 0;
}

/*  One correction to replay, as s_verify_postings reads it.  */
typedef struct {
    int64_t id, sale_eid, account, amount, created_ms, events_through;
    int is_void;
} s_replay_t;

/*  Replays correction r through the posting code into verify's scratch
    tables: a void reverses what the replayed sale still holds there, an
    adjustment posts its row's amount to the same account by name.  */
static int s_replay_correction(dn_ledger_t *ledger, sqlite3_stmt *account,
                               const s_replay_t *r, s_verify_t *v)
{
    char name[DN_ACCOUNT_NAME_SIZE], kind[16], phone[DN_PHONE_SIZE];
    int64_t partner_id;
    int step;

    if (r->is_void)
        return dn_ledger_replay_void(ledger, r->sale_eid, r->created_ms);
    sqlite3_reset(account);
    sqlite3_bind_int64(account, 1, r->account);
    step = dn_db_row(account, "verify: an adjusted account");
    if (step == 0) {
        s_diff(v, _("correction %lld: adjusts account %lld, which does not exist"),
               (long long)r->id, (long long)r->account);
        return 0;
    }
    if (step < 0 || dn_db_column_copy(account, 0, name, sizeof name) ||
        dn_db_column_copy(account, 1, kind, sizeof kind) ||
        dn_db_column_copy(account, 3, phone, sizeof phone))
        return DN_EDB;
    partner_id = sqlite3_column_int64(account, 2);
    if (strcmp(kind, "partner") != 0 && strcmp(kind, "member") != 0) {
        s_diff(
            v,
            _("correction %lld: adjusts %s, which is no partner's or member's account"),
            (long long)r->id, name);
        return 0;
    }
    if (r->amount == 0 || r->amount > DN_LEDGER_MAX_ADJUSTMENT ||
        r->amount < -DN_LEDGER_MAX_ADJUSTMENT) {
        s_diff(v, _("correction %lld: adjusts by %lld minor units, out of range"),
               (long long)r->id, (long long)r->amount);
        return 0;
    }
    return dn_ledger_replay_adjust(ledger, name, kind, partner_id, phone[0] ? phone : NULL,
                                   r->amount, r->created_ms);
}

/*  Replays every sale and refund into TEMP tables through the posting code
    and compares with what is stored.  Held sales and their refunds post
    nothing (HOLD): the replay skips them, so a transfer stored for one
    shows as posted but not what the rules give.  */
static int s_verify_postings(sqlite3 *db, s_verify_t *v)
{
    static const char *const scratch =
        "CREATE TEMP TABLE accounts (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, "
        "  kind TEXT NOT NULL, partner_id INTEGER, phone TEXT, balance INTEGER NOT NULL "
        "  DEFAULT 0);"
        "CREATE TEMP TABLE transfers (id INTEGER PRIMARY KEY, debit INTEGER, credit INTEGER, "
        "  amount INTEGER, code TEXT, source_eid INTEGER, sale_eid INTEGER, reverses INTEGER, "
        "  level INTEGER, rate_bps INTEGER, category TEXT, bonus INTEGER, period TEXT, "
        "  event_period TEXT, ref TEXT, created_ms INTEGER, prev_hash BLOB, hash BLOB);"
        "CREATE INDEX temp.scratch_sale ON transfers(sale_eid);"
        /* the posting code's flush writes here, not into main's */
        "CREATE TEMP TABLE account_periods (period TEXT NOT NULL, "
        "  account INTEGER NOT NULL, code TEXT NOT NULL, credits INTEGER NOT NULL, "
        "  debits INTEGER NOT NULL, PRIMARY KEY (period, account, code)) WITHOUT ROWID;"
        "CREATE TEMP TABLE money_totals (id INTEGER PRIMARY KEY, sales INTEGER NOT NULL, "
        "  transfers INTEGER NOT NULL);"
        "INSERT INTO temp.money_totals VALUES (1, 0, 0);";
    /* What a transfer is, independent of ids and posting time, and how
       many times it was posted: EXCEPT compares sets, so without the count
       an event posted twice would look like one posted once.  */
    /* A correction's transfers are told by what they belong to: the void
       of a sale, or a manual correction (by the accounts they name).  */
    static const char *const shape =
        "SELECT CASE WHEN t.source_eid IS NOT NULL THEN 'event ' || t.source_eid "
        "WHEN t.sale_eid IS NOT NULL THEN 'the void of sale ' || t.sale_eid "
        "ELSE 'a manual correction' END, t.code, d.name, c.name, t.amount, "
        "coalesce(t.level, -1), "
        "coalesce(t.rate_bps, -1), coalesce(t.category, ''), t.bonus, count(*) "
        "FROM %s.transfers t "
        "JOIN %s.accounts d ON d.id = t.debit JOIN %s.accounts c ON c.id = t.credit "
        "WHERE t.code IN ('commission', 'referral', 'override', 'clawback', "
        "'adjustment') "
        "GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9";
    char sql[2048], a[800], b[800];
    sqlite3_stmt *stmt, *account = NULL;
    s_replay_t *replay = NULL;
    dn_phones_t *phones = NULL;
    dn_db_cache_t *loads = NULL; /* dn_facts_load's statement */
    size_t n_replay = 0, cap = 0, next = 0;
    dn_ledger_t *ledger;
    int rc = 0, row = 0, step;

    if (dn_db_exec(db, scratch))
        return s_unread(v, DN_EDB, N_("a scratch copy of the ledger"));
    /* The corrections, in the order they were made among the events.  */
    if (dn_db_prepare(
            db,
            "SELECT id, kind = 'void', coalesce(sale_eid, 0), coalesce(account, 0), "
            "amount, created_ms, events_through FROM corrections "
            "ORDER BY events_through, id",
            &stmt))
        return s_unread(v, DN_EDB, N_("the corrections"));
    while (rc == 0 && (step = dn_db_row(stmt, "verify: corrections to replay")) == 1) {
        s_replay_t *r, *bigger = dn_array_grow(replay, &cap, n_replay, sizeof *r, 8);
        if (!bigger) {
            rc = DN_ENOMEM;
            break;
        }
        replay = bigger;
        r = &replay[n_replay++];
        r->id = sqlite3_column_int64(stmt, 0);
        r->is_void = sqlite3_column_int(stmt, 1);
        r->sale_eid = sqlite3_column_int64(stmt, 2);
        r->account = sqlite3_column_int64(stmt, 3);
        r->amount = sqlite3_column_int64(stmt, 4);
        r->created_ms = sqlite3_column_int64(stmt, 5);
        r->events_through = sqlite3_column_int64(stmt, 6);
    }
    if (rc == 0 && step < 0) /* a replay without some corrections is wrong */
        rc = s_unread(v, DN_EDB, N_("the corrections"));
    sqlite3_finalize(stmt);
    if (rc == 0 && dn_db_prepare(db,
                                 "SELECT name, kind, coalesce(partner_id, 0), phone "
                                 "FROM main.accounts WHERE id = ?",
                                 &account))
        rc = DN_EDB;
    if (rc == 0 && (!(phones = dn_phones_new(db)) || !(loads = dn_db_cache_new(db))))
        rc = DN_EDB;
    if (rc || !(ledger = dn_ledger_new(db))) {
        dn_phones_destroy(&phones);
        dn_db_cache_destroy(&loads);
        sqlite3_finalize(account);
        free(replay);
        return s_unread(v, rc ? rc : DN_ENOMEM,
                        N_("what the rules give (the replay of the events)"));
    }
    /* Each event as the server believed it when it stored it (dn_facts:
       its time, its seller), held ones left out as they were.  */
    if (dn_db_prepare(db,
                      "SELECT eid, received_ms FROM events "
                      "WHERE kind IN ('sale', 'refund') ORDER BY eid",
                      &stmt)) {
        dn_ledger_destroy(&ledger);
        dn_phones_destroy(&phones);
        dn_db_cache_destroy(&loads);
        sqlite3_finalize(account);
        free(replay);
        return s_unread(v, DN_EDB, N_("the sale and refund events"));
    }
    while (rc == 0 && (row = dn_db_row(stmt, "verify: sale and refund events")) == 1) {
        Dealernet__Event *ev = NULL;
        int64_t eid = sqlite3_column_int64(stmt, 0);
        int held;
        /* the corrections made before this event was stored come first */
        while (rc == 0 && next < n_replay && replay[next].events_through < eid)
            rc = s_replay_correction(ledger, account, &replay[next++], v);
        if (rc)
            break;
        rc = dn_facts_load(loads, phones, eid, &ev, &held);
        if (rc == DN_EPROTO) { /* reported by the chain check */
            rc = 0;
            continue;
        }
        if (rc == 0 && !held) /* HOLD: a held sale and its refunds post nothing */
            rc = dn_ledger_post(ledger, eid, ev, sqlite3_column_int64(stmt, 1));
        if (rc == DN_ELIMIT) {
            s_diff(v,
                   _("event %lld: a sale posted although it takes a running total over "
                     "its bound"),
                   (long long)eid);
            rc = 0;
        }
        dn_wire_event_free(&ev);
    }
    sqlite3_finalize(stmt);
    if (rc == 0 && row < 0)
        rc = s_unread(v, DN_EDB, N_("the sale and refund events"));
    while (rc == 0 && next < n_replay)
        rc = s_replay_correction(ledger, account, &replay[next++], v);
    if (rc == 0)
        rc = dn_ledger_flush(ledger);
    dn_ledger_destroy(&ledger);
    dn_phones_destroy(&phones);
    dn_db_cache_destroy(&loads);
    sqlite3_finalize(account);
    free(replay);
    if (rc)
        return s_unread(v, rc, N_("what the rules give (the replay of the events)"));

    snprintf(a, sizeof a, shape, "main", "main", "main");
    snprintf(b, sizeof b, shape, "temp", "temp", "temp");
    for (int side = 0; side < 2; side++) {
        snprintf(sql, sizeof sql, "%s EXCEPT %s", side == 0 ? a : b, side == 0 ? b : a);
        if (dn_db_prepare(db, sql, &stmt))
            return s_unread(v, DN_EDB, N_("the comparison of the postings"));
        while ((row = dn_db_row(stmt, "verify: compare the postings")) == 1) {
            /* the bonus flag in one whole sentence each way */
            const char *posting =
                sqlite3_column_int(stmt, 8)
                    ? _("%s: %s of %s, %s -> %s, %lld minor units (level %d, "
                        "rate %d, category '%s', bonus) x %d")
                    : _("%s: %s of %s, %s -> %s, %lld minor units (level %d, "
                        "rate %d, category '%s') x %d");
            s_diff(v, posting,
                   side == 0 ? _("posted but not what the rules give")
                             : _("the rules give but not posted"),
                   (const char *)sqlite3_column_text(stmt, 1),
                   (const char *)sqlite3_column_text(stmt, 0),
                   (const char *)sqlite3_column_text(stmt, 2),
                   (const char *)sqlite3_column_text(stmt, 3),
                   (long long)sqlite3_column_int64(stmt, 4), sqlite3_column_int(stmt, 5),
                   sqlite3_column_int(stmt, 6),
                   (const char *)sqlite3_column_text(stmt, 7),
                   sqlite3_column_int(stmt, 9));
        }
        sqlite3_finalize(stmt);
        if (row < 0)
            return s_unread(v, DN_EDB, N_("the comparison of the postings"));
    }
    return 0;
}

int dn_verify_run(const char *path, json_t **out, char *why, size_t why_size)
{
    s_verify_t v;
    sqlite3 *db = NULL;
    int rc;

    *out = NULL;
    memset(&v, 0, sizeof v);
    v.why = why;
    v.why_size = why_size;
    if (why && why_size)
        why[0] = '\0';
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        sqlite3_close(db);
        return s_unread(&v, DN_EDB, N_("the database"));
    }
    sqlite3_busy_timeout(db, DN_DB_BUSY_TIMEOUT_MS);
    if (!(v.differences = json_array())) {
        sqlite3_close(db);
        return DN_ENOMEM;
    }
    /* One read transaction: a consistent snapshot while ingest goes on.  */
    rc = dn_db_exec(db, "BEGIN");
    if (rc)
        rc = s_unread(&v, rc, N_("the database"));
    if (rc == 0)
        rc = s_verify_events(db, &v);
    if (rc == 0)
        rc = s_verify_transfers(db, &v);
    if (rc == 0)
        rc = s_verify_account_periods(db, &v);
    if (rc == 0)
        rc = s_verify_totals(db, &v);
    if (rc == 0)
        rc = s_verify_corrections(db, &v);
    if (rc == 0)
        rc = s_verify_postings(db, &v);
    dn_db_exec(db, "ROLLBACK");
    sqlite3_close(db);
    if (rc) {
        json_decref(v.differences);
        return rc;
    }
    *out = json_pack("{s:b, s:I, s:I, s:I, s:I, s:o}", "ok",
                     json_array_size(v.differences) == 0, "events", (json_int_t)v.events,
                     "transfers", (json_int_t)v.transfers, "accounts",
                     (json_int_t)v.accounts, "corrections", (json_int_t)v.corrections,
                     "differences", v.differences);
    if (!*out)
        return DN_ENOMEM;
    return json_array_size(v.differences) ? DN_ECHAIN : 0;
}
