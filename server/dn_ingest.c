/*  dn_ingest -- checking and storing a site's batches (see dn_ingest.h).

    Order of checks, cheapest first and each naming what failed: the
    signature over the received chain head; the gap; then per event decode,
    seq, site, and either "matches what is stored" (already applied) or
    "continues the chain" (new); last, the batch's own chain head.  The
    decoded rows are written in the same transaction as the raw event, so
    an acknowledged event is always fully stored.
*/
#include "dn_ingest.h"
#include "dn_central.h"
#include "dn_chain.h"
#include "dn_crypto.h"
#include "dn_db.h"
#include "dn_error.h"
#include "dn_facts.h"
#include "dn_ledger.h"
#include "dn_log.h"
#include "dn_money.h"
#include "dn_phones.h"
#include "dn_rollup.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DN_INGEST_HELD_LOGGED 20 /* held events of a batch named in the log */

struct _dn_ingest_t {
    sqlite3 *db;
    dn_db_cache_t *cache;
    dn_ledger_t *ledger; /* posts each stored sale and refund */
    dn_rollup_t *report; /* rolls up each stored sale and refund */
    dn_facts_t *facts;   /* judges each new event's claims */
    dn_phones_t *phones; /* makes each stored event's phones canonical */
    int in_group;        /* a group transaction is open */
    /* What this batch holds, logged once the batch is accepted (a batch
       refused later stored nothing, held nothing).  */
    struct {
        uint64_t seq;
        char detail[DN_FACTS_DETAIL_SIZE];
    } held[DN_INGEST_HELD_LOGGED];
    size_t n_held, more_held;
    int group_lost;      /* ... but SQLite rolled it back by itself */
};

dn_ingest_t *dn_ingest_new(sqlite3 *db)
{
    dn_ingest_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->db = db;
    self->cache = dn_db_cache_new(db);
    self->ledger = dn_ledger_new(db);
    self->report = dn_rollup_new(db);
    self->facts = dn_facts_new(db);
    self->phones = dn_phones_new(db);
    if (!self->cache || !self->ledger || !self->report || !self->facts || !self->phones)
        dn_ingest_destroy(&self);
    return self;
}

void dn_ingest_destroy(dn_ingest_t **self_p)
{
    if (self_p && *self_p) {
        dn_ledger_destroy(&(*self_p)->ledger);
        dn_rollup_destroy(&(*self_p)->report);
        dn_facts_destroy(&(*self_p)->facts);
        dn_phones_destroy(&(*self_p)->phones);
        dn_db_cache_destroy(&(*self_p)->cache);
        free(*self_p);
        *self_p = NULL;
    }
}

/*  Database failures repeat with every retry of every site: limited.  */
static dn_log_limit_t s_errors = {"ingest errors", 0, 0, 0, NULL};

static int s_refuse(dn_ingest_result_t *r, Dealernet__RefuseCode code, uint64_t expected,
                    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int s_refuse(dn_ingest_result_t *r, Dealernet__RefuseCode code, uint64_t expected,
                    const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    vsnprintf(r->why, sizeof r->why, fmt, args);
    va_end(args);
    r->code = code;
    r->expected_seq = expected;
    r->acked_through = 0;
    return DN_EPROTO;
}

/*  Steps a cached statement to its end and resets it.  */
static int s_write(dn_ingest_t *self, sqlite3_stmt *stmt)
{
    int rc = sqlite3_step(stmt) == SQLITE_DONE ? 0 : DN_EDB;
    if (rc)
        dn_db_note(self->db);
    if (rc)
        dn_log_error_limited(&s_errors, "ingest: %s", sqlite3_errmsg(self->db));
    sqlite3_reset(stmt);
    return rc;
}

/*  The same for a batch's writes, which must stay inside the caller's
    transaction (see dn_db_step_txn).  */
static int s_done(dn_ingest_t *self, sqlite3_stmt *stmt)
{
    int rc = dn_db_step_txn(self->db, stmt);
    sqlite3_reset(stmt);
    return rc;
}

int dn_ingest_state(dn_ingest_t *self, int64_t site_id, dn_ingest_state_t *state)
{
    sqlite3_stmt *stmt;
    int rc = DN_EDB;
    if (dn_db_cached(self->cache,
                     "SELECT s.applied_seq, s.head_hash, coalesce(e.recorded_at_ms, 0), "
                     "coalesce(e.site_clock_ms, e.recorded_at_ms, 0) "
                     "FROM sites s LEFT JOIN events e "
                     "ON e.site_id = s.id AND e.seq = s.applied_seq WHERE s.id = ?",
                     &stmt))
        return DN_EDB;
    sqlite3_bind_int64(stmt, 1, site_id);
    if (sqlite3_step(stmt) == SQLITE_ROW &&
        sqlite3_column_bytes(stmt, 1) == DN_HASH_BYTES) {
        state->applied_seq = (uint64_t)sqlite3_column_int64(stmt, 0);
        memcpy(state->head, sqlite3_column_blob(stmt, 1), DN_HASH_BYTES);
        state->last_at_ms = sqlite3_column_int64(stmt, 2);
        state->last_clock_ms = sqlite3_column_int64(stmt, 3);
        rc = 0;
    }
    sqlite3_reset(stmt);
    return rc;
}

int dn_ingest_hello(dn_ingest_t *self, const dn_registry_site_t *site,
                    const Dealernet__Hello *hello, int64_t now_ms, dn_ingest_state_t *state)
{
    sqlite3_stmt *stmt;
    uint64_t pending = hello->pending;
    int64_t oldest = hello->oldest_pending_ms;
    int rc;

    /* What is pending is what the site recorded and the server does not
       hold: the agent's own count also holds events the server applied but
       whose acks were lost, and would stay on HQ's screen for ever.  The
       oldest of them was recorded no earlier than the last event the server
       holds (a site records in seq order).  */
    if ((rc = dn_ingest_state(self, site->id, state)) != 0)
        return rc;
    if (hello->has_head_seq) {
        pending = hello->head_seq > state->applied_seq ? hello->head_seq - state->applied_seq
                                                       : 0;
        if (pending && state->applied_seq && state->last_clock_ms > oldest)
            oldest = state->last_clock_ms;
    }
    if (dn_db_cached(self->cache,
                     "UPDATE sites SET last_seen_ms = ?, clock_skew_ms = ?, "
                     "reported_pending = ?, oldest_pending_ms = ?, agent_version = ? "
                     "WHERE id = ?",
                     &stmt))
        return DN_EDB;
    sqlite3_bind_int64(stmt, 1, now_ms);
    sqlite3_bind_int64(stmt, 2, now_ms - hello->clock_ms);
    sqlite3_bind_int64(stmt, 3, (sqlite3_int64)pending);
    if (hello->has_oldest_pending_ms && pending > 0)
        sqlite3_bind_int64(stmt, 4, oldest);
    if (hello->agent_version)
        sqlite3_bind_text(stmt, 5, hello->agent_version, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 6, site->id);
    if (s_write(self, stmt))
        return DN_EDB;
    return 0;
}

int dn_ingest_note_gap(dn_ingest_t *self, int64_t site_id, uint64_t expected_seq)
{
    sqlite3_stmt *stmt;
    if (dn_db_cached(self->cache, "UPDATE sites SET gap_expected_seq = ? WHERE id = ?",
                     &stmt))
        return DN_EDB;
    sqlite3_bind_int64(stmt, 1, (sqlite3_int64)expected_seq);
    sqlite3_bind_int64(stmt, 2, site_id);
    return s_write(self, stmt);
}

/*  Copies the stored hash of (site, seq) into hash; DN_ENOENT if absent,
    DN_EDB if the read failed.  */
static int s_stored_hash(dn_ingest_t *self, int64_t site_id, uint64_t seq,
                         uint8_t hash[DN_HASH_BYTES])
{
    sqlite3_stmt *stmt;
    int rc = DN_ENOENT, row;
    if (dn_db_cached(self->cache, "SELECT hash FROM events WHERE site_id = ? AND seq = ?",
                     &stmt))
        return DN_EDB;
    sqlite3_bind_int64(stmt, 1, site_id);
    sqlite3_bind_int64(stmt, 2, (sqlite3_int64)seq);
    row = dn_db_row(stmt, "ingest: a stored event's hash");
    if (row == 1 && sqlite3_column_bytes(stmt, 0) == DN_HASH_BYTES) {
        memcpy(hash, sqlite3_column_blob(stmt, 0), DN_HASH_BYTES);
        rc = 0;
    } else if (row < 0) {
        rc = DN_EDB;
    }
    sqlite3_reset(stmt);
    return rc;
}

int dn_ingest_max_sale(dn_ingest_t *self, int64_t *bound)
{
    return dn_facts_max_sale(self->facts, bound);
}

/* -- decoded rows ---------------------------------------------------------- */

/*  Stores a sale; held: 1 when dn_facts holds it.  */
static int s_store_sale(dn_ingest_t *self, int64_t eid, int64_t site_id,
                        const Dealernet__Event *ev, int held)
{
    const Dealernet__Sale *sale = ev->sale;
    sqlite3_stmt *stmt;
    if (dn_db_cached(self->cache,
                     "INSERT INTO sales(eid, site_id, recorded_at_ms, total, currency, "
                     "channel, seller, member_phone, held, receipt, payment) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     &stmt))
        return DN_EDB;
    sqlite3_bind_int64(stmt, 1, eid);
    sqlite3_bind_int64(stmt, 2, site_id);
    sqlite3_bind_int64(stmt, 3, ev->recorded_at_ms);
    sqlite3_bind_int64(stmt, 4, sale->total);
    sqlite3_bind_text(stmt, 5, sale->currency, -1, SQLITE_STATIC);
    sqlite3_bind_int(stmt, 6, sale->channel);
    sqlite3_bind_text(stmt, 7, sale->seller, -1, SQLITE_STATIC);
    if (sale->member_phone)
        sqlite3_bind_text(stmt, 8, sale->member_phone, -1, SQLITE_STATIC);
    sqlite3_bind_int(stmt, 9, held);
    /* absent (an older agent): NULL; dn_wire bounded both */
    if (sale->has_receipt)
        sqlite3_bind_int64(stmt, 10, (sqlite3_int64)sale->receipt);
    if (sale->has_payment)
        sqlite3_bind_int(stmt, 11, sale->payment);
    if (s_done(self, stmt))
        return DN_EDB;
    for (size_t i = 0; i < sale->n_lines; i++) {
        const Dealernet__SaleLine *line = sale->lines[i];
        if (dn_db_cached(self->cache,
                         "INSERT INTO sale_lines(sale_eid, line_no, sku, quantity, "
                         "unit_price, category) VALUES (?, ?, ?, ?, ?, ?)",
                         &stmt))
            return DN_EDB;
        sqlite3_bind_int64(stmt, 1, eid);
        sqlite3_bind_int64(stmt, 2, (sqlite3_int64)i + 1);
        sqlite3_bind_text(stmt, 3, line->sku, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 4, line->quantity);
        sqlite3_bind_int64(stmt, 5, line->unit_price);
        if (line->category)
            sqlite3_bind_text(stmt, 6, line->category, -1, SQLITE_STATIC);
        if (s_done(self, stmt))
            return DN_EDB;
    }
    return 0;
}

/*  Adds to *value what a refund line is worth: its quantity at the unit
    price of its SKU's line on the sale sale_eid (which exists: the
    caller just refunded it).  0, DN_EOVERFLOW, DN_EDB.  */
static int s_add_line_value(dn_ingest_t *self, int64_t sale_eid,
                            const Dealernet__RefundLine *line, int64_t *value)
{
    sqlite3_stmt *stmt;
    int64_t price = 0, worth;
    int step;
    if (dn_db_cached(self->cache,
                     "SELECT unit_price FROM sale_lines WHERE sale_eid = ? AND sku = ?",
                     &stmt))
        return DN_EDB;
    sqlite3_bind_int64(stmt, 1, sale_eid);
    sqlite3_bind_text(stmt, 2, line->sku, -1, SQLITE_STATIC);
    step = sqlite3_step(stmt);
    if (step == SQLITE_ROW)
        price = sqlite3_column_int64(stmt, 0);
    else
        dn_log_error_limited(&s_errors, "ingest: %s", sqlite3_errmsg(self->db));
    sqlite3_reset(stmt);
    if (step != SQLITE_ROW)
        return DN_EDB; /* the line was just updated: a read that fails is ours */
    if (dn_money_mul(price, line->quantity, &worth) || dn_money_add(*value, worth, value))
        return DN_EOVERFLOW;
    return 0;
}

/*  A refund must name a sale of the same site that still has that much to
    refund, in the sale's currency, and a refund of lines must be worth
    exactly their quantities at the sale's unit prices: every agent since
    the first checked or computed the same before recording (its currency
    is fixed at init), so anything else is a forged or corrupt event, and
    refused as malformed.  */
static int s_store_refund(dn_ingest_t *self, int64_t eid, int64_t site_id,
                          const Dealernet__Event *ev, dn_ingest_result_t *r)
{
    const Dealernet__Refund *refund = ev->refund;
    sqlite3_stmt *stmt;
    int64_t sale_eid = 0, total = 0, refunded = 0, lines_value = 0;
    char currency[4] = "";
    int found = 0, step;

    if (dn_db_cached(self->cache,
                     "SELECT s.eid, s.total, s.refunded, s.currency FROM events e "
                     "JOIN sales s ON s.eid = e.eid WHERE e.id = ? AND e.site_id = ?",
                     &stmt))
        return DN_EDB;
    sqlite3_bind_blob(stmt, 1, refund->sale_id.data, (int)refund->sale_id.len,
                      SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, site_id);
    step = sqlite3_step(stmt);
    if (step == SQLITE_ROW) {
        sale_eid = sqlite3_column_int64(stmt, 0);
        total = sqlite3_column_int64(stmt, 1);
        refunded = sqlite3_column_int64(stmt, 2);
        found = dn_db_column_copy(stmt, 3, currency, sizeof currency) == 0;
        if (!found)
            step = SQLITE_ERROR; /* a stored currency is 3 letters: damaged */
    } else if (step != SQLITE_DONE) {
        dn_log_error_limited(&s_errors, "ingest: %s", sqlite3_errmsg(self->db));
    }
    sqlite3_reset(stmt);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        return DN_EDB; /* the lookup failed: not the site's fault */
    if (!found)
        return s_refuse(r, DEALERNET__REFUSE_CODE__REFUSE_MALFORMED, 0,
                        "event seq %llu refunds a sale this site never sent",
                        (unsigned long long)ev->seq);
    if (strcmp(refund->currency, currency) != 0)
        return s_refuse(r, DEALERNET__REFUSE_CODE__REFUSE_MALFORMED, 0,
                        "event seq %llu refunds in %s a sale in %s",
                        (unsigned long long)ev->seq, refund->currency, currency);
    if (refund->amount > total - refunded)
        return s_refuse(r, DEALERNET__REFUSE_CODE__REFUSE_MALFORMED, 0,
                        "event seq %llu refunds more than is left on its sale",
                        (unsigned long long)ev->seq);
    for (size_t i = 0; i < refund->n_lines; i++) {
        if (dn_db_cached(self->cache,
                         "UPDATE sale_lines SET refunded_qty = refunded_qty + ? "
                         "WHERE sale_eid = ? AND sku = ? AND refunded_qty + ? <= quantity",
                         &stmt))
            return DN_EDB;
        sqlite3_bind_int64(stmt, 1, refund->lines[i]->quantity);
        sqlite3_bind_int64(stmt, 2, sale_eid);
        sqlite3_bind_text(stmt, 3, refund->lines[i]->sku, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 4, refund->lines[i]->quantity);
        if (s_done(self, stmt))
            return DN_EDB;
        if (sqlite3_changes(self->db) != 1)
            return s_refuse(r, DEALERNET__REFUSE_CODE__REFUSE_MALFORMED, 0,
                            "event seq %llu refunds SKU %s beyond its sale",
                            (unsigned long long)ev->seq, refund->lines[i]->sku);
        if ((step = s_add_line_value(self, sale_eid, refund->lines[i], &lines_value)) !=
            0)
            return step == DN_EOVERFLOW
                       ? s_refuse(r, DEALERNET__REFUSE_CODE__REFUSE_MALFORMED, 0,
                                  "event seq %llu: its lines' value is out of range",
                                  (unsigned long long)ev->seq)
                       : step;
    }
    if (refund->n_lines && refund->amount != lines_value)
        return s_refuse(r, DEALERNET__REFUSE_CODE__REFUSE_MALFORMED, 0,
                        "event seq %llu refunds %lld but its lines are worth %lld "
                        "(minor units at the sale's prices)",
                        (unsigned long long)ev->seq, (long long)refund->amount,
                        (long long)lines_value);
    if (dn_db_cached(self->cache, "UPDATE sales SET refunded = refunded + ? WHERE eid = ?",
                     &stmt))
        return DN_EDB;
    sqlite3_bind_int64(stmt, 1, refund->amount);
    sqlite3_bind_int64(stmt, 2, sale_eid);
    if (s_done(self, stmt))
        return DN_EDB;
    if (dn_db_cached(self->cache, "INSERT INTO refunds(eid, sale_eid, amount) VALUES (?, ?, ?)",
                     &stmt))
        return DN_EDB;
    sqlite3_bind_int64(stmt, 1, eid);
    sqlite3_bind_int64(stmt, 2, sale_eid);
    sqlite3_bind_int64(stmt, 3, refund->amount);
    return s_done(self, stmt);
}

/*  One member per canonical phone: the first sign-up to arrive wins, with
    its referrer; a later one elsewhere is kept as a conflict for HQ.  */
static int s_store_signup(dn_ingest_t *self, int64_t eid, int64_t site_id,
                          const Dealernet__Event *ev)
{
    const Dealernet__MemberSignup *m = ev->member_signup;
    sqlite3_stmt *stmt;
    int64_t existing = 0;
    int step;

    if (dn_db_cached(self->cache, "SELECT id FROM members WHERE phone = ?", &stmt))
        return DN_EDB;
    sqlite3_bind_text(stmt, 1, m->phone, -1, SQLITE_STATIC);
    step = sqlite3_step(stmt);
    if (step == SQLITE_ROW)
        existing = sqlite3_column_int64(stmt, 0);
    else if (step != SQLITE_DONE)
        dn_log_error_limited(&s_errors, "ingest: %s", sqlite3_errmsg(self->db));
    sqlite3_reset(stmt);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        return DN_EDB;

    if (existing) {
        if (dn_db_cached(self->cache,
                         "INSERT INTO member_conflicts(eid, member, member_id, site_id, "
                         "referrer, recorded_at_ms, phone) VALUES (?, ?, ?, ?, ?, ?, ?)",
                         &stmt))
            return DN_EDB;
        sqlite3_bind_int64(stmt, 1, eid);
        sqlite3_bind_int64(stmt, 2, existing);
        sqlite3_bind_blob(stmt, 3, m->member_id.data, (int)m->member_id.len, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 4, site_id);
        if (m->referrer_phone || m->referrer_partner)
            sqlite3_bind_text(stmt, 5, m->referrer_phone ? m->referrer_phone
                                                         : m->referrer_partner,
                              -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 6, ev->recorded_at_ms);
        sqlite3_bind_text(stmt, 7, m->phone, -1, SQLITE_STATIC);
        return s_done(self, stmt);
    }
    if (dn_db_cached(self->cache,
                     "INSERT INTO members(phone, member_id, site_id, signup_eid, name, "
                     "referrer_phone, referrer_partner, household, signed_up_ms) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     &stmt))
        return DN_EDB;
    sqlite3_bind_text(stmt, 1, m->phone, -1, SQLITE_STATIC);
    sqlite3_bind_blob(stmt, 2, m->member_id.data, (int)m->member_id.len, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 3, site_id);
    sqlite3_bind_int64(stmt, 4, eid);
    if (m->name)
        sqlite3_bind_text(stmt, 5, m->name, -1, SQLITE_STATIC);
    if (m->referrer_phone)
        sqlite3_bind_text(stmt, 6, m->referrer_phone, -1, SQLITE_STATIC);
    if (m->referrer_partner)
        sqlite3_bind_text(stmt, 7, m->referrer_partner, -1, SQLITE_STATIC);
    if (m->has_household)
        sqlite3_bind_int(stmt, 8, (int)m->household);
    sqlite3_bind_int64(stmt, 9, ev->recorded_at_ms);
    return s_done(self, stmt);
}

/*  An update changes the member row only if it is that member's own
    sign-up (not a conflicting duplicate's).  */
static int s_store_update(dn_ingest_t *self, const Dealernet__Event *ev)
{
    const Dealernet__MemberUpdate *m = ev->member_update;
    sqlite3_stmt *stmt;
    if (dn_db_cached(self->cache,
                     "UPDATE members SET name = coalesce(?, name), "
                     "household = coalesce(?, household) WHERE phone = ? AND member_id = ?",
                     &stmt))
        return DN_EDB;
    if (m->name)
        sqlite3_bind_text(stmt, 1, m->name, -1, SQLITE_STATIC);
    if (m->has_household)
        sqlite3_bind_int(stmt, 2, (int)m->household);
    sqlite3_bind_text(stmt, 3, m->phone, -1, SQLITE_STATIC);
    sqlite3_bind_blob(stmt, 4, m->member_id.data, (int)m->member_id.len, SQLITE_STATIC);
    return s_done(self, stmt);
}

/*  Posts event eid into the ledger and the rollups, in the same
    transaction that stored it (an acked event is fully posted) or that
    released it.  */
static int s_post(dn_ingest_t *self, int64_t eid, const Dealernet__Event *ev, int64_t now_ms)
{
    int rc = dn_ledger_post(self->ledger, eid, ev, now_ms);
    return rc ? rc : dn_rollup_post(self->report, eid, ev, now_ms);
}

/*  Notes a held event of this batch for the log (s_log_held).  */
static void s_note_held(dn_ingest_t *self, const Dealernet__Event *ev,
                        const dn_facts_verdict_t *v)
{
    for (size_t i = 0; i < v->n_notes; i++) {
        if (!dn_facts_kind_held(v->notes[i].kind))
            continue;
        if (self->n_held == DN_INGEST_HELD_LOGGED) {
            self->more_held++;
            return;
        }
        self->held[self->n_held].seq = ev->seq;
        snprintf(self->held[self->n_held].detail, DN_FACTS_DETAIL_SIZE, "%s",
                 v->notes[i].detail);
        self->n_held++;
        return;
    }
}

/*  One warning line per held event of an accepted batch (a limited number
    a minute: an enrolled site could send many).  */
static void s_log_held(dn_ingest_t *self, const dn_registry_site_t *site)
{
    static dn_log_limit_t limited = {"held events", 0, 0, 0, NULL};
    for (size_t i = 0; i < self->n_held; i++)
        dn_log_warn_limited(&limited, "ingest: site %s seq %llu: %s", site->code,
                            (unsigned long long)self->held[i].seq, self->held[i].detail);
    if (self->more_held)
        dn_log_warn_limited(&limited, "ingest: site %s: %zu more held events in this batch "
                                      "(see dealernet-hq exceptions)",
                            site->code, self->more_held);
}

/*  Stores one new event as the server believes it (dn_facts): the raw row
    with the received bytes, then its decoded rows, its exceptions, and,
    unless it is held, its postings.  ev is amended in place.  */
static int s_store(dn_ingest_t *self, const dn_registry_site_t *site,
                   Dealernet__Event *ev, const ProtobufCBinaryData *body,
                   const uint8_t hash[DN_HASH_BYTES],
                   const ProtobufCBinaryData *signature, const dn_ingest_state_t *state,
                   int64_t now_ms, dn_ingest_result_t *r)
{
    dn_facts_verdict_t verdict;
    sqlite3_stmt *stmt;
    int64_t eid;
    int step;

    /* The judgement, the rows, the postings and the conflicts see canonical
       phones; the bytes stored below stay as the site signed them.  A new
       event comes after every one stored before phones were canonical.  */
    if ((step = dn_phones_event(self->phones, INT64_MAX, ev)) != 0 ||
        (step = dn_facts_judge(self->facts, site, ev, state->last_at_ms, state->last_clock_ms,
                               now_ms, &verdict)) != 0 ||
        (step = dn_facts_amend(&verdict, ev)) != 0)
        return step;
    if (dn_db_cached(self->cache,
                     "INSERT INTO events(id, site_id, seq, kind, recorded_at_ms, "
                     "received_ms, body, hash, signature, site_clock_ms) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     &stmt))
        return DN_EDB;
    sqlite3_bind_blob(stmt, 1, ev->id.data, (int)ev->id.len, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, site->id);
    sqlite3_bind_int64(stmt, 3, (sqlite3_int64)ev->seq);
    sqlite3_bind_text(stmt, 4, dn_wire_event_kind(ev), -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 5, ev->recorded_at_ms);
    sqlite3_bind_int64(stmt, 6, now_ms);
    sqlite3_bind_blob(stmt, 7, body->data, (int)body->len, SQLITE_STATIC);
    sqlite3_bind_blob(stmt, 8, hash, DN_HASH_BYTES, SQLITE_STATIC);
    if (signature)
        sqlite3_bind_blob(stmt, 9, signature->data, (int)signature->len, SQLITE_STATIC);
    if (verdict.site_clock_ms != verdict.at_ms)
        sqlite3_bind_int64(stmt, 10, verdict.site_clock_ms);
    step = sqlite3_get_autocommit(self->db) ? SQLITE_ABORT : sqlite3_step(stmt);
    sqlite3_reset(stmt);
    if ((step & 0xFF) == SQLITE_CONSTRAINT)
        return s_refuse(r, DEALERNET__REFUSE_CODE__REFUSE_MALFORMED, 0,
                        "event seq %llu reuses an event id already stored",
                        (unsigned long long)ev->seq);
    if (step != SQLITE_DONE) {
        dn_log_error_limited(&s_errors, "ingest: %s", sqlite3_errmsg(self->db));
        return DN_EDB;
    }
    eid = sqlite3_last_insert_rowid(self->db);
    switch (ev->body_case) {
    case DEALERNET__EVENT__BODY_SALE:
        step = s_store_sale(self, eid, site->id, ev, verdict.held);
        break;
    case DEALERNET__EVENT__BODY_REFUND:
        step = s_store_refund(self, eid, site->id, ev, r);
        break;
    case DEALERNET__EVENT__BODY_MEMBER_SIGNUP:
        step = s_store_signup(self, eid, site->id, ev);
        break;
    case DEALERNET__EVENT__BODY_MEMBER_UPDATE:
        step = s_store_update(self, ev);
        break;
    default:
        step = DN_EPROTO; /* dn_wire_event_check guarantees a body */
    }
    if (step == 0)
        step = dn_facts_record(self->facts, site->id, eid, &verdict, now_ms);
    if (step || verdict.held) {
        if (step == 0)
            s_note_held(self, ev, &verdict);
        return step; /* HOLD: stored, never dropped, posted when HQ says so */
    }
    step = s_post(self, eid, ev, now_ms);
    if (step == DN_ELIMIT) { /* HOLD: the ledger posted nothing of it */
        step = dn_facts_hold_sum_limit(self->facts, site->id, eid, ev, now_ms, &verdict);
        if (step == 0)
            s_note_held(self, ev, &verdict);
    }
    return step;
}

int dn_ingest_post_stored(dn_ingest_t *self, int64_t eid, int64_t now_ms)
{
    Dealernet__Event *ev = NULL;
    int held, rc = dn_facts_load(self->cache, self->phones, eid, &ev, &held);
    if (rc)
        return rc == DN_EPROTO ? DN_EDB : rc; /* it decoded when stored */
    rc = s_post(self, eid, ev, now_ms);
    dn_wire_event_free(&ev);
    if (rc == 0)
        rc = dn_ledger_flush(self->ledger);
    if (rc == 0)
        rc = dn_rollup_flush(self->report);
    return rc;
}

static int s_batch(dn_ingest_t *self, const dn_registry_site_t *site,
                   const Dealernet__PushBatch *batch, int64_t now_ms, dn_ingest_result_t *r)
{
    uint8_t hash[DN_HASH_BYTES], stored[DN_HASH_BYTES];
    dn_ingest_state_t state;
    uint64_t first = batch->first_seq;
    uint64_t last = first + batch->n_events - 1;
    int rc, link;

    memset(r, 0, sizeof *r);
    self->n_held = self->more_held = 0;
    if ((rc = dn_ingest_state(self, site->id, &state)) != 0)
        return rc;
    rc = site->enrolled ? dn_chain_verify(site->sign_key, site->code, last,
                                          batch->chain_head.data, batch->signature.data)
                        : DN_ESIG;
    if (rc == DN_ESIG)
        return s_refuse(r, DEALERNET__REFUSE_CODE__REFUSE_BAD_SIGNATURE, 0,
                        "batch signature does not verify with the site's enrolled key");
    if (rc) /* the library failed (out of memory): not the site's fault */
        return rc;
    if (first > state.applied_seq + 1)
        return s_refuse(r, DEALERNET__REFUSE_CODE__REFUSE_GAP, state.applied_seq + 1,
                        "batch starts at seq %llu but the next expected is %llu",
                        (unsigned long long)first,
                        (unsigned long long)state.applied_seq + 1);

    for (size_t i = 0; i < batch->n_events; i++) {
        const ProtobufCBinaryData *body = &batch->events[i];
        uint64_t seq = first + i;
        Dealernet__Event *ev = NULL;
        char why[DN_WHY_SIZE];

        rc = dn_wire_event_unpack(body->data, body->len, &ev, why, sizeof why);
        /* A new event must also be one an agent could have recorded (an
           event already stored was checked when it came, by the rules of
           then, and is compared by its hash below).  */
        if (rc == 0 && seq > state.applied_seq &&
            dn_wire_event_check_new(ev, why, sizeof why) != 0) {
            dn_wire_event_free(&ev);
            rc = DN_EPROTO;
        }
        if (rc != 0)
            return rc == DN_ENOMEM
                       ? rc
                       : s_refuse(r,
                                  rc == DN_ETOOBIG
                                      ? DEALERNET__REFUSE_CODE__REFUSE_TOO_BIG
                                      : DEALERNET__REFUSE_CODE__REFUSE_MALFORMED,
                                  0, "event seq %llu: %s", (unsigned long long)seq, why);
        if (ev->seq != seq)
            rc = s_refuse(r, DEALERNET__REFUSE_CODE__REFUSE_MALFORMED, 0,
                          "event %zu of the batch carries seq %llu, expected %llu", i + 1,
                          (unsigned long long)ev->seq, (unsigned long long)seq);
        else if (strcmp(ev->site, site->code) != 0)
            rc = s_refuse(r, DEALERNET__REFUSE_CODE__REFUSE_WRONG_SITE, 0,
                          "event seq %llu names site %s, but this connection is site %s",
                          (unsigned long long)seq, ev->site, site->code);
        else if ((link = dn_chain_step(state.head, ev, body->data, body->len, hash)) ==
                 DN_ECRYPTO)
            rc = DN_EDB;
        else if (seq <= state.applied_seq) {
            /* Already applied: must be the very same bytes.  */
            rc = s_stored_hash(self, site->id, seq, stored);
            if (rc == 0 && memcmp(stored, hash, DN_HASH_BYTES) != 0) {
                dn_log_error("TAMPER ALARM: site %s resent seq %llu with different bytes",
                             site->code, (unsigned long long)seq);
                rc = s_refuse(r, DEALERNET__REFUSE_CODE__REFUSE_TAMPER, 0,
                              "event seq %llu differs from the one already stored",
                              (unsigned long long)seq);
            } else if (rc) {
                rc = DN_EDB;
            }
            r->skipped += rc == 0;
        } else if (link == DN_ECHAIN) {
            rc = s_refuse(r, DEALERNET__REFUSE_CODE__REFUSE_CHAIN, state.applied_seq + 1,
                          "event seq %llu does not continue the site's chain",
                          (unsigned long long)seq);
        } else {
            int64_t clock_ms = ev->recorded_at_ms; /* before dn_facts amends it */
            rc = s_store(self, site, ev, body, hash, seq == last ? &batch->signature : NULL,
                         &state, now_ms, r);
            if (rc == 0) {
                state.applied_seq = seq;
                state.last_at_ms = ev->recorded_at_ms; /* as amended */
                state.last_clock_ms = clock_ms;
                memcpy(state.head, hash, DN_HASH_BYTES);
                r->applied++;
            }
        }
        dn_wire_event_free(&ev);
        if (rc)
            return rc;
    }
    if (memcmp(hash, batch->chain_head.data, DN_HASH_BYTES) != 0)
        return s_refuse(r, DEALERNET__REFUSE_CODE__REFUSE_CHAIN, 0,
                        "batch chain head is not the hash of its last event");
    if ((rc = dn_ledger_flush(self->ledger)) != 0 ||
        (rc = dn_rollup_flush(self->report)) != 0)
        return rc;
    if (r->applied) {
        sqlite3_stmt *stmt;
        if (dn_db_cached(self->cache,
                         "UPDATE sites SET applied_seq = ?1, head_hash = ?2, "
                         "gap_expected_seq = NULL, last_seen_ms = ?3, "
                         "reported_pending = max(reported_pending - ?4, 0), "
                         "oldest_pending_ms = CASE WHEN reported_pending - ?4 > 0 "
                         "  THEN max(oldest_pending_ms, ?5) END "
                         "WHERE id = ?6",
                         &stmt))
            return DN_EDB;
        /* The Hello set reported_pending to the site's head less the
           applied seq (dn_ingest_hello), so less what applies now it stays
           exactly that: 0 once the head is here, and then no oldest
           pending event either, so no lag.  While some remain, the oldest
           was recorded no earlier than the last event applied.  */
        sqlite3_bind_int64(stmt, 1, (sqlite3_int64)state.applied_seq);
        sqlite3_bind_blob(stmt, 2, state.head, DN_HASH_BYTES, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 3, now_ms);
        sqlite3_bind_int(stmt, 4, r->applied);
        sqlite3_bind_int64(stmt, 5, state.last_clock_ms);
        sqlite3_bind_int64(stmt, 6, site->id);
        if (s_done(self, stmt))
            return DN_EDB;
    }
    r->acked_through = state.applied_seq;
    s_log_held(self, site);
    return 0;
}

int dn_ingest_batch(dn_ingest_t *self, const dn_registry_site_t *site,
                    const Dealernet__PushBatch *batch, int64_t now_ms,
                    dn_ingest_result_t *result)
{
    int rc = s_batch(self, site, batch, now_ms, result);
    if (rc) /* the caller rolls back what the ledger may have cached */
        dn_ingest_forget(self);
    return rc;
}

void dn_ingest_forget(dn_ingest_t *self)
{
    dn_ledger_forget(self->ledger);
    dn_rollup_forget(self->report);
    dn_facts_forget(self->facts);
}

/* -- group commit ------------------------------------------------------------ */

int dn_ingest_group_begin(dn_ingest_t *self)
{
    if (self->in_group) {
        if (!self->group_lost && sqlite3_get_autocommit(self->db)) {
            dn_log_error("ingest: SQLite rolled the group transaction back by itself; "
                         "its batches will be refused for a retry");
            self->group_lost = 1;
        }
        return self->group_lost ? DN_EDB : 0;
    }
    if (dn_db_begin(self->db))
        return DN_EDB;
    self->in_group = 1;
    self->group_lost = 0;
    return 0;
}

int dn_ingest_push(dn_ingest_t *self, const dn_registry_site_t *site,
                   const Dealernet__PushBatch *batch, int64_t now_ms,
                   dn_ingest_result_t *result)
{
    int rc;
    memset(result, 0, sizeof *result);
    if (dn_ingest_group_begin(self) || dn_db_exec(self->db, "SAVEPOINT batch"))
        return DN_EDB;
    rc = dn_ingest_batch(self, site, batch, now_ms, result);
    if (rc == 0 && dn_db_exec(self->db, "RELEASE batch") == 0)
        return 0;
    if (rc == 0) { /* what the batch wrote must not stay in the group */
        rc = DN_EDB;
        dn_ingest_forget(self);
    }
    if (!sqlite3_get_autocommit(self->db)) {
        /* RELEASE after a failed ROLLBACK TO would keep the batch's writes
           in the group: then the whole group goes */
        if (dn_db_exec(self->db, "ROLLBACK TO batch") != 0) {
            dn_db_rollback(self->db);
            self->group_lost = 1;
        } else {
            dn_db_exec(self->db, "RELEASE batch");
        }
    }
    if (self->in_group && sqlite3_get_autocommit(self->db))
        self->group_lost = 1;
    return rc;
}

int dn_ingest_group_end(dn_ingest_t *self, int commit)
{
    int failed;
    if (!self->in_group)
        return 0;
    failed = !commit || self->group_lost || sqlite3_get_autocommit(self->db) ||
             dn_db_commit(self->db) != 0;
    if (failed) {
        if (!sqlite3_get_autocommit(self->db))
            dn_db_rollback(self->db);
        dn_ingest_forget(self);
    }
    self->in_group = 0;
    self->group_lost = 0;
    return failed ? DN_EDB : 0;
}

int dn_ingest_group_open(const dn_ingest_t *self)
{
    return self->in_group;
}
