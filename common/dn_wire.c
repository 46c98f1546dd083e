/*  dn_wire -- packing, unpacking and checking of wire messages.

    The checks are written as a list of "refuse if" lines, each naming the
    field, so the reason a peer gets points at the exact problem.

    Bytes from outside are walked once by a pre-scan before protobuf-c sees
    them, because protobuf-c is lenient in ways a door must not be: it
    takes field number 0 when the tag is an overlong varint, keeps the last
    of a field sent twice (a second sale replaces the first, lines and
    all) and the last body of a oneof, truncates a 64-bit varint into a
    32-bit field or enum, cuts a string at an embedded NUL while the hashed
    bytes keep what follows, and allocates an array for every element of a
    repeated field before anyone can count them (a 1 MiB batch of empty
    events is half a million of them).  The pre-scan refuses all of that
    without allocating, in time linear in the bytes times the nesting
    depth; what it accepts, protobuf-c decodes to the one meaning the scan
    saw.  Encodings that are merely not canonical (fields out of order,
    overlong varints) are accepted: they have one meaning, and the server
    hashes and stores the bytes it received, never a re-encoding.
*/
#include "dn_wire.h"
#include "dn_crypto.h"
#include "dn_error.h"
#include "dn_i18n.h"
#include "dn_id.h"
#include "dn_money.h"
#include "dn_protocol.h"
#include "dn_valid.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*  2001-01-01 .. 2200-01-01: clocks outside are broken, not early or late.  */
#define DN_MIN_TIME_MS 978307200000LL
#define DN_MAX_TIME_MS 7258118400000LL

static int s_refuse(char *why, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int s_refuse(char *why, size_t size, const char *fmt, ...)
{
    if (why && size) {
        va_list args;
        va_start(args, fmt);
        vsnprintf(why, size, fmt, args);
        va_end(args);
    }
    return DN_EPROTO;
}

#define REFUSE(...) return s_refuse(why, why_size, __VA_ARGS__)

/*  Returns 1 if m or any message inside it carries fields this program does
    not know.  protobuf-c keeps them aside instead of failing; we refuse
    them, so a peer cannot smuggle data past the checks.  */
static int s_has_unknown(const ProtobufCMessage *m)
{
    const ProtobufCMessageDescriptor *desc = m->descriptor;
    if (m->n_unknown_fields)
        return 1;
    for (unsigned i = 0; i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &desc->fields[i];
        const char *base = (const char *)m;
        if (f->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)(base + f->quantifier_offset);
            ProtobufCMessage *const *items = *(ProtobufCMessage *const *const *)(base + f->offset);
            for (size_t j = 0; j < n; j++)
                if (items[j] && s_has_unknown(items[j]))
                    return 1;
            continue;
        }
        if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
            *(const uint32_t *)(base + f->quantifier_offset) != f->id)
            continue;
        const ProtobufCMessage *sub = *(ProtobufCMessage *const *)(base + f->offset);
        if (sub && s_has_unknown(sub))
            return 1;
    }
    return 0;
}

/* -- the pre-scan ------------------------------------------------------------ */

#define DN_SCAN_MAX_DEPTH    8    /* the proto nests 3 deep; no recursion */
#define DN_SCAN_MAX_FIELDS   32   /* fields of the largest message, and room */
#define DN_SCAN_MAX_ELEMENTS 1000 /* a repeated field with no bound of its own */

/*  What the scan reports its refusals with.  */
typedef struct {
    const char *name;      /* the outer message, for reasons: "event" */
    const char *malformed; /* the reason for bytes that are not protobuf */
    char *why;
    size_t why_size;
} s_scan_t;

/*  Reads a varint of at most max_bytes bytes at p[0..len) into *value.
    Returns its length, or 0 if it is cut short, longer than max_bytes, or
    beyond 64 bits (a tenth byte above 1).  */
static size_t s_varint(const uint8_t *p, size_t len, size_t max_bytes, uint64_t *value)
{
    uint64_t v = 0;
    for (size_t i = 0; i < len && i < max_bytes; i++) {
        if (i == 9 && p[i] > 1)
            return 0;
        v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if (!(p[i] & 0x80)) {
            *value = v;
            return i + 1;
        }
    }
    return 0;
}

/*  The wire type a field of this type is sent with.  */
static int s_wire_type(ProtobufCType type)
{
    switch (type) {
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_FLOAT:
        return PROTOBUF_C_WIRE_TYPE_32BIT;
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return PROTOBUF_C_WIRE_TYPE_64BIT;
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_BYTES:
    case PROTOBUF_C_TYPE_MESSAGE:
        return PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED;
    default:
        return PROTOBUF_C_WIRE_TYPE_VARINT;
    }
}

/*  Returns 1 if a varint value fits the field's type as it is sent: 32-bit
    signed types and enums as a sign-extended int32, unsigned and zigzag
    32-bit types within 32 bits, bools as 0 or 1.  */
static int s_fits(ProtobufCType type, uint64_t v)
{
    switch (type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_ENUM:
        return (int64_t)v >= INT32_MIN && (int64_t)v <= INT32_MAX;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_SINT32:
        return v <= UINT32_MAX;
    case PROTOBUF_C_TYPE_BOOL:
        return v <= 1;
    default:
        return 1;
    }
}

/*  Refuses n elements of the repeated field f of desc if they are more
    than its bound.  The bounds are the ones the checks below apply, with
    the same words, so a peer gets the same reason whichever refuses.  */
static int s_scan_count(const s_scan_t *s, const ProtobufCMessageDescriptor *desc,
                        const ProtobufCFieldDescriptor *f, size_t n)
{
    char *why = s->why;
    size_t why_size = s->why_size;
    if (desc == &dealernet__push_batch__descriptor) {
        /* over a batch's count: DN_ETOOBIG, as every bound a sender sizes
           its batches by (the peer gets REFUSE_TOO_BIG) */
        if (n > DN_MAX_BATCH_EVENTS) {
            s_refuse(why, why_size, "batch has %zu events, expected 1 to %d", n,
                     DN_MAX_BATCH_EVENTS);
            return DN_ETOOBIG;
        }
    } else if (desc == &dealernet__sale__descriptor) {
        if (n > DN_MAX_SALE_LINES)
            REFUSE("sale has %zu lines, expected 1 to %d", n, DN_MAX_SALE_LINES);
    } else if (desc == &dealernet__refund__descriptor) {
        if (n > DN_MAX_SALE_LINES)
            REFUSE("refund has %zu lines, at most %d", n, DN_MAX_SALE_LINES);
    } else if (desc == &dealernet__pull__descriptor) {
        if (n > DN_DOWN_MAX_STREAMS)
            REFUSE("pull has %zu holds, expected 1 to %d", n, DN_DOWN_MAX_STREAMS);
    } else if (desc == &dealernet__down_reply__descriptor) {
        if (n > DN_DOWN_MAX_STREAMS)
            REFUSE("down reply has %zu downs, at most %d", n, DN_DOWN_MAX_STREAMS);
    } else if (desc == &dealernet__down__descriptor) {
        if (n > DN_DOWN_MAX_ITEMS)
            REFUSE("down has %zu items, at most %d", n, DN_DOWN_MAX_ITEMS);
    } else if (desc == &dealernet__admin_request__descriptor) {
        if (n > DN_MAX_ADMIN_ARGS)
            REFUSE("admin request has %zu arguments, at most %d", n, DN_MAX_ADMIN_ARGS);
    } else if (n > DN_SCAN_MAX_ELEMENTS) {
        REFUSE("%s has %zu %s.%s, at most %d", s->name, n, desc->short_name, f->name,
               DN_SCAN_MAX_ELEMENTS);
    }
    return 0;
}

/*  Walks the len bytes of a desc message at p, and every sub-message in
    it, without allocating.  Refuses (DN_EPROTO, reason in s->why) bytes
    that are not protobuf: a tag of field number 0 or beyond 32 bits, wire
    types 3, 4, 6 and 7 (groups and none), a value cut short or a varint
    beyond 64 bits, a known field sent with another wire type or packed;
    and bytes that are protobuf but would decode to something other than
    what they say: unknown field numbers, a singular field or a second
    member of a oneof given twice, a varint that does not fit its 32-bit
    field or enum, a string holding a NUL byte, a repeated field beyond
    its bound, nesting deeper than DN_SCAN_MAX_DEPTH.  */
static int s_scan(const s_scan_t *s, const ProtobufCMessageDescriptor *desc,
                  const uint8_t *p, size_t len, int depth)
{
    uint32_t count[DN_SCAN_MAX_FIELDS] = {0};
    char *why = s->why;
    size_t why_size = s->why_size;
    size_t at = 0;

    assert(desc->n_fields <= DN_SCAN_MAX_FIELDS);
    if (depth > DN_SCAN_MAX_DEPTH)
        REFUSE("%s", s->malformed);
    while (at < len) {
        const ProtobufCFieldDescriptor *f;
        uint64_t tag, value = 0;
        size_t n = s_varint(p + at, len - at, 5, &tag), idx;
        int wire;

        if (n == 0 || tag > UINT32_MAX || (tag >> 3) == 0)
            REFUSE("%s", s->malformed);
        at += n;
        wire = (int)(tag & 7);
        switch (wire) {
        case PROTOBUF_C_WIRE_TYPE_VARINT:
            n = s_varint(p + at, len - at, 10, &value);
            break;
        case PROTOBUF_C_WIRE_TYPE_64BIT:
            n = len - at >= 8 ? 8 : 0;
            break;
        case PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED:
            n = s_varint(p + at, len - at, 5, &value);
            if (n && value > len - at - n)
                n = 0;
            break;
        case PROTOBUF_C_WIRE_TYPE_32BIT:
            n = len - at >= 4 ? 4 : 0;
            break;
        default:
            n = 0;
        }
        if (n == 0)
            REFUSE("%s", s->malformed);
        f = protobuf_c_message_descriptor_get_field(desc, (unsigned)(tag >> 3));
        if (!f)
            REFUSE("%s has unknown fields", s->name);
        if (wire != s_wire_type(f->type))
            REFUSE("%s", s->malformed);
        idx = (size_t)(f - desc->fields);
        if (f->label != PROTOBUF_C_LABEL_REPEATED && count[idx])
            REFUSE("%s has field %s.%s more than once", s->name, desc->short_name,
                   f->name);
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
            for (unsigned i = 0; i < desc->n_fields; i++)
                if (count[i] && i != idx &&
                    desc->fields[i].quantifier_offset == f->quantifier_offset)
                    REFUSE("%s has both %s.%s and %s.%s", s->name, desc->short_name,
                           desc->fields[i].name, desc->short_name, f->name);
        if (count[idx] < UINT32_MAX)
            count[idx]++;
        if (wire == PROTOBUF_C_WIRE_TYPE_VARINT && !s_fits(f->type, value))
            REFUSE("%s field %s.%s does not fit its type", s->name, desc->short_name,
                   f->name);
        if (wire == PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED) {
            const uint8_t *payload = p + at + n;
            if (f->type == PROTOBUF_C_TYPE_STRING && memchr(payload, 0, (size_t)value))
                REFUSE("%s field %s.%s holds a NUL byte", s->name, desc->short_name,
                       f->name);
            if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
                int rc = s_scan(s, f->descriptor, payload, (size_t)value, depth + 1);
                if (rc)
                    return rc;
            }
            n += (size_t)value;
        }
        at += n;
    }
    for (unsigned i = 0; i < desc->n_fields; i++)
        if (desc->fields[i].label == PROTOBUF_C_LABEL_REPEATED && count[i]) {
            int rc = s_scan_count(s, desc, &desc->fields[i], count[i]);
            if (rc)
                return rc;
        }
    return 0;
}

static int s_is_id(protobuf_c_boolean has, ProtobufCBinaryData b)
{
    return has && b.len == DN_ID_BYTES && (b.data[6] >> 4) == 7 &&
           (b.data[8] & 0xC0) == 0x80;
}

static int s_known_currency(const char *currency)
{
    return currency && dn_money_exponent(currency) >= 0;
}

static int s_check_sale(const Dealernet__Sale *sale, char *why, size_t why_size)
{
    int64_t total = 0;
    if (sale->n_lines < 1 || sale->n_lines > DN_MAX_SALE_LINES)
        REFUSE("sale has %zu lines, expected 1 to %d", sale->n_lines, DN_MAX_SALE_LINES);
    for (size_t i = 0; i < sale->n_lines; i++) {
        const Dealernet__SaleLine *line = sale->lines[i];
        int64_t amount;
        if (!dn_valid_sku(line->sku))
            REFUSE("sale line %zu: missing or malformed sku", i + 1);
        if (!line->has_quantity || line->quantity < 1 || line->quantity > DN_MAX_QUANTITY)
            REFUSE("sale line %zu: quantity must be 1 to %d", i + 1, DN_MAX_QUANTITY);
        if (!line->has_unit_price || line->unit_price < 0 ||
            line->unit_price > DN_MAX_UNIT_PRICE)
            REFUSE("sale line %zu: unit price out of range", i + 1);
        if (line->category && !dn_valid_code(line->category))
            REFUSE("sale line %zu: malformed category", i + 1);
        if (dn_money_mul(line->unit_price, line->quantity, &amount) ||
            dn_money_add(total, amount, &total))
            REFUSE("sale total overflows");
    }
    if (!sale->has_total || sale->total != total)
        REFUSE("sale total is not the sum of its lines");
    if (!s_known_currency(sale->currency))
        REFUSE("sale currency missing or unknown");
    if (sale->member_phone && !dn_valid_phone_wire(sale->member_phone))
        REFUSE("sale member phone is not normalised");
    if (sale->has_member_id && !s_is_id(1, sale->member_id))
        REFUSE("sale member id is not a UUIDv7");
    if (!sale->has_channel || sale->channel < DEALERNET__CHANNEL__CHANNEL_STORE ||
        sale->channel > DEALERNET__CHANNEL__CHANNEL_COMMUNITY)
        REFUSE("sale channel missing or unknown");
    if (!dn_valid_code(sale->seller))
        REFUSE("sale seller missing or malformed");
    /* a receipt number is what a clerk types to find the sale again: 0
       or an absurd one is never what an agent assigned (dn_record) */
    if (sale->has_receipt && (sale->receipt < 1 || sale->receipt > DN_MAX_RECEIPT))
        REFUSE("sale receipt must be 1 to %lld", (long long)DN_MAX_RECEIPT);
    if (sale->has_payment && (sale->payment < DEALERNET__PAYMENT__PAYMENT_CASH ||
                              sale->payment > DEALERNET__PAYMENT__PAYMENT_OTHER))
        REFUSE("sale payment unknown");
    return 0;
}

static int s_check_refund(const Dealernet__Refund *refund, char *why, size_t why_size)
{
    if (!s_is_id(refund->has_sale_id, refund->sale_id))
        REFUSE("refund sale id missing or not a UUIDv7");
    if (refund->n_lines > DN_MAX_SALE_LINES)
        REFUSE("refund has %zu lines, at most %d", refund->n_lines, DN_MAX_SALE_LINES);
    for (size_t i = 0; i < refund->n_lines; i++) {
        const Dealernet__RefundLine *line = refund->lines[i];
        if (!dn_valid_sku(line->sku))
            REFUSE("refund line %zu: missing or malformed sku", i + 1);
        if (!line->has_quantity || line->quantity < 1 || line->quantity > DN_MAX_QUANTITY)
            REFUSE("refund line %zu: quantity must be 1 to %d", i + 1, DN_MAX_QUANTITY);
    }
    if (!refund->has_amount || refund->amount < 1)
        REFUSE("refund amount missing or not positive");
    if (!s_known_currency(refund->currency))
        REFUSE("refund currency missing or unknown");
    return 0;
}

/*  A member's name in an event: an agent checks it at the till, but an old
    or hostile one may not.  Invisible format characters pass (agents
    before the till refused them recorded them, and a chained event is
    never rewritten: refusing one would stop its site's sync for good);
    the server shows them escaped and flags the event (dn_facts,
    hidden_characters).  Controls and malformed UTF-8 were never
    accepted.  */
static int s_check_name(const char *name, char *why, size_t why_size)
{
    /* the bound in bytes, not dn_valid_name's 64 characters: events signed
       before issue 13 hold names of up to 128 bytes (128 Latin
       characters), and DN_MAX_NAME_BYTES holds those and every new one */
    if (!dn_valid_name_stored(name))
        REFUSE("member name is not 1 to %d bytes of printable UTF-8", DN_MAX_NAME_BYTES);
    return 0;
}

static int s_check_signup(const Dealernet__MemberSignup *m, char *why, size_t why_size)
{
    if (!s_is_id(m->has_member_id, m->member_id))
        REFUSE("member id missing or not a UUIDv7");
    if (!dn_valid_phone_wire(m->phone))
        REFUSE("member phone missing or not normalised");
    if (m->name && s_check_name(m->name, why, why_size))
        return DN_EPROTO;
    if (m->referrer_phone && m->referrer_partner)
        REFUSE("member has two referrers");
    if (m->referrer_phone && (!dn_valid_phone_wire(m->referrer_phone) ||
                              strcmp(m->referrer_phone, m->phone) == 0))
        REFUSE("member referrer phone malformed or the member's own");
    if (m->referrer_partner && !dn_valid_code(m->referrer_partner))
        REFUSE("member referrer partner code malformed");
    if (m->has_household && m->household > DN_MAX_HOUSEHOLD)
        REFUSE("member household must be 0 to %d", DN_MAX_HOUSEHOLD);
    return 0;
}

static int s_check_update(const Dealernet__MemberUpdate *m, char *why, size_t why_size)
{
    if (!s_is_id(m->has_member_id, m->member_id))
        REFUSE("member id missing or not a UUIDv7");
    if (!dn_valid_phone_wire(m->phone))
        REFUSE("member phone missing or not normalised");
    if (m->name && s_check_name(m->name, why, why_size))
        return DN_EPROTO;
    if (m->has_household && m->household > DN_MAX_HOUSEHOLD)
        REFUSE("member household must be 0 to %d", DN_MAX_HOUSEHOLD);
    if (!m->name && !m->has_household)
        REFUSE("member update changes nothing");
    return 0;
}

int dn_wire_event_check(const Dealernet__Event *ev, char *why, size_t why_size)
{
    if (s_has_unknown(&ev->base))
        REFUSE("event has unknown fields");
    if (!s_is_id(ev->has_id, ev->id))
        REFUSE("event id missing or not a UUIDv7");
    if (!dn_valid_code(ev->site))
        REFUSE("event site missing or malformed");
    if (!ev->has_seq || ev->seq < 1 || ev->seq > (uint64_t)INT64_MAX)
        REFUSE("event seq missing or out of range");
    if (!ev->has_recorded_at_ms || ev->recorded_at_ms < DN_MIN_TIME_MS ||
        ev->recorded_at_ms > DN_MAX_TIME_MS)
        REFUSE("event time missing or implausible");
    if (!ev->has_prev_hash || ev->prev_hash.len != DN_HASH_BYTES)
        REFUSE("event previous hash missing or not %d bytes", DN_HASH_BYTES);
    switch (ev->body_case) {
    case DEALERNET__EVENT__BODY_SALE:
        return s_check_sale(ev->sale, why, why_size);
    case DEALERNET__EVENT__BODY_REFUND:
        return s_check_refund(ev->refund, why, why_size);
    case DEALERNET__EVENT__BODY_MEMBER_SIGNUP:
        return s_check_signup(ev->member_signup, why, why_size);
    case DEALERNET__EVENT__BODY_MEMBER_UPDATE:
        return s_check_update(ev->member_update, why, why_size);
    default:
        REFUSE("event has no body");
    }
}

int dn_wire_event_check_new(const Dealernet__Event *ev, char *why, size_t why_size)
{
    /* Quadratic, as the agent's own check: at most DN_MAX_SALE_LINES (200)
       lines, 19,900 comparisons of at most 64 bytes.  */
    if (ev->body_case == DEALERNET__EVENT__BODY_SALE) {
        const Dealernet__Sale *sale = ev->sale;
        for (size_t i = 0; i < sale->n_lines; i++)
            for (size_t j = 0; j < i; j++)
                if (strcmp(sale->lines[i]->sku, sale->lines[j]->sku) == 0)
                    REFUSE("sale line %zu: SKU %s is given twice", i + 1,
                           sale->lines[i]->sku);
        if (sale->has_member_id && !sale->member_phone)
            REFUSE("sale member id without the member's phone");
    } else if (ev->body_case == DEALERNET__EVENT__BODY_REFUND) {
        const Dealernet__Refund *refund = ev->refund;
        for (size_t i = 0; i < refund->n_lines; i++)
            for (size_t j = 0; j < i; j++)
                if (strcmp(refund->lines[i]->sku, refund->lines[j]->sku) == 0)
                    REFUSE("refund line %zu: SKU %s is given twice", i + 1,
                           refund->lines[i]->sku);
    }
    return 0;
}

int dn_wire_event_pack(const Dealernet__Event *ev, uint8_t **buf, size_t *len,
                       char *why, size_t why_size)
{
    size_t size;
    int rc = dn_wire_event_check(ev, why, why_size);
    if (rc)
        return rc;
    size = dealernet__event__get_packed_size(ev);
    if (size > DN_MAX_EVENT_BYTES) {
        s_refuse(why, why_size, "event is %zu bytes, at most %d", size,
                 DN_MAX_EVENT_BYTES);
        return DN_ETOOBIG;
    }
    *buf = malloc(size ? size : 1);
    if (!*buf)
        return DN_ENOMEM;
    *len = dealernet__event__pack(ev, *buf);
    return 0;
}

/*  protobuf-c's allocator, noting a failure: unpack returns NULL alike for
    bytes that do not decode and for want of memory, and only the first is
    the peer's fault.  */
typedef struct {
    ProtobufCAllocator base;
    int failed;
} s_alloc_t;

static void *s_alloc(void *data, size_t size)
{
    void *p = malloc(size ? size : 1);
    if (!p)
        ((s_alloc_t *)data)->failed = 1;
    return p;
}

static void s_dealloc(void *data, void *p)
{
    (void)data;
    free(p);
}

#define S_ALLOC_INIT(a)                                                                  \
    {                                                                                    \
        {s_alloc, s_dealloc, &(a)}, 0                                                    \
    }

int dn_wire_event_unpack(const uint8_t *buf, size_t len, Dealernet__Event **ev_p,
                         char *why, size_t why_size)
{
    const s_scan_t scan = {"event", "event is not a well-formed protobuf message", why,
                           why_size};
    Dealernet__Event *ev;
    int rc;
    *ev_p = NULL;
    if (len > DN_MAX_EVENT_BYTES) {
        s_refuse(why, why_size, "event is %zu bytes, at most %d", len,
                 DN_MAX_EVENT_BYTES);
        return DN_ETOOBIG;
    }
    if ((rc = s_scan(&scan, &dealernet__event__descriptor, buf, len, 0)) != 0)
        return rc;
    s_alloc_t alloc = S_ALLOC_INIT(alloc);
    ev = dealernet__event__unpack(&alloc.base, len, buf);
    if (!ev && alloc.failed) {
        s_refuse(why, why_size, "out of memory decoding an event");
        return DN_ENOMEM;
    }
    if (!ev)
        REFUSE("event is not a well-formed protobuf message");
    rc = dn_wire_event_check(ev, why, why_size);
    if (rc) {
        dealernet__event__free_unpacked(ev, NULL);
        return rc;
    }
    *ev_p = ev;
    return 0;
}

void dn_wire_event_free(Dealernet__Event **ev_p)
{
    if (ev_p && *ev_p) {
        dealernet__event__free_unpacked(*ev_p, NULL);
        *ev_p = NULL;
    }
}

int dn_wire_event_set_text(char **field, const char *text)
{
    char *copy = NULL;
    if (text) {
        size_t len = strlen(text);
        /* unpack's strings come from malloc (s_alloc), free_unpacked frees
           them with free: so must these */
        if (!(copy = malloc(len + 1)))
            return DN_ENOMEM;
        memcpy(copy, text, len + 1);
    }
    free(*field);
    *field = copy;
    return 0;
}

const char *dn_wire_event_kind(const Dealernet__Event *ev)
{
    switch (ev->body_case) {
    case DEALERNET__EVENT__BODY_SALE:
        return "sale";
    case DEALERNET__EVENT__BODY_REFUND:
        return "refund";
    case DEALERNET__EVENT__BODY_MEMBER_SIGNUP:
        return "member_signup";
    case DEALERNET__EVENT__BODY_MEMBER_UPDATE:
        return "member_update";
    default:
        return "none";
    }
}

static const char *const s_channels[] = {"unknown", "store", "online", "community"};

const char *dn_wire_channel_name(int channel)
{
    if (channel < DEALERNET__CHANNEL__CHANNEL_STORE ||
        channel > DEALERNET__CHANNEL__CHANNEL_COMMUNITY)
        return s_channels[0];
    return s_channels[channel];
}

int dn_wire_channel_parse(const char *text)
{
    for (int c = DEALERNET__CHANNEL__CHANNEL_STORE; c <= DEALERNET__CHANNEL__CHANNEL_COMMUNITY;
         c++)
        if (text && strcmp(text, s_channels[c]) == 0)
            return c;
    return DN_EPARSE;
}

static const char *const s_payments[] = {"unknown", "cash",  "wechat",
                                         "alipay",  "card",  "other"};

const char *dn_wire_payment_name(int payment)
{
    if (payment < DEALERNET__PAYMENT__PAYMENT_CASH ||
        payment > DEALERNET__PAYMENT__PAYMENT_OTHER)
        return s_payments[0];
    return s_payments[payment];
}

int dn_wire_payment_parse(const char *text)
{
    for (int p = DEALERNET__PAYMENT__PAYMENT_CASH; p <= DEALERNET__PAYMENT__PAYMENT_OTHER; p++)
        if (text && strcmp(text, s_payments[p]) == 0)
            return p;
    return DN_EPARSE;
}

/* -- sync and admin messages ----------------------------------------------- */

int dn_wire_token_valid(const char *text)
{
    size_t len = text ? strlen(text) : 0;
    if (len < DN_MIN_TOKEN_LEN || len > DN_MAX_TOKEN_LEN)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
            return 0;
    }
    return 1;
}

/* -- downstream ---------------------------------------------------------------- */

int dn_wire_stream_known(int stream)
{
    return stream >= DEALERNET__STREAM__STREAM_CATALOG &&
           stream <= DEALERNET__STREAM__STREAM_CHAIN;
}

/*  A Pull: what the agent holds of each stream it asks for.  A hold of
    version 0 has no scope (nothing was received in any).  */
static int s_check_pull(const Dealernet__Pull *m, char *why, size_t why_size)
{
    if (m->n_holds < 1 || m->n_holds > DN_DOWN_MAX_STREAMS)
        REFUSE("pull has %zu holds, expected 1 to %d", m->n_holds, DN_DOWN_MAX_STREAMS);
    for (size_t i = 0; i < m->n_holds; i++) {
        const Dealernet__StreamHolds *h = m->holds[i];
        if (!h->has_stream || !dn_wire_stream_known(h->stream))
            REFUSE("pull hold %zu: stream missing or unknown", i + 1);
        for (size_t j = 0; j < i; j++)
            if (m->holds[j]->stream == h->stream)
                REFUSE("pull names stream %d twice", (int)h->stream);
        if (!h->has_version)
            REFUSE("pull hold %zu: version missing", i + 1);
        if (h->has_scope && h->scope.len > DN_DOWN_SCOPE_MAX)
            REFUSE("pull hold %zu: scope over %d bytes", i + 1, DN_DOWN_SCOPE_MAX);
        if (h->version == 0 && h->has_scope && h->scope.len)
            REFUSE("pull hold %zu: a scope with version 0", i + 1);
    }
    return 0;
}

/*  A DownReply: the Downs' frames.  Their signatures are the agent's to
    verify, their items' text is checked where they are unpacked
    (dn_wire_down_item_unpack).  */
static int s_check_down_reply(const Dealernet__DownReply *m, char *why, size_t why_size)
{
    size_t bytes = 0, items = 0;
    if (m->n_downs > DN_DOWN_MAX_STREAMS)
        REFUSE("down reply has %zu downs, at most %d", m->n_downs, DN_DOWN_MAX_STREAMS);
    for (size_t i = 0; i < m->n_downs; i++) {
        const Dealernet__Down *d = m->downs[i];
        if (!d->has_stream || !dn_wire_stream_known(d->stream))
            REFUSE("down %zu: stream missing or unknown", i + 1);
        for (size_t j = 0; j < i; j++)
            if (m->downs[j]->stream == d->stream)
                REFUSE("down reply names stream %d twice", (int)d->stream);
        if (d->has_scope && d->scope.len > DN_DOWN_SCOPE_MAX)
            REFUSE("down %zu: scope over %d bytes", i + 1, DN_DOWN_SCOPE_MAX);
        if (!d->has_from_version || !d->has_to_version || d->to_version < d->from_version)
            REFUSE("down %zu: versions missing or to_version before from_version", i + 1);
        if (!d->has_signature || d->signature.len != DN_SIG_BYTES)
            REFUSE("down %zu: signature missing or not %d bytes", i + 1, DN_SIG_BYTES);
        items += d->n_items;
        for (size_t k = 0; k < d->n_items; k++)
            bytes += d->items[k].len;
    }
    if (items > DN_DOWN_MAX_ITEMS)
        REFUSE("down reply has %zu items, at most %d", items, DN_DOWN_MAX_ITEMS);
    if (bytes > DN_DOWN_MAX_BYTES)
        REFUSE("down reply items total %zu bytes, at most %d", bytes, DN_DOWN_MAX_BYTES);
    return 0;
}

/*  A string of an item, if present.  */
static int s_down_text(const char *text, const char *name, char *why, size_t why_size)
{
    if (text && !dn_valid_utf8(text, DN_DOWN_TEXT_MAX))
        REFUSE("down item %s is not UTF-8 of at most %d bytes", name, DN_DOWN_TEXT_MAX);
    return 0;
}

#define DOWN_TEXT(text, name)                                                            \
    do {                                                                                 \
        if (s_down_text(text, name, why, why_size))                                      \
            return DN_EPROTO;                                                            \
    } while (0)

int dn_wire_down_item_check(Dealernet__Stream stream, const Dealernet__DownItem *item,
                            char *why, size_t why_size)
{
    /* the body each stream carries: one kind per stream */
    static const Dealernet__DownItem__BodyCase kinds[] = {
        [DEALERNET__STREAM__STREAM_CATALOG] = DEALERNET__DOWN_ITEM__BODY_CATALOG,
        [DEALERNET__STREAM__STREAM_EARNINGS] = DEALERNET__DOWN_ITEM__BODY_EARNINGS,
        [DEALERNET__STREAM__STREAM_MEMBERS] = DEALERNET__DOWN_ITEM__BODY_MEMBER,
        [DEALERNET__STREAM__STREAM_NOTICES] = DEALERNET__DOWN_ITEM__BODY_NOTICE,
        [DEALERNET__STREAM__STREAM_CHAIN] = DEALERNET__DOWN_ITEM__BODY_EVENT,
    };
    if (s_has_unknown(&item->base))
        REFUSE("down item has unknown fields");
    if (!dn_wire_stream_known(stream) || item->body_case != kinds[stream])
        REFUSE("down item is not of its stream's kind");
    switch (item->body_case) {
    case DEALERNET__DOWN_ITEM__BODY_CATALOG:
        DOWN_TEXT(item->catalog->sku, "sku");
        DOWN_TEXT(item->catalog->name, "name");
        DOWN_TEXT(item->catalog->category, "category");
        DOWN_TEXT(item->catalog->partner, "partner");
        return 0;
    case DEALERNET__DOWN_ITEM__BODY_EARNINGS:
        DOWN_TEXT(item->earnings->partner, "partner");
        DOWN_TEXT(item->earnings->period, "period");
        DOWN_TEXT(item->earnings->currency, "currency");
        return 0;
    case DEALERNET__DOWN_ITEM__BODY_MEMBER:
        DOWN_TEXT(item->member->phone, "phone");
        DOWN_TEXT(item->member->name, "name");
        return 0;
    case DEALERNET__DOWN_ITEM__BODY_NOTICE:
        DOWN_TEXT(item->notice->text, "text");
        return 0;
    default: /* the event: checked by dn_wire_event_unpack where it is used */
        if (item->event.len > DN_MAX_EVENT_BYTES)
            REFUSE("down item event over %d bytes", DN_MAX_EVENT_BYTES);
        return 0;
    }
}

int dn_wire_down_item_pack(Dealernet__Stream stream, const Dealernet__DownItem *item,
                           uint8_t **buf, size_t *len, char *why, size_t why_size)
{
    size_t size;
    int rc = dn_wire_down_item_check(stream, item, why, why_size);
    if (rc)
        return rc;
    size = dealernet__down_item__get_packed_size(item);
    if (!(*buf = malloc(size ? size : 1)))
        return DN_ENOMEM;
    *len = dealernet__down_item__pack(item, *buf);
    return 0;
}

int dn_wire_down_item_unpack(Dealernet__Stream stream, const uint8_t *buf, size_t len,
                             Dealernet__DownItem **item_p, char *why, size_t why_size)
{
    const s_scan_t scan = {"down item", "down item is not a well-formed protobuf message",
                           why, why_size};
    Dealernet__DownItem *item;
    int rc;
    *item_p = NULL;
    if (len > DN_DOWN_MAX_BYTES)
        REFUSE("down item is %zu bytes, at most %d", len, DN_DOWN_MAX_BYTES);
    if ((rc = s_scan(&scan, &dealernet__down_item__descriptor, buf, len, 0)) != 0)
        return rc;
    s_alloc_t alloc = S_ALLOC_INIT(alloc);
    item = dealernet__down_item__unpack(&alloc.base, len, buf);
    if (!item && alloc.failed) {
        s_refuse(why, why_size, "out of memory decoding a down item");
        return DN_ENOMEM;
    }
    if (!item)
        REFUSE("down item is not a well-formed protobuf message");
    if ((rc = dn_wire_down_item_check(stream, item, why, why_size)) != 0) {
        dealernet__down_item__free_unpacked(item, NULL);
        return rc;
    }
    *item_p = item;
    return 0;
}

void dn_wire_down_item_free(Dealernet__DownItem **item_p)
{
    if (item_p && *item_p) {
        dealernet__down_item__free_unpacked(*item_p, NULL);
        *item_p = NULL;
    }
}

static size_t s_be(uint8_t *out, uint64_t v, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--)
        *out++ = (uint8_t)(v >> (8 * i));
    return (size_t)bytes;
}

/*  Writes v as a varint at out; returns its bytes (at most 10).  */
static size_t s_varint_put(uint64_t v, uint8_t *out)
{
    size_t n = 0;
    do {
        out[n++] = (uint8_t)((v & 0x7F) | (v > 0x7F ? 0x80 : 0));
        v >>= 7;
    } while (v);
    return n;
}

int dn_wire_down_reply_pack(const ProtobufCBinaryData *downs, size_t n, uint8_t **buf,
                            size_t *len, char *why, size_t why_size)
{
    uint8_t scratch[10];
    size_t reply_len = 0, at;
    for (size_t i = 0; i < n; i++)
        reply_len += 1 + s_varint_put(downs[i].len, scratch) + downs[i].len;
    *len = 1 + s_varint_put(reply_len, scratch) + reply_len;
    if (*len > DN_MAX_SYNC_MSG_BYTES)
        return dn_why(why, why_size, DN_ETOOBIG, "a down reply of %zu bytes (at most %d)",
                      *len, DN_MAX_SYNC_MSG_BYTES);
    if (!(*buf = malloc(*len)))
        return DN_ENOMEM;
    (*buf)[0] = (9 << 3) | 2; /* SyncMessage.down, length-delimited */
    at = 1 + s_varint_put(reply_len, *buf + 1);
    for (size_t i = 0; i < n; i++) {
        (*buf)[at++] = (1 << 3) | 2; /* DownReply.downs, length-delimited */
        at += s_varint_put(downs[i].len, *buf + at);
        memcpy(*buf + at, downs[i].data, downs[i].len);
        at += downs[i].len;
    }
    return 0;
}

int dn_wire_down_signed(const Dealernet__Down *down, uint8_t out[DN_DOWN_SIGNED_MAX],
                        size_t *len)
{
    static const char domain[] = "dealernet-down-v1";
    size_t n = 0, scope_len = down->has_scope ? down->scope.len : 0;
    dn_sha256_t *sha;

    assert(scope_len <= DN_DOWN_SCOPE_MAX);
    memcpy(out, domain, sizeof domain); /* with its NUL */
    n += sizeof domain;
    n += s_be(out + n, (uint32_t)down->stream, 4);
    out[n++] = (uint8_t)scope_len;
    if (scope_len)
        memcpy(out + n, down->scope.data, scope_len);
    n += scope_len;
    n += s_be(out + n, down->from_version, 8);
    n += s_be(out + n, down->to_version, 8);
    out[n++] = down->reset ? 1 : 0;
    out[n++] = down->more ? 1 : 0;
    /* the items, each framed by its length so no two lists hash alike */
    if (!(sha = dn_sha256_new()))
        return DN_ECRYPTO;
    for (size_t i = 0; i < down->n_items; i++) {
        uint8_t frame[4];
        s_be(frame, down->items[i].len, 4);
        dn_sha256_update(sha, frame, sizeof frame);
        dn_sha256_update(sha, down->items[i].data, down->items[i].len);
    }
    if (dn_sha256_final(&sha, out + n) != 0)
        return DN_ECRYPTO;
    *len = n + DN_HASH_BYTES;
    return 0;
}

/*  1 if text is 1 to max bytes of printable ASCII (a zone name or rule).  */
static int s_ascii_text(const char *text, size_t max)
{
    size_t n = strlen(text);
    for (size_t i = 0; i < n; i++)
        if (text[i] < 0x21 || text[i] > 0x7e)
            return 0;
    return n >= 1 && n <= max;
}

static int s_check_sync(const void *any, char *why, size_t why_size)
{
    const Dealernet__SyncMessage *msg = any;
    if (s_has_unknown(&msg->base))
        REFUSE("sync message has unknown fields");
    switch (msg->body_case) {
    case DEALERNET__SYNC_MESSAGE__BODY_HELLO: {
        const Dealernet__Hello *m = msg->hello;
        if (!m->has_protocol)
            REFUSE("hello without protocol version");
        if (m->agent_version && !dn_valid_text(m->agent_version, DN_MAX_VERSION_LEN))
            REFUSE("hello agent version malformed");
        if (!m->has_clock_ms || !m->has_pending || !m->has_head_seq)
            REFUSE("hello without clock, pending count or head seq");
        if (m->head_seq > (uint64_t)INT64_MAX || m->pending > m->head_seq)
            REFUSE("hello pending count or head seq out of range");
        /* Any clock a PC can show is taken (the server reports the skew),
           but not one that would overflow now - clock.  */
        if (m->clock_ms < 0 || m->clock_ms > DN_MAX_TIME_MS)
            REFUSE("hello clock out of range");
        if (m->has_oldest_pending_ms && (m->oldest_pending_ms < DN_MIN_TIME_MS ||
                                         m->oldest_pending_ms > DN_MAX_TIME_MS))
            REFUSE("hello oldest pending time implausible");
        return 0;
    }
    case DEALERNET__SYNC_MESSAGE__BODY_WELCOME: {
        const Dealernet__Welcome *m = msg->welcome;
        if (!m->has_protocol || !m->has_applied_seq || !m->has_window ||
            !m->has_max_batch_events || m->window < 1 || m->window > DN_PROTOCOL_MAX_WINDOW ||
            m->max_batch_events < 1 || m->max_batch_events > DN_MAX_BATCH_EVENTS ||
            m->applied_seq > (uint64_t)INT64_MAX ||
            (m->has_server_clock_ms &&
             (m->server_clock_ms < 0 || m->server_clock_ms > DN_MAX_TIME_MS)))
            REFUSE("welcome fields missing or out of range");
        if (m->has_max_sale && (m->max_sale < 1 || m->max_sale > DN_MONEY_MAX_SALE_LIMIT))
            REFUSE("welcome bound on one sale out of range");
        if (m->has_down_key && m->down_key.len != DN_PUBKEY_BYTES)
            REFUSE("welcome down key not %d bytes", DN_PUBKEY_BYTES);
        if ((m->zone && !s_ascii_text(m->zone, DN_PROTOCOL_ZONE_MAX)) ||
            (m->zone_rule && !s_ascii_text(m->zone_rule, DN_PROTOCOL_ZONE_MAX)))
            REFUSE("welcome zone or zone rule not 1 to %d printable ASCII bytes",
                   DN_PROTOCOL_ZONE_MAX);
        return 0;
    }
    case DEALERNET__SYNC_MESSAGE__BODY_PULL:
        return s_check_pull(msg->pull, why, why_size);
    case DEALERNET__SYNC_MESSAGE__BODY_DOWN:
        return s_check_down_reply(msg->down, why, why_size);
    case DEALERNET__SYNC_MESSAGE__BODY_PUSH: {
        const Dealernet__PushBatch *m = msg->push;
        size_t bytes = 0;
        if (!m->has_first_seq || m->first_seq < 1 ||
            m->first_seq > (uint64_t)INT64_MAX - DN_MAX_BATCH_EVENTS)
            REFUSE("batch first seq missing or out of range");
        if (m->n_events < 1)
            REFUSE("batch has %zu events, expected 1 to %d", m->n_events,
                   DN_MAX_BATCH_EVENTS);
        /* The bounds a sender sizes its batches by are DN_ETOOBIG, not
           malformed: the peer is told REFUSE_TOO_BIG and can send less.  */
        if (m->n_events > DN_MAX_BATCH_EVENTS) {
            s_refuse(why, why_size, "batch has %zu events, expected 1 to %d", m->n_events,
                     DN_MAX_BATCH_EVENTS);
            return DN_ETOOBIG;
        }
        for (size_t i = 0; i < m->n_events; i++) {
            if (m->events[i].len > DN_MAX_EVENT_BYTES) {
                s_refuse(why, why_size, "batch event %zu is %zu bytes, at most %d", i + 1,
                         m->events[i].len, DN_MAX_EVENT_BYTES);
                return DN_ETOOBIG;
            }
            bytes += m->events[i].len;
        }
        if (bytes > DN_MAX_BATCH_BYTES) {
            s_refuse(why, why_size, "batch events total %zu bytes, at most %d", bytes,
                     DN_MAX_BATCH_BYTES);
            return DN_ETOOBIG;
        }
        if (!m->has_chain_head || m->chain_head.len != DN_HASH_BYTES)
            REFUSE("batch chain head missing or not %d bytes", DN_HASH_BYTES);
        if (!m->has_signature || m->signature.len != DN_SIG_BYTES)
            REFUSE("batch signature missing or not %d bytes", DN_SIG_BYTES);
        return 0;
    }
    case DEALERNET__SYNC_MESSAGE__BODY_ACK:
        if (!msg->ack->has_acked_through || msg->ack->acked_through > (uint64_t)INT64_MAX)
            REFUSE("ack without acked seq");
        return 0;
    case DEALERNET__SYNC_MESSAGE__BODY_REFUSED:
        if (!msg->refused->has_code ||
            !protobuf_c_enum_descriptor_get_value(&dealernet__refuse_code__descriptor,
                                                  msg->refused->code) ||
            !dn_valid_text(msg->refused->text, 512))
            REFUSE("refusal code missing or unknown, or text missing");
        if (msg->refused->has_expected_seq &&
            msg->refused->expected_seq > (uint64_t)INT64_MAX)
            REFUSE("refusal expected seq out of range");
        return 0;
    case DEALERNET__SYNC_MESSAGE__BODY_ENROLL: {
        const Dealernet__EnrollRequest *m = msg->enroll;
        if (!dn_wire_token_valid(m->token))
            REFUSE("enrollment token missing or malformed");
        if (!dn_valid_code(m->site))
            REFUSE("enrollment site missing or malformed");
        if (!m->has_sign_key || m->sign_key.len != DN_PUBKEY_BYTES)
            REFUSE("enrollment signing key missing or not %d bytes", DN_PUBKEY_BYTES);
        if (m->agent_version && !dn_valid_text(m->agent_version, DN_MAX_VERSION_LEN))
            REFUSE("enrollment agent version malformed");
        if (m->partner && !dn_valid_code(m->partner))
            REFUSE("enrollment partner malformed");
        if (m->currency && !s_known_currency(m->currency))
            REFUSE("enrollment currency unknown");
        if (m->has_synced_seq && m->synced_seq > (uint64_t)INT64_MAX)
            REFUSE("enrollment synced seq out of range");
        return 0;
    }
    case DEALERNET__SYNC_MESSAGE__BODY_ENROLLED:
        if (!dn_valid_code(msg->enrolled->site) || !dn_valid_code(msg->enrolled->partner))
            REFUSE("enrolled reply without site or partner");
        if (msg->enrolled->has_applied_seq != msg->enrolled->has_chain_head ||
            (msg->enrolled->has_applied_seq &&
             (msg->enrolled->applied_seq < 1 ||
              msg->enrolled->applied_seq > (uint64_t)INT64_MAX ||
              msg->enrolled->chain_head.len != DN_HASH_BYTES)))
            REFUSE("enrolled reply with a malformed chain head");
        if (msg->enrolled->has_down_key && msg->enrolled->down_key.len != DN_PUBKEY_BYTES)
            REFUSE("enrolled reply down key not %d bytes", DN_PUBKEY_BYTES);
        return 0;
    default:
        REFUSE("sync message has no body");
    }
}

static int s_check_admin_request(const void *any, char *why, size_t why_size)
{
    const Dealernet__AdminRequest *msg = any;
    if (s_has_unknown(&msg->base))
        REFUSE("admin request has unknown fields");
    if (!msg->has_protocol)
        REFUSE("admin request without protocol version");
    if (msg->lang && !dn_i18n_lang_valid(msg->lang))
        REFUSE("admin request language is not a language code such as zh_CN");
    if (!dn_valid_code(msg->command))
        REFUSE("admin request command missing or malformed");
    if (msg->n_args > DN_MAX_ADMIN_ARGS)
        REFUSE("admin request has %zu arguments, at most %d", msg->n_args,
               DN_MAX_ADMIN_ARGS);
    for (size_t i = 0; i < msg->n_args; i++) {
        if (!dn_valid_code(msg->args[i]->name) || !msg->args[i]->value)
            REFUSE("admin argument %zu without name or value", i + 1);
        for (size_t j = 0; j < i; j++)
            if (strcmp(msg->args[i]->name, msg->args[j]->name) == 0)
                REFUSE("admin argument %s given twice", msg->args[i]->name);
    }
    return 0;
}

static int s_check_admin_reply(const void *any, char *why, size_t why_size)
{
    const Dealernet__AdminReply *msg = any;
    if (s_has_unknown(&msg->base))
        REFUSE("admin reply has unknown fields");
    if (!msg->has_status || msg->status > 255)
        REFUSE("admin reply without status");
    if (msg->status != 0 && !msg->error)
        REFUSE("admin reply refusal without error text");
    return 0;
}

typedef int (*s_check_fn)(const void *msg, char *why, size_t why_size);

static int s_pack(const ProtobufCMessage *msg, s_check_fn check, size_t max, uint8_t **buf,
                  size_t *len, char *why, size_t why_size)
{
    size_t size;
    int rc = check(msg, why, why_size);
    if (rc)
        return rc;
    size = protobuf_c_message_get_packed_size(msg);
    if (size > max) {
        s_refuse(why, why_size, "message is %zu bytes, at most %zu", size, max);
        return DN_ETOOBIG;
    }
    *buf = malloc(size ? size : 1);
    if (!*buf)
        return DN_ENOMEM;
    *len = protobuf_c_message_pack(msg, *buf);
    return 0;
}

static int s_unpack(const ProtobufCMessageDescriptor *desc, const char *name,
                    s_check_fn check, size_t max, const uint8_t *buf, size_t len,
                    ProtobufCMessage **msg_p, char *why, size_t why_size)
{
    char malformed[80];
    const s_scan_t scan = {name, malformed, why, why_size};
    ProtobufCMessage *msg;
    int rc;
    *msg_p = NULL;
    if (len > max) {
        s_refuse(why, why_size, "message is %zu bytes, at most %zu", len, max);
        return DN_ETOOBIG;
    }
    snprintf(malformed, sizeof malformed, "message is not a well-formed %s",
             desc->short_name);
    if ((rc = s_scan(&scan, desc, buf, len, 0)) != 0)
        return rc;
    s_alloc_t alloc = S_ALLOC_INIT(alloc);
    msg = protobuf_c_message_unpack(desc, &alloc.base, len, buf);
    if (!msg && alloc.failed) {
        s_refuse(why, why_size, "out of memory decoding a %s", desc->short_name);
        return DN_ENOMEM;
    }
    if (!msg)
        REFUSE("message is not a well-formed %s", desc->short_name);
    rc = check(msg, why, why_size);
    if (rc) {
        protobuf_c_message_free_unpacked(msg, NULL);
        return rc;
    }
    *msg_p = msg;
    return 0;
}

static void s_free(ProtobufCMessage **msg_p)
{
    if (msg_p && *msg_p) {
        protobuf_c_message_free_unpacked(*msg_p, NULL);
        *msg_p = NULL;
    }
}

#define DN_WIRE_MESSAGE(prefix, type, descriptor, name, check, max)                  \
    int prefix##_pack(const type *msg, uint8_t **buf, size_t *len, char *why,        \
                      size_t why_size)                                               \
    {                                                                                \
        return s_pack(&msg->base, check, max, buf, len, why, why_size);              \
    }                                                                                \
    int prefix##_unpack(const uint8_t *buf, size_t len, type **msg, char *why,       \
                        size_t why_size)                                             \
    {                                                                                \
        return s_unpack(&descriptor, name, check, max, buf, len,                     \
                        (ProtobufCMessage **)msg, why, why_size);                    \
    }                                                                                \
    void prefix##_free(type **msg_p)                                                 \
    {                                                                                \
        s_free((ProtobufCMessage **)msg_p);                                          \
    }

DN_WIRE_MESSAGE(dn_wire_sync, Dealernet__SyncMessage, dealernet__sync_message__descriptor,
                "sync message", s_check_sync, DN_MAX_SYNC_MSG_BYTES)
DN_WIRE_MESSAGE(dn_wire_admin_request, Dealernet__AdminRequest,
                dealernet__admin_request__descriptor, "admin request",
                s_check_admin_request, DN_MAX_ADMIN_REQUEST_BYTES)
DN_WIRE_MESSAGE(dn_wire_admin_reply, Dealernet__AdminReply,
                dealernet__admin_reply__descriptor, "admin reply", s_check_admin_reply,
                DN_MAX_ADMIN_REPLY_BYTES)

const char *dn_wire_admin_arg(const Dealernet__AdminRequest *req, const char *name)
{
    for (size_t i = 0; i < req->n_args; i++)
        if (strcmp(req->args[i]->name, name) == 0)
            return req->args[i]->value;
    return NULL;
}

size_t dn_wire_batch_signed(const char *site, uint64_t last_seq, const uint8_t head[32],
                            uint8_t out[DN_BATCH_SIGNED_MAX])
{
    static const char domain[] = "dealernet-batch-v1";
    size_t n = 0, site_len = strlen(site);
    assert(site_len <= DN_MAX_CODE_LEN);
    memcpy(out, domain, sizeof domain); /* with its NUL */
    n += sizeof domain;
    memcpy(out + n, site, site_len + 1);
    n += site_len + 1;
    for (int i = 7; i >= 0; i--)
        out[n++] = (uint8_t)(last_seq >> (8 * i));
    memcpy(out + n, head, DN_HASH_BYTES);
    return n + DN_HASH_BYTES;
}
