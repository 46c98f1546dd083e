/*  dn_ledger -- posting, statements, payouts and verification of the
    commission and referral ledger (see dn_ledger.h for the rules).

    Determinism is the design constraint: everything a posting depends on
    is a function of the stored events and of effective-dated history (the
    plan and tree in force at the sale's time, the member's sign-up stored
    before the sale, the refunds stored up to this one), never of arrival
    timing beyond the events' own order.  That is what lets verify replay
    every event into scratch tables and compare with what was posted.
    Verify's scratch tables are TEMP tables named like the real ones: on
    its own connection they shadow main.transfers and main.accounts, so the
    very same posting code fills them.
*/
#include "dn_ledger.h"
#include "dn_array.h"
#include "dn_crypto.h"
#include "dn_db.h"
#include "dn_error.h"
#include "dn_id.h"
#include "dn_log.h"
#include "dn_money.h"
#include "dn_phones.h"
#include "dn_plan.h"
#include "dn_registry.h"
#include "dn_time.h"
#include "dn_valid.h"
#include "dn_wire.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DN_LEDGER_MAX_WALK 1000 /* upline steps before a tree is called broken */
#define DN_ACCOUNT_NAME_SIZE (8 + DN_PHONE_SIZE + DN_MAX_CODE_LEN)

/*  One transfer to post.  Zero ids mean NULL.  */
typedef struct {
    int64_t debit, credit, amount;
    const char *code;
    int64_t source_eid, sale_eid, reverses;
    int has_level;
    int level;
    int has_rate;
    int32_t rate_bps;
    const char *category; /* NULL for none */
    int bonus;
    char period[DN_PERIOD_SIZE];
    char event_period[DN_PERIOD_SIZE]; /* "" unless late */
    const char *ref;
    int64_t created_ms;
} s_transfer_t;

/*  A partner's whole effective-dated history, loaded once.  */
typedef struct {
    int64_t effective_ms;
    int64_t value; /* the parent id (0: none), or 1 active / 0 suspended */
} s_step_t;

typedef struct {
    int loaded;
    dn_registry_partner_t p;
    s_step_t *links, *status;
    size_t n_links, n_status;
    int64_t account; /* its commission account, 0 until known */
} s_node_t;

typedef struct {
    int64_t account, delta;
} s_delta_t;

struct _dn_ledger_t {
    sqlite3 *db;
    dn_db_cache_t *cache;
    /* Caches of what only admin commands change; dropped by
       dn_ledger_forget after any admin command or rollback.  */
    dn_slots_t nodes; /* s_node_t by partner id; a node never moves */
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
    uint8_t head_hash[32];
    s_delta_t *deltas;
    size_t n_deltas, cap_deltas;
};

dn_ledger_t *dn_ledger_new(sqlite3 *db)
{
    dn_ledger_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->db = db;
    self->cache = dn_db_cache_new(db);
    if (!self->cache)
        dn_ledger_destroy(&self);
    return self;
}

static void s_node_drop(void *node)
{
    free(((s_node_t *)node)->links);
    free(((s_node_t *)node)->status);
}

void dn_ledger_forget(dn_ledger_t *self)
{
    dn_slots_clear(&self->nodes, s_node_drop);
    free(self->plans);
    free(self->closed);
    self->plans = NULL;
    self->closed = NULL;
    self->n_plans = self->n_closed = 0;
    self->plans_loaded = self->closed_loaded = 0;
    memset(self->hq, 0, sizeof self->hq);
    self->have_head = 0;
    if (self->deltas)
        memset(self->deltas, 0, self->cap_deltas * sizeof *self->deltas);
    self->n_deltas = 0;
}

void dn_ledger_destroy(dn_ledger_t **self_p)
{
    if (self_p && *self_p) {
        dn_ledger_forget(*self_p);
        free((*self_p)->deltas);
        dn_db_cache_destroy(&(*self_p)->cache);
        free(*self_p);
        *self_p = NULL;
    }
}

static int s_why(int rc, char *why, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int s_why(int rc, char *why, size_t size, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    vsnprintf(why, size, fmt, args);
    va_end(args);
    return rc;
}

/* -- periods --------------------------------------------------------------- */

void dn_ledger_period_of(int64_t unix_ms, char period[DN_PERIOD_SIZE])
{
    char text[DN_TIME_TEXT_SIZE];
    dn_time_format(unix_ms, text);
    memcpy(period, text, 7);
    period[7] = '\0';
}

static int s_valid_period(const char *text)
{
    int64_t ms;
    char date[16];
    if (!text || strlen(text) != 7)
        return 0;
    snprintf(date, sizeof date, "%s-01", text);
    return dn_time_parse_date(date, &ms) == 0;
}

static void s_next_period(char period[DN_PERIOD_SIZE])
{
    int year = atoi(period), month = atoi(period + 5);
    if (++month > 12) {
        month = 1;
        year++;
    }
    snprintf(period, DN_PERIOD_SIZE, "%04d-%02d", year % 10000, month);
}

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
    while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
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
    if (step != SQLITE_DONE) /* a list cut short is not the list */
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
        s_next_period(period);
    }
    return DN_EDB;
}

int dn_ledger_period_close(sqlite3 *db, const char *period, const char *admin,
                           int64_t now_ms, char *why, size_t why_size)
{
    sqlite3_stmt *stmt;
    int step;
    if (!s_valid_period(period))
        return s_why(DN_EPARSE, why, why_size, "period '%s' is not YYYY-MM",
                     period ? period : "");
    if (dn_db_prepare(db, "INSERT INTO periods(period, closed_ms, closed_by) VALUES (?, ?, ?)",
                      &stmt))
        return DN_EDB;
    sqlite3_bind_text(stmt, 1, period, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, now_ms);
    sqlite3_bind_text(stmt, 3, admin, -1, SQLITE_STATIC);
    step = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    if ((step & 0xFF) == SQLITE_CONSTRAINT)
        return s_why(DN_EEXIST, why, why_size, "period %s is already closed", period);
    return step == SQLITE_DONE ? 0 : DN_EDB;
}

/* -- accounts and transfers --------------------------------------------------- */

/*  Loads rows of (effective_ms, value) for a partner into *steps.  */
static int s_load_steps(dn_ledger_t *self, const char *sql, int64_t id, s_step_t **steps,
                        size_t *n)
{
    sqlite3_stmt *stmt;
    size_t cap = 0;
    int step;
    free(*steps); /* what a load that failed half-way left */
    *steps = NULL;
    *n = 0;
    if (dn_db_cached(self->cache, sql, &stmt))
        return DN_EDB;
    sqlite3_bind_int64(stmt, 1, id);
    while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        s_step_t *bigger = dn_array_grow(*steps, &cap, *n, sizeof *bigger, 4);
        if (!bigger) {
            sqlite3_reset(stmt);
            return DN_ENOMEM;
        }
        *steps = bigger;
        (*steps)[*n].effective_ms = sqlite3_column_int64(stmt, 0);
        (*steps)[(*n)++].value = sqlite3_column_int64(stmt, 1);
    }
    sqlite3_reset(stmt);
    return step == SQLITE_DONE ? 0 : DN_EDB; /* a history cut short is a wrong one */
}

/*  The value in force at at_ms (steps sorted by effective_ms), or dflt.  */
static int64_t s_step_at(const s_step_t *steps, size_t n, int64_t at_ms, int64_t dflt)
{
    int64_t value = dflt;
    for (size_t i = 0; i < n && steps[i].effective_ms <= at_ms; i++)
        value = steps[i].value;
    return value;
}

/*  The partner with that id and its history (the partner tables are read
    here for speed: once per partner while no admin command intervenes).
    The node stays where it is until dn_ledger_forget, so callers may hold
    several at once (the earners of a sale, its seller).  */
static int s_node(dn_ledger_t *self, int64_t id, s_node_t **node)
{
    int rc;
    if (id <= 0)
        return DN_ENOENT;
    if (!(*node = dn_slots_get(&self->nodes, id, sizeof **node)))
        return DN_ENOMEM;
    if ((*node)->loaded)
        return 0;
    if ((rc = dn_registry_partner_by_id(self->db, id, &(*node)->p)) != 0)
        return rc;
    if ((rc = s_load_steps(self,
                           "SELECT effective_ms, coalesce(parent_id, 0) FROM partner_links "
                           "WHERE partner_id = ? ORDER BY effective_ms",
                           id, &(*node)->links, &(*node)->n_links)) != 0 ||
        (rc = s_load_steps(self,
                           "SELECT effective_ms, status = 'active' FROM partner_status "
                           "WHERE partner_id = ? ORDER BY effective_ms",
                           id, &(*node)->status, &(*node)->n_status)) != 0)
        return rc;
    (*node)->loaded = 1;
    return 0;
}

/*  The partner called code, if HQ had added it by posted_ms.  */
static int s_node_by_code(dn_ledger_t *self, const char *code, int64_t posted_ms,
                          s_node_t **node)
{
    dn_registry_partner_t p;
    int rc = dn_registry_partner_get_cached(self->cache, code, &p);
    if (rc)
        return rc;
    if (p.created_ms > posted_ms)
        return DN_ENOENT; /* unknown when the event was posted: verify agrees */
    return s_node(self, p.id, node);
}

static int s_active_at(const s_node_t *node, int64_t at_ms)
{
    return (int)s_step_at(node->status, node->n_status, at_ms, 1);
}

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
    if (dn_db_cached(self->cache,
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

static int s_partner_account(dn_ledger_t *self, s_node_t *node, int64_t *id)
{
    char name[DN_ACCOUNT_NAME_SIZE];
    int rc = 0;
    if (!node->account) {
        snprintf(name, sizeof name, "partner:%s", node->p.code);
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

static void s_text_or_empty(char *buf, size_t size, int present, long long value)
{
    if (present)
        snprintf(buf, size, "%lld", value);
    else
        buf[0] = '\0';
}

/*  The hash of a transfer: SHA-256 of the previous hash and a canonical
    text of every field, so that changing any stored field breaks it.  */
static int s_transfer_hash(int64_t id, const s_transfer_t *t, const uint8_t prev[32],
                           uint8_t hash[32])
{
    char level[24], rate[24], text[512];
    uint8_t buf[32 + sizeof text];
    int n;
    s_text_or_empty(level, sizeof level, t->has_level, t->level);
    s_text_or_empty(rate, sizeof rate, t->has_rate, t->rate_bps);
    n = snprintf(text, sizeof text, "%lld|%lld|%lld|%lld|%s|%lld|%lld|%lld|%s|%s|%s|%d|%s|%s|%s|%lld",
                 (long long)id, (long long)t->debit, (long long)t->credit,
                 (long long)t->amount, t->code, (long long)t->source_eid,
                 (long long)t->sale_eid, (long long)t->reverses, level, rate,
                 t->category ? t->category : "", t->bonus, t->period, t->event_period,
                 t->ref ? t->ref : "", (long long)t->created_ms);
    if (n < 0 || (size_t)n >= sizeof text)
        return DN_EINVAL;
    memcpy(buf, prev, 32);
    memcpy(buf + 32, text, (size_t)n);
    return dn_sha256(buf, 32 + (size_t)n, hash);
}

static int s_bind_transfer(sqlite3_stmt *stmt, const s_transfer_t *t, const uint8_t prev[32],
                           const uint8_t hash[32])
{
    sqlite3_bind_int64(stmt, 1, t->debit);
    sqlite3_bind_int64(stmt, 2, t->credit);
    sqlite3_bind_int64(stmt, 3, t->amount);
    sqlite3_bind_text(stmt, 4, t->code, -1, SQLITE_STATIC);
    if (t->source_eid)
        sqlite3_bind_int64(stmt, 5, t->source_eid);
    if (t->sale_eid)
        sqlite3_bind_int64(stmt, 6, t->sale_eid);
    if (t->reverses)
        sqlite3_bind_int64(stmt, 7, t->reverses);
    if (t->has_level)
        sqlite3_bind_int(stmt, 8, t->level);
    if (t->has_rate)
        sqlite3_bind_int(stmt, 9, t->rate_bps);
    if (t->category)
        sqlite3_bind_text(stmt, 10, t->category, -1, SQLITE_STATIC);
    sqlite3_bind_int(stmt, 11, t->bonus);
    sqlite3_bind_text(stmt, 12, t->period, -1, SQLITE_STATIC);
    if (t->event_period[0])
        sqlite3_bind_text(stmt, 13, t->event_period, -1, SQLITE_STATIC);
    if (t->ref)
        sqlite3_bind_text(stmt, 14, t->ref, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 15, t->created_ms);
    sqlite3_bind_blob(stmt, 16, prev, 32, SQLITE_STATIC);
    sqlite3_bind_blob(stmt, 17, hash, 32, SQLITE_STATIC);
    return 0;
}

/*  Adds amount to an account's pending balance move (an open-addressing
    table keyed by account id; account ids are never 0).  */
static int s_delta(dn_ledger_t *self, int64_t account, int64_t amount)
{
    size_t mask, i;
    if (self->n_deltas * 2 >= self->cap_deltas) {
        size_t grow = self->cap_deltas ? self->cap_deltas * 2 : 64;
        s_delta_t *bigger = calloc(grow, sizeof *bigger);
        if (!bigger)
            return DN_ENOMEM;
        for (size_t k = 0; k < self->cap_deltas; k++) {
            if (!self->deltas[k].account)
                continue;
            for (i = (size_t)self->deltas[k].account & (grow - 1); bigger[i].account;
                 i = (i + 1) & (grow - 1))
                ;
            bigger[i] = self->deltas[k];
        }
        free(self->deltas);
        self->deltas = bigger;
        self->cap_deltas = grow;
    }
    mask = self->cap_deltas - 1;
    for (i = (size_t)account & mask; self->deltas[i].account; i = (i + 1) & mask) {
        if (self->deltas[i].account == account) {
            self->deltas[i].delta += amount;
            return 0;
        }
    }
    self->deltas[i].account = account;
    self->deltas[i].delta = amount;
    self->n_deltas++;
    return 0;
}

/*  Appends a transfer: chains it to the last one and inserts it; its
    balance moves are applied by s_finish, in the same transaction.  */
static int s_post(dn_ledger_t *self, const s_transfer_t *t)
{
    sqlite3_stmt *stmt;
    uint8_t hash[32];
    int rc;

    if (!self->have_head) {
        self->head_id = 0;
        memset(self->head_hash, 0, 32);
        if (dn_db_cached(self->cache,
                         "SELECT id, hash FROM transfers ORDER BY id DESC LIMIT 1", &stmt))
            return DN_EDB;
        rc = sqlite3_step(stmt);
        if (rc == SQLITE_ROW) {
            const void *blob = sqlite3_column_blob(stmt, 1);
            self->head_id = sqlite3_column_int64(stmt, 0);
            rc = blob && sqlite3_column_bytes(stmt, 1) == 32 ? SQLITE_DONE : SQLITE_NOMEM;
            if (rc == SQLITE_DONE)
                memcpy(self->head_hash, blob, 32);
        }
        sqlite3_reset(stmt);
        if (rc != SQLITE_DONE) { /* a chain continued from a wrong head breaks verify */
            dn_log_error("ledger: cannot read the transfer chain's head");
            return DN_EDB;
        }
        self->have_head = 1;
    }
    if ((rc = s_transfer_hash(self->head_id + 1, t, self->head_hash, hash)) != 0)
        return rc;
    if (dn_db_cached(self->cache,
                     "INSERT INTO transfers(debit, credit, amount, code, source_eid, sale_eid, "
                     "reverses, level, rate_bps, category, bonus, period, event_period, ref, "
                     "created_ms, prev_hash, hash, id) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     &stmt))
        return DN_EDB;
    s_bind_transfer(stmt, t, self->head_hash, hash);
    sqlite3_bind_int64(stmt, 18, self->head_id + 1);
    rc = dn_db_step_txn(self->db, stmt);
    sqlite3_reset(stmt);
    if (rc == 0) {
        self->head_id++;
        memcpy(self->head_hash, hash, 32);
        rc = s_delta(self, t->debit, -t->amount);
    }
    if (rc == 0)
        rc = s_delta(self, t->credit, t->amount);
    return rc;
}

int dn_ledger_flush(dn_ledger_t *self)
{
    sqlite3_stmt *stmt;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < self->cap_deltas; i++) {
        if (!self->deltas[i].account || self->deltas[i].delta == 0)
            continue;
        if (dn_db_cached(self->cache, "UPDATE accounts SET balance = balance + ? WHERE id = ?",
                         &stmt)) {
            rc = DN_EDB;
            break;
        }
        sqlite3_bind_int64(stmt, 1, self->deltas[i].delta);
        sqlite3_bind_int64(stmt, 2, self->deltas[i].account);
        rc = dn_db_step_txn(self->db, stmt);
        sqlite3_reset(stmt);
    }
    if (self->deltas)
        memset(self->deltas, 0, self->cap_deltas * sizeof *self->deltas);
    self->n_deltas = 0;
    self->have_head = 0;
    if (rc)
        dn_ledger_forget(self);
    return rc;
}

/*  Ends one posting: on failure the caches go (the caller rolls back).  */
static int s_finish(dn_ledger_t *self, int rc)
{
    if (rc)
        dn_ledger_forget(self);
    return rc;
}

/*  Fills the period fields of t for an event recorded at event_ms.  */
static int s_periods(dn_ledger_t *self, s_transfer_t *t, int64_t event_ms)
{
    char of[DN_PERIOD_SIZE];
    dn_ledger_period_of(event_ms, of);
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
        sqlite3_stmt *stmt;
        size_t cap = 0;
        int rc = 0, step;
        if (dn_db_cached(self->cache, "SELECT effective_ms FROM plans ORDER BY effective_ms",
                         &stmt))
            return DN_EDB;
        self->n_plans = 0;
        while (rc == 0 && (step = sqlite3_step(stmt)) == SQLITE_ROW) {
            dn_plan_t *bigger = dn_array_grow(self->plans, &cap, self->n_plans,
                                              sizeof *bigger, 4);
            if (!bigger) {
                rc = DN_ENOMEM;
                break;
            }
            self->plans = bigger;
            rc = dn_plan_at_cached(self->cache, sqlite3_column_int64(stmt, 0),
                                   &self->plans[self->n_plans]);
            if (rc == 0)
                self->n_plans++;
        }
        sqlite3_reset(stmt);
        if (rc == 0 && step != SQLITE_DONE) /* plans cut short: the wrong plan */
            rc = DN_EDB;
        if (rc)
            return rc;
        self->plans_loaded = 1;
    }
    for (size_t i = 0; i < self->n_plans && self->plans[i].effective_ms <= at_ms; i++)
        *plan = &self->plans[i];
    return 0;
}

/*  The earners of a sale: level 0 the seller, then its upline at time T,
    without hq partners and without partners suspended at T.  */
static int s_earners(dn_ledger_t *self, s_node_t *seller, int64_t at_ms,
                     s_node_t *earners[DN_PLAN_MAX_LEVELS], int *n)
{
    s_node_t *node = seller;
    *n = 0;
    for (int steps = 0; node && *n < DN_PLAN_MAX_LEVELS; steps++) {
        int64_t parent;
        int rc;
        if (steps > DN_LEDGER_MAX_WALK)
            return DN_EDB; /* a cycle: the registry refuses them, so the file is damaged */
        if (s_active_at(node, at_ms) && strcmp(node->p.kind, "hq") != 0)
            earners[(*n)++] = node;
        parent = s_step_at(node->links, node->n_links, at_ms, 0);
        if (!parent)
            break;
        if ((rc = s_node(self, parent, &node)) != 0)
            return rc;
    }
    return 0;
}

/*  Commission: per category group (lines paid by the same level table),
    the plan's rates from level 0 upward until the cap is used.  */
static int s_commission(dn_ledger_t *self, const Dealernet__Event *ev, const dn_plan_t *plan,
                        s_node_t *seller, const s_transfer_t *base)
{
    const Dealernet__Sale *sale = ev->sale;
    s_node_t *earners[DN_PLAN_MAX_LEVELS];
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
            used += rate;
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

/*  The recruit override: the seller's recruiter, within the window after
    the seller joined.  */
static int s_override(dn_ledger_t *self, const Dealernet__Event *ev, const dn_plan_t *plan,
                      const s_node_t *seller, const s_transfer_t *base)
{
    s_node_t *recruiter;
    s_transfer_t t = *base;
    int64_t at = ev->recorded_at_ms;
    int rc;

    if (!seller->p.recruiter_id || plan->recruit_override_bps <= 0 ||
        at < seller->p.joined_ms ||
        at - seller->p.joined_ms > (int64_t)plan->recruit_override_days * DN_DAY_MS)
        return 0;
    if ((rc = s_node(self, seller->p.recruiter_id, &recruiter)) != 0)
        return rc;
    if (recruiter->p.created_ms > base->created_ms || !s_active_at(recruiter, at) ||
        strcmp(recruiter->p.kind, "hq") == 0)
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

/*  Referral rewards of a sale to a referred member: who referred them (as
    stored with the sign-up that reached the server before this sale).  */
static int s_referral(dn_ledger_t *self, int64_t eid, const Dealernet__Event *ev,
                      const dn_plan_t *plan, const s_transfer_t *base)
{
    const Dealernet__Sale *sale = ev->sale;
    sqlite3_stmt *stmt;
    char ref_phone[DN_PHONE_SIZE] = "", ref_partner[DN_MAX_CODE_LEN + 1] = "";
    char name[DN_ACCOUNT_NAME_SIZE];
    int64_t signed_up = 0, account, hq;
    int found = 0, first, rc, step;
    int64_t at = ev->recorded_at_ms;

    if (!sale->member_phone)
        return 0;
    if (dn_db_cached(self->cache,
                     "SELECT referrer_phone, referrer_partner, signed_up_ms FROM members "
                     "WHERE phone = ? AND signup_eid < ?",
                     &stmt))
        return DN_EDB;
    sqlite3_bind_text(stmt, 1, sale->member_phone, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, eid);
    if ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (dn_db_column_copy(stmt, 0, ref_phone, sizeof ref_phone) ||
            dn_db_column_copy(stmt, 1, ref_partner, sizeof ref_partner))
            step = SQLITE_NOMEM;
        signed_up = sqlite3_column_int64(stmt, 2);
        found = 1;
    }
    sqlite3_reset(stmt);
    if (step != SQLITE_ROW && step != SQLITE_DONE) /* not "no referrer" */
        return DN_EDB;
    if (!found || (!ref_phone[0] && !ref_partner[0]))
        return 0;

    if (ref_phone[0]) {
        snprintf(name, sizeof name, "member:%s", ref_phone);
        rc = s_account(self, name, "member", 0, ref_phone, &account);
    } else {
        s_node_t *partner;
        rc = s_node_by_code(self, ref_partner, base->created_ms, &partner);
        if (rc == DN_ENOENT)
            return 0; /* a referrer code HQ does not know earns nothing */
        if (rc == 0)
            rc = s_partner_account(self, partner, &account);
    }
    if (rc || (rc = s_hq_account(self, S_HQ_REFERRAL, &hq)) != 0)
        return rc;

    if (dn_db_cached(self->cache,
                     "SELECT 1 FROM sales WHERE member_phone = ? AND eid < ? LIMIT 1", &stmt))
        return DN_EDB;
    sqlite3_bind_text(stmt, 1, sale->member_phone, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, eid);
    step = sqlite3_step(stmt);
    first = step == SQLITE_DONE;
    sqlite3_reset(stmt);
    if (step != SQLITE_ROW && step != SQLITE_DONE) /* not "no earlier purchase" */
        return DN_EDB;

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
    if (plan->purchase_bps > 0 && at >= signed_up &&
        at - signed_up <= (int64_t)plan->purchase_days * DN_DAY_MS) {
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

static int s_post_sale(dn_ledger_t *self, int64_t eid, const Dealernet__Event *ev,
                       int64_t now_ms)
{
    const dn_plan_t *plan;
    s_node_t *seller = NULL;
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
    rc = s_node_by_code(self, ev->sale->seller, now_ms, &seller);
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

/* -- refunds ------------------------------------------------------------------ */

/*  One transfer of the sale that a refund may take back from.  */
typedef struct {
    int64_t id, debit, credit, amount, taken;
    int bonus, has_level, level, has_rate;
    int32_t rate_bps;
    char category[DN_MAX_CODE_LEN + 1];
    int has_category;
} s_original_t;

static int s_post_refund(dn_ledger_t *self, int64_t eid, const Dealernet__Event *ev,
                         int64_t now_ms)
{
    sqlite3_stmt *stmt;
    int64_t sale_eid = 0, total = 0, refunded = 0;
    s_original_t *orig = NULL;
    size_t n = 0, cap = 0;
    s_transfer_t base;
    int rc = 0, step;

    /* The sale, and how much of it is refunded up to and with this event.  */
    if (dn_db_cached(self->cache,
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

    if (dn_db_cached(self->cache,
                     "SELECT t.id, t.debit, t.credit, t.amount, t.bonus, t.level, t.rate_bps, "
                     "t.category, (SELECT coalesce(sum(c.amount), 0) FROM transfers c "
                     "  WHERE c.sale_eid = t.sale_eid AND c.reverses = t.id) "
                     "FROM transfers t WHERE t.sale_eid = ? AND t.reverses IS NULL "
                     "AND t.code IN ('commission', 'referral', 'override') ORDER BY t.id",
                     &stmt))
        return DN_EDB;
    sqlite3_bind_int64(stmt, 1, sale_eid);
    while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        s_original_t *o, *bigger = dn_array_grow(orig, &cap, n, sizeof *orig, 16);
        if (!bigger) {
            rc = DN_ENOMEM;
            break;
        }
        orig = bigger;
        o = &orig[n++];
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
    if (rc == 0 && step != SQLITE_DONE) /* a clawback of some of them is wrong */
        rc = DN_EDB;

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
        else if (dn_money_muldiv(o->amount, ev->refund->amount, total, &back))
            rc = DN_EDB;
        if (rc || back <= 0)
            continue;
        t.amount = back < left ? back : left;
        t.debit = o->credit;
        t.credit = o->debit;
        t.reverses = o->id;
        t.has_level = o->has_level;
        t.level = o->level;
        t.has_rate = o->has_rate;
        t.rate_bps = o->rate_bps;
        t.category = o->has_category ? o->category : NULL;
        t.bonus = o->bonus;
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

int dn_ledger_currency(sqlite3 *db, char currency[4], int *exponent)
{
    sqlite3_stmt *stmt;
    int rc = DN_ENOENT;
    if (dn_db_prepare(db, "SELECT currency FROM plans ORDER BY effective_ms LIMIT 1", &stmt))
        return DN_EDB;
    if (sqlite3_step(stmt) == SQLITE_ROW) {
        snprintf(currency, 4, "%s", (const char *)sqlite3_column_text(stmt, 0));
        *exponent = dn_money_exponent(currency);
        rc = *exponent >= 0 ? 0 : DN_EDB;
    }
    sqlite3_finalize(stmt);
    return rc;
}

static json_t *s_money(int64_t minor, int exponent)
{
    char text[DN_MONEY_TEXT_SIZE];
    dn_money_format(minor, exponent, text, sizeof text);
    return json_string(text);
}

int dn_ledger_statement(sqlite3 *db, const char *partner, const char *phone,
                        const char *period, int64_t now_ms, json_t **out, char *why,
                        size_t why_size)
{
    char name[DN_ACCOUNT_NAME_SIZE], p[DN_PERIOD_SIZE], currency[4] = "", norm[DN_PHONE_SIZE];
    sqlite3_stmt *stmt;
    int64_t account = 0, opening = 0, closing;
    int exponent = 2, rc;
    json_t *rows, *totals;

    *out = NULL;
    if (period && !s_valid_period(period))
        return s_why(DN_EPARSE, why, why_size, "period '%s' is not YYYY-MM", period);
    if (period)
        snprintf(p, sizeof p, "%s", period);
    else
        dn_ledger_period_of(now_ms, p);
    if (partner) {
        dn_registry_partner_t found;
        if (dn_registry_partner_get(db, partner, &found) != 0)
            return s_why(DN_ENOENT, why, why_size, "partner %s does not exist", partner);
        snprintf(name, sizeof name, "partner:%s", found.code);
    } else {
        /* typed any way at HQ: canonical with the network's country */
        if ((rc = dn_phones_canonical(db, phone, norm, why, why_size)) != 0)
            return rc;
        snprintf(name, sizeof name, "member:%s", norm);
    }
    rc = dn_ledger_currency(db, currency, &exponent);
    if (rc && rc != DN_ENOENT)
        return rc;

    if (dn_db_prepare(db,
                      "SELECT a.id, coalesce((SELECT sum(CASE WHEN t.credit = a.id THEN "
                      "t.amount ELSE -t.amount END) FROM transfers t WHERE (t.credit = a.id OR "
                      "t.debit = a.id) AND t.period < ?), 0) FROM accounts a WHERE a.name = ?",
                      &stmt))
        return DN_EDB;
    sqlite3_bind_text(stmt, 1, p, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, name, -1, SQLITE_STATIC);
    if (sqlite3_step(stmt) == SQLITE_ROW) {
        account = sqlite3_column_int64(stmt, 0);
        opening = sqlite3_column_int64(stmt, 1);
    }
    sqlite3_finalize(stmt);
    if (!account && phone) {
        if (dn_db_prepare(db, "SELECT 1 FROM members WHERE phone = ?", &stmt))
            return DN_EDB;
        sqlite3_bind_text(stmt, 1, norm, -1, SQLITE_STATIC);
        rc = sqlite3_step(stmt) == SQLITE_ROW ? 0 : DN_ENOENT;
        sqlite3_finalize(stmt);
        if (rc)
            return s_why(rc, why, why_size, "no member with phone %s", norm);
    }

    rows = json_array();
    totals = json_object();
    closing = opening;
    if (dn_db_prepare(db,
                      "SELECT t.id, t.created_ms, t.code, CASE WHEN t.credit = ? THEN t.amount "
                      "ELSE -t.amount END, e.id, t.level, t.rate_bps, t.category, "
                      "t.event_period, t.ref, o.name, t.bonus "
                      "FROM transfers t LEFT JOIN events e ON e.eid = t.sale_eid "
                      "JOIN accounts o ON o.id = CASE WHEN t.credit = ? THEN t.debit "
                      "ELSE t.credit END "
                      "WHERE (t.credit = ? OR t.debit = ?) AND t.period = ? ORDER BY t.id",
                      &stmt)) {
        json_decref(rows);
        json_decref(totals);
        return DN_EDB;
    }
    for (int i = 1; i <= 4; i++)
        sqlite3_bind_int64(stmt, i, account);
    sqlite3_bind_text(stmt, 5, p, -1, SQLITE_STATIC);
    while (sqlite3_step(stmt) == SQLITE_ROW) {
        char date[DN_TIME_TEXT_SIZE], sale[DN_ID_TEXT_SIZE] = "";
        const char *code = (const char *)sqlite3_column_text(stmt, 2);
        int64_t amount = sqlite3_column_int64(stmt, 3);
        json_t *total = json_object_get(totals, code);
        int64_t sum = total ? json_integer_value(total) : 0;
        dn_time_format(sqlite3_column_int64(stmt, 1), date);
        if (sqlite3_column_bytes(stmt, 4) == DN_ID_BYTES)
            dn_id_format(sqlite3_column_blob(stmt, 4), sale);
        closing += amount;
        json_object_set_new(totals, code, json_integer(sum + amount));
        json_t *row = json_pack(
            "{s:I, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:s}", "id",
            (json_int_t)sqlite3_column_int64(stmt, 0), "date", date, "code", code, "amount",
            s_money(amount, exponent), "sale", sale[0] ? json_string(sale) : json_null(),
            "level",
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
        if (row)
            json_object_set_new(row, "bonus", json_boolean(sqlite3_column_int(stmt, 11)));
        json_array_append_new(rows, row);
    }
    sqlite3_finalize(stmt);

    /* Totals by code, as money.  */
    json_t *money_totals = json_object();
    const char *key;
    json_t *value;
    json_object_foreach(totals, key, value)
        json_object_set_new(money_totals, key, s_money(json_integer_value(value), exponent));
    json_decref(totals);
    *out = json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:o}", "account", name, "period", p,
                     "currency", currency, "opening", s_money(opening, exponent), "closing",
                     s_money(closing, exponent), "totals", money_totals, "transfers", rows);
    return *out ? 0 : DN_ENOMEM;
}

int dn_ledger_payout(sqlite3 *db, const char *partner, int64_t amount, const char *ref,
                     const char *admin, int64_t now_ms, json_t **out, char *why,
                     size_t why_size)
{
    dn_registry_partner_t found;
    dn_ledger_t *self;
    s_transfer_t t;
    char currency[4] = "", text[DN_MONEY_TEXT_SIZE], left[DN_MONEY_TEXT_SIZE];
    int exponent = 2, rc;
    int64_t balance = 0;
    sqlite3_stmt *stmt;

    *out = NULL;
    if (amount <= 0)
        return s_why(DN_EINVAL, why, why_size, "a payout must be positive");
    if (!ref || !dn_valid_text(ref, 200))
        return s_why(DN_EINVAL, why, why_size, "a payout needs --ref: 1 to 200 printable "
                                               "characters (the bank transfer's reference)");
    if (dn_registry_partner_get(db, partner, &found) != 0)
        return s_why(DN_ENOENT, why, why_size, "partner %s does not exist", partner);
    dn_ledger_currency(db, currency, &exponent);
    if (!(self = dn_ledger_new(db)))
        return DN_ENOMEM;
    if ((rc = dn_db_begin(db)) != 0) {
        dn_ledger_destroy(&self);
        return rc;
    }
    memset(&t, 0, sizeof t);
    t.code = "payout";
    t.amount = amount;
    t.ref = ref;
    t.created_ms = now_ms;
    s_node_t *node;
    rc = s_node(self, found.id, &node);
    if (rc == 0)
        rc = s_partner_account(self, node, &t.debit);
    if (rc == 0)
        rc = s_hq_account(self, S_HQ_PAYOUT, &t.credit);
    if (rc == 0 && (rc = dn_db_prepare(db, "SELECT balance FROM accounts WHERE id = ?",
                                       &stmt)) == 0) {
        sqlite3_bind_int64(stmt, 1, t.debit);
        if (sqlite3_step(stmt) == SQLITE_ROW)
            balance = sqlite3_column_int64(stmt, 0);
        sqlite3_finalize(stmt);
    }
    if (rc == 0 && amount > balance) {
        dn_money_format(amount, exponent, text, sizeof text);
        dn_money_format(balance, exponent, left, sizeof left);
        rc = s_why(DN_ELIMIT, why, why_size,
                   "payout of %s %s exceeds partner %s's available balance of %s %s", text,
                   currency, found.code, left, currency);
    }
    if (rc == 0)
        rc = s_periods(self, &t, now_ms);
    t.event_period[0] = '\0'; /* a payout belongs to the month it is made in */
    if (rc == 0)
        rc = s_post(self, &t);
    if (rc == 0)
        rc = dn_ledger_flush(self);
    if (rc == 0)
        rc = dn_db_commit(db);
    if (rc) {
        dn_db_rollback(db);
        dn_ledger_destroy(&self);
        return rc;
    }
    dn_ledger_destroy(&self);
    dn_money_format(amount, exponent, text, sizeof text);
    dn_money_format(balance - amount, exponent, left, sizeof left);
    dn_log_info("admin %s: payout of %s %s to %s (ref %s)", admin, text, currency, found.code,
                ref);
    *out = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "partner", found.code, "amount", text,
                     "currency", currency, "ref", ref, "period", t.period, "balance", left);
    return *out ? 0 : DN_ENOMEM;
}

/* -- verify ------------------------------------------------------------------- */

typedef struct {
    json_t *differences;
    int64_t events, transfers, accounts;
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

/*  Every site's chain: contiguous seqs, hashes of the stored bytes, links,
    checkpoint signatures, and the site's recorded head.  */
static int s_verify_events(sqlite3 *db, s_verify_t *v)
{
    sqlite3_stmt *sites, *events;
    if (dn_db_prepare(db, "SELECT id, code, sign_key, applied_seq, head_hash FROM sites", &sites))
        return DN_EDB;
    if (dn_db_prepare(db,
                      "SELECT seq, body, hash, signature FROM events WHERE site_id = ? "
                      "ORDER BY seq",
                      &events)) {
        sqlite3_finalize(sites);
        return DN_EDB;
    }
    while (sqlite3_step(sites) == SQLITE_ROW) {
        char code[DN_MAX_CODE_LEN + 1];
        uint8_t prev[32] = {0}, sign_key[32] = {0};
        int has_key = sqlite3_column_bytes(sites, 2) == 32;
        int64_t expect = 1;
        snprintf(code, sizeof code, "%s", (const char *)sqlite3_column_text(sites, 1));
        if (has_key)
            memcpy(sign_key, sqlite3_column_blob(sites, 2), 32);
        sqlite3_reset(events);
        sqlite3_bind_int64(events, 1, sqlite3_column_int64(sites, 0));
        while (sqlite3_step(events) == SQLITE_ROW) {
            int64_t seq = sqlite3_column_int64(events, 0);
            const uint8_t *body = sqlite3_column_blob(events, 1);
            size_t len = (size_t)sqlite3_column_bytes(events, 1);
            uint8_t hash[32];
            Dealernet__Event *ev = NULL;
            char why[DN_WHY_SIZE];
            v->events++;
            if (seq != expect)
                s_diff(v, "site %s: seq %lld missing before seq %lld", code,
                       (long long)expect, (long long)seq);
            expect = seq + 1;
            dn_sha256(body, len, hash);
            if (sqlite3_column_bytes(events, 2) != 32 ||
                memcmp(hash, sqlite3_column_blob(events, 2), 32) != 0)
                s_diff(v, "site %s seq %lld: stored hash is not the hash of the stored event",
                       code, (long long)seq);
            if (dn_wire_event_unpack(body, len, &ev, why, sizeof why) != 0) {
                s_diff(v, "site %s seq %lld: event does not decode: %s", code,
                       (long long)seq, why);
            } else {
                if (memcmp(ev->prev_hash.data, prev, 32) != 0)
                    s_diff(v, "site %s seq %lld: does not link to the previous event", code,
                           (long long)seq);
                if (ev->seq != (uint64_t)seq || strcmp(ev->site, code) != 0)
                    s_diff(v, "site %s seq %lld: event names site %s seq %llu", code,
                           (long long)seq, ev->site, (unsigned long long)ev->seq);
            }
            dn_wire_event_free(&ev);
            if (sqlite3_column_type(events, 3) != SQLITE_NULL) {
                uint8_t signed_bytes[DN_BATCH_SIGNED_MAX];
                size_t signed_len =
                    dn_wire_batch_signed(code, (uint64_t)seq, hash, signed_bytes);
                if (!has_key || sqlite3_column_bytes(events, 3) != DN_SIG_BYTES ||
                    dn_ed25519_verify(sign_key, signed_bytes, signed_len,
                                      sqlite3_column_blob(events, 3)) != 0)
                    s_diff(v, "site %s seq %lld: batch signature does not verify", code,
                           (long long)seq);
            }
            memcpy(prev, hash, 32);
        }
        if (sqlite3_column_int64(sites, 3) != expect - 1 ||
            sqlite3_column_bytes(sites, 4) != 32 ||
            memcmp(sqlite3_column_blob(sites, 4), prev, 32) != 0)
            s_diff(v, "site %s: recorded head (seq %lld) is not the last stored event", code,
                   (long long)sqlite3_column_int64(sites, 3));
    }
    sqlite3_finalize(events);
    sqlite3_finalize(sites);
    return 0;
}

/*  The transfer chain, balances, and closed periods.  */
static int s_verify_transfers(sqlite3 *db, s_verify_t *v)
{
    sqlite3_stmt *stmt;
    uint8_t prev[32] = {0};
    int64_t sum = 0;

    if (dn_db_prepare(db,
                      "SELECT t.id, t.debit, t.credit, t.amount, t.code, t.source_eid, "
                      "t.sale_eid, t.reverses, t.level, t.rate_bps, t.category, t.bonus, "
                      "t.period, t.event_period, t.ref, t.created_ms, t.prev_hash, t.hash, "
                      "p.closed_ms FROM main.transfers t "
                      "LEFT JOIN periods p ON p.period = t.period ORDER BY t.id",
                      &stmt))
        return DN_EDB;
    while (sqlite3_step(stmt) == SQLITE_ROW) {
        s_transfer_t t;
        uint8_t hash[32];
        int64_t id = sqlite3_column_int64(stmt, 0);
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
        if (sqlite3_column_bytes(stmt, 16) != 32 ||
            memcmp(sqlite3_column_blob(stmt, 16), prev, 32) != 0)
            s_diff(v, "transfer %lld: does not link to the transfer before it", (long long)id);
        if (s_transfer_hash(id, &t, prev, hash) != 0 || sqlite3_column_bytes(stmt, 17) != 32 ||
            memcmp(sqlite3_column_blob(stmt, 17), hash, 32) != 0)
            s_diff(v, "transfer %lld: its fields do not hash to its stored hash (altered)",
                   (long long)id);
        if (sqlite3_column_bytes(stmt, 17) == 32)
            memcpy(prev, sqlite3_column_blob(stmt, 17), 32);
        if (sqlite3_column_type(stmt, 18) != SQLITE_NULL &&
            sqlite3_column_int64(stmt, 18) < t.created_ms)
            s_diff(v, "transfer %lld: posted into %s after that period was closed",
                   (long long)id, t.period);
        if (t.amount <= 0)
            s_diff(v, "transfer %lld: amount is not positive", (long long)id);
    }
    sqlite3_finalize(stmt);

    if (dn_db_prepare(db,
                      "WITH moves(account, amount) AS ("
                      "  SELECT credit, amount FROM main.transfers"
                      "  UNION ALL SELECT debit, -amount FROM main.transfers),"
                      " sums(account, total) AS (SELECT account, sum(amount) FROM moves"
                      "  GROUP BY account) "
                      "SELECT a.name, a.balance, coalesce(s.total, 0) FROM main.accounts a "
                      "LEFT JOIN sums s ON s.account = a.id ORDER BY a.id",
                      &stmt))
        return DN_EDB;
    while (sqlite3_step(stmt) == SQLITE_ROW) {
        v->accounts++;
        sum += sqlite3_column_int64(stmt, 1);
        if (sqlite3_column_int64(stmt, 1) != sqlite3_column_int64(stmt, 2))
            s_diff(v, "account %s: balance %lld is not its transfers' %lld (minor units)",
                   (const char *)sqlite3_column_text(stmt, 0),
                   (long long)sqlite3_column_int64(stmt, 1),
                   (long long)sqlite3_column_int64(stmt, 2));
    }
    sqlite3_finalize(stmt);
    if (sum != 0)
        s_diff(v, "balances sum to %lld, not 0: debits and credits differ", (long long)sum);
    return 0;
}

/*  Replays every sale and refund into TEMP tables through the posting code
    and compares with what is stored.  */
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
        "CREATE INDEX temp.scratch_sale ON transfers(sale_eid);";
    /* What a transfer is, independent of ids and posting time, and how
       many times it was posted: EXCEPT compares sets, so without the count
       an event posted twice would look like one posted once.  */
    static const char *const shape =
        "SELECT t.source_eid, t.code, d.name, c.name, t.amount, coalesce(t.level, -1), "
        "coalesce(t.rate_bps, -1), coalesce(t.category, ''), t.bonus, count(*) "
        "FROM %s.transfers t "
        "JOIN %s.accounts d ON d.id = t.debit JOIN %s.accounts c ON c.id = t.credit "
        "WHERE t.code IN ('commission', 'referral', 'override', 'clawback') "
        "GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9";
    char sql[2048], a[700], b[700];
    sqlite3_stmt *stmt;
    dn_ledger_t *ledger;
    dn_phones_t *phones;
    int rc = 0;

    if (dn_db_exec(db, scratch))
        return DN_EDB;
    if (!(ledger = dn_ledger_new(db)))
        return DN_ENOMEM;
    if (!(phones = dn_phones_new(db))) {
        dn_ledger_destroy(&ledger);
        return DN_EDB;
    }
    if (dn_db_prepare(db,
                      "SELECT eid, body, received_ms FROM events "
                      "WHERE kind IN ('sale', 'refund') ORDER BY eid",
                      &stmt)) {
        dn_phones_destroy(&phones);
        dn_ledger_destroy(&ledger);
        return DN_EDB;
    }
    while (rc == 0 && sqlite3_step(stmt) == SQLITE_ROW) {
        Dealernet__Event *ev = NULL;
        char why[DN_WHY_SIZE];
        if (dn_wire_event_unpack(sqlite3_column_blob(stmt, 1),
                                 (size_t)sqlite3_column_bytes(stmt, 1), &ev, why,
                                 sizeof why) != 0)
            continue; /* reported by the chain check */
        /* the phones ingest stored (dn_phones.h), from the signed bytes */
        rc = dn_phones_event(phones, sqlite3_column_int64(stmt, 0), ev);
        if (rc == 0)
            rc = dn_ledger_post(ledger, sqlite3_column_int64(stmt, 0), ev,
                                sqlite3_column_int64(stmt, 2));
        dn_wire_event_free(&ev);
    }
    sqlite3_finalize(stmt);
    dn_phones_destroy(&phones);
    if (rc == 0)
        rc = dn_ledger_flush(ledger);
    dn_ledger_destroy(&ledger);
    if (rc)
        return rc;

    snprintf(a, sizeof a, shape, "main", "main", "main");
    snprintf(b, sizeof b, shape, "temp", "temp", "temp");
    for (int side = 0; side < 2; side++) {
        snprintf(sql, sizeof sql, "%s EXCEPT %s", side == 0 ? a : b, side == 0 ? b : a);
        if (dn_db_prepare(db, sql, &stmt))
            return DN_EDB;
        while (sqlite3_step(stmt) == SQLITE_ROW) {
            s_diff(v,
                   "%s: %s of event %lld, %s -> %s, %lld minor units (level %d, rate %d, "
                   "category '%s'%s) x %d",
                   side == 0 ? "posted but not what the rules give"
                             : "the rules give but not posted",
                   (const char *)sqlite3_column_text(stmt, 1),
                   (long long)sqlite3_column_int64(stmt, 0),
                   (const char *)sqlite3_column_text(stmt, 2),
                   (const char *)sqlite3_column_text(stmt, 3),
                   (long long)sqlite3_column_int64(stmt, 4), sqlite3_column_int(stmt, 5),
                   sqlite3_column_int(stmt, 6), (const char *)sqlite3_column_text(stmt, 7),
                   sqlite3_column_int(stmt, 8) ? ", bonus" : "", sqlite3_column_int(stmt, 9));
        }
        sqlite3_finalize(stmt);
    }
    return 0;
}

int dn_ledger_verify(const char *path, json_t **out)
{
    s_verify_t v;
    sqlite3 *db = NULL;
    int rc;

    *out = NULL;
    memset(&v, 0, sizeof v);
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        sqlite3_close(db);
        return DN_EDB;
    }
    sqlite3_busy_timeout(db, DN_DB_BUSY_TIMEOUT_MS);
    v.differences = json_array();
    /* One read transaction: a consistent snapshot while ingest goes on.  */
    rc = dn_db_exec(db, "BEGIN");
    if (rc == 0)
        rc = s_verify_events(db, &v);
    if (rc == 0)
        rc = s_verify_transfers(db, &v);
    if (rc == 0)
        rc = s_verify_postings(db, &v);
    dn_db_exec(db, "ROLLBACK");
    sqlite3_close(db);
    if (rc) {
        json_decref(v.differences);
        return rc;
    }
    *out = json_pack("{s:b, s:I, s:I, s:I, s:o}", "ok", json_array_size(v.differences) == 0,
                     "events", (json_int_t)v.events, "transfers", (json_int_t)v.transfers,
                     "accounts", (json_int_t)v.accounts, "differences", v.differences);
    if (!*out)
        return DN_ENOMEM;
    return json_array_size(v.differences) ? DN_ECHAIN : 0;
}
