/*  dn_syncsm -- the agent's sync session as a state machine, with no
    socket and no clock.

    A session is what one fresh connection to the server carries: Hello,
    Welcome (the server's applied seq, its window and batch size), then
    signed batches read from the outbox with up to `window` in flight, each
    answered by one PushAck or a Refused.  The machine is fed events -- a
    session starts, a message went out (or could not), a reply arrived, no
    reply came in time -- and answers each with the next action for its
    driver.  The real driver (dn_sync.c) carries the actions over a CurveZMQ
    DEALER socket with real timeouts and backoff; the deterministic
    simulator (tests/sim/dn_sim.c) carries them over a seeded in-memory bus
    with a fake clock.  Both run this one piece of code, so what the
    simulator shows about sessions under drops, duplicates, reordering and
    crashes holds for the agent that ships.

    The machine reads the outbox and marks events synced itself (dn_outbox,
    real SQLite), and only with the ack of the batch that carried them: a
    batch counts as acked by its own reply, even when the server says it
    applied more.  A new session resends from the agent's own last ack, not
    from the server's applied seq, so the server re-checks every resent
    event against what it stored (a tamper alarm if it differs).  Anything
    doubtful -- no reply, a malformed reply, a gap refusal, a server that
    could not commit -- ends the session with DN_SYNCSM_RECONNECT and loses
    nothing.

    Downstream (protocol 2): once every batch of the session is acked --
    the upload never waits for it -- the machine sends a Pull for the
    streams it applies (all but STREAM_CHAIN by default;
    dn_syncsm_set_pull), waits for the DownReply, verifies and applies it
    in one transaction (dn_down_apply), and pulls again while a Down says
    more.  A reply lost or that does not decode reconnects as any other
    (the upload is acked: nothing is lost); one that does not verify or
    apply fails the sync with nothing applied.  The server's down key is
    pinned at enrolment or from the first Welcome that names one; a
    Welcome naming another fails the sync after the upload, before
    anything is pulled.
*/
#ifndef DN_SYNCSM_H
#define DN_SYNCSM_H

#include "dealernet.pb-c.h"
#include "dn_crypto.h"
#include "dn_down.h"
#include "dn_store.h"

#include <stddef.h>
#include <stdint.h>

/*  Why a sync did not finish, as a stable word (`sync --json`'s "cause",
    `doctor`, the README's "Troubleshooting sync").  The machine sets the
    ones a reply tells; its driver the ones only the socket can tell.  */
#define DN_SYNC_CAUSE_DOWN         "down"         /* nothing listens: connection refused */
#define DN_SYNC_CAUSE_NO_ROUTE     "no_route"     /* no TCP answer at all */
#define DN_SYNC_CAUSE_WRONG_PORT   "wrong_port"   /* something else answers there */
#define DN_SYNC_CAUSE_WRONG_KEY    "wrong_key"    /* the CURVE handshake was dropped */
#define DN_SYNC_CAUSE_NO_REPLY     "no_reply"     /* connected, but no reply in time */
#define DN_SYNC_CAUSE_STOPPED      "stopped"      /* the server went away during the sync */
#define DN_SYNC_CAUSE_SERVER_FULL  "server_full"  /* REFUSE_SERVER_FULL */
#define DN_SYNC_CAUSE_SERVER_ERROR "server_error" /* REFUSE_INTERNAL, _GAP, _RATE_LIMITED */
#define DN_SYNC_CAUSE_REVOKED      "revoked"      /* REFUSE_REVOKED */
#define DN_SYNC_CAUSE_NOT_ENROLLED "not_enrolled" /* REFUSE_NOT_ENROLLED, or never enrolled */
#define DN_SYNC_CAUSE_REFUSED      "refused"      /* the server refused the site's data */
#define DN_SYNC_CAUSE_LOCAL        "local"        /* this PC: agent.db, the keys */
#define DN_SYNC_CAUSE_DOWN_KEY     "down_key"     /* the server names another down key */
#define DN_SYNC_CAUSE_DOWN_REFUSED "down_refused" /* a Down did not verify or apply */

/*  What a sync achieved; shared by the machine (which fills most of it)
    and its driver.  */
typedef struct {
    uint64_t acked_through; /* the server holds every seq up to here */
    uint64_t head_seq;      /* the site's last recorded seq */
    uint64_t pending;       /* still unacknowledged when sync returned */
    uint64_t sent_events;   /* events transmitted, resends included */
    int started;            /* the first dn_syncsm_start of this sync read: */
    uint64_t start_acked;   /* ... acked_through then: this sync delivered
                               start_acked + 1 .. acked_through */
    int has_server;         /* a Welcome came in this sync: */
    uint64_t server_applied; /* ... the server's applied seq, from the last
                                Welcome or ack */
    int welcomed;           /* the current session had its Welcome */
    const char *cause;      /* DN_SYNC_CAUSE_*: why it did not finish, NULL if it did */
    int connects;           /* sockets opened (1 + reconnects); the driver counts */
    int handshake;          /* a CURVE handshake succeeded (dn_sync_hello) */
    int has_skew;           /* a Welcome told the server's clock: */
    int64_t skew_ms;        /* ... the agent's clock minus the server's */
    Dealernet__RefuseCode refused; /* the server's last refusal, 0 if none */
    char error[256];               /* what went wrong, for the clerk and status */
    /*  Downstream: what this sync applied, per stream pulled, in the order
        first pulled (items summed over the pulls, the version held at the
        end, reset if any Down reset it), and the pulls answered.  */
    dn_down_applied_t received[DN_DOWN_MAX_STREAMS];
    size_t n_received;
    uint64_t pulls;
} dn_sync_result_t;

/*  What the driver does next.  */
typedef enum {
    DN_SYNCSM_SEND = 1,  /* send dn_syncsm_message(), then call dn_syncsm_sent()
                            (or dn_syncsm_send_failed() if it could not go out) */
    DN_SYNCSM_WAIT,      /* wait for one reply: dn_syncsm_reply(), or
                            dn_syncsm_timeout() when none came in time */
    DN_SYNCSM_RECONNECT, /* the session is over, nothing is lost: drop the
                            connection, back off, and dn_syncsm_start() again
                            on a fresh one (result->error says why) */
    DN_SYNCSM_DONE,      /* every event up to the head read at start is acked,
                            and (protocol 2) every stream pulled is applied */
    DN_SYNCSM_FAIL       /* give up: dn_syncsm_rc() and result->error say why */
} dn_syncsm_action_t;

typedef struct _dn_syncsm_t dn_syncsm_t;

/*  Returns a new machine for the site in store, signing batches with key;
    peer names the server in error texts (e.g. its endpoint).  store, key,
    peer and result are borrowed and must outlive the machine; result is
    not cleared (the driver does that once per sync).  NULL if out of
    memory.  Caller destroys.  */
dn_syncsm_t *dn_syncsm_new(dn_store_t *store, dn_key_t *key, const char *peer,
                           dn_sync_result_t *result);

/*  Destroys; accepts NULL and sets *self_p to NULL.  */
void dn_syncsm_destroy(dn_syncsm_t **self_p);

/*  Makes the session write nothing in agent.db: the Welcome's bound on
    one sale is not stored (dn_sync_hello, for `doctor`, which only looks).
    A session that pushes must not be read-only: acks are written.  */
void dn_syncsm_set_readonly(dn_syncsm_t *self);

/*  Calls fn(arg, result) each time events were acked locally (the CLI's
    progress line).  fn NULL: none (the default).  */
void dn_syncsm_set_progress(dn_syncsm_t *self,
                            void (*fn)(void *arg, const dn_sync_result_t *result),
                            void *arg);

/*  What the sessions pull: the n streams given (at most
    DN_DOWN_MAX_STREAMS, copied) instead of the default (every applier's
    but STREAM_CHAIN), and whether they push the outbox first (push 0: a
    session that only pulls, for `recover`; it also takes a server that
    holds more than this site recorded).  A session of explicit streams
    fails (DN_EPROTO) against a server that sends nothing down.  */
void dn_syncsm_set_pull(dn_syncsm_t *self, const Dealernet__Stream *streams, size_t n,
                        int push);

/*  The appliers the machine applies with (borrowed; default: the list of
    agent/dn_down.c), and so the default streams: for tests.  */
void dn_syncsm_set_appliers(dn_syncsm_t *self, const dn_down_applier_t *const *list,
                            size_t n);

/*  Starts a session (dropping whatever an earlier one had in flight):
    reads the outbox position into result (head_seq, acked_through) and
    builds the Hello, stamped with now_ms (the agent's clock, for the
    server's skew figure).  reply_timeout_ms is only quoted in error texts.
    Returns DN_SYNCSM_SEND (open a fresh connection and send the Hello) or
    DN_SYNCSM_FAIL (DN_EDB).  */
dn_syncsm_action_t dn_syncsm_start(dn_syncsm_t *self, int64_t now_ms,
                                   int reply_timeout_ms);

/*  Borrowed: the packed SyncMessage to send after DN_SYNCSM_SEND, valid
    until the next call on the machine.  */
void dn_syncsm_message(const dn_syncsm_t *self, const uint8_t **data, size_t *len);

/*  The message of DN_SYNCSM_SEND went out.  Returns the next action:
    SEND (another batch fits the window), WAIT, or FAIL.  */
dn_syncsm_action_t dn_syncsm_sent(dn_syncsm_t *self);

/*  The message of DN_SYNCSM_SEND could not be sent (no connection in
    time).  Returns DN_SYNCSM_RECONNECT.  */
dn_syncsm_action_t dn_syncsm_send_failed(dn_syncsm_t *self);

/*  One reply arrived after DN_SYNCSM_WAIT: len bytes of one frame, exactly
    as received.  A reply that does not decode is logged and treated as
    lost (as dn_syncsm_timeout).  Returns the next action.  */
dn_syncsm_action_t dn_syncsm_reply(dn_syncsm_t *self, const uint8_t *data, size_t len);

/*  No reply came within the timeout after DN_SYNCSM_WAIT (or the driver
    dropped a reply it could not take, e.g. one of several frames).
    Returns DN_SYNCSM_RECONNECT.  */
dn_syncsm_action_t dn_syncsm_timeout(dn_syncsm_t *self);

/*  After DN_SYNCSM_FAIL: the error (DN_EPERM: not enrolled or revoked;
    DN_EPROTO: the server refused the site's data, or holds more than the
    site recorded, or a Down does not apply to what is held; DN_ESIG: a
    Down does not verify, or the server names another down key than the
    pinned one; DN_EDB; DN_ECHAIN: the outbox is damaged; ...).  After
    DN_SYNCSM_RECONNECT: DN_EAGAIN.  After DN_SYNCSM_DONE: 0.  */
int dn_syncsm_rc(const dn_syncsm_t *self);

/*  The machine's state, for traces: "idle", "hello", "push", "down" or
    "ended".  */
const char *dn_syncsm_state(const dn_syncsm_t *self);

/*  1 while the machine waits for a DownReply (the upload is done): its
    driver may wait longer for it than for an ack.  */
int dn_syncsm_pulling(const dn_syncsm_t *self);

/*  Batches sent in this session and not yet acked by their own reply.  */
size_t dn_syncsm_inflight(const dn_syncsm_t *self);

#endif
