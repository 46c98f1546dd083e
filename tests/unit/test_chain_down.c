/*  test_chain_down -- STREAM_CHAIN's producer on the server
    (server/dn_chain_down.c) through the downstream framework
    (dn_down_pull, server/dn_down.c): a site's stored events after a seq,
    exactly as stored, in seq order, in chunks within the reply's budget
    (DN_DOWN_MAX_BYTES) each saying more until the last, and no other
    site's.

    The scenario: partners HQ > R1 > D1; SHOP-1 and SHOP-2 of D1 enrolled;
    SHOP-1 sends three sales (10.00 each, 2026-03-05 10:00-10:02), SHOP-2
    one.  central.db's events: SHOP-1 seq 1-3, SHOP-2 seq 1.  The budget
    test then has SHOP-1 send 1,200 sales of four lines with 40-byte SKUs
    and 32-byte categories (about 430 bytes an event, so some 450 fit a
    reply of 192 KiB): its chain comes down in three chunks or more.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "dn_test_central.h"
#include "dn_test_site.h"

/* the server's dn_down.h: tests see agent/ first, whose header has the
   same name */
#include "../../server/dn_down.h"
#include "dn_error.h"
#include "dn_ingest.h"
#include "dn_plan.h"
#include "dn_registry.h"
#include "dn_time.h"
#include "dn_wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char s_plan[] = "[plan]\neffective = 2026-01-01\ncurrency = CNY\n"
                             "cap_bps = 1500\n[levels]\n0 = 800\n1 = 300\n";

typedef struct {
    dn_test_central_t *central;
    dn_ingest_t *ingest;
    dn_key_t *key; /* the down key */
    dn_down_t *down;
    dn_tk_site_t *shop1, *shop2;
} fixture_t;

static int64_t s_at(const char *date, int hour, int minute)
{
    int64_t ms;
    assert_int_equal(dn_time_parse_date(date, &ms), 0);
    return ms + (int64_t)hour * 3600000 + (int64_t)minute * 60000;
}

/*  The prev_hash of the packed event ev into hash.  */
static void s_prev_hash(const ProtobufCBinaryData *ev, uint8_t hash[DN_HASH_BYTES])
{
    Dealernet__Event *e = NULL;
    char why[DN_WHY_SIZE] = "";
    assert_int_equal(dn_wire_event_unpack(ev->data, ev->len, &e, why, sizeof why), 0);
    memcpy(hash, e->prev_hash.data, DN_HASH_BYTES);
    dn_wire_event_free(&e);
}

/*  Sends what site has pending, as one or more batches.  */
static void s_send(fixture_t *fx, dn_tk_site_t *site)
{
    dn_tk_batch_t batch;
    dn_ingest_result_t r;
    assert_int_equal(dn_tk_batch(site, &batch), 0);
    for (size_t at = 0; at < batch.n; at += DN_MAX_BATCH_EVENTS) {
        dn_tk_batch_t part;
        size_t n =
            batch.n - at < DN_MAX_BATCH_EVENTS ? batch.n - at : DN_MAX_BATCH_EVENTS;
        uint8_t head[DN_HASH_BYTES];
        if (at + n == batch.n)
            memcpy(head, batch.head, DN_HASH_BYTES);
        else /* the head after the part's last event: its successor's prev_hash */
            s_prev_hash(&batch.events[at + n], head);
        assert_int_equal(dn_tk_batch_make(&part, site->code, site->key,
                                          batch.first_seq + at, &batch.events[at], n,
                                          head),
                         0);
        assert_int_equal(dn_tk_ingest(fx->central->db, fx->ingest, &site->reg, &part,
                                      s_at("2026-03-05", 11, 0), &r),
                         0);
        dn_tk_batch_free(&part);
    }
    dn_tk_batch_free(&batch);
}

/*  A sale of 10.00 by D1 at site, sent and stored.  */
static void s_sale_sent(fixture_t *fx, dn_tk_site_t *site, int minute)
{
    static const dn_tk_line_t line[] = {{"TEA", 1, 1000, NULL}};
    dn_tk_event_t e;
    assert_int_equal(
        dn_tk_sale(&e, "D1", DEALERNET__CHANNEL__CHANNEL_STORE, NULL, line, 1), 0);
    dn_test_site_record(site, &e.ev, s_at("2026-03-05", 10, minute), NULL);
    s_send(fx, site);
}

static int s_setup(void **state)
{
    static const char *const tree[][3] = {
        {"HQ", "hq", NULL}, {"R1", "region", "HQ"}, {"D1", "dealer", "R1"}};
    fixture_t *fx = calloc(1, sizeof *fx);
    int64_t added = s_at("2026-03-01", 9, 0);
    void *central = NULL;
    dn_plan_t plan;
    char why[256] = "";
    int rc = 0;

    assert_non_null(fx);
    assert_int_equal(dn_test_central_setup(&central), 0);
    fx->central = central;
    for (size_t i = 0; rc == 0 && i < sizeof tree / sizeof tree[0]; i++)
        rc = dn_registry_partner_add(fx->central->db, tree[i][0], tree[i][0], tree[i][1],
                                     tree[i][2], 0, why, sizeof why);
    if (rc == 0)
        rc = dn_plan_set(fx->central->db, s_plan, 0, &plan, why, sizeof why);
    if (rc)
        print_error("setup: %s\n", why);
    assert_int_equal(rc, 0);
    fx->shop1 = dn_test_site_enroll(fx->central->db, "SHOP-1", "D1", 0x10, added);
    fx->shop2 = dn_test_site_enroll(fx->central->db, "SHOP-2", "D1", 0x20, added);
    assert_non_null(fx->ingest = dn_ingest_new(fx->central->db));
    {
        static const dn_down_stream_t *const streams[] = {&dn_down_chain};
        uint8_t seed[32];
        memset(seed, 0x42, sizeof seed);
        assert_non_null(fx->key = dn_key_from_seed(seed));
        assert_non_null(fx->down =
                            dn_down_new_streams(fx->central->db, fx->key, streams, 1));
    }
    for (int m = 0; m < 3; m++)
        s_sale_sent(fx, fx->shop1, m);
    s_sale_sent(fx, fx->shop2, 5);
    *state = fx;
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *fx = *state;
    void *central = fx->central;
    dn_ingest_destroy(&fx->ingest);
    dn_down_destroy(&fx->down);
    dn_key_destroy(&fx->key);
    dn_tk_site_destroy(&fx->shop1);
    dn_tk_site_destroy(&fx->shop2);
    free(fx);
    return dn_test_central_teardown(&central);
}

/*  The stored body of code's event at seq equals bytes[0..len).  */
static void s_assert_stored(fixture_t *fx, const char *code, int64_t seq,
                            const uint8_t *bytes, size_t len)
{
    sqlite3_stmt *stmt;
    assert_int_equal(dn_db_prepare(fx->central->db,
                                   "SELECT e.body FROM events e JOIN sites s "
                                   "ON s.id = e.site_id WHERE s.code = ? AND e.seq = ?",
                                   &stmt),
                     0);
    sqlite3_bind_text(stmt, 1, code, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, seq);
    assert_int_equal(dn_db_row(stmt, "test"), 1);
    assert_int_equal((size_t)sqlite3_column_bytes(stmt, 0), len);
    assert_memory_equal(sqlite3_column_blob(stmt, 0), bytes, len);
    sqlite3_finalize(stmt);
}

/*  Pulls stream chain for site holding version (scope its code, or none
    at 0); returns the decoded reply, caller frees.  */
static Dealernet__SyncMessage *s_pull(fixture_t *fx, const dn_tk_site_t *site,
                                      uint64_t version)
{
    Dealernet__Pull pull = DEALERNET__PULL__INIT;
    Dealernet__StreamHolds hold = DEALERNET__STREAM_HOLDS__INIT, *holds[1] = {&hold};
    Dealernet__SyncMessage *msg = NULL;
    uint8_t *body = NULL;
    size_t len = 0;
    char why[DN_WHY_SIZE] = "";
    hold.has_stream = 1;
    hold.stream = DEALERNET__STREAM__STREAM_CHAIN;
    hold.has_version = 1;
    hold.version = version;
    if (version) {
        hold.has_scope = 1;
        hold.scope.data = (uint8_t *)site->code;
        hold.scope.len = strlen(site->code);
    }
    pull.n_holds = 1;
    pull.holds = holds;
    assert_int_equal(dn_down_pull(fx->down, &site->reg, s_at("2026-03-06", 9, 0), &pull,
                                  &body, &len, why, sizeof why),
                     0);
    assert_int_equal(dn_wire_sync_unpack(body, len, &msg, why, sizeof why), 0);
    free(body);
    assert_int_equal(msg->body_case, DEALERNET__SYNC_MESSAGE__BODY_DOWN);
    assert_int_equal(msg->down->n_downs, 1);
    return msg;
}

/*  The items of d are code's stored events from seq from + 1 on.  */
static void s_assert_items(fixture_t *fx, const char *code, const Dealernet__Down *d,
                           uint64_t from)
{
    char why[DN_WHY_SIZE] = "";
    for (size_t i = 0; i < d->n_items; i++) {
        Dealernet__DownItem *item = NULL;
        assert_int_equal(dn_wire_down_item_unpack(DEALERNET__STREAM__STREAM_CHAIN,
                                                  d->items[i].data, d->items[i].len,
                                                  &item, why, sizeof why),
                         0);
        assert_int_equal(item->body_case, DEALERNET__DOWN_ITEM__BODY_EVENT);
        s_assert_stored(fx, code, (int64_t)(from + 1 + i), item->event.data,
                        item->event.len);
        dn_wire_down_item_free(&item);
    }
}

/*  From 0: SHOP-1's three events, the very bytes stored, to 3, no more;
    the scope is the code; from the head: nothing, to stays 3.  */
static void test_whole_chain(void **state)
{
    fixture_t *fx = *state;
    Dealernet__SyncMessage *msg = s_pull(fx, fx->shop1, 0);
    const Dealernet__Down *d = msg->down->downs[0];
    assert_int_equal(d->stream, DEALERNET__STREAM__STREAM_CHAIN);
    assert_int_equal(d->n_items, 3);
    assert_int_equal(d->from_version, 0);
    assert_int_equal(d->to_version, 3);
    assert_false(d->more);
    assert_int_equal(d->scope.len, 6);
    assert_memory_equal(d->scope.data, "SHOP-1", 6);
    s_assert_items(fx, "SHOP-1", d, 0);
    dn_wire_sync_free(&msg);
    msg = s_pull(fx, fx->shop1, 3);
    d = msg->down->downs[0];
    assert_int_equal(d->n_items, 0);
    assert_int_equal(d->to_version, 3);
    assert_false(d->more);
    dn_wire_sync_free(&msg);
    assert_null(dn_down_chain.head);
}

/*  1,200 more events of about 430 bytes: each reply within the budget
    says more until the last; together they are seq 1-1203 in order, each
    once, the stored bytes.  */
static void test_chunks(void **state)
{
    fixture_t *fx = *state;
    static const char cat[] = "category-0123456789-abcdefghijkl"; /* 32 bytes */
    uint64_t held = 0;
    int chunks = 0, more = 1;

    for (int i = 0; i < 1200; i++) {
        char sku[4][48];
        dn_tk_line_t lines[4];
        dn_tk_event_t e;
        for (int k = 0; k < 4; k++) {
            snprintf(sku[k], sizeof sku[k], "SKU-%04d-%d-0123456789-0123456789-abcd", i,
                     k);
            lines[k] = (dn_tk_line_t){sku[k], 1, 100 + k, cat};
        }
        assert_int_equal(
            dn_tk_sale(&e, "D1", DEALERNET__CHANNEL__CHANNEL_STORE, NULL, lines, 4), 0);
        dn_test_site_record(fx->shop1, &e.ev, s_at("2026-03-05", 10, 3) + i * 1000, NULL);
    }
    s_send(fx, fx->shop1);
    while (more) {
        Dealernet__SyncMessage *msg = s_pull(fx, fx->shop1, held);
        const Dealernet__Down *d = msg->down->downs[0];
        size_t bytes = 0;
        assert_int_equal(d->from_version, held);
        assert_int_equal(d->to_version, held + d->n_items);
        assert_true(d->n_items > 0);
        for (size_t i = 0; i < d->n_items; i++)
            bytes += d->items[i].len;
        assert_true(bytes <= DN_DOWN_MAX_BYTES);
        s_assert_items(fx, "SHOP-1", d, held);
        held = d->to_version;
        more = d->more;
        chunks++;
        dn_wire_sync_free(&msg);
    }
    assert_int_equal(held, 1203);
    assert_true(chunks >= 3);
}

/*  SHOP-2 gets its own one event, never SHOP-1's.  */
static void test_own_site_only(void **state)
{
    fixture_t *fx = *state;
    Dealernet__SyncMessage *msg = s_pull(fx, fx->shop2, 0);
    const Dealernet__Down *d = msg->down->downs[0];
    assert_int_equal(d->n_items, 1);
    assert_int_equal(d->to_version, 1);
    assert_memory_equal(d->scope.data, "SHOP-2", 6);
    s_assert_items(fx, "SHOP-2", d, 0);
    dn_wire_sync_free(&msg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_whole_chain, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_chunks, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_own_site_only, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
