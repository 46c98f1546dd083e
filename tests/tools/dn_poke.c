/*  dn_poke -- sends one crafted message to a dealernet server's sync socket
    and prints the one reply, for the sync tests in tests/cli/sync_*.sh.

    The agent only ever sends well-formed, correctly chained batches of its
    own site, so the server's refusals of everything else (a gap, another
    site's events, an unknown key, garbage, two frames, an oversized frame,
    too many events, an unknown field) cannot be reached through it.  This
    tool builds those messages from a real agent's files -- its CURVE key,
    its Ed25519 site key and the events in its agent.db -- so that each one
    is wrong in exactly the one way the test is about and right otherwise
    (a correct signature, a correct chain).  Everything is packed with
    dn_wire except where the point is bytes dn_wire would refuse to make.

    Output: one line on stdout, the reply:
        welcome applied=N
        ack N
        refused CODE expected=N: TEXT     (CODE without REFUSE_, e.g. GAP)
        enrolled SITE partner=P
        timeout                           (no reply within --timeout)
    Exit: 0 when a reply came (whatever it says) or, in mode oversize, when
    none came (libzmq drops the connection: the expected outcome); 75 on an
    unexpected timeout; 64 usage; 65 the agent's data cannot make the
    message asked for; 70 anything else.
*/
#include "dn_crypto.h"
#include "dn_curve.h"
#include "dn_error.h"
#include "dn_log.h"
#include "dn_outbox.h"
#include "dn_protocol.h"
#include "dn_store.h"
#include "dn_time.h"
#include "dn_wire.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define EX_USAGE    64
#define EX_DATAERR  65
#define EX_TEMPFAIL 75
#define EX_SOFTWARE 70

#define DN_POKE_DEFAULT_TIMEOUT_MS 3000
#define DN_POKE_REPLY_BYTES        (64 * 1024)

typedef struct {
    const char *endpoint;
    const char *server_key;
    const char *agent_dir;
    int fresh_key;
    int timeout_ms;
    dn_curve_pair_t pair; /* the CURVE key we connect with */
    dn_store_t *store;    /* the agent's agent.db, when --agent */
    dn_key_t *sign_key;   /* the agent's site.key, when --agent */
    char site[DN_MAX_CODE_LEN + 1];
} s_poke_t;

/*  The message to send: one or two frames.  */
typedef struct {
    uint8_t *frame[2];
    size_t len[2];
    int frames;
} s_out_t;

static void s_usage(FILE *out)
{
    fprintf(out,
            "usage: dn_poke --server EP --server-key Z85 (--agent DIR [--fresh-key] |\n"
            "               --fresh-key) [--timeout MS] MODE [ARGS]\n\n"
            "Sends one crafted message to the sync socket and prints the reply.\n"
            "--agent DIR takes the CURVE key, site key and events of an agent;\n"
            "--fresh-key connects with a new CURVE key instead of the agent's.\n\n"
            "modes:\n"
            "  hello                      a Hello\n"
            "  push-range FROM TO         the agent's events FROM..TO, signed\n"
            "  push-as-site CODE [FROM TO] the agent's events rebuilt with site CODE,\n"
            "                             rechained and signed with the agent's key\n"
            "                             (default: every event)\n"
            "  garbage                    bytes that are not a SyncMessage\n"
            "  two-frames                 a Hello followed by a second frame\n"
            "  oversize [BYTES]           one frame of zero bytes, by default one byte\n"
            "                             over the server's ZMQ_MAXMSGSIZE (%d)\n"
            "  too-many-events            a signed PushBatch of %d events\n"
            "  unknown-field [FROM TO]    the pending events (default), the last one\n"
            "                             with an unknown protobuf field appended,\n"
            "                             rechained and signed\n",
            DN_MAX_SYNC_MSG_BYTES, DN_MAX_BATCH_EVENTS + 1);
}

static int s_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int s_fail(int code, const char *fmt, ...)
{
    va_list args;
    fputs("dn_poke: ", stderr);
    va_start(args, fmt);
    vfprintf(stderr, fmt, args);
    va_end(args);
    fputc('\n', stderr);
    return code;
}

static int s_parse_seq(const char *text, uint64_t *seq)
{
    char *end;
    unsigned long long v;
    if (!text || !*text)
        return -1;
    v = strtoull(text, &end, 10);
    if (*end || v < 1 || v > (unsigned long long)INT64_MAX)
        return -1;
    *seq = v;
    return 0;
}

static int s_need_agent(const s_poke_t *self, const char *mode)
{
    if (!self->store)
        return s_fail(EX_USAGE, "mode %s needs --agent DIR", mode);
    return 0;
}

/*  Signs the batch the way the agent does: over the site's code, the last
    seq and the chain head.  */
static int s_sign(const s_poke_t *self, uint64_t last_seq,
                  const uint8_t head[DN_HASH_BYTES], uint8_t sig[DN_SIG_BYTES])
{
    uint8_t signed_bytes[DN_BATCH_SIGNED_MAX];
    size_t n = dn_wire_batch_signed(self->site, last_seq, head, signed_bytes);
    return dn_key_sign(self->sign_key, signed_bytes, n, sig);
}

/*  Packs msg with dn_wire into out's first frame.  */
static int s_pack(const Dealernet__SyncMessage *msg, s_out_t *out)
{
    char why[DN_WHY_SIZE];
    int rc = dn_wire_sync_pack(msg, &out->frame[0], &out->len[0], why, sizeof why);
    if (rc)
        return s_fail(EX_SOFTWARE, "cannot pack the message: %s", why);
    out->frames = 1;
    return 0;
}

/*  A PushBatch of n events (first_seq first), signed over head.  raw: pack
    with protobuf-c itself, for batches dn_wire refuses to make.  */
static int s_pack_push(const s_poke_t *self, uint64_t first_seq,
                       ProtobufCBinaryData *events, size_t n,
                       const uint8_t head[DN_HASH_BYTES], int raw, s_out_t *out)
{
    Dealernet__SyncMessage msg = DEALERNET__SYNC_MESSAGE__INIT;
    Dealernet__PushBatch push = DEALERNET__PUSH_BATCH__INIT;
    uint8_t sig[DN_SIG_BYTES], head_copy[DN_HASH_BYTES];

    memcpy(head_copy, head, DN_HASH_BYTES);
    if (s_sign(self, first_seq + n - 1, head_copy, sig))
        return s_fail(EX_SOFTWARE, "cannot sign the batch");
    push.has_first_seq = 1;
    push.first_seq = first_seq;
    push.n_events = n;
    push.events = events;
    push.has_chain_head = 1;
    push.chain_head.data = head_copy;
    push.chain_head.len = DN_HASH_BYTES;
    push.has_signature = 1;
    push.signature.data = sig;
    push.signature.len = DN_SIG_BYTES;
    msg.body_case = DEALERNET__SYNC_MESSAGE__BODY_PUSH;
    msg.push = &push;
    if (!raw)
        return s_pack(&msg, out);
    out->len[0] = dealernet__sync_message__get_packed_size(&msg);
    out->frame[0] = malloc(out->len[0]);
    if (!out->frame[0])
        return s_fail(EX_SOFTWARE, "out of memory");
    dealernet__sync_message__pack(&msg, out->frame[0]);
    out->frames = 1;
    return 0;
}

/*  Reads the agent's events from..to exactly as stored.  */
static int s_read(const s_poke_t *self, uint64_t from, uint64_t to,
                  dn_outbox_batch_t *batch)
{
    int rc;
    if (to < from || to - from >= 100000)
        return s_fail(EX_USAGE, "bad range %llu..%llu", (unsigned long long)from,
                      (unsigned long long)to);
    rc = dn_outbox_read(self->store, from, (size_t)(to - from + 1), SIZE_MAX, batch);
    if (rc)
        return s_fail(EX_DATAERR, "cannot read events: %s", dn_strerror(rc));
    if (batch->n != to - from + 1) {
        dn_outbox_batch_free(batch);
        return s_fail(EX_DATAERR, "agent.db has no events %llu..%llu",
                      (unsigned long long)from, (unsigned long long)to);
    }
    return 0;
}

/*  Rebuilds the events of batch: each one is decoded, given `site` (when
    not NULL), chained to the one before (the first keeps its prev_hash),
    repacked; the last gets `extra` bytes appended (when not NULL).  Sets
    head to the hash of the last.  Replaces batch->events' bytes.  */
static int s_rebuild(dn_outbox_batch_t *batch, const char *site, const uint8_t *extra,
                     size_t extra_len, uint8_t head[DN_HASH_BYTES])
{
    uint8_t prev[DN_HASH_BYTES];
    for (size_t i = 0; i < batch->n; i++) {
        Dealernet__Event *ev = NULL;
        char why[DN_WHY_SIZE];
        uint8_t *buf = NULL;
        size_t len = 0;
        int rc;
        if (dn_wire_event_unpack(batch->events[i].data, batch->events[i].len, &ev, why,
                                 sizeof why))
            return s_fail(EX_DATAERR, "stored event %zu does not decode: %s", i + 1, why);
        char *own_site = ev->site;
        if (site)
            ev->site = (char *)site; /* borrowed: the original is put back to be freed */
        if (i > 0)
            memcpy(ev->prev_hash.data, prev, DN_HASH_BYTES);
        rc = dn_wire_event_pack(ev, &buf, &len, why, sizeof why);
        ev->site = own_site;
        dn_wire_event_free(&ev);
        if (rc)
            return s_fail(EX_DATAERR, "cannot repack event %zu: %s", i + 1, why);
        if (extra && i + 1 == batch->n) {
            uint8_t *bigger = realloc(buf, len + extra_len);
            if (!bigger) {
                free(buf);
                return s_fail(EX_SOFTWARE, "out of memory");
            }
            buf = bigger;
            memcpy(buf + len, extra, extra_len);
            len += extra_len;
        }
        free(batch->events[i].data);
        batch->events[i].data = buf;
        batch->events[i].len = len;
        if (dn_sha256(buf, len, prev))
            return s_fail(EX_SOFTWARE, "cannot hash");
    }
    memcpy(head, prev, DN_HASH_BYTES);
    return 0;
}

/* -- modes ----------------------------------------------------------------- */

static int s_hello(const s_poke_t *self, s_out_t *out)
{
    Dealernet__SyncMessage msg = DEALERNET__SYNC_MESSAGE__INIT;
    Dealernet__Hello hello = DEALERNET__HELLO__INIT;
    dn_outbox_position_t pos;
    memset(&pos, 0, sizeof pos);
    if (self->store && dn_outbox_position(self->store, &pos))
        return s_fail(EX_DATAERR, "cannot read the agent's position");
    hello.has_protocol = 1;
    hello.protocol = DN_PROTOCOL_VERSION;
    hello.agent_version = "dn_poke";
    hello.has_pending = 1;
    hello.pending = pos.pending;
    hello.has_clock_ms = 1;
    hello.clock_ms = dn_time_now_ms();
    hello.has_head_seq = 1;
    hello.head_seq = pos.head_seq;
    msg.body_case = DEALERNET__SYNC_MESSAGE__BODY_HELLO;
    msg.hello = &hello;
    return s_pack(&msg, out);
}

static int s_push_range(const s_poke_t *self, uint64_t from, uint64_t to, s_out_t *out)
{
    dn_outbox_batch_t batch;
    int rc = s_read(self, from, to, &batch);
    if (rc)
        return rc;
    rc = s_pack_push(self, from, batch.events, batch.n, batch.head, 0, out);
    dn_outbox_batch_free(&batch);
    return rc;
}

static int s_push_rebuilt(const s_poke_t *self, uint64_t from, uint64_t to,
                          const char *site, const uint8_t *extra, size_t extra_len,
                          s_out_t *out)
{
    dn_outbox_batch_t batch;
    uint8_t head[DN_HASH_BYTES];
    int rc = s_read(self, from, to, &batch);
    if (rc)
        return rc;
    rc = s_rebuild(&batch, site, extra, extra_len, head);
    if (rc == 0)
        rc = s_pack_push(self, from, batch.events, batch.n, head, 0, out);
    dn_outbox_batch_free(&batch);
    return rc;
}

/*  DN_MAX_BATCH_EVENTS + 1 events: the agent's first ones, the last of them
    repeated if it has fewer.  dn_wire refuses to pack this, so protobuf-c
    packs it.  */
static int s_too_many(const s_poke_t *self, s_out_t *out)
{
    size_t n = DN_MAX_BATCH_EVENTS + 1;
    ProtobufCBinaryData *events = calloc(n, sizeof *events);
    dn_outbox_batch_t batch;
    uint8_t head[DN_HASH_BYTES];
    int rc;
    if (!events)
        return s_fail(EX_SOFTWARE, "out of memory");
    rc = dn_outbox_read(self->store, 1, n, SIZE_MAX, &batch);
    if (rc || batch.n == 0) {
        free(events);
        if (rc == 0)
            dn_outbox_batch_free(&batch);
        return s_fail(EX_DATAERR, "the agent has no events to send");
    }
    for (size_t i = 0; i < n; i++)
        events[i] = batch.events[i < batch.n ? i : batch.n - 1];
    if (dn_sha256(events[n - 1].data, events[n - 1].len, head))
        rc = s_fail(EX_SOFTWARE, "cannot hash");
    else
        rc = s_pack_push(self, 1, events, n, head, 1, out);
    free(events);
    dn_outbox_batch_free(&batch);
    return rc;
}

/* -- sending --------------------------------------------------------------- */

static void s_print_reply(const uint8_t *data, size_t len)
{
    Dealernet__SyncMessage *msg = NULL;
    char why[DN_WHY_SIZE];
    if (dn_wire_sync_unpack(data, len, &msg, why, sizeof why)) {
        printf("bad-reply: %s\n", why);
        return;
    }
    switch (msg->body_case) {
    case DEALERNET__SYNC_MESSAGE__BODY_WELCOME:
        printf("welcome applied=%llu\n", (unsigned long long)msg->welcome->applied_seq);
        break;
    case DEALERNET__SYNC_MESSAGE__BODY_ACK:
        printf("ack %llu\n", (unsigned long long)msg->ack->acked_through);
        break;
    case DEALERNET__SYNC_MESSAGE__BODY_REFUSED: {
        const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
            &dealernet__refuse_code__descriptor, msg->refused->code);
        const char *name = v ? v->name : "UNKNOWN";
        if (strncmp(name, "REFUSE_", 7) == 0)
            name += 7;
        printf("refused %s expected=%llu: %s\n", name,
               (unsigned long long)msg->refused->expected_seq, msg->refused->text);
        break;
    }
    case DEALERNET__SYNC_MESSAGE__BODY_ENROLLED:
        printf("enrolled %s partner=%s\n", msg->enrolled->site, msg->enrolled->partner);
        break;
    default:
        printf("unexpected-reply\n");
    }
    dn_wire_sync_free(&msg);
}

/*  Connects, sends out, waits for one reply and prints it.  Returns 0 if a
    reply came, EX_TEMPFAIL on timeout, EX_SOFTWARE.  */
static int s_exchange(const s_poke_t *self, const s_out_t *out)
{
    void *ctx = zmq_ctx_new(), *sock = ctx ? zmq_socket(ctx, ZMQ_DEALER) : NULL;
    int zero = 0, one = 1, rc = EX_TEMPFAIL;
    int64_t max = DN_POKE_REPLY_BYTES;
    zmq_pollitem_t item;

    if (!sock ||
        zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, self->server_key, DN_Z85_KEY_LEN) ||
        zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, self->pair.public_z85,
                       DN_Z85_KEY_LEN) ||
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, self->pair.secret_z85,
                       DN_Z85_KEY_LEN) ||
        zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero) ||
        zmq_setsockopt(sock, ZMQ_IMMEDIATE, &one, sizeof one) ||
        zmq_setsockopt(sock, ZMQ_SNDTIMEO, &self->timeout_ms, sizeof self->timeout_ms) ||
        zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &max, sizeof max) ||
        zmq_connect(sock, self->endpoint) != 0) {
        rc = s_fail(EX_SOFTWARE, "cannot connect to %s: %s", self->endpoint,
                    zmq_strerror(zmq_errno()));
        goto done;
    }
    for (int i = 0; i < out->frames; i++) {
        int flags = i + 1 < out->frames ? ZMQ_SNDMORE : 0;
        if (zmq_send(sock, out->frame[i], out->len[i], flags) != (int)out->len[i]) {
            printf("timeout\n"); /* never connected within the timeout */
            goto done;
        }
    }
    item.socket = sock;
    item.fd = 0;
    item.events = ZMQ_POLLIN;
    item.revents = 0;
    if (zmq_poll(&item, 1, self->timeout_ms) > 0) {
        zmq_msg_t frame;
        zmq_msg_init(&frame);
        if (zmq_msg_recv(&frame, sock, ZMQ_DONTWAIT) >= 0) {
            s_print_reply(zmq_msg_data(&frame), zmq_msg_size(&frame));
            rc = 0;
        }
        zmq_msg_close(&frame);
    }
    if (rc == EX_TEMPFAIL)
        printf("timeout\n");
done:
    if (sock)
        zmq_close(sock);
    if (ctx)
        zmq_ctx_term(ctx);
    return rc;
}

/* -- main ------------------------------------------------------------------ */

static int s_open_agent(s_poke_t *self)
{
    char path[4096];
    int err = 0;
    if (!self->fresh_key) {
        snprintf(path, sizeof path, "%s/curve.key", self->agent_dir);
        if (dn_curve_load(path, &self->pair))
            return s_fail(EX_DATAERR, "cannot read %s (is the agent enrolled?)", path);
    }
    snprintf(path, sizeof path, "%s/%s", self->agent_dir, DN_AGENT_KEY_FILE);
    if (!(self->sign_key = dn_key_load(path)))
        return s_fail(EX_DATAERR, "cannot read the site key %s", path);
    if (!(self->store = dn_store_open(self->agent_dir, &err)))
        return s_fail(EX_DATAERR, "cannot open %s/%s: %s", self->agent_dir,
                      DN_AGENT_DB_FILE, dn_strerror(err));
    snprintf(self->site, sizeof self->site, "%s", dn_store_info(self->store)->site);
    return 0;
}

static int s_build(s_poke_t *self, const char *mode, int argc, char **argv, s_out_t *out)
{
    static const uint8_t garbage[] = "\xff\xff\xff\xff\x0f not a SyncMessage at all";
    /* field 99, varint 1: a field no version of dealernet.proto knows */
    static const uint8_t unknown_field[] = {0x98, 0x06, 0x01};
    uint64_t from = 0, to = 0;
    dn_outbox_position_t pos;
    int rc;

    if (strcmp(mode, "hello") == 0 && argc == 0)
        return s_hello(self, out);
    if (strcmp(mode, "two-frames") == 0 && argc == 0) {
        if ((rc = s_hello(self, out)) != 0)
            return rc;
        out->frame[1] = malloc(out->len[0]);
        if (!out->frame[1])
            return s_fail(EX_SOFTWARE, "out of memory");
        memcpy(out->frame[1], out->frame[0], out->len[0]);
        out->len[1] = out->len[0];
        out->frames = 2;
        return 0;
    }
    if (strcmp(mode, "garbage") == 0 && argc == 0) {
        out->len[0] = sizeof garbage - 1;
        out->frame[0] = malloc(out->len[0]);
        if (!out->frame[0])
            return s_fail(EX_SOFTWARE, "out of memory");
        memcpy(out->frame[0], garbage, out->len[0]);
        out->frames = 1;
        return 0;
    }
    if (strcmp(mode, "oversize") == 0 && argc <= 1) {
        char *end = NULL;
        out->len[0] = DN_MAX_SYNC_MSG_BYTES + 1;
        if (argc == 1) {
            out->len[0] = strtoul(argv[0], &end, 10);
            if (*end || out->len[0] < 1 || out->len[0] > 64 * 1024 * 1024)
                return s_fail(EX_USAGE, "oversize needs a size from 1 to 64 MiB");
        }
        out->frame[0] = calloc(1, out->len[0]);
        if (!out->frame[0])
            return s_fail(EX_SOFTWARE, "out of memory");
        out->frames = 1;
        return 0;
    }
    if (strcmp(mode, "push-range") == 0 && argc == 2) {
        if ((rc = s_need_agent(self, mode)) != 0)
            return rc;
        if (s_parse_seq(argv[0], &from) || s_parse_seq(argv[1], &to))
            return s_fail(EX_USAGE, "push-range needs FROM and TO seqs");
        return s_push_range(self, from, to, out);
    }
    if ((strcmp(mode, "push-as-site") == 0 && (argc == 1 || argc == 3)) ||
        (strcmp(mode, "unknown-field") == 0 && (argc == 0 || argc == 2))) {
        int as_site = mode[0] == 'p';
        int first = as_site ? 1 : 0;
        if ((rc = s_need_agent(self, mode)) != 0)
            return rc;
        if (as_site && !dn_valid_code(argv[0]))
            return s_fail(EX_USAGE, "'%s' is not a site code", argv[0]);
        if (dn_outbox_position(self->store, &pos))
            return s_fail(EX_DATAERR, "cannot read the agent's position");
        from = as_site ? 1 : pos.acked_seq + 1;
        to = pos.head_seq;
        if (argc > first &&
            (s_parse_seq(argv[first], &from) || s_parse_seq(argv[first + 1], &to)))
            return s_fail(EX_USAGE, "%s needs FROM and TO seqs", mode);
        if (as_site)
            return s_push_rebuilt(self, from, to, argv[0], NULL, 0, out);
        return s_push_rebuilt(self, from, to, NULL, unknown_field, sizeof unknown_field,
                              out);
    }
    if (strcmp(mode, "too-many-events") == 0 && argc == 0) {
        if ((rc = s_need_agent(self, mode)) != 0)
            return rc;
        return s_too_many(self, out);
    }
    s_usage(stderr);
    return EX_USAGE;
}

int main(int argc, char **argv)
{
    static const struct option longs[] = {{"server", required_argument, NULL, 's'},
                                          {"server-key", required_argument, NULL, 'k'},
                                          {"agent", required_argument, NULL, 'a'},
                                          {"fresh-key", no_argument, NULL, 'f'},
                                          {"timeout", required_argument, NULL, 't'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    s_poke_t self;
    s_out_t out;
    const char *mode;
    int c, rc;

    memset(&self, 0, sizeof self);
    memset(&out, 0, sizeof out);
    self.timeout_ms = DN_POKE_DEFAULT_TIMEOUT_MS;
    dn_log_init("dn_poke", DN_LOG_WARN, 0);
    while ((c = getopt_long(argc, argv, "+h", longs, NULL)) != -1) {
        switch (c) {
        case 's':
            self.endpoint = optarg;
            break;
        case 'k':
            self.server_key = optarg;
            break;
        case 'a':
            self.agent_dir = optarg;
            break;
        case 'f':
            self.fresh_key = 1;
            break;
        case 't':
            self.timeout_ms = atoi(optarg);
            break;
        case 'h':
            s_usage(stdout);
            return 0;
        default:
            s_usage(stderr);
            return EX_USAGE;
        }
    }
    if (!self.endpoint || !self.server_key || !dn_curve_valid_z85(self.server_key) ||
        (!self.agent_dir && !self.fresh_key) || self.timeout_ms < 1 || optind >= argc) {
        s_usage(stderr);
        return EX_USAGE;
    }
    mode = argv[optind];
    if (self.fresh_key && dn_curve_generate(&self.pair))
        return s_fail(EX_SOFTWARE, "cannot generate a CURVE key pair");
    rc = self.agent_dir ? s_open_agent(&self) : 0;
    if (rc == 0)
        rc = s_build(&self, mode, argc - optind - 1, argv + optind + 1, &out);
    if (rc == 0) {
        rc = s_exchange(&self, &out);
        if (rc == EX_TEMPFAIL && strcmp(mode, "oversize") == 0)
            rc = 0; /* libzmq dropped the connection: what the test expects */
    }
    free(out.frame[0]);
    free(out.frame[1]);
    dn_key_destroy(&self.sign_key);
    dn_store_destroy(&self.store);
    memset(&self.pair, 0, sizeof self.pair);
    return rc;
}
