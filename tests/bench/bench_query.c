/*  bench_query -- an honest site's sync latency while `verify` runs.

    HQ's queries must not stall the shops (issue 15): a shop that syncs
    while HQ verifies a large ledger should wait about as long as on an
    idle server.  This measures it on a real dealernet-server.

    The data: a central.db of at least 1,000,000 transfers that `verify`
    accepts, made through the server's real ingest path (dn_tk_ingest, in
    signed batches of 500): 20 sites of HQ selling for the 6,561 resellers
    at the bottom of an 8-level tree (fan-out 3, 9,840 partners) under an
    8-level plan with a rice table, so a sale of rice and oil posts 16
    transfers and one of rice alone 8; each site signs up 100 members
    referred by resellers, one sale in four is to one of them (referral
    bonus and purchase share) and one in forty is half refunded
    (clawbacks).  It takes a minute or two to make, so it is made once and
    kept, a whole server folder, as DN_BENCH_CACHE/query-vN (make bench:
    $(B)/bench; unset: beside this program; N is DN_QB_VERSION, raised
    whenever the data changes); each run works on a copy.

    The site: enrolled as a shop is (dn_sync_enroll) under a reseller of
    the tree, driven by the agent's own code in this process: each sample
    is one sale recorded (dn_record_sale) and then one full sync
    (dn_sync_run: a new CURVE connection, Hello .. Welcome, the batch and
    its ack, the pulls), timed from the sync's start to its return.  Its
    reply timeout is long, so a stalled server shows as latency, not as
    reconnections.  A sync that fails all the same (a server whose loop
    cannot answer the CURVE handshake's ZAP request within its 10 s
    handshake interval drops the connection) is tried again at once, as
    the most patient shop would, and the sample lasts until the sale is
    delivered; the failures are counted and printed.  A pause of
    DN_QB_GAP_MS between samples keeps the site from taking the machine.

    Idle: DN_QB_SAMPLES syncs, half before the busy phase and half after
    it, so that a drift in the machine's load hits both sides.  Busy:
    `dealernet-hq verify --json` run again the moment it ends (a thread of
    this program waits for it), while the site syncs, for at least
    DN_QB_SAMPLES syncs and until one verify run has ended, or
    DN_QB_BUSY_MAX_S seconds, whichever comes first (a server that stalls
    for a whole verify per round trip gets only a few samples).  Every
    verify run must say ok, and at least one ended in the busy phase over
    at least DN_QB_TRANSFERS transfers.

    Prints p50 and p99 of both, the verify runs that overlapped the busy
    syncs and the share of the busy phase a verify was running, the CPU
    the server and this program used, and the ratios busy/idle; the target
    is a p99 ratio of at most DN_QB_TARGET.  Exits 1 when it is missed or
    when the measure is not what it claims.

    Needs the programs: DN_BIN (default "bin") names their folder.
*/
#include "dn_benchkit.h"
#include "dn_central.h"
#include "dn_crypto.h"
#include "dn_db.h"
#include "dn_error.h"
#include "dn_log.h"
#include "dn_meta.h"
#include "dn_plan.h"
#include "dn_record.h"
#include "dn_registry.h"
#include "dn_server.h"
#include "dn_store.h"
#include "dn_sync.h"
#include "dn_testkit.h"
#include "dn_time.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define DN_QB_VERSION      1 /* the cached database's make: raise when the data changes */
#define DN_QB_TRANSFERS    1000000 /* at least this many */
#define DN_QB_SITES        20
#define DN_QB_BATCH        500
#define DN_QB_FANOUT       3
#define DN_QB_DEPTH        8    /* partner levels below HQ; the sellers are the last */
#define DN_QB_SELLERS      6561 /* DN_QB_FANOUT ^ DN_QB_DEPTH */
#define DN_QB_MEMBERS      100  /* signed up at each site */
#define DN_QB_T0           1772323200000LL /* 2026-03-01T00:00:00Z */
#define DN_QB_SAMPLES      200 /* idle syncs (half before, half after); busy at least */
#define DN_QB_WARMUP       5   /* syncs before counting (the first pulls) */
#define DN_QB_GAP_MS       20
#define DN_QB_BUSY_MAX_S   150
#define DN_QB_MAX_RUNS     1024
#define DN_QB_SAMPLE_MAX_S 600 /* a sale not delivered by then fails the run */
#define DN_QB_TARGET       3.0
#define DN_QB_HONEST       "HONEST"
#define DN_QB_HONEST_OF    "P8-00000" /* the honest site's partner, a reseller */

static const char *s_plan =
    "[plan]\neffective = 2026-01-01\ncurrency = CNY\ncap_bps = 1500\n"
    "[levels]\n0 = 500\n1 = 300\n2 = 200\n3 = 100\n4 = 100\n5 = 100\n6 = 50\n7 = 50\n"
    "[category:rice]\n0 = 400\n1 = 200\n2 = 100\n3 = 100\n"
    "4 = 50\n5 = 50\n6 = 25\n7 = 25\n"
    "[referral]\nfirst_purchase_bonus = 5.00\npurchase_bps = 100\npurchase_days = 365\n";

static pid_t s_server = -1;
static char s_root[] = "/tmp/dn-bench-query-XXXXXX"; /* this run's folder, once made */
static int s_root_made;
static int s_verify_state(pid_t *pid);

/*  Fails the run: stops the server and a verify under way, exits 1.  */
static void s_die(const char *what)
{
    pid_t hq = 0;
    s_verify_state(&hq);
    fprintf(stderr, "bench_query: %s\n", what);
    if (hq > 0)
        kill(hq, SIGTERM);
    if (s_server > 0) {
        kill(s_server, SIGTERM);
        waitpid(s_server, NULL, 0);
    }
    if (s_root_made)
        dn_tk_remove_tree(s_root);
    exit(1);
}

/* -- the database ------------------------------------------------------------ */

typedef struct {
    dn_tk_site_t *tk;
    int64_t events; /* recorded so far: the clock of the next */
    int64_t sales;
    int members;    /* signed up so far */
    int refund_due; /* the last sale is to be half refunded next */
    uint8_t last_sale[DN_ID_BYTES];
    int64_t last_total;
} s_maker_t;

static void s_partner_code(char *buf, size_t size, int level, int i)
{
    snprintf(buf, size, "P%d-%05d", level, i);
}

static void s_member_phone(char *buf, size_t size, int site, int member)
{
    snprintf(buf, size, "+86138%02d%06d", site, member);
}

/*  The partner tree and the plan in db.  */
static void s_make_tree(sqlite3 *db)
{
    static const char *const kinds[DN_QB_DEPTH + 1] = {"hq",     "region", "distributor",
                                                       "dealer", "dealer", "dealer",
                                                       "dealer", "dealer", "reseller"};
    char why[256], code[16], parent[16];
    dn_plan_t plan;
    int count = 1;
    if (dn_registry_partner_add(db, "HQ", "HQ", "hq", NULL, 0, why, sizeof why))
        s_die(why);
    for (int level = 1; level <= DN_QB_DEPTH; level++) {
        count *= DN_QB_FANOUT;
        for (int i = 0; i < count; i++) {
            s_partner_code(code, sizeof code, level, i);
            if (level == 1)
                snprintf(parent, sizeof parent, "HQ");
            else
                s_partner_code(parent, sizeof parent, level - 1, i / DN_QB_FANOUT);
            if (dn_registry_partner_add(db, code, code, kinds[level], parent, 0, why,
                                        sizeof why))
                s_die(why);
        }
    }
    if (dn_plan_set(db, s_plan, 0, &plan, why, sizeof why))
        s_die(why);
}

/*  Records site s's next event: its members' sign-ups first, then sales,
    each fortieth followed by the refund of half of it.  */
static void s_make_event(s_maker_t *m, int s)
{
    char seller[16], phone[24], why[DN_WHY_SIZE] = "event";
    dn_tk_event_t e;
    int64_t at = DN_QB_T0 + m->events * 60000 + s * 1000;
    int rc;
    if (m->members < DN_QB_MEMBERS) {
        s_member_phone(phone, sizeof phone, s, m->members);
        s_partner_code(seller, sizeof seller, DN_QB_DEPTH,
                       (s * 997 + m->members * 7) % DN_QB_SELLERS);
        rc = dn_tk_signup(&e, at, phone, NULL, NULL, seller);
        if (rc == 0)
            rc = dn_tk_record(m->tk, &e.ev, at, NULL, why, sizeof why);
        m->members++;
    } else if (m->refund_due) {
        dn_tk_refund(&e, m->last_sale, m->last_total / 2, NULL, 0);
        rc = dn_tk_record(m->tk, &e.ev, at, NULL, why, sizeof why);
        m->refund_due = 0;
    } else {
        int64_t n = m->sales++;
        dn_tk_line_t lines[2] = {{"RICE5", 1 + n % 3, 5990, "rice"},
                                 {"OIL1L", 1, 1850 + n % 7, NULL}};
        s_partner_code(seller, sizeof seller, DN_QB_DEPTH,
                       (int)((s * 997 + n * 31) % DN_QB_SELLERS));
        s_member_phone(phone, sizeof phone, s, (int)(n / 4 % DN_QB_MEMBERS));
        rc = dn_tk_sale(&e, seller, DEALERNET__CHANNEL__CHANNEL_STORE,
                        n % 4 == 0 ? phone : NULL, lines, n % 3 == 0 ? 1 : 2);
        if (rc == 0)
            rc = dn_tk_record(m->tk, &e.ev, at, m->last_sale, why, sizeof why);
        m->last_total = e.sale.total;
        m->refund_due = n % 40 == 39;
    }
    if (rc)
        s_die(why);
    m->events++;
}

/*  Makes the server folder dir (which must not exist) with the data
    described at the top, through a folder beside it renamed into place
    at the end, so that a run cut short leaves no half-made cache.  */
static void s_make(const char *dir)
{
    static s_maker_t makers[DN_QB_SITES];
    char tmp[4096], key[41], why[256];
    double start = dn_bk_now();
    dn_ingest_t *ingest;
    int64_t transfers = 0;
    sqlite3 *db;

    printf("bench_query: making a central.db of %d+ transfers through ingest (once; "
           "kept as %s)...\n",
           DN_QB_TRANSFERS, dir);
    fflush(stdout);
    snprintf(tmp, sizeof tmp, "%s.tmp%d", dir, (int)getpid());
    dn_tk_remove_tree(tmp);
    /* placeholder endpoints: each run records its own ports in its copy */
    if (dn_server_init(tmp, "tcp://127.0.0.1:7700", "tcp://127.0.0.1:7701", NULL, key) ||
        dn_central_open(tmp, 0, &db))
        s_die("cannot create the server folder of the cache");
    /* a cache, not a ledger: a crash here means making it again */
    dn_db_exec(db, "PRAGMA synchronous = OFF");
    s_make_tree(db);
    for (int s = 0; s < DN_QB_SITES; s++) {
        char code[16];
        uint8_t curve[DN_CURVE_KEY_BYTES];
        snprintf(code, sizeof code, "S%02d", s);
        dn_tk_curve(curve, (uint8_t)(s * 8));
        if (!(makers[s].tk = dn_tk_site_new(code, NULL)) ||
            dn_tk_enroll(db, code, "HQ", curve, makers[s].tk->key, 1, 2,
                         &makers[s].tk->reg, why, sizeof why))
            s_die("cannot enroll the cache's sites");
    }
    if (!(ingest = dn_ingest_new(db)))
        s_die("ingest");
    while (transfers < DN_QB_TRANSFERS) {
        for (int s = 0; s < DN_QB_SITES; s++) {
            dn_tk_batch_t batch;
            dn_ingest_result_t result;
            while (makers[s].tk->n_pending < DN_QB_BATCH)
                s_make_event(&makers[s], s);
            if (dn_tk_batch(makers[s].tk, &batch))
                s_die("sign");
            if (dn_tk_ingest(db, ingest, &makers[s].tk->reg, &batch, dn_time_now_ms(),
                             &result)) {
                fprintf(stderr, "bench_query: batch refused: %s\n", result.why);
                s_die("the cache's data is not what the server takes");
            }
            dn_tk_batch_free(&batch);
        }
        transfers = dn_bk_count(db, "SELECT count(*) FROM transfers");
        printf("bench_query: %lld transfers of %d (%.0f s)\n", (long long)transfers,
               DN_QB_TRANSFERS, dn_bk_now() - start);
        fflush(stdout);
    }
    dn_ingest_destroy(&ingest);
    for (int s = 0; s < DN_QB_SITES; s++)
        dn_tk_site_destroy(&makers[s].tk);
    if (dn_bk_count(db, "SELECT count(*) FROM sales WHERE held = 1") != 0)
        s_die("the cache's data has held sales");
    if (dn_db_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)") ||
        sqlite3_close(db) != SQLITE_OK)
        s_die("cannot close the cache's database");
    if (rename(tmp, dir) != 0) {
        /* another run made it first: use theirs */
        if (errno != EEXIST && errno != ENOTEMPTY)
            s_die("cannot put the cache in place");
        dn_tk_remove_tree(tmp);
    }
    printf("bench_query: made in %.0f s\n", dn_bk_now() - start);
}

/*  User + system seconds of usage.  */
static double s_cpu_s(const struct rusage *usage)
{
    return (double)usage->ru_utime.tv_sec + usage->ru_utime.tv_usec / 1e6 +
           (double)usage->ru_stime.tv_sec + usage->ru_stime.tv_usec / 1e6;
}

/* -- verify, again and again -------------------------------------------------- */

typedef struct {
    double start, end;
    int status;   /* the exit code; -1: killed */
    double cpu_s; /* dealernet-hq's own CPU time */
    int ok;       /* said ok */
    int64_t events, transfers;
} s_run_t;

static struct {
    pthread_mutex_t lock;
    int stop;
    const char *bin, *dir, *admin_ep, *key, *out, *err;
    pid_t pid; /* the run under way, or 0 */
    s_run_t runs[DN_QB_MAX_RUNS];
    int n;
} s_verify = {.lock = PTHREAD_MUTEX_INITIALIZER};

/*  Runs `dealernet-hq verify --json` until told to stop, again the moment
    one ends, and records each run.  */
static void *s_verify_loop(void *arg)
{
    static const char *const args[] = {"verify", "--json", NULL};
    (void)arg;
    for (;;) {
        s_run_t run = {0};
        struct rusage usage;
        json_t *report;
        int status;
        pid_t pid;
        pthread_mutex_lock(&s_verify.lock);
        if (s_verify.stop || s_verify.n == DN_QB_MAX_RUNS) {
            pthread_mutex_unlock(&s_verify.lock);
            return NULL;
        }
        pthread_mutex_unlock(&s_verify.lock);
        run.start = dn_bk_now();
        pid = dn_bk_hq_start(s_verify.bin, s_verify.dir, s_verify.admin_ep, s_verify.key,
                             s_verify.out, s_verify.err, args);
        pthread_mutex_lock(&s_verify.lock);
        s_verify.pid = pid > 0 ? pid : 0;
        pthread_mutex_unlock(&s_verify.lock);
        if (pid < 0 || wait4(pid, &status, 0, &usage) < 0) {
            run.status = -1;
        } else {
            run.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
            run.cpu_s = s_cpu_s(&usage);
        }
        run.end = dn_bk_now();
        if ((report = json_load_file(s_verify.out, 0, NULL))) {
            run.ok = json_is_true(json_object_get(report, "ok"));
            run.events = json_integer_value(json_object_get(report, "events"));
            run.transfers = json_integer_value(json_object_get(report, "transfers"));
            json_decref(report);
        }
        pthread_mutex_lock(&s_verify.lock);
        s_verify.pid = 0;
        s_verify.runs[s_verify.n++] = run;
        pthread_mutex_unlock(&s_verify.lock);
        if (run.status != 0 || !run.ok) {
            fprintf(stderr, "bench_query: verify exited %d (report in %s, %s)\n",
                    run.status, s_verify.out, s_verify.err);
            return NULL;
        }
    }
}

/*  Verify runs that have ended; the one under way's dealernet-hq (or 0)
    in *pid when pid is not NULL.  */
static int s_verify_state(pid_t *pid)
{
    int n;
    pthread_mutex_lock(&s_verify.lock);
    n = s_verify.n;
    if (pid)
        *pid = s_verify.pid;
    pthread_mutex_unlock(&s_verify.lock);
    return n;
}

/* -- the honest site ------------------------------------------------------------ */

typedef struct {
    dn_store_t *store;
    char dir[4096];
    double *lat; /* seconds, one a sample */
    size_t n, room;
    int reconnects;
    int failed;        /* syncs that failed and were tried again */
    char failure[256]; /* the first one's error */
} s_site_t;

/*  One sample: a sale, then a full sync, timed; kept in lat when keep.  */
static void s_sample(s_site_t *site, int keep)
{
    dn_record_line_t lines[2] = {{"RICE5", 2, 1, 5990, "", 0},
                                 {"OIL1L", 1, 1, 1850, "", 0}};
    dn_sale_input_t sale = {lines, 2, NULL, "store", NULL, NULL};
    dn_sync_options_t options = {600000, 300000, 0, NULL, 0, 0};
    dn_sync_result_t result;
    dn_record_result_t recorded;
    char why[256];
    double start, took;
    struct timespec gap = {0, DN_QB_GAP_MS * 1000000L};
    int rc;
    if (dn_record_sale(site->store, &sale, &recorded, why, sizeof why))
        s_die(why);
    start = dn_bk_now();
    for (;;) {
        rc = dn_sync_run(site->store, site->dir, &options, &result);
        if (result.connects > 1)
            site->reconnects += result.connects - 1;
        if (rc == 0)
            break;
        /* A server that cannot answer for a while makes the sync fail
           (its handshake dropped, no reply): the shop tries again, here
           at once, and the sample lasts until its sale is delivered.  */
        if ((rc != DN_ECONFIG && rc != DN_ETIMEDOUT && rc != DN_EAGAIN) ||
            dn_bk_now() - start > DN_QB_SAMPLE_MAX_S) {
            fprintf(stderr, "bench_query: sync: %s\n", result.error);
            s_die("the honest site's sync did not deliver its sale");
        }
        if (site->failed++ == 0)
            snprintf(site->failure, sizeof site->failure, "%s", result.error);
    }
    took = dn_bk_now() - start;
    if (result.pending != 0 || result.acked_through != (uint64_t)recorded.seq)
        s_die("the honest site's sync did not deliver its sale");
    if (keep) {
        if (site->n == site->room) {
            site->room = site->room ? site->room * 2 : 1024;
            if (!(site->lat = realloc(site->lat, site->room * sizeof *site->lat)))
                s_die("out of memory");
        }
        site->lat[site->n++] = took;
    }
    nanosleep(&gap, NULL);
}

/*  The site DN_QB_HONEST in dir, enrolled with the server at sync_ep
    with token (retried while the server starts: it may migrate the
    copy's schema first).  */
static void s_honest_enroll(s_site_t *site, const char *sync_ep, const char *key,
                            const char *token)
{
    char path[4200], why[256];
    dn_key_t *k;
    int rc, tries = 0;
    if (mkdir(site->dir, 0700) ||
        dn_store_create(site->dir, DN_QB_HONEST, DN_QB_HONEST_OF, "CNY"))
        s_die("cannot create the honest site");
    snprintf(path, sizeof path, "%s/%s", site->dir, DN_AGENT_KEY_FILE);
    if (!(k = dn_key_generate()) || dn_key_save(k, path))
        s_die("cannot create the honest site's key");
    dn_key_destroy(&k);
    if (!(site->store = dn_store_open(site->dir, &rc)))
        s_die("cannot open the honest site");
    while ((rc = dn_sync_enroll(site->store, site->dir, sync_ep, key, token, 2000, why,
                                sizeof why)) == DN_ETIMEDOUT &&
           ++tries < 60)
        ;
    if (rc)
        s_die(why);
}

/*  p50 and p99 of lat[from .. to) in ms.  */
static void s_stats(const double *lat, size_t from, size_t to, double *p50, double *p99)
{
    size_t n = to - from;
    double *v = malloc(n * sizeof *v);
    if (!v || n == 0)
        s_die("no samples");
    memcpy(v, lat + from, n * sizeof *v);
    dn_bk_sort(v, n);
    *p50 = dn_bk_percentile(v, n, 50) * 1e3;
    *p99 = dn_bk_percentile(v, n, 99) * 1e3;
    free(v);
}

int main(int argc, char **argv)
{
    const char *bin = getenv("DN_BIN") ? getenv("DN_BIN") : "bin";
    const char *cache_root = getenv("DN_BENCH_CACHE");
    char cache[4096], srv[4200], log[4200];
    char cmd[8500], sync_ep[64], admin_ep[64], key[64], token[DN_TOKEN_TEXT_LEN + 1];
    char out[4200], err[4200], why[256];
    int port = 20000 + getpid() % 20000, ok_runs = 0, overlapped = 0, missed;
    int64_t transfers, events, expires, verified = 0;
    double idle_p50, idle_p99, busy_p50, busy_p99, busy_start, busy_end, covered = 0;
    double cpu[6], run_s = 0, hq_cpu = 0; /* the server's, at the phases' ends */
    double load[1] = {0};
    struct rusage self;
    size_t idle_before, busy_from, busy_to;
    s_site_t site = {0};
    pthread_t thread;
    struct stat st;
    sqlite3 *db;

    (void)argc;
    dn_log_init("bench_query", DN_LOG_WARN, 0);
    if (!cache_root) { /* beside this program: $(B)/tests/bench */
        char *slash = strrchr(argv[0], '/');
        if (slash)
            *slash = '\0';
        cache_root = slash ? argv[0] : ".";
    }
    snprintf(cache, sizeof cache, "%s/query-v%d", cache_root, DN_QB_VERSION);
    if (stat(cache, &st) != 0) {
        snprintf(cmd, sizeof cmd, "mkdir -p '%s'", cache);
        if (system(cmd) != 0 || rmdir(cache) != 0)
            s_die("cannot make the cache's folder");
        s_make(cache);
    }

    /* this run's copy, on this run's ports, with the honest site added */
    if (!mkdtemp(s_root))
        s_die("mkdtemp");
    s_root_made = 1;
    snprintf(srv, sizeof srv, "%s/srv", s_root);
    snprintf(cmd, sizeof cmd, "cp -r '%s' '%s'", cache, srv);
    if (system(cmd) != 0)
        s_die("cannot copy the cache");
    snprintf(sync_ep, sizeof sync_ep, "tcp://127.0.0.1:%d", port);
    snprintf(admin_ep, sizeof admin_ep, "tcp://127.0.0.1:%d", port + 1);
    if (dn_central_open(srv, 0, &db) ||
        dn_db_meta_set(db, DN_META_SYNC_ENDPOINT, sync_ep) ||
        dn_db_meta_set(db, DN_META_ADMIN_ENDPOINT, admin_ep) ||
        dn_db_meta_get(db, DN_META_SERVER_KEY, key, sizeof key))
        s_die("cannot set the copy's endpoints");
    if (dn_registry_site_add(db, DN_QB_HONEST, DN_QB_HONEST_OF, dn_time_now_ms(), token,
                             &expires, why, sizeof why))
        s_die(why);
    transfers = dn_bk_count(db, "SELECT count(*) FROM transfers");
    events = dn_bk_count(db, "SELECT count(*) FROM events");
    sqlite3_close(db);
    if (transfers < DN_QB_TRANSFERS)
        s_die("the cache holds too few transfers (remove it to make it again)");

    snprintf(log, sizeof log, "%s/server.log", s_root);
    if ((s_server = dn_bk_server_start(bin, srv, log)) < 0)
        s_die("fork");
    snprintf(site.dir, sizeof site.dir, "%s/honest", s_root);
    s_honest_enroll(&site, sync_ep, key, token);
    getloadavg(load, 1);
    printf("bench_query: %lld transfers, %lld events; one honest site syncing, load "
           "average %.1f\n",
           (long long)transfers, (long long)events, load[0]);
    fflush(stdout);

    for (int i = 0; i < DN_QB_WARMUP; i++)
        s_sample(&site, 0);
    cpu[0] = dn_bk_cpu_s(s_server);
    for (int i = 0; i < DN_QB_SAMPLES / 2; i++)
        s_sample(&site, 1);
    idle_before = site.n;
    cpu[1] = dn_bk_cpu_s(s_server);

    /* busy: verify from the thread, the syncs from here */
    snprintf(out, sizeof out, "%s/verify.json", s_root);
    snprintf(err, sizeof err, "%s/verify.err", s_root);
    s_verify.bin = bin;
    s_verify.dir = srv;
    s_verify.admin_ep = admin_ep;
    s_verify.key = key;
    s_verify.out = out;
    s_verify.err = err;
    printf("bench_query: syncing while dealernet-hq verify runs again and again (at most "
           "%d s)...\n",
           DN_QB_BUSY_MAX_S);
    fflush(stdout);
    if (pthread_create(&thread, NULL, s_verify_loop, NULL) != 0)
        s_die("cannot start the verify thread");
    usleep(500000); /* its request reaches the server */
    busy_start = dn_bk_now();
    cpu[2] = dn_bk_cpu_s(s_server);
    busy_from = site.n;
    while (dn_bk_now() - busy_start < DN_QB_BUSY_MAX_S &&
           (site.n - busy_from < DN_QB_SAMPLES || s_verify_state(NULL) == 0))
        s_sample(&site, 1);
    busy_end = dn_bk_now();
    cpu[3] = dn_bk_cpu_s(s_server);
    busy_to = site.n;
    pthread_mutex_lock(&s_verify.lock);
    s_verify.stop = 1;
    pthread_mutex_unlock(&s_verify.lock);
    printf("bench_query: waiting for the last verify run to end...\n");
    fflush(stdout);
    pthread_join(thread, NULL);
    cpu[4] = dn_bk_cpu_s(s_server);

    for (int i = 0; i < DN_QB_SAMPLES - DN_QB_SAMPLES / 2; i++)
        s_sample(&site, 1);
    cpu[5] = dn_bk_cpu_s(s_server);
    kill(s_server, SIGTERM);
    waitpid(s_server, NULL, 0);
    s_server = -1;
    dn_store_destroy(&site.store);

    for (int i = 0; i < s_verify.n; i++) {
        const s_run_t *run = &s_verify.runs[i];
        double from = run->start > busy_start ? run->start : busy_start;
        double to = run->end < busy_end ? run->end : busy_end;
        if (run->status != 0 || !run->ok)
            s_die("verify did not say ok");
        if (to > from) {
            overlapped++;
            covered += to - from;
        }
        if (run->end <= busy_end && run->transfers >= DN_QB_TRANSFERS) {
            ok_runs++;
            verified = run->transfers;
        }
        run_s += run->end - run->start;
        hq_cpu += run->cpu_s;
    }
    if (ok_runs == 0)
        s_die("no verify run over every transfer ended during the busy syncs");
    if (site.failed)
        printf(
            "bench_query: %d syncs failed and were tried again at once (in the sample's "
            "time); the first: %s\n",
            site.failed, site.failure);

    /* idle: before and after together; busy: the busy phase's */
    {
        double *idle = malloc((site.n - busy_to + idle_before) * sizeof *idle);
        if (!idle)
            s_die("out of memory");
        memcpy(idle, site.lat, idle_before * sizeof *idle);
        memcpy(idle + idle_before, site.lat + busy_to, (site.n - busy_to) * sizeof *idle);
        s_stats(idle, 0, idle_before + site.n - busy_to, &idle_p50, &idle_p99);
        free(idle);
    }
    s_stats(site.lat, busy_from, busy_to, &busy_p50, &busy_p99);
    missed = !(busy_p99 <= DN_QB_TARGET * idle_p99);

    printf(
        "sync idle             p50 %9.1f ms   p99 %9.1f ms   (%zu syncs: %zu before the "
        "busy phase, %zu after)\n",
        idle_p50, idle_p99, idle_before + site.n - busy_to, idle_before,
        site.n - busy_to);
    printf("sync during verify    p50 %9.1f ms   p99 %9.1f ms   (%zu syncs in %.1f s)\n",
           busy_p50, busy_p99, busy_to - busy_from, busy_end - busy_start);
    printf(
        "verify                %d runs overlapped the busy syncs, %d ended in it ok over "
        "%lld transfers; %.1f s a run; running %.1f%% of the busy phase\n",
        overlapped, ok_runs, (long long)verified, run_s / s_verify.n,
        100.0 * covered / (busy_end - busy_start));
    getrusage(RUSAGE_SELF, &self);
    printf("cpu                   server %.1f s in the idle syncs, %.1f s busy (%.2f "
           "cores); this bench "
           "%.1f s, dealernet-hq %.1f s; %d reconnections\n",
           (cpu[1] - cpu[0]) + (cpu[5] - cpu[4]), cpu[3] - cpu[2],
           (cpu[3] - cpu[2]) / (busy_end - busy_start), s_cpu_s(&self), hq_cpu,
           site.reconnects);
    printf("ratio p50 busy/idle %.1f\n", busy_p50 / idle_p50);
    printf("ratio p99 busy/idle %.1f (target <= %.1f: %s)\n", busy_p99 / idle_p99,
           DN_QB_TARGET, missed ? "NOT MET" : "met");

    free(site.lat);
    if (dn_tk_remove_tree(s_root) != 0)
        fprintf(stderr, "bench_query: could not remove %s\n", s_root);
    return missed ? 1 : 0;
}
