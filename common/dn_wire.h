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

#define DN_MAX_EVENT_BYTES         (64 * 1024)
#define DN_MAX_BATCH_EVENTS        500
/*  The two bounds below are each socket's ZMQ_MAXMSGSIZE, and so also what
    a peer that has not yet proven its key can make the server hold for a
    frame in progress (dn_door): small on purpose.  A batch of 500 sales of
    a few lines is about 150 KiB.  A sync message may be 64 KiB more than
    a batch's events (their framing, the chain head, the signature take at
    most 2.1 KiB): a batch a little over its bounds still arrives whole and
    is refused REFUSE_TOO_BIG with the bound it broke, while libzmq drops a
    frame over DN_MAX_SYNC_MSG_BYTES with its connection, unread and
    unanswered (docs/PROTOCOL.md, "Size limits").  */
#define DN_MAX_BATCH_BYTES         (256 * 1024) /* sum of a batch's event bytes */
#define DN_MAX_SYNC_MSG_BYTES      (DN_MAX_BATCH_BYTES + 64 * 1024)
#define DN_MAX_ADMIN_REQUEST_BYTES (256 * 1024)
#define DN_MAX_ADMIN_REPLY_BYTES   (64 * 1024 * 1024)
/*  HQ catalogue import (issue 14, part B): dealernet-hq sends a CSV file
    in parts of at most this many bytes of rows (plus the header), one
    admin request each, and the server stores the whole file in one
    transaction when the last part arrives (dn_catalog_import_part).  The
    admin request bound stays 256 KiB rather than growing to hold a file
    (10,000 SKUs with Chinese names are ~600 KB): it is also what each
    stranger on the admin port may make the server hold (dn_door), so it
    is kept small.  Room is left for the other arguments and framing.  */
#define DN_CATALOG_PART_BYTES      (192 * 1024)
#define DN_CATALOG_MAX_ROWS        100000 /* rows of one import file */
/*  The largest import file dealernet-hq reads (100,000 rows at the
    longest names are ~30 MiB; a real one is far smaller).  */
#define DN_CATALOG_FILE_MAX_BYTES  (64 * 1024 * 1024)
/*  A plan's text: the server refuses a larger one (dn_plan), and so
    dealernet-hq reads no larger file to send as an argument.  */
#define DN_PLAN_MAX_BYTES          (64 * 1024)
#define DN_MAX_TOKEN_LEN           64
#define DN_MAX_VERSION_LEN         64
#define DN_MAX_ADMIN_ARGS          32
#define DN_WHY_SIZE                160 /* room for a refusal reason */
#define DN_MIN_TOKEN_LEN           16

/*  1 if text is an enrollment token as the wire carries it: DN_MIN_TOKEN_LEN
    to DN_MAX_TOKEN_LEN ASCII letters and digits (nothing a shell, a console
    or a log line acts on).  */
int dn_wire_token_valid(const char *text);

/*  Checks an event: id is a 16-byte UUIDv7, site a code, seq >= 1,
    recorded_at_ms plausible, prev_hash 32 bytes, exactly one body whose
    fields are present and in range (see dn_valid.h for the text shapes),
    and no unknown fields anywhere.  Returns 0, or DN_EPROTO with the first
    problem written into why[0..why_size).  */
int dn_wire_event_check(const Dealernet__Event *ev, char *why, size_t why_size);

/*  Checks what every agent has refused to record since its first
    version, beyond dn_wire_event_check: a SKU given twice in one sale or
    in one refund (SKUs compared byte for byte, as the agent does), and a
    sale naming a member id without the member's phone (the agent sets
    the id only for a phone it found).  The server applies it to events
    it has not stored yet (dn_ingest): a server before it stored such
    events, and what is stored must still decode for verify and posting.
    Returns 0, or DN_EPROTO with the first problem in why.  */
int dn_wire_event_check_new(const Dealernet__Event *ev, char *why, size_t why_size);

/*  Checks ev (as dn_wire_event_check) and packs it.  Returns 0 and sets
    *buf (malloc'd, caller frees) and *len; DN_EPROTO with a reason;
    DN_ETOOBIG if the packed size exceeds DN_MAX_EVENT_BYTES; DN_ENOMEM.  */
int dn_wire_event_pack(const Dealernet__Event *ev, uint8_t **buf, size_t *len,
                       char *why, size_t why_size);

/*  Unpacks and checks len bytes.  Returns 0 and sets *ev (caller frees with
    dn_wire_event_free); DN_ETOOBIG if len exceeds DN_MAX_EVENT_BYTES;
    DN_EPROTO with a reason for anything malformed; DN_ENOMEM (not the
    sender's fault: retry).  *ev is NULL on error.
    Like every unpack here, it first walks the bytes without allocating and
    refuses field number 0, groups and unused wire types, unknown fields, a
    singular field or a second oneof member given twice, a varint too wide
    for its 32-bit field or enum, a NUL inside a string, and more elements
    of a repeated field than its bound (DN_MAX_SALE_LINES, ...).  */
int dn_wire_event_unpack(const uint8_t *buf, size_t len, Dealernet__Event **ev,
                         char *why, size_t why_size);

/*  Frees an unpacked event; accepts NULL and sets *ev_p to NULL.  */
void dn_wire_event_free(Dealernet__Event **ev_p);

/*  Replaces the string *field of an event from dn_wire_event_unpack with a
    copy of text (NULL: removes it), freeing the old one: what the server
    stores may differ from what was signed (canonical phones), never the
    signed bytes.  Returns 0, or DN_ENOMEM with *field unchanged.  */
int dn_wire_event_set_text(char **field, const char *text);

/*  Returns a short name for an event's body: "sale", "refund",
    "member_signup", "member_update" or "none".  */
const char *dn_wire_event_kind(const Dealernet__Event *ev);

/*  Sync messages (one SyncMessage per ZeroMQ frame).  pack: checks and
    packs into a malloc'd buffer the caller frees; unpack: bounds the size
    (DN_MAX_SYNC_MSG_BYTES), decodes, refuses unknown fields and checks the
    body's fields (a PushBatch's events are only bounded here: each is
    checked with dn_wire_event_unpack where it is applied).  Return 0,
    DN_ETOOBIG (reason in why) for a message over DN_MAX_SYNC_MSG_BYTES or
    a PushBatch over a sender's bounds -- more than DN_MAX_BATCH_EVENTS
    events, an event over DN_MAX_EVENT_BYTES, events over
    DN_MAX_BATCH_BYTES in all --, DN_EPROTO (reason in why) for anything
    else malformed, or DN_ENOMEM.  */
int dn_wire_sync_pack(const Dealernet__SyncMessage *msg, uint8_t **buf, size_t *len,
                      char *why, size_t why_size);
int dn_wire_sync_unpack(const uint8_t *buf, size_t len, Dealernet__SyncMessage **msg,
                        char *why, size_t why_size);
void dn_wire_sync_free(Dealernet__SyncMessage **msg_p);

/*  The SyncMessage holding a DownReply of n Downs given packed (each the
    bytes dealernet__down__pack writes), laid out as protobuf does -- each
    Down a length-delimited field 1 of DownReply, the DownReply field 9 of
    SyncMessage -- so that a Down packed once (the server's cache of
    signed chunks) is copied into every reply and never packed again.
    The bytes are those dn_wire_sync_pack writes for the same message.
    Returns 0 and *buf (caller frees), *len; DN_ETOOBIG (reason in why)
    over DN_MAX_SYNC_MSG_BYTES; DN_ENOMEM.  */
int dn_wire_down_reply_pack(const ProtobufCBinaryData *downs, size_t n, uint8_t **buf,
                            size_t *len, char *why, size_t why_size);

/*  Admin requests and replies, with the same contract; bounded by
    DN_MAX_ADMIN_REQUEST_BYTES and DN_MAX_ADMIN_REPLY_BYTES.  A request's
    lang, when present, must be a language code (dn_i18n_lang_valid).  */
int dn_wire_admin_request_pack(const Dealernet__AdminRequest *msg, uint8_t **buf,
                               size_t *len, char *why, size_t why_size);
int dn_wire_admin_request_unpack(const uint8_t *buf, size_t len,
                                 Dealernet__AdminRequest **msg, char *why,
                                 size_t why_size);
void dn_wire_admin_request_free(Dealernet__AdminRequest **msg_p);
int dn_wire_admin_reply_pack(const Dealernet__AdminReply *msg, uint8_t **buf, size_t *len,
                             char *why, size_t why_size);
int dn_wire_admin_reply_unpack(const uint8_t *buf, size_t len, Dealernet__AdminReply **msg,
                               char *why, size_t why_size);
void dn_wire_admin_reply_free(Dealernet__AdminReply **msg_p);

/*  Returns the value of the admin argument called name, or NULL.  Borrowed
    from req.  */
const char *dn_wire_admin_arg(const Dealernet__AdminRequest *req, const char *name);

#define DN_BATCH_SIGNED_MAX 96 /* room for dn_wire_batch_signed's output */

/*  Writes the bytes a batch signature covers into out and returns their
    length: "dealernet-batch-v1", NUL, the site code, NUL, the batch's last
    seq (8 bytes big-endian) and the chain head (the SHA-256 of the last
    event's bytes).  The chain makes the head stand for every event before
    it, so one signature covers the site's whole history up to last_seq.
    site must be a valid code.  */
size_t dn_wire_batch_signed(const char *site, uint64_t last_seq, const uint8_t head[32],
                            uint8_t out[DN_BATCH_SIGNED_MAX]);

/* -- downstream (protocol 2, PROTOCOL.md "Downstream") ----------------------

   A sync message's Pull and DownReply are checked by dn_wire_sync_unpack
   like every body: at most DN_DOWN_MAX_STREAMS holds or Downs, each
   stream known and named at most once, scopes of at most
   DN_DOWN_SCOPE_MAX bytes (a hold of version 0 has none), to_version >=
   from_version, a signature of DN_SIG_BYTES, the items of a reply at
   most DN_DOWN_MAX_ITEMS and DN_DOWN_MAX_BYTES in all.  What each item
   says is checked here only as text (below); the shape of its fields is
   its stream's applier's rule.  */

#define DN_DOWN_TEXT_MAX   2048 /* bytes of any string in a DownItem */
#define DN_DOWN_SIGNED_MAX 160  /* room for dn_wire_down_signed's output */

/*  1 if stream is a Stream this program knows (not UNSPECIFIED).  */
int dn_wire_stream_known(int stream);

/*  Checks a DownItem for stream: its body is the stream's kind (catalog,
    earnings, member, notice, event), no unknown fields, every string
    well-formed UTF-8 of at most DN_DOWN_TEXT_MAX bytes, an event at most
    DN_MAX_EVENT_BYTES.  Returns 0 or DN_EPROTO with the reason.  */
int dn_wire_down_item_check(Dealernet__Stream stream, const Dealernet__DownItem *item,
                            char *why, size_t why_size);

/*  Checks (dn_wire_down_item_check) and packs an item into a malloc'd
    buffer the caller frees.  Returns 0, DN_EPROTO (why), DN_ENOMEM.  */
int dn_wire_down_item_pack(Dealernet__Stream stream, const Dealernet__DownItem *item,
                           uint8_t **buf, size_t *len, char *why, size_t why_size);

/*  Unpacks one item of a Down of stream (bounded by DN_DOWN_MAX_BYTES,
    pre-scanned as every message) and checks it.  Returns 0 and *item
    (caller frees with dn_wire_down_item_free); DN_EPROTO (why); DN_ENOMEM.  */
int dn_wire_down_item_unpack(Dealernet__Stream stream, const uint8_t *buf, size_t len,
                             Dealernet__DownItem **item, char *why, size_t why_size);
void dn_wire_down_item_free(Dealernet__DownItem **item_p);

/*  Writes the bytes a Down's signature covers into out and sets *len:
    "dealernet-down-v1", NUL, the stream (4 bytes big-endian), the scope's
    length (1 byte) and the scope, from_version and to_version (8 bytes
    big-endian each), reset and more (1 byte each, 0 or 1), then the
    SHA-256 of the items, each as its length (4 bytes big-endian) and its
    bytes.  No site: a chunk of one scope is the same for every site in
    it, so the server signs it once and caches it; a stream whose content
    is one site's own puts the site in its scope.  down's scope must be at
    most DN_DOWN_SCOPE_MAX bytes.  Returns 0 or DN_ECRYPTO.  */
int dn_wire_down_signed(const Dealernet__Down *down, uint8_t out[DN_DOWN_SIGNED_MAX],
                        size_t *len);

/*  Returns "store", "online" or "community" for a channel, or "unknown".  */
const char *dn_wire_channel_name(int channel);

/*  Returns the channel named by text ("store", "online", "community"), or
    DN_EPARSE.  */
int dn_wire_channel_parse(const char *text);

/*  Returns "cash", "wechat", "alipay", "card" or "other" for a payment
    method (enum Payment), or "unknown" (absent, or from a newer peer).  */
const char *dn_wire_payment_name(int payment);

/*  Returns the payment method named by text (one of the five names above),
    or DN_EPARSE.  */
int dn_wire_payment_parse(const char *text);

#endif
