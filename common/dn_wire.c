/*  dn_wire -- packing, unpacking and checking of wire messages.

    The checks are written as a list of "refuse if" lines, each naming the
    field, so the reason a peer gets points at the exact problem.
*/
#include "dn_wire.h"
#include "dn_crypto.h"
#include "dn_error.h"
#include "dn_id.h"
#include "dn_money.h"
#include "dn_valid.h"

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
    if (sale->base.n_unknown_fields)
        REFUSE("sale has unknown fields");
    if (sale->n_lines < 1 || sale->n_lines > DN_MAX_SALE_LINES)
        REFUSE("sale has %zu lines, expected 1 to %d", sale->n_lines, DN_MAX_SALE_LINES);
    for (size_t i = 0; i < sale->n_lines; i++) {
        const Dealernet__SaleLine *line = sale->lines[i];
        int64_t amount;
        if (line->base.n_unknown_fields)
            REFUSE("sale line %zu has unknown fields", i + 1);
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
    if (sale->member_phone && !dn_valid_phone(sale->member_phone))
        REFUSE("sale member phone is not normalised");
    if (sale->has_member_id && !s_is_id(1, sale->member_id))
        REFUSE("sale member id is not a UUIDv7");
    if (!sale->has_channel || sale->channel < DEALERNET__CHANNEL__CHANNEL_STORE ||
        sale->channel > DEALERNET__CHANNEL__CHANNEL_COMMUNITY)
        REFUSE("sale channel missing or unknown");
    if (!dn_valid_code(sale->seller))
        REFUSE("sale seller missing or malformed");
    return 0;
}

static int s_check_refund(const Dealernet__Refund *refund, char *why, size_t why_size)
{
    if (refund->base.n_unknown_fields)
        REFUSE("refund has unknown fields");
    if (!s_is_id(refund->has_sale_id, refund->sale_id))
        REFUSE("refund sale id missing or not a UUIDv7");
    if (refund->n_lines > DN_MAX_SALE_LINES)
        REFUSE("refund has %zu lines, at most %d", refund->n_lines, DN_MAX_SALE_LINES);
    for (size_t i = 0; i < refund->n_lines; i++) {
        const Dealernet__RefundLine *line = refund->lines[i];
        if (line->base.n_unknown_fields)
            REFUSE("refund line %zu has unknown fields", i + 1);
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

static int s_check_signup(const Dealernet__MemberSignup *m, char *why, size_t why_size)
{
    if (m->base.n_unknown_fields)
        REFUSE("member sign-up has unknown fields");
    if (!s_is_id(m->has_member_id, m->member_id))
        REFUSE("member id missing or not a UUIDv7");
    if (!dn_valid_phone(m->phone))
        REFUSE("member phone missing or not normalised");
    if (m->name && !dn_valid_name(m->name))
        REFUSE("member name is not 1 to %d bytes of printable UTF-8", DN_MAX_NAME_LEN);
    if (m->referrer_phone && m->referrer_partner)
        REFUSE("member has two referrers");
    if (m->referrer_phone &&
        (!dn_valid_phone(m->referrer_phone) || strcmp(m->referrer_phone, m->phone) == 0))
        REFUSE("member referrer phone malformed or the member's own");
    if (m->referrer_partner && !dn_valid_code(m->referrer_partner))
        REFUSE("member referrer partner code malformed");
    if (m->has_household && m->household > DN_MAX_HOUSEHOLD)
        REFUSE("member household must be 0 to %d", DN_MAX_HOUSEHOLD);
    return 0;
}

static int s_check_update(const Dealernet__MemberUpdate *m, char *why, size_t why_size)
{
    if (m->base.n_unknown_fields)
        REFUSE("member update has unknown fields");
    if (!s_is_id(m->has_member_id, m->member_id))
        REFUSE("member id missing or not a UUIDv7");
    if (!dn_valid_phone(m->phone))
        REFUSE("member phone missing or not normalised");
    if (m->name && !dn_valid_name(m->name))
        REFUSE("member name is not 1 to %d bytes of printable UTF-8", DN_MAX_NAME_LEN);
    if (m->has_household && m->household > DN_MAX_HOUSEHOLD)
        REFUSE("member household must be 0 to %d", DN_MAX_HOUSEHOLD);
    if (!m->name && !m->has_household)
        REFUSE("member update changes nothing");
    return 0;
}

int dn_wire_event_check(const Dealernet__Event *ev, char *why, size_t why_size)
{
    if (ev->base.n_unknown_fields)
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

int dn_wire_event_unpack(const uint8_t *buf, size_t len, Dealernet__Event **ev_p,
                         char *why, size_t why_size)
{
    Dealernet__Event *ev;
    int rc;
    *ev_p = NULL;
    if (len > DN_MAX_EVENT_BYTES) {
        s_refuse(why, why_size, "event is %zu bytes, at most %d", len,
                 DN_MAX_EVENT_BYTES);
        return DN_ETOOBIG;
    }
    ev = dealernet__event__unpack(NULL, len, buf);
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
