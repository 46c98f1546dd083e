/*  dn_vectors -- writes docs/protocol-vectors.json, the test vectors of the
    sync protocol (docs/PROTOCOL.md), from the C code itself.

    A third-party implementation checks itself against the file: four
    events of one site (a member sign-up, a sale to that member with its
    receipt number and payment method (protocol 3), a refund
    of one of its lines, a member update), each as field values and as the
    exact bytes the agent packs, their SHA-256 hashes and the chain they
    form, the bytes a batch signature covers, the Ed25519 signature made
    with a fixed key (Ed25519 is deterministic: one key and one message
    give one signature), the packed PushBatch and the SyncMessage that
    carries it, and a Hello.  Downstream (protocol 2): one Down of two
    catalogue items signed with a fixed down key, its signed bytes, the
    SHA-256 over its framed items, its signature and the SyncMessage of its
    DownReply (dn_wire_down_item_pack, dn_wire_down_signed); then one
    packed DownItem of each stream's kind with the fields present exactly
    as the server's producers send them (PROTOCOL.md, "Streams"), and the
    catalogue's scope of a partner path (dn_catalog_scope).  Every value is built here
   with the code the agent and the server run (dn_wire_event_pack, dn_chain_step,
    dn_wire_batch_signed, dn_chain_sign, dn_wire_sync_pack); each event is
    unpacked again with the server's checks and the signature verified, so
    the vectors are what the server accepts.

    tests/cli/protocol_vectors.sh runs it and compares its output with the
    file byte for byte, so the file cannot drift from the code; after a
    deliberate change of the wire format, regenerate it:

        build/tests/tools/dn_vectors > docs/protocol-vectors.json

        usage: dn_vectors
        exit: 0; 70 if a step fails (one line on stderr).
*/
#include "dn_catalog.h"
#include "dn_chain.h"
#include "dn_crypto.h"
#include "dn_error.h"
#include "dn_id.h"
#include "dn_protocol.h"
#include "dn_wire.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DN_VECTORS_EVENTS 4
#define DN_VECTORS_SITE   "SHOP-BJ1"
#define DN_VECTORS_SELLER "DEALER-BJ"
#define DN_VECTORS_PHONE  "+8613800138000"

/*  RFC 8032 section 7.1, TEST 1: a published seed, so an implementation
    can check its Ed25519 against the RFC first.  */
static const char s_seed_hex[] =
    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";

/*  The events' times: 2026-01-01 09:00, 09:05, 09:30 and 10:00 UTC, in
    Unix milliseconds.  */
static const int64_t s_at[DN_VECTORS_EVENTS] = {1767258000000LL, 1767258300000LL,
                                                1767259800000LL, 1767261600000LL};

/*  The down key's seed: the bytes 0x01 .. 0x20 (any fixed seed does).  */
static const char s_down_seed_hex[] =
    "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20";

static int s_fail(const char *what, const char *why)
{
    fprintf(stderr, "dn_vectors: %s%s%s\n", what, why && why[0] ? ": " : "",
            why ? why : "");
    return 70;
}

/*  A UUIDv7 of time ms whose random bits are zero but for the last byte:
    fixed, so the vectors are too.  */
static void s_id(uint8_t id[DN_ID_BYTES], int64_t ms, uint8_t last)
{
    memset(id, 0, DN_ID_BYTES);
    for (int i = 0; i < 6; i++)
        id[i] = (uint8_t)((uint64_t)ms >> (8 * (5 - i)));
    id[6] = 0x70; /* version 7 */
    id[8] = 0x80; /* variant 10 */
    id[15] = last;
}

static json_t *s_hex(const uint8_t *data, size_t len)
{
    char *text = malloc(2 * len + 1);
    json_t *j;
    if (!text)
        return NULL;
    dn_hex_encode(data, len, text);
    j = json_string(text);
    free(text);
    return j;
}

static json_t *s_uuid(const uint8_t id[DN_ID_BYTES])
{
    char text[DN_ID_TEXT_SIZE];
    dn_id_format(id, text);
    return json_string(text);
}

/*  The field values of an event's body, as the file shows them.  */
static json_t *s_body_fields(const Dealernet__Event *ev)
{
    json_t *o = json_object();
    switch (ev->body_case) {
    case DEALERNET__EVENT__BODY_SALE: {
        const Dealernet__Sale *s = ev->sale;
        json_t *lines = json_array();
        for (size_t i = 0; i < s->n_lines; i++) {
            json_t *l = json_pack("{s:s, s:I, s:I}", "sku", s->lines[i]->sku, "quantity",
                                  (json_int_t)s->lines[i]->quantity, "unit_price",
                                  (json_int_t)s->lines[i]->unit_price);
            if (s->lines[i]->category)
                json_object_set_new(l, "category", json_string(s->lines[i]->category));
            json_array_append_new(lines, l);
        }
        json_object_set_new(o, "lines", lines);
        json_object_set_new(o, "total", json_integer(s->total));
        json_object_set_new(o, "currency", json_string(s->currency));
        json_object_set_new(o, "member_phone", json_string(s->member_phone));
        json_object_set_new(o, "member_id", s_uuid(s->member_id.data));
        json_object_set_new(o, "channel", json_integer(s->channel));
        json_object_set_new(o, "seller", json_string(s->seller));
        if (s->has_receipt)
            json_object_set_new(o, "receipt", json_integer((json_int_t)s->receipt));
        if (s->has_payment)
            json_object_set_new(o, "payment", json_integer(s->payment));
        break;
    }
    case DEALERNET__EVENT__BODY_REFUND: {
        const Dealernet__Refund *r = ev->refund;
        json_t *lines = json_array();
        for (size_t i = 0; i < r->n_lines; i++)
            json_array_append_new(lines, json_pack("{s:s, s:I}", "sku", r->lines[i]->sku,
                                                   "quantity",
                                                   (json_int_t)r->lines[i]->quantity));
        json_object_set_new(o, "sale_id", s_uuid(r->sale_id.data));
        json_object_set_new(o, "lines", lines);
        json_object_set_new(o, "amount", json_integer(r->amount));
        json_object_set_new(o, "currency", json_string(r->currency));
        break;
    }
    case DEALERNET__EVENT__BODY_MEMBER_SIGNUP: {
        const Dealernet__MemberSignup *m = ev->member_signup;
        json_object_set_new(o, "member_id", s_uuid(m->member_id.data));
        json_object_set_new(o, "phone", json_string(m->phone));
        json_object_set_new(o, "name", json_string(m->name));
        json_object_set_new(o, "referrer_partner", json_string(m->referrer_partner));
        json_object_set_new(o, "household", json_integer(m->household));
        break;
    }
    case DEALERNET__EVENT__BODY_MEMBER_UPDATE: {
        const Dealernet__MemberUpdate *m = ev->member_update;
        json_object_set_new(o, "member_id", s_uuid(m->member_id.data));
        json_object_set_new(o, "phone", json_string(m->phone));
        json_object_set_new(o, "household", json_integer(m->household));
        break;
    }
    default:
        break;
    }
    return o;
}

/*  The downstream vector: a Down of the catalogue, from version 10 to 12
    in scope a1b2c3d4 (4 bytes), more to come, two items.  */
/*  Fills the fields every catalogue item of the vectors has: sku, name,
    category (NULL: none), price and effective day.  */
static void s_catalog_item(Dealernet__CatalogItem *c, const char *sku, const char *name,
                           const char *category, int64_t price, int64_t effective_ms)
{
    c->sku = (char *)sku;
    c->name = (char *)name;
    c->category = (char *)category;
    c->has_price = 1;
    c->price = price;
    c->has_effective_ms = 1;
    c->effective_ms = effective_ms;
}

/*  Packs item as a DownItem of stream and appends {"stream", "kind",
    "fields" (borrowed: the fields present on the wire, by name, in field
    order), "bytes"} to list.  */
static int s_item(json_t *list, Dealernet__Stream stream, const char *kind,
                  const Dealernet__DownItem *item, json_t *fields)
{
    char why[DN_WHY_SIZE] = "";
    uint8_t *buf;
    size_t len;
    if (dn_wire_down_item_pack(stream, item, &buf, &len, why, sizeof why))
        return s_fail("cannot pack a stream item", why);
    json_array_append_new(list, json_pack("{s:i, s:s, s:o, s:o}", "stream", (int)stream,
                                          "kind", kind, "fields", fields, "bytes",
                                          s_hex(buf, len)));
    free(buf);
    return 0;
}

/*  The stream items: one DownItem of each kind, each with the fields the
    producer sets (server/dn_catalog_down.c: depth always, category and
    partner only when there is one, fixed and removed only when true;
    server/dn_earnings.c: every Earnings field, last_payout and
    last_payout_ms 0 when there was none; a MemberCredit's name only when
    the member has one; server/dn_notice_down.c: id, text, sent_ms), and
    the catalogue's scope of the path REGION-N > DEALER-BJ and of no path.  */
static int s_stream_items(json_t *root)
{
    static const char *const path[] = {"REGION-N", "DEALER-BJ"};
    uint8_t scope[DN_HASH_BYTES], empty[DN_HASH_BYTES];
    Dealernet__CatalogItem cat[2] = {DEALERNET__CATALOG_ITEM__INIT,
                                     DEALERNET__CATALOG_ITEM__INIT};
    Dealernet__Earnings earn = DEALERNET__EARNINGS__INIT;
    Dealernet__MemberCredit member = DEALERNET__MEMBER_CREDIT__INIT;
    Dealernet__Notice notice = DEALERNET__NOTICE__INIT;
    Dealernet__DownItem item = DEALERNET__DOWN_ITEM__INIT;
    json_t *list = json_array(), *out = json_object();
    int rc;

    if (dn_catalog_scope(path, 2, scope) || dn_catalog_scope(NULL, 0, empty))
        return s_fail("cannot make the catalogue's scope", NULL);
    json_object_set_new(
        out, "catalog_scope",
        json_pack("{s:[s, s], s:s, s:o, s:o}", "path", path[0], path[1], "text",
                  "REGION-N\nDEALER-BJ\n", "sha256", s_hex(scope, sizeof scope),
                  "sha256_no_path", s_hex(empty, sizeof empty)));

    /* REGION-N's fixed price of RICE-5KG from 2026-01-01, for a site
       under DEALER-BJ: REGION-N is first on its path, depth 1 */
    s_catalog_item(&cat[0], "RICE-5KG",
                   "\xe4\xb8\x9c\xe5\x8c\x97\xe5\xa4\xa7\xe7\xb1\xb3 5"
                   "\xe5\x85\xac\xe6\x96\xa4", /* 东北大米 5公斤 */
                   "rice", 5600, 1767225600000LL /* 2026-01-01 00:00 UTC */);
    cat[0].partner = "REGION-N";
    cat[0].has_depth = 1;
    cat[0].depth = 1;
    cat[0].has_fixed = 1;
    cat[0].fixed = 1;
    item.body_case = DEALERNET__DOWN_ITEM__BODY_CATALOG;
    item.catalog = &cat[0];
    if ((rc = s_item(list, DEALERNET__STREAM__STREAM_CATALOG, "catalog", &item,
                     json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:i, s:b}", "sku", cat[0].sku,
                               "name", cat[0].name, "category", cat[0].category, "price",
                               (json_int_t)cat[0].price, "effective_ms",
                               (json_int_t)cat[0].effective_ms, "partner", cat[0].partner,
                               "depth", 1, "fixed", 1))))
        return rc;
    /* the network's row of OIL-1L from 2099-03-01, removed: sent with its
       last fields, depth 0 on the wire too */
    s_catalog_item(&cat[1], "OIL-1L",
                   "\xe8\x8a\xb1\xe7\x94\x9f\xe6\xb2\xb9 1\xe5\x8d\x87", /* 花生油 1升 */
                   "oil", 1980, 4076006400000LL /* 2099-03-01 00:00 UTC */);
    cat[1].has_depth = 1;
    cat[1].depth = 0;
    cat[1].has_removed = 1;
    cat[1].removed = 1;
    item.catalog = &cat[1];
    if ((rc = s_item(list, DEALERNET__STREAM__STREAM_CATALOG, "catalog", &item,
                     json_pack("{s:s, s:s, s:s, s:I, s:I, s:i, s:b}", "sku", cat[1].sku,
                               "name", cat[1].name, "category", cat[1].category, "price",
                               (json_int_t)cat[1].price, "effective_ms",
                               (json_int_t)cat[1].effective_ms, "depth", 0, "removed", 1))))
        return rc;

    /* DEALER-BJ in 2026-11, in fen: opening 25.00 + commission 22.60 +
       override 0 + referral 6.00 - clawback 1.45 + adjustment -1.50 -
       payouts 10.00 = 2500 + 2260 + 0 + 600 - 145 - 150 - 1000 = 4065,
       the balance; last payout 10.00 on 2026-11-25 09:46:40 UTC; computed
       2026-11-28 10:40 UTC.  A negative int64 is ten bytes on the wire.  */
    earn.partner = "DEALER-BJ";
    earn.period = "2026-11";
    earn.currency = "CNY";
    earn.has_balance = earn.has_commission = earn.has_referral = earn.has_clawback = 1;
    earn.has_last_payout = earn.has_last_payout_ms = earn.has_as_of_ms = 1;
    earn.has_opening = earn.has_override = earn.has_adjustment = earn.has_payouts = 1;
    earn.balance = 4065;
    earn.commission = 2260;
    earn.referral = 600;
    earn.clawback = 145;
    earn.last_payout = 1000;
    earn.last_payout_ms = 1795600000000LL;
    earn.as_of_ms = 1795862400000LL;
    earn.opening = 2500;
    earn.override = 0;
    earn.adjustment = -150;
    earn.payouts = 1000;
    item.body_case = DEALERNET__DOWN_ITEM__BODY_EARNINGS;
    item.earnings = &earn;
    if ((rc = s_item(
             list, DEALERNET__STREAM__STREAM_EARNINGS, "earnings", &item,
             json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
                       "s:I}",
                       "partner", earn.partner, "period", earn.period, "currency",
                       earn.currency, "balance", (json_int_t)earn.balance, "commission",
                       (json_int_t)earn.commission, "referral", (json_int_t)earn.referral,
                       "clawback", (json_int_t)earn.clawback, "last_payout",
                       (json_int_t)earn.last_payout, "last_payout_ms",
                       (json_int_t)earn.last_payout_ms, "as_of_ms",
                       (json_int_t)earn.as_of_ms, "opening", (json_int_t)earn.opening,
                       "override", (json_int_t)earn.override, "adjustment",
                       (json_int_t)earn.adjustment, "payouts",
                       (json_int_t)earn.payouts))))
        return rc;

    /* the member +8613800138000, 李伟, with 12.00 of referral credit */
    member.phone = DN_VECTORS_PHONE;
    member.name = "\xe6\x9d\x8e\xe4\xbc\x9f"; /* 李伟 */
    member.has_credit = member.has_as_of_ms = 1;
    member.credit = 1200;
    member.as_of_ms = 1795862400000LL;
    item.body_case = DEALERNET__DOWN_ITEM__BODY_MEMBER;
    item.member = &member;
    if ((rc = s_item(list, DEALERNET__STREAM__STREAM_MEMBERS, "member", &item,
                     json_pack("{s:s, s:s, s:I, s:I}", "phone", member.phone, "name",
                               member.name, "credit", (json_int_t)member.credit,
                               "as_of_ms", (json_int_t)member.as_of_ms))))
        return rc;

    /* notice 7, two lines, sent 2026-11-24 09:30 UTC */
    notice.has_id = 1;
    notice.id = 7;
    notice.text = "\xe4\xb8\x8b\xe5\x91\xa8\xe4\xb8\x80\xe8\xb5\xb7\xe5\x85\xa8"
                  "\xe9\x83\xa8\xe9\x97\xa8\xe5\xba\x97\xe4\xbb\xb7\xe6\xa0\xbc"
                  "\xe8\xb0\x83\xe6\x95\xb4\n\xe8\xaf\xb7\xe6\x8f\x90\xe5\x89\x8d"
                  "\xe9\x80\x9a\xe7\x9f\xa5\xe4\xbc\x9a\xe5\x91\x98";
    notice.has_sent_ms = 1;
    notice.sent_ms = 1795512600000LL;
    item.body_case = DEALERNET__DOWN_ITEM__BODY_NOTICE;
    item.notice = &notice;
    if ((rc = s_item(list, DEALERNET__STREAM__STREAM_NOTICES, "notice", &item,
                     json_pack("{s:I, s:s, s:I}", "id", (json_int_t)notice.id, "text",
                               notice.text, "sent_ms", (json_int_t)notice.sent_ms))))
        return rc;
    json_object_set_new(out, "items", list);
    json_object_set_new(root, "stream_items", out);
    return 0;
}

static int s_down(json_t *root)
{
    uint8_t seed[32], pub[DN_PUBKEY_BYTES], sig[DN_SIG_BYTES];
    uint8_t scope[] = {0xa1, 0xb2, 0xc3, 0xd4};
    uint8_t signed_bytes[DN_DOWN_SIGNED_MAX], *reply_buf = NULL;
    size_t n_signed = 0, reply_len = 0;
    char why[DN_WHY_SIZE] = "";
    dn_key_t *key;
    Dealernet__CatalogItem cat[2] = {DEALERNET__CATALOG_ITEM__INIT,
                                     DEALERNET__CATALOG_ITEM__INIT};
    Dealernet__DownItem item[2] = {DEALERNET__DOWN_ITEM__INIT,
                                   DEALERNET__DOWN_ITEM__INIT};
    ProtobufCBinaryData items[2];
    Dealernet__Down down = DEALERNET__DOWN__INIT, *downs[1] = {&down};
    Dealernet__DownReply reply = DEALERNET__DOWN_REPLY__INIT;
    Dealernet__SyncMessage msg = DEALERNET__SYNC_MESSAGE__INIT;
    json_t *list = json_array(), *out;

    if (dn_hex_decode(s_down_seed_hex, seed, sizeof seed) ||
        !(key = dn_key_from_seed(seed)) || dn_key_public(key, pub))
        return s_fail("cannot make the down key", NULL);
    s_catalog_item(&cat[0], "TEA-500G", "\xe9\xbe\x99\xe4\xba\x95\xe8\x8c\xb6", /* 龙井茶 */
                   "tea", 4500, 1767225600000LL /* 2026-01-01 00:00 UTC */);
    s_catalog_item(&cat[1], "RICE-5KG",
                   "\xe4\xb8\x9c\xe5\x8c\x97\xe5\xa4\xa7\xe7\xb1\xb3", /* 东北大米 */
                   NULL, 5990, 1767225600000LL);
    cat[1].has_fixed = 1;
    cat[1].fixed = 1;
    for (int i = 0; i < 2; i++) {
        item[i].body_case = DEALERNET__DOWN_ITEM__BODY_CATALOG;
        item[i].catalog = &cat[i];
        if (dn_wire_down_item_pack(DEALERNET__STREAM__STREAM_CATALOG, &item[i],
                                   &items[i].data, &items[i].len, why, sizeof why))
            return s_fail("cannot pack a down item", why);
        json_array_append_new(list, json_pack("{s:s, s:s, s:I, s:I, s:o}", "sku",
                                              cat[i].sku, "name", cat[i].name, "price",
                                              (json_int_t)cat[i].price, "effective_ms",
                                              (json_int_t)cat[i].effective_ms, "bytes",
                                              s_hex(items[i].data, items[i].len)));
    }
    json_object_set_new(json_array_get(list, 0), "category", json_string("tea"));
    json_object_set_new(json_array_get(list, 1), "fixed", json_true());
    down.has_stream = 1;
    down.stream = DEALERNET__STREAM__STREAM_CATALOG;
    down.has_scope = 1;
    down.scope = (ProtobufCBinaryData){sizeof scope, scope};
    down.has_from_version = 1;
    down.from_version = 10;
    down.has_to_version = 1;
    down.to_version = 12;
    down.has_reset = 1;
    down.reset = 0;
    down.has_more = 1;
    down.more = 1;
    down.n_items = 2;
    down.items = items;
    if (dn_wire_down_signed(&down, signed_bytes, &n_signed) ||
        dn_key_sign(key, signed_bytes, n_signed, sig) ||
        dn_ed25519_verify(pub, signed_bytes, n_signed, sig))
        return s_fail("cannot sign the down", NULL);
    down.has_signature = 1;
    down.signature = (ProtobufCBinaryData){DN_SIG_BYTES, sig};
    reply.n_downs = 1;
    reply.downs = downs;
    msg.body_case = DEALERNET__SYNC_MESSAGE__BODY_DOWN;
    msg.down = &reply;
    if (dn_wire_sync_pack(&msg, &reply_buf, &reply_len, why, sizeof why))
        return s_fail("cannot pack the down reply", why);
    out = json_object();
    json_object_set_new(out, "down_key",
                        json_pack("{s:o, s:o}", "ed25519_seed", s_hex(seed, sizeof seed),
                                  "ed25519_public", s_hex(pub, sizeof pub)));
    json_object_set_new(out, "stream", json_integer(down.stream));
    json_object_set_new(out, "scope", s_hex(scope, sizeof scope));
    json_object_set_new(out, "from_version", json_integer(10));
    json_object_set_new(out, "to_version", json_integer(12));
    json_object_set_new(out, "reset", json_false());
    json_object_set_new(out, "more", json_true());
    json_object_set_new(out, "items", list);
    /* the last 32 signed bytes: SHA-256 over the framed items */
    json_object_set_new(out, "items_sha256",
                        s_hex(signed_bytes + n_signed - DN_HASH_BYTES, DN_HASH_BYTES));
    json_object_set_new(out, "signed_bytes", s_hex(signed_bytes, n_signed));
    json_object_set_new(out, "signature", s_hex(sig, DN_SIG_BYTES));
    json_object_set_new(out, "sync_message", s_hex(reply_buf, reply_len));
    json_object_set_new(root, "down", out);
    free(reply_buf);
    for (int i = 0; i < 2; i++)
        free(items[i].data);
    dn_key_destroy(&key);
    return 0;
}

int main(int argc, char **argv)
{
    (void)argv;
    uint8_t seed[32], pub[DN_PUBKEY_BYTES], head[DN_HASH_BYTES];
    uint8_t ids[DN_VECTORS_EVENTS][DN_ID_BYTES], member_id[DN_ID_BYTES];
    uint8_t prev[DN_VECTORS_EVENTS][DN_HASH_BYTES];
    uint8_t signed_bytes[DN_BATCH_SIGNED_MAX], sig[DN_SIG_BYTES];
    ProtobufCBinaryData packed[DN_VECTORS_EVENTS];
    char why[DN_WHY_SIZE] = "";
    dn_key_t *key;
    json_t *events = json_array();

    if (argc != 1) {
        fprintf(stderr, "usage: dn_vectors > docs/protocol-vectors.json\n");
        return 64;
    }
    if (dn_hex_decode(s_seed_hex, seed, sizeof seed) || !(key = dn_key_from_seed(seed)) ||
        dn_key_public(key, pub))
        return s_fail("cannot make the key", NULL);

    /* the bodies */
    Dealernet__MemberSignup signup = DEALERNET__MEMBER_SIGNUP__INIT;
    Dealernet__SaleLine lines[2] = {DEALERNET__SALE_LINE__INIT,
                                    DEALERNET__SALE_LINE__INIT};
    Dealernet__SaleLine *line_ptrs[2] = {&lines[0], &lines[1]};
    Dealernet__Sale sale = DEALERNET__SALE__INIT;
    Dealernet__RefundLine refund_line = DEALERNET__REFUND_LINE__INIT;
    Dealernet__RefundLine *refund_ptr = &refund_line;
    Dealernet__Refund refund = DEALERNET__REFUND__INIT;
    Dealernet__MemberUpdate update = DEALERNET__MEMBER_UPDATE__INIT;
    Dealernet__Event ev[DN_VECTORS_EVENTS] = {
        DEALERNET__EVENT__INIT, DEALERNET__EVENT__INIT, DEALERNET__EVENT__INIT,
        DEALERNET__EVENT__INIT};

    for (int i = 0; i < DN_VECTORS_EVENTS; i++)
        s_id(ids[i], s_at[i], (uint8_t)(i + 1));
    s_id(member_id, s_at[0], 0xa1);

    signup.has_member_id = 1;
    signup.member_id = (ProtobufCBinaryData){DN_ID_BYTES, member_id};
    signup.phone = DN_VECTORS_PHONE;
    signup.name = "\xe6\x9d\x8e\xe4\xbc\x9f"; /* 李伟: names are any script, UTF-8 */
    signup.referrer_partner = DN_VECTORS_SELLER;
    signup.has_household = 1;
    signup.household = 3;
    ev[0].body_case = DEALERNET__EVENT__BODY_MEMBER_SIGNUP;
    ev[0].member_signup = &signup;

    /* 2 x 45.00 + 1 x 59.90 = 90.00 + 59.90 = 149.90 CNY = 14990 fen */
    lines[0].sku = "TEA-500G";
    lines[0].has_quantity = 1;
    lines[0].quantity = 2;
    lines[0].has_unit_price = 1;
    lines[0].unit_price = 4500;
    lines[0].category = "tea";
    lines[1].sku = "RICE-5KG";
    lines[1].has_quantity = 1;
    lines[1].quantity = 1;
    lines[1].has_unit_price = 1;
    lines[1].unit_price = 5990;
    sale.n_lines = 2;
    sale.lines = line_ptrs;
    sale.has_total = 1;
    sale.total = 14990;
    sale.currency = "CNY";
    sale.member_phone = DN_VECTORS_PHONE;
    sale.has_member_id = 1;
    sale.member_id = (ProtobufCBinaryData){DN_ID_BYTES, member_id};
    sale.has_channel = 1;
    sale.channel = DEALERNET__CHANNEL__CHANNEL_STORE;
    sale.seller = DN_VECTORS_SELLER;
    /* protocol 3: the shop's receipt 42, paid by WeChat Pay */
    sale.has_receipt = 1;
    sale.receipt = 42;
    sale.has_payment = 1;
    sale.payment = DEALERNET__PAYMENT__PAYMENT_WECHAT;
    ev[1].body_case = DEALERNET__EVENT__BODY_SALE;
    ev[1].sale = &sale;

    /* one TEA-500G back: 1 x 45.00 = 4500 fen */
    refund_line.sku = "TEA-500G";
    refund_line.has_quantity = 1;
    refund_line.quantity = 1;
    refund.has_sale_id = 1;
    refund.sale_id = (ProtobufCBinaryData){DN_ID_BYTES, ids[1]};
    refund.n_lines = 1;
    refund.lines = &refund_ptr;
    refund.has_amount = 1;
    refund.amount = 4500;
    refund.currency = "CNY";
    ev[2].body_case = DEALERNET__EVENT__BODY_REFUND;
    ev[2].refund = &refund;

    update.has_member_id = 1;
    update.member_id = (ProtobufCBinaryData){DN_ID_BYTES, member_id};
    update.phone = DN_VECTORS_PHONE;
    update.has_household = 1;
    update.household = 4;
    ev[3].body_case = DEALERNET__EVENT__BODY_MEMBER_UPDATE;
    ev[3].member_update = &update;

    /* the chain: each event names the hash of the one before */
    memcpy(head, DN_CHAIN_GENESIS, DN_HASH_BYTES);
    for (int i = 0; i < DN_VECTORS_EVENTS; i++) {
        Dealernet__Event *back = NULL;
        uint8_t *buf = NULL;
        size_t len = 0;
        memcpy(prev[i], head, DN_HASH_BYTES);
        ev[i].has_id = 1;
        ev[i].id = (ProtobufCBinaryData){DN_ID_BYTES, ids[i]};
        ev[i].site = DN_VECTORS_SITE;
        ev[i].has_seq = 1;
        ev[i].seq = (uint64_t)i + 1;
        ev[i].has_recorded_at_ms = 1;
        ev[i].recorded_at_ms = s_at[i];
        ev[i].has_prev_hash = 1;
        ev[i].prev_hash = (ProtobufCBinaryData){DN_HASH_BYTES, prev[i]};
        if (dn_wire_event_pack(&ev[i], &buf, &len, why, sizeof why))
            return s_fail("cannot pack an event", why);
        if (dn_wire_event_unpack(buf, len, &back, why, sizeof why) ||
            dn_wire_event_check_new(back, why, sizeof why))
            return s_fail("the server would refuse an event", why);
        uint8_t hash[DN_HASH_BYTES];
        if (dn_chain_step(head, back, buf, len, hash))
            return s_fail("an event does not continue the chain", NULL);
        memcpy(head, hash, DN_HASH_BYTES);
        dn_wire_event_free(&back);
        packed[i] = (ProtobufCBinaryData){len, buf};

        json_t *e = json_object();
        json_object_set_new(e, "seq", json_integer((json_int_t)ev[i].seq));
        json_object_set_new(e, "kind", json_string(dn_wire_event_kind(&ev[i])));
        json_object_set_new(e, "id", s_uuid(ids[i]));
        json_object_set_new(e, "site", json_string(ev[i].site));
        json_object_set_new(e, "recorded_at_ms", json_integer(ev[i].recorded_at_ms));
        json_object_set_new(e, "prev_hash", s_hex(prev[i], DN_HASH_BYTES));
        json_object_set_new(e, "body", s_body_fields(&ev[i]));
        json_object_set_new(e, "bytes", s_hex(buf, len));
        json_object_set_new(e, "sha256", s_hex(head, DN_HASH_BYTES));
        json_array_append_new(events, e);
    }

    /* the batch of all four, signed */
    uint64_t last_seq = DN_VECTORS_EVENTS;
    size_t n_signed = dn_wire_batch_signed(DN_VECTORS_SITE, last_seq, head, signed_bytes);
    if (dn_chain_sign(key, DN_VECTORS_SITE, last_seq, head, sig) ||
        dn_chain_verify(pub, DN_VECTORS_SITE, last_seq, head, sig))
        return s_fail("cannot sign the batch", NULL);

    Dealernet__PushBatch push = DEALERNET__PUSH_BATCH__INIT;
    Dealernet__SyncMessage msg = DEALERNET__SYNC_MESSAGE__INIT;
    uint8_t *sync_buf = NULL;
    size_t sync_len = 0;
    push.has_first_seq = 1;
    push.first_seq = 1;
    push.n_events = DN_VECTORS_EVENTS;
    push.events = packed;
    push.has_chain_head = 1;
    push.chain_head = (ProtobufCBinaryData){DN_HASH_BYTES, head};
    push.has_signature = 1;
    push.signature = (ProtobufCBinaryData){DN_SIG_BYTES, sig};
    msg.body_case = DEALERNET__SYNC_MESSAGE__BODY_PUSH;
    msg.push = &push;
    if (dn_wire_sync_pack(&msg, &sync_buf, &sync_len, why, sizeof why))
        return s_fail("cannot pack the batch", why);
    /* the SyncMessage is field 3 (push), its length, then the PushBatch:
       the PushBatch's own bytes follow that 1-byte tag and varint */
    size_t tag_len = 1;
    while (sync_buf[tag_len] & 0x80)
        tag_len++;
    tag_len++;

    /* a Hello an agent with these 4 events pending sends on connecting */
    Dealernet__Hello hello = DEALERNET__HELLO__INIT;
    Dealernet__SyncMessage hello_msg = DEALERNET__SYNC_MESSAGE__INIT;
    uint8_t *hello_buf = NULL;
    size_t hello_len = 0;
    hello.has_protocol = 1;
    hello.protocol = DN_PROTOCOL_VERSION;
    hello.agent_version = "vendor-pos 2.1";
    hello.has_pending = 1;
    hello.pending = 4;
    hello.has_clock_ms = 1;
    hello.clock_ms = 1767262000000LL; /* 10:06:40 UTC */
    hello.has_head_seq = 1;
    hello.head_seq = 4;
    hello.has_oldest_pending_ms = 1;
    hello.oldest_pending_ms = s_at[0];
    hello_msg.body_case = DEALERNET__SYNC_MESSAGE__BODY_HELLO;
    hello_msg.hello = &hello;
    if (dn_wire_sync_pack(&hello_msg, &hello_buf, &hello_len, why, sizeof why))
        return s_fail("cannot pack the hello", why);

    json_t *root = json_object();
    json_object_set_new(
        root, "about",
        json_string("dealernet sync protocol test vectors (docs/PROTOCOL.md); written by "
                    "tests/tools/dn_vectors.c, checked by tests/cli/protocol_vectors.sh. "
                    "Binary values are lower-case hex; ids are UUIDv7 text, 16 bytes on "
                    "the wire."));
    json_object_set_new(root, "protocol", json_integer(DN_PROTOCOL_VERSION));
    json_object_set_new(root, "key",
                        json_pack("{s:o, s:o}", "ed25519_seed", s_hex(seed, sizeof seed),
                                  "ed25519_public", s_hex(pub, sizeof pub)));
    json_object_set_new(root, "events", events);
    json_t *batch = json_object();
    json_object_set_new(batch, "first_seq", json_integer(1));
    json_object_set_new(batch, "last_seq", json_integer((json_int_t)last_seq));
    json_object_set_new(batch, "chain_head", s_hex(head, DN_HASH_BYTES));
    json_object_set_new(batch, "signed_bytes", s_hex(signed_bytes, n_signed));
    json_object_set_new(batch, "signature", s_hex(sig, DN_SIG_BYTES));
    json_object_set_new(batch, "push_batch",
                        s_hex(sync_buf + tag_len, sync_len - tag_len));
    json_object_set_new(batch, "sync_message", s_hex(sync_buf, sync_len));
    json_object_set_new(root, "batch", batch);
    json_object_set_new(
        root, "hello",
        json_pack("{s:{s:i, s:s, s:I, s:I, s:I, s:I}, s:o}", "fields", "protocol",
                  (int)hello.protocol, "agent_version", hello.agent_version, "pending",
                  (json_int_t)hello.pending, "clock_ms", (json_int_t)hello.clock_ms,
                  "head_seq", (json_int_t)hello.head_seq, "oldest_pending_ms",
                  (json_int_t)hello.oldest_pending_ms, "sync_message",
                  s_hex(hello_buf, hello_len)));

    int rc = s_down(root);
    if (rc == 0)
        rc = s_stream_items(root);
    if (rc)
        return rc;

    char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (!text)
        return s_fail("out of memory", NULL);
    fputs(text, stdout);
    fputc('\n', stdout);
    free(text);
    json_decref(root);
    free(sync_buf);
    free(hello_buf);
    for (int i = 0; i < DN_VECTORS_EVENTS; i++)
        free(packed[i].data);
    dn_key_destroy(&key);
    return fflush(stdout) == 0 ? 0 : s_fail("cannot write", NULL);
}
