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
#define DN_SYNC_PULL_TIMEOUT_MS   15000 /* ... to a Pull, answered after other shops' uploads */
#define DN_SYNC_DEFAULT_TIMEOUT_S 30

typedef struct {
    int timeout_ms;       /* give up after this long (DN_ETIMEDOUT) */
    int reply_timeout_ms; /* per reply; 0 = DN_SYNC_REPLY_TIMEOUT_MS */
    int progress;         /* draw a progress line on stderr */
    /*  The streams to pull (dn_syncsm_set_pull); n_streams 0: the default
        (every applier's but STREAM_CHAIN).  */
    const Dealernet__Stream *streams;
    size_t n_streams;
    int no_push; /* with streams: push nothing, only pull (`recover`) */
} dn_sync_options_t;

#define DN_AGENT_CURVE_NEW_FILE "curve.key.new" /* enrolling again: the key on offer */

/*  0 if the site may still enroll (again: also a folder enrolled before,
    to enroll it again with a code from `dealernet-hq site token`);
    DN_EEXIST (why names the server it is enrolled with), for a check
    before asking the clerk for a secret.  */
int dn_sync_can_enroll(dn_store_t *store, int again, char *why, size_t why_size);

/*  What enrolling did to the folder's chain.  */
typedef struct {
    int64_t applied_seq; /* the site's applied seq on the server (0: a new site) */
    int rebased;         /* the folder never synced: it continues after applied_seq */
    int64_t moved;       /* rebased: events recorded here, now applied_seq + 1 on */
    int64_t to_send;     /* enrolled before: events beyond what the server holds */
} dn_sync_enrolled_t;

/*  Enrolls the site in dir with the server: generates (or, after a failed
    attempt, reuses) DIR/curve.key, sends the token, and on success records
    the endpoint and server key in agent.db.  Returns 0; DN_EEXIST (already
    enrolled); DN_EPERM (token refused: bad, used, expired, or another
    site's -- why says which); DN_ETIMEDOUT (no answer: wrong endpoint or
    server key, or the server is down); DN_EIO, DN_EDB.  */
int dn_sync_enroll(dn_store_t *store, const char *dir, const char *endpoint,
                   const char *server_key, const char *token, int timeout_ms, char *why,
                   size_t why_size);

/*  dn_sync_enroll, also for a folder enrolled before when again is set
    (enrolling a site moved with `dealernet-hq site token`).  The server's
    Enrolled reply says where the site's chain stands: a folder that never
    synced re-chains what it recorded after it (dn_outbox_rebase), one
    enrolled before must hold it (dn_outbox_match); both in the
    transaction that records the endpoint.  A folder enrolled before offers
    a new CURVE key (DIR/curve.key.new, reused after a lost answer) and
    keeps curve.key until the server took the new one, which then replaces
    it.  Fills *out.  Also returns DN_ECHAIN, DN_EEXIST (the chain does not
    fit: why says so; agent.db unchanged, though the server enrolled the
    new key), DN_EIO (curve.key not replaced).  */
int dn_sync_enroll_again(dn_store_t *store, const char *dir, const char *endpoint,
                         const char *server_key, const char *token, int again,
                         int timeout_ms, dn_sync_enrolled_t *out, char *why,
                         size_t why_size);

/*  Points the enrolled site at another server address and key (HQ moved
    its server): records endpoint and server_key in agent.db in one
    transaction.  The site's keys (site.key, curve.key), its events and
    chain stay as they are: the server at the new address must be the same
    server (its central.db knows this site's key).  Nothing is sent; the
    next sync uses the new address.  Returns 0; DN_EPERM (the folder is not
    enrolled: enroll instead); DN_EINVAL (the key is not a 40-character
    Z85 key, or the endpoint is longer than an enrollment code holds or
    not one ZeroMQ can connect to -- why says which); DN_EDB.  */
int dn_sync_server_set(dn_store_t *store, const char *endpoint, const char *server_key,
                       char *why, size_t why_size);

/*  Pushes every pending event.  Returns 0 when all are acknowledged;
    DN_ETIMEDOUT if the server could not be reached or stopped answering
    within the timeout (nothing lost; events stay pending); DN_EAGAIN if
    the server's disk is full (it stops at once); DN_ECONFIG if something
    else answers at the endpoint (a wrong port or server key: it stops at
    once); DN_EPERM if the site is not enrolled here or was revoked;
    DN_EPROTO if the server refused the site's data (a tamper alarm or a
    broken chain: see result->error), or sent down what does not apply to
    what this site holds; DN_ESIG if what it sent down does not verify
    with the pinned down key, or it names another down key (nothing of it
    applied; the upload is kept); DN_EDB.  After the upload it pulls and
    applies what the server sends down (protocol 2: dn_syncsm.h);
    result->received says what.  result->cause names the
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

/*  What a sync received from the server, in buf (one line, no newline):
    "received: catalog 10 items (version 12), notices 1 item (version 3)"
    -- each stream that had items applied or was replaced (", replaced":
    reset) in this sync, with the version held now; "" when nothing was.
    Returns buf.  */
const char *dn_sync_report_received(const dn_sync_result_t *result, char *buf,
                                    size_t size);

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
