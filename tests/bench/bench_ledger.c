/*  bench_ledger -- the cost of posting commissions, against ingest alone.

    200,000 sales from 100 sites, sold by resellers at the bottom of a
    5-level tree of 10,000 partners (1 hq, 9 regions, 90 distributors, 900
    dealers, 9,000 resellers), in signed batches of 500, applied through
    the real ingest path (dn_ingest_batch in one transaction per batch)
    twice, into two fresh central.db files: one with the example 3-level
    plan in force (every sale posts its commissions), one without a plan
    (ingest alone: decode, check, chain, store).  Prints sales/s and
    transfers/s of each, the ratio ledger/ingest (target >= 0.5), and how
    long `verify` takes over the whole ledger.
*/
#include "dn_benchkit.h"
#include "dn_central.h"
#include "dn_db.h"
#include "dn_error.h"
#include "dn_ingest.h"
#include "dn_ledger.h"
#include "dn_log.h"
#include "dn_plan.h"
#include "dn_registry.h"
#include "dn_testkit.h"
#include "dn_time.h"
#include "dn_verify.h"
#include "dn_wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DN_BENCH_SITES      100
#define DN_BENCH_PER_SITE   2000
#define DN_BENCH_BATCH      500
#define DN_BENCH_RESELLERS  9000
#define DN_BENCH_TARGET     0.5
#define DN_BENCH_T0         1772323200000LL /* 2026-03-01T00:00:00Z */

static const char *s_plan =
    "[plan]\neffective = 2026-01-01\ncurrency = CNY\ncap_bps = 1500\n"
    "[levels]\n0 = 800\n1 = 300\n2 = 100\n"
    "[category:rice]\n0 = 500\n1 = 200\n"
    "[referral]\nfirst_purchase_bonus = 5.00\npurchase_bps = 100\npurchase_days = 365\n"
    "recruit_override_bps = 50\nrecruit_override_days = 365\n";

static dn_tk_batch_t s_batches[DN_BENCH_SITES][DN_BENCH_PER_SITE / DN_BENCH_BATCH];
static dn_tk_site_t *s_sites[DN_BENCH_SITES];

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void s_die(const char *what)
{
    fprintf(stderr, "bench_ledger: %s\n", what);
    exit(1);
}

static void s_code(char *buf, size_t size, const char *prefix, int n)
{
    snprintf(buf, size, "%s%05d", prefix, n);
}

/*  Builds every site's events and signed batches once, in memory.  */
static void s_build(void)
{
    for (int s = 0; s < DN_BENCH_SITES; s++) {
        char site[16];
        s_code(site, sizeof site, "S", s);
        if (!(s_sites[s] = dn_tk_site_new(site, NULL)))
            s_die("keygen");
        for (int b = 0; b < DN_BENCH_PER_SITE / DN_BENCH_BATCH; b++) {
            for (int i = 0; i < DN_BENCH_BATCH; i++) {
                int n = b * DN_BENCH_BATCH + i;
                char seller[16], why[DN_WHY_SIZE] = "sale lines";
                dn_tk_line_t lines[2] = {{"RICE5", 1 + n % 3, 5990, "rice"},
                                         {"OIL1L", 1, 1850 + n % 7, NULL}};
                dn_tk_event_t e;
                int64_t at = DN_BENCH_T0 + (int64_t)n * 60000 + s;
                s_code(seller, sizeof seller, "RS", (s * 97 + n * 31) % DN_BENCH_RESELLERS);
                if (dn_tk_sale(&e, seller, DEALERNET__CHANNEL__CHANNEL_STORE, NULL, lines,
                               2) ||
                    dn_tk_record(s_sites[s], &e.ev, at, NULL, why, sizeof why))
                    s_die(why);
            }
            if (dn_tk_batch(s_sites[s], &s_batches[s][b]))
                s_die("sign");
        }
    }
}

/*  A central.db with the tree and the sites, and the plan if with_plan.  */
static sqlite3 *s_setup(const char *dir, int with_plan, dn_registry_site_t *sites)
{
    char why[256], code[16], parent[16];
    sqlite3 *db;
    if (dn_central_open(dir, DN_DB_CREATE, &db))
        s_die("cannot create central.db");
    dn_db_exec(db, "PRAGMA synchronous = NORMAL"); /* setup only; restored below */
    if (dn_registry_partner_add(db, "HQ", "HQ", "hq", NULL, 0, why, sizeof why))
        s_die(why);
    static const struct {
        const char *prefix, *kind, *parent;
        int count;
    } levels[] = {{"RG", "region", NULL, 9},
                  {"DI", "distributor", "RG", 90},
                  {"DE", "dealer", "DI", 900},
                  {"RS", "reseller", "DE", DN_BENCH_RESELLERS}};
    for (size_t l = 0; l < 4; l++) {
        for (int i = 0; i < levels[l].count; i++) {
            s_code(code, sizeof code, levels[l].prefix, i);
            if (levels[l].parent)
                s_code(parent, sizeof parent, levels[l].parent, i / 10);
            else
                snprintf(parent, sizeof parent, "HQ");
            if (dn_registry_partner_add(db, code, code, levels[l].kind, parent, 0, why,
                                        sizeof why))
                s_die(why);
        }
    }
    if (with_plan) {
        dn_plan_t plan;
        if (dn_plan_set(db, s_plan, 0, &plan, why, sizeof why))
            s_die(why);
    }
    for (int s = 0; s < DN_BENCH_SITES; s++) {
        uint8_t curve[DN_CURVE_KEY_BYTES] = {0};
        curve[0] = (uint8_t)s;
        curve[1] = (uint8_t)(s >> 8);
        curve[31] = 0x5A;
        /* Sites of HQ: every reseller may sell at them (the server checks
           each seller is below the site's partner, four levels up here).  */
        if (dn_tk_enroll(db, s_sites[s]->code, "HQ", curve, s_sites[s]->key, 1, 2,
                         &sites[s], why, sizeof why))
            s_die(why);
    }
    dn_db_exec(db, "PRAGMA synchronous = FULL");
    return db;
}

/*  Applies every batch through ingest, one transaction each, in the order
    sites would interleave.  Returns the seconds spent.  */
static double s_ingest(sqlite3 *db, dn_registry_site_t *sites)
{
    dn_ingest_t *ingest = dn_ingest_new(db);
    double start = s_now();
    if (!ingest)
        s_die("ingest");
    for (int b = 0; b < DN_BENCH_PER_SITE / DN_BENCH_BATCH; b++) {
        for (int s = 0; s < DN_BENCH_SITES; s++) {
            dn_ingest_result_t result;
            if (dn_tk_ingest(db, ingest, &sites[s], &s_batches[s][b], dn_time_now_ms(),
                             &result)) {
                fprintf(stderr, "bench_ledger: batch refused: %s\n", result.why);
                exit(1);
            }
        }
    }
    dn_ingest_destroy(&ingest);
    return s_now() - start;
}

int main(void)
{
    static dn_registry_site_t sites_a[DN_BENCH_SITES], sites_b[DN_BENCH_SITES];
    char root[] = "/tmp/dn-bench-ledger-XXXXXX", dir_a[64], dir_b[64], path[96];
    double ingest_s, ledger_s, verify_s, start;
    int64_t sales = (int64_t)DN_BENCH_SITES * DN_BENCH_PER_SITE, transfers;
    sqlite3 *a, *b;
    json_t *report = NULL;
    int rc;

    dn_log_init("bench_ledger", DN_LOG_WARN, 0);
    if (!mkdtemp(root))
        s_die("mkdtemp");
    snprintf(dir_a, sizeof dir_a, "%s/ledger", root);
    snprintf(dir_b, sizeof dir_b, "%s/ingest", root);
    snprintf(path, sizeof path, "mkdir -p %s %s", dir_a, dir_b);
    if (system(path) != 0)
        s_die("mkdir");
    printf("bench_ledger: building %lld signed sales and a tree of 10,000 partners...\n",
           (long long)sales);
    fflush(stdout);
    s_build();
    b = s_setup(dir_b, 0, sites_b);
    a = s_setup(dir_a, 1, sites_a);

    ingest_s = s_ingest(b, sites_b);
    ledger_s = s_ingest(a, sites_a);
    transfers = dn_bk_count(a, "SELECT count(*) FROM transfers");
    if (dn_bk_count(a, "SELECT count(*) FROM sales") != sales ||
        dn_bk_count(b, "SELECT count(*) FROM sales") != sales || transfers < sales ||
        dn_bk_count(b, "SELECT count(*) FROM transfers") != 0 ||
        dn_bk_count(a, "SELECT count(*) FROM sales WHERE held = 1") != 0)
        s_die("the counts are not exact");
    sqlite3_close(a);
    sqlite3_close(b);

    snprintf(path, sizeof path, "%s/%s", dir_a, DN_CENTRAL_DB_FILE);
    start = s_now();
    rc = dn_verify_run(path, &report, NULL, 0);
    verify_s = s_now() - start;
    if (rc || !json_is_true(json_object_get(report, "ok")))
        s_die("verify found differences");
    json_decref(report);

    double ingest_rate = sales / ingest_s, ledger_rate = sales / ledger_s;
    printf("ingest only           %8.0f sales/s  (%.2f s)\n", ingest_rate, ingest_s);
    printf("ingest + ledger       %8.0f sales/s  %8.0f transfers/s  (%lld transfers, %.2f s)\n",
           ledger_rate, transfers / ledger_s, (long long)transfers, ledger_s);
    printf("ratio ledger/ingest %.2f (target >= %.2f: %s)\n", ledger_rate / ingest_rate,
           DN_BENCH_TARGET, ledger_rate / ingest_rate >= DN_BENCH_TARGET ? "met" : "NOT MET");
    printf("verify                %.2f s over %lld events and %lld transfers\n", verify_s,
           (long long)sales, (long long)transfers);

    for (int s = 0; s < DN_BENCH_SITES; s++) {
        for (int bt = 0; bt < DN_BENCH_PER_SITE / DN_BENCH_BATCH; bt++)
            dn_tk_batch_free(&s_batches[s][bt]);
        dn_tk_site_destroy(&s_sites[s]);
    }
    snprintf(path, sizeof path, "rm -rf %s", root);
    if (system(path) != 0)
        fprintf(stderr, "bench_ledger: could not remove %s\n", root);
    return ledger_rate / ingest_rate >= DN_BENCH_TARGET ? 0 : 1;
}
