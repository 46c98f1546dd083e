/*  test_webpage -- the dashboard's pages (dn_webpage), against figures
    worked by hand.

    One central.db in a mkdtemp folder; events built by the test kit with
    explicit times and applied through the server's ingest path (as in
    test_report).  Each page is rendered as the web daemon asks for it,
    and its HTML is searched for the figures below, to the fen; each
    ?csv= table is compared byte for byte with dn_render's CSV of the
    command's own result (what `dealernet-hq --csv` prints).

    Tree: HQ (hq) -> R1 (region) -> D1 (dealer) -> G1 (reseller, named
    <script>alert(1)</script>: every page must show it as text).
    Plan (CNY, from 2026-01-01): level 0 = 800 bps, level 1 = 200 bps.
    Sites: S-D1 (D1), S-G1 (G1).  Each batch syncs an hour after its event.

      ev  recorded          site  seller chan.      lines               total
      s0  2026-10-15 10:00  S-G1  G1     store      RICE 1 x 5990        5990
      s1  2026-11-03 10:00  S-D1  D1     store      RICE 2 x 5990       11980
      s2  2026-11-10 10:00  S-G1  G1     community  OIL 1 x 7900         7900
      s3  2026-11-20 10:00  S-G1  G1     online     TEA 2 x 2500         5000
      r1  2026-11-22 10:00  S-G1  refund of s3, line TEA x 1            2500
      s5  2026-11-23 09:00  S-G1  D1 (outside G1's branch: held, in no figure)
      payout G1 5.00 on 2026-11-23 10:00 (ref BANK-1)

    Commissions (half-even): s0 G1 5990 x 8 % = 479.2 -> 479, D1 5990 x
    2 % = 119.8 -> 120 (October); s1 D1 958.4 -> 958, R1 239.6 -> 240; s2
    G1 632, D1 158; s3 G1 400, D1 100; r1 claws back half of s3's: G1 200,
    D1 50.

    November (now = 2026-11-24 12:00 UTC):
      G1: opening 4.79, commission 6.32 + 4.00 = 10.32, clawback -2.00,
          payout -5.00, closing 4.79 + 10.32 - 2.00 - 5.00 = 8.11
      D1: opening 1.20, commission 9.58 + 1.58 + 1.00 = 12.16, clawback
          -0.50, closing 1.20 + 12.16 - 0.50 = 12.86
      R1: opening 0.00, commission 2.40, closing 2.40;  HQ: all 0.00
    Sales by day, 2026-10-26 .. 2026-11-24 (s0 is before it): 11-03 1 sale
    119.80; 11-10 1 sale 79.00; 11-20 1 sale 50.00; 11-22 no sale, 1
    refund 25.00, net -25.00.  By channel: store 119.80; online 50.00,
    refunded 25.00, net 25.00; community 79.00.
    Team volume, November: G1 s2 + s3 = 129.00, less 25.00 = 104.00; D1,
    R1 and HQ s1 + s2 + s3 = 248.80, less 25.00 = 223.80.
    S-G1 says hello at 2026-11-24 11:00 with head seq 7 (5 applied: 2
    pending), its clock a minute fast: clock skew -60000 ms.
*/
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
#include "dn_db.h"
#include "dn_error.h"
#include "dn_i18n.h"
#include "dn_ingest.h"
#include "dn_ledger.h"
#include "dn_plan.h"
#include "dn_registry.h"
#include "dn_render.h"
#include "dn_test_site.h"
#include "dn_time.h"
#include "dn_webpage.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))
#define XSS     "<script>alert(1)</script>"

static const char s_plan[] = "[plan]\n"
                             "effective = 2026-01-01\n"
                             "currency = CNY\n"
                             "[levels]\n"
                             "0 = 800\n"
                             "1 = 200\n";

enum { S_D1, S_G1, N_SITES };

typedef struct {
    char dir[64];
    sqlite3 *db;
    dn_ingest_t *ingest;
    dn_tk_site_t *sites[N_SITES];
    uint8_t s3[DN_ID_BYTES];
    int64_t now;
} fixture_t;

/* -- helpers ------------------------------------------------------------------- */

static int64_t s_at(const char *date, int hour)
{
    int64_t ms = 0;
    assert_int_equal(dn_time_parse_date(date, &ms), 0);
    return ms + (int64_t)hour * 3600 * 1000;
}

static void s_partner(sqlite3 *db, const char *code, const char *name, const char *kind,
                      const char *parent, int64_t now)
{
    char why[256] = "";
    int rc = dn_registry_partner_add(db, code, name, kind, parent, now, why, sizeof why);
    if (rc)
        print_error("partner add %s: %s\n", code, why);
    assert_int_equal(rc, 0);
}

static void s_sale(fixture_t *fx, int which, int64_t at, const char *seller,
                   Dealernet__Channel channel, const dn_tk_line_t *line, uint8_t *id)
{
    dn_tk_event_t e;
    assert_int_equal(dn_tk_sale(&e, seller, channel, NULL, line, 1), 0);
    dn_test_site_record(fx->sites[which], &e.ev, at, id);
}

static void s_sync(fixture_t *fx, int which, int64_t now)
{
    dn_tk_site_t *s = fx->sites[which];
    dn_tk_batch_t batch;
    dn_ingest_result_t r;
    int rc;
    assert_int_equal(dn_tk_batch(s, &batch), 0);
    rc = dn_tk_ingest(fx->db, fx->ingest, &s->reg, &batch, now, &r);
    if (rc)
        print_error("batch of %s refused: %s\n", s->code, r.why);
    assert_int_equal(rc, 0);
    dn_tk_batch_free(&batch);
}

/*  The request's query string, as (name, value) pairs ending with NULL.  */
static const char *s_arg(void *cls, const char *name)
{
    const char *const *args = cls;
    for (size_t i = 0; args && args[2 * i]; i++)
        if (strcmp(args[2 * i], name) == 0)
            return args[2 * i + 1];
    return NULL;
}

/*  Renders path with args (pairs, NULL-ended) at the fixture's now.  */
static void s_get(fixture_t *fx, const char *path, const char *const *args,
                  dn_webpage_t *page)
{
    dn_webpage_request_t req = {.path = path,
                                .arg = s_arg,
                                .cls = (void *)args,
                                .user = "anna",
                                .csrf = "tok\"en",
                                .now_ms = fx->now};
    assert_int_equal(dn_webpage_render(fx->db, &req, page), 0);
    assert_non_null(page->body);
    assert_int_equal(strlen(page->body), page->len);
}

static void s_has(const dn_webpage_t *page, const char *text)
{
    if (!strstr(page->body, text)) {
        if (getenv("DN_TEST_SHOW"))
            fprintf(stderr, "%s\n", page->body);
        fail_msg("the page lacks: %s", text);
    }
}

static void s_lacks(const dn_webpage_t *page, const char *text)
{
    if (strstr(page->body, text))
        fail_msg("the page holds: %s", text);
}

/*  Runs query command as the page does (the same now), for comparison.  */
static json_t *s_query(fixture_t *fx, const char *command, const char *const *args)
{
    const char *names[4], *values[4];
    char why[512];
    json_t *result = NULL;
    size_t n = 0;
    for (; args && args[2 * n]; n++) {
        names[n] = args[2 * n];
        values[n] = args[2 * n + 1];
    }
    int rc = dn_admin_query(fx->db, "test", fx->now, command, names, values, n, &result,
                            why, sizeof why);
    if (rc)
        print_error("%s: %s\n", command, why);
    assert_int_equal(rc, 0);
    return result;
}

/*  The JSON of the data block id on page (a new reference).  */
static json_t *s_block(const dn_webpage_t *page, const char *id)
{
    char open[128];
    const char *from, *to;
    json_error_t err;
    snprintf(open, sizeof open, "<script type=\"application/json\" id=\"%s\">", id);
    from = strstr(page->body, open);
    assert_non_null(from);
    from += strlen(open);
    to = strstr(from, "</script>");
    assert_non_null(to);
    json_t *v = json_loadb(from, (size_t)(to - from), 0, &err);
    assert_non_null(v);
    return v;
}

static const char *s_str(const json_t *array, size_t i)
{
    return json_string_value(json_array_get(array, i));
}

/* -- the scenario ---------------------------------------------------------------- */

static int s_setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    int64_t setup = s_at("2026-09-01", 9);
    char why[256] = "", exe[4096], dir[4200];
    dn_plan_t plan;
    json_t *out = NULL;
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);

    /* the catalogues of this build: <B>/tests/unit/.. /../locale */
    assert_true(n > 0);
    exe[n] = '\0';
    *strrchr(exe, '/') = '\0';
    snprintf(dir, sizeof dir, "%s/../../locale", exe);
    assert_int_equal(access(dir, R_OK), 0);
    setenv("DEALERNET_LOCALEDIR", dir, 1);
    unsetenv("LANGUAGE");
    unsetenv("LC_ALL");
    unsetenv("LC_MESSAGES");
    setenv("LANG", "C.UTF-8", 1);
    dn_i18n_init();

    assert_non_null(fx);
    *state = fx;
    fx->now = s_at("2026-11-24", 12);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/test_webpage.XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    assert_int_equal(dn_central_open(fx->dir, DN_DB_CREATE, &fx->db), 0);
    fx->ingest = dn_ingest_new(fx->db);
    assert_non_null(fx->ingest);

    s_partner(fx->db, "HQ", "HQ", "hq", NULL, setup);
    s_partner(fx->db, "R1", "R1", "region", "HQ", setup);
    s_partner(fx->db, "D1", "D1", "dealer", "R1", setup);
    s_partner(fx->db, "G1", XSS, "reseller", "D1", setup);
    assert_int_equal(dn_plan_set(fx->db, s_plan, setup, &plan, why, sizeof why), 0);
    fx->sites[S_D1] = dn_test_site_enroll(fx->db, "S-D1", "D1", 0x10, setup);
    fx->sites[S_G1] = dn_test_site_enroll(fx->db, "S-G1", "G1", 0x40, setup);

    {
        static const dn_tk_line_t rice1 = {"RICE", 1, 5990, "rice"};
        static const dn_tk_line_t rice2 = {"RICE", 2, 5990, "rice"};
        static const dn_tk_line_t oil = {"OIL", 1, 7900, "oil"};
        static const dn_tk_line_t tea = {"TEA", 2, 2500, "tea"};
        const Dealernet__Channel store = DEALERNET__CHANNEL__CHANNEL_STORE;
        const Dealernet__Channel online = DEALERNET__CHANNEL__CHANNEL_ONLINE;
        const Dealernet__Channel group = DEALERNET__CHANNEL__CHANNEL_COMMUNITY;
        dn_tk_event_t e;

        s_sale(fx, S_G1, s_at("2026-10-15", 10), "G1", store, &rice1, NULL);
        s_sync(fx, S_G1, s_at("2026-10-15", 11));
        s_sale(fx, S_D1, s_at("2026-11-03", 10), "D1", store, &rice2, NULL);
        s_sync(fx, S_D1, s_at("2026-11-03", 11));
        s_sale(fx, S_G1, s_at("2026-11-10", 10), "G1", group, &oil, NULL);
        s_sync(fx, S_G1, s_at("2026-11-10", 11));
        s_sale(fx, S_G1, s_at("2026-11-20", 10), "G1", online, &tea, fx->s3);
        s_sync(fx, S_G1, s_at("2026-11-20", 11));
        dn_tk_refund(&e, fx->s3, 2500, "TEA", 1);
        dn_test_site_record(fx->sites[S_G1], &e.ev, s_at("2026-11-22", 10), NULL);
        s_sync(fx, S_G1, s_at("2026-11-22", 11));
        s_sale(fx, S_G1, s_at("2026-11-23", 9), "D1", store, &rice1, NULL); /* held */
        s_sync(fx, S_G1, s_at("2026-11-23", 9) + 600000);
    }
    assert_int_equal(dn_ledger_payout(fx->db, "G1", 500, "BANK-1", "hq",
                                      s_at("2026-11-23", 10), &out, why, sizeof why),
                     0);
    json_decref(out);
    {
        Dealernet__Hello hello = DEALERNET__HELLO__INIT;
        dn_ingest_state_t st;
        int64_t now = s_at("2026-11-24", 11);
        hello.has_head_seq = 1;
        hello.head_seq = 7;
        hello.has_pending = 1;
        hello.pending = 2;
        hello.has_clock_ms = 1;
        hello.clock_ms = now + 60000;
        assert_int_equal(
            dn_ingest_hello(fx->ingest, &fx->sites[S_G1]->reg, &hello, now, &st), 0);
    }
    return 0;
}

static int s_teardown(void **state)
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

/* -- the pages ------------------------------------------------------------------- */

#define NUM(x) "<td class=\"num\">" x "</td>"

static void test_overview(void **state)
{
    fixture_t *fx = *state;
    dn_webpage_t page;
    json_t *chart, *values;

    s_get(fx, "/", NULL, &page);
    assert_int_equal(page.status, 200);
    assert_string_equal(page.type, "text/html; charset=utf-8");
    assert_string_equal(page.filename, "");
    /* by day: the refund day has no sale, 25.00 refunded, net -25.00 */
    s_has(&page, "<tr><td>2026-11-03</td><td>CNY</td>" NUM("1") NUM("119.80") NUM("0")
                     NUM("0.00") NUM("119.80") "</tr>");
    s_has(&page, "<tr><td>2026-11-22</td><td>CNY</td>" NUM("0") NUM("0.00") NUM("1")
                     NUM("25.00") NUM("-25.00") "</tr>");
    s_lacks(&page, "2026-10-15</td>"); /* before the 30 days */
    /* by channel */
    s_has(&page, "<tr><td>online</td><td>CNY</td>" NUM("1") NUM("50.00") NUM("1")
                     NUM("25.00") NUM("25.00") "</tr>");
    s_has(&page, "<tr><td>community</td><td>CNY</td>" NUM("1") NUM("79.00") NUM("0")
                     NUM("0.00") NUM("79.00") "</tr>");
    /* team volume: every partner's, November */
    s_has(&page, "<tr><td><a href=\"/statement?partner=G1\">G1</a></td><td>CNY</td>" NUM(
                     "2") NUM("129.00") NUM("1") NUM("25.00") NUM("104.00") "</tr>");
    s_has(&page, "<tr><td><a href=\"/statement?partner=HQ\">HQ</a></td><td>CNY</td>" NUM(
                     "3") NUM("248.80") NUM("1") NUM("25.00") NUM("223.80") "</tr>");
    /* the KPIs of November: one row per partner */
    s_has(&page, "<section class=\"table\" id=\"t-kpi\">");
    s_has(&page, "<a href=\"/statement?partner=R1\">R1</a></td><td>2026-11</td>");
    s_has(&page, "<a class=\"csv\" download href=\"/?csv=days\">CSV</a>");
    /* the logout form carries the session's token, escaped */
    s_has(&page, "<input type=\"hidden\" name=\"csrf\" value=\"tok&quot;en\">");
    s_lacks(&page, "style=");

    /* the charts' data: 30 days, 2026-10-26 .. 2026-11-24; 11-03 is day
       8 (26 .. 31 October are 0 .. 5) */
    chart = s_block(&page, "chart-days");
    values =
        json_object_get(json_array_get(json_object_get(chart, "series"), 0), "values");
    assert_int_equal(json_array_size(json_object_get(chart, "labels")), 30);
    assert_string_equal(s_str(json_object_get(chart, "labels"), 0), "2026-10-26");
    assert_string_equal(s_str(json_object_get(chart, "labels"), 29), "2026-11-24");
    assert_string_equal(s_str(values, 8), "119.80");
    assert_string_equal(s_str(values, 15), "79.00"); /* 11-10 */
    assert_string_equal(s_str(values, 25), "50.00"); /* 11-20 */
    assert_string_equal(s_str(values, 27), "0.00");  /* 11-22: a refund only */
    assert_string_equal(s_str(values, 0), "0");
    json_decref(chart);
    /* team volume, largest first (ties by code): D1, HQ, R1 248.80, G1 129.00 */
    chart = s_block(&page, "chart-teams");
    values =
        json_object_get(json_array_get(json_object_get(chart, "series"), 0), "values");
    assert_string_equal(s_str(json_object_get(chart, "labels"), 0), "D1");
    assert_string_equal(s_str(json_object_get(chart, "labels"), 3), "G1");
    assert_string_equal(s_str(values, 0), "248.80");
    assert_string_equal(s_str(values, 3), "129.00");
    json_decref(chart);
    chart = s_block(&page, "chart-channels");
    assert_string_equal(s_str(json_object_get(chart, "labels"), 0), "store");
    values =
        json_object_get(json_array_get(json_object_get(chart, "series"), 0), "values");
    assert_string_equal(s_str(values, 0), "119.80");
    assert_string_equal(s_str(values, 1), "50.00");
    assert_string_equal(s_str(values, 2), "79.00");
    json_decref(chart);
    free(page.body);
}

static void test_partners(void **state)
{
    fixture_t *fx = *state;
    dn_webpage_t page;
    json_t *st;

    s_get(fx, "/partners", (const char *const[]){"period", "2026-11", NULL}, &page);
    assert_int_equal(page.status, 200);
    /* G1: 4.79 + 10.32 - 2.00 - 5.00 = 8.11; its name is text, not markup */
    s_has(&page,
          "<td>      G1</td><td><a href=\"/statement?partner=G1&amp;period=2026-11\">"
          "G1</a></td><td>&lt;script&gt;alert(1)&lt;/script&gt;</td>");
    s_has(&page, NUM("4.79") NUM("10.32") NUM("0.00") NUM("0.00") NUM("-2.00") NUM("0.00")
                     NUM("-5.00") NUM("8.11"));
    s_has(&page, NUM("1.20") NUM("12.16") NUM("0.00") NUM("0.00") NUM("-0.50") NUM("0.00")
                     NUM("0.00") NUM("12.86"));
    s_has(&page, NUM("0.00") NUM("2.40") NUM("0.00") NUM("0.00") NUM("0.00") NUM("0.00")
                     NUM("0.00") NUM("2.40"));
    s_lacks(&page, XSS);
    s_has(
        &page,
        "<a class=\"csv\" download href=\"/partners?period=2026-11&amp;csv=earnings\">");
    free(page.body);
    /* the statement's closing is the one on the tree */
    st = s_query(fx, "statement",
                 (const char *const[]){"partner", "G1", "period", "2026-11", NULL});
    assert_string_equal(json_string_value(json_object_get(st, "closing")), "8.11");
    json_decref(st);
    /* October: only s0's commissions */
    s_get(fx, "/partners", (const char *const[]){"period", "2026-10", NULL}, &page);
    s_has(&page, NUM("0.00") NUM("4.79") NUM("0.00") NUM("0.00") NUM("0.00") NUM("0.00")
                     NUM("0.00") NUM("4.79"));
    free(page.body);
}

static void test_statement(void **state)
{
    fixture_t *fx = *state;
    dn_webpage_t page;

    s_get(fx, "/statement",
          (const char *const[]){"partner", "G1", "period", "2026-11", NULL}, &page);
    assert_int_equal(page.status, 200);
    s_has(&page, "<h1>Statement of G1, 2026-11</h1>");
    s_has(&page, "<dt>OPENING</dt><dd class=\"num\">4.79</dd>");
    s_has(&page, "<dt>CLOSING</dt><dd class=\"num\">8.11</dd>");
    s_has(&page, "<dt>COMMISSION</dt><dd class=\"num\">10.32</dd>");
    s_has(&page, "<dt>PAYOUT</dt><dd class=\"num\">-5.00</dd>");
    s_has(&page, "<td>payout</td>" NUM("-5.00"));
    s_has(&page, "<td>clawback</td>" NUM("-2.00"));
    free(page.body);
}

static void test_sites_and_exceptions(void **state)
{
    fixture_t *fx = *state;
    dn_webpage_t page;

    s_get(fx, "/sites", NULL, &page);
    assert_int_equal(page.status, 200);
    /* S-G1: seen an hour ago, 2 pending; a minute fast */
    s_has(&page, "<tr><td>S-G1</td><td><a href=\"/statement?partner=G1\">G1</a></td>"
                 "<td>ok</td>");
    s_has(&page, NUM("5") "<td>-</td>" NUM("-60000") NUM("2"));
    /* S-D1: silent since 2026-11-03 11:00, 21 days and one hour */
    s_has(&page, "<tr><td>S-D1</td><td><a href=\"/statement?partner=D1\">D1</a></td>"
                 "<td>silent</td>");
    s_has(&page, "<td>21d 01h</td>");
    free(page.body);

    s_get(fx, "/exceptions", NULL, &page);
    assert_int_equal(page.status, 200);
    s_has(&page, "<td>seller_out_of_tree</td>");
    s_has(&page, "<td>S-G1</td>" NUM("5"));
    free(page.body);
}

/*  Each table's CSV is dn_render's CSV of its command's result.  */
static void test_csv(void **state)
{
    fixture_t *fx = *state;
    static const struct {
        const char *path;
        const char *args[5];
        const char *table, *filename, *command, *command_args[9], *part;
    } cases[] = {
        {"/",
         {NULL},
         "days",
         "days.csv",
         "report.sales",
         {"by", "day", "from", "2026-10-26", "to", "2026-11-24", NULL},
         NULL},
        {"/",
         {NULL},
         "channels",
         "channels.csv",
         "report.sales",
         {"by", "channel", "from", "2026-10-26", "to", "2026-11-24", NULL},
         NULL},
        {"/",
         {NULL},
         "teams",
         "teams.csv",
         "report.sales",
         {"by", "partner", "team", "1", "from", "2026-11-01", "to", "2026-11-24", NULL},
         NULL},
        {"/", {NULL}, "kpi", "kpi.csv", "report.kpi", {"period", "2026-11", NULL}, NULL},
        {"/partners",
         {"period", "2026-11", NULL},
         "earnings",
         "earnings-2026-11.csv",
         "report.earnings",
         {"period", "2026-11", NULL},
         NULL},
        {"/sites", {NULL}, "sites", "sites.csv", "report.sites", {NULL}, NULL},
        {"/sites", {NULL}, "site_list", "site_list.csv", "site.list", {NULL}, NULL},
        {"/exceptions",
         {NULL},
         "exceptions",
         "exceptions.csv",
         "exception.list",
         {NULL},
         NULL},
        {"/statement",
         {"partner", "G1", "period", "2026-11", NULL},
         "transfers",
         "transfers-G1-2026-11.csv",
         "statement",
         {"partner", "G1", "period", "2026-11", NULL},
         "transfers"},
    };
    for (size_t i = 0; i < N_OF(cases); i++) {
        const char *args[8] = {NULL};
        dn_webpage_t page;
        json_t *result;
        char *want;
        size_t n = 0;
        for (; cases[i].args[n]; n++)
            args[n] = cases[i].args[n];
        args[n++] = "csv";
        args[n++] = cases[i].table;
        s_get(fx, cases[i].path, args, &page);
        assert_int_equal(page.status, 200);
        assert_string_equal(page.type, "text/csv; charset=utf-8");
        assert_string_equal(page.filename, cases[i].filename);
        result = s_query(fx, cases[i].command, cases[i].command_args);
        want = dn_render_string(cases[i].part ? json_object_get(result, cases[i].part)
                                              : result,
                                DN_RENDER_CSV);
        assert_non_null(want);
        assert_string_equal(page.body, want);
        free(want);
        json_decref(result);
        free(page.body);
    }
    /* the figures are in it (and no _minor twin) */
    {
        dn_webpage_t page;
        s_get(fx, "/partners",
              (const char *const[]){"period", "2026-11", "csv", "earnings", NULL}, &page);
        s_has(&page, "tree,partner,name,kind,status,period,currency,opening,commission,"
                     "referral,override,clawback,adjustment,payout,closing\r\n");
        s_has(&page, "      G1,G1,<script>alert(1)</script>,reseller,active,2026-11,CNY,"
                     "4.79,10.32,0.00,0.00,-2.00,0.00,-5.00,8.11\r\n");
        free(page.body);
    }
}

static void test_errors(void **state)
{
    fixture_t *fx = *state;
    dn_webpage_t page;

    s_get(fx, "/nope", NULL, &page);
    assert_int_equal(page.status, 404);
    assert_string_equal(page.type, "text/html; charset=utf-8");
    s_has(&page, "<p class=\"why\">there is no page /nope</p>");
    free(page.body);

    s_get(fx, "/<b>", NULL, &page);
    assert_int_equal(page.status, 404);
    s_has(&page, "there is no page /&lt;b&gt;");
    free(page.body);

    s_get(fx, "/statement",
          (const char *const[]){"partner", "G1", "period", "2026-13", NULL}, &page);
    assert_int_equal(page.status, 400);
    s_has(&page, "<p class=\"why\">period &#39;2026-13&#39; is not YYYY-MM</p>");
    free(page.body);

    s_get(fx, "/partners", (const char *const[]){"period", "11-2026", NULL}, &page);
    assert_int_equal(page.status, 400);
    s_has(&page, "period &#39;11-2026&#39; is not a month (YYYY-MM)");
    free(page.body);

    s_get(fx, "/statement", NULL, &page);
    assert_int_equal(page.status, 400);
    s_has(&page, "a statement needs a partner");
    free(page.body);

    s_get(fx, "/statement", (const char *const[]){"partner", "NOPE", NULL}, &page);
    assert_int_equal(page.status, 404);
    s_has(&page, "partner NOPE does not exist");
    free(page.body);

    s_get(fx, "/", (const char *const[]){"csv", "nope", NULL}, &page);
    assert_int_equal(page.status, 400);
    assert_string_equal(page.type, "text/html; charset=utf-8");
    s_has(&page, "this page has no table nope");
    free(page.body);

    s_get(fx, "/sale", NULL, &page);
    assert_int_equal(page.status, 400);
    s_has(&page, "a sale is found by its id");
    free(page.body);

    /* a receipt the site never printed: 404, sale.show's reason */
    s_get(fx, "/sale", (const char *const[]){"site", "S-G1", "receipt", "99", NULL},
          &page);
    assert_int_equal(page.status, 404);
    free(page.body);

    /* the tea sale (2 x 25.00 = 50.00, online) by its id: G1's 8% 4.00
       and D1's 2% 1.00; the refund of one tea (25.00 of 50.00) claws
       back half of each, -2.00 and -0.50 */
    char id[DN_ID_TEXT_SIZE];
    dn_id_format(fx->s3, id);
    s_get(fx, "/sale", (const char *const[]){"id", id, NULL}, &page);
    assert_int_equal(page.status, 200);
    s_has(&page, "<td class=\"num\">4.00</td>");
    s_has(&page, "<td class=\"num\">1.00</td>");
    s_has(&page, "<td class=\"num\">-2.00</td>");
    s_has(&page, "<td class=\"num\">-0.50</td>");
    s_has(&page, "&amp;csv=transfers\">CSV</a>");
    free(page.body);
}

static void test_chinese(void **state)
{
    fixture_t *fx = *state;
    dn_webpage_t page;

    assert_string_equal(dn_i18n_peer_begin("zh_CN"), "zh_CN");
    s_get(fx, "/partners", (const char *const[]){"period", "2026-11", NULL}, &page);
    dn_i18n_peer_end();
    assert_int_equal(page.status, 200);
    s_has(&page, "<html lang=\"zh-CN\">");
    s_has(&page, "<th class=\"num\">期初余额</th>");
    s_has(&page, "<th class=\"num\">期末余额</th>");
    s_has(&page, "<h1>伙伴</h1>");
    s_has(&page, NUM("8.11"));
    free(page.body);

    /* CSV keeps the keys whatever the language */
    assert_string_equal(dn_i18n_peer_begin("zh_CN"), "zh_CN");
    s_get(fx, "/partners",
          (const char *const[]){"period", "2026-11", "csv", "earnings", NULL}, &page);
    dn_i18n_peer_end();
    s_has(&page, "tree,partner,name,kind,status,period,currency,opening,");
    free(page.body);

    /* and English again after */
    s_get(fx, "/partners", NULL, &page);
    s_has(&page, "<th class=\"num\">OPENING</th>");
    s_has(&page, "<html lang=\"en\">");
    free(page.body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_overview),  cmocka_unit_test(test_partners),
        cmocka_unit_test(test_statement), cmocka_unit_test(test_sites_and_exceptions),
        cmocka_unit_test(test_csv),       cmocka_unit_test(test_errors),
        cmocka_unit_test(test_chinese),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
