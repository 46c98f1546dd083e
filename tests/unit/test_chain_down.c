/*  test_chain_down -- STREAM_CHAIN's producer on the server
    (server/dn_chain_down.c): a site's stored events after a seq, exactly
    as stored, in seq order, bounded by the chunk, and no other site's.

    The chunk is this test's own (dn_down_chunk_add below, which the
    linker takes before the framework's in server/dn_down.c): it keeps each
    item's event bytes and refuses an item beyond `room`, as the real one
    refuses one beyond the reply's byte budget (DN_ETOOBIG), so that the
    producer's stop-and-say-more is exercised without a budget of bytes.

    The scenario: partners HQ > R1 > D1; SHOP-1 and SHOP-2 of D1 enrolled;
    SHOP-1 sends three sales (10.00 each, 2026-03-05 10:00-10:02), SHOP-2
    one.  central.db's events: SHOP-1 seq 1-3, SHOP-2 seq 1.
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

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROOM_MAX 8

struct _dn_down_chunk_t {
    size_t room; /* items it takes before DN_ETOOBIG */
    size_t n;
    uint8_t *event[ROOM_MAX];
    size_t len[ROOM_MAX];
};

int dn_down_chunk_add(dn_down_chunk_t *chunk, const Dealernet__DownItem *item)
{
    assert_int_equal(item->body_case, DEALERNET__DOWN_ITEM__BODY_EVENT);
    if (chunk->n == chunk->room)
        return DN_ETOOBIG;
    chunk->event[chunk->n] = malloc(item->event.len);
    assert_non_null(chunk->event[chunk->n]);
    memcpy(chunk->event[chunk->n], item->event.data, item->event.len);
    chunk->len[chunk->n++] = item->event.len;
    return 0;
}

size_t dn_down_chunk_count(const dn_down_chunk_t *chunk)
{
    return chunk->n;
}

static void s_chunk_free(dn_down_chunk_t *chunk)
{
    for (size_t i = 0; i < chunk->n; i++)
        free(chunk->event[i]);
    memset(chunk, 0, sizeof *chunk);
}

static const char s_plan[] = "[plan]\neffective = 2026-01-01\ncurrency = CNY\n"
                             "cap_bps = 1500\n[levels]\n0 = 800\n1 = 300\n";

typedef struct {
    dn_test_central_t *central;
    dn_ingest_t *ingest;
    dn_tk_site_t *shop1, *shop2;
} fixture_t;

static int64_t s_at(const char *date, int hour, int minute)
{
    int64_t ms;
    assert_int_equal(dn_time_parse_date(date, &ms), 0);
    return ms + (int64_t)hour * 3600000 + (int64_t)minute * 60000;
}

/*  A sale of 10.00 by D1 at site, sent and stored.  */
static void s_sale_sent(fixture_t *fx, dn_tk_site_t *site, int minute)
{
    static const dn_tk_line_t line[] = {{"TEA", 1, 1000, NULL}};
    dn_tk_event_t e;
    dn_tk_batch_t batch;
    dn_ingest_result_t r;
    assert_int_equal(dn_tk_sale(&e, "D1", DEALERNET__CHANNEL__CHANNEL_STORE, NULL, line, 1),
                     0);
    dn_test_site_record(site, &e.ev, s_at("2026-03-05", 10, minute), NULL);
    assert_int_equal(dn_tk_batch(site, &batch), 0);
    assert_int_equal(dn_tk_ingest(fx->central->db, fx->ingest, &site->reg, &batch,
                                  s_at("2026-03-05", 11, 0), &r),
                     0);
    dn_tk_batch_free(&batch);
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

static void s_produce(fixture_t *fx, dn_tk_site_t *site, uint64_t from, size_t room,
                      dn_down_chunk_t *chunk, uint64_t *to, int *more)
{
    dn_down_ctx_t ctx = {&site->reg, s_at("2026-03-06", 9, 0)};
    memset(chunk, 0, sizeof *chunk);
    chunk->room = room;
    assert_int_equal(dn_down_chain.produce(fx->central->db, &ctx, from, chunk, to, more), 0);
}

/*  From 0: SHOP-1's three events, the very bytes stored; nothing more.  */
static void test_whole_chain(void **state)
{
    fixture_t *fx = *state;
    dn_down_chunk_t chunk;
    uint64_t to = 99;
    int more = 1;
    s_produce(fx, fx->shop1, 0, ROOM_MAX, &chunk, &to, &more);
    assert_int_equal(chunk.n, 3);
    assert_int_equal(to, 3);
    assert_int_equal(more, 0);
    for (size_t i = 0; i < 3; i++)
        s_assert_stored(fx, "SHOP-1", (int64_t)i + 1, chunk.event[i], chunk.len[i]);
    s_chunk_free(&chunk);
}

/*  A chunk with room for one, from seq 1: seq 2 alone, to 2, more; from
    the head: nothing, to stays, no more.  */
static void test_resume_and_budget(void **state)
{
    fixture_t *fx = *state;
    dn_down_chunk_t chunk;
    uint64_t to = 0;
    int more = 0;
    s_produce(fx, fx->shop1, 1, 1, &chunk, &to, &more);
    assert_int_equal(chunk.n, 1);
    assert_int_equal(to, 2);
    assert_int_equal(more, 1);
    s_assert_stored(fx, "SHOP-1", 2, chunk.event[0], chunk.len[0]);
    s_chunk_free(&chunk);
    s_produce(fx, fx->shop1, 3, ROOM_MAX, &chunk, &to, &more);
    assert_int_equal(chunk.n, 0);
    assert_int_equal(to, 3);
    assert_int_equal(more, 0);
}

/*  SHOP-2 gets its own one event, never SHOP-1's; the scope is the code.  */
static void test_own_site_only(void **state)
{
    fixture_t *fx = *state;
    dn_down_chunk_t chunk;
    dn_down_ctx_t ctx = {&fx->shop2->reg, 0};
    uint8_t scope[DN_DOWN_SCOPE_MAX];
    size_t scope_len = 0;
    uint64_t to = 0;
    int more = 0;
    s_produce(fx, fx->shop2, 0, ROOM_MAX, &chunk, &to, &more);
    assert_int_equal(chunk.n, 1);
    assert_int_equal(to, 1);
    s_assert_stored(fx, "SHOP-2", 1, chunk.event[0], chunk.len[0]);
    s_chunk_free(&chunk);
    assert_int_equal(dn_down_chain.scope(fx->central->db, &ctx, scope, &scope_len), 0);
    assert_int_equal(scope_len, 6);
    assert_memory_equal(scope, "SHOP-2", 6);
    assert_null(dn_down_chain.head);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_whole_chain, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_resume_and_budget, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_own_site_only, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
