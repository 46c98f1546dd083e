/*  test_report -- headquarters' reports, against figures worked by hand.

    One central.db in a mkdtemp folder holds a small tree, a plan, five
    sites and five members.  The sites' events are built here with explicit
    recorded times, chained, signed per batch and applied through
    dn_ingest_batch inside BEGIN IMMEDIATE / COMMIT -- the server's real
    ingest path, which rolls up team volume and refund categories in the
    transaction that stores each event (the harness of test_ledger).  The
    reports are then asked for through dn_admin_handle, as dealernet-hq
    asks, and the JSON that comes back is checked field by field against
    figures computed by hand (the arithmetic is next to each figure).
    Nothing here is copied from the program's output.

    The tree (all from the start, except the move):

        HQ (hq)
         `- R1 (region)
             |- D1 (dealer)
             |   |- G1 (reseller; moved under D2 from 2026-02-01)
             |   `- G2 (reseller)
             `- D2 (dealer)

    Plan (CNY, from 2026-01-01): levels 0 = 800; referral: first-purchase
    bonus 5.00, 100 bps of every purchase within 365 days of the sign-up.

    Sites: S-D1 (partner D1), S-G1 (G1), S-D2 (D2); S-X (G2, added, never
    enrolled); S-R (D2, added and revoked).

    Members: M1 (+8613900000001) signs up at S-D1 referred by partner G2;
    M4 (...04) at S-D1, no referrer; M2 (...02) at S-G1 referred by M1;
    M3 (...03) and M5 (...05) at S-D2, referred by M2 and M1.

    Events (times 10:00 UTC unless said; amounts in fen):

      ev  date        site  seller chan.      member  lines                         total
      e3  2026-01-10  S-D1  D1     store      M1      rice 2 x 5990, oil 1 x 1850   13830
      e4  01-10 15:00 S-D1  D1     online     -       tea 1 x 2500                   2500
      f2  2026-01-12  S-G1  G1     community  M2      rice 3 x 5800, (none) 2 x 450 18300
      f3  2026-01-25  S-G1  G1     community  M2      oil 1 x 7900                   7900
                      -- late: synced on 02-05, after HQ moved G1 under D2
                         (recorded on 01-31, effective 02-01) --
      g2  02-03 12:00 S-D2  D2     online     M3      tea 2 x 2500                   5000
      f4  2026-02-05  S-G1  G1     community  M2      rice 2 x 5800, oil 2 x 1850   15300
      e5  2026-02-14  S-D1  D1     store      M4      rice 1 x 5990                  5990
      e6  2026-02-20  S-D1  D1     store      M1      oil 2 x 1850                   3700
      f5  2026-03-02  S-G1  refund of f4 by amount 5100
      f6  03-02 11:00 S-G1  refund of f2, line NOODLE x 2 (900)
      f7  2026-03-05  S-G1  refund of f4, line OIL-1L x 1 (1850)
      g3  2026-03-10  S-D2  G2     store      -       rice 1 x 5990                  5990

    f5 names no line: it is split over f4's categories (oil 3700, rice
    11600, nothing refunded yet) in proportion, rounding half-even on the
    running sum in category order: oil round(5100 x 3700 / 15300) =
    round(1233.33) = 1233, rice 5100 - 1233 = 3867.  f7 names OIL-1L x 1 =
    1850, and oil still has 3700 - 1233 = 2467 left, so all 1850 is oil.

    Then: every grouping of `sales`, a date range, a partner filter, the
    team volume of every partner (the late sale under D1's January team,
    f4 under D2's February team, and each March refund under the team of
    its sale), the KPIs of January and February, the top referrers and a
    referral tree, sync health at a fixed time and through the admin
    socket, the refusals, every query command on reader connections on two
    threads at once (as dn_query runs them: the same answers as on the
    writer's connection, in each thread's own language, and nothing
    written: the readers are query_only), and finally that rebuilding the
    rollups from the stored events (what dn_central_open does once after
    the migration) gives the same rollups.
*/
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "dn_admin.h"
#include "dn_central.h"
#include "dn_crypto.h"
#include "dn_db.h"
#include "dn_error.h"
#include "dn_id.h"
#include "dn_ingest.h"
#include "dn_ledger.h"
#include "dn_i18n.h"
#include "dn_log.h"
#include "dn_plan.h"
#include "dn_registry.h"
#include "dn_tree.h"
#include "dn_report.h"
#include "dn_rollup.h"
#include "dn_test_site.h"
#include "dn_time.h"
#include "dn_verify.h"
#include "dn_wire.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

#define M1 "+8613900000001"
#define M2 "+8613900000002"
#define M3 "+8613900000003"
#define M4 "+8613900000004"
#define M5 "+8613900000005"

static const char s_plan[] = "[plan]\n"
                             "effective = 2026-01-01\n"
                             "currency = CNY\n"
                             "[levels]\n"
                             "0 = 800\n"
                             "[referral]\n"
                             "first_purchase_bonus = 5.00\n"
                             "purchase_bps = 100\n"
                             "purchase_days = 365\n";

/*  The sales refunds name.  */
enum { F2, F4, N_TRACKED };

enum { S_D1, S_G1, S_D2, N_SITES };

typedef struct {
    char dir[64];
    sqlite3 *db;
    dn_ingest_t *ingest;
    dn_tk_site_t *sites[N_SITES];
    uint8_t ids[N_TRACKED][DN_ID_BYTES];
} fixture_t;

/* -- helpers ------------------------------------------------------------------- */

static int64_t s_at(const char *date, int hour)
{
    int64_t ms = 0;
    assert_int_equal(dn_time_parse_date(date, &ms), 0);
    return ms + (int64_t)hour * 3600 * 1000;
}

static void s_exec(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &err);
    if (rc != SQLITE_OK)
        print_error("SQL failed: %s: %s\n", sql, err ? err : "?");
    sqlite3_free(err);
    assert_int_equal(rc, SQLITE_OK);
}

static void s_partner(sqlite3 *db, const char *code, const char *kind, const char *parent,
                      int64_t now)
{
    char why[256] = "";
    int rc = dn_registry_partner_add(db, code, code, kind, parent, now, why, sizeof why);
    if (rc)
        print_error("partner add %s: %s\n", code, why);
    assert_int_equal(rc, 0);
}

static void s_site_add(sqlite3 *db, const char *code, const char *partner, int64_t now,
                       char token[DN_TOKEN_TEXT_LEN + 1])
{
    char why[256] = "";
    int64_t expires = 0;
    int rc =
        dn_registry_site_add(db, code, partner, now, token, &expires, why, sizeof why);
    if (rc)
        print_error("site add %s: %s\n", code, why);
    assert_int_equal(rc, 0);
}

static void s_sale(fixture_t *fx, int which, int64_t at, const char *seller,
                   Dealernet__Channel channel, const char *phone,
                   const dn_tk_line_t *lines, size_t n, int track)
{
    dn_tk_event_t e;
    assert_int_equal(dn_tk_sale(&e, seller, channel, phone, lines, n), 0);
    dn_test_site_record(fx->sites[which], &e.ev, at, track >= 0 ? fx->ids[track] : NULL);
}

/*  A refund of a tracked sale: by one line, or (sku NULL) by amount.  */
static void s_refund(fixture_t *fx, int which, int64_t at, int sale, int64_t amount,
                     const char *sku, int64_t quantity)
{
    dn_tk_event_t e;
    dn_tk_refund(&e, fx->ids[sale], amount, sku, quantity);
    dn_test_site_record(fx->sites[which], &e.ev, at, NULL);
}

static void s_signup(fixture_t *fx, int which, int64_t at, const char *phone,
                     const char *name, const char *ref_phone, const char *ref_partner)
{
    dn_tk_event_t e;
    assert_int_equal(dn_tk_signup(&e, at, phone, name, ref_phone, ref_partner), 0);
    dn_test_site_record(fx->sites[which], &e.ev, at, NULL);
}

/*  Syncs what a site has pending as one signed batch at time now.  */
static void s_sync(fixture_t *fx, int which, int64_t now)
{
    dn_tk_site_t *s = fx->sites[which];
    dn_tk_batch_t batch;
    dn_ingest_result_t r;
    int rc;

    assert_true(s->n_pending > 0);
    assert_int_equal(dn_tk_batch(s, &batch), 0);
    rc = dn_tk_ingest(fx->db, fx->ingest, &s->reg, &batch, now, &r);
    if (rc)
        print_error("batch of %s refused: %s\n", s->code, r.why);
    assert_int_equal(rc, 0);
    assert_int_equal(r.applied, (int)batch.n);
    dn_tk_batch_free(&batch);
}

/* -- the scenario ------------------------------------------------------------------ */

static void s_post_held(fixture_t *fx, const char *kind);

static int s_group_setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    int64_t setup = s_at("2025-12-15", 9);
    char why[256] = "", token[DN_TOKEN_TEXT_LEN + 1];
    dn_plan_t plan;

    assert_non_null(fx);
    *state = fx;
    snprintf(fx->dir, sizeof fx->dir, "/tmp/test_report.XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    assert_int_equal(dn_central_open(fx->dir, DN_DB_CREATE, &fx->db), 0);
    fx->ingest = dn_ingest_new(fx->db);
    assert_non_null(fx->ingest);

    s_partner(fx->db, "HQ", "hq", NULL, setup);
    s_partner(fx->db, "R1", "region", "HQ", setup);
    s_partner(fx->db, "D1", "dealer", "R1", setup);
    s_partner(fx->db, "D2", "dealer", "R1", setup);
    s_partner(fx->db, "G1", "reseller", "D1", setup);
    s_partner(fx->db, "G2", "reseller", "D1", setup);
    assert_int_equal(dn_plan_set(fx->db, s_plan, setup, &plan, why, sizeof why), 0);

    fx->sites[S_D1] = dn_test_site_enroll(fx->db, "S-D1", "D1", 0x10, setup);
    fx->sites[S_G1] = dn_test_site_enroll(fx->db, "S-G1", "G1", 0x40, setup);
    fx->sites[S_D2] = dn_test_site_enroll(fx->db, "S-D2", "D2", 0x70, setup);
    s_site_add(fx->db, "S-X", "G2", setup, token);
    s_site_add(fx->db, "S-R", "D2", setup, token);
    assert_int_equal(
        dn_registry_site_revoke(fx->db, "S-R", setup + 2000, why, sizeof why), 0);

    {
        static const dn_tk_line_t e3[] = {{"RICE-5KG", 2, 5990, "rice"},
                                          {"OIL-1L", 1, 1850, "oil"}};
        static const dn_tk_line_t e4[] = {{"TEA-250", 1, 2500, "tea"}};
        static const dn_tk_line_t f2[] = {{"RICE-5KG", 3, 5800, "rice"},
                                          {"NOODLE", 2, 450, NULL}};
        static const dn_tk_line_t f3[] = {{"OIL-5L", 1, 7900, "oil"}};
        static const dn_tk_line_t g2[] = {{"TEA-250", 2, 2500, "tea"}};
        static const dn_tk_line_t f4[] = {{"RICE-5KG", 2, 5800, "rice"},
                                          {"OIL-1L", 2, 1850, "oil"}};
        static const dn_tk_line_t e5[] = {{"RICE-5KG", 1, 5990, "rice"}};
        static const dn_tk_line_t e6[] = {{"OIL-1L", 2, 1850, "oil"}};
        static const dn_tk_line_t g3[] = {{"RICE-5KG", 1, 5990, "rice"}};
        const Dealernet__Channel store = DEALERNET__CHANNEL__CHANNEL_STORE;
        const Dealernet__Channel online = DEALERNET__CHANNEL__CHANNEL_ONLINE;
        const Dealernet__Channel group = DEALERNET__CHANNEL__CHANNEL_COMMUNITY;

        s_signup(fx, S_D1, s_at("2026-01-05", 10), M1, "M1", NULL, "G2");
        s_signup(fx, S_D1, s_at("2026-01-05", 11), M4, "M4", NULL, NULL);
        s_sale(fx, S_D1, s_at("2026-01-10", 10), "D1", store, M1, e3, N_OF(e3), -1);
        s_sale(fx, S_D1, s_at("2026-01-10", 15), "D1", online, NULL, e4, N_OF(e4), -1);
        s_sync(fx, S_D1, s_at("2026-01-10", 16));

        s_signup(fx, S_G1, s_at("2026-01-12", 10), M2, "M2", M1, NULL);
        s_sale(fx, S_G1, s_at("2026-01-12", 11), "G1", group, M2, f2, N_OF(f2), F2);
        s_sync(fx, S_G1, s_at("2026-01-12", 12));
        /* S-G1 goes offline with a sale of the 25th ...  */
        s_sale(fx, S_G1, s_at("2026-01-25", 10), "G1", group, M2, f3, N_OF(f3), -1);

        /* ... while HQ moves G1 under D2 from February on.  */
        assert_int_equal(dn_tree_move(fx->db, "G1", "D2",
                                                  s_at("2026-02-01", 0), why, sizeof why),
                         0);
        dn_ingest_forget(fx->ingest); /* as the server does after an admin command */

        s_signup(fx, S_D2, s_at("2026-02-03", 10), M3, "M3", M2, NULL);
        s_signup(fx, S_D2, s_at("2026-02-03", 11), M5, "M5", M1, NULL);
        s_sale(fx, S_D2, s_at("2026-02-03", 12), "D2", online, M3, g2, N_OF(g2), -1);
        s_sync(fx, S_D2, s_at("2026-02-03", 13));

        s_sale(fx, S_G1, s_at("2026-02-05", 10), "G1", group, M2, f4, N_OF(f4), F4);
        s_sync(fx, S_G1, s_at("2026-02-05", 12)); /* f3 arrives late, with f4 */

        s_sale(fx, S_D1, s_at("2026-02-14", 10), "D1", store, M4, e5, N_OF(e5), -1);
        s_sale(fx, S_D1, s_at("2026-02-20", 10), "D1", store, M1, e6, N_OF(e6), -1);
        s_sync(fx, S_D1, s_at("2026-02-20", 12));

        s_refund(fx, S_G1, s_at("2026-03-02", 10), F4, 5100, NULL, 0);
        s_refund(fx, S_G1, s_at("2026-03-02", 11), F2, 900, "NOODLE", 2);
        s_refund(fx, S_G1, s_at("2026-03-05", 10), F4, 1850, "OIL-1L", 1);
        s_sync(fx, S_G1, s_at("2026-03-05", 12));

        s_sale(fx, S_D2, s_at("2026-03-10", 10), "G2", store, NULL, g3, N_OF(g3), -1);
        s_sync(fx, S_D2, s_at("2026-03-10", 12));
        /* G2 is D1's, not S-D2's partner D2's: the server holds g3, the
           only exception, and HQ posts it as sold.  */
        s_post_held(fx, "seller_out_of_tree");
    }

    /* S-G1's agent says hello on 2026-03-11 at 09:00 with 2 events pending,
       the oldest recorded at 08:00; its clock runs one minute fast.  */
    {
        Dealernet__Hello hello = DEALERNET__HELLO__INIT;
        dn_ingest_state_t st;
        int64_t now = s_at("2026-03-11", 9);
        hello.has_pending = 1;
        hello.pending = 2;
        hello.has_clock_ms = 1;
        hello.clock_ms = now + 60000;
        hello.has_oldest_pending_ms = 1;
        hello.oldest_pending_ms = s_at("2026-03-11", 8) + 60000;
        assert_int_equal(
            dn_ingest_hello(fx->ingest, &fx->sites[S_G1]->reg, &hello, now, &st), 0);
    }
    return 0;
}

static int s_group_teardown(void **state)
{
    fixture_t *fx = *state;
    int rc = 0;
    if (!fx)
        return 0;
    dn_ingest_destroy(&fx->ingest);
    if (fx->db && sqlite3_close(fx->db) != SQLITE_OK)
        rc = -1;
    for (int i = 0; i < N_SITES; i++)
        dn_tk_site_destroy(&fx->sites[i]);
    if (fx->dir[0] && dn_tk_remove_tree(fx->dir) != 0)
        rc = -1;
    free(fx);
    return rc;
}

/* -- asking, as dealernet-hq asks -------------------------------------------------- */

static unsigned s_ask(fixture_t *fx, const char *command, const char *const *args,
                      json_t **result, char *error, size_t error_size);

/*  HQ posts the one open exception, which must be a held sale of kind.  */
static void s_post_held(fixture_t *fx, const char *kind)
{
    json_t *list = NULL, *done = NULL;
    char error[256] = "";
    assert_int_equal(s_ask(fx, "exception.list", NULL, &list, error, sizeof error), 0);
    assert_int_equal(json_array_size(list), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "kind")),
                        kind);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 0), "id")), 1);
    json_decref(list);
    assert_int_equal(s_ask(fx, "exception.resolve",
                           (const char *const[]){"id", "1", "post", "1", "reason",
                                                 "sold at a sister dealer's shop", NULL},
                           &done, error, sizeof error),
                     0);
    assert_int_equal(json_integer_value(json_object_get(done, "posted")), 1);
    json_decref(done);
    dn_ingest_forget(fx->ingest); /* as the server does after an admin command */
}

/*  Sends command with (name, value) pairs (a NULL name ends them) through
    dn_admin_handle; returns the status and sets *result (status 0) or
    copies the error into error.  */
static unsigned s_ask(fixture_t *fx, const char *command, const char *const *args,
                      json_t **result, char *error, size_t error_size)
{
    Dealernet__AdminRequest req = DEALERNET__ADMIN_REQUEST__INIT;
    Dealernet__AdminArg arg[8], *ptr[8];
    Dealernet__AdminReply *msg = NULL;
    uint8_t *bytes = NULL, *out = NULL;
    size_t len = 0, out_len = 0;
    char why[DN_WHY_SIZE];
    unsigned status;

    req.has_protocol = 1;
    req.protocol = DN_PROTOCOL_VERSION;
    req.command = (char *)command;
    for (size_t i = 0; args && args[2 * i]; i++) {
        assert_true(i < N_OF(arg));
        dealernet__admin_arg__init(&arg[i]);
        arg[i].name = (char *)args[2 * i];
        arg[i].value = (char *)args[2 * i + 1];
        ptr[i] = &arg[i];
        req.n_args++;
    }
    req.args = ptr;
    assert_int_equal(dn_wire_admin_request_pack(&req, &bytes, &len, why, sizeof why), 0);
    assert_int_equal(dn_admin_handle(fx->db, "hq", bytes, len, &out, &out_len), 0);
    free(bytes);
    assert_int_equal(dn_wire_admin_reply_unpack(out, out_len, &msg, why, sizeof why), 0);
    free(out);
    status = msg->status;
    *result = NULL;
    if (error)
        snprintf(error, error_size, "%s", msg->error ? msg->error : "");
    if (status == 0) {
        json_error_t jerr;
        *result = json_loads(msg->result, 0, &jerr);
        assert_non_null(*result);
    }
    dn_wire_admin_reply_free(&msg);
    return status;
}

/*  As s_ask, for a call that must succeed with an array.  */
static json_t *s_report(fixture_t *fx, const char *command, const char *const *args)
{
    char error[512] = "";
    json_t *result = NULL;
    unsigned status = s_ask(fx, command, args, &result, error, sizeof error);
    if (status)
        print_error("%s: status %u: %s\n", command, status, error);
    assert_int_equal(status, 0);
    assert_true(json_is_array(result));
    return result;
}

static void s_str_eq(const json_t *row, const char *key, const char *want)
{
    const json_t *v = json_object_get(row, key);
    if (!want) {
        if (!json_is_null(v))
            print_error("%s: expected null\n", key);
        assert_true(json_is_null(v));
        return;
    }
    if (!json_is_string(v) || strcmp(json_string_value(v), want) != 0)
        print_error("%s: expected '%s', got '%s'\n", key, want,
                    json_is_string(v) ? json_string_value(v) : "(not a string)");
    assert_true(json_is_string(v));
    assert_string_equal(json_string_value(v), want);
}

static void s_int_eq(const json_t *row, const char *key, long long want)
{
    const json_t *v = json_object_get(row, key);
    if (!json_is_integer(v) || json_integer_value(v) != want)
        print_error("%s: expected %lld, got %lld\n", key, want,
                    json_is_integer(v) ? (long long)json_integer_value(v) : -999LL);
    assert_true(json_is_integer(v));
    assert_int_equal(json_integer_value(v), want);
}

/*  key_minor holds the CNY amount want ("425.30", "-18.60") in fen: its
    digits without the point (42530, -1860).  */
static void s_minor_eq(const json_t *row, const char *key, const char *want)
{
    char name[64], digits[32];
    size_t n = 0;
    for (const char *p = want; *p && n + 1 < sizeof digits; p++)
        if (*p != '.')
            digits[n++] = *p;
    digits[n] = '\0';
    snprintf(name, sizeof name, "%s_minor", key);
    s_int_eq(row, name, strtoll(digits, NULL, 10));
}

/*  One expected row of `sales`: the group (NULL: null), counts, money.  */
typedef struct {
    const char *key;
    long long sales;
    const char *total;
    long long refunds;
    const char *refunded;
    const char *net;
} srow_t;

static void s_check_sales(const json_t *list, const char *key_name, const char *partner,
                          const srow_t *want, size_t n)
{
    if (json_array_size(list) != n)
        print_error("%zu rows, expected %zu\n", json_array_size(list), n);
    assert_int_equal(json_array_size(list), n);
    for (size_t i = 0; i < n; i++) {
        const json_t *row = json_array_get(list, i);
        /* the columns, in their order */
        static const char *const plain[] = {
            "currency", "sales",    "total",          "total_minor",
            "refunds",  "refunded", "refunded_minor", "net",
            "net_minor"};
        const char *key;
        json_t *value;
        size_t col = 0;
        json_object_foreach((json_t *)row, key, value)
        {
            const char *expect = col == 0 ? key_name
                                 : partner && col == 1
                                     ? "partner"
                                     : plain[col - 1 - (partner ? 1 : 0)];
            assert_string_equal(key, expect);
            col++;
        }
        assert_int_equal(col, 10 + (partner ? 1 : 0));
        s_str_eq(row, key_name, want[i].key);
        if (partner)
            s_str_eq(row, "partner", partner);
        s_str_eq(row, "currency", "CNY");
        s_int_eq(row, "sales", want[i].sales);
        s_str_eq(row, "total", want[i].total);
        s_int_eq(row, "refunds", want[i].refunds);
        s_str_eq(row, "refunded", want[i].refunded);
        s_str_eq(row, "net", want[i].net);
        /* each amount again in fen beside its text (README, "Reports") */
        s_minor_eq(row, "total", want[i].total);
        s_minor_eq(row, "refunded", want[i].refunded);
        s_minor_eq(row, "net", want[i].net);
    }
}

/* -- sales ------------------------------------------------------------------------- */

static void test_sales_by_month(void **state)
{
    fixture_t *fx = *state;
    /* Jan: e3 13830 + e4 2500 + f2 18300 + f3 7900 = 42530, 4 sales.
       Feb: g2 5000 + f4 15300 + e5 5990 + e6 3700 = 29990, 4 sales.
       Mar: g3 5990, 1 sale; refunds f5 5100 + f6 900 + f7 1850 = 7850, 3;
            net 5990 - 7850 = -1860.  */
    static const srow_t want[] = {
        {"2026-01", 4, "425.30", 0, "0.00", "425.30"},
        {"2026-02", 4, "299.90", 0, "0.00", "299.90"},
        {"2026-03", 1, "59.90", 3, "78.50", "-18.60"},
    };
    json_t *list = s_report(fx, "report.sales", NULL);
    s_check_sales(list, "month", NULL, want, N_OF(want));
    json_decref(list);
    /* --by month says the same */
    list = s_report(fx, "report.sales", (const char *[]){"by", "month", NULL});
    s_check_sales(list, "month", NULL, want, N_OF(want));
    json_decref(list);
}

static void test_sales_by_partner_site_channel(void **state)
{
    fixture_t *fx = *state;
    /* D1: e3 13830 + e4 2500 + e5 5990 + e6 3700 = 26020, 4 sales.
       D2: g2 5000.  G1: f2 18300 + f3 7900 + f4 15300 = 41500, 3 sales;
       refunds f5, f6, f7 = 7850; net 41500 - 7850 = 33650.  G2: g3 5990.  */
    static const srow_t partners[] = {
        {"D1", 4, "260.20", 0, "0.00", "260.20"},
        {"D2", 1, "50.00", 0, "0.00", "50.00"},
        {"G1", 3, "415.00", 3, "78.50", "336.50"},
        {"G2", 1, "59.90", 0, "0.00", "59.90"},
    };
    /* S-D1: the four D1 sales, 26020.  S-D2: g2 5000 + g3 5990 = 10990.
       S-G1: as G1.  */
    static const srow_t sites[] = {
        {"S-D1", 4, "260.20", 0, "0.00", "260.20"},
        {"S-D2", 2, "109.90", 0, "0.00", "109.90"},
        {"S-G1", 3, "415.00", 3, "78.50", "336.50"},
    };
    /* store: e3 13830 + e5 5990 + e6 3700 + g3 5990 = 29510, 4.
       online: e4 2500 + g2 5000 = 7500, 2.  community: f2, f3, f4 as G1.
       In the order store, online, community.  */
    static const srow_t channels[] = {
        {"store", 4, "295.10", 0, "0.00", "295.10"},
        {"online", 2, "75.00", 0, "0.00", "75.00"},
        {"community", 3, "415.00", 3, "78.50", "336.50"},
    };
    json_t *list = s_report(fx, "report.sales", (const char *[]){"by", "partner", NULL});
    s_check_sales(list, "partner", NULL, partners, N_OF(partners));
    json_decref(list);
    list = s_report(fx, "report.sales", (const char *[]){"by", "site", NULL});
    s_check_sales(list, "site", NULL, sites, N_OF(sites));
    json_decref(list);
    list = s_report(fx, "report.sales", (const char *[]){"by", "channel", NULL});
    s_check_sales(list, "channel", NULL, channels, N_OF(channels));
    json_decref(list);
}

static void test_sales_by_day(void **state)
{
    fixture_t *fx = *state;
    /* Refunds count on their own day: f5 and f6 on 03-02 (5100 + 900 =
       6000), f7 on 03-05.  */
    static const srow_t want[] = {
        {"2026-01-10", 2, "163.30", 0, "0.00", "163.30"}, /* 13830 + 2500 */
        {"2026-01-12", 1, "183.00", 0, "0.00", "183.00"},
        {"2026-01-25", 1, "79.00", 0, "0.00", "79.00"},
        {"2026-02-03", 1, "50.00", 0, "0.00", "50.00"},
        {"2026-02-05", 1, "153.00", 0, "0.00", "153.00"},
        {"2026-02-14", 1, "59.90", 0, "0.00", "59.90"},
        {"2026-02-20", 1, "37.00", 0, "0.00", "37.00"},
        {"2026-03-02", 0, "0.00", 2, "60.00", "-60.00"},
        {"2026-03-05", 0, "0.00", 1, "18.50", "-18.50"},
        {"2026-03-10", 1, "59.90", 0, "0.00", "59.90"},
    };
    json_t *list = s_report(fx, "report.sales", (const char *[]){"by", "day", NULL});
    s_check_sales(list, "day", NULL, want, N_OF(want));
    json_decref(list);
}

static void test_sales_by_category(void **state)
{
    fixture_t *fx = *state;
    /* A sale counts once in each category it has lines in.
       (none): f2 NOODLE 2 x 450 = 900; refund f6 900; net 0.
       oil:  e3 1850 + f3 7900 + f4 3700 + e6 3700 = 17150, 4 sales;
             refunds f5 1233 + f7 1850 = 3083, 2; net 14067.
       rice: e3 11980 + f2 17400 + f4 11600 + e5 5990 + g3 5990 = 52960,
             5 sales; refund f5 3867; net 49093.
       tea:  e4 2500 + g2 5000 = 7500, 2.
       Totals: 900 + 17150 + 52960 + 7500 = 78510 = 42530 + 29990 + 5990;
       refunds 900 + 3083 + 3867 = 7850.  */
    static const srow_t want[] = {
        {NULL, 1, "9.00", 1, "9.00", "0.00"},
        {"oil", 4, "171.50", 2, "30.83", "140.67"},
        {"rice", 5, "529.60", 1, "38.67", "490.93"},
        {"tea", 2, "75.00", 0, "0.00", "75.00"},
    };
    json_t *list = s_report(fx, "report.sales", (const char *[]){"by", "category", NULL});
    s_check_sales(list, "category", NULL, want, N_OF(want));
    json_decref(list);
}

static void test_sales_range_and_partner(void **state)
{
    fixture_t *fx = *state;
    /* 2026-02-01 .. 2026-03-02 (its whole day): February as a whole;
       in March only f5 and f6 (5100 + 900), not f7 (03-05) nor g3 (03-10).  */
    static const srow_t range[] = {
        {"2026-02", 4, "299.90", 0, "0.00", "299.90"},
        {"2026-03", 0, "0.00", 2, "60.00", "-60.00"},
    };
    /* G1's own sales: Jan f2 18300 + f3 7900 = 26200; Feb f4 15300; Mar the
       three refunds of its sales, 7850.  */
    static const srow_t g1[] = {
        {"2026-01", 2, "262.00", 0, "0.00", "262.00"},
        {"2026-02", 1, "153.00", 0, "0.00", "153.00"},
        {"2026-03", 0, "0.00", 3, "78.50", "-78.50"},
    };
    json_t *list =
        s_report(fx, "report.sales",
                 (const char *[]){"from", "2026-02-01", "to", "2026-03-02", NULL});
    s_check_sales(list, "month", NULL, range, N_OF(range));
    json_decref(list);
    list = s_report(fx, "report.sales", (const char *[]){"partner", "G1", NULL});
    s_check_sales(list, "month", NULL, g1, N_OF(g1));
    json_decref(list);
}

/* -- team volume -------------------------------------------------------------------- */

static json_t *s_team(fixture_t *fx, const char *partner)
{
    return s_report(fx, "report.sales",
                    (const char *[]){"partner", partner, "team", "1", NULL});
}

static void test_team_volume(void **state)
{
    fixture_t *fx = *state;
    /* HQ and R1 head everyone: their team is the whole network, month by
       month (test_sales_by_month).  */
    static const srow_t all[] = {
        {"2026-01", 4, "425.30", 0, "0.00", "425.30"},
        {"2026-02", 4, "299.90", 0, "0.00", "299.90"},
        {"2026-03", 1, "59.90", 3, "78.50", "-18.60"},
    };
    /* D1: Jan e3 13830 + e4 2500 + G1's f2 18300 + G1's late f3 7900 (G1
       was under D1 on the 25th, whenever the sale arrived) = 42530, 4;
       Feb e5 5990 + e6 3700 = 9690, 2 (G1's f4 is D2's);
       Mar G2's g3 5990, 1; refund f6 900 of f2, a January sale of D1's
       team, 1; net 5990 - 900 = 5090.  */
    static const srow_t d1[] = {
        {"2026-01", 4, "425.30", 0, "0.00", "425.30"},
        {"2026-02", 2, "96.90", 0, "0.00", "96.90"},
        {"2026-03", 1, "59.90", 1, "9.00", "50.90"},
    };
    /* D2: no January.  Feb g2 5000 + G1's f4 15300 = 20300, 2;
       Mar refunds f5 5100 + f7 1850 of f4 = 6950, 2; net -6950.  */
    static const srow_t d2[] = {
        {"2026-02", 2, "203.00", 0, "0.00", "203.00"},
        {"2026-03", 0, "0.00", 2, "69.50", "-69.50"},
    };
    /* G1 alone: as its own sales (test_sales_range_and_partner).  */
    static const srow_t g1[] = {
        {"2026-01", 2, "262.00", 0, "0.00", "262.00"},
        {"2026-02", 1, "153.00", 0, "0.00", "153.00"},
        {"2026-03", 0, "0.00", 3, "78.50", "-78.50"},
    };
    static const srow_t g2[] = {
        {"2026-03", 1, "59.90", 0, "0.00", "59.90"},
    };
    /* D1 from 2026-02-10 to 2026-03-31: the months February and March.  */
    json_t *list = s_team(fx, "HQ");
    s_check_sales(list, "month", "HQ", all, N_OF(all));
    json_decref(list);
    list = s_team(fx, "R1");
    s_check_sales(list, "month", "R1", all, N_OF(all));
    json_decref(list);
    list = s_team(fx, "D1");
    s_check_sales(list, "month", "D1", d1, N_OF(d1));
    json_decref(list);
    list = s_team(fx, "D2");
    s_check_sales(list, "month", "D2", d2, N_OF(d2));
    json_decref(list);
    list = s_team(fx, "G1");
    s_check_sales(list, "month", "G1", g1, N_OF(g1));
    json_decref(list);
    list = s_team(fx, "G2");
    s_check_sales(list, "month", "G2", g2, N_OF(g2));
    json_decref(list);
    list = s_report(fx, "report.sales",
                    (const char *[]){"partner", "D1", "team", "1", "by", "month", "from",
                                     "2026-02-10", "to", "2026-03-31", NULL});
    s_check_sales(list, "month", "D1", d1 + 1, 2);
    json_decref(list);
}

/*  The rollup rows themselves: one per partner, month and currency that
    had anything; 4 (HQ, R1) x 3 months + D1 x 3 + D2 x 2 + G1 x 3 + G2 x 1
    = 6 + 3 + 2 + 3 + 1 = 15.  And the split of each refund.  */
static void test_rollup_rows(void **state)
{
    fixture_t *fx = *state;
    sqlite3_stmt *stmt;
    static const struct {
        const char *category;
        int64_t amount;
    } split[] = {{"oil", 1233},
                 {"rice", 3867}, /* f5 */
                 {"", 900},      /* f6 */
                 {"oil", 1850}}; /* f7 */
    size_t n = 0;

    assert_int_equal(
        sqlite3_prepare_v2(fx->db, "SELECT count(*) FROM team_volume", -1, &stmt, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int64(stmt, 0), 15);
    sqlite3_finalize(stmt);
    assert_int_equal(sqlite3_prepare_v2(fx->db,
                                        "SELECT category, amount FROM refund_categories "
                                        "ORDER BY refund_eid, category",
                                        -1, &stmt, NULL),
                     SQLITE_OK);
    while (sqlite3_step(stmt) == SQLITE_ROW) {
        assert_true(n < N_OF(split));
        assert_string_equal((const char *)sqlite3_column_text(stmt, 0),
                            split[n].category);
        assert_int_equal(sqlite3_column_int64(stmt, 1), split[n].amount);
        n++;
    }
    sqlite3_finalize(stmt);
    assert_int_equal(n, N_OF(split));
}

/* -- kpi ------------------------------------------------------------------------------
 */

typedef struct {
    const char *partner;
    long long fresh, active, repeat, referrers, purchases;
    const char *sales;
    const char *share;
} krow_t;

static void s_check_kpi(const json_t *list, const char *period, const krow_t *want,
                        size_t n)
{
    assert_int_equal(json_array_size(list), n);
    for (size_t i = 0; i < n; i++) {
        const json_t *row = json_array_get(list, i);
        assert_int_equal(json_object_size(row), 11);
        s_str_eq(row, "partner", want[i].partner);
        s_str_eq(row, "period", period);
        s_int_eq(row, "new_members", want[i].fresh);
        s_int_eq(row, "active_members", want[i].active);
        s_int_eq(row, "repeat_buyers", want[i].repeat);
        s_int_eq(row, "referrers", want[i].referrers);
        s_int_eq(row, "purchases", want[i].purchases);
        s_str_eq(row, "sales", want[i].sales);
        s_minor_eq(row, "sales", want[i].sales);
        s_str_eq(row, "share", want[i].share);
        s_str_eq(row, "currency", "CNY");
    }
}

static void test_kpi(void **state)
{
    fixture_t *fx = *state;
    /* Members belong to: M1 G2 (its partner referrer), M4 D1 (site S-D1),
       M2 G1 (site S-G1; its referrer is a member), M3 and M5 D2 (S-D2).
       January: sales 42530 in all.
         G2: M1 signed up (1), bought e3 (1 active, 1 purchase, 13830),
             referred M2 who signed up on 01-12 (1 referrer);
             share 13830 / 42530 = 0.32518 -> 32.52 %.
         D1: M4 signed up (1), bought nothing in January.
         G1: M2 signed up (1), bought f2 and f3 (active, repeat: 2
             purchases, 18300 + 7900 = 26200); its referral (M3) is
             February's; share 26200 / 42530 = 0.61604 -> 61.60 %.
         (e4, 2500, was sold to no member: 5.88 % is nobody's.)  */
    static const krow_t jan[] = {
        {"D1", 1, 0, 0, 0, 0, "0.00", "0.00"},
        {"D2", 0, 0, 0, 0, 0, "0.00", "0.00"},
        {"G1", 1, 1, 1, 0, 2, "262.00", "61.60"},
        {"G2", 1, 1, 0, 1, 1, "138.30", "32.52"},
        {"HQ", 0, 0, 0, 0, 0, "0.00", "0.00"},
        {"R1", 0, 0, 0, 0, 0, "0.00", "0.00"},
    };
    /* February: sales 29990, all to members.
         D1: M4 bought e5 5990: 5990 / 29990 = 0.199733 -> 19.97 %.
         D2: M3 and M5 signed up (2); M3 bought g2 5000:
             5000 / 29990 = 0.166722 -> 16.67 %.
         G1: M2 bought f4 15300 (active, not repeat); M2 referred M3 who
             signed up on 02-03 (1 referrer): 15300 / 29990 = 0.510170
             -> 51.02 %.
         G2: M1 bought e6 3700; M1 referred M5 on 02-03 (1 referrer):
             3700 / 29990 = 0.123374 -> 12.34 %.
         19.97 + 16.67 + 51.02 + 12.34 = 100.00.  */
    static const krow_t feb[] = {
        {"D1", 0, 1, 0, 0, 1, "59.90", "19.97"},  {"D2", 2, 1, 0, 0, 1, "50.00", "16.67"},
        {"G1", 0, 1, 0, 1, 1, "153.00", "51.02"}, {"G2", 0, 1, 0, 1, 1, "37.00", "12.34"},
        {"HQ", 0, 0, 0, 0, 0, "0.00", "0.00"},    {"R1", 0, 0, 0, 0, 0, "0.00", "0.00"},
    };
    /* April: no sale at all; shares are 0.00.  */
    static const krow_t g1_april[] = {{"G1", 0, 0, 0, 0, 0, "0.00", "0.00"}};

    json_t *list =
        s_report(fx, "report.kpi", (const char *[]){"period", "2026-01", NULL});
    s_check_kpi(list, "2026-01", jan, N_OF(jan));
    json_decref(list);
    list = s_report(fx, "report.kpi", (const char *[]){"period", "2026-02", NULL});
    s_check_kpi(list, "2026-02", feb, N_OF(feb));
    json_decref(list);
    list = s_report(fx, "report.kpi",
                    (const char *[]){"partner", "G2", "period", "2026-02", NULL});
    s_check_kpi(list, "2026-02", &feb[3], 1);
    json_decref(list);
    list = s_report(fx, "report.kpi",
                    (const char *[]){"partner", "G1", "period", "2026-04", NULL});
    s_check_kpi(list, "2026-04", g1_april, 1);
    json_decref(list);
}

/* -- referrals --------------------------------------------------------------------- */

static void test_referrals_top(void **state)
{
    fixture_t *fx = *state;
    /* Referral rewards (plan: 5.00 on a first purchase, 1 % of each):
         G2 (M1's referrer): e3 500 + round(138.30) = 500 + 138 = 638;
             e6 37; total 675.
         M1 (M2's referrer): f2 500 + 183 = 683; f3 79; f4 153 -> 915;
             clawbacks: f5 153 x 5100 / 15300 = 51, f6 183 x 900 / 18300 =
             9 (the bonus stays: f2 is not wholly refunded), f7 153 x 1850 /
             15300 = 18.5 -> 18 (half-even); 915 - 51 - 9 - 18 = 837.
         M2 (M3's referrer): g2 500 + 50 = 550.
       M1 referred two (M2, M5); their purchases: M2's f2, f3, f4 = 41500.
       G2 referred M1: e3 + e6 = 13830 + 3700 = 17530.
       M2 referred M3: g2 5000.
       By referred, then rewards: M1 (2), G2 (6.75), M2 (5.50).  */
    static const struct {
        const char *referrer, *kind, *name;
        long long referred, purchases;
        const char *total, *rewards;
    } want[] = {
        {M1, "member", "M1", 2, 3, "415.00", "8.37"},
        {"G2", "partner", "G2", 1, 2, "175.30", "6.75"},
        {M2, "member", "M2", 1, 1, "50.00", "5.50"},
    };
    json_t *list = s_report(fx, "report.referrals", NULL);
    assert_int_equal(json_array_size(list), N_OF(want));
    for (size_t i = 0; i < N_OF(want); i++) {
        const json_t *row = json_array_get(list, i);
        assert_int_equal(json_object_size(row), 10);
        s_str_eq(row, "referrer", want[i].referrer);
        s_str_eq(row, "kind", want[i].kind);
        s_str_eq(row, "name", want[i].name);
        s_int_eq(row, "referred", want[i].referred);
        s_int_eq(row, "purchases", want[i].purchases);
        s_str_eq(row, "purchases_total", want[i].total);
        s_str_eq(row, "rewards", want[i].rewards);
        s_minor_eq(row, "purchases_total", want[i].total);
        s_minor_eq(row, "rewards", want[i].rewards);
        s_str_eq(row, "currency", "CNY");
    }
    json_decref(list);
    list = s_report(fx, "report.referrals", (const char *[]){"top", "2", NULL});
    assert_int_equal(json_array_size(list), 2);
    s_str_eq(json_array_get(list, 1), "referrer", "G2");
    json_decref(list);
}

static void test_referral_tree(void **state)
{
    fixture_t *fx = *state;
    /* M1's tree, depth first, children by phone: M1, M2 (...02), M3 (M2's),
       M5 (...05).
         earned: what was credited to the member (test_referrals_top):
             M1 8.37, M2 5.50, M3 and M5 nothing.
         generated: what its own purchases paid its referrer:
             M1 -> G2 6.75; M2 -> M1 8.37; M3 -> M2 5.50; M5 none.
         earned(M1) = generated(M2) + generated(M5); earned(M2) =
         generated(M3).
         purchases: M1 e3 + e6 = 17530 (2); M2 41500 (3); M3 g2 5000 (1).  */
    static const struct {
        const char *tree, *phone, *name;
        int depth;
        const char *referrer, *signed_up, *site;
        long long referred, purchases;
        const char *total, *earned, *generated;
    } want[] = {
        {M1, M1, "M1", 0, "G2", "2026-01-05T10:00:00.000Z", "S-D1", 2, 2, "175.30",
         "8.37", "6.75"},
        {"  " M2, M2, "M2", 1, M1, "2026-01-12T10:00:00.000Z", "S-G1", 1, 3, "415.00",
         "5.50", "8.37"},
        {"    " M3, M3, "M3", 2, M2, "2026-02-03T10:00:00.000Z", "S-D2", 0, 1, "50.00",
         "0.00", "5.50"},
        {"  " M5, M5, "M5", 1, M1, "2026-02-03T11:00:00.000Z", "S-D2", 0, 0, "0.00",
         "0.00", "0.00"},
    };
    /* the phone is normalised on the way in */
    json_t *list = s_report(fx, "report.referrals",
                            (const char *[]){"member", "+86 139-0000-0001", NULL});
    assert_int_equal(json_array_size(list), N_OF(want));
    for (size_t i = 0; i < N_OF(want); i++) {
        const json_t *row = json_array_get(list, i);
        assert_int_equal(json_object_size(row), 16);
        s_str_eq(row, "tree", want[i].tree);
        s_str_eq(row, "phone", want[i].phone);
        s_str_eq(row, "name", want[i].name);
        s_int_eq(row, "depth", want[i].depth);
        s_str_eq(row, "referrer", want[i].referrer);
        s_str_eq(row, "signed_up", want[i].signed_up);
        s_str_eq(row, "site", want[i].site);
        s_int_eq(row, "referred", want[i].referred);
        s_int_eq(row, "purchases", want[i].purchases);
        s_str_eq(row, "purchases_total", want[i].total);
        s_str_eq(row, "earned", want[i].earned);
        s_str_eq(row, "generated", want[i].generated);
        s_minor_eq(row, "purchases_total", want[i].total);
        s_minor_eq(row, "earned", want[i].earned);
        s_minor_eq(row, "generated", want[i].generated);
        s_str_eq(row, "currency", "CNY");
    }
    json_decref(list);
}

/* -- sites --------------------------------------------------------------------------- */

static void test_sites_at(void **state)
{
    fixture_t *fx = *state;
    int64_t now = s_at("2026-03-11", 10);
    /* At 2026-03-11 10:00:
         S-X: never seen, added 2025-12-15 09:00: 86 days (Dec 15 -> Mar 11:
              16 + 31 + 28 + 11) and 1 h = 86 x 86400000 + 3600000 =
              7434000000 ms -> silent, first.
         S-D1: last batch 02-20 12:00: 18 d 22 h = 1555200000 + 79200000 =
              1634400000 ms -> silent.
         S-D2: last batch 03-10 12:00: 22 h = 79200000 ms -> ok.
         S-G1: hello at 09:00 (1 h = 3600000 ms) with 2 pending, the oldest
              at 08:01 on its clock, one minute fast: 08:00 on the server's;
              lag 2 h = 7200000 ms.
         S-R: revoked, last, whatever its silence (7434000000 ms).  */
    static const struct {
        const char *site, *partner, *state, *last_seen, *silent_for;
        long long silent_ms;
    } want[] = {
        {"S-X", "G2", "silent", NULL, "86d 01h", 7434000000LL},
        {"S-D1", "D1", "silent", "2026-02-20T12:00:00.000Z", "18d 22h", 1634400000LL},
        {"S-D2", "D2", "ok", "2026-03-10T12:00:00.000Z", "22h 00m", 79200000LL},
        {"S-G1", "G1", "ok", "2026-03-11T09:00:00.000Z", "1h 00m", 3600000LL},
        {"S-R", "D2", "revoked", NULL, "86d 01h", 7434000000LL},
    };
    json_t *list = NULL;
    assert_int_equal(dn_report_sites(fx->db, now, &list), 0);
    assert_int_equal(json_array_size(list), N_OF(want));
    for (size_t i = 0; i < N_OF(want); i++) {
        const json_t *row = json_array_get(list, i);
        int g1 = strcmp(want[i].site, "S-G1") == 0;
        assert_int_equal(json_object_size(row), 10);
        s_str_eq(row, "site", want[i].site);
        s_str_eq(row, "partner", want[i].partner);
        s_str_eq(row, "state", want[i].state);
        s_str_eq(row, "last_seen", want[i].last_seen);
        s_str_eq(row, "silent_for", want[i].silent_for);
        s_int_eq(row, "silent_ms", want[i].silent_ms);
        if (g1) {
            s_int_eq(row, "pending", 2);
            s_str_eq(row, "oldest_pending", "2026-03-11T08:00:00.000Z");
            s_str_eq(row, "lag", "2h 00m");
            s_int_eq(row, "lag_ms", 7200000);
        } else {
            /* no Hello from the others: nothing reported pending */
            assert_true(json_is_null(json_object_get(row, "pending")));
            s_str_eq(row, "oldest_pending", NULL);
            s_str_eq(row, "lag", NULL);
            assert_true(json_is_null(json_object_get(row, "lag_ms")));
        }
    }
    json_decref(list);
}

/*  Through the admin socket the server's clock is now: the fields that do
    not depend on it are as above, and the lag is now - 08:00.  */
static void test_sites_admin(void **state)
{
    fixture_t *fx = *state;
    int64_t oldest = s_at("2026-03-11", 8), before = dn_time_now_ms(), after;
    json_t *list = s_report(fx, "report.sites", NULL), *row, *g1 = NULL;
    size_t i;

    after = dn_time_now_ms();
    assert_int_equal(json_array_size(list), 5);
    s_str_eq(json_array_get(list, 4), "site", "S-R");
    s_str_eq(json_array_get(list, 4), "state", "revoked");
    json_array_foreach(list, i, row)
    {
        if (strcmp(json_string_value(json_object_get(row, "site")), "S-G1") == 0)
            g1 = row;
    }
    assert_non_null(g1);
    s_int_eq(g1, "pending", 2);
    s_str_eq(g1, "oldest_pending", "2026-03-11T08:00:00.000Z");
    if (before > oldest) {
        int64_t lag = json_integer_value(json_object_get(g1, "lag_ms"));
        assert_true(lag >= before - oldest && lag <= after - oldest);
    }
    json_decref(list);
}

/* -- refusals ---------------------------------------------------------------------- */

static void s_refused(fixture_t *fx, const char *command, const char *const *args,
                      unsigned status, const char *error)
{
    char got[512] = "";
    json_t *result = NULL;
    unsigned rc = s_ask(fx, command, args, &result, got, sizeof got);
    if (rc != status || strcmp(got, error) != 0)
        print_error("%s: got %u '%s'\n", command, rc, got);
    assert_int_equal(rc, status);
    assert_string_equal(got, error);
    assert_null(result);
}

static void test_refusals(void **state)
{
    fixture_t *fx = *state;
    s_refused(fx, "report.sales", (const char *[]){"by", "week", NULL}, 64,
              "--by 'week' is not one of partner, site, channel, day, month, category");
    s_refused(fx, "report.sales", (const char *[]){"team", "1", NULL}, 64,
              "--team needs --partner CODE: the partner whose team it is");
    s_refused(fx, "report.sales",
              (const char *[]){"team", "1", "partner", "D1", "by", "partner", NULL}, 64,
              "--team --by partner lists every partner's team: leave out --partner");
    s_refused(fx, "report.sales",
              (const char *[]){"team", "1", "partner", "D1", "by", "day", NULL}, 64,
              "team volume is kept by month: --team goes with --by month (or with --by partner, for every partner)");
    s_refused(fx, "report.sales", (const char *[]){"partner", "NOPE", NULL}, 66,
              "partner NOPE does not exist");
    s_refused(fx, "report.sales",
              (const char *[]){"from", "2026-03-01", "to", "2026-02-01", NULL}, 64,
              "--from is after --to");
    s_refused(fx, "report.sales", (const char *[]){"from", "2026-02-30", NULL}, 64,
              "from '2026-02-30' is not a date (YYYY-MM-DD)");
    s_refused(fx, "report.kpi", (const char *[]){"period", "2026-13", NULL}, 64,
              "period '2026-13' is not a month (YYYY-MM)");
    s_refused(fx, "report.kpi", (const char *[]){"partner", "NOPE", NULL}, 66,
              "partner NOPE does not exist");
    s_refused(fx, "report.referrals", (const char *[]){"top", "0", NULL}, 64,
              "--top '0' is not a number from 1 to 1000");
    s_refused(fx, "report.referrals", (const char *[]){"member", "12ab", NULL}, 64,
              "'12ab' is not a phone number: 'a' is not a digit, a space, '-', '.', '(', "
              "')' or a leading '+'");
    s_refused(fx, "report.referrals", (const char *[]){"member", "+8613900000009", NULL},
              66, "no member with phone +8613900000009");
    s_refused(fx, "report.sites", (const char *[]){"at", "2026-01-01", NULL}, 64,
              "unknown argument 'at' for report.sites");
}

/* -- the ledger is untouched, and the rollups rebuild the same --------------------- */

static void test_verify(void **state)
{
    fixture_t *fx = *state;
    char path[128];
    json_t *report = NULL;
    snprintf(path, sizeof path, "%s/%s", fx->dir, DN_CENTRAL_DB_FILE);
    assert_int_equal(dn_verify_run(path, &report, NULL, 0), 0);
    assert_true(json_is_true(json_object_get(report, "ok")));
    json_decref(report);
}

/*  Reopening a database whose rollups were never kept (as after the
    migration that created them) rebuilds them from the events: the rows
    come back identical, and the reports with them.  */
static void test_rebuild(void **state)
{
    fixture_t *fx = *state;
    static const char dump[] =
        "SELECT group_concat(r, ';') FROM (SELECT partner_id || '|' || period || '|' || "
        "currency || '|' || sales || '|' || total || '|' || refunds || '|' || refunded "
        "AS r FROM team_volume UNION ALL SELECT sale_eid || '|' || refund_eid || '|' || "
        "category || '|' || amount FROM refund_categories ORDER BY 1)";
    sqlite3_stmt *stmt;
    char *before, *after;
    json_t *list;

    assert_int_equal(sqlite3_prepare_v2(fx->db, dump, -1, &stmt, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    before = strdup((const char *)sqlite3_column_text(stmt, 0));
    sqlite3_finalize(stmt);

    s_exec(fx->db, "DELETE FROM team_volume; DELETE FROM refund_categories;"
                   "INSERT INTO meta(key, value) VALUES ('reports_rebuild', '1');");
    dn_ingest_destroy(&fx->ingest);
    assert_int_equal(sqlite3_close(fx->db), SQLITE_OK);
    fx->db = NULL;
    assert_int_equal(dn_central_open(fx->dir, 0, &fx->db), 0);
    assert_int_equal(dn_rollup_complete(fx->db), 0); /* as the server does */
    fx->ingest = dn_ingest_new(fx->db);
    assert_non_null(fx->ingest);

    assert_int_equal(sqlite3_prepare_v2(fx->db, dump, -1, &stmt, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    after = strdup((const char *)sqlite3_column_text(stmt, 0));
    sqlite3_finalize(stmt);
    assert_string_equal(after, before);
    free(before);
    free(after);
    assert_int_equal(sqlite3_prepare_v2(fx->db,
                                        "SELECT count(*) FROM meta WHERE key = "
                                        "'reports_rebuild'",
                                        -1, &stmt, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(stmt, 0), 0);
    sqlite3_finalize(stmt);

    /* and the hand figures hold: D1's team (test_team_volume) */
    {
        static const srow_t d1[] = {
            {"2026-01", 4, "425.30", 0, "0.00", "425.30"},
            {"2026-02", 2, "96.90", 0, "0.00", "96.90"},
            {"2026-03", 1, "59.90", 1, "9.00", "50.90"},
        };
        list = s_team(fx, "D1");
        s_check_sales(list, "month", "D1", d1, N_OF(d1));
        json_decref(list);
    }
}

/* -- every query on threads of its own (dn_query.h) ------------------------------ */

/*  Every command flagged query in dn_admin's table, with arguments that
    reach its real work in this scenario.  */
static const struct {
    const char *command;
    const char *names[3], *values[3];
    size_t n;
} s_queries[] = {
    {"partner.list", {NULL}, {NULL}, 0},
    {"partner.tree", {NULL}, {NULL}, 0},
    {"partner.tree", {"code", "at"}, {"D1", "2026-01-31"}, 2},
    {"site.list", {NULL}, {NULL}, 0},
    {"member.conflicts", {NULL}, {NULL}, 0},
    {"member.find", {"text"}, {"139"}, 1},
    {"member.statement", {"phone", "period"}, {M1, "2026-02"}, 2},
    {"statement", {"partner", "period"}, {"D1", "2026-02"}, 2},
    {"statement", {"partner"}, {"NOPE"}, 1}, /* refused: 66, a translated reason */
    {"plan.show", {"at"}, {"2026-02-01"}, 1},
    {"plan.list", {NULL}, {NULL}, 0},
    {"plan.check", {"text"}, {"[plan]\neffective = 2026-06-01\ncurrency = CNY\n[levels]\n0 = 700\n"}, 1},
    {"period.list", {NULL}, {NULL}, 0},
    {"verify", {NULL}, {NULL}, 0},
    {"exception.list", {"all"}, {"1"}, 1},
    {"refusals", {NULL}, {NULL}, 0},
    {"correction.list", {NULL}, {NULL}, 0},
    {"report.sales", {"by"}, {"category"}, 1},
    {"report.sales", {"by", "partner", "team"}, {"month", "D1", "1"}, 3},
    {"report.kpi", {"partner", "period"}, {"D1", "2026-02"}, 2},
    {"report.referrals", {NULL}, {NULL}, 0},
    {"report.referrals", {"member"}, {M1}, 1},
    {"report.sites", {NULL}, {NULL}, 0},
    {"compliance.report", {"period"}, {"2026-02"}, 1},
    {"catalog.list", {NULL}, {NULL}, 0},
    {"notice.list", {NULL}, {NULL}, 0},
};
#define S_QUERIES N_OF(s_queries)
#define S_QUERY_ROUNDS 20 /* each thread asks every query this often */

/*  A query's answer as text: "0 <JSON>" or "<status> <reason>" (malloc'd).  */
static char *s_query_text(sqlite3 *db, size_t i, int64_t now)
{
    json_t *result = NULL;
    char why[512] = "", *json, *text;
    int status = dn_admin_query(db, "hq", now, s_queries[i].command, s_queries[i].names,
                                s_queries[i].values, s_queries[i].n, &result, why, sizeof why);
    json = result ? json_dumps(result, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;
    json_decref(result);
    const char *body = json ? json : why;
    size_t size = strlen(body) + 16;
    if ((text = malloc(size)) != NULL)
        snprintf(text, size, "%d %s", status, body);
    free(json);
    return text;
}

typedef struct {
    const char *dir, *lang;
    int64_t now;
    char *expect[S_QUERIES]; /* asked on the writer's connection, in lang */
    int wrong, failed;
    pthread_barrier_t *start;
} s_reader_t;

static void *s_reader(void *arg)
{
    s_reader_t *r = arg;
    sqlite3 *db = NULL;
    if (dn_central_open_reader(r->dir, &db) != 0) {
        r->failed = 1;
        pthread_barrier_wait(r->start);
        return NULL;
    }
    pthread_barrier_wait(r->start); /* both at once */
    for (int round = 0; round < S_QUERY_ROUNDS; round++) {
        for (size_t i = 0; i < S_QUERIES; i++) {
            dn_i18n_peer_begin(r->lang);
            r->failed += dn_db_exec(db, "BEGIN") != 0; /* one snapshot a request */
            char *got = s_query_text(db, i, r->now);
            r->failed += dn_db_exec(db, "COMMIT") != 0;
            dn_i18n_peer_end();
            if (!got || strcmp(got, r->expect[i]) != 0) {
                if (r->wrong++ == 0)
                    fprintf(stderr, "%s %s: got %.300s\nexpected %.300s\n", r->lang,
                            s_queries[i].command, got ? got : "(none)", r->expect[i]);
            }
            free(got);
        }
    }
    sqlite3_close(db);
    return NULL;
}

static void test_queries_on_threads(void **state)
{
    fixture_t *fx = *state;
    pthread_barrier_t start;
    s_reader_t zh = {fx->dir, "zh_CN", s_at("2026-03-12", 12), {NULL}, 0, 0, &start};
    s_reader_t en = {fx->dir, "en", s_at("2026-03-12", 12), {NULL}, 0, 0, &start};
    s_reader_t *readers[] = {&zh, &en};
    pthread_t threads[2];
    char locale[4200], exe[4096];

    /* the catalogues the build compiled (<B>/locale, from <B>/tests/unit) */
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    assert_true(n > 0);
    exe[n] = '\0';
    *strrchr(exe, '/') = '\0';
    snprintf(locale, sizeof locale, "%s/../../locale", exe);
    setenv("DEALERNET_LOCALEDIR", locale, 1);
    dn_i18n_init();

    int64_t events_before = 0, transfers_before = 0;
    sqlite3_stmt *stmt;
    assert_int_equal(dn_db_prepare(fx->db, "SELECT (SELECT count(*) FROM events), "
                                           "(SELECT count(*) FROM transfers)",
                                   &stmt),
                     0);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    events_before = sqlite3_column_int64(stmt, 0);
    transfers_before = sqlite3_column_int64(stmt, 1);
    sqlite3_finalize(stmt);

    for (int k = 0; k < 2; k++) {
        for (size_t i = 0; i < S_QUERIES; i++) {
            dn_i18n_peer_begin(readers[k]->lang);
            readers[k]->expect[i] = s_query_text(fx->db, i, readers[k]->now);
            dn_i18n_peer_end();
            assert_non_null(readers[k]->expect[i]);
        }
    }
    /* what differs by language differs, what does not is the same: the
       refused statement's reason, and the refusals' texts */
    assert_string_equal(zh.expect[8], "66 伙伴 NOPE 不存在");
    assert_string_equal(en.expect[8], "66 partner NOPE does not exist");
    assert_string_equal(zh.expect[0], en.expect[0]);
    for (size_t i = 0; i < S_QUERIES; i++)
        if (i != 8 && strcmp(s_queries[i].command, "refusals") != 0)
            assert_int_equal(strncmp(en.expect[i], "0 ", 2), 0);

    assert_int_equal(pthread_barrier_init(&start, NULL, 2), 0);
    for (int k = 0; k < 2; k++)
        assert_int_equal(pthread_create(&threads[k], NULL, s_reader, readers[k]), 0);
    for (int k = 0; k < 2; k++)
        pthread_join(threads[k], NULL);
    pthread_barrier_destroy(&start);
    assert_int_equal(zh.failed, 0);
    assert_int_equal(en.failed, 0);
    assert_int_equal(zh.wrong, 0);
    assert_int_equal(en.wrong, 0);

    /* a reader writes nothing: query_only refuses it */
    sqlite3 *reader = NULL;
    assert_int_equal(dn_central_open_reader(fx->dir, &reader), 0);
    assert_int_not_equal(sqlite3_exec(reader, "DELETE FROM events", NULL, NULL, NULL),
                         SQLITE_OK);
    assert_int_equal(sqlite3_extended_errcode(reader), SQLITE_READONLY);
    sqlite3_close(reader);
    assert_int_equal(dn_db_prepare(fx->db, "SELECT (SELECT count(*) FROM events), "
                                           "(SELECT count(*) FROM transfers)",
                                   &stmt),
                     0);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int64(stmt, 0), events_before);
    assert_int_equal(sqlite3_column_int64(stmt, 1), transfers_before);
    sqlite3_finalize(stmt);
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < S_QUERIES; i++)
            free(readers[k]->expect[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sales_by_month),
        cmocka_unit_test(test_sales_by_partner_site_channel),
        cmocka_unit_test(test_sales_by_day),
        cmocka_unit_test(test_sales_by_category),
        cmocka_unit_test(test_sales_range_and_partner),
        cmocka_unit_test(test_team_volume),
        cmocka_unit_test(test_rollup_rows),
        cmocka_unit_test(test_kpi),
        cmocka_unit_test(test_referrals_top),
        cmocka_unit_test(test_referral_tree),
        cmocka_unit_test(test_sites_at),
        cmocka_unit_test(test_sites_admin),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_verify),
        cmocka_unit_test(test_queries_on_threads),
        cmocka_unit_test(test_rebuild),
    };
    dn_log_init("test_report", DN_LOG_ERROR, 0);
    return cmocka_run_group_tests(tests, s_group_setup, s_group_teardown);
}
