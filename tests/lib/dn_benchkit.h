/*  dn_benchkit -- what the benchmarks that play many sites against a real
    dealernet-server share: the server process, its peak memory, the
    monotonic clock, and one site's DEALER socket from its own loopback
    address.

    A benchmark that speaks for a thousand sites from one process opens a
    socket a site, each from its own 127.0.x.y address as shops are: the
    server's door keeps at most 16 connections that have not proven a key
    from one address, so a herd from one address would be closed by the
    door, not measured.  Every 127/8 address reaches loopback on Linux.
*/
#ifndef DN_BENCHKIT_H
#define DN_BENCHKIT_H

#include "dealernet.pb-c.h"
#include "dn_curve.h"

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <zmq.h>

#define DN_BK_ADDRS_PER_NET 250 /* 127.0.N.1 .. 127.0.N.250 */

/*  Seconds on the monotonic clock (one clock for every process on the
    machine: a child's readings compare with its parent's).  */
double dn_bk_now(void);

/*  Starts bin/dealernet-server -d dir run in a child process whose stderr
    goes to log (truncated).  Returns the child's pid, or -1 when it cannot
    fork.  The caller stops it (SIGTERM) and reaps it.  */
pid_t dn_bk_server_start(const char *bin, const char *dir, const char *log);

/*  The peak resident memory of process pid (VmHWM, /proc/PID/status) in
    KiB, or -1 when it cannot be read.  */
long dn_bk_peak_rss_kib(pid_t pid);

/*  The CPU time process pid has used so far (user + system, all its
    threads; /proc/PID/stat) in seconds, or -1 when it cannot be read.  */
double dn_bk_cpu_s(pid_t pid);

/*  Raises this process's soft descriptor limit to at least files (up to
    the hard limit).  Returns 0, or -1 when the limit stays below files.  */
int dn_bk_files(long files);

/*  A new DEALER socket in ctx with CURVE key pair as client of the server
    whose public key is server_key (Z85), linger 0, connected to sync_ep
    (tcp://127.0.0.1:PORT) from the loopback address of site number n
    (127.0.(net + n / 250).(1 + n % 250), net >= 1 a block of addresses of
    the caller's choosing).  Returns the socket, or NULL (errno as libzmq
    sets it).  */
void *dn_bk_dealer(void *ctx, const char *server_key, const dn_curve_pair_t *pair,
                   const char *sync_ep, int net, int n);

/*  Sends a Hello of protocol saying pending events are waiting and the
    last recorded seq is head_seq (the clock: now).  Returns 0, or the
    packing's or the send's failure (-1).  */
int dn_bk_hello(void *sock, uint32_t protocol, uint64_t pending, uint64_t head_seq);

/*  One turn of a client playing n sites: polls the socket of each site i
    that waiting(arg, i) returns (NULL: site i waits for nothing), for at
    most timeout_ms, and hands each SyncMessage that arrived to
    reply(arg, i, msg, len), len its packed size (msg is freed after).  A
    message that does not decode is skipped with one line on stderr.
    items has room for n.  Returns the messages handed over.  */
int dn_bk_poll(zmq_pollitem_t *items, int n, void *(*waiting)(void *arg, int i),
               void (*reply)(void *arg, int i, const Dealernet__SyncMessage *msg, size_t len),
               void *arg, long timeout_ms);

/*  Starts bin/dealernet-hq as HQ of the server in dir (its hq.key) at
    admin_ep whose public key is server_key (Z85), with the command args
    (NULL-terminated: "verify", "--json", NULL), stdout to the file out and
    stderr to err (both truncated; err NULL: into out as well).  Spawned,
    not forked, so that a program with threads may call it.  Returns the
    child's pid, or -1.  The caller reaps it: exit 69 (EX_UNAVAILABLE) is
    a server not up yet.  */
pid_t dn_bk_hq_start(const char *bin, const char *dir, const char *admin_ep,
                     const char *server_key, const char *out, const char *err,
                     const char *const *args);

/*  Sorts n seconds (or any doubles) in ascending order.  */
void dn_bk_sort(double *v, size_t n);

/*  The p-th percentile (1 <= p <= 100) of n >= 1 sorted values by
    nearest rank: the smallest value that at least p % of them do not
    exceed (p99 of 200 values is the 198th, of 5 values the largest).  */
double dn_bk_percentile(const double *sorted, size_t n, int p);

/*  The first column of the first row of sql (a count) on db, or -1 when
    the query fails or returns no row.  */
int64_t dn_bk_count(sqlite3 *db, const char *sql);

/*  The events the server in dir holds (its central.db, the server stopped
    or running), or -1 when they cannot be counted.  */
int64_t dn_bk_events_stored(const char *dir);

#endif
