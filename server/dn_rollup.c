/*  dn_rollup -- the rollups written at ingest (see dn_rollup.h).

    The rollup keeper works like the ledger it sits beside: it caches each
    partner's effective-dated links (a move is an admin command, after
    which the server makes it forget), adds each posting's team volume to
    an in-memory table keyed by (partner, month, currency), and writes that
    table once per batch.  Everything a posting depends on -- the stored
    sale, its lines, the earlier refunds of the same sale, the tree at the
    sale's time, whether HQ knew the seller when the sale was stored -- is
    a function of the stored events and their order, so dn_rollup_rebuild
    replaying them gives the same rollups as ingest did.
*/
#include "dn_rollup.h"
#include "dn_array.h"
#include "dn_central.h"
#include "dn_db.h"
#include "dn_error.h"
#include "dn_facts.h"
#include "dn_log.h"
#include "dn_money.h"
#include "dn_phones.h"
#include "dn_registry.h"
#include "dn_tree.h"
#include "dn_time.h"
#include "dn_valid.h"
#include "dn_wire.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DN_ROLLUP_REPLAY_RUN 500    /* events replayed between flushes */

/* -- the keeper ------------------------------------------------------------------ */

/*  One pending team volume move.  partner 0 marks a free slot.  */
typedef struct {
    int64_t partner;
    char period[DN_PERIOD_SIZE];
    char currency[4];
    int64_t sales, total, refunds, refunded;
} s_move_t;

struct _dn_rollup_t {
    sqlite3 *db;
    dn_db_cache_t *cache;
    dn_tree_t *tree; /* the partners and their history (dn_tree) */
    dn_table_t moves; /* s_move_t by (partner, period, currency) */
    int64_t walk[DN_TREE_MAX_WALK + 1]; /* the upline being walked */
    size_t n_walk;
};

dn_rollup_t *dn_rollup_new(sqlite3 *db)
{
    dn_rollup_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->db = db;
    self->cache = dn_db_cache_new(db);
    self->tree = dn_tree_new(db);
    if (!self->cache || !self->tree)
        dn_rollup_destroy(&self);
    return self;
}

void dn_rollup_forget(dn_rollup_t *self)
{
    dn_tree_forget(self->tree);
    dn_table_clear(&self->moves, sizeof(s_move_t));
}

void dn_rollup_destroy(dn_rollup_t **self_p)
{
    if (self_p && *self_p) {
        dn_rollup_forget(*self_p);
        dn_table_free(&(*self_p)->moves);
        dn_db_cache_destroy(&(*self_p)->cache);
        dn_tree_destroy(&(*self_p)->tree);
        free(*self_p);
        *self_p = NULL;
    }
}

/*  dn_tree_walk's visit for s_upline (the walk's bound keeps it within
    self->walk).  */
static int s_walked(void *arg, dn_tree_node_t *node)
{
    dn_rollup_t *self = arg;
    self->walk[self->n_walk++] = node->p.id;
    return 0;
}

/*  Fills self->walk[0 .. *n) with the seller called code and every partner
    above it at at_ms; *n = 0 when HQ had not added the seller by known_ms.  */
static int s_upline(dn_rollup_t *self, const char *code, int64_t at_ms, int64_t known_ms,
                    size_t *n)
{
    dn_tree_node_t *seller;
    int rc = dn_tree_node_by_code(self->tree, code, known_ms, &seller);

    *n = self->n_walk = 0;
    if (rc == DN_ENOENT)
        return 0;
    if (rc == 0 && (rc = dn_tree_walk(self->tree, seller->p.id, at_ms, s_walked, self)) == 0)
        *n = self->n_walk;
    return rc;
}

static size_t s_move_hash(int64_t partner, const char *period, const char *currency)
{
    uint64_t h = 1469598103934665603ULL ^ (uint64_t)partner;
    for (const char *p = period; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    for (const char *p = currency; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    return (size_t)(h ^ (h >> 29));
}

static size_t s_move_rehash(const void *entry)
{
    const s_move_t *m = entry;
    return s_move_hash(m->partner, m->period, m->currency);
}

/*  The pending move of (partner, period, currency), made when absent.  */
static int s_move(dn_rollup_t *self, int64_t partner, const char *period,
                  const char *currency, s_move_t **move)
{
    s_move_t *moves;
    size_t mask, i;
    if (dn_table_room(&self->moves, sizeof *moves, 64, s_move_rehash))
        return DN_ENOMEM;
    moves = self->moves.entries;
    mask = self->moves.cap - 1;
    for (i = s_move_hash(partner, period, currency) & mask; moves[i].partner;
         i = (i + 1) & mask) {
        s_move_t *m = &moves[i];
        if (m->partner == partner && strcmp(m->period, period) == 0 &&
            strcmp(m->currency, currency) == 0) {
            *move = m;
            return 0;
        }
    }
    *move = &moves[i];
    memset(*move, 0, sizeof **move);
    (*move)->partner = partner;
    snprintf((*move)->period, sizeof(*move)->period, "%s", period);
    snprintf((*move)->currency, sizeof(*move)->currency, "%s", currency);
    self->moves.n++;
    return 0;
}

/*  Adds to the team volume of every partner in self->walk[0 .. n).  */
static int s_add_team(dn_rollup_t *self, size_t n, const char *period,
                      const char *currency, int64_t sales, int64_t total, int64_t refunds,
                      int64_t refunded)
{
    for (size_t i = 0; i < n; i++) {
        s_move_t *m;
        int rc = s_move(self, self->walk[i], period, currency, &m);
        if (rc)
            return rc;
        m->sales += sales;
        m->refunds += refunds;
        if (dn_money_add(m->total, total, &m->total) ||
            dn_money_add(m->refunded, refunded, &m->refunded))
            return DN_EDB; /* beyond int64 minor units: the SQL sum would refuse too */
    }
    return 0;
}

/*  Orders moves as the table's key: (month, partner, currency).  */
static int s_move_cmp(const void *a, const void *b)
{
    const s_move_t *x = a, *y = b;
    int c = strcmp(x->period, y->period);
    if (c)
        return c;
    if (x->partner != y->partner)
        return x->partner < y->partner ? -1 : 1;
    return strcmp(x->currency, y->currency);
}

int dn_rollup_flush(dn_rollup_t *self)
{
    s_move_t *moves = self->moves.entries;
    sqlite3_stmt *stmt;
    size_t n = 0;
    int rc = 0;

    /* In key order, so that the B-tree is walked once, page after page
       (the hash table is emptied below anyway).  */
    for (size_t i = 0; i < self->moves.cap; i++)
        if (moves[i].partner)
            moves[n++] = moves[i];
    if (n)
        qsort(moves, n, sizeof *moves, s_move_cmp);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const s_move_t *m = &moves[i];
        if (dn_db_cached(
                self->cache,
                "INSERT INTO team_volume(partner_id, period, currency, sales, total, "
                "refunds, refunded) VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (period, partner_id, currency) DO UPDATE SET "
                "sales = sales + excluded.sales, total = total + excluded.total, "
                "refunds = refunds + excluded.refunds, "
                "refunded = refunded + excluded.refunded",
                &stmt)) {
            rc = DN_EDB;
            break;
        }
        sqlite3_bind_int64(stmt, 1, m->partner);
        sqlite3_bind_text(stmt, 2, m->period, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 3, m->currency, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 4, m->sales);
        sqlite3_bind_int64(stmt, 5, m->total);
        sqlite3_bind_int64(stmt, 6, m->refunds);
        sqlite3_bind_int64(stmt, 7, m->refunded);
        rc = dn_db_step_txn(self->db, stmt);
        sqlite3_reset(stmt);
    }
    dn_table_clear(&self->moves, sizeof *moves);
    if (rc)
        dn_rollup_forget(self);
    return rc;
}

/* -- posting ---------------------------------------------------------------------- */

static int s_post_sale(dn_rollup_t *self, const Dealernet__Event *ev, int64_t now_ms)
{
    char period[DN_PERIOD_SIZE];
    size_t n;
    int rc = s_upline(self, ev->sale->seller, ev->recorded_at_ms, now_ms, &n);
    if (rc || n == 0)
        return rc;
    dn_time_period_of(ev->recorded_at_ms, period);
    return s_add_team(self, n, period, ev->sale->currency, 1, ev->sale->total, 0, 0);
}

/*  One category of a sale, for the split of a refund.  */
typedef struct {
    char name[DN_MAX_CODE_LEN + 1]; /* "" for lines without a category */
    int64_t value;                  /* its lines' quantity x unit price */
    int64_t remaining;              /* value less what earlier refunds took */
    int64_t want;                   /* what this refund's lines name */
    int64_t take;                   /* what this refund takes from it */
} s_category_t;

/*  Adds to take[i] the share of amount in proportion to the weights
    (want, or remaining), by dn_money_split: the shares add up to amount
    exactly and none exceeds its weight (amount <= the sum of weights).  */
static int s_split(s_category_t *cats, size_t n, int64_t amount, int use_want)
{
    int64_t *weights, *shares;
    int rc = 0;
    if (amount <= 0)
        return 0;
    weights = calloc(2 * n, sizeof *weights);
    if (!weights)
        return DN_ENOMEM;
    shares = weights + n;
    for (size_t i = 0; i < n; i++)
        weights[i] = use_want ? cats[i].want : cats[i].remaining;
    /* the weights are bounded amounts of one sale: a refusal is damage */
    if (dn_money_split(amount, weights, n, shares))
        rc = DN_EDB;
    for (size_t i = 0; rc == 0 && i < n; i++)
        cats[i].take += shares[i];
    free(weights);
    return rc;
}

static int s_category_cmp(const void *a, const void *b)
{
    return strcmp(((const s_category_t *)a)->name, ((const s_category_t *)b)->name);
}

/*  Splits a refund over the categories of its sale: lines it names go to
    their category (up to what is left there), the rest of its amount in
    proportion to what is left in each category.  */
static int s_refund_categories(dn_rollup_t *self, int64_t eid, int64_t sale_eid,
                               const Dealernet__Refund *refund)
{
    s_category_t *cats = NULL;
    size_t n = 0, cap = 0;
    sqlite3_stmt *stmt;
    int64_t taken = 0;
    int rc = 0, step;

    if (dn_db_cached(
            self->cache,
            "SELECT coalesce(l.category, ''), sum(l.quantity * l.unit_price), "
            "  (SELECT coalesce(sum(c.amount), 0) FROM refund_categories c "
            "   WHERE c.sale_eid = l.sale_eid AND c.category = coalesce(l.category, '')) "
            "FROM sale_lines l WHERE l.sale_eid = ? GROUP BY 1",
            &stmt))
        return DN_EDB;
    sqlite3_bind_int64(stmt, 1, sale_eid);
    while ((step = dn_db_row(stmt, "rollup: a sale's categories")) == 1) {
        s_category_t *c, *bigger = dn_array_grow(cats, &cap, n, sizeof *bigger, 8);
        if (!bigger) {
            rc = DN_ENOMEM;
            break;
        }
        cats = bigger;
        c = &cats[n++];
        memset(c, 0, sizeof *c);
        if ((rc = dn_db_column_copy(stmt, 0, c->name, sizeof c->name)) != 0)
            break;
        c->value = sqlite3_column_int64(stmt, 1);
        c->remaining = c->value - sqlite3_column_int64(stmt, 2);
        if (c->remaining < 0)
            c->remaining = 0;
    }
    sqlite3_reset(stmt);
    if (rc == 0 && step < 0) /* some categories are not a split */
        rc = DN_EDB;
    if (rc || n == 0) {
        free(cats);
        return rc;
    }
    qsort(cats, n, sizeof *cats,
          s_category_cmp); /* a fixed order: strcmp, not collation */

    for (size_t i = 0; rc == 0 && i < refund->n_lines; i++) {
        if (dn_db_cached(self->cache,
                         "SELECT coalesce(category, ''), unit_price FROM sale_lines "
                         "WHERE sale_eid = ? AND sku = ?",
                         &stmt)) {
            rc = DN_EDB;
            break;
        }
        sqlite3_bind_int64(stmt, 1, sale_eid);
        sqlite3_bind_text(stmt, 2, refund->lines[i]->sku, -1, SQLITE_STATIC);
        if ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
            char name[sizeof cats[0].name];
            int64_t value;
            if ((rc = dn_db_column_copy(stmt, 0, name, sizeof name)) == 0)
                for (size_t k = 0; k < n; k++)
                    if (strcmp(cats[k].name, name) == 0 &&
                        dn_money_mul(sqlite3_column_int64(stmt, 1),
                                     refund->lines[i]->quantity, &value) == 0)
                        cats[k].want += value;
        } else if (step != SQLITE_DONE) {
            rc = DN_EDB;
        }
        sqlite3_reset(stmt);
    }
    for (size_t k = 0; rc == 0 && k < n; k++) {
        if (cats[k].want > cats[k].remaining)
            cats[k].want = cats[k].remaining;
        taken += cats[k].want;
    }
    if (rc == 0 && taken > refund->amount) {
        rc = s_split(cats, n, refund->amount, 1); /* lines worth more than the amount */
    } else if (rc == 0) {
        for (size_t k = 0; k < n; k++) {
            cats[k].take = cats[k].want;
            cats[k].remaining -= cats[k].want;
        }
        rc = s_split(cats, n, refund->amount - taken, 0);
    }
    for (size_t k = 0; rc == 0 && k < n; k++) {
        if (cats[k].take <= 0)
            continue;
        if (dn_db_cached(
                self->cache,
                "INSERT INTO refund_categories(sale_eid, refund_eid, category, amount) "
                "VALUES (?, ?, ?, ?)",
                &stmt)) {
            rc = DN_EDB;
            break;
        }
        sqlite3_bind_int64(stmt, 1, sale_eid);
        sqlite3_bind_int64(stmt, 2, eid);
        sqlite3_bind_text(stmt, 3, cats[k].name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 4, cats[k].take);
        rc = dn_db_step_txn(self->db, stmt);
        sqlite3_reset(stmt);
    }
    free(cats);
    return rc;
}

/*  1 if sale_eid was voided before event eid was stored, 0 if not, or
    DN_EDB.  */
static int s_voided_before(dn_rollup_t *self, int64_t sale_eid, int64_t eid)
{
    sqlite3_stmt *stmt;
    int step;
    if (dn_db_cached(self->cache,
                     "SELECT 1 FROM corrections WHERE kind = 'void' AND sale_eid = ? "
                     "AND events_through < ?",
                     &stmt))
        return DN_EDB;
    sqlite3_bind_int64(stmt, 1, sale_eid);
    sqlite3_bind_int64(stmt, 2, eid);
    step = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    if (step == SQLITE_ROW)
        return 1;
    return step == SQLITE_DONE ? 0 : DN_EDB; /* not "not voided" */
}

static int s_post_refund(dn_rollup_t *self, int64_t eid, const Dealernet__Event *ev)
{
    char seller[DN_MAX_CODE_LEN + 1] = "", currency[4] = "", period[DN_PERIOD_SIZE];
    int64_t sale_eid = 0, sale_ms = 0, sale_stored_ms = 0;
    sqlite3_stmt *stmt;
    size_t n;
    int rc, step;

    if (dn_db_cached(
            self->cache,
            "SELECT s.eid, s.seller, s.recorded_at_ms, s.currency, e.received_ms "
            "FROM refunds r JOIN sales s ON s.eid = r.sale_eid "
            "JOIN events e ON e.eid = s.eid WHERE r.eid = ?",
            &stmt))
        return DN_EDB;
    sqlite3_bind_int64(stmt, 1, eid);
    if ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        sale_eid = sqlite3_column_int64(stmt, 0);
        sale_ms = sqlite3_column_int64(stmt, 2);
        sale_stored_ms = sqlite3_column_int64(stmt, 4);
        if (dn_db_column_copy(stmt, 1, seller, sizeof seller) ||
            dn_db_column_copy(stmt, 3, currency, sizeof currency))
            step = SQLITE_NOMEM;
    }
    sqlite3_reset(stmt);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        return DN_EDB;
    if (!sale_eid)
        return 0; /* refund rows are written by ingest before this call */
    /* A refund of a sale voided before it was stored counts nowhere: the
       void counted the whole sale as refunded already.  */
    if ((rc = s_voided_before(self, sale_eid, eid)) != 0)
        return rc > 0 ? 0 : rc;
    if ((rc = s_refund_categories(self, eid, sale_eid, ev->refund)) != 0)
        return rc;
    /* the team the sale counted in, as it stood at the sale's time */
    if ((rc = s_upline(self, seller, sale_ms, sale_stored_ms, &n)) != 0 || n == 0)
        return rc;
    dn_time_period_of(ev->recorded_at_ms, period);
    return s_add_team(self, n, period, currency, 0, 0, 1, ev->refund->amount);
}

int dn_rollup_post(dn_rollup_t *self, int64_t eid, const Dealernet__Event *ev,
                   int64_t now_ms)
{
    int rc = 0;
    switch (ev->body_case) {
    case DEALERNET__EVENT__BODY_SALE:
        rc = s_post_sale(self, ev, now_ms);
        break;
    case DEALERNET__EVENT__BODY_REFUND:
        rc = s_post_refund(self, eid, ev);
        break;
    default:
        break; /* sign-ups and updates: the reports read the members table */
    }
    if (rc)
        dn_rollup_forget(self);
    return rc;
}

int dn_rollup_void(dn_rollup_t *self, int64_t sale_eid, int64_t events_through,
                   int64_t void_ms)
{
    char seller[DN_MAX_CODE_LEN + 1] = "", currency[4] = "", period[DN_PERIOD_SIZE];
    int64_t sale_ms = 0, stored_ms = 0, left = 0;
    sqlite3_stmt *stmt;
    size_t n = 0;
    int rc = 0, step;

    if (dn_db_cached(self->cache,
                     "SELECT s.seller, s.recorded_at_ms, s.currency, e.received_ms, "
                     "s.total - (SELECT coalesce(sum(r.amount), 0) FROM refunds r "
                     "  WHERE r.sale_eid = s.eid AND r.eid <= ?) "
                     "FROM sales s JOIN events e ON e.eid = s.eid WHERE s.eid = ?",
                     &stmt)) {
        dn_rollup_forget(self);
        return DN_EDB;
    }
    sqlite3_bind_int64(stmt, 1, events_through);
    sqlite3_bind_int64(stmt, 2, sale_eid);
    if ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        sale_ms = sqlite3_column_int64(stmt, 1);
        stored_ms = sqlite3_column_int64(stmt, 3);
        left = sqlite3_column_int64(stmt, 4);
        if (dn_db_column_copy(stmt, 0, seller, sizeof seller) ||
            dn_db_column_copy(stmt, 2, currency, sizeof currency))
            step = SQLITE_NOMEM;
    }
    sqlite3_reset(stmt);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        rc = DN_EDB;
    /* the team the sale counted in, as it stood at the sale's time; a sale
       refunded in full already has nothing left to count */
    if (rc == 0 && step == SQLITE_ROW && left > 0 &&
        (rc = s_upline(self, seller, sale_ms, stored_ms, &n)) == 0 && n > 0) {
        dn_time_period_of(void_ms, period);
        rc = s_add_team(self, n, period, currency, 0, 0, 1, left);
    }
    if (rc)
        dn_rollup_forget(self);
    return rc;
}

int dn_rollup_rebuild(sqlite3 *db)
{
    dn_rollup_t *self;
    dn_phones_t *phones;
    dn_db_cache_t *loads = NULL; /* dn_facts_load's statement */
    sqlite3_stmt *stmt;
    int rc = 0, run = 0, step = 0, urc;

    if (dn_db_exec(db, "DELETE FROM team_volume; DELETE FROM refund_categories;"))
        return DN_EDB;
    if (!(self = dn_rollup_new(db)))
        return DN_ENOMEM;
    if (!(phones = dn_phones_new(db)) || !(loads = dn_db_cache_new(db))) {
        dn_phones_destroy(&phones);
        dn_rollup_destroy(&self);
        return DN_EDB;
    }
    if (dn_db_prepare(db,
                      "SELECT eid, received_ms FROM events "
                      "WHERE kind IN ('sale', 'refund') ORDER BY eid",
                      &stmt)) {
        dn_phones_destroy(&phones);
        dn_db_cache_destroy(&loads);
        dn_rollup_destroy(&self);
        return DN_EDB;
    }
    while (rc == 0 && (step = dn_db_row(stmt, "rollup: events to replay")) == 1) {
        Dealernet__Event *ev = NULL;
        int held;
        /* As the server believes it (dn_facts); held events are not
           rolled up.  */
        urc = dn_facts_load(loads, phones, sqlite3_column_int64(stmt, 0), &ev, &held);
        if (urc == DN_EPROTO)
            continue; /* verify reports it; ingest never stored such an event */
        if (urc) { /* not a bad event: rollups without it are wrong */
            rc = urc;
            break;
        }
        if (!held)
            rc = dn_rollup_post(self, sqlite3_column_int64(stmt, 0), ev,
                                sqlite3_column_int64(stmt, 1));
        dn_wire_event_free(&ev);
        if (rc == 0 && ++run == DN_ROLLUP_REPLAY_RUN) {
            rc = dn_rollup_flush(self);
            run = 0;
        }
    }
    sqlite3_finalize(stmt);
    stmt = NULL;
    if (rc == 0 && step < 0) /* rollups of some events are wrong */
        rc = DN_EDB;
    /* Then the voids.  Where each falls among the events does not change
       the sums: what it counts is the sale less the refunds stored before
       it (by eid), and the refunds after it were skipped above, by the
       same rule.  */
    if (rc == 0 &&
        dn_db_prepare(db,
                      "SELECT sale_eid, events_through, created_ms FROM corrections "
                      "WHERE kind = 'void' ORDER BY id",
                      &stmt))
        rc = DN_EDB;
    while (rc == 0 && (step = dn_db_row(stmt, "rollup: voids to replay")) == 1)
        rc = dn_rollup_void(self, sqlite3_column_int64(stmt, 0),
                            sqlite3_column_int64(stmt, 1), sqlite3_column_int64(stmt, 2));
    if (rc == 0 && step < 0) /* rollups without some voids are wrong */
        rc = DN_EDB;
    sqlite3_finalize(stmt);
    if (rc == 0)
        rc = dn_rollup_flush(self);
    dn_phones_destroy(&phones);
    dn_db_cache_destroy(&loads);
    dn_rollup_destroy(&self);
    return rc;
}

int dn_rollup_complete(sqlite3 *db)
{
    char flag[8];
    int rc = dn_db_meta_get(db, DN_META_ROLLUP_REBUILD, flag, sizeof flag);
    if (rc == DN_ENOENT)
        return 0;
    if (rc || (rc = dn_db_begin(db)) != 0)
        return DN_EDB;
    rc = dn_rollup_rebuild(db);
    if (rc == 0)
        rc = dn_db_exec(db, "DELETE FROM meta WHERE key = '" DN_META_ROLLUP_REBUILD "'");
    if (rc == 0)
        rc = dn_db_commit(db);
    if (rc)
        dn_db_rollback(db);
    else
        dn_log_info("reports: rolled up the events stored before this version");
    return rc;
}
