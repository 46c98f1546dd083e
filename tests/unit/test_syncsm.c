/*  test_syncsm -- unit tests for the agent's sync session state machine.

    The machine is driven by hand here, the way dn_sync.c and the simulator
    drive it: each test starts a session on a site with a few recorded
    sales, checks the exact bytes it asks to send (decoded: which message,
    which seqs), and feeds it replies packed by dn_wire as a server would.
    Checked: the Hello carries the outbox position and the given clock; a
    session pushes from the agent's own last ack, in batches of the
    Welcome's size, with no more than its window in flight; events are
    marked synced only by their own batch's ack, even when the server says
    it applied more; a batch never reaches past the head read at start,
    even when the clerk recorded more since (a bug the simulator found:
    seed 1 -- the ack of such a batch looked like a server ahead of the
    site); each refusal code maps to reconnect or give up; a timeout or a
    malformed reply reconnects; a server ahead of the site's head fails.
    Downstream (protocol 2, the test kit's applier "notes"): a Welcome's
    down key is pinned; the Pull goes only after the last ack, and again
    while a Down says more; a Welcome naming another key, or a Down that
    does not verify, fails the sync after the upload with nothing applied;
    a lost DownReply reconnects; a session that only pulls pushes nothing.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>

#include <cmocka.h>

#include "dn_crypto.h"
#include "dn_error.h"
#include "dn_log.h"
#include "dn_outbox.h"
#include "dn_protocol.h"
#include "dn_record.h"
#include "dn_store.h"
#include "dn_sync.h" /* dn_sync_report */
#include "dn_syncsm.h"
#include "dn_testdown.h"
#include "dn_wire.h"

typedef struct {
    char dir[64];
    dn_store_t *store;
    dn_key_t *key;
    dn_sync_result_t result;
    dn_syncsm_t *sm;
} fixture_t;

/*  Records one sale of 1 x 1.00.  */
static void s_sale(fixture_t *fx)
{
    dn_record_line_t line = {"TEA", 1, 1, 100, "", 0};
    dn_sale_input_t in = {&line, 1, NULL, NULL, NULL, NULL};
    dn_record_result_t out;
    char why[256] = "";
    assert_int_equal(dn_record_sale(fx->store, &in, &out, why, sizeof why), 0);
}

static int s_setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    uint8_t seed[32];
    int err = 0;
    if (!fx)
        return -1;
    for (int i = 0; i < 32; i++)
        seed[i] = (uint8_t)i;
    snprintf(fx->dir, sizeof fx->dir, "/tmp/test_syncsm.XXXXXX");
    if (!mkdtemp(fx->dir) || dn_store_create(fx->dir, "SHOP-01", "DLR-7", "CNY") != 0 ||
        !(fx->store = dn_store_open(fx->dir, &err)) ||
        !(fx->key = dn_key_from_seed(seed)) ||
        !(fx->sm = dn_syncsm_new(fx->store, fx->key, "tcp://server:7700", &fx->result)))
        return -1;
    *state = fx;
    for (int i = 0; i < 5; i++)
        s_sale(fx);
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *fx = *state;
    char path[128];
    DIR *d;
    struct dirent *e;
    dn_syncsm_destroy(&fx->sm);
    assert_null(fx->sm);
    dn_store_destroy(&fx->store);
    dn_key_destroy(&fx->key);
    if ((d = opendir(fx->dir)) != NULL) {
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            snprintf(path, sizeof path, "%s/%s", fx->dir, e->d_name);
            unlink(path);
        }
        closedir(d);
    }
    rmdir(fx->dir);
    free(fx);
    return 0;
}

/*  The message the machine asks to send, decoded.  Caller frees.  */
static Dealernet__SyncMessage *s_sent(fixture_t *fx)
{
    Dealernet__SyncMessage *msg = NULL;
    const uint8_t *data;
    size_t len;
    char why[DN_WHY_SIZE];
    dn_syncsm_message(fx->sm, &data, &len);
    assert_int_equal(dn_wire_sync_unpack(data, len, &msg, why, sizeof why), 0);
    return msg;
}

/*  Checks the machine asks to send a push of first..last and confirms it
    went out; returns the next action.  */
static dn_syncsm_action_t s_expect_push(fixture_t *fx, dn_syncsm_action_t action,
                                        uint64_t first, uint64_t last)
{
    Dealernet__SyncMessage *msg;
    assert_int_equal(action, DN_SYNCSM_SEND);
    msg = s_sent(fx);
    assert_int_equal(msg->body_case, DEALERNET__SYNC_MESSAGE__BODY_PUSH);
    assert_int_equal(msg->push->first_seq, first);
    assert_int_equal(msg->push->n_events, last - first + 1);
    dn_wire_sync_free(&msg);
    return dn_syncsm_sent(fx->sm);
}

static dn_syncsm_action_t s_reply(fixture_t *fx, const Dealernet__SyncMessage *msg)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    char why[DN_WHY_SIZE];
    dn_syncsm_action_t action;
    assert_int_equal(dn_wire_sync_pack(msg, &buf, &len, why, sizeof why), 0);
    action = dn_syncsm_reply(fx->sm, buf, len);
    free(buf);
    return action;
}

static dn_syncsm_action_t s_welcome(fixture_t *fx, uint64_t applied, uint32_t window,
                                    uint32_t max_events)
{
    Dealernet__SyncMessage msg = DEALERNET__SYNC_MESSAGE__INIT;
    Dealernet__Welcome welcome = DEALERNET__WELCOME__INIT;
    welcome.has_protocol = 1;
    welcome.protocol = DN_PROTOCOL_VERSION;
    welcome.has_applied_seq = 1;
    welcome.applied_seq = applied;
    welcome.has_server_clock_ms = 1;
    welcome.server_clock_ms = 1;
    welcome.has_window = 1;
    welcome.window = window;
    welcome.has_max_batch_events = 1;
    welcome.max_batch_events = max_events;
    msg.body_case = DEALERNET__SYNC_MESSAGE__BODY_WELCOME;
    msg.welcome = &welcome;
    return s_reply(fx, &msg);
}

static dn_syncsm_action_t s_ack(fixture_t *fx, uint64_t through)
{
    Dealernet__SyncMessage msg = DEALERNET__SYNC_MESSAGE__INIT;
    Dealernet__PushAck ack = DEALERNET__PUSH_ACK__INIT;
    ack.has_acked_through = 1;
    ack.acked_through = through;
    msg.body_case = DEALERNET__SYNC_MESSAGE__BODY_ACK;
    msg.ack = &ack;
    return s_reply(fx, &msg);
}

static dn_syncsm_action_t s_refused(fixture_t *fx, Dealernet__RefuseCode code)
{
    Dealernet__SyncMessage msg = DEALERNET__SYNC_MESSAGE__INIT;
    Dealernet__Refused refused = DEALERNET__REFUSED__INIT;
    refused.has_code = 1;
    refused.code = code;
    refused.text = "no";
    msg.body_case = DEALERNET__SYNC_MESSAGE__BODY_REFUSED;
    msg.refused = &refused;
    return s_reply(fx, &msg);
}

/*  Starts a session and checks its Hello; returns dn_syncsm_sent's action.  */
static dn_syncsm_action_t s_start(fixture_t *fx, uint64_t head, uint64_t pending)
{
    Dealernet__SyncMessage *msg;
    assert_int_equal(dn_syncsm_start(fx->sm, 1767225600123LL, 3000), DN_SYNCSM_SEND);
    assert_string_equal(dn_syncsm_state(fx->sm), "hello");
    msg = s_sent(fx);
    assert_int_equal(msg->body_case, DEALERNET__SYNC_MESSAGE__BODY_HELLO);
    assert_int_equal(msg->hello->protocol, DN_PROTOCOL_VERSION);
    assert_int_equal(msg->hello->head_seq, head);
    assert_int_equal(msg->hello->pending, pending);
    assert_int_equal(msg->hello->clock_ms, 1767225600123LL);
    dn_wire_sync_free(&msg);
    return dn_syncsm_sent(fx->sm);
}

static uint64_t s_pending(fixture_t *fx)
{
    dn_outbox_position_t pos;
    assert_int_equal(dn_outbox_position(fx->store, &pos), 0);
    return pos.pending;
}

/*  Window 2, batches of 2: 1..2 and 3..4 go out, then 5..5 after the first
    ack; each ack marks its batch synced; done at 5.  */
static void test_windowed_push(void **state)
{
    fixture_t *fx = *state;
    dn_syncsm_action_t a = s_start(fx, 5, 5);
    assert_int_equal(a, DN_SYNCSM_WAIT);
    a = s_expect_push(fx, s_welcome(fx, 0, 2, 2), 1, 2);
    a = s_expect_push(fx, a, 3, 4);
    assert_int_equal(a, DN_SYNCSM_WAIT);
    assert_int_equal(dn_syncsm_inflight(fx->sm), 2);
    a = s_expect_push(fx, s_ack(fx, 2), 5, 5);
    assert_int_equal(a, DN_SYNCSM_WAIT);
    assert_int_equal(s_pending(fx), 3);
    assert_int_equal(s_ack(fx, 4), DN_SYNCSM_WAIT);
    assert_int_equal(s_pending(fx), 1);
    assert_int_equal(s_ack(fx, 5), DN_SYNCSM_DONE);
    assert_int_equal(dn_syncsm_rc(fx->sm), 0);
    assert_int_equal(s_pending(fx), 0);
    assert_int_equal(fx->result.acked_through, 5);
    assert_int_equal(fx->result.sent_events, 5);
}

/*  An ack beyond the oldest batch in flight counts only up to that batch:
    the events of 3..4 wait for their own ack.  A duplicate ack changes
    nothing.  */
static void test_ack_only_own_batch(void **state)
{
    fixture_t *fx = *state;
    dn_syncsm_action_t a = s_start(fx, 5, 5);
    assert_int_equal(a, DN_SYNCSM_WAIT);
    a = s_expect_push(fx, s_welcome(fx, 0, 2, 2), 1, 2);
    a = s_expect_push(fx, a, 3, 4);
    assert_int_equal(a, DN_SYNCSM_WAIT);
    a = s_expect_push(fx, s_ack(fx, 4), 5, 5);
    assert_int_equal(a, DN_SYNCSM_WAIT);
    assert_int_equal(fx->result.acked_through, 2);
    assert_int_equal(s_pending(fx), 3);
    assert_int_equal(s_ack(fx, 2), DN_SYNCSM_WAIT); /* a duplicate */
    assert_int_equal(fx->result.acked_through, 2);
    assert_int_equal(dn_syncsm_inflight(fx->sm), 2);
}

/*  The regression of simulator seed 1: events recorded after the session
    read its head are not sent in this session, so the acks stay within
    the head and the session ends done, leaving them for the next one.  */
static void test_batch_stops_at_head(void **state)
{
    fixture_t *fx = *state;
    dn_syncsm_action_t a = s_start(fx, 5, 5);
    assert_int_equal(a, DN_SYNCSM_WAIT);
    s_sale(fx); /* the clerk records 6 and 7 while the daemon syncs */
    s_sale(fx);
    a = s_expect_push(fx, s_welcome(fx, 0, 1, 10), 1, 5);
    assert_int_equal(a, DN_SYNCSM_WAIT);
    assert_int_equal(s_ack(fx, 5), DN_SYNCSM_DONE);
    assert_int_equal(s_pending(fx), 2);
    a = s_start(fx, 7, 2); /* the next session takes them */
    assert_int_equal(a, DN_SYNCSM_WAIT);
    a = s_expect_push(fx, s_welcome(fx, 5, 1, 10), 6, 7);
    assert_int_equal(a, DN_SYNCSM_WAIT);
    assert_int_equal(s_ack(fx, 7), DN_SYNCSM_DONE);
    assert_int_equal(s_pending(fx), 0);
}

/*  A new session resends from the agent's own last ack even when the
    server says it holds more, so the server checks those events again.  */
static void test_resend_from_own_ack(void **state)
{
    fixture_t *fx = *state;
    assert_int_equal(s_start(fx, 5, 5), DN_SYNCSM_WAIT);
    assert_int_equal(s_expect_push(fx, s_welcome(fx, 0, 1, 2), 1, 2), DN_SYNCSM_WAIT);
    assert_int_equal(s_expect_push(fx, s_ack(fx, 2), 3, 4), DN_SYNCSM_WAIT);
    assert_int_equal(dn_syncsm_timeout(fx->sm), DN_SYNCSM_RECONNECT);
    assert_int_equal(dn_syncsm_rc(fx->sm), DN_EAGAIN);
    assert_string_equal(fx->result.error,
                        "no answer from tcp://server:7700 within 3000 ms");
    assert_int_equal(s_start(fx, 5, 3), DN_SYNCSM_WAIT);
    assert_int_equal(s_expect_push(fx, s_welcome(fx, 5, 4, 10), 3, 5), DN_SYNCSM_WAIT);
    assert_int_equal(s_ack(fx, 5), DN_SYNCSM_DONE);
    assert_int_equal(s_pending(fx), 0);
}

/*  Refusals: a gap, an internal error or a rate limit reconnect; a full
    server disk ends the session too (the driver stops on its cause); a
    revoked or unknown site and any data refusal give up.  Each names its
    cause.  */
static void test_refusals(void **state)
{
    fixture_t *fx = *state;
    static const struct {
        Dealernet__RefuseCode code;
        dn_syncsm_action_t action;
        int rc;
        const char *cause;
        const char *error;
    } cases[] = {
        {DEALERNET__REFUSE_CODE__REFUSE_GAP, DN_SYNCSM_RECONNECT, DN_EAGAIN,
         DN_SYNC_CAUSE_SERVER_ERROR, "server refused: no"},
        {DEALERNET__REFUSE_CODE__REFUSE_INTERNAL, DN_SYNCSM_RECONNECT, DN_EAGAIN,
         DN_SYNC_CAUSE_SERVER_ERROR, "server refused: no"},
        {DEALERNET__REFUSE_CODE__REFUSE_RATE_LIMITED, DN_SYNCSM_RECONNECT, DN_EAGAIN,
         DN_SYNC_CAUSE_SERVER_ERROR, "server refused: no"},
        {DEALERNET__REFUSE_CODE__REFUSE_SERVER_FULL, DN_SYNCSM_RECONNECT, DN_EAGAIN,
         DN_SYNC_CAUSE_SERVER_FULL,
         "server disk full: the server stored nothing more; tell headquarters"},
        {DEALERNET__REFUSE_CODE__REFUSE_REVOKED, DN_SYNCSM_FAIL, DN_EPERM,
         DN_SYNC_CAUSE_REVOKED, "server refused: no"},
        {DEALERNET__REFUSE_CODE__REFUSE_NOT_ENROLLED, DN_SYNCSM_FAIL, DN_EPERM,
         DN_SYNC_CAUSE_NOT_ENROLLED, "server refused: no"},
        {DEALERNET__REFUSE_CODE__REFUSE_TAMPER, DN_SYNCSM_FAIL, DN_EPROTO,
         DN_SYNC_CAUSE_REFUSED, "server refused: no"},
        {DEALERNET__REFUSE_CODE__REFUSE_CHAIN, DN_SYNCSM_FAIL, DN_EPROTO,
         DN_SYNC_CAUSE_REFUSED, "server refused: no"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dn_syncsm_action_t a = s_start(fx, 5, 5);
        assert_int_equal(a, DN_SYNCSM_WAIT);
        a = s_expect_push(fx, s_welcome(fx, 0, 1, 5), 1, 5);
        assert_int_equal(a, DN_SYNCSM_WAIT);
        a = s_refused(fx, cases[i].code);
        assert_int_equal(a, cases[i].action);
        assert_int_equal(dn_syncsm_rc(fx->sm), cases[i].rc);
        assert_int_equal(fx->result.refused, cases[i].code);
        assert_string_equal(fx->result.error, cases[i].error);
        assert_string_equal(fx->result.cause, cases[i].cause);
        assert_string_equal(dn_syncsm_state(fx->sm), "ended");
        assert_int_equal(s_pending(fx), 5);
    }
}

/*  A server older than this agent (protocol 2: it would refuse the Sale's
    receipt and payment as unknown fields) refuses the Hello of protocol 3
    with the text such a server sends: the sync fails before any push
    (the Hello was the only message; the machine asks to send nothing
    more), saying to upgrade the server first; the five sales stay
    pending.  */
static void test_older_server(void **state)
{
    fixture_t *fx = *state;
    Dealernet__SyncMessage msg = DEALERNET__SYNC_MESSAGE__INIT;
    Dealernet__Refused refused = DEALERNET__REFUSED__INIT;
    char text[96];

    assert_int_equal(DN_PROTOCOL_VERSION, 3);
    assert_int_equal(s_start(fx, 5, 5), DN_SYNCSM_WAIT);
    snprintf(text, sizeof text, "protocol %d is not supported; this server speaks %d",
             DN_PROTOCOL_VERSION, DN_PROTOCOL_VERSION - 1);
    refused.has_code = 1;
    refused.code = DEALERNET__REFUSE_CODE__REFUSE_PROTOCOL;
    refused.text = text;
    msg.body_case = DEALERNET__SYNC_MESSAGE__BODY_REFUSED;
    msg.refused = &refused;
    assert_int_equal(s_reply(fx, &msg), DN_SYNCSM_FAIL);
    assert_int_equal(dn_syncsm_rc(fx->sm), DN_EPROTO);
    assert_string_equal(fx->result.error,
                        "server refused: protocol 3 is not supported; this "
                        "server speaks 2: upgrade the server first");
    assert_string_equal(fx->result.cause, DN_SYNC_CAUSE_REFUSED);
    assert_string_equal(dn_syncsm_state(fx->sm), "ended");
    assert_int_equal(fx->result.sent_events, 0);
    assert_int_equal(s_pending(fx), 5);
}

/*  No Welcome, a malformed reply, or something other than a Welcome:
    reconnect, nothing acked.  */
static void test_lost_hello(void **state)
{
    fixture_t *fx = *state;
    static const uint8_t junk[] = {0xFF, 0xFF, 0xFF};
    assert_int_equal(s_start(fx, 5, 5), DN_SYNCSM_WAIT);
    assert_int_equal(dn_syncsm_timeout(fx->sm), DN_SYNCSM_RECONNECT);
    assert_string_equal(fx->result.error, "no answer from tcp://server:7700");
    assert_int_equal(s_start(fx, 5, 5), DN_SYNCSM_WAIT);
    fx->result.error[0] = '\0';
    assert_int_equal(dn_syncsm_reply(fx->sm, junk, sizeof junk), DN_SYNCSM_RECONNECT);
    /* a reply that is not a sync reply at all: another service answers */
    assert_string_equal(fx->result.cause, DN_SYNC_CAUSE_WRONG_PORT);
    assert_non_null(strstr(fx->result.error, "tcp://server:7700 answered something that is "
                                             "not a dealernet sync reply ("));
    assert_int_equal(s_start(fx, 5, 5), DN_SYNCSM_WAIT);
    assert_int_equal(s_ack(fx, 5), DN_SYNCSM_RECONNECT);
    assert_int_equal(dn_syncsm_start(fx->sm, 1, 3000), DN_SYNCSM_SEND);
    fx->result.error[0] = '\0';
    assert_int_equal(dn_syncsm_send_failed(fx->sm), DN_SYNCSM_RECONNECT);
    assert_string_equal(fx->result.error, "no answer from tcp://server:7700");
    assert_int_equal(s_pending(fx), 5);
}

/*  A server that holds more than the site ever recorded: give up and say
    so, nothing marked synced.  */
static void test_server_ahead(void **state)
{
    fixture_t *fx = *state;
    assert_int_equal(s_start(fx, 5, 5), DN_SYNCSM_WAIT);
    assert_int_equal(s_welcome(fx, 9, 1, 5), DN_SYNCSM_FAIL);
    assert_int_equal(dn_syncsm_rc(fx->sm), DN_EPROTO);
    assert_string_equal(
        fx->result.error,
        "the server holds seq 9 but this site's log ends at 5: was agent.db "
        "restored from an old copy?");
    assert_int_equal(s_pending(fx), 5);
}

/*  Nothing pending: Hello, Welcome, done.  */
static void test_nothing_pending(void **state)
{
    fixture_t *fx = *state;
    assert_int_equal(dn_outbox_ack(fx->store, 5), 0);
    assert_int_equal(s_start(fx, 5, 0), DN_SYNCSM_WAIT);
    assert_int_equal(s_welcome(fx, 5, 4, 500), DN_SYNCSM_DONE);
    assert_int_equal(fx->result.acked_through, 5);
    assert_int_equal(fx->result.sent_events, 0);
}

/*  What a sync delivered, over two sessions: a Welcome at 0, batches of 2
    one at a time; 1..2 acked, then 3..4 lost (the driver reconnects); the
    next Welcome says the server stored 3..4 (applied 4), the agent resends
    them from its own ack and then 5.  The report counts from the first
    session's start: 5 events, seq 1-5, the server's applied seq from the
    last ack.  */
static void test_report(void **state)
{
    fixture_t *fx = *state;
    char report[160];
    assert_int_equal(s_start(fx, 5, 5), DN_SYNCSM_WAIT);
    assert_int_equal(s_expect_push(fx, s_welcome(fx, 0, 1, 2), 1, 2), DN_SYNCSM_WAIT);
    assert_int_equal(fx->result.started, 1);
    assert_int_equal(fx->result.start_acked, 0);
    assert_int_equal(fx->result.has_server, 1);
    assert_int_equal(fx->result.server_applied, 0);
    assert_int_equal(s_expect_push(fx, s_ack(fx, 2), 3, 4), DN_SYNCSM_WAIT);
    assert_int_equal(fx->result.server_applied, 2);
    assert_int_equal(dn_syncsm_timeout(fx->sm), DN_SYNCSM_RECONNECT);
    assert_null(fx->result.cause); /* only the driver's socket can tell */
    fx->result.pending = s_pending(fx); /* as the driver reads it at the end */
    assert_int_equal(fx->result.pending, 3);
    /* 2 events delivered (2 - 0), seq 0 + 1 .. 2, 5 - 2 = 3 pending */
    assert_string_equal(dn_sync_report(&fx->result, report, sizeof report),
                        "sent 2 events (seq 1-2), server holds through 2, 3 pending");

    assert_int_equal(s_start(fx, 5, 3), DN_SYNCSM_WAIT);
    assert_int_equal(fx->result.welcomed, 0);
    assert_int_equal(s_expect_push(fx, s_welcome(fx, 4, 1, 2), 3, 4), DN_SYNCSM_WAIT);
    assert_int_equal(fx->result.welcomed, 1);
    assert_int_equal(fx->result.server_applied, 4);
    assert_int_equal(s_expect_push(fx, s_ack(fx, 4), 5, 5), DN_SYNCSM_WAIT);
    assert_int_equal(s_ack(fx, 5), DN_SYNCSM_DONE);
    fx->result.pending = s_pending(fx);
    assert_int_equal(fx->result.start_acked, 0); /* still the sync's start */
    assert_string_equal(dn_sync_report(&fx->result, report, sizeof report),
                        "sent 5 events (seq 1-5), server holds through 5, 0 pending");

    /* one event, and a server that never answered: no "holds" */
    memset(&fx->result, 0, sizeof fx->result);
    fx->result.start_acked = 4;
    fx->result.acked_through = 5;
    assert_string_equal(dn_sync_report(&fx->result, report, sizeof report),
                        "sent 1 event (seq 5), 0 pending");
    fx->result.acked_through = 4;
    fx->result.pending = 1;
    assert_string_equal(dn_sync_report(&fx->result, report, sizeof report),
                        "sent 0 events, 1 pending");
}

/* -- downstream --------------------------------------------------------------- */

static const dn_down_applier_t *const s_appliers[] = {&dn_td_notes_applier};

/*  A Welcome of protocol 2 naming key's public half.  */
static dn_syncsm_action_t s_welcome_key(fixture_t *fx, uint64_t applied,
                                        const dn_key_t *key)
{
    Dealernet__SyncMessage msg = DEALERNET__SYNC_MESSAGE__INIT;
    Dealernet__Welcome welcome = DEALERNET__WELCOME__INIT;
    uint8_t pub[DN_PUBKEY_BYTES];
    assert_int_equal(dn_key_public(key, pub), 0);
    welcome.has_protocol = 1;
    welcome.protocol = 2;
    welcome.has_applied_seq = 1;
    welcome.applied_seq = applied;
    welcome.has_window = 1;
    welcome.window = 4;
    welcome.has_max_batch_events = 1;
    welcome.max_batch_events = 5;
    welcome.has_down_key = 1;
    welcome.down_key.data = pub;
    welcome.down_key.len = DN_PUBKEY_BYTES;
    msg.body_case = DEALERNET__SYNC_MESSAGE__BODY_WELCOME;
    msg.welcome = &welcome;
    return s_reply(fx, &msg);
}

/*  Checks the machine asks to send a Pull of the notes holding version,
    confirms it went out; returns the next action.  */
static dn_syncsm_action_t s_expect_pull(fixture_t *fx, dn_syncsm_action_t action,
                                        uint64_t version)
{
    Dealernet__SyncMessage *msg;
    assert_int_equal(action, DN_SYNCSM_SEND);
    assert_string_equal(dn_syncsm_state(fx->sm), "down");
    msg = s_sent(fx);
    assert_int_equal(msg->body_case, DEALERNET__SYNC_MESSAGE__BODY_PULL);
    assert_int_equal(msg->pull->n_holds, 1);
    assert_int_equal(msg->pull->holds[0]->stream, DEALERNET__STREAM__STREAM_NOTICES);
    assert_int_equal(msg->pull->holds[0]->version, version);
    dn_wire_sync_free(&msg);
    return dn_syncsm_sent(fx->sm);
}

/*  A DownReply of one Down (freed here).  */
static dn_syncsm_action_t s_down_reply(fixture_t *fx, Dealernet__Down *down)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    dn_syncsm_action_t action;
    assert_int_equal(dn_td_reply_pack(&down, 1, &buf, &len), 0);
    action = dn_syncsm_reply(fx->sm, buf, len);
    free(buf);
    dn_td_down_free(&down);
    return action;
}

static void s_down_setup(fixture_t *fx)
{
    assert_int_equal(dn_td_agent_setup(dn_store_db(fx->store)), 0);
    dn_syncsm_set_appliers(fx->sm, s_appliers, 1);
}

/*  5 events, window 4, batches of 5: the batch goes out and the machine
    waits for its ack before it pulls (the upload never waits for
    downstream).  Then Pull from 0 -> notes 1..2 with more -> Pull from 2
    -> note 3, no more: done, 3 notes applied (2 + 1), version 3, two
    pulls, the key pinned from the Welcome.  */
static void test_pull_after_upload(void **state)
{
    fixture_t *fx = *state;
    dn_key_t *key = dn_td_key(1);
    uint8_t pinned[DN_PUBKEY_BYTES], pub[DN_PUBKEY_BYTES];
    char report[128];
    dn_syncsm_action_t a;

    s_down_setup(fx);
    assert_int_equal(s_start(fx, 5, 5), DN_SYNCSM_WAIT);
    a = s_expect_push(fx, s_welcome_key(fx, 0, key), 1, 5);
    assert_int_equal(a, DN_SYNCSM_WAIT); /* no Pull while a batch is in flight */
    assert_string_equal(dn_syncsm_state(fx->sm), "push");
    assert_int_equal(dn_down_key_get(fx->store, pinned), 0);
    assert_int_equal(dn_key_public(key, pub), 0);
    assert_memory_equal(pinned, pub, DN_PUBKEY_BYTES);
    a = s_expect_pull(fx, s_ack(fx, 5), 0);
    assert_int_equal(a, DN_SYNCSM_WAIT);
    assert_int_equal(s_pending(fx), 0);
    a = s_down_reply(fx, dn_td_down_notes(key, "", 0, 2, 0, 1, 1, 2, "hi"));
    a = s_expect_pull(fx, a, 2);
    a = s_down_reply(fx, dn_td_down_notes(key, "", 2, 3, 0, 0, 3, 1, "hi"));
    assert_int_equal(a, DN_SYNCSM_DONE);
    assert_int_equal(dn_syncsm_rc(fx->sm), 0);
    assert_int_equal(fx->result.pulls, 2);
    assert_int_equal(fx->result.n_received, 1);
    assert_int_equal(fx->result.received[0].items, 3);
    assert_int_equal(fx->result.received[0].version, 3);
    assert_int_equal(dn_td_count(dn_store_db(fx->store), "test_notes"), 3);
    assert_string_equal(dn_sync_report_received(&fx->result, report, sizeof report),
                        "received: notes 3 items (version 3)");
    dn_key_destroy(&key);
}

/*  A second Pull asks only for the streams whose Down said more: notes
    and members are pulled first; the reply's notes 1..2 say more, the
    credit does not; the next Pull holds the notes alone, from 2 (the
    server is not asked for the members again).  */
static void test_pull_only_more(void **state)
{
    static const dn_down_applier_t *const both[] = {&dn_td_notes_applier,
                                                    &dn_td_credits_applier};
    fixture_t *fx = *state;
    dn_key_t *key = dn_td_key(1);
    Dealernet__Down *downs[2];
    Dealernet__SyncMessage *msg;
    uint8_t *buf = NULL;
    size_t len = 0;
    dn_syncsm_action_t a;

    assert_int_equal(dn_td_agent_setup(dn_store_db(fx->store)), 0);
    dn_syncsm_set_appliers(fx->sm, both, 2);
    assert_int_equal(s_start(fx, 5, 5), DN_SYNCSM_WAIT);
    a = s_expect_push(fx, s_welcome_key(fx, 0, key), 1, 5);
    assert_int_equal(a, DN_SYNCSM_WAIT);
    assert_int_equal(s_ack(fx, 5), DN_SYNCSM_SEND);
    msg = s_sent(fx);
    assert_int_equal(msg->body_case, DEALERNET__SYNC_MESSAGE__BODY_PULL);
    assert_int_equal(msg->pull->n_holds, 2);
    dn_wire_sync_free(&msg);
    assert_int_equal(dn_syncsm_sent(fx->sm), DN_SYNCSM_WAIT);
    downs[0] = dn_td_down_notes(key, "", 0, 2, 0, 1, 1, 2, "hi");
    downs[1] = dn_td_down_credit(key, 0, 1, 700);
    assert_non_null(downs[0]);
    assert_non_null(downs[1]);
    assert_int_equal(dn_td_reply_pack(downs, 2, &buf, &len), 0);
    a = dn_syncsm_reply(fx->sm, buf, len);
    free(buf);
    dn_td_down_free(&downs[0]);
    dn_td_down_free(&downs[1]);
    a = s_expect_pull(fx, a, 2); /* the notes alone */
    a = s_down_reply(fx, dn_td_down_notes(key, "", 2, 3, 0, 0, 3, 1, "hi"));
    assert_int_equal(a, DN_SYNCSM_DONE);
    assert_int_equal(fx->result.pulls, 2);
    assert_int_equal(dn_td_count(dn_store_db(fx->store), "test_notes"), 3);
    assert_int_equal(dn_td_count(dn_store_db(fx->store), "test_credits"), 1);
    dn_key_destroy(&key);
}

/*  Another key than the pinned one: the upload still goes (5 acked), then
    the sync fails, nothing pulled.  A Down that does not verify: fails,
    nothing applied.  */
static void test_down_refusals(void **state)
{
    fixture_t *fx = *state;
    dn_key_t *key = dn_td_key(1), *other = dn_td_key(0x21);
    uint8_t pub[DN_PUBKEY_BYTES];
    Dealernet__Down *down;
    dn_syncsm_action_t a;

    s_down_setup(fx);
    assert_int_equal(dn_key_public(other, pub), 0);
    assert_int_equal(dn_down_key_pin(fx->store, pub), 0);
    assert_int_equal(s_start(fx, 5, 5), DN_SYNCSM_WAIT);
    a = s_expect_push(fx, s_welcome_key(fx, 0, key), 1, 5);
    assert_int_equal(a, DN_SYNCSM_WAIT);
    assert_int_equal(s_ack(fx, 5), DN_SYNCSM_FAIL);
    assert_int_equal(dn_syncsm_rc(fx->sm), DN_ESIG);
    assert_string_equal(fx->result.cause, DN_SYNC_CAUSE_DOWN_KEY);
    assert_string_equal(
        fx->result.error,
        "the server names another down key than the one this site pinned: "
        "nothing was received (was the server's down.key replaced? tell "
        "headquarters)");
    assert_int_equal(fx->result.acked_through, 5);
    assert_int_equal(fx->result.pulls, 0);

    /* the right key pinned; a Down changed after signing */
    assert_int_equal(dn_key_public(key, pub), 0);
    assert_int_equal(dn_down_key_pin(fx->store, pub), 0);
    assert_int_equal(s_start(fx, 5, 0), DN_SYNCSM_WAIT);
    a = s_expect_pull(fx, s_welcome_key(fx, 5, key), 0);
    assert_int_equal(a, DN_SYNCSM_WAIT);
    down = dn_td_down_notes(key, "", 0, 2, 0, 0, 1, 2, "hi");
    down->to_version = 3; /* signed 0 -> 2 */
    assert_int_equal(s_down_reply(fx, down), DN_SYNCSM_FAIL);
    assert_int_equal(dn_syncsm_rc(fx->sm), DN_ESIG);
    assert_string_equal(fx->result.cause, DN_SYNC_CAUSE_DOWN_REFUSED);
    assert_string_equal(
        fx->result.error,
        "what the server sent of notes does not verify with its pinned down "
        "key: refused, nothing applied (tell headquarters)");
    assert_int_equal(dn_td_count(dn_store_db(fx->store), "test_notes"), 0);

    /* a lost DownReply: reconnect, nothing lost */
    assert_int_equal(s_start(fx, 5, 0), DN_SYNCSM_WAIT);
    a = s_expect_pull(fx, s_welcome_key(fx, 5, key), 0);
    assert_int_equal(a, DN_SYNCSM_WAIT);
    assert_int_equal(dn_syncsm_timeout(fx->sm), DN_SYNCSM_RECONNECT);
    assert_int_equal(dn_syncsm_rc(fx->sm), DN_EAGAIN);
    dn_key_destroy(&key);
    dn_key_destroy(&other);
}

/*  A server that says more without progress fails the sync instead of
    having it pull for ever: an empty Down 0 -> 0 with more, and an empty
    reset 0 -> 0 with more (its next Pull would hold 0 again) -- each
    applied (the reset's stream emptied: the note of the first session is
    gone), then FAIL with "the server says it has more to send but sent
    nothing".  A Pull refused REFUSE_INTERNAL (the server holds no Hello of
    the connection) reconnects: nothing lost.  */
static void test_down_no_progress(void **state)
{
    fixture_t *fx = *state;
    dn_key_t *key = dn_td_key(1);
    const Dealernet__Stream streams[] = {DEALERNET__STREAM__STREAM_NOTICES};
    dn_syncsm_action_t a;

    s_down_setup(fx);
    dn_syncsm_set_pull(fx->sm, streams, 1, 0); /* the 5 pending stay out of it */
    assert_int_equal(s_start(fx, 5, 5), DN_SYNCSM_WAIT);
    a = s_expect_pull(fx, s_welcome_key(fx, 0, key), 0);
    a = s_down_reply(fx, dn_td_down_notes(key, "", 0, 0, 0, 1, 1, 0, "hi"));
    assert_int_equal(a, DN_SYNCSM_FAIL);
    assert_int_equal(dn_syncsm_rc(fx->sm), DN_EPROTO);
    assert_string_equal(fx->result.error,
                        "the server says it has more to send but sent nothing");

    assert_int_equal(s_start(fx, 5, 5), DN_SYNCSM_WAIT);
    a = s_expect_pull(fx, s_welcome_key(fx, 0, key), 0);
    a = s_down_reply(fx, dn_td_down_notes(key, "", 0, 1, 0, 0, 1, 1, "hi"));
    assert_int_equal(a, DN_SYNCSM_DONE);
    assert_int_equal(dn_td_count(dn_store_db(fx->store), "test_notes"), 1);

    assert_int_equal(s_start(fx, 5, 5), DN_SYNCSM_WAIT);
    a = s_expect_pull(fx, s_welcome_key(fx, 0, key), 1);
    a = s_down_reply(fx, dn_td_down_notes(key, "", 0, 0, 1, 1, 1, 0, "hi"));
    assert_int_equal(a, DN_SYNCSM_FAIL);
    assert_int_equal(dn_syncsm_rc(fx->sm), DN_EPROTO);
    assert_string_equal(fx->result.cause, DN_SYNC_CAUSE_DOWN_REFUSED);
    assert_string_equal(fx->result.error,
                        "the server says it has more to send but sent nothing");
    assert_int_equal(dn_td_count(dn_store_db(fx->store), "test_notes"), 0);

    assert_int_equal(s_start(fx, 5, 5), DN_SYNCSM_WAIT);
    a = s_expect_pull(fx, s_welcome_key(fx, 0, key), 0);
    assert_int_equal(s_refused(fx, DEALERNET__REFUSE_CODE__REFUSE_INTERNAL),
                     DN_SYNCSM_RECONNECT);
    assert_int_equal(dn_syncsm_rc(fx->sm), DN_EAGAIN);
    dn_key_destroy(&key);
}

/*  A session that only pulls (recover's): no batch, even with 5 pending
    and a server that holds more than the site recorded; a Welcome without
    a down key fails it.  */
static void test_pull_only(void **state)
{
    fixture_t *fx = *state;
    dn_key_t *key = dn_td_key(1);
    const Dealernet__Stream streams[] = {DEALERNET__STREAM__STREAM_NOTICES};
    dn_syncsm_action_t a;

    s_down_setup(fx);
    dn_syncsm_set_pull(fx->sm, streams, 1, 0);
    assert_int_equal(s_start(fx, 5, 5), DN_SYNCSM_WAIT);
    a = s_expect_pull(fx, s_welcome_key(fx, 9, key), 0);
    a = s_down_reply(fx, dn_td_down_notes(key, "", 0, 1, 0, 0, 1, 1, "hi"));
    assert_int_equal(a, DN_SYNCSM_DONE);
    assert_int_equal(fx->result.acked_through, 0);
    assert_int_equal(s_pending(fx), 5);

    assert_int_equal(s_start(fx, 5, 5), DN_SYNCSM_WAIT);
    assert_int_equal(s_welcome(fx, 9, 4, 5), DN_SYNCSM_FAIL);
    assert_int_equal(dn_syncsm_rc(fx->sm), DN_EPROTO);
    dn_key_destroy(&key);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, s_setup, s_teardown)
    const struct CMUnitTest tests[] = {
        T(test_windowed_push),
        T(test_ack_only_own_batch),
        T(test_batch_stops_at_head),
        T(test_resend_from_own_ack),
        T(test_refusals),
        T(test_older_server),
        T(test_lost_hello),
        T(test_server_ahead),
        T(test_nothing_pending),
        T(test_report),
        T(test_pull_after_upload),
        T(test_pull_only_more),
        T(test_down_refusals),
        T(test_pull_only),
        T(test_down_no_progress),
    };
#undef T
    dn_log_init("test_syncsm", DN_LOG_QUIET, 0);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
