/*  test_record -- unit tests for the agent's recording path: dn_record on
    top of dn_outbox and dn_store.

    A clerk who saw "recorded" relies on three things, and each is checked
    here against figures worked out by hand: the event is in the outbox with
    the next seq and chained to its predecessor by SHA-256 of the exact
    stored bytes; the projections (sales, lines, refunds, members) carry the
    right amounts to the fen; and a refused recording (over-refund, unknown
    sale or SKU, duplicate phone, missing price, bad input) writes nothing
    at all -- the whole database reads the same before and after, and no
    transaction is left open.  The chain check (dn_outbox_check) is shown
    to accept the honest log and to point at the exact seq of a changed
    byte, a re-hashed forgery, an undecodable body and a deleted row; what
    sync reads from the outbox (batches, position, acks) is the stored
    bytes.  Each test builds its own site in a mkdtemp folder and removes it
    at the end.

    The standard scenario (site SHOP-01 of partner DLR-7, CNY, exponent 2;
    catalog TEA-500 45.50 "drinks", RICE-5KG 89.90 "grain"):
      1 sale A   TEA-500:3 (catalog 45.50) + RICE-5KG:2@85.00 + SOAP:4@3.25
                 = 136.50 + 170.00 + 13.00 = 319.50
      2 member   +86 138-0013-8000, 王小明, referred by DLR-7, household 3
      3 sale B   TEA-500:2 = 91.00, community, seller GL-9, that member
      4 refund A TEA-500:1 + SOAP:2 = 45.50 + 6.50 = 52.00  (refunded 52.00)
      5 refund A amount 100.00                          (refunded 152.00)
      6 update   +8613800138000 -> 王晓明, household 4
      7 refund A the rest: 319.50 - 152.00 = 167.50      (refunded 319.50)
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "dn_crypto.h"
#include "dn_error.h"
#include "dn_id.h"
#include "dn_outbox.h"
#include "dn_record.h"
#include "dn_store.h"
#include "dn_wire.h"
#include "dn_testkit.h"
#include "dn_test_record.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

#define NAME_1 "\xe7\x8e\x8b\xe5\xb0\x8f\xe6\x98\x8e" /* 王小明 */
#define NAME_2 "\xe7\x8e\x8b\xe6\x99\x93\xe6\x98\x8e" /* 王晓明 */
#define PHONE  "+8613800138000"
#define EVENTS 7

typedef struct {
    char dir[64];
    dn_store_t *store;
    uint8_t sale_a[DN_ID_BYTES];
    uint8_t sale_b[DN_ID_BYTES];
    uint8_t member[DN_ID_BYTES];
} fixture_t;

static int s_setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    int err = 0;
    if (!fx)
        return -1;
    snprintf(fx->dir, sizeof fx->dir, "/tmp/test_record.XXXXXX");
    if (!mkdtemp(fx->dir) || dn_store_create(fx->dir, "SHOP-01", "DLR-7", "CNY") != 0 ||
        !(fx->store = dn_store_open(fx->dir, &err))) {
        free(fx);
        return -1;
    }
    *state = fx;
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *fx = *state;
    int rc;
    dn_store_destroy(&fx->store);
    rc = dn_tk_remove_tree(fx->dir);
    free(fx);
    return rc;
}

/* -- reading the database directly ------------------------------------------ */

static int64_t s_int(dn_store_t *store, const char *sql)
{
    sqlite3_stmt *stmt;
    int64_t v;
    assert_int_equal(sqlite3_prepare_v2(dn_store_db(store), sql, -1, &stmt, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    v = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return v;
}

static int64_t s_events(dn_store_t *store)
{
    return s_int(store, "SELECT count(*) FROM events");
}

/*  Every projection row and the outbox's shape as one string, to show that
    a refused recording changed nothing.  */
static char *s_fingerprint(dn_store_t *store)
{
    static const char *sql =
        "SELECT (SELECT count(*) || ',' || coalesce(max(seq), 0) || ',' || "
        "        coalesce(sum(length(body)), 0) FROM events) || ';' || "
        "  (SELECT coalesce(group_concat(s, ','), '') FROM (SELECT seq || ':' || total "
        "      || ':' || refunded AS s FROM sales ORDER BY seq)) || ';' || "
        "  (SELECT coalesce(group_concat(s, ','), '') FROM (SELECT hex(sale_id) || ':' "
        "      || sku || ':' || refunded_qty AS s FROM sale_lines "
        "      ORDER BY sale_id, line_no)) || ';' || "
        "  (SELECT coalesce(group_concat(s, ','), '') FROM (SELECT seq || ':' || amount "
        "      AS s FROM refunds ORDER BY seq)) || ';' || "
        "  (SELECT coalesce(group_concat(s, ','), '') FROM (SELECT phone || ':' || "
        "      coalesce(name, '') || ':' || coalesce(household, '') AS s FROM members "
        "      ORDER BY seq))";
    sqlite3_stmt *stmt;
    char *text;
    assert_int_equal(sqlite3_prepare_v2(dn_store_db(store), sql, -1, &stmt, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    text = strdup((const char *)sqlite3_column_text(stmt, 0));
    assert_non_null(text);
    sqlite3_finalize(stmt);
    return text;
}

/*  total and refunded of a sale, from the projection.  */
static void s_sale(dn_store_t *store, const uint8_t id[DN_ID_BYTES], int64_t *total,
                   int64_t *refunded)
{
    dn_store_sale_t sale = {-1, -1};
    assert_int_equal(dn_store_sale_get(store, id, &sale), 0);
    *total = sale.total;
    *refunded = sale.refunded;
}

static int64_t s_refunded_qty(dn_store_t *store, const uint8_t id[DN_ID_BYTES],
                              const char *sku)
{
    dn_store_line_t line = {-1, -1, -1};
    assert_int_equal(dn_store_line_get(store, id, sku, &line), 0);
    return line.refunded_qty;
}

/*  Copies the stored body of an event; caller frees.  */
static uint8_t *s_body(dn_store_t *store, int64_t seq, size_t *len)
{
    sqlite3_stmt *stmt;
    uint8_t *body;
    assert_int_equal(sqlite3_prepare_v2(dn_store_db(store),
                                        "SELECT body FROM events WHERE seq = ?", -1,
                                        &stmt, NULL),
                     SQLITE_OK);
    sqlite3_bind_int64(stmt, 1, seq);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    *len = (size_t)sqlite3_column_bytes(stmt, 0);
    body = malloc(*len ? *len : 1);
    assert_non_null(body);
    memcpy(body, sqlite3_column_blob(stmt, 0), *len);
    sqlite3_finalize(stmt);
    return body;
}

/*  Replaces an event's body (and, when hash is given, its stored hash), as
    someone with the sqlite3 shell would.  */
static void s_set_body(dn_store_t *store, int64_t seq, const uint8_t *body, size_t len,
                       const uint8_t *hash)
{
    sqlite3_stmt *stmt;
    assert_int_equal(
        sqlite3_prepare_v2(dn_store_db(store),
                           "UPDATE events SET body = ?, hash = coalesce(?, hash) "
                           "WHERE seq = ?",
                           -1, &stmt, NULL),
        SQLITE_OK);
    sqlite3_bind_blob(stmt, 1, body, (int)len, SQLITE_TRANSIENT);
    if (hash)
        sqlite3_bind_blob(stmt, 2, hash, DN_HASH_BYTES, SQLITE_TRANSIENT);
    sqlite3_bind_int64(stmt, 3, seq);
    assert_int_equal(sqlite3_step(stmt), SQLITE_DONE);
    assert_int_equal(sqlite3_changes(dn_store_db(store)), 1);
    sqlite3_finalize(stmt);
}

/* -- recording helpers --------------------------------------------------- */

/*  Asserts a refusal: its code, words in the reason, and an unchanged
    database with no transaction left open.  */
#define ASSERT_REFUSED(store, call, code, words)                                         \
    do {                                                                                 \
        char *before_ = s_fingerprint(store);                                            \
        char why[DN_WHY_SIZE] = "";                                                      \
        int rc_ = (call);                                                                \
        if (rc_ != (code) || !strstr(why, (words)))                                      \
            print_error("%s: rc %d \"%s\"\n", #call, rc_, why);                          \
        assert_int_equal(rc_, (code));                                                   \
        assert_non_null(strstr(why, (words)));                                           \
        char *after_ = s_fingerprint(store);                                             \
        assert_string_equal(after_, before_);                                            \
        assert_int_equal(sqlite3_get_autocommit(dn_store_db(store)), 1);                 \
        free(before_);                                                                   \
        free(after_);                                                                    \
    } while (0)

/*  Records the standard scenario (see the banner), checking each result.  */
static void s_record_scenario(fixture_t *fx)
{
    dn_store_t *store = fx->store;
    dn_record_result_t out;
    char why[DN_WHY_SIZE] = "";

    assert_int_equal(dn_store_catalog_set(store, "TEA-500", 4550, "drinks"), 0);
    assert_int_equal(dn_store_catalog_set(store, "RICE-5KG", 8990, "grain"), 0);
    assert_int_equal(s_events(store), 0); /* the catalog is not an event */

    /* 1: sale A */
    dn_record_line_t a_lines[] = {dn_test_line("TEA-500:3"),
                                  dn_test_line("RICE-5KG:2@85.00"),
                                  dn_test_line("SOAP:4@3.25")};
    dn_sale_input_t sale_a = {a_lines, 3, NULL, NULL, NULL, NULL};
    assert_int_equal(dn_record_sale(store, &sale_a, &out, why, sizeof why), 0);
    assert_int_equal(out.seq, 1);
    assert_int_equal(out.amount, 31950);
    memcpy(fx->sale_a, out.id, DN_ID_BYTES);

    /* 2: member */
    dn_member_input_t member = {"+86 138-0013-8000", NAME_1, "DLR-7", 1, 3};
    assert_int_equal(dn_record_member_add(store, &member, &out, why, sizeof why), 0);
    assert_int_equal(out.seq, 2);
    memcpy(fx->member, out.id, DN_ID_BYTES);

    /* 3: sale B, the phone typed another way */
    dn_record_line_t b_lines[] = {dn_test_line("TEA-500:2")};
    dn_sale_input_t sale_b = {b_lines, 1, "+86 138 0013 8000", "community", "GL-9", NULL};
    assert_int_equal(dn_record_sale(store, &sale_b, &out, why, sizeof why), 0);
    assert_int_equal(out.seq, 3);
    assert_int_equal(out.amount, 9100);
    memcpy(fx->sale_b, out.id, DN_ID_BYTES);

    /* 4: refund A by lines */
    dn_record_line_t r_lines[] = {dn_test_line("TEA-500:1"), dn_test_line("SOAP:2")};
    dn_refund_input_t refund = {{0}, r_lines, 2, 0, 0};
    memcpy(refund.sale_id, fx->sale_a, DN_ID_BYTES);
    assert_int_equal(dn_record_refund(store, &refund, &out, why, sizeof why), 0);
    assert_int_equal(out.seq, 4);
    assert_int_equal(out.amount, 5200);

    /* 5: refund A by amount */
    dn_refund_input_t by_amount = {{0}, NULL, 0, 1, 10000};
    memcpy(by_amount.sale_id, fx->sale_a, DN_ID_BYTES);
    assert_int_equal(dn_record_refund(store, &by_amount, &out, why, sizeof why), 0);
    assert_int_equal(out.seq, 5);
    assert_int_equal(out.amount, 10000);

    /* 6: member update */
    dn_member_input_t update = {PHONE, NAME_2, NULL, 1, 4};
    assert_int_equal(dn_record_member_update(store, &update, &out, why, sizeof why), 0);
    assert_int_equal(out.seq, 6);

    /* 7: refund the rest of A */
    dn_refund_input_t rest = {{0}, NULL, 0, 0, 0};
    memcpy(rest.sale_id, fx->sale_a, DN_ID_BYTES);
    assert_int_equal(dn_record_refund(store, &rest, &out, why, sizeof why), 0);
    assert_int_equal(out.seq, 7);
    assert_int_equal(out.amount, 16750);
}

/* -- tests --------------------------------------------------------------- */

static void test_store_settings(void **state)
{
    fixture_t *fx = *state;
    const dn_store_info_t *info = dn_store_info(fx->store);
    int err = 12345;

    assert_string_equal(info->site, "SHOP-01");
    assert_string_equal(info->partner, "DLR-7");
    assert_string_equal(info->currency, "CNY");
    assert_int_equal(info->exponent, 2);
    assert_int_equal(dn_store_create(fx->dir, "SHOP-01", "DLR-7", "CNY"), DN_EEXIST);
    assert_int_equal(dn_store_create(fx->dir, "1SHOP", "DLR-7", "CNY"), DN_EINVAL);
    assert_int_equal(dn_store_create(fx->dir, "SHOP-02", "DLR-7", "XXX"), DN_EINVAL);

    char empty[80];
    snprintf(empty, sizeof empty, "%s/none", fx->dir);
    assert_null(dn_store_open(empty, &err));
    assert_int_equal(err, DN_ENOENT);
    assert_int_equal(s_events(fx->store), 0);
}

static void test_scenario(void **state)
{
    fixture_t *fx = *state;
    dn_store_t *store = fx->store;
    int64_t total, refunded;

    s_record_scenario(fx);
    assert_int_equal(s_events(store), EVENTS);
    assert_int_equal(s_int(store, "SELECT min(seq) FROM events"), 1);
    assert_int_equal(s_int(store, "SELECT max(seq) FROM events"), EVENTS);
    assert_int_equal(s_int(store, "SELECT count(*) FROM events WHERE synced = 0"),
                     EVENTS);

    s_sale(store, fx->sale_a, &total, &refunded);
    assert_int_equal(total, 31950);
    assert_int_equal(refunded, 5200 + 10000 + 16750);
    assert_int_equal(refunded, 31950);
    s_sale(store, fx->sale_b, &total, &refunded);
    assert_int_equal(total, 9100);
    assert_int_equal(refunded, 0);
    assert_int_equal(s_refunded_qty(store, fx->sale_a, "TEA-500"), 1);
    assert_int_equal(s_refunded_qty(store, fx->sale_a, "RICE-5KG"), 0);
    assert_int_equal(s_refunded_qty(store, fx->sale_a, "SOAP"), 2);
    assert_int_equal(s_refunded_qty(store, fx->sale_b, "TEA-500"), 0);
    assert_int_equal(s_int(store, "SELECT sum(amount) FROM refunds"), 31950);
    assert_int_equal(s_int(store, "SELECT group_concat(seq, '') FROM "
                                  "(SELECT seq FROM refunds ORDER BY seq)"),
                     457);

    char *fp = s_fingerprint(store);
    char expect[512];
    char a_hex[33], b_hex[33];
    for (int i = 0; i < DN_ID_BYTES; i++) {
        snprintf(a_hex + 2 * i, 3, "%02X", fx->sale_a[i]);
        snprintf(b_hex + 2 * i, 3, "%02X", fx->sale_b[i]);
    }
    /* sale A's id is older than B's, so its lines sort first */
    snprintf(expect, sizeof expect,
             "7,7,%lld;1:31950:31950,3:9100:0;"
             "%s:TEA-500:1,%s:RICE-5KG:0,%s:SOAP:2,%s:TEA-500:0;"
             "4:5200,5:10000,7:16750;" PHONE ":" NAME_2 ":4",
             (long long)s_int(store, "SELECT sum(length(body)) FROM events"), a_hex,
             a_hex, a_hex, b_hex);
    assert_string_equal(fp, expect);
    free(fp);

    uint8_t found[DN_ID_BYTES];
    assert_int_equal(dn_store_member_find(store, PHONE, found), 0);
    assert_memory_equal(found, fx->member, DN_ID_BYTES);
    sqlite3_stmt *stmt;
    assert_int_equal(sqlite3_prepare_v2(dn_store_db(store),
                                        "SELECT referrer, seq FROM members", -1, &stmt,
                                        NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(stmt, 0), "DLR-7");
    assert_int_equal(sqlite3_column_int(stmt, 1), 2);
    assert_int_equal(sqlite3_step(stmt), SQLITE_DONE);
    sqlite3_finalize(stmt);
}

/*  Reads every stored event back: its kind, its own seq, the site, its
    hash, and its link to the previous event's bytes.  */
static void test_chain_links(void **state)
{
    fixture_t *fx = *state;
    dn_store_t *store = fx->store;
    static const char *const kinds[EVENTS] = {
        "sale", "member_signup", "sale", "refund", "refund", "member_update", "refund"};
    uint8_t prev[DN_HASH_BYTES] = {0};
    uint8_t hash[DN_HASH_BYTES];
    sqlite3_stmt *stmt;
    int64_t n = 0;

    s_record_scenario(fx);
    assert_int_equal(
        sqlite3_prepare_v2(dn_store_db(store),
                           "SELECT seq, id, kind, body, hash, recorded_at_ms "
                           "FROM events ORDER BY seq",
                           -1, &stmt, NULL),
        SQLITE_OK);
    while (sqlite3_step(stmt) == SQLITE_ROW) {
        int64_t seq = sqlite3_column_int64(stmt, 0);
        const uint8_t *body = sqlite3_column_blob(stmt, 3);
        size_t len = (size_t)sqlite3_column_bytes(stmt, 3);
        Dealernet__Event *ev = NULL;
        char why[DN_WHY_SIZE] = "";

        assert_int_equal(seq, n + 1); /* 1, 2, 3 ... no gap */
        assert_string_equal((const char *)sqlite3_column_text(stmt, 2), kinds[n]);
        assert_int_equal(dn_wire_event_unpack(body, len, &ev, why, sizeof why), 0);
        assert_int_equal(ev->seq, (uint64_t)seq);
        assert_string_equal(ev->site, "SHOP-01");
        assert_string_equal(dn_wire_event_kind(ev), kinds[n]);
        assert_int_equal(ev->recorded_at_ms, sqlite3_column_int64(stmt, 5));
        assert_int_equal(sqlite3_column_bytes(stmt, 1), DN_ID_BYTES);
        assert_memory_equal(sqlite3_column_blob(stmt, 1), ev->id.data, DN_ID_BYTES);
        /* prev_hash = SHA-256 of the previous stored body; zeros for seq 1 */
        assert_int_equal(ev->prev_hash.len, DN_HASH_BYTES);
        assert_memory_equal(ev->prev_hash.data, prev, DN_HASH_BYTES);
        assert_int_equal(dn_sha256(body, len, hash), 0);
        assert_int_equal(sqlite3_column_bytes(stmt, 4), DN_HASH_BYTES);
        assert_memory_equal(sqlite3_column_blob(stmt, 4), hash, DN_HASH_BYTES);
        memcpy(prev, hash, DN_HASH_BYTES);

        /* what each event says, to the fen */
        switch (seq) {
        case 1:
            assert_memory_equal(ev->id.data, fx->sale_a, DN_ID_BYTES);
            assert_int_equal(ev->sale->n_lines, 3);
            assert_string_equal(ev->sale->lines[0]->sku, "TEA-500");
            assert_int_equal(ev->sale->lines[0]->quantity, 3);
            assert_int_equal(ev->sale->lines[0]->unit_price, 4550);
            assert_string_equal(ev->sale->lines[0]->category, "drinks");
            assert_string_equal(ev->sale->lines[1]->sku, "RICE-5KG");
            assert_int_equal(ev->sale->lines[1]->quantity, 2);
            assert_int_equal(ev->sale->lines[1]->unit_price, 8500); /* typed, not 89.90 */
            assert_string_equal(ev->sale->lines[1]->category, "grain");
            assert_string_equal(ev->sale->lines[2]->sku, "SOAP");
            assert_int_equal(ev->sale->lines[2]->quantity, 4);
            assert_int_equal(ev->sale->lines[2]->unit_price, 325);
            assert_null(ev->sale->lines[2]->category);
            assert_int_equal(ev->sale->total, 31950);
            assert_string_equal(ev->sale->currency, "CNY");
            assert_int_equal(ev->sale->channel, DEALERNET__CHANNEL__CHANNEL_STORE);
            assert_string_equal(ev->sale->seller, "DLR-7");
            assert_null(ev->sale->member_phone);
            assert_int_equal(ev->sale->has_member_id, 0);
            break;
        case 2:
            assert_memory_equal(ev->member_signup->member_id.data, fx->member,
                                DN_ID_BYTES);
            assert_string_equal(ev->member_signup->phone, PHONE);
            assert_string_equal(ev->member_signup->name, NAME_1);
            assert_string_equal(ev->member_signup->referrer_partner, "DLR-7");
            assert_null(ev->member_signup->referrer_phone);
            assert_int_equal(ev->member_signup->household, 3);
            break;
        case 3:
            assert_memory_equal(ev->id.data, fx->sale_b, DN_ID_BYTES);
            assert_int_equal(ev->sale->total, 9100);
            assert_int_equal(ev->sale->lines[0]->unit_price, 4550);
            assert_int_equal(ev->sale->channel, DEALERNET__CHANNEL__CHANNEL_COMMUNITY);
            assert_string_equal(ev->sale->seller, "GL-9");
            assert_string_equal(ev->sale->member_phone, PHONE);
            assert_int_equal(ev->sale->has_member_id, 1);
            assert_memory_equal(ev->sale->member_id.data, fx->member, DN_ID_BYTES);
            break;
        case 4:
            assert_memory_equal(ev->refund->sale_id.data, fx->sale_a, DN_ID_BYTES);
            assert_int_equal(ev->refund->n_lines, 2);
            assert_string_equal(ev->refund->lines[0]->sku, "TEA-500");
            assert_int_equal(ev->refund->lines[0]->quantity, 1);
            assert_string_equal(ev->refund->lines[1]->sku, "SOAP");
            assert_int_equal(ev->refund->lines[1]->quantity, 2);
            assert_int_equal(ev->refund->amount, 5200);
            assert_string_equal(ev->refund->currency, "CNY");
            break;
        case 5:
            assert_int_equal(ev->refund->n_lines, 0);
            assert_int_equal(ev->refund->amount, 10000);
            break;
        case 6:
            assert_memory_equal(ev->member_update->member_id.data, fx->member,
                                DN_ID_BYTES);
            assert_string_equal(ev->member_update->phone, PHONE);
            assert_string_equal(ev->member_update->name, NAME_2);
            assert_int_equal(ev->member_update->household, 4);
            break;
        case 7:
            assert_memory_equal(ev->refund->sale_id.data, fx->sale_a, DN_ID_BYTES);
            assert_int_equal(ev->refund->n_lines, 0);
            assert_int_equal(ev->refund->amount, 16750);
            break;
        }
        dn_wire_event_free(&ev);
        n++;
    }
    sqlite3_finalize(stmt);
    assert_int_equal(n, EVENTS);

    dn_outbox_check_t check;
    memset(&check, 0xee, sizeof check);
    assert_int_equal(dn_outbox_check(store, &check), 0);
    assert_int_equal(check.events, EVENTS);
    assert_int_equal(check.bad_seq, 0);
    assert_memory_equal(check.head, prev, DN_HASH_BYTES); /* the last body's hash */
    assert_string_equal(check.why, "");

    /* the status the CLI prints agrees */
    json_t *status = dn_store_status(store);
    char head_hex[2 * DN_HASH_BYTES + 1];
    dn_hex_encode(prev, DN_HASH_BYTES, head_hex);
    assert_non_null(status);
    assert_int_equal(json_integer_value(json_object_get(status, "events")), EVENTS);
    assert_int_equal(json_integer_value(json_object_get(status, "pending")), EVENTS);
    assert_int_equal(json_integer_value(json_object_get(status, "head_seq")), EVENTS);
    assert_string_equal(json_string_value(json_object_get(status, "head_hash")),
                        head_hex);
    json_decref(status);
}

static void test_empty_outbox_checks(void **state)
{
    fixture_t *fx = *state;
    dn_outbox_check_t check;
    static const uint8_t zeros[DN_HASH_BYTES] = {0};
    memset(&check, 0xee, sizeof check);
    assert_int_equal(dn_outbox_check(fx->store, &check), 0);
    assert_int_equal(check.events, 0);
    assert_int_equal(check.bad_seq, 0);
    assert_memory_equal(check.head, zeros, DN_HASH_BYTES);
}

/*  Refund limits, on the scenario's sale A brought to where it stands
    before event 7 (167.50 left; TEA-500 2 of 3 and SOAP 2 of 4 units left)
    and a sale B of TEA-500:2 with nothing refunded.  */
static void test_refund_limits(void **state)
{
    fixture_t *fx = *state;
    dn_store_t *store = fx->store;
    dn_record_result_t out;
    dn_record_line_t lines[2];
    int64_t total, refunded;

    {
        char why[DN_WHY_SIZE];
        assert_int_equal(dn_store_catalog_set(store, "TEA-500", 4550, "drinks"), 0);
        dn_record_line_t a_lines[] = {dn_test_line("TEA-500:3"),
                                      dn_test_line("RICE-5KG:2@85.00"),
                                      dn_test_line("SOAP:4@3.25")};
        dn_sale_input_t sale_a = {a_lines, 3, NULL, NULL, NULL, NULL};
        assert_int_equal(dn_record_sale(store, &sale_a, &out, why, sizeof why), 0);
        memcpy(fx->sale_a, out.id, DN_ID_BYTES);
        dn_record_line_t b_lines[] = {dn_test_line("TEA-500:2")};
        dn_sale_input_t sale_b = {b_lines, 1, NULL, NULL, NULL, NULL};
        assert_int_equal(dn_record_sale(store, &sale_b, &out, why, sizeof why), 0);
        memcpy(fx->sale_b, out.id, DN_ID_BYTES);
        dn_record_line_t r_lines[] = {dn_test_line("TEA-500:1"), dn_test_line("SOAP:2")};
        dn_refund_input_t refund = {{0}, r_lines, 2, 0, 0};
        memcpy(refund.sale_id, fx->sale_a, DN_ID_BYTES);
        assert_int_equal(dn_record_refund(store, &refund, &out, why, sizeof why), 0);
        dn_refund_input_t by_amount = {{0}, NULL, 0, 1, 10000};
        memcpy(by_amount.sale_id, fx->sale_a, DN_ID_BYTES);
        assert_int_equal(dn_record_refund(store, &by_amount, &out, why, sizeof why), 0);
        assert_int_equal(out.seq, 4);
    }
    s_sale(store, fx->sale_a, &total, &refunded);
    assert_int_equal(total - refunded, 16750);

    dn_refund_input_t in = {{0}, lines, 1, 0, 0};
    memcpy(in.sale_id, fx->sale_a, DN_ID_BYTES);

    /* by line quantity: 3 TEA-500 asked, 2 left */
    lines[0] = dn_test_line("TEA-500:3");
    ASSERT_REFUSED(store, dn_record_refund(store, &in, &out, why, sizeof why), DN_ELIMIT,
                   "SKU TEA-500: 3 to refund but only 2 of 3 still refundable");
    lines[0] = dn_test_line("SOAP:3");
    ASSERT_REFUSED(store, dn_record_refund(store, &in, &out, why, sizeof why), DN_ELIMIT,
                   "SKU SOAP: 3 to refund but only 2 of 4 still refundable");
    /* one line fine, the second over: the whole refund is refused */
    lines[0] = dn_test_line("TEA-500:1");
    lines[1] = dn_test_line("SOAP:5");
    in.n_lines = 2;
    ASSERT_REFUSED(store, dn_record_refund(store, &in, &out, why, sizeof why), DN_ELIMIT,
                   "SKU SOAP: 5 to refund but only 2 of 4 still refundable");
    /* quantities within the lines, value beyond what is left:
       RICE-5KG 2 x 85.00 = 170.00 > 167.50 */
    lines[0] = dn_test_line("RICE-5KG:2");
    in.n_lines = 1;
    ASSERT_REFUSED(store, dn_record_refund(store, &in, &out, why, sizeof why), DN_ELIMIT,
                   "refund of 170.00 CNY exceeds the 167.50 CNY still refundable");

    /* by amount: one fen too many */
    dn_refund_input_t amount = {{0}, NULL, 0, 1, 16751};
    memcpy(amount.sale_id, fx->sale_a, DN_ID_BYTES);
    ASSERT_REFUSED(store, dn_record_refund(store, &amount, &out, why, sizeof why),
                   DN_ELIMIT,
                   "refund of 167.51 CNY exceeds the 167.50 CNY still refundable");

    s_sale(store, fx->sale_a, &total, &refunded);
    assert_int_equal(refunded, 15200);
    assert_int_equal(s_refunded_qty(store, fx->sale_a, "TEA-500"), 1);
    assert_int_equal(s_refunded_qty(store, fx->sale_a, "SOAP"), 2);
    assert_int_equal(s_events(store), 4);

    /* the exact rest is allowed, and then nothing more */
    char why[DN_WHY_SIZE];
    amount.amount = 16750;
    assert_int_equal(dn_record_refund(store, &amount, &out, why, sizeof why), 0);
    assert_int_equal(out.seq, 5);
    assert_int_equal(out.amount, 16750);
    s_sale(store, fx->sale_a, &total, &refunded);
    assert_int_equal(refunded, 31950);
    amount.amount = 1;
    ASSERT_REFUSED(store, dn_record_refund(store, &amount, &out, why, sizeof why),
                   DN_ELIMIT, "already fully refunded");
    dn_refund_input_t rest = {{0}, NULL, 0, 0, 0};
    memcpy(rest.sale_id, fx->sale_a, DN_ID_BYTES);
    ASSERT_REFUSED(store, dn_record_refund(store, &rest, &out, why, sizeof why),
                   DN_ELIMIT, "already fully refunded");
    lines[0] = dn_test_line("RICE-5KG:1"); /* units left on the line, but no money */
    ASSERT_REFUSED(store, dn_record_refund(store, &in, &out, why, sizeof why), DN_ELIMIT,
                   "already fully refunded");

    /* sale B: all of a line, then none of it */
    dn_refund_input_t b = {{0}, lines, 1, 0, 0};
    memcpy(b.sale_id, fx->sale_b, DN_ID_BYTES);
    lines[0] = dn_test_line("TEA-500:2");
    assert_int_equal(dn_record_refund(store, &b, &out, why, sizeof why), 0);
    assert_int_equal(out.amount, 9100);
    assert_int_equal(out.seq, 6);
    assert_int_equal(s_refunded_qty(store, fx->sale_b, "TEA-500"), 2);
    assert_int_equal(s_events(store), 6);

    dn_outbox_check_t check;
    assert_int_equal(dn_outbox_check(store, &check), 0);
    assert_int_equal(check.events, 6);
}

static void test_refusals_write_nothing(void **state)
{
    fixture_t *fx = *state;
    dn_store_t *store = fx->store;
    dn_record_result_t out;
    dn_record_line_t lines[2];
    char existing[DN_ID_TEXT_SIZE];

    s_record_scenario(fx);
    dn_id_format(fx->member, existing);

    /* refund of an unknown sale */
    dn_refund_input_t in = {{0}, NULL, 0, 1, 100};
    assert_int_equal(dn_id_new(in.sale_id), 0);
    ASSERT_REFUSED(store, dn_record_refund(store, &in, &out, why, sizeof why), DN_ENOENT,
                   "no sale with that id");
    /* a refund id is not a sale id */
    sqlite3_stmt *stmt;
    assert_int_equal(sqlite3_prepare_v2(dn_store_db(store),
                                        "SELECT id FROM events WHERE seq = 4", -1, &stmt,
                                        NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    memcpy(in.sale_id, sqlite3_column_blob(stmt, 0), DN_ID_BYTES);
    sqlite3_finalize(stmt);
    ASSERT_REFUSED(store, dn_record_refund(store, &in, &out, why, sizeof why), DN_ENOENT,
                   "no sale with that id");

    /* a SKU that is not on the sale */
    memcpy(in.sale_id, fx->sale_b, DN_ID_BYTES);
    in.has_amount = 0;
    in.lines = lines;
    in.n_lines = 1;
    lines[0] = dn_test_line("SOAP:1");
    ASSERT_REFUSED(store, dn_record_refund(store, &in, &out, why, sizeof why), DN_ENOENT,
                   "SKU SOAP is not on that sale");
    /* input errors */
    lines[0] = dn_test_line("TEA-500:1@45.50");
    ASSERT_REFUSED(store, dn_record_refund(store, &in, &out, why, sizeof why), DN_EPARSE,
                   "has a price");
    lines[0] = dn_test_line("TEA-500:1");
    lines[1] = dn_test_line("TEA-500:1");
    in.n_lines = 2;
    ASSERT_REFUSED(store, dn_record_refund(store, &in, &out, why, sizeof why), DN_EPARSE,
                   "SKU TEA-500 is given twice");
    in.n_lines = 1;
    in.has_amount = 1;
    in.amount = 100;
    ASSERT_REFUSED(store, dn_record_refund(store, &in, &out, why, sizeof why), DN_EPARSE,
                   "not both");
    in.n_lines = 0;
    in.amount = 0;
    ASSERT_REFUSED(store, dn_record_refund(store, &in, &out, why, sizeof why), DN_EPARSE,
                   "must be positive");

    /* the same phone again, typed another way: the existing id is named */
    dn_member_input_t dup = {"+86 (138) 0013.8000", "Someone", NULL, 0, 0};
    char dup_words[128];
    snprintf(dup_words, sizeof dup_words,
             "phone " PHONE " is already signed up here as member %s", existing);
    ASSERT_REFUSED(store, dn_record_member_add(store, &dup, &out, why, sizeof why),
                   DN_EDUP, dup_words);
    assert_memory_equal(out.id, fx->member, DN_ID_BYTES);
    /* every spelling of the customer is that member (canonical phones, +86) */
    static const char *const spellings[] = {
        "13800138000", "013800138000", "8613800138000", "0086 138 0013 8000",
        "\xef\xbc\x91\xef\xbc\x93\xef\xbc\x98\xef\xbc\x90\xef\xbc\x90\xef\xbc\x91"
        "\xef\xbc\x93\xef\xbc\x98\xef\xbc\x90\xef\xbc\x90\xef\xbc\x90"}; /* full-width */
    for (size_t i = 0; i < sizeof spellings / sizeof spellings[0]; i++) {
        dup.phone = spellings[i];
        ASSERT_REFUSED(store, dn_record_member_add(store, &dup, &out, why, sizeof why),
                       DN_EDUP, dup_words);
    }
    dn_member_input_t bad_ref_phone = {"13900139000", NULL, "138-0013-800", 0, 0};
    ASSERT_REFUSED(
        store, dn_record_member_add(store, &bad_ref_phone, &out, why, sizeof why),
        DN_EPARSE,
        "referrer '138-0013-800' is not a phone number: a Chinese mobile number "
        "has 11 digits after +86, this one has 10");
    dn_member_input_t self_ref = {"+8613900139000", NULL, "+86 139-0013-9000", 0, 0};
    ASSERT_REFUSED(store, dn_record_member_add(store, &self_ref, &out, why, sizeof why),
                   DN_EPARSE, "cannot refer themselves");
    dn_member_input_t bad_ref = {"13900139000", NULL, "DLR 7", 0, 0};
    ASSERT_REFUSED(store, dn_record_member_add(store, &bad_ref, &out, why, sizeof why),
                   DN_EPARSE, "neither a phone number nor a partner code");
    dn_member_input_t bad_name = {"13900139000", "\xc0\xaf", NULL, 0, 0};
    ASSERT_REFUSED(store, dn_record_member_add(store, &bad_name, &out, why, sizeof why),
                   DN_EPARSE, "name is not UTF-8 text without control characters");
    /* "Wang" U+202E "gnaF": nothing is written, the reason names it */
    dn_member_input_t bidi_name = {"13900139000", "Wang\xe2\x80\xaegnaF", NULL, 0, 0};
    ASSERT_REFUSED(store, dn_record_member_add(store, &bidi_name, &out, why, sizeof why),
                   DN_EPARSE,
                   "name holds U+202E (right-to-left override) at character 5: "
                   "invisible characters that can hide or reorder text are refused");
    dn_member_input_t zw_name = {PHONE, "Li\xe2\x80\x8bWei", NULL, 0, 0};
    ASSERT_REFUSED(store, dn_record_member_update(store, &zw_name, &out, why, sizeof why),
                   DN_EPARSE, "name holds U+200B (zero width space) at character 3");
    dn_member_input_t big_house = {"13900139000", NULL, NULL, 1, 101};
    ASSERT_REFUSED(store, dn_record_member_add(store, &big_house, &out, why, sizeof why),
                   DN_EPARSE, "household must be 0 to 100");
    dn_member_input_t bad_phone = {"139-OO13-9000", NULL, NULL, 0, 0};
    ASSERT_REFUSED(
        store, dn_record_member_add(store, &bad_phone, &out, why, sizeof why), DN_EPARSE,
        "phone '139-OO13-9000' is not a phone number: 'O' is not a digit, a space, "
        "'-', '.', '(', ')' or a leading '+'");
    dn_member_input_t nobody = {"13900139000", "Nobody", NULL, 0, 0};
    ASSERT_REFUSED(store, dn_record_member_update(store, &nobody, &out, why, sizeof why),
                   DN_ENOENT, "no member with phone +8613900139000 at this site");
    dn_member_input_t nothing = {PHONE, NULL, NULL, 0, 0};
    ASSERT_REFUSED(store, dn_record_member_update(store, &nothing, &out, why, sizeof why),
                   DN_EPARSE, "give --name or --household");

    /* a sale with an unknown SKU and no price: the priced lines are not
       written either */
    lines[0] = dn_test_line("TEA-500:1");
    lines[1] = dn_test_line("GHOST:1");
    dn_sale_input_t sale = {lines, 2, NULL, NULL, NULL, NULL};
    ASSERT_REFUSED(store, dn_record_sale(store, &sale, &out, why, sizeof why), DN_ENOENT,
                   "SKU GHOST has no price in the catalog");
    lines[1] = dn_test_line("TEA-500:2");
    ASSERT_REFUSED(store, dn_record_sale(store, &sale, &out, why, sizeof why), DN_EPARSE,
                   "SKU TEA-500 is given twice");
    sale.n_lines = 1;
    sale.channel = "shop";
    ASSERT_REFUSED(store, dn_record_sale(store, &sale, &out, why, sizeof why), DN_EPARSE,
                   "channel 'shop'");
    sale.channel = NULL;
    sale.seller = "GL 9";
    ASSERT_REFUSED(store, dn_record_sale(store, &sale, &out, why, sizeof why), DN_CODE_ERROR,
                   "'GL 9' is not a partner code: codes are ASCII");
    sale.seller = NULL;
    sale.member = "138-0013-800O";
    ASSERT_REFUSED(
        store, dn_record_sale(store, &sale, &out, why, sizeof why), DN_EPARSE,
        "member phone '138-0013-800O' is not a phone number: 'O' is not a digit");
    sale.member = NULL;
    sale.n_lines = 0;
    ASSERT_REFUSED(store, dn_record_sale(store, &sale, &out, why, sizeof why), DN_EPARSE,
                   "1 to 200");
    /* 10^6 units at 10000000000.00 are 10^18 fen a line (ten lines would
       be 10^19 > 2^63 - 1 = 9223372036854775807): the first line alone is
       far over the default bound of 1000000.00 CNY on one sale */
    dn_record_line_t huge[10];
    for (int i = 0; i < 10; i++) {
        char text[40];
        snprintf(text, sizeof text, "H%d:1000000@10000000000", i);
        huge[i] = dn_test_line(text);
    }
    dn_sale_input_t huge_sale = {huge, 10, NULL, NULL, NULL, NULL};
    ASSERT_REFUSED(store, dn_record_sale(store, &huge_sale, &out, why, sizeof why),
                   DN_EOVERFLOW,
                   "line H0:1000000 comes to 10000000000000000.00 CNY, over the network's "
                   "limit of 1000000.00 CNY for one sale; check the quantities and prices");

    /* after all that, the log is still the scenario's seven events */
    assert_int_equal(s_events(store), EVENTS);
    dn_outbox_check_t check;
    assert_int_equal(dn_outbox_check(store, &check), 0);
    assert_int_equal(check.events, EVENTS);

    /* and the next good recording takes seq 8: one line of 10^18 fen fits
       in int64, and the network may allow it (the largest bound HQ can
       set, 10000000000.0000 units, is 10^12 fen: under a Welcome with it,
       10^6 x 10000.00 = 10^10 CNY = 10^12 fen is taken, exactly) */
    char why[DN_WHY_SIZE];
    assert_int_equal(dn_store_meta_set(store, DN_STORE_MAX_SALE, "10000000000.0000"), 0);
    huge[0] = dn_test_line("H0:1000000@10000");
    huge_sale.n_lines = 1;
    assert_int_equal(dn_record_sale(store, &huge_sale, &out, why, sizeof why), 0);
    assert_int_equal(out.seq, EVENTS + 1);
    assert_int_equal(out.amount, INT64_C(1000000000000));
}

/*  A byte changed inside a stored body: the event still decodes, but its
    bytes no longer hash to the stored hash.  */
static void test_tamper_body_byte(void **state)
{
    fixture_t *fx = *state;
    dn_store_t *store = fx->store;
    dn_outbox_check_t check;
    uint8_t head2[DN_HASH_BYTES];
    size_t len;

    s_record_scenario(fx);
    uint8_t *body2 = s_body(store, 2, &len);
    assert_int_equal(dn_sha256(body2, len, head2), 0);
    free(body2);

    /* sale B ends with its seller "GL-9" and its receipt 2 (field 8, a
       varint: 0x40 0x02): make the seller "GL-8" */
    uint8_t *body = s_body(store, 3, &len);
    assert_memory_equal(body + len - 2, "\x40\x02", 2);
    assert_int_equal(body[len - 3], '9');
    assert_memory_equal(body + len - 6, "GL-9", 4);
    body[len - 3] = '8';
    s_set_body(store, 3, body, len, NULL);

    memset(&check, 0, sizeof check);
    assert_int_equal(dn_outbox_check(store, &check), DN_ECHAIN);
    assert_int_equal(check.bad_seq, 3);
    assert_int_equal(check.events, 2);
    assert_memory_equal(check.head, head2, DN_HASH_BYTES);
    assert_string_equal(check.why, "stored hash differs from the event's bytes");

    /* the forger also rewrites the stored hash: now event 4 no longer links
       to what event 3 has become */
    uint8_t forged[DN_HASH_BYTES];
    assert_int_equal(dn_sha256(body, len, forged), 0);
    s_set_body(store, 3, body, len, forged);
    assert_int_equal(dn_outbox_check(store, &check), DN_ECHAIN);
    assert_int_equal(check.bad_seq, 4);
    assert_int_equal(check.events, 3);
    assert_memory_equal(check.head, forged, DN_HASH_BYTES);
    assert_string_equal(check.why, "previous hash does not match the chain");
    free(body);
}

/*  A body cut short no longer decodes.  */
static void test_tamper_truncated_body(void **state)
{
    fixture_t *fx = *state;
    dn_store_t *store = fx->store;
    dn_outbox_check_t check;
    size_t len;

    s_record_scenario(fx);
    uint8_t *body = s_body(store, 5, &len);
    s_set_body(store, 5, body, len - 1, NULL);
    free(body);
    assert_int_equal(dn_outbox_check(store, &check), DN_ECHAIN);
    assert_int_equal(check.bad_seq, 5);
    assert_int_equal(check.events, 4);
    assert_non_null(strstr(check.why, "event does not decode"));
}

/*  A deleted row leaves a gap that is reported by the missing seq.  */
static void test_tamper_deleted_row(void **state)
{
    fixture_t *fx = *state;
    dn_store_t *store = fx->store;
    dn_outbox_check_t check;
    uint8_t head5[DN_HASH_BYTES];
    size_t len;

    s_record_scenario(fx);
    uint8_t *body5 = s_body(store, 5, &len);
    assert_int_equal(dn_sha256(body5, len, head5), 0);
    free(body5);

    /* the member update has no projection row pointing at it */
    assert_int_equal(sqlite3_exec(dn_store_db(store), "DELETE FROM events WHERE seq = 6",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_changes(dn_store_db(store)), 1);
    assert_int_equal(s_events(store), EVENTS - 1);

    memset(&check, 0, sizeof check);
    assert_int_equal(dn_outbox_check(store, &check), DN_ECHAIN);
    assert_int_equal(check.bad_seq, 6);
    assert_int_equal(check.events, 5);
    assert_memory_equal(check.head, head5, DN_HASH_BYTES);
    assert_string_equal(check.why, "seq missing (gap in the sequence)");

    /* the first event gone: seq 1 is missing */
    assert_int_equal(sqlite3_exec(dn_store_db(store),
                                  "PRAGMA foreign_keys = OFF;"
                                  "DELETE FROM events WHERE seq = 1;"
                                  "PRAGMA foreign_keys = ON;",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    assert_int_equal(dn_outbox_check(store, &check), DN_ECHAIN);
    assert_int_equal(check.bad_seq, 1);
    assert_int_equal(check.events, 0);
}

/*  What sync sees of the outbox: its position, batches read from it, and
    acknowledgements moving the position on.  */
static void test_outbox_read_and_ack(void **state)
{
    fixture_t *fx = *state;
    dn_store_t *store = fx->store;
    dn_outbox_position_t pos;
    dn_outbox_batch_t batch;
    size_t len[EVENTS + 1];
    uint8_t *body[EVENTS + 1], hash[EVENTS + 1][DN_HASH_BYTES];
    int64_t recorded[EVENTS + 1];

    memset(&pos, 0xee, sizeof pos);
    assert_int_equal(dn_outbox_position(store, &pos), 0);
    assert_int_equal(pos.head_seq, 0);
    assert_int_equal(pos.acked_seq, 0);
    assert_int_equal(pos.pending, 0);
    assert_int_equal(pos.oldest_pending_ms, 0);
    assert_int_equal(dn_outbox_read(store, 1, 10, 1 << 20, &batch), 0);
    assert_int_equal(batch.n, 0);
    dn_outbox_batch_free(&batch);

    s_record_scenario(fx);
    for (int64_t seq = 1; seq <= EVENTS; seq++) {
        body[seq] = s_body(store, seq, &len[seq]);
        assert_int_equal(dn_sha256(body[seq], len[seq], hash[seq]), 0);
        char sql[64];
        snprintf(sql, sizeof sql, "SELECT recorded_at_ms FROM events WHERE seq = %lld",
                 (long long)seq);
        recorded[seq] = s_int(store, sql);
    }

    assert_int_equal(dn_outbox_position(store, &pos), 0);
    assert_int_equal(pos.head_seq, 7);
    assert_int_equal(pos.acked_seq, 0);
    assert_int_equal(pos.pending, 7);
    assert_int_equal(pos.oldest_pending_ms, recorded[1]);

    /* three events from seq 1, exactly as stored */
    assert_int_equal(dn_outbox_read(store, 1, 3, 1 << 20, &batch), 0);
    assert_int_equal(batch.n, 3);
    assert_int_equal(batch.first_seq, 1);
    assert_int_equal(batch.last_seq, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(batch.events[i].len, len[i + 1]);
        assert_memory_equal(batch.events[i].data, body[i + 1], len[i + 1]);
    }
    assert_memory_equal(batch.head, hash[3], DN_HASH_BYTES);
    dn_outbox_batch_free(&batch);
    assert_null(batch.events);
    assert_int_equal(batch.n, 0);
    dn_outbox_batch_free(&batch); /* twice is fine */

    /* the byte budget: two bodies fit exactly, a third would not */
    assert_int_equal(dn_outbox_read(store, 1, 10, len[1] + len[2], &batch), 0);
    assert_int_equal(batch.n, 2);
    assert_int_equal(batch.last_seq, 2);
    assert_memory_equal(batch.head, hash[2], DN_HASH_BYTES);
    dn_outbox_batch_free(&batch);
    assert_int_equal(dn_outbox_read(store, 1, 10, len[1] + len[2] - 1, &batch), 0);
    assert_int_equal(batch.n, 1);
    dn_outbox_batch_free(&batch);
    /* always at least one, however small the budget */
    assert_int_equal(dn_outbox_read(store, 4, 10, 1, &batch), 0);
    assert_int_equal(batch.n, 1);
    assert_int_equal(batch.first_seq, 4);
    assert_int_equal(batch.last_seq, 4);
    assert_memory_equal(batch.events[0].data, body[4], len[4]);
    dn_outbox_batch_free(&batch);
    /* the tail, and beyond it */
    assert_int_equal(dn_outbox_read(store, 6, 10, 1 << 20, &batch), 0);
    assert_int_equal(batch.n, 2);
    assert_int_equal(batch.last_seq, 7);
    assert_memory_equal(batch.head, hash[7], DN_HASH_BYTES);
    dn_outbox_batch_free(&batch);
    assert_int_equal(dn_outbox_read(store, 8, 10, 1 << 20, &batch), 0);
    assert_int_equal(batch.n, 0);
    dn_outbox_batch_free(&batch);

    /* acks move the position; an older ack changes nothing */
    assert_int_equal(dn_outbox_ack(store, 3), 0);
    assert_int_equal(dn_outbox_position(store, &pos), 0);
    assert_int_equal(pos.head_seq, 7);
    assert_int_equal(pos.acked_seq, 3);
    assert_int_equal(pos.pending, 4);
    assert_int_equal(pos.oldest_pending_ms, recorded[4]);
    assert_int_equal(sqlite3_get_autocommit(dn_store_db(store)), 1);
    assert_int_equal(dn_outbox_ack(store, 2), 0);
    assert_int_equal(dn_outbox_position(store, &pos), 0);
    assert_int_equal(pos.acked_seq, 3);
    assert_int_equal(pos.pending, 4);
    assert_int_equal(dn_outbox_ack(store, 7), 0);
    assert_int_equal(dn_outbox_position(store, &pos), 0);
    assert_int_equal(pos.acked_seq, 7);
    assert_int_equal(pos.pending, 0);
    assert_int_equal(pos.oldest_pending_ms, 0);
    assert_int_equal(s_int(store, "SELECT sum(synced) FROM events"), 7);
    json_t *status = dn_store_status(store);
    assert_non_null(status);
    assert_int_equal(json_integer_value(json_object_get(status, "pending")), 0);
    assert_int_equal(json_integer_value(json_object_get(status, "events")), 7);
    json_decref(status);

    /* acked events stay readable (a resend after a lost ack) */
    assert_int_equal(dn_outbox_read(store, 5, 1, 1 << 20, &batch), 0);
    assert_int_equal(batch.n, 1);
    assert_memory_equal(batch.events[0].data, body[5], len[5]);
    dn_outbox_batch_free(&batch);

    /* a gap in the log stops a read that would cross it */
    assert_int_equal(sqlite3_exec(dn_store_db(store), "DELETE FROM events WHERE seq = 6",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    memset(&batch, 0, sizeof batch);
    assert_int_equal(dn_outbox_read(store, 5, 10, 1 << 20, &batch), DN_ECHAIN);
    assert_null(batch.events);
    assert_int_equal(batch.n, 0);
    assert_int_equal(dn_outbox_read(store, 5, 1, 1 << 20, &batch),
                     0); /* up to it: fine */
    assert_int_equal(batch.n, 1);
    dn_outbox_batch_free(&batch);

    for (int64_t seq = 1; seq <= EVENTS; seq++)
        free(body[seq]);
}

/*  The store's own settings next to the ones sync keeps.  */
static void test_store_meta(void **state)
{
    fixture_t *fx = *state;
    char value[64];

    assert_int_equal(dn_store_meta_get(fx->store, "site", value, sizeof value), 0);
    assert_string_equal(value, "SHOP-01");
    assert_int_equal(dn_store_meta_get(fx->store, "currency", value, sizeof value), 0);
    assert_string_equal(value, "CNY");
    assert_int_equal(dn_store_meta_get(fx->store, "server_endpoint", value, sizeof value),
                     DN_ENOENT);
    assert_int_equal(dn_store_meta_set(fx->store, "server_endpoint", "tcp://hq:7001"), 0);
    assert_int_equal(dn_store_meta_get(fx->store, "server_endpoint", value, sizeof value),
                     0);
    assert_string_equal(value, "tcp://hq:7001");
    json_t *status = dn_store_status(fx->store);
    assert_non_null(status);
    assert_string_equal(json_string_value(json_object_get(status, "server")),
                        "tcp://hq:7001");
    assert_true(json_is_null(json_object_get(status, "last_sync")));
    json_decref(status);
}

/*  catalog set without a category keeps the SKU's (issue 10): a price
    correction must not move the SKU's sales off its category's rate.  */
static void test_catalog_keeps_category(void **state)
{
    fixture_t *fx = *state;
    char category[DN_MAX_CODE_LEN + 1];
    int64_t price;

    assert_int_equal(dn_store_catalog_set(fx->store, "RICE-5KG", 5990, "rice"), 0);
    assert_int_equal(dn_store_catalog_set(fx->store, "RICE-5KG", 6100, NULL), 0);
    assert_int_equal(dn_store_catalog_get(fx->store, "RICE-5KG", &price, category), 0);
    assert_int_equal(price, 6100);
    assert_string_equal(category, "rice");
    /* "" clears it */
    assert_int_equal(dn_store_catalog_set(fx->store, "RICE-5KG", 6000, ""), 0);
    assert_int_equal(dn_store_catalog_get(fx->store, "RICE-5KG", &price, category), 0);
    assert_int_equal(price, 6000);
    assert_string_equal(category, "");
    /* a new SKU without a category has none */
    assert_int_equal(dn_store_catalog_set(fx->store, "OIL-1L", 1850, NULL), 0);
    assert_int_equal(dn_store_catalog_get(fx->store, "OIL-1L", &price, category), 0);
    assert_int_equal(price, 1850);
    assert_string_equal(category, "");
    /* a category given replaces the one kept */
    assert_int_equal(dn_store_catalog_set(fx->store, "OIL-1L", 1900, "oil"), 0);
    assert_int_equal(dn_store_catalog_set(fx->store, "OIL-1L", 1950, NULL), 0);
    assert_int_equal(dn_store_catalog_get(fx->store, "OIL-1L", &price, category), 0);
    assert_int_equal(price, 1950);
    assert_string_equal(category, "oil");
    assert_int_equal(s_events(fx->store), 0); /* the catalog is not an event */
}

typedef struct {
    const char *text;
    int exponent;
    int rc;
    const char *sku;
    int64_t quantity;
    int has_price;
    int64_t price;
    const char *words; /* in the reason, when refused */
} parse_case_t;

static void test_parse_line(void **state)
{
    (void)state;
    char sku64[80], sku65[80], qty40[80], s64[65];
    memset(s64, 'S', 64);
    s64[64] = '\0';
    memset(sku64, 'S', 64);
    strcpy(sku64 + 64, ":1");
    memset(sku65, 'S', 65);
    strcpy(sku65 + 65, ":1");
    strcpy(qty40, "A:");
    memset(qty40 + 2, '1', 40);
    qty40[42] = '\0';
    const parse_case_t cases[] = {
        {"TEA-500:3", 2, 0, "TEA-500", 3, 0, 0, NULL},
        {"TEA-500:3@45.5", 2, 0, "TEA-500", 3, 1, 4550, NULL},
        {"TEA-500:3@45.50", 2, 0, "TEA-500", 3, 1, 4550, NULL},
        {"TEA-500:3@45", 2, 0, "TEA-500", 3, 1, 4500, NULL},
        {"SOAP:4@3.25", 2, 0, "SOAP", 4, 1, 325, NULL},
        {"A:1@0", 2, 0, "A", 1, 1, 0, NULL},
        {"A:1@0.01", 2, 0, "A", 1, 1, 1, NULL},
        {"A:007", 2, 0, "A", 7, 0, 0, NULL},
        {"~!#/:1", 2, 0, "~!#/", 1, 0, 0, NULL},
        {"X:1000000@10000000000", 2, 0, "X", 1000000, 1, INT64_C(1000000000000), NULL},
        {"KWD-1:2@1.234", 3, 0, "KWD-1", 2, 1, 1234, NULL},
        {"RAMEN:2@850", 0, 0, "RAMEN", 2, 1, 850, NULL},
        {"RAMEN:2@+850", 0, 0, "RAMEN", 2, 1, 850, NULL},
        {sku64, 2, 0, s64, 1, 0, 0, NULL},
        {"TEA-500", 2, DN_EPARSE, NULL, 0, 0, 0, "is not SKU:QTY[@PRICE]"},
        {"A@1:2", 2, DN_EPARSE, NULL, 0, 0, 0, "is not SKU:QTY[@PRICE]"},
        {"", 2, DN_EPARSE, NULL, 0, 0, 0, "is not SKU:QTY[@PRICE]"},
        /* not a SKU: a name for dn_record_resolve_line (sku "" until then) */
        {"TEA 500:3", 2, 0, "", 3, 0, 0, NULL},
        {"\xe8\x8c\xb6:3", 2, 0, "", 3, 0, 0, NULL}, /* 茶 */
        {"\xe4\xb8\x9c\xe5\x8c\x97\xe5\xa4\xa7\xe7\xb1\xb3:2@45.00", 2, 0, "", 2, 1, 4500,
         NULL}, /* 东北大米 */
        /* neither a SKU nor a name: the one message of a bad code */
        {":3", 2, DN_CODE_ERROR, NULL, 0, 0, 0,
         "'' is not a SKU: codes are ASCII (1 to 64 printable characters but space, ':' "
         "and '@'), names are not"},
        {sku65, 2, DN_CODE_ERROR, NULL, 0, 0, 0, "is not a SKU: codes are ASCII"},
        {"\xe8\x8c\xb6\x01:3", 2, DN_CODE_ERROR, NULL, 0, 0, 0,
         "is not a SKU: codes are ASCII"},
        {"TEA-500:", 2, DN_EPARSE, NULL, 0, 0, 0, "quantity missing"},
        {"TEA-500:@4", 2, DN_EPARSE, NULL, 0, 0, 0, "quantity missing"},
        {qty40, 2, DN_EPARSE, NULL, 0, 0, 0, "quantity"},
        {"A:0", 2, DN_EPARSE, NULL, 0, 0, 0, "quantity must be a whole number"},
        {"A:1000001", 2, DN_EPARSE, NULL, 0, 0, 0, "from 1 to 1000000"},
        {"A:-1", 2, DN_EPARSE, NULL, 0, 0, 0, "quantity must be a whole number"},
        {"A:x", 2, DN_EPARSE, NULL, 0, 0, 0, "quantity must be a whole number"},
        {"A:1.5", 2, DN_EPARSE, NULL, 0, 0, 0, "quantity must be a whole number"},
        {"A:1:2", 2, DN_EPARSE, NULL, 0, 0, 0, "quantity must be a whole number"},
        {"A:1@", 2, DN_EPARSE, NULL, 0, 0, 0, "price must be"},
        {"A:1@-1", 2, DN_EPARSE, NULL, 0, 0, 0, "price must be"},
        {"A:1@1.234", 2, DN_EPARSE, NULL, 0, 0, 0, "at most 2 decimals"},
        {"A:1@1,00", 2, DN_EPARSE, NULL, 0, 0, 0, "price must be"},
        {"A:1@1e3", 2, DN_EPARSE, NULL, 0, 0, 0, "price must be"},
        {"A:1@.5", 2, DN_EPARSE, NULL, 0, 0, 0, "price must be"},
        {"A:1@@2", 2, DN_EPARSE, NULL, 0, 0, 0, "price must be"},
        {"A:1@10000000000.01", 2, DN_EPARSE, NULL, 0, 0, 0, "price must be"},
        {"A:1@99999999999999999999", 2, DN_EPARSE, NULL, 0, 0, 0, "price must be"},
        {"RAMEN:2@850.5", 0, DN_EPARSE, NULL, 0, 0, 0, "at most 0 decimals"},
        {"RAMEN:2@850.0", 0, DN_EPARSE, NULL, 0, 0, 0, "at most 0 decimals"},
    };
    for (size_t i = 0; i < N_OF(cases); i++) {
        const parse_case_t *c = &cases[i];
        dn_record_line_t line;
        char why[DN_WHY_SIZE * 2] = "";
        memset(&line, 0x5a, sizeof line);
        int rc = dn_record_parse_line(c->text, c->exponent, &line, why, sizeof why);
        if (rc != c->rc || (c->words && !strstr(why, c->words)))
            print_error("entry %zu \"%s\": rc %d \"%s\"\n", i, c->text, rc, why);
        assert_int_equal(rc, c->rc);
        if (rc == 0) {
            assert_string_equal(line.sku, c->sku);
            assert_int_equal(line.quantity, c->quantity);
            assert_int_equal(line.has_price, c->has_price);
            assert_int_equal(line.unit_price, c->price);
        } else {
            assert_non_null(strstr(why, c->words));
            /* the reason quotes what was typed */
            char quoted[128];
            snprintf(quoted, sizeof quoted, "line '%.60s", c->text);
            assert_non_null(strstr(why, quoted));
        }
    }
}

/*  A yen site: prices have no decimals.  */
static void test_zero_exponent_site(void **state)
{
    fixture_t *fx = *state;
    char dir[80], why[DN_WHY_SIZE];
    int err;
    dn_record_result_t out;
    dn_record_line_t lines[2];

    snprintf(dir, sizeof dir, "%s/jp", fx->dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    assert_int_equal(dn_store_create(dir, "TOKYO-1", "DLR-JP", "JPY"), 0);
    dn_store_t *store = dn_store_open(dir, &err);
    assert_non_null(store);
    int exponent = dn_store_info(store)->exponent;
    assert_int_equal(exponent, 0);

    assert_int_equal(
        dn_record_parse_line("RAMEN:2@850", exponent, &lines[0], why, sizeof why), 0);
    assert_int_equal(
        dn_record_parse_line("GYOZA:3@420", exponent, &lines[1], why, sizeof why), 0);
    dn_sale_input_t sale = {lines, 2, NULL, "online", NULL, NULL};
    assert_int_equal(dn_record_sale(store, &sale, &out, why, sizeof why), 0);
    assert_int_equal(out.seq, 1);
    assert_int_equal(out.amount, 2 * 850 + 3 * 420); /* 2960 yen */

    dn_refund_input_t too_much = {{0}, NULL, 0, 1, 2961};
    memcpy(too_much.sale_id, out.id, DN_ID_BYTES);
    ASSERT_REFUSED(store, dn_record_refund(store, &too_much, &out, why, sizeof why),
                   DN_ELIMIT, "refund of 2961 JPY exceeds the 2960 JPY still refundable");

    dn_outbox_check_t check;
    assert_int_equal(dn_outbox_check(store, &check), 0);
    assert_int_equal(check.events, 1);
    dn_store_destroy(&store);
    assert_null(store);

    assert_int_equal(dn_tk_remove_tree(dir), 0);
}

/*  The network's bound on one sale at the till: 1000000.00 CNY before the
    first sync (the default), then what the Welcome carried, as dn_syncsm
    stores it (DN_STORE_MAX_SALE, in 10^-4 units).  A line or a sale over
    it is refused with the figures; one exactly at it is recorded.  */
static void test_sale_bound(void **state)
{
    fixture_t *fx = *state;
    dn_store_t *store = fx->store;
    dn_record_result_t out;
    dn_record_line_t lines[2];
    char why[DN_WHY_SIZE];
    int64_t limit;

    assert_int_equal(dn_record_max_sale(store, &limit), 0);
    assert_int_equal(limit, 100000000); /* 1000000.00 CNY in fen */
    /* exactly the bound: 4 x 250000.00 = 1000000.00 */
    lines[0] = dn_test_line("GOLD:4@250000");
    dn_sale_input_t sale = {lines, 1, NULL, NULL, NULL, NULL};
    assert_int_equal(dn_record_sale(store, &sale, &out, why, sizeof why), 0);
    assert_int_equal(out.amount, 100000000);
    /* one fen over, as a line: 4 x 250000.01 = 1000000.04 */
    lines[0] = dn_test_line("GOLD:4@250000.01");
    ASSERT_REFUSED(store, dn_record_sale(store, &sale, &out, why, sizeof why), DN_EOVERFLOW,
                   "line GOLD:4 comes to 1000000.04 CNY, over the network's limit of "
                   "1000000.00 CNY for one sale");
    /* two lines each within, together over: 600000.00 + 400000.01 */
    lines[0] = dn_test_line("GOLD:1@600000");
    lines[1] = dn_test_line("SILVER:1@400000.01");
    sale.n_lines = 2;
    ASSERT_REFUSED(store, dn_record_sale(store, &sale, &out, why, sizeof why), DN_EOVERFLOW,
                   "the sale comes to 1000000.01 CNY, over the network's limit of "
                   "1000000.00 CNY for one sale");
    /* a Welcome lowered it to 500.00 (5000000 at 10^-4): 500.00 is taken,
       500.01 is not */
    assert_int_equal(dn_store_meta_set(store, DN_STORE_MAX_SALE, "500.0000"), 0);
    assert_int_equal(dn_record_max_sale(store, &limit), 0);
    assert_int_equal(limit, 50000);
    lines[0] = dn_test_line("TEA:2@250");
    sale.n_lines = 1;
    assert_int_equal(dn_record_sale(store, &sale, &out, why, sizeof why), 0);
    assert_int_equal(out.amount, 50000);
    lines[0] = dn_test_line("TEA:1@500.01");
    ASSERT_REFUSED(store, dn_record_sale(store, &sale, &out, why, sizeof why), DN_EOVERFLOW,
                   "line TEA:1 comes to 500.01 CNY, over the network's limit of 500.00 CNY");
    /* a damaged setting is an error, not the default */
    assert_int_equal(dn_store_meta_set(store, DN_STORE_MAX_SALE, "lots"), 0);
    ASSERT_REFUSED(store, dn_record_sale(store, &sale, &out, why, sizeof why), DN_EDB,
                   "could not read the network's limit on one sale");
    assert_int_equal(s_events(store), 2);
}

static json_int_t s_total_minor(json_t *sales, size_t i)
{
    return json_integer_value(json_object_get(json_array_get(sales, i), "total_minor"));
}

/*  The sales listing read half-way is no listing (NULL), never a shorter
    one: the scenario's two sales (A 319.50, B 91.00) listed with one step
    of one read interrupted, at every point a run of it can be cut at.  */
static void test_sales_list_cut(void **state)
{
    fixture_t *fx = *state;
    sqlite3 *db = dn_store_db(fx->store);
    dn_tk_cut_t cut = {.listing = "FROM sales WHERE recorded_at_ms >= ? AND recorded_at_ms < ? ORDER BY seq"};
    int calls, at_row[3] = {0};
    json_t *list;

    s_record_scenario(fx);
    dn_tk_cut_arm(db, &cut, 0);
    list = dn_store_sales_list(fx->store);
    dn_tk_cut_disarm(db);
    assert_non_null(list);
    assert_int_equal(json_array_size(list), 2);
    /* A 319.50, B 91.00 */
    assert_int_equal(s_total_minor(list, 0), 31950);
    assert_int_equal(s_total_minor(list, 1), 9100);
    assert_int_equal(cut.rows, 2);
    json_decref(list);
    calls = cut.calls;
    assert_true(calls > 0);

    for (int k = 1; k <= calls; k++) {
        dn_tk_cut_arm(db, &cut, k);
        list = dn_store_sales_list(fx->store);
        dn_tk_cut_disarm(db);
        if (list)
            print_error("cut at %d of %d (%d rows): %zu sales\n", k, calls,
                        cut.rows_at_stop, json_array_size(list));
        assert_null(list);
        assert_in_range(cut.rows_at_stop, 0, 2); /* the same path up to the cut */
        at_row[cut.rows_at_stop]++;
    }
    /* some cuts fell after sale A's row and before sale B's */
    assert_true(at_row[1] > 0);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, s_setup, s_teardown)
    const struct CMUnitTest tests[] = {
        T(test_store_settings),     T(test_scenario),
        T(test_chain_links),        T(test_empty_outbox_checks),
        T(test_refund_limits),      T(test_refusals_write_nothing),
        T(test_tamper_body_byte),   T(test_tamper_truncated_body),
        T(test_tamper_deleted_row), T(test_outbox_read_and_ack),
        T(test_store_meta),         T(test_parse_line),
        T(test_zero_exponent_site), T(test_catalog_keeps_category), T(test_sale_bound),
        T(test_sales_list_cut),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
