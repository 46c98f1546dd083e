/*  dn_door -- a bounded cost for peers that have not proven who they are.

    The sync socket must let unknown CURVE keys in, so that a new shop can
    enrol, and any socket holds a connection while its handshake runs.
    libzmq bounds neither how many such connections there are nor how long
    an idle one stays, and each may hold a frame of up to ZMQ_MAXMSGSIZE
    while it arrives.  The door watches each public socket through libzmq's
    socket monitor, in a thread of its own, and keeps every connection a
    *stranger* until the server has read from it a message that proves an
    enrolled site's key (sync socket) or an HQ admin key (admin socket):

      - a stranger is closed when it has not been proven within
        DN_DOOR_STRANGER_MS of being accepted;
      - at most per_address strangers from one IP address (an IPv6 /64)
        per socket: a new one closes that address's oldest;
      - at most `total` strangers per socket that have lingered past
        DN_DOOR_GRACE_MS: beyond, the oldest is closed;
      - at most `hard` strangers per socket in all, young ones included
        (DN_DOOR_YOUNG_FACTOR x total, within a quarter of the process's
        descriptor limit): beyond, the oldest is closed.

    The grace is for herds: a thousand shops reconnecting at once after a
    server restart are all strangers for the moment of their handshake, and
    must not close each other; a crowd's connections linger.  So strangers
    hold at most `hard` descriptors, and on the sync socket at most
    total x (DN_MAX_SYNC_MSG_BYTES + buffers) of memory held longer than
    the grace, for at most DN_DOOR_STRANGER_MS each; enrolled sites and HQ,
    once they have spoken, are never closed by the door.  The oldest goes
    first, so a crowd's lingering connections go before an honest handshake
    in progress.

    Closing: the door calls shutdown(2) on libzmq's descriptor (libzmq has
    no call to drop one peer of a ROUTER socket); libzmq reads the end of
    the stream and closes the connection as if the peer had left.  The
    descriptor is first checked to be the same socket (its inode) that was
    accepted, so a number reused by a newer connection is never touched.

    Threads: dn_door_watch, dn_door_stop and dn_door_seen are called by the
    thread that owns the sockets (the server's loop); the door's thread
    only reads the monitors and calls shutdown(2).
*/
#ifndef DN_DOOR_H
#define DN_DOOR_H

#define DN_DOOR_STRANGER_MS    10000 /* to prove a key, from the accept */
#define DN_DOOR_GRACE_MS       2000  /* a handshake and a first message, on a slow link */
#define DN_DOOR_YOUNG_FACTOR   4     /* hard = this x total, young strangers included */
#define DN_DOOR_MAX_SOCKETS    4
#define DN_DOOR_SYNC_PER_ADDRESS 16
#define DN_DOOR_SYNC_TOTAL     256
#define DN_DOOR_ADMIN_PER_ADDRESS 32 /* HQ works from few addresses: the total is the cap */
#define DN_DOOR_ADMIN_TOTAL    32

typedef struct dn_door dn_door_t;

/*  A door in the ZeroMQ context ctx (borrowed), or NULL.  */
dn_door_t *dn_door_new(void *ctx);

/*  Watches sock, which must not be bound yet, under name ("sync",
    "admin"), with the caps above.  Returns the socket's index (for
    dn_door_seen), or -1 when the monitor cannot be set up.  */
int dn_door_watch(dn_door_t *door, void *sock, const char *name, int per_address,
                  int total);

/*  The socket's cap on strangers young and old (see above), or 0.  */
int dn_door_hard(dn_door_t *door, int index);

/*  Starts the door's thread.  Returns 0 or DN_EIO.  */
int dn_door_start(dn_door_t *door);

/*  The server read a whole message from descriptor fd of socket index
    (zmq_msg_get(ZMQ_SRCFD)) sent from peer (its "Peer-Address"); proven:
    it came from an enrolled site or an admin, and the connection is no
    longer a stranger -- if the socket now under fd is at that address (the
    message may have outlived its connection, and the number been reused).  */
void dn_door_seen(dn_door_t *door, int index, int fd, const char *peer, int proven);

/*  Stops watching socket index (from the sockets' thread), before it is
    closed without having served.  */
void dn_door_unwatch(dn_door_t *door, int index);

/*  Stops monitoring (from the sockets' thread, before they close) and the
    door's thread.  */
void dn_door_stop(dn_door_t *door);

void dn_door_destroy(dn_door_t **door);

#endif
