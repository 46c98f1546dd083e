/*  test_metrics -- the Prometheus text (dn_metrics), line by line.

    One central.db in a throwaway folder: HQ (hq) > R1 (region) > D1, D2
    (dealers), the plan 800/300 bps from 2026-01-01 (CNY), and four sites
    HQ added at 2026-03-01T09:00:00.000Z and enrolled a second later:

      SHOP-1 (D1)  says Hello on 2026-03-10 at 10:00 with head seq 5 (5
                   pending), then sends 3 events received at 10:00: a sale
                   of 10.00 recorded at 09:00; one in USD at 09:30 (held:
                   currency_mismatch); one of 10.00 recorded at 10:06,
                   6 minutes ahead of the server (posted, flagged
                   clock_ahead, which HQ acknowledges).  Pending 5 - 3 = 2.
      SHOP-2 (D2)  Hello on 2026-03-08 at 10:00 with head seq 3, then one
                   sale of 10.00 (recorded 09:00).  Pending 3 - 1 = 2.
      SHOP-3 (D1)  never seen.
      SHOP-4 (D2)  Hello on 2026-03-09 at 10:00 with head seq 4, one sale
                   of 10.00, then revoked at 11:00.  Pending 4 - 1 = 3.

    Scraped at 2026-03-10 12:00:
      sites        SHOP-1 active (2 h since its contact), SHOP-2 silent
                   (50 h > 24 h), SHOP-3 never, SHOP-4 revoked: 1 each.
                   (The sites report calls SHOP-3 silent: 9 days since HQ
                   added it; the metrics count it apart, as never.)
      pending      2 + 2 = 4: a revoked site's 3 can never arrive.
      exceptions   2 raised, 1 acknowledged: 1 open.
      transfers    4 posted sales of 10.00, 2 each (D1 or D2 0.80, R1
                   0.30): 8.  The held sale posts none.

    The counters, called here by hand (the loop's calls are checked in
    test_session, test_metrics_counted):
      events 5 + 2 = 7; batches 2;
      apply 800 us, 1000 us, 1001 us, 3 s: le 0.001 holds 800 and 1000
      (a bucket holds what is at most its bound), 0.0025 to 2.5 add 1001:
      3, +Inf 4; sum 800 + 1000 + 1001 + 3,000,000 = 3,002,801 us;
      refused REFUSE_GAP twice, REFUSE_SERVER_FULL once, a name the
      protocol lacks and NULL: REFUSE_UNSPECIFIED twice;
      dn_refusal: deadline 3 times, handshake_key once; the door's
      strangers: sync 7, admin 0, and a port named q"\<LF> 1 (its label
      escaped as q\"\\\n);
      admin: 1 query, 2 writes.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "dn_test_central.h"
#include "dn_test_site.h"

#include "dealernet.pb-c.h"
#include "dn_error.h"
#include "dn_facts.h"
#include "dn_ingest.h"
#include "dn_log.h"
#include "dn_metrics.h"
#include "dn_plan.h"
#include "dn_refusal.h"
#include "dn_registry.h"
#include "dn_report.h"
#include "dn_time.h"
#include "dn_version.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MIN_MS  60000LL
#define HOUR_MS 3600000LL

/*  The clock when main began: the process started before it.  */
static int64_t s_main_ms;

typedef struct {
    dn_test_central_t *central; /* the database and its folder */
    dn_ingest_t *ingest;
} fixture_t;

static int64_t s_at(const char *date, int hour, int minute)
{
    int64_t ms;
    assert_int_equal(dn_time_parse_date(date, &ms), 0);
    return ms + (int64_t)hour * HOUR_MS + (int64_t)minute * MIN_MS;
}

/*  The site's agent says Hello at `at` with head seq head.  */
static void s_hello(fixture_t *fx, dn_tk_site_t *site, int64_t at, uint64_t head)
{
    Dealernet__Hello hello = DEALERNET__HELLO__INIT;
    dn_ingest_state_t st;
    hello.has_protocol = 1;
    hello.protocol = 3;
    hello.has_pending = 1;
    hello.pending = head;
    hello.has_clock_ms = 1;
    hello.clock_ms = at;
    hello.has_head_seq = 1;
    hello.head_seq = head;
    assert_int_equal(dn_ingest_hello(fx->ingest, &site->reg, &hello, at, &st), 0);
}

static int s_setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    int64_t added = s_at("2026-03-01", 9, 0);
    void *central = NULL;
    char why[256] = "";
    int64_t *post = NULL;
    size_t n_post = 0;

    assert_non_null(fx);
    assert_int_equal(dn_test_central_setup(&central), 0);
    fx->central = central;
    sqlite3 *db = fx->central->db;
    dn_test_site_network(db);
    dn_tk_site_t *shop1 = dn_test_site_enroll(db, "SHOP-1", "D1", 0x10, added);
    dn_tk_site_t *shop2 = dn_test_site_enroll(db, "SHOP-2", "D2", 0x40, added);
    dn_tk_site_t *shop3 = dn_test_site_enroll(db, "SHOP-3", "D1", 0x70, added);
    dn_tk_site_t *shop4 = dn_test_site_enroll(db, "SHOP-4", "D2", 0xA0, added);
    assert_non_null(fx->ingest = dn_ingest_new(db));

    s_hello(fx, shop2, s_at("2026-03-08", 10, 0), 3);
    dn_test_site_sale(shop2, s_at("2026-03-08", 9, 0), "D2", "CNY", NULL);
    dn_test_site_sync(db, fx->ingest, shop2, s_at("2026-03-08", 10, 0));

    s_hello(fx, shop4, s_at("2026-03-09", 10, 0), 4);
    dn_test_site_sale(shop4, s_at("2026-03-09", 9, 0), "D2", "CNY", NULL);
    dn_test_site_sync(db, fx->ingest, shop4, s_at("2026-03-09", 10, 0));
    assert_int_equal(
        dn_registry_site_revoke(db, "SHOP-4", s_at("2026-03-09", 11, 0), why, sizeof why),
        0);

    s_hello(fx, shop1, s_at("2026-03-10", 10, 0), 5);
    dn_test_site_sale(shop1, s_at("2026-03-10", 9, 0), "D1", "CNY", NULL);
    dn_test_site_sale(shop1, s_at("2026-03-10", 9, 30), "D1", "USD", NULL);
    dn_test_site_sale(shop1, s_at("2026-03-10", 10, 6), "D1", "CNY", NULL);
    dn_test_site_sync(db, fx->ingest, shop1, s_at("2026-03-10", 10, 0));

    /* exception 1: the USD sale, held; 2: the clock, a flag HQ has seen */
    assert_int_equal(dn_db_begin(db), 0);
    assert_int_equal(dn_facts_resolve(db, 2, DN_FACTS_ACKNOWLEDGE, NULL, "hq", "seen",
                                      s_at("2026-03-10", 11, 0), &post, &n_post, why,
                                      sizeof why),
                     0);
    assert_int_equal(dn_db_commit(db), 0);
    assert_int_equal(n_post, 0);

    dn_tk_site_destroy(&shop1);
    dn_tk_site_destroy(&shop2);
    dn_tk_site_destroy(&shop3);
    dn_tk_site_destroy(&shop4);
    *state = fx;
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *fx = *state;
    void *central = fx->central;
    dn_ingest_destroy(&fx->ingest);
    free(fx);
    return dn_test_central_teardown(&central);
}

/*  The size of the file at path, 0 when there is none.  */
static unsigned long long s_bytes(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (unsigned long long)st.st_size : 0;
}

/*  The sites, as the report and the metrics see them: the same silence
    (more than DN_REPORT_SILENT_MS, not equal to it), never apart.  */
static void test_fleet(void **state)
{
    fixture_t *fx = *state;
    sqlite3 *db = fx->central->db;
    dn_report_fleet_t f;
    json_t *sites = NULL;

    assert_int_equal(dn_report_fleet(db, s_at("2026-03-10", 12, 0), &f), 0);
    assert_int_equal(f.active, 1);
    assert_int_equal(f.silent, 1);
    assert_int_equal(f.never, 1);
    assert_int_equal(f.revoked, 1);
    assert_int_equal(f.pending, 4);
    /* the report: SHOP-2 silent 50 h, SHOP-3 silent since it was added
       9 days ago and more, SHOP-1 ok, SHOP-4 revoked */
    assert_int_equal(dn_report_sites(db, s_at("2026-03-10", 12, 0), &sites), 0);
    assert_int_equal(json_array_size(sites), 4);
    const char *order[][2] = {{"SHOP-3", "silent"},
                              {"SHOP-2", "silent"},
                              {"SHOP-1", "ok"},
                              {"SHOP-4", "revoked"}};
    for (size_t i = 0; i < 4; i++) {
        json_t *row = json_array_get(sites, i);
        assert_string_equal(json_string_value(json_object_get(row, "site")), order[i][0]);
        assert_string_equal(json_string_value(json_object_get(row, "state")),
                            order[i][1]);
    }
    json_decref(sites);

    /* SHOP-2's contact was 2026-03-08 10:00: exactly a day later it is
       still active, a millisecond more and it is silent */
    assert_int_equal(dn_report_fleet(db, s_at("2026-03-09", 10, 0), &f), 0);
    assert_int_equal(f.active, 2); /* SHOP-1 is not yet seen: never */
    assert_int_equal(f.silent, 0);
    assert_int_equal(f.never, 1);
    assert_int_equal(dn_report_fleet(db, s_at("2026-03-09", 10, 0) + 1, &f), 0);
    assert_int_equal(f.active, 1);
    assert_int_equal(f.silent, 1);
}

/*  The whole text: every line computed by hand (see the top), but the
    start time (checked against the clock when main began) and the files'
    sizes (read from the files).  */
static void test_text(void **state)
{
    fixture_t *fx = *state;
    sqlite3 *db = fx->central->db;
    char *text = NULL, *expected = NULL;
    size_t len = 0;

    dn_metrics_events(5);
    dn_metrics_events(2);
    dn_metrics_batches(2);
    dn_metrics_apply(800);
    dn_metrics_apply(1000);
    dn_metrics_apply(1001);
    dn_metrics_apply(3000000);
    dn_metrics_refused("REFUSE_GAP");
    dn_metrics_refused("REFUSE_SERVER_FULL");
    dn_metrics_refused("REFUSE_GAP");
    dn_metrics_refused("REFUSE_NO_SUCH_THING");
    dn_metrics_refused(NULL);
    for (int i = 0; i < 3; i++)
        dn_refusal_count(DN_REFUSAL_DEADLINE);
    dn_refusal_count(DN_REFUSAL_ZAP);
    dn_refusal_set_strangers("sync", 7);
    dn_refusal_set_strangers("admin", 0);
    dn_refusal_set_strangers("q\"\\\n", 1);
    dn_metrics_admin(1);
    dn_metrics_admin(0);
    dn_metrics_admin(0);

    assert_int_equal(dn_db_exec(db, "BEGIN"), 0); /* as a web thread reads */
    assert_int_equal(dn_metrics_render_at(db, s_at("2026-03-10", 12, 0), &text, &len), 0);
    assert_int_equal(dn_db_exec(db, "COMMIT"), 0);
    assert_int_equal(strlen(text), len);

    /* the start: before main began, and not a minute before */
    const char *start = strstr(text, "\ndealernet_start_time_seconds ");
    assert_non_null(start);
    start += strlen("\ndealernet_start_time_seconds ");
    char started[32];
    long long s = 0, ms = 0;
    assert_int_equal(sscanf(start, "%lld.%3lld", &s, &ms), 2);
    snprintf(started, sizeof started, "%lld.%03lld", s, ms);
    assert_true(s * 1000 + ms <= s_main_ms);
    assert_true(s * 1000 + ms > s_main_ms - MIN_MS);

    const char *path = sqlite3_db_filename(db, "main");
    char wal[512];
    snprintf(wal, sizeof wal, "%s-wal", path);
    unsigned long long db_bytes = s_bytes(path), wal_bytes = s_bytes(wal);
    assert_true(db_bytes > 0);

    const char *format =
        "# HELP dealernet_build_info The server's version, as a label; always 1.\n"
        "# TYPE dealernet_build_info gauge\n"
        "dealernet_build_info{version=\"" DN_VERSION "\"} 1\n"
        "# HELP dealernet_start_time_seconds When the process started, in seconds since "
        "the Unix epoch.\n"
        "# TYPE dealernet_start_time_seconds gauge\n"
        "dealernet_start_time_seconds %s\n"
        "# HELP dealernet_sync_events_total Events applied and committed (new events "
        "only, "
        "not repeats).\n"
        "# TYPE dealernet_sync_events_total counter\n"
        "dealernet_sync_events_total 7\n"
        "# HELP dealernet_sync_batches_total Batches acknowledged after their group "
        "committed.\n"
        "# TYPE dealernet_sync_batches_total counter\n"
        "dealernet_sync_batches_total 2\n"
        "# HELP dealernet_sync_refused_total Refused replies to sync messages, by the "
        "protocol's RefuseCode.\n"
        "# TYPE dealernet_sync_refused_total counter\n"
        "dealernet_sync_refused_total{reason=\"REFUSE_UNSPECIFIED\"} 2\n"
        "dealernet_sync_refused_total{reason=\"REFUSE_MALFORMED\"} 0\n"
        "dealernet_sync_refused_total{reason=\"REFUSE_NOT_ENROLLED\"} 0\n"
        "dealernet_sync_refused_total{reason=\"REFUSE_BAD_TOKEN\"} 0\n"
        "dealernet_sync_refused_total{reason=\"REFUSE_TOKEN_USED\"} 0\n"
        "dealernet_sync_refused_total{reason=\"REFUSE_TOKEN_EXPIRED\"} 0\n"
        "dealernet_sync_refused_total{reason=\"REFUSE_WRONG_SITE\"} 0\n"
        "dealernet_sync_refused_total{reason=\"REFUSE_GAP\"} 2\n"
        "dealernet_sync_refused_total{reason=\"REFUSE_BAD_SIGNATURE\"} 0\n"
        "dealernet_sync_refused_total{reason=\"REFUSE_CHAIN\"} 0\n"
        "dealernet_sync_refused_total{reason=\"REFUSE_TAMPER\"} 0\n"
        "dealernet_sync_refused_total{reason=\"REFUSE_TOO_BIG\"} 0\n"
        "dealernet_sync_refused_total{reason=\"REFUSE_PROTOCOL\"} 0\n"
        "dealernet_sync_refused_total{reason=\"REFUSE_INTERNAL\"} 0\n"
        "dealernet_sync_refused_total{reason=\"REFUSE_RATE_LIMITED\"} 0\n"
        "dealernet_sync_refused_total{reason=\"REFUSE_REVOKED\"} 0\n"
        "dealernet_sync_refused_total{reason=\"REFUSE_MISMATCH\"} 0\n"
        "dealernet_sync_refused_total{reason=\"REFUSE_SERVER_FULL\"} 1\n"
        "# HELP dealernet_refusals_total Traffic turned away at the door, in the "
        "handshake "
        "or as read, by kind.\n"
        "# TYPE dealernet_refusals_total counter\n"
        "dealernet_refusals_total{reason=\"deadline\"} 3\n"
        "dealernet_refusals_total{reason=\"per_address\"} 0\n"
        "dealernet_refusals_total{reason=\"full\"} 0\n"
        "dealernet_refusals_total{reason=\"silent\"} 0\n"
        "dealernet_refusals_total{reason=\"accept_failed\"} 0\n"
        "dealernet_refusals_total{reason=\"handshake_protocol\"} 0\n"
        "dealernet_refusals_total{reason=\"handshake_unfinished\"} 0\n"
        "dealernet_refusals_total{reason=\"handshake_key\"} 1\n"
        "dealernet_refusals_total{reason=\"malformed\"} 0\n"
        "dealernet_refusals_total{reason=\"unknown_key\"} 0\n"
        "dealernet_refusals_total{reason=\"revoked\"} 0\n"
        "dealernet_refusals_total{reason=\"enrolment\"} 0\n"
        "dealernet_refusals_total{reason=\"enrolment_rate\"} 0\n"
        "dealernet_refusals_total{reason=\"admin_malformed\"} 0\n"
        "# HELP dealernet_door_strangers Connections open now that have not yet shown an "
        "enrolled key, by port.\n"
        "# TYPE dealernet_door_strangers gauge\n"
        "dealernet_door_strangers{port=\"sync\"} 7\n"
        "dealernet_door_strangers{port=\"admin\"} 0\n"
        "dealernet_door_strangers{port=\"q\\\"\\\\\\n\"} 1\n"
        "# HELP dealernet_admin_requests_total Admin requests, by where they ran.\n"
        "# TYPE dealernet_admin_requests_total counter\n"
        "dealernet_admin_requests_total{kind=\"query\"} 1\n"
        "dealernet_admin_requests_total{kind=\"write\"} 2\n"
        "# HELP dealernet_batch_apply_seconds A sync group's time from its first batch's "
        "apply to its commit.\n"
        "# TYPE dealernet_batch_apply_seconds histogram\n"
        "dealernet_batch_apply_seconds_bucket{le=\"0.001\"} 2\n"
        "dealernet_batch_apply_seconds_bucket{le=\"0.0025\"} 3\n"
        "dealernet_batch_apply_seconds_bucket{le=\"0.005\"} 3\n"
        "dealernet_batch_apply_seconds_bucket{le=\"0.01\"} 3\n"
        "dealernet_batch_apply_seconds_bucket{le=\"0.025\"} 3\n"
        "dealernet_batch_apply_seconds_bucket{le=\"0.05\"} 3\n"
        "dealernet_batch_apply_seconds_bucket{le=\"0.1\"} 3\n"
        "dealernet_batch_apply_seconds_bucket{le=\"0.25\"} 3\n"
        "dealernet_batch_apply_seconds_bucket{le=\"0.5\"} 3\n"
        "dealernet_batch_apply_seconds_bucket{le=\"1\"} 3\n"
        "dealernet_batch_apply_seconds_bucket{le=\"2.5\"} 3\n"
        "dealernet_batch_apply_seconds_bucket{le=\"+Inf\"} 4\n"
        "dealernet_batch_apply_seconds_sum 3.002801\n"
        "dealernet_batch_apply_seconds_count 4\n"
        "# HELP dealernet_sites Sites by state: active, silent (no contact for more than "
        "a "
        "day), never (never synced), revoked.\n"
        "# TYPE dealernet_sites gauge\n"
        "dealernet_sites{state=\"active\"} 1\n"
        "dealernet_sites{state=\"silent\"} 1\n"
        "dealernet_sites{state=\"never\"} 1\n"
        "dealernet_sites{state=\"revoked\"} 1\n"
        "# HELP dealernet_pending_events Events the sites not revoked reported still to "
        "send, less what came since.\n"
        "# TYPE dealernet_pending_events gauge\n"
        "dealernet_pending_events 4\n"
        "# HELP dealernet_exceptions_open Exceptions waiting for headquarters (held "
        "events "
        "and flags).\n"
        "# TYPE dealernet_exceptions_open gauge\n"
        "dealernet_exceptions_open 1\n"
        "# HELP dealernet_ledger_transfers Transfers in the ledger.\n"
        "# TYPE dealernet_ledger_transfers gauge\n"
        "dealernet_ledger_transfers 8\n"
        "# HELP dealernet_database_bytes Size of central.db (file=\"db\") and of its "
        "write-ahead log (file=\"wal\").\n"
        "# TYPE dealernet_database_bytes gauge\n"
        "dealernet_database_bytes{file=\"db\"} %llu\n"
        "dealernet_database_bytes{file=\"wal\"} %llu\n";
    size_t size = strlen(format) + 128;
    assert_non_null(expected = malloc(size));
    snprintf(expected, size, format, started, db_bytes, wal_bytes);
    assert_string_equal(text, expected);
    free(expected);
    free(text);
}

/*  A database without the tables: DN_EDB, and no text.  */
static void test_no_tables(void **state)
{
    sqlite3 *db = NULL;
    char *text = (char *)"untouched";
    size_t len = 7;
    (void)state;
    assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
    assert_int_equal(dn_metrics_render(db, &text, &len), DN_EDB);
    assert_string_equal(text, "untouched");
    assert_int_equal(len, 7);
    sqlite3_close(db);
}

/*  The counters' room holds every RefuseCode, in the order of its values
    (the first is 0, REFUSE_UNSPECIFIED, where unknown names count).  */
static void test_reasons_fit(void **state)
{
    const ProtobufCEnumDescriptor *d = &dealernet__refuse_code__descriptor;
    (void)state;
    assert_true(d->n_values <= DN_METRICS_REASONS);
    assert_int_equal(d->values[0].value, 0);
    assert_string_equal(d->values[0].name, "REFUSE_UNSPECIFIED");
    for (unsigned i = 1; i < d->n_values; i++)
        assert_true(d->values[i].value > d->values[i - 1].value);
}

int main(void)
{
    s_main_ms = dn_time_now_ms();
    dn_log_init("test_metrics", DN_LOG_WARN, 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fleet, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_text, s_setup, s_teardown),
        cmocka_unit_test(test_no_tables),
        cmocka_unit_test(test_reasons_fit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
