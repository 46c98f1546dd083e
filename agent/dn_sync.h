/*  dn_sync -- the agent's side of enrollment and sync.

    Enrollment binds a fresh CURVE key pair of the site to the site's record
    on the server, using a single-use token from headquarters.  Sync pushes
    every pending event in signed batches with a small window in flight and
    marks events synced only on the server's ack.  A lost reply is handled
    the Lazy Pirate way: after a reply timeout the socket is thrown away, a
    fresh one connects, and sending resumes from the last ack (the server
    checks resent events against what it stored and skips them).
    Nothing pending is ever dropped: a sync that gives up leaves every event
    in the outbox for the next try.  The session logic itself is the state
    machine of dn_syncsm.h; this module drives it over CurveZMQ.
*/
#ifndef DN_SYNC_H
#define DN_SYNC_H

#include "dealernet.pb-c.h"
#include "dn_store.h"
#include "dn_syncsm.h" /* dn_sync_result_t */

#include <signal.h>
#include <stdint.h>

#define DN_AGENT_CURVE_FILE       "curve.key"
#define DN_SYNC_REPLY_TIMEOUT_MS  3000  /* no reply this long: reconnect */
#define DN_SYNC_DEFAULT_TIMEOUT_S 30

typedef struct {
    int timeout_ms;       /* give up after this long (DN_ETIMEDOUT) */
    int reply_timeout_ms; /* per reply; 0 = DN_SYNC_REPLY_TIMEOUT_MS */
    int progress;         /* draw a progress line on stderr */
} dn_sync_options_t;

/*  0 if the site may still enroll; DN_EEXIST (why names the server it is
    enrolled with), for a check before asking the clerk for a secret.  */
int dn_sync_can_enroll(dn_store_t *store, char *why, size_t why_size);

/*  Enrolls the site in dir with the server: generates (or, after a failed
    attempt, reuses) DIR/curve.key, sends the token, and on success records
    the endpoint and server key in agent.db.  Returns 0; DN_EEXIST (already
    enrolled); DN_EPERM (token refused: bad, used, expired, or another
    site's -- why says which); DN_ETIMEDOUT (no answer: wrong endpoint or
    server key, or the server is down); DN_EIO, DN_EDB.  */
int dn_sync_enroll(dn_store_t *store, const char *dir, const char *endpoint,
                   const char *server_key, const char *token, int timeout_ms, char *why,
                   size_t why_size);

/*  Pushes every pending event.  Returns 0 when all are acknowledged;
    DN_ETIMEDOUT if the server could not be reached or stopped answering
    within the timeout (nothing lost; events stay pending); DN_EAGAIN if
    the server's disk is full (it stops at once); DN_ECONFIG if something
    else answers at the endpoint (a wrong port or server key: it stops at
    once); DN_EPERM if the site is not enrolled here or was revoked;
    DN_EPROTO if the server refused the site's data (a tamper alarm or a
    broken chain: see result->error); DN_EDB.  result->cause names the
    cause in one word (DN_SYNC_CAUSE_*) and result->error in one line,
    which starts "partly synced: " and the dn_sync_report of what was
    delivered when some batches were acked before the failure.  Records
    the outcome in agent.db for `status`: the last sync whenever something
    was acked, the last error on failure.  */
int dn_sync_run(dn_store_t *store, const char *dir, const dn_sync_options_t *options,
                dn_sync_result_t *result);

/*  What a sync delivered, in buf (one line, no newline): "sent 4 events
    (seq 4-7), server holds through 7, 0 pending" -- the events this sync
    had acknowledged (not resends, not earlier syncs), the server's applied
    seq as it last said (left out if it never answered), the events still
    pending.  Returns buf.  */
const char *dn_sync_report(const dn_sync_result_t *result, char *buf, size_t size);

/*  What `doctor` asks the server, without sending any event: one
    connection, the CURVE handshake (result->handshake: it succeeded), a
    Hello and its reply.  Returns 0 for a Welcome (result->server_applied,
    skew_ms); else the error and result->cause, result->error as
    dn_sync_run's (DN_EPERM: revoked or not enrolled; DN_ECONFIG: wrong
    port or key; DN_EAGAIN: down, or the server refused for now ...).
    Records nothing in agent.db.  */
int dn_sync_hello(dn_store_t *store, const char *dir, int timeout_ms, dn_sync_result_t *result);

/*  The daemon: syncs every interval_s seconds and soon after new events
    are recorded, backing off exponentially (with jitter, up to 5 minutes)
    while the server is away, until *stop is set.  Returns 0.  */
int dn_sync_daemon(dn_store_t *store, const char *dir, int interval_s,
                   volatile sig_atomic_t *stop);

#endif
