/*  gen_corpus -- writes the seed corpora of the fuzz targets.

    usage: gen_corpus DIR
    writes DIR/fuzz_ingest/ (SyncMessage frames) and DIR/fuzz_parse/
    (events and clerk's text).  `make fuzz-corpus` runs it into
    tests/fuzz/corpus, where the output is committed; it is deterministic
    (fixed ids, times and key), so running it again changes nothing.

    The ingest seeds are what site SHOP-01 of the dn_fuzz world would send:
    a Hello; its first seven events in one batch, once signed with the
    site's key (accepted as received) and once with a zero signature (the
    fuzzer repairs and signs it); batches of one kind of event each; an
    event encoded with its fields in reverse order (valid, not canonical);
    a gap, another site's event, and each of the other message bodies.
    The events: member A signs up (referred by partner RS1); RS1 sells A
    rice and oil; member B signs up (referred by A); RS2 (recruited by RS1)
    sells to B; a refund of one rice bag, then of what is left of that
    sale; B's name and household change.
*/
#include "dn_crypto.h"
#include "dn_error.h"
#include "dn_fuzz.h"
#include "dn_id.h"
#include "dn_log.h"
#include "dn_testkit.h"
#include "dn_wire.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_EVENTS 16
#define DAY_MS     INT64_C(86400000)

typedef struct {
    dn_tk_site_t *site; /* SHOP-01 as its agent would record; its history pending */
    const char *dir;
} s_gen_t;

static void s_die(const char *what)
{
    fprintf(stderr, "gen_corpus: %s\n", what);
    exit(70);
}

/*  A UUIDv7 from a time and a counter, without randomness.  */
static void s_id(uint8_t id[DN_ID_BYTES], int64_t ms, unsigned counter)
{
    for (int i = 0; i < 6; i++)
        id[i] = (uint8_t)(ms >> (8 * (5 - i)));
    id[6] = (uint8_t)(0x70 | ((counter >> 8) & 0x0f));
    id[7] = (uint8_t)counter;
    id[8] = 0x80;
    for (int i = 9; i < DN_ID_BYTES; i++)
        id[i] = (uint8_t)(counter * 31 + (unsigned)i);
}

static void s_write(const s_gen_t *g, const char *target, const char *name,
                    const void *data, size_t len)
{
    char path[512];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s/%s", g->dir, target, name);
    f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0)
        s_die(path);
}

/*  The id of the event seq of a history: s_id with seq as the counter.  */
static int s_event_id(uint8_t id[DN_ID_BYTES], int64_t at_ms, uint64_t seq)
{
    s_id(id, at_ms, (unsigned)seq);
    return 0;
}

/*  Records ev as the next event of the site's history (dn_tk_record) and
    copies its id into id.  */
static void s_record(s_gen_t *g, Dealernet__Event *ev, int64_t at,
                     uint8_t id[DN_ID_BYTES])
{
    char why[DN_WHY_SIZE];
    if (g->site->n_pending == MAX_EVENTS)
        s_die("too many events");
    if (dn_tk_record(g->site, ev, at, id, why, sizeof why))
        s_die(why);
}

/*  Copies the member id of this history's sign-up of phone; 0 if none.  */
static int s_member_of(const s_gen_t *g, const char *phone, uint8_t member[DN_ID_BYTES])
{
    int found = 0;
    for (size_t i = 0; i < g->site->n_pending && !found; i++) {
        const ProtobufCBinaryData *body = &g->site->pending[i];
        Dealernet__Event *ev = NULL;
        char why[DN_WHY_SIZE];
        if (dn_wire_event_unpack(body->data, body->len, &ev, why, sizeof why))
            s_die(why);
        if (ev->body_case == DEALERNET__EVENT__BODY_MEMBER_SIGNUP &&
            strcmp(ev->member_signup->phone, phone) == 0) {
            memcpy(member, ev->member_signup->member_id.data, DN_ID_BYTES);
            found = 1;
        }
        dn_wire_event_free(&ev);
    }
    return found;
}

/*  Forgets the events recorded so far: the next starts a new history.  */
static void s_reset(s_gen_t *g)
{
    dn_tk_site_restart(g->site);
}

static void s_signup(s_gen_t *g, int64_t at, const char *phone, const char *name,
                     const char *ref_phone, const char *ref_partner)
{
    dn_tk_event_t e;
    uint8_t id[DN_ID_BYTES];
    if (dn_tk_signup(&e, at, phone, name, ref_phone, ref_partner))
        s_die("sign-up");
    s_id(e.member_id, at, 0x800 + (unsigned)g->site->n_pending);
    e.signup.has_household = 1;
    e.signup.household = 3;
    s_record(g, &e.ev, at, id);
}

static void s_sale(s_gen_t *g, int64_t at, const char *seller, const char *phone,
                   const dn_tk_line_t *lines, size_t n, uint8_t id[DN_ID_BYTES])
{
    dn_tk_event_t e;
    if (dn_tk_sale(&e, seller, DEALERNET__CHANNEL__CHANNEL_COMMUNITY, phone, lines, n))
        s_die("sale lines");
    s_record(g, &e.ev, at, id);
}

static void s_refund(s_gen_t *g, int64_t at, const uint8_t sale_id[DN_ID_BYTES],
                     const char *sku, int64_t quantity, int64_t amount)
{
    dn_tk_event_t e;
    uint8_t id[DN_ID_BYTES];
    dn_tk_refund(&e, sale_id, amount, sku, quantity);
    s_record(g, &e.ev, at, id);
}

/*  An update of the member who signed up with phone in this history.  */
static void s_update(s_gen_t *g, int64_t at, const char *phone, const char *name)
{
    Dealernet__Event ev = DEALERNET__EVENT__INIT;
    Dealernet__MemberUpdate m = DEALERNET__MEMBER_UPDATE__INIT;
    uint8_t id[DN_ID_BYTES], member[DN_ID_BYTES];
    if (!s_member_of(g, phone, member))
        s_die("update of a member not signed up");
    m.has_member_id = 1;
    m.member_id.data = member;
    m.member_id.len = DN_ID_BYTES;
    m.phone = (char *)phone;
    m.name = (char *)name;
    m.has_household = 1;
    m.household = 4;
    ev.body_case = DEALERNET__EVENT__BODY_MEMBER_UPDATE;
    ev.member_update = &m;
    s_record(g, &ev, at, id);
}

static void s_write_sync(const s_gen_t *g, const char *name,
                         const Dealernet__SyncMessage *msg)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    char why[DN_WHY_SIZE];
    if (dn_wire_sync_pack(msg, &buf, &len, why, sizeof why))
        s_die(why);
    s_write(g, "fuzz_ingest", name, buf, len);
    free(buf);
}

/*  A PushBatch of the given event bytes from first_seq, with chain head
    head, signed with the site's key or (sign 0) with 64 zero bytes.  */
static void s_write_batch(const s_gen_t *g, const char *name, uint64_t first_seq,
                          const ProtobufCBinaryData *events, size_t n,
                          const uint8_t head[DN_HASH_BYTES], int sign)
{
    dn_tk_batch_t batch;
    uint8_t *buf = NULL;
    size_t len = 0;
    char why[DN_WHY_SIZE];
    if (dn_tk_batch_make(&batch, DN_FUZZ_SITE, sign ? g->site->key : NULL, first_seq,
                         events, n, head))
        s_die("batch");
    if (dn_tk_batch_pack(&batch, &buf, &len, why, sizeof why))
        s_die(why);
    s_write(g, "fuzz_ingest", name, buf, len);
    free(buf);
    dn_tk_batch_free(&batch);
}

/*  Events from..to (1-based seqs) of the site, as one batch.  */
static void s_batch_of(const s_gen_t *g, const char *name, size_t from, size_t to,
                       int sign)
{
    s_write_batch(g, name, from, &g->site->pending[from - 1], to - from + 1,
                  g->site->pending_hash[to - 1], sign);
}

/*  Copies the top-level fields of an event in reverse order: the same
    message, not its canonical encoding.  */
static size_t s_reversed(const uint8_t *p, size_t len, uint8_t *out)
{
    size_t starts[32], n = 0, at = 0, w = 0;
    while (at < len && n < 32) {
        uint64_t v = 0;
        int shift = 0;
        starts[n++] = at;
        uint8_t tag = p[at++]; /* this corpus's tags are one byte */
        if ((tag & 7) == 2) {
            do
                v |= (uint64_t)(p[at] & 0x7f) << shift, shift += 7;
            while (p[at++] & 0x80);
            at += (size_t)v;
        } else {
            while (p[at++] & 0x80)
                ;
        }
    }
    for (size_t i = n; i-- > 0;) {
        size_t end = i + 1 < n ? starts[i + 1] : len;
        memcpy(out + w, p + starts[i], end - starts[i]);
        w += end - starts[i];
    }
    return w;
}

static void s_parse_seeds(s_gen_t *g)
{
    static const char *const texts[] = {
        "TEA-500:3@45.50",
        "RICE-5KG:2",
        "SOAP:1@0",
        "GIFT-BOX:1000000@1.5",
        "12.34",
        "-0.5",
        "+3",
        "9223372036854775807",
        "0.0001",
        "+86 138-0013-8000",
        "(010) 1234 567",
        "+8613800138000",
        "SHOP-01",
        "\xe7\x8e\x8b\xe5\xb0\x8f\xe6\x98\x8e",
        /* found by fuzz_parse: a quantity longer than its buffer was cut
           and read as 200 */
        "!:0000000000000000000000000000020001",
        /* found by fuzz_parse: one 0 dropped after +86 left +8603381,
           which was not canonical (a fixed point) */
        "+8600338-1",
        /* full-width "+86 138", as a Chinese IME types it */
        "\xef\xbc\x8b\xef\xbc\x98\xef\xbc\x96\xe3\x80\x80\xef\xbc\x91\xef\xbc\x93\xef\xbc\x98",
        /* the README's enrollment code (dn_bundle) */
        ("DN1:GXRjcDovL2hxLmV4YW1wbGUuY29tOjc3MDA6_IpvQcnDhbW0aU8yDFa4JnmSKyjFKhfSU1EY-"
         "uzhSwhTSE9QLUJKMSA3Y2NmZGJkZTUzM2ZjMWM3NGZjZjc4YmUzZjIxMTU2ZaUJlIQ"),
    };
    for (size_t i = 0; i < g->site->n_pending; i++) {
        char name[64];
        snprintf(name, sizeof name, "event-%zu.bin", i + 1);
        s_write(g, "fuzz_parse", name, g->site->pending[i].data, g->site->pending[i].len);
    }
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        char name[64];
        snprintf(name, sizeof name, "text-%02zu.txt", i + 1);
        s_write(g, "fuzz_parse", name, texts[i], strlen(texts[i]));
    }
}

static void s_ingest_seeds(s_gen_t *g)
{
    static const dn_tk_line_t rice_oil[] = {{"RICE-5KG", 3, 6700, "rice"},
                                            {"OIL-1L", 2, 1550, "oil"}};
    static const dn_tk_line_t noodles[] = {{"NOODLE-1", 4, 700, NULL}};
    Dealernet__SyncMessage msg = DEALERNET__SYNC_MESSAGE__INIT;
    uint8_t sale_a[DN_ID_BYTES], sale_b[DN_ID_BYTES];
    int64_t t = DN_FUZZ_PLAN_MS + 5 * DAY_MS + 10 * 3600 * 1000;

    s_signup(g, t, "+8613800000001", "A", NULL, "RS1");                      /* 1 */
    s_sale(g, t + 2 * DAY_MS, "RS1", "+8613800000001", rice_oil, 2, sale_a); /* 2 */
    s_signup(g, DN_FUZZ_PLAN_MS + 10 * DAY_MS, "+8613800000002", "B", "+8613800000001",
             NULL);                                                          /* 3 */
    s_sale(g, t + 12 * DAY_MS, "RS2", "+8613800000002", noodles, 1, sale_b); /* 4 */
    s_refund(g, t + 14 * DAY_MS, sale_a, "RICE-5KG", 1, 6700);               /* 5 */
    s_refund(g, t + 15 * DAY_MS, sale_a, NULL, 0, 2 * 6700 + 2 * 1550);      /* 6 */
    s_update(g, t + 20 * DAY_MS, "+8613800000002",
             "\xe7\x8e\x8b\xe5\xb0\x8f\xe6\x98\x8e"); /* 7: 王小明 */

    s_batch_of(g, "batch-1-7-signed.bin", 1, 7, 1);
    s_batch_of(g, "batch-1-7-resign.bin", 1, 7, 0);
    s_batch_of(g, "batch-1-2-signed.bin", 1, 2, 1);
    s_batch_of(g, "batch-1-4-resign.bin", 1, 4, 0);
    s_batch_of(g, "batch-gap-3-4.bin", 3, 4, 1);

    /* event 1 with its fields in reverse order, signed over its own bytes */
    {
        uint8_t rev[1024], hash[DN_HASH_BYTES];
        const ProtobufCBinaryData *first = &g->site->pending[0];
        ProtobufCBinaryData one = {s_reversed(first->data, first->len, rev), rev};
        if (dn_sha256(rev, one.len, hash))
            s_die("sha256");
        s_write_batch(g, "batch-noncanonical-signed.bin", 1, &one, 1, hash, 1);
        s_write(g, "fuzz_parse", "event-noncanonical.bin", rev, one.len);
    }
    s_parse_seeds(g);

    /* short histories of their own, each from seq 1 (re-signed by the
       fuzzer): a sale without a member; a refund of a sale never sent; a
       sign-up and its update, the last of another site */
    s_reset(g);
    s_sale(g, t, "DE1", NULL, noodles, 1, sale_b);
    s_batch_of(g, "batch-sale-resign.bin", 1, 1, 0);
    s_reset(g);
    s_refund(g, t, sale_a, NULL, 0, 100);
    s_batch_of(g, "batch-refund-unknown-sale-resign.bin", 1, 1, 0);
    s_reset(g);
    s_signup(g, t, "+8613800000003", NULL, NULL, NULL);
    s_update(g, t + DAY_MS, "+8613800000003", "C");
    s_batch_of(g, "batch-signup-update-resign.bin", 1, 2, 0);
    s_reset(g);
    snprintf(g->site->code, sizeof g->site->code, "SHOP-02");
    s_signup(g, t, "+8613800000004", NULL, NULL, NULL);
    snprintf(g->site->code, sizeof g->site->code, "%s", DN_FUZZ_SITE);
    s_batch_of(g, "batch-other-site-resign.bin", 1, 1, 0);
    s_reset(g);

    {
        Dealernet__Hello hello = DEALERNET__HELLO__INIT;
        hello.has_protocol = 1;
        hello.protocol = DN_PROTOCOL_VERSION;
        hello.agent_version = "0.1.0";
        hello.has_pending = 1;
        hello.pending = 7;
        hello.has_clock_ms = 1;
        hello.clock_ms = DN_FUZZ_NOW_MS - 90000;
        hello.has_head_seq = 1;
        hello.head_seq = 7;
        hello.has_oldest_pending_ms = 1;
        hello.oldest_pending_ms = t;
        msg.body_case = DEALERNET__SYNC_MESSAGE__BODY_HELLO;
        msg.hello = &hello;
        s_write_sync(g, "hello.bin", &msg);
        /* found by reading: a clock of INT64_MIN made the server compute
           now - clock with signed overflow (dn_wire now refuses it; packed
           by protobuf-c, as dn_wire would not) */
        uint8_t raw[64];
        hello.clock_ms = INT64_MIN;
        hello.has_oldest_pending_ms = 0;
        size_t len = dealernet__sync_message__pack(&msg, raw);
        s_write(g, "fuzz_ingest", "hello-clock-min.bin", raw, len);
    }
    {
        Dealernet__PushAck ack = DEALERNET__PUSH_ACK__INIT;
        ack.has_acked_through = 1;
        ack.acked_through = 7;
        msg.body_case = DEALERNET__SYNC_MESSAGE__BODY_ACK;
        msg.ack = &ack;
        s_write_sync(g, "ack.bin", &msg);
    }
    {
        Dealernet__Welcome welcome = DEALERNET__WELCOME__INIT;
        welcome.has_protocol = welcome.has_applied_seq = welcome.has_window = 1;
        welcome.has_max_batch_events = welcome.has_server_clock_ms = 1;
        welcome.protocol = DN_PROTOCOL_VERSION;
        welcome.applied_seq = 7;
        welcome.window = 4;
        welcome.max_batch_events = DN_MAX_BATCH_EVENTS;
        welcome.server_clock_ms = DN_FUZZ_NOW_MS;
        msg.body_case = DEALERNET__SYNC_MESSAGE__BODY_WELCOME;
        msg.welcome = &welcome;
        s_write_sync(g, "welcome.bin", &msg);
    }
    {
        Dealernet__Refused refused = DEALERNET__REFUSED__INIT;
        refused.has_code = refused.has_expected_seq = 1;
        refused.code = DEALERNET__REFUSE_CODE__REFUSE_GAP;
        refused.text = "batch starts at seq 3 but the next expected is 1";
        refused.expected_seq = 1;
        msg.body_case = DEALERNET__SYNC_MESSAGE__BODY_REFUSED;
        msg.refused = &refused;
        s_write_sync(g, "refused.bin", &msg);
    }
    {
        Dealernet__EnrollRequest enroll = DEALERNET__ENROLL_REQUEST__INIT;
        uint8_t key[DN_PUBKEY_BYTES];
        memset(key, 0x33, sizeof key);
        enroll.token = "0123456789abcdef0123456789abcdef";
        enroll.site = "SHOP-02";
        enroll.has_sign_key = 1;
        enroll.sign_key.data = key;
        enroll.sign_key.len = sizeof key;
        enroll.agent_version = "0.1.0";
        msg.body_case = DEALERNET__SYNC_MESSAGE__BODY_ENROLL;
        msg.enroll = &enroll;
        s_write_sync(g, "enroll.bin", &msg);
    }
    {
        Dealernet__Enrolled enrolled = DEALERNET__ENROLLED__INIT;
        enrolled.site = DN_FUZZ_SITE;
        enrolled.partner = "RS1";
        msg.body_case = DEALERNET__SYNC_MESSAGE__BODY_ENROLLED;
        msg.enrolled = &enrolled;
        s_write_sync(g, "enrolled.bin", &msg);
    }
}

int main(int argc, char **argv)
{
    s_gen_t g;
    dn_key_t *key;
    char path[512];
    if (argc != 2) {
        fprintf(stderr, "usage: gen_corpus DIR\n");
        return 64;
    }
    memset(&g, 0, sizeof g);
    g.dir = argv[1];
    dn_log_init("gen_corpus", DN_LOG_QUIET, 0);
    for (int i = 0; i < 3; i++) {
        static const char *const sub[] = {"", "/fuzz_ingest", "/fuzz_parse"};
        snprintf(path, sizeof path, "%s%s", g.dir, sub[i]);
        if (mkdir(path, 0755) != 0 && errno != EEXIST)
            s_die(path);
    }
    if (!(key = dn_fuzz_key()) || !(g.site = dn_tk_site_new(DN_FUZZ_SITE, &key)))
        s_die("cannot make the site key");
    g.site->id_fn = s_event_id;
    s_ingest_seeds(&g);
    dn_tk_site_destroy(&g.site);
    return 0;
}
