/*  dn_ledger -- posting, statements, payouts and corrections of the
    commission and referral ledger (see dn_ledger.h for the rules).

    Determinism is the design constraint: everything a posting depends on
    is a function of the stored events and of effective-dated history (the
    plan and tree in force at the sale's time, the member's sign-up stored
    before the sale, the refunds stored up to this one), never of arrival
    timing beyond the events' own order.  That is what lets verify
    (dn_verify) replay every event into scratch tables and compare with
    what was posted.  Verify's scratch tables are TEMP tables named like the real ones: on
    its own connection they shadow main.transfers, main.accounts and
    main.account_periods, so the very same posting code fills them.
*/
#include "dn_ledger.h"
#include "dn_account.h"
#include "dn_array.h"
#include "dn_crypto.h"
#include "dn_db.h"
#include "dn_error.h"
#include "dn_i18n.h"
#include "dn_id.h"
#include "dn_log.h"
#include "dn_money.h"
#include "dn_phones.h"
#include "dn_plan.h"
#include "dn_registry.h"
#include "dn_tree.h"
#include "dn_time.h"
#include "dn_valid.h"
#include "dn_wire.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*  One transfer to post (dn_ledger.h says what it holds); the file's
    short name for it.  */
typedef dn_ledger_transfer_t s_transfer_t;

typedef struct {
    int64_t account, delta;
} s_delta_t;

/*  An account as the flush marks it (s_class).  */
typedef struct {
    int loaded, marked, member;
    char phone[DN_PHONE_SIZE];
} s_class_t;

/*  One key of account_periods and what the batch moved under it (see
    s_period_move).  */
typedef struct {
    int64_t account; /* 0: a free slot */
    char period[DN_PERIOD_SIZE];
    int code; /* DN_LEDGER_* */
    int64_t credits, debits;
} s_period_move_t;

struct _dn_ledger_t {
    sqlite3 *db;
    dn_db_cache_t *cache;
    /* Caches of what only admin commands change; dropped by
       dn_ledger_forget after any admin command or rollback.  */
    dn_tree_t *tree;  /* the partners and their history (dn_tree) */
    dn_plan_t *plans; /* by effective date */
    size_t n_plans;
    int plans_loaded;
    char (*closed)[DN_PERIOD_SIZE];
    size_t n_closed;
    int closed_loaded;
    int64_t hq[3]; /* hq:commission, hq:referral, hq:payout account ids */
    /* Per posting: the chain head, and balance moves applied at the end.  */
    int have_head;
    int64_t head_id;
    uint8_t head_hash[DN_HASH_BYTES];
    dn_table_t deltas;      /* s_delta_t by account id (s_delta) */
    int marks_known, marks; /* s_marks_kept */
    dn_slots_t classes;     /* s_class_t by account id (s_class) */
    dn_table_t moves;       /* s_period_move_t: account_periods' moves, for the flush */
    /* The running totals (money_totals), read with the head and written
       with the balances, per batch.  */
    int have_totals;
    int64_t sum_sales;     /* totals of every posted sale */
    int64_t sum_transfers; /* what the transfers may move at most
                              (dn_ledger_transfer_reserve) */
    int totals_moved;
    /* A sale's transfers are computed first (staging) and posted only if
       they fit under DN_MONEY_SUM_MAX, so a sale is posted whole or held
       whole.  */
    int staging;
    s_transfer_t *staged;
    size_t n_staged, cap_staged;
    int64_t staged_reserve;
};

/* -- account periods: the batch's moves ----------------------------------------

    account_periods (dn_central.c) holds each account's credits and debits
    by period and transfer code.  A posting adds its transfer's two moves
    to an open-addressing table in memory, keyed by (account, period posted
    into, code); dn_ledger_flush writes one upsert per key, so a batch of
    thousands of transfers touches each key once, in the current month's
    pages.  Every writer of transfers posts through s_post and ends in a
    flush (ingest's batches, payouts and payout runs, voids, adjustments,
    verify's replay into its TEMP copy).  */

static const char *const s_code_names[DN_LEDGER_CODES] = {
    "commission", "referral", "override", "clawback", "payout", "adjustment"};

const char *dn_ledger_code_name(int code)
{
    return code >= 0 && code < DN_LEDGER_CODES ? s_code_names[code] : "";
}

/*  The DN_LEDGER_* index of a code's name, or -1.  */
static int s_code(const char *name)
{
    for (int i = 0; name && i < DN_LEDGER_CODES; i++)
        if (strcmp(name, s_code_names[i]) == 0)
            return i;
    return -1;
}

static size_t s_period_hash(int64_t account, const char *period, int code)
{
    uint64_t h = (uint64_t)account * UINT64_C(0x9E3779B97F4A7C15);
    for (size_t i = 0; i < DN_PERIOD_SIZE && period[i]; i++)
        h = (h ^ (unsigned char)period[i]) * UINT64_C(0x100000001B3);
    h = (h ^ (uint64_t)code) * UINT64_C(0x100000001B3);
    return (size_t)(h ^ (h >> 32));
}

static size_t s_period_rehash(const void *entry)
{
    const s_period_move_t *m = entry;
    return s_period_hash(m->account, m->period, m->code);
}

/*  Adds credit and debit (>= 0) to the pending move of (account, period,
    code).  Sums stay within DN_MONEY_SUM_MAX (see s_post): an overflow is
    a damaged file.  */
static int s_period_add(dn_ledger_t *self, int64_t account, const char *period, int code,
                        int64_t credit, int64_t debit)
{
    s_period_move_t *moves, *m;
    size_t mask, i;
    if (dn_table_room(&self->moves, sizeof *moves, 64, s_period_rehash))
        return DN_ENOMEM;
    moves = self->moves.entries;
    mask = self->moves.cap - 1;
    for (i = s_period_hash(account, period, code) & mask; moves[i].account;
         i = (i + 1) & mask) {
        m = &moves[i];
        if (m->account == account && m->code == code &&
            strncmp(m->period, period, DN_PERIOD_SIZE) == 0)
            return dn_money_add(m->credits, credit, &m->credits) ||
                           dn_money_add(m->debits, debit, &m->debits)
                       ? DN_EDB
                       : 0;
    }
    m = &moves[i];
    m->account = account;
    memcpy(m->period, period, DN_PERIOD_SIZE);
    m->code = code;
    m->credits = credit;
    m->debits = debit;
    self->moves.n++;
    return 0;
}

/*  Notes the two moves of the transfer t just posted.  */
static int s_period_move(dn_ledger_t *self, const s_transfer_t *t)
{
    int code = s_code(t->code), rc;
    if (code < 0) /* the CHECK on transfers.code let it in: cannot be */
        return DN_EDB;
    rc = s_period_add(self, t->credit, t->period, code, t->amount, 0);
    return rc ? rc : s_period_add(self, t->debit, t->period, code, 0, t->amount);
}

/*  Writes the batch's moves into account_periods (verify's TEMP copy on
    verify's connection), one upsert per key, and forgets them.  */
static int s_period_moves_flush(dn_ledger_t *self)
{
    const s_period_move_t *moves = self->moves.entries;
    sqlite3_stmt *stmt;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < self->moves.cap; i++) {
        const s_period_move_t *m = &moves[i];
        if (!m->account)
            continue;
        if (dn_db_cached(self->cache,
                         "INSERT INTO account_periods(period, account, code, credits, "
                         "debits) VALUES (?, ?, ?, ?, ?) "
                         "ON CONFLICT (period, account, code) DO UPDATE SET "
                         "credits = credits + excluded.credits, "
                         "debits = debits + excluded.debits",
                         &stmt))
            return DN_EDB;
        sqlite3_bind_text(stmt, 1, m->period, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 2, m->account);
        sqlite3_bind_text(stmt, 3, s_code_names[m->code], -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 4, m->credits);
        sqlite3_bind_int64(stmt, 5, m->debits);
        rc = dn_db_step_txn(self->db, stmt);
        sqlite3_reset(stmt);
    }
    dn_table_clear(&self->moves, sizeof *moves);
    return rc;
}

dn_ledger_t *dn_ledger_new(sqlite3 *db)
{
    dn_ledger_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->db = db;
    self->cache = dn_db_cache_new(db);
    self->tree = dn_tree_new(db);
    if (!self->cache || !self->tree)
        dn_ledger_destroy(&self);
    return self;
}

void dn_ledger_forget(dn_ledger_t *self)
{
    dn_tree_forget(self->tree);
    free(self->plans);
    free(self->closed);
    self->plans = NULL;
    self->closed = NULL;
    self->n_plans = self->n_closed = 0;
    self->plans_loaded = self->closed_loaded = 0;
    memset(self->hq, 0, sizeof self->hq);
    self->marks_known = 0;
    dn_slots_clear(&self->classes, NULL);
    self->have_head = 0;
    self->have_totals = 0;
    self->totals_moved = 0;
    self->staging = 0;
    self->n_staged = 0;
    self->staged_reserve = 0;
    dn_table_clear(&self->deltas, sizeof(s_delta_t));
    dn_table_clear(&self->moves, sizeof(s_period_move_t));
}

void dn_ledger_destroy(dn_ledger_t **self_p)
{
    if (self_p && *self_p) {
        dn_ledger_forget(*self_p);
        dn_table_free(&(*self_p)->deltas);
        dn_table_free(&(*self_p)->moves);
        free((*self_p)->staged);
        dn_db_cache_destroy(&(*self_p)->cache);
        dn_tree_destroy(&(*self_p)->tree);
        free(*self_p);
        *self_p = NULL;
    }
}

/* -- periods --------------------------------------------------------------- */

static int s_load_closed(dn_ledger_t *self)
{
    sqlite3_stmt *stmt;
    size_t cap = 0;
    int step;
    if (self->closed_loaded)
        return 0;
    if (dn_db_cached(self->cache, "SELECT period FROM periods", &stmt))
        return DN_EDB;
    self->n_closed = 0;
    while ((step = dn_db_row(stmt, "ledger: closed periods")) == 1) {
        char(*bigger)[DN_PERIOD_SIZE] =
            dn_array_grow(self->closed, &cap, self->n_closed, sizeof *bigger, 16);
        if (!bigger) {
            sqlite3_reset(stmt);
            return DN_ENOMEM;
        }
        self->closed = bigger;
        if (dn_db_column_copy(stmt, 0, self->closed[self->n_closed++], DN_PERIOD_SIZE)) {
            sqlite3_reset(stmt);
            return DN_ENOMEM;
        }
    }
    sqlite3_reset(stmt);
    if (step < 0) /* a list cut short is not the list */
        return DN_EDB;
    self->closed_loaded = 1;
    return 0;
}

/*  The period a transfer for an event of month `of` is posted into: that
    month, or the first month after it that is not closed.  */
static int s_open_period(dn_ledger_t *self, const char *of, char period[DN_PERIOD_SIZE])
{
    int rc = s_load_closed(self);
    if (rc)
        return rc;
    memcpy(period, of, DN_PERIOD_SIZE);
    for (int guard = 0; guard < 1200; guard++) {
        int closed = 0;
        for (size_t i = 0; i < self->n_closed && !closed; i++)
            closed = strcmp(self->closed[i], period) == 0;
        if (!closed)
            return 0;
        dn_time_period_next(period);
    }
    return DN_EDB;
}

int dn_ledger_period_close(sqlite3 *db, const char *period, const char *admin,
                           int64_t now_ms, char *why, size_t why_size)
{
    char end[DN_TIME_TEXT_SIZE];
    sqlite3_stmt *stmt;
    int64_t end_ms;
    int step;
    if (dn_time_parse_period(period, NULL, &end_ms))
        return dn_why(why, why_size, DN_EPARSE, _("period '%s' is not YYYY-MM"),
                      period ? period : "");
    /* A month still running (or to come) is never closed: every posting
       of it would go to the month after, where a statement of the month
       it belongs to no longer shows it.  The server's clock decides, not
       a site's.  */
    if (now_ms < end_ms) {
        dn_time_format(end_ms, end);
        return dn_why(why, why_size, DN_ELIMIT,
                      _("period %s has not ended yet: it can be closed from %s on"),
                      period, end);
    }
    if (dn_db_prepare(
            db, "INSERT INTO periods(period, closed_ms, closed_by) VALUES (?, ?, ?)",
            &stmt))
        return DN_EDB;
    sqlite3_bind_text(stmt, 1, period, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, now_ms);
    sqlite3_bind_text(stmt, 3, admin, -1, SQLITE_STATIC);
    step = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    if ((step & 0xFF) == SQLITE_CONSTRAINT)
        return dn_why(why, why_size, DN_EEXIST, _("period %s is already closed"), period);
    return step == SQLITE_DONE ? 0 : DN_EDB;
}

int dn_ledger_period_list(sqlite3 *db, int64_t now_ms, json_t **out)
{
    char now[DN_PERIOD_SIZE], open[DN_PERIOD_SIZE], when[DN_TIME_TEXT_SIZE];
    dn_ledger_t *self;
    sqlite3_stmt *stmt;
    int rc, step, open_listed = 0;

    *out = NULL;
    if (!(self = dn_ledger_new(db)))
        return DN_ENOMEM;
    dn_time_period_of(now_ms, now);
    rc = s_open_period(self, now, open);
    dn_ledger_destroy(&self);
    if (rc)
        return rc == DN_ENOMEM ? rc : DN_EDB;
    if (!(*out = json_array()))
        return DN_ENOMEM;
    if (dn_db_prepare(db,
                      "SELECT period, closed_ms, closed_by FROM periods ORDER BY period",
                      &stmt)) {
        json_decref(*out);
        *out = NULL;
        return DN_EDB;
    }
    /* the closed months in order, with the open one in its place */
    while (rc == 0 && (step = dn_db_row(stmt, "periods: list")) == 1) {
        const char *period = (const char *)sqlite3_column_text(stmt, 0);
        const char *by = (const char *)sqlite3_column_text(stmt, 2);
        if (!period || !by) {
            rc = DN_ENOMEM;
            break;
        }
        if (!open_listed && strcmp(open, period) < 0) {
            open_listed = 1;
            if (json_array_append_new(*out,
                                      json_pack("{s:s, s:s, s:n, s:n}", "period", open,
                                                "status", "open", "closed", "closed_by")))
                rc = DN_ENOMEM;
        }
        dn_time_format(sqlite3_column_int64(stmt, 1), when);
        if (rc == 0 &&
            json_array_append_new(*out, json_pack("{s:s, s:s, s:s, s:s}", "period",
                                                  period, "status", "closed", "closed",
                                                  when, "closed_by", by)))
            rc = DN_ENOMEM;
    }
    if (rc == 0 && step < 0) /* a list cut short is not the list */
        rc = DN_EDB;
    sqlite3_finalize(stmt);
    if (rc == 0 && !open_listed &&
        json_array_append_new(*out, json_pack("{s:s, s:s, s:n, s:n}", "period", open,
                                              "status", "open", "closed", "closed_by")))
        rc = DN_ENOMEM;
    if (rc) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

/* -- accounts and transfers --------------------------------------------------- */

/*  Finds or opens the account called name.  */
static int s_account(dn_ledger_t *self, const char *name, const char *kind,
                     int64_t partner_id, const char *phone, int64_t *id)
{
    sqlite3_stmt *stmt;
    int rc = DN_EDB, step;
    if (dn_db_cached(self->cache, "SELECT id FROM accounts WHERE name = ?", &stmt))
        return DN_EDB;
    sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
    step = sqlite3_step(stmt);
    if (step == SQLITE_ROW) {
        *id = sqlite3_column_int64(stmt, 0);
        rc = 0;
    }
    sqlite3_reset(stmt);
    if (rc == 0)
        return 0;
    if (step != SQLITE_DONE) {
        dn_log_error("ledger: %s", sqlite3_errmsg(self->db));
        return DN_EDB;
    }
    if (dn_db_cached(
            self->cache,
            "INSERT INTO accounts(name, kind, partner_id, phone) VALUES (?, ?, ?, ?)",
            &stmt))
        return DN_EDB;
    sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, kind, -1, SQLITE_STATIC);
    if (partner_id)
        sqlite3_bind_int64(stmt, 3, partner_id);
    if (phone)
        sqlite3_bind_text(stmt, 4, phone, -1, SQLITE_STATIC);
    rc = dn_db_step_txn(self->db, stmt);
    sqlite3_reset(stmt);
    if (rc == 0)
        *id = sqlite3_last_insert_rowid(self->db);
    return rc;
}

static int s_partner_account(dn_ledger_t *self, dn_tree_node_t *node, int64_t *id)
{
    char name[DN_ACCOUNT_NAME_SIZE];
    int rc = 0;
    if (!node->account) {
        snprintf(name, sizeof name, DN_ACCOUNT_PARTNER "%s", node->p.code);
        rc = s_account(self, name, "partner", node->p.id, NULL, &node->account);
    }
    *id = node->account;
    return rc;
}

static int s_hq_account(dn_ledger_t *self, int which, int64_t *id)
{
    static const char *const names[] = {"hq:commission", "hq:referral", "hq:payout"};
    static const char *const kinds[] = {"hq_commission", "hq_referral", "payout"};
    int rc = 0;
    if (!self->hq[which])
        rc = s_account(self, names[which], kinds[which], 0, NULL, &self->hq[which]);
    *id = self->hq[which];
    return rc;
}

#define S_HQ_COMMISSION 0
#define S_HQ_REFERRAL   1
#define S_HQ_PAYOUT     2

/*  The canonical text of a transfer is built by hand rather than by
    snprintf: it is written for every transfer posted and read back by
    every verify, and snprintf's format parsing was most of its cost.  The
    bytes are exactly those of the format
    "%lld|%lld|%lld|%lld|%s|%lld|%lld|%lld|%s|%s|%s|%d|%s|%s|%s|%lld"
    (test_ledger's test_transfer_text holds the two side by side).  A
    writer appends to [at, end) and sets at past end when the text does
    not fit.  */
typedef struct {
    char *at, *end;
} s_text_t;

static void s_text_str(s_text_t *w, const char *s)
{
    size_t n = strlen(s);
    if (w->at > w->end || (size_t)(w->end - w->at) < n) {
        w->at = w->end + 1;
        return;
    }
    memcpy(w->at, s, n);
    w->at += n;
}

/*  value in decimal, as %lld writes it (INT64_MIN included).  */
static void s_text_int(s_text_t *w, int64_t value)
{
    char digits[24], *p = digits + sizeof digits;
    uint64_t u = value < 0 ? (uint64_t)0 - (uint64_t)value : (uint64_t)value;
    *--p = '\0';
    do
        *--p = (char)('0' + u % 10);
    while ((u /= 10) != 0);
    if (value < 0)
        *--p = '-';
    s_text_str(w, p);
}

static void s_text_sep(s_text_t *w)
{
    s_text_str(w, "|");
}

/*  The hash of a transfer: SHA-256 of the previous hash and a canonical
    text of every field, so that changing any stored field breaks it.  */
int dn_ledger_transfer_hash(int64_t id, const dn_ledger_transfer_t *t,
                            const uint8_t prev[DN_HASH_BYTES],
                            uint8_t hash[DN_HASH_BYTES])
{
    uint8_t buf[DN_HASH_BYTES + 512];
    s_text_t w = {(char *)buf + DN_HASH_BYTES, (char *)buf + sizeof buf - 1};
    const int64_t ids[] = {id, t->debit, t->credit, t->amount};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        s_text_int(&w, ids[i]);
        s_text_sep(&w);
    }
    s_text_str(&w, t->code);
    s_text_sep(&w);
    s_text_int(&w, t->source_eid);
    s_text_sep(&w);
    s_text_int(&w, t->sale_eid);
    s_text_sep(&w);
    s_text_int(&w, t->reverses);
    s_text_sep(&w);
    if (t->has_level)
        s_text_int(&w, t->level);
    s_text_sep(&w);
    if (t->has_rate)
        s_text_int(&w, t->rate_bps);
    s_text_sep(&w);
    s_text_str(&w, t->category ? t->category : "");
    s_text_sep(&w);
    s_text_int(&w, t->bonus);
    s_text_sep(&w);
    s_text_str(&w, t->period);
    s_text_sep(&w);
    s_text_str(&w, t->event_period);
    s_text_sep(&w);
    s_text_str(&w, t->ref ? t->ref : "");
    s_text_sep(&w);
    s_text_int(&w, t->created_ms);
    if (w.at > w.end) /* 511 bytes at most, as the snprintf into 512 was */
        return DN_EINVAL;
    memcpy(buf, prev, DN_HASH_BYTES);
    return dn_sha256(buf, (size_t)(w.at - (char *)buf), hash);
}

/*  Binds a transfer's 17 columns at parameters at + 1 .. at + 17.  */
static int s_bind_transfer(sqlite3_stmt *stmt, int at, const s_transfer_t *t,
                           const uint8_t prev[DN_HASH_BYTES],
                           const uint8_t hash[DN_HASH_BYTES])
{
    sqlite3_bind_int64(stmt, at + 1, t->debit);
    sqlite3_bind_int64(stmt, at + 2, t->credit);
    sqlite3_bind_int64(stmt, at + 3, t->amount);
    sqlite3_bind_text(stmt, at + 4, t->code, -1, SQLITE_STATIC);
    if (t->source_eid)
        sqlite3_bind_int64(stmt, at + 5, t->source_eid);
    if (t->sale_eid)
        sqlite3_bind_int64(stmt, at + 6, t->sale_eid);
    if (t->reverses)
        sqlite3_bind_int64(stmt, at + 7, t->reverses);
    if (t->has_level)
        sqlite3_bind_int(stmt, at + 8, t->level);
    if (t->has_rate)
        sqlite3_bind_int(stmt, at + 9, t->rate_bps);
    if (t->category)
        sqlite3_bind_text(stmt, at + 10, t->category, -1, SQLITE_STATIC);
    sqlite3_bind_int(stmt, at + 11, t->bonus);
    sqlite3_bind_text(stmt, at + 12, t->period, -1, SQLITE_STATIC);
    if (t->event_period[0])
        sqlite3_bind_text(stmt, at + 13, t->event_period, -1, SQLITE_STATIC);
    if (t->ref)
        sqlite3_bind_text(stmt, at + 14, t->ref, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, at + 15, t->created_ms);
    sqlite3_bind_blob(stmt, at + 16, prev, DN_HASH_BYTES, SQLITE_STATIC);
    sqlite3_bind_blob(stmt, at + 17, hash, DN_HASH_BYTES, SQLITE_STATIC);
    return 0;
}

static size_t s_delta_rehash(const void *entry)
{
    return (size_t)((const s_delta_t *)entry)->account;
}

/*  Adds amount to an account's pending balance move (a dn_table keyed by
    account id, its own hash; account ids are never 0).  */
static int s_delta(dn_ledger_t *self, int64_t account, int64_t amount)
{
    s_delta_t *deltas;
    size_t mask, i;
    if (dn_table_room(&self->deltas, sizeof *deltas, 64, s_delta_rehash))
        return DN_ENOMEM;
    deltas = self->deltas.entries;
    mask = self->deltas.cap - 1;
    for (i = (size_t)account & mask; deltas[i].account; i = (i + 1) & mask) {
        if (deltas[i].account == account) /* within DN_MONEY_SUM_MAX: see s_post */
            return dn_money_add(deltas[i].delta, amount, &deltas[i].delta) ? DN_EDB : 0;
    }
    deltas[i].account = account;
    deltas[i].delta = amount;
    self->deltas.n++;
    return 0;
}

/*  What a transfer adds to the running total of transfers: twice a
    commission, referral or override (itself, and room for the clawbacks
    that may reverse it, which never exceed it and add nothing), nothing
    for a clawback, once anything else (a payout, an adjustment).  So the
    sum of all transfer amounts never exceeds the running total, and every
    balance, and every sum of transfers a statement or report forms, stays
    within DN_MONEY_SUM_MAX.  Returns 0 or DN_EOVERFLOW.  */
int dn_ledger_transfer_reserve(const dn_ledger_transfer_t *t, int64_t *reserve)
{
    if (strcmp(t->code, "clawback") == 0) {
        *reserve = 0;
        return 0;
    }
    if (strcmp(t->code, "commission") == 0 || strcmp(t->code, "referral") == 0 ||
        strcmp(t->code, "override") == 0)
        return dn_money_mul(t->amount, 2, reserve);
    *reserve = t->amount;
    return 0;
}

/*  Reads the running totals once per batch (see dn_ledger_flush).  */
static int s_totals(dn_ledger_t *self)
{
    sqlite3_stmt *stmt;
    int rc;
    if (self->have_totals)
        return 0;
    if (dn_db_cached(self->cache,
                     "SELECT sales, transfers FROM money_totals WHERE id = 1", &stmt))
        return DN_EDB;
    rc = dn_db_row(stmt, "ledger: read the running totals");
    if (rc == 1) {
        self->sum_sales = sqlite3_column_int64(stmt, 0);
        self->sum_transfers = sqlite3_column_int64(stmt, 1);
    } else if (rc == 0) {
        dn_log_error("ledger: the running totals (money_totals) are missing");
    }
    sqlite3_reset(stmt);
    if (rc != 1)
        return DN_EDB;
    self->have_totals = 1;
    self->totals_moved = 0;
    return 0;
}

/*  Reads the chain's head once per batch (see dn_ledger_flush).  */
static int s_head(dn_ledger_t *self)
{
    sqlite3_stmt *stmt;
    int rc;
    if (self->have_head)
        return 0;
    self->head_id = 0;
    memset(self->head_hash, 0, DN_HASH_BYTES);
    if (dn_db_cached(self->cache, "SELECT id, hash FROM transfers ORDER BY id DESC LIMIT 1",
                     &stmt))
        return DN_EDB;
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        const void *blob = sqlite3_column_blob(stmt, 1);
        self->head_id = sqlite3_column_int64(stmt, 0);
        rc = blob && sqlite3_column_bytes(stmt, 1) == DN_HASH_BYTES ? SQLITE_DONE
                                                                    : SQLITE_NOMEM;
        if (rc == SQLITE_DONE)
            memcpy(self->head_hash, blob, DN_HASH_BYTES);
    }
    sqlite3_reset(stmt);
    if (rc != SQLITE_DONE) { /* a chain continued from a wrong head breaks verify */
        dn_log_error("ledger: cannot read the transfer chain's head");
        return DN_EDB;
    }
    self->have_head = 1;
    return 0;
}

/*  The INSERT of 1 .. S_ROWS_MAX transfers in one statement: a sale's
    transfers go in together, which spares SQLite all but one statement's
    setup per sale (its cursors on the table and each index, its
    statement journal, its end).  */
#define S_ROWS_MAX 8
#define S_ROW      "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
#define S_ROWS_2   S_ROW ", " S_ROW
#define S_ROWS_4   S_ROWS_2 ", " S_ROWS_2
#define S_INSERT                                                                        \
    "INSERT INTO transfers(debit, credit, amount, code, source_eid, sale_eid, "       \
    "reverses, level, rate_bps, category, bonus, period, event_period, ref, "         \
    "created_ms, prev_hash, hash, id) VALUES "
#define S_COLUMNS 18 /* bound per row: s_bind_transfer's 17, and the id */

static const char *const s_insert_sql[S_ROWS_MAX + 1] = {
    NULL,
    S_INSERT S_ROW,
    S_INSERT S_ROWS_2,
    S_INSERT S_ROWS_2 ", " S_ROW,
    S_INSERT S_ROWS_4,
    S_INSERT S_ROWS_4 ", " S_ROW,
    S_INSERT S_ROWS_4 ", " S_ROWS_2,
    S_INSERT S_ROWS_4 ", " S_ROWS_2 ", " S_ROW,
    S_INSERT S_ROWS_4 ", " S_ROWS_4,
};

/*  Chains n transfers to the head and inserts them, S_ROWS_MAX per
    statement; their balance moves are applied by dn_ledger_flush, in the
    same transaction.  The head moves only past rows that were inserted: a
    statement that fails inserts none of its rows, and the caller rolls
    back (DN_EDB forgets the head with the other caches).  */
static int s_insert(dn_ledger_t *self, const s_transfer_t *t, size_t n)
{
    uint8_t hashes[S_ROWS_MAX][DN_HASH_BYTES];
    int rc;

    if ((rc = s_head(self)) != 0)
        return rc;
    while (n > 0) {
        size_t rows = n < S_ROWS_MAX ? n : S_ROWS_MAX;
        const uint8_t *prev = self->head_hash;
        sqlite3_stmt *stmt;
        if (dn_db_cached(self->cache, s_insert_sql[rows], &stmt))
            return DN_EDB;
        for (size_t i = 0; i < rows; i++) {
            int64_t id = self->head_id + 1 + (int64_t)i;
            if ((rc = dn_ledger_transfer_hash(id, &t[i], prev, hashes[i])) != 0)
                return rc;
            s_bind_transfer(stmt, (int)i * S_COLUMNS, &t[i], prev, hashes[i]);
            sqlite3_bind_int64(stmt, (int)i * S_COLUMNS + S_COLUMNS, id);
            prev = hashes[i];
        }
        rc = dn_db_step_txn(self->db, stmt);
        sqlite3_reset(stmt);
        if (rc)
            return rc;
        self->head_id += (int64_t)rows;
        memcpy(self->head_hash, hashes[rows - 1], DN_HASH_BYTES);
        for (size_t i = 0; rc == 0 && i < rows; i++) {
            rc = s_delta(self, t[i].debit, -t[i].amount);
            if (rc == 0)
                rc = s_delta(self, t[i].credit, t[i].amount);
            if (rc == 0)
                rc = s_period_move(self, &t[i]);
        }
        if (rc)
            return rc;
        t += rows;
        n -= rows;
    }
    return 0;
}

/*  Appends a transfer: chains it to the last one and inserts it (see
    s_insert).  While staging, only notes it (see s_post_sale).  Returns
    DN_ELIMIT, posting nothing, if it would take the running total of
    transfers over DN_MONEY_SUM_MAX.  */
static int s_post(dn_ledger_t *self, const s_transfer_t *t)
{
    int64_t reserve, sum;
    int rc;

    if (dn_ledger_transfer_reserve(t, &reserve))
        return DN_ELIMIT;
    if (self->staging) {
        s_transfer_t *bigger = dn_array_grow(self->staged, &self->cap_staged,
                                             self->n_staged, sizeof *bigger, 16);
        if (!bigger)
            return DN_ENOMEM;
        self->staged = bigger;
        self->staged[self->n_staged++] = *t; /* its strings outlive the posting */
        return dn_money_add_capped(self->staged_reserve, reserve, DN_MONEY_SUM_MAX,
                                   &self->staged_reserve)
                   ? DN_ELIMIT
                   : 0;
    }
    if ((rc = s_totals(self)) != 0)
        return rc;
    if (dn_money_add_capped(self->sum_transfers, reserve, DN_MONEY_SUM_MAX, &sum))
        return DN_ELIMIT;
    if ((rc = s_insert(self, t, 1)) != 0)
        return rc;
    self->sum_transfers = sum;
    self->totals_moved = 1;
    return 0;
}

/*  1 if the accounts this connection writes keep marks: not verify's TEMP
    copy, which has none and shadows main's (see dn_verify).  Looked up
    once per ledger (again after dn_ledger_forget).  */
static int s_marks_kept(dn_ledger_t *self, int *kept)
{
    sqlite3_stmt *stmt;
    int64_t temp = 0;
    if (!self->marks_known) {
        if (dn_db_prepare(self->db,
                          "SELECT count(*) FROM temp.sqlite_schema "
                          "WHERE type = 'table' AND name = 'accounts'",
                          &stmt) ||
            dn_db_int_row(stmt, "ledger: where the accounts are", &temp) != 1)
            return DN_EDB;
        self->marks = temp == 0;
        self->marks_known = 1;
    }
    *kept = self->marks;
    return 0;
}

/*  What the flush must know of an account to move its mark: whether it
    has one (a partner's or a member's; HQ's three accounts have none) and
    a member's phone.  An account's kind and phone never change, so they
    are read once per account (again after dn_ledger_forget), into a
    dn_slots_t by account id.  */
static int s_class(dn_ledger_t *self, int64_t id, const s_class_t **out)
{
    sqlite3_stmt *stmt;
    s_class_t *c = dn_slots_get(&self->classes, id, sizeof *c);
    int rc;

    if (!c)
        return DN_ENOMEM;
    *out = c;
    if (c->loaded)
        return 0;
    memset(c, 0, sizeof *c); /* what a load that failed half-way left */
    if (dn_db_cached(self->cache,
                     "SELECT kind = 'partner' OR kind = 'member', kind = 'member', phone "
                     "FROM accounts WHERE id = ?",
                     &stmt))
        return DN_EDB;
    sqlite3_bind_int64(stmt, 1, id);
    rc = dn_db_row(stmt, "ledger: an account's kind");
    if (rc == 1) {
        c->marked = sqlite3_column_int(stmt, 0);
        c->member = sqlite3_column_int(stmt, 1);
        if (dn_db_column_copy(stmt, 2, c->phone, sizeof c->phone))
            rc = DN_ENOMEM;
    }
    sqlite3_reset(stmt);
    if (rc < 0)
        return rc;
    c->loaded = 1; /* no row: nothing to mark (the UPDATE finds none either) */
    return 0;
}

/*  Moves the balances of the batch's accounts.  An account whose moves of
    this batch cancel out (a sale and its refund) is updated too, by 0: its
    period's figures changed, and the update marks it for the shops
    (dn_earnings.h).  The marks are moved here, as the trigger
    accounts_down_mark moves them for any other writer, but in the one
    UPDATE of each account rather than three more statements each: the
    counter is read once, each partner's or member's account takes the next
    number in turn (in the order the trigger would have given them), a
    member account's number goes to its members row, and the counter is
    written once.  The trigger leaves alone an account whose mark its
    writer moved.  */
static int s_balances(dn_ledger_t *self)
{
    sqlite3_stmt *stmt;
    int64_t mark = 0, first = 0;
    int kept, rc;

    if ((rc = s_marks_kept(self, &kept)) != 0)
        return rc;
    if (kept) {
        if (dn_db_cached(self->cache, "SELECT mark FROM down_marks WHERE id = 1", &stmt))
            return DN_EDB;
        rc = dn_db_row(stmt, "ledger: the counter of marks");
        if (rc == 1)
            first = mark = sqlite3_column_int64(stmt, 0);
        sqlite3_reset(stmt);
        if (rc != 1)
            return DN_EDB;
    }
    for (size_t i = 0; i < self->deltas.cap; i++) {
        const s_delta_t *d = (const s_delta_t *)self->deltas.entries + i;
        const s_class_t *c = NULL;
        if (!d->account)
            continue;
        if (kept && (rc = s_class(self, d->account, &c)) != 0)
            return rc;
        if (!c || !c->marked) {
            if (dn_db_cached(self->cache,
                             "UPDATE accounts SET balance = balance + ? WHERE id = ?", &stmt))
                return DN_EDB;
            sqlite3_bind_int64(stmt, 1, d->delta);
            sqlite3_bind_int64(stmt, 2, d->account);
        } else {
            if (dn_db_cached(self->cache,
                             "UPDATE accounts SET balance = balance + ?, down_mark = ? "
                             "WHERE id = ?",
                             &stmt))
                return DN_EDB;
            sqlite3_bind_int64(stmt, 1, d->delta);
            sqlite3_bind_int64(stmt, 2, ++mark);
            sqlite3_bind_int64(stmt, 3, d->account);
        }
        rc = dn_db_step_txn(self->db, stmt);
        sqlite3_reset(stmt);
        if (rc == 0 && c && c->member) {
            if (dn_db_cached(self->cache, "UPDATE members SET down_mark = ? WHERE phone = ?",
                             &stmt))
                return DN_EDB;
            sqlite3_bind_int64(stmt, 1, mark);
            sqlite3_bind_text(stmt, 2, c->phone, -1, SQLITE_STATIC);
            rc = dn_db_step_txn(self->db, stmt);
            sqlite3_reset(stmt);
        }
        if (rc)
            return rc;
    }
    if (mark == first)
        return 0;
    if (dn_db_cached(self->cache, "UPDATE down_marks SET mark = ? WHERE id = 1", &stmt))
        return DN_EDB;
    sqlite3_bind_int64(stmt, 1, mark);
    rc = dn_db_step_txn(self->db, stmt);
    sqlite3_reset(stmt);
    return rc;
}

int dn_ledger_flush(dn_ledger_t *self)
{
    sqlite3_stmt *stmt;
    int rc = s_balances(self);
    if (rc == 0)
        rc = s_period_moves_flush(self);
    if (rc == 0 && self->totals_moved) {
        if (dn_db_cached(self->cache,
                         "UPDATE money_totals SET sales = ?, transfers = ? WHERE id = 1",
                         &stmt)) {
            rc = DN_EDB;
        } else {
            sqlite3_bind_int64(stmt, 1, self->sum_sales);
            sqlite3_bind_int64(stmt, 2, self->sum_transfers);
            rc = dn_db_step_txn(self->db, stmt);
            sqlite3_reset(stmt);
        }
    }
    self->have_totals = 0;
    self->totals_moved = 0;
    dn_table_clear(&self->deltas, sizeof(s_delta_t));
    self->have_head = 0;
    if (rc)
        dn_ledger_forget(self);
    return rc;
}

/*  Ends one posting: on failure the caches go (the caller rolls back).
    DN_ELIMIT is no failure: the sale posted nothing and the batch goes on
    (the caller holds the sale).  */
static int s_finish(dn_ledger_t *self, int rc)
{
    self->staging = 0;
    self->n_staged = 0;
    self->staged_reserve = 0;
    if (rc && rc != DN_ELIMIT)
        dn_ledger_forget(self);
    return rc;
}

/*  Fills the period fields of t for an event recorded at event_ms.  */
static int s_periods(dn_ledger_t *self, s_transfer_t *t, int64_t event_ms)
{
    char of[DN_PERIOD_SIZE];
    dn_time_period_of(event_ms, of);
    if (s_open_period(self, of, t->period))
        return DN_EDB;
    if (strcmp(of, t->period) != 0)
        memcpy(t->event_period, of, DN_PERIOD_SIZE);
    else
        t->event_period[0] = '\0';
    return 0;
}

/* -- sales ---------------------------------------------------------------------- */

/*  The plan in force at at_ms, from the cached versions (NULL: none).  */
static int s_plan_at(dn_ledger_t *self, int64_t at_ms, const dn_plan_t **plan)
{
    *plan = NULL;
    if (!self->plans_loaded) {
        int rc;
        free(self->plans);
        if ((rc = dn_plan_in_force_cached(self->cache, &self->plans, &self->n_plans)) !=
            0)
            return rc;
        self->plans_loaded = 1;
    }
    for (size_t i = 0; i < self->n_plans && self->plans[i].effective_ms <= at_ms; i++)
        *plan = &self->plans[i];
    return 0;
}

/*  Partners of kind hq are HQ itself: HQ pays no commission to itself.  */
static int s_is_hq(const dn_tree_node_t *node)
{
    return strcmp(node->p.kind, "hq") == 0;
}

/*  The levels of a sale: level 0 the seller, then its upline at time T.  A
    partner suspended at T is skipped (the next one above takes its level:
    the place is vacant while the sanction lasts); an active partner of kind
    hq holds its level but earns nothing (NULL: HQ keeps that level's share,
    and the partners above keep their own levels, as they would under any
    partner -- an HQ-owned office in the tree is a real node, not a gap).  */
typedef struct {
    dn_tree_node_t **earners;
    int *n;
    int64_t at_ms;
} s_earners_t;

/*  dn_tree_walk's visit for s_earners.  */
static int s_earner(void *arg, dn_tree_node_t *node)
{
    s_earners_t *e = arg;
    if (dn_tree_node_active_at(node, e->at_ms))
        e->earners[(*e->n)++] = s_is_hq(node) ? NULL : node;
    return *e->n == DN_PLAN_MAX_LEVELS; /* every level has its earner: stop */
}

static int s_earners(dn_ledger_t *self, dn_tree_node_t *seller, int64_t at_ms,
                     dn_tree_node_t *earners[DN_PLAN_MAX_LEVELS], int *n)
{
    s_earners_t e = {earners, n, at_ms};
    *n = 0;
    return dn_tree_walk(self->tree, seller->p.id, at_ms, s_earner, &e);
}

/*  Commission: per category group (lines paid by the same level table),
    the plan's rates from level 0 upward until the cap is used.  */
static int s_commission(dn_ledger_t *self, const Dealernet__Event *ev,
                        const dn_plan_t *plan, dn_tree_node_t *seller,
                        const s_transfer_t *base)
{
    const Dealernet__Sale *sale = ev->sale;
    dn_tree_node_t *earners[DN_PLAN_MAX_LEVELS];
    const dn_plan_table_t *tables[DN_MAX_SALE_LINES];
    int64_t amounts[DN_MAX_SALE_LINES], hq;
    size_t groups = 0;
    int n, rc;

    if ((rc = s_earners(self, seller, ev->recorded_at_ms, earners, &n)) != 0)
        return rc;
    if (n == 0)
        return 0;
    for (size_t i = 0; i < sale->n_lines; i++) {
        const dn_plan_table_t *table = dn_plan_table(plan, sale->lines[i]->category);
        int64_t amount;
        size_t g;
        for (g = 0; g < groups && tables[g] != table; g++)
            ;
        if (g == groups) {
            tables[groups] = table;
            amounts[groups++] = 0;
        }
        if (dn_money_mul(sale->lines[i]->unit_price, sale->lines[i]->quantity, &amount) ||
            dn_money_add(amounts[g], amount, &amounts[g]))
            return DN_EDB; /* dn_wire bounded the sale: cannot happen */
    }
    if ((rc = s_hq_account(self, S_HQ_COMMISSION, &hq)) != 0)
        return rc;
    for (size_t g = 0; g < groups; g++) {
        int32_t used = 0;
        for (int level = 0; level < n && used < plan->cap_bps; level++) {
            int32_t rate = level < tables[g]->n_levels ? tables[g]->bps[level] : 0;
            s_transfer_t t = *base;
            if (rate > plan->cap_bps - used)
                rate = plan->cap_bps - used;
            if (rate <= 0)
                continue;
            used += rate; /* an hq level uses its share of the cap too: HQ keeps it */
            if (!earners[level])
                continue;
            if (dn_money_mul_bps(amounts[g], rate, &t.amount))
                return DN_EDB;
            if (t.amount <= 0)
                continue;
            if ((rc = s_partner_account(self, earners[level], &t.credit)) != 0)
                return rc;
            t.debit = hq;
            t.code = "commission";
            t.has_level = 1;
            t.level = level;
            t.has_rate = 1;
            t.rate_bps = rate;
            t.category = tables[g]->category[0] ? tables[g]->category : NULL;
            if ((rc = s_post(self, &t)) != 0)
                return rc;
        }
    }
    return 0;
}

/*  1 if at_ms is within `days` days from start_ms: start_ms <= at_ms <
    start_ms + days x 24 h, counted in milliseconds from the instant
    (purchase_days from the sign-up's recorded time, recruit_override_days
    from joined_ms).  The start is in, the end is out, so that a window of
    one day from a midnight is exactly that day and 0 days is no window; an
    instant has no time zone, so the rule holds whatever zone days are
    shown in.  */
static int s_within_days(int64_t at_ms, int64_t start_ms, int32_t days)
{
    return at_ms >= start_ms && at_ms - start_ms < (int64_t)days * DN_DAY_MS;
}

/*  The recruit override: the seller's recruiter, within the window after
    the seller joined.  */
static int s_override(dn_ledger_t *self, const Dealernet__Event *ev,
                      const dn_plan_t *plan, const dn_tree_node_t *seller,
                      const s_transfer_t *base)
{
    dn_tree_node_t *recruiter;
    s_transfer_t t = *base;
    int64_t at = ev->recorded_at_ms;
    int rc;

    if (!seller->p.recruiter_id || plan->recruit_override_bps <= 0 ||
        !s_within_days(at, seller->p.joined_ms, plan->recruit_override_days))
        return 0;
    if ((rc = dn_tree_node(self->tree, seller->p.recruiter_id, &recruiter)) != 0)
        return rc;
    if (recruiter->p.created_ms > base->created_ms ||
        !dn_tree_node_active_at(recruiter, at) || s_is_hq(recruiter))
        return 0;
    if (dn_money_mul_bps(ev->sale->total, plan->recruit_override_bps, &t.amount))
        return DN_EDB;
    if (t.amount <= 0)
        return 0;
    if ((rc = s_hq_account(self, S_HQ_COMMISSION, &t.debit)) != 0 ||
        (rc = s_partner_account(self, recruiter, &t.credit)) != 0)
        return rc;
    t.code = "override";
    t.has_rate = 1;
    t.rate_bps = plan->recruit_override_bps;
    return s_post(self, &t);
}

/*  Referral rewards of a sale to a referred member (the rules: the README,
    "Referral").  Who referred the member is the sign-up stored before this
    sale; whether that referral binds, and which sale is the member's first
    purchase, is the view member_referrals (central.db's one definition,
    see dn_central.c).  Its first purchase is the lowest eid among the
    member's purchases, so once a sale is posted no later event can change
    what the view says of it: verify reads the final tables and still
    decides every sale as its posting did.  */
static int s_referral(dn_ledger_t *self, int64_t eid, const Dealernet__Event *ev,
                      const dn_plan_t *plan, const s_transfer_t *base)
{
    const Dealernet__Sale *sale = ev->sale;
    sqlite3_stmt *stmt;
    char ref_phone[DN_PHONE_SIZE] = "", ref_partner[DN_MAX_CODE_LEN + 1] = "";
    char name[DN_ACCOUNT_NAME_SIZE];
    int64_t signed_up = 0, first_eid = 0, account, hq;
    int found = 0, bound = 0, first, rc, step;
    int64_t at = ev->recorded_at_ms;

    if (!sale->member_phone)
        return 0;
    /* A referral HQ accepted late (dn_facts) pays on later sales only.  */
    if (dn_db_cached(
            self->cache,
            "SELECT referrer_phone, referrer_partner, signed_up_ms, "
            "coalesce(first_eid, 0), referral_state = 'bound' FROM member_referrals "
            "WHERE phone = ?1 AND signup_eid < ?2 AND referral_eid < ?2",
            &stmt))
        return DN_EDB;
    sqlite3_bind_text(stmt, 1, sale->member_phone, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, eid);
    if ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (dn_db_column_copy(stmt, 0, ref_phone, sizeof ref_phone) ||
            dn_db_column_copy(stmt, 1, ref_partner, sizeof ref_partner))
            step = SQLITE_NOMEM;
        signed_up = sqlite3_column_int64(stmt, 2);
        first_eid = sqlite3_column_int64(stmt, 3);
        bound = sqlite3_column_int(stmt, 4);
        found = 1;
    }
    sqlite3_reset(stmt);
    if (step != SQLITE_ROW && step != SQLITE_DONE) /* not "no referrer" */
        return DN_EDB;
    /* Nothing before the first purchase (a sale before it is no purchase:
       0.00, before the sign-up), nothing if the referral is void.  A first
       purchase with a higher eid is one verify sees in the final tables
       and this sale's posting did not: the referral was still pending.  */
    if (!found || (!ref_phone[0] && !ref_partner[0]) || !bound || first_eid == 0 ||
        first_eid > eid)
        return 0;
    first = first_eid == eid;

    if (ref_phone[0]) {
        snprintf(name, sizeof name, DN_ACCOUNT_MEMBER "%s", ref_phone);
        rc = s_account(self, name, "member", 0, ref_phone, &account);
    } else {
        dn_tree_node_t *partner;
        rc = dn_tree_node_by_code(self->tree, ref_partner, base->created_ms, &partner);
        if (rc == DN_ENOENT)
            return 0; /* a referrer code HQ does not know earns nothing */
        /* A partner suspended at the sale's time, or of kind hq, earns
           nothing: the reward is not paid (HQ keeps it), not deferred --
           a first purchase made meanwhile has used the bonus up.  */
        if (rc == 0 && (!dn_tree_node_active_at(partner, at) || s_is_hq(partner)))
            return 0;
        if (rc == 0)
            rc = s_partner_account(self, partner, &account);
    }
    if (rc || (rc = s_hq_account(self, S_HQ_REFERRAL, &hq)) != 0)
        return rc;

    if (first && plan->first_purchase_bonus > 0) {
        s_transfer_t t = *base;
        t.debit = hq;
        t.credit = account;
        t.amount = plan->first_purchase_bonus;
        t.code = "referral";
        t.bonus = 1;
        if ((rc = s_post(self, &t)) != 0)
            return rc;
    }
    if (plan->purchase_bps > 0 && s_within_days(at, signed_up, plan->purchase_days)) {
        s_transfer_t t = *base;
        if (dn_money_mul_bps(sale->total, plan->purchase_bps, &t.amount))
            return DN_EDB;
        if (t.amount > 0) {
            t.debit = hq;
            t.credit = account;
            t.code = "referral";
            t.has_rate = 1;
            t.rate_bps = plan->purchase_bps;
            if ((rc = s_post(self, &t)) != 0)
                return rc;
        }
    }
    return 0;
}

/*  What a sale earns (commission, override, referral), staged in
    self->staged: nothing is inserted yet.  */
static int s_stage_sale(dn_ledger_t *self, int64_t eid, const Dealernet__Event *ev,
                        int64_t now_ms)
{
    const dn_plan_t *plan;
    dn_tree_node_t *seller = NULL;
    s_transfer_t base;
    int rc = s_plan_at(self, ev->recorded_at_ms, &plan);

    if (rc || !plan)
        return rc; /* no plan in force: nothing is owed */
    if (strcmp(plan->currency, ev->sale->currency) != 0)
        return 0; /* a sale in another currency than the plan's earns nothing */
    memset(&base, 0, sizeof base);
    base.source_eid = eid;
    base.sale_eid = eid;
    base.created_ms = now_ms;
    if ((rc = s_periods(self, &base, ev->recorded_at_ms)) != 0)
        return rc;
    rc = dn_tree_node_by_code(self->tree, ev->sale->seller, now_ms, &seller);
    if (rc == 0)
        rc = s_commission(self, ev, plan, seller, &base);
    if (rc == 0)
        rc = s_override(self, ev, plan, seller, &base);
    if (rc == DN_ENOENT) /* an unknown seller earns no commission; referral still pays */
        rc = 0;
    if (rc == 0)
        rc = s_referral(self, eid, ev, plan, &base);
    return rc;
}

/*  A sale is posted whole or not at all: its total must fit under the
    running total of sales, and everything it earns under that of
    transfers (DN_MONEY_SUM_MAX each), else DN_ELIMIT and nothing moves.  */
static int s_post_sale(dn_ledger_t *self, int64_t eid, const Dealernet__Event *ev,
                       int64_t now_ms)
{
    int64_t sales, transfers;
    int rc;

    if ((rc = s_totals(self)) != 0)
        return rc;
    if (dn_money_add_capped(self->sum_sales, ev->sale->total, DN_MONEY_SUM_MAX, &sales))
        return DN_ELIMIT;
    self->staging = 1;
    self->n_staged = 0;
    self->staged_reserve = 0;
    rc = s_stage_sale(self, eid, ev, now_ms);
    self->staging = 0;
    if (rc)
        return rc;
    if (dn_money_add_capped(self->sum_transfers, self->staged_reserve, DN_MONEY_SUM_MAX,
                            &transfers))
        return DN_ELIMIT;
    if ((rc = s_insert(self, self->staged, self->n_staged)) != 0)
        return rc;
    self->sum_sales = sales;
    self->sum_transfers = transfers;
    self->totals_moved = 1;
    return 0;
}

/* -- refunds ------------------------------------------------------------------ */

/*  One transfer of the sale that a refund may take back from.  */
typedef struct {
    int64_t id, debit, credit, amount, taken;
    int bonus, has_level, level, has_rate;
    int32_t rate_bps;
    char category[DN_MAX_CODE_LEN + 1];
    int has_category;
} s_original_t;

/*  Loads the transfers of a sale that refunds and voids take back from
    (its commissions, referrals and overrides), each with what was already
    taken back from it (clawbacks and a void's reversals), into *orig
    (caller frees, also on failure).  */
static int s_originals(dn_ledger_t *self, int64_t sale_eid, s_original_t **orig,
                       size_t *n)
{
    sqlite3_stmt *stmt;
    size_t cap = 0;
    int rc = 0, step;

    *orig = NULL;
    *n = 0;
    if (dn_db_cached(
            self->cache,
            "SELECT t.id, t.debit, t.credit, t.amount, t.bonus, t.level, t.rate_bps, "
            "t.category, (SELECT coalesce(sum(c.amount), 0) FROM transfers c "
            "  WHERE c.sale_eid = t.sale_eid AND c.reverses = t.id) "
            "FROM transfers t WHERE t.sale_eid = ? AND t.reverses IS NULL "
            "AND t.code IN ('commission', 'referral', 'override') ORDER BY t.id",
            &stmt))
        return DN_EDB;
    sqlite3_bind_int64(stmt, 1, sale_eid);
    while ((step = dn_db_row(stmt, "ledger: a sale's postings to claw back")) == 1) {
        s_original_t *o, *bigger = dn_array_grow(*orig, &cap, *n, sizeof **orig, 16);
        if (!bigger) {
            rc = DN_ENOMEM;
            break;
        }
        *orig = bigger;
        o = &(*orig)[(*n)++];
        memset(o, 0, sizeof *o);
        o->id = sqlite3_column_int64(stmt, 0);
        o->debit = sqlite3_column_int64(stmt, 1);
        o->credit = sqlite3_column_int64(stmt, 2);
        o->amount = sqlite3_column_int64(stmt, 3);
        o->bonus = sqlite3_column_int(stmt, 4);
        o->has_level = sqlite3_column_type(stmt, 5) != SQLITE_NULL;
        o->level = sqlite3_column_int(stmt, 5);
        o->has_rate = sqlite3_column_type(stmt, 6) != SQLITE_NULL;
        o->rate_bps = sqlite3_column_int(stmt, 6);
        o->has_category = sqlite3_column_type(stmt, 7) != SQLITE_NULL;
        if (o->has_category &&
            (rc = dn_db_column_copy(stmt, 7, o->category, sizeof o->category)) != 0)
            break;
        o->taken = sqlite3_column_int64(stmt, 8);
    }
    sqlite3_reset(stmt);
    if (rc == 0 && step < 0) /* a clawback of some of them is wrong */
        rc = DN_EDB;
    return rc;
}

/*  Fills t as the transfer that takes amount back from o: the accounts
    swapped, the level, rate, category and bonus o had.  */
static void s_take_back(s_transfer_t *t, const s_original_t *o, int64_t amount)
{
    t->amount = amount;
    t->debit = o->credit;
    t->credit = o->debit;
    t->reverses = o->id;
    t->has_level = o->has_level;
    t->level = o->level;
    t->has_rate = o->has_rate;
    t->rate_bps = o->rate_bps;
    t->category = o->has_category ? o->category : NULL;
    t->bonus = o->bonus;
}

static int s_post_refund(dn_ledger_t *self, int64_t eid, const Dealernet__Event *ev,
                         int64_t now_ms)
{
    sqlite3_stmt *stmt;
    int64_t sale_eid = 0, total = 0, refunded = 0;
    s_original_t *orig = NULL;
    size_t n = 0;
    s_transfer_t base;
    int rc = 0, step;

    /* The sale, and how much of it is refunded up to and with this event.  */
    if (dn_db_cached(
            self->cache,
            "SELECT s.eid, s.total, (SELECT coalesce(sum(r.amount), 0) FROM refunds r "
            "  WHERE r.sale_eid = s.eid AND r.eid <= ?) "
            "FROM refunds f JOIN sales s ON s.eid = f.sale_eid WHERE f.eid = ?",
            &stmt))
        return DN_EDB;
    sqlite3_bind_int64(stmt, 1, eid);
    sqlite3_bind_int64(stmt, 2, eid);
    if ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        sale_eid = sqlite3_column_int64(stmt, 0);
        total = sqlite3_column_int64(stmt, 1);
        refunded = sqlite3_column_int64(stmt, 2);
    }
    sqlite3_reset(stmt);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        return DN_EDB;
    if (!sale_eid || total <= 0)
        return 0; /* refund rows are written by ingest before posting */

    /* A void took back everything it found: a refund after it finds
       nothing left, and posts nothing.  */
    rc = s_originals(self, sale_eid, &orig, &n);

    memset(&base, 0, sizeof base);
    base.source_eid = eid;
    base.sale_eid = sale_eid;
    base.created_ms = now_ms;
    base.code = "clawback";
    if (rc == 0)
        rc = s_periods(self, &base, ev->recorded_at_ms);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const s_original_t *o = &orig[i];
        int64_t left = o->amount - o->taken, back = 0;
        s_transfer_t t = base;
        if (left <= 0)
            continue;
        if (refunded >= total)
            back = left; /* the completing refund: exactly what is left */
        else if (o->bonus)
            continue; /* the first-purchase bonus goes back only with the whole sale */
        /* Not dn_money_split: each transfer gives back its own fraction
           (refund / sale) of what it paid, rounded on its own, capped at
           what it has left, and the completing refund squares every one up
           exactly; there is no one amount to share out, and a split on the
           running sum would change posted clawbacks that verify replays.  */
        else if (dn_money_muldiv(o->amount, ev->refund->amount, total, &back))
            rc = DN_EDB;
        if (rc || back <= 0)
            continue;
        s_take_back(&t, o, back < left ? back : left);
        rc = s_post(self, &t);
    }
    free(orig);
    return rc;
}

int dn_ledger_post(dn_ledger_t *self, int64_t eid, const Dealernet__Event *ev,
                   int64_t now_ms)
{
    switch (ev->body_case) {
    case DEALERNET__EVENT__BODY_SALE:
        return s_finish(self, s_post_sale(self, eid, ev, now_ms));
    case DEALERNET__EVENT__BODY_REFUND:
        return s_finish(self, s_post_refund(self, eid, ev, now_ms));
    default:
        return 0;
    }
}

/* -- reading ------------------------------------------------------------------ */

static json_t *s_money(int64_t minor, int exponent)
{
    char text[DN_MONEY_TEXT_SIZE];
    dn_money_format(minor, exponent, text, sizeof text);
    return json_string(text);
}

int dn_ledger_figures(sqlite3 *db, const char *partner, const char *phone,
                      const char *period, int64_t now_ms, dn_ledger_figures_t *f,
                      char *why, size_t why_size)
{
    char norm[DN_PHONE_SIZE];
    sqlite3_stmt *stmt;
    int rc, overflow = 0;

    memset(f, 0, sizeof *f);
    f->exponent = 2;
    if (period && dn_time_parse_period(period, NULL, NULL))
        return dn_why(why, why_size, DN_EPARSE, _("period '%s' is not YYYY-MM"), period);
    if (period)
        snprintf(f->period, sizeof f->period, "%s", period);
    else
        dn_time_period_of(now_ms, f->period);
    if (partner) {
        dn_registry_partner_t found;
        if (dn_registry_partner_get(db, partner, &found) != 0)
            return dn_why(why, why_size, DN_ENOENT, _("partner %s does not exist"),
                          partner);
        snprintf(f->name, sizeof f->name, DN_ACCOUNT_PARTNER "%s", found.code);
    } else {
        /* typed any way at HQ: canonical with the network's country */
        if ((rc = dn_phones_canonical(db, phone, norm, why, why_size)) != 0)
            return rc;
        snprintf(f->name, sizeof f->name, DN_ACCOUNT_MEMBER "%s", norm);
    }
    rc = dn_plan_currency(db, f->currency, &f->exponent);
    if (rc && rc != DN_ENOENT)
        return rc;

    /* the account's rows up to the period (account_periods_account): the
       ones before it make the opening, the period's own the totals */
    if (dn_db_prepare(db,
                      "SELECT a.id, p.period = ?2, p.code, p.credits, p.debits "
                      "FROM accounts a LEFT JOIN account_periods p "
                      "ON p.account = a.id AND p.period <= ?2 WHERE a.name = ?1",
                      &stmt))
        return DN_EDB;
    sqlite3_bind_text(stmt, 1, f->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, f->period, -1, SQLITE_STATIC);
    while ((rc = dn_db_row(stmt, "statement: opening balance")) == 1) {
        int code, in_period = sqlite3_column_int(stmt, 1);
        int64_t credits = sqlite3_column_int64(stmt, 3);
        int64_t debits = sqlite3_column_int64(stmt, 4);
        f->account = sqlite3_column_int64(stmt, 0);
        if (sqlite3_column_type(stmt, 2) == SQLITE_NULL)
            continue; /* an account no transfer has touched yet */
        code = s_code((const char *)sqlite3_column_text(stmt, 2));
        /* the table's CHECKs keep each within 0 .. DN_MONEY_SUM_MAX */
        if (code < 0 || credits < 0 || debits < 0 ||
            dn_money_add(in_period ? f->totals[code] : f->opening, credits - debits,
                         in_period ? &f->totals[code] : &f->opening))
            overflow = 1;
        else if (in_period)
            f->has[code] = 1;
    }
    sqlite3_finalize(stmt);
    if (rc < 0) /* not "no account yet, opening 0.00" */
        return dn_why(why, why_size, DN_EDB,
                      _("statement: cannot read the opening balance"));
    f->closing = f->opening;
    for (int code = 0; code < DN_LEDGER_CODES && !overflow; code++)
        overflow = dn_money_add(f->closing, f->totals[code], &f->closing) != 0;
    if (overflow) /* cannot be, within DN_MONEY_SUM_MAX: the file was altered */
        return dn_why(
            why, why_size, DN_EDB,
            _("statement: a sum of transfers overflows; run dealernet-hq verify"));
    if (!f->account && phone) {
        if (dn_db_prepare(db, "SELECT 1 FROM members WHERE phone = ?", &stmt))
            return DN_EDB;
        sqlite3_bind_text(stmt, 1, norm, -1, SQLITE_STATIC);
        rc = dn_db_row(stmt, "statement: find the member");
        sqlite3_finalize(stmt);
        if (rc < 0)
            return DN_EDB;
        if (rc == 0)
            return dn_why(why, why_size, DN_ENOENT, _("no member with phone %s"), norm);
    }
    return 0;
}

/*  The statement of the account of f (dn_ledger_figures), its transfers
    listed from `transfers` (through transfers_period).  Its closing is the
    opening and the listed transfers, and its totals by code theirs: both
    must be what account_periods holds, else the file was altered (or a
    writer of transfers skipped the flush) and the statement is refused
    rather than printed with two figures that disagree.  */
static int s_statement(sqlite3 *db, const dn_ledger_figures_t *f, json_t **out, char *why,
                       size_t why_size)
{
    const char *name = f->name, *p = f->period, *currency = f->currency;
    int64_t account = f->account, opening = f->opening, closing;
    int exponent = f->exponent, rc;
    sqlite3_stmt *stmt;
    json_t *rows, *totals;

    rows = json_array();
    totals = json_object();
    closing = opening;
    if (dn_db_prepare(
            db,
            "SELECT t.id, t.created_ms, t.code, CASE WHEN t.credit = ? THEN t.amount "
            "ELSE -t.amount END, e.id, t.level, t.rate_bps, t.category, "
            "t.event_period, t.ref, o.name, t.bonus, k.kind, k.reason, "
            /* the category's display name: the latest plan version's that
               names it (a name is for reading; the code is what pays) */
            "(SELECT pc.name FROM plan_categories pc JOIN plans pl ON pl.id = pc.plan_id "
            "  WHERE pc.category = t.category ORDER BY pl.effective_ms DESC LIMIT 1) "
            "FROM transfers t LEFT JOIN events e ON e.eid = t.sale_eid "
            "JOIN accounts o ON o.id = CASE WHEN t.credit = ? THEN t.debit "
            "ELSE t.credit END "
            /* the correction whose transfers' ids hold this one */
            "LEFT JOIN corrections k ON t.code = 'adjustment' AND k.id = "
            "  (SELECT c.id FROM corrections c WHERE c.first_transfer <= t.id "
            "   ORDER BY c.first_transfer DESC LIMIT 1) AND k.last_transfer >= t.id "
            "WHERE (t.credit = ? OR t.debit = ?) AND t.period = ? ORDER BY t.id",
            &stmt)) {
        json_decref(rows);
        json_decref(totals);
        return DN_EDB;
    }
    for (int i = 1; i <= 4; i++)
        sqlite3_bind_int64(stmt, i, account);
    sqlite3_bind_text(stmt, 5, p, -1, SQLITE_STATIC);
    while ((rc = dn_db_row(stmt, "statement: transfers")) == 1) {
        char date[DN_TIME_TEXT_SIZE], sale[DN_ID_TEXT_SIZE] = "";
        const char *code = (const char *)sqlite3_column_text(stmt, 2);
        int64_t amount = sqlite3_column_int64(stmt, 3);
        json_t *total = code ? json_object_get(totals, code) : NULL;
        int64_t sum = total ? json_integer_value(total) : 0;
        if (!code || dn_money_add(closing, amount, &closing) ||
            dn_money_add(sum, amount, &sum)) {
            /* cannot be, within DN_MONEY_SUM_MAX: the file was altered */
            rc = dn_why(
                why, why_size, DN_EDB,
                _("statement: a sum of transfers overflows; run dealernet-hq verify"));
            break;
        }
        dn_time_format(sqlite3_column_int64(stmt, 1), date);
        if (sqlite3_column_bytes(stmt, 4) == DN_ID_BYTES)
            dn_id_format(sqlite3_column_blob(stmt, 4), sale);
        json_object_set_new(totals, code, json_integer(sum));
        json_t *row =
            json_pack("{s:I, s:s, s:s, s:o, s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:s}", "id",
                      (json_int_t)sqlite3_column_int64(stmt, 0), "date", date, "code",
                      code, "amount", s_money(amount, exponent), "amount_minor",
                      (json_int_t)amount, "sale",
                      sale[0] ? json_string(sale) : json_null(), "level",
                      sqlite3_column_type(stmt, 5) == SQLITE_NULL
                          ? json_null()
                          : json_integer(sqlite3_column_int(stmt, 5)),
                      "rate_bps",
                      sqlite3_column_type(stmt, 6) == SQLITE_NULL
                          ? json_null()
                          : json_integer(sqlite3_column_int(stmt, 6)),
                      "category",
                      sqlite3_column_type(stmt, 7) == SQLITE_NULL
                          ? json_null()
                          : json_string((const char *)sqlite3_column_text(stmt, 7)),
                      "late_from",
                      sqlite3_column_type(stmt, 8) == SQLITE_NULL
                          ? json_null()
                          : json_string((const char *)sqlite3_column_text(stmt, 8)),
                      "ref",
                      sqlite3_column_type(stmt, 9) == SQLITE_NULL
                          ? json_null()
                          : json_string((const char *)sqlite3_column_text(stmt, 9)),
                      "counterparty", (const char *)sqlite3_column_text(stmt, 10));
        if (row) {
            json_object_set_new(row, "bonus", json_boolean(sqlite3_column_int(stmt, 11)));
            json_object_set_new(
                row, "correction",
                sqlite3_column_type(stmt, 12) == SQLITE_NULL
                    ? json_null()
                    : json_string((const char *)sqlite3_column_text(stmt, 12)));
            json_object_set_new(
                row, "reason",
                sqlite3_column_type(stmt, 13) == SQLITE_NULL
                    ? json_null()
                    : json_string((const char *)sqlite3_column_text(stmt, 13)));
            /* last, so --csv keeps its columns where scripts found them */
            json_object_set_new(
                row, "category_name",
                sqlite3_column_type(stmt, 14) == SQLITE_NULL
                    ? json_null()
                    : json_string((const char *)sqlite3_column_text(stmt, 14)));
        }
        json_array_append_new(rows, row);
    }
    sqlite3_finalize(stmt);
    if (rc < 0) { /* a statement cut short is a wrong one */
        json_decref(rows);
        json_decref(totals);
        return rc;
    }

    /* The listing against account_periods: the same closing, and the
       same totals for the same codes.  */
    int agree = closing == f->closing, listed = 0;
    for (int code = 0; code < DN_LEDGER_CODES && agree; code++) {
        json_t *total = json_object_get(totals, s_code_names[code]);
        listed += total != NULL;
        agree =
            f->has[code] ? total && json_integer_value(total) == f->totals[code] : !total;
    }
    if (!agree || (size_t)listed != json_object_size(totals)) {
        json_decref(rows);
        json_decref(totals);
        return dn_why(why, why_size, DN_EDB,
                      _("statement: the figures of %s for %s (account_periods) are not "
                        "those of its transfers; run dealernet-hq verify"),
                      name, p);
    }

    /* Totals by code, as money: account_periods' figures, in the order the
       period's transfers first show each code.  */
    json_t *money_totals = json_object();
    const char *key;
    json_t *value;
    json_object_foreach(totals, key, value)
    {
        char minor_key[64];
        int64_t total = f->totals[s_code(key)]; /* a code of the check above */
        json_object_set_new(money_totals, key, s_money(total, exponent));
        snprintf(minor_key, sizeof minor_key, "%s_minor", key);
        json_object_set_new(money_totals, minor_key, json_integer(total));
    }
    json_decref(totals);
    closing = f->closing;
    *out = json_pack("{s:s, s:s, s:s, s:o, s:I, s:o, s:I, s:o, s:o}", "account", name,
                     "period", p, "currency", currency, "opening", s_money(opening, exponent),
                     "opening_minor", (json_int_t)opening, "closing",
                     s_money(closing, exponent), "closing_minor", (json_int_t)closing,
                     "totals", money_totals, "transfers", rows);
    return *out ? 0 : DN_ENOMEM;
}

int dn_ledger_statement(sqlite3 *db, const char *partner, const char *phone,
                        const char *period, int64_t now_ms, json_t **out, char *why,
                        size_t why_size)
{
    dn_ledger_figures_t f;
    int own = sqlite3_get_autocommit(db), rc;

    *out = NULL;
    /* The figures and the listing from one snapshot, or a sync committed
       between them would make them disagree: the caller's read
       transaction (dn_query, dn_web), else one of its own.  */
    if (own && dn_db_exec(db, "SAVEPOINT statement")) {
        dn_db_rollback(db); /* one that failed half-way may have begun */
        return DN_EDB;
    }
    rc = dn_ledger_figures(db, partner, phone, period, now_ms, &f, why, why_size);
    if (rc == 0)
        rc = s_statement(db, &f, out, why, why_size);
    if (own && dn_db_exec(db, "RELEASE statement")) {
        dn_db_rollback(db); /* it read only: ends the transaction all the same */
        json_decref(*out);
        *out = NULL;
        rc = rc ? rc : DN_EDB;
    }
    return rc;
}

/*  0 if no payout used ref yet; DN_EEXIST with the earlier payout named in
    why; DN_EDB.  Read in the payout's transaction: payout_refs' key makes
    the same refusal should a second writer come between.  */
static int s_payout_ref_free(sqlite3 *db, const char *ref, int exponent,
                             const char *currency, char *why, size_t why_size)
{
    char when[DN_TIME_TEXT_SIZE], amount[DN_MONEY_TEXT_SIZE], who[DN_MAX_CODE_LEN + 1];
    sqlite3_stmt *stmt;
    int step, rc = 0;

    if (dn_db_prepare(db,
                      "SELECT t.id, t.amount, t.created_ms, p.code FROM payout_refs r "
                      "JOIN transfers t ON t.id = r.transfer_id "
                      "JOIN accounts a ON a.id = t.debit "
                      "LEFT JOIN partners p ON p.id = a.partner_id WHERE r.ref = ?",
                      &stmt))
        return DN_EDB;
    sqlite3_bind_text(stmt, 1, ref, -1, SQLITE_STATIC);
    step = sqlite3_step(stmt);
    if (step == SQLITE_ROW) {
        dn_money_format(sqlite3_column_int64(stmt, 1), exponent, amount, sizeof amount);
        dn_time_format(sqlite3_column_int64(stmt, 2), when);
        if (dn_db_column_copy(stmt, 3, who, sizeof who))
            snprintf(who, sizeof who, "?");
        rc = dn_why(
            why, why_size, DN_EEXIST,
            _("reference '%.60s' is already used by payout %lld (%s %s to %s at %s): "
              "each payment is recorded once"),
            ref, (long long)sqlite3_column_int64(stmt, 0), amount, currency, who, when);
    } else if (step != SQLITE_DONE) {
        rc = DN_EDB;
    }
    sqlite3_finalize(stmt);
    return rc;
}

/*  The shape of a payout's reference: 0, or DN_EINVAL with why set.  */
static int s_payout_ref_valid(const char *ref, char *why, size_t why_size)
{
    char hidden[DN_HIDDEN_WHY_SIZE];
    if (dn_valid_hidden(ref, hidden, sizeof hidden))
        return dn_why(why, why_size, DN_EINVAL, "--ref %s", hidden);
    if (!ref || !dn_valid_text(ref, 200))
        return dn_why(why, why_size, DN_EINVAL,
                      _("a payout needs --ref: 1 to 200 printable "
                        "characters (the bank transfer's reference)"));
    return 0;
}

int dn_ledger_payout_post(dn_ledger_t *self, const char *partner, int64_t amount,
                          const char *ref, int64_t now_ms, int64_t *balance_after,
                          char period[DN_PERIOD_SIZE], char *why, size_t why_size)
{
    sqlite3 *db = self->db;
    dn_registry_partner_t found;
    dn_tree_node_t *node;
    s_transfer_t t;
    char currency[4] = "", text[DN_MONEY_TEXT_SIZE], left[DN_MONEY_TEXT_SIZE];
    int exponent = 2, rc;
    int64_t balance = 0;
    sqlite3_stmt *stmt;

    if (amount <= 0)
        return dn_why(why, why_size, DN_EINVAL, _("a payout must be positive"));
    if ((rc = s_payout_ref_valid(ref, why, why_size)) != 0)
        return rc;
    rc = dn_registry_partner_get(db, partner, &found);
    if (rc == DN_ENOENT)
        return dn_why(why, why_size, DN_ENOENT, _("partner %s does not exist"), partner);
    if (rc)
        return rc;
    dn_plan_currency(db, currency, &exponent);
    memset(&t, 0, sizeof t);
    t.code = "payout";
    t.amount = amount;
    t.ref = ref;
    t.created_ms = now_ms;
    rc = s_payout_ref_free(db, ref, exponent, currency, why, why_size);
    if (rc == 0)
        rc = dn_tree_node(self->tree, found.id, &node);
    if (rc == 0)
        rc = s_partner_account(self, node, &t.debit);
    if (rc == 0)
        rc = s_hq_account(self, S_HQ_PAYOUT, &t.credit);
    /* the balance as stored: every earlier posting of this transaction
       was flushed (below) */
    if (rc == 0 && (rc = dn_db_prepare(db, "SELECT balance FROM accounts WHERE id = ?",
                                       &stmt)) == 0) {
        sqlite3_bind_int64(stmt, 1, t.debit);
        int row = dn_db_row(stmt, "payout: read the balance");
        if (row == 1)
            balance = sqlite3_column_int64(stmt, 0);
        else if (row < 0)
            rc = DN_EDB; /* not "a balance of 0.00" */
        sqlite3_finalize(stmt);
    }
    if (rc == 0 && amount > balance) {
        dn_money_format(amount, exponent, text, sizeof text);
        dn_money_format(balance, exponent, left, sizeof left);
        rc = dn_why(why, why_size, DN_ELIMIT,
                    _("payout of %s %s exceeds partner %s's available balance of %s %s"),
                    text, currency, found.code, left, currency);
    }
    if (rc == 0)
        rc = s_periods(self, &t, now_ms);
    t.event_period[0] = '\0'; /* a payout belongs to the month it is made in */
    if (rc == 0 && (rc = s_post(self, &t)) == DN_ELIMIT) {
        dn_money_format(amount, exponent, text, sizeof text);
        dn_why(
            why, why_size, rc,
            _("payout of %s %s would take the ledger's running total of transfers over "
              "its bound of 10^18 minor units; nothing was recorded"),
            text, currency);
    }
    if (rc == 0 &&
        dn_db_prepare(db, "INSERT INTO payout_refs(ref, transfer_id) VALUES (?, ?)",
                      &stmt) == 0) {
        sqlite3_bind_text(stmt, 1, ref, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 2, self->head_id);
        rc = dn_db_step_txn(db, stmt);
        if (rc && (sqlite3_extended_errcode(db) & 0xFF) == SQLITE_CONSTRAINT)
            rc = dn_why(why, why_size, DN_EEXIST,
                        _("reference '%.60s' is already used by another payout"), ref);
        sqlite3_finalize(stmt);
    } else if (rc == 0) {
        rc = DN_EDB;
    }
    if (rc == 0)
        rc = dn_ledger_flush(self);
    if (rc) {
        dn_ledger_forget(self); /* the caller rolls back */
        return rc;
    }
    *balance_after = balance - amount;
    memcpy(period, t.period, DN_PERIOD_SIZE);
    return 0;
}

int dn_ledger_payout(sqlite3 *db, const char *partner, int64_t amount, const char *ref,
                     const char *admin, int64_t now_ms, json_t **out, char *why,
                     size_t why_size)
{
    dn_ledger_t *self;
    char currency[4] = "", text[DN_MONEY_TEXT_SIZE], left[DN_MONEY_TEXT_SIZE];
    char period[DN_PERIOD_SIZE], code[DN_MAX_CODE_LEN + 1];
    dn_registry_partner_t found;
    int exponent = 2, rc;
    int64_t balance = 0;

    *out = NULL;
    /* RUN-7/DEALER-BJ is run 7's payout to DEALER-BJ (dn_payrun): a
       hand-typed one of that form would take a run's reference */
    if (ref && strncmp(ref, DN_LEDGER_RUN_REF_PREFIX, strlen(DN_LEDGER_RUN_REF_PREFIX)) == 0 &&
        ref[strlen(DN_LEDGER_RUN_REF_PREFIX)] >= '0' &&
        ref[strlen(DN_LEDGER_RUN_REF_PREFIX)] <= '9')
        return dn_why(why, why_size, DN_EINVAL,
                      _("--ref '%.60s': references %sN/... are the payout runs' own; give "
                        "the bank transfer's reference"),
                      ref, DN_LEDGER_RUN_REF_PREFIX);
    dn_plan_currency(db, currency, &exponent);
    if (!(self = dn_ledger_new(db)))
        return DN_ENOMEM;
    if ((rc = dn_db_begin(db)) != 0) {
        dn_ledger_destroy(&self);
        return rc;
    }
    rc = dn_ledger_payout_post(self, partner, amount, ref, now_ms, &balance, period, why,
                               why_size);
    if (rc == 0)
        rc = dn_registry_partner_get(db, partner, &found);
    if (rc == 0)
        rc = dn_db_commit(db);
    dn_ledger_destroy(&self);
    if (rc) {
        dn_db_rollback(db);
        return rc;
    }
    snprintf(code, sizeof code, "%s", found.code);
    dn_money_format(amount, exponent, text, sizeof text);
    dn_money_format(balance, exponent, left, sizeof left);
    dn_log_info("admin %s: payout of %s %s to %s (ref %s)", admin, text, currency, code,
                ref);
    *out = json_pack("{s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:I}", "partner", code, "amount",
                     text, "amount_minor", (json_int_t)amount, "currency", currency, "ref",
                     ref, "period", period, "balance", left, "balance_minor",
                     (json_int_t)balance);
    return *out ? 0 : DN_ENOMEM;
}

/*  Payout runs (dn_payrun) pay a closed month's balances.  What a run
    may pay each partner is computed here, where the transfers are: in one
    pass over account_periods, for every account at once (a run reads
    every partner; the table holds a row per account, month and code,
    however many transfers they are).  */
int dn_ledger_payables(sqlite3 *db, const char *period, dn_ledger_payable_t **rows,
                       size_t *n, char *why, size_t why_size)
{
    dn_ledger_payable_t *list = NULL;
    sqlite3_stmt *stmt;
    size_t cap = 0, count = 0;
    int rc, step;

    *rows = NULL;
    *n = 0;
    if (!period || dn_time_parse_period(period, NULL, NULL))
        return dn_why(why, why_size, DN_EPARSE, _("period '%s' is not YYYY-MM"),
                      period ? period : "");
    /* an open month's closing balance is not known yet: a sale that syncs
       tomorrow still posts into it */
    if (dn_db_prepare(db, "SELECT count(*) FROM periods WHERE period = ?", &stmt))
        return DN_EDB;
    sqlite3_bind_text(stmt, 1, period, -1, SQLITE_STATIC);
    int64_t closed = 0;
    if (dn_db_int_row(stmt, "payables: the period", &closed) < 0) /* finalizes */
        return DN_EDB;
    if (!closed)
        return dn_why(why, why_size, DN_ELIMIT,
                      _("period %s is not closed: a payout run pays a closed month's "
                        "balances; close it first (dealernet-hq period close %s)"),
                      period, period);
    /* members' referral credit (kind 'member') is spent at the shops, never
       paid out in cash: partners' commission accounts only */
    if (dn_db_prepare(
            db,
            "SELECT a.partner_id, a.balance, coalesce(m.closing, 0), coalesce(m.paid, 0) "
            "FROM accounts a LEFT JOIN ("
            "  SELECT account AS acc,"
            "    sum(CASE WHEN period <= ?1 THEN credits - debits ELSE 0 END) AS closing,"
            "    sum(CASE WHEN code = 'payout' AND period > ?1 THEN debits ELSE 0 END)"
            "      AS paid"
            "  FROM account_periods GROUP BY account"
            ") m ON m.acc = a.id "
            "WHERE a.kind = 'partner' AND a.partner_id IS NOT NULL ORDER BY a.partner_id",
            &stmt))
        return DN_EDB;
    sqlite3_bind_text(stmt, 1, period, -1, SQLITE_STATIC);
    rc = 0;
    while ((step = dn_db_row(stmt, "payables: the accounts")) == 1) {
        dn_ledger_payable_t *bigger =
            dn_array_grow(list, &cap, count, sizeof *bigger, 16);
        if (!bigger) {
            rc = DN_ENOMEM;
            break;
        }
        list = bigger;
        list[count].partner_id = sqlite3_column_int64(stmt, 0);
        list[count].balance = sqlite3_column_int64(stmt, 1);
        list[count].closing = sqlite3_column_int64(stmt, 2);
        list[count].paid_after = sqlite3_column_int64(stmt, 3);
        count++;
    }
    sqlite3_finalize(stmt);
    if (rc == 0 && step < 0) /* a list cut short would leave partners out */
        rc = DN_EDB;
    if (rc) {
        free(list);
        return rc;
    }
    *rows = list;
    *n = count;
    return 0;
}

int64_t dn_ledger_payable_amount(const dn_ledger_payable_t *p)
{
    /* within DN_MONEY_SUM_MAX each: the difference cannot overflow */
    int64_t due = p->closing - p->paid_after;
    return due < p->balance ? due : p->balance;
}

/* -- corrections ---------------------------------------------------------------- */

/*  A correction row (dn_ledger.h); the file's short name for it.  */
typedef dn_ledger_correction_t s_correction_t;

/*  Writes the canonical text of a correction into buf (as snprintf).
    Texts go with their length, so that no '|' in a reason can shift a
    field into the next.  */
static int s_correction_text(const s_correction_t *c, char *buf, size_t size)
{
    return snprintf(
        buf, size, "%lld|%s|%lld|%lld|%lld|%zu:%s|%zu:%s|%lld|%s|%lld|%lld|%lld",
        (long long)c->id, c->kind, (long long)c->sale_eid, (long long)c->account,
        (long long)c->amount, strlen(c->reason), c->reason, strlen(c->admin), c->admin,
        (long long)c->created_ms, c->period, (long long)c->events_through,
        (long long)c->first_transfer, (long long)c->last_transfer);
}

/*  The hash of a correction: SHA-256 of its canonical text, so that a row
    changed by hand (its reason, its amount, who made it) no longer
    matches.  Like the transfer chain, it tells a change, it is no
    signature.  */
int dn_ledger_correction_hash(const dn_ledger_correction_t *c,
                              uint8_t hash[DN_HASH_BYTES])
{
    int n = s_correction_text(c, NULL, 0), rc;
    char *text;
    if (n < 0)
        return DN_EINVAL;
    if (!(text = malloc((size_t)n + 1)))
        return DN_ENOMEM;
    s_correction_text(c, text, (size_t)n + 1);
    rc = dn_sha256(text, (size_t)n, hash);
    free(text);
    return rc;
}

/*  Appends the correction row c (its id and events_through filled here):
    the last event stored now is where verify replays it.  */
static int s_correction_insert(dn_ledger_t *self, s_correction_t *c)
{
    sqlite3_stmt *stmt;
    uint8_t hash[DN_HASH_BYTES];
    int rc, step;

    if (dn_db_cached(self->cache,
                     "SELECT (SELECT coalesce(max(id), 0) + 1 FROM corrections), "
                     "(SELECT coalesce(max(eid), 0) FROM events)",
                     &stmt))
        return DN_EDB;
    step = sqlite3_step(stmt);
    if (step == SQLITE_ROW) {
        c->id = sqlite3_column_int64(stmt, 0);
        c->events_through = sqlite3_column_int64(stmt, 1);
    }
    sqlite3_reset(stmt);
    if (step != SQLITE_ROW)
        return DN_EDB;
    if ((rc = dn_ledger_correction_hash(c, hash)) != 0)
        return rc;
    if (dn_db_cached(
            self->cache,
            "INSERT INTO corrections(id, kind, sale_eid, account, amount, reason, "
            "admin, created_ms, period, events_through, first_transfer, "
            "last_transfer, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            &stmt))
        return DN_EDB;
    sqlite3_bind_int64(stmt, 1, c->id);
    sqlite3_bind_text(stmt, 2, c->kind, -1, SQLITE_STATIC);
    if (c->sale_eid)
        sqlite3_bind_int64(stmt, 3, c->sale_eid);
    if (c->account)
        sqlite3_bind_int64(stmt, 4, c->account);
    sqlite3_bind_int64(stmt, 5, c->amount);
    sqlite3_bind_text(stmt, 6, c->reason, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 7, c->admin, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 8, c->created_ms);
    sqlite3_bind_text(stmt, 9, c->period, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 10, c->events_through);
    if (c->first_transfer) {
        sqlite3_bind_int64(stmt, 11, c->first_transfer);
        sqlite3_bind_int64(stmt, 12, c->last_transfer);
    }
    sqlite3_bind_blob(stmt, 13, hash, DN_HASH_BYTES, SQLITE_STATIC);
    rc = dn_db_step_txn(self->db, stmt);
    sqlite3_reset(stmt);
    return rc;
}

/*  The period a correction posts into: that of now_ms, or the first open
    one after it; a correction belongs to the month it is made in, as a
    payout does, so it names no other.  */
static int s_correction_period(dn_ledger_t *self, s_transfer_t *t, int64_t now_ms)
{
    int rc = s_periods(self, t, now_ms);
    t->event_period[0] = '\0';
    return rc;
}

/*  Posts the reversal of what sale_eid still holds: for each of its
    commissions, referrals and overrides, what its clawbacks have not
    taken back (the bonus too: a void is the whole sale), as 'adjustment'
    transfers naming the transfer they reverse.  Sets *n to how many and
    *sum to their total.  The one rule of a void: dn_ledger_void posts
    with it and verify replays with it (dn_ledger_replay_void).  */
static int s_void_post(dn_ledger_t *self, int64_t sale_eid, int64_t now_ms, int64_t *n,
                       int64_t *sum)
{
    s_original_t *orig = NULL;
    size_t count = 0;
    s_transfer_t base;
    int rc = s_originals(self, sale_eid, &orig, &count);

    *n = *sum = 0;
    memset(&base, 0, sizeof base);
    base.sale_eid = sale_eid;
    base.created_ms = now_ms;
    base.code = "adjustment";
    if (rc == 0)
        rc = s_correction_period(self, &base, now_ms);
    for (size_t i = 0; rc == 0 && i < count; i++) {
        const s_original_t *o = &orig[i];
        s_transfer_t t = base;
        if (o->amount - o->taken <= 0)
            continue;
        s_take_back(&t, o, o->amount - o->taken);
        if ((rc = s_post(self, &t)) == 0 && dn_money_add(*sum, t.amount, sum))
            rc = DN_EDB; /* more than int64 in one sale's transfers: a damaged file */
        (*n)++;
    }
    free(orig);
    return rc;
}

/*  Posts an adjustment of amount (signed) between HQ's expense account
    (referral expense for a member's account, commission expense for a
    partner's) and account, into the open period of now_ms (copied into
    period when not NULL).  */
static int s_adjust_post(dn_ledger_t *self, int64_t account, int member, int64_t amount,
                         int64_t now_ms, char *period)
{
    s_transfer_t t;
    int64_t hq;
    int rc = s_hq_account(self, member ? S_HQ_REFERRAL : S_HQ_COMMISSION, &hq);

    if (rc)
        return rc;
    memset(&t, 0, sizeof t);
    t.code = "adjustment";
    t.created_ms = now_ms;
    t.debit = amount > 0 ? hq : account;
    t.credit = amount > 0 ? account : hq;
    t.amount = amount > 0 ? amount : -amount; /* |amount| <= DN_LEDGER_MAX_ADJUSTMENT */
    if ((rc = s_correction_period(self, &t, now_ms)) != 0)
        return rc;
    if (period)
        memcpy(period, t.period, DN_PERIOD_SIZE);
    return s_post(self, &t);
}

int dn_ledger_replay_void(dn_ledger_t *self, int64_t sale_eid, int64_t now_ms)
{
    int64_t n, sum;
    return s_finish(self, s_void_post(self, sale_eid, now_ms, &n, &sum));
}

int dn_ledger_replay_adjust(dn_ledger_t *self, const char *name, const char *kind,
                            int64_t partner_id, const char *phone, int64_t amount,
                            int64_t now_ms)
{
    int64_t id;
    int rc = s_account(self, name, kind, partner_id, phone, &id);
    if (rc == 0)
        rc = s_adjust_post(self, id, strcmp(kind, "member") == 0, amount, now_ms, NULL);
    return s_finish(self, rc);
}

/*  1 if reason is one line of text a correction accepts.  */
static int s_valid_reason(const char *reason)
{
    return reason && dn_valid_text(reason, DN_CORRECTION_MAX_REASON);
}

int dn_ledger_sale_find(sqlite3 *db, const char *text, int64_t *eid,
                        char id[DN_ID_TEXT_SIZE], char *why, size_t why_size)
{
    uint8_t lo[DN_ID_BYTES], hi[DN_ID_BYTES];
    sqlite3_stmt *stmt;
    size_t digits = 0, len = text ? strlen(text) : 0;
    int found = 0, step;

    /* hex digits, with hyphens only where the full form has them */
    memset(lo, 0, sizeof lo);
    memset(hi, 0xff, sizeof hi);
    for (size_t i = 0; i < len && len <= 36; i++) {
        int nibble;
        char ch = text[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (ch != '-')
                break;
            continue;
        }
        if (ch >= '0' && ch <= '9')
            nibble = ch - '0';
        else if ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'f')
            nibble = (ch | 0x20) - 'a' + 10;
        else
            break;
        lo[digits / 2] =
            (uint8_t)(digits % 2 ? (lo[digits / 2] & 0xf0) | nibble : nibble << 4);
        hi[digits / 2] = (uint8_t)(digits % 2 ? (hi[digits / 2] & 0xf0) | nibble
                                              : (nibble << 4) | 0x0f);
        digits++;
        if (i + 1 == len)
            len = 0; /* the whole text was read */
    }
    if (len != 0 || digits < 8)
        return dn_why(why, why_size, DN_EINVAL,
                      _("'%.40s' is not a sale id (36 characters like "
                        "0190c2d4-5e6f-7a8b-9c0d-1e2f3a4b5c6d, or at least its first 8 "
                        "hex digits)"),
                      text ? text : "");
    if (dn_db_prepare(db,
                      "SELECT e.eid, e.id FROM events e JOIN sales s ON s.eid = e.eid "
                      "WHERE e.id BETWEEN ? AND ? ORDER BY e.id LIMIT 2",
                      &stmt))
        return DN_EDB;
    sqlite3_bind_blob(stmt, 1, lo, DN_ID_BYTES, SQLITE_STATIC);
    sqlite3_bind_blob(stmt, 2, hi, DN_ID_BYTES, SQLITE_STATIC);
    while ((step = dn_db_row(stmt, "ledger: find a sale by its id")) == 1) {
        if (found++ == 0 && sqlite3_column_bytes(stmt, 1) == DN_ID_BYTES) {
            *eid = sqlite3_column_int64(stmt, 0);
            dn_id_format(sqlite3_column_blob(stmt, 1), id);
        }
    }
    sqlite3_finalize(stmt);
    if (step < 0)
        return DN_EDB;
    if (found == 0)
        return dn_why(why, why_size, DN_ENOENT, _("no sale has the id %s%s"), text,
                      digits < 2 * DN_ID_BYTES ? "..." : "");
    if (found > 1)
        return dn_why(why, why_size, DN_EINVAL,
                      _("%s is the start of more than one sale's id: give more of it"),
                      text);
    return 0;
}

int dn_ledger_sale_by_receipt(sqlite3 *db, const char *site, const char *text,
                              int64_t *eid, char id[DN_ID_TEXT_SIZE], char *why,
                              size_t why_size)
{
    char ids[3][DN_ID_TEXT_SIZE];
    int64_t receipt;
    sqlite3_stmt *stmt;
    int found = 0, step;

    if (dn_parse_int(text, 1, DN_MAX_RECEIPT, &receipt))
        return dn_why(
            why, why_size, DN_EINVAL,
            _("receipt '%.40s' is not a receipt number (1 to %lld, as the shop's "
              "agent printed it)"),
            text ? text : "", (long long)DN_MAX_RECEIPT);
    /* the index sales_receipt (site_id, receipt); oldest first (UUIDv7) */
    if (dn_db_prepare(db,
                      "SELECT e.eid, e.id FROM sales s JOIN events e ON e.eid = s.eid "
                      "WHERE s.site_id = (SELECT id FROM sites WHERE code = ?1) "
                      "AND s.receipt = ?2 ORDER BY e.id LIMIT 3",
                      &stmt))
        return DN_EDB;
    sqlite3_bind_text(stmt, 1, site ? site : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, receipt);
    while ((step = dn_db_row(stmt, "ledger: find a sale by its receipt")) == 1) {
        if (sqlite3_column_bytes(stmt, 1) != DN_ID_BYTES)
            continue;
        if (found == 0)
            *eid = sqlite3_column_int64(stmt, 0);
        dn_id_format(sqlite3_column_blob(stmt, 1), ids[found++]);
    }
    sqlite3_finalize(stmt);
    if (step < 0)
        return DN_EDB;
    if (found == 0)
        return dn_why(why, why_size, DN_ENOENT,
                      _("no sale of site %.40s has receipt %lld"), site ? site : "",
                      (long long)receipt);
    if (found > 1)
        return dn_why(why, why_size, DN_EINVAL,
                      _("site %.40s has more than one sale with receipt %lld (%s, %s%s): "
                        "void one by its id"),
                      site, (long long)receipt, ids[0], ids[1], found > 2 ? ", ..." : "");
    memcpy(id, ids[0], DN_ID_TEXT_SIZE);
    return 0;
}

int dn_ledger_void(dn_ledger_t *self, int64_t sale_eid, const char *reason,
                   const char *admin, int64_t now_ms, int64_t *events_through,
                   json_t **out, char *why, size_t why_size)
{
    char id[DN_ID_TEXT_SIZE] = "", currency[4] = "", when[DN_TIME_TEXT_SIZE];
    char reversed[DN_MONEY_TEXT_SIZE], refunded[DN_MONEY_TEXT_SIZE];
    char hidden[DN_HIDDEN_WHY_SIZE];
    int64_t total = 0, refunds = 0, n = 0, sum = 0;
    s_correction_t c;
    s_transfer_t t;
    sqlite3_stmt *stmt;
    int rc = 0, step, exponent;

    *out = NULL;
    if (dn_valid_hidden(reason, hidden, sizeof hidden))
        return dn_why(why, why_size, DN_EINVAL, "--reason %s", hidden);
    if (!s_valid_reason(reason))
        return dn_why(why, why_size, DN_EINVAL,
                      _("a void needs --reason: 1 to %d bytes of text without control "
                        "characters (why the sale is voided)"),
                      DN_CORRECTION_MAX_REASON);
    if (dn_db_prepare(
            self->db,
            "SELECT e.id, s.total, s.currency, (SELECT coalesce(sum(r.amount), 0) "
            "  FROM refunds r WHERE r.sale_eid = s.eid), v.id, v.admin, "
            "v.created_ms, s.held FROM sales s JOIN events e ON e.eid = s.eid "
            "LEFT JOIN corrections v ON v.kind = 'void' AND v.sale_eid = s.eid "
            "WHERE s.eid = ?",
            &stmt))
        return DN_EDB;
    sqlite3_bind_int64(stmt, 1, sale_eid);
    if ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (sqlite3_column_bytes(stmt, 0) == DN_ID_BYTES)
            dn_id_format(sqlite3_column_blob(stmt, 0), id);
        total = sqlite3_column_int64(stmt, 1);
        refunds = sqlite3_column_int64(stmt, 3);
        if (dn_db_column_copy(stmt, 2, currency, sizeof currency))
            rc = DN_ENOMEM;
        if (rc == 0 && sqlite3_column_type(stmt, 4) != SQLITE_NULL) {
            /* voided already: say when and by whom */
            dn_time_format(sqlite3_column_int64(stmt, 6), when);
            rc = dn_why(
                why, why_size, DN_EDUP,
                _("sale %s was voided already, at %s by %s (correction %lld): a sale "
                  "is voided once"),
                id, when, (const char *)sqlite3_column_text(stmt, 5),
                (long long)sqlite3_column_int64(stmt, 4));
        } else if (rc == 0 && sqlite3_column_int(stmt, 7)) {
            /* held (dn_facts): nothing was posted to reverse */
            rc = dn_why(
                why, why_size, DN_EDUP,
                _("sale %s is held and posted nothing: resolve it with 'dealernet-hq "
                  "exception resolve ID --dismiss' (see exceptions)"),
                id);
        }
    } else if (step == SQLITE_DONE) {
        rc = dn_why(why, why_size, DN_ENOENT, _("no sale is stored as event %lld"),
                    (long long)sale_eid);
    } else {
        rc = DN_EDB;
    }
    sqlite3_finalize(stmt);
    if (rc)
        return rc;

    memset(&c, 0, sizeof c);
    memset(&t, 0, sizeof t);
    c.kind = "void";
    c.sale_eid = sale_eid;
    c.amount = total - refunds > 0 ? total - refunds : 0;
    c.reason = reason;
    c.admin = admin;
    c.created_ms = now_ms;
    rc = s_correction_period(self, &t, now_ms);
    memcpy(c.period, t.period, DN_PERIOD_SIZE);
    if (rc == 0)
        rc = s_void_post(self, sale_eid, now_ms, &n, &sum);
    if (rc == 0 && n > 0) {
        c.last_transfer = self->head_id;
        c.first_transfer = self->head_id - n + 1;
    }
    if (rc == 0)
        rc = s_correction_insert(self, &c);
    if (rc == 0)
        rc = dn_ledger_flush(self);
    if (rc) {
        dn_ledger_forget(self);
        return rc;
    }
    *events_through = c.events_through;
    exponent = dn_money_exponent(currency);
    if (exponent < 0)
        exponent = 2;
    dn_time_format(now_ms, when);
    dn_money_format(sum, exponent, reversed, sizeof reversed);
    dn_money_format(c.amount, exponent, refunded, sizeof refunded);
    *out = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:I, s:s, s:I, s:s}",
                     "correction", (json_int_t)c.id, "sale", id, "reason", reason, "by",
                     admin, "voided", when, "period", c.period, "transfers", (json_int_t)n,
                     "reversed", reversed, "reversed_minor", (json_int_t)sum, "refunded",
                     refunded, "refunded_minor", (json_int_t)c.amount, "currency", currency);
    return *out ? 0 : DN_ENOMEM;
}

int dn_ledger_adjust(sqlite3 *db, const char *account, int64_t amount, const char *reason,
                     const char *admin, int64_t now_ms, json_t **out, char *why,
                     size_t why_size)
{
    char name[DN_ACCOUNT_NAME_SIZE], phone[DN_PHONE_SIZE] = "", currency[4] = "";
    char text[DN_MONEY_TEXT_SIZE], left[DN_MONEY_TEXT_SIZE], when[DN_TIME_TEXT_SIZE];
    int member = account && strncmp(account, DN_ACCOUNT_MEMBER,
                                    DN_ACCOUNT_PREFIX_LEN(DN_ACCOUNT_MEMBER)) == 0;
    dn_registry_partner_t partner;
    dn_ledger_t *self;
    s_correction_t c;
    sqlite3_stmt *stmt;
    int64_t id = 0, balance = 0;
    int exponent = 2, rc, step;
    char hidden[DN_HIDDEN_WHY_SIZE];

    *out = NULL;
    if (dn_valid_hidden(reason, hidden, sizeof hidden))
        return dn_why(why, why_size, DN_EINVAL, "--reason %s", hidden);
    if (!s_valid_reason(reason))
        return dn_why(
            why, why_size, DN_EINVAL,
            _("an adjustment needs --reason: 1 to %d bytes of text without control "
              "characters (why it is made)"),
            DN_CORRECTION_MAX_REASON);
    rc = dn_plan_currency(db, currency, &exponent);
    if (rc == DN_ENOENT)
        return dn_why(
            why, why_size, rc,
            _("no plan is set yet, so the ledger has no currency to adjust in"));
    if (rc)
        return rc;
    if (amount == 0)
        return dn_why(why, why_size, DN_EINVAL, _("an adjustment of 0 changes nothing"));
    if (amount > DN_LEDGER_MAX_ADJUSTMENT || amount < -DN_LEDGER_MAX_ADJUSTMENT) {
        dn_money_format(DN_LEDGER_MAX_ADJUSTMENT, exponent, text, sizeof text);
        return dn_why(why, why_size, DN_EINVAL,
                      _("an adjustment is at most %s %s either way"), text, currency);
    }
    if (member) {
        char bad[DN_WHY_SIZE];
        rc = dn_phones_canonical(db, account + 7, phone, bad, sizeof bad);
        if (rc == DN_EINVAL)
            return dn_why(why, why_size, rc, "%s", bad);
        if (rc)
            return rc;
        if (dn_db_prepare(db, "SELECT 1 FROM members WHERE phone = ?", &stmt))
            return DN_EDB;
        sqlite3_bind_text(stmt, 1, phone, -1, SQLITE_STATIC);
        step = sqlite3_step(stmt);
        sqlite3_finalize(stmt);
        if (step == SQLITE_DONE)
            return dn_why(why, why_size, DN_ENOENT, _("no member with phone %s"), phone);
        if (step != SQLITE_ROW)
            return DN_EDB;
        snprintf(name, sizeof name, DN_ACCOUNT_MEMBER "%s", phone);
    } else {
        rc = dn_registry_partner_get(db, account ? account : "", &partner);
        if (rc == DN_ENOENT)
            return dn_why(why, why_size, rc, _("partner %.40s does not exist"),
                          account ? account : "");
        if (rc)
            return rc;
        if (strcmp(partner.kind, "hq") == 0)
            return dn_why(why, why_size, DN_EINVAL,
                          _("partner %s is of kind hq, which never earns: it has no "
                            "commission account to adjust"),
                          partner.code);
        snprintf(name, sizeof name, DN_ACCOUNT_PARTNER "%s", partner.code);
    }

    if (!(self = dn_ledger_new(db)))
        return DN_ENOMEM;
    if ((rc = dn_db_begin(db)) != 0) {
        dn_ledger_destroy(&self);
        return rc;
    }
    memset(&c, 0, sizeof c);
    c.kind = "adjustment";
    c.amount = amount;
    c.reason = reason;
    c.admin = admin;
    c.created_ms = now_ms;
    if (member) {
        rc = s_account(self, name, "member", 0, phone, &id);
    } else {
        dn_tree_node_t *node;
        rc = dn_tree_node(self->tree, partner.id, &node);
        if (rc == 0)
            rc = s_partner_account(self, node, &id);
    }
    c.account = id;
    if (rc == 0)
        rc = s_adjust_post(self, id, member, amount, now_ms, c.period);
    if (rc == 0) {
        c.first_transfer = c.last_transfer = self->head_id;
        rc = s_correction_insert(self, &c);
    }
    if (rc == 0)
        rc = dn_ledger_flush(self);
    if (rc == 0 && (rc = dn_db_prepare(db, "SELECT balance FROM accounts WHERE id = ?",
                                       &stmt)) == 0) {
        sqlite3_bind_int64(stmt, 1, id);
        if (sqlite3_step(stmt) == SQLITE_ROW)
            balance = sqlite3_column_int64(stmt, 0);
        else
            rc = DN_EDB;
        sqlite3_finalize(stmt);
    }
    if (rc == 0)
        rc = dn_db_commit(db);
    dn_ledger_destroy(&self);
    if (rc) {
        dn_db_rollback(db);
        return rc;
    }
    dn_money_format(amount, exponent, text, sizeof text);
    dn_money_format(balance, exponent, left, sizeof left);
    dn_time_format(now_ms, when);
    *out = json_pack("{s:I, s:s, s:s, s:I, s:s, s:s, s:s, s:I, s:s, s:s, s:s}",
                     "correction", (json_int_t)c.id, "account", name, "amount", text,
                     "amount_minor", (json_int_t)amount, "currency", currency, "period",
                     c.period, "balance", left, "balance_minor", (json_int_t)balance,
                     "reason", reason, "by", admin, "at", when);
    return *out ? 0 : DN_ENOMEM;
}

int dn_ledger_transfer_count(sqlite3 *db, int64_t *count)
{
    sqlite3_stmt *stmt;
    /* max(id), not count(*), which reads every row: transfers are only
       ever appended (no UPDATE, no DELETE: the table's triggers), each
       with the id after the chain's head (head_id + 1, the first 1: the id
       is hashed into the chain), and a rolled-back posting leaves no hole
       (the head is read again after it: dn_ledger_forget); so the ids are
       1..N and the largest is the count */
    if (dn_db_prepare(db, "SELECT coalesce(max(id), 0) FROM transfers", &stmt))
        return DN_EDB;
    return dn_db_int_row(stmt, "ledger: transfer count", count) == 1 ? 0 : DN_EDB;
}

int dn_ledger_corrections(sqlite3 *db, json_t **out)
{
    char ledger[4] = "";
    sqlite3_stmt *stmt;
    int exponent = 2, rc = dn_plan_currency(db, ledger, &exponent), step;
    json_t *list;

    *out = NULL;
    if (rc && rc != DN_ENOENT)
        return rc;
    if (!(list = json_array()))
        return DN_ENOMEM;
    if (dn_db_prepare(
            db,
            "SELECT c.id, c.kind, c.created_ms, c.admin, e.id, a.name, c.amount, "
            "(SELECT sum(t.amount) FROM transfers t "
            "  WHERE t.id BETWEEN c.first_transfer AND c.last_transfer), "
            "coalesce(s.currency, ?), c.period, CASE WHEN c.first_transfer IS NULL "
            "THEN 0 ELSE c.last_transfer - c.first_transfer + 1 END, c.reason "
            "FROM corrections c LEFT JOIN events e ON e.eid = c.sale_eid "
            "LEFT JOIN sales s ON s.eid = c.sale_eid "
            "LEFT JOIN accounts a ON a.id = c.account ORDER BY c.id",
            &stmt)) {
        json_decref(list);
        return DN_EDB;
    }
    sqlite3_bind_text(stmt, 1, ledger, -1, SQLITE_STATIC);
    while (rc == 0 && (step = dn_db_row(stmt, "corrections: list")) == 1) {
        char when[DN_TIME_TEXT_SIZE], sale[DN_ID_TEXT_SIZE] = "";
        const char *currency = (const char *)sqlite3_column_text(stmt, 8);
        int e = dn_money_exponent(currency);
        int is_void = strcmp((const char *)sqlite3_column_text(stmt, 1), "void") == 0;
        json_t *row;
        if (e < 0)
            e = exponent;
        dn_time_format(sqlite3_column_int64(stmt, 2), when);
        if (sqlite3_column_bytes(stmt, 4) == DN_ID_BYTES)
            dn_id_format(sqlite3_column_blob(stmt, 4), sale);
        row = json_pack("{s:I, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:s, s:s, s:I, "
                        "s:s}",
                        "id", (json_int_t)sqlite3_column_int64(stmt, 0), "kind",
                        (const char *)sqlite3_column_text(stmt, 1), "at", when, "by",
                        (const char *)sqlite3_column_text(stmt, 3), "sale",
                        sale[0] ? json_string(sale) : json_null(), "account",
                        sqlite3_column_type(stmt, 5) == SQLITE_NULL
                            ? json_null()
                            : json_string((const char *)sqlite3_column_text(stmt, 5)),
                        "amount", s_money(sqlite3_column_int64(stmt, 6), e), "amount_minor",
                        json_integer(sqlite3_column_int64(stmt, 6)), "reversed",
                        is_void ? s_money(sqlite3_column_int64(stmt, 7), e) : json_null(),
                        "reversed_minor",
                        is_void ? json_integer(sqlite3_column_int64(stmt, 7)) : json_null(),
                        "currency", currency, "period",
                        (const char *)sqlite3_column_text(stmt, 9), "transfers",
                        (json_int_t)sqlite3_column_int64(stmt, 10), "reason",
                        (const char *)sqlite3_column_text(stmt, 11));
        if (!row || json_array_append_new(list, row))
            rc = DN_ENOMEM;
    }
    if (rc == 0 && step < 0) /* a list cut short is not the list */
        rc = DN_EDB;
    sqlite3_finalize(stmt);
    if (rc) {
        json_decref(list);
        return rc;
    }
    *out = list;
    return 0;
}
