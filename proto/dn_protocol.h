/*  dn_protocol -- the wire protocol version, beside proto/dealernet.proto.

    Bump DN_PROTOCOL_VERSION when a message changes in a way an older peer
    would misread: a field whose meaning changes, a new required-in-practice
    field, a new oneof case or enum value the other side must understand.
    Adding an optional field that an older peer may ignore does not need a
    bump -- but note that dn_wire refuses unknown fields, so a new field is
    only sent once both sides know it.
*/
#ifndef DN_PROTOCOL_H
#define DN_PROTOCOL_H

/*  3 (issue 13): a Sale may carry receipt and payment (fields 8 and 9),
    and the Welcome names the network's time zone (fields 8 and 9).  A
    server of 2 refuses the sale's fields as unknown, which would stop a
    shop's sync at its first such sale: the version tells it at the Hello,
    before any event is sent, and the agent says to upgrade the server
    first.  The zone is sent only to a client of 3.  The downstream of 2
    is unchanged.  */
#define DN_PROTOCOL_VERSION 3

/*  The oldest protocol this server still answers: protocol-1 agents sync
    as before (no down key in their Welcome, no Pull), protocol-2 agents
    without the zone in their Welcome (they count days in UTC).  */
#define DN_PROTOCOL_MIN_VERSION 1

/*  The most batches a Welcome may let an agent have in flight: dn_wire
    refuses a Welcome with a larger window, the agent sizes its table of
    batches in flight by it, and the server's own window (DN_SYNC_WINDOW,
    dn_session.h) must not exceed it.  */
#define DN_PROTOCOL_MAX_WINDOW 64

/*  The longest zone name or rule a Welcome carries (protocol 3), in
    bytes: DN_TIME_ZONE_SIZE less its NUL.  */
#define DN_PROTOCOL_ZONE_MAX 63

/*  Downstream (protocol 2, PROTOCOL.md "Downstream").  */
#define DN_DOWN_MAX_BYTES   (192 * 1024) /* packed items of one DownReply, all streams */
#define DN_DOWN_SCOPE_MAX   64           /* bytes of a Down's scope */
#define DN_DOWN_MAX_STREAMS 8            /* holds in one Pull, Downs in one DownReply */
#define DN_DOWN_MAX_ITEMS   16384        /* items of one DownReply, all streams */

#endif
