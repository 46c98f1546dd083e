/*  dn_earnings -- the earnings and members streams (see dn_earnings.h).  */
#include "dn_earnings.h"
#include "dn_account.h"
#include "dn_db.h"
#include "dn_error.h"
#include "dn_ledger.h"
#include "dn_log.h"
#include "dn_meta.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_SEQ_MASK ((UINT64_C(1) << DN_EARNINGS_SEQ_BITS) - 1)
#define S_MARK_MAX (UINT64_MAX >> DN_EARNINGS_SEQ_BITS)

/* -- earnings ---------------------------------------------------------------- */

int dn_earnings_figures(sqlite3 *db, const char *partner, const char *period,
                        int64_t now_ms, Dealernet__Earnings *e,
                        char partner_buf[DN_MAX_CODE_LEN + 1],
                        char period_buf[DN_PERIOD_SIZE], char currency_buf[4], char *why,
                        size_t why_size)
{
    dn_ledger_figures_t f;
    sqlite3_stmt *stmt;
    int rc;

    dealernet__earnings__init(e);
    if ((rc = dn_ledger_figures(db, partner, NULL, period, now_ms, &f, why, why_size)))
        return rc;
    snprintf(partner_buf, DN_MAX_CODE_LEN + 1, "%s", partner);
    snprintf(period_buf, DN_PERIOD_SIZE, "%s", f.period);
    snprintf(currency_buf, 4, "%s", f.currency);
    /* the statement's figures, as HQ reads them: nothing computed twice */
    e->has_balance = e->has_opening = e->has_commission = e->has_override = 1;
    e->has_referral = e->has_clawback = e->has_adjustment = e->has_payouts = 1;
    e->balance = f.closing;
    e->opening = f.opening;
    e->commission = f.totals[DN_LEDGER_COMMISSION];
    e->override = f.totals[DN_LEDGER_OVERRIDE];
    e->referral = f.totals[DN_LEDGER_REFERRAL];
    e->adjustment = f.totals[DN_LEDGER_ADJUSTMENT];
    /* debits of the account in the statement; the message holds them >= 0 */
    e->clawback = -f.totals[DN_LEDGER_CLAWBACK];
    e->payouts = -f.totals[DN_LEDGER_PAYOUT];

    if (!currency_buf[0] && /* no plan yet: the network's currency */
        dn_db_meta_get(db, DN_META_CURRENCY, currency_buf, 4) == DN_EDB)
        return DN_EDB;
    /* The last payout, of any period: every payout has a reference, so
       payout_refs (one row per payout, a small table) finds it without
       scanning the transfers, which have no index by account.  */
    if (dn_db_prepare(db,
                      "SELECT t.amount, t.created_ms FROM payout_refs r "
                      "JOIN transfers t ON t.id = r.transfer_id "
                      "JOIN accounts a ON a.id = t.debit WHERE a.name = ? "
                      "ORDER BY t.id DESC LIMIT 1",
                      &stmt))
        return DN_EDB;
    sqlite3_bind_text(stmt, 1, f.name, -1, SQLITE_STATIC);
    rc = dn_db_row(stmt, "earnings: the last payout");
    e->has_last_payout = e->has_last_payout_ms = 1;
    if (rc == 1) {
        e->last_payout = sqlite3_column_int64(stmt, 0);
        e->last_payout_ms = sqlite3_column_int64(stmt, 1);
    }
    sqlite3_finalize(stmt);
    if (rc < 0)
        return DN_EDB;
    e->partner = partner_buf;
    e->period = period_buf;
    e->currency = currency_buf;
    e->has_as_of_ms = 1;
    e->as_of_ms = now_ms;
    return 0;
}

/*  The mark of partner's account (0: no account yet, or untouched since
    the migration).  0 or DN_EDB.  */
static int s_partner_mark(sqlite3 *db, const char *partner, uint64_t *mark)
{
    char account[DN_ACCOUNT_NAME_SIZE];
    sqlite3_stmt *stmt;
    int64_t value = 0;
    int rc;
    snprintf(account, sizeof account, DN_ACCOUNT_PARTNER "%s", partner);
    if (dn_db_prepare(db, "SELECT down_mark FROM accounts WHERE name = ?", &stmt))
        return DN_EDB;
    sqlite3_bind_text(stmt, 1, account, -1, SQLITE_STATIC);
    rc = dn_db_int_row(stmt, "earnings: the partner's mark", &value);
    if (rc < 0)
        return DN_EDB;
    *mark = value > 0 ? (uint64_t)value : 0;
    return 0;
}

/*  The counter of marks.  0 or DN_EDB.  */
static int s_marks(sqlite3 *db, uint64_t *mark)
{
    sqlite3_stmt *stmt;
    int64_t value = 0;
    if (dn_db_prepare(db, "SELECT mark FROM down_marks WHERE id = 1", &stmt))
        return DN_EDB;
    if (dn_db_int_row(stmt, "earnings: the counter of marks", &value) != 1)
        return DN_EDB; /* the row is the migration's: missing is damage */
    *mark = value > 0 ? (uint64_t)value : 0;
    return 0;
}

static int s_earnings_scope(sqlite3 *db, const dn_down_ctx_t *ctx, uint8_t *scope,
                            size_t *scope_len)
{
    char period[DN_PERIOD_SIZE];
    (void)db;
    dn_time_period_of(ctx->now_ms, period);
    /* "CODE YYYY-MM": at most 32 + 1 + 7 bytes, under DN_DOWN_SCOPE_MAX */
    int n = snprintf((char *)scope, DN_DOWN_SCOPE_MAX, "%s %s", ctx->site->partner, period);
    *scope_len = n > 0 && n < DN_DOWN_SCOPE_MAX ? (size_t)n : 0;
    return *scope_len ? 0 : DN_EDB;
}

static int s_earnings_produce(sqlite3 *db, const dn_down_ctx_t *ctx, uint64_t from,
                              dn_down_chunk_t *chunk, uint64_t *to, int *more)
{
    char partner[DN_MAX_CODE_LEN + 1], period[DN_PERIOD_SIZE], currency[4] = "";
    char why[256] = "";
    Dealernet__Earnings e;
    Dealernet__DownItem item = DEALERNET__DOWN_ITEM__INIT;
    uint64_t mark, version;
    int rc;

    *to = from;
    *more = 0;
    if ((rc = s_partner_mark(db, ctx->site->partner, &mark)) != 0)
        return rc;
    /* 1 + the mark, so that an account nothing touched yet is version 1:
       a shop holding nothing (0) gets its zeros once, not at every pull */
    version = mark + 1;
    if (from >= version)
        return 0;
    dn_time_period_of(ctx->now_ms, period);
    rc = dn_earnings_figures(db, ctx->site->partner, period, ctx->now_ms, &e, partner,
                             period, currency, why, sizeof why);
    if (rc) {
        /* the site's partner exists (the registry's key): only the
           database can fail here */
        dn_log_error("earnings of %s for site %s: %s", ctx->site->partner, ctx->site->code,
                     why[0] ? why : dn_strerror(rc));
        return rc == DN_ENOMEM ? rc : DN_EDB;
    }
    item.body_case = DEALERNET__DOWN_ITEM__BODY_EARNINGS;
    item.earnings = &e;
    rc = dn_down_chunk_add(chunk, &item);
    if (rc == DN_ETOOBIG) {
        *more = 1;
        return 0;
    }
    if (rc == 0)
        *to = version;
    return rc;
}

static int s_earnings_head(sqlite3 *db, uint64_t *head)
{
    return s_marks(db, head);
}

const dn_down_stream_t dn_down_earnings = {DEALERNET__STREAM__STREAM_EARNINGS, "earnings",
                                           s_earnings_scope, s_earnings_produce,
                                           s_earnings_head};

/* -- members ----------------------------------------------------------------- */

/*  The phones added by one produce call, so that a member named by many
    events goes once (open addressing, FNV-1a).  */
typedef struct {
    char (*slots)[DN_PHONE_SIZE];
    size_t cap, n;
} s_phones_t;

static size_t s_hash(const char *text)
{
    size_t h = (size_t)14695981039346656037ULL;
    for (; *text; text++)
        h = (h ^ (unsigned char)*text) * (size_t)1099511628211ULL;
    return h;
}

/*  1 if phone was in the set, 0 if it was added, DN_ENOMEM.  */
static int s_phones_add(s_phones_t *set, const char *phone)
{
    size_t i;
    if (strlen(phone) >= DN_PHONE_SIZE)
        return 1; /* not a phone we store: never a member */
    if ((set->n + 1) * 2 > set->cap) {
        size_t grow = set->cap ? set->cap * 2 : 256;
        char(*bigger)[DN_PHONE_SIZE] = calloc(grow, sizeof *bigger);
        if (!bigger)
            return DN_ENOMEM;
        for (size_t k = 0; k < set->cap; k++) {
            if (!set->slots[k][0])
                continue;
            for (i = s_hash(set->slots[k]) & (grow - 1); bigger[i][0]; i = (i + 1) & (grow - 1))
                ;
            memcpy(bigger[i], set->slots[k], DN_PHONE_SIZE);
        }
        free(set->slots);
        set->slots = bigger;
        set->cap = grow;
    }
    for (i = s_hash(phone) & (set->cap - 1); set->slots[i][0]; i = (i + 1) & (set->cap - 1))
        if (strcmp(set->slots[i], phone) == 0)
            return 1;
    snprintf(set->slots[i], DN_PHONE_SIZE, "%s", phone);
    set->n++;
    return 0;
}

/*  Adds the member of the current row of stmt (columns phone, name,
    credit from col) to chunk unless this call added it already.  0,
    DN_ETOOBIG, DN_ENOMEM.  */
static int s_member_add(dn_down_chunk_t *chunk, s_phones_t *seen, sqlite3_stmt *stmt,
                        int col, int64_t now_ms)
{
    Dealernet__MemberCredit m = DEALERNET__MEMBER_CREDIT__INIT;
    Dealernet__DownItem item = DEALERNET__DOWN_ITEM__INIT;
    const char *phone = (const char *)sqlite3_column_text(stmt, col);
    int rc;
    if (!phone)
        return DN_ENOMEM; /* phone is NOT NULL: SQLite ran out of memory */
    if ((rc = s_phones_add(seen, phone)) != 0)
        return rc == 1 ? 0 : rc;
    m.phone = (char *)phone;
    m.name = (char *)sqlite3_column_text(stmt, col + 1); /* NULL: none */
    m.has_credit = m.has_as_of_ms = 1;
    m.credit = sqlite3_column_int64(stmt, col + 2);
    m.as_of_ms = now_ms;
    item.body_case = DEALERNET__DOWN_ITEM__BODY_MEMBER;
    item.member = &m;
    /* on DN_ETOOBIG the call stops here: the set is not read again */
    return dn_down_chunk_add(chunk, &item);
}

static int s_members_scope(sqlite3 *db, const dn_down_ctx_t *ctx, uint8_t *scope,
                           size_t *scope_len)
{
    (void)db;
    int n = snprintf((char *)scope, DN_DOWN_SCOPE_MAX, "%s", ctx->site->code);
    *scope_len = n > 0 && n < DN_DOWN_SCOPE_MAX ? (size_t)n : 0;
    return *scope_len ? 0 : DN_EDB;
}

/*  A member, its name and its credit, by phone.  */
#define S_MEMBER_COLUMNS                                                                   \
    "m.phone, m.name, coalesce((SELECT a.balance FROM accounts a WHERE a.name = '"         \
    DN_ACCOUNT_MEMBER "' || m.phone), 0)"

/*  Whether the member of the row was seen by the site ?3: it signed the
    member up (first or later), sold to it, or signed up a member it
    referred.  */
#define S_MEMBER_SEEN                                                                      \
    "(m.site_id = ?3"                                                                      \
    "  OR EXISTS (SELECT 1 FROM sales s WHERE s.member_phone = m.phone"                    \
    "    AND s.site_id = ?3)"                                                              \
    "  OR EXISTS (SELECT 1 FROM members r WHERE r.referrer_phone = m.phone"                \
    "    AND r.site_id = ?3)"                                                              \
    "  OR EXISTS (SELECT 1 FROM member_conflicts c WHERE c.site_id = ?3"                   \
    "    AND (c.member = m.id OR c.referrer = m.phone)))"

/*  Part one: the members seen by the site whose mark is in (held, now],
    in mark order.  *held moves to the mark of each member examined; to
    now when all were.  At most DN_EARNINGS_SCAN_ROWS members are
    examined: the range is network-wide and its version is the agent's
    to name, so one pull of an old version must not read the whole table
    (a site pulling that in a loop would hold the server's one connection
    for every other site); the rest comes with `more`.  */
static int s_members_changed(sqlite3 *db, const dn_down_ctx_t *ctx, uint64_t *held,
                             uint64_t now, dn_down_chunk_t *chunk, s_phones_t *seen,
                             int *more)
{
    sqlite3_stmt *stmt;
    int rc, examined = 0;
    if (dn_db_prepare(db,
                      "SELECT m.down_mark, " S_MEMBER_SEEN ", " S_MEMBER_COLUMNS
                      " FROM members m WHERE m.down_mark > ?1 AND m.down_mark <= ?2 "
                      "ORDER BY m.down_mark LIMIT ?4",
                      &stmt))
        return DN_EDB;
    sqlite3_bind_int64(stmt, 1, (sqlite3_int64)*held);
    sqlite3_bind_int64(stmt, 2, (sqlite3_int64)now);
    sqlite3_bind_int64(stmt, 3, ctx->site->id);
    sqlite3_bind_int(stmt, 4, DN_EARNINGS_SCAN_ROWS);
    while ((rc = dn_db_row(stmt, "members: changed")) == 1) {
        uint64_t mark = (uint64_t)sqlite3_column_int64(stmt, 0);
        if (sqlite3_column_int(stmt, 1) &&
            (rc = s_member_add(chunk, seen, stmt, 2, ctx->now_ms)) != 0)
            break;
        *held = mark;
        examined++;
    }
    sqlite3_finalize(stmt);
    if (rc == DN_ETOOBIG || (rc == 0 && examined == DN_EARNINGS_SCAN_ROWS && *held < now)) {
        *more = 1;
        return 0;
    }
    if (rc == 0)
        *held = now;
    return rc;
}

/*  Part two: the members the site's events (held, now] name -- a sale's
    member, a sign-up's member and referrer, a later sign-up's member and
    referrer -- in seq order.  *held moves to the seq of each event whose
    members were all added; to now when all were.  At most
    DN_EARNINGS_SCAN_ROWS events are read (as part one: a pull from 0 of a
    site of a million sales to one member sends one item, and must not
    read them all each time).  */
static int s_members_named(sqlite3 *db, const dn_down_ctx_t *ctx, uint64_t *held,
                           uint64_t now, dn_down_chunk_t *chunk, s_phones_t *seen,
                           int *more)
{
    sqlite3_stmt *events, *member = NULL;
    int rc, examined = 0;
    if (dn_db_prepare(db,
                      "SELECT e.seq, s.member_phone, m.phone, m.referrer_phone, "
                      "  coalesce(c.phone, cm.phone), c.referrer FROM events e "
                      "LEFT JOIN sales s ON s.eid = e.eid "
                      "LEFT JOIN members m ON m.signup_eid = e.eid "
                      "LEFT JOIN member_conflicts c ON c.eid = e.eid "
                      "LEFT JOIN members cm ON cm.id = c.member "
                      "WHERE e.site_id = ?1 AND e.seq > ?2 AND e.seq <= ?3 ORDER BY e.seq "
                      "LIMIT ?4",
                      &events))
        return DN_EDB;
    if (dn_db_prepare(db, "SELECT " S_MEMBER_COLUMNS " FROM members m WHERE m.phone = ?",
                      &member)) {
        sqlite3_finalize(events);
        return DN_EDB;
    }
    sqlite3_bind_int64(events, 1, ctx->site->id);
    sqlite3_bind_int64(events, 2, (sqlite3_int64)*held);
    sqlite3_bind_int64(events, 3, (sqlite3_int64)now);
    sqlite3_bind_int(events, 4, DN_EARNINGS_SCAN_ROWS);
    while ((rc = dn_db_row(events, "members: named by the site's events")) == 1) {
        uint64_t seq = (uint64_t)sqlite3_column_int64(events, 0);
        for (int col = 1; rc == 1 && col <= 5; col++) {
            const char *phone = (const char *)sqlite3_column_text(events, col);
            if (!phone)
                continue; /* none (or a partner code: no member has it) */
            sqlite3_reset(member);
            sqlite3_bind_text(member, 1, phone, -1, SQLITE_TRANSIENT);
            int found = dn_db_row(member, "members: one member");
            if (found < 0)
                rc = DN_EDB;
            else if (found == 1 && (rc = s_member_add(chunk, seen, member, 0, ctx->now_ms)) == 0)
                rc = 1;
        }
        if (rc != 1)
            break;
        *held = seq;
        examined++;
    }
    sqlite3_finalize(events);
    sqlite3_finalize(member);
    if (rc == DN_ETOOBIG || (rc == 0 && examined == DN_EARNINGS_SCAN_ROWS && *held < now)) {
        *more = 1;
        return 0;
    }
    if (rc == 0)
        *held = now;
    return rc;
}

static int s_members_produce(sqlite3 *db, const dn_down_ctx_t *ctx, uint64_t from,
                             dn_down_chunk_t *chunk, uint64_t *to, int *more)
{
    uint64_t marks, mark = from >> DN_EARNINGS_SEQ_BITS, seq = from & S_SEQ_MASK;
    int64_t applied = 0;
    s_phones_t seen = {0};
    sqlite3_stmt *stmt;
    int rc;

    *to = from;
    *more = 0;
    if ((rc = s_marks(db, &marks)) != 0)
        return rc;
    if (dn_db_prepare(db, "SELECT applied_seq FROM sites WHERE id = ?", &stmt))
        return DN_EDB;
    sqlite3_bind_int64(stmt, 1, ctx->site->id);
    if (dn_db_int_row(stmt, "members: the site's applied seq", &applied) != 1)
        return DN_EDB;
    if (marks > S_MARK_MAX || (uint64_t)applied > S_SEQ_MASK) {
        dn_log_error("members of site %s: %llu marks or seq %lld do not fit a version",
                     ctx->site->code, (unsigned long long)marks, (long long)applied);
        return DN_EDB;
    }
    if (mark > marks || seq > (uint64_t)applied)
        return 0; /* held ahead of this file (a restored central.db): nothing to add */
    /* From nothing, part two alone sends every member the site's events
       name, each as it is now: what changed before is in it.  */
    if (from == 0)
        mark = marks;
    else
        rc = s_members_changed(db, ctx, &mark, marks, chunk, &seen, more);
    if (rc == 0 && !*more)
        rc = s_members_named(db, ctx, &seq, (uint64_t)applied, chunk, &seen, more);
    free(seen.slots);
    if (rc == 0)
        *to = mark << DN_EARNINGS_SEQ_BITS | seq;
    return rc;
}

const dn_down_stream_t dn_down_members = {DEALERNET__STREAM__STREAM_MEMBERS, "members",
                                          s_members_scope, s_members_produce,
                                          NULL /* per site: a chunk is never shared */};
