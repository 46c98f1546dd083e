/*  test_payrun -- payout runs (dn_payrun) and the ledger figures they pay
    (dn_ledger_payables), worked by hand.

    One central.db in a mkdtemp folder; times are UTC (the test process
    keeps the default zone).  Partners, all dealers under HQ (kind hq),
    added on 2026-08-20: A, B, C, D, E, F.  The plan (CNY) is effective
    2026-09-01: level 0 8 %, a referral bonus of 5.00 and 1 % of a
    member's purchases.

    October 2026 (the period the runs pay):
      2026-10-05  SHOP-A (A's) signs up M0, then M1 referred by M0, and
                  sells 100.00 to M1, seller A: A earns 100.00 x 8 % =
                  8.00; M0's referral credit 5.00 + 1.00 = 6.00 (a
                  member's account: never paid by a run)
      2026-10-06  adjustments: A +142.00 (A: 8.00 + 142.00 = 150.00),
                  B +100.00, C +99.99, D +500.00, E +300.00; F nothing
      2026-10-20  D suspended
      2026-11-02  October closed (09:00); A paid 20.00 by hand (ref
                  BANK-1102, 10:00, into November); B +40.00 (11:00, into
                  November)
    Bank details: A, B, C, D (E has none, F nothing to pay).

    So a run of 2026-10 at --min 100.00 pays (closing balance less what was
    paid after October, at most the balance now):
      A  min(150.00 - 20.00, 130.00) = 130.00   paid
      B  min(100.00 - 0, 140.00)    = 100.00   paid (the minimum is in)
      C  99.99                               left out: below the minimum
      D  500.00                              left out: suspended
      E  300.00                              left out: no bank details
    230.00 in all.  The tests below run in order on the one file.
*/
#include "dn_admin.h"
#include "dn_central.h"
#include "dn_db.h"
#include "dn_error.h"
#include "dn_ingest.h"
#include "dn_ledger.h"
#include "dn_payrun.h"
#include "dn_plan.h"
#include "dn_registry.h"
#include "dn_testkit.h"
#include "dn_time.h"
#include "dn_tree.h"
#include "dn_verify.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dn_test_site.h" /* its helpers assert with cmocka */
#include "dn_test_sql.h"

#define PHONE_M0 "+8613800000001"
#define PHONE_M1 "+8613800000002"

typedef struct {
    char dir[64];
    char path[128];
    sqlite3 *db;
    dn_ingest_t *ingest;
    dn_tk_site_t *shop;
} fixture_t;

static const char s_plan[] = "[plan]\n"
                             "effective = 2026-09-01\n"
                             "currency = CNY\n"
                             "cap_bps = 1500\n"
                             "[levels]\n"
                             "0 = 800\n"
                             "[referral]\n"
                             "first_purchase_bonus = 5.00\n"
                             "purchase_bps = 100\n"
                             "purchase_days = 365\n"
                             "recruit_override_bps = 0\n"
                             "recruit_override_days = 0\n";

/*  UTC milliseconds of a date at hour:minute.  */
static int64_t s_at(const char *date, int hour, int minute)
{
    int64_t ms = 0;
    assert_int_equal(dn_time_parse_date(date, &ms), 0);
    return ms + ((int64_t)hour * 60 + minute) * 60 * 1000;
}

/*  The balance of account name (0 when it has none).  */
static int64_t s_balance(sqlite3 *db, const char *name)
{
    char sql[160];
    snprintf(sql, sizeof sql,
             "SELECT coalesce((SELECT balance FROM accounts WHERE name = '%s'), 0)",
             name);
    return dn_test_int(db, sql);
}

static int64_t s_payouts(sqlite3 *db)
{
    return dn_test_int(db, "SELECT count(*) FROM transfers WHERE code = 'payout'");
}

/*  A compact dump of key of obj (caller frees).  */
static char *s_dump(const json_t *obj, const char *key)
{
    char *text =
        json_dumps(key ? json_object_get(obj, key) : obj, JSON_COMPACT | JSON_ENCODE_ANY);
    assert_non_null(text);
    return text;
}

static void s_dump_is(const json_t *obj, const char *key, const char *want)
{
    char *text = s_dump(obj, key);
    if (strcmp(text, want) != 0)
        print_error("%s:\n got  %s\n want %s\n", key ? key : "(all)", text, want);
    assert_string_equal(text, want);
    free(text);
}

static const char *s_str(const json_t *obj, const char *key)
{
    const char *text = json_string_value(json_object_get(obj, key));
    assert_non_null(text);
    return text;
}

static void s_adjust(fixture_t *fx, const char *account, int64_t amount, int64_t at)
{
    json_t *out = NULL;
    char why[256] = "";
    int rc = dn_ledger_adjust(fx->db, account, amount, "test figures", "hq", at, &out,
                              why, sizeof why);
    if (rc)
        print_error("adjust %s: %s\n", account, why);
    assert_int_equal(rc, 0);
    json_decref(out);
}

static void s_status(fixture_t *fx, const char *code, int suspend, int64_t at)
{
    char why[256] = "";
    int rc = suspend ? dn_tree_suspend(fx->db, code, at, why, sizeof why)
                     : dn_tree_resume(fx->db, code, at, why, sizeof why);
    if (rc)
        print_error("status %s: %s\n", code, why);
    assert_int_equal(rc, 0);
}

static void s_bank(fixture_t *fx, const char *code, const char *account, const char *name,
                   const char *bank, int64_t at)
{
    json_t *out = NULL;
    char why[256] = "";
    int rc = dn_payrun_bank_set(fx->db, code, account, name, bank, "hq", at, &out, why,
                                sizeof why);
    if (rc)
        print_error("bank %s: %s\n", code, why);
    assert_int_equal(rc, 0);
    json_decref(out);
}

/* -- the scenario ----------------------------------------------------------------- */

static int s_setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    int64_t setup = s_at("2026-08-20", 9, 0);
    static const char *const partners[] = {"A", "B", "C", "D", "E", "F"};
    static const dn_tk_line_t tea[] = {{"TEA", 1, 10000, NULL}};
    dn_ingest_result_t result;
    dn_tk_batch_t batch;
    dn_tk_event_t e;
    dn_plan_t plan;
    char why[256] = "";

    assert_non_null(fx);
    *state = fx;
    snprintf(fx->dir, sizeof fx->dir, "/tmp/test_payrun.XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    snprintf(fx->path, sizeof fx->path, "%s/%s", fx->dir, DN_CENTRAL_DB_FILE);
    assert_int_equal(dn_central_open(fx->dir, DN_DB_CREATE, &fx->db), 0);
    assert_non_null(fx->ingest = dn_ingest_new(fx->db));

    assert_int_equal(dn_registry_partner_add(fx->db, "HQ", "Head office", "hq", NULL,
                                             setup, why, sizeof why),
                     0);
    for (size_t i = 0; i < sizeof partners / sizeof partners[0]; i++)
        assert_int_equal(dn_registry_partner_add(fx->db, partners[i], partners[i],
                                                 "dealer", "HQ", setup, why, sizeof why),
                         0);
    assert_int_equal(dn_plan_set(fx->db, s_plan, setup, &plan, why, sizeof why), 0);
    fx->shop = dn_test_site_enroll(fx->db, "SHOP-A", "A", 0x10, setup);

    assert_int_equal(
        dn_tk_signup(&e, s_at("2026-10-05", 10, 0), PHONE_M0, "M0", NULL, NULL), 0);
    dn_test_site_record(fx->shop, &e.ev, s_at("2026-10-05", 10, 0), NULL);
    assert_int_equal(
        dn_tk_signup(&e, s_at("2026-10-05", 10, 1), PHONE_M1, "M1", PHONE_M0, NULL), 0);
    dn_test_site_record(fx->shop, &e.ev, s_at("2026-10-05", 10, 1), NULL);
    assert_int_equal(
        dn_tk_sale(&e, "A", DEALERNET__CHANNEL__CHANNEL_STORE, PHONE_M1, tea, 1), 0);
    dn_test_site_record(fx->shop, &e.ev, s_at("2026-10-05", 10, 2), NULL);
    assert_int_equal(dn_tk_batch(fx->shop, &batch), 0);
    assert_int_equal(dn_tk_ingest(fx->db, fx->ingest, &fx->shop->reg, &batch,
                                  s_at("2026-10-05", 11, 0), &result),
                     0);
    dn_tk_batch_free(&batch);
    assert_int_equal(s_balance(fx->db, "partner:A"), 800);        /* 100.00 x 8 % */
    assert_int_equal(s_balance(fx->db, "member:" PHONE_M0), 600); /* 5.00 + 1.00 */

    s_adjust(fx, "A", 14200, s_at("2026-10-06", 9, 0));
    s_adjust(fx, "B", 10000, s_at("2026-10-06", 9, 1));
    s_adjust(fx, "C", 9999, s_at("2026-10-06", 9, 2));
    s_adjust(fx, "D", 50000, s_at("2026-10-06", 9, 3));
    s_adjust(fx, "E", 30000, s_at("2026-10-06", 9, 4));
    s_status(fx, "D", 1, s_at("2026-10-20", 9, 0));
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *fx = *state;
    int rc = 0;
    if (!fx)
        return 0;
    dn_ingest_destroy(&fx->ingest);
    dn_tk_site_destroy(&fx->shop);
    if (fx->db && sqlite3_close(fx->db) != SQLITE_OK)
        rc = -1;
    if (fx->dir[0] && dn_tk_remove_tree(fx->dir) != 0)
        rc = -1;
    free(fx);
    return rc;
}

/* -- bank details -------------------------------------------------------------------- */

static void test_bank_details(void **state)
{
    fixture_t *fx = *state;
    int64_t at = s_at("2026-08-21", 9, 0);
    char why[256] = "", name[66];
    json_t *out = NULL;

    /* typed in groups of four: stored as the 19 digits */
    assert_int_equal(dn_payrun_bank_set(fx->db, "A", "6222 0200 1122 3344 556", "张三",
                                        "工商银行北京分行", "hq", at, &out, why,
                                        sizeof why),
                     0);
    s_dump_is(out, NULL,
              "{\"partner\":\"A\",\"account\":\"6222020011223344556\",\"name\":\"张三\","
              "\"bank\":\"工商银行北京分行\",\"updated\":\"2026-08-21T09:00:00.000Z\","
              "\"updated_by\":\"hq\",\"replaced\":false}");
    json_decref(out);
    /* set again: replaced, the newer details kept */
    assert_int_equal(dn_payrun_bank_set(fx->db, "A", "6222020011223344556", "张三",
                                        "工商银行北京分行", "hq", at + 1, &out, why,
                                        sizeof why),
                     0);
    assert_true(json_is_true(json_object_get(out, "replaced")));
    json_decref(out);
    assert_int_equal(dn_test_int(fx->db, "SELECT count(*) FROM partner_banks"), 1);
    s_bank(fx, "B", "6217000010001234567", "李四", "建设银行", at);
    s_bank(fx, "C", "12345678", "Wang Wu", "ABC", at); /* 8 digits: the shortest */
    s_bank(fx, "D", "62170000100012345670000000000001", "Zhao Liu", "BOC", at); /* 32 */

    /* refused, each with a reason that does not repeat the number */
    assert_int_equal(dn_payrun_bank_set(fx->db, "E", "1234567", "E", "X", "hq", at, &out,
                                        why, sizeof why),
                     DN_EINVAL);
    assert_null(out);
    assert_string_equal(why, "--account must be an account number of 8 to 32 digits "
                             "(spaces between them are ignored)");
    assert_int_equal(dn_payrun_bank_set(fx->db, "E", "622170000100012345670000000000001",
                                        "E", "X", "hq", at, &out, why, sizeof why),
                     DN_EINVAL); /* 33 digits */
    assert_int_equal(dn_payrun_bank_set(fx->db, "E", "6222-0200-1122", "E", "X", "hq", at,
                                        &out, why, sizeof why),
                     DN_EINVAL); /* hyphens are not digits */
    memset(name, 'n', 65);
    name[65] = '\0';
    assert_int_equal(dn_payrun_bank_set(fx->db, "E", "12345678", name, "X", "hq", at,
                                        &out, why, sizeof why),
                     DN_EINVAL);
    assert_string_equal(why, "--name is 65 characters long, at most 64");
    assert_int_equal(dn_payrun_bank_set(fx->db, "E", "12345678", "E", "", "hq", at, &out,
                                        why, sizeof why),
                     DN_EINVAL);
    assert_string_equal(why, "--bank is empty");
    assert_int_equal(dn_payrun_bank_set(fx->db, "NOBODY", "12345678", "E", "X", "hq", at,
                                        &out, why, sizeof why),
                     DN_ENOENT);
    assert_string_equal(why,
                        "partner NOBODY does not exist (see: dealernet-hq partner list)");
    assert_int_equal(dn_test_int(fx->db, "SELECT count(*) FROM partner_banks"), 4);
}

/* -- the ledger's figures --------------------------------------------------------------
 */

static void test_payables(void **state)
{
    fixture_t *fx = *state;
    dn_ledger_payable_t *rows = NULL;
    char why[256] = "";
    json_t *out = NULL;
    size_t n = 0;

    /* October is not closed yet: no run */
    assert_int_equal(dn_ledger_payables(fx->db, "2026-10", &rows, &n, why, sizeof why),
                     DN_ELIMIT);
    assert_string_equal(why,
                        "period 2026-10 is not closed: a payout run pays a closed "
                        "month's balances; close it first (dealernet-hq period close "
                        "2026-10)");
    assert_int_equal(dn_payrun_propose(fx->db, "2026-10", 10000, "hq",
                                       s_at("2026-11-01", 9, 0), &out, why, sizeof why),
                     DN_ELIMIT);
    assert_null(out);
    assert_int_equal(dn_payrun_propose(fx->db, "2026-13", 10000, "hq",
                                       s_at("2026-11-01", 9, 0), &out, why, sizeof why),
                     DN_EPARSE);

    assert_int_equal(dn_ledger_period_close(fx->db, "2026-10", "hq",
                                            s_at("2026-11-02", 9, 0), why, sizeof why),
                     0);
    assert_int_equal(dn_ledger_payout(fx->db, "A", 2000, "BANK-1102", "hq",
                                      s_at("2026-11-02", 10, 0), &out, why, sizeof why),
                     0);
    json_decref(out);
    s_adjust(fx, "B", 4000, s_at("2026-11-02", 11, 0));

    /* the partners' accounts, by id (A 2 ... E 6; F and HQ have none);
       M0's referral credit is not among them */
    assert_int_equal(dn_ledger_payables(fx->db, "2026-10", &rows, &n, why, sizeof why),
                     0);
    assert_int_equal(n, 5);
    assert_int_equal(rows[0].closing, 15000); /* A: 8.00 + 142.00 */
    assert_int_equal(rows[0].paid_after, 2000);
    assert_int_equal(rows[0].balance, 13000);
    assert_int_equal(dn_ledger_payable_amount(&rows[0]), 13000);
    assert_int_equal(rows[1].closing, 10000); /* B: October's 100.00 */
    assert_int_equal(rows[1].paid_after, 0);
    assert_int_equal(rows[1].balance, 14000); /* with November's 40.00 */
    assert_int_equal(dn_ledger_payable_amount(&rows[1]), 10000);
    assert_int_equal(dn_ledger_payable_amount(&rows[2]), 9999);
    assert_int_equal(dn_ledger_payable_amount(&rows[3]), 50000);
    assert_int_equal(dn_ledger_payable_amount(&rows[4]), 30000);
    free(rows);
    /* an earlier month: nothing was earned before October */
    assert_int_equal(dn_ledger_period_close(fx->db, "2026-09", "hq",
                                            s_at("2026-11-02", 9, 30), why, sizeof why),
                     0);
    assert_int_equal(dn_ledger_payables(fx->db, "2026-09", &rows, &n, why, sizeof why),
                     0);
    assert_int_equal(n, 5);
    /* A: closing 0, 20.00 paid since: -20.00, nothing to pay */
    assert_int_equal(dn_ledger_payable_amount(&rows[0]), -2000);
    assert_int_equal(dn_ledger_payable_amount(&rows[1]), 0);
    free(rows);
}

/* -- proposing -------------------------------------------------------------------------
 */

#define RUN1_LINES                                                                       \
    "[{\"partner\":\"A\",\"amount\":\"130.00\",\"amount_minor\":13000,"                  \
    "\"reference\":\"RUN-1/A\",\"account_name\":\"张三\","                             \
    "\"account_number\":\"6222020011223344556\",\"bank\":\"工商银行北京分行\"}," \
    "{\"partner\":\"B\",\"amount\":\"100.00\",\"amount_minor\":10000,"                   \
    "\"reference\":\"RUN-1/B\",\"account_name\":\"李四\","                             \
    "\"account_number\":\"6217000010001234567\",\"bank\":\"建设银行\"}]"
#define LEFT_C                                                                           \
    "{\"partner\":\"C\",\"amount\":\"99.99\",\"amount_minor\":9999,"                     \
    "\"reason\":\"below_min\",\"what\":\"below the minimum\"}"
#define LEFT_D                                                                           \
    "{\"partner\":\"D\",\"amount\":\"500.00\",\"amount_minor\":50000,"                   \
    "\"reason\":\"suspended\",\"what\":\"suspended (see: partner resume)\"}"
#define LEFT_E                                                                           \
    "{\"partner\":\"E\",\"amount\":\"300.00\",\"amount_minor\":30000,"                   \
    "\"reason\":\"no_bank\",\"what\":\"no bank details (see: partner bank)\"}"

static void test_propose(void **state)
{
    fixture_t *fx = *state;
    char why[512] = "";
    json_t *out = NULL;

    assert_int_equal(dn_payrun_propose(fx->db, "2026-10", 10000, "hq",
                                       s_at("2026-11-03", 9, 0), &out, why, sizeof why),
                     0);
    assert_int_equal(json_integer_value(json_object_get(out, "run")), 1);
    assert_string_equal(s_str(out, "state"), "proposed");
    assert_string_equal(s_str(out, "min"), "100.00");
    assert_string_equal(s_str(out, "total"), "230.00"); /* 130.00 + 100.00 */
    assert_int_equal(json_integer_value(json_object_get(out, "payouts")), 2);
    assert_string_equal(s_str(out, "created"), "2026-11-03T09:00:00.000Z");
    assert_true(json_is_false(json_object_get(out, "already")));
    s_dump_is(out, "lines", RUN1_LINES);
    s_dump_is(out, "left_out", "[" LEFT_C "," LEFT_D "," LEFT_E "]");
    json_decref(out);
    /* stored: 2 payout lines, 3 left out, nothing posted */
    assert_int_equal(dn_test_int(fx->db, "SELECT count(*) FROM payout_run_lines"), 5);
    assert_int_equal(s_payouts(fx->db), 1); /* BANK-1102 alone */

    /* the same question again: the same run, not a second one */
    assert_int_equal(dn_payrun_propose(fx->db, "2026-10", 10000, "hq",
                                       s_at("2026-11-03", 9, 30), &out, why, sizeof why),
                     0);
    assert_int_equal(json_integer_value(json_object_get(out, "run")), 1);
    assert_true(json_is_true(json_object_get(out, "already")));
    assert_string_equal(s_str(out, "created"), "2026-11-03T09:00:00.000Z");
    s_dump_is(out, "lines", RUN1_LINES);
    json_decref(out);
    assert_int_equal(dn_test_int(fx->db, "SELECT count(*) FROM payout_runs"), 1);

    /* another minimum while run 1 is proposed: refused */
    assert_int_equal(dn_payrun_propose(fx->db, "2026-10", 5000, "hq",
                                       s_at("2026-11-03", 9, 31), &out, why, sizeof why),
                     DN_EEXIST);
    assert_null(out);
    assert_string_equal(why, "run 1 of 2026-10 is proposed already, with --min 100.00: "
                             "approve it (dealernet-hq payout approve 1) or cancel it "
                             "(dealernet-hq payout cancel 1) first");
    assert_int_equal(dn_test_int(fx->db, "SELECT count(*) FROM payout_runs"), 1);
}

/* -- approving -------------------------------------------------------------------------
 */

static void test_approve(void **state)
{
    fixture_t *fx = *state;
    char why[512] = "";
    json_t *out = NULL;

    /* since the proposal, A's balance fell to 130.00 - 40.00 = 90.00 and B
       was suspended: refused whole, naming both, nothing posted */
    s_adjust(fx, "A", -4000, s_at("2026-11-03", 10, 0));
    s_status(fx, "B", 1, s_at("2026-11-03", 10, 1));
    assert_int_equal(dn_payrun_approve(fx->db, 1, "hq", s_at("2026-11-03", 10, 2), &out,
                                       why, sizeof why),
                     DN_ELIMIT);
    assert_null(out);
    assert_string_equal(why,
                        "run 1 cannot be approved, nothing was posted: A's line is "
                        "130.00 CNY, only 90.00 is payable now; B is suspended now. "
                        "Cancel it (dealernet-hq payout cancel 1) and propose 2026-10 "
                        "again");
    assert_int_equal(s_payouts(fx->db), 1);
    assert_int_equal(s_balance(fx->db, "partner:A"), 9000);
    assert_int_equal(dn_test_int(fx->db, "SELECT count(*) FROM payout_runs WHERE state = "
                                   "'proposed'"),
                     1);

    /* mended: A back to 130.00, B resumed */
    s_adjust(fx, "A", 4000, s_at("2026-11-03", 10, 3));
    s_status(fx, "B", 0, s_at("2026-11-03", 10, 4));
    assert_int_equal(dn_payrun_approve(fx->db, 1, "hq", s_at("2026-11-03", 10, 5), &out,
                                       why, sizeof why),
                     0);
    assert_string_equal(s_str(out, "state"), "approved");
    assert_string_equal(s_str(out, "approved"), "2026-11-03T10:05:00.000Z");
    assert_string_equal(s_str(out, "approved_by"), "hq");
    assert_true(json_is_false(json_object_get(out, "already")));
    json_decref(out);
    /* A 130.00 - 130.00; B 140.00 - 100.00; clearing 20.00 + 230.00 */
    assert_int_equal(s_balance(fx->db, "partner:A"), 0);
    assert_int_equal(s_balance(fx->db, "partner:B"), 4000);
    assert_int_equal(s_balance(fx->db, "hq:payout"), 25000);
    assert_int_equal(s_payouts(fx->db), 3);
    assert_int_equal(dn_test_int(fx->db, "SELECT count(*) FROM payout_refs WHERE ref IN "
                                   "('RUN-1/A', 'RUN-1/B')"),
                     2);
    assert_int_equal(dn_test_int(fx->db, "SELECT amount FROM transfers t JOIN payout_refs r ON "
                                   "r.transfer_id = t.id WHERE r.ref = 'RUN-1/A' AND "
                                   "t.period = '2026-11'"),
                     13000);
    assert_int_equal(dn_test_int(fx->db, "SELECT sum(balance) FROM accounts"), 0);

    /* approving again posts nothing and says when it was */
    assert_int_equal(dn_payrun_approve(fx->db, 1, "hq", s_at("2026-11-03", 10, 6), &out,
                                       why, sizeof why),
                     0);
    assert_true(json_is_true(json_object_get(out, "already")));
    assert_string_equal(s_str(out, "approved"), "2026-11-03T10:05:00.000Z");
    json_decref(out);
    assert_int_equal(s_payouts(fx->db), 3);

    /* an approved run is not cancelled: its payouts are posted */
    assert_int_equal(dn_payrun_cancel(fx->db, 1, "hq", s_at("2026-11-03", 10, 7), &out,
                                      why, sizeof why),
                     DN_ELIMIT);
    assert_string_equal(why, "run 1 was approved at 2026-11-03T10:05:00.000Z by hq: its "
                             "payouts are posted; correct one with dealernet-hq adjust");
    assert_int_equal(dn_payrun_approve(fx->db, 9, "hq", s_at("2026-11-03", 10, 7), &out,
                                       why, sizeof why),
                     DN_ENOENT);
    assert_string_equal(why, "no payout run 9 (see: dealernet-hq payout runs)");

    /* a hand-typed payout may not take a run's form of reference */
    assert_int_equal(dn_ledger_payout(fx->db, "B", 100, "RUN-9/B", "hq",
                                      s_at("2026-11-03", 10, 8), &out, why, sizeof why),
                     DN_EINVAL);
    assert_string_equal(why, "--ref 'RUN-9/B': references RUN-N/... are the payout runs' "
                             "own; give the bank transfer's reference");
    /* RUN-X without a number is no run's */
    assert_int_equal(dn_ledger_payout(fx->db, "B", 100, "RUN-OCT", "hq",
                                      s_at("2026-11-03", 10, 8), &out, why, sizeof why),
                     0);
    json_decref(out);
    assert_int_equal(s_balance(fx->db, "partner:B"), 3900);
}

/* -- after the approval -----------------------------------------------------------------
 */

static void test_rerun_and_cancel(void **state)
{
    fixture_t *fx = *state;
    char why[512] = "";
    json_t *out = NULL;

    /* what is left of October: A 150.00 - 150.00, B 100.00 - 101.00 (the
       RUN-OCT 1.00 was paid after October too): nothing; C, D, E as before */
    assert_int_equal(dn_payrun_propose(fx->db, "2026-10", 10000, "hq",
                                       s_at("2026-11-03", 11, 0), &out, why, sizeof why),
                     0);
    assert_true(json_is_null(json_object_get(out, "run")));
    assert_true(json_is_null(json_object_get(out, "state")));
    assert_string_equal(s_str(out, "total"), "0.00");
    s_dump_is(out, "lines", "[]");
    s_dump_is(out, "left_out", "[" LEFT_C "," LEFT_D "," LEFT_E "]");
    json_decref(out);
    assert_int_equal(dn_test_int(fx->db, "SELECT count(*) FROM payout_runs"), 1);

    /* E gets bank details, D is resumed: run 2 pays them */
    s_bank(fx, "E", "6228480000000000001", "E", "农业银行", s_at("2026-11-03", 11, 1));
    s_status(fx, "D", 0, s_at("2026-11-03", 11, 2));
    assert_int_equal(dn_payrun_propose(fx->db, "2026-10", 10000, "hq",
                                       s_at("2026-11-03", 11, 3), &out, why, sizeof why),
                     0);
    assert_int_equal(json_integer_value(json_object_get(out, "run")), 2);
    assert_string_equal(s_str(out, "total"), "800.00"); /* 500.00 + 300.00 */
    s_dump_is(out, "left_out", "[" LEFT_C "]");
    json_decref(out);

    /* not approved: no bank file */
    assert_int_equal(dn_payrun_export(fx->db, 2, "generic", NULL, NULL,
                                      s_at("2026-11-03", 11, 4), &out, why, sizeof why),
                     DN_ELIMIT);
    assert_string_equal(why, "run 2 is proposed, not approved: only an approved run's "
                             "payouts are posted and go to the bank (dealernet-hq payout "
                             "approve 2)");

    assert_int_equal(dn_payrun_cancel(fx->db, 2, "hq", s_at("2026-11-03", 11, 5), &out,
                                      why, sizeof why),
                     0);
    assert_string_equal(s_str(out, "state"), "cancelled");
    assert_string_equal(s_str(out, "cancelled"), "2026-11-03T11:05:00.000Z");
    json_decref(out);
    assert_int_equal(dn_payrun_cancel(fx->db, 2, "hq", s_at("2026-11-03", 11, 6), &out,
                                      why, sizeof why),
                     0);
    assert_true(json_is_true(json_object_get(out, "already")));
    json_decref(out);
    assert_int_equal(dn_payrun_approve(fx->db, 2, "hq", s_at("2026-11-03", 11, 7), &out,
                                       why, sizeof why),
                     DN_ELIMIT);
    assert_string_equal(why,
                        "run 2 was cancelled at 2026-11-03T11:05:00.000Z by hq: it is "
                        "never approved; propose 2026-10 again (dealernet-hq payout run "
                        "--period 2026-10 --min AMOUNT)");
    assert_int_equal(s_payouts(fx->db), 4); /* BANK-1102, RUN-1/A, RUN-1/B, RUN-OCT */
    assert_int_equal(s_balance(fx->db, "partner:D"), 50000);

    /* a cancelled run holds no period: a new one may be proposed, at
       another minimum too (0: everything payable) */
    assert_int_equal(dn_payrun_propose(fx->db, "2026-10", 0, "hq",
                                       s_at("2026-11-03", 11, 8), &out, why, sizeof why),
                     0);
    assert_int_equal(json_integer_value(json_object_get(out, "run")), 3);
    /* C's 99.99 is in at 0.00: 500.00 + 300.00 + 99.99 */
    assert_string_equal(s_str(out, "total"), "899.99");
    s_dump_is(out, "left_out", "[]");
    json_decref(out);
    assert_int_equal(dn_payrun_cancel(fx->db, 3, "hq", s_at("2026-11-03", 11, 9), &out,
                                      why, sizeof why),
                     0);
    json_decref(out);

    assert_int_equal(dn_payrun_list(fx->db, &out), 0);
    assert_int_equal(json_array_size(out), 3);
    s_dump_is(json_array_get(out, 2), NULL,
              "{\"run\":1,\"period\":\"2026-10\",\"min\":\"100.00\",\"min_minor\":10000,"
              "\"currency\":\"CNY\",\"state\":\"approved\",\"payouts\":2,"
              "\"total\":\"230.00\",\"total_minor\":23000,\"left_out\":3,"
              "\"created\":\"2026-11-03T09:00:00.000Z\",\"created_by\":\"hq\","
              "\"approved\":\"2026-11-03T10:05:00.000Z\",\"approved_by\":\"hq\","
              "\"cancelled\":null,\"cancelled_by\":null}");
    json_decref(out);
}

/* -- the bank file --------------------------------------------------------------------
 */

static void test_export(void **state)
{
    fixture_t *fx = *state;
    int64_t at = s_at("2026-11-04", 9, 0);
    char why[512] = "";
    json_t *out = NULL;

    assert_int_equal(
        dn_payrun_export(fx->db, 1, "generic", NULL, NULL, at, &out, why, sizeof why), 0);
    assert_string_equal(s_str(out, "total"), "230.00");
    s_dump_is(out, "rows",
              "[{\"reference\":\"RUN-1/A\",\"partner\":\"A\",\"account_name\":\"张三\","
              "\"account_number\":\"6222020011223344556\",\"bank\":\"工商银行北京分行\","
              "\"amount\":\"130.00\",\"currency\":\"CNY\",\"period\":\"2026-10\"},"
              "{\"reference\":\"RUN-1/B\",\"partner\":\"B\",\"account_name\":\"李四\","
              "\"account_number\":\"6217000010001234567\",\"bank\":\"建设银行\","
              "\"amount\":\"100.00\",\"currency\":\"CNY\",\"period\":\"2026-10\"}]");
    json_decref(out);
    /* csv is generic's other name */
    assert_int_equal(
        dn_payrun_export(fx->db, 1, "csv", NULL, NULL, at, &out, why, sizeof why), 0);
    assert_string_equal(s_str(out, "format"), "generic");
    json_decref(out);

    assert_int_equal(dn_payrun_export(fx->db, 1, "icbc", "0200 0012 3456 7890",
                                      "某某商贸有限公司", at, &out, why, sizeof why),
                     0);
    s_dump_is(
        out, "rows",
        "[{\"币种\":\"RMB\",\"日期\":\"20261104\",\"明细标志\":\"\",\"顺序号\":\"1\","
        "\"付款账号开户行\":\"工行\",\"付款账号/卡号\":\"0200001234567890\","
        "\"付款账号名称/卡名称\":\"某某商贸有限公司\","
        "\"收款账号开户行\":\"工商银行北京分行\",\"收款账号省份\":\"\","
        "\"收款账号地市\":\"\",\"收款账号地区码\":\"\","
        "\"收款账号\":\"6222020011223344556\",\"收款账号名称\":\"张三\","
        "\"金额\":\"130.00\",\"汇款用途\":\"佣金\",\"备注信息\":\"2026-10\","
        "\"汇款方式\":\"\",\"收款账户短信通知手机号码\":\"\","
        "\"自定义序号\":\"RUN-1/A\"},"
        "{\"币种\":\"RMB\",\"日期\":\"20261104\",\"明细标志\":\"\",\"顺序号\":\"2\","
        "\"付款账号开户行\":\"工行\",\"付款账号/卡号\":\"0200001234567890\","
        "\"付款账号名称/卡名称\":\"某某商贸有限公司\","
        "\"收款账号开户行\":\"建设银行\",\"收款账号省份\":\"\","
        "\"收款账号地市\":\"\",\"收款账号地区码\":\"\","
        "\"收款账号\":\"6217000010001234567\",\"收款账号名称\":\"李四\","
        "\"金额\":\"100.00\",\"汇款用途\":\"佣金\",\"备注信息\":\"2026-10\","
        "\"汇款方式\":\"\",\"收款账户短信通知手机号码\":\"\","
        "\"自定义序号\":\"RUN-1/B\"}]");
    json_decref(out);

    assert_int_equal(
        dn_payrun_export(fx->db, 1, "icbc", NULL, NULL, at, &out, why, sizeof why),
        DN_EINVAL);
    assert_string_equal(why,
                        "--format icbc needs --payer-account NUMBER and --payer-name "
                        "NAME (HQ's account the batch is paid from)");
    assert_int_equal(
        dn_payrun_export(fx->db, 1, "icbc", "12", "X", at, &out, why, sizeof why),
        DN_EINVAL);
    assert_string_equal(why,
                        "--payer-account must be an account number of 8 to 32 digits "
                        "(spaces between them are ignored)");
    assert_int_equal(
        dn_payrun_export(fx->db, 1, "cmb", NULL, NULL, at, &out, why, sizeof why),
        DN_EINVAL);
    assert_string_equal(why, "--format 'cmb' is not one of generic (or csv), icbc");
    assert_int_equal(
        dn_payrun_export(fx->db, 3, "generic", NULL, NULL, at, &out, why, sizeof why),
        DN_ELIMIT);
}

/*  The reads are queries (dn_admin_is_query: off the server's loop, on
    their own connection), the writes are not; a query runs through
    dn_admin_query as HQ would send it.  */
static void test_admin_queries(void **state)
{
    fixture_t *fx = *state;
    static const char *const reads[] = {"payout.runs", "payout.show", "payout.export"};
    static const char *const writes[] = {"partner.bank", "payout.run", "payout.approve",
                                         "payout.cancel"};
    const char *names[] = {"run", "format"}, *values[] = {"1", "generic"};
    char why[256] = "";
    json_t *out = NULL;

    for (size_t i = 0; i < sizeof reads / sizeof reads[0]; i++)
        assert_int_equal(dn_admin_is_query(reads[i]), 1);
    for (size_t i = 0; i < sizeof writes / sizeof writes[0]; i++)
        assert_int_equal(dn_admin_is_query(writes[i]), 0);
    assert_int_equal(dn_admin_query(fx->db, "hq", s_at("2026-11-04", 9, 0), "payout.show",
                                    names, values, 1, &out, why, sizeof why),
                     0);
    assert_string_equal(s_str(out, "state"), "approved");
    json_decref(out);
    assert_int_equal(dn_admin_query(fx->db, "hq", s_at("2026-11-04", 9, 0),
                                    "payout.export", names, values, 2, &out, why,
                                    sizeof why),
                     0);
    assert_int_equal(json_array_size(json_object_get(out, "rows")), 2);
    json_decref(out);
    values[0] = "RUN-1";
    assert_int_equal(dn_admin_query(fx->db, "hq", s_at("2026-11-04", 9, 0), "payout.show",
                                    names, values, 1, &out, why, sizeof why),
                     64);
    assert_string_equal(
        why, "'RUN-1' is not a payout run's number (see: dealernet-hq payout runs)");
    /* a write is no query: refused as unknown there */
    assert_int_equal(dn_admin_query(fx->db, "hq", s_at("2026-11-04", 9, 0),
                                    "payout.approve", names, values, 1, &out, why,
                                    sizeof why),
                     64);
}

/*  The ledger with a run's payouts verifies: they are payouts like any.  */
static void test_verify(void **state)
{
    fixture_t *fx = *state;
    char why[256] = "";
    json_t *out = NULL;
    int rc = dn_verify_run(fx->path, &out, why, sizeof why);
    if (rc)
        print_error("verify: %s\n", why);
    assert_int_equal(rc, 0);
    assert_true(json_is_true(json_object_get(out, "ok")));
    json_decref(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bank_details),     cmocka_unit_test(test_payables),
        cmocka_unit_test(test_propose),          cmocka_unit_test(test_approve),
        cmocka_unit_test(test_rerun_and_cancel), cmocka_unit_test(test_export),
        cmocka_unit_test(test_admin_queries),    cmocka_unit_test(test_verify),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
