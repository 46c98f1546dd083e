/*  test_ingest -- the exactly-once core of dn_ingest: what a batch writes,
    to the row, and what a refused batch says and leaves behind (nothing).

    One central.db per test: HQ (hq) > R1 (region) > D1 (dealer), the plan
    800/300 bps from 2026-01-01 (CNY), site SHOP-1 of D1 added by HQ at
    2026-03-01T09:00:00.000Z with a key made from a fixed seed.  A second
    test-kit site, the forger, records as SHOP-1 with the very same key, so
    its batches are signed right and differ only in their chain: that is
    how a broken chain and a tampered resend reach the checks behind the
    signature.  Batches go through the server's path (dn_ingest_push in a
    group of one, committed when accepted, rolled back when refused).

    Every sale is one line of 10.00 CNY (1000 fen): D1 earns 800 bps = 80
    fen and R1 300 bps = 30 fen, two transfers a sale.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "dn_test_central.h"
#include "dn_test_site.h"

#include "dn_chain.h"
#include "dn_error.h"
#include "dn_id.h"
#include "dn_ingest.h"
#include "dn_ledger.h"
#include "dn_log.h"
#include "dn_plan.h"
#include "dn_registry.h"
#include "dn_time.h"
#include "dn_wire.h"

#include <stdio.h>
#include <string.h>

#define MIN_MS 60000LL

static const char s_plan[] = "[plan]\neffective = 2026-01-01\ncurrency = CNY\n"
                             "cap_bps = 1500\n[levels]\n0 = 800\n1 = 300\n";

/*  RFC 8032 section 7.1 TEST 1's seed: any fixed seed would do.  */
static const char s_seed[] = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";

typedef struct {
    dn_test_central_t *central; /* central->db is central.db */
    dn_ingest_t *ingest;
    dn_tk_site_t *shop;   /* SHOP-1 as its agent is */
    dn_tk_site_t *forger; /* SHOP-1's key, another history */
} fixture_t;

static int64_t s_at(const char *date, int hour, int minute)
{
    int64_t ms;
    assert_int_equal(dn_time_parse_date(date, &ms), 0);
    return ms + (int64_t)hour * 3600000 + (int64_t)minute * MIN_MS;
}

static dn_tk_site_t *s_site_with_seed(void)
{
    uint8_t seed[32];
    dn_key_t *key;
    dn_tk_site_t *site;
    assert_int_equal(dn_hex_decode(s_seed, seed, sizeof seed), 0);
    assert_non_null(key = dn_key_from_seed(seed));
    assert_non_null(site = dn_tk_site_new("SHOP-1", &key));
    return site;
}

static int s_setup(void **state)
{
    /* code, kind, parent */
    static const char *const tree[][3] = {
        {"HQ", "hq", NULL}, {"R1", "region", "HQ"}, {"D1", "dealer", "R1"}};
    fixture_t *fx = calloc(1, sizeof *fx);
    int64_t added = s_at("2026-03-01", 9, 0);
    uint8_t curve[DN_CURVE_KEY_BYTES];
    void *central = NULL;
    dn_plan_t plan;
    char why[256] = "";
    sqlite3 *db;
    int rc = 0;

    assert_non_null(fx);
    assert_int_equal(dn_test_central_setup(&central), 0);
    fx->central = central;
    db = fx->central->db;
    for (size_t i = 0; rc == 0 && i < sizeof tree / sizeof tree[0]; i++)
        rc = dn_registry_partner_add(db, tree[i][0], tree[i][0], tree[i][1], tree[i][2], 0,
                                     why, sizeof why);
    if (rc == 0)
        rc = dn_plan_set(db, s_plan, 0, &plan, why, sizeof why);
    fx->shop = s_site_with_seed();
    fx->forger = s_site_with_seed();
    dn_tk_curve(curve, 0x10);
    if (rc == 0)
        rc = dn_tk_enroll(db, "SHOP-1", "D1", curve, fx->shop->key, added, added + 1000,
                          &fx->shop->reg, why, sizeof why);
    if (rc)
        print_error("setup: %s\n", why);
    assert_int_equal(rc, 0);
    fx->forger->reg = fx->shop->reg;
    assert_non_null(fx->ingest = dn_ingest_new(db));
    *state = fx;
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *fx = *state;
    void *central = fx->central;
    dn_ingest_destroy(&fx->ingest);
    dn_tk_site_destroy(&fx->shop);
    dn_tk_site_destroy(&fx->forger);
    free(fx);
    return dn_test_central_teardown(&central);
}

static int64_t s_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *stmt;
    int64_t v = -1;
    assert_int_equal(dn_db_prepare(db, sql, &stmt), 0);
    assert_int_equal(dn_db_row(stmt, "test"), 1);
    v = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return v;
}

/*  What central.db holds of SHOP-1, in one line: events, sales, refunds,
    transfers, the sum of the transfers, the applied seq, the running
    total of sales (fen).  */
static void s_holds(fixture_t *fx, const char *want)
{
    sqlite3 *db = fx->central->db;
    char text[256];
    snprintf(text, sizeof text,
             "events %lld sales %lld refunds %lld transfers %lld sum %lld applied %lld "
             "totals %lld",
             (long long)s_int(db, "SELECT count(*) FROM events"),
             (long long)s_int(db, "SELECT count(*) FROM sales"),
             (long long)s_int(db, "SELECT count(*) FROM refunds"),
             (long long)s_int(db, "SELECT count(*) FROM transfers"),
             (long long)s_int(db, "SELECT coalesce(sum(amount), 0) FROM transfers"),
             (long long)s_int(db, "SELECT applied_seq FROM sites WHERE code = 'SHOP-1'"),
             (long long)s_int(db, "SELECT sales FROM money_totals WHERE id = 1"));
    assert_string_equal(text, want);
}

/*  A sale of 10.00 by D1, recorded at 2026-03-05 10:00 + minute.  */
static void s_sale(dn_tk_site_t *site, int minute, uint8_t *id_out)
{
    static const dn_tk_line_t line[] = {{"TEA", 1, 1000, NULL}};
    dn_tk_event_t e;
    assert_int_equal(dn_tk_sale(&e, "D1", DEALERNET__CHANNEL__CHANNEL_STORE, NULL, line, 1),
                     0);
    dn_test_site_record(site, &e.ev, s_at("2026-03-05", 10, minute), id_out);
}

/*  Applies batch as SHOP-1, received at 2026-03-05 11:00.  */
static int s_apply(fixture_t *fx, const dn_tk_batch_t *batch, dn_ingest_result_t *r)
{
    return dn_tk_ingest(fx->central->db, fx->ingest, &fx->shop->reg, batch,
                        s_at("2026-03-05", 11, 0), r);
}

static void s_accepted(const dn_ingest_result_t *r, int rc, uint64_t acked, int applied,
                       int skipped)
{
    if (rc)
        print_error("refused: %s\n", r->why);
    assert_int_equal(rc, 0);
    assert_int_equal(r->code, 0);
    assert_int_equal(r->acked_through, acked);
    assert_int_equal(r->applied, applied);
    assert_int_equal(r->skipped, skipped);
}

static void s_refused(const dn_ingest_result_t *r, int rc, Dealernet__RefuseCode code,
                      uint64_t expected, const char *why)
{
    assert_int_equal(rc, DN_EPROTO);
    assert_int_equal(r->code, code);
    assert_int_equal(r->expected_seq, expected);
    assert_int_equal(r->acked_through, 0);
    assert_string_equal(r->why, why);
}

/*  The same batch twice is applied once and acknowledged both times; a
    resend that overlaps the applied seqs applies only what is new.  */
static void test_same_batch_twice(void **state)
{
    fixture_t *fx = *state;
    dn_tk_batch_t first, next, overlap;
    dn_ingest_result_t r;
    ProtobufCBinaryData events[3];

    for (int i = 0; i < 3; i++)
        s_sale(fx->shop, i, NULL);
    assert_int_equal(dn_tk_batch(fx->shop, &first), 0);
    s_accepted(&r, s_apply(fx, &first, &r), 3, 3, 0);
    /* 3 sales x 1000 fen; 3 x (80 + 30) = 330 fen in 6 transfers */
    s_holds(fx, "events 3 sales 3 refunds 0 transfers 6 sum 330 applied 3 totals 3000");

    s_accepted(&r, s_apply(fx, &first, &r), 3, 0, 3); /* the ack was lost: resent */
    s_holds(fx, "events 3 sales 3 refunds 0 transfers 6 sum 330 applied 3 totals 3000");

    /* seqs 2, 3 again with the new seq 4: one more sale, 2 transfers, 110 fen */
    s_sale(fx->shop, 3, NULL);
    assert_int_equal(dn_tk_batch(fx->shop, &next), 0);
    events[0] = first.events[1];
    events[1] = first.events[2];
    events[2] = next.events[0];
    assert_int_equal(
        dn_tk_batch_make(&overlap, "SHOP-1", fx->shop->key, 2, events, 3, next.head), 0);
    s_accepted(&r, s_apply(fx, &overlap, &r), 4, 1, 2);
    s_holds(fx, "events 4 sales 4 refunds 0 transfers 8 sum 440 applied 4 totals 4000");
    dn_tk_batch_free(&first);
    dn_tk_batch_free(&next);
    dn_tk_batch_free(&overlap);
}

/*  A batch that starts past the next expected seq is refused with that
    seq, and writes nothing; the agent then resends from it.  */
static void test_gap(void **state)
{
    fixture_t *fx = *state;
    dn_tk_batch_t first, rest, late;
    dn_ingest_result_t r;

    s_sale(fx->shop, 0, NULL);
    assert_int_equal(dn_tk_batch(fx->shop, &first), 0);
    s_accepted(&r, s_apply(fx, &first, &r), 1, 1, 0);
    s_sale(fx->shop, 1, NULL);
    s_sale(fx->shop, 2, NULL);
    assert_int_equal(dn_tk_batch(fx->shop, &rest), 0); /* seqs 2, 3 */
    assert_int_equal(
        dn_tk_batch_make(&late, "SHOP-1", fx->shop->key, 3, &rest.events[1], 1, rest.head),
        0);
    s_refused(&r, s_apply(fx, &late, &r), DEALERNET__REFUSE_CODE__REFUSE_GAP, 2,
              "batch starts at seq 3 but the next expected is 2");
    s_holds(fx, "events 1 sales 1 refunds 0 transfers 2 sum 110 applied 1 totals 1000");

    s_accepted(&r, s_apply(fx, &rest, &r), 3, 2, 0);
    s_holds(fx, "events 3 sales 3 refunds 0 transfers 6 sum 330 applied 3 totals 3000");
    dn_tk_batch_free(&first);
    dn_tk_batch_free(&rest);
    dn_tk_batch_free(&late);
}

/*  A signature that does not verify, an event that does not continue the
    stored chain, a resent seq with other bytes: each refused with its
    reason, nothing written.  */
static void test_chain_and_signature(void **state)
{
    fixture_t *fx = *state;
    dn_tk_batch_t first, forged, b;
    dn_tk_site_t *stranger = dn_tk_site_new("SHOP-1", NULL); /* another key */
    dn_ingest_result_t r;
    const char *held =
        "events 2 sales 2 refunds 0 transfers 4 sum 220 applied 2 totals 2000";

    assert_non_null(stranger);
    s_sale(fx->shop, 0, NULL);
    s_sale(fx->shop, 1, NULL);
    assert_int_equal(dn_tk_batch(fx->shop, &first), 0);
    s_accepted(&r, s_apply(fx, &first, &r), 2, 2, 0);

    /* the forger's history: its seq 1 differs from the shop's (another
       time), so its seq 3 links to another seq 2 */
    s_sale(fx->forger, 30, NULL);
    s_sale(fx->forger, 31, NULL);
    s_sale(fx->forger, 32, NULL);
    assert_int_equal(dn_tk_batch(fx->forger, &forged), 0);

    /* seq 3, signed with the enrolled key, on another chain */
    assert_int_equal(dn_tk_batch_make(&b, "SHOP-1", fx->forger->key, 3, &forged.events[2],
                                      1, forged.head),
                     0);
    s_refused(&r, s_apply(fx, &b, &r), DEALERNET__REFUSE_CODE__REFUSE_CHAIN, 3,
              "event seq 3 does not continue the site's chain");
    s_holds(fx, held);
    dn_tk_batch_free(&b);

    /* seq 1 resent with other bytes: the tamper alarm */
    assert_int_equal(dn_tk_batch_make(&b, "SHOP-1", fx->forger->key, 1, &forged.events[0],
                                      1, fx->forger->head),
                     0);
    s_refused(&r, s_apply(fx, &b, &r), DEALERNET__REFUSE_CODE__REFUSE_TAMPER, 0,
              "event seq 1 differs from the one already stored");
    s_holds(fx, held);
    dn_tk_batch_free(&b);

    /* the shop's next sale, unsigned (64 zero bytes), then signed with
       a key that is not the enrolled one */
    s_sale(fx->shop, 2, NULL);
    dn_tk_batch_free(&first);
    assert_int_equal(dn_tk_batch(fx->shop, &first), 0);
    assert_int_equal(dn_tk_batch_make(&b, "SHOP-1", NULL, 3, first.events, 1, first.head), 0);
    s_refused(&r, s_apply(fx, &b, &r), DEALERNET__REFUSE_CODE__REFUSE_BAD_SIGNATURE, 0,
              "batch signature does not verify with the site's enrolled key");
    dn_tk_batch_free(&b);
    assert_int_equal(
        dn_tk_batch_make(&b, "SHOP-1", stranger->key, 3, first.events, 1, first.head), 0);
    s_refused(&r, s_apply(fx, &b, &r), DEALERNET__REFUSE_CODE__REFUSE_BAD_SIGNATURE, 0,
              "batch signature does not verify with the site's enrolled key");
    s_holds(fx, held);
    dn_tk_batch_free(&b);

    s_accepted(&r, s_apply(fx, &first, &r), 3, 1, 0); /* the real one goes in */
    s_holds(fx, "events 3 sales 3 refunds 0 transfers 6 sum 330 applied 3 totals 3000");
    dn_tk_batch_free(&first);
    dn_tk_batch_free(&forged);
    dn_tk_site_destroy(&stranger);
}

/*  A batch refused after some of its events were stored, posted and
    rolled up leaves nothing of them: not the events, the sales, the
    transfers, the running totals nor the applied seq.  */
static void test_partial_failure(void **state)
{
    fixture_t *fx = *state;
    dn_tk_batch_t b, wrong_head;
    dn_tk_event_t e;
    dn_ingest_result_t r;
    uint8_t nowhere[DN_ID_BYTES];
    const char *none = "events 0 sales 0 refunds 0 transfers 0 sum 0 applied 0 totals 0";

    /* seqs 1, 2 sales; seq 3 a refund of a sale SHOP-1 never sent */
    s_sale(fx->shop, 0, NULL);
    s_sale(fx->shop, 1, NULL);
    assert_int_equal(dn_id_new_at(nowhere, s_at("2026-03-05", 9, 0)), 0);
    dn_tk_refund(&e, nowhere, 500, NULL, 0);
    dn_test_site_record(fx->shop, &e.ev, s_at("2026-03-05", 10, 2), NULL);
    assert_int_equal(dn_tk_batch(fx->shop, &b), 0);
    s_refused(&r, s_apply(fx, &b, &r), DEALERNET__REFUSE_CODE__REFUSE_MALFORMED, 0,
              "event seq 3 refunds a sale this site never sent");
    s_holds(fx, none);
    assert_int_equal(s_int(fx->central->db, "SELECT count(*) FROM accounts"), 0);
    dn_tk_batch_free(&b);

    /* every event good, but the batch's chain head is not its last
       event's hash: checked last, after all three were stored */
    dn_tk_site_restart(fx->shop);
    for (int i = 0; i < 3; i++)
        s_sale(fx->shop, i, NULL);
    assert_int_equal(dn_tk_batch(fx->shop, &b), 0);
    assert_int_equal(dn_tk_batch_make(&wrong_head, "SHOP-1", fx->shop->key, 1, b.events, 3,
                                      DN_CHAIN_GENESIS),
                     0);
    s_refused(&r, s_apply(fx, &wrong_head, &r), DEALERNET__REFUSE_CODE__REFUSE_CHAIN, 0,
              "batch chain head is not the hash of its last event");
    s_holds(fx, none);
    s_accepted(&r, s_apply(fx, &b, &r), 3, 3, 0);
    s_holds(fx, "events 3 sales 3 refunds 0 transfers 6 sum 330 applied 3 totals 3000");
    dn_tk_batch_free(&b);
    dn_tk_batch_free(&wrong_head);
}

/*  Takes the pending event into a batch, applies it and asserts it is
    refused as malformed with why, nothing stored; the site's chain goes
    back to where it was, so the next event takes the same seq.  */
static void s_refused_event(fixture_t *fx, dn_tk_event_t *e, const char *why)
{
    uint64_t seq = fx->shop->seq;
    uint8_t head[DN_HASH_BYTES];
    dn_tk_batch_t b;
    dn_ingest_result_t r;
    memcpy(head, fx->shop->head, sizeof head);
    dn_test_site_record(fx->shop, &e->ev, s_at("2026-03-05", 10, 30), NULL);
    assert_int_equal(dn_tk_batch(fx->shop, &b), 0);
    s_refused(&r, s_apply(fx, &b, &r), DEALERNET__REFUSE_CODE__REFUSE_MALFORMED, 0, why);
    dn_tk_batch_free(&b);
    fx->shop->seq = seq;
    memcpy(fx->shop->head, head, sizeof head);
}

/*  What every agent refuses to record, the server refuses too, as
    malformed (no agent could have sent it; the whole batch goes, nothing
    is stored).  Seq 1 is a sale of TEA 3 x 10.00 + RICE 2 x 25.00 = 30.00
    + 50.00 = 80.00 (8000 fen): D1 earns 800 bps = 640, R1 300 bps = 240.
    Then, as seq 2, each refused:
    - a sale giving TEA twice (1 x 10.00 and 2 x 10.00, total 30.00);
    - a sale naming a member id without the member's phone;
    - a refund of TEA 1 (worth 1 x 10.00 = 1000) claiming 1500;
    - a refund giving RICE twice (1 and 1, amount 2 x 2500 = 5000);
    - a refund in USD of the CNY sale (amount 8000, no lines);
    and accepted: a sale of TEA and tea (SKUs are compared byte for byte,
    as the agent does: two SKUs), 1 x 10.00 + 1 x 10.00 = 2000, seq 2,
    D1 160 + R1 60; and the agent's refund of TEA 2 + RICE 1 = 2 x 1000 +
    1 x 2500 = 4500 of seq 1, seq 3: clawed back 640 x 4500 / 8000 = 360
    and 240 x 4500 / 8000 = 135.  Transfers: 640 + 240 + 160 + 60 + 360 +
    135 = 1595; sales 8000 + 2000 = 10000.  */
static void test_agent_rules(void **state)
{
    fixture_t *fx = *state;
    static const dn_tk_line_t sale[] = {{"TEA", 3, 1000, NULL}, {"RICE", 2, 2500, NULL}};
    static const dn_tk_line_t twice[] = {{"TEA", 1, 1000, NULL}, {"TEA", 2, 1000, NULL}};
    static const dn_tk_line_t cases[] = {{"TEA", 1, 1000, NULL}, {"tea", 1, 1000, NULL}};
    uint8_t sale_id[DN_ID_BYTES], member[DN_ID_BYTES];
    Dealernet__RefundLine lines[2] = {DEALERNET__REFUND_LINE__INIT,
                                      DEALERNET__REFUND_LINE__INIT};
    Dealernet__RefundLine *ptrs[2] = {&lines[0], &lines[1]};
    dn_tk_event_t e;
    dn_tk_batch_t b;
    dn_ingest_result_t r;

    assert_int_equal(
        dn_tk_sale(&e, "D1", DEALERNET__CHANNEL__CHANNEL_STORE, NULL, sale, 2), 0);
    dn_test_site_record(fx->shop, &e.ev, s_at("2026-03-05", 10, 0), sale_id);
    assert_int_equal(dn_tk_batch(fx->shop, &b), 0);
    s_accepted(&r, s_apply(fx, &b, &r), 1, 1, 0);
    dn_tk_batch_free(&b);

    assert_int_equal(
        dn_tk_sale(&e, "D1", DEALERNET__CHANNEL__CHANNEL_STORE, NULL, twice, 2), 0);
    s_refused_event(fx, &e, "event seq 2: sale line 2: SKU TEA is given twice");

    assert_int_equal(
        dn_tk_sale(&e, "D1", DEALERNET__CHANNEL__CHANNEL_STORE, NULL, sale, 1), 0);
    assert_int_equal(dn_id_new_at(member, s_at("2026-03-01", 12, 0)), 0);
    e.sale.has_member_id = 1;
    e.sale.member_id.data = member;
    e.sale.member_id.len = DN_ID_BYTES;
    s_refused_event(fx, &e, "event seq 2: sale member id without the member's phone");

    dn_tk_refund(&e, sale_id, 1500, "TEA", 1);
    s_refused_event(
        fx, &e,
        "event seq 2 refunds 1500 but its lines are worth 1000 (minor units at "
        "the sale's prices)");

    dn_tk_refund(&e, sale_id, 5000, NULL, 0);
    for (int i = 0; i < 2; i++) {
        lines[i].sku = "RICE";
        lines[i].has_quantity = 1;
        lines[i].quantity = 1;
    }
    e.refund.n_lines = 2;
    e.refund.lines = ptrs;
    s_refused_event(fx, &e, "event seq 2: refund line 2: SKU RICE is given twice");

    dn_tk_refund(&e, sale_id, 8000, NULL, 0);
    e.refund.currency = "USD";
    s_refused_event(fx, &e, "event seq 2 refunds in USD a sale in CNY");
    s_holds(fx, "events 1 sales 1 refunds 0 transfers 2 sum 880 applied 1 totals 8000");

    assert_int_equal(
        dn_tk_sale(&e, "D1", DEALERNET__CHANNEL__CHANNEL_STORE, NULL, cases, 2), 0);
    dn_test_site_record(fx->shop, &e.ev, s_at("2026-03-05", 10, 1), NULL);
    dn_tk_refund(&e, sale_id, 4500, NULL, 0);
    lines[0].sku = "TEA";
    lines[0].quantity = 2;
    lines[1].sku = "RICE";
    lines[1].quantity = 1;
    e.refund.n_lines = 2;
    e.refund.lines = ptrs;
    dn_test_site_record(fx->shop, &e.ev, s_at("2026-03-05", 10, 2), NULL);
    assert_int_equal(dn_tk_batch(fx->shop, &b), 0);
    s_accepted(&r, s_apply(fx, &b, &r), 3, 2, 0);
    dn_tk_batch_free(&b);
    s_holds(fx, "events 3 sales 2 refunds 1 transfers 6 sum 1595 applied 3 totals 10000");
}

/*  A sale's receipt and payment (Sale fields 8 and 9) are stored as the
    event carried them: receipt 42 paid by WeChat (2), receipt 43 with no
    payment (NULL), and a sale of an older agent with neither (NULL, NULL),
    all three in one batch (the insert statement is cached: a field the
    sale before carried must not stay bound).  The receipt index finds
    SHOP-1's receipt 43.  */
static void test_receipt_payment(void **state)
{
    fixture_t *fx = *state;
    static const dn_tk_line_t line[] = {{"TEA", 1, 1000, NULL}};
    dn_tk_event_t e;
    dn_tk_batch_t b;
    dn_ingest_result_t r;
    sqlite3_stmt *stmt;
    char rows[128] = "", *p = rows;

    assert_int_equal(
        dn_tk_sale(&e, "D1", DEALERNET__CHANNEL__CHANNEL_STORE, NULL, line, 1), 0);
    e.sale.has_receipt = 1;
    e.sale.receipt = 42;
    e.sale.has_payment = 1;
    e.sale.payment = DEALERNET__PAYMENT__PAYMENT_WECHAT;
    dn_test_site_record(fx->shop, &e.ev, s_at("2026-03-05", 10, 0), NULL);
    assert_int_equal(
        dn_tk_sale(&e, "D1", DEALERNET__CHANNEL__CHANNEL_STORE, NULL, line, 1), 0);
    e.sale.has_receipt = 1;
    e.sale.receipt = 43;
    dn_test_site_record(fx->shop, &e.ev, s_at("2026-03-05", 10, 1), NULL);
    s_sale(fx->shop, 2, NULL);
    assert_int_equal(dn_tk_batch(fx->shop, &b), 0);
    s_accepted(&r, s_apply(fx, &b, &r), 3, 3, 0);
    dn_tk_batch_free(&b);

    assert_int_equal(dn_db_prepare(fx->central->db,
                                   "SELECT coalesce(receipt, 'NULL'), "
                                   "coalesce(payment, 'NULL') FROM sales ORDER BY eid",
                                   &stmt),
                     0);
    while (dn_db_row(stmt, "test") == 1)
        p += snprintf(p, sizeof rows - (size_t)(p - rows), "%s/%s ",
                      (const char *)sqlite3_column_text(stmt, 0),
                      (const char *)sqlite3_column_text(stmt, 1));
    sqlite3_finalize(stmt);
    assert_string_equal(rows, "42/2 43/NULL NULL/NULL ");
    assert_int_equal(
        s_int(fx->central->db,
              "SELECT count(*) FROM sales s JOIN sites t ON t.id = s.site_id "
              "WHERE t.code = 'SHOP-1' AND s.receipt = 43"),
        1);

    /* sale.void's look-up: SHOP-1's receipt "0043" as the agent prints it
       is the second sale; 44 is none; 0 is no receipt number.  A second
       sale numbered 42 (a restored PC) makes 42 ambiguous: refused,
       naming both, oldest first.  */
    {
        uint8_t first[DN_ID_BYTES], twin[DN_ID_BYTES];
        char id[DN_ID_TEXT_SIZE], a[DN_ID_TEXT_SIZE], t[DN_ID_TEXT_SIZE], why[256] = "";
        char want[256];
        int64_t eid = 0;
        sqlite3 *db = fx->central->db;

        assert_int_equal(
            dn_ledger_sale_by_receipt(db, "SHOP-1", "0043", &eid, id, why, sizeof why),
            0);
        assert_int_equal(eid, s_int(db, "SELECT eid FROM sales WHERE receipt = 43"));
        assert_int_equal(
            dn_ledger_sale_by_receipt(db, "SHOP-1", "44", &eid, id, why, sizeof why),
            DN_ENOENT);
        assert_string_equal(why, "no sale of site SHOP-1 has receipt 44");
        assert_int_equal(
            dn_ledger_sale_by_receipt(db, "SHOP-2", "43", &eid, id, why, sizeof why),
            DN_ENOENT);
        assert_int_equal(
            dn_ledger_sale_by_receipt(db, "SHOP-1", "0", &eid, id, why, sizeof why),
            DN_EINVAL);
        assert_string_equal(why,
                            "receipt '0' is not a receipt number (1 to 999999999999, "
                            "as the shop's agent printed it)");

        assert_int_equal(
            dn_tk_sale(&e, "D1", DEALERNET__CHANNEL__CHANNEL_STORE, NULL, line, 1), 0);
        e.sale.has_receipt = 1;
        e.sale.receipt = 42;
        dn_test_site_record(fx->shop, &e.ev, s_at("2026-03-05", 10, 3), twin);
        assert_int_equal(dn_tk_batch(fx->shop, &b), 0);
        s_accepted(&r, s_apply(fx, &b, &r), 4, 1, 0);
        dn_tk_batch_free(&b);
        assert_int_equal(
            dn_ledger_sale_by_receipt(db, "SHOP-1", "42", &eid, id, why, sizeof why),
            DN_EINVAL);
        {
            sqlite3_stmt *stmt;
            assert_int_equal(
                dn_db_prepare(db,
                              "SELECT e.id FROM events e JOIN sales s ON "
                              "s.eid = e.eid WHERE s.receipt = 42 ORDER BY e.id",
                              &stmt),
                0);
            assert_int_equal(dn_db_row(stmt, "test"), 1);
            memcpy(first, sqlite3_column_blob(stmt, 0), DN_ID_BYTES);
            sqlite3_finalize(stmt);
        }
        dn_id_format(first, a);
        dn_id_format(twin, t);
        snprintf(want, sizeof want,
                 "site SHOP-1 has more than one sale with receipt 42 (%s, %s): void one "
                 "by its id",
                 a, t);
        assert_string_equal(why, want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_same_batch_twice, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_gap, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_chain_and_signature, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_partial_failure, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_agent_rules, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_receipt_payment, s_setup, s_teardown),
    };
    dn_log_init("test_ingest", DN_LOG_QUIET, 0); /* the tamper alarm is expected */
    return cmocka_run_group_tests(tests, NULL, NULL);
}
