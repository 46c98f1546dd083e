/*  dn_query -- HQ's read-only admin commands, off the server's loop.

    Rule 9 (HQ reads never stall the shops): verify, the reports, the
    statements and every other command that only reads (dn_admin_is_query)
    run on a small pool of threads of their own, each with its own
    connection to central.db (dn_central_open_reader: PRAGMA query_only),
    each request in its own read transaction, so one WAL snapshot per
    request while the loop goes on applying the shops' batches.  Writes
    stay on the loop, serialised with ingest, as before.

    The loop owns the admin socket; the pool owns an inproc ROUTER that
    the loop polls (dn_query_socket) and one DEALER per thread (ZeroMQ
    sockets are not thread-safe: each thread uses only its own).  The loop
    hands a request over with dn_query_submit, which queues it until a
    thread is free, and sends the answers on with dn_query_forward, each
    to the peer that asked (its routing id on the admin socket).

    Bounded: at most DN_QUERY_MAX requests waiting or running.  Beyond
    that dn_query_submit takes nothing and the loop answers at once with
    EX_TEMPFAIL (dn_admin_reply_busy): an HQ desk that waits a minute
    behind a queue of verifies learns nothing, one that is told to retry
    does, and the server's memory stays bounded whatever a script sends.
*/
#ifndef DN_QUERY_H
#define DN_QUERY_H

#include <stddef.h>

/*  Two threads: a long query (a verify of a million transfers, ~10 s)
    leaves the other free for the short ones the desk asks meanwhile,
    while the loop keeps a core for ingest on a small two-core server; more
    threads would make long scans compete with ingest for the disk and the
    cores, and each holds a connection with its own 64 MiB page cache.  */
#define DN_QUERY_THREADS 2

/*  Queries waiting or running at once: a few HQ staff and the dashboard
    each wait for their answer before asking again, so more than this is
    a script in a loop, or a desk behind several verifies.  */
#define DN_QUERY_MAX 8

typedef struct _dn_query_t dn_query_t;

/*  Starts DN_QUERY_THREADS threads in the ZeroMQ context ctx (borrowed;
    it must outlive the pool), each with its own read connection to
    DIR/central.db (dn_central_open_reader: the loop must have opened and
    migrated it first, and set the network's zone and the process's
    language before: the threads only read them).  Returns the pool
    (caller destroys, before closing ctx), or NULL with *rc: DN_ENOMEM,
    DN_EIO (a socket or a thread), or the open's error (logged).  */
dn_query_t *dn_query_new(void *ctx, const char *dir, int *rc);

/*  Interrupts what the threads run (sqlite3_interrupt: a long report
    stops at its next step; the hold of DEALERNET_TEST_QUERY_HOLD ends),
    tells each thread to stop, joins them, closes their connections and
    the sockets.  Answers not yet forwarded are dropped (their peers time
    out, as they do when the server stops).  Accepts NULL; sets *self_p
    to NULL.  */
void dn_query_destroy(dn_query_t **self_p);

/*  The socket the loop polls for ZMQ_POLLIN: answers are ready for
    dn_query_forward.  Borrowed, valid until dn_query_destroy.  */
void *dn_query_socket(dn_query_t *self);

/*  Hands a query over: request (an AdminRequest, len bytes) from the admin
    named admin (the ZAP User-Id), to be answered to route (the routing id
    on the admin socket, route_len bytes); all three are copied.  A free
    thread takes it now, else it waits in order.  Returns 0, DN_EAGAIN
    when DN_QUERY_MAX are already waiting or running (nothing was taken),
    or DN_ENOMEM / DN_EIO (nothing was taken).  */
int dn_query_submit(dn_query_t *self, const void *route, size_t route_len, const char *admin,
                    const void *request, size_t len);

/*  Queries waiting or running now (what the busy answer tells HQ).  */
unsigned dn_query_load(const dn_query_t *self);

/*  Sends every answer ready, without waiting, on admin (the admin ROUTER,
    as a REQ envelope: routing id, empty frame, AdminReply), and hands the
    threads that answered the next requests waiting.  Returns how many
    answers were sent on.  Called by the loop only.  */
int dn_query_forward(dn_query_t *self, void *admin);

#endif
