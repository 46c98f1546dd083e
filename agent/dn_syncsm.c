/*  dn_syncsm -- the sync session's state machine (see dn_syncsm.h).

    States: idle (no session yet), hello (the Hello is out, waiting for the
    Welcome), push (batches in flight, waiting for their replies), down
    (a Pull is out, waiting for its DownReply: only once every batch is
    acked), ended (the last action was RECONNECT, DONE or FAIL).  The one invariant the
    rest hangs on: inflight[] holds, in the order sent, the last seq of
    every batch of this session that has not had its own reply, and an ack
    is never taken beyond inflight[0] -- replies come one per batch, in
    order, so an ack beyond the oldest batch in flight can only belong to
    a resend or a duplicate, and the events it covers are marked synced
    when their own batch is acked (or the next session resends them and
    the server checks them again).
*/
#include "dn_syncsm.h"
#include "dn_i18n.h"
#include "dn_chain.h"
#include "dn_error.h"
#include "dn_log.h"
#include "dn_money.h"
#include "dn_outbox.h"
#include "dn_protocol.h"
#include "dn_version.h"
#include "dn_wire.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { S_IDLE, S_HELLO, S_PUSH, S_DOWN, S_ENDED } s_state_t;

struct _dn_syncsm_t {
    dn_store_t *store;   /* borrowed */
    dn_key_t *key;       /* borrowed: signs batches */
    const char *peer;    /* borrowed: the server, in error texts */
    dn_sync_result_t *r; /* borrowed */
    void (*progress)(void *arg, const dn_sync_result_t *result);
    void *progress_arg;
    int readonly; /* store nothing (dn_syncsm_set_readonly) */

    s_state_t state;
    int rc;               /* with ended: 0, DN_EAGAIN or the failure */
    int reply_timeout_ms; /* quoted in "no answer" texts */
    uint64_t head;        /* head seq read at start: the session's goal */
    size_t window;        /* batches in flight, from the Welcome */
    size_t max_events;    /* per batch, from the Welcome */
    int64_t hello_ms;     /* the agent's clock in the Hello */
    uint64_t next;        /* first seq this session has not sent yet */
    uint64_t inflight[DN_PROTOCOL_MAX_WINDOW]; /* whatever the server allows */
    size_t n_inflight;

    /* downstream */
    const dn_down_applier_t *const *appliers; /* borrowed */
    size_t n_appliers;
    Dealernet__Stream streams[DN_DOWN_MAX_STREAMS]; /* pulled */
    size_t n_streams;
    /* what the next Pull of this session asks for: every stream at first,
       then only those whose last Down said more -- a catalogue coming in
       50 chunks does not have the server compute the partner's earnings
       50 times */
    Dealernet__Stream pulling[DN_DOWN_MAX_STREAMS];
    size_t n_pulling;
    int explicit_streams; /* dn_syncsm_set_pull: the driver asked for them */
    int push;             /* push the outbox first (default) */
    int down;             /* this session's Welcome named the pinned down key */
    int down_key_other;   /* ... or another one: fail after the upload */

    uint8_t *out; /* the packed message of the last SEND */
    size_t out_len;
    uint64_t out_last; /* with a batch in out: its last seq */
    size_t out_n;      /* with a batch in out: its events */
};

dn_syncsm_t *dn_syncsm_new(dn_store_t *store, dn_key_t *key, const char *peer,
                           dn_sync_result_t *result)
{
    dn_syncsm_t *self;
    assert(store && key && peer && result);
    self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->store = store;
    self->key = key;
    self->peer = peer;
    self->r = result;
    self->state = S_IDLE;
    self->push = 1;
    self->appliers = dn_down_appliers(&self->n_appliers);
    self->n_streams =
        dn_down_default_streams(self->appliers, self->n_appliers, self->streams);
    return self;
}

void dn_syncsm_destroy(dn_syncsm_t **self_p)
{
    if (self_p && *self_p) {
        free((*self_p)->out);
        free(*self_p);
        *self_p = NULL;
    }
}

void dn_syncsm_set_progress(dn_syncsm_t *self,
                            void (*fn)(void *arg, const dn_sync_result_t *result),
                            void *arg)
{
    self->progress = fn;
    self->progress_arg = arg;
}

void dn_syncsm_set_readonly(dn_syncsm_t *self)
{
    self->readonly = 1;
}

void dn_syncsm_set_pull(dn_syncsm_t *self, const Dealernet__Stream *streams, size_t n,
                        int push)
{
    assert(n <= DN_DOWN_MAX_STREAMS);
    memcpy(self->streams, streams, n * sizeof *streams);
    self->n_streams = n;
    self->explicit_streams = 1;
    self->push = push;
}

void dn_syncsm_set_appliers(dn_syncsm_t *self, const dn_down_applier_t *const *list,
                            size_t n)
{
    self->appliers = list;
    self->n_appliers = n;
    if (!self->explicit_streams)
        self->n_streams = dn_down_default_streams(list, n, self->streams);
}

void dn_syncsm_message(const dn_syncsm_t *self, const uint8_t **data, size_t *len)
{
    *data = self->out;
    *len = self->out_len;
}

int dn_syncsm_rc(const dn_syncsm_t *self)
{
    return self->rc;
}

const char *dn_syncsm_state(const dn_syncsm_t *self)
{
    static const char *names[] = {"idle", "hello", "push", "down", "ended"};
    return names[self->state];
}

int dn_syncsm_pulling(const dn_syncsm_t *self)
{
    return self->state == S_DOWN;
}

size_t dn_syncsm_inflight(const dn_syncsm_t *self)
{
    return self->n_inflight;
}

/*  Ends the session.  */
static dn_syncsm_action_t s_end(dn_syncsm_t *self, dn_syncsm_action_t action, int rc)
{
    self->state = S_ENDED;
    self->rc = rc;
    self->n_inflight = 0;
    return action;
}

/*  Ends the session with rc: 0 is done, DN_EAGAIN reconnects, anything
    else fails.  */
static dn_syncsm_action_t s_end_rc(dn_syncsm_t *self, int rc)
{
    if (rc == 0)
        return s_end(self, DN_SYNCSM_DONE, 0);
    if (rc == DN_EAGAIN)
        return s_end(self, DN_SYNCSM_RECONNECT, DN_EAGAIN);
    return s_end(self, DN_SYNCSM_FAIL, rc);
}

/*  Packs msg into self->out.  */
static int s_pack(dn_syncsm_t *self, const Dealernet__SyncMessage *msg)
{
    char why[DN_WHY_SIZE];
    int rc;
    free(self->out);
    self->out = NULL;
    self->out_len = 0;
    rc = dn_wire_sync_pack(msg, &self->out, &self->out_len, why, sizeof why);
    if (rc)
        dn_log_error(_("cannot pack a sync message: %s"), why);
    return rc;
}

/*  How a refusal's line begins, by its code.  The server's text follows
    in English (Refused.text is wire text: the server logs and stores it,
    and an agent may be older or newer than the server's words), so in
    English every code reads "server refused: TEXT"; another language says
    first what the code means, in the clerk's words, then the server's
    text.  */
static const char *s_refused_format(Dealernet__RefuseCode code)
{
    switch (code) {
    case DEALERNET__REFUSE_CODE__REFUSE_MALFORMED:
        return C_("refused: malformed", "server refused: %s");
    case DEALERNET__REFUSE_CODE__REFUSE_NOT_ENROLLED:
        return C_("refused: not enrolled", "server refused: %s");
    case DEALERNET__REFUSE_CODE__REFUSE_BAD_TOKEN:
        return C_("refused: bad token", "server refused: %s");
    case DEALERNET__REFUSE_CODE__REFUSE_TOKEN_USED:
        return C_("refused: token used", "server refused: %s");
    case DEALERNET__REFUSE_CODE__REFUSE_TOKEN_EXPIRED:
        return C_("refused: token expired", "server refused: %s");
    case DEALERNET__REFUSE_CODE__REFUSE_WRONG_SITE:
        return C_("refused: wrong site", "server refused: %s");
    case DEALERNET__REFUSE_CODE__REFUSE_GAP:
        return C_("refused: gap", "server refused: %s");
    case DEALERNET__REFUSE_CODE__REFUSE_BAD_SIGNATURE:
        return C_("refused: bad signature", "server refused: %s");
    case DEALERNET__REFUSE_CODE__REFUSE_CHAIN:
        return C_("refused: chain", "server refused: %s");
    case DEALERNET__REFUSE_CODE__REFUSE_TAMPER:
        return C_("refused: tamper", "server refused: %s");
    case DEALERNET__REFUSE_CODE__REFUSE_TOO_BIG:
        return C_("refused: too big", "server refused: %s");
    case DEALERNET__REFUSE_CODE__REFUSE_INTERNAL:
        return C_("refused: internal", "server refused: %s");
    case DEALERNET__REFUSE_CODE__REFUSE_RATE_LIMITED:
        return C_("refused: rate limited", "server refused: %s");
    case DEALERNET__REFUSE_CODE__REFUSE_REVOKED:
        return C_("refused: revoked", "server refused: %s");
    default:
        return _("server refused: %s");
    }
}

/*  What a refusal means for the agent.  */
static int s_refusal(dn_syncsm_t *self, const Dealernet__Refused *refused)
{
    self->r->refused = refused->code;
    snprintf(self->r->error, sizeof self->r->error, s_refused_format(refused->code),
             refused->text);
    switch (refused->code) {
    case DEALERNET__REFUSE_CODE__REFUSE_GAP:
    case DEALERNET__REFUSE_CODE__REFUSE_INTERNAL:
    case DEALERNET__REFUSE_CODE__REFUSE_RATE_LIMITED:
        self->r->cause = DN_SYNC_CAUSE_SERVER_ERROR;
        return DN_EAGAIN; /* reconnect and resume from our own last ack */
    case DEALERNET__REFUSE_CODE__REFUSE_SERVER_FULL:
        /* Nothing a retry within this sync can mend: the driver stops (the
           cause says so), the events stay pending for a later sync.  */
        self->r->cause = DN_SYNC_CAUSE_SERVER_FULL;
        snprintf(self->r->error, sizeof self->r->error,
                 _("server disk full: the server stored nothing more; tell headquarters"));
        return DN_EAGAIN;
    case DEALERNET__REFUSE_CODE__REFUSE_NOT_ENROLLED:
        self->r->cause = DN_SYNC_CAUSE_NOT_ENROLLED;
        return DN_EPERM;
    case DEALERNET__REFUSE_CODE__REFUSE_REVOKED:
        self->r->cause = DN_SYNC_CAUSE_REVOKED;
        return DN_EPERM;
    case DEALERNET__REFUSE_CODE__REFUSE_PROTOCOL:
        /* a server older than this agent: servers take older agents, not
           the other way round */
        self->r->cause = DN_SYNC_CAUSE_REFUSED;
        snprintf(self->r->error, sizeof self->r->error,
                 _("server refused: %s: upgrade the server first"), refused->text);
        return DN_EPROTO;
    default:
        self->r->cause = DN_SYNC_CAUSE_REFUSED;
        return DN_EPROTO;
    }
}

/*  The server's applied seq, as its last Welcome or ack said.  */
static void s_server_holds(dn_syncsm_t *self, uint64_t applied)
{
    self->r->has_server = 1;
    self->r->server_applied = applied;
}

/*  Acknowledges locally what the server holds.  */
static int s_acked(dn_syncsm_t *self, uint64_t through)
{
    dn_sync_result_t *r = self->r;
    int rc;
    if (through <= r->acked_through)
        return 0;
    if (through > r->head_seq) {
        snprintf(
            r->error, sizeof r->error,
            _("the server holds seq %llu but this site's log ends at %llu: was agent.db "
            "restored from an old copy?"),
            (unsigned long long)through, (unsigned long long)r->head_seq);
        r->cause = DN_SYNC_CAUSE_LOCAL;
        return DN_EPROTO;
    }
    rc = dn_outbox_ack(self->store, through);
    if (rc == 0)
        r->acked_through = through;
    if (self->progress)
        self->progress(self->progress_arg, r);
    return rc;
}

/*  Reads, signs and packs the batch starting at seq from.  The batch ends
    at the head read at start, however far the outbox has grown since (a
    clerk records while the daemon syncs): an ack beyond that head would
    look like a server that holds more than the site ever recorded.  */
static int s_pack_push(dn_syncsm_t *self, uint64_t from)
{
    Dealernet__SyncMessage msg = DEALERNET__SYNC_MESSAGE__INIT;
    Dealernet__PushBatch push = DEALERNET__PUSH_BATCH__INIT;
    dn_outbox_batch_t batch;
    uint8_t sig[DN_SIG_BYTES];
    size_t max_events = self->max_events;
    int rc;

    assert(from <= self->head);
    if (self->head - from + 1 < max_events)
        max_events = (size_t)(self->head - from + 1);
    rc = dn_outbox_read(self->store, from, max_events, DN_MAX_BATCH_BYTES, &batch);
    if (rc)
        return rc;
    if (batch.n == 0) {
        dn_outbox_batch_free(&batch);
        return DN_ECHAIN;
    }
    rc = dn_chain_sign(self->key, dn_store_info(self->store)->site, batch.last_seq, batch.head,
                       sig);
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
        rc = s_pack(self, &msg);
    }
    if (rc == 0) {
        self->out_last = batch.last_seq;
        self->out_n = batch.n;
    }
    dn_outbox_batch_free(&batch);
    return rc;
}

/*  Packs the Pull of the streams still to pull (self->pulling), as
    agent.db holds them now.  */
static dn_syncsm_action_t s_pack_pull(dn_syncsm_t *self)
{
    Dealernet__SyncMessage msg = DEALERNET__SYNC_MESSAGE__INIT;
    Dealernet__Pull *pull = NULL;
    int rc = dn_down_pull_build(self->store, self->pulling, self->n_pulling, &pull);
    if (rc == 0) {
        msg.body_case = DEALERNET__SYNC_MESSAGE__BODY_PULL;
        msg.pull = pull;
        rc = s_pack(self, &msg);
    }
    dn_down_pull_free(&pull);
    if (rc) {
        self->r->cause = DN_SYNC_CAUSE_LOCAL;
        snprintf(self->r->error, sizeof self->r->error,
                 _("cannot read what this site holds of the server's streams: %s"),
                 dn_strerror(rc));
        return s_end(self, DN_SYNCSM_FAIL, rc);
    }
    self->out_n = 0;
    self->state = S_DOWN;
    return DN_SYNCSM_SEND;
}

/*  The upload is done (every batch acked): the downstream part of the
    session, or done.  */
static dn_syncsm_action_t s_pull(dn_syncsm_t *self)
{
    if (self->down_key_other) {
        self->r->cause = DN_SYNC_CAUSE_DOWN_KEY;
        snprintf(self->r->error, sizeof self->r->error,
                 _("the server names another down key than the one this site pinned: "
                 "nothing was received (was the server's down.key replaced? tell "
                 "headquarters)"));
        return s_end(self, DN_SYNCSM_FAIL, DN_ESIG);
    }
    if (self->n_streams == 0)
        return s_end(self, DN_SYNCSM_DONE, 0);
    if (!self->down) {
        if (!self->explicit_streams) /* an older server: nothing comes down */
            return s_end(self, DN_SYNCSM_DONE, 0);
        self->r->cause = DN_SYNC_CAUSE_REFUSED;
        snprintf(self->r->error, sizeof self->r->error,
                 _("%s sends nothing down (it is older than this agent: upgrade the server "
                 "first)"),
                 self->peer);
        return s_end(self, DN_SYNCSM_FAIL, DN_EPROTO);
    }
    memcpy(self->pulling, self->streams, self->n_streams * sizeof *self->streams);
    self->n_pulling = self->n_streams;
    return s_pack_pull(self);
}

/*  The push loop: done when everything up to the session's head is
    acked; else send the next batch if the window has room; else wait.  */
static dn_syncsm_action_t s_fill(dn_syncsm_t *self)
{
    int rc;
    if (self->r->acked_through >= self->head)
        return s_pull(self);
    if (self->n_inflight < self->window && self->next <= self->head) {
        if ((rc = s_pack_push(self, self->next)) != 0)
            return s_end_rc(self, rc);
        return DN_SYNCSM_SEND;
    }
    return DN_SYNCSM_WAIT;
}

/*  A reply that never came (or could not be read): reconnect.  Which of
    the causes it was, only the driver's socket can tell: it sets
    result->cause and may reword the error.  */
static dn_syncsm_action_t s_lost(dn_syncsm_t *self)
{
    if (self->state == S_HELLO)
        snprintf(self->r->error, sizeof self->r->error, _("no answer from %s"), self->peer);
    else
        snprintf(self->r->error, sizeof self->r->error, _("no answer from %s within %d ms"),
                 self->peer, self->reply_timeout_ms);
    self->r->cause = NULL;
    return s_end(self, DN_SYNCSM_RECONNECT, DN_EAGAIN);
}

dn_syncsm_action_t dn_syncsm_start(dn_syncsm_t *self, int64_t now_ms,
                                   int reply_timeout_ms)
{
    Dealernet__SyncMessage msg = DEALERNET__SYNC_MESSAGE__INIT;
    Dealernet__Hello hello = DEALERNET__HELLO__INIT;
    dn_outbox_position_t pos;
    int rc;

    self->state = S_IDLE;
    self->n_inflight = 0;
    self->reply_timeout_ms = reply_timeout_ms;
    self->r->welcomed = 0;
    if ((rc = dn_outbox_position(self->store, &pos)) != 0) {
        self->r->cause = DN_SYNC_CAUSE_LOCAL;
        return s_end(self, DN_SYNCSM_FAIL, rc);
    }
    self->head = pos.head_seq;
    self->r->head_seq = pos.head_seq;
    if (self->r->acked_through < pos.acked_seq)
        self->r->acked_through = pos.acked_seq;
    if (!self->r->started) {
        self->r->started = 1;
        self->r->start_acked = self->r->acked_through;
    }

    hello.has_protocol = 1;
    hello.protocol = DN_PROTOCOL_VERSION;
    hello.agent_version = DN_VERSION;
    hello.has_pending = 1;
    hello.pending = pos.pending;
    hello.has_clock_ms = 1;
    hello.clock_ms = now_ms;
    self->hello_ms = now_ms;
    hello.has_head_seq = 1;
    hello.head_seq = pos.head_seq;
    if (pos.pending) {
        hello.has_oldest_pending_ms = 1;
        hello.oldest_pending_ms = pos.oldest_pending_ms;
    }
    msg.body_case = DEALERNET__SYNC_MESSAGE__BODY_HELLO;
    msg.hello = &hello;
    if ((rc = s_pack(self, &msg)) != 0)
        return s_end(self, DN_SYNCSM_FAIL, rc);
    self->out_n = 0;
    self->state = S_HELLO;
    return DN_SYNCSM_SEND;
}

dn_syncsm_action_t dn_syncsm_sent(dn_syncsm_t *self)
{
    assert(self->state == S_HELLO || self->state == S_PUSH || self->state == S_DOWN);
    if (self->state == S_HELLO || self->state == S_DOWN)
        return DN_SYNCSM_WAIT;
    assert(self->n_inflight < DN_PROTOCOL_MAX_WINDOW);
    self->inflight[self->n_inflight++] = self->out_last;
    self->next = self->out_last + 1;
    self->r->sent_events += self->out_n;
    return s_fill(self);
}

dn_syncsm_action_t dn_syncsm_send_failed(dn_syncsm_t *self)
{
    assert(self->state == S_HELLO || self->state == S_PUSH || self->state == S_DOWN);
    if (self->state == S_HELLO)
        return s_lost(self);
    return s_end(self, DN_SYNCSM_RECONNECT, DN_EAGAIN);
}

dn_syncsm_action_t dn_syncsm_timeout(dn_syncsm_t *self)
{
    assert(self->state == S_HELLO || self->state == S_PUSH || self->state == S_DOWN);
    return s_lost(self);
}

/*  Keeps the network's bound on one sale for the till (dn_record_sale),
    writing only when it changed.  A failed write loses nothing but an
    update of the bound, which the next sync brings again: logged, and the
    sync goes on.  */
static void s_store_max_sale(dn_syncsm_t *self, int64_t bound)
{
    char text[DN_MONEY_TEXT_SIZE], stored[DN_MONEY_TEXT_SIZE];
    if (dn_money_format(bound, DN_MONEY_BOUND_EXPONENT, text, sizeof text) != 0)
        return;
    if (dn_store_meta_get(self->store, DN_STORE_MAX_SALE, stored, sizeof stored) == 0 &&
        strcmp(stored, text) == 0)
        return;
    if (dn_store_meta_set(self->store, DN_STORE_MAX_SALE, text) != 0)
        dn_log_warn(_("could not store the network's limit on one sale (%s)"), text);
}

/*  The down key a Welcome names (protocol 2): the one pinned, or pinned
    now if none was (the CURVE handshake has proven the server: this is
    the first thing it tells about its down key since enrolment, or an
    agent enrolled before protocol 2 learns it here); another one is
    remembered, to fail the sync once the upload is done.  */
static int s_down_key(dn_syncsm_t *self, const Dealernet__Welcome *welcome)
{
    uint8_t pinned[DN_PUBKEY_BYTES];
    int rc;
    self->down = 0;
    self->down_key_other = 0;
    if (welcome->protocol < 2 || !welcome->has_down_key)
        return 0;
    rc = dn_down_key_get(self->store, pinned);
    if (rc == DN_ENOENT) {
        if (!self->readonly &&
            (rc = dn_down_key_pin(self->store, welcome->down_key.data)) != 0) {
            self->r->cause = DN_SYNC_CAUSE_LOCAL;
            snprintf(self->r->error, sizeof self->r->error,
                     _("cannot record the server's down key in agent.db"));
            return rc;
        }
        self->down = 1;
        return 0;
    }
    if (rc == 0 && memcmp(pinned, welcome->down_key.data, DN_PUBKEY_BYTES) == 0)
        self->down = 1;
    else if (rc == 0 || rc == DN_ECRYPTO)
        self->down_key_other = 1;
    else {
        self->r->cause = DN_SYNC_CAUSE_LOCAL;
        snprintf(self->r->error, sizeof self->r->error, _("cannot read agent.db"));
        return rc;
    }
    return 0;
}

/*  The Welcome (or a refusal) after the Hello.  */
static dn_syncsm_action_t s_on_welcome(dn_syncsm_t *self,
                                       const Dealernet__SyncMessage *reply)
{
    const Dealernet__Welcome *welcome = reply->welcome;
    int rc;
    if (reply->body_case == DEALERNET__SYNC_MESSAGE__BODY_REFUSED)
        return s_end_rc(self, s_refusal(self, reply->refused));
    if (reply->body_case != DEALERNET__SYNC_MESSAGE__BODY_WELCOME)
        return s_end(self, DN_SYNCSM_RECONNECT, DN_EAGAIN);
    self->r->welcomed = 1;
    self->r->cause = NULL; /* what an earlier session met is over */
    s_server_holds(self, welcome->applied_seq);
    if (welcome->has_server_clock_ms) { /* to the round trip's precision */
        self->r->has_skew = 1;
        self->r->skew_ms = self->hello_ms - welcome->server_clock_ms;
    }
    self->window = welcome->window < DN_PROTOCOL_MAX_WINDOW ? welcome->window
                                                            : DN_PROTOCOL_MAX_WINDOW;
    self->max_events = welcome->max_batch_events;
    if (welcome->has_max_sale && !self->readonly)
        s_store_max_sale(self, welcome->max_sale);
    if (welcome->zone && !self->readonly &&
        dn_store_zone_set(self->store, welcome->zone, welcome->zone_rule) != 0)
        dn_log_warn(_("could not store the network's time zone (%s)"), welcome->zone);
    if ((rc = s_down_key(self, welcome)) != 0)
        return s_end(self, DN_SYNCSM_FAIL, rc);
    if (!self->push) { /* a session that only pulls (recover) */
        self->state = S_PUSH;
        return s_pull(self);
    }
    /* Resend from our own last ack, not from the server's applied seq: the
       server checks every event it already holds against what it stored
       (REFUSE_TAMPER if it differs), so a lost ack never lets a changed
       event be marked synced unchecked.  A server ahead of our head is
       still an error (s_acked says so).  */
    if (welcome->applied_seq > self->head &&
        (rc = s_acked(self, welcome->applied_seq)) != 0)
        return s_end_rc(self, rc);
    self->next = self->r->acked_through + 1;
    self->state = S_PUSH;
    return s_fill(self);
}

/*  A reply to a batch.  */
static dn_syncsm_action_t s_on_push_reply(dn_syncsm_t *self,
                                          const Dealernet__SyncMessage *reply)
{
    int rc;
    if (reply->body_case == DEALERNET__SYNC_MESSAGE__BODY_REFUSED)
        return s_end_rc(self, s_refusal(self, reply->refused));
    if (reply->body_case != DEALERNET__SYNC_MESSAGE__BODY_ACK)
        return s_end(self, DN_SYNCSM_RECONNECT, DN_EAGAIN);
    /* One reply per batch, in order: a batch counts as acked only with its
       own reply, even if the server applied more.  */
    uint64_t through = reply->ack->acked_through;
    size_t keep = 0;
    if (through > self->r->server_applied)
        s_server_holds(self, through);
    if (self->n_inflight && through > self->inflight[0])
        through = self->inflight[0];
    rc = s_acked(self, through);
    for (size_t i = 0; i < self->n_inflight; i++)
        if (self->inflight[i] > self->r->acked_through)
            self->inflight[keep++] = self->inflight[i];
    self->n_inflight = keep;
    if (rc)
        return s_end_rc(self, rc);
    return s_fill(self);
}

/*  Adds what one reply applied to the sync's result.  */
static void s_received(dn_syncsm_t *self, const dn_down_applied_t *applied, size_t n)
{
    dn_sync_result_t *r = self->r;
    for (size_t i = 0; i < n; i++) {
        size_t j = 0;
        while (j < r->n_received && r->received[j].stream != applied[i].stream)
            j++;
        if (j == r->n_received) {
            if (r->n_received == DN_DOWN_MAX_STREAMS)
                continue; /* dn_wire's bound: cannot happen */
            r->received[r->n_received++] = applied[i];
            continue;
        }
        r->received[j].items += applied[i].items;
        r->received[j].version = applied[i].version;
        r->received[j].reset |= applied[i].reset;
    }
}

/*  The DownReply to the session's Pull.  */
static dn_syncsm_action_t s_on_down_reply(dn_syncsm_t *self,
                                          const Dealernet__SyncMessage *reply)
{
    const Dealernet__DownReply *down = reply->down;
    dn_down_applied_t applied[DN_DOWN_MAX_STREAMS];
    size_t n_applied = 0;
    int more = 0, moved = 0, rc;
    char why[sizeof self->r->error];

    if (reply->body_case == DEALERNET__SYNC_MESSAGE__BODY_REFUSED)
        return s_end_rc(self, s_refusal(self, reply->refused));
    if (reply->body_case != DEALERNET__SYNC_MESSAGE__BODY_DOWN)
        return s_end(self, DN_SYNCSM_RECONNECT, DN_EAGAIN);
    /* one Down per stream pulled, in the Pull's order */
    rc = down->n_downs == self->n_pulling ? 0 : DN_EPROTO;
    for (size_t i = 0; rc == 0 && i < down->n_downs; i++)
        if (down->downs[i]->stream != self->pulling[i])
            rc = DN_EPROTO;
    if (rc) {
        self->r->cause = DN_SYNC_CAUSE_DOWN_REFUSED;
        snprintf(self->r->error, sizeof self->r->error,
                 _("the server answered the pull with other streams than were asked for: "
                 "nothing applied"));
        return s_end(self, DN_SYNCSM_FAIL, rc);
    }
    /* Progress is items or a version moved.  A reset alone is not: a
       server answering every Pull with an empty reset and more would have
       the agent pull for ever (its next Pull holds 0 again).  A server's
       own empty reset with more comes only in a reply whose budget
       earlier Downs' items took, so that reply moved anyway.  */
    for (size_t i = 0; i < down->n_downs; i++)
        if (down->downs[i]->n_items ||
            down->downs[i]->to_version != down->downs[i]->from_version)
            moved = 1;
    /* the machine has no clock: the session's start stands for "now" */
    rc = dn_down_apply_with(self->store, self->appliers, self->n_appliers, down,
                            self->hello_ms, applied, &n_applied, &more, why, sizeof why);
    if (rc == DN_ECRYPTO || rc == DN_EPROTO) {
        /* bad data from the server (exit 65), not this PC's trouble */
        self->r->cause = DN_SYNC_CAUSE_DOWN_REFUSED;
        snprintf(self->r->error, sizeof self->r->error, "%s", why);
        return s_end(self, DN_SYNCSM_FAIL, rc == DN_ECRYPTO ? DN_ESIG : rc);
    }
    if (rc) {
        self->r->cause = DN_SYNC_CAUSE_LOCAL;
        snprintf(self->r->error, sizeof self->r->error,
                 _("cannot apply what the server sent to agent.db: %s"), dn_strerror(rc));
        return s_end(self, DN_SYNCSM_FAIL, rc);
    }
    self->r->pulls++;
    s_received(self, applied, n_applied);
    if (!more)
        return s_end(self, DN_SYNCSM_DONE, 0);
    if (!moved) { /* it would ask the same again, for ever */
        self->r->cause = DN_SYNC_CAUSE_DOWN_REFUSED;
        snprintf(self->r->error, sizeof self->r->error,
                 _("the server says it has more to send but sent nothing"));
        return s_end(self, DN_SYNCSM_FAIL, DN_EPROTO);
    }
    self->n_pulling = 0;
    for (size_t i = 0; i < down->n_downs; i++)
        if (down->downs[i]->more)
            self->pulling[self->n_pulling++] = down->downs[i]->stream;
    return s_pack_pull(self);
}

dn_syncsm_action_t dn_syncsm_reply(dn_syncsm_t *self, const uint8_t *data, size_t len)
{
    Dealernet__SyncMessage *reply = NULL;
    dn_syncsm_action_t action;
    char why[DN_WHY_SIZE];
    assert(self->state == S_HELLO || self->state == S_PUSH || self->state == S_DOWN);
    if (dn_wire_sync_unpack(data, len, &reply, why, sizeof why) != 0) {
        /* Not a line of its own: the error names it, once (a peer that is
           not the sync port answers every try the same).  */
        dn_log_debug("dropped a malformed reply from the server: %s", why);
        if (self->state == S_DOWN) { /* the sync port answered: not a wrong port */
            action = s_lost(self);
            snprintf(self->r->error, sizeof self->r->error,
                     _("%s sent a down reply that does not decode (%s)"), self->peer, why);
            return action;
        }
        action = s_lost(self);
        snprintf(self->r->error, sizeof self->r->error,
                 _("%s answered something that is not a dealernet sync reply (%s): wrong port?"),
                 self->peer, why);
        self->r->cause = DN_SYNC_CAUSE_WRONG_PORT;
        return action;
    }
    action = self->state == S_HELLO  ? s_on_welcome(self, reply)
             : self->state == S_DOWN ? s_on_down_reply(self, reply)
                                     : s_on_push_reply(self, reply);
    dn_wire_sync_free(&reply);
    return action;
}
