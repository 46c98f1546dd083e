/*  dn_sync -- enrollment, sync and the sync daemon (see dn_sync.h).

    This is the ZeroMQ driver of the session state machine (dn_syncsm):
    one session = one fresh DEALER socket, carrying the machine's messages
    and feeding it the replies or a reply timeout.  What a session says and
    what it concludes from the answers lives in dn_syncsm.c, where the
    deterministic simulator runs the very same code; here live only the
    sockets, the clocks, the backoff between sessions and the overall
    deadline.  Any doubt ends a session; the next one resends from the
    agent's last ack, and the server skips what it already applied after
    checking it is the very same bytes, so a resend never skips or repeats
    an event on the server.
*/
#include "dn_sync.h"
#include "dn_i18n.h"
#include "dn_bundle.h"
#include "dn_chain.h"
#include "dn_crypto.h"
#include "dn_curve.h"
#include "dn_down.h"
#include "dn_error.h"
#include "dn_log.h"
#include "dn_outbox.h"
#include "dn_probe.h"
#include "dn_time.h"
#include "dn_version.h"
#include "dn_wire.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

/*  A reply is at most a sync message: a DownReply carries up to
    DN_DOWN_MAX_BYTES of items.  */
#define DN_REPLY_BYTES DN_MAX_SYNC_MSG_BYTES

static int s_path(char *buf, size_t size, const char *dir, const char *file)
{
    int n = snprintf(buf, size, "%s/%s", dir, file);
    return n > 0 && (size_t)n < size ? 0 : DN_EINVAL;
}

/*  A fresh CURVE client socket connected to endpoint, watched by a new
    *probe (NULL if the monitor could not be set up; caller destroys it
    before closing the socket).  */
static void *s_connect(void *ctx, const char *endpoint, const char *server_key,
                       const dn_curve_pair_t *pair, int timeout_ms, dn_probe_t **probe)
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
        zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &max, sizeof max)) {
        dn_log_error(_("cannot connect to %s: %s"), endpoint, zmq_strerror(errno));
        zmq_close(sock);
        return NULL;
    }
    *probe = dn_probe_new(ctx, sock); /* before connecting: no event missed */
    if (zmq_connect(sock, endpoint) != 0) {
        dn_log_debug("cannot connect to %s: %s", endpoint, zmq_strerror(errno));
        dn_probe_destroy(probe);
        zmq_close(sock);
        return NULL;
    }
    return sock;
}

/*  What the probe's state means for a sync or an enrollment: sets
    r->cause and r->error (one line about endpoint) and returns DN_EAGAIN
    (it may mend: try again until the deadline) or DN_ECONFIG (something
    else answers there: it will not).  welcomed: the server had answered
    in this sync.  */
static int s_link_cause(dn_probe_state_t state, uint32_t value, int welcomed,
                        const char *endpoint, dn_sync_result_t *r)
{
    char text[sizeof r->error];
    int rc = DN_EAGAIN;
    dn_probe_explain(state, value, endpoint, text, sizeof text);
    switch (state) {
    case DN_PROBE_WAITING:
        r->cause = DN_SYNC_CAUSE_NO_ROUTE;
        break;
    case DN_PROBE_REFUSED:
        /* After a Welcome, a server that now refuses connections stopped.  */
        r->cause = welcomed ? DN_SYNC_CAUSE_STOPPED : DN_SYNC_CAUSE_DOWN;
        if (welcomed)
            snprintf(text, sizeof text, "the server at %s stopped during the sync", endpoint);
        break;
    case DN_PROBE_SILENT:
    case DN_PROBE_NOT_ZMTP:
        r->cause = DN_SYNC_CAUSE_WRONG_PORT;
        rc = DN_ECONFIG;
        break;
    case DN_PROBE_AUTH:
        /* The sync port lets any CURVE key in (a stranger may enroll): a
           refusal at the handshake is another port of the server.  */
        r->cause = DN_SYNC_CAUSE_WRONG_PORT;
        snprintf(text, sizeof text,
                 "%s refused this site's key at the handshake (ZAP status %u): that is not "
                 "the server's sync port (the admin port?)",
                 endpoint, (unsigned)value);
        rc = DN_ECONFIG;
        break;
    case DN_PROBE_BAD_KEY:
        r->cause = DN_SYNC_CAUSE_WRONG_KEY;
        rc = DN_ECONFIG;
        break;
    case DN_PROBE_UP:
        r->cause = DN_SYNC_CAUSE_NO_REPLY;
        break;
    case DN_PROBE_DROPPED:
        r->cause = DN_SYNC_CAUSE_STOPPED;
        if (welcomed)
            snprintf(text, sizeof text, "the server at %s stopped during the sync", endpoint);
        break;
    }
    memcpy(r->error, text, sizeof r->error);
    return rc;
}

/*  Packs and sends msg.  Returns 0, DN_ETIMEDOUT (not connected in time).  */
static int s_send(void *sock, const Dealernet__SyncMessage *msg)
{
    uint8_t *buf;
    size_t len;
    char why[DN_WHY_SIZE];
    int rc = dn_wire_sync_pack(msg, &buf, &len, why, sizeof why);
    if (rc) {
        dn_log_error(_("cannot pack a sync message: %s"), why);
        return rc;
    }
    rc = zmq_send(sock, buf, len, 0) == (int)len ? 0 : DN_ETIMEDOUT;
    free(buf);
    return rc;
}

/*  Waits up to timeout_ms for one reply frame into *frame (initialised by
    the caller), watching probe (may be NULL) meanwhile: a server that
    closes the connection is not waited for.  Returns 0, DN_ETIMEDOUT (no
    reply; the probe tells why), or DN_EPROTO for a reply of more than one
    frame (logged; treated as lost).  */
static int s_recv_frame(void *sock, int timeout_ms, zmq_msg_t *frame, dn_probe_t *probe)
{
    int64_t deadline = dn_time_monotonic_ms() + timeout_ms;
    for (;;) {
        zmq_pollitem_t items[2] = {{sock, 0, ZMQ_POLLIN, 0},
                                   {probe ? dn_probe_socket(probe) : NULL, 0, ZMQ_POLLIN, 0}};
        int64_t left = deadline - dn_time_monotonic_ms();
        if (left <= 0 || zmq_poll(items, probe ? 2 : 1, (long)left) < 0)
            return DN_ETIMEDOUT;
        if (items[0].revents & ZMQ_POLLIN)
            break;
        if (probe && dn_probe_update(probe) == DN_PROBE_DROPPED)
            return DN_ETIMEDOUT;
    }
    if (zmq_msg_recv(frame, sock, ZMQ_DONTWAIT) < 0)
        return DN_ETIMEDOUT;
    if (zmq_msg_more(frame)) {
        dn_log_debug("dropped a malformed reply from the server: more than one frame");
        return DN_EPROTO;
    }
    return 0;
}

/*  Waits up to timeout_ms for one reply and decodes it.  Returns 0 and
    *msg, DN_ETIMEDOUT, or DN_EPROTO for a reply that does not decode
    (treated as lost).  */
static int s_recv(void *sock, int timeout_ms, Dealernet__SyncMessage **msg)
{
    zmq_msg_t frame;
    char why[DN_WHY_SIZE];
    int rc;
    *msg = NULL;
    zmq_msg_init(&frame);
    rc = s_recv_frame(sock, timeout_ms, &frame, NULL);
    if (rc == 0 && (rc = dn_wire_sync_unpack(zmq_msg_data(&frame), zmq_msg_size(&frame), msg,
                                             why, sizeof why)) != 0) {
        dn_log_debug("dropped a malformed reply from the server: %s", why);
        rc = DN_EPROTO; /* whatever did not decode: not a sync reply */
    }
    zmq_msg_close(&frame);
    return rc;
}

/* -- enrollment ------------------------------------------------------------ */

/*  What a server key is, for enroll and server set alike.  */
#define S_SERVER_KEY_RULE                                                            \
    N_("server key must be the 40-character Z85 key printed by 'dealernet-server init'")

/*  Records the server sync goes to (enroll, server set), in the caller's
    transaction.  0 or DN_EDB.  */
static int s_record_server(dn_store_t *store, const char *endpoint, const char *server_key)
{
    int rc = dn_store_meta_set(store, DN_STORE_META_ENDPOINT, endpoint);
    return rc ? rc : dn_store_meta_set(store, DN_STORE_META_SERVER_KEY, server_key);
}

/*  1 if the folder was enrolled (with some server) before.  */
static int s_was_enrolled(dn_store_t *store, char *endpoint, size_t size)
{
    return dn_store_meta_get(store, DN_STORE_META_ENDPOINT, endpoint, size) == 0;
}

int dn_sync_can_enroll(dn_store_t *store, int again, char *why, size_t why_size)
{
    char existing[256];
    if (!again && s_was_enrolled(store, existing, sizeof existing))
        return dn_why(why, why_size, DN_EEXIST,
                      _("this site is already enrolled with %s (to enroll it again with a "
                      "code from 'dealernet-hq site token': dealernet-agent enroll --again)"),
                      existing);
    return 0;
}

/*  What an Enrolled reply's chain head means for this folder (see
    dealernet.proto): a folder that never synced continues the site's
    chain after it; one that did must hold it.  In the caller's
    transaction.  */
static int s_continue_chain(dn_store_t *store, int enrolled_before,
                            const Dealernet__Enrolled *enrolled, dn_sync_enrolled_t *out,
                            char *why, size_t why_size)
{
    int64_t applied = enrolled->has_applied_seq ? (int64_t)enrolled->applied_seq : 0;
    const uint8_t *head = enrolled->has_chain_head ? enrolled->chain_head.data
                                                   : DN_CHAIN_GENESIS;
    out->applied_seq = applied;
    if (enrolled_before)
        return dn_outbox_match(store, applied, head, &out->to_send, why, why_size);
    if (applied == 0)
        return 0; /* a new site: the chain starts here */
    out->rebased = 1;
    return dn_outbox_rebase(store, applied, head, &out->moved, why, why_size);
}

int dn_sync_enroll(dn_store_t *store, const char *dir, const char *endpoint,
                   const char *server_key, const char *token, int timeout_ms, char *why,
                   size_t why_size)
{
    dn_sync_enrolled_t out;
    return dn_sync_enroll_again(store, dir, endpoint, server_key, token, 0, timeout_ms, &out,
                                why, why_size);
}

int dn_sync_enroll_again(dn_store_t *store, const char *dir, const char *endpoint,
                         const char *server_key, const char *token, int again,
                         int timeout_ms, dn_sync_enrolled_t *out, char *why,
                         size_t why_size)
{
    Dealernet__SyncMessage msg = DEALERNET__SYNC_MESSAGE__INIT, *reply = NULL;
    Dealernet__EnrollRequest req = DEALERNET__ENROLL_REQUEST__INIT;
    char path[4096], new_path[4096], before[256];
    uint8_t sign_pub[DN_PUBKEY_BYTES];
    dn_curve_pair_t pair;
    dn_key_t *key;
    dn_probe_t *probe = NULL;
    dn_probe_state_t state;
    void *ctx, *sock;
    int rc, enrolled_before = s_was_enrolled(store, before, sizeof before);

    memset(out, 0, sizeof *out);
    if (why_size)
        why[0] = '\0';
    if ((rc = dn_sync_can_enroll(store, again, why, why_size)) != 0)
        return rc;
    if (!dn_curve_valid_z85(server_key))
        return dn_why(why, why_size, DN_EINVAL, "%s", _(S_SERVER_KEY_RULE));
    if (s_path(path, sizeof path, dir, DN_AGENT_KEY_FILE) || !(key = dn_key_load(path)))
        return dn_why(why, why_size, DN_EIO, _("cannot read the site key %s"), path);
    rc = dn_key_public(key, sign_pub);
    dn_key_destroy(&key);
    if (rc)
        return dn_why(why, why_size, rc, _("cannot read the site key's public half"));

    /* Reuse the key of an earlier attempt whose answer was lost.  A folder
       enrolled before gets a new key beside its old one, which it keeps
       until the server has taken the new one.  */
    s_path(path, sizeof path, dir, DN_AGENT_CURVE_FILE);
    s_path(new_path, sizeof new_path, dir, DN_AGENT_CURVE_NEW_FILE);
    if (enrolled_before)
        memcpy(path, new_path, sizeof path);
    rc = dn_curve_load(path, &pair);
    if (rc == DN_ENOENT && (rc = dn_curve_generate(&pair)) == 0)
        rc = dn_curve_save(&pair, path);
    if (rc)
        return dn_why(why, why_size, rc, _("cannot create %s: %s"), path, dn_strerror(rc));

    req.token = (char *)token;
    req.site = (char *)dn_store_info(store)->site;
    req.has_sign_key = 1;
    req.sign_key.data = sign_pub;
    req.sign_key.len = DN_PUBKEY_BYTES;
    req.agent_version = DN_VERSION;
    req.partner = (char *)dn_store_info(store)->partner;
    req.currency = (char *)dn_store_info(store)->currency;
    req.has_protocol = 1; /* the server sends its down key to protocol 2 on */
    req.protocol = DN_PROTOCOL_VERSION;
    if (enrolled_before) { /* the server checks this folder still is the site's */
        dn_outbox_position_t pos;
        if ((rc = dn_outbox_position(store, &pos)) != 0)
            return dn_why(why, why_size, rc, _("cannot read agent.db"));
        req.has_synced_seq = 1;
        req.synced_seq = pos.acked_seq;
    }
    msg.body_case = DEALERNET__SYNC_MESSAGE__BODY_ENROLL;
    msg.enroll = &req;

    ctx = zmq_ctx_new();
    sock = ctx ? s_connect(ctx, endpoint, server_key, &pair, timeout_ms, &probe) : NULL;
    memset(&pair, 0, sizeof pair);
    rc = sock ? 0 : DN_EINVAL;
    /* The connection first: a wrong port or key is named at once, not
       after the whole timeout as "no answer".  */
    if (rc == 0 && probe && (state = dn_probe_wait(probe, timeout_ms)) != DN_PROBE_UP) {
        dn_sync_result_t r;
        memset(&r, 0, sizeof r);
        rc = s_link_cause(state, dn_probe_value(probe), 0, endpoint, &r);
        rc = dn_why(why, why_size, rc == DN_ECONFIG ? DN_ECONFIG : DN_ETIMEDOUT, "%s",
                    r.error);
    }
    if (rc == 0)
        rc = s_send(sock, &msg);
    if (rc == 0)
        rc = s_recv(sock, timeout_ms, &reply);
    if (rc == DN_EINVAL)
        dn_why(why, why_size, rc,
               _("cannot connect to '%s' (an endpoint is like "
               "tcp://server.example:7700)"),
               endpoint);
    else if (rc == DN_EPROTO)
        rc = dn_why(why, why_size, DN_ECONFIG,
                    _("%s answered something that is not a dealernet sync reply: wrong port?"),
                    endpoint);
    else if (rc == DN_ETIMEDOUT && !why[0])
        dn_why(why, why_size, DN_ETIMEDOUT,
               _("%s accepted the connection but did not answer within %d s"), endpoint,
               timeout_ms / 1000);
    else if (rc == DN_ETIMEDOUT || rc == DN_ECONFIG)
        ; /* the probe said why */
    else if (rc)
        dn_why(why, why_size, rc, _("cannot enroll: %s"), dn_strerror(rc));
    else if (reply->body_case == DEALERNET__SYNC_MESSAGE__BODY_REFUSED)
        rc = dn_why(why, why_size, DN_EPERM, _("enrollment refused: %s"),
                    reply->refused->text);
    else if (reply->body_case != DEALERNET__SYNC_MESSAGE__BODY_ENROLLED ||
             strcmp(reply->enrolled->site, dn_store_info(store)->site) != 0)
        rc = dn_why(why, why_size, DN_EPROTO, _("the server answered something unexpected"));
    if (rc == 0) {
        rc = dn_store_begin(store);
        if (rc == 0 && (rc = s_continue_chain(store, enrolled_before, reply->enrolled, out,
                                              why, why_size)) != 0) {
            char text[512];
            snprintf(text, sizeof text, "%s", why);
            dn_store_rollback(store);
            dn_why(why, why_size, rc,
                   _("the server enrolled this PC's new key for site %s, but %s: nothing was "
                   "changed here; tell headquarters"),
                   dn_store_info(store)->site, text);
            goto done;
        }
        if (rc == 0)
            rc = s_record_server(store, endpoint, server_key);
        /* The key that signs what comes down, as the server just told it
           over the channel the server key authenticates.  */
        if (rc == 0 && reply->enrolled->has_down_key)
            rc = dn_down_key_pin(store, reply->enrolled->down_key.data);
        /* HQ's registry decides whom the site's sales earn for.  */
        if (rc == 0 && strcmp(reply->enrolled->partner, dn_store_info(store)->partner) != 0)
            rc = dn_store_set_partner(store, reply->enrolled->partner);
        if (rc == 0)
            rc = dn_store_commit(store);
        if (rc) {
            dn_store_rollback(store);
            dn_why(why, why_size, rc, _("enrolled, but could not record it in agent.db"));
        }
    }
    /* The server holds the new key now: it becomes this folder's.  */
    if (rc == 0 && enrolled_before) {
        char current[4096];
        s_path(current, sizeof current, dir, DN_AGENT_CURVE_FILE);
        if (rename(new_path, current) != 0)
            rc = dn_why(why, why_size, DN_EIO,
                        _("enrolled, but cannot move %s to %s: %s (do it by hand)"), new_path,
                        current, strerror(errno));
    }
done:
    dn_wire_sync_free(&reply);
    dn_probe_destroy(&probe);
    if (sock)
        zmq_close(sock);
    if (ctx)
        zmq_ctx_term(ctx);
    return rc;
}

/* -- moving to another server ---------------------------------------------- */

/*  1 if ZeroMQ takes endpoint for a connect (the check enroll's connect
    makes: a transport it knows, a host), and a tcp:// one ends in a port
    1 to 65535, which ZeroMQ 4.3 does not check (tcp://host:77x would only
    time out at the first sync).  No connection is waited for: the server
    may be on its way to the new address.  */
static int s_endpoint_valid(const char *endpoint)
{
    void *ctx, *sock;
    int zero = 0, ok = 0;
    if (strncmp(endpoint, "tcp://", 6) == 0) {
        const char *colon = strrchr(endpoint + 6, ':');
        int64_t port;
        if (!colon || dn_parse_int(colon + 1, 1, 65535, &port) != 0)
            return 0;
    }
    ctx = zmq_ctx_new();
    sock = ctx ? zmq_socket(ctx, ZMQ_DEALER) : NULL;
    if (sock && zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero) == 0)
        ok = zmq_connect(sock, endpoint) == 0;
    if (sock)
        zmq_close(sock);
    if (ctx)
        zmq_ctx_term(ctx);
    return ok;
}

int dn_sync_server_set(dn_store_t *store, const char *endpoint, const char *server_key,
                       char *why, size_t why_size)
{
    char before[256];
    int rc;

    if (!s_was_enrolled(store, before, sizeof before))
        return dn_why(why, why_size, DN_EPERM,
                      _("this site is not enrolled, so it has no server to move: run "
                      "'dealernet-agent enroll' and paste the enrollment code from "
                      "headquarters"));
    if (!dn_curve_valid_z85(server_key))
        return dn_why(why, why_size, DN_EINVAL, _("%s; in a shell, put it in single quotes"),
                      _(S_SERVER_KEY_RULE));
    /* the longest an enrollment code carries, and so the longest HQ gives */
    if (strlen(endpoint) > DN_BUNDLE_MAX_ENDPOINT || !s_endpoint_valid(endpoint))
        return dn_why(why, why_size, DN_EINVAL,
                      _("'%.*s' is not an endpoint (an endpoint is like "
                      "tcp://server.example:7700)"),
                      DN_BUNDLE_MAX_ENDPOINT, endpoint);
    rc = dn_store_begin(store);
    if (rc == 0)
        rc = s_record_server(store, endpoint, server_key);
    if (rc == 0)
        rc = dn_store_commit(store);
    if (rc) {
        dn_store_rollback(store);
        return dn_why(why, why_size, rc, _("cannot record the new server in agent.db"));
    }
    return 0;
}

/* -- sync ---------------------------------------------------------------- */

typedef struct {
    dn_store_t *store;
    dn_key_t *key;
    dn_syncsm_t *sm;
    void *ctx;
    char *endpoint, *server_key; /* the caller's buffers: 256 and 64 bytes */
    dn_curve_pair_t pair;
    int reply_timeout_ms;
    int64_t deadline; /* dn_time_now_ms: the sync's end (dn_sync_run) */
    int progress;
    const dn_sync_options_t *options; /* NULL: defaults (dn_sync_hello) */
    dn_sync_result_t *r;
} s_sync_t;

static void s_progress(s_sync_t *self, int done)
{
    if (!self->progress)
        return;
    fputc('\r', stderr); /* over the line before (gettext takes no \r) */
    fprintf(stderr, _("sync: %llu of %llu events acknowledged%s"),
            (unsigned long long)self->r->acked_through,
            (unsigned long long)self->r->head_seq, done ? "\n" : "   ");
    fflush(stderr);
}

static void s_on_ack(void *arg, const dn_sync_result_t *result)
{
    (void)result;
    s_progress(arg, 0);
}


/*  How long to wait for the next reply.  A DownReply may wait on the
    server behind other shops' uploads (pulls are answered after the
    pushes of each group: PROTOCOL.md, "When a Pull may be sent"), so
    a pull gets DN_SYNC_PULL_TIMEOUT_MS, within what is left of the sync;
    everything else the reply timeout.  */
static int s_wait_ms(const s_sync_t *self)
{
    int64_t left;
    if (!dn_syncsm_pulling(self->sm) || self->reply_timeout_ms >= DN_SYNC_PULL_TIMEOUT_MS)
        return self->reply_timeout_ms;
    left = self->deadline - dn_time_now_ms();
    if (left <= self->reply_timeout_ms)
        return self->reply_timeout_ms;
    return left < DN_SYNC_PULL_TIMEOUT_MS ? (int)left : DN_SYNC_PULL_TIMEOUT_MS;
}

/*  One session on a fresh socket: carries the state machine's messages
    and replies.  Returns 0 when everything up to the head is
    acknowledged, DN_EAGAIN to reconnect and resume, or a final error
    (DN_ECONFIG: something else answers at the endpoint).  The socket's
    probe names what a lost reply was (result->cause, result->error).  */
static int s_session(s_sync_t *self)
{
    dn_syncsm_action_t action =
        dn_syncsm_start(self->sm, dn_time_now_ms(), self->reply_timeout_ms);
    dn_probe_t *probe = NULL;
    dn_probe_state_t state = DN_PROBE_UP;
    void *sock;
    int rc;

    if (action == DN_SYNCSM_FAIL)
        return dn_syncsm_rc(self->sm);
    sock = s_connect(self->ctx, self->endpoint, self->server_key, &self->pair,
                     self->reply_timeout_ms, &probe);
    if (!sock)
        return DN_EINVAL;
    self->r->connects++;
    /* The connection first: a server that is down, a wrong port or a wrong
       key shows in the handshake, well before a reply timeout.  */
    if (probe && (state = dn_probe_wait(probe, self->reply_timeout_ms)) != DN_PROBE_UP) {
        rc = s_link_cause(state, dn_probe_value(probe), self->r->has_server, self->endpoint,
                          self->r);
        dn_probe_destroy(&probe);
        zmq_close(sock);
        return rc;
    }
    for (;;) {
        if (action == DN_SYNCSM_SEND) {
            const uint8_t *data;
            size_t len;
            dn_syncsm_message(self->sm, &data, &len);
            action = zmq_send(sock, data, len, 0) == (int)len ? dn_syncsm_sent(self->sm)
                                                              : dn_syncsm_send_failed(self->sm);
        } else if (action == DN_SYNCSM_WAIT) {
            zmq_msg_t frame;
            zmq_msg_init(&frame);
            if (s_recv_frame(sock, s_wait_ms(self), &frame, probe) == 0)
                action = dn_syncsm_reply(self->sm, zmq_msg_data(&frame), zmq_msg_size(&frame));
            else
                action = dn_syncsm_timeout(self->sm);
            zmq_msg_close(&frame);
        } else {
            break;
        }
    }
    rc = action == DN_SYNCSM_DONE ? 0 : dn_syncsm_rc(self->sm);
    /* A reply lost with no cause from the machine: the socket tells
       whether the server went away or just did not answer.  */
    if (rc == DN_EAGAIN && !self->r->cause) {
        state = probe ? dn_probe_update(probe) : DN_PROBE_UP;
        if (state == DN_PROBE_UP)
            self->r->cause = DN_SYNC_CAUSE_NO_REPLY; /* the machine's text says it */
        else
            rc = s_link_cause(state, dn_probe_value(probe), self->r->has_server,
                              self->endpoint, self->r);
    }
    dn_probe_destroy(&probe);
    zmq_close(sock);
    return rc;
}

static void s_sleep_ms(int64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (ms > 0 && nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/*  Reads what a session needs -- the endpoint, the server key, the site's
    CURVE pair and signing key -- and makes the machine.  Returns 0, or
    DN_EPERM (not enrolled), DN_EIO, DN_ENOMEM with self->r's cause and
    error set.  self->endpoint and server_key point at the caller's
    buffers (256 and 64 bytes).  */
static int s_setup(s_sync_t *self, const char *dir)
{
    dn_sync_result_t *result = self->r;
    char path[4096];
    if (dn_store_meta_get(self->store, DN_STORE_META_ENDPOINT, self->endpoint, 256) ||
        dn_store_meta_get(self->store, DN_STORE_META_SERVER_KEY, self->server_key,
                          64) ||
        s_path(path, sizeof path, dir, DN_AGENT_CURVE_FILE) ||
        dn_curve_load(path, &self->pair) != 0) {
        snprintf(result->error, sizeof result->error,
                 _("this site is not enrolled: run 'dealernet-agent enroll' and paste the "
                 "enrollment code from headquarters"));
        result->cause = DN_SYNC_CAUSE_NOT_ENROLLED;
        return DN_EPERM;
    }
    s_path(path, sizeof path, dir, DN_AGENT_KEY_FILE);
    if (!(self->key = dn_key_load(path))) {
        snprintf(result->error, sizeof result->error, _("cannot read the site key %s"), path);
        result->cause = DN_SYNC_CAUSE_LOCAL;
        return DN_EIO;
    }
    if (!(self->sm = dn_syncsm_new(self->store, self->key, self->endpoint, result))) {
        result->cause = DN_SYNC_CAUSE_LOCAL;
        return DN_ENOMEM;
    }
    if (self->options && self->options->n_streams)
        dn_syncsm_set_pull(self->sm, self->options->streams, self->options->n_streams,
                           !self->options->no_push);
    return 0;
}

/*  Frees what s_setup made.  */
static void s_teardown(s_sync_t *self)
{
    memset(&self->pair, 0, sizeof self->pair);
    dn_syncsm_destroy(&self->sm);
    dn_key_destroy(&self->key);
    if (self->ctx)
        zmq_ctx_term(self->ctx);
    self->ctx = NULL;
}

int dn_sync_hello(dn_store_t *store, const char *dir, int timeout_ms, dn_sync_result_t *result)
{
    s_sync_t self;
    char endpoint[256] = "", server_key[64] = "";
    dn_syncsm_action_t action;
    dn_probe_t *probe = NULL;
    dn_probe_state_t state = DN_PROBE_UP;
    void *sock = NULL;
    int rc;

    memset(result, 0, sizeof *result);
    memset(&self, 0, sizeof self);
    self.store = store;
    self.r = result;
    self.endpoint = endpoint;
    self.server_key = server_key;
    if ((rc = s_setup(&self, dir)) != 0)
        goto out;
    dn_syncsm_set_readonly(self.sm); /* the contract: records nothing */
    self.ctx = zmq_ctx_new();
    action = dn_syncsm_start(self.sm, dn_time_now_ms(), timeout_ms);
    if (action == DN_SYNCSM_FAIL) {
        rc = dn_syncsm_rc(self.sm);
        goto out;
    }
    if (!self.ctx || !(sock = s_connect(self.ctx, endpoint, server_key, &self.pair, timeout_ms,
                                        &probe))) {
        snprintf(result->error, sizeof result->error, _("cannot connect to '%s'"), endpoint);
        result->cause = DN_SYNC_CAUSE_LOCAL;
        rc = DN_EINVAL;
        goto out;
    }
    result->connects = 1;
    if (probe && (state = dn_probe_wait(probe, timeout_ms)) != DN_PROBE_UP) {
        rc = s_link_cause(state, dn_probe_value(probe), 0, endpoint, result);
        goto out;
    }
    result->handshake = 1;
    {
        const uint8_t *data;
        size_t len;
        zmq_msg_t frame;
        dn_syncsm_message(self.sm, &data, &len);
        action = zmq_send(sock, data, len, 0) == (int)len ? dn_syncsm_sent(self.sm)
                                                          : dn_syncsm_send_failed(self.sm);
        zmq_msg_init(&frame);
        if (action == DN_SYNCSM_WAIT) {
            if (s_recv_frame(sock, timeout_ms, &frame, probe) == 0)
                action = dn_syncsm_reply(self.sm, zmq_msg_data(&frame), zmq_msg_size(&frame));
            else
                action = dn_syncsm_timeout(self.sm);
        }
        zmq_msg_close(&frame);
    }
    /* A Welcome leaves the machine ready to push: not here.  */
    if (action == DN_SYNCSM_FAIL) /* a refusal, or a server ahead of this site */
        rc = dn_syncsm_rc(self.sm);
    else if (result->welcomed)
        rc = 0;
    else if (!result->cause) {
        state = probe ? dn_probe_update(probe) : DN_PROBE_UP;
        if (state == DN_PROBE_UP) {
            result->cause = DN_SYNC_CAUSE_NO_REPLY;
            rc = DN_ETIMEDOUT;
        } else {
            rc = s_link_cause(state, dn_probe_value(probe), 0, endpoint, result);
        }
    } else {
        rc = DN_EAGAIN;
    }
out:
    dn_probe_destroy(&probe);
    if (sock)
        zmq_close(sock);
    s_teardown(&self);
    return rc;
}

/*  1 if this sync delivered something (acked events) and then failed.  */
static int s_partial(int rc, const dn_sync_result_t *r)
{
    return rc != 0 && r->acked_through > r->start_acked;
}

static void s_record(dn_store_t *store, int rc, const dn_sync_result_t *r)
{
    char now[32];
    snprintf(now, sizeof now, "%lld", (long long)dn_time_now_ms());
    if (dn_store_begin(store))
        return;
    if (rc == 0) {
        dn_store_meta_set(store, DN_STORE_META_LAST_SYNC, now);
        dn_store_meta_set(store, DN_STORE_META_LAST_ERROR, "");
    } else {
        /* What was acked is synced, even if the rest was not: `status`
           says when the server last took something.  */
        if (s_partial(rc, r))
            dn_store_meta_set(store, DN_STORE_META_LAST_SYNC, now);
        dn_store_meta_set(store, DN_STORE_META_LAST_ERROR, r->error[0] ? r->error : dn_strerror(rc));
        dn_store_meta_set(store, DN_STORE_META_LAST_ERROR_MS, now);
    }
    if (r->has_skew) {
        char skew[32];
        snprintf(skew, sizeof skew, "%lld", (long long)r->skew_ms);
        dn_store_meta_set(store, DN_STORE_META_SKEW, skew);
    }
    if (dn_store_commit(store))
        dn_store_rollback(store);
}

const char *dn_sync_report_received(const dn_sync_result_t *r, char *buf, size_t size)
{
    size_t at = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < r->n_received; i++) {
        const dn_down_applied_t *a = &r->received[i];
        int n;
        if (!a->items && !a->reset)
            continue;
        /* one format each for one item and several: a language's words */
        n = snprintf(buf + at, size - at,
                     a->items == 1 ? _("%s%s %zu item (version %llu%s)")
                                   : _("%s%s %zu items (version %llu%s)"),
                     at ? C_("list", ", ") : _("received: "),
                     dn_i18n_cpgettext("stream", a->name), a->items,
                     (unsigned long long)a->version, a->reset ? _(", replaced") : "");
        if (n < 0 || (size_t)n >= size - at)
            break;
        at += (size_t)n;
    }
    return buf;
}

const char *dn_sync_report(const dn_sync_result_t *r, char *buf, size_t size)
{
    uint64_t sent = r->acked_through > r->start_acked ? r->acked_through - r->start_acked : 0;
    char seqs[64] = "", holds[64] = "";
    if (sent == 1)
        snprintf(seqs, sizeof seqs, _(" (seq %llu)"), (unsigned long long)r->acked_through);
    else if (sent > 1)
        snprintf(seqs, sizeof seqs, _(" (seq %llu-%llu)"),
                 (unsigned long long)(r->start_acked + 1), (unsigned long long)r->acked_through);
    if (r->has_server)
        snprintf(holds, sizeof holds, _(", server holds through %llu"),
                 (unsigned long long)r->server_applied);
    snprintf(buf, size,
             sent == 1 ? _("sent %llu event%s%s, %llu pending")
                       : _("sent %llu events%s%s, %llu pending"),
             (unsigned long long)sent, seqs, holds, (unsigned long long)r->pending);
    return buf;
}

/*  1 if s_summary words the failure as a whole ("partly synced: ...",
    "sync failed, N events kept pending: ..."), 0 if its error is the
    cause alone (a refusal): the daemon's line adds "sync failed: " then.  */
static int s_summarised(int rc, const dn_sync_result_t *r)
{
    return s_partial(rc, r) || rc == DN_ETIMEDOUT || rc == DN_EAGAIN || rc == DN_ECONFIG;
}

/*  The one line of a sync that failed, into result->error: what it
    delivered first if anything, then why it stopped, then what stays.  */
static void s_summary(int rc, dn_sync_result_t *r)
{
    char cause[sizeof r->error], report[160];
    snprintf(cause, sizeof cause, "%s", r->error[0] ? r->error : dn_strerror(rc));
    /* This folder's log is not the chain the server holds -- an agent.db
       restored from an old copy (the server holds more than it recorded)
       or copied to a second PC (a resent event differs: the server keeps
       its tamper alarm as evidence) -- and only recover mends that.  */
    if (rc == DN_EPROTO &&
        (r->refused == DEALERNET__REFUSE_CODE__REFUSE_TAMPER ||
         (r->has_server && r->server_applied > r->head_seq)))
        /* what to do then (README "Recovering a shop PC") */
        snprintf(r->error, sizeof r->error,
                 _("%s; run 'dealernet-agent recover' to rebuild this PC's log from the "
                   "server's copy"),
                 cause);
    if (s_partial(rc, r))
        snprintf(r->error, sizeof r->error, _("partly synced: %s; then %s"),
                 dn_sync_report(r, report, sizeof report), cause);
    else if (rc == DN_ETIMEDOUT || rc == DN_EAGAIN || rc == DN_ECONFIG)
        snprintf(r->error, sizeof r->error,
                 r->pending == 1 ? _("sync failed, %llu event kept pending: %s")
                                 : _("sync failed, %llu events kept pending: %s"),
                 (unsigned long long)r->pending, cause);
}

int dn_sync_run(dn_store_t *store, const char *dir, const dn_sync_options_t *options,
                dn_sync_result_t *result)
{
    s_sync_t self;
    char endpoint[256], server_key[64];
    int64_t deadline = dn_time_now_ms() + options->timeout_ms, backoff = 100;
    dn_outbox_position_t pos;
    int rc;

    memset(result, 0, sizeof *result);
    memset(&self, 0, sizeof self);
    self.store = store;
    self.r = result;
    self.options = options;
    self.progress = options->progress;
    self.reply_timeout_ms =
        options->reply_timeout_ms > 0 ? options->reply_timeout_ms : DN_SYNC_REPLY_TIMEOUT_MS;
    self.deadline = deadline;
    self.endpoint = endpoint;
    self.server_key = server_key;

    if ((rc = s_setup(&self, dir)) != 0)
        goto out;
    if (self.progress)
        dn_syncsm_set_progress(self.sm, s_on_ack, &self);
    self.ctx = zmq_ctx_new();
    for (;;) {
        int64_t left = deadline - dn_time_now_ms();
        if (left < self.reply_timeout_ms)
            self.reply_timeout_ms = left > 100 ? (int)left : 100;
        rc = s_session(&self);
        /* A full disk is not mended within one sync: stop asking.  */
        if (rc != DN_EAGAIN ||
            (result->cause && strcmp(result->cause, DN_SYNC_CAUSE_SERVER_FULL) == 0))
            break;
        left = deadline - dn_time_now_ms();
        if (left <= 0) {
            rc = DN_ETIMEDOUT;
            break;
        }
        s_sleep_ms(backoff < left ? backoff : left);
        backoff = backoff * 2 < 2000 ? backoff * 2 : 2000;
    }
    if (rc == DN_EINVAL) {
        snprintf(result->error, sizeof result->error, _("cannot connect to '%s'"), endpoint);
        result->cause = DN_SYNC_CAUSE_LOCAL;
    }
    s_progress(&self, 1);
out:
    if (dn_outbox_position(store, &pos) == 0) {
        result->pending = pos.pending;
        result->head_seq = pos.head_seq;
    }
    if (rc == 0)
        result->cause = NULL;
    else
        s_summary(rc, result);
    s_record(store, rc, result);
    s_teardown(&self);
    return rc;
}

/* -- daemon -------------------------------------------------------------- */

int dn_sync_daemon(dn_store_t *store, const char *dir, int interval_s,
                   volatile sig_atomic_t *stop)
{
    int64_t backoff_ms = 1000, wait_ms = 0;
    uint64_t seen_head = 0;
    unsigned seed = (unsigned)dn_time_now_ms() ^ (unsigned)getpid();

    dn_log_info(_("syncing every %d s and on new events"), interval_s);
    while (!*stop) {
        dn_sync_options_t options = {DN_SYNC_DEFAULT_TIMEOUT_S * 1000, 0, 0, NULL, 0, 0};
        dn_sync_result_t result;
        dn_outbox_position_t pos;
        int rc = dn_sync_run(store, dir, &options, &result);

        if (rc == 0) {
            char report[160];
            char received[512];
            if (result.sent_events) /* the journal says what `sync` would */
                dn_log_info(_("synced: %s"), dn_sync_report(&result, report, sizeof report));
            if (dn_sync_report_received(&result, received, sizeof received)[0])
                dn_log_info("%s", received);
            backoff_ms = 1000;
            wait_ms = (int64_t)interval_s * 1000;
        } else {
            /* Exponential backoff with +-25 % jitter, so that a fleet of
               shops does not return in step when the server comes back.  */
            int64_t jitter = backoff_ms / 2 ? (int64_t)(rand_r(&seed) % (backoff_ms / 2)) : 0;
            wait_ms = backoff_ms * 3 / 4 + jitter;
            backoff_ms = backoff_ms * 2 < 300000 ? backoff_ms * 2 : 300000;
            if (rc == DN_EPERM || rc == DN_EPROTO || rc == DN_ESIG)
                wait_ms = (int64_t)interval_s * 1000 > 300000 ? (int64_t)interval_s * 1000
                                                              : 300000;
            /* as `sync` says it: "sync failed, N events kept pending: CAUSE"
               or "partly synced: ...; then CAUSE"; a refusal is its cause */
            int told = s_summarised(rc, &result);
            dn_log_warn(_("%s%s; next try in %lld s"), told ? "" : _("sync failed: "), result.error,
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
    dn_log_info(_("stopping"));
    return 0;
}
