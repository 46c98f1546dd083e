/*  dn_metrics -- what the server counts, for Prometheus (see dn_metrics.h).

    Counters are process-wide atomics, relaxed: each is a tally on its own,
    and a scrape that reads one a moment before another is still a true
    picture of a moment.  The gauges are read at each scrape from the
    scraping thread's connection, through the modules that own the tables
    (dn_report for the sites, dn_facts for exceptions, dn_ledger for
    transfers): nothing of them is kept here between scrapes.

    i18n: not for people: the exposition text is read by Prometheus; its
    names, labels and HELP lines are matched by alert rules and
    dashboards, so they stay English whatever the server's language, as
    its log does (tests/lib/i18n_check.py exempts this file).
*/
#include "dn_metrics.h"
#include "dealernet.pb-c.h"
#include "dn_error.h"
#include "dn_facts.h"
#include "dn_ledger.h"
#include "dn_refusal.h"
#include "dn_report.h"
#include "dn_time.h"
#include "dn_version.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/*  The apply histogram's upper bounds, in microseconds: a group commit is
    a few milliseconds on a disk that syncs, and seconds only when
    something is wrong.  */
static const int64_t s_bounds_us[] = {1000,   2500,   5000,   10000,   25000,  50000,
                                      100000, 250000, 500000, 1000000, 2500000};
#define DN_METRICS_BUCKETS (sizeof s_bounds_us / sizeof s_bounds_us[0])

static atomic_uint_fast64_t s_events, s_batches, s_admin[2];
static atomic_uint_fast64_t s_bucket[DN_METRICS_BUCKETS + 1], s_apply_count;
static atomic_int_fast64_t s_apply_sum_us;

/*  Refused replies, one counter per value of the protocol's RefuseCode, in
    the order of its descriptor (proto/dealernet.proto is the one table of
    reasons: a code added there is counted and shown without a change
    here, up to DN_METRICS_REASONS values, which test_metrics checks).  */
static atomic_uint_fast64_t s_refused[DN_METRICS_REASONS];

/*  When the process started (Unix ms): set before main runs, so that
    every program linking the server's modules says when it started
    without a call to remember.  */
static int64_t s_started_ms;

__attribute__((constructor)) static void s_started(void)
{
    s_started_ms = dn_time_now_ms();
}

void dn_metrics_events(uint64_t applied)
{
    atomic_fetch_add_explicit(&s_events, applied, memory_order_relaxed);
}

void dn_metrics_batches(uint64_t acked)
{
    atomic_fetch_add_explicit(&s_batches, acked, memory_order_relaxed);
}

void dn_metrics_apply(int64_t elapsed_us)
{
    size_t i = 0;
    while (i < DN_METRICS_BUCKETS && elapsed_us > s_bounds_us[i])
        i++;
    atomic_fetch_add_explicit(&s_bucket[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s_apply_count, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s_apply_sum_us, elapsed_us, memory_order_relaxed);
}

void dn_metrics_refused(const char *reason)
{
    const ProtobufCEnumDescriptor *d = &dealernet__refuse_code__descriptor;
    const ProtobufCEnumValue *v =
        reason ? protobuf_c_enum_descriptor_get_value_by_name(d, reason) : NULL;
    size_t i = v ? (size_t)(v - d->values) : 0; /* values[0]: REFUSE_UNSPECIFIED */
    if (i >= DN_METRICS_REASONS)
        i = 0;
    atomic_fetch_add_explicit(&s_refused[i], 1, memory_order_relaxed);
}

void dn_metrics_admin(int query)
{
    atomic_fetch_add_explicit(&s_admin[query ? 1 : 0], 1, memory_order_relaxed);
}

static unsigned long long s_load(atomic_uint_fast64_t *counter)
{
    return (unsigned long long)atomic_load_explicit(counter, memory_order_relaxed);
}

/* -- the text ------------------------------------------------------------------ */

/*  A growing text.  */
typedef struct {
    char *p;
    size_t len, size;
    int failed;
} s_text_t;

static void s_put(s_text_t *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void s_put(s_text_t *t, const char *fmt, ...)
{
    for (int tries = 0; tries < 2 && !t->failed; tries++) {
        va_list ap;
        va_start(ap, fmt);
        int n =
            vsnprintf(t->p ? t->p + t->len : NULL, t->p ? t->size - t->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->failed = 1;
            return;
        }
        if (t->p && t->len + (size_t)n < t->size) {
            t->len += (size_t)n;
            return;
        }
        size_t want = (t->size ? t->size * 2 : 4096) + (size_t)n;
        char *p = realloc(t->p, want);
        if (!p) {
            t->failed = 1;
            return;
        }
        t->p = p;
        t->size = want;
    }
}

/*  A family's HELP and TYPE lines.  */
static void s_family(s_text_t *t, const char *name, const char *type, const char *help)
{
    s_put(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/*  One sample of name with one label, its value escaped as the format
    says (a backslash, a double quote and a line feed as \\, \" and \n).  */
static void s_sample(s_text_t *t, const char *name, const char *label, const char *value,
                     unsigned long long n)
{
    s_put(t, "%s{%s=\"", name, label);
    for (const char *c = value; *c; c++) {
        if (*c == '\\' || *c == '"')
            s_put(t, "\\%c", *c);
        else if (*c == '\n')
            s_put(t, "\\n");
        else
            s_put(t, "%c", *c);
    }
    s_put(t, "\"} %llu\n", n);
}

/*  The counters: sync, refusals, admin requests, the apply histogram.  */
static void s_counters(s_text_t *t)
{
    const ProtobufCEnumDescriptor *d = &dealernet__refuse_code__descriptor;

    s_family(t, "dealernet_sync_events_total", "counter",
             "Events applied and committed (new events only, not repeats).");
    s_put(t, "dealernet_sync_events_total %llu\n", s_load(&s_events));
    s_family(t, "dealernet_sync_batches_total", "counter",
             "Batches acknowledged after their group committed.");
    s_put(t, "dealernet_sync_batches_total %llu\n", s_load(&s_batches));

    s_family(t, "dealernet_sync_refused_total", "counter",
             "Refused replies to sync messages, by the protocol's RefuseCode.");
    for (unsigned i = 0; i < d->n_values && i < DN_METRICS_REASONS; i++)
        s_sample(t, "dealernet_sync_refused_total", "reason", d->values[i].name,
                 s_load(&s_refused[i]));
    s_family(t, "dealernet_refusals_total", "counter",
             "Traffic turned away at the door, in the handshake or as read, by kind.");
    for (int k = 0; k < DN_REFUSAL_KINDS; k++)
        s_sample(t, "dealernet_refusals_total", "reason",
                 dn_refusal_name((dn_refusal_t)k),
                 (unsigned long long)dn_refusal_total((dn_refusal_t)k));
    int strangers;
    const char *port;
    s_family(t, "dealernet_door_strangers", "gauge",
             "Connections open now that have not yet shown an enrolled key, by port.");
    /* no sample before the door named its ports, after its first round */
    for (int i = 0; (port = dn_refusal_port(i, &strangers)) != NULL; i++)
        s_sample(t, "dealernet_door_strangers", "port", port,
                 (unsigned long long)(strangers > 0 ? strangers : 0));

    s_family(t, "dealernet_admin_requests_total", "counter",
             "Admin requests, by where they ran.");
    s_sample(t, "dealernet_admin_requests_total", "kind", "query", s_load(&s_admin[1]));
    s_sample(t, "dealernet_admin_requests_total", "kind", "write", s_load(&s_admin[0]));

    s_family(t, "dealernet_batch_apply_seconds", "histogram",
             "A sync group's time from its first batch's apply to its commit.");
    uint64_t cumulative = 0;
    for (size_t i = 0; i <= DN_METRICS_BUCKETS; i++) {
        cumulative += s_load(&s_bucket[i]);
        if (i < DN_METRICS_BUCKETS)
            s_put(t, "dealernet_batch_apply_seconds_bucket{le=\"%g\"} %llu\n",
                  (double)s_bounds_us[i] / 1e6, (unsigned long long)cumulative);
        else
            s_put(t, "dealernet_batch_apply_seconds_bucket{le=\"+Inf\"} %llu\n",
                  (unsigned long long)cumulative);
    }
    int64_t sum_us = atomic_load_explicit(&s_apply_sum_us, memory_order_relaxed);
    s_put(t,
          "dealernet_batch_apply_seconds_sum %lld.%06lld\n"
          "dealernet_batch_apply_seconds_count %llu\n",
          (long long)(sum_us / 1000000), (long long)(sum_us % 1000000),
          s_load(&s_apply_count));
}

/*  The size of the file at path, 0 if there is none (a WAL checkpointed
    away and removed).  Returns 0 or DN_EDB.  */
static int s_file_bytes(const char *path, unsigned long long *bytes)
{
    struct stat st;
    *bytes = 0;
    if (stat(path, &st) == 0) {
        *bytes = (unsigned long long)st.st_size;
        return 0;
    }
    return errno == ENOENT ? 0 : DN_EDB;
}

/*  central.db's bytes and its WAL's, when db is a file.  */
static int s_database_bytes(s_text_t *t, sqlite3 *db)
{
    const char *path = sqlite3_db_filename(db, "main");
    char wal[4096];
    unsigned long long main_bytes, wal_bytes;
    if (!path || !*path) /* an in-memory database: no file to measure */
        return 0;
    if ((size_t)snprintf(wal, sizeof wal, "%s-wal", path) >= sizeof wal ||
        s_file_bytes(path, &main_bytes) || s_file_bytes(wal, &wal_bytes))
        return DN_EDB;
    s_family(
        t, "dealernet_database_bytes", "gauge",
        "Size of central.db (file=\"db\") and of its write-ahead log (file=\"wal\").");
    s_sample(t, "dealernet_database_bytes", "file", "db", main_bytes);
    s_sample(t, "dealernet_database_bytes", "file", "wal", wal_bytes);
    return 0;
}

/*  The gauges read from db.  */
static int s_gauges(s_text_t *t, sqlite3 *db, int64_t now_ms)
{
    dn_report_fleet_t fleet;
    int64_t open = 0, transfers = 0;
    int rc;

    if ((rc = dn_report_fleet(db, now_ms, &fleet)) != 0 ||
        (rc = dn_facts_open_count(db, &open)) != 0 ||
        (rc = dn_ledger_transfer_count(db, &transfers)) != 0)
        return rc;
    s_family(t, "dealernet_sites", "gauge",
             "Sites by state: active, silent (no contact for more than a day), never "
             "(never synced), revoked.");
    s_sample(t, "dealernet_sites", "state", "active", (unsigned long long)fleet.active);
    s_sample(t, "dealernet_sites", "state", "silent", (unsigned long long)fleet.silent);
    s_sample(t, "dealernet_sites", "state", "never", (unsigned long long)fleet.never);
    s_sample(t, "dealernet_sites", "state", "revoked", (unsigned long long)fleet.revoked);
    s_family(
        t, "dealernet_pending_events", "gauge",
        "Events the sites not revoked reported still to send, less what came since.");
    s_put(t, "dealernet_pending_events %lld\n", (long long)fleet.pending);
    s_family(t, "dealernet_exceptions_open", "gauge",
             "Exceptions waiting for headquarters (held events and flags).");
    s_put(t, "dealernet_exceptions_open %lld\n", (long long)open);
    s_family(t, "dealernet_ledger_transfers", "gauge", "Transfers in the ledger.");
    s_put(t, "dealernet_ledger_transfers %lld\n", (long long)transfers);
    return s_database_bytes(t, db);
}

int dn_metrics_render_at(sqlite3 *db, int64_t now_ms, char **text, size_t *len)
{
    s_text_t t = {0};
    int rc;

    s_family(&t, "dealernet_build_info", "gauge",
             "The server's version, as a label; always 1.");
    s_sample(&t, "dealernet_build_info", "version", DN_VERSION, 1);
    s_family(&t, "dealernet_start_time_seconds", "gauge",
             "When the process started, in seconds since the Unix epoch.");
    s_put(&t, "dealernet_start_time_seconds %lld.%03lld\n",
          (long long)(s_started_ms / 1000), (long long)(s_started_ms % 1000));
    s_counters(&t);
    rc = s_gauges(&t, db, now_ms);
    if (rc == 0 && t.failed)
        rc = DN_ENOMEM;
    if (rc) {
        free(t.p);
        return rc;
    }
    *text = t.p;
    *len = t.len;
    return 0;
}

int dn_metrics_render(sqlite3 *db, char **text, size_t *len)
{
    return dn_metrics_render_at(db, dn_time_now_ms(), text, len);
}
