/*  dn_metrics -- what the server counts, for Prometheus (see dn_metrics.h).  */
#include "dn_metrics.h"
#include "dn_error.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*  The apply histogram's upper bounds, in microseconds: a group commit is
    a few milliseconds on a disk that syncs, and seconds only when
    something is wrong.  */
static const int64_t s_bounds_us[] = {1000,   2500,   5000,    10000,   25000,  50000,
                                      100000, 250000, 500000, 1000000, 2500000};
#define DN_METRICS_BUCKETS (sizeof s_bounds_us / sizeof s_bounds_us[0])

static atomic_uint_fast64_t s_events, s_batches, s_admin[2];
static atomic_uint_fast64_t s_bucket[DN_METRICS_BUCKETS + 1], s_apply_count;
static atomic_int_fast64_t s_apply_sum_us;

void dn_metrics_events(uint64_t applied)
{
    atomic_fetch_add(&s_events, applied);
}

void dn_metrics_batches(uint64_t acked)
{
    atomic_fetch_add(&s_batches, acked);
}

void dn_metrics_apply(int64_t elapsed_us)
{
    size_t i = 0;
    while (i < DN_METRICS_BUCKETS && elapsed_us > s_bounds_us[i])
        i++;
    atomic_fetch_add(&s_bucket[i], 1);
    atomic_fetch_add(&s_apply_count, 1);
    atomic_fetch_add(&s_apply_sum_us, elapsed_us);
}

void dn_metrics_admin(int query)
{
    atomic_fetch_add(&s_admin[query ? 1 : 0], 1);
}

/*  A growing text.  */
typedef struct {
    char *p;
    size_t len, size;
    int failed;
} s_text_t;

static void s_put(s_text_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void s_put(s_text_t *t, const char *fmt, ...)
{
    for (int tries = 0; tries < 2 && !t->failed; tries++) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->p ? t->p + t->len : NULL, t->p ? t->size - t->len : 0, fmt, ap);
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

int dn_metrics_render(sqlite3 *db, char **text, size_t *len)
{
    s_text_t t = {0};
    (void)db;
    s_put(&t, "# HELP dealernet_sync_events_total Events applied and committed.\n"
              "# TYPE dealernet_sync_events_total counter\n"
              "dealernet_sync_events_total %llu\n",
          (unsigned long long)atomic_load(&s_events));
    s_put(&t, "# HELP dealernet_sync_batches_total Batches acknowledged.\n"
              "# TYPE dealernet_sync_batches_total counter\n"
              "dealernet_sync_batches_total %llu\n",
          (unsigned long long)atomic_load(&s_batches));
    s_put(&t, "# HELP dealernet_admin_requests_total Admin requests, by where they ran.\n"
              "# TYPE dealernet_admin_requests_total counter\n"
              "dealernet_admin_requests_total{kind=\"query\"} %llu\n"
              "dealernet_admin_requests_total{kind=\"write\"} %llu\n",
          (unsigned long long)atomic_load(&s_admin[1]),
          (unsigned long long)atomic_load(&s_admin[0]));
    s_put(&t, "# HELP dealernet_batch_apply_seconds A group's apply and commit time.\n"
              "# TYPE dealernet_batch_apply_seconds histogram\n");
    uint64_t cumulative = 0;
    for (size_t i = 0; i <= DN_METRICS_BUCKETS; i++) {
        cumulative += atomic_load(&s_bucket[i]);
        if (i < DN_METRICS_BUCKETS)
            s_put(&t, "dealernet_batch_apply_seconds_bucket{le=\"%g\"} %llu\n",
                  (double)s_bounds_us[i] / 1e6, (unsigned long long)cumulative);
        else
            s_put(&t, "dealernet_batch_apply_seconds_bucket{le=\"+Inf\"} %llu\n",
                  (unsigned long long)cumulative);
    }
    s_put(&t, "dealernet_batch_apply_seconds_sum %.6f\n"
              "dealernet_batch_apply_seconds_count %llu\n",
          (double)atomic_load(&s_apply_sum_us) / 1e6,
          (unsigned long long)atomic_load(&s_apply_count));
    if (t.failed) {
        free(t.p);
        return DN_ENOMEM;
    }
    *text = t.p;
    *len = t.len;
    return 0;
}
