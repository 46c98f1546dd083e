/*  test_ledger_cache -- the ledger's partner cache while it grows.

    The ledger keeps one node per partner id, loaded on first use, and a
    sale's walk up the tree holds the nodes of its seller and of every
    earner so far while it loads the next.  Here the seller has a small id
    and, after a move, an upline of large ids, so each step of the walk
    makes the table grow: the nodes held must stay valid (under check-asan
    and check-valgrind a node that moved would be a use after free) and the
    commissions must be the plan's, computed by hand below.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dn_error.h"
#include "dn_ingest.h"
#include "dn_plan.h"
#include "dn_test_central.h"
#include "dn_test_site.h"
#include "dn_time.h"
#include "dn_tree.h"

static const char s_plan[] = "[plan]\n"
                             "effective = 2026-01-01\n"
                             "currency = CNY\n"
                             "cap_bps = 1500\n"
                             "\n"
                             "[levels]\n"
                             "0 = 800\n"
                             "1 = 300\n"
                             "2 = 100\n";

static int64_t s_day(const char *date)
{
    int64_t ms = 0;
    assert_int_equal(dn_time_parse_date(date, &ms), 0);
    return ms;
}

static void s_ok(int rc, const char *what, const char *why)
{
    if (rc)
        print_error("%s: %s\n", what, why);
    assert_int_equal(rc, 0);
}

static void test_walk_holds_nodes_while_the_table_grows(void **state)
{
    dn_test_central_t *fx = *state;
    sqlite3 *db = fx->db;
    int64_t added = s_day("2025-12-01"), moved = s_day("2026-01-10");
    int64_t sold = s_day("2026-01-15") + 3600 * 1000;
    char why[DN_WHY_SIZE] = "", code[16];
    dn_plan_t plan;

    s_ok(dn_registry_partner_add(db, "HQ", "HQ", "hq", NULL, added, why, sizeof why),
         "add HQ", why);
    s_ok(dn_registry_partner_add(db, "DI1", "DI1", "distributor", "HQ", added, why,
                                 sizeof why),
         "add DI1", why);
    s_ok(dn_registry_partner_add(db, "DE1", "DE1", "dealer", "DI1", added, why, sizeof why),
         "add DE1", why);
    s_ok(dn_registry_partner_add(db, "RS1", "RS1", "reseller", "DE1", added, why,
                                 sizeof why),
         "add RS1", why); /* id 4 */
    for (int i = 0; i < 60; i++) { /* ids 5..64 */
        snprintf(code, sizeof code, "F%02d", i);
        s_ok(dn_registry_partner_add(db, code, code, "dealer", "HQ", added, why, sizeof why),
             "add filler", why);
    }
    /* DI9 (id 65), DE9 (id 66), and RS1 moved under DE9: the walk loads
       RS1 (the table is sized 4 x 2 + 16 = 24) and holds it while it loads
       DE9, which makes the table grow.  */
    s_ok(dn_registry_partner_add(db, "DI9", "DI9", "distributor", "HQ", added, why,
                                 sizeof why),
         "add DI9", why);
    s_ok(dn_registry_partner_add(db, "DE9", "DE9", "dealer", "DI9", added, why, sizeof why),
         "add DE9", why);
    s_ok(dn_tree_move(db, "RS1", "DE9", moved, why, sizeof why), "move RS1",
         why);
    s_ok(dn_plan_set(db, s_plan, added, &plan, why, sizeof why), "plan set", why);

    dn_tk_site_t *site = dn_test_site_enroll(db, "SHOP-1", "RS1", 7, added);
    dn_tk_event_t e;
    dn_tk_line_t line = {"K1", 4, 2500, NULL}; /* 4 x 25.00 = 100.00 */
    dn_tk_batch_t batch;
    dn_ingest_result_t result;
    dn_ingest_t *ingest = dn_ingest_new(db); /* a cold cache */
    assert_non_null(ingest);
    assert_int_equal(dn_tk_sale(&e, "RS1", DEALERNET__CHANNEL__CHANNEL_STORE, NULL, &line, 1),
                     0);
    dn_test_site_record(site, &e.ev, sold, NULL);
    assert_int_equal(dn_tk_batch(site, &batch), 0);
    s_ok(dn_tk_ingest(db, ingest, &site->reg, &batch, sold + 1000, &result), "ingest",
         result.why);
    dn_tk_batch_free(&batch);

    /* 100.00 x 8% = 8.00 to RS1, x 3% = 3.00 to DE9, x 1% = 1.00 to DI9 */
    static const struct {
        const char *account;
        int64_t amount;
    } want[] = {{"partner:RS1", 800}, {"partner:DE9", 300}, {"partner:DI9", 100}};
    sqlite3_stmt *stmt;
    int n = 0;
    assert_int_equal(dn_db_prepare(db,
                                   "SELECT a.name, t.amount FROM transfers t "
                                   "JOIN accounts a ON a.id = t.credit "
                                   "WHERE t.code = 'commission' ORDER BY t.level",
                                   &stmt),
                     0);
    while (sqlite3_step(stmt) == SQLITE_ROW) {
        assert_true(n < 3);
        assert_string_equal((const char *)sqlite3_column_text(stmt, 0), want[n].account);
        assert_int_equal(sqlite3_column_int64(stmt, 1), want[n].amount);
        n++;
    }
    sqlite3_finalize(stmt);
    assert_int_equal(n, 3);

    dn_ingest_destroy(&ingest);
    dn_tk_site_destroy(&site);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_walk_holds_nodes_while_the_table_grows,
                                        dn_test_central_setup, dn_test_central_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
