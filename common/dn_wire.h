/*  dn_wire -- the only door between bytes and protobuf messages.

    Everything that crosses a process boundary is packed and unpacked here,
    so there is one place that bounds sizes, refuses unknown fields and
    checks the presence and range of every field.  A message that comes out
    of dn_wire_*_unpack is safe to use without further defensive checks; a
    message that fails gets a one-line reason for the peer or the log.
*/
#ifndef DN_WIRE_H
#define DN_WIRE_H

#include "dealernet.pb-c.h"
#include "dn_protocol.h"

#include <stddef.h>
#include <stdint.h>

#define DN_MAX_EVENT_BYTES (64 * 1024)
#define DN_WHY_SIZE        160 /* room for a refusal reason */

/*  Checks an event: id is a 16-byte UUIDv7, site a code, seq >= 1,
    recorded_at_ms plausible, prev_hash 32 bytes, exactly one body whose
    fields are present and in range (see dn_valid.h for the text shapes),
    and no unknown fields anywhere.  Returns 0, or DN_EPROTO with the first
    problem written into why[0..why_size).  */
int dn_wire_event_check(const Dealernet__Event *ev, char *why, size_t why_size);

/*  Checks ev (as dn_wire_event_check) and packs it.  Returns 0 and sets
    *buf (malloc'd, caller frees) and *len; DN_EPROTO with a reason;
    DN_ETOOBIG if the packed size exceeds DN_MAX_EVENT_BYTES; DN_ENOMEM.  */
int dn_wire_event_pack(const Dealernet__Event *ev, uint8_t **buf, size_t *len,
                       char *why, size_t why_size);

/*  Unpacks and checks len bytes.  Returns 0 and sets *ev (caller frees with
    dn_wire_event_free); DN_ETOOBIG if len exceeds DN_MAX_EVENT_BYTES;
    DN_EPROTO with a reason for anything malformed.  *ev is NULL on error.  */
int dn_wire_event_unpack(const uint8_t *buf, size_t len, Dealernet__Event **ev,
                         char *why, size_t why_size);

/*  Frees an unpacked event; accepts NULL and sets *ev_p to NULL.  */
void dn_wire_event_free(Dealernet__Event **ev_p);

/*  Returns a short name for an event's body: "sale", "refund",
    "member_signup", "member_update" or "none".  */
const char *dn_wire_event_kind(const Dealernet__Event *ev);

/*  Returns "store", "online" or "community" for a channel, or "unknown".  */
const char *dn_wire_channel_name(int channel);

/*  Returns the channel named by text ("store", "online", "community"), or
    DN_EPARSE.  */
int dn_wire_channel_parse(const char *text);

#endif
