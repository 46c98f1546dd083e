/*  test_facts -- what the server believes of a site's events (dn_facts),
    to the millisecond and the fen.

    One central.db per test: HQ (hq) > R1 (region) > D1, D2 (dealers), the
    plan 800/300 bps from 2026-01-01 (CNY), site SHOP-1 of D1 and SHOP-2
    of D2, both added by HQ at 2026-03-01T09:00:00.000Z.  Events are built
    by the test kit with explicit recorded times and applied through the
    server's ingest at explicit receipt times.

    The time rule (README "What the server believes"): posted at the
    recorded time, but never after receipt, never before the site's
    previous event nor before HQ added the site; flagged when the clock is
    more than 5 minutes ahead, ran backwards, or predates the site.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "dn_test_central.h"
#include "dn_test_site.h"

#include "dn_error.h"
#include "dn_facts.h"
#include "dn_ingest.h"
#include "dn_ledger.h"
#include "dn_log.h"
#include "dn_plan.h"
#include "dn_registry.h"
#include "dn_rollup.h"
#include "dn_time.h"
#include "dn_verify.h"
#include "dn_wire.h"

#include <stdio.h>
#include <string.h>

#define MIN_MS 60000LL

typedef struct {
    dn_test_central_t central;
    dn_ingest_t *ingest;
    dn_tk_site_t *shop1, *shop2;
} fixture_t;

static int64_t s_at(const char *date, int hour, int minute)
{
    int64_t ms;
    assert_int_equal(dn_time_parse_date(date, &ms), 0);
    return ms + (int64_t)hour * 3600000 + (int64_t)minute * MIN_MS;
}

static int64_t s_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *stmt;
    int64_t v = -1;
    assert_int_equal(dn_db_prepare(db, sql, &stmt), 0);
    if (sqlite3_step(stmt) == SQLITE_ROW)
        v = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return v;
}

static void s_text(sqlite3 *db, const char *sql, char *out, size_t size)
{
    sqlite3_stmt *stmt;
    assert_int_equal(dn_db_prepare(db, sql, &stmt), 0);
    out[0] = '\0';
    if (sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0))
        snprintf(out, size, "%s", (const char *)sqlite3_column_text(stmt, 0));
    sqlite3_finalize(stmt);
}

static int s_setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    int64_t added = s_at("2026-03-01", 9, 0);
    void *central = NULL;

    assert_non_null(fx);
    assert_int_equal(dn_test_central_setup(&central), 0);
    fx->central = *(dn_test_central_t *)central;
    free(central);
    sqlite3 *db = fx->central.db;
    dn_test_site_network(db);
    fx->shop1 = dn_test_site_enroll(db, "SHOP-1", "D1", 0x10, added);
    fx->shop2 = dn_test_site_enroll(db, "SHOP-2", "D2", 0x40, added);
    assert_non_null(fx->ingest = dn_ingest_new(db));
    *state = fx;
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *fx = *state;
    void *central = malloc(sizeof fx->central);
    dn_ingest_destroy(&fx->ingest);
    dn_tk_site_destroy(&fx->shop1);
    dn_tk_site_destroy(&fx->shop2);
    assert_non_null(central);
    memcpy(central, &fx->central, sizeof fx->central);
    free(fx);
    return dn_test_central_teardown(&central);
}

/*  A sale of 10.00 by seller in currency, recorded at `at`.  */
static void s_sale(dn_tk_site_t *site, int64_t at, const char *seller, const char *currency,
                   uint8_t *id_out)
{
    dn_test_site_sale(site, at, seller, currency, id_out);
}

/*  Everything the site has pending, as one batch received at `at`.  */
static void s_sync(fixture_t *fx, dn_tk_site_t *site, int64_t at)
{
    dn_test_site_sync(fx->central.db, fx->ingest, site, at);
}

/*  The clock: ahead within the tolerance, beyond it, backwards, and before
    the site existed.  */
static void test_time(void **state)
{
    fixture_t *fx = *state;
    sqlite3 *db = fx->central.db;
    int64_t received = s_at("2026-03-05", 10, 4);
    char text[512];

    s_sale(fx->shop1, s_at("2026-03-05", 10, 0), "D1", "CNY", NULL); /* as it is */
    s_sale(fx->shop1, received + 4 * MIN_MS, "D1", "CNY", NULL);     /* 4 min ahead */
    s_sale(fx->shop1, received + 6 * MIN_MS, "D1", "CNY", NULL);     /* 6 min ahead */
    s_sale(fx->shop1, s_at("2026-03-05", 9, 0), "D1", "CNY", NULL);  /* backwards */
    s_sync(fx, fx->shop1, received);
    s_sale(fx->shop2, s_at("2026-02-20", 10, 0), "D2", "CNY", NULL); /* before the site */
    s_sync(fx, fx->shop2, s_at("2026-03-06", 12, 0));

    /* posted at: 10:00; 10:04 (received); 10:04; 10:04 (the previous
       event's); SHOP-2's at 2026-03-01 09:00 (HQ added it) */
    s_text(db,
           "SELECT group_concat((recorded_at_ms - 1772705040000) || ':' || "
           "coalesce(site_clock_ms - 1772705040000, '-'), ' ') FROM "
           "(SELECT recorded_at_ms, site_clock_ms FROM events ORDER BY eid)",
           text, sizeof text);
    /* 1772705040000 is 2026-03-05T10:04:00.000Z */
    assert_string_equal(text, "-240000:- 0:240000 0:360000 0:-3840000 "
                              "-349440000:-1123440000");
    s_text(db,
           "SELECT group_concat(e.seq || ':' || x.kind || ':' || x.held, ' ') FROM "
           "(SELECT * FROM exceptions ORDER BY id) x JOIN events e ON e.eid = x.eid",
           text, sizeof text);
    assert_string_equal(text, "3:clock_ahead:0 4:clock_behind:0 1:clock_behind:0");
    s_text(db, "SELECT detail FROM exceptions WHERE id = 1", text, sizeof text);
    assert_string_equal(text, "recorded at 2026-03-05T10:10:00.000Z by the site's clock, 6 "
                              "min ahead of the server: posted at 2026-03-05T10:04:00.000Z, "
                              "when it was received");
    s_text(db, "SELECT detail FROM exceptions WHERE id = 3", text, sizeof text);
    assert_string_equal(text, "recorded at 2026-02-20T10:00:00.000Z by the site's clock, "
                              "before HQ added the site: posted at "
                              "2026-03-01T09:00:00.000Z");
    /* all five posted: D1 4 x 0.80, D2 0.80, R1 5 x 0.30 */
    assert_int_equal(s_int(db, "SELECT balance FROM accounts WHERE name = 'partner:D1'"),
                     320);
    assert_int_equal(s_int(db, "SELECT balance FROM accounts WHERE name = 'partner:D2'"),
                     80);
    assert_int_equal(s_int(db, "SELECT balance FROM accounts WHERE name = 'partner:R1'"),
                     150);
}

/*  A sale in another currency is stored and held; it can only be
    dismissed; verify agrees that nothing was posted.  */
static void test_currency(void **state)
{
    fixture_t *fx = *state;
    sqlite3 *db = fx->central.db;
    int64_t *post = NULL;
    size_t n_post = 0;
    json_t *report = NULL;
    char why[256] = "", text[256];

    s_sale(fx->shop1, s_at("2026-03-05", 10, 0), "D1", "USD", NULL);
    s_sync(fx, fx->shop1, s_at("2026-03-05", 11, 0));
    assert_int_equal(s_int(db, "SELECT count(*) FROM sales WHERE held = 1"), 1);
    assert_int_equal(s_int(db, "SELECT count(*) FROM transfers"), 0);
    s_text(db, "SELECT kind || ':' || held || ':' || detail FROM exceptions", text,
           sizeof text);
    assert_string_equal(text, "currency_mismatch:1:sale in USD, but the network's currency "
                              "is CNY: held, it cannot be posted");

    assert_int_equal(dn_db_begin(db), 0);
    assert_int_equal(dn_facts_resolve(db, 1, DN_FACTS_POST, NULL, "hq", "try", 1, &post,
                                      &n_post, why, sizeof why),
                     DN_EINVAL);
    assert_string_equal(why, "exception 1 (currency_mismatch): such a sale cannot be "
                             "posted; dismiss it (--dismiss)");
    assert_int_equal(dn_facts_resolve(db, 1, DN_FACTS_DISMISS, NULL, "hq", "wrong till", 1,
                                      &post, &n_post, why, sizeof why),
                     0);
    assert_int_equal(n_post, 0);
    assert_null(post);
    assert_int_equal(dn_db_commit(db), 0);
    assert_int_equal(dn_facts_resolve(db, 1, DN_FACTS_DISMISS, NULL, "hq", "again", 2, &post,
                                      &n_post, why, sizeof why),
                     DN_EEXIST);
    assert_string_equal(why, "exception 1 is already resolved");
    s_text(db, "SELECT resolution || ':' || resolved_by || ':' || reason FROM exceptions",
           text, sizeof text);
    assert_string_equal(text, "dismissed:hq:wrong till");
    assert_int_equal(s_int(db, "SELECT held FROM sales"), 1);

    int rc = dn_verify_run(sqlite3_db_filename(db, "main"), &report, why, sizeof why);
    assert_int_equal(rc, 0);
    assert_true(json_is_true(json_object_get(report, "ok")));
    json_decref(report);
}

/*  A seller of another branch: held with its refund; HQ posts it for the
    site's partner, and the refund with it: D1 0.80 - 0.40, R1 0.30 -
    0.15 (half of the sale refunded).  */
static void test_seller_post(void **state)
{
    fixture_t *fx = *state;
    sqlite3 *db = fx->central.db;
    uint8_t sale[DN_ID_BYTES];
    int64_t *post = NULL;
    size_t n_post = 0;
    dn_tk_event_t e;
    char why[256] = "";

    s_sale(fx->shop1, s_at("2026-03-05", 10, 0), "D2", "CNY", sale);
    dn_tk_refund(&e, sale, 500, NULL, 0);
    dn_test_site_record(fx->shop1, &e.ev, s_at("2026-03-05", 10, 30), NULL);
    s_sync(fx, fx->shop1, s_at("2026-03-05", 11, 0));
    assert_int_equal(s_int(db, "SELECT count(*) FROM transfers"), 0);
    assert_int_equal(s_int(db, "SELECT count(*) FROM exceptions WHERE held = 1"), 2);

    assert_int_equal(dn_db_begin(db), 0);
    assert_int_equal(dn_facts_resolve(db, 2, DN_FACTS_POST, NULL, "hq", "x", 1, &post,
                                      &n_post, why, sizeof why),
                     DN_EINVAL);
    assert_string_equal(why, "exception 2 is a refund held with its sale: resolve the "
                             "sale's exception, and the refund goes with it");
    assert_int_equal(dn_facts_resolve(db, 1, DN_FACTS_POST, "D1", "hq", "wrong code", 1,
                                      &post, &n_post, why, sizeof why),
                     0);
    assert_int_equal(n_post, 2);
    for (size_t i = 0; i < n_post; i++)
        assert_int_equal(dn_ingest_post_stored(fx->ingest, post[i], 1), 0);
    free(post);
    assert_int_equal(dn_db_commit(db), 0);
    assert_int_equal(s_int(db, "SELECT balance FROM accounts WHERE name = 'partner:D1'"),
                     40);
    assert_int_equal(s_int(db, "SELECT balance FROM accounts WHERE name = 'partner:R1'"),
                     15);
    assert_int_equal(s_int(db, "SELECT count(*) FROM exceptions WHERE resolved_ms IS NULL"),
                     0);
    assert_int_equal(s_int(db, "SELECT held FROM sales"), 0);
}

/*  A member name holding invisible characters, from an agent of before
    the till refused them: the sign-up, a sale to the member and an update
    are stored as signed, posted (10.00: D1 8 % = 0.80, R1 3 % = 0.30),
    each name flagged hidden_characters and shown with <U+XXXX>; HQ acks
    the flags; verify, the rebuild and dn_facts_load show what ingest
    showed.  */
static void test_hidden_name(void **state)
{
    static const dn_tk_line_t line[] = {{"X", 1, 1000, NULL}};
    fixture_t *fx = *state;
    sqlite3 *db = fx->central.db;
    Dealernet__Event ev = DEALERNET__EVENT__INIT, *loaded = NULL;
    Dealernet__MemberUpdate update = DEALERNET__MEMBER_UPDATE__INIT;
    dn_db_cache_t *cache;
    dn_phones_t *phones;
    dn_tk_event_t e;
    json_t *report = NULL;
    int64_t *post = NULL;
    size_t n_post = 0;
    char why[256] = "", text[512];
    int held = -1;

    /* "Li" U+200B "Wei", pasted from a chat */
    assert_int_equal(dn_tk_signup(&e, s_at("2026-03-05", 10, 0), "+8613900000001",
                                  "Li\xe2\x80\x8bWei", NULL, NULL),
                     0);
    dn_test_site_record(fx->shop1, &e.ev, s_at("2026-03-05", 10, 0), NULL);
    update.has_member_id = 1;
    update.member_id.data = e.member_id;
    update.member_id.len = DN_ID_BYTES;
    update.phone = "+8613900000001";
    assert_int_equal(dn_tk_sale(&e, "D1", DEALERNET__CHANNEL__CHANNEL_STORE, "+8613900000001",
                                line, 1),
                     0);
    dn_test_site_record(fx->shop1, &e.ev, s_at("2026-03-05", 10, 5), NULL);
    s_sync(fx, fx->shop1, s_at("2026-03-05", 11, 0));

    s_text(db, "SELECT name FROM members", text, sizeof text);
    assert_string_equal(text, "Li<U+200B>Wei");
    /* the stored bytes are the site's: U+200B is in the body */
    assert_int_equal(s_int(db, "SELECT count(*) FROM events WHERE seq = 1 AND "
                               "instr(body, X'4C69E2808B576569') > 0"),
                     1);
    s_text(db, "SELECT group_concat(kind || ':' || held || ':' || detail, '|') FROM exceptions",
           text, sizeof text);
    assert_string_equal(text, "hidden_characters:0:member name in sign-up seq 1 holds U+200B "
                              "(zero width space): stored as sent, shown as <U+XXXX>");
    assert_int_equal(s_int(db, "SELECT count(*) FROM sales WHERE held = 0"), 1);
    assert_int_equal(s_int(db, "SELECT balance FROM accounts WHERE name = 'partner:D1'"), 80);
    assert_int_equal(s_int(db, "SELECT balance FROM accounts WHERE name = 'partner:R1'"), 30);

    /* "Wang" U+202E "gnaF" U+2066: an update, two characters */
    update.name = "Wang\xe2\x80\xaegnaF\xe2\x81\xa6";
    ev.body_case = DEALERNET__EVENT__BODY_MEMBER_UPDATE;
    ev.member_update = &update;
    dn_test_site_record(fx->shop1, &ev, s_at("2026-03-05", 12, 0), NULL);
    s_sync(fx, fx->shop1, s_at("2026-03-05", 12, 1));
    s_text(db, "SELECT name FROM members", text, sizeof text);
    assert_string_equal(text, "Wang<U+202E>gnaF<U+2066>");
    s_text(db, "SELECT detail FROM exceptions WHERE id = 2", text, sizeof text);
    assert_string_equal(text, "member name in update seq 3 holds U+202E (right-to-left "
                              "override), U+2066 (left-to-right isolate): stored as sent, "
                              "shown as <U+XXXX>");
    /* nothing HQ reads holds either character */
    assert_int_equal(s_int(db, "SELECT count(*) FROM members WHERE instr(name, "
                               "char(0x200B)) OR instr(name, char(0x202E)) OR "
                               "instr(name, char(0x2066))"),
                     0);

    /* a flag is acknowledged, nothing else */
    assert_int_equal(dn_db_begin(db), 0);
    assert_int_equal(dn_facts_resolve(db, 2, DN_FACTS_DISMISS, NULL, "hq", "x", 1, &post,
                                      &n_post, why, sizeof why),
                     DN_EINVAL);
    assert_string_equal(why, "exception 2 (hidden_characters) is resolved with --ack");
    for (int64_t id = 1; id <= 2; id++)
        assert_int_equal(dn_facts_resolve(db, id, DN_FACTS_ACKNOWLEDGE, NULL, "hq",
                                          "pasted from a chat", 1, &post, &n_post, why,
                                          sizeof why),
                         0);
    assert_int_equal(n_post, 0);
    assert_int_equal(dn_db_commit(db), 0);
    assert_int_equal(s_int(db, "SELECT count(*) FROM exceptions WHERE resolution = "
                               "'acknowledged'"),
                     2);

    /* the replay shows what ingest showed */
    assert_non_null(cache = dn_db_cache_new(db));
    assert_non_null(phones = dn_phones_new(db));
    assert_int_equal(dn_facts_load(cache, phones, 1, &loaded, &held), 0);
    assert_int_equal(held, 0);
    assert_string_equal(loaded->member_signup->name, "Li<U+200B>Wei");
    dn_wire_event_free(&loaded);
    assert_int_equal(dn_facts_load(cache, phones, 3, &loaded, &held), 0);
    assert_string_equal(loaded->member_update->name, "Wang<U+202E>gnaF<U+2066>");
    dn_wire_event_free(&loaded);
    dn_phones_destroy(&phones);
    dn_db_cache_destroy(&cache);
    assert_int_equal(dn_db_begin(db), 0);
    assert_int_equal(dn_rollup_rebuild(db), 0);
    assert_int_equal(dn_db_commit(db), 0);
    assert_int_equal(dn_verify_run(sqlite3_db_filename(db, "main"), &report, why,
                                      sizeof why),
                     0);
    assert_true(json_is_true(json_object_get(report, "ok")));
    json_decref(report);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_time, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_currency, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_seller_post, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_hidden_name, s_setup, s_teardown),
    };
    dn_log_init("test_facts", DN_LOG_ERROR, 0);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
