/*  dn_metrics -- what the server counts, for Prometheus (/metrics).

    The loop counts as it works (atomics: the web threads read them while
    it counts); the gauges are read from the database when scraped, on the
    scraping thread's own connection.  The text follows the Prometheus
    exposition format 0.0.4 and its naming (a `dealernet_` prefix, `_total`
    counters, base units: seconds, bytes), and passes `promtool check
    metrics` (tests/cli/web_metrics.sh):
      dealernet_sync_events_total             events applied and committed
      dealernet_sync_batches_total            batches acked
      dealernet_refusals_total{reason}        by dn_refusal kind and by
                                              the sync session's Refused reason
      dealernet_batch_apply_seconds           histogram of a group's apply +
                                              commit time
      dealernet_admin_requests_total{kind}    "query" (off the loop) or "write"
      dealernet_sites{state}                  active, silent, revoked, never
      dealernet_pending_events                events the shops reported pending
                                              at their last Hello
      dealernet_exceptions_open               held events waiting for HQ
      dealernet_ledger_transfers              transfers in the ledger
      dealernet_database_bytes                central.db and its WAL
      dealernet_start_time_seconds            when this process started
*/
#ifndef DN_METRICS_H
#define DN_METRICS_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

/*  Counted by the loop.  */
void dn_metrics_events(uint64_t applied);
void dn_metrics_batches(uint64_t acked);
void dn_metrics_apply(int64_t elapsed_us); /* one group: apply and commit */
void dn_metrics_refused(const char *reason); /* a sync Refused reply, by reason name */
void dn_metrics_admin(int query);

/*  The whole exposition text, *text malloc'd (the caller frees), from the
    counters and from db (a read connection in a read transaction).
    Returns 0, or DN_ENOMEM / DN_EDB.  */
int dn_metrics_render(sqlite3 *db, char **text, size_t *len);

#endif
