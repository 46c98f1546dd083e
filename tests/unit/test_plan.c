/*  test_plan -- unit tests for dn_plan: the plan file and plan versions.

    The promises under test: the example (and deploy/plan.ini, which
    must stay that example) parses to exactly its figures, the bonus in fen;
    every malformed file is refused with the exact line and reason of its
    first problem, also when [referral] comes before the [plan] that names
    the currency; a category table replaces [levels] only for its lines; a
    stored version reads back field for field; dn_plan_at picks the version
    in force at exact boundaries (one millisecond before, at, after);
    dn_plan_set refuses a duplicate date, another currency, and a date at or
    before a stored sale, writing nothing; listings show exact text.
    dn_plan_diff lists every difference field by field (rates added,
    removed, changed; categories merged by name); dn_plan_check gives the
    same refusals as dn_plan_set and stores nothing; dn_plan_retire takes a
    version out of force only while no stored sale lies in its window (to
    the next version in force, boundaries to the millisecond), refuses it
    twice, and the list keeps who retired it and when.  Each test works on
    a fresh central.db in its own mkdtemp folder.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>

#include <cmocka.h>

#include "dn_test_central.h"
#include "dn_central.h"
#include "dn_db.h"
#include "dn_error.h"
#include "dn_log.h"
#include "dn_plan.h"
#include "dn_time.h"

#define JAN1 1767225600000LL /* 2026-01-01T00:00:00.000Z */
#define FEB1 1769904000000LL /* 2026-02-01T00:00:00.000Z */
#define MAR5 1772668800000LL /* 2026-03-05T00:00:00.000Z */
#define HOUR 3600000LL

/*  The example of the issue, verbatim.  */
static const char s_example[] = "[plan]\n"
                                "effective = 2026-01-01\n"
                                "currency = CNY\n"
                                "cap_bps = 1500\n"
                                "\n"
                                "[levels]\n"
                                "0 = 800\n"
                                "1 = 300\n"
                                "2 = 100\n"
                                "\n"
                                "[category:rice]\n"
                                "name = \xe5\xa4\xa7\xe7\xb1\xb3\n"
                                "0 = 500\n"
                                "1 = 200\n"
                                "\n"
                                "[referral]\n"
                                "first_purchase_bonus = 5.00\n"
                                "purchase_bps = 100\n"
                                "purchase_days = 365\n"
                                "recruit_override_bps = 50\n"
                                "recruit_override_days = 365\n";

/*  A second version: February, no category, another cap, a gap in levels.  */
static const char s_february[] = "# February\n"
                                 "[levels]\n"
                                 "0 = 700\n"
                                 "3 = 50\n"
                                 "[plan]\n"
                                 "currency = CNY\n"
                                 "effective = 2026-02-01\n";

typedef dn_test_central_t fixture_t;

static int s_setup(void **state)
{
    return dn_test_central_setup(state);
}

static int s_teardown(void **state)
{
    return dn_test_central_teardown(state);
}

/* -- helpers --------------------------------------------------------------- */

static int64_t s_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *stmt;
    int64_t v;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    v = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return v;
}

static void s_exec(sqlite3 *db, const char *sql)
{
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
}

/*  Asserts that text is refused with exactly why.  */
static void s_refused(const char *text, const char *expected)
{
    dn_plan_t plan;
    char why[512] = "";
    assert_int_equal(dn_plan_parse(text, &plan, why, sizeof why), DN_EPARSE);
    assert_string_equal(why, expected);
}

/*  The example's figures, exactly.  */
static void s_assert_example(const dn_plan_t *plan)
{
    assert_int_equal(plan->effective_ms, JAN1);
    assert_string_equal(plan->currency, "CNY");
    assert_int_equal(plan->exponent, 2);
    assert_int_equal(plan->cap_bps, 1500);
    assert_string_equal(plan->levels.category, "");
    assert_int_equal(plan->levels.n_levels, 3);
    assert_int_equal(plan->levels.bps[0], 800);
    assert_int_equal(plan->levels.bps[1], 300);
    assert_int_equal(plan->levels.bps[2], 100);
    for (int i = 3; i < DN_PLAN_MAX_LEVELS; i++)
        assert_int_equal(plan->levels.bps[i], 0);
    assert_int_equal(plan->n_categories, 1);
    assert_string_equal(plan->categories[0].category, "rice");
    assert_int_equal(plan->categories[0].n_levels, 2);
    assert_int_equal(plan->categories[0].bps[0], 500);
    assert_int_equal(plan->categories[0].bps[1], 200);
    assert_int_equal(plan->categories[0].bps[2], 0);
    assert_int_equal(plan->first_purchase_bonus, 500); /* 5.00 CNY in fen */
    assert_int_equal(plan->purchase_bps, 100);
    assert_int_equal(plan->purchase_days, 365);
    assert_int_equal(plan->recruit_override_bps, 50);
    assert_int_equal(plan->recruit_override_days, 365);
}

/*  The February version's figures, exactly.  */
static void s_assert_february(const dn_plan_t *plan)
{
    assert_int_equal(plan->effective_ms, FEB1);
    assert_string_equal(plan->currency, "CNY");
    assert_int_equal(plan->cap_bps, 10000); /* the default: no cap */
    assert_int_equal(plan->levels.n_levels, 4);
    assert_int_equal(plan->levels.bps[0], 700);
    assert_int_equal(plan->levels.bps[1], 0);
    assert_int_equal(plan->levels.bps[2], 0);
    assert_int_equal(plan->levels.bps[3], 50);
    assert_int_equal(plan->n_categories, 0);
    assert_int_equal(plan->first_purchase_bonus, 0);
    assert_int_equal(plan->purchase_bps, 0);
    assert_int_equal(plan->purchase_days, 0);
    assert_int_equal(plan->recruit_override_bps, 0);
    assert_int_equal(plan->recruit_override_days, 0);
}

/*  Reads a file into a new string.  */
static char *s_read(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *text = calloc(1, DN_PLAN_MAX_BYTES + 1);
    size_t n;
    assert_non_null(f);
    assert_non_null(text);
    n = fread(text, 1, DN_PLAN_MAX_BYTES, f);
    fclose(f);
    text[n] = '\0';
    return text;
}

/*  A sale recorded at recorded_ms (the rows dn_ingest writes, minimally).  */
static void s_sale(sqlite3 *db, int eid, int64_t recorded_ms)
{
    char sql[1024];
    s_exec(db, "INSERT OR IGNORE INTO partners(id, code, name, kind, created_ms)"
               " VALUES (1, 'D1', 'Dealer', 'dealer', 0);"
               "INSERT OR IGNORE INTO sites(id, code, partner_id, created_ms)"
               " VALUES (1, 'SHOP-1', 1, 0);");
    snprintf(
        sql, sizeof sql,
        "INSERT INTO events(eid, id, site_id, seq, kind, recorded_at_ms, received_ms,"
        " body, hash) VALUES (%d, randomblob(16), 1, %d, 'sale', %lld, %lld, x'00',"
        " randomblob(32));"
        "INSERT INTO sales(eid, site_id, recorded_at_ms, total, currency, channel,"
        " seller) VALUES (%d, 1, %lld, 1000, 'CNY', 0, 'D1');",
        eid, eid, (long long)recorded_ms, (long long)recorded_ms, eid,
        (long long)recorded_ms);
    s_exec(db, sql);
}

/* -- parsing --------------------------------------------------------------- */

static void test_parse_example(void **state)
{
    dn_plan_t plan;
    char why[256] = "unchanged";
    (void)state;
    assert_int_equal(dn_plan_parse(s_example, &plan, why, sizeof why), 0);
    assert_int_equal(plan.id, 0);
    s_assert_example(&plan);
    /* the rice table for rice lines, [levels] for everything else */
    assert_ptr_equal(dn_plan_table(&plan, "rice"), &plan.categories[0]);
    assert_ptr_equal(dn_plan_table(&plan, "tea"), &plan.levels);
    assert_ptr_equal(dn_plan_table(&plan, ""), &plan.levels);
    assert_ptr_equal(dn_plan_table(&plan, NULL), &plan.levels);
    /* categories are codes: ASCII case does not matter */
    assert_ptr_equal(dn_plan_table(&plan, "Rice"), &plan.categories[0]);
    assert_ptr_equal(dn_plan_table(&plan, "RICE"), &plan.categories[0]);
    assert_ptr_equal(dn_plan_table(&plan, "ric"), &plan.levels);
    assert_ptr_equal(dn_plan_table(&plan, "rice2"), &plan.levels);
}

static void test_parse_deploy_file(void **state)
{
    dn_plan_t plan;
    char why[256] = "";
    char *text = s_read("deploy/plan.ini");
    (void)state;
    /* the documented file is the example, with comments */
    assert_int_equal(dn_plan_parse(text, &plan, why, sizeof why), 0);
    s_assert_example(&plan);
    assert_non_null(strstr(text, s_example));
    free(text);
}

static void test_parse_forms(void **state)
{
    dn_plan_t plan;
    char why[256] = "";
    (void)state;
    /* [referral] before [plan]: the bonus waits for the currency; CRLF line
       ends, tabs, inline comments, a byte order mark, no final newline */
    assert_int_equal(dn_plan_parse("\xEF\xBB\xBF[referral]\r\n"
                                   "first_purchase_bonus\t= 12.5 ; a bonus\r\n"
                                   "[levels]\r\n"
                                   "0=1\r\n"
                                   "[category:tea.green]\r\n"
                                   "2 = 0\r\n"
                                   "[category:Apples]\r\n"
                                   "0 = 10000\r\n"
                                   "[plan]\r\n"
                                   "effective = 2030-12-31\r\n"
                                   "currency = KWD\r\n"
                                   "cap_bps = 0",
                                   &plan, why, sizeof why),
                     0);
    assert_int_equal(plan.first_purchase_bonus, 12500); /* KWD has 3 decimals */
    assert_int_equal(plan.exponent, 3);
    assert_int_equal(plan.cap_bps, 0);
    assert_int_equal(plan.effective_ms, 1924905600000LL);
    assert_int_equal(plan.levels.n_levels, 1);
    assert_int_equal(plan.levels.bps[0], 1);
    /* categories in code order, whatever the file's order, stored
       lower-case ([category:Apples] is the category apples) */
    assert_int_equal(plan.n_categories, 2);
    assert_string_equal(plan.categories[0].category, "apples");
    assert_int_equal(plan.categories[0].n_levels, 1);
    assert_int_equal(plan.categories[0].bps[0], 10000);
    assert_string_equal(plan.categories[1].category, "tea.green");
    assert_int_equal(plan.categories[1].n_levels, 3);
    assert_int_equal(plan.categories[1].bps[2], 0);

    /* JPY has no minor unit: a whole bonus is fine */
    assert_int_equal(dn_plan_parse("[plan]\neffective = 2026-01-01\ncurrency = JPY\n"
                                   "[levels]\n9 = 10000\n[referral]\n"
                                   "first_purchase_bonus = 500\n",
                                   &plan, why, sizeof why),
                     0);
    assert_int_equal(plan.first_purchase_bonus, 500);
    assert_int_equal(plan.levels.n_levels, 10);
    assert_int_equal(plan.levels.bps[9], 10000);
}

static void test_parse_refusals(void **state)
{
    (void)state;
    /* the ones the issue names */
    s_refused("[plan]\neffective = 2026-01-01\ncurrency = CNY\ncolour = red\n"
              "[levels]\n0 = 800\n",
              "line 4: unknown key 'colour' in [plan]");
    s_refused("[plan]\neffective = 2026-01-01\ncurrency = CNY\n[levels]\n0 = 800\n"
              "1 = 10001\n",
              "line 6: level 1 rate 10001 is outside 0..10000 basis points");
    s_refused("[plan]\neffective = 2026-01-01\ncurrency = CNY\n[levels]\n0 = 800\n"
              "10 = 5\n",
              "line 6: level 10 in [levels]: more than 10 levels (0 to 9)");
    s_refused("[plan]\neffective = 2026-01-01\ncurrency = XYZ\n[levels]\n0 = 800\n",
              "line 3: unknown currency XYZ (an ISO 4217 code such as CNY)");
    s_refused("[plan]\neffective = 2026-02-30\ncurrency = CNY\n[levels]\n0 = 800\n",
              "line 2: effective '2026-02-30' is not a date (YYYY-MM-DD)");
    s_refused("[plan]\neffective = 1 Jan 2026\ncurrency = CNY\n[levels]\n0 = 800\n",
              "line 2: effective '1 Jan 2026' is not a date (YYYY-MM-DD)");
    /* too many decimals, found once the currency is known, on its own line */
    s_refused("[referral]\nfirst_purchase_bonus = 5.001\n[plan]\neffective = 2026-01-01\n"
              "currency = CNY\n[levels]\n0 = 800\n",
              "line 2: first_purchase_bonus 5.001 has 3 decimals, CNY has 2");
    s_refused("[plan]\neffective = 2026-01-01\ncurrency = JPY\n[levels]\n0 = 800\n"
              "[referral]\nfirst_purchase_bonus = 5.5\n",
              "line 7: first_purchase_bonus 5.5 has 1 decimals, JPY has 0");
    s_refused("[plan]\neffective = 2026-01-01\ncurrency = CNY\ncap_bps = 1500\n"
              "cap_bps = 1200\n[levels]\n0 = 800\n",
              "line 5: cap_bps given twice (first on line 4)");
    s_refused("; a plan\n\n[plan]\ncurrency = CNY\ncap_bps = 1500\n[levels]\n0 = 800\n",
              "line 3: [plan] has no effective date (effective = YYYY-MM-DD)");

    /* and the rest */
    s_refused("[plan]\neffective = 2026-01-01\n[levels]\n0 = 800\n",
              "line 1: [plan] has no currency (currency = CNY, say)");
    s_refused("[levels]\n0 = 800\n\n",
              "line 3: no [plan] section (effective = YYYY-MM-DD, "
              "currency = CNY)");
    s_refused("", "line 1: no [plan] section (effective = YYYY-MM-DD, currency = CNY)");
    s_refused("[plan]\neffective = 2026-01-01\ncurrency = CNY\n",
              "line 3: no [levels] section (0 = rate of the seller, in basis points)");
    s_refused("[plan]\neffective = 2026-01-01\ncurrency = CNY\n[levels]\n# none\n",
              "line 4: [levels] lists no level (0 = 800, say)");
    s_refused(
        "[plan]\neffective = 2026-01-01\ncurrency = CNY\n[levels]\n0 = 800\n"
        "[category:rice]\n",
        "line 6: [category:rice] lists no level (to pay nothing for it, write 0 = 0)");
    s_refused("[plan]\neffective = 2026-01-01\ncurrency = CNY\n[bonus]\n",
              "line 4: unknown section [bonus] (sections: plan, levels, category:NAME, "
              "referral)");
    s_refused("[plan]\neffective = 2026-01-01\ncurrency = CNY\n[levels]\n0 = 800\n"
              "[levels]\n1 = 1\n",
              "line 6: section [levels] given twice (first on line 4)");
    s_refused("[plan]\neffective = 2026-01-01\ncurrency = CNY\n[levels]\n0 = 800\n"
              "[category:rice]\n0 = 1\n[category:rice]\n",
              "line 8: section [category:rice] given twice (first on line 6)");
    s_refused("[plan]\neffective = 2026-01-01\ncurrency = CNY\n[levels]\n0 = 800\n"
              "[category:rice]\n0 = 1\n[category:RICE]\n",
              "line 8: section [category:RICE] given twice (first on line 6)");
    s_refused(
        "[plan]\neffective = 2026-01-01\ncurrency = CNY\n[category:2rice]\n",
        "line 4: '2rice' is not a category code: codes are ASCII (a letter, then letters, "
        "digits, '_', '.', '-'; at most 32), names are not: give the name on a name = line "
        "in the section");
    /* a name where the code goes: the one message of a bad code, which
       says where the name goes (dn_valid_code_check), and DN_CODE_ERROR */
    s_refused(
        "[plan]\neffective = 2026-01-01\ncurrency = CNY\n[category:\xe5\xa4\xa7\xe7\xb1\xb3]\n",
        "line 4: '\xe5\xa4\xa7\xe7\xb1\xb3' is not a category code: codes are ASCII (a letter, "
        "then letters, digits, '_', '.', '-'; at most 32), names are not: give the name on a "
        "name = line in the section");
    assert_int_equal(DN_CODE_ERROR, DN_EPARSE); /* s_refused's code */
    /* a category's name: once, 1 to 64 characters */
    s_refused("[plan]\neffective = 2026-01-01\ncurrency = CNY\n[levels]\n0 = 800\n"
              "[category:rice]\nname = \xe5\xa4\xa7\xe7\xb1\xb3\n0 = 1\nname = rice\n",
              "line 9: name in [category:rice] given twice (first on line 7)");
    s_refused("[plan]\neffective = 2026-01-01\ncurrency = CNY\n[levels]\n0 = 800\n"
              "[category:rice]\nname = "
              "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn\n0 = 1\n",
              "line 7: name in [category:rice] is 65 characters long, at most 64");
    s_refused("[plan]\neffective = 2026-01-01\ncurrency = CNY\n[levels]\nname = x\n",
              "line 5: unknown key 'name' in [levels] (keys are levels, 0 to 9)");
    s_refused("[plan]\neffective = 2026-01-01\ncurrency = CNY\n[levels]\n0 = 800\n"
              "00 = 700\n",
              "line 6: level 0 in [levels] given twice (first on line 5)");
    s_refused("[plan]\neffective = 2026-01-01\ncurrency = CNY\n[levels]\nseller = 800\n",
              "line 5: unknown key 'seller' in [levels] (keys are levels, 0 to 9)");
    s_refused("[plan]\neffective = 2026-01-01\ncurrency = CNY\n[levels]\n0 = 8%\n",
              "line 5: level 0 rate '8%' is not a whole number of basis points");
    s_refused("[plan]\neffective = 2026-01-01\ncurrency = CNY\n[levels]\n0 = -1\n",
              "line 5: level 0 rate -1 is outside 0..10000 basis points");
    s_refused("[plan]\neffective = 2026-01-01\ncurrency = CNY\ncap_bps = 10001\n",
              "line 4: cap_bps rate 10001 is outside 0..10000 basis points");
    s_refused("[plan]\neffective = 2026-01-01\ncurrency = cny\n",
              "line 3: unknown currency cny (an ISO 4217 code such as CNY)");
    s_refused("[referral]\nfirst_purchase_bonus = 5,00\n",
              "line 2: first_purchase_bonus '5,00' is not an amount (like 5.00)");
    s_refused("[referral]\nfirst_purchase_bonus = -5\n",
              "line 2: first_purchase_bonus -5 is negative");
    s_refused("[referral]\npurchase_days = 36601\n",
              "line 2: purchase_days '36601' is not a number of days from 0 to 36600");
    s_refused("[referral]\nrecruit_override_bps = 50\nrecruit_override_bps = 60\n",
              "line 3: recruit_override_bps given twice (first on line 2)");
    s_refused("effective = 2026-01-01\n[plan]\n",
              "line 1: key 'effective' comes before any [section]");
    s_refused("[plan]\neffective = 2026-01-01\n  currency = CNY\n",
              "line 3: starts with a space: keys and [sections] begin at the start of a "
              "line");
    s_refused("[plan]\neffective 2026-01-01\ncurrency = CNY\n",
              "line 2: not a 'key = value' line, a [section] or a comment");
    s_refused("[plan\neffective = 2026-01-01\n", "line 1: '[' without ']'");
    s_refused("[plan]\neffective = 2026-01-01\x01\n",
              "line 2: not UTF-8 text, or holds control characters");
    s_refused("[plan]\ncurrency = \xff\xfe\n",
              "line 2: not UTF-8 text, or holds control characters");
    /* a comment or a value holding a hidden character: an ordinary text
       editor shows nothing, `plan show` would show the file */
    s_refused("[plan]\n; by HQ\xe2\x80\xae\n",
              "line 2: holds U+202E (right-to-left override) at character 8: invisible "
              "characters that can hide or reorder text are refused");
    s_refused("[plan]\ncurrency = CNY\xe2\x80\x8b\n",
              "line 2: holds U+200B (zero width space) at character 15: invisible "
              "characters that can hide or reorder text are refused");
    {
        char text[400];
        snprintf(text, sizeof text, "[plan]\n; %0161d\n", 0);
        s_refused(text, "line 2: longer than 160 bytes");
    }
}

/*  A line of exactly the limit is taken; the first error then is elsewhere.  */
static void test_parse_line_limit(void **state)
{
    char text[512], why[256];
    dn_plan_t plan;
    (void)state;
    snprintf(text, sizeof text, "[plan]\n;%0159d\neffective = 2026-01-01\n", 0);
    assert_int_equal(dn_plan_parse(text, &plan, why, sizeof why), DN_EPARSE);
    assert_string_equal(why, "line 1: [plan] has no currency (currency = CNY, say)");
}

/* -- versions -------------------------------------------------------------- */

static void test_set_and_at(void **state)
{
    fixture_t *fx = *state;
    dn_plan_t plan, at;
    char why[256] = "";

    assert_int_equal(dn_plan_at(fx->db, JAN1, &at), DN_ENOENT);
    assert_int_equal(
        dn_plan_set(fx->db, s_example, JAN1 - 5 * HOUR, &plan, why, sizeof why), 0);
    assert_int_equal(plan.id, 1);
    s_assert_example(&plan);
    assert_int_equal(
        dn_plan_set(fx->db, s_february, JAN1 + 5 * HOUR, &plan, why, sizeof why), 0);
    assert_int_equal(plan.id, 2);
    s_assert_february(&plan);
    /* the rows: the source verbatim, levels 0..n-1 of each table */
    assert_int_equal(s_int(fx->db, "SELECT count(*) FROM plan_rates WHERE plan_id = 1"),
                     5);
    assert_int_equal(s_int(fx->db, "SELECT count(*) FROM plan_rates WHERE plan_id = 2"),
                     4);
    assert_int_equal(s_int(fx->db,
                           "SELECT source = (SELECT source FROM plans WHERE id = 1) "
                           "FROM plans WHERE id = 1"),
                     1);
    assert_int_equal(s_int(fx->db, "SELECT length(source) FROM plans WHERE id = 2"),
                     (int64_t)strlen(s_february));

    /* which version is in force: exact boundaries */
    assert_int_equal(dn_plan_at(fx->db, JAN1 - 1, &at), DN_ENOENT);
    assert_int_equal(dn_plan_at(fx->db, JAN1, &at), 0);
    assert_int_equal(at.id, 1);
    s_assert_example(&at);
    assert_ptr_equal(dn_plan_table(&at, "rice"), &at.categories[0]);
    assert_int_equal(dn_plan_at(fx->db, JAN1 + 1, &at), 0);
    assert_int_equal(at.id, 1);
    assert_int_equal(dn_plan_at(fx->db, FEB1 - 1, &at), 0);
    assert_int_equal(at.id, 1);
    s_assert_example(&at);
    assert_int_equal(dn_plan_at(fx->db, FEB1, &at), 0);
    assert_int_equal(at.id, 2);
    s_assert_february(&at);
    assert_ptr_equal(dn_plan_table(&at, "rice"), &at.levels); /* no rice table now */
    assert_int_equal(dn_plan_at(fx->db, FEB1 + 1, &at), 0);
    assert_int_equal(at.id, 2);
    assert_int_equal(dn_plan_at(fx->db, INT64_MAX, &at), 0);
    assert_int_equal(at.id, 2);

    /* the cached lookup of the ledger's hot path agrees, call after call */
    {
        dn_db_cache_t *cache = dn_db_cache_new(fx->db);
        assert_non_null(cache);
        for (int round = 0; round < 2; round++) {
            assert_int_equal(dn_plan_at_cached(cache, JAN1 - 1, &at), DN_ENOENT);
            assert_int_equal(dn_plan_at_cached(cache, JAN1, &at), 0);
            assert_int_equal(at.id, 1);
            s_assert_example(&at);
            assert_int_equal(dn_plan_at_cached(cache, FEB1 - 1, &at), 0);
            assert_int_equal(at.id, 1);
            assert_int_equal(dn_plan_at_cached(cache, FEB1, &at), 0);
            assert_int_equal(at.id, 2);
            s_assert_february(&at);
        }
        dn_db_cache_destroy(&cache);
    }
}

static void test_set_refusals(void **state)
{
    fixture_t *fx = *state;
    dn_plan_t plan;
    char why[256] = "";

    /* a parse error comes through as it is */
    assert_int_equal(dn_plan_set(fx->db, "[plan]\nx = 1\n", JAN1, &plan, why, sizeof why),
                     DN_EPARSE);
    assert_string_equal(why, "line 2: unknown key 'x' in [plan]");
    assert_int_equal(dn_plan_set(fx->db, s_example, JAN1, &plan, why, sizeof why), 0);

    assert_int_equal(dn_plan_set(fx->db, s_example, JAN1, &plan, why, sizeof why),
                     DN_EEXIST);
    assert_string_equal(why,
                        "a plan effective 2026-01-01 exists already: a version is never "
                        "replaced; set a new one with a later effective date");
    assert_int_equal(plan.id, 0);
    assert_int_equal(dn_plan_set(fx->db,
                                 "[plan]\neffective = 2026-02-01\ncurrency = USD\n"
                                 "[levels]\n0 = 1\n",
                                 JAN1, &plan, why, sizeof why),
                     DN_EINVAL);
    assert_string_equal(
        why, "currency USD differs from the network's CNY: every plan uses CNY");

    /* a sale recorded 2026-03-05 10:00: that day is too early, the next fine */
    s_sale(fx->db, 1, MAR5 + 10 * HOUR);
    assert_int_equal(dn_plan_set(fx->db,
                                 "[plan]\neffective = 2026-03-05\ncurrency = CNY\n"
                                 "[levels]\n0 = 1\n",
                                 JAN1, &plan, why, sizeof why),
                     DN_EPERM);
    assert_string_equal(why, "effective 2026-03-05 is not after the latest sale stored "
                             "(recorded 2026-03-05T10:00:00.000Z): it would change "
                             "commissions already posted; choose a later date");
    /* a sale recorded at midnight exactly: "at or before" */
    s_sale(fx->db, 2, MAR5 + 24 * HOUR);
    assert_int_equal(dn_plan_set(fx->db,
                                 "[plan]\neffective = 2026-03-06\ncurrency = CNY\n"
                                 "[levels]\n0 = 1\n",
                                 JAN1, &plan, why, sizeof why),
                     DN_EPERM);
    assert_string_equal(why, "effective 2026-03-06 is not after the latest sale stored "
                             "(recorded 2026-03-06T00:00:00.000Z): it would change "
                             "commissions already posted; choose a later date");
    /* nothing of the refusals was written */
    assert_int_equal(s_int(fx->db, "SELECT count(*) FROM plans"), 1);
    assert_int_equal(s_int(fx->db, "SELECT count(*) FROM plan_rates"), 5);

    assert_int_equal(dn_plan_set(fx->db,
                                 "[plan]\neffective = 2026-03-07\ncurrency = CNY\n"
                                 "[levels]\n0 = 1\n",
                                 JAN1, &plan, why, sizeof why),
                     0);
    assert_int_equal(plan.id, 2);
    assert_int_equal(s_int(fx->db, "SELECT count(*) FROM plans"), 2);
}

/*  A category's display name (issue 13): parsed from its section's
    name = line, stored with the version, read back by dn_plan_at (not by
    the ledger's cached read, which pays by code) and shown in
    category_names; a category without one has none.  */
static void test_category_names(void **state)
{
    fixture_t *fx = *state;
    static const char text[] = "[plan]\neffective = 2026-01-01\ncurrency = CNY\n"
                               "[levels]\n0 = 800\n"
                               "[category:rice]\nname = \xe5\xa4\xa7\xe7\xb1\xb3\n0 = 500\n"
                               "[category:oil]\n0 = 300\n";
    dn_plan_t plan;
    json_t *obj = NULL;
    char why[256] = "", *shown;

    assert_int_equal(dn_plan_parse(text, &plan, why, sizeof why), 0);
    assert_int_equal(plan.n_categories, 2);
    assert_int_equal(dn_plan_set(fx->db, text, JAN1, &plan, why, sizeof why), 0);
    memset(&plan, 0, sizeof plan);
    assert_int_equal(dn_plan_at(fx->db, JAN1, &plan), 0);
    /* sorted by code: oil, then rice */
    assert_string_equal(plan.categories[0].category, "oil");
    assert_string_equal(plan.categories[0].name, "");
    assert_string_equal(plan.categories[1].category, "rice");
    assert_string_equal(plan.categories[1].name, "\xe5\xa4\xa7\xe7\xb1\xb3");
    assert_int_equal(plan.categories[1].bps[0], 500); /* the name changes no rate */
    assert_int_equal(dn_plan_json(fx->db, &plan, &obj), 0);
    shown = json_dumps(json_object_get(obj, "category_names"), JSON_COMPACT);
    assert_string_equal(shown, "{\"rice\":\"\xe5\xa4\xa7\xe7\xb1\xb3\"}");
    free(shown);
    json_decref(obj);
    assert_int_equal(s_int(fx->db, "SELECT count(*) FROM plan_categories"), 1);
}

static void test_list_and_json(void **state)
{
    fixture_t *fx = *state;
    json_t *list = NULL, *obj = NULL;
    dn_plan_t plan;
    char why[256] = "", *text;

    assert_int_equal(dn_plan_list(fx->db, &list), 0);
    text = json_dumps(list, JSON_COMPACT);
    assert_string_equal(text, "[]");
    free(text);
    json_decref(list);

    /* set out of order: listed by effective date */
    assert_int_equal(dn_plan_set(fx->db, s_february, JAN1 + HOUR, &plan, why, sizeof why),
                     0);
    assert_int_equal(dn_plan_set(fx->db, s_example, JAN1, &plan, why, sizeof why), 0);
    assert_int_equal(dn_plan_list(fx->db, &list), 0);
    text = json_dumps(list, JSON_COMPACT);
    assert_string_equal(
        text,
        "[{\"effective\":\"2026-01-01\",\"currency\":\"CNY\",\"cap_bps\":1500,"
        "\"levels\":\"800/300/100\",\"categories\":\"rice 500/200\","
        "\"first_purchase_bonus\":\"5.00\",\"first_purchase_bonus_minor\":500,"
        "\"purchase_bps\":100,\"purchase_days\":365,"
        "\"recruit_override_bps\":50,\"recruit_override_days\":365,"
        "\"compliance\":\"none\","
        "\"category_names\":{\"rice\":\"\xe5\xa4\xa7\xe7\xb1\xb3\"},\"created\":\"2026-01-01T00:00:00.000Z\",\"retired\":null,\"retired_by\":null},"
        "{\"effective\":\"2026-02-01\",\"currency\":\"CNY\",\"cap_bps\":10000,"
        "\"levels\":\"700/0/0/50\",\"categories\":null,\"first_purchase_bonus\":\"0.00\","
        "\"first_purchase_bonus_minor\":0,"
        "\"purchase_bps\":0,\"purchase_days\":0,\"recruit_override_bps\":0,"
        "\"recruit_override_days\":0,\"compliance\":\"none\",\"category_names\":null,"
        "\"created\":\"2026-01-01T01:00:00.000Z\","
        "\"retired\":null,\"retired_by\":null}]");
    free(text);
    json_decref(list);

    /* show: the same fields, and the file as it was set */
    assert_int_equal(dn_plan_at(fx->db, JAN1, &plan), 0);
    assert_int_equal(dn_plan_json(fx->db, &plan, &obj), 0);
    assert_string_equal(json_string_value(json_object_get(obj, "source")), s_example);
    assert_string_equal(json_string_value(json_object_get(obj, "categories")),
                        "rice 500/200");
    assert_string_equal(json_string_value(json_object_get(obj, "created")),
                        "2026-01-01T00:00:00.000Z");
    assert_int_equal(json_object_size(obj), 15);
    assert_int_equal(json_integer_value(json_object_get(obj, "first_purchase_bonus_minor")),
                     500); /* 5.00 CNY */
    json_decref(obj);

    /* a parsed plan not stored: no created, no source */
    assert_int_equal(dn_plan_parse(s_example, &plan, why, sizeof why), 0);
    assert_int_equal(dn_plan_json(fx->db, &plan, &obj), 0);
    assert_int_equal(json_object_size(obj), 13);
    assert_null(json_object_get(obj, "source"));
    json_decref(obj);
}

/* -- check, diff, retire --------------------------------------------------- */

/*  v as compact JSON text (caller frees); decrefs v.  */
static char *s_dump(json_t *v)
{
    char *text;
    assert_non_null(v);
    text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    assert_non_null(text);
    json_decref(v);
    return text;
}

#define ROW(field, change, in_force, new)                                                \
    "{\"field\":\"" field "\",\"change\":\"" change "\",\"in_force\":" in_force          \
    ",\"new\":" new "}"

/*  The expected rows one per line, as they are listed.  */
/* clang-format off */
static void test_diff(void **state)
{
    dn_plan_t example, february, other;
    json_t *changes = NULL;
    char why[256] = "", *text;
    (void)state;

    assert_int_equal(dn_plan_parse(s_example, &example, why, sizeof why), 0);
    assert_int_equal(dn_plan_parse(s_february, &february, why, sizeof why), 0);

    /* the same plan: no change */
    assert_int_equal(dn_plan_diff(&example, &example, &changes), 0);
    text = s_dump(changes);
    assert_string_equal(text, "[]");
    free(text);

    /* example -> February: every field of the file's order; a rate listed
       in both but different is changed, a level beyond the old table
       added, the rice table (gone) removed level by level */
    assert_int_equal(dn_plan_diff(&example, &february, &changes), 0);
    text = s_dump(changes);
    assert_string_equal(text, "[" ROW("cap_bps", "changed", "\"1500\"", "\"10000\"") ","
                              ROW("[levels] 0", "changed", "\"800\"", "\"700\"") ","
                              ROW("[levels] 1", "changed", "\"300\"", "\"0\"") ","
                              ROW("[levels] 2", "changed", "\"100\"", "\"0\"") ","
                              ROW("[levels] 3", "added", "null", "\"50\"") ","
                              ROW("[category:rice] 0", "removed", "\"500\"", "null") ","
                              ROW("[category:rice] 1", "removed", "\"200\"", "null") ","
                              ROW("first_purchase_bonus", "changed", "\"5.00\"",
                                  "\"0.00\"") ","
                              ROW("purchase_bps", "changed", "\"100\"", "\"0\"") ","
                              ROW("purchase_days", "changed", "\"365\"", "\"0\"") ","
                              ROW("recruit_override_bps", "changed", "\"50\"",
                                  "\"0\"") ","
                              ROW("recruit_override_days", "changed", "\"365\"",
                                  "\"0\"") "]");
    free(text);

    /* and back: level 3 removed, rice added */
    assert_int_equal(dn_plan_diff(&february, &example, &changes), 0);
    text = s_dump(changes);
    assert_non_null(strstr(text, ROW("[levels] 3", "removed", "\"50\"", "null") ","
                                 ROW("[category:rice] 0", "added", "null", "\"500\"")));
    free(text);

    /* no version in force: every value is new */
    assert_int_equal(dn_plan_diff(NULL, &february, &changes), 0);
    text = s_dump(changes);
    assert_string_equal(text, "[" ROW("cap_bps", "added", "null", "\"10000\"") ","
                              ROW("[levels] 0", "added", "null", "\"700\"") ","
                              ROW("[levels] 1", "added", "null", "\"0\"") ","
                              ROW("[levels] 2", "added", "null", "\"0\"") ","
                              ROW("[levels] 3", "added", "null", "\"50\"") ","
                              ROW("first_purchase_bonus", "added", "null", "\"0.00\"") ","
                              ROW("purchase_bps", "added", "null", "\"0\"") ","
                              ROW("purchase_days", "added", "null", "\"0\"") ","
                              ROW("recruit_override_bps", "added", "null", "\"0\"") ","
                              ROW("recruit_override_days", "added", "null", "\"0\"") "]");
    free(text);

    /* categories are merged by name: oil only in the old, tea only in the
       new, rice in both with one rate changed */
    assert_int_equal(dn_plan_parse("[plan]\neffective = 2026-02-01\ncurrency = CNY\n"
                                   "cap_bps = 1500\n[levels]\n0 = 800\n1 = 300\n2 = 100\n"
                                   "[category:tea]\n0 = 900\n"
                                   "[category:rice]\n0 = 500\n1 = 250\n"
                                   "[referral]\nfirst_purchase_bonus = 5.00\n"
                                   "purchase_bps = 100\npurchase_days = 365\n"
                                   "recruit_override_bps = 50\n"
                                   "recruit_override_days = 365\n",
                                   &other, why, sizeof why),
                     0);
    example.n_categories = 2; /* add [category:oil] 0 = 300 before rice */
    example.categories[1] = example.categories[0];
    memset(&example.categories[0], 0, sizeof example.categories[0]);
    snprintf(example.categories[0].category, DN_MAX_CODE_LEN + 1, "oil");
    example.categories[0].n_levels = 1;
    example.categories[0].bps[0] = 300;
    assert_int_equal(dn_plan_diff(&example, &other, &changes), 0);
    text = s_dump(changes);
    assert_string_equal(text, "["
                              ROW("[category:oil] 0", "removed", "\"300\"", "null") ","
                              ROW("[category:rice] 1", "changed", "\"200\"", "\"250\"")
                              ","
                              ROW("[category:tea] 0", "added", "null", "\"900\"") "]");
    free(text);
}
/* clang-format on */

/*  plan check: the parse and the refusals of plan set, and nothing stored.  */
static void test_check(void **state)
{
    fixture_t *fx = *state;
    json_t *out = NULL;
    dn_plan_t plan;
    char why[256] = "", *text;

    /* the first version: nothing in force to compare with */
    assert_int_equal(dn_plan_check(fx->db, s_february, &out, why, sizeof why), 0);
    text = s_dump(out);
    assert_non_null(strstr(text, "{\"effective\":\"2026-02-01\",\"currency\":\"CNY\","
                                 "\"against\":null,\"changes\":[" ROW(
                                     "cap_bps", "added", "null", "\"10000\"")));
    free(text);
    assert_int_equal(s_int(fx->db, "SELECT count(*) FROM plans"), 0);

    assert_int_equal(dn_plan_set(fx->db, s_example, JAN1, &plan, why, sizeof why), 0);
    assert_int_equal(dn_plan_check(fx->db, s_february, &out, why, sizeof why), 0);
    text = s_dump(out);
    assert_non_null(strstr(text, "{\"effective\":\"2026-02-01\",\"currency\":\"CNY\","
                                 "\"against\":\"2026-01-01\",\"changes\":[" ROW(
                                     "cap_bps", "changed", "\"1500\"", "\"10000\"")));
    free(text);

    /* every refusal of plan set, with its reason and code */
    out = NULL;
    assert_int_equal(dn_plan_check(fx->db,
                                   "[plan]\neffective = 2026-02-01\n\ncolour = red\n",
                                   &out, why, sizeof why),
                     DN_EPARSE);
    assert_string_equal(why, "line 4: unknown key 'colour' in [plan]");
    assert_null(out);
    assert_int_equal(dn_plan_check(fx->db, s_example, &out, why, sizeof why), DN_EEXIST);
    assert_string_equal(why,
                        "a plan effective 2026-01-01 exists already: a version is never "
                        "replaced; set a new one with a later effective date");
    assert_int_equal(dn_plan_check(fx->db,
                                   "[plan]\neffective = 2026-02-01\ncurrency = USD\n"
                                   "[levels]\n0 = 1\n",
                                   &out, why, sizeof why),
                     DN_EINVAL);
    assert_string_equal(
        why, "currency USD differs from the network's CNY: every plan uses CNY");
    s_sale(fx->db, 1, FEB1);
    assert_int_equal(dn_plan_check(fx->db, s_february, &out, why, sizeof why), DN_EPERM);
    assert_string_equal(why, "effective 2026-02-01 is not after the latest sale stored "
                             "(recorded 2026-02-01T00:00:00.000Z): it would change "
                             "commissions already posted; choose a later date");
    assert_null(out);
    /* ... and plan set says the same */
    assert_int_equal(dn_plan_set(fx->db, s_february, JAN1, &plan, why, sizeof why),
                     DN_EPERM);
    assert_int_equal(s_int(fx->db, "SELECT count(*) FROM plans"), 1);
    assert_int_equal(s_int(fx->db, "SELECT count(*) FROM plan_rates"), 5);
}

/*  A version of one level: effective date, level 0 rate.  */
static void s_version(sqlite3 *db, const char *date, int bps)
{
    char text[160], why[256] = "";
    dn_plan_t plan;
    snprintf(text, sizeof text,
             "[plan]\neffective = %s\ncurrency = CNY\n[levels]\n0 = %d\n", date, bps);
    assert_int_equal(dn_plan_set(db, text, JAN1, &plan, why, sizeof why), 0);
}

/*  Retires the version of date at now; returns dn_plan_retire's code and
    the result as text in out (or "" on refusal), why the reason.  */
static int s_retire(sqlite3 *db, const char *date, int64_t now, char *out, size_t size,
                    char *why, size_t why_size)
{
    json_t *result = NULL;
    int64_t ms;
    int rc;
    assert_int_equal(dn_time_parse_date(date, &ms), 0);
    why[0] = out[0] = '\0';
    rc = dn_plan_retire(db, ms, "hq", now, &result, why, why_size);
    if (rc == 0) {
        char *text = s_dump(result);
        snprintf(out, size, "%s", text);
        free(text);
    } else {
        assert_null(result);
    }
    return rc;
}

/* -- compliance = cn-direct-selling ------------------------------------------ */

#define S_ART73 "pay computed from a downline's sales (团队计酬) is pyramid selling under 禁止传销条例 art. 7(3)"

/*  A [plan] with the setting; body follows from line 5 on.  */
#define S_CN_HEAD                                                                        \
    "[plan]\neffective = 2026-01-01\ncurrency = CNY\ncompliance = cn-direct-selling\n"

/*  The verdicts of compliance = cn-direct-selling: the demo plan is
    refused at its first level above 0, naming the article; each shape the
    rules forbid is refused on its own line; a single-level plan paying
    the seller on its own sales, at most 30 %, is accepted and stored with
    its setting; without the setting the demo plan is taken as before.  */
static void test_compliance(void **state)
{
    fixture_t *fx = *state;
    char why[256] = "", demo[sizeof s_example + 64];
    const char *cap = strstr(s_example, "cap_bps = 1500\n");
    dn_plan_t plan;
    json_t *out = NULL;

    /* the demo plan (deploy/plan.ini's figures) with the setting after
       cap_bps (line 5): [levels] 1 = 300 on line 9 is the first refusal */
    assert_non_null(cap);
    snprintf(demo, sizeof demo, "%.*scompliance = cn-direct-selling\n%s",
             (int)(cap - s_example + strlen("cap_bps = 1500\n")), s_example,
             cap + strlen("cap_bps = 1500\n"));
    s_refused(demo, "line 9: [levels] pays level 1 on a reseller's sale: " S_ART73);
    assert_int_equal(dn_plan_set(fx->db, demo, JAN1, &plan, why, sizeof why), DN_EPARSE);
    assert_string_equal(why, "line 9: [levels] pays level 1 on a reseller's sale: " S_ART73);
    assert_int_equal(dn_plan_check(fx->db, demo, &out, why, sizeof why), DN_EPARSE);
    assert_null(out);
    assert_string_equal(why, "line 9: [levels] pays level 1 on a reseller's sale: " S_ART73);
    assert_int_equal(dn_plan_at(fx->db, JAN1, &plan), DN_ENOENT); /* nothing stored */

    /* each shape on its own: levels above 0 in a category table */
    s_refused(S_CN_HEAD "[levels]\n0 = 800\n[category:rice]\n0 = 500\n1 = 0\n2 = 100\n",
              "line 10: [category:rice] pays level 2 on a reseller's sale: " S_ART73);
    /* more than 30 % of the seller's own sale; 30 % itself passes */
    s_refused(S_CN_HEAD "[levels]\n0 = 3001\n",
              "line 6: [levels] pays the seller 3001 bps of its own sale: an "
              "individual's pay is at most 3000 bps (30%) of its own sales under "
              "直销管理条例 art. 24");
    /* a bonus per member brought in */
    s_refused(S_CN_HEAD "[levels]\n0 = 800\n[referral]\nfirst_purchase_bonus = 0.01\n",
              "line 8: first_purchase_bonus pays a referrer for each member it brings "
              "in: pay by the number of people recruited (拉人头) is pyramid selling "
              "under 禁止传销条例 art. 7(1)");
    /* a share of a referred member's purchases, with a window */
    s_refused(S_CN_HEAD "[levels]\n0 = 800\n[referral]\npurchase_days = 30\n"
                        "purchase_bps = 1\n",
              "line 9: purchase_bps pays a referrer on the purchases of the member it "
              "brought in: pay computed from a downline's purchases (团队计酬) is "
              "pyramid selling under 禁止传销条例 art. 7(3)");
    /* an override on a recruit's sales */
    s_refused(S_CN_HEAD "[levels]\n0 = 800\n[referral]\nrecruit_override_bps = 50\n"
                        "recruit_override_days = 365\n",
              "line 8: recruit_override_bps pays a recruiter on its recruit's sales: "
              S_ART73);
    /* the earliest line wins, the setting's own place does not matter */
    s_refused("[levels]\n0 = 800\n1 = 300\n[plan]\neffective = 2026-01-01\n"
              "currency = CNY\ncompliance = cn-direct-selling\n",
              "line 3: [levels] pays level 1 on a reseller's sale: " S_ART73);
    s_refused(S_CN_HEAD "[levels]\n0 = 800\ncompliance = strict\n",
              "line 7: unknown key 'compliance' in [levels] (keys are levels, 0 to 9)");
    s_refused("[plan]\neffective = 2026-01-01\ncurrency = CNY\ncompliance = strict\n"
              "[levels]\n0 = 800\n",
              "line 4: compliance 'strict' is not a known setting (compliance = "
              "cn-direct-selling, or none)");

    /* what pays nothing passes: 0 rates, 0-day windows, a 0.00 bonus */
    assert_int_equal(dn_plan_parse(S_CN_HEAD "[levels]\n0 = 3000\n1 = 0\n"
                                             "[referral]\nfirst_purchase_bonus = 0.00\n"
                                             "purchase_bps = 100\npurchase_days = 0\n"
                                             "recruit_override_bps = 50\n",
                                   &plan, why, sizeof why),
                     0);
    assert_int_equal(plan.compliance, DN_PLAN_COMPLIANCE_CN_DIRECT_SELLING);

    /* a compliant single-level plan: set, stored with its setting */
    assert_int_equal(dn_plan_set(fx->db,
                                 S_CN_HEAD "[levels]\n0 = 800\n[category:rice]\n0 = 500\n",
                                 JAN1, &plan, why, sizeof why),
                     0);
    assert_int_equal(dn_plan_at(fx->db, JAN1, &plan), 0);
    assert_int_equal(plan.compliance, DN_PLAN_COMPLIANCE_CN_DIRECT_SELLING);
    assert_int_equal(plan.levels.n_levels, 1);
    assert_int_equal(plan.levels.bps[0], 800);
    assert_int_equal(dn_plan_json(fx->db, &plan, &out), 0);
    assert_string_equal(json_string_value(json_object_get(out, "compliance")),
                        "cn-direct-selling");
    json_decref(out);

    /* without the setting the demo plan is taken as today; the diff names
       the setting that goes */
    snprintf(demo, sizeof demo, "%s", s_example);
    memcpy(strstr(demo, "2026-01-01"), "2026-02-01", 10);
    assert_int_equal(dn_plan_check(fx->db, demo, &out, why, sizeof why), 0);
    assert_string_equal(
        json_string_value(json_object_get(
            json_array_get(json_object_get(out, "changes"),
                           json_array_size(json_object_get(out, "changes")) - 1),
            "field")),
        "compliance");
    json_decref(out);
    assert_int_equal(dn_plan_set(fx->db, demo, JAN1, &plan, why, sizeof why), 0);
    assert_int_equal(dn_plan_at(fx->db, FEB1, &plan), 0);
    assert_int_equal(plan.compliance, DN_PLAN_COMPLIANCE_NONE);
    assert_int_equal(plan.levels.bps[2], 100);
}

/*  Retiring: a version's window runs from its date to the next version in
    force (retired ones skipped); a stored sale in it keeps the version.  */
static void test_retire(void **state)
{
    fixture_t *fx = *state;
    int64_t now = MAR5 + 20 * HOUR; /* 2026-03-05T20:00:00.000Z */
    char out[512], why[512];
    dn_plan_t plan;
    json_t *list = NULL;
    char *text;

    s_version(fx->db, "2026-01-01", 100);
    s_version(fx->db, "2026-02-01", 200);
    s_version(fx->db, "2026-03-01", 300);
    s_version(fx->db, "2026-04-01", 400);
    s_sale(fx->db, 1, MAR5 + 10 * HOUR);          /* 2026-03-05T10:00 */
    s_sale(fx->db, 2, FEB1 + 28 * 24 * HOUR);     /* 2026-03-01T00:00, March's first ms */
    s_sale(fx->db, 3, FEB1 + 59 * 24 * HOUR - 1); /* 2026-03-31T23:59:59.999 */

    /* February [02-01, 03-01): the sale at 03-01 00:00 is March's */
    assert_int_equal(
        s_retire(fx->db, "2026-02-01", now, out, sizeof out, why, sizeof why), 0);
    assert_string_equal(out, "{\"effective\":\"2026-02-01\",\"retired\":"
                             "\"2026-03-05T20:00:00.000Z\",\"retired_by\":\"hq\","
                             "\"in_force_instead\":\"2026-01-01\"}");
    assert_int_equal(
        s_retire(fx->db, "2026-02-01", now, out, sizeof out, why, sizeof why), DN_EEXIST);
    assert_string_equal(why, "the plan effective 2026-02-01 was already retired at "
                             "2026-03-05T20:00:00.000Z by hq");
    /* never in force again: February's days fall to January */
    assert_int_equal(dn_plan_at(fx->db, FEB1, &plan), 0);
    assert_int_equal(plan.levels.bps[0], 100);
    assert_int_equal(dn_plan_at(fx->db, MAR5, &plan), 0);
    assert_int_equal(plan.levels.bps[0], 300);

    /* a sale of February that syncs late now falls under January, whose
       window runs to March (February retired): January is kept */
    s_sale(fx->db, 4, FEB1 + 9 * 24 * HOUR); /* 2026-02-10T00:00 */
    assert_int_equal(
        s_retire(fx->db, "2026-01-01", now, out, sizeof out, why, sizeof why), DN_EPERM);
    assert_string_equal(why, "the plan effective 2026-01-01 is the one in force for 1 "
                             "stored sale (the first recorded 2026-02-10T00:00:00.000Z): "
                             "retiring it would change what they earned; set a new "
                             "version from a later date instead");
    assert_int_equal(
        s_retire(fx->db, "2026-03-01", now, out, sizeof out, why, sizeof why), DN_EPERM);
    assert_string_equal(why,
                        "the plan effective 2026-03-01 is the one in force for 3 "
                        "stored sales (the first recorded 2026-03-01T00:00:00.000Z): "
                        "retiring it would change what they earned; set a new "
                        "version from a later date instead");
    /* April [04-01, ...): the sale a millisecond before is March's */
    assert_int_equal(
        s_retire(fx->db, "2026-04-01", now, out, sizeof out, why, sizeof why), 0);
    assert_non_null(strstr(out, "\"in_force_instead\":\"2026-03-01\"}"));
    assert_int_equal(dn_plan_at(fx->db, INT64_MAX, &plan), 0);
    assert_int_equal(plan.levels.bps[0], 300);
    assert_int_equal(
        s_retire(fx->db, "2026-05-01", now, out, sizeof out, why, sizeof why), DN_ENOENT);
    assert_string_equal(why, "no plan version is effective 2026-05-01 (see: "
                             "dealernet-hq plan list)");

    /* a retired version keeps its date */
    {
        dn_plan_t again;
        assert_int_equal(dn_plan_set(fx->db,
                                     "[plan]\neffective = 2026-04-01\ncurrency = CNY\n"
                                     "[levels]\n0 = 450\n",
                                     now, &again, why, sizeof why),
                         DN_EEXIST);
        assert_string_equal(why,
                            "a plan effective 2026-04-01 was retired at "
                            "2026-03-05T20:00:00.000Z and keeps its date: set the new "
                            "one with another effective date");
    }

    /* the audit trail, in the list */
    assert_int_equal(dn_plan_list(fx->db, &list), 0);
    assert_int_equal(json_array_size(list), 4);
    for (size_t i = 0; i < 4; i++) {
        json_t *row = json_array_get(list, i);
        int retired = i == 1 || i == 3;
        text = s_dump(json_pack("[O, O]", json_object_get(row, "retired"),
                                json_object_get(row, "retired_by")));
        assert_string_equal(text, retired ? "[\"2026-03-05T20:00:00.000Z\",\"hq\"]"
                                          : "[null,null]");
        free(text);
    }
    json_decref(list);
    assert_int_equal(s_int(fx->db, "SELECT count(*) FROM plans WHERE retired_ms = "
                                   "1772740800000 AND retired_by = 'hq'"),
                     2);
}

/*  A version set while the network kept UTC days is found by the date it
    shows once the network has its zone (a central.db migrated to
    Asia/Shanghai): "2026-04-01" is stored at 2026-04-01T00:00Z, 08:00 in
    Beijing, while the date typed now parses to Beijing's midnight,
    2026-03-31T16:00Z (1775001600000 - 8 * HOUR).  Retiring it by the
    date plan list shows finds it, and a new version of that date is
    refused as a duplicate rather than stored beside it.  */
static void test_retire_zoned(void **state)
{
    fixture_t *fx = *state;
    char out[512], why[512];
    dn_plan_t again;

    s_version(fx->db, "2026-04-01", 400); /* UTC: 1775001600000 */
    assert_int_equal(dn_time_zone_set("Asia/Shanghai", FEB1), 0);
    assert_int_equal(dn_plan_set(fx->db,
                                 "[plan]\neffective = 2026-04-01\ncurrency = CNY\n"
                                 "[levels]\n0 = 450\n",
                                 MAR5, &again, why, sizeof why),
                     DN_EEXIST);
    assert_int_equal(s_int(fx->db, "SELECT count(*) FROM plans"), 1);
    int rc = s_retire(fx->db, "2026-04-01", MAR5, out, sizeof out, why, sizeof why);
    assert_int_equal(dn_time_zone_set(DN_TIME_ZONE_UTC, 0), 0);
    assert_int_equal(rc, 0);
    assert_string_equal(out, "{\"effective\":\"2026-04-01\",\"retired\":"
                             "\"2026-03-05T08:00:00.000+08:00\",\"retired_by\":\"hq\","
                             "\"in_force_instead\":null}");
    assert_int_equal(s_int(fx->db, "SELECT count(*) FROM plans WHERE effective_ms = "
                                   "1775001600000 AND retired_ms IS NOT NULL"),
                     1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_example),
        cmocka_unit_test(test_parse_deploy_file),
        cmocka_unit_test(test_parse_forms),
        cmocka_unit_test(test_parse_refusals),
        cmocka_unit_test(test_parse_line_limit),
        cmocka_unit_test_setup_teardown(test_set_and_at, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_set_refusals, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_list_and_json, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_category_names, s_setup, s_teardown),
        cmocka_unit_test(test_diff),
        cmocka_unit_test_setup_teardown(test_check, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_retire, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_retire_zoned, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_compliance, s_setup, s_teardown),
    };
    dn_log_init("test_plan", DN_LOG_QUIET, 0);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
