/*  dn_chaos -- a seeded, message-layer chaos proxy between dealernet agents
    and the server, for tests/fault/chaos.sh.

    CurveZMQ is end to end: a proxy that merely relays sockets sees only
    ciphertext, and one that forwarded TCP segments could do no more than
    delay or cut a stream (dropping or repeating a segment breaks the
    stream, not a message).  To drop, duplicate, delay, reorder and replay
    whole sync messages, this proxy is a trusted man in the middle, which
    only a test can be: towards the agents it is the server (a CURVE server
    with the server's own key pair, read from srv/server.key, so the agents
    keep the server key they enrolled with); towards the server it is each
    agent (a CURVE client with that agent's curve.key), so the server's ZAP
    handler still maps every connection to its site.  Its own ZAP handler
    lets in only the agents it was given and tells it which one connected.

    Each agent connection (one sync session) gets its own connection to the
    server, as the agent would have.  Every message either way goes through
    the same dice, from one seeded generator: dropped; or sent once or twice
    (the copy a little later); each copy possibly delayed, and possibly held
    back long enough for later messages to overtake it (reordering).  Every
    PushBatch an agent sends is captured (a uniform sample of the whole
    run, plus batches loaded with --replay-file from an earlier run: "week
    old"), and now and then one captured batch of that agent is re-sent to
    the server on a connection of its own.  The server must answer a replay
    with an ack that changes nothing, or a refusal; the proxy counts the
    answers, and dn_check proves "changes nothing".

    With --batch N it also lowers the batch size the server's Welcome
    offers, so that a few events travel as many batches, several in flight:
    more messages to drop, duplicate and reorder per event.

    The dice follow the seed; the times messages arrive do not, so a seed
    reproduces the kind and rate of faults, not the exact interleaving.

    On SIGTERM or SIGINT it stops taking agents' messages, waits (up to 3 s)
    for the server's answers to the replays in flight, prints one line and
    exits 0:
      chaos: seed S, N messages, dropped N, duplicated N, delayed N, reordered N,
             replayed N (acked N, refused N, unanswered N, resent N)
*/
#include "dn_curve.h"
#include "dn_error.h"
#include "dn_log.h"
#include "dn_wire.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#define EX_USAGE    64
#define EX_SOFTWARE 70

#define DN_CHAOS_MAX_AGENTS   64
#define DN_CHAOS_MAX_SESSIONS 256
#define DN_CHAOS_MAX_QUEUE    8192
#define DN_CHAOS_CAPTURE      512   /* captured batches kept (a uniform sample) */
#define DN_CHAOS_IDLE_MS      20000 /* a session idle this long is closed */
#define DN_CHAOS_ZAP_EP       "inproc://zeromq.zap.01"
#define DN_CHAOS_DUP_GAP_MS   30   /* a duplicate follows within this */
#define DN_CHAOS_CODES        32   /* refusal codes counted one by one */
/*  On stop, wait at most this long for the answers to the replays in
    flight (the wait ends as soon as each is answered).  A replay opens a
    connection of its own, whose CURVE handshake and batch the server
    checks in full: on a loaded machine (tests/stress.sh) 3 s left one of
    55 unanswered.  */
#define DN_CHAOS_DRAIN_MS 20000
/*  A replay connection idle this long, with every replay answered, is
    opened anew before the next replay.  The server's door closes a
    connection that has not shown an enrolled key within 10 s of being
    accepted (server/dn_door.h); after a server restart libzmq reconnects
    the idle replay socket, which is then such a connection, and a replay
    written just as the door closes it is lost before the server reads it.
    An agent opens a connection per sync and speaks at once.  */
#define DN_CHAOS_REPLAY_IDLE_MS 5000
/*  A replay unanswered this long is sent again, with every other
    unanswered one of its agent, on a new connection (the old one closed
    with any late answer): a replay written just before the server stops
    (the test restarts it between rounds) dies with that connection, and
    its answer would never come.  Each resend of an agent's replays doubles
    its wait, so that a slow server (valgrind) is not asked again and again
    before it can answer; an answer brings it back.  An answer is counted
    once either way: on the connection the replay was last sent on.  The
    answers are matched to the replays by their order, so when one of
    several is lost, the one resent may be another of them: any replay
    does, as long as each sent is answered once.  */
#define DN_CHAOS_REPLAY_RETRY_MS 5000
#define DN_CHAOS_MAX_INFLIGHT    64 /* unanswered replays kept per agent */

static volatile sig_atomic_t s_stop;

static void s_on_signal(int sig)
{
    (void)sig;
    s_stop = 1;
}

/*  splitmix64: small, seedable, good enough for dice.  */
static uint64_t s_rng_state;

static uint64_t s_rand(void)
{
    uint64_t z = (s_rng_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/*  1 with probability pct percent.  */
static int s_chance(double pct)
{
    return (double)(s_rand() % 1000000) < pct * 10000.0;
}

static int64_t s_below(int64_t n)
{
    return n > 0 ? (int64_t)(s_rand() % (uint64_t)n) : 0;
}

static int64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

typedef struct {
    uint8_t *data;
    size_t len;
} s_blob_t;

typedef struct {
    dn_curve_pair_t pair;
    uint8_t public_key[DN_CURVE_KEY_BYTES];
    void *replay;      /* DEALER for replays, opened on first use */
    int64_t replay_ms; /* when a replay was last sent on it */
    int64_t retry_ms;  /* how long its unanswered replays wait (0: not yet set) */
    /* replays sent on it and not yet answered, oldest first (the server
       answers a connection's batches in order) */
    s_blob_t inflight[DN_CHAOS_MAX_INFLIGHT];
    int n_inflight;
} s_agent_t;

typedef struct {
    uint64_t id;      /* never reused: queued messages name their session by it */
    uint8_t rid[256]; /* the frontend routing id of the agent's connection */
    size_t rid_len;
    int agent;
    void *backend; /* DEALER to the server with the agent's key */
    int64_t last_ms;
} s_session_t;

enum { S_TO_SERVER, S_TO_AGENT, S_REPLAY };

typedef struct {
    int64_t due_ms;
    int way;          /* S_TO_SERVER, S_TO_AGENT, S_REPLAY */
    uint64_t session; /* session id; for S_REPLAY the agent index */
    uint8_t *data;
    size_t len;
} s_item_t;

typedef struct {
    int agent;
    uint8_t *data;
    size_t len;
} s_capture_t;

typedef struct {
    const char *listen, *server_ep, *keyfile, *replay_file, *capture_file;
    uint64_t seed;
    double drop, dup, delay, reorder, replay;
    int delay_ms;
    int batch; /* rewrite the Welcome's max_batch_events down to this (0: no) */
    void *ctx, *zap, *front;
    dn_curve_pair_t server;
    s_agent_t agents[DN_CHAOS_MAX_AGENTS];
    int n_agents;
    s_session_t sessions[DN_CHAOS_MAX_SESSIONS];
    int n_sessions;
    uint64_t next_session;
    s_item_t queue[DN_CHAOS_MAX_QUEUE];
    int n_queue;
    s_capture_t capture[DN_CHAOS_CAPTURE];
    int n_capture;
    long captured_total;
    /* figures */
    long messages, dropped, duplicated, delayed, reordered, overflow;
    long replayed, replay_acked, replay_refused, replay_other, resent, loaded;
    long refused_by_code[DN_CHAOS_CODES];
} s_chaos_t;

static int s_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int s_fail(int code, const char *fmt, ...)
{
    va_list args;
    fputs("dn_chaos: ", stderr);
    va_start(args, fmt);
    vfprintf(stderr, fmt, args);
    va_end(args);
    fputc('\n', stderr);
    return code;
}

/* -- the ZAP handler: only the agents we were given --------------------------- */

static void s_zap_reply(void *zap, const char *id, size_t id_len, const char *status,
                        const char *user)
{
    zmq_send(zap, "1.0", 3, ZMQ_SNDMORE);
    zmq_send(zap, id, id_len, ZMQ_SNDMORE);
    zmq_send(zap, status, strlen(status), ZMQ_SNDMORE);
    zmq_send(zap, "", 0, ZMQ_SNDMORE);
    zmq_send(zap, user, strlen(user), ZMQ_SNDMORE);
    zmq_send(zap, "", 0, 0);
}

static void s_zap(s_chaos_t *self)
{
    char frame[7][256];
    int len[7] = {0}, n = 0, more = 1;
    size_t more_size = sizeof more;
    while (more) {
        int size = zmq_recv(self->zap, frame[n < 7 ? n : 6], 255, 0);
        if (size < 0)
            return;
        if (n < 7)
            len[n] = size < 255 ? size : 255;
        n++;
        zmq_getsockopt(self->zap, ZMQ_RCVMORE, &more, &more_size);
    }
    if (n < 2)
        return;
    if (n == 7 && len[5] == 5 && memcmp(frame[5], "CURVE", 5) == 0 &&
        len[6] == DN_CURVE_KEY_BYTES) {
        for (int i = 0; i < self->n_agents; i++)
            if (memcmp(frame[6], self->agents[i].public_key, DN_CURVE_KEY_BYTES) == 0) {
                char user[16];
                snprintf(user, sizeof user, "%d", i);
                s_zap_reply(self->zap, frame[1], (size_t)len[1], "200", user);
                return;
            }
    }
    s_zap_reply(self->zap, frame[1], (size_t)len[1], "400", "");
}

/* -- sockets ---------------------------------------------------------------------- */

/*  A DEALER to the server with an agent's key.  */
/*  A connection to the server with the agent's key.  Each agent's
    sessions come from an address of its own (127.0.0.10 + agent), as each
    shop's would, and its replays from another (127.0.0.100 + agent): the
    server's door limits the connections that have not yet shown a key per
    address, and a session whose Hello the dice dropped is such a
    connection until the door closes it.  */
static void *s_dealer(s_chaos_t *self, int agent, int replay)
{
    void *sock = zmq_socket(self->ctx, ZMQ_DEALER);
    int zero = 0;
    char endpoint[300];
    if (strncmp(self->server_ep, "tcp://", 6) == 0)
        snprintf(endpoint, sizeof endpoint, "tcp://127.0.0.%d:0;%s",
                 (replay ? 100 : 10) + agent % 100, self->server_ep + 6);
    else
        snprintf(endpoint, sizeof endpoint, "%s", self->server_ep);
    int64_t max = DN_MAX_SYNC_MSG_BYTES;
    const dn_curve_pair_t *pair = &self->agents[agent].pair;
    if (!sock)
        return NULL;
    if (zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, self->server.public_z85,
                       DN_Z85_KEY_LEN) ||
        zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, pair->public_z85, DN_Z85_KEY_LEN) ||
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, pair->secret_z85, DN_Z85_KEY_LEN) ||
        zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero) ||
        zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &max, sizeof max) ||
        zmq_connect(sock, endpoint) != 0) {
        s_fail(0, "cannot connect to %s: %s", self->server_ep, zmq_strerror(errno));
        zmq_close(sock);
        return NULL;
    }
    return sock;
}

static void s_session_close(s_chaos_t *self, int i)
{
    zmq_close(self->sessions[i].backend);
    self->sessions[i] = self->sessions[--self->n_sessions];
}

/*  The session of a frontend connection, opened on its first message.  */
static s_session_t *s_session(s_chaos_t *self, const uint8_t *rid, size_t rid_len,
                              int agent)
{
    int64_t now = s_now_ms();
    for (int i = 0; i < self->n_sessions; i++) {
        s_session_t *s = &self->sessions[i];
        if (s->rid_len == rid_len && memcmp(s->rid, rid, rid_len) == 0) {
            s->last_ms = now;
            return s;
        }
    }
    if (self->n_sessions == DN_CHAOS_MAX_SESSIONS) { /* close the idlest */
        int oldest = 0;
        for (int i = 1; i < self->n_sessions; i++)
            if (self->sessions[i].last_ms < self->sessions[oldest].last_ms)
                oldest = i;
        s_session_close(self, oldest);
    }
    s_session_t *s = &self->sessions[self->n_sessions];
    memset(s, 0, sizeof *s);
    if (rid_len > sizeof s->rid || !(s->backend = s_dealer(self, agent, 0)))
        return NULL;
    s->id = ++self->next_session;
    memcpy(s->rid, rid, rid_len);
    s->rid_len = rid_len;
    s->agent = agent;
    s->last_ms = now;
    self->n_sessions++;
    return s;
}

static s_session_t *s_session_by_id(s_chaos_t *self, uint64_t id)
{
    for (int i = 0; i < self->n_sessions; i++)
        if (self->sessions[i].id == id)
            return &self->sessions[i];
    return NULL;
}

/* -- the dice -------------------------------------------------------------------- */

static void s_enqueue(s_chaos_t *self, int way, uint64_t session, const void *data,
                      size_t len, int64_t delay_ms)
{
    s_item_t *item;
    if (self->n_queue == DN_CHAOS_MAX_QUEUE) {
        self->overflow++;
        return;
    }
    item = &self->queue[self->n_queue];
    item->data = malloc(len ? len : 1);
    if (!item->data) {
        self->overflow++;
        return;
    }
    memcpy(item->data, data, len);
    item->len = len;
    item->way = way;
    item->session = session;
    item->due_ms = s_now_ms() + delay_ms;
    self->n_queue++;
}

/*  One message through the dice: dropped, or queued once or twice, each
    copy possibly delayed or held back.  */
static void s_dice(s_chaos_t *self, int way, uint64_t session, const void *data,
                   size_t len)
{
    int copies;
    self->messages++;
    if (s_chance(self->drop)) {
        self->dropped++;
        return;
    }
    copies = s_chance(self->dup) ? 2 : 1;
    if (copies == 2)
        self->duplicated++;
    for (int c = 0; c < copies; c++) {
        int64_t delay = c ? 1 + s_below(DN_CHAOS_DUP_GAP_MS) : 0;
        if (s_chance(self->delay)) {
            delay += 1 + s_below(self->delay_ms);
            self->delayed++;
        }
        if (s_chance(self->reorder)) { /* held back: what follows overtakes it */
            delay += self->delay_ms / 2 + s_below(self->delay_ms);
            self->reordered++;
        }
        s_enqueue(self, way, session, data, len, delay);
    }
}

/*  Keeps a uniform sample of every push seen (reservoir sampling), so
    batches from the first minutes stay as likely to come back as new ones.  */
static void s_capture(s_chaos_t *self, int agent, const void *data, size_t len)
{
    int slot;
    uint8_t *copy;
    self->captured_total++;
    if (self->n_capture < DN_CHAOS_CAPTURE)
        slot = self->n_capture++;
    else if ((slot = (int)s_below(self->captured_total)) >= DN_CHAOS_CAPTURE)
        return;
    else
        free(self->capture[slot].data);
    copy = malloc(len ? len : 1);
    self->capture[slot].data = copy;
    self->capture[slot].len = copy ? len : 0;
    self->capture[slot].agent = agent;
    if (copy)
        memcpy(copy, data, len);
    if (copy && self->capture_file) {
        FILE *f = fopen(self->capture_file, "ab");
        uint32_t head[2] = {(uint32_t)agent, (uint32_t)len};
        if (f) {
            fwrite(head, sizeof head, 1, f);
            fwrite(data, 1, len, f);
            fclose(f);
        }
    }
}

/*  Now and then, one old batch of this agent goes to the server again.  */
static void s_maybe_replay(s_chaos_t *self, int agent)
{
    int candidates[DN_CHAOS_CAPTURE], n = 0;
    if (!s_chance(self->replay))
        return;
    for (int i = 0; i < self->n_capture; i++)
        if (self->capture[i].agent == agent && self->capture[i].data)
            candidates[n++] = i;
    if (n == 0)
        return;
    s_capture_t *c = &self->capture[candidates[s_below(n)]];
    self->replayed++;
    s_enqueue(self, S_REPLAY, (uint64_t)agent, c->data, c->len,
              s_below(self->delay_ms + 1));
}

static int s_load_replays(s_chaos_t *self)
{
    FILE *f;
    uint32_t head[2];
    if (!self->replay_file)
        return 0;
    if (!(f = fopen(self->replay_file, "rb")))
        return s_fail(EX_USAGE, "cannot read %s: %s", self->replay_file, strerror(errno));
    while (fread(head, sizeof head, 1, f) == 1) {
        uint8_t *data;
        if (head[1] > DN_MAX_SYNC_MSG_BYTES || (int)head[0] >= self->n_agents)
            break;
        if (!(data = malloc(head[1] ? head[1] : 1)))
            break;
        if (fread(data, 1, head[1], f) != head[1]) {
            free(data);
            break;
        }
        s_capture(self, (int)head[0], data, head[1]);
        free(data);
        self->loaded++;
    }
    self->captured_total = 0; /* what this run sees joins the sample on equal terms */
    fclose(f);
    return 0;
}

/* -- moving messages --------------------------------------------------------------- */

/*  A message from an agent: its routing id, then one frame.  */
static void s_from_agent(s_chaos_t *self)
{
    zmq_msg_t rid, body;
    int more = 0, agent;
    size_t more_size = sizeof more;
    const char *user;

    zmq_msg_init(&rid);
    zmq_msg_init(&body);
    if (zmq_msg_recv(&rid, self->front, ZMQ_DONTWAIT) < 0 ||
        zmq_msg_recv(&body, self->front, 0) < 0)
        goto done;
    zmq_getsockopt(self->front, ZMQ_RCVMORE, &more, &more_size);
    while (more) { /* agents send one frame; drop anything more */
        zmq_msg_t rest;
        zmq_msg_init(&rest);
        zmq_msg_recv(&rest, self->front, 0);
        zmq_msg_close(&rest);
        zmq_getsockopt(self->front, ZMQ_RCVMORE, &more, &more_size);
    }
    user = zmq_msg_gets(&body, "User-Id");
    agent = user ? atoi(user) : -1;
    if (agent < 0 || agent >= self->n_agents)
        goto done;
    s_session_t *s = s_session(self, zmq_msg_data(&rid), zmq_msg_size(&rid), agent);
    if (!s)
        goto done;
    const uint8_t *data = zmq_msg_data(&body);
    size_t len = zmq_msg_size(&body);
    Dealernet__SyncMessage *msg = NULL;
    char why[DN_WHY_SIZE];
    if (dn_wire_sync_unpack(data, len, &msg, why, sizeof why) == 0) {
        if (msg->body_case == DEALERNET__SYNC_MESSAGE__BODY_PUSH)
            s_capture(self, agent, data, len);
        s_maybe_replay(self, agent);
    }
    dn_wire_sync_free(&msg);
    s_dice(self, S_TO_SERVER, s->id, data, len);
done:
    zmq_msg_close(&rid);
    zmq_msg_close(&body);
}

/*  A reply from the server on a session's backend.  */
static void s_from_server(s_chaos_t *self, s_session_t *s)
{
    zmq_msg_t body;
    int more = 0;
    size_t more_size = sizeof more;
    zmq_msg_init(&body);
    if (zmq_msg_recv(&body, s->backend, ZMQ_DONTWAIT) >= 0) {
        uint8_t *data = zmq_msg_data(&body), *packed = NULL;
        size_t len = zmq_msg_size(&body);
        Dealernet__SyncMessage *msg = NULL;
        char why[DN_WHY_SIZE];
        zmq_getsockopt(s->backend, ZMQ_RCVMORE, &more, &more_size);
        /* Small batches: more messages, more faults per event.  */
        if (!more && self->batch > 0 &&
            dn_wire_sync_unpack(data, len, &msg, why, sizeof why) == 0 &&
            msg->body_case == DEALERNET__SYNC_MESSAGE__BODY_WELCOME &&
            msg->welcome->max_batch_events > (uint32_t)self->batch) {
            msg->welcome->max_batch_events = (uint32_t)self->batch;
            if (dn_wire_sync_pack(msg, &packed, &len, why, sizeof why) == 0)
                data = packed;
            else
                len = zmq_msg_size(&body);
        }
        dn_wire_sync_free(&msg);
        if (!more)
            s_dice(self, S_TO_AGENT, s->id, data, len);
        free(packed);
        s->last_ms = s_now_ms();
    }
    zmq_msg_close(&body);
}

/*  The server's answer to a replay: counted, never forwarded.  */
static void s_replay_answer(s_chaos_t *self, void *sock)
{
    zmq_msg_t body;
    Dealernet__SyncMessage *msg = NULL;
    char why[DN_WHY_SIZE];
    zmq_msg_init(&body);
    if (zmq_msg_recv(&body, sock, ZMQ_DONTWAIT) >= 0) {
        if (dn_wire_sync_unpack(zmq_msg_data(&body), zmq_msg_size(&body), &msg, why,
                                sizeof why) != 0)
            self->replay_other++;
        else if (msg->body_case == DEALERNET__SYNC_MESSAGE__BODY_ACK)
            self->replay_acked++;
        else if (msg->body_case == DEALERNET__SYNC_MESSAGE__BODY_REFUSED) {
            self->replay_refused++;
            if (msg->refused->code >= 0 && msg->refused->code < DN_CHAOS_CODES)
                self->refused_by_code[msg->refused->code]++;
        } else
            self->replay_other++;
        dn_wire_sync_free(&msg);
    }
    zmq_msg_close(&body);
}

/*  Sends again, on a new connection, the unanswered replays of each agent
    whose last replay has waited DN_CHAOS_REPLAY_RETRY_MS.  */
static void s_replay_retry(s_chaos_t *self)
{
    int64_t now = s_now_ms();
    for (int i = 0; i < self->n_agents; i++) {
        s_agent_t *a = &self->agents[i];
        int64_t wait = a->retry_ms ? a->retry_ms : DN_CHAOS_REPLAY_RETRY_MS;
        if (a->n_inflight == 0 || now - a->replay_ms < wait)
            continue;
        if (a->replay)
            zmq_close(a->replay);
        a->replay = s_dealer(self, i, 1);
        a->replay_ms = now;
        a->retry_ms = wait * 2;
        for (int k = 0; a->replay && k < a->n_inflight; k++)
            if (zmq_send(a->replay, a->inflight[k].data, a->inflight[k].len,
                         ZMQ_DONTWAIT) >= 0)
                self->resent++;
    }
}

/*  The oldest unanswered replay of agent a was answered.  */
static void s_replay_answered(s_agent_t *a)
{
    if (a->n_inflight == 0)
        return;
    a->retry_ms = 0;
    free(a->inflight[0].data);
    memmove(a->inflight, a->inflight + 1, (size_t)--a->n_inflight * sizeof *a->inflight);
}

/*  1 when no replay is queued and every replay sent was answered.  */
static int s_replays_settled(const s_chaos_t *self)
{
    for (int i = 0; i < self->n_queue; i++)
        if (self->queue[i].way == S_REPLAY)
            return 0;
    return self->replay_acked + self->replay_refused + self->replay_other ==
           self->replayed;
}

/*  Sends every queued message that is due; returns ms until the next.  */
static int s_deliver(s_chaos_t *self)
{
    int64_t now = s_now_ms(), next = 100;
    for (int i = 0; i < self->n_queue;) {
        s_item_t *item = &self->queue[i];
        if (item->due_ms > now) {
            if (item->due_ms - now < next)
                next = item->due_ms - now;
            i++;
            continue;
        }
        if (item->way == S_REPLAY) {
            s_agent_t *a = &self->agents[item->session];
            if (a->n_inflight == DN_CHAOS_MAX_INFLIGHT) {
                i++; /* kept queued until an answer makes room */
                continue;
            }
            if (a->replay && a->n_inflight == 0 &&
                now - a->replay_ms > DN_CHAOS_REPLAY_IDLE_MS) {
                zmq_close(a->replay);
                a->replay = NULL;
            }
            if (!a->replay)
                a->replay = s_dealer(self, (int)item->session, 1);
            if (a->replay &&
                zmq_send(a->replay, item->data, item->len, ZMQ_DONTWAIT) >= 0) {
                a->replay_ms = now;
                a->inflight[a->n_inflight++] = (s_blob_t){item->data, item->len};
                item->data = NULL; /* the agent's now */
            }
        } else {
            s_session_t *s = s_session_by_id(self, item->session);
            if (s && item->way == S_TO_SERVER) {
                zmq_send(s->backend, item->data, item->len, ZMQ_DONTWAIT);
            } else if (s) {
                zmq_send(self->front, s->rid, s->rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT);
                zmq_send(self->front, item->data, item->len, ZMQ_DONTWAIT);
            }
        }
        free(item->data);
        self->queue[i] = self->queue[--self->n_queue];
    }
    return (int)next;
}

static void s_expire(s_chaos_t *self)
{
    int64_t now = s_now_ms();
    for (int i = 0; i < self->n_sessions;)
        if (now - self->sessions[i].last_ms > DN_CHAOS_IDLE_MS)
            s_session_close(self, i);
        else
            i++;
}

static int s_run(s_chaos_t *self)
{
    int one = 1, zero = 0;
    int64_t max = DN_MAX_SYNC_MSG_BYTES;
    zmq_pollitem_t items[2 + DN_CHAOS_MAX_SESSIONS + DN_CHAOS_MAX_AGENTS];

    self->ctx = zmq_ctx_new();
    self->zap = self->ctx ? zmq_socket(self->ctx, ZMQ_REP) : NULL;
    if (!self->zap || zmq_bind(self->zap, DN_CHAOS_ZAP_EP) != 0)
        return s_fail(EX_SOFTWARE, "cannot bind the ZAP handler: %s",
                      zmq_strerror(errno));
    zmq_setsockopt(self->zap, ZMQ_LINGER, &zero, sizeof zero);
    self->front = zmq_socket(self->ctx, ZMQ_ROUTER);
    if (!self->front || zmq_setsockopt(self->front, ZMQ_CURVE_SERVER, &one, sizeof one) ||
        zmq_setsockopt(self->front, ZMQ_CURVE_SECRETKEY, self->server.secret_z85,
                       DN_Z85_KEY_LEN) ||
        zmq_setsockopt(self->front, ZMQ_ZAP_DOMAIN, "sync", 4) ||
        zmq_setsockopt(self->front, ZMQ_MAXMSGSIZE, &max, sizeof max) ||
        zmq_setsockopt(self->front, ZMQ_LINGER, &zero, sizeof zero) ||
        zmq_bind(self->front, self->listen) != 0)
        return s_fail(EX_SOFTWARE, "cannot listen on %s: %s", self->listen,
                      zmq_strerror(errno));
    printf("chaos: listening on %s for %d agents, server %s\n", self->listen,
           self->n_agents, self->server_ep);
    fflush(stdout);

    int64_t drain_until = 0;
    for (;;) {
        int n = 0, timeout;
        if (s_stop && !drain_until) /* stop: answers to the replays in flight first */
            drain_until = s_now_ms() + DN_CHAOS_DRAIN_MS;
        if (drain_until && (s_now_ms() >= drain_until || s_replays_settled(self)))
            break;
        s_replay_retry(self);
        timeout = s_deliver(self);
        items[n++] = (zmq_pollitem_t){self->zap, 0, ZMQ_POLLIN, 0};
        items[n++] = (zmq_pollitem_t){self->front, 0, ZMQ_POLLIN, 0};
        for (int i = 0; i < self->n_sessions; i++)
            items[n++] = (zmq_pollitem_t){self->sessions[i].backend, 0, ZMQ_POLLIN, 0};
        for (int i = 0; i < self->n_agents; i++)
            if (self->agents[i].replay)
                items[n++] = (zmq_pollitem_t){self->agents[i].replay, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(items, n, timeout) < 0) {
            if (errno == EINTR)
                continue;
            return s_fail(EX_SOFTWARE, "poll: %s", zmq_strerror(errno));
        }
        if (items[0].revents & ZMQ_POLLIN)
            s_zap(self);
        /* The backends first: the session array may change below.  */
        int k = 2;
        uint64_t ready[DN_CHAOS_MAX_SESSIONS];
        int n_ready = 0;
        for (int i = 0; i < self->n_sessions; i++, k++)
            if (items[k].revents & ZMQ_POLLIN)
                ready[n_ready++] = self->sessions[i].id;
        for (int i = 0; i < self->n_agents; i++)
            if (self->agents[i].replay) {
                if (items[k].revents & ZMQ_POLLIN) {
                    s_replay_answer(self, self->agents[i].replay);
                    s_replay_answered(&self->agents[i]);
                }
                k++;
            }
        for (int i = 0; i < n_ready; i++) {
            s_session_t *s = s_session_by_id(self, ready[i]);
            if (s)
                s_from_server(self, s);
        }
        if ((items[1].revents & ZMQ_POLLIN) && !drain_until)
            s_from_agent(self);
        s_expire(self);
    }
    return 0;
}

static void s_usage(FILE *out)
{
    fprintf(
        out,
        "usage: dn_chaos --listen EP --server EP --server-keyfile FILE --agent DIR...\n"
        "                [--seed N] [--drop PCT] [--dup PCT] [--delay PCT] [--delay-ms "
        "MS]\n"
        "                [--reorder PCT] [--replay PCT] [--capture FILE]\n"
        "                [--replay-file FILE] [--batch N]\n\n"
        "A test-only trusted proxy: the server towards the agents (with the server's\n"
        "key pair from --server-keyfile), each agent towards the server (with DIR's\n"
        "curve.key).  Drops, duplicates, delays and reorders sync messages both ways,\n"
        "and replays captured batches (from this run, and from --replay-file), all\n"
        "by one seeded generator.  --capture appends every captured batch to FILE\n"
        "for a later run's --replay-file.  --batch N lowers the batch size the\n"
        "server's Welcome offers to N events (more, smaller batches).  Stops on\n"
        "SIGTERM and prints its figures.\n");
}

static int s_pct(const char *text, double *v)
{
    char *end;
    *v = strtod(text, &end);
    return *end || *v < 0 || *v > 100 ? -1 : 0;
}

int main(int argc, char **argv)
{
    static const struct option longs[] = {
        {"listen", required_argument, NULL, 'l'},
        {"server", required_argument, NULL, 's'},
        {"server-keyfile", required_argument, NULL, 'k'},
        {"agent", required_argument, NULL, 'a'},
        {"seed", required_argument, NULL, 'S'},
        {"drop", required_argument, NULL, 'd'},
        {"dup", required_argument, NULL, 'u'},
        {"delay", required_argument, NULL, 'y'},
        {"delay-ms", required_argument, NULL, 'm'},
        {"reorder", required_argument, NULL, 'r'},
        {"replay", required_argument, NULL, 'p'},
        {"capture", required_argument, NULL, 'c'},
        {"replay-file", required_argument, NULL, 'f'},
        {"batch", required_argument, NULL, 'b'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    static s_chaos_t self;
    const char *agent_dirs[DN_CHAOS_MAX_AGENTS];
    struct sigaction sa;
    int c, rc, bad = 0;

    dn_log_init("dn_chaos", DN_LOG_ERROR, 0);
    self.delay_ms = 200;
    while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (c) {
        case 'l':
            self.listen = optarg;
            break;
        case 's':
            self.server_ep = optarg;
            break;
        case 'k':
            self.keyfile = optarg;
            break;
        case 'a':
            if (self.n_agents == DN_CHAOS_MAX_AGENTS)
                return s_fail(EX_USAGE, "at most %d agents", DN_CHAOS_MAX_AGENTS);
            agent_dirs[self.n_agents++] = optarg;
            break;
        case 'S':
            self.seed = strtoull(optarg, NULL, 10);
            break;
        case 'd':
            bad |= s_pct(optarg, &self.drop);
            break;
        case 'u':
            bad |= s_pct(optarg, &self.dup);
            break;
        case 'y':
            bad |= s_pct(optarg, &self.delay);
            break;
        case 'r':
            bad |= s_pct(optarg, &self.reorder);
            break;
        case 'p':
            bad |= s_pct(optarg, &self.replay);
            break;
        case 'm':
            self.delay_ms = atoi(optarg);
            break;
        case 'c':
            self.capture_file = optarg;
            break;
        case 'f':
            self.replay_file = optarg;
            break;
        case 'b':
            self.batch = atoi(optarg);
            break;
        case 'h':
            s_usage(stdout);
            return 0;
        default:
            s_usage(stderr);
            return EX_USAGE;
        }
    }
    if (bad || !self.listen || !self.server_ep || !self.keyfile || !self.n_agents ||
        self.delay_ms < 1 || optind < argc) {
        s_usage(stderr);
        return EX_USAGE;
    }
    s_rng_state = self.seed;
    if ((rc = dn_curve_load(self.keyfile, &self.server)) != 0)
        return s_fail(EX_USAGE, "cannot read the server key pair %s: %s", self.keyfile,
                      dn_strerror(rc));
    for (int i = 0; i < self.n_agents; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/curve.key", agent_dirs[i]);
        if ((rc = dn_curve_load(path, &self.agents[i].pair)) != 0 ||
            dn_curve_decode(self.agents[i].pair.public_z85, self.agents[i].public_key) !=
                0)
            return s_fail(EX_USAGE, "cannot read the agent key pair %s: %s", path,
                          dn_strerror(rc));
    }
    if ((rc = s_load_replays(&self)) != 0)
        return rc;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    rc = s_run(&self);

    char codes[256] = "";
    for (int i = 0; i < DN_CHAOS_CODES; i++) {
        const ProtobufCEnumValue *v =
            protobuf_c_enum_descriptor_get_value(&dealernet__refuse_code__descriptor, i);
        size_t used = strlen(codes);
        if (self.refused_by_code[i] && used < sizeof codes)
            snprintf(codes + used, sizeof codes - used, "%s%s %ld", used ? ", " : ": ",
                     v ? v->name : "?", self.refused_by_code[i]);
    }
    printf("chaos: seed %llu, %ld messages, dropped %ld, duplicated %ld, delayed %ld, "
           "reordered %ld, replayed %ld (acked %ld, refused %ld%s, unanswered %ld, "
           "resent %ld), %ld old batches loaded, %ld captured\n",
           (unsigned long long)self.seed, self.messages, self.dropped, self.duplicated,
           self.delayed, self.reordered, self.replayed, self.replay_acked,
           self.replay_refused, codes,
           self.replayed - self.replay_acked - self.replay_refused - self.replay_other,
           self.resent, self.loaded, self.captured_total);
    fflush(stdout);
    for (int i = 0; i < self.n_queue; i++)
        free(self.queue[i].data);
    for (int i = 0; i < self.n_capture; i++)
        free(self.capture[i].data);
    while (self.n_sessions)
        s_session_close(&self, 0);
    for (int i = 0; i < self.n_agents; i++) {
        if (self.agents[i].replay)
            zmq_close(self.agents[i].replay);
        while (self.agents[i].n_inflight)
            s_replay_answered(&self.agents[i]);
    }
    if (self.front)
        zmq_close(self.front);
    if (self.zap)
        zmq_close(self.zap);
    if (self.ctx)
        zmq_ctx_term(self.ctx);
    return rc;
}
