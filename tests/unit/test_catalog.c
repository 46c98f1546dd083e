/*  test_catalog -- unit tests for HQ's catalogue (issue 14, part B): the
    server's table and STREAM_CATALOG producer (dn_catalog,
    dn_catalog_down) and the agent's applier and price rule (dn_hqcatalog,
    dn_record).

    The server's tree (partners added at 2026-01-01):
        HQ (hq, depth 1) -- R1 (region, 2) -- D1 (dealer, 3)
                         |               \-- D2 (dealer, 3)
                         \-- X1 (region, 2)
    The catalogue, in the order set (version = order):
        v1 network  COLA   3.50  from 2026-01-01
        v2 R1       COLA   3.40  from 2026-01-01
        v3 X1       COLA   3.00  from 2026-01-01     (not on D1's path)
        v4 D1       TEA    2.00  from 2026-01-01, fixed
        v5 network  TEA    2.50  from 2026-01-01
    A site of D1 sees v1, v2, v4, v5 (its path HQ, R1, D1 and the network),
    never v3.

    The producer is pulled through the downstream framework (dn_down_pull:
    its chunk, budget and signature); a small budget is the reply's, what
    the test kit's notes stream (dn_td_pull_stream) leaves of it.  The
    Down's items are decoded into a table of this file's for the checks.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dn_catalog.h"
#include "dn_crypto.h"
#include "../../server/dn_down.h" /* the server's: agent/ has a dn_down.h too */
#include "dn_error.h"
#include "dn_hqcatalog.h"
#include "dn_plan.h"
#include "dn_record.h"
#include "dn_registry.h"
#include "dn_store.h"
#include "dn_testctl.h"
#include "dn_testdown.h"
#include "dn_time.h"
#include "dn_tree.h"
#include "dn_wire.h"
#include "dn_test_central.h"

/* -- what the framework sends, decoded ------------------------------------------ */

#define S_MAX_ITEMS 64

typedef struct {
    size_t n;
    struct {
        char sku[DN_MAX_SKU_LEN + 1];
        char partner[DN_MAX_CODE_LEN + 1];
        int64_t price;
        uint32_t depth;
        int fixed, removed;
    } items[S_MAX_ITEMS];
} s_chunk_t;

/* -- the server's scenario --------------------------------------------------- */

static int64_t s_at(const char *date)
{
    int64_t ms = 0;
    assert_int_equal(dn_time_parse_date(date, &ms), 0);
    return ms;
}

static void s_partner(sqlite3 *db, const char *code, const char *kind, const char *parent)
{
    char why[256] = "";
    int rc = dn_registry_partner_add(db, code, code, kind, parent, s_at("2026-01-01"), why,
                                     sizeof why);
    if (rc)
        print_error("partner add %s: %s\n", code, why);
    assert_int_equal(rc, 0);
}

/*  catalog set, as the admin command does; returns the row's version.  */
static uint64_t s_set(sqlite3 *db, const char *sku, const char *price, const char *partner,
                      const char *fixed, int expect_changed)
{
    dn_catalog_text_t text = {sku, "名称", NULL, price, "2026-01-01", partner, fixed};
    dn_catalog_row_t row;
    char why[256] = "";
    uint64_t version = 0;
    int changed = -1, rc = dn_catalog_parse(db, &text, s_at("2026-03-01"), &row, why,
                                            sizeof why);
    if (rc)
        print_error("catalog parse: %s\n", why);
    assert_int_equal(rc, 0);
    assert_int_equal(dn_catalog_set(db, &row, s_at("2026-03-01"), &version, &changed), 0);
    assert_int_equal(changed, expect_changed);
    return version;
}

static void s_scenario(sqlite3 *db)
{
    dn_plan_t plan;
    char why[256] = "";
    int rc = dn_plan_set(db,
                         "[plan]\neffective = 2026-01-01\ncurrency = CNY\n"
                         "[levels]\n0 = 800\n",
                         s_at("2026-01-01"), &plan, why, sizeof why);
    if (rc)
        print_error("plan set: %s\n", why);
    assert_int_equal(rc, 0);
    s_partner(db, "HQ", "hq", NULL);
    s_partner(db, "R1", "region", "HQ");
    s_partner(db, "D1", "dealer", "R1");
    s_partner(db, "D2", "dealer", "R1");
    s_partner(db, "X1", "region", "HQ");
    assert_int_equal(s_set(db, "COLA", "3.50", NULL, NULL, 1), 1);
    assert_int_equal(s_set(db, "COLA", "3.40", "R1", NULL, 1), 2);
    assert_int_equal(s_set(db, "COLA", "3.00", "X1", NULL, 1), 3);
    assert_int_equal(s_set(db, "TEA", "2.00", "D1", "1", 1), 4);
    assert_int_equal(s_set(db, "TEA", "2.50", NULL, NULL, 1), 5);
}

/*  Pulls the catalogue for a site of partner at 2026-03-01 holding version
    from (in its scope now) through the framework, with room bytes of the
    reply's budget left for it; the Down's items decoded into chunk.  */
static void s_produce(sqlite3 *db, const char *partner, uint64_t from, size_t room,
                      s_chunk_t *chunk, uint64_t *to, int *more)
{
    static const dn_down_stream_t *const streams[] = {&dn_td_notes_stream,
                                                      &dn_down_catalog};
    dn_registry_site_t site = {.id = 1};
    const Dealernet__Down *d = NULL;
    Dealernet__SyncMessage *msg;
    dn_key_t *key = dn_td_key(0x30);
    dn_down_t *down;
    char why[DN_WHY_SIZE] = "";

    snprintf(site.code, sizeof site.code, "S1");
    snprintf(site.partner, sizeof site.partner, "%s", partner);
    assert_non_null(key);
    assert_non_null(down = dn_down_new_streams(db, key, streams, 2));
    msg = dn_td_pull_stream(down, db, &site, s_at("2026-03-01"), &dn_down_catalog, from,
                            NULL, room, &d, why, sizeof why);
    if (!msg)
        print_error("pull: %s\n", why);
    assert_non_null(msg);
    assert_int_equal(dn_td_down_verify(key, d), 0);
    assert_int_equal(d->from_version, from); /* the scope held is the site's */
    memset(chunk, 0, sizeof *chunk);
    assert_true(d->n_items <= S_MAX_ITEMS);
    for (size_t i = 0; i < d->n_items; i++) {
        Dealernet__DownItem *item = NULL;
        assert_int_equal(dn_wire_down_item_unpack(d->stream, d->items[i].data,
                                                  d->items[i].len, &item, why, sizeof why),
                         0);
        assert_int_equal(item->body_case, DEALERNET__DOWN_ITEM__BODY_CATALOG);
        const Dealernet__CatalogItem *c = item->catalog;
        snprintf(chunk->items[i].sku, sizeof chunk->items[0].sku, "%s", c->sku);
        snprintf(chunk->items[i].partner, sizeof chunk->items[0].partner, "%s",
                 c->partner ? c->partner : "");
        chunk->items[i].price = c->price;
        chunk->items[i].depth = c->depth;
        chunk->items[i].fixed = c->fixed;
        chunk->items[i].removed = c->removed;
        dn_wire_down_item_free(&item);
    }
    chunk->n = d->n_items;
    *to = d->to_version;
    *more = d->more;
    dn_wire_sync_free(&msg);
    dn_down_destroy(&down);
    dn_key_destroy(&key);
}

/*  The site of D1 gets the network's list and its path's, in version
    order, each with its list's depth; never X1's row; up to the head.  */
static void test_produce_path_depth_order(void **state)
{
    dn_test_central_t *fx = *state;
    s_chunk_t chunk;
    uint64_t to = 0;
    int more = -1;

    s_scenario(fx->db);
    s_produce(fx->db, "D1", 0, DN_DOWN_MAX_BYTES, &chunk, &to, &more);
    assert_int_equal(chunk.n, 4);
    assert_int_equal(to, 5);
    assert_int_equal(more, 0);
    /* v1 network COLA 3.50 */
    assert_string_equal(chunk.items[0].sku, "COLA");
    assert_string_equal(chunk.items[0].partner, "");
    assert_int_equal(chunk.items[0].depth, 0);
    assert_int_equal(chunk.items[0].price, 350);
    /* v2 R1 COLA 3.40: R1 is depth 2 (HQ 1) */
    assert_string_equal(chunk.items[1].partner, "R1");
    assert_int_equal(chunk.items[1].depth, 2);
    assert_int_equal(chunk.items[1].price, 340);
    /* v4 D1 TEA 2.00 fixed, depth 3 */
    assert_string_equal(chunk.items[2].sku, "TEA");
    assert_string_equal(chunk.items[2].partner, "D1");
    assert_int_equal(chunk.items[2].depth, 3);
    assert_int_equal(chunk.items[2].fixed, 1);
    /* v5 network TEA 2.50 */
    assert_string_equal(chunk.items[3].partner, "");
    assert_int_equal(chunk.items[3].price, 250);

    /* the site of X1: network rows and X1's (depth 2), not R1's nor D1's */
    s_produce(fx->db, "X1", 0, DN_DOWN_MAX_BYTES, &chunk, &to, &more);
    assert_int_equal(chunk.n, 3);
    assert_string_equal(chunk.items[1].partner, "X1");
    assert_int_equal(chunk.items[1].depth, 2);
    assert_int_equal(to, 5);

    /* nothing new: nothing sent, the site holds the head */
    s_produce(fx->db, "D1", 5, DN_DOWN_MAX_BYTES, &chunk, &to, &more);
    assert_int_equal(chunk.n, 0);
    assert_int_equal(to, 5);
    /* a change on X1's list only: nothing for D1, which moves to the head */
    assert_int_equal(s_set(fx->db, "COLA", "2.90", "X1", NULL, 1), 6);
    s_produce(fx->db, "D1", 5, DN_DOWN_MAX_BYTES, &chunk, &to, &more);
    assert_int_equal(chunk.n, 0);
    assert_int_equal(to, 6);
    /* the same set again changes nothing and takes no version */
    assert_int_equal(s_set(fx->db, "COLA", "2.90", "X1", NULL, 0), 6);
    assert_int_equal(s_set(fx->db, "COLA", "3.50", NULL, NULL, 0), 1);
}

/*  A budget that holds two items stops there with more, at the second
    item's version; the next pull from there brings the rest.  */
static void test_produce_budget_more(void **state)
{
    dn_test_central_t *fx = *state;
    s_chunk_t chunk;
    Dealernet__DownItem item = DEALERNET__DOWN_ITEM__INIT;
    Dealernet__CatalogItem cat = DEALERNET__CATALOG_ITEM__INIT;
    size_t one;
    uint64_t to = 0;
    int more = 0;

    s_scenario(fx->db);
    /* the size of v1's item: COLA, 名称 (6 bytes), 350, 2026-01-01, depth 0;
       v2's adds its partner (R1, 4 bytes) and depth 2 (2 bytes) */
    cat.sku = "COLA";
    cat.name = "名称";
    cat.has_price = 1;
    cat.price = 350;
    cat.has_effective_ms = 1;
    cat.effective_ms = s_at("2026-01-01");
    cat.has_depth = 1;
    item.body_case = DEALERNET__DOWN_ITEM__BODY_CATALOG;
    item.catalog = &cat;
    one = dealernet__down_item__get_packed_size(&item);
    s_produce(fx->db, "D1", 0, 2 * one + 6, &chunk, &to, &more);
    assert_int_equal(chunk.n, 2);
    assert_int_equal(more, 1);
    assert_int_equal(to, 2); /* v1, v2 sent */
    s_produce(fx->db, "D1", 2, DN_DOWN_MAX_BYTES, &chunk, &to, &more);
    assert_int_equal(chunk.n, 2); /* v4, v5 */
    assert_string_equal(chunk.items[0].partner, "D1");
    assert_int_equal(more, 0);
    assert_int_equal(to, 5);
}

/*  A price set while the network kept UTC days (effective 2026-01-01,
    stored at 2026-01-01T00:00Z) is removed by the day it shows once the
    network has its zone: in Asia/Shanghai "2026-01-01" parses to
    2025-12-31T16:00Z, and the row at 08:00 that day is the one meant.  */
static void test_remove_zoned(void **state)
{
    dn_test_central_t *fx = *state;
    char why[256] = "";
    size_t removed = 0;
    uint64_t version = 0;
    int rc;

    s_scenario(fx->db);
    assert_int_equal(dn_time_zone_set("Asia/Shanghai", s_at("2026-02-01")), 0);
    rc = dn_catalog_remove(fx->db, "COLA", NULL, 1, s_at("2026-01-01"), s_at("2026-03-01"),
                           &removed, &version, why, sizeof why);
    assert_int_equal(dn_time_zone_set(DN_TIME_ZONE_UTC, 0), 0);
    assert_int_equal(rc, 0);
    assert_int_equal(removed, 1);
    assert_int_equal(version, 6); /* five rows set by the scenario, then this one */
}

/*  A removal is sent as a removed item to a site that holds the row, and
    not at all to one that holds nothing; a row set again comes back.  */
static void test_produce_removed(void **state)
{
    dn_test_central_t *fx = *state;
    s_chunk_t chunk;
    char why[256] = "";
    size_t removed = 0;
    uint64_t to = 0, version = 0;
    int more = 0;

    s_scenario(fx->db);
    assert_int_equal(dn_catalog_remove(fx->db, "TEA", "D1", 0, 0, s_at("2026-03-01"),
                                       &removed, &version, why, sizeof why),
                     0);
    assert_int_equal(removed, 1);
    assert_int_equal(version, 6);
    assert_int_equal(dn_catalog_remove(fx->db, "TEA", "D1", 0, 0, s_at("2026-03-01"),
                                       &removed, &version, why, sizeof why),
                     DN_ENOENT);
    assert_string_equal(why, "SKU TEA is not on D1's price list");
    s_produce(fx->db, "D1", 5, DN_DOWN_MAX_BYTES, &chunk, &to, &more);
    assert_int_equal(chunk.n, 1);
    assert_string_equal(chunk.items[0].sku, "TEA");
    assert_string_equal(chunk.items[0].partner, "D1");
    assert_int_equal(chunk.items[0].depth, 3);
    assert_int_equal(chunk.items[0].removed, 1);
    assert_int_equal(to, 6);
    /* from 0 (nothing held): v1, v2, v5; the removed row is left out */
    s_produce(fx->db, "D1", 0, DN_DOWN_MAX_BYTES, &chunk, &to, &more);
    assert_int_equal(chunk.n, 3);
    assert_int_equal(to, 6);
    /* set again: back, under a new version */
    assert_int_equal(s_set(fx->db, "TEA", "2.00", "D1", "1", 1), 7);
}

/*  The scope is SHA-256 of the path, top first, one code a line: sites of
    D1 and D2 differ, a move of D1 changes its scope and brings X1's list
    with X1's depth.  */
static void test_scope_path(void **state)
{
    dn_test_central_t *fx = *state;
    dn_registry_site_t site = {.id = 1};
    dn_down_ctx_t ctx = {.site = &site, .now_ms = s_at("2026-03-01")};
    uint8_t scope[DN_DOWN_SCOPE_MAX], want[DN_HASH_BYTES], d2[DN_DOWN_SCOPE_MAX];
    size_t len = 0, d2_len = 0;
    s_chunk_t chunk;
    char why[256] = "";
    uint64_t to = 0;
    int more = 0;

    s_scenario(fx->db);
    snprintf(site.partner, sizeof site.partner, "D1");
    assert_int_equal(dn_down_catalog.scope(fx->db, &ctx, scope, &len), 0);
    assert_int_equal(len, DN_HASH_BYTES);
    assert_int_equal(dn_sha256("HQ\nR1\nD1\n", 9, want), 0);
    assert_memory_equal(scope, want, DN_HASH_BYTES);
    snprintf(site.partner, sizeof site.partner, "D2");
    assert_int_equal(dn_down_catalog.scope(fx->db, &ctx, d2, &d2_len), 0);
    assert_memory_not_equal(scope, d2, DN_HASH_BYTES);

    /* D1 moves under X1 from 2026-02-01 */
    assert_int_equal(dn_tree_move(fx->db, "D1", "X1", s_at("2026-02-01"), why, sizeof why),
                     0);
    snprintf(site.partner, sizeof site.partner, "D1");
    assert_int_equal(dn_down_catalog.scope(fx->db, &ctx, scope, &len), 0);
    assert_int_equal(dn_sha256("HQ\nX1\nD1\n", 9, want), 0);
    assert_memory_equal(scope, want, DN_HASH_BYTES);
    s_produce(fx->db, "D1", 0, DN_DOWN_MAX_BYTES, &chunk, &to, &more);
    assert_int_equal(chunk.n, 4); /* v1, v3 (X1, depth 2), v4, v5 */
    assert_string_equal(chunk.items[1].partner, "X1");
    assert_int_equal(chunk.items[1].depth, 2);
    assert_int_equal(chunk.items[1].price, 300);
    /* the head moves with every change */
    assert_int_equal(dn_down_catalog.head(fx->db, &to), 0);
    assert_int_equal(to, 5);
}

/*  An import in two parts: a bad row in part 2 refuses the file (nothing
    stored, the staging gone) naming the file's line and field; the good
    file is stored whole on its last part; the same file again changes
    nothing.  */
static void test_import_parts(void **state)
{
    dn_test_central_t *fx = *state;
    json_t *result = NULL;
    char why[256] = "";
    uint64_t head = 0;
    int64_t now = s_at("2026-03-01");

    s_scenario(fx->db);
    assert_int_equal(dn_catalog_import_part(fx->db, "ab01", 1, 0, 2,
                                            "sku,name,category,price,effective\n"
                                            "A1,苹果,fruit,1.00,2026-01-01\n",
                                            now, &result, why, sizeof why),
                     0);
    json_decref(result);
    /* file line 3 is part 2's first row */
    assert_int_equal(dn_catalog_import_part(fx->db, "ab01", 2, 1, 3,
                                            "sku,name,category,price,effective\n"
                                            "A2,梨,Fruit,1.20,2026-01-01\n"
                                            "苹果,苹果,fruit,1.00,2026-01-01\n",
                                            now, &result, why, sizeof why),
                     DN_EPARSE);
    assert_string_equal(why, "line 4, sku: '苹果' is not a SKU: codes are ASCII (1 to 64 "
                             "printable characters but space, ':' and '@'), names are not");
    assert_int_equal(dn_catalog_head(fx->db, &head), 0);
    assert_int_equal(head, 5);
    /* the upload is gone: its next part is refused */
    assert_int_equal(dn_catalog_import_part(fx->db, "ab01", 3, 1, 5,
                                            "sku,name,category,price,effective\n", now,
                                            &result, why, sizeof why),
                     DN_EINVAL);

    for (int round = 0; round < 2; round++) {
        assert_int_equal(dn_catalog_import_part(fx->db, "cd02", 1, 0, 2,
                                                "sku,name,category,price,effective\n"
                                                "A1,苹果,fruit,1.00,2026-01-01\n",
                                                now, &result, why, sizeof why),
                         0);
        json_decref(result);
        assert_int_equal(dn_catalog_import_part(fx->db, "cd02", 2, 1, 3,
                                                "sku,name,category,price,effective\n"
                                                "A2,梨,Fruit,1.20,2026-01-01\n",
                                                now, &result, why, sizeof why),
                         0);
        /* round 0: 2 rows, versions 6 and 7; round 1: nothing changes */
        assert_int_equal(json_integer_value(json_object_get(result, "rows")), 2);
        assert_int_equal(json_integer_value(json_object_get(result, "changed")),
                         round == 0 ? 2 : 0);
        assert_int_equal(json_integer_value(json_object_get(result, "version")), 7);
        json_decref(result);
    }
}

/* -- the agent ----------------------------------------------------------------- */

typedef struct {
    char dir[64];
    dn_store_t *store;
} agent_fx_t;

static int s_agent_setup(void **state)
{
    agent_fx_t *fx = calloc(1, sizeof *fx);
    int err = 0;
    if (!fx)
        return -1;
    snprintf(fx->dir, sizeof fx->dir, "/tmp/test_catalog.XXXXXX");
    if (!mkdtemp(fx->dir) || dn_store_create(fx->dir, "SHOP-01", "D1", "CNY") != 0 ||
        !(fx->store = dn_store_open(fx->dir, &err))) {
        free(fx);
        return -1;
    }
    *state = fx;
    return 0;
}

static int s_agent_teardown(void **state)
{
    agent_fx_t *fx = *state;
    int rc;
    dn_store_destroy(&fx->store);
    rc = dn_tk_remove_tree(fx->dir);
    free(fx);
    dn_testctl_set_clock(NULL, NULL);
    return rc;
}

/*  Items to apply.  */
typedef struct {
    Dealernet__DownItem item;
    Dealernet__CatalogItem cat;
} s_item_t;

static void s_item(s_item_t *it, const char *sku, const char *partner, uint32_t depth,
                   int64_t price, const char *from, int fixed, int removed)
{
    dealernet__down_item__init(&it->item);
    dealernet__catalog_item__init(&it->cat);
    it->cat.sku = (char *)sku;
    it->cat.name = (char *)"可口可乐";
    it->cat.category = (char *)"drinks";
    it->cat.partner = (char *)partner;
    it->cat.has_depth = 1;
    it->cat.depth = depth;
    it->cat.has_price = 1;
    it->cat.price = price;
    it->cat.has_effective_ms = 1;
    it->cat.effective_ms = s_at(from);
    it->cat.has_fixed = it->cat.fixed = fixed;
    it->cat.has_removed = it->cat.removed = removed;
    it->item.body_case = DEALERNET__DOWN_ITEM__BODY_CATALOG;
    it->item.catalog = &it->cat;
}

static int s_apply(dn_store_t *store, int reset, s_item_t *items, size_t n, char *why)
{
    Dealernet__DownItem *ptrs[8];
    int rc;
    for (size_t i = 0; i < n; i++)
        ptrs[i] = &items[i].item;
    assert_int_equal(dn_store_begin(store), 0);
    rc = dn_down_apply_catalog.apply(dn_store_db(store), reset, ptrs, n, why, 256);
    if (rc == 0)
        assert_int_equal(dn_store_commit(store), 0);
    else
        dn_store_rollback(store);
    return rc;
}

static int64_t s_price(dn_store_t *store, const char *sku, const char *at, int *fixed)
{
    dn_hqcatalog_price_t p;
    int rc = dn_hqcatalog_price(dn_store_db(store), sku, s_at(at), &p);
    if (rc == DN_ENOENT)
        return -1;
    assert_int_equal(rc, 0);
    if (fixed)
        *fixed = p.fixed;
    return p.price;
}

/*  The price rule: the deepest list with a row in force, its latest day;
    future rows wait; a removed row is gone; reset drops everything; a bad
    item is refused and nothing applies.  */
static void test_apply_price_rule(void **state)
{
    agent_fx_t *fx = *state;
    s_item_t it[6];
    char why[256] = "";
    int fixed = -1;

    s_item(&it[0], "COLA", NULL, 0, 350, "2026-01-01", 0, 0); /* network */
    s_item(&it[1], "COLA", NULL, 0, 360, "2026-02-01", 0, 0); /* network, later */
    s_item(&it[2], "COLA", "R1", 2, 340, "2026-01-01", 0, 0); /* region */
    s_item(&it[3], "COLA", "D1", 3, 320, "2026-06-01", 1, 0); /* dealer, future */
    s_item(&it[4], "TEA", NULL, 0, 250, "2026-09-01", 0, 0);  /* only in the future */
    assert_int_equal(s_apply(fx->store, 0, it, 5, why), 0);

    /* 2026-03-01: R1's list (depth 2) wins over the network's 3.60 */
    assert_int_equal(s_price(fx->store, "COLA", "2026-03-01", &fixed), 340);
    assert_int_equal(fixed, 0);
    /* 2026-07-01: D1's (depth 3) is in force, fixed */
    assert_int_equal(s_price(fx->store, "COLA", "2026-07-01", &fixed), 320);
    assert_int_equal(fixed, 1);
    /* TEA has no row in force before 2026-09-01: the local catalog applies */
    assert_int_equal(s_price(fx->store, "TEA", "2026-03-01", NULL), -1);
    assert_int_equal(s_price(fx->store, "TEA", "2026-09-01", NULL), 250);

    /* R1's row removed: the network's latest in force, 3.60 */
    s_item(&it[5], "COLA", "R1", 2, 340, "2026-01-01", 0, 1);
    assert_int_equal(s_apply(fx->store, 0, &it[5], 1, why), 0);
    assert_int_equal(s_price(fx->store, "COLA", "2026-03-01", NULL), 360);
    /* the same row again replaces it (one row per key) */
    s_item(&it[0], "COLA", NULL, 0, 365, "2026-02-01", 0, 0);
    assert_int_equal(s_apply(fx->store, 0, it, 1, why), 0);
    assert_int_equal(s_price(fx->store, "COLA", "2026-03-01", NULL), 365);

    /* a bad item: refused, nothing of the Down applied */
    s_item(&it[0], "SODA", NULL, 0, 100, "2026-01-01", 0, 0);
    s_item(&it[1], "SODA", "D1", 0, 100, "2026-01-01", 0, 0); /* a partner at depth 0 */
    assert_int_equal(s_apply(fx->store, 0, it, 2, why), DN_EPROTO);
    assert_string_equal(why, "catalog item 1 (SODA): bad list or depth");
    assert_int_equal(s_price(fx->store, "SODA", "2026-03-01", NULL), -1);

    /* reset: everything held goes before the Down's items */
    s_item(&it[0], "SODA", NULL, 0, 100, "2026-01-01", 0, 0);
    assert_int_equal(s_apply(fx->store, 1, it, 1, why), 0);
    assert_int_equal(s_price(fx->store, "COLA", "2026-07-01", NULL), -1);
    assert_int_equal(s_price(fx->store, "SODA", "2026-03-01", NULL), 100);
}

static int64_t s_clock(void *arg)
{
    return *(const int64_t *)arg;
}

/*  At the till: a SKU of HQ's catalogue takes its price and category; a
    fixed price cannot be changed, another can; a SKU not in it takes the
    local catalog's.  The sale keeps the price it was sold at.  */
static void test_till(void **state)
{
    agent_fx_t *fx = *state;
    static int64_t now;
    s_item_t it[2];
    dn_record_line_t line = {.quantity = 2};
    dn_sale_input_t in = {.lines = &line, .n_lines = 1};
    dn_record_result_t out;
    char why[256] = "";

    now = s_at("2026-07-01") + 3600 * 1000;
    dn_testctl_set_clock(s_clock, &now);
    s_item(&it[0], "COLA", NULL, 0, 350, "2026-01-01", 0, 0);
    s_item(&it[1], "TEA", "D1", 3, 5990, "2026-01-01", 1, 0);
    assert_int_equal(s_apply(fx->store, 0, it, 2, why), 0);
    assert_int_equal(dn_store_catalog_set(fx->store, "SOAP", 325, "home"), 0);
    assert_int_equal(dn_store_catalog_set(fx->store, "COLA", 999, NULL), 0);

    /* COLA:2 at HQ's 3.50 (not the local 9.99): 7.00 */
    snprintf(line.sku, sizeof line.sku, "COLA");
    assert_int_equal(dn_record_sale(fx->store, &in, &out, why, sizeof why), 0);
    assert_int_equal(out.amount, 700);
    /* COLA:2@3.00: not fixed, allowed: 6.00 */
    line.has_price = 1;
    line.unit_price = 300;
    assert_int_equal(dn_record_sale(fx->store, &in, &out, why, sizeof why), 0);
    assert_int_equal(out.amount, 600);
    /* TEA:2@50.00: fixed at 59.90, refused */
    snprintf(line.sku, sizeof line.sku, "TEA");
    line.unit_price = 5000;
    assert_int_equal(dn_record_sale(fx->store, &in, &out, why, sizeof why), DN_EPERM);
    assert_string_equal(why, "the price of TEA is fixed by headquarters at 59.90; sell it "
                             "as TEA:2");
    /* TEA:2@59.90, its own price: 119.80 */
    line.unit_price = 5990;
    assert_int_equal(dn_record_sale(fx->store, &in, &out, why, sizeof why), 0);
    assert_int_equal(out.amount, 11980);
    /* SOAP:2, local only: 6.50 */
    snprintf(line.sku, sizeof line.sku, "SOAP");
    line.has_price = 0;
    assert_int_equal(dn_record_sale(fx->store, &in, &out, why, sizeof why), 0);
    assert_int_equal(out.amount, 650);

    /* HQ changes COLA to 4.00: the first sale keeps 3.50 */
    s_item(&it[0], "COLA", NULL, 0, 400, "2026-01-01", 0, 0);
    assert_int_equal(s_apply(fx->store, 0, it, 1, why), 0);
    {
        sqlite3_stmt *stmt;
        assert_int_equal(sqlite3_prepare_v2(dn_store_db(fx->store),
                                            "SELECT unit_price, category FROM sale_lines "
                                            "WHERE sku = 'COLA' ORDER BY rowid LIMIT 1",
                                            -1, &stmt, NULL),
                         SQLITE_OK);
        assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
        assert_int_equal(sqlite3_column_int64(stmt, 0), 350);
        assert_string_equal((const char *)sqlite3_column_text(stmt, 1), "drinks");
        sqlite3_finalize(stmt);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_produce_path_depth_order, dn_test_central_setup,
                                        dn_test_central_teardown),
        cmocka_unit_test_setup_teardown(test_produce_budget_more, dn_test_central_setup,
                                        dn_test_central_teardown),
        cmocka_unit_test_setup_teardown(test_produce_removed, dn_test_central_setup,
                                        dn_test_central_teardown),
        cmocka_unit_test_setup_teardown(test_scope_path, dn_test_central_setup,
                                        dn_test_central_teardown),
        cmocka_unit_test_setup_teardown(test_import_parts, dn_test_central_setup,
                                        dn_test_central_teardown),
        cmocka_unit_test_setup_teardown(test_apply_price_rule, s_agent_setup,
                                        s_agent_teardown),
        cmocka_unit_test_setup_teardown(test_till, s_agent_setup, s_agent_teardown),
        cmocka_unit_test_setup_teardown(test_remove_zoned, dn_test_central_setup,
                                        dn_test_central_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
