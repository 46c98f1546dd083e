/*  bench_sync -- end-to-end sync throughput against raw SQLite inserts.

    10 sites each record 10,000 sales offline (100,000 events), enroll, and
    then sync at the same time to one dealernet-server process over loopback
    with CurveZMQ.  Measured: wall time from the start of the syncs until
    every event is acknowledged (events/s end to end).  Baseline, in the
    same run: the same event and sale rows inserted straight into a fresh
    central.db in transactions of the same batch size (500).  Prints both
    rates and their ratio; the target is a ratio of at least 0.3.

    Needs the server binary: DN_BIN (default "bin") names its folder.
*/
#include "dn_benchkit.h"
#include "dn_central.h"
#include "dn_crypto.h"
#include "dn_db.h"
#include "dn_error.h"
#include "dn_log.h"
#include "dn_phones.h"
#include "dn_outbox.h"
#include "dn_record.h"
#include "dn_registry.h"
#include "dn_server.h"
#include "dn_store.h"
#include "dn_sync.h"
#include "dn_time.h"
#include "dn_wire.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DN_BENCH_SITES  10
#define DN_BENCH_EVENTS 10000 /* per site */
#define DN_BENCH_BATCH  DN_MAX_BATCH_EVENTS
#define DN_BENCH_TARGET 0.3

static char s_root[] = "/tmp/dn-bench-sync-XXXXXX";

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void s_die(const char *what)
{
    fprintf(stderr, "bench_sync: %s\n", what);
    exit(1);
}

/*  Runs fn(i) in one child process per site; fails if any child fails.  */
static void s_each_site(int (*fn)(int))
{
    pid_t pids[DN_BENCH_SITES];
    for (int i = 0; i < DN_BENCH_SITES; i++) {
        pids[i] = fork();
        if (pids[i] == 0)
            _exit(fn(i) ? 1 : 0);
    }
    for (int i = 0; i < DN_BENCH_SITES; i++) {
        int status;
        if (waitpid(pids[i], &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
            s_die("a site process failed");
    }
}

static void s_site_dir(int i, char *buf, size_t size)
{
    snprintf(buf, size, "%s/site%02d", s_root, i);
}

static int s_record(int i)
{
    char dir[256], code[16], why[256];
    dn_store_t *store;
    int rc;
    s_site_dir(i, dir, sizeof dir);
    snprintf(code, sizeof code, "SITE%02d", i);
    dn_record_line_t lines[2] = {{"RICE5", 2, 1, 5990, "", 0}, {"OIL1L", 1, 1, 1850, "", 0}};
    dn_sale_input_t sale = {lines, 2, NULL, "store", NULL, NULL};
    if (!(store = dn_store_open(dir, &rc)))
        return 1;
    for (int n = 0; n < DN_BENCH_EVENTS; n++) {
        dn_record_result_t result;
        lines[0].quantity = 1 + n % 5;
        if (dn_record_sale(store, &sale, &result, why, sizeof why)) {
            fprintf(stderr, "bench_sync: %s\n", why);
            return 1;
        }
    }
    dn_store_destroy(&store);
    return 0;
}

static int s_sync(int i)
{
    char dir[256];
    dn_store_t *store;
    dn_sync_options_t options = {120000, 10000, 0, NULL, 0, 0};
    dn_sync_result_t result;
    int rc;
    s_site_dir(i, dir, sizeof dir);
    if (!(store = dn_store_open(dir, &rc)))
        return 1;
    rc = dn_sync_run(store, dir, &options, &result);
    if (rc)
        fprintf(stderr, "bench_sync: site %d: %s\n", i, result.error);
    dn_store_destroy(&store);
    return rc || result.acked_through != DN_BENCH_EVENTS;
}

/*  The baseline: the rows the server writes for these events, inserted
    straight into a fresh central.db in batches of DN_BENCH_BATCH.  Decoding
    happens before the clock starts: only the inserts are timed.  */
static double s_baseline(void)
{
    char dir[256], path[256];
    sqlite3 *db;
    sqlite3_stmt *ev_stmt, *sale_stmt, *line_stmt;
    double start, elapsed = 0;
    snprintf(dir, sizeof dir, "%s/raw", s_root);
    snprintf(path, sizeof path, "mkdir -p '%s'", dir);
    if (system(path) != 0 || dn_central_open(dir, DN_DB_CREATE, &db))
        s_die("cannot create the baseline database");
    dn_db_exec(db, "INSERT INTO partners(id, code, name, kind, created_ms) "
                   "VALUES (1, 'D1', 'D', 'dealer', 0)");
    dn_db_prepare(db,
                  "INSERT INTO events(id, site_id, seq, kind, recorded_at_ms, received_ms, "
                  "body, hash) VALUES (?, ?, ?, 'sale', ?, ?, ?, ?)",
                  &ev_stmt);
    dn_db_prepare(db,
                  "INSERT INTO sales(eid, site_id, recorded_at_ms, total, currency, channel, "
                  "seller) VALUES (?, ?, ?, ?, 'CNY', 1, 'D1')",
                  &sale_stmt);
    dn_db_prepare(db,
                  "INSERT INTO sale_lines(sale_eid, line_no, sku, quantity, unit_price, "
                  "category) VALUES (?, ?, ?, ?, ?, NULL)",
                  &line_stmt);
    for (int i = 0; i < DN_BENCH_SITES; i++) {
        char site_dir[256], sql[160];
        dn_store_t *store;
        int rc;
        s_site_dir(i, site_dir, sizeof site_dir);
        snprintf(sql, sizeof sql,
                 "INSERT INTO sites(id, code, partner_id, created_ms) VALUES (%d, 'S%d', 1, 0)",
                 i + 1, i);
        dn_db_exec(db, sql);
        if (!(store = dn_store_open(site_dir, &rc)))
            s_die("cannot reopen a site");
        for (uint64_t from = 1; from <= DN_BENCH_EVENTS; from += DN_BENCH_BATCH) {
            dn_outbox_batch_t batch;
            Dealernet__Event *evs[DN_BENCH_BATCH];
            uint8_t hashes[DN_BENCH_BATCH][32];
            char why[DN_WHY_SIZE];
            if (dn_outbox_read(store, from, DN_BENCH_BATCH, DN_MAX_BATCH_BYTES, &batch))
                s_die("cannot read a batch");
            for (size_t k = 0; k < batch.n; k++) {
                if (dn_wire_event_unpack(batch.events[k].data, batch.events[k].len, &evs[k],
                                         why, sizeof why))
                    s_die(why);
                dn_sha256(batch.events[k].data, batch.events[k].len, hashes[k]);
            }
            start = s_now();
            dn_db_begin(db);
            for (size_t k = 0; k < batch.n; k++) {
                const Dealernet__Event *ev = evs[k];
                sqlite3_int64 eid;
                sqlite3_reset(ev_stmt);
                sqlite3_bind_blob(ev_stmt, 1, ev->id.data, 16, SQLITE_STATIC);
                sqlite3_bind_int(ev_stmt, 2, i + 1);
                sqlite3_bind_int64(ev_stmt, 3, (sqlite3_int64)ev->seq);
                sqlite3_bind_int64(ev_stmt, 4, ev->recorded_at_ms);
                sqlite3_bind_int64(ev_stmt, 5, ev->recorded_at_ms);
                sqlite3_bind_blob(ev_stmt, 6, batch.events[k].data, (int)batch.events[k].len,
                                  SQLITE_STATIC);
                sqlite3_bind_blob(ev_stmt, 7, hashes[k], 32, SQLITE_STATIC);
                if (sqlite3_step(ev_stmt) != SQLITE_DONE)
                    s_die(sqlite3_errmsg(db));
                eid = sqlite3_last_insert_rowid(db);
                sqlite3_reset(sale_stmt);
                sqlite3_bind_int64(sale_stmt, 1, eid);
                sqlite3_bind_int(sale_stmt, 2, i + 1);
                sqlite3_bind_int64(sale_stmt, 3, ev->recorded_at_ms);
                sqlite3_bind_int64(sale_stmt, 4, ev->sale->total);
                if (sqlite3_step(sale_stmt) != SQLITE_DONE)
                    s_die(sqlite3_errmsg(db));
                for (size_t l = 0; l < ev->sale->n_lines; l++) {
                    sqlite3_reset(line_stmt);
                    sqlite3_bind_int64(line_stmt, 1, eid);
                    sqlite3_bind_int64(line_stmt, 2, (sqlite3_int64)l + 1);
                    sqlite3_bind_text(line_stmt, 3, ev->sale->lines[l]->sku, -1,
                                      SQLITE_STATIC);
                    sqlite3_bind_int64(line_stmt, 4, ev->sale->lines[l]->quantity);
                    sqlite3_bind_int64(line_stmt, 5, ev->sale->lines[l]->unit_price);
                    if (sqlite3_step(line_stmt) != SQLITE_DONE)
                        s_die(sqlite3_errmsg(db));
                }
            }
            if (dn_db_commit(db))
                s_die("baseline commit failed");
            elapsed += s_now() - start;
            for (size_t k = 0; k < batch.n; k++)
                dn_wire_event_free(&evs[k]);
            dn_outbox_batch_free(&batch);
        }
        dn_store_destroy(&store);
    }
    sqlite3_finalize(ev_stmt);
    sqlite3_finalize(sale_stmt);
    sqlite3_finalize(line_stmt);
    sqlite3_close(db);
    return elapsed;
}

int main(void)
{
    const char *bin = getenv("DN_BIN") ? getenv("DN_BIN") : "bin";
    char srv[256], server_bin[512], sync_ep[64], admin_ep[64], key[41], why[256];
    char tokens[DN_BENCH_SITES][DN_TOKEN_TEXT_LEN + 1];
    int port = 20000 + getpid() % 20000;
    double start, sync_s, raw_s;
    sqlite3 *db;
    pid_t server;
    int64_t expires, count = -1;

    dn_log_init("bench_sync", DN_LOG_WARN, 0);
    if (!mkdtemp(s_root))
        s_die("mkdtemp");
    snprintf(srv, sizeof srv, "%s/srv", s_root);
    snprintf(sync_ep, sizeof sync_ep, "tcp://127.0.0.1:%d", port);
    snprintf(admin_ep, sizeof admin_ep, "tcp://127.0.0.1:%d", port + 1);
    if (dn_server_init(srv, sync_ep, admin_ep, NULL, key))
        s_die("server init failed");
    if (dn_central_open(srv, 0, &db) ||
        dn_registry_partner_add(db, "D1", "Dealer", "dealer", NULL, 0, why, sizeof why))
        s_die("cannot add the partner");
    for (int i = 0; i < DN_BENCH_SITES; i++) {
        char code[16], dir[256];
        snprintf(code, sizeof code, "SITE%02d", i);
        s_site_dir(i, dir, sizeof dir);
        if (dn_registry_site_add(db, code, "D1", dn_time_now_ms(), tokens[i], &expires, why,
                                 sizeof why) ||
            mkdir(dir, 0700) || dn_store_create(dir, code, "D1", "CNY")) {
            s_die("cannot add a site");
        }
        char keypath[300];
        snprintf(keypath, sizeof keypath, "%s/%s", dir, DN_AGENT_KEY_FILE);
        dn_key_t *k = dn_key_generate();
        if (!k || dn_key_save(k, keypath))
            s_die("cannot create a site key");
        dn_key_destroy(&k);
    }
    sqlite3_close(db);

    printf("bench_sync: recording %d sales at each of %d sites...\n", DN_BENCH_EVENTS,
           DN_BENCH_SITES);
    fflush(stdout);
    s_each_site(s_record);

    snprintf(server_bin, sizeof server_bin, "%s/dealernet-server", bin);
    server = fork();
    if (server == 0) {
        char log[300];
        snprintf(log, sizeof log, "%s/server.log", s_root);
        if (!freopen(log, "w", stderr))
            _exit(126);
        execl(server_bin, server_bin, "-d", srv, "run", (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < DN_BENCH_SITES; i++) {
        char dir[256];
        dn_store_t *store;
        int rc, tries = 0;
        s_site_dir(i, dir, sizeof dir);
        if (!(store = dn_store_open(dir, &rc)))
            s_die("cannot open a site");
        while ((rc = dn_sync_enroll(store, dir, sync_ep, key, tokens[i], 2000, why,
                                    sizeof why)) == DN_ETIMEDOUT &&
               ++tries < 10)
            ;
        dn_store_destroy(&store);
        if (rc)
            s_die(why);
    }

    printf("bench_sync: syncing %d events from %d sites at once...\n",
           DN_BENCH_SITES * DN_BENCH_EVENTS, DN_BENCH_SITES);
    fflush(stdout);
    start = s_now();
    s_each_site(s_sync);
    sync_s = s_now() - start;
    kill(server, SIGTERM);
    waitpid(server, NULL, 0);

    count = dn_bk_events_stored(srv);
    if (count != DN_BENCH_SITES * DN_BENCH_EVENTS)
        s_die("the server does not hold exactly every event");

    raw_s = s_baseline();
    double sync_rate = count / sync_s, raw_rate = count / raw_s;
    double ratio = sync_rate / raw_rate;
    printf("sync end to end       %9.0f events/s  (%lld events in %.2f s, CURVE, loopback)\n",
           sync_rate, (long long)count, sync_s);
    printf("raw sqlite batches    %9.0f events/s  (same rows, %d per transaction)\n",
           raw_rate, DN_BENCH_BATCH);
    printf("ratio sync/raw %.2f (target >= %.2f: %s)\n", ratio, DN_BENCH_TARGET,
           ratio >= DN_BENCH_TARGET ? "met" : "NOT MET");
    snprintf(srv, sizeof srv, "rm -rf '%s'", s_root);
    if (system(srv) != 0)
        fprintf(stderr, "bench_sync: could not remove %s\n", s_root);
    return ratio >= DN_BENCH_TARGET ? 0 : 1;
}
