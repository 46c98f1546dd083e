/*  test_earnings -- the earnings and members streams (issue 14, part C),
    producer (server/dn_earnings.c) and applier (agent/dn_earnings.c),
    worked by hand.

    The producers are pulled through the downstream framework
    (dn_down_pull: its chunk, budget, cache and signature), on a central.db
    built with the test kit through the server's real ingest path; a small
    budget is the reply's, what the test kit's notes stream
    (dn_td_pull_stream) leaves of it.  The items they produce are then
    applied to an agent.db by the appliers, and read back as `earnings` and
    `member show` read them.

    The tree: HQ (hq) > R1 (region) > D1, D2 (dealers).  Plan (CNY,
    effective 2026-01-01): cap 1500; levels 0=1000 1=500; referral bonus
    5.00, purchase 100 bps for 365 days; no override.

    Sites: SHOP-1 of D1, SHOP-2 of D2.  Times are UTC, 2026-11 (the open
    period: every "now" below is in November).

      at SHOP-1, synced 11-02 11:00:
        A (+8613800000001, "Wang") signs up, referred by partner D1
        B (+8613800000002, "Li") signs up, referred by member A
      at SHOP-1, synced 11-03 11:00 (the sign-ups reached the server
      first, so both referrals bind):
        S1  D1 sells 1 x 100.00 to A: D1 10% = 10.00, R1 5% = 5.00;
            D1 (A's referrer) 5.00 bonus + 1% = 1.00: referral 6.00
        S2  D1 sells 1 x 200.00 to B: D1 20.00, R1 10.00;
            A 5.00 bonus + 2.00 = 7.00
        R1  refund 50.00 of S2 (a quarter): clawbacks D1 20.00/4 = 5.00,
            R1 10.00/4 = 2.50, A 2.00/4 = 0.50 (the bonus stays)
      payout of 10.00 to D1 on 11-05 09:00, ref BANK-1.

    D1 in 2026-11: opening 0.00; commission 10.00 + 20.00 = 30.00;
    referral 6.00; clawback 5.00; payouts 10.00; balance 30.00 + 6.00 -
    5.00 - 10.00 = 21.00.  A's credit 7.00 - 0.50 = 6.50; B's 0.00.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "../../server/dn_earnings.h"
#include "dn_central.h"
#include "dn_earnings.h" /* the agent's: -Iagent comes first */
#include "dn_error.h"
#include "dn_ingest.h"
#include "dn_ledger.h"
#include "dn_plan.h"
#include "dn_registry.h"
#include "dn_store.h"
#include "dn_test_site.h"
#include "dn_testdown.h"
#include "dn_time.h"
#include "dn_wire.h"

#define PHONE_A "+8613800000001"
#define PHONE_B "+8613800000002"

#define SEQ_BITS DN_EARNINGS_SEQ_BITS

static const char s_plan[] = "[plan]\n"
                             "effective = 2026-01-01\n"
                             "currency = CNY\n"
                             "cap_bps = 1500\n"
                             "\n"
                             "[levels]\n"
                             "0 = 1000\n"
                             "1 = 500\n"
                             "\n"
                             "[referral]\n"
                             "first_purchase_bonus = 5.00\n"
                             "purchase_bps = 100\n"
                             "purchase_days = 365\n"
                             "recruit_override_bps = 0\n"
                             "recruit_override_days = 0\n";

/* -- what the framework sends ------------------------------------------------------ */

/*  One pull's reply and the stream's Down in it.  */
typedef struct {
    Dealernet__SyncMessage *msg;
    const Dealernet__Down *down;
    size_t n; /* its items */
} s_chunk_t;

static void s_chunk_free(s_chunk_t *chunk)
{
    dn_wire_sync_free(&chunk->msg);
    chunk->down = NULL;
    chunk->n = 0;
}

/*  Item i of chunk, unpacked (caller frees with dealernet__down_item__free_unpacked).  */
static Dealernet__DownItem *s_item(const s_chunk_t *chunk, size_t i)
{
    Dealernet__DownItem *item = dealernet__down_item__unpack(
        NULL, chunk->down->items[i].len, chunk->down->items[i].data);
    assert_non_null(item);
    return item;
}

/* -- the fixture ------------------------------------------------------------------ */

typedef struct {
    char dir[64];
    sqlite3 *db;
    dn_ingest_t *ingest;
    dn_tk_site_t *shop1, *shop2;
    uint8_t s2[DN_ID_BYTES];
    char agent_dir[64];
    dn_store_t *store;
    dn_key_t *key; /* the down key */
    dn_down_t *down;
} fixture_t;

static int64_t s_at(const char *date, int hour)
{
    int64_t ms = 0;
    assert_int_equal(dn_time_parse_date(date, &ms), 0);
    return ms + (int64_t)hour * 3600 * 1000;
}

static void s_partner(sqlite3 *db, const char *code, const char *kind, const char *parent,
                      int64_t now)
{
    char why[256] = "";
    int rc = dn_registry_partner_add(db, code, code, kind, parent, now, why, sizeof why);
    if (rc)
        print_error("partner add %s: %s\n", code, why);
    assert_int_equal(rc, 0);
}

static void s_sync(fixture_t *fx, dn_tk_site_t *s, int64_t now)
{
    dn_tk_batch_t batch;
    dn_ingest_result_t r;
    int rc;
    assert_int_equal(dn_tk_batch(s, &batch), 0);
    rc = dn_tk_ingest(fx->db, fx->ingest, &s->reg, &batch, now, &r);
    if (rc)
        print_error("batch of %s refused: %s\n", s->code, r.why);
    assert_int_equal(rc, 0);
    assert_int_equal(r.applied, (int)batch.n);
    dn_tk_batch_free(&batch);
}

static void s_sale(dn_tk_site_t *s, int64_t at, const char *seller, const char *phone,
                   int64_t price, uint8_t *id)
{
    dn_tk_event_t e;
    dn_tk_line_t line = {"RICE-5KG", 1, price, NULL};
    assert_int_equal(dn_tk_sale(&e, seller, DEALERNET__CHANNEL__CHANNEL_STORE, phone, &line, 1),
                     0);
    dn_test_site_record(s, &e.ev, at, id);
}

static void s_refund(dn_tk_site_t *s, int64_t at, const uint8_t *sale, int64_t amount)
{
    dn_tk_event_t e;
    dn_tk_refund(&e, sale, amount, NULL, 0);
    dn_test_site_record(s, &e.ev, at, NULL);
}

static void s_signup(dn_tk_site_t *s, int64_t at, const char *phone, const char *name,
                     const char *ref_phone, const char *ref_partner)
{
    dn_tk_event_t e;
    assert_int_equal(dn_tk_signup(&e, at, phone, name, ref_phone, ref_partner), 0);
    dn_test_site_record(s, &e.ev, at, NULL);
}

static int s_setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    int64_t setup = s_at("2025-12-15", 9);
    char why[256] = "";
    uint8_t s1[DN_ID_BYTES];
    dn_plan_t plan;
    json_t *out = NULL;
    int rc;

    assert_non_null(fx);
    *state = fx;
    snprintf(fx->dir, sizeof fx->dir, "/tmp/test_earnings.XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    assert_int_equal(dn_central_open(fx->dir, DN_DB_CREATE, &fx->db), 0);
    assert_non_null(fx->ingest = dn_ingest_new(fx->db));
    s_partner(fx->db, "HQ", "hq", NULL, setup);
    s_partner(fx->db, "R1", "region", "HQ", setup);
    s_partner(fx->db, "D1", "dealer", "R1", setup);
    s_partner(fx->db, "D2", "dealer", "R1", setup);
    assert_int_equal(dn_plan_set(fx->db, s_plan, setup, &plan, why, sizeof why), 0);
    fx->shop1 = dn_test_site_enroll(fx->db, "SHOP-1", "D1", 0x10, setup);
    fx->shop2 = dn_test_site_enroll(fx->db, "SHOP-2", "D2", 0x40, setup);

    s_signup(fx->shop1, s_at("2026-11-02", 10), PHONE_A, "Wang", NULL, "D1");
    s_signup(fx->shop1, s_at("2026-11-02", 10) + 60000, PHONE_B, "Li", PHONE_A, NULL);
    s_sync(fx, fx->shop1, s_at("2026-11-02", 11));
    s_sale(fx->shop1, s_at("2026-11-03", 9), "D1", PHONE_A, 10000, s1);
    s_sale(fx->shop1, s_at("2026-11-03", 10), "D1", PHONE_B, 20000, fx->s2);
    s_refund(fx->shop1, s_at("2026-11-03", 10) + 60000, fx->s2, 5000);
    s_sync(fx, fx->shop1, s_at("2026-11-03", 11));
    rc = dn_ledger_payout(fx->db, "D1", 1000, "BANK-1", "admin", s_at("2026-11-05", 9), &out,
                          why, sizeof why);
    if (rc)
        print_error("payout: %s\n", why);
    assert_int_equal(rc, 0);
    json_decref(out);

    snprintf(fx->agent_dir, sizeof fx->agent_dir, "/tmp/test_earnings_agent.XXXXXX");
    assert_non_null(mkdtemp(fx->agent_dir));
    assert_int_equal(dn_store_create(fx->agent_dir, "SHOP-2", "D2", "CNY"), 0);
    assert_non_null(fx->store = dn_store_open(fx->agent_dir, &rc));

    /* the framework serving the two streams, behind the kit's notes (the
       budget's filler) */
    static const dn_down_stream_t *const streams[] = {&dn_td_notes_stream,
                                                      &dn_down_earnings, &dn_down_members};
    assert_non_null(fx->key = dn_td_key(0x70));
    assert_non_null(fx->down = dn_down_new_streams(fx->db, fx->key, streams, 3));
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *fx = *state;
    dn_down_destroy(&fx->down);
    dn_key_destroy(&fx->key);
    dn_store_destroy(&fx->store);
    dn_ingest_destroy(&fx->ingest);
    dn_tk_site_destroy(&fx->shop1);
    dn_tk_site_destroy(&fx->shop2);
    sqlite3_close(fx->db);
    dn_tk_remove_tree(fx->dir);
    dn_tk_remove_tree(fx->agent_dir);
    free(fx);
    return 0;
}

/*  Pulls stream for site at now holding from in scope (NULL: the stream's
    scope now) through the framework, with room bytes of the reply's
    budget left for it (DN_DOWN_MAX_BYTES: all of it): the Down into
    chunk; returns its to_version, sets *more.  The Down is the one the
    framework signed: it verifies with the down key.  */
static uint64_t s_produce_in(fixture_t *fx, const dn_down_stream_t *stream,
                             dn_tk_site_t *site, int64_t now, uint64_t from,
                             const char *scope, s_chunk_t *chunk, size_t room, int *more)
{
    char why[DN_WHY_SIZE] = "";
    s_chunk_free(chunk); /* the last pull's, if the test kept it */
    chunk->msg = dn_td_pull_stream(fx->down, fx->db, &site->reg, now, stream, from, scope,
                                   room, &chunk->down, why, sizeof why);
    if (!chunk->msg)
        print_error("pull of %s: %s\n", stream->name, why);
    assert_non_null(chunk->msg);
    assert_int_equal(chunk->down->stream, stream->stream);
    assert_int_equal(dn_td_down_verify(fx->key, chunk->down), 0);
    chunk->n = chunk->down->n_items;
    *more = chunk->down->more;
    return chunk->down->to_version;
}

static uint64_t s_produce(fixture_t *fx, const dn_down_stream_t *stream, dn_tk_site_t *site,
                          int64_t now, uint64_t from, s_chunk_t *chunk, size_t room,
                          int *more)
{
    return s_produce_in(fx, stream, site, now, from, NULL, chunk, room, more);
}

/*  Applies items through applier in one transaction.  */
static int s_apply_items(fixture_t *fx, const dn_down_applier_t *applier, int reset,
                         Dealernet__DownItem *const *items, size_t n, char *why,
                         size_t why_size)
{
    int rc;
    assert_int_equal(dn_store_begin(fx->store), 0);
    rc = applier->apply(dn_store_db(fx->store), reset, items, n, why, why_size);
    if (rc == 0)
        assert_int_equal(dn_store_commit(fx->store), 0);
    else
        dn_store_rollback(fx->store);
    return rc;
}

/*  Applies chunk's items through applier in one transaction.  */
static int s_apply(fixture_t *fx, const dn_down_applier_t *applier, int reset,
                   const s_chunk_t *chunk, char *why, size_t why_size)
{
    Dealernet__DownItem *items[64];
    int rc;
    assert_true(chunk->n <= 64);
    for (size_t i = 0; i < chunk->n; i++)
        items[i] = s_item(chunk, i);
    rc = s_apply_items(fx, applier, reset, items, chunk->n, why, why_size);
    for (size_t i = 0; i < chunk->n; i++)
        dealernet__down_item__free_unpacked(items[i], NULL);
    return rc;
}

static int64_t s_minor(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    assert_true(json_is_integer(v));
    return json_integer_value(v);
}

/* -- earnings ---------------------------------------------------------------------- */

static void test_earnings_figures(void **state)
{
    fixture_t *fx = *state;
    int64_t now = s_at("2026-11-05", 12);
    s_chunk_t chunk = {0};
    uint8_t scope[DN_DOWN_SCOPE_MAX];
    size_t scope_len = 0;
    dn_down_ctx_t ctx = {&fx->shop1->reg, now};
    json_t *st = NULL;
    char why[256] = "";
    int more = 1;

    assert_int_equal(dn_down_earnings.scope(fx->db, &ctx, scope, &scope_len), 0);
    assert_int_equal(scope_len, strlen("D1 2026-11"));
    assert_memory_equal(scope, "D1 2026-11", scope_len);

    uint64_t to = s_produce(fx, &dn_down_earnings, fx->shop1, now, 0, &chunk, DN_DOWN_MAX_BYTES, &more);
    assert_int_equal(more, 0);
    assert_int_equal(chunk.n, 1);
    assert_true(to > 1);
    Dealernet__DownItem *item = s_item(&chunk, 0);
    assert_int_equal(item->body_case, DEALERNET__DOWN_ITEM__BODY_EARNINGS);
    const Dealernet__Earnings *e = item->earnings;
    assert_string_equal(e->partner, "D1");
    assert_string_equal(e->period, "2026-11");
    assert_string_equal(e->currency, "CNY");
    /* by hand (the banner): */
    assert_int_equal(e->opening, 0);
    assert_int_equal(e->commission, 3000);  /* 10.00 + 20.00 */
    assert_int_equal(e->referral, 600);     /* 5.00 + 1% of 100.00 */
    assert_int_equal(e->clawback, 500);     /* 20.00 x 50/200 */
    assert_int_equal(e->override, 0);
    assert_int_equal(e->adjustment, 0);
    assert_int_equal(e->payouts, 1000);     /* BANK-1 */
    assert_int_equal(e->balance, 2100);     /* 30.00 + 6.00 - 5.00 - 10.00 */
    assert_int_equal(e->last_payout, 1000);
    assert_int_equal(e->last_payout_ms, s_at("2026-11-05", 9));
    assert_int_equal(e->as_of_ms, now);
    /* and exactly what HQ's statement says */
    assert_int_equal(dn_ledger_statement(fx->db, "D1", NULL, "2026-11", now, &st, why,
                                         sizeof why),
                     0);
    assert_int_equal(e->balance, s_minor(st, "closing_minor"));
    assert_int_equal(e->commission, s_minor(json_object_get(st, "totals"), "commission_minor"));
    assert_int_equal(e->referral, s_minor(json_object_get(st, "totals"), "referral_minor"));
    assert_int_equal(-e->clawback, s_minor(json_object_get(st, "totals"), "clawback_minor"));
    assert_int_equal(-e->payouts, s_minor(json_object_get(st, "totals"), "payout_minor"));
    json_decref(st);
    dealernet__down_item__free_unpacked(item, NULL);
    s_chunk_free(&chunk);

    /* unchanged: nothing, the version stays */
    assert_int_equal(s_produce(fx, &dn_down_earnings, fx->shop1, now, to, &chunk, DN_DOWN_MAX_BYTES, &more),
                     to);
    assert_int_equal(chunk.n, 0);
    assert_int_equal(more, 0);

    /* no room: nothing added, more, the version stays */
    assert_int_equal(s_produce(fx, &dn_down_earnings, fx->shop1, now, 0, &chunk, 10, &more), 0);
    assert_int_equal(chunk.n, 0);
    assert_int_equal(more, 1);

    /* a sale of D2 at SHOP-2 moves D2 and R1, not D1: still nothing */
    s_sale(fx->shop2, s_at("2026-11-06", 9), "D2", NULL, 4000, NULL);
    s_sync(fx, fx->shop2, s_at("2026-11-06", 10));
    now = s_at("2026-11-06", 12);
    assert_int_equal(s_produce(fx, &dn_down_earnings, fx->shop1, now, to, &chunk, DN_DOWN_MAX_BYTES, &more),
                     to);
    assert_int_equal(chunk.n, 0);

    /* D1 sells 10.00 and refunds it whole in one batch: the balance does
       not move (1.00 - 1.00), the period's figures do: commission 31.00,
       clawback 6.00 -- sent again */
    uint8_t s3[DN_ID_BYTES];
    s_sale(fx->shop1, s_at("2026-11-06", 13), "D1", NULL, 1000, s3);
    s_refund(fx->shop1, s_at("2026-11-06", 13) + 60000, s3, 1000);
    s_sync(fx, fx->shop1, s_at("2026-11-06", 14));
    now = s_at("2026-11-06", 15);
    uint64_t to2 = s_produce(fx, &dn_down_earnings, fx->shop1, now, to, &chunk, DN_DOWN_MAX_BYTES, &more);
    assert_true(to2 > to);
    assert_int_equal(chunk.n, 1);
    item = s_item(&chunk, 0);
    assert_int_equal(item->earnings->commission, 3100);
    assert_int_equal(item->earnings->clawback, 600);
    assert_int_equal(item->earnings->balance, 2100);
    dealernet__down_item__free_unpacked(item, NULL);

    /* the shop applies it; `earnings` reads it back */
    json_t *out = NULL;
    assert_int_equal(dn_earnings_get(fx->store, &out), DN_ENOENT);
    assert_int_equal(s_apply(fx, &dn_down_apply_earnings, 0, &chunk, why, sizeof why), 0);
    s_chunk_free(&chunk);
    assert_int_equal(dn_earnings_get(fx->store, &out), 0);
    assert_string_equal(json_string_value(json_object_get(out, "partner")), "D1");
    assert_string_equal(json_string_value(json_object_get(out, "balance")), "21.00");
    assert_int_equal(s_minor(out, "balance_minor"), 2100);
    assert_int_equal(s_minor(out, "commission_minor"), 3100);
    assert_int_equal(s_minor(out, "referral_minor"), 600);
    assert_int_equal(s_minor(out, "clawback_minor"), 600);
    assert_int_equal(s_minor(out, "payouts_minor"), 1000);
    assert_string_equal(json_string_value(json_object_get(out, "last_payout")), "10.00");
    assert_string_equal(json_string_value(json_object_get(out, "last_payout_at")),
                        "2026-11-05T09:00:00.000Z");
    assert_string_equal(json_string_value(json_object_get(out, "as_of")),
                        "2026-11-06T15:00:00.000Z");
    json_decref(out);

    /* a new month is a new scope: the framework resets, from 0 again;
       December has no transfer: opening = balance = 21.00, the rest 0 */
    now = s_at("2026-12-01", 0);
    ctx.now_ms = now;
    assert_int_equal(dn_down_earnings.scope(fx->db, &ctx, scope, &scope_len), 0);
    assert_memory_equal(scope, "D1 2026-12", scope_len);
    s_produce_in(fx, &dn_down_earnings, fx->shop1, now, to2, "D1 2026-11", &chunk,
                 DN_DOWN_MAX_BYTES, &more);
    assert_true(chunk.down->reset);
    assert_int_equal(chunk.down->from_version, 0);
    assert_int_equal(chunk.n, 1);
    item = s_item(&chunk, 0);
    assert_int_equal(item->earnings->opening, 2100);
    assert_int_equal(item->earnings->balance, 2100);
    assert_int_equal(item->earnings->commission, 0);
    assert_int_equal(item->earnings->payouts, 0);
    assert_int_equal(item->earnings->last_payout, 1000); /* of any period */
    dealernet__down_item__free_unpacked(item, NULL);
    /* reset applies over what was held */
    assert_int_equal(s_apply(fx, &dn_down_apply_earnings, 1, &chunk, why, sizeof why), 0);
    s_chunk_free(&chunk);
    assert_int_equal(dn_earnings_get(fx->store, &out), 0);
    assert_string_equal(json_string_value(json_object_get(out, "period")), "2026-12");
    assert_int_equal(s_minor(out, "commission_minor"), 0);
    json_decref(out);
    s_chunk_free(&chunk);
}

/* -- members ----------------------------------------------------------------------- */

/*  The MemberCredit items of chunk, by phone: credit, or -1 if absent.  */
static int64_t s_credit(const s_chunk_t *chunk, const char *phone, char *name,
                        size_t name_size)
{
    int64_t credit = -1;
    for (size_t i = 0; i < chunk->n; i++) {
        Dealernet__DownItem *item = s_item(chunk, i);
        assert_int_equal(item->body_case, DEALERNET__DOWN_ITEM__BODY_MEMBER);
        if (strcmp(item->member->phone, phone) == 0) {
            credit = item->member->credit;
            if (name)
                snprintf(name, name_size, "%s", item->member->name ? item->member->name : "");
        }
        dealernet__down_item__free_unpacked(item, NULL);
    }
    return credit;
}

static void test_members(void **state)
{
    fixture_t *fx = *state;
    int64_t now = s_at("2026-11-05", 12);
    s_chunk_t chunk = {0};
    char name[64] = "", why[256] = "";
    int more = 1;

    /* SHOP-1 from nothing: the two members it signed up, as they are now */
    uint64_t to1 = s_produce(fx, &dn_down_members, fx->shop1, now, 0, &chunk, DN_DOWN_MAX_BYTES, &more);
    assert_int_equal(more, 0);
    assert_int_equal(chunk.n, 2); /* A and B once each, though five events name them */
    assert_int_equal(s_credit(&chunk, PHONE_A, name, sizeof name), 650); /* 7.00 - 0.50 */
    assert_string_equal(name, "Wang");
    assert_int_equal(s_credit(&chunk, PHONE_B, name, sizeof name), 0);
    assert_string_equal(name, "Li");
    assert_int_equal(to1 & ((UINT64_C(1) << SEQ_BITS) - 1), 5); /* SHOP-1's applied seq */
    s_chunk_free(&chunk);

    /* a budget for one member (an item is 38 bytes): the pull sends A
       (event 1) and stops with more before event 2, which names B and its
       referrer A; the next pull, with room, goes on from there: B and A
       (again: a pull remembers only its own), and ends where the whole
       pull ended */
    uint64_t part = s_produce(fx, &dn_down_members, fx->shop1, now, 0, &chunk, 40, &more);
    assert_int_equal(more, 1);
    assert_int_equal(chunk.n, 1);
    assert_int_equal(s_credit(&chunk, PHONE_A, NULL, 0), 650);
    assert_int_equal(part & ((UINT64_C(1) << SEQ_BITS) - 1), 1);
    s_chunk_free(&chunk);
    uint64_t rest = s_produce(fx, &dn_down_members, fx->shop1, now, part, &chunk, DN_DOWN_MAX_BYTES, &more);
    assert_int_equal(more, 0);
    assert_int_equal(chunk.n, 2);
    assert_int_equal(s_credit(&chunk, PHONE_B, NULL, 0), 0);
    assert_int_equal(rest, to1);
    s_chunk_free(&chunk);
    assert_int_equal(s_produce(fx, &dn_down_members, fx->shop1, now, rest, &chunk, 40, &more),
                     rest);
    assert_int_equal(chunk.n, 0);

    /* SHOP-2 has seen nobody: nothing; then it sells to A: A comes */
    uint64_t to2 = s_produce(fx, &dn_down_members, fx->shop2, now, 0, &chunk, DN_DOWN_MAX_BYTES, &more);
    assert_int_equal(chunk.n, 0);
    s_sale(fx->shop2, s_at("2026-11-07", 9), "D2", PHONE_A, 3000, NULL);
    s_sync(fx, fx->shop2, s_at("2026-11-07", 10));
    now = s_at("2026-11-07", 12);
    to2 = s_produce(fx, &dn_down_members, fx->shop2, now, to2, &chunk, DN_DOWN_MAX_BYTES, &more);
    assert_int_equal(chunk.n, 1);
    assert_int_equal(s_credit(&chunk, PHONE_A, NULL, 0), 650);
    /* the shop applies it; `member show` reads it back, typed as a clerk would */
    assert_int_equal(s_apply(fx, &dn_down_apply_members, 0, &chunk, why, sizeof why), 0);
    s_chunk_free(&chunk);
    json_t *out = NULL;
    assert_int_equal(dn_earnings_member(fx->store, "138 0000 0001", &out, why, sizeof why), 0);
    assert_string_equal(json_string_value(json_object_get(out, "phone")), PHONE_A);
    assert_string_equal(json_string_value(json_object_get(out, "name")), "Wang");
    assert_string_equal(json_string_value(json_object_get(out, "credit")), "6.50");
    assert_int_equal(s_minor(out, "credit_minor"), 650);
    assert_true(json_is_null(json_object_get(out, "signed_up_here")));
    assert_string_equal(json_string_value(json_object_get(out, "credit_as_of")),
                        "2026-11-07T12:00:00.000Z");
    json_decref(out);
    assert_int_equal(dn_earnings_member(fx->store, PHONE_B, &out, why, sizeof why), DN_ENOENT);
    assert_non_null(strstr(why, "never sent its credit"));

    /* B buys again at SHOP-1: A earns 1% of 100.00 = 1.00, credit 7.50;
       SHOP-2 (which saw A) gets A again, not B (never seen there) */
    s_sale(fx->shop1, s_at("2026-11-08", 9), "D1", PHONE_B, 10000, NULL);
    s_sync(fx, fx->shop1, s_at("2026-11-08", 10));
    now = s_at("2026-11-08", 12);
    uint64_t to3 = s_produce(fx, &dn_down_members, fx->shop2, now, to2, &chunk, DN_DOWN_MAX_BYTES, &more);
    assert_true(to3 > to2);
    assert_int_equal(chunk.n, 1);
    assert_int_equal(s_credit(&chunk, PHONE_A, NULL, 0), 750);
    assert_int_equal(s_credit(&chunk, PHONE_B, NULL, 0), -1);
    assert_int_equal(s_apply(fx, &dn_down_apply_members, 0, &chunk, why, sizeof why), 0);
    s_chunk_free(&chunk);
    assert_int_equal(dn_earnings_member(fx->store, PHONE_A, &out, why, sizeof why), 0);
    assert_int_equal(s_minor(out, "credit_minor"), 750);
    json_decref(out);
    /* and then nothing */
    assert_int_equal(s_produce(fx, &dn_down_members, fx->shop2, now, to3, &chunk, DN_DOWN_MAX_BYTES, &more),
                     to3);
    assert_int_equal(chunk.n, 0);

    /* an item of another stream is refused, and nothing is applied */
    Dealernet__Notice notice = DEALERNET__NOTICE__INIT;
    Dealernet__DownItem wrong = DEALERNET__DOWN_ITEM__INIT;
    wrong.body_case = DEALERNET__DOWN_ITEM__BODY_NOTICE;
    wrong.notice = &notice;
    notice.text = "hello";
    Dealernet__DownItem *wrongs[1] = {&wrong};
    assert_int_equal(s_apply_items(fx, &dn_down_apply_members, 1, wrongs, 1, why, sizeof why),
                     DN_EPROTO);
    assert_int_equal(s_apply_items(fx, &dn_down_apply_earnings, 1, wrongs, 1, why, sizeof why),
                     DN_EPROTO);
    assert_int_equal(dn_earnings_member(fx->store, PHONE_A, &out, why, sizeof why), 0);
    assert_int_equal(s_minor(out, "credit_minor"), 750); /* the reset was rolled back */
    json_decref(out);
    s_chunk_free(&chunk);
}

/*  One members pull reads at most DN_EARNINGS_SCAN_ROWS = 4,096 rows of
    each part, whatever version the agent names.

    Part one: SHOP-2 pulls from 0 and holds the counter of marks M (its
    version M << 28, seq 0); then 4,097 members sign up at SHOP-1 (rows
    put in directly: each insert takes the next mark, M+1 .. M+4097),
    none of them seen by SHOP-2.  Its next pull examines 4,096 of them,
    sends nothing and says more at mark M+4096; the one after reads the
    last and ends at M+4097.

    Part two: SHOP-2 sells 4,097 times to A (seqs 1..4,097, 11-10 from
    00:00, a second apart).  From 0, the pull reads events 1..4,096, sends
    A once and says more at seq 4,096; the next reads event 4,097 and
    sends A again (a pull remembers only its own), ending at seq 4,097.  */
static void test_members_scan_bounded(void **state)
{
    fixture_t *fx = *state;
    int64_t now = s_at("2026-11-09", 12), marks = 0;
    s_chunk_t chunk = {0};
    sqlite3_stmt *stmt;
    int more = 1;
    char sql[512];

    assert_int_equal(DN_EARNINGS_SCAN_ROWS, 4096);
    uint64_t held = s_produce(fx, &dn_down_members, fx->shop2, now, 0, &chunk, 4096, &more);
    assert_int_equal(more, 0);
    assert_int_equal(chunk.n, 0);
    assert_int_equal(dn_db_prepare(fx->db, "SELECT mark FROM down_marks", &stmt), 0);
    assert_int_equal(dn_db_row(stmt, "marks"), 1);
    marks = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    assert_true(marks > 0);
    assert_int_equal(held, (uint64_t)marks << SEQ_BITS);

    snprintf(sql, sizeof sql,
             "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 4097) "
             "INSERT INTO members(phone, member_id, site_id, signup_eid, signed_up_ms) "
             "SELECT printf('+86139%%08d', i), zeroblob(16), %lld, "
             "(SELECT signup_eid FROM members WHERE phone = '%s'), %lld FROM n",
             (long long)fx->shop1->reg.id, PHONE_A, (long long)now);
    assert_int_equal(dn_db_exec(fx->db, sql), 0);

    uint64_t part = s_produce(fx, &dn_down_members, fx->shop2, now, held, &chunk, 4096, &more);
    assert_int_equal(more, 1);
    assert_int_equal(chunk.n, 0);
    assert_int_equal(part, (uint64_t)(marks + 4096) << SEQ_BITS);
    uint64_t rest = s_produce(fx, &dn_down_members, fx->shop2, now, part, &chunk, 4096, &more);
    assert_int_equal(more, 0);
    assert_int_equal(chunk.n, 0);
    assert_int_equal(rest, (uint64_t)(marks + 4097) << SEQ_BITS);

    for (int i = 0; i < 4097; i++) {
        s_sale(fx->shop2, s_at("2026-11-10", 0) + i * 1000, "D2", PHONE_A, 100, NULL);
        if (i % 500 == 499 || i == 4096)
            s_sync(fx, fx->shop2, s_at("2026-11-11", 0));
    }
    now = s_at("2026-11-11", 12);
    part = s_produce(fx, &dn_down_members, fx->shop2, now, 0, &chunk, 4096, &more);
    assert_int_equal(more, 1);
    assert_int_equal(chunk.n, 1);
    assert_int_equal(s_credit(&chunk, PHONE_A, NULL, 0), 650); /* 7.00 - 0.50, as above */
    assert_int_equal(part & ((UINT64_C(1) << SEQ_BITS) - 1), 4096);
    s_chunk_free(&chunk);
    rest = s_produce(fx, &dn_down_members, fx->shop2, now, part, &chunk, 4096, &more);
    assert_int_equal(more, 0);
    assert_int_equal(chunk.n, 1);
    assert_int_equal(rest & ((UINT64_C(1) << SEQ_BITS) - 1), 4097);
    assert_int_equal(rest >> SEQ_BITS, part >> SEQ_BITS);
    s_chunk_free(&chunk);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_earnings_figures, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_members, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_members_scan_bounded, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
