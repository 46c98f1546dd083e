/*  test_tree -- unit tests for the partner tree over time (dn_registry).

    The promises under test: the parent and the status of a partner at a
    time T come from the row with the greatest effective_ms <= T, so a move
    or a suspension changes nothing one millisecond before it and
    everything from it on; a move is refused, writing nothing, when it
    would make a cycle (now, or at a later change of the tree), moves an hq
    partner or a partner under itself, repeats an effective time, or would
    change the commissions of a stored sale of the partner's downline; a
    suspension or resumption is refused when it changes nothing; the tree
    at a date is a flat list in depth-first order, children by code, with
    the depth, parent and status of that date.  The tree is five levels
    deep: HQ > R1 > DI1 > DE1 > RS1.  Each test works on a fresh central.db
    in its own mkdtemp folder.
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
#include "dn_registry.h"
#include "dn_tree.h"

#define DAY   86400000LL
#define HOUR  3600000LL
#define JAN1  1767225600000LL /* 2026-01-01T00:00:00.000Z */
#define JAN5  (JAN1 + 4 * DAY)
#define JAN10 (JAN1 + 9 * DAY)
#define JAN15 1768435200000LL /* 2026-01-15T00:00:00.000Z */
#define JAN20 (JAN1 + 19 * DAY)
#define FEB1  1769904000000LL /* 2026-02-01T00:00:00.000Z */
#define FEB10 (FEB1 + 9 * DAY)

/*  Partner ids, in the order s_tree adds them.  */
enum { HQ = 1, R1, R2, DI1, DI2, DE1, DE2, RS1, RS2 };

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

static const struct {
    const char *code, *name, *kind, *parent;
} s_partners[] = {
    {"HQ", "Head Office", "hq", NULL},
    {"R1", "Region One", "region", "HQ"},
    {"R2", "Region Two", "region", "HQ"},
    {"DI1", "Distributor One", "distributor", "R1"},
    {"DI2", "Distributor Two", "distributor", "R2"},
    {"DE1", "Dealer One", "dealer", "DI1"},
    {"DE2", "Dealer Two", "dealer", "DI1"},
    {"RS1", "Reseller One", "reseller", "DE1"},
    {"RS2", "Reseller Two", "reseller", "DE1"},
};

#define S_PARTNERS (sizeof s_partners / sizeof s_partners[0])

/*  HQ > R1 > DI1 > DE1 > RS1, with R2 > DI2, DE2 under DI1, RS2 under
    DE1; all added at JAN1.  */
static void s_tree(sqlite3 *db)
{
    char why[256] = "";
    for (size_t i = 0; i < S_PARTNERS; i++)
        assert_int_equal(dn_registry_partner_add(db, s_partners[i].code,
                                                 s_partners[i].name, s_partners[i].kind,
                                                 s_partners[i].parent, JAN1, why,
                                                 sizeof why),
                         0);
    assert_int_equal(s_int(db, "SELECT id FROM partners WHERE code = 'RS2'"), RS2);
}

static int64_t s_parent(sqlite3 *db, int64_t id, int64_t at_ms)
{
    int64_t parent = -1;
    assert_int_equal(dn_tree_parent_at(db, id, at_ms, &parent), 0);
    return parent;
}

static int s_active(sqlite3 *db, int64_t id, int64_t at_ms)
{
    int active = -1;
    assert_int_equal(dn_tree_active_at(db, id, at_ms, &active), 0);
    return active;
}

static void s_move(sqlite3 *db, const char *code, const char *parent, int64_t at_ms,
                   int expected_rc, const char *expected_why)
{
    char why[256] = "";
    assert_int_equal(dn_tree_move(db, code, parent, at_ms, why, sizeof why),
                     expected_rc);
    if (expected_why)
        assert_string_equal(why, expected_why);
}

/*  One row of an expected tree: code, parent, status, depth.  */
typedef struct {
    int depth;
    const char *code, *parent;
    int suspended;
} s_row_t;

/*  The exact JSON text of rows (names and kinds from s_partners).  */
static char *s_expected(const s_row_t *rows, size_t n)
{
    size_t size = 8192, used = 0;
    char *text = malloc(size);
    assert_non_null(text);
    used += (size_t)snprintf(text + used, size - used, "[");
    for (size_t i = 0; i < n; i++) {
        const char *name = NULL, *kind = NULL;
        for (size_t j = 0; j < S_PARTNERS; j++)
            if (strcmp(s_partners[j].code, rows[i].code) == 0) {
                name = s_partners[j].name;
                kind = s_partners[j].kind;
            }
        if (!name && strcmp(rows[i].code, "ALONE") == 0) { /* added by the test */
            name = "Alone";
            kind = "dealer";
        }
        assert_non_null(name);
        used += (size_t)snprintf(
            text + used, size - used,
            "%s{\"tree\":\"%*s%s\",\"code\":\"%s\",\"name\":\"%s\","
            "\"kind\":\"%s\",\"parent\":%s%s%s,\"status\":\"%s\","
            "\"depth\":%d}",
            i ? "," : "", rows[i].depth * 2, "", rows[i].code, rows[i].code, name, kind,
            rows[i].parent ? "\"" : "", rows[i].parent ? rows[i].parent : "null",
            rows[i].parent ? "\"" : "", rows[i].suspended ? "suspended" : "active",
            rows[i].depth);
    }
    snprintf(text + used, size - used, "]");
    return text;
}

static void s_expect_tree(sqlite3 *db, const char *root, int64_t at_ms,
                          const s_row_t *rows, size_t n)
{
    char why[256] = "", *text, *expected = s_expected(rows, n);
    json_t *list = NULL;
    assert_int_equal(dn_tree_view(db, root, at_ms, &list, why, sizeof why),
                     0);
    text = json_dumps(list, JSON_COMPACT);
    assert_non_null(text);
    assert_string_equal(text, expected);
    free(text);
    free(expected);
    json_decref(list);
}

/*  A sale by seller recorded at recorded_ms (the rows dn_ingest writes).  */
static void s_sale(sqlite3 *db, int eid, const char *seller, int64_t recorded_ms)
{
    char sql[1024];
    s_exec(db, "INSERT OR IGNORE INTO sites(id, code, partner_id, created_ms)"
               " VALUES (1, 'SHOP-1', 6, 0)");
    snprintf(
        sql, sizeof sql,
        "INSERT INTO events(eid, id, site_id, seq, kind, recorded_at_ms, received_ms,"
        " body, hash) VALUES (%d, randomblob(16), 1, %d, 'sale', %lld, %lld, x'00',"
        " randomblob(32));"
        "INSERT INTO sales(eid, site_id, recorded_at_ms, total, currency, channel,"
        " seller) VALUES (%d, 1, %lld, 1000, 'CNY', 0, '%s');",
        eid, eid, (long long)recorded_ms, (long long)recorded_ms, eid,
        (long long)recorded_ms, seller);
    s_exec(db, sql);
}

/* -- partners -------------------------------------------------------------- */

static void test_partner_get(void **state)
{
    fixture_t *fx = *state;
    dn_registry_partner_t p;
    char why[256] = "";

    s_tree(fx->db);
    assert_int_equal(dn_registry_partner_get(fx->db, "RS1", &p), 0);
    assert_int_equal(p.id, RS1);
    assert_string_equal(p.code, "RS1");
    assert_string_equal(p.kind, "reseller");
    assert_int_equal(p.recruiter_id, 0);
    assert_int_equal(p.joined_ms, JAN1);
    assert_int_equal(dn_registry_partner_get(fx->db, "NOPE", &p), DN_ENOENT);
    assert_int_equal(dn_registry_partner_by_id(fx->db, 99, &p), DN_ENOENT);

    /* recruited by RS1, joined 2026-01-05 though added later */
    assert_int_equal(dn_registry_partner_add_recruited(fx->db, "RS3", "Reseller Three",
                                                       "reseller", "DE2", "RS1", JAN5,
                                                       JAN10, why, sizeof why),
                     0);
    assert_int_equal(dn_registry_partner_by_id(fx->db, 10, &p), 0);
    assert_string_equal(p.code, "RS3");
    assert_int_equal(p.recruiter_id, RS1);
    assert_int_equal(p.joined_ms, JAN5);
    assert_int_equal(s_int(fx->db, "SELECT created_ms FROM partners WHERE id = 10"),
                     JAN10);
    assert_int_equal(s_parent(fx->db, 10, 0), DE2);

    assert_int_equal(dn_registry_partner_add_recruited(fx->db, "RS4", "Four", "reseller",
                                                       "DE2", "NOPE", JAN5, JAN10, why,
                                                       sizeof why),
                     DN_ENOENT);
    assert_string_equal(why, "recruiter NOPE is not a partner");
    assert_int_equal(dn_registry_partner_add_recruited(fx->db, "RS4", "Four", "reseller",
                                                       "DE2", "no code", JAN5, JAN10, why,
                                                       sizeof why),
                     DN_EINVAL);
    assert_string_equal(why, "recruiter 'no code' is not a partner code");
    assert_int_equal(s_int(fx->db, "SELECT count(*) FROM partners"), 10);
}

/* -- moves ----------------------------------------------------------------- */

static void test_parent_at_boundaries(void **state)
{
    fixture_t *fx = *state;

    s_tree(fx->db);
    /* before the first link (effective 0) there is none */
    assert_int_equal(s_parent(fx->db, DE1, -1), 0);
    assert_int_equal(s_parent(fx->db, DE1, 0), DI1);
    assert_int_equal(s_parent(fx->db, HQ, JAN1), 0);

    s_move(fx->db, "DE1", "DI2", JAN15, 0, NULL);
    s_move(fx->db, "DE1", "DI1", FEB1, 0, NULL);
    assert_int_equal(
        s_int(fx->db, "SELECT count(*) FROM partner_links WHERE partner_id = 6"), 3);
    assert_int_equal(s_parent(fx->db, DE1, JAN15 - 1), DI1);
    assert_int_equal(s_parent(fx->db, DE1, JAN15), DI2);
    assert_int_equal(s_parent(fx->db, DE1, JAN15 + 1), DI2);
    assert_int_equal(s_parent(fx->db, DE1, FEB1 - 1), DI2);
    assert_int_equal(s_parent(fx->db, DE1, FEB1), DI1);
    assert_int_equal(s_parent(fx->db, DE1, FEB1 + 1), DI1);
    /* its downline moves with it; nobody else moves */
    assert_int_equal(s_parent(fx->db, RS1, JAN15), DE1);
    assert_int_equal(s_parent(fx->db, DE2, JAN15), DI1);

    /* parent and status at each boundary of a move and a suspension */
    {
        static const struct {
            int64_t at;
            int64_t parent;
            int active;
        } want[] = {{JAN15 - 1, DI1, 1}, {JAN15, DI2, 1},    {JAN20 - 1, DI2, 1},
                    {JAN20, DI2, 0},     {FEB1 - 1, DI2, 0}, {FEB1, DI1, 0}};
        dn_db_cache_t *cache = dn_db_cache_new(fx->db);
        dn_registry_partner_t p;
        char why[256] = "";
        assert_non_null(cache);
        assert_int_equal(
            dn_tree_suspend(fx->db, "DE1", JAN20, why, sizeof why), 0);
        for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
            assert_int_equal(s_parent(fx->db, DE1, want[i].at), want[i].parent);
            assert_int_equal(s_active(fx->db, DE1, want[i].at), want[i].active);
        }
        assert_int_equal(s_parent(fx->db, HQ, JAN1), 0);
        assert_int_equal(s_active(fx->db, 99, JAN1), 1); /* no status row: active */
        assert_int_equal(dn_registry_partner_get_cached(cache, "RS2", &p), 0);
        assert_int_equal(p.id, RS2);
        assert_int_equal(p.joined_ms, JAN1);
        assert_int_equal(dn_registry_partner_get_cached(cache, "NOPE", &p), DN_ENOENT);
        dn_db_cache_destroy(&cache);
    }
}

static void test_move_refusals(void **state)
{
    fixture_t *fx = *state;

    s_tree(fx->db);
    s_move(fx->db, "DE1", "DI2", JAN15, 0, NULL);

    /* into its own downline: RS1 is under R1 */
    s_move(fx->db, "R1", "RS1", JAN10, DN_EINVAL,
           "moving R1 under RS1 would make a cycle: RS1 is in the downline of R1 at "
           "2026-01-10T00:00:00.000Z");
    /* fine on the 10th, but DE1 comes under DI2 on the 15th */
    s_move(fx->db, "DI2", "DE1", JAN10, DN_EINVAL,
           "moving DI2 under DE1 would make a cycle: DE1 is in the downline of DI2 at "
           "2026-01-15T00:00:00.000Z");
    s_move(fx->db, "DI2", "RS2", JAN20, DN_EINVAL,
           "moving DI2 under RS2 would make a cycle: RS2 is in the downline of DI2 at "
           "2026-01-20T00:00:00.000Z");
    s_move(fx->db, "DE1", "DE1", JAN20, DN_EINVAL,
           "partner DE1 cannot be its own parent");
    s_move(fx->db, "HQ", "R1", JAN20, DN_EINVAL,
           "partner HQ is of kind hq: it heads the tree and is never moved under another "
           "partner");
    s_move(fx->db, "DE1", "DE2", JAN15, DN_EEXIST,
           "partner DE1 already has a move effective 2026-01-15T00:00:00.000Z");
    s_move(fx->db, "DE1", "DE2", 0, DN_EEXIST,
           "partner DE1 already has a move effective 1970-01-01T00:00:00.000Z");
    s_move(fx->db, "NOPE", "DI1", JAN20, DN_ENOENT, "partner NOPE does not exist");
    s_move(fx->db, "DE1", "NOPE", JAN20, DN_ENOENT, "partner NOPE does not exist");
    s_move(fx->db, "DE1", "bad code", JAN20, DN_EINVAL,
           "parent 'bad code' is not a partner code");
    /* nothing of the refusals was written */
    assert_int_equal(s_int(fx->db, "SELECT count(*) FROM partner_links"), S_PARTNERS + 1);

    /* DI2 under DE2 from Feb 1 is fine: DE2 is under DI1 > R1 */
    s_move(fx->db, "DI2", "DE2", FEB1, 0, NULL);
    /* and now DE2 under DI2 from Jan 20 is fine on the 20th, a cycle from Feb 1 */
    s_move(fx->db, "DE2", "DI2", JAN20, DN_EINVAL,
           "moving DE2 under DI2 would make a cycle: DI2 is in the downline of DE2 at "
           "2026-02-01T00:00:00.000Z");
    /* with DI2's own next move on Feb 1, DI2 under DE1 from Jan 10 holds
       until then: it still meets DE1 under DI2 on the 15th */
    s_move(fx->db, "DI2", "DE1", JAN10, DN_EINVAL,
           "moving DI2 under DE1 would make a cycle: DE1 is in the downline of DI2 at "
           "2026-01-15T00:00:00.000Z");
    assert_int_equal(s_int(fx->db, "SELECT count(*) FROM partner_links"), S_PARTNERS + 2);
}

static void test_move_and_posted_sales(void **state)
{
    fixture_t *fx = *state;

    s_tree(fx->db);
    /* RS1 (under DE1) sold on Feb 10 at 10:00; DE2 (not under DE1) on Feb 12 */
    s_sale(fx->db, 1, "RS1", FEB10 + 10 * HOUR);
    s_sale(fx->db, 2, "DE2", FEB10 + 2 * DAY);
    s_sale(fx->db, 3, "UNKNOWN", FEB10 + 3 * DAY); /* a seller that is no partner */
    s_move(
        fx->db, "DE1", "DI2", FEB10, DN_EPERM,
        "a sale of RS1 recorded at 2026-02-10T10:00:00.000Z is already posted with DE1's "
        "upline of then; a move effective 2026-02-10T00:00:00.000Z would change its "
        "commissions: choose a later date");
    s_move(fx->db, "DE1", "DI2", FEB10 + 10 * HOUR, DN_EPERM, NULL); /* at it: refused */
    s_move(
        fx->db, "RS1", "DE2", FEB1, DN_EPERM,
        "a sale of RS1 recorded at 2026-02-10T10:00:00.000Z is already posted with RS1's "
        "upline of then; a move effective 2026-02-01T00:00:00.000Z would change its "
        "commissions: choose a later date");
    assert_int_equal(s_int(fx->db, "SELECT count(*) FROM partner_links"), S_PARTNERS);
    s_move(fx->db, "DE1", "DI2", FEB10 + 10 * HOUR + 1, 0, NULL);

    /* the tree then: RS1 under DE1 under DI2 -- a sale of RS1 later than
       that pins DI2's upline too, but not DI1's */
    s_sale(fx->db, 4, "RS1", FEB10 + 5 * DAY);
    s_move(
        fx->db, "DI2", "R1", FEB10 + 4 * DAY, DN_EPERM,
        "a sale of RS1 recorded at 2026-02-15T00:00:00.000Z is already posted with DI2's "
        "upline of then; a move effective 2026-02-14T00:00:00.000Z would change its "
        "commissions: choose a later date");
    s_move(fx->db, "DI1", "R2", FEB10 + 4 * DAY, 0, NULL);
}

/* -- suspensions ----------------------------------------------------------- */

static void test_suspend_resume(void **state)
{
    fixture_t *fx = *state;
    char why[256] = "";

    s_tree(fx->db);
    /* no status row: active at any time */
    assert_int_equal(s_active(fx->db, DI1, 0), 1);
    assert_int_equal(s_active(fx->db, DI1, JAN10), 1);

    assert_int_equal(dn_tree_suspend(fx->db, "DI1", JAN10, why, sizeof why),
                     0);
    assert_int_equal(s_active(fx->db, DI1, JAN10 - 1), 1);
    assert_int_equal(s_active(fx->db, DI1, JAN10), 0);
    assert_int_equal(s_active(fx->db, DI1, JAN10 + 1), 0);
    assert_int_equal(s_active(fx->db, DE1, JAN10), 1); /* its downline is not suspended */
    assert_int_equal(dn_tree_suspend(fx->db, "DI1", JAN15, why, sizeof why),
                     DN_EEXIST);
    assert_string_equal(why, "partner DI1 is already suspended (since "
                             "2026-01-10T00:00:00.000Z)");

    assert_int_equal(dn_tree_resume(fx->db, "DI1", JAN20, why, sizeof why),
                     0);
    assert_int_equal(s_active(fx->db, DI1, JAN20 - 1), 0);
    assert_int_equal(s_active(fx->db, DI1, JAN20), 1);
    assert_int_equal(s_active(fx->db, DI1, JAN10 + 1), 0); /* history stays */
    assert_int_equal(dn_tree_resume(fx->db, "DI1", FEB1, why, sizeof why),
                     DN_EEXIST);
    assert_string_equal(why, "partner DI1 is not suspended (active since "
                             "2026-01-20T00:00:00.000Z)");
    assert_int_equal(dn_tree_resume(fx->db, "R2", FEB1, why, sizeof why),
                     DN_EEXIST);
    assert_string_equal(why, "partner R2 is not suspended");
    /* a change at (or before) the last one's time */
    assert_int_equal(dn_tree_suspend(fx->db, "DI1", JAN20, why, sizeof why),
                     DN_EAGAIN);
    assert_string_equal(why,
                        "partner DI1 changed status at 2026-01-20T00:00:00.000Z, not "
                        "before now: try again later");
    assert_int_equal(dn_tree_suspend(fx->db, "NOPE", FEB1, why, sizeof why),
                     DN_ENOENT);
    assert_string_equal(why, "partner NOPE does not exist");

    /* a sale of its downline recorded after "now" (a clock ahead) */
    s_sale(fx->db, 1, "RS1", FEB10);
    assert_int_equal(dn_tree_suspend(fx->db, "DE1", FEB1, why, sizeof why),
                     DN_EPERM);
    assert_string_equal(why,
                        "a sale of RS1 recorded at 2026-02-10T00:00:00.000Z (a clock "
                        "ahead?) is already posted with DE1 active; changing that from "
                        "now would change its commissions: try again after that time");
    assert_int_equal(s_int(fx->db, "SELECT count(*) FROM partner_status"), 2);
    assert_int_equal(dn_tree_suspend(fx->db, "DE2", FEB1, why, sizeof why),
                     0);
    assert_int_equal(
        dn_tree_suspend(fx->db, "DE1", FEB10 + 1, why, sizeof why), 0);
    assert_int_equal(s_int(fx->db, "SELECT count(*) FROM partner_status"), 4);
}

/* -- the tree at a date ---------------------------------------------------- */

static void test_tree_at_dates(void **state)
{
    fixture_t *fx = *state;
    char why[256] = "";
    json_t *list = NULL;

    s_tree(fx->db);
    assert_int_equal(dn_registry_partner_add(fx->db, "ALONE", "Alone", "dealer", NULL,
                                             JAN1, why, sizeof why),
                     0);
    assert_int_equal(dn_tree_suspend(fx->db, "DE2", JAN5, why, sizeof why),
                     0);
    s_move(fx->db, "DE1", "DI2", JAN15, 0, NULL);

    {
        /* the end of Jan 14: as added, DE2 suspended */
        static const s_row_t before[] = {
            {0, "ALONE", NULL, 0}, {0, "HQ", NULL, 0},   {1, "R1", "HQ", 0},
            {2, "DI1", "R1", 0},   {3, "DE1", "DI1", 0}, {4, "RS1", "DE1", 0},
            {4, "RS2", "DE1", 0},  {3, "DE2", "DI1", 1}, {1, "R2", "HQ", 0},
            {2, "DI2", "R2", 0},
        };
        static const s_row_t after[] = {
            {0, "ALONE", NULL, 0}, {0, "HQ", NULL, 0},   {1, "R1", "HQ", 0},
            {2, "DI1", "R1", 0},   {3, "DE2", "DI1", 1}, {1, "R2", "HQ", 0},
            {2, "DI2", "R2", 0},   {3, "DE1", "DI2", 0}, {4, "RS1", "DE1", 0},
            {4, "RS2", "DE1", 0},
        };
        static const s_row_t jan4[] = {
            {0, "DI1", "R1", 0},  {1, "DE1", "DI1", 0}, {2, "RS1", "DE1", 0},
            {2, "RS2", "DE1", 0}, {1, "DE2", "DI1", 0},
        };
        static const s_row_t from_di2[] = {
            {0, "DI2", "R2", 0},
            {1, "DE1", "DI2", 0},
            {2, "RS1", "DE1", 0},
            {2, "RS2", "DE1", 0},
        };
        s_expect_tree(fx->db, NULL, JAN15 - 1, before, sizeof before / sizeof before[0]);
        s_expect_tree(fx->db, NULL, JAN15, after, sizeof after / sizeof after[0]);
        s_expect_tree(fx->db, "DI1", JAN5 - 1, jan4, sizeof jan4 / sizeof jan4[0]);
        s_expect_tree(fx->db, "DI2", JAN15, from_di2,
                      sizeof from_di2 / sizeof from_di2[0]);
    }
    /* the first row, spelled out once */
    assert_int_equal(
        dn_tree_view(fx->db, "RS1", JAN15, &list, why, sizeof why), 0);
    {
        char *text = json_dumps(list, JSON_COMPACT);
        assert_string_equal(text,
                            "[{\"tree\":\"RS1\",\"code\":\"RS1\",\"name\":\"Reseller "
                            "One\",\"kind\":\"reseller\",\"parent\":\"DE1\","
                            "\"status\":\"active\",\"depth\":0}]");
        free(text);
    }
    json_decref(list);

    assert_int_equal(
        dn_tree_view(fx->db, "NOPE", JAN15, &list, why, sizeof why),
        DN_ENOENT);
    assert_null(list);
    assert_string_equal(why, "partner NOPE does not exist");
    assert_int_equal(
        dn_tree_view(fx->db, "1x", JAN15, &list, why, sizeof why), DN_EINVAL);
    assert_string_equal(why, "partner code '1x' is not a code");
}

static void test_tree_empty(void **state)
{
    fixture_t *fx = *state;
    char why[256] = "", *text;
    json_t *list = NULL;
    assert_int_equal(dn_tree_view(fx->db, NULL, JAN1, &list, why, sizeof why),
                     0);
    text = json_dumps(list, JSON_COMPACT);
    assert_string_equal(text, "[]");
    free(text);
    json_decref(list);
}

/* -- the cached tree (dn_tree_t) ---------------------------------------------- */

typedef struct {
    int64_t ids[16];
    int n, visits, stop_after, fail;
} s_seen_t;

static int s_visit(void *arg, dn_tree_node_t *node)
{
    s_seen_t *s = arg;
    if (s->n < 16)
        s->ids[s->n++] = node->p.id;
    s->visits++;
    if (s->fail)
        return s->fail;
    return s->stop_after && s->visits == s->stop_after;
}

/*  The cached walk: the upline at a date (before and after a move), the
    status at a date, a stop asked by the visit, a visit's error, a node
    that stays put while the id table grows, a partner unknown before it
    was added, a cache that keeps what it read until dn_tree_forget, and a
    damaged file's cycle refused after DN_TREE_MAX_WALK steps.  */
/*  dn_tree_node_by_code answers from the nodes it loaded (a map by code):
    the same node as the look-up in SQL, for 1,500 partners -- past the
    map's first growth at 512 --, asked twice each; a code not in the
    registry, or not known yet at the time asked, is DN_ENOENT, also once
    its node is in the map; after dn_tree_forget the map is empty and
    answers again from SQL.  */
static void test_nodes_by_code(void **state)
{
    fixture_t *fx = *state;
    char why[256] = "", code[16];
    dn_tree_node_t *node, *again;
    dn_tree_t *tree;

    assert_int_equal(
        dn_registry_partner_add(fx->db, "TOP", "Top", "hq", NULL, JAN5, why, sizeof why), 0);
    for (int i = 0; i < 1500; i++) {
        snprintf(code, sizeof code, "P%04d", i);
        assert_int_equal(dn_registry_partner_add(fx->db, code, code, "dealer", "TOP",
                                                 JAN5 + i, why, sizeof why),
                         0);
    }
    tree = dn_tree_new(fx->db);
    assert_non_null(tree);
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 1500; i++) {
            dn_registry_partner_t p;
            snprintf(code, sizeof code, "P%04d", i);
            assert_int_equal(dn_registry_partner_get(fx->db, code, &p), 0);
            assert_int_equal(dn_tree_node_by_code(tree, code, FEB10, &node), 0);
            assert_string_equal(node->p.code, code);
            assert_int_equal(node->p.id, p.id);
            assert_int_equal(dn_tree_node(tree, p.id, &again), 0);
            assert_ptr_equal(again, node);
        }
    }
    /* P1499 was added at JAN5 + 1499 ms: unknown a millisecond before */
    assert_int_equal(dn_tree_node_by_code(tree, "P1499", JAN5 + 1498, &node), DN_ENOENT);
    assert_int_equal(dn_tree_node_by_code(tree, "P1499", JAN5 + 1499, &node), 0);
    assert_int_equal(dn_tree_node_by_code(tree, "NOBODY", FEB10, &node), DN_ENOENT);
    assert_int_equal(dn_tree_node_by_code(tree, NULL, FEB10, &node), DN_ENOENT);
    dn_tree_forget(tree);
    assert_int_equal(dn_tree_node_by_code(tree, "P0007", FEB10, &node), 0);
    assert_string_equal(node->p.code, "P0007");
    dn_tree_destroy(&tree);
}

static void test_cached_walk(void **state)
{
    fixture_t *fx = *state;
    char why[256] = "", code[8];
    dn_tree_node_t *rs1, *di1, *far, *node;
    dn_db_cache_t *cache;
    s_seen_t seen = {0};
    dn_tree_t *tree;
    int within = -1;

    /* a constructor that fails half-way destroys itself: forget and
       destroy take NULL */
    dn_tree_forget(NULL);
    tree = NULL;
    dn_tree_destroy(&tree);
    dn_tree_destroy(NULL);

    s_tree(fx->db);
    assert_int_equal(dn_tree_move(fx->db, "DE1", "R2", FEB1, why, sizeof why), 0);
    assert_int_equal(dn_tree_suspend(fx->db, "DI1", JAN10, why, sizeof why), 0);
    tree = dn_tree_new(fx->db);
    assert_non_null(tree);

    /* JAN5: RS1 > DE1 > DI1 > R1 > HQ */
    assert_int_equal(dn_tree_walk(tree, RS1, JAN5, s_visit, &seen), 0);
    assert_int_equal(seen.n, 5);
    assert_int_equal(seen.ids[0], RS1);
    assert_int_equal(seen.ids[1], DE1);
    assert_int_equal(seen.ids[2], DI1);
    assert_int_equal(seen.ids[3], R1);
    assert_int_equal(seen.ids[4], HQ);
    /* FEB10, after DE1's move: RS1 > DE1 > R2 > HQ */
    memset(&seen, 0, sizeof seen);
    assert_int_equal(dn_tree_walk(tree, RS1, FEB10, s_visit, &seen), 0);
    assert_int_equal(seen.n, 4);
    assert_int_equal(seen.ids[2], R2);
    assert_int_equal(seen.ids[3], HQ);
    /* the visit stops it after two, or ends it with its error */
    memset(&seen, 0, sizeof seen);
    seen.stop_after = 2;
    assert_int_equal(dn_tree_walk(tree, RS1, JAN5, s_visit, &seen), 0);
    assert_int_equal(seen.n, 2);
    memset(&seen, 0, sizeof seen);
    seen.fail = DN_EINVAL;
    assert_int_equal(dn_tree_walk(tree, RS1, JAN5, s_visit, &seen), DN_EINVAL);
    assert_int_equal(seen.n, 1);

    /* status at a date: DI1 suspended from JAN10 on, not a millisecond before */
    assert_int_equal(dn_tree_node(tree, DI1, &di1), 0);
    assert_int_equal(dn_tree_node_active_at(di1, JAN10 - 1), 1);
    assert_int_equal(dn_tree_node_active_at(di1, JAN10), 0);
    assert_int_equal(dn_tree_node_parent_at(di1, JAN5), R1);
    assert_int_equal(dn_tree_node_parent_at(di1, 0), R1); /* linked from 0 */

    /* a node held while the table grows past id 40 stays where it is */
    assert_int_equal(dn_tree_node(tree, RS1, &rs1), 0);
    for (int i = 10; i <= 40; i++) {
        snprintf(code, sizeof code, "P%d", i);
        assert_int_equal(dn_registry_partner_add(fx->db, code, code, "dealer", "HQ", JAN1,
                                                 why, sizeof why),
                         0);
    }
    assert_int_equal(dn_tree_node(tree, 40, &far), 0);
    assert_string_equal(far->p.code, "P40");
    assert_int_equal(dn_tree_node(tree, RS1, &node), 0);
    assert_ptr_equal(node, rs1);
    assert_string_equal(rs1->p.code, "RS1");
    assert_int_equal(dn_tree_node(tree, 0, &node), DN_ENOENT);
    assert_int_equal(dn_tree_node(tree, 999, &node), DN_ENOENT);

    /* by code: unknown before HQ added it (JAN1) */
    assert_int_equal(dn_tree_node_by_code(tree, "RS1", JAN1 - 1, &node), DN_ENOENT);
    assert_int_equal(dn_tree_node_by_code(tree, "RS1", JAN1, &node), 0);
    assert_ptr_equal(node, rs1);
    assert_int_equal(dn_tree_node_by_code(tree, "NOPE", FEB10, &node), DN_ENOENT);

    /* a damaged file: HQ under RS1 from FEB10 closes HQ > RS1 > DE1 > R2 >
       HQ.  The cache still has what it read until it forgets; then the
       walk gives up after DN_TREE_MAX_WALK + 1 visits, as does within.  */
    s_exec(fx->db, "INSERT INTO partner_links(partner_id, parent_id, effective_ms) "
                   "VALUES (1, 8, 1770681600000)"); /* FEB10 */
    memset(&seen, 0, sizeof seen);
    assert_int_equal(dn_tree_walk(tree, RS1, FEB10, s_visit, &seen), 0);
    assert_int_equal(seen.n, 4);
    dn_tree_forget(tree);
    memset(&seen, 0, sizeof seen);
    assert_int_equal(dn_tree_walk(tree, RS1, FEB10, s_visit, &seen), DN_EDB);
    assert_int_equal(seen.visits, DN_TREE_MAX_WALK + 1);
    cache = dn_db_cache_new(fx->db);
    assert_non_null(cache);
    assert_int_equal(dn_tree_within_cached(cache, RS1, R2, FEB10, &within), 0);
    assert_int_equal(within, 1);
    assert_int_equal(dn_tree_within_cached(cache, RS1, DI2, FEB10, &within), DN_EDB);
    /* a day before, no cycle: RS1 is not under DI2 */
    assert_int_equal(dn_tree_within_cached(cache, RS1, DI2, FEB10 - DAY, &within), 0);
    assert_int_equal(within, 0);
    dn_db_cache_destroy(&cache);
    dn_tree_destroy(&tree);
    assert_null(tree);
    dn_tree_destroy(&tree); /* NULL is fine */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_partner_get, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_parent_at_boundaries, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_move_refusals, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_move_and_posted_sales, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_suspend_resume, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_tree_at_dates, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_tree_empty, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_cached_walk, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_nodes_by_code, s_setup, s_teardown),
    };
    dn_log_init("test_tree", DN_LOG_QUIET, 0);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
