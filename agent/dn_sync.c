/*  dn_sync -- enrollment, sync and the sync daemon (see dn_sync.h).

    One session = one fresh DEALER socket: Hello, Welcome (the server's
    applied seq), then batches with up to `window` in flight, each acked
    cumulatively.  Any doubt -- a reply timeout, a gap refusal, a server
    that could not commit -- ends the session; the next one resends from
    the last ack, and the server skips what it already applied after
    checking it is the very same bytes, so a resend never skips or repeats
    an event on the server.
*/
#include "dn_sync.h"
#include "dn_crypto.h"
#include "dn_curve.h"
#include "dn_error.h"
#include "dn_log.h"
#include "dn_outbox.h"
#include "dn_protocol.h"
#include "dn_time.h"
#include "dn_wire.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define DN_AGENT_VERSION     "0.1.0"
#define DN_SYNC_MAX_WINDOW   64
#define DN_REPLY_BYTES       (64 * 1024) /* replies are small */

static int s_fail(char *why, size_t size, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int s_fail(char *why, size_t size, int rc, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    vsnprintf(why, size, fmt, args);
    va_end(args);
    return rc;
}

static int s_path(char *buf, size_t size, const char *dir, const char *file)
{
    int n = snprintf(buf, size, "%s/%s", dir, file);
    return n > 0 && (size_t)n < size ? 0 : DN_EINVAL;
}

/*  A fresh CURVE client socket connected to endpoint.  */
static void *s_connect(void *ctx, const char *endpoint, const char *server_key,
                       const dn_curve_pair_t *pair, int timeout_ms)
{
    void *sock = zmq_socket(ctx, ZMQ_DEALER);
    int zero = 0, one = 1;
    int64_t max = DN_REPLY_BYTES;
    if (!sock)
        return NULL;
    if (zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, server_key, DN_Z85_KEY_LEN) ||
        zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, pair->public_z85, DN_Z85_KEY_LEN) ||
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, pair->secret_z85, DN_Z85_KEY_LEN) ||
        zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero) ||
        zmq_setsockopt(sock, ZMQ_IMMEDIATE, &one, sizeof one) ||
        zmq_setsockopt(sock, ZMQ_SNDTIMEO, &timeout_ms, sizeof timeout_ms) ||
        zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &max, sizeof max) ||
        zmq_connect(sock, endpoint) != 0) {
        dn_log_error("cannot connect to %s: %s", endpoint, zmq_strerror(errno));
        zmq_close(sock);
        return NULL;
    }
    return sock;
}

/*  Packs and sends msg.  Returns 0, DN_ETIMEDOUT (not connected in time).  */
static int s_send(void *sock, const Dealernet__SyncMessage *msg)
{
    uint8_t *buf;
    size_t len;
    char why[DN_WHY_SIZE];
    int rc = dn_wire_sync_pack(msg, &buf, &len, why, sizeof why);
    if (rc) {
        dn_log_error("cannot pack a sync message: %s", why);
        return rc;
    }
    rc = zmq_send(sock, buf, len, 0) == (int)len ? 0 : DN_ETIMEDOUT;
    free(buf);
    return rc;
}

/*  Waits up to timeout_ms for one reply.  Returns 0 and *msg, DN_ETIMEDOUT,
    or DN_EPROTO for a reply that does not decode (treated as lost).  */
static int s_recv(void *sock, int timeout_ms, Dealernet__SyncMessage **msg)
{
    zmq_pollitem_t item = {sock, 0, ZMQ_POLLIN, 0};
    zmq_msg_t frame;
    char why[DN_WHY_SIZE];
    int rc;
    *msg = NULL;
    if (zmq_poll(&item, 1, timeout_ms) <= 0)
        return DN_ETIMEDOUT;
    zmq_msg_init(&frame);
    if (zmq_msg_recv(&frame, sock, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&frame);
        return DN_ETIMEDOUT;
    }
    rc = zmq_msg_more(&frame)
             ? DN_EPROTO
             : dn_wire_sync_unpack(zmq_msg_data(&frame), zmq_msg_size(&frame), msg, why,
                                   sizeof why);
    if (rc)
        dn_log_warn("dropped a malformed reply from the server: %s", rc == DN_EPROTO ? why : "");
    zmq_msg_close(&frame);
    return rc;
}

/*  What a refusal means for the agent.  */
static int s_refusal(const Dealernet__Refused *refused, dn_sync_result_t *r)
{
    r->refused = refused->code;
    snprintf(r->error, sizeof r->error, "server refused: %s", refused->text);
    switch (refused->code) {
    case DEALERNET__REFUSE_CODE__REFUSE_GAP:
    case DEALERNET__REFUSE_CODE__REFUSE_INTERNAL:
    case DEALERNET__REFUSE_CODE__REFUSE_RATE_LIMITED:
        return DN_EAGAIN; /* reconnect and resume from the server's seq */
    case DEALERNET__REFUSE_CODE__REFUSE_NOT_ENROLLED:
    case DEALERNET__REFUSE_CODE__REFUSE_REVOKED:
        return DN_EPERM;
    default:
        return DN_EPROTO;
    }
}

/* -- enrollment ------------------------------------------------------------ */

int dn_sync_enroll(dn_store_t *store, const char *dir, const char *endpoint,
                   const char *server_key, const char *token, int timeout_ms, char *why,
                   size_t why_size)
{
    Dealernet__SyncMessage msg = DEALERNET__SYNC_MESSAGE__INIT, *reply = NULL;
    Dealernet__EnrollRequest req = DEALERNET__ENROLL_REQUEST__INIT;
    char path[4096], existing[256];
    uint8_t sign_pub[DN_PUBKEY_BYTES];
    dn_curve_pair_t pair;
    dn_key_t *key;
    void *ctx, *sock;
    int rc;

    if (dn_store_meta_get(store, "server_endpoint", existing, sizeof existing) == 0)
        return s_fail(why, why_size, DN_EEXIST, "this site is already enrolled with %s",
                      existing);
    if (!dn_curve_valid_z85(server_key))
        return s_fail(why, why_size, DN_EINVAL,
                      "server key must be the 40-character Z85 key printed by "
                      "'dealernet-server init'");
    if (s_path(path, sizeof path, dir, DN_AGENT_KEY_FILE) || !(key = dn_key_load(path)))
        return s_fail(why, why_size, DN_EIO, "cannot read the site key %s", path);
    rc = dn_key_public(key, sign_pub);
    dn_key_destroy(&key);
    if (rc)
        return s_fail(why, why_size, rc, "cannot read the site key's public half");

    /* Reuse the key of an earlier attempt whose answer was lost.  */
    s_path(path, sizeof path, dir, DN_AGENT_CURVE_FILE);
    rc = dn_curve_load(path, &pair);
    if (rc == DN_ENOENT && (rc = dn_curve_generate(&pair)) == 0)
        rc = dn_curve_save(&pair, path);
    if (rc)
        return s_fail(why, why_size, rc, "cannot create %s: %s", path, dn_strerror(rc));

    req.token = (char *)token;
    req.site = (char *)dn_store_info(store)->site;
    req.has_sign_key = 1;
    req.sign_key.data = sign_pub;
    req.sign_key.len = DN_PUBKEY_BYTES;
    req.agent_version = DN_AGENT_VERSION;
    msg.body_case = DEALERNET__SYNC_MESSAGE__BODY_ENROLL;
    msg.enroll = &req;

    ctx = zmq_ctx_new();
    sock = ctx ? s_connect(ctx, endpoint, server_key, &pair, timeout_ms) : NULL;
    memset(&pair, 0, sizeof pair);
    rc = sock ? s_send(sock, &msg) : DN_EINVAL;
    if (rc == 0)
        rc = s_recv(sock, timeout_ms, &reply);
    if (rc == DN_EINVAL)
        s_fail(why, why_size, rc, "cannot connect to '%s' (an endpoint is like "
               "tcp://server.example:7700)", endpoint);
    else if (rc)
        s_fail(why, why_size, DN_ETIMEDOUT,
               "no answer from %s within %d s: is the server running there, and is the "
               "server key right?",
               endpoint, timeout_ms / 1000);
    else if (reply->body_case == DEALERNET__SYNC_MESSAGE__BODY_REFUSED)
        rc = s_fail(why, why_size, DN_EPERM, "enrollment refused: %s", reply->refused->text);
    else if (reply->body_case != DEALERNET__SYNC_MESSAGE__BODY_ENROLLED ||
             strcmp(reply->enrolled->site, dn_store_info(store)->site) != 0)
        rc = s_fail(why, why_size, DN_EPROTO, "the server answered something unexpected");
    if (rc == 0) {
        rc = dn_store_begin(store);
        if (rc == 0)
            rc = dn_store_meta_set(store, "server_endpoint", endpoint);
        if (rc == 0)
            rc = dn_store_meta_set(store, "server_key", server_key);
        if (rc == 0)
            rc = dn_store_commit(store);
        if (rc) {
            dn_store_rollback(store);
            s_fail(why, why_size, rc, "enrolled, but could not record it in agent.db");
        }
    }
    if (rc == DN_ETIMEDOUT || rc == DN_EINVAL)
        rc = rc == DN_EINVAL ? DN_EINVAL : DN_ETIMEDOUT;
    dn_wire_sync_free(&reply);
    if (sock)
        zmq_close(sock);
    if (ctx)
        zmq_ctx_term(ctx);
    return rc;
}

/* -- sync ---------------------------------------------------------------- */

typedef struct {
    dn_store_t *store;
    dn_key_t *key;
    void *ctx;
    const char *endpoint, *server_key;
    dn_curve_pair_t pair;
    int reply_timeout_ms;
    int progress;
    dn_sync_result_t *r;
} s_sync_t;

static void s_progress(s_sync_t *self, int done)
{
    if (!self->progress)
        return;
    fprintf(stderr, "\rsync: %llu of %llu events acknowledged%s",
            (unsigned long long)self->r->acked_through,
            (unsigned long long)self->r->head_seq, done ? "\n" : "   ");
    fflush(stderr);
}

/*  Acknowledges locally what the server holds.  */
static int s_acked(s_sync_t *self, uint64_t through)
{
    int rc;
    if (through <= self->r->acked_through)
        return 0;
    if (through > self->r->head_seq) {
        snprintf(self->r->error, sizeof self->r->error,
                 "the server holds seq %llu but this site's log ends at %llu: was agent.db "
                 "restored from an old copy?",
                 (unsigned long long)through, (unsigned long long)self->r->head_seq);
        return DN_EPROTO;
    }
    rc = dn_outbox_ack(self->store, through);
    if (rc == 0)
        self->r->acked_through = through;
    s_progress(self, 0);
    return rc;
}

/*  Reads, signs and sends the batch starting at seq from.  Sets *last.  */
static int s_push(s_sync_t *self, void *sock, uint64_t from, size_t max_events,
                  uint64_t *last)
{
    Dealernet__SyncMessage msg = DEALERNET__SYNC_MESSAGE__INIT;
    Dealernet__PushBatch push = DEALERNET__PUSH_BATCH__INIT;
    dn_outbox_batch_t batch;
    uint8_t signed_bytes[DN_BATCH_SIGNED_MAX], sig[DN_SIG_BYTES];
    size_t signed_len;
    int rc = dn_outbox_read(self->store, from, max_events, DN_MAX_BATCH_BYTES, &batch);
    if (rc)
        return rc;
    if (batch.n == 0) {
        dn_outbox_batch_free(&batch);
        return DN_ECHAIN;
    }
    signed_len = dn_wire_batch_signed(dn_store_info(self->store)->site, batch.last_seq,
                                      batch.head, signed_bytes);
    rc = dn_key_sign(self->key, signed_bytes, signed_len, sig);
    if (rc == 0) {
        push.has_first_seq = 1;
        push.first_seq = batch.first_seq;
        push.n_events = batch.n;
        push.events = batch.events;
        push.has_chain_head = 1;
        push.chain_head.data = batch.head;
        push.chain_head.len = DN_HASH_BYTES;
        push.has_signature = 1;
        push.signature.data = sig;
        push.signature.len = DN_SIG_BYTES;
        msg.body_case = DEALERNET__SYNC_MESSAGE__BODY_PUSH;
        msg.push = &push;
        rc = s_send(sock, &msg);
    }
    if (rc == 0) {
        *last = batch.last_seq;
        self->r->sent_events += batch.n;
    }
    dn_outbox_batch_free(&batch);
    return rc;
}

/*  One session on a fresh socket.  Returns 0 when everything up to the
    head is acknowledged, DN_EAGAIN to reconnect and resume, or a final
    error.  */
static int s_session(s_sync_t *self)
{
    Dealernet__SyncMessage msg = DEALERNET__SYNC_MESSAGE__INIT, *reply = NULL;
    Dealernet__Hello hello = DEALERNET__HELLO__INIT;
    dn_outbox_position_t pos;
    uint64_t inflight[DN_SYNC_MAX_WINDOW], next;
    size_t window, max_events, n_inflight = 0;
    void *sock;
    int rc;

    if ((rc = dn_outbox_position(self->store, &pos)) != 0)
        return rc;
    self->r->head_seq = pos.head_seq;
    if (self->r->acked_through < pos.acked_seq)
        self->r->acked_through = pos.acked_seq;
    sock = s_connect(self->ctx, self->endpoint, self->server_key, &self->pair,
                     self->reply_timeout_ms);
    if (!sock)
        return DN_EINVAL;
    self->r->connects++;

    hello.has_protocol = 1;
    hello.protocol = DN_PROTOCOL_VERSION;
    hello.agent_version = DN_AGENT_VERSION;
    hello.has_pending = 1;
    hello.pending = pos.pending;
    hello.has_clock_ms = 1;
    hello.clock_ms = dn_time_now_ms();
    hello.has_head_seq = 1;
    hello.head_seq = pos.head_seq;
    if (pos.pending) {
        hello.has_oldest_pending_ms = 1;
        hello.oldest_pending_ms = pos.oldest_pending_ms;
    }
    msg.body_case = DEALERNET__SYNC_MESSAGE__BODY_HELLO;
    msg.hello = &hello;
    rc = s_send(sock, &msg);
    if (rc == 0)
        rc = s_recv(sock, self->reply_timeout_ms, &reply);
    if (rc) {
        snprintf(self->r->error, sizeof self->r->error, "no answer from %s",
                 self->endpoint);
        rc = DN_EAGAIN;
        goto done;
    }
    if (reply->body_case == DEALERNET__SYNC_MESSAGE__BODY_REFUSED) {
        rc = s_refusal(reply->refused, self->r);
        goto done;
    }
    if (reply->body_case != DEALERNET__SYNC_MESSAGE__BODY_WELCOME) {
        rc = DN_EAGAIN;
        goto done;
    }
    window = reply->welcome->window < DN_SYNC_MAX_WINDOW ? reply->welcome->window
                                                         : DN_SYNC_MAX_WINDOW;
    max_events = reply->welcome->max_batch_events;
    /* Resend from our own last ack, not from the server's applied seq: the
       server checks every event it already holds against what it stored
       (REFUSE_TAMPER if it differs), so a lost ack never lets a changed
       event be marked synced unchecked.  A server ahead of our head is
       still an error (s_acked says so).  */
    if (reply->welcome->applied_seq > pos.head_seq)
        rc = s_acked(self, reply->welcome->applied_seq);
    dn_wire_sync_free(&reply);
    if (rc)
        goto done;
    next = self->r->acked_through + 1;

    while (rc == 0 && self->r->acked_through < pos.head_seq) {
        while (n_inflight < window && next <= pos.head_seq) {
            uint64_t last;
            if ((rc = s_push(self, sock, next, max_events, &last)) != 0)
                break;
            inflight[n_inflight++] = last;
            next = last + 1;
        }
        if (rc)
            break;
        if (s_recv(sock, self->reply_timeout_ms, &reply) != 0) {
            snprintf(self->r->error, sizeof self->r->error,
                     "no answer from %s within %d ms", self->endpoint,
                     self->reply_timeout_ms);
            rc = DN_EAGAIN;
            break;
        }
        if (reply->body_case == DEALERNET__SYNC_MESSAGE__BODY_ACK) {
            /* One reply per batch, in order: a batch counts as acked only
               with its own reply, even if the server applied more.  */
            uint64_t through = reply->ack->acked_through;
            size_t keep = 0;
            if (n_inflight && through > inflight[0])
                through = inflight[0];
            rc = s_acked(self, through);
            for (size_t i = 0; i < n_inflight; i++)
                if (inflight[i] > self->r->acked_through)
                    inflight[keep++] = inflight[i];
            n_inflight = keep;
        } else if (reply->body_case == DEALERNET__SYNC_MESSAGE__BODY_REFUSED) {
            rc = s_refusal(reply->refused, self->r);
        } else {
            rc = DN_EAGAIN;
        }
        dn_wire_sync_free(&reply);
    }
    if (rc == DN_ETIMEDOUT) /* a send that found no connection in time */
        rc = DN_EAGAIN;
done:
    dn_wire_sync_free(&reply);
    zmq_close(sock);
    return rc;
}

static void s_sleep_ms(int64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (ms > 0 && nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static void s_record(dn_store_t *store, int rc, const dn_sync_result_t *r)
{
    char now[32];
    snprintf(now, sizeof now, "%lld", (long long)dn_time_now_ms());
    if (dn_store_begin(store))
        return;
    if (rc == 0) {
        dn_store_meta_set(store, "last_sync_ms", now);
        dn_store_meta_set(store, "last_error", "");
    } else {
        dn_store_meta_set(store, "last_error", r->error[0] ? r->error : dn_strerror(rc));
        dn_store_meta_set(store, "last_error_ms", now);
    }
    if (dn_store_commit(store))
        dn_store_rollback(store);
}

int dn_sync_run(dn_store_t *store, const char *dir, const dn_sync_options_t *options,
                dn_sync_result_t *result)
{
    s_sync_t self;
    char path[4096], endpoint[256], server_key[64];
    int64_t deadline = dn_time_now_ms() + options->timeout_ms, backoff = 100;
    dn_outbox_position_t pos;
    int rc;

    memset(result, 0, sizeof *result);
    memset(&self, 0, sizeof self);
    self.store = store;
    self.r = result;
    self.progress = options->progress;
    self.reply_timeout_ms =
        options->reply_timeout_ms > 0 ? options->reply_timeout_ms : DN_SYNC_REPLY_TIMEOUT_MS;
    self.endpoint = endpoint;
    self.server_key = server_key;

    if (dn_store_meta_get(store, "server_endpoint", endpoint, sizeof endpoint) ||
        dn_store_meta_get(store, "server_key", server_key, sizeof server_key) ||
        s_path(path, sizeof path, dir, DN_AGENT_CURVE_FILE) ||
        dn_curve_load(path, &self.pair) != 0) {
        snprintf(result->error, sizeof result->error,
                 "this site is not enrolled: run 'dealernet-agent enroll --server ENDPOINT "
                 "--server-key KEY --token TOKEN' first");
        rc = DN_EPERM;
        goto out;
    }
    s_path(path, sizeof path, dir, DN_AGENT_KEY_FILE);
    if (!(self.key = dn_key_load(path))) {
        snprintf(result->error, sizeof result->error, "cannot read the site key %s", path);
        rc = DN_EIO;
        goto out;
    }
    self.ctx = zmq_ctx_new();
    for (;;) {
        int64_t left = deadline - dn_time_now_ms();
        if (left < self.reply_timeout_ms)
            self.reply_timeout_ms = left > 100 ? (int)left : 100;
        rc = s_session(&self);
        if (rc != DN_EAGAIN)
            break;
        left = deadline - dn_time_now_ms();
        if (left <= 0) {
            rc = DN_ETIMEDOUT;
            break;
        }
        s_sleep_ms(backoff < left ? backoff : left);
        backoff = backoff * 2 < 2000 ? backoff * 2 : 2000;
    }
    if (rc == DN_EINVAL)
        snprintf(result->error, sizeof result->error, "cannot connect to '%s'", endpoint);
    s_progress(&self, 1);
out:
    if (dn_outbox_position(store, &pos) == 0) {
        result->pending = pos.pending;
        result->head_seq = pos.head_seq;
    }
    if (rc == DN_ETIMEDOUT) {
        char text[sizeof result->error];
        snprintf(text, sizeof text, "%s", result->error);
        snprintf(result->error, sizeof result->error,
                 "server unreachable (%s); %llu events kept pending", text[0] ? text : "timeout",
                 (unsigned long long)result->pending);
    }
    s_record(store, rc, result);
    memset(&self.pair, 0, sizeof self.pair);
    dn_key_destroy(&self.key);
    if (self.ctx)
        zmq_ctx_term(self.ctx);
    return rc;
}

/* -- daemon -------------------------------------------------------------- */

int dn_sync_daemon(dn_store_t *store, const char *dir, int interval_s,
                   volatile sig_atomic_t *stop)
{
    int64_t backoff_ms = 1000, wait_ms = 0;
    uint64_t seen_head = 0;
    unsigned seed = (unsigned)dn_time_now_ms() ^ (unsigned)getpid();

    dn_log_info("syncing every %d s and on new events", interval_s);
    while (!*stop) {
        dn_sync_options_t options = {DN_SYNC_DEFAULT_TIMEOUT_S * 1000, 0, 0};
        dn_sync_result_t result;
        dn_outbox_position_t pos;
        int rc = dn_sync_run(store, dir, &options, &result);

        if (rc == 0) {
            if (result.sent_events)
                dn_log_info("synced through seq %llu",
                            (unsigned long long)result.acked_through);
            backoff_ms = 1000;
            wait_ms = (int64_t)interval_s * 1000;
        } else {
            /* Exponential backoff with +-25 % jitter, so that a fleet of
               shops does not return in step when the server comes back.  */
            int64_t jitter = backoff_ms / 2 ? (int64_t)(rand_r(&seed) % (backoff_ms / 2)) : 0;
            wait_ms = backoff_ms * 3 / 4 + jitter;
            backoff_ms = backoff_ms * 2 < 300000 ? backoff_ms * 2 : 300000;
            if (rc == DN_EPERM || rc == DN_EPROTO)
                wait_ms = (int64_t)interval_s * 1000 > 300000 ? (int64_t)interval_s * 1000
                                                              : 300000;
            dn_log_warn("sync failed: %s; next try in %lld s", result.error,
                        (long long)(wait_ms / 1000));
        }
        seen_head = result.head_seq;
        /* Sleep, waking early when a clerk records something new.  */
        for (int64_t slept = 0; slept < wait_ms && !*stop; slept += 200) {
            s_sleep_ms(200);
            if (rc == 0 && slept % 1000 == 0 && dn_outbox_position(store, &pos) == 0 &&
                pos.head_seq != seen_head)
                break;
        }
    }
    dn_log_info("stopping");
    return 0;
}
