/*  test_phones -- canonical phones at the server and in both databases'
    migrations (issue 10, part 5).

    The canonicaliser itself is pinned down in test_valid; here is what the
    programs do with it:

    1. An older agent's events carry phones as typed (less separators) and
       are never re-signed: the server stores their rows canonical (+86, the
       network's default), so one customer is one member, a referral typed
       in another spelling reaches that member, a later sign-up in another
       spelling is a conflict, and HQ's look-ups find the member by any
       spelling; the stored event bytes keep what was signed, and verify,
       replaying them, agrees.

    2. A central.db from before: built here as the old server stored it
       (no default country, so national spellings stay as sent: exactly
       what the old code stored), then opened by this code.  Phones held in
       one spelling are rewritten everywhere (member rows, referrers, sales,
       member accounts and their names); a phone held in two spellings
       keeps the second (phone_spellings) and lists its member in member
       conflicts; verify still holds, and a new event in the kept spelling
       goes to the canonical member.

    3. An agent.db from before, written row by row: opened by this code,
       its phones come out canonical, and a later sign-up that becomes the
       phone of an earlier one moves to member_duplicates.

    Figures (plan: level 0 = 800 bps; referral bonus 5.00, 100 bps of every
    purchase within 365 days; half-even to the fen):
      a sale of 2 x 59.90 = 119.80 to a member referred by a member pays
      the referrer 5.00 + 119.80 x 1 % = 5.00 + 1.198 -> 1.20 = 6.20;
      a sale of 20.00 pays 5.00 + 0.20 = 5.20;
      a sale of 30.00 pays 5.00 + 0.30 = 5.30.
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

#include "dn_central.h"
#include "dn_db.h"
#include "dn_error.h"
#include "dn_ingest.h"
#include "dn_ledger.h"
#include "dn_log.h"
#include "dn_phones.h"
#include "dn_plan.h"
#include "dn_record.h"
#include "dn_registry.h"
#include "dn_report.h"
#include "dn_store.h"
#include "dn_test_central.h"
#include "dn_test_site.h"
#include "dn_time.h"
#include "dn_verify.h"
#include "dn_wire.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))
#define Z       "000000000000000000000000000000" /* an agent member id's first 15 bytes */

static const char *const s_plan_text = "[plan]\n"
                                       "effective = 2026-01-01\n"
                                       "currency = CNY\n"
                                       "[levels]\n"
                                       "0 = 800\n"
                                       "[referral]\n"
                                       "first_purchase_bonus = 5.00\n"
                                       "purchase_bps = 100\n"
                                       "purchase_days = 365\n";

static int64_t s_at(const char *date, int hour)
{
    int64_t ms;
    assert_int_equal(dn_time_parse_date(date, &ms), 0);
    return ms + (int64_t)hour * 3600 * 1000;
}

/*  The rows of a query, "a|b" each, joined with ", ".  */
static void s_rows(sqlite3 *db, const char *sql, char *out, size_t size)
{
    sqlite3_stmt *stmt;
    size_t len = 0;
    out[0] = '\0';
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK);
    while (sqlite3_step(stmt) == SQLITE_ROW) {
        for (int c = 0; c < sqlite3_column_count(stmt); c++) {
            const unsigned char *v = sqlite3_column_text(stmt, c);
            len +=
                (size_t)snprintf(out + len, size - len, "%s%s",
                                 c ? "|" : (len ? ", " : ""), v ? (const char *)v : "-");
            assert_true(len < size);
        }
    }
    assert_int_equal(sqlite3_finalize(stmt), SQLITE_OK);
}

static void s_expect_rows(sqlite3 *db, const char *sql, const char *want)
{
    char got[2048];
    s_rows(db, sql, got, sizeof got);
    if (strcmp(got, want) != 0)
        print_error("%s\n  got  %s\n  want %s\n", sql, got, want);
    assert_string_equal(got, want);
}

static void s_exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK)
        print_error("%s: %s\n", sql, msg ? msg : "?");
    sqlite3_free(msg);
    assert_int_equal(rc, SQLITE_OK);
}

/* -- the server -------------------------------------------------------------- */

typedef struct {
    dn_test_central_t central;
    dn_ingest_t *ingest;
    dn_tk_site_t *shop_a, *shop_b;
} fixture_t;

static int s_setup(void **state)
{
    void *central = NULL;
    fixture_t *fx;
    if (dn_test_central_setup(&central))
        return -1;
    fx = calloc(1, sizeof *fx);
    if (!fx)
        return -1;
    fx->central = *(dn_test_central_t *)central;
    free(central);
    *state = fx;
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *fx = *state;
    dn_test_central_t *central = calloc(1, sizeof *central);
    dn_ingest_destroy(&fx->ingest);
    dn_tk_site_destroy(&fx->shop_a);
    dn_tk_site_destroy(&fx->shop_b);
    *central = fx->central;
    free(fx);
    return dn_test_central_teardown((void **)&central);
}

/*  HQ, D1 (dealer), the plan, SHOP-A and SHOP-B of D1.  */
static void s_network(fixture_t *fx)
{
    sqlite3 *db = fx->central.db;
    int64_t now = s_at("2026-01-01", 0);
    char why[256] = "";
    dn_plan_t plan;
    assert_int_equal(
        dn_registry_partner_add(db, "HQ", "HQ", "hq", NULL, now, why, sizeof why), 0);
    assert_int_equal(
        dn_registry_partner_add(db, "D1", "D1", "dealer", "HQ", now, why, sizeof why), 0);
    if (dn_plan_set(db, s_plan_text, now, &plan, why, sizeof why))
        print_error("plan: %s\n", why);
    fx->shop_a = dn_test_site_enroll(db, "SHOP-A", "D1", 1, now);
    fx->shop_b = dn_test_site_enroll(db, "SHOP-B", "D1", 2, now);
    assert_non_null(fx->ingest = dn_ingest_new(db));
}

static void s_signup(dn_tk_site_t *site, const char *date, const char *phone,
                     const char *name, const char *ref_phone, const char *ref_partner)
{
    dn_tk_event_t e;
    int64_t at = s_at(date, 10);
    assert_int_equal(dn_tk_signup(&e, at, phone, name, ref_phone, ref_partner), 0);
    dn_test_site_record(site, &e.ev, at, NULL);
}

static void s_sale(dn_tk_site_t *site, const char *date, const char *phone, int64_t qty,
                   int64_t price)
{
    dn_tk_event_t e;
    dn_tk_line_t line = {"RICE-5KG", qty, price, NULL};
    assert_int_equal(
        dn_tk_sale(&e, "D1", DEALERNET__CHANNEL__CHANNEL_STORE, phone, &line, 1), 0);
    dn_test_site_record(site, &e.ev, s_at(date, 11), NULL);
}

/*  Sends what site has pending, as one batch, through the real ingest.  */
static void s_sync(fixture_t *fx, dn_tk_site_t *site)
{
    dn_tk_batch_t batch;
    dn_ingest_result_t r;
    assert_int_equal(dn_tk_batch(site, &batch), 0);
    int rc = dn_tk_ingest(fx->central.db, fx->ingest, &site->reg, &batch,
                          s_at("2026-01-20", 0), &r);
    if (rc)
        print_error("ingest: %s\n", r.why);
    assert_int_equal(rc, 0);
    dn_tk_batch_free(&batch);
}

static void s_verify_ok(fixture_t *fx)
{
    json_t *report = NULL;
    int rc = dn_verify_run(sqlite3_db_filename(fx->central.db, "main"), &report, NULL, 0);
    if (rc) {
        char *text = report ? json_dumps(report, 0) : NULL;
        print_error("verify: %s\n", text ? text : dn_strerror(rc));
        free(text);
    }
    assert_int_equal(rc, 0);
    json_decref(report);
}

/*  The closing balance of member phone's statement for 2026-01, the phone
    typed as given.  */
static void s_closing(fixture_t *fx, const char *typed, const char *account,
                      const char *closing)
{
    json_t *st = NULL;
    char why[256] = "";
    int rc = dn_ledger_statement(fx->central.db, NULL, typed, "2026-01",
                                 s_at("2026-01-20", 0), &st, why, sizeof why);
    if (rc)
        print_error("statement %s: %s\n", typed, why);
    assert_int_equal(rc, 0);
    assert_string_equal(json_string_value(json_object_get(st, "account")), account);
    assert_string_equal(json_string_value(json_object_get(st, "closing")), closing);
    json_decref(st);
}

/*  1. An older agent's spellings, stored canonical.  */
static void test_ingest_old_spellings(void **state)
{
    fixture_t *fx = *state;
    sqlite3 *db = fx->central.db;
    json_t *tree = NULL;
    char why[256] = "";
    static const char *const lookups[] = {
        "+86 138 0013 8000", "8613800138000", "13800138000", "013800138000",
        "\xef\xbc\x91\xef\xbc\x93\xef\xbc\x98\xef\xbc\x90\xef\xbc\x90\xef\xbc\x91\xef\xbc"
        "\x93"
        "\xef\xbc\x98\xef\xbc\x90\xef\xbc\x90\xef\xbc\x90"}; /* full-width */

    s_network(fx);
    /* the network's country: a new central.db without a plan has 86 */
    int country = -1;
    assert_int_equal(dn_phones_country(db, &country), 0);
    assert_int_equal(country, 86);

    s_signup(fx->shop_a, "2026-01-10", "13800138000", "Li Wei", NULL, "D1");
    /* the referrer typed with the country code, without '+' */
    s_signup(fx->shop_a, "2026-01-11", "013900139000", "Wang Fang", "8613800138000",
             NULL);
    s_sale(fx->shop_a, "2026-01-12", "+8613900139000", 2, 5990); /* 119.80 */
    /* a member referring themselves, once canonical */
    s_signup(fx->shop_a, "2026-01-12", "13700137000", NULL, "+8613700137000", NULL);
    s_sync(fx, fx->shop_a);
    /* the same customer signs up at another shop, with the 00 prefix */
    s_signup(fx->shop_b, "2026-01-13", "008613800138000", "Li", NULL, "D1");
    s_sync(fx, fx->shop_b);

    s_expect_rows(db,
                  "SELECT phone, name, coalesce(referrer_phone, referrer_partner, '-') "
                  "FROM members ORDER BY id",
                  "+8613800138000|Li Wei|D1, +8613900139000|Wang Fang|+8613800138000, "
                  "+8613700137000|-|-");
    s_expect_rows(db, "SELECT member_phone FROM sales", "+8613900139000");
    s_expect_rows(db,
                  "SELECT m.phone, c.phone, s.code FROM member_conflicts c "
                  "JOIN members m ON m.id = c.member JOIN sites s ON s.id = c.site_id",
                  "+8613800138000|+8613800138000|SHOP-B");
    /* the referral reached Li: 5.00 + 1.20 = 6.20 */
    s_expect_rows(db, "SELECT name, balance FROM accounts WHERE kind = 'member'",
                  "member:+8613800138000|620");
    /* the stored bytes are what the agent signed */
    sqlite3_stmt *stmt;
    Dealernet__Event *ev = NULL;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT body FROM events ORDER BY eid LIMIT 1",
                                        -1, &stmt, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    assert_int_equal(dn_wire_event_unpack(sqlite3_column_blob(stmt, 0),
                                          (size_t)sqlite3_column_bytes(stmt, 0), &ev, why,
                                          sizeof why),
                     0);
    assert_string_equal(ev->member_signup->phone, "13800138000");
    dn_wire_event_free(&ev);
    sqlite3_finalize(stmt);

    /* HQ finds the member by any spelling */
    for (size_t i = 0; i < N_OF(lookups); i++)
        s_closing(fx, lookups[i], "member:+8613800138000", "6.20");
    assert_int_equal(dn_report_referrals(db, 10, "013800138000", &tree, why, sizeof why),
                     0);
    assert_int_equal(json_array_size(tree), 2);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(tree, 1), "phone")),
        "+8613900139000");
    json_decref(tree);
    /* and refuses what is not a phone, with the rules' message */
    json_t *st = NULL;
    assert_int_equal(dn_ledger_statement(db, NULL, "138-0013-800", "2026-01",
                                         s_at("2026-01-20", 0), &st, why, sizeof why),
                     DN_EINVAL);
    assert_string_equal(why,
                        "'138-0013-800' is not a phone number: a Chinese mobile number "
                        "has 11 digits after +86, this one has 10");
    s_verify_ok(fx);
}

/*  2. A central.db from before, opened by this code.  */
static void test_migrate_central(void **state)
{
    fixture_t *fx = *state;
    char path[128];
    sqlite3 *db;

    s_network(fx);
    /* The old server: no default country, so national spellings are kept
       as sent, as the old code stored them.  */
    assert_int_equal(dn_db_meta_set(fx->central.db, DN_META_COUNTRY, "0"), 0);
    dn_ingest_destroy(&fx->ingest);
    assert_non_null(fx->ingest = dn_ingest_new(fx->central.db));
    s_signup(fx->shop_a, "2026-01-10", "13800138000", "Li Wei", NULL, "D1");
    s_signup(fx->shop_a, "2026-01-11", "13900139000", "Wang Fang", "13800138000", NULL);
    s_sale(fx->shop_a, "2026-01-12", "13900139000", 2, 5990); /* Li: 5.00 + 1.20 */
    s_signup(fx->shop_a, "2026-01-12", "13700137000", "Zhao", NULL, "D1");
    s_sync(fx, fx->shop_a);
    /* another shop spells Zhao with the trunk 0: another member then,
       referred by Li, who earns on its sale */
    s_signup(fx->shop_b, "2026-01-13", "013700137000", "Zhao Lei", "13800138000", NULL);
    s_sale(fx->shop_b, "2026-01-13", "013700137000", 1, 2000); /* Li: 5.00 + 0.20 */
    s_sync(fx, fx->shop_b);
    s_expect_rows(fx->central.db,
                  "SELECT name, balance FROM accounts WHERE kind = 'member'",
                  "member:13800138000|1140"); /* 6.20 + 5.20 */
    s_verify_ok(fx);
    /* what an old file holds: no country, the migration's flag, no phone
       spelling kept (the migration's schema part ran on this new file)  */
    s_exec(fx->central.db,
           "DELETE FROM meta WHERE key = 'country';"
           "INSERT INTO meta(key, value) VALUES ('phones_canonical', '1');");
    dn_ingest_destroy(&fx->ingest);
    snprintf(path, sizeof path, "%s", fx->central.dir);
    assert_int_equal(sqlite3_close(fx->central.db), SQLITE_OK);
    fx->central.db = NULL;

    assert_int_equal(dn_central_open(path, 0, &fx->central.db), 0);
    db = fx->central.db;
    int country = -1;
    assert_int_equal(dn_phones_country(db, &country), 0);
    assert_int_equal(country, 86); /* from the plan's CNY */
    s_expect_rows(db,
                  "SELECT value FROM meta WHERE key IN ('phones_canonical', "
                  "'phones_legacy_eid') ORDER BY key",
                  "6"); /* six events stored before; the flag is gone */
    s_expect_rows(
        db,
        "SELECT phone, name, coalesce(referrer_phone, referrer_partner) FROM members "
        "ORDER BY id",
        "+8613800138000|Li Wei|D1, +8613900139000|Wang Fang|+8613800138000, "
        "+8613700137000|Zhao|D1, 013700137000|Zhao Lei|+8613800138000");
    s_expect_rows(db, "SELECT member_phone FROM sales ORDER BY eid",
                  "+8613900139000, 013700137000");
    s_expect_rows(db, "SELECT spelling, phone FROM phone_spellings",
                  "013700137000|+8613700137000");
    s_expect_rows(db,
                  "SELECT m.phone, c.phone, c.referrer, s.code FROM member_conflicts c "
                  "JOIN members m ON m.id = c.member JOIN sites s ON s.id = c.site_id",
                  "+8613700137000|013700137000|+8613800138000|SHOP-B");
    /* the account is renamed, its id and balance kept: the chain holds */
    s_expect_rows(db, "SELECT name, phone, balance FROM accounts WHERE kind = 'member'",
                  "member:+8613800138000|+8613800138000|1140");
    s_verify_ok(fx);
    s_closing(fx, "13800138000", "member:+8613800138000", "11.40");
    json_t *list = NULL;
    assert_int_equal(dn_registry_member_conflicts(db, &list), 0);
    assert_int_equal(json_array_size(list), 1);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(list, 0), "duplicate_phone")),
        "013700137000");
    json_decref(list);

    /* SHOP-B, still the old agent, sells to Zhao in the kept spelling: the
       new event goes to the canonical member (referred by D1 at SHOP-A),
       its first purchase under that phone -- made at SHOP-B, not at the
       sign-up's site, so the referral is void (the binding rule, README
       "Referral"): D1 earns no referral reward on it */
    assert_non_null(fx->ingest = dn_ingest_new(db));
    s_sale(fx->shop_b, "2026-01-15", "013700137000", 1, 3000);
    s_sync(fx, fx->shop_b);
    s_expect_rows(db, "SELECT member_phone FROM sales ORDER BY eid DESC LIMIT 1",
                  "+8613700137000");
    s_expect_rows(
        db,
        "SELECT a.name, t.amount FROM transfers t JOIN accounts a ON a.id = t.credit "
        "WHERE t.code = 'referral' AND t.source_eid = (SELECT max(eid) FROM events) "
        "ORDER BY t.id",
        "");
    s_expect_rows(db,
                  "SELECT referral_state FROM member_referrals WHERE phone = '+8613700137000'",
                  "void");
    s_verify_ok(fx);
}

/* -- the agent ----------------------------------------------------------------- */

static void s_agent_rows(const char *dir, const char *sql, const char *want)
{
    char path[256];
    sqlite3 *db;
    snprintf(path, sizeof path, "%s/agent.db", dir);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    s_expect_rows(db, sql, want);
    sqlite3_close(db);
}

/*  3. An agent.db from before: phones as typed, two spellings of two
    customers.  */
static void test_migrate_agent(void **state)
{
    char dir[64] = "/tmp/test_phones.XXXXXX", path[128];
    dn_store_t *store;
    sqlite3 *db;
    int err = 0;
    (void)state;

    assert_non_null(mkdtemp(dir));
    assert_int_equal(dn_store_create(dir, "SHOP-01", "DLR-7", "CNY"), 0);
    snprintf(path, sizeof path, "%s/agent.db", dir);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    s_exec(
        db,
        "PRAGMA foreign_keys = ON;"
        "WITH RECURSIVE n(seq) AS (SELECT 1 UNION ALL SELECT seq + 1 FROM n "
        "  WHERE seq < 8) "
        "INSERT INTO events(seq, id, kind, recorded_at_ms, body, hash) "
        "  SELECT seq, randomblob(16), 'x', 1767225600000 + seq, x'00', "
        "  zeroblob(32) FROM n;"
        /* seq 1 and 2: one customer; the later already canonical */
        "INSERT INTO members(id, phone, name, referrer, seq, recorded_at_ms) VALUES"
        " (x'00000000000000000000000000000001', '13800138000', 'Li Wei', 'DLR-7', 1, "
        "1767225600001),"
        " (x'00000000000000000000000000000002', '+8613800138000', 'Li again', NULL, 2, "
        "1767225600002),"
        " (x'00000000000000000000000000000003', '013900139000', 'Wang Fang', "
        "'8613800138000', 3, 1767225600003),"
        " (x'00000000000000000000000000000004', '12345', NULL, NULL, 4, 1767225600004),"
        " (x'00000000000000000000000000000008', '13900139000', 'Wang twice', NULL, 8, "
        "1767225600008);"
        "INSERT INTO sales(id, seq, recorded_at_ms, total, member_phone, channel, "
        "  seller) VALUES"
        " (x'05', 5, 1767225600005, 100, '13900139000', 0, 'DLR-7'),"
        " (x'06', 6, 1767225600006, 200, '013800138000', 0, 'DLR-7'),"
        " (x'07', 7, 1767225600007, 300, NULL, 0, 'DLR-7');"
        "INSERT INTO meta(key, value) VALUES ('phones_canonical', '1');");
    char before[2048], after[2048];
    s_rows(db, "SELECT group_concat(hex(id) || hex(body) || hex(hash), '') FROM events",
           before, sizeof before); /* the outbox as signed */
    sqlite3_close(db);

    assert_non_null(store = dn_store_open(dir, &err));
    assert_int_equal(dn_store_info(store)->country, 86);
    dn_store_destroy(&store);
    s_agent_rows(dir,
                 "SELECT hex(id), phone, name, coalesce(referrer, '-') FROM members "
                 "ORDER BY seq",
                 Z "01|+8613800138000|Li Wei|DLR-7, " Z "03|+8613900139000|Wang Fang|"
                   "+8613800138000, " Z "04|12345|-|-");
    /* nothing dropped: the later sign-ups kept whole, naming the member */
    s_agent_rows(dir,
                 "SELECT hex(id), phone, hex(member_id), name FROM member_duplicates "
                 "ORDER BY seq",
                 Z "02|+8613800138000|" Z "01|Li again, " Z "08|13900139000|" Z
                   "03|Wang twice");
    s_agent_rows(dir,
                 "SELECT hex(id), coalesce(member_phone, '-') FROM sales ORDER BY seq",
                 "05|+8613900139000, 06|+8613800138000, 07|-");
    s_agent_rows(dir, "SELECT count(*) FROM meta WHERE key = 'phones_canonical'", "0");
    snprintf(path, sizeof path, "%s/agent.db", dir);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    s_rows(db, "SELECT group_concat(hex(id) || hex(body) || hex(hash), '') FROM events",
           after, sizeof after);
    sqlite3_close(db);
    assert_string_equal(after, before); /* the outbox is as it was signed */

    /* at the till, a full-width spelling is that member */
    assert_non_null(store = dn_store_open(dir, &err));
    dn_member_input_t in = {"\xef\xbc\x91\xef\xbc\x93\xef\xbc\x98 0013 8000", NULL, NULL,
                            0, 0};
    dn_record_result_t out;
    char why[DN_WHY_SIZE] = "";
    assert_int_equal(dn_record_member_add(store, &in, &out, why, sizeof why), DN_EDUP);
    assert_string_equal(why, "phone +8613800138000 is already signed up here as member "
                             "00000000-0000-0000-0000-000000000001");
    dn_store_destroy(&store);
    assert_int_equal(dn_tk_remove_tree(dir), 0);
}

/*  An agent without a default country (EUR, from before) takes phones
    with their country code only.  */
static void test_agent_no_country(void **state)
{
    char dir[64] = "/tmp/test_phones.XXXXXX", path[128];
    dn_store_t *store;
    sqlite3 *db;
    int err = 0;
    (void)state;

    assert_non_null(mkdtemp(dir));
    assert_int_equal(dn_store_create(dir, "SHOP-01", "DLR-7", "EUR"), DN_EINVAL);
    assert_int_equal(dn_store_create_country(dir, "SHOP-01", "DLR-7", "EUR", 49), 0);
    snprintf(path, sizeof path, "%s/agent.db", dir);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    s_exec(db, "DELETE FROM meta WHERE key = 'country'"); /* as before this version */
    sqlite3_close(db);
    assert_non_null(store = dn_store_open(dir, &err));
    assert_int_equal(dn_store_info(store)->country, DN_COUNTRY_NONE);
    dn_member_input_t in = {"030 1234567", NULL, NULL, 0, 0};
    dn_record_result_t out;
    char why[DN_WHY_SIZE] = "";
    assert_int_equal(dn_record_member_add(store, &in, &out, why, sizeof why), DN_EPARSE);
    assert_string_equal(why,
                        "phone '030 1234567' is not a phone number: no country code: "
                        "type it with + and the country code (no default country is "
                        "set)");
    in.phone = "+49 30 1234567";
    assert_int_equal(dn_record_member_add(store, &in, &out, why, sizeof why), 0);
    dn_store_destroy(&store);
    assert_int_equal(dn_tk_remove_tree(dir), 0);
}

int main(void)
{
    dn_log_init("test_phones", DN_LOG_ERROR, 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ingest_old_spellings, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_migrate_central, s_setup, s_teardown),
        cmocka_unit_test(test_migrate_agent),
        cmocka_unit_test(test_agent_no_country),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
