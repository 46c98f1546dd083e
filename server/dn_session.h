/*  dn_session -- the server's side of a sync session, with no socket and
    no clock: the twin of the agent's dn_syncsm.

    The rules for every message an agent sends live here: who may send
    what (an unknown key may only enroll, a revoked site is refused, an
    enrolled site sends Hello or Push), Hello -> Welcome, Push -> PushAck
    or Refused, enrollment with its per-address limit on failures, and
    durability: a reply that depends on the group transaction (a Welcome,
    an ack, a refusal after a write) is held until the group has
    committed, and if the commit fails every such reply becomes
    REFUSE_INTERNAL, so no agent is told "stored" of what was rolled back.

    The driver owns the I/O.  It hands each message over with the identity
    its connection proved (the ZAP User-Id, dn_zap.h) and an opaque route
    for the reply, ends the group when it chooses, and sends the replies
    the session releases, in the order it releases them.  The real driver
    is dn_server.c (a CurveZMQ ROUTER socket, the poll, the door, the group
    commit's timing); the deterministic simulator (tests/sim/dn_sim.c)
    drives the same code over an in-memory bus with a fake clock and
    injected crashes, so what it shows about replies and commits holds for
    the server that ships.

    A session holds no per-connection state but one fact: which routes
    said Hello in which protocol (a Pull comes only after a Hello of
    protocol 2 on its connection).  One session serves every connection of
    the server's sync socket (replies are routed by their route), on the
    server's one database connection.

    Downstream (protocol 2): a Pull is answered by dn_down_pull with one
    DownReply, read inside the group transaction and held until the group
    commits, like an ack (REFUSE_INTERNAL if it does not).

    Pulls wait: the downstream channel must never slow the upload of
    sales, and a DownReply is up to DN_DOWN_MAX_BYTES where an ack is a
    few bytes.  So a well-formed Pull of an enrolled site is not answered
    when it is read but queued (deferred), and every message its
    connection sends behind it queues too, so that replies still leave in
    the order each connection's messages came.  At the end of a group,
    after the Pushes read in it were applied, the oldest deferred messages
    are answered in arrival order, in the same group (their replies are
    held until it commits, like every other), while their replies stay
    within DN_SESSION_PULL_BYTES_BUSY when the group applied a Push,
    DN_SESSION_PULL_BYTES_IDLE when it applied none, and at least one is
    answered per group (also when the messages read filled DN_GROUP_MAX
    replies: a busy upload or a flood cannot stop pulls).  The queue is
    bounded (DN_SESSION_DEFERRED_MAX messages, DN_SESSION_DEFERRED_BYTES,
    and DN_SESSION_DEFERRED_PER_SITE of one site, so that one site that
    does not wait for its replies cannot take every place): a Pull beyond
    it is refused at once with REFUSE_RATE_LIMITED, which ends that
    agent's sync after its upload, to pull again at the next one.  A
    crash loses the queue as it loses held replies: the agents time out
    and pull again.
*/
#ifndef DN_SESSION_H
#define DN_SESSION_H

#include "dealernet.pb-c.h"
#include "dn_down.h"
#include "dn_ingest.h"
#include "dn_protocol.h"

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#define DN_SYNC_WINDOW 4   /* batches an agent may have in flight: the Welcome's window */
#define DN_GROUP_MAX   64  /* messages read in one group: replies held (+1: "Pulls wait") */
#define DN_ENROLL_WINDOW_MS      60000 /* failed enrollments are counted per minute */
#define DN_ENROLL_LIMIT_PER_PEER 10  /* ... per peer address (none overall: dn_session.c) */
#define DN_ENROLL_LIMIT_PEERS    256 /* addresses remembered */
#define DN_SESSION_ROUTE_MAX     256 /* bytes of a reply's route (a ZeroMQ routing id: 1-255) */
#define DN_SESSION_HELLOS 4096       /* routes remembered as having said Hello */
#define DN_SESSION_HELLOS_PER_SITE 4 /* ... of them, at most this many of one site */
#define DN_SESSION_USER_MAX 96       /* a deferred message's User-Id, bytes */
/*  Pulls wait (see "Pulls wait" above): at most this many messages ...  */
#define DN_SESSION_DEFERRED_MAX 2048
/*  ... of at most this many bytes in all (a Pull is under 1 KiB).  */
#define DN_SESSION_DEFERRED_BYTES (4 * 1024 * 1024)
/*  ... of them, at most this many of one site.  */
#define DN_SESSION_DEFERRED_PER_SITE 8
/*  The DownReplies' bytes a group answers beside the Pushes it applied
    (at least one reply, so pulls always move) ...  */
#define DN_SESSION_PULL_BYTES_BUSY (256 * 1024)
/*  ... and in a group that applied no Push.  */
#define DN_SESSION_PULL_BYTES_IDLE (4 * 1024 * 1024)

#if DN_SYNC_WINDOW > DN_PROTOCOL_MAX_WINDOW
#error "DN_SYNC_WINDOW: agents refuse a Welcome with a window over DN_PROTOCOL_MAX_WINDOW"
#endif

/*  How a session answers; zeroed fields take the defaults.  */
typedef struct {
    uint32_t window;           /* the Welcome's window; 0: DN_SYNC_WINDOW */
    uint32_t max_batch_events; /* the Welcome's batch size; 0: DN_MAX_BATCH_EVENTS */
    /*  The clock (Unix ms) for ingest, the Welcome and the enrollment
        limit; NULL: dn_time_now_ms.  */
    int64_t (*clock)(void *arg);
    void *clock_arg;
    /*  Called after each group commit that succeeded, before any of its
        replies is released (the server's crash-after-commit test hook
        lives behind it, in dn_server.c); NULL: none.  */
    void (*committed)(void *arg);
    void *committed_arg;
    /*  TEST ONLY -- the simulator's --bug-check sets it; the server never
        does.  Releases each reply as soon as it is decided, before the
        group commit: the bug the durability rule above forbids (a crash
        before the commit then loses events the agents were told are
        stored).  The simulator proves its checks catch it.  */
    int test_reply_before_commit;
    /*  The downstream server (borrowed, dn_down.h): its key goes in the
        Welcome and Enrolled of protocol-2 agents, and it answers their
        Pulls.  NULL: no downstream (a Pull is refused MALFORMED).  */
    dn_down_t *down;
    /*  Routes one site may hold in the table of Hellos; 0:
        DN_SESSION_HELLOS_PER_SITE (the server's; a test of the other
        bounds may let one site hold them all).  */
    uint32_t hellos_per_site;
    /*  Messages of one site the deferred queue holds; 0:
        DN_SESSION_DEFERRED_PER_SITE (the server's; a test of the other
        bounds may let one site fill the queue).  */
    size_t deferred_per_site;
} dn_session_options_t;

/*  Who sent a message, as the driver's connection proved it.  */
typedef struct {
    /*  The connection's ZAP User-Id: the site code of an enrolled key,
        "?" + the Z85 public key of an unknown key, "!" + the code of a
        revoked site's key, "^" + the Z85 public key of a key its site
        was enrolled with before `site token` moved it to another PC.  */
    const char *user;
    const char *address;  /* the peer's address, for logs and the enrollment limit */
    const uint8_t *route; /* where its reply goes, opaque to the session (copied) */
    size_t route_len;     /* 0..DN_SESSION_ROUTE_MAX */
} dn_session_peer_t;

/*  What came of one message, for the driver (the door, the simulator's
    checks and traces).  */
typedef struct {
    int proven; /* 1: an enrolled site's key sent it (no longer a stranger) */
    Dealernet__SyncMessage__BodyCase kind; /* what it was; NOT_SET: it did not decode */
    /*  A Hello or a Push of an enrolled site: what ingest returned (0;
        DN_EPROTO: the batch was refused; else the server's own trouble).
        0 for anything else.  */
    int rc;
    uint64_t applied_seq;          /* a Hello answered by a Welcome: its applied seq */
    int deferred;                  /* 1: it waits in the deferred queue, not answered yet */
    dn_ingest_result_t push;       /* a Push: ingest's result */
} dn_session_outcome_t;

typedef struct _dn_session_t dn_session_t;

/*  Returns a new session on db and ingest (borrowed; they must outlive it)
    answering as options say (NULL: all defaults; copied), or NULL if out
    of memory.  Caller destroys.  */
dn_session_t *dn_session_new(sqlite3 *db, dn_ingest_t *ingest,
                             const dn_session_options_t *options);

/*  Destroys, dropping every reply not taken (a crash loses them too);
    does not end the group.  Accepts NULL and sets *self_p to NULL.  */
void dn_session_destroy(dn_session_t **self_p);

/*  Handles one message of len bytes from peer, exactly as received
    (extra: it came with more than one frame, which is malformed), and
    queues its reply, held until the group ends (dn_session_end_group)
    whether it depends on the group or not: replies leave in the order the
    messages came on each connection.  A Pull, and what its connection
    sends behind it, waits in the deferred queue instead (see "Pulls
    wait"; out->kind and out->proven say what it is, out->deferred that it
    waits).  An enrollment ends the group in hand first (it commits on its
    own), releasing what that group held.  Logs and counts refusals
    (dn_refusal) as the server reports them.  Fills *out when not NULL.
    Returns 0, or DN_EAGAIN when the message was not taken: DN_GROUP_MAX
    replies are already waiting (the driver must end the group and take
    the replies first), or it must wait behind its connection's Pull and
    the deferred queue is full or holds its site's share (only a peer
    that does not wait for its replies gets there: the driver drops it
    unanswered); or DN_EINVAL when the route is too long.  */
int dn_session_message(dn_session_t *self, const dn_session_peer_t *peer,
                       const uint8_t *data, size_t len, int extra,
                       dn_session_outcome_t *out);

/*  Replies queued and not yet taken (held or released).  */
size_t dn_session_pending(const dn_session_t *self);

/*  Messages waiting in the deferred queue: while there are, the driver
    ends a group every turn, also when nothing new came in.  */
size_t dn_session_deferred(const dn_session_t *self);

/*  Ends the group: first answers the oldest deferred messages within the
    group's budget (see "Pulls wait"), in the group; then commits it
    (commit != 0) or rolls it back (a driver that cannot commit, e.g.
    the simulator's failed commit), if one is open; then releases every
    held reply.  If the group did not commit,
    each reply that depended on it becomes REFUSE_INTERNAL ("the server
    could not commit; retry later") and the failure is logged.  Returns 0
    if the group committed or none was open, DN_EDB if it was rolled
    back.  */
int dn_session_end_group(dn_session_t *self, int commit);

/*  Takes the next released reply, in the order the messages came: copies
    its route into route (DN_SESSION_ROUTE_MAX bytes) and *route_len, and
    hands over *body of *len bytes (caller frees).  Returns 1, or 0 when no
    reply is released.  */
int dn_session_reply(dn_session_t *self, uint8_t *route, size_t *route_len, uint8_t **body,
                     size_t *len);

#endif
