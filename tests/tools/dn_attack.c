/*  dn_attack -- attacks on a running dealernet server, for the security
    suite tests/cli/security_suite.sh.

    Each attack makes many attempts, in this one process over long-lived
    CurveZMQ connections, and measures for each one whether the server
    accepted it: by its reply (a Welcome, an Ack or an Enrolled where a
    refusal is due), by the handshake (libzmq's socket monitor reports a
    CURVE handshake that succeeded where ZAP should have refused it), and by
    central.db (the number of rows of every table, the enrolled sites, the
    used tokens and the sum of the sites' applied seqs, read before and
    after every attempt).  It prints one line

        security: ATTACK: attempts N, accepted A

    and exits 1 if A > 0 or N == 0.  An attack that ends with a control --
    the untouched message, which the server must accept -- also exits 1 if
    the control is not accepted: refusals for the wrong reason prove
    nothing.

    The events come from real agents' folders (--agent, --other): their
    CURVE keys, Ed25519 site keys and agent.db, as dn_poke takes them.
    Everything is packed with protobuf-c directly: the point is bytes that
    dn_wire would refuse to make.

    Exit: 0 all refused (and the control accepted), 1 something accepted,
    no attempt made or the control refused, 64 usage, 65 the agents' data
    cannot make the messages, 70 anything else.
*/
#include "dn_crypto.h"
#include "dn_curve.h"
#include "dn_error.h"
#include "dn_id.h"
#include "dn_log.h"
#include "dn_outbox.h"
#include "dn_protocol.h"
#include "dn_registry.h"
#include "dn_server.h"
#include "dn_session.h"
#include "dn_store.h"
#include "dn_time.h"
#include "dn_valid.h"
#include "dn_wire.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#define EX_USAGE    64
#define EX_DATAERR  65
#define EX_SOFTWARE 70

#define DN_ATTACK_TIMEOUT_MS  5000 /* a reply the server owes */
#define DN_ATTACK_REPLY_BYTES (64 * 1024)
#define DN_ATTACK_ROWS_SIZE   2048
#define DN_ATTACK_MAX_PROBES  64
#define DN_ATTACK_MAX_RANGE   16 /* replays: every range of the first 16 seqs */

/*  A site whose folder we hold: an agent's keys and events.  */
typedef struct {
    dn_curve_pair_t pair;
    dn_key_t *sign;
    dn_store_t *store;
    char code[DN_MAX_CODE_LEN + 1];
} s_site_t;

/*  What came back for one message.  */
typedef struct {
    int kind; /* 0 nothing, 'W' welcome, 'A' ack, 'R' refused, 'E' enrolled, 'B' bad */
    int code; /* the refusal code */
    uint64_t seq; /* applied (welcome) or acked through (ack) */
    char text[DN_WHY_SIZE];
} s_reply_t;

/*  A batch to send: events (borrowed or owned by an s_events_t), range,
    head, signature.  */
typedef struct {
    uint64_t first_seq;
    int has_first_seq;
    ProtobufCBinaryData *events;
    size_t n;
    uint8_t head[DN_HASH_BYTES];
    size_t head_len;
    uint8_t sig[DN_SIG_BYTES];
    size_t sig_len;
    int has_sig;
} s_batch_t;

/*  A socket watched by libzmq's monitor, for handshake verdicts.  */
typedef struct {
    void *sock, *mon;
    int lane;        /* what the caller uses it for */
    int connecting;  /* a TCP connection whose handshake has not ended */
    int connects;    /* TCP connections made */
    int succeeded;   /* handshakes that succeeded */
    int refused;     /* handshakes that ended without succeeding */
    int auth_400;    /* ... of which ZAP refused with 400 */
    int replies;     /* messages received */
    int retried;     /* TCP connections refused (nobody listening yet) */
    s_reply_t reply; /* the last one (sync lanes) */
} s_probe_t;

typedef struct {
    const char *sync_ep, *admin_ep, *server_key, *db_path, *log_path;
    const char *agent_dir, *other_dir, *hq_key_path, *token, *site_code, *addrs;
    int timeout_ms;
    void *ctx;
    sqlite3 *db;
    sqlite3_stmt *rows;
    s_site_t a, b;
    long attempts, accepted, limited; /* of the attack being counted */
    long total_accepted;              /* over every line printed */
    int reported, none_attempted;
    int monitors;
    int control_failed;
} s_attack_t;

static int s_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int s_fail(int code, const char *fmt, ...)
{
    va_list args;
    fputs("dn_attack: ", stderr);
    va_start(args, fmt);
    vfprintf(stderr, fmt, args);
    va_end(args);
    fputc('\n', stderr);
    return code;
}

static int64_t s_now(void)
{
    return dn_time_now_ms();
}

/* -- central.db ------------------------------------------------------------ */

/*  Prepares into *stmt one statement of central.db: head, then each once
    for every row of list (two text columns, given to each's two %s).  what
    names it in a failure.  */
static int s_prepare_over(s_attack_t *self, const char *head, const char *list,
                          const char *each, const char *what, sqlite3_stmt **stmt)
{
    sqlite3_stmt *rows;
    char *sql = NULL;
    size_t size = 0;
    FILE *out;
    int rc;

    if (!(out = open_memstream(&sql, &size)))
        return s_fail(EX_SOFTWARE, "out of memory");
    fputs(head, out);
    if (sqlite3_prepare_v2(self->db, list, -1, &rows, NULL) != SQLITE_OK) {
        fclose(out);
        free(sql);
        return s_fail(EX_DATAERR, "cannot list %s of %s", what, self->db_path);
    }
    while (sqlite3_step(rows) == SQLITE_ROW)
        fprintf(out, each, (const char *)sqlite3_column_text(rows, 0),
                (const char *)sqlite3_column_text(rows, 1));
    sqlite3_finalize(rows);
    fclose(out);
    rc = sqlite3_prepare_v2(self->db, sql, -1, stmt, NULL);
    free(sql);
    if (rc != SQLITE_OK)
        return s_fail(EX_DATAERR, "cannot prepare the count of %s: %s", what,
                      sqlite3_errmsg(self->db));
    return 0;
}

/*  Prepares one statement that reads the row count of every table and the
    identity and progress columns that a refused attempt must not move.  */
static int s_rows_open(s_attack_t *self)
{
    if (sqlite3_open_v2(self->db_path, &self->db, SQLITE_OPEN_READONLY, NULL) !=
        SQLITE_OK)
        return s_fail(EX_DATAERR, "cannot open %s", self->db_path);
    sqlite3_busy_timeout(self->db, 5000);
    return s_prepare_over(
        self,
        "SELECT 'enrolled=' || (SELECT count(*) FROM sites WHERE enrolled_ms IS NOT NULL)"
        " || ' revoked=' || (SELECT count(*) FROM sites WHERE revoked_ms IS NOT NULL)"
        " || ' tokens_used=' || (SELECT count(*) FROM tokens WHERE used_ms IS NOT NULL)"
        " || ' applied=' || (SELECT group_concat(code || ':' || applied_seq || ':' ||"
        " hex(head_hash), ',') FROM (SELECT * FROM sites ORDER BY id))",
        "SELECT name, name FROM sqlite_master WHERE type = 'table' AND "
        "name NOT LIKE 'sqlite_%' ORDER BY name",
        " || ' %s=' || (SELECT count(*) FROM \"%s\")", "the tables", &self->rows);
}

/*  Copies the row counts now into out.  */
static void s_rows(s_attack_t *self, char out[DN_ATTACK_ROWS_SIZE])
{
    out[0] = '\0';
    if (sqlite3_step(self->rows) == SQLITE_ROW)
        snprintf(out, DN_ATTACK_ROWS_SIZE, "%s", sqlite3_column_text(self->rows, 0));
    else
        snprintf(out, DN_ATTACK_ROWS_SIZE, "unreadable: %s", sqlite3_errmsg(self->db));
    sqlite3_reset(self->rows);
}

/*  1 if the rows moved since before (and before is brought up to date).  */
static int s_rows_moved(s_attack_t *self, char before[DN_ATTACK_ROWS_SIZE])
{
    char now[DN_ATTACK_ROWS_SIZE];
    s_rows(self, now);
    if (strcmp(now, before) == 0)
        return 0;
    fprintf(stderr, "dn_attack: central.db changed:\n  before %s\n  after  %s\n", before,
            now);
    memcpy(before, now, DN_ATTACK_ROWS_SIZE);
    return 1;
}

/* -- messages --------------------------------------------------------------- */

static void s_parse_reply(const uint8_t *data, size_t len, s_reply_t *reply)
{
    Dealernet__SyncMessage *msg = NULL;
    char why[DN_WHY_SIZE];
    memset(reply, 0, sizeof *reply);
    if (dn_wire_sync_unpack(data, len, &msg, why, sizeof why)) {
        reply->kind = 'B';
        snprintf(reply->text, sizeof reply->text, "%s", why);
        return;
    }
    switch (msg->body_case) {
    case DEALERNET__SYNC_MESSAGE__BODY_WELCOME:
        reply->kind = 'W';
        reply->seq = msg->welcome->applied_seq;
        break;
    case DEALERNET__SYNC_MESSAGE__BODY_ACK:
        reply->kind = 'A';
        reply->seq = msg->ack->acked_through;
        break;
    case DEALERNET__SYNC_MESSAGE__BODY_REFUSED:
        reply->kind = 'R';
        reply->code = msg->refused->code;
        reply->seq = msg->refused->expected_seq;
        snprintf(reply->text, sizeof reply->text, "%s", msg->refused->text);
        break;
    case DEALERNET__SYNC_MESSAGE__BODY_ENROLLED:
        reply->kind = 'E';
        break;
    default:
        reply->kind = 'B';
    }
    dn_wire_sync_free(&msg);
}

static const char *s_code_name(int code)
{
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value(&dealernet__refuse_code__descriptor, code);
    return v ? v->name : "UNKNOWN";
}

/*  Packs msg with protobuf-c (no checks).  Caller frees *buf.  */
static int s_pack(const Dealernet__SyncMessage *msg, uint8_t **buf, size_t *len)
{
    *len = dealernet__sync_message__get_packed_size(msg);
    *buf = malloc(*len ? *len : 1);
    if (!*buf)
        return s_fail(EX_SOFTWARE, "out of memory");
    dealernet__sync_message__pack(msg, *buf);
    return 0;
}

static int s_pack_batch(const s_batch_t *b, uint8_t **buf, size_t *len)
{
    Dealernet__SyncMessage msg = DEALERNET__SYNC_MESSAGE__INIT;
    Dealernet__PushBatch push = DEALERNET__PUSH_BATCH__INIT;
    push.has_first_seq = b->has_first_seq;
    push.first_seq = b->first_seq;
    push.n_events = b->n;
    push.events = b->events;
    push.has_chain_head = 1;
    push.chain_head.data = (uint8_t *)b->head;
    push.chain_head.len = b->head_len;
    push.has_signature = b->has_sig;
    push.signature.data = (uint8_t *)b->sig;
    push.signature.len = b->sig_len;
    msg.body_case = DEALERNET__SYNC_MESSAGE__BODY_PUSH;
    msg.push = &push;
    return s_pack(&msg, buf, len);
}

static int s_pack_hello(uint64_t head_seq, uint8_t **buf, size_t *len)
{
    Dealernet__SyncMessage msg = DEALERNET__SYNC_MESSAGE__INIT;
    Dealernet__Hello hello = DEALERNET__HELLO__INIT;
    hello.has_protocol = 1;
    hello.protocol = DN_PROTOCOL_VERSION;
    hello.agent_version = "dn_attack";
    hello.has_pending = 1;
    hello.pending = 0;
    hello.has_clock_ms = 1;
    hello.clock_ms = s_now();
    hello.has_head_seq = 1;
    hello.head_seq = head_seq;
    msg.body_case = DEALERNET__SYNC_MESSAGE__BODY_HELLO;
    msg.hello = &hello;
    return s_pack(&msg, buf, len);
}

static int s_pack_enroll(const char *token, const char *site, uint8_t **buf, size_t *len)
{
    Dealernet__SyncMessage msg = DEALERNET__SYNC_MESSAGE__INIT;
    Dealernet__EnrollRequest enroll = DEALERNET__ENROLL_REQUEST__INIT;
    uint8_t sign_key[DN_PUBKEY_BYTES];
    memset(sign_key, 0x5a, sizeof sign_key);
    enroll.token = (char *)token;
    enroll.site = (char *)site;
    enroll.has_sign_key = 1;
    enroll.sign_key.data = sign_key;
    enroll.sign_key.len = sizeof sign_key;
    enroll.agent_version = "dn_attack";
    msg.body_case = DEALERNET__SYNC_MESSAGE__BODY_ENROLL;
    msg.enroll = &enroll;
    return s_pack(&msg, buf, len);
}

/*  Signs b the way an agent of `site` does, with key.  */
static int s_sign(s_batch_t *b, const char *site, const dn_key_t *key)
{
    uint8_t signed_bytes[DN_BATCH_SIGNED_MAX];
    size_t n = dn_wire_batch_signed(site, b->first_seq + b->n - 1, b->head, signed_bytes);
    b->sig_len = DN_SIG_BYTES;
    b->has_sig = 1;
    return dn_key_sign(key, signed_bytes, n, b->sig) ? s_fail(EX_SOFTWARE, "cannot sign")
                                                     : 0;
}

/* -- sites ------------------------------------------------------------------ */

static int s_site_open(s_site_t *site, const char *dir)
{
    char path[4096];
    int err = 0;
    snprintf(path, sizeof path, "%s/curve.key", dir);
    if (dn_curve_load(path, &site->pair))
        return s_fail(EX_DATAERR, "cannot read %s (is the agent enrolled?)", path);
    snprintf(path, sizeof path, "%s/%s", dir, DN_AGENT_KEY_FILE);
    if (!(site->sign = dn_key_load(path)))
        return s_fail(EX_DATAERR, "cannot read the site key %s", path);
    if (!(site->store = dn_store_open(dir, &err)))
        return s_fail(EX_DATAERR, "cannot open %s/%s: %s", dir, DN_AGENT_DB_FILE,
                      dn_strerror(err));
    snprintf(site->code, sizeof site->code, "%s", dn_store_info(site->store)->site);
    return 0;
}

static void s_site_close(s_site_t *site)
{
    dn_key_destroy(&site->sign);
    dn_store_destroy(&site->store);
    memset(&site->pair, 0, sizeof site->pair);
}

/*  Reads a site's events from..to as stored into ev (caller frees with
    dn_outbox_batch_free) and fills b with them, signed by the site.  */
static int s_read(s_site_t *site, uint64_t from, uint64_t to, dn_outbox_batch_t *ev,
                  s_batch_t *b)
{
    memset(b, 0, sizeof *b);
    if (to < from ||
        dn_outbox_read(site->store, from, (size_t)(to - from + 1), SIZE_MAX, ev))
        return s_fail(EX_DATAERR, "cannot read events %llu..%llu of %s",
                      (unsigned long long)from, (unsigned long long)to, site->code);
    if (ev->n != to - from + 1) {
        dn_outbox_batch_free(ev);
        return s_fail(EX_DATAERR, "%s has no events %llu..%llu", site->code,
                      (unsigned long long)from, (unsigned long long)to);
    }
    b->first_seq = from;
    b->has_first_seq = 1;
    b->events = ev->events;
    b->n = ev->n;
    memcpy(b->head, ev->head, DN_HASH_BYTES);
    b->head_len = DN_HASH_BYTES;
    return s_sign(b, site->code, site->sign);
}

/*  Rewrites the events of ev in place: each is decoded, given `site` (if
    not NULL) and seq first_seq + i, the first is chained to prev (if not
    NULL) and the one at index `change` (if >= 0) gets recorded_at_ms + 1;
    each next one is chained to the one before.  Sets b's range and head
    (b is then unsigned).  */
static int s_rebuild(dn_outbox_batch_t *ev, const char *site, uint64_t first_seq,
                     const uint8_t *prev, long change, s_batch_t *b)
{
    uint8_t hash[DN_HASH_BYTES];
    for (size_t i = 0; i < ev->n; i++) {
        Dealernet__Event *e = NULL;
        char why[DN_WHY_SIZE];
        uint8_t *buf = NULL;
        size_t len = 0;
        int rc;
        if (dn_wire_event_unpack(ev->events[i].data, ev->events[i].len, &e, why,
                                 sizeof why))
            return s_fail(EX_DATAERR, "stored event does not decode: %s", why);
        char *own_site = e->site;
        if (site)
            e->site = (char *)site;
        e->seq = first_seq + i;
        if (i > 0 || prev)
            memcpy(e->prev_hash.data, i > 0 ? hash : prev, DN_HASH_BYTES);
        if ((long)i == change)
            e->recorded_at_ms += 1;
        rc = dn_wire_event_pack(e, &buf, &len, why, sizeof why);
        e->site = own_site;
        dn_wire_event_free(&e);
        if (rc)
            return s_fail(EX_DATAERR, "cannot repack an event: %s", why);
        free(ev->events[i].data);
        ev->events[i].data = buf;
        ev->events[i].len = len;
        if (dn_sha256(buf, len, hash))
            return s_fail(EX_SOFTWARE, "cannot hash");
    }
    memset(b, 0, sizeof *b);
    b->first_seq = first_seq;
    b->has_first_seq = 1;
    b->events = ev->events;
    b->n = ev->n;
    memcpy(b->head, hash, DN_HASH_BYTES);
    b->head_len = DN_HASH_BYTES;
    return 0;
}

/* -- connections ------------------------------------------------------------ */

/*  A DEALER (or another type) to endpoint: CURVE with pair unless pair is
    NULL (then the NULL mechanism, or PLAIN if plain), to server_key.  With
    mon_ep, a monitor is started at mon_ep and *mon connected to it before
    the socket connects, so that no event is missed.  */
static void *s_socket_mon(s_attack_t *self, int type, const dn_curve_pair_t *pair,
                          const char *server_key, int plain, const char *endpoint,
                          const char *mon_ep, void **mon)
{
    void *sock = zmq_socket(self->ctx, type);
    int zero = 0, ivl = 10;
    int64_t max = DN_ATTACK_REPLY_BYTES;
    if (!sock)
        return NULL;
    zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &max, sizeof max);
    zmq_setsockopt(sock, ZMQ_RECONNECT_IVL, &ivl, sizeof ivl);
    if (pair) {
        if (zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, server_key, DN_Z85_KEY_LEN) ||
            zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, pair->public_z85, DN_Z85_KEY_LEN) ||
            zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, pair->secret_z85, DN_Z85_KEY_LEN)) {
            zmq_close(sock);
            return NULL;
        }
    } else if (plain) {
        zmq_setsockopt(sock, ZMQ_PLAIN_USERNAME, "admin", 5);
        zmq_setsockopt(sock, ZMQ_PLAIN_PASSWORD, "admin", 5);
    }
    if ((mon_ep &&
         (zmq_socket_monitor(sock, mon_ep, ZMQ_EVENT_ALL) != 0 ||
          !(*mon = zmq_socket(self->ctx, ZMQ_PAIR)) || zmq_connect(*mon, mon_ep) != 0)) ||
        zmq_connect(sock, endpoint) != 0) {
        if (mon && *mon) {
            zmq_close(*mon);
            *mon = NULL;
        }
        zmq_close(sock);
        return NULL;
    }
    return sock;
}

static void *s_socket(s_attack_t *self, int type, const dn_curve_pair_t *pair,
                      const char *server_key, int plain, const char *endpoint)
{
    return s_socket_mon(self, type, pair, server_key, plain, endpoint, NULL, NULL);
}

/*  Sends one frame on a connected DEALER and waits for one reply.  */
static void s_exchange(s_attack_t *self, void *sock, const uint8_t *buf, size_t len,
                       s_reply_t *reply)
{
    zmq_pollitem_t item = {sock, 0, ZMQ_POLLIN, 0};
    memset(reply, 0, sizeof *reply);
    if (zmq_send(sock, buf, len, 0) != (int)len)
        return;
    if (zmq_poll(&item, 1, self->timeout_ms) > 0) {
        zmq_msg_t frame;
        zmq_msg_init(&frame);
        if (zmq_msg_recv(&frame, sock, ZMQ_DONTWAIT) >= 0)
            s_parse_reply(zmq_msg_data(&frame), zmq_msg_size(&frame), reply);
        zmq_msg_close(&frame);
    }
}

/*  One attempt on a sync connection: sends buf, reads the reply and the
    rows.  The attempt is accepted if the reply is one of `accepting` (a
    string of reply kinds, e.g. "WAE"), or if the rows moved.  Returns the
    reply kind.  */
static int s_try(s_attack_t *self, void *sock, const uint8_t *buf, size_t len,
                 const char *accepting, char rows[DN_ATTACK_ROWS_SIZE], s_reply_t *reply)
{
    s_reply_t scratch;
    if (!reply)
        reply = &scratch;
    s_exchange(self, sock, buf, len, reply);
    self->attempts++;
    int took = reply->kind && strchr(accepting, reply->kind) != NULL;
    if (s_rows_moved(self, rows) || took) {
        self->accepted++;
        fprintf(stderr, "dn_attack: accepted: reply '%c' %s %s\n",
                reply->kind ? reply->kind : '-',
                reply->kind == 'R' ? s_code_name(reply->code) : "", reply->text);
    }
    if (reply->kind == 0)
        fprintf(stderr, "dn_attack: no reply within %d ms\n", self->timeout_ms);
    return reply->kind;
}

static int s_try_batch(s_attack_t *self, void *sock, const s_batch_t *b,
                       const char *accepting, char rows[DN_ATTACK_ROWS_SIZE],
                       s_reply_t *reply)
{
    uint8_t *buf;
    size_t len;
    if (s_pack_batch(b, &buf, &len))
        return -1;
    int kind = s_try(self, sock, buf, len, accepting, rows, reply);
    free(buf);
    return kind;
}

/*  A Hello on a new connection of site: its Welcome's applied seq.  */
static int s_applied(s_attack_t *self, void *sock, uint64_t *applied)
{
    uint8_t *buf;
    size_t len;
    s_reply_t reply;
    if (s_pack_hello(0, &buf, &len))
        return EX_SOFTWARE;
    s_exchange(self, sock, buf, len, &reply);
    free(buf);
    if (reply.kind != 'W')
        return s_fail(EX_SOFTWARE, "no welcome for a hello (reply '%c' %s)",
                      reply.kind ? reply.kind : '-', reply.text);
    *applied = reply.seq;
    return 0;
}

/* -- handshake probes ------------------------------------------------------- */

/*  Opens a probe: a socket with a monitor.  */
static int s_probe_open(s_attack_t *self, s_probe_t *p, int type,
                        const dn_curve_pair_t *pair, const char *server_key, int plain,
                        const char *endpoint, int lane)
{
    char mon_ep[64];
    memset(p, 0, sizeof *p);
    p->lane = lane;
    snprintf(mon_ep, sizeof mon_ep, "inproc://dn-attack-monitor-%d", self->monitors++);
    p->sock =
        s_socket_mon(self, type, pair, server_key, plain, endpoint, mon_ep, &p->mon);
    if (!p->sock)
        return s_fail(EX_SOFTWARE, "cannot connect to %s: %s", endpoint,
                      zmq_strerror(zmq_errno()));
    return 0;
}

static void s_probe_close(s_probe_t *p)
{
    if (p->sock) {
        zmq_socket_monitor(p->sock, NULL, 0);
        zmq_close(p->sock);
    }
    if (p->mon)
        zmq_close(p->mon);
    memset(p, 0, sizeof *p);
}

/*  Reads what is waiting on a probe's monitor and socket.  */
static void s_probe_read(s_probe_t *p)
{
    for (;;) {
        zmq_msg_t ev, addr;
        uint16_t event;
        uint32_t value;
        zmq_msg_init(&ev);
        if (zmq_msg_recv(&ev, p->mon, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&ev);
            break;
        }
        zmq_msg_init(&addr);
        zmq_msg_recv(&addr, p->mon, 0);
        zmq_msg_close(&addr);
        if (zmq_msg_size(&ev) < 6) {
            zmq_msg_close(&ev);
            continue;
        }
        memcpy(&event, zmq_msg_data(&ev), 2);
        memcpy(&value, (uint8_t *)zmq_msg_data(&ev) + 2, 4);
        zmq_msg_close(&ev);
        switch (event) {
        case ZMQ_EVENT_CONNECT_RETRIED:
            p->retried++;
            break;
        case ZMQ_EVENT_CONNECTED:
            p->connects++;
            p->connecting = 1;
            break;
        case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
            p->succeeded++;
            p->connecting = 0;
            break;
        case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
            p->auth_400 += value == 400;
            /* fall through */
        case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
        case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
        case ZMQ_EVENT_DISCONNECTED:
            if (p->connecting)
                p->refused++;
            p->connecting = 0;
            break;
        default:
            break;
        }
    }
    for (;;) {
        zmq_msg_t frame;
        int more = 0;
        size_t more_size = sizeof more;
        zmq_msg_init(&frame);
        if (zmq_msg_recv(&frame, p->sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&frame);
            break;
        }
        zmq_getsockopt(p->sock, ZMQ_RCVMORE, &more, &more_size);
        if (!more) { /* the body: a REQ's reply or a DEALER's one frame */
            p->replies++;
            s_parse_reply(zmq_msg_data(&frame), zmq_msg_size(&frame), &p->reply);
        }
        zmq_msg_close(&frame);
    }
}

/*  Waits until done(p) holds for every probe or deadline_ms passes.  */
static void s_probe_wait(s_probe_t *probes, int n, int64_t deadline_ms,
                         int (*done)(const s_probe_t *))
{
    for (;;) {
        zmq_pollitem_t items[2 * DN_ATTACK_MAX_PROBES];
        int all = 1;
        for (int i = 0; i < n; i++) {
            s_probe_read(&probes[i]);
            all = all && done(&probes[i]);
        }
        int64_t left = deadline_ms - s_now();
        if (all || left <= 0)
            return;
        for (int i = 0; i < n; i++) {
            items[2 * i] = (zmq_pollitem_t){probes[i].mon, 0, ZMQ_POLLIN, 0};
            items[2 * i + 1] = (zmq_pollitem_t){probes[i].sock, 0, ZMQ_POLLIN, 0};
        }
        zmq_poll(items, 2 * n, left < 50 ? left : 50);
    }
}

static int s_done_handshake(const s_probe_t *p)
{
    return p->succeeded > 0 || p->refused > 0;
}

/*  Tallies probes whose handshakes must all have been refused: an attempt
    per probe whose handshake ended, accepted if one succeeded or anything
    came back.  */
static void s_probe_tally(s_attack_t *self, s_probe_t *probes, int n)
{
    for (int i = 0; i < n; i++) {
        self->attempts += probes[i].refused + probes[i].succeeded > 0;
        self->accepted += probes[i].succeeded + probes[i].replies > 0;
        if (probes[i].succeeded || probes[i].replies)
            fprintf(stderr, "dn_attack: a handshake succeeded (%d) or got replies (%d)\n",
                    probes[i].succeeded, probes[i].replies);
    }
}

/*  Opens n probes of one kind, queues msg (if any) on each, waits for
    every handshake's verdict, tallies them.  */
static int s_handshakes(s_attack_t *self, int n, int type, const dn_curve_pair_t *pair,
                        const char *server_key, int plain, const char *endpoint,
                        const uint8_t *msg, size_t msg_len, int want_400)
{
    s_probe_t probes[DN_ATTACK_MAX_PROBES];
    dn_curve_pair_t fresh;
    int rc = 0;
    if (n > DN_ATTACK_MAX_PROBES)
        n = DN_ATTACK_MAX_PROBES;
    for (int i = 0; i < n && rc == 0; i++) {
        if (type == -1) /* a REQ with a new, unknown key per probe */
            rc = dn_curve_generate(&fresh) ? EX_SOFTWARE : 0;
        if (rc == 0)
            rc = s_probe_open(self, &probes[i], type == -1 ? ZMQ_REQ : type,
                              type == -1 ? &fresh : pair, server_key, plain, endpoint, 0);
        if (rc)
            n = i;
        else if (msg)
            zmq_send(probes[i].sock, msg, msg_len, ZMQ_DONTWAIT);
    }
    s_probe_wait(probes, n, s_now() + self->timeout_ms, s_done_handshake);
    /* a refused handshake is final; a little longer for a reply that should
       never come */
    s_probe_wait(probes, n, s_now() + 100, s_done_handshake);
    for (int i = 0; i < n; i++)
        s_probe_read(&probes[i]);
    s_probe_tally(self, probes, n);
    for (int i = 0; i < n; i++) {
        if (want_400 && probes[i].refused && probes[i].auth_400 == 0) {
            fprintf(stderr, "dn_attack: a handshake ended without ZAP's 400\n");
            self->control_failed = 1;
        }
        if (!s_done_handshake(&probes[i]))
            fprintf(stderr, "dn_attack: no handshake verdict within %d ms\n",
                    self->timeout_ms);
        s_probe_close(&probes[i]);
    }
    return rc;
}

/*  An admin request (site.list) packed, for queuing on admin probes.  */
static int s_admin_request(uint8_t **buf, size_t *len)
{
    Dealernet__AdminRequest req = DEALERNET__ADMIN_REQUEST__INIT;
    char why[DN_WHY_SIZE];
    req.has_protocol = 1;
    req.protocol = DN_PROTOCOL_VERSION;
    req.command = "site.list";
    if (dn_wire_admin_request_pack(&req, buf, len, why, sizeof why))
        return s_fail(EX_SOFTWARE, "cannot pack an admin request: %s", why);
    return 0;
}

/* -- the attacks -------------------------------------------------------------- */

static int s_need(const s_attack_t *self, const char *what, const void *have)
{
    if (!have)
        return s_fail(EX_USAGE, "this attack needs %s", what);
    (void)self;
    return 0;
}

/*  1. Keys that were never enrolled: on the admin socket ZAP refuses the
    handshake (400); on the sync socket ZAP lets an unknown key in only to
    enroll, so its Hello and its (validly signed) push are refused.  */
static int s_unknown_key(s_attack_t *self, int n)
{
    char rows[DN_ATTACK_ROWS_SIZE];
    uint8_t *req = NULL, *hello = NULL;
    size_t req_len, hello_len;
    dn_outbox_batch_t ev;
    s_batch_t b;
    int rc;

    if ((rc = s_need(self, "--agent", self->a.store)) ||
        (rc = s_admin_request(&req, &req_len)))
        return rc;
    s_rows(self, rows);
    rc = s_handshakes(self, n, -1, NULL, self->server_key, 0, self->admin_ep, req,
                      req_len, 1);
    free(req);
    if (rc || (rc = s_pack_hello(0, &hello, &hello_len)) ||
        (rc = s_read(&self->a, 1, 1, &ev, &b)))
        goto done;
    for (int i = 0; i < n; i++) {
        dn_curve_pair_t fresh;
        s_reply_t reply;
        void *sock;
        if (dn_curve_generate(&fresh) ||
            !(sock = s_socket(self, ZMQ_DEALER, &fresh, self->server_key, 0,
                              self->sync_ep))) {
            rc = s_fail(EX_SOFTWARE, "cannot connect");
            break;
        }
        s_try(self, sock, hello, hello_len, "WAE", rows, &reply);
        if (reply.kind != 'R' ||
            reply.code != DEALERNET__REFUSE_CODE__REFUSE_NOT_ENROLLED)
            self->control_failed = 1;
        s_try_batch(self, sock, &b, "WAE", rows, &reply);
        if (reply.kind != 'R' ||
            reply.code != DEALERNET__REFUSE_CODE__REFUSE_NOT_ENROLLED)
            self->control_failed = 1;
        zmq_close(sock);
    }
    dn_outbox_batch_free(&ev);
done:
    free(hello);
    return rc;
}

/*  2. A revoked site's own key: Hello, push, enroll on the sync socket and a
    handshake on the admin socket, n times each.  */
static int s_revoked(s_attack_t *self, int n)
{
    char rows[DN_ATTACK_ROWS_SIZE], token[DN_TOKEN_TEXT_LEN + 1];
    uint8_t *hello = NULL, *enroll = NULL, *req = NULL;
    size_t hello_len, enroll_len, req_len;
    dn_outbox_batch_t ev;
    dn_outbox_position_t pos;
    s_batch_t b;
    void *sock = NULL;
    int rc;

    if ((rc = s_need(self, "--agent (the revoked site)", self->a.store)))
        return rc;
    if (dn_outbox_position(self->a.store, &pos) || pos.head_seq == 0)
        return s_fail(EX_DATAERR, "the revoked site has no events");
    memset(token, 'a', DN_TOKEN_TEXT_LEN);
    token[DN_TOKEN_TEXT_LEN] = '\0';
    s_rows(self, rows);
    if ((rc = s_admin_request(&req, &req_len)) ||
        (rc = s_handshakes(self, n, ZMQ_REQ, &self->a.pair, self->server_key, 0,
                           self->admin_ep, req, req_len, 1)) ||
        (rc = s_pack_hello(pos.head_seq, &hello, &hello_len)) ||
        (rc = s_pack_enroll(token, self->a.code, &enroll, &enroll_len)))
        goto done;
    if ((rc = s_read(&self->a, pos.acked_seq + 1 <= pos.head_seq ? pos.acked_seq + 1 : 1,
                     pos.head_seq, &ev, &b)))
        goto done;
    sock = s_socket(self, ZMQ_DEALER, &self->a.pair, self->server_key, 0, self->sync_ep);
    for (int i = 0; sock && i < n; i++) {
        s_reply_t r1, r2, r3;
        s_try(self, sock, hello, hello_len, "WAE", rows, &r1);
        s_try_batch(self, sock, &b, "WAE", rows, &r2);
        s_try(self, sock, enroll, enroll_len, "WAE", rows, &r3);
        if (r1.code != DEALERNET__REFUSE_CODE__REFUSE_REVOKED ||
            r2.code != DEALERNET__REFUSE_CODE__REFUSE_REVOKED ||
            r3.code != DEALERNET__REFUSE_CODE__REFUSE_REVOKED)
            self->control_failed = 1;
    }
    if (!sock)
        rc = s_fail(EX_SOFTWARE, "cannot connect");
    else
        zmq_close(sock);
    dn_outbox_batch_free(&ev);
done:
    free(req);
    free(hello);
    free(enroll);
    return rc;
}

/*  3. An enrolled site's real key (and the HQ key, when given) with a
    server public key that is not the server's: n connections each, a Hello
    and a signed push queued on the site's ones.  */
static int s_wrong_server_key(s_attack_t *self, int n)
{
    char rows[DN_ATTACK_ROWS_SIZE];
    dn_curve_pair_t other, hq;
    uint8_t *hello = NULL, *push = NULL, *req = NULL;
    size_t hello_len, push_len, req_len;
    dn_outbox_batch_t ev;
    s_batch_t b;
    int rc;

    if ((rc = s_need(self, "--agent", self->a.store)))
        return rc;
    if (dn_curve_generate(&other))
        return s_fail(EX_SOFTWARE, "cannot make a key");
    s_rows(self, rows);
    if ((rc = s_pack_hello(0, &hello, &hello_len)) ||
        (rc = s_read(&self->a, 1, 1, &ev, &b)))
        goto done;
    rc = s_pack_batch(&b, &push, &push_len);
    dn_outbox_batch_free(&ev);
    if (rc ||
        (rc = s_handshakes(self, n, ZMQ_DEALER, &self->a.pair, other.public_z85, 0,
                           self->sync_ep, hello, hello_len, 0)) ||
        (rc = s_handshakes(self, n, ZMQ_DEALER, &self->a.pair, other.public_z85, 0,
                           self->sync_ep, push, push_len, 0)))
        goto done;
    if (self->hq_key_path) {
        if (dn_curve_load(self->hq_key_path, &hq)) {
            rc = s_fail(EX_DATAERR, "cannot read %s", self->hq_key_path);
            goto done;
        }
        if ((rc = s_admin_request(&req, &req_len)) == 0)
            rc = s_handshakes(self, n, ZMQ_REQ, &hq, other.public_z85, 0, self->admin_ep,
                              req, req_len, 0);
        memset(&hq, 0, sizeof hq);
    }
    if (s_rows_moved(self, rows))
        self->accepted++;
done:
    free(hello);
    free(push);
    free(req);
    return rc;
}

/*  4. Clients without CURVE: the NULL mechanism (DEALER on the sync socket
    with a Hello queued, REQ on the admin socket with a request queued)
    and the PLAIN mechanism (user and password), n connections each.  */
static int s_no_curve(s_attack_t *self, int n)
{
    char rows[DN_ATTACK_ROWS_SIZE];
    uint8_t *hello = NULL, *req = NULL;
    size_t hello_len, req_len;
    int rc;

    s_rows(self, rows);
    if ((rc = s_pack_hello(0, &hello, &hello_len)) ||
        (rc = s_admin_request(&req, &req_len)))
        goto done;
    if ((rc = s_handshakes(self, n, ZMQ_DEALER, NULL, NULL, 0, self->sync_ep, hello,
                           hello_len, 0)) ||
        (rc = s_handshakes(self, n, ZMQ_REQ, NULL, NULL, 0, self->admin_ep, req, req_len,
                           0)) ||
        (rc = s_handshakes(self, n, ZMQ_DEALER, NULL, NULL, 1, self->sync_ep, hello,
                           hello_len, 0)) ||
        (rc = s_handshakes(self, n, ZMQ_REQ, NULL, NULL, 1, self->admin_ep, req, req_len,
                           0)))
        goto done;
    if (s_rows_moved(self, rows))
        self->accepted++;
done:
    free(hello);
    free(req);
    return rc;
}

/*  5. Site A's connection carrying site B's identity: B's own batches as B
    signed them; B's events relabelled as A's next ones and signed by B;
    A's next events signed by B; A's events relabelled as B's and signed by
    A or by B; an enrollment for B; and A's key on the admin socket.  Then
    the control: A's next events signed by A must be acked.  */
static int s_other_site(s_attack_t *self)
{
    char rows[DN_ATTACK_ROWS_SIZE], token[DN_TOKEN_TEXT_LEN + 1];
    dn_outbox_position_t pa, pb;
    uint64_t applied = 0;
    uint8_t *enroll = NULL, *req = NULL;
    size_t enroll_len, req_len;
    void *sock;
    int rc;

    if ((rc = s_need(self, "--agent", self->a.store)) ||
        (rc = s_need(self, "--other", self->b.store)))
        return rc;
    if (dn_outbox_position(self->a.store, &pa) ||
        dn_outbox_position(self->b.store, &pb) || pb.acked_seq == 0)
        return s_fail(EX_DATAERR, "site B must have synced events");
    sock = s_socket(self, ZMQ_DEALER, &self->a.pair, self->server_key, 0, self->sync_ep);
    if (!sock)
        return s_fail(EX_SOFTWARE, "cannot connect");
    if ((rc = s_applied(self, sock, &applied)) != 0)
        goto done;
    if (pa.head_seq <= applied) {
        rc = s_fail(EX_DATAERR, "site A must have events the server does not hold");
        goto done;
    }
    s_rows(self, rows);

    for (uint64_t from = 1; from <= pb.head_seq && rc == 0; from++) {
        for (uint64_t to = from; to <= pb.head_seq && rc == 0; to++) {
            dn_outbox_batch_t ev;
            s_batch_t b;
            uint8_t head_a[DN_HASH_BYTES];
            /* B's batch exactly as B signed it */
            if ((rc = s_read(&self->b, from, to, &ev, &b)) != 0)
                break;
            s_try_batch(self, sock, &b, "WAE", rows, NULL);
            /* ... and signed by A over B's code (A holds B's bytes) */
            s_sign(&b, self->b.code, self->a.sign);
            s_try_batch(self, sock, &b, "WAE", rows, NULL);
            /* B's events as A's next ones, chained to A's head, signed by B
               over A's code */
            memset(head_a, 0, sizeof head_a); /* seq 1 follows 32 zero bytes */
            if (applied > 0) {
                dn_outbox_batch_t mine;
                if ((rc = dn_outbox_read(self->a.store, applied, 1, SIZE_MAX, &mine)) !=
                        0 ||
                    mine.n != 1) {
                    dn_outbox_batch_free(&mine);
                    dn_outbox_batch_free(&ev);
                    rc = s_fail(EX_DATAERR, "cannot read A's seq %llu",
                                (unsigned long long)applied);
                    break;
                }
                memcpy(head_a, mine.head, DN_HASH_BYTES);
                dn_outbox_batch_free(&mine);
            }
            if ((rc = s_rebuild(&ev, self->a.code, applied + 1, head_a, -1, &b)) == 0 &&
                (rc = s_sign(&b, self->a.code, self->b.sign)) == 0)
                s_try_batch(self, sock, &b, "WAE", rows, NULL);
            dn_outbox_batch_free(&ev);
        }
    }
    for (uint64_t from = 1; from <= pa.head_seq && rc == 0; from++) {
        dn_outbox_batch_t ev;
        s_batch_t b;
        uint64_t to = pa.head_seq;
        /* A's events from `from`, signed by B over A's code */
        if ((rc = s_read(&self->a, from, to, &ev, &b)) != 0)
            break;
        s_sign(&b, self->a.code, self->b.sign);
        s_try_batch(self, sock, &b, "WAE", rows, NULL);
        /* ... signed by B over B's code */
        s_sign(&b, self->b.code, self->b.sign);
        s_try_batch(self, sock, &b, "WAE", rows, NULL);
        /* A's events relabelled as B's, signed by A, then by B */
        if ((rc = s_rebuild(&ev, self->b.code, from, NULL, -1, &b)) == 0) {
            s_sign(&b, self->b.code, self->a.sign);
            s_try_batch(self, sock, &b, "WAE", rows, NULL);
            s_sign(&b, self->b.code, self->b.sign);
            s_try_batch(self, sock, &b, "WAE", rows, NULL);
            s_sign(&b, self->a.code, self->a.sign);
            s_try_batch(self, sock, &b, "WAE", rows, NULL);
        }
        dn_outbox_batch_free(&ev);
    }
    /* an enrollment for B over A's connection */
    memset(token, 'b', DN_TOKEN_TEXT_LEN);
    token[DN_TOKEN_TEXT_LEN] = '\0';
    if (rc == 0 && (rc = s_pack_enroll(token, self->b.code, &enroll, &enroll_len)) == 0)
        s_try(self, sock, enroll, enroll_len, "WAE", rows, NULL);
    /* A's key on the admin socket */
    if (rc == 0 && (rc = s_admin_request(&req, &req_len)) == 0)
        rc = s_handshakes(self, 4, ZMQ_REQ, &self->a.pair, self->server_key, 0,
                          self->admin_ep, req, req_len, 1);
    if (s_rows_moved(self, rows))
        self->accepted++;

    /* the control: A's own next events, signed by A */
    if (rc == 0) {
        dn_outbox_batch_t ev;
        s_batch_t b;
        s_reply_t reply;
        if ((rc = s_read(&self->a, applied + 1, pa.head_seq, &ev, &b)) == 0) {
            uint8_t *buf;
            size_t len;
            if ((rc = s_pack_batch(&b, &buf, &len)) == 0) {
                s_exchange(self, sock, buf, len, &reply);
                free(buf);
                if (reply.kind != 'A' || reply.seq != pa.head_seq) {
                    fprintf(stderr,
                            "dn_attack: control: A's own batch was not acked ('%c' %s)\n",
                            reply.kind ? reply.kind : '-', reply.text);
                    self->control_failed = 1;
                }
            }
            dn_outbox_batch_free(&ev);
        }
    }
done:
    free(enroll);
    free(req);
    zmq_close(sock);
    return rc;
}

/*  Reads site A's pending batch (the server's applied + 1 .. head) over a
    new connection.  */
static int s_pending(s_attack_t *self, void **sock, dn_outbox_batch_t *ev, s_batch_t *b)
{
    dn_outbox_position_t pos;
    uint64_t applied;
    int rc;
    if ((rc = s_need(self, "--agent", self->a.store)))
        return rc;
    *sock = s_socket(self, ZMQ_DEALER, &self->a.pair, self->server_key, 0, self->sync_ep);
    if (!*sock)
        return s_fail(EX_SOFTWARE, "cannot connect");
    if ((rc = s_applied(self, *sock, &applied)) != 0)
        return rc;
    if (dn_outbox_position(self->a.store, &pos) || pos.head_seq <= applied)
        return s_fail(EX_DATAERR, "site A must have events the server does not hold");
    return s_read(&self->a, applied + 1, pos.head_seq, ev, b);
}

/*  The control of the batch attacks: the untouched batch must be acked
    through its last seq.  */
static void s_control(s_attack_t *self, void *sock, const s_batch_t *b)
{
    uint8_t *buf;
    size_t len;
    s_reply_t reply;
    if (s_pack_batch(b, &buf, &len))
        return;
    s_exchange(self, sock, buf, len, &reply);
    free(buf);
    if (reply.kind != 'A' || reply.seq != b->first_seq + b->n - 1) {
        fprintf(stderr,
                "dn_attack: control: the untouched batch was not acked ('%c' %s)\n",
                reply.kind ? reply.kind : '-', reply.text);
        self->control_failed = 1;
    }
}

/*  Prints the line of one attack and starts counting the next.  */
static void s_report(s_attack_t *self, const char *name)
{
    if (self->limited)
        printf("security: %s: attempts %ld, accepted %ld, rate-limited %ld\n", name,
               self->attempts, self->accepted, self->limited);
    else
        printf("security: %s: attempts %ld, accepted %ld\n", name, self->attempts,
               self->accepted);
    fflush(stdout);
    self->total_accepted += self->accepted;
    self->none_attempted |= self->attempts == 0;
    self->reported = 1;
    self->attempts = self->accepted = self->limited = 0;
}

/*  6. Every single-bit flip of the pending batch's signature, of every
    event's bytes, and of the signed fields (chain head, first seq); then
    the untouched batch (control).  Three lines.  */
static int s_bit_flips(s_attack_t *self)
{
    char rows[DN_ATTACK_ROWS_SIZE];
    dn_outbox_batch_t ev;
    s_batch_t b;
    void *sock = NULL;
    int rc;

    memset(&ev, 0, sizeof ev);
    if ((rc = s_pending(self, &sock, &ev, &b)) != 0)
        goto done;
    s_rows(self, rows);
    for (int bit = 0; bit < DN_SIG_BYTES * 8; bit++) {
        b.sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        s_try_batch(self, sock, &b, "WAE", rows, NULL);
        b.sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    s_report(self, "batch signature bit flip");
    for (size_t i = 0; i < b.n; i++) {
        for (size_t bit = 0; bit < b.events[i].len * 8; bit++) {
            b.events[i].data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            s_try_batch(self, sock, &b, "WAE", rows, NULL);
            b.events[i].data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        }
    }
    s_report(self, "event bit flip in a signed batch");
    for (int bit = 0; bit < DN_HASH_BYTES * 8; bit++) {
        b.head[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        s_try_batch(self, sock, &b, "WAE", rows, NULL);
        b.head[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    for (int bit = 0; bit < 64; bit++) {
        b.first_seq ^= (uint64_t)1 << bit;
        s_try_batch(self, sock, &b, "WAE", rows, NULL);
        b.first_seq ^= (uint64_t)1 << bit;
    }
    s_report(self, "signed field bit flip (chain head, first seq)");
    s_control(self, sock, &b);
done:
    dn_outbox_batch_free(&ev);
    if (sock)
        zmq_close(sock);
    return rc;
}

/*  The order L of the Ed25519 group, little-endian (RFC 8032).  */
static const uint8_t s_order[32] = {0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58,
                                    0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
                                    0,    0,    0,    0,    0,    0,    0,    0,
                                    0,    0,    0,    0,    0,    0,    0,    0x10};

/*  7. The pending batch with its signature cut to every length 0..63, and
    without one; then with S + k*L for each k that fits (a malleated copy
    of the valid signature); then the untouched batch (control).  Two
    lines.  */
static int s_truncated(s_attack_t *self)
{
    char rows[DN_ATTACK_ROWS_SIZE];
    dn_outbox_batch_t ev;
    s_batch_t b;
    void *sock = NULL;
    int rc;

    memset(&ev, 0, sizeof ev);
    if ((rc = s_pending(self, &sock, &ev, &b)) != 0)
        goto done;
    s_rows(self, rows);
    for (size_t len = 0; len < DN_SIG_BYTES; len++) {
        b.sig_len = len;
        s_try_batch(self, sock, &b, "WAE", rows, NULL);
    }
    b.has_sig = 0;
    s_try_batch(self, sock, &b, "WAE", rows, NULL);
    b.has_sig = 1;
    b.sig_len = DN_SIG_BYTES;
    s_report(self, "truncated signature");
    /* the same signature with S + k*L (k = 1..7), still below 2^256: valid
       under a verifier that does not insist on S < L */
    for (int k = 1; k <= 7; k++) {
        uint8_t saved[DN_SIG_BYTES];
        unsigned carry = 0;
        memcpy(saved, b.sig, sizeof saved);
        for (int m = 0; m < k; m++) {
            carry = 0;
            for (int i = 0; i < 32; i++) {
                unsigned v = b.sig[32 + i] + s_order[i] + carry;
                b.sig[32 + i] = (uint8_t)v;
                carry = v >> 8;
            }
        }
        if (carry == 0) /* S + k*L fits in 32 bytes */
            s_try_batch(self, sock, &b, "WAE", rows, NULL);
        memcpy(b.sig, saved, sizeof saved);
    }
    s_report(self, "non-canonical signature (S + k*L)");
    s_control(self, sock, &b);
done:
    dn_outbox_batch_free(&ev);
    if (sock)
        zmq_close(sock);
    return rc;
}

/*  8. Every range of site A's acknowledged events (the first 16), as the
    agent sent or would have sent it, signed: the server may ack them
    again, but no row may appear.  */
static int s_replay(s_attack_t *self)
{
    char rows[DN_ATTACK_ROWS_SIZE];
    uint64_t applied;
    void *sock;
    int rc;

    if ((rc = s_need(self, "--agent", self->a.store)))
        return rc;
    sock = s_socket(self, ZMQ_DEALER, &self->a.pair, self->server_key, 0, self->sync_ep);
    if (!sock)
        return s_fail(EX_SOFTWARE, "cannot connect");
    if ((rc = s_applied(self, sock, &applied)) == 0 && applied == 0)
        rc = s_fail(EX_DATAERR, "site A has no acknowledged events");
    s_rows(self, rows);
    uint64_t top = applied < DN_ATTACK_MAX_RANGE ? applied : DN_ATTACK_MAX_RANGE;
    for (uint64_t from = 1; rc == 0 && from <= top; from++) {
        for (uint64_t to = from; rc == 0 && to <= top; to++) {
            dn_outbox_batch_t ev;
            s_batch_t b;
            s_reply_t reply;
            if ((rc = s_read(&self->a, from, to, &ev, &b)) != 0)
                break;
            s_try_batch(self, sock, &b, "", rows, &reply);
            if (reply.kind != 'A' || reply.seq != applied) {
                fprintf(stderr, "dn_attack: replay %llu..%llu: not acked through %llu\n",
                        (unsigned long long)from, (unsigned long long)to,
                        (unsigned long long)applied);
                self->control_failed = 1;
            }
            dn_outbox_batch_free(&ev);
        }
    }
    zmq_close(sock);
    return rc;
}

/*  9. New content under seqs the server already holds, validly chained and
    signed with the site's own key: for every applied seq s, event s alone
    with a changed recorded_at_ms, and s..applied rewritten from s; and a
    batch starting at seq 0.  */
static int s_below_hwm(s_attack_t *self)
{
    char rows[DN_ATTACK_ROWS_SIZE];
    uint64_t applied;
    void *sock;
    int rc;

    if ((rc = s_need(self, "--agent", self->a.store)))
        return rc;
    sock = s_socket(self, ZMQ_DEALER, &self->a.pair, self->server_key, 0, self->sync_ep);
    if (!sock)
        return s_fail(EX_SOFTWARE, "cannot connect");
    if ((rc = s_applied(self, sock, &applied)) == 0 && applied == 0)
        rc = s_fail(EX_DATAERR, "site A has no acknowledged events");
    s_rows(self, rows);
    for (uint64_t s = 1; rc == 0 && s <= applied; s++) {
        for (int whole = 0; whole < 2 && rc == 0; whole++) {
            dn_outbox_batch_t ev;
            s_batch_t b;
            s_reply_t reply;
            if ((rc = s_read(&self->a, s, whole ? applied : s, &ev, &b)) != 0)
                break;
            if ((rc = s_rebuild(&ev, NULL, s, NULL, 0, &b)) == 0 &&
                (rc = s_sign(&b, self->a.code, self->a.sign)) == 0) {
                s_try_batch(self, sock, &b, "WAE", rows, &reply);
                if (reply.code != DEALERNET__REFUSE_CODE__REFUSE_TAMPER)
                    self->control_failed = 1;
            }
            if (rc == 0 && s == 1 && !whole) { /* the same event claimed as seq 0 */
                b.first_seq = 0;
                s_try_batch(self, sock, &b, "WAE", rows, NULL);
            }
            dn_outbox_batch_free(&ev);
        }
    }
    zmq_close(sock);
    return rc;
}

/*  10. Wrong enrollment tokens for --site from each source address of
    --addrs (comma-separated; 127.0.0.x all reach loopback), over one
    connection each: wrong tokens until DN_ENROLL_LIMIT_PER_PEER have been
    refused as such and ten more for the rate, and a malformed one (which
    costs the address nothing: refused as a bad token even once limited);
    then, from the first address, the right --token, which must be refused
    for the rate.  The shell then enrolls the shop with it from another
    address at once: no limit over all addresses may stop it.  Accepted: an
    Enrolled reply, or a site enrolled or a token used in central.db.  */
#define DN_ATTACK_SHAPELESS "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz" /* passes the wire, not hex */

static int s_brute_force(s_attack_t *self)
{
    enum { MAX_ADDRS = 64, MORE = 10 };
    char rows[DN_ATTACK_ROWS_SIZE], list[2048], *save = NULL, *addr[MAX_ADDRS];
    uint8_t *right = NULL, *shapeless = NULL;
    size_t right_len, shapeless_len;
    long bad_total = 0;
    int rc = 0, n = 0;

    if ((rc = s_need(self, "--token", self->token)) ||
        (rc = s_need(self, "--site", self->site_code)) ||
        (rc = s_need(self, "--addrs", self->addrs)))
        return rc;
    snprintf(list, sizeof list, "%s", self->addrs);
    for (char *a = strtok_r(list, ",", &save); a && n < MAX_ADDRS;
         a = strtok_r(NULL, ",", &save))
        addr[n++] = a;
    if ((rc = s_pack_enroll(self->token, self->site_code, &right, &right_len)) != 0 ||
        (rc = s_pack_enroll(DN_ATTACK_SHAPELESS, self->site_code, &shapeless, &shapeless_len)))
        goto done;
    s_rows(self, rows);
    for (int k = 0; k < n && rc == 0; k++) {
        char ep[512];
        dn_curve_pair_t fresh;
        void *sock;
        int wrong = 0, bad = 0, limited = 0;
        s_reply_t reply;
        /* tcp://SOURCE:0;HOST:PORT -- libzmq binds the source address */
        snprintf(ep, sizeof ep, "tcp://%s:0;%s", addr[k], self->sync_ep + 6);
        if (dn_curve_generate(&fresh) ||
            !(sock = s_socket(self, ZMQ_DEALER, &fresh, self->server_key, 0, ep))) {
            rc = s_fail(EX_SOFTWARE, "cannot connect from %s", addr[k]);
            break;
        }
        while (limited < MORE && wrong < 4 * DN_ENROLL_LIMIT_PER_PEER) {
            char token[DN_TOKEN_TEXT_LEN + 1];
            uint8_t raw[DN_TOKEN_TEXT_LEN / 2], *buf;
            size_t len;
            for (size_t i = 0; i < sizeof raw; i++)
                raw[i] = (uint8_t)rand();
            dn_hex_encode(raw, sizeof raw, token);
            if ((rc = s_pack_enroll(token, self->site_code, &buf, &len)) != 0)
                break;
            s_try(self, sock, buf, len, "WAE", rows, &reply);
            free(buf);
            wrong++;
            if (reply.kind == 'R' &&
                reply.code == DEALERNET__REFUSE_CODE__REFUSE_RATE_LIMITED) {
                limited++;
            } else if (reply.kind == 'R' &&
                       reply.code == DEALERNET__REFUSE_CODE__REFUSE_BAD_TOKEN) {
                bad++;
            } else {
                fprintf(stderr, "dn_attack: from %s: reply '%c' %s\n", addr[k],
                        reply.kind ? reply.kind : '-', reply.text);
                self->control_failed = 1;
                break;
            }
        }
        self->limited += limited;
        s_try(self, sock, shapeless, shapeless_len, "WAE", rows, &reply);
        if (reply.kind != 'R' || reply.code != DEALERNET__REFUSE_CODE__REFUSE_BAD_TOKEN) {
            fprintf(stderr, "dn_attack: from %s: a malformed token got '%c' %s\n", addr[k],
                    reply.kind ? reply.kind : '-', reply.text);
            self->control_failed = 1;
        }
        if (rc == 0 && k == 0) { /* the right token, from a limited address */
            s_try(self, sock, right, right_len, "WAE", rows, &reply);
            if (reply.kind == 'R' &&
                reply.code == DEALERNET__REFUSE_CODE__REFUSE_RATE_LIMITED) {
                self->limited++;
            } else {
                fprintf(stderr, "dn_attack: from %s: the right token got '%c' %s\n",
                        addr[k], reply.kind ? reply.kind : '-', reply.text);
                self->control_failed = 1;
            }
        }
        if (bad != DN_ENROLL_LIMIT_PER_PEER || limited < MORE) {
            fprintf(stderr,
                    "dn_attack: from %s: %d wrong tokens, %d refused as such, %d for the "
                    "rate: the limit of %d a minute did not hold\n",
                    addr[k], wrong, bad, limited, DN_ENROLL_LIMIT_PER_PEER);
            self->control_failed = 1;
        }
        bad_total += wrong;
        zmq_close(sock);
    }
    fprintf(stderr, "dn_attack: lockout: %ld bad tokens from %d addresses\n", bad_total, n);
done:
    free(right);
    free(shapeless);
    return rc;
}

/*  11. While the server starts: unknown keys on the admin socket (a
    handshake that succeeds is accepted) and on the sync socket (a Hello:
    anything but ZAP's NOT_ENROLLED is accepted), from before the server
    listens until ms have passed.  Prints "hammering" when it has begun.  */
static int s_done_race(const s_probe_t *p)
{
    return p->lane == 0 ? s_done_handshake(p) : p->replies > 0;
}

/*  1 if the file at path has a line containing text.  */
static int s_log_has(const char *path, const char *text)
{
    char line[1024];
    int found = 0;
    FILE *f = fopen(path, "r");
    while (f && !found && fgets(line, sizeof line, f))
        found = strstr(line, text) != NULL;
    if (f)
        fclose(f);
    return found;
}

static int s_race(s_attack_t *self, int ms)
{
    enum { N = 8 };
    s_probe_t probes[2 * N];
    uint8_t *hello = NULL, *req = NULL;
    size_t hello_len, req_len;
    int64_t end = s_now() + ms;
    long before_serving = 0, retried = 0;
    int rc, serving = 0;

    if ((rc = s_pack_hello(0, &hello, &hello_len)) ||
        (rc = s_admin_request(&req, &req_len)))
        goto done;
    memset(probes, 0, sizeof probes);
    printf("hammering\n");
    fflush(stdout);
    while (rc == 0 && s_now() < end) {
        for (int i = 0; i < 2 * N && rc == 0; i++) {
            s_probe_t *p = &probes[i];
            if (p->sock)
                s_probe_read(p);
            if (p->sock && !s_done_race(p))
                continue;
            if (p->sock) { /* a verdict: tally it, then a new key */
                if (!serving && self->log_path)
                    serving = s_log_has(self->log_path, "info: serving:");
                self->attempts++;
                before_serving += !serving;
                if (p->lane == 0 && (p->succeeded || p->replies)) {
                    self->accepted++;
                    fprintf(stderr, "dn_attack: race: an unknown key's admin handshake "
                                    "succeeded\n");
                } else if (p->lane == 1 &&
                           (p->reply.kind != 'R' ||
                            p->reply.code !=
                                DEALERNET__REFUSE_CODE__REFUSE_NOT_ENROLLED ||
                            strstr(p->reply.text, "dealernet-agent enroll") == NULL)) {
                    self->accepted++;
                    fprintf(stderr,
                            "dn_attack: race: an unknown key's Hello got '%c' %s\n",
                            p->reply.kind ? p->reply.kind : '-', p->reply.text);
                }
                if (p->lane == 0 && !p->succeeded && p->auth_400 == 0) {
                    fprintf(stderr,
                            "dn_attack: race: a handshake ended without ZAP's 400\n");
                    self->control_failed = 1;
                }
                retried += p->retried;
                s_probe_close(p);
            }
            dn_curve_pair_t fresh;
            int lane = i < N ? 0 : 1;
            if (dn_curve_generate(&fresh) ||
                s_probe_open(self, p, lane == 0 ? ZMQ_REQ : ZMQ_DEALER, &fresh,
                             self->server_key, 0,
                             lane == 0 ? self->admin_ep : self->sync_ep, lane)) {
                rc = EX_SOFTWARE;
                break;
            }
            if (lane == 0)
                zmq_send(p->sock, req, req_len, ZMQ_DONTWAIT);
            else
                zmq_send(p->sock, hello, hello_len, ZMQ_DONTWAIT);
        }
        if (rc)
            break;
        zmq_pollitem_t items[4 * N];
        for (int i = 0; i < 2 * N; i++) {
            items[2 * i] = (zmq_pollitem_t){probes[i].mon, 0, ZMQ_POLLIN, 0};
            items[2 * i + 1] = (zmq_pollitem_t){probes[i].sock, 0, ZMQ_POLLIN, 0};
        }
        zmq_poll(items, 4 * N, 5);
    }
    for (int i = 0; i < 2 * N; i++) {
        retried += probes[i].retried;
        s_probe_close(&probes[i]);
    }
    fprintf(stderr,
            "dn_attack: race: %ld connections refused before the server listened, %ld "
            "verdicts before it logged 'serving'\n",
            retried, before_serving);
done:
    free(hello);
    free(req);
    return rc;
}


/* -- 13. aggregate overflow ---------------------------------------------------- */

#define DN_ATTACK_FIGURES_SIZE 8192

/*  What a held sale must not move: the ledger (transfers, every balance),
    the rollups (team volume, refund splits), the running totals and the
    posted sales.  */
static void s_figures(s_attack_t *self, char out[DN_ATTACK_FIGURES_SIZE])
{
    static const char sql[] =
        "SELECT 'transfers=' || (SELECT count(*) FROM transfers)"
        " || ' balances=' || (SELECT coalesce(group_concat(name || ':' || balance), '')"
        "   FROM (SELECT name, balance FROM accounts ORDER BY id))"
        " || ' team=' || (SELECT coalesce(group_concat(k), '') FROM (SELECT partner_id"
        "   || '/' || period || '/' || currency || '/' || sales || '/' || total || '/'"
        "   || refunds || '/' || refunded AS k FROM team_volume ORDER BY 1))"
        " || ' splits=' || (SELECT count(*) FROM refund_categories)"
        " || ' totals=' || (SELECT sales || '/' || transfers FROM money_totals)"
        " || ' posted=' || (SELECT count(*) FROM sales WHERE held = 0)";
    sqlite3_stmt *stmt;
    out[0] = '\0';
    if (sqlite3_prepare_v2(self->db, sql, -1, &stmt, NULL) != SQLITE_OK) {
        snprintf(out, DN_ATTACK_FIGURES_SIZE, "unreadable: %s", sqlite3_errmsg(self->db));
        return;
    }
    if (sqlite3_step(stmt) == SQLITE_ROW)
        snprintf(out, DN_ATTACK_FIGURES_SIZE, "%s", sqlite3_column_text(stmt, 0));
    else
        snprintf(out, DN_ATTACK_FIGURES_SIZE, "unreadable: %s", sqlite3_errmsg(self->db));
    sqlite3_finalize(stmt);
}

/*  Events stored for site code (a held event must be stored, not dropped).  */
static long s_stored(s_attack_t *self, const char *code)
{
    sqlite3_stmt *stmt;
    long n = -1;
    if (sqlite3_prepare_v2(self->db,
                           "SELECT count(*) FROM events e JOIN sites s ON s.id = e.site_id "
                           "WHERE s.code = ?",
                           -1, &stmt, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_text(stmt, 1, code, -1, SQLITE_STATIC);
    if (sqlite3_step(stmt) == SQLITE_ROW)
        n = (long)sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return n;
}

/*  One event of site A at its next seq, chained to prev, packed into *b
    (one event, signed).  *out_hash receives its hash, id_out its id.
    raw: packed with protobuf-c, past dn_wire's checks (an old or hostile
    agent's bytes); else through dn_wire_event_pack.  */
static int s_next_event(s_attack_t *self, Dealernet__Event *ev, uint64_t seq,
                        const uint8_t prev[DN_HASH_BYTES], ProtobufCBinaryData *body,
                        s_batch_t *b, uint8_t id_out[DN_ID_BYTES], int raw)
{
    uint8_t id[DN_ID_BYTES], prev_copy[DN_HASH_BYTES];
    char why[DN_WHY_SIZE];
    int64_t now = s_now();
    if (dn_id_new_at(id, now))
        return s_fail(EX_SOFTWARE, "cannot make an event id");
    memcpy(prev_copy, prev, DN_HASH_BYTES);
    ev->has_id = 1;
    ev->id.data = id;
    ev->id.len = DN_ID_BYTES;
    ev->site = self->a.code;
    ev->has_seq = 1;
    ev->seq = seq;
    ev->has_recorded_at_ms = 1;
    ev->recorded_at_ms = now;
    ev->has_prev_hash = 1;
    ev->prev_hash.data = prev_copy;
    ev->prev_hash.len = DN_HASH_BYTES;
    if (raw) {
        body->len = dealernet__event__get_packed_size(ev);
        if (!(body->data = malloc(body->len)))
            return s_fail(EX_SOFTWARE, "out of memory");
        dealernet__event__pack(ev, body->data);
    } else if (dn_wire_event_pack(ev, &body->data, &body->len, why, sizeof why)) {
        return s_fail(EX_DATAERR, "cannot pack the event: %s", why);
    }
    if (id_out)
        memcpy(id_out, id, DN_ID_BYTES);
    memset(b, 0, sizeof *b);
    b->first_seq = seq;
    b->has_first_seq = 1;
    b->events = body;
    b->n = 1;
    b->head_len = DN_HASH_BYTES;
    if (dn_sha256(body->data, body->len, b->head))
        return s_fail(EX_SOFTWARE, "cannot hash");
    return s_sign(b, self->a.code, self->a.sign);
}

/*  Sends one event as a batch of one: it must be acked through its seq
    (stored: refusing it would strand the site's chain and drop what a
    clerk recorded) and stored, but move no figure (held).  Accepted: the
    figures moved (posted into the ledger or the rollups), or the event was
    refused or not stored.  */
static void s_try_held(s_attack_t *self, void *sock, const s_batch_t *b,
                       char figures[DN_ATTACK_FIGURES_SIZE], long *stored)
{
    char now[DN_ATTACK_FIGURES_SIZE];
    s_reply_t reply;
    uint8_t *buf;
    size_t len;
    long after;
    if (s_pack_batch(b, &buf, &len))
        return;
    s_exchange(self, sock, buf, len, &reply);
    free(buf);
    self->attempts++;
    s_figures(self, now);
    after = s_stored(self, self->a.code);
    if (reply.kind != 'A' || reply.seq != b->first_seq || after != *stored + 1 ||
        strcmp(now, figures) != 0) {
        self->accepted++;
        fprintf(stderr,
                "dn_attack: seq %llu: reply '%c' %s %s, events stored %ld -> %ld\n"
                "  figures before %s\n  after  %s\n",
                (unsigned long long)b->first_seq, reply.kind ? reply.kind : '-',
                reply.kind == 'R' ? s_code_name(reply.code) : "", reply.text, *stored, after,
                figures, now);
        memcpy(figures, now, DN_ATTACK_FIGURES_SIZE);
    }
    *stored = after;
}

/*  Connects as site A, whose events must all be acknowledged, for events
    that continue its chain: *applied is its applied seq, prev its chain
    head.  Returns 0 (the caller closes *sock) or an exit code (nothing is
    left open).  */
static int s_chain_open(s_attack_t *self, void **sock, uint64_t *applied,
                        uint8_t prev[DN_HASH_BYTES])
{
    dn_outbox_position_t pos;
    dn_outbox_batch_t ev;
    s_batch_t b;
    int rc;

    *sock = s_socket(self, ZMQ_DEALER, &self->a.pair, self->server_key, 0, self->sync_ep);
    if (!*sock)
        return s_fail(EX_SOFTWARE, "cannot connect");
    if ((rc = s_applied(self, *sock, applied)) == 0 &&
        (dn_outbox_position(self->a.store, &pos) || pos.head_seq != *applied ||
         *applied == 0))
        rc = s_fail(EX_DATAERR, "site A must have events, all acknowledged");
    if (rc == 0 && (rc = s_read(&self->a, *applied, *applied, &ev, &b)) == 0) {
        memcpy(prev, b.head, DN_HASH_BYTES);
        dn_outbox_batch_free(&ev);
    }
    if (rc) {
        zmq_close(*sock);
        *sock = NULL;
    }
    return rc;
}

/*  13. Sales that would overflow the server's sums, continuing site A's
    chain (all its events acked) with its own key, one event a batch:
    n sales at the wire's maximum (9 lines of 10^6 x 10^12 minor units:
    9 x 10^18, every line within the wire's limits); a refund of the first
    of them; then n sales of exactly `at_bound` minor units (the network's
    bound on one sale; the caller has brought the running total of sales
    so near its bound that none fits).  Each must be stored and held.  */
static int s_aggregate_overflow(s_attack_t *self, int n, long at_bound)
{
    char figures[DN_ATTACK_FIGURES_SIZE];
    uint8_t prev[DN_HASH_BYTES], first_sale[DN_ID_BYTES];
    s_batch_t b;
    uint64_t applied, seq;
    long stored;
    void *sock;
    int rc;

    if ((rc = s_need(self, "--agent", self->a.store)))
        return rc;
    if (at_bound < 1)
        return s_fail(EX_USAGE, "aggregate-overflow N BOUND: BOUND in minor units >= 1");
    if ((rc = s_chain_open(self, &sock, &applied, prev)) != 0)
        return rc;
    s_figures(self, figures);
    stored = s_stored(self, self->a.code);
    seq = applied;
    for (int k = 0; rc == 0 && k < 2 * n + 1; k++) {
        Dealernet__Event e = DEALERNET__EVENT__INIT;
        Dealernet__Sale sale = DEALERNET__SALE__INIT;
        Dealernet__Refund refund = DEALERNET__REFUND__INIT;
        Dealernet__SaleLine lines[9], *ptrs[9];
        char skus[9][8];
        ProtobufCBinaryData body = {0, NULL};
        int wire_max = k < n, lines_n = wire_max ? 9 : 1;
        if (k == n) { /* the refund of the first held sale */
            refund.has_sale_id = 1;
            refund.sale_id.data = first_sale;
            refund.sale_id.len = DN_ID_BYTES;
            refund.has_amount = 1;
            refund.amount = 100;
            refund.currency = "CNY";
            e.body_case = DEALERNET__EVENT__BODY_REFUND;
            e.refund = &refund;
        } else {
            for (int i = 0; i < lines_n; i++) {
                dealernet__sale_line__init(&lines[i]);
                snprintf(skus[i], sizeof skus[i], "MAX%d", i);
                lines[i].sku = skus[i];
                lines[i].has_quantity = lines[i].has_unit_price = 1;
                lines[i].quantity = wire_max ? DN_MAX_QUANTITY : 1;
                lines[i].unit_price = wire_max ? DN_MAX_UNIT_PRICE : at_bound;
                ptrs[i] = &lines[i];
            }
            sale.n_lines = (size_t)lines_n;
            sale.lines = ptrs;
            sale.has_total = 1;
            sale.total = wire_max ? 9 * DN_MAX_QUANTITY * DN_MAX_UNIT_PRICE : at_bound;
            sale.currency = "CNY";
            sale.has_channel = 1;
            sale.channel = DEALERNET__CHANNEL__CHANNEL_STORE;
            sale.seller = (char *)dn_store_info(self->a.store)->partner;
            e.body_case = DEALERNET__EVENT__BODY_SALE;
            e.sale = &sale;
        }
        rc = s_next_event(self, &e, ++seq, prev, &body, &b, k == 0 ? first_sale : NULL, 0);
        if (rc == 0) {
            s_try_held(self, sock, &b, figures, &stored);
            memcpy(prev, b.head, DN_HASH_BYTES);
        }
        free(body.data);
    }
    zmq_close(sock);
    return rc;
}

/*  Prepares one statement counting the rows of central.db whose text
    columns (every TEXT column of every table: what HQ's tables, CSV and
    JSON are made of) hold ?1 as it is.  The events' signed bodies are
    BLOBs and are not read.  */
static int s_raw_text_open(s_attack_t *self, sqlite3_stmt **count)
{
    return s_prepare_over(self, "SELECT 0",
                          "SELECT m.name, p.name FROM sqlite_master m, "
                          "pragma_table_info(m.name) p WHERE m.type = 'table' AND "
                          "m.name NOT LIKE 'sqlite_%' AND upper(p.type) = 'TEXT' "
                          "ORDER BY m.name, p.cid",
                          " + (SELECT count(*) FROM \"%s\" WHERE instr(\"%s\", ?1) > 0)",
                          "the text columns", count);
}

/*  One integer from central.db: sql with ?1 = text, ?2 = blob (NULL: none
    bound), or -1.  */
static long s_count(s_attack_t *self, const char *sql, const char *text,
                    const uint8_t *blob, size_t blob_len)
{
    sqlite3_stmt *stmt;
    long n = -1;
    if (sqlite3_prepare_v2(self->db, sql, -1, &stmt, NULL) != SQLITE_OK)
        return -1;
    if (text)
        sqlite3_bind_text(stmt, 1, text, -1, SQLITE_STATIC);
    if (blob)
        sqlite3_bind_blob(stmt, 2, blob, (int)blob_len, SQLITE_STATIC);
    if (sqlite3_step(stmt) == SQLITE_ROW)
        n = (long)sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return n;
}

/*  14. Invisible format characters in member names, from a hostile agent
    (or one from before the till refused them): site A's next events (all
    its events acked, its own key, a valid chain and signature), for X each
    end of every range dn_valid refuses (issue 11's list), a sign-up of a
    new member named "Li" X "Wei" and an update of it named "Wang" X,
    packed past dn_wire, one event a batch.  Accepted: X as it is in any
    text column of central.db after the event (what HQ's tables, CSV and
    JSON show).  Each event must also be acked, stored, flagged
    hidden_characters, and its member shown as "Li<U+XXXX>Wei" then
    "Wang<U+XXXX>" (a refusal would strand the site's chain: rule 8);
    otherwise the control failed.  Prints "security: bidi controls:
    events: attempts N, accepted A".  */
static int s_bidi(s_attack_t *self)
{
    static const unsigned hidden[] = {0x200B, 0x200F, 0x202A, 0x202E, 0x2060, 0x2064,
                                      0x2066, 0x206F, 0xFEFF, 0x061C, 0x00AD, 0x180E,
                                      0xFFF9, 0xFFFB, 0xE0000, 0xE007F};
    char name[32], shown[64], phone[DN_PHONE_SIZE];
    uint8_t prev[DN_HASH_BYTES], member_id[DN_ID_BYTES], event_id[DN_ID_BYTES];
    sqlite3_stmt *raw = NULL;
    s_batch_t b;
    s_reply_t reply;
    uint64_t applied;
    void *sock;
    int rc;

    if ((rc = s_need(self, "--agent", self->a.store)))
        return rc;
    if ((rc = s_raw_text_open(self, &raw)) != 0)
        return rc;
    if ((rc = s_chain_open(self, &sock, &applied, prev)) != 0) {
        sqlite3_finalize(raw);
        return rc;
    }
    for (size_t k = 0; rc == 0 && k < 2 * (sizeof hidden / sizeof hidden[0]); k++) {
        Dealernet__Event e = DEALERNET__EVENT__INIT;
        Dealernet__MemberSignup signup = DEALERNET__MEMBER_SIGNUP__INIT;
        Dealernet__MemberUpdate update = DEALERNET__MEMBER_UPDATE__INIT;
        ProtobufCBinaryData body = {0, NULL};
        unsigned cp = hidden[k / 2];
        long stored = s_stored(self, self->a.code), raw_rows;
        char c[5];
        uint8_t *buf;
        size_t len;
        /* cp as UTF-8 */
        if (cp < 0x800)
            c[0] = (char)(0xC0 | cp >> 6), c[1] = (char)(0x80 | (cp & 0x3F)), c[2] = 0;
        else if (cp < 0x10000)
            c[0] = (char)(0xE0 | cp >> 12), c[1] = (char)(0x80 | ((cp >> 6) & 0x3F)),
            c[2] = (char)(0x80 | (cp & 0x3F)), c[3] = 0;
        else
            c[0] = (char)(0xF0 | cp >> 18), c[1] = (char)(0x80 | ((cp >> 12) & 0x3F)),
            c[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), c[3] = (char)(0x80 | (cp & 0x3F)),
            c[4] = 0;
        /* a new member for each character: a sign-up, then an update of it */
        if (k % 2 == 0 && dn_id_new(member_id)) {
            rc = s_fail(EX_SOFTWARE, "cannot make a member id");
            break;
        }
        snprintf(phone, sizeof phone, "+86137001370%02zu", k / 2);
        signup.has_member_id = update.has_member_id = 1;
        signup.member_id.data = update.member_id.data = member_id;
        signup.member_id.len = update.member_id.len = DN_ID_BYTES;
        signup.phone = update.phone = phone;
        signup.name = update.name = name;
        if (k % 2 == 0) {
            snprintf(name, sizeof name, "Li%sWei", c);
            snprintf(shown, sizeof shown, "Li<U+%04X>Wei", cp);
            e.body_case = DEALERNET__EVENT__BODY_MEMBER_SIGNUP;
            e.member_signup = &signup;
        } else {
            snprintf(name, sizeof name, "Wang%s", c);
            snprintf(shown, sizeof shown, "Wang<U+%04X>", cp);
            e.body_case = DEALERNET__EVENT__BODY_MEMBER_UPDATE;
            e.member_update = &update;
        }
        rc = s_next_event(self, &e, ++applied, prev, &body, &b, event_id, 1);
        if (rc == 0 && (rc = s_pack_batch(&b, &buf, &len)) == 0) {
            s_exchange(self, sock, buf, len, &reply);
            free(buf);
            self->attempts++;
            sqlite3_bind_text(raw, 1, c, -1, SQLITE_STATIC);
            raw_rows = sqlite3_step(raw) == SQLITE_ROW ? sqlite3_column_int64(raw, 0) : -1;
            sqlite3_reset(raw);
            if (raw_rows != 0) {
                self->accepted++;
                fprintf(stderr, "dn_attack: U+%04X: %ld rows of central.db show it as it is\n",
                        cp, raw_rows);
            }
            if (reply.kind != 'A' || reply.seq != applied ||
                s_stored(self, self->a.code) != stored + 1 ||
                s_count(self,
                        "SELECT count(*) FROM exceptions x JOIN events e ON e.eid = x.eid "
                        "WHERE x.kind = 'hidden_characters' AND x.held = 0 AND e.id = ?2",
                        NULL, event_id, DN_ID_BYTES) != 1 ||
                s_count(self, "SELECT count(*) FROM members WHERE name = ?1", shown, NULL,
                        0) != 1) {
                fprintf(stderr,
                        "dn_attack: U+%04X seq %llu: reply '%c' %s, events stored %ld -> "
                        "%ld; expected acked, stored, flagged and shown as %s\n",
                        cp, (unsigned long long)applied, reply.kind ? reply.kind : '-',
                        reply.text, stored, s_stored(self, self->a.code), shown);
                self->control_failed = 1;
                rc = reply.kind == 'A' ? 0 : EX_SOFTWARE; /* the chain is broken */
            }
            memcpy(prev, b.head, DN_HASH_BYTES);
        }
        free(body.data);
    }
    /* control: the count reads members.name (the last name, escaped) */
    if (rc == 0) {
        sqlite3_bind_text(raw, 1, shown, -1, SQLITE_STATIC);
        if (sqlite3_step(raw) != SQLITE_ROW || sqlite3_column_int64(raw, 0) < 1) {
            fprintf(stderr, "dn_attack: control: no text column holds %s\n", shown);
            self->control_failed = 1;
        }
        sqlite3_reset(raw);
        s_report(self, "bidi controls: events");
    }
    sqlite3_finalize(raw);
    zmq_close(sock);
    return rc;
}

/* -- main ------------------------------------------------------------------ */

static void s_usage(FILE *out)
{
    fprintf(
        out,
        "usage: dn_attack --sync EP --admin EP --server-key Z85 --db CENTRAL.DB\n"
        "                 [--agent DIR] [--other DIR] [--hq-key FILE] [--token T]\n"
        "                 [--site CODE] [--addrs A,B,...] [--log FILE] [--timeout MS]\n"
        "                 ATTACK [ARG]\n\n"
        "attacks (each prints 'security: NAME: attempts N, accepted A'):\n"
        "  unknown-key N        N never-enrolled keys: admin handshake, Hello, push\n"
        "  revoked N            the revoked site --agent: admin handshake, Hello,\n"
        "                       push, enroll, N times each\n"
        "  wrong-server-key N   --agent's key (and --hq-key) with another server key\n"
        "  no-curve N           NULL and PLAIN clients on both sockets\n"
        "  other-site           --agent's connection with --other's identity\n"
        "  bit-flips            every bit of --agent's pending batch (3 lines)\n"
        "  truncated-signature  its signature cut to 0..63 bytes, and none\n"
        "  replay               every range of --agent's acknowledged events\n"
        "  below-hwm            new content under applied seqs\n"
        "  brute-force          wrong tokens for --site from --addrs, then --token\n"
        "  race MS              unknown keys on both sockets for MS ms\n"
        "  aggregate-overflow N BOUND\n"
        "                       --agent's next events: N sales of 9 x 10^18, a refund,\n"
        "                       N sales of BOUND minor units; each stored and held\n"
        "  bidi                 --agent's next events: sign-ups and updates whose\n"
        "                       member names hold each invisible format character:\n"
        "                       stored, flagged, shown as <U+XXXX>, never as sent\n");
}

int main(int argc, char **argv)
{
    static const struct option longs[] = {{"sync", required_argument, NULL, 's'},
                                          {"admin", required_argument, NULL, 'm'},
                                          {"server-key", required_argument, NULL, 'k'},
                                          {"db", required_argument, NULL, 'd'},
                                          {"agent", required_argument, NULL, 'a'},
                                          {"other", required_argument, NULL, 'o'},
                                          {"hq-key", required_argument, NULL, 'q'},
                                          {"token", required_argument, NULL, 't'},
                                          {"site", required_argument, NULL, 'c'},
                                          {"addrs", required_argument, NULL, 'r'},
                                          {"log", required_argument, NULL, 'l'},
                                          {"timeout", required_argument, NULL, 'T'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    static const char *names[] = {"unknown key",
                                  "revoked site",
                                  "wrong server key",
                                  "client without CURVE",
                                  "another site's key",
                                  NULL,
                                  "truncated signature",
                                  "replayed batch",
                                  "seq below the high-water mark",
                                  "enrollment token brute force",
                                  "ZAP before accept (startup race)",
                                  "aggregate overflow",
                                  "bidi controls: events"};
    static const char *modes[] = {"unknown-key",
                                  "revoked",
                                  "wrong-server-key",
                                  "no-curve",
                                  "other-site",
                                  "bit-flips",
                                  "truncated-signature",
                                  "replay",
                                  "below-hwm",
                                  "brute-force",
                                  "race",
                                  "aggregate-overflow",
                                  "bidi"};
    s_attack_t self;
    int c, rc = 0, mode = -1, arg = 0;
    long arg2 = 0;

    memset(&self, 0, sizeof self);
    self.timeout_ms = DN_ATTACK_TIMEOUT_MS;
    dn_log_init("dn_attack", DN_LOG_WARN, 0);
    while ((c = getopt_long(argc, argv, "+h", longs, NULL)) != -1) {
        switch (c) {
        case 's':
            self.sync_ep = optarg;
            break;
        case 'm':
            self.admin_ep = optarg;
            break;
        case 'k':
            self.server_key = optarg;
            break;
        case 'd':
            self.db_path = optarg;
            break;
        case 'a':
            self.agent_dir = optarg;
            break;
        case 'o':
            self.other_dir = optarg;
            break;
        case 'q':
            self.hq_key_path = optarg;
            break;
        case 't':
            self.token = optarg;
            break;
        case 'c':
            self.site_code = optarg;
            break;
        case 'r':
            self.addrs = optarg;
            break;
        case 'l':
            self.log_path = optarg;
            break;
        case 'T':
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
    if (optind < argc)
        for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++)
            if (strcmp(argv[optind], modes[i]) == 0)
                mode = (int)i;
    if (mode >= 0 && optind + 1 < argc)
        arg = atoi(argv[optind + 1]);
    if (mode >= 0 && optind + 2 < argc)
        arg2 = atol(argv[optind + 2]);
    if (!self.sync_ep || !self.admin_ep || strncmp(self.sync_ep, "tcp://", 6) != 0 ||
        !self.server_key || !dn_curve_valid_z85(self.server_key) || !self.db_path ||
        mode < 0 || self.timeout_ms < 1 ||
        ((mode <= 3 || mode == 10 || mode == 11) && arg < 1)) {
        s_usage(stderr);
        return EX_USAGE;
    }
    srand((unsigned)(s_now() ^ getpid()));
    if (!(self.ctx = zmq_ctx_new()))
        return s_fail(EX_SOFTWARE, "no ZeroMQ context");
    if (mode != 10)
        rc = s_rows_open(&self);
    if (rc == 0 && self.agent_dir)
        rc = s_site_open(&self.a, self.agent_dir);
    if (rc == 0 && self.other_dir)
        rc = s_site_open(&self.b, self.other_dir);
    if (rc == 0) {
        switch (mode) {
        case 0:
            rc = s_unknown_key(&self, arg);
            break;
        case 1:
            rc = s_revoked(&self, arg);
            break;
        case 2:
            rc = s_wrong_server_key(&self, arg);
            break;
        case 3:
            rc = s_no_curve(&self, arg);
            break;
        case 4:
            rc = s_other_site(&self);
            break;
        case 5:
            rc = s_bit_flips(&self);
            break;
        case 6:
            rc = s_truncated(&self);
            break;
        case 7:
            rc = s_replay(&self);
            break;
        case 8:
            rc = s_below_hwm(&self);
            break;
        case 9:
            rc = s_brute_force(&self);
            break;
        case 10:
            rc = s_race(&self, arg);
            break;
        case 11:
            rc = s_aggregate_overflow(&self, arg, arg2);
            break;
        default:
            rc = s_bidi(&self);
            break;
        }
    }
    if (rc == 0 && !self.reported)
        s_report(&self, names[mode]);
    if (self.control_failed)
        fprintf(stderr, "dn_attack: %s: a control or an expected refusal did not hold\n",
                modes[mode]);
    sqlite3_finalize(self.rows);
    sqlite3_close(self.db);
    s_site_close(&self.a);
    s_site_close(&self.b);
    zmq_ctx_term(self.ctx);
    if (rc)
        return rc;
    if (self.total_accepted > 0 || self.none_attempted || self.control_failed)
        return 1;
    return 0;
}
