/*  dn_metrics -- what the server counts, for Prometheus (/metrics).

    The loop counts as it works (atomics: the web threads read them while
    it counts); the gauges are read from the database when scraped, on the
    scraping thread's own connection.  The text follows the Prometheus
    exposition format 0.0.4 and its naming (a `dealernet_` prefix, `_total`
    counters, base units: seconds, bytes), and passes `promtool check
    metrics` (tests/cli/metrics_promtool.sh):
      dealernet_build_info{version}           always 1
      dealernet_start_time_seconds            when this process started
      dealernet_sync_events_total             events applied and committed
      dealernet_sync_batches_total            batches acked
      dealernet_sync_refused_total{reason}    Refused replies, by the
                                              protocol's RefuseCode name
                                              ("REFUSE_GAP")
      dealernet_refusals_total{reason}        dn_refusal's kinds ("deadline")
      dealernet_door_strangers{port}          unproven connections now
                                              (once the door named its ports)
      dealernet_admin_requests_total{kind}    "query" (off the loop) or "write"
      dealernet_batch_apply_seconds           histogram of a group's apply +
                                              commit time
      dealernet_sites{state}                  active, silent, never, revoked
      dealernet_pending_events                events the shops reported pending
                                              at their last Hello, less what
                                              came since
      dealernet_exceptions_open               exceptions waiting for HQ
      dealernet_ledger_transfers              transfers in the ledger
      dealernet_database_bytes{file}          central.db ("db") and its WAL
                                              ("wal")

    Refusals are two families, not one: a sync message that is refused is
    counted once by what the agent was told (dealernet_sync_refused_total)
    and, when the server also counts it as traffic turned away, once more
    by dn_refusal's kind (a malformed message: REFUSE_MALFORMED and
    malformed).  Summed in one family, each such message would count
    twice; apart, each family sums to something true.

    Names and HELP texts are for Prometheus, not for people reading a
    screen: they are not translated.
*/
#ifndef DN_METRICS_H
#define DN_METRICS_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

/*  Room for the values of the protocol's RefuseCode (18 today).  */
#define DN_METRICS_REASONS 32

/*  Counted by the loop.  */
void dn_metrics_events(uint64_t applied);  /* new events in a group that committed */
void dn_metrics_batches(uint64_t acked);   /* acks released by a group that committed */
void dn_metrics_apply(int64_t elapsed_us); /* one group: apply and commit */
/*  A sync Refused reply, by the name of its RefuseCode in
    proto/dealernet.proto ("REFUSE_GAP"); a name the protocol does not
    have, or NULL, counts as REFUSE_UNSPECIFIED.  Counted when the reply
    is made: when a group's commit fails, the replies that depended on it
    are made again as REFUSE_INTERNAL (or REFUSE_SERVER_FULL) and counted
    so, while a refusal decided in that group (a gap, say) stays counted
    too.  */
void dn_metrics_refused(const char *reason);
void dn_metrics_admin(int query);

/*  The whole exposition text, *text malloc'd (the caller frees), from the
    counters and from db (a read connection in a read transaction).
    Returns 0, or DN_ENOMEM / DN_EDB.  */
int dn_metrics_render(sqlite3 *db, char **text, size_t *len);

/*  The same, with now_ms (Unix ms) as the time the sites' silence is
    counted to (dn_metrics_render: the clock's now), for tests that pin
    the time.  */
int dn_metrics_render_at(sqlite3 *db, int64_t now_ms, char **text, size_t *len);

#endif
