/*  bench_agent -- recording speed of the agent against raw SQLite.

    Records 5,000 sales through the agent's own code path (dn_record_sale:
    catalog lookup, chain head, protobuf pack, SHA-256, event row, sale and
    line rows, one durable commit each) and, in the same run, 5,000
    single-row transactions of the same byte size straight into SQLite with
    the same pragmas (WAL, synchronous=FULL).  The two are interleaved in
    blocks so that drift in the machine's disk speed hits both alike.
    Prints sales/s, p50/p99 latency and the ratio agent/raw; the target is a
    ratio of at least 0.5 (the agent costs at most one extra raw commit).
*/
#include "dn_benchkit.h"
#include "dn_db.h"
#include "dn_error.h"
#include "dn_log.h"
#include "dn_record.h"
#include "dn_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DN_BENCH_SALES  5000
#define DN_BENCH_BLOCK  500
#define DN_BENCH_TARGET 0.5

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void s_report(const char *name, double *lat, int n, double total, double *rate)
{
    dn_bk_sort(lat, (size_t)n);
    *rate = n / total;
    printf("%-22s %8.0f /s   p50 %7.3f ms   p99 %7.3f ms\n", name, *rate,
           lat[n / 2] * 1e3, lat[(n * 99) / 100] * 1e3);
}

int main(void)
{
    static double agent_lat[DN_BENCH_SALES], raw_lat[DN_BENCH_SALES];
    static const dn_migration_t raw_schema[] = {
        {.sql = "CREATE TABLE events (seq INTEGER PRIMARY KEY, body BLOB NOT NULL)"}};
    char dir[] = "/tmp/dn-bench-XXXXXX", path[256], why[256];
    double agent_total = 0, raw_total = 0, agent_rate, raw_rate, ratio;
    dn_store_t *store;
    sqlite3 *raw;
    sqlite3_stmt *insert;
    uint8_t body[512];
    size_t body_len = 0;
    int rc, done = 0;

    dn_log_init("bench_agent", DN_LOG_WARN, 0);
    if (!mkdtemp(dir))
        return 1;
    if (dn_store_create(dir, "BENCH1", "D1", "CNY") || !(store = dn_store_open(dir, &rc))) {
        fprintf(stderr, "bench_agent: cannot create the agent store in %s\n", dir);
        return 1;
    }
    dn_store_catalog_set(store, "RICE5", 5990, "rice");
    snprintf(path, sizeof path, "%s/raw.db", dir);
    if (dn_db_open(path, DN_DB_CREATE, raw_schema, 1, &raw) ||
        dn_db_prepare(raw, "INSERT INTO events(body) VALUES (?)", &insert))
        return 1;

    dn_record_line_t lines[2] = {{"RICE5", 2, 0, 0, "", 0}, {"OIL1L", 1, 1, 1250, "", 0}};
    dn_sale_input_t sale = {lines, 2, "13800138000", "store", NULL, NULL};

    while (done < DN_BENCH_SALES) {
        /* Agent path.  */
        for (int i = done; i < done + DN_BENCH_BLOCK; i++) {
            dn_record_result_t result;
            double t0 = s_now();
            rc = dn_record_sale(store, &sale, &result, why, sizeof why);
            agent_lat[i] = s_now() - t0;
            agent_total += agent_lat[i];
            if (rc) {
                fprintf(stderr, "bench_agent: sale failed: %s\n", why);
                return 1;
            }
        }
        /* Raw SQLite: the same number of one-row transactions of an event's
           size (the size of the stored sale event, read once).  */
        if (body_len == 0) {
            sqlite3_stmt *q;
            dn_db_prepare(dn_store_db(store), "SELECT body FROM events LIMIT 1", &q);
            if (sqlite3_step(q) == SQLITE_ROW)
                body_len = (size_t)sqlite3_column_bytes(q, 0);
            sqlite3_finalize(q);
            memset(body, 0xA5, sizeof body);
        }
        for (int i = done; i < done + DN_BENCH_BLOCK; i++) {
            double t0 = s_now();
            body[i % body_len] ^= 1;
            if (dn_db_begin(raw))
                return 1;
            sqlite3_bind_blob(insert, 1, body, (int)body_len, SQLITE_STATIC);
            if (sqlite3_step(insert) != SQLITE_DONE || dn_db_commit(raw))
                return 1;
            sqlite3_reset(insert);
            raw_lat[i] = s_now() - t0;
            raw_total += raw_lat[i];
        }
        done += DN_BENCH_BLOCK;
    }
    sqlite3_finalize(insert);
    sqlite3_close(raw);
    dn_store_destroy(&store);

    printf("bench_agent: %d sales, event body %zu bytes, one durable commit each\n",
           DN_BENCH_SALES, body_len);
    s_report("agent dn_record_sale", agent_lat, DN_BENCH_SALES, agent_total, &agent_rate);
    s_report("raw sqlite one row", raw_lat, DN_BENCH_SALES, raw_total, &raw_rate);
    ratio = agent_rate / raw_rate;
    printf("ratio agent/raw %.2f (target >= %.2f: %s)\n", ratio, DN_BENCH_TARGET,
           ratio >= DN_BENCH_TARGET ? "met" : "NOT MET");

    snprintf(path, sizeof path, "rm -rf '%s'", dir);
    if (system(path) != 0)
        fprintf(stderr, "bench_agent: could not remove %s\n", dir);
    return ratio >= DN_BENCH_TARGET ? 0 : 1;
}
